//! The server side of one MQTT connection, sans-IO.
//!
//! [`Connection`] is one accepted transport connection, from its first byte to its end. It
//! decodes and validates what the client sends, negotiates what belongs to the connection
//! (protocol level, keep alive, packet sizes, receive windows, topic aliases) and reports the
//! rest to the broker core as [`ConnectionEvent`]s. The core decides what only it can
//! (authentication, sessions, routing, acknowledgements) and tells the connection with
//! commands, which write the answers.
//!
//! # Methods
//!
//! - **Inputs** (`handle_*`): [`Connection::handle_read`], [`Connection::handle_timeout`],
//!   [`Connection::handle_closed`].
//! - **Commands** (the core's answers): [`Connection::accept`], [`Connection::refuse`],
//!   [`Connection::continue_auth`], [`Connection::accept_with_auth`],
//!   [`Connection::reauth_success`], [`Connection::puback`], [`Connection::pubrec`], [`Connection::pubcomp`],
//!   [`Connection::suback`], [`Connection::unsuback`], [`Connection::send_publish`],
//!   [`Connection::send_pubrel`], [`Connection::disconnect`].
//! - **Outputs** (`poll_*`): [`Connection::poll_transmit`], [`Connection::poll_event`],
//!   [`Connection::poll_timeout`]; and [`Connection::wants_read`],
//!   [`Connection::wants_close`].
//!
//! After any input or command, drain `poll_event` and `poll_transmit`; write the bytes; close
//! the transport once `wants_close` holds and everything is written; otherwise read (while
//! `wants_read`) or sleep until `poll_timeout`.
//!
//! ```
//! use bytes::BytesMut;
//! use tern_broker::config::ServerConfig;
//! use tern_broker::connection::{Connection, ConnectionEvent};
//! use tern_mqtt::{Codec, Connect, MqttString, Packet, ProtocolVersion};
//! use tern_time::Instant;
//!
//! let now = Instant::ZERO;
//! let mut conn = Connection::new(now, &ServerConfig::new());
//!
//! // What a client would send.
//! let connect = Connect::new(ProtocolVersion::V5, MqttString::new("thermo-1")?);
//! let mut wire = BytesMut::new();
//! Codec::new(ProtocolVersion::V5).encode(&connect.into(), &mut wire)?;
//!
//! conn.handle_read(now, &wire);
//! while let Some(event) = conn.poll_event() {
//!     if let ConnectionEvent::Connect(connect) = event {
//!         // The core authenticates, looks the session up, then:
//!         conn.accept(now, false, None)?;
//!     }
//! }
//! let mut out = BytesMut::new();
//! conn.poll_transmit(&mut out); // the CONNACK, to write to the socket
//! assert_eq!(out[0], 0x20);
//! assert!(conn.is_connected());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # The contract with the core
//!
//! - Answer every [`ConnectionEvent::Connect`] with `accept` or `refuse`; give an assigned
//!   client identifier exactly when the CONNECT's was empty.
//! - Enhanced authentication (MQTT 5.0 §4.12): a CONNECT with an Authentication Method may
//!   also be answered with `continue_auth` (AUTH 0x18), and each
//!   [`ConnectionEvent::Auth`] that follows with `continue_auth` again, `accept_with_auth`
//!   or `refuse`. Once accepted, a client's AUTH 0x19 Re-authenticate is reported as
//!   `Auth` too; answer it with `continue_auth`, `reauth_success` or `disconnect`. The
//!   connection checks the method and the order of AUTH packets itself; it knows no
//!   method.
//! - Answer every QoS 1 [`ConnectionEvent::Publish`] with `puback`, every QoS 2 one with
//!   `pubrec` (and, after [`ConnectionEvent::PubRel`], `pubcomp`): until then it holds a
//!   place of the inbound window (the server's Receive Maximum). Withholding answers is how
//!   a loaded broker slows a publisher down, within that window.
//! - Answer every [`ConnectionEvent::Subscribe`] / [`ConnectionEvent::Unsubscribe`] with one
//!   code per filter it carries.
//! - Give outbound QoS 1/2 messages their packet identifiers; send them only while
//!   [`Connection::can_send_qos12`] holds; answer a successful
//!   [`ConnectionEvent::PubRec`] with `send_pubrel`; treat a message refused with
//!   [`CommandError::PacketTooLarge`] as delivered.
//! - After [`ConnectionEvent::Disconnected`] or [`ConnectionEvent::Closed`] the connection
//!   is over: write what is left and close the transport. Events queued before the final one
//!   are still delivered; answering them then fails harmlessly with
//!   [`CommandError::InvalidState`]. Inbound windows, topic aliases and pending requests
//!   die with the connection; what must survive it (QoS 2 state, unacknowledged messages)
//!   is the session's, kept by the core.

mod event;
mod handshake;

use alloc::boxed::Box;
use alloc::collections::{BTreeMap, VecDeque};
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::time::Duration;

use bytes::{Bytes, BytesMut};
use tern_mqtt::{
    Auth, Codec, ConnAck, DecodeError, Decoded, Disconnect, MqttString, Packet, PacketId,
    PacketType, Properties, Property, PropertyId, ProtocolVersion, PubAck, PubComp, PubRec, PubRel,
    Publish, QoS, ReasonCode, SubAck, Subscribe, TopicName, UnsubAck, Unsubscribe,
};
use tern_time::Instant;

pub use event::{CloseReason, CommandError, ConnectionEvent, WillAction};

use crate::config::ServerConfig;

/// MQTT's largest packet ([`tern_mqtt::packet::MAX_PACKET_SIZE`]), which fits a `u32`.
const MAX_PACKET_SIZE_U32: u32 = 268_435_460;
const _: () = assert!(MAX_PACKET_SIZE_U32 as usize == tern_mqtt::packet::MAX_PACKET_SIZE);

/// Where the connection stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Waiting for CONNECT until the deadline.
    AwaitConnect { deadline: Instant },
    /// CONNECT (or, in enhanced authentication, the client's AUTH) reported; waiting for
    /// the core's `accept`, `refuse` or `continue_auth`.
    AwaitDecision,
    /// AUTH 0x18 sent during the handshake; waiting for the client's AUTH until the
    /// deadline (MQTT 5.0 §4.12).
    AwaitAuth { deadline: Instant },
    /// CONNACK sent with Success; `last_received` starts the keep-alive timeout.
    Connected { last_received: Instant },
    /// Ended; the final event is queued.
    Closed,
}

/// What the CONNECT settled for the connection, kept between CONNECT and `accept`.
#[derive(Debug, Clone, Copy, Default)]
struct Negotiated {
    clean_start: bool,
    client_id_empty: bool,
    /// The keep alive in force once accepted (0: none).
    keep_alive: u16,
    /// A Server Keep Alive to announce (5.0).
    server_keep_alive: Option<u16>,
    session_expiry_interval: u32,
}

/// Where a re-authentication (MQTT 5.0 §4.12.1) of an accepted connection stands.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
enum Reauth {
    /// None in progress.
    #[default]
    Idle,
    /// The client's AUTH is reported; the core answers.
    AwaitCore,
    /// AUTH 0x18 sent; the client answers before the deadline (the connect timeout), or
    /// the connection ends with DISCONNECT 0x87.
    AwaitClient,
}

