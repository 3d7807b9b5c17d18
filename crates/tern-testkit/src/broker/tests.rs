//! The broker driven by tern-mqtt's sans-IO client over real TCP connections.

use std::collections::VecDeque;
use std::io::{ErrorKind, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::thread;
use std::time::Duration;

use tern_mqtt::client::{Client, ClientConfig, ConnectionLost, Event, Instant, PublishId};

use tern_mqtt::Subscription;

use super::*;

const V5: ProtocolVersion = ProtocolVersion::V5;
const V311: ProtocolVersion = ProtocolVersion::V3_1_1;
const WAIT: Duration = Duration::from_secs(5);

/// A blocking driver of one [`Client`]: a socket read with a short timeout, then timers,
/// writes and events.
struct Driver {
    client: Client,
    stream: Option<TcpStream>,
    t0: std::time::Instant,
    events: VecDeque<Event>,
}

impl Driver {
    fn new(config: ClientConfig) -> Driver {
        Driver {
            client: Client::new(config),
            stream: None,
            t0: std::time::Instant::now(),
            events: VecDeque::new(),
        }
    }

    /// Connects and waits for CONNACK; returns Session Present.
    fn connect(&mut self, broker: &TestBroker) -> bool {
        self.open(broker);
        match self.expect("CONNACK", |e| matches!(e, Event::Connected { .. })) {
            Event::Connected {
                session_present, ..
            } => session_present,
            _ => unreachable!(),
        }
    }

    /// Opens a connection and sends CONNECT.
    fn open(&mut self, broker: &TestBroker) {
        let stream = TcpStream::connect(broker.addr()).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_millis(5)))
            .unwrap();
        self.stream = Some(stream);
        self.client.connect(self.now());
        self.flush();
    }

    fn now(&self) -> Instant {
        Instant::from_micros(self.t0.elapsed().as_micros() as u64)
    }

    fn flush(&mut self) {
        while let Some(bytes) = self.client.poll_transmit() {
            if let Some(s) = &mut self.stream {
                let _ = s.write_all(&bytes);
            }
        }
    }

    fn step(&mut self) {
        let now = self.now();
        let mut buf = [0u8; 4096];
        match self.stream.as_mut().map(|s| s.read(&mut buf)) {
            None => thread::sleep(Duration::from_millis(5)),
            Some(Ok(0)) => self.closed(),
            Some(Ok(n)) => self.client.handle_read(now, &buf[..n]),
            Some(Err(e)) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
            Some(Err(_)) => self.closed(),
        }
        if self.client.poll_timeout().is_some_and(|t| t <= self.now()) {
            self.client.handle_timeout(self.now());
        }
        self.flush();
        while let Some(e) = self.client.poll_event() {
            if matches!(e, Event::Disconnected(_)) {
                self.close_transport();
            }
            self.events.push_back(e);
        }
    }

    fn closed(&mut self) {
        self.stream = None;
        self.client.handle_closed(self.now());
    }

    /// Closes our side after writing, and reads until the broker closes too.
    fn close_transport(&mut self) {
        if let Some(mut s) = self.stream.take() {
            let _ = s.shutdown(Shutdown::Write);
            let _ = s.set_read_timeout(Some(WAIT));
            let mut sink = [0u8; 1024];
            while matches!(s.read(&mut sink), Ok(n) if n > 0) {}
        }
    }

    /// The first event (now or within [`WAIT`]) that `pred` accepts.
    fn expect(&mut self, what: &str, pred: impl Fn(&Event) -> bool) -> Event {
        let deadline = std::time::Instant::now() + WAIT;
        loop {
            if let Some(i) = self.events.iter().position(&pred) {
                return self.events.remove(i).unwrap();
            }
            assert!(
                std::time::Instant::now() < deadline,
                "no {what}; events: {:?}",
                self.events
            );
            self.step();
        }
    }

    fn message(&mut self) -> Publish {
        match self.expect("message", |e| matches!(e, Event::Message(_))) {
            Event::Message(p) => p,
            _ => unreachable!(),
        }
    }

    fn published(&mut self, id: PublishId) -> ReasonCode {
        match self.expect(
            "Published",
            |e| matches!(e, Event::Published { id: i, .. } if *i == id),
        ) {
            Event::Published { reason_code, .. } => reason_code,
            _ => unreachable!(),
        }
    }

    fn disconnected(&mut self) -> ConnectionLost {
        match self.expect("Disconnected", |e| matches!(e, Event::Disconnected(_))) {
            Event::Disconnected(why) => why,
            _ => unreachable!(),
        }
    }

    fn publish(&mut self, topic: &str, payload: &'static str, qos: QoS, retain: bool) -> PublishId {
        let mut p = Publish::new(TopicName::new(topic).unwrap(), payload);
        p.qos = qos;
        p.retain = retain;
        let id = self.client.publish(self.now(), p).unwrap();
        self.flush();
        id
    }

    fn subscribe(&mut self, filter: &str, qos: QoS) -> Vec<ReasonCode> {
        let filters = vec![(TopicFilter::new(filter).unwrap(), qos)];
        self.client.subscribe(self.now(), filters).unwrap();
        self.flush();
        match self.expect("SUBACK", |e| matches!(e, Event::Subscribed { .. })) {
            Event::Subscribed { reason_codes, .. } => reason_codes,
            _ => unreachable!(),
        }
    }

    fn disconnect(&mut self) {
        self.client.disconnect(self.now(), Disconnect::new());
        self.flush();
        self.close_transport();
        self.events.retain(|e| !matches!(e, Event::Disconnected(_)));
        while self.client.poll_event().is_some() {}
    }

    /// Drops the connection without DISCONNECT.
    fn drop_transport(&mut self) {
        if let Some(s) = self.stream.take() {
            let _ = s.shutdown(Shutdown::Both);
        }
        self.client.handle_closed(self.now());
        while self.client.poll_event().is_some() {}
    }

    /// Steps for `d`, collecting events.
    fn idle(&mut self, d: Duration) {
        let end = std::time::Instant::now() + d;
        while std::time::Instant::now() < end {
            self.step();
        }
    }
}

