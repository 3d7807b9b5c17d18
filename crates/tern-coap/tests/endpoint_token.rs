//! Scenario tests of tokens the caller chooses ([`RequestBuilder::token`]): sent as chosen
//! on the exchange's first message (and on every message of an observation), never shared
//! with another exchange of the same peer, never reused while a late answer to an earlier
//! exchange could still arrive (RFC 7252 §5.3.1), and refused with a typed error rather than
//! replaced. The test plays the peer with hand-built datagrams on a virtual clock.
//!
//! [`RequestBuilder::token`]: tern_coap::endpoint::RequestBuilder::token

use core::net::SocketAddr;
use core::time::Duration;

use bytes::{Bytes, BytesMut};
use tern_coap::endpoint::{
    Endpoint, EndpointConfig, EndpointError, Event, Instant, Request, RequestId,
};
use tern_coap::option::Options;
use tern_coap::value::{Block, Observe};
use tern_coap::{Code, Message, MessageType, Token};

fn server() -> SocketAddr {
    "192.0.2.1:5683".parse().unwrap()
}

fn other_server() -> SocketAddr {
    "192.0.2.2:5683".parse().unwrap()
}

fn tok(bytes: &[u8]) -> Token {
    Token::new(bytes).unwrap()
}

fn get_with(token: Token) -> Request {
    Request::builder(Code::GET)
        .path("test")
        .token(token)
        .build()
        .unwrap()
}

fn sent(ep: &mut Endpoint) -> Vec<Message> {
    std::iter::from_fn(|| ep.poll_transmit())
        .map(|t| Message::decode(t.datagram).unwrap())
        .collect()
}

/// The one datagram the endpoint wants sent.
fn one_sent(ep: &mut Endpoint) -> Message {
    let mut out = sent(ep);
    assert_eq!(out.len(), 1, "{out:?}");
    out.remove(0)
}

fn events(ep: &mut Endpoint) -> Vec<Event> {
    std::iter::from_fn(|| ep.poll_event()).collect()
}

fn feed(ep: &mut Endpoint, now: Instant, from: SocketAddr, m: &Message) {
    let mut b = BytesMut::new();
    m.encode(&mut b).unwrap();
    ep.handle_datagram(now, from, b.freeze());
}

/// The piggybacked answer to `request` with `code`, `options` and `payload`.
fn ack(request: &Message, code: Code, options: Options, payload: &'static [u8]) -> Message {
    Message {
        mtype: MessageType::Acknowledgement,
        code,
        message_id: request.message_id,
        token: request.token,
        options,
        payload: Bytes::from_static(payload),
    }
}

fn content(request: &Message, payload: &'static [u8]) -> Message {
    ack(request, Code::CONTENT, Options::new(), payload)
}

fn responses(ep: &mut Endpoint) -> Vec<(RequestId, Bytes)> {
    events(ep)
        .into_iter()
        .map(|e| match e {
            Event::Response { id, response } => (id, response.payload),
            other => panic!("{other:?}"),
        })
        .collect()
}

#[test]
fn the_chosen_token_goes_on_the_wire_and_matches_the_response() {
    let mut ep = Endpoint::new(EndpointConfig::default(), 1);
    let token = tok(b"tern");
    let id = ep
        .request(Instant::ZERO, server(), get_with(token))
        .unwrap();
    let get = one_sent(&mut ep);
    assert_eq!(get.token, token);
    feed(&mut ep, Instant::ZERO, server(), &content(&get, b"hi"));
    assert_eq!(responses(&mut ep), [(id, Bytes::from_static(b"hi"))]);
}

#[test]
fn a_chosen_token_may_be_longer_or_shorter_than_the_drawn_ones() {
    let config = EndpointConfig {
        token_length: 2,
        ..EndpointConfig::default()
    };
    let mut ep = Endpoint::new(config, 2);
    for (i, bytes) in [&[1u8, 2, 3, 4, 5, 6, 7, 8][..], &[9], &[]]
        .iter()
        .enumerate()
    {
        let now = Instant::from_millis(i as u64);
        ep.request(now, server(), get_with(tok(bytes))).unwrap();
        let get = one_sent(&mut ep);
        assert_eq!(get.token.as_bytes(), *bytes);
        feed(&mut ep, now, server(), &content(&get, b""));
        assert_eq!(responses(&mut ep).len(), 1);
    }
}

