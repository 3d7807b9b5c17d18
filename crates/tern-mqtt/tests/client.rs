//! Scenario tests of the sans-IO client: a test plays the broker at the packet level on a
//! virtual clock.

use core::time::Duration;

use bytes::{Bytes, BytesMut};
use tern_mqtt::client::{Client, ClientConfig, ClientError, ConnectionLost, Event, Instant};
use tern_mqtt::packet::MAX_PACKET_SIZE;
use tern_mqtt::{
    Codec, ConnAck, Decoded, Disconnect, MqttString, Packet, PacketId, Properties, Property,
    ProtocolVersion, PubAck, PubComp, PubRec, PubRel, Publish, QoS, ReasonCode, SubAck,
    TopicFilter, TopicName, UnsubAck,
};

const V5: ProtocolVersion = ProtocolVersion::V5;
const V311: ProtocolVersion = ProtocolVersion::V3_1_1;

/// The broker's side of one connection.
struct Broker {
    version: ProtocolVersion,
    codec: Codec,
    buf: BytesMut,
}

impl Broker {
    fn new(version: ProtocolVersion) -> Self {
        Broker {
            version,
            codec: Codec::server().with_max_incoming(MAX_PACKET_SIZE),
            buf: BytesMut::new(),
        }
    }

    /// Every packet the client wrote.
    fn receive(&mut self, client: &mut Client) -> Vec<Packet> {
        while let Some(bytes) = client.poll_transmit() {
            self.buf.extend_from_slice(&bytes);
        }
        let mut out = Vec::new();
        while let Decoded::Packet(p) = self.codec.decode_mut(&mut self.buf).unwrap() {
            out.push(p);
        }
        out
    }

    fn send(&self, client: &mut Client, now: Instant, packet: Packet) {
        let mut wire = BytesMut::new();
        packet
            .encode(self.version, MAX_PACKET_SIZE, &mut wire)
            .unwrap();
        client.handle_read(now, &wire);
    }
}

fn events(client: &mut Client) -> Vec<Event> {
    std::iter::from_fn(|| client.poll_event()).collect()
}

fn config(version: ProtocolVersion) -> ClientConfig {
    let mut c = ClientConfig::new(version, MqttString::new("test-client").unwrap());
    c.keep_alive = 10;
    c
}

fn publish(topic: &str, qos: QoS) -> Publish {
    let mut p = Publish::new(TopicName::new(topic).unwrap(), Bytes::from_static(b"21.5"));
    p.qos = qos;
    p
}

fn id(n: u16) -> PacketId {
    PacketId::new(n).unwrap()
}

/// Connects and accepts with `connack`; returns the broker side.
fn connected(client: &mut Client, version: ProtocolVersion, connack: ConnAck) -> Broker {
    let mut broker = Broker::new(version);
    client.connect(Instant::ZERO);
    let sent = broker.receive(client);
    assert!(matches!(sent.as_slice(), [Packet::Connect(_)]), "{sent:?}");
    broker.send(client, Instant::ZERO, Packet::ConnAck(connack));
    broker
}

/// Reconnects at 5.0, checks that the client asks to resume its session, and accepts with
/// Session Present.
fn resumed(client: &mut Client) -> Broker {
    let mut broker = Broker::new(V5);
    client.connect(Instant::ZERO);
    let Packet::Connect(c) = broker.receive(client).remove(0) else {
        panic!("the first packet must be CONNECT")
    };
    assert!(!c.clean_start, "a reconnection asks to resume the session");
    broker.send(client, Instant::ZERO, Packet::ConnAck(ConnAck::new(true)));
    broker
}

#[test]
fn connect_subscribe_and_receive_the_seed_scenario() {
    let mut client = Client::new(config(V5));
    let mut broker = connected(&mut client, V5, ConnAck::new(false));
    assert!(matches!(
        events(&mut client).as_slice(),
        [Event::Connected {
            session_present: false,
            ..
        }]
    ));

    let t = Instant::from_millis(5);
    let sub = client
        .subscribe(
            t,
            vec![(
                TopicFilter::new("sensors/temperature").unwrap(),
                QoS::AtLeastOnce,
            )],
        )
        .unwrap();
    let Packet::Subscribe(s) = broker.receive(&mut client).remove(0) else {
        panic!()
    };
    assert_eq!(s.subscriptions[0].filter.as_str(), "sensors/temperature");
    broker.send(
        &mut client,
        t,
        Packet::SubAck(SubAck {
            packet_id: s.packet_id,
            properties: Properties::new(),
            reason_codes: vec![ReasonCode::GrantedQoS1],
        }),
    );
    assert_eq!(
        events(&mut client),
        [Event::Subscribed {
            id: sub,
            reason_codes: vec![ReasonCode::GrantedQoS1]
        }]
    );

    let mut incoming = publish("sensors/temperature", QoS::AtLeastOnce);
    incoming.packet_id = Some(id(9));
    broker.send(&mut client, t, Packet::Publish(incoming.clone()));
    assert_eq!(events(&mut client), [Event::Message(incoming)]);
    assert_eq!(
        broker.receive(&mut client),
        [Packet::PubAck(PubAck::new(id(9)))]
    );
}

