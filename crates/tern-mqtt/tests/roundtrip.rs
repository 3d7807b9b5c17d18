//! Property tests: every valid packet round-trips through the codec at every protocol level;
//! streams of packets decode the same however they are split; arbitrary and corrupted bytes
//! never panic; topic validation and matching agree with simple reference implementations.

use std::num::NonZeroUsize;

use arbitrary::{Arbitrary, Unstructured};
use bytes::{Bytes, BytesMut};
use proptest::prelude::*;
use tern_mqtt::arbitrary::VersionedPacket;
use tern_mqtt::packet::MAX_PACKET_SIZE;
use tern_mqtt::{
    Codec, Decoded, Packet, ProtocolVersion, SharedSubscription, TopicFilter, TopicName,
};

const VERSIONS: [ProtocolVersion; 3] = [
    ProtocolVersion::V3_1,
    ProtocolVersion::V3_1_1,
    ProtocolVersion::V5,
];

fn packet_from(seed: &[u8]) -> Option<VersionedPacket> {
    VersionedPacket::arbitrary(&mut Unstructured::new(seed)).ok()
}

/// A protocol level and one to eight valid packets at that level.
///
/// The level is the first packet's; the others come from the same generator at that level
/// (a CONNECT of another level would carry its own level, so it is skipped to keep the
/// sequence one connection's traffic).
fn sequence_from(seed: &[u8]) -> Option<(ProtocolVersion, Vec<Packet>)> {
    let mut u = Unstructured::new(seed);
    let first = VersionedPacket::arbitrary(&mut u).ok()?;
    let version = first.version;
    let mut packets = vec![first.packet];
    let more = u.int_in_range(0..=7).ok()?;
    for _ in 0..more {
        let Ok(p) = tern_mqtt::arbitrary::packet(&mut u, version) else {
            break;
        };
        match &p {
            Packet::Connect(c) if c.protocol != version => continue,
            _ => packets.push(p),
        }
    }
    Some((version, packets))
}

fn encode(version: ProtocolVersion, packet: &Packet) -> BytesMut {
    let mut buf = BytesMut::new();
    packet
        .encode(version, MAX_PACKET_SIZE, &mut buf)
        .unwrap_or_else(|e| panic!("{packet:?} at {version}: {e}"));
    buf
}

/// Bytes of the fixed header at the start of one encoded packet.
fn header_len(wire: &[u8]) -> usize {
    1 + 1 + wire[1..].iter().take_while(|&&b| b & 0x80 != 0).count()
}

/// A packet the decoder produced must be one the encoder accepts, and encoding it must give
/// bytes that decode back to the same packet and re-encode to the same bytes.
fn reencodes(version: ProtocolVersion, packet: &Packet) -> Result<(), TestCaseError> {
    let mut first = BytesMut::new();
    let encoded = packet.encode(version, MAX_PACKET_SIZE, &mut first);
    prop_assert!(
        encoded.is_ok(),
        "decoded {:?} at {} does not encode: {:?}",
        packet,
        version,
        encoded
    );
    prop_assert_eq!(first.len(), packet.encoded_len(version));
    let again = Packet::decode(version, first.clone().freeze());
    prop_assert_eq!(again.as_ref(), Ok(packet));
    let second = encode(version, &again.unwrap());
    prop_assert_eq!(first, second);
    Ok(())
}

/// Feeds `bytes` to `codec` until it needs more or fails; checks every outcome's invariants.
fn drain(mut codec: Codec, bytes: &[u8]) -> Result<(), TestCaseError> {
    let mut buf = BytesMut::from(bytes);
    loop {
        let before = buf.clone();
        match codec.decode_mut(&mut buf) {
            Ok(Decoded::Packet(p)) => {
                prop_assert!(buf.len() < before.len(), "a packet consumed nothing");
                let version = codec
                    .version()
                    .expect("a decoded packet sets or has a level");
                reencodes(version, &p)?;
            }
            Ok(Decoded::Incomplete { needed }) => {
                prop_assert_eq!(&buf, &before, "Incomplete consumed bytes");
                if let Some(n) = needed {
                    prop_assert!(n.get() <= MAX_PACKET_SIZE);
                }
                return Ok(());
            }
            Err(e) => {
                prop_assert_eq!(&buf, &before, "an error consumed bytes");
                prop_assert!(e.to_string().contains(e.rule()));
                let _ = e.reason_code();
                return Ok(());
            }
        }
    }
}

