//! Drives a CoAP endpoint as a client: arbitrary requests (some with bodies large enough for
//! Block1, some proposing a Block2 size), observations, pings and cancellations to three
//! peers, answers crafted from what it sent (ACKs, piggybacked and separate responses, RSTs,
//! with right or wrong tokens and Message IDs, repeated; Block2 blocks of right and wrong
//! numbers, sizes and ETags; 2.31 and 4.13 to Block1 blocks; notifications with and without
//! Observe, in blocks), arbitrary valid messages, raw datagrams, and time jumps. It must never
//! panic, every datagram it sends must decode and fit `max_message_size`, its next deadline
//! must be after the time it was last given, each request ends at most once, an observation
//! gets notifications only until its one end, nothing comes after `cancel`, and its limits
//! hold.
#![no_main]

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::time::Duration;

use arbitrary::{Arbitrary, Unstructured};
use bytes::{Bytes, BytesMut};
use libfuzzer_sys::fuzz_target;
use tern_coap::arbitrary::message;
use tern_coap::endpoint::{Endpoint, EndpointConfig, Event, Instant, Request, RequestId};
use tern_coap::option::{OptionNumber, Options, OptionsBuilder};
use tern_coap::value::{Block, ETag, Observe};
use tern_coap::{Code, Message, MessageType, Token};

#[derive(Arbitrary, Debug)]
enum Step {
    Request { peer: u8, method: u8, non: bool, path: u8, payload: u8 },
    /// A request with a body of up to 64 KiB (Block1 beyond a block), and maybe a Block2
    /// proposal (early negotiation) or a later block named.
    Large { peer: u8, method: u8, non: bool, len: u16, block2: Option<(u8, u8)> },
    Observe { peer: u8, non: bool, fetch: bool },
    Ping { peer: u8 },
    Cancel { pick: u8 },
    /// An answer built from the `pick`-th datagram the endpoint sent.
    Answer { pick: u8, kind: Answer, code: u8, critical: bool },
    /// A valid message from the generator.
    Message { peer: u8 },
    Raw { peer: u8, bytes: Vec<u8> },
    Advance(u16),
    Jump(u16),
    Timeout,
}

#[derive(Arbitrary, Debug, Clone, Copy)]
enum Answer {
    EmptyAck,
    Piggybacked,
    PiggybackedWrongToken,
    Reset,
    SeparateCon { mid: u16 },
    SeparateNon { mid: u16 },
    /// The datagram itself, sent back (a request to the client, or an ACK of an ACK).
    Echo,
    /// A piggybacked block of a response: Block2 (BERT too), an ETag, maybe Size2, a payload
    /// of the block's size or one byte short.
    Block2 { num: u8, more: bool, szx: u8, etag: u8, size2: Option<u16>, short: bool },
    /// A piggybacked answer to a Block1 block: 2.31 or 2.04, with a Block1 echo.
    Block1 { num: u8, more: bool, szx: u8, cont: bool },
    /// 4.13 with a smaller Block1 and/or a Size1.
    TooLarge { szx: Option<u8>, size1: Option<u16> },
    /// A notification on the datagram's token: CON or NON, with Observe or not, maybe a
    /// Max-Age, maybe the first block of a larger body.
    Notification { con: bool, mid: u16, seq: Option<u32>, max_age: Option<u8>, block2: bool },
}

fn peers() -> [SocketAddr; 3] {
    [
        "192.0.2.1:5683".parse().unwrap(),
        "192.0.2.2:5683".parse().unwrap(),
        "[2001:db8::1]:5683".parse().unwrap(),
    ]
}

/// A piggybacked response to `sent` with these options and `len` bytes of payload.
fn piggybacked(sent: &Message, code: Code, options: OptionsBuilder, len: usize) -> Message {
    Message {
        mtype: MessageType::Acknowledgement,
        code,
        message_id: sent.message_id,
        token: sent.token,
        options: options.build().unwrap_or_default(),
        payload: Bytes::from(vec![0x62; len]),
    }
}

fn encode(m: &Message) -> Option<Bytes> {
    let mut b = BytesMut::new();
    m.encode(&mut b).ok()?;
    Some(b.freeze())
}

struct Harness {
    ep: Endpoint,
    config: EndpointConfig,
    now: Instant,
    sent: Vec<(SocketAddr, Message)>,
    ids: Vec<RequestId>,
    /// The ids that are observations.
    observations: BTreeSet<RequestId>,
    ended: BTreeSet<RequestId>,
}

