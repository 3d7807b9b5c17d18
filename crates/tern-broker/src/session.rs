//! The server's side of an MQTT session (MQTT 5.0 §4.1): what outlives a connection.
//!
//! A [`Session`] holds, for one client identifier, the messages waiting to be sent, the QoS 1
//! and 2 messages sent but not completely acknowledged (in the order they were sent), and the
//! packet identifiers of the QoS 2 messages received whose PUBREL has not come yet. The broker
//! core keeps a session across connections for as long as its Session Expiry Interval says;
//! the subscriptions live in the subscription tree, keyed by the session.
//!
//! ```
//! # use std::sync::Arc;
//! use bytes::Bytes;
//! use tern_broker::session::{Delivery, Message, Outgoing, Session, SessionLimits};
//! use tern_mqtt::{QoS, TopicName};
//! use tern_time::Instant;
//!
//! let now = Instant::from_micros(0);
//! // The broker's limits, the same for all its sessions.
//! let limits = SessionLimits::default();
//! let mut session = Session::new();
//! let message = Arc::new(Message::new(TopicName::new("sensors/temperature")?, "21.5", QoS::AtLeastOnce));
//! session.push(Delivery::new(message, QoS::AtLeastOnce), &limits)?;
//!
//! // The client's Receive Maximum is 10: the message goes out with a packet identifier...
//! let Some(Outgoing { packet_id: Some(id), .. }) = session.next_outgoing(now, 10) else { panic!() };
//! assert_eq!(session.inflight_len(), 1);
//! // ...and is done when the PUBACK comes.
//! assert!(session.puback(id));
//! assert_eq!(session.inflight_len(), 0);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use alloc::boxed::Box;
use alloc::collections::{BTreeSet, VecDeque};
use alloc::sync::Arc;
use core::fmt;

use bytes::Bytes;
use tern_mqtt::{PacketId, Properties, QoS, TopicName};
use tern_time::Instant;

/// One application message as the broker holds it, shared by every session it goes to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// The topic it was published to (never an alias).
    pub topic: TopicName,
    /// The payload.
    pub payload: Bytes,
    /// The QoS it was published with.
    pub qos: QoS,
    /// Whether it was published retained.
    pub retain: bool,
    /// The PUBLISH properties to forward (5.0): what the publisher sent without Topic Alias
    /// and Subscription Identifier, which are per connection and per subscription.
    pub properties: Properties,
    /// When it expires, from its Message Expiry Interval (5.0 §3.3.2.3.3).
    pub expires_at: Option<Instant>,
}

impl Message {
    /// A message without properties that never expires.
    pub fn new(topic: TopicName, payload: impl Into<Bytes>, qos: QoS) -> Message {
        Message {
            topic,
            payload: payload.into(),
            qos,
            retain: false,
            properties: Properties::new(),
            expires_at: None,
        }
    }

    /// Whether it has expired at `now` (a message whose expiry is `now` has).
    pub fn is_expired(&self, now: Instant) -> bool {
        self.expires_at.is_some_and(|at| at <= now)
    }

    /// The Message Expiry Interval to send at `now`: the time left, in whole seconds rounded
    /// up, so that it never reaches 0 before it expires [MQTT-3.3.2-6].
    pub fn remaining_expiry(&self, now: Instant) -> Option<u32> {
        let at = self.expires_at?;
        let micros = at.as_micros().saturating_sub(now.as_micros());
        Some(u32::try_from(micros.div_ceil(1_000_000)).unwrap_or(u32::MAX))
    }

    /// Bytes this message costs in a queue: topic, payload and properties.
    pub fn size(&self) -> usize {
        self.topic.len() + self.payload.len() + self.properties.as_bytes().len()
    }
}

/// One message on its way to one session: the shared message and what this subscriber's
/// subscriptions made of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    /// The message.
    pub message: Arc<Message>,
    /// The QoS to send it with: the lower of the publication's and the subscription's.
    pub qos: QoS,
    /// The RETAIN flag to send: set for a retained message sent because of a subscription,
    /// or as published under Retain As Published.
    pub retain: bool,
    /// The Subscription Identifiers of the matching subscriptions (5.0).
    pub identifiers: Box<[u32]>,
}