fn codecs() -> [Codec; 4] {
    [
        Codec::new(ProtocolVersion::V3_1),
        Codec::new(ProtocolVersion::V3_1_1),
        Codec::new(ProtocolVersion::V5),
        Codec::server(),
    ]
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

    /// Packets encoded back to back and fed in arbitrary pieces decode to the same packets;
    /// `Incomplete` never consumes, and its `needed` is exactly what the current packet lacks.
    #[test]
    fn streams_decode_the_same_however_they_are_split(
        seed in proptest::collection::vec(any::<u8>(), 0..1024),
        pieces in proptest::collection::vec(1usize..48, 1..16),
    ) {
        let Some((version, packets)) = sequence_from(&seed) else { return Ok(()) };
        let mut wire = Vec::new();
        // (fixed header length, total length) of each packet.
        let mut sizes = Vec::new();
        for p in &packets {
            let b = encode(version, p);
            sizes.push((header_len(&b), b.len()));
            wire.extend_from_slice(&b);
        }

        let codec = Codec::new(version).with_max_incoming(MAX_PACKET_SIZE);
        let mut buf = BytesMut::new();
        let mut got = Vec::new();
        let mut fed = 0;
        let mut piece = pieces.iter().cycle();
        while fed < wire.len() {
            let n = (*piece.next().unwrap()).min(wire.len() - fed);
            buf.extend_from_slice(&wire[fed..fed + n]);
            fed += n;
            loop {
                let before = buf.clone();
                match codec.decode(&mut buf) {
                    Ok(Decoded::Packet(p)) => got.push(p),
                    Ok(Decoded::Incomplete { needed }) => {
                        prop_assert_eq!(&buf, &before, "Incomplete consumed bytes");
                        match sizes.get(got.len()) {
                            Some(&(header, total)) if buf.len() >= header => {
                                prop_assert_eq!(needed, NonZeroUsize::new(total - buf.len()));
                            }
                            _ => prop_assert_eq!(needed, None),
                        }
                        break;
                    }
                    Err(e) => prop_assert!(false, "{} at {} after {} packets", e, version, got.len()),
                }
            }
        }
        prop_assert!(buf.is_empty());
        prop_assert_eq!(got, packets);
    }

    /// Arbitrary bytes at every level (and on a server codec that has not seen CONNECT yet)
    /// give a packet, `Incomplete` or a typed error — never a panic; whatever decodes
    /// re-encodes and decodes back equal.
    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        for codec in codecs() {
            drain(codec.with_max_incoming(64 * 1024), &bytes)?;
        }
        for version in VERSIONS {
            if let Ok(p) = Packet::decode(version, Bytes::from(bytes.clone())) {
                reencodes(version, &p)?;
            }
        }
    }

    /// Valid packets with a few bytes overwritten, or cut short, exercise the decoder's error
    /// paths past the fixed header: still no panic, and whatever decodes re-encodes.
    #[test]
    fn corrupted_packets_never_panic(
        seed in proptest::collection::vec(any::<u8>(), 0..512),
        edits in proptest::collection::vec((any::<usize>(), any::<u8>()), 0..4),
        keep in any::<usize>(),
    ) {
        let Some(VersionedPacket { version, packet }) = packet_from(&seed) else { return Ok(()) };
        let mut wire = encode(version, &packet).to_vec();
        for (at, value) in edits {
            let at = at % wire.len();
            wire[at] = value;
        }
        wire.truncate(1 + keep % wire.len());
        drain(Codec::new(version).with_max_incoming(MAX_PACKET_SIZE), &wire)?;
        drain(Codec::server(), &wire)?;
        if let Ok(p) = Packet::decode(version, Bytes::from(wire)) {
            reencodes(version, &p)?;
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Topics

/// The matching rule of MQTT 5.0 §4.7, level by level: '+' takes one level, '#' (always the
/// last level of a valid filter) takes the rest, the parent level included; a filter starting
/// with a wildcard does not match a name starting with '$' [MQTT-4.7.2-1].
fn reference_matches(filter: &str, name: &str) -> bool {
    fn levels(filter: &[&str], name: &[&str]) -> bool {
        match (filter.split_first(), name.split_first()) {
            (Some((&"#", _)), _) => true,
            (Some((&"+", f)), Some((_, n))) => levels(f, n),
            (Some((a, f)), Some((b, n))) => a == b && levels(f, n),
            (None, None) => true,
            _ => false,
        }
    }
    if name.starts_with('$') && (filter.starts_with('+') || filter.starts_with('#')) {
        return false;
    }
    let f: Vec<&str> = filter.split('/').collect();
    let n: Vec<&str> = name.split('/').collect();
    levels(&f, &n)
}

/// A valid MQTT string: no U+0000, at most 65,535 bytes (well-formedness is `&str`'s).
fn reference_string_ok(s: &str) -> bool {
    !s.contains('\0') && s.len() <= 65_535
}

/// A topic name: non-empty, no wildcards [MQTT-4.7.0-1], [MQTT-4.7.3-1].
fn reference_name_ok(s: &str) -> bool {
    reference_string_ok(s) && !s.is_empty() && !s.contains(['+', '#'])
}

/// A filter: non-empty; every level is "+", "#" (last level only) or free of wildcards
/// [MQTT-4.7.1-1], [MQTT-4.7.1-2]; `$share/{group}/{filter}` needs a non-empty group free of
/// wildcards and a valid filter [MQTT-4.8.2-1], [MQTT-4.8.2-2].
fn reference_filter_ok(s: &str) -> bool {
    fn plain(s: &str) -> bool {
        let levels: Vec<&str> = s.split('/').collect();
        !s.is_empty()
            && levels.iter().enumerate().all(|(i, l)| {
                *l == "+" || (*l == "#" && i + 1 == levels.len()) || !l.contains(['+', '#'])
            })
    }
    if !reference_string_ok(s) {
        return false;
    }
    match s.strip_prefix("$share/") {
        Some(rest) => match rest.split_once('/') {
            Some((group, filter)) => {
                !group.is_empty() && !group.contains(['+', '#']) && plain(filter)
            }
            None => false,
        },
        None => plain(s),
    }
}

/// Topic-like strings from a small alphabet, so that matches and edge cases are frequent.
fn topicish() -> impl Strategy<Value = String> {
    proptest::collection::vec(
        prop_oneof![
            Just("a"),
            Just("b"),
            Just(""),
            Just("+"),
            Just("#"),
            Just("$x"),
            Just("a+"),
            Just("#b"),
            Just("é"),
        ],
        1..6,
    )
    .prop_map(|levels| levels.join("/"))
}

fn name_levels() -> impl Strategy<Value = String> {
    proptest::collection::vec(
        prop_oneof![Just("a"), Just("b"), Just(""), Just("$x"), Just("é")],
        1..6,
    )
    .prop_map(|levels| levels.join("/"))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(4000))]

    #[test]
    fn matches_agrees_with_the_reference(filter in topicish(), name in name_levels(), shared in any::<bool>()) {
        let (Ok(f), Ok(n)) = (TopicFilter::new(&filter), TopicName::new(&name)) else {
            return Ok(());
        };
        let want = reference_matches(&filter, &name);
        prop_assert_eq!(f.matches(&n), want, "{} vs {}", filter, name);
        prop_assert_eq!(tern_mqtt::topic::matches(&filter, &name), want);
        if shared {
            // A shared subscription matches like its inner filter.
            let s = TopicFilter::new(&format!("$share/g/{filter}")).unwrap();
            prop_assert_eq!(s.matches(&n), want);
        }
    }

    #[test]
    fn topic_validation_agrees_with_the_reference(s in prop_oneof![
        topicish(),
        topicish().prop_map(|f| format!("$share/{f}")),
        "[a/+#$\u{0}é]{0,12}",
        any::<String>(),
    ]) {
        prop_assert_eq!(TopicName::new(&s).is_ok(), reference_name_ok(&s), "name {:?}", s);
        prop_assert_eq!(TopicFilter::new(&s).is_ok(), reference_filter_ok(&s), "filter {:?}", s);
        let _ = SharedSubscription::parse(&s);
        if let Ok(f) = TopicFilter::new(&s) {
            prop_assert_eq!(f.shared().is_some(), s.starts_with("$share/"));
            let _ = f.has_wildcards();
        }
    }

    #[test]
    fn topic_validation_never_panics_on_arbitrary_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
        let b = Bytes::from(bytes);
        let name = TopicName::from_bytes(b.clone());
        let filter = TopicFilter::from_bytes(b.clone());
        if std::str::from_utf8(&b).is_err() {
            prop_assert!(name.is_err() && filter.is_err());
        }
        if let (Ok(f), Ok(n)) = (filter, name) {
            prop_assert_eq!(f.matches(&n), reference_matches(f.match_filter(), n.as_str()));
        }
    }
}

