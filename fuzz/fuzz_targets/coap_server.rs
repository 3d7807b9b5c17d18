//! Drives a CoAP endpoint as a server: requests from three peers (CON or NON, Message IDs
//! from a small range so that duplicates are common, with known, unknown critical and
//! unknown elective options; blocks of request bodies in Block1, follow-ups asking for
//! Block2 blocks, Observe registrations and deregistrations), answers from the application
//! at arbitrary times (of any size, so that large ones go block-wise; making the resource
//! observable or not), notifications of any code, size and Content-Format, ACKs and RSTs to
//! its separate responses and notifications, arbitrary valid messages, raw datagrams, and
//! time jumps, under small limits. It must never panic, every datagram it sends must decode
//! and fit `max_message_size`, its next deadline must be after the time it was last given,
//! no request reaches the application twice within its lifetime, its limits hold (observers,
//! bytes held for block-wise transfers), each observer is removed at most once per
//! registration, and when time runs out nothing is held any more.
#![no_main]

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::Duration;

use arbitrary::{Arbitrary, Unstructured};
use bytes::{Bytes, BytesMut};
use libfuzzer_sys::fuzz_target;
use tern_coap::arbitrary::message;
use tern_coap::endpoint::observe::ObserversConfig;
use tern_coap::endpoint::{Endpoint, EndpointConfig, Event, IncomingId, Instant, Response};
use tern_coap::option::{OptionNumber, Options};
use tern_coap::value::{Block, ContentFormat, Observe};
use tern_coap::{Code, Message, MessageType, Token};

#[derive(Arbitrary, Debug)]
enum Step {
    Request { peer: u8, non: bool, mid: u8, token: u8, method: u8, option: Extra },
    /// A block of a request body to /b (Block1, BERT too), maybe with Size1.
    Block1 { peer: u8, non: bool, mid: u8, token: u8, num: u8, more: bool, szx: u8, short: bool, size1: Option<u16> },
    /// A follow-up for a later block of a response (Block2), of a GET or a POST.
    Block2 { peer: u8, non: bool, mid: u8, token: u8, post: bool, num: u8, szx: u8, size2: bool },
    /// A GET of /obs with Observe = 0, or 1, maybe with an Accept or an early Block2.
    Observe { peer: u8, non: bool, mid: u8, token: u8, deregister: bool, accept: bool, szx: Option<u8> },
    /// Answers with a payload of up to 64 KiB.
    Respond { pick: u8, code: u8, payload: u16 },
    RespondObservable { pick: u8, code: u8, payload: u16, xml: bool },
    Notify { code: u8, payload: u16, xml: bool },
    /// ACK (empty or not) or RST to the `pick`-th datagram the endpoint sent.
    Answer { pick: u8, reset: bool, with_code: bool },
    Message { peer: u8 },
    Raw { peer: u8, bytes: Vec<u8> },
    Advance(u16),
    Jump(u16),
    Timeout,
}

#[derive(Arbitrary, Debug, Clone, Copy)]
enum Extra {
    None,
    UnknownCritical,
    UnknownElective,
    RepeatedUriHost,
    Block2,
}

fn peers() -> [SocketAddr; 3] {
    [
        "192.0.2.1:5683".parse().unwrap(),
        "192.0.2.2:40000".parse().unwrap(),
        "[2001:db8::1]:5683".parse().unwrap(),
    ]
}

fn encode(m: &Message) -> Option<Bytes> {
    let mut b = BytesMut::new();
    m.encode(&mut b).ok()?;
    Some(b.freeze())
}

fn options(extra: Extra) -> Options {
    let b = Options::builder().push(OptionNumber::URI_PATH, "r");
    match extra {
        Extra::None => b,
        Extra::UnknownCritical => b.push(OptionNumber(2049), "x"),
        Extra::UnknownElective => b.push(OptionNumber(2050), "x"),
        Extra::RepeatedUriHost => b.push(OptionNumber::URI_HOST, "a").push(OptionNumber::URI_HOST, "b"),
        Extra::Block2 => b.push_uint(OptionNumber::BLOCK2, 0x16),
    }
    .build()
    .unwrap_or_default()
}

/// A request from a peer, with `len` bytes of payload.
fn request(non: bool, mid: u16, token: u8, code: Code, options: Options, len: usize) -> Message {
    Message {
        mtype: if non { MessageType::NonConfirmable } else { MessageType::Confirmable },
        code,
        message_id: mid,
        token: Token::new(&[token][..usize::from(token % 2)]).unwrap_or_default(),
        options,
        payload: Bytes::from(vec![0x42; len]),
    }
}

/// A response of `code` with `len` bytes, in text or XML.
fn representation(code: Code, len: u16, xml: bool) -> Response {
    let format = if xml { ContentFormat::XML } else { ContentFormat::TEXT_PLAIN };
    let options = Options::builder().push_content_format(format).build().unwrap_or_default();
    Response::new(code).with_options(options).with_payload(vec![0x33; usize::from(len)])
}