#[test]
fn qos1_publish_completes_on_puback() {
    let mut client = Client::new(config(V311));
    let mut broker = connected(&mut client, V311, ConnAck::new(false));
    events(&mut client);
    let pid = client
        .publish(Instant::ZERO, publish("a/b", QoS::AtLeastOnce))
        .unwrap();
    let Packet::Publish(p) = broker.receive(&mut client).remove(0) else {
        panic!()
    };
    assert_eq!(client.inflight_len(), 1);
    assert!(client.awaits_server(), "PUBACK is awaited");
    broker.send(
        &mut client,
        Instant::ZERO,
        Packet::PubAck(PubAck::new(p.packet_id.unwrap())),
    );
    assert_eq!(
        events(&mut client),
        [Event::Published {
            id: pid,
            reason_code: ReasonCode::Success
        }]
    );
    assert_eq!(client.inflight_len(), 0);
    assert!(!client.awaits_server());
}

#[test]
fn qos2_publish_goes_through_pubrec_pubrel_pubcomp() {
    let mut client = Client::new(config(V5));
    let mut broker = connected(&mut client, V5, ConnAck::new(false));
    events(&mut client);
    let pid = client
        .publish(Instant::ZERO, publish("a", QoS::ExactlyOnce))
        .unwrap();
    let Packet::Publish(p) = broker.receive(&mut client).remove(0) else {
        panic!()
    };
    let packet_id = p.packet_id.unwrap();
    broker.send(
        &mut client,
        Instant::ZERO,
        Packet::PubRec(PubRec::new(packet_id)),
    );
    assert_eq!(
        broker.receive(&mut client),
        [Packet::PubRel(PubRel::new(packet_id))]
    );
    assert!(
        events(&mut client).is_empty(),
        "not complete before PUBCOMP"
    );
    broker.send(
        &mut client,
        Instant::ZERO,
        Packet::PubComp(PubComp::new(packet_id)),
    );
    assert_eq!(
        events(&mut client),
        [Event::Published {
            id: pid,
            reason_code: ReasonCode::Success
        }]
    );
}

#[test]
fn incoming_qos2_is_delivered_exactly_once_even_across_a_reconnect() {
    let mut client = Client::new(config(V5));
    let mut broker = connected(&mut client, V5, ConnAck::new(false));
    events(&mut client);
    let mut p = publish("x", QoS::ExactlyOnce);
    p.packet_id = Some(id(3));
    broker.send(&mut client, Instant::ZERO, Packet::Publish(p.clone()));
    assert_eq!(events(&mut client), [Event::Message(p.clone())]);
    assert_eq!(
        broker.receive(&mut client),
        [Packet::PubRec(PubRec::new(id(3)))]
    );

    // The connection drops before PUBREL; the server resends the PUBLISH with DUP.
    client.handle_closed(Instant::ZERO);
    events(&mut client);
    let mut broker = connected(&mut client, V5, ConnAck::new(true));
    events(&mut client);
    let mut dup = p.clone();
    dup.dup = true;
    broker.send(&mut client, Instant::ZERO, Packet::Publish(dup));
    assert!(
        events(&mut client).is_empty(),
        "a QoS 2 message must not be delivered twice"
    );
    assert_eq!(
        broker.receive(&mut client),
        [Packet::PubRec(PubRec::new(id(3)))]
    );
    broker.send(
        &mut client,
        Instant::ZERO,
        Packet::PubRel(PubRel::new(id(3))),
    );
    assert_eq!(
        broker.receive(&mut client),
        [Packet::PubComp(PubComp::new(id(3)))]
    );
}

