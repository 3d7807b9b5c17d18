//! Reason codes per packet, and the short forms that exist only in 5.0.

use super::*;

/// The 5.0 reason codes each packet may carry, transcribed from Table 2-6.
fn spec_reason_codes(t: PacketType) -> &'static [u8] {
    match t {
        PacketType::ConnAck => &[
            0x00, 0x80, 0x81, 0x82, 0x83, 0x84, 0x85, 0x86, 0x87, 0x88, 0x89, 0x8a, 0x8c, 0x90,
            0x95, 0x97, 0x99, 0x9a, 0x9b, 0x9c, 0x9d, 0x9f,
        ],
        PacketType::PubAck | PacketType::PubRec => {
            &[0x00, 0x10, 0x80, 0x83, 0x87, 0x90, 0x91, 0x97, 0x99]
        }
        PacketType::PubRel | PacketType::PubComp => &[0x00, 0x92],
        PacketType::SubAck => &[
            0x00, 0x01, 0x02, 0x80, 0x83, 0x87, 0x8f, 0x91, 0x97, 0x9e, 0xa1, 0xa2,
        ],
        PacketType::UnsubAck => &[0x00, 0x11, 0x80, 0x83, 0x87, 0x8f, 0x91],
        PacketType::Disconnect => &[
            0x00, 0x04, 0x80, 0x81, 0x82, 0x83, 0x87, 0x89, 0x8b, 0x8c, 0x8d, 0x8e, 0x8f, 0x90,
            0x93, 0x94, 0x95, 0x96, 0x97, 0x98, 0x99, 0x9a, 0x9b, 0x9c, 0x9d, 0x9e, 0x9f, 0xa0,
            0xa1, 0xa2,
        ],
        PacketType::Auth => &[0x00, 0x18, 0x19],
        other => panic!("{other} has no reason code"),
    }
}

#[test]
fn invalid_reason_codes_per_packet() {
    type Build = fn(u8) -> Vec<u8>;
    let cases: &[(PacketType, Build)] = &[
        (PacketType::ConnAck, |c| packet(0x20, &[0, c, 0])),
        (PacketType::PubAck, |c| packet(0x40, &[0, 1, c])),
        (PacketType::PubRec, |c| packet(0x50, &[0, 1, c])),
        (PacketType::PubRel, |c| packet(0x62, &[0, 1, c])),
        (PacketType::PubComp, |c| packet(0x70, &[0, 1, c])),
        (PacketType::SubAck, |c| packet(0x90, &[0, 1, 0, 0, c])),
        (PacketType::UnsubAck, |c| packet(0xb0, &[0, 1, 0, 0, c])),
        (PacketType::Disconnect, |c| packet(0xe0, &[c])),
        (PacketType::Auth, |c| packet(0xf0, &[c])),
    ];
    for &(t, build) in cases {
        let allowed = spec_reason_codes(t);
        for code in 0..=255u8 {
            let wire = build(code);
            if allowed.contains(&code) {
                let got = match decodes(V5, &wire) {
                    Packet::ConnAck(p) => vec![p.reason_code],
                    Packet::PubAck(p) => vec![p.reason_code],
                    Packet::PubRec(p) => vec![p.reason_code],
                    Packet::PubRel(p) => vec![p.reason_code],
                    Packet::PubComp(p) => vec![p.reason_code],
                    Packet::SubAck(p) => p.reason_codes,
                    Packet::UnsubAck(p) => p.reason_codes,
                    Packet::Disconnect(p) => vec![p.reason_code],
                    Packet::Auth(p) => vec![p.reason_code],
                    other => panic!("{other:?}"),
                };
                assert_eq!(got.last().map(|c| c.as_u8()), Some(code), "{t} {code:#04x}");
            } else {
                rejects(
                    V5,
                    &wire,
                    DecodeError::InvalidReasonCode { packet: t, code },
                    RC_MALFORMED,
                    "§2.4",
                );
            }
        }
    }
    // 3.1.1: CONNACK return codes 0–5 (§3.2.2.3), SUBACK 0x00, 0x01, 0x02, 0x80 (§3.9.3).
    for code in 0..=255u8 {
        let connack = packet(0x20, &[0, code]);
        if code <= 5 {
            let Packet::ConnAck(a) = decodes(V3, &connack) else {
                unreachable!()
            };
            assert_eq!(a.reason_code.to_v3_connack(), Some(code));
        } else {
            rejects(
                V3,
                &connack,
                DecodeError::InvalidReasonCode {
                    packet: PacketType::ConnAck,
                    code,
                },
                RC_MALFORMED,
                "§2.4",
            );
        }
        let suback = packet(0x90, &[0, 1, code]);
        if matches!(code, 0 | 1 | 2 | 0x80) {
            decodes(V3, &suback);
        } else {
            rejects(
                V3,
                &suback,
                DecodeError::InvalidReasonCode {
                    packet: PacketType::SubAck,
                    code,
                },
                RC_MALFORMED,
                "§2.4",
            );
        }
    }
}