fuzz_target!(|data: &[u8]| {
    let mut u = Unstructured::new(data);
    let Ok(seed) = u64::arbitrary(&mut u) else { return };
    let Ok((piggyback_ms, dedup, per_peer, total)) = <(u16, u8, u8, u8)>::arbitrary(&mut u) else {
        return;
    };
    let Ok((observers, transfers, reassembly, szx)) = <(u8, u8, u16, u8)>::arbitrary(&mut u) else {
        return;
    };
    let config = EndpointConfig {
        piggyback_delay: Duration::from_millis(u64::from(piggyback_ms % 3_000)),
        max_dedup_entries: usize::from(dedup % 32),
        max_pending_per_peer: usize::from(per_peer % 8),
        max_pending_total: usize::from(total % 16),
        max_message_size: 256,
        max_reassembly_bytes: usize::from(reassembly),
        max_reassembly_total: usize::from(reassembly) * 2,
        max_block_transfers: usize::from(transfers % 4),
        default_block_szx: szx % 8,
        observers: ObserversConfig {
            max_observers: usize::from(observers % 8),
            max_per_peer: usize::from(observers >> 4),
            confirmable_interval: Duration::from_secs(u64::from(piggyback_ms)),
            initial_sequence: u32::from(dedup) << 16,
        },
        ..EndpointConfig::default()
    };
    let peers = peers();
    let mut ep = Endpoint::new(config.clone(), seed);
    let mut now = Instant::ZERO;
    let mut sent: Vec<(SocketAddr, Message)> = Vec::new();
    let mut incoming: Vec<IncomingId> = Vec::new();
    // (peer, Message ID) of each request the application got, with when.
    // When each (peer, Message ID) reached the application, and how many cache entries had
    // been forgotten early by then.
    let mut delivered: BTreeMap<(SocketAddr, u16), (Instant, u64)> = BTreeMap::new();
    let lifetime = config.transmission.non_lifetime();
    // Answers that could have registered an observer, and observers removed.
    let (mut registrations, mut removed) = (0usize, 0usize);
    for _ in 0..128 {
        let Ok(step) = Step::arbitrary(&mut u) else { break };
        // What the next request looks like on the wire, to tie its event to it.
        let mut last_request: Option<(SocketAddr, u16)> = None;
        match step {
            Step::Request { peer, non, mid, token, method, option } => {
                let peer = peers[usize::from(peer) % 3];
                let m = Message {
                    mtype: if non { MessageType::NonConfirmable } else { MessageType::Confirmable },
                    code: Code::new(0, method % 8 + 1).unwrap_or(Code::GET),
                    message_id: u16::from(mid % 16),
                    token: Token::new(&[token][..usize::from(token % 2)]).unwrap_or_default(),
                    options: options(option),
                    payload: Bytes::new(),
                };
                last_request = Some((peer, m.message_id));
                if let Some(bytes) = encode(&m) {
                    ep.handle_datagram(now, peer, bytes);
                }
            }
            Step::Block1 { peer, non, mid, token, num, more, szx, short, size1 } => {
                let peer = peers[usize::from(peer) % 3];
                let Some(block) = Block::new(u32::from(num), more, szx % 8) else { continue };
                let mut b = Options::builder().push(OptionNumber::URI_PATH, "b").push_block1(block);
                if let Some(s1) = size1 {
                    b = b.push_size1(u32::from(s1) * 8);
                }
                let len = (16usize << (szx % 8).min(6)) - usize::from(short);
                let m = request(non, u16::from(mid % 16), token, Code::PUT, b.build().unwrap_or_default(), len);
                last_request = Some((peer, m.message_id));
                if let Some(bytes) = encode(&m) {
                    ep.handle_datagram(now, peer, bytes);
                }
            }
            Step::Block2 { peer, non, mid, token, post, num, szx, size2 } => {
                let peer = peers[usize::from(peer) % 3];
                let Some(block) = Block::new(u32::from(num), false, szx % 8) else { continue };
                let mut b = Options::builder().push(OptionNumber::URI_PATH, "r").push_block2(block);
                if size2 {
                    b = b.push_size2(0);
                }
                let code = if post { Code::POST } else { Code::GET };
                let m = request(non, u16::from(mid % 16), token, code, b.build().unwrap_or_default(), 0);
                last_request = Some((peer, m.message_id));
                if let Some(bytes) = encode(&m) {
                    ep.handle_datagram(now, peer, bytes);
                }
            }
            Step::Observe { peer, non, mid, token, deregister, accept, szx } => {
                let peer = peers[usize::from(peer) % 3];
                let observe = if deregister { Observe::DEREGISTER } else { Observe::REGISTER };
                let mut b = Options::builder().push_observe(observe).push(OptionNumber::URI_PATH, "obs");
                if accept {
                    b = b.push_accept(ContentFormat::TEXT_PLAIN);
                }
                if let Some(block) = szx.and_then(|s| Block::new(0, false, s % 8)) {
                    b = b.push_block2(block);
                }
                let m = request(non, u16::from(mid % 16), token, Code::GET, b.build().unwrap_or_default(), 0);
                last_request = Some((peer, m.message_id));
                if let Some(bytes) = encode(&m) {
                    ep.handle_datagram(now, peer, bytes);
                }
            }
            Step::Respond { pick, code, payload } => {
                if incoming.is_empty() {
                    continue;
                }
                let id = incoming[usize::from(pick) % incoming.len()];
                let code = Code::new(2 + code % 4, code >> 3).unwrap_or(Code::CONTENT);
                let r = Response::new(code).with_payload(vec![0x33; usize::from(payload)]);
                let _ = ep.respond(now, id, r);
            }
            Step::RespondObservable { pick, code, payload, xml } => {
                if incoming.is_empty() {
                    continue;
                }
                let id = incoming[usize::from(pick) % incoming.len()];
                let code = Code::new(2 + code % 4, code >> 3).unwrap_or(Code::CONTENT);
                if ep.respond_observable(now, id, representation(code, payload, xml), "obs").is_ok() {
                    registrations += 1;
                }
            }
            Step::Notify { code, payload, xml } => {
                let code = Code::new(code % 8, code >> 3).unwrap_or(Code::CONTENT);
                let n = ep.notify(now, "obs", representation(code, payload, xml));
                assert!(n <= config.observers.max_observers);
            }
            Step::Answer { pick, reset, with_code } => {
                if sent.is_empty() {
                    continue;
                }
                let (peer, m) = &sent[usize::from(pick) % sent.len()];
                let mut answer = Message::empty(
                    if reset { MessageType::Reset } else { MessageType::Acknowledgement },
                    m.message_id,
                );
                if with_code {
                    answer.code = Code::CONTENT;
                }
                if let Some(bytes) = encode(&answer) {
                    ep.handle_datagram(now, *peer, bytes);
                }
            }
            Step::Message { peer } => {
                let Ok(m) = message(&mut u) else { break };
                let peer = peers[usize::from(peer) % 3];
                last_request = Some((peer, m.message_id));
                if let Some(bytes) = encode(&m) {
                    ep.handle_datagram(now, peer, bytes);
                }
            }
            Step::Raw { peer, bytes } => {
                let peer = peers[usize::from(peer) % 3];
                if let [_, _, m0, m1, ..] = bytes[..] {
                    last_request = Some((peer, u16::from_be_bytes([m0, m1])));
                }
                ep.handle_datagram(now, peer, Bytes::from(bytes));
            }
            Step::Advance(ms) => {
                now = now + Duration::from_millis(u64::from(ms));
                continue;
            }
            Step::Jump(s) => {
                now = now + Duration::from_secs(u64::from(s));
                continue;
            }
            Step::Timeout => ep.handle_timeout(now),
        }
        if let Some(deadline) = ep.poll_timeout() {
            assert!(deadline > now, "deadline {deadline:?} not after {now:?}");
        }
        while let Some(t) = ep.poll_transmit() {
            let m = Message::decode(t.datagram.clone())
                .unwrap_or_else(|e| panic!("sent a datagram that does not decode: {e}"));
            assert!(t.datagram.len() <= config.max_message_size, "a datagram of {} bytes", t.datagram.len());
            if sent.len() < 256 {
                sent.push((t.destination, m));
            }
        }
        while let Some(event) = ep.poll_event() {
            if let Event::ObserverRemoved { .. } = event {
                removed += 1;
                assert!(removed <= registrations, "more observers removed than registered");
            }
            if let Event::Request { id, peer, .. } = event {
                assert!(!incoming.contains(&id), "{id:?} delivered twice");
                incoming.push(id);
                // Only a request from this step can come out now.
                let key = last_request.expect("a request event after a request");
                assert_eq!(key.0, peer);
                if let Some((at, forgotten)) = delivered.insert(key, (now, ep.dedup_forgotten())) {
                    // A Message ID may be processed again only once it was forgotten: after
                    // its lifetime, or early because the cache was full (RFC 7252 §4.5 lets
                    // deduplication be relaxed; the endpoint counts it).
                    assert!(
                        now >= at + lifetime || ep.dedup_forgotten() > forgotten,
                        "a duplicate of {key:?} reached the application"
                    );
                }
            }
        }
        assert!(ep.dedup_len() <= config.max_dedup_entries);
        assert!(ep.pending_len() <= config.max_pending_total);
        assert!(ep.observers_len() <= config.observers.max_observers);
        assert!(ep.block_bytes() <= 2 * config.max_reassembly_total);
    }
    for _ in 0..100_000 {
        let Some(deadline) = ep.poll_timeout() else { break };
        now = now.max(deadline);
        ep.handle_timeout(now);
        while ep.poll_transmit().is_some() {}
        while ep.poll_event().is_some() {}
    }
    assert_eq!(ep.poll_timeout(), None);
    assert_eq!(ep.pending_len(), 0, "a request outlived its lifetime");
    assert_eq!(ep.dedup_len(), 0);
    assert_eq!(ep.block_bytes(), 0, "block-wise state outlived its lifetime");
});
