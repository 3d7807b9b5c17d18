//! The sans-IO MQTT client state machine.
//!
//! [`Client`] holds one client's session and its current connection. It never touches a
//! socket or a clock: the caller (an adapter, a test, a simulation) feeds it what happened and
//! drains what it wants done.
//!
//! # Methods
//!
//! - **Inputs** (`handle_*`): [`Client::handle_read`] (bytes from the transport),
//!   [`Client::handle_timeout`] (the deadline from [`Client::poll_timeout`] passed),
//!   [`Client::handle_closed`] (the transport closed).
//! - **Commands**: [`Client::connect`], [`Client::publish`], [`Client::subscribe`],
//!   [`Client::unsubscribe`], [`Client::disconnect`].
//! - **Outputs** (`poll_*`): [`Client::poll_transmit`] (bytes to write),
//!   [`Client::poll_event`] (what the application learns), [`Client::poll_timeout`] (when to
//!   call `handle_timeout` next).
//!
//! After every input or command, drain `poll_transmit` and `poll_event`, then sleep until
//! `poll_timeout` or until the transport has bytes. A blocking driver:
//!
//! ```
//! use bytes::Bytes;
//! use tern_mqtt::client::{Client, ClientConfig, Event, Instant};
//! use tern_mqtt::{MqttString, ProtocolVersion, QoS, TopicFilter};
//!
//! let config = ClientConfig::new(ProtocolVersion::V5, MqttString::new("thermo-1")?);
//! let mut client = Client::new(config);
//! let now = Instant::ZERO;
//! client.connect(now);
//! client.subscribe(now, vec![(TopicFilter::new("sensors/temperature")?, QoS::AtLeastOnce)])?;
//! while let Some(bytes) = client.poll_transmit() {
//!     // socket.write_all(&bytes)?;
//!     let _: Bytes = bytes;
//! }
//! // Then, in a loop: read from the socket into `client.handle_read(now, &buf)`, call
//! // `client.handle_timeout(now)` when `client.poll_timeout()` has passed, and:
//! while let Some(event) = client.poll_event() {
//!     if let Event::Message(publish) = event {
//!         println!("{}: {:?}", publish.topic, publish.payload);
//!     }
//! }
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # What it keeps
//!
//! The session survives connections: outgoing QoS 1/2 publications not yet completed, the
//! queue behind the in-flight window, the packet identifiers in use, and incoming QoS 2
//! packet identifiers awaiting PUBREL. A new connection resends unacknowledged PUBLISH (DUP
//! set) and PUBREL in their original order when the server has the session; when it does not,
//! the session is discarded as [MQTT-3.2.2-4]/[MQTT-3.2.2-5] require and the application is
//! told which publications were dropped.

mod backoff;
pub mod snapshot;

use alloc::collections::{BTreeMap, BTreeSet, VecDeque};
use alloc::vec::Vec;
use core::fmt;
use core::time::Duration;

use bytes::{Bytes, BytesMut};

pub use backoff::Backoff;
pub use snapshot::SnapshotError;
/// A point on the caller's clock (re-exported from `tern-time`, shared with tern-coap).
pub use tern_time::Instant;

use crate::error::{DecodeError, EncodeError};
use crate::packet::{
    Codec, ConnAck, Connect, Decoded, Disconnect, MAX_PACKET_SIZE, Packet, PacketId, PacketType,
    ProtocolVersion, PubAck, PubComp, PubRec, PubRel, Publish, QoS, Subscribe, Subscription,
    Unsubscribe, Will,
};
use crate::property::{Properties, Property, PropertyId};
use crate::reason::ReasonCode;
use crate::string::MqttString;
use crate::topic::{TopicFilter, TopicName};

/// How a client connects and what it is willing to hold.
#[derive(Debug, Clone)]
pub struct ClientConfig {
    /// Protocol level.
    pub protocol: ProtocolVersion,
    /// Client identifier; empty asks the server to assign one.
    pub client_id: MqttString,
    /// Clean Start (5.0) / Clean Session (3.1.1) on the first connection. Reconnections ask
    /// to resume the session.
    pub clean_start: bool,
    /// Keep Alive in seconds (0: off). A server's Server Keep Alive overrides it.
    pub keep_alive: u16,
    /// The connection is declared lost when nothing arrives for this many per mille of the
    /// keep alive (default 1,500: 1.5 × keep alive).
    pub keep_alive_timeout_permille: u32,
    /// How long to wait for CONNACK.
    pub connect_timeout: Duration,
    /// User name.
    pub username: Option<MqttString>,
    /// Password.
    pub password: Option<Bytes>,
    /// Will message.
    pub will: Option<Will>,
    /// CONNECT properties (5.0): Session Expiry Interval, Receive Maximum, ...
    pub connect_properties: Properties,
    /// Most outgoing QoS 1/2 publications in flight; the server's Receive Maximum may lower it.
    pub max_inflight: u16,
    /// Most publications waiting behind the in-flight window; `publish` fails beyond it.
    pub max_queued: usize,
    /// Largest incoming packet accepted.
    pub max_incoming_packet_size: usize,
    /// Whether the application acknowledges incoming QoS 1/2 messages itself with
    /// [`Client::ack`] (default: the client acknowledges on delivery). Acknowledgements still
    /// go out in the order the messages arrived [MQTT-4.6.0-2], [MQTT-4.6.0-3].
    pub manual_acks: bool,
    /// Whether to subscribe again, on its own, to every filter the server granted when a
    /// reconnection finds that the server lost the session (default: on). The answers arrive
    /// as [`Event::Resubscribed`].
    pub resubscribe: bool,
}

