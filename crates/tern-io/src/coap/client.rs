//! The client handle: URIs to destinations and requests, commands to a socket's driver, and
//! the outcome back over a one-shot channel.

use std::fmt;
use std::io;
use std::marker::PhantomData;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use bytes::Bytes;
use futures_channel::{mpsc, oneshot};
use tern_coap::endpoint::{EndpointConfig, Request, Response};
use tern_coap::uri::Uri;

use super::driver::{self, Command, Link, ToServer};
use super::observe::{Feed, Observation};
use super::{Error, target};
use crate::runtime::{BoxFuture, Runtime};

/// The runtime, with its type erased, so that handles need no type parameter at run time.
pub(super) trait Sockets: Send + Sync + 'static {
    fn start(
        &self,
        addr: SocketAddr,
        config: EndpointConfig,
        server: Option<mpsc::UnboundedSender<ToServer>>,
    ) -> Result<Link, Error>;
    fn resolve(&self, host: &str, port: u16) -> BoxFuture<io::Result<Vec<SocketAddr>>>;
}

impl<R: Runtime> Sockets for R {
    fn start(
        &self,
        addr: SocketAddr,
        config: EndpointConfig,
        server: Option<mpsc::UnboundedSender<ToServer>>,
    ) -> Result<Link, Error> {
        driver::start(self, addr, config, server)
    }

    fn resolve(&self, host: &str, port: u16) -> BoxFuture<io::Result<Vec<SocketAddr>>> {
        Runtime::resolve(self, host, port)
    }
}

/// Names requests across every driver of the process, for cancellation.
static NEXT_KEY: AtomicU64 = AtomicU64::new(0);

/// A CoAP client: a cheap, clonable handle usable from any task.
///
/// Made by [`CoapClient::new`] it binds one socket per address family on first use
/// (`0.0.0.0:0` for IPv4 destinations, `[::]:0` for IPv6 ones); made by [`CoapClient::bind`]
/// (or [`CoapServer::client`](super::CoapServer::client)) it uses that one socket, reaching
/// IPv4 destinations from an IPv6 socket through their IPv4-mapped addresses. Each socket
/// has its own endpoint driven in the background; dropping every handle (and every future
/// of a request) stops it.
///
/// Many requests can be in flight at once: run several of these futures concurrently. The
/// endpoint queues those to one destination beyond NSTART ([`EndpointConfig`]). Dropping a
/// request's future cancels the request.
///
/// Adapters name `R`: `tern_tokio::coap::CoapClient` is `CoapClient<tern_tokio::Tokio>`.
pub struct CoapClient<R> {
    inner: Arc<Inner>,
    _runtime: PhantomData<fn() -> R>,
}

struct Inner {
    runtime: Arc<dyn Sockets>,
    config: EndpointConfig,
    sockets: Mutex<Bound>,
}

/// The sockets a client sends from.
#[derive(Debug)]
enum Bound {
    /// Bound on first use, one per address family.
    PerFamily { v4: Option<Link>, v6: Option<Link> },
    /// One socket, given.
    Fixed(Link),
}

impl<R> Clone for CoapClient<R> {
    fn clone(&self) -> Self {
        CoapClient {
            inner: self.inner.clone(),
            _runtime: PhantomData,
        }
    }
}

impl<R> fmt::Debug for CoapClient<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CoapClient")
            .field("local_addrs", &self.local_addrs())
            .finish_non_exhaustive()
    }
}

impl<R: Runtime + Default> CoapClient<R> {
    /// A client with the default [`EndpointConfig`] that binds its sockets on first use,
    /// one per address family.
    pub async fn new() -> Result<CoapClient<R>, Error> {
        Ok(CoapClient::new_on(R::default(), EndpointConfig::default()))
    }

    /// A client with this endpoint configuration (transmission parameters, limits), binding
    /// its sockets on first use.
    pub async fn with_config(config: EndpointConfig) -> Result<CoapClient<R>, Error> {
        Ok(CoapClient::new_on(R::default(), config))
    }

    /// A client on one socket bound to `addr` (port 0 for any), with the default
    /// configuration.
    pub async fn bind(addr: SocketAddr) -> Result<CoapClient<R>, Error> {
        CoapClient::bind_on(R::default(), addr, EndpointConfig::default())
    }

    /// A client on one socket bound to `addr`, with this configuration.
    pub async fn bind_with(
        addr: SocketAddr,
        config: EndpointConfig,
    ) -> Result<CoapClient<R>, Error> {
        CoapClient::bind_on(R::default(), addr, config)
    }
}

impl<R: Runtime> CoapClient<R> {
    /// A client on `runtime` that binds its sockets on first use, one per address family.
    pub fn new_on(runtime: R, config: EndpointConfig) -> CoapClient<R> {
        CoapClient::from_parts(
            Arc::new(runtime),
            config,
            Bound::PerFamily { v4: None, v6: None },
        )
    }

