//! Scenario tests of block-wise transfers (RFC 7959) in the endpoint, one per rule or limit:
//! the test plays the peer with hand-built datagrams on a virtual clock, or runs two
//! endpoints through the network simulation.

mod common;
mod sim;

use core::time::Duration;

use bytes::{Bytes, BytesMut};
use common::{ACK, CON, NON, body, events, feed, peer, sent, t, the_request, wire};
use sim::{NetConfig, Sim};
use tern_coap::endpoint::block::{Block1Error, Block2Error};
use tern_coap::endpoint::{Endpoint, EndpointConfig, Event, Request, RequestError, Response};
use tern_coap::option::{OptionNumber, Options, OptionsBuilder};
use tern_coap::value::{Block, ETag};
use tern_coap::{Code, Message, MessageType, Token};

fn block(num: u32, more: bool, szx: u8) -> Block {
    Block::new(num, more, szx).unwrap()
}

/// A piggybacked response to `request` with these options and payload.
fn ack(request: &Message, code: Code, options: OptionsBuilder, payload: Bytes) -> Message {
    Message {
        mtype: ACK,
        code,
        message_id: request.message_id,
        token: request.token,
        options: options.build().unwrap(),
        payload,
    }
}

/// A request from the peer.
fn request(
    mtype: MessageType,
    code: Code,
    mid: u16,
    options: OptionsBuilder,
    payload: Bytes,
) -> Message {
    Message {
        mtype,
        code,
        message_id: mid,
        token: Token::new(&[mid as u8, 0x42]).unwrap(),
        options: options.push(OptionNumber::URI_PATH, "r").build().unwrap(),
        payload,
    }
}

// ----- the client -------------------------------------------------------------------------------

#[test]
fn client_refuses_a_response_body_over_max_reassembly_bytes() {
    let config = EndpointConfig {
        max_reassembly_bytes: 2_000,
        ..EndpointConfig::default()
    };
    // Announced by Size2: refused at the first block.
    let mut ep = Endpoint::new(config.clone(), 1);
    let id = ep
        .request(t(0), peer(), Request::get("r").unwrap())
        .unwrap();
    let get = sent(&mut ep).remove(0);
    let first = Options::builder()
        .push_block2(block(0, true, 6))
        .push_size2(5_000);
    feed(
        &mut ep,
        t(10),
        &ack(&get, Code::CONTENT, first, body(1024, 0)),
    );
    assert_eq!(
        events(&mut ep),
        [Event::RequestFailed {
            id,
            error: RequestError::Block2(Block2Error::TooLarge {
                size: 5_000,
                limit: 2_000
            })
        }]
    );
    // Not announced: refused when the bytes pass the limit.
    let mut ep = Endpoint::new(config, 2);
    let id = ep
        .request(t(0), peer(), Request::get("r").unwrap())
        .unwrap();
    let mut get = sent(&mut ep).remove(0);
    for num in 0..2 {
        let options = Options::builder().push_block2(block(num, true, 6));
        feed(
            &mut ep,
            t(10),
            &ack(&get, Code::CONTENT, options, body(1024, 0)),
        );
        if num == 0 {
            get = sent(&mut ep).remove(0);
            assert_eq!(get.options.block2(false).unwrap(), Some(block(1, false, 6)));
        }
    }
    assert!(matches!(
        events(&mut ep)[..],
        [Event::RequestFailed {
            id: got,
            error: RequestError::Block2(Block2Error::TooLarge { .. })
        }] if got == id
    ));
    assert_eq!(ep.requests_len(), 0);
}

#[test]
fn rfc7959_2_4_a_get_starts_over_when_the_etag_changes_then_gives_up() {
    let mut ep = Endpoint::new(EndpointConfig::default(), 3);
    let id = ep
        .request(t(0), peer(), Request::get("r").unwrap())
        .unwrap();
    let mut get = sent(&mut ep).remove(0);
    let mut starts = 0;
    for round in 0..4u8 {
        // Block 0 with one ETag, then block 1 with another: the representation changed.
        let tag = ETag::new(&[round]).unwrap();
        let first = Options::builder()
            .push_etag(tag)
            .push_block2(block(0, true, 6));
        feed(
            &mut ep,
            t(10),
            &ack(&get, Code::CONTENT, first, body(1024, 0)),
        );
        get = sent(&mut ep).remove(0);
        let other = ETag::new(&[round, 1]).unwrap();
        let second = Options::builder()
            .push_etag(other)
            .push_block2(block(1, false, 6));
        feed(
            &mut ep,
            t(20),
            &ack(&get, Code::CONTENT, second, body(10, 0)),
        );
        let out = sent(&mut ep);
        if let Some(again) = out.first() {
            // Starts over from block 0, asking for the size in use.
            assert_eq!(
                again.options.block2(false).unwrap(),
                Some(block(0, false, 6))
            );
            starts += 1;
            get = again.clone();
        }
    }
    assert_eq!(starts, 3);
    assert_eq!(
        events(&mut ep),
        [Event::RequestFailed {
            id,
            error: RequestError::Block2(Block2Error::EtagChanged)
        }]
    );
}

