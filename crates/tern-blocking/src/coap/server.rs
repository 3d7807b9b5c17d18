//! The server: a socket whose received requests go through a [`Router`] to handlers, which
//! run on the socket's driver thread and answer through a [`Responder`] now or later, from
//! any thread.

use std::fmt;
use std::io;
use std::net::{SocketAddr, ToSocketAddrs};
use std::sync::Arc;
use std::sync::mpsc;

use bytes::Bytes;
use tern_coap::Code;
use tern_coap::endpoint::{IncomingId, Request, Response};
use tern_io::coap::router::{Dispatch, Params, resource_key};
use tern_io::coap::{Error, target};

use super::Router;
use super::client::CoapClient;
use super::config::Config;
use super::driver::{Command, Input, Link, Socket};

/// A CoAP server on one UDP socket: bind it, then [`serve`](CoapServer::serve) a [`Router`].
///
/// The socket is driven from `bind` on: requests that arrive before `serve` wait for it (a
/// Confirmable one is acknowledged after the endpoint's `piggyback_delay` and answered in a
/// separate response later). A server dropped without serving answers 4.04 while a
/// [`client`](CoapServer::client) of its socket lives, and closes with the last of them.
///
/// Request handlers run on the socket's driver thread, the one that reads the socket and
/// sends the answers: a request is read, handled and answered without a hand-off between
/// threads. So a handler must return quickly: slow work (a sensor to read, another server to
/// ask) goes to a thread of its own with the [`Incoming`] or its [`Responder`], which answers
/// from there. A blocking call that waits for the same socket — a request of its
/// [`client`](CoapServer::client) — fails in a handler with [`Error::Reentrant`];
/// [`Notifier::notify`] and [`Responder::respond`] work anywhere.
///
/// ```
/// use tern_blocking::coap::{CoapClient, CoapServer, Code, Incoming, Response, Router};
///
/// let server = CoapServer::bind("127.0.0.1:0")?;
/// let addr = server.local_addr();
/// let router = Router::new().get("/hello", |incoming: Incoming| {
///     incoming.respond(Response::new(Code::CONTENT).with_payload("Hello, world!"));
/// });
/// let running = server.serve(router)?;
///
/// let response = CoapClient::new()?.get(&format!("coap://{addr}/hello"))?;
/// assert_eq!(&response.payload[..], b"Hello, world!");
/// running.shutdown();
/// # Ok::<(), tern_blocking::coap::Error>(())
/// ```
pub struct CoapServer {
    socket: Arc<Socket>,
    config: Config,
    /// Set by `serve`; otherwise dropping the server tells the driver nobody will serve.
    served: bool,
}

impl fmt::Debug for CoapServer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CoapServer")
            .field("local_addr", &self.socket.local_addr())
            .finish_non_exhaustive()
    }
}

impl CoapServer {
    /// Binds a server to `addr` (e.g. `"[::]:5683"`, which takes IPv4 too where the system's
    /// sockets are dual-stack, or `"127.0.0.1:0"` for a port the system picks), with the
    /// default [`Config`].
    pub fn bind(addr: impl ToSocketAddrs) -> Result<CoapServer, Error> {
        CoapServer::bind_with(addr, Config::new())
    }

    /// Binds a server to `addr` with `config` (the endpoint's `piggyback_delay` and limits,
    /// a datagram hook for a protocol log).
    pub fn bind_with(addr: impl ToSocketAddrs, config: Config) -> Result<CoapServer, Error> {
        let addr = addr.to_socket_addrs()?.next().ok_or_else(|| {
            Error::Io(io::Error::new(
                io::ErrorKind::InvalidInput,
                "no socket address to bind",
            ))
        })?;
        let socket = Arc::new(Socket::bind(addr, &config, true)?);
        tracing::info!(local = %socket.local_addr(), "CoAP server bound");
        Ok(CoapServer {
            socket,
            config,
            served: false,
        })
    }