#[test]
fn the_reference_matcher_follows_the_specification_examples() {
    // MQTT 5.0 §4.7.1.2, §4.7.1.3 and §4.7.2.
    for (f, n) in [
        ("sport/tennis/player1/#", "sport/tennis/player1"),
        ("sport/tennis/player1/#", "sport/tennis/player1/ranking"),
        (
            "sport/tennis/player1/#",
            "sport/tennis/player1/score/wimbledon",
        ),
        ("sport/#", "sport"),
        ("#", "sport"),
        ("sport/tennis/+", "sport/tennis/player1"),
        ("sport/+", "sport/"),
        ("+/+", "/finance"),
        ("/+", "/finance"),
        ("$SYS/#", "$SYS/monitor/Clients"),
        ("$SYS/monitor/+", "$SYS/monitor/Clients"),
    ] {
        assert!(reference_matches(f, n), "{f} {n}");
    }
    for (f, n) in [
        ("sport/tennis/+", "sport/tennis/player1/ranking"),
        ("sport/+", "sport"),
        ("+", "/finance"),
        ("#", "$SYS/monitor/Clients"),
        ("+/monitor/Clients", "$SYS/monitor/Clients"),
        ("ACCOUNTS", "Accounts"),
    ] {
        assert!(!reference_matches(f, n), "{f} {n}");
    }
}
