//! Drives one whole broker core (`tern_broker::Broker`) with up to eight clients' arbitrary
//! byte streams, valid packets, accepts, closes, slow and fast adapters and time. It must
//! never panic, never leave its next deadline at or before `now` once a timeout is handled,
//! and keep its memory bounded: no more connections than are open, no more sessions than
//! connections were ever accepted, and once every connection is closed and every session
//! has expired (the configuration caps the Session Expiry Interval), none left at all.
//!
//! Input: byte 0 picks the configuration (`config`), then records of an operation byte and
//! its operands; the slot of an operation is `op >> 5` (eight slots, one connection each):
//!
//! | `op & 7` | operation | operands |
//! |---|---|---|
//! | 0 | accept a connection in the slot (closing the one there first) | |
//! | 1 | client bytes (fed while the broker reads the slot, kept until it does) | u16 length, big-endian, then the bytes |
//! | 2 | the slot's transport ends (`handle_closed`) | |
//! | 3 | time passes, then `handle_timeout` when due | u16 × 10 ms |
//! | 4 | the adapter writes what the broker has for the slot; bit 3: the client acknowledges what it got | |
//! | 5 | a valid packet from the generator, at the slot's level | `arbitrary` bytes |
//! | 6 | a CONNECT | one byte: bits 0–1 client id `f0`–`f3`, 2 clean start, 3 MQTT 5.0 (else 3.1.1), 4 a will (5.0: delayed 3 s), 5 keep alive 2 s, 6 user name and password, 7 Session Expiry Interval 30 s |
//! | 7 | a PUBLISH or SUBSCRIBE | one byte: bit 0 subscribe, bits 1–2 QoS, bits 3–5 topic / filter, bit 6 retain, bit 7 empty payload |
//!
//! Lengths are explicit so that seeds can be written by hand.
#![no_main]

use std::collections::VecDeque;
use std::time::Duration;

use arbitrary::Unstructured;
use bytes::{Bytes, BytesMut};
use libfuzzer_sys::fuzz_target;
use tern_broker::config::{Limits, ServerConfig};
use tern_broker::retained::RetainedLimits;
use tern_broker::session::SessionLimits;
use tern_broker::{Broker, BrokerConfig, ConnectionId, Event};
use tern_mqtt::arbitrary::packet;
use tern_mqtt::{
    Codec, Connect, Decoded, MqttString, Packet, PacketId, Properties, Property, ProtocolVersion,
    PubAck, PubComp, PubRec, Publish, QoS, Subscribe, Subscription, SubscriptionOptions,
    TopicFilter, TopicName, Will,
};
use tern_time::Instant;

const SLOTS: usize = 8;
const TOPICS: [&str; 8] = ["a", "a/b", "b/b", "$SYS/x", "a/b/c", "t", "$x", "b"];
const FILTERS: [&str; 8] = [
    "#",
    "a/+",
    "$SYS/#",
    "$share/g/a/#",
    "a/b",
    "+/b",
    "t",
    "+",
];
/// The longest Session Expiry Interval any configuration grants, seconds.
const MAX_EXPIRY: u32 = 60;

fn config(flags: u8) -> BrokerConfig {
    let bit = |n: u8| flags & (1 << n) != 0;
    let mut c = BrokerConfig::default();
    let mut server = ServerConfig::new().with_connect_timeout(Duration::from_secs(3));
    if bit(5) {
        server = server.with_limits(
            Limits::new()
                .with_max_packet_size(512)
                .with_receive_maximum(2)
                .with_topic_alias_maximum(2)
                .with_max_topic_len(32)
                .with_max_topic_levels(4)
                .with_max_keep_alive(30)
                .with_max_client_id_len(8),
        );
    }
    c.server = server;
    if bit(0) {
        c.sessions = SessionLimits::default().max_queued(2).max_queued_bytes(256);
    }
    c.allow_anonymous = !bit(1);
    c.sys_interval = bit(2).then_some(Duration::from_secs(5));
    if bit(3) {
        c.max_connections = 3;
    }
    if bit(4) {
        c.retained = RetainedLimits {
            max_messages: 3,
            max_bytes: 64,
        };
    }
    if bit(6) {
        c.max_subscriptions = 2;
    }
    c.max_session_expiry = if bit(7) { 10 } else { MAX_EXPIRY };
    c
}

