//! The CoAP cases: tern-coap against coap-lite and coap-message-implementations' in-memory
//! message, on the same four datagrams, through the runners of [`crate::cases`].
//!
//! What each decoder does in the timed region, so that all do the same work:
//!
//! - **tern**: `Message::decode(Bytes)` (the datagram is split off the receive buffer as a
//!   `Bytes`, the type tern's API takes), then iterates every option, and passes every option
//!   number and value, the token and the payload to `black_box`. tern validates the whole option
//!   block when decoding but reads options lazily, so the iteration is part of the work.
//! - **coap-lite**: `Packet::from_bytes(&[u8])`, which copies the token, every option value and
//!   the payload into `Vec`s in a `BTreeMap<u16, LinkedList<Vec<u8>>>`; then the same iteration
//!   and `black_box`es over its structures.
//! - **coap-message-impl**: the crate reads only code, options and payload; the harness parses
//!   the 4-byte header and the token (version and token-length checks, as the others do), then
//!   `Message::new_from_slice(code, rest)` and the same iteration through `ReadableMessage`
//!   (format errors show up there as option 65535, which fails the run), then `payload()`.
//!
//! Encoders: tern's `Message::encode(&self, &mut BytesMut)` (its options are kept as validated
//! wire bytes, so this is mostly copying); coap-lite's `Packet::to_bytes()`, which returns a new
//! `Vec` (not copied anywhere: its length is counted and it is dropped, which favours coap-lite
//! by one copy); coap-message-impl's `MessageMut` writing options one by one and the payload
//! into a slice, after a header and token written by the harness.

use std::hint::black_box;

use bytes::{Buf, Bytes, BytesMut};
use coap_message::{MessageOption as _, MinimalWritableMessage as _, ReadableMessage as _};
use coap_message_implementations::inmemory::{Message as CmiMessage, MessageMut as CmiMessageMut};
use tern_coap::{Code, Message, MessageType, OptionNumber, Options, Token};

use crate::cases::{
    Case, Contender, DecodeRunner, Direction, EncodeRunner, Impl, Protocol, Runner,
};
use crate::fixtures::payload;

/// The option number coap-message-implementations reports for a malformed option block.
const CMI_OPTION_INVALID: u16 = coap_message_implementations::inmemory::OPTION_INVALID;

/// The implementations of every CoAP case, tern first.
pub const IMPLS: [Impl; 3] = [Impl::Tern, Impl::CoapLite, Impl::CoapMsg];

/// A decoded message in a form every implementation can produce, to check that all decoders
/// extract the same fields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CoapSummary {
    /// Message type bits (0–3).
    pub mtype: u8,
    /// Code byte.
    pub code: u8,
    /// Message ID.
    pub message_id: u16,
    /// Token bytes.
    pub token: Vec<u8>,
    /// Every option in wire order: number and value.
    pub options: Vec<(u16, Vec<u8>)>,
    /// Payload bytes.
    pub payload: Vec<u8>,
}

fn opts(
    build: impl FnOnce(tern_coap::option::OptionsBuilder) -> tern_coap::option::OptionsBuilder,
) -> Options {
    build(Options::builder())
        .build()
        .expect("valid fixture options")
}

fn message(
    mtype: MessageType,
    code: Code,
    message_id: u16,
    token: &[u8],
    options: Options,
    payload: Bytes,
) -> Message {
    Message {
        mtype,
        code,
        message_id,
        token: Token::new(token).expect("fixture token of at most 8 bytes"),
        options,
        payload,
    }
}

/// (1) A CON GET with three Uri-Path and two Uri-Query options.
pub fn get_request() -> Message {
    let o = opts(|b| {
        b.push(OptionNumber::URI_PATH, "sensors")
            .push(OptionNumber::URI_PATH, "line-4")
            .push(OptionNumber::URI_PATH, "temperature")
            .push(OptionNumber::URI_QUERY, "unit=celsius")
            .push(OptionNumber::URI_QUERY, "window=60s")
    });
    message(
        MessageType::Confirmable,
        Code::GET,
        0x7d34,
        &[0x5a, 0x17, 0xc3, 0x09],
        o,
        Bytes::new(),
    )
}