#[test]
fn keep_alive_pings_and_declares_the_connection_lost_after_one_and_a_half_periods() {
    let mut client = Client::new(config(V5));
    let mut broker = connected(&mut client, V5, ConnAck::new(false));
    events(&mut client);
    let ping_at = client.poll_timeout().unwrap();
    assert_eq!(ping_at, Instant::from_millis(10_000));
    client.handle_timeout(ping_at);
    assert_eq!(broker.receive(&mut client), [Packet::PingReq]);
    // No PINGRESP: lost at 1.5 × 10 s after the last packet received (the CONNACK at 0).
    let lost_at = client.poll_timeout().unwrap();
    assert_eq!(lost_at, Instant::from_millis(15_000));
    client.handle_timeout(Instant::from_millis(14_999));
    assert!(events(&mut client).is_empty());
    client.handle_timeout(lost_at);
    assert_eq!(
        events(&mut client),
        [Event::Disconnected(ConnectionLost::KeepAliveTimeout)]
    );
    assert_eq!(client.poll_timeout(), None);
}

#[test]
fn pingresp_keeps_the_connection_alive() {
    let mut client = Client::new(config(V311));
    let mut broker = connected(&mut client, V311, ConnAck::new(false));
    events(&mut client);
    let mut now = Instant::ZERO;
    for _ in 0..5 {
        now = client.poll_timeout().unwrap();
        assert!(!client.awaits_server());
        client.handle_timeout(now);
        assert_eq!(broker.receive(&mut client), [Packet::PingReq]);
        assert!(client.awaits_server(), "PINGRESP is awaited");
        broker.send(&mut client, now, Packet::PingResp);
        assert!(!client.awaits_server());
        assert!(
            client.poll_timeout().unwrap() > now,
            "the deadline moves on: no busy loop"
        );
    }
    assert!(client.is_connected());
    assert_eq!(now, Instant::from_millis(50_000));
}

#[test]
fn receive_maximum_bounds_the_inflight_window_and_the_queue_drains_in_order() {
    let mut client = Client::new(config(V5));
    let mut connack = ConnAck::new(false);
    connack.properties = Properties::from_properties([Property::ReceiveMaximum(2)]).unwrap();
    let mut broker = connected(&mut client, V5, connack);
    events(&mut client);
    let ids: Vec<_> = (0..5)
        .map(|i| {
            client
                .publish(Instant::ZERO, publish(&format!("t/{i}"), QoS::AtLeastOnce))
                .unwrap()
        })
        .collect();
    let first = broker.receive(&mut client);
    assert_eq!(first.len(), 2);
    assert_eq!((client.inflight_len(), client.queued_len()), (2, 3));
    let mut sent_topics = Vec::new();
    let mut outstanding = first;
    let mut completed = Vec::new();
    while let Some(Packet::Publish(p)) = outstanding.pop() {
        sent_topics.push(p.topic.to_string());
        broker.send(
            &mut client,
            Instant::ZERO,
            Packet::PubAck(PubAck::new(p.packet_id.unwrap())),
        );
        outstanding.extend(broker.receive(&mut client));
        assert!(client.inflight_len() <= 2);
        for e in events(&mut client) {
            if let Event::Published { id, .. } = e {
                completed.push(id);
            }
        }
    }
    assert_eq!(completed.len(), 5);
    let mut sorted = completed.clone();
    sorted.sort();
    assert_eq!(sorted, ids);
}

#[test]
fn session_present_resends_publish_with_dup_and_pubrel_in_order() {
    let mut client = Client::new(config(V5));
    let mut broker = connected(&mut client, V5, ConnAck::new(false));
    events(&mut client);
    client
        .publish(Instant::ZERO, publish("q1", QoS::AtLeastOnce))
        .unwrap();
    client
        .publish(Instant::ZERO, publish("q2", QoS::ExactlyOnce))
        .unwrap();
    let sent = broker.receive(&mut client);
    let (Packet::Publish(p1), Packet::Publish(p2)) = (&sent[0], &sent[1]) else {
        panic!()
    };
    broker.send(
        &mut client,
        Instant::ZERO,
        Packet::PubRec(PubRec::new(p2.packet_id.unwrap())),
    );
    broker.receive(&mut client); // PUBREL, lost with the connection
    client.handle_closed(Instant::ZERO);
    assert_eq!(
        events(&mut client),
        [Event::Disconnected(ConnectionLost::TransportClosed)]
    );

    let mut broker = resumed(&mut client);
    let mut dup = p1.clone();
    dup.dup = true;
    assert_eq!(
        broker.receive(&mut client),
        [
            Packet::Publish(dup),
            Packet::PubRel(PubRel::new(p2.packet_id.unwrap()))
        ]
    );
}

