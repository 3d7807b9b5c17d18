//! tokio adapter for tern's sans-IO MQTT client, and CoAP client and server.
//!
//! The protocol lives in [`tern_mqtt::client`]; this crate opens the TCP connection (and TLS
//! with the `tls` feature), drives the state machine in a spawned task, and hands the
//! application a [`Client`] handle and a [`Messages`] stream. The driver is the
//! runtime-neutral one of [`tern_io::mqtt`]; this crate supplies tokio's sockets, timers and
//! spawning.
//!
//! The seed scenario: subscribe to `sensors/temperature` and print every message.
//!
//! ```no_run
//! use tern_tokio::{MqttOptions, QoS};
//!
//! # async fn run() -> Result<(), tern_tokio::Error> {
//! let options = MqttOptions::new("localhost", 1883, "thermometer-display")?;
//! let (client, mut messages) = tern_tokio::connect(options).await?;
//! client.subscribe(&[("sensors/temperature", QoS::AtLeastOnce)]).await?;
//! while let Some(message) = messages.recv().await {
//!     println!("{}: {}", message.topic, String::from_utf8_lossy(&message.payload));
//! }
//! # Ok(()) }
//! ```
//!
//! Publishing completes when the broker acknowledged:
//!
//! ```no_run
//! # async fn run(client: tern_tokio::Client) -> Result<(), tern_tokio::Error> {
//! use tern_tokio::QoS;
//! let code = client.publish("sensors/temperature", "21.5", QoS::AtLeastOnce, false).await?;
//! assert!(!code.is_error());
//! # Ok(()) }
//! ```
//!
//! # Behaviour
//!
//! - [`connect`] returns once CONNACK accepted the connection; later losses reconnect with
//!   capped, jittered exponential backoff ([`MqttOptions::reconnect`]), resuming the session.
//! - The connection keeps pinging and acknowledging while the application is slow to read;
//!   [`Messages`] buffers [`MqttOptions::message_buffer`] messages, then reading pauses.
//! - With [`MqttOptions::session_file`] the session is kept in a file, so a restarted process
//!   loses no QoS 1/2 message.
//! - Connections, reconnections and errors are logged with `tracing`.
//!
//! `connect` must be called within a tokio runtime (it spawns the driver task).
//!
//! # CoAP
//!
//! [`coap`] (feature `coap`, on by default) has a CoAP client and server over UDP on the same
//! runtime-neutral footing: [`coap::CoapClient`] GETs, POSTs, PUTs and DELETEs `coap://`
//! URIs, [`coap::CoapServer`] serves a [`coap::Router`] of handlers.

#![cfg_attr(
    not(test),
    deny(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::indexing_slicing,
        clippy::panic
    )
)]

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Instant as StdInstant;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;

#[cfg(feature = "broker")]
pub mod broker;
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
/// See the [crate documentation](crate) for an example.
pub async fn connect(options: MqttOptions) -> Result<(Client, Messages), Error> {
    tern_io::mqtt::connect(Tokio, options).await
}

/// tokio as the [`Runtime`] of tern-io's drivers: what [`coap::CoapClient`] and
/// [`coap::CoapServer`] are generic over. Its sockets must be made within a tokio runtime.
#[derive(Debug, Clone, Copy, Default)]
pub struct Tokio;

impl Runtime for Tokio {
    type Timer = Sleep;
    type Udp = Udp;

    fn timer(&self, deadline: StdInstant) -> Sleep {
        Sleep(Box::pin(tokio::time::sleep_until(deadline.into())))
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
            let tcp = TcpStream::connect((host.as_str(), port)).await?;
            // MQTT packets are small and latency matters more than coalescing.
            tcp.set_nodelay(true)?;
            #[cfg(feature = "tls")]
            if let Some((config, name)) = tls {
                let connector = tokio_rustls::TlsConnector::from(config);
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
        // tokio's sockets panic outside a runtime; say so as an error instead.
        if tokio::runtime::Handle::try_current().is_err() {
            return Err(io::Error::other(
                "a tern-tokio socket must be made within a tokio runtime",
            ));
        }
        let socket = std::net::UdpSocket::bind(addr)?;
        socket.set_nonblocking(true)?;
        Ok(Udp(tokio::net::UdpSocket::from_std(socket)?))
    }

    fn resolve(&self, host: &str, port: u16) -> BoxFuture<io::Result<Vec<SocketAddr>>> {
        let host = host.to_string();
        Box::pin(async move {
            Ok(tokio::net::lookup_host((host.as_str(), port))
                .await?
                .collect())
        })
    }

    fn spawn(&self, future: BoxFuture<()>) {
        tokio::spawn(future);
    }
}

/// tokio's `UdpSocket` as a [`UdpSocket`].
#[doc(hidden)]
#[derive(Debug)]
pub struct Udp(tokio::net::UdpSocket);

impl UdpSocket for Udp {
    fn local_addr(&self) -> io::Result<SocketAddr> {
        self.0.local_addr()
    }

    fn poll_recv_from(
        &mut self,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<(usize, SocketAddr)>> {
        let mut buf = ReadBuf::new(buf);
        match self.0.poll_recv_from(cx, &mut buf) {
            Poll::Ready(Ok(peer)) => Poll::Ready(Ok((buf.filled().len(), peer))),
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
            Poll::Pending => Poll::Pending,
        }
    }

    fn poll_send_to(
        &mut self,
        cx: &mut Context<'_>,
        buf: &[u8],
        target: SocketAddr,
    ) -> Poll<io::Result<usize>> {
        self.0.poll_send_to(cx, buf, target)
    }
}

/// tokio's `Sleep` as a [`Timer`].
#[doc(hidden)]
pub struct Sleep(Pin<Box<tokio::time::Sleep>>);

impl Timer for Sleep {
    fn reset(&mut self, deadline: StdInstant) {
        self.0.as_mut().reset(deadline.into());
    }

    fn poll_expired(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        self.0.as_mut().poll(cx)
    }
}

/// A tokio byte stream (TCP or TLS) as a [`Transport`].
struct Io<S>(S);

impl<S: AsyncRead + AsyncWrite + Send + Unpin + 'static> Transport for Io<S> {
    fn poll_read(&mut self, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        let mut buf = ReadBuf::new(buf);
        match Pin::new(&mut self.0).poll_read(cx, &mut buf) {
            Poll::Ready(Ok(())) => Poll::Ready(Ok(buf.filled().len())),
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
            Poll::Pending => Poll::Pending,
        }
    }

    fn poll_write(&mut self, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.0).poll_write(cx, buf)
    }

    fn poll_flush(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_flush(cx)
    }

    fn poll_close(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_shutdown(cx)
    }
}
