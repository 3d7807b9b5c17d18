//! The ETSI CoAP plugtest core tests (td-coap4: TD_COAP_CORE_01–23 and 31), each run between
//! a client endpoint and a server endpoint through the network simulation, with a small
//! server application offering the plugtest resources. Each test performs the test
//! description's stimulus steps through the client's API and its check steps on the
//! datagrams in the wire log; its verify steps ("client displays the response") on the
//! client's events.

mod common;
mod sim;

use core::time::Duration;

use common::{ACK, CON, NON, RST};
use sim::{NetConfig, Sim, Wire};
use tern_coap::endpoint::{EndpointConfig, Event, Request, RequestId, Response};
use tern_coap::option::OptionNumber;
use tern_coap::value::{ContentFormat, ETag, IfMatch};
use tern_coap::{Code, Message, MessageType, Token};

/// How long the server application takes on /separate ("not served immediately").
const SEPARATE_DELAY: Duration = Duration::from_secs(3);

/// The plugtest server's resources and their state.
#[derive(Default)]
struct Resources {
    validate_payload: String,
    validate_version: u8,
    create1_exists: bool,
}

fn text(code: Code, payload: &str) -> Response {
    Response::builder(code)
        .options(|o| o.push_content_format(ContentFormat::TEXT_PLAIN))
        .payload(payload.to_owned())
        .build()
        .unwrap()
}

impl Resources {
    fn etag(&self) -> ETag {
        ETag::new(&[0xe7, self.validate_version]).unwrap()
    }

    fn answer(&mut self, request: &Request) -> (Duration, Response) {
        let path: Vec<&str> = request.options.uri_path().unwrap().collect();
        let now = Duration::ZERO;
        let response = match (request.method, path.as_slice()) {
            (Code::GET, ["test"]) => text(Code::CONTENT, "Type: test resource"),
            (Code::DELETE, ["test"]) => Response::new(Code::DELETED),
            (Code::PUT, ["test"]) => Response::new(Code::CHANGED),
            (Code::POST, ["test"]) => Response::builder(Code::CREATED)
                .options(|o| {
                    o.push_location_path("location1")
                        .and_then(|o| o.push_location_path("location2"))
                        .and_then(|o| o.push_location_path("location3"))
                        .unwrap()
                })
                .build()
                .unwrap(),
            (Code::GET, ["separate"]) => {
                return (SEPARATE_DELAY, text(Code::CONTENT, "Type: separate"));
            }
            (Code::GET, ["seg1", "seg2", "seg3"]) => text(Code::CONTENT, "Type: seg3"),
            (Code::GET, ["query"]) => {
                let q: Vec<&str> = request.options.uri_query().unwrap().collect();
                text(Code::CONTENT, &q.join("&"))
            }
            (Code::POST, ["location-query"]) => Response::builder(Code::CREATED)
                .options(|o| {
                    o.push_location_query("first=1")
                        .and_then(|o| o.push_location_query("second=2"))
                        .unwrap()
                })
                .build()
                .unwrap(),
            (Code::GET, ["multi-format"]) => match request.options.accept().unwrap() {
                Some(ContentFormat::TEXT_PLAIN) | None => text(Code::CONTENT, "multi-format"),
                Some(ContentFormat::XML) => Response::builder(Code::CONTENT)
                    .options(|o| o.push_content_format(ContentFormat::XML))
                    .payload("<multi-format/>")
                    .build()
                    .unwrap(),
                Some(_) => Response::new(Code::NOT_ACCEPTABLE),
            },
            (Code::GET, ["validate"]) => {
                let current = self.etag();
                if request.options.etags().unwrap().any(|e| e == current) {
                    Response::builder(Code::VALID)
                        .options(|o| o.push_etag(current))
                        .build()
                        .unwrap()
                } else {
                    Response::builder(Code::CONTENT)
                        .options(|o| {
                            o.push_etag(current)
                                .push_content_format(ContentFormat::TEXT_PLAIN)
                        })
                        .payload(self.validate_payload.clone())
                        .build()
                        .unwrap()
                }
            }
            (Code::PUT, ["validate"]) => {
                let current = self.etag();
                let conditions: Vec<IfMatch> = request.options.if_match().unwrap().collect();
                let holds = conditions.is_empty()
                    || conditions.iter().any(|c| match c {
                        IfMatch::Exists => true,
                        IfMatch::ETag(e) => *e == current,
                    });
                if holds {
                    self.validate_payload = String::from_utf8(request.payload.to_vec()).unwrap();
                    self.validate_version += 1;
                    Response::new(Code::CHANGED)
                } else {
                    Response::new(Code::PRECONDITION_FAILED)
                }
            }
            (Code::PUT, ["create1"]) => {
                if request.options.if_none_match().unwrap() && self.create1_exists {
                    Response::new(Code::PRECONDITION_FAILED)
                } else {
                    self.create1_exists = true;
                    Response::new(Code::CREATED)
                }
            }
            _ => Response::new(Code::NOT_FOUND),
        };
        (now, response)
    }
}

