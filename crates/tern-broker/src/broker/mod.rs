//! The broker core: every connection, session, subscription and retained message of one
//! broker, driven like every tern state machine.
//!
//! [`Broker`] owns a [`Connection`] per accepted transport connection and a
//! [`Session`](crate::session::Session) per client identifier, routes publications through
//! the [`SubscriptionTree`](crate::subscriptions::SubscriptionTree), keeps the
//! [`RetainedStore`], publishes wills and `$SYS` topics. It does no I/O: the adapter
//!
//! 1. calls [`Broker::accept`] for a new transport connection, [`Broker::handle_read`] with
//!    the bytes it reads (while [`Broker::wants_read`]), [`Broker::handle_closed`] when the
//!    transport ends, and [`Broker::handle_timeout`] at [`Broker::poll_timeout`];
//! 2. drains [`Broker::poll_event`]: [`Event::Transmit`] — call [`Broker::poll_transmit`]
//!    for that connection until it gives nothing and write the bytes; [`Event::Close`] —
//!    write what is left, close the transport, then call `handle_closed`;
//!    [`Event::Resume`] — read that connection again; [`Event::Authenticate`] — check the
//!    credentials off the event loop and answer with [`Broker::authenticated`].
//!
//! MQTT 5.0 enhanced authentication (§4.12) needs no part of the adapter: the core drives
//! the [`EnhancedAuth`] hook given to [`Broker::set_enhanced_auth`] itself, through CONNECT,
//! AUTH and CONNACK, and for re-authentication. The hook runs inside the core's calls, so
//! each of its steps must be quick.
//!
//! # Invariants
//!
//! - Nothing acknowledged is dropped for a connected subscriber: a publication that a
//!   connected subscriber's queue has no room for waits — its PUBACK/PUBREC withheld and its
//!   connection not read — until that subscriber's connection takes messages again, or the
//!   subscriber goes offline. Only offline sessions beyond their queue limit lose copies
//!   (counted in `$SYS`).
//! - Messages are encoded when the adapter asks for bytes ([`Broker::poll_transmit`]), never
//!   ahead: a slow client holds messages in its bounded session queue, not in buffers.
//! - A QoS 2 message is routed once per packet identifier until its PUBREL, also across
//!   reconnections [MQTT-4.3.3-9].
//!
//! ```
//! use bytes::BytesMut;
//! use tern_broker::{Broker, BrokerConfig, Event};
//! use tern_mqtt::{Codec, Connect, MqttString, Packet, ProtocolVersion};
//! use tern_time::Instant;
//!
//! let now = Instant::ZERO;
//! let mut broker = Broker::new(BrokerConfig::default(), now);
//! let conn = broker.accept(now)?;
//!
//! let mut wire = BytesMut::new();
//! let connect = Connect::new(ProtocolVersion::V5, MqttString::new("thermo-1")?);
//! Codec::new(ProtocolVersion::V5).encode(&connect.into(), &mut wire)?;
//! broker.handle_read(now, conn, &wire);
//!
//! assert_eq!(broker.poll_event(), Some(Event::Transmit(conn)));
//! let mut out = BytesMut::new();
//! broker.poll_transmit(now, conn, &mut out);
//! assert_eq!(out[0], 0x20); // CONNACK
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod registry;

use alloc::boxed::Box;
use alloc::collections::{BTreeSet, VecDeque};
use alloc::format;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::fmt;
use core::time::Duration;

use bytes::{Bytes, BytesMut};
use tern_mqtt::{
    Connect, MqttString, PacketId, Properties, Property, PropertyId, Publish, QoS, ReasonCode,
    RetainHandling, Subscribe, TopicFilter, TopicName, Unsubscribe, Will,
};
use tern_time::Instant;

use self::registry::{FanOut, NEVER, Registry, SessionKey};
use crate::auth::{AuthExchange, AuthStep, EnhancedAuth};
use crate::config::ServerConfig;
use crate::connection::{CloseReason, CommandError, Connection, ConnectionEvent, WillAction};
use crate::retained::{RetainedLimits, RetainedStore};
use crate::session::{Delivery, Message, Outgoing, SessionLimits};
use crate::subscriptions::{Subscribed, SubscriptionOptions};
use crate::sys::{Stats, SysTopics};

/// Connections accepted beyond [`BrokerConfig::max_connections`] only to be told why they
/// are refused (CONNACK 0x89 Server busy); beyond these, [`Broker::accept`] refuses outright.
/// So [`Broker::connections`] never exceeds `max_connections + OVER_LIMIT`.
pub const OVER_LIMIT: usize = 64;

/// Bytes [`Broker::poll_transmit`] encodes for one connection at a time: enough for a large
/// write, small enough that a client that reads slowly keeps its messages in its queue.
const TRANSMIT_CHUNK: usize = 64 * 1024;

/// Everything a broker is configured with.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct BrokerConfig {
    /// What each connection negotiates and enforces (packet sizes, windows, keep alive, ...).
    pub server: ServerConfig,
    /// Each session's queue limits.
    pub sessions: SessionLimits,
    /// The retained store's limits (default: a million messages, 256 MiB).
    pub retained: RetainedLimits,
    /// Transport connections open at once. A few more are accepted only to be refused with
    /// CONNACK 0x89 Server busy (3.1.1: 3 Server unavailable); beyond those,
    /// [`Broker::accept`] refuses.
    pub max_connections: usize,
    /// Subscriptions one client may hold; beyond them SUBACK says 0x97 Quota exceeded.
    pub max_subscriptions: usize,
    /// The longest Session Expiry Interval granted, in seconds.
    pub max_session_expiry: u32,
    /// Whether clients without a user name and password are let in; when not, every CONNECT
    /// without them is refused (0x86), and those with them are checked by the adapter
    /// ([`Event::Authenticate`]).
    pub allow_anonymous: bool,
    /// How often `$SYS/broker/...` is published; `None`: never.
    pub sys_interval: Option<Duration>,
    /// The version string published in `$SYS/broker/version`.
    pub version: &'static str,
}

impl Default for BrokerConfig {
    fn default() -> BrokerConfig {
        BrokerConfig {
            server: ServerConfig::new(),
            sessions: SessionLimits::default(),
            retained: RetainedLimits {
                max_messages: 1_000_000,
                max_bytes: 256 << 20,
            },
            max_connections: 100_000,
            max_subscriptions: 1_000,
            max_session_expiry: NEVER,
            allow_anonymous: true,
            sys_interval: Some(Duration::from_secs(10)),
            version: concat!("tern ", env!("CARGO_PKG_VERSION")),
        }
    }
}

/// The authorisation a broker applies (an ACL): who may publish, subscribe and receive what.
/// Without one, everything is allowed.
pub trait Authorizer: Send + Sync {
    /// Whether the client may publish to `topic`.
    fn may_publish(&self, client_id: &str, username: Option<&str>, topic: &TopicName) -> bool;
    /// Whether the client may subscribe to `filter`.
    fn may_subscribe(&self, client_id: &str, username: Option<&str>, filter: &TopicFilter) -> bool;
    /// Whether the client may receive a message published to `topic`.
    fn may_receive(&self, client_id: &str, username: Option<&str>, topic: &TopicName) -> bool;
}

