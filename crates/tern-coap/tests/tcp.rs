//! CoAP over TCP and WebSockets (RFC 8323): one test per framing and signaling rule, named by
//! section, and property tests for streaming and round trips.

use bytes::{Bytes, BytesMut};
use proptest::prelude::*;
use tern_coap::message::{Code, Token};
use tern_coap::option::{OptionError, OptionNumber, Options};
use tern_coap::tcp::{
    DEFAULT_MAX_MESSAGE_SIZE, Decoded, Signal, SignalEncodeError, SignalError, TcpCodec, TcpError,
    TcpMessage, signal_option,
};

fn decode_all(bytes: &[u8]) -> Result<Decoded, TcpError> {
    TcpCodec::new(1 << 20).decode(&mut BytesMut::from(bytes))
}

fn message(bytes: &[u8]) -> TcpMessage {
    match decode_all(bytes) {
        Ok(Decoded::Message(m)) => m,
        other => panic!("expected a message from {bytes:02x?}, got {other:?}"),
    }
}

fn encode(m: &TcpMessage) -> BytesMut {
    let mut buf = BytesMut::new();
    m.encode(&mut buf).unwrap();
    assert_eq!(buf.len(), m.encoded_len());
    buf
}

/// A 2.05 whose body (options + marker + payload) is `body` bytes: a marker and `body - 1`
/// payload bytes.
fn with_body(body: usize) -> TcpMessage {
    let mut m = TcpMessage::new(Code::CONTENT, Token::EMPTY);
    m.payload = Bytes::from(vec![0x5a; body - 1]);
    m
}

fn incomplete(needed: usize) -> Decoded {
    Decoded::Incomplete {
        needed: std::num::NonZeroUsize::new(needed),
    }
}

// ---- §3.2 the message format ----

#[test]
fn rfc8323_3_2_shortest_frames_are_two_bytes() {
    // RFC 8323 gives no byte-level examples; these are the smallest messages it allows:
    // Len 0, TKL 0, then the code.
    assert_eq!(
        message(&[0x00, 0xe1]),
        TcpMessage::new(Code::CSM, Token::EMPTY)
    );
    assert_eq!(
        message(&[0x00, 0xe2]),
        TcpMessage::new(Code::PING, Token::EMPTY)
    );
    // An Empty message (0.00) is a valid frame; its recipient ignores it (RFC 8323 §3.3).
    assert_eq!(message(&[0x00, 0x00]).code, Code::EMPTY);
    assert_eq!(
        &encode(&TcpMessage::new(Code::PONG, Token::EMPTY))[..],
        [0x00, 0xe3]
    );
}

#[test]
fn rfc8323_3_2_len_counts_options_marker_and_payload_not_the_token() {
    // GET, token 0x01 0x02, Uri-Path "ab" (0xb2 'a' 'b'), payload "x".
    let wire = [0x52, 0x01, 0x01, 0x02, 0xb2, b'a', b'b', 0xff, b'x'];
    let m = message(&wire);
    assert_eq!(m.code, Code::GET);
    assert_eq!(m.token.as_bytes(), [1, 2]);
    assert_eq!(
        m.options.get(OptionNumber::URI_PATH).unwrap().as_str(),
        Some("ab")
    );
    assert_eq!(&m.payload[..], b"x");
    assert_eq!(&encode(&m)[..], wire);
}

#[test]
fn rfc8323_3_2_each_len_form_at_its_boundaries() {
    // (body length, expected header bytes: first byte and Extended Length)
    let cases: [(usize, &[u8]); 6] = [
        (12, &[0xc0]),
        (13, &[0xd0, 0x00]),
        (268, &[0xd0, 0xff]),
        (269, &[0xe0, 0x00, 0x00]),
        (65_804, &[0xe0, 0xff, 0xff]),
        (65_805, &[0xf0, 0x00, 0x00, 0x00, 0x00]),
    ];
    for (body, head) in cases {
        let m = with_body(body);
        let wire = encode(&m);
        assert_eq!(&wire[..head.len()], head, "header for body {body}");
        assert_eq!(wire.len(), head.len() + 1 + body, "length for body {body}");
        assert_eq!(wire[head.len()], Code::CONTENT.0);
        assert_eq!(message(&wire), m, "round trip for body {body}");
        // The WebSocket framing never has an Extended Length.
        let mut ws = BytesMut::new();
        m.encode_ws(&mut ws);
        assert_eq!(ws.len(), m.ws_encoded_len());
        assert_eq!(ws.len(), 2 + body);
        assert_eq!(TcpMessage::decode_ws(ws.freeze()).unwrap(), m);
    }
}

