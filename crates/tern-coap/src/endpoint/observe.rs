//! Observe (RFC 7641) as pure parts the endpoint plugs in:
//!
//! - client side, [`Freshness`]: whether a notification is newer than the last one (the
//!   24-bit serial-number rule and the 128-second window of RFC 7641 §3.4), whether it ends
//!   the observation (§3.2), and when to re-register (Max-Age, §3.3.1);
//! - server side, [`Observers`]: the list of observers per resource (§4.1), the sequence
//!   numbers (§4.4), and, for each notification, whether it goes as CON or NON, with or
//!   without Observe, and whether the observer stays (§4.2, §4.5).
//!
//! Neither reads a clock: the time comes in as [`Instant`] arguments.

use alloc::collections::{BTreeMap, BTreeSet};
use alloc::vec::Vec;
use core::cmp::Ordering;
use core::fmt;
use core::net::SocketAddr;
use core::time::Duration;

use tern_time::Instant;

use crate::message::{Code, Token};
use crate::value::{ContentFormat, Observe};

/// The window after which any notification counts as newer, whatever its sequence number:
/// 128 seconds (RFC 7641 §3.4), so that a wrapped or reset counter cannot stall a client.
pub const REORDERING_WINDOW: Duration = Duration::from_secs(128);

/// How often a server sends a notification as CON even when NON is its default:
/// every 24 hours (RFC 7641 §4.5).
pub const DEFAULT_CONFIRMABLE_INTERVAL: Duration = Duration::from_secs(24 * 60 * 60);

// ---------------------------------------------------------------------------------------------
// Client
// ---------------------------------------------------------------------------------------------

/// What a client does with a response that arrives for an observation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Verdict {
    /// Newer than every notification before it: give it to the application.
    Fresh,
    /// Older than (or the same as) the latest one: drop it, it arrived out of order
    /// (RFC 7641 §3.4). A CON one is still acknowledged.
    Stale,
    /// Deliver it, and the observation is over: a response without Observe, or not 2.xx
    /// (RFC 7641 §3.2; §4.2: such a notification carries no Observe).
    Ended,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Accepted {
    observe: Observe,
    at: Instant,
    max_age: Duration,
}

/// A client's view of one observation: the latest notification it accepted, to order the
/// next ones (RFC 7641 §3.4) and to know when its interest needs renewing (§3.3.1).
///
/// A notification with sequence number V2, received at T2, is newer than the latest one
/// accepted (V1, received at T1) if
///
/// - V1 < V2 and V2 − V1 < 2^23, or
/// - V1 > V2 and V1 − V2 > 2^23 (the 24-bit counter wrapped), or
/// - T2 > T1 + 128 s ([`REORDERING_WINDOW`]).
///
/// The response to a (re-)registration GET starts a new sequence: it is accepted whatever
/// its number, since a server that lost its state may start anywhere (TD_COAP_OBS_04).
///
/// ```
/// use tern_coap::endpoint::Instant;
/// use tern_coap::endpoint::observe::{Freshness, Verdict};
/// use tern_coap::message::Code;
/// use tern_coap::value::Observe;
///
/// let t = |s: u64| Instant::from_millis(s * 1000);
/// let mut obs = Freshness::new();
/// assert_eq!(obs.handle_registration_response(t(0), Code::CONTENT, Observe::new(10), 60), Verdict::Fresh);
/// assert_eq!(obs.handle_notification(t(5), Code::CONTENT, Observe::new(12), 60), Verdict::Fresh);
/// assert_eq!(obs.handle_notification(t(6), Code::CONTENT, Observe::new(11), 60), Verdict::Stale);
/// assert_eq!(obs.reregister_at(), Some(t(65))); // Max-Age after the latest fresh one
/// assert_eq!(obs.handle_notification(t(7), Code::NOT_FOUND, None, 60), Verdict::Ended);
/// ```
#[derive(Debug, Clone, Default)]
pub struct Freshness {
    last: Option<Accepted>,
    margin: Duration,
}

impl Freshness {
    /// No notification yet.
    pub const fn new() -> Freshness {
        Freshness {
            last: None,
            margin: Duration::ZERO,
        }
    }

