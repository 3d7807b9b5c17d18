//! tern-async-std against the in-process test broker, under async-std and under smol.

use std::sync::Arc;
use std::time::Duration;

use tern_async_std::{Backoff, Error, MqttOptions, ProtocolVersion, QoS, ReasonCode};
use tern_testkit::broker::TestBroker;

const WAIT: Duration = Duration::from_secs(10);

fn options(broker: &TestBroker, id: &str) -> MqttOptions {
    MqttOptions::new("127.0.0.1", broker.port(), id)
        .unwrap()
        .reconnect(Some(Backoff {
            initial: Duration::from_millis(20),
            max: Duration::from_millis(200),
            jitter_permille: 500,
        }))
}

/// Subscribe, publish at every QoS, receive each, reconnect after the broker drops the
/// connection, receive again, disconnect: the whole life of a client.
async fn life(broker: Arc<TestBroker>, protocol: ProtocolVersion, id: &str) {
    // A session that outlives the connection: Clean Session 0 (3.1.1), an expiry (5.0).
    let options = options(&broker, id)
        .protocol(protocol)
        .clean_start(false)
        .session_expiry(600);
    let (client, mut messages) = tern_async_std::connect(options.unwrap()).await.unwrap();
    let granted = client
        .subscribe(&[("sensors/temperature", QoS::AtLeastOnce)])
        .await
        .unwrap();
    assert_eq!(granted, [ReasonCode::GrantedQoS1]);
    for qos in [QoS::AtMostOnce, QoS::AtLeastOnce, QoS::ExactlyOnce] {
        let payload = format!("{qos:?}");
        let code = client
            .publish("sensors/temperature", payload.clone(), qos, false)
            .await
            .unwrap();
        assert_eq!(code, ReasonCode::Success);
        let m = messages.recv().await.unwrap();
        assert_eq!(m.payload, payload.as_bytes());
    }

    broker.kick_all();
    // Publishing goes on across the reconnection; the session (and subscription) resumes.
    let code = client
        .publish("sensors/temperature", "after", QoS::AtLeastOnce, false)
        .await
        .unwrap();
    assert_eq!(code, ReasonCode::Success);
    // A QoS 1 delivery whose PUBACK the kick cut off comes again, marked DUP (at least once).
    loop {
        let m = messages.recv().await.unwrap();
        if m.payload == "after" {
            break;
        }
        assert!(m.dup, "only a redelivery may come before it: {m:?}");
    }
    assert!(broker.connections() >= 2);

    client.disconnect().await.unwrap();
    assert!(messages.recv().await.is_none());
    assert!(matches!(
        client.publish("t", "x", QoS::AtMostOnce, false).await,
        Err(Error::Closed)
    ));
}

#[test]
fn a_client_under_async_std() {
    let broker = Arc::new(TestBroker::start());
    for protocol in [ProtocolVersion::V3_1_1, ProtocolVersion::V5] {
        let id = format!("async-std-{protocol:?}");
        let life = life(broker.clone(), protocol, &id);
        async_std::task::block_on(async_std::future::timeout(WAIT, life)).unwrap();
    }
}

#[test]
fn a_client_under_smol() {
    let broker = Arc::new(TestBroker::start());
    smol::block_on(async {
        let life = life(broker.clone(), ProtocolVersion::V5, "smol");
        let timeout = async {
            smol::Timer::after(WAIT).await;
            panic!("the client did not finish in time");
        };
        smol::future::or(life, timeout).await;
    });
}