#[test]
fn mqtt_3_2_2_4_without_session_present_inflight_is_dropped_and_reported() {
    let mut client = Client::new(config(V311));
    let mut broker = connected(&mut client, V311, ConnAck::new(false));
    events(&mut client);
    let pid = client
        .publish(Instant::ZERO, publish("q1", QoS::AtLeastOnce))
        .unwrap();
    broker.receive(&mut client);
    client.handle_closed(Instant::ZERO);
    events(&mut client);
    let mut broker = connected(&mut client, V311, ConnAck::new(false));
    let ev = events(&mut client);
    assert!(ev.contains(&Event::Dropped { ids: vec![pid] }), "{ev:?}");
    assert!(
        broker.receive(&mut client).is_empty(),
        "nothing is resent into a new session"
    );
}

#[test]
fn publishes_before_connack_wait_and_go_out_after_it() {
    let mut client = Client::new(config(V5));
    let mut broker = Broker::new(V5);
    client.connect(Instant::ZERO);
    let q0 = client
        .publish(Instant::ZERO, publish("early", QoS::AtMostOnce))
        .unwrap();
    assert!(matches!(
        broker.receive(&mut client).as_slice(),
        [Packet::Connect(_)]
    ));
    broker.send(
        &mut client,
        Instant::ZERO,
        Packet::ConnAck(ConnAck::new(false)),
    );
    assert!(
        matches!(broker.receive(&mut client).as_slice(), [Packet::Publish(p)] if p.topic.as_str() == "early")
    );
    assert!(events(&mut client).contains(&Event::Published {
        id: q0,
        reason_code: ReasonCode::Success
    }));
}

#[test]
fn mqtt_3_2_2_11_publish_above_maximum_qos_is_refused() {
    let mut client = Client::new(config(V5));
    let mut connack = ConnAck::new(false);
    connack.properties = Properties::from_properties([Property::MaximumQoS(0)]).unwrap();
    let mut broker = connected(&mut client, V5, connack);
    assert_eq!(
        client.publish(Instant::ZERO, publish("a", QoS::AtLeastOnce)),
        Err(ClientError::QoSNotSupported)
    );
    assert!(broker.receive(&mut client).is_empty());
}

#[test]
fn a_publish_over_the_servers_maximum_packet_size_is_refused() {
    let mut client = Client::new(config(V5));
    let mut connack = ConnAck::new(false);
    connack.properties = Properties::from_properties([Property::MaximumPacketSize(64)]).unwrap();
    let mut broker = connected(&mut client, V5, connack);
    let mut big = publish("a", QoS::AtMostOnce);
    big.payload = Bytes::from(vec![0u8; 100]);
    assert!(matches!(
        client.publish(Instant::ZERO, big),
        Err(ClientError::Encode(_))
    ));
    assert!(broker.receive(&mut client).is_empty());
}

#[test]
fn packet_ids_are_unique_across_publish_subscribe_and_unsubscribe() {
    let mut client = Client::new(config(V5));
    let mut broker = connected(&mut client, V5, ConnAck::new(false));
    for i in 0..20 {
        client
            .publish(Instant::ZERO, publish("a", QoS::AtLeastOnce))
            .unwrap();
        client
            .subscribe(
                Instant::ZERO,
                vec![(TopicFilter::new("b").unwrap(), QoS::AtMostOnce)],
            )
            .unwrap();
        client
            .unsubscribe(
                Instant::ZERO,
                vec![TopicFilter::new(&format!("c/{i}")).unwrap()],
            )
            .unwrap();
    }
    let mut seen = std::collections::BTreeSet::new();
    for p in broker.receive(&mut client) {
        let id = match p {
            Packet::Publish(p) => p.packet_id.unwrap(),
            Packet::Subscribe(s) => s.packet_id,
            Packet::Unsubscribe(u) => u.packet_id,
            other => panic!("{other:?}"),
        };
        assert!(seen.insert(id), "packet id {id} used twice while in flight");
    }
    assert_eq!(seen.len(), 60);
}

