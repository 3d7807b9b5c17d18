//! The client handle: URIs to a peer address and options, requests to the driver thread, and
//! waiting for their outcome.

use std::io;
use std::net::{SocketAddr, ToSocketAddrs};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use bytes::Bytes;
use tern_coap::Code;
use tern_coap::endpoint::{Request, Response};
use tern_io::coap::{Error, target};

use super::config::Config;
use super::driver::{Command, Reply, Socket};
use super::observe::{Mailbox, Observation};

/// A CoAP client over UDP: send a request to a `coap://` URI and wait for its response.
///
/// Cheap to clone and usable from any thread; every call blocks until the outcome is known.
/// Behind it, one socket per address family (the IPv4 one bound at once, the IPv6 one on the
/// first request to an IPv6 address) with a thread that drives the sans-IO
/// [`Endpoint`](tern_coap::endpoint::Endpoint): retransmission, deduplication, separate
/// responses, the NSTART limit per server. Dropping the last clone closes the sockets.
///
/// A response is `Ok` whatever its code; 4.xx and 5.xx are for the caller to check.
///
/// ```no_run
/// use tern_blocking::coap::CoapClient;
/// use tern_coap::Code;
///
/// let client = CoapClient::new()?;
/// let response = client.get("coap://coap.me/hello")?;
/// assert_eq!(response.code, Code::CONTENT);
/// println!("{}", String::from_utf8_lossy(&response.payload));
/// # Ok::<(), tern_blocking::coap::Error>(())
/// ```
#[derive(Clone)]
pub struct CoapClient {
    inner: Arc<Inner>,
}

struct Inner {
    config: Config,
    /// Bound to one address: only that family is reachable.
    fixed: bool,
    sockets: Mutex<Sockets>,
}

#[derive(Default)]
struct Sockets {
    v4: Option<Arc<Socket>>,
    v6: Option<Arc<Socket>>,
}

impl CoapClient {
    /// A client with the default [`Config`], on an ephemeral port of every interface
    /// (`0.0.0.0:0`, and `[::]:0` once an IPv6 server is addressed).
    ///
    /// ```
    /// let client = tern_blocking::coap::CoapClient::new()?;
    /// assert!(client.local_addrs()[0].is_ipv4());
    /// # Ok::<(), tern_blocking::coap::Error>(())
    /// ```
    pub fn new() -> Result<CoapClient, Error> {
        CoapClient::with_config(Config::new())
    }

    /// A client as [`CoapClient::new`] makes, with `config`.
    pub fn with_config(config: Config) -> Result<CoapClient, Error> {
        let v4 = Socket::bind(SocketAddr::from(([0, 0, 0, 0], 0)), &config, false)?;
        Ok(CoapClient::from_parts(
            config,
            false,
            Sockets {
                v4: Some(Arc::new(v4)),
                v6: None,
            },
        ))
    }

    /// A client on one socket bound to `addr` (e.g. `"127.0.0.1:0"`, or a fixed source
    /// port). An IPv6 socket reaches IPv4 servers through their IPv4-mapped addresses where
    /// the system's sockets are dual-stack; an IPv4 one reaches IPv4 servers only.
    ///
    /// ```
    /// let client = tern_blocking::coap::CoapClient::bind("127.0.0.1:0")?;
    /// assert!(client.local_addrs()[0].ip().is_loopback());
    /// # Ok::<(), tern_blocking::coap::Error>(())
    /// ```
    pub fn bind(addr: impl ToSocketAddrs) -> Result<CoapClient, Error> {
        CoapClient::bind_with(addr, Config::new())
    }

    /// A client on `addr` (see [`CoapClient::bind`]), with `config`.
    pub fn bind_with(addr: impl ToSocketAddrs, config: Config) -> Result<CoapClient, Error> {
        let addr = addr.to_socket_addrs()?.next().ok_or_else(|| {
            Error::Io(io::Error::new(
                io::ErrorKind::InvalidInput,
                "no socket address to bind",
            ))
        })?;
        let socket = Arc::new(Socket::bind(addr, &config, false)?);
        let sockets = if addr.is_ipv4() {
            Sockets {
                v4: Some(socket),
                v6: None,
            }
        } else {
            Sockets {
                v4: None,
                v6: Some(socket),
            }
        };
        Ok(CoapClient::from_parts(config, true, sockets))
    }

    /// A client over a server's socket.
    pub(crate) fn over(socket: Arc<Socket>, config: Config) -> CoapClient {
        let sockets = if socket.local_addr().is_ipv4() {
            Sockets {
                v4: Some(socket),
                v6: None,
            }
        } else {
            Sockets {
                v4: None,
                v6: Some(socket),
            }
        };
        CoapClient::from_parts(config, true, sockets)
    }

