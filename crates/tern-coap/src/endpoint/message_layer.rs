//! The message layer (RFC 7252 §4): Message IDs, retransmission of Confirmable messages with
//! randomized exponential backoff, and duplicate detection with the cached reply.
//!
//! It knows datagrams, peers and Message IDs, not requests: each Confirmable message it
//! retransmits belongs to an [`Owner`] (a client exchange or a server response) that it tells
//! when the message is acknowledged, reset or given up on.

use alloc::collections::{BTreeMap, BTreeSet, VecDeque};
use alloc::vec::Vec;
use core::net::SocketAddr;
use core::time::Duration;

use bytes::Bytes;

use super::Instant;
use super::config::TransmissionParameters;
use super::event::{IncomingId, RequestId, Transmit};
use super::observe::ObserverKey;
use super::rng::Rng;

/// Whose Confirmable message is in flight.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Owner {
    /// A request (or ping) of the client.
    Request(RequestId),
    /// A separate response of the server.
    Response(IncomingId),
    /// A notification of the server to an observer, with its Message ID (a later one to
    /// the same observer replaces it, RFC 7641 §4.5.2).
    Notification(ObserverKey, u16),
}

/// A Confirmable message awaiting its ACK or RST.
#[derive(Debug)]
struct Outgoing {
    datagram: Bytes,
    owner: Owner,
    retransmits: u8,
    timeout: Duration,
    deadline: Instant,
}

/// Timing of the Message IDs given out: a global counter, and how many were used in each
/// sixteenth of EXCHANGE_LIFETIME. A value comes round again only after 65,536 others, so
/// while fewer than that were used within the lifetime, no value is reused within it
/// (RFC 7252 §4.4) — whatever the peer — at the cost of 17 counters.
#[derive(Debug)]
struct MidAllocator {
    next: u16,
    width_us: u64,
    buckets: [(u64, u32); BUCKETS],
}

const BUCKETS: usize = 17;

impl MidAllocator {
    fn new(first: u16, lifetime: Duration) -> MidAllocator {
        let lifetime_us = u64::try_from(lifetime.as_micros()).unwrap_or(u64::MAX);
        MidAllocator {
            next: first,
            width_us: (lifetime_us / (BUCKETS as u64 - 1)).max(1),
            buckets: [(0, 0); BUCKETS],
        }
    }

    fn allocate(&mut self, now: Instant) -> Option<u16> {
        let idx = now.as_micros() / self.width_us;
        let window = BUCKETS as u64 - 1;
        // Every use within the last lifetime sits in a bucket of index idx - 16 ..= idx.
        let used: u32 = self
            .buckets
            .iter()
            .filter(|(i, _)| *i <= idx && i.saturating_add(window) >= idx)
            .map(|(_, n)| *n)
            .sum();
        if used >= 1 << 16 {
            return None;
        }
        let bucket = self.buckets.get_mut((idx % BUCKETS as u64) as usize)?;
        if bucket.0 != idx {
            *bucket = (idx, 0);
        }
        bucket.1 += 1;
        let mid = self.next;
        self.next = self.next.wrapping_add(1);
        Some(mid)
    }
}

/// What the duplicate cache says of an incoming CON or NON.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Seen {
    /// Not seen within its lifetime.
    New,
    /// A duplicate; the reply to send again, if one was sent.
    Duplicate(Option<Bytes>),
}

#[derive(Debug)]
pub(crate) struct MessageLayer {
    params: TransmissionParameters,
    transmits: VecDeque<Transmit>,
    outgoing: BTreeMap<(SocketAddr, u16), Outgoing>,
    retransmit_at: BTreeSet<(Instant, SocketAddr, u16)>,
    mids: MidAllocator,
    /// (peer, Message ID) of CON and NON messages processed, with the reply sent (an ACK, an
    /// RST, or nothing yet).
    dedup: BTreeMap<(SocketAddr, u16), Option<Bytes>>,
    dedup_expiry: BTreeSet<(Instant, SocketAddr, u16)>,
    max_dedup: usize,
    /// Entries forgotten before their lifetime because the cache was full.
    dedup_forgotten: u64,
}

impl MessageLayer {
    pub(crate) fn new(params: TransmissionParameters, max_dedup: usize, first_mid: u16) -> Self {
        MessageLayer {
            params,
            transmits: VecDeque::new(),
            outgoing: BTreeMap::new(),
            retransmit_at: BTreeSet::new(),
            mids: MidAllocator::new(first_mid, params.exchange_lifetime()),
            dedup: BTreeMap::new(),
            dedup_expiry: BTreeSet::new(),
            max_dedup,
            dedup_forgotten: 0,
        }
    }

    // ----- sending -------------------------------------------------------------------------

