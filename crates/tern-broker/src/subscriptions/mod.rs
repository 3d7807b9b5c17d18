//! Who receives a publication: the subscription tree (MQTT 5.0 §4.7, §4.8.2, §3.3.4, §3.8.3).
//!
//! [`SubscriptionTree`] keeps every session's subscriptions in a trie over topic levels and
//! answers, for one topic name, which clients get a copy and how ([`SubscriptionTree::route`]).
//! It is generic over the client key `K` (the broker core uses a session index), knows nothing
//! about connections, and only decides the *subscription side* of a delivery: the QoS it
//! reports is the maximum QoS granted to the client's matching subscriptions, which the core
//! still lowers to the publication's QoS.
//!
//! The routing rules it applies:
//!
//! - `+` matches one level, `#` the parent level and any number of levels below it, and a
//!   filter starting with a wildcard matches no topic name starting with `$` [MQTT-4.7.2-1].
//! - A client whose non-shared subscriptions overlap gets one delivery, at the highest QoS
//!   among the matching subscriptions (3.1.1 [MQTT-3.3.5-1], 5.0 [MQTT-3.3.4-2]), carrying
//!   the identifiers of all of them (5.0 [MQTT-3.3.4-3]) in ascending order without repeats.
//! - A subscription with No Local does not match publications of its own client
//!   [MQTT-3.8.3-3]; the client's other matching subscriptions still do.
//! - Each shared subscription group (share name and filter, §4.8.2) delivers each message to
//!   one of its members, chosen round robin, as a delivery of its own: a member that also
//!   has a matching non-shared subscription gets both, and a delivery from a group carries
//!   only the identifier of that member's shared subscription [MQTT-3.3.4-4]. No Local is a
//!   protocol error on a shared subscription [MQTT-3.8.3-4] and is ignored here.
//!
//! ```
//! use tern_broker::subscriptions::{Routes, SubscriptionOptions, SubscriptionTree};
//! use tern_mqtt::{QoS, TopicFilter, TopicName};
//!
//! let mut tree = SubscriptionTree::<u32>::new();
//! let mut opts = SubscriptionOptions::qos(QoS::AtLeastOnce);
//! opts.identifier = Some(7);
//! tree.subscribe(1, &TopicFilter::new("sensors/+/temperature")?, opts);
//! tree.subscribe(1, &TopicFilter::new("sensors/#")?, SubscriptionOptions::qos(QoS::ExactlyOnce));
//! tree.subscribe(2, &TopicFilter::new("$share/log/sensors/#")?, SubscriptionOptions::default());
//!
//! let mut routes = Routes::new();
//! tree.route(&TopicName::new("sensors/kitchen/temperature")?, None, &mut routes);
//! let deliveries: Vec<_> = routes.iter().collect();
//! assert_eq!(deliveries.len(), 2);
//! // Client 1: one delivery at the highest QoS with the identifier of its first subscription.
//! assert_eq!(deliveries[0].client, 1);
//! assert_eq!(deliveries[0].qos, QoS::ExactlyOnce);
//! assert_eq!(deliveries[0].subscription_identifiers, &[7]);
//! // Client 2 is the only member of the shared group `log`.
//! assert_eq!((deliveries[1].client, deliveries[1].shared), (2, true));
//! # Ok::<(), tern_mqtt::topic::TopicError>(())
//! ```

use alloc::boxed::Box;
use alloc::collections::BTreeMap;
use alloc::vec::Vec;
use core::fmt;

use tern_mqtt::{QoS, RetainHandling, TopicFilter, TopicName};

mod routes;

use routes::Match;
pub use routes::{Delivery, Routes};

