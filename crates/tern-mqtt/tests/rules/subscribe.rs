//! SUBSCRIBE and UNSUBSCRIBE: filters and subscription options.

use super::*;

#[test]
fn mqtt_3_8_3_2_subscribe_without_filters() {
    let want = DecodeError::NoTopicFilters {
        packet: PacketType::Subscribe,
    };
    rejects(
        V3,
        &packet(0x82, &[0, 1]),
        want,
        RC_PROTOCOL,
        "MQTT-3.8.3-2",
    );
    rejects(
        V5,
        &packet(0x82, &[0, 1, 0]),
        want,
        RC_PROTOCOL,
        "MQTT-3.8.3-2",
    );
    // Properties alone do not make a subscription.
    rejects(
        V5,
        &packet(0x82, &cat(&[&[0, 1], &props(&[0x0b, 1])])),
        want,
        RC_PROTOCOL,
        "MQTT-3.8.3-2",
    );
}

#[test]
fn mqtt_3_10_3_2_unsubscribe_without_filters() {
    let want = DecodeError::NoTopicFilters {
        packet: PacketType::Unsubscribe,
    };
    rejects(
        V3,
        &packet(0xa2, &[0, 1]),
        want,
        RC_PROTOCOL,
        "MQTT-3.10.3-2",
    );
    rejects(
        V5,
        &packet(0xa2, &[0, 1, 0]),
        want,
        RC_PROTOCOL,
        "MQTT-3.10.3-2",
    );
    decodes(V5, &packet(0xa2, &cat(&[&[0, 1, 0], &s(b"a")])));
}

#[test]
fn mqtt_3_8_3_5_reserved_subscription_option_bits_in_5_0() {
    for options in [0x40, 0x80, 0xc0, 0x41] {
        rejects(
            V5,
            &subscribe_v5(b"a", options),
            DecodeError::ReservedSubscriptionOptions,
            RC_MALFORMED,
            "MQTT-3.8.3-5",
        );
    }
    // Every defined combination decodes: QoS 0–2, No Local, Retain As Published, Retain
    // Handling 0–2.
    for options in 0u8..0x40 {
        if options & 0b11 == 3 || options >> 4 == 3 {
            continue;
        }
        let Packet::Subscribe(s) = decodes(V5, &subscribe_v5(b"a", options)) else {
            unreachable!()
        };
        let o = s.subscriptions[0].options;
        assert_eq!(o.qos.as_u8(), options & 0b11);
        assert_eq!(o.no_local, options & 0b100 != 0);
        assert_eq!(o.retain_as_published, options & 0b1000 != 0);
        assert_eq!(o.retain_handling as u8, options >> 4);
    }
}

#[test]
fn mqtt_3_8_3_4_reserved_subscription_option_bits_in_3_1_1() {
    // 3.1.1 has only the QoS in that byte; the statement id is printed "MQTT-3-8.3-4" in the
    // 3.1.1 specification itself.
    for options in [0x04, 0x08, 0x10, 0x20, 0x40, 0x80, 0xfc] {
        rejects(
            V3,
            &subscribe_v3(b"a", options),
            DecodeError::ReservedSubscriptionOptions,
            RC_MALFORMED,
            "MQTT-3-8.3-4",
        );
    }
    for qos in 0..=2 {
        decodes(V3, &subscribe_v3(b"a", qos));
    }
}

#[test]
fn subscription_maximum_qos_3() {
    // 5.0 §3.8.3.1: "It is a Protocol Error if the Maximum QoS field has the value 3."
    rejects(
        V5,
        &subscribe_v5(b"a", 0x03),
        DecodeError::InvalidSubscriptionQoS,
        RC_PROTOCOL,
        "§3.8.3.1",
    );
    // 3.1.1 [MQTT-3-8.3-4]: QoS other than 0, 1 or 2 makes the packet malformed (3.1.1 has
    // no reason codes; the receiver closes the connection).
    let e = DecodeError::InvalidSubscriptionQoS;
    rejects(
        V3,
        &subscribe_v3(b"a", 0x03),
        e,
        RC_PROTOCOL,
        "MQTT-3-8.3-4",
    );
    assert!(e.to_string().contains("Maximum QoS 3"));
}

#[test]
fn retain_handling_3_is_a_protocol_error() {
    rejects(
        V5,
        &subscribe_v5(b"a", 0x30),
        DecodeError::InvalidRetainHandling,
        RC_PROTOCOL,
        "§3.8.3.1",
    );
}

#[test]
fn mqtt_3_8_3_4_no_local_on_shared_subscription() {
    rejects(
        V5,
        &subscribe_v5(b"$share/g/a", 0x04),
        DecodeError::NoLocalOnSharedSubscription,
        RC_PROTOCOL,
        "MQTT-3.8.3-4",
    );
    decodes(V5, &subscribe_v5(b"$share/g/a", 0x08));
    decodes(V5, &subscribe_v5(b"a", 0x04));
}
