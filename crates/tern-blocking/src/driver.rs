//! The driver thread: it owns the state machine and runs the loop every adapter runs.
//!
//! ```text
//! loop {
//!     wait on the input channel until client.poll_timeout() (or a reconnection is due)
//!     command / bytes read / transport closed / timeout  ──►  the state machine
//!     store the session file, then write poll_transmit(), then route poll_event()
//! }
//! ```
//!
//! Everything reaches the driver over one channel: commands from [`Client`](crate::Client)
//! handles, bytes from the connection's reader thread, the outcome of opening a connection.
//! So the driver sleeps in exactly one place and never holds a lock while it waits.

use std::collections::HashMap;
use std::io;
use std::mem;
use std::net::TcpStream;
use std::sync::Arc;
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender, SyncSender};
use std::time::{Duration, Instant};

use tern_io::{Error, MqttOptions, SessionFile};
use tern_mqtt::client::{self, ConnectionLost, Event, PublishId, RequestId};
use tern_mqtt::{Disconnect, Properties, Publish, ReasonCode, Subscription, TopicFilter};

use crate::messages::Shared;
use crate::transport::{self, Transport};

/// Everything the driver reacts to.
pub(crate) enum Input {
    /// A command from a [`Client`](crate::Client) handle.
    Command(Command),
    /// Opening connection attempt `attempt` succeeded or failed.
    Opened {
        attempt: u64,
        result: io::Result<TcpStream>,
    },
    /// Bytes the reader of `connection` read.
    Read { connection: u64, bytes: Vec<u8> },
    /// The reader of `connection` saw the end of the stream or an error.
    Closed {
        connection: u64,
        error: Option<io::Error>,
    },
    /// The last [`Client`](crate::Client) handle was dropped.
    ClientGone,
    /// [`Messages`](crate::Messages) was dropped.
    MessagesGone,
}

/// A reply channel to the handle that asked.
pub(crate) type Reply<T> = Sender<Result<T, Error>>;

/// What a [`Client`](crate::Client) handle asks for.
pub(crate) enum Command {
    Publish {
        publish: Publish,
        /// Whether the state machine took it (or why not); answered at once.
        accepted: SyncSender<Result<(), Error>>,
        /// Its outcome, once acknowledged (or written, at QoS 0).
        done: Reply<ReasonCode>,
    },
    Subscribe {
        subscriptions: Vec<Subscription>,
        properties: Properties,
        reply: Reply<Vec<ReasonCode>>,
    },
    Unsubscribe {
        filters: Vec<TopicFilter>,
        reply: Reply<Vec<ReasonCode>>,
    },
    Disconnect {
        reply: Reply<()>,
    },
}

/// Where the connection stands.
enum Link {
    /// Nothing open or scheduled (finished, or deciding what comes next).
    Idle,
    /// A thread is opening TCP connection attempt `attempt`.
    Opening { attempt: u64 },
    /// Connected (TCP open; TLS and CONNACK may still be under way).
    Open(Transport),
    /// Waiting until `until` to reconnect.
    Waiting { until: Instant },
}

pub(crate) struct Driver {
    client: client::Client,
    options: MqttOptions,
    session: Option<SessionFile>,
    inputs: Receiver<Input>,
    /// Handed to the reader and connector threads.
    sender: Sender<Input>,
    shared: Arc<Shared>,
    /// The origin of the state machine's clock.
    start: Instant,
    link: Link,
    /// Numbers connection attempts and connections.
    next_id: u64,
    /// Reconnection attempts since the last accepted CONNACK.
    attempt: u32,
    /// Until the first CONNACK: where [`connect`](crate::connect) waits for the outcome.
    ready: Option<SyncSender<Result<(), Error>>>,
    /// Why the transport failed, when that says more than the state machine's
    /// [`ConnectionLost`] (an I/O or TLS error): reported if the first connection fails.
    transport_error: Option<Error>,
    publishes: HashMap<PublishId, Reply<ReasonCode>>,
    requests: HashMap<RequestId, Reply<Vec<ReasonCode>>>,
    client_gone: bool,
    messages_gone: bool,
    /// What [`Shared`] was last told of [`client::Client::awaits_server`].
    awaits_server: bool,
    done: bool,
}

