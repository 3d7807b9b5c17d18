//! Property tests: every valid packet round-trips through the codec at every protocol level.

use arbitrary::{Arbitrary, Unstructured};
use bytes::BytesMut;
use proptest::prelude::*;
use tern_mqtt::arbitrary::VersionedPacket;
use tern_mqtt::packet::MAX_PACKET_SIZE;
use tern_mqtt::{Codec, Decoded, Packet};

fn packet_from(seed: &[u8]) -> Option<VersionedPacket> {
    VersionedPacket::arbitrary(&mut Unstructured::new(seed)).ok()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn decode_of_encode_is_identity(seed in proptest::collection::vec(any::<u8>(), 0..512)) {
        let Some(VersionedPacket { version, packet }) = packet_from(&seed) else { return Ok(()) };
        let mut buf = BytesMut::new();
        packet.encode(version, MAX_PACKET_SIZE, &mut buf).unwrap();
        prop_assert_eq!(buf.len(), packet.encoded_len(version));
        let codec = Codec::new(version).with_max_incoming(MAX_PACKET_SIZE);
        let wire = buf.clone().freeze();
        match codec.decode(&mut buf).unwrap() {
            Decoded::Packet(p) => prop_assert_eq!(&p, &packet),
            other => prop_assert!(false, "incomplete: {:?}", other),
        }
        prop_assert!(buf.is_empty());
        prop_assert_eq!(Packet::decode(version, wire).unwrap(), packet);
    }
}