/// The options of one subscription as the tree keeps them: the Subscription Options byte of
/// the SUBSCRIBE (reusing [`tern_mqtt::SubscriptionOptions`]' types) and the 5.0 Subscription
/// Identifier that came with it.
///
/// ```
/// use tern_broker::subscriptions::SubscriptionOptions;
/// use tern_mqtt::QoS;
///
/// let wire = tern_mqtt::SubscriptionOptions::qos(QoS::AtLeastOnce);
/// let opts = SubscriptionOptions::new(wire, Some(42));
/// assert_eq!(opts.qos, QoS::AtLeastOnce);
/// assert_eq!(opts.packet_options(), wire);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct SubscriptionOptions {
    /// The maximum QoS granted for this subscription.
    pub qos: QoS,
    /// No Local (5.0): publications of the subscribing client do not match [MQTT-3.8.3-3].
    /// Ignored for shared subscriptions, where the core refuses it [MQTT-3.8.3-4].
    pub no_local: bool,
    /// Retain As Published (5.0): deliveries keep the publisher's RETAIN flag.
    pub retain_as_published: bool,
    /// Retain Handling (5.0): when retained messages are sent on subscribe. The tree only
    /// stores it; the core applies it with [`Subscribed`] and the retained store.
    pub retain_handling: RetainHandling,
    /// The Subscription Identifier (5.0), if the SUBSCRIBE carried one.
    pub identifier: Option<u32>,
}

impl SubscriptionOptions {
    /// The options of a SUBSCRIBE entry together with the packet's Subscription Identifier.
    pub fn new(options: tern_mqtt::SubscriptionOptions, identifier: Option<u32>) -> Self {
        SubscriptionOptions {
            qos: options.qos,
            no_local: options.no_local,
            retain_as_published: options.retain_as_published,
            retain_handling: options.retain_handling,
            identifier,
        }
    }

    /// Options with this QoS and the defaults otherwise (the only option of 3.1.1).
    pub fn qos(qos: QoS) -> Self {
        SubscriptionOptions {
            qos,
            ..Default::default()
        }
    }

    /// The Subscription Options byte's fields, without the identifier.
    pub fn packet_options(&self) -> tern_mqtt::SubscriptionOptions {
        tern_mqtt::SubscriptionOptions {
            qos: self.qos,
            no_local: self.no_local,
            retain_as_published: self.retain_as_published,
            retain_handling: self.retain_handling,
        }
    }
}

impl From<tern_mqtt::SubscriptionOptions> for SubscriptionOptions {
    fn from(options: tern_mqtt::SubscriptionOptions) -> Self {
        SubscriptionOptions::new(options, None)
    }
}

/// What [`SubscriptionTree::subscribe`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Subscribed {
    /// The client had no subscription with this filter.
    New,
    /// The client's subscription with an identical filter was replaced [MQTT-3.8.4-3]; these
    /// were its options. Retain Handling 1 sends no retained messages in this case.
    Replaced(SubscriptionOptions),
}

/// Index of a node in the tree's arena.
type NodeId = usize;

const ROOT: NodeId = 0;

/// The subscriptions whose filter ends at one node.
struct Slot<K> {
    /// Non-shared subscriptions, one per client.
    plain: BTreeMap<K, SubscriptionOptions>,
    /// Shared subscription groups by share name.
    shared: BTreeMap<Box<str>, Group<K>>,
}

impl<K> Default for Slot<K> {
    fn default() -> Self {
        Slot {
            plain: BTreeMap::new(),
            shared: BTreeMap::new(),
        }
    }
}

impl<K> Slot<K> {
    fn is_empty(&self) -> bool {
        self.plain.is_empty() && self.shared.is_empty()
    }
}

/// The members of one shared subscription group, sorted by client, and whose turn is next.
struct Group<K> {
    members: Vec<(K, SubscriptionOptions)>,
    next: usize,
}

/// One level of the trie. The root stands for the empty path before the first level.
struct Node<K> {
    /// The parent and this node's level in it (`+` and `#` for the wildcard children), kept
    /// so that emptied nodes can be unlinked without walking down from the root again.
    parent: NodeId,
    key: Box<str>,
    children: BTreeMap<Box<str>, NodeId>,
    plus: Option<NodeId>,
    hash: Option<NodeId>,
    subs: Slot<K>,
}