    /// A client on `runtime` over one socket bound to `addr`.
    pub fn bind_on(
        runtime: R,
        addr: SocketAddr,
        config: EndpointConfig,
    ) -> Result<CoapClient<R>, Error> {
        let link = runtime.start(addr, config.clone(), None)?;
        Ok(CoapClient::from_parts(
            Arc::new(runtime),
            config,
            Bound::Fixed(link),
        ))
    }
}

impl<R> CoapClient<R> {
    pub(super) fn fixed(runtime: Arc<dyn Sockets>, config: EndpointConfig, link: Link) -> Self {
        CoapClient::from_parts(runtime, config, Bound::Fixed(link))
    }

    fn from_parts(runtime: Arc<dyn Sockets>, config: EndpointConfig, bound: Bound) -> Self {
        CoapClient {
            inner: Arc::new(Inner {
                runtime,
                config,
                sockets: Mutex::new(bound),
            }),
            _runtime: PhantomData,
        }
    }

    /// The addresses of the sockets bound so far.
    pub fn local_addrs(&self) -> Vec<SocketAddr> {
        let bound = self
            .inner
            .sockets
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        match &*bound {
            Bound::PerFamily { v4, v6 } => {
                [v4, v6].into_iter().flatten().map(|l| l.local).collect()
            }
            Bound::Fixed(link) => vec![link.local],
        }
    }

    /// GETs `uri` (`coap://host[:port]/path?query`).
    ///
    /// Completes with the response, whatever its code: a 4.xx or 5.xx is `Ok` for the caller
    /// to check. Fails when the URI is invalid or not `coap://`, the host has no address,
    /// the endpoint gives up ([`Error::Timeout`], [`Error::Reset`]) or refuses the request.
    pub async fn get(&self, uri: &str) -> Result<Response, Error> {
        self.request(uri, Request::new(tern_coap::Code::GET)).await
    }

    /// POSTs `payload` to `uri`; see [`get`](CoapClient::get).
    pub async fn post(&self, uri: &str, payload: impl Into<Bytes>) -> Result<Response, Error> {
        let request = Request::new(tern_coap::Code::POST).with_payload(payload);
        self.request(uri, request).await
    }

    /// PUTs `payload` to `uri`; see [`get`](CoapClient::get).
    pub async fn put(&self, uri: &str, payload: impl Into<Bytes>) -> Result<Response, Error> {
        let request = Request::new(tern_coap::Code::PUT).with_payload(payload);
        self.request(uri, request).await
    }

    /// DELETEs `uri`; see [`get`](CoapClient::get).
    pub async fn delete(&self, uri: &str) -> Result<Response, Error> {
        self.request(uri, Request::new(tern_coap::Code::DELETE))
            .await
    }

    /// Sends `request` to `uri`: the URI gives the destination and the Uri-* options (in
    /// place of any the request has); the request gives the method, the other options
    /// (Content-Format, Accept, ...), the payload and the message type (Confirmable or not).
    /// See [`get`](CoapClient::get) for the outcome.
    ///
    /// A host name is resolved by the runtime; of its addresses, the first IPv4 one is used
    /// when there is one.
    ///
    /// ```no_run
    /// # async fn run<R: tern_io::runtime::Runtime + Default>() -> Result<(), Box<dyn std::error::Error>> {
    /// use tern_io::coap::{CoapClient, Code, Request};
    /// use tern_coap::value::ContentFormat;
    ///
    /// let client = CoapClient::<R>::new().await?;
    /// let request = Request::builder(Code::GET)
    ///     .options(|o| o.push_accept(ContentFormat::JSON))
    ///     .non_confirmable()
    ///     .build()?;
    /// let response = client.request("coap://[::1]/sensors/temp?unit=C", request).await?;
    /// # Ok(()) }
    /// ```
    pub async fn request(&self, uri: &str, request: Request) -> Result<Response, Error> {
        let uri = target::parse(uri)?;
        let request = target::request_for(&uri, request)?;
        let (link, peer) = self.destination(&uri).await?;
        let key = NEXT_KEY.fetch_add(1, Ordering::Relaxed);
        let (reply, outcome) = oneshot::channel();
        link.send(Command::Request {
            key,
            peer,
            request,
            reply,
        })?;
        let guard = CancelOnDrop {
            key,
            link: Some(link),
        };
        let result = outcome.await.unwrap_or(Err(Error::Closed));
        guard.disarm();
        result
    }

    /// Observes `uri` (RFC 7641): a GET with Observe = 0, then the notifications as a
    /// stream. Completes once the registration is answered: the answer is the stream's first
    /// item. An answer without Observe (the resource is not observable) or with an error code
    /// comes as the only item, and the stream ends ([`Observation::end_reason`] says
    /// [`ObservationEnd::ByServer`](tern_coap::endpoint::ObservationEnd::ByServer)).
    /// Fails as [`get`](CoapClient::get) does when the registration gets no answer.
    ///
    /// The endpoint drops notifications older than the newest (RFC 7641 §3.4) and registers
    /// again when the newest one's Max-Age runs out. Dropping the [`Observation`]
    /// deregisters.
    ///
    /// ```no_run
    /// # async fn run<R: tern_io::runtime::Runtime + Default>() -> Result<(), tern_io::coap::Error> {
    /// use tern_io::coap::CoapClient;
    ///
    /// let client = CoapClient::<R>::new().await?;
    /// let mut time = client.observe("coap://localhost/time").await?;
    /// while let Some(notification) = time.recv().await {
    ///     println!("{}", String::from_utf8_lossy(&notification.payload));
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn observe(&self, uri: &str) -> Result<Observation, Error> {
        self.observe_with(uri, Request::new(tern_coap::Code::GET))
            .await
    }

