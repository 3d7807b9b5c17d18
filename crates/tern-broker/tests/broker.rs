//! The broker core end to end: clients as byte streams on a virtual clock, named by the spec
//! statement each test checks where there is one.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use bytes::BytesMut;
use tern_broker::session::SessionLimits;
use tern_broker::{Broker, BrokerConfig, ConnectionId, Event};
use tern_mqtt::{
    Codec, Connect, Decoded, Disconnect, MqttString, Packet, PacketId, Properties, Property,
    ProtocolVersion, PubAck, PubComp, PubRec, PubRel, Publish, QoS, ReasonCode, RetainHandling,
    Subscribe, Subscription, SubscriptionOptions, TopicFilter, TopicName, Will,
};
use tern_time::Instant;

/// The broker and what it wrote to each connection, on a virtual clock.
struct Net {
    broker: Broker,
    now: Instant,
    out: HashMap<ConnectionId, BytesMut>,
    /// Packets read but not yet returned by `received` (after a CONNACK or SUBACK).
    pending: HashMap<ConnectionId, Vec<Packet>>,
    closed: HashSet<ConnectionId>,
}

/// One client's end: its connection and codec.
#[derive(Clone, Copy)]
struct Client {
    id: ConnectionId,
    version: ProtocolVersion,
}

fn pid(n: u16) -> PacketId {
    PacketId::new(n).unwrap()
}

fn topic(s: &str) -> TopicName {
    TopicName::new(s).unwrap()
}

impl Net {
    fn new() -> Net {
        Net::with(BrokerConfig::default())
    }

    fn with(config: BrokerConfig) -> Net {
        let now = Instant::ZERO;
        Net {
            broker: Broker::new(config, now),
            now,
            out: HashMap::new(),
            pending: HashMap::new(),
            closed: HashSet::new(),
        }
    }

    /// Runs the adapter's part: every event, every byte to its connection's buffer.
    fn flush(&mut self) {
        while let Some(event) = self.broker.poll_event() {
            match event {
                Event::Transmit(id) | Event::Close(id) => {
                    let buf = self.out.entry(id).or_default();
                    loop {
                        let mut chunk = BytesMut::new();
                        if self.broker.poll_transmit(self.now, id, &mut chunk) == 0 {
                            break;
                        }
                        buf.extend_from_slice(&chunk);
                    }
                    if matches!(event, Event::Close(_)) && self.closed.insert(id) {
                        self.broker.handle_closed(self.now, id);
                    }
                }
                Event::Resume(_) => {}
                Event::Authenticate {
                    connection,
                    password,
                    ..
                } => {
                    let ok = password.as_deref() == Some(&b"secret"[..]);
                    self.broker.authenticated(self.now, connection, ok);
                }
                other => panic!("unexpected {other:?}"),
            }
        }
    }

    fn advance(&mut self, by: Duration) {
        self.now = self.now + by;
        self.broker.handle_timeout(self.now);
        self.flush();
    }

    fn send(&mut self, c: Client, packet: Packet) {
        let mut wire = BytesMut::new();
        Codec::new(c.version).encode(&packet, &mut wire).unwrap();
        self.broker.handle_read(self.now, c.id, &wire);
        self.flush();
    }

    /// Everything the broker wrote to `c` since the last call (its transport is writable
    /// again, whatever the events said).
    fn received(&mut self, c: Client) -> Vec<Packet> {
        self.flush();
        let buf = self.out.entry(c.id).or_default();
        loop {
            let mut chunk = BytesMut::new();
            if self.broker.poll_transmit(self.now, c.id, &mut chunk) == 0 {
                break;
            }
            buf.extend_from_slice(&chunk);
        }
        let codec = Codec::new(c.version);
        let mut packets = self.pending.remove(&c.id).unwrap_or_default();
        while let Decoded::Packet(p) = codec.decode(buf).unwrap() {
            packets.push(p);
        }
        packets
    }

    fn connect_with(
        &mut self,
        client_id: &str,
        version: ProtocolVersion,
        edit: impl FnOnce(&mut Connect),
    ) -> (Client, Packet) {
        let id = self.broker.accept(self.now).unwrap();
        let c = Client { id, version };
        let mut connect = Connect::new(version, MqttString::new(client_id).unwrap());
        edit(&mut connect);
        self.send(c, Packet::Connect(Box::new(connect)));
        let mut got = self.received(c);
        assert!(!got.is_empty(), "no CONNACK");
        let connack = got.remove(0);
        self.pending.insert(c.id, got);
        (c, connack)
    }

    fn connect(&mut self, client_id: &str) -> Client {
        let (c, connack) = self.connect_with(client_id, ProtocolVersion::V5, |_| {});
        assert!(matches!(connack, Packet::ConnAck(ref a) if a.reason_code == ReasonCode::Success));
        c
    }

    fn subscribe(&mut self, c: Client, filter: &str, qos: QoS) {
        self.subscribe_with(c, filter, SubscriptionOptions::qos(qos), None);
    }

    fn subscribe_with(
        &mut self,
        c: Client,
        filter: &str,
        options: SubscriptionOptions,
        identifier: Option<u32>,
    ) -> Vec<Packet> {
        let mut subscribe = Subscribe::new(
            pid(100),
            vec![Subscription {
                filter: TopicFilter::new(filter).unwrap(),
                options,
            }],
        );
        if let Some(identifier) = identifier {
            subscribe.properties =
                Properties::from_properties([Property::SubscriptionIdentifier(identifier)])
                    .unwrap();
        }
        self.send(c, Packet::Subscribe(subscribe));
        let mut got = self.received(c);
        assert!(
            matches!(got.first(), Some(Packet::SubAck(_))),
            "expected SUBACK, got {got:?}"
        );
        got.remove(0);
        got
    }

