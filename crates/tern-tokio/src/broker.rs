//! An MQTT broker on tokio (feature `broker`): tern-broker's sans-IO [`Broker`] behind TCP
//! (and, with feature `tls`, TLS) listeners.
//!
//! One task owns the broker core and runs the loop of every tern adapter: inputs in (a
//! connection accepted, bytes read, a write done, a credential checked, the deadline), then
//! the core's events out. Each connection has a reader task and a writer task that only move
//! bytes:
//!
//! - the reader reads once per permit the core gives it, so a connection the core does not
//!   want to read ([`Broker::wants_read`]: a publication waiting for room at a subscriber, a
//!   CONNECT being authenticated) is left in the kernel's buffers, and TCP slows its client;
//! - the writer writes one chunk at a time and tells the core when it is done; the core asks
//!   the broker for the next chunk only then, so a slow client keeps its messages in its
//!   bounded session queue rather than in buffers here.
//!
//! Passwords are checked with [`BrokerOptions::authenticate`] on tokio's blocking pool, off
//! the core's task (password hashes are slow on purpose).
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

use std::collections::HashMap;
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

pub use tern_broker::{Authorizer, Broker, BrokerConfig, ConnectionId, Event};

use tern_time::Instant;

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

type Reader = Box<dyn AsyncRead + Send + Unpin>;
type Writer = Box<dyn AsyncWrite + Send + Unpin>;

/// What the core task reacts to.
enum Input {
    Accepted {
        reader: Reader,
        writer: Writer,
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
    let (stop, stopped) = oneshot::channel();
    let core = Core {
        broker,
        origin,
        inputs,
        connections: HashMap::new(),
        authenticate,
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
                let (reader, writer) = stream.into_split();
                let accepted = Input::Accepted {
                    reader: Box::new(reader),
                    writer: Box::new(writer),
                    peer,
                };
                if inputs.send(accepted).is_err() {
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
                                reader: Box::new(reader),
                                writer: Box::new(writer),
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

/// The core's view of one connection's tasks.
struct Handle {
    peer: SocketAddr,
    /// Chunks for the writer task; dropped to close the connection.
    writer: Option<mpsc::UnboundedSender<Bytes>>,
    /// One permit per read the reader may do.
    permits: Arc<Semaphore>,
    reader: JoinHandle<()>,
    /// A chunk is with the writer.
    writing: bool,
    /// The reader waits for a permit the core holds back.
    paused: bool,
    /// The broker said [`Event::Close`].
    closing: bool,
}

struct Core {
    broker: Broker,
    origin: TokioInstant,
    inputs: mpsc::UnboundedSender<Input>,
    connections: HashMap<ConnectionId, Handle>,
    authenticate: Option<Arc<Authenticate>>,
}

impl Core {
    fn now(&self) -> Instant {
        Instant::from_micros(u64::try_from(self.origin.elapsed().as_micros()).unwrap_or(u64::MAX))
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
                () = tokio::time::sleep_until(deadline) => {
                    let now = self.now();
                    self.broker.handle_timeout(now);
                }
            }
            self.events();
            if stopping && self.connections.is_empty() {
                break;
            }
        }
        tracing::info!("MQTT broker stopped");
    }

    fn handle(&mut self, input: Input) {
        let now = self.now();
        match input {
            Input::Accepted {
                reader,
                writer,
                peer,
            } => match self.broker.accept(now) {
                Ok(id) => {
                    tracing::debug!(%peer, connection = %id, "connection accepted");
                    let permits = Arc::new(Semaphore::new(1));
                    let reader =
                        tokio::spawn(read(id, reader, permits.clone(), self.inputs.clone()));
                    let (chunks, rx) = mpsc::unbounded_channel();
                    tokio::spawn(write(id, writer, rx, self.inputs.clone()));
                    self.connections.insert(
                        id,
                        Handle {
                            peer,
                            writer: Some(chunks),
                            permits,
                            reader,
                            writing: false,
                            paused: false,
                            closing: false,
                        },
                    );
                }
                Err(e) => tracing::warn!(%peer, error = %e, "connection refused"),
            },
            Input::Read(id, bytes) => {
                self.broker.handle_read(now, id, &bytes);
                let wants = self.broker.wants_read(id);
                if let Some(h) = self.connections.get_mut(&id) {
                    if wants {
                        h.permits.add_permits(1);
                    } else {
                        h.paused = true;
                    }
                }
            }
            Input::ReadEnded(id) | Input::WriteFailed(id) => {
                if self.connections.contains_key(&id) {
                    self.broker.handle_closed(now, id);
                    self.close(id);
                }
            }
            Input::Written(id) => {
                if let Some(h) = self.connections.get_mut(&id) {
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
                    if self.connections.get(&id).is_some_and(|h| !h.writing) {
                        self.pull(id);
                    }
                }
                Event::Close(id) => {
                    if let Some(h) = self.connections.get_mut(&id) {
                        h.closing = true;
                        if !h.writing {
                            self.pull(id);
                        }
                    }
                }
                Event::Resume(id) => {
                    if let Some(h) = self.connections.get_mut(&id) {
                        if h.paused && self.broker.wants_read(id) {
                            h.paused = false;
                            h.permits.add_permits(1);
                        }
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

    /// Hands connection `id`'s next chunk to its writer; with nothing left, closes it when the
    /// broker said so.
    fn pull(&mut self, id: ConnectionId) {
        let now = self.now();
        let mut chunk = BytesMut::new();
        let n = self.broker.poll_transmit(now, id, &mut chunk);
        let Some(h) = self.connections.get_mut(&id) else {
            return;
        };
        if n > 0 {
            if let Some(writer) = &h.writer {
                h.writing = writer.send(chunk.freeze()).is_ok();
            }
            return;
        }
        if h.closing {
            self.broker.handle_closed(now, id);
            self.close(id);
        }
    }

    /// Forgets connection `id`: its writer flushes and shuts the stream down, its reader
    /// stops.
    fn close(&mut self, id: ConnectionId) {
        if let Some(mut h) = self.connections.remove(&id) {
            tracing::debug!(peer = %h.peer, connection = %id, "connection closed");
            h.writer.take();
            h.reader.abort();
        }
    }
}

/// A connection's reader task: one read per permit, every chunk to the core.
async fn read(
    id: ConnectionId,
    mut reader: Reader,
    permits: Arc<Semaphore>,
    inputs: mpsc::UnboundedSender<Input>,
) {
    let mut buf = BytesMut::with_capacity(READ_CHUNK);
    loop {
        match permits.acquire().await {
            Ok(permit) => permit.forget(),
            Err(_) => return,
        }
        buf.reserve(READ_CHUNK);
        match reader.read_buf(&mut buf).await {
            Ok(0) | Err(_) => {
                let _ = inputs.send(Input::ReadEnded(id));
                return;
            }
            Ok(_) => {
                if inputs.send(Input::Read(id, buf.split().freeze())).is_err() {
                    return;
                }
            }
        }
    }
}

/// A connection's writer task: each chunk written whole, then the core told; when the core
/// drops its sender, the stream is shut down.
async fn write(
    id: ConnectionId,
    mut writer: Writer,
    mut chunks: mpsc::UnboundedReceiver<Bytes>,
    inputs: mpsc::UnboundedSender<Input>,
) {
    while let Some(chunk) = chunks.recv().await {
        if writer.write_all(&chunk).await.is_err() {
            let _ = inputs.send(Input::WriteFailed(id));
            return;
        }
        let _ = inputs.send(Input::Written(id));
    }
    let _ = writer.shutdown().await;
}
