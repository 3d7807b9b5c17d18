//! The CoAP adapter suite (feature `coap`): tern-io's CoAP client against its CoAP server over
//! real loopback UDP, written once for every async runtime. Each test is a generic `async fn`
//! over an [`Executor`] (the [`Runtime`] the handles run on, and how the test spawns its own
//! tasks); the wire, where the message type is the point, is seen through a raw socket of the
//! same runtime.
//!
//! An adapter runs the whole suite with [`coap_suite!`](crate::coap_suite), which makes one
//! `#[test]` per scenario:
//!
//! ```text
//! struct OnTokio;
//! impl tern_testkit::coap::Executor for OnTokio {
//!     type Runtime = tern_tokio::Tokio;
//!     fn spawn(task: impl Future<Output = ()> + Send + 'static) {
//!         tokio::spawn(task);
//!     }
//! }
//! tern_testkit::coap_suite!(OnTokio, block_on);
//! ```

use std::future::{Future, poll_fn};
use std::net::SocketAddr;
use std::pin::pin;
use std::sync::{Arc, Mutex};
use std::task::Poll;
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use futures_channel::{mpsc, oneshot};
use futures_util::stream::{FuturesUnordered, StreamExt};
use tern_coap::option::Options;
use tern_coap::value::{ContentFormat, Observe};
use tern_coap::{Message, MessageType, Token};
use tern_io::coap::{
    Code, EndpointConfig, Error, Incoming, Notifier, Observation, ObservationEnd, Request,
    Responder, Response, TransmissionParameters,
};
use tern_io::runtime::{Runtime, Timer, UdpSocket};

/// The routes of a server, as the adapters name them.
pub type Router = tern_io::coap::Router<Incoming>;

type CoapClient<E> = tern_io::coap::CoapClient<<E as Executor>::Runtime>;
type CoapServer<E> = tern_io::coap::CoapServer<<E as Executor>::Runtime>;

/// What the suite runs on: the runtime of the client and server handles, and how the test
/// spawns a task of its own (a server's `serve`, a request awaited later).
pub trait Executor: 'static {
    /// The runtime the handles are generic over (`tern_tokio::Tokio`, `tern_async_std::AsyncIo`).
    type Runtime: Runtime + Default;

    /// Runs `task` in the background on the executor of the test.
    fn spawn(task: impl Future<Output = ()> + Send + 'static);

    /// `f`'s output; panics naming `what` when it takes longer than [`WAIT`].
    fn within<T>(what: &str, f: impl Future<Output = T>) -> impl Future<Output = T> {
        within::<Self::Runtime, T>(what, f)
    }
}

/// Makes one `#[test]` per scenario of [`coap`](crate::coap) for executor `$executor`; each
/// runs its future to completion with `$block_on` (a path to a `fn(impl Future<Output = ()>)`).
#[macro_export]
macro_rules! coap_suite {
    ($executor:ty, $block_on:path) => {
        $crate::coap_suite!(@each $executor, $block_on;
            get_post_put_delete_round_trip,
            path_parameters_reach_the_handler,
            unknown_paths_are_4_04_and_unknown_methods_4_05,
            well_known_core_lists_the_routes_and_filters_them,
            an_answer_after_piggyback_delay_is_a_separate_response_on_the_wire,
            the_client_gets_a_separate_response,
            a_non_request_is_served_and_answered_non,
            a_request_nobody_answers_times_out,
            many_concurrent_requests_each_get_their_own_response,
            a_dropped_incoming_is_answered_5_00,
            ping_host_names_and_ipv6,
            a_server_can_be_a_client_on_its_own_socket,
            invalid_uris_and_routes_are_errors,
            an_observation_gets_every_notification_until_cancelled,
            the_server_ends_an_observation_with_an_error_code,
            forgotten_observers_get_nothing_more,
            observing_a_resource_that_is_not_observable_gives_one_response,
            large_bodies_go_both_ways_in_blocks,
        );
    };
    (@each $executor:ty, $block_on:path; $($name:ident,)*) => {
        $(
            #[test]
            fn $name() {
                $block_on($crate::coap::$name::<$executor>());
            }
        )*
    };
}

