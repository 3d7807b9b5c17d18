//! Scenario tests of the CoAP endpoint, one per rule, named by the RFC 7252 section. Most
//! drive one endpoint by hand (the test plays the peer with hand-built datagrams on a
//! virtual clock); those about two endpoints use the network simulation in `sim/`.

mod common;
mod sim;

use core::net::SocketAddr;
use core::time::Duration;

use bytes::Bytes;
use common::{
    ACK, CON, NON, RST, events, feed, feed_from, other_peer, peer, sent, sent_to, t, transmits,
    wire,
};
use sim::{NetConfig, Sim, ms};
use tern_coap::endpoint::{
    Endpoint, EndpointConfig, EndpointError, Event, IncomingId, Instant, Request, RequestError,
    RequestId, Response,
};
use tern_coap::option::{OptionNumber, Options};
use tern_coap::{Code, Message, MessageType, Token};

fn endpoint() -> Endpoint {
    Endpoint::new(EndpointConfig::default(), 7252)
}

fn message(mtype: MessageType, code: Code, mid: u16, token: &[u8]) -> Message {
    Message {
        mtype,
        code,
        message_id: mid,
        token: Token::new(token).unwrap(),
        options: Options::new(),
        payload: Bytes::new(),
    }
}

fn get_test(mtype: MessageType, mid: u16, token: &[u8]) -> Message {
    Message {
        options: Options::builder()
            .push(OptionNumber::URI_PATH, "test")
            .build()
            .unwrap(),
        ..message(mtype, Code::GET, mid, token)
    }
}

fn empty(mtype: MessageType, mid: u16) -> Bytes {
    wire(&Message::empty(mtype, mid))
}

/// Sends a GET from a fresh client endpoint; returns the request on the wire.
fn client_get(ep: &mut Endpoint, now: Instant, to: SocketAddr) -> (RequestId, Message) {
    let id = ep.request(now, to, Request::get("test").unwrap()).unwrap();
    let mut out = sent_to(ep, to);
    assert_eq!(out.len(), 1);
    (id, out.remove(0))
}

/// Calls `handle_timeout` at each deadline until `until`; returns the datagrams with when
/// they were sent.
fn run_timers(ep: &mut Endpoint, until: Instant) -> Vec<(Instant, Message)> {
    let mut out = Vec::new();
    while let Some(deadline) = ep.poll_timeout() {
        if deadline > until {
            break;
        }
        ep.handle_timeout(deadline);
        let next = ep.poll_timeout();
        assert!(
            next.is_none_or(|n| n > deadline),
            "busy loop at {deadline:?}"
        );
        for m in sent(ep) {
            out.push((deadline, m));
        }
    }
    out
}

// ----- the message layer (RFC 7252 §4) ---------------------------------------------------------

#[test]
fn rfc7252_4_2_con_is_retransmitted_with_doubling_timeout() {
    let mut ep = endpoint();
    let (id, first) = client_get(&mut ep, t(0), peer());
    assert_eq!(first.mtype, CON);
    let retransmissions = run_timers(&mut ep, t(200_000));
    let times: Vec<u64> = retransmissions
        .iter()
        .map(|(at, _)| at.as_micros())
        .collect();
    // MAX_RETRANSMIT = 4 retransmissions of the very same message.
    assert_eq!(times.len(), 4, "{times:?}");
    for (_, m) in &retransmissions {
        assert_eq!(m, &first);
    }
    // The first timeout is in [ACK_TIMEOUT, ACK_TIMEOUT × 1.5], and each doubles.
    let t0 = times[0];
    assert!(
        (2_000_000..=3_000_000).contains(&t0),
        "initial timeout {t0} µs"
    );
    assert_eq!(times[1] - times[0], 2 * t0);
    assert_eq!(times[2] - times[1], 4 * t0);
    assert_eq!(times[3] - times[2], 8 * t0);
    // It gives up after the last timeout (16 × t0 later): 31 × t0 ≤ MAX_TRANSMIT_WAIT.
    assert_eq!(
        events(&mut ep),
        [Event::RequestFailed {
            id,
            error: RequestError::Timeout
        }]
    );
    assert_eq!(ep.poll_timeout(), None, "nothing left to time");
}

#[test]
fn rfc7252_4_8_2_request_fails_at_31_initial_timeouts_within_max_transmit_wait() {
    let mut ep = endpoint();
    let (id, _) = client_get(&mut ep, t(0), peer());
    let mut failed_at = None;
    while let Some(deadline) = ep.poll_timeout() {
        if deadline > t(100_000) {
            break;
        }
        ep.handle_timeout(deadline);
        sent(&mut ep);
        if events(&mut ep)
            == [Event::RequestFailed {
                id,
                error: RequestError::Timeout,
            }]
        {
            failed_at = Some(deadline);
        }
    }
    let failed_at = failed_at.expect("the request fails");
    let wait = EndpointConfig::default().transmission.max_transmit_wait();
    assert!(
        failed_at <= t(0) + wait,
        "{failed_at:?} after MAX_TRANSMIT_WAIT"
    );
    assert!(failed_at >= t(62_000), "31 × ACK_TIMEOUT at least");
}

#[test]
fn rfc7252_4_2_initial_timeout_is_randomized_between_ack_timeout_and_its_factor() {
    let mut firsts = std::collections::BTreeSet::new();
    for seed in 0..20 {
        let mut ep = Endpoint::new(EndpointConfig::default(), seed);
        client_get(&mut ep, t(0), peer());
        let first = ep.poll_timeout().unwrap();
        assert!(first >= t(2_000) && first <= t(3_000), "{first:?}");
        firsts.insert(first);
    }
    assert!(firsts.len() > 10, "the timeouts are spread: {firsts:?}");
}

