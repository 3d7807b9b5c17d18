//! The async MQTT client, for any runtime (feature `async`).
//!
//! [`connect`] spawns a [`Driver`] on the [`Runtime`] it is given and returns a [`Client`]
//! handle and the [`Messages`] stream. The driver owns the sans-IO
//! [`tern_mqtt::client::Client`] and the transport and runs the loop of
//! `ARCHITECTURE.md`: read → `handle_read` → drain `poll_transmit` / `poll_event` → write,
//! sleeping until `poll_timeout`. It makes no protocol decision of its own: what to send,
//! when to ping, what a reconnection resends, all comes from the state machine.
//!
//! `tern-tokio` and `tern-async-std` each implement [`Runtime`] (opening a TCP or TLS
//! connection, a timer, spawning) and re-export this API; applications use those crates.

mod driver;

use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use futures_channel::{mpsc, oneshot};
use futures_core::Stream;
use tern_mqtt::{Properties, Publish, QoS, ReasonCode, Subscription, TopicFilter};

/// The runtime traits, now in [`crate::runtime`]; re-exported here so that existing imports
/// keep working.
pub use crate::runtime::{BoxFuture, Runtime, Timer, Transport};
pub use driver::Driver;

use crate::{Error, Message, MqttOptions, SessionFile};

/// What a [`Client`] handle asks of the driver.
#[derive(Debug)]
enum Command {
    Publish(Publish, oneshot::Sender<Result<ReasonCode, Error>>),
    Subscribe(
        Vec<Subscription>,
        Properties,
        oneshot::Sender<Result<Vec<ReasonCode>, Error>>,
    ),
    Unsubscribe(
        Vec<TopicFilter>,
        oneshot::Sender<Result<Vec<ReasonCode>, Error>>,
    ),
    Disconnect(oneshot::Sender<Result<(), Error>>),
}

/// Connects to the broker of `options` on `runtime` and returns once CONNACK accepted the
/// connection. A first connection that fails (the socket, TLS, a refusal, the timeout) is
/// an error; later losses are reconnected as [`MqttOptions::reconnect`] says.
pub async fn connect<R: Runtime>(
    runtime: R,
    options: MqttOptions,
) -> Result<(Client, Messages), Error> {
    let (machine, session) = match &options.session_file {
        Some(path) => {
            let mut file = SessionFile::new(path);
            let client = file.open(options.config.clone())?;
            (client, Some(file))
        }
        None => (tern_mqtt::client::Client::new(options.config.clone()), None),
    };
    let (commands_tx, commands_rx) = mpsc::unbounded();
    // The channel holds `message_buffer - 1` plus one slot per sender (the driver).
    let (messages_tx, messages_rx) = mpsc::channel(options.message_buffer.saturating_sub(1));
    let (connected_tx, connected_rx) = oneshot::channel();
    let driver = Driver::new(
        runtime,
        options,
        machine,
        session,
        commands_rx,
        messages_tx,
        connected_tx,
    );
    driver.spawn();
    match connected_rx.await {
        Ok(Ok(())) => Ok((
            Client {
                tx: commands_tx.clone(),
            },
            Messages {
                rx: messages_rx,
                _connection: commands_tx,
            },
        )),
        Ok(Err(e)) => Err(e),
        Err(oneshot::Canceled) => Err(Error::Closed),
    }
}

/// A handle to a connection: cheap to clone, usable from any task. The connection ends when
/// [`disconnect`](Client::disconnect) is called, or when every handle and the [`Messages`]
/// are dropped (a subscriber that only reads keeps the connection).
#[derive(Debug, Clone)]
pub struct Client {
    tx: mpsc::UnboundedSender<Command>,
}

