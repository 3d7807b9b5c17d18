//! One driver thread per UDP socket owns the [`Endpoint`] and runs the loop every adapter
//! runs; a reader thread reads the socket.
//!
//! ```text
//! loop {
//!     wait on the input channel until endpoint.poll_timeout()
//!     datagram / command / timeout  ──►  handle_datagram / request, respond, cancel / handle_timeout
//!     send every poll_transmit(), route every poll_event()
//! }
//! ```
//!
//! Everything reaches the driver over one bounded channel: datagrams from the reader thread,
//! commands from the client and server handles. So the driver sleeps in exactly one place,
//! wakes only for an input or a deadline, and never runs application code (request handlers
//! run on the server's own thread; only the [`Config::on_datagram`] hook runs here). When the
//! application is slow to take commands' answers nothing piles up here: each answer goes to
//! its caller's own channel. When the driver is slow, the reader waits on the full channel
//! and the operating system drops datagrams beyond its socket buffer, as UDP allows.

use std::collections::HashMap;
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, UdpSocket};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender, SyncSender};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant as StdInstant};

use bytes::Bytes;
use tern_coap::Code;
use tern_coap::endpoint::{Endpoint, Event, IncomingId, Instant, Request, RequestId, Response};
use tern_io::coap::{Error, target};

use super::config::{Config, Datagram, Direction, Hook};
use super::observe::{End, Mailbox};

/// Inputs waiting for the driver: enough to ride out a burst, few enough that a flood waits
/// in the kernel's socket buffer (and is dropped there) rather than in memory.
const INPUT_CAPACITY: usize = 64;

/// Larger than any UDP datagram, so that none is cut short without notice.
const READ_BUFFER: usize = 65_536;

/// How long the reader blocks in one read before it checks whether it should stop, in case the
/// datagram that wakes it on shutdown is lost.
const READ_BACKSTOP: Duration = Duration::from_secs(1);

/// Everything the driver reacts to.
pub(crate) enum Input {
    /// A datagram the reader read.
    Datagram { peer: SocketAddr, bytes: Bytes },
    /// Reading the socket failed for good.
    ReadFailed(io::Error),
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
}

/// A request from a peer, for the server's handler thread.
pub(crate) struct Received {
    pub(crate) id: IncomingId,
    pub(crate) peer: SocketAddr,
    pub(crate) request: Request,
}

/// A bound socket with its driver and reader threads. Dropping it stops both and waits for
/// them, so the port is free again afterwards.
pub(crate) struct Socket {
    inputs: SyncSender<Input>,
    local_addr: SocketAddr,
    next_ticket: AtomicU64,
    driver: Mutex<Option<JoinHandle<()>>>,
}