#[test]
fn rfc8323_3_2_extended_length_offsets_13_269_65805() {
    // Len 13 + 0x01 = 14 bytes of body; Len 14 + 0x0001 = 270; Len 15 + 1 = 65,806.
    let mut wire = vec![0xd0, 0x01, 0x45, 0xff];
    wire.extend_from_slice(&[0; 13]);
    assert_eq!(message(&wire).payload.len(), 13);
    let mut wire = vec![0xe0, 0x00, 0x01, 0x45, 0xff];
    wire.extend_from_slice(&[0; 269]);
    assert_eq!(message(&wire).payload.len(), 269);
    let mut wire = vec![0xf0, 0x00, 0x00, 0x00, 0x01, 0x45, 0xff];
    wire.extend_from_slice(&[0; 65_805]);
    assert_eq!(message(&wire).payload.len(), 65_805);
}

#[test]
fn rfc8323_3_2_token_length_9_to_15_is_a_format_error() {
    for tkl in 9..=15u8 {
        // Refused from the first byte alone, over TCP and WebSockets.
        let mut buf = BytesMut::from(&[tkl][..]);
        assert_eq!(
            TcpCodec::default().decode(&mut buf),
            Err(TcpError::TokenLengthReserved(tkl))
        );
        assert_eq!(buf.len(), 1, "nothing consumed");
        let mut frame = vec![tkl, 0x01];
        frame.extend_from_slice(&[0; 15]);
        assert_eq!(decode_all(&frame), Err(TcpError::TokenLengthReserved(tkl)));
        assert_eq!(
            TcpMessage::decode_ws(Bytes::from(frame)),
            Err(TcpError::TokenLengthReserved(tkl))
        );
    }
    // 8 is the largest allowed.
    let m = message(&[0x08, 0x01, 1, 2, 3, 4, 5, 6, 7, 8]);
    assert_eq!(m.token.len(), 8);
}

#[test]
fn rfc8323_3_2_payload_marker_without_payload_is_a_format_error() {
    let mut buf = BytesMut::from(&[0x10, 0x45, 0xff, 0x00, 0xe2][..]);
    assert_eq!(
        TcpCodec::default().decode(&mut buf),
        Err(TcpError::EmptyPayloadAfterMarker)
    );
    assert_eq!(buf.len(), 5, "nothing consumed");
    assert_eq!(
        TcpMessage::decode_ws(Bytes::from_static(&[0x00, 0x45, 0xff])),
        Err(TcpError::EmptyPayloadAfterMarker)
    );
}

#[test]
fn rfc8323_3_2_options_are_validated_within_the_frame() {
    // Option delta 15 that is not the marker.
    assert_eq!(
        decode_all(&[0x10, 0x45, 0xf0]),
        Err(TcpError::Option(OptionError::ReservedDelta))
    );
    // An option announcing 2 bytes of value in a 1-byte body: the Ping that follows is not
    // part of this message, so the option is truncated.
    let mut buf = BytesMut::from(&[0x10, 0x45, 0x02, 0x00, 0xe2][..]);
    assert_eq!(
        TcpCodec::default().decode(&mut buf),
        Err(TcpError::Option(OptionError::Truncated))
    );
    assert_eq!(buf.len(), 5, "nothing consumed");
}

#[test]
fn rfc8323_3_2_incomplete_input_says_exactly_how_much_is_missing() {
    let codec = TcpCodec::default();
    let wire = encode(&with_body(300)); // Len 14: 3 header bytes, code, 300 body bytes
    assert_eq!(wire.len(), 304);
    for have in 0..wire.len() {
        let mut buf = BytesMut::from(&wire[..have]);
        let expected = if have < 3 {
            Decoded::Incomplete { needed: None }
        } else {
            incomplete(304 - have)
        };
        assert_eq!(codec.decode(&mut buf), Ok(expected), "with {have} bytes");
        assert_eq!(buf.len(), have, "nothing consumed with {have} bytes");
    }
    // A header with Len <= 12 is whole from the first byte.
    let mut buf = BytesMut::from(&[0x31][..]);
    assert_eq!(codec.decode(&mut buf), Ok(incomplete(5)));
}

