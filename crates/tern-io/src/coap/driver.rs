//! The driver: one future per UDP socket that owns the [`Endpoint`] and runs its loop.
//!
//! Datagrams read go to `handle_datagram`, the deadline to `handle_timeout`, commands from
//! the handles to `request` / `observe` / `ping` / `cancel` / `respond(_observable)` /
//! `notify`; after each, `poll_transmit` fills the outbox and `poll_event` is routed:
//! responses, failures and pongs to the waiting handle's one-shot channel, notifications to
//! the observation's feed, requests to the server (or 4.04 when the socket serves nothing). The driver makes no protocol decision: retransmissions, deduplication,
//! piggybacked or separate responses, timeouts all come from the endpoint.

use std::collections::{HashMap, VecDeque};
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant as StdInstant};

use bytes::Bytes;
use futures_channel::{mpsc, oneshot};
use futures_core::Stream;
use tern_coap::Code;
use tern_coap::endpoint::{
    Endpoint, EndpointConfig, Event, IncomingId, Instant, ObservationEnd, Request, RequestId,
    Response, Transmit,
};

use super::Error;
use super::observe::Feed;
use crate::runtime::{Runtime, Timer, UdpSocket};

/// What the handles ask of the driver.
#[derive(Debug)]
pub(super) enum Command {
    /// A request; `key` names it for [`Command::Cancel`].
    Request {
        key: u64,
        peer: SocketAddr,
        request: Request,
        reply: oneshot::Sender<Result<Response, Error>>,
    },
    /// A CoAP ping.
    Ping {
        key: u64,
        peer: SocketAddr,
        reply: oneshot::Sender<Result<(), Error>>,
    },
    /// An observation: notifications go to `feed`, and `started` learns whether the
    /// registration got an answer.
    Observe {
        key: u64,
        peer: SocketAddr,
        request: Request,
        feed: Arc<Feed>,
        started: oneshot::Sender<Result<(), Error>>,
    },
    /// The caller stopped waiting for the request or ping `key`, or cancelled the
    /// observation `key` (which deregisters it).
    Cancel { key: u64 },
    /// The answer to a served request; with the resource key of an observable route.
    Respond {
        id: IncomingId,
        response: Response,
        resource: Option<String>,
    },
    /// A resource changed: notify its observers, and say how many.
    Notify {
        resource: String,
        response: Response,
        sent: oneshot::Sender<usize>,
    },
    /// Forget a resource's observers without telling them, and say how many.
    Forget {
        resource: String,
        sent: oneshot::Sender<usize>,
    },
}

/// A received request, for the server's dispatch.
#[derive(Debug)]
pub(super) struct Served {
    pub(super) id: IncomingId,
    pub(super) peer: SocketAddr,
    pub(super) request: Request,
}

/// What the server's loop receives: requests, or the socket's failure.
pub(super) type ToServer = Result<Served, io::Error>;

/// A running driver, as the handles see it.
#[derive(Debug, Clone)]
pub(super) struct Link {
    pub(super) commands: mpsc::UnboundedSender<Command>,
    pub(super) local: SocketAddr,
}

impl Link {
    pub(super) fn send(&self, command: Command) -> Result<(), Error> {
        self.commands
            .unbounded_send(command)
            .map_err(|_| Error::Closed)
    }

    pub(super) fn is_closed(&self) -> bool {
        self.commands.is_closed()
    }
}

/// Binds `addr` on `runtime` and spawns the driver of the new socket. Requests received go
/// to `server`, or are answered 4.04 without one.
pub(super) fn start<R: Runtime>(
    runtime: &R,
    addr: SocketAddr,
    config: EndpointConfig,
    server: Option<mpsc::UnboundedSender<ToServer>>,
) -> Result<Link, Error> {
    let socket = runtime.bind_udp(addr)?;
    let local = socket.local_addr()?;
    let (commands_tx, commands) = mpsc::unbounded();
    let origin = StdInstant::now();
    let driver: Driver<R> = Driver {
        endpoint: Endpoint::new(config, fastrand::u64(..)),
        socket,
        timer: runtime.timer(origin + IDLE),
        origin,
        commands,
        closing: false,
        server,
        waiters: HashMap::new(),
        keys: HashMap::new(),
        outbox: VecDeque::new(),
        recv_buf: vec![0; RECV_BUF].into_boxed_slice(),
        failed: None,
    };
    tracing::debug!(%local, "CoAP socket bound");
    runtime.spawn(Box::pin(driver));
    Ok(Link {
        commands: commands_tx,
        local,
    })
}

