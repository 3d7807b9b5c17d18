//! Drives the server side of one MQTT connection (`tern_broker::connection::Connection`)
//! with a client's arbitrary bytes, valid packets, time, a closing transport and the broker
//! core's answers and commands. It must never panic, never write bytes the strict codec
//! rejects, never leave its next deadline in the past after a timeout, keep its windows
//! within their limits, and end with at most one final event, after which nothing follows.
//!
//! Input: byte 0 picks the server configuration (`config`), byte 1 the core's policy (bit 0
//! refuse every CONNECT, bit 1 claim a session, bit 2 withhold acknowledgements, bit 3 run
//! enhanced authentication: answer a CONNECT with an Authentication Method, and every AUTH,
//! with AUTH 0x18 twice, then with success, or with failure when bit 4 is set too), then
//! records of an operation byte (low three bits) and its operands: 0 client bytes (u16
//! length, big-endian; fed in chunks of `op >> 3` bytes), 1 time passes (u16 × 4 ms), 2
//! timeout, 3 transport closed, 4 the core sends a message (QoS `(op >> 3) % 3`, one byte
//! length × 4), 5 the core disconnects, 6 a valid packet from the generator, 7 withheld
//! acknowledgements go out. Lengths are explicit so that seeds can be written by hand.
#![no_main]

use std::collections::VecDeque;
use std::time::Duration;

use arbitrary::Unstructured;
use bytes::{Bytes, BytesMut};
use libfuzzer_sys::fuzz_target;
use tern_broker::config::{Limits, ServerConfig};
use tern_broker::connection::{Connection, ConnectionEvent};
use tern_mqtt::arbitrary::packet;
use tern_mqtt::packet::MAX_PACKET_SIZE;
use tern_mqtt::{
    Codec, Decoded, MqttString, PacketId, ProtocolVersion, Publish, QoS, ReasonCode, TopicName,
};
use tern_time::Instant;

/// A big-endian u16 from the input (zero once it runs out).
fn be16(u: &mut Unstructured<'_>) -> u16 {
    match u.bytes(2) {
        Ok(&[hi, lo]) => u16::from_be_bytes([hi, lo]),
        _ => 0,
    }
}

fn config(flags: u8) -> ServerConfig {
    let bit = |n: u8| flags & (1 << n) != 0;
    let mut c = ServerConfig::new()
        .with_retain_available(!bit(0))
        .with_maximum_qos(if bit(1) {
            QoS::AtLeastOnce
        } else {
            QoS::ExactlyOnce
        })
        .with_wildcard_subscription_available(!bit(2))
        .with_shared_subscription_available(!bit(3))
        .with_subscription_identifiers_available(!bit(4))
        .with_server_keep_alive(bit(6).then_some(2))
        .with_allow_empty_client_id(!bit(7))
        .with_connect_timeout(Duration::from_secs(3));
    if bit(5) {
        c = c.with_limits(
            Limits::new()
                .with_max_packet_size(512)
                .with_receive_maximum(2)
                .with_topic_alias_maximum(2)
                .with_max_topic_len(32)
                .with_max_topic_levels(4)
                .with_max_keep_alive(30)
                .with_max_client_id_len(8),
        );
    }
    c
}

/// What a decoded output must be at: the negotiated level, or for an answer written before
/// the level was known, 5.0 or the 3.1.1 form of "unacceptable protocol version".
fn check_output(conn: &Connection, out: &mut BytesMut) {
    let versions = match conn.protocol_version() {
        Some(v) => vec![v],
        None => vec![ProtocolVersion::V5, ProtocolVersion::V3_1_1],
    };
    for v in versions {
        let mut copy = out.clone();
        let codec = Codec::new(v).with_max_incoming(MAX_PACKET_SIZE);
        let mut ok = true;
        loop {
            match codec.decode(&mut copy) {
                Ok(Decoded::Packet(_)) => {}
                Ok(Decoded::Incomplete { .. }) => break,
                Err(_) => {
                    ok = false;
                    break;
                }
            }
        }
        if ok && copy.is_empty() {
            out.clear();
            return;
        }
    }
    panic!("the connection wrote bytes the strict codec rejects: {out:02x?}");
}

