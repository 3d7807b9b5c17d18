//! The client handle: commands to the driver thread, and waiting for their answers.

use std::fmt;
use std::sync::Arc;
use std::sync::mpsc::{self, Receiver, Sender};

use bytes::Bytes;
use tern_io::{Error, Properties, Publish, QoS, ReasonCode};
use tern_mqtt::Subscription;

use crate::driver::{Command, Input};

/// A handle on a connection made by [`connect`](crate::connect): publish, subscribe,
/// unsubscribe, disconnect.
///
/// Cheap to clone and usable from any thread; every method blocks until the broker answered
/// (or, for [`Client::start_publish`], until the publication was accepted). Requests made
/// while the connection is down wait and go out after the reconnection.
///
/// Dropping every `Client` and the [`Messages`](crate::Messages) disconnects.
///
/// ```no_run
/// use tern_blocking::{MqttOptions, QoS};
///
/// let options = MqttOptions::new("localhost", 1883, "thermo-1")?;
/// let (client, _messages) = tern_blocking::connect(options)?;
/// let code = client.publish("sensors/temperature", "21.5", QoS::AtLeastOnce, false)?;
/// assert!(!code.is_error());
/// client.disconnect()?;
/// # Ok::<(), tern_blocking::Error>(())
/// ```
#[derive(Clone)]
pub struct Client {
    handle: Arc<Handle>,
}

/// Tells the driver when the last handle is gone.
struct Handle {
    commands: Sender<Input>,
}

impl Drop for Handle {
    fn drop(&mut self) {
        // The driver may have finished already; then nobody needs to know.
        let _ = self.commands.send(Input::ClientGone);
    }
}

impl Client {
    pub(crate) fn new(commands: Sender<Input>) -> Self {
        Client {
            handle: Arc::new(Handle { commands }),
        }
    }

    fn send(&self, command: Command) -> Result<(), Error> {
        self.handle
            .commands
            .send(Input::Command(command))
            .map_err(|_| Error::Closed)
    }

    /// Publishes `payload` to `topic` and waits for the outcome: at QoS 0 until it was
    /// written to the socket, at QoS 1 until PUBACK, at QoS 2 until PUBCOMP (or a PUBREC with
    /// an error code).
    ///
    /// `Ok` carries the broker's reason code, also when it is an error in MQTT 5.0 (check
    /// [`ReasonCode::is_error`]); [`Error::Dropped`] means the broker lost the session before
    /// acknowledging, so the message may not have arrived.
    ///
    /// ```no_run
    /// # let (client, _m) = tern_blocking::connect(tern_blocking::MqttOptions::new("localhost", 1883, "c")?)?;
    /// use tern_blocking::QoS;
    ///
    /// let code = client.publish("sensors/temperature", "21.5", QoS::ExactlyOnce, true)?;
    /// if code.is_error() {
    ///     eprintln!("refused: {}", code.name());
    /// }
    /// # Ok::<(), tern_blocking::Error>(())
    /// ```
    pub fn publish(
        &self,
        topic: &str,
        payload: impl Into<Bytes>,
        qos: QoS,
        retain: bool,
    ) -> Result<ReasonCode, Error> {
        self.publish_with(tern_io::request::publish(topic, payload, qos, retain)?)
    }

