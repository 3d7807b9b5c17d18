//! What a [`Connection`](super::Connection) reports, and why a command can fail.

use alloc::boxed::Box;
use core::fmt;

use bytes::Bytes;
use tern_mqtt::{
    Connect, DecodeError, EncodeError, MqttString, Properties, PubAck, PubComp, PubRec, PubRel,
    Publish, ReasonCode, Subscribe, Unsubscribe,
};

/// What the broker core learns from one connection, from
/// [`Connection::poll_event`](super::Connection::poll_event).
///
/// Every connection ends with exactly one [`ConnectionEvent::Disconnected`] or
/// [`ConnectionEvent::Closed`]; nothing follows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConnectionEvent {
    /// A valid CONNECT that the connection's own checks accepted (protocol level, client
    /// identifier, keep alive, will QoS and retain, topic limits). The core authenticates,
    /// handles a takeover and the session, and answers with
    /// [`accept`](super::Connection::accept) or [`refuse`](super::Connection::refuse).
    /// Nothing the client sent after it is processed until then [MQTT-3.1.4-5].
    Connect(Box<Connect>),
    /// An application message from the client. A Topic Alias is resolved (the topic is the
    /// full name and the Topic Alias property is removed). A QoS 1/2 message occupies the
    /// inbound window until the core answers it with [`puback`](super::Connection::puback),
    /// or with [`pubrec`](super::Connection::pubrec) and later
    /// [`pubcomp`](super::Connection::pubcomp). A QoS 2 message the client sends again
    /// (DUP, or after a reconnection) is reported again: exactly-once is the session's job.
    Publish(Publish),
    /// The client acknowledged a QoS 1 message sent with
    /// [`send_publish`](super::Connection::send_publish).
    PubAck(PubAck),
    /// The client received a QoS 2 message; unless the code is an error, the core answers
    /// with [`send_pubrel`](super::Connection::send_pubrel).
    PubRec(PubRec),
    /// The client completed a QoS 2 message.
    PubComp(PubComp),
    /// The client released a QoS 2 message it published; the core answers with
    /// [`pubcomp`](super::Connection::pubcomp).
    PubRel(PubRel),
    /// A SUBSCRIBE, validated. Filters the connection refused itself (over the topic
    /// limits; in 3.1.1 also wildcards or shared subscriptions the server does not offer)
    /// are removed; the core answers the rest, in order, with
    /// [`suback`](super::Connection::suback). When every filter was refused the connection
    /// answered itself and there is no event.
    Subscribe(Subscribe),
    /// An UNSUBSCRIBE, validated like [`ConnectionEvent::Subscribe`]; answered with
    /// [`unsuback`](super::Connection::unsuback).
    Unsubscribe(Unsubscribe),
    /// A client's AUTH in MQTT 5.0 enhanced authentication (§4.12), carrying the CONNECT's
    /// Authentication Method (the connection checked that [MQTT-4.12.0-5]):
    ///
    /// - 0x18 Continue authentication, the client's answer to the server's AUTH 0x18
    ///   ([`continue_auth`](super::Connection::continue_auth)). Before the connection is
    ///   accepted, the core answers as to a [`ConnectionEvent::Connect`]: `continue_auth`
    ///   again, [`accept_with_auth`](super::Connection::accept_with_auth) or
    ///   [`refuse`](super::Connection::refuse); nothing else the client sent is processed
    ///   meanwhile. Once accepted, it answers as below.
    /// - 0x19 Re-authenticate, once the connection is accepted [MQTT-4.12.1-1]. The core
    ///   answers with `continue_auth`,
    ///   [`reauth_success`](super::Connection::reauth_success) or, on failure,
    ///   [`disconnect`](super::Connection::disconnect) with the reason code
    ///   [MQTT-4.12.1-2]. The connection's other packets go on meanwhile.
    Auth {
        /// 0x18 Continue authentication or 0x19 Re-authenticate.
        reason_code: ReasonCode,
        /// The Authentication Method (the CONNECT's).
        method: MqttString,
        /// The Authentication Data, if the client sent any.
        data: Option<Bytes>,
    },
    /// The client ended the connection with DISCONNECT. The transport is to be closed.
    Disconnected {
        /// The client's reason code (3.1.1: always Success).
        reason_code: ReasonCode,
        /// What becomes of the will: published for any reason code but 0x00, 0x04
        /// Disconnect with Will Message included [MQTT-3.14.4-3]; 3.1.1 always discards it.
        will: WillAction,
        /// A new Session Expiry Interval the client set in DISCONNECT (5.0).
        session_expiry_interval: Option<u32>,
        /// The DISCONNECT properties (Reason String, User Properties), for logs.
        properties: Properties,
    },
    /// The connection ended any other way. What was to be written (a CONNACK refusal, a 5.0
    /// DISCONNECT with the reason code) is in the transmit buffer; then the transport is to
    /// be closed.
    Closed {
        /// Whether the will of an accepted connection is to be published: true for every
        /// end but a refusal (a refused connection never had a session or a will).
        abnormal: bool,
        /// Why.
        reason: CloseReason,
    },
}

/// What happens to the Will Message after the client's DISCONNECT.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WillAction {
    /// Publish it (after its Will Delay Interval).
    Publish,
    /// Delete it without publishing.
    Discard,
}