struct Plugtest {
    sim: Sim,
    client: usize,
    server: usize,
}

impl Plugtest {
    fn new() -> Self {
        Plugtest::with(EndpointConfig::default(), EndpointConfig::default())
    }

    fn with(client_config: EndpointConfig, server_config: EndpointConfig) -> Self {
        let (mut sim, client, server) =
            Sim::client_server(2014, NetConfig::perfect(), client_config, server_config);
        let mut resources = Resources {
            validate_payload: "first".to_owned(),
            ..Resources::default()
        };
        sim.set_responder(server, Box::new(move |_, req| Some(resources.answer(req))));
        Plugtest {
            sim,
            client,
            server,
        }
    }

    /// Stimulus: the client sends `request`; then the network runs for `d`.
    fn send(&mut self, request: Request, d: Duration) -> Step {
        let from = self.sim.wire.len();
        let id = self.sim.request(self.client, self.server, request);
        self.sim.run_for(d, 10_000);
        self.step(from, id)
    }

    fn step(&self, from: usize, id: RequestId) -> Step {
        Step {
            to_server: self.sim.sent_since(from, self.client, self.server),
            to_client: self.sim.sent_since(from, self.server, self.client),
            outcome: self.sim.outcomes(self.client, id).into_iter().next(),
        }
    }
}

/// The datagrams of one stimulus and the client's outcome.
struct Step {
    to_server: Vec<Wire>,
    to_client: Vec<Wire>,
    outcome: Option<Event>,
}

impl Step {
    /// The request: the first datagram to the server.
    fn request(&self) -> &Message {
        &self.to_server[0].message
    }

    /// The single datagram from the server.
    fn reply(&self) -> &Message {
        assert_eq!(self.to_client.len(), 1, "one reply: {:?}", self.to_client);
        &self.to_client[0].message
    }

    /// Verify: the client got (and would display) this response.
    fn response(&self) -> Response {
        match &self.outcome {
            Some(Event::Response { response, .. }) => response.clone(),
            other => panic!("the client got no response: {other:?}"),
        }
    }
}

fn path(m: &Message) -> Vec<String> {
    m.options.uri_path().unwrap().map(String::from).collect()
}

/// Check: Type, Code, a client-generated Message ID and a token of 1–8 bytes.
fn check_request(m: &Message, mtype: MessageType, code: Code, uri_path: &[&str]) {
    assert_eq!(m.mtype, mtype);
    assert_eq!(m.code, code);
    assert!(
        (1..=8).contains(&m.token.len()),
        "CTOK of 1-8 bytes: {:?}",
        m.token
    );
    assert_eq!(path(m), uri_path);
}

/// Check of a piggybacked response: the code, Message ID = CMID, Token = CTOK.
fn check_piggybacked(reply: &Message, request: &Message, code: Code) {
    assert_eq!(reply.mtype, ACK);
    assert_eq!(reply.code, code);
    assert_eq!(reply.message_id, request.message_id, "Message ID = CMID");
    assert_eq!(reply.token, request.token, "Token = CTOK");
}

