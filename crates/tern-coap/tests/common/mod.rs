//! What the test files share: for driving one `Endpoint` by hand (the test plays the peer
//! with hand-built datagrams on a virtual clock, feeds them in and reads back what the
//! endpoint sent and reported; two endpoints talk through the network simulation in `sim/`
//! instead), and [`rebuilt`] for the codec's round trips. Used as `mod common;`.
#![allow(dead_code)]

use core::net::SocketAddr;

use bytes::{Bytes, BytesMut};
use tern_coap::endpoint::{Endpoint, Event, IncomingId, Instant, Request};
use tern_coap::{Message, MessageType, Options, Token};

pub(crate) const CON: MessageType = MessageType::Confirmable;
pub(crate) const NON: MessageType = MessageType::NonConfirmable;
pub(crate) const ACK: MessageType = MessageType::Acknowledgement;
pub(crate) const RST: MessageType = MessageType::Reset;

/// The peer the test plays.
pub(crate) fn peer() -> SocketAddr {
    "192.0.2.1:5683".parse().unwrap()
}

/// A second peer, for what must be told apart by the address.
pub(crate) fn other_peer() -> SocketAddr {
    "192.0.2.2:5683".parse().unwrap()
}

/// The virtual clock at `millis`.
pub(crate) fn t(millis: u64) -> Instant {
    Instant::from_millis(millis)
}

/// Every datagram the endpoint wants sent, decoded, with its destination.
pub(crate) fn transmits(ep: &mut Endpoint) -> Vec<(SocketAddr, Message)> {
    std::iter::from_fn(|| ep.poll_transmit())
        .map(|t| (t.destination, Message::decode(t.datagram).unwrap()))
        .collect()
}

/// Every datagram the endpoint wants sent, decoded, wherever it goes.
pub(crate) fn sent(ep: &mut Endpoint) -> Vec<Message> {
    transmits(ep).into_iter().map(|(_, m)| m).collect()
}

/// Every datagram sent, decoded, checking they all go to `to`.
pub(crate) fn sent_to(ep: &mut Endpoint, to: SocketAddr) -> Vec<Message> {
    transmits(ep)
        .into_iter()
        .map(|(d, m)| {
            assert_eq!(d, to);
            m
        })
        .collect()
}

/// Every event the endpoint has for the application.
pub(crate) fn events(ep: &mut Endpoint) -> Vec<Event> {
    std::iter::from_fn(|| ep.poll_event()).collect()
}

/// `m` encoded, as a datagram.
pub(crate) fn wire(m: &Message) -> Bytes {
    let mut b = BytesMut::new();
    m.encode(&mut b).unwrap();
    b.freeze()
}

/// Feeds `m` from [`peer`] at `now`.
pub(crate) fn feed(ep: &mut Endpoint, now: Instant, m: &Message) {
    feed_from(ep, now, peer(), m);
}

/// Feeds `m` from `from` at `now`.
pub(crate) fn feed_from(ep: &mut Endpoint, now: Instant, from: SocketAddr, m: &Message) {
    ep.handle_datagram(now, from, wire(m));
}

/// The one event, a request for the application; panics on anything else.
pub(crate) fn the_request(ep: &mut Endpoint) -> (IncomingId, Request) {
    match events(ep).as_slice() {
        [Event::Request { id, request, .. }] => (*id, request.clone()),
        other => panic!("expected one request, got {other:?}"),
    }
}

/// A body of `len` bytes whose every byte tells its offset (xor `salt`, to tell versions
/// apart), so a misplaced block shows.
pub(crate) fn body(len: usize, salt: u8) -> Bytes {
    (0..len)
        .map(|i| (i % 251) as u8 ^ salt)
        .collect::<Vec<u8>>()
        .into()
}

/// The message rebuilt from its parts: a fresh token, the options pushed one by one into a
/// builder, a copied payload. Encoding this checks that the format's encoding is unique, which
/// re-encoding the decoded message (whose options are the received bytes) cannot show.
pub(crate) fn rebuilt(m: &Message) -> Message {
    let options = m
        .options
        .iter()
        .fold(Options::builder(), |b, o| {
            b.push(o.number, Bytes::copy_from_slice(o.value))
        })
        .build()
        .expect("decoded options rebuild");
    Message {
        mtype: m.mtype,
        code: m.code,
        message_id: m.message_id,
        token: Token::new(m.token.as_bytes()).expect("a decoded token is 0-8 bytes"),
        options,
        payload: Bytes::copy_from_slice(&m.payload),
    }
}