impl Harness {
    /// The checks after every input or command.
    fn check(&mut self) {
        if let Some(deadline) = self.ep.poll_timeout() {
            assert!(deadline > self.now, "deadline {deadline:?} not after {:?}", self.now);
        }
        while let Some(t) = self.ep.poll_transmit() {
            let m = Message::decode(t.datagram.clone())
                .unwrap_or_else(|e| panic!("sent a datagram that does not decode: {e}"));
            assert!(
                t.datagram.len() <= self.config.max_message_size,
                "a datagram of {} bytes, over {}",
                t.datagram.len(),
                self.config.max_message_size
            );
            if self.sent.len() < 256 {
                self.sent.push((t.destination, m));
            }
        }
        while let Some(event) = self.ep.poll_event() {
            match event {
                Event::Response { id, .. } | Event::RequestFailed { id, .. } | Event::Pong { id } => {
                    assert!(self.ids.contains(&id), "an event for an unknown {id:?}");
                    assert!(!self.observations.contains(&id), "a request's event for {id:?}");
                    assert!(self.ended.insert(id), "{id:?} ended twice");
                }
                Event::Notification { id, .. } => {
                    assert!(self.observations.contains(&id), "a notification for {id:?}");
                    assert!(!self.ended.contains(&id), "a notification for {id:?} after its end");
                }
                Event::ObservationEnded { id, .. } => {
                    assert!(self.observations.contains(&id), "an observation end for {id:?}");
                    assert!(self.ended.insert(id), "{id:?} ended twice");
                }
                _ => {}
            }
        }
        assert!(self.ep.requests_len() <= self.config.max_requests);
        assert!(self.ep.dedup_len() <= self.config.max_dedup_entries);
        assert!(self.ep.pending_len() <= self.config.max_pending_total);
    }
}