/// A big-endian u16 from the input (zero once it runs out).
fn be16(u: &mut Unstructured<'_>) -> u16 {
    match u.bytes(2) {
        Ok(&[hi, lo]) => u16::from_be_bytes([hi, lo]),
        _ => 0,
    }
}

fn byte(u: &mut Unstructured<'_>) -> Option<u8> {
    match u.bytes(1) {
        Ok(&[b]) => Some(b),
        _ => None,
    }
}

/// One slot: a connection, the bytes its client sent that the broker has not read yet, and
/// what the adapter has written to it.
#[derive(Default)]
struct Slot {
    id: Option<ConnectionId>,
    version: Option<ProtocolVersion>,
    unread: Vec<u8>,
    written: BytesMut,
    next_id: u16,
}

struct Run {
    broker: Broker,
    now: Instant,
    slots: [Slot; SLOTS],
    accepted: usize,
}

impl Run {
    fn slot_of(&self, id: ConnectionId) -> Option<usize> {
        self.slots.iter().position(|s| s.id == Some(id))
    }

    /// What an adapter does with the broker's events. Bytes for a slot are written only when
    /// the input says so (op 4), unless the connection is closing.
    fn events(&mut self) {
        let mut resumed = VecDeque::new();
        let mut rounds = 0;
        while let Some(event) = self.broker.poll_event() {
            rounds += 1;
            assert!(rounds < 1_000_000, "the broker's events never end");
            match event {
                Event::Transmit(_) => {}
                Event::Close(id) => {
                    self.write(id);
                    self.broker.handle_closed(self.now, id);
                    if let Some(i) = self.slot_of(id) {
                        self.slots[i] = Slot::default();
                    }
                }
                Event::Resume(id) => resumed.push_back(id),
                Event::Authenticate {
                    connection,
                    password,
                    ..
                } => {
                    let ok = password.is_some_and(|p| p.first().is_some_and(|b| b % 2 == 0));
                    self.broker.authenticated(self.now, connection, ok);
                }
                _ => {}
            }
            while let Some(id) = resumed.pop_front() {
                self.feed(id);
            }
        }
    }

    /// Moves what the broker has for connection `id` to its slot.
    fn write(&mut self, id: ConnectionId) {
        let slot = self.slot_of(id);
        loop {
            let mut buf = BytesMut::new();
            if self.broker.poll_transmit(self.now, id, &mut buf) == 0 {
                break;
            }
            if let Some(i) = slot {
                let written = &mut self.slots[i].written;
                // The client reads it; keep only a tail to answer from.
                if written.len() > 1 << 20 {
                    written.clear();
                }
                written.extend_from_slice(&buf);
            }
        }
    }

    /// Feeds a slot's unread bytes while the broker reads it.
    fn feed(&mut self, id: ConnectionId) {
        let Some(i) = self.slot_of(id) else { return };
        if self.broker.wants_read(id) && !self.slots[i].unread.is_empty() {
            let bytes = std::mem::take(&mut self.slots[i].unread);
            self.broker.handle_read(self.now, id, &bytes);
        }
    }

    fn send_bytes(&mut self, i: usize, bytes: &[u8]) {
        let Some(id) = self.slots[i].id else { return };
        let unread = &mut self.slots[i].unread;
        // A transport holds so much before the client stops writing.
        if unread.len() + bytes.len() <= 1 << 20 {
            unread.extend_from_slice(bytes);
        }
        self.feed(id);
    }