    /// A fresh Message ID, unless 65,536 were used within EXCHANGE_LIFETIME.
    pub(crate) fn allocate_mid(&mut self, now: Instant) -> Option<u16> {
        self.mids.allocate(now)
    }

    /// Sends a datagram once (NON, ACK, RST).
    pub(crate) fn send(&mut self, destination: SocketAddr, datagram: Bytes) {
        self.transmits.push_back(Transmit {
            destination,
            datagram,
        });
    }

    /// Sends a Confirmable message and retransmits it until [`MessageLayer::stop`]: after a
    /// random timeout in `[ACK_TIMEOUT, ACK_TIMEOUT × ACK_RANDOM_FACTOR]`, doubling each time,
    /// MAX_RETRANSMIT times (RFC 7252 §4.2).
    pub(crate) fn send_confirmable(
        &mut self,
        now: Instant,
        rng: &mut Rng,
        peer: SocketAddr,
        mid: u16,
        datagram: Bytes,
        owner: Owner,
    ) {
        let spread = u64::from(self.params.factor_permille() - 1_000);
        let permille = 1_000 + u128::from(rng.below_or_eq(spread));
        let micros = self.params.ack_timeout.as_micros().saturating_mul(permille) / 1_000;
        let timeout = Duration::from_micros(u64::try_from(micros).unwrap_or(u64::MAX));
        let deadline = now + timeout;
        self.send(peer, datagram.clone());
        if let Some(old) = self.outgoing.insert(
            (peer, mid),
            Outgoing {
                datagram,
                owner,
                retransmits: 0,
                timeout,
                deadline,
            },
        ) {
            self.retransmit_at.remove(&(old.deadline, peer, mid));
        }
        self.retransmit_at.insert((deadline, peer, mid));
    }

    /// Sends a Confirmable message in place of `old` (a notification still in flight to the
    /// same peer): `old` is no longer retransmitted, and the new one takes over its
    /// retransmission counter, timeout and next deadline (RFC 7641 §4.5.2), so that a client
    /// that is gone is given up on as soon as with one notification. Without `old` in flight,
    /// as [`MessageLayer::send_confirmable`].
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn replace_confirmable(
        &mut self,
        now: Instant,
        rng: &mut Rng,
        peer: SocketAddr,
        old: Option<u16>,
        mid: u16,
        datagram: Bytes,
        owner: Owner,
    ) {
        let Some(previous) = old.and_then(|old| {
            let out = self.outgoing.remove(&(peer, old))?;
            self.retransmit_at.remove(&(out.deadline, peer, old));
            Some(out)
        }) else {
            self.send_confirmable(now, rng, peer, mid, datagram, owner);
            return;
        };
        self.send(peer, datagram.clone());
        let deadline = previous.deadline;
        self.outgoing.insert(
            (peer, mid),
            Outgoing {
                datagram,
                owner,
                retransmits: previous.retransmits,
                timeout: previous.timeout,
                deadline,
            },
        );
        self.retransmit_at.insert((deadline, peer, mid));
    }

    /// Who sent the Confirmable message `mid` to `peer`, if it is still in flight.
    pub(crate) fn owner(&self, peer: SocketAddr, mid: u16) -> Option<Owner> {
        self.outgoing.get(&(peer, mid)).map(|o| o.owner)
    }

    /// Stops retransmitting `mid` to `peer` (acknowledged, reset, or no longer wanted).
    pub(crate) fn stop(&mut self, peer: SocketAddr, mid: u16) -> Option<Owner> {
        let out = self.outgoing.remove(&(peer, mid))?;
        self.retransmit_at.remove(&(out.deadline, peer, mid));
        Some(out.owner)
    }

    /// Retransmits what is due at `now`; returns the owner of a message given up on (after
    /// MAX_RETRANSMIT retransmissions and a last timeout), one per call.
    pub(crate) fn poll_expired(&mut self, now: Instant) -> Option<Owner> {
        while let Some(&(at, peer, mid)) = self.retransmit_at.first() {
            if at > now {
                break;
            }
            self.retransmit_at.pop_first();
            let Some(out) = self.outgoing.get_mut(&(peer, mid)) else {
                continue;
            };
            if out.retransmits >= self.params.max_retransmit {
                return self.outgoing.remove(&(peer, mid)).map(|o| o.owner);
            }
            out.retransmits += 1;
            out.timeout = out.timeout.saturating_mul(2);
            // From `now`, not from the missed deadline: a late caller gets one retransmission,
            // not a burst.
            out.deadline = now + out.timeout;
            self.retransmit_at.insert((out.deadline, peer, mid));
            self.transmits.push_back(Transmit {
                destination: peer,
                datagram: out.datagram.clone(),
            });
        }
        None
    }