/// The bytes and events in transit: allocated while there are some, so that an idle
/// connection holds neither buffers nor a queue.
#[derive(Debug, Default)]
struct Io {
    read_buf: BytesMut,
    write_buf: BytesMut,
    events: VecDeque<ConnectionEvent>,
}

impl Io {
    fn is_empty(&self) -> bool {
        self.read_buf.is_empty() && self.write_buf.is_empty() && self.events.is_empty()
    }
}

/// What most connections hold only now and then (or, for enhanced authentication, only
/// some connections): allocated when first needed, released when empty again.
#[derive(Debug, Default)]
struct Extra {
    /// Topic Aliases the client set on this connection.
    inbound_aliases: BTreeMap<u16, TopicName>,
    /// Inbound QoS 1/2 publications awaiting the core's PUBACK / PUBCOMP, by packet id.
    inbound: BTreeMap<u16, QoS>,
    /// Outbound QoS 1/2 publications awaiting the client's PUBACK / PUBCOMP, by packet id.
    outbound: BTreeMap<u16, QoS>,
    /// SUBSCRIBEs awaiting `suback`: per filter, the code the connection gave itself, or
    /// `None` where the core decides.
    pending_subscribes: BTreeMap<u16, Vec<Option<ReasonCode>>>,
    /// The same for UNSUBSCRIBEs.
    pending_unsubscribes: BTreeMap<u16, Vec<Option<ReasonCode>>>,
    /// The CONNECT's Authentication Method (5.0 enhanced authentication): every AUTH must
    /// carry the same [MQTT-4.12.0-5].
    auth_method: Option<MqttString>,
    /// When the client's answer to a re-authentication's AUTH 0x18 is due (while
    /// [`Reauth::AwaitClient`]).
    reauth_deadline: Option<Instant>,
}

impl Extra {
    fn is_empty(&self) -> bool {
        self.inbound_aliases.is_empty()
            && self.inbound.is_empty()
            && self.outbound.is_empty()
            && self.pending_subscribes.is_empty()
            && self.pending_unsubscribes.is_empty()
            && self.auth_method.is_none()
    }
}

/// The server side of one MQTT connection. See the [module documentation](self) for the
/// driving loop and the contract with the broker core.
///
/// A broker keeps one per client, so it is kept small: what is idle most of the time (the
/// buffers, the event queue, the windows, aliases and pending requests) is boxed and
/// allocated only while it holds something.
#[derive(Debug)]
pub struct Connection {
    /// Shared by every connection of a broker: one copy, not one per connection.
    config: Arc<ServerConfig>,
    io: Option<Box<Io>>,
    extra: Option<Box<Extra>>,
    state: State,
    negotiated: Negotiated,
    /// The client's Maximum Packet Size (what the server may send); MQTT's own maximum,
    /// 268,435,460 bytes, fits.
    client_max_packet_size: u32,
    /// The client's Receive Maximum (the outbound window).
    client_receive_maximum: u16,
    /// Known from CONNECT; 5.0 before.
    version: ProtocolVersion,
    /// Whether a CONNECT was decoded (and `version` is its level).
    version_known: bool,
    reauth: Reauth,
}

impl Connection {
    /// A connection whose transport was just accepted at `now`; it must send CONNECT within
    /// [`ServerConfig::connect_timeout`]. It keeps a copy of `config`; a server with many
    /// connections shares one with [`Connection::new_shared`].
    pub fn new(now: Instant, config: &ServerConfig) -> Self {
        Connection::new_shared(now, Arc::new(config.clone()))
    }

    /// [`Connection::new`] with a configuration shared by many connections: what a broker
    /// uses, so that a connection costs a pointer rather than a copy of the settings.
    pub fn new_shared(now: Instant, config: Arc<ServerConfig>) -> Self {
        Connection {
            state: State::AwaitConnect {
                deadline: now + config.connect_timeout(),
            },
            io: None,
            extra: None,
            negotiated: Negotiated::default(),
            client_max_packet_size: MAX_PACKET_SIZE_U32,
            client_receive_maximum: u16::MAX,
            version: ProtocolVersion::V5,
            version_known: false,
            reauth: Reauth::Idle,
            config,
        }
    }

    // ----- getters -------------------------------------------------------------------------

    /// Whether the connection is accepted and not over.
    pub fn is_connected(&self) -> bool {
        matches!(self.state, State::Connected { .. })
    }

    /// The protocol level, once CONNECT has arrived.
    pub fn protocol_version(&self) -> Option<ProtocolVersion> {
        self.version_known.then_some(self.version)
    }

    /// The keep alive in force (after a Server Keep Alive or the server's maximum); zero
    /// when there is none. Meaningful once CONNECT has arrived.
    pub fn keep_alive(&self) -> Duration {
        Duration::from_secs(u64::from(self.negotiated.keep_alive))
    }

    /// The client's Maximum Packet Size: the largest packet the server may send it.
    pub fn client_max_packet_size(&self) -> usize {
        // A u32 always fits the usize of the targets tern supports (32 and 64 bits).
        usize::try_from(self.client_max_packet_size).unwrap_or(usize::MAX)
    }

    /// The client's Receive Maximum: the outbound window for QoS 1/2 messages.
    pub fn client_receive_maximum(&self) -> u16 {
        self.client_receive_maximum
    }

    /// Outbound QoS 1/2 messages sent and not yet completed by the client.
    pub fn outbound_inflight(&self) -> usize {
        self.extra.as_ref().map_or(0, |e| e.outbound.len())
    }

    /// Inbound QoS 1/2 messages reported and not yet completed by the core.
    pub fn inbound_inflight(&self) -> usize {
        self.extra.as_ref().map_or(0, |e| e.inbound.len())
    }

    /// Whether a QoS 1/2 message may be sent now: connected, and the client's Receive
    /// Maximum not reached [MQTT-3.3.4-7].
    pub fn can_send_qos12(&self) -> bool {
        self.is_connected() && self.outbound_inflight() < usize::from(self.client_receive_maximum)
    }

    /// Whether the adapter should read from the transport: not while the CONNECT (or an AUTH
    /// of the handshake) awaits the core's answer (what arrives then is only buffered, up to a bound) nor after the end.
    pub fn wants_read(&self) -> bool {
        matches!(
            self.state,
            State::AwaitConnect { .. } | State::AwaitAuth { .. } | State::Connected { .. }
        )
    }

    /// Whether the connection is over: once what [`Connection::poll_transmit`] gives is
    /// written, the transport is to be closed.
    pub fn wants_close(&self) -> bool {
        self.state == State::Closed
    }

    /// Bytes waiting for [`Connection::poll_transmit`].
    pub fn pending_transmit(&self) -> usize {
        self.io.as_ref().map_or(0, |io| io.write_buf.len())
    }

    // ----- inputs --------------------------------------------------------------------------