/// (2) A piggybacked ACK 2.05 with Content-Format, ETag, Max-Age and a 512 B payload.
pub fn content_512() -> Message {
    let o = opts(|b| {
        b.push(OptionNumber::ETAG, &b"\x8c\x1f\x42\x07\xaa\x90\x3e\x5d"[..])
            .push_uint(OptionNumber::CONTENT_FORMAT, 60) // application/cbor
            .push_uint(OptionNumber::MAX_AGE, 300)
    });
    message(
        MessageType::Acknowledgement,
        Code::CONTENT,
        0x7d34,
        &[0x5a, 0x17, 0xc3, 0x09],
        o,
        payload(512, 2),
    )
}

/// (3) A Block2 response: ACK 2.05 with Content-Format, Block2 (NUM 3, M, SZX 6 = 1024 B),
/// Size2 and a 1,024 B payload.
pub fn block2_1024() -> Message {
    let o = opts(|b| {
        b.push_uint(OptionNumber::CONTENT_FORMAT, 42) // application/octet-stream
            .push_uint(OptionNumber::BLOCK2, (3 << 4) | (1 << 3) | 6)
            .push_uint(OptionNumber::SIZE2, 16_384)
    });
    message(
        MessageType::Acknowledgement,
        Code::CONTENT,
        0x7d35,
        &[0x5a, 0x17, 0xc3, 0x0a],
        o,
        payload(1024, 3),
    )
}

/// (4) An Observe notification: NON 2.05 with Observe, Content-Format and a small payload.
pub fn observe_notification() -> Message {
    let o = opts(|b| {
        b.push_uint(OptionNumber::OBSERVE, 70_213)
            .push_uint(OptionNumber::CONTENT_FORMAT, 50) // application/json
    });
    message(
        MessageType::NonConfirmable,
        Code::CONTENT,
        0x1c02,
        &[0x9e, 0x41],
        o,
        Bytes::from_static(br#"{"t":21.5,"u":"C"}"#),
    )
}

/// The four inputs with their labels.
pub fn inputs() -> Vec<(&'static str, Message)> {
    vec![
        ("CON GET 3 Uri-Path + 2 Uri-Query", get_request()),
        ("ACK 2.05 ETag, Max-Age, 512 B", content_512()),
        ("ACK 2.05 Block2 1024 B", block2_1024()),
        ("NON 2.05 Observe notification", observe_notification()),
    ]
}

/// tern's encoding of a message.
pub fn wire(m: &Message) -> Vec<u8> {
    let mut b = BytesMut::new();
    m.encode(&mut b).expect("fixture encodes");
    b.to_vec()
}

// ---------------------------------------------------------------------------------------------
// Summaries.

/// Summary of a tern message.
pub fn summary_tern(m: &Message) -> CoapSummary {
    CoapSummary {
        mtype: m.mtype as u8,
        code: m.code.0,
        message_id: m.message_id,
        token: m.token.as_bytes().to_vec(),
        options: m
            .options
            .iter()
            .map(|o| (o.number.0, o.value.to_vec()))
            .collect(),
        payload: m.payload.to_vec(),
    }
}

fn cl_type_bits(t: coap_lite::MessageType) -> u8 {
    match t {
        coap_lite::MessageType::Confirmable => 0,
        coap_lite::MessageType::NonConfirmable => 1,
        coap_lite::MessageType::Acknowledgement => 2,
        coap_lite::MessageType::Reset => 3,
    }
}

/// Summary of a coap-lite packet.
pub fn summary_coap_lite(p: &coap_lite::Packet) -> CoapSummary {
    CoapSummary {
        mtype: cl_type_bits(p.header.get_type()),
        code: u8::from(p.header.code),
        message_id: p.header.message_id,
        token: p.get_token().to_vec(),
        options: p
            .options()
            .flat_map(|(n, list)| list.iter().map(move |v| (*n, v.clone())))
            .collect(),
        payload: p.payload.clone(),
    }
}

/// A datagram's header fields for coap-message-impl: type bits, code, message ID, token, and
/// the rest (options and payload).
type Split<'a> = (u8, u8, u16, &'a [u8], &'a [u8]);

/// Splits the 4-byte header and the token off a datagram for coap-message-impl, which handles
/// only the rest. Checks what the other decoders check (version, token length).
fn cmi_split(d: &[u8]) -> Option<Split<'_>> {
    let (&[b0, code, m0, m1], rest) = d.split_first_chunk::<4>()?;
    let tkl = usize::from(b0 & 0x0f);
    if b0 >> 6 != 1 || tkl > 8 {
        return None;
    }
    let (token, rest) = rest.split_at_checked(tkl)?;
    Some((
        (b0 >> 4) & 3,
        code,
        u16::from_be_bytes([m0, m1]),
        token,
        rest,
    ))
}