#[test]
fn incoming_topic_alias_is_resolved_and_an_unknown_one_is_a_protocol_error() {
    let mut cfg = config(V5);
    cfg.connect_properties = Properties::from_properties([Property::TopicAliasMaximum(5)]).unwrap();
    let mut client = Client::new(cfg);
    let mut broker = connected(&mut client, V5, ConnAck::new(false));
    events(&mut client);
    let mut first = publish("long/topic/name", QoS::AtMostOnce);
    first.properties = Properties::from_properties([Property::TopicAlias(2)]).unwrap();
    broker.send(&mut client, Instant::ZERO, Packet::Publish(first));
    let mut second = publish("x", QoS::AtMostOnce);
    second.topic = TopicName::alias_only();
    second.properties = Properties::from_properties([Property::TopicAlias(2)]).unwrap();
    broker.send(&mut client, Instant::ZERO, Packet::Publish(second));
    let got: Vec<String> = events(&mut client)
        .into_iter()
        .filter_map(|e| match e {
            Event::Message(p) => Some(p.topic.to_string()),
            _ => None,
        })
        .collect();
    assert_eq!(got, ["long/topic/name", "long/topic/name"]);

    // Alias 6 is above the maximum of 5 we announced: DISCONNECT 0x94.
    let mut bad = publish("y", QoS::AtMostOnce);
    bad.properties = Properties::from_properties([Property::TopicAlias(6)]).unwrap();
    broker.send(&mut client, Instant::ZERO, Packet::Publish(bad));
    assert_eq!(
        broker.receive(&mut client),
        [Packet::Disconnect(Disconnect::with_reason(
            ReasonCode::TopicAliasInvalid
        ))]
    );
    assert_eq!(
        events(&mut client),
        [Event::Disconnected(ConnectionLost::ProtocolViolation(
            ReasonCode::TopicAliasInvalid
        ))]
    );
}

#[test]
fn malformed_input_answers_with_disconnect_0x81_in_5_0() {
    let mut client = Client::new(config(V5));
    let mut broker = connected(&mut client, V5, ConnAck::new(false));
    events(&mut client);
    client.handle_read(Instant::ZERO, &[0x36, 0x00]); // PUBLISH with QoS 3
    assert_eq!(
        broker.receive(&mut client),
        [Packet::Disconnect(Disconnect::with_reason(
            ReasonCode::MalformedPacket
        ))]
    );
    assert!(matches!(
        events(&mut client).as_slice(),
        [Event::Disconnected(ConnectionLost::ProtocolError(_))]
    ));
}

#[test]
fn server_disconnect_and_refused_connack_surface_as_events() {
    let mut client = Client::new(config(V5));
    let broker = connected(&mut client, V5, ConnAck::new(false));
    events(&mut client);
    let d = Disconnect::with_reason(ReasonCode::ServerShuttingDown);
    broker.send(&mut client, Instant::ZERO, Packet::Disconnect(d.clone()));
    assert_eq!(
        events(&mut client),
        [Event::Disconnected(ConnectionLost::ServerDisconnect(d))]
    );

    let mut client = Client::new(config(V311));
    let mut refused = ConnAck::new(false);
    refused.reason_code = ReasonCode::NotAuthorized;
    connected(&mut client, V311, refused.clone());
    assert_eq!(
        events(&mut client),
        [Event::Disconnected(ConnectionLost::Refused(refused))]
    );
}

#[test]
fn connect_times_out_without_connack() {
    let mut cfg = config(V5);
    cfg.connect_timeout = Duration::from_secs(3);
    let mut client = Client::new(cfg);
    client.connect(Instant::ZERO);
    assert_eq!(client.poll_timeout(), Some(Instant::from_millis(3_000)));
    client.handle_timeout(Instant::from_millis(3_000));
    assert_eq!(
        events(&mut client),
        [Event::Disconnected(ConnectionLost::ConnectTimeout)]
    );
}

#[test]
fn a_pubrel_for_an_unknown_id_is_still_completed() {
    let mut client = Client::new(config(V5));
    let mut broker = connected(&mut client, V5, ConnAck::new(true));
    events(&mut client);
    broker.send(
        &mut client,
        Instant::ZERO,
        Packet::PubRel(PubRel::new(id(77))),
    );
    let mut comp = PubComp::new(id(77));
    comp.reason_code = ReasonCode::PacketIdentifierNotFound;
    assert_eq!(broker.receive(&mut client), [Packet::PubComp(comp)]);
    assert!(client.is_connected());
}

