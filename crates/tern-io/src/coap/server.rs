//! The server: a socket whose received requests go through a [`Router`] to handlers, which
//! answer through a [`Responder`] now or later.

use std::fmt;
use std::future::{Future, poll_fn};
use std::marker::PhantomData;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use futures_channel::{mpsc, oneshot};
use futures_core::Stream;
use tern_coap::Code;
use tern_coap::endpoint::{EndpointConfig, IncomingId, Request, Response};

use super::client::{CoapClient, Sockets};
use super::driver::{Command, Link, ToServer};
use super::router::{Dispatch, Params, Router, resource_key};
use super::{Error, target};
use crate::runtime::Runtime;

/// A CoAP server: one UDP socket, driven in the background from [`bind`](CoapServer::bind)
/// on, whose requests [`serve`](CoapServer::serve) routes to handlers.
///
/// Requests that arrive before `serve` wait for it (the endpoint acknowledges a
/// Confirmable one after `piggyback_delay` and answers in a separate response later). Once
/// the server is dropped without serving, or its `serve` future is dropped, requests are
/// answered 4.04 while some handle ([`client`](CoapServer::client), an unanswered
/// [`Incoming`]) keeps the socket open, and the socket closes when none is left.
///
/// Adapters name `R`: `tern_tokio::coap::CoapServer` is `CoapServer<tern_tokio::Tokio>`.
pub struct CoapServer<R> {
    runtime: Arc<dyn Sockets>,
    config: EndpointConfig,
    link: Link,
    incoming: mpsc::UnboundedReceiver<ToServer>,
    _runtime: PhantomData<fn() -> R>,
}

impl<R> fmt::Debug for CoapServer<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CoapServer")
            .field("local_addr", &self.link.local)
            .finish_non_exhaustive()
    }
}

impl<R: Runtime + Default> CoapServer<R> {
    /// Binds a server to `addr` (e.g. `[::]:5683`, which also takes IPv4 where the system's
    /// sockets are dual-stack) with the default [`EndpointConfig`].
    pub async fn bind(addr: SocketAddr) -> Result<CoapServer<R>, Error> {
        CoapServer::bind_on(R::default(), addr, EndpointConfig::default())
    }

    /// Binds a server to `addr` with this configuration (`piggyback_delay`, the pending
    /// limits, transmission parameters for its separate responses).
    pub async fn bind_with(
        addr: SocketAddr,
        config: EndpointConfig,
    ) -> Result<CoapServer<R>, Error> {
        CoapServer::bind_on(R::default(), addr, config)
    }
}

impl<R: Runtime> CoapServer<R> {
    /// Binds a server to `addr` on `runtime`.
    pub fn bind_on(
        runtime: R,
        addr: SocketAddr,
        config: EndpointConfig,
    ) -> Result<CoapServer<R>, Error> {
        let (tx, incoming) = mpsc::unbounded();
        let link = runtime.start(addr, config.clone(), Some(tx))?;
        tracing::info!(local = %link.local, "CoAP server bound");
        Ok(CoapServer {
            runtime: Arc::new(runtime),
            config,
            link,
            incoming,
            _runtime: PhantomData,
        })
    }
}

impl<R> CoapServer<R> {
    /// The address the socket is bound to (with the port picked when it was 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.link.local
    }

    /// The notifier of the observable resource at `path` (as the request's Uri-Path reads,
    /// e.g. `/time`; see [`Router::observable`]): each [`Notifier::notify`] reaches every
    /// observer registered on that path. It keeps the socket open while it exists.
    ///
    /// ```no_run
    /// # async fn run<R: tern_io::runtime::Runtime + Default>() -> Result<(), tern_io::coap::Error> {
    /// use tern_io::coap::{Code, CoapServer, Incoming, Response, Router};
    ///
    /// let server = CoapServer::<R>::bind("[::]:5683".parse().unwrap()).await?;
    /// let time = server.notifier("/time");
    /// let router = Router::new().observable("/time", |incoming: Incoming| {
    ///     incoming.respond(Response::new(Code::CONTENT).with_payload("12:00"));
    /// });
    /// // On a task of its own, whenever the time changes:
    /// let observers = time.notify(Response::new(Code::CONTENT).with_payload("12:01")).await?;
    /// println!("{observers} observers notified");
    /// server.serve(router).await
    /// # }
    /// ```
    pub fn notifier(&self, path: &str) -> Notifier {
        Notifier {
            resource: resource_key(path),
            link: self.link.clone(),
        }
    }

    /// A client that sends from this server's socket (one endpoint plays both roles).
    pub fn client(&self) -> CoapClient<R> {
        CoapClient::fixed(self.runtime.clone(), self.config.clone(), self.link.clone())
    }

    /// Routes every request to `router`'s handlers, or answers it as the router says
    /// (4.04, 4.05, `/.well-known/core`), until the socket fails; drop the future to stop.
    ///
    /// Handlers run on this future's task, one at a time: they should return quickly and
    /// move slow work (with the [`Incoming`]) to a task of their own. An invalid route is
    /// [`Error::Route`] before anything is served; a socket that fails is [`Error::Io`].
    pub async fn serve(self, router: Router<Incoming>) -> Result<(), Error> {
        if let Some(e) = router.error() {
            return Err(Error::Route(e.clone()));
        }
        let CoapServer {
            link, mut incoming, ..
        } = self;
        tracing::info!(local = %link.local, "serving CoAP");
        while let Some(item) = poll_fn(|cx| Pin::new(&mut incoming).poll_next(cx)).await {
            let served = item?;
            let responder = Responder {
                id: served.id,
                link: Some(link.clone()),
                resource: router.observable_path(&served.request),
            };
            match router.dispatch(&served.request) {
                Dispatch::Handler { handler, params } => handler(Incoming {
                    peer: target::canonical(served.peer),
                    request: served.request,
                    params,
                    responder,
                }),
                Dispatch::Response(response) => responder.respond(response),
            }
        }
        Ok(())
    }
}