/// Summary of a datagram read with coap-message-impl.
pub fn summary_cmi(d: &[u8]) -> Option<CoapSummary> {
    let (mtype, code, message_id, token, rest) = cmi_split(d)?;
    let m = CmiMessage::new_from_slice(code, rest);
    let options: Vec<(u16, Vec<u8>)> = m
        .options()
        .map(|o| (o.number(), o.value().to_vec()))
        .collect();
    if options.iter().any(|(n, _)| *n == CMI_OPTION_INVALID) {
        return None;
    }
    Some(CoapSummary {
        mtype,
        code: m.code(),
        message_id,
        token: token.to_vec(),
        options,
        payload: m.payload().to_vec(),
    })
}

/// Decodes a datagram with `imp` and summarises it.
pub fn decoded_summary(imp: Impl, d: &[u8]) -> Option<CoapSummary> {
    match imp {
        Impl::Tern => Message::decode(Bytes::copy_from_slice(d))
            .ok()
            .map(|m| summary_tern(&m)),
        Impl::CoapLite => coap_lite::Packet::from_bytes(d)
            .ok()
            .map(|p| summary_coap_lite(&p)),
        Impl::CoapMsg => summary_cmi(d),
        _ => unreachable!("not a CoAP implementation"),
    }
}

// ---------------------------------------------------------------------------------------------
// The peers' encoder inputs.

/// A tern message as a coap-lite packet.
pub fn to_coap_lite(m: &Message) -> coap_lite::Packet {
    let mut p = coap_lite::Packet::new();
    p.header.set_type(match m.mtype {
        MessageType::Confirmable => coap_lite::MessageType::Confirmable,
        MessageType::NonConfirmable => coap_lite::MessageType::NonConfirmable,
        MessageType::Acknowledgement => coap_lite::MessageType::Acknowledgement,
        MessageType::Reset => coap_lite::MessageType::Reset,
    });
    p.header.code = coap_lite::MessageClass::from(m.code.0);
    p.header.message_id = m.message_id;
    p.set_token(m.token.as_bytes().to_vec());
    for o in &m.options {
        p.add_option(coap_lite::CoapOption::from(o.number.0), o.value.to_vec());
    }
    p.payload = m.payload.to_vec();
    p
}

/// What coap-message-impl's writer is given: the message as plain values.
#[derive(Debug, Clone)]
pub struct CmiInput {
    b0: u8,
    code: u8,
    message_id: u16,
    token: Vec<u8>,
    options: Vec<(u16, Vec<u8>)>,
    payload: Vec<u8>,
}

/// A tern message as plain values for coap-message-impl's writer.
pub fn to_cmi(m: &Message) -> CmiInput {
    let s = summary_tern(m);
    CmiInput {
        b0: (1 << 6) | (s.mtype << 4) | s.token.len() as u8,
        code: s.code,
        message_id: s.message_id,
        token: s.token,
        options: s.options,
        payload: s.payload,
    }
}

/// Writes `m` at the front of `out` with coap-message-impl; returns the bytes written.
fn encode_cmi(m: &CmiInput, out: &mut [u8]) -> Option<usize> {
    let head = 4 + m.token.len();
    let (h, tail) = out.split_at_mut_checked(head)?;
    let (fixed, token) = h.split_first_chunk_mut::<4>()?;
    let [b0, code, m0, m1] = fixed;
    *b0 = m.b0;
    [*m0, *m1] = m.message_id.to_be_bytes();
    token.copy_from_slice(&m.token);
    let mut w = CmiMessageMut::new_in_slice(code, tail);
    w.set_code(m.code);
    for (n, v) in &m.options {
        w.add_option(*n, v).ok()?;
    }
    if !m.payload.is_empty() {
        w.set_payload(&m.payload).ok()?;
    }
    Some(head + w.finish().0)
}