    /// The address the socket is bound to (with the port the system picked for port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.socket.local_addr()
    }

    /// A client that sends from this server's socket (one endpoint plays both roles).
    pub fn client(&self) -> CoapClient {
        CoapClient::over(self.socket.clone(), self.config.clone())
    }

    /// The notifier of the observable resource at `path` (a route added with
    /// [`Router::observable`](tern_io::coap::Router::observable)): each
    /// [`notify`](Notifier::notify) sends a notification to its observers.
    ///
    /// ```
    /// use tern_blocking::coap::{CoapServer, Code, Incoming, Response, Router};
    ///
    /// let server = CoapServer::bind("127.0.0.1:0")?;
    /// let temperature = server.notifier("/temperature");
    /// let router = Router::new().observable("/temperature", |i: Incoming| {
    ///     i.respond(Response::new(Code::CONTENT).with_payload("21.5"))
    /// });
    /// let _running = server.serve(router)?;
    /// // Later, from any thread, when the temperature changes:
    /// temperature.notify(Response::new(Code::CONTENT).with_payload("22.0"));
    /// # Ok::<(), tern_blocking::coap::Error>(())
    /// ```
    pub fn notifier(&self, path: &str) -> Notifier {
        Notifier {
            resource: Bytes::from(resource_key(path).into_bytes()),
            link: self.socket.link().clone(),
        }
    }

    /// Starts routing every request to `router`'s handlers (or answering it as the router
    /// says: 4.04, 4.05, `/.well-known/core`), the requests that waited first, and returns the
    /// handle that stops it. An invalid route is [`Error::Route`] before anything is served.
    ///
    /// Handlers run on the socket's driver thread, one at a time: they should return quickly,
    /// and move slow work (with the [`Incoming`], or just its [`Responder`]) to a thread of
    /// their own, answering from there; an answer after the endpoint's `piggyback_delay` goes
    /// in a separate response.
    pub fn serve(mut self, router: Router) -> Result<ServerHandle, Error> {
        if let Some(e) = router.error() {
            return Err(Error::Route(e.clone()));
        }
        self.served = true;
        self.socket.send(Command::Serve(Box::new(router)))?;
        tracing::info!(local = %self.socket.local_addr(), "serving CoAP");
        Ok(ServerHandle {
            socket: self.socket.clone(),
        })
    }
}

impl Drop for CoapServer {
    fn drop(&mut self) {
        if !self.served {
            // Requests that waited, and those that come while a client of the socket lives,
            // are answered 4.04.
            let _ = self.socket.send(Command::Unserved);
        }
    }
}

/// Hands one request to its handler, or answers it as the router says: on the driver thread.
pub(crate) fn dispatch(
    router: &Router,
    id: IncomingId,
    peer: SocketAddr,
    request: Request,
    link: &Link,
) {
    let responder = Responder {
        id,
        resource: router
            .observable_path(&request)
            .map(|path| Bytes::from(path.into_bytes())),
        link: Some(link.clone()),
    };
    match router.dispatch(&request) {
        Dispatch::Handler { handler, params } => handler(Incoming {
            peer: target::canonical(peer),
            request,
            params,
            responder,
        }),
        Dispatch::Response(response) => responder.respond(response),
    }
}

/// A server being served: [`shutdown`](ServerHandle::shutdown) stops it, as does dropping it;
/// [`wait`](ServerHandle::wait) serves until the socket fails.
pub struct ServerHandle {
    socket: Arc<Socket>,
}

impl fmt::Debug for ServerHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServerHandle")
            .field("local_addr", &self.socket.local_addr())
            .finish_non_exhaustive()
    }
}

impl ServerHandle {
    /// The address the socket is bound to.
    pub fn local_addr(&self) -> SocketAddr {
        self.socket.local_addr()
    }

    /// The notifier of the observable resource at `path`; see [`CoapServer::notifier`].
    pub fn notifier(&self, path: &str) -> Notifier {
        Notifier {
            resource: Bytes::from(resource_key(path).into_bytes()),
            link: self.socket.link().clone(),
        }
    }

    /// Blocks while the server runs: until its socket fails (or another thread shuts it
    /// down through a shared reference).
    pub fn wait(&self) {
        self.socket.wait();
    }

    /// Stops the server: the socket closes (a response in flight is not retransmitted any
    /// more) once the handler running, if any, returns. The port is free when this returns.
    pub fn shutdown(self) {
        self.socket.close();
    }
}

impl Drop for ServerHandle {
    fn drop(&mut self) {
        self.socket.close();
    }
}

/// A request for a handler: who sent it, the request, the path parameters its route captured,
/// and the [`Responder`] to answer with.
///
/// Answer with [`respond`](Incoming::respond), now or later, from any thread: an answer
/// within the endpoint's `piggyback_delay` goes in the acknowledgement, a later one in a
/// separate response. Dropping it unanswered answers 5.00 Internal Server Error. The fields
/// are public, so that the request can be kept and the responder moved elsewhere.
///
/// ```
/// use std::thread;
/// use std::time::Duration;
/// use tern_blocking::coap::{Code, Incoming, Response, Router};
///
/// let router = Router::new().get("/slow/{n}", |incoming: Incoming| {
///     let n = incoming.params.get("n").unwrap_or("0").to_owned();
///     let responder = incoming.responder;
///     // The answer comes from another thread, in a separate response.
///     thread::spawn(move || {
///         thread::sleep(Duration::from_secs(2));
///         responder.respond(Response::new(Code::CONTENT).with_payload(n));
///     });
/// });
/// ```
#[derive(Debug)]
#[non_exhaustive]
pub struct Incoming {
    /// Who sent it (an IPv4-mapped address shown as IPv4).
    pub peer: SocketAddr,
    /// The request (`confirmable` says how it arrived).
    pub request: Request,
    /// The path parameters.
    pub params: Params,
    /// Where the answer goes.
    pub responder: Responder,
}