    fn publish(&mut self, c: Client, topic_name: &str, payload: &str, qos: QoS, id: u16) {
        let mut p = Publish::new(topic(topic_name), payload.to_owned());
        p.qos = qos;
        p.packet_id = (qos != QoS::AtMostOnce).then(|| pid(id));
        self.send(c, Packet::Publish(p));
    }
}

fn publishes(packets: &[Packet]) -> Vec<&Publish> {
    packets
        .iter()
        .filter_map(|p| match p {
            Packet::Publish(p) => Some(p),
            _ => None,
        })
        .collect()
}

fn payloads(packets: &[Packet]) -> Vec<String> {
    publishes(packets)
        .iter()
        .map(|p| String::from_utf8_lossy(&p.payload).into_owned())
        .collect()
}

#[test]
fn the_seed_scenario_a_reading_reaches_the_subscriber() {
    let mut net = Net::new();
    let sub = net.connect("display");
    net.subscribe(sub, "sensors/temperature", QoS::AtMostOnce);
    let publisher = net.connect("thermometer");
    net.publish(publisher, "sensors/temperature", "21.5", QoS::AtMostOnce, 0);
    let got = net.received(sub);
    assert_eq!(payloads(&got), ["21.5"]);
    assert_eq!(publishes(&got)[0].topic.as_str(), "sensors/temperature");
}

#[test]
fn mqtt_4_3_2_qos_1_is_acknowledged_to_the_publisher_and_by_the_subscriber() {
    let mut net = Net::new();
    let sub = net.connect("sub");
    net.subscribe(sub, "t", QoS::AtLeastOnce);
    let publisher = net.connect("pub");
    net.publish(publisher, "t", "one", QoS::AtLeastOnce, 7);
    let acks = net.received(publisher);
    assert!(
        matches!(&acks[..], [Packet::PubAck(a)] if a.packet_id == pid(7) && a.reason_code == ReasonCode::Success)
    );
    let got = net.received(sub);
    let delivered = publishes(&got)[0].clone();
    assert_eq!(delivered.qos, QoS::AtLeastOnce);
    net.send(
        sub,
        Packet::PubAck(PubAck::new(delivered.packet_id.unwrap())),
    );
    assert_eq!(net.broker.stats().messages_sent, 1);
}

#[test]
fn mqtt_5_0_no_matching_subscribers_is_said_in_the_puback() {
    let mut net = Net::new();
    let publisher = net.connect("pub");
    net.publish(publisher, "nobody/listens", "x", QoS::AtLeastOnce, 1);
    let acks = net.received(publisher);
    assert!(
        matches!(&acks[..], [Packet::PubAck(a)] if a.reason_code == ReasonCode::NoMatchingSubscribers)
    );
}

#[test]
fn mqtt_4_3_3_9_a_qos_2_message_sent_twice_before_pubrel_is_delivered_once() {
    let mut net = Net::new();
    let sub = net.connect("sub");
    net.subscribe(sub, "t", QoS::ExactlyOnce);
    let publisher = net.connect("pub");
    net.publish(publisher, "t", "once", QoS::ExactlyOnce, 3);
    let mut again = Publish::new(topic("t"), "once");
    again.qos = QoS::ExactlyOnce;
    again.packet_id = Some(pid(3));
    again.dup = true;
    net.send(publisher, Packet::Publish(again));
    let acks = net.received(publisher);
    assert_eq!(acks.len(), 2);
    assert!(
        acks.iter()
            .all(|a| matches!(a, Packet::PubRec(r) if r.packet_id == pid(3)))
    );
    net.send(publisher, Packet::PubRel(PubRel::new(pid(3))));
    assert!(
        matches!(&net.received(publisher)[..], [Packet::PubComp(c)] if c.reason_code == ReasonCode::Success)
    );
    // The subscriber completes its side: PUBREC → PUBREL → PUBCOMP.
    let got = net.received(sub);
    assert_eq!(payloads(&got), ["once"]);
    let id = publishes(&got)[0].packet_id.unwrap();
    net.send(sub, Packet::PubRec(PubRec::new(id)));
    assert!(matches!(&net.received(sub)[..], [Packet::PubRel(r)] if r.packet_id == id));
    net.send(sub, Packet::PubComp(PubComp::new(id)));
    // After PUBREL the identifier names a new message.
    net.publish(publisher, "t", "twice", QoS::ExactlyOnce, 3);
    assert_eq!(payloads(&net.received(sub)), ["twice"]);
}

#[test]
fn a_pubrel_for_an_unknown_packet_id_gets_pubcomp_0x92() {
    let mut net = Net::new();
    let publisher = net.connect("pub");
    net.send(publisher, Packet::PubRel(PubRel::new(pid(9))));
    assert!(
        matches!(&net.received(publisher)[..], [Packet::PubComp(c)] if c.reason_code == ReasonCode::PacketIdentifierNotFound)
    );
}

#[test]
fn mqtt_3_3_1_retained_messages_are_kept_replaced_cleared_and_sent_on_subscribe() {
    let mut net = Net::new();
    let publisher = net.connect("pub");
    let mut p = Publish::new(topic("state/door"), "open");
    p.retain = true;
    net.send(publisher, Packet::Publish(p.clone()));
    p.payload = "closed".into();
    net.send(publisher, Packet::Publish(p.clone()));
    let sub = net.connect("sub");
    let got = net.subscribe_with(
        sub,
        "state/+",
        SubscriptionOptions::qos(QoS::AtLeastOnce),
        None,
    );
    assert_eq!(payloads(&got), ["closed"]);
    // [MQTT-3.3.1-9]: RETAIN is set on a message sent because of a new subscription.
    assert!(publishes(&got)[0].retain);
    // [MQTT-3.3.1-12]: a live message goes out with RETAIN clear.
    net.send(publisher, Packet::Publish(p.clone()));
    let live = net.received(sub);
    assert!(!publishes(&live)[0].retain);
    // [MQTT-3.3.1-6/7]: an empty retained message clears the topic (and is still delivered).
    p.payload = bytes::Bytes::new();
    net.send(publisher, Packet::Publish(p));
    net.received(sub);
    let late = net.connect("late");
    assert!(
        net.subscribe_with(
            late,
            "state/#",
            SubscriptionOptions::qos(QoS::AtMostOnce),
            None
        )
        .is_empty()
    );
}