/// Why a connection ended without the client's DISCONNECT.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum CloseReason {
    /// The transport closed ([`handle_closed`](super::Connection::handle_closed)).
    TransportClosed,
    /// No CONNECT arrived within the connect timeout, or (in enhanced authentication) no
    /// answer to the server's AUTH.
    ConnectTimeout,
    /// Nothing arrived within the keep-alive timeout [MQTT-3.1.2-24]; in 5.0 DISCONNECT
    /// 0x8D was written.
    KeepAliveTimeout,
    /// The client's bytes broke a rule the decoder checks; in 5.0 the reason code was sent
    /// (CONNACK before the connection was accepted, DISCONNECT after).
    InvalidPacket(DecodeError),
    /// The client broke a rule with a well-formed packet (an unknown Topic Alias, QoS above
    /// the maximum, the receive window exceeded, ...); in 5.0 DISCONNECT with this code was
    /// written.
    ProtocolViolation(ReasonCode),
    /// The CONNECT was refused with this code, by the connection's own checks or by
    /// [`refuse`](super::Connection::refuse).
    Refused(ReasonCode),
    /// The core called [`disconnect`](super::Connection::disconnect) with this code.
    ServerDisconnect(ReasonCode),
    /// The client sent more than the connection holds while its CONNECT awaited the core's
    /// answer.
    InputOverflow,
    /// A re-authentication (MQTT 5.0 §4.12.1) the client did not answer within the connect
    /// timeout; DISCONNECT 0x87 Not authorized was written.
    AuthTimeout,
}

impl CloseReason {
    /// The reason code that describes the end (the one sent, in 5.0), if there is one.
    pub const fn reason_code(&self) -> Option<ReasonCode> {
        match self {
            CloseReason::TransportClosed | CloseReason::ConnectTimeout => None,
            CloseReason::KeepAliveTimeout => Some(ReasonCode::KeepAliveTimeout),
            CloseReason::InvalidPacket(e) => Some(e.reason_code()),
            CloseReason::ProtocolViolation(c)
            | CloseReason::Refused(c)
            | CloseReason::ServerDisconnect(c) => Some(*c),
            CloseReason::InputOverflow => Some(ReasonCode::QuotaExceeded),
            CloseReason::AuthTimeout => Some(ReasonCode::NotAuthorized),
        }
    }
}

/// A command the connection cannot carry out: the core's mistake, or (for
/// [`send_publish`](super::Connection::send_publish)) a limit of the client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum CommandError {
    /// The connection is not in the state the command needs (e.g. `accept` without a
    /// pending CONNECT, `send_publish` before `accept` or after the end).
    InvalidState,
    /// The message is larger than the client's Maximum Packet Size: the server must not
    /// send it [MQTT-3.1.2-25]. Nothing was written; the core treats it as delivered.
    PacketTooLarge,
    /// The client's Receive Maximum is reached: no QoS 1/2 message may be sent until an
    /// acknowledgement frees a place [MQTT-3.3.4-7].
    WindowFull,
    /// A QoS 1/2 message reuses the packet identifier of one still in flight.
    PacketIdInUse,
    /// A QoS 1/2 message without a packet identifier, or a QoS 0 one with one.
    PacketIdMismatch,
    /// The core set a Topic Alias; this connection does not send aliases.
    TopicAliasNotAllowed,
    /// The reason code may not be used in this packet (or is not an error where one is
    /// needed).
    ReasonNotAllowed(ReasonCode),
    /// `suback` / `unsuback` for a packet identifier with no pending request, or with the
    /// wrong number of codes.
    UnknownRequest,
    /// `accept` without an assigned client identifier for a CONNECT with an empty one.
    ClientIdRequired,
    /// Enhanced authentication (AUTH, or Authentication Data in CONNACK) for a client whose
    /// CONNECT had no Authentication Method [MQTT-4.12.0-6].
    NoAuthenticationMethod,
    /// The packet could not be encoded.
    Encode(EncodeError),
}

impl fmt::Display for CommandError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CommandError::InvalidState => f.write_str("the connection is not in a state for this"),
            CommandError::PacketTooLarge => {
                f.write_str("larger than the client's Maximum Packet Size [MQTT-3.1.2-25]")
            }
            CommandError::WindowFull => {
                f.write_str("the client's Receive Maximum is reached [MQTT-3.3.4-7]")
            }
            CommandError::PacketIdInUse => f.write_str("the packet identifier is in flight"),
            CommandError::PacketIdMismatch => {
                f.write_str("a packet identifier is needed exactly for QoS 1 and 2")
            }
            CommandError::TopicAliasNotAllowed => {
                f.write_str("this connection does not send Topic Aliases")
            }
            CommandError::ReasonNotAllowed(c) => write!(f, "reason code {c} is not allowed here"),
            CommandError::UnknownRequest => {
                f.write_str("no such pending request, or the wrong number of codes")
            }
            CommandError::ClientIdRequired => {
                f.write_str("the CONNECT had an empty client identifier: assign one")
            }
            CommandError::NoAuthenticationMethod => {
                f.write_str("the CONNECT had no Authentication Method [MQTT-4.12.0-6]")
            }
            CommandError::Encode(e) => fmt::Display::fmt(e, f),
        }
    }
}

#[cfg(feature = "std")]
impl std::error::Error for CommandError {}