#[test]
fn rfc8323_3_2_decode_leaves_the_next_message_in_the_buffer() {
    let mut buf = BytesMut::from(&[0x00, 0xe1, 0x00, 0xe2, 0x00][..]);
    let codec = TcpCodec::default();
    assert_eq!(
        codec.decode(&mut buf),
        Ok(Decoded::Message(TcpMessage::new(Code::CSM, Token::EMPTY)))
    );
    assert_eq!(
        codec.decode(&mut buf),
        Ok(Decoded::Message(TcpMessage::new(Code::PING, Token::EMPTY)))
    );
    assert_eq!(codec.decode(&mut buf), Ok(incomplete(1)));
    assert_eq!(&buf[..], [0x00]);
}

#[test]
fn rfc8323_3_2_decode_copies_nothing() {
    let wire = encode(&with_body(500));
    let mut buf = BytesMut::from(&wire[..]);
    let range = buf.as_ptr() as usize..buf.as_ptr() as usize + buf.len();
    let Ok(Decoded::Message(m)) = TcpCodec::default().decode(&mut buf) else {
        panic!("expected a message")
    };
    assert!(range.contains(&(m.payload.as_ptr() as usize)));
}

// ---- §5.3.1 Max-Message-Size: the size limit, checked from the header ----

#[test]
fn rfc8323_5_3_1_default_max_message_size_is_1152() {
    assert_eq!(DEFAULT_MAX_MESSAGE_SIZE, 1152);
    assert_eq!(TcpCodec::default().max_message_size(), 1152);
    // 1152 bytes in all: 3 header bytes + code + 1148 body.
    let at_limit = encode(&with_body(1148));
    assert_eq!(at_limit.len(), 1152);
    assert!(matches!(
        TcpCodec::default().decode(&mut at_limit.clone()),
        Ok(Decoded::Message(_))
    ));
    let over = encode(&with_body(1149));
    assert_eq!(
        TcpCodec::default().decode(&mut over.clone()),
        Err(TcpError::TooLarge {
            size: 1153,
            max: 1152
        })
    );
}

#[test]
fn rfc8323_5_3_1_oversize_is_refused_from_the_header_alone() {
    let codec = TcpCodec::new(100);
    // Only the 3 header bytes of a 1,004-byte message have arrived.
    let wire = encode(&with_body(1000));
    let mut buf = BytesMut::from(&wire[..3]);
    assert_eq!(
        codec.decode(&mut buf),
        Err(TcpError::TooLarge {
            size: 1004,
            max: 100
        })
    );
    assert_eq!(buf.len(), 3, "nothing consumed");
    // The largest header Len 15 can express, with a token: 1 + 4 + 1 + 8 + 65,805 + 2^32 - 1.
    let mut buf = BytesMut::from(&[0xf8, 0xff, 0xff, 0xff, 0xff][..]);
    assert_eq!(
        TcpCodec::new(usize::MAX).decode(&mut buf.clone()),
        Ok(incomplete(
            usize::try_from(14 + 65_805 + u64::from(u32::MAX) - 5).unwrap()
        ))
    );
    assert_eq!(
        TcpCodec::default().decode(&mut buf),
        Err(TcpError::TooLarge {
            size: 14 + 65_805 + u64::from(u32::MAX),
            max: 1152
        })
    );
    // The partial Extended Length is not enough to judge.
    let mut buf = BytesMut::from(&[0xf0, 0xff, 0xff][..]);
    assert_eq!(
        codec.decode(&mut buf),
        Ok(Decoded::Incomplete { needed: None })
    );
}

#[test]
fn rfc8323_5_6_errors_are_answered_with_an_abort() {
    let e = TcpError::TooLarge {
        size: 5000,
        max: 1152,
    };
    let abort = e.abort();
    assert_eq!(abort.code, Code::ABORT);
    assert_eq!(
        Signal::from_message(&abort),
        Ok(Signal::Abort {
            bad_csm_option: None
        })
    );
    assert_eq!(abort.payload, Bytes::from(e.to_string()));
    assert!(e.to_string().contains("RFC 8323 §5.3.1"));
}

// ---- §4.2 WebSocket framing ----