impl Driver {
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn new(
        client: client::Client,
        options: MqttOptions,
        session: Option<SessionFile>,
        inputs: Receiver<Input>,
        sender: Sender<Input>,
        shared: Arc<Shared>,
        ready: SyncSender<Result<(), Error>>,
    ) -> Self {
        Driver {
            client,
            options,
            session,
            inputs,
            sender,
            shared,
            start: Instant::now(),
            link: Link::Idle,
            next_id: 0,
            attempt: 0,
            ready: Some(ready),
            transport_error: None,
            publishes: HashMap::new(),
            requests: HashMap::new(),
            client_gone: false,
            messages_gone: false,
            awaits_server: false,
            done: false,
        }
    }

    /// Runs until disconnected, given up, or every handle is gone.
    pub(crate) fn run(mut self) {
        self.open();
        while !self.done {
            let input = match self.deadline() {
                Some(deadline) => {
                    let wait = deadline.saturating_duration_since(Instant::now());
                    match self.inputs.recv_timeout(wait) {
                        Ok(input) => Some(input),
                        Err(RecvTimeoutError::Timeout) => None,
                        // We hold a sender ourselves.
                        Err(RecvTimeoutError::Disconnected) => break,
                    }
                }
                None => match self.inputs.recv() {
                    Ok(input) => Some(input),
                    Err(_) => break,
                },
            };
            match input {
                Some(input) => self.handle(input),
                None => self.handle_timer(),
            }
            self.flush();
        }
        // Whatever ended the loop, nobody may wait forever.
        self.finish(|| Error::Closed);
    }

    /// The state machine's clock: microseconds since the driver started.
    fn now(&self) -> client::Instant {
        let micros = u64::try_from(self.start.elapsed().as_micros()).unwrap_or(u64::MAX);
        client::Instant::from_micros(micros)
    }

