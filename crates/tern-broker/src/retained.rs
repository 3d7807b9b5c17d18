//! Retained messages (MQTT 5.0 §3.3.1.3, §4.7): one per topic, found by topic filter.
//!
//! [`RetainedStore`] keeps the last retained PUBLISH of each topic in a trie over topic
//! levels, so that a subscription finds its retained messages by walking only the branches
//! its filter can match: a filter without wildcards visits one path, and `+` and `#` visit
//! the levels below them. It stores the [`Publish`] itself, so the payload and properties
//! are the publisher's buffers, shared with every delivery rather than copied.
//!
//! - A retained PUBLISH replaces the topic's retained message [MQTT-3.3.1-5]; one with an
//!   empty payload removes it and is not stored [MQTT-3.3.1-6] [MQTT-3.3.1-7].
//! - A message whose expiry has passed is never returned, and
//!   [`remove_expired`](RetainedStore::remove_expired) drops it (5.0 §3.3.2.3.3); the caller
//!   computes the expiry from the Message Expiry Interval and wakes at
//!   [`next_expiry`](RetainedStore::next_expiry).
//! - Filters starting with a wildcard do not match topics starting with `$` [MQTT-4.7.2-1].
//! - The number of messages and their bytes are bounded; [`set`](RetainedStore::set) refuses
//!   a message over a limit and leaves the store as it was.
//!
//! ```
//! use tern_broker::retained::{Change, RetainedStore};
//! use tern_mqtt::{Publish, TopicFilter, TopicName};
//! use tern_time::Instant;
//!
//! let mut store = RetainedStore::new();
//! let temperature = Publish::new(TopicName::new("sensors/kitchen/temperature")?, "21.5");
//! assert_eq!(store.set(temperature, None), Ok(Change::Stored));
//! store.set(Publish::new(TopicName::new("$SYS/uptime")?, "12"), None).unwrap();
//!
//! let mut found = Vec::new();
//! store.matching(&TopicFilter::new("sensors/+/temperature")?, Instant::ZERO, &mut found);
//! assert_eq!(&found[0].publish.payload[..], b"21.5");
//!
//! // '#' finds everything but the '$' topics.
//! found.clear();
//! store.matching(&TopicFilter::new("#")?, Instant::ZERO, &mut found);
//! assert_eq!(found.len(), 1);
//!
//! // An empty payload clears the topic.
//! let clear = Publish::new(TopicName::new("sensors/kitchen/temperature")?, "");
//! assert_eq!(store.set(clear, None), Ok(Change::Cleared));
//! assert_eq!(store.len(), 1);
//! # Ok::<(), tern_mqtt::topic::TopicError>(())
//! ```

use alloc::boxed::Box;
use alloc::collections::{BTreeMap, BTreeSet};
use alloc::vec::Vec;
use core::fmt;

use tern_mqtt::{Publish, ReasonCode, TopicFilter, TopicName};
use tern_time::Instant;

/// How much the store may hold. The default holds anything.
///
/// ```
/// use tern_broker::retained::RetainedLimits;
///
/// let limits = RetainedLimits { max_messages: 10_000, max_bytes: 16 << 20 };
/// assert!(limits.max_messages < RetainedLimits::default().max_messages);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RetainedLimits {
    /// The most retained messages (topics with one).
    pub max_messages: usize,
    /// The most bytes of retained messages, counted as in [`RetainedStore::bytes`].
    pub max_bytes: usize,
}

impl RetainedLimits {
    /// No limit.
    pub const UNLIMITED: RetainedLimits = RetainedLimits {
        max_messages: usize::MAX,
        max_bytes: usize::MAX,
    };
}

impl Default for RetainedLimits {
    fn default() -> Self {
        Self::UNLIMITED
    }
}

/// Why [`RetainedStore::set`] refused a message. The store is unchanged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RetainedError {
    /// Storing it would exceed [`RetainedLimits::max_messages`].
    TooManyMessages {
        /// The limit.
        limit: usize,
    },
    /// Storing it would exceed [`RetainedLimits::max_bytes`].
    TooManyBytes {
        /// The limit.
        limit: usize,
    },
    /// The PUBLISH has no topic name (a Topic Alias the caller did not resolve).
    NoTopic,
}

