//! tern-blocking's CoAP client against scripted peers: a raw UDP socket in a test thread that
//! decodes what arrives and answers as a test needs (piggybacked, separate, reset, silence).

use std::net::{SocketAddr, UdpSocket};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use tern_blocking::coap::{
    CoapClient, CoapServer, Code, Config, Direction, EndpointConfig, Error, Incoming, Request,
    Response, Router,
};
use tern_coap::endpoint::TransmissionParameters;
use tern_coap::value::ContentFormat;
use tern_coap::{Message, MessageType};

const WAIT: Duration = Duration::from_secs(10);

/// A peer on a loopback port of `ip`, running `script` on its socket in a thread.
fn peer(
    ip: &str,
    script: impl FnOnce(&UdpSocket) + Send + 'static,
) -> (SocketAddr, JoinHandle<()>) {
    let socket = UdpSocket::bind((ip, 0)).expect("bind the peer");
    socket.set_read_timeout(Some(WAIT)).unwrap();
    let addr = socket.local_addr().unwrap();
    (addr, thread::spawn(move || script(&socket)))
}

fn receive(socket: &UdpSocket) -> (Message, SocketAddr) {
    let mut buf = [0u8; 2048];
    let (n, from) = socket.recv_from(&mut buf).expect("a datagram in time");
    let message = Message::decode(Bytes::copy_from_slice(&buf[..n])).expect("valid CoAP");
    (message, from)
}

fn send(socket: &UdpSocket, to: SocketAddr, message: &Message) {
    let mut buf = BytesMut::new();
    message.encode(&mut buf).unwrap();
    socket.send_to(&buf, to).unwrap();
}

/// The response to `request` in message `mtype` with Message ID `mid`.
fn answer(request: &Message, mtype: MessageType, mid: u16, code: Code, payload: &str) -> Message {
    Message {
        mtype,
        code,
        message_id: mid,
        token: request.token,
        options: Default::default(),
        payload: Bytes::copy_from_slice(payload.as_bytes()),
    }
}

/// The piggybacked response to `request`: an ACK with its Message ID.
fn piggybacked(request: &Message, code: Code, payload: &str) -> Message {
    answer(
        request,
        MessageType::Acknowledgement,
        request.message_id,
        code,
        payload,
    )
}

/// The Uri-Path of `request`, joined with `/`.
fn path_of(request: &Message) -> String {
    let path: Vec<&str> = request.options.uri_path().unwrap().collect();
    path.join("/")
}

/// A server that answers every request piggybacked with 2.05 and the request's path.
fn echo_path_once(ip: &str) -> (SocketAddr, JoinHandle<()>) {
    peer(ip, |s| {
        let (request, from) = receive(s);
        let reply = piggybacked(&request, Code::CONTENT, &path_of(&request));
        send(s, from, &reply);
    })
}

/// Fast retransmissions, so that a test of a silent peer takes a fraction of a second.
fn impatient() -> Config {
    Config::new().endpoint(EndpointConfig {
        transmission: TransmissionParameters {
            ack_timeout: Duration::from_millis(50),
            max_retransmit: 1,
            ..TransmissionParameters::default()
        },
        ..EndpointConfig::default()
    })
}

#[test]
fn get_returns_the_piggybacked_response() {
    let (addr, server) = echo_path_once("127.0.0.1");
    let client = CoapClient::new().unwrap();
    let response = client.get(&format!("coap://{addr}/a/b")).unwrap();
    assert_eq!(response.code, Code::CONTENT);
    assert_eq!(&response.payload[..], b"a/b");
    server.join().unwrap();
}