    /// Re-registration is due `margin` after Max-Age runs out rather than at once; e.g.
    /// MAX_LATENCY (100 s), as the ETSI test TD_COAP_OBS_04 suggests, leaves time for a
    /// notification sent just before the expiry to arrive.
    ///
    /// ```
    /// use core::time::Duration;
    /// use tern_coap::endpoint::Instant;
    /// use tern_coap::endpoint::observe::Freshness;
    /// use tern_coap::message::Code;
    /// use tern_coap::value::Observe;
    ///
    /// let mut obs = Freshness::new().with_reregister_margin(Duration::from_secs(100));
    /// obs.handle_registration_response(Instant::ZERO, Code::CONTENT, Observe::new(1), 60);
    /// assert_eq!(obs.reregister_at(), Some(Instant::from_millis(160_000)));
    /// ```
    pub const fn with_reregister_margin(mut self, margin: Duration) -> Freshness {
        self.margin = margin;
        self
    }

    /// The sequence number of the latest notification accepted.
    pub fn last(&self) -> Option<Observe> {
        self.last.map(|a| a.observe)
    }

    /// Whether a notification numbered `observe`, received at `now`, is newer than the
    /// latest one accepted (RFC 7641 §3.4); true when none was.
    ///
    /// ```
    /// use tern_coap::endpoint::Instant;
    /// use tern_coap::endpoint::observe::Freshness;
    /// assert!(Freshness::new().is_newer(Instant::ZERO, tern_coap::value::Observe::MAX));
    /// ```
    pub fn is_newer(&self, now: Instant, observe: Observe) -> bool {
        match self.last {
            None => true,
            Some(last) => observe.is_newer_than(last.observe) || now > last.at + REORDERING_WINDOW,
        }
    }

    /// Feeds the response to the registration (or re-registration) GET: `Fresh` with its
    /// sequence number taken as the new start, or `Ended` when the server did not register
    /// the client (no Observe, or not 2.xx; RFC 7641 §3.1, §4.1): deliver it as an ordinary
    /// response. `max_age` is the response's Max-Age (60 when absent,
    /// `Options::max_age`).
    pub fn handle_registration_response(
        &mut self,
        now: Instant,
        code: Code,
        observe: Option<Observe>,
        max_age: u32,
    ) -> Verdict {
        match observe {
            Some(observe) if code.class() == 2 => {
                self.accept(now, observe, max_age);
                Verdict::Fresh
            }
            _ => {
                self.last = None;
                Verdict::Ended
            }
        }
    }

    /// Feeds a notification (a response on the observation's token after the first):
    /// `Fresh` (and remembered) if newer, `Stale` if not, `Ended` if it carries no Observe
    /// or is not 2.xx.
    pub fn handle_notification(
        &mut self,
        now: Instant,
        code: Code,
        observe: Option<Observe>,
        max_age: u32,
    ) -> Verdict {
        match observe {
            Some(observe) if code.class() == 2 => {
                if self.is_newer(now, observe) {
                    self.accept(now, observe, max_age);
                    Verdict::Fresh
                } else {
                    Verdict::Stale
                }
            }
            _ => {
                self.last = None;
                Verdict::Ended
            }
        }
    }

    fn accept(&mut self, now: Instant, observe: Observe, max_age: u32) {
        self.last = Some(Accepted {
            observe,
            at: now,
            max_age: Duration::from_secs(u64::from(max_age)),
        });
    }

    /// When the latest notification stops being fresh (its Max-Age after it arrived) plus
    /// the margin: if nothing newer arrived by then, the client re-registers with a GET with
    /// Observe = 0 on the same token (RFC 7641 §3.3.1). `None` before a notification or after
    /// the observation ended.
    #[must_use]
    pub fn reregister_at(&self) -> Option<Instant> {
        self.last.map(|l| l.at + l.max_age + self.margin)
    }

    /// Whether re-registration is due at `now`.
    ///
    /// ```
    /// use tern_coap::endpoint::Instant;
    /// use tern_coap::endpoint::observe::Freshness;
    /// use tern_coap::message::Code;
    /// use tern_coap::value::Observe;
    ///
    /// let mut obs = Freshness::new();
    /// obs.handle_registration_response(Instant::ZERO, Code::CONTENT, Observe::new(1), 60);
    /// assert!(!obs.reregister_due(Instant::from_millis(59_999)));
    /// assert!(obs.reregister_due(Instant::from_millis(60_000)));
    /// ```
    pub fn reregister_due(&self, now: Instant) -> bool {
        self.reregister_at().is_some_and(|at| now >= at)
    }
}

// ---------------------------------------------------------------------------------------------
// Server
// ---------------------------------------------------------------------------------------------

