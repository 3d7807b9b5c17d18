//! tern-blocking over TLS (feature `tls`): testkit's TLS-terminating proxy in front of the
//! in-process `TestBroker`, with the test certificates in `crates/tern-testkit/tls/`.
#![cfg(feature = "tls")]

use std::time::Duration;

use tern_blocking::{Error, MqttOptions, QoS, ReasonCode, TlsOptions};
use tern_testkit::broker::TestBroker;
use tern_testkit::tls::{fixture, tls_proxy};

const WAIT: Duration = Duration::from_secs(10);

fn options(host: &str, port: u16, id: &str, ca: &str) -> MqttOptions {
    let tls = TlsOptions::from_pem_files(&fixture(ca), None).unwrap();
    MqttOptions::new(host, port, id).unwrap().tls(tls)
}

#[test]
fn publish_and_subscribe_over_tls() {
    let broker = TestBroker::start();
    let port = tls_proxy(broker.port());
    // By name (the certificate's DNS name) and by address (its IP address).
    for host in ["localhost", "127.0.0.1"] {
        let (client, mut messages) =
            tern_blocking::connect(options(host, port, &format!("tls-{host}"), "ca.pem")).unwrap();
        client.subscribe(&[("secure/#", QoS::ExactlyOnce)]).unwrap();
        for qos in [QoS::AtMostOnce, QoS::AtLeastOnce, QoS::ExactlyOnce] {
            let code = client.publish("secure/t", "sealed", qos, false).unwrap();
            assert_eq!(code, ReasonCode::Success);
            let m = messages.recv_timeout(WAIT).unwrap().unwrap();
            assert_eq!(&m.payload[..], b"sealed");
            assert_eq!(m.qos, qos);
        }
        client.disconnect().unwrap();
        assert_eq!(messages.recv_timeout(WAIT), Ok(None));
    }
}

#[test]
fn a_server_certificate_from_another_ca_is_refused() {
    let broker = TestBroker::start();
    let port = tls_proxy(broker.port());
    let e =
        tern_blocking::connect(options("localhost", port, "tls-bad", "other-ca.pem")).unwrap_err();
    assert!(matches!(e, Error::Tls(_)), "{e:?}");
    assert!(e.to_string().contains("certificate"), "{e}");
    assert_eq!(broker.connections(), 0);
}

#[test]
fn a_name_the_certificate_does_not_carry_is_refused() {
    let broker = TestBroker::start();
    let port = tls_proxy(broker.port());
    let tls = TlsOptions::from_pem_files(&fixture("ca.pem"), None)
        .unwrap()
        .server_name("broker.example");
    let options = MqttOptions::new("127.0.0.1", port, "tls-name")
        .unwrap()
        .tls(tls);
    let e = tern_blocking::connect(options).unwrap_err();
    assert!(matches!(e, Error::Tls(_)), "{e:?}");
}

#[test]
fn tls_connections_are_re_established() {
    let broker = TestBroker::start();
    let port = tls_proxy(broker.port());
    let options = options("localhost", port, "tls-kicked", "ca.pem").reconnect(Some(
        tern_blocking::Backoff {
            initial: Duration::from_millis(20),
            max: Duration::from_millis(100),
            jitter_permille: 0,
        },
    ));
    let (client, mut messages) = tern_blocking::connect(options).unwrap();
    client.subscribe(&[("again", QoS::AtLeastOnce)]).unwrap();
    broker.kick_all();
    broker.wait_connections(2, WAIT);
    // Resubscribed by the client on its own (the broker kept no session), then:
    let deadline = std::time::Instant::now() + WAIT;
    loop {
        client
            .publish("again", "x", QoS::AtLeastOnce, false)
            .unwrap();
        if let Ok(Some(m)) = messages.recv_timeout(Duration::from_millis(200)) {
            assert_eq!(&m.payload[..], b"x");
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no message after reconnecting"
        );
    }
}
