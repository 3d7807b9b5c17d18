//! Drives a CoAP endpoint as a client: arbitrary requests, pings and cancellations to three
//! peers, answers crafted from what it sent (ACKs, piggybacked and separate responses, RSTs,
//! with right or wrong tokens and Message IDs, repeated), arbitrary valid messages, raw
//! datagrams, and time jumps. It must never panic, every datagram it sends must decode, its
//! next deadline must be after the time it was last given, each request ends at most once,
//! and its limits hold.
#![no_main]

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::time::Duration;

use arbitrary::{Arbitrary, Unstructured};
use bytes::{Bytes, BytesMut};
use libfuzzer_sys::fuzz_target;
use tern_coap::arbitrary::message;
use tern_coap::endpoint::{Endpoint, EndpointConfig, Event, Instant, Request, RequestId};
use tern_coap::option::{OptionNumber, Options};
use tern_coap::{Code, Message, MessageType, Token};

#[derive(Arbitrary, Debug)]
enum Step {
    Request { peer: u8, method: u8, non: bool, path: u8, payload: u8 },
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
}

fn peers() -> [SocketAddr; 3] {
    [
        "192.0.2.1:5683".parse().unwrap(),
        "192.0.2.2:5683".parse().unwrap(),
        "[2001:db8::1]:5683".parse().unwrap(),
    ]
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
            assert!(t.datagram.len() <= self.config.max_message_size.max(4 + 8 + 64));
            if self.sent.len() < 256 {
                self.sent.push((t.destination, m));
            }
        }
        while let Some(event) = self.ep.poll_event() {
            match event {
                Event::Response { id, .. } | Event::RequestFailed { id, .. } | Event::Pong { id } => {
                    assert!(self.ended.insert(id), "{id:?} ended twice");
                    assert!(self.ids.contains(&id), "an event for an unknown {id:?}");
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
        ..EndpointConfig::default()
    };
    config.transmission.nstart = usize::from(nstart % 3) + 1;
    if small {
        config.max_requests = 4;
        config.max_dedup_entries = 4;
        config.max_message_size = 64;
        config.transmission.max_retransmit = 1;
    }
    let peers = peers();
    let mut h = Harness {
        ep: Endpoint::new(config.clone(), seed),
        config,
        now: Instant::ZERO,
        sent: Vec::new(),
        ids: Vec::new(),
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
