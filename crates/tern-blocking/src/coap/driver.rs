//! One driver thread per UDP socket owns the [`Endpoint`], reads the socket and runs the
//! loop every adapter runs:
//!
//! ```text
//! loop {
//!     take every command waiting in the channel       ──►  request, respond, notify, cancel
//!     read the socket, blocking until poll_timeout()  ──►  handle_datagram / handle_timeout
//!     send every poll_transmit(), route every poll_event() (requests to the handlers, here)
//! }
//! ```
//!
//! The driver sleeps in exactly one place, the socket's read (its timeout is the endpoint's
//! next deadline), and so costs nothing while idle. A request is read, handled, answered by
//! its handler and the answer sent without leaving this thread: no hand-off between threads
//! on a server's hot path. Handles on other threads put their commands in the channel and wake
//! the driver with an empty datagram to its own socket (no CoAP message is empty: RFC 7252
//! §3 needs four bytes, so it cannot be mistaken for one). A handle used on the driver thread
//! itself — a handler's [`Responder`](super::Responder) or [`Notifier`](super::Notifier) —
//! reaches the endpoint directly through [`Link::with_driven`], and a call that would wait for
//! the driver there fails with [`Error::Reentrant`] instead of waiting for itself.
//!
//! When the driver is slow, datagrams wait in the kernel's socket buffer and beyond it are
//! dropped, as UDP allows; commands from other threads wait in the channel, whose length is
//! bounded by the threads that wait for their answers and by the endpoint's limits on the
//! requests it has handed to the application.

use std::cell::RefCell;
use std::collections::{HashMap, VecDeque};
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, UdpSocket};
use std::rc::Rc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, Sender, SyncSender};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant as StdInstant};

use bytes::Bytes;
use tern_coap::Code;
use tern_coap::endpoint::{Endpoint, Event, IncomingId, Instant, Request, RequestId, Response};
use tern_io::coap::{Error, target};

use super::Router;
use super::config::{Config, Datagram, Direction, Hook};
use super::observe::{End, Mailbox};
use super::server::dispatch;

/// Larger than any UDP datagram, so that none is cut short without notice.
const READ_BUFFER: usize = 65_536;

/// The longest the driver blocks in one read: a backstop in case a wake-up datagram is lost
/// (the socket's receive buffer was full), so that a command waits at most this long.
const READ_BACKSTOP: Duration = Duration::from_secs(1);

/// How much later than the endpoint's deadline a read may time out, so that the socket's
/// timeout need not be set again before every read while datagrams keep coming.
const TIMEOUT_SLACK: Duration = Duration::from_millis(5);

/// Numbers the sockets of this process, for [`DRIVEN`].
static SOCKET_IDS: AtomicU64 = AtomicU64::new(0);

thread_local! {
    /// On a driver thread: the socket it drives and its endpoint, for the handles its request
    /// handlers use there. `None` on every other thread.
    static DRIVEN: RefCell<Option<Driven>> = const { RefCell::new(None) };
}

/// What a driver thread shares with the handles used on it.
struct Driven {
    socket: u64,
    endpoint: Rc<RefCell<Endpoint>>,
    start: StdInstant,
}

/// The endpoint's clock: microseconds since `start`, the driver's start.
fn clock(start: StdInstant) -> Instant {
    let micros = u64::try_from(start.elapsed().as_micros()).unwrap_or(u64::MAX);
    Instant::from_micros(micros)
}

/// Everything the driver takes from other threads.
pub(crate) enum Input {
    /// A command from a handle.
    Command(Command),
    /// The socket's owner is gone: stop.
    Stop,
}

/// A one-shot answer to the handle that asked.
pub(crate) type Reply<T> = SyncSender<Result<T, Error>>;