#[test]
fn rfc8323_4_2_websocket_message_has_len_0_and_no_extended_length() {
    let mut m = TcpMessage::new(Code::POST, Token::new(&[9, 9]).unwrap());
    m.options = Options::builder()
        .push(OptionNumber::URI_PATH, "a")
        .build()
        .unwrap();
    m.payload = Bytes::from(vec![1; 400]);
    let mut frame = BytesMut::new();
    m.encode_ws(&mut frame);
    assert_eq!(frame[0], 0x02); // Len 0, TKL 2
    assert_eq!(frame[1], Code::POST.0);
    assert_eq!(TcpMessage::decode_ws(frame.freeze()).unwrap(), m);
}

#[test]
fn rfc8323_4_2_websocket_len_other_than_0_is_refused() {
    for len in 1..=15u8 {
        assert_eq!(
            TcpMessage::decode_ws(Bytes::from(vec![len << 4, 0x45, 0xff, 1])),
            Err(TcpError::WsLengthNotZero(len))
        );
    }
}

#[test]
fn rfc8323_4_2_websocket_message_cut_short() {
    for frame in [&[][..], &[0x00], &[0x02, 0x45, 0x01]] {
        assert_eq!(
            TcpMessage::decode_ws(Bytes::copy_from_slice(frame)),
            Err(TcpError::Truncated),
            "{frame:02x?}"
        );
    }
}

// ---- §5 signaling ----

fn signal_message(code: Code, options: Options) -> TcpMessage {
    let mut m = TcpMessage::new(code, Token::EMPTY);
    m.options = options;
    m
}

#[test]
fn rfc8323_5_signals_round_trip() {
    let signals = [
        Signal::Csm {
            max_message_size: None,
            block_wise_transfer: false,
        },
        Signal::Csm {
            max_message_size: Some(0),
            block_wise_transfer: true,
        },
        Signal::Csm {
            max_message_size: Some(u32::MAX),
            block_wise_transfer: false,
        },
        Signal::Ping { custody: false },
        Signal::Ping { custody: true },
        Signal::Pong { custody: true },
        Signal::Release {
            alternative_addresses: vec![],
            hold_off: None,
        },
        Signal::Release {
            alternative_addresses: vec!["coap+tcp://backup.example".into(), "x".repeat(255)],
            hold_off: Some(0x00ff_ffff),
        },
        Signal::Abort {
            bad_csm_option: None,
        },
        Signal::Abort {
            bad_csm_option: Some(u16::MAX),
        },
    ];
    let token = Token::new(&[0xca, 0xfe]).unwrap();
    for s in signals {
        let m = s.to_message(token).unwrap();
        assert_eq!(m.code, s.code());
        assert_eq!(m.token, token);
        let back = message(&encode(&m));
        assert_eq!(Signal::from_message(&back), Ok(s.clone()), "{s:?}");
        let mut ws = BytesMut::new();
        m.encode_ws(&mut ws);
        let back = TcpMessage::decode_ws(ws.freeze()).unwrap();
        assert_eq!(Signal::from_message(&back), Ok(s));
    }
}

#[test]
fn rfc8323_5_3_csm_bytes() {
    // Max-Message-Size (2) = 1152 = 0x0480 in two bytes; Block-Wise-Transfer (4), delta 2.
    let csm = Signal::Csm {
        max_message_size: Some(1152),
        block_wise_transfer: true,
    };
    let wire = encode(&csm.to_message(Token::EMPTY).unwrap());
    assert_eq!(&wire[..], [0x40, 0xe1, 0x22, 0x04, 0x80, 0x20]);
    // A uint with leading zeros is read too.
    let m = message(&[0x50, 0xe1, 0x24, 0x00, 0x00, 0x04, 0x80]);
    assert_eq!(
        Signal::from_message(&m),
        Ok(Signal::Csm {
            max_message_size: Some(1152),
            block_wise_transfer: false
        })
    );
}