impl ClientConfig {
    /// Defaults: clean start, keep alive 60 s (timeout 1.5×), connect timeout 10 s, 100 in
    /// flight, 1,000 queued, incoming packets up to 1 MiB, automatic acknowledgements,
    /// resubscription when the server lost the session.
    pub fn new(protocol: ProtocolVersion, client_id: MqttString) -> Self {
        ClientConfig {
            protocol,
            client_id,
            clean_start: true,
            keep_alive: 60,
            keep_alive_timeout_permille: 1_500,
            connect_timeout: Duration::from_secs(10),
            username: None,
            password: None,
            will: None,
            connect_properties: Properties::new(),
            max_inflight: 100,
            max_queued: 1_000,
            max_incoming_packet_size: crate::packet::DEFAULT_MAX_INCOMING,
            manual_acks: false,
            resubscribe: true,
        }
    }
}

/// Names a publication handed to [`Client::publish`], in the events about it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PublishId(pub u64);

/// Names a subscribe or unsubscribe request, in the event that answers it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RequestId(pub u64);

/// Why a connection ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConnectionLost {
    /// The transport closed ([`Client::handle_closed`]).
    TransportClosed,
    /// Nothing arrived within the keep-alive timeout.
    KeepAliveTimeout,
    /// No CONNACK within the connect timeout.
    ConnectTimeout,
    /// The server refused the connection (CONNACK with an error code).
    Refused(ConnAck),
    /// The server sent DISCONNECT (5.0).
    ServerDisconnect(Disconnect),
    /// The server sent bytes that break the protocol; in 5.0 a DISCONNECT with
    /// [`DecodeError::reason_code`] was queued before the connection ended.
    ProtocolError(DecodeError),
    /// The server broke the protocol with a valid packet (e.g. an unknown Topic Alias).
    ProtocolViolation(ReasonCode),
    /// [`Client::disconnect`] was called.
    ClientDisconnect,
}

/// What the application learns, from [`Client::poll_event`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// CONNACK accepted the connection.
    Connected {
        /// Whether the server resumed the session.
        session_present: bool,
        /// The whole CONNACK (assigned client identifier, server limits, ...).
        connack: ConnAck,
    },
    /// An application message arrived (a Topic Alias is already resolved; QoS 2 messages
    /// arrive once).
    Message(Publish),
    /// A QoS 0 publication was written, or a QoS 1/2 one was acknowledged (PUBACK, PUBCOMP,
    /// or a PUBREC with an error code).
    Published {
        /// The id `publish` returned.
        id: PublishId,
        /// Success, or the server's reason code.
        reason_code: ReasonCode,
    },
    /// The server did not have the session, so these publications were discarded unsent or
    /// unacknowledged [MQTT-3.2.2-4].
    Dropped {
        /// The ids `publish` returned.
        ids: Vec<PublishId>,
    },
    /// SUBACK answered a subscribe.
    Subscribed {
        /// The id `subscribe` returned.
        id: RequestId,
        /// One code per filter: the granted QoS or an error.
        reason_codes: Vec<ReasonCode>,
    },
    /// UNSUBACK answered an unsubscribe.
    Unsubscribed {
        /// The id `unsubscribe` returned.
        id: RequestId,
        /// One code per filter (5.0; empty in 3.1.1).
        reason_codes: Vec<ReasonCode>,
    },
    /// SUBACK answered the SUBSCRIBE the client sent on its own, after a reconnection found
    /// that the server had lost the session ([`ClientConfig::resubscribe`]). A filter the
    /// server now refuses is forgotten.
    Resubscribed {
        /// The filters subscribed again.
        filters: Vec<TopicFilter>,
        /// One code per filter: the granted QoS or an error.
        reason_codes: Vec<ReasonCode>,
    },
    /// The connection ended; the session is kept for the next [`Client::connect`].
    Disconnected(ConnectionLost),
    /// An AUTH packet of enhanced authentication (5.0): a challenge to answer with
    /// [`Client::auth`] (Continue authentication), or the server's Success after a
    /// re-authentication. Authentication Method and Data are in its properties.
    Auth(crate::packet::Auth),
}

/// A command the client cannot carry out (the caller's mistake or a local limit).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ClientError {
    /// The queue behind the in-flight window is full ([`ClientConfig::max_queued`]).
    QueueFull,
    /// The QoS is above the server's Maximum QoS.
    QoSNotSupported,
    /// The server does not support retained messages.
    RetainNotSupported,
    /// The packet would be larger than the server's Maximum Packet Size, or is not valid.
    Encode(EncodeError),
    /// Every packet identifier is in use.
    NoPacketIdAvailable,
    /// SUBSCRIBE or UNSUBSCRIBE without filters.
    NoTopicFilters,
    /// [`Client::ack`] of a packet identifier with no delivered, unacknowledged message.
    UnknownAck,
    /// [`Client::auth`] without a connection, before MQTT 5.0, or without an Authentication
    /// Method in the CONNECT properties.
    AuthNotAvailable,
    /// A Topic Alias set by the caller: aliases are tied to one connection, so a publication
    /// that may be resent on another one cannot carry one.
    TopicAliasNotAllowed,
}

impl fmt::Display for ClientError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ClientError::QueueFull => f.write_str("the publish queue is full"),
            ClientError::QoSNotSupported => {
                f.write_str("the QoS is above the server's Maximum QoS [MQTT-3.2.2-11]")
            }
            ClientError::RetainNotSupported => {
                f.write_str("the server does not support retained messages [MQTT-3.2.2-14]")
            }
            ClientError::Encode(e) => fmt::Display::fmt(e, f),
            ClientError::NoPacketIdAvailable => {
                f.write_str("all 65,535 packet identifiers are in use")
            }
            ClientError::NoTopicFilters => f.write_str("at least one topic filter is needed"),
            ClientError::AuthNotAvailable => f.write_str(
                "enhanced authentication needs MQTT 5.0, a connection and an Authentication Method",
            ),
            ClientError::UnknownAck => {
                f.write_str("no delivered message awaits an acknowledgement with that packet id")
            }
            ClientError::TopicAliasNotAllowed => f.write_str(
                "a publication cannot carry its own Topic Alias: aliases are tied to one connection [MQTT-3.3.2-7]",
            ),
        }
    }
}

