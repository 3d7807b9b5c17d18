//! One test per normative rule the codec enforces, named by the statement id (or the section
//! where the specification has no id).
//!
//! Each decode-side test builds the packet by hand, checks that the same packet without the
//! fault decodes (so the error can only come from the rule under test), then asserts the exact
//! [`DecodeError`], its MQTT 5.0 reason code, that its Display text names the rule, and that
//! the buffer is left as it was. Encode-side tests assert each [`EncodeError`] for the input
//! that should produce it, with the caller's buffer untouched.

mod connect;
mod encode;
mod fields;
mod framing;
mod properties;
mod reason_codes;
mod server;
mod subscribe;

use bytes::{Bytes, BytesMut};
use tern_mqtt::packet::MAX_PACKET_SIZE;
use tern_mqtt::string::StringError;
use tern_mqtt::topic::TopicError;
use tern_mqtt::{
    Auth, Codec, ConnAck, Connect, DecodeError, Decoded, Disconnect, EncodeError, MqttString,
    Packet, PacketId, PacketType, Properties, Property, PropertyId, ProtocolVersion, PubAck,
    PubComp, PubRec, PubRel, Publish, QoS, ReasonCode, RetainHandling, SubAck, Subscribe,
    Subscription, SubscriptionOptions, TopicFilter, TopicName, UnsubAck, Unsubscribe, Will,
};

const V3: ProtocolVersion = ProtocolVersion::V3_1_1;
const V5: ProtocolVersion = ProtocolVersion::V5;
const RC_MALFORMED: ReasonCode = ReasonCode::MalformedPacket;
const RC_PROTOCOL: ReasonCode = ReasonCode::ProtocolError;

// ---------------------------------------------------------------------------------------------
// Building packets by hand

/// A whole packet: the first byte, the Remaining Length, the body.
fn packet(first: u8, body: &[u8]) -> Vec<u8> {
    let mut out = vec![first];
    varint(&mut out, body.len());
    out.extend_from_slice(body);
    out
}

fn varint(out: &mut Vec<u8>, mut n: usize) {
    loop {
        let mut b = (n % 128) as u8;
        n /= 128;
        if n > 0 {
            b |= 0x80;
        }
        out.push(b);
        if n == 0 {
            break;
        }
    }
}

/// A two-byte length, then the bytes (strings and binary data).
fn s(x: &[u8]) -> Vec<u8> {
    let mut out = (x.len() as u16).to_be_bytes().to_vec();
    out.extend_from_slice(x);
    out
}

/// A property block: Property Length, then the properties.
fn props(x: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    varint(&mut out, x.len());
    out.extend_from_slice(x);
    out
}

fn cat(parts: &[&[u8]]) -> Vec<u8> {
    parts.concat()
}

/// CONNECT with protocol name "MQTT" at `level`, `flags`, keep alive 60, an optional property
/// block (5.0) and the payload.
fn connect(level: u8, flags: u8, properties: Option<&[u8]>, payload: &[u8]) -> Vec<u8> {
    let mut body = cat(&[&s(b"MQTT"), &[level, flags, 0, 60]]);
    if let Some(p) = properties {
        body.extend_from_slice(&props(p));
    }
    body.extend_from_slice(payload);
    packet(0x10, &body)
}

fn connect_v3(flags: u8, payload: &[u8]) -> Vec<u8> {
    connect(4, flags, None, payload)
}

fn connect_v5(flags: u8, payload: &[u8]) -> Vec<u8> {
    connect(5, flags, Some(&[]), payload)
}

/// A 5.0 QoS 1 PUBLISH to `topic` with the property bytes `p` and payload "hi".
fn publish_v5(topic: &[u8], p: &[u8]) -> Vec<u8> {
    packet(0x32, &cat(&[&s(topic), &[0, 1], &props(p), b"hi"]))
}

fn subscribe_v3(filter: &[u8], options: u8) -> Vec<u8> {
    packet(0x82, &cat(&[&[0, 1], &s(filter), &[options]]))
}