#[test]
fn rfc8323_5_2_option_numbers_are_code_specific() {
    // Option 2 is Max-Message-Size in a CSM, Custody in a Ping, Alternative-Address in a
    // Release and Bad-CSM-Option in an Abort.
    assert_eq!(
        signal_option::name(Code::CSM, OptionNumber(2)),
        Some("Max-Message-Size")
    );
    assert_eq!(
        signal_option::name(Code::PONG, OptionNumber(2)),
        Some("Custody")
    );
    assert_eq!(
        signal_option::name(Code::RELEASE, OptionNumber(2)),
        Some("Alternative-Address")
    );
    assert_eq!(
        signal_option::name(Code::ABORT, OptionNumber(2)),
        Some("Bad-CSM-Option")
    );
    assert_eq!(signal_option::name(Code::PING, OptionNumber(4)), None);
    // The same bytes: option 2 with a 2-byte value. A Ping's Custody must be empty, so there
    // it is malformed and, being elective, ignored.
    let opts = Options::builder()
        .push(OptionNumber(2), &[0x04, 0x80][..])
        .build()
        .unwrap();
    assert_eq!(
        Signal::from_message(&signal_message(Code::CSM, opts.clone())),
        Ok(Signal::Csm {
            max_message_size: Some(1152),
            block_wise_transfer: false
        })
    );
    assert_eq!(
        Signal::from_message(&signal_message(Code::PING, opts.clone())),
        Ok(Signal::Ping { custody: false })
    );
    assert_eq!(
        Signal::from_message(&signal_message(Code::ABORT, opts)),
        Ok(Signal::Abort {
            bad_csm_option: Some(1152)
        })
    );
}

#[test]
fn rfc8323_5_3_unknown_critical_option_makes_a_csm_invalid() {
    for number in [1u16, 3, 9, 65_535] {
        let opts = Options::builder()
            .push_uint(OptionNumber(2), 4096)
            .push_empty(OptionNumber(number))
            .build()
            .unwrap();
        let err = Signal::from_message(&signal_message(Code::CSM, opts)).unwrap_err();
        assert_eq!(
            err,
            SignalError::UnknownCriticalOption {
                code: Code::CSM,
                number: OptionNumber(number)
            }
        );
        // Answered with Abort carrying Bad-CSM-Option (RFC 8323 §5.6).
        assert_eq!(
            err.answer(),
            Some(Signal::Abort {
                bad_csm_option: Some(number)
            })
        );
    }
}

#[test]
fn rfc8323_5_3_unknown_elective_options_are_ignored() {
    let opts = Options::builder()
        .push_uint(OptionNumber(2), 4096)
        .push(OptionNumber(6), &b"future"[..])
        .push_empty(OptionNumber(65_534))
        .build()
        .unwrap();
    assert_eq!(
        Signal::from_message(&signal_message(Code::CSM, opts.clone())),
        Ok(Signal::Csm {
            max_message_size: Some(4096),
            block_wise_transfer: false
        })
    );
    // In a Release, option 2 is Alternative-Address; 6 and 65,534 are unknown there too.
    let opts = Options::builder()
        .push(OptionNumber(6), &b"future"[..])
        .push_empty(OptionNumber(65_534))
        .build()
        .unwrap();
    assert_eq!(
        Signal::from_message(&signal_message(Code::RELEASE, opts.clone())),
        Ok(Signal::Release {
            alternative_addresses: vec![],
            hold_off: None
        })
    );
    assert_eq!(
        Signal::from_message(&signal_message(Code::PONG, opts)),
        Ok(Signal::Pong { custody: false })
    );
}

#[test]
fn rfc8323_5_6_malformed_csm_option_is_a_bad_csm_option() {
    // Max-Message-Size of 5 bytes; Block-Wise-Transfer with a value.
    for (number, value) in [(2u16, &[1u8, 2, 3, 4, 5][..]), (4, &[1][..])] {
        let opts = Options::builder()
            .push(OptionNumber(number), value)
            .build()
            .unwrap();
        let err = Signal::from_message(&signal_message(Code::CSM, opts)).unwrap_err();
        assert_eq!(
            err,
            SignalError::InvalidOption {
                code: Code::CSM,
                number: OptionNumber(number)
            }
        );
        assert_eq!(
            err.answer(),
            Some(Signal::Abort {
                bad_csm_option: Some(number)
            })
        );
        assert!(err.to_string().contains("RFC 8323"));
    }
}

#[test]
fn rfc8323_5_4_unknown_critical_option_in_other_signals_rejects_the_message() {
    for code in [Code::PING, Code::PONG, Code::RELEASE, Code::ABORT] {
        let opts = Options::builder()
            .push_empty(OptionNumber(5))
            .build()
            .unwrap();
        let err = Signal::from_message(&signal_message(code, opts)).unwrap_err();
        assert_eq!(
            err,
            SignalError::UnknownCriticalOption {
                code,
                number: OptionNumber(5)
            }
        );
        // Rejected, which over a reliable transport means ignored: no Abort.
        assert_eq!(err.answer(), None);
    }
}