    fn send(&mut self, i: usize, packet: &Packet) {
        let version = self.slots[i].version.unwrap_or(ProtocolVersion::V5);
        let mut wire = BytesMut::new();
        if Codec::new(version).encode(packet, &mut wire).is_ok() {
            self.send_bytes(i, &wire);
        }
    }

    /// The client of slot `i` answers what it was written: PUBACK, PUBREC, PUBCOMP.
    fn acknowledge(&mut self, i: usize) {
        let version = self.slots[i].version.unwrap_or(ProtocolVersion::V5);
        let codec = Codec::new(version);
        let mut answers = Vec::new();
        let written = &mut self.slots[i].written;
        loop {
            match codec.decode(written) {
                Ok(Decoded::Packet(Packet::Publish(p))) => match (p.qos, p.packet_id) {
                    (QoS::AtLeastOnce, Some(id)) => answers.push(Packet::PubAck(PubAck::new(id))),
                    (QoS::ExactlyOnce, Some(id)) => answers.push(Packet::PubRec(PubRec::new(id))),
                    _ => {}
                },
                Ok(Decoded::Packet(Packet::PubRel(r))) => {
                    answers.push(Packet::PubComp(PubComp::new(r.packet_id)));
                }
                Ok(Decoded::Packet(_)) => {}
                Ok(Decoded::Incomplete { .. }) => break,
                Err(_) => {
                    written.clear();
                    break;
                }
            }
        }
        for answer in answers {
            self.send(i, &answer);
        }
    }

    fn connect(&mut self, i: usize, b: u8) {
        let bit = |n: u8| b & (1 << n) != 0;
        let version = if bit(3) {
            ProtocolVersion::V5
        } else {
            ProtocolVersion::V3_1_1
        };
        let Ok(client_id) = MqttString::new(&format!("f{}", b & 3)) else {
            return;
        };
        let mut connect = Connect::new(version, client_id);
        connect.clean_start = bit(2);
        connect.keep_alive = if bit(5) { 2 } else { 0 };
        if bit(4) {
            if let Ok(topic) = TopicName::new("will") {
                let mut will = Will::new(topic, Bytes::from_static(b"gone"));
                will.qos = QoS::AtLeastOnce;
                if version.is_v5() {
                    if let Ok(p) = Properties::from_properties([Property::WillDelayInterval(3)]) {
                        will.properties = p;
                    }
                }
                connect.will = Some(will);
            }
        }
        if bit(6) {
            connect.username = MqttString::new("u").ok();
            connect.password = Some(Bytes::from_static(b"2"));
        }
        if version.is_v5() && bit(7) {
            if let Ok(p) = Properties::from_properties([Property::SessionExpiryInterval(30)]) {
                connect.properties = p;
            }
        }
        self.slots[i].version = Some(version);
        self.send(i, &Packet::Connect(Box::new(connect)));
    }

    fn publish_or_subscribe(&mut self, i: usize, b: u8) {
        let qos = QoS::from_u8((b >> 1) & 3).unwrap_or(QoS::ExactlyOnce);
        let index = usize::from((b >> 3) & 7);
        let slot = &mut self.slots[i];
        slot.next_id = slot.next_id.checked_add(1).unwrap_or(1);
        let Some(packet_id) = PacketId::new(slot.next_id) else {
            return;
        };
        if b & 1 != 0 {
            let Ok(filter) = TopicFilter::new(FILTERS[index]) else {
                return;
            };
            let subscription = Subscription {
                filter,
                options: SubscriptionOptions::qos(qos),
            };
            self.send(
                i,
                &Packet::Subscribe(Subscribe::new(packet_id, vec![subscription])),
            );
        } else {
            let Ok(topic) = TopicName::new(TOPICS[index]) else {
                return;
            };
            let payload = if b & 0x80 != 0 {
                Bytes::new()
            } else {
                Bytes::from(vec![b'x'; index * 16])
            };
            let mut p = Publish::new(topic, payload);
            p.qos = qos;
            p.retain = b & 0x40 != 0;
            p.packet_id = (qos != QoS::AtMostOnce).then_some(packet_id);
            self.send(i, &Packet::Publish(p));
        }
    }