#[test]
fn a_restored_snapshot_resumes_the_session_and_loses_nothing() {
    let mut client = Client::new(config(V5));
    let mut broker = connected(&mut client, V5, ConnAck::new(false));
    events(&mut client);
    let q1 = client
        .publish(Instant::ZERO, publish("q1", QoS::AtLeastOnce))
        .unwrap();
    let q2 = client
        .publish(Instant::ZERO, publish("q2", QoS::ExactlyOnce))
        .unwrap();
    let sent = broker.receive(&mut client);
    let (Packet::Publish(p1), Packet::Publish(p2)) = (&sent[0], &sent[1]) else {
        panic!()
    };
    broker.send(
        &mut client,
        Instant::ZERO,
        Packet::PubRec(PubRec::new(p2.packet_id.unwrap())),
    );
    broker.receive(&mut client);
    // An incoming QoS 2 message awaiting PUBREL.
    let mut incoming = publish("in", QoS::ExactlyOnce);
    incoming.packet_id = Some(id(40));
    broker.send(
        &mut client,
        Instant::ZERO,
        Packet::Publish(incoming.clone()),
    );
    broker.receive(&mut client);
    events(&mut client);

    // The process dies; a new one restores the snapshot.
    let snapshot = client.snapshot();
    let mut restored = Client::restore(config(V5), &snapshot).unwrap();
    assert_eq!(
        restored.snapshot(),
        snapshot,
        "restore(snapshot) is the same session"
    );
    let mut broker = resumed(&mut restored);
    let mut dup = p1.clone();
    dup.dup = true;
    assert_eq!(
        broker.receive(&mut restored),
        [
            Packet::Publish(dup),
            Packet::PubRel(PubRel::new(p2.packet_id.unwrap()))
        ]
    );
    events(&mut restored);
    // The resent incoming QoS 2 is not delivered again.
    incoming.dup = true;
    broker.send(&mut restored, Instant::ZERO, Packet::Publish(incoming));
    assert!(events(&mut restored).is_empty());
    // Completing the exchanges reports the publications by their original ids.
    broker.send(
        &mut restored,
        Instant::ZERO,
        Packet::PubAck(PubAck::new(p1.packet_id.unwrap())),
    );
    broker.send(
        &mut restored,
        Instant::ZERO,
        Packet::PubComp(PubComp::new(p2.packet_id.unwrap())),
    );
    assert_eq!(
        events(&mut restored),
        [
            Event::Published {
                id: q1,
                reason_code: ReasonCode::Success
            },
            Event::Published {
                id: q2,
                reason_code: ReasonCode::Success
            },
        ]
    );
}

#[test]
fn damaged_or_foreign_snapshots_are_refused() {
    use tern_mqtt::client::SnapshotError;
    let mut client = Client::new(config(V5));
    client
        .publish(Instant::ZERO, publish("q", QoS::AtLeastOnce))
        .unwrap();
    let snapshot = client.snapshot();
    assert!(matches!(
        Client::restore(config(V5), b"nope"),
        Err(SnapshotError::NotASnapshot)
    ));
    assert!(matches!(
        Client::restore(config(V311), &snapshot),
        Err(SnapshotError::ProtocolMismatch {
            snapshot: 5,
            config: 4
        })
    ));
    for cut in 0..snapshot.len() {
        assert!(
            Client::restore(config(V5), &snapshot[..cut]).is_err(),
            "cut at {cut}"
        );
    }
    let mut future = snapshot.to_vec();
    future[4] = 2;
    assert!(matches!(
        Client::restore(config(V5), &future),
        Err(SnapshotError::UnsupportedVersion(2))
    ));
    // A count far beyond the bytes present is refused without reserving memory for it.
    let mut huge = snapshot[..16].to_vec(); // the header, then the in-flight count
    huge.extend_from_slice(&u32::MAX.to_be_bytes());
    assert!(Client::restore(config(V5), &huge).is_err());
}

#[test]
fn mqtt_4_6_0_2_manual_acks_go_out_in_arrival_order() {
    let mut cfg = config(V5);
    cfg.manual_acks = true;
    let mut client = Client::new(cfg);
    let mut broker = connected(&mut client, V5, ConnAck::new(false));
    events(&mut client);
    for n in [1, 2] {
        let mut p = publish("m", QoS::AtLeastOnce);
        p.packet_id = Some(id(n));
        broker.send(&mut client, Instant::ZERO, Packet::Publish(p));
    }
    let mut q2 = publish("m", QoS::ExactlyOnce);
    q2.packet_id = Some(id(3));
    broker.send(&mut client, Instant::ZERO, Packet::Publish(q2.clone()));
    assert_eq!(events(&mut client).len(), 3);
    assert!(
        broker.receive(&mut client).is_empty(),
        "nothing is acknowledged before ack()"
    );

    // A resend of the QoS 2 message before the application acknowledged it: no PUBREC yet.
    q2.dup = true;
    broker.send(&mut client, Instant::ZERO, Packet::Publish(q2));
    assert!(events(&mut client).is_empty() && broker.receive(&mut client).is_empty());

    client.ack(Instant::ZERO, id(2)).unwrap();
    client.ack(Instant::ZERO, id(3)).unwrap();
    assert!(
        broker.receive(&mut client).is_empty(),
        "PUBACK 2 waits for PUBACK 1"
    );
    client.ack(Instant::ZERO, id(1)).unwrap();
    assert_eq!(
        broker.receive(&mut client),
        [
            Packet::PubAck(PubAck::new(id(1))),
            Packet::PubAck(PubAck::new(id(2))),
            Packet::PubRec(PubRec::new(id(3))),
        ]
    );
    assert_eq!(
        client.ack(Instant::ZERO, id(1)),
        Err(ClientError::UnknownAck)
    );
}