#[test]
fn rfc7252_4_4_message_ids_start_at_a_random_value_and_are_not_reused() {
    let first_mid = |seed| {
        let mut ep = Endpoint::new(EndpointConfig::default(), seed);
        client_get(&mut ep, t(0), peer()).1.message_id
    };
    let starts: std::collections::BTreeSet<u16> = (0..8).map(first_mid).collect();
    assert!(starts.len() >= 7, "random starts: {starts:?}");
    // Successive messages of one endpoint take successive ids.
    let mut cfg = EndpointConfig::default();
    cfg.transmission.nstart = 3;
    let mut ep = Endpoint::new(cfg, 1);
    let mids: Vec<u16> = (0..3)
        .map(|_| client_get(&mut ep, t(0), peer()).1.message_id)
        .collect();
    assert_eq!(mids[1], mids[0].wrapping_add(1));
    assert_eq!(mids[2], mids[0].wrapping_add(2));
}

#[test]
fn rfc7252_4_5_duplicate_con_request_gets_the_same_ack_and_is_processed_once() {
    let mut ep = endpoint();
    let get = get_test(CON, 0x1234, &[1, 2]);
    feed(&mut ep, t(0), &get);
    let [Event::Request { id, .. }] = events(&mut ep)[..] else {
        panic!("one request")
    };
    ep.respond(t(10), id, Response::new(Code::CONTENT).with_payload("x"))
        .unwrap();
    let first = sent_to(&mut ep, peer());
    assert_eq!(first.len(), 1);
    assert_eq!((first[0].mtype, first[0].message_id), (ACK, 0x1234));
    for later in [20, 5_000, 200_000] {
        feed(&mut ep, t(later), &get);
        assert_eq!(sent_to(&mut ep, peer()), first, "the cached ACK again");
        assert!(events(&mut ep).is_empty(), "processed once");
    }
}

#[test]
fn rfc7252_4_5_duplicate_of_a_request_still_with_the_application_gets_no_answer_yet() {
    let cfg = EndpointConfig {
        piggyback_delay: Duration::from_secs(1),
        ..EndpointConfig::default()
    };
    let mut ep = Endpoint::new(cfg, 1);
    let get = get_test(CON, 9, &[1]);
    feed(&mut ep, t(0), &get);
    let [Event::Request { id, .. }] = events(&mut ep)[..] else {
        panic!()
    };
    feed(&mut ep, t(100), &get);
    assert!(sent(&mut ep).is_empty());
    assert!(events(&mut ep).is_empty());
    // The empty ACK goes out at the piggyback delay and stands for later duplicates.
    let acks = run_timers(&mut ep, t(1_000));
    assert_eq!(acks.len(), 1);
    assert_eq!((acks[0].1.mtype, acks[0].1.code), (ACK, Code::EMPTY));
    feed(&mut ep, t(2_500), &get);
    assert_eq!(sent_to(&mut ep, peer()), [acks[0].1.clone()]);
    let _ = id;
}

#[test]
fn rfc7252_4_5_duplicate_non_request_is_ignored() {
    let mut ep = endpoint();
    let get = get_test(NON, 77, &[5]);
    feed(&mut ep, t(0), &get);
    assert_eq!(events(&mut ep).len(), 1);
    feed(&mut ep, t(50), &get);
    assert!(events(&mut ep).is_empty());
    assert!(sent(&mut ep).is_empty());
}

#[test]
fn rfc7252_4_5_the_same_message_id_from_another_peer_is_not_a_duplicate() {
    let mut ep = endpoint();
    let get = get_test(CON, 77, &[5]);
    feed(&mut ep, t(0), &get);
    feed_from(&mut ep, t(0), other_peer(), &get);
    assert_eq!(events(&mut ep).len(), 2);
}

#[test]
fn rfc7252_4_5_duplicates_are_forgotten_after_exchange_lifetime() {
    let mut ep = endpoint();
    let get = get_test(CON, 3, &[1]);
    feed(&mut ep, t(0), &get);
    let [Event::Request { id, .. }] = events(&mut ep)[..] else {
        panic!()
    };
    ep.respond(t(0), id, Response::new(Code::CONTENT)).unwrap();
    sent(&mut ep);
    let lifetime = EndpointConfig::default().transmission.exchange_lifetime();
    assert_eq!(lifetime, Duration::from_secs(247));
    feed(&mut ep, t(246_000), &get);
    assert!(
        events(&mut ep).is_empty(),
        "still a duplicate within the lifetime"
    );
    ep.handle_timeout(t(247_001));
    assert_eq!(ep.dedup_len(), 0);
    feed(&mut ep, t(247_001), &get);
    assert_eq!(events(&mut ep).len(), 1, "a new message after the lifetime");
}

#[test]
fn rfc7252_4_3_empty_con_is_a_ping_answered_with_rst() {
    let mut ep = endpoint();
    ep.handle_datagram(t(0), peer(), empty(CON, 0xbeef));
    let out = sent_to(&mut ep, peer());
    assert_eq!(out, [Message::empty(RST, 0xbeef)]);
    assert!(events(&mut ep).is_empty());
    assert_eq!(ep.dedup_len(), 0, "a ping costs no state");
}

#[test]
fn rfc7252_4_3_empty_non_is_ignored() {
    let mut ep = endpoint();
    ep.handle_datagram(t(0), peer(), empty(NON, 1));
    assert!(sent(&mut ep).is_empty());
    assert!(events(&mut ep).is_empty());
}

#[test]
fn rfc7252_4_2_ack_and_rst_matching_nothing_are_ignored() {
    let mut ep = endpoint();
    let (_, req) = client_get(&mut ep, t(0), peer());
    let other = req.message_id.wrapping_add(100);
    ep.handle_datagram(t(10), peer(), empty(ACK, other));
    ep.handle_datagram(t(10), peer(), empty(RST, other));
    // The right Message ID from another endpoint matches nothing either (§5.3.2 rule 1).
    ep.handle_datagram(t(10), other_peer(), empty(RST, req.message_id));
    assert!(
        sent(&mut ep).is_empty(),
        "never an ACK or RST to an ACK or RST"
    );
    assert!(events(&mut ep).is_empty());
    assert_eq!(ep.in_flight_len(), 1, "still retransmitted");
}

