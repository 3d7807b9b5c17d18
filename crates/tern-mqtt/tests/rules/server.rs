//! `Codec::server()`: CONNECT first, then the level it names.

use super::*;

#[test]
fn mqtt_3_1_0_1_server_codec_requires_connect_first() {
    let codec = Codec::server();
    assert_eq!(codec.version(), None);
    for wire in [
        packet(0x30, &s(b"a")),
        vec![0xc0, 0x00],
        vec![0xe0, 0x00],
        packet(0x82, &cat(&[&[0, 1], &s(b"a"), &[0]])),
        vec![0xf0, 0x00],
    ] {
        let t = PacketType::from_u8(wire[0] >> 4).unwrap();
        let mut buf = BytesMut::from(&wire[..]);
        let e = codec.decode(&mut buf).unwrap_err();
        assert_eq!(e, DecodeError::ExpectedConnect(t));
        assert_eq!(&buf[..], &wire[..]);
        names_rule(&e, RC_PROTOCOL, "MQTT-3.1.0-1");
    }
}

#[test]
fn server_codec_learns_the_level_from_connect_with_decode_mut() {
    for (level, version) in [(5u8, V5), (4, V3), (3, ProtocolVersion::V3_1)] {
        let mut codec = Codec::server();
        let name: &[u8] = if level == 3 { b"MQIsdp" } else { b"MQTT" };
        let mut body = cat(&[&s(name), &[level, 0x02, 0, 60]]);
        if level == 5 {
            body.push(0);
        }
        body.extend_from_slice(&s(b"c"));
        let mut buf = BytesMut::from(&packet(0x10, &body)[..]);
        // Behind the CONNECT: a 5.0-only form (PUBACK with a reason code) and an AUTH.
        buf.extend_from_slice(&[0x40, 0x03, 0x00, 0x01, 0x10]);
        buf.extend_from_slice(&[0xf0, 0x00]);

        // `decode` does not learn.
        let mut copy = buf.clone();
        assert!(matches!(
            codec.decode(&mut copy),
            Ok(Decoded::Packet(Packet::Connect(_)))
        ));
        assert_eq!(codec.version(), None);
        assert_eq!(
            codec.decode(&mut copy),
            Err(DecodeError::ExpectedConnect(PacketType::PubAck))
        );

        // `decode_mut` does.
        let Ok(Decoded::Packet(Packet::Connect(c))) = codec.decode_mut(&mut buf) else {
            panic!("no CONNECT")
        };
        assert_eq!(c.protocol, version);
        assert_eq!(codec.version(), Some(version));
        if version.is_v5() {
            let Ok(Decoded::Packet(Packet::PubAck(a))) = codec.decode_mut(&mut buf) else {
                panic!()
            };
            assert_eq!(a.reason_code, ReasonCode::NoMatchingSubscribers);
            assert_eq!(
                codec.decode_mut(&mut buf),
                Ok(Decoded::Packet(Packet::Auth(Auth::default())))
            );
        } else {
            assert_eq!(
                codec.decode_mut(&mut buf),
                Err(DecodeError::TrailingBytes {
                    packet: PacketType::PubAck
                })
            );
            let _ = buf.split_to(5); // past the PUBACK
            assert_eq!(
                codec.decode_mut(&mut buf),
                Err(DecodeError::ReservedPacketType(15))
            );
        }
    }
}

#[test]
fn mqtt_3_1_0_1_server_codec_refuses_from_the_first_byte() {
    // A client that opens with anything but CONNECT is refused before the rest of its packet
    // is buffered: one byte of a PUBLISH is enough.
    let codec = Codec::server();
    let mut buf = BytesMut::from(&[0x30u8][..]);
    assert_eq!(
        codec.decode(&mut buf),
        Err(DecodeError::ExpectedConnect(PacketType::Publish))
    );
    assert_eq!(&buf[..], &[0x30]);
    // A CONNECT's first byte alone is simply incomplete.
    let mut buf = BytesMut::from(&[0x10u8][..]);
    assert_eq!(
        codec.decode(&mut buf),
        Ok(Decoded::Incomplete { needed: None })
    );
}