#[cfg(feature = "std")]
impl std::error::Error for ClientError {}

/// Where an outgoing QoS 1/2 publication stands.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Stage {
    /// PUBLISH sent; waiting for PUBACK (QoS 1) or PUBREC (QoS 2).
    Published,
    /// PUBREL sent; waiting for PUBCOMP.
    Released,
}

#[derive(Debug, Clone)]
struct InFlight {
    id: PublishId,
    packet_id: PacketId,
    publish: Publish,
    stage: Stage,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// No transport.
    Disconnected,
    /// CONNECT written; waiting for CONNACK until the deadline.
    Connecting { deadline: Instant },
    /// CONNACK accepted.
    Connected,
}

/// What the server told us in CONNACK, with the specification's defaults for what it left out.
#[derive(Debug, Clone, Copy)]
struct ServerLimits {
    receive_maximum: u16,
    maximum_qos: QoS,
    retain_available: bool,
    maximum_packet_size: usize,
}

impl Default for ServerLimits {
    fn default() -> Self {
        ServerLimits {
            receive_maximum: u16::MAX,
            maximum_qos: QoS::ExactlyOnce,
            retain_available: true,
            maximum_packet_size: MAX_PACKET_SIZE,
        }
    }
}

/// The sans-IO MQTT client. See the [module documentation](self) for the driving loop.
#[derive(Debug)]
pub struct Client {
    config: ClientConfig,
    codec: Codec,
    state: State,
    read_buf: BytesMut,
    write_buf: BytesMut,
    events: VecDeque<Event>,
    /// Whether a connection has ever been accepted (later ones ask to resume the session).
    had_session: bool,
    server: ServerLimits,
    keep_alive: Duration,
    last_sent: Instant,
    last_received: Instant,
    ping_outstanding: bool,
    inbound_aliases: BTreeMap<u16, TopicName>,
    inbound_alias_max: u16,
    /// Topic Aliases this connection has established towards the server (5.0), and how many
    /// the server accepts (its Topic Alias Maximum; 0: none).
    outbound_aliases: BTreeMap<TopicName, u16>,
    outbound_alias_max: u16,
    // Session state.
    next_id: u64,
    next_packet_id: u16,
    inflight: VecDeque<InFlight>,
    queued: VecDeque<(PublishId, Publish)>,
    pending: BTreeMap<u16, (RequestId, PendingKind, Packet)>,
    incoming_qos2: BTreeSet<u16>,
    /// Manual acknowledgements in arrival order: packet id, QoS, whether the application
    /// has acknowledged it. Sent from the front as soon as they are acknowledged.
    pending_acks: VecDeque<(u16, QoS, bool)>,
    /// What the server granted, with the SUBSCRIBE properties it came with: resent when a
    /// reconnection finds the session gone ([`ClientConfig::resubscribe`]).
    subscriptions: BTreeMap<TopicFilter, (Subscription, Properties)>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum PendingKind {
    Subscribe,
    Unsubscribe,
    /// A SUBSCRIBE the client sent itself after the server lost the session.
    Resubscribe,
}

impl Client {
    /// A client with no connection yet.
    pub fn new(config: ClientConfig) -> Self {
        let codec = Codec::new(config.protocol).with_max_incoming(config.max_incoming_packet_size);
        let inbound_alias_max = config.connect_properties.topic_alias_maximum().unwrap_or(0);
        Client {
            codec,
            state: State::Disconnected,
            read_buf: BytesMut::new(),
            write_buf: BytesMut::new(),
            events: VecDeque::new(),
            had_session: false,
            server: ServerLimits::default(),
            keep_alive: Duration::from_secs(u64::from(config.keep_alive)),
            last_sent: Instant::ZERO,
            last_received: Instant::ZERO,
            ping_outstanding: false,
            inbound_aliases: BTreeMap::new(),
            inbound_alias_max,
            outbound_aliases: BTreeMap::new(),
            outbound_alias_max: 0,
            next_id: 0,
            next_packet_id: 1,
            inflight: VecDeque::new(),
            queued: VecDeque::new(),
            pending: BTreeMap::new(),
            incoming_qos2: BTreeSet::new(),
            pending_acks: VecDeque::new(),
            subscriptions: BTreeMap::new(),
            config,
        }
    }

    // ----- getters -------------------------------------------------------------------------

    /// Whether CONNACK accepted the current connection.
    pub fn is_connected(&self) -> bool {
        self.state == State::Connected
    }

    /// Outgoing QoS 1/2 publications sent and not yet completed.
    pub fn inflight_len(&self) -> usize {
        self.inflight.len()
    }

    /// Publications waiting behind the in-flight window.
    pub fn queued_len(&self) -> usize {
        self.queued.len()
    }

    /// Whether the client is waiting for a packet from the server: CONNACK, PINGRESP, or an
    /// acknowledgement of a publication, subscription or unsubscription. A driver that stops
    /// reading while its application is behind reads on while this holds, so that its own
    /// requests and the keep alive are never stuck behind unread messages.
    pub fn awaits_server(&self) -> bool {
        matches!(self.state, State::Connecting { .. })
            || (self.state == State::Connected
                && (self.ping_outstanding || !self.inflight.is_empty() || !self.pending.is_empty()))
    }

    /// The in-flight window: the local limit, lowered by the server's Receive Maximum.
    pub fn window(&self) -> usize {
        usize::from(self.config.max_inflight.min(self.server.receive_maximum)).max(1)
    }

    // ----- commands ------------------------------------------------------------------------