    fn from_parts(config: Config, fixed: bool, sockets: Sockets) -> CoapClient {
        CoapClient {
            inner: Arc::new(Inner {
                config,
                fixed,
                sockets: Mutex::new(sockets),
            }),
        }
    }

    /// The addresses of the sockets bound so far (IPv4 first).
    pub fn local_addrs(&self) -> Vec<SocketAddr> {
        let sockets = self.sockets();
        [&sockets.v4, &sockets.v6]
            .into_iter()
            .flatten()
            .map(|s| s.local_addr())
            .collect()
    }

    /// GET `uri` (a Confirmable request).
    pub fn get(&self, uri: &str) -> Result<Response, Error> {
        self.request(uri, Request::new(Code::GET))
    }

    /// POST `payload` to `uri`.
    ///
    /// ```no_run
    /// # let client = tern_blocking::coap::CoapClient::new()?;
    /// let response = client.post("coap://localhost/hello", "world")?;
    /// println!("{}", response.code);
    /// # Ok::<(), tern_blocking::coap::Error>(())
    /// ```
    pub fn post(&self, uri: &str, payload: impl Into<Bytes>) -> Result<Response, Error> {
        self.request(uri, Request::new(Code::POST).with_payload(payload))
    }

    /// PUT `payload` to `uri`.
    pub fn put(&self, uri: &str, payload: impl Into<Bytes>) -> Result<Response, Error> {
        self.request(uri, Request::new(Code::PUT).with_payload(payload))
    }

    /// DELETE `uri`.
    pub fn delete(&self, uri: &str) -> Result<Response, Error> {
        self.request(uri, Request::new(Code::DELETE))
    }

