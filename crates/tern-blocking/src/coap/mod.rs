//! A blocking CoAP client and server over UDP: `std::net` sockets and threads driving
//! tern-coap's sans-IO [`Endpoint`](tern_coap::endpoint::Endpoint).
//!
//! [`CoapClient`] sends requests to `coap://` URIs and blocks until the response (or a
//! timeout, or a reset) is known. [`CoapServer`] serves a [`Router`] of handlers, which
//! answer an [`Incoming`] request now or later, from any thread.
//!
//! ```
//! use tern_blocking::coap::{CoapClient, CoapServer, Code, Incoming, Response, Router};
//!
//! let server = CoapServer::bind("127.0.0.1:0")?;
//! let uri = format!("coap://{}/hello", server.local_addr());
//! let router = Router::new()
//!     .get("/hello", |i: Incoming| {
//!         i.respond(Response::new(Code::CONTENT).with_payload("Hello, world!"))
//!     })
//!     .post("/hello", |i: Incoming| i.respond(Response::new(Code::CHANGED)));
//! let _running = server.serve(router)?; // serves until dropped
//!
//! let client = CoapClient::new()?;
//! let response = client.get(&uri)?;
//! println!("{} {}", response.code, String::from_utf8_lossy(&response.payload));
//! let response = client.post(&uri, "world")?;
//! assert_eq!(response.code, Code::CHANGED);
//! # Ok::<(), tern_blocking::coap::Error>(())
//! ```
//!
//! # How it works
//!
//! All protocol logic is in the endpoint: Message IDs and tokens, retransmission of
//! Confirmable messages with exponential backoff, duplicate detection, piggybacked and
//! separate responses, the NSTART limit, the timeouts. This module only moves datagrams and
//! time. Each UDP socket has one *driver* thread that owns the endpoint and reads the socket,
//! blocking until a datagram comes or the endpoint's next deadline
//! ([`poll_timeout`](tern_coap::endpoint::Endpoint::poll_timeout)); then it sends what the
//! endpoint wants sent and routes its events: a response to the call waiting for it, a
//! request from a peer to the server's handler, which runs right there. A server's request
//! is read, handled and answered on that one thread, with no hand-off between threads, as
//! libcoap's event loop does it. Handles on other threads (a client's call, a late answer, a
//! notification) pass the driver a command and wake it with an empty datagram to its own
//! socket. There is no polling: an idle socket's thread sleeps (waking once a second).
//!
//! The error type, the `coap://` URI handling and the router are tern-io's, shared with the
//! async adapters (`tern_tokio::coap`, `tern_async_std::coap`), so the three behave alike.
//!
//! Block-wise transfers (RFC 7959) are the endpoint's: requests and responses of any size
//! (up to the endpoint's limits) come and go whole. Observe (RFC 7641):
//! [`CoapClient::observe`] on the client, [`Router::observable`](tern_io::coap::Router::observable)
//! routes and a [`Notifier`] on the server.
//!
//! Not yet: `coaps`, `coap+tcp` and the other schemes ([`Error::UnsupportedScheme`]).
//!
//! Logs go through `tracing`: binding and serving at info, the rest at debug.

mod client;
mod config;
mod driver;
mod observe;
mod server;

pub use client::CoapClient;
pub use config::{Config, Datagram, Direction};
pub use observe::Observation;
pub use server::{CoapServer, Incoming, Notifier, Responder, ServerHandle};
/// What the adapters share: the error type, and the path parameters a route captured.
pub use tern_io::coap::{Error, router::Params};

/// Routes a [`CoapServer`]'s requests to handlers by method and path pattern, and answers
/// what no handler takes (4.04, 4.05, `/.well-known/core`): the router all adapters share,
/// for handlers that take an [`Incoming`]. See [`tern_io::coap::router`] for the patterns.
pub type Router = tern_io::coap::Router<Incoming>;
/// Re-exported: the method and response codes.
pub use tern_coap::Code;
/// Re-exported so that one import covers requests and responses.
pub use tern_coap::endpoint::{EndpointConfig, Request, RequestBuilder, Response, ResponseBuilder};
