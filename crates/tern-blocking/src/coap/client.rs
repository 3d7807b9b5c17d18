//! The client handle: URIs to a peer address and options, requests to the driver thread, and
//! waiting for their outcome.

use std::net::{IpAddr, SocketAddr, ToSocketAddrs};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use bytes::Bytes;
use tern_coap::Code;
use tern_coap::endpoint::{BuildError, Request, Response};
use tern_coap::option::{OptionNumber, Options};
use tern_coap::uri::{self, Scheme, Uri};

use super::config::Config;
use super::driver::{Command, Reply, Socket};
use super::error::Error;

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
    /// assert!(client.local_addr()?.is_ipv4());
    /// # Ok::<(), tern_blocking::coap::Error>(())
    /// ```
    pub fn new() -> Result<CoapClient, Error> {
        CoapClient::with_config(Config::new())
    }

    /// A client as [`CoapClient::new`] makes, with `config`.
    pub fn with_config(config: Config) -> Result<CoapClient, Error> {
        let v4 = Socket::bind(SocketAddr::from(([0, 0, 0, 0], 0)), &config)?;
        Ok(CoapClient::from_parts(
            config,
            false,
            Sockets {
                v4: Some(Arc::new(v4)),
                v6: None,
            },
        ))
    }

    /// A client on the socket address `addr` (e.g. `"127.0.0.1:0"`, or a fixed source port);
    /// it reaches servers of that address family only.
    ///
    /// ```
    /// let client = tern_blocking::coap::CoapClient::bind("127.0.0.1:0")?;
    /// assert!(client.local_addr()?.ip().is_loopback());
    /// # Ok::<(), tern_blocking::coap::Error>(())
    /// ```
    pub fn bind(addr: impl ToSocketAddrs) -> Result<CoapClient, Error> {
        CoapClient::bind_with(addr, Config::new())
    }

    /// A client on `addr` (see [`CoapClient::bind`]), with `config`.
    pub fn bind_with(addr: impl ToSocketAddrs, config: Config) -> Result<CoapClient, Error> {
        let addr = addr.to_socket_addrs()?.next().ok_or_else(|| {
            Error::Io(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                "no socket address to bind",
            ))
        })?;
        let socket = Arc::new(Socket::bind(addr, &config)?);
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

    fn from_parts(config: Config, fixed: bool, sockets: Sockets) -> CoapClient {
        CoapClient {
            inner: Arc::new(Inner {
                config,
                fixed,
                sockets: Mutex::new(sockets),
            }),
        }
    }

    /// The address of the client's first socket (the IPv4 one, unless bound to IPv6).
    pub fn local_addr(&self) -> Result<SocketAddr, Error> {
        let sockets = self.sockets();
        sockets
            .v4
            .as_ref()
            .or(sockets.v6.as_ref())
            .map(|s| s.local_addr())
            .ok_or(Error::Closed)
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
        let uri = parse(uri)?;
        let peer = self.resolve(uri.host(), uri.effective_port(), uri.is_ip_literal())?;
        let request = with_uri_options(request, &uri)?;
        let socket = self.socket_for(peer)?;
        self.call(&socket, |ticket, reply| Command::Request {
            ticket,
            peer,
            request,
            reply,
        })
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
        let peer = self.pick(&addrs).ok_or_else(|| Error::Resolve {
            host: addrs
                .first()
                .map_or_else(String::new, |a| a.ip().to_string()),
            error: None,
        })?;
        let socket = self.socket_for(peer)?;
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

    /// Whether the client has (or may bind) a socket of `addr`'s family.
    fn reaches(&self, addr: &SocketAddr) -> bool {
        let sockets = self.sockets();
        let have = if addr.is_ipv4() {
            &sockets.v4
        } else {
            &sockets.v6
        };
        have.is_some() || !self.inner.fixed
    }

    /// The first IPv4 address of `addrs` the client can reach, else the first reachable one.
    fn pick(&self, addrs: &[SocketAddr]) -> Option<SocketAddr> {
        let reachable = |a: &&SocketAddr| self.reaches(a);
        addrs
            .iter()
            .filter(reachable)
            .find(|a| a.is_ipv4())
            .or_else(|| addrs.iter().find(reachable))
            .copied()
    }

    fn resolve(&self, host: &str, port: u16, ip_literal: bool) -> Result<SocketAddr, Error> {
        let unreachable = || Error::Resolve {
            host: host.to_owned(),
            error: None,
        };
        if ip_literal {
            if let Ok(ip) = host.parse::<IpAddr>() {
                let addr = SocketAddr::new(ip, port);
                return if self.reaches(&addr) {
                    Ok(addr)
                } else {
                    Err(unreachable())
                };
            }
        }
        let addrs: Vec<SocketAddr> = (host, port)
            .to_socket_addrs()
            .map_err(|e| Error::Resolve {
                host: host.to_owned(),
                error: Some(e),
            })?
            .collect();
        self.pick(&addrs).ok_or_else(unreachable)
    }

    /// The socket for `peer`'s family, bound now if it is the first use of that family.
    fn socket_for(&self, peer: SocketAddr) -> Result<Arc<Socket>, Error> {
        let mut sockets = self.sockets();
        let (slot, wildcard) = if peer.is_ipv4() {
            (&mut sockets.v4, SocketAddr::from(([0, 0, 0, 0], 0)))
        } else {
            (&mut sockets.v6, SocketAddr::from(([0u16; 8], 0)))
        };
        if let Some(socket) = slot {
            return Ok(socket.clone());
        }
        if self.inner.fixed {
            return Err(Error::Resolve {
                host: peer.ip().to_string(),
                error: None,
            });
        }
        let socket = Arc::new(Socket::bind(wildcard, &self.inner.config)?);
        *slot = Some(socket.clone());
        Ok(socket)
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

/// Parses a `coap://` URI; other CoAP schemes are not supported yet.
pub(crate) fn parse(text: &str) -> Result<Uri, Error> {
    let uri = Uri::parse(text)?;
    match uri.scheme() {
        Scheme::Coap => Ok(uri),
        other => Err(Error::UnsupportedScheme(other)),
    }
}

/// `request` with the URI's Uri-* options in place of its own.
fn with_uri_options(request: Request, uri: &Uri) -> Result<Request, Error> {
    let from_uri = [uri::URI_HOST, uri::URI_PORT, uri::URI_PATH, uri::URI_QUERY];
    let mut options = Options::builder();
    for (number, value) in uri.to_options() {
        options = options.push(OptionNumber(number), value);
    }
    for option in request.options.iter() {
        if !from_uri.contains(&option.number.0) {
            options = options.push(option.number, option.value);
        }
    }
    let options = options.build().map_err(BuildError::Option)?;
    Ok(request.with_options(options))
}