fn config(version: ProtocolVersion, id: &str) -> ClientConfig {
    let mut c = ClientConfig::new(version, MqttString::new(id).unwrap());
    c.keep_alive = 30;
    c
}

/// A configuration whose session outlives its connections, at either level.
fn persistent(version: ProtocolVersion, id: &str) -> ClientConfig {
    let mut c = config(version, id);
    c.clean_start = false;
    if version.is_v5() {
        c.connect_properties =
            Properties::from_properties([Property::SessionExpiryInterval(3600)]).unwrap();
    }
    c
}

fn wait_offline(broker: &TestBroker, id: &str) {
    let deadline = std::time::Instant::now() + WAIT;
    while broker.is_online(id) {
        assert!(std::time::Instant::now() < deadline, "{id} still online");
        thread::sleep(Duration::from_millis(5));
    }
}

#[test]
fn routes_at_every_qos_and_downgrades_to_the_granted_one() {
    for version in [V311, V5] {
        let broker = TestBroker::start();
        let mut sub = Driver::new(config(version, "sub"));
        let mut publisher = Driver::new(config(version, "pub"));
        assert!(!sub.connect(&broker));
        assert!(!publisher.connect(&broker));
        assert_eq!(
            sub.subscribe("a/#", QoS::ExactlyOnce),
            [ReasonCode::GrantedQoS2]
        );
        assert_eq!(
            sub.subscribe("b/+", QoS::AtLeastOnce),
            [ReasonCode::GrantedQoS1]
        );

        let sent = [
            ("a/0", "zero", QoS::AtMostOnce, QoS::AtMostOnce),
            ("a/1", "one", QoS::AtLeastOnce, QoS::AtLeastOnce),
            ("a/2", "two", QoS::ExactlyOnce, QoS::ExactlyOnce),
            ("b/2", "down", QoS::ExactlyOnce, QoS::AtLeastOnce),
            ("c/1", "nobody", QoS::AtLeastOnce, QoS::AtMostOnce),
        ];
        for (topic, payload, qos, _) in sent {
            let id = publisher.publish(topic, payload, qos, false);
            assert_eq!(
                publisher.published(id),
                ReasonCode::Success,
                "{version} {topic}"
            );
        }
        for (topic, payload, _, delivered) in &sent[..4] {
            let m = sub.message();
            assert_eq!(
                (m.topic.as_str(), &m.payload[..]),
                (*topic, payload.as_bytes())
            );
            assert_eq!(m.qos, *delivered, "{version} {topic}");
            assert!(!m.retain && !m.dup);
        }
        sub.idle(Duration::from_millis(50));
        assert!(sub.events.is_empty(), "{:?}", sub.events);
        assert_eq!(sub.client.inflight_len(), 0);

        let received = broker.received();
        let topics: Vec<&str> = received.iter().map(|p| p.topic.as_str()).collect();
        assert_eq!(topics, ["a/0", "a/1", "a/2", "b/2", "c/1"]);
        assert_eq!(broker.connections(), 2);
    }
}

