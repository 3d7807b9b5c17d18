//! tern-blocking against the in-process `TestBroker` (and, where a test needs answers a real
//! broker does not give, a scripted one).

use std::net::TcpListener;
use std::path::PathBuf;
use std::thread;
use std::time::{Duration, Instant};

use tern_blocking::{
    Backoff, Error, Message, MqttOptions, Properties, ProtocolVersion, Publish, QoS, ReasonCode,
    SessionFile, TopicName,
};
use tern_testkit::broker::{TestBroker, scripted_acks};

const WAIT: Duration = Duration::from_secs(10);

fn options(broker: &TestBroker, id: &str, protocol: ProtocolVersion) -> MqttOptions {
    MqttOptions::new("127.0.0.1", broker.port(), id)
        .unwrap()
        .protocol(protocol)
        .reconnect(Some(fast_backoff()))
}

fn fast_backoff() -> Backoff {
    Backoff {
        initial: Duration::from_millis(20),
        max: Duration::from_millis(200),
        jitter_permille: 500,
    }
}

/// Options whose session outlives a connection on the broker (3.1.1: Clean Session 0; 5.0:
/// a Session Expiry Interval).
fn persistent(options: MqttOptions) -> MqttOptions {
    options.clean_start(false).session_expiry(3600).unwrap()
}

fn publish(topic: &str, payload: impl Into<bytes::Bytes>, qos: QoS) -> Publish {
    let mut p = Publish::new(TopicName::new(topic).unwrap(), payload);
    p.qos = qos;
    p
}

fn next(messages: &mut tern_blocking::Messages) -> Message {
    messages
        .recv_timeout(WAIT)
        .expect("a message in time")
        .expect("the stream has not ended")
}

fn temp_path(name: &str) -> PathBuf {
    std::env::temp_dir().join(format!("tern-blocking-{name}-{}", std::process::id()))
}

#[test]
fn publish_and_receive_at_every_qos_in_3_1_1_and_5() {
    let broker = TestBroker::start();
    for protocol in [ProtocolVersion::V3_1_1, ProtocolVersion::V5] {
        let id = format!("round-trip-{}", protocol.level());
        let (client, mut messages) =
            tern_blocking::connect(options(&broker, &id, protocol)).unwrap();
        let granted = client.subscribe(&[("rt/#", QoS::ExactlyOnce)]).unwrap();
        assert_eq!(granted, [ReasonCode::GrantedQoS2]);
        for qos in [QoS::AtMostOnce, QoS::AtLeastOnce, QoS::ExactlyOnce] {
            let topic = format!("rt/{}", qos.as_u8());
            let code = client
                .publish(&topic, format!("payload {qos:?}"), qos, false)
                .unwrap();
            assert_eq!(code, ReasonCode::Success, "{protocol} {qos:?}");
            let m = next(&mut messages);
            assert_eq!(m.topic.as_str(), topic);
            assert_eq!(m.qos, qos);
            assert_eq!(&m.payload[..], format!("payload {qos:?}").as_bytes());
        }
        assert_eq!(
            client.unsubscribe(&["rt/#"]).unwrap().len(),
            if protocol.is_v5() { 1 } else { 0 }
        );
        client.disconnect().unwrap();
        assert_eq!(
            messages.recv_timeout(WAIT),
            Ok(None),
            "Messages ends after disconnect"
        );
        assert!(matches!(
            client.publish("rt/0", "late", QoS::AtMostOnce, false),
            Err(Error::Closed)
        ));
    }
}

#[test]
fn properties_go_out_with_publish_with() {
    let broker = TestBroker::start();
    let (client, mut messages) =
        tern_blocking::connect(options(&broker, "props", ProtocolVersion::V5)).unwrap();
    client.subscribe(&[("props", QoS::AtLeastOnce)]).unwrap();
    let mut p = publish("props", "x", QoS::AtLeastOnce);
    p.properties = Properties::builder()
        .user_property("unit", "celsius")
        .unwrap()
        .build()
        .unwrap();
    client.publish_with(p).unwrap();
    let m = next(&mut messages);
    let user: Vec<_> = m
        .properties
        .user_properties()
        .map(|(k, v)| (k.as_str().to_owned(), v.as_str().to_owned()))
        .collect();
    assert_eq!(user, [("unit".to_owned(), "celsius".to_owned())]);
}

#[test]
fn publish_completes_with_the_brokers_reason_code() {
    let port = scripted_acks(ReasonCode::NotAuthorized, ReasonCode::QuotaExceeded);
    let options = MqttOptions::new("127.0.0.1", port, "codes").unwrap();
    let (client, _messages) = tern_blocking::connect(options).unwrap();
    assert_eq!(
        client.publish("a", "x", QoS::AtLeastOnce, false).unwrap(),
        ReasonCode::NotAuthorized
    );
    assert_eq!(
        client.publish("a", "x", QoS::ExactlyOnce, false).unwrap(),
        ReasonCode::QuotaExceeded,
        "a PUBREC with an error code ends the exchange"
    );
    client.disconnect().unwrap();
}

