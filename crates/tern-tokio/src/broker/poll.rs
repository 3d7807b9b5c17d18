//! TCP connections served by the core task itself (Unix): every socket is registered with one
//! mio [`Poll`](mio::Poll), whose descriptor tokio watches. When it is readable the core
//! collects which sockets are ready, reads them into one scratch buffer straight into the
//! broker, and writes them without blocking.
//!
//! So an idle connection costs a file descriptor and a few dozen bytes of [`Socket`]: no
//! tokio registration, no task, no buffer. (Measured with `cargo xtask bench broker`: a task
//! and a tokio registration per connection came to about 1 KiB each.)
//!
//! Readiness is edge-triggered: a socket is `readable` from its event until a read comes back
//! short or would block, and is read once per turn (`Sockets::ready` is the queue of turns),
//! so a busy client cannot starve the others. A socket the broker does not want to read
//! ([`Broker::wants_read`](super::Broker::wants_read)) keeps its flag and gets its turn back on
//! [`Event::Resume`](super::Event::Resume).
//!
//! Elsewhere, TCP connections are served by tasks like TLS ones; see [`transport`].

#[cfg(unix)]
pub(super) use unix::*;

#[cfg(not(unix))]
pub(super) use other::*;

#[cfg(unix)]
mod unix {
    use std::collections::VecDeque;
    use std::io::{self, Read, Write};
    use std::net::Shutdown;
    use std::time::Duration;

    use bytes::Bytes;
    use mio::net::TcpStream;
    use mio::{Events, Interest, Poll, Registry, Token};
    use tokio::io::unix::AsyncFd;

    use super::super::{Core, Io, READ_CHUNK, Transport, handle_mut};
    use crate::broker::ConnectionId;

    /// Readiness events taken from the poll at once.
    const EVENTS: usize = 1024;

    /// A polled TCP connection.
    pub(crate) struct Socket {
        stream: TcpStream,
        /// What the socket did not take yet (boxed: rare, and most connections are idle).
        pending: Option<Box<Bytes>>,
        /// Readable since the last event, as far as the core knows.
        readable: bool,
        /// In [`Sockets::ready`].
        queued: bool,
    }

    /// The poll of every TCP connection, and what the core reads them with.
    pub(crate) struct Sockets {
        poll: AsyncFd<Poll>,
        registry: Registry,
        /// Taken out while the core handles them.
        events: Option<Events>,
        /// Connections to read, one read per turn.
        ready: VecDeque<ConnectionId>,
        /// Where every read lands before the broker takes its bytes.
        scratch: Vec<u8>,
    }

    /// A TCP connection just accepted, for the core's poll.
    pub(crate) fn transport(stream: tokio::net::TcpStream) -> io::Result<Transport> {
        // Leaves tokio's reactor (and stays non-blocking) for the core's poll.
        let stream = stream.into_std()?;
        Ok(Transport::Polled(TcpStream::from_std(stream)))
    }

    impl Sockets {
        /// A poll registered with the current tokio runtime.
        // `AsyncFd::register_with_interest` is unsafe: tokio cannot check that the
        // descriptor stays the same while registered. This is the one unsafe call of the crate.
        #[allow(unsafe_code)]
        pub(crate) fn new() -> io::Result<Sockets> {
            let poll = Poll::new()?;
            let registry = poll.registry().try_clone()?;
            // SAFETY: a `mio::Poll` owns its poll descriptor from creation to drop and
            // `as_raw_fd` always returns that one; the `AsyncFd` owns the `Poll`, so the
            // descriptor is open and the same for as long as it is registered.
            let poll =
                unsafe { AsyncFd::register_with_interest(poll, tokio::io::Interest::READABLE) }
                    .map_err(io::Error::from)?;
            Ok(Sockets {
                poll,
                registry,
                events: Some(Events::with_capacity(EVENTS)),
                ready: VecDeque::new(),
                scratch: Vec::new(),
            })
        }

        /// Whether some socket is still readable after its turn.
        pub(crate) fn has_ready(&self) -> bool {
            !self.ready.is_empty()
        }

        /// Waits until some socket is ready and collects the events.
        pub(crate) async fn wait(&mut self) -> io::Result<()> {
            let mut guard = self.poll.readable_mut().await?;
            let events = self
                .events
                .get_or_insert_with(|| Events::with_capacity(EVENTS));
            match guard.get_inner_mut().poll(events, Some(Duration::ZERO)) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::Interrupted => return Ok(()),
                Err(e) => return Err(e),
            }
            // A full batch may have left events in the poll: it stays readable for tokio.
            if events.iter().count() < EVENTS {
                guard.clear_ready();
            }
            Ok(())
        }

        /// Polls connection `id`'s socket.
        pub(crate) fn register(
            &mut self,
            id: ConnectionId,
            mut stream: TcpStream,
        ) -> io::Result<Socket> {
            let token = Token(usize::try_from(id.index()).map_err(io::Error::other)?);
            self.registry
                .register(&mut stream, token, Interest::READABLE | Interest::WRITABLE)?;
            Ok(Socket {
                stream,
                pending: None,
                readable: false,
                queued: false,
            })
        }