#[test]
fn rfc7252_4_2_rst_cancels_the_confirmable_request() {
    let mut ep = endpoint();
    let (id, req) = client_get(&mut ep, t(0), peer());
    ep.handle_datagram(t(100), peer(), empty(RST, req.message_id));
    assert_eq!(
        events(&mut ep),
        [Event::RequestFailed {
            id,
            error: RequestError::Reset
        }]
    );
    assert!(
        run_timers(&mut ep, t(100_000)).is_empty(),
        "no retransmission"
    );
}

#[test]
fn rfc7252_4_3_rst_to_a_non_request_fails_it() {
    let mut ep = endpoint();
    let id = ep
        .request(
            t(0),
            peer(),
            Request::get("test").unwrap().non_confirmable(),
        )
        .unwrap();
    let [req] = &sent_to(&mut ep, peer())[..] else {
        panic!()
    };
    assert_eq!(req.mtype, NON);
    ep.handle_datagram(t(100), peer(), empty(RST, req.message_id));
    assert_eq!(
        events(&mut ep),
        [Event::RequestFailed {
            id,
            error: RequestError::Reset
        }]
    );
}

#[test]
fn rfc7252_4_2_con_with_a_format_error_is_rejected_with_rst() {
    let mut ep = endpoint();
    // CON, token length 9 (reserved), Message ID 0x0102.
    ep.handle_datagram(t(0), peer(), Bytes::from_static(&[0x49, 0x01, 0x01, 0x02]));
    assert_eq!(sent_to(&mut ep, peer()), [Message::empty(RST, 0x0102)]);
    // The same as NON: silence (§4.3); a version other than 1: silence (§3).
    ep.handle_datagram(t(0), peer(), Bytes::from_static(&[0x59, 0x01, 0x01, 0x02]));
    ep.handle_datagram(t(0), peer(), Bytes::from_static(&[0x80, 0x01, 0x01, 0x02]));
    ep.handle_datagram(t(0), peer(), Bytes::from_static(&[0x40, 0x01]));
    assert!(sent(&mut ep).is_empty());
    assert!(events(&mut ep).is_empty());
}

#[test]
fn rfc7252_4_2_con_with_a_reserved_code_class_is_rejected_with_rst() {
    let mut ep = endpoint();
    for (class, mid) in [(1u8, 10u16), (6, 11), (7, 12)] {
        let code = Code::new(class, 1).unwrap();
        feed(&mut ep, t(0), &message(CON, code, mid, &[1]));
        assert_eq!(sent_to(&mut ep, peer()), [Message::empty(RST, mid)]);
        feed(&mut ep, t(0), &message(NON, code, mid + 100, &[1]));
        assert!(sent(&mut ep).is_empty());
    }
    assert!(events(&mut ep).is_empty());
}

#[test]
fn rfc7252_4_2_ack_carrying_a_request_is_ignored() {
    let mut ep = endpoint();
    let (_, req) = client_get(&mut ep, t(0), peer());
    feed(
        &mut ep,
        t(5),
        &get_test(ACK, req.message_id, req.token.as_bytes()),
    );
    assert!(sent(&mut ep).is_empty());
    assert!(events(&mut ep).is_empty());
    assert_eq!(ep.in_flight_len(), 1);
}

// ----- the client (RFC 7252 §5) ----------------------------------------------------------------

#[test]
fn rfc7252_5_3_1_tokens_come_from_the_seed_with_the_configured_length() {
    let mut cfg = EndpointConfig {
        token_length: 4,
        ..EndpointConfig::default()
    };
    cfg.transmission.nstart = 4;
    let tokens = |seed| {
        let mut ep = Endpoint::new(cfg.clone(), seed);
        (0..4)
            .map(|_| client_get(&mut ep, t(0), peer()).1.token)
            .collect::<Vec<_>>()
    };
    let a = tokens(1);
    assert!(a.iter().all(|t| t.len() == 4));
    let distinct: std::collections::BTreeSet<&[u8]> = a.iter().map(|t| t.as_bytes()).collect();
    assert_eq!(distinct.len(), 4);
    assert_eq!(tokens(1), a, "the same seed, the same tokens");
    assert_ne!(tokens(2), a);
}

#[test]
fn rfc7252_5_3_2_piggybacked_response_matches_message_id_and_token() {
    let mut ep = endpoint();
    let (id, req) = client_get(&mut ep, t(0), peer());
    // The right Message ID with the wrong token is rejected: ignored, still retransmitted.
    let mut wrong = message(ACK, Code::CONTENT, req.message_id, b"nope");
    wrong.payload = Bytes::from_static(b"x");
    feed(&mut ep, t(10), &wrong);
    assert!(events(&mut ep).is_empty());
    assert_eq!(ep.in_flight_len(), 1);
    // The right token with another Message ID is no piggybacked response either.
    let other_mid = message(ACK, Code::CONTENT, req.message_id ^ 1, req.token.as_bytes());
    feed(&mut ep, t(10), &other_mid);
    assert!(events(&mut ep).is_empty());
    // Both right, but from another endpoint: nothing (§5.3.2 rule 1).
    let mut right = message(ACK, Code::CONTENT, req.message_id, req.token.as_bytes());
    right.payload = Bytes::from_static(b"21.5");
    feed_from(&mut ep, t(10), other_peer(), &right);
    assert!(events(&mut ep).is_empty());
    feed(&mut ep, t(20), &right);
    assert_eq!(
        events(&mut ep),
        [Event::Response {
            id,
            response: Response::new(Code::CONTENT).with_payload("21.5")
        }]
    );
    assert_eq!(ep.in_flight_len(), 0);
    assert!(sent(&mut ep).is_empty(), "an ACK is never acknowledged");
}

#[test]
fn rfc7252_5_2_2_separate_response_is_matched_by_token_and_acknowledged() {
    let mut ep = endpoint();
    let (id, req) = client_get(&mut ep, t(0), peer());
    ep.handle_datagram(t(100), peer(), empty(ACK, req.message_id));
    assert!(events(&mut ep).is_empty());
    assert!(
        run_timers(&mut ep, t(10_000)).is_empty(),
        "the empty ACK stops retransmission"
    );
    let mut resp = message(CON, Code::CONTENT, 0x4242, req.token.as_bytes());
    resp.payload = Bytes::from_static(b"late");
    feed(&mut ep, t(10_000), &resp);
    assert_eq!(sent_to(&mut ep, peer()), [Message::empty(ACK, 0x4242)]);
    assert_eq!(
        events(&mut ep),
        [Event::Response {
            id,
            response: Response::new(Code::CONTENT).with_payload("late")
        }]
    );
    // A duplicate of the CON response gets the same empty ACK and is not delivered again.
    feed(&mut ep, t(12_000), &resp);
    assert_eq!(sent_to(&mut ep, peer()), [Message::empty(ACK, 0x4242)]);
    assert!(events(&mut ep).is_empty());
}