#[test]
fn publications_in_flight_complete_after_the_broker_kicks_the_connection() {
    let broker = TestBroker::start();
    for protocol in [ProtocolVersion::V3_1_1, ProtocolVersion::V5] {
        let id = format!("kicked-{}", protocol.level());
        let (client, _messages) =
            tern_blocking::connect(persistent(options(&broker, &id, protocol))).unwrap();
        let before = broker.received().len();
        let connections = broker.connections();
        broker.pause_acks(true);
        let pending: Vec<_> = (0..5)
            .map(|i| {
                client
                    .start_publish(publish("kick", format!("{i}"), QoS::AtLeastOnce))
                    .unwrap()
            })
            .collect();
        broker.wait_received(before + 5, WAIT);
        broker.kick_all();
        broker.pause_acks(false);
        broker.wait_connections(connections + 1, WAIT);
        for p in pending {
            assert_eq!(p.wait().unwrap(), ReasonCode::Success);
        }
        let resent = broker.received()[before + 5..]
            .iter()
            .filter(|p| p.dup)
            .count();
        assert_eq!(
            resent, 5,
            "{protocol}: every unacknowledged PUBLISH resent with DUP"
        );
        // The connection is usable after the reconnection.
        assert_eq!(
            client
                .publish("kick", "after", QoS::ExactlyOnce, false)
                .unwrap(),
            ReasonCode::Success
        );
        client.disconnect().unwrap();
    }
}

#[test]
fn without_reconnection_a_lost_connection_fails_waiters_and_ends_messages() {
    let broker = TestBroker::start();
    let options = options(&broker, "no-reconnect", ProtocolVersion::V5).reconnect(None);
    let (client, mut messages) = tern_blocking::connect(options).unwrap();
    broker.pause_acks(true);
    let pending = client
        .start_publish(publish("t", "x", QoS::AtLeastOnce))
        .unwrap();
    broker.wait_received(1, WAIT);
    broker.kick_all();
    assert!(
        matches!(pending.wait(), Err(Error::ConnectionLost(_))),
        "the waiter learns why"
    );
    assert_eq!(messages.recv_timeout(WAIT), Ok(None));
    assert!(matches!(
        client.publish("t", "x", QoS::AtMostOnce, false),
        Err(Error::Closed)
    ));
}

#[test]
fn the_session_file_survives_a_restart() {
    let broker = TestBroker::start();
    let path = temp_path("session");
    let _ = std::fs::remove_file(&path);
    let options =
        persistent(options(&broker, "restarted", ProtocolVersion::V5)).session_file(&path);

    let (client, _messages) = tern_blocking::connect(options.clone()).unwrap();
    broker.pause_acks(true);
    let pending = client
        .start_publish(publish("saved", "kept across restarts", QoS::ExactlyOnce))
        .unwrap();
    broker.wait_received(1, WAIT);
    // The process "dies": the connection goes, the waiter with it; the file stays.
    client.disconnect().unwrap();
    assert!(matches!(pending.wait(), Err(Error::Closed)));
    broker.pause_acks(false);
    let stored = SessionFile::new(&path)
        .open(options.config.clone())
        .unwrap();
    assert_eq!(
        stored.inflight_len(),
        1,
        "the file holds the unacknowledged PUBLISH"
    );

    // The restarted process resumes the session and the broker gets the message again.
    let (client, _messages) = tern_blocking::connect(options.clone()).unwrap();
    let received = broker.wait_received(2, WAIT);
    assert!(received[1].dup, "resent as a duplicate");
    assert_eq!(&received[1].payload[..], b"kept across restarts");
    // Once PUBCOMP came back the file is empty again.
    let deadline = Instant::now() + WAIT;
    loop {
        let stored = SessionFile::new(&path)
            .open(options.config.clone())
            .unwrap();
        if stored.inflight_len() == 0 {
            break;
        }
        assert!(Instant::now() < deadline, "the publication never completed");
        thread::sleep(Duration::from_millis(20));
    }
    client.disconnect().unwrap();
    std::fs::remove_file(&path).unwrap();
}