/// What the handles ask for.
pub(crate) enum Command {
    /// Send `request` to `peer`; `ticket` names it for [`Command::Cancel`].
    Request {
        ticket: u64,
        peer: SocketAddr,
        request: Request,
        reply: Reply<Response>,
    },
    /// Send a CoAP ping to `peer`.
    Ping {
        ticket: u64,
        peer: SocketAddr,
        reply: Reply<()>,
    },
    /// Forget the request or ping `ticket` (its caller stopped waiting).
    Cancel { ticket: u64 },
    /// Observe a resource at `peer`; notifications go to `mailbox`.
    Observe {
        ticket: u64,
        peer: SocketAddr,
        request: Request,
        mailbox: Arc<Mailbox>,
    },
    /// Answer the received request `id`; with `resource`, as an observable resource
    /// (registering the client when the request asked to observe).
    Respond {
        id: IncomingId,
        response: Response,
        resource: Option<Bytes>,
    },
    /// `resource` changed: notify its observers; how many, to `sent`.
    Notify {
        resource: Bytes,
        response: Response,
        sent: Reply<usize>,
    },
    /// Forget `resource`'s observers without telling them; how many, to `sent`.
    Forget { resource: Bytes, sent: Reply<usize> },
    /// Route requests to `router`'s handlers from now on (those that waited first).
    Serve(Box<Router>),
    /// The server was dropped without serving: answer requests 4.04 Not Found.
    Unserved,
}

/// A request from a peer, waiting for the server to serve.
struct Received {
    id: IncomingId,
    peer: SocketAddr,
    request: Request,
}

/// Who answers the requests that peers send to a socket.
enum Serving {
    /// A client's socket, or a server dropped unserved: 4.04 Not Found.
    Nobody,
    /// A server bound but not serving yet: the requests wait.
    Waiting(VecDeque<Received>),
    /// A server's handlers.
    Router(Box<Router>),
}

/// The way to a socket's driver from any thread, cheap to clone: what the handles hold.
#[derive(Clone)]
pub(crate) struct Link {
    inner: Arc<LinkInner>,
}

struct LinkInner {
    id: u64,
    inputs: Sender<Input>,
    socket: Arc<UdpSocket>,
    /// Where a datagram reaches the socket: its own address (loopback for a wildcard).
    wake: SocketAddr,
}

impl Link {
    /// Hands `input` to the driver, waking it unless this is the driver's own thread (which
    /// takes every command before it reads again).
    pub(crate) fn send(&self, input: Input) -> Result<(), Error> {
        self.inner.inputs.send(input).map_err(|_| Error::Closed)?;
        if !self.on_driver_thread() {
            // Lost only when the socket's buffer is full, and then the driver is busy reading
            // and takes the command soon anyway (or after READ_BACKSTOP).
            let _ = self.inner.socket.send_to(&[], self.inner.wake);
        }
        Ok(())
    }

    /// Whether this is the socket's driver thread (where its request handlers run).
    pub(crate) fn on_driver_thread(&self) -> bool {
        DRIVEN.with(|driven| {
            driven
                .borrow()
                .as_ref()
                .is_some_and(|d| d.socket == self.inner.id)
        })
    }

    /// On the socket's driver thread, runs `f` with its endpoint and the time now; elsewhere
    /// gives `arg` back, for the caller to send as a command.
    pub(crate) fn with_driven<A, T>(
        &self,
        arg: A,
        f: impl FnOnce(&mut Endpoint, Instant, A) -> T,
    ) -> Result<T, A> {
        let driven = DRIVEN.with(|driven| {
            driven
                .borrow()
                .as_ref()
                .filter(|d| d.socket == self.inner.id)
                .map(|d| (d.endpoint.clone(), d.start))
        });
        let Some((endpoint, start)) = driven else {
            return Err(arg);
        };
        // The driver holds no borrow of the endpoint while a handler runs.
        match endpoint.try_borrow_mut() {
            Ok(mut endpoint) => Ok(f(&mut endpoint, clock(start), arg)),
            Err(_) => Err(arg),
        }
    }
}