#[test]
fn rfc7252_5_2_2_con_response_before_the_ack_stops_retransmission() {
    let mut ep = endpoint();
    let (id, req) = client_get(&mut ep, t(0), peer());
    feed(
        &mut ep,
        t(500),
        &message(CON, Code::CONTENT, 99, req.token.as_bytes()),
    );
    assert_eq!(sent_to(&mut ep, peer()), [Message::empty(ACK, 99)]);
    assert!(matches!(events(&mut ep)[..], [Event::Response { id: got, .. }] if got == id));
    assert!(
        run_timers(&mut ep, t(100_000)).is_empty(),
        "no retransmission"
    );
    // The late empty ACK of the request is ignored.
    ep.handle_datagram(t(600), peer(), empty(ACK, req.message_id));
    assert!(events(&mut ep).is_empty());
}

#[test]
fn rfc7252_5_3_2_response_with_an_unknown_token_is_rejected() {
    let mut ep = endpoint();
    let (_, req) = client_get(&mut ep, t(0), peer());
    // CON: RST. NON: RST too (§4.3 allows it; it tells the sender to stop).
    feed(&mut ep, t(10), &message(CON, Code::CONTENT, 500, b"zz"));
    assert_eq!(sent_to(&mut ep, peer()), [Message::empty(RST, 500)]);
    feed(&mut ep, t(10), &message(NON, Code::CONTENT, 501, b"zz"));
    assert_eq!(sent_to(&mut ep, peer()), [Message::empty(RST, 501)]);
    // The right token from another endpoint is unknown there.
    feed_from(
        &mut ep,
        t(10),
        other_peer(),
        &message(CON, Code::CONTENT, 502, req.token.as_bytes()),
    );
    assert_eq!(sent_to(&mut ep, other_peer()), [Message::empty(RST, 502)]);
    assert!(events(&mut ep).is_empty());
    assert_eq!(ep.requests_len(), 1);
}

#[test]
fn rfc7252_5_4_1_response_with_an_unrecognized_critical_option_is_rejected() {
    let mut ep = endpoint();
    let (id, req) = client_get(&mut ep, t(0), peer());
    ep.handle_datagram(t(10), peer(), empty(ACK, req.message_id));
    let mut resp = message(CON, Code::CONTENT, 7, req.token.as_bytes());
    resp.options = Options::builder()
        .push(OptionNumber(9999), "x")
        .build()
        .unwrap();
    feed(&mut ep, t(20), &resp);
    assert_eq!(sent_to(&mut ep, peer()), [Message::empty(RST, 7)]);
    assert_eq!(
        events(&mut ep),
        [Event::RequestFailed {
            id,
            error: RequestError::UnrecognizedOption(OptionNumber(9999))
        }]
    );
    // An unrecognized elective option is ignored.
    let (id, req) = client_get(&mut ep, t(30), peer());
    let mut resp = message(ACK, Code::CONTENT, req.message_id, req.token.as_bytes());
    resp.options = Options::builder()
        .push(OptionNumber(9998), "x")
        .build()
        .unwrap();
    feed(&mut ep, t(40), &resp);
    assert!(matches!(events(&mut ep)[..], [Event::Response { id: got, .. }] if got == id));
}

#[test]
fn rfc7252_4_7_nstart_1_sends_one_request_per_peer_and_queues_the_rest_in_order() {
    let mut ep = endpoint();
    let paths = ["a", "b", "c"];
    let ids: Vec<RequestId> = paths
        .iter()
        .map(|p| ep.request(t(0), peer(), Request::get(p).unwrap()).unwrap())
        .collect();
    // Another peer is not held up.
    let other = ep
        .request(t(0), other_peer(), Request::get("z").unwrap())
        .unwrap();
    let out = transmits(&mut ep);
    assert_eq!(out.len(), 2);
    let mut order = Vec::new();
    let mut current = out.iter().find(|(d, _)| *d == peer()).unwrap().1.clone();
    for (i, id) in ids.iter().enumerate() {
        let path: Vec<String> = current
            .options
            .uri_path()
            .unwrap()
            .map(String::from)
            .collect();
        order.push(path.join("/"));
        let answer = message(
            ACK,
            Code::CONTENT,
            current.message_id,
            current.token.as_bytes(),
        );
        feed(&mut ep, t(10 * (i as u64 + 1)), &answer);
        assert!(matches!(events(&mut ep)[..], [Event::Response { id: got, .. }] if got == *id));
        let next = sent_to(&mut ep, peer());
        if i + 1 < ids.len() {
            assert_eq!(
                next.len(),
                1,
                "the next queued request goes when one completes"
            );
            current = next[0].clone();
        } else {
            assert!(next.is_empty());
        }
    }
    assert_eq!(order, paths);
    assert_eq!(
        ep.requests_len(),
        1,
        "only the other peer's request is left"
    );
    let _ = other;
}

#[test]
fn rfc7252_4_7_an_empty_ack_ends_the_outstanding_interaction() {
    let mut ep = endpoint();
    let (_, first) = client_get(&mut ep, t(0), peer());
    ep.request(t(0), peer(), Request::get("second").unwrap())
        .unwrap();
    assert!(sent(&mut ep).is_empty(), "queued behind the first");
    ep.handle_datagram(t(50), peer(), empty(ACK, first.message_id));
    let out = sent_to(&mut ep, peer());
    assert_eq!(
        out.len(),
        1,
        "the next request goes while the first awaits its response"
    );
    assert_ne!(
        out[0].token, first.token,
        "tokens are unique among open exchanges"
    );
}

