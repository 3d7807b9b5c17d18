//! The byte pipe under the state machine: a TCP connection, optionally with TLS run sans-IO,
//! a reader thread per connection, and the thread that opens connections.
//!
//! TLS is a `rustls::ClientConnection` owned by the driver thread alone: the reader thread
//! hands it raw TCP bytes over the driver's channel and the driver decrypts them, so no lock
//! is ever held across a blocking read, and writing never waits for reading.

use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpStream, ToSocketAddrs};
use std::sync::Arc;
use std::sync::mpsc::Sender;
use std::thread;
use std::time::{Duration, Instant};

use tern_io::{Error, MqttOptions};

use crate::driver::Input;
use crate::messages::{READ_CHUNK, Shared};

/// How long a reader may wait for the server to close after our DISCONNECT.
const LINGER: Duration = Duration::from_secs(1);

/// Opens a TCP connection to `host:port` on a thread of its own, so that the driver keeps
/// serving commands meanwhile; the outcome arrives as [`Input::Opened`].
pub(crate) fn open(
    attempt: u64,
    host: String,
    port: u16,
    timeout: Duration,
    inputs: Sender<Input>,
) -> io::Result<()> {
    thread::Builder::new()
        .name("tern-connect".into())
        .spawn(move || {
            let result = connect_tcp(&host, port, timeout);
            // The driver may have finished meanwhile; the stream then just closes.
            let _ = inputs.send(Input::Opened { attempt, result });
        })
        .map(drop)
}

/// Tries every address `host` resolves to, in order.
fn connect_tcp(host: &str, port: u16, timeout: Duration) -> io::Result<TcpStream> {
    let mut last = None;
    for addr in (host, port).to_socket_addrs()? {
        match TcpStream::connect_timeout(&addr, timeout) {
            Ok(stream) => return Ok(stream),
            Err(e) => {
                tracing::debug!(%addr, error = %e, "TCP connection failed");
                last = Some(e);
            }
        }
    }
    Err(last.unwrap_or_else(|| {
        io::Error::new(
            io::ErrorKind::NotFound,
            format!("{host} resolves to no address"),
        )
    }))
}

/// One open connection: the driver's side of it.
pub(crate) struct Transport {
    /// Names the connection in the reader's inputs and in [`Shared`].
    pub(crate) id: u64,
    stream: TcpStream,
    #[cfg(feature = "tls")]
    tls: Option<Box<rustls::ClientConnection>>,
    /// When the TLS handshake must have finished.
    #[cfg(feature = "tls")]
    handshake_deadline: Option<Instant>,
}

impl Transport {
    /// Sets up the connection over a freshly opened `stream` (and starts the TLS handshake
    /// when `options` ask for TLS), makes it the current one in `shared`, then starts its
    /// reader thread.
    pub(crate) fn start(
        id: u64,
        stream: TcpStream,
        options: &MqttOptions,
        inputs: Sender<Input>,
        shared: Arc<Shared>,
    ) -> Result<Transport, Error> {
        // MQTT packets are small and latency matters more than segment count.
        stream.set_nodelay(true)?;
        // A server that stops reading would block the driver forever: give up on a write
        // after the keep-alive timeout (or a minute without keep alive).
        let keep_alive = Duration::from_secs(u64::from(options.config.keep_alive));
        let write_timeout = if keep_alive.is_zero() {
            Duration::from_secs(60)
        } else {
            keep_alive * 3 / 2
        };
        stream.set_write_timeout(Some(write_timeout.max(options.connect_timeout)))?;
        let reader = stream.try_clone()?;
        #[allow(unused_mut)]
        let mut transport = Transport {
            id,
            stream,
            #[cfg(feature = "tls")]
            tls: None,
            #[cfg(feature = "tls")]
            handshake_deadline: None,
        };
        #[cfg(feature = "tls")]
        if let Some(tls) = &options.tls {
            let name = options.tls_server_name()?;
            let mut connection = rustls::ClientConnection::new(tls.config.clone(), name)
                .map_err(|e| Error::Tls(e.to_string()))?;
            // What the state machine writes is bounded by its own queue limits; rustls must
            // not refuse plaintext written before the handshake finished.
            connection.set_buffer_limit(None);
            transport.tls = Some(Box::new(connection));
            transport.handshake_deadline = Some(Instant::now() + options.connect_timeout);
            transport.flush_tls()?;
        }
        // Before the reader starts: it stops at once when its connection is not the current
        // one.
        shared.set_connection(id);
        thread::Builder::new()
            .name(format!("tern-read-{id}"))
            .spawn(move || read_loop(id, reader, inputs, shared))?;
        Ok(transport)
    }

