//! One test per message-format rule of RFC 7252 (and the registries of the RFCs that add
//! options), named by RFC and section.

use bytes::{Bytes, BytesMut};
use tern_coap::message::EncodeError;
use tern_coap::option::{OptionError, ValueFormat};
use tern_coap::{Code, FormatError, Message, MessageType, OptionNumber, Options, Token};

fn decode(bytes: &[u8]) -> Result<Message, FormatError> {
    Message::decode(Bytes::copy_from_slice(bytes))
}

/// A CON GET header (version 1, no token, message id 0x1234) followed by `rest`.
fn get_with(rest: &[u8]) -> Vec<u8> {
    let mut m = vec![0x40, 0x01, 0x12, 0x34];
    m.extend_from_slice(rest);
    m
}

fn option_error(rest: &[u8]) -> Result<Message, FormatError> {
    decode(&get_with(rest))
}

/// The (number, value) pairs of a message's options.
fn options_of(m: &Message) -> Vec<(u16, Vec<u8>)> {
    m.options
        .iter()
        .map(|o| (o.number.get(), o.value.to_vec()))
        .collect()
}

fn encode(m: &Message) -> Vec<u8> {
    let mut buf = BytesMut::new();
    m.encode(&mut buf).expect("encodes");
    buf.to_vec()
}

fn get(options: Options) -> Message {
    Message {
        mtype: MessageType::Confirmable,
        code: Code::GET,
        message_id: 0x1234,
        token: Token::EMPTY,
        options,
        payload: Bytes::new(),
    }
}

#[test]
fn rfc7252_3_header_shorter_than_4_bytes_is_a_format_error() {
    for len in 0..4 {
        assert_eq!(
            decode(&[0x40, 0x01, 0x00][..len.min(3)]),
            Err(FormatError::TooShort)
        );
    }
    assert!(decode(&[0x40, 0x01, 0x00, 0x00]).is_ok());
}

#[test]
fn rfc7252_3_version_other_than_1_is_silently_ignored() {
    for version in [0u8, 2, 3] {
        let err = decode(&[version << 6, 0x01, 0, 1]).unwrap_err();
        assert_eq!(err, FormatError::UnknownVersion(version));
        assert!(err.silently_ignore(), "version {version}");
    }
    // Every other format error is answered (RST for a CON), not ignored.
    for err in [
        FormatError::TooShort,
        FormatError::TokenLengthReserved(9),
        FormatError::TruncatedToken,
        FormatError::Option(OptionError::ReservedDelta),
        FormatError::EmptyPayloadAfterMarker,
        FormatError::EmptyMessageNotEmpty,
    ] {
        assert!(!err.silently_ignore(), "{err:?}");
    }
}

#[test]
fn rfc7252_3_token_length_9_to_15_is_a_format_error() {
    for tkl in 9..=15u8 {
        // Enough bytes follow for any token length: the nibble itself is the error.
        let mut m = vec![0x40 | tkl, 0x01, 0, 1];
        m.extend_from_slice(&[0xaa; 16]);
        assert_eq!(decode(&m), Err(FormatError::TokenLengthReserved(tkl)));
    }
    for tkl in 0..=8u8 {
        let mut m = vec![0x40 | tkl, 0x01, 0, 1];
        m.extend(1..=tkl);
        let got = decode(&m).unwrap();
        assert_eq!(got.token.as_bytes(), (1..=tkl).collect::<Vec<_>>());
    }
}

#[test]
fn rfc7252_3_token_running_past_the_end_is_a_format_error() {
    assert_eq!(
        decode(&[0x48, 0x01, 0, 1, 1, 2, 3, 4, 5, 6, 7]),
        Err(FormatError::TruncatedToken)
    );
    assert_eq!(
        decode(&[0x41, 0x01, 0, 1]),
        Err(FormatError::TruncatedToken)
    );
}

#[test]
fn rfc7252_3_1_delta_nibble_15_that_is_not_the_payload_marker_is_a_format_error() {
    for b in 0xf0..=0xfeu8 {
        assert_eq!(
            option_error(&[b, 0, 0]),
            Err(FormatError::Option(OptionError::ReservedDelta)),
            "{b:#04x}"
        );
    }
    // 0xff is the marker, also after other options.
    let m = decode(&get_with(&[0xb1, b'a', 0xff, b'p'])).unwrap();
    assert_eq!(options_of(&m), [(11, b"a".to_vec())]);
    assert_eq!(&m.payload[..], b"p");
}