/// One transport connection of a [`Broker`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ConnectionId {
    index: u32,
    generation: u32,
}

impl ConnectionId {
    /// The connection's slot in the broker: unique among the open connections and reused
    /// once a connection is closed, so an adapter can keep its own per-connection state in
    /// a table indexed by it (and tell a slot's connections apart by the whole id).
    pub fn index(self) -> u32 {
        self.index
    }
}

impl fmt::Display for ConnectionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#{}.{}", self.index, self.generation)
    }
}

/// What the adapter is to do; see the [module](self).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Event {
    /// The connection has bytes to write: call [`Broker::poll_transmit`] until it gives none.
    Transmit(ConnectionId),
    /// The connection is over: write what [`Broker::poll_transmit`] gives, close the
    /// transport, then call [`Broker::handle_closed`].
    Close(ConnectionId),
    /// The connection may be read again ([`Broker::wants_read`] changed back to true).
    Resume(ConnectionId),
    /// Check these credentials (slowly, off the event loop: password hashes are slow on
    /// purpose) and answer with [`Broker::authenticated`].
    Authenticate {
        /// The connection whose CONNECT waits.
        connection: ConnectionId,
        /// The client identifier (empty when the server is to assign one).
        client_id: MqttString,
        /// The user name.
        username: MqttString,
        /// The password (absent in a CONNECT with a user name only).
        password: Option<Bytes>,
    },
}

/// [`Broker::accept`] refused a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum AcceptError {
    /// [`BrokerConfig::max_connections`] are open.
    TooManyConnections,
}

impl fmt::Display for AcceptError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AcceptError::TooManyConnections => {
                f.write_str("the broker's connection limit is reached")
            }
        }
    }
}

#[cfg(feature = "std")]
impl std::error::Error for AcceptError {}

/// A will waiting for its connection to end.
#[derive(Debug)]
struct PendingWill {
    message: Arc<Message>,
    /// Will Delay Interval, seconds (5.0).
    delay: u32,
}

/// One transport connection and what the core knows about it.
///
/// The broker keeps one inline per connection, so it holds only what every connection
/// needs: the client identifier and user name are the session's (in the registry), and
/// what a connection has only at times is boxed ([`ConnExtra`]).
struct Conn {
    generation: u32,
    connection: Connection,
    session: Option<SessionKey>,
    extra: Option<Box<ConnExtra>>,
    /// An [`Event::Transmit`] is out and not yet followed by `poll_transmit`.
    transmit_signalled: bool,
    close_signalled: bool,
    /// The deadline this connection is filed under in `Broker::timers`.
    scheduled: Option<Instant>,
    /// Accepted beyond the connection limit: its CONNECT is refused with 0x89 Server busy.
    over_limit: bool,
}

/// What a connection has only at times (a will, a wait, an authentication in progress).
#[derive(Default)]
struct ConnExtra {
    will: Option<PendingWill>,
    /// A publication waiting for room at a connected subscriber; nothing more of this
    /// connection is processed (or read) meanwhile. (Boxed: rarer still than a will, and
    /// a `Publish` is large.)
    blocked: Option<Box<Publish>>,
    /// A CONNECT waiting for [`Broker::authenticated`].
    authenticating: Option<Box<Connect>>,
    /// An enhanced authentication in progress.
    enhanced: Option<Enhanced>,
}

impl Conn {
    fn extra(&mut self) -> &mut ConnExtra {
        self.extra.get_or_insert_with(Box::default)
    }

    /// Takes a part out of the extra record, letting the record go once it is empty.
    fn take<T>(&mut self, part: impl FnOnce(&mut ConnExtra) -> Option<T>) -> Option<T> {
        let extra = self.extra.as_deref_mut()?;
        let taken = part(extra);
        if extra.will.is_none()
            && extra.blocked.is_none()
            && extra.authenticating.is_none()
            && extra.enhanced.is_none()
        {
            self.extra = None;
        }
        taken
    }

    fn is_blocked(&self) -> bool {
        self.extra.as_ref().is_some_and(|e| e.blocked.is_some())
    }

    fn is_authenticating(&self) -> bool {
        self.extra
            .as_ref()
            .is_some_and(|e| e.authenticating.is_some())
    }
}

/// One connection's enhanced authentication in progress, from the CONNECT (or AUTH 0x19
/// Re-authenticate) to the hook's verdict.
struct Enhanced {
    exchange: Box<dyn AuthExchange + Send>,
    /// The CONNECT it decides; `None` when re-authenticating.
    connect: Option<Box<Connect>>,
}

/// The sans-IO MQTT broker; see the [module](self).
pub struct Broker {
    config: BrokerConfig,
    /// `config.server`, shared by every connection.
    server: Arc<ServerConfig>,
    started: Instant,
    slots: Vec<Option<Conn>>,
    /// Generation of each slot, kept when the slot is empty.
    generations: Vec<u32>,
    free: Vec<u32>,
    open: usize,
    registry: Registry<ConnectionId>,
    retained: RetainedStore,
    authorizer: Option<Box<dyn Authorizer>>,
    enhanced_auth: Option<Box<dyn EnhancedAuth + Send + Sync>>,
    events: VecDeque<Event>,
    /// Connections' deadlines.
    timers: BTreeSet<(Instant, ConnectionId)>,
    /// Offline sessions' deadlines (expiry, a delayed will), each session filed under the
    /// earlier of its two (`Entry::scheduled`).
    session_timers: BTreeSet<(Instant, SessionKey)>,
    next_sys: Option<Instant>,
    sys: SysTopics,
    stats: Stats,
    /// Connections whose publication waits for room.
    blocked: BTreeSet<ConnectionId>,
    /// A session went offline while publications waited: one of them may have waited for
    /// it, and an offline session no longer holds anything back.
    unblocked: bool,
    /// For assigned client identifiers.
    assigned: u64,
    scratch: Vec<crate::retained::Retained>,
    /// The connections a fan-out queued messages for (reused).
    woken: Vec<ConnectionId>,
}

impl fmt::Debug for Broker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Broker")
            .field("connections", &self.open)
            .field("sessions", &self.registry.len())
            .field("subscriptions", &self.registry.tree.len())
            .field("retained", &self.retained.len())
            .finish_non_exhaustive()
    }
}

impl Broker {
    /// A broker with `config`, started at `now` (for `$SYS/broker/uptime`).
    pub fn new(config: BrokerConfig, now: Instant) -> Broker {
        let retained = RetainedStore::with_limits(config.retained);
        Broker {
            next_sys: config.sys_interval.map(|_| now),
            sys: SysTopics::new(config.version),
            registry: Registry::new(config.sessions),
            server: Arc::new(config.server.clone()),
            config,
            started: now,
            slots: Vec::new(),
            generations: Vec::new(),
            free: Vec::new(),
            open: 0,
            retained,
            authorizer: None,
            enhanced_auth: None,
            events: VecDeque::new(),
            timers: BTreeSet::new(),
            session_timers: BTreeSet::new(),
            stats: Stats::default(),
            blocked: BTreeSet::new(),
            unblocked: false,
            assigned: 0,
            scratch: Vec::new(),
            woken: Vec::new(),
        }
    }