fn content_format(m: &Message) -> Option<ContentFormat> {
    m.options.content_format().unwrap()
}

fn s(d: u64) -> Duration {
    Duration::from_secs(d)
}

// ----- TD_COAP_CORE_01–08: the four methods, CON and NON --------------------------------------

#[test]
fn td_coap_core_01_get_con() {
    let mut p = Plugtest::new();
    let step = p.send(Request::get("test").unwrap(), s(5));
    check_request(step.request(), CON, Code::GET, &["test"]);
    let reply = step.reply();
    check_piggybacked(reply, step.request(), Code::CONTENT);
    assert!(content_format(reply).is_some(), "Content-Format option");
    assert!(!reply.payload.is_empty(), "non-empty payload");
    assert_eq!(step.response().payload, reply.payload);
}

#[test]
fn td_coap_core_02_delete_con() {
    let mut p = Plugtest::new();
    let step = p.send(Request::delete("test").unwrap(), s(5));
    check_request(step.request(), CON, Code::DELETE, &["test"]);
    check_piggybacked(step.reply(), step.request(), Code::DELETED);
    assert_eq!(step.response().code, Code::DELETED);
}

fn put_or_post(method: Code, confirmable: bool) -> Request {
    let r = Request::builder(method)
        .path("test")
        .options(|o| o.push_content_format(ContentFormat::TEXT_PLAIN))
        .payload("plugtest payload")
        .build()
        .unwrap();
    if confirmable { r } else { r.non_confirmable() }
}

#[test]
fn td_coap_core_03_put_con() {
    let mut p = Plugtest::new();
    let step = p.send(put_or_post(Code::PUT, true), s(5));
    check_request(step.request(), CON, Code::PUT, &["test"]);
    assert!(content_format(step.request()).is_some());
    let events = p.sim.events(p.server);
    assert!(
        matches!(&events[..], [Event::Request { request, .. }] if request.payload == "plugtest payload")
    );
    let reply = step.reply();
    check_piggybacked(reply, step.request(), Code::CHANGED);
    assert!(matches!(
        step.response().code,
        Code::CHANGED | Code::CREATED
    ));
}

#[test]
fn td_coap_core_04_post_con() {
    let mut p = Plugtest::new();
    let step = p.send(put_or_post(Code::POST, true), s(5));
    check_request(step.request(), CON, Code::POST, &["test"]);
    check_piggybacked(step.reply(), step.request(), Code::CREATED);
    assert!(matches!(
        step.response().code,
        Code::CHANGED | Code::CREATED
    ));
}

/// Check of a NON response: Type NON, a server-generated Message ID, Token = CTOK.
fn check_non_response(reply: &Message, request: &Message, code: Code) {
    assert_eq!(reply.mtype, NON);
    assert_eq!(reply.code, code);
    assert_ne!(reply.message_id, request.message_id, "SMID");
    assert_eq!(reply.token, request.token, "Token = CTOK");
}

#[test]
fn td_coap_core_05_get_non() {
    let mut p = Plugtest::new();
    let step = p.send(Request::get("test").unwrap().non_confirmable(), s(5));
    check_request(step.request(), NON, Code::GET, &["test"]);
    check_non_response(step.reply(), step.request(), Code::CONTENT);
    assert!(content_format(step.reply()).is_some());
    assert_eq!(step.response().code, Code::CONTENT);
}

#[test]
fn td_coap_core_06_delete_non() {
    let mut p = Plugtest::new();
    let step = p.send(Request::delete("test").unwrap().non_confirmable(), s(5));
    check_request(step.request(), NON, Code::DELETE, &["test"]);
    check_non_response(step.reply(), step.request(), Code::DELETED);
    assert_eq!(step.response().code, Code::DELETED);
}