#[test]
fn rfc7252_3_1_length_nibble_15_is_a_format_error() {
    for d in 0..=12u8 {
        assert_eq!(
            option_error(&[(d << 4) | 0x0f, 0, 0]),
            Err(FormatError::Option(OptionError::ReservedLength)),
            "delta {d}"
        );
    }
    // Also after an extended delta.
    assert_eq!(
        option_error(&[0xdf, 0x00, 0x00]),
        Err(FormatError::Option(OptionError::ReservedLength))
    );
}

#[test]
fn rfc7252_3_1_a_0xff_inside_an_option_is_not_the_payload_marker() {
    // Extended delta byte 0xff (number 13 + 255 = 268) and a value byte 0xff.
    let m = decode(&get_with(&[0xd1, 0xff, 0xff])).unwrap();
    assert_eq!(options_of(&m), [(268, vec![0xff])]);
    assert!(m.payload.is_empty());
    // Extended length byte 0xff: 13 + 255 = 268 bytes of value.
    let mut rest = vec![0x0d, 0xff];
    rest.extend_from_slice(&[0xff; 268]);
    let m = decode(&get_with(&rest)).unwrap();
    assert_eq!(options_of(&m), [(0, vec![0xff; 268])]);
}

/// Each (delta or length, bytes of the header) at the boundaries of the extended forms.
const BOUNDARIES: &[(usize, &[u8])] = &[
    (0, &[0x0]),
    (12, &[0xc]),
    (13, &[0xd, 0x00]),
    (14, &[0xd, 0x01]),
    (268, &[0xd, 0xff]),
    (269, &[0xe, 0x00, 0x00]),
    (270, &[0xe, 0x00, 0x01]),
    (65535, &[0xe, 0xfe, 0xf2]),
];

#[test]
fn rfc7252_3_1_extended_deltas_at_the_12_13_and_268_269_boundaries() {
    for &(delta, header) in BOUNDARIES {
        // One empty option whose number is the delta: header nibble in the high half.
        let mut want = vec![header[0] << 4];
        want.extend_from_slice(&header[1..]);
        let options = Options::builder()
            .push_empty(OptionNumber(delta as u16))
            .build()
            .unwrap();
        assert_eq!(&options.as_bytes()[..], &want[..], "delta {delta}");
        let m = decode(&get_with(&want)).unwrap();
        assert_eq!(options_of(&m), [(delta as u16, vec![])], "delta {delta}");
    }
    // The delta is relative: 13 after option 11 is number 24.
    let m = decode(&get_with(&[0xb0, 0xd0, 0x00])).unwrap();
    assert_eq!(options_of(&m), [(11, vec![]), (24, vec![])]);
}

#[test]
fn rfc7252_3_1_extended_lengths_at_the_12_13_and_268_269_boundaries() {
    for &(len, header) in BOUNDARIES.iter().filter(|(l, _)| *l < 2000) {
        let value = vec![0x42; len];
        let mut want = header.to_vec();
        want.extend_from_slice(&value);
        let options = Options::builder()
            .push(OptionNumber(0), value.clone())
            .build()
            .unwrap();
        assert_eq!(&options.as_bytes()[..], &want[..], "length {len}");
        let m = decode(&get_with(&want)).unwrap();
        assert_eq!(options_of(&m), [(0, value)], "length {len}");
    }
    // Both extended: delta ext first, then length ext (Figure 8).
    let value = vec![7u8; 300];
    let options = Options::builder()
        .push(OptionNumber(300), value.clone())
        .build()
        .unwrap();
    assert_eq!(&options.as_bytes()[..5], &[0xee, 0x00, 0x1f, 0x00, 0x1f]);
    assert_eq!(&options.as_bytes()[5..], &value[..]);
    // The largest length the header can carry: 65,535 + 269.
    let max = vec![0u8; 65535 + 269];
    let options = Options::builder()
        .push(OptionNumber(1), max.clone())
        .build()
        .unwrap();
    assert_eq!(&options.as_bytes()[..3], &[0x1e, 0xff, 0xff]);
    assert_eq!(
        Options::builder()
            .push(OptionNumber(1), vec![0u8; 65535 + 270])
            .build(),
        Err(OptionError::ValueTooLong)
    );
}