#[test]
fn a_request_that_names_a_later_block_is_answered_as_it_is() {
    let mut ep = Endpoint::new(EndpointConfig::default(), 4);
    let get = Request::builder(Code::GET)
        .path("r")
        .options(|o| o.push_block2(block(2, false, 4)))
        .build()
        .unwrap();
    let id = ep.request(t(0), peer(), get).unwrap();
    let get = sent(&mut ep).remove(0);
    let options = Options::builder().push_block2(block(2, true, 4));
    feed(
        &mut ep,
        t(10),
        &ack(&get, Code::CONTENT, options, body(256, 0)),
    );
    assert!(sent(&mut ep).is_empty(), "no follow-up");
    let [Event::Response { id: got, response }] = &events(&mut ep)[..] else {
        panic!()
    };
    assert_eq!(*got, id);
    assert_eq!(
        response.options.block2(false).unwrap(),
        Some(block(2, true, 4))
    );
    assert_eq!(response.payload.len(), 256);
}

#[test]
fn rfc7959_2_9_3_a_4_13_the_body_cannot_satisfy_is_the_response() {
    let mut ep = Endpoint::new(EndpointConfig::default(), 5);
    let id = ep
        .request(t(0), peer(), Request::put("r", body(3_000, 0)).unwrap())
        .unwrap();
    let first = sent(&mut ep).remove(0);
    assert_eq!(first.options.size1().unwrap(), Some(3_000));
    let options = Options::builder().push_size1(1_000);
    feed(
        &mut ep,
        t(10),
        &ack(
            &first,
            Code::REQUEST_ENTITY_TOO_LARGE,
            options,
            Bytes::new(),
        ),
    );
    let [Event::Response { id: got, response }] = &events(&mut ep)[..] else {
        panic!()
    };
    assert_eq!((*got, response.code), (id, Code::REQUEST_ENTITY_TOO_LARGE));
}

#[test]
fn rfc7959_2_9_3_a_4_13_with_a_smaller_block1_restarts_with_smaller_blocks() {
    let mut ep = Endpoint::new(EndpointConfig::default(), 6);
    ep.request(t(0), peer(), Request::put("r", body(3_000, 0)).unwrap())
        .unwrap();
    let first = sent(&mut ep).remove(0);
    assert_eq!(
        first.options.block1(false).unwrap(),
        Some(block(0, true, 6))
    );
    let options = Options::builder().push_block1(block(0, true, 4));
    feed(
        &mut ep,
        t(10),
        &ack(
            &first,
            Code::REQUEST_ENTITY_TOO_LARGE,
            options,
            Bytes::new(),
        ),
    );
    let again = sent(&mut ep).remove(0);
    assert_eq!(
        again.options.block1(false).unwrap(),
        Some(block(0, true, 4))
    );
    assert_eq!(again.payload, body(3_000, 0).slice(..256));
}

#[test]
fn rfc7959_2_3_a_server_acknowledging_another_block_fails_the_request() {
    let mut ep = Endpoint::new(EndpointConfig::default(), 7);
    let id = ep
        .request(t(0), peer(), Request::put("r", body(3_000, 0)).unwrap())
        .unwrap();
    let first = sent(&mut ep).remove(0);
    let options = Options::builder().push_block1(block(5, true, 6));
    feed(
        &mut ep,
        t(10),
        &ack(&first, Code::CONTINUE, options, Bytes::new()),
    );
    assert_eq!(
        events(&mut ep),
        [Event::RequestFailed {
            id,
            error: RequestError::Block1(Block1Error::UnexpectedBlock {
                sent: 0,
                received: 5
            })
        }]
    );
}