impl Delivery {
    /// A delivery at `qos` with the RETAIN flag clear and no Subscription Identifier.
    pub fn new(message: Arc<Message>, qos: QoS) -> Delivery {
        Delivery {
            message,
            qos,
            retain: false,
            identifiers: Box::default(),
        }
    }
}

/// Limits of one session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct SessionLimits {
    /// Messages waiting to be sent (not counting those in flight).
    pub max_queued: usize,
    /// Bytes of the messages waiting to be sent ([`Message::size`]).
    pub max_queued_bytes: usize,
}

impl Default for SessionLimits {
    /// 1,000 messages and 16 MiB.
    fn default() -> SessionLimits {
        SessionLimits {
            max_queued: 1_000,
            max_queued_bytes: 16 << 20,
        }
    }
}

impl SessionLimits {
    /// The limits with `messages` queued at most.
    pub fn max_queued(mut self, messages: usize) -> SessionLimits {
        self.max_queued = messages;
        self
    }

    /// The limits with `bytes` queued at most.
    pub fn max_queued_bytes(mut self, bytes: usize) -> SessionLimits {
        self.max_queued_bytes = bytes;
        self
    }
}

/// The session's queue is full: the delivery was not taken.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueFull(pub Delivery);

impl fmt::Display for QueueFull {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the session's queue of messages to send is full")
    }
}

#[cfg(feature = "std")]
impl std::error::Error for QueueFull {}

/// Where a QoS 1 or 2 message sent stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    /// Sent; waiting for PUBACK (QoS 1) or PUBREC (QoS 2).
    Sent,
    /// PUBREC came and PUBREL went; waiting for PUBCOMP.
    Released,
}

#[derive(Debug, Clone)]
struct InFlight {
    packet_id: PacketId,
    delivery: Delivery,
    stage: Stage,
    /// Sent on an earlier connection and not yet again on this one ([`Session::resend`]).
    unsent: bool,
}

/// A message to send now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outgoing {
    /// Its packet identifier, for QoS 1 and 2.
    pub packet_id: Option<PacketId>,
    /// Whether it was sent before (DUP, [MQTT-3.3.1-1]).
    pub dup: bool,
    /// What to send.
    pub delivery: Delivery,
}

/// The server's state of one session; see the [module](self).
///
/// A broker keeps one per client identifier, most of them idle: what it queues, has in
/// flight or has received is boxed, allocated with the first message and released when the
/// last one is done. The limits are the broker's, passed to the calls that need them
/// rather than copied into every session.
#[derive(Debug, Clone)]
pub struct Session {
    /// `None` while nothing is queued, in flight or received.
    messages: Option<Box<Messages>>,
    /// The packet identifier to try next; kept while idle, so identifiers go on counting.
    next_packet_id: u16,
}

/// A session's messages: queued, in flight, received.
#[derive(Debug, Clone, Default)]
struct Messages {
    queue: VecDeque<Delivery>,
    queued_bytes: usize,
    in_flight: VecDeque<InFlight>,
    /// The packet identifiers of `in_flight`, to find a free one without a scan.
    in_use: BTreeSet<PacketId>,
    /// Received QoS 2 messages whose PUBREL has not come: a PUBLISH again with one of these
    /// identifiers is a duplicate, not a new message.
    received: BTreeSet<PacketId>,
    /// How many of `in_flight` are `unsent`.
    unsent: usize,
}

impl Messages {
    fn is_empty(&self) -> bool {
        self.queue.is_empty() && self.in_flight.is_empty() && self.received.is_empty()
    }