#[test]
fn mqtt_3_8_3_retain_handling_2_sends_nothing_and_1_only_for_a_new_subscription() {
    let mut net = Net::new();
    let publisher = net.connect("pub");
    let mut p = Publish::new(topic("r"), "kept");
    p.retain = true;
    net.send(publisher, Packet::Publish(p));
    let sub = net.connect("sub");
    let mut options = SubscriptionOptions::qos(QoS::AtMostOnce);
    options.retain_handling = RetainHandling::DoNotSend;
    assert!(net.subscribe_with(sub, "r", options, None).is_empty());
    let other = net.connect("other");
    options.retain_handling = RetainHandling::SendAtSubscribeIfNew;
    assert_eq!(
        payloads(&net.subscribe_with(other, "r", options, None)),
        ["kept"]
    );
    assert!(net.subscribe_with(other, "r", options, None).is_empty());
}

#[test]
fn mqtt_3_3_4_overlapping_subscriptions_give_one_copy_at_the_highest_qos_with_every_identifier() {
    let mut net = Net::new();
    let sub = net.connect("sub");
    net.subscribe_with(
        sub,
        "a/+",
        SubscriptionOptions::qos(QoS::AtMostOnce),
        Some(1),
    );
    net.subscribe_with(
        sub,
        "a/#",
        SubscriptionOptions::qos(QoS::AtLeastOnce),
        Some(2),
    );
    let publisher = net.connect("pub");
    net.publish(publisher, "a/b", "x", QoS::ExactlyOnce, 1);
    let got = net.received(sub);
    let copies = publishes(&got);
    assert_eq!(copies.len(), 1);
    assert_eq!(copies[0].qos, QoS::AtLeastOnce);
    let ids: Vec<u32> = copies[0].properties.subscription_identifiers().collect();
    assert_eq!(ids, [1, 2]);
}

#[test]
fn mqtt_3_8_3_3_no_local_keeps_a_clients_own_messages_from_it() {
    let mut net = Net::new();
    let c = net.connect("chat");
    let mut options = SubscriptionOptions::qos(QoS::AtMostOnce);
    options.no_local = true;
    net.subscribe_with(c, "room", options, None);
    net.publish(c, "room", "me", QoS::AtMostOnce, 0);
    assert!(net.received(c).is_empty());
}

#[test]
fn shared_subscriptions_take_turns() {
    let mut net = Net::new();
    let a = net.connect("worker-a");
    let b = net.connect("worker-b");
    net.subscribe(a, "$share/workers/jobs", QoS::AtMostOnce);
    net.subscribe(b, "$share/workers/jobs", QoS::AtMostOnce);
    let publisher = net.connect("pub");
    for n in 0..4 {
        net.publish(publisher, "jobs", &n.to_string(), QoS::AtMostOnce, 0);
    }
    let (got_a, got_b) = (payloads(&net.received(a)), payloads(&net.received(b)));
    assert_eq!(got_a.len() + got_b.len(), 4);
    assert_eq!(got_a.len(), 2);
}

#[test]
fn mqtt_3_1_2_8_the_will_is_published_when_the_connection_is_lost() {
    let mut net = Net::new();
    let watcher = net.connect("watcher");
    net.subscribe(watcher, "status/+", QoS::AtLeastOnce);
    let (device, _) = net.connect_with("device", ProtocolVersion::V5, |c| {
        let mut will = Will::new(topic("status/device"), "offline");
        will.qos = QoS::AtLeastOnce;
        c.will = Some(will);
    });
    net.broker.handle_closed(net.now, device.id);
    net.flush();
    assert_eq!(payloads(&net.received(watcher)), ["offline"]);
}

#[test]
fn mqtt_3_1_2_10_a_normal_disconnect_discards_the_will() {
    let mut net = Net::new();
    let watcher = net.connect("watcher");
    net.subscribe(watcher, "status/+", QoS::AtMostOnce);
    let (device, _) = net.connect_with("device", ProtocolVersion::V5, |c| {
        c.will = Some(Will::new(topic("status/device"), "offline"));
    });
    net.send(device, Packet::Disconnect(Disconnect::new()));
    assert!(net.received(watcher).is_empty());
}

#[test]
fn mqtt_3_1_3_9_a_delayed_will_waits_and_a_reconnection_cancels_it() {
    let mut net = Net::new();
    let watcher = net.connect("watcher");
    net.subscribe(watcher, "status/+", QoS::AtMostOnce);
    let with_delay = |c: &mut Connect| {
        let mut will = Will::new(topic("status/device"), "offline");
        will.properties = Properties::from_properties([Property::WillDelayInterval(30)]).unwrap();
        c.will = Some(will);
        c.clean_start = false;
        c.properties = Properties::from_properties([Property::SessionExpiryInterval(300)]).unwrap();
    };
    let (device, _) = net.connect_with("device", ProtocolVersion::V5, with_delay);
    net.broker.handle_closed(net.now, device.id);
    net.advance(Duration::from_secs(10));
    assert!(net.received(watcher).is_empty());
    // Back within the delay: no will.
    net.connect_with("device", ProtocolVersion::V5, with_delay);
    net.advance(Duration::from_secs(60));
    assert!(net.received(watcher).is_empty());
}