/// A bound socket with its driver thread. Dropping it stops the driver and waits for it, so
/// the port is free again afterwards.
pub(crate) struct Socket {
    link: Link,
    local_addr: SocketAddr,
    next_ticket: AtomicU64,
    driver: Mutex<Option<JoinHandle<()>>>,
}

impl Socket {
    /// Binds `addr` and starts the driver. A server's socket (`server`) keeps the requests
    /// from peers until it serves; others answer them 4.04 Not Found.
    pub(crate) fn bind(addr: SocketAddr, config: &Config, server: bool) -> Result<Socket, Error> {
        let socket = Arc::new(UdpSocket::bind(addr)?);
        let local_addr = socket.local_addr()?;
        socket.set_read_timeout(Some(READ_BACKSTOP))?;
        let (inputs, receiver) = mpsc::channel();
        let link = Link {
            inner: Arc::new(LinkInner {
                id: SOCKET_IDS.fetch_add(1, Ordering::Relaxed),
                inputs,
                socket: socket.clone(),
                wake: wake_address(local_addr),
            }),
        };
        let endpoint = Endpoint::new(config.endpoint.clone(), fastrand::u64(..));
        let serving = if server {
            Serving::Waiting(VecDeque::new())
        } else {
            Serving::Nobody
        };
        let (driver_link, hook) = (link.clone(), config.on_datagram.clone());
        let driver = thread::Builder::new()
            .name("tern-coap".into())
            .spawn(move || {
                Driver {
                    endpoint: Rc::new(RefCell::new(endpoint)),
                    socket,
                    local_addr,
                    link: driver_link,
                    inputs: receiver,
                    start: StdInstant::now(),
                    hook,
                    serving,
                    waiters: HashMap::new(),
                    tickets: HashMap::new(),
                    armed: READ_BACKSTOP,
                    done: false,
                }
                .run();
            })?;
        tracing::debug!(%local_addr, "CoAP socket bound");
        Ok(Socket {
            link,
            local_addr,
            next_ticket: AtomicU64::new(0),
            driver: Mutex::new(Some(driver)),
        })
    }

    pub(crate) fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// A number for a new request, unique on this socket.
    pub(crate) fn ticket(&self) -> u64 {
        self.next_ticket.fetch_add(1, Ordering::Relaxed)
    }

    /// Hands `command` to the driver.
    pub(crate) fn send(&self, command: Command) -> Result<(), Error> {
        self.link.send(Input::Command(command))
    }

    /// The way to the driver, for handles that answer requests and notify.
    pub(crate) fn link(&self) -> &Link {
        &self.link
    }

    /// Blocks until the driver ends (the socket failed or was closed), unless this is the
    /// driver's own thread.
    pub(crate) fn wait(&self) {
        let driver = self
            .driver
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if let Some(driver) = driver {
            // A socket dropped on its own driver thread (by a handler holding the last handle)
            // cannot wait for itself; the driver ends after this input anyway.
            if driver.thread().id() != thread::current().id() {
                let _ = driver.join();
            }
        }
    }

    /// Stops the driver and waits for it (also when other handles still share the socket).
    pub(crate) fn close(&self) {
        let _ = self.link.send(Input::Stop);
        self.wait();
    }
}

impl Drop for Socket {
    fn drop(&mut self) {
        self.close();
    }
}

/// Who waits for the outcome of one of our requests.
enum Waiter {
    Response { ticket: u64, reply: Reply<Response> },
    Pong { ticket: u64, reply: Reply<()> },
    Observation { ticket: u64, mailbox: Arc<Mailbox> },
}

impl Waiter {
    fn ticket(&self) -> u64 {
        match self {
            Waiter::Response { ticket, .. }
            | Waiter::Pong { ticket, .. }
            | Waiter::Observation { ticket, .. } => *ticket,
        }
    }

    fn fail(self, error: Error) {
        // A caller that stopped waiting has nobody to tell.
        match self {
            Waiter::Response { reply, .. } => {
                let _ = reply.send(Err(error));
            }
            Waiter::Pong { reply, .. } => {
                let _ = reply.send(Err(error));
            }
            Waiter::Observation { mailbox, .. } => mailbox.end(End::Closed),
        }
    }
}

