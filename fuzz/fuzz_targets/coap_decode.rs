//! Raw bytes through the CoAP decoders: one UDP datagram, a TCP stream delivered in arbitrary
//! chunks, or one WebSocket message.
//!
//! Input layout (so that seeds can be written by hand, see `fuzz/README.md`):
//!
//! - byte 0, the selector: 0 = UDP, 1 = TCP, 2 = WebSocket (taken modulo 3).
//! - UDP and WebSocket: the rest is the datagram or the WebSocket message.
//! - TCP: byte 1 picks the codec's size limit (0 = the default 1,152 bytes, 255 = no limit,
//!   k = k * 8 bytes); the low four bits of byte 2 are the number n of chunk-size bytes that
//!   follow; then n chunk sizes (0 is allowed: decode again with nothing new); the rest is the
//!   stream, and whatever the chunk sizes do not cover arrives as one last chunk.
//!
//! Checks: no decoder panics; `TcpCodec::decode` consumes nothing on `Incomplete` or an error,
//! says `needed: None` only inside the header (first byte and Extended Length), and when it
//! gives a count the message completes exactly there; no message passes the limit; every
//! decoded message re-encodes to `encoded_len()` bytes that decode back equal, and those bytes
//! are the input's (each option sequence, Len and Extended Length has one encoding); iterating
//! the options rebuilds them byte for byte; `unrecognized()`, the typed getters of `value.rs`
//! and `Signal::from_message` never panic, and a signal read from a message writes back to
//! one that reads the same.
#![no_main]

use bytes::{Bytes, BytesMut};
use libfuzzer_sys::fuzz_target;
use tern_coap::tcp::{
    DEFAULT_MAX_MESSAGE_SIZE, Decoded, Signal, TcpCodec, TcpMessage,
};
use tern_coap::{Message, Options};

fuzz_target!(|data: &[u8]| {
    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    match selector % 3 {
        0 => udp(rest),
        1 => tcp(rest),
        _ => websocket(rest),
    }
});

fn udp(datagram: &[u8]) {
    let msg = match Message::decode(Bytes::copy_from_slice(datagram)) {
        Ok(msg) => msg,
        Err(e) => {
            let _ = (e.to_string(), e.silently_ignore());
            return;
        }
    };
    check_options(&msg.options, false);
    let mut out = BytesMut::new();
    msg.encode(&mut out)
        .unwrap_or_else(|e| panic!("decoded message does not re-encode: {e}: {msg:?}"));
    assert_eq!(out.len(), msg.encoded_len(), "encoded_len is wrong");
    assert_eq!(&out[..], datagram, "re-encoding changed the bytes of {msg:?}");
    let back = Message::decode(out.freeze())
        .unwrap_or_else(|e| panic!("re-encoded message does not decode: {e}: {msg:?}"));
    assert_eq!(back, msg, "re-encoded message decodes differently");
}

fn websocket(frame: &[u8]) {
    let msg = match TcpMessage::decode_ws(Bytes::copy_from_slice(frame)) {
        Ok(msg) => msg,
        Err(e) => {
            let _ = (e.to_string(), e.abort());
            return;
        }
    };
    check_tcp_message(&msg);
    let mut out = BytesMut::new();
    msg.encode_ws(&mut out);
    assert_eq!(out.len(), msg.ws_encoded_len(), "ws_encoded_len is wrong");
    assert_eq!(&out[..], frame, "re-encoding changed the bytes of {msg:?}");
    let back = TcpMessage::decode_ws(out.freeze())
        .unwrap_or_else(|e| panic!("re-encoded message does not decode: {e}: {msg:?}"));
    assert_eq!(back, msg, "re-encoded message decodes differently");
}

