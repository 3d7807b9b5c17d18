//! Model-based property test of the client: random interleavings of publishes, broker
//! acknowledgements, incoming messages (with duplicates), connection losses, reconnections with
//! and without a session, and time jumps. Checked after every step and at the end:
//!
//! - every byte the client writes decodes under the strict codec;
//! - packet identifiers are unique among the client's unacknowledged packets;
//! - an incoming QoS 2 message is delivered once, however often the broker resends it;
//! - the next deadline is never in the past after handling (no busy loop);
//! - every publication gets exactly one outcome (`Published` or, only when the server lost the
//!   session, `Dropped`): no QoS 1/2 message is lost silently.

use std::collections::{BTreeMap, BTreeSet};

use bytes::{Bytes, BytesMut};
use proptest::prelude::*;
use tern_mqtt::client::{Client, ClientConfig, Event, Instant, PublishId};
use tern_mqtt::packet::MAX_PACKET_SIZE;
use tern_mqtt::{
    Codec, ConnAck, Decoded, MqttString, Packet, PacketId, ProtocolVersion, PubAck, PubComp,
    PubRec, PubRel, Publish, QoS, TopicName,
};

#[derive(Debug, Clone)]
enum Op {
    Publish(u8),
    AckOldest,
    AckNewest,
    Incoming { qos: u8, resend: bool },
    ReleaseIncoming,
    Drop,
    Reconnect { session_present: bool },
    Advance(u16),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (0u8..3).prop_map(Op::Publish),
        3 => Just(Op::AckOldest),
        1 => Just(Op::AckNewest),
        2 => ((0u8..3), any::<bool>()).prop_map(|(qos, resend)| Op::Incoming { qos, resend }),
        1 => Just(Op::ReleaseIncoming),
        1 => Just(Op::Drop),
        1 => any::<bool>().prop_map(|session_present| Op::Reconnect { session_present }),
        1 => (0u16..20_000).prop_map(Op::Advance),
    ]
}

/// The broker's view: what the client sent and has not had answered.
struct Broker {
    version: ProtocolVersion,
    codec: Codec,
    buf: BytesMut,
    connected: bool,
    /// Client PUBLISH (QoS 1/2) awaiting PUBACK/PUBREC, and PUBREL awaiting PUBCOMP, by id.
    unacked: BTreeMap<u16, (QoS, bool)>,
    /// Incoming QoS 2 we sent and have not released: id -> payload.
    our_qos2: BTreeMap<u16, Bytes>,
    next_in_id: u16,
    next_payload: u64,
}

impl Broker {
    fn absorb(&mut self, client: &mut Client) {
        while let Some(b) = client.poll_transmit() {
            self.buf.extend_from_slice(&b);
        }
        loop {
            let decoded = self
                .codec
                .decode_mut(&mut self.buf)
                .expect("client bytes must decode");
            let Decoded::Packet(p) = decoded else { break };
            match p {
                Packet::Connect(_) | Packet::PingReq | Packet::Disconnect(_) => {}
                Packet::Publish(p) => {
                    if let Some(id) = p.packet_id {
                        let fresh = self.unacked.insert(id.get(), (p.qos, false));
                        assert!(
                            fresh.is_none() || p.dup,
                            "packet id {id} reused while unacknowledged"
                        );
                    }
                }
                Packet::PubRel(r) => {
                    self.unacked
                        .insert(r.packet_id.get(), (QoS::ExactlyOnce, true));
                }
                Packet::PubAck(_) | Packet::PubRec(_) | Packet::PubComp(_) => {}
                other => panic!("unexpected packet from the client: {other:?}"),
            }
        }
    }

    fn send(&self, client: &mut Client, now: Instant, p: Packet) {
        let mut w = BytesMut::new();
        p.encode(self.version, MAX_PACKET_SIZE, &mut w).unwrap();
        client.handle_read(now, &w);
    }

    fn ack(&mut self, client: &mut Client, now: Instant, id: u16) {
        let Some((qos, released)) = self.unacked.remove(&id) else {
            return;
        };
        let pid = PacketId::new(id).unwrap();
        let p = match (qos, released) {
            (QoS::AtLeastOnce, _) => Packet::PubAck(PubAck::new(pid)),
            (QoS::ExactlyOnce, false) => Packet::PubRec(PubRec::new(pid)),
            _ => Packet::PubComp(PubComp::new(pid)),
        };
        self.send(client, now, p);
    }
}

struct World {
    client: Client,
    broker: Broker,
    now: Instant,
    outcomes: BTreeMap<PublishId, usize>,
    accepted: BTreeSet<PublishId>,
    delivered: Vec<Bytes>,
    released_payloads: BTreeSet<Bytes>,
}

impl World {
    fn drain(&mut self) {
        self.broker.absorb(&mut self.client);
        while let Some(e) = self.client.poll_event() {
            match e {
                Event::Published { id, .. } => *self.outcomes.entry(id).or_default() += 1,
                Event::Dropped { ids } => {
                    for id in ids {
                        *self.outcomes.entry(id).or_default() += 1;
                    }
                }
                Event::Message(p) => self.delivered.push(p.payload),
                Event::Disconnected(_) => self.broker.connected = false,
                Event::Connected { .. }
                | Event::Subscribed { .. }
                | Event::Unsubscribed { .. }
                | Event::Auth(_)
                | Event::Resubscribed { .. } => {}
            }
        }
        self.broker.absorb(&mut self.client);
        if let Some(deadline) = self.client.poll_timeout() {
            assert!(
                deadline > self.now || !self.broker.connected,
                "deadline {deadline:?} not after now {:?}: a busy loop",
                self.now
            );
        }
    }