    /// Applies `authorizer` (an ACL) to every publication, subscription and delivery.
    pub fn set_authorizer(&mut self, authorizer: impl Authorizer + 'static) {
        self.authorizer = Some(Box::new(authorizer));
    }

    /// [`Broker::set_authorizer`] for one already boxed.
    pub fn set_boxed_authorizer(&mut self, authorizer: Box<dyn Authorizer>) {
        self.authorizer = Some(authorizer);
    }

    /// Offers the MQTT 5.0 enhanced authentication methods of `hook` (§4.12).
    ///
    /// A CONNECT with an Authentication Method is then authenticated by the hook alone
    /// (its user name and password, if any, are not checked by [`Event::Authenticate`]):
    /// [`EnhancedAuth::begin`] with the method and client identifier, then one
    /// [`AuthExchange::step`] with the CONNECT's Authentication Data and one per AUTH the
    /// client answers, until the exchange says [`AuthStep::Success`] (CONNACK 0x00 with its
    /// data, and the session is set up) or [`AuthStep::Failure`] (CONNACK with
    /// [`AuthStep::failure_code`], then close). A method the hook does not know gets CONNACK
    /// 0x8C Bad authentication method [MQTT-4.12.0-1]. A client that stops answering is
    /// closed after [`ServerConfig::connect_timeout`], and its exchange dropped.
    ///
    /// A connected client's AUTH 0x19 Re-authenticate begins a new exchange the same way;
    /// success is answered with AUTH 0x00, failure with DISCONNECT and the code
    /// [MQTT-4.12.1-2].
    ///
    /// Without a hook, every CONNECT with an Authentication Method is refused with 0x8C.
    /// The hook is called inside the broker's calls: keep its steps quick (an adapter
    /// cannot move them off its event loop, as it does password checks).
    pub fn set_enhanced_auth(&mut self, hook: impl EnhancedAuth + Send + Sync + 'static) {
        self.enhanced_auth = Some(Box::new(hook));
    }

    /// [`Broker::set_enhanced_auth`] for one already boxed.
    pub fn set_boxed_enhanced_auth(&mut self, hook: Box<dyn EnhancedAuth + Send + Sync>) {
        self.enhanced_auth = Some(hook);
    }

    /// The configuration.
    pub fn config(&self) -> &BrokerConfig {
        &self.config
    }

    /// The counters published in `$SYS`.
    pub fn stats(&self) -> Stats {
        let mut stats = self.stats;
        stats.subscriptions = self.registry.tree.len() as u64;
        stats.retained = self.retained.len() as u64;
        stats
    }

    /// Transport connections open.
    pub fn connections(&self) -> usize {
        self.open
    }

    /// Sessions kept, connected or not.
    pub fn sessions(&self) -> usize {
        self.registry.len()
    }

    /// The retained messages, as a subscription would find them (read only).
    pub fn retained(&self) -> &RetainedStore {
        &self.retained
    }

    fn conn(&self, id: ConnectionId) -> Option<&Conn> {
        self.slots
            .get(id.index as usize)?
            .as_ref()
            .filter(|c| c.generation == id.generation)
    }

    fn conn_mut(&mut self, id: ConnectionId) -> Option<&mut Conn> {
        self.slots
            .get_mut(id.index as usize)?
            .as_mut()
            .filter(|c| c.generation == id.generation)
    }

    // ----- inputs ------------------------------------------------------------------------

    /// A new transport connection at `now`; it must send CONNECT within the configured
    /// connect timeout.
    pub fn accept(&mut self, now: Instant) -> Result<ConnectionId, AcceptError> {
        if self.open >= self.config.max_connections.saturating_add(OVER_LIMIT) {
            return Err(AcceptError::TooManyConnections);
        }
        // Over the limit but within the margin: the client learns why in its CONNACK.
        let over_limit = self.open >= self.config.max_connections;
        let index = match self.free.pop() {
            Some(index) => index,
            None => {
                let index =
                    u32::try_from(self.slots.len()).map_err(|_| AcceptError::TooManyConnections)?;
                self.slots.push(None);
                self.generations.push(0);
                index
            }
        };
        let generation = self.generations.get(index as usize).copied().unwrap_or(0);
        let conn = Conn {
            generation,
            connection: Connection::new_shared(now, self.server.clone()),
            session: None,
            extra: None,
            transmit_signalled: false,
            close_signalled: false,
            scheduled: None,
            over_limit,
        };
        if let Some(slot) = self.slots.get_mut(index as usize) {
            *slot = Some(conn);
        }
        self.open += 1;
        let id = ConnectionId { index, generation };
        self.reschedule(id);
        Ok(id)
    }

    /// Bytes read from connection `id`'s transport.
    pub fn handle_read(&mut self, now: Instant, id: ConnectionId, bytes: &[u8]) {
        let Some(conn) = self.conn_mut(id) else {
            return;
        };
        conn.connection.handle_read(now, bytes);
        self.stats.bytes_received += bytes.len() as u64;
        self.drive(now, id);
        self.retry_unblocked(now);
    }

    /// Connection `id`'s transport ended (or the adapter closed it after [`Event::Close`]).
    /// Its session, if any, is detached: kept for its expiry interval, its will scheduled
    /// when the end was abnormal.
    pub fn handle_closed(&mut self, now: Instant, id: ConnectionId) {
        let Some(conn) = self.conn_mut(id) else {
            return;
        };
        conn.connection.handle_closed(now);
        self.drive(now, id);
        // Whatever the connection said, it is gone now.
        self.detach(now, id, true);
        if let Some(conn) = self.conn(id) {
            if let Some(at) = conn.scheduled {
                self.timers.remove(&(at, id));
            }
        }
        self.blocked.remove(&id);
        if let Some(slot) = self.slots.get_mut(id.index as usize) {
            *slot = None;
        }
        if let Some(g) = self.generations.get_mut(id.index as usize) {
            *g = g.wrapping_add(1);
        }
        self.free.push(id.index);
        self.open = self.open.saturating_sub(1);
        self.retry_unblocked(now);
    }

    /// Time passed: keep alives, connect timeouts, session expiry, delayed wills, message
    /// expiry of retained messages, `$SYS`.
    pub fn handle_timeout(&mut self, now: Instant) {
        while let Some(&(at, id)) = self.timers.first() {
            if at > now {
                break;
            }
            self.timers.remove(&(at, id));
            if let Some(conn) = self.conn_mut(id) {
                conn.scheduled = None;
                conn.connection.handle_timeout(now);
            }
            self.drive(now, id);
        }
        self.sweep_sessions(now);
        self.retained.remove_expired(now);
        if let (Some(at), Some(every)) = (self.next_sys, self.config.sys_interval) {
            if at <= now {
                self.next_sys = Some(now + every);
                self.publish_sys(now);
            }
        }
        self.retry_unblocked(now);
    }

    /// When [`Broker::handle_timeout`] is due.
    pub fn poll_timeout(&self) -> Option<Instant> {
        [
            self.timers.first().map(|(at, _)| *at),
            self.session_timers.first().map(|(at, _)| *at),
            self.retained.next_expiry(),
            self.next_sys,
        ]
        .into_iter()
        .flatten()
        .min()
    }

