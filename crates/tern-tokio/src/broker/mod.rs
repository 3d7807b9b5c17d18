//! An MQTT broker on tokio (feature `broker`): tern-broker's sans-IO [`Broker`] behind TCP
//! (and, with feature `tls`, TLS) listeners.
//!
//! One task owns the broker core and runs the loop of every tern adapter: inputs in (a
//! connection accepted, a socket ready, a credential checked, the deadline), then the core's
//! events out.
//!
//! - On Unix the core task does the TCP I/O itself: every socket is registered with one mio
//!   poll that tokio watches, so an idle connection costs a file descriptor and a few dozen
//!   bytes, not a task. A readable socket gets one read per turn (into one scratch buffer,
//!   straight into the broker); a connection the core does not want to read
//!   ([`Broker::wants_read`]: a publication waiting for room at a subscriber, a CONNECT being
//!   authenticated) is left in the kernel's buffers until [`Event::Resume`], and TCP slows
//!   its client. Writes ask the broker for the next chunk only when the socket took the last
//!   one whole, and wait for writability when it is full, so a slow client keeps its messages
//!   in its bounded session queue rather than in buffers here.
//! - TLS connections (and TCP where there is no mio poll) get a reader task that reads once
//!   per permit the core gives it, and a writer task that takes one chunk at a time.
//!
//! Passwords are checked with [`BrokerOptions::authenticate`] on tokio's blocking pool, off
//! the core's task (password hashes are slow on purpose). MQTT 5.0 enhanced authentication
//! ([`BrokerOptions::enhanced_auth`]) runs on the core's task: its steps must be quick.
//!
//! ```no_run
//! use tern_tokio::broker::{self, BrokerOptions};
//!
//! #[tokio::main]
//! async fn main() -> std::io::Result<()> {
//!     let running = broker::start(BrokerOptions::new().listen("127.0.0.1:1883".parse().unwrap())).await?;
//!     println!("listening on {}", running.local_addr());
//!     tokio::signal::ctrl_c().await?;
//!     running.shutdown().await;
//!     Ok(())
//! }
//! ```

use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, mpsc, oneshot};
use tokio::task::JoinHandle;
use tokio::time::Instant as TokioInstant;

pub use tern_broker::auth::{AuthExchange, AuthStep, EnhancedAuth};
pub use tern_broker::{Authorizer, Broker, BrokerConfig, ConnectionId, Event};

use tern_time::Instant;

mod poll;

/// How much one read takes at most.
const READ_CHUNK: usize = 64 * 1024;

/// Inputs the core handles before it looks at its events again.
const BATCH: usize = 256;

/// Checks a user name and password: `true` lets the client in.
pub type Authenticate = dyn Fn(&str, Option<&[u8]>) -> bool + Send + Sync;

/// What a broker is started with: its [`BrokerConfig`], listeners, and the authentication
/// and authorisation to apply.
pub struct BrokerOptions {
    config: BrokerConfig,
    tcp: Vec<SocketAddr>,
    #[cfg(feature = "tls")]
    tls: Vec<(SocketAddr, Arc<tokio_rustls::rustls::ServerConfig>)>,
    authenticate: Option<Arc<Authenticate>>,
    authorizer: Option<Box<dyn Authorizer>>,
    enhanced_auth: Option<Box<dyn EnhancedAuth + Send + Sync>>,
}

impl fmt::Debug for BrokerOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BrokerOptions")
            .field("config", &self.config)
            .field("tcp", &self.tcp)
            .finish_non_exhaustive()
    }
}

impl Default for BrokerOptions {
    fn default() -> BrokerOptions {
        BrokerOptions::new()
    }
}

impl BrokerOptions {
    /// The default [`BrokerConfig`], no listener yet, anonymous clients allowed.
    pub fn new() -> BrokerOptions {
        BrokerOptions {
            config: BrokerConfig::default(),
            tcp: Vec::new(),
            #[cfg(feature = "tls")]
            tls: Vec::new(),
            authenticate: None,
            authorizer: None,
            enhanced_auth: None,
        }
    }

    /// The core's configuration (limits, sessions, `$SYS`, anonymous access).
    pub fn config(mut self, config: BrokerConfig) -> BrokerOptions {
        self.config = config;
        self
    }

