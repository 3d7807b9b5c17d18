//! A blocking CoAP client (and, with the router, server) over UDP: `std::net` sockets and
//! threads driving tern-coap's sans-IO [`Endpoint`](tern_coap::endpoint::Endpoint).
//!
//! [`CoapClient`] sends requests to `coap://` URIs and blocks until the response (or a
//! timeout, or a reset) is known.
//!
//! ```no_run
//! use tern_blocking::coap::CoapClient;
//!
//! let client = CoapClient::new()?;
//! let response = client.get("coap://localhost/hello")?;
//! println!("{} {}", response.code, String::from_utf8_lossy(&response.payload));
//! let response = client.post("coap://localhost/hello", "world")?;
//! println!("{}", response.code);
//! # Ok::<(), tern_blocking::coap::Error>(())
//! ```
//!
//! # How it works
//!
//! All protocol logic is in the endpoint: Message IDs and tokens, retransmission of
//! Confirmable messages with exponential backoff, duplicate detection, piggybacked and
//! separate responses, the NSTART limit, the timeouts. This module only moves datagrams and
//! time. Each UDP socket has a *driver* thread that owns the endpoint and waits on one
//! channel for its inputs — datagrams from the socket's *reader* thread, commands from the
//! handles — or until the endpoint's next deadline
//! ([`poll_timeout`](tern_coap::endpoint::Endpoint::poll_timeout)); then it sends what the
//! endpoint wants sent and routes its events: a response to the call waiting for it, a
//! request from a peer to the server's handlers. There is no polling: an idle socket's
//! threads sleep (the reader wakes once a second to check it is still wanted).
//!
//! Logs go through `tracing`, at debug level.

mod client;
mod config;
mod driver;
mod error;

pub use client::CoapClient;
pub use config::{Config, Datagram, Direction};
pub use error::Error;
/// Re-exported: the method and response codes.
pub use tern_coap::Code;
/// Re-exported so that one import covers requests and responses.
pub use tern_coap::endpoint::{EndpointConfig, Request, RequestBuilder, Response, ResponseBuilder};