    /// Bytes read from the transport at `now`.
    pub fn handle_read(&mut self, now: Instant, bytes: &[u8]) {
        match self.state {
            State::Closed => {}
            State::AwaitDecision => {
                // Kept for after `accept` [MQTT-3.1.4-5], but only so much of it.
                let buffered = self.io.as_ref().map_or(0, |io| io.read_buf.len());
                if buffered.saturating_add(bytes.len()) > self.decision_buffer_limit() {
                    self.close(true, CloseReason::InputOverflow);
                } else if !bytes.is_empty() {
                    self.io().read_buf.extend_from_slice(bytes);
                }
            }
            State::AwaitConnect { .. } | State::AwaitAuth { .. } | State::Connected { .. } => {
                if !bytes.is_empty() {
                    self.io().read_buf.extend_from_slice(bytes);
                }
                self.process_input(now);
            }
        }
    }

    /// The deadline from [`Connection::poll_timeout`] has passed.
    pub fn handle_timeout(&mut self, now: Instant) {
        match self.state {
            State::AwaitConnect { deadline } | State::AwaitAuth { deadline } if now >= deadline => {
                // An authentication the client leaves unfinished holds the connection (and
                // the core's exchange) no longer than a CONNECT would have.
                self.close(true, CloseReason::ConnectTimeout);
            }
            State::Connected { .. } => {
                if let Some(deadline) = self.keep_alive_deadline() {
                    if now >= deadline {
                        // 5.0 lets the server say why before it closes [MQTT-3.1.2-22 (5.0)].
                        self.send_disconnect(ReasonCode::KeepAliveTimeout);
                        self.close(true, CloseReason::KeepAliveTimeout);
                        return;
                    }
                }
                if let Some(deadline) = self.reauth_deadline() {
                    if now >= deadline {
                        // A re-authentication left unanswered does not keep the old
                        // credentials in force for good.
                        self.send_disconnect(ReasonCode::NotAuthorized);
                        self.close(true, CloseReason::AuthTimeout);
                    }
                }
            }
            _ => {}
        }
    }

    /// The transport closed (or failed).
    pub fn handle_closed(&mut self, _now: Instant) {
        if self.state != State::Closed {
            self.close(true, CloseReason::TransportClosed);
        }
    }

    // ----- outputs -------------------------------------------------------------------------

    /// Appends the bytes to write to `buf` and returns how many there were.
    ///
    /// The caller owns the buffer it writes from, so a broker serving many connections can
    /// keep one buffer per connection (or per writer): when `buf` is empty it takes the
    /// connection's buffer, which moves the bytes without copying them. Once everything is
    /// handed over, an idle connection keeps no buffer (the caller's spare capacity is not
    /// kept either). Packets are encoded when the command that sends them is called, so
    /// size limits and encoding errors are reported to that call.
    pub fn poll_transmit(&mut self, buf: &mut BytesMut) -> usize {
        let Some(io) = self.io.as_mut() else {
            return 0;
        };
        let n = io.write_buf.len();
        if n == 0 {
            return 0;
        }
        if buf.is_empty() {
            *buf = core::mem::take(&mut io.write_buf);
        } else {
            buf.extend_from_slice(&io.write_buf);
            io.write_buf.clear();
        }
        self.release_io();
        n
    }

    /// The next event for the broker core.
    ///
    /// Once the queue is drained its memory goes too: an idle connection holds none (the
    /// first event of a read allocates room for a few again).
    pub fn poll_event(&mut self) -> Option<ConnectionEvent> {
        let io = self.io.as_mut()?;
        let event = io.events.pop_front();
        if event.is_none() {
            if io.events.capacity() > 0 {
                io.events = VecDeque::new();
            }
            self.release_io();
        }
        event
    }