#[test]
fn a_token_awaiting_its_response_is_refused_to_the_same_peer_only() {
    let mut ep = Endpoint::new(EndpointConfig::default(), 3);
    let token = tok(&[0xab, 0xcd]);
    ep.request(Instant::ZERO, server(), get_with(token))
        .unwrap();
    let first = one_sent(&mut ep);
    assert_eq!(
        ep.request(Instant::ZERO, server(), get_with(token)),
        Err(EndpointError::TokenInUse)
    );
    // Nothing was sent or started for the refused request.
    assert!(sent(&mut ep).is_empty());
    assert_eq!(ep.requests_len(), 1);
    // Tokens are per peer (RFC 7252 §5.3.2 matches by endpoint and token).
    ep.request(Instant::ZERO, other_server(), get_with(token))
        .unwrap();
    assert_eq!(one_sent(&mut ep).token, token);
    // The first exchange still gets its own response.
    feed(&mut ep, Instant::ZERO, server(), &content(&first, b"1"));
    assert_eq!(responses(&mut ep).len(), 1);
}

#[test]
fn a_token_drawn_by_the_endpoint_is_refused_too() {
    let mut ep = Endpoint::new(EndpointConfig::default(), 4);
    ep.request(Instant::ZERO, server(), Request::get("a").unwrap())
        .unwrap();
    let drawn = one_sent(&mut ep).token;
    assert_eq!(
        ep.request(Instant::ZERO, server(), get_with(drawn)),
        Err(EndpointError::TokenInUse)
    );
}

#[test]
fn a_queued_request_holds_its_chosen_token() {
    // NSTART = 1: the second request waits behind the first, and its token is taken
    // already.
    let mut ep = Endpoint::new(EndpointConfig::default(), 5);
    let token = tok(b"q");
    ep.request(Instant::ZERO, server(), Request::get("a").unwrap())
        .unwrap();
    let first = one_sent(&mut ep);
    let queued = ep
        .request(Instant::ZERO, server(), get_with(token))
        .unwrap();
    assert!(sent(&mut ep).is_empty());
    assert_eq!(
        ep.request(Instant::ZERO, server(), get_with(token)),
        Err(EndpointError::TokenInUse)
    );
    // When the first ends, the queued one goes with the token it was given.
    feed(&mut ep, Instant::ZERO, server(), &content(&first, b""));
    let second = one_sent(&mut ep);
    assert_eq!(second.token, token);
    feed(&mut ep, Instant::ZERO, server(), &content(&second, b"2"));
    let got = responses(&mut ep);
    assert_eq!(got.last(), Some(&(queued, Bytes::from_static(b"2"))));
}

#[test]
fn a_released_token_is_refused_until_exchange_lifetime_has_passed() {
    let config = EndpointConfig::default();
    let lifetime = config.transmission.exchange_lifetime();
    let mut ep = Endpoint::new(config, 6);
    let token = tok(b"again");
    ep.request(Instant::ZERO, server(), get_with(token))
        .unwrap();
    let get = one_sent(&mut ep);
    let answered = Instant::from_millis(100);
    feed(&mut ep, answered, server(), &content(&get, b""));
    assert_eq!(responses(&mut ep).len(), 1);

    // A late separate response to the finished exchange could still come: refused, not
    // replaced by another token.
    let just_before = answered + (lifetime - Duration::from_millis(1));
    assert_eq!(
        ep.request(just_before, server(), get_with(token)),
        Err(EndpointError::TokenRecentlyUsed)
    );
    assert!(sent(&mut ep).is_empty());
    // Another peer never had it.
    ep.request(just_before, other_server(), get_with(token))
        .unwrap();
    assert_eq!(one_sent(&mut ep).token, token);
    // Once EXCHANGE_LIFETIME has passed since its release, it is free again.
    ep.request(answered + lifetime, server(), get_with(token))
        .unwrap();
    assert_eq!(one_sent(&mut ep).token, token);
}

#[test]
fn a_cancelled_request_releases_its_token_like_an_answered_one() {
    let mut ep = Endpoint::new(EndpointConfig::default(), 7);
    let token = tok(b"c");
    let id = ep
        .request(Instant::ZERO, server(), get_with(token))
        .unwrap();
    one_sent(&mut ep);
    ep.cancel(Instant::ZERO, id);
    assert_eq!(
        ep.request(Instant::ZERO, server(), get_with(token)),
        Err(EndpointError::TokenRecentlyUsed)
    );
}

