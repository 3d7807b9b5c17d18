//! The sessions the broker keeps, by client identifier, and the fan-out of a publication to
//! them through the subscription tree.
//!
//! A session has a small integer key ([`SessionKey`]) that the subscription tree uses; the key
//! is reused only after the session and all its subscriptions are gone.

use alloc::boxed::Box;
use alloc::collections::BTreeMap;
use alloc::sync::Arc;
use alloc::vec::Vec;

use tern_mqtt::QoS;
use tern_time::Instant;

use crate::session::{Delivery, Message, Session, SessionLimits};
use crate::subscriptions::{Routes, SubscriptionTree};

/// A session's key in the registry and the subscription tree.
pub(crate) type SessionKey = u32;

/// A Session Expiry Interval that never ends (5.0 §3.1.2.11.2: 0xFFFFFFFF).
pub(crate) const NEVER: u32 = u32::MAX;

/// One session and what the broker knows about its client.
///
/// The registry keeps one inline per session, so it holds only what every session needs;
/// what only an offline session has is boxed ([`Offline`]).
#[derive(Debug)]
pub(crate) struct Entry<C> {
    /// Shared with the registry's index by client identifier: one copy of the string.
    pub(crate) client_id: Arc<str>,
    /// The user name the client connected with last (for the ACL).
    pub(crate) username: Option<Box<str>>,
    pub(crate) session: Session,
    /// The connection the client is on, while it is connected.
    pub(crate) connection: Option<C>,
    /// Seconds the session outlives its connection ([`NEVER`]: forever; 0: not at all).
    pub(crate) expiry_interval: u32,
    /// The deadlines and the delayed will of an offline session; `None` while connected
    /// (and while offline with none of them).
    pub(crate) offline: Option<Box<Offline>>,
}

/// What only an offline session has.
#[derive(Debug, Default)]
pub(crate) struct Offline {
    /// When the session ends.
    pub(crate) expires_at: Option<Instant>,
    /// The will of the connection that ended, waiting for its Will Delay Interval.
    pub(crate) will: Option<Arc<Message>>,
    /// When `will` is published (unless the client comes back first [MQTT-3.1.3-9]).
    pub(crate) will_at: Option<Instant>,
    /// The deadline the session is filed under in the broker's session timers.
    pub(crate) scheduled: Option<Instant>,
}

impl Offline {
    fn is_empty(&self) -> bool {
        self.expires_at.is_none()
            && self.will.is_none()
            && self.will_at.is_none()
            && self.scheduled.is_none()
    }
}

impl<C> Entry<C> {
    /// The offline part, allocated if the session had none.
    pub(crate) fn offline(&mut self) -> &mut Offline {
        self.offline.get_or_insert_with(Box::default)
    }

    /// Lets the offline part go once it holds nothing.
    pub(crate) fn tidy_offline(&mut self) {
        if self.offline.as_deref().is_some_and(Offline::is_empty) {
            self.offline = None;
        }
    }

    pub(crate) fn expires_at(&self) -> Option<Instant> {
        self.offline.as_ref()?.expires_at
    }

    pub(crate) fn will_at(&self) -> Option<Instant> {
        self.offline.as_ref()?.will_at
    }

    pub(crate) fn has_will(&self) -> bool {
        self.offline.as_ref().is_some_and(|o| o.will.is_some())
    }

    /// Files the session under `at` (or none) and returns the deadline it was filed under.
    pub(crate) fn set_scheduled(&mut self, at: Option<Instant>) -> Option<Instant> {
        let old = match (&mut self.offline, at) {
            (Some(offline), _) => core::mem::replace(&mut offline.scheduled, at),
            (None, None) => None,
            (None, Some(_)) => {
                self.offline().scheduled = at;
                None
            }
        };
        self.tidy_offline();
        old
    }
}

/// What a fan-out did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FanOut {
    /// Queued for every matching session that takes it; `dropped` offline sessions had no
    /// room.
    Queued { sessions: usize, dropped: usize },
    /// A connected subscriber has no room: nothing was queued anywhere. The publisher waits
    /// (its connection is not read, its acknowledgement withheld) until that session sends.
    Blocked(SessionKey),
}

/// Every session, and the subscription tree over them.
#[derive(Debug)]
pub(crate) struct Registry<C> {
    slots: Vec<Option<Entry<C>>>,
    free: Vec<SessionKey>,
    /// The keys share their string with the entries' `client_id`.
    by_client_id: BTreeMap<Arc<str>, SessionKey>,
    pub(crate) tree: SubscriptionTree<SessionKey>,
    routes: Routes<SessionKey>,
    limits: SessionLimits,
}

