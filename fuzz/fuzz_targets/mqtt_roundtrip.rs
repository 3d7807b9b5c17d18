//! Structure-aware: an arbitrary valid packet at an arbitrary protocol level
//! (`tern_mqtt::arbitrary::VersionedPacket`) encodes to exactly `encoded_len` bytes, decodes
//! back equal (through the streaming codec, fed whole and then split in two), and re-encodes
//! to the same bytes.
#![no_main]

use bytes::BytesMut;
use libfuzzer_sys::fuzz_target;
use tern_mqtt::arbitrary::VersionedPacket;
use tern_mqtt::packet::MAX_PACKET_SIZE;
use tern_mqtt::{Codec, Decoded, Packet};

fuzz_target!(|input: (VersionedPacket, u16)| {
    let (VersionedPacket { version, packet }, split) = input;
    let mut wire = BytesMut::new();
    packet
        .encode(version, MAX_PACKET_SIZE, &mut wire)
        .unwrap_or_else(|e| panic!("generated packet does not encode: {e}: {packet:?}"));
    assert_eq!(
        wire.len(),
        packet.encoded_len(version),
        "encoded_len is wrong"
    );
    let wire = wire.freeze();

    let codec = Codec::new(version).with_max_incoming(MAX_PACKET_SIZE);

    // Split the packet in two: the first part must be Incomplete and consume nothing.
    let split = usize::from(split) % wire.len();
    let mut buf = BytesMut::from(&wire[..split]);
    match codec.decode(&mut buf) {
        Ok(Decoded::Incomplete { .. }) => assert_eq!(&buf[..], &wire[..split]),
        other => panic!("a {split}-byte prefix of a packet gave {other:?}"),
    }
    buf.extend_from_slice(&wire[split..]);
    let decoded = match codec.decode(&mut buf) {
        Ok(Decoded::Packet(p)) => p,
        other => panic!("an encoded packet gave {other:?}: {packet:?}"),
    };
    assert!(buf.is_empty(), "the decoder left {} bytes", buf.len());
    assert_eq!(decoded, packet, "decode(encode(p)) != p");
    assert_eq!(
        Packet::decode(version, wire.clone()).as_ref(),
        Ok(&packet),
        "Packet::decode disagrees"
    );

    let mut again = BytesMut::new();
    decoded
        .encode(version, MAX_PACKET_SIZE, &mut again)
        .unwrap_or_else(|e| panic!("decoded packet does not re-encode: {e}"));
    assert_eq!(&again[..], &wire[..], "re-encoding changed the bytes");
});
