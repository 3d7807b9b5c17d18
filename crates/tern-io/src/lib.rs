//! What tern's runtime adapters share.
//!
//! `tern-io` holds no protocol logic: the MQTT client state machine is
//! [`tern_mqtt::client::Client`]. The adapters — `tern-tokio`, `tern-async-std` (also for smol)
//! and `tern-blocking` — drive it over a socket; this crate gives them the parts that do not
//! depend on a runtime:
//!
//! - [`MqttOptions`]: where to connect and how (client configuration, reconnection, TLS,
//!   session file, buffer sizes);
//! - [`Error`]: what a connection, a publish or a subscription can fail with;
//! - [`SessionFile`]: the client's session snapshot kept in a file, so that a restarted process
//!   loses no QoS 1/2 message;
//! - [`tls`] (feature `tls`): rustls client configurations from PEM files;
//! - [`mqtt`] (feature `async`): the async client handle, the stream of incoming messages and
//!   the driver, generic over a [`runtime::Runtime`] that each async adapter implements in a
//!   hundred lines;
//! - [`coap`] (feature `coap`): the CoAP errors, URI targets and router every adapter shares
//!   and, with `async` too, the async CoAP client and server over the same `Runtime`.
//!
//! Applications use an adapter crate, which re-exports what they need from here.

#![cfg_attr(
    not(test),
    deny(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::indexing_slicing,
        clippy::panic
    )
)]
#![cfg_attr(docsrs, feature(doc_auto_cfg))]

#[cfg(feature = "coap")]
pub mod coap;
mod error;
#[cfg(feature = "async")]
pub mod mqtt;
mod options;
pub mod request;
#[cfg(feature = "async")]
pub mod runtime;
mod session;
#[cfg(feature = "tls")]
pub mod tls;

pub use error::Error;
pub use options::MqttOptions;
pub use session::SessionFile;

/// Re-exported so that adapter users need only one import for the common types.
pub use tern_mqtt::client::{Backoff, ClientConfig, ConnectionLost};
pub use tern_mqtt::{Properties, ProtocolVersion, Publish, QoS, ReasonCode, Will};

/// An incoming application message: topic, payload, QoS, retain flag and (5.0) properties.
pub type Message = tern_mqtt::Publish;
