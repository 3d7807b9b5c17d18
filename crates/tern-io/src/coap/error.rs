use std::fmt;
use std::io;

use tern_coap::endpoint::{BuildError, EndpointError, RequestError};
use tern_coap::uri::{Scheme, UriError};

use super::router::RouteError;

/// What a CoAP request, a ping, binding or serving can fail with.
///
/// A response with a 4.xx or 5.xx code is not an error: it comes back as `Ok(Response)`, for
/// the caller to check `response.code`.
///
/// ```
/// use tern_io::coap::Error;
/// use tern_coap::uri::{Scheme, UriError};
///
/// assert_eq!(Error::Timeout.to_string(), "no response in time");
/// assert_eq!(
///     Error::UnsupportedScheme(Scheme::Coaps).to_string(),
///     "coaps:// is not supported yet (only coap://)"
/// );
/// assert!(matches!(Error::from(UriError::Fragment), Error::Uri(UriError::Fragment)));
/// ```
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// The socket could not be bound, read or written.
    Io(io::Error),
    /// The URI is not a valid CoAP URI.
    Uri(UriError),
    /// A CoAP scheme this adapter does not speak yet (coaps, coap+tcp, coaps+tcp, coap+ws,
    /// coaps+ws): only `coap://` over UDP is.
    UnsupportedScheme(Scheme),
    /// The host name could not be resolved (or has no address of a family the socket can
    /// reach).
    Resolve {
        /// The name.
        host: String,
        /// Why.
        error: io::Error,
    },
    /// No acknowledgement or response came within the endpoint's limits (RFC 7252 §4.2,
    /// §5.2.2): MAX_TRANSMIT_WAIT for a Confirmable request, or EXCHANGE_LIFETIME for a
    /// separate response.
    Timeout,
    /// The peer answered with a Reset message.
    Reset,
    /// The exchange ended without a response for another reason the endpoint reported (a
    /// response with an unrecognized critical option, no Message ID free).
    Request(RequestError),
    /// A request could not be built (an option value too long).
    Build(BuildError),
    /// The endpoint refused the command (too many requests, a message too large, ...);
    /// nothing was sent.
    Endpoint(EndpointError),
    /// A route pattern or its link-format attributes are not valid.
    Route(RouteError),
    /// The socket's driver has stopped (every handle was dropped, or the socket failed).
    Closed,
    /// A call that waits for the socket's driver was made on the driver's own thread (from a
    /// request handler of the same socket, which runs there): it would wait for itself, so it
    /// fails at once. Move the call to a thread (or task) of its own.
    Reentrant,
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Io(e) => write!(f, "socket: {e}"),
            Error::Uri(e) => write!(f, "invalid URI: {e}"),
            Error::UnsupportedScheme(s) => {
                write!(f, "{}:// is not supported yet (only coap://)", s.as_str())
            }
            Error::Resolve { host, error } => write!(f, "cannot resolve {host}: {error}"),
            Error::Timeout => f.write_str("no response in time"),
            Error::Reset => f.write_str("the peer reset the exchange"),
            Error::Request(e) => fmt::Display::fmt(e, f),
            Error::Build(e) => write!(f, "invalid request: {e}"),
            Error::Endpoint(e) => write!(f, "request refused: {e}"),
            Error::Route(e) => fmt::Display::fmt(e, f),
            Error::Closed => f.write_str("the CoAP socket is closed"),
            Error::Reentrant => f.write_str(
                "a request handler waited for its own socket (move the call to another thread)",
            ),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Io(e) | Error::Resolve { error: e, .. } => Some(e),
            Error::Uri(e) => Some(e),
            Error::Request(e) => Some(e),
            Error::Build(e) => Some(e),
            Error::Endpoint(e) => Some(e),
            Error::Route(e) => Some(e),
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

impl From<EndpointError> for Error {
    fn from(e: EndpointError) -> Self {
        Error::Endpoint(e)
    }
}

impl From<BuildError> for Error {
    fn from(e: BuildError) -> Self {
        Error::Build(e)
    }
}

impl From<RouteError> for Error {
    fn from(e: RouteError) -> Self {
        Error::Route(e)
    }
}

impl From<RequestError> for Error {
    /// [`RequestError::Timeout`] and [`RequestError::ResponseTimeout`] become
    /// [`Error::Timeout`], [`RequestError::Reset`] [`Error::Reset`], the rest
    /// [`Error::Request`].
    fn from(e: RequestError) -> Self {
        match e {
            RequestError::Timeout | RequestError::ResponseTimeout => Error::Timeout,
            RequestError::Reset => Error::Reset,
            e => Error::Request(e),
        }
    }
}