struct Driver {
    /// Shared with the handles used on this thread (through [`DRIVEN`]); borrowed only for
    /// one call at a time, never while a handler runs.
    endpoint: Rc<RefCell<Endpoint>>,
    socket: Arc<UdpSocket>,
    local_addr: SocketAddr,
    /// For the responders of the requests handed to handlers.
    link: Link,
    inputs: Receiver<Input>,
    /// The origin of the endpoint's clock.
    start: StdInstant,
    hook: Option<Hook>,
    serving: Serving,
    waiters: HashMap<RequestId, Waiter>,
    /// Tickets of the handles to the endpoint's ids, for cancelling.
    tickets: HashMap<u64, RequestId>,
    /// The socket's read timeout as last set.
    armed: Duration,
    done: bool,
}

/// What a read of the socket gave.
enum Read {
    Datagram(SocketAddr, Bytes),
    /// A wake-up, a timeout, or an error that leaves the socket usable.
    Nothing,
}

impl Driver {
    fn run(mut self) {
        DRIVEN.with(|driven| {
            *driven.borrow_mut() = Some(Driven {
                socket: self.link.inner.id,
                endpoint: self.endpoint.clone(),
                start: self.start,
            });
        });
        let mut buf = vec![0u8; READ_BUFFER];
        while !self.done {
            // Commands first: each may add datagrams to send and events to route.
            let mut took = false;
            while let Ok(input) = self.inputs.try_recv() {
                took = true;
                self.handle(input);
                self.flush();
                if self.done {
                    break;
                }
            }
            if took {
                // Handlers that ran may have queued commands of their own.
                continue;
            }
            let deadline = self.endpoint.borrow().poll_timeout();
            let now = self.now();
            let wait = match deadline {
                Some(deadline) if deadline <= now => {
                    self.endpoint.borrow_mut().handle_timeout(now);
                    self.flush();
                    continue;
                }
                Some(deadline) => {
                    Duration::from_micros(deadline.as_micros().saturating_sub(now.as_micros()))
                        .min(READ_BACKSTOP)
                }
                None => READ_BACKSTOP,
            };
            match self.read(&mut buf, wait) {
                Ok(Read::Datagram(peer, bytes)) => {
                    if let Some(hook) = &self.hook {
                        hook(&Datagram {
                            direction: Direction::Received,
                            peer: target::canonical(peer),
                            bytes: &bytes,
                        });
                    }
                    let now = self.now();
                    self.endpoint.borrow_mut().handle_datagram(now, peer, bytes);
                }
                Ok(Read::Nothing) => {}
                Err(e) => {
                    tracing::warn!(error = %e, local_addr = %self.local_addr, "reading the CoAP socket failed");
                    self.done = true;
                }
            }
            let now = self.now();
            if self
                .endpoint
                .borrow()
                .poll_timeout()
                .is_some_and(|d| d <= now)
            {
                self.endpoint.borrow_mut().handle_timeout(now);
            }
            self.flush();
        }
        self.finish();
        DRIVEN.with(|driven| driven.borrow_mut().take());
    }

