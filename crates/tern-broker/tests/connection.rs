//! The server side of one MQTT connection, driven at the packet level on a virtual clock.
//! Tests are named by the specification statement they check, where there is one.

use core::time::Duration;

use bytes::{Bytes, BytesMut};
use proptest::prelude::*;
use tern_broker::config::{Limits, ServerConfig};
use tern_broker::connection::{CloseReason, CommandError, Connection, ConnectionEvent, WillAction};
use tern_mqtt::packet::MAX_PACKET_SIZE;
use tern_mqtt::{
    Codec, Connect, DecodeError, Decoded, Disconnect, MqttString, Packet, PacketId, Properties,
    Property, PropertyId, ProtocolVersion, PubAck, PubComp, PubRec, PubRel, Publish, QoS,
    ReasonCode, Subscribe, Subscription, TopicFilter, TopicName, Unsubscribe, Will,
};
use tern_time::Instant;

const V3_1: ProtocolVersion = ProtocolVersion::V3_1;
const V4: ProtocolVersion = ProtocolVersion::V3_1_1;
const V5: ProtocolVersion = ProtocolVersion::V5;

fn t(ms: u64) -> Instant {
    Instant::from_millis(ms)
}

fn id(n: u16) -> PacketId {
    PacketId::new(n).unwrap()
}

fn props(list: Vec<Property>) -> Properties {
    Properties::from_properties(list).unwrap()
}

/// The client end: encodes what it sends, decodes what the connection wrote.
struct Peer {
    version: ProtocolVersion,
    codec: Codec,
    received: BytesMut,
}

impl Peer {
    fn new(version: ProtocolVersion) -> Self {
        Peer {
            version,
            codec: Codec::new(version).with_max_incoming(MAX_PACKET_SIZE),
            received: BytesMut::new(),
        }
    }

    fn wire(&self, packet: impl Into<Packet>) -> BytesMut {
        let mut wire = BytesMut::new();
        packet
            .into()
            .encode(self.version, MAX_PACKET_SIZE, &mut wire)
            .unwrap();
        wire
    }

    fn send(&self, conn: &mut Connection, now: Instant, packet: impl Into<Packet>) {
        let wire = self.wire(packet);
        conn.handle_read(now, &wire);
    }

    /// Every packet the connection wrote since the last call.
    fn recv(&mut self, conn: &mut Connection) -> Vec<Packet> {
        conn.poll_transmit(&mut self.received);
        let mut out = Vec::new();
        loop {
            match self.codec.decode(&mut self.received) {
                Ok(Decoded::Packet(p)) => out.push(p),
                Ok(Decoded::Incomplete { .. }) => return out,
                Err(e) => panic!("the connection wrote bytes the codec rejects: {e}"),
            }
        }
    }

    /// The raw bytes the connection wrote since the last call.
    fn raw(&mut self, conn: &mut Connection) -> Vec<u8> {
        let mut buf = BytesMut::new();
        conn.poll_transmit(&mut buf);
        buf.to_vec()
    }
}

fn events(conn: &mut Connection) -> Vec<ConnectionEvent> {
    core::iter::from_fn(|| conn.poll_event()).collect()
}

fn connect(version: ProtocolVersion, client_id: &str) -> Connect {
    Connect::new(version, MqttString::new(client_id).unwrap())
}

/// A connection past CONNECT, accepted without a session; CONNACK already taken.
fn connected_with(config: &ServerConfig, c: Connect) -> (Connection, Peer) {
    let mut conn = Connection::new(t(0), config);
    let mut peer = Peer::new(c.protocol);
    peer.send(&mut conn, t(0), c);
    let evs = events(&mut conn);
    assert!(
        matches!(evs.as_slice(), [ConnectionEvent::Connect(_)]),
        "{evs:?}"
    );
    conn.accept(t(0), false, None).unwrap();
    let connack = peer.recv(&mut conn);
    assert!(
        matches!(connack.as_slice(), [Packet::ConnAck(a)] if a.reason_code == ReasonCode::Success)
    );
    (conn, peer)
}

fn connected(version: ProtocolVersion) -> (Connection, Peer) {
    connected_with(&ServerConfig::new(), connect(version, "c1"))
}

fn publish(topic: &str, qos: QoS, packet_id: u16) -> Publish {
    let mut p = Publish::new(TopicName::new(topic).unwrap(), "x");
    p.qos = qos;
    p.packet_id = PacketId::new(packet_id);
    p
}

fn subscribe(packet_id: u16, filters: &[&str]) -> Subscribe {
    Subscribe::new(
        id(packet_id),
        filters
            .iter()
            .map(|f| Subscription::new(TopicFilter::new(f).unwrap(), QoS::AtLeastOnce))
            .collect(),
    )
}

/// The connection's final event and what it wrote: asserts it ended with `Closed`.
fn closed(conn: &mut Connection) -> (bool, CloseReason) {
    assert!(conn.wants_close());
    let evs = events(conn);
    match evs.as_slice() {
        [.., ConnectionEvent::Closed { abnormal, reason }] => (*abnormal, *reason),
        other => panic!("expected Closed last, got {other:?}"),
    }
}

fn disconnect_code(packets: &[Packet]) -> Option<ReasonCode> {
    match packets {
        [.., Packet::Disconnect(d)] => Some(d.reason_code),
        _ => None,
    }
}

/// Asserts that a 5.0 connection was ended by the server with DISCONNECT `code`.
fn assert_violation(conn: &mut Connection, peer: &mut Peer, code: ReasonCode) {
    assert_eq!(disconnect_code(&peer.recv(conn)), Some(code));
    assert_eq!(
        closed(conn),
        (true, CloseReason::ProtocolViolation(code)),
        "expected a violation with {code}"
    );
}

// ----- the handshake ------------------------------------------------------------------------

#[test]
fn mqtt_3_1_0_1_first_packet_must_be_connect() {
    let mut conn = Connection::new(t(0), &ServerConfig::new());
    conn.handle_read(t(0), &[0xc0, 0x00]); // PINGREQ
    assert_eq!(Peer::new(V5).raw(&mut conn), b"");
    assert_eq!(
        closed(&mut conn),
        (
            true,
            CloseReason::InvalidPacket(DecodeError::ExpectedConnect(
                tern_mqtt::PacketType::PingReq
            ))
        )
    );
}

#[test]
fn mqtt_3_1_0_2_a_second_connect_is_a_protocol_error() {
    let (mut conn, mut peer) = connected(V5);
    peer.send(&mut conn, t(1), connect(V5, "c1"));
    assert_violation(&mut conn, &mut peer, ReasonCode::ProtocolError);

    // 3.1.1 has no server DISCONNECT: the connection just closes.
    let (mut conn, mut peer) = connected(V4);
    peer.send(&mut conn, t(1), connect(V4, "c1"));
    assert_eq!(peer.raw(&mut conn), b"");
    assert_eq!(
        closed(&mut conn),
        (
            true,
            CloseReason::ProtocolViolation(ReasonCode::ProtocolError)
        )
    );
}

#[test]
fn handshake_3_1_1_answers_connack_0_and_keeps_the_session_flag() {
    let mut conn = Connection::new(t(0), &ServerConfig::new());
    let mut peer = Peer::new(V4);
    let mut c = connect(V4, "c1");
    c.clean_start = false;
    peer.send(&mut conn, t(0), c.clone());
    assert!(!conn.wants_read());
    match events(&mut conn).as_slice() {
        [ConnectionEvent::Connect(got)] => assert_eq!(**got, c),
        other => panic!("{other:?}"),
    }
    assert_eq!(conn.protocol_version(), Some(V4));
    conn.accept(t(0), true, None).unwrap();
    assert_eq!(peer.raw(&mut conn), [0x20, 0x02, 0x01, 0x00]);
    assert!(conn.is_connected() && conn.wants_read());
}

