//! tern-tokio against the in-process test broker: the adapter's promises, end to end over
//! real sockets.

use std::time::Duration;

use futures_util::StreamExt;
use futures_util::stream::FuturesUnordered;
use tern_testkit::broker::TestBroker;
use tern_tokio::{Backoff, Error, Message, MqttOptions, ProtocolVersion, QoS, ReasonCode};

const WAIT: Duration = Duration::from_secs(10);

fn options(broker: &TestBroker, id: &str) -> MqttOptions {
    MqttOptions::new("127.0.0.1", broker.port(), id)
        .unwrap()
        // Quick reconnections keep the tests short.
        .reconnect(Some(Backoff {
            initial: Duration::from_millis(20),
            max: Duration::from_millis(200),
            jitter_permille: 500,
        }))
}

async fn next(messages: &mut tern_tokio::Messages) -> Message {
    tokio::time::timeout(WAIT, messages.recv())
        .await
        .expect("no message in time")
        .expect("the stream ended")
}

/// The broker is blocking; its waits run off the runtime's threads.
async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    tokio::task::spawn_blocking(f).await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_seed_scenario_at_both_protocol_levels_and_every_qos() {
    let broker = TestBroker::start();
    for protocol in [ProtocolVersion::V3_1_1, ProtocolVersion::V5] {
        let id = format!("seed-{protocol:?}");
        let (client, mut messages) = tern_tokio::connect(options(&broker, &id).protocol(protocol))
            .await
            .unwrap();
        let granted = client
            .subscribe(&[("sensors/temperature", QoS::ExactlyOnce)])
            .await
            .unwrap();
        assert_eq!(granted, [ReasonCode::GrantedQoS2]);
        for qos in [QoS::AtMostOnce, QoS::AtLeastOnce, QoS::ExactlyOnce] {
            let payload = format!("{qos:?}");
            let code = client
                .publish("sensors/temperature", payload.clone(), qos, false)
                .await
                .unwrap();
            assert_eq!(code, ReasonCode::Success);
            let m = next(&mut messages).await;
            assert_eq!(
                (m.topic.as_str(), &m.payload[..]),
                ("sensors/temperature", payload.as_bytes())
            );
            assert_eq!(m.qos, qos);
        }
        let unsubscribed = client.unsubscribe(&["sensors/temperature"]).await.unwrap();
        if protocol == ProtocolVersion::V5 {
            assert_eq!(unsubscribed, [ReasonCode::Success]);
        }
        client.disconnect().await.unwrap();
        assert!(
            messages.recv().await.is_none(),
            "the stream ends after disconnect"
        );
        assert!(matches!(
            client.publish("t", "x", QoS::AtMostOnce, false).await,
            Err(Error::Closed)
        ));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_connection_is_an_error_with_the_reason_code() {
    let broker = TestBroker::start();
    broker.refuse_next_connect(ReasonCode::NotAuthorized);
    let e = tern_tokio::connect(options(&broker, "refused"))
        .await
        .unwrap_err();
    let Error::Refused(connack) = &e else {
        panic!("expected Refused, got {e:?}")
    };
    assert_eq!(connack.reason_code, ReasonCode::NotAuthorized);
    assert!(e.to_string().contains("Not authorized"), "{e}");

    let nobody = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = nobody.local_addr().unwrap().port();
    drop(nobody);
    let e = tern_tokio::connect(MqttOptions::new("127.0.0.1", port, "x").unwrap())
        .await
        .unwrap_err();
    assert!(matches!(e, Error::Io(_)), "{e:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn qos1_publications_in_flight_complete_after_a_reconnection() {
    let broker = std::sync::Arc::new(TestBroker::start());
    let (client, _messages) =
        tern_tokio::connect(options(&broker, "inflight").session_expiry(600).unwrap())
            .await
            .unwrap();
    broker.pause_acks(true);
    let mut pending: FuturesUnordered<_> = (0..5)
        .map(|n| {
            let client = client.clone();
            tokio::spawn(async move {
                client
                    .publish("data", format!("{n}"), QoS::AtLeastOnce, false)
                    .await
            })
        })
        .collect();
    let b = broker.clone();
    blocking(move || b.wait_received(5, WAIT)).await;
    broker.kick_all();
    broker.pause_acks(false);
    let b = broker.clone();
    blocking(move || b.wait_connections(2, WAIT)).await;
    while let Some(result) = tokio::time::timeout(WAIT, pending.next()).await.unwrap() {
        assert_eq!(result.unwrap().unwrap(), ReasonCode::Success);
    }
    // The broker saw each publication twice: first, then resent with DUP after the loss, in
    // the same order.
    let received = broker.received();
    let (resent, first): (Vec<_>, Vec<_>) = received.iter().partition(|p| p.dup);
    let payloads = |v: Vec<&tern_tokio::Publish>| -> Vec<bytes::Bytes> {
        v.into_iter().map(|p| p.payload.clone()).collect()
    };
    assert_eq!(first.len(), 5);
    assert_eq!(payloads(resent), payloads(first));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_session_is_subscribed_again() {
    let broker = std::sync::Arc::new(TestBroker::start());
    let (client, mut messages) = tern_tokio::connect(options(&broker, "resub"))
        .await
        .unwrap();
    client
        .subscribe(&[("alerts/#", QoS::AtLeastOnce)])
        .await
        .unwrap();
    broker.forget_sessions();
    broker.kick_all();
    let b = broker.clone();
    blocking(move || b.wait_connections(2, WAIT)).await;
    // The resubscription races with this publish: retry until it arrives.
    let m = tokio::time::timeout(WAIT, async {
        loop {
            broker.publish("alerts/fire", "drill", QoS::AtLeastOnce, false);
            if let Ok(Some(m)) =
                tokio::time::timeout(Duration::from_millis(200), messages.recv()).await
            {
                break m;
            }
        }
    })
    .await
    .expect("no message after the resubscription");
    assert_eq!(m.topic.as_str(), "alerts/fire");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_reader_does_not_stall_publishing_and_loses_nothing() {
    let broker = std::sync::Arc::new(TestBroker::start());
    let (client, mut messages) = tern_tokio::connect(options(&broker, "slow").message_buffer(2))
        .await
        .unwrap();
    client
        .subscribe(&[("flood", QoS::AtLeastOnce)])
        .await
        .unwrap();
    for n in 0..300 {
        let qos = if n % 2 == 0 {
            QoS::AtMostOnce
        } else {
            QoS::AtLeastOnce
        };
        broker.publish("flood", format!("{n}"), qos, false);
    }
    // Nobody reads; publishing still completes.
    for n in 0..20 {
        let code = tokio::time::timeout(
            WAIT,
            client.publish("out", format!("{n}"), QoS::AtLeastOnce, false),
        )
        .await
        .expect("publishing stalled behind unread messages")
        .unwrap();
        assert_eq!(code, ReasonCode::Success);
    }
    for n in 0..300 {
        let m = next(&mut messages).await;
        assert_eq!(m.payload, format!("{n}").as_bytes(), "message {n}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_session_file_carries_unacknowledged_publications_over_a_restart() {
    let broker = std::sync::Arc::new(TestBroker::start());
    let file = std::env::temp_dir().join(format!("tern-tokio-session-{}", std::process::id()));
    let _ = std::fs::remove_file(&file);
    let opts = || {
        options(&broker, "restarted")
            .session_expiry(600)
            .unwrap()
            .session_file(&file)
            .reconnect(None)
    };
    {
        let (client, _messages) = tern_tokio::connect(opts()).await.unwrap();
        broker.pause_acks(true);
        let publish = tokio::spawn(async move {
            client
                .publish("ledger", "entry-1", QoS::AtLeastOnce, false)
                .await
        });
        let b = broker.clone();
        blocking(move || b.wait_received(1, WAIT)).await;
        // The connection dies before the broker acknowledged: with reconnection off the
        // publication fails here, but it is still in the session file.
        broker.kick_all();
        let outcome = tokio::time::timeout(WAIT, publish).await.unwrap().unwrap();
        assert!(
            matches!(outcome, Err(Error::ConnectionLost(_))),
            "{outcome:?}"
        );
    }
    broker.pause_acks(false);

    // A new process: same file, same client identifier.
    let (client, _messages) = tern_tokio::connect(opts().clean_start(false))
        .await
        .unwrap();
    let b = broker.clone();
    let received = blocking(move || b.wait_received(2, WAIT)).await;
    assert_eq!(received[1].payload, "entry-1");
    assert!(
        received[1].dup,
        "the restored publication is resent with DUP"
    );
    client.disconnect().await.unwrap();
    std::fs::remove_file(&file).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_connection_lives_while_a_handle_or_the_stream_does() {
    let broker = std::sync::Arc::new(TestBroker::start());
    let (client, mut messages) = tern_tokio::connect(options(&broker, "reader"))
        .await
        .unwrap();
    client
        .subscribe(&[("news", QoS::AtLeastOnce)])
        .await
        .unwrap();
    drop(client);
    // Only the stream is left: still connected, still receiving.
    broker.publish("news", "still here", QoS::AtLeastOnce, false);
    assert_eq!(next(&mut messages).await.payload, "still here");
    assert!(broker.is_online("reader"));
    drop(messages);
    // Nothing is left: the client disconnects.
    let deadline = std::time::Instant::now() + WAIT;
    while broker.is_online("reader") {
        assert!(std::time::Instant::now() < deadline, "still connected");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
