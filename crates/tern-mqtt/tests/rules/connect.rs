//! CONNECT flags, protocol name and level, and CONNACK.

use super::*;

#[test]
fn mqtt_3_1_2_3_reserved_connect_flag() {
    for version in [V3, V5] {
        let c = |flags| {
            if version.is_v5() {
                connect_v5(flags, &s(b"c"))
            } else {
                connect_v3(flags, &s(b"c"))
            }
        };
        decodes(version, &c(0x02));
        rejects(
            version,
            &c(0x03),
            DecodeError::ReservedConnectFlag,
            RC_MALFORMED,
            "MQTT-3.1.2-3",
        );
        rejects(
            version,
            &c(0x01),
            DecodeError::ReservedConnectFlag,
            RC_MALFORMED,
            "MQTT-3.1.2-3",
        );
    }
}

#[test]
fn mqtt_3_1_2_11_will_qos_without_will_flag() {
    for flags in [0x0a, 0x12] {
        rejects(
            V3,
            &connect_v3(flags, &s(b"c")),
            DecodeError::WillFlagsWithoutWill,
            RC_MALFORMED,
            "MQTT-3.1.2-11",
        );
        rejects(
            V5,
            &connect_v5(flags, &s(b"c")),
            DecodeError::WillFlagsWithoutWill,
            RC_MALFORMED,
            "MQTT-3.1.2-11",
        );
    }
}

#[test]
fn mqtt_3_1_2_13_will_retain_without_will_flag() {
    rejects(
        V3,
        &connect_v3(0x22, &s(b"c")),
        DecodeError::WillFlagsWithoutWill,
        RC_MALFORMED,
        "MQTT-3.1.2-13",
    );
    rejects(
        V5,
        &connect_v5(0x22, &s(b"c")),
        DecodeError::WillFlagsWithoutWill,
        RC_MALFORMED,
        "MQTT-3.1.2-13",
    );
    // With the Will Flag, Will Retain and Will QoS 2 are fine.
    let Packet::Connect(c) = decodes(V3, &connect_v3(0x36, &cat(&[&s(b"c"), &s(b"w"), &s(b"m")])))
    else {
        unreachable!()
    };
    let w = c.will.unwrap();
    assert_eq!((w.qos, w.retain), (QoS::ExactlyOnce, true));
}

#[test]
fn mqtt_3_1_2_12_will_qos_3() {
    // 5.0 [MQTT-3.1.2-12]: "A value of 3 (0x03) is a Malformed Packet"; 3.1.1 [MQTT-3.1.2-14].
    let payload = cat(&[&s(b"c"), &s(b"w"), &s(b"m")]);
    rejects(
        V3,
        &connect_v3(0x1e, &payload),
        DecodeError::InvalidWillQoS,
        RC_MALFORMED,
        "MQTT-3.1.2-14",
    );
    let v5_payload = cat(&[&s(b"c"), &[0], &s(b"w"), &s(b"m")]);
    rejects(
        V5,
        &connect_v5(0x1e, &v5_payload),
        DecodeError::InvalidWillQoS,
        RC_MALFORMED,
        "MQTT-3.1.2-12",
    );
    decodes(V5, &connect_v5(0x16, &v5_payload));
}

#[test]
fn mqtt_3_1_2_22_password_without_user_name_in_3_1_1() {
    rejects(
        V3,
        &connect_v3(0x42, &cat(&[&s(b"c"), &s(b"pw")])),
        DecodeError::PasswordWithoutUsername,
        RC_MALFORMED,
        "MQTT-3.1.2-22",
    );
    // 5.0 allows a password without a user name (5.0 §3.1.2.9).
    let Packet::Connect(c) = decodes(V5, &connect_v5(0x42, &cat(&[&s(b"c"), &s(b"pw")]))) else {
        unreachable!()
    };
    assert_eq!(
        (c.username, c.password.as_deref()),
        (None, Some(&b"pw"[..]))
    );
    // Both, in either version.
    decodes(
        V3,
        &connect_v3(0xc2, &cat(&[&s(b"c"), &s(b"u"), &s(b"pw")])),
    );
}

#[test]
fn mqtt_3_1_2_1_protocol_name() {
    for name in [&b"MQTX"[..], b"mqtt", b"", b"MQIsdp\0"] {
        let wire = packet(0x10, &cat(&[&s(name), &[4, 2, 0, 60], &s(b"c")]));
        rejects(
            V3,
            &wire,
            DecodeError::InvalidProtocolName,
            ReasonCode::UnsupportedProtocolVersion,
            "MQTT-3.1.2-1",
        );
    }
    // MQTT 3.1's "MQIsdp" at level 3 is decoded.
    let wire = packet(0x10, &cat(&[&s(b"MQIsdp"), &[3, 2, 0, 60], &s(b"c")]));
    let Packet::Connect(c) = decodes(V3, &wire) else {
        unreachable!()
    };
    assert_eq!(c.protocol, ProtocolVersion::V3_1);
}

#[test]
fn mqtt_3_1_2_2_protocol_level() {
    for level in [0u8, 1, 2, 3, 6, 0x83, 0xff] {
        rejects(
            V3,
            &connect(level, 0x02, None, &s(b"c")),
            DecodeError::UnsupportedProtocolLevel(level),
            ReasonCode::UnsupportedProtocolVersion,
            "MQTT-3.1.2-2",
        );
    }
    // "MQIsdp" is level 3 only.
    let wire = packet(0x10, &cat(&[&s(b"MQIsdp"), &[4, 2, 0, 60], &s(b"c")]));
    rejects(
        V3,
        &wire,
        DecodeError::UnsupportedProtocolLevel(4),
        ReasonCode::UnsupportedProtocolVersion,
        "MQTT-3.1.2-2",
    );
}

// ---------------------------------------------------------------------------------------------
// CONNACK

#[test]
fn mqtt_3_2_2_1_connack_reserved_flags() {
    for flags in [0x02, 0x80, 0xfe, 0x03] {
        rejects(
            V3,
            &packet(0x20, &[flags, 0]),
            DecodeError::ReservedConnAckFlags,
            RC_MALFORMED,
            "MQTT-3.2.2-1",
        );
        rejects(
            V5,
            &packet(0x20, &[flags, 0, 0]),
            DecodeError::ReservedConnAckFlags,
            RC_MALFORMED,
            "MQTT-3.2.2-1",
        );
    }
}

#[test]
fn session_present_with_an_error_code() {
    // 3.1.1 [MQTT-3.2.2-4] and 5.0 [MQTT-3.2.2-6]: Session Present must be 0 with an error.
    for code in 1..=5 {
        rejects(
            V3,
            &packet(0x20, &[1, code]),
            DecodeError::SessionPresentOnError,
            RC_PROTOCOL,
            "MQTT-3.2.2-4",
        );
    }
    rejects(
        V5,
        &packet(0x20, &[1, 0x87, 0]),
        DecodeError::SessionPresentOnError,
        RC_PROTOCOL,
        "MQTT-3.2.2-6",
    );
    let Packet::ConnAck(a) = decodes(V5, &packet(0x20, &[1, 0, 0])) else {
        unreachable!()
    };
    assert!(a.session_present);
}
