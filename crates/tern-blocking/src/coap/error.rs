//! What a CoAP request, a ping or binding a socket can fail with.

use std::fmt;
use std::io;

use tern_coap::endpoint::{BuildError, EndpointError, RequestError};
use tern_coap::uri::{Scheme, UriError};

/// Why a CoAP call failed. A response with a 4.xx or 5.xx code is not an error: it is an
/// `Ok(Response)` whose [`code`](tern_coap::endpoint::Response::code) the caller checks.
///
/// ```
/// use tern_blocking::coap::{CoapClient, Error};
///
/// let client = CoapClient::new()?;
/// assert!(matches!(client.get("http://example.com/"), Err(Error::Uri(_))));
/// assert!(matches!(client.get("coaps://example.com/"), Err(Error::UnsupportedScheme(_))));
/// # Ok::<(), Error>(())
/// ```
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// The socket could not be bound, read or written.
    Io(io::Error),
    /// The URI is not a valid CoAP URI (or not a CoAP URI at all).
    Uri(UriError),
    /// The URI's scheme is a CoAP scheme tern-blocking does not speak yet (only `coap`, CoAP
    /// over UDP, is supported: not DTLS, TCP or WebSockets).
    UnsupportedScheme(Scheme),
    /// The host name could not be resolved to an address this client can reach.
    Resolve {
        /// The host, as in the URI.
        host: String,
        /// Why: the resolver's error, or `None` when it found no usable address.
        error: Option<io::Error>,
    },
    /// The request could not be built (a Uri-Path segment or an option value too long).
    Build(BuildError),
    /// No response in time: the peer acknowledged nothing within MAX_TRANSMIT_WAIT, sent no
    /// separate response within EXCHANGE_LIFETIME, or the client's own
    /// [`timeout`](crate::coap::Config::timeout) ran out.
    Timeout,
    /// The peer answered with a Reset message: it could not process the request (or it has
    /// no interest in a notification).
    Reset,
    /// The exchange ended without a response for another reason (the response carried an
    /// unrecognized critical option, ...).
    Request(RequestError),
    /// The endpoint refused the command (the request is larger than a datagram may be, too
    /// many requests are outstanding, ...). Nothing was sent.
    Endpoint(EndpointError),
    /// The socket's driver thread has stopped (the server was shut down, or reading the
    /// socket failed); the request was not carried out.
    Closed,
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Io(e) => write!(f, "socket: {e}"),
            Error::Uri(e) => write!(f, "invalid URI: {e}"),
            Error::UnsupportedScheme(s) => write!(
                f,
                "the {s} scheme is not supported yet (only coap://, CoAP over UDP)"
            ),
            Error::Resolve {
                host,
                error: Some(e),
            } => {
                write!(f, "cannot resolve the host {host}: {e}")
            }
            Error::Resolve { host, error: None } => {
                write!(f, "the host {host} has no address this client can reach")
            }
            Error::Build(e) => write!(f, "invalid request: {e}"),
            Error::Timeout => f.write_str("no response in time"),
            Error::Reset => f.write_str("the peer reset the exchange"),
            Error::Request(e) => fmt::Display::fmt(e, f),
            Error::Endpoint(e) => fmt::Display::fmt(e, f),
            Error::Closed => f.write_str("the CoAP socket is closed"),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Io(e) => Some(e),
            Error::Resolve { error: Some(e), .. } => Some(e),
            Error::Uri(e) => Some(e),
            Error::Build(e) => Some(e),
            Error::Request(e) => Some(e),
            Error::Endpoint(e) => Some(e),
            _ => None,
        }
    }
}

impl From<io::Error> for Error {
    fn from(e: io::Error) -> Self {
        Error::Io(e)
    }
}

impl From<UriError> for Error {
    fn from(e: UriError) -> Self {
        Error::Uri(e)
    }
}

impl From<BuildError> for Error {
    fn from(e: BuildError) -> Self {
        Error::Build(e)
    }
}

impl From<EndpointError> for Error {
    fn from(e: EndpointError) -> Self {
        Error::Endpoint(e)
    }
}

impl From<RequestError> for Error {
    /// Both kinds of timeout are [`Error::Timeout`], a reset [`Error::Reset`].
    fn from(e: RequestError) -> Self {
        match e {
            RequestError::Timeout | RequestError::ResponseTimeout => Error::Timeout,
            RequestError::Reset => Error::Reset,
            e => Error::Request(e),
        }
    }
}
