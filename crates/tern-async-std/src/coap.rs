//! CoAP over UDP on async-io, for async-std and smol: a client and a server (feature `coap`,
//! on by default).
//!
//! The protocol is `tern_coap::endpoint::Endpoint`; the async driver is the
//! runtime-neutral one of [`tern_io::coap`], and this module names it for async-io. Each
//! socket is driven on a thread of its own (named `tern-driver`, ending with the socket), so
//! the handles work under any executor.
//!
//! The seed scenario, a client:
//!
//! ```no_run
//! use tern_async_std::coap::CoapClient;
//!
//! # async fn run() -> Result<(), tern_async_std::coap::Error> {
//! let client = CoapClient::new().await?;
//! let response = client.get("coap://localhost/hello").await?;
//! println!("{} {}", response.code, String::from_utf8_lossy(&response.payload));
//! let response = client.post("coap://localhost/hello", "world").await?;
//! println!("{}", response.code);
//! # Ok(()) }
//! // With async-std: `async_std::task::block_on(run())`; with smol: `smol::block_on(run())`.
//! ```
//!
//! and a server:
//!
//! ```no_run
//! use tern_async_std::coap::{Code, CoapServer, Incoming, Response, Router};
//!
//! # async fn run() -> Result<(), tern_async_std::coap::Error> {
//! let server = CoapServer::bind("[::]:5683".parse().unwrap()).await?;
//! let router = Router::new().get("/hello", |incoming: Incoming| {
//!     incoming.respond(Response::new(Code::CONTENT).with_payload("Hello, world!"));
//! });
//! server.serve(router).await
//! # }
//! ```
//!
//! A handler runs on the task that awaits `serve` and must return quickly; it can move the
//! [`Incoming`] to another task or thread and answer from there (a separate response once
//! `piggyback_delay` has passed). Responses with 4.xx and 5.xx codes are `Ok`; [`Error`] is
//! for exchanges that ended without one, invalid URIs and refused commands. Bodies larger
//! than a block go and come whole (the endpoint's block-wise transfers). Observe:
//! [`CoapClient::observe`](tern_io::coap::CoapClient::observe) gives a stream of
//! notifications; [`Router::observable`](tern_io::coap::Router::observable) routes register
//! observers, which a [`Notifier`] from
//! [`CoapServer::notifier`](tern_io::coap::CoapServer::notifier) notifies.

pub use tern_io::coap::router::{Params, RouteError};
pub use tern_io::coap::{
    Code, EndpointConfig, Error, Incoming, Notified, Notifier, OBSERVATION_BUFFER, Observation,
    ObservationEnd, Request, Responder, Response, TransmissionParameters, target,
};

use crate::AsyncIo;

/// A CoAP client on async-io: see [`tern_io::coap::CoapClient`].
pub type CoapClient = tern_io::coap::CoapClient<AsyncIo>;

/// A CoAP server on async-io: see [`tern_io::coap::CoapServer`].
pub type CoapServer = tern_io::coap::CoapServer<AsyncIo>;

/// The routes of a [`CoapServer`]: see [`tern_io::coap::router`].
pub type Router = tern_io::coap::Router<Incoming>;