impl<C: Copy> Registry<C> {
    pub(crate) fn new(limits: SessionLimits) -> Registry<C> {
        Registry {
            slots: Vec::new(),
            free: Vec::new(),
            by_client_id: BTreeMap::new(),
            tree: SubscriptionTree::new(),
            routes: Routes::new(),
            limits,
        }
    }

    /// Sessions, connected or not.
    pub(crate) fn len(&self) -> usize {
        self.by_client_id.len()
    }

    pub(crate) fn find(&self, client_id: &str) -> Option<SessionKey> {
        self.by_client_id.get(client_id).copied()
    }

    pub(crate) fn get(&self, key: SessionKey) -> Option<&Entry<C>> {
        self.slots.get(key as usize)?.as_ref()
    }

    pub(crate) fn get_mut(&mut self, key: SessionKey) -> Option<&mut Entry<C>> {
        self.slots.get_mut(key as usize)?.as_mut()
    }

    /// A new, empty session for `client_id` (which must have none).
    pub(crate) fn create(&mut self, client_id: &str, expiry_interval: u32) -> SessionKey {
        // A copy of its own: the client's string may share the buffer its CONNECT came in.
        let client_id: Arc<str> = Arc::from(client_id);
        let entry = Entry {
            client_id: client_id.clone(),
            username: None,
            session: Session::new(),
            connection: None,
            expiry_interval,
            offline: None,
        };
        let key = match self.free.pop() {
            Some(key) => {
                if let Some(slot) = self.slots.get_mut(key as usize) {
                    *slot = Some(entry);
                }
                key
            }
            None => {
                let key = SessionKey::try_from(self.slots.len()).unwrap_or(SessionKey::MAX);
                self.slots.push(Some(entry));
                key
            }
        };
        self.by_client_id.insert(client_id, key);
        key
    }

    /// Ends a session: its subscriptions and queued messages are gone.
    pub(crate) fn remove(&mut self, key: SessionKey) -> Option<Entry<C>> {
        let entry = self.slots.get_mut(key as usize)?.take()?;
        self.by_client_id.remove(&*entry.client_id);
        self.tree.remove_client(key);
        self.free.push(key);
        Some(entry)
    }