    /// Listens for MQTT over TCP on `addr` (port 0: one the system picks; see
    /// [`RunningBroker::local_addrs`]).
    pub fn listen(mut self, addr: SocketAddr) -> BrokerOptions {
        self.tcp.push(addr);
        self
    }

    /// Listens for MQTT over TLS on `addr` with `config` (e.g. from
    /// [`tern_io::tls::server_config`]).
    #[cfg(feature = "tls")]
    pub fn listen_tls(
        mut self,
        addr: SocketAddr,
        config: Arc<tokio_rustls::rustls::ServerConfig>,
    ) -> BrokerOptions {
        self.tls.push((addr, config));
        self
    }

    /// Checks the user name and password of clients when [`BrokerConfig::allow_anonymous`] is
    /// off (without a check, no client gets in then). It runs on tokio's blocking pool.
    pub fn authenticate(
        mut self,
        check: impl Fn(&str, Option<&[u8]>) -> bool + Send + Sync + 'static,
    ) -> BrokerOptions {
        self.authenticate = Some(Arc::new(check));
        self
    }

    /// Applies `authorizer` (an ACL) to every publication, subscription and delivery.
    pub fn authorize(mut self, authorizer: impl Authorizer + 'static) -> BrokerOptions {
        self.authorizer = Some(Box::new(authorizer));
        self
    }

    /// Offers `hook`'s MQTT 5.0 enhanced authentication methods (§4.12) to clients whose
    /// CONNECT names one; see [`Broker::set_enhanced_auth`]. Without it, such clients are
    /// refused with CONNACK 0x8C Bad authentication method.
    ///
    /// The hook runs on the core's task, which serves every connection: each
    /// [`AuthExchange::step`] must be quick (no blocking I/O, no deliberately slow hash).
    /// A method that needs slow work should do it before the broker sees the client (e.g.
    /// verify tokens against keys loaded at start) rather than inside a step.
    pub fn enhanced_auth(
        mut self,
        hook: impl EnhancedAuth + Send + Sync + 'static,
    ) -> BrokerOptions {
        self.enhanced_auth = Some(Box::new(hook));
        self
    }
}

/// A running broker: its addresses, and the way to stop it.
#[derive(Debug)]
pub struct RunningBroker {
    primary: SocketAddr,
    addrs: Vec<SocketAddr>,
    #[cfg(feature = "tls")]
    tls_addrs: Vec<SocketAddr>,
    stop: Option<oneshot::Sender<()>>,
    core: JoinHandle<()>,
    acceptors: Vec<JoinHandle<()>>,
}

impl RunningBroker {
    /// The first listener's address (the first TCP one when there is one).
    pub fn local_addr(&self) -> SocketAddr {
        self.primary
    }

    /// Every TCP listener's address, in the order they were added.
    pub fn local_addrs(&self) -> &[SocketAddr] {
        &self.addrs
    }

    /// Every TLS listener's address.
    #[cfg(feature = "tls")]
    pub fn tls_addrs(&self) -> &[SocketAddr] {
        &self.tls_addrs
    }

    /// Stops listening, disconnects every client (5.0: DISCONNECT 0x8B Server shutting down)
    /// and waits until every connection is closed.
    pub async fn shutdown(mut self) {
        for acceptor in &self.acceptors {
            acceptor.abort();
        }
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        let _ = (&mut self.core).await;
    }

    /// Runs until the broker's core ends (it does not on its own: until
    /// [`shutdown`](RunningBroker::shutdown) from elsewhere, or a panic).
    pub async fn wait(mut self) {
        let _ = (&mut self.core).await;
    }
}