#[test]
fn rfc7252_4_7_nstart_is_configurable() {
    let mut cfg = EndpointConfig::default();
    cfg.transmission.nstart = 2;
    let mut ep = Endpoint::new(cfg, 3);
    for p in ["a", "b", "c"] {
        ep.request(t(0), peer(), Request::get(p).unwrap()).unwrap();
    }
    assert_eq!(sent(&mut ep).len(), 2);
}

#[test]
fn rfc7252_4_7_non_requests_are_outstanding_until_answered() {
    let mut ep = endpoint();
    let id = ep
        .request(t(0), peer(), Request::get("a").unwrap().non_confirmable())
        .unwrap();
    ep.request(t(0), peer(), Request::get("b").unwrap())
        .unwrap();
    let [req] = &sent_to(&mut ep, peer())[..] else {
        panic!()
    };
    // §5.2.3: a NON request may be answered by a CON response, which is acknowledged.
    feed(
        &mut ep,
        t(30),
        &message(CON, Code::CONTENT, 1000, req.token.as_bytes()),
    );
    let out = sent_to(&mut ep, peer());
    assert_eq!(out[0], Message::empty(ACK, 1000));
    assert_eq!(out.len(), 2, "then the queued request goes");
    assert!(matches!(events(&mut ep)[..], [Event::Response { id: got, .. }] if got == id));
}

#[test]
fn rfc7252_5_2_3_non_request_without_response_times_out_after_max_transmit_wait() {
    let mut ep = endpoint();
    let id = ep
        .request(t(0), peer(), Request::get("a").unwrap().non_confirmable())
        .unwrap();
    sent(&mut ep);
    assert!(
        run_timers(&mut ep, t(92_999)).is_empty(),
        "a NON is never retransmitted"
    );
    assert!(events(&mut ep).is_empty());
    run_timers(&mut ep, t(93_000));
    assert_eq!(
        events(&mut ep),
        [Event::RequestFailed {
            id,
            error: RequestError::Timeout
        }]
    );
}

#[test]
fn rfc7252_5_2_2_acknowledged_request_without_response_fails_after_exchange_lifetime() {
    let mut ep = endpoint();
    let (id, req) = client_get(&mut ep, t(0), peer());
    ep.handle_datagram(t(100), peer(), empty(ACK, req.message_id));
    run_timers(&mut ep, t(246_999));
    assert!(events(&mut ep).is_empty());
    run_timers(&mut ep, t(247_000));
    assert_eq!(
        events(&mut ep),
        [Event::RequestFailed {
            id,
            error: RequestError::ResponseTimeout
        }]
    );
}

#[test]
fn cancel_stops_retransmission_and_a_late_response_gets_rst() {
    let mut ep = endpoint();
    let (id, req) = client_get(&mut ep, t(0), peer());
    let queued = ep
        .request(t(0), peer(), Request::get("next").unwrap())
        .unwrap();
    ep.cancel(t(10), queued);
    assert!(sent(&mut ep).is_empty());
    ep.cancel(t(10), id);
    assert!(sent(&mut ep).is_empty());
    assert!(run_timers(&mut ep, t(100_000)).is_empty());
    assert!(
        events(&mut ep).is_empty(),
        "no event for a cancelled request"
    );
    feed(
        &mut ep,
        t(20),
        &message(CON, Code::CONTENT, 5, req.token.as_bytes()),
    );
    assert_eq!(sent_to(&mut ep, peer()), [Message::empty(RST, 5)]);
    assert_eq!(ep.requests_len(), 0);
}

#[test]
fn request_limits_and_misuse_are_local_errors() {
    let cfg = EndpointConfig {
        max_requests: 2,
        max_message_size: 64,
        ..EndpointConfig::default()
    };
    let mut ep = Endpoint::new(cfg, 1);
    assert_eq!(
        ep.request(t(0), peer(), Request::new(Code::CONTENT)),
        Err(EndpointError::NotARequest)
    );
    // A payload too large for one message goes in Block1 blocks (RFC 7959); options that
    // leave no room for a block of 16 bytes cannot.
    let big = Request::post(&"a".repeat(40), vec![0u8; 60]).unwrap();
    assert!(matches!(
        ep.request(t(0), peer(), big),
        Err(EndpointError::MessageTooLarge { max: 64, .. })
    ));
    ep.request(t(0), peer(), Request::get("a").unwrap())
        .unwrap();
    ep.ping(t(0), peer()).unwrap();
    assert_eq!(
        ep.request(t(0), peer(), Request::get("b").unwrap()),
        Err(EndpointError::TooManyRequests)
    );
    assert_eq!(
        ep.respond(t(0), IncomingId(0), Response::new(Code::CONTENT)),
        Err(EndpointError::UnknownRequest)
    );
}

#[test]
fn rfc7252_5_3_1_zero_length_tokens_allow_one_open_exchange_per_peer() {
    let mut cfg = EndpointConfig {
        token_length: 0,
        ..EndpointConfig::default()
    };
    cfg.transmission.nstart = 2;
    let mut ep = Endpoint::new(cfg, 1);
    let (first_id, first) = client_get(&mut ep, t(0), peer());
    assert!(first.token.is_empty());
    ep.request(t(0), peer(), Request::get("b").unwrap())
        .unwrap();
    assert!(sent(&mut ep).is_empty(), "the empty token is taken");
    feed(
        &mut ep,
        t(10),
        &message(ACK, Code::CONTENT, first.message_id, &[]),
    );
    assert!(matches!(events(&mut ep)[..], [Event::Response { id, .. }] if id == first_id));
    assert_eq!(sent(&mut ep).len(), 1);
}

#[test]
fn rfc7252_4_3_ping_completes_with_rst() {
    let mut ep = endpoint();
    let id = ep.ping(t(0), peer()).unwrap();
    let [ping] = &sent_to(&mut ep, peer())[..] else {
        panic!()
    };
    assert_eq!(
        (ping.mtype, ping.code, ping.token.len()),
        (CON, Code::EMPTY, 0)
    );
    ep.handle_datagram(t(20), peer(), empty(RST, ping.message_id));
    assert_eq!(events(&mut ep), [Event::Pong { id }]);
    assert!(run_timers(&mut ep, t(100_000)).is_empty());
}