#[test]
fn td_coap_core_07_put_non() {
    let mut p = Plugtest::new();
    let step = p.send(put_or_post(Code::PUT, false), s(5));
    check_request(step.request(), NON, Code::PUT, &["test"]);
    assert!(!step.request().payload.is_empty() && content_format(step.request()).is_some());
    check_non_response(step.reply(), step.request(), Code::CHANGED);
    assert_eq!(step.response().code, Code::CHANGED);
}

#[test]
fn td_coap_core_08_post_non() {
    let mut p = Plugtest::new();
    let step = p.send(put_or_post(Code::POST, false), s(5));
    check_request(step.request(), NON, Code::POST, &["test"]);
    check_non_response(step.reply(), step.request(), Code::CREATED);
    assert_eq!(step.response().code, Code::CREATED);
}

// ----- TD_COAP_CORE_09–12: separate responses and tokens ---------------------------------------

/// Checks the separate-response exchange: the empty ACK (Message ID = CMID), then after some
/// time the CON response (SMID, Token = CTOK), and the client's empty ACK (Message ID = SMID).
fn check_separate(step: &Step) {
    let request = step.request();
    assert_eq!(step.to_server.len(), 2, "the request and the client's ACK");
    assert_eq!(step.to_client.len(), 2, "the empty ACK and the response");
    let (ack, response) = (&step.to_client[0], &step.to_client[1]);
    assert_eq!(ack.message, Message::empty(ACK, request.message_id));
    assert!(
        response.at >= ack.at + Duration::from_secs(2),
        "some time elapses"
    );
    let r = &response.message;
    assert_eq!((r.mtype, r.code), (CON, Code::CONTENT));
    assert_ne!(r.message_id, request.message_id, "SMID");
    assert_eq!(r.token, request.token, "Token = CTOK");
    assert!(!r.payload.is_empty());
    assert_eq!(step.to_server[1].message, Message::empty(ACK, r.message_id));
    assert_eq!(step.response().payload, r.payload);
}

#[test]
fn td_coap_core_09_get_separate_response_con() {
    let mut p = Plugtest::new();
    let step = p.send(Request::get("separate").unwrap(), s(10));
    check_request(step.request(), CON, Code::GET, &["separate"]);
    check_separate(&step);
    assert!(content_format(&step.to_client[1].message).is_some());
}

#[test]
fn td_coap_core_10_get_with_non_empty_token_con() {
    let mut p = Plugtest::new();
    let step = p.send(Request::get("test").unwrap(), s(5));
    check_request(step.request(), CON, Code::GET, &["test"]);
    check_piggybacked(step.reply(), step.request(), Code::CONTENT);
    assert!(!step.reply().payload.is_empty());
    step.response();
}

#[test]
fn td_coap_core_11_get_with_non_empty_token_separate_response_con() {
    let mut p = Plugtest::new();
    let step = p.send(Request::get("separate").unwrap(), s(10));
    check_request(step.request(), CON, Code::GET, &["separate"]);
    check_separate(&step);
}

#[test]
fn td_coap_core_12_get_with_empty_token_con() {
    let client = EndpointConfig {
        token_length: 0,
        ..EndpointConfig::default()
    };
    let mut p = Plugtest::with(client, EndpointConfig::default());
    let step = p.send(Request::get("test").unwrap(), s(5));
    let request = step.request();
    assert_eq!((request.mtype, request.code), (CON, Code::GET));
    assert_eq!(request.token, Token::EMPTY, "zero-length token");
    check_piggybacked(step.reply(), request, Code::CONTENT);
    assert_eq!(step.response().code, Code::CONTENT);
}

// ----- TD_COAP_CORE_13–14: several Uri-Path and Uri-Query options ------------------------------

#[test]
fn td_coap_core_13_get_with_several_uri_path_options_con() {
    let mut p = Plugtest::new();
    let step = p.send(Request::get("/seg1/seg2/seg3").unwrap(), s(5));
    check_request(step.request(), CON, Code::GET, &["seg1", "seg2", "seg3"]);
    let segments = step
        .request()
        .options
        .get_all(OptionNumber::URI_PATH)
        .count();
    assert_eq!(segments, 3, "three Uri-Path options");
    check_piggybacked(step.reply(), step.request(), Code::CONTENT);
    step.response();
}