    fn advance(&mut self, by: Duration) {
        self.now = self.now + by;
        let mut rounds = 0;
        while self.broker.poll_timeout().is_some_and(|at| at <= self.now) {
            rounds += 1;
            assert!(rounds < 1_000, "handle_timeout leaves its deadline in the past");
            self.broker.handle_timeout(self.now);
            self.events();
        }
        if let Some(at) = self.broker.poll_timeout() {
            assert!(at > self.now, "deadline {at:?} not after {:?}", self.now);
        }
    }

    fn check(&self) {
        let open = self.slots.iter().filter(|s| s.id.is_some()).count();
        assert!(
            self.broker.connections() <= open,
            "{} connections with {open} open",
            self.broker.connections()
        );
        // Beyond the limit, a few connections are accepted only to be refused in CONNACK.
        assert!(
            self.broker.connections()
                <= self.broker.config().max_connections + tern_broker::broker::OVER_LIMIT
        );
        assert!(
            self.broker.sessions() <= self.accepted,
            "{} sessions after {} accepts",
            self.broker.sessions(),
            self.accepted
        );
        let limits = self.broker.config().retained;
        assert!(self.broker.retained().len() <= limits.max_messages);
        assert!(self.broker.retained().bytes() <= limits.max_bytes);
    }
}

fuzz_target!(|data: &[u8]| {
    let [flags, rest @ ..] = data else {
        return;
    };
    let now = Instant::from_millis(1);
    let mut run = Run {
        broker: Broker::new(config(*flags), now),
        now,
        slots: Default::default(),
        accepted: 0,
    };
    let mut u = Unstructured::new(rest);

    for _ in 0..256 {
        let Some(op) = byte(&mut u) else { break };
        let i = usize::from(op >> 5);
        match op & 7 {
            0 => {
                if let Some(old) = run.slots[i].id.take() {
                    run.broker.handle_closed(run.now, old);
                }
                run.slots[i] = Slot::default();
                if let Ok(id) = run.broker.accept(run.now) {
                    run.slots[i].id = Some(id);
                    run.accepted += 1;
                }
            }
            1 => {
                let len = usize::from(be16(&mut u));
                let Ok(bytes) = u.bytes(len.min(u.len())) else {
                    break;
                };
                run.send_bytes(i, bytes);
            }
            2 => {
                if let Some(id) = run.slots[i].id.take() {
                    run.broker.handle_closed(run.now, id);
                }
                run.slots[i] = Slot::default();
            }
            3 => {
                let by = Duration::from_millis(u64::from(be16(&mut u)) * 10);
                run.advance(by);
            }
            4 => {
                if let Some(id) = run.slots[i].id {
                    run.write(id);
                    if op & 8 != 0 {
                        run.acknowledge(i);
                    }
                }
            }
            5 => {
                let version = run.slots[i].version.unwrap_or(ProtocolVersion::V5);
                let Ok(p) = packet(&mut u, version) else {
                    break;
                };
                run.send(i, &p);
            }
            6 => {
                let Some(b) = byte(&mut u) else { break };
                run.connect(i, b);
            }
            _ => {
                let Some(b) = byte(&mut u) else { break };
                run.publish_or_subscribe(i, b);
            }
        }
        run.events();
        run.check();
    }

    // Every transport ends and every session outlives it by at most MAX_EXPIRY (wills by
    // less): then nothing is left.
    for i in 0..SLOTS {
        if let Some(id) = run.slots[i].id.take() {
            run.broker.handle_closed(run.now, id);
        }
        run.events();
    }
    run.advance(Duration::from_secs(u64::from(MAX_EXPIRY) + 1));
    run.check();
    assert_eq!(run.broker.connections(), 0, "connections left after every close");
    assert_eq!(
        run.broker.sessions(),
        0,
        "sessions left after every expiry interval passed"
    );
});
