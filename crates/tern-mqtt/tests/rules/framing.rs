//! Fixed header, Remaining Length and the packet-size limit.

use super::*;

#[test]
fn mqtt_2_1_3_1_reserved_flags() {
    // Every packet type but PUBLISH has fixed flags; any other value is malformed, and it is
    // seen from the first byte alone.
    for t in 1u8..=15 {
        let packet_type = PacketType::from_u8(t).unwrap();
        let Some(required) = packet_type.required_flags() else {
            assert_eq!(packet_type, PacketType::Publish);
            continue;
        };
        assert_eq!(
            required,
            if matches!(t, 6 | 8 | 10) { 0b0010 } else { 0 },
            "{packet_type}"
        );
        for flags in (0u8..16).filter(|&f| f != required) {
            let want = DecodeError::InvalidFlags {
                packet: packet_type,
                flags,
            };
            for version in [V3, V5] {
                rejects(
                    version,
                    &[(t << 4) | flags, 0],
                    want,
                    RC_MALFORMED,
                    "MQTT-2.1.3-1",
                );
                let mut first_byte_only = BytesMut::from(&[(t << 4) | flags][..]);
                assert_eq!(Codec::new(version).decode(&mut first_byte_only), Err(want));
            }
        }
    }
}

#[test]
fn packet_type_0_is_reserved() {
    rejects(
        V5,
        &[0x00, 0x00],
        DecodeError::ReservedPacketType(0),
        RC_MALFORMED,
        "§2.1.2",
    );
}

#[test]
fn mqtt_3_3_1_4_qos_3_is_malformed() {
    decodes(V3, &packet(0x34, &cat(&[&s(b"a"), &[0, 1]])));
    for first in [0x36, 0x37, 0x3e, 0x3f] {
        for version in [V3, V5] {
            rejects(
                version,
                &packet(first, &cat(&[&s(b"a"), &[0, 1]])),
                DecodeError::InvalidQoS,
                RC_MALFORMED,
                "MQTT-3.3.1-4",
            );
            // Refused from the first byte, before the rest arrives.
            let mut buf = BytesMut::from(&[first][..]);
            assert_eq!(
                Codec::new(version).decode(&mut buf),
                Err(DecodeError::InvalidQoS)
            );
        }
    }
}

#[test]
fn mqtt_3_3_1_2_dup_with_qos_0() {
    decodes(V3, &packet(0x3a, &cat(&[&s(b"a"), &[0, 1]]))); // DUP with QoS 1
    for version in [V3, V5] {
        let body = if version.is_v5() {
            cat(&[&s(b"a"), &props(&[])])
        } else {
            s(b"a")
        };
        decodes(version, &packet(0x30, &body));
        rejects(
            version,
            &packet(0x38, &body),
            DecodeError::DupWithQoS0,
            RC_PROTOCOL,
            "MQTT-3.3.1-2",
        );
    }
}

#[test]
fn mqtt_1_5_5_1_non_minimal_remaining_length() {
    // 0x80 0x00 is zero in two bytes; 0x82 0x00 is 2 in two bytes. The codec applies the 5.0
    // rule at 3.1.1 too (documented in wire.rs), so every length has one wire form.
    for version in [V3, V5] {
        rejects(
            version,
            &[0xc0, 0x80, 0x00],
            DecodeError::NonMinimalVarInt,
            RC_MALFORMED,
            "MQTT-1.5.5-1",
        );
        rejects(
            version,
            &[0x40, 0x82, 0x00, 0x00, 0x01],
            DecodeError::NonMinimalVarInt,
            RC_MALFORMED,
            "MQTT-1.5.5-1",
        );
        rejects(
            version,
            &[0xc0, 0x80, 0x80, 0x80, 0x00],
            DecodeError::NonMinimalVarInt,
            RC_MALFORMED,
            "MQTT-1.5.5-1",
        );
    }
    // 128 in two bytes is minimal: the header is complete and 128 bytes are missing.
    let mut buf = BytesMut::from(&[0x30, 0x80, 0x01][..]);
    assert_eq!(
        Codec::new(V5).decode(&mut buf),
        Ok(Decoded::Incomplete {
            needed: core::num::NonZeroUsize::new(128)
        })
    );
}