    /// Whether connection `id` is to be read: not while its CONNECT awaits a decision, a
    /// publication of it waits for room, or after its end.
    pub fn wants_read(&self, id: ConnectionId) -> bool {
        self.conn(id)
            .is_some_and(|c| c.connection.wants_read() && !c.is_blocked() && !c.is_authenticating())
    }

    /// The next thing for the adapter to do.
    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    /// Moves connection `id`'s next bytes into `buf` (up to about 64 KiB of messages at a
    /// time, encoded now from its session's queue); returns how many. Call it until it
    /// returns 0 after each [`Event::Transmit`], writing as you go.
    pub fn poll_transmit(&mut self, now: Instant, id: ConnectionId, buf: &mut BytesMut) -> usize {
        self.pump(now, id);
        let Some(conn) = self.conn_mut(id) else {
            return 0;
        };
        let n = conn.connection.poll_transmit(buf);
        if n == 0 {
            conn.transmit_signalled = false;
        }
        self.stats.bytes_sent += n as u64;
        if n > 0 && !self.blocked.is_empty() {
            self.retry_blocked(now);
        }
        n
    }

    /// The answer to [`Event::Authenticate`]: whether the credentials are good. A refused
    /// client gets CONNACK 0x86 Bad User Name or Password (3.1.1: return code 4).
    pub fn authenticated(&mut self, now: Instant, id: ConnectionId, allowed: bool) {
        let Some(conn) = self.conn_mut(id) else {
            return;
        };
        let Some(connect) = conn.take(|e| e.authenticating.take()) else {
            return;
        };
        if allowed {
            self.establish(now, id, connect, None);
        } else {
            let _ = conn.connection.refuse(ReasonCode::BadUserNameOrPassword);
        }
        self.drive(now, id);
        self.events.push_back(Event::Resume(id));
        self.retry_unblocked(now);
    }

    /// Ends every connection (5.0: DISCONNECT 0x8B Server shutting down); the adapter
    /// closes them as [`Event::Close`] says.
    pub fn shutdown(&mut self, now: Instant) {
        let ids: Vec<ConnectionId> = self.ids().collect();
        for id in ids {
            if let Some(conn) = self.conn_mut(id) {
                let _ = conn.connection.disconnect(ReasonCode::ServerShuttingDown);
            }
            self.drive(now, id);
        }
    }

