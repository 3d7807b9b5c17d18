//! The sans-IO core of tern's MQTT broker (3.1.1 and 5.0, 3.1 accepted).
//!
//! Like every tern core crate it does no I/O: the caller hands it the bytes each connection
//! reads and the time, and takes from it the bytes to write, the connections to close and
//! the next deadline. It never reads a socket, a clock or a random number generator, and it
//! builds as `#![no_std]` with `alloc` when the default `std` feature is off.
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

pub mod auth;
pub mod broker;
pub mod config;
pub mod connection;
pub mod retained;
pub mod session;
pub mod subscriptions;
pub mod sys;

pub use broker::{AcceptError, Authorizer, Broker, BrokerConfig, ConnectionId, Event};
