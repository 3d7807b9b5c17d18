//! The ETSI CoAP plugtest block-wise tests (td-coap4 block.yml: TD_COAP_BLOCK_01–06), each
//! run between a client endpoint and a server endpoint through the network simulation. The
//! client application makes one request and gets one whole response; the server application
//! sees each request once, with its whole body, and answers with the whole representation:
//! the endpoints split, number and collect the blocks. Each test checks the description's
//! steps on the datagrams in the wire log.

mod common;
mod sim;

use std::cell::RefCell;
use std::rc::Rc;

use bytes::Bytes;
use common::body;
use core::time::Duration;
use sim::{NetConfig, Sim, Wire};
use tern_coap::endpoint::{EndpointConfig, Event, Request, RequestId, Response};
use tern_coap::value::{Block, ContentFormat};
use tern_coap::{Code, MessageType};

/// The plugtest server's resources.
#[derive(Default)]
struct Resources {
    /// What the application received: method, path and body length, in order.
    seen: Vec<(Code, String, usize)>,
    large_update: Bytes,
    created: Vec<Bytes>,
}

const LARGE: usize = 2_500;

impl Resources {
    fn answer(&mut self, request: &Request) -> Response {
        let path: Vec<&str> = request.options.uri_path().unwrap().collect();
        self.seen
            .push((request.method, path.join("/"), request.payload.len()));
        let text = |code, payload: Bytes| {
            Response::builder(code)
                .options(|o| o.push_content_format(ContentFormat::TEXT_PLAIN))
                .payload(payload)
                .build()
                .unwrap()
        };
        match (request.method, path.as_slice()) {
            (Code::GET, ["large"]) => text(Code::CONTENT, body(LARGE, 0)),
            (Code::PUT, ["large-update"]) => {
                self.large_update = request.payload.clone();
                Response::new(Code::CHANGED)
            }
            (Code::GET, ["large-update"]) => text(Code::CONTENT, self.large_update.clone()),
            (Code::POST, ["large-create"]) => {
                self.created.push(request.payload.clone());
                let ps = format!("{}", self.created.len());
                Response::builder(Code::CREATED)
                    .options(|o| {
                        o.push_location_path("large-create")
                            .and_then(|o| o.push_location_path(&ps))
                            .unwrap()
                    })
                    .build()
                    .unwrap()
            }
            (Code::GET, ["large-create", ps]) => {
                let i: usize = ps.parse().unwrap();
                text(Code::CONTENT, self.created[i - 1].clone())
            }
            // The answer is as large as the request: its bytes, reversed.
            (Code::POST, ["large-post"]) => {
                let mut reversed = request.payload.to_vec();
                reversed.reverse();
                text(Code::CHANGED, reversed.into())
            }
            _ => Response::new(Code::NOT_FOUND),
        }
    }
}

struct Plugtest {
    sim: Sim,
    client: usize,
    server: usize,
    resources: Rc<RefCell<Resources>>,
}

/// The configuration with block size exponent `szx`.
fn with_szx(szx: u8) -> EndpointConfig {
    EndpointConfig {
        default_block_szx: szx,
        ..EndpointConfig::default()
    }
}

impl Plugtest {
    fn new(client_szx: u8, server_szx: u8) -> Self {
        let (mut sim, client, server) = Sim::client_server(
            7959,
            NetConfig::perfect(),
            with_szx(client_szx),
            with_szx(server_szx),
        );
        let resources = Rc::new(RefCell::new(Resources::default()));
        let r = resources.clone();
        sim.set_responder(
            server,
            Box::new(move |_, req| Some((Duration::ZERO, r.borrow_mut().answer(req)))),
        );
        Plugtest {
            sim,
            client,
            server,
            resources,
        }
    }

    /// The client sends `request`; the network runs until all is quiet. Returns the
    /// datagrams each way and the client's outcome.
    fn send(&mut self, request: Request) -> (Vec<Wire>, Vec<Wire>, Event) {
        let from = self.sim.wire.len();
        let id = self.sim.request(self.client, self.server, request);
        self.sim.run_for(Duration::from_secs(60), 10_000);
        let to_server = self.sim.sent_since(from, self.client, self.server);
        let to_client = self.sim.sent_since(from, self.server, self.client);
        (to_server, to_client, self.outcome(id))
    }

