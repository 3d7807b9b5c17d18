//! Property tests: every valid message round-trips through the UDP codec with an exact
//! `encoded_len`; the builder writes options in number order whatever order they were added;
//! arbitrary and corrupted bytes never panic, and whatever decodes re-encodes to the same bytes
//! even when the message is rebuilt from its parts, because the UDP format has exactly one
//! encoding for a given header, token, option sequence and payload.

mod common;

use arbitrary::{Arbitrary, Unstructured};
use bytes::{Bytes, BytesMut};
use common::rebuilt;
use proptest::prelude::*;
use tern_coap::arbitrary::{ArbitraryMessage, option_list};
use tern_coap::{Message, Options};

fn encode(m: &Message) -> BytesMut {
    let mut buf = BytesMut::new();
    m.encode(&mut buf)
        .unwrap_or_else(|e| panic!("{m:?} does not encode: {e}"));
    buf
}

/// Reads everything a receiver might read from a decoded message; none of it may panic.
fn read_everything(m: &Message) {
    for o in &m.options {
        let _ = (o.as_uint(), o.as_str(), o.is_well_formed(), o.number.info());
        let _ = format!("{} {o:?}", o.number);
        let _ = m.options.get(o.number);
        let _ = m.options.get_all(o.number).count();
    }
    let _ = m.options.unrecognized().count();
    let _ = m.options.first_unrecognized_critical();
    let _ = format!("{m:?} {}", m.code);
}

/// Either a format error or a message that re-encodes, also from its parts, to `wire`.
fn decode_checked(wire: &[u8]) -> Result<(), TestCaseError> {
    match Message::decode(Bytes::copy_from_slice(wire)) {
        Ok(m) => {
            read_everything(&m);
            prop_assert_eq!(m.encoded_len(), wire.len());
            prop_assert_eq!(&encode(&m)[..], wire);
            let r = rebuilt(&m);
            prop_assert_eq!(&encode(&r)[..], wire, "rebuilt from parts: {:?}", r);
        }
        Err(e) => {
            let _ = e.to_string();
        }
    }
    Ok(())
}

/// `bytes` with a version-1 header and a legal token length, so that most cases get past the
/// first two checks and exercise the token, options and payload.
fn plausible_header(mut bytes: Vec<u8>) -> Vec<u8> {
    if let Some(b0) = bytes.first_mut() {
        *b0 = 0x40 | (*b0 & 0x30) | ((*b0 & 0x0f) % 9);
    }
    bytes
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(3000))]

    #[test]
    fn decode_of_encode_is_identity(seed in proptest::collection::vec(any::<u8>(), 0..4096)) {
        let Ok(ArbitraryMessage(m)) = ArbitraryMessage::arbitrary(&mut Unstructured::new(&seed))
        else {
            return Ok(());
        };
        let wire = encode(&m);
        prop_assert_eq!(wire.len(), m.encoded_len());
        let back = Message::decode(wire.clone().freeze());
        prop_assert_eq!(back.as_ref(), Ok(&m));
        // Generated known options are well-formed and not repeated when non-repeatable, so
        // only unknown numbers may be unrecognized.
        for o in m.options.unrecognized() {
            prop_assert!(o.number.info().is_none(), "{} unrecognized in {:?}", o.number, m);
        }
        if m.code.is_empty() {
            prop_assert_eq!(wire.len(), 4);
        }
    }

    #[test]
    fn options_come_out_in_number_order_whatever_order_they_went_in(
        seed in proptest::collection::vec(any::<u8>(), 0..2048),
    ) {
        let Ok(list) = option_list(&mut Unstructured::new(&seed)) else {
            return Ok(());
        };
        let options = list
            .iter()
            .fold(Options::builder(), |b, (n, v)| b.push(*n, v.clone()))
            .build()
            .expect("generated options build");
        let mut want = list.clone();
        want.sort_by_key(|(n, _)| *n); // stable: repeats keep the order they were added in
        let got: Vec<_> = options
            .iter()
            .map(|o| (o.number, Bytes::copy_from_slice(o.value)))
            .collect();
        prop_assert_eq!(got, want);
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        decode_checked(&bytes)?;
        decode_checked(&plausible_header(bytes))?;
    }

    #[test]
    fn corrupted_messages_never_panic(
        seed in proptest::collection::vec(any::<u8>(), 0..1024),
        edits in proptest::collection::vec((any::<u16>(), any::<u8>()), 1..4),
        cut in any::<u16>(),
    ) {
        let Ok(ArbitraryMessage(m)) = ArbitraryMessage::arbitrary(&mut Unstructured::new(&seed))
        else {
            return Ok(());
        };
        let mut wire = encode(&m).to_vec();
        for (at, byte) in edits {
            let len = wire.len();
            wire[usize::from(at) % len] = byte;
        }
        decode_checked(&wire)?;
        wire.truncate(usize::from(cut) % (wire.len() + 1));
        decode_checked(&wire)?;
    }
}

/// One option header as written: the delta and length nibbles, the number and the value.
#[derive(Debug, PartialEq)]
struct RawOption {
    delta_nibble: u8,
    length_nibble: u8,
    number: u32,
    value: Vec<u8>,
}