#[test]
fn no_local_and_subscription_identifiers_in_5_0() {
    let broker = TestBroker::start();
    let mut c = Driver::new(config(V5, "self"));
    c.connect(&broker);
    let mut sub = Subscription::new(TopicFilter::new("n/#").unwrap(), QoS::AtLeastOnce);
    sub.options.no_local = true;
    let props = Properties::from_properties([Property::SubscriptionIdentifier(7)]).unwrap();
    c.client.subscribe_with(c.now(), vec![sub], props).unwrap();
    c.flush();
    c.expect("SUBACK", |e| matches!(e, Event::Subscribed { .. }));
    let id = c.publish("n/own", "mine", QoS::AtLeastOnce, false);
    c.published(id);
    broker.publish("n/other", "theirs", QoS::AtLeastOnce, false);
    let m = c.message();
    assert_eq!(
        m.topic.as_str(),
        "n/other",
        "No Local kept our own message away"
    );
    assert_eq!(
        m.properties.subscription_identifiers().collect::<Vec<_>>(),
        [7]
    );
}

#[test]
fn retained_messages_are_sent_on_subscribe_and_cleared_by_an_empty_payload() {
    for version in [V311, V5] {
        let broker = TestBroker::start();
        let mut publisher = Driver::new(config(version, "pub"));
        publisher.connect(&broker);
        let id = publisher.publish("r/1", "one", QoS::AtLeastOnce, true);
        publisher.published(id);
        broker.publish("r/2", "two", QoS::AtMostOnce, true);

        let mut sub = Driver::new(config(version, "sub"));
        sub.connect(&broker);
        sub.subscribe("r/+", QoS::ExactlyOnce);
        let mut got: Vec<(String, QoS, bool)> = (0..2)
            .map(|_| sub.message())
            .map(|m| (m.topic.as_str().to_owned(), m.qos, m.retain))
            .collect();
        got.sort();
        assert_eq!(
            got,
            [
                ("r/1".to_owned(), QoS::AtLeastOnce, true),
                ("r/2".to_owned(), QoS::AtMostOnce, true)
            ]
        );

        let id = publisher.publish("r/1", "", QoS::AtLeastOnce, true);
        publisher.published(id);
        let m = sub.message();
        assert!(m.payload.is_empty() && !m.retain, "live delivery: {m:?}");

        let mut late = Driver::new(config(version, "late"));
        late.connect(&broker);
        late.subscribe("r/#", QoS::AtLeastOnce);
        assert_eq!(late.message().topic.as_str(), "r/2");
        late.idle(Duration::from_millis(50));
        assert!(late.events.is_empty(), "r/1 was cleared: {:?}", late.events);
    }
}

