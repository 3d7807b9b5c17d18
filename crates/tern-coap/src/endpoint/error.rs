//! Errors, split by blame: [`EndpointError`] is a command the endpoint cannot carry out (the
//! caller's mistake or a local limit), returned at once; [`RequestError`] is how an exchange
//! with a peer ended without a response, reported later as an event.

use core::fmt;

use super::block::{Block1Error, Block2Error};
use crate::option::OptionNumber;

/// A command the endpoint refuses (the caller's mistake or a local limit). Nothing was sent.
///
/// ```
/// use tern_coap::endpoint::{Endpoint, EndpointConfig, EndpointError, Instant, Request};
/// use tern_coap::Code;
///
/// let mut endpoint = Endpoint::new(EndpointConfig::default(), 1);
/// let peer = "192.0.2.1:5683".parse()?;
/// let not_a_method = Request::new(Code::CONTENT);
/// assert_eq!(endpoint.request(Instant::ZERO, peer, not_a_method), Err(EndpointError::NotARequest));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum EndpointError {
    /// `request` with a code that is not a method (0.01–0.31).
    NotARequest,
    /// `observe` with a method other than GET or FETCH (RFC 7641 §1.2, RFC 8132 §2.4).
    NotObservable,
    /// `respond` with a code that is not a response (2.00–5.31).
    NotAResponse,
    /// The message would be larger than [`EndpointConfig::max_message_size`](super::EndpointConfig::max_message_size),
    /// even with the payload in blocks (RFC 7959): the options leave no room for a block of
    /// 16 bytes, or a request's options no room for the Block2 option of its follow-ups. A
    /// body needing more than 2^20 blocks counts as too large too.
    MessageTooLarge {
        /// The encoded size.
        size: usize,
        /// The limit.
        max: usize,
    },
    /// [`EndpointConfig::max_requests`](super::EndpointConfig::max_requests) requests are
    /// already queued or awaiting responses.
    TooManyRequests,
    /// `respond` to a request that is unknown, already answered, or expired (after
    /// EXCHANGE_LIFETIME without an answer).
    UnknownRequest,
    /// 65,536 Message IDs were used within EXCHANGE_LIFETIME, so any further one could be
    /// taken for a duplicate (RFC 7252 §4.4); try again later.
    MessageIdsExhausted,
    /// The token the request names ([`Request::token`](super::Request::token)) belongs to an
    /// exchange with that peer that has not ended (one awaiting its response, queued, or an
    /// observation): a response could not tell the two apart (RFC 7252 §5.3.1).
    TokenInUse,
    /// The token the request names was released by an exchange with that peer less than
    /// EXCHANGE_LIFETIME ago (among the last 128 released): a late answer to that exchange
    /// (a separate response still retransmitted, a delayed NON one) would be taken for this
    /// request's. Try again later, or with another token.
    TokenRecentlyUsed,
}

impl fmt::Display for EndpointError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EndpointError::NotARequest => f.write_str("a request needs a method code (0.01-0.31)"),
            EndpointError::NotObservable => f.write_str("only GET and FETCH can observe"),
            EndpointError::NotAResponse => {
                f.write_str("a response needs a response code (2.00-5.31)")
            }
            EndpointError::MessageTooLarge { size, max } => {
                write!(
                    f,
                    "the message would take {size} bytes, more than the {max} allowed"
                )
            }
            EndpointError::TooManyRequests => {
                f.write_str("too many requests are queued or awaiting responses")
            }
            EndpointError::UnknownRequest => {
                f.write_str("no request awaits an answer under that id")
            }
            EndpointError::MessageIdsExhausted => {
                f.write_str("every Message ID was used within EXCHANGE_LIFETIME (RFC 7252 §4.4)")
            }
            EndpointError::TokenInUse => {
                f.write_str("the token is in use by another exchange with that peer")
            }
            EndpointError::TokenRecentlyUsed => f.write_str(
                "the token was used with that peer less than EXCHANGE_LIFETIME ago; a late answer could be taken for this request's",
            ),
        }
    }
}