#[test]
fn rfc7252_3_1_truncated_extended_bytes_are_a_format_error() {
    let truncated = Err(FormatError::Option(OptionError::Truncated));
    for rest in [
        &[0xd0][..],               // delta 13: its byte is missing
        &[0xe0, 0x00],             // delta 14: one of two bytes
        &[0x0d],                   // length 13: its byte is missing
        &[0x0e, 0x01],             // length 14: one of two bytes
        &[0xdd, 0x00],             // delta ext present, length ext missing
        &[0xee, 0x00, 0x00, 0x00], // length ext cut after one byte
        &[0x03, b'a', b'b'],       // value shorter than its length
        &[0x0d, 0x00, 1, 2, 3],    // 13-byte value, 3 present
        &[0xb1, b'a', 0x03, b'x'], // a second option cut short
    ] {
        assert_eq!(option_error(rest), truncated, "{rest:02x?}");
    }
}

#[test]
fn rfc7252_3_1_option_numbers_past_65535_are_a_format_error_not_a_wrap() {
    // 65,535 exactly is fine; one more is not, whether by a second option or one big delta.
    let m = decode(&get_with(&[0xe0, 0xfe, 0xf2])).unwrap();
    assert_eq!(options_of(&m), [(65535, vec![])]);
    let overflow = Err(FormatError::Option(OptionError::NumberOverflow));
    assert_eq!(option_error(&[0xe0, 0xfe, 0xf2, 0x10]), overflow);
    assert_eq!(option_error(&[0xe0, 0xff, 0xff]), overflow); // 65,535 + 269
    assert_eq!(option_error(&[0xe0, 0xfe, 0xf3]), overflow); // 65,536 would wrap to 0
    assert_eq!(option_error(&[0xb0, 0xe0, 0xfe, 0xf2]), overflow); // 11 + 65,535
    // A repeat (delta 0) of 65,535 is still 65,535.
    let m = decode(&get_with(&[0xe0, 0xfe, 0xf2, 0x00])).unwrap();
    assert_eq!(options_of(&m), [(65535, vec![]), (65535, vec![])]);
}

#[test]
fn rfc7252_3_payload_marker_with_no_payload_is_a_format_error() {
    assert_eq!(
        decode(&get_with(&[0xff])),
        Err(FormatError::EmptyPayloadAfterMarker)
    );
    assert_eq!(
        decode(&get_with(&[0xb1, b'a', 0xff])),
        Err(FormatError::EmptyPayloadAfterMarker)
    );
    // A one-byte payload is a payload, even if that byte is 0xff.
    let m = decode(&get_with(&[0xff, 0xff])).unwrap();
    assert_eq!(&m.payload[..], &[0xff]);
    // The encoder writes no marker for an empty payload.
    assert_eq!(encode(&get(Options::new())), get_with(&[]));
}

#[test]
fn rfc7252_4_1_empty_message_with_token_options_or_payload_does_not_decode() {
    for mtype in 0..4u8 {
        let b0 = 0x40 | (mtype << 4);
        assert!(decode(&[b0, 0x00, 0, 1]).is_ok());
        for bad in [
            &[b0 | 1, 0x00, 0, 1, 0xaa][..], // a token
            &[b0, 0x00, 0, 1, 0xb1, b'a'],   // an option
            &[b0, 0x00, 0, 1, 0xff, b'p'],   // a payload
            &[b0, 0x00, 0, 1, 0xff],         // a bare marker
        ] {
            assert_eq!(
                decode(bad),
                Err(FormatError::EmptyMessageNotEmpty),
                "{bad:02x?}"
            );
        }
        // A token length with no token behind it fails on the token first.
        assert_eq!(
            decode(&[b0 | 1, 0x00, 0, 1]),
            Err(FormatError::TruncatedToken)
        );
    }
}

#[test]
fn rfc7252_4_1_empty_message_with_token_options_or_payload_does_not_encode() {
    let empty = Message::empty(MessageType::Acknowledgement, 7);
    assert_eq!(encode(&empty), [0x60, 0x00, 0, 7]);
    let with_token = Message {
        token: Token::new(&[1]).unwrap(),
        ..empty.clone()
    };
    let with_option = Message {
        options: Options::builder()
            .push(OptionNumber::URI_PATH, "a")
            .build()
            .unwrap(),
        ..empty.clone()
    };
    let with_payload = Message {
        payload: Bytes::from_static(b"p"),
        ..empty.clone()
    };
    for bad in [with_token, with_option, with_payload] {
        // Nothing is written on error, not even the header.
        let mut buf = BytesMut::from(&b"before"[..]);
        assert_eq!(bad.encode(&mut buf), Err(EncodeError::EmptyMessageNotEmpty));
        assert_eq!(&buf[..], b"before");
    }
}

