//! async-std and smol adapter for tern's sans-IO MQTT client, and CoAP client and server.
//!
//! Written against [futures-io](https://docs.rs/futures-io) and
//! [async-io](https://docs.rs/async-io) — the reactor and timers that async-std and smol
//! both run on — so it serves either runtime, and any executor: the connection is driven on
//! a thread of its own (one per connection) with `async_io::block_on`, so no executor has to
//! be named. The protocol lives in [`tern_mqtt::client`] and the driver is the
//! runtime-neutral one of [`tern_io::mqtt`]; this crate supplies sockets, timers and the
//! driver thread. TLS with rustls is behind the `tls` feature.
//!
//! The seed scenario: subscribe to `sensors/temperature` and print every message.
//!
//! ```no_run
//! use tern_async_std::{MqttOptions, QoS};
//!
//! # async fn run() -> Result<(), tern_async_std::Error> {
//! let options = MqttOptions::new("localhost", 1883, "thermometer-display")?;
//! let (client, mut messages) = tern_async_std::connect(options).await?;
//! client.subscribe(&[("sensors/temperature", QoS::AtLeastOnce)]).await?;
//! while let Some(message) = messages.recv().await {
//!     println!("{}: {}", message.topic, String::from_utf8_lossy(&message.payload));
//! }
//! # Ok(()) }
//! // With async-std: `async_std::task::block_on(run())`; with smol: `smol::block_on(run())`.
//! ```
//!
//! [`Messages`] is a `futures_core::Stream`, so `StreamExt` from futures-lite or futures
//! works on it as well. The behaviour (reconnection, backpressure, session files, logs) is
//! the same as in tern-tokio and tern-blocking; see [`MqttOptions`].
//!
//! # CoAP
//!
//! [`coap`] (feature `coap`, on by default) has a CoAP client and server over UDP on the same
//! footing: [`coap::CoapClient`] GETs, POSTs, PUTs and DELETEs `coap://` URIs,
//! [`coap::CoapServer`] serves a [`coap::Router`] of handlers; each socket is driven on a
//! thread of its own.

#![cfg_attr(
    not(test),
    deny(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::indexing_slicing,
        clippy::panic
    )
)]

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{Context, Poll, ready};
use std::time::Instant as StdInstant;

use futures_io::{AsyncRead, AsyncWrite};

#[cfg(feature = "coap")]
pub mod coap;

pub use tern_io::mqtt::{Client, Messages};
#[cfg(feature = "tls")]
pub use tern_io::tls::TlsOptions;
pub use tern_io::{
    Backoff, ClientConfig, ConnectionLost, Error, Message, MqttOptions, Properties,
    ProtocolVersion, Publish, QoS, ReasonCode, SessionFile, Will,
};

use tern_io::runtime::{BoxFuture, Runtime, Timer, Transport, UdpSocket};

/// Connects to the broker of `options` and returns once CONNACK accepted the connection:
/// the handle to publish and subscribe with, and the stream of incoming messages.
///
/// The connection is driven on a new thread named `tern-driver`, which ends with it.
pub async fn connect(options: MqttOptions) -> Result<(Client, Messages), Error> {
    tern_io::mqtt::connect(AsyncIo, options).await
}

/// async-io as the [`Runtime`] of tern-io's drivers: what [`coap::CoapClient`] and
/// [`coap::CoapServer`] are generic over. Each driver runs on a thread of its own.
#[derive(Debug, Clone, Copy, Default)]
pub struct AsyncIo;

impl Runtime for AsyncIo {
    type Timer = Sleep;
    type Udp = Udp;

    fn timer(&self, deadline: StdInstant) -> Sleep {
        Sleep(async_io::Timer::at(deadline))
    }

    fn connect(&self, options: &MqttOptions) -> BoxFuture<Result<Box<dyn Transport>, Error>> {
        let host = options.host.clone();
        let port = options.port;
        #[cfg(feature = "tls")]
        let tls = match options.tls_client() {
            Ok(tls) => tls,
            Err(e) => return Box::pin(async move { Err(e) }),
        };
        Box::pin(async move {
            let tcp = async_net::TcpStream::connect((host.as_str(), port)).await?;
            // MQTT packets are small and latency matters more than coalescing.
            tcp.set_nodelay(true)?;
            #[cfg(feature = "tls")]
            if let Some((config, name)) = tls {
                let connector = futures_rustls::TlsConnector::from(config);
                let stream = connector
                    .connect(name, tcp)
                    .await
                    .map_err(|e| Error::Tls(format!("handshake with {host}:{port}: {e}")))?;
                return Ok(Box::new(Io(stream)) as Box<dyn Transport>);
            }
            Ok(Box::new(Io(tcp)) as Box<dyn Transport>)
        })
    }

    fn bind_udp(&self, addr: SocketAddr) -> io::Result<Udp> {
        Ok(Udp(async_io::Async::<std::net::UdpSocket>::bind(addr)?))
    }

    fn resolve(&self, host: &str, port: u16) -> BoxFuture<io::Result<Vec<SocketAddr>>> {
        let host = host.to_string();
        Box::pin(async move { async_net::resolve((host.as_str(), port)).await })
    }

    fn spawn(&self, future: BoxFuture<()>) {
        let spawned = std::thread::Builder::new()
            .name("tern-driver".into())
            .spawn(move || async_io::block_on(future));
        if let Err(e) = spawned {
            // Dropping the driver ends the connection; `connect` then reports it closed.
            tracing::error!(%e, "could not start the connection thread");
        }
    }
}

/// async-io's `Async<UdpSocket>` as a [`UdpSocket`].
#[doc(hidden)]
#[derive(Debug)]
pub struct Udp(async_io::Async<std::net::UdpSocket>);

impl UdpSocket for Udp {
    fn local_addr(&self) -> io::Result<SocketAddr> {
        self.0.get_ref().local_addr()
    }

    fn poll_recv_from(
        &mut self,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<(usize, SocketAddr)>> {
        // As async-io's own readers do: try, and wait for readiness only on WouldBlock.
        loop {
            match self.0.get_ref().recv_from(buf) {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                result => return Poll::Ready(result),
            }
            ready!(self.0.poll_readable(cx))?;
        }
    }

    fn poll_send_to(
        &mut self,
        cx: &mut Context<'_>,
        buf: &[u8],
        target: SocketAddr,
    ) -> Poll<io::Result<usize>> {
        loop {
            match self.0.get_ref().send_to(buf, target) {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                result => return Poll::Ready(result),
            }
            ready!(self.0.poll_writable(cx))?;
        }
    }
}

/// async-io's `Timer` as a [`Timer`].
#[doc(hidden)]
pub struct Sleep(async_io::Timer);

impl Timer for Sleep {
    fn reset(&mut self, deadline: StdInstant) {
        self.0.set_at(deadline);
    }

    fn poll_expired(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        use std::future::Future;
        Pin::new(&mut self.0).poll(cx).map(|_| ())
    }
}

/// A futures-io byte stream (TCP or TLS) as a [`Transport`].
struct Io<S>(S);

impl<S: AsyncRead + AsyncWrite + Send + Unpin + 'static> Transport for Io<S> {
    fn poll_read(&mut self, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.0).poll_read(cx, buf)
    }

    fn poll_write(&mut self, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.0).poll_write(cx, buf)
    }

    fn poll_flush(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_flush(cx)
    }

    fn poll_close(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_close(cx)
    }
}
