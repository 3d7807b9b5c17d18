//! The driver: one future per connection that runs the state machine's loop.

use std::collections::{HashMap, VecDeque};
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant as StdInstant};

use bytes::{Buf, BytesMut};
use futures_channel::{mpsc, oneshot};
use futures_core::Stream;
use tern_mqtt::client::{Client as Machine, ConnectionLost, Event, Instant, PublishId, RequestId};
use tern_mqtt::{Disconnect, QoS, ReasonCode};

use super::{CLOSE_TIMEOUT, Command};
use crate::error::lost;
use crate::runtime::{BoxFuture, Runtime, Timer, Transport};
use crate::{Error, Message, MqttOptions, SessionFile};

/// What to do once a closing connection has written its last bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum After {
    Reconnect,
    End,
}

enum Link {
    /// Opening the transport.
    Opening {
        opening: BoxFuture<Result<Box<dyn Transport>, Error>>,
        deadline: StdInstant,
    },
    /// The transport is open (the state machine may still be waiting for CONNACK).
    Open(Box<dyn Transport>),
    /// Writing the last bytes (a DISCONNECT) before closing.
    Closing {
        io: Box<dyn Transport>,
        deadline: StdInstant,
        after: After,
    },
    /// Waiting to reconnect.
    Waiting { until: StdInstant },
    /// Over.
    Ended,
}

/// Most reads per wake-up before giving other tasks a turn.
const READS_PER_POLL: usize = 32;
const READ_CHUNK: usize = 16 * 1024;

/// Runs one client's connection: built and spawned by [`connect`](super::connect).
pub struct Driver<R: Runtime> {
    runtime: R,
    options: MqttOptions,
    machine: Machine,
    session: Option<SessionFile>,
    origin: StdInstant,
    link: Link,
    timer: R::Timer,
    /// Reconnection attempts since the last accepted connection.
    attempt: u32,
    commands: mpsc::UnboundedReceiver<Command>,
    messages: mpsc::Sender<Message>,
    /// Messages the application has not taken yet beyond the channel's capacity: while any
    /// wait here, the socket is not read.
    inbox: VecDeque<Message>,
    read_buf: Box<[u8]>,
    write_buf: BytesMut,
    /// Bytes ever queued for writing, and ever written: QoS 0 publications complete when
    /// `written` passes the end of their bytes.
    queued_bytes: u64,
    written_bytes: u64,
    publishes: HashMap<PublishId, (QoS, oneshot::Sender<Result<ReasonCode, Error>>)>,
    qos0_written: VecDeque<(u64, oneshot::Sender<Result<ReasonCode, Error>>)>,
    requests: HashMap<RequestId, oneshot::Sender<Result<Vec<ReasonCode>, Error>>>,
    disconnects: Vec<oneshot::Sender<Result<(), Error>>>,
    /// Until the first CONNACK: where `connect` waits for the outcome.
    connected: Option<oneshot::Sender<Result<(), Error>>>,
    /// Why the connection being closed ended.
    pending_loss: Option<ConnectionLost>,
}

impl<R: Runtime> Driver<R> {
    pub(super) fn new(
        runtime: R,
        options: MqttOptions,
        machine: Machine,
        session: Option<SessionFile>,
        commands: mpsc::UnboundedReceiver<Command>,
        messages: mpsc::Sender<Message>,
        connected: oneshot::Sender<Result<(), Error>>,
    ) -> Self {
        let origin = StdInstant::now();
        let timer = runtime.timer(origin + Duration::from_secs(3600));
        let mut driver = Driver {
            runtime,
            options,
            machine,
            session,
            origin,
            link: Link::Ended,
            timer,
            attempt: 0,
            commands,
            messages,
            inbox: VecDeque::new(),
            read_buf: vec![0; READ_CHUNK].into_boxed_slice(),
            write_buf: BytesMut::new(),
            queued_bytes: 0,
            written_bytes: 0,
            publishes: HashMap::new(),
            qos0_written: VecDeque::new(),
            requests: HashMap::new(),
            disconnects: Vec::new(),
            connected: Some(connected),
            pending_loss: None,
        };
        driver.open();
        driver
    }