#[test]
fn a_slow_reader_does_not_stall_publishing_and_loses_nothing() {
    const MESSAGES: usize = 300;
    let broker = TestBroker::start();
    let options = options(&broker, "slow", ProtocolVersion::V5).message_buffer(2);
    let (client, mut messages) = tern_blocking::connect(options).unwrap();
    client.subscribe(&[("load/#", QoS::AtLeastOnce)]).unwrap();
    // Far more than the buffer and the socket buffers hold, while the application reads
    // nothing.
    let payload = vec![b'x'; 1024];
    for i in 0..MESSAGES {
        let mut p = payload.clone();
        p[..4].copy_from_slice(&(i as u32).to_be_bytes());
        broker.publish("load/in", p, QoS::AtLeastOnce, false);
    }
    thread::sleep(Duration::from_millis(200));
    // Writing goes on: QoS 0 completes once written, QoS 1 reaches the broker.
    for _ in 0..10 {
        client.publish("out", "q0", QoS::AtMostOnce, false).unwrap();
    }
    let pending: Vec<_> = (0..10)
        .map(|_| {
            client
                .start_publish(publish("out", "q1", QoS::AtLeastOnce))
                .unwrap()
        })
        .collect();
    broker.wait_received(20, WAIT);
    // Requests that wait for the broker's answer complete although the application has not
    // read the messages in front of it: the client reads on while it awaits an answer.
    assert_eq!(
        client
            .publish("out", "q2", QoS::ExactlyOnce, false)
            .unwrap(),
        ReasonCode::Success
    );
    assert_eq!(
        client.subscribe(&[("more/#", QoS::AtMostOnce)]).unwrap(),
        [ReasonCode::Success]
    );
    // Now the application catches up: every message, in order.
    for i in 0..MESSAGES {
        let m = next(&mut messages);
        assert_eq!(m.payload[..4], (i as u32).to_be_bytes(), "message {i}");
    }
    for p in pending {
        assert_eq!(p.wait().unwrap(), ReasonCode::Success);
    }
    assert!(
        messages.recv_timeout(Duration::from_millis(100)).is_err(),
        "nothing more"
    );
    client.disconnect().unwrap();
}

#[test]
fn a_refused_first_connection_is_an_error_with_the_reason_code() {
    let broker = TestBroker::start();
    broker.refuse_next_connect(ReasonCode::NotAuthorized);
    let e = tern_blocking::connect(options(&broker, "refused", ProtocolVersion::V5)).unwrap_err();
    match e {
        Error::Refused(connack) => assert_eq!(connack.reason_code, ReasonCode::NotAuthorized),
        e => panic!("expected Refused, got {e:?}"),
    }
    broker.refuse_next_connect(ReasonCode::BadUserNameOrPassword);
    let e =
        tern_blocking::connect(options(&broker, "refused", ProtocolVersion::V3_1_1)).unwrap_err();
    assert!(
        e.to_string()
            .starts_with("the server refused the connection: "),
        "{e}"
    );
}

#[test]
fn no_broker_listening_is_an_io_error() {
    let port = {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let options = MqttOptions::new("127.0.0.1", port, "nobody").unwrap();
    let e = tern_blocking::connect(options).unwrap_err();
    assert!(matches!(e, Error::Io(_)), "{e:?}");
    assert_eq!(e.to_string(), "connection failed: connection refused");
}

#[test]
fn a_lost_keep_alive_reconnects() {
    let broker = TestBroker::start();
    let options = persistent(options(&broker, "silent", ProtocolVersion::V3_1_1))
        .keep_alive(Duration::from_secs(1));
    let (client, _messages) = tern_blocking::connect(options).unwrap();
    broker.set_keep_alive_silence(true);
    // No PINGRESP: lost after 1.5 s, then reconnected.
    broker.wait_connections(2, WAIT);
    broker.set_keep_alive_silence(false);
    assert_eq!(
        client
            .publish("alive", "x", QoS::AtLeastOnce, false)
            .unwrap(),
        ReasonCode::Success
    );
}

#[test]
fn handles_work_from_many_threads() {
    let broker = TestBroker::start();
    let (client, _messages) =
        tern_blocking::connect(options(&broker, "threads", ProtocolVersion::V5)).unwrap();
    let threads: Vec<_> = (0..4)
        .map(|t| {
            let client = client.clone();
            thread::spawn(move || {
                for i in 0..25 {
                    let code = client
                        .publish(
                            &format!("threads/{t}"),
                            format!("{i}"),
                            QoS::ExactlyOnce,
                            false,
                        )
                        .unwrap();
                    assert_eq!(code, ReasonCode::Success);
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    assert_eq!(broker.wait_received(100, WAIT).len(), 100);
}

#[test]
fn dropping_every_handle_disconnects() {
    let broker = TestBroker::start();
    let (client, messages) =
        tern_blocking::connect(options(&broker, "dropped", ProtocolVersion::V5)).unwrap();
    assert!(broker.is_online("dropped"));
    drop(client);
    drop(messages);
    let deadline = Instant::now() + WAIT;
    while broker.is_online("dropped") {
        assert!(Instant::now() < deadline, "still connected");
        thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn handles_can_move_between_threads() {
    fn shared<T: Clone + Send + Sync>() {}
    fn sent<T: Send>() {}
    shared::<tern_blocking::Client>();
    sent::<tern_blocking::Messages>();
    sent::<tern_blocking::PendingPublish>();
}
