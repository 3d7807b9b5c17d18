//! The tokio broker with tern's own tokio client on loopback: the seed scenario, QoS 1 and
//! 2, retained, a persistent session, wills, credentials, shutdown.
#![cfg(feature = "broker")]

use std::time::Duration;

use tern_tokio::broker::{self, BrokerConfig, BrokerOptions, RunningBroker};

use tern_tokio::{MqttOptions, QoS};

async fn running(config: BrokerConfig) -> RunningBroker {
    broker::start(
        BrokerOptions::new()
            .config(config)
            .listen("127.0.0.1:0".parse().unwrap()),
    )
    .await
    .unwrap()
}

fn options(broker: &RunningBroker, client_id: &str) -> MqttOptions {
    let addr = broker.local_addr();
    MqttOptions::new(addr.ip().to_string(), addr.port(), client_id).unwrap()
}

async fn next_payload(messages: &mut tern_tokio::Messages) -> String {
    let message = tokio::time::timeout(Duration::from_secs(5), messages.recv())
        .await
        .expect("a message within 5 s")
        .expect("the connection open");
    String::from_utf8_lossy(&message.payload).into_owned()
}

#[tokio::test]
async fn the_seed_scenario_through_the_tokio_broker() {
    let broker = running(BrokerConfig::default()).await;
    let (subscriber, mut messages) = tern_tokio::connect(options(&broker, "display"))
        .await
        .unwrap();
    subscriber
        .subscribe(&[("sensors/temperature", QoS::AtLeastOnce)])
        .await
        .unwrap();
    let (publisher, _) = tern_tokio::connect(options(&broker, "thermometer"))
        .await
        .unwrap();
    for (reading, qos) in [
        ("21.5", QoS::AtMostOnce),
        ("21.6", QoS::AtLeastOnce),
        ("21.7", QoS::ExactlyOnce),
    ] {
        publisher
            .publish("sensors/temperature", reading, qos, false)
            .await
            .unwrap();
        assert_eq!(next_payload(&mut messages).await, reading);
    }
    publisher.disconnect().await.unwrap();
    subscriber.disconnect().await.unwrap();
    broker.shutdown().await;
}

#[tokio::test]
async fn retained_messages_and_a_persistent_session_survive_the_client() {
    let broker = running(BrokerConfig::default()).await;
    let (publisher, _) = tern_tokio::connect(options(&broker, "pub")).await.unwrap();
    publisher
        .publish("state/door", "open", QoS::AtLeastOnce, true)
        .await
        .unwrap();
    let persistent = || {
        options(&broker, "logger")
            .clean_start(false)
            .session_expiry(600)
            .unwrap()
    };
    let (logger, mut messages) = tern_tokio::connect(persistent()).await.unwrap();
    logger
        .subscribe(&[("state/#", QoS::AtLeastOnce)])
        .await
        .unwrap();
    assert_eq!(next_payload(&mut messages).await, "open");
    logger.disconnect().await.unwrap();
    drop(messages);
    publisher
        .publish("state/door", "closed", QoS::AtLeastOnce, false)
        .await
        .unwrap();
    let (_logger, mut messages) = tern_tokio::connect(persistent()).await.unwrap();
    assert_eq!(next_payload(&mut messages).await, "closed");
    broker.shutdown().await;
}

#[tokio::test]
async fn credentials_are_checked_when_anonymous_access_is_off() {
    let mut config = BrokerConfig::default();
    config.allow_anonymous = false;
    let broker = broker::start(
        BrokerOptions::new()
            .config(config)
            .listen("127.0.0.1:0".parse().unwrap())
            .authenticate(|user, password| user == "alice" && password == Some(&b"secret"[..])),
    )
    .await
    .unwrap();
    assert!(tern_tokio::connect(options(&broker, "anon")).await.is_err());
    assert!(
        tern_tokio::connect(
            options(&broker, "mallory")
                .credentials("alice", "guess")
                .unwrap()
        )
        .await
        .is_err()
    );
    let (alice, _) = tern_tokio::connect(
        options(&broker, "alice")
            .credentials("alice", "secret")
            .unwrap(),
    )
    .await
    .unwrap();
    alice.disconnect().await.unwrap();
    broker.shutdown().await;
}

#[tokio::test]
async fn shutdown_disconnects_every_client() {
    let broker = running(BrokerConfig::default()).await;
    let (_client, mut messages) = tern_tokio::connect(options(&broker, "c").reconnect(None))
        .await
        .unwrap();
    broker.shutdown().await;
    let end = tokio::time::timeout(Duration::from_secs(5), messages.recv()).await;
    assert!(matches!(end, Ok(None)), "{end:?}");
}

#[cfg(feature = "tls")]
#[tokio::test]
async fn the_broker_serves_tls_with_the_server_certificate() {
    use tern_testkit::tls::fixture;
    let config =
        tern_io::tls::server_config(&fixture("server.pem"), &fixture("server.key"), None).unwrap();
    let broker = broker::start(
        BrokerOptions::new()
            .listen("127.0.0.1:0".parse().unwrap())
            .listen_tls("127.0.0.1:0".parse().unwrap(), config),
    )
    .await
    .unwrap();
    let tls_addr = broker.tls_addrs()[0];
    let tls = tern_tokio::TlsOptions::from_pem_files(&fixture("ca.pem"), None).unwrap();
    let secure = MqttOptions::new("localhost", tls_addr.port(), "secure")
        .unwrap()
        .tls(tls);
    let (client, mut messages) = tern_tokio::connect(secure).await.unwrap();
    client
        .subscribe(&[("secure/#", QoS::ExactlyOnce)])
        .await
        .unwrap();
    // A plain TCP client reaches the TLS one through the broker.
    let (plain, _) = tern_tokio::connect(options(&broker, "plain"))
        .await
        .unwrap();
    plain
        .publish("secure/t", "sealed", QoS::ExactlyOnce, false)
        .await
        .unwrap();
    assert_eq!(next_payload(&mut messages).await, "sealed");
    client.disconnect().await.unwrap();
    broker.shutdown().await;
}
