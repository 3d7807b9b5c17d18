use std::fmt;
use std::io;

use tern_mqtt::ConnAck;
use tern_mqtt::client::{ClientError, ConnectionLost, SnapshotError};
use tern_mqtt::topic::TopicError;

/// What connecting, publishing or subscribing can fail with.
///
/// ```
/// use tern_io::Error;
///
/// let e = Error::from(std::io::Error::from(std::io::ErrorKind::ConnectionRefused));
/// assert_eq!(e.to_string(), "connection failed: connection refused");
/// ```
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// The socket could not be opened, read or written.
    Io(io::Error),
    /// TLS could not be set up (bad certificate file, unknown server name, handshake).
    Tls(String),
    /// A topic name or filter is not valid.
    Topic(TopicError),
    /// An option is not valid (a client identifier or user name that is no MQTT string, a
    /// host name that is no TLS server name, ...).
    InvalidOption(String),
    /// The client refused the command (queue full, QoS above the server's maximum, ...).
    Client(ClientError),
    /// The server refused the connection: its CONNACK, with the reason code.
    Refused(ConnAck),
    /// The connection ended and reconnection is off (or the first connection failed).
    ConnectionLost(ConnectionLost),
    /// The server did not have the session on reconnection, so this publication was
    /// discarded before it was acknowledged [MQTT-3.2.2-4]. Publish it again if it matters.
    Dropped,
    /// The client was disconnected (by [`disconnect`](crate) or after a fatal error); the
    /// request was not carried out.
    Closed,
    /// The session file could not be read or written, or holds no valid snapshot.
    Session(String),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Io(e) => {
                // "connection refused" reads better than "Connection refused (os error 111)".
                let text = e.kind().to_string();
                if e.get_ref().is_some() || e.raw_os_error().is_none() {
                    write!(f, "connection failed: {e}")
                } else {
                    write!(f, "connection failed: {text}")
                }
            }
            Error::Tls(e) => write!(f, "TLS: {e}"),
            Error::Topic(e) => write!(f, "invalid topic: {e}"),
            Error::InvalidOption(e) => write!(f, "invalid option: {e}"),
            Error::Client(e) => fmt::Display::fmt(e, f),
            Error::Refused(connack) => write!(
                f,
                "the server refused the connection: {} (0x{:02x})",
                connack.reason_code.name(),
                connack.reason_code.as_u8()
            ),
            Error::ConnectionLost(why) => write!(f, "connection lost: {}", lost(why)),
            Error::Dropped => f.write_str(
                "the server lost the session, so the publication was discarded unacknowledged",
            ),
            Error::Closed => f.write_str("the client is disconnected"),
            Error::Session(e) => write!(f, "session file: {e}"),
        }
    }
}

/// Describes why a connection ended, for logs and error messages.
pub(crate) fn lost(why: &ConnectionLost) -> String {
    match why {
        ConnectionLost::TransportClosed => "the server closed the connection".into(),
        ConnectionLost::KeepAliveTimeout => "nothing arrived within the keep-alive timeout".into(),
        ConnectionLost::ConnectTimeout => "no CONNACK within the connect timeout".into(),
        ConnectionLost::Refused(c) => format!("refused: {}", c.reason_code.name()),
        ConnectionLost::ServerDisconnect(d) => {
            let reason = d
                .properties
                .reason_string()
                .map(|s| format!(" ({})", s.as_str()))
                .unwrap_or_default();
            format!(
                "the server sent DISCONNECT: {} (0x{:02x}){reason}",
                d.reason_code.name(),
                d.reason_code.as_u8()
            )
        }
        ConnectionLost::ProtocolError(e) => format!("the server broke the protocol: {e}"),
        ConnectionLost::ProtocolViolation(code) => {
            format!("the server broke the protocol: {}", code.name())
        }
        ConnectionLost::ClientDisconnect => "disconnected by the client".into(),
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Io(e) => Some(e),
            Error::Client(e) => Some(e),
            _ => None,
        }
    }
}

impl From<io::Error> for Error {
    fn from(e: io::Error) -> Self {
        Error::Io(e)
    }
}

impl From<ClientError> for Error {
    fn from(e: ClientError) -> Self {
        Error::Client(e)
    }
}

impl From<TopicError> for Error {
    fn from(e: TopicError) -> Self {
        Error::Topic(e)
    }
}

impl From<SnapshotError> for Error {
    fn from(e: SnapshotError) -> Self {
        Error::Session(e.to_string())
    }
}

impl From<ConnectionLost> for Error {
    /// A refusal becomes [`Error::Refused`]; anything else [`Error::ConnectionLost`].
    fn from(why: ConnectionLost) -> Self {
        match why {
            ConnectionLost::Refused(connack) => Error::Refused(connack),
            why => Error::ConnectionLost(why),
        }
    }
}