    /// Starts a connection over a transport the caller has just opened: queues CONNECT.
    /// The first connection uses [`ClientConfig::clean_start`]; later ones ask to resume.
    pub fn connect(&mut self, now: Instant) {
        self.read_buf.clear();
        self.write_buf.clear();
        self.inbound_aliases.clear();
        self.outbound_aliases.clear();
        self.server = ServerLimits::default();
        self.ping_outstanding = false;
        self.codec = Codec::new(self.config.protocol)
            .with_max_incoming(self.config.max_incoming_packet_size);
        let c = &self.config;
        // 3.1.1 has no properties: a configuration shared between levels sends them in 5.0
        // only, rather than failing to encode CONNECT.
        let v5 = c.protocol == ProtocolVersion::V5;
        let keep_v5 = |p: &Properties| if v5 { p.clone() } else { Properties::new() };
        let connect = Connect {
            protocol: c.protocol,
            clean_start: c.clean_start && !self.had_session,
            keep_alive: c.keep_alive,
            client_id: c.client_id.clone(),
            will: c.will.clone().map(|mut w| {
                w.properties = keep_v5(&w.properties);
                w
            }),
            username: c.username.clone(),
            password: c.password.clone(),
            properties: keep_v5(&c.connect_properties),
        };
        self.keep_alive = Duration::from_secs(u64::from(c.keep_alive));
        self.state = State::Connecting {
            deadline: now + c.connect_timeout,
        };
        self.last_received = now;
        self.send(now, &Packet::from(connect));
    }

    /// Publishes a message. QoS 0 is written when connected; QoS 1/2 enters the in-flight
    /// window or waits behind it. Before CONNACK, everything waits. The returned id names the
    /// publication in [`Event::Published`] or [`Event::Dropped`]. Any `packet_id` or `dup` on
    /// `publish` is replaced.
    pub fn publish(
        &mut self,
        now: Instant,
        mut publish: Publish,
    ) -> Result<PublishId, ClientError> {
        if publish.properties.contains(PropertyId::TopicAlias) {
            // Aliases belong to one connection and must not be resent [MQTT-3.3.2-7]; the
            // client would have to assign them itself.
            return Err(ClientError::TopicAliasNotAllowed);
        }
        publish.dup = false;
        publish.packet_id = match publish.qos {
            QoS::AtMostOnce => None,
            // A placeholder so the packet can be checked; the real one is given at send time.
            _ => Some(PacketId::MIN),
        };
        if self.is_connected() {
            self.check_against_server(&publish)?;
        } else {
            // The server's limits are not known yet: they are checked again when it is sent.
            Packet::Publish(publish.clone())
                .check(self.config.protocol, MAX_PACKET_SIZE)
                .map_err(ClientError::Encode)?;
        }
        let id = self.next_publish_id();
        let can_send_now = self.is_connected()
            && self.queued.is_empty()
            && (publish.qos == QoS::AtMostOnce || self.inflight.len() < self.window());
        if can_send_now {
            self.send_new(now, id, publish)?;
        } else if self.queued.len() >= self.config.max_queued {
            return Err(ClientError::QueueFull);
        } else {
            self.queued.push_back((id, publish));
        }
        Ok(id)
    }

    /// Subscribes to filters at the given maximum QoS; answered by [`Event::Subscribed`].
    pub fn subscribe(
        &mut self,
        now: Instant,
        filters: Vec<(TopicFilter, QoS)>,
    ) -> Result<RequestId, ClientError> {
        let subscriptions: Vec<Subscription> = filters
            .into_iter()
            .map(|(f, q)| Subscription::new(f, q))
            .collect();
        self.subscribe_with(now, subscriptions, Properties::new())
    }

    /// Subscribes with full subscription options and SUBSCRIBE properties.
    pub fn subscribe_with(
        &mut self,
        now: Instant,
        subscriptions: Vec<Subscription>,
        properties: Properties,
    ) -> Result<RequestId, ClientError> {
        if subscriptions.is_empty() {
            return Err(ClientError::NoTopicFilters);
        }
        let packet_id = self.allocate_packet_id()?;
        let packet = Packet::Subscribe(Subscribe {
            packet_id,
            properties,
            subscriptions,
        });
        Ok(self.request(now, packet_id, PendingKind::Subscribe, packet))
    }

    /// Unsubscribes from filters; answered by [`Event::Unsubscribed`].
    pub fn unsubscribe(
        &mut self,
        now: Instant,
        filters: Vec<TopicFilter>,
    ) -> Result<RequestId, ClientError> {
        if filters.is_empty() {
            return Err(ClientError::NoTopicFilters);
        }
        let packet_id = self.allocate_packet_id()?;
        let packet = Packet::Unsubscribe(Unsubscribe::new(packet_id, filters));
        Ok(self.request(now, packet_id, PendingKind::Unsubscribe, packet))
    }

    /// Ends the connection cleanly: queues DISCONNECT and reports
    /// [`ConnectionLost::ClientDisconnect`]. The caller closes the transport after writing.
    pub fn disconnect(&mut self, now: Instant, disconnect: Disconnect) {
        if self.state != State::Disconnected {
            self.send(now, &Packet::Disconnect(disconnect));
            self.lose(ConnectionLost::ClientDisconnect);
        }
    }

    /// Acknowledges a delivered QoS 1/2 message (with [`ClientConfig::manual_acks`]): its
    /// PUBACK or PUBREC goes out once every message that arrived before it is acknowledged.
    pub fn ack(&mut self, now: Instant, packet_id: PacketId) -> Result<(), ClientError> {
        let entry = self
            .pending_acks
            .iter_mut()
            .find(|(p, _, acked)| *p == packet_id.get() && !*acked)
            .ok_or(ClientError::UnknownAck)?;
        entry.2 = true;
        self.flush_acks(now);
        Ok(())
    }