#[test]
fn td_coap_core_14_get_with_several_uri_query_options_con() {
    let mut p = Plugtest::new();
    let request = Request::builder(Code::GET)
        .path("query")
        .query("first=1")
        .query("second=2")
        .query("third=3")
        .build()
        .unwrap();
    let step = p.send(request, s(5));
    check_request(step.request(), CON, Code::GET, &["query"]);
    let queries: Vec<&str> = step.request().options.uri_query().unwrap().collect();
    assert_eq!(queries, ["first=1", "second=2", "third=3"]);
    check_piggybacked(step.reply(), step.request(), Code::CONTENT);
    assert_eq!(step.response().payload, "first=1&second=2&third=3");
}

// ----- TD_COAP_CORE_15–16: lossy context --------------------------------------------------------

/// Drops the `n`-th (from 0) datagram for which `which` holds.
fn drop_nth(n: usize, which: impl Fn(&Wire) -> bool + 'static) -> sim::DropRule {
    let mut seen = 0;
    Box::new(move |w| {
        if which(w) {
            seen += 1;
            seen == n + 1
        } else {
            false
        }
    })
}

#[test]
fn td_coap_core_15_get_piggybacked_in_a_lossy_context() {
    // A dropped request: the client retransmits it.
    let mut p = Plugtest::new();
    p.sim.drop_rule = Some(drop_nth(0, |w| w.is(CON) && w.message.code == Code::GET));
    let step = p.send(Request::get("test").unwrap(), s(10));
    assert!(step.to_server[0].dropped);
    assert_eq!(step.to_server.len(), 2, "one retransmission");
    assert_eq!(
        step.to_server[1].message, step.to_server[0].message,
        "the same CMID and CTOK"
    );
    check_piggybacked(step.reply(), step.request(), Code::CONTENT);
    assert_eq!(step.response().code, Code::CONTENT);

    // A dropped response: the retransmitted request gets the same response again, and the
    // server application handles the request once.
    let mut p = Plugtest::new();
    p.sim.drop_rule = Some(drop_nth(0, |w| {
        w.is(ACK) && w.message.code == Code::CONTENT
    }));
    let step = p.send(Request::get("test").unwrap(), s(10));
    assert_eq!(step.to_server.len(), 2, "retransmitted");
    assert_eq!(step.to_client.len(), 2);
    assert!(step.to_client[0].dropped && !step.to_client[1].dropped);
    assert_eq!(step.to_client[0].message, step.to_client[1].message);
    check_piggybacked(&step.to_client[1].message, step.request(), Code::CONTENT);
    assert_eq!(p.sim.events(p.server).len(), 1, "processed once");
    assert_eq!(step.response().code, Code::CONTENT);
}

fn separate_in_a_lossy_context(rule: sim::DropRule) -> (Plugtest, Step) {
    let mut p = Plugtest::new();
    p.sim.drop_rule = Some(rule);
    let step = p.send(Request::get("separate").unwrap(), s(30));
    assert_eq!(step.response().code, Code::CONTENT);
    assert_eq!(p.sim.events(p.server).len(), 1, "processed once");
    (p, step)
}