// ----- the server (RFC 7252 §5.2, §5.4) ---------------------------------------------------------

#[test]
fn rfc7252_5_2_1_answer_within_the_piggyback_delay_is_piggybacked() {
    let mut ep = endpoint();
    feed(&mut ep, t(0), &get_test(CON, 0x10, &[0xaa, 0xbb]));
    let [
        Event::Request {
            id,
            peer: from,
            ref request,
        },
    ] = events(&mut ep)[..]
    else {
        panic!()
    };
    assert_eq!(from, peer());
    assert!(request.confirmable);
    assert_eq!(
        request.options.uri_path().unwrap().collect::<Vec<_>>(),
        ["test"]
    );
    ep.respond(t(900), id, Response::new(Code::CONTENT).with_payload("p"))
        .unwrap();
    let [ack] = &sent_to(&mut ep, peer())[..] else {
        panic!()
    };
    assert_eq!(
        (ack.mtype, ack.code, ack.message_id),
        (ACK, Code::CONTENT, 0x10)
    );
    assert_eq!(ack.token.as_bytes(), [0xaa, 0xbb]);
    assert_eq!(ep.pending_len(), 0);
    assert_eq!(
        ep.respond(t(901), id, Response::new(Code::CONTENT)),
        Err(EndpointError::UnknownRequest),
        "answered once"
    );
}

#[test]
fn rfc7252_5_2_2_late_answer_goes_in_a_separate_con_retransmitted_until_acknowledged() {
    let mut ep = endpoint();
    feed(&mut ep, t(0), &get_test(CON, 0x20, &[1]));
    let [Event::Request { id, .. }] = events(&mut ep)[..] else {
        panic!()
    };
    let acks = run_timers(&mut ep, t(1_000));
    assert_eq!(acks.len(), 1);
    assert_eq!(
        acks[0].1,
        Message::empty(ACK, 0x20),
        "an empty ACK at the piggyback delay"
    );
    ep.respond(
        t(3_000),
        id,
        Response::new(Code::CONTENT).with_payload("slow"),
    )
    .unwrap();
    let [resp] = &sent_to(&mut ep, peer())[..] else {
        panic!()
    };
    assert_eq!((resp.mtype, resp.code), (CON, Code::CONTENT));
    assert_ne!(resp.message_id, 0x20, "a Message ID of the server's own");
    assert_eq!(resp.token.as_bytes(), [1]);
    let again = run_timers(&mut ep, t(6_000));
    assert_eq!(again.len(), 1, "retransmitted");
    assert_eq!(&again[0].1, resp);
    ep.handle_datagram(t(6_100), peer(), empty(ACK, resp.message_id));
    assert!(run_timers(&mut ep, t(100_000)).is_empty());
    assert_eq!(ep.pending_len(), 0);
    assert!(events(&mut ep).is_empty());
}

#[test]
fn rfc7252_5_2_2_separate_response_reset_or_never_acknowledged_is_reported() {
    for (mid, reset) in [(1u16, true), (2, false)] {
        let mut ep = endpoint();
        feed(&mut ep, t(0), &get_test(CON, mid, &[mid as u8]));
        let [Event::Request { id, .. }] = events(&mut ep)[..] else {
            panic!()
        };
        ep.handle_timeout(t(1_000));
        sent(&mut ep);
        ep.respond(t(1_500), id, Response::new(Code::CONTENT))
            .unwrap();
        let [resp] = &sent_to(&mut ep, peer())[..] else {
            panic!()
        };
        let error = if reset {
            ep.handle_datagram(t(1_600), peer(), empty(RST, resp.message_id));
            RequestError::Reset
        } else {
            run_timers(&mut ep, t(200_000));
            RequestError::Timeout
        };
        assert_eq!(events(&mut ep), [Event::ResponseFailed { id, error }]);
        assert_eq!(ep.pending_len(), 0);
    }
}

#[test]
fn rfc7252_5_2_3_non_request_gets_a_non_response_with_a_new_message_id() {
    let mut ep = endpoint();
    feed(&mut ep, t(0), &get_test(NON, 0x30, &[3]));
    let [
        Event::Request {
            id, ref request, ..
        },
    ] = events(&mut ep)[..]
    else {
        panic!()
    };
    assert!(!request.confirmable);
    assert!(run_timers(&mut ep, t(5_000)).is_empty(), "no ACK for a NON");
    ep.respond(t(5_000), id, Response::new(Code::CONTENT))
        .unwrap();
    let [resp] = &sent_to(&mut ep, peer())[..] else {
        panic!()
    };
    assert_eq!((resp.mtype, resp.token.as_bytes()), (NON, &[3u8][..]));
    assert_ne!(resp.message_id, 0x30);
    assert_eq!(ep.pending_len(), 0);
}

#[test]
fn rfc7252_5_4_1_con_request_with_an_unrecognized_critical_option_gets_4_02() {
    let mut ep = endpoint();
    let mut req = get_test(CON, 0x40, &[4]);
    req.options = Options::builder()
        .push(OptionNumber::URI_PATH, "test")
        .push(OptionNumber(2049), "?")
        .build()
        .unwrap();
    feed(&mut ep, t(0), &req);
    assert!(events(&mut ep).is_empty(), "the application never sees it");
    let [ack] = &sent_to(&mut ep, peer())[..] else {
        panic!()
    };
    assert_eq!(
        (ack.mtype, ack.code, ack.message_id),
        (ACK, Code::BAD_OPTION, 0x40)
    );
    assert_eq!(ack.token.as_bytes(), [4]);
    let diagnostic = std::str::from_utf8(&ack.payload).unwrap();
    assert!(diagnostic.contains("2049"), "{diagnostic}");
    // A duplicate gets the same answer.
    feed(&mut ep, t(10), &req);
    assert_eq!(sent_to(&mut ep, peer()), std::slice::from_ref(ack));
    // As NON: rejected (§4.3), with RST.
    req.mtype = NON;
    req.message_id = 0x41;
    feed(&mut ep, t(20), &req);
    assert_eq!(sent_to(&mut ep, peer()), [Message::empty(RST, 0x41)]);
    // An unrecognized elective option is ignored: the request goes through.
    req.mtype = CON;
    req.message_id = 0x42;
    req.options = Options::builder()
        .push(OptionNumber::URI_PATH, "test")
        .push(OptionNumber(2050), "?")
        .build()
        .unwrap();
    feed(&mut ep, t(30), &req);
    assert_eq!(events(&mut ep).len(), 1);
}