impl RetainedError {
    /// The 5.0 reason code for the PUBACK or PUBREC of a refused retained message: a
    /// limit is Quota exceeded (0x97), a missing topic Topic Name invalid (0x90).
    ///
    /// ```
    /// use tern_broker::retained::RetainedError;
    /// use tern_mqtt::ReasonCode;
    /// assert_eq!(
    ///     RetainedError::TooManyBytes { limit: 0 }.reason_code(),
    ///     ReasonCode::QuotaExceeded
    /// );
    /// ```
    pub fn reason_code(self) -> ReasonCode {
        match self {
            RetainedError::TooManyMessages { .. } | RetainedError::TooManyBytes { .. } => {
                ReasonCode::QuotaExceeded
            }
            RetainedError::NoTopic => ReasonCode::TopicNameInvalid,
        }
    }
}

impl fmt::Display for RetainedError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RetainedError::TooManyMessages { limit } => {
                write!(f, "more than {limit} retained messages")
            }
            RetainedError::TooManyBytes { limit } => {
                write!(f, "more than {limit} bytes of retained messages")
            }
            RetainedError::NoTopic => f.write_str("retained message without a topic name"),
        }
    }
}

#[cfg(feature = "std")]
impl std::error::Error for RetainedError {}

/// What [`RetainedStore::set`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Change {
    /// The topic had no retained message and now has this one.
    Stored,
    /// The topic's retained message was replaced [MQTT-3.3.1-5].
    Replaced,
    /// The empty payload removed the topic's retained message [MQTT-3.3.1-6].
    Cleared,
    /// The empty payload found nothing to remove.
    Unchanged,
}

/// A retained message and when it expires.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Retained {
    /// The message as stored: the publisher's PUBLISH with RETAIN set, DUP cleared and no
    /// packet identifier (those belonged to the publisher's connection).
    pub publish: Publish,
    /// When its Message Expiry Interval ends (5.0); `None` keeps it until replaced. The
    /// caller sends the remaining interval with each delivery [MQTT-3.3.2-6].
    pub expires_at: Option<Instant>,
}

impl Retained {
    /// Whether it has expired at `now` (an expiry of `now` has: nothing of it is left).
    pub fn is_expired(&self, now: Instant) -> bool {
        self.expires_at.is_some_and(|at| at <= now)
    }
}

/// The bytes a message counts for: topic, payload and properties.
fn size(publish: &Publish) -> usize {
    publish
        .topic
        .len()
        .saturating_add(publish.payload.len())
        .saturating_add(publish.properties.as_bytes().len())
}

type NodeId = usize;

const ROOT: NodeId = 0;

/// One topic level; the root stands for the empty path and never holds a message.
struct Node {
    parent: NodeId,
    key: Box<str>,
    children: BTreeMap<Box<str>, NodeId>,
    message: Option<Retained>,
}

impl Node {
    fn new(parent: NodeId, key: &str) -> Self {
        Node {
            parent,
            key: key.into(),
            children: BTreeMap::new(),
            message: None,
        }
    }
}

/// The retained messages of a broker, by topic.
///
/// Getters: [`len`](Self::len), [`bytes`](Self::bytes), [`get`](Self::get),
/// [`limits`](Self::limits), [`next_expiry`](Self::next_expiry). Queries:
/// [`matching`](Self::matching). Mutators: [`set`](Self::set), [`remove`](Self::remove),
/// [`remove_expired`](Self::remove_expired), [`set_limits`](Self::set_limits).
///
/// Nothing recurses, so topics and filters with many levels cost time, not stack; levels
/// left without messages are unlinked and their nodes reused.
pub struct RetainedStore {
    nodes: Vec<Node>,
    free: Vec<NodeId>,
    /// The messages with an expiry, soonest first.
    expiries: BTreeSet<(Instant, NodeId)>,
    len: usize,
    bytes: usize,
    limits: RetainedLimits,
}

impl Default for RetainedStore {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for RetainedStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RetainedStore")
            .field("len", &self.len)
            .field("bytes", &self.bytes)
            .field("limits", &self.limits)
            .finish()
    }
}