    fn ids(&self) -> impl Iterator<Item = ConnectionId> + '_ {
        self.slots.iter().enumerate().filter_map(|(i, c)| {
            let c = c.as_ref()?;
            Some(ConnectionId {
                index: u32::try_from(i).ok()?,
                generation: c.generation,
            })
        })
    }

    // ----- driving one connection --------------------------------------------------------

    /// Handles connection `id`'s events until it has none, or one waits (a blocked
    /// publication, a CONNECT being authenticated); then signals what the adapter is to do.
    fn drive(&mut self, now: Instant, id: ConnectionId) {
        loop {
            let Some(conn) = self.conn_mut(id) else {
                return;
            };
            if conn.is_blocked() || conn.is_authenticating() {
                break;
            }
            let Some(event) = conn.connection.poll_event() else {
                break;
            };
            self.handle_event(now, id, event);
        }
        self.signal(id);
        self.reschedule(id);
    }

    /// Queues [`Event::Transmit`] / [`Event::Close`] for connection `id` as needed.
    fn signal(&mut self, id: ConnectionId) {
        let Some(conn) = self.conn_mut(id) else {
            return;
        };
        let mut events = Vec::new();
        if conn.connection.pending_transmit() > 0 && !conn.transmit_signalled {
            conn.transmit_signalled = true;
            events.push(Event::Transmit(id));
        }
        if conn.connection.wants_close() && !conn.close_signalled {
            conn.close_signalled = true;
            events.push(Event::Close(id));
        }
        self.events.extend(events);
    }

    /// Signals [`Event::Transmit`] for a connection whose session has messages queued.
    fn wake(&mut self, id: ConnectionId) {
        let Some(conn) = self.conn_mut(id) else {
            return;
        };
        if !conn.transmit_signalled && conn.connection.is_connected() {
            conn.transmit_signalled = true;
            self.events.push_back(Event::Transmit(id));
        }
    }

    fn reschedule(&mut self, id: ConnectionId) {
        let Some(conn) = self.conn_mut(id) else {
            return;
        };
        let next = conn.connection.poll_timeout();
        let old = conn.scheduled;
        if old == next {
            return;
        }
        conn.scheduled = next;
        if let Some(at) = old {
            self.timers.remove(&(at, id));
        }
        if let Some(at) = next {
            self.timers.insert((at, id));
        }
    }

    fn handle_event(&mut self, now: Instant, id: ConnectionId, event: ConnectionEvent) {
        match event {
            ConnectionEvent::Connect(connect) => self.connect(now, id, connect),
            ConnectionEvent::Publish(publish) => self.publish(now, id, publish),
            ConnectionEvent::PubAck(ack) => {
                if let Some(entry) = self.session_of(id) {
                    entry.session.puback(ack.packet_id);
                }
                self.wake(id);
            }
            ConnectionEvent::PubRec(rec) => {
                let failed = rec.reason_code.is_error();
                let release = self
                    .session_of(id)
                    .is_some_and(|e| e.session.pubrec(rec.packet_id, failed));
                if release {
                    if let Some(conn) = self.conn_mut(id) {
                        let _ = conn.connection.send_pubrel(rec.packet_id);
                    }
                }
                self.wake(id);
            }
            ConnectionEvent::PubComp(comp) => {
                if let Some(entry) = self.session_of(id) {
                    entry.session.pubcomp(comp.packet_id);
                }
                self.wake(id);
            }
            ConnectionEvent::PubRel(rel) => {
                let known = self
                    .session_of(id)
                    .is_some_and(|e| e.session.release(rel.packet_id));
                let reason = if known {
                    ReasonCode::Success
                } else {
                    ReasonCode::PacketIdentifierNotFound
                };
                if let Some(conn) = self.conn_mut(id) {
                    let _ = conn.connection.pubcomp(rel.packet_id, reason);
                }
            }
            ConnectionEvent::Auth {
                reason_code,
                method,
                data,
            } => {
                if reason_code == ReasonCode::ReAuthenticate {
                    self.begin_auth(now, id, &method, data, None);
                } else {
                    self.continue_auth(now, id, &method, data);
                }
            }
            ConnectionEvent::Subscribe(subscribe) => self.subscribe(now, id, subscribe),
            ConnectionEvent::Unsubscribe(unsubscribe) => self.unsubscribe(id, unsubscribe),
            ConnectionEvent::Disconnected {
                will,
                session_expiry_interval,
                ..
            } => {
                if let Some(expiry) = session_expiry_interval {
                    let expiry = expiry.min(self.config.max_session_expiry);
                    if let Some(entry) = self.session_of(id) {
                        entry.expiry_interval = expiry;
                    }
                }
                self.detach(now, id, will == WillAction::Publish);
            }
            ConnectionEvent::Closed { abnormal, reason } => {
                if let CloseReason::Refused(_) = reason {
                    return;
                }
                self.detach(now, id, abnormal);
            }
        }
    }

    fn session_of(&mut self, id: ConnectionId) -> Option<&mut registry::Entry<ConnectionId>> {
        let key = self.conn(id)?.session?;
        self.registry.get_mut(key)
    }

    // ----- CONNECT -----------------------------------------------------------------------

    fn connect(&mut self, now: Instant, id: ConnectionId, connect: Box<Connect>) {
        if let Some(conn) = self.conn_mut(id).filter(|c| c.over_limit) {
            // 3.1.1: return code 3, Server unavailable.
            let _ = conn.connection.refuse(ReasonCode::ServerBusy);
            return;
        }
        if let Some(method) = connect.properties.authentication_method() {
            let data = connect.properties.authentication_data();
            self.begin_auth(now, id, &method, data, Some(connect));
            return;
        }
        if !self.config.allow_anonymous {
            let Some(username) = connect.username.clone() else {
                if let Some(conn) = self.conn_mut(id) {
                    let _ = conn.connection.refuse(ReasonCode::BadUserNameOrPassword);
                }
                return;
            };
            let event = Event::Authenticate {
                connection: id,
                client_id: connect.client_id.clone(),
                username,
                password: connect.password.clone(),
            };
            if let Some(conn) = self.conn_mut(id) {
                conn.extra().authenticating = Some(connect);
            }
            self.events.push_back(event);
            return;
        }
        self.establish(now, id, connect, None);
    }

    // ----- enhanced authentication -------------------------------------------------------

    /// Starts an enhanced authentication with its first packet: the CONNECT, or (when
    /// `connect` is `None`) a connected client's AUTH 0x19 Re-authenticate.
    fn begin_auth(
        &mut self,
        now: Instant,
        id: ConnectionId,
        method: &MqttString,
        data: Option<Bytes>,
        connect: Option<Box<Connect>>,
    ) {
        let Some(conn) = self.conn(id) else {
            return;
        };
        // A re-authentication's client is the session's.
        let client_id = match &connect {
            Some(c) => c.client_id.as_str(),
            None => conn
                .session
                .and_then(|key| self.registry.get(key))
                .map_or("", |e| &*e.client_id),
        };
        let exchange = self
            .enhanced_auth
            .as_deref()
            .and_then(|hook| hook.begin(method.as_str(), client_id));
        let Some(mut exchange) = exchange else {
            // A method not offered [MQTT-4.12.0-1].
            self.auth_failed(id, ReasonCode::BadAuthenticationMethod);
            return;
        };
        let step = exchange.step(method.as_str(), data.as_deref());
        if let Some(conn) = self.conn_mut(id) {
            conn.extra().enhanced = Some(Enhanced { exchange, connect });
        }
        self.auth_step(now, id, step);
    }

    /// The client's next AUTH 0x18 Continue authentication.
    fn continue_auth(
        &mut self,
        now: Instant,
        id: ConnectionId,
        method: &MqttString,
        data: Option<Bytes>,
    ) {
        let step = self
            .conn_mut(id)
            .and_then(|c| c.extra.as_mut()?.enhanced.as_mut())
            .map(|e| e.exchange.step(method.as_str(), data.as_deref()));
        match step {
            Some(step) => self.auth_step(now, id, step),
            // The connection reports 0x18 only after the core's own AUTH 0x18.
            None => self.auth_failed(id, ReasonCode::ProtocolError),
        }
    }

    /// Carries out what the exchange said.
    fn auth_step(&mut self, now: Instant, id: ConnectionId, step: AuthStep) {
        let Some(conn) = self.conn_mut(id) else {
            return;
        };
        match step {
            AuthStep::Continue(data) => {
                if conn
                    .connection
                    .continue_auth(now, Bytes::from(data))
                    .is_err()
                {
                    // Data larger than the client takes: the method cannot go on.
                    self.auth_failed(id, ReasonCode::UnspecifiedError);
                }
            }
            AuthStep::Success(data) => {
                let Some(enhanced) = conn.take(|e| e.enhanced.take()) else {
                    return;
                };
                let data = data.map(Bytes::from);
                match enhanced.connect {
                    Some(connect) => self.establish(now, id, connect, data),
                    None => {
                        if conn.connection.reauth_success(data).is_err() {
                            self.auth_failed(id, ReasonCode::UnspecifiedError);
                        }
                    }
                }
            }
            AuthStep::Failure(_) => {
                let code = step.failure_code().unwrap_or(ReasonCode::NotAuthorized);
                self.auth_failed(id, code);
            }
        }
    }

    /// Ends an enhanced authentication that failed: CONNACK with `code` during the
    /// handshake [MQTT-4.12.0-4], DISCONNECT with it once connected [MQTT-4.12.1-2].
    fn auth_failed(&mut self, id: ConnectionId, code: ReasonCode) {
        let Some(conn) = self.conn_mut(id) else {
            return;
        };
        conn.take(|e| e.enhanced.take());
        if conn.connection.is_connected() {
            let _ = conn.connection.disconnect(code);
        } else {
            let _ = conn.connection.refuse(code);
        }
    }

    /// Takes the session over (or starts one) and accepts the connection; CONNACK carries
    /// `auth_data`, enhanced authentication's last word, if any.
    fn establish(
        &mut self,
        now: Instant,
        id: ConnectionId,
        connect: Box<Connect>,
        auth_data: Option<Bytes>,
    ) {
        let Connect {
            protocol,
            clean_start,
            client_id,
            will,
            username,
            properties,
            ..
        } = *connect;
        let (client_id, assigned) = if client_id.is_empty() {
            self.assigned += 1;
            let name = format!("tern-{:x}-{:x}", self.assigned, id.index);
            match MqttString::new(&name) {
                Ok(s) => (s.clone(), Some(s)),
                Err(_) => return,
            }
        } else {
            (client_id, None)
        };
        let expiry = if protocol.is_v5() {
            properties.session_expiry_interval().unwrap_or(0)
        } else if clean_start {
            0
        } else {
            NEVER
        }
        .min(self.config.max_session_expiry);

        // A client already connected with this identifier is taken over [MQTT-3.1.4-3].
        let existing = self.registry.find(&client_id);
        if let Some(key) = existing {
            let old = self.registry.get(key).and_then(|e| e.connection);
            if let Some(old) = old {
                if let Some(conn) = self.conn_mut(old) {
                    let _ = conn.connection.disconnect(ReasonCode::SessionTakenOver);
                }
                self.detach(now, old, true);
                self.drive(now, old);
            }
        }
        let existing = self.registry.find(&client_id);
        let (key, present) = match existing {
            Some(key) if !clean_start => (key, true),
            Some(key) => {
                self.remove_session(key);
                (self.registry.create(&client_id, expiry), false)
            }
            None => (self.registry.create(&client_id, expiry), false),
        };
        if let Some(entry) = self.registry.get_mut(key) {
            entry.connection = Some(id);
            // A copy of its own: the CONNECT's string shares the buffer it came in.
            entry.username = username.as_deref().map(Box::from);
            entry.expiry_interval = expiry;
            // The offline deadlines end; a connection to the session before the will's
            // delay ends cancels it [MQTT-3.1.3-9].
            if let Some(offline) = entry.offline.as_mut() {
                offline.expires_at = None;
                offline.will = None;
                offline.will_at = None;
            }
        }
        self.schedule_session(key);
        let will = will.map(|w| self.will_message(now, w));
        let Some(conn) = self.conn_mut(id) else {
            return;
        };
        conn.session = Some(key);
        if will.is_some() {
            conn.extra().will = will;
        }
        if conn
            .connection
            .accept_with_auth(now, present, assigned, auth_data)
            .is_err()
        {
            // The connection checked the CONNECT already; only enhanced authentication's
            // data can make the CONNACK too large for the client.
            self.detach(now, id, false);
            if let Some(conn) = self.conn_mut(id) {
                let _ = conn.connection.refuse(ReasonCode::PacketTooLarge);
            }
            return;
        }
        if present {
            self.resume(now, id, key);
        }
        self.stats.clients_connected += 1;
        self.stats.clients_maximum = self.stats.clients_maximum.max(self.stats.clients_connected);
        self.wake(id);
    }

    fn will_message(&self, now: Instant, will: Will) -> PendingWill {
        let delay = will.properties.will_delay_interval().unwrap_or(0);
        let expires_at = will
            .properties
            .message_expiry_interval()
            .map(|s| now + Duration::from_secs(u64::from(s)));
        let properties = without(&will.properties, &[PropertyId::WillDelayInterval]);
        PendingWill {
            message: Arc::new(Message {
                topic: will.topic,
                payload: will.payload,
                qos: will.qos,
                retain: will.retain,
                properties,
                expires_at,
            }),
            delay,
        }
    }

    /// Sends a resumed session's PUBREL packets again; its unacknowledged PUBLISH packets go
    /// again first when the connection is pumped, in order and within the client's Receive
    /// Maximum [MQTT-4.4.0-1].
    fn resume(&mut self, now: Instant, id: ConnectionId, key: SessionKey) {
        let Some(entry) = self.registry.get_mut(key) else {
            return;
        };
        let pubrels: Vec<PacketId> = entry.session.resend(now).collect();
        if let Some(conn) = self.conn_mut(id) {
            for packet_id in pubrels {
                let _ = conn.connection.send_pubrel(packet_id);
            }
        }
    }

    /// Connection `id` no longer holds its session: the session stays for its expiry
    /// interval (or ends now), and the will is published now, later, or not at all.
    fn detach(&mut self, now: Instant, id: ConnectionId, publish_will: bool) {
        let Some(conn) = self.conn_mut(id) else {
            return;
        };
        let Some(key) = conn.session.take() else {
            return;
        };
        let will = conn.take(|e| e.will.take());
        conn.take(|e| e.blocked.take());
        self.blocked.remove(&id);
        self.stats.clients_connected = self.stats.clients_connected.saturating_sub(1);
        let Some(entry) = self.registry.get_mut(key) else {
            return;
        };
        if entry.connection != Some(id) {
            return;
        }
        entry.connection = None;
        self.unblocked |= !self.blocked.is_empty();
        let expiry = entry.expiry_interval;
        let will = will.filter(|_| publish_will);
        match will {
            Some(will) if will.delay > 0 && expiry > 0 => {
                let delay = will.delay.min(expiry);
                let offline = entry.offline();
                offline.will_at = Some(now + Duration::from_secs(u64::from(delay)));
                offline.will = Some(will.message);
            }
            Some(will) => {
                self.route(now, None, will.message);
            }
            None => {}
        }
        if let Some(entry) = self.registry.get_mut(key) {
            if expiry == 0 {
                if !entry.has_will() {
                    self.registry.remove(key);
                }
            } else if expiry != NEVER {
                entry.offline().expires_at = Some(now + Duration::from_secs(u64::from(expiry)));
            }
        }
        self.schedule_session(key);
        self.stats.clients_disconnected =
            (self.registry.len() as u64).saturating_sub(self.stats.clients_connected);
    }

    /// Files session `key` under its next deadline: the earlier of its delayed will and its
    /// expiry while offline, none while connected (or gone).
    fn schedule_session(&mut self, key: SessionKey) {
        let (old, next) = match self.registry.get_mut(key) {
            Some(entry) => {
                let next = if entry.connection.is_none() {
                    [entry.will_at(), entry.expires_at()]
                        .into_iter()
                        .flatten()
                        .min()
                } else {
                    None
                };
                (entry.set_scheduled(next), next)
            }
            None => return,
        };
        if old == next {
            return;
        }
        if let Some(at) = old {
            self.session_timers.remove(&(at, key));
        }
        if let Some(at) = next {
            self.session_timers.insert((at, key));
        }
    }

    /// Ends session `key`, unfiling its deadline first (its key may be reused at once).
    fn remove_session(&mut self, key: SessionKey) {
        if let Some(at) = self
            .registry
            .get_mut(key)
            .and_then(|e| e.set_scheduled(None))
        {
            self.session_timers.remove(&(at, key));
        }
        self.registry.remove(key);
    }

    /// Publishes delayed wills that are due and ends sessions that expired.
    fn sweep_sessions(&mut self, now: Instant) {
        while let Some(&(at, key)) = self.session_timers.first() {
            if at > now {
                break;
            }
            self.session_timers.remove(&(at, key));
            let Some(entry) = self.registry.get_mut(key) else {
                continue;
            };
            entry.set_scheduled(None);
            if entry.connection.is_some() {
                continue;
            }
            if entry.will_at().is_some_and(|at| at <= now) {
                let offline = entry.offline();
                offline.will_at = None;
                let will = offline.will.take();
                entry.tidy_offline();
                if let Some(will) = will {
                    self.route(now, None, will);
                }
            }
            let Some(entry) = self.registry.get(key) else {
                continue;
            };
            let over = entry.expires_at().is_some_and(|at| at <= now)
                || (entry.expiry_interval == 0 && !entry.has_will());
            if over {
                // A will still delayed goes out when its session ends.
                let will = self
                    .registry
                    .get_mut(key)
                    .and_then(|e| e.offline.as_mut()?.will.take());
                if let Some(will) = will {
                    self.route(now, None, will);
                }
                self.registry.remove(key);
            } else {
                self.schedule_session(key);
            }
        }
        self.stats.clients_disconnected =
            (self.registry.len() as u64).saturating_sub(self.stats.clients_connected);
    }

    // ----- PUBLISH -----------------------------------------------------------------------

    fn publish(&mut self, now: Instant, id: ConnectionId, publish: Publish) {
        self.stats.messages_received += 1;
        let Some(key) = self.conn(id).and_then(|c| c.session) else {
            return;
        };
        let packet_id = publish.packet_id;
        // A QoS 2 message the session has already taken is only acknowledged again.
        if publish.qos == QoS::ExactlyOnce {
            if let Some(pid) = packet_id {
                if self
                    .registry
                    .get(key)
                    .is_some_and(|e| e.session.is_received(pid))
                {
                    self.acknowledge(id, publish.qos, packet_id, ReasonCode::Success);
                    return;
                }
            }
        }
        if let (Some(authorizer), Some(entry)) = (&self.authorizer, self.registry.get(key)) {
            let allowed =
                authorizer.may_publish(&entry.client_id, entry.username.as_deref(), &publish.topic);
            if !allowed {
                self.acknowledge(id, publish.qos, packet_id, ReasonCode::NotAuthorized);
                return;
            }
        }
        let expires_at = publish
            .properties
            .message_expiry_interval()
            .map(|s| now + Duration::from_secs(u64::from(s)));
        if publish.retain {
            let stored = self.retained.set(publish.clone(), expires_at);
            if let Err(e) = stored {
                self.acknowledge(id, publish.qos, packet_id, e.reason_code());
                return;
            }
        }
        let message = Arc::new(Message {
            topic: publish.topic.clone(),
            payload: publish.payload.clone(),
            qos: publish.qos,
            retain: publish.retain,
            properties: publish.properties.clone(),
            expires_at,
        });
        match self.fan_out(now, Some(key), &message) {
            FanOut::Blocked(_) => {
                // Tried again whenever a connection takes messages; until then this
                // connection is neither processed nor read.
                if let Some(conn) = self.conn_mut(id) {
                    conn.extra().blocked = Some(Box::new(publish));
                }
                self.blocked.insert(id);
                self.stats.messages_received = self.stats.messages_received.saturating_sub(1);
            }
            FanOut::Queued { sessions, .. } => {
                if publish.qos == QoS::ExactlyOnce {
                    if let (Some(pid), Some(entry)) = (packet_id, self.registry.get_mut(key)) {
                        entry.session.receive_qos2(pid);
                    }
                }
                let reason = if sessions == 0 {
                    ReasonCode::NoMatchingSubscribers
                } else {
                    ReasonCode::Success
                };
                self.acknowledge(id, publish.qos, packet_id, reason);
            }
        }
    }

    /// PUBACK (QoS 1) or PUBREC (QoS 2) with `reason`; nothing for QoS 0.
    fn acknowledge(
        &mut self,
        id: ConnectionId,
        qos: QoS,
        packet_id: Option<PacketId>,
        reason: ReasonCode,
    ) {
        let (Some(pid), Some(conn)) = (packet_id, self.conn_mut(id)) else {
            return;
        };
        let _ = match qos {
            QoS::AtMostOnce => Ok(()),
            QoS::AtLeastOnce => conn.connection.puback(pid, reason),
            QoS::ExactlyOnce => conn.connection.pubrec(pid, reason),
        };
    }

    /// Routes a message that needs no acknowledgement (a will, `$SYS`): connected
    /// subscribers without room lose it rather than block anyone.
    fn route(&mut self, now: Instant, from: Option<SessionKey>, message: Arc<Message>) {
        if message.retain {
            let publish = message_publish(&message);
            let _ = self.retained.set(publish, message.expires_at);
        }
        if let FanOut::Blocked(_) = self.fan_out(now, from, &message) {
            self.stats.messages_dropped += 1;
        }
    }

    fn fan_out(
        &mut self,
        _now: Instant,
        from: Option<SessionKey>,
        message: &Arc<Message>,
    ) -> FanOut {
        let authorizer = self.authorizer.as_deref();
        // Reused from call to call: routing allocates nothing per publication.
        let mut woken = core::mem::take(&mut self.woken);
        woken.clear();
        let outcome = self.registry.fan_out(
            message,
            from,
            |entry| {
                authorizer.is_none_or(|a| {
                    a.may_receive(&entry.client_id, entry.username.as_deref(), &message.topic)
                })
            },
            |_, entry| {
                if let Some(conn) = entry.connection {
                    woken.push(conn);
                }
            },
        );
        if let FanOut::Queued { dropped, .. } = outcome {
            self.stats.messages_dropped += dropped as u64;
        }
        for &id in &woken {
            self.wake(id);
        }
        self.woken = woken;
        outcome
    }

    /// Tries the blocked publications again if a session went offline meanwhile.
    fn retry_unblocked(&mut self, now: Instant) {
        if core::mem::take(&mut self.unblocked) {
            self.retry_blocked(now);
        }
    }

    /// Tries the blocked publications again (a subscriber took messages, or went offline).
    fn retry_blocked(&mut self, now: Instant) {
        let ids: Vec<ConnectionId> = self.blocked.iter().copied().collect();
        for id in ids {
            let Some(conn) = self.conn_mut(id) else {
                self.blocked.remove(&id);
                continue;
            };
            let Some(publish) = conn.take(|e| e.blocked.take()) else {
                self.blocked.remove(&id);
                continue;
            };
            self.blocked.remove(&id);
            self.publish(now, id, *publish);
            let still = self.conn(id).is_some_and(Conn::is_blocked);
            if !still {
                self.drive(now, id);
                self.events.push_back(Event::Resume(id));
            }
        }
    }

    // ----- SUBSCRIBE / UNSUBSCRIBE -------------------------------------------------------

    fn subscribe(&mut self, now: Instant, id: ConnectionId, subscribe: Subscribe) {
        let Some(conn) = self.conn(id) else {
            return;
        };
        let Some(key) = conn.session else {
            return;
        };
        let identifier = subscribe.properties.subscription_identifiers().next();
        let mut codes = Vec::with_capacity(subscribe.subscriptions.len());
        for s in &subscribe.subscriptions {
            let allowed = self.authorizer.as_deref().is_none_or(|a| {
                let entry = self.registry.get(key);
                a.may_subscribe(
                    entry.map_or("", |e| &e.client_id),
                    entry.and_then(|e| e.username.as_deref()),
                    &s.filter,
                )
            });
            if !allowed {
                codes.push(ReasonCode::NotAuthorized);
                continue;
            }
            let is_new = self
                .registry
                .tree
                .client_subscriptions(key)
                .all(|(f, _)| f != &s.filter);
            if is_new && self.registry.tree.client_len(key) >= self.config.max_subscriptions {
                codes.push(ReasonCode::QuotaExceeded);
                continue;
            }
            let qos = s.options.qos.min(self.config.server.maximum_qos());
            let mut options = SubscriptionOptions::new(s.options, identifier);
            options.qos = qos;
            let outcome = self.registry.tree.subscribe(key, &s.filter, options);
            codes.push(granted(qos));
            let send_retained = s.filter.shared().is_none()
                && match s.options.retain_handling {
                    RetainHandling::SendAtSubscribe => true,
                    RetainHandling::SendAtSubscribeIfNew => outcome == Subscribed::New,
                    RetainHandling::DoNotSend => false,
                };
            if send_retained {
                self.send_retained(now, key, &s.filter, qos, identifier);
            }
        }
        if let Some(conn) = self.conn_mut(id) {
            let _ = conn.connection.suback(subscribe.packet_id, codes);
        }
        self.wake(id);
    }

    /// Queues the retained messages matching `filter` for session `key`, with RETAIN set
    /// [MQTT-3.3.1-9].
    fn send_retained(
        &mut self,
        now: Instant,
        key: SessionKey,
        filter: &TopicFilter,
        qos: QoS,
        identifier: Option<u32>,
    ) {
        let mut found = core::mem::take(&mut self.scratch);
        found.clear();
        self.retained.matching(filter, now, &mut found);
        let identifiers: Box<[u32]> = identifier.into_iter().collect();
        if let Some(entry) = self.registry.get_mut(key) {
            for retained in found.drain(..) {
                let p = retained.publish;
                let message = Arc::new(Message {
                    qos: p.qos,
                    topic: p.topic,
                    payload: p.payload,
                    retain: true,
                    properties: p.properties,
                    expires_at: retained.expires_at,
                });
                let delivery = Delivery {
                    qos: message.qos.min(qos),
                    message,
                    retain: true,
                    identifiers: identifiers.clone(),
                };
                if entry.session.push(delivery, &self.config.sessions).is_err() {
                    self.stats.messages_dropped += 1;
                }
            }
        }
        self.scratch = found;
    }

    fn unsubscribe(&mut self, id: ConnectionId, unsubscribe: Unsubscribe) {
        let Some(key) = self.conn(id).and_then(|c| c.session) else {
            return;
        };
        let codes = unsubscribe
            .filters
            .iter()
            .map(|f| {
                if self.registry.tree.unsubscribe(key, f) {
                    ReasonCode::Success
                } else {
                    ReasonCode::NoSubscriptionExisted
                }
            })
            .collect();
        if let Some(conn) = self.conn_mut(id) {
            let _ = conn.connection.unsuback(unsubscribe.packet_id, codes);
        }
    }

    // ----- sending -----------------------------------------------------------------------

    /// Encodes connection `id`'s queued messages while its window and the chunk allow.
    fn pump(&mut self, now: Instant, id: ConnectionId) {
        let Some(conn) = self.conn(id) else {
            return;
        };
        let Some(key) = conn.session else {
            return;
        };
        if !conn.connection.is_connected() {
            return;
        }
        loop {
            let Some(conn) = self.conn(id) else {
                return;
            };
            if conn.connection.pending_transmit() >= TRANSMIT_CHUNK {
                return;
            }
            let window = if conn.connection.can_send_qos12() {
                conn.connection.client_receive_maximum()
            } else {
                0
            };
            let Some(entry) = self.registry.get_mut(key) else {
                return;
            };
            // The session counts its own in-flight messages against the window too.
            let Some(out) = entry.session.next_outgoing(now, window) else {
                return;
            };
            let publish = outgoing_publish(now, &out);
            let Some(conn) = self.conn_mut(id) else {
                return;
            };
            match conn.connection.send_publish(publish) {
                Ok(()) => self.stats.messages_sent += 1,
                Err(CommandError::PacketTooLarge) => {
                    // Too large for this client [MQTT-3.1.2-25]: as if delivered.
                    self.stats.messages_dropped += 1;
                    if let (Some(pid), Some(entry)) = (out.packet_id, self.registry.get_mut(key)) {
                        if !entry.session.puback(pid) {
                            entry.session.pubrec(pid, true);
                        }
                    }
                }
                Err(_) => return,
            }
        }
    }

    fn publish_sys(&mut self, now: Instant) {
        let uptime = now.as_micros().saturating_sub(self.started.as_micros()) / 1_000_000;
        let stats = self.stats();
        let topics: Vec<(&'static str, alloc::string::String)> =
            self.sys.update(&stats, uptime).collect();
        for (topic, value) in topics {
            let Ok(topic) = TopicName::new(topic) else {
                continue;
            };
            let mut message = Message::new(topic, Bytes::from(value.into_bytes()), QoS::AtMostOnce);
            message.retain = true;
            self.route(now, None, Arc::new(message));
        }
    }
}