    /// Sends an AUTH packet of enhanced authentication (5.0 §4.12): the answer to an
    /// [`Event::Auth`] challenge (Continue authentication), or a re-authentication
    /// (Re-authenticate) once connected. It must carry the CONNECT's Authentication Method.
    pub fn auth(&mut self, now: Instant, auth: crate::packet::Auth) -> Result<(), ClientError> {
        let method = self.config.connect_properties.authentication_method();
        if self.state == State::Disconnected
            || !self.config.protocol.is_v5()
            || method.is_none()
            || auth.properties.authentication_method() != method
        {
            return Err(ClientError::AuthNotAvailable);
        }
        self.send(now, &Packet::Auth(auth));
        Ok(())
    }

    // ----- inputs --------------------------------------------------------------------------

    /// Bytes read from the transport.
    pub fn handle_read(&mut self, now: Instant, bytes: &[u8]) {
        if self.state == State::Disconnected {
            return;
        }
        self.read_buf.extend_from_slice(bytes);
        loop {
            match self.codec.decode(&mut self.read_buf) {
                Ok(Decoded::Packet(packet)) => {
                    self.last_received = now;
                    self.handle_packet(now, packet);
                    if self.state == State::Disconnected {
                        return;
                    }
                }
                Ok(Decoded::Incomplete { .. }) => return,
                Err(e) => {
                    self.fail(now, e.reason_code(), ConnectionLost::ProtocolError(e));
                    return;
                }
            }
        }
    }

    /// The deadline from [`Client::poll_timeout`] has passed.
    pub fn handle_timeout(&mut self, now: Instant) {
        match self.state {
            State::Disconnected => {}
            State::Connecting { deadline } => {
                if now >= deadline {
                    self.lose(ConnectionLost::ConnectTimeout);
                }
            }
            State::Connected => {
                if self.keep_alive.is_zero() {
                    return;
                }
                if now >= self.last_received + self.keep_alive_timeout() {
                    self.lose(ConnectionLost::KeepAliveTimeout);
                } else if !self.ping_outstanding && now >= self.next_ping() {
                    self.ping_outstanding = true;
                    self.send(now, &Packet::PingReq);
                }
            }
        }
    }

    /// The transport closed.
    pub fn handle_closed(&mut self, _now: Instant) {
        if self.state != State::Disconnected {
            self.lose(ConnectionLost::TransportClosed);
        }
    }

    // ----- outputs -------------------------------------------------------------------------

    /// Bytes to write to the transport, if any.
    pub fn poll_transmit(&mut self) -> Option<Bytes> {
        if self.write_buf.is_empty() {
            None
        } else {
            Some(self.write_buf.split().freeze())
        }
    }

    /// The next event for the application.
    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    /// When [`Client::handle_timeout`] must be called next; `None` while there is nothing
    /// to time.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Instant> {
        match self.state {
            State::Disconnected => None,
            State::Connecting { deadline } => Some(deadline),
            State::Connected if self.keep_alive.is_zero() => None,
            State::Connected => {
                let lost = self.last_received + self.keep_alive_timeout();
                if self.ping_outstanding {
                    Some(lost)
                } else {
                    Some(lost.min(self.next_ping()))
                }
            }
        }
    }

    // ----- internals -----------------------------------------------------------------------

    fn keep_alive_timeout(&self) -> Duration {
        self.keep_alive * self.config.keep_alive_timeout_permille / 1_000
    }

    /// A PINGREQ is due when nothing was sent or nothing was received for a keep-alive
    /// period: the first keeps the server from timing us out [MQTT-3.1.2-22 (5.0: -20)], the
    /// second makes the server answer, so silence can be detected.
    fn next_ping(&self) -> Instant {
        self.last_sent.min(self.last_received) + self.keep_alive
    }

    fn next_publish_id(&mut self) -> PublishId {
        self.next_id += 1;
        PublishId(self.next_id)
    }

    fn packet_id_in_use(&self, id: u16) -> bool {
        self.pending.contains_key(&id) || self.inflight.iter().any(|f| f.packet_id.get() == id)
    }

    /// A packet identifier not used by any PUBLISH, SUBSCRIBE or UNSUBSCRIBE in flight.
    fn allocate_packet_id(&mut self) -> Result<PacketId, ClientError> {
        for _ in 0..u16::MAX {
            let candidate = self.next_packet_id;
            self.next_packet_id = self.next_packet_id.checked_add(1).unwrap_or(1);
            if !self.packet_id_in_use(candidate) {
                if let Some(id) = PacketId::new(candidate) {
                    return Ok(id);
                }
            }
        }
        Err(ClientError::NoPacketIdAvailable)
    }

    fn request(
        &mut self,
        now: Instant,
        packet_id: PacketId,
        kind: PendingKind,
        packet: Packet,
    ) -> RequestId {
        self.next_id += 1;
        let id = RequestId(self.next_id);
        if self.is_connected() {
            self.send(now, &packet);
        }
        self.pending.insert(packet_id.get(), (id, kind, packet));
        id
    }

    /// Sends a publication that has a place in the window (or is QoS 0).
    fn send_new(
        &mut self,
        now: Instant,
        id: PublishId,
        mut publish: Publish,
    ) -> Result<(), ClientError> {
        if publish.qos == QoS::AtMostOnce {
            publish.packet_id = None;
            let wire = self.with_alias(publish);
            self.send(now, &Packet::Publish(wire));
            self.events.push_back(Event::Published {
                id,
                reason_code: ReasonCode::Success,
            });
            return Ok(());
        }
        let packet_id = self.allocate_packet_id()?;
        publish.packet_id = Some(packet_id);
        // The first transmission may use a Topic Alias; what is kept for a retransmission
        // has the full topic and no alias [MQTT-3.3.2-7].
        let wire = self.with_alias(publish.clone());
        self.send(now, &Packet::Publish(wire));
        self.inflight.push_back(InFlight {
            id,
            packet_id,
            publish,
            stage: Stage::Published,
        });
        Ok(())
    }

