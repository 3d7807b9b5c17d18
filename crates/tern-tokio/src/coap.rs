//! CoAP over UDP on tokio: a client and a server (feature `coap`, on by default).
//!
//! The protocol is `tern_coap::endpoint::Endpoint`; the async driver is the
//! runtime-neutral one of [`tern_io::coap`], and this module names it for tokio. Each socket
//! is driven by a spawned task, so clients and servers must be made within a tokio runtime.
//!
//! The seed scenario, a client:
//!
//! ```no_run
//! use tern_tokio::coap::CoapClient;
//!
//! # async fn run() -> Result<(), tern_tokio::coap::Error> {
//! let client = CoapClient::new().await?;
//! let response = client.get("coap://localhost/hello").await?;
//! println!("{} {}", response.code, String::from_utf8_lossy(&response.payload));
//! let response = client.post("coap://localhost/hello", "world").await?;
//! println!("{}", response.code);
//! # Ok(()) }
//! ```
//!
//! and a server, answering now or later (a handler must return quickly: slow work goes to a
//! task, with the [`Incoming`]):
//!
//! ```no_run
//! use std::time::Duration;
//! use tern_tokio::coap::{Code, CoapServer, Incoming, Response, Router};
//!
//! # async fn run() -> Result<(), tern_tokio::coap::Error> {
//! let server = CoapServer::bind("[::]:5683".parse().unwrap()).await?;
//! let router = Router::new()
//!     .get("/hello", |incoming: Incoming| {
//!         incoming.respond(Response::new(Code::CONTENT).with_payload("Hello, world!"));
//!     })
//!     .attributes(r#"rt="greeting""#)
//!     .get("/slow/{n}", |incoming: Incoming| {
//!         tokio::spawn(async move {
//!             tokio::time::sleep(Duration::from_secs(2)).await;
//!             let n = incoming.params.get("n").unwrap_or("?").to_string();
//!             // Later than piggyback_delay: a separate response.
//!             incoming.respond(Response::new(Code::CONTENT).with_payload(n));
//!         });
//!     });
//! server.serve(router).await
//! # }
//! ```
//!
//! Responses with 4.xx and 5.xx codes are `Ok`; [`Error`] is for exchanges that ended
//! without one (timeout, reset), invalid URIs and refused commands. Bodies larger than a
//! block go and come whole (the endpoint's block-wise transfers). Observe:
//! [`CoapClient::observe`](tern_io::coap::CoapClient::observe) gives a stream of
//! notifications; [`Router::observable`](tern_io::coap::Router::observable) routes register
//! observers, which a [`Notifier`] from
//! [`CoapServer::notifier`](tern_io::coap::CoapServer::notifier) notifies.

pub use tern_io::coap::router::{Params, RouteError};
pub use tern_io::coap::{
    Code, EndpointConfig, Error, Incoming, Notified, Notifier, OBSERVATION_BUFFER, Observation,
    ObservationEnd, Request, Responder, Response, TransmissionParameters, target,
};

use crate::Tokio;

/// A CoAP client on tokio: see [`tern_io::coap::CoapClient`].
pub type CoapClient = tern_io::coap::CoapClient<Tokio>;

/// A CoAP server on tokio: see [`tern_io::coap::CoapServer`].
pub type CoapServer = tern_io::coap::CoapServer<Tokio>;

/// The routes of a [`CoapServer`]: see [`tern_io::coap::router`].
pub type Router = tern_io::coap::Router<Incoming>;