/// A deliberately plain reading of RFC 7252 §3.1, independent of the crate's, for the options
/// of a well-formed message.
fn reference_options(mut b: &[u8]) -> Vec<RawOption> {
    fn ext(nibble: u8, b: &mut &[u8]) -> u32 {
        match nibble {
            13 => {
                let v = u32::from(b[0]) + 13;
                *b = &b[1..];
                v
            }
            14 => {
                let v = u32::from(u16::from_be_bytes([b[0], b[1]])) + 269;
                *b = &b[2..];
                v
            }
            n => u32::from(n),
        }
    }
    let mut out = Vec::new();
    let mut number = 0;
    while !b.is_empty() && b[0] != 0xff {
        let (d, l) = (b[0] >> 4, b[0] & 0x0f);
        b = &b[1..];
        number += ext(d, &mut b);
        let len = ext(l, &mut b) as usize;
        out.push(RawOption {
            delta_nibble: d,
            length_nibble: l,
            number,
            value: b[..len].to_vec(),
        });
        b = &b[len..];
    }
    out
}

/// A fixed stream of pseudo-random bytes (xorshift), so the coverage test is reproducible.
fn seeds(count: usize, len: usize) -> impl Iterator<Item = Vec<u8>> {
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    (0..count).map(move |_| {
        (0..len)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x as u8
            })
            .collect()
    })
}

/// The generator reaches every shape the codec must handle, and the crate's option reading
/// agrees with the plain reference reading on all of them.
#[test]
fn the_generator_covers_every_header_form_and_the_reference_reading_agrees() {
    let mut seen = std::collections::BTreeMap::<&str, usize>::new();
    let mut hit = |what: &'static str, cond: bool| {
        if cond {
            *seen.entry(what).or_default() += 1;
        }
    };
    for seed in seeds(3000, 1500) {
        let ArbitraryMessage(m) = ArbitraryMessage::arbitrary(&mut Unstructured::new(&seed))
            .expect("1,500 bytes are enough for a message");
        let raw = reference_options(m.options.as_bytes());
        let ours: Vec<_> = m
            .options
            .iter()
            .map(|o| (u32::from(o.number.get()), o.value.to_vec()))
            .collect();
        let theirs: Vec<_> = raw.iter().map(|o| (o.number, o.value.clone())).collect();
        assert_eq!(ours, theirs, "{m:?}");

        hit("Empty message", m.code.is_empty());
        hit("request", m.code.is_request());
        hit("response", m.code.is_response());
        hit("signaling code", m.code.is_signaling());
        hit("reserved class", matches!(m.code.class(), 1 | 3 | 6));
        hit("CON", m.mtype == tern_coap::MessageType::Confirmable);
        hit("NON", m.mtype == tern_coap::MessageType::NonConfirmable);
        hit("ACK", m.mtype == tern_coap::MessageType::Acknowledgement);
        hit("RST", m.mtype == tern_coap::MessageType::Reset);
        hit("empty token", !m.code.is_empty() && m.token.is_empty());
        hit("8-byte token", m.token.len() == 8);
        hit("empty payload", !m.code.is_empty() && m.payload.is_empty());
        hit("payload", !m.payload.is_empty());
        hit("no options", !m.code.is_empty() && m.options.is_empty());
        hit("options out of order", raw.len() >= 5);
        for o in &raw {
            hit("delta nibble 13", o.delta_nibble == 13);
            hit("delta nibble 14", o.delta_nibble == 14);
            hit("length nibble 13", o.length_nibble == 13);
            hit("length nibble 14", o.length_nibble == 14);
            hit("delta 12", o.delta_nibble == 12);
            hit("length 12", o.value.len() == 12);
            hit("length 268", o.value.len() == 268);
            hit("length 269", o.value.len() == 269);
            hit(
                "repeated option",
                raw.iter().filter(|p| p.number == o.number).count() > 1,
            );
            hit("option 2049", o.number == 2049);
            hit("option 65000", o.number == 65000);
            hit("option 65535", o.number == 65535);
            hit(
                "unknown option",
                u16::try_from(o.number)
                    .ok()
                    .and_then(|n| tern_coap::OptionNumber(n).info())
                    .is_none(),
            );
            hit(
                "Proxy-Uri over 269 bytes",
                o.number == 35 && o.value.len() >= 269,
            );
            hit("Uri-Path", o.number == 11);
            hit("Request-Tag", o.number == 292);
        }
    }
    let missing: Vec<_> = [
        "Empty message",
        "request",
        "response",
        "signaling code",
        "reserved class",
        "CON",
        "NON",
        "ACK",
        "RST",
        "empty token",
        "8-byte token",
        "empty payload",
        "payload",
        "no options",
        "options out of order",
        "delta nibble 13",
        "delta nibble 14",
        "length nibble 13",
        "length nibble 14",
        "delta 12",
        "length 12",
        "length 268",
        "length 269",
        "repeated option",
        "option 2049",
        "option 65000",
        "option 65535",
        "unknown option",
        "Proxy-Uri over 269 bytes",
        "Uri-Path",
        "Request-Tag",
    ]
    .into_iter()
    .filter(|w| !seen.contains_key(w))
    .collect();
    assert!(
        missing.is_empty(),
        "never generated: {missing:?}; seen: {seen:?}"
    );
}