    fn next_outgoing(
        &mut self,
        now: Instant,
        receive_maximum: u16,
        next_packet_id: &mut u16,
    ) -> Option<Outgoing> {
        while self.unsent > 0 {
            // Those not sent again yet do not count against this connection's window.
            if self.in_flight.len() - self.unsent >= usize::from(receive_maximum) {
                return None;
            }
            let i = self.in_flight.iter().position(|f| f.unsent)?;
            self.unsent -= 1;
            let expired = self
                .in_flight
                .get(i)
                .is_some_and(|f| f.delivery.message.is_expired(now));
            if expired {
                self.complete(i);
                continue;
            }
            let f = self.in_flight.get_mut(i)?;
            f.unsent = false;
            return Some(Outgoing {
                packet_id: Some(f.packet_id),
                dup: true,
                delivery: f.delivery.clone(),
            });
        }
        loop {
            let front = self.queue.front()?;
            if front.message.is_expired(now) {
                self.pop_queued();
                continue;
            }
            if front.qos == QoS::AtMostOnce {
                let delivery = self.pop_queued()?;
                return Some(Outgoing {
                    packet_id: None,
                    dup: false,
                    delivery,
                });
            }
            if self.in_flight.len() >= usize::from(receive_maximum) {
                return None;
            }
            let packet_id = self.free_packet_id(next_packet_id)?;
            let delivery = self.pop_queued()?;
            self.in_use.insert(packet_id);
            self.in_flight.push_back(InFlight {
                packet_id,
                delivery: delivery.clone(),
                stage: Stage::Sent,
                unsent: false,
            });
            return Some(Outgoing {
                packet_id: Some(packet_id),
                dup: false,
                delivery,
            });
        }
    }

    fn pop_queued(&mut self) -> Option<Delivery> {
        let delivery = self.queue.pop_front()?;
        self.queued_bytes = self.queued_bytes.saturating_sub(delivery.message.size());
        Some(delivery)
    }

    /// A packet identifier no message in flight uses, counting on from `next`.
    fn free_packet_id(&self, next: &mut u16) -> Option<PacketId> {
        for _ in 0..=u16::MAX {
            let candidate = PacketId::new(*next);
            *next = next.checked_add(1).unwrap_or(1);
            if let Some(id) = candidate {
                if !self.in_use.contains(&id) {
                    return Some(id);
                }
            }
        }
        None
    }

    /// Where the message `packet_id` at `qos` waiting at `stage` is: acknowledgements come
    /// mostly in order, so the search from the front is short.
    fn position(&self, packet_id: PacketId, qos: QoS, stage: Stage) -> Option<usize> {
        if !self.in_use.contains(&packet_id) {
            return None;
        }
        self.in_flight
            .iter()
            .position(|f| f.packet_id == packet_id && f.delivery.qos == qos && f.stage == stage)
    }

    /// Forgets the message in flight at `i`, freeing its packet identifier.
    fn complete(&mut self, i: usize) -> bool {
        match self.in_flight.remove(i) {
            Some(f) => {
                if f.unsent {
                    self.unsent -= 1;
                }
                self.in_use.remove(&f.packet_id)
            }
            None => false,
        }
    }

    fn pubrec(&mut self, packet_id: PacketId, failed: bool) -> bool {
        let Some(i) = self.position(packet_id, QoS::ExactlyOnce, Stage::Sent) else {
            return false;
        };
        if failed {
            self.complete(i);
            return false;
        }
        if let Some(f) = self.in_flight.get_mut(i) {
            f.stage = Stage::Released;
            // Acknowledged before it went out again: it need not.
            if f.unsent {
                f.unsent = false;
                self.unsent -= 1;
            }
        }
        true
    }

    fn resend(&mut self, now: Instant) {
        let in_use = &mut self.in_use;
        self.in_flight.retain(|f| {
            let keep = f.stage == Stage::Released || !f.delivery.message.is_expired(now);
            if !keep {
                in_use.remove(&f.packet_id);
            }
            keep
        });
        self.unsent = 0;
        for f in self.in_flight.iter_mut() {
            f.unsent = f.stage == Stage::Sent;
            self.unsent += usize::from(f.unsent);
        }
    }
}

impl Default for Session {
    fn default() -> Session {
        Session::new()
    }
}

impl Session {
    /// A new, empty session.
    pub fn new() -> Session {
        Session {
            messages: None,
            next_packet_id: 1,
        }
    }

    /// The messages, allocated if the session had none.
    fn messages(&mut self) -> &mut Messages {
        self.messages.get_or_insert_with(Box::default)
    }