    /// Routes `message` from `publisher` to every matching session: all or nothing. When a
    /// connected subscriber's queue has no room the whole publication waits
    /// ([`FanOut::Blocked`]), so that nothing is queued twice when it is tried again; an
    /// offline session without room loses its copy (counted in `dropped`), as QoS 0 copies
    /// for offline sessions are never queued. `allowed` is the authorisation check of each
    /// receiving session (the ACL's read access).
    pub(crate) fn fan_out(
        &mut self,
        message: &Arc<Message>,
        publisher: Option<SessionKey>,
        mut allowed: impl FnMut(&Entry<C>) -> bool,
        mut queued: impl FnMut(SessionKey, &Entry<C>),
    ) -> FanOut {
        self.tree.route(&message.topic, publisher, &mut self.routes);
        let size = message.size();
        for d in self.routes.iter() {
            let Some(entry) = self.slots.get(d.client as usize).and_then(Option::as_ref) else {
                continue;
            };
            if entry.connection.is_some() && !entry.session.has_room(size, &self.limits) {
                return FanOut::Blocked(d.client);
            }
        }
        let (mut sessions, mut dropped) = (0, 0);
        for d in self.routes.iter() {
            let Some(entry) = self
                .slots
                .get_mut(d.client as usize)
                .and_then(Option::as_mut)
            else {
                continue;
            };
            let qos = d.qos.min(message.qos);
            if entry.connection.is_none() && qos == QoS::AtMostOnce {
                continue;
            }
            if !allowed(entry) {
                continue;
            }
            let delivery = Delivery {
                message: message.clone(),
                qos,
                retain: d.retain_as_published && message.retain,
                identifiers: d.subscription_identifiers.into(),
            };
            match entry.session.push(delivery, &self.limits) {
                Ok(()) => {
                    sessions += 1;
                    queued(d.client, entry);
                }
                Err(_) => dropped += 1,
            }
        }
        FanOut::Queued { sessions, dropped }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::subscriptions::SubscriptionOptions;
    use tern_mqtt::{TopicFilter, TopicName};

    fn message(topic: &str, qos: QoS) -> Arc<Message> {
        Arc::new(Message::new(TopicName::new(topic).unwrap(), "x", qos))
    }

    fn subscribe(r: &mut Registry<u8>, key: SessionKey, filter: &str, qos: QoS) {
        r.tree.subscribe(
            key,
            &TopicFilter::new(filter).unwrap(),
            SubscriptionOptions::qos(qos),
        );
    }

    #[test]
    fn keys_are_reused_only_after_the_session_and_its_subscriptions_are_gone() {
        let mut r = Registry::<u8>::new(SessionLimits::default());
        let a = r.create("a", NEVER);
        subscribe(&mut r, a, "t", QoS::AtLeastOnce);
        assert_eq!(&*r.remove(a).unwrap().client_id, "a");
        assert_eq!(r.tree.client_len(a), 0);
        let b = r.create("b", NEVER);
        assert_eq!(a, b);
        assert_eq!(r.find("a"), None);
        assert_eq!(r.find("b"), Some(b));
    }

    #[test]
    fn mqtt_3_8_4_6_the_delivered_qos_is_the_lower_of_publication_and_subscription() {
        let mut r = Registry::<u8>::new(SessionLimits::default());
        let a = r.create("a", NEVER);
        r.get_mut(a).unwrap().connection = Some(1);
        subscribe(&mut r, a, "t", QoS::AtLeastOnce);
        let out = r.fan_out(&message("t", QoS::ExactlyOnce), None, |_| true, |_, _| {});
        assert_eq!(
            out,
            FanOut::Queued {
                sessions: 1,
                dropped: 0
            }
        );
        let sent = r
            .get_mut(a)
            .unwrap()
            .session
            .next_outgoing(Instant::from_micros(0), 10)
            .unwrap();
        assert_eq!(sent.delivery.qos, QoS::AtLeastOnce);
    }

    #[test]
    fn a_full_connected_subscriber_blocks_the_whole_publication() {
        let mut r = Registry::<u8>::new(SessionLimits::default().max_queued(1));
        let (a, b) = (r.create("a", NEVER), r.create("b", NEVER));
        for key in [a, b] {
            r.get_mut(key).unwrap().connection = Some(1);
            subscribe(&mut r, key, "t", QoS::AtLeastOnce);
        }
        let m = message("t", QoS::AtLeastOnce);
        assert_eq!(
            r.fan_out(&m, None, |_| true, |_, _| {}),
            FanOut::Queued {
                sessions: 2,
                dropped: 0
            }
        );
        // b sends its message; a does not: the next one waits for a, and b gets nothing yet.
        r.get_mut(b)
            .unwrap()
            .session
            .next_outgoing(Instant::from_micros(0), 10);
        assert_eq!(r.fan_out(&m, None, |_| true, |_, _| {}), FanOut::Blocked(a));
        assert_eq!(r.get(b).unwrap().session.queued_len(), 0);
    }

    #[test]
    fn offline_sessions_queue_qos_1_and_2_only_and_drop_beyond_their_limit() {
        let mut r = Registry::<u8>::new(SessionLimits::default().max_queued(1));
        let a = r.create("a", NEVER);
        subscribe(&mut r, a, "t", QoS::ExactlyOnce);
        let zero = r.fan_out(&message("t", QoS::AtMostOnce), None, |_| true, |_, _| {});
        assert_eq!(
            zero,
            FanOut::Queued {
                sessions: 0,
                dropped: 0
            }
        );
        let one = message("t", QoS::AtLeastOnce);
        assert_eq!(
            r.fan_out(&one, None, |_| true, |_, _| {}),
            FanOut::Queued {
                sessions: 1,
                dropped: 0
            }
        );
        assert_eq!(
            r.fan_out(&one, None, |_| true, |_, _| {}),
            FanOut::Queued {
                sessions: 0,
                dropped: 1
            }
        );
    }

    #[test]
    fn a_receiver_the_acl_refuses_gets_nothing() {
        let mut r = Registry::<u8>::new(SessionLimits::default());
        let (a, b) = (r.create("a", NEVER), r.create("b", NEVER));
        for key in [a, b] {
            r.get_mut(key).unwrap().connection = Some(1);
            subscribe(&mut r, key, "#", QoS::AtMostOnce);
        }
        let mut got = Vec::new();
        let out = r.fan_out(
            &message("t", QoS::AtMostOnce),
            None,
            |e| &*e.client_id != "a",
            |key, _| got.push(key),
        );
        assert_eq!(
            out,
            FanOut::Queued {
                sessions: 1,
                dropped: 0
            }
        );
        assert_eq!(got, [b]);
    }
}