    fn outcome(&self, id: RequestId) -> Event {
        let mut mine = self.sim.outcomes(self.client, id).into_iter();
        let outcome = mine.next().expect("an outcome");
        assert!(mine.next().is_none(), "one outcome");
        outcome
    }
}

fn block1(w: &Wire) -> Option<Block> {
    w.message.options.block1(false).unwrap()
}

fn block2(w: &Wire) -> Option<Block> {
    w.message.options.block2(false).unwrap()
}

fn b(num: u32, more: bool, szx: u8) -> Option<Block> {
    Block::new(num, more, szx)
}

/// The response of an outcome.
fn response(e: Event) -> Response {
    match e {
        Event::Response { response, .. } => response,
        other => panic!("expected a response, got {other:?}"),
    }
}

/// Checks steps 2–7 of BLOCK_01 and _06: the client asks for block 0 at `des`, the server
/// answers at `act` ≤ `des`, the client asks for each further block at `act`, all full but
/// the last, which has M = 0.
fn check_block2_transfer(to_server: &[Wire], to_client: &[Wire], des: u8, act: u8, len: usize) {
    let size = 16usize << act;
    let blocks = len.div_ceil(size);
    assert_eq!(to_server.len(), blocks, "one request per block");
    assert_eq!(to_client.len(), blocks, "one response per block");
    assert_eq!(block2(&to_server[0]), b(0, false, des), "step 2");
    for (i, (req, resp)) in to_server.iter().zip(to_client).enumerate() {
        assert_eq!(req.message.code, Code::GET);
        assert_eq!(resp.message.code, Code::CONTENT);
        if i > 0 {
            assert_eq!(block2(req), b(i as u32, false, act), "step 4/6: block {i}");
        }
        let last = i + 1 == blocks;
        assert_eq!(
            block2(resp),
            b(i as u32, !last, act),
            "step 3/5/7: block {i}"
        );
        if last {
            assert!(resp.message.payload.len() <= size, "RUNT");
        } else {
            assert_eq!(resp.message.payload.len(), size, "FULL");
        }
    }
}

#[test]
fn td_coap_block_01_get_early_negotiation() {
    // The client wants 1,024-byte blocks (DES_SZX 6); the server serves 256 (ACT_SZX 4).
    let mut p = Plugtest::new(6, 4);
    let get = Request::builder(Code::GET)
        .path("large")
        .options(|o| o.push_block2(Block::new(0, false, 6).unwrap()))
        .build()
        .unwrap();
    let (to_server, to_client, outcome) = p.send(get);
    check_block2_transfer(&to_server, &to_client, 6, 4, LARGE);
    // Verify: the client displays the whole representation, no gaps, right order.
    let r = response(outcome);
    assert_eq!((r.code, r.payload), (Code::CONTENT, body(LARGE, 0)));
    assert_eq!(r.options.block2(false).unwrap(), None);
    assert_eq!(
        r.options.content_format().unwrap(),
        Some(ContentFormat::TEXT_PLAIN)
    );
    // The application answered once; the endpoint served the other blocks.
    assert_eq!(p.resources.borrow().seen.len(), 1);
}

#[test]
fn td_coap_block_02_get_late_negotiation() {
    // The client does not know /large is large; the server sends 1,024-byte blocks
    // (DES_SZX 6) and the client switches to 256 (ACT_SZX 4): its next request is block
    // k = 2^(6-4) = 4.
    let mut p = Plugtest::new(4, 6);
    let (to_server, to_client, outcome) = p.send(Request::get("large").unwrap());
    assert_eq!(block2(&to_server[0]), None, "step 2: no Block2");
    assert_eq!(block2(&to_client[0]), b(0, true, 6), "step 3");
    assert_eq!(to_client[0].message.payload.len(), 1024, "FULL");
    assert_eq!(block2(&to_server[1]), b(4, false, 4), "step 4: k = 4");
    let mut num = 4;
    for (req, resp) in to_server[1..].iter().zip(&to_client[1..]) {
        assert_eq!(block2(req), b(num, false, 4), "step 6");
        let last = (num as usize + 1) * 256 >= LARGE;
        assert_eq!(block2(resp), b(num, !last, 4), "step 5/7/9");
        num += 1;
    }
    assert_eq!(num as usize, LARGE.div_ceil(256));
    let r = response(outcome);
    assert_eq!(r.payload, body(LARGE, 0));
}