fn tcp(data: &[u8]) {
    let [limit, count, rest @ ..] = data else {
        return;
    };
    let max = match *limit {
        0 => DEFAULT_MAX_MESSAGE_SIZE as usize,
        255 => usize::MAX,
        k => usize::from(k) * 8,
    };
    let codec = TcpCodec::new(max);
    let n = usize::from(count & 0x0f).min(rest.len());
    let (sizes, stream) = rest.split_at(n);

    let mut sizes = sizes.iter().map(|&s| usize::from(s));
    let mut buf = BytesMut::new();
    // stream[consumed..fed] is what `buf` must hold between calls.
    let mut consumed = 0;
    let mut fed = 0;
    // Set after `Incomplete { needed: Some(_) }`: the buffer length at which the message is whole.
    let mut whole_at: Option<usize> = None;
    loop {
        let left = stream.len() - fed;
        let take = sizes.next().map_or(left, |s| s.min(left));
        buf.extend_from_slice(&stream[fed..fed + take]);
        fed += take;
        loop {
            let before = buf.len();
            match codec.decode(&mut buf) {
                Ok(Decoded::Message(msg)) => {
                    let used = before - buf.len();
                    assert!(used >= 2, "a {used}-byte message");
                    assert!(used <= max, "a {used}-byte message passed a limit of {max}");
                    if let Some(at) = whole_at.take() {
                        assert_eq!(used, at, "the message did not end where `needed` said");
                    }
                    let wire = &stream[consumed..consumed + used];
                    consumed += used;
                    check_tcp_frame(&msg, wire);
                }
                Ok(Decoded::Incomplete { needed }) => {
                    assert_eq!(&buf[..], &stream[consumed..fed], "Incomplete consumed bytes");
                    if let Some(at) = whole_at {
                        assert!(buf.len() < at, "Incomplete although the message is whole");
                    }
                    match needed {
                        None => assert!(
                            buf.len() < header_len(&buf),
                            "Incomplete without a count after a whole header"
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
                    // The error's description and Abort must not panic either.
                    let _ = (e.to_string(), e.abort());
                    return;
                }
            }
        }
        if fed == stream.len() {
            return;
        }
    }
}

/// The length of the header (first byte and Extended Length) that `buf` starts with; 1 when
/// `buf` is empty.
fn header_len(buf: &[u8]) -> usize {
    match buf.first().map(|b| b >> 4) {
        Some(13) => 2,
        Some(14) => 3,
        Some(15) => 5,
        _ => 1,
    }
}

/// Checks one message the stream decoder returned against the bytes it came from.
fn check_tcp_frame(msg: &TcpMessage, wire: &[u8]) {
    check_tcp_message(msg);
    let mut out = BytesMut::new();
    msg.encode(&mut out)
        .unwrap_or_else(|e| panic!("decoded message does not re-encode: {e}: {msg:?}"));
    assert_eq!(out.len(), msg.encoded_len(), "encoded_len is wrong");
    assert_eq!(&out[..], wire, "re-encoding changed the bytes of {msg:?}");
    let mut again = out;
    match TcpCodec::new(usize::MAX).decode(&mut again) {
        Ok(Decoded::Message(back)) => assert_eq!(&back, msg, "re-encoded message decodes differently"),
        other => panic!("re-encoded message gave {other:?}: {msg:?}"),
    }
    assert!(again.is_empty(), "the decoder left {} bytes", again.len());
}

/// What every decoded TCP or WebSocket message must survive: the option checks, and reading
/// it as a signal.
fn check_tcp_message(msg: &TcpMessage) {
    check_options(&msg.options, true);
    match Signal::from_message(msg) {
        Ok(signal) => {
            let _ = signal.code();
            // A signal that was read writes back to a message that reads the same.
            if let Ok(again) = signal.to_message(msg.token) {
                assert_eq!(
                    Signal::from_message(&again).as_ref(),
                    Ok(&signal),
                    "Signal::to_message does not read back: {again:?}"
                );
            }
        }
        Err(e) => {
            let _ = (e.to_string(), e.answer());
        }
    }
}

/// Iterating, `unrecognized()` and every typed getter: nothing panics, and the iterated options
/// rebuild the same block.
fn check_options(options: &Options, reliable: bool) {
    let rebuilt = options
        .iter()
        .fold(Options::builder(), |b, o| {
            b.push(o.number, Bytes::copy_from_slice(o.value))
        })
        .build()
        .unwrap_or_else(|e| panic!("the iterated options do not build: {e:?}: {options:?}"));
    assert_eq!(&rebuilt, options, "iterating the options loses some");
    for o in options.iter() {
        let _ = (o.as_uint(), o.as_str(), o.is_well_formed(), o.number.name());
        let _ = (o.number.is_critical(), o.number.is_unsafe(), o.number.is_no_cache_key());
    }
    let _ = options.unrecognized().count();
    let _ = options.first_unrecognized_critical();

    let _ = (options.block1(reliable), options.block2(reliable));
    let _ = (options.q_block1(reliable), options.q_block2(reliable));
    if let Ok(blocks) = options.q_block2_all(reliable) {
        for b in blocks {
            let _ = (b.num(), b.more(), b.size(), b.offset(), b.to_uint(), b.to_string());
        }
    }
    if let Ok(Some(b)) = options.block2(reliable) {
        let _ = (b.size(), b.offset(), b.is_bert(), b.encode(), b.to_string());
    }
    if let Ok(Some(cf)) = options.content_format() {
        let _ = (cf.media_type(), cf.content_coding(), cf.is_experimental(), cf.to_string());
    }
    let _ = options.accept();
    let _ = options.observe();
    let _ = (options.max_age(), options.size1(), options.size2());
    if let Ok(etags) = options.etags() {
        etags.for_each(|e| assert!(!e.as_bytes().is_empty()));
    }
    if let Ok(conds) = options.if_match() {
        conds.for_each(|c| { let _ = c.as_bytes(); });
    }
    let _ = options.if_none_match();
    if let Ok(Some(h)) = options.hop_limit() {
        let _ = h.decrement();
    }
    let _ = options.echo();
    if let Ok(tags) = options.request_tags() {
        tags.for_each(|t| { let _ = t.as_bytes(); });
    }
    if let Ok(nr) = options.no_response() {
        let _ = (nr.bits(), nr.suppresses(tern_coap::Code::CONTENT));
    }
    let _ = (options.uri_host(), options.uri_port());
    for values in [
        options.uri_path(),
        options.uri_query(),
        options.location_path(),
        options.location_query(),
    ]
    .into_iter()
    .flatten()
    {
        values.for_each(|s| { let _ = s.len(); });
    }
    let _ = (options.proxy_uri(), options.proxy_scheme());
}