/// Where the outcome of a request or ping goes, or an observation's notifications.
#[derive(Debug)]
enum Waiter {
    Response(oneshot::Sender<Result<Response, Error>>),
    Pong(oneshot::Sender<Result<(), Error>>),
    Observe {
        feed: Arc<Feed>,
        /// Until the first notification (or the end).
        started: Option<oneshot::Sender<Result<(), Error>>>,
    },
}

impl Waiter {
    fn fail(self, error: Error) {
        match self {
            Waiter::Response(tx) => {
                let _ = tx.send(Err(error));
            }
            Waiter::Pong(tx) => {
                let _ = tx.send(Err(error));
            }
            Waiter::Observe { feed, started } => {
                if let Some(tx) = started {
                    let _ = tx.send(Err(error));
                }
                feed.end(None);
            }
        }
    }
}

/// Most datagrams read per wake-up before other tasks get a turn.
const READS_PER_POLL: usize = 64;
/// Room for the largest UDP payload, so that no datagram is cut.
const RECV_BUF: usize = 65_536;
/// Datagrams waiting for the socket beyond which reading pauses.
const OUTBOX_LIMIT: usize = 1_024;
/// The timer's deadline while the endpoint has none.
const IDLE: Duration = Duration::from_secs(3_600);

/// Runs one socket's endpoint: built and spawned by [`start`].
struct Driver<R: Runtime> {
    endpoint: Endpoint,
    socket: R::Udp,
    timer: R::Timer,
    origin: StdInstant,
    commands: mpsc::UnboundedReceiver<Command>,
    /// Every handle is gone: flush the outbox and end.
    closing: bool,
    server: Option<mpsc::UnboundedSender<ToServer>>,
    waiters: HashMap<RequestId, (u64, Waiter)>,
    keys: HashMap<u64, RequestId>,
    outbox: VecDeque<Transmit>,
    recv_buf: Box<[u8]>,
    /// The socket failed for good.
    failed: Option<io::Error>,
}

/// What reading did.
enum Step {
    Idle,
    Progress,
    /// Read a turn's worth: yield, then go on.
    Yield,
}

impl<R: Runtime> Driver<R> {
    fn now(&self) -> Instant {
        let micros = self.origin.elapsed().as_micros();
        Instant::from_micros(u64::try_from(micros).unwrap_or(u64::MAX))
    }

    fn std_time(&self, at: Instant) -> StdInstant {
        self.origin + Duration::from_micros(at.as_micros())
    }

    fn apply(&mut self, command: Command) {
        let now = self.now();
        match command {
            Command::Request {
                key,
                peer,
                request,
                reply,
            } => match self.endpoint.request(now, peer, request) {
                Ok(id) => {
                    self.waiters.insert(id, (key, Waiter::Response(reply)));
                    self.keys.insert(key, id);
                }
                Err(e) => {
                    let _ = reply.send(Err(e.into()));
                }
            },
            Command::Ping { key, peer, reply } => match self.endpoint.ping(now, peer) {
                Ok(id) => {
                    self.waiters.insert(id, (key, Waiter::Pong(reply)));
                    self.keys.insert(key, id);
                }
                Err(e) => {
                    let _ = reply.send(Err(e.into()));
                }
            },
            Command::Observe {
                key,
                peer,
                request,
                feed,
                started,
            } => match self.endpoint.observe(now, peer, request) {
                Ok(id) => {
                    let started = Some(started);
                    self.waiters
                        .insert(id, (key, Waiter::Observe { feed, started }));
                    self.keys.insert(key, id);
                }
                Err(e) => {
                    let _ = started.send(Err(e.into()));
                }
            },
            Command::Cancel { key } => {
                if let Some(id) = self.keys.remove(&key) {
                    if let Some((_, Waiter::Observe { feed, .. })) = self.waiters.remove(&id) {
                        feed.end(None);
                    }
                    self.endpoint.cancel(now, id);
                }
            }
            Command::Respond {
                id,
                response,
                resource,
            } => self.respond(id, response, resource),
            Command::Notify {
                resource,
                response,
                sent,
            } => {
                let count = self.endpoint.notify(now, resource.as_bytes(), response);
                tracing::trace!(%resource, count, "notified");
                let _ = sent.send(count);
            }
            Command::Forget { resource, sent } => {
                let count = self.endpoint.forget_observers(resource.as_bytes());
                tracing::debug!(%resource, count, "observers forgotten");
                let _ = sent.send(count);
            }
        }
    }