#[test]
fn td_coap_block_03_put_large_update() {
    // The client sends 1,024-byte blocks (DES_SZX 6); the (atomic) server prefers 256, so
    // after block 0 the client goes on at block 2^(6-4) = 4 of 256 bytes.
    let mut p = Plugtest::new(6, 4);
    let update = body(3_000, 0x5a);
    let (to_server, to_client, outcome) =
        p.send(Request::put("large-update", update.clone()).unwrap());
    assert_eq!(block1(&to_server[0]), b(0, true, 6), "step 2");
    assert_eq!(to_server[0].message.payload.len(), 1024, "FULL");
    assert_eq!(to_server[0].message.options.size1().unwrap(), Some(3_000));
    assert_eq!(to_client[0].message.code, Code::CONTINUE, "step 3: atomic");
    assert_eq!(block1(&to_client[0]), b(0, true, 4), "step 3");
    let blocks: Vec<Block> = to_server.iter().map(|w| block1(w).unwrap()).collect();
    assert_eq!(
        blocks[1],
        Block::new(4, true, 4).unwrap(),
        "step 4: resumes at block 4"
    );
    let last = *blocks.last().unwrap();
    assert_eq!((last.more(), last.szx()), (false, 4), "step 6");
    assert_eq!(last.num() as usize, 3_000usize.div_ceil(256) - 1);
    for (req, resp) in to_server.iter().zip(&to_client).skip(1) {
        let sent = block1(req).unwrap();
        let echoed = block1(resp).unwrap();
        assert_eq!(echoed.num(), sent.num(), "step 5/7: NUM echoed");
        if sent.more() {
            assert_eq!(resp.message.code, Code::CONTINUE);
            assert!(echoed.more(), "atomic: M = 1");
        }
    }
    let final_response = to_client.last().unwrap();
    assert_eq!(final_response.message.code, Code::CHANGED, "step 7");
    assert_eq!(block1(final_response), Some(last));
    // Verify: the server has the complete resource, and its application saw one PUT.
    let r = p.resources.borrow();
    assert_eq!(r.large_update, update);
    assert_eq!(r.seen, [(Code::PUT, "large-update".to_owned(), 3_000)]);
    drop(r);
    assert_eq!(response(outcome).code, Code::CHANGED);
}

#[test]
fn td_coap_block_04_post_large_create() {
    let mut p = Plugtest::new(6, 6);
    let created = body(2_200, 0x33);
    let (to_server, to_client, outcome) =
        p.send(Request::post("large-create", created.clone()).unwrap());
    let blocks: Vec<Block> = to_server.iter().map(|w| block1(w).unwrap()).collect();
    assert_eq!(
        blocks,
        [b(0, true, 6), b(1, true, 6), b(2, false, 6)].map(Option::unwrap)
    );
    for (resp, sent) in to_client.iter().zip(&blocks) {
        if sent.more() {
            // Steps 3 and 5: 2.31 with the block's NUM, M = 1 (atomic), SZX at most DES.
            assert_eq!(resp.message.code, Code::CONTINUE);
            assert_eq!(block1(resp), b(sent.num(), true, 6));
        }
    }
    // Step 7: 2.01 with the last block's Block1 and two Location-Path options.
    let last = to_client.last().unwrap();
    assert_eq!(last.message.code, Code::CREATED);
    assert_eq!(block1(last), b(2, false, 6));
    let location: Vec<&str> = last.message.options.location_path().unwrap().collect();
    assert_eq!(location.len(), 2);
    assert_eq!(location[0], "large-create");
    assert!(!location.iter().any(|s| s.contains('/')));
    // Verify: the client displays the response, the server has the new resource.
    let r = response(outcome);
    assert_eq!(r.code, Code::CREATED);
    let ps = location[1].to_owned();
    assert_eq!(p.resources.borrow().created, std::slice::from_ref(&created));
    // Optional: GET the created resource (Uri-Path copied from Location-Path); it comes
    // back whole, block-wise.
    let get = Request::builder(Code::GET)
        .path(&format!("large-create/{ps}"))
        .build()
        .unwrap();
    let (to_server, _, outcome) = p.send(get);
    assert_eq!(to_server.len(), 3, "three blocks of 1,024");
    assert_eq!(response(outcome).payload, created);
}