#[test]
fn a_delayed_will_goes_out_when_the_delay_passes() {
    let mut net = Net::new();
    let watcher = net.connect("watcher");
    net.subscribe(watcher, "status/+", QoS::AtMostOnce);
    let (device, _) = net.connect_with("device", ProtocolVersion::V5, |c| {
        let mut will = Will::new(topic("status/device"), "offline");
        will.properties = Properties::from_properties([Property::WillDelayInterval(30)]).unwrap();
        c.will = Some(will);
        c.properties = Properties::from_properties([Property::SessionExpiryInterval(300)]).unwrap();
    });
    net.broker.handle_closed(net.now, device.id);
    net.advance(Duration::from_secs(29));
    assert!(net.received(watcher).is_empty());
    net.advance(Duration::from_secs(2));
    assert_eq!(payloads(&net.received(watcher)), ["offline"]);
}

#[test]
fn mqtt_4_1_a_persistent_session_queues_qos_1_while_offline_and_delivers_in_order() {
    let mut net = Net::new();
    let persistent = |c: &mut Connect| {
        c.clean_start = false;
        c.properties =
            Properties::from_properties([Property::SessionExpiryInterval(3600)]).unwrap();
    };
    let (sub, _) = net.connect_with("logger", ProtocolVersion::V5, persistent);
    net.subscribe(sub, "log", QoS::AtLeastOnce);
    net.send(sub, Packet::Disconnect(Disconnect::new()));
    assert_eq!(net.broker.sessions(), 1);
    let publisher = net.connect("pub");
    for n in 1..=3 {
        net.publish(publisher, "log", &n.to_string(), QoS::AtLeastOnce, n);
    }
    net.publish(publisher, "log", "qos0 is not queued", QoS::AtMostOnce, 0);
    let (back, connack) = net.connect_with("logger", ProtocolVersion::V5, persistent);
    assert!(matches!(connack, Packet::ConnAck(ref a) if a.session_present));
    assert_eq!(payloads(&net.received(back)), ["1", "2", "3"]);
}

#[test]
fn mqtt_4_4_0_1_unacknowledged_messages_are_sent_again_with_dup_on_resume() {
    let mut net = Net::new();
    let persistent = |c: &mut Connect| {
        c.clean_start = false;
        c.properties =
            Properties::from_properties([Property::SessionExpiryInterval(3600)]).unwrap();
    };
    let (sub, _) = net.connect_with("logger", ProtocolVersion::V5, persistent);
    net.subscribe(sub, "log", QoS::AtLeastOnce);
    let publisher = net.connect("pub");
    net.publish(publisher, "log", "unacked", QoS::AtLeastOnce, 1);
    let first = publishes(&net.received(sub))[0].clone();
    assert!(!first.dup);
    net.broker.handle_closed(net.now, sub.id);
    let (back, _) = net.connect_with("logger", ProtocolVersion::V5, persistent);
    let again = net.received(back);
    let again = publishes(&again)[0];
    assert!(again.dup);
    assert_eq!(again.packet_id, first.packet_id);
}

/// Found by `broker_model`: the resent messages beyond a smaller Receive Maximum were
/// dropped by the connection (window full) while the session still counted them in flight,
/// so the session stalled for good.
#[test]
fn mqtt_4_4_0_1_resent_messages_beyond_a_smaller_receive_maximum_wait_for_the_window() {
    let mut net = Net::new();
    let persistent = |max: u16| {
        move |c: &mut Connect| {
            c.clean_start = false;
            c.properties = Properties::from_properties([
                Property::SessionExpiryInterval(3600),
                Property::ReceiveMaximum(max),
            ])
            .unwrap();
        }
    };
    let (sub, _) = net.connect_with("logger", ProtocolVersion::V5, persistent(10));
    net.subscribe(sub, "log", QoS::AtLeastOnce);
    let publisher = net.connect("pub");
    for n in 1..=3 {
        net.publish(publisher, "log", &n.to_string(), QoS::AtLeastOnce, n);
    }
    let first: Vec<Publish> = publishes(&net.received(sub)).into_iter().cloned().collect();
    assert_eq!(first.len(), 3);
    net.broker.handle_closed(net.now, sub.id);
    // Back with a window of one [MQTT-3.3.4-9]: one at a time, in the original order, with
    // the original packet identifiers.
    let (back, _) = net.connect_with("logger", ProtocolVersion::V5, persistent(1));
    for original in &first {
        let again = net.received(back);
        let again = publishes(&again);
        assert_eq!(again.len(), 1, "one message at a time: {again:?}");
        assert!(again[0].dup);
        assert_eq!(again[0].packet_id, original.packet_id);
        assert_eq!(again[0].payload, original.payload);
        net.send(
            back,
            Packet::PubAck(PubAck::new(again[0].packet_id.unwrap())),
        );
    }
    assert!(net.received(back).is_empty());
}

#[test]
fn mqtt_3_1_2_4_clean_start_discards_the_old_session() {
    let mut net = Net::new();
    let persistent = |c: &mut Connect| {
        c.clean_start = false;
        c.properties =
            Properties::from_properties([Property::SessionExpiryInterval(3600)]).unwrap();
    };
    let (sub, _) = net.connect_with("logger", ProtocolVersion::V5, persistent);
    net.subscribe(sub, "log", QoS::AtLeastOnce);
    net.send(sub, Packet::Disconnect(Disconnect::new()));
    let (back, connack) = net.connect_with("logger", ProtocolVersion::V5, |c| c.clean_start = true);
    assert!(matches!(connack, Packet::ConnAck(ref a) if !a.session_present));
    let publisher = net.connect("pub");
    net.publish(publisher, "log", "x", QoS::AtLeastOnce, 1);
    assert!(net.received(back).is_empty());
}

#[test]
fn a_session_ends_when_its_expiry_interval_passes() {
    let mut net = Net::new();
    let (c, _) = net.connect_with("brief", ProtocolVersion::V5, |c| {
        c.clean_start = false;
        c.properties = Properties::from_properties([Property::SessionExpiryInterval(60)]).unwrap();
    });
    net.send(c, Packet::Disconnect(Disconnect::new()));
    net.advance(Duration::from_secs(59));
    assert_eq!(net.broker.sessions(), 1);
    net.advance(Duration::from_secs(2));
    assert_eq!(net.broker.sessions(), 0);
}