    fn respond(&mut self, id: IncomingId, response: Response, resource: Option<String>) {
        let now = self.now();
        super::answer(
            &mut self.endpoint,
            now,
            id,
            response,
            resource.as_deref().map(str::as_bytes),
        );
    }

    fn dispatch(&mut self, event: Event) {
        match event {
            Event::Request { id, peer, request } => self.serve(id, peer, request),
            Event::Response { id, response } => match self.complete(id) {
                Some(Waiter::Response(tx)) => {
                    let _ = tx.send(Ok(response));
                }
                Some(other) => other.fail(Error::Closed),
                None => {}
            },
            Event::Notification { id, response } => {
                if let Some((_, Waiter::Observe { feed, started })) = self.waiters.get_mut(&id) {
                    if let Some(tx) = started.take() {
                        let _ = tx.send(Ok(()));
                    }
                    feed.push(response);
                }
            }
            Event::ObservationEnded { id, reason } => {
                tracing::debug!(%reason, "observation ended");
                if let Some(Waiter::Observe { feed, started }) = self.complete(id) {
                    if let Some(tx) = started {
                        let _ = tx.send(match reason {
                            ObservationEnd::Failed(e) => Err(e.into()),
                            _ => Ok(()),
                        });
                    }
                    feed.end(Some(reason));
                }
            }
            Event::ObserverRemoved { resource, peer } => {
                let resource = String::from_utf8_lossy(&resource);
                tracing::debug!(%resource, %peer, "observer removed");
            }
            Event::Pong { id } => match self.complete(id) {
                Some(Waiter::Pong(tx)) => {
                    let _ = tx.send(Ok(()));
                }
                Some(waiter) => waiter.fail(Error::Reset),
                None => {}
            },
            Event::RequestFailed { id, error } => {
                tracing::debug!(%error, "request failed");
                if let Some(waiter) = self.complete(id) {
                    waiter.fail(error.into());
                }
            }
            Event::ResponseFailed { id, error } => {
                tracing::debug!(?id, %error, "separate response not acknowledged");
            }
            other => tracing::trace!(?other, "event not routed by this adapter"),
        }
    }

    fn complete(&mut self, id: RequestId) -> Option<Waiter> {
        let (key, waiter) = self.waiters.remove(&id)?;
        self.keys.remove(&key);
        Some(waiter)
    }

    /// A request for the application: to the server, or 4.04 when there is none.
    fn serve(&mut self, id: IncomingId, peer: SocketAddr, request: Request) {
        if let Some(server) = &self.server {
            match server.unbounded_send(Ok(Served { id, peer, request })) {
                Ok(()) => return,
                Err(_) => self.server = None,
            }
        }
        self.respond(id, Response::new(Code::NOT_FOUND), None);
    }

    /// Moves datagrams and events out of the endpoint until it has none.
    fn pump(&mut self) {
        loop {
            let mut any = false;
            while let Some(t) = self.endpoint.poll_transmit() {
                self.outbox.push_back(t);
                any = true;
            }
            while let Some(event) = self.endpoint.poll_event() {
                self.dispatch(event);
                any = true;
            }
            if !any {
                break;
            }
        }
    }