#[test]
fn the_uri_gives_the_uri_options_and_the_request_keeps_its_own() {
    let (addr, server) = peer("127.0.0.1", |s| {
        let (request, from) = receive(s);
        assert_eq!(request.mtype, MessageType::NonConfirmable);
        assert_eq!(request.code, Code::PUT);
        assert_eq!(request.options.uri_host().unwrap(), Some("localhost"));
        assert_eq!(request.options.uri_port().unwrap(), Some(from_port(s)));
        assert_eq!(
            request.options.uri_path().unwrap().collect::<Vec<_>>(),
            ["x y", "z"]
        );
        assert_eq!(
            request.options.uri_query().unwrap().collect::<Vec<_>>(),
            ["a=1", "b"]
        );
        assert_eq!(
            request.options.content_format().unwrap(),
            Some(ContentFormat::JSON)
        );
        assert_eq!(&request.payload[..], b"{}");
        let reply = answer(&request, MessageType::NonConfirmable, 7, Code::CHANGED, "");
        send(s, from, &reply);
    });
    let client = CoapClient::new().unwrap();
    let request = Request::builder(Code::PUT)
        .path("replaced/by/the/uri")
        .options(|o| o.push_content_format(ContentFormat::JSON))
        .payload("{}")
        .non_confirmable()
        .build()
        .unwrap();
    let uri = format!("coap://localhost:{}/x%20y/z?a=1&b", addr.port());
    let response = client.request(&uri, request).unwrap();
    assert_eq!(response.code, Code::CHANGED);
    server.join().unwrap();
}

fn from_port(s: &UdpSocket) -> u16 {
    s.local_addr().unwrap().port()
}

#[test]
fn a_separate_response_is_acknowledged_and_returned() {
    let (addr, server) = peer("127.0.0.1", |s| {
        let (request, from) = receive(s);
        send(
            s,
            from,
            &Message::empty(MessageType::Acknowledgement, request.message_id),
        );
        thread::sleep(Duration::from_millis(100));
        let reply = answer(
            &request,
            MessageType::Confirmable,
            0x4242,
            Code::CONTENT,
            "later",
        );
        send(s, from, &reply);
        let (ack, _) = receive(s);
        assert_eq!(
            (ack.mtype, ack.message_id),
            (MessageType::Acknowledgement, 0x4242)
        );
    });
    let client = CoapClient::new().unwrap();
    let response = client.get(&format!("coap://{addr}/slow")).unwrap();
    assert_eq!(&response.payload[..], b"later");
    server.join().unwrap();
}

#[test]
fn a_4xx_response_is_ok_with_its_code() {
    let (addr, server) = peer("127.0.0.1", |s| {
        let (request, from) = receive(s);
        let reply = piggybacked(&request, Code::NOT_FOUND, "");
        send(s, from, &reply);
    });
    let response = CoapClient::new()
        .unwrap()
        .delete(&format!("coap://{addr}/gone"))
        .unwrap();
    assert_eq!(response.code, Code::NOT_FOUND);
    server.join().unwrap();
}

#[test]
fn a_reset_is_an_error() {
    let (addr, server) = peer("127.0.0.1", |s| {
        let (request, from) = receive(s);
        send(
            s,
            from,
            &Message::empty(MessageType::Reset, request.message_id),
        );
    });
    let result = CoapClient::new().unwrap().get(&format!("coap://{addr}/"));
    assert!(matches!(result, Err(Error::Reset)), "{result:?}");
    server.join().unwrap();
}

#[test]
fn the_configured_timeout_ends_the_wait() {
    let silent = UdpSocket::bind("127.0.0.1:0").unwrap();
    let addr = silent.local_addr().unwrap();
    let client =
        CoapClient::with_config(Config::new().timeout(Duration::from_millis(200))).unwrap();
    let started = Instant::now();
    let result = client.get(&format!("coap://{addr}/"));
    assert!(matches!(result, Err(Error::Timeout)), "{result:?}");
    assert!(started.elapsed() < Duration::from_secs(2));
}