    fn reconnect(&mut self, session_present: bool) {
        if !session_present {
            self.broker.unacked.clear();
            self.broker.our_qos2.clear();
        }
        self.broker.codec = Codec::server().with_max_incoming(MAX_PACKET_SIZE);
        self.broker.buf.clear();
        self.client.connect(self.now);
        self.broker.absorb(&mut self.client);
        let connack = ConnAck::new(session_present);
        self.broker.connected = true;
        let now = self.now;
        self.broker
            .send(&mut self.client, now, Packet::ConnAck(connack));
        self.drain();
    }

    fn step(&mut self, op: Op) {
        let now = self.now;
        match op {
            Op::Publish(q) => {
                let mut p = Publish::new(TopicName::new("m/t").unwrap(), Bytes::from_static(b"x"));
                p.qos = QoS::from_u8(q).unwrap();
                if let Ok(id) = self.client.publish(now, p) {
                    self.accepted.insert(id);
                }
            }
            Op::AckOldest | Op::AckNewest if self.broker.connected => {
                let id = if matches!(op, Op::AckOldest) {
                    self.broker.unacked.keys().next().copied()
                } else {
                    self.broker.unacked.keys().next_back().copied()
                };
                if let Some(id) = id {
                    self.broker.ack(&mut self.client, now, id);
                }
            }
            Op::Incoming { qos, resend } if self.broker.connected => {
                let qos = QoS::from_u8(qos).unwrap();
                let (id, payload, dup) = match (qos, resend, self.broker.our_qos2.iter().next()) {
                    (QoS::ExactlyOnce, true, Some((&id, payload))) => {
                        (Some(id), payload.clone(), true)
                    }
                    _ => {
                        self.broker.next_payload += 1;
                        let payload = Bytes::from(self.broker.next_payload.to_string());
                        let id = match qos {
                            QoS::AtMostOnce => None,
                            _ => {
                                self.broker.next_in_id = self.broker.next_in_id % 1000 + 1;
                                Some(self.broker.next_in_id)
                            }
                        };
                        (id, payload, false)
                    }
                };
                if qos == QoS::ExactlyOnce {
                    if let Some(id) = id {
                        if !dup && self.broker.our_qos2.contains_key(&id) {
                            return; // id still in use on the broker's side
                        }
                        self.broker.our_qos2.insert(id, payload.clone());
                    }
                }
                let mut p = Publish::new(TopicName::new("in").unwrap(), payload);
                p.qos = qos;
                p.dup = dup;
                p.packet_id = id.and_then(PacketId::new);
                self.broker.send(&mut self.client, now, Packet::Publish(p));
            }
            Op::ReleaseIncoming if self.broker.connected => {
                if let Some((&id, payload)) = self.broker.our_qos2.iter().next() {
                    self.released_payloads.insert(payload.clone());
                    self.broker.our_qos2.remove(&id);
                    let rel = PubRel::new(PacketId::new(id).unwrap());
                    self.broker.send(&mut self.client, now, Packet::PubRel(rel));
                }
            }
            Op::Drop => {
                self.client.handle_closed(now);
                self.broker.connected = false;
            }
            Op::Reconnect { session_present } if !self.broker.connected => {
                self.reconnect(session_present);
            }
            Op::Advance(ms) => {
                self.now = self.now + core::time::Duration::from_millis(u64::from(ms));
                self.client.handle_timeout(self.now);
            }
            _ => {}
        }
        self.drain();
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(500))]

    #[test]
    fn no_message_is_lost_duplicated_or_misnumbered(
        v5 in any::<bool>(),
        ops in proptest::collection::vec(op(), 1..120),
    ) {
        let version = if v5 { ProtocolVersion::V5 } else { ProtocolVersion::V3_1_1 };
        let mut config = ClientConfig::new(version, MqttString::new("model").unwrap());
        config.keep_alive = 5;
        config.max_inflight = 4;
        config.max_queued = 50;
        let mut w = World {
            client: Client::new(config),
            broker: Broker {
                version,
                codec: Codec::server().with_max_incoming(MAX_PACKET_SIZE),
                buf: BytesMut::new(),
                connected: false,
                unacked: BTreeMap::new(),
                our_qos2: BTreeMap::new(),
                next_in_id: 0,
                next_payload: 0,
            },
            now: Instant::ZERO,
            outcomes: BTreeMap::new(),
            accepted: BTreeSet::new(),
            delivered: Vec::new(),
            released_payloads: BTreeSet::new(),
        };
        w.reconnect(false);
        for op in ops {
            w.step(op);
        }
        // Settle: a connection with the session kept, acknowledging everything, until the
        // client holds nothing.
        for _ in 0..1_000 {
            if !w.broker.connected {
                w.reconnect(true);
            }
            if w.client.inflight_len() == 0 && w.client.queued_len() == 0 {
                break;
            }
            let ids: Vec<u16> = w.broker.unacked.keys().copied().collect();
            for id in ids {
                let now = w.now;
                w.broker.ack(&mut w.client, now, id);
                w.drain();
            }
        }
        prop_assert_eq!(w.client.inflight_len() + w.client.queued_len(), 0);
        for id in &w.accepted {
            prop_assert_eq!(w.outcomes.get(id).copied(), Some(1), "publication {:?} has {:?} outcomes", id, w.outcomes.get(id));
        }
        // Incoming: no payload twice (every payload is unique per broker message, and QoS 2
        // resends reuse theirs).
        let mut seen = BTreeSet::new();
        for p in &w.delivered {
            prop_assert!(seen.insert(p.clone()), "message {:?} delivered twice", p);
        }
    }
}