#[test]
fn rfc8323_5_5_release_ignores_malformed_elective_options() {
    // An empty Alternative-Address, one that is not UTF-8, a good one; a 4-byte Hold-Off.
    let opts = Options::builder()
        .push(signal_option::ALTERNATIVE_ADDRESS, Bytes::new())
        .push(signal_option::ALTERNATIVE_ADDRESS, &[0xff, 0xfe][..])
        .push(signal_option::ALTERNATIVE_ADDRESS, "coap://a")
        .push(signal_option::HOLD_OFF, &[0, 0, 0, 1][..])
        .build()
        .unwrap();
    assert_eq!(
        Signal::from_message(&signal_message(Code::RELEASE, opts)),
        Ok(Signal::Release {
            alternative_addresses: vec!["coap://a".into()],
            hold_off: None
        })
    );
}

#[test]
fn rfc7252_5_4_5_repeated_non_repeatable_signal_option_first_counts() {
    let opts = Options::builder()
        .push_uint(signal_option::MAX_MESSAGE_SIZE, 2048)
        .push_uint(signal_option::MAX_MESSAGE_SIZE, 4096)
        .build()
        .unwrap();
    assert_eq!(
        Signal::from_message(&signal_message(Code::CSM, opts)),
        Ok(Signal::Csm {
            max_message_size: Some(2048),
            block_wise_transfer: false
        })
    );
}

#[test]
fn rfc8323_5_1_only_7_01_to_7_05_are_signals() {
    let get = TcpMessage::new(Code::GET, Token::EMPTY);
    assert_eq!(
        Signal::from_message(&get),
        Err(SignalError::NotSignaling(Code::GET))
    );
    for detail in [0u8, 6, 31] {
        let code = Code::new(7, detail).unwrap();
        let err = Signal::from_message(&TcpMessage::new(code, Token::EMPTY)).unwrap_err();
        assert_eq!(err, SignalError::UnknownCode(code));
        assert_eq!(err.answer(), None);
    }
}

#[test]
fn rfc8323_5_5_out_of_range_values_are_not_encoded() {
    let long = Signal::Release {
        alternative_addresses: vec!["x".repeat(256)],
        hold_off: None,
    };
    assert_eq!(
        long.to_message(Token::EMPTY),
        Err(SignalEncodeError::AlternativeAddressLength(256))
    );
    let empty = Signal::Release {
        alternative_addresses: vec![String::new()],
        hold_off: None,
    };
    assert_eq!(
        empty.to_message(Token::EMPTY),
        Err(SignalEncodeError::AlternativeAddressLength(0))
    );
    let hold = Signal::Release {
        alternative_addresses: vec![],
        hold_off: Some(1 << 24),
    };
    assert_eq!(
        hold.to_message(Token::EMPTY),
        Err(SignalEncodeError::HoldOffTooLarge(1 << 24))
    );
}

#[test]
fn rfc8323_5_diagnostic_payload_stays_on_the_message() {
    let mut m = Signal::Abort {
        bad_csm_option: Some(9),
    }
    .to_message(Token::EMPTY)
    .unwrap();
    m.payload = Bytes::from_static(b"unknown option 9");
    let back = message(&encode(&m));
    assert_eq!(&back.payload[..], b"unknown option 9");
    assert_eq!(
        Signal::from_message(&back),
        Ok(Signal::Abort {
            bad_csm_option: Some(9)
        })
    );
}

// ---- properties ----

fn arb_message() -> impl Strategy<Value = TcpMessage> {
    let number = prop_oneof![4 => 0u16..40, 1 => any::<u16>()];
    let value = prop_oneof![
        4 => prop::collection::vec(any::<u8>(), 0..16),
        1 => prop::collection::vec(any::<u8>(), 0..300),
    ];
    let payload = prop_oneof![
        2 => prop::collection::vec(any::<u8>(), 0..16),
        1 => prop::collection::vec(any::<u8>(), 0..700),
    ];
    (
        any::<u8>(),
        prop::collection::vec(any::<u8>(), 0..=8),
        prop::collection::vec((number, value), 0..6),
        payload,
    )
        .prop_map(|(code, token, options, payload)| {
            let options = options
                .into_iter()
                .fold(Options::builder(), |b, (n, v)| b.push(OptionNumber(n), v))
                .build()
                .unwrap();
            TcpMessage {
                code: Code(code),
                token: Token::new(&token).unwrap(),
                options,
                payload: Bytes::from(payload),
            }
        })
}

