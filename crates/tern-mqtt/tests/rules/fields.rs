//! UTF-8 strings, packet identifiers, topic names and topic filters.

use super::*;

const ILL_FORMED: &[&[u8]] = &[
    b"\xc3\x28",         // a lead byte followed by ASCII
    b"a\x80",            // a lone continuation byte
    b"\xed\xa0\x80",     // an encoded surrogate U+D800 [MQTT-1.5.4-1]
    b"\xc0\xaf",         // an overlong '/'
    b"\xf4\x90\x80\x80", // beyond U+10FFFF
];

#[test]
fn mqtt_1_5_4_1_ill_formed_utf8_is_malformed() {
    let want = DecodeError::InvalidString(StringError::InvalidUtf8);
    let rule = "MQTT-1.5.4-1";
    for &bad in ILL_FORMED {
        // Topic Name.
        rejects(V3, &packet(0x30, &s(bad)), want, RC_MALFORMED, rule);
        // Client Identifier.
        rejects(V3, &connect_v3(0x02, &s(bad)), want, RC_MALFORMED, rule);
        // User Name.
        rejects(
            V5,
            &connect_v5(0x82, &cat(&[&s(b"c"), &s(bad)])),
            want,
            RC_MALFORMED,
            rule,
        );
        // Will Topic.
        rejects(
            V3,
            &connect_v3(0x06, &cat(&[&s(b"c"), &s(bad), &s(b"m")])),
            want,
            RC_MALFORMED,
            rule,
        );
        // Topic Filter.
        rejects(V3, &subscribe_v3(bad, 0), want, RC_MALFORMED, rule);
        // User Property name and value.
        rejects(
            V5,
            &publish_v5(b"a", &cat(&[&[0x26], &s(bad), &s(b"v")])),
            want,
            RC_MALFORMED,
            rule,
        );
        rejects(
            V5,
            &publish_v5(b"a", &cat(&[&[0x26], &s(b"k"), &s(bad)])),
            want,
            RC_MALFORMED,
            rule,
        );
        // Reason String.
        rejects(
            V5,
            &packet(0xe0, &cat(&[&[0x80], &props(&cat(&[&[0x1f], &s(bad)]))])),
            want,
            RC_MALFORMED,
            rule,
        );
    }
}

#[test]
fn mqtt_1_5_4_2_null_character_is_malformed() {
    let want = DecodeError::InvalidString(StringError::NullCharacter);
    let rule = "MQTT-1.5.4-2";
    let bad: &[u8] = b"a\0b";
    decodes(V3, &packet(0x30, &s(b"a-b")));
    rejects(V3, &packet(0x30, &s(bad)), want, RC_MALFORMED, rule);
    rejects(V5, &connect_v5(0x02, &s(bad)), want, RC_MALFORMED, rule);
    rejects(V3, &subscribe_v3(bad, 0), want, RC_MALFORMED, rule);
    rejects(
        V5,
        &publish_v5(b"a", &cat(&[&[0x26], &s(bad), &s(b"v")])),
        want,
        RC_MALFORMED,
        rule,
    );
    rejects(
        V5,
        &publish_v5(b"a", &cat(&[&[0x26], &s(b"k"), &s(bad)])),
        want,
        RC_MALFORMED,
        rule,
    );
    // Binary Data may hold zero bytes: Correlation Data and the password are not strings.
    let p = decodes(V5, &publish_v5(b"a", &cat(&[&[0x09], &s(bad)])));
    let Packet::Publish(p) = p else {
        unreachable!()
    };
    assert_eq!(&p.properties.correlation_data().unwrap()[..], bad);
    decodes(V5, &connect_v5(0x42, &cat(&[&s(b"c"), &s(bad)])));
}

#[test]
fn mqtt_1_5_4_3_byte_order_mark_is_kept() {
    let Packet::Publish(p) = decodes(V3, &packet(0x30, &s("\u{feff}a".as_bytes()))) else {
        unreachable!()
    };
    assert_eq!(p.topic.as_str(), "\u{feff}a");
}

// ---------------------------------------------------------------------------------------------
// Packet identifiers

#[test]
fn mqtt_2_2_1_3_zero_packet_id() {
    let want = DecodeError::ZeroPacketId;
    let rule = "MQTT-2.2.1-3";
    for version in [V3, V5] {
        let p = |b: &[u8]| -> Vec<u8> {
            if version.is_v5() {
                cat(&[b, &props(&[])])
            } else {
                b.to_vec()
            }
        };
        rejects(
            version,
            &packet(0x32, &cat(&[&s(b"a"), &p(&[0, 0])])),
            want,
            RC_PROTOCOL,
            rule,
        );
        rejects(
            version,
            &packet(0x34, &cat(&[&s(b"a"), &p(&[0, 0])])),
            want,
            RC_PROTOCOL,
            rule,
        );
        for first in [0x40, 0x50, 0x62, 0x70] {
            rejects(version, &packet(first, &[0, 0]), want, RC_PROTOCOL, rule);
        }
        rejects(
            version,
            &packet(0x82, &cat(&[&p(&[0, 0]), &s(b"a"), &[0]])),
            want,
            RC_PROTOCOL,
            rule,
        );
        rejects(
            version,
            &packet(0x90, &cat(&[&p(&[0, 0]), &[0]])),
            want,
            RC_PROTOCOL,
            rule,
        );
        rejects(
            version,
            &packet(0xa2, &cat(&[&p(&[0, 0]), &s(b"a")])),
            want,
            RC_PROTOCOL,
            rule,
        );
        rejects(version, &packet(0xb0, &p(&[0, 0])), want, RC_PROTOCOL, rule);
        // The same packets with identifier 1 decode.
        decodes(version, &packet(0xb0, &p(&[0, 1])));
        decodes(version, &packet(0x82, &cat(&[&p(&[0, 1]), &s(b"a"), &[0]])));
    }
}