fuzz_target!(|data: &[u8]| {
    let [flags, policy, rest @ ..] = data else {
        return;
    };
    let server = config(*flags);
    let refuse = policy & 1 != 0;
    let session_present = policy & 2 != 0;
    let withhold_acks = policy & 4 != 0;
    let enhanced_auth = policy & 8 != 0;
    let auth_fails = policy & 16 != 0;
    // Steps of the current authentication exchange; even ones continue it.
    let mut auth_steps = 0u32;
    let mut u = Unstructured::new(rest);
    let mut now = Instant::from_millis(1);
    let mut conn = Connection::new(now, &server);
    let mut out = BytesMut::new();
    let mut finals = 0;
    // Acknowledgements the core holds back (policy bit 2) until an operation releases them.
    let mut withheld: VecDeque<(QoS, PacketId)> = VecDeque::new();
    let mut next_out_id: u16 = 1;

    for _ in 0..128 {
        let Ok(&[op]) = u.bytes(1) else { break };
        match op % 8 {
            0 => {
                let len = usize::from(be16(&mut u));
                let Ok(bytes) = u.bytes(len.min(u.len())) else {
                    break;
                };
                let chunk = usize::from(op >> 3).max(1);
                for piece in bytes.chunks(chunk) {
                    conn.handle_read(now, piece);
                }
            }
            1 => now = now + Duration::from_millis(u64::from(be16(&mut u)) * 4),
            2 => {
                conn.handle_timeout(now);
                if let Some(deadline) = conn.poll_timeout() {
                    assert!(deadline > now, "deadline {deadline:?} not after {now:?}");
                }
            }
            3 => conn.handle_closed(now),
            4 => {
                let Ok(&[len]) = u.bytes(1) else { break };
                let qos = QoS::from_u8((op >> 3) % 3).unwrap_or_default();
                let Ok(topic) = TopicName::new("to/client") else {
                    return;
                };
                let mut p = Publish::new(topic, Bytes::from(vec![0x5a; usize::from(len) * 4]));
                p.qos = qos;
                if qos != QoS::AtMostOnce {
                    p.packet_id = PacketId::new(next_out_id);
                    next_out_id = next_out_id.checked_add(1).unwrap_or(1);
                }
                let _ = conn.send_publish(p);
            }
            5 => {
                let code =
                    ReasonCode::from_u8(op.wrapping_mul(17)).unwrap_or(ReasonCode::ServerBusy);
                let _ = conn.disconnect(code);
            }
            6 => {
                let version = conn.protocol_version().unwrap_or(ProtocolVersion::V5);
                let Ok(p) = packet(&mut u, version) else {
                    break;
                };
                let mut wire = BytesMut::new();
                if p.encode(version, MAX_PACKET_SIZE, &mut wire).is_ok() {
                    conn.handle_read(now, &wire);
                }
            }
            _ => {
                while let Some((qos, id)) = withheld.pop_front() {
                    let _ = match qos {
                        QoS::AtLeastOnce => conn.puback(id, ReasonCode::Success),
                        _ => conn.pubrec(id, ReasonCode::Success),
                    };
                }
            }
        }
        while let Some(event) = conn.poll_event() {
            assert_eq!(finals, 0, "an event after the final one: {event:?}");
            match event {
                ConnectionEvent::Connect(c)
                    if enhanced_auth && c.properties.authentication_method().is_some() =>
                {
                    auth_steps = 1;
                    // Too large for the client: the CONNECT still awaits an answer.
                    let _ = conn.continue_auth(now, Bytes::from_static(b"challenge"));
                }
                ConnectionEvent::Auth { reason_code, .. } => {
                    auth_steps += 1;
                    if reason_code == ReasonCode::ReAuthenticate {
                        auth_steps = 0;
                    }
                    let connected = conn.is_connected();
                    if auth_steps % 2 == 0 {
                        let _ = conn.continue_auth(now, Bytes::from_static(b"again"));
                    } else if auth_fails && connected {
                        conn.disconnect(ReasonCode::NotAuthorized).unwrap();
                    } else if auth_fails {
                        conn.refuse(ReasonCode::NotAuthorized).unwrap();
                    } else if connected {
                        let _ = conn.reauth_success(Some(Bytes::from_static(b"ok")));
                        auth_steps = 0;
                    } else {
                        let _ = conn.accept_with_auth(
                            now,
                            session_present,
                            MqttString::new("auto").ok(),
                            Some(Bytes::from_static(b"ok")),
                        );
                        auth_steps = 0;
                    }
                }
                ConnectionEvent::Connect(c) => {
                    if refuse {
                        conn.refuse(ReasonCode::NotAuthorized).unwrap();
                    } else {
                        let assigned = c.client_id.is_empty().then(|| MqttString::new("auto"));
                        let assigned = assigned.and_then(Result::ok);
                        conn.accept(now, session_present, assigned).unwrap();
                    }
                }
                ConnectionEvent::Publish(p) => {
                    if let Some(id) = p.packet_id {
                        if withhold_acks {
                            withheld.push_back((p.qos, id));
                        } else if p.qos == QoS::AtLeastOnce {
                            let _ = conn.puback(id, ReasonCode::Success);
                        } else {
                            let _ = conn.pubrec(id, ReasonCode::Success);
                        }
                    }
                }
                ConnectionEvent::PubRel(r) => {
                    let _ = conn.pubcomp(r.packet_id, ReasonCode::Success);
                }
                ConnectionEvent::PubRec(r) if !r.reason_code.is_error() => {
                    let _ = conn.send_pubrel(r.packet_id);
                }
                ConnectionEvent::Subscribe(s) => {
                    let codes = s.subscriptions.iter().map(|s| match s.options.qos {
                        QoS::AtMostOnce => ReasonCode::Success,
                        QoS::AtLeastOnce => ReasonCode::GrantedQoS1,
                        QoS::ExactlyOnce => ReasonCode::GrantedQoS2,
                    });
                    let _ = conn.suback(s.packet_id, codes.collect());
                }
                ConnectionEvent::Unsubscribe(un) => {
                    let codes = un.filters.iter().map(|_| ReasonCode::Success).collect();
                    let _ = conn.unsuback(un.packet_id, codes);
                }
                ConnectionEvent::Disconnected { .. } | ConnectionEvent::Closed { .. } => {
                    finals += 1;
                }
                _ => {}
            }
        }
        assert_eq!(finals == 1, conn.wants_close());
        assert!(conn.outbound_inflight() <= usize::from(conn.client_receive_maximum()));
        assert!(conn.inbound_inflight() <= usize::from(server.limits().receive_maximum().max(1)));
        conn.poll_transmit(&mut out);
        check_output(&conn, &mut out);
    }
    conn.handle_closed(now);
    while conn.poll_event().is_some() {
        finals += 1;
    }
    assert_eq!(finals, 1, "exactly one final event per connection");
});
