//! Sans-IO CoAP for tern: RFC 7252 messages and options, URIs (RFC 7252 §6), the CoRE link
//! format (RFC 6690) and, in later modules, CoAP over TCP (RFC 8323) and the endpoint state
//! machine.
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