#[test]
fn only_the_first_block_of_a_body_carries_the_chosen_token() {
    // A body of 2,048 bytes goes in two Block1 blocks of 1,024; each block is a request of
    // its own, and the second draws a token of its own (a late answer to the first block
    // must not be taken for the second's).
    let mut ep = Endpoint::new(EndpointConfig::default(), 8);
    let token = tok(b"blk");
    let put = Request::builder(Code::PUT)
        .path("big")
        .payload(vec![7u8; 2048])
        .token(token)
        .build()
        .unwrap();
    let id = ep.request(Instant::ZERO, server(), put).unwrap();
    let first = one_sent(&mut ep);
    assert_eq!(first.token, token);
    assert_eq!(first.options.block1(false).unwrap().unwrap().num(), 0);
    let block0 = Options::builder()
        .push_block1(Block::new(0, true, 6).unwrap())
        .build()
        .unwrap();
    feed(
        &mut ep,
        Instant::ZERO,
        server(),
        &ack(&first, Code::CONTINUE, block0, b""),
    );
    let second = one_sent(&mut ep);
    assert_eq!(second.options.block1(false).unwrap().unwrap().num(), 1);
    assert_ne!(second.token, token);
    let block1 = Options::builder()
        .push_block1(Block::new(1, false, 6).unwrap())
        .build()
        .unwrap();
    feed(
        &mut ep,
        Instant::ZERO,
        server(),
        &ack(&second, Code::CHANGED, block1, b""),
    );
    assert_eq!(responses(&mut ep), [(id, Bytes::new())]);
}

#[test]
fn follow_ups_never_draw_the_token_a_queued_request_holds() {
    // One-byte tokens: a follow-up for the next block of a response (which goes before
    // the queue, RFC 7959) would hit the queued request's chosen token once in 256 draws
    // if draws did not avoid it. Over many seeds, none does.
    let config = EndpointConfig {
        token_length: 1,
        ..EndpointConfig::default()
    };
    let chosen = tok(&[0x42]);
    for seed in 0..2000 {
        let mut ep = Endpoint::new(config.clone(), seed);
        ep.request(Instant::ZERO, server(), Request::get("big").unwrap())
            .unwrap();
        let first = one_sent(&mut ep);
        if first.token == chosen {
            continue;
        }
        ep.request(Instant::ZERO, server(), get_with(chosen))
            .unwrap();
        let more = Options::builder()
            .push_block2(Block::new(0, true, 0).unwrap())
            .build()
            .unwrap();
        feed(
            &mut ep,
            Instant::ZERO,
            server(),
            &ack(&first, Code::CONTENT, more, &[1; 16]),
        );
        let follow_up = one_sent(&mut ep);
        assert_eq!(follow_up.options.block2(false).unwrap().unwrap().num(), 1);
        assert_ne!(follow_up.token, chosen, "seed {seed}");
    }
}

fn notification(token: Token, mid: u16, seq: u32, payload: &'static [u8]) -> Message {
    Message {
        mtype: MessageType::NonConfirmable,
        code: Code::CONTENT,
        message_id: mid,
        token,
        options: Options::builder()
            .push_observe(Observe::new(seq).unwrap())
            .push_max_age(10)
            .build()
            .unwrap(),
        payload: Bytes::from_static(payload),
    }
}