/// Header size (first byte + Extended Length) of an encoded frame.
fn header_len(frame: &[u8]) -> usize {
    1 + match frame[0] >> 4 {
        13 => 1,
        14 => 2,
        15 => 4,
        _ => 0,
    }
}

proptest! {
    #[test]
    fn rfc8323_3_2_round_trip_of_arbitrary_messages(m in arb_message()) {
        let wire = encode(&m);
        let mut buf = wire.clone();
        let codec = TcpCodec::new(1 << 20);
        prop_assert_eq!(codec.decode(&mut buf), Ok(Decoded::Message(m.clone())));
        prop_assert!(buf.is_empty());

        let mut ws = BytesMut::new();
        m.encode_ws(&mut ws);
        prop_assert_eq!(ws.len(), m.ws_encoded_len());
        prop_assert_eq!(TcpMessage::decode_ws(ws.freeze()), Ok(m));
    }

    #[test]
    fn rfc8323_3_2_streaming_in_arbitrary_chunks(
        messages in prop::collection::vec(arb_message(), 1..5),
        chunks in prop::collection::vec(1usize..64, 1..200),
    ) {
        let frames: Vec<BytesMut> = messages.iter().map(encode).collect();
        let stream: Vec<u8> = frames.iter().flat_map(|f| f.iter().copied()).collect();
        let codec = TcpCodec::new(1 << 20);
        let mut buf = BytesMut::new();
        let mut got = Vec::new();
        let mut pos = 0;
        let mut sizes = chunks.iter().cycle();
        while pos < stream.len() {
            let n = (*sizes.next().unwrap()).min(stream.len() - pos);
            buf.extend_from_slice(&stream[pos..pos + n]);
            pos += n;
            loop {
                let before = buf.len();
                match codec.decode(&mut buf).unwrap() {
                    Decoded::Message(m) => got.push(m),
                    Decoded::Incomplete { needed } => {
                        prop_assert_eq!(buf.len(), before, "consumed on Incomplete");
                        let Some(frame) = frames.get(got.len()) else {
                            prop_assert!(buf.is_empty() && needed.is_none());
                            break;
                        };
                        match needed {
                            Some(n) => prop_assert_eq!(n.get(), frame.len() - buf.len()),
                            None => prop_assert!(buf.len() < header_len(frame)),
                        }
                        break;
                    }
                }
            }
        }
        prop_assert!(buf.is_empty());
        prop_assert_eq!(got, messages);
    }

    #[test]
    fn rfc8323_3_2_arbitrary_bytes_decode_or_fail_and_reencode_exactly(
        bytes in prop::collection::vec(any::<u8>(), 0..64),
    ) {
        // Never a panic; a decoded message re-encodes to exactly the bytes it consumed
        // (each body length has one Len form, and options are kept as received).
        let mut buf = BytesMut::from(&bytes[..]);
        match TcpCodec::new(1 << 20).decode(&mut buf) {
            Ok(Decoded::Message(m)) => {
                let consumed = bytes.len() - buf.len();
                prop_assert_eq!(&encode(&m)[..], &bytes[..consumed]);
            }
            Ok(Decoded::Incomplete { .. }) | Err(_) => prop_assert_eq!(buf.len(), bytes.len()),
        }
        if let Ok(m) = TcpMessage::decode_ws(Bytes::from(bytes.clone())) {
            let mut ws = BytesMut::new();
            m.encode_ws(&mut ws);
            prop_assert_eq!(&ws[..], &bytes[..]);
        }
    }

    #[test]
    fn rfc8323_5_signals_from_arbitrary_signaling_messages_never_panic(
        detail in 0u8..8,
        options in prop::collection::vec((0u16..12, prop::collection::vec(any::<u8>(), 0..6)), 0..5),
    ) {
        let options = options
            .into_iter()
            .fold(Options::builder(), |b, (n, v)| b.push(OptionNumber(n), v))
            .build()
            .unwrap();
        let m = signal_message(Code::new(7, detail).unwrap(), options);
        if let Ok(s) = Signal::from_message(&m) {
            // What was understood survives a round trip.
            let again = s.to_message(Token::EMPTY).unwrap();
            prop_assert_eq!(Signal::from_message(&again), Ok(s));
        }
    }
}