    pub(crate) fn poll_transmit(&mut self) -> Option<Transmit> {
        self.transmits.pop_front()
    }

    // ----- duplicate detection (RFC 7252 §4.5) -------------------------------------------

    pub(crate) fn seen(&self, peer: SocketAddr, mid: u16) -> Seen {
        match self.dedup.get(&(peer, mid)) {
            None => Seen::New,
            Some(reply) => Seen::Duplicate(reply.clone()),
        }
    }

    /// Remembers a CON (for EXCHANGE_LIFETIME) or NON (NON_LIFETIME) as processed; `false`
    /// when the cache is full of exchanges still in progress.
    ///
    /// A full cache forgets its oldest *finished* entries to make room (answered, or not
    /// `in_progress` with the application): refusing new requests instead would silence a
    /// server for a whole EXCHANGE_LIFETIME (247 s) after any burst of `max_dedup` requests.
    /// The cost is that a very late duplicate of a forgotten exchange would be processed
    /// again, which RFC 7252 §4.5 allows ("MAY be relaxed"); entries still waiting for the
    /// application's answer are never forgotten, so a request in progress is never handed to
    /// the application twice.
    pub(crate) fn remember(
        &mut self,
        now: Instant,
        peer: SocketAddr,
        mid: u16,
        confirmable: bool,
        in_progress: impl Fn(SocketAddr, u16) -> bool,
    ) -> bool {
        if self.dedup.contains_key(&(peer, mid)) {
            return true;
        }
        if self.dedup.len() >= self.max_dedup && !self.forget_oldest_finished(&in_progress) {
            return false;
        }
        let lifetime = if confirmable {
            self.params.exchange_lifetime()
        } else {
            self.params.non_lifetime()
        };
        self.dedup.insert((peer, mid), None);
        self.dedup_expiry.insert((now + lifetime, peer, mid));
        true
    }

    /// Forgets the finished entries that expire first — a sixteenth of the cache at once, so
    /// that a full cache does not scan on every request; `false` when every entry is still
    /// in progress (waiting for the application's answer).
    fn forget_oldest_finished(&mut self, in_progress: &impl Fn(SocketAddr, u16) -> bool) -> bool {
        let batch = (self.max_dedup / 16).max(1);
        let finished: Vec<(Instant, SocketAddr, u16)> = self
            .dedup_expiry
            .iter()
            .filter(|&&(_, peer, mid)| {
                matches!(self.dedup.get(&(peer, mid)), Some(Some(_))) || !in_progress(peer, mid)
            })
            .take(batch)
            .copied()
            .collect();
        for entry @ (_, peer, mid) in &finished {
            self.dedup_expiry.remove(entry);
            self.dedup.remove(&(*peer, *mid));
        }
        self.dedup_forgotten += finished.len() as u64;
        !finished.is_empty()
    }

    /// Sends `reply` (an ACK or RST to the CON `mid`) and keeps it for duplicates.
    pub(crate) fn reply(&mut self, peer: SocketAddr, mid: u16, reply: Bytes) {
        if let Some(slot) = self.dedup.get_mut(&(peer, mid)) {
            *slot = Some(reply.clone());
        }
        self.send(peer, reply);
    }

    /// Forgets what was seen longer ago than its lifetime.
    pub(crate) fn expire_dedup(&mut self, now: Instant) {
        while let Some(&(at, peer, mid)) = self.dedup_expiry.first() {
            if at > now {
                break;
            }
            self.dedup_expiry.pop_first();
            self.dedup.remove(&(peer, mid));
        }
    }

    pub(crate) fn dedup_len(&self) -> usize {
        self.dedup.len()
    }

    pub(crate) fn dedup_forgotten(&self) -> u64 {
        self.dedup_forgotten
    }

    /// The earliest retransmission or cache expiry.
    pub(crate) fn next_deadline(&self) -> Option<Instant> {
        let r = self.retransmit_at.first().map(|t| t.0);
        let d = self.dedup_expiry.first().map(|t| t.0);
        match (r, d) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    pub(crate) fn in_flight(&self) -> usize {
        self.outgoing.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc7252_4_4_mids_are_refused_after_65536_within_the_lifetime() {
        let lifetime = Duration::from_secs(247);
        let mut m = MidAllocator::new(10, lifetime);
        let t0 = Instant::from_millis(1_000);
        assert_eq!(m.allocate(t0), Some(10));
        for _ in 1..(1 << 16) {
            assert!(m.allocate(t0).is_some());
        }
        assert_eq!(m.allocate(t0), None, "the 65,537th within the lifetime");
        // Once the lifetime (and one bucket width) has passed, values may come round again.
        let later = t0 + lifetime + lifetime / 16 + Duration::from_secs(1);
        assert_eq!(m.allocate(later), Some(10));
    }
}