#[test]
fn outgoing_topic_aliases_are_assigned_up_to_the_servers_maximum_and_reset_per_connection() {
    let mut client = Client::new(config(V5));
    let mut connack = ConnAck::new(false);
    connack.properties = Properties::from_properties([Property::TopicAliasMaximum(2)]).unwrap();
    let mut broker = connected(&mut client, V5, connack);
    events(&mut client);
    for topic in ["a/1", "a/1", "b/2", "c/3", "b/2"] {
        client
            .publish(Instant::ZERO, publish(topic, QoS::AtLeastOnce))
            .unwrap();
    }
    let sent: Vec<(String, Option<u16>)> = broker
        .receive(&mut client)
        .into_iter()
        .map(|p| match p {
            Packet::Publish(p) => (p.topic.to_string(), p.properties.topic_alias()),
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(
        sent,
        [
            ("a/1".to_string(), Some(1)),
            (String::new(), Some(1)),
            ("b/2".to_string(), Some(2)),
            ("c/3".to_string(), None), // the server accepts two aliases
            (String::new(), Some(2)),
        ]
    );

    // A new connection: aliases start afresh, and retransmissions carry the full topic.
    client.handle_closed(Instant::ZERO);
    events(&mut client);
    let mut broker = Broker::new(V5);
    client.connect(Instant::ZERO);
    broker.receive(&mut client);
    let mut connack = ConnAck::new(true);
    connack.properties = Properties::from_properties([Property::TopicAliasMaximum(2)]).unwrap();
    broker.send(&mut client, Instant::ZERO, Packet::ConnAck(connack));
    for p in broker.receive(&mut client) {
        let Packet::Publish(p) = p else { panic!() };
        assert!(p.dup && !p.topic.is_empty() && p.properties.topic_alias().is_none());
    }
    client
        .publish(Instant::ZERO, publish("b/2", QoS::AtMostOnce))
        .unwrap();
    let Packet::Publish(p) = broker.receive(&mut client).remove(0) else {
        panic!()
    };
    assert_eq!(
        (p.topic.as_str(), p.properties.topic_alias()),
        ("b/2", Some(1))
    );
}

#[test]
fn enhanced_authentication_challenges_surface_as_events_and_are_answered() {
    use tern_mqtt::Auth;
    let method = |data: &'static [u8]| {
        Properties::from_properties([
            Property::AuthenticationMethod(MqttString::new("SCRAM-SHA-1").unwrap()),
            Property::AuthenticationData(Bytes::from_static(data)),
        ])
        .unwrap()
    };
    let mut cfg = config(V5);
    cfg.connect_properties = method(b"client-first");
    let mut client = Client::new(cfg);
    let mut broker = Broker::new(V5);
    client.connect(Instant::ZERO);
    broker.receive(&mut client);
    let challenge = Auth {
        reason_code: ReasonCode::ContinueAuthentication,
        properties: method(b"server-first"),
    };
    broker.send(&mut client, Instant::ZERO, Packet::Auth(challenge.clone()));
    assert_eq!(events(&mut client), [Event::Auth(challenge)]);
    let answer = Auth {
        reason_code: ReasonCode::ContinueAuthentication,
        properties: method(b"client-final"),
    };
    client.auth(Instant::ZERO, answer.clone()).unwrap();
    assert_eq!(broker.receive(&mut client), [Packet::Auth(answer)]);
    broker.send(
        &mut client,
        Instant::ZERO,
        Packet::ConnAck(ConnAck::new(false)),
    );
    assert!(client.is_connected());

    // An AUTH from a server when no method was agreed is a Protocol Error.
    let mut plain = Client::new(config(V5));
    let mut broker = connected(&mut plain, V5, ConnAck::new(false));
    events(&mut plain);
    broker.send(&mut plain, Instant::ZERO, Packet::Auth(Auth::default()));
    assert_eq!(
        broker.receive(&mut plain),
        [Packet::Disconnect(Disconnect::with_reason(
            ReasonCode::ProtocolError
        ))]
    );
    assert_eq!(
        plain.auth(Instant::ZERO, Auth::default()),
        Err(ClientError::AuthNotAvailable)
    );
}

/// Grants `codes` to the SUBSCRIBE the broker just received and returns its filters.
fn grant(broker: &mut Broker, client: &mut Client, codes: Vec<ReasonCode>) -> Vec<String> {
    let Packet::Subscribe(s) = broker.receive(client).remove(0) else {
        panic!("expected SUBSCRIBE")
    };
    broker.send(
        client,
        Instant::ZERO,
        Packet::SubAck(SubAck {
            packet_id: s.packet_id,
            properties: Properties::new(),
            reason_codes: codes,
        }),
    );
    s.subscriptions
        .iter()
        .map(|s| s.filter.as_str().to_owned())
        .collect()
}

#[test]
fn a_reconnection_without_the_session_subscribes_again_to_what_was_granted() {
    let mut client = Client::new(config(V5));
    let mut broker = connected(&mut client, V5, ConnAck::new(false));
    let filters = [
        "sensors/temperature",
        "sensors/humidity",
        "forbidden/#",
        "gone/+",
    ];
    let subs = filters
        .iter()
        .map(|f| (TopicFilter::new(f).unwrap(), QoS::AtLeastOnce))
        .collect();
    client.subscribe(Instant::ZERO, subs).unwrap();
    let codes = vec![
        ReasonCode::GrantedQoS1,
        ReasonCode::Success,
        ReasonCode::NotAuthorized,
        ReasonCode::GrantedQoS1,
    ];
    grant(&mut broker, &mut client, codes);
    client
        .unsubscribe(Instant::ZERO, vec![TopicFilter::new("gone/+").unwrap()])
        .unwrap();
    let Packet::Unsubscribe(u) = broker.receive(&mut client).remove(0) else {
        panic!("expected UNSUBSCRIBE")
    };
    let unsuback = UnsubAck {
        packet_id: u.packet_id,
        properties: Properties::new(),
        reason_codes: vec![ReasonCode::Success],
    };
    broker.send(&mut client, Instant::ZERO, Packet::UnsubAck(unsuback));
    events(&mut client);

    // Session present: the server still has the subscriptions, nothing is resent.
    client.handle_closed(Instant::ZERO);
    let mut broker = resumed(&mut client);
    assert_eq!(broker.receive(&mut client), []);

    // Session lost: the granted filters (not the refused or unsubscribed ones) come back.
    client.handle_closed(Instant::ZERO);
    let mut broker = connected(&mut client, V5, ConnAck::new(false));
    let again = grant(
        &mut broker,
        &mut client,
        vec![ReasonCode::GrantedQoS1, ReasonCode::NotAuthorized],
    );
    assert_eq!(again, ["sensors/humidity", "sensors/temperature"]);
    let ev = events(&mut client);
    assert!(
        ev.contains(&Event::Resubscribed {
            filters: vec![
                TopicFilter::new("sensors/humidity").unwrap(),
                TopicFilter::new("sensors/temperature").unwrap()
            ],
            reason_codes: vec![ReasonCode::GrantedQoS1, ReasonCode::NotAuthorized],
        }),
        "{ev:?}"
    );

    // A filter refused on resubscription is forgotten.
    client.handle_closed(Instant::ZERO);
    let mut broker = connected(&mut client, V5, ConnAck::new(false));
    let again = grant(&mut broker, &mut client, vec![ReasonCode::Success]);
    assert_eq!(again, ["sensors/humidity"]);

    // Off when configured off.
    let mut c = config(V5);
    c.resubscribe = false;
    let mut client = Client::new(c);
    let mut broker = connected(&mut client, V5, ConnAck::new(false));
    let one = vec![(TopicFilter::new("a").unwrap(), QoS::AtMostOnce)];
    client.subscribe(Instant::ZERO, one).unwrap();
    grant(&mut broker, &mut client, vec![ReasonCode::Success]);
    client.handle_closed(Instant::ZERO);
    let mut broker = connected(&mut client, V5, ConnAck::new(false));
    assert_eq!(broker.receive(&mut client), []);
}

#[test]
fn a_3_1_1_connect_leaves_out_the_5_0_properties_of_a_shared_configuration() {
    let mut c = config(V311);
    c.connect_properties =
        Properties::from_properties([Property::SessionExpiryInterval(60)]).unwrap();
    let mut will = tern_mqtt::Will::new(TopicName::new("status").unwrap(), &b"gone"[..]);
    will.properties = Properties::from_properties([Property::WillDelayInterval(5)]).unwrap();
    c.will = Some(will);
    let mut client = Client::new(c);
    client.connect(Instant::ZERO);
    let sent = Broker::new(V311).receive(&mut client);
    let [Packet::Connect(connect)] = sent.as_slice() else {
        panic!("CONNECT must be sent: {sent:?}")
    };
    assert!(connect.properties.is_empty());
    assert!(connect.will.as_ref().unwrap().properties.is_empty());
}
