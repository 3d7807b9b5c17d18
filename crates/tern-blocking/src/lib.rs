//! A blocking MQTT 3.1.1 / 5.0 client, and a CoAP client and server ([`coap`]), over
//! `std::net`, for programs without an async runtime.
//!
//! [`connect`] opens the connection (TCP, or TLS with the `tls` feature) and returns once the
//! broker accepted it, with a [`Client`] handle to publish and subscribe from any thread and
//! the [`Messages`] that arrive. A background thread keeps the connection alive: it pings,
//! acknowledges, and reconnects with backoff when the connection is lost
//! ([`MqttOptions::reconnect`]), resending what was not acknowledged.
//!
//! ```no_run
//! use tern_blocking::{MqttOptions, QoS};
//!
//! let options = MqttOptions::new("localhost", 1883, "thermo-1")?;
//! let (client, messages) = tern_blocking::connect(options)?;
//! client.subscribe(&[("sensors/temperature", QoS::AtLeastOnce)])?;
//! client.publish("sensors/temperature", "21.5", QoS::AtLeastOnce, false)?;
//! for message in messages {
//!     println!("{}: {}", message.topic, String::from_utf8_lossy(&message.payload));
//! }
//! # Ok::<(), tern_blocking::Error>(())
//! ```
//!
//! # How it works
//!
//! All protocol logic is in [`tern_mqtt::client::Client`], a sans-IO state machine; this crate
//! only moves bytes and time. One *driver* thread per connection owns the state machine (and,
//! under TLS, the rustls session) and waits on a single channel for its inputs: commands from
//! the `Client` handles, bytes from a *reader* thread that reads the socket, and the outcome of
//! opening a connection. It wakes at the state machine's next deadline
//! ([`poll_timeout`](tern_mqtt::client::Client::poll_timeout)), writes through its own handle
//! on the socket, and routes events: acknowledgements complete the waiting calls, messages go
//! to [`Messages`].
//!
//! [`Messages`] holds about [`MqttOptions::message_buffer`] messages. When the application
//! falls behind, the reader thread stops reading the socket until it catches up (TCP then
//! pushes back on the broker); the driver goes on writing publications, acknowledgements and
//! PINGREQ and serving commands. While the state machine awaits an answer (PUBACK, SUBACK,
//! PINGRESP, ...) the reader reads on regardless, so an application that publishes before it
//! reads never waits behind its own unread messages. Nothing is dropped and nothing
//! deadlocks.
//!
//! With [`MqttOptions::session_file`], the session (publications not yet completed, incoming
//! QoS 2 identifiers) is written to the file before the bytes that change it are sent, so a
//! restarted process resumes it without losing a QoS 1/2 message.
//!
//! Logs go through `tracing`: connections and reconnections at info, errors at warn, packets
//! and messages at debug.

#![cfg_attr(docsrs, feature(doc_auto_cfg))]
#![cfg_attr(
    not(test),
    deny(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::indexing_slicing,
        clippy::panic
    )
)]

mod client;
pub mod coap;
mod driver;
mod messages;
mod transport;

use std::sync::{Arc, mpsc};
use std::thread;

pub use client::{Client, PendingPublish};
pub use messages::{Messages, Timeout};
pub use tern_io::{
    Backoff, ClientConfig, ConnectionLost, Error, Message, MqttOptions, Properties,
    ProtocolVersion, Publish, QoS, ReasonCode, SessionFile, Will,
};
pub use tern_mqtt::{
    Property, RetainHandling, Subscription, SubscriptionOptions, TopicFilter, TopicName,
};

/// TLS options (feature `tls`): trusted authorities, client certificate, server name.
#[cfg(feature = "tls")]
pub use tern_io::tls::TlsOptions;

use driver::Driver;
use messages::Shared;

/// Connects to the broker in `options` and returns once its CONNACK accepted the connection.
///
/// Opens TCP (TLS when [`MqttOptions::tls`](tern_io::MqttOptions) is set, feature `tls`), sends
/// CONNECT, and starts the thread that drives the connection. A first connection that fails is
/// an error and is not retried: [`Error::Io`] when the socket could not be opened,
/// [`Error::Tls`] when the handshake failed, [`Error::Refused`] with the broker's CONNACK, or
/// [`Error::ConnectionLost`] (e.g. no CONNACK in time). Connections lost later are
/// re-established per [`MqttOptions::reconnect`].
///
/// ```no_run
/// use std::time::Duration;
/// use tern_blocking::{Error, MqttOptions, ProtocolVersion};
///
/// let options = MqttOptions::new("localhost", 1883, "thermo-1")?
///     .protocol(ProtocolVersion::V3_1_1)
///     .keep_alive(Duration::from_secs(30))
///     .session_file("thermo-1.session");
/// match tern_blocking::connect(options) {
///     Ok((client, messages)) => { /* ... */ }
///     Err(Error::Refused(connack)) => eprintln!("refused: {}", connack.reason_code.name()),
///     Err(e) => eprintln!("{e}"),
/// }
/// # Ok::<(), Error>(())
/// ```
pub fn connect(options: MqttOptions) -> Result<(Client, Messages), Error> {
    #[cfg(feature = "tls")]
    if options.tls.is_some() {
        // A host that is no valid server name fails here rather than on every attempt.
        options.tls_server_name()?;
    }
    let mut session = options.session_file.as_ref().map(SessionFile::new);
    let state_machine = match &mut session {
        Some(file) => file.open(options.config.clone())?,
        None => tern_mqtt::client::Client::new(options.config.clone()),
    };
    let shared = Arc::new(Shared::new(options.message_buffer));
    let (sender, inputs) = mpsc::channel();
    let (ready, outcome) = mpsc::sync_channel(1);
    let driver = Driver::new(
        state_machine,
        options,
        session,
        inputs,
        sender.clone(),
        shared.clone(),
        ready,
    );
    thread::Builder::new()
        .name("tern-mqtt".into())
        .spawn(move || driver.run())?;
    outcome.recv().unwrap_or(Err(Error::Closed))?;
    Ok((Client::new(sender.clone()), Messages::new(shared, sender)))
}
