//! CoAP over UDP for the adapters (feature `coap`).
//!
//! The protocol is all in [`tern_coap::endpoint::Endpoint`]: one sans-IO state machine per
//! UDP socket, client and server at once. This module holds what the adapters add around it.
//!
//! Runtime-free (feature `coap`), shared with tern-blocking:
//! - [`Error`]: what a request, a ping, binding or serving can fail with;
//! - [`target`]: a `coap://` URI to a destination and a request's options;
//! - [`router`]: requests to handlers by method and path, 4.04 / 4.05, `/.well-known/core`.
//!
//! Async (features `coap` and `async`), generic over the [`Runtime`](crate::runtime::Runtime)
//! that tern-tokio and tern-async-std implement:
//! - [`CoapClient`]: GET / POST / PUT / DELETE / any request to a URI, observe, and ping;
//! - [`CoapServer`]: binds a socket and serves a [`Router`] of [`Incoming`] handlers, which
//!   answer through a [`Responder`] now (piggybacked) or later (a separate response).
//!
//! Each socket has one driver, a future spawned on the runtime that owns the endpoint and
//! runs its loop: datagrams → `handle_datagram`, the deadline → `handle_timeout`, commands
//! from the handles → `request` / `observe` / `ping` / `cancel` / `respond` / `notify`; then
//! `poll_transmit` to the socket and `poll_event` to whoever waits (a request's one-shot
//! channel, an observation's stream, the server's dispatch). Its endpoint's PRNG is seeded from `fastrand`; `now` is the time since the
//! driver started.
//!
//! Block-wise transfers (RFC 7959) are the endpoint's: bodies come and go whole. Observe
//! (RFC 7641): [`CoapClient::observe`] gives an [`Observation`] stream of notifications;
//! on the server, [`Router::observable`] routes register observers and a
//! [`Notifier`] from [`CoapServer::notifier`] notifies them.
//!
//! ```no_run
//! # #[cfg(feature = "async")]
//! # async fn run<R: tern_io::runtime::Runtime + Default>() -> Result<(), tern_io::coap::Error> {
//! use tern_io::coap::{CoapClient, CoapServer, Incoming, Router};
//! use tern_coap::endpoint::Response;
//! use tern_coap::Code;
//!
//! let server = CoapServer::<R>::bind("[::]:5683".parse().unwrap()).await?;
//! let router = Router::new().get("/hello", |incoming: Incoming| {
//!     incoming.respond(Response::new(Code::CONTENT).with_payload("Hello, world!"));
//! });
//! // Run `server.serve(router)` on a task; from anywhere else:
//! # let _ = (server, router);
//! let client = CoapClient::<R>::new().await?;
//! let response = client.get("coap://localhost/hello").await?;
//! println!("{}: {}", response.code, String::from_utf8_lossy(&response.payload));
//! # Ok(()) }
//! ```

mod answer;
mod error;
pub mod router;
pub mod target;

#[cfg(feature = "async")]
mod client;
#[cfg(feature = "async")]
mod driver;
#[cfg(feature = "async")]
mod observe;
#[cfg(feature = "async")]
mod server;

pub use answer::answer;
pub use error::Error;
pub use router::Router;

#[cfg(feature = "async")]
pub use client::CoapClient;
#[cfg(feature = "async")]
pub use observe::{OBSERVATION_BUFFER, Observation};
#[cfg(feature = "async")]
pub use server::{CoapServer, Incoming, Notified, Notifier, Responder};

/// Re-exported so that adapter users need only one import for the common types.
pub use tern_coap::Code;
pub use tern_coap::endpoint::{
    EndpointConfig, ObservationEnd, Request, Response, TransmissionParameters,
};