    /// Spawns the driver on its runtime.
    pub(super) fn spawn(self) {
        let runtime = self.runtime.clone();
        runtime.spawn(Box::pin(self));
    }

    fn now(&self) -> Instant {
        let micros = self.origin.elapsed().as_micros();
        Instant::from_micros(u64::try_from(micros).unwrap_or(u64::MAX))
    }

    fn std_time(&self, at: Instant) -> StdInstant {
        self.origin + Duration::from_micros(at.as_micros())
    }

    /// Starts opening the transport.
    fn open(&mut self) {
        tracing::debug!(host = %self.options.host, port = self.options.port, "connecting");
        self.link = Link::Opening {
            opening: self.runtime.connect(&self.options),
            deadline: StdInstant::now() + self.options.connect_timeout,
        };
    }

    /// The transport could not be opened, or the connection ended: try again later, or end.
    fn retry_or_end(&mut self, error: Error) {
        if let Some(connected) = self.connected.take() {
            // The first connection is the caller's to retry.
            let _ = connected.send(Err(error));
            self.end(None);
            return;
        }
        match self.options.reconnect {
            Some(backoff) => {
                let delay = backoff.delay(self.attempt, fastrand::u32(..));
                self.attempt = self.attempt.saturating_add(1);
                tracing::warn!(%error, ?delay, attempt = self.attempt, "connection lost; reconnecting");
                self.link = Link::Waiting {
                    until: StdInstant::now() + delay,
                };
            }
            None => {
                tracing::warn!(%error, "connection lost; reconnection is off");
                self.end(Some(error));
            }
        }
    }

    /// The end: every pending request fails (with `error`, or [`Error::Closed`]), the message
    /// stream ends.
    fn end(&mut self, error: Option<Error>) {
        let failure = || match &error {
            Some(Error::ConnectionLost(why)) => Error::ConnectionLost(why.clone()),
            Some(Error::Refused(connack)) => Error::Refused(connack.clone()),
            _ => Error::Closed,
        };
        for (_, (_, tx)) in self.publishes.drain() {
            let _ = tx.send(Err(failure()));
        }
        for (_, tx) in self.qos0_written.drain(..) {
            let _ = tx.send(Err(failure()));
        }
        for (_, tx) in self.requests.drain() {
            let _ = tx.send(Err(failure()));
        }
        for tx in self.disconnects.drain(..) {
            let _ = tx.send(Ok(()));
        }
        self.commands.close();
        self.link = Link::Ended;
    }

    fn apply(&mut self, command: Command) {
        let now = self.now();
        match command {
            Command::Publish(publish, tx) => {
                let qos = publish.qos;
                match self.machine.publish(now, publish) {
                    Ok(id) => {
                        self.publishes.insert(id, (qos, tx));
                    }
                    Err(e) => {
                        let _ = tx.send(Err(e.into()));
                    }
                }
            }
            Command::Subscribe(subscriptions, properties, tx) => {
                match self.machine.subscribe_with(now, subscriptions, properties) {
                    Ok(id) => {
                        self.requests.insert(id, tx);
                    }
                    Err(e) => {
                        let _ = tx.send(Err(e.into()));
                    }
                }
            }
            Command::Unsubscribe(filters, tx) => match self.machine.unsubscribe(now, filters) {
                Ok(id) => {
                    self.requests.insert(id, tx);
                }
                Err(e) => {
                    let _ = tx.send(Err(e.into()));
                }
            },
            Command::Disconnect(tx) => {
                self.disconnects.push(tx);
                self.disconnect();
            }
        }
    }

    fn disconnect(&mut self) {
        if self.machine.is_connected() {
            // The state machine queues DISCONNECT and reports ClientDisconnect.
            self.machine.disconnect(self.now(), Disconnect::new());
        } else {
            // No connection to close politely.
            self.machine.handle_closed(self.now());
            tracing::info!("disconnected");
            self.end(None);
        }
    }