    fn read(&mut self, cx: &mut Context<'_>) -> Step {
        let mut step = Step::Idle;
        for _ in 0..READS_PER_POLL {
            if self.outbox.len() >= OUTBOX_LIMIT {
                return step;
            }
            match self.socket.poll_recv_from(cx, &mut self.recv_buf) {
                Poll::Ready(Ok((n, peer))) => {
                    let datagram = Bytes::copy_from_slice(self.recv_buf.get(..n).unwrap_or(&[]));
                    let now = self.now();
                    self.endpoint.handle_datagram(now, peer, datagram);
                    self.pump();
                    step = Step::Progress;
                }
                Poll::Ready(Err(e)) if transient(&e) => {
                    // An ICMP error for an earlier datagram (reported on some systems):
                    // the endpoint's timers handle the peer that is not there.
                    tracing::debug!(%e, "receive error ignored");
                    step = Step::Progress;
                }
                Poll::Ready(Err(e)) => {
                    tracing::error!(%e, "the CoAP socket failed");
                    self.failed = Some(e);
                    return Step::Progress;
                }
                Poll::Pending => return step,
            }
        }
        Step::Yield
    }

    /// Sends the outbox; a datagram the socket refuses is dropped (the endpoint retransmits
    /// what must arrive).
    fn write(&mut self, cx: &mut Context<'_>) -> bool {
        let mut progress = false;
        while let Some(t) = self.outbox.front() {
            match self.socket.poll_send_to(cx, &t.datagram, t.destination) {
                Poll::Ready(result) => {
                    if let Err(e) = result {
                        tracing::debug!(%e, destination = %t.destination, "datagram not sent");
                    }
                    self.outbox.pop_front();
                    progress = true;
                }
                Poll::Pending => break,
            }
        }
        progress
    }

    /// The socket failed: every waiter and the server learn it.
    fn fail(&mut self, error: &io::Error) {
        let copy = || io::Error::new(error.kind(), error.to_string());
        for (_, (_, waiter)) in self.waiters.drain() {
            waiter.fail(Error::Io(copy()));
        }
        self.keys.clear();
        if let Some(server) = self.server.take() {
            let _ = server.unbounded_send(Err(copy()));
        }
        self.commands.close();
    }
}

/// Receive errors that say something about an earlier datagram, not about the socket.
fn transient(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::ConnectionReset
            | io::ErrorKind::ConnectionRefused
            | io::ErrorKind::Interrupted
            | io::ErrorKind::WouldBlock
    )
}

impl<R: Runtime> Future for Driver<R> {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.get_mut();
        loop {
            let mut progress = false;
            let mut yield_now = false;
            while !this.closing {
                match Pin::new(&mut this.commands).poll_next(cx) {
                    Poll::Ready(Some(command)) => {
                        this.apply(command);
                        this.pump();
                        progress = true;
                    }
                    Poll::Ready(None) => {
                        // Every handle is gone: nobody can learn an outcome any more.
                        tracing::debug!("every handle dropped; closing the CoAP socket");
                        this.closing = true;
                    }
                    Poll::Pending => break,
                }
            }
            if !this.closing {
                match this.read(cx) {
                    Step::Progress => progress = true,
                    Step::Yield => yield_now = true,
                    Step::Idle => {}
                }
            }
            if let Some(error) = this.failed.take() {
                this.fail(&error);
                return Poll::Ready(());
            }
            if let Some(deadline) = this.endpoint.poll_timeout() {
                let now = this.now();
                if deadline <= now {
                    this.endpoint.handle_timeout(now);
                    this.pump();
                    progress = true;
                }
            }
            if this.write(cx) {
                progress = true;
            }
            if this.closing && this.outbox.is_empty() {
                return Poll::Ready(());
            }
            if yield_now {
                cx.waker().wake_by_ref();
                return Poll::Pending;
            }
            if progress {
                continue;
            }
            let deadline = this.endpoint.poll_timeout().map(|t| this.std_time(t));
            this.timer
                .reset(deadline.unwrap_or_else(|| StdInstant::now() + IDLE));
            if this.timer.poll_expired(cx).is_ready() {
                continue;
            }
            return Poll::Pending;
        }
    }
}