#[cfg(feature = "std")]
impl std::error::Error for EndpointError {}

/// Why an exchange ended without a response (in [`Event::RequestFailed`](super::Event::RequestFailed)
/// and [`Event::ResponseFailed`](super::Event::ResponseFailed)).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RequestError {
    /// A Confirmable message was neither acknowledged nor reset within MAX_TRANSMIT_WAIT
    /// (RFC 7252 §4.2), or a Non-confirmable request got no response within
    /// MAX_TRANSMIT_WAIT.
    Timeout,
    /// The request was acknowledged, but no separate response arrived within
    /// EXCHANGE_LIFETIME of sending it (RFC 7252 §5.2.2).
    ResponseTimeout,
    /// The peer answered with a Reset message (RFC 7252 §4.2, §4.3).
    Reset,
    /// The response carried a critical option this endpoint does not recognize, so it was
    /// rejected (RFC 7252 §5.4.1).
    UnrecognizedOption(OptionNumber),
    /// No Message ID could be used when the request left the queue (see
    /// [`EndpointError::MessageIdsExhausted`]).
    MessageIdsExhausted,
    /// A Block1 transfer of the request body went wrong (RFC 7959 §2.3, §2.5): the server
    /// acknowledged another block, left out Block1, or answered the last block with 2.31.
    /// A 4.13 that smaller blocks cannot satisfy is not this: it comes as the response.
    Block1(Block1Error),
    /// A Block2 transfer of the response body went wrong (RFC 7959 §2.4): a block out of
    /// order or of the wrong size, a body over
    /// [`EndpointConfig::max_reassembly_bytes`](super::EndpointConfig::max_reassembly_bytes),
    /// or an ETag that kept changing.
    Block2(Block2Error),
}

impl fmt::Display for RequestError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RequestError::Timeout => {
                f.write_str("no acknowledgement or response within MAX_TRANSMIT_WAIT")
            }
            RequestError::ResponseTimeout => {
                f.write_str("acknowledged, but no separate response within EXCHANGE_LIFETIME")
            }
            RequestError::Reset => f.write_str("the peer reset the exchange"),
            RequestError::UnrecognizedOption(n) => write!(
                f,
                "the response carried the unrecognized critical option {n} (RFC 7252 §5.4.1)"
            ),
            RequestError::MessageIdsExhausted => {
                f.write_str("every Message ID was used within EXCHANGE_LIFETIME (RFC 7252 §4.4)")
            }
            RequestError::Block1(e) => write!(f, "Block1 transfer: {e}"),
            RequestError::Block2(e) => write!(f, "Block2 transfer: {e}"),
        }
    }
}

#[cfg(feature = "std")]
impl std::error::Error for RequestError {}

/// Why an observation ended (in [`Event::ObservationEnded`](super::Event::ObservationEnded)).
///
/// ```
/// use tern_coap::endpoint::{ObservationEnd, RequestError};
///
/// let end = ObservationEnd::Failed(RequestError::Timeout);
/// assert_eq!(end.to_string(), "the observation failed: no acknowledgement or response within MAX_TRANSMIT_WAIT");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ObservationEnd {
    /// The server ended it, or never started it: a response without Observe, or not 2.xx
    /// (the resource is not observable, is gone, or changed its Content-Format; RFC 7641
    /// §3.2, §4.2). That response came as the last notification.
    ByServer,
    /// The registration or a re-registration (RFC 7641 §3.3.1) got no usable response, or a
    /// notification carried an unrecognized critical option.
    Failed(RequestError),
}

impl fmt::Display for ObservationEnd {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ObservationEnd::ByServer => f.write_str("the server ended the observation"),
            ObservationEnd::Failed(e) => write!(f, "the observation failed: {e}"),
        }
    }
}