#[test]
fn td_coap_block_05_post_with_two_way_blockwise_transfer() {
    // The client sends and asks for 256-byte blocks; the server answers in 1,024-byte ones
    // (rDES_SZX 6), so the client asks next for block k = 2^(6-4) = 4 of 256 (rACT_SZX 4).
    let mut p = Plugtest::new(4, 6);
    let len = 3_000;
    let sent = body(len, 0x77);
    let (to_server, to_client, outcome) =
        p.send(Request::post("large-post", sent.clone()).unwrap());
    // Steps 2–6: the body in blocks of 256 bytes, each answered 2.31 with its Block1.
    let up = len.div_ceil(256);
    let upload = &to_server[..up];
    for (i, (w, resp)) in upload.iter().zip(&to_client).enumerate() {
        let more = i + 1 < up;
        assert_eq!(block1(w), b(i as u32, more, 4));
        assert_eq!(block2(w), None);
        if more {
            assert_eq!(resp.message.code, Code::CONTINUE);
            assert_eq!(block1(resp), b(i as u32, true, 4));
        }
    }
    // Step 7: 2.04 with Block1 (the last, M = 0) and Block2 0/1/rDES, full.
    let turn = &to_client[up - 1];
    assert_eq!(turn.message.code, Code::CHANGED);
    assert_eq!(block1(turn), b(up as u32 - 1, false, 4));
    assert_eq!(block2(turn), b(0, true, 6));
    assert_eq!(turn.message.payload.len(), 1024, "FULL");
    // Steps 8–12: POSTs with the same options but Block1, without payload, with Block2
    // k = 4, 5, ... at rACT_SZX, answered 2.04 with Block2.
    let download = &to_server[up..];
    let down = (len - 1024).div_ceil(256);
    assert_eq!(download.len(), down);
    for (i, (w, resp)) in download.iter().zip(&to_client[up..]).enumerate() {
        let num = 4 + i as u32;
        assert_eq!(w.message.code, Code::POST);
        assert_eq!(block1(w), None);
        assert!(w.message.payload.is_empty(), "without payload");
        assert_eq!(block2(w), b(num, false, 4), "step 8/10/12");
        assert_eq!(
            w.message.options.uri_path().unwrap().collect::<Vec<_>>(),
            ["large-post"]
        );
        assert_eq!(resp.message.code, Code::CHANGED);
        assert_eq!(block2(resp), b(num, i + 1 < down, 4), "step 9/11/13");
    }
    // Verify: the client displays the whole response; the server application saw one POST.
    let mut reversed = sent.to_vec();
    reversed.reverse();
    let r = response(outcome);
    assert_eq!((r.code, &r.payload[..]), (Code::CHANGED, &reversed[..]));
    assert_eq!(r.options.block1(false).unwrap(), None);
    assert_eq!(
        p.resources.borrow().seen,
        [(Code::POST, "large-post".to_owned(), len)]
    );
}

#[test]
fn td_coap_block_06_get_early_negotiation_16_byte_blocks() {
    let mut p = Plugtest::new(6, 6);
    let get = Request::builder(Code::GET)
        .path("large")
        .options(|o| o.push_block2(Block::new(0, false, 0).unwrap()))
        .build()
        .unwrap();
    let (to_server, to_client, outcome) = p.send(get);
    check_block2_transfer(&to_server, &to_client, 0, 0, LARGE);
    assert!(to_server.iter().all(|w| w.is(MessageType::Confirmable)));
    assert_eq!(response(outcome).payload, body(LARGE, 0));
}