    /// The earliest of the state machine's timer, a due reconnection and a TLS handshake
    /// deadline.
    fn deadline(&self) -> Option<Instant> {
        let timer = self
            .client
            .poll_timeout()
            .map(|t| self.start + Duration::from_micros(t.as_micros()));
        let link = match &self.link {
            Link::Waiting { until } => Some(*until),
            Link::Open(transport) => transport.handshake_deadline(),
            Link::Idle | Link::Opening { .. } => None,
        };
        match (timer, link) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    fn handle_timer(&mut self) {
        let now = Instant::now();
        match &self.link {
            Link::Waiting { until } if *until <= now => self.open(),
            Link::Open(transport) if transport.handshake_deadline().is_some_and(|d| d <= now) => {
                self.transport_lost(Some(Error::Tls("the TLS handshake timed out".into())));
            }
            _ => {}
        }
        if self.client.poll_timeout().is_some_and(|t| t <= self.now()) {
            self.client.handle_timeout(self.now());
        }
    }

    fn handle(&mut self, input: Input) {
        match input {
            Input::Command(command) => self.command(command),
            Input::Opened { attempt, result } => match &self.link {
                Link::Opening { attempt: current } if *current == attempt => self.opened(result),
                // A late answer to an attempt given up on: the stream just closes.
                _ => {}
            },
            Input::Read { connection, bytes } => {
                let Link::Open(transport) = &mut self.link else {
                    return;
                };
                if transport.id != connection {
                    return;
                }
                self.shared.chunk_handled();
                match transport.received(bytes) {
                    Ok((plain, closed)) => {
                        if !plain.is_empty() {
                            self.client.handle_read(self.now(), &plain);
                        }
                        if closed {
                            self.transport_lost(None);
                        }
                    }
                    Err(e) => self.transport_lost(Some(e)),
                }
            }
            Input::Closed { connection, error } => {
                if matches!(&self.link, Link::Open(t) if t.id == connection) {
                    self.transport_lost(error.map(Error::Io));
                }
            }
            Input::ClientGone => {
                self.client_gone = true;
                self.when_unused();
            }
            Input::MessagesGone => {
                self.messages_gone = true;
                self.when_unused();
            }
        }
    }

    /// With no handle and no reader left, nobody can use the connection: end it cleanly.
    fn when_unused(&mut self) {
        if self.client_gone && self.messages_gone {
            tracing::debug!("every handle dropped: disconnecting");
            self.disconnect();
        }
    }

    fn command(&mut self, command: Command) {
        let now = self.now();
        match command {
            Command::Publish {
                publish,
                accepted,
                done,
            } => match self.client.publish(now, publish) {
                Ok(id) => {
                    self.publishes.insert(id, done);
                    let _ = accepted.send(Ok(()));
                }
                Err(e) => {
                    let _ = accepted.send(Err(e.into()));
                }
            },
            Command::Subscribe {
                subscriptions,
                properties,
                reply,
            } => match self.client.subscribe_with(now, subscriptions, properties) {
                Ok(id) => {
                    self.requests.insert(id, reply);
                }
                Err(e) => {
                    let _ = reply.send(Err(e.into()));
                }
            },
            Command::Unsubscribe { filters, reply } => {
                match self.client.unsubscribe(now, filters) {
                    Ok(id) => {
                        self.requests.insert(id, reply);
                    }
                    Err(e) => {
                        let _ = reply.send(Err(e.into()));
                    }
                }
            }
            Command::Disconnect { reply } => {
                self.disconnect();
                let _ = reply.send(Ok(()));
            }
        }
    }

    /// DISCONNECT written, the connection closed, every waiter told, [`Messages`] ended.
    ///
    /// [`Messages`]: crate::Messages
    fn disconnect(&mut self) {
        self.client.disconnect(self.now(), Disconnect::new());
        self.flush();
        if let Link::Open(transport) = mem::replace(&mut self.link, Link::Idle) {
            transport.close(true);
        }
        tracing::info!("disconnected");
        self.finish(|| Error::Closed);
    }

    /// Starts a connection attempt.
    fn open(&mut self) {
        self.next_id += 1;
        let attempt = self.next_id;
        self.transport_error = None;
        tracing::debug!(host = %self.options.host, port = self.options.port, "connecting");
        match transport::open(
            attempt,
            self.options.host.clone(),
            self.options.port,
            self.options.connect_timeout,
            self.sender.clone(),
        ) {
            Ok(()) => self.link = Link::Opening { attempt },
            Err(e) => {
                self.link = Link::Idle;
                self.transport_error = Some(e.into());
                self.connection_ended(ConnectionLost::TransportClosed);
            }
        }
    }

    /// The TCP connection of the current attempt opened, or did not.
    fn opened(&mut self, result: io::Result<TcpStream>) {
        self.link = Link::Idle;
        let started = result.map_err(Error::from).and_then(|stream| {
            self.next_id += 1;
            Transport::start(
                self.next_id,
                stream,
                &self.options,
                self.sender.clone(),
                self.shared.clone(),
            )
        });
        match started {
            Ok(transport) => {
                self.link = Link::Open(transport);
                self.client.connect(self.now());
            }
            Err(e) => {
                tracing::warn!(error = %e, "could not connect");
                self.transport_error = Some(e);
                self.connection_ended(ConnectionLost::TransportClosed);
            }
        }
    }

    /// The transport failed or closed under a live connection.
    fn transport_lost(&mut self, error: Option<Error>) {
        if let Some(e) = error {
            tracing::warn!(error = %e, "connection failed");
            self.transport_error = Some(e);
        }
        self.close_transport();
        self.client.handle_closed(self.now());
    }

    fn close_transport(&mut self) {
        if let Link::Open(transport) = mem::replace(&mut self.link, Link::Idle) {
            self.shared.set_connection(0);
            transport.close(false);
        }
    }

    /// Persists the session, writes what the state machine wants written, and routes its
    /// events, until it has nothing more to say.
    fn flush(&mut self) {
        loop {
            // The session file first: once bytes are out, the server may act on them, and a
            // restart must know what it acted on.
            if let Some(session) = &mut self.session {
                if let Err(e) = session.store(&self.client) {
                    tracing::warn!(error = %e, "could not store the session");
                }
            }
            while let Some(bytes) = self.client.poll_transmit() {
                if let Link::Open(transport) = &mut self.link {
                    if let Err(e) = transport.write(&bytes) {
                        self.transport_lost(Some(e));
                    }
                }
                // With no transport, the state machine is between connections and the bytes
                // (what was left of a dead one) have nowhere to go.
            }
            let mut any = false;
            while let Some(event) = self.client.poll_event() {
                any = true;
                self.dispatch(event);
            }
            if !any {
                break;
            }
        }
        let awaits = self.client.awaits_server();
        if awaits != self.awaits_server {
            self.awaits_server = awaits;
            self.shared.set_awaits_server(awaits);
        }
    }

    fn dispatch(&mut self, event: Event) {
        match event {
            Event::Connected {
                session_present, ..
            } => {
                self.attempt = 0;
                tracing::info!(
                    host = %self.options.host,
                    port = self.options.port,
                    session_present,
                    "connected"
                );
                if let Some(ready) = self.ready.take() {
                    let _ = ready.send(Ok(()));
                }
            }
            Event::Message(message) => {
                tracing::debug!(topic = message.topic.as_str(), qos = ?message.qos, "message");
                self.shared.deliver(message);
            }
            Event::Published { id, reason_code } => {
                tracing::debug!(id = id.0, reason_code = reason_code.name(), "published");
                if let Some(done) = self.publishes.remove(&id) {
                    let _ = done.send(Ok(reason_code));
                }
            }
            Event::Dropped { ids } => {
                tracing::warn!(
                    count = ids.len(),
                    "the server lost the session: publications dropped"
                );
                for id in ids {
                    if let Some(done) = self.publishes.remove(&id) {
                        let _ = done.send(Err(Error::Dropped));
                    }
                }
            }
            Event::Subscribed { id, reason_codes } | Event::Unsubscribed { id, reason_codes } => {
                if let Some(reply) = self.requests.remove(&id) {
                    let _ = reply.send(Ok(reason_codes));
                }
            }
            Event::Resubscribed {
                filters,
                reason_codes,
            } => {
                tracing::info!(
                    filters = filters.len(),
                    refused = reason_codes.iter().filter(|c| c.is_error()).count(),
                    "subscribed again after the server lost the session"
                );
            }
            // `disconnect` carries on from here.
            Event::Disconnected(ConnectionLost::ClientDisconnect) => {}
            Event::Disconnected(why) => {
                self.close_transport();
                self.connection_ended(why);
            }
            Event::Auth(_) => {
                // Enhanced authentication needs an exchange this API does not offer; the
                // state machine's CONNACK timeout ends such a connection.
                tracing::warn!(
                    "AUTH from the server ignored: enhanced authentication is not supported by tern-blocking"
                );
            }
        }
    }

    /// A connection ended (or never opened) for `why`: report it (first connection),
    /// reconnect, or give up.
    fn connection_ended(&mut self, why: ConnectionLost) {
        if let Some(ready) = self.ready.take() {
            let error = self
                .transport_error
                .take()
                .unwrap_or_else(|| Error::from(why));
            tracing::warn!(error = %error, "the first connection failed");
            let _ = ready.send(Err(error));
            self.finish(|| Error::Closed);
            return;
        }
        let reason = match &self.transport_error {
            Some(e) => e.to_string(),
            None => Error::from(why.clone()).to_string(),
        };
        match self.options.reconnect {
            Some(backoff) => {
                let delay = backoff.delay(self.attempt, fastrand::u32(..));
                self.attempt = self.attempt.saturating_add(1);
                tracing::info!(reason, ?delay, attempt = self.attempt, "reconnecting");
                self.link = Link::Waiting {
                    until: Instant::now() + delay,
                };
            }
            None => {
                tracing::info!(reason, "connection lost; reconnection is off");
                self.finish(|| Error::from(why.clone()));
            }
        }
    }

    /// Ends the driver: every waiter gets `error()`, [`Messages`](crate::Messages) ends.
    fn finish(&mut self, error: impl Fn() -> Error) {
        self.close_transport();
        self.link = Link::Idle;
        for (_, done) in self.publishes.drain() {
            let _ = done.send(Err(error()));
        }
        for (_, reply) in self.requests.drain() {
            let _ = reply.send(Err(error()));
        }
        if let Some(ready) = self.ready.take() {
            let _ = ready.send(Err(error()));
        }
        self.shared.end();
        self.done = true;
    }
}