fn subscribe_v5(filter: &[u8], options: u8) -> Vec<u8> {
    packet(0x82, &cat(&[&[0, 1], &props(&[]), &s(filter), &[options]]))
}

// ---------------------------------------------------------------------------------------------
// Assertions

/// Decodes `wire` (exactly one packet) with both entry points; they must agree, and the
/// streaming one must consume exactly the packet.
#[track_caller]
fn decodes(version: ProtocolVersion, wire: &[u8]) -> Packet {
    let codec = Codec::new(version).with_max_incoming(MAX_PACKET_SIZE);
    let mut buf = BytesMut::from(wire);
    let streamed = match codec.decode(&mut buf) {
        Ok(Decoded::Packet(p)) => p,
        other => panic!("{wire:02x?} at {version}: {other:?}"),
    };
    assert!(buf.is_empty(), "left {} bytes", buf.len());
    let whole = Packet::decode(version, Bytes::copy_from_slice(wire))
        .unwrap_or_else(|e| panic!("Packet::decode of {wire:02x?}: {e}"));
    assert_eq!(streamed, whole);
    whole
}

/// `wire` breaks a rule: both entry points give `want`, whose reason code is `code` and whose
/// Display text names `rule`; the streaming decoder leaves its buffer (with a following packet)
/// as it was.
#[track_caller]
fn rejects(version: ProtocolVersion, wire: &[u8], want: DecodeError, code: ReasonCode, rule: &str) {
    let codec = Codec::new(version).with_max_incoming(MAX_PACKET_SIZE);
    let mut buf = BytesMut::from(wire);
    buf.extend_from_slice(&[0xc0, 0x00]); // a PINGREQ behind it
    let before = buf.clone();
    assert_eq!(
        codec.decode(&mut buf),
        Err(want),
        "Codec::decode of {wire:02x?} at {version}"
    );
    assert_eq!(buf, before, "the buffer changed on error");
    assert_eq!(
        Packet::decode(version, Bytes::copy_from_slice(wire)),
        Err(want),
        "Packet::decode of {wire:02x?} at {version}"
    );
    names_rule(&want, code, rule);
}

#[track_caller]
fn names_rule(e: &DecodeError, code: ReasonCode, rule: &str) {
    assert_eq!(e.reason_code(), code, "reason code of {e:?}");
    assert!(
        e.rule().contains(rule),
        "rule() of {e:?} is {:?}, not {rule}",
        e.rule()
    );
    let text = e.to_string();
    assert!(text.contains(rule), "Display {text:?} does not name {rule}");
}

/// `packet` at `version` within `max` bytes is refused with `want`; nothing is written.
#[track_caller]
fn encode_fails(
    version: ProtocolVersion,
    packet: impl Into<Packet>,
    max: usize,
    want: EncodeError,
) {
    let packet = packet.into();
    let mut buf = BytesMut::from(&b"keep"[..]);
    assert_eq!(
        packet.encode(version, max, &mut buf),
        Err(want),
        "{packet:?}"
    );
    assert_eq!(&buf[..], b"keep", "the buffer changed on error");
    let codec = Codec::new(version).with_max_outgoing(max);
    assert_eq!(codec.encode(&packet, &mut buf), Err(want));
    assert_eq!(&buf[..], b"keep", "the buffer changed on error");
    assert!(!want.to_string().is_empty());
}

/// `packet` encodes at `version`, to bytes the decoder takes back.
#[track_caller]
fn encodes(version: ProtocolVersion, packet: impl Into<Packet>) -> Vec<u8> {
    let packet = packet.into();
    let mut buf = BytesMut::new();
    packet
        .encode(version, MAX_PACKET_SIZE, &mut buf)
        .unwrap_or_else(|e| panic!("{packet:?}: {e}"));
    assert_eq!(decodes(version, &buf), packet);
    buf.to_vec()
}

fn pid(n: u16) -> PacketId {
    PacketId::new(n).unwrap()
}
