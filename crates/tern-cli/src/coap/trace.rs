//! `-v`: one line on standard error per datagram sent or received, e.g.
//!
//! ```text
//! > CON GET mid=41234 token=3f9a1c0e /hello
//! < ACK 2.05 Content mid=41234 token=3f9a1c0e (13 bytes)
//! ```
//!
//! The lines come from tern-blocking's datagram hook, so they show what went over the socket
//! (retransmissions, empty ACKs, resets), not what the endpoint made of it.

use bytes::Bytes;
use std::fmt::Write as _;
use tern_blocking::coap::{Datagram, Direction};
use tern_coap::{Message, MessageType};

use crate::hex;

/// The `-v` line for a datagram; `with_peer` shows the other side's address (a server has
/// many).
pub(crate) fn line(datagram: &Datagram<'_>, with_peer: bool) -> String {
    let mut out = String::new();
    out.push(match datagram.direction {
        Direction::Sent => '>',
        Direction::Received => '<',
    });
    if with_peer {
        let _ = write!(out, " {}", datagram.peer);
    }
    match Message::decode(Bytes::copy_from_slice(datagram.bytes)) {
        Ok(m) => describe(&mut out, &m),
        Err(e) => {
            let _ = write!(
                out,
                " {} bytes, not a CoAP message: {e}",
                datagram.bytes.len()
            );
        }
    }
    out
}

fn describe(out: &mut String, m: &Message) {
    let _ = write!(out, " {}", m.mtype.name());
    if m.code.is_request() {
        let _ = write!(out, " {}", m.code.name().unwrap_or("?"));
    } else {
        let _ = write!(out, " {}", m.code);
    }
    let _ = write!(out, " mid={}", m.message_id);
    if !m.token.is_empty() {
        let _ = write!(out, " token={}", hex::encode(m.token.as_bytes()));
    }
    if m.code.is_request() {
        let path: Vec<&str> = m
            .options
            .uri_path()
            .map(Iterator::collect)
            .unwrap_or_default();
        let _ = write!(out, " /{}", path.join("/"));
        let query: Vec<&str> = m
            .options
            .uri_query()
            .map(Iterator::collect)
            .unwrap_or_default();
        if !query.is_empty() {
            let _ = write!(out, "?{}", query.join("&"));
        }
    }
    let location: Vec<&str> = m
        .options
        .location_path()
        .map(Iterator::collect)
        .unwrap_or_default();
    if !location.is_empty() {
        let _ = write!(out, " location=/{}", location.join("/"));
    }
    if let Ok(Some(observe)) = m.options.observe() {
        let _ = write!(out, " observe={}", observe.get());
    }
    for (name, block) in [
        ("block1", m.options.block1(false)),
        ("block2", m.options.block2(false)),
    ] {
        if let Ok(Some(b)) = block {
            let more = if b.more() { "+" } else { "" };
            let _ = write!(out, " {name}={}{more}/{}", b.num(), b.size());
        }
    }
    if !m.payload.is_empty() {
        let _ = write!(out, " ({} bytes)", m.payload.len());
    }
}

/// The type of the message that carried a response (ACK when piggybacked, CON or NON when
/// separate), if `datagram` is one received.
pub(crate) fn response_type(datagram: &Datagram<'_>) -> Option<MessageType> {
    if datagram.direction != Direction::Received {
        return None;
    }
    let m = Message::decode(Bytes::copy_from_slice(datagram.bytes)).ok()?;
    m.code.is_response().then_some(m.mtype)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn received(hex_text: &str) -> String {
        let bytes = hex::decode(hex_text).unwrap();
        let d = Datagram {
            direction: Direction::Received,
            peer: "127.0.0.1:5683".parse().unwrap(),
            bytes: &bytes,
        };
        line(&d, false)
    }

    #[test]
    fn requests_show_their_path_and_responses_their_code() {
        // aiocoap's CON GET /hello, and an ACK 2.05 "hello from aiocoap".
        assert_eq!(
            received("42015e7c19acb568656c6c6f"),
            "< CON GET mid=24188 token=19ac /hello"
        );
        assert_eq!(
            received("62455e7c19ac42123480211eff68656c6c6f2066726f6d2061696f636f6170"),
            "< ACK 2.05 Content mid=24188 token=19ac (18 bytes)"
        );
    }

    #[test]
    fn empty_messages_blocks_and_garbage() {
        assert_eq!(received("70000102"), "< RST 0.00 Empty mid=258");
        // libcoap's Block2 2.05 (block 92 of 32 bytes, more to come).
        let block = received(
            "6745c21d5d0000000062344101d20605c9520bb8ff303030363420626c6f636b312064617461206c696e6520666f72206c6962636f",
        );
        assert!(block.contains(" block2=92+/32 "), "{block}");
        assert_eq!(
            received("ff"),
            "< 1 bytes, not a CoAP message: shorter than the 4-byte header (RFC 7252 §3)"
        );
    }

    #[test]
    fn a_server_shows_the_peer() {
        let bytes = hex::decode("40000001").unwrap();
        let d = Datagram {
            direction: Direction::Sent,
            peer: "[::1]:40000".parse().unwrap(),
            bytes: &bytes,
        };
        assert_eq!(line(&d, true), "> [::1]:40000 CON 0.00 Empty mid=1");
    }
}
