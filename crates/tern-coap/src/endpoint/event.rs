//! What the endpoint hands out: datagrams to send ([`Transmit`]) and what the application
//! learns ([`Event`]), with the ids that tie events to commands.

use core::net::SocketAddr;

use bytes::Bytes;

use super::error::{ObservationEnd, RequestError};
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
    /// A peer's request, to be answered with [`Endpoint::respond`](super::Endpoint::respond)
    /// (or [`Endpoint::respond_observable`](super::Endpoint::respond_observable)).
    /// Duplicates never come out here twice. A body sent in Block1 blocks (RFC 7959) comes
    /// out once, whole, without its Block1 and Size1 options.
    Request {
        /// The id to respond with.
        id: IncomingId,
        /// Who sent it.
        peer: SocketAddr,
        /// The request (`confirmable` says how it arrived).
        request: Request,
    },
    /// The response to a request of ours. A body the server sent in Block2 blocks arrives
    /// whole, with the options of its first block less Block2 and Size2; after a body sent
    /// in Block1 blocks, the final response comes without Block1 and Size1 (RFC 7959).
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
    /// A fresh notification of an observation
    /// ([`Endpoint::observe`](super::Endpoint::observe)): the response to the registration,
    /// then each newer notification, in order (RFC 7641 §3.4: older or duplicate ones are
    /// dropped). A body in Block2 blocks arrives whole, as in [`Event::Response`], with the
    /// Observe option of its first block.
    Notification {
        /// The id `observe` returned.
        id: RequestId,
        /// The notification.
        response: Response,
    },
    /// An observation ended; no event follows for `id`. When the server ended it (a
    /// response without Observe or with an error code, RFC 7641 §3.2, §4.2), that response
    /// came as the last [`Event::Notification`] just before.
    ObservationEnded {
        /// The id `observe` returned.
        id: RequestId,
        /// Why.
        reason: ObservationEnd,
    },
    /// An observer of a resource of ours was removed
    /// ([`Endpoint::respond_observable`](super::Endpoint::respond_observable)): it
    /// deregistered (a GET with Observe = 1, or a registration answered without Observe), it
    /// rejected a notification with RST, a Confirmable notification to it was never
    /// acknowledged (RFC 7641 §3.6, §4.5), or a notification ended its observation
    /// ([`Endpoint::notify`](super::Endpoint::notify) with an error code or another
    /// Content-Format). Each observer added is removed once.
    ObserverRemoved {
        /// The resource it observed, as given to `respond_observable`.
        resource: Bytes,
        /// The client.
        peer: SocketAddr,
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