impl Drop for RunningBroker {
    fn drop(&mut self) {
        for acceptor in &self.acceptors {
            acceptor.abort();
        }
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// A connection's read side when tasks serve it (TLS, and TCP where there is no mio poll).
type Reader = Box<dyn AsyncRead + Send + Unpin>;

/// A connection's write side when tasks serve it.
type Writer = Box<dyn AsyncWrite + Send + Unpin>;

/// How the core does one connection's I/O.
enum Io {
    /// The core reads and writes the socket itself when the poll says it is ready.
    #[cfg(unix)]
    Polled(poll::Socket),
    /// A reader task reads once per permit; a writer task writes what is put in the outbox.
    Tasks {
        permits: Arc<Semaphore>,
        reader: JoinHandle<()>,
        outbox: Arc<Outbox>,
    },
}

/// The core's state of one connection's I/O.
struct Handle {
    id: ConnectionId,
    io: Io,
    /// A chunk is being written (by the writer task, or waiting for a full TCP socket).
    writing: bool,
    /// The core does not read the connection ([`Broker::wants_read`] is false).
    paused: bool,
    /// The broker said [`Event::Close`].
    closing: bool,
}

/// A transport just accepted.
enum Transport {
    /// A TCP socket for the core's poll.
    #[cfg(unix)]
    Polled(mio::net::TcpStream),
    /// A stream served by tasks.
    Tasks(Reader, Writer),
}

/// What the core task reacts to (apart from the poll's readiness).
enum Input {
    Accepted {
        transport: Transport,
        peer: SocketAddr,
    },
    Read(ConnectionId, Bytes),
    ReadEnded(ConnectionId),
    Written(ConnectionId),
    WriteFailed(ConnectionId),
    Authenticated(ConnectionId, bool),
}

/// Binds the listeners and starts the broker on the current tokio runtime.
pub async fn start(options: BrokerOptions) -> io::Result<RunningBroker> {
    let BrokerOptions {
        config,
        tcp,
        #[cfg(feature = "tls")]
        tls,
        authenticate,
        authorizer,
        enhanced_auth,
    } = options;
    let (inputs, rx) = mpsc::unbounded_channel();
    let mut addrs = Vec::new();
    let mut acceptors = Vec::new();
    for addr in tcp {
        let listener = TcpListener::bind(addr).await?;
        let local = listener.local_addr()?;
        tracing::info!(%local, "MQTT broker listening");
        addrs.push(local);
        acceptors.push(tokio::spawn(accept_tcp(listener, inputs.clone())));
    }
    #[cfg(feature = "tls")]
    let mut tls_addrs = Vec::new();
    #[cfg(feature = "tls")]
    for (addr, config) in tls {
        let listener = TcpListener::bind(addr).await?;
        let local = listener.local_addr()?;
        tracing::info!(%local, "MQTT broker listening (TLS)");
        tls_addrs.push(local);
        let acceptor = tokio_rustls::TlsAcceptor::from(config);
        acceptors.push(tokio::spawn(accept_tls(listener, acceptor, inputs.clone())));
    }
    #[cfg(feature = "tls")]
    let first_tls = tls_addrs.first().copied();
    #[cfg(not(feature = "tls"))]
    let first_tls = None;
    let Some(primary) = addrs.first().copied().or(first_tls) else {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "the broker has no listener (BrokerOptions::listen)",
        ));
    };
    let origin = TokioInstant::now();
    let mut broker = Broker::new(config, Instant::ZERO);
    if let Some(authorizer) = authorizer {
        broker.set_boxed_authorizer(authorizer);
    }
    if let Some(hook) = enhanced_auth {
        broker.set_boxed_enhanced_auth(hook);
    }
    let (stop, stopped) = oneshot::channel();
    let core = Core {
        broker,
        origin,
        inputs,
        connections: Vec::new(),
        open: 0,
        authenticate,
        sockets: poll::Sockets::new()?,
    };
    let core = tokio::spawn(core.run(rx, stopped));
    Ok(RunningBroker {
        primary,
        addrs,
        #[cfg(feature = "tls")]
        tls_addrs,
        stop: Some(stop),
        core,
        acceptors,
    })
}