    /// Sends `request` to `uri` and waits for the response. The URI gives the destination and
    /// the Uri-Host, Uri-Port, Uri-Path and Uri-Query options, which replace any of those in
    /// `request`; its other options (Content-Format, Accept, ...), payload and type (CON or
    /// NON) are sent as they are.
    ///
    /// A host name is resolved with the system's resolver; when it has IPv4 and IPv6
    /// addresses, the first IPv4 one is used.
    ///
    /// ```no_run
    /// use tern_blocking::coap::CoapClient;
    /// use tern_coap::endpoint::Request;
    /// use tern_coap::value::ContentFormat;
    /// use tern_coap::Code;
    ///
    /// let client = CoapClient::new()?;
    /// let request = Request::builder(Code::GET)
    ///     .options(|o| o.push_accept(ContentFormat::JSON))
    ///     .non_confirmable()
    ///     .build()?;
    /// let response = client.request("coap://[::1]/sensors/temp?unit=C", request)?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn request(&self, uri: &str, request: Request) -> Result<Response, Error> {
        let uri = target::parse(uri)?;
        let request = target::request_for(&uri, request)?;
        let (socket, peer) = self.destination(&uri)?;
        self.call(&socket, |ticket, reply| Command::Request {
            ticket,
            peer,
            request,
            reply,
        })
    }

    /// Observes `uri` (RFC 7641): a GET with Observe = 0, then every notification the server
    /// sends, in order, until the observation ends or the [`Observation`] is dropped. Blocks
    /// until the first response: an error when there is none (timeout, reset); otherwise the
    /// observation, whose first item is that response (also when it is not 2.xx, or came
    /// without Observe: the server does not let us observe, and the observation ends after
    /// it).
    ///
    /// ```no_run
    /// use tern_blocking::coap::CoapClient;
    ///
    /// let client = CoapClient::new()?;
    /// let mut time = client.observe("coap://localhost/time")?;
    /// while let Some(notification) = time.recv() {
    ///     println!("{} {}", notification.code, String::from_utf8_lossy(&notification.payload));
    /// }
    /// if let Some(e) = time.failure() {
    ///     eprintln!("the observation failed: {e}");
    /// }
    /// # Ok::<(), tern_blocking::coap::Error>(())
    /// ```
    pub fn observe(&self, uri: &str) -> Result<Observation, Error> {
        self.observe_with(uri, Request::new(Code::GET))
    }

    /// Observes `uri` with `request` (a GET or FETCH; its Observe option is the endpoint's
    /// to set), as [`CoapClient::observe`] does: for an Accept, a NON registration, ...
    pub fn observe_with(&self, uri: &str, request: Request) -> Result<Observation, Error> {
        let uri = target::parse(uri)?;
        let request = target::request_for(&uri, request)?;
        let (socket, peer) = self.destination(&uri)?;
        if socket.link().on_driver_thread() {
            return Err(Error::Reentrant);
        }
        let ticket = socket.ticket();
        let mailbox = Arc::new(Mailbox::default());
        socket.send(Command::Observe {
            ticket,
            peer,
            request,
            mailbox: mailbox.clone(),
        })?;
        let observation = Observation::new(mailbox, socket, ticket);
        // Dropped on an error: the registration is cancelled.
        observation.wait_first(self.inner.config.timeout)?;
        Ok(observation)
    }

    /// Sends a CoAP ping (an empty Confirmable message, RFC 7252 §4.3) to `addr` and waits
    /// for the answer: `Ok` when the peer is alive, [`Error::Timeout`] when it never answers.
    ///
    /// ```no_run
    /// # let client = tern_blocking::coap::CoapClient::new()?;
    /// client.ping("127.0.0.1:5683")?;
    /// # Ok::<(), tern_blocking::coap::Error>(())
    /// ```
    pub fn ping(&self, addr: impl ToSocketAddrs) -> Result<(), Error> {
        let addrs: Vec<SocketAddr> = addr.to_socket_addrs()?.collect();
        let host = addrs
            .first()
            .map_or_else(String::new, |a| a.ip().to_string());
        let (socket, peer) = self.socket_for(&addrs, &host)?;
        self.call(&socket, |ticket, reply| Command::Ping {
            ticket,
            peer,
            reply,
        })
    }

    /// Hands a command to the driver and waits for its answer, at most the configured
    /// timeout (then the request is cancelled).
    fn call<T>(
        &self,
        socket: &Socket,
        command: impl FnOnce(u64, Reply<T>) -> Command,
    ) -> Result<T, Error> {
        if socket.link().on_driver_thread() {
            return Err(Error::Reentrant);
        }
        let ticket = socket.ticket();
        let (reply, answer) = mpsc::sync_channel(1);
        socket.send(command(ticket, reply))?;
        match self.inner.config.timeout {
            Some(timeout) => match answer.recv_timeout(timeout) {
                Ok(result) => result,
                Err(RecvTimeoutError::Timeout) => {
                    let _ = socket.send(Command::Cancel { ticket });
                    Err(Error::Timeout)
                }
                Err(RecvTimeoutError::Disconnected) => Err(Error::Closed),
            },
            None => answer.recv().unwrap_or(Err(Error::Closed)),
        }
    }

    fn sockets(&self) -> MutexGuard<'_, Sockets> {
        // Nothing panics while holding the lock; if something did, the sockets are still fine.
        self.inner
            .sockets
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// The socket for `uri`'s host (resolved when it is a name), and its address as that
    /// socket reaches it.
    fn destination(&self, uri: &tern_coap::uri::Uri) -> Result<(Arc<Socket>, SocketAddr), Error> {
        let addrs = match target::ip_destination(uri) {
            Some(addr) => vec![addr],
            None => (uri.host(), uri.effective_port())
                .to_socket_addrs()
                .map_err(|error| Error::Resolve {
                    host: uri.host().to_owned(),
                    error,
                })?
                .collect(),
        };
        self.socket_for(&addrs, uri.host())
    }

    /// The socket to send to one of `addrs` from, and that address as the socket reaches
    /// it: the first IPv4 address when there is one (a server that listens on IPv4 only is
    /// common, and one on the wrong family would only time out), else the first. A socket is
    /// bound on the first use of its family, unless the client was bound to one address.
    fn socket_for(
        &self,
        addrs: &[SocketAddr],
        host: &str,
    ) -> Result<(Arc<Socket>, SocketAddr), Error> {
        let ordered = addrs
            .iter()
            .filter(|a| a.is_ipv4())
            .chain(addrs.iter().filter(|a| a.is_ipv6()));
        let mut sockets = self.sockets();
        let mut last_error = None;
        for &addr in ordered {
            if self.inner.fixed {
                let bound = sockets.v4.as_ref().or(sockets.v6.as_ref());
                if let Some(socket) = bound {
                    if let Some(peer) = target::reachable_from(socket.local_addr(), addr) {
                        return Ok((socket.clone(), peer));
                    }
                }
                continue;
            }
            let (slot, wildcard) = if addr.is_ipv4() {
                (&mut sockets.v4, SocketAddr::from(([0, 0, 0, 0], 0)))
            } else {
                (&mut sockets.v6, SocketAddr::from(([0u16; 8], 0)))
            };
            if let Some(socket) = slot {
                return Ok((socket.clone(), addr));
            }
            match Socket::bind(wildcard, &self.inner.config, false) {
                Ok(socket) => {
                    let socket = Arc::new(socket);
                    *slot = Some(socket.clone());
                    return Ok((socket, addr));
                }
                Err(e) => last_error = Some(e),
            }
        }
        Err(last_error.unwrap_or_else(|| Error::Resolve {
            host: host.to_owned(),
            error: io::Error::new(
                io::ErrorKind::AddrNotAvailable,
                "no address the socket can reach",
            ),
        }))
    }
}

impl std::fmt::Debug for CoapClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let sockets = self.sockets();
        f.debug_struct("CoapClient")
            .field("v4", &sockets.v4.as_ref().map(|s| s.local_addr()))
            .field("v6", &sockets.v6.as_ref().map(|s| s.local_addr()))
            .finish()
    }
}