    /// The PUBLISH as sent on this connection: with an automatic Topic Alias (5.0) when the
    /// server accepts them — the topic and a new alias the first time, then the alias alone.
    fn with_alias(&mut self, mut publish: Publish) -> Publish {
        if !self.config.protocol.is_v5() || self.outbound_alias_max == 0 {
            return publish;
        }
        let (alias, known) = match self.outbound_aliases.get(&publish.topic) {
            Some(&alias) => (alias, true),
            None if self.outbound_aliases.len() < usize::from(self.outbound_alias_max) => {
                let alias = self.outbound_aliases.len() as u16 + 1;
                self.outbound_aliases.insert(publish.topic.clone(), alias);
                (alias, false)
            }
            None => return publish,
        };
        let properties = publish
            .properties
            .iter()
            .chain(core::iter::once(Property::TopicAlias(alias)));
        // Cannot fail (`publish` refuses callers' Topic Aliases); if it did, send it plainly.
        if let Ok(p) = Properties::from_properties(properties) {
            publish.properties = p;
            if known {
                publish.topic = TopicName::alias_only();
            }
        }
        publish
    }

    /// Moves queued publications into the window while there is room.
    fn drain_queue(&mut self, now: Instant) {
        while self.is_connected() {
            let Some((_, front)) = self.queued.front() else {
                break;
            };
            if front.qos != QoS::AtMostOnce && self.inflight.len() >= self.window() {
                break;
            }
            let Some((id, publish)) = self.queued.pop_front() else {
                break;
            };
            if let Err(e) = self.check_against_server(&publish) {
                // The server's limits, learnt after it was queued, rule it out.
                let reason_code = match e {
                    ClientError::QoSNotSupported => ReasonCode::QoSNotSupported,
                    ClientError::RetainNotSupported => ReasonCode::RetainNotSupported,
                    _ => ReasonCode::PacketTooLarge,
                };
                self.events.push_back(Event::Published { id, reason_code });
                continue;
            }
            if self.send_new(now, id, publish.clone()).is_err() {
                self.queued.push_front((id, publish));
                break;
            }
        }
    }

    fn check_against_server(&self, publish: &Publish) -> Result<(), ClientError> {
        if publish.qos > self.server.maximum_qos {
            return Err(ClientError::QoSNotSupported);
        }
        if publish.retain && !self.server.retain_available {
            return Err(ClientError::RetainNotSupported);
        }
        Packet::Publish(publish.clone())
            .check(self.config.protocol, self.server.maximum_packet_size)
            .map(|_| ())
            .map_err(ClientError::Encode)
    }

    fn send(&mut self, now: Instant, packet: &Packet) {
        // Our own packets are checked before they get here; a failure means a packet the
        // server's limits rule out (e.g. an acknowledgement with a long reason string), which
        // is better not sent than sent in breach.
        let encoded = packet.encode(
            self.config.protocol,
            self.server.maximum_packet_size,
            &mut self.write_buf,
        );
        if encoded.is_ok() {
            self.last_sent = now;
        }
    }

    /// Ends the connection: the session stays for the next `connect`.
    fn lose(&mut self, why: ConnectionLost) {
        // QoS 1 messages not yet acknowledged will be resent by the server; QoS 2 ones stay
        // owed, so that a resend is not acknowledged before the application did.
        self.pending_acks
            .retain(|&(_, qos, _)| qos == QoS::ExactlyOnce);
        self.state = State::Disconnected;
        self.ping_outstanding = false;
        self.read_buf.clear();
        self.inbound_aliases.clear();
        self.outbound_aliases.clear();
        self.events.push_back(Event::Disconnected(why));
    }

    /// The server broke the protocol: tell it why (5.0) and end the connection.
    fn fail(&mut self, now: Instant, reason_code: ReasonCode, why: ConnectionLost) {
        if self.config.protocol.is_v5() && reason_code.allowed_in(PacketType::Disconnect) {
            self.send(
                now,
                &Packet::Disconnect(Disconnect::with_reason(reason_code)),
            );
        }
        self.lose(why);
    }

    fn handle_packet(&mut self, now: Instant, packet: Packet) {
        match (self.state, packet) {
            (State::Connecting { .. }, Packet::ConnAck(connack)) => self.on_connack(now, connack),
            (State::Connecting { .. } | State::Connected, Packet::Auth(auth)) => {
                // Enhanced authentication (5.0 §4.12): only after we named a method, and the
                // method must stay the same [MQTT-4.12.0-5].
                let ours = self.config.connect_properties.authentication_method();
                if ours.is_some() && auth.properties.authentication_method() == ours {
                    self.events.push_back(Event::Auth(auth));
                } else {
                    self.fail(
                        now,
                        ReasonCode::ProtocolError,
                        ConnectionLost::ProtocolViolation(ReasonCode::ProtocolError),
                    );
                }
            }
            (State::Connected, Packet::Publish(p)) => self.on_publish(now, p),
            (State::Connected, Packet::PubAck(ack)) => self.complete(
                now,
                ack.packet_id,
                Stage::Published,
                QoS::AtLeastOnce,
                ack.reason_code,
            ),
            (State::Connected, Packet::PubRec(rec)) => self.on_pubrec(now, rec),
            (State::Connected, Packet::PubComp(comp)) => self.complete(
                now,
                comp.packet_id,
                Stage::Released,
                QoS::ExactlyOnce,
                comp.reason_code,
            ),
            (State::Connected, Packet::PubRel(rel)) => {
                // Answer even for an unknown identifier, so that a PUBREL resent after a
                // reconnection completes on the server's side too.
                let known = self.incoming_qos2.remove(&rel.packet_id.get());
                let mut comp = PubComp::new(rel.packet_id);
                if !known && self.config.protocol.is_v5() {
                    comp.reason_code = ReasonCode::PacketIdentifierNotFound;
                }
                self.send(now, &Packet::PubComp(comp));
            }
            (State::Connected, Packet::SubAck(ack)) => {
                self.answer(ack.packet_id, PendingKind::Subscribe, ack.reason_codes)
            }
            (State::Connected, Packet::UnsubAck(ack)) => {
                self.answer(ack.packet_id, PendingKind::Unsubscribe, ack.reason_codes)
            }
            (State::Connected, Packet::PingResp) => self.ping_outstanding = false,
            (_, Packet::Disconnect(d)) if self.config.protocol.is_v5() => {
                self.lose(ConnectionLost::ServerDisconnect(d));
            }
            (_, other) => {
                // A packet a server never sends, or one out of turn.
                let _ = other;
                self.fail(
                    now,
                    ReasonCode::ProtocolError,
                    ConnectionLost::ProtocolViolation(ReasonCode::ProtocolError),
                );
            }
        }
    }