    fn dispatch(&mut self, event: Event) {
        match event {
            Event::Connected {
                session_present, ..
            } => {
                tracing::info!(host = %self.options.host, port = self.options.port, session_present, "connected");
                self.attempt = 0;
                if let Some(tx) = self.connected.take() {
                    let _ = tx.send(Ok(()));
                }
            }
            Event::Message(message) => self.deliver(message),
            Event::Published { id, reason_code } => match self.publishes.remove(&id) {
                Some((QoS::AtMostOnce, tx)) => {
                    // Written when the bytes queued so far are.
                    self.qos0_written.push_back((self.queued_bytes, tx));
                }
                Some((_, tx)) => {
                    let _ = tx.send(Ok(reason_code));
                }
                None => {}
            },
            Event::Dropped { ids } => {
                tracing::warn!(
                    count = ids.len(),
                    "the server lost the session; publications dropped"
                );
                for id in ids {
                    if let Some((_, tx)) = self.publishes.remove(&id) {
                        let _ = tx.send(Err(Error::Dropped));
                    }
                }
            }
            Event::Subscribed { id, reason_codes } | Event::Unsubscribed { id, reason_codes } => {
                if let Some(tx) = self.requests.remove(&id) {
                    let _ = tx.send(Ok(reason_codes));
                }
            }
            Event::Resubscribed {
                filters,
                reason_codes,
            } => {
                tracing::info!(
                    ?filters,
                    ?reason_codes,
                    "subscribed again after the server lost the session"
                );
            }
            Event::Disconnected(why) => self.lost(why),
            Event::Auth(_) => {
                // Enhanced authentication needs the application's answers; this driver does
                // not offer it (the state machine does).
                tracing::warn!(
                    "AUTH challenge received; enhanced authentication is not supported by this adapter"
                );
            }
        }
    }

    /// The state machine ended the connection.
    fn lost(&mut self, why: ConnectionLost) {
        let after = match &why {
            ConnectionLost::ClientDisconnect => After::End,
            _ if self.connected.is_some() || self.options.reconnect.is_none() => After::End,
            _ => After::Reconnect,
        };
        if why == ConnectionLost::ClientDisconnect {
            tracing::info!("disconnecting");
        } else {
            tracing::info!(why = %lost(&why), "connection ended");
        }
        let link = std::mem::replace(&mut self.link, Link::Ended);
        match link {
            // Write what the state machine queued last (DISCONNECT), then close.
            Link::Open(io) => {
                self.link = Link::Closing {
                    io,
                    deadline: StdInstant::now() + CLOSE_TIMEOUT,
                    after,
                };
                self.pending_loss = Some(why);
            }
            other => {
                self.link = other;
                self.closed(after, why);
            }
        }
    }

    /// The transport is closed: reconnect or end.
    fn closed(&mut self, after: After, why: ConnectionLost) {
        self.write_buf.clear();
        self.written_bytes = self.queued_bytes;
        self.complete_written();
        match (after, why) {
            (After::End, ConnectionLost::ClientDisconnect) => self.end(None),
            (After::End, why) => {
                let error = Error::from(why);
                if let Some(tx) = self.connected.take() {
                    let _ = tx.send(Err(error));
                    self.end(None);
                } else {
                    self.end(Some(error));
                }
            }
            (After::Reconnect, why) => self.retry_or_end(Error::from(why)),
        }
    }

    fn deliver(&mut self, message: Message) {
        if !self.inbox.is_empty() {
            self.inbox.push_back(message);
            return;
        }
        match self.messages.try_send(message) {
            Ok(()) => {}
            Err(e) if e.is_full() => self.inbox.push_back(e.into_inner()),
            // The application dropped the stream: it does not want messages.
            Err(_) => {}
        }
    }

    /// Completes the QoS 0 publications whose bytes have all been written.
    fn complete_written(&mut self) {
        while let Some(&(end, _)) = self.qos0_written.front() {
            if end > self.written_bytes {
                break;
            }
            if let Some((_, tx)) = self.qos0_written.pop_front() {
                let _ = tx.send(Ok(ReasonCode::Success));
            }
        }
    }
}