async fn accept_tcp(listener: TcpListener, inputs: mpsc::UnboundedSender<Input>) {
    loop {
        match listener.accept().await {
            Ok((stream, peer)) => {
                let _ = stream.set_nodelay(true);
                let transport = match poll::transport(stream) {
                    Ok(transport) => transport,
                    Err(e) => {
                        tracing::warn!(%peer, error = %e, "taking over an accepted socket failed");
                        continue;
                    }
                };
                if inputs.send(Input::Accepted { transport, peer }).is_err() {
                    return;
                }
            }
            Err(e) => {
                // Out of file descriptors, a connection reset before accept: keep going after
                // a pause rather than spin.
                tracing::warn!(error = %e, "accepting a connection failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }
}

#[cfg(feature = "tls")]
async fn accept_tls(
    listener: TcpListener,
    acceptor: tokio_rustls::TlsAcceptor,
    inputs: mpsc::UnboundedSender<Input>,
) {
    loop {
        match listener.accept().await {
            Ok((stream, peer)) => {
                let _ = stream.set_nodelay(true);
                let acceptor = acceptor.clone();
                let inputs = inputs.clone();
                // The handshake runs on its own task, so a slow client delays nobody.
                tokio::spawn(async move {
                    match acceptor.accept(stream).await {
                        Ok(stream) => {
                            let (reader, writer) = tokio::io::split(stream);
                            let _ = inputs.send(Input::Accepted {
                                transport: Transport::Tasks(Box::new(reader), Box::new(writer)),
                                peer,
                            });
                        }
                        Err(e) => tracing::debug!(%peer, error = %e, "TLS handshake failed"),
                    }
                });
            }
            Err(e) => {
                tracing::warn!(error = %e, "accepting a connection failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }
}

struct Core {
    broker: Broker,
    origin: TokioInstant,
    inputs: mpsc::UnboundedSender<Input>,
    /// Each open connection's I/O, at its [`ConnectionId::index`].
    connections: Vec<Option<Handle>>,
    /// How many of `connections` are open.
    open: usize,
    authenticate: Option<Arc<Authenticate>>,
    /// The polled TCP sockets.
    sockets: poll::Sockets,
}

impl Core {
    fn now(&self) -> Instant {
        Instant::from_micros(u64::try_from(self.origin.elapsed().as_micros()).unwrap_or(u64::MAX))
    }

    fn get(&self, id: ConnectionId) -> Option<&Handle> {
        let slot = usize::try_from(id.index()).ok()?;
        self.connections.get(slot)?.as_ref().filter(|h| h.id == id)
    }

    fn get_mut(&mut self, id: ConnectionId) -> Option<&mut Handle> {
        handle_mut(&mut self.connections, id)
    }

    /// Reads connection `id` again.
    fn resume(&mut self, id: ConnectionId) {
        let Some(h) = handle_mut(&mut self.connections, id) else {
            return;
        };
        if !h.paused {
            return;
        }
        h.paused = false;
        match &mut h.io {
            #[cfg(unix)]
            Io::Polled(socket) => self.sockets.resume(id, socket),
            Io::Tasks { permits, .. } => permits.add_permits(1),
        }
    }

    fn insert(&mut self, handle: Handle) {
        let Ok(slot) = usize::try_from(handle.id.index()) else {
            return;
        };
        if self.connections.len() <= slot {
            self.connections.resize_with(slot + 1, || None);
        }
        if let Some(place) = self.connections.get_mut(slot) {
            if place.replace(handle).is_none() {
                self.open += 1;
            }
        }
    }

    async fn run(
        mut self,
        mut rx: mpsc::UnboundedReceiver<Input>,
        mut stopped: oneshot::Receiver<()>,
    ) {
        let mut stopping = false;
        loop {
            let deadline = self
                .broker
                .poll_timeout()
                .map(|t| self.origin + Duration::from_micros(t.as_micros()))
                .unwrap_or_else(|| TokioInstant::now() + Duration::from_secs(3600));
            let more_to_read = self.sockets.has_ready();
            tokio::select! {
                biased;
                _ = &mut stopped, if !stopping => {
                    stopping = true;
                    let now = self.now();
                    self.broker.shutdown(now);
                }
                input = rx.recv() => {
                    let Some(input) = input else { break };
                    self.handle(input);
                    for _ in 0..BATCH {
                        match rx.try_recv() {
                            Ok(input) => self.handle(input),
                            Err(_) => break,
                        }
                    }
                }
                polled = self.sockets.wait() => {
                    if let Err(e) = polled {
                        tracing::error!(error = %e, "polling the connections failed");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    }
                    self.socket_events();
                }
                // The deadline is handled below.
                () = tokio::time::sleep_until(deadline) => {}
                // Sockets still readable after their turn: other tasks get the thread first.
                () = tokio::task::yield_now(), if more_to_read => {}
            }
            self.read_ready();
            // Under constant load the branches above are always ready first: the deadline is
            // checked here too, so keep alive and `$SYS` run on time however busy the core is.
            if TokioInstant::now() >= deadline {
                let now = self.now();
                self.broker.handle_timeout(now);
            }
            self.events();
            if stopping && self.open == 0 {
                break;
            }
        }
        tracing::info!("MQTT broker stopped");
    }

    fn handle(&mut self, input: Input) {
        let now = self.now();
        match input {
            Input::Accepted { transport, peer } => match self.broker.accept(now) {
                Ok(id) => {
                    let io = match transport {
                        #[cfg(unix)]
                        Transport::Polled(stream) => match self.sockets.register(id, stream) {
                            Ok(socket) => Io::Polled(socket),
                            Err(e) => {
                                tracing::warn!(%peer, error = %e, "polling a connection failed");
                                self.broker.handle_closed(now, id);
                                return;
                            }
                        },
                        Transport::Tasks(reader, writer) => {
                            let permits = Arc::new(Semaphore::new(1));
                            let reader = tokio::spawn(read(
                                id,
                                reader,
                                permits.clone(),
                                self.inputs.clone(),
                            ));
                            let outbox = Arc::new(Outbox::default());
                            tokio::spawn(write(id, writer, outbox.clone(), self.inputs.clone()));
                            Io::Tasks {
                                permits,
                                reader,
                                outbox,
                            }
                        }
                    };
                    tracing::info!(%peer, connection = %id, "connection accepted");
                    self.insert(Handle {
                        id,
                        io,
                        writing: false,
                        paused: false,
                        closing: false,
                    });
                }
                Err(e) => tracing::warn!(%peer, error = %e, "connection refused"),
            },
            Input::Read(id, bytes) => {
                self.broker.handle_read(now, id, &bytes);
                let wants = self.broker.wants_read(id);
                if let Some(h) = self.get_mut(id) {
                    match &h.io {
                        Io::Tasks { permits, .. } if wants => permits.add_permits(1),
                        _ => h.paused = true,
                    }
                }
            }
            Input::ReadEnded(id) | Input::WriteFailed(id) => {
                if self.get(id).is_some() {
                    self.broker.handle_closed(now, id);
                    self.close(id);
                }
            }
            Input::Written(id) => {
                if let Some(h) = self.get_mut(id) {
                    h.writing = false;
                }
                self.pull(id);
            }
            Input::Authenticated(id, allowed) => self.broker.authenticated(now, id, allowed),
        }
    }

    fn events(&mut self) {
        while let Some(event) = self.broker.poll_event() {
            match event {
                Event::Transmit(id) => {
                    if self.get(id).is_some_and(|h| !h.writing) {
                        self.pull(id);
                    }
                }
                Event::Close(id) => {
                    if let Some(h) = self.get_mut(id) {
                        h.closing = true;
                        if !h.writing {
                            self.pull(id);
                        }
                    }
                }
                Event::Resume(id) => {
                    if self.broker.wants_read(id) {
                        self.resume(id);
                    }
                }
                Event::Authenticate {
                    connection,
                    username,
                    password,
                    ..
                } => {
                    let inputs = self.inputs.clone();
                    match self.authenticate.clone() {
                        Some(check) => {
                            tokio::task::spawn_blocking(move || {
                                let allowed = check(username.as_str(), password.as_deref());
                                let _ = inputs.send(Input::Authenticated(connection, allowed));
                            });
                        }
                        // Credentials required and nothing to check them with: nobody is let in.
                        None => {
                            let _ = inputs.send(Input::Authenticated(connection, false));
                        }
                    }
                }
                other => tracing::debug!(event = ?other, "broker event not handled"),
            }
        }
    }

    /// Hands connection `id`'s next chunks to its write side until the broker has none or
    /// the socket is full; with nothing left, closes it when the broker said so.
    fn pull(&mut self, id: ConnectionId) {
        loop {
            let now = self.now();
            let mut chunk = BytesMut::new();
            let n = self.broker.poll_transmit(now, id, &mut chunk);
            let Some(h) = self.get_mut(id) else {
                return;
            };
            if n == 0 {
                if h.closing {
                    self.broker.handle_closed(now, id);
                    self.close(id);
                }
                return;
            }
            match &h.io {
                Io::Tasks { outbox, .. } => {
                    outbox.put(chunk.freeze());
                    h.writing = true;
                    return;
                }
                #[cfg(unix)]
                Io::Polled(_) => {
                    if !self.write_polled(id, chunk.freeze()) {
                        return;
                    }
                }
            }
        }
    }

    /// The transport of connection `id` failed: the broker is told, the connection forgotten.
    fn failed(&mut self, id: ConnectionId) {
        let now = self.now();
        self.broker.handle_closed(now, id);
        self.close(id);
    }

    /// Forgets connection `id`: its write side flushes and shuts down, its reader stops.
    fn close(&mut self, id: ConnectionId) {
        let Some(place) = usize::try_from(id.index())
            .ok()
            .and_then(|slot| self.connections.get_mut(slot))
        else {
            return;
        };
        let Some(h) = place.take_if(|h| h.id == id) else {
            return;
        };
        self.open = self.open.saturating_sub(1);
        tracing::info!(connection = %id, "connection closed");
        match h.io {
            #[cfg(unix)]
            Io::Polled(socket) => self.sockets.close(socket),
            Io::Tasks { reader, outbox, .. } => {
                outbox.close();
                reader.abort();
            }
        }
    }
}

/// Connection `id`'s handle in `connections` (indexed by [`ConnectionId::index`]), if it is
/// still open.
fn handle_mut(connections: &mut [Option<Handle>], id: ConnectionId) -> Option<&mut Handle> {
    let slot = usize::try_from(id.index()).ok()?;
    connections.get_mut(slot)?.as_mut().filter(|h| h.id == id)
}

/// A connection's reader task: one read per permit, every chunk to the core.
async fn read(
    id: ConnectionId,
    mut reader: Reader,
    permits: Arc<Semaphore>,
    inputs: mpsc::UnboundedSender<Input>,
) {
    loop {
        match permits.acquire().await {
            Ok(permit) => permit.forget(),
            Err(_) => return,
        }
        let mut buf = BytesMut::with_capacity(READ_CHUNK);
        match reader.read_buf(&mut buf).await {
            Ok(n) if n > 0 => {
                if inputs.send(Input::Read(id, buf.freeze())).is_err() {
                    return;
                }
            }
            _ => {
                let _ = inputs.send(Input::ReadEnded(id));
                return;
            }
        }
    }
}

/// The one chunk on its way to a connection's writer task, and whether the connection is
/// to be closed: lighter than a channel, which allocates a block of slots per connection.
#[derive(Default)]
struct Outbox {
    chunk: std::sync::Mutex<Option<Bytes>>,
    closed: std::sync::atomic::AtomicBool,
    ready: tokio::sync::Notify,
}

impl Outbox {
    fn put(&self, chunk: Bytes) {
        *self
            .chunk
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(chunk);
        self.ready.notify_one();
    }

    fn close(&self) {
        self.closed
            .store(true, std::sync::atomic::Ordering::Release);
        self.ready.notify_one();
    }

    fn take(&self) -> Option<Bytes> {
        self.chunk
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .take()
    }
}

/// A connection's writer task: each chunk written whole, then the core told; once the core
/// closes the outbox (and it is empty), the stream is shut down.
async fn write(
    id: ConnectionId,
    mut writer: Writer,
    outbox: Arc<Outbox>,
    inputs: mpsc::UnboundedSender<Input>,
) {
    loop {
        outbox.ready.notified().await;
        if let Some(chunk) = outbox.take() {
            if writer.write_all(&chunk).await.is_err() {
                let _ = inputs.send(Input::WriteFailed(id));
                return;
            }
            let _ = inputs.send(Input::Written(id));
        }
        if outbox.closed.load(std::sync::atomic::Ordering::Acquire) && outbox.take().is_none() {
            let _ = writer.shutdown().await;
            return;
        }
    }
}