/// Longest wait for anything that should happen at once over loopback.
pub const WAIT: Duration = Duration::from_secs(10);

/// `f`'s output; panics naming `what` when it takes longer than [`WAIT`] (on `R`'s timer).
pub async fn within<R: Runtime + Default, T>(what: &str, f: impl Future<Output = T>) -> T {
    let mut timer = R::default().timer(Instant::now() + WAIT);
    let mut f = pin!(f);
    poll_fn(|cx| {
        if let Poll::Ready(output) = f.as_mut().poll(cx) {
            return Poll::Ready(output);
        }
        if timer.poll_expired(cx).is_ready() {
            panic!("{what}: nothing within {WAIT:?}");
        }
        Poll::Pending
    })
    .await
}

/// Binds a server on 127.0.0.1 and serves `router` on a task.
async fn serve<E: Executor>(router: Router, config: EndpointConfig) -> SocketAddr {
    let server = CoapServer::<E>::bind_with("127.0.0.1:0".parse().unwrap(), config)
        .await
        .unwrap();
    let addr = server.local_addr();
    E::spawn(async move { server.serve(router).await.unwrap() });
    addr
}

/// The payload as text.
pub fn text(response: &Response) -> &str {
    std::str::from_utf8(&response.payload).unwrap()
}

/// A resource that stores what is POSTed or PUT, forgets it on DELETE.
pub fn store_router() -> Router {
    let stored: Arc<Mutex<Option<Bytes>>> = Arc::default();
    let (get, post, put, delete) = (
        stored.clone(),
        stored.clone(),
        stored.clone(),
        stored.clone(),
    );
    Router::new()
        .get("/store", move |i: Incoming| {
            let response = match get.lock().unwrap().clone() {
                Some(body) => Response::new(Code::CONTENT).with_payload(body),
                None => Response::new(Code::NOT_FOUND),
            };
            i.respond(response);
        })
        .post("/store", move |i: Incoming| {
            *post.lock().unwrap() = Some(i.request.payload.clone());
            i.respond(Response::new(Code::CREATED));
        })
        .put("/store", move |i: Incoming| {
            *put.lock().unwrap() = Some(i.request.payload.clone());
            i.respond(Response::new(Code::CHANGED));
        })
        .delete("/store", move |i: Incoming| {
            *delete.lock().unwrap() = None;
            i.respond(Response::new(Code::DELETED));
        })
}

/// The CRUD scenario against a [`store_router`] at `addr`, from a new client.
pub async fn round_trip<E: Executor>(addr: SocketAddr) {
    let uri = format!("coap://{addr}/store");
    let client = CoapClient::<E>::new().await.unwrap();
    let r = E::within("GET", client.get(&uri)).await.unwrap();
    assert_eq!(r.code, Code::NOT_FOUND, "nothing stored yet");
    let r = E::within("POST", client.post(&uri, "first")).await.unwrap();
    assert_eq!(r.code, Code::CREATED);
    let r = E::within("GET", client.get(&uri)).await.unwrap();
    assert_eq!((r.code, text(&r)), (Code::CONTENT, "first"));
    let r = E::within("PUT", client.put(&uri, "second")).await.unwrap();
    assert_eq!(r.code, Code::CHANGED);
    let r = E::within("GET", client.get(&uri)).await.unwrap();
    assert_eq!((r.code, text(&r)), (Code::CONTENT, "second"));
    let r = E::within("DELETE", client.delete(&uri)).await.unwrap();
    assert_eq!(r.code, Code::DELETED);
    let r = E::within("GET", client.get(&uri)).await.unwrap();
    assert_eq!(r.code, Code::NOT_FOUND);
    assert_eq!(
        client.local_addrs().len(),
        1,
        "one IPv4 socket, bound lazily"
    );
}