#[test]
fn v3_connack_return_codes_mean_the_5_0_codes() {
    let meaning = [
        ReasonCode::Success,
        ReasonCode::UnsupportedProtocolVersion,
        ReasonCode::ClientIdentifierNotValid,
        ReasonCode::ServerUnavailable,
        ReasonCode::BadUserNameOrPassword,
        ReasonCode::NotAuthorized,
    ];
    for (code, want) in meaning.into_iter().enumerate() {
        let Packet::ConnAck(a) = decodes(V3, &packet(0x20, &[0, code as u8])) else {
            unreachable!()
        };
        assert_eq!(a.reason_code, want);
    }
}

// ---------------------------------------------------------------------------------------------
// Packets and short forms that exist only in 5.0

#[test]
fn auth_in_3_1_1_is_a_reserved_packet_type() {
    for version in [V3, ProtocolVersion::V3_1] {
        rejects(
            version,
            &[0xf0, 0x00],
            DecodeError::ReservedPacketType(15),
            RC_MALFORMED,
            "reserved packet type",
        );
    }
}

#[test]
fn disconnect_and_auth_with_remaining_length_0_and_1_in_5_0() {
    // MQTT 5.0 §3.14.2.1 and §3.15.2.1: the reason code and properties may be omitted.
    assert_eq!(
        decodes(V5, &[0xe0, 0x00]),
        Packet::Disconnect(Disconnect::new())
    );
    assert_eq!(
        decodes(V5, &[0xe0, 0x01, 0x04]),
        Packet::Disconnect(Disconnect::with_reason(
            ReasonCode::DisconnectWithWillMessage
        ))
    );
    assert_eq!(decodes(V5, &[0xf0, 0x00]), Packet::Auth(Auth::default()));
    let Packet::Auth(a) = decodes(V5, &[0xf0, 0x01, 0x18]) else {
        unreachable!()
    };
    assert_eq!(a.reason_code, ReasonCode::ContinueAuthentication);
    assert!(a.properties.is_empty());
    // Remaining Length 2: a reason code and an empty property block.
    let Packet::Disconnect(d) = decodes(V5, &[0xe0, 0x02, 0x8e, 0x00]) else {
        unreachable!()
    };
    assert_eq!(d.reason_code, ReasonCode::SessionTakenOver);
    // The encoder writes the short forms.
    assert_eq!(encodes(V5, Disconnect::new()), [0xe0, 0x00]);
    assert_eq!(
        encodes(
            V5,
            Disconnect::with_reason(ReasonCode::DisconnectWithWillMessage)
        ),
        [0xe0, 0x01, 0x04]
    );
    assert_eq!(encodes(V5, Auth::default()), [0xf0, 0x00]);
}

#[test]
fn puback_family_short_forms_in_5_0() {
    // MQTT 5.0 §3.4.2.1 (and §3.5–§3.7): Remaining Length 2 means Success without properties;
    // 3 is a reason code without properties.
    for (first, code) in [(0x40, 0x10), (0x50, 0x80), (0x62, 0x92), (0x70, 0x92)] {
        let two = decodes(V5, &[first, 0x02, 0x00, 0x07]);
        let three = decodes(V5, &[first, 0x03, 0x00, 0x07, code]);
        let four = decodes(V5, &[first, 0x04, 0x00, 0x07, code, 0x00]);
        let (id2, rc2, p2) = ack_parts(&two);
        let (id3, rc3, p3) = ack_parts(&three);
        assert_eq!((id2, rc2, p2), (7, ReasonCode::Success, true));
        assert_eq!((id3, rc3.as_u8(), p3), (7, code, true));
        assert_eq!(three, four);
        // The encoder writes the shortest form.
        let mut buf = BytesMut::new();
        three.encode(V5, MAX_PACKET_SIZE, &mut buf).unwrap();
        assert_eq!(&buf[..], &[first, 0x03, 0x00, 0x07, code]);
    }
}

fn ack_parts(p: &Packet) -> (u16, ReasonCode, bool) {
    match p {
        Packet::PubAck(a) => (a.packet_id.get(), a.reason_code, a.properties.is_empty()),
        Packet::PubRec(a) => (a.packet_id.get(), a.reason_code, a.properties.is_empty()),
        Packet::PubRel(a) => (a.packet_id.get(), a.reason_code, a.properties.is_empty()),
        Packet::PubComp(a) => (a.packet_id.get(), a.reason_code, a.properties.is_empty()),
        other => panic!("{other:?}"),
    }
}