    /// When [`Connection::handle_timeout`] must be called next: the connect deadline, or the
    /// keep-alive deadline (the last packet received plus the keep alive times
    /// [`ServerConfig::keep_alive_factor_permille`]); `None` while nothing is timed.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Instant> {
        match self.state {
            State::AwaitConnect { deadline } | State::AwaitAuth { deadline } => Some(deadline),
            State::Connected { .. } => match (self.keep_alive_deadline(), self.reauth_deadline()) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            },
            State::AwaitDecision | State::Closed => None,
        }
    }

    // ----- commands: the handshake ---------------------------------------------------------

    /// Accepts the pending CONNECT: writes CONNACK (Success, `session_present`, and in 5.0
    /// the server's properties: Receive Maximum, Maximum QoS, Retain Available, Maximum
    /// Packet Size, Topic Alias Maximum, the availability flags, Server Keep Alive and
    /// `assigned_client_id`), starts the keep-alive timer at `now` and processes what the
    /// client sent after its CONNECT.
    ///
    /// `assigned_client_id` is required when the CONNECT's client identifier was empty (in
    /// 3.1.1 it is not sent, but the core uses it) and ignored otherwise. Session Present is
    /// forced to 0 after a Clean Start [MQTT-3.2.2-2] and for MQTT 3.1, which has no such
    /// flag.
    ///
    /// When the CONNECT carried an Authentication Method (MQTT 5.0 enhanced
    /// authentication), CONNACK carries it back [MQTT-4.12.0-5];
    /// [`Connection::accept_with_auth`] adds the final Authentication Data.
    pub fn accept(
        &mut self,
        now: Instant,
        session_present: bool,
        assigned_client_id: Option<MqttString>,
    ) -> Result<(), CommandError> {
        self.accept_with_auth(now, session_present, assigned_client_id, None)
    }

    /// [`Connection::accept`] at the end of a successful enhanced authentication (MQTT 5.0
    /// §4.12): CONNACK carries the CONNECT's Authentication Method and `auth_data`, the
    /// method's last word to the client, if any.
    ///
    /// Fails with [`CommandError::NoAuthenticationMethod`] for data when the CONNECT had no
    /// Authentication Method, and with [`CommandError::PacketTooLarge`] when the CONNACK
    /// with the data would exceed the client's Maximum Packet Size; nothing is written
    /// then, and the CONNECT still awaits an answer.
    pub fn accept_with_auth(
        &mut self,
        now: Instant,
        session_present: bool,
        assigned_client_id: Option<MqttString>,
        auth_data: Option<Bytes>,
    ) -> Result<(), CommandError> {
        if self.state != State::AwaitDecision {
            return Err(CommandError::InvalidState);
        }
        if auth_data.is_some() && self.auth_method().is_none() {
            return Err(CommandError::NoAuthenticationMethod); // [MQTT-4.12.0-6]
        }
        let assigned = match (self.negotiated.client_id_empty, assigned_client_id) {
            (true, None) => return Err(CommandError::ClientIdRequired),
            (true, Some(id)) if id.is_empty() => return Err(CommandError::ClientIdRequired),
            (true, Some(id)) => Some(id),
            (false, _) => None,
        };
        let session_present = session_present
            && !self.negotiated.clean_start
            && self.version != ProtocolVersion::V3_1;
        let with_data = auth_data.is_some();
        let properties = if self.version.is_v5() {
            self.connack_properties(assigned, auth_data)?
        } else {
            Properties::new()
        };
        let connack = Packet::ConnAck(ConnAck {
            session_present,
            reason_code: ReasonCode::Success,
            properties,
        });
        if with_data {
            // The core's data may not fit the client; it hears of it and may still refuse.
            self.send_command(&connack)?;
        } else {
            self.send_control(&connack);
        }
        self.state = State::Connected { last_received: now };
        self.process_input(now);
        Ok(())
    }

    /// Refuses the pending CONNECT with `reason` (an error code CONNACK may carry) and ends
    /// the connection [MQTT-3.2.2-7 (5.0: -6/-7)]. In 5.0 CONNACK carries `reason`; in 3.1.1
    /// and 3.1 it carries the return code with the nearest meaning (0x84 → 1, 0x85 → 2,
    /// 0x86 and 0x8C → 4, 0x87 and 0x8A → 5, anything else → 3 Server unavailable), except
    /// for 0x81 Malformed Packet and 0x82 Protocol Error, where 3.1.1 closes without one.
    ///
    /// During enhanced authentication this is how the method fails the client
    /// [MQTT-4.12.0-4], also while the connection waits for the client's next AUTH.
    pub fn refuse(&mut self, reason: ReasonCode) -> Result<(), CommandError> {
        if !matches!(self.state, State::AwaitDecision | State::AwaitAuth { .. }) {
            return Err(CommandError::InvalidState);
        }
        if !reason.is_error() || !reason.allowed_in(PacketType::ConnAck) {
            return Err(CommandError::ReasonNotAllowed(reason));
        }
        self.refuse_connect(reason);
        Ok(())
    }

    /// Continues MQTT 5.0 enhanced authentication (§4.12): writes AUTH 0x18 Continue
    /// authentication with the CONNECT's Authentication Method and `data`, and reads the
    /// client's answer, reported as [`ConnectionEvent::Auth`].
    ///
    /// Before the connection is accepted this answers the [`ConnectionEvent::Connect`] (or
    /// the last `Auth`) instead of `accept` or `refuse`; the client then has
    /// [`ServerConfig::connect_timeout`] to answer, or the connection ends with
    /// [`CloseReason::ConnectTimeout`]. Once accepted it answers a re-authentication's
    /// `Auth`; the keep alive goes on meanwhile, and a client that does not answer within
    /// the connect timeout is disconnected with 0x87 Not authorized
    /// ([`CloseReason::AuthTimeout`]).
    ///
    /// Fails with [`CommandError::NoAuthenticationMethod`] when the CONNECT had none (the
    /// server must not send AUTH then [MQTT-4.12.0-6]), [`CommandError::InvalidState`] when
    /// no CONNECT or AUTH awaits an answer, and [`CommandError::PacketTooLarge`] when the
    /// AUTH would exceed the client's Maximum Packet Size.
    pub fn continue_auth(&mut self, now: Instant, data: Bytes) -> Result<(), CommandError> {
        let handshake = match (self.state, self.reauth) {
            (State::AwaitDecision, _) => true,
            (State::Connected { .. }, Reauth::AwaitCore) => false,
            _ => return Err(CommandError::InvalidState),
        };
        let method = self
            .auth_method()
            .cloned()
            .ok_or(CommandError::NoAuthenticationMethod)?;
        self.send_auth(ReasonCode::ContinueAuthentication, method, Some(data))?;
        if handshake {
            self.state = State::AwaitAuth {
                deadline: now + self.config.connect_timeout(),
            };
            // The client may have answered already.
            self.process_input(now);
        } else {
            self.reauth = Reauth::AwaitClient;
            let deadline = now + self.config.connect_timeout();
            self.extra().reauth_deadline = Some(deadline);
        }
        Ok(())
    }

    /// Ends a successful re-authentication (MQTT 5.0 §4.12.1): writes AUTH 0x00 Success with
    /// the Authentication Method and `data`, if any. A failed one ends with
    /// [`Connection::disconnect`] and the method's reason code [MQTT-4.12.1-2].
    ///
    /// Fails with [`CommandError::InvalidState`] unless a re-authentication's
    /// [`ConnectionEvent::Auth`] awaits an answer, and with
    /// [`CommandError::PacketTooLarge`] when the AUTH would exceed the client's Maximum
    /// Packet Size.
    pub fn reauth_success(&mut self, data: Option<Bytes>) -> Result<(), CommandError> {
        if !self.is_connected() || self.reauth != Reauth::AwaitCore {
            return Err(CommandError::InvalidState);
        }
        let method = self
            .auth_method()
            .cloned()
            .ok_or(CommandError::InvalidState)?;
        self.send_auth(ReasonCode::Success, method, data)?;
        self.reauth = Reauth::Idle;
        Ok(())
    }

    /// Ends the connection from the server's side: in 5.0, once accepted, writes DISCONNECT
    /// with `reason` (0x8E Session taken over, 0x8B Server shutting down, 0x98
    /// Administrative action, ...); 3.1.1 and a connection not yet accepted just close
    /// [MQTT-3.14.0-1]. Reports [`ConnectionEvent::Closed`] with
    /// [`CloseReason::ServerDisconnect`]. Does nothing once the connection is over.
    pub fn disconnect(&mut self, reason: ReasonCode) -> Result<(), CommandError> {
        if !reason.allowed_in(PacketType::Disconnect) {
            return Err(CommandError::ReasonNotAllowed(reason));
        }
        match self.state {
            State::Closed => {}
            State::Connected { .. } => {
                self.send_disconnect(reason);
                self.close(true, CloseReason::ServerDisconnect(reason));
            }
            State::AwaitConnect { .. } | State::AwaitDecision | State::AwaitAuth { .. } => {
                self.close(true, CloseReason::ServerDisconnect(reason));
            }
        }
        Ok(())
    }

    // ----- commands: the client's publications ---------------------------------------------

    /// Acknowledges a QoS 1 message from the client with `reason` (5.0; 3.1.1 has only
    /// PUBACK), freeing its place in the inbound window.
    pub fn puback(&mut self, packet_id: PacketId, reason: ReasonCode) -> Result<(), CommandError> {
        self.check_ack_reason(PacketType::PubAck, reason)?;
        self.inbound_done(packet_id);
        let mut ack = PubAck::new(packet_id);
        ack.reason_code = self.ack_code(reason);
        self.send_control(&Packet::PubAck(ack));
        Ok(())
    }

    /// Answers a QoS 2 message from the client with PUBREC. With an error code the exchange
    /// ends here and its place in the inbound window is freed; with a success code it is
    /// freed by [`Connection::pubcomp`].
    pub fn pubrec(&mut self, packet_id: PacketId, reason: ReasonCode) -> Result<(), CommandError> {
        self.check_ack_reason(PacketType::PubRec, reason)?;
        if reason.is_error() {
            self.inbound_done(packet_id);
        }
        let mut rec = PubRec::new(packet_id);
        rec.reason_code = self.ack_code(reason);
        self.send_control(&Packet::PubRec(rec));
        Ok(())
    }

    /// Completes a QoS 2 message the client released ([`ConnectionEvent::PubRel`]) with
    /// `reason` (Success, or 0x92 Packet Identifier not found when the session has no such
    /// message), freeing its place in the inbound window.
    pub fn pubcomp(&mut self, packet_id: PacketId, reason: ReasonCode) -> Result<(), CommandError> {
        self.check_ack_reason(PacketType::PubComp, reason)?;
        self.inbound_done(packet_id);
        let mut comp = PubComp::new(packet_id);
        comp.reason_code = self.ack_code(reason);
        self.send_control(&Packet::PubComp(comp));
        Ok(())
    }

    // ----- commands: subscriptions ---------------------------------------------------------

    /// Answers a [`ConnectionEvent::Subscribe`]: one code per filter of the event, in order
    /// (granted QoS 0x00–0x02 or an error). The connection puts back the codes of the
    /// filters it refused itself. In 3.1.1, errors become 0x80 Failure.
    pub fn suback(
        &mut self,
        packet_id: PacketId,
        codes: Vec<ReasonCode>,
    ) -> Result<(), CommandError> {
        let merged = self.answer_pending(PacketType::SubAck, packet_id, codes)?;
        self.write_suback(packet_id, merged);
        Ok(())
    }

    /// Answers a [`ConnectionEvent::Unsubscribe`]: one code per filter of the event (0x00,
    /// 0x11 No subscription existed, or an error). 3.1.1 UNSUBACK carries no codes.
    pub fn unsuback(
        &mut self,
        packet_id: PacketId,
        codes: Vec<ReasonCode>,
    ) -> Result<(), CommandError> {
        let merged = self.answer_pending(PacketType::UnsubAck, packet_id, codes)?;
        self.write_unsuback(packet_id, merged);
        Ok(())
    }

    /// The codes of a SUBACK (`kind`: [`PacketType::SubAck`]) or UNSUBACK answering the
    /// request `packet_id`: the core's `codes` merged with those the connection gave itself,
    /// once they are checked and the request is no longer pending.
    fn answer_pending(
        &mut self,
        kind: PacketType,
        packet_id: PacketId,
        codes: Vec<ReasonCode>,
    ) -> Result<Vec<ReasonCode>, CommandError> {
        if !self.is_connected() {
            return Err(CommandError::InvalidState);
        }
        if let Some(&bad) = codes.iter().find(|c| !c.allowed_in(kind)) {
            return Err(CommandError::ReasonNotAllowed(bad));
        }
        let pending = self.extra.as_mut().map(|e| {
            if kind == PacketType::SubAck {
                &mut e.pending_subscribes
            } else {
                &mut e.pending_unsubscribes
            }
        });
        let merged = take_pending(pending, packet_id, codes)?;
        self.release_extra();
        Ok(merged)
    }

    // ----- commands: messages to the client ------------------------------------------------

    /// Sends an application message to the client. The core gives the QoS and, for QoS 1/2,
    /// the packet identifier (and DUP on a redelivery). On a 3.1.1 connection the 5.0
    /// properties are left out.
    ///
    /// Refused, writing nothing: before `accept` or after the end
    /// ([`CommandError::InvalidState`]); a QoS 1/2 message while the client's Receive
    /// Maximum is reached ([`CommandError::WindowFull`]) or with a packet identifier in
    /// flight ([`CommandError::PacketIdInUse`]); a message larger than the client's Maximum
    /// Packet Size ([`CommandError::PacketTooLarge`]: the core drops it as if it had been
    /// delivered [MQTT-3.1.2-25]).
    pub fn send_publish(&mut self, mut publish: Publish) -> Result<(), CommandError> {
        if !self.is_connected() {
            return Err(CommandError::InvalidState);
        }
        if (publish.qos == QoS::AtMostOnce) != publish.packet_id.is_none() {
            return Err(CommandError::PacketIdMismatch);
        }
        if !self.version.is_v5() {
            publish.properties = Properties::new();
        } else if publish.properties.contains(PropertyId::TopicAlias) {
            return Err(CommandError::TopicAliasNotAllowed);
        }
        if let Some(id) = publish.packet_id {
            if self.outbound_qos(id).is_some() {
                return Err(CommandError::PacketIdInUse);
            }
            if !self.can_send_qos12() {
                return Err(CommandError::WindowFull);
            }
        }
        let qos = publish.qos;
        let id = publish.packet_id;
        self.send_command(&Packet::Publish(publish))?;
        if let Some(id) = id {
            self.extra().outbound.insert(id.get(), qos);
        }
        Ok(())
    }

    /// Releases a QoS 2 message the client acknowledged with PUBREC (also a PUBREL resent
    /// after a reconnection).
    pub fn send_pubrel(&mut self, packet_id: PacketId) -> Result<(), CommandError> {
        if !self.is_connected() {
            return Err(CommandError::InvalidState);
        }
        self.send_control(&Packet::PubRel(PubRel::new(packet_id)));
        Ok(())
    }

    // ----- internals: input ----------------------------------------------------------------

    /// How much a client may send while its CONNECT awaits the core: two of its largest
    /// packets, and at least 64 KiB so that ordinary pipelining never trips it.
    fn decision_buffer_limit(&self) -> usize {
        let max = usize::try_from(self.config.limits().max_packet_size()).unwrap_or(usize::MAX);
        max.saturating_mul(2).max(64 * 1024)
    }

    /// Decodes and handles whole packets while the state allows.
    fn process_input(&mut self, now: Instant) {
        while matches!(
            self.state,
            State::AwaitConnect { .. } | State::AwaitAuth { .. } | State::Connected { .. }
        ) {
            let codec = self.codec();
            let Some(io) = self.io.as_mut() else {
                return;
            };
            match codec.decode(&mut io.read_buf) {
                Ok(Decoded::Packet(packet)) => {
                    if let State::Connected { last_received } = &mut self.state {
                        *last_received = now;
                    }
                    self.handle_packet(packet);
                }
                Ok(Decoded::Incomplete { .. }) => {
                    // Decoded packets share the read buffer's allocation, and an emptied
                    // buffer would keep all of it alive (its largest packet included) for as
                    // long as the connection idles: let it go with the last packet instead.
                    if io.read_buf.is_empty() {
                        io.read_buf = BytesMut::new();
                    }
                    self.release_io();
                    return;
                }
                Err(e) => {
                    self.decode_failed(e);
                    return;
                }
            }
        }
    }

    fn decode_failed(&mut self, e: DecodeError) {
        match self.state {
            State::AwaitConnect { .. } => {
                match e {
                    // [MQTT-3.1.2-2]: the level is unknown, so the answer uses the 3.1.1
                    // form, which every level reads as "unacceptable protocol version".
                    DecodeError::UnsupportedProtocolLevel(_) => {
                        self.version = ProtocolVersion::V3_1_1;
                        self.write_connack_refusal(ReasonCode::UnsupportedProtocolVersion);
                    }
                    _ if self
                        .io
                        .as_ref()
                        .and_then(|io| handshake::sniff_connect_level(&io.read_buf))
                        == Some(5) =>
                    {
                        // 5.0 lets a server answer a bad CONNECT with CONNACK (§4.13.1).
                        self.write_connack_refusal(connack_code(e.reason_code()));
                    }
                    _ => {}
                }
                self.close(true, CloseReason::InvalidPacket(e));
            }
            State::AwaitAuth { .. } => {
                // Not yet accepted: the answer is a CONNACK (§4.13.1), as for the CONNECT.
                self.write_connack_refusal(connack_code(e.reason_code()));
                self.close(true, CloseReason::InvalidPacket(e));
            }
            _ => {
                self.send_disconnect(e.reason_code());
                self.close(true, CloseReason::InvalidPacket(e));
            }
        }
    }

    fn handle_packet(&mut self, packet: Packet) {
        if let State::AwaitConnect { .. } = self.state {
            // The server codec refuses anything but CONNECT first [MQTT-3.1.0-1].
            if let Packet::Connect(connect) = packet {
                self.handle_connect(connect);
            }
            return;
        }
        if let State::AwaitAuth { .. } = self.state {
            return match packet {
                Packet::Auth(auth) => self.handle_auth(auth),
                Packet::Disconnect(d) => self.handle_disconnect(d),
                // Nothing else until CONNACK [MQTT-3.1.2-30].
                _ => self.violation(ReasonCode::ProtocolError),
            };
        }
        match packet {
            Packet::Publish(p) => self.handle_publish(p),
            Packet::PubAck(a) => {
                self.outbound_done(a.packet_id, QoS::AtLeastOnce);
                self.push_event(ConnectionEvent::PubAck(a));
            }
            Packet::PubRec(r) => {
                if r.reason_code.is_error() {
                    self.outbound_done(r.packet_id, QoS::ExactlyOnce);
                }
                self.push_event(ConnectionEvent::PubRec(r));
            }
            Packet::PubComp(c) => {
                self.outbound_done(c.packet_id, QoS::ExactlyOnce);
                self.push_event(ConnectionEvent::PubComp(c));
            }
            Packet::PubRel(r) => self.push_event(ConnectionEvent::PubRel(r)),
            Packet::Subscribe(s) => self.handle_subscribe(s),
            Packet::Unsubscribe(u) => self.handle_unsubscribe(u),
            Packet::PingReq => self.send_control(&Packet::PingResp),
            Packet::Disconnect(d) => self.handle_disconnect(d),
            Packet::Auth(auth) => self.handle_auth(auth),
            // A second CONNECT [MQTT-3.1.0-2]; packets only a server sends.
            Packet::Connect(_)
            | Packet::ConnAck(_)
            | Packet::SubAck(_)
            | Packet::UnsubAck(_)
            | Packet::PingResp => self.violation(ReasonCode::ProtocolError),
        }
    }

    /// A client's AUTH: the next step of the handshake's authentication, or (once accepted)
    /// a re-authentication's first or next step (MQTT 5.0 §4.12).
    fn handle_auth(&mut self, auth: Auth) {
        let Some(expected) = self.auth_method() else {
            // A client whose CONNECT had no Authentication Method [MQTT-4.12.0-7].
            return self.violation(ReasonCode::ProtocolError);
        };
        let Some(method) = auth.properties.authentication_method() else {
            return self.violation(ReasonCode::ProtocolError); // MQTT 5.0 §3.15.2.2.2
        };
        if method != *expected {
            return self.violation(ReasonCode::ProtocolError); // [MQTT-4.12.0-5]
        }
        let step = match (self.state, self.reauth) {
            // Answers to the server's AUTH 0x18 [MQTT-4.12.0-3].
            (State::AwaitAuth { .. }, _) | (State::Connected { .. }, Reauth::AwaitClient) => {
                ReasonCode::ContinueAuthentication
            }
            // Only once accepted, and one at a time [MQTT-4.12.1-1].
            (State::Connected { .. }, Reauth::Idle) => ReasonCode::ReAuthenticate,
            _ => return self.violation(ReasonCode::ProtocolError),
        };
        if auth.reason_code != step {
            return self.violation(ReasonCode::ProtocolError);
        }
        if self.is_connected() {
            // Other packets flow on meanwhile (MQTT 5.0 §4.12.1).
            self.reauth = Reauth::AwaitCore;
        } else {
            self.state = State::AwaitDecision;
        }
        self.push_event(ConnectionEvent::Auth {
            reason_code: auth.reason_code,
            method,
            data: auth.properties.authentication_data(),
        });
    }

    fn handle_publish(&mut self, mut p: Publish) {
        let v5 = self.version.is_v5();
        if p.qos > self.config.maximum_qos() {
            return self.violation(ReasonCode::QoSNotSupported); // MQTT 5.0 §3.2.2.3.4
        }
        if p.retain && !self.config.retain_available() {
            return self.violation(ReasonCode::RetainNotSupported); // MQTT 5.0 §3.2.2.3.5
        }
        if v5 && p.properties.contains(PropertyId::SubscriptionIdentifier) {
            return self.violation(ReasonCode::ProtocolError); // [MQTT-3.3.4-6]
        }
        let mut new_alias = None;
        if let Some(alias) = p.properties.topic_alias() {
            if alias == 0 || alias > self.config.limits().topic_alias_maximum() {
                return self.violation(ReasonCode::TopicAliasInvalid); // [MQTT-3.3.2-8/-9]
            }
            if p.topic.is_empty() {
                let known = self
                    .extra
                    .as_ref()
                    .and_then(|e| e.inbound_aliases.get(&alias));
                match known {
                    Some(topic) => p.topic = topic.clone(),
                    None => return self.violation(ReasonCode::ProtocolError),
                }
            } else {
                new_alias = Some(alias);
            }
            p.properties = without_topic_alias(&p.properties);
        }
        if !self.topic_within_limits(p.topic.as_bytes()) {
            match (v5, p.packet_id) {
                // Well-formed but not accepted: 5.0 can say so for this message alone.
                (true, Some(id)) if p.qos == QoS::AtLeastOnce => {
                    let mut ack = PubAck::new(id);
                    ack.reason_code = ReasonCode::TopicNameInvalid;
                    self.send_control(&Packet::PubAck(ack));
                }
                (true, Some(id)) => {
                    let mut rec = PubRec::new(id);
                    rec.reason_code = ReasonCode::TopicNameInvalid;
                    self.send_control(&Packet::PubRec(rec));
                }
                _ => self.violation(ReasonCode::TopicNameInvalid),
            }
            return;
        }
        if let Some(id) = p.packet_id {
            // A packet identifier already in the window is the same message again.
            let known = self
                .extra
                .as_ref()
                .is_some_and(|e| e.inbound.contains_key(&id.get()));
            if !known {
                let max = usize::from(self.config.limits().receive_maximum().max(1));
                if self.inbound_inflight() >= max {
                    return self.violation(ReasonCode::ReceiveMaximumExceeded); // [MQTT-3.3.4-9]
                }
                self.extra().inbound.insert(id.get(), p.qos);
            }
        }
        if let Some(alias) = new_alias {
            self.extra().inbound_aliases.insert(alias, p.topic.clone());
        }
        self.push_event(ConnectionEvent::Publish(p));
    }

    fn handle_subscribe(&mut self, mut s: Subscribe) {
        let v5 = self.version.is_v5();
        let id = s.packet_id;
        let in_use = self
            .extra
            .as_ref()
            .is_some_and(|e| e.pending_subscribes.contains_key(&id.get()));
        if in_use {
            let code = if v5 {
                ReasonCode::PacketIdentifierInUse
            } else {
                ReasonCode::UnspecifiedError
            };
            let codes = s.subscriptions.iter().map(|_| code).collect();
            return self.write_suback(id, codes);
        }
        if v5
            && !self.config.subscription_identifiers_available()
            && s.properties.contains(PropertyId::SubscriptionIdentifier)
        {
            return self.violation(ReasonCode::SubscriptionIdentifiersNotSupported);
        }
        let mut verdicts = Vec::with_capacity(s.subscriptions.len());
        for sub in &s.subscriptions {
            let unavailable = if sub.filter.shared().is_some()
                && !self.config.shared_subscription_available()
            {
                Some(ReasonCode::SharedSubscriptionsNotSupported) // MQTT 5.0 §3.2.2.3.13
            } else if sub.filter.has_wildcards() && !self.config.wildcard_subscription_available() {
                Some(ReasonCode::WildcardSubscriptionsNotSupported) // MQTT 5.0 §3.2.2.3.11
            } else {
                None
            };
            let verdict = match unavailable {
                // The server announced it does not offer this: a 5.0 client broke the rule.
                Some(code) if v5 => return self.violation(code),
                Some(_) => Some(ReasonCode::UnspecifiedError),
                None if !self.filter_within_limits(
                    sub.filter.match_filter().as_bytes(),
                    sub.filter.len(),
                ) =>
                {
                    Some(if v5 {
                        ReasonCode::TopicFilterInvalid
                    } else {
                        ReasonCode::UnspecifiedError
                    })
                }
                None => None,
            };
            verdicts.push(verdict);
        }
        if verdicts.iter().all(Option::is_some) {
            let codes = verdicts.into_iter().flatten().collect();
            return self.write_suback(id, codes);
        }
        let mut keep = verdicts.iter().map(Option::is_none);
        s.subscriptions.retain(|_| keep.next().unwrap_or(false));
        self.extra().pending_subscribes.insert(id.get(), verdicts);
        self.push_event(ConnectionEvent::Subscribe(s));
    }

    fn handle_unsubscribe(&mut self, mut u: Unsubscribe) {
        let id = u.packet_id;
        let in_use = self
            .extra
            .as_ref()
            .is_some_and(|e| e.pending_unsubscribes.contains_key(&id.get()));
        if in_use {
            let codes = u
                .filters
                .iter()
                .map(|_| ReasonCode::PacketIdentifierInUse)
                .collect();
            return self.write_unsuback(id, codes);
        }
        let verdicts: Vec<Option<ReasonCode>> = u
            .filters
            .iter()
            .map(|f| {
                (!self.filter_within_limits(f.match_filter().as_bytes(), f.len()))
                    .then_some(ReasonCode::TopicFilterInvalid)
            })
            .collect();
        if verdicts.iter().all(Option::is_some) {
            let codes = verdicts.into_iter().flatten().collect();
            return self.write_unsuback(id, codes);
        }
        let mut keep = verdicts.iter().map(Option::is_none);
        u.filters.retain(|_| keep.next().unwrap_or(false));
        self.extra().pending_unsubscribes.insert(id.get(), verdicts);
        self.push_event(ConnectionEvent::Unsubscribe(u));
    }

    fn handle_disconnect(&mut self, d: Disconnect) {
        let v5 = self.version.is_v5();
        let session_expiry_interval = if v5 {
            d.properties.session_expiry_interval()
        } else {
            None
        };
        if session_expiry_interval.is_some_and(|s| s != 0)
            && self.negotiated.session_expiry_interval == 0
        {
            return self.violation(ReasonCode::ProtocolError); // [MQTT-3.14.2-2]
        }
        let will = if v5 && d.reason_code != ReasonCode::Success {
            WillAction::Publish
        } else {
            WillAction::Discard // [MQTT-3.14.4-3], 3.1.1 [MQTT-3.1.2-10]
        };
        self.finish(ConnectionEvent::Disconnected {
            reason_code: d.reason_code,
            will,
            session_expiry_interval,
            properties: d.properties,
        });
    }

    // ----- internals: limits ---------------------------------------------------------------

    fn topic_within_limits(&self, topic: &[u8]) -> bool {
        self.filter_within_limits(topic, topic.len())
    }

    /// Whether a topic of `full_len` bytes, whose levels are those of `levels_of`, is within
    /// the limits.
    fn filter_within_limits(&self, levels_of: &[u8], full_len: usize) -> bool {
        let limits = self.config.limits();
        full_len <= limits.max_topic_len()
            && levels_of.iter().filter(|&&b| b == b'/').count() < limits.max_topic_levels()
    }

    fn keep_alive_deadline(&self) -> Option<Instant> {
        if self.negotiated.keep_alive == 0 {
            return None;
        }
        // Below 1 × the timer would fire before a punctual client's packet.
        let State::Connected { last_received } = self.state else {
            return None;
        };
        let factor = self.config.keep_alive_factor_permille().max(1_000);
        let timeout =
            Duration::from_millis(u64::from(self.negotiated.keep_alive) * u64::from(factor));
        Some(last_received + timeout)
    }

    // ----- internals: output ---------------------------------------------------------------

    fn write_suback(&mut self, packet_id: PacketId, mut codes: Vec<ReasonCode>) {
        if !self.version.is_v5() {
            for c in &mut codes {
                if !c.is_v3_suback() {
                    *c = ReasonCode::UnspecifiedError;
                }
            }
        }
        self.send_control(&Packet::SubAck(SubAck {
            packet_id,
            properties: Properties::new(),
            reason_codes: codes,
        }));
    }

    fn write_unsuback(&mut self, packet_id: PacketId, codes: Vec<ReasonCode>) {
        let reason_codes = if self.version.is_v5() {
            codes
        } else {
            Vec::new()
        };
        self.send_control(&Packet::UnsubAck(UnsubAck {
            packet_id,
            properties: Properties::new(),
            reason_codes,
        }));
    }

    fn check_ack_reason(&self, packet: PacketType, reason: ReasonCode) -> Result<(), CommandError> {
        if !self.is_connected() {
            return Err(CommandError::InvalidState);
        }
        if !reason.allowed_in(packet) {
            return Err(CommandError::ReasonNotAllowed(reason));
        }
        Ok(())
    }

    /// 3.1.1 acknowledgements carry no reason code.
    fn ack_code(&self, reason: ReasonCode) -> ReasonCode {
        if self.version.is_v5() {
            reason
        } else {
            ReasonCode::Success
        }
    }

    /// Writes a packet the connection generates itself. Its own packets are valid by
    /// construction; one larger than the client's Maximum Packet Size (a long SUBACK to a
    /// client with a tiny maximum) is not sent, as the server must not send it
    /// [MQTT-3.1.2-24 (5.0)].
    fn send_control(&mut self, packet: &Packet) {
        let _ = self.encode(packet);
    }

    /// Writes a packet a command asked for, reporting what keeps it from being sent.
    fn send_command(&mut self, packet: &Packet) -> Result<(), CommandError> {
        match self.encode(packet) {
            Ok(()) => Ok(()),
            Err(tern_mqtt::EncodeError::PacketTooLarge { .. }) => Err(CommandError::PacketTooLarge),
            Err(e) => Err(CommandError::Encode(e)),
        }
    }

    fn send_auth(
        &mut self,
        reason_code: ReasonCode,
        method: MqttString,
        data: Option<Bytes>,
    ) -> Result<(), CommandError> {
        let mut properties = Properties::builder().push(Property::AuthenticationMethod(method));
        if let Some(data) = data {
            properties = properties.push(Property::AuthenticationData(data));
        }
        let properties = properties.build().map_err(CommandError::Encode)?;
        self.send_command(&Packet::Auth(Auth {
            reason_code,
            properties,
        }))
    }

    /// A 5.0 DISCONNECT with `reason`, once CONNACK has been sent [MQTT-3.14.0-1]; nothing in
    /// 3.1.1, where only the client sends DISCONNECT.
    fn send_disconnect(&mut self, reason: ReasonCode) {
        if self.version.is_v5() && self.is_connected() {
            let reason = if reason.allowed_in(PacketType::Disconnect) {
                reason
            } else {
                ReasonCode::ProtocolError
            };
            self.send_control(&Packet::Disconnect(Disconnect::with_reason(reason)));
        }
    }

    /// The client broke a rule with a well-formed packet: DISCONNECT with `reason` in 5.0
    /// (CONNACK while authenticating, before the connection is accepted), then close.
    fn violation(&mut self, reason: ReasonCode) {
        if let State::AwaitAuth { .. } = self.state {
            self.write_connack_refusal(connack_code(reason));
        }
        self.send_disconnect(reason);
        self.close(true, CloseReason::ProtocolViolation(reason));
    }

    fn close(&mut self, abnormal: bool, reason: CloseReason) {
        self.finish(ConnectionEvent::Closed { abnormal, reason });
    }

    /// Ends the connection with its final event and forgets the per-connection state.
    fn finish(&mut self, event: ConnectionEvent) {
        self.state = State::Closed;
        self.io().read_buf = BytesMut::new();
        self.extra = None;
        self.reauth = Reauth::Idle;
        self.push_event(event);
    }

    // ----- internals: the parts allocated when needed --------------------------------------

    /// The decoder: a server's, which takes only CONNECT, until CONNECT has set the level.
    fn codec(&self) -> Codec {
        let max_in =
            usize::try_from(self.config.limits().max_packet_size().max(1)).unwrap_or(usize::MAX);
        let mut codec = Codec::server().with_max_incoming(max_in);
        if self.version_known {
            codec.set_version(self.version);
        }
        codec
    }

    /// Encodes `packet` for the client into the write buffer; nothing is written on error.
    fn encode(&mut self, packet: &Packet) -> Result<(), tern_mqtt::EncodeError> {
        let (version, max) = (self.version, self.client_max_packet_size());
        let encoded = packet.encode(version, max, &mut self.io().write_buf);
        if encoded.is_err() {
            self.release_io();
        }
        encoded
    }

    fn io(&mut self) -> &mut Io {
        self.io.get_or_insert_with(Box::default)
    }

    /// Lets the buffers and the event queue go once all are empty.
    fn release_io(&mut self) {
        if self.io.as_deref().is_some_and(Io::is_empty) {
            self.io = None;
        }
    }

    fn push_event(&mut self, event: ConnectionEvent) {
        self.io().events.push_back(event);
    }

    fn extra(&mut self) -> &mut Extra {
        self.extra.get_or_insert_with(Box::default)
    }

    /// Lets the windows, aliases and pending requests go once all are empty.
    fn release_extra(&mut self) {
        if self.extra.as_deref().is_some_and(Extra::is_empty) {
            self.extra = None;
        }
    }

    /// When a re-authentication the client is to answer times out.
    fn reauth_deadline(&self) -> Option<Instant> {
        if self.reauth != Reauth::AwaitClient {
            return None;
        }
        self.extra.as_ref()?.reauth_deadline
    }

    fn auth_method(&self) -> Option<&MqttString> {
        self.extra.as_ref()?.auth_method.as_ref()
    }

    fn outbound_qos(&self, packet_id: PacketId) -> Option<QoS> {
        let extra = self.extra.as_ref()?;
        extra.outbound.get(&packet_id.get()).copied()
    }

    /// The client completed the outbound message `packet_id`, if it was sent at `qos`.
    fn outbound_done(&mut self, packet_id: PacketId, qos: QoS) {
        if self.outbound_qos(packet_id) == Some(qos) {
            if let Some(extra) = self.extra.as_mut() {
                extra.outbound.remove(&packet_id.get());
            }
            self.release_extra();
        }
    }

    /// The core completed the inbound message `packet_id`: its place in the window is free.
    fn inbound_done(&mut self, packet_id: PacketId) {
        if let Some(extra) = self.extra.as_mut() {
            extra.inbound.remove(&packet_id.get());
        }
        self.release_extra();
    }
}