#[test]
fn mqtt_1_5_5_1_non_minimal_varint_inside_a_packet() {
    // Property Length 0 written in two bytes.
    let wire = packet(0x32, &cat(&[&s(b"a"), &[0, 1], &[0x80, 0x00]]));
    rejects(
        V5,
        &wire,
        DecodeError::NonMinimalVarInt,
        RC_MALFORMED,
        "MQTT-1.5.5-1",
    );
    // Subscription Identifier 1 written in two bytes.
    rejects(
        V5,
        &publish_v5(b"a", &[0x0b, 0x81, 0x00]),
        DecodeError::NonMinimalVarInt,
        RC_MALFORMED,
        "MQTT-1.5.5-1",
    );
}

#[test]
fn remaining_length_over_four_bytes_is_malformed() {
    for version in [V3, V5] {
        rejects(
            version,
            &[0x30, 0xff, 0xff, 0xff, 0xff, 0x7f],
            DecodeError::VarIntTooLong,
            RC_MALFORMED,
            "§1.5.5",
        );
        // Seen as soon as the fourth length byte has its continuation bit.
        let mut buf = BytesMut::from(&[0x30, 0xff, 0xff, 0xff, 0xff][..]);
        assert_eq!(
            Codec::new(version).decode(&mut buf),
            Err(DecodeError::VarIntTooLong)
        );
        // Three continuation bytes may still be followed by a final one.
        let mut buf = BytesMut::from(&[0x30, 0xff, 0xff, 0xff][..]);
        assert_eq!(
            Codec::new(version).decode(&mut buf),
            Ok(Decoded::Incomplete { needed: None })
        );
        assert_eq!(buf.len(), 4);
    }
    // The largest Remaining Length is accepted under a limit that allows it.
    let mut buf = BytesMut::from(&[0x30, 0xff, 0xff, 0xff, 0x7f][..]);
    let codec = Codec::new(V5).with_max_incoming(MAX_PACKET_SIZE);
    assert_eq!(
        codec.decode(&mut buf),
        Ok(Decoded::Incomplete {
            needed: core::num::NonZeroUsize::new(268_435_455)
        })
    );
}

#[test]
fn remaining_length_must_cover_exactly_the_packet() {
    let trailing = |packet| DecodeError::TrailingBytes { packet };
    // PINGREQ and PINGRESP have no body.
    rejects(
        V5,
        &[0xc0, 0x01, 0x00],
        trailing(PacketType::PingReq),
        RC_MALFORMED,
        "§2.1.4",
    );
    rejects(
        V3,
        &[0xd0, 0x01, 0x00],
        trailing(PacketType::PingResp),
        RC_MALFORMED,
        "§2.1.4",
    );
    // 3.1.1 acknowledgements are exactly a packet identifier; DISCONNECT is empty.
    for first in [0x40, 0x50, 0x62, 0x70] {
        let t = PacketType::from_u8(first >> 4).unwrap();
        decodes(V3, &packet(first, &[0, 1]));
        rejects(
            V3,
            &packet(first, &[0, 1, 0]),
            trailing(t),
            RC_MALFORMED,
            "§2.1.4",
        );
    }
    rejects(
        V3,
        &packet(0xe0, &[0]),
        trailing(PacketType::Disconnect),
        RC_MALFORMED,
        "§2.1.4",
    );
    rejects(
        V3,
        &packet(0x20, &[0, 0, 0]),
        trailing(PacketType::ConnAck),
        RC_MALFORMED,
        "§2.1.4",
    );
    rejects(
        V3,
        &packet(0xb0, &[0, 1, 0]),
        trailing(PacketType::UnsubAck),
        RC_MALFORMED,
        "§2.1.4",
    );
    // A CONNECT with a byte after its last field.
    let good = connect_v3(0x02, &s(b"c"));
    decodes(V3, &good);
    rejects(
        V3,
        &connect_v3(0x02, &cat(&[&s(b"c"), &[0]])),
        trailing(PacketType::Connect),
        RC_MALFORMED,
        "§2.1.4",
    );
    // Packet::decode takes exactly one packet.
    let two = cat(&[&[0xc0, 0x00], &[0xc0, 0x00]]);
    assert_eq!(
        Packet::decode(V5, Bytes::from(two)),
        Err(trailing(PacketType::PingReq))
    );
}