#[test]
fn mqtt_3_1_4_3_a_second_connection_takes_the_session_over() {
    let mut net = Net::new();
    let first = net.connect("same");
    let _second = net.connect("same");
    let got = net.received(first);
    assert!(
        matches!(&got[..], [Packet::Disconnect(d)] if d.reason_code == ReasonCode::SessionTakenOver)
    );
    assert!(net.closed.contains(&first.id));
    assert_eq!(net.broker.sessions(), 1);
}

#[test]
fn v3_1_1_clients_and_5_0_clients_talk_through_the_broker() {
    let mut net = Net::new();
    let (old, connack) = net.connect_with("old", ProtocolVersion::V3_1_1, |_| {});
    assert!(matches!(connack, Packet::ConnAck(_)));
    net.subscribe(old, "mixed", QoS::AtLeastOnce);
    let new = net.connect("new");
    net.publish(new, "mixed", "hello", QoS::AtLeastOnce, 1);
    let got = net.received(old);
    assert_eq!(payloads(&got), ["hello"]);
}

#[test]
fn an_empty_client_id_gets_an_assigned_one() {
    let mut net = Net::new();
    let (_, connack) = net.connect_with("", ProtocolVersion::V5, |_| {});
    let Packet::ConnAck(ack) = connack else {
        panic!()
    };
    let assigned = ack.properties.assigned_client_identifier().unwrap();
    assert!(assigned.as_str().starts_with("tern-"));
}

#[test]
fn without_anonymous_access_credentials_are_checked_by_the_adapter() {
    let mut config = BrokerConfig::default();
    config.allow_anonymous = false;
    let mut net = Net::with(config);
    let (_, refused) = net.connect_with("anon", ProtocolVersion::V5, |_| {});
    assert!(
        matches!(refused, Packet::ConnAck(ref a) if a.reason_code == ReasonCode::BadUserNameOrPassword)
    );
    let (_, wrong) = net.connect_with("user", ProtocolVersion::V5, |c| {
        c.username = Some(MqttString::new("alice").unwrap());
        c.password = Some("guess".into());
    });
    assert!(
        matches!(wrong, Packet::ConnAck(ref a) if a.reason_code == ReasonCode::BadUserNameOrPassword)
    );
    let (_, ok) = net.connect_with("user", ProtocolVersion::V5, |c| {
        c.username = Some(MqttString::new("alice").unwrap());
        c.password = Some("secret".into());
    });
    assert!(matches!(ok, Packet::ConnAck(ref a) if a.reason_code == ReasonCode::Success));
}

#[test]
fn a_full_connected_subscriber_slows_the_publisher_instead_of_losing_messages() {
    let mut config = BrokerConfig::default();
    config.sessions = SessionLimits::default().max_queued(2);
    let mut net = Net::with(config);
    let sub = net.connect("slow");
    net.subscribe(sub, "t", QoS::AtLeastOnce);
    let publisher = net.connect("fast");
    // The adapter does not write to the subscriber: its queue fills.
    let mut wire = BytesMut::new();
    for n in 1..=4u16 {
        let mut p = Publish::new(topic("t"), n.to_string());
        p.qos = QoS::AtLeastOnce;
        p.packet_id = Some(pid(n));
        Codec::new(ProtocolVersion::V5)
            .encode(&Packet::Publish(p), &mut wire)
            .unwrap();
    }
    net.broker.handle_read(net.now, publisher.id, &wire);
    // Only what fits was taken and acknowledged; the rest waits, unread and unacknowledged.
    let mut acked = Vec::new();
    while let Some(event) = net.broker.poll_event() {
        if let Event::Transmit(id) = event {
            if id == publisher.id {
                let mut buf = BytesMut::new();
                while net.broker.poll_transmit(net.now, id, &mut buf) > 0 {}
                let codec = Codec::new(ProtocolVersion::V5);
                while let Decoded::Packet(Packet::PubAck(a)) = codec.decode(&mut buf).unwrap() {
                    acked.push(a.packet_id.get());
                }
            }
        }
    }
    assert_eq!(acked, [1, 2]);
    assert!(!net.broker.wants_read(publisher.id));
    // The subscriber's connection takes its messages: the publisher goes on.
    let got = net.received(sub);
    for p in publishes(&got) {
        net.send(sub, Packet::PubAck(PubAck::new(p.packet_id.unwrap())));
    }
    let mut all = payloads(&got);
    all.extend(payloads(&net.received(sub)));
    assert_eq!(all, ["1", "2", "3", "4"]);
    assert!(net.broker.wants_read(publisher.id));
    let rest: Vec<u16> = net
        .received(publisher)
        .iter()
        .filter_map(|p| match p {
            Packet::PubAck(a) => Some(a.packet_id.get()),
            _ => None,
        })
        .collect();
    assert_eq!(rest, [3, 4]);
}

