//! What the endpoint hands out: datagrams to send ([`Transmit`]) and what the application
//! learns ([`Event`]), with the ids that tie events to commands.

use core::net::SocketAddr;

use bytes::Bytes;

use super::error::RequestError;
use super::request::{Request, Response};

/// Names a request made with [`Endpoint::request`](super::Endpoint::request) (or a ping), in
/// the events about it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RequestId(pub u64);

/// Names a request received from a peer, for [`Endpoint::respond`](super::Endpoint::respond).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct IncomingId(pub u64);

/// A datagram to send.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Transmit {
    /// Where to send it.
    pub destination: SocketAddr,
    /// One encoded CoAP message.
    pub datagram: Bytes,
}

/// What the application learns, from [`Endpoint::poll_event`](super::Endpoint::poll_event).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Event {
    /// A peer's request, to be answered with [`Endpoint::respond`](super::Endpoint::respond).
    /// Duplicates never come out here twice.
    Request {
        /// The id to respond with.
        id: IncomingId,
        /// Who sent it.
        peer: SocketAddr,
        /// The request (`confirmable` says how it arrived).
        request: Request,
    },
    /// The response to a request of ours.
    Response {
        /// The id `request` returned.
        id: RequestId,
        /// The response.
        response: Response,
    },
    /// A request of ours ended without a response.
    RequestFailed {
        /// The id `request` returned.
        id: RequestId,
        /// Why.
        error: RequestError,
    },
    /// A ping ([`Endpoint::ping`](super::Endpoint::ping)) was answered: the peer is alive.
    Pong {
        /// The id `ping` returned.
        id: RequestId,
    },
    /// A separate Confirmable response of ours was reset or never acknowledged
    /// ([`RequestError::Reset`] or [`RequestError::Timeout`]).
    ResponseFailed {
        /// The id of the request it answered.
        id: IncomingId,
        /// Why.
        error: RequestError,
    },
}