    /// Reads one datagram, waiting at most about `wait` (never zero).
    fn read(&mut self, buf: &mut [u8], wait: Duration) -> io::Result<Read> {
        let wait = wait.max(Duration::from_micros(1));
        // The timeout set before may do when it ends no later than TIMEOUT_SLACK after `wait`
        // and is not much shorter (which would only wake the driver for nothing).
        if self.armed > wait + TIMEOUT_SLACK || self.armed * 2 < wait {
            self.socket.set_read_timeout(Some(wait))?;
            self.armed = wait;
        }
        match self.socket.recv_from(buf) {
            // Empty: a handle's wake-up (or a peer's empty datagram, no CoAP message).
            Ok((0, _)) => Ok(Read::Nothing),
            Ok((n, peer)) => Ok(Read::Datagram(
                peer,
                Bytes::copy_from_slice(buf.get(..n).unwrap_or_default()),
            )),
            // The timeout; an ICMP error some systems report on the next read; a signal.
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock
                        | io::ErrorKind::TimedOut
                        | io::ErrorKind::Interrupted
                        | io::ErrorKind::ConnectionReset
                        | io::ErrorKind::ConnectionRefused
                ) =>
            {
                Ok(Read::Nothing)
            }
            Err(e) => Err(e),
        }
    }

    fn now(&self) -> Instant {
        clock(self.start)
    }

    fn handle(&mut self, input: Input) {
        match input {
            Input::Command(command) => self.command(command),
            Input::Stop => self.done = true,
        }
    }

    fn command(&mut self, command: Command) {
        let now = self.now();
        match command {
            Command::Request {
                ticket,
                peer,
                request,
                reply,
            } => {
                let started = self.endpoint.borrow_mut().request(now, peer, request);
                match started {
                    Ok(id) => {
                        self.tickets.insert(ticket, id);
                        self.waiters.insert(id, Waiter::Response { ticket, reply });
                    }
                    Err(e) => {
                        let _ = reply.send(Err(e.into()));
                    }
                }
            }
            Command::Ping {
                ticket,
                peer,
                reply,
            } => {
                let started = self.endpoint.borrow_mut().ping(now, peer);
                match started {
                    Ok(id) => {
                        self.tickets.insert(ticket, id);
                        self.waiters.insert(id, Waiter::Pong { ticket, reply });
                    }
                    Err(e) => {
                        let _ = reply.send(Err(e.into()));
                    }
                }
            }
            Command::Cancel { ticket } => {
                if let Some(id) = self.tickets.remove(&ticket) {
                    self.waiters.remove(&id);
                    self.endpoint.borrow_mut().cancel(now, id);
                }
            }
            Command::Observe {
                ticket,
                peer,
                request,
                mailbox,
            } => {
                let started = self.endpoint.borrow_mut().observe(now, peer, request);
                match started {
                    Ok(id) => {
                        self.tickets.insert(ticket, id);
                        self.waiters
                            .insert(id, Waiter::Observation { ticket, mailbox });
                    }
                    Err(e) => mailbox.end(End::Refused(e)),
                }
            }
            Command::Respond {
                id,
                response,
                resource,
            } => {
                // A response the endpoint cannot send becomes 5.00, so that the peer is not
                // left waiting.
                tern_io::coap::answer(
                    &mut self.endpoint.borrow_mut(),
                    now,
                    id,
                    response,
                    resource.as_deref(),
                );
            }
            Command::Notify {
                resource,
                response,
                sent,
            } => {
                let count = self.endpoint.borrow_mut().notify(now, &resource, response);
                tracing::debug!(
                    resource = %String::from_utf8_lossy(&resource),
                    observers = count,
                    "notified"
                );
                let _ = sent.send(Ok(count));
            }
            Command::Forget { resource, sent } => {
                let count = self.endpoint.borrow_mut().forget_observers(&resource);
                let _ = sent.send(Ok(count));
            }
            Command::Serve(router) => {
                let waiting = std::mem::replace(&mut self.serving, Serving::Router(router));
                if let Serving::Waiting(waiting) = waiting {
                    for Received { id, peer, request } in waiting {
                        self.serve(id, peer, request);
                    }
                }
            }
            Command::Unserved => {
                let waiting = std::mem::replace(&mut self.serving, Serving::Nobody);
                if let Serving::Waiting(waiting) = waiting {
                    for Received { id, peer, request } in waiting {
                        self.serve(id, peer, request);
                    }
                }
            }
        }
    }

    /// Sends what the endpoint wants sent and routes its events, until it has nothing more.
    fn flush(&mut self) {
        loop {
            loop {
                let transmit = self.endpoint.borrow_mut().poll_transmit();
                let Some(transmit) = transmit else {
                    break;
                };
                if let Some(hook) = &self.hook {
                    hook(&Datagram {
                        direction: Direction::Sent,
                        peer: target::canonical(transmit.destination),
                        bytes: &transmit.datagram,
                    });
                }
                if let Err(e) = self
                    .socket
                    .send_to(&transmit.datagram, transmit.destination)
                {
                    // Like a datagram lost on the way: retransmission or a timeout follows.
                    tracing::debug!(error = %e, peer = %transmit.destination, "sending a datagram failed");
                }
            }
            let event = self.endpoint.borrow_mut().poll_event();
            let Some(event) = event else {
                break;
            };
            self.route(event);
        }
    }

    fn take(&mut self, id: RequestId) -> Option<Waiter> {
        let waiter = self.waiters.remove(&id)?;
        self.tickets.remove(&waiter.ticket());
        Some(waiter)
    }

    /// A request from `peer`: to the router's handler (which runs here, now), into the queue
    /// of a server that does not serve yet, or answered 4.04 on a socket nobody serves.
    fn serve(&mut self, id: IncomingId, peer: SocketAddr, request: Request) {
        let now = self.now();
        match &mut self.serving {
            Serving::Router(router) => dispatch(router, id, peer, request, &self.link),
            Serving::Waiting(waiting) => waiting.push_back(Received { id, peer, request }),
            Serving::Nobody => {
                let _ = self
                    .endpoint
                    .borrow_mut()
                    .respond(now, id, Response::new(Code::NOT_FOUND));
            }
        }
    }

    fn route(&mut self, event: Event) {
        match event {
            Event::Response { id, response } => match self.take(id) {
                Some(Waiter::Response { reply, .. }) => {
                    let _ = reply.send(Ok(response));
                }
                // Only requests end in a response.
                Some(waiter) => waiter.fail(Error::Closed),
                None => {}
            },
            Event::Notification { id, response } => {
                if let Some(Waiter::Observation { mailbox, .. }) = self.waiters.get(&id) {
                    mailbox.push(response);
                }
            }
            Event::ObservationEnded { id, reason } => {
                if let Some(Waiter::Observation { mailbox, .. }) = self.take(id) {
                    mailbox.end(reason.into());
                }
            }
            Event::ObserverRemoved { resource, peer } => {
                tracing::debug!(
                    resource = %String::from_utf8_lossy(&resource),
                    %peer,
                    "an observer was removed"
                );
            }
            Event::Pong { id } => match self.take(id) {
                Some(Waiter::Pong { reply, .. }) => {
                    let _ = reply.send(Ok(()));
                }
                Some(waiter) => waiter.fail(Error::Reset),
                None => {}
            },
            Event::RequestFailed { id, error } => {
                if let Some(waiter) = self.take(id) {
                    waiter.fail(error.into());
                }
            }
            Event::Request { id, peer, request } => self.serve(id, peer, request),
            Event::ResponseFailed { id, error } => {
                tracing::debug!(id = id.0, error = %error, "a separate response was not acknowledged");
            }
            other => {
                tracing::debug!(event = ?other, "an event tern-blocking does not handle yet");
            }
        }
    }

    /// Every waiter learns the socket closed; the handlers are dropped here.
    fn finish(&mut self) {
        for (_, waiter) in self.waiters.drain() {
            waiter.fail(Error::Closed);
        }
        self.tickets.clear();
        // Dropping the router may drop the last handle of this very socket, whose close then
        // sends to this thread's channel and does not wait for this thread.
        self.serving = Serving::Nobody;
        tracing::debug!(local_addr = %self.local_addr, "CoAP socket closed");
    }
}

/// Where a datagram reaches a socket bound to `local`: its own address, loopback for the
/// wildcard one.
fn wake_address(local: SocketAddr) -> SocketAddr {
    let ip = match local.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
        ip => ip,
    };
    SocketAddr::new(ip, local.port())
}