#[test]
fn rfc7252_5_4_5_repeated_non_repeatable_option_is_unrecognized() {
    for &n in OptionNumber::KNOWN {
        let info = n.info().unwrap();
        let value = well_formed_value(n);
        let options = Options::builder()
            .push(n, value.clone())
            .push(n, value.clone())
            .build()
            .unwrap();
        let unrecognized: Vec<_> = options.unrecognized().map(|o| o.number).collect();
        if info.repeatable {
            assert!(unrecognized.is_empty(), "{n}: {unrecognized:?}");
            assert_eq!(options.first_unrecognized_critical(), None, "{n}");
        } else {
            // Each occurrence after the first: the first one still counts.
            assert_eq!(unrecognized, [n], "{n}");
            assert_eq!(
                options.first_unrecognized_critical(),
                n.is_critical().then_some(n),
                "{n}"
            );
            assert_eq!(options.get(n).map(|o| o.value), Some(&value[..]));
        }
    }
}

#[test]
fn rfc7252_5_4_3_value_length_outside_the_registry_range_is_unrecognized() {
    for &n in OptionNumber::KNOWN {
        let info = n.info().unwrap();
        let (min, max) = (usize::from(info.min_len), usize::from(info.max_len));
        let fill = |len: usize| -> Bytes {
            // Valid UTF-8 and a uint without leading zeros, so only the length is at fault.
            Bytes::from(vec![b'1'; len])
        };
        let at = |len: usize| Options::builder().push(n, fill(len)).build().unwrap();
        for len in [min, max] {
            let o = at(len);
            assert!(o.get(n).unwrap().is_well_formed(), "{n} length {len}");
            assert_eq!(o.unrecognized().count(), 0, "{n} length {len}");
        }
        let mut outside = vec![max + 1];
        if min > 0 {
            outside.push(min - 1);
        }
        for len in outside {
            let o = at(len);
            assert!(!o.get(n).unwrap().is_well_formed(), "{n} length {len}");
            assert_eq!(
                o.unrecognized().map(|o| o.number).collect::<Vec<_>>(),
                [n],
                "{n} length {len}"
            );
            assert_eq!(
                o.first_unrecognized_critical(),
                n.is_critical().then_some(n),
                "{n} length {len}"
            );
        }
    }
    // A string option that is not UTF-8 cannot be recognized as one either.
    let o = Options::builder()
        .push(OptionNumber::URI_PATH, vec![0xff, 0xfe])
        .build()
        .unwrap();
    assert_eq!(
        o.first_unrecognized_critical(),
        Some(OptionNumber::URI_PATH)
    );
}

#[test]
fn rfc7252_5_4_1_critical_or_elective_is_the_parity_of_the_number() {
    for n in 0..=u16::MAX {
        let o = OptionNumber(n);
        assert_eq!(o.is_critical(), n % 2 == 1, "{n}");
        assert_eq!(o.is_elective(), n % 2 == 0, "{n}");
    }
    // An unknown critical option is reported; an unknown elective one is only unrecognized.
    let critical = Options::builder()
        .push(OptionNumber(2049), &b"\x01"[..])
        .push(OptionNumber::URI_PATH, "a")
        .build()
        .unwrap();
    assert_eq!(
        critical.first_unrecognized_critical(),
        Some(OptionNumber(2049))
    );
    let elective = Options::builder()
        .push(OptionNumber(2050), &b"\x02"[..])
        .push(OptionNumber::URI_PATH, "a")
        .build()
        .unwrap();
    assert_eq!(elective.first_unrecognized_critical(), None);
    assert_eq!(
        elective
            .unrecognized()
            .map(|o| o.number)
            .collect::<Vec<_>>(),
        [OptionNumber(2050)]
    );
    // The first critical one in number order, past elective ones.
    let both = Options::builder()
        .push(OptionNumber(65001), "")
        .push(OptionNumber(2050), "")
        .push(OptionNumber(2049), "")
        .build()
        .unwrap();
    assert_eq!(both.first_unrecognized_critical(), Some(OptionNumber(2049)));
}