impl<K> Node<K> {
    fn new(parent: NodeId, key: &str) -> Self {
        Node {
            parent,
            key: key.into(),
            children: BTreeMap::new(),
            plus: None,
            hash: None,
            subs: Slot::default(),
        }
    }

    fn is_unused(&self) -> bool {
        self.children.is_empty()
            && self.plus.is_none()
            && self.hash.is_none()
            && self.subs.is_empty()
    }
}

/// Every client's subscriptions, routed by topic name.
///
/// Getters: [`len`](Self::len), [`client_len`](Self::client_len),
/// [`client_subscriptions`](Self::client_subscriptions). Mutators:
/// [`subscribe`](Self::subscribe), [`unsubscribe`](Self::unsubscribe),
/// [`remove_client`](Self::remove_client). Queries: [`route`](Self::route), which takes
/// `&mut self` only to advance the round robin of shared groups.
///
/// Nodes live in an arena and nodes left without subscriptions or children are unlinked and
/// reused, so the tree's size follows the subscriptions it holds. A per-client index makes
/// `unsubscribe` and `remove_client` independent of the tree's size. Nothing recurses:
/// filters and topic names with tens of thousands of levels cost time, not stack.
pub struct SubscriptionTree<K> {
    nodes: Vec<Node<K>>,
    free: Vec<NodeId>,
    /// Each client's filters and the node where each ends (its `#` node for `…/#`).
    clients: BTreeMap<K, BTreeMap<TopicFilter, NodeId>>,
    len: usize,
}

impl<K: Copy + Ord> Default for SubscriptionTree<K> {
    fn default() -> Self {
        Self::new()
    }
}

impl<K: fmt::Debug> fmt::Debug for SubscriptionTree<K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SubscriptionTree")
            .field("subscriptions", &self.len)
            .field("clients", &self.clients.len())
            .field("nodes", &(self.nodes.len() - self.free.len()))
            .finish()
    }
}

impl<K: Copy + Ord> SubscriptionTree<K> {
    /// An empty tree.
    pub fn new() -> Self {
        SubscriptionTree {
            nodes: alloc::vec![Node::new(ROOT, "")],
            free: Vec::new(),
            clients: BTreeMap::new(),
            len: 0,
        }
    }

    /// The number of subscriptions, shared ones included.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether there are no subscriptions.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The number of subscriptions of `client`.
    pub fn client_len(&self, client: K) -> usize {
        self.clients.get(&client).map_or(0, BTreeMap::len)
    }