/// The SUBACK code granting `qos`.
fn granted(qos: QoS) -> ReasonCode {
    match qos {
        QoS::AtMostOnce => ReasonCode::Success,
        QoS::AtLeastOnce => ReasonCode::GrantedQoS1,
        QoS::ExactlyOnce => ReasonCode::GrantedQoS2,
    }
}

/// `properties` without the properties `ids`.
fn without(properties: &Properties, ids: &[PropertyId]) -> Properties {
    if !properties.iter().any(|p| ids.contains(&p.id())) {
        return properties.clone();
    }
    let mut builder = Properties::builder();
    for p in properties.iter().filter(|p| !ids.contains(&p.id())) {
        builder = builder.push(p);
    }
    builder.build().unwrap_or_default()
}

/// A retained message as the store keeps it.
fn message_publish(message: &Message) -> Publish {
    let mut publish = Publish::new(message.topic.clone(), message.payload.clone());
    publish.qos = message.qos;
    publish.retain = true;
    publish.properties = message.properties.clone();
    publish
}

/// The PUBLISH for one delivery at `now`: the session's QoS, packet identifier and DUP,
/// RETAIN as the subscription says, the subscription identifiers, and the time left of the
/// Message Expiry Interval [MQTT-3.3.2-6].
fn outgoing_publish(now: Instant, out: &Outgoing) -> Publish {
    let d = &out.delivery;
    let m = &d.message;
    let expiry = m.remaining_expiry(now);
    let properties = if d.identifiers.is_empty() && expiry.is_none() {
        m.properties.clone()
    } else {
        let mut builder = Properties::builder();
        for p in m.properties.iter().filter(|p| {
            !matches!(
                p.id(),
                PropertyId::MessageExpiryInterval | PropertyId::SubscriptionIdentifier
            )
        }) {
            builder = builder.push(p);
        }
        if let Some(expiry) = expiry {
            builder = builder.push(Property::MessageExpiryInterval(expiry));
        }
        for id in d.identifiers.iter() {
            builder = builder.push(Property::SubscriptionIdentifier(*id));
        }
        builder.build().unwrap_or_default()
    };
    Publish {
        dup: out.dup,
        qos: d.qos,
        retain: d.retain,
        topic: m.topic.clone(),
        packet_id: out.packet_id,
        properties,
        payload: m.payload.clone(),
    }
}