#[test]
fn the_endpoint_gives_up_on_a_silent_peer() {
    let silent = UdpSocket::bind("127.0.0.1:0").unwrap();
    silent.set_read_timeout(Some(WAIT)).unwrap();
    let addr = silent.local_addr().unwrap();
    let client = CoapClient::with_config(impatient()).unwrap();
    let result = client.post(&format!("coap://{addr}/"), "x");
    assert!(matches!(result, Err(Error::Timeout)), "{result:?}");
    // The first transmission and one retransmission, with the same Message ID.
    let (first, _) = receive(&silent);
    let (again, _) = receive(&silent);
    assert_eq!(first, again);
}

#[test]
fn ping_is_answered_by_a_reset() {
    let (addr, server) = peer("127.0.0.1", |s| {
        let (ping, from) = receive(s);
        assert_eq!(
            (ping.mtype, ping.code),
            (MessageType::Confirmable, Code::EMPTY)
        );
        send(
            s,
            from,
            &Message::empty(MessageType::Reset, ping.message_id),
        );
    });
    CoapClient::new().unwrap().ping(addr).unwrap();
    server.join().unwrap();
}

#[test]
fn a_ping_nobody_answers_times_out() {
    let silent = UdpSocket::bind("127.0.0.1:0").unwrap();
    let client = CoapClient::with_config(impatient()).unwrap();
    let result = client.ping(silent.local_addr().unwrap());
    assert!(matches!(result, Err(Error::Timeout)), "{result:?}");
}

#[test]
fn bad_uris_are_refused_before_anything_is_sent() {
    let client = CoapClient::new().unwrap();
    assert!(matches!(
        client.get("http://example.com/"),
        Err(Error::Uri(_))
    ));
    assert!(matches!(client.get("not a uri"), Err(Error::Uri(_))));
    assert!(matches!(
        client.get("coap+tcp://127.0.0.1/"),
        Err(Error::UnsupportedScheme(_))
    ));
    assert!(matches!(
        client.get("coap://host.invalid/"),
        Err(Error::Resolve { .. })
    ));
    // A segment over 255 bytes is no Uri-Path; ten of 200 bytes do not fit a datagram.
    let long_segment = format!("coap://127.0.0.1/{}", "x".repeat(256));
    assert!(matches!(client.get(&long_segment), Err(Error::Uri(_))));
    let too_large = format!(
        "coap://127.0.0.1{}",
        format!("/{}", "x".repeat(200)).repeat(10)
    );
    assert!(matches!(client.get(&too_large), Err(Error::Endpoint(_))));
}

#[test]
fn a_client_bound_to_ipv4_cannot_reach_ipv6() {
    let client = CoapClient::bind("127.0.0.1:0").unwrap();
    assert!(matches!(
        client.get("coap://[::1]:9/"),
        Err(Error::Resolve { .. })
    ));
}

#[test]
fn ipv6_servers_are_reached_through_a_second_socket() {
    if UdpSocket::bind("[::1]:0").is_err() {
        eprintln!("no IPv6 loopback here; skipped");
        return;
    }
    let (addr, server) = echo_path_once("::1");
    let client = CoapClient::new().unwrap();
    let response = client.get(&format!("coap://{addr}/six")).unwrap();
    assert_eq!(&response.payload[..], b"six");
    let addrs = client.local_addrs();
    assert!(addrs[0].is_ipv4() && addrs[1].is_ipv6(), "{addrs:?}");
    server.join().unwrap();
}