impl Socket {
    /// Binds `addr` and starts the threads. Requests from peers go to `requests` (a server's
    /// handler thread); without it, or once it is gone, they are answered 4.04 Not Found.
    pub(crate) fn bind(
        addr: SocketAddr,
        config: &Config,
        requests: Option<Sender<Received>>,
    ) -> Result<Socket, Error> {
        let socket = Arc::new(UdpSocket::bind(addr)?);
        let local_addr = socket.local_addr()?;
        socket.set_read_timeout(Some(READ_BACKSTOP))?;
        let (inputs, receiver) = mpsc::sync_channel(INPUT_CAPACITY);
        let stop = Arc::new(AtomicBool::new(false));
        let reader = {
            let (socket, inputs, stop) = (socket.clone(), inputs.clone(), stop.clone());
            thread::Builder::new()
                .name("tern-coap-reader".into())
                .spawn(move || read(&socket, &inputs, &stop))?
        };
        let driver = Driver {
            endpoint: Endpoint::new(config.endpoint.clone(), fastrand::u64(..)),
            socket,
            local_addr,
            inputs: receiver,
            start: StdInstant::now(),
            hook: config.on_datagram.clone(),
            requests,
            waiters: HashMap::new(),
            tickets: HashMap::new(),
            reader: Some((reader, stop)),
            done: false,
        };
        let driver = thread::Builder::new()
            .name("tern-coap".into())
            .spawn(move || driver.run())?;
        tracing::debug!(%local_addr, "CoAP socket bound");
        Ok(Socket {
            inputs,
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
        self.inputs
            .send(Input::Command(command))
            .map_err(|_| Error::Closed)
    }

    /// A sender for the handles that answer requests from other threads.
    pub(crate) fn sender(&self) -> SyncSender<Input> {
        self.inputs.clone()
    }

    /// Stops the threads and waits for them (also when other handles still share the socket).
    pub(crate) fn close(&self) {
        let _ = self.inputs.send(Input::Stop);
        let driver = self
            .driver
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if let Some(driver) = driver {
            // A socket dropped on its own driver thread (by a hook holding the last handle)
            // cannot wait for itself; the driver ends after this input anyway.
            if driver.thread().id() != thread::current().id() {
                let _ = driver.join();
            }
        }
    }
}

impl Drop for Socket {
    fn drop(&mut self) {
        self.close();
    }
}

/// The reader thread: every datagram to the driver, until told to stop or the driver is gone.
fn read(socket: &UdpSocket, inputs: &SyncSender<Input>, stop: &AtomicBool) {
    let mut buf = vec![0u8; READ_BUFFER];
    loop {
        let result = socket.recv_from(&mut buf);
        if stop.load(Ordering::Acquire) {
            return;
        }
        match result {
            Ok((n, peer)) => {
                let bytes = Bytes::copy_from_slice(buf.get(..n).unwrap_or_default());
                if inputs.send(Input::Datagram { peer, bytes }).is_err() {
                    return;
                }
            }
            // The backstop timeout; an ICMP error some systems report on the next read; a
            // signal.
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock
                        | io::ErrorKind::TimedOut
                        | io::ErrorKind::Interrupted
                        | io::ErrorKind::ConnectionReset
                        | io::ErrorKind::ConnectionRefused
                ) => {}
            Err(e) => {
                let _ = inputs.send(Input::ReadFailed(e));
                return;
            }
        }
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
    endpoint: Endpoint,
    socket: Arc<UdpSocket>,
    local_addr: SocketAddr,
    inputs: Receiver<Input>,
    /// The origin of the endpoint's clock.
    start: StdInstant,
    hook: Option<Hook>,
    requests: Option<Sender<Received>>,
    waiters: HashMap<RequestId, Waiter>,
    /// Tickets of the handles to the endpoint's ids, for cancelling.
    tickets: HashMap<u64, RequestId>,
    reader: Option<(JoinHandle<()>, Arc<AtomicBool>)>,
    done: bool,
}

impl Driver {
    fn run(mut self) {
        while !self.done {
            let deadline = self
                .endpoint
                .poll_timeout()
                .map(|t| self.start + Duration::from_micros(t.as_micros()));
            let input = match deadline {
                Some(deadline) => {
                    let wait = deadline.saturating_duration_since(StdInstant::now());
                    match self.inputs.recv_timeout(wait) {
                        Ok(input) => Some(input),
                        Err(RecvTimeoutError::Timeout) => None,
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
                None => self.endpoint.handle_timeout(self.now()),
            }
            self.flush();
        }
        self.finish();
    }

    /// The endpoint's clock: microseconds since the driver started.
    fn now(&self) -> Instant {
        let micros = u64::try_from(self.start.elapsed().as_micros()).unwrap_or(u64::MAX);
        Instant::from_micros(micros)
    }

    fn handle(&mut self, input: Input) {
        match input {
            Input::Datagram { peer, bytes } => {
                if let Some(hook) = &self.hook {
                    hook(&Datagram {
                        direction: Direction::Received,
                        peer: target::canonical(peer),
                        bytes: &bytes,
                    });
                }
                let now = self.now();
                self.endpoint.handle_datagram(now, peer, bytes);
            }
            Input::ReadFailed(e) => {
                tracing::warn!(error = %e, local_addr = %self.local_addr, "reading the CoAP socket failed");
                self.done = true;
            }
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
            } => match self.endpoint.request(now, peer, request) {
                Ok(id) => {
                    self.tickets.insert(ticket, id);
                    self.waiters.insert(id, Waiter::Response { ticket, reply });
                }
                Err(e) => {
                    let _ = reply.send(Err(e.into()));
                }
            },
            Command::Ping {
                ticket,
                peer,
                reply,
            } => match self.endpoint.ping(now, peer) {
                Ok(id) => {
                    self.tickets.insert(ticket, id);
                    self.waiters.insert(id, Waiter::Pong { ticket, reply });
                }
                Err(e) => {
                    let _ = reply.send(Err(e.into()));
                }
            },
            Command::Cancel { ticket } => {
                if let Some(id) = self.tickets.remove(&ticket) {
                    self.waiters.remove(&id);
                    self.endpoint.cancel(now, id);
                }
            }
            Command::Observe {
                ticket,
                peer,
                request,
                mailbox,
            } => match self.endpoint.observe(now, peer, request) {
                Ok(id) => {
                    self.tickets.insert(ticket, id);
                    self.waiters
                        .insert(id, Waiter::Observation { ticket, mailbox });
                }
                Err(e) => mailbox.end(End::Refused(e)),
            },
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
                let count = self.endpoint.notify(now, &resource, response);
                tracing::debug!(
                    resource = %String::from_utf8_lossy(&resource),
                    observers = count,
                    "notified"
                );
                let _ = sent.send(Ok(count));
            }
        }
    }

    /// Answers a request (as an observable resource's, with `resource`). A response the
    /// endpoint cannot send becomes 5.00, so that the peer is not left waiting.
    fn respond(&mut self, id: IncomingId, response: Response, resource: Option<Bytes>) {
        let now = self.now();
        tern_io::coap::answer(&mut self.endpoint, now, id, response, resource.as_deref());
    }

    /// Sends what the endpoint wants sent and routes its events, until it has nothing more.
    fn flush(&mut self) {
        loop {
            while let Some(transmit) = self.endpoint.poll_transmit() {
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
            let Some(event) = self.endpoint.poll_event() else {
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
            Event::Request { id, peer, request } => {
                let unserved = match &self.requests {
                    Some(requests) => requests.send(Received { id, peer, request }).is_err(),
                    None => true,
                };
                if unserved {
                    // A client socket, or a server nobody serves: nothing is here.
                    let now = self.now();
                    let _ = self
                        .endpoint
                        .respond(now, id, Response::new(Code::NOT_FOUND));
                }
            }
            Event::ResponseFailed { id, error } => {
                tracing::debug!(id = id.0, error = %error, "a separate response was not acknowledged");
            }
            other => {
                tracing::debug!(event = ?other, "an event tern-blocking does not handle yet");
            }
        }
    }

    /// Every waiter learns the socket closed; the reader stops.
    fn finish(&mut self) {
        for (_, waiter) in self.waiters.drain() {
            waiter.fail(Error::Closed);
        }
        self.tickets.clear();
        if let Some((reader, stop)) = self.reader.take() {
            stop.store(true, Ordering::Release);
            // Wake the reader from its read with a datagram to ourselves.
            let _ = self.socket.send_to(&[], wake_address(self.local_addr));
            let _ = reader.join();
        }
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
