//! Raw bytes through the streaming MQTT decoder, delivered in arbitrary chunks.
//!
//! Input layout (so that seeds can be written by hand, see `fuzz/README.md`):
//!
//! - byte 0, the selector: bits 0–1 pick the codec (0 = 3.1, 1 = 3.1.1, 2 = 5.0, 3 = a server
//!   codec that learns the level from CONNECT); bits 2–7 pick the incoming packet-size limit
//!   (0 = the default 1 MiB, 63 = the largest packet MQTT can express, k = (k - 1) * 4 bytes).
//! - byte 1: the low four bits are the number n of chunk-size bytes that follow.
//! - n bytes: the sizes of the first n chunks (0 is allowed: decode again with nothing new).
//! - the rest: the byte stream; whatever the chunk sizes do not cover arrives as one last chunk.
//!
//! After each chunk the target drains the codec and checks the decoder's contract: it never
//! panics; `Incomplete` and errors consume nothing; `Incomplete` without a count only happens
//! inside the fixed header, and with a count it is exact; no packet exceeds the limit; the
//! streaming decoder agrees with the one-shot `Packet::decode`; and every decoded packet
//! (valid by definition) re-encodes without error to `encoded_len` bytes that decode back equal.
//! Those bytes are the input bytes themselves, except where MQTT 5.0 lets a sender write a
//! longer form of the same packet (the optional reason code and properties of the
//! acknowledgements, DISCONNECT and AUTH), which the encoder shortens.
#![no_main]

use bytes::{Bytes, BytesMut};
use libfuzzer_sys::fuzz_target;
use tern_mqtt::packet::{DEFAULT_MAX_INCOMING, MAX_PACKET_SIZE};
use tern_mqtt::{Codec, Decoded, Packet, PacketType, ProtocolVersion};

/// The longest fixed header: one type byte and a four-byte Remaining Length.
const MAX_FIXED_HEADER: usize = 5;

fuzz_target!(|data: &[u8]| {
    let [selector, count, rest @ ..] = data else {
        return;
    };
    let mut codec = match selector & 0b11 {
        0 => Codec::new(ProtocolVersion::V3_1),
        1 => Codec::new(ProtocolVersion::V3_1_1),
        2 => Codec::new(ProtocolVersion::V5),
        _ => Codec::server(),
    };
    let max_incoming = match selector >> 2 {
        0 => DEFAULT_MAX_INCOMING,
        63 => MAX_PACKET_SIZE,
        k => usize::from(k - 1) * 4,
    };
    codec = codec.with_max_incoming(max_incoming);
    let n = usize::from(count & 0x0f).min(rest.len());
    let (sizes, stream) = rest.split_at(n);

    let mut sizes = sizes.iter().map(|&s| usize::from(s));
    let mut buf = BytesMut::new();
    // stream[consumed..fed] is what `buf` must hold between calls.
    let mut consumed = 0;
    let mut fed = 0;
    // Set after `Incomplete { needed: Some(_) }`: the buffer length at which the packet is whole.
    let mut whole_at: Option<usize> = None;
    loop {
        let left = stream.len() - fed;
        let take = sizes.next().map_or(left, |s| s.min(left));
        buf.extend_from_slice(&stream[fed..fed + take]);
        fed += take;
        loop {
            let before = buf.len();
            match codec.decode_mut(&mut buf) {
                Ok(Decoded::Packet(packet)) => {
                    let used = before - buf.len();
                    assert!(used > 0, "a packet consumed no bytes");
                    assert!(
                        used <= max_incoming,
                        "a {used}-byte packet passed a limit of {max_incoming}"
                    );
                    let wire = &stream[consumed..consumed + used];
                    consumed += used;
                    whole_at = None;
                    check_packet(&codec, &packet, wire);
                }
                Ok(Decoded::Incomplete { needed }) => {
                    assert_eq!(
                        &buf[..],
                        &stream[consumed..fed],
                        "Incomplete consumed bytes"
                    );
                    if let Some(at) = whole_at {
                        assert!(buf.len() < at, "Incomplete although the packet is whole");
                    }
                    match needed {
                        None => assert!(
                            buf.len() < MAX_FIXED_HEADER,
                            "Incomplete without a count after a whole fixed header"
                        ),
                        Some(n) => {
                            let at = buf.len() + n.get();
                            assert!(whole_at.is_none_or(|w| w == at), "the count changed");
                            whole_at = Some(at);
                        }
                    }
                    break;
                }
                Err(e) => {
                    assert_eq!(&buf[..], &stream[consumed..fed], "an error consumed bytes");
                    // The error's descriptions must not panic either.
                    let _ = (e.to_string(), e.reason_code(), e.rule());
                    return;
                }
            }
        }
        if fed == stream.len() {
            return;
        }
    }
});

/// Checks one decoded packet against the bytes it came from.
fn check_packet(codec: &Codec, packet: &Packet, wire: &[u8]) {
    let version = match packet {
        Packet::Connect(c) => c.protocol,
        _ => codec
            .version()
            .expect("a packet other than CONNECT decoded before the level was known"),
    };
    // The one-shot decoder agrees with the streaming one.
    let once = Packet::decode(version, Bytes::copy_from_slice(wire))
        .unwrap_or_else(|e| panic!("streamed packet fails Packet::decode: {e}"));
    assert_eq!(&once, packet, "Packet::decode disagrees with Codec::decode");

    let mut out = BytesMut::new();
    packet
        .encode(version, MAX_PACKET_SIZE, &mut out)
        .unwrap_or_else(|e| panic!("decoded packet does not re-encode: {e}: {packet:?}"));
    assert_eq!(
        out.len(),
        packet.encoded_len(version),
        "encoded_len is wrong"
    );
    let out = out.freeze();
    let back = Packet::decode(version, out.clone())
        .unwrap_or_else(|e| panic!("re-encoded packet does not decode: {e}: {packet:?}"));
    assert_eq!(&back, packet, "re-encoded packet decodes differently");

    let shortened = version.is_v5()
        && matches!(
            packet.packet_type(),
            PacketType::PubAck
                | PacketType::PubRec
                | PacketType::PubRel
                | PacketType::PubComp
                | PacketType::Disconnect
                | PacketType::Auth
        );
    if shortened {
        assert!(out.len() <= wire.len(), "the encoder wrote a longer form");
    } else {
        assert_eq!(
            &out[..],
            wire,
            "re-encoding changed the bytes of {packet:?}"
        );
    }
}