#[test]
fn a_persistent_session_queues_qos_1_and_2_while_offline() {
    for version in [V311, V5] {
        let broker = TestBroker::start();
        let mut c = Driver::new(persistent(version, "p"));
        assert!(!c.connect(&broker));
        c.subscribe("q/#", QoS::ExactlyOnce);
        c.disconnect();
        wait_offline(&broker, "p");

        broker.publish("q/1", "one", QoS::AtLeastOnce, false);
        broker.publish("q/0", "lost", QoS::AtMostOnce, false);
        broker.publish("q/2", "two", QoS::ExactlyOnce, false);

        assert!(c.connect(&broker), "{version}: session present");
        let m = c.message();
        assert_eq!((m.topic.as_str(), m.qos), ("q/1", QoS::AtLeastOnce));
        let m = c.message();
        assert_eq!((m.topic.as_str(), m.qos), ("q/2", QoS::ExactlyOnce));
        broker.publish("q/3", "live", QoS::AtMostOnce, false);
        assert_eq!(
            c.message().topic.as_str(),
            "q/3",
            "QoS 0 is not queued offline"
        );

        c.disconnect();
        wait_offline(&broker, "p");
        broker.forget_sessions();
        assert!(!c.connect(&broker), "{version}: forgotten");
    }
}

#[test]
fn a_5_0_session_without_expiry_ends_with_its_connection() {
    let broker = TestBroker::start();
    let mut cfg = config(V5, "e");
    cfg.clean_start = false;
    let mut c = Driver::new(cfg);
    c.connect(&broker);
    c.subscribe("e/#", QoS::AtLeastOnce);
    c.disconnect();
    wait_offline(&broker, "e");
    assert!(!c.connect(&broker));
}

#[test]
fn the_will_is_published_when_a_connection_drops_without_disconnect() {
    let broker = TestBroker::start();
    let mut watcher = Driver::new(config(V5, "watcher"));
    watcher.connect(&broker);
    watcher.subscribe("will/#", QoS::AtLeastOnce);

    for (id, version) in [("w3", V311), ("w5", V5)] {
        let mut cfg = config(version, id);
        let mut will = tern_mqtt::Will::new(TopicName::new(&format!("will/{id}")).unwrap(), "gone");
        will.qos = QoS::AtLeastOnce;
        cfg.will = Some(will);
        let mut c = Driver::new(cfg.clone());
        c.connect(&broker);
        c.drop_transport();
        let m = watcher.message();
        assert_eq!(
            (m.topic.as_str(), &m.payload[..]),
            (&*format!("will/{id}"), &b"gone"[..])
        );

        // With DISCONNECT: no will.
        let mut clean = Driver::new(cfg);
        clean.connect(&broker);
        clean.disconnect();
        wait_offline(&broker, id);
        broker.publish("will/marker", "m", QoS::AtLeastOnce, false);
        assert_eq!(watcher.message().topic.as_str(), "will/marker");
    }
}

#[test]
fn kick_all_closes_every_connection_and_clients_resume() {
    let broker = TestBroker::start();
    let mut a = Driver::new(persistent(V311, "a"));
    let mut b = Driver::new(persistent(V5, "b"));
    a.connect(&broker);
    b.connect(&broker);
    b.subscribe("k/#", QoS::AtLeastOnce);

    // A QoS 1 publication stays in flight while acknowledgements are paused...
    broker.pause_acks(true);
    let id = a.publish("k/1", "x", QoS::AtLeastOnce, false);
    broker.wait_received(1, WAIT);
    assert_eq!(b.message().topic.as_str(), "k/1");
    a.idle(Duration::from_millis(50));
    assert_eq!(a.client.inflight_len(), 1);

    broker.kick_all();
    assert!(!broker.is_online("a") && !broker.is_online("b"));
    assert_eq!(a.disconnected(), ConnectionLost::TransportClosed);
    assert_eq!(b.disconnected(), ConnectionLost::TransportClosed);
    broker.publish("k/2", "queued", QoS::AtLeastOnce, false);

    // ...and is resent with DUP on the resumed session, then acknowledged.
    broker.pause_acks(false);
    assert!(a.connect(&broker));
    assert_eq!(a.published(id), ReasonCode::Success);
    let received = broker.wait_received(2, WAIT);
    assert!(received[1].dup && received[1].topic.as_str() == "k/1");
    assert!(b.connect(&broker));
    let topics: Vec<String> = (0..2)
        .map(|_| b.message().topic.as_str().to_owned())
        .collect();
    assert!(topics.contains(&"k/2".to_owned()), "{topics:?}");
    assert_eq!(broker.connections(), 4);
}