/// A step of the walk in [`RetainedStore::matching`].
enum Step {
    /// Match the filter from byte `at` (a level start, or past the end) at this node.
    Level(NodeId, usize),
    /// Everything at and below this node matches.
    Subtree(NodeId),
}

impl RetainedStore {
    /// An empty store without limits.
    pub fn new() -> Self {
        Self::with_limits(RetainedLimits::UNLIMITED)
    }

    /// An empty store with these limits.
    pub fn with_limits(limits: RetainedLimits) -> Self {
        RetainedStore {
            nodes: alloc::vec![Node::new(ROOT, "")],
            free: Vec::new(),
            expiries: BTreeSet::new(),
            len: 0,
            bytes: 0,
            limits,
        }
    }

    /// The limits.
    pub fn limits(&self) -> RetainedLimits {
        self.limits
    }

    /// Changes the limits. Messages already stored stay, even over new, lower limits; only
    /// later [`set`](Self::set) calls are refused.
    pub fn set_limits(&mut self, limits: RetainedLimits) {
        self.limits = limits;
    }

    /// The number of retained messages (expired ones included until they are removed).
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The bytes the messages take, counted as topic name, payload and property bytes.
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    /// When the next message expires: the time to call
    /// [`remove_expired`](Self::remove_expired) at.
    #[must_use]
    pub fn next_expiry(&self) -> Option<Instant> {
        self.expiries.first().map(|&(at, _)| at)
    }

    /// The retained message of exactly `topic`, expired or not.
    pub fn get(&self, topic: &TopicName) -> Option<&Retained> {
        self.find(topic.as_str())
            .and_then(|id| self.nodes.get(id))
            .and_then(|n| n.message.as_ref())
    }

    /// Stores a retained PUBLISH, replacing the topic's previous one [MQTT-3.3.1-5], or, with
    /// an empty payload, removes the topic's retained message [MQTT-3.3.1-6] (an empty
    /// payload is never stored [MQTT-3.3.1-7]).
    ///
    /// `expires_at` is when the Message Expiry Interval ends, if the PUBLISH had one. The
    /// message is stored with RETAIN set, DUP cleared and no packet identifier; everything
    /// else, the properties included, as given (the caller removes a Topic Alias first).
    ///
    /// Over a limit, the message is refused and the store is unchanged; clearing always works.
    ///
    /// ```
    /// use tern_broker::retained::{Change, RetainedError, RetainedLimits, RetainedStore};
    /// use tern_mqtt::{Publish, TopicName};
    ///
    /// let limits = RetainedLimits { max_messages: 1, max_bytes: 100 };
    /// let mut store = RetainedStore::with_limits(limits);
    /// let a = TopicName::new("a")?;
    /// assert_eq!(store.set(Publish::new(a.clone(), "1"), None), Ok(Change::Stored));
    /// assert_eq!(store.set(Publish::new(a, "22"), None), Ok(Change::Replaced));
    /// let b = Publish::new(TopicName::new("b")?, "1");
    /// assert_eq!(store.set(b, None), Err(RetainedError::TooManyMessages { limit: 1 }));
    /// assert_eq!(store.bytes(), 3);
    /// # Ok::<(), tern_mqtt::topic::TopicError>(())
    /// ```
    pub fn set(
        &mut self,
        mut publish: Publish,
        expires_at: Option<Instant>,
    ) -> Result<Change, RetainedError> {
        if publish.topic.is_empty() {
            return Err(RetainedError::NoTopic);
        }
        if publish.payload.is_empty() {
            return Ok(match self.remove(&publish.topic) {
                Some(_) => Change::Cleared,
                None => Change::Unchanged,
            });
        }
        let previous = self
            .find(publish.topic.as_str())
            .and_then(|id| self.nodes.get(id))
            .and_then(|n| n.message.as_ref())
            .map(|r| size(&r.publish));
        let len = self.len + usize::from(previous.is_none());
        if len > self.limits.max_messages {
            return Err(RetainedError::TooManyMessages {
                limit: self.limits.max_messages,
            });
        }
        let new = size(&publish);
        let bytes = self
            .bytes
            .saturating_sub(previous.unwrap_or(0))
            .saturating_add(new);
        if bytes > self.limits.max_bytes {
            return Err(RetainedError::TooManyBytes {
                limit: self.limits.max_bytes,
            });
        }
        publish.retain = true;
        publish.dup = false;
        publish.packet_id = None;
        let id = self.make_path(publish.topic.as_str());
        let Some(node) = self.nodes.get_mut(id) else {
            return Err(RetainedError::NoTopic);
        };
        let old = node.message.replace(Retained {
            publish,
            expires_at,
        });
        if let Some(at) = old.and_then(|r| r.expires_at) {
            self.expiries.remove(&(at, id));
        }
        if let Some(at) = expires_at {
            self.expiries.insert((at, id));
        }
        self.len = len;
        self.bytes = bytes;
        Ok(if previous.is_some() {
            Change::Replaced
        } else {
            Change::Stored
        })
    }