/// A request for a handler: who sent it, the request, the path parameters its route
/// captured, and the [`Responder`] to answer with.
///
/// Answer with [`respond`](Incoming::respond), now or later, from any task or thread: an
/// answer within the endpoint's `piggyback_delay` goes in the acknowledgement, a later one in
/// a separate response. Dropping it unanswered answers 5.00 Internal Server Error. The fields
/// are public, so that the request can be kept and the responder moved elsewhere.
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
/// task or thread; dropping it unanswered answers 5.00 Internal Server Error.
#[derive(Debug)]
pub struct Responder {
    id: IncomingId,
    link: Option<Link>,
    /// The resource key, when the route is observable.
    resource: Option<String>,
}

impl Responder {
    /// Answers the request. The endpoint sends it piggybacked or separately, as the time
    /// since the request says, and a body larger than a block in Block2 blocks; a response
    /// with a request code, or with options that leave no room for a block, is logged and
    /// replaced by 5.00. Once the request expired (EXCHANGE_LIFETIME after it came) or the
    /// socket is closed, nothing is sent.
    ///
    /// On an [observable](Router::observable) route, a 2.xx answer to a registration (a GET
    /// with Observe = 0) makes the client an observer of the request's path, whom the
    /// [`Notifier`] of that path reaches from then on.
    pub fn respond(mut self, response: Response) {
        self.send(response);
    }

    fn send(&mut self, response: Response) {
        let Some(link) = self.link.take() else {
            return;
        };
        let _ = link.send(Command::Respond {
            id: self.id,
            response,
            resource: self.resource.take(),
        });
    }
}

impl Drop for Responder {
    fn drop(&mut self) {
        if self.link.is_some() {
            tracing::debug!(id = ?self.id, "request dropped unanswered; answering 5.00");
            self.send(Response::new(Code::INTERNAL_SERVER_ERROR));
        }
    }
}

/// Notifies the observers of one resource (RFC 7641 §4.2): from
/// [`CoapServer::notifier`]; cheap to clone, usable from any task or thread.
#[derive(Debug, Clone)]
pub struct Notifier {
    resource: String,
    link: Link,
}

impl Notifier {
    /// The resource key: `/` and the path.
    pub fn path(&self) -> &str {
        &self.resource
    }

    /// Sends `response` to every observer of the resource as a notification: CON or NON as
    /// each registered, with the next Observe sequence number, a large body in Block2 blocks.
    /// A response that is not 2.xx (e.g. 4.04 once the resource is gone) ends every
    /// observation of it.
    ///
    /// The notification is handed to the socket's driver at once; awaiting the returned
    /// [`Notified`] tells how many observers it went to (dropping it changes nothing).
    pub fn notify(&self, response: Response) -> Notified {
        let (sent, count) = oneshot::channel();
        let handed = self.link.send(Command::Notify {
            resource: self.resource.clone(),
            response,
            sent,
        });
        Notified {
            count: handed.ok().map(|()| count),
        }
    }

    /// Forgets the resource's observers without telling them, as a server that restarted
    /// would have ([`Endpoint::forget_observers`](tern_coap::endpoint::Endpoint::forget_observers)):
    /// each finds out when its re-registration gets no observation. Done at once; awaiting
    /// the returned [`Notified`] tells how many there were.
    pub fn forget_observers(&self) -> Notified {
        let (sent, count) = oneshot::channel();
        let handed = self.link.send(Command::Forget {
            resource: self.resource.clone(),
            sent,
        });
        Notified {
            count: handed.ok().map(|()| count),
        }
    }
}

/// How many observers a notification went to: the future [`Notifier::notify`] returns.
#[derive(Debug)]
#[must_use = "the notification is sent anyway; await this only for the number of observers"]
pub struct Notified {
    count: Option<oneshot::Receiver<usize>>,
}

impl Future for Notified {
    type Output = Result<usize, Error>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<usize, Error>> {
        match &mut self.count {
            None => Poll::Ready(Err(Error::Closed)),
            Some(rx) => Pin::new(rx).poll(cx).map(|r| r.map_err(|_| Error::Closed)),
        }
    }
}