#[test]
fn rfc7252_5_4_6_unsafe_and_no_cache_key_are_bits_of_the_number() {
    for n in 0..=u16::MAX {
        let o = OptionNumber(n);
        assert_eq!(o.is_unsafe(), n & 0x02 != 0, "{n}");
        // NoCacheKey: bits 2-4 all set (0x1c) — which implies safe-to-forward (bit 1 clear).
        assert_eq!(o.is_no_cache_key(), n & 0x1e == 0x1c, "{n}");
        if o.is_no_cache_key() {
            assert!(!o.is_unsafe(), "{n}");
        }
    }
}

/// One row of the option tables: number, name, C, U, N, R (`None` where not checked), format,
/// length range, where the row is.
type Row = (
    u16,
    &'static str,
    bool,
    bool,
    bool,
    Option<bool>,
    ValueFormat,
    u16,
    u16,
    &'static str,
);

const X: bool = true;
const O: bool = false;

/// RFC 7252 §5.10 Table 4, and the same table of each RFC that added an option tern knows.
#[rustfmt::skip]
const TABLE: &[Row] = {
    use ValueFormat::*;
    &[
        (1, "If-Match", X, O, O, Some(X), Opaque, 0, 8, "RFC 7252 §5.10"),
        (3, "Uri-Host", X, X, O, Some(O), String, 1, 255, "RFC 7252 §5.10"),
        (4, "ETag", O, O, O, Some(X), Opaque, 1, 8, "RFC 7252 §5.10"),
        (5, "If-None-Match", X, O, O, Some(O), Empty, 0, 0, "RFC 7252 §5.10"),
        (6, "Observe", O, X, O, Some(O), Uint, 0, 3, "RFC 7641 §2"),
        (7, "Uri-Port", X, X, O, Some(O), Uint, 0, 2, "RFC 7252 §5.10"),
        (8, "Location-Path", O, O, O, Some(X), String, 0, 255, "RFC 7252 §5.10"),
        (9, "OSCORE", X, O, O, Some(O), Opaque, 0, 255, "RFC 8613 §2"),
        (11, "Uri-Path", X, X, O, Some(X), String, 0, 255, "RFC 7252 §5.10"),
        (12, "Content-Format", O, O, O, Some(O), Uint, 0, 2, "RFC 7252 §5.10"),
        (14, "Max-Age", O, X, O, Some(O), Uint, 0, 4, "RFC 7252 §5.10"),
        (15, "Uri-Query", X, X, O, Some(X), String, 0, 255, "RFC 7252 §5.10"),
        (16, "Hop-Limit", O, O, O, Some(O), Uint, 1, 1, "RFC 8768 §3"),
        (17, "Accept", X, O, O, Some(O), Uint, 0, 2, "RFC 7252 §5.10"),
        (19, "Q-Block1", X, X, O, Some(O), Uint, 0, 3, "RFC 9177 §4"),
        (20, "Location-Query", O, O, O, Some(X), String, 0, 255, "RFC 7252 §5.10"),
        (23, "Block2", X, X, O, Some(O), Uint, 0, 3, "RFC 7959 §2.1"),
        (27, "Block1", X, X, O, Some(O), Uint, 0, 3, "RFC 7959 §2.1"),
        (28, "Size2", O, O, X, Some(O), Uint, 0, 4, "RFC 7959 §4"),
        // RFC 9177 §4 lets Q-Block2 repeat when a client asks for missing blocks; whether the
        // registry should say so is the block layer's decision, so it is not pinned here.
        (31, "Q-Block2", X, X, O, None, Uint, 0, 3, "RFC 9177 §4"),
        (35, "Proxy-Uri", X, X, O, Some(O), String, 1, 1034, "RFC 7252 §5.10"),
        (39, "Proxy-Scheme", X, X, O, Some(O), String, 1, 255, "RFC 7252 §5.10"),
        (60, "Size1", O, O, X, Some(O), Uint, 0, 4, "RFC 7252 §5.10"),
        (252, "Echo", O, O, X, Some(O), Opaque, 1, 40, "RFC 9175 §2.2.1"),
        (258, "No-Response", O, X, O, Some(O), Uint, 0, 1, "RFC 7967 §2"),
        (292, "Request-Tag", O, O, O, Some(X), Opaque, 0, 8, "RFC 9175 §3.2.1"),
    ]
};