/// GET, POST, PUT and DELETE through a resource that keeps what it is sent.
pub async fn get_post_put_delete_round_trip<E: Executor>() {
    let addr = serve::<E>(store_router(), EndpointConfig::default()).await;
    round_trip::<E>(addr).await;
}

/// `{name}` and `{*rest}` segments of a route reach the handler, percent-decoded.
pub async fn path_parameters_reach_the_handler<E: Executor>() {
    let router = Router::new()
        .get("/items/{id}", |i: Incoming| {
            let id = i.params.get("id").unwrap().to_string();
            i.respond(Response::new(Code::CONTENT).with_payload(format!("item {id}")));
        })
        .get("/files/{user}/{*path}", |i: Incoming| {
            let body = format!(
                "{}:{}",
                i.params.get("user").unwrap(),
                i.params.get("path").unwrap()
            );
            i.respond(Response::new(Code::CONTENT).with_payload(body));
        });
    let addr = serve::<E>(router, EndpointConfig::default()).await;
    let client = CoapClient::<E>::new().await.unwrap();
    for (path, want) in [
        ("/items/42", "item 42"),
        // Percent-decoded by the URI parser: the segment is "a b".
        ("/items/a%20b", "item a b"),
        ("/files/ada/notes/2024/x.txt", "ada:notes/2024/x.txt"),
        ("/files/ada", "ada:"),
    ] {
        let uri = format!("coap://{addr}{path}");
        let r = E::within(&uri, client.get(&uri)).await.unwrap();
        assert_eq!(text(&r), want, "{path}");
    }
}

/// The router answers 4.04 to a path nobody serves and 4.05 to a method the path lacks.
pub async fn unknown_paths_are_4_04_and_unknown_methods_4_05<E: Executor>() {
    let addr = serve::<E>(store_router(), EndpointConfig::default()).await;
    let client = CoapClient::<E>::new().await.unwrap();
    let r = E::within("GET", client.get(&format!("coap://{addr}/nothing/here")))
        .await
        .unwrap();
    assert_eq!(r.code, Code::NOT_FOUND);
    let fetch = Request::new(Code::FETCH);
    let r = E::within(
        "FETCH",
        client.request(&format!("coap://{addr}/store"), fetch),
    )
    .await
    .unwrap();
    assert_eq!(r.code, Code::METHOD_NOT_ALLOWED);
}