    /// Removes the retained message of exactly `topic`; it, if there was one.
    pub fn remove(&mut self, topic: &TopicName) -> Option<Retained> {
        let id = self.find(topic.as_str())?;
        self.take(id)
    }

    /// Removes every message expired at `now`; how many there were.
    ///
    /// ```
    /// use core::time::Duration;
    /// use tern_broker::retained::RetainedStore;
    /// use tern_mqtt::{Publish, TopicName};
    /// use tern_time::Instant;
    ///
    /// let mut store = RetainedStore::new();
    /// let t0 = Instant::ZERO;
    /// let soon = t0 + Duration::from_secs(10);
    /// store.set(Publish::new(TopicName::new("a")?, "x"), Some(soon)).unwrap();
    /// store.set(Publish::new(TopicName::new("b")?, "y"), None).unwrap();
    /// assert_eq!(store.next_expiry(), Some(soon));
    /// assert_eq!(store.remove_expired(t0), 0);
    /// assert_eq!(store.remove_expired(soon), 1);
    /// assert_eq!((store.len(), store.next_expiry()), (1, None));
    /// # Ok::<(), tern_mqtt::topic::TopicError>(())
    /// ```
    pub fn remove_expired(&mut self, now: Instant) -> usize {
        let mut removed = 0;
        while let Some(&(at, id)) = self.expiries.first() {
            if at > now {
                break;
            }
            // `take` drops the expiry entry.
            if self.take(id).is_none() {
                self.expiries.remove(&(at, id));
            }
            removed += 1;
        }
        removed
    }

    /// Appends to `out` every retained message whose topic matches `filter` and that has not
    /// expired at `now`; how many it appended.
    ///
    /// Only the branches the filter can match are visited. A shared filter matches like its
    /// inner filter; the caller sends no retained messages for a new shared subscription
    /// (5.0 §4.8.2). The messages are clones sharing the stored buffers; they come in topic
    /// order level by level. The walk allocates its own small stack: this runs once per
    /// subscription, not per publication.
    ///
    /// ```
    /// use tern_broker::retained::RetainedStore;
    /// use tern_mqtt::{Publish, TopicFilter, TopicName};
    /// use tern_time::Instant;
    ///
    /// let mut store = RetainedStore::new();
    /// for t in ["a", "a/b", "a/b/c", "x/b"] {
    ///     store.set(Publish::new(TopicName::new(t)?, t.to_owned()), None).unwrap();
    /// }
    /// let mut out = Vec::new();
    /// store.matching(&TopicFilter::new("a/#")?, Instant::ZERO, &mut out);
    /// let topics: Vec<_> = out.iter().map(|r| r.publish.topic.as_str()).collect();
    /// assert_eq!(topics, ["a", "a/b", "a/b/c"]);
    /// # Ok::<(), tern_mqtt::topic::TopicError>(())
    /// ```
    pub fn matching(&self, filter: &TopicFilter, now: Instant, out: &mut Vec<Retained>) -> usize {
        let before = out.len();
        let filter = filter.match_filter();
        let done = filter.len() + 1;
        let mut stack = alloc::vec![Step::Level(ROOT, 0)];
        while let Some(step) = stack.pop() {
            match step {
                Step::Subtree(id) => {
                    let Some(node) = self.nodes.get(id) else {
                        continue;
                    };
                    Self::collect(node, now, out);
                    // Reversed, so that the stack hands them out in order.
                    stack.extend(node.children.values().rev().map(|&c| Step::Subtree(c)));
                }
                Step::Level(id, at) => {
                    let Some(node) = self.nodes.get(id) else {
                        continue;
                    };
                    if at >= done {
                        Self::collect(node, now, out);
                        continue;
                    }
                    let rest = filter.get(at..).unwrap_or_default();
                    let (level, next) = match rest.split_once('/') {
                        Some((level, _)) => (level, at + level.len() + 1),
                        None => (rest, done),
                    };
                    // [MQTT-4.7.2-1]: a wildcard first level does not match a '$' topic.
                    let visible = |key: &str| at != 0 || !key.starts_with('$');
                    match level {
                        "#" => {
                            // `x/#` matches `x` itself (the root holds nothing).
                            Self::collect(node, now, out);
                            stack.extend(
                                node.children
                                    .iter()
                                    .rev()
                                    .filter(|(k, _)| visible(k))
                                    .map(|(_, &c)| Step::Subtree(c)),
                            );
                        }
                        "+" => stack.extend(
                            node.children
                                .iter()
                                .rev()
                                .filter(|(k, _)| visible(k))
                                .map(|(_, &c)| Step::Level(c, next)),
                        ),
                        _ => {
                            if let Some(&c) = node.children.get(level) {
                                stack.push(Step::Level(c, next));
                            }
                        }
                    }
                }
            }
        }
        out.len() - before
    }