#[test]
fn td_coap_core_16_get_separate_in_a_lossy_context() {
    // A dropped request: retransmitted.
    let (_, step) =
        separate_in_a_lossy_context(drop_nth(0, |w| w.is(CON) && w.message.code == Code::GET));
    assert!(step.to_server[0].dropped);
    assert_eq!(step.to_server[1].message, step.to_server[0].message);

    // A dropped response: the server retransmits it.
    let (_, step) = separate_in_a_lossy_context(drop_nth(0, |w| {
        w.is(CON) && w.message.code == Code::CONTENT
    }));
    let responses: Vec<&Wire> = step.to_client.iter().filter(|w| w.is(CON)).collect();
    assert_eq!(responses.len(), 2);
    assert!(responses[0].dropped);
    assert_eq!(responses[0].message, responses[1].message, "the same SMID");

    // A dropped response ACK and its retransmission: the server retransmits twice; the
    // client acknowledges each copy and delivers the response once.
    let (p, step) = separate_in_a_lossy_context(Box::new({
        let mut dropped = 0;
        move |w: &Wire| {
            let ack_of_response = w.is(ACK) && w.from.ip().to_string() == "192.0.2.1";
            let drop = ack_of_response && dropped < 2;
            dropped += usize::from(drop);
            drop
        }
    }));
    let responses = step.to_client.iter().filter(|w| w.is(CON)).count();
    assert_eq!(responses, 3, "sent, then retransmitted twice");
    let acks: Vec<&Wire> = step.to_server.iter().filter(|w| w.is(ACK)).collect();
    assert_eq!(acks.len(), 3);
    let delivered = p
        .sim
        .events(p.client)
        .iter()
        .filter(|e| matches!(e, Event::Response { .. }))
        .count();
    assert_eq!(delivered, 1);

    // Dropped request ACKs: the request is retransmitted until the CON response arrives,
    // which also stops the retransmission.
    let (mut p, step) = separate_in_a_lossy_context(Box::new(|w: &Wire| {
        w.is(ACK) && w.message.code.is_empty() && w.from.ip().to_string() == "192.0.2.2"
    }));
    let requests: Vec<&Wire> = step.to_server.iter().filter(|w| w.is(CON)).collect();
    assert!(requests.len() >= 2, "retransmitted while the ACK is lost");
    let response = step.to_client.iter().find(|w| w.is(CON)).unwrap();
    let arrival = response.at + Duration::from_millis(10);
    assert!(
        requests.iter().all(|r| r.at < arrival),
        "no retransmission after the CON response arrived"
    );
    assert_eq!(p.sim.endpoint(p.client).in_flight_len(), 0);
}

// ----- TD_COAP_CORE_17: separate response, NON ---------------------------------------------------

#[test]
fn td_coap_core_17_get_separate_response_non() {
    let mut p = Plugtest::new();
    let step = p.send(Request::get("separate").unwrap().non_confirmable(), s(10));
    let request = step.request();
    assert_eq!((request.mtype, request.code), (NON, Code::GET));
    assert!(
        !step.to_client.iter().any(|w| w.is(ACK)),
        "the server does not send an empty ACK"
    );
    let reply = step.reply();
    assert!(step.to_client[0].at >= step.to_server[0].at + Duration::from_secs(2));
    check_non_response(reply, request, Code::CONTENT);
    assert!(content_format(reply).is_some() && !reply.payload.is_empty());
    assert_eq!(step.response().code, Code::CONTENT);
}

// ----- TD_COAP_CORE_18–19: Location-Path and Location-Query -------------------------------------

#[test]
fn td_coap_core_18_post_with_several_location_path_options_con() {
    let mut p = Plugtest::new();
    let step = p.send(put_or_post(Code::POST, true), s(5));
    let request = step.request();
    assert_eq!((request.mtype, request.code), (CON, Code::POST));
    assert!(!request.payload.is_empty() && content_format(request).is_some());
    let reply = step.reply();
    check_piggybacked(reply, request, Code::CREATED);
    let location: Vec<&str> = reply.options.location_path().unwrap().collect();
    assert_eq!(location, ["location1", "location2", "location3"]);
    assert!(location.iter().all(|s| !s.contains('/')));
    let response = step.response();
    assert_eq!(response.options.location_path().unwrap().count(), 3);
}

#[test]
fn td_coap_core_19_post_with_several_location_query_options_con() {
    let mut p = Plugtest::new();
    let request = Request::builder(Code::POST)
        .path("location-query")
        .options(|o| o.push_content_format(ContentFormat::TEXT_PLAIN))
        .payload("x")
        .build()
        .unwrap();
    let step = p.send(request, s(5));
    check_request(step.request(), CON, Code::POST, &["location-query"]);
    let reply = step.reply();
    check_piggybacked(reply, step.request(), Code::CREATED);
    let query: Vec<&str> = reply.options.location_query().unwrap().collect();
    assert_eq!(query, ["first=1", "second=2"]);
    assert!(query.iter().all(|q| !q.contains('?') && !q.contains('&')));
    step.response();
}