/// The subscriber that held a publication back goes away: the publication is no longer
/// blocked by anyone (an offline session drops what it has no room for), so it must go on
/// without waiting for some other connection's traffic. It waited for good: the publisher
/// was not read again, not even its PINGREQs, until its keep alive ran out.
#[test]
fn a_publisher_held_back_by_a_full_subscriber_goes_on_when_that_subscriber_leaves() {
    let mut config = BrokerConfig::default();
    config.sessions = SessionLimits::default().max_queued(2);
    let mut net = Net::with(config);
    let sub = net.connect("slow");
    net.subscribe(sub, "t", QoS::AtLeastOnce);
    let publisher = net.connect("fast");
    let mut wire = BytesMut::new();
    for n in 1..=4u16 {
        let mut p = Publish::new(topic("t"), n.to_string());
        p.qos = QoS::AtLeastOnce;
        p.packet_id = Some(pid(n));
        Codec::new(ProtocolVersion::V5)
            .encode(&Packet::Publish(p), &mut wire)
            .unwrap();
    }
    // The adapter writes to the publisher only: the subscriber's queue fills.
    net.broker.handle_read(net.now, publisher.id, &wire);
    let acks = |packets: Vec<Packet>| -> Vec<u16> {
        packets
            .iter()
            .filter_map(|p| match p {
                Packet::PubAck(a) => Some(a.packet_id.get()),
                _ => None,
            })
            .collect()
    };
    let mut acked = Vec::new();
    while let Some(event) = net.broker.poll_event() {
        if event == Event::Transmit(publisher.id) {
            acked.extend(acks(net.received(publisher)));
        }
    }
    assert_eq!(acked, [1, 2]);
    assert!(!net.broker.wants_read(publisher.id));
    // The subscriber's transport ends; nothing else happens on any connection.
    net.broker.handle_closed(net.now, sub.id);
    net.flush();
    assert!(net.broker.wants_read(publisher.id));
    assert_eq!(acks(net.received(publisher)), [3, 4]);
}

#[test]
fn sys_topics_are_published_retained() {
    let mut net = Net::new();
    let admin = net.connect("admin");
    net.advance(Duration::from_secs(10));
    let got = net.subscribe_with(
        admin,
        "$SYS/broker/clients/connected",
        SubscriptionOptions::qos(QoS::AtMostOnce),
        None,
    );
    assert_eq!(payloads(&got), ["1"]);
    // '#' does not see $SYS topics [MQTT-4.7.2-1].
    let all = net.connect("all");
    assert!(
        net.subscribe_with(all, "#", SubscriptionOptions::qos(QoS::AtMostOnce), None)
            .is_empty()
    );
}

#[test]
fn the_keep_alive_ends_a_silent_connection_and_publishes_its_will() {
    let mut net = Net::new();
    let watcher = net.connect("watcher");
    net.subscribe(watcher, "status/+", QoS::AtMostOnce);
    let (_device, _) = net.connect_with("device", ProtocolVersion::V5, |c| {
        c.keep_alive = 10;
        c.will = Some(Will::new(topic("status/device"), "lost"));
    });
    // The watcher pings; the device says nothing for 1.5 × 10 s.
    for _ in 0..4 {
        net.send(watcher, Packet::PingReq);
        net.advance(Duration::from_secs(4));
    }
    let got = net.received(watcher);
    assert_eq!(payloads(&got), ["lost"]);
}

#[test]
fn an_acl_decides_who_publishes_subscribes_and_receives() {
    let acl = tern_broker::auth::acl::Acl::parse(
        "user alice\ntopic readwrite home/#\n\nuser bob\ntopic read home/public/#\n",
    )
    .unwrap();
    let mut config = BrokerConfig::default();
    config.allow_anonymous = false;
    let mut net = Net::with(config);
    net.broker.set_authorizer(acl);
    let login = |user: &'static str| {
        move |c: &mut Connect| {
            c.username = Some(MqttString::new(user).unwrap());
            c.password = Some("secret".into());
        }
    };
    let (alice, _) = net.connect_with("alice", ProtocolVersion::V5, login("alice"));
    let (bob, _) = net.connect_with("bob", ProtocolVersion::V5, login("bob"));
    // bob may not read home/#, only home/public/#.
    let mut refused = Subscribe::new(
        pid(1),
        vec![Subscription::new(
            TopicFilter::new("home/#").unwrap(),
            QoS::AtMostOnce,
        )],
    );
    refused.properties = Properties::new();
    net.send(bob, Packet::Subscribe(refused));
    assert!(
        matches!(&net.received(bob)[..], [Packet::SubAck(a)] if a.reason_codes == [ReasonCode::NotAuthorized])
    );
    net.subscribe(bob, "home/public/+", QoS::AtMostOnce);
    // bob may not publish at all: 0x87 in the PUBACK, and nobody gets it.
    net.subscribe(alice, "home/#", QoS::AtMostOnce);
    net.publish(bob, "home/public/x", "from bob", QoS::AtLeastOnce, 5);
    assert!(
        matches!(&net.received(bob)[..], [Packet::PubAck(a)] if a.reason_code == ReasonCode::NotAuthorized)
    );
    assert!(net.received(alice).is_empty());
    net.publish(alice, "home/public/door", "open", QoS::AtMostOnce, 0);
    assert_eq!(payloads(&net.received(bob)), ["open"]);
}

#[test]
fn over_the_connection_limit_a_client_is_told_the_server_is_busy() {
    let mut config = BrokerConfig::default();
    config.max_connections = 1;
    let mut net = Net::with(config);
    net.connect("first");
    let (_, busy) = net.connect_with("second", ProtocolVersion::V5, |_| {});
    assert!(matches!(busy, Packet::ConnAck(ref a) if a.reason_code == ReasonCode::ServerBusy));
    let (_, old) = net.connect_with("third", ProtocolVersion::V3_1_1, |_| {});
    assert!(
        matches!(old, Packet::ConnAck(ref a) if a.reason_code == ReasonCode::ServerUnavailable)
    );
    // The refused ones are closed; the limit is back to one open connection.
    assert_eq!(net.broker.connections(), 1);
}

/// MQTT 5.0 enhanced authentication (§4.12) through the broker, with a toy method.
mod enhanced_auth {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use bytes::Bytes;
    use tern_broker::auth::{AuthExchange, AuthStep, EnhancedAuth};
    use tern_mqtt::Auth;

    use super::*;

    /// The toy method: the server sends a nonce, the client must send it back reversed.
    /// CONNECT data "quota" fails at once with 0x97, "hook-bug" with a success code (which
    /// the broker must not send as a failure).
    const METHOD: &str = "tern-test-challenge";