/// The bytes `imp` encodes `m` to.
pub fn encoded_by(imp: Impl, m: &Message) -> Vec<u8> {
    match imp {
        Impl::Tern => wire(m),
        Impl::CoapLite => to_coap_lite(m).to_bytes().expect("coap-lite encodes"),
        Impl::CoapMsg => {
            let mut out = vec![0; 2048];
            let n = encode_cmi(&to_cmi(m), &mut out).expect("coap-message-impl encodes");
            out.truncate(n);
            out
        }
        _ => unreachable!("not a CoAP implementation"),
    }
}

// ---------------------------------------------------------------------------------------------
// Runners.

fn decode_runner(imp: Impl, wire: Vec<u8>) -> Box<dyn Runner> {
    let len = wire.len();
    match imp {
        Impl::Tern => DecodeRunner::boxed(wire, move |buf: &mut BytesMut| {
            match Message::decode(buf.split_to(len).freeze()) {
                Ok(m) => {
                    for o in &m.options {
                        black_box(o.number);
                        black_box(o.value);
                    }
                    black_box(m.token.as_bytes());
                    black_box(&m.payload[..]);
                    black_box(m);
                    true
                }
                Err(_) => false,
            }
        }),
        Impl::CoapLite => DecodeRunner::boxed(wire, move |buf: &mut BytesMut| {
            let r = coap_lite::Packet::from_bytes(&buf[..len]);
            buf.advance(len);
            match r {
                Ok(p) => {
                    for (n, list) in p.options() {
                        for v in list {
                            black_box(n);
                            black_box(&v[..]);
                        }
                    }
                    black_box(p.get_token());
                    black_box(&p.payload[..]);
                    black_box(p);
                    true
                }
                Err(_) => false,
            }
        }),
        Impl::CoapMsg => DecodeRunner::boxed(wire, move |buf: &mut BytesMut| {
            let mut ok = false;
            if let Some((mtype, code, mid, token, rest)) = cmi_split(&buf[..len]) {
                black_box((mtype, mid));
                let m = CmiMessage::new_from_slice(code, rest);
                ok = true;
                for o in m.options() {
                    ok &= o.number() != CMI_OPTION_INVALID;
                    black_box(o.number());
                    black_box(o.value());
                }
                black_box(token);
                black_box(m.payload());
                black_box(m);
            }
            buf.advance(len);
            ok
        }),
        _ => unreachable!("not a CoAP implementation"),
    }
}

fn encode_runner(imp: Impl, m: &Message) -> Box<dyn Runner> {
    let len = wire(m).len();
    match imp {
        Impl::Tern => {
            let m = m.clone();
            EncodeRunner::boxed(len, false, move |out| m.encode(&mut out.bytes).is_ok())
        }
        Impl::CoapLite => {
            let p = to_coap_lite(m);
            EncodeRunner::boxed(len, false, move |out| match p.to_bytes() {
                Ok(v) => {
                    out.pos += v.len();
                    black_box(v);
                    true
                }
                Err(_) => false,
            })
        }
        Impl::CoapMsg => {
            let m = to_cmi(m);
            EncodeRunner::boxed(len, true, move |out| {
                match encode_cmi(&m, &mut out.slice[out.pos..]) {
                    Some(n) => {
                        out.pos += n;
                        true
                    }
                    None => false,
                }
            })
        }
        _ => unreachable!("not a CoAP implementation"),
    }
}

// ---------------------------------------------------------------------------------------------
// Build and encode: from an application's values to bytes.
//
// tern's `Message::encode` copies options that `Options::builder()` already wrote in wire form,
// so the encode cases leave building out for tern (and for coap-lite, whose `Packet` is built
// beforehand too), while coap-message-impl always writes from values. The build+encode cases
// start every implementation from the same plain values (option values as `Bytes` for tern,
// which clones them without copying; as `Vec<u8>` for coap-lite, whose API takes owned `Vec`s).