/// `/.well-known/core` lists the routes with their attributes and filters them by a query.
pub async fn well_known_core_lists_the_routes_and_filters_them<E: Executor>() {
    let router = Router::new()
        .get("/sensors/temp", |i: Incoming| {
            i.respond(Response::new(Code::CONTENT))
        })
        .attributes(r#"rt="temperature-c";if="sensor""#)
        .get("/sensors/light", |i: Incoming| {
            i.respond(Response::new(Code::CONTENT))
        })
        .attributes(r#"rt="light-lux";if="sensor""#)
        .post("/actuators/led", |i: Incoming| {
            i.respond(Response::new(Code::CHANGED))
        });
    let addr = serve::<E>(router, EndpointConfig::default()).await;
    let client = CoapClient::<E>::new().await.unwrap();

    let all = E::within(
        "discovery",
        client.get(&format!("coap://{addr}/.well-known/core")),
    )
    .await
    .unwrap();
    assert_eq!(all.code, Code::CONTENT);
    assert_eq!(
        all.options.content_format().unwrap(),
        Some(ContentFormat::LINK_FORMAT)
    );
    assert_eq!(
        text(&all),
        r#"</sensors/temp>;rt="temperature-c";if="sensor",</sensors/light>;rt="light-lux";if="sensor",</actuators/led>"#
    );

    let filtered = E::within(
        "filtered discovery",
        client.get(&format!("coap://{addr}/.well-known/core?rt=light*")),
    )
    .await
    .unwrap();
    assert_eq!(
        text(&filtered),
        r#"</sensors/light>;rt="light-lux";if="sensor""#
    );
    let by_href = E::within(
        "href filter",
        client.get(&format!("coap://{addr}/.well-known/core?href=/actuators*")),
    )
    .await
    .unwrap();
    assert_eq!(text(&by_href), "</actuators/led>");
}

/// A raw UDP socket on 127.0.0.1 of runtime `R`, to play a client and see the wire.
struct Raw<R: Runtime>(R::Udp);

impl<R: Runtime + Default> Raw<R> {
    fn bind() -> Self {
        Raw(R::default()
            .bind_udp("127.0.0.1:0".parse().unwrap())
            .unwrap())
    }

    async fn send(&mut self, message: &Message, to: SocketAddr) {
        let mut buf = BytesMut::new();
        message.encode(&mut buf).unwrap();
        poll_fn(|cx| self.0.poll_send_to(cx, &buf, to))
            .await
            .unwrap();
    }

    /// Sends one CON or NON GET for `path`; returns its Message ID and token.
    async fn get(&mut self, server: SocketAddr, mtype: MessageType, path: &str) -> (u16, Token) {
        let token = Token::new(&[0xca, 0xfe]).unwrap();
        let request = Message {
            mtype,
            code: Code::GET,
            message_id: 0x4242,
            token,
            options: Options::builder()
                .push_uri_path(path)
                .unwrap()
                .build()
                .unwrap(),
            payload: Bytes::new(),
        };
        self.send(&request, server).await;
        (0x4242, token)
    }

    async fn recv(&mut self) -> Message {
        let mut buf = vec![0u8; 2048];
        let (n, _) = within::<R, _>(
            "a datagram",
            poll_fn(|cx| self.0.poll_recv_from(cx, &mut buf)),
        )
        .await
        .unwrap();
        Message::decode(Bytes::copy_from_slice(&buf[..n])).unwrap()
    }
}

/// A server whose /late handler hands its responder to the test.
async fn late_server<E: Executor>(
    config: EndpointConfig,
) -> (SocketAddr, mpsc::UnboundedReceiver<Responder>) {
    let (tx, rx) = mpsc::unbounded();
    let router = Router::new().get("/late", move |i: Incoming| {
        tx.unbounded_send(i.responder).unwrap();
    });
    (serve::<E>(router, config).await, rx)
}

/// An answer later than the piggyback delay: an empty ACK first, then the response in a CON
/// of its own, on the wire.
pub async fn an_answer_after_piggyback_delay_is_a_separate_response_on_the_wire<E: Executor>() {
    let (addr, mut responders) = late_server::<E>(EndpointConfig {
        piggyback_delay: Duration::from_millis(50),
        ..EndpointConfig::default()
    })
    .await;
    let mut raw = Raw::<E::Runtime>::bind();
    let (mid, token) = raw.get(addr, MessageType::Confirmable, "late").await;
    let responder = E::within("the handler", responders.next()).await.unwrap();

    // Unanswered after piggyback_delay: the endpoint acknowledges with an empty ACK...
    let ack = raw.recv().await;
    assert_eq!(
        (ack.mtype, ack.code, ack.message_id),
        (MessageType::Acknowledgement, Code::EMPTY, mid)
    );
    // ... and the answer comes later as a CON with the request's token.
    responder.respond(Response::new(Code::CONTENT).with_payload("late"));
    let response = raw.recv().await;
    assert_eq!(
        (response.mtype, response.code, response.token),
        (MessageType::Confirmable, Code::CONTENT, token)
    );
    assert_eq!(&response.payload[..], b"late");
    let ack = Message::empty(MessageType::Acknowledgement, response.message_id);
    raw.send(&ack, addr).await;
}

/// The client takes a separate response as the answer to its request.
pub async fn the_client_gets_a_separate_response<E: Executor>() {
    // With no piggyback delay the empty ACK leaves with the request's arrival, so whatever
    // the handler does, the answer is a separate response.
    let (addr, mut responders) = late_server::<E>(EndpointConfig {
        piggyback_delay: Duration::ZERO,
        ..EndpointConfig::default()
    })
    .await;
    let client = CoapClient::<E>::new().await.unwrap();
    let uri = format!("coap://{addr}/late");
    let (tx, request) = oneshot::channel();
    E::spawn(async move {
        let _ = tx.send(client.get(&uri).await);
    });
    let responder = E::within("the handler", responders.next()).await.unwrap();
    responder.respond(Response::new(Code::CONTENT).with_payload("worth the wait"));
    let r = E::within("the response", request).await.unwrap().unwrap();
    assert_eq!((r.code, text(&r)), (Code::CONTENT, "worth the wait"));
}

/// A NON request reaches the handler as such and is answered with a NON.
pub async fn a_non_request_is_served_and_answered_non<E: Executor>() {
    let router = Router::new().get("/kind", |i: Incoming| {
        let kind = if i.request.confirmable { "CON" } else { "NON" };
        i.respond(Response::new(Code::CONTENT).with_payload(kind));
    });
    let addr = serve::<E>(router, EndpointConfig::default()).await;

    let client = CoapClient::<E>::new().await.unwrap();
    let non = Request::new(Code::GET).non_confirmable();
    let r = E::within(
        "NON GET",
        client.request(&format!("coap://{addr}/kind"), non),
    )
    .await
    .unwrap();
    assert_eq!((r.code, text(&r)), (Code::CONTENT, "NON"));
    let r = E::within("CON GET", client.get(&format!("coap://{addr}/kind")))
        .await
        .unwrap();
    assert_eq!(text(&r), "CON");

    let mut raw = Raw::<E::Runtime>::bind();
    let (_, token) = raw.get(addr, MessageType::NonConfirmable, "kind").await;
    let response = raw.recv().await;
    assert_eq!(
        (response.mtype, response.code, response.token),
        (MessageType::NonConfirmable, Code::CONTENT, token)
    );
}

/// Retransmissions every few tens of milliseconds: MAX_TRANSMIT_WAIT is 20 ms × 7 × 1.5.
fn quick_transmission() -> EndpointConfig {
    EndpointConfig {
        transmission: TransmissionParameters {
            ack_timeout: Duration::from_millis(20),
            max_retransmit: 2,
            ..TransmissionParameters::default()
        },
        ..EndpointConfig::default()
    }
}

/// A request and a ping to a port nobody listens on time out, after the last retransmission.
pub async fn a_request_nobody_answers_times_out<E: Executor>() {
    // A port that was free a moment ago: nobody listens there.
    let port = std::net::UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let client = CoapClient::<E>::with_config(quick_transmission())
        .await
        .unwrap();
    let started = Instant::now();
    let outcome = E::within(
        "the endpoint giving up",
        client.get(&format!("coap://127.0.0.1:{port}/hello")),
    )
    .await;
    assert!(matches!(outcome, Err(Error::Timeout)), "{outcome:?}");
    assert!(
        started.elapsed() >= Duration::from_millis(140),
        "gave up after {:?}, before the last retransmission's timeout",
        started.elapsed()
    );
    let ping = E::within(
        "ping",
        client.ping(SocketAddr::from(([127, 0, 0, 1], port))),
    )
    .await;
    assert!(matches!(ping, Err(Error::Timeout)), "{ping:?}");
}

/// 200 requests at once from two clients: each gets the answer to itself.
pub async fn many_concurrent_requests_each_get_their_own_response<E: Executor>() {
    let router = Router::new().get("/echo/{n}", |i: Incoming| {
        let n = i.params.get("n").unwrap().to_string();
        i.respond(Response::new(Code::CONTENT).with_payload(n));
    });
    let config = EndpointConfig {
        transmission: TransmissionParameters {
            nstart: 8,
            ..TransmissionParameters::default()
        },
        ..EndpointConfig::default()
    };
    let addr = serve::<E>(router, EndpointConfig::default()).await;
    let clients = [
        CoapClient::<E>::with_config(config.clone()).await.unwrap(),
        CoapClient::<E>::with_config(config).await.unwrap(),
    ];
    let mut requests: FuturesUnordered<_> = (0..200)
        .map(|n| {
            let client = clients[n % 2].clone();
            async move { (n, client.get(&format!("coap://{addr}/echo/{n}")).await) }
        })
        .collect();
    let mut seen = 0;
    while let Some((n, r)) = E::within("a response", requests.next()).await {
        let r = r.unwrap();
        assert_eq!((r.code, text(&r)), (Code::CONTENT, n.to_string().as_str()));
        seen += 1;
    }
    assert_eq!(seen, 200);
}

/// A handler that drops its `Incoming` unanswered: the server answers 5.00.
pub async fn a_dropped_incoming_is_answered_5_00<E: Executor>() {
    let router = Router::new().get("/forgetful", |_: Incoming| {});
    let addr = serve::<E>(router, EndpointConfig::default()).await;
    let client = CoapClient::<E>::new().await.unwrap();
    let r = E::within("GET", client.get(&format!("coap://{addr}/forgetful")))
        .await
        .unwrap();
    assert_eq!(r.code, Code::INTERNAL_SERVER_ERROR);
}

/// Ping, IPv4 and IPv6 peers of a dual-stack server, host names, and which client socket
/// reaches which family.
pub async fn ping_host_names_and_ipv6<E: Executor>() {
    // [::]:0 takes IPv4 too where sockets are dual-stack, as on Linux.
    let server = CoapServer::<E>::bind("[::]:0".parse().unwrap())
        .await
        .unwrap();
    let port = server.local_addr().port();
    let router = Router::new().get("/hello", |i: Incoming| {
        let from = if i.peer.is_ipv4() { "v4" } else { "v6" };
        i.respond(Response::new(Code::CONTENT).with_payload(from));
    });
    E::spawn(async move {
        let _ = server.serve(router).await;
    });

    let client = CoapClient::<E>::new().await.unwrap();
    E::within(
        "ping",
        client.ping(SocketAddr::from(([127, 0, 0, 1], port))),
    )
    .await
    .unwrap();
    let r = E::within(
        "IPv6 GET",
        client.get(&format!("coap://[::1]:{port}/hello")),
    )
    .await
    .unwrap();
    assert_eq!(text(&r), "v6");
    let r = E::within(
        "IPv4 GET",
        client.get(&format!("coap://127.0.0.1:{port}/hello")),
    )
    .await
    .unwrap();
    assert_eq!(text(&r), "v4", "the server shows a mapped peer as IPv4");
    let r = E::within(
        "by name",
        client.get(&format!("coap://localhost:{port}/hello")),
    )
    .await
    .unwrap();
    assert_eq!(r.code, Code::CONTENT);
    assert_eq!(client.local_addrs().len(), 2, "one socket per family");

    // One IPv6 socket reaches IPv4 peers through mapped addresses.
    let v6 = CoapClient::<E>::bind("[::]:0".parse().unwrap())
        .await
        .unwrap();
    let r = E::within(
        "mapped GET",
        v6.get(&format!("coap://127.0.0.1:{port}/hello")),
    )
    .await
    .unwrap();
    assert_eq!(text(&r), "v4");
    // An IPv4 socket cannot reach an IPv6 peer.
    let v4 = CoapClient::<E>::bind("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let e = v4.get(&format!("coap://[::1]:{port}/hello")).await;
    assert!(matches!(e, Err(Error::Resolve { .. })), "{e:?}");
}

/// `CoapServer::client` sends from the server's own socket.
pub async fn a_server_can_be_a_client_on_its_own_socket<E: Executor>() {
    let a = CoapServer::<E>::bind("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let b_addr = serve::<E>(
        Router::new().get("/who", |i: Incoming| {
            let peer = i.peer.to_string();
            i.respond(Response::new(Code::CONTENT).with_payload(peer));
        }),
        EndpointConfig::default(),
    )
    .await;
    let a_addr = a.local_addr();
    let client = a.client();
    E::spawn(async move {
        let _ = a.serve(Router::new()).await;
    });
    let r = E::within("GET", client.get(&format!("coap://{b_addr}/who")))
        .await
        .unwrap();
    assert_eq!(
        text(&r),
        a_addr.to_string(),
        "sent from the server's socket"
    );
}

/// An unsupported scheme, a malformed URI, an unknown host and a malformed route are errors.
pub async fn invalid_uris_and_routes_are_errors<E: Executor>() {
    let client = CoapClient::<E>::new().await.unwrap();
    assert!(matches!(
        client.get("coaps://127.0.0.1/x").await,
        Err(Error::UnsupportedScheme(_))
    ));
    assert!(matches!(client.get("not a uri").await, Err(Error::Uri(_))));
    assert!(matches!(
        client.get("coap://no-such-host.invalid/x").await,
        Err(Error::Resolve { .. })
    ));
    let server = CoapServer::<E>::bind("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let bad = Router::new().get("/{*rest}/x", |_: Incoming| {});
    assert!(matches!(server.serve(bad).await, Err(Error::Route(_))));
}

/// A server with an observable `/counter` whose handler reports each request's Observe
/// option, answering "0"; and its notifier.
async fn counter_server<E: Executor>() -> (
    SocketAddr,
    Notifier,
    mpsc::UnboundedReceiver<Option<Observe>>,
) {
    let server = CoapServer::<E>::bind("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let addr = server.local_addr();
    let counter = server.notifier("/counter");
    let (tx, requests) = mpsc::unbounded();
    let router = Router::new()
        .observable("/counter", move |i: Incoming| {
            let observe = i.request.options.observe().unwrap();
            // Answered before the test hears of it, so that later commands come after.
            i.respond(Response::new(Code::CONTENT).with_payload("0"));
            tx.unbounded_send(observe).unwrap();
        })
        .get("/plain", |i: Incoming| {
            i.respond(Response::new(Code::CONTENT).with_payload("plain"))
        });
    E::spawn(async move {
        let _ = server.serve(router).await;
    });
    (addr, counter, requests)
}

/// The next notification of `observation`, through `recv` or as a `Stream`.
async fn next_of(observation: &mut Observation, as_stream: bool) -> Option<Response> {
    if as_stream {
        observation.next().await
    } else {
        observation.recv().await
    }
}

/// Notifications arrive until the observation is cancelled, or dropped: either deregisters.
pub async fn an_observation_gets_every_notification_until_cancelled<E: Executor>() {
    let (addr, counter, mut requests) = counter_server::<E>().await;
    let client = CoapClient::<E>::new().await.unwrap();
    // Read through `recv` and cancelled, then read as a stream and dropped.
    for as_stream in [false, true] {
        let mut observation = E::within(
            "the registration",
            client.observe(&format!("coap://{addr}/counter")),
        )
        .await
        .unwrap();
        assert_eq!(
            E::within("the handler", requests.next()).await,
            Some(Some(Observe::REGISTER))
        );
        let first = E::within(
            "the first notification",
            next_of(&mut observation, as_stream),
        )
        .await
        .unwrap();
        assert_eq!((first.code, text(&first)), (Code::CONTENT, "0"));
        assert!(first.options.observe().unwrap().is_some(), "registered");

        for n in 1..=3 {
            let body = n.to_string();
            let sent = E::within(
                "notify",
                counter.notify(Response::new(Code::CONTENT).with_payload(body.clone())),
            )
            .await
            .unwrap();
            assert_eq!(sent, 1, "one observer");
            let note = E::within("a notification", next_of(&mut observation, as_stream))
                .await
                .unwrap();
            assert_eq!(text(&note), body);
        }
        assert_eq!(observation.end_reason(), None);

        // Cancelling or dropping deregisters with a GET with Observe = 1 (RFC 7641 §3.6)...
        if as_stream {
            drop(observation);
        } else {
            observation.cancel();
        }
        assert_eq!(
            E::within("the deregistration", requests.next()).await,
            Some(Some(Observe::DEREGISTER))
        );
        // ... after which nobody observes.
        let sent = counter
            .notify(Response::new(Code::CONTENT).with_payload("4"))
            .await
            .unwrap();
        assert_eq!(sent, 0);
    }
}

/// A notification with an error code is the last; the observation ends by the server.
pub async fn the_server_ends_an_observation_with_an_error_code<E: Executor>() {
    let (addr, counter, _requests) = counter_server::<E>().await;
    let client = CoapClient::<E>::new().await.unwrap();
    let mut observation = E::within(
        "the registration",
        client.observe(&format!("coap://{addr}/counter")),
    )
    .await
    .unwrap();
    E::within("the first notification", observation.recv())
        .await
        .unwrap();
    counter
        .notify(Response::new(Code::NOT_FOUND))
        .await
        .unwrap();
    let last = E::within("the last notification", observation.recv())
        .await
        .unwrap();
    assert_eq!(last.code, Code::NOT_FOUND);
    assert_eq!(E::within("the end", observation.recv()).await, None);
    assert_eq!(observation.end_reason(), Some(ObservationEnd::ByServer));
}

/// Forgotten observers get no notification; the resource has none left.
pub async fn forgotten_observers_get_nothing_more<E: Executor>() {
    let (addr, counter, _requests) = counter_server::<E>().await;
    let client = CoapClient::<E>::new().await.unwrap();
    let mut observation = E::within(
        "the registration",
        client.observe(&format!("coap://{addr}/counter")),
    )
    .await
    .unwrap();
    E::within("the first notification", observation.recv())
        .await
        .unwrap();
    assert_eq!(counter.forget_observers().await.unwrap(), 1);
    assert_eq!(
        counter
            .notify(Response::new(Code::CONTENT).with_payload("unseen"))
            .await
            .unwrap(),
        0
    );
    assert_eq!(counter.forget_observers().await.unwrap(), 0);
}

/// Observing a plain resource: its one response, then the end.
pub async fn observing_a_resource_that_is_not_observable_gives_one_response<E: Executor>() {
    let (addr, _counter, _requests) = counter_server::<E>().await;
    let client = CoapClient::<E>::new().await.unwrap();
    let mut observation = E::within(
        "the registration",
        client.observe(&format!("coap://{addr}/plain")),
    )
    .await
    .unwrap();
    let only = E::within("the answer", observation.recv()).await.unwrap();
    assert_eq!((only.code, text(&only)), (Code::CONTENT, "plain"));
    assert_eq!(only.options.observe().unwrap(), None);
    assert_eq!(E::within("the end", observation.recv()).await, None);
    assert_eq!(observation.end_reason(), Some(ObservationEnd::ByServer));
}

/// A 10 kB PUT and its 10 kB echo: block-wise both ways, whole at each end.
pub async fn large_bodies_go_both_ways_in_blocks<E: Executor>() {
    let router = Router::new().put("/echo", |i: Incoming| {
        let body = i.request.payload.clone();
        i.respond(Response::new(Code::CHANGED).with_payload(body));
    });
    let addr = serve::<E>(router, EndpointConfig::default()).await;
    let client = CoapClient::<E>::new().await.unwrap();
    let body: Vec<u8> = (0..10_000u32).map(|i| (i % 251) as u8).collect();
    let r = E::within(
        "a 10 kB PUT",
        client.put(&format!("coap://{addr}/echo"), body.clone()),
    )
    .await
    .unwrap();
    assert_eq!(r.code, Code::CHANGED);
    assert_eq!(&r.payload[..], &body[..]);
}