#[test]
fn clones_share_the_socket_across_threads() {
    let (addr, server) = peer("127.0.0.1", |s| {
        let mut sources = Vec::new();
        for _ in 0..8 {
            let (request, from) = receive(s);
            sources.push(from);
            let reply = piggybacked(&request, Code::CONTENT, &path_of(&request));
            send(s, from, &reply);
        }
        sources.dedup();
        assert_eq!(sources.len(), 1, "one socket for every clone");
    });
    let client = CoapClient::new().unwrap();
    let threads: Vec<_> = (0..8)
        .map(|i| {
            let client = client.clone();
            thread::spawn(move || {
                let response = client.get(&format!("coap://{addr}/n/{i}")).unwrap();
                assert_eq!(response.payload, format!("n/{i}"));
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    server.join().unwrap();
}

#[test]
fn dropping_the_last_clone_frees_the_port() {
    let client = CoapClient::bind("127.0.0.1:0").unwrap();
    let addr = client.local_addrs()[0];
    let clone = client.clone();
    drop(client);
    // Still open while a clone lives.
    assert!(UdpSocket::bind(addr).is_err());
    drop(clone);
    UdpSocket::bind(addr).expect("the port is free once every clone is gone");
}

#[test]
fn the_hook_sees_every_datagram_in_order() {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let config = {
        let seen = seen.clone();
        Config::new().on_datagram(move |d| {
            let m = Message::decode(Bytes::copy_from_slice(d.bytes)).unwrap();
            seen.lock().unwrap().push((d.direction, m.mtype, m.code));
        })
    };
    let (addr, server) = echo_path_once("127.0.0.1");
    let client = CoapClient::with_config(config).unwrap();
    client.get(&format!("coap://{addr}/")).unwrap();
    assert_eq!(
        *seen.lock().unwrap(),
        [
            (Direction::Sent, MessageType::Confirmable, Code::GET),
            (
                Direction::Received,
                MessageType::Acknowledgement,
                Code::CONTENT
            ),
        ]
    );
    server.join().unwrap();
}

#[test]
fn a_request_to_a_client_socket_is_not_found() {
    let client = CoapClient::bind("127.0.0.1:0").unwrap();
    let addr = client.local_addrs()[0];
    let peer = UdpSocket::bind("127.0.0.1:0").unwrap();
    peer.set_read_timeout(Some(WAIT)).unwrap();
    let get = Message {
        mtype: MessageType::Confirmable,
        code: Code::GET,
        message_id: 1,
        token: tern_coap::Token::new(&[9]).unwrap(),
        options: Default::default(),
        payload: Bytes::new(),
    };
    send(&peer, addr, &get);
    let (reply, _) = receive(&peer);
    assert_eq!(
        (reply.mtype, reply.code),
        (MessageType::Acknowledgement, Code::NOT_FOUND)
    );
}

// ----- the server ---------------------------------------------------------------------------

/// A server that answers in a separate response after 50 ms instead of 1 s.
fn quick_separate() -> Config {
    Config::new().endpoint(EndpointConfig {
        piggyback_delay: Duration::from_millis(50),
        ..EndpointConfig::default()
    })
}

fn uri(addr: SocketAddr, path: &str) -> String {
    format!("coap://{addr}{path}")
}

fn text(response: &Response) -> &str {
    std::str::from_utf8(&response.payload).unwrap()
}

#[test]
fn a_router_serves_paths_methods_and_well_known_core() {
    let store = Arc::new(Mutex::new(String::from("first")));
    let (get_store, put_store) = (store.clone(), store.clone());
    let router = Router::new()
        .get("/hello", move |i: Incoming| {
            let body = get_store.lock().unwrap().clone();
            i.respond(Response::new(Code::CONTENT).with_payload(body));
        })
        .attributes(r#"rt="greeting";ct=0"#)
        .put("/hello", move |i: Incoming| {
            *put_store.lock().unwrap() = String::from_utf8_lossy(&i.request.payload).into();
            i.respond(Response::new(Code::CHANGED));
        })
        .get("/items/{id}", |i: Incoming| {
            let id = i.params.get("id").unwrap_or_default().to_owned();
            i.respond(Response::new(Code::CONTENT).with_payload(id));
        });
    let server = CoapServer::bind("127.0.0.1:0")
        .unwrap()
        .serve(router)
        .unwrap();
    let addr = server.local_addr();
    let client = CoapClient::new().unwrap();

    assert_eq!(text(&client.get(&uri(addr, "/hello")).unwrap()), "first");
    let changed = client.put(&uri(addr, "/hello"), "second").unwrap();
    assert_eq!(changed.code, Code::CHANGED);
    assert_eq!(text(&client.get(&uri(addr, "/hello")).unwrap()), "second");
    assert_eq!(text(&client.get(&uri(addr, "/items/42")).unwrap()), "42");
    assert_eq!(
        client.get(&uri(addr, "/nowhere")).unwrap().code,
        Code::NOT_FOUND
    );
    assert_eq!(
        client.delete(&uri(addr, "/hello")).unwrap().code,
        Code::METHOD_NOT_ALLOWED
    );
    let core = client.get(&uri(addr, "/.well-known/core")).unwrap();
    assert_eq!(text(&core), r#"</hello>;rt="greeting";ct=0"#);
    let none = client
        .get(&uri(addr, "/.well-known/core?rt=other"))
        .unwrap();
    assert_eq!(text(&none), "");
    server.shutdown();
}

#[test]
fn a_late_answer_from_another_thread_is_a_separate_response() {
    let router = Router::new().get("/slow", |i: Incoming| {
        let responder = i.responder;
        thread::spawn(move || {
            thread::sleep(Duration::from_millis(200));
            responder.respond(Response::new(Code::CONTENT).with_payload("late"));
        });
    });
    let server = CoapServer::bind_with("127.0.0.1:0", quick_separate())
        .unwrap()
        .serve(router)
        .unwrap();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let hook_seen = seen.clone();
    let config = Config::new().on_datagram(move |d| {
        if d.direction == Direction::Received {
            let m = Message::decode(Bytes::copy_from_slice(d.bytes)).unwrap();
            hook_seen.lock().unwrap().push((m.mtype, m.code));
        }
    });
    let client = CoapClient::with_config(config).unwrap();
    let response = client.get(&uri(server.local_addr(), "/slow")).unwrap();
    assert_eq!(text(&response), "late");
    assert_eq!(
        *seen.lock().unwrap(),
        [
            (MessageType::Acknowledgement, Code::EMPTY),
            (MessageType::Confirmable, Code::CONTENT)
        ]
    );
}

#[test]
fn handlers_that_fail_to_answer_properly_get_5_00() {
    let router = Router::new()
        .get("/dropped", |_: Incoming| {})
        .get("/not-a-response", |i: Incoming| {
            i.respond(Response::new(Code::GET));
        })
        .get("/options-too-large", |i: Incoming| {
            // Options no block size makes room for (a large body alone goes in blocks).
            let options = tern_coap::Options::builder()
                .push(tern_coap::OptionNumber(65000), vec![b'x'; 1200])
                .build()
                .unwrap();
            i.respond(Response::new(Code::CONTENT).with_options(options));
        });
    let server = CoapServer::bind("127.0.0.1:0")
        .unwrap()
        .serve(router)
        .unwrap();
    let client = CoapClient::new().unwrap();
    for path in ["/dropped", "/not-a-response", "/options-too-large"] {
        let response = client.get(&uri(server.local_addr(), path)).unwrap();
        assert_eq!(response.code, Code::INTERNAL_SERVER_ERROR, "{path}");
    }
}

#[test]
fn an_invalid_route_is_an_error_before_serving() {
    let router = Router::new().get("/a/{*rest}/b", |_: Incoming| {});
    let result = CoapServer::bind("127.0.0.1:0").unwrap().serve(router);
    assert!(matches!(result, Err(Error::Route(_))), "{result:?}");
}

#[test]
fn requests_before_serve_wait_for_it() {
    let server = CoapServer::bind_with("127.0.0.1:0", quick_separate()).unwrap();
    let addr = server.local_addr();
    let asking = thread::spawn(move || CoapClient::new().unwrap().get(&uri(addr, "/early")));
    thread::sleep(Duration::from_millis(300));
    let router = Router::new().get("/early", |i: Incoming| {
        i.respond(Response::new(Code::CONTENT).with_payload("served"));
    });
    let running = server.serve(router).unwrap();
    let response = asking.join().unwrap().unwrap();
    assert_eq!(text(&response), "served");
    running.shutdown();
}

#[test]
fn shutdown_frees_the_port_and_an_unserved_server_answers_4_04() {
    let server = CoapServer::bind("127.0.0.1:0").unwrap();
    let addr = server.local_addr();
    let own_client = server.client();
    drop(server);
    // The socket lives on with the client, and nobody serves.
    let response = CoapClient::new().unwrap().get(&uri(addr, "/x")).unwrap();
    assert_eq!(response.code, Code::NOT_FOUND);
    drop(own_client);
    UdpSocket::bind(addr).expect("free once the last handle is gone");

    let running = CoapServer::bind("127.0.0.1:0")
        .unwrap()
        .serve(Router::new())
        .unwrap();
    let addr = running.local_addr();
    running.shutdown();
    UdpSocket::bind(addr).expect("free after shutdown");
}

#[test]
fn the_servers_client_sends_from_the_servers_socket() {
    let server = CoapServer::bind("127.0.0.1:0").unwrap();
    let server_addr = server.local_addr();
    let (peer_addr, peer_thread) = peer("127.0.0.1", move |s| {
        let (request, from) = receive(s);
        assert_eq!(from, server_addr);
        let reply = piggybacked(&request, Code::CONTENT, "");
        send(s, from, &reply);
    });
    let response = server.client().get(&uri(peer_addr, "/")).unwrap();
    assert_eq!(response.code, Code::CONTENT);
    peer_thread.join().unwrap();
}

#[test]
fn a_dual_stack_server_shows_ipv4_peers_as_ipv4() {
    let Ok(server) = CoapServer::bind("[::]:0") else {
        eprintln!("no IPv6 here; skipped");
        return;
    };
    let port = server.local_addr().port();
    let router = Router::new().get("/peer", |i: Incoming| {
        let peer = i.peer.to_string();
        i.respond(Response::new(Code::CONTENT).with_payload(peer));
    });
    let running = server.serve(router).unwrap();
    let client = CoapClient::bind("127.0.0.1:0").unwrap();
    let result = client.get(&format!("coap://127.0.0.1:{port}/peer"));
    match result {
        Ok(response) => assert_eq!(text(&response), client.local_addrs()[0].to_string()),
        // A system whose IPv6 sockets are IPv6-only.
        Err(e) => eprintln!("not dual-stack here ({e}); skipped"),
    }
    running.shutdown();
}

#[test]
fn many_clients_at_once() {
    let router = Router::new().get("/n/{n}", |i: Incoming| {
        let n = i.params.get("n").unwrap_or_default().to_owned();
        i.respond(Response::new(Code::CONTENT).with_payload(n));
    });
    let server = CoapServer::bind("127.0.0.1:0")
        .unwrap()
        .serve(router)
        .unwrap();
    let addr = server.local_addr();
    let threads: Vec<_> = (0..16)
        .map(|i| {
            thread::spawn(move || {
                let client = CoapClient::new().unwrap();
                for j in 0..5 {
                    let response = client.get(&uri(addr, &format!("/n/{i}-{j}"))).unwrap();
                    assert_eq!(text(&response), format!("{i}-{j}"));
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
}

// ----- block-wise transfers and Observe ------------------------------------------------------

fn body(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 7 % 251) as u8).collect()
}

#[test]
fn large_bodies_go_both_ways_in_blocks() {
    let received = Arc::new(Mutex::new(Vec::new()));
    let stored = received.clone();
    let router = Router::new()
        .get("/large", |i: Incoming| {
            i.respond(Response::new(Code::CONTENT).with_payload(body(5000)))
        })
        .put("/upload", move |i: Incoming| {
            *stored.lock().unwrap() = i.request.payload.to_vec();
            i.respond(Response::new(Code::CHANGED));
        });
    let server = CoapServer::bind("127.0.0.1:0")
        .unwrap()
        .serve(router)
        .unwrap();
    let addr = server.local_addr();
    for szx in [2, 6] {
        let config = Config::new().endpoint(EndpointConfig {
            default_block_szx: szx,
            ..EndpointConfig::default()
        });
        let client = CoapClient::with_config(config).unwrap();
        let response = client.get(&uri(addr, "/large")).unwrap();
        assert_eq!(response.payload.len(), 5000, "szx {szx}");
        assert_eq!(&response.payload[..], &body(5000)[..]);
        let changed = client.put(&uri(addr, "/upload"), body(4321)).unwrap();
        assert_eq!(changed.code, Code::CHANGED);
        assert_eq!(*received.lock().unwrap(), body(4321), "szx {szx}");
    }
}

#[test]
fn observers_get_every_notification_until_the_resource_ends_it() {
    let server = CoapServer::bind("127.0.0.1:0").unwrap();
    let counter = server.notifier("/counter");
    let router = Router::new().observable("/counter", |i: Incoming| {
        i.respond(Response::new(Code::CONTENT).with_payload("0"))
    });
    let server = server.serve(router).unwrap();
    let client = CoapClient::new().unwrap();
    let mut observation = client
        .observe(&uri(server.local_addr(), "/counter"))
        .unwrap();
    assert_eq!(text(&observation.recv().unwrap()), "0");
    for n in 1..=3 {
        let sent = counter
            .notify(Response::new(Code::CONTENT).with_payload(n.to_string()))
            .unwrap();
        assert_eq!(sent, 1);
        let notification = observation.recv_timeout(WAIT).unwrap().unwrap();
        assert_eq!(text(&notification), n.to_string());
        assert!(notification.options.observe().unwrap().is_some());
    }
    // The resource is gone: the last notification, then the end.
    assert_eq!(counter.notify(Response::new(Code::NOT_FOUND)).unwrap(), 1);
    let last = observation.recv_timeout(WAIT).unwrap().unwrap();
    assert_eq!(last.code, Code::NOT_FOUND);
    assert_eq!(observation.recv_timeout(WAIT).unwrap(), None);
    assert!(observation.is_ended());
    assert!(observation.failure().is_none());
    assert_eq!(
        observation.end_reason(),
        Some(tern_coap::endpoint::ObservationEnd::ByServer)
    );
    // Nobody observes any more.
    assert_eq!(counter.notify(Response::new(Code::CONTENT)).unwrap(), 0);
    assert_eq!(counter.path(), "/counter");
    server.shutdown();
    assert!(matches!(
        counter.notify(Response::new(Code::CONTENT)),
        Err(Error::Closed)
    ));
}

#[test]
fn a_resource_that_is_not_observable_gives_one_response() {
    let router = Router::new().get("/plain", |i: Incoming| {
        i.respond(Response::new(Code::CONTENT).with_payload("once"))
    });
    let server = CoapServer::bind("127.0.0.1:0")
        .unwrap()
        .serve(router)
        .unwrap();
    let client = CoapClient::new().unwrap();
    let observation = client.observe(&uri(server.local_addr(), "/plain")).unwrap();
    let all: Vec<Response> = observation.collect();
    assert_eq!(all.len(), 1);
    assert_eq!(text(&all[0]), "once");
    assert_eq!(all[0].options.observe().unwrap(), None);
}

#[test]
fn dropping_an_observation_deregisters() {
    let (addr, server) = peer("127.0.0.1", |s| {
        let (register, from) = receive(s);
        assert_eq!(
            register.options.observe().unwrap().map(|o| o.get()),
            Some(0)
        );
        let mut reply = piggybacked(&register, Code::CONTENT, "first");
        reply.options = tern_coap::Options::builder()
            .push_observe(tern_coap::value::Observe::new(7).unwrap())
            .build()
            .unwrap();
        send(s, from, &reply);
        let (deregister, _) = receive(s);
        assert_eq!(deregister.token, register.token);
        assert_eq!(
            deregister.options.observe().unwrap().map(|o| o.get()),
            Some(1)
        );
    });
    let client = CoapClient::new().unwrap();
    let mut observation = client.observe(&uri(addr, "/obs")).unwrap();
    assert_eq!(text(&observation.recv().unwrap()), "first");
    drop(observation);
    server.join().unwrap();
}

#[test]
fn observing_a_silent_peer_fails_with_the_timeout() {
    let silent = UdpSocket::bind("127.0.0.1:0").unwrap();
    let client =
        CoapClient::with_config(Config::new().timeout(Duration::from_millis(200))).unwrap();
    let result = client.observe(&uri(silent.local_addr().unwrap(), "/obs"));
    assert!(matches!(result, Err(Error::Timeout)), "{result:?}");
    let client = CoapClient::with_config(impatient()).unwrap();
    let result = client.observe(&uri(silent.local_addr().unwrap(), "/obs"));
    assert!(matches!(result, Err(Error::Timeout)), "{result:?}");
}

#[test]
fn only_get_and_fetch_observe() {
    let client = CoapClient::new().unwrap();
    let result = client.observe_with("coap://127.0.0.1:9/x", Request::new(Code::POST));
    assert!(matches!(result, Err(Error::Endpoint(_))), "{result:?}");
}

#[test]
fn a_put_handler_notifies_the_observers_from_the_driver_thread() {
    // The usual observable resource: a PUT changes it, and the handler of the PUT (running
    // on the socket's driver thread) notifies the observers before it answers.
    let server = CoapServer::bind("127.0.0.1:0").unwrap();
    let notifier = server.notifier("/state");
    let state = Arc::new(Mutex::new(String::from("off")));
    let (get_state, put_state) = (state.clone(), state.clone());
    let router = Router::new()
        .observable("/state", move |i: Incoming| {
            let now = get_state.lock().unwrap().clone();
            i.respond(Response::new(Code::CONTENT).with_payload(now))
        })
        .put("/state", move |i: Incoming| {
            let new = String::from_utf8_lossy(&i.request.payload).into_owned();
            *put_state.lock().unwrap() = new.clone();
            let observers = notifier
                .notify(Response::new(Code::CONTENT).with_payload(new))
                .unwrap();
            i.respond(Response::new(Code::CHANGED).with_payload(observers.to_string()))
        });
    let server = server.serve(router).unwrap();
    let client = CoapClient::new().unwrap();
    let resource = uri(server.local_addr(), "/state");
    let mut observation = client.observe(&resource).unwrap();
    assert_eq!(text(&observation.recv().unwrap()), "off");
    let changed = client.put(&resource, "on").unwrap();
    assert_eq!((changed.code, text(&changed)), (Code::CHANGED, "1"));
    assert_eq!(
        text(&observation.recv_timeout(WAIT).unwrap().unwrap()),
        "on"
    );
    server.shutdown();
}

#[test]
fn a_handler_waiting_for_its_own_socket_fails_instead_of_hanging() {
    let server = CoapServer::bind("127.0.0.1:0").unwrap();
    let own = server.client();
    let addr = server.local_addr();
    let router = Router::new()
        .get("/loop", move |i: Incoming| {
            let outcome = match own.get(&uri(addr, "/other")) {
                Err(Error::Reentrant) => "reentrant".to_owned(),
                other => format!("{other:?}"),
            };
            i.respond(Response::new(Code::CONTENT).with_payload(outcome))
        })
        .get("/other", |i: Incoming| {
            i.respond(Response::new(Code::CONTENT))
        });
    let server = server.serve(router).unwrap();
    let response = CoapClient::new()
        .unwrap()
        .get(&uri(server.local_addr(), "/loop"))
        .unwrap();
    assert_eq!(text(&response), "reentrant");
    server.shutdown();
}