#[test]
fn fields_past_the_remaining_length_are_malformed() {
    let t = DecodeError::Truncated;
    let rule = "§1.5";
    // A topic longer than the packet.
    rejects(V3, &packet(0x30, &[0, 10, b'a']), t, RC_MALFORMED, rule);
    // A packet identifier cut short.
    rejects(V3, &packet(0x40, &[0]), t, RC_MALFORMED, rule);
    rejects(
        V5,
        &packet(0x32, &cat(&[&s(b"a"), &[0]])),
        t,
        RC_MALFORMED,
        rule,
    );
    // CONNECT without keep alive.
    rejects(
        V3,
        &packet(0x10, &cat(&[&s(b"MQTT"), &[4, 2]])),
        t,
        RC_MALFORMED,
        rule,
    );
    // CONNECT with the Will Flag but no Will Topic.
    rejects(V3, &connect_v3(0x06, &s(b"c")), t, RC_MALFORMED, rule);
    // CONNECT with the User Name Flag but no User Name.
    rejects(V3, &connect_v3(0x82, &s(b"c")), t, RC_MALFORMED, rule);
    // A 5.0 CONNACK needs its Property Length.
    rejects(V5, &packet(0x20, &[0, 0]), t, RC_MALFORMED, rule);
    // A Property Length beyond the packet.
    rejects(V5, &packet(0x20, &[0, 0, 5, 0x21]), t, RC_MALFORMED, rule);
    // A property value cut short (Receive Maximum is two bytes).
    rejects(
        V5,
        &packet(0x20, &[0, 0, 2, 0x21, 0]),
        t,
        RC_MALFORMED,
        rule,
    );
    // A subscription without its options byte.
    rejects(
        V3,
        &packet(0x82, &cat(&[&[0, 1], &s(b"a")])),
        t,
        RC_MALFORMED,
        rule,
    );
    // Packet::decode of a partial packet.
    assert_eq!(
        Packet::decode(V3, Bytes::from_static(&[0x40, 0x02, 0x00])),
        Err(t)
    );
    assert_eq!(Packet::decode(V3, Bytes::from_static(&[0x40])), Err(t));
}

// ---------------------------------------------------------------------------------------------
// Packet size limit

#[test]
fn packet_size_limit_is_enforced_from_the_fixed_header() {
    let codec = Codec::new(V5).with_max_incoming(100);
    // Remaining Length 98: 100 bytes in all, within the limit.
    let mut buf = BytesMut::from(&[0x30, 98][..]);
    assert_eq!(
        codec.decode(&mut buf),
        Ok(Decoded::Incomplete {
            needed: core::num::NonZeroUsize::new(98)
        })
    );
    // Remaining Length 99: 101 bytes, refused from the two header bytes alone; nothing more is
    // buffered or consumed.
    let mut buf = BytesMut::from(&[0x30, 99][..]);
    let e = codec.decode(&mut buf).unwrap_err();
    assert_eq!(
        e,
        DecodeError::PacketTooLarge {
            size: 101,
            max: 100
        }
    );
    assert_eq!(&buf[..], &[0x30, 99]);
    names_rule(&e, ReasonCode::PacketTooLarge, "Maximum Packet Size");
    assert!(e.to_string().contains("101") && e.to_string().contains("100"));

    // The limit counts the whole packet, fixed header included: exactly 100 bytes decodes.
    let mut body = cat(&[&s(b"a"), &props(&[])]);
    body.resize(98, b'x');
    let wire = packet(0x30, &body);
    assert_eq!(wire.len(), 100);
    let mut buf = BytesMut::from(&wire[..]);
    assert!(matches!(codec.decode(&mut buf), Ok(Decoded::Packet(_))));

    // The default limit refuses the largest packet MQTT can express from its header.
    let mut buf = BytesMut::from(&[0x30, 0xff, 0xff, 0xff, 0x7f][..]);
    assert_eq!(
        Codec::new(V3).decode(&mut buf),
        Err(DecodeError::PacketTooLarge {
            size: MAX_PACKET_SIZE,
            max: tern_mqtt::packet::DEFAULT_MAX_INCOMING
        })
    );
}