#[test]
fn each_block_goes_in_a_request_of_its_own_with_a_new_token() {
    let mut ep = Endpoint::new(EndpointConfig::default(), 8);
    ep.request(t(0), peer(), Request::put("r", body(2_100, 0)).unwrap())
        .unwrap();
    let mut seen = Vec::new();
    let mut out = sent(&mut ep).remove(0);
    loop {
        seen.push((out.message_id, out.token));
        let b1 = out.options.block1(false).unwrap().unwrap();
        let code = if b1.more() {
            Code::CONTINUE
        } else {
            Code::CHANGED
        };
        let options = Options::builder().push_block1(b1);
        feed(&mut ep, t(10), &ack(&out, code, options, Bytes::new()));
        match sent(&mut ep).pop() {
            Some(next) => out = next,
            None => break,
        }
    }
    assert_eq!(seen.len(), 3);
    for (i, a) in seen.iter().enumerate() {
        for b in &seen[i + 1..] {
            assert_ne!(a.0, b.0, "a new Message ID");
            assert_ne!(a.1, b.1, "a new token");
        }
    }
    let [Event::Response { response, .. }] = &events(&mut ep)[..] else {
        panic!()
    };
    assert_eq!(response.code, Code::CHANGED);
    assert_eq!(
        response.options.block1(false).unwrap(),
        None,
        "transfer options stripped"
    );
}

/// Regression (property test): two uploads from one client to one resource at once
/// (NSTART 2) must not be mixed by the server.
#[test]
fn rfc9175_3_3_concurrent_uploads_to_one_resource_carry_different_request_tags() {
    let mut sim = Sim::new(1, NetConfig::perfect());
    let mut config = EndpointConfig::default();
    config.transmission.nstart = 2;
    let client = sim.add("192.0.2.1:5683", config.clone(), 1);
    let server = sim.add("192.0.2.2:5683", config, 2);
    sim.set_responder(
        server,
        Box::new(|_, r: &Request| {
            Some((
                Duration::ZERO,
                Response::new(Code::CHANGED).with_payload(r.payload.clone()),
            ))
        }),
    );
    let a = body(2_500, 0);
    let b: Bytes = body(2_500, 0)
        .iter()
        .map(|x| x ^ 0xff)
        .collect::<Vec<u8>>()
        .into();
    sim.request(client, server, Request::post("r", a.clone()).unwrap());
    sim.request(client, server, Request::post("r", b.clone()).unwrap());
    sim.drive_bounded(10_000);
    let tags: std::collections::BTreeSet<Vec<u8>> = sim
        .sent(client, server)
        .iter()
        .map(|w| {
            w.message
                .options
                .request_tags()
                .unwrap()
                .next()
                .unwrap()
                .as_bytes()
                .to_vec()
        })
        .collect();
    assert_eq!(tags.len(), 2, "one tag per upload");
    let bodies: Vec<Bytes> = sim
        .events(server)
        .into_iter()
        .filter_map(|e| match e {
            Event::Request { request, .. } => Some(request.payload),
            _ => None,
        })
        .collect();
    assert_eq!(bodies, [a.clone(), b.clone()]);
    let answers: Vec<Bytes> = sim
        .events(client)
        .into_iter()
        .filter_map(|e| match e {
            Event::Response { response, .. } => Some(response.payload),
            _ => None,
        })
        .collect();
    assert_eq!(answers, [a, b]);
}

// ----- the server -------------------------------------------------------------------------------

#[test]
fn server_refuses_a_block1_body_over_max_reassembly_bytes_with_4_13_and_size1() {
    let config = EndpointConfig {
        max_reassembly_bytes: 2_048,
        ..EndpointConfig::default()
    };
    let mut ep = Endpoint::new(config, 9);
    // Announced by Size1.
    let first = Options::builder()
        .push_block1(block(0, true, 6))
        .push_size1(3_000);
    feed(
        &mut ep,
        t(0),
        &request(CON, Code::PUT, 1, first, body(1024, 0)),
    );
    let reply = sent(&mut ep).remove(0);
    assert_eq!(reply.code, Code::REQUEST_ENTITY_TOO_LARGE);
    assert_eq!(reply.options.size1().unwrap(), Some(2_048));
    // Not announced: refused when the bytes pass the limit.
    for num in 0..3 {
        let options = Options::builder().push_block1(block(num, true, 6));
        feed(
            &mut ep,
            t(0),
            &request(CON, Code::PUT, 10 + num as u16, options, body(1024, 0)),
        );
    }
    let replies: Vec<Code> = sent(&mut ep).iter().map(|m| m.code).collect();
    assert_eq!(
        replies,
        [
            Code::CONTINUE,
            Code::CONTINUE,
            Code::REQUEST_ENTITY_TOO_LARGE
        ]
    );
    assert!(events(&mut ep).is_empty(), "the application saw nothing");
    assert_eq!(ep.block_bytes(), 0);
}

