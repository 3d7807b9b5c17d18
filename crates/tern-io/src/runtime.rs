//! What an async adapter provides to the drivers of [`mqtt`](crate::mqtt) and `coap`
//! (feature `async`): opening a TCP or TLS connection, binding a UDP socket, resolving host
//! names, a timer, spawning.
//!
//! tern-tokio implements [`Runtime`] with tokio's sockets, `lookup_host`, `Sleep` and
//! `tokio::spawn`; tern-async-std with async-io (which async-std and smol both run on),
//! async-net's resolver and a thread per driver. Each is about a hundred and fifty lines: the
//! drivers hold every protocol decision, quinn-style.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Instant as StdInstant;

use crate::{Error, MqttOptions};

/// A boxed future, as [`Runtime`] methods return them.
pub type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;

/// What an async adapter provides: transports, a timer, spawning, name resolution.
///
/// Every method is required, whatever features are on, so an implementation does not depend
/// on the features another crate enables.
pub trait Runtime: Clone + Send + Sync + Unpin + 'static {
    /// The timer type.
    type Timer: Timer;
    /// The UDP socket type (for CoAP).
    type Udp: UdpSocket;

    /// A timer that fires at `deadline`.
    fn timer(&self, deadline: StdInstant) -> Self::Timer;

    /// Opens the connection to the broker of `options`: TCP, and TLS when
    /// `options.tls` is set (feature `tls`).
    fn connect(&self, options: &MqttOptions) -> BoxFuture<Result<Box<dyn Transport>, Error>>;

    /// Binds a UDP socket to `addr` (port 0: any free port), registered with the runtime's
    /// reactor. Called from within the runtime (tokio needs its context for this).
    fn bind_udp(&self, addr: SocketAddr) -> io::Result<Self::Udp>;

    /// The addresses of `host` (a name or an IP address) with `port`, in the resolver's order.
    fn resolve(&self, host: &str, port: u16) -> BoxFuture<io::Result<Vec<SocketAddr>>>;

    /// Runs `future` to completion in the background.
    fn spawn(&self, future: BoxFuture<()>);
}

/// A timer that can be moved to another deadline.
pub trait Timer: Send + Unpin + 'static {
    /// Moves the deadline.
    fn reset(&mut self, deadline: StdInstant);
    /// Ready once the deadline has passed.
    fn poll_expired(&mut self, cx: &mut Context<'_>) -> Poll<()>;
}

/// A byte stream to the broker (TCP or TLS), polled like `futures::io` streams.
pub trait Transport: Send + Unpin + 'static {
    /// Reads into `buf`; `Ok(0)` means the peer closed.
    fn poll_read(&mut self, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>>;
    /// Writes some of `buf`.
    fn poll_write(&mut self, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>>;
    /// Flushes what was written (TLS records).
    fn poll_flush(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>>;
    /// Shuts down the write side.
    fn poll_close(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>>;
}

/// A bound, unconnected UDP socket registered with a reactor, polled like tokio's.
pub trait UdpSocket: Send + Unpin + 'static {
    /// The address it is bound to.
    fn local_addr(&self) -> io::Result<SocketAddr>;
    /// Receives one datagram into `buf`: its length and sender. A datagram longer than `buf`
    /// is cut to it.
    fn poll_recv_from(
        &mut self,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<(usize, SocketAddr)>>;
    /// Sends `buf` as one datagram to `target`; the number of bytes sent.
    fn poll_send_to(
        &mut self,
        cx: &mut Context<'_>,
        buf: &[u8],
        target: SocketAddr,
    ) -> Poll<io::Result<usize>>;
}