/// What a step of the link did.
enum Step {
    Idle,
    Progress,
    /// Did a turn's worth of work: yield to other tasks, then go on.
    Yield,
}

impl<R: Runtime> Driver<R> {
    /// Moves bytes and events out of the state machine: bytes into the write buffer, events
    /// to their waiters; then stores the session (before the bytes that follow from it go
    /// out).
    fn pump(&mut self) {
        loop {
            let mut any = false;
            while let Some(bytes) = self.machine.poll_transmit() {
                any = true;
                if matches!(self.link, Link::Open(_) | Link::Closing { .. }) {
                    self.queued_bytes += bytes.len() as u64;
                    self.write_buf.extend_from_slice(&bytes);
                }
            }
            while let Some(event) = self.machine.poll_event() {
                any = true;
                self.dispatch(event);
            }
            if !any {
                break;
            }
        }
        if let Some(session) = &mut self.session {
            if let Err(e) = session.store(&self.machine) {
                tracing::error!(%e, "the session could not be stored");
            }
        }
    }

    fn drive_link(&mut self, cx: &mut Context<'_>) -> Step {
        let now = StdInstant::now();
        match &mut self.link {
            Link::Opening { opening, deadline } => match opening.as_mut().poll(cx) {
                Poll::Ready(Ok(io)) => {
                    self.link = Link::Open(io);
                    self.machine.connect(self.now());
                    Step::Progress
                }
                Poll::Ready(Err(e)) => {
                    self.retry_or_end(e);
                    Step::Progress
                }
                Poll::Pending if now >= *deadline => {
                    let e = io::Error::new(io::ErrorKind::TimedOut, "connection timed out");
                    self.retry_or_end(e.into());
                    Step::Progress
                }
                Poll::Pending => Step::Idle,
            },
            Link::Waiting { until } if now >= *until => {
                self.open();
                Step::Progress
            }
            Link::Open(_) => self.read(cx),
            Link::Waiting { .. } | Link::Closing { .. } | Link::Ended => Step::Idle,
        }
    }

    /// Reads while the application keeps up with the messages.
    fn read(&mut self, cx: &mut Context<'_>) -> Step {
        let mut step = Step::Idle;
        for _ in 0..READS_PER_POLL {
            // The application is behind: stop reading (TCP pushes back on the broker), unless
            // the state machine waits for an answer (an acknowledgement of our own request,
            // PINGRESP), which must not be stuck behind unread messages.
            if !self.inbox.is_empty() && !self.machine.awaits_server() {
                return step;
            }
            let Link::Open(io) = &mut self.link else {
                return step;
            };
            match io.poll_read(cx, &mut self.read_buf) {
                Poll::Ready(Ok(0)) => {
                    tracing::debug!("the server closed the connection");
                    self.machine.handle_closed(self.now());
                    self.pump();
                    return Step::Progress;
                }
                Poll::Ready(Ok(n)) => {
                    let now = self.now();
                    let bytes = self.read_buf.get(..n).unwrap_or_default();
                    self.machine.handle_read(now, bytes);
                    self.pump();
                    step = Step::Progress;
                }
                Poll::Ready(Err(e)) => {
                    tracing::debug!(%e, "read failed");
                    self.machine.handle_closed(self.now());
                    self.pump();
                    return Step::Progress;
                }
                Poll::Pending => return step,
            }
        }
        Step::Yield
    }

