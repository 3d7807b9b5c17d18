//! Sans-IO CoAP for tern: the codec and the endpoint state machine.
//!
//! - **The codec**: messages ([`message`], RFC 7252 §3), options and their typed values
//!   ([`option`], [`value`]: Block1/2, Observe, ETag, Content-Format, ...), `coap://` URIs
//!   ([`uri`], RFC 7252 §6), the CoRE link format ([`link_format`], RFC 6690), and CoAP over
//!   TCP and WebSockets framing ([`tcp`], RFC 8323). Decoding allocates nothing; what decodes
//!   re-encodes to the same bytes.
//! - **The endpoint** ([`endpoint::Endpoint`]): client and server on one UDP socket, bytes and
//!   time in, datagrams, events and a deadline out. It keeps the message layer (Message IDs,
//!   retransmission, duplicate detection, RFC 7252 §4), matches requests and responses (§5),
//!   splits and collects bodies in blocks on its own (RFC 7959), and observes resources and
//!   serves observers (RFC 7641). Its module documentation has a complete blocking run loop;
//!   the adapters (tern-tokio, tern-async-std, tern-blocking) drive it the same way.
//!
//! ```
//! use tern_coap::endpoint::{Endpoint, EndpointConfig, Instant, Request};
//!
//! let mut client = Endpoint::new(EndpointConfig::default(), 0x5eed);
//! let server = "192.0.2.1:5683".parse()?;
//! let id = client.observe(Instant::ZERO, server, Request::get("sensors/temp")?)?;
//! // Send what it wants sent; feed it what arrives; Event::Notification { id, .. } follow.
//! let datagram = client.poll_transmit().expect("the registration");
//! assert_eq!(datagram.destination, server);
//! # let _ = id;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! Nothing here reads a socket, a clock or a random number generator, and the crate builds as
//! `#![no_std]` with `alloc` when the default `std` feature is off.
#![cfg_attr(not(feature = "std"), no_std)]
#![cfg_attr(
    not(test),
    deny(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::indexing_slicing,
        clippy::panic
    )
)]

extern crate alloc;

pub mod endpoint;
pub mod link_format;
pub mod message;
pub mod option;
pub mod tcp;
pub mod uri;
pub mod value;

#[cfg(feature = "arbitrary")]
#[doc(hidden)]
pub mod arbitrary;

pub use message::{Code, FormatError, Message, MessageType, Token};
pub use option::{CoapOption, OptionNumber, Options};