#[test]
fn an_observation_keeps_its_chosen_token_for_every_registration() {
    let mut ep = Endpoint::new(EndpointConfig::default(), 9);
    let token = tok(b"obs");
    let id = ep
        .observe(Instant::ZERO, server(), get_with(token))
        .unwrap();
    let register = one_sent(&mut ep);
    assert_eq!(register.token, token);
    assert_eq!(register.options.observe().unwrap(), Some(Observe::REGISTER));
    let first = ack(
        &register,
        Code::CONTENT,
        notification(token, 0, 1, b"").options,
        b"1",
    );
    feed(&mut ep, Instant::ZERO, server(), &first);
    feed(
        &mut ep,
        Instant::from_millis(10),
        server(),
        &notification(token, 0x100, 2, b"2"),
    );
    let bodies: Vec<Bytes> = events(&mut ep)
        .into_iter()
        .map(|e| match e {
            Event::Notification { id: got, response } if got == id => response.payload,
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(bodies, ["1", "2"]);

    // The token is the observation's while it lasts.
    assert_eq!(
        ep.request(Instant::from_millis(20), server(), get_with(token)),
        Err(EndpointError::TokenInUse)
    );
    assert_eq!(
        ep.observe(Instant::from_millis(20), server(), get_with(token)),
        Err(EndpointError::TokenInUse)
    );

    // Max-Age (10 s) and MAX_LATENCY pass without a notification: it registers again on
    // the same token (RFC 7641 §3.3.1).
    let mut reregistration = None;
    while let Some(at) = ep.poll_timeout() {
        ep.handle_timeout(at);
        if let Some(m) = sent(&mut ep).into_iter().next() {
            reregistration = Some(m);
            break;
        }
    }
    let reregistration = reregistration.expect("a re-registration");
    assert_eq!(reregistration.token, token);
    assert_eq!(
        reregistration.options.observe().unwrap(),
        Some(Observe::REGISTER)
    );
    let now = Instant::from_millis(200_000);
    feed(
        &mut ep,
        now,
        server(),
        &ack(
            &reregistration,
            Code::CONTENT,
            notification(token, 0, 3, b"").options,
            b"3",
        ),
    );
    events(&mut ep);

    // Cancelling deregisters on that token, after which it rests like any released one.
    ep.cancel(now, id);
    let deregister = one_sent(&mut ep);
    assert_eq!(deregister.token, token);
    assert_eq!(
        deregister.options.observe().unwrap(),
        Some(Observe::DEREGISTER)
    );
    assert_eq!(
        ep.request(now, server(), get_with(token)),
        Err(EndpointError::TokenInUse)
    );
    feed(&mut ep, now, server(), &content(&deregister, b""));
    assert!(events(&mut ep).is_empty());
    assert_eq!(
        ep.request(now, server(), get_with(token)),
        Err(EndpointError::TokenRecentlyUsed)
    );
}

#[test]
fn the_errors_say_what_is_wrong() {
    assert!(EndpointError::TokenInUse.to_string().contains("in use"));
    assert!(
        EndpointError::TokenRecentlyUsed
            .to_string()
            .contains("EXCHANGE_LIFETIME")
    );
}

/// Found by the `coap_client` fuzz target: with a token length of 0 there is one token per
/// peer. A request queued behind NSTART would not take it while an exchange queued *behind*
/// the request was to send it, and that one waited behind the request: both, forever. The
/// request now takes the token (the later exchange waits for it to end).
#[test]
fn with_token_length_0_a_queued_request_does_not_wait_for_a_token_held_behind_it() {
    let mut config = EndpointConfig {
        token_length: 0,
        ..EndpointConfig::default()
    };
    config.transmission.nstart = 1;
    let mut ep = Endpoint::new(config, 21);
    // Outstanding on a chosen token, so that the empty one is free.
    ep.request(Instant::ZERO, server(), get_with(tok(&[7])))
        .unwrap();
    let first = one_sent(&mut ep);
    // Queued behind NSTART: a request that draws the (only, empty) token, then one that
    // chose the empty token itself.
    let drawn = ep
        .request(Instant::ZERO, server(), Request::get("drawn").unwrap())
        .unwrap();
    let chosen = ep
        .request(Instant::ZERO, server(), get_with(Token::EMPTY))
        .unwrap();
    assert!(sent(&mut ep).is_empty());
    feed(
        &mut ep,
        Instant::from_millis(10),
        server(),
        &content(&first, b"1"),
    );
    let second = one_sent(&mut ep);
    assert_eq!(second.token, Token::EMPTY);
    feed(
        &mut ep,
        Instant::from_millis(20),
        server(),
        &content(&second, b"2"),
    );
    let third = one_sent(&mut ep);
    assert_eq!(third.token, Token::EMPTY);
    feed(
        &mut ep,
        Instant::from_millis(30),
        server(),
        &content(&third, b"3"),
    );
    let done: Vec<RequestId> = events(&mut ep)
        .into_iter()
        .filter_map(|e| match e {
            Event::Response { id, .. } => Some(id),
            _ => None,
        })
        .collect();
    assert!(done.contains(&drawn) && done.contains(&chosen), "{done:?}");
    assert_eq!(ep.requests_len(), 0);
}