#[test]
fn a_qos_2_publication_held_in_flight_is_resent_and_routed_once() {
    let broker = TestBroker::start();
    let mut watcher = Driver::new(config(V311, "watch"));
    watcher.connect(&broker);
    watcher.subscribe("x", QoS::ExactlyOnce);
    let mut c = Driver::new(persistent(V5, "q2"));
    c.connect(&broker);
    broker.pause_acks(true);
    let id = c.publish("x", "once", QoS::ExactlyOnce, false);
    assert_eq!(watcher.message().qos, QoS::ExactlyOnce);
    c.idle(Duration::from_millis(50));
    assert_eq!(c.client.inflight_len(), 1, "no PUBREC yet");

    broker.kick_all();
    broker.pause_acks(false);
    c.disconnected();
    assert!(c.connect(&broker));
    assert_eq!(c.published(id), ReasonCode::Success);
    let received = broker.received();
    assert_eq!(received.len(), 2);
    assert!(received[1].dup, "the PUBLISH was resent");
    watcher.connect(&broker);
    watcher.idle(Duration::from_millis(50));
    assert!(
        !watcher
            .events
            .iter()
            .any(|e| matches!(e, Event::Message(_))),
        "and delivered once: {:?}",
        watcher.events
    );
}

#[test]
fn a_pubcomp_held_back_completes_after_a_reconnection() {
    let broker = TestBroker::start();
    let mut c = Driver::new(persistent(V5, "rel"));
    c.connect(&broker);
    let id = c.publish("y", "z", QoS::ExactlyOnce, false);
    // PUBREC is on its way (the driver has not read it yet); pause before PUBREL arrives.
    broker.wait_received(1, WAIT);
    broker.pause_acks(true);
    c.idle(Duration::from_millis(50));
    assert_eq!(c.client.inflight_len(), 1, "PUBREL sent, PUBCOMP held back");

    broker.kick_all();
    broker.pause_acks(false);
    c.disconnected();
    assert!(c.connect(&broker));
    assert_eq!(
        c.published(id),
        ReasonCode::Success,
        "PUBREL resent and completed"
    );
    assert_eq!(
        broker.received().len(),
        1,
        "the PUBLISH itself was not resent"
    );
}

#[test]
fn a_second_connection_with_the_same_client_id_takes_the_session_over() {
    let broker = TestBroker::start();
    let mut first = Driver::new(persistent(V5, "same"));
    first.connect(&broker);
    first.subscribe("t", QoS::AtLeastOnce);
    let mut second = Driver::new(persistent(V5, "same"));
    assert!(second.connect(&broker), "the session continues");
    match first.disconnected() {
        ConnectionLost::ServerDisconnect(d) => {
            assert_eq!(d.reason_code, ReasonCode::SessionTakenOver)
        }
        other => panic!("{other:?}"),
    }
    broker.publish("t", "to the new one", QoS::AtLeastOnce, false);
    assert_eq!(&second.message().payload[..], b"to the new one");
}

#[test]
fn paused_acks_and_receive_maximum_hold_publications_in_flight() {
    let broker = TestBroker::start();
    broker.set_receive_maximum(Some(2));
    broker.pause_acks(true);
    let mut c = Driver::new(config(V5, "rm"));
    c.open(&broker);
    match c.expect("CONNACK", |e| matches!(e, Event::Connected { .. })) {
        Event::Connected { connack, .. } => {
            assert_eq!(connack.properties.receive_maximum(), Some(2))
        }
        _ => unreachable!(),
    }
    let ids: Vec<PublishId> = ["1", "2", "3", "4"]
        .into_iter()
        .map(|p| c.publish("rm", p, QoS::AtLeastOnce, false))
        .collect();
    broker.wait_received(2, WAIT);
    c.idle(Duration::from_millis(100));
    assert_eq!(broker.received().len(), 2);
    assert_eq!((c.client.inflight_len(), c.client.queued_len()), (2, 2));

    broker.pause_acks(false);
    for id in ids {
        assert_eq!(c.published(id), ReasonCode::Success);
    }
    assert_eq!(broker.received().len(), 4);
}