#[test]
fn pending_limit_per_peer_answers_5_03_with_max_age() {
    let cfg = EndpointConfig {
        max_pending_per_peer: 2,
        overload_max_age: 9,
        ..EndpointConfig::default()
    };
    let mut ep = Endpoint::new(cfg, 1);
    for mid in 0..2 {
        feed(&mut ep, t(0), &get_test(CON, mid, &[mid as u8]));
    }
    assert_eq!(events(&mut ep).len(), 2);
    let over = get_test(CON, 2, &[2]);
    feed(&mut ep, t(0), &over);
    assert!(events(&mut ep).is_empty());
    let [ack] = &sent_to(&mut ep, peer())[..] else {
        panic!()
    };
    assert_eq!(
        (ack.mtype, ack.code, ack.message_id),
        (ACK, Code::SERVICE_UNAVAILABLE, 2)
    );
    assert_eq!(ack.options.max_age().unwrap(), 9);
    // Its duplicate gets the same 5.03 rather than a processing it was refused.
    feed(&mut ep, t(10), &over);
    assert_eq!(sent_to(&mut ep, peer()), std::slice::from_ref(ack));
    assert!(events(&mut ep).is_empty());
    // A NON over the limit is dropped; another peer is not limited.
    feed(&mut ep, t(10), &get_test(NON, 3, &[3]));
    assert!(sent(&mut ep).is_empty());
    feed_from(&mut ep, t(10), other_peer(), &get_test(CON, 3, &[3]));
    assert_eq!(events(&mut ep).len(), 1);
}

#[test]
fn pending_limit_in_total_answers_5_03() {
    let cfg = EndpointConfig {
        max_pending_total: 3,
        ..EndpointConfig::default()
    };
    let mut ep = Endpoint::new(cfg, 1);
    for port in 0..4u16 {
        let from: SocketAddr = format!("192.0.2.1:{}", 1000 + port).parse().unwrap();
        feed_from(&mut ep, t(0), from, &get_test(CON, 1, &[1]));
    }
    assert_eq!(events(&mut ep).len(), 3);
    let out = sent(&mut ep);
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].code, Code::SERVICE_UNAVAILABLE);
}

#[test]
fn full_dedup_cache_drops_new_requests_until_entries_expire() {
    let cfg = EndpointConfig {
        max_dedup_entries: 4,
        ..EndpointConfig::default()
    };
    let mut ep = Endpoint::new(cfg, 1);
    for mid in 0..4 {
        feed(&mut ep, t(0), &get_test(NON, mid, &[1]));
    }
    assert_eq!(events(&mut ep).len(), 4);
    feed(&mut ep, t(0), &get_test(CON, 100, &[1]));
    assert!(events(&mut ep).is_empty());
    assert!(
        sent(&mut ep).is_empty(),
        "dropped unanswered: the client retransmits"
    );
    // After NON_LIFETIME the entries are gone and the retransmission is served.
    ep.handle_timeout(t(145_001));
    feed(&mut ep, t(145_001), &get_test(CON, 100, &[1]));
    assert_eq!(events(&mut ep).len(), 1);
}

/// The one request the application was handed, answered at once.
fn answer_all(ep: &mut Endpoint, now: Instant) -> usize {
    let ids: Vec<IncomingId> = events(ep)
        .into_iter()
        .filter_map(|e| match e {
            Event::Request { id, .. } => Some(id),
            _ => None,
        })
        .collect();
    for &id in &ids {
        ep.respond(now, id, Response::new(Code::CONTENT)).unwrap();
    }
    ids.len()
}

#[test]
fn rfc7252_4_5_a_full_dedup_cache_forgets_finished_exchanges_not_new_requests() {
    let cfg = EndpointConfig {
        max_dedup_entries: 4,
        ..EndpointConfig::default()
    };
    let mut ep = Endpoint::new(cfg, 1);
    // Four answered exchanges (a CON with a piggybacked answer, NONs answered) fill it.
    feed(&mut ep, t(0), &get_test(CON, 0, &[1]));
    for mid in 1..4 {
        feed(&mut ep, t(0), &get_test(NON, mid, &[2]));
    }
    assert_eq!(answer_all(&mut ep, t(0)), 4);
    sent(&mut ep);
    assert_eq!(ep.dedup_len(), 4);
    // A new request is served at once (relaxing deduplication of the oldest finished
    // exchange, as §4.5 allows), rather than refused for EXCHANGE_LIFETIME.
    feed(&mut ep, t(1), &get_test(CON, 100, &[3]));
    assert_eq!(
        answer_all(&mut ep, t(1)),
        1,
        "the new request reaches the application"
    );
    assert_eq!(sent(&mut ep).len(), 1);
    assert!(ep.dedup_len() <= 4);
    assert!(ep.dedup_forgotten() > 0, "the early forgetting is counted");
    // Its duplicate is still recognised and answered from the cache, not processed again.
    feed(&mut ep, t(2), &get_test(CON, 100, &[3]));
    assert!(events(&mut ep).is_empty());
    assert_eq!(sent(&mut ep).len(), 1, "the cached answer is replayed");
}