/// The values of a message, before any implementation's types exist.
#[derive(Debug, Clone)]
pub struct Values {
    mtype: MessageType,
    code: Code,
    message_id: u16,
    token: Vec<u8>,
    options: Vec<(OptionNumber, Bytes)>,
    payload: Bytes,
}

/// The values of a tern message.
pub fn values(m: &Message) -> Values {
    Values {
        mtype: m.mtype,
        code: m.code,
        message_id: m.message_id,
        token: m.token.as_bytes().to_vec(),
        options: m
            .options
            .iter()
            .map(|o| (o.number, Bytes::copy_from_slice(o.value)))
            .collect(),
        payload: m.payload.clone(),
    }
}

/// tern: `Options::builder()`, then the `Message`.
fn build_tern(v: &Values) -> Option<Message> {
    let mut b = Options::builder();
    for (n, value) in &v.options {
        b = b.push(*n, value.clone());
    }
    Some(Message {
        mtype: v.mtype,
        code: v.code,
        message_id: v.message_id,
        token: Token::new(&v.token)?,
        options: b.build().ok()?,
        payload: v.payload.clone(),
    })
}

/// The same values in coap-lite's types.
#[derive(Debug, Clone)]
struct LiteValues {
    mtype: coap_lite::MessageType,
    code: u8,
    message_id: u16,
    token: Vec<u8>,
    options: Vec<(coap_lite::CoapOption, Vec<u8>)>,
    payload: Vec<u8>,
}

fn lite_values(m: &Message) -> LiteValues {
    let p = to_coap_lite(m);
    LiteValues {
        mtype: p.header.get_type(),
        code: m.code.0,
        message_id: m.message_id,
        token: m.token.as_bytes().to_vec(),
        options: m
            .options
            .iter()
            .map(|o| (coap_lite::CoapOption::from(o.number.0), o.value.to_vec()))
            .collect(),
        payload: m.payload.to_vec(),
    }
}

/// coap-lite: a `Packet` from the values, as its examples build one.
fn build_coap_lite(v: &LiteValues) -> coap_lite::Packet {
    let mut p = coap_lite::Packet::new();
    p.header.set_type(v.mtype);
    p.header.code = coap_lite::MessageClass::from(v.code);
    p.header.message_id = v.message_id;
    p.set_token(v.token.clone());
    for (n, value) in &v.options {
        p.add_option(*n, value.clone());
    }
    p.payload = v.payload.clone();
    p
}

/// The bytes `imp` builds and encodes `m`'s values to.
pub fn built_by(imp: Impl, m: &Message) -> Vec<u8> {
    match imp {
        Impl::Tern => wire(&build_tern(&values(m)).expect("tern builds")),
        Impl::CoapLite => build_coap_lite(&lite_values(m))
            .to_bytes()
            .expect("coap-lite encodes"),
        // Always from values: the same as its encode case.
        _ => encoded_by(imp, m),
    }
}

fn build_runner(imp: Impl, m: &Message) -> Box<dyn Runner> {
    let len = wire(m).len();
    match imp {
        Impl::Tern => {
            let v = values(m);
            EncodeRunner::boxed(len, false, move |out| match build_tern(&v) {
                Some(m) => m.encode(&mut out.bytes).is_ok(),
                None => false,
            })
        }
        Impl::CoapLite => {
            let v = lite_values(m);
            EncodeRunner::boxed(len, false, move |out| {
                match build_coap_lite(&v).to_bytes() {
                    Ok(b) => {
                        out.pos += b.len();
                        black_box(b);
                        true
                    }
                    Err(_) => false,
                }
            })
        }
        _ => encode_runner(imp, m),
    }
}

// ---------------------------------------------------------------------------------------------
// The cases.

/// What a case times.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Decode,
    Encode,
    BuildEncode,
}

const OPS: [Op; 3] = [Op::Decode, Op::Encode, Op::BuildEncode];

fn case_name(op: Op, label: &str) -> String {
    let d = match op {
        Op::Decode => "decode",
        Op::Encode => "encode",
        Op::BuildEncode => "build+encode",
    };
    format!("CoAP {d} {label}")
}