/// An ACL file authorises a broker's clients ([`Broker::set_authorizer`]).
impl Authorizer for crate::auth::acl::Acl {
    fn may_publish(&self, client_id: &str, username: Option<&str>, topic: &TopicName) -> bool {
        self.check_publish(client_id, username, topic)
    }

    fn may_subscribe(&self, client_id: &str, username: Option<&str>, filter: &TopicFilter) -> bool {
        self.check_subscribe(client_id, username, filter)
    }

    fn may_receive(&self, client_id: &str, username: Option<&str>, topic: &TopicName) -> bool {
        self.check_receive(client_id, username, topic)
    }
}

#[cfg(test)]
mod tests {
    extern crate std;

    use core::mem::size_of;

    use super::*;
    use crate::session::Session;

    /// `tests/idle_memory.rs` counts what an idle client costs in all; this names the record
    /// that grew when that count goes up. Every connection has a `Conn` inline in
    /// `Broker::slots` and every session an `Entry` inline in the registry.
    #[test]
    fn the_records_of_an_idle_client_stay_small() {
        let sizes = [
            ("Conn", size_of::<Conn>(), 104),
            ("Connection", size_of::<Connection>(), 64),
            ("Entry", size_of::<registry::Entry<ConnectionId>>(), 72),
            ("Session", size_of::<Session>(), 16),
        ];
        for (name, size, budget) in sizes {
            std::println!("size_of::<{name}>() = {size}");
            assert!(size <= budget, "{name}: {size} B, budget {budget} B");
        }
    }
}