        /// Gives connection `id` a read turn, if its socket is readable and has none yet.
        pub(crate) fn resume(&mut self, id: ConnectionId, socket: &mut Socket) {
            if socket.readable && !socket.queued {
                socket.queued = true;
                self.ready.push_back(id);
            }
        }

        /// Stops polling `socket`, shuts its sending direction down (after what it has taken)
        /// and closes it.
        pub(crate) fn close(&mut self, mut socket: Socket) {
            let _ = self.registry.deregister(&mut socket.stream);
            let _ = socket.stream.shutdown(Shutdown::Write);
        }
    }

    impl Core {
        /// Handles the events [`Sockets::wait`] collected: readable sockets get a read turn,
        /// writable ones with bytes waiting are written.
        pub(crate) fn socket_events(&mut self) {
            let Some(events) = self.sockets.events.take() else {
                return;
            };
            for event in events.iter() {
                let Some(Some(h)) = self.connections.get_mut(event.token().0) else {
                    continue;
                };
                let (id, paused) = (h.id, h.paused);
                let Io::Polled(socket) = &mut h.io else {
                    continue;
                };
                if event.is_readable() || event.is_read_closed() || event.is_error() {
                    socket.readable = true;
                    if !paused {
                        self.sockets.resume(id, socket);
                    }
                }
                if (event.is_writable() || event.is_write_closed() || event.is_error())
                    && socket.pending.is_some()
                {
                    self.flush_pending(id);
                }
            }
            self.sockets.events = Some(events);
        }

        /// Gives every socket queued for reading one read.
        pub(crate) fn read_ready(&mut self) {
            let turns = self.sockets.ready.len();
            for _ in 0..turns {
                let Some(id) = self.sockets.ready.pop_front() else {
                    break;
                };
                let Some(h) = handle_mut(&mut self.connections, id) else {
                    continue;
                };
                let paused = h.paused;
                let Io::Polled(socket) = &mut h.io else {
                    continue;
                };
                socket.queued = false;
                if paused {
                    // Read on `Event::Resume`.
                    continue;
                }
                if self.sockets.scratch.len() < READ_CHUNK {
                    self.sockets.scratch.resize(READ_CHUNK, 0);
                }
                match (&socket.stream).read(&mut self.sockets.scratch) {
                    Ok(0) => self.failed(id),
                    Ok(n) => {
                        if n < self.sockets.scratch.len() {
                            // A short read emptied the socket's buffer: more comes with an
                            // event.
                            socket.readable = false;
                        } else {
                            self.sockets.resume(id, socket);
                        }
                        let now = self.now();
                        let bytes = self.sockets.scratch.get(..n).unwrap_or_default();
                        self.broker.handle_read(now, id, bytes);
                        if !self.broker.wants_read(id) {
                            if let Some(h) = handle_mut(&mut self.connections, id) {
                                h.paused = true;
                            }
                        }
                    }
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => socket.readable = false,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {
                        self.sockets.resume(id, socket);
                    }
                    Err(_) => self.failed(id),
                }
            }
        }

        /// Writes `bytes` to connection `id`'s socket without blocking. `true` when all
        /// went; otherwise the rest waits for the socket to be writable (or the connection
        /// failed).
        pub(crate) fn write_polled(&mut self, id: ConnectionId, mut bytes: Bytes) -> bool {
            let Some(h) = handle_mut(&mut self.connections, id) else {
                return false;
            };
            let Io::Polled(socket) = &mut h.io else {
                return false;
            };
            while !bytes.is_empty() {
                match (&socket.stream).write(&bytes) {
                    Ok(0) => {
                        self.failed(id);
                        return false;
                    }
                    Ok(n) => {
                        let _ = bytes.split_to(n.min(bytes.len()));
                    }
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                        socket.pending = Some(Box::new(bytes));
                        h.writing = true;
                        return false;
                    }
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(_) => {
                        self.failed(id);
                        return false;
                    }
                }
            }
            true
        }

        /// The socket of connection `id` can take more: what it did not take is written,
        /// then the broker's next chunks.
        fn flush_pending(&mut self, id: ConnectionId) {
            let Some(h) = handle_mut(&mut self.connections, id) else {
                return;
            };
            let Io::Polled(socket) = &mut h.io else {
                return;
            };
            let Some(bytes) = socket.pending.take() else {
                return;
            };
            h.writing = false;
            if self.write_polled(id, *bytes) {
                self.pull(id);
            }
        }
    }
}

#[cfg(not(unix))]
mod other {
    use std::io;

    use super::super::{Core, Transport};

    /// Without a mio poll, TCP connections are served by tasks.
    pub(crate) struct Sockets;

    /// A TCP connection just accepted, for a reader and a writer task.
    pub(crate) fn transport(stream: tokio::net::TcpStream) -> io::Result<Transport> {
        let (reader, writer) = stream.into_split();
        Ok(Transport::Tasks(Box::new(reader), Box::new(writer)))
    }

    impl Sockets {
        pub(crate) fn new() -> io::Result<Sockets> {
            Ok(Sockets)
        }

        pub(crate) fn has_ready(&self) -> bool {
            false
        }

        pub(crate) async fn wait(&mut self) -> io::Result<()> {
            std::future::pending().await
        }
    }

    impl Core {
        pub(crate) fn socket_events(&mut self) {}

        pub(crate) fn read_ready(&mut self) {}
    }
}