/// The names of the CoAP cases, in order.
pub fn case_names() -> Vec<String> {
    inputs()
        .iter()
        .flat_map(|(label, _)| OPS.map(|op| case_name(op, label)))
        .collect()
}

/// Builds the CoAP cases whose name `wanted` accepts, checking first that every decoder reads
/// tern's bytes to the same summary and that every encoder's bytes decode (with tern) to the
/// same message. Panics if they disagree.
pub fn build_cases(wanted: &dyn Fn(&str) -> bool) -> Vec<Case> {
    let mut cases = Vec::new();
    for (label, m) in inputs() {
        let bytes = wire(&m);
        let expected = summary_tern(&m);

        let name = case_name(Op::Decode, label);
        if wanted(&name) {
            let mut contenders = Vec::new();
            for imp in IMPLS {
                let got = decoded_summary(imp, &bytes)
                    .unwrap_or_else(|| panic!("{name}: {} fails to decode", imp.name()));
                assert_eq!(
                    got,
                    expected,
                    "{name}: {} decodes to different fields",
                    imp.name()
                );
                contenders.push(Contender {
                    imp,
                    runner: decode_runner(imp, bytes.clone()),
                });
            }
            cases.push(Case {
                name,
                direction: Direction::Decode,
                protocol: Protocol::Coap,
                bytes_per_op: bytes.len(),
                packets_per_op: 1,
                contenders,
            });
        }

        for op in [Op::Encode, Op::BuildEncode] {
            let name = case_name(op, label);
            if !wanted(&name) {
                continue;
            }
            let mut contenders = Vec::new();
            for imp in IMPLS {
                let out = match op {
                    Op::BuildEncode => built_by(imp, &m),
                    _ => encoded_by(imp, &m),
                };
                assert_eq!(
                    decoded_summary(Impl::Tern, &out).as_ref(),
                    Some(&expected),
                    "{name}: {} encodes to a different message",
                    imp.name()
                );
                assert_eq!(out.len(), bytes.len(), "{name}: {} length", imp.name());
                contenders.push(Contender {
                    imp,
                    runner: match op {
                        Op::BuildEncode => build_runner(imp, &m),
                        _ => encode_runner(imp, &m),
                    },
                });
            }
            cases.push(Case {
                name,
                direction: Direction::Encode,
                protocol: Protocol::Coap,
                bytes_per_op: bytes.len(),
                packets_per_op: 1,
                contenders,
            });
        }
    }
    cases
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_encoder_writes_tern_bytes() {
        // Stronger than the check before timing (same message): the same bytes.
        for (label, m) in inputs() {
            let w = wire(&m);
            for imp in IMPLS {
                assert_eq!(encoded_by(imp, &m), w, "{label}: {}", imp.name());
                assert_eq!(built_by(imp, &m), w, "{label}: {} (built)", imp.name());
            }
        }
    }

    #[test]
    fn fixtures_have_the_options_asked_for() {
        let count = |m: &Message, n: OptionNumber| m.options.get_all(n).count();
        let get = get_request();
        assert_eq!(count(&get, OptionNumber::URI_PATH), 3);
        assert_eq!(count(&get, OptionNumber::URI_QUERY), 2);
        let c = content_512();
        assert_eq!(c.payload.len(), 512);
        for n in [
            OptionNumber::CONTENT_FORMAT,
            OptionNumber::ETAG,
            OptionNumber::MAX_AGE,
        ] {
            assert_eq!(count(&c, n), 1);
        }
        assert_eq!(block2_1024().payload.len(), 1024);
        assert_eq!(
            block2_1024().options.get_uint(OptionNumber::BLOCK2),
            Some(0x3e)
        );
        let o = observe_notification();
        assert_eq!(o.mtype, MessageType::NonConfirmable);
        assert!(o.options.get(OptionNumber::OBSERVE).is_some());
    }

    #[test]
    fn malformed_datagrams_fail_every_decoder() {
        // A runner must never time an error path as success.
        let mut bad = wire(&get_request());
        bad[8] = 0xf1; // option delta 15 is reserved
        for imp in IMPLS {
            assert!(decoded_summary(imp, &bad).is_none(), "{}", imp.name());
        }
    }
}