#[test]
fn server_limits_block1_transfers_in_number_and_bytes() {
    let config = EndpointConfig {
        max_block_transfers: 2,
        max_reassembly_total: 3_000,
        ..EndpointConfig::default()
    };
    let mut ep = Endpoint::new(config, 10);
    let mut codes = Vec::new();
    for (i, path) in ["a", "b", "c"].iter().enumerate() {
        let options = Options::builder()
            .push(OptionNumber::URI_PATH, path)
            .push_block1(block(0, true, 6));
        feed(
            &mut ep,
            t(0),
            &request(CON, Code::PUT, i as u16, options, body(1024, 0)),
        );
        codes.push(sent(&mut ep).remove(0));
    }
    let got: Vec<(Code, Option<u32>)> = codes
        .iter()
        .map(|m| (m.code, m.options.size1().unwrap()))
        .collect();
    // The third transfer finds no room: 4.13 without Size1 (RFC 7959 §2.5).
    assert_eq!(
        got,
        [
            (Code::CONTINUE, None),
            (Code::CONTINUE, None),
            (Code::REQUEST_ENTITY_TOO_LARGE, None)
        ]
    );
    assert!(ep.block_bytes() <= 3_000);
    // Transfers are dropped EXCHANGE_LIFETIME after their last block.
    assert!(ep.poll_timeout().is_some());
    ep.handle_timeout(t(248_000));
    assert_eq!(ep.block_bytes(), 0);
    assert_eq!(ep.poll_timeout(), None);
}

#[test]
fn rfc7959_2_5_a_block_out_of_order_gets_4_08_and_a_retransmission_the_same_answer() {
    let mut ep = Endpoint::new(EndpointConfig::default(), 11);
    let first = request(
        CON,
        Code::PUT,
        1,
        Options::builder().push_block1(block(0, true, 6)),
        body(1024, 0),
    );
    feed(&mut ep, t(0), &first);
    let continue_ = sent(&mut ep).remove(0);
    assert_eq!(continue_.code, Code::CONTINUE);
    // The same CON again (its ACK was lost): the same answer, nothing processed twice.
    feed(&mut ep, t(100), &first);
    assert_eq!(sent(&mut ep), [continue_]);
    let skip = request(
        CON,
        Code::PUT,
        2,
        Options::builder().push_block1(block(2, true, 6)),
        body(1024, 0),
    );
    feed(&mut ep, t(200), &skip);
    assert_eq!(
        sent(&mut ep).remove(0).code,
        Code::REQUEST_ENTITY_INCOMPLETE
    );
    assert!(events(&mut ep).is_empty());
}

#[test]
fn rfc7959_2_3_the_final_response_carries_the_last_block1_and_the_application_the_whole_body() {
    let mut ep = Endpoint::new(EndpointConfig::default(), 12);
    for (num, more) in [(0, true), (1, false)] {
        let options = Options::builder()
            .push_block1(block(num, more, 6))
            .push_size1(1_500);
        let len = if more { 1024 } else { 476 };
        feed(
            &mut ep,
            t(0),
            &request(NON, Code::POST, num as u16, options, body(len, 0)),
        );
    }
    let continue_ = sent(&mut ep).remove(0);
    assert_eq!(
        (continue_.mtype, continue_.code),
        (NON, Code::CONTINUE),
        "a NON gets a NON"
    );
    let (id, req) = the_request(&mut ep);
    assert_eq!(req.payload.len(), 1_500);
    assert_eq!(
        req.options.block1(false).unwrap(),
        None,
        "the application sees no Block1"
    );
    assert_eq!(req.options.size1().unwrap(), None);
    ep.respond(t(0), id, Response::new(Code::CHANGED)).unwrap();
    let last = sent(&mut ep).remove(0);
    assert_eq!(last.code, Code::CHANGED);
    assert_eq!(
        last.options.block1(false).unwrap(),
        Some(block(1, false, 6))
    );
}

