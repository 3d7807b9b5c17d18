//! tern-async-std's CoAP client against its CoAP server over real loopback UDP, under
//! async-std (and one scenario under smol): the adapter's promises, end to end, and the wire
//! where the message type is the point (a raw socket plays the client).

use std::future::Future;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_std::channel::{self, Receiver};
use async_std::net::UdpSocket;
use bytes::{Bytes, BytesMut};
use futures_util::stream::{FuturesUnordered, StreamExt};
use tern_async_std::coap::{
    CoapClient, CoapServer, Code, EndpointConfig, Error, Incoming, Request, Responder, Response,
    Router, TransmissionParameters,
};
use tern_coap::option::Options;
use tern_coap::value::{ContentFormat, Observe};
use tern_coap::{Message, MessageType, Token};

/// Longest wait for anything that should happen at once over loopback.
const WAIT: Duration = Duration::from_secs(10);

async fn within<T>(what: &str, f: impl Future<Output = T>) -> T {
    async_std::future::timeout(WAIT, f)
        .await
        .unwrap_or_else(|_| panic!("{what}: nothing within {WAIT:?}"))
}

/// Binds a server on 127.0.0.1 and serves `router` on a task.
async fn serve(router: Router, config: EndpointConfig) -> SocketAddr {
    let server = CoapServer::bind_with("127.0.0.1:0".parse().unwrap(), config)
        .await
        .unwrap();
    let addr = server.local_addr();
    async_std::task::spawn(async move { server.serve(router).await.unwrap() });
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

/// The CRUD scenario, for async-std and smol alike.
async fn round_trip(addr: SocketAddr) {
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
}

#[async_std::test]
async fn get_post_put_delete_round_trip() {
    let addr = serve(store_router(), EndpointConfig::default()).await;
    round_trip(addr).await;
}

#[test]
fn get_post_put_delete_round_trip_under_smol() {
    smol::block_on(async {
        let server = CoapServer::bind("127.0.0.1:0".parse().unwrap())
            .await
            .unwrap();
        let addr = server.local_addr();
        smol::spawn(server.serve(store_router())).detach();
        round_trip(addr).await;
    });
}

#[async_std::test]
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
    for (path, want) in [
        ("/items/42", "item 42"),
        ("/items/a%20b", "item a b"),
        ("/files/ada/notes/2024/x.txt", "ada:notes/2024/x.txt"),
        ("/files/ada", "ada:"),
    ] {
        let uri = format!("coap://{addr}{path}");
        let r = within(&uri, client.get(&uri)).await.unwrap();
        assert_eq!(text(&r), want, "{path}");
    }
}

#[async_std::test]
async fn unknown_paths_are_4_04_and_unknown_methods_4_05() {
    let addr = serve(store_router(), EndpointConfig::default()).await;
    let client = CoapClient::new().await.unwrap();
    let r = within("GET", client.get(&format!("coap://{addr}/nothing/here")))
        .await
        .unwrap();
    assert_eq!(r.code, Code::NOT_FOUND);
    let r = within(
        "FETCH",
        client.request(&format!("coap://{addr}/store"), Request::new(Code::FETCH)),
    )
    .await
    .unwrap();
    assert_eq!(r.code, Code::METHOD_NOT_ALLOWED);
}

#[async_std::test]
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
async fn late_server(config: EndpointConfig) -> (SocketAddr, Receiver<Responder>) {
    let (tx, rx) = channel::unbounded();
    let router = Router::new().get("/late", move |i: Incoming| {
        tx.try_send(i.responder).unwrap();
    });
    (serve(router, config).await, rx)
}

#[async_std::test]
async fn an_answer_after_piggyback_delay_is_a_separate_response_on_the_wire() {
    let (addr, responders) = late_server(EndpointConfig {
        piggyback_delay: Duration::from_millis(50),
        ..EndpointConfig::default()
    })
    .await;
    let raw = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let (mid, token) = raw_get(&raw, addr, MessageType::Confirmable, "late").await;
    let responder = within("the handler", responders.recv()).await.unwrap();
    let ack = raw_recv(&raw).await;
    assert_eq!(
        (ack.mtype, ack.code, ack.message_id),
        (MessageType::Acknowledgement, Code::EMPTY, mid)
    );
    responder.respond(Response::new(Code::CONTENT).with_payload("late"));
    let response = raw_recv(&raw).await;
    assert_eq!(
        (response.mtype, response.code, response.token),
        (MessageType::Confirmable, Code::CONTENT, token)
    );
    assert_eq!(&response.payload[..], b"late");
}