    /// The subscriptions of `client`, in filter order.
    ///
    /// ```
    /// use tern_broker::subscriptions::{SubscriptionOptions, SubscriptionTree};
    /// use tern_mqtt::{QoS, TopicFilter};
    ///
    /// let mut tree = SubscriptionTree::new();
    /// tree.subscribe('a', &TopicFilter::new("x/#")?, SubscriptionOptions::qos(QoS::AtLeastOnce));
    /// let subs: Vec<_> = tree.client_subscriptions('a').collect();
    /// assert_eq!(subs[0].0.as_str(), "x/#");
    /// assert_eq!(subs[0].1.qos, QoS::AtLeastOnce);
    /// # Ok::<(), tern_mqtt::topic::TopicError>(())
    /// ```
    pub fn client_subscriptions(
        &self,
        client: K,
    ) -> impl Iterator<Item = (&TopicFilter, SubscriptionOptions)> + '_ {
        self.clients
            .get(&client)
            .into_iter()
            .flatten()
            .filter_map(move |(filter, &node)| {
                let slot = &self.nodes.get(node)?.subs;
                let options = match filter.shared() {
                    Some(shared) => {
                        let group = slot.shared.get(shared.group)?;
                        let at = group.members.binary_search_by_key(&client, |m| m.0).ok()?;
                        group.members.get(at)?.1
                    }
                    None => *slot.plain.get(&client)?,
                };
                Some((filter, options))
            })
    }

    /// Adds `client`'s subscription to `filter`, or replaces the options of its subscription
    /// with an identical filter [MQTT-3.8.4-3].
    ///
    /// A shared filter (`$share/{name}/{filter}`) joins the group `name` of that inner filter;
    /// replacing a shared subscription keeps the group's round robin where it was.
    ///
    /// ```
    /// use tern_broker::subscriptions::{Subscribed, SubscriptionOptions, SubscriptionTree};
    /// use tern_mqtt::{QoS, TopicFilter};
    ///
    /// let mut tree = SubscriptionTree::new();
    /// let f = TopicFilter::new("a/+")?;
    /// assert_eq!(tree.subscribe(1, &f, SubscriptionOptions::default()), Subscribed::New);
    /// let again = tree.subscribe(1, &f, SubscriptionOptions::qos(QoS::AtLeastOnce));
    /// assert_eq!(again, Subscribed::Replaced(SubscriptionOptions::default()));
    /// assert_eq!(tree.len(), 1);
    /// # Ok::<(), tern_mqtt::topic::TopicError>(())
    /// ```
    pub fn subscribe(
        &mut self,
        client: K,
        filter: &TopicFilter,
        options: SubscriptionOptions,
    ) -> Subscribed {
        let shared = filter.shared().map(|s| s.group);
        let existing = self
            .clients
            .get(&client)
            .and_then(|filters| filters.get(filter))
            .copied();
        if let Some(node) = existing {
            if let Some(previous) = self.replace(node, shared, client, options) {
                return Subscribed::Replaced(previous);
            }
        }
        let node = self.make_path(filter.match_filter());
        if let Some(n) = self.nodes.get_mut(node) {
            match shared {
                Some(name) => {
                    let group = n.subs.shared.entry(name.into()).or_insert_with(|| Group {
                        members: Vec::new(),
                        next: 0,
                    });
                    if let Err(at) = group.members.binary_search_by_key(&client, |m| m.0) {
                        // A member joining before the one whose turn is next must not
                        // take its turn (or give anyone a second one in this round).
                        if at < group.next {
                            group.next += 1;
                        }
                        group.members.insert(at, (client, options));
                    }
                }
                None => {
                    n.subs.plain.insert(client, options);
                }
            }
        }
        self.clients
            .entry(client)
            .or_default()
            .insert(filter.clone(), node);
        self.len += 1;
        Subscribed::New
    }

    /// Sets the options of an existing subscription; its previous options.
    fn replace(
        &mut self,
        node: NodeId,
        shared: Option<&str>,
        client: K,
        options: SubscriptionOptions,
    ) -> Option<SubscriptionOptions> {
        let slot = &mut self.nodes.get_mut(node)?.subs;
        let current = match shared {
            Some(name) => {
                let group = slot.shared.get_mut(name)?;
                let at = group.members.binary_search_by_key(&client, |m| m.0).ok()?;
                &mut group.members.get_mut(at)?.1
            }
            None => slot.plain.get_mut(&client)?,
        };
        Some(core::mem::replace(current, options))
    }

    /// Removes `client`'s subscription to exactly `filter` (a shared filter leaves its group);
    /// whether there was one.
    ///
    /// ```
    /// use tern_broker::subscriptions::{SubscriptionOptions, SubscriptionTree};
    /// use tern_mqtt::TopicFilter;
    ///
    /// let mut tree = SubscriptionTree::new();
    /// tree.subscribe(1, &TopicFilter::new("a/#")?, SubscriptionOptions::default());
    /// assert!(!tree.unsubscribe(1, &TopicFilter::new("a/+")?));
    /// assert!(tree.unsubscribe(1, &TopicFilter::new("a/#")?));
    /// assert!(tree.is_empty());
    /// # Ok::<(), tern_mqtt::topic::TopicError>(())
    /// ```
    pub fn unsubscribe(&mut self, client: K, filter: &TopicFilter) -> bool {
        let Some(filters) = self.clients.get_mut(&client) else {
            return false;
        };
        let Some(node) = filters.remove(filter) else {
            return false;
        };
        if filters.is_empty() {
            self.clients.remove(&client);
        }
        self.detach(node, filter.shared().map(|s| s.group), client);
        true
    }

    /// Removes every subscription of `client` (its session ended); how many there were.
    /// The cost follows the client's subscriptions, not the tree's size.
    ///
    /// ```
    /// use tern_broker::subscriptions::{SubscriptionOptions, SubscriptionTree};
    /// use tern_mqtt::TopicFilter;
    ///
    /// let mut tree = SubscriptionTree::new();
    /// for f in ["a", "b/+", "$share/g/c"] {
    ///     tree.subscribe(1, &TopicFilter::new(f)?, SubscriptionOptions::default());
    /// }
    /// tree.subscribe(2, &TopicFilter::new("a")?, SubscriptionOptions::default());
    /// assert_eq!(tree.remove_client(1), 3);
    /// assert_eq!((tree.len(), tree.client_len(1)), (1, 0));
    /// # Ok::<(), tern_mqtt::topic::TopicError>(())
    /// ```
    pub fn remove_client(&mut self, client: K) -> usize {
        let Some(filters) = self.clients.remove(&client) else {
            return 0;
        };
        let count = filters.len();
        for (filter, node) in filters {
            self.detach(node, filter.shared().map(|s| s.group), client);
        }
        count
    }

    /// Takes `client`'s subscription out of `node` and unlinks the nodes this leaves unused.
    fn detach(&mut self, node: NodeId, shared: Option<&str>, client: K) {
        let Some(n) = self.nodes.get_mut(node) else {
            return;
        };
        let removed = match shared {
            Some(name) => {
                let Some(group) = n.subs.shared.get_mut(name) else {
                    return;
                };
                let Ok(at) = group.members.binary_search_by_key(&client, |m| m.0) else {
                    return;
                };
                group.members.remove(at);
                // Keep the member whose turn it was next in line.
                if at < group.next {
                    group.next -= 1;
                }
                if group.next >= group.members.len() {
                    group.next = 0;
                }
                if group.members.is_empty() {
                    n.subs.shared.remove(name);
                }
                true
            }
            None => n.subs.plain.remove(&client).is_some(),
        };
        if removed {
            self.len -= 1;
            self.prune(node);
        }
    }

    /// Unlinks `node` and its ancestors while they hold nothing, and recycles them.
    fn prune(&mut self, mut node: NodeId) {
        while node != ROOT {
            let Some(n) = self.nodes.get_mut(node) else {
                return;
            };
            if !n.is_unused() {
                return;
            }
            let parent = n.parent;
            let key = core::mem::take(&mut n.key);
            let Some(p) = self.nodes.get_mut(parent) else {
                return;
            };
            match &*key {
                "+" => p.plus = None,
                "#" => p.hash = None,
                level => {
                    p.children.remove(level);
                }
            }
            self.free.push(node);
            node = parent;
        }
    }

    /// The node where `filter` (without a `$share/` prefix) ends, created as needed.
    fn make_path(&mut self, filter: &str) -> NodeId {
        let mut node = ROOT;
        for level in filter.split('/') {
            let existing = self.nodes.get(node).and_then(|n| match level {
                "+" => n.plus,
                "#" => n.hash,
                _ => n.children.get(level).copied(),
            });
            node = match existing {
                Some(child) => child,
                None => {
                    let child = self.alloc(node, level);
                    if let Some(n) = self.nodes.get_mut(node) {
                        match level {
                            "+" => n.plus = Some(child),
                            "#" => n.hash = Some(child),
                            _ => {
                                n.children.insert(level.into(), child);
                            }
                        }
                    }
                    child
                }
            };
        }
        node
    }

    fn alloc(&mut self, parent: NodeId, key: &str) -> NodeId {
        let node = Node::new(parent, key);
        if let Some(id) = self.free.pop() {
            if let Some(slot) = self.nodes.get_mut(id) {
                *slot = node;
                return id;
            }
        }
        self.nodes.push(node);
        self.nodes.len() - 1
    }

    /// Fills `out` with the deliveries of a publication to `topic` by `publisher` (`None` for
    /// a message the broker publishes itself, such as a will or `$SYS`), replacing what it
    /// held.
    ///
    /// `out` keeps its buffers between calls, so routing allocates nothing once they have
    /// grown to the largest fan-out seen. Non-shared deliveries come first, one per client in
    /// client order; then one delivery per shared group that matched.
    ///
    /// ```
    /// use tern_broker::subscriptions::{Routes, SubscriptionOptions, SubscriptionTree};
    /// use tern_mqtt::{TopicFilter, TopicName};
    ///
    /// let mut tree = SubscriptionTree::new();
    /// let mut own = SubscriptionOptions::default();
    /// own.no_local = true;
    /// tree.subscribe(1, &TopicFilter::new("chat/#")?, own);
    /// tree.subscribe(2, &TopicFilter::new("chat/#")?, SubscriptionOptions::default());
    ///
    /// let mut routes = Routes::new();
    /// tree.route(&TopicName::new("chat/lobby")?, Some(1), &mut routes);
    /// assert_eq!(routes.iter().map(|d| d.client).collect::<Vec<_>>(), [2]);
    ///
    /// // '#' also matches the parent level, but no wildcard-led filter matches a '$' topic.
    /// tree.subscribe(3, &TopicFilter::new("#")?, SubscriptionOptions::default());
    /// tree.route(&TopicName::new("$SYS/uptime")?, None, &mut routes);
    /// assert!(routes.is_empty());
    /// tree.route(&TopicName::new("chat")?, None, &mut routes);
    /// assert_eq!(routes.len(), 3);
    /// # Ok::<(), tern_mqtt::topic::TopicError>(())
    /// ```
    pub fn route(&mut self, topic: &TopicName, publisher: Option<K>, out: &mut Routes<K>) {
        out.clear();
        let name = topic.as_str();
        let dollar = name.starts_with('$');
        // Offsets into `name` where a level starts; `done` means every level was consumed.
        let done = name.len() + 1;
        out.stack.push((ROOT, 0));
        while let Some((id, at)) = out.stack.pop() {
            let Some(node) = self.nodes.get(id) else {
                continue;
            };
            // [MQTT-4.7.2-1]: at the first level, wildcards do not match a '$' topic.
            let wildcards = !(dollar && at == 0);
            let hash = node.hash.filter(|_| wildcards);
            let mut here = false;
            if at >= done {
                here = true;
            } else {
                let rest = name.get(at..).unwrap_or_default();
                let (level, next) = match rest.split_once('/') {
                    Some((level, _)) => (level, at + level.len() + 1),
                    None => (rest, done),
                };
                if let Some(&child) = node.children.get(level) {
                    out.stack.push((child, next));
                }
                if let Some(plus) = node.plus.filter(|_| wildcards) {
                    out.stack.push((plus, next));
                }
            }
            // `x/#` matches `x` itself and everything below it.
            if let Some(hash) = hash {
                self.collect(hash, publisher, out);
            }
            if here {
                self.collect(id, publisher, out);
            }
        }
        out.finish();
    }

    /// Records the subscriptions ending at `node` that match a publication by `publisher`.
    fn collect(&mut self, node: NodeId, publisher: Option<K>, out: &mut Routes<K>) {
        let Some(n) = self.nodes.get_mut(node) else {
            return;
        };
        for (&client, options) in &n.subs.plain {
            if options.no_local && publisher == Some(client) {
                continue;
            }
            out.matches.push(Match::new(client, options));
        }
        for group in n.subs.shared.values_mut() {
            let turn = group.next;
            if let Some((client, options)) = group.members.get(turn) {
                out.shared.push(Match::new(*client, options));
            }
            group.next = if turn + 1 >= group.members.len() {
                0
            } else {
                turn + 1
            };
        }
    }
}

#[cfg(test)]
mod tests;