    fn on_connack(&mut self, now: Instant, connack: ConnAck) {
        if connack.reason_code != ReasonCode::Success {
            self.lose(ConnectionLost::Refused(connack));
            return;
        }
        let p = &connack.properties;
        self.server = ServerLimits {
            receive_maximum: p.receive_maximum().unwrap_or(u16::MAX),
            maximum_qos: match p.maximum_qos() {
                Some(0) => QoS::AtMostOnce,
                Some(1) => QoS::AtLeastOnce,
                _ => QoS::ExactlyOnce,
            },
            retain_available: p.retain_available() != Some(0),
            maximum_packet_size: p
                .maximum_packet_size()
                .and_then(|m| usize::try_from(m).ok())
                .unwrap_or(MAX_PACKET_SIZE),
        };
        self.outbound_alias_max = p.topic_alias_maximum().unwrap_or(0);
        if let Some(ka) = p.server_keep_alive() {
            self.keep_alive = Duration::from_secs(u64::from(ka));
        }
        if let Some(id) = p.assigned_client_identifier() {
            self.config.client_id = id;
        }
        self.state = State::Connected;
        self.last_received = now;
        let session_present = connack.session_present;
        if session_present {
            self.resend_session(now);
        } else {
            self.discard_session();
            if self.had_session && self.config.resubscribe {
                self.resubscribe();
            }
        }
        self.had_session = true;
        self.events.push_back(Event::Connected {
            session_present,
            connack,
        });
        // Requests made while disconnected go out now.
        let pending: Vec<Packet> = self.pending.values().map(|(_, _, p)| p.clone()).collect();
        for packet in pending {
            self.send(now, &packet);
        }
        self.drain_queue(now);
    }

    /// Session present: resend what was not acknowledged, in order [MQTT-4.4.0-1].
    fn resend_session(&mut self, now: Instant) {
        let resend: Vec<Packet> = self
            .inflight
            .iter()
            .map(|f| match f.stage {
                Stage::Published => {
                    let mut p = f.publish.clone();
                    // Full topic, no alias: `publish` refuses aliases [MQTT-3.3.2-7].
                    p.dup = true;
                    Packet::Publish(p)
                }
                Stage::Released => Packet::PubRel(PubRel::new(f.packet_id)),
            })
            .collect();
        for packet in resend {
            self.send(now, &packet);
        }
    }

    /// No session on the server: what we held for it is void [MQTT-3.2.2-4] (3.1.1) /
    /// [MQTT-3.2.2-5] (5.0). Publications not yet completed are reported as dropped; the
    /// queue (never sent) stays and goes out on this connection.
    fn discard_session(&mut self) {
        let ids: Vec<PublishId> = self.inflight.drain(..).map(|f| f.id).collect();
        self.incoming_qos2.clear();
        self.pending_acks.clear();
        if !ids.is_empty() {
            self.events.push_back(Event::Dropped { ids });
        }
    }

    fn on_publish(&mut self, now: Instant, mut publish: Publish) {
        // Resolve or learn a Topic Alias (5.0 §3.3.2.3.4).
        if let Some(alias) = publish.properties.topic_alias() {
            if alias == 0 || alias > self.inbound_alias_max {
                self.fail(
                    now,
                    ReasonCode::TopicAliasInvalid,
                    ConnectionLost::ProtocolViolation(ReasonCode::TopicAliasInvalid),
                );
                return;
            }
            if publish.topic.is_empty() {
                match self.inbound_aliases.get(&alias) {
                    Some(topic) => publish.topic = topic.clone(),
                    None => {
                        self.fail(
                            now,
                            ReasonCode::ProtocolError,
                            ConnectionLost::ProtocolViolation(ReasonCode::ProtocolError),
                        );
                        return;
                    }
                }
            } else {
                self.inbound_aliases.insert(alias, publish.topic.clone());
            }
        }
        match (publish.qos, publish.packet_id) {
            (QoS::AtMostOnce, _) | (_, None) => self.events.push_back(Event::Message(publish)),
            (QoS::AtLeastOnce, Some(id)) => {
                self.events.push_back(Event::Message(publish));
                self.acknowledge_later(now, id.get(), QoS::AtLeastOnce);
            }
            (QoS::ExactlyOnce, Some(id)) => {
                // Deliver once: a repeat before PUBREL is only acknowledged again, and not
                // before the application acknowledged the first delivery.
                if self.incoming_qos2.insert(id.get()) {
                    self.events.push_back(Event::Message(publish));
                    self.acknowledge_later(now, id.get(), QoS::ExactlyOnce);
                } else if !self.pending_acks.iter().any(|&(p, _, _)| p == id.get()) {
                    self.send(now, &Packet::PubRec(PubRec::new(id)));
                }
            }
        }
    }

    /// Queues the acknowledgement of a delivered message: sent at once with automatic acks,
    /// or when the application calls [`Client::ack`] (in arrival order).
    fn acknowledge_later(&mut self, now: Instant, packet_id: u16, qos: QoS) {
        self.pending_acks
            .push_back((packet_id, qos, !self.config.manual_acks));
        self.flush_acks(now);
    }