#[test]
fn rfc7959_2_4_block_responses_carry_one_etag_and_the_kept_body_serves_the_follow_ups() {
    let mut ep = Endpoint::new(EndpointConfig::default(), 13);
    feed(
        &mut ep,
        t(0),
        &request(CON, Code::GET, 1, Options::builder(), Bytes::new()),
    );
    let (id, _) = the_request(&mut ep);
    ep.respond(
        t(0),
        id,
        Response::new(Code::CONTENT).with_payload(body(2_500, 0)),
    )
    .unwrap();
    let first = sent(&mut ep).remove(0);
    let tag = first.options.etags().unwrap().next().expect("an ETag");
    assert_eq!(first.options.size2().unwrap(), Some(2_500));
    let mut got = first.payload.to_vec();
    for num in 1..3 {
        let options = Options::builder().push_block2(block(num, false, 6));
        feed(
            &mut ep,
            t(10),
            &request(CON, Code::GET, 1 + num as u16, options, Bytes::new()),
        );
        let m = sent(&mut ep).remove(0);
        assert_eq!(m.options.etags().unwrap().next(), Some(tag));
        assert_eq!(
            m.options.block2(false).unwrap(),
            Some(block(num, num < 2, 6))
        );
        got.extend_from_slice(&m.payload);
    }
    assert_eq!(got, body(2_500, 0));
    assert!(events(&mut ep).is_empty(), "the application answered once");
    assert_eq!(
        ep.block_bytes(),
        0,
        "the last block served, the body is dropped"
    );
    // The application's own ETag is kept.
    feed(
        &mut ep,
        t(20),
        &request(CON, Code::GET, 9, Options::builder(), Bytes::new()),
    );
    let (id, _) = the_request(&mut ep);
    let own = ETag::new(b"v1").unwrap();
    let r = Response::builder(Code::CONTENT)
        .options(|o| o.push_etag(own))
        .payload(body(2_000, 0))
        .build()
        .unwrap();
    ep.respond(t(20), id, r).unwrap();
    let m = sent(&mut ep).remove(0);
    assert_eq!(m.options.etags().unwrap().collect::<Vec<_>>(), [own]);
}

#[test]
fn server_keeps_bodies_within_its_limits_and_then_asks_again_or_answers_4_08() {
    let config = EndpointConfig {
        max_block_transfers: 2,
        ..EndpointConfig::default()
    };
    let mut ep = Endpoint::new(config, 14);
    let paths = ["a", "b", "c"];
    for (i, path) in paths.iter().enumerate() {
        let options = Options::builder().push(OptionNumber::URI_PATH, path);
        feed(
            &mut ep,
            t(0),
            &request(CON, Code::GET, i as u16, options, Bytes::new()),
        );
        let (id, _) = the_request(&mut ep);
        ep.respond(
            t(0),
            id,
            Response::new(Code::CONTENT).with_payload(body(3_000, 0)),
        )
        .unwrap();
        sent(&mut ep);
    }
    assert!(ep.block_bytes() <= 2 * 3_000);
    // "a" was dropped to make room: its follow-up GET goes to the application, which
    // answers again; the endpoint serves the block asked for.
    let options = Options::builder()
        .push(OptionNumber::URI_PATH, "a")
        .push_block2(block(1, false, 6));
    feed(
        &mut ep,
        t(10),
        &request(CON, Code::GET, 20, options, Bytes::new()),
    );
    let (id, req) = the_request(&mut ep);
    assert_eq!(req.options.block2(false).unwrap(), Some(block(1, false, 6)));
    ep.respond(
        t(10),
        id,
        Response::new(Code::CONTENT).with_payload(body(3_000, 0)),
    )
    .unwrap();
    let m = sent(&mut ep).remove(0);
    assert_eq!(m.options.block2(false).unwrap(), Some(block(1, true, 6)));
    assert_eq!(m.payload, body(3_000, 0).slice(1024..2048));
    // A POST's follow-up whose body is gone: 4.08, not the application.
    let options = Options::builder()
        .push(OptionNumber::URI_PATH, "p")
        .push_block2(block(1, false, 6));
    feed(
        &mut ep,
        t(10),
        &request(CON, Code::POST, 21, options, Bytes::new()),
    );
    assert_eq!(
        sent(&mut ep).remove(0).code,
        Code::REQUEST_ENTITY_INCOMPLETE
    );
    assert!(events(&mut ep).is_empty());
    // Kept bodies expire after EXCHANGE_LIFETIME.
    ep.handle_timeout(t(250_000));
    assert_eq!(ep.block_bytes(), 0);
    assert_eq!(ep.poll_timeout(), None);
}