/// `code` if CONNACK may carry it, otherwise 0x80 Unspecified error.
fn connack_code(code: ReasonCode) -> ReasonCode {
    if code.allowed_in(PacketType::ConnAck) {
        code
    } else {
        ReasonCode::UnspecifiedError
    }
}

/// Merges the core's codes into the pending request's own verdicts.
fn take_pending(
    pending: Option<&mut BTreeMap<u16, Vec<Option<ReasonCode>>>>,
    packet_id: PacketId,
    codes: Vec<ReasonCode>,
) -> Result<Vec<ReasonCode>, CommandError> {
    let pending = pending.ok_or(CommandError::UnknownRequest)?;
    let verdicts = pending
        .get(&packet_id.get())
        .ok_or(CommandError::UnknownRequest)?;
    if verdicts.iter().filter(|v| v.is_none()).count() != codes.len() {
        return Err(CommandError::UnknownRequest);
    }
    let verdicts = pending
        .remove(&packet_id.get())
        .ok_or(CommandError::UnknownRequest)?;
    let mut codes = codes.into_iter();
    Ok(verdicts
        .into_iter()
        .map(|v| {
            v.or_else(|| codes.next())
                .unwrap_or(ReasonCode::UnspecifiedError)
        })
        .collect())
}

/// The properties without the Topic Alias (which names a topic on this connection only).
fn without_topic_alias(props: &Properties) -> Properties {
    Properties::from_properties(props.iter().filter(|p| p.id() != PropertyId::TopicAlias))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use tern_mqtt::{Connect, TopicName};

    use super::*;

    #[test]
    fn a_large_packet_does_not_leave_its_buffer_behind_an_idle_connection() {
        let mut conn = Connection::new(Instant::ZERO, &ServerConfig::new());
        let mut wire = BytesMut::new();
        let connect = Connect::new(ProtocolVersion::V3_1_1, MqttString::new("c").unwrap());
        let publish = Publish::new(TopicName::new("a").unwrap(), alloc::vec![1u8; 200_000]);
        for p in [Packet::from(connect), Packet::Publish(publish)] {
            p.encode(
                ProtocolVersion::V3_1_1,
                tern_mqtt::packet::MAX_PACKET_SIZE,
                &mut wire,
            )
            .unwrap();
        }
        conn.handle_read(Instant::ZERO, &wire[..20]);
        conn.accept(Instant::ZERO, false, None).unwrap();
        // The PUBLISH arrives in two reads, so that the connection buffers it whole.
        conn.handle_read(Instant::ZERO, &wire[20..1000]);
        conn.handle_read(Instant::ZERO, &wire[1000..]);
        let payload = core::iter::from_fn(|| conn.poll_event()).find_map(|e| match e {
            ConnectionEvent::Publish(p) => Some(p.payload),
            _ => None,
        });
        // The topic went with the rest of the event; only the read buffer could still share
        // the payload's allocation.
        let payload = payload.unwrap();
        assert_eq!(payload.len(), 200_000);
        assert!(
            payload.is_unique(),
            "the idle connection still holds the packet's memory"
        );
    }
}