    /// Counts the exchanges alive, so that a test sees them dropped.
    struct Challenge {
        live: Arc<AtomicUsize>,
    }

    struct ChallengeExchange {
        live: Arc<AtomicUsize>,
        nonce: Vec<u8>,
        sent: bool,
    }

    impl EnhancedAuth for Challenge {
        fn begin(&self, method: &str, client_id: &str) -> Option<Box<dyn AuthExchange + Send>> {
            if method != METHOD {
                return None;
            }
            self.live.fetch_add(1, Ordering::SeqCst);
            Some(Box::new(ChallengeExchange {
                live: self.live.clone(),
                nonce: format!("nonce-for-{client_id}").into_bytes(),
                sent: false,
            }))
        }
    }

    impl AuthExchange for ChallengeExchange {
        fn step(&mut self, method: &str, data: Option<&[u8]>) -> AuthStep {
            assert_eq!(method, METHOD);
            if !self.sent {
                return match data {
                    Some(b"quota") => AuthStep::Failure(ReasonCode::QuotaExceeded),
                    Some(b"hook-bug") => AuthStep::Failure(ReasonCode::Success),
                    _ => {
                        self.sent = true;
                        AuthStep::Continue(self.nonce.clone())
                    }
                };
            }
            let reversed: Vec<u8> = self.nonce.iter().rev().copied().collect();
            if data == Some(&reversed[..]) {
                AuthStep::Success(Some(b"welcome".to_vec()))
            } else {
                AuthStep::Failure(ReasonCode::NotAuthorized)
            }
        }
    }

    impl Drop for ChallengeExchange {
        fn drop(&mut self) {
            self.live.fetch_sub(1, Ordering::SeqCst);
        }
    }

    fn net_with_hook(config: BrokerConfig) -> (Net, Arc<AtomicUsize>) {
        let live = Arc::new(AtomicUsize::new(0));
        let mut net = Net::with(config);
        net.broker
            .set_enhanced_auth(Challenge { live: live.clone() });
        (net, live)
    }

    fn auth_props(method: &str, data: Option<&[u8]>) -> Properties {
        let mut list = vec![Property::AuthenticationMethod(
            MqttString::new(method).unwrap(),
        )];
        if let Some(data) = data {
            list.push(Property::AuthenticationData(Bytes::copy_from_slice(data)));
        }
        Properties::from_properties(list).unwrap()
    }

    fn auth(reason_code: ReasonCode, data: &[u8]) -> Packet {
        Packet::Auth(Auth {
            reason_code,
            properties: auth_props(METHOD, Some(data)),
        })
    }

    /// The AUTH 0x18 `packet` is, and its data.
    fn challenge_of(packet: &Packet) -> Vec<u8> {
        match packet {
            Packet::Auth(a) if a.reason_code == ReasonCode::ContinueAuthentication => {
                let method = a.properties.authentication_method();
                assert_eq!(method.as_ref().map(MqttString::as_str), Some(METHOD));
                a.properties.authentication_data().unwrap().to_vec()
            }
            other => panic!("expected AUTH 0x18, got {other:?}"),
        }
    }

    fn reversed(data: &[u8]) -> Vec<u8> {
        data.iter().rev().copied().collect()
    }

    /// Connects `client_id` with the toy method: CONNECT data `data`; the first packet back.
    fn start(net: &mut Net, client_id: &str, method: &str, data: &[u8]) -> (Client, Packet) {
        let props = auth_props(method, Some(data));
        net.connect_with(client_id, ProtocolVersion::V5, |c| c.properties = props)
    }

    /// A client through the whole challenge and response.
    fn authenticated(net: &mut Net, client_id: &str) -> Client {
        let (c, first) = start(net, client_id, METHOD, b"hello");
        let nonce = challenge_of(&first);
        net.send(
            c,
            auth(ReasonCode::ContinueAuthentication, &reversed(&nonce)),
        );
        let got = net.received(c);
        assert!(
            matches!(got.as_slice(), [Packet::ConnAck(a)] if a.reason_code == ReasonCode::Success),
            "{got:?}"
        );
        c
    }

    #[test]
    fn mqtt_4_12_a_challenge_and_response_establishes_the_session_and_connack_has_the_last_word() {
        let (mut net, live) = net_with_hook(BrokerConfig::default());
        let (c, first) = start(&mut net, "alice", METHOD, b"hello");
        assert_eq!(challenge_of(&first), b"nonce-for-alice");
        assert_eq!(
            net.broker.sessions(),
            0,
            "no session before the method succeeds"
        );
        net.send(
            c,
            auth(
                ReasonCode::ContinueAuthentication,
                &reversed(b"nonce-for-alice"),
            ),
        );
        let got = net.received(c);
        let [Packet::ConnAck(ack)] = got.as_slice() else {
            panic!("expected CONNACK, got {got:?}");
        };
        assert_eq!(ack.reason_code, ReasonCode::Success);
        assert_eq!(
            ack.properties
                .authentication_method()
                .as_ref()
                .map(MqttString::as_str),
            Some(METHOD)
        );
        assert_eq!(
            ack.properties.authentication_data().as_deref(),
            Some(&b"welcome"[..])
        );
        assert_eq!(live.load(Ordering::SeqCst), 0, "the exchange is over");
        // A session like any other.
        net.subscribe(c, "home/+", QoS::AtLeastOnce);
        let other = net.connect("bob");
        net.publish(other, "home/door", "open", QoS::AtMostOnce, 0);
        assert_eq!(payloads(&net.received(c)), ["open"]);
    }