#[test]
fn a_block_beyond_the_end_is_answered_4_02_and_an_error_is_not_served_by_number() {
    let mut ep = Endpoint::new(EndpointConfig::default(), 15);
    let options = Options::builder().push_block2(block(5, false, 4));
    feed(
        &mut ep,
        t(0),
        &request(CON, Code::GET, 1, options, Bytes::new()),
    );
    let (id, _) = the_request(&mut ep);
    ep.respond(
        t(0),
        id,
        Response::new(Code::CONTENT).with_payload(body(300, 0)),
    )
    .unwrap();
    assert_eq!(sent(&mut ep).remove(0).code, Code::BAD_OPTION);
    // A 4.04 to a request for block 5 goes as it is.
    let options = Options::builder().push_block2(block(5, false, 4));
    feed(
        &mut ep,
        t(0),
        &request(CON, Code::GET, 2, options, Bytes::new()),
    );
    let (id, _) = the_request(&mut ep);
    ep.respond(
        t(0),
        id,
        Response::new(Code::NOT_FOUND).with_payload("gone"),
    )
    .unwrap();
    let m = sent(&mut ep).remove(0);
    assert_eq!((m.code, &m.payload[..]), (Code::NOT_FOUND, &b"gone"[..]));
}

#[test]
fn a_response_with_its_own_block2_goes_as_it_is() {
    let mut ep = Endpoint::new(EndpointConfig::default(), 16);
    feed(
        &mut ep,
        t(0),
        &request(CON, Code::GET, 1, Options::builder(), Bytes::new()),
    );
    let (id, _) = the_request(&mut ep);
    let r = Response::builder(Code::CONTENT)
        .options(|o| o.push_block2(block(0, true, 2)))
        .payload(body(64, 0))
        .build()
        .unwrap();
    ep.respond(t(0), id, r).unwrap();
    let m = sent(&mut ep).remove(0);
    assert_eq!(m.options.block2(false).unwrap(), Some(block(0, true, 2)));
    assert_eq!(m.options.etags().unwrap().count(), 0);
    assert_eq!(ep.block_bytes(), 0);
}

#[test]
fn blocks_shrink_to_fit_max_message_size() {
    let config = EndpointConfig {
        max_message_size: 300,
        ..EndpointConfig::default()
    };
    let mut sim = Sim::new(2, NetConfig::perfect());
    let client = sim.add("192.0.2.1:5683", config.clone(), 1);
    let server = sim.add("192.0.2.2:5683", config, 2);
    sim.set_responder(
        server,
        Box::new(|_, r: &Request| {
            Some((
                Duration::ZERO,
                Response::new(Code::CHANGED).with_payload(r.payload.clone()),
            ))
        }),
    );
    let id = sim.request(client, server, Request::post("r", body(2_000, 0)).unwrap());
    sim.drive_bounded(10_000);
    assert!(sim.wire.iter().all(|w| {
        let mut b = BytesMut::new();
        w.message.encode(&mut b).unwrap();
        b.len() <= 300
    }));
    let up = sim.sent(client, server)[0]
        .message
        .options
        .block1(false)
        .unwrap()
        .unwrap();
    assert_eq!(up.size(), 256);
    assert!(sim.events(client).iter().any(
        |e| matches!(e, Event::Response { id: got, response } if *got == id && response.payload == body(2_000, 0))
    ));
}

/// Found by the `coap_client` fuzz target: a FETCH whose body just fits one message went
/// whole, and the follow-up for the second block of its response (which repeats the body,
/// RFC 8132 §2.3.2 with RFC 7959) came out two bytes over the maximum message size.
#[test]
fn a_fetch_body_that_leaves_no_room_for_block2_follow_ups_goes_in_block1_blocks() {
    let config = EndpointConfig {
        max_message_size: 64,
        token_length: 1,
        ..EndpointConfig::default()
    };
    let mut ep = Endpoint::new(config, 3);
    let request = Request::builder(Code::FETCH)
        .path("p")
        .payload(vec![0x5a; 52])
        .build()
        .unwrap();
    ep.request(t(0), peer(), request).unwrap();
    let first = sent(&mut ep);
    assert_eq!(first.len(), 1);
    assert!(wire(&first[0]).len() <= 64);
    // Not whole: its body goes in Block1 blocks, so no follow-up repeats it.
    assert!(first[0].options.block1(false).unwrap().is_some());
    assert!(first[0].payload.len() < 52);
}