impl Client {
    /// Publishes `payload` to `topic`. Completes when the broker acknowledged it (QoS 1:
    /// PUBACK; QoS 2: PUBCOMP, or PUBREC with an error code) or, at QoS 0, once it was written
    /// to the socket. The reason code is the broker's (always Success in 3.1.1); a 5.0 error
    /// code is returned as `Ok` for the caller to check with [`ReasonCode::is_error`].
    ///
    /// Publications made while the connection is down wait for the next one. Many can be in
    /// flight at once: run several of these futures concurrently.
    pub async fn publish(
        &self,
        topic: &str,
        payload: impl Into<Bytes>,
        qos: QoS,
        retain: bool,
    ) -> Result<ReasonCode, Error> {
        self.publish_with(crate::request::publish(topic, payload, qos, retain)?)
            .await
    }

    /// Publishes a message built in full (properties, payload format, ...); see
    /// [`publish`](Client::publish).
    pub async fn publish_with(&self, publish: Publish) -> Result<ReasonCode, Error> {
        let (tx, rx) = oneshot::channel();
        self.send(Command::Publish(publish, tx))?;
        rx.await.unwrap_or(Err(Error::Closed))
    }

    /// Subscribes to filters at a maximum QoS each; returns the granted QoS (or an error
    /// code) per filter, in order.
    pub async fn subscribe(&self, filters: &[(&str, QoS)]) -> Result<Vec<ReasonCode>, Error> {
        let subscriptions = crate::request::subscriptions(filters)?;
        self.subscribe_with(subscriptions, Properties::new()).await
    }

    /// Subscribes with full subscription options (No Local, Retain Handling, ...) and
    /// SUBSCRIBE properties (a Subscription Identifier, User Properties).
    pub async fn subscribe_with(
        &self,
        subscriptions: Vec<Subscription>,
        properties: Properties,
    ) -> Result<Vec<ReasonCode>, Error> {
        let (tx, rx) = oneshot::channel();
        self.send(Command::Subscribe(subscriptions, properties, tx))?;
        rx.await.unwrap_or(Err(Error::Closed))
    }

    /// Unsubscribes from filters; returns one reason code per filter (5.0; empty in 3.1.1).
    pub async fn unsubscribe(&self, filters: &[&str]) -> Result<Vec<ReasonCode>, Error> {
        let filters = crate::request::filters(filters)?;
        let (tx, rx) = oneshot::channel();
        self.send(Command::Unsubscribe(filters, tx))?;
        rx.await.unwrap_or(Err(Error::Closed))
    }

    /// Sends DISCONNECT (the broker discards the will), closes the connection and ends the
    /// [`Messages`] stream. Requests still pending fail with [`Error::Closed`].
    pub async fn disconnect(&self) -> Result<(), Error> {
        let (tx, rx) = oneshot::channel();
        self.send(Command::Disconnect(tx))?;
        rx.await.unwrap_or(Ok(()))
    }

    fn send(&self, command: Command) -> Result<(), Error> {
        self.tx.unbounded_send(command).map_err(|_| Error::Closed)
    }
}

/// The incoming application messages, in the order they arrived: a [`Stream`], also read
/// with [`recv`](Messages::recv).
///
/// It holds at most [`MqttOptions::message_buffer`] messages; while it is full the driver
/// stops reading from the socket, and goes on writing (publications, acknowledgements,
/// PINGREQ). It ends after [`Client::disconnect`], or when the connection was lost with
/// reconnection off.
#[derive(Debug)]
pub struct Messages {
    rx: mpsc::Receiver<Message>,
    /// Keeps the connection up while the application reads, even with no `Client` left.
    _connection: mpsc::UnboundedSender<Command>,
}

impl Messages {
    /// The next message, or `None` once the connection has ended for good.
    pub async fn recv(&mut self) -> Option<Message> {
        std::future::poll_fn(|cx| Pin::new(&mut self.rx).poll_next(cx)).await
    }
}

impl Stream for Messages {
    type Item = Message;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Message>> {
        Pin::new(&mut self.rx).poll_next(cx)
    }
}

/// How long a closing connection may take to write its last bytes (DISCONNECT) before it is
/// dropped anyway.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(2);