#[async_std::test]
async fn the_client_gets_a_separate_response() {
    // With no piggyback delay the empty ACK leaves with the request's arrival.
    let (addr, responders) = late_server(EndpointConfig {
        piggyback_delay: Duration::ZERO,
        ..EndpointConfig::default()
    })
    .await;
    let client = CoapClient::new().await.unwrap();
    let uri = format!("coap://{addr}/late");
    let request = async_std::task::spawn(async move { client.get(&uri).await });
    let responder = within("the handler", responders.recv()).await.unwrap();
    responder.respond(Response::new(Code::CONTENT).with_payload("worth the wait"));
    let r = within("the response", request).await.unwrap();
    assert_eq!((r.code, text(&r)), (Code::CONTENT, "worth the wait"));
}

#[async_std::test]
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

    let raw = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let (_, token) = raw_get(&raw, addr, MessageType::NonConfirmable, "kind").await;
    let response = raw_recv(&raw).await;
    assert_eq!(
        (response.mtype, response.code, response.token),
        (MessageType::NonConfirmable, Code::CONTENT, token)
    );
}

#[async_std::test]
async fn a_request_nobody_answers_times_out() {
    let port = std::net::UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    // MAX_TRANSMIT_WAIT is 20 ms × 7 × 1.5.
    let config = EndpointConfig {
        transmission: TransmissionParameters {
            ack_timeout: Duration::from_millis(20),
            max_retransmit: 2,
            ..TransmissionParameters::default()
        },
        ..EndpointConfig::default()
    };
    let client = CoapClient::with_config(config).await.unwrap();
    let started = std::time::Instant::now();
    let outcome = within(
        "the endpoint giving up",
        client.get(&format!("coap://127.0.0.1:{port}/hello")),
    )
    .await;
    assert!(matches!(outcome, Err(Error::Timeout)), "{outcome:?}");
    assert!(started.elapsed() >= Duration::from_millis(140));
}

#[async_std::test]
async fn many_concurrent_requests_each_get_their_own_response() {
    let router = Router::new().get("/echo/{n}", |i: Incoming| {
        let n = i.params.get("n").unwrap().to_string();
        i.respond(Response::new(Code::CONTENT).with_payload(n));
    });
    let addr = serve(router, EndpointConfig::default()).await;
    let config = EndpointConfig {
        transmission: TransmissionParameters {
            nstart: 8,
            ..TransmissionParameters::default()
        },
        ..EndpointConfig::default()
    };
    let clients = [
        CoapClient::with_config(config.clone()).await.unwrap(),
        CoapClient::with_config(config).await.unwrap(),
    ];
    let mut requests: FuturesUnordered<_> = (0..200)
        .map(|n| {
            let client = clients[n % 2].clone();
            async move { (n, client.get(&format!("coap://{addr}/echo/{n}")).await) }
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

#[async_std::test]
async fn ping_and_ipv6() {
    let server = CoapServer::bind("[::]:0".parse().unwrap()).await.unwrap();
    let port = server.local_addr().port();
    let router = Router::new().get("/hello", |i: Incoming| {
        let from = if i.peer.is_ipv4() { "v4" } else { "v6" };
        i.respond(Response::new(Code::CONTENT).with_payload(from));
    });
    async_std::task::spawn(server.serve(router));
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
        "by name",
        client.get(&format!("coap://localhost:{port}/hello")),
    )
    .await
    .unwrap();
    assert_eq!(r.code, Code::CONTENT);
}

#[async_std::test]
async fn an_observation_gets_every_notification_until_cancelled() {
    let server = CoapServer::bind("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let addr = server.local_addr();
    let counter = server.notifier("/counter");
    let (tx, requests) = channel::unbounded();
    let router = Router::new().observable("/counter", move |i: Incoming| {
        let observe = i.request.options.observe().unwrap();
        // Answered before the test hears of it, so that later commands come after.
        i.respond(Response::new(Code::CONTENT).with_payload("0"));
        tx.try_send(observe).unwrap();
    });
    async_std::task::spawn(server.serve(router));

    let client = CoapClient::new().await.unwrap();
    let mut observation = within(
        "the registration",
        client.observe(&format!("coap://{addr}/counter")),
    )
    .await
    .unwrap();
    assert_eq!(
        within("the handler", requests.recv()).await.unwrap(),
        Some(Observe::REGISTER)
    );
    let first = within("the first notification", observation.next())
        .await
        .unwrap();
    assert_eq!(text(&first), "0");
    for n in 1..=3 {
        let body = n.to_string();
        let sent = within(
            "notify",
            counter.notify(Response::new(Code::CONTENT).with_payload(body.clone())),
        )
        .await
        .unwrap();
        assert_eq!(sent, 1);
        let note = within("a notification", observation.next()).await.unwrap();
        assert_eq!(text(&note), body);
    }
    drop(observation);
    assert_eq!(
        within("the deregistration", requests.recv()).await.unwrap(),
        Some(Observe::DEREGISTER)
    );
    let sent = counter.notify(Response::new(Code::CONTENT)).await.unwrap();
    assert_eq!(sent, 0);
}

#[async_std::test]
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