    /// Runs `f` on the messages, if there are any, and lets them go once none is left.
    fn with_messages<T>(&mut self, f: impl FnOnce(&mut Messages) -> T) -> Option<T> {
        let messages = self.messages.as_deref_mut()?;
        let out = f(messages);
        if messages.is_empty() {
            self.messages = None;
        }
        Some(out)
    }

    /// Queues `delivery` to be sent, unless the queue is at one of `limits`.
    pub fn push(&mut self, delivery: Delivery, limits: &SessionLimits) -> Result<(), QueueFull> {
        let size = delivery.message.size();
        if !self.has_room(size, limits) {
            return Err(QueueFull(delivery));
        }
        let messages = self.messages();
        messages.queued_bytes += size;
        messages.queue.push_back(delivery);
        Ok(())
    }

    /// Whether one more message of `size` bytes would fit in the queue within `limits`.
    pub fn has_room(&self, size: usize, limits: &SessionLimits) -> bool {
        let (queued, bytes) = self
            .messages
            .as_ref()
            .map_or((0, 0), |m| (m.queue.len(), m.queued_bytes));
        queued < limits.max_queued && bytes.saturating_add(size) <= limits.max_queued_bytes
    }

    /// Messages waiting to be sent.
    pub fn queued_len(&self) -> usize {
        self.messages.as_ref().map_or(0, |m| m.queue.len())
    }

    /// QoS 1 and 2 messages sent and not completely acknowledged.
    pub fn inflight_len(&self) -> usize {
        self.messages.as_ref().map_or(0, |m| m.in_flight.len())
    }

    /// The next message to send at `now` while the client allows `receive_maximum` QoS 1 and
    /// 2 messages unacknowledged [MQTT-3.3.4-7]: first the messages a resumed session sends
    /// again ([`Session::resend`]), then the first one queued, skipping (and forgetting) those
    /// that expired [MQTT-3.3.2-5]. Messages go strictly in the order they were queued, so a
    /// QoS 0 message waits behind a QoS 1 message the window holds back. A QoS 1 or 2
    /// message gets a packet identifier that no message in flight has and is kept until its
    /// acknowledgement.
    pub fn next_outgoing(&mut self, now: Instant, receive_maximum: u16) -> Option<Outgoing> {
        let mut next = self.next_packet_id;
        let out = self.with_messages(|m| m.next_outgoing(now, receive_maximum, &mut next));
        self.next_packet_id = next;
        out.flatten()
    }

    /// A PUBACK came for `packet_id`: the QoS 1 message is delivered. `false` when no QoS 1
    /// message waits for it (the client broke the protocol, or acknowledged twice).
    pub fn puback(&mut self, packet_id: PacketId) -> bool {
        self.with_messages(
            |m| match m.position(packet_id, QoS::AtLeastOnce, Stage::Sent) {
                Some(i) => m.complete(i),
                None => false,
            },
        )
        .unwrap_or(false)
    }

    /// A PUBREC came for `packet_id`. With a success reason code the message is now the
    /// client's and a PUBREL is to be sent (returns `true`); with an error code (5.0, 0x80 and
    /// above) the exchange ends here and nothing is sent [MQTT-4.3.3-4]. `false` when no QoS 2
    /// message waits for a PUBREC with that identifier.
    pub fn pubrec(&mut self, packet_id: PacketId, failed: bool) -> bool {
        self.with_messages(|m| m.pubrec(packet_id, failed))
            .unwrap_or(false)
    }

    /// A PUBCOMP came for `packet_id`: the QoS 2 exchange is complete. `false` when no PUBREL
    /// of ours waits for it.
    pub fn pubcomp(&mut self, packet_id: PacketId) -> bool {
        self.with_messages(
            |m| match m.position(packet_id, QoS::ExactlyOnce, Stage::Released) {
                Some(i) => m.complete(i),
                None => false,
            },
        )
        .unwrap_or(false)
    }