    fn collect(node: &Node, now: Instant, out: &mut Vec<Retained>) {
        if let Some(r) = &node.message {
            if !r.is_expired(now) {
                out.push(r.clone());
            }
        }
    }

    /// The node of exactly `topic`, if it exists.
    fn find(&self, topic: &str) -> Option<NodeId> {
        topic.split('/').try_fold(ROOT, |id, level| {
            self.nodes.get(id)?.children.get(level).copied()
        })
    }

    /// Takes the message out of node `id`, updates the counts and unlinks emptied levels.
    fn take(&mut self, id: NodeId) -> Option<Retained> {
        let old = self.nodes.get_mut(id)?.message.take()?;
        if let Some(at) = old.expires_at {
            self.expiries.remove(&(at, id));
        }
        self.len -= 1;
        self.bytes = self.bytes.saturating_sub(size(&old.publish));
        self.prune(id);
        Some(old)
    }

    fn prune(&mut self, mut id: NodeId) {
        while id != ROOT {
            let Some(node) = self.nodes.get_mut(id) else {
                return;
            };
            if node.message.is_some() || !node.children.is_empty() {
                return;
            }
            let parent = node.parent;
            let key = core::mem::take(&mut node.key);
            if let Some(p) = self.nodes.get_mut(parent) {
                p.children.remove(&key);
            }
            self.free.push(id);
            id = parent;
        }
    }