#[test]
fn a_flood_of_distinct_requests_keeps_memory_bounded() {
    let cfg = EndpointConfig {
        max_dedup_entries: 300,
        max_pending_per_peer: 8,
        max_pending_total: 50,
        ..EndpointConfig::default()
    };
    let mut ep = Endpoint::new(cfg, 1);
    let mut requests = 0;
    for i in 0..20_000u32 {
        let from: SocketAddr = format!("192.0.2.{}:{}", i % 200, 2000 + i % 7)
            .parse()
            .unwrap();
        feed_from(
            &mut ep,
            t(u64::from(i)),
            from,
            &get_test(CON, i as u16, &[1]),
        );
        requests += events(&mut ep).len();
        sent(&mut ep);
        assert!(ep.dedup_len() <= 300);
        assert!(ep.pending_len() <= 50);
    }
    assert_eq!(
        requests, 50,
        "the application never holds more than the limit"
    );
    // The application's requests expire if never answered.
    ep.handle_timeout(t(20_000 + 248_000));
    assert_eq!(ep.pending_len(), 0);
}

#[test]
fn respond_checks_the_code_and_the_size() {
    let cfg = EndpointConfig {
        max_message_size: 32,
        ..EndpointConfig::default()
    };
    let mut ep = Endpoint::new(cfg, 1);
    feed(&mut ep, t(0), &get_test(CON, 1, &[1]));
    let [Event::Request { id, .. }] = events(&mut ep)[..] else {
        panic!()
    };
    assert_eq!(
        ep.respond(t(0), id, Response::new(Code::GET)),
        Err(EndpointError::NotAResponse)
    );
    assert!(matches!(
        ep.respond(
            t(0),
            id,
            Response::new(Code::CONTENT).with_payload(vec![0; 40])
        ),
        Err(EndpointError::MessageTooLarge { .. })
    ));
    ep.respond(t(0), id, Response::new(Code::CONTENT)).unwrap();
}

#[test]
fn a_request_never_answered_expires_after_exchange_lifetime() {
    let mut ep = endpoint();
    feed(&mut ep, t(0), &get_test(CON, 1, &[1]));
    let [Event::Request { id, .. }] = events(&mut ep)[..] else {
        panic!()
    };
    run_timers(&mut ep, t(300_000));
    assert_eq!(ep.pending_len(), 0);
    assert_eq!(
        ep.respond(t(300_000), id, Response::new(Code::CONTENT)),
        Err(EndpointError::UnknownRequest)
    );
}

// ----- two endpoints through the simulation ----------------------------------------------------

fn echo() -> sim::Responder {
    Box::new(|_, req: &Request| {
        Some((
            Duration::ZERO,
            Response::new(Code::CONTENT).with_payload(req.payload.clone()),
        ))
    })
}

#[test]
fn client_and_server_complete_exchanges_through_a_lossy_network() {
    let net = NetConfig {
        loss_permille: 300,
        dup_permille: 200,
        min_delay: Duration::from_millis(5),
        max_delay: Duration::from_millis(400),
        faults_until: Some(Instant::from_millis(20_000)),
    };
    let mut sim = Sim::new(42, net);
    let client = sim.add("192.0.2.10:5683", EndpointConfig::default(), 1);
    let server = sim.add("192.0.2.20:5683", EndpointConfig::default(), 2);
    sim.set_responder(server, echo());
    let ids: Vec<RequestId> = (0..5)
        .map(|i| sim.request(client, server, Request::post("e", format!("{i}")).unwrap()))
        .collect();
    sim.drive_bounded(10_000);
    let responses: Vec<Event> = sim.events(client);
    assert_eq!(responses.len(), 5, "{responses:?}");
    for (i, id) in ids.iter().enumerate() {
        assert!(responses.iter().any(|e| matches!(e,
            Event::Response { id: got, response } if got == id && response.payload == format!("{i}"))));
    }
    assert_eq!(
        sim.events(server).len(),
        5,
        "each request reaches the application once"
    );
    assert!(
        sim.wire.iter().any(|w| w.dropped),
        "the network did lose datagrams"
    );
}

#[test]
#[should_panic(expected = "runaway")]
fn the_simulation_reports_a_runaway() {
    let mut sim = Sim::new(1, NetConfig::perfect());
    let client = sim.add("192.0.2.10:5683", EndpointConfig::default(), 1);
    let server = sim.add("192.0.2.20:5683", EndpointConfig::default(), 2);
    sim.request(client, server, Request::get("x").unwrap());
    // The exchange needs more steps than this (and then the duplicate cache expires).
    sim.drive_bounded(2);
}

#[test]
fn the_simulation_moves_time_only_forward_and_ends_quiescent() {
    let mut sim = Sim::new(1, NetConfig::perfect());
    let client = sim.add("192.0.2.10:5683", EndpointConfig::default(), 1);
    let server = sim.add("192.0.2.20:5683", EndpointConfig::default(), 2);
    sim.set_responder(server, echo());
    sim.request(client, server, Request::get("x").unwrap());
    let start = sim.now;
    sim.drive_bounded(100);
    assert!(
        sim.now >= ms(start, 247_000),
        "ran until the caches expired"
    );
    for n in [client, server] {
        assert_eq!(sim.endpoint(n).poll_timeout(), None);
    }
    let times: Vec<Instant> = sim.wire.iter().map(|w| w.at).collect();
    assert!(times.windows(2).all(|w| w[0] <= w[1]));
}

// ----- fuzz regressions ------------------------------------------------------------------------

/// coap_client and coap_server found it: a command refused with an error (here `respond` to
/// an unknown request, `request` with a non-method) took the new time but returned before
/// running what was due, leaving `poll_timeout` in the past.
#[test]
fn a_refused_command_leaves_no_deadline_in_the_past() {
    let commands: [fn(&mut Endpoint, Instant); 4] = [
        |ep, now| {
            let _ = ep.respond(now, IncomingId(99), Response::new(Code::CONTENT));
        },
        |ep, now| {
            let _ = ep.request(now, peer(), Request::new(Code::EMPTY));
        },
        |ep, now| {
            let _ = ep.request(now, peer(), Request::post("a", vec![0u8; 2_000]).unwrap());
        },
        |ep, now| ep.cancel(now, RequestId(12345)),
    ];
    for command in commands {
        let mut ep = endpoint();
        client_get(&mut ep, t(0), peer());
        let later = t(30_000);
        assert!(ep.poll_timeout().unwrap() < later);
        command(&mut ep, later);
        assert!(ep.poll_timeout().is_none_or(|d| d > later));
    }
}
