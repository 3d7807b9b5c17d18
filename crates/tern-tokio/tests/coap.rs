//! tern-tokio's CoAP client against its CoAP server over real loopback UDP: the adapter's
//! promises, end to end, and the wire where the message type is the point (a raw socket
//! plays the client).

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use futures_util::stream::{FuturesUnordered, StreamExt};
use tern_coap::option::Options;
use tern_coap::value::{ContentFormat, Observe};
use tern_coap::{Message, MessageType, Token};
use tern_tokio::coap::{
    CoapClient, CoapServer, Code, EndpointConfig, Error, Incoming, ObservationEnd, Request,
    Responder, Response, Router, TransmissionParameters,
};
use tokio::net::UdpSocket;
use tokio::sync::mpsc;

/// Longest wait for anything that should happen at once over loopback.
const WAIT: Duration = Duration::from_secs(10);

async fn within<T>(what: &str, f: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(WAIT, f)
        .await
        .unwrap_or_else(|_| panic!("{what}: nothing within {WAIT:?}"))
}

/// Binds a server on 127.0.0.1 and serves `router` on a task.
async fn serve(router: Router, config: EndpointConfig) -> SocketAddr {
    let server = CoapServer::bind_with("127.0.0.1:0".parse().unwrap(), config)
        .await
        .unwrap();
    let addr = server.local_addr();
    tokio::spawn(async move { server.serve(router).await.unwrap() });
    addr
}

fn text(response: &Response) -> &str {
    std::str::from_utf8(&response.payload).unwrap()
}