    #[test]
    fn mqtt_4_12_0_4_a_wrong_response_gets_connack_with_the_methods_code_and_no_session() {
        let (mut net, live) = net_with_hook(BrokerConfig::default());
        let (c, first) = start(&mut net, "mallory", METHOD, b"hello");
        challenge_of(&first);
        net.send(c, auth(ReasonCode::ContinueAuthentication, b"guess"));
        assert!(matches!(&net.received(c)[..],
            [Packet::ConnAck(a)] if a.reason_code == ReasonCode::NotAuthorized));
        assert!(net.closed.contains(&c.id));
        assert_eq!(net.broker.connections(), 0);
        assert_eq!(net.broker.sessions(), 0);
        assert_eq!(live.load(Ordering::SeqCst), 0);
    }

    #[test]
    fn a_failure_at_the_first_step_is_refused_with_the_code_a_usable_one_or_0x87() {
        let (mut net, _) = net_with_hook(BrokerConfig::default());
        let (_, ack) = start(&mut net, "c1", METHOD, b"quota");
        assert!(
            matches!(ack, Packet::ConnAck(ref a) if a.reason_code == ReasonCode::QuotaExceeded)
        );
        // A hook that "fails" with Success must not let anyone in.
        let (_, ack) = start(&mut net, "c2", METHOD, b"hook-bug");
        assert!(
            matches!(ack, Packet::ConnAck(ref a) if a.reason_code == ReasonCode::NotAuthorized)
        );
        assert_eq!(net.broker.sessions(), 0);
    }

    #[test]
    fn mqtt_4_12_0_1_a_method_without_a_hook_or_unknown_to_it_gets_connack_0x8c() {
        let mut net = Net::new();
        let (c, ack) = start(&mut net, "c1", METHOD, b"hello");
        assert!(
            matches!(ack, Packet::ConnAck(ref a) if a.reason_code == ReasonCode::BadAuthenticationMethod)
        );
        assert!(net.closed.contains(&c.id));

        let (mut net, live) = net_with_hook(BrokerConfig::default());
        let (c, ack) = start(&mut net, "c1", "SCRAM-SHA-1", b"n,,n=user,r=abc");
        assert!(
            matches!(ack, Packet::ConnAck(ref a) if a.reason_code == ReasonCode::BadAuthenticationMethod)
        );
        assert!(net.closed.contains(&c.id));
        assert_eq!(live.load(Ordering::SeqCst), 0);
    }

    #[test]
    fn an_exchange_the_client_never_finishes_ends_at_the_connect_timeout() {
        let (mut net, live) = net_with_hook(BrokerConfig::default());
        let (c, first) = start(&mut net, "slow", METHOD, b"hello");
        challenge_of(&first);
        assert_eq!(live.load(Ordering::SeqCst), 1);
        // The client is read while the server waits for its answer.
        assert!(net.broker.wants_read(c.id));
        let timeout = net.broker.config().server.connect_timeout();
        net.advance(timeout - Duration::from_millis(1));
        assert!(!net.closed.contains(&c.id));
        net.advance(Duration::from_millis(1));
        assert!(net.closed.contains(&c.id));
        assert_eq!(net.broker.connections(), 0);
        assert_eq!(live.load(Ordering::SeqCst), 0, "the exchange was dropped");
    }

    #[test]
    fn mqtt_4_12_1_re_authentication_succeeds_with_auth_0x00_and_fails_with_disconnect() {
        let (mut net, live) = net_with_hook(BrokerConfig::default());
        let c = authenticated(&mut net, "alice");
        net.subscribe(c, "t", QoS::AtMostOnce);
        net.send(c, auth(ReasonCode::ReAuthenticate, b"again"));
        let got = net.received(c);
        let nonce = challenge_of(&got[0]);
        // Messages flow meanwhile, under the old authentication.
        let other = net.connect("bob");
        net.publish(other, "t", "during", QoS::AtMostOnce, 0);
        assert_eq!(payloads(&net.received(c)), ["during"]);
        net.send(
            c,
            auth(ReasonCode::ContinueAuthentication, &reversed(&nonce)),
        );
        let got = net.received(c);
        assert!(
            matches!(got.as_slice(), [Packet::Auth(a)]
                if a.reason_code == ReasonCode::Success
                && a.properties.authentication_data().as_deref() == Some(&b"welcome"[..])),
            "{got:?}"
        );
        assert_eq!(live.load(Ordering::SeqCst), 0);

        // Again, with the wrong answer: DISCONNECT with the method's code [MQTT-4.12.1-2].
        net.send(c, auth(ReasonCode::ReAuthenticate, b"again"));
        net.received(c);
        net.send(c, auth(ReasonCode::ContinueAuthentication, b"wrong"));
        let got = net.received(c);
        assert!(
            matches!(got.as_slice(), [Packet::Disconnect(d)] if d.reason_code == ReasonCode::NotAuthorized),
            "{got:?}"
        );
        assert!(net.closed.contains(&c.id));
        assert_eq!(live.load(Ordering::SeqCst), 0);
    }

    #[test]
    fn passwords_still_decide_for_a_connect_without_a_method() {
        let mut config = BrokerConfig::default();
        config.allow_anonymous = false;
        let (mut net, _) = net_with_hook(config);
        let (_, ack) = net.connect_with("p1", ProtocolVersion::V5, |c| {
            c.username = Some(MqttString::new("u").unwrap());
            c.password = Some("secret".into());
        });
        assert!(
            matches!(ack, Packet::ConnAck(ref a) if a.reason_code == ReasonCode::Success
            && a.properties.authentication_method().is_none())
        );
        let (_, ack) = net.connect_with("p2", ProtocolVersion::V5, |c| {
            c.username = Some(MqttString::new("u").unwrap());
            c.password = Some("wrong".into());
        });
        assert!(
            matches!(ack, Packet::ConnAck(ref a) if a.reason_code == ReasonCode::BadUserNameOrPassword)
        );
        // And the method alone decides for one with it.
        let c = authenticated(&mut net, "m1");
        assert!(net.broker.wants_read(c.id));
    }
}