    /// Sends acknowledgements from the front of the queue while they are acknowledged.
    fn flush_acks(&mut self, now: Instant) {
        while let Some(&(packet_id, qos, true)) = self.pending_acks.front() {
            self.pending_acks.pop_front();
            let Some(id) = PacketId::new(packet_id) else {
                continue;
            };
            if self.is_connected() {
                let ack = match qos {
                    QoS::ExactlyOnce => Packet::PubRec(PubRec::new(id)),
                    _ => Packet::PubAck(PubAck::new(id)),
                };
                self.send(now, &ack);
            }
        }
    }

    fn position(&self, packet_id: PacketId) -> Option<usize> {
        self.inflight.iter().position(|f| f.packet_id == packet_id)
    }

    fn on_pubrec(&mut self, now: Instant, rec: PubRec) {
        let Some(i) = self.position(rec.packet_id) else {
            // Not ours (any more): answer so the server can finish [MQTT-4.3.3].
            let mut rel = PubRel::new(rec.packet_id);
            if self.config.protocol.is_v5() {
                rel.reason_code = ReasonCode::PacketIdentifierNotFound;
            }
            self.send(now, &Packet::PubRel(rel));
            return;
        };
        let Some(f) = self.inflight.get_mut(i) else {
            return;
        };
        if f.publish.qos != QoS::ExactlyOnce {
            self.fail(
                now,
                ReasonCode::ProtocolError,
                ConnectionLost::ProtocolViolation(ReasonCode::ProtocolError),
            );
            return;
        }
        if rec.reason_code.is_error() {
            // The server refused it; the exchange ends here (5.0 §4.3.3).
            let id = f.id;
            self.inflight.remove(i);
            self.events.push_back(Event::Published {
                id,
                reason_code: rec.reason_code,
            });
            self.drain_queue(now);
            return;
        }
        f.stage = Stage::Released;
        let rel = PubRel::new(rec.packet_id);
        self.send(now, &Packet::PubRel(rel));
    }

    fn complete(
        &mut self,
        now: Instant,
        packet_id: PacketId,
        stage: Stage,
        qos: QoS,
        reason_code: ReasonCode,
    ) {
        let Some(i) = self.position(packet_id) else {
            // An acknowledgement for nothing we sent: tolerated (it may be a late duplicate).
            return;
        };
        let matches = self
            .inflight
            .get(i)
            .is_some_and(|f| f.stage == stage && f.publish.qos == qos);
        if !matches {
            self.fail(
                now,
                ReasonCode::ProtocolError,
                ConnectionLost::ProtocolViolation(ReasonCode::ProtocolError),
            );
            return;
        }
        if let Some(f) = self.inflight.remove(i) {
            self.events.push_back(Event::Published {
                id: f.id,
                reason_code,
            });
        }
        self.drain_queue(now);
    }

    /// The server lost the session: ask again for what it had granted, one SUBSCRIBE per
    /// distinct set of SUBSCRIBE properties (a Subscription Identifier names its filters).
    fn resubscribe(&mut self) {
        let mut groups: Vec<(Properties, Vec<Subscription>)> = Vec::new();
        for (subscription, properties) in self.subscriptions.values() {
            match groups.iter_mut().find(|(p, _)| p == properties) {
                Some((_, subs)) => subs.push(subscription.clone()),
                None => groups.push((properties.clone(), alloc::vec![subscription.clone()])),
            }
        }
        for (properties, subscriptions) in groups {
            let Ok(packet_id) = self.allocate_packet_id() else {
                return;
            };
            let packet = Packet::Subscribe(Subscribe {
                packet_id,
                properties,
                subscriptions,
            });
            // Sent with the other pending requests right after this, in `on_connack`.
            self.next_id += 1;
            let id = RequestId(self.next_id);
            self.pending
                .insert(packet_id.get(), (id, PendingKind::Resubscribe, packet));
        }
    }

    /// Remembers what SUBACK granted and forgets what UNSUBSCRIBE removed, for
    /// [`ClientConfig::resubscribe`].
    fn track_subscriptions(&mut self, request: &Packet, reason_codes: &[ReasonCode]) {
        match request {
            Packet::Subscribe(s) => {
                for (sub, code) in s.subscriptions.iter().zip(reason_codes) {
                    if code.is_error() {
                        self.subscriptions.remove(&sub.filter);
                    } else {
                        self.subscriptions
                            .insert(sub.filter.clone(), (sub.clone(), s.properties.clone()));
                    }
                }
            }
            Packet::Unsubscribe(u) => {
                for filter in &u.filters {
                    self.subscriptions.remove(filter);
                }
            }
            _ => {}
        }
    }

    fn answer(&mut self, packet_id: PacketId, kind: PendingKind, reason_codes: Vec<ReasonCode>) {
        let matches = |k: PendingKind| match kind {
            PendingKind::Subscribe => {
                matches!(k, PendingKind::Subscribe | PendingKind::Resubscribe)
            }
            _ => k == kind,
        };
        match self.pending.get(&packet_id.get()) {
            Some((_, k, _)) if matches(*k) => {}
            _ => return,
        }
        let Some((id, k, request)) = self.pending.remove(&packet_id.get()) else {
            return;
        };
        self.track_subscriptions(&request, &reason_codes);
        self.events.push_back(match k {
            PendingKind::Subscribe => Event::Subscribed { id, reason_codes },
            PendingKind::Unsubscribe => Event::Unsubscribed { id, reason_codes },
            PendingKind::Resubscribe => Event::Resubscribed {
                filters: match request {
                    Packet::Subscribe(s) => s.subscriptions.into_iter().map(|s| s.filter).collect(),
                    _ => Vec::new(),
                },
                reason_codes,
            },
        });
    }
}
