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

/// A toy method over real TCP: the server sends "nonce", the client answers it reversed.
struct Reverse;

struct ReverseExchange {
    sent: bool,
}

impl broker::EnhancedAuth for Reverse {
    fn begin(
        &self,
        method: &str,
        _client_id: &str,
    ) -> Option<Box<dyn broker::AuthExchange + Send>> {
        (method == "tern-test-challenge").then(|| Box::new(ReverseExchange { sent: false }) as _)
    }
}

impl broker::AuthExchange for ReverseExchange {
    fn step(&mut self, _method: &str, data: Option<&[u8]>) -> broker::AuthStep {
        if !std::mem::replace(&mut self.sent, true) {
            broker::AuthStep::Continue(b"nonce".to_vec())
        } else if data == Some(&b"ecnon"[..]) {
            broker::AuthStep::Success(None)
        } else {
            broker::AuthStep::Failure(tern_mqtt::ReasonCode::NotAuthorized)
        }
    }
}

#[tokio::test]
async fn enhanced_authentication_runs_through_the_tokio_broker() {
    use bytes::{Bytes, BytesMut};
    use tern_mqtt::{
        Auth, Codec, Connect, Decoded, MqttString, Packet, Properties, Property, ProtocolVersion,
        ReasonCode,
    };
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    let broker = broker::start(
        BrokerOptions::new()
            .listen("127.0.0.1:0".parse().unwrap())
            .enhanced_auth(Reverse),
    )
    .await
    .unwrap();
    let codec = Codec::new(ProtocolVersion::V5);
    let method = |data: &'static [u8]| {
        Properties::from_properties([
            Property::AuthenticationMethod(MqttString::new("tern-test-challenge").unwrap()),
            Property::AuthenticationData(Bytes::from_static(data)),
        ])
        .unwrap()
    };
    let mut stream = tokio::net::TcpStream::connect(broker.local_addr())
        .await
        .unwrap();
    let mut received = BytesMut::new();
    let mut connect = Connect::new(ProtocolVersion::V5, MqttString::new("c1").unwrap());
    connect.properties = method(b"hello");
    let packets = [
        Packet::from(connect),
        Packet::Auth(Auth {
            reason_code: ReasonCode::ContinueAuthentication,
            properties: method(b"ecnon"),
        }),
    ];
    let mut answers = Vec::new();
    for packet in packets {
        let mut wire = BytesMut::new();
        codec.encode(&packet, &mut wire).unwrap();
        stream.write_all(&wire).await.unwrap();
        let answer = loop {
            if let Decoded::Packet(p) = codec.decode(&mut received).unwrap() {
                break p;
            }
            let read = tokio::time::timeout(Duration::from_secs(5), stream.read_buf(&mut received));
            assert!(read.await.unwrap().unwrap() > 0, "the broker closed");
        };
        answers.push(answer);
    }
    assert!(matches!(&answers[0], Packet::Auth(a)
        if a.reason_code == ReasonCode::ContinueAuthentication
        && a.properties.authentication_data().as_deref() == Some(&b"nonce"[..])));
    assert!(
        matches!(&answers[1], Packet::ConnAck(a) if a.reason_code == ReasonCode::Success),
        "{answers:?}"
    );
    broker.shutdown().await;
}