    /// The deadline of a TLS handshake still running.
    pub(crate) fn handshake_deadline(&self) -> Option<Instant> {
        #[cfg(feature = "tls")]
        if let Some(tls) = &self.tls {
            if tls.is_handshaking() {
                return self.handshake_deadline;
            }
        }
        None
    }

    /// Writes bytes of the state machine (encrypted under TLS).
    pub(crate) fn write(&mut self, bytes: &[u8]) -> Result<(), Error> {
        #[cfg(feature = "tls")]
        if let Some(tls) = &mut self.tls {
            tls.writer().write_all(bytes)?;
            return self.flush_tls();
        }
        self.stream.write_all(bytes)?;
        Ok(())
    }

    /// Turns bytes read from the socket into bytes for the state machine (decrypting them
    /// under TLS, and answering the handshake). Also says whether the peer closed the TLS
    /// session (close_notify).
    pub(crate) fn received(&mut self, bytes: Vec<u8>) -> Result<(Vec<u8>, bool), Error> {
        #[cfg(feature = "tls")]
        if let Some(tls) = &mut self.tls {
            let mut input = &bytes[..];
            let mut plain = Vec::new();
            let mut closed = false;
            while !input.is_empty() {
                tls.read_tls(&mut input)?;
                let state = match tls.process_new_packets() {
                    Ok(state) => state,
                    Err(e) => {
                        // Send the alert that says why, as rustls asks, then give up.
                        let _ = tls.write_tls(&mut self.stream);
                        return Err(Error::Tls(e.to_string()));
                    }
                };
                let n = state.plaintext_bytes_to_read();
                closed |= state.peer_has_closed();
                if n > 0 {
                    let start = plain.len();
                    plain.resize(start + n, 0);
                    if let Some(fresh) = plain.get_mut(start..) {
                        tls.reader().read_exact(fresh)?;
                    }
                }
            }
            self.flush_tls()?;
            return Ok((plain, closed));
        }
        Ok((bytes, false))
    }

    #[cfg(feature = "tls")]
    fn flush_tls(&mut self) -> Result<(), Error> {
        if let Some(tls) = &mut self.tls {
            while tls.wants_write() {
                tls.write_tls(&mut self.stream)?;
            }
        }
        Ok(())
    }

    /// Closes the connection. `graceful` (after our DISCONNECT): TLS close_notify, then the
    /// write side only, so that what was written still arrives; the reader sees the server
    /// close. Otherwise both sides at once, which also wakes the reader.
    pub(crate) fn close(mut self, graceful: bool) {
        if graceful {
            #[cfg(feature = "tls")]
            if let Some(tls) = &mut self.tls {
                tls.send_close_notify();
                let _ = self.flush_tls();
            }
            let _ = self.stream.flush();
            let _ = self.stream.shutdown(Shutdown::Write);
            // The reader is told to stop, but may sit in `read` until the server closes.
            let _ = self.stream.set_read_timeout(Some(LINGER));
        } else {
            let _ = self.stream.shutdown(Shutdown::Both);
        }
    }
}

/// The reader thread of connection `id`: raw bytes to the driver, until the connection ends
/// or the driver moves on. It pauses while the application's message buffer is full.
fn read_loop(id: u64, mut stream: TcpStream, inputs: Sender<Input>, shared: Arc<Shared>) {
    let mut buf = vec![0; READ_CHUNK];
    while shared.wait_to_read(id) {
        match stream.read(&mut buf) {
            Ok(0) => {
                let _ = inputs.send(Input::Closed {
                    connection: id,
                    error: None,
                });
                return;
            }
            Ok(n) => {
                shared.chunk_read(id);
                let bytes = buf.get(..n).unwrap_or_default().to_vec();
                if inputs
                    .send(Input::Read {
                        connection: id,
                        bytes,
                    })
                    .is_err()
                {
                    return;
                }
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            // Only a closing connection has a read timeout (see `close`).
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) && !shared.is_current(id) =>
            {
                return;
            }
            Err(e) => {
                let _ = inputs.send(Input::Closed {
                    connection: id,
                    error: Some(e),
                });
                return;
            }
        }
    }
    tracing::trace!(connection = id, "reader stopped");
}
