//! tern-tokio over TLS (feature `tls`): testkit's TLS-terminating proxy in front of the
//! in-process `TestBroker`, with the test certificates in `crates/tern-testkit/tls/`.
#![cfg(feature = "tls")]

use std::time::Duration;

use tern_testkit::broker::TestBroker;
use tern_testkit::tls::{fixture, tls_proxy};
use tern_tokio::{Backoff, Error, MqttOptions, QoS, ReasonCode, TlsOptions};

const WAIT: Duration = Duration::from_secs(10);

fn options(host: &str, port: u16, id: &str, ca: &str) -> MqttOptions {
    let tls = TlsOptions::from_pem_files(&fixture(ca), None).unwrap();
    MqttOptions::new(host, port, id).unwrap().tls(tls)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn publish_and_subscribe_over_tls_by_name_and_by_address() {
    let broker = TestBroker::start();
    let port = tls_proxy(broker.port());
    for host in ["localhost", "127.0.0.1"] {
        let options = options(host, port, &format!("tls-{host}"), "ca.pem");
        let (client, mut messages) = tern_tokio::connect(options).await.unwrap();
        client
            .subscribe(&[("secure/#", QoS::ExactlyOnce)])
            .await
            .unwrap();
        for qos in [QoS::AtMostOnce, QoS::AtLeastOnce, QoS::ExactlyOnce] {
            let code = client
                .publish("secure/t", "sealed", qos, false)
                .await
                .unwrap();
            assert_eq!(code, ReasonCode::Success);
            let m = tokio::time::timeout(WAIT, messages.recv())
                .await
                .unwrap()
                .unwrap();
            assert_eq!((&m.payload[..], m.qos), (&b"sealed"[..], qos));
        }
        client.disconnect().await.unwrap();
        assert!(messages.recv().await.is_none());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_certificate_from_another_ca_or_for_another_name_is_refused() {
    let broker = TestBroker::start();
    let port = tls_proxy(broker.port());
    let e = tern_tokio::connect(options("localhost", port, "tls-bad", "other-ca.pem"))
        .await
        .unwrap_err();
    assert!(matches!(e, Error::Tls(_)), "{e:?}");
    assert!(e.to_string().contains("certificate"), "{e}");

    let tls = TlsOptions::from_pem_files(&fixture("ca.pem"), None)
        .unwrap()
        .server_name("broker.example");
    let options = MqttOptions::new("127.0.0.1", port, "tls-name")
        .unwrap()
        .tls(tls);
    let e = tern_tokio::connect(options).await.unwrap_err();
    assert!(matches!(e, Error::Tls(_)), "{e:?}");
    assert_eq!(broker.connections(), 0, "nothing got through to the broker");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tls_connection_is_re_established_after_a_loss() {
    let broker = std::sync::Arc::new(TestBroker::start());
    let port = tls_proxy(broker.port());
    let options = options("localhost", port, "tls-kicked", "ca.pem").reconnect(Some(Backoff {
        initial: Duration::from_millis(20),
        max: Duration::from_millis(100),
        jitter_permille: 0,
    }));
    let (client, _messages) = tern_tokio::connect(options).await.unwrap();
    broker.kick_all();
    let b = broker.clone();
    tokio::task::spawn_blocking(move || b.wait_connections(2, WAIT))
        .await
        .unwrap();
    let code = tokio::time::timeout(WAIT, client.publish("again", "x", QoS::AtLeastOnce, false))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(code, ReasonCode::Success);
}