/// An entry of the list of observers: the client's endpoint and the token of its
/// registration (RFC 7641 §4.1: "keyed by the client endpoint and the token").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ObserverKey {
    /// The client's address.
    pub peer: SocketAddr,
    /// The token of the registration, repeated in every notification.
    pub token: Token,
}

impl ObserverKey {
    /// The key of a registration.
    pub const fn new(peer: SocketAddr, token: Token) -> ObserverKey {
        ObserverKey { peer, token }
    }
}

impl Ord for ObserverKey {
    fn cmp(&self, other: &Self) -> Ordering {
        self.peer
            .cmp(&other.peer)
            .then_with(|| self.token.as_bytes().cmp(other.token.as_bytes()))
    }
}

impl PartialOrd for ObserverKey {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// The limits and policy of an [`Observers`] list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ObserversConfig {
    /// Observers in total; a registration beyond is answered without Observe.
    pub max_observers: usize,
    /// Observers per client address.
    pub max_per_peer: usize,
    /// A notification goes as CON at least this often even when NON is the default
    /// ([`DEFAULT_CONFIRMABLE_INTERVAL`], 24 hours, RFC 7641 §4.5).
    pub confirmable_interval: Duration,
    /// The first sequence number of a resource. An adapter may seed it (from a clock or a
    /// random number) so that a restarted server does not repeat the numbers it sent before.
    pub initial_sequence: u32,
}

impl Default for ObserversConfig {
    /// 256 observers, 16 per client, CON every 24 hours, sequence numbers from 0.
    fn default() -> Self {
        ObserversConfig {
            max_observers: 256,
            max_per_peer: 16,
            confirmable_interval: DEFAULT_CONFIRMABLE_INTERVAL,
            initial_sequence: 0,
        }
    }
}

/// How the notifications of a resource go (RFC 7641 §4.5): the resource's choice, which the
/// 24-hour rule and a CON still in flight override.
///
/// ```
/// use tern_coap::endpoint::Instant;
/// use tern_coap::endpoint::observe::{NotificationType, ObserverKey, Observers, ObserversConfig};
/// use tern_coap::message::{Code, Token};
///
/// let mut observers = Observers::new(ObserversConfig::default());
/// let key = ObserverKey::new("192.0.2.1:5683".parse().unwrap(), Token::new(&[1]).unwrap());
/// observers.register(Instant::ZERO, key, "/obs-non", None)?;
/// // The client registered with a CON request, but the resource insists on NON.
/// observers.set_confirmable(&key, true);
/// let sent = observers.notify_as(Instant::ZERO, &"/obs-non", Code::CONTENT, None, NotificationType::NonConfirmable);
/// assert!(!sent[0].confirmable);
/// # Ok::<(), tern_coap::endpoint::observe::RegisterError>(())
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum NotificationType {
    /// Confirmable to an observer that registered with a CON request (so that a client that
    /// is gone is noticed, TD_COAP_OBS_05), Non-confirmable to the others.
    #[default]
    AsRegistered,
    /// Non-confirmable to every observer, whatever its registration (TD_COAP_OBS_02's
    /// /obs-non). Still Confirmable at least every
    /// [`ObserversConfig::confirmable_interval`] (24 hours), so that an observer that is
    /// gone is not kept for ever, and in place of a CON notification still in flight.
    NonConfirmable,
    /// Confirmable to every observer.
    Confirmable,
}

/// One observer of a resource.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Observer<R> {
    key: ObserverKey,
    resource: R,
    content_format: Option<ContentFormat>,
    registered_at: Instant,
    last_confirmable: Instant,
    in_flight: bool,
    confirmable: bool,
}

impl<R> Observer<R> {
    /// The client and token.
    pub const fn key(&self) -> ObserverKey {
        self.key
    }

    /// The resource observed.
    pub const fn resource(&self) -> &R {
        &self.resource
    }

    /// The Content-Format every notification must have (the registration's Accept, or the
    /// format of its first response), if pinned.
    pub const fn content_format(&self) -> Option<ContentFormat> {
        self.content_format
    }

    /// When it registered (or last re-registered).
    pub const fn registered_at(&self) -> Instant {
        self.registered_at
    }

    /// Whether a CON notification to it awaits its acknowledgement.
    pub const fn in_flight(&self) -> bool {
        self.in_flight
    }