    /// Publishes with full control over the PUBLISH (properties, ...) and waits for the
    /// outcome as [`Client::publish`] does. Its `packet_id` and `dup` are the client's to set;
    /// a Topic Alias is refused (the client assigns aliases itself).
    ///
    /// ```no_run
    /// # let (client, _m) = tern_blocking::connect(tern_blocking::MqttOptions::new("localhost", 1883, "c")?)?;
    /// use tern_blocking::{Properties, Publish, QoS, TopicName};
    ///
    /// let mut publish = Publish::new(TopicName::new("sensors/temperature")?, "21.5");
    /// publish.qos = QoS::AtLeastOnce;
    /// publish.properties = Properties::builder().user_property("unit", "celsius")?.build()?;
    /// client.publish_with(publish)?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn publish_with(&self, publish: Publish) -> Result<ReasonCode, Error> {
        self.start_publish(publish)?.wait()
    }

    /// Hands a publication to the client and returns as soon as it was accepted, without
    /// waiting for the broker, so that many can be in flight at once; [`PendingPublish::wait`]
    /// gives the outcome. Fails at once when the client refuses it (the queue behind the
    /// in-flight window is full, the QoS is above the broker's maximum, ...).
    ///
    /// ```no_run
    /// # let (client, _m) = tern_blocking::connect(tern_blocking::MqttOptions::new("localhost", 1883, "c")?)?;
    /// use tern_blocking::{Publish, QoS, TopicName};
    ///
    /// let topic = TopicName::new("log/lines")?;
    /// let mut pending = Vec::new();
    /// for line in ["one", "two", "three"] {
    ///     let mut publish = Publish::new(topic.clone(), line);
    ///     publish.qos = QoS::AtLeastOnce;
    ///     pending.push(client.start_publish(publish)?);
    /// }
    /// for p in pending {
    ///     p.wait()?;
    /// }
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn start_publish(&self, publish: Publish) -> Result<PendingPublish, Error> {
        let (accepted, accepted_rx) = mpsc::sync_channel(1);
        let (done, done_rx) = mpsc::channel();
        self.send(Command::Publish {
            publish,
            accepted,
            done,
        })?;
        accepted_rx.recv().unwrap_or(Err(Error::Closed))?;
        Ok(PendingPublish { done: done_rx })
    }

    /// Subscribes to topic filters, each with its maximum QoS, and waits for SUBACK: one
    /// reason code per filter, the granted QoS or an error (check [`ReasonCode::is_error`]).
    ///
    /// ```no_run
    /// # let (client, _m) = tern_blocking::connect(tern_blocking::MqttOptions::new("localhost", 1883, "c")?)?;
    /// use tern_blocking::QoS;
    ///
    /// let codes = client.subscribe(&[("sensors/+/temperature", QoS::AtLeastOnce), ("alerts/#", QoS::ExactlyOnce)])?;
    /// assert_eq!(codes.len(), 2);
    /// # Ok::<(), tern_blocking::Error>(())
    /// ```
    pub fn subscribe(&self, filters: &[(&str, QoS)]) -> Result<Vec<ReasonCode>, Error> {
        let subscriptions = tern_io::request::subscriptions(filters)?;
        self.subscribe_with(subscriptions, Properties::new())
    }

    /// Subscribes with full subscription options (No Local, Retain As Published, Retain
    /// Handling) and SUBSCRIBE properties (5.0), and waits for SUBACK.
    ///
    /// ```no_run
    /// # let (client, _m) = tern_blocking::connect(tern_blocking::MqttOptions::new("localhost", 1883, "c")?)?;
    /// use tern_blocking::{Properties, QoS, Subscription, TopicFilter};
    ///
    /// let mut subscription = Subscription::new(TopicFilter::new("chat/#")?, QoS::AtLeastOnce);
    /// subscription.options.no_local = true;
    /// client.subscribe_with(vec![subscription], Properties::new())?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn subscribe_with(
        &self,
        subscriptions: Vec<Subscription>,
        properties: Properties,
    ) -> Result<Vec<ReasonCode>, Error> {
        let (reply, answer) = mpsc::channel();
        self.send(Command::Subscribe {
            subscriptions,
            properties,
            reply,
        })?;
        answer.recv().unwrap_or(Err(Error::Closed))
    }

    /// Unsubscribes from topic filters and waits for UNSUBACK: one reason code per filter in
    /// MQTT 5.0, none in 3.1.1.
    ///
    /// ```no_run
    /// # let (client, _m) = tern_blocking::connect(tern_blocking::MqttOptions::new("localhost", 1883, "c")?)?;
    /// client.unsubscribe(&["sensors/+/temperature"])?;
    /// # Ok::<(), tern_blocking::Error>(())
    /// ```
    pub fn unsubscribe(&self, filters: &[&str]) -> Result<Vec<ReasonCode>, Error> {
        let filters = tern_io::request::filters(filters)?;
        let (reply, answer) = mpsc::channel();
        self.send(Command::Unsubscribe { filters, reply })?;
        answer.recv().unwrap_or(Err(Error::Closed))
    }

    /// Sends DISCONNECT and closes the connection; [`Messages`](crate::Messages) ends after
    /// what it buffered, and requests still waiting fail with [`Error::Closed`]. A session
    /// file keeps publications not yet completed for the next [`connect`](crate::connect).
    /// Later calls on any handle fail with [`Error::Closed`].
    ///
    /// ```no_run
    /// # let (client, _m) = tern_blocking::connect(tern_blocking::MqttOptions::new("localhost", 1883, "c")?)?;
    /// client.disconnect()?;
    /// assert!(client.publish("t", "x", tern_blocking::QoS::AtMostOnce, false).is_err());
    /// # Ok::<(), tern_blocking::Error>(())
    /// ```
    pub fn disconnect(&self) -> Result<(), Error> {
        let (reply, answer) = mpsc::channel();
        self.send(Command::Disconnect { reply })?;
        answer.recv().unwrap_or(Err(Error::Closed))
    }
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client").finish_non_exhaustive()
    }
}

/// A publication accepted by [`Client::start_publish`], on its way to the broker.
///
/// ```no_run
/// # let (client, _m) = tern_blocking::connect(tern_blocking::MqttOptions::new("localhost", 1883, "c")?)?;
/// use tern_blocking::{Publish, QoS, TopicName};
///
/// let mut publish = Publish::new(TopicName::new("t")?, "x");
/// publish.qos = QoS::ExactlyOnce;
/// let pending = client.start_publish(publish)?;
/// // ... more work ...
/// let code = pending.wait()?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct PendingPublish {
    done: Receiver<Result<ReasonCode, Error>>,
}

impl PendingPublish {
    /// Waits for the outcome, as [`Client::publish`] reports it.
    pub fn wait(self) -> Result<ReasonCode, Error> {
        self.done.recv().unwrap_or(Err(Error::Closed))
    }
}