    /// Observes `uri` with `request` (a GET or FETCH, with options such as Accept), as
    /// [`request`](CoapClient::request) builds it; see [`observe`](CoapClient::observe).
    pub async fn observe_with(&self, uri: &str, request: Request) -> Result<Observation, Error> {
        let uri = target::parse(uri)?;
        let request = target::request_for(&uri, request)?;
        let (link, peer) = self.destination(&uri).await?;
        let key = NEXT_KEY.fetch_add(1, Ordering::Relaxed);
        let feed = Arc::new(Feed::default());
        let (started, outcome) = oneshot::channel();
        link.send(Command::Observe {
            key,
            peer,
            request,
            feed: feed.clone(),
            started,
        })?;
        let guard = CancelOnDrop {
            key,
            link: Some(link),
        };
        outcome.await.unwrap_or(Err(Error::Closed))?;
        Ok(Observation { feed, guard })
    }

    /// Sends a CoAP ping (an empty Confirmable message, RFC 7252 §4.3) to `addr`: `Ok` once
    /// it answers (with Reset), [`Error::Timeout`] when it does not.
    pub async fn ping(&self, addr: SocketAddr) -> Result<(), Error> {
        let (link, peer) = self.link_for(&[addr], &addr.ip().to_string())?;
        let key = NEXT_KEY.fetch_add(1, Ordering::Relaxed);
        let (reply, outcome) = oneshot::channel();
        link.send(Command::Ping { key, peer, reply })?;
        let guard = CancelOnDrop {
            key,
            link: Some(link),
        };
        let result = outcome.await.unwrap_or(Err(Error::Closed));
        guard.disarm();
        result
    }

    /// The socket to send from and the peer address as that socket reaches it.
    async fn destination(&self, uri: &Uri) -> Result<(Link, SocketAddr), Error> {
        let addrs = match target::ip_destination(uri) {
            Some(addr) => vec![addr],
            None => {
                let host = uri.host();
                let port = uri.effective_port();
                self.inner
                    .runtime
                    .resolve(host, port)
                    .await
                    .map_err(|error| Error::Resolve {
                        host: host.to_string(),
                        error,
                    })?
            }
        };
        self.link_for(&addrs, uri.host())
    }

    /// Picks the first of `addrs` a socket can reach, IPv4 ones first (a server that
    /// listens on IPv4 only is common, and a request to the wrong family would only time
    /// out), binding a socket when needed.
    fn link_for(&self, addrs: &[SocketAddr], host: &str) -> Result<(Link, SocketAddr), Error> {
        let ordered = addrs
            .iter()
            .filter(|a| a.is_ipv4())
            .chain(addrs.iter().filter(|a| a.is_ipv6()));
        let mut bound = self
            .inner
            .sockets
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let mut last_error = None;
        for &addr in ordered {
            match &mut *bound {
                Bound::Fixed(link) => {
                    if let Some(peer) = target::reachable_from(link.local, addr) {
                        return Ok((link.clone(), peer));
                    }
                }
                Bound::PerFamily { v4, v6 } => {
                    let (slot, any) = if addr.is_ipv4() {
                        (v4, SocketAddr::from((Ipv4Addr::UNSPECIFIED, 0)))
                    } else {
                        (v6, SocketAddr::from((Ipv6Addr::UNSPECIFIED, 0)))
                    };
                    // A driver that stopped (its socket failed) is replaced.
                    if let Some(link) = slot.as_ref().filter(|l| !l.is_closed()) {
                        return Ok((link.clone(), addr));
                    }
                    match self
                        .inner
                        .runtime
                        .start(any, self.inner.config.clone(), None)
                    {
                        Ok(link) => {
                            *slot = Some(link.clone());
                            return Ok((link, addr));
                        }
                        Err(e) => last_error = Some(e),
                    }
                }
            }
        }
        Err(last_error.unwrap_or_else(|| Error::Resolve {
            host: host.to_string(),
            error: io::Error::new(
                io::ErrorKind::AddrNotAvailable,
                "no address the socket can reach",
            ),
        }))
    }
}

/// Cancels a request whose future is dropped before its outcome came, or an observation.
pub(super) struct CancelOnDrop {
    key: u64,
    link: Option<Link>,
}

impl CancelOnDrop {
    fn disarm(mut self) {
        self.link = None;
    }

    pub(super) fn cancel(self) {
        drop(self);
    }
}

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        if let Some(link) = self.link.take() {
            let _ = link.send(Command::Cancel { key: self.key });
        }
    }
}