#[test]
fn handshake_5_0_connack_announces_the_default_limits() {
    let mut conn = Connection::new(t(0), &ServerConfig::new());
    let mut peer = Peer::new(V5);
    peer.send(&mut conn, t(0), connect(V5, "c1"));
    events(&mut conn);
    conn.accept(t(0), false, None).unwrap();
    match peer.recv(&mut conn).as_slice() {
        [Packet::ConnAck(a)] => {
            assert_eq!(a.reason_code, ReasonCode::Success);
            assert!(!a.session_present);
            let p = &a.properties;
            assert_eq!(p.receive_maximum(), Some(100));
            assert_eq!(p.maximum_packet_size(), Some(16 * 1024 * 1024));
            assert_eq!(p.topic_alias_maximum(), Some(10));
            // What the server fully supports is left to the defaults.
            assert_eq!(p.maximum_qos(), None);
            assert_eq!(p.retain_available(), None);
            assert_eq!(p.wildcard_subscription_available(), None);
            assert_eq!(p.server_keep_alive(), None);
            assert_eq!(p.assigned_client_identifier(), None);
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn handshake_3_1_mqisdp_is_accepted_or_refused_with_return_code_1() {
    let mut conn = Connection::new(t(0), &ServerConfig::new());
    let mut peer = Peer::new(V3_1);
    let mut c = connect(V3_1, "c1");
    c.clean_start = false;
    peer.send(&mut conn, t(0), c);
    assert!(matches!(
        events(&mut conn).as_slice(),
        [ConnectionEvent::Connect(_)]
    ));
    // 3.1 has no Session Present flag.
    conn.accept(t(0), true, None).unwrap();
    assert_eq!(peer.raw(&mut conn), [0x20, 0x02, 0x00, 0x00]);

    let config = ServerConfig::new().with_accept_v3_1(false);
    let mut conn = Connection::new(t(0), &config);
    peer.send(&mut conn, t(0), connect(V3_1, "c1"));
    assert_eq!(peer.raw(&mut conn), [0x20, 0x02, 0x00, 0x01]);
    assert_eq!(
        closed(&mut conn),
        (
            false,
            CloseReason::Refused(ReasonCode::UnsupportedProtocolVersion)
        )
    );
}

#[test]
fn mqtt_3_1_2_2_an_unsupported_protocol_level_gets_return_code_1() {
    let mut conn = Connection::new(t(0), &ServerConfig::new());
    // CONNECT "MQTT" level 6.
    conn.handle_read(
        t(0),
        &[
            0x10, 0x0c, 0x00, 0x04, b'M', b'Q', b'T', b'T', 0x06, 0x02, 0x00, 0x3c, 0x00, 0x00,
        ],
    );
    assert_eq!(Peer::new(V4).raw(&mut conn), [0x20, 0x02, 0x00, 0x01]);
    assert_eq!(
        closed(&mut conn),
        (
            true,
            CloseReason::InvalidPacket(DecodeError::UnsupportedProtocolLevel(6))
        )
    );
}

#[test]
fn mqtt_3_1_2_3_a_malformed_5_0_connect_gets_connack_0x81_and_3_1_1_just_closes() {
    for (level, expect) in [(5u8, vec![0x20, 0x03, 0x00, 0x81, 0x00]), (4, vec![])] {
        let mut conn = Connection::new(t(0), &ServerConfig::new());
        // The reserved flag (bit 0) set.
        let mut wire = vec![0x10, 0x0c, 0x00, 0x04, b'M', b'Q', b'T', b'T', level, 0x03];
        wire.extend_from_slice(&[0x00, 0x3c, 0x00, 0x00]);
        if level == 5 {
            wire[1] += 1;
            wire.insert(12, 0x00); // empty properties
        }
        conn.handle_read(t(0), &wire);
        assert_eq!(Peer::new(V5).raw(&mut conn), expect, "level {level}");
        assert_eq!(
            closed(&mut conn),
            (
                true,
                CloseReason::InvalidPacket(DecodeError::ReservedConnectFlag)
            )
        );
    }
}

#[test]
fn connack_properties_announce_every_restriction() {
    let config = ServerConfig::new()
        .with_maximum_qos(QoS::AtLeastOnce)
        .with_retain_available(false)
        .with_wildcard_subscription_available(false)
        .with_subscription_identifiers_available(false)
        .with_shared_subscription_available(false)
        .with_server_keep_alive(Some(30))
        .with_limits(
            Limits::new()
                .with_receive_maximum(7)
                .with_max_packet_size(2048)
                .with_topic_alias_maximum(0),
        );
    let mut conn = Connection::new(t(0), &config);
    let mut peer = Peer::new(V5);
    peer.send(&mut conn, t(0), connect(V5, ""));
    events(&mut conn);
    let assigned = MqttString::new("auto-1").unwrap();
    conn.accept(t(0), false, Some(assigned.clone())).unwrap();
    match peer.recv(&mut conn).as_slice() {
        [Packet::ConnAck(a)] => {
            let p = &a.properties;
            assert_eq!(p.receive_maximum(), Some(7));
            assert_eq!(p.maximum_qos(), Some(1));
            assert_eq!(p.retain_available(), Some(0));
            assert_eq!(p.maximum_packet_size(), Some(2048));
            assert_eq!(p.topic_alias_maximum(), None);
            assert_eq!(p.wildcard_subscription_available(), Some(0));
            assert_eq!(p.subscription_identifier_available(), Some(0));
            assert_eq!(p.shared_subscription_available(), Some(0));
            assert_eq!(p.server_keep_alive(), Some(30));
            assert_eq!(p.assigned_client_identifier(), Some(assigned));
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(conn.keep_alive(), Duration::from_secs(30));
}

#[test]
fn mqtt_3_2_2_2_session_present_is_0_after_a_clean_start() {
    let mut conn = Connection::new(t(0), &ServerConfig::new());
    let mut peer = Peer::new(V5);
    peer.send(&mut conn, t(0), connect(V5, "c1"));
    events(&mut conn);
    conn.accept(t(0), true, None).unwrap();
    match peer.recv(&mut conn).as_slice() {
        [Packet::ConnAck(a)] => assert!(!a.session_present),
        other => panic!("{other:?}"),
    }
}

#[test]
fn an_empty_client_id_needs_an_assigned_one_which_5_0_announces() {
    let mut conn = Connection::new(t(0), &ServerConfig::new());
    let mut peer = Peer::new(V4);
    peer.send(&mut conn, t(0), connect(V4, ""));
    events(&mut conn);
    assert_eq!(
        conn.accept(t(0), false, None),
        Err(CommandError::ClientIdRequired)
    );
    conn.accept(t(0), false, Some(MqttString::new("auto-7").unwrap()))
        .unwrap();
    // 3.1.1 has no way to tell the client; the core keeps the identifier.
    assert_eq!(peer.raw(&mut conn), [0x20, 0x02, 0x00, 0x00]);
}

#[test]
fn mqtt_3_1_3_8_an_empty_client_id_without_clean_session_is_refused_with_return_code_2() {
    let mut conn = Connection::new(t(0), &ServerConfig::new());
    let mut peer = Peer::new(V4);
    let mut c = connect(V4, "");
    c.clean_start = false;
    peer.send(&mut conn, t(0), c);
    assert_eq!(peer.raw(&mut conn), [0x20, 0x02, 0x00, 0x02]);
    assert_eq!(
        closed(&mut conn),
        (
            false,
            CloseReason::Refused(ReasonCode::ClientIdentifierNotValid)
        )
    );
}

#[test]
fn client_ids_empty_when_not_allowed_or_too_long_are_refused_with_0x85() {
    let config = ServerConfig::new()
        .with_allow_empty_client_id(false)
        .with_limits(Limits::new().with_max_client_id_len(8));
    for client_id in ["", "much-too-long"] {
        let mut conn = Connection::new(t(0), &config);
        let mut peer = Peer::new(V5);
        peer.send(&mut conn, t(0), connect(V5, client_id));
        match peer.recv(&mut conn).as_slice() {
            [Packet::ConnAck(a)] => {
                assert_eq!(a.reason_code, ReasonCode::ClientIdentifierNotValid)
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(
            closed(&mut conn),
            (
                false,
                CloseReason::Refused(ReasonCode::ClientIdentifierNotValid)
            )
        );
    }
}

#[test]
fn mqtt_3_2_2_7_refuse_writes_connack_with_the_code_then_closes() {
    // 5.0: the code itself.
    let mut conn = Connection::new(t(0), &ServerConfig::new());
    let mut peer = Peer::new(V5);
    peer.send(&mut conn, t(0), connect(V5, "c1"));
    events(&mut conn);
    assert_eq!(
        conn.refuse(ReasonCode::Success),
        Err(CommandError::ReasonNotAllowed(ReasonCode::Success))
    );
    assert_eq!(
        conn.refuse(ReasonCode::SessionTakenOver),
        Err(CommandError::ReasonNotAllowed(ReasonCode::SessionTakenOver))
    );
    conn.refuse(ReasonCode::BadUserNameOrPassword).unwrap();
    match peer.recv(&mut conn).as_slice() {
        [Packet::ConnAck(a)] => assert_eq!(a.reason_code, ReasonCode::BadUserNameOrPassword),
        other => panic!("{other:?}"),
    }
    assert_eq!(
        closed(&mut conn),
        (
            false,
            CloseReason::Refused(ReasonCode::BadUserNameOrPassword)
        )
    );
    assert_eq!(
        conn.accept(t(0), false, None),
        Err(CommandError::InvalidState)
    );

    // 3.1.1: the return code with the nearest meaning; none for a protocol error.
    for (code, wire) in [
        (ReasonCode::NotAuthorized, vec![0x20, 0x02, 0x00, 0x05]),
        (ReasonCode::Banned, vec![0x20, 0x02, 0x00, 0x05]),
        (
            ReasonCode::BadAuthenticationMethod,
            vec![0x20, 0x02, 0x00, 0x04],
        ),
        (ReasonCode::ServerBusy, vec![0x20, 0x02, 0x00, 0x03]),
        (ReasonCode::ProtocolError, vec![]),
    ] {
        let mut conn = Connection::new(t(0), &ServerConfig::new());
        let mut peer = Peer::new(V4);
        peer.send(&mut conn, t(0), connect(V4, "c1"));
        events(&mut conn);
        conn.refuse(code).unwrap();
        assert_eq!(peer.raw(&mut conn), wire, "{code}");
        assert!(conn.wants_close());
    }
}

#[test]
fn mqtt_3_2_2_12_and_13_a_will_above_maximum_qos_or_retained_without_retain_is_refused() {
    let config = ServerConfig::new()
        .with_maximum_qos(QoS::AtMostOnce)
        .with_retain_available(false);
    for (qos, retain, code) in [
        (QoS::AtLeastOnce, false, ReasonCode::QoSNotSupported),
        (QoS::AtMostOnce, true, ReasonCode::RetainNotSupported),
    ] {
        let mut conn = Connection::new(t(0), &config);
        let mut peer = Peer::new(V5);
        let mut c = connect(V5, "c1");
        let mut will = Will::new(TopicName::new("last/words").unwrap(), "bye");
        will.qos = qos;
        will.retain = retain;
        c.will = Some(will);
        peer.send(&mut conn, t(0), c);
        match peer.recv(&mut conn).as_slice() {
            [Packet::ConnAck(a)] => assert_eq!(a.reason_code, code),
            other => panic!("{other:?}"),
        }
        assert_eq!(closed(&mut conn), (false, CloseReason::Refused(code)));
    }
}

#[test]
fn mqtt_3_1_4_5_packets_after_connect_wait_for_accept_and_are_dropped_on_refusal() {
    for accept in [true, false] {
        let mut conn = Connection::new(t(0), &ServerConfig::new());
        let peer = Peer::new(V5);
        let mut wire = peer.wire(connect(V5, "c1"));
        wire.extend_from_slice(&peer.wire(subscribe(1, &["a/b"])));
        conn.handle_read(t(0), &wire);
        assert!(matches!(
            events(&mut conn).as_slice(),
            [ConnectionEvent::Connect(_)]
        ));
        assert_eq!(conn.poll_timeout(), None);
        if accept {
            conn.accept(t(0), false, None).unwrap();
            assert!(matches!(
                events(&mut conn).as_slice(),
                [ConnectionEvent::Subscribe(s)] if s.packet_id == id(1)
            ));
        } else {
            conn.refuse(ReasonCode::NotAuthorized).unwrap();
            assert_eq!(
                closed(&mut conn),
                (false, CloseReason::Refused(ReasonCode::NotAuthorized))
            );
        }
    }
}

#[test]
fn a_client_flooding_before_the_answer_to_its_connect_is_cut_off() {
    let config = ServerConfig::new().with_limits(Limits::new().with_max_packet_size(1024));
    let mut conn = Connection::new(t(0), &config);
    let peer = Peer::new(V5);
    peer.send(&mut conn, t(0), connect(V5, "c1"));
    events(&mut conn);
    let junk = vec![0u8; 32 * 1024];
    conn.handle_read(t(0), &junk);
    assert!(!conn.wants_close());
    conn.handle_read(t(0), &junk);
    conn.handle_read(t(0), &junk);
    assert_eq!(closed(&mut conn), (true, CloseReason::InputOverflow));
}

#[test]
fn a_connection_without_connect_in_time_is_closed() {
    let config = ServerConfig::new().with_connect_timeout(Duration::from_secs(5));
    let mut conn = Connection::new(t(1_000), &config);
    assert_eq!(conn.poll_timeout(), Some(t(6_000)));
    conn.handle_read(t(2_000), &[0x10]); // part of a CONNECT
    conn.handle_timeout(t(5_999));
    assert!(!conn.wants_close());
    conn.handle_timeout(t(6_000));
    assert_eq!(closed(&mut conn), (true, CloseReason::ConnectTimeout));
    assert_eq!(conn.poll_timeout(), None);
}

// ----- keep alive ---------------------------------------------------------------------------

#[test]
fn mqtt_3_1_2_24_silence_for_one_and_a_half_keep_alives_closes_the_connection() {
    for version in [V4, V5] {
        let mut c = connect(version, "c1");
        c.keep_alive = 10;
        let (mut conn, mut peer) = connected_with(&ServerConfig::new(), c);
        assert_eq!(conn.poll_timeout(), Some(t(15_000)));
        // PINGREQ is answered, and any packet restarts the timer.
        peer.send(&mut conn, t(9_000), Packet::PingReq);
        assert_eq!(peer.recv(&mut conn), vec![Packet::PingResp]);
        assert_eq!(conn.poll_timeout(), Some(t(24_000)));
        conn.handle_timeout(t(23_999));
        assert!(conn.is_connected());
        conn.handle_timeout(t(24_000));
        let sent = peer.recv(&mut conn);
        if version == V5 {
            assert_eq!(disconnect_code(&sent), Some(ReasonCode::KeepAliveTimeout));
        } else {
            assert!(sent.is_empty());
        }
        assert_eq!(closed(&mut conn), (true, CloseReason::KeepAliveTimeout));
    }
}

#[test]
fn mqtt_3_2_2_21_server_keep_alive_overrides_the_clients() {
    let config = ServerConfig::new().with_server_keep_alive(Some(4));
    let mut c = connect(V5, "c1");
    c.keep_alive = 600;
    let (mut conn, _) = connected_with(&config, c);
    assert_eq!(conn.poll_timeout(), Some(t(6_000)));
    conn.handle_timeout(t(6_000));
    assert_eq!(closed(&mut conn), (true, CloseReason::KeepAliveTimeout));
}

#[test]
fn the_largest_keep_alive_lowers_a_5_0_clients_and_refuses_a_3_1_1_client_above_it() {
    let config = ServerConfig::new().with_limits(Limits::new().with_max_keep_alive(60));
    // 5.0 asking for none, or for more: told 60.
    for asked in [0, 61] {
        let mut conn = Connection::new(t(0), &config);
        let mut peer = Peer::new(V5);
        let mut c = connect(V5, "c1");
        c.keep_alive = asked;
        peer.send(&mut conn, t(0), c);
        events(&mut conn);
        conn.accept(t(0), false, None).unwrap();
        match peer.recv(&mut conn).as_slice() {
            [Packet::ConnAck(a)] => assert_eq!(a.properties.server_keep_alive(), Some(60)),
            other => panic!("{other:?}"),
        }
        assert_eq!(conn.poll_timeout(), Some(t(90_000)));
    }
    // 3.1.1 cannot be told.
    let mut conn = Connection::new(t(0), &config);
    let mut peer = Peer::new(V4);
    let mut c = connect(V4, "c1");
    c.keep_alive = 61;
    peer.send(&mut conn, t(0), c);
    assert_eq!(peer.raw(&mut conn), [0x20, 0x02, 0x00, 0x02]);
    assert!(conn.wants_close());
}

#[test]
fn keep_alive_0_times_nothing() {
    let mut c = connect(V4, "c1");
    c.keep_alive = 0;
    let (conn, _) = connected_with(&ServerConfig::new(), c);
    assert_eq!(conn.poll_timeout(), None);
    assert_eq!(conn.keep_alive(), Duration::ZERO);
}

// ----- inbound publications -----------------------------------------------------------------

#[test]
fn publications_are_reported_and_acknowledged_only_when_the_core_says_so() {
    for version in [V4, V5] {
        let (mut conn, mut peer) = connected(version);
        peer.send(&mut conn, t(1), publish("a/b", QoS::AtLeastOnce, 1));
        peer.send(&mut conn, t(1), publish("a/c", QoS::ExactlyOnce, 2));
        let evs = events(&mut conn);
        assert!(
            matches!(&evs[..], [ConnectionEvent::Publish(p1), ConnectionEvent::Publish(p2)]
            if p1.topic.as_str() == "a/b" && p2.qos == QoS::ExactlyOnce)
        );
        assert!(peer.recv(&mut conn).is_empty(), "no ack before the core's");
        assert_eq!(conn.inbound_inflight(), 2);
        conn.puback(id(1), ReasonCode::NoMatchingSubscribers)
            .unwrap();
        conn.pubrec(id(2), ReasonCode::Success).unwrap();
        assert_eq!(conn.inbound_inflight(), 1);
        peer.send(&mut conn, t(2), PubRel::new(id(2)));
        assert!(matches!(
            events(&mut conn).as_slice(),
            [ConnectionEvent::PubRel(r)] if r.packet_id == id(2)
        ));
        conn.pubcomp(id(2), ReasonCode::Success).unwrap();
        assert_eq!(conn.inbound_inflight(), 0);
        let acks = peer.recv(&mut conn);
        let expected_code = if version == V5 {
            ReasonCode::NoMatchingSubscribers
        } else {
            ReasonCode::Success // 3.1.1 PUBACK has no code
        };
        assert!(
            matches!(&acks[..], [Packet::PubAck(a), Packet::PubRec(_), Packet::PubComp(_)]
            if a.reason_code == expected_code)
        );
    }
}

#[test]
fn mqtt_3_3_4_9_more_qos_1_and_2_than_the_receive_maximum_is_disconnected_0x93() {
    let config = ServerConfig::new().with_limits(Limits::new().with_receive_maximum(2));
    let (mut conn, mut peer) = connected_with(&config, connect(V5, "c1"));
    peer.send(&mut conn, t(1), publish("a", QoS::AtLeastOnce, 1));
    peer.send(&mut conn, t(1), publish("a", QoS::ExactlyOnce, 2));
    // QoS 0 does not count, nor does the same message again.
    peer.send(&mut conn, t(1), publish("a", QoS::AtMostOnce, 0));
    let mut again = publish("a", QoS::ExactlyOnce, 2);
    again.dup = true;
    peer.send(&mut conn, t(1), again);
    assert_eq!(events(&mut conn).len(), 4);
    // A freed place can be taken again.
    conn.puback(id(1), ReasonCode::Success).unwrap();
    peer.send(&mut conn, t(2), publish("a", QoS::AtLeastOnce, 3));
    assert_eq!(events(&mut conn).len(), 1);
    peer.recv(&mut conn);
    peer.send(&mut conn, t(3), publish("a", QoS::AtLeastOnce, 4));
    assert_violation(&mut conn, &mut peer, ReasonCode::ReceiveMaximumExceeded);
}

#[test]
fn a_publish_above_maximum_qos_is_disconnected_0x9b_and_a_retained_one_without_retain_0x9a() {
    let config = ServerConfig::new().with_maximum_qos(QoS::AtLeastOnce);
    let (mut conn, mut peer) = connected_with(&config, connect(V5, "c1"));
    peer.send(&mut conn, t(1), publish("a", QoS::ExactlyOnce, 1));
    assert_violation(&mut conn, &mut peer, ReasonCode::QoSNotSupported);

    let config = ServerConfig::new().with_retain_available(false);
    let (mut conn, mut peer) = connected_with(&config, connect(V5, "c1"));
    let mut p = publish("a", QoS::AtMostOnce, 0);
    p.retain = true;
    peer.send(&mut conn, t(1), p);
    assert_violation(&mut conn, &mut peer, ReasonCode::RetainNotSupported);
}

#[test]
fn mqtt_3_3_4_6_a_publish_from_a_client_with_a_subscription_identifier_is_a_protocol_error() {
    let (mut conn, mut peer) = connected(V5);
    let mut p = publish("a", QoS::AtMostOnce, 0);
    p.properties = props(vec![Property::SubscriptionIdentifier(3)]);
    peer.send(&mut conn, t(1), p);
    assert_violation(&mut conn, &mut peer, ReasonCode::ProtocolError);
}

fn aliased(topic: &str, alias: u16) -> Publish {
    let mut p = if topic.is_empty() {
        Publish::new(TopicName::alias_only(), "x")
    } else {
        publish(topic, QoS::AtMostOnce, 0)
    };
    p.properties = Properties::builder()
        .push(Property::TopicAlias(alias))
        .user_property("k", "v")
        .unwrap()
        .build()
        .unwrap();
    p
}

#[test]
fn inbound_topic_aliases_are_resolved_and_removed_from_the_reported_publication() {
    let (mut conn, peer) = connected(V5);
    peer.send(&mut conn, t(1), aliased("sensors/temperature", 3));
    peer.send(&mut conn, t(1), aliased("", 3));
    // Setting an alias again replaces it.
    peer.send(&mut conn, t(1), aliased("sensors/humidity", 3));
    peer.send(&mut conn, t(1), aliased("", 3));
    let topics: Vec<String> = events(&mut conn)
        .into_iter()
        .map(|e| match e {
            ConnectionEvent::Publish(p) => {
                assert!(!p.properties.contains(PropertyId::TopicAlias));
                assert_eq!(p.properties.user_properties().count(), 1);
                p.topic.as_str().to_owned()
            }
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(
        topics,
        [
            "sensors/temperature",
            "sensors/temperature",
            "sensors/humidity",
            "sensors/humidity"
        ]
    );
}

#[test]
fn mqtt_3_3_2_9_a_topic_alias_above_the_maximum_is_disconnected_0x94() {
    let (mut conn, mut peer) = connected(V5);
    peer.send(&mut conn, t(1), aliased("a", 11));
    assert_violation(&mut conn, &mut peer, ReasonCode::TopicAliasInvalid);

    // Topic Alias 0 is refused by the decoder with the same code [MQTT-3.3.2-8].
    let (mut conn, mut peer) = connected(V5);
    let wire = [0x30, 0x07, 0x00, 0x01, b'a', 0x03, 0x23, 0x00, 0x00];
    conn.handle_read(t(1), &wire);
    assert_eq!(
        disconnect_code(&peer.recv(&mut conn)),
        Some(ReasonCode::TopicAliasInvalid)
    );
    assert!(matches!(
        closed(&mut conn),
        (true, CloseReason::InvalidPacket(_))
    ));
}

#[test]
fn an_unknown_topic_alias_with_an_empty_topic_is_a_protocol_error() {
    let (mut conn, mut peer) = connected(V5);
    peer.send(&mut conn, t(1), aliased("", 2));
    assert_violation(&mut conn, &mut peer, ReasonCode::ProtocolError);
}

#[test]
fn topics_over_the_length_or_level_limits_are_refused() {
    let config = ServerConfig::new().with_limits(
        Limits::new()
            .with_max_topic_len(16)
            .with_max_topic_levels(3),
    );
    // 5.0 QoS 1/2: refused for that message alone, without the core.
    let (mut conn, mut peer) = connected_with(&config, connect(V5, "c1"));
    peer.send(&mut conn, t(1), publish("a/b/c/d", QoS::AtLeastOnce, 1));
    peer.send(
        &mut conn,
        t(1),
        publish("a-very-long-topic-name", QoS::ExactlyOnce, 2),
    );
    peer.send(&mut conn, t(1), publish("a/b/c", QoS::AtLeastOnce, 3));
    assert!(matches!(
        events(&mut conn).as_slice(),
        [ConnectionEvent::Publish(p)] if p.topic.as_str() == "a/b/c"
    ));
    match peer.recv(&mut conn).as_slice() {
        [Packet::PubAck(a), Packet::PubRec(r)] => {
            assert_eq!(a.reason_code, ReasonCode::TopicNameInvalid);
            assert_eq!(r.reason_code, ReasonCode::TopicNameInvalid);
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(conn.inbound_inflight(), 1);
    // QoS 0 has no acknowledgement to say it in.
    peer.send(&mut conn, t(1), publish("a/b/c/d", QoS::AtMostOnce, 0));
    assert_violation(&mut conn, &mut peer, ReasonCode::TopicNameInvalid);
}

#[test]
fn mqtt_3_2_2_15_an_inbound_packet_over_the_maximum_is_refused_from_its_fixed_header() {
    let config = ServerConfig::new().with_limits(Limits::new().with_max_packet_size(100));
    let (mut conn, mut peer) = connected_with(&config, connect(V5, "c1"));
    // A PUBLISH announcing 200 bytes: only its fixed header has arrived.
    conn.handle_read(t(1), &[0x30, 0xc8, 0x01]);
    assert_eq!(
        disconnect_code(&peer.recv(&mut conn)),
        Some(ReasonCode::PacketTooLarge)
    );
    assert_eq!(
        closed(&mut conn),
        (
            true,
            CloseReason::InvalidPacket(DecodeError::PacketTooLarge {
                size: 203,
                max: 100
            })
        )
    );
}

#[test]
fn reserved_fixed_header_flags_are_malformed() {
    let (mut conn, mut peer) = connected(V5);
    conn.handle_read(t(1), &[0x80, 0x00]); // SUBSCRIBE without its 0b0010 flags
    assert_eq!(
        disconnect_code(&peer.recv(&mut conn)),
        Some(ReasonCode::MalformedPacket)
    );
    assert!(matches!(
        closed(&mut conn),
        (
            true,
            CloseReason::InvalidPacket(DecodeError::InvalidFlags { .. })
        )
    ));
}

#[test]
fn packets_only_a_server_sends_and_auth_are_protocol_errors() {
    for packet in [
        Packet::PingResp,
        Packet::ConnAck(tern_mqtt::ConnAck::new(false)),
        Packet::Auth(tern_mqtt::Auth::default()),
    ] {
        let (mut conn, mut peer) = connected(V5);
        peer.send(&mut conn, t(1), packet);
        assert_violation(&mut conn, &mut peer, ReasonCode::ProtocolError);
    }
}

// ----- outbound publications ----------------------------------------------------------------

fn outbound(qos: QoS, packet_id: u16, payload: usize) -> Publish {
    let mut p = Publish::new(
        TopicName::new("out").unwrap(),
        Bytes::from(vec![7u8; payload]),
    );
    p.qos = qos;
    p.packet_id = PacketId::new(packet_id);
    p
}

#[test]
fn mqtt_3_3_4_7_the_clients_receive_maximum_is_the_outbound_window() {
    let mut c = connect(V5, "c1");
    c.properties = props(vec![Property::ReceiveMaximum(2)]);
    let (mut conn, mut peer) = connected_with(&ServerConfig::new(), c);
    assert_eq!(conn.client_receive_maximum(), 2);
    conn.send_publish(outbound(QoS::AtLeastOnce, 1, 1)).unwrap();
    assert_eq!(
        conn.send_publish(outbound(QoS::AtLeastOnce, 1, 1)),
        Err(CommandError::PacketIdInUse)
    );
    conn.send_publish(outbound(QoS::ExactlyOnce, 2, 1)).unwrap();
    assert!(!conn.can_send_qos12());
    assert_eq!(
        conn.send_publish(outbound(QoS::AtLeastOnce, 3, 1)),
        Err(CommandError::WindowFull)
    );
    // QoS 0 is never held back.
    conn.send_publish(outbound(QoS::AtMostOnce, 0, 1)).unwrap();
    assert_eq!(peer.recv(&mut conn).len(), 3);

    // PUBACK frees a place; a successful PUBREC does not, PUBCOMP does.
    peer.send(&mut conn, t(1), PubAck::new(id(1)));
    peer.send(&mut conn, t(1), PubRec::new(id(2)));
    assert_eq!(conn.outbound_inflight(), 1);
    conn.send_pubrel(id(2)).unwrap();
    assert!(matches!(peer.recv(&mut conn).as_slice(), [Packet::PubRel(r)] if r.packet_id == id(2)));
    peer.send(&mut conn, t(2), PubComp::new(id(2)));
    assert_eq!(conn.outbound_inflight(), 0);
    let evs = events(&mut conn);
    assert!(matches!(
        &evs[..],
        [
            ConnectionEvent::PubAck(_),
            ConnectionEvent::PubRec(_),
            ConnectionEvent::PubComp(_)
        ]
    ));

    // A PUBREC with an error ends the exchange.
    conn.send_publish(outbound(QoS::ExactlyOnce, 5, 1)).unwrap();
    let mut rec = PubRec::new(id(5));
    rec.reason_code = ReasonCode::QuotaExceeded;
    peer.send(&mut conn, t(3), rec);
    assert_eq!(conn.outbound_inflight(), 0);
}

#[test]
fn mqtt_3_1_2_25_a_message_over_the_clients_maximum_packet_size_is_skipped() {
    let mut c = connect(V5, "c1");
    c.properties = props(vec![Property::MaximumPacketSize(64)]);
    let (mut conn, mut peer) = connected_with(&ServerConfig::new(), c);
    assert_eq!(
        conn.send_publish(outbound(QoS::AtLeastOnce, 1, 100)),
        Err(CommandError::PacketTooLarge)
    );
    assert_eq!(conn.outbound_inflight(), 0);
    assert_eq!(conn.pending_transmit(), 0);
    conn.send_publish(outbound(QoS::AtLeastOnce, 1, 10))
        .unwrap();
    assert_eq!(peer.recv(&mut conn).len(), 1);
}

#[test]
fn messages_to_a_3_1_1_client_leave_out_5_0_properties() {
    let (mut conn, mut peer) = connected(V4);
    let mut p = outbound(QoS::AtMostOnce, 0, 3);
    p.properties = props(vec![Property::MessageExpiryInterval(9)]);
    conn.send_publish(p).unwrap();
    match peer.recv(&mut conn).as_slice() {
        [Packet::Publish(p)] => assert!(p.properties.is_empty()),
        other => panic!("{other:?}"),
    }
}

#[test]
fn commands_out_of_place_are_refused() {
    let mut conn = Connection::new(t(0), &ServerConfig::new());
    assert_eq!(
        conn.send_publish(outbound(QoS::AtMostOnce, 0, 1)),
        Err(CommandError::InvalidState)
    );
    assert_eq!(
        conn.puback(id(1), ReasonCode::Success),
        Err(CommandError::InvalidState)
    );
    let (mut conn, _) = connected(V5);
    assert_eq!(
        conn.send_publish(outbound(QoS::AtLeastOnce, 0, 1)),
        Err(CommandError::PacketIdMismatch)
    );
    assert_eq!(
        conn.send_publish(aliased("t", 1)),
        Err(CommandError::TopicAliasNotAllowed)
    );
    assert_eq!(
        conn.puback(id(1), ReasonCode::GrantedQoS1),
        Err(CommandError::ReasonNotAllowed(ReasonCode::GrantedQoS1))
    );
    assert_eq!(
        conn.suback(id(9), vec![ReasonCode::Success]),
        Err(CommandError::UnknownRequest)
    );
}

// ----- subscriptions ------------------------------------------------------------------------

#[test]
fn subscribe_is_reported_and_answered_with_the_cores_codes() {
    let (mut conn, mut peer) = connected(V5);
    peer.send(&mut conn, t(1), subscribe(4, &["a/+", "b/#"]));
    assert!(matches!(
        events(&mut conn).as_slice(),
        [ConnectionEvent::Subscribe(s)] if s.subscriptions.len() == 2
    ));
    assert_eq!(
        conn.suback(id(4), vec![ReasonCode::GrantedQoS1]),
        Err(CommandError::UnknownRequest),
        "one code per filter"
    );
    conn.suback(
        id(4),
        vec![ReasonCode::GrantedQoS1, ReasonCode::NotAuthorized],
    )
    .unwrap();
    match peer.recv(&mut conn).as_slice() {
        [Packet::SubAck(a)] => assert_eq!(
            a.reason_codes,
            [ReasonCode::GrantedQoS1, ReasonCode::NotAuthorized]
        ),
        other => panic!("{other:?}"),
    }
}

#[test]
fn mqtt_3_8_3_4_no_local_on_a_shared_subscription_is_a_protocol_error() {
    let (mut conn, mut peer) = connected(V5);
    let mut wire = peer.wire(subscribe(1, &["$share/g/a"]));
    // The encoder refuses No Local on a shared subscription; set the bit on the wire.
    let last = wire.len() - 1;
    wire[last] |= 0b100;
    conn.handle_read(t(1), &wire);
    assert_eq!(
        disconnect_code(&peer.recv(&mut conn)),
        Some(ReasonCode::ProtocolError)
    );
    assert_eq!(
        closed(&mut conn),
        (
            true,
            CloseReason::InvalidPacket(DecodeError::NoLocalOnSharedSubscription)
        )
    );
}

#[test]
fn subscriptions_the_server_does_not_offer_end_a_5_0_connection_with_their_code() {
    let cases = [
        (
            ServerConfig::new().with_wildcard_subscription_available(false),
            subscribe(1, &["a", "a/+"]),
            ReasonCode::WildcardSubscriptionsNotSupported,
        ),
        (
            ServerConfig::new().with_shared_subscription_available(false),
            subscribe(1, &["$share/g/a"]),
            ReasonCode::SharedSubscriptionsNotSupported,
        ),
        (
            ServerConfig::new().with_subscription_identifiers_available(false),
            {
                let mut s = subscribe(1, &["a"]);
                s.properties = props(vec![Property::SubscriptionIdentifier(5)]);
                s
            },
            ReasonCode::SubscriptionIdentifiersNotSupported,
        ),
    ];
    for (config, sub, code) in cases {
        let (mut conn, mut peer) = connected_with(&config, connect(V5, "c1"));
        peer.send(&mut conn, t(1), sub);
        assert_violation(&mut conn, &mut peer, code);
    }
}

#[test]
fn in_3_1_1_filters_the_server_does_not_offer_get_0x80_among_the_cores_codes() {
    let config = ServerConfig::new()
        .with_wildcard_subscription_available(false)
        .with_shared_subscription_available(false);
    let (mut conn, mut peer) = connected_with(&config, connect(V4, "c1"));
    peer.send(&mut conn, t(1), subscribe(2, &["a/#", "b", "$share/g/c"]));
    match events(&mut conn).as_slice() {
        [ConnectionEvent::Subscribe(s)] => {
            let filters: Vec<_> = s.subscriptions.iter().map(|s| s.filter.as_str()).collect();
            assert_eq!(filters, ["b"]);
        }
        other => panic!("{other:?}"),
    }
    // 5.0-only codes from the core become 0x80 too.
    conn.suback(id(2), vec![ReasonCode::QuotaExceeded]).unwrap();
    match peer.recv(&mut conn).as_slice() {
        [Packet::SubAck(a)] => assert_eq!(a.reason_codes, [ReasonCode::UnspecifiedError; 3]),
        other => panic!("{other:?}"),
    }
    // Every filter refused: answered without the core.
    peer.send(&mut conn, t(2), subscribe(3, &["x/+"]));
    assert!(events(&mut conn).is_empty());
    assert!(matches!(peer.recv(&mut conn).as_slice(),
        [Packet::SubAck(a)] if a.reason_codes == [ReasonCode::UnspecifiedError]));
}

#[test]
fn filters_over_the_topic_limits_get_0x8f_and_the_rest_go_to_the_core() {
    let config = ServerConfig::new().with_limits(Limits::new().with_max_topic_levels(2));
    let (mut conn, mut peer) = connected_with(&config, connect(V5, "c1"));
    peer.send(&mut conn, t(1), subscribe(1, &["a/b/c", "a/b"]));
    assert!(matches!(events(&mut conn).as_slice(),
        [ConnectionEvent::Subscribe(s)] if s.subscriptions.len() == 1));
    conn.suback(id(1), vec![ReasonCode::GrantedQoS2]).unwrap();
    assert!(matches!(peer.recv(&mut conn).as_slice(),
        [Packet::SubAck(a)] if a.reason_codes == [ReasonCode::TopicFilterInvalid, ReasonCode::GrantedQoS2]));

    let filters = vec![
        TopicFilter::new("a/b/c").unwrap(),
        TopicFilter::new("a").unwrap(),
    ];
    peer.send(&mut conn, t(1), Unsubscribe::new(id(2), filters));
    assert!(matches!(events(&mut conn).as_slice(),
        [ConnectionEvent::Unsubscribe(u)] if u.filters.len() == 1));
    conn.unsuback(id(2), vec![ReasonCode::NoSubscriptionExisted])
        .unwrap();
    assert!(matches!(peer.recv(&mut conn).as_slice(),
        [Packet::UnsubAck(a)] if a.reason_codes == [ReasonCode::TopicFilterInvalid, ReasonCode::NoSubscriptionExisted]));
}

#[test]
fn a_subscribe_reusing_a_pending_packet_id_gets_0x91() {
    let (mut conn, mut peer) = connected(V5);
    peer.send(&mut conn, t(1), subscribe(1, &["a"]));
    peer.send(&mut conn, t(1), subscribe(1, &["b"]));
    assert_eq!(events(&mut conn).len(), 1);
    assert!(matches!(peer.recv(&mut conn).as_slice(),
        [Packet::SubAck(a)] if a.reason_codes == [ReasonCode::PacketIdentifierInUse]));
    conn.suback(id(1), vec![ReasonCode::Success]).unwrap();
}

#[test]
fn unsuback_in_3_1_1_carries_no_codes() {
    let (mut conn, mut peer) = connected(V4);
    peer.send(
        &mut conn,
        t(1),
        Unsubscribe::new(id(3), vec![TopicFilter::new("a").unwrap()]),
    );
    events(&mut conn);
    conn.unsuback(id(3), vec![ReasonCode::Success]).unwrap();
    assert_eq!(peer.raw(&mut conn), [0xb0, 0x02, 0x00, 0x03]);
}

// ----- the end ------------------------------------------------------------------------------

/// The events after the client's DISCONNECT `d` on a connection opened with `c`.
fn client_disconnect(d: Disconnect, c: Connect) -> Vec<ConnectionEvent> {
    let (mut conn, mut peer) = connected_with(&ServerConfig::new(), c);
    peer.send(&mut conn, t(1), d);
    assert!(conn.wants_close());
    assert!(
        peer.recv(&mut conn).is_empty(),
        "nothing answers a DISCONNECT"
    );
    events(&mut conn)
}

#[test]
fn mqtt_3_14_4_3_disconnect_0_discards_the_will_and_any_other_code_publishes_it() {
    for (code, will) in [
        (ReasonCode::Success, WillAction::Discard),
        (ReasonCode::DisconnectWithWillMessage, WillAction::Publish),
        (ReasonCode::UnspecifiedError, WillAction::Publish),
    ] {
        let evs = client_disconnect(Disconnect::with_reason(code), connect(V5, "c1"));
        assert!(
            matches!(&evs[..], [ConnectionEvent::Disconnected { reason_code, will: w, session_expiry_interval: None, .. }]
                if *reason_code == code && *w == will),
            "{evs:?}"
        );
    }
    let evs = client_disconnect(Disconnect::new(), connect(V4, "c1"));
    assert!(matches!(
        &evs[..],
        [ConnectionEvent::Disconnected {
            will: WillAction::Discard,
            ..
        }]
    ));
}

#[test]
fn mqtt_3_14_2_2_session_expiry_from_0_to_non_zero_in_disconnect_is_a_protocol_error() {
    let mut d = Disconnect::new();
    d.properties = props(vec![Property::SessionExpiryInterval(60)]);
    let (mut conn, mut peer) = connected(V5);
    peer.send(&mut conn, t(1), d.clone());
    assert_violation(&mut conn, &mut peer, ReasonCode::ProtocolError);

    // Allowed when CONNECT set one.
    let mut c = connect(V5, "c1");
    c.properties = props(vec![Property::SessionExpiryInterval(10)]);
    let evs = client_disconnect(d, c);
    assert!(matches!(
        &evs[..],
        [ConnectionEvent::Disconnected {
            session_expiry_interval: Some(60),
            ..
        }]
    ));
}

#[test]
fn a_closed_transport_ends_the_connection_once() {
    let (mut conn, _) = connected(V5);
    conn.handle_closed(t(1));
    conn.handle_closed(t(2));
    assert_eq!(closed(&mut conn), (true, CloseReason::TransportClosed));
    assert!(events(&mut conn).is_empty());
    assert!(!conn.wants_read());
    conn.handle_read(t(3), &[0xc0, 0x00]);
    assert_eq!(conn.poll_event(), None);
    assert_eq!(conn.pending_transmit(), 0);
}

#[test]
fn the_core_disconnects_with_a_reason_code_in_5_0_and_silently_in_3_1_1() {
    let (mut conn, mut peer) = connected(V5);
    assert_eq!(
        conn.disconnect(ReasonCode::GrantedQoS1),
        Err(CommandError::ReasonNotAllowed(ReasonCode::GrantedQoS1))
    );
    conn.disconnect(ReasonCode::SessionTakenOver).unwrap();
    assert_eq!(
        disconnect_code(&peer.recv(&mut conn)),
        Some(ReasonCode::SessionTakenOver)
    );
    assert_eq!(
        closed(&mut conn),
        (
            true,
            CloseReason::ServerDisconnect(ReasonCode::SessionTakenOver)
        )
    );

    let (mut conn, mut peer) = connected(V4);
    conn.disconnect(ReasonCode::ServerShuttingDown).unwrap();
    assert_eq!(peer.raw(&mut conn), b"");
    assert!(conn.wants_close());
}

#[test]
fn poll_transmit_moves_the_bytes_into_an_empty_buffer_and_appends_to_a_full_one() {
    let (mut conn, _) = connected(V5);
    conn.send_publish(outbound(QoS::AtMostOnce, 0, 2)).unwrap();
    let mut buf = BytesMut::with_capacity(4096);
    let n = conn.poll_transmit(&mut buf);
    assert_eq!(n, buf.len());
    conn.send_publish(outbound(QoS::AtMostOnce, 0, 2)).unwrap();
    assert_eq!(conn.poll_transmit(&mut buf), n);
    assert_eq!(buf.len(), 2 * n);
    assert_eq!(conn.poll_transmit(&mut buf), 0);
}

// ----- arbitrary input ----------------------------------------------------------------------

/// Valid packets a client might send, as bytes, to mix with noise.
fn client_bytes(version: ProtocolVersion) -> Vec<Vec<u8>> {
    let peer = Peer::new(version);
    let mut c = connect(version, "p");
    c.keep_alive = 5;
    vec![
        peer.wire(c).to_vec(),
        peer.wire(publish("a/b", QoS::AtLeastOnce, 1)).to_vec(),
        peer.wire(publish("a/b", QoS::ExactlyOnce, 2)).to_vec(),
        peer.wire(subscribe(3, &["a/#"])).to_vec(),
        peer.wire(PubRel::new(id(2))).to_vec(),
        peer.wire(Packet::PingReq).to_vec(),
        peer.wire(Disconnect::new()).to_vec(),
    ]
}

/// An answer of the core succeeds, unless the connection has already ended.
fn answered(conn: &Connection, r: Result<(), CommandError>) -> Result<(), TestCaseError> {
    if conn.wants_close() {
        prop_assert!(matches!(r, Ok(()) | Err(CommandError::InvalidState)));
    } else {
        prop_assert_eq!(r, Ok(()));
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2_000))]

    /// Arbitrary bytes in arbitrary chunks (often starting with a valid CONNECT and mixing
    /// in valid packets) never panic, never write bytes the strict codec rejects, never leave
    /// a deadline in the past, and the connection ends up connected, still waiting for a
    /// whole CONNECT, or closed with exactly one final event.
    #[test]
    fn arbitrary_input_never_panics_and_ends_connected_or_closed(
        v5 in any::<bool>(),
        pieces in prop::collection::vec(
            prop_oneof![
                prop::collection::vec(any::<u8>(), 0..64),
                (0usize..7).prop_map(|i| vec![0xff, i as u8]),
            ],
            0..24,
        ),
        chunk in 1usize..40,
    ) {
        let version = if v5 { V5 } else { V4 };
        let valid = client_bytes(version);
        let mut input = valid[0].clone();
        for p in pieces {
            // A marker picks a valid packet; anything else is noise.
            match p.as_slice() {
                [0xff, i] => input.extend_from_slice(&valid[usize::from(*i) % valid.len()]),
                _ => input.extend_from_slice(&p),
            }
        }
        let config = ServerConfig::new().with_limits(Limits::new().with_max_packet_size(256));
        let mut conn = Connection::new(t(0), &config);
        let mut out = BytesMut::new();
        let mut finals = 0;
        let mut now = t(0);
        for piece in input.chunks(chunk) {
            now = now + Duration::from_millis(100);
            conn.handle_read(now, piece);
            conn.handle_timeout(now);
            while let Some(e) = conn.poll_event() {
                match e {
                    // Events queued before the final one may be answered after it: the
                    // connection then refuses with InvalidState, and does nothing else.
                    ConnectionEvent::Connect(_) => conn.accept(now, false, None).unwrap(),
                    ConnectionEvent::Publish(p) => {
                        let r = match (p.qos, p.packet_id) {
                            (QoS::AtLeastOnce, Some(id)) => conn.puback(id, ReasonCode::Success),
                            (QoS::ExactlyOnce, Some(id)) => conn.pubrec(id, ReasonCode::Success),
                            _ => Ok(()),
                        };
                        answered(&conn, r)?;
                    }
                    ConnectionEvent::PubRel(r) => {
                        let r = conn.pubcomp(r.packet_id, ReasonCode::Success);
                        answered(&conn, r)?;
                    }
                    ConnectionEvent::Subscribe(s) => {
                        let codes = s.subscriptions.iter().map(|_| ReasonCode::GrantedQoS1).collect();
                        let r = conn.suback(s.packet_id, codes);
                        answered(&conn, r)?;
                    }
                    ConnectionEvent::Unsubscribe(u) => {
                        let codes = u.filters.iter().map(|_| ReasonCode::Success).collect();
                        let r = conn.unsuback(u.packet_id, codes);
                        answered(&conn, r)?;
                    }
                    ConnectionEvent::Disconnected { .. } | ConnectionEvent::Closed { .. } => finals += 1,
                    _ => {}
                }
            }
            conn.poll_transmit(&mut out);
            if let Some(deadline) = conn.poll_timeout() {
                prop_assert!(deadline > now);
            }
        }
        prop_assert!(finals <= 1);
        prop_assert_eq!(finals == 1, conn.wants_close());
        prop_assert!(conn.is_connected() || conn.wants_close() || conn.wants_read());
        // What was written decodes under the strict codec at the negotiated level.
        if let Some(v) = conn.protocol_version() {
            let codec = Codec::new(v);
            loop {
                match codec.decode(&mut out) {
                    Ok(Decoded::Packet(_)) => {}
                    Ok(Decoded::Incomplete { .. }) => break,
                    Err(e) => prop_assert!(false, "wrote undecodable bytes: {}", e),
                }
            }
            prop_assert!(out.is_empty());
        }
        conn.handle_closed(now);
        let tail: Vec<_> = core::iter::from_fn(|| conn.poll_event()).collect();
        prop_assert_eq!(tail.len(), usize::from(finals == 0));
        prop_assert!(conn.wants_close());
    }
}

// ----- enhanced authentication (MQTT 5.0 §4.12) ---------------------------------------------

fn auth_packet(reason_code: ReasonCode, method: &str, data: Option<&'static [u8]>) -> Packet {
    let mut list = vec![Property::AuthenticationMethod(
        MqttString::new(method).unwrap(),
    )];
    if let Some(data) = data {
        list.push(Property::AuthenticationData(Bytes::from_static(data)));
    }
    Packet::Auth(tern_mqtt::Auth {
        reason_code,
        properties: props(list),
    })
}

/// A 5.0 CONNECT with Authentication Method `method` and, if given, Authentication Data.
fn connect_auth(method: &str, data: Option<&'static [u8]>) -> Connect {
    let mut c = connect(V5, "c1");
    let mut list = vec![Property::AuthenticationMethod(
        MqttString::new(method).unwrap(),
    )];
    if let Some(data) = data {
        list.push(Property::AuthenticationData(Bytes::from_static(data)));
    }
    c.properties = props(list);
    c
}

/// The Authentication Method and Data of a CONNACK or AUTH.
fn auth_props(p: &Properties) -> (Option<String>, Option<Bytes>) {
    (
        p.authentication_method().map(|m| m.as_str().to_owned()),
        p.authentication_data(),
    )
}

/// A connection whose CONNECT with method `m` is reported and awaits the core.
fn authenticating() -> (Connection, Peer) {
    let mut conn = Connection::new(t(0), &ServerConfig::new());
    let peer = Peer::new(V5);
    peer.send(&mut conn, t(0), connect_auth("m", Some(b"hello")));
    let evs = events(&mut conn);
    assert!(matches!(evs.as_slice(), [ConnectionEvent::Connect(c)]
        if c.properties.authentication_data().as_deref() == Some(&b"hello"[..])));
    (conn, peer)
}

#[test]
fn mqtt_4_12_0_2_and_3_continue_auth_sends_auth_0x18_and_reports_the_clients_answer() {
    let (mut conn, mut peer) = authenticating();
    conn.continue_auth(t(10), Bytes::from_static(b"nonce"))
        .unwrap();
    let sent = peer.recv(&mut conn);
    let [Packet::Auth(a)] = sent.as_slice() else {
        panic!("expected AUTH, got {sent:?}");
    };
    assert_eq!(a.reason_code, ReasonCode::ContinueAuthentication);
    assert_eq!(
        auth_props(&a.properties),
        (Some("m".into()), Some(Bytes::from_static(b"nonce")))
    );
    // The client's answer is read, and nothing after it until the core decides.
    assert!(conn.wants_read());
    assert!(!conn.is_connected());
    peer.send(
        &mut conn,
        t(20),
        auth_packet(ReasonCode::ContinueAuthentication, "m", Some(b"ecnon")),
    );
    assert_eq!(
        events(&mut conn),
        [ConnectionEvent::Auth {
            reason_code: ReasonCode::ContinueAuthentication,
            method: MqttString::new("m").unwrap(),
            data: Some(Bytes::from_static(b"ecnon")),
        }]
    );
    assert!(!conn.wants_read());
    assert_eq!(conn.poll_timeout(), None);
    // More rounds, then success: CONNACK carries the method and the final data.
    conn.continue_auth(t(30), Bytes::from_static(b"again"))
        .unwrap();
    peer.recv(&mut conn);
    peer.send(
        &mut conn,
        t(40),
        auth_packet(ReasonCode::ContinueAuthentication, "m", None),
    );
    assert!(matches!(
        events(&mut conn).as_slice(),
        [ConnectionEvent::Auth { data: None, .. }]
    ));
    conn.accept_with_auth(t(50), false, None, Some(Bytes::from_static(b"done")))
        .unwrap();
    let sent = peer.recv(&mut conn);
    let [Packet::ConnAck(ack)] = sent.as_slice() else {
        panic!("expected CONNACK, got {sent:?}");
    };
    assert_eq!(ack.reason_code, ReasonCode::Success);
    assert_eq!(
        auth_props(&ack.properties),
        (Some("m".into()), Some(Bytes::from_static(b"done")))
    );
    assert!(conn.is_connected());
}

#[test]
fn mqtt_4_12_0_5_a_successful_connack_carries_the_connects_method() {
    let (mut conn, mut peer) = authenticating();
    conn.accept(t(0), false, None).unwrap();
    let sent = peer.recv(&mut conn);
    assert!(matches!(sent.as_slice(), [Packet::ConnAck(a)]
        if auth_props(&a.properties) == (Some("m".into()), None)));
}

#[test]
fn mqtt_4_12_0_5_an_auth_with_another_method_is_a_protocol_error() {
    // During the handshake: CONNACK 0x82, the connection not yet being accepted.
    let (mut conn, mut peer) = authenticating();
    conn.continue_auth(t(0), Bytes::from_static(b"x")).unwrap();
    peer.recv(&mut conn);
    peer.send(
        &mut conn,
        t(1),
        auth_packet(ReasonCode::ContinueAuthentication, "other", None),
    );
    assert!(matches!(peer.recv(&mut conn).as_slice(),
        [Packet::ConnAck(a)] if a.reason_code == ReasonCode::ProtocolError));
    assert_eq!(
        closed(&mut conn),
        (
            true,
            CloseReason::ProtocolViolation(ReasonCode::ProtocolError)
        )
    );
    // Re-authenticating: DISCONNECT 0x82.
    let (mut conn, mut peer) = connected_with(&ServerConfig::new(), connect_auth("m", None));
    peer.send(
        &mut conn,
        t(1),
        auth_packet(ReasonCode::ReAuthenticate, "other", None),
    );
    assert_violation(&mut conn, &mut peer, ReasonCode::ProtocolError);
}

#[test]
fn mqtt_4_12_0_6_without_a_method_in_connect_the_server_sends_no_auth_and_no_method() {
    let mut conn = Connection::new(t(0), &ServerConfig::new());
    let mut peer = Peer::new(V5);
    peer.send(&mut conn, t(0), connect(V5, "c1"));
    events(&mut conn);
    assert_eq!(
        conn.continue_auth(t(0), Bytes::from_static(b"x")),
        Err(CommandError::NoAuthenticationMethod)
    );
    assert_eq!(
        conn.accept_with_auth(t(0), false, None, Some(Bytes::from_static(b"x"))),
        Err(CommandError::NoAuthenticationMethod)
    );
    assert!(peer.recv(&mut conn).is_empty());
    conn.accept_with_auth(t(0), false, None, None).unwrap();
    assert!(matches!(peer.recv(&mut conn).as_slice(),
        [Packet::ConnAck(a)] if auth_props(&a.properties) == (None, None)));
}

#[test]
fn mqtt_4_12_0_7_auth_from_a_client_whose_connect_had_no_method_is_a_protocol_error() {
    for code in [
        ReasonCode::ReAuthenticate,
        ReasonCode::ContinueAuthentication,
    ] {
        let (mut conn, mut peer) = connected(V5);
        peer.send(&mut conn, t(1), auth_packet(code, "m", Some(b"x")));
        assert_violation(&mut conn, &mut peer, ReasonCode::ProtocolError);
    }
}

#[test]
fn mqtt_4_12_0_4_the_server_may_refuse_at_any_step() {
    // After the client's AUTH ...
    let (mut conn, mut peer) = authenticating();
    conn.continue_auth(t(0), Bytes::from_static(b"x")).unwrap();
    peer.send(
        &mut conn,
        t(1),
        auth_packet(ReasonCode::ContinueAuthentication, "m", None),
    );
    events(&mut conn);
    conn.refuse(ReasonCode::NotAuthorized).unwrap();
    let sent = peer.recv(&mut conn);
    assert!(matches!(sent.as_slice(),
        [Packet::Auth(_), Packet::ConnAck(a)] if a.reason_code == ReasonCode::NotAuthorized));
    assert_eq!(
        closed(&mut conn),
        (false, CloseReason::Refused(ReasonCode::NotAuthorized))
    );
    // ... and while waiting for it.
    let (mut conn, mut peer) = authenticating();
    conn.continue_auth(t(0), Bytes::from_static(b"x")).unwrap();
    conn.refuse(ReasonCode::BadAuthenticationMethod).unwrap();
    assert!(matches!(peer.recv(&mut conn).as_slice(),
        [Packet::Auth(_), Packet::ConnAck(a)] if a.reason_code == ReasonCode::BadAuthenticationMethod));
}

#[test]
fn mqtt_3_1_2_30_before_connack_an_authenticating_client_sends_only_auth_or_disconnect() {
    let (mut conn, mut peer) = authenticating();
    conn.continue_auth(t(0), Bytes::from_static(b"x")).unwrap();
    peer.recv(&mut conn);
    peer.send(&mut conn, t(1), publish("a", QoS::AtMostOnce, 0));
    assert!(matches!(peer.recv(&mut conn).as_slice(),
        [Packet::ConnAck(a)] if a.reason_code == ReasonCode::ProtocolError));
    assert_eq!(
        closed(&mut conn),
        (
            true,
            CloseReason::ProtocolViolation(ReasonCode::ProtocolError)
        )
    );

    let (mut conn, peer) = authenticating();
    conn.continue_auth(t(0), Bytes::from_static(b"x")).unwrap();
    peer.send(&mut conn, t(1), Disconnect::new());
    assert!(matches!(
        events(&mut conn).as_slice(),
        [ConnectionEvent::Disconnected { .. }]
    ));
    assert!(conn.wants_close());
}

#[test]
fn an_auth_the_client_never_answers_ends_at_the_connect_timeout() {
    let config = ServerConfig::new().with_connect_timeout(Duration::from_secs(5));
    let mut conn = Connection::new(t(0), &config);
    let peer = Peer::new(V5);
    peer.send(&mut conn, t(0), connect_auth("m", None));
    events(&mut conn);
    // The core took its time; the client gets the full timeout from the AUTH.
    conn.continue_auth(t(3_000), Bytes::from_static(b"x"))
        .unwrap();
    assert_eq!(conn.poll_timeout(), Some(t(8_000)));
    conn.handle_timeout(t(7_999));
    assert!(!conn.wants_close());
    conn.handle_timeout(t(8_000));
    assert_eq!(closed(&mut conn), (true, CloseReason::ConnectTimeout));
}

#[test]
fn mqtt_4_12_1_1_a_reauthentication_is_reported_while_other_packets_flow() {
    let (mut conn, mut peer) = connected_with(&ServerConfig::new(), connect_auth("m", None));
    // Nothing to answer before the client asks.
    assert_eq!(conn.reauth_success(None), Err(CommandError::InvalidState));
    assert_eq!(
        conn.continue_auth(t(0), Bytes::new()),
        Err(CommandError::InvalidState)
    );
    for round in 0..2 {
        peer.send(
            &mut conn,
            t(1),
            auth_packet(ReasonCode::ReAuthenticate, "m", Some(b"again")),
        );
        assert_eq!(
            events(&mut conn),
            [ConnectionEvent::Auth {
                reason_code: ReasonCode::ReAuthenticate,
                method: MqttString::new("m").unwrap(),
                data: Some(Bytes::from_static(b"again")),
            }]
        );
        peer.send(&mut conn, t(2), Packet::PingReq);
        peer.send(&mut conn, t(2), publish("a", QoS::AtMostOnce, 0));
        assert!(matches!(
            events(&mut conn).as_slice(),
            [ConnectionEvent::Publish(_)]
        ));
        assert_eq!(peer.recv(&mut conn), [Packet::PingResp]);
        if round == 1 {
            conn.continue_auth(t(3), Bytes::from_static(b"nonce"))
                .unwrap();
            let sent = peer.recv(&mut conn);
            assert!(matches!(sent.as_slice(), [Packet::Auth(a)]
                if a.reason_code == ReasonCode::ContinueAuthentication));
            peer.send(
                &mut conn,
                t(4),
                auth_packet(ReasonCode::ContinueAuthentication, "m", Some(b"ecnon")),
            );
            assert!(matches!(
                events(&mut conn).as_slice(),
                [ConnectionEvent::Auth {
                    reason_code: ReasonCode::ContinueAuthentication,
                    ..
                }]
            ));
        }
        conn.reauth_success(Some(Bytes::from_static(b"ok")))
            .unwrap();
        let sent = peer.recv(&mut conn);
        let [Packet::Auth(a)] = sent.as_slice() else {
            panic!("expected AUTH, got {sent:?}");
        };
        assert_eq!(a.reason_code, ReasonCode::Success);
        assert_eq!(
            auth_props(&a.properties),
            (Some("m".into()), Some(Bytes::from_static(b"ok")))
        );
        assert!(conn.is_connected());
    }
}

#[test]
fn mqtt_4_12_1_1_re_authenticate_only_after_connack_and_one_at_a_time() {
    // Before CONNACK the client may only continue.
    let (mut conn, mut peer) = authenticating();
    conn.continue_auth(t(0), Bytes::from_static(b"x")).unwrap();
    peer.recv(&mut conn);
    peer.send(
        &mut conn,
        t(1),
        auth_packet(ReasonCode::ReAuthenticate, "m", None),
    );
    assert!(matches!(peer.recv(&mut conn).as_slice(),
        [Packet::ConnAck(a)] if a.reason_code == ReasonCode::ProtocolError));
    // A second Re-authenticate while one is in progress, or Continue unasked.
    let (mut conn, mut peer) = connected_with(&ServerConfig::new(), connect_auth("m", None));
    peer.send(
        &mut conn,
        t(1),
        auth_packet(ReasonCode::ReAuthenticate, "m", None),
    );
    events(&mut conn);
    peer.send(
        &mut conn,
        t(1),
        auth_packet(ReasonCode::ReAuthenticate, "m", None),
    );
    assert_violation(&mut conn, &mut peer, ReasonCode::ProtocolError);
    let (mut conn, mut peer) = connected_with(&ServerConfig::new(), connect_auth("m", None));
    peer.send(
        &mut conn,
        t(1),
        auth_packet(ReasonCode::ContinueAuthentication, "m", None),
    );
    assert_violation(&mut conn, &mut peer, ReasonCode::ProtocolError);
}

#[test]
fn mqtt_4_12_1_2_a_failed_reauthentication_ends_with_disconnect_and_the_code() {
    let (mut conn, mut peer) = connected_with(&ServerConfig::new(), connect_auth("m", None));
    peer.send(
        &mut conn,
        t(1),
        auth_packet(ReasonCode::ReAuthenticate, "m", None),
    );
    events(&mut conn);
    conn.disconnect(ReasonCode::NotAuthorized).unwrap();
    assert_eq!(
        disconnect_code(&peer.recv(&mut conn)),
        Some(ReasonCode::NotAuthorized)
    );
    assert_eq!(
        closed(&mut conn),
        (
            true,
            CloseReason::ServerDisconnect(ReasonCode::NotAuthorized)
        )
    );
}

/// A connection (keep alive 600 s, connect timeout 5 s) whose client asked to
/// re-authenticate at 1 s and got AUTH 0x18 at 2 s.
fn reauthentication_awaiting_the_client() -> (Connection, Peer) {
    let config = ServerConfig::new().with_connect_timeout(Duration::from_secs(5));
    let mut c = connect_auth("m", None);
    c.keep_alive = 600;
    let (mut conn, mut peer) = connected_with(&config, c);
    peer.send(
        &mut conn,
        t(1_000),
        auth_packet(ReasonCode::ReAuthenticate, "m", None),
    );
    events(&mut conn);
    // While the core decides, only the keep alive is timed (1.5 × 600 s from the AUTH).
    assert_eq!(conn.poll_timeout(), Some(t(901_000)));
    conn.continue_auth(t(2_000), Bytes::from_static(b"challenge"))
        .unwrap();
    peer.recv(&mut conn);
    (conn, peer)
}

#[test]
fn a_reauthentication_the_client_leaves_unanswered_ends_at_the_connect_timeout() {
    let (mut conn, mut peer) = reauthentication_awaiting_the_client();
    assert_eq!(conn.poll_timeout(), Some(t(7_000)));
    conn.handle_timeout(t(6_999));
    assert!(!conn.wants_close());
    conn.handle_timeout(t(7_000));
    assert_eq!(
        disconnect_code(&peer.recv(&mut conn)),
        Some(ReasonCode::NotAuthorized)
    );
    assert_eq!(closed(&mut conn), (true, CloseReason::AuthTimeout));
}

#[test]
fn a_reauthentication_answered_in_time_is_not_timed_any_more() {
    let (mut conn, peer) = reauthentication_awaiting_the_client();
    peer.send(
        &mut conn,
        t(3_000),
        auth_packet(ReasonCode::ContinueAuthentication, "m", Some(b"answer")),
    );
    events(&mut conn);
    conn.reauth_success(None).unwrap();
    assert_eq!(conn.poll_timeout(), Some(t(903_000)));
    conn.handle_timeout(t(7_000));
    assert!(conn.is_connected());
}

#[test]
fn auth_data_too_large_for_the_client_is_refused_and_nothing_is_sent() {
    let (mut conn, mut peer) = {
        let mut conn = Connection::new(t(0), &ServerConfig::new());
        let peer = Peer::new(V5);
        let mut c = connect_auth("m", None);
        c.properties = props(vec![
            Property::AuthenticationMethod(MqttString::new("m").unwrap()),
            Property::MaximumPacketSize(64),
        ]);
        peer.send(&mut conn, t(0), c);
        events(&mut conn);
        (conn, peer)
    };
    let big = Bytes::from(vec![7u8; 100]);
    assert_eq!(
        conn.continue_auth(t(0), big.clone()),
        Err(CommandError::PacketTooLarge)
    );
    assert_eq!(
        conn.accept_with_auth(t(0), false, None, Some(big)),
        Err(CommandError::PacketTooLarge)
    );
    assert!(peer.recv(&mut conn).is_empty());
    // The CONNECT still awaits its answer.
    conn.accept(t(0), false, None).unwrap();
    assert!(conn.is_connected());
}

#[test]
fn mqtt_3_1_1_has_no_auth_packet() {
    let (mut conn, mut peer) = connected(V4);
    conn.handle_read(t(1), &[0xF0, 0x00]);
    assert!(peer.recv(&mut conn).is_empty());
    assert_eq!(
        closed(&mut conn),
        (
            true,
            CloseReason::InvalidPacket(DecodeError::ReservedPacketType(15))
        )
    );
}