// ---------------------------------------------------------------------------------------------
// Topic names and filters

#[test]
fn mqtt_3_3_2_2_wildcards_in_publish_topic() {
    let want = DecodeError::InvalidTopic(TopicError::WildcardInName);
    for topic in [&b"a/+"[..], b"+", b"#", b"a/#", b"a+b", b"s/#/x"] {
        rejects(
            V3,
            &packet(0x30, &s(topic)),
            want,
            ReasonCode::MalformedPacket,
            "MQTT-3.3.2-2",
        );
        rejects(
            V5,
            &publish_v5(topic, &[]),
            want,
            ReasonCode::MalformedPacket,
            "MQTT-3.3.2-2",
        );
        // The Will Topic is a topic name too.
        rejects(
            V3,
            &connect_v3(0x06, &cat(&[&s(b"c"), &s(topic), &s(b"m")])),
            want,
            ReasonCode::MalformedPacket,
            "MQTT-3.3.2-2",
        );
    }
}

#[test]
fn mqtt_3_3_2_1_empty_topic_without_topic_alias_in_5_0() {
    rejects(
        V5,
        &publish_v5(b"", &[]),
        DecodeError::EmptyTopicWithoutAlias,
        RC_PROTOCOL,
        "§3.3.2.1",
    );
    // With a Topic Alias the empty name stands for the aliased topic (MQTT 5.0 §3.3.2.3.4).
    let Packet::Publish(p) = decodes(V5, &publish_v5(b"", &[0x23, 0, 7])) else {
        unreachable!()
    };
    assert!(p.topic.is_empty());
    assert_eq!(p.properties.topic_alias(), Some(7));
}

#[test]
fn mqtt_4_7_3_1_empty_topic_in_3_1_1() {
    let want = DecodeError::InvalidTopic(TopicError::Empty);
    rejects(
        V3,
        &packet(0x30, &s(b"")),
        want,
        RC_MALFORMED,
        "MQTT-4.7.3-1",
    );
    rejects(
        V3,
        &packet(0x32, &cat(&[&s(b""), &[0, 1]])),
        want,
        RC_MALFORMED,
        "MQTT-4.7.3-1",
    );
    // An empty filter, and an empty Will Topic, at either level.
    rejects(
        V3,
        &subscribe_v3(b"", 0),
        want,
        RC_MALFORMED,
        "MQTT-4.7.3-1",
    );
    rejects(
        V5,
        &subscribe_v5(b"", 0),
        want,
        RC_MALFORMED,
        "MQTT-4.7.3-1",
    );
    rejects(
        V3,
        &connect_v3(0x06, &cat(&[&s(b"c"), &s(b""), &s(b"m")])),
        want,
        RC_MALFORMED,
        "MQTT-4.7.3-1",
    );
}

#[test]
fn mqtt_4_7_1_1_multi_level_wildcard_placement_in_filters() {
    let want = DecodeError::InvalidTopic(TopicError::MultiLevelWildcardPlacement);
    for f in [&b"a#"[..], b"a/#/b", b"#/", b"a/b#", b"##", b"$share/g/a#"] {
        for (version, wire) in [(V3, subscribe_v3(f, 0)), (V5, subscribe_v5(f, 0))] {
            rejects(
                version,
                &wire,
                want,
                ReasonCode::MalformedPacket,
                "MQTT-4.7.1-1",
            );
        }
        rejects(
            V3,
            &packet(0xa2, &cat(&[&[0, 1], &s(f)])),
            want,
            ReasonCode::MalformedPacket,
            "MQTT-4.7.1-1",
        );
    }
    for f in [&b"#"[..], b"a/#", b"/#", b"+/#"] {
        decodes(V3, &subscribe_v3(f, 0));
    }
}

#[test]
fn mqtt_4_7_1_2_single_level_wildcard_placement_in_filters() {
    let want = DecodeError::InvalidTopic(TopicError::SingleLevelWildcardPlacement);
    for f in [&b"a+"[..], b"a/+b", b"++", b"+a/b"] {
        rejects(
            V3,
            &subscribe_v3(f, 0),
            want,
            ReasonCode::MalformedPacket,
            "MQTT-4.7.1-2",
        );
        rejects(
            V5,
            &subscribe_v5(f, 0),
            want,
            ReasonCode::MalformedPacket,
            "MQTT-4.7.1-2",
        );
        rejects(
            V5,
            &packet(0xa2, &cat(&[&[0, 1], &props(&[]), &s(f)])),
            want,
            ReasonCode::MalformedPacket,
            "MQTT-4.7.1-2",
        );
    }
    for f in [&b"+"[..], b"+/+", b"/+", b"a/+/b", b"+/"] {
        decodes(V5, &subscribe_v5(f, 0));
    }
}

#[test]
fn mqtt_4_8_2_1_and_2_shared_subscription_names() {
    let want = DecodeError::InvalidTopic(TopicError::InvalidSharedSubscription);
    for f in [
        &b"$share/g"[..],
        b"$share//a",
        b"$share/g+/a",
        b"$share/#/a",
        b"$share/g/",
    ] {
        rejects(
            V5,
            &subscribe_v5(f, 0),
            want,
            ReasonCode::MalformedPacket,
            "MQTT-4.8.2-",
        );
    }
    let Packet::Subscribe(s) = decodes(V5, &subscribe_v5(b"$share/g/a/+", 1)) else {
        unreachable!()
    };
    let shared = s.subscriptions[0].filter.shared().unwrap();
    assert_eq!((shared.group, shared.filter), ("g", "a/+"));
}