    fn make_path(&mut self, topic: &str) -> NodeId {
        let mut id = ROOT;
        for level in topic.split('/') {
            let existing = self
                .nodes
                .get(id)
                .and_then(|n| n.children.get(level).copied());
            id = match existing {
                Some(child) => child,
                None => {
                    let child = Node::new(id, level);
                    let child_id = match self.free.pop() {
                        Some(free) => {
                            if let Some(slot) = self.nodes.get_mut(free) {
                                *slot = child;
                            }
                            free
                        }
                        None => {
                            self.nodes.push(child);
                            self.nodes.len() - 1
                        }
                    };
                    if let Some(n) = self.nodes.get_mut(id) {
                        n.children.insert(level.into(), child_id);
                    }
                    child_id
                }
            };
        }
        id
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::string::String;
    use core::time::Duration;
    use tern_mqtt::{PacketId, QoS};

    fn publish(topic: &str, payload: &str) -> Publish {
        Publish::new(TopicName::new(topic).unwrap(), String::from(payload))
    }

    fn topics(store: &RetainedStore, filter: &str, now: Instant) -> Vec<String> {
        let mut out = Vec::new();
        let n = store.matching(&TopicFilter::new(filter).unwrap(), now, &mut out);
        assert_eq!(n, out.len());
        out.iter()
            .map(|r| r.publish.topic.as_str().into())
            .collect()
    }

    #[test]
    fn mqtt_3_3_1_5_a_new_retained_message_replaces_the_old() {
        let mut store = RetainedStore::new();
        assert_eq!(store.set(publish("a/b", "1"), None), Ok(Change::Stored));
        assert_eq!(store.set(publish("a/b", "two"), None), Ok(Change::Replaced));
        let topic = TopicName::new("a/b").unwrap();
        assert_eq!(&store.get(&topic).unwrap().publish.payload[..], b"two");
        assert_eq!((store.len(), store.bytes()), (1, 6));
    }

    #[test]
    fn mqtt_3_3_1_6_and_7_an_empty_payload_clears_and_is_not_stored() {
        let mut store = RetainedStore::new();
        store.set(publish("a/b", "1"), None).unwrap();
        store.set(publish("a/c", "1"), None).unwrap();
        assert_eq!(store.set(publish("a/b", ""), None), Ok(Change::Cleared));
        assert_eq!(store.set(publish("a/b", ""), None), Ok(Change::Unchanged));
        assert_eq!(store.set(publish("x", ""), None), Ok(Change::Unchanged));
        assert_eq!(topics(&store, "#", Instant::ZERO), ["a/c"]);
        assert_eq!((store.len(), store.bytes()), (1, 4));
        // Clearing works even when the store is full.
        store.set_limits(RetainedLimits {
            max_messages: 0,
            max_bytes: 0,
        });
        assert_eq!(store.set(publish("a/c", ""), None), Ok(Change::Cleared));
        assert!(store.is_empty());
    }

    #[test]
    fn stored_messages_lose_their_connection_fields() {
        let mut store = RetainedStore::new();
        let mut p = publish("a", "x");
        p.qos = QoS::AtLeastOnce;
        p.packet_id = PacketId::new(7);
        p.dup = true;
        store.set(p, None).unwrap();
        let got = &store.get(&TopicName::new("a").unwrap()).unwrap().publish;
        assert_eq!((got.retain, got.dup, got.packet_id), (true, false, None));
        assert_eq!(got.qos, QoS::AtLeastOnce);
    }

    #[test]
    fn payloads_are_shared_not_copied() {
        let mut store = RetainedStore::new();
        let p = publish("a", "payload");
        let ptr = p.payload.as_ptr();
        store.set(p, None).unwrap();
        let mut out = Vec::new();
        store.matching(&TopicFilter::new("a").unwrap(), Instant::ZERO, &mut out);
        assert_eq!(out[0].publish.payload.as_ptr(), ptr);
    }

    #[test]
    fn mqtt_4_7_2_1_wildcards_skip_dollar_topics() {
        let mut store = RetainedStore::new();
        for t in ["$SYS/uptime", "$SYS", "a/$SYS", "a"] {
            store.set(publish(t, "x"), None).unwrap();
        }
        assert_eq!(topics(&store, "#", Instant::ZERO), ["a", "a/$SYS"]);
        assert_eq!(topics(&store, "+", Instant::ZERO), ["a"]);
        assert_eq!(topics(&store, "+/+", Instant::ZERO), ["a/$SYS"]);
        assert_eq!(
            topics(&store, "$SYS/#", Instant::ZERO),
            ["$SYS", "$SYS/uptime"]
        );
        assert_eq!(topics(&store, "$SYS/+", Instant::ZERO), ["$SYS/uptime"]);
        assert_eq!(topics(&store, "$share/g/#", Instant::ZERO), ["a", "a/$SYS"]);
    }

    #[test]
    fn mqtt_4_7_1_wildcards_match_levels() {
        let mut store = RetainedStore::new();
        for t in [
            "sport",
            "sport/",
            "sport/tennis",
            "sport/tennis/player1",
            "/finance",
        ] {
            store.set(publish(t, "x"), None).unwrap();
        }
        assert_eq!(
            topics(&store, "sport/#", Instant::ZERO),
            ["sport", "sport/", "sport/tennis", "sport/tennis/player1"]
        );
        assert_eq!(
            topics(&store, "sport/+", Instant::ZERO),
            ["sport/", "sport/tennis"]
        );
        assert_eq!(
            topics(&store, "+/+", Instant::ZERO),
            ["/finance", "sport/", "sport/tennis"]
        );
        assert_eq!(topics(&store, "+", Instant::ZERO), ["sport"]);
        assert_eq!(
            topics(&store, "sport/tennis", Instant::ZERO),
            ["sport/tennis"]
        );
        assert_eq!(
            topics(&store, "sport/x/#", Instant::ZERO),
            Vec::<String>::new()
        );
    }

    #[test]
    fn expired_messages_are_not_delivered_and_are_removed() {
        let mut store = RetainedStore::new();
        let t0 = Instant::from_millis(1_000);
        let t1 = t0 + Duration::from_secs(5);
        let t2 = t0 + Duration::from_secs(9);
        store.set(publish("a", "x"), Some(t2)).unwrap();
        store.set(publish("b", "x"), Some(t1)).unwrap();
        store.set(publish("c", "x"), None).unwrap();
        assert_eq!(store.next_expiry(), Some(t1));
        assert_eq!(topics(&store, "#", t0), ["a", "b", "c"]);
        assert_eq!(topics(&store, "#", t1), ["a", "c"]);
        assert_eq!(store.remove_expired(t1), 1);
        assert_eq!(store.next_expiry(), Some(t2));
        // Replacing a message replaces its expiry.
        store.set(publish("a", "y"), None).unwrap();
        assert_eq!(store.next_expiry(), None);
        assert_eq!(store.remove_expired(t2), 0);
        assert_eq!((store.len(), store.bytes()), (2, 4));
    }

    #[test]
    fn limits_refuse_and_leave_the_store_unchanged() {
        let limits = RetainedLimits {
            max_messages: 2,
            max_bytes: 10,
        };
        let mut store = RetainedStore::with_limits(limits);
        store.set(publish("a", "1234"), None).unwrap(); // 5 bytes
        store.set(publish("b", "1"), None).unwrap(); // 2 bytes
        assert_eq!(
            store.set(publish("c", "1"), None),
            Err(RetainedError::TooManyMessages { limit: 2 })
        );
        // Replacing counts the difference: 5 -> 9 bytes makes 11.
        assert_eq!(
            store.set(publish("a", "12345678"), None),
            Err(RetainedError::TooManyBytes { limit: 10 })
        );
        assert_eq!(
            store.set(publish("a", "1234567"), None),
            Ok(Change::Replaced)
        );
        assert_eq!((store.len(), store.bytes()), (2, 10));
        assert_eq!(topics(&store, "c", Instant::ZERO), Vec::<String>::new());
        assert_eq!(
            RetainedError::TooManyMessages { limit: 2 }.reason_code(),
            ReasonCode::QuotaExceeded
        );
    }

    #[test]
    fn a_publish_without_topic_is_refused() {
        let mut store = RetainedStore::new();
        let p = Publish::new(TopicName::alias_only(), "x");
        assert_eq!(store.set(p, None), Err(RetainedError::NoTopic));
        assert_eq!(
            RetainedError::NoTopic.reason_code(),
            ReasonCode::TopicNameInvalid
        );
    }

    #[test]
    fn emptied_levels_are_unlinked_and_reused() {
        let mut store = RetainedStore::new();
        store.set(publish("a/b/c", "x"), None).unwrap();
        store.set(publish("a", "x"), None).unwrap();
        let grown = store.nodes.len();
        store.remove(&TopicName::new("a/b/c").unwrap()).unwrap();
        assert_eq!(store.free.len(), 2);
        store.set(publish("a", ""), None).unwrap();
        assert_eq!(store.free.len(), 3);
        assert!(store.nodes[ROOT].children.is_empty());
        store.set(publish("x/y/z", "x"), None).unwrap();
        assert_eq!(store.nodes.len(), grown);
        assert_eq!(topics(&store, "#", Instant::ZERO), ["x/y/z"]);
    }

    #[test]
    fn deep_topics_do_not_recurse() {
        let deep = "/".repeat(60_000);
        let mut store = RetainedStore::new();
        store.set(publish(&deep, "x"), None).unwrap();
        assert_eq!(topics(&store, "#", Instant::ZERO).len(), 1);
        assert_eq!(topics(&store, &deep, Instant::ZERO).len(), 1);
        let pluses = "+/".repeat(5_000) + &"/".repeat(55_000);
        assert_eq!(topics(&store, &pluses, Instant::ZERO).len(), 1);
        drop(store);
    }
}