// ----- TD_COAP_CORE_20–23: Accept, ETag, If-Match, If-None-Match --------------------------------

fn get_accept(format: ContentFormat) -> Request {
    Request::builder(Code::GET)
        .path("multi-format")
        .options(|o| o.push_accept(format))
        .build()
        .unwrap()
}

#[test]
fn td_coap_core_20_get_with_accept_con() {
    let mut p = Plugtest::new();
    let text = p.send(get_accept(ContentFormat::TEXT_PLAIN), s(5));
    check_request(text.request(), CON, Code::GET, &["multi-format"]);
    assert_eq!(
        text.request().options.accept().unwrap(),
        Some(ContentFormat::TEXT_PLAIN)
    );
    check_piggybacked(text.reply(), text.request(), Code::CONTENT);
    assert_eq!(
        content_format(text.reply()),
        Some(ContentFormat::TEXT_PLAIN)
    );

    let xml = p.send(get_accept(ContentFormat::XML), s(5));
    check_request(xml.request(), CON, Code::GET, &["multi-format"]);
    assert_ne!(
        xml.request().message_id,
        text.request().message_id,
        "CMID2 ≠ CMID"
    );
    assert_eq!(
        xml.request().options.accept().unwrap(),
        Some(ContentFormat::XML)
    );
    check_piggybacked(xml.reply(), xml.request(), Code::CONTENT);
    assert_eq!(content_format(xml.reply()), Some(ContentFormat::XML));
    assert_eq!(xml.response().payload, "<multi-format/>");
}

fn etag_of(m: &Message) -> ETag {
    m.options.etags().unwrap().next().expect("an ETag option")
}

fn get_validate(etag: Option<ETag>) -> Request {
    Request::builder(Code::GET)
        .path("validate")
        .options(|o| match etag {
            Some(e) => o.push_etag(e),
            None => o,
        })
        .build()
        .unwrap()
}

fn put_validate(payload: &str, if_match: Option<ETag>) -> Request {
    Request::builder(Code::PUT)
        .path("validate")
        .options(|o| {
            let o = o.push_content_format(ContentFormat::TEXT_PLAIN);
            match if_match {
                Some(e) => o.push_if_match(IfMatch::ETag(e)),
                None => o,
            }
        })
        .payload(payload.to_owned())
        .build()
        .unwrap()
}

#[test]
fn td_coap_core_21_get_with_etag_con() {
    let mut p = Plugtest::new();
    let first = p.send(get_validate(None), s(5));
    assert_eq!(
        first.request().options.etags().unwrap().count(),
        0,
        "no ETag option"
    );
    check_piggybacked(first.reply(), first.request(), Code::CONTENT);
    assert!(!first.reply().payload.is_empty());
    let etag1 = etag_of(first.reply());

    let valid = p.send(get_validate(Some(etag1)), s(5));
    assert_ne!(valid.request().message_id, first.request().message_id);
    assert_eq!(etag_of(valid.request()), etag1);
    check_piggybacked(valid.reply(), valid.request(), Code::VALID);
    assert_eq!(etag_of(valid.reply()), etag1);
    assert!(valid.reply().payload.is_empty());

    // The resource is updated from a CoAP client, then validated again.
    assert_eq!(
        p.send(put_validate("second", None), s(5)).response().code,
        Code::CHANGED
    );
    let changed = p.send(get_validate(Some(etag1)), s(5));
    check_piggybacked(changed.reply(), changed.request(), Code::CONTENT);
    assert_ne!(etag_of(changed.reply()), etag1);
    assert_eq!(changed.reply().payload, "second");
    assert_ne!(changed.reply().payload, first.reply().payload);
}