fuzz_target!(|data: &[u8]| {
    let mut u = Unstructured::new(data);
    let Ok(seed) = u64::arbitrary(&mut u) else { return };
    let Ok((token_length, nstart, small)) = <(u8, u8, bool)>::arbitrary(&mut u) else { return };
    let mut config = EndpointConfig {
        token_length: token_length % 9,
        default_block_szx: nstart >> 4,
        ..EndpointConfig::default()
    };
    config.transmission.nstart = usize::from(nstart % 3) + 1;
    if small {
        config.max_requests = 4;
        config.max_dedup_entries = 4;
        config.max_message_size = 64;
        config.max_reassembly_bytes = 100;
        config.transmission.max_retransmit = 1;
    }
    let peers = peers();
    let mut h = Harness {
        ep: Endpoint::new(config.clone(), seed),
        config,
        now: Instant::ZERO,
        sent: Vec::new(),
        ids: Vec::new(),
        observations: BTreeSet::new(),
        ended: BTreeSet::new(),
    };
    for _ in 0..128 {
        let Ok(step) = Step::arbitrary(&mut u) else { break };
        let now = h.now;
        match step {
            Step::Request { peer, method, non, path, payload } => {
                let peer = peers[usize::from(peer) % 3];
                let code = Code::new(0, method % 8).unwrap_or(Code::GET);
                let Ok(mut r) = Request::builder(code)
                    .path(&"p/".repeat(usize::from(path % 8)))
                    .payload(vec![0x5a; usize::from(payload)])
                    .build()
                else {
                    continue;
                };
                r.confirmable = !non;
                if let Ok(id) = h.ep.request(now, peer, r) {
                    h.ids.push(id);
                }
            }
            Step::Large { peer, method, non, len, block2 } => {
                let peer = peers[usize::from(peer) % 3];
                let code = Code::new(0, method % 8).unwrap_or(Code::POST);
                let mut r = Request::builder(code)
                    .path("large")
                    .payload(vec![0xa5; usize::from(len)])
                    .build()
                    .unwrap_or_else(|_| Request::new(code));
                if let Some(block) = block2.and_then(|(num, szx)| Block::new(u32::from(num), false, szx % 8)) {
                    r.options = r.options.iter().fold(Options::builder(), |b, o| b.push(o.number, o.value)).push_block2(block).build().unwrap_or_default();
                }
                r.confirmable = !non;
                if let Ok(id) = h.ep.request(now, peer, r) {
                    h.ids.push(id);
                }
            }
            Step::Observe { peer, non, fetch } => {
                let peer = peers[usize::from(peer) % 3];
                let code = if fetch { Code::FETCH } else { Code::GET };
                let Ok(mut r) = Request::builder(code).path("obs").build() else { continue };
                r.confirmable = !non;
                if let Ok(id) = h.ep.observe(now, peer, r) {
                    h.ids.push(id);
                    h.observations.insert(id);
                }
            }
            Step::Ping { peer } => {
                if let Ok(id) = h.ep.ping(now, peers[usize::from(peer) % 3]) {
                    h.ids.push(id);
                }
            }
            Step::Cancel { pick } => {
                if h.ids.is_empty() {
                    continue;
                }
                let id = h.ids[usize::from(pick) % h.ids.len()];
                h.ep.cancel(now, id);
                // The timers due run first and may end it with an event; after that, a
                // cancelled request gets none: count it as ended.
                h.check();
                h.ended.insert(id);
            }
            Step::Answer { pick, kind, code, critical } => {
                if h.sent.is_empty() {
                    continue;
                }
                let (peer, sent) = h.sent[usize::from(pick) % h.sent.len()].clone();
                let response_code = Code::new(2 + code % 4, code >> 3).unwrap_or(Code::CONTENT);
                let options = if critical {
                    Options::builder().push(OptionNumber(9), "x").push(OptionNumber(65001), "?").build().unwrap_or_default()
                } else {
                    Options::builder().push_content_format(tern_coap::value::ContentFormat::TEXT_PLAIN).build().unwrap_or_default()
                };
                let answer = match kind {
                    Answer::EmptyAck => Message::empty(MessageType::Acknowledgement, sent.message_id),
                    Answer::Reset => Message::empty(MessageType::Reset, sent.message_id),
                    Answer::Piggybacked | Answer::PiggybackedWrongToken => Message {
                        mtype: MessageType::Acknowledgement,
                        code: response_code,
                        message_id: sent.message_id,
                        token: if matches!(kind, Answer::Piggybacked) {
                            sent.token
                        } else {
                            Token::new(&[0xee]).unwrap_or_default()
                        },
                        options,
                        payload: Bytes::from_static(b"answer"),
                    },
                    Answer::SeparateCon { mid } | Answer::SeparateNon { mid } => Message {
                        mtype: if matches!(kind, Answer::SeparateCon { .. }) {
                            MessageType::Confirmable
                        } else {
                            MessageType::NonConfirmable
                        },
                        code: response_code,
                        message_id: mid,
                        token: sent.token,
                        options,
                        payload: Bytes::new(),
                    },
                    Answer::Echo => sent,
                    Answer::Block2 { num, more, szx, etag, size2, short } => {
                        let block = Block::new(u32::from(num), more, szx % 8);
                        let size = 16usize << (szx % 8).min(6);
                        let mut b = Options::builder();
                        if let Some(block) = block {
                            b = b.push_block2(block);
                        }
                        if let Some(tag) = ETag::new(&[etag % 3]) {
                            b = b.push_etag(tag);
                        }
                        if let Some(s2) = size2 {
                            b = b.push_size2(u32::from(s2) * 16);
                        }
                        piggybacked(&sent, response_code, b, size - usize::from(short))
                    }
                    Answer::Block1 { num, more, szx, cont } => {
                        let mut b = Options::builder();
                        if let Some(block) = Block::new(u32::from(num), more, szx % 8) {
                            b = b.push_block1(block);
                        }
                        let code = if cont { Code::CONTINUE } else { Code::CHANGED };
                        piggybacked(&sent, code, b, 0)
                    }
                    Answer::TooLarge { szx, size1 } => {
                        let mut b = Options::builder();
                        if let Some(block) = szx.and_then(|s| Block::new(0, true, s % 7)) {
                            b = b.push_block1(block);
                        }
                        if let Some(s1) = size1 {
                            b = b.push_size1(u32::from(s1));
                        }
                        piggybacked(&sent, Code::REQUEST_ENTITY_TOO_LARGE, b, 0)
                    }
                    Answer::Notification { con, mid, seq, max_age, block2 } => {
                        let mut b = Options::builder();
                        if let Some(seq) = seq {
                            b = b.push_observe(Observe::wrapping(seq));
                        }
                        if let Some(age) = max_age {
                            b = b.push_max_age(u32::from(age));
                        }
                        let mut len = 5;
                        if block2 {
                            if let Some(block) = Block::new(0, true, 2) {
                                b = b.push_block2(block);
                            }
                            len = 64;
                        }
                        Message {
                            mtype: if con { MessageType::Confirmable } else { MessageType::NonConfirmable },
                            code: response_code,
                            message_id: mid,
                            token: sent.token,
                            options: b.build().unwrap_or_default(),
                            payload: Bytes::from(vec![0x6e; len]),
                        }
                    }
                };
                if let Some(bytes) = encode(&answer) {
                    h.ep.handle_datagram(now, peer, bytes);
                }
            }
            Step::Message { peer } => {
                let Ok(m) = message(&mut u) else { break };
                if let Some(bytes) = encode(&m) {
                    h.ep.handle_datagram(now, peers[usize::from(peer) % 3], bytes);
                }
            }
            Step::Raw { peer, bytes } => {
                h.ep.handle_datagram(now, peers[usize::from(peer) % 3], Bytes::from(bytes));
            }
            Step::Advance(ms) => {
                h.now = now + Duration::from_millis(u64::from(ms));
                continue;
            }
            Step::Jump(s) => {
                h.now = now + Duration::from_secs(u64::from(s));
                continue;
            }
            Step::Timeout => h.ep.handle_timeout(now),
        }
        h.check();
    }
    // Time runs out: every request ends, and nothing is left to time.
    for _ in 0..100_000 {
        let Some(deadline) = h.ep.poll_timeout() else { break };
        h.now = h.now.max(deadline);
        h.ep.handle_timeout(h.now);
        h.check();
    }
    assert_eq!(h.ep.poll_timeout(), None, "deadlines remain after all ran out");
    assert_eq!(h.ep.requests_len(), 0, "a request never ended");
    for id in &h.ids {
        assert!(h.ended.contains(id), "{id:?} never ended");
    }
});