    /// The client came back to this session: returns the PUBREL packets to send again, in
    /// the order their PUBREC came, and makes every PUBLISH not acknowledged (PUBACK /
    /// PUBREC) yet the next that [`Session::next_outgoing`] gives, again with DUP set and
    /// their packet identifiers, in the order first sent [MQTT-4.4.0-1], as the new
    /// connection's Receive Maximum lets them out [MQTT-3.3.4-9]. Messages that expired
    /// meanwhile are dropped rather than sent again (unless their PUBREL is due: the client
    /// has them already).
    pub fn resend(&mut self, now: Instant) -> impl Iterator<Item = PacketId> + '_ {
        self.with_messages(|m| m.resend(now));
        self.messages
            .iter()
            .flat_map(|m| m.in_flight.iter())
            .filter(|f| f.stage == Stage::Released)
            .map(|f| f.packet_id)
    }

    /// A QoS 2 PUBLISH with `packet_id` came: `true` when it is new (deliver it, then send
    /// PUBREC), `false` when it is a duplicate of one whose PUBREL has not come (send PUBREC
    /// again and do not deliver it twice [MQTT-4.3.3-9]).
    pub fn receive_qos2(&mut self, packet_id: PacketId) -> bool {
        self.messages().received.insert(packet_id)
    }

    /// Whether `packet_id` names a QoS 2 message received and not yet released: a PUBLISH
    /// with it is a duplicate.
    pub fn is_received(&self, packet_id: PacketId) -> bool {
        self.messages
            .as_ref()
            .is_some_and(|m| m.received.contains(&packet_id))
    }

    /// A PUBREL came for `packet_id`: the identifier is free again. `false` when it named no
    /// message received (5.0 answers PUBCOMP 0x92 Packet Identifier not found).
    pub fn release(&mut self, packet_id: PacketId) -> bool {
        self.with_messages(|m| m.received.remove(&packet_id))
            .unwrap_or(false)
    }

    /// QoS 2 messages received whose PUBREL has not come.
    pub fn received_len(&self) -> usize {
        self.messages.as_ref().map_or(0, |m| m.received.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec::Vec;

    fn at(secs: u64) -> Instant {
        Instant::from_micros(secs * 1_000_000)
    }

    fn message(topic: &str, qos: QoS) -> Arc<Message> {
        Arc::new(Message::new(TopicName::new(topic).unwrap(), "x", qos))
    }

    fn delivery(topic: &str, qos: QoS) -> Delivery {
        Delivery::new(message(topic, qos), qos)
    }

    fn id(n: u16) -> PacketId {
        PacketId::new(n).unwrap()
    }

    #[test]
    fn mqtt_3_3_4_7_the_receive_maximum_holds_qos_1_and_2_back() {
        let (mut s, limits) = (Session::new(), SessionLimits::default());
        for _ in 0..3 {
            s.push(delivery("t", QoS::AtLeastOnce), &limits).unwrap();
        }
        assert!(s.next_outgoing(at(0), 2).is_some());
        assert!(s.next_outgoing(at(0), 2).is_some());
        assert_eq!(s.next_outgoing(at(0), 2), None);
        assert!(s.puback(id(1)));
        let third = s.next_outgoing(at(0), 2).unwrap();
        assert_eq!(third.packet_id, Some(id(3)));
    }

    #[test]
    fn qos_0_needs_no_window_but_keeps_its_place_in_the_queue() {
        let (mut s, limits) = (Session::new(), SessionLimits::default());
        s.push(delivery("a", QoS::AtMostOnce), &limits).unwrap();
        s.push(delivery("b", QoS::AtLeastOnce), &limits).unwrap();
        s.push(delivery("c", QoS::AtMostOnce), &limits).unwrap();
        let first = s.next_outgoing(at(0), 0).unwrap();
        assert_eq!(
            (first.packet_id, first.delivery.message.topic.as_str()),
            (None, "a")
        );
        // The QoS 1 message waits for a window of 0; c waits behind it.
        assert_eq!(s.next_outgoing(at(0), 0), None);
        assert_eq!(s.queued_len(), 2);
    }

    #[test]
    fn mqtt_3_3_2_5_expired_messages_are_not_sent() {
        let (mut s, limits) = (Session::new(), SessionLimits::default());
        let mut m = Message::new(TopicName::new("t").unwrap(), "x", QoS::AtLeastOnce);
        m.expires_at = Some(at(10));
        s.push(
            Delivery::new(Arc::new(m.clone()), QoS::AtLeastOnce),
            &limits,
        )
        .unwrap();
        s.push(delivery("fresh", QoS::AtLeastOnce), &limits)
            .unwrap();
        let out = s.next_outgoing(at(10), 10).unwrap();
        assert_eq!(out.delivery.message.topic.as_str(), "fresh");
        assert_eq!(s.queued_len(), 0);
    }

    #[test]
    fn mqtt_3_3_2_6_the_expiry_sent_is_the_time_left_rounded_up() {
        let mut m = Message::new(TopicName::new("t").unwrap(), "x", QoS::AtMostOnce);
        assert_eq!(m.remaining_expiry(at(0)), None);
        m.expires_at = Some(at(60));
        assert_eq!(m.remaining_expiry(at(0)), Some(60));
        assert_eq!(
            m.remaining_expiry(Instant::from_micros(59_500_000)),
            Some(1)
        );
    }

    #[test]
    fn mqtt_4_3_3_qos_2_outbound_goes_pubrec_pubrel_pubcomp() {
        let (mut s, limits) = (Session::new(), SessionLimits::default());
        s.push(delivery("t", QoS::ExactlyOnce), &limits).unwrap();
        let out = s.next_outgoing(at(0), 10).unwrap();
        let pid = out.packet_id.unwrap();
        // PUBACK is not the answer to a QoS 2 PUBLISH, nor PUBCOMP before PUBREC.
        assert!(!s.puback(pid));
        assert!(!s.pubcomp(pid));
        assert!(s.pubrec(pid, false));
        assert!(!s.pubrec(pid, false));
        assert_eq!(s.inflight_len(), 1);
        assert!(s.pubcomp(pid));
        assert_eq!(s.inflight_len(), 0);
    }

    #[test]
    fn mqtt_4_3_3_4_a_failed_pubrec_ends_the_exchange() {
        let (mut s, limits) = (Session::new(), SessionLimits::default());
        s.push(delivery("t", QoS::ExactlyOnce), &limits).unwrap();
        let pid = s.next_outgoing(at(0), 10).unwrap().packet_id.unwrap();
        assert!(!s.pubrec(pid, true));
        assert_eq!(s.inflight_len(), 0);
    }

    #[test]
    fn mqtt_4_4_0_1_a_resumed_session_resends_in_the_original_order() {
        let (mut s, limits) = (Session::new(), SessionLimits::default());
        s.push(delivery("one", QoS::ExactlyOnce), &limits).unwrap();
        s.push(delivery("two", QoS::AtLeastOnce), &limits).unwrap();
        s.push(delivery("three", QoS::ExactlyOnce), &limits)
            .unwrap();
        let ids: Vec<PacketId> = (0..3)
            .map(|_| s.next_outgoing(at(0), 10).unwrap().packet_id.unwrap())
            .collect();
        assert!(s.pubrec(ids[0], false));
        s.push(delivery("four", QoS::AtMostOnce), &limits).unwrap();
        let pubrels: Vec<PacketId> = s.resend(at(1)).collect();
        assert_eq!(pubrels, [ids[0]]);
        let again = s.next_outgoing(at(1), 10).unwrap();
        assert!(again.dup);
        assert_eq!(again.packet_id, Some(ids[1]));
        assert_eq!(again.delivery.message.topic.as_str(), "two");
        let again = s.next_outgoing(at(1), 10).unwrap();
        assert!(again.dup);
        assert_eq!(again.packet_id, Some(ids[2]));
        // Then what was queued.
        let next = s.next_outgoing(at(1), 10).unwrap();
        assert_eq!(next.delivery.message.topic.as_str(), "four");
        assert!(!next.dup);
    }

    #[test]
    fn mqtt_3_3_4_9_a_resumed_session_resends_within_the_new_receive_maximum() {
        let (mut s, limits) = (Session::new(), SessionLimits::default());
        for topic in ["one", "two", "three"] {
            s.push(delivery(topic, QoS::ExactlyOnce), &limits).unwrap();
        }
        let ids: Vec<PacketId> = (0..3)
            .map(|_| s.next_outgoing(at(0), 10).unwrap().packet_id.unwrap())
            .collect();
        assert_eq!(s.resend(at(1)).count(), 0);
        // A window of one: the second waits for the first's acknowledgement.
        assert_eq!(s.next_outgoing(at(1), 1).unwrap().packet_id, Some(ids[0]));
        assert_eq!(s.next_outgoing(at(1), 1), None);
        // The client acknowledges the third before it comes again: it does not.
        assert!(s.pubrec(ids[2], false));
        assert!(s.pubrec(ids[0], false));
        assert!(s.pubcomp(ids[0]));
        // The third holds the window until its PUBCOMP.
        assert_eq!(s.next_outgoing(at(1), 1), None);
        assert_eq!(s.next_outgoing(at(1), 2).unwrap().packet_id, Some(ids[1]));
        assert_eq!(s.next_outgoing(at(1), 3), None);
        assert_eq!(s.inflight_len(), 2);
    }

    #[test]
    fn packet_ids_in_flight_are_never_reused() {
        let (mut s, limits) = (Session::new(), SessionLimits::default().max_queued(100_000));
        // Fill 65,534 identifiers, free one in the middle: the next message gets that one.
        for _ in 0..65_535 {
            s.push(delivery("t", QoS::AtLeastOnce), &limits).unwrap();
        }
        for _ in 0..65_535 {
            s.next_outgoing(at(0), u16::MAX).unwrap();
        }
        assert!(s.puback(id(777)));
        s.push(delivery("t", QoS::AtLeastOnce), &limits).unwrap();
        let next = s.next_outgoing(at(0), u16::MAX).unwrap();
        assert_eq!(next.packet_id, Some(id(777)));
    }

    #[test]
    fn an_idle_session_holds_no_messages_part_and_its_packet_ids_go_on() {
        let (mut s, limits) = (Session::new(), SessionLimits::default());
        s.push(delivery("t", QoS::AtLeastOnce), &limits).unwrap();
        let first = s.next_outgoing(at(0), 10).unwrap().packet_id.unwrap();
        assert!(s.messages.is_some());
        assert!(s.puback(first));
        assert!(s.messages.is_none());
        assert!(s.receive_qos2(id(9)));
        assert!(s.release(id(9)));
        assert!(s.messages.is_none());
        s.push(delivery("t", QoS::AtLeastOnce), &limits).unwrap();
        let second = s.next_outgoing(at(0), 10).unwrap().packet_id.unwrap();
        assert_eq!((first, second), (id(1), id(2)));
    }

    #[test]
    fn mqtt_4_3_3_9_a_qos_2_duplicate_is_not_delivered_twice() {
        let mut s = Session::new();
        assert!(s.receive_qos2(id(5)));
        assert!(!s.receive_qos2(id(5)));
        assert!(s.is_received(id(5)));
        assert!(s.release(id(5)));
        assert!(!s.release(id(5)));
        // After PUBREL the identifier names a new message.
        assert!(s.receive_qos2(id(5)));
    }

    #[test]
    fn the_queue_refuses_beyond_its_limits_and_gives_the_delivery_back() {
        let (mut s, limits) = (Session::new(), SessionLimits::default().max_queued(2));
        s.push(delivery("a", QoS::AtLeastOnce), &limits).unwrap();
        s.push(delivery("b", QoS::AtLeastOnce), &limits).unwrap();
        let refused = s
            .push(delivery("c", QoS::AtLeastOnce), &limits)
            .unwrap_err();
        assert_eq!(refused.0.message.topic.as_str(), "c");
        let (mut s, limits) = (Session::new(), SessionLimits::default().max_queued_bytes(5));
        s.push(delivery("ab", QoS::AtMostOnce), &limits).unwrap(); // 2 + 1 bytes
        assert!(!s.has_room(3, &limits));
        assert!(s.push(delivery("cd", QoS::AtMostOnce), &limits).is_err());
        s.next_outgoing(at(0), 0).unwrap();
        assert!(s.has_room(3, &limits));
    }
}