    /// Whether every notification to it goes Confirmable ([`Observers::set_confirmable`]).
    pub const fn confirmable(&self) -> bool {
        self.confirmable
    }
}

/// Why a registration was not added. The GET is still answered, without Observe (RFC 7641
/// §4.1: a server unable or unwilling to add an observer answers as to a plain GET).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RegisterError {
    /// [`ObserversConfig::max_observers`] reached.
    Full,
    /// [`ObserversConfig::max_per_peer`] reached for this client.
    PeerFull,
}

impl fmt::Display for RegisterError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            RegisterError::Full => "the list of observers is full",
            RegisterError::PeerFull => "this client has as many observations as allowed",
        })
    }
}

#[cfg(feature = "std")]
impl std::error::Error for RegisterError {}

/// How to send one notification (see [`Observers::notify`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Notification {
    /// To whom, on which token.
    pub key: ObserverKey,
    /// The response code to send: the one given, or 4.06 Not Acceptable when the
    /// representation's Content-Format is not the observer's.
    pub code: Code,
    /// The Observe option: the sequence number for a 2.xx notification, `None` for one that
    /// ends the observation (RFC 7641 §4.2: it carries no Observe).
    pub observe: Option<Observe>,
    /// Send as CON (else NON).
    pub confirmable: bool,
    /// A CON notification to this observer is still unacknowledged: this one takes its place
    /// (stop retransmitting the old one, carry its retransmission counter and timeout over to
    /// this one; RFC 7641 §4.5.2), so one notification at most is in flight per observer.
    pub replaces_in_flight: bool,
    /// The observer was removed: this is its last notification.
    pub ends_observation: bool,
}

#[derive(Debug, Clone, Default)]
struct ResourceState {
    /// The next sequence number, 24 bits.
    next: u32,
    observers: BTreeSet<ObserverKey>,
}

/// A server's list of observers (RFC 7641 §4): who observes which resource (`R`, e.g. the
/// path), the next sequence number of each resource, and the transmission policy of
/// notifications.
///
/// The endpoint calls it at these points:
///
/// | event | call |
/// |---|---|
/// | a GET (or FETCH) with Observe = 0 answered 2.xx | [`Observers::register`], its `Observe` in the response |
/// | the same answered otherwise, a GET with Observe = 1 | [`Observers::deregister`] |
/// | the resource changed (or was deleted: a 4.04) | [`Observers::notify`], one message per [`Notification`] |
/// | a CON notification acknowledged | [`Observers::handle_ack`] |
/// | an RST to a notification, a CON notification timed out | [`Observers::handle_reset`], [`Observers::handle_notification_timeout`] |
///
/// ```
/// use tern_coap::endpoint::Instant;
/// use tern_coap::endpoint::observe::{ObserverKey, Observers, ObserversConfig};
/// use tern_coap::message::{Code, Token};
/// use tern_coap::value::ContentFormat;
///
/// let mut observers = Observers::new(ObserversConfig::default());
/// let key = ObserverKey::new("192.0.2.1:5683".parse().unwrap(), Token::new(&[1, 2]).unwrap());
/// let now = Instant::ZERO;
/// let first = observers.register(now, key, "/obs", Some(ContentFormat::TEXT_PLAIN))?;
///
/// let sent = observers.notify(now, &"/obs", Code::CONTENT, Some(ContentFormat::TEXT_PLAIN), false);
/// assert_eq!(sent.len(), 1);
/// assert!(sent[0].observe.unwrap().is_newer_than(first));
/// assert!(!sent[0].confirmable && !sent[0].ends_observation);
///
/// // The resource is deleted: a 4.04 without Observe ends every observation of it.
/// let last = observers.notify(now, &"/obs", Code::NOT_FOUND, None, true);
/// assert_eq!((last[0].observe, last[0].ends_observation), (None, true));
/// assert!(observers.is_empty());
/// # Ok::<(), tern_coap::endpoint::observe::RegisterError>(())
/// ```
#[derive(Debug, Clone)]
pub struct Observers<R> {
    config: ObserversConfig,
    entries: BTreeMap<ObserverKey, Observer<R>>,
    resources: BTreeMap<R, ResourceState>,
}

impl<R: Ord + Clone> Observers<R> {
    /// An empty list.
    pub const fn new(config: ObserversConfig) -> Observers<R> {
        Observers {
            config,
            entries: BTreeMap::new(),
            resources: BTreeMap::new(),
        }
    }