#[test]
fn a_refused_connect_gets_the_reason_code_and_does_not_count() {
    for version in [V311, V5] {
        let broker = TestBroker::start();
        broker.refuse_next_connect(ReasonCode::NotAuthorized);
        let mut c = Driver::new(config(version, "r"));
        c.open(&broker);
        match c.disconnected() {
            ConnectionLost::Refused(ack) => assert_eq!(ack.reason_code, ReasonCode::NotAuthorized),
            other => panic!("{other:?}"),
        }
        assert_eq!(broker.connections(), 0);
        c.connect(&broker);
        assert_eq!(broker.connections(), 1);
    }
}

#[test]
fn keep_alive_silence_makes_the_client_time_out() {
    let broker = TestBroker::start();
    broker.set_keep_alive_silence(true);
    let mut cfg = config(V311, "ka");
    cfg.keep_alive = 1;
    let mut c = Driver::new(cfg);
    c.connect(&broker);
    assert_eq!(c.disconnected(), ConnectionLost::KeepAliveTimeout);
}

/// Writes `bytes` on a new connection and waits for the broker to close it.
fn closed_after(broker: &TestBroker, bytes: &[u8]) -> Vec<u8> {
    let mut s = TcpStream::connect(broker.addr()).unwrap();
    s.set_read_timeout(Some(WAIT)).unwrap();
    s.write_all(bytes).unwrap();
    let mut got = Vec::new();
    let mut buf = [0u8; 256];
    loop {
        match s.read(&mut buf) {
            Ok(0) => return got,
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == ErrorKind::ConnectionReset => return got,
            Err(e) => panic!("the broker did not close the connection: {e}"),
        }
    }
}

fn encode(version: ProtocolVersion, packet: Packet) -> Vec<u8> {
    let mut buf = BytesMut::new();
    Codec::new(version).encode(&packet, &mut buf).unwrap();
    buf.to_vec()
}

#[test]
fn bad_input_closes_the_connection_and_nothing_else() {
    let broker = TestBroker::start();
    // A Remaining Length of five bytes.
    assert!(closed_after(&broker, &[0x10, 0xff, 0xff, 0xff, 0xff, 0x7f]).is_empty());
    // A first packet other than CONNECT.
    assert!(closed_after(&broker, &[0xc0, 0x00]).is_empty());
    // A valid 5.0 CONNECT, then a reserved packet type: CONNACK, then DISCONNECT.
    let connect = Connect::new(V5, MqttString::new("bad").unwrap());
    let mut wire = encode(V5, Packet::Connect(Box::new(connect)));
    wire.extend_from_slice(&[0x00, 0x00]);
    let answer = closed_after(&broker, &wire);
    assert_eq!(answer.first(), Some(&0x20), "{answer:?}");
    assert_eq!(answer.get(5), Some(&0xe0), "{answer:?}");
    // A 3.1.1 PUBLISH with a wildcard topic after CONNECT.
    let connect = Connect::new(V311, MqttString::new("bad2").unwrap());
    let mut wire = encode(V311, Packet::Connect(Box::new(connect)));
    wire.extend_from_slice(&[0x30, 0x05, 0x00, 0x03, b'a', b'/', b'#']);
    assert_eq!(closed_after(&broker, &wire), [0x20, 0x02, 0x00, 0x00]);

    let mut c = Driver::new(config(V5, "fine"));
    c.connect(&broker);
    c.subscribe("ok", QoS::AtMostOnce);
    assert_eq!(broker.connections(), 3);
}

#[test]
fn dropping_the_broker_closes_connections_and_returns() {
    let broker = TestBroker::start();
    let mut c = Driver::new(config(V311, "d"));
    c.connect(&broker);
    let mut raw = TcpStream::connect(broker.addr()).unwrap(); // never sends CONNECT
    drop(broker);
    assert_eq!(c.disconnected(), ConnectionLost::TransportClosed);
    raw.set_read_timeout(Some(WAIT)).unwrap();
    let mut buf = [0u8; 8];
    assert!(matches!(raw.read(&mut buf), Ok(0) | Err(_)));
}
