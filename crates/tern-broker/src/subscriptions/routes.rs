//! The caller-owned result of a route: deliveries and their subscription identifiers.

use alloc::vec::Vec;
use core::fmt;
use core::ops::Range;

use tern_mqtt::QoS;

use super::{NodeId, SubscriptionOptions};

/// One matching subscription, before the matches of a client are merged.
#[derive(Debug, Clone, Copy)]
pub(super) struct Match<K> {
    client: K,
    qos: QoS,
    retain_as_published: bool,
    identifier: Option<u32>,
}

impl<K> Match<K> {
    pub(super) fn new(client: K, options: &SubscriptionOptions) -> Self {
        Match {
            client,
            qos: options.qos,
            retain_as_published: options.retain_as_published,
            identifier: options.identifier,
        }
    }
}

/// A delivery as [`Routes`] stores it: identifiers are a range of its shared buffer.
#[derive(Debug, Clone)]
struct Entry<K> {
    client: K,
    qos: QoS,
    retain_as_published: bool,
    shared: bool,
    identifiers: Range<usize>,
}

/// The deliveries of one publication: what [`SubscriptionTree::route`](super::SubscriptionTree::route) fills.
///
/// The caller keeps one `Routes` and passes it to every `route`; its buffers (deliveries,
/// all their subscription identifiers in one vector, and the scratch space of the walk)
/// keep their capacity, so steady-state routing does not allocate. Read it with
/// [`iter`](Self::iter) or [`get`](Self::get); each [`Delivery`] borrows its identifiers
/// from it.
pub struct Routes<K> {
    deliveries: Vec<Entry<K>>,
    identifiers: Vec<u32>,
    pub(super) matches: Vec<Match<K>>,
    pub(super) shared: Vec<Match<K>>,
    pub(super) stack: Vec<(NodeId, usize)>,
}

impl<K> Default for Routes<K> {
    fn default() -> Self {
        Self::new()
    }
}

impl<K: fmt::Debug + Copy> fmt::Debug for Routes<K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

impl<K> Routes<K> {
    /// Empty buffers.
    pub const fn new() -> Self {
        Routes {
            deliveries: Vec::new(),
            identifiers: Vec::new(),
            matches: Vec::new(),
            shared: Vec::new(),
            stack: Vec::new(),
        }
    }

    /// The number of deliveries.
    pub fn len(&self) -> usize {
        self.deliveries.len()
    }

    /// Whether nobody receives the publication.
    pub fn is_empty(&self) -> bool {
        self.deliveries.is_empty()
    }

    /// The capacities of the buffers, to check that they are reused.
    #[cfg(test)]
    pub(super) fn capacities(&self) -> [usize; 5] {
        [
            self.deliveries.capacity(),
            self.identifiers.capacity(),
            self.matches.capacity(),
            self.shared.capacity(),
            self.stack.capacity(),
        ]
    }

    /// Forgets the deliveries, keeping the buffers.
    pub fn clear(&mut self) {
        self.deliveries.clear();
        self.identifiers.clear();
        self.matches.clear();
        self.shared.clear();
        self.stack.clear();
    }
}

impl<K: Copy> Routes<K> {
    /// The `i`th delivery.
    pub fn get(&self, i: usize) -> Option<Delivery<'_, K>> {
        self.deliveries.get(i).map(|e| self.view(e))
    }

    /// The deliveries: non-shared ones in client order, then one per matching shared group.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = Delivery<'_, K>> + '_ {
        self.deliveries.iter().map(|e| self.view(e))
    }

    fn view(&self, e: &Entry<K>) -> Delivery<'_, K> {
        Delivery {
            client: e.client,
            qos: e.qos,
            retain_as_published: e.retain_as_published,
            shared: e.shared,
            subscription_identifiers: self
                .identifiers
                .get(e.identifiers.clone())
                .unwrap_or_default(),
        }
    }

    fn push_identifier(&mut self, start: usize, id: Option<u32>) {
        if let Some(id) = id {
            // Matches arrive sorted by identifier, so a repeat is the last one pushed.
            if self.identifiers.len() == start || self.identifiers.last() != Some(&id) {
                self.identifiers.push(id);
            }
        }
    }

    /// Merges each client's non-shared matches into one delivery and appends the shared ones.
    pub(super) fn finish(&mut self)
    where
        K: Ord,
    {
        let mut matches = core::mem::take(&mut self.matches);
        matches.sort_unstable_by_key(|m| (m.client, m.identifier));
        for m in &matches {
            let merge = self.deliveries.last().is_some_and(|d| d.client == m.client);
            if !merge {
                let start = self.identifiers.len();
                self.deliveries.push(Entry {
                    client: m.client,
                    qos: m.qos,
                    retain_as_published: m.retain_as_published,
                    shared: false,
                    identifiers: start..start,
                });
            }
            let Some(start) = self.deliveries.last().map(|d| d.identifiers.start) else {
                continue;
            };
            self.push_identifier(start, m.identifier);
            let end = self.identifiers.len();
            if let Some(d) = self.deliveries.last_mut() {
                d.qos = d.qos.max(m.qos);
                // Any matching subscription asking for the publisher's RETAIN flag gets it.
                d.retain_as_published |= m.retain_as_published;
                d.identifiers.end = end;
            }
        }
        matches.clear();
        self.matches = matches;
        let mut shared = core::mem::take(&mut self.shared);
        for m in &shared {
            let start = self.identifiers.len();
            self.push_identifier(start, m.identifier);
            self.deliveries.push(Entry {
                client: m.client,
                qos: m.qos,
                retain_as_published: m.retain_as_published,
                shared: true,
                identifiers: start..self.identifiers.len(),
            });
        }
        shared.clear();
        self.shared = shared;
    }
}

/// One client's copy of a publication, as [`Routes`] reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Delivery<'a, K> {
    /// Who receives it.
    pub client: K,
    /// The highest QoS granted to the matching subscriptions; the message goes out at the
    /// lower of this and the publication's QoS.
    pub qos: QoS,
    /// Whether a matching subscription has Retain As Published: the delivery keeps the
    /// publisher's RETAIN flag instead of clearing it.
    pub retain_as_published: bool,
    /// Whether this copy comes from a shared subscription group.
    pub shared: bool,
    /// The Subscription Identifiers of the matching subscriptions, ascending and without
    /// repeats (5.0 [MQTT-3.3.4-3]); empty when none had one.
    pub subscription_identifiers: &'a [u32],
}