impl Incoming {
    /// Answers the request; see [`Responder::respond`].
    pub fn respond(self, response: Response) {
        self.responder.respond(response);
    }
}

/// The way back to the peer of one request: [`respond`](Responder::respond) once, from any
/// thread; dropping it unanswered answers 5.00 Internal Server Error.
pub struct Responder {
    id: IncomingId,
    /// The resource key, when the route is observable.
    resource: Option<Bytes>,
    /// `None` once answered.
    link: Option<Link>,
}

impl fmt::Debug for Responder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Responder").field("id", &self.id).finish()
    }
}

impl Responder {
    /// Answers the request. The endpoint sends it piggybacked or separately, as the time
    /// since the request says; a body larger than a block goes in Block2 blocks. A response
    /// with a code that is no response code, or one the endpoint cannot send, is logged and
    /// replaced by 5.00. Once the request expired (EXCHANGE_LIFETIME after it came) or the
    /// socket is closed, nothing is sent.
    ///
    /// For an [observable](tern_io::coap::Router::observable) route, a 2.xx answer to a GET
    /// with Observe = 0 also registers the client as an observer, whom the resource's
    /// [`Notifier`] then reaches.
    pub fn respond(mut self, response: Response) {
        self.send(response);
    }

    fn send(&mut self, response: Response) {
        let Some(link) = self.link.take() else {
            return;
        };
        let (id, resource) = (self.id, self.resource.take());
        // In the handler, on the driver thread: straight to the endpoint, sent as soon as
        // the handler returns. Elsewhere: a command for the driver.
        let answered = link.with_driven(
            (response, resource),
            |endpoint, now, (response, resource)| {
                tern_io::coap::answer(endpoint, now, id, response, resource.as_deref());
            },
        );
        if let Err((response, resource)) = answered {
            let _ = link.send(Input::Command(Command::Respond {
                id,
                response,
                resource,
            }));
        }
    }
}

impl Drop for Responder {
    fn drop(&mut self) {
        if self.link.is_some() {
            tracing::debug!(id = self.id.0, "request dropped unanswered; answering 5.00");
            self.send(Response::new(Code::INTERNAL_SERVER_ERROR));
        }
    }
}

/// Notifies the observers of one observable resource (RFC 7641 §4.2), from any thread; from
/// [`CoapServer::notifier`] or [`ServerHandle::notifier`]. Cheap to clone.
#[derive(Clone)]
pub struct Notifier {
    resource: Bytes,
    link: Link,
}

impl fmt::Debug for Notifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Notifier")
            .field("resource", &String::from_utf8_lossy(&self.resource))
            .finish_non_exhaustive()
    }
}

impl Notifier {
    /// The resource key: `/` and the path.
    pub fn path(&self) -> &str {
        std::str::from_utf8(&self.resource).unwrap_or_default()
    }

    /// The resource changed: `response` (its new representation, usually 2.05) goes to every
    /// observer, CON or NON as each registered, with the next sequence number in Observe, a
    /// large body in Block2 blocks. A response that is not 2.xx (4.04 once the resource is
    /// gone) ends every observation of it. Returns how many observers it went to (none while
    /// nobody observes), once the socket's driver has sent it; [`Error::Closed`] once the
    /// server is closed.
    ///
    /// A handler of the same server (on the socket's driver thread) notifies directly: the
    /// notifications go out as soon as it returns.
    pub fn notify(&self, response: Response) -> Result<usize, Error> {
        let response = match self.link.with_driven(response, |endpoint, now, response| {
            endpoint.notify(now, &self.resource, response)
        }) {
            Ok(count) => return Ok(count),
            // Busy on this very thread: waiting for the driver would wait for ourselves.
            Err(_) if self.link.on_driver_thread() => return Err(Error::Reentrant),
            Err(response) => response,
        };
        let (sent, count) = mpsc::sync_channel(1);
        self.link.send(Input::Command(Command::Notify {
            resource: self.resource.clone(),
            response,
            sent,
        }))?;
        count.recv().unwrap_or(Err(Error::Closed))
    }

    /// Forgets the resource's observers without telling them, as a server that restarted
    /// would have (see [`Endpoint::forget_observers`](tern_coap::endpoint::Endpoint::forget_observers)):
    /// each finds out when its re-registration gets no observation. Returns how many there
    /// were.
    pub fn forget_observers(&self) -> Result<usize, Error> {
        if let Ok(count) = self.link.with_driven((), |endpoint, _, ()| {
            endpoint.forget_observers(&self.resource)
        }) {
            return Ok(count);
        }
        if self.link.on_driver_thread() {
            return Err(Error::Reentrant);
        }
        let (sent, count) = mpsc::sync_channel(1);
        self.link.send(Input::Command(Command::Forget {
            resource: self.resource.clone(),
            sent,
        }))?;
        count.recv().unwrap_or(Err(Error::Closed))
    }
}