#[test]
fn rfc7252_5_10_every_registry_option_has_the_properties_of_its_table() {
    let numbers: Vec<u16> = TABLE.iter().map(|r| r.0).collect();
    let known: Vec<u16> = OptionNumber::KNOWN.iter().map(|n| n.get()).collect();
    assert_eq!(
        known, numbers,
        "the registry and the tables list the same options"
    );
    for &(n, name, c, u, nck, r, format, min, max, table) in TABLE {
        let o = OptionNumber(n);
        let info = o.info().unwrap();
        assert_eq!(info.name, name, "{table}");
        assert_eq!(o.is_critical(), c, "{name}: C, {table}");
        assert_eq!(o.is_unsafe(), u, "{name}: U, {table}");
        assert_eq!(o.is_no_cache_key(), nck, "{name}: N, {table}");
        if let Some(r) = r {
            assert_eq!(info.repeatable, r, "{name}: R, {table}");
        }
        assert_eq!(info.format, format, "{name}: format, {table}");
        assert_eq!(
            (info.min_len, info.max_len),
            (min, max),
            "{name}: length, {table}"
        );
    }
}

#[test]
fn rfc7252_3_2_uint_with_leading_zeros_is_accepted() {
    // Content-Format 40 as 00 28, Max-Age 30 as 00 00 00 1e, Uri-Port 0 as a single 00.
    let wire = get_with(&[0x71, 0x00, 0x52, 0x00, 0x28, 0x24, 0x00, 0x00, 0x00, 0x1e]);
    let m = decode(&wire).unwrap();
    assert_eq!(m.options.get_uint(OptionNumber::URI_PORT), Some(0));
    assert_eq!(m.options.get_uint(OptionNumber::CONTENT_FORMAT), Some(40));
    assert_eq!(m.options.get_uint(OptionNumber::MAX_AGE), Some(30));
    assert_eq!(m.options.unrecognized().count(), 0);
    // Kept as received; the builder writes the shortest form.
    assert_eq!(encode(&m), wire);
    let built = Options::builder()
        .push_uint(OptionNumber::URI_PORT, 0)
        .push_uint(OptionNumber::CONTENT_FORMAT, 40)
        .push_uint(OptionNumber::MAX_AGE, 30)
        .build()
        .unwrap();
    assert_eq!(&built.as_bytes()[..], &[0x70, 0x51, 0x28, 0x21, 0x1e]);
    // More than four bytes is not a uint.
    let o = Options::builder()
        .push(OptionNumber(2050), vec![0u8, 0, 0, 0, 1])
        .build()
        .unwrap();
    assert_eq!(o.get_uint(OptionNumber(2050)), None);
}

#[test]
fn rfc7252_3_1_options_are_written_in_number_order_whatever_order_they_were_added() {
    let adds: [(u16, &str); 6] = [
        (60, "size1"),
        (11, "a"),
        (3, "host"),
        (11, "b"),
        (2049, "x"),
        (11, "c"),
    ];
    // Every rotation and the reverse of each: the numbers come out sorted, and repeats keep
    // the order they were added in (Uri-Path a/b/c is a path, order matters).
    for start in 0..adds.len() {
        for reverse in [false, true] {
            let mut order: Vec<_> = adds.iter().cycle().skip(start).take(adds.len()).collect();
            if reverse {
                order.reverse();
            }
            let options = order
                .iter()
                .fold(Options::builder(), |b, (n, v)| b.push(OptionNumber(*n), *v))
                .build()
                .unwrap();
            let got: Vec<(u16, String)> = options
                .iter()
                .map(|o| (o.number.get(), o.as_str().unwrap().to_owned()))
                .collect();
            let mut want: Vec<(u16, String)> =
                order.iter().map(|(n, v)| (*n, v.to_string())).collect();
            want.sort_by_key(|(n, _)| *n);
            assert_eq!(got, want, "added as {order:?}");
            let numbers: Vec<u16> = got.iter().map(|(n, _)| *n).collect();
            assert!(numbers.is_sorted());
            // And the decoder reads back exactly what was written.
            let m = get(options);
            assert_eq!(decode(&encode(&m)).unwrap(), m);
        }
    }
}

/// A value of the registry's format and shortest allowed length (Hop-Limit: one byte).
fn well_formed_value(n: OptionNumber) -> Bytes {
    let info = n.info().unwrap();
    let len = usize::from(info.min_len.max(1).min(info.max_len));
    match info.format {
        ValueFormat::Empty => Bytes::new(),
        ValueFormat::String => Bytes::from(vec![b'a'; len]),
        ValueFormat::Opaque | ValueFormat::Uint => Bytes::from(vec![1u8; len]),
    }
}