    /// The configuration.
    pub const fn config(&self) -> &ObserversConfig {
        &self.config
    }

    /// The number of observers.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The observer registered under `key`.
    pub fn get(&self, key: &ObserverKey) -> Option<&Observer<R>> {
        self.entries.get(key)
    }

    /// The observers of `resource`.
    pub fn observers_of<'a>(&'a self, resource: &R) -> impl Iterator<Item = &'a Observer<R>> + 'a {
        self.resources
            .get(resource)
            .into_iter()
            .flat_map(|r| r.observers.iter())
            .filter_map(|k| self.entries.get(k))
    }

    /// Adds the client as an observer of `resource`, or updates its entry if it registered
    /// with this token already (RFC 7641 §4.1: "MUST NOT add a new entry but MUST replace or
    /// update the existing one"). Returns the sequence number for the Observe option of the
    /// response.
    ///
    /// `content_format` pins the format of the notifications: the request's Accept, or the
    /// format of this response; a later notification in another format is sent as 4.06 and
    /// ends the observation (TD_COAP_OBS_08). `None` pins nothing.
    ///
    /// Call it when the response to the registration is 2.xx; for any other response, call
    /// [`Observers::deregister`] and send the response without Observe.
    pub fn register(
        &mut self,
        now: Instant,
        key: ObserverKey,
        resource: R,
        content_format: Option<ContentFormat>,
    ) -> Result<Observe, RegisterError> {
        if let Some(existing) = self.entries.get(&key) {
            if existing.resource != resource {
                let old = existing.resource.clone();
                self.unlink(&key, &old);
            }
        } else {
            if self.entries.len() >= self.config.max_observers {
                return Err(RegisterError::Full);
            }
            let per_peer = self.entries.keys().filter(|k| k.peer == key.peer).count();
            if per_peer >= self.config.max_per_peer {
                return Err(RegisterError::PeerFull);
            }
        }
        let initial = self.config.initial_sequence;
        let state = self
            .resources
            .entry(resource.clone())
            .or_insert_with(|| ResourceState {
                next: initial & Observe::MAX.get(),
                observers: BTreeSet::new(),
            });
        state.observers.insert(key);
        let observe = take_sequence(state);
        let entry = self.entries.entry(key).or_insert_with(|| Observer {
            key,
            resource: resource.clone(),
            content_format,
            registered_at: now,
            last_confirmable: now,
            in_flight: false,
            confirmable: false,
        });
        entry.resource = resource;
        entry.content_format = content_format;
        entry.registered_at = now;
        Ok(observe)
    }

    /// Sends every notification to the observer under `key` Confirmable (`true`), or as the
    /// `confirmable` argument of [`Observers::notify`] says (`false`, the default). The
    /// endpoint sets it for a client that registered with a CON request, so that a client
    /// that is gone is noticed at its next notification (RFC 7641 §4.5).
    ///
    /// ```
    /// use tern_coap::endpoint::Instant;
    /// use tern_coap::endpoint::observe::{ObserverKey, Observers, ObserversConfig};
    /// use tern_coap::message::{Code, Token};
    ///
    /// let mut observers = Observers::new(ObserversConfig::default());
    /// let key = ObserverKey::new("192.0.2.1:5683".parse().unwrap(), Token::new(&[1]).unwrap());
    /// observers.register(Instant::ZERO, key, "/obs", None)?;
    /// observers.set_confirmable(&key, true);
    /// assert!(observers.notify(Instant::ZERO, &"/obs", Code::CONTENT, None, false)[0].confirmable);
    /// # Ok::<(), tern_coap::endpoint::observe::RegisterError>(())
    /// ```
    pub fn set_confirmable(&mut self, key: &ObserverKey, confirmable: bool) {
        if let Some(entry) = self.entries.get_mut(key) {
            entry.confirmable = confirmable;
        }
    }

    /// Removes an observer: a GET with Observe = 1 (RFC 7641 §3.6), or any other ending the
    /// caller decides. Returns its entry.
    pub fn deregister(&mut self, key: &ObserverKey) -> Option<Observer<R>> {
        let entry = self.entries.remove(key)?;
        self.unlink(key, &entry.resource);
        Some(entry)
    }

    /// An RST in answer to a notification: the client is no longer interested (RFC 7641
    /// §3.6, §4.5). Removes it.
    pub fn handle_reset(&mut self, key: &ObserverKey) -> Option<Observer<R>> {
        self.deregister(key)
    }

    /// A CON notification was not acknowledged after all its retransmissions: the client is
    /// gone (RFC 7641 §4.5, TD_COAP_OBS_05). Removes it.
    pub fn handle_notification_timeout(&mut self, key: &ObserverKey) -> Option<Observer<R>> {
        self.deregister(key)
    }

    /// A CON notification was acknowledged: nothing is in flight to this observer any more.
    pub fn handle_ack(&mut self, key: &ObserverKey) {
        if let Some(entry) = self.entries.get_mut(key) {
            entry.in_flight = false;
        }
    }

    /// The resource has a new state to notify: one [`Notification`] per observer, all with
    /// the same new sequence number.
    ///
    /// - `code` 2.xx: each observer gets it with Observe, unless its pinned Content-Format
    ///   differs from `content_format`: then 4.06 without Observe, and it is removed.
    /// - any other `code` (e.g. 4.04 after a DELETE, TD_COAP_OBS_07): every observer gets it
    ///   without Observe and is removed (RFC 7641 §4.2).
    /// - `confirmable` is the resource's default; a notification goes as CON anyway when
    ///   the observer got no CON for [`ObserversConfig::confirmable_interval`] (24 hours,
    ///   RFC 7641 §4.5), or when a CON is still in flight to it, which it replaces.
    ///
    /// This is [`Observers::notify_as`] with [`NotificationType::Confirmable`] when
    /// `confirmable`, else [`NotificationType::AsRegistered`].
    pub fn notify(
        &mut self,
        now: Instant,
        resource: &R,
        code: Code,
        content_format: Option<ContentFormat>,
        confirmable: bool,
    ) -> Vec<Notification> {
        let how = if confirmable {
            NotificationType::Confirmable
        } else {
            NotificationType::AsRegistered
        };
        self.notify_as(now, resource, code, content_format, how)
    }

    /// [`Observers::notify`], with the message type chosen by `how`: whatever it says, a
    /// notification goes as CON when the observer got no CON for
    /// [`ObserversConfig::confirmable_interval`] (RFC 7641 §4.5), or when a CON is still in
    /// flight to it, which it replaces (§4.5.2: the new one takes over its retransmission).
    pub fn notify_as(
        &mut self,
        now: Instant,
        resource: &R,
        code: Code,
        content_format: Option<ContentFormat>,
        how: NotificationType,
    ) -> Vec<Notification> {
        let Some(state) = self.resources.get_mut(resource) else {
            return Vec::new();
        };
        let success = code.class() == 2;
        let observe = success.then(|| take_sequence(state));
        let keys: Vec<ObserverKey> = state.observers.iter().copied().collect();
        let mut out = Vec::with_capacity(keys.len());
        let mut ended = Vec::new();
        for key in keys {
            let Some(entry) = self.entries.get_mut(&key) else {
                continue;
            };
            let mismatch = success
                && entry
                    .content_format
                    .is_some_and(|pinned| Some(pinned) != content_format);
            let ends = !success || mismatch;
            let replaces_in_flight = entry.in_flight;
            let due = now >= entry.last_confirmable + self.config.confirmable_interval;
            let chosen = match how {
                NotificationType::AsRegistered => entry.confirmable,
                NotificationType::NonConfirmable => false,
                NotificationType::Confirmable => true,
            };
            let con = chosen || replaces_in_flight || due;
            if con {
                entry.last_confirmable = now;
                entry.in_flight = true;
            }
            out.push(Notification {
                key,
                code: if mismatch { Code::NOT_ACCEPTABLE } else { code },
                observe: if ends { None } else { observe },
                confirmable: con,
                replaces_in_flight,
                ends_observation: ends,
            });
            if ends {
                ended.push(key);
            }
        }
        for key in ended {
            self.deregister(&key);
        }
        out
    }

    fn unlink(&mut self, key: &ObserverKey, resource: &R) {
        if let Some(state) = self.resources.get_mut(resource) {
            state.observers.remove(key);
            // A resource nobody observes keeps no state, so memory follows the observers.
            if state.observers.is_empty() {
                self.resources.remove(resource);
            }
        }
    }
}

/// The resource's next sequence number; the 24-bit counter wraps (RFC 7641 §4.4).
fn take_sequence(state: &mut ResourceState) -> Observe {
    let observe = Observe::wrapping(state.next);
    state.next = state.next.wrapping_add(1) & Observe::MAX.get();
    observe
}