/// A resource that stores what is POSTed or PUT, forgets it on DELETE.
fn store_router() -> Router {
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn get_post_put_delete_round_trip() {
    let addr = serve(store_router(), EndpointConfig::default()).await;
    let uri = format!("coap://{addr}/store");
    let client = CoapClient::new().await.unwrap();

    let r = within("GET", client.get(&uri)).await.unwrap();
    assert_eq!(r.code, Code::NOT_FOUND, "nothing stored yet");
    let r = within("POST", client.post(&uri, "first")).await.unwrap();
    assert_eq!(r.code, Code::CREATED);
    let r = within("GET", client.get(&uri)).await.unwrap();
    assert_eq!((r.code, text(&r)), (Code::CONTENT, "first"));
    let r = within("PUT", client.put(&uri, "second")).await.unwrap();
    assert_eq!(r.code, Code::CHANGED);
    let r = within("GET", client.get(&uri)).await.unwrap();
    assert_eq!((r.code, text(&r)), (Code::CONTENT, "second"));
    let r = within("DELETE", client.delete(&uri)).await.unwrap();
    assert_eq!(r.code, Code::DELETED);
    let r = within("GET", client.get(&uri)).await.unwrap();
    assert_eq!(r.code, Code::NOT_FOUND);
    assert_eq!(
        client.local_addrs().len(),
        1,
        "one IPv4 socket, bound lazily"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn path_parameters_reach_the_handler() {
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
    let addr = serve(router, EndpointConfig::default()).await;
    let client = CoapClient::new().await.unwrap();
    let get = |path: &str| {
        let uri = format!("coap://{addr}{path}");
        let client = client.clone();
        async move { within(&uri, client.get(&uri)).await.unwrap() }
    };
    assert_eq!(text(&get("/items/42").await), "item 42");
    // Percent-decoded by the URI parser: the segment is "a b".
    assert_eq!(text(&get("/items/a%20b").await), "item a b");
    assert_eq!(
        text(&get("/files/ada/notes/2024/x.txt").await),
        "ada:notes/2024/x.txt"
    );
    assert_eq!(text(&get("/files/ada").await), "ada:");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_paths_are_4_04_and_unknown_methods_4_05() {
    let addr = serve(store_router(), EndpointConfig::default()).await;
    let client = CoapClient::new().await.unwrap();
    let r = within("GET", client.get(&format!("coap://{addr}/nothing/here")))
        .await
        .unwrap();
    assert_eq!(r.code, Code::NOT_FOUND);
    let fetch = Request::new(Code::FETCH);
    let r = within(
        "FETCH",
        client.request(&format!("coap://{addr}/store"), fetch),
    )
    .await
    .unwrap();
    assert_eq!(r.code, Code::METHOD_NOT_ALLOWED);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn well_known_core_lists_the_routes_and_filters_them() {
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
    let addr = serve(router, EndpointConfig::default()).await;
    let client = CoapClient::new().await.unwrap();

    let all = within(
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

    let filtered = within(
        "filtered discovery",
        client.get(&format!("coap://{addr}/.well-known/core?rt=light*")),
    )
    .await
    .unwrap();
    assert_eq!(
        text(&filtered),
        r#"</sensors/light>;rt="light-lux";if="sensor""#
    );
    let by_href = within(
        "href filter",
        client.get(&format!("coap://{addr}/.well-known/core?href=/actuators*")),
    )
    .await
    .unwrap();
    assert_eq!(text(&by_href), "</actuators/led>");
}

/// Sends one raw CON or NON GET for `path` and returns its Message ID and token.
async fn raw_get(
    socket: &UdpSocket,
    server: SocketAddr,
    mtype: MessageType,
    path: &str,
) -> (u16, Token) {
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
    let mut buf = BytesMut::new();
    request.encode(&mut buf).unwrap();
    socket.send_to(&buf, server).await.unwrap();
    (0x4242, token)
}

async fn raw_recv(socket: &UdpSocket) -> Message {
    let mut buf = vec![0u8; 2048];
    let (n, _) = within("a datagram", socket.recv_from(&mut buf))
        .await
        .unwrap();
    Message::decode(Bytes::copy_from_slice(&buf[..n])).unwrap()
}

/// A server whose /late handler hands its responder to the test.
async fn late_server(config: EndpointConfig) -> (SocketAddr, mpsc::UnboundedReceiver<Responder>) {
    let (tx, rx) = mpsc::unbounded_channel();
    let router = Router::new().get("/late", move |i: Incoming| {
        tx.send(i.responder).unwrap();
    });
    (serve(router, config).await, rx)
}

fn quick_piggyback() -> EndpointConfig {
    EndpointConfig {
        piggyback_delay: Duration::from_millis(50),
        ..EndpointConfig::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_answer_after_piggyback_delay_is_a_separate_response_on_the_wire() {
    let (addr, mut responders) = late_server(quick_piggyback()).await;
    let raw = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let (mid, token) = raw_get(&raw, addr, MessageType::Confirmable, "late").await;
    let responder = within("the handler", responders.recv()).await.unwrap();

    // Unanswered after piggyback_delay: the endpoint acknowledges with an empty ACK...
    let ack = raw_recv(&raw).await;
    assert_eq!(
        (ack.mtype, ack.code, ack.message_id),
        (MessageType::Acknowledgement, Code::EMPTY, mid)
    );
    // ... and the answer comes later as a CON with the request's token.
    responder.respond(Response::new(Code::CONTENT).with_payload("late"));
    let response = raw_recv(&raw).await;
    assert_eq!(
        (response.mtype, response.code, response.token),
        (MessageType::Confirmable, Code::CONTENT, token)
    );
    assert_eq!(&response.payload[..], b"late");
    let ack = Message::empty(MessageType::Acknowledgement, response.message_id);
    let mut buf = BytesMut::new();
    ack.encode(&mut buf).unwrap();
    raw.send_to(&buf, addr).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_client_gets_a_separate_response() {
    // With no piggyback delay the empty ACK leaves with the request's arrival, so whatever
    // the handler does, the answer is a separate response.
    let (addr, mut responders) = late_server(EndpointConfig {
        piggyback_delay: Duration::ZERO,
        ..EndpointConfig::default()
    })
    .await;
    let client = CoapClient::new().await.unwrap();
    let uri = format!("coap://{addr}/late");
    let request = tokio::spawn(async move { client.get(&uri).await });
    let responder = within("the handler", responders.recv()).await.unwrap();
    responder.respond(Response::new(Code::CONTENT).with_payload("worth the wait"));
    let r = within("the response", request).await.unwrap().unwrap();
    assert_eq!((r.code, text(&r)), (Code::CONTENT, "worth the wait"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_non_request_is_served_and_answered_non() {
    let router = Router::new().get("/kind", |i: Incoming| {
        let kind = if i.request.confirmable { "CON" } else { "NON" };
        i.respond(Response::new(Code::CONTENT).with_payload(kind));
    });
    let addr = serve(router, EndpointConfig::default()).await;

    let client = CoapClient::new().await.unwrap();
    let non = Request::new(Code::GET).non_confirmable();
    let r = within(
        "NON GET",
        client.request(&format!("coap://{addr}/kind"), non),
    )
    .await
    .unwrap();
    assert_eq!((r.code, text(&r)), (Code::CONTENT, "NON"));
    let r = within("CON GET", client.get(&format!("coap://{addr}/kind")))
        .await
        .unwrap();
    assert_eq!(text(&r), "CON");

    let raw = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let (_, token) = raw_get(&raw, addr, MessageType::NonConfirmable, "kind").await;
    let response = raw_recv(&raw).await;
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_nobody_answers_times_out() {
    // A port that was free a moment ago: nobody listens there.
    let port = std::net::UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let client = CoapClient::with_config(quick_transmission()).await.unwrap();
    let started = std::time::Instant::now();
    let outcome = within(
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
    let ping = within(
        "ping",
        client.ping(SocketAddr::from(([127, 0, 0, 1], port))),
    )
    .await;
    assert!(matches!(ping, Err(Error::Timeout)), "{ping:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_concurrent_requests_each_get_their_own_response() {
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
    let addr = serve(router, EndpointConfig::default()).await;
    let clients = [
        CoapClient::with_config(config.clone()).await.unwrap(),
        CoapClient::with_config(config).await.unwrap(),
    ];
    let mut requests: FuturesUnordered<_> = (0..200)
        .map(|n| {
            let client = clients[n % 2].clone();
            async move {
                let r = client.get(&format!("coap://{addr}/echo/{n}")).await;
                (n, r)
            }
        })
        .collect();
    let mut seen = 0;
    while let Some((n, r)) = within("a response", requests.next()).await {
        let r = r.unwrap();
        assert_eq!((r.code, text(&r)), (Code::CONTENT, n.to_string().as_str()));
        seen += 1;
    }
    assert_eq!(seen, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dropped_incoming_is_answered_5_00() {
    let router = Router::new().get("/forgetful", |_: Incoming| {});
    let addr = serve(router, EndpointConfig::default()).await;
    let client = CoapClient::new().await.unwrap();
    let r = within("GET", client.get(&format!("coap://{addr}/forgetful")))
        .await
        .unwrap();
    assert_eq!(r.code, Code::INTERNAL_SERVER_ERROR);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ping_host_names_and_ipv6() {
    // [::]:0 takes IPv4 too where sockets are dual-stack, as on Linux.
    let server = CoapServer::bind("[::]:0".parse().unwrap()).await.unwrap();
    let port = server.local_addr().port();
    let router = Router::new().get("/hello", |i: Incoming| {
        let from = if i.peer.is_ipv4() { "v4" } else { "v6" };
        i.respond(Response::new(Code::CONTENT).with_payload(from));
    });
    tokio::spawn(server.serve(router));

    let client = CoapClient::new().await.unwrap();
    within(
        "ping",
        client.ping(SocketAddr::from(([127, 0, 0, 1], port))),
    )
    .await
    .unwrap();
    let r = within(
        "IPv6 GET",
        client.get(&format!("coap://[::1]:{port}/hello")),
    )
    .await
    .unwrap();
    assert_eq!(text(&r), "v6");
    let r = within(
        "IPv4 GET",
        client.get(&format!("coap://127.0.0.1:{port}/hello")),
    )
    .await
    .unwrap();
    assert_eq!(text(&r), "v4", "the server shows a mapped peer as IPv4");
    let r = within(
        "by name",
        client.get(&format!("coap://localhost:{port}/hello")),
    )
    .await
    .unwrap();
    assert_eq!(r.code, Code::CONTENT);
    assert_eq!(client.local_addrs().len(), 2, "one socket per family");

    // One IPv6 socket reaches IPv4 peers through mapped addresses.
    let v6 = CoapClient::bind("[::]:0".parse().unwrap()).await.unwrap();
    let r = within(
        "mapped GET",
        v6.get(&format!("coap://127.0.0.1:{port}/hello")),
    )
    .await
    .unwrap();
    assert_eq!(text(&r), "v4");
    // An IPv4 socket cannot reach an IPv6 peer.
    let v4 = CoapClient::bind("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let e = v4.get(&format!("coap://[::1]:{port}/hello")).await;
    assert!(matches!(e, Err(Error::Resolve { .. })), "{e:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_can_be_a_client_on_its_own_socket() {
    let a = CoapServer::bind("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let b_addr = serve(
        Router::new().get("/who", |i: Incoming| {
            let peer = i.peer.to_string();
            i.respond(Response::new(Code::CONTENT).with_payload(peer));
        }),
        EndpointConfig::default(),
    )
    .await;
    let a_addr = a.local_addr();
    let client = a.client();
    tokio::spawn(a.serve(Router::new()));
    let r = within("GET", client.get(&format!("coap://{b_addr}/who")))
        .await
        .unwrap();
    assert_eq!(
        text(&r),
        a_addr.to_string(),
        "sent from the server's socket"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_uris_and_routes_are_errors() {
    let client = CoapClient::new().await.unwrap();
    assert!(matches!(
        client.get("coaps://127.0.0.1/x").await,
        Err(Error::UnsupportedScheme(_))
    ));
    assert!(matches!(client.get("not a uri").await, Err(Error::Uri(_))));
    assert!(matches!(
        client.get("coap://no-such-host.invalid/x").await,
        Err(Error::Resolve { .. })
    ));
    let server = CoapServer::bind("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let bad = Router::new().get("/{*rest}/x", |_: Incoming| {});
    assert!(matches!(server.serve(bad).await, Err(Error::Route(_))));
}

/// A server with an observable `/counter` whose handler reports each request's Observe
/// option, answering "0"; and its notifier.
async fn counter_server() -> (
    SocketAddr,
    tern_tokio::coap::Notifier,
    mpsc::UnboundedReceiver<Option<Observe>>,
) {
    let server = CoapServer::bind("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let addr = server.local_addr();
    let counter = server.notifier("/counter");
    let (tx, requests) = mpsc::unbounded_channel();
    let router = Router::new()
        .observable("/counter", move |i: Incoming| {
            let observe = i.request.options.observe().unwrap();
            // Answered before the test hears of it, so that later commands come after.
            i.respond(Response::new(Code::CONTENT).with_payload("0"));
            tx.send(observe).unwrap();
        })
        .get("/plain", |i: Incoming| {
            i.respond(Response::new(Code::CONTENT).with_payload("plain"))
        });
    tokio::spawn(server.serve(router));
    (addr, counter, requests)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_observation_gets_every_notification_until_cancelled() {
    let (addr, counter, mut requests) = counter_server().await;
    let client = CoapClient::new().await.unwrap();
    let mut observation = within(
        "the registration",
        client.observe(&format!("coap://{addr}/counter")),
    )
    .await
    .unwrap();
    assert_eq!(
        within("the handler", requests.recv()).await,
        Some(Some(Observe::REGISTER))
    );
    let first = within("the first notification", observation.recv())
        .await
        .unwrap();
    assert_eq!((first.code, text(&first)), (Code::CONTENT, "0"));
    assert!(first.options.observe().unwrap().is_some(), "registered");

    for n in 1..=3 {
        let body = n.to_string();
        let sent = within(
            "notify",
            counter.notify(Response::new(Code::CONTENT).with_payload(body.clone())),
        )
        .await
        .unwrap();
        assert_eq!(sent, 1, "one observer");
        let note = within("a notification", observation.recv()).await.unwrap();
        assert_eq!(text(&note), body);
    }
    assert_eq!(observation.end_reason(), None);

    // Cancelling deregisters with a GET with Observe = 1 (RFC 7641 §3.6)...
    observation.cancel();
    assert_eq!(
        within("the deregistration", requests.recv()).await,
        Some(Some(Observe::DEREGISTER))
    );
    // ... after which nobody observes.
    let sent = counter
        .notify(Response::new(Code::CONTENT).with_payload("4"))
        .await
        .unwrap();
    assert_eq!(sent, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_server_ends_an_observation_with_an_error_code() {
    let (addr, counter, _requests) = counter_server().await;
    let client = CoapClient::new().await.unwrap();
    let mut observation = within(
        "the registration",
        client.observe(&format!("coap://{addr}/counter")),
    )
    .await
    .unwrap();
    within("the first notification", observation.recv())
        .await
        .unwrap();
    counter
        .notify(Response::new(Code::NOT_FOUND))
        .await
        .unwrap();
    let last = within("the last notification", observation.recv())
        .await
        .unwrap();
    assert_eq!(last.code, Code::NOT_FOUND);
    assert_eq!(within("the end", observation.recv()).await, None);
    assert_eq!(observation.end_reason(), Some(ObservationEnd::ByServer));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn observing_a_resource_that_is_not_observable_gives_one_response() {
    let (addr, _counter, _requests) = counter_server().await;
    let client = CoapClient::new().await.unwrap();
    let mut observation = within(
        "the registration",
        client.observe(&format!("coap://{addr}/plain")),
    )
    .await
    .unwrap();
    let only = within("the answer", observation.recv()).await.unwrap();
    assert_eq!((only.code, text(&only)), (Code::CONTENT, "plain"));
    assert_eq!(only.options.observe().unwrap(), None);
    assert_eq!(within("the end", observation.recv()).await, None);
    assert_eq!(observation.end_reason(), Some(ObservationEnd::ByServer));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn large_bodies_go_both_ways_in_blocks() {
    let router = Router::new().put("/echo", |i: Incoming| {
        let body = i.request.payload.clone();
        i.respond(Response::new(Code::CHANGED).with_payload(body));
    });
    let addr = serve(router, EndpointConfig::default()).await;
    let client = CoapClient::new().await.unwrap();
    let body: Vec<u8> = (0..10_000u32).map(|i| (i % 251) as u8).collect();
    let r = within(
        "a 10 kB PUT",
        client.put(&format!("coap://{addr}/echo"), body.clone()),
    )
    .await
    .unwrap();
    assert_eq!(r.code, Code::CHANGED);
    assert_eq!(&r.payload[..], &body[..]);
}