    /// Writes the write buffer; completes QoS 0 publications written; finishes closing.
    fn write(&mut self, cx: &mut Context<'_>) -> Step {
        let mut step = Step::Idle;
        let io = match &mut self.link {
            Link::Open(io) | Link::Closing { io, .. } => io,
            _ => return step,
        };
        let mut failed = false;
        while !self.write_buf.is_empty() {
            match io.poll_write(cx, &self.write_buf) {
                Poll::Ready(Ok(n)) if n > 0 => {
                    self.write_buf.advance(n);
                    self.written_bytes += n as u64;
                    step = Step::Progress;
                }
                Poll::Ready(Ok(_)) | Poll::Ready(Err(_)) => {
                    failed = true;
                    break;
                }
                Poll::Pending => break,
            }
        }
        if !failed && self.write_buf.is_empty() {
            if let Poll::Ready(Err(_)) = io.poll_flush(cx) {
                failed = true;
            }
        }
        self.complete_written();
        if failed {
            tracing::debug!("write failed");
            if let Link::Open(_) = self.link {
                self.machine.handle_closed(self.now());
                self.pump();
                return Step::Progress;
            }
        }
        if let Link::Closing {
            io,
            deadline,
            after,
        } = &mut self.link
        {
            let done = failed
                || StdInstant::now() >= *deadline
                || (self.write_buf.is_empty() && io.poll_close(cx).is_ready());
            if done {
                let after = *after;
                let why = self
                    .pending_loss
                    .take()
                    .unwrap_or(ConnectionLost::TransportClosed);
                self.link = Link::Ended;
                self.closed(after, why);
                return Step::Progress;
            }
        }
        step
    }

    /// Hands waiting messages to the application as it makes room.
    fn deliver_inbox(&mut self, cx: &mut Context<'_>) -> Step {
        let mut step = Step::Idle;
        while !self.inbox.is_empty() {
            match self.messages.poll_ready(cx) {
                Poll::Ready(Ok(())) => {
                    if let Some(m) = self.inbox.pop_front() {
                        if let Err(e) = self.messages.try_send(m) {
                            // Room was just granted; keep the message if it vanished anyway.
                            self.inbox.push_front(e.into_inner());
                            break;
                        }
                    }
                    step = Step::Progress;
                }
                Poll::Ready(Err(_)) => {
                    // The application dropped the stream.
                    self.inbox.clear();
                    step = Step::Progress;
                }
                Poll::Pending => break,
            }
        }
        step
    }

    /// The earliest moment something is due: the state machine's deadline or the link's.
    fn next_deadline(&self) -> Option<StdInstant> {
        let machine = self.machine.poll_timeout().map(|t| self.std_time(t));
        let link = match &self.link {
            Link::Opening { deadline, .. } | Link::Closing { deadline, .. } => Some(*deadline),
            Link::Waiting { until } => Some(*until),
            Link::Open(_) | Link::Ended => None,
        };
        match (machine, link) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }
}

impl<R: Runtime> Future for Driver<R> {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.get_mut();
        loop {
            let mut progress = false;
            let mut yield_now = false;
            // Commands from the handles.
            if !matches!(this.link, Link::Ended) {
                loop {
                    match Pin::new(&mut this.commands).poll_next(cx) {
                        Poll::Ready(Some(command)) => {
                            this.apply(command);
                            this.pump();
                            progress = true;
                        }
                        Poll::Ready(None) => {
                            // Every handle and the message stream are gone: nobody can use
                            // the connection any more.
                            this.disconnect();
                            this.pump();
                            progress = true;
                            break;
                        }
                        Poll::Pending => break,
                    }
                    if matches!(this.link, Link::Ended) {
                        break;
                    }
                }
            }
            match this.drive_link(cx) {
                Step::Progress => {
                    this.pump();
                    progress = true;
                }
                Step::Yield => yield_now = true,
                Step::Idle => {}
            }
            // The state machine's deadline (keep alive, CONNACK timeout).
            if let Some(deadline) = this.machine.poll_timeout() {
                let now = this.now();
                if deadline <= now {
                    this.machine.handle_timeout(now);
                    this.pump();
                    progress = true;
                }
            }
            for step in [this.write(cx), this.deliver_inbox(cx)] {
                match step {
                    Step::Progress => progress = true,
                    Step::Yield => yield_now = true,
                    Step::Idle => {}
                }
            }
            if matches!(this.link, Link::Ended) && this.inbox.is_empty() {
                return Poll::Ready(());
            }
            if yield_now {
                cx.waker().wake_by_ref();
                return Poll::Pending;
            }
            if progress {
                continue;
            }
            if let Some(deadline) = this.next_deadline() {
                this.timer.reset(deadline);
                if this.timer.poll_expired(cx).is_ready() {
                    continue;
                }
            }
            return Poll::Pending;
        }
    }
}