#[test]
fn td_coap_core_22_get_with_etag_and_put_with_if_match_con() {
    let mut p = Plugtest::new();
    let get = p.send(get_validate(None), s(5));
    check_piggybacked(get.reply(), get.request(), Code::CONTENT);
    let etag1 = etag_of(get.reply());

    let update = p.send(put_validate("atomic", Some(etag1)), s(5));
    assert_eq!(update.request().code, Code::PUT);
    assert!(
        update
            .request()
            .options
            .if_match()
            .unwrap()
            .any(|c| c == IfMatch::ETag(etag1))
    );
    check_piggybacked(update.reply(), update.request(), Code::CHANGED);

    let get2 = p.send(get_validate(None), s(5));
    check_piggybacked(get2.reply(), get2.request(), Code::CONTENT);
    let etag2 = etag_of(get2.reply());
    assert_ne!(etag2, etag1);
    assert_eq!(get2.reply().payload, "atomic");

    // Someone else changes it; the update conditional on ETAG2 fails.
    let other = p.send(put_validate("concurrent", None), s(5));
    check_piggybacked(other.reply(), other.request(), Code::CHANGED);
    let stale = p.send(put_validate("stale", Some(etag2)), s(5));
    check_piggybacked(stale.reply(), stale.request(), Code::PRECONDITION_FAILED);
    assert_eq!(stale.response().code, Code::PRECONDITION_FAILED);
    let mids: std::collections::BTreeSet<u16> = [&get, &update, &get2, &other, &stale]
        .iter()
        .map(|s| s.request().message_id)
        .collect();
    assert_eq!(mids.len(), 5, "a fresh Message ID per request");
    let check = p.send(get_validate(None), s(5));
    assert_eq!(
        check.reply().payload,
        "concurrent",
        "the server did not update"
    );
}

#[test]
fn td_coap_core_23_put_with_if_none_match_con() {
    let mut p = Plugtest::new();
    let create = || {
        Request::builder(Code::PUT)
            .path("create1")
            .options(|o| o.push_if_none_match())
            .payload("new")
            .build()
            .unwrap()
    };
    let first = p.send(create(), s(5));
    check_request(first.request(), CON, Code::PUT, &["create1"]);
    assert!(first.request().options.if_none_match().unwrap());
    check_piggybacked(first.reply(), first.request(), Code::CREATED);

    let second = p.send(create(), s(5));
    assert_ne!(second.request().message_id, first.request().message_id);
    check_piggybacked(second.reply(), second.request(), Code::PRECONDITION_FAILED);
    assert_eq!(second.response().code, Code::PRECONDITION_FAILED);
}

// ----- TD_COAP_CORE_31: CoAP ping ---------------------------------------------------------------

fn encoded_len(m: &Message) -> usize {
    m.encoded_len()
}

#[test]
fn td_coap_core_31_ping_con() {
    let mut p = Plugtest::new();
    let from = p.sim.wire.len();
    let id = p.sim.ping(p.client, p.server);
    p.sim.run_for(s(5), 1_000);
    let step = p.step(from, id);
    let ping = step.request();
    assert_eq!((ping.mtype, ping.code), (CON, Code::EMPTY));
    assert_eq!(encoded_len(ping), 4, "four bytes");
    assert!(ping.token.is_empty() && ping.payload.is_empty());
    let rst = step.reply();
    assert_eq!((rst.mtype, rst.code), (RST, Code::EMPTY));
    assert_eq!(rst.message_id, ping.message_id, "Message ID = CMID");
    assert_eq!(encoded_len(rst), 4);
    assert_eq!(
        step.outcome,
        Some(Event::Pong { id }),
        "the ping was successful"
    );
    assert!(p.sim.events(p.server).is_empty());
}

#[test]
fn plugtest_application_answers_unknown_paths_with_4_04() {
    let mut p = Plugtest::new();
    let step = p.send(Request::get("nowhere").unwrap(), s(5));
    assert_eq!(step.response().code, Code::NOT_FOUND);
}
