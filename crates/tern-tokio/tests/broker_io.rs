//! The tokio broker's own I/O with raw MQTT clients: a subscriber that stops reading (the
//! socket fills, the broker waits for it to drain and holds its publisher back), a message
//! larger than one read, many connections at once, a client that vanishes.
#![cfg(feature = "broker")]

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use tern_mqtt::{
    Codec, Connect, Decoded, MqttString, Packet, PacketId, ProtocolVersion, PubAck, Publish, QoS,
    Subscribe, Subscription, TopicFilter, TopicName,
};
use tern_tokio::broker::{self, BrokerConfig, BrokerOptions, RunningBroker};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const V: ProtocolVersion = ProtocolVersion::V3_1_1;

async fn running() -> RunningBroker {
    broker::start(
        BrokerOptions::new()
            .config(BrokerConfig::default())
            .listen("127.0.0.1:0".parse().unwrap()),
    )
    .await
    .unwrap()
}

/// A client speaking MQTT 3.1.1 over a plain TCP stream.
struct Raw {
    stream: TcpStream,
    input: BytesMut,
    codec: Codec,
}

impl Raw {
    async fn connect(broker: &RunningBroker, client_id: &str) -> Raw {
        let connect = Connect::new(V, MqttString::new(client_id).unwrap());
        Raw::connect_with(broker.local_addr(), connect).await
    }

    /// Connects with `connect` and waits for its successful CONNACK.
    async fn connect_with(addr: SocketAddr, connect: Connect) -> Raw {
        let mut raw = Raw {
            stream: TcpStream::connect(addr).await.unwrap(),
            input: BytesMut::new(),
            codec: Codec::new(V).with_max_incoming(16 << 20),
        };
        raw.send(&Packet::Connect(Box::new(connect))).await;
        match raw.next().await {
            Packet::ConnAck(ack) => assert!(!ack.reason_code.is_error(), "{ack:?}"),
            other => panic!("expected CONNACK, got {other:?}"),
        }
        raw
    }

    async fn send(&mut self, packet: &Packet) {
        let mut wire = BytesMut::new();
        self.codec.encode(packet, &mut wire).unwrap();
        self.stream.write_all(&wire).await.unwrap();
    }

    async fn next(&mut self) -> Packet {
        let read = async {
            loop {
                if let Decoded::Packet(p) = self.codec.decode(&mut self.input).unwrap() {
                    return p;
                }
                let n = self.stream.read_buf(&mut self.input).await.unwrap();
                assert!(n > 0, "the broker closed the connection");
            }
        };
        tokio::time::timeout(Duration::from_secs(20), read)
            .await
            .expect("a packet within 20 s")
    }

    async fn subscribe(&mut self, filter: &str, qos: QoS) {
        let subscribe = Subscribe::new(
            PacketId::MIN,
            vec![Subscription::new(TopicFilter::new(filter).unwrap(), qos)],
        );
        self.send(&Packet::Subscribe(subscribe)).await;
        match self.next().await {
            Packet::SubAck(ack) => assert!(ack.reason_codes.iter().all(|c| !c.is_error())),
            other => panic!("expected SUBACK, got {other:?}"),
        }
    }

    /// The next PUBLISH, acknowledged when it is QoS 1.
    async fn publication(&mut self) -> Publish {
        match self.next().await {
            Packet::Publish(p) => {
                if let Some(id) = p.packet_id {
                    self.send(&Packet::PubAck(PubAck::new(id))).await;
                }
                p
            }
            other => panic!("expected PUBLISH, got {other:?}"),
        }
    }
}

fn publish(topic: &str, payload: impl Into<Bytes>, qos: QoS, id: u16) -> Packet {
    let mut p = Publish::new(TopicName::new(topic).unwrap(), payload.into());
    p.qos = qos;
    if qos != QoS::AtMostOnce {
        p.packet_id = PacketId::new(id);
    }
    Packet::Publish(p)
}

fn sequence(p: &Publish) -> u32 {
    u32::from_be_bytes(p.payload[..4].try_into().unwrap())
}

/// A subscriber that reads nothing for a while: the broker's writes to it stop at a full
/// socket and resume when it drains, its session queue fills and its publisher is held back
/// (PUBACKs withheld, its socket not read) — and every message arrives, once, in order.
#[tokio::test]
async fn a_subscriber_that_stops_reading_holds_its_publisher_back_and_loses_nothing() {
    const MESSAGES: u32 = 2_000;
    const SIZE: usize = 16 * 1024;
    let mut config = BrokerConfig::default();
    config.sessions = config.sessions.max_queued(100);
    let broker = broker::start(
        BrokerOptions::new()
            .config(config)
            .listen("127.0.0.1:0".parse().unwrap()),
    )
    .await
    .unwrap();
    let mut subscriber = Raw::connect(&broker, "slow-reader").await;
    subscriber.subscribe("flood", QoS::AtLeastOnce).await;
    let mut publisher = Raw::connect(&broker, "flooder").await;
    let acked = Arc::new(AtomicU32::new(0));
    let publishing = tokio::spawn({
        let acked = acked.clone();
        async move {
            // At most 10 PUBACKs outstanding: a publisher the broker holds back stops here.
            let mut unacked = 0;
            for seq in 0..MESSAGES {
                let mut payload = vec![0x5a; SIZE];
                payload[..4].copy_from_slice(&seq.to_be_bytes());
                let id = u16::try_from(seq % 60_000 + 1).unwrap();
                publisher
                    .send(&publish("flood", payload, QoS::AtLeastOnce, id))
                    .await;
                unacked += 1;
                while unacked >= 10 || (seq + 1 == MESSAGES && unacked > 0) {
                    match publisher.next().await {
                        Packet::PubAck(_) => {
                            unacked -= 1;
                            acked.fetch_add(1, Ordering::Relaxed);
                        }
                        other => panic!("expected PUBACK, got {other:?}"),
                    }
                }
            }
            publisher
        }
    });
    // 32 MiB is far more than the subscriber's socket buffers (a few MiB: its receive
    // buffer does not grow while it reads nothing) and its session queue (100 messages)
    // hold: without the broker holding the publisher back, it would be done by now.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let acked_while_stalled = acked.load(Ordering::Relaxed);
    assert!(
        acked_while_stalled < MESSAGES,
        "all {MESSAGES} publications acknowledged while their subscriber read nothing"
    );
    for seq in 0..MESSAGES {
        let p = subscriber.publication().await;
        assert_eq!(sequence(&p), seq, "message {seq} out of order or lost");
        assert_eq!(p.payload.len(), SIZE);
    }
    let _publisher = tokio::time::timeout(Duration::from_secs(20), publishing)
        .await
        .expect("the publisher done within 20 s")
        .unwrap();
    assert_eq!(acked.load(Ordering::Relaxed), MESSAGES);
    broker.shutdown().await;
}

/// A 4 MiB PUBLISH takes many reads (64 KiB each) between other clients' turns.
#[tokio::test]
async fn a_message_larger_than_a_read_arrives_whole() {
    let broker = running().await;
    let mut subscriber = Raw::connect(&broker, "big-reader").await;
    subscriber.subscribe("big", QoS::AtLeastOnce).await;
    let mut publisher = Raw::connect(&broker, "big-writer").await;
    let payload: Vec<u8> = (0..4u32 << 20).map(|i| (i % 251) as u8).collect();
    publisher
        .send(&publish("big", payload.clone(), QoS::AtLeastOnce, 7))
        .await;
    let p = subscriber.publication().await;
    assert_eq!(p.payload.len(), payload.len());
    assert!(
        p.payload[..] == payload[..],
        "the payload changed on the way"
    );
    match publisher.next().await {
        Packet::PubAck(ack) => assert_eq!(ack.packet_id, PacketId::new(7).unwrap()),
        other => panic!("expected PUBACK, got {other:?}"),
    }
    broker.shutdown().await;
}

/// 300 clients connect at once and each publishes one message; a subscriber gets them all.
#[tokio::test]
async fn many_clients_at_once() {
    const CLIENTS: usize = 300;
    let broker = running().await;
    let mut subscriber = Raw::connect(&broker, "collector").await;
    subscriber.subscribe("load/+", QoS::AtLeastOnce).await;
    let mut tasks = Vec::new();
    for i in 0..CLIENTS {
        let addr = broker.local_addr();
        tasks.push(tokio::spawn(async move {
            let id = format!("client-{i}");
            let mut raw =
                Raw::connect_with(addr, Connect::new(V, MqttString::new(&id).unwrap())).await;
            raw.send(&publish(&format!("load/{i}"), id, QoS::AtLeastOnce, 1))
                .await;
            assert!(matches!(raw.next().await, Packet::PubAck(_)));
            raw
        }));
    }
    let mut seen = std::collections::HashSet::new();
    for _ in 0..CLIENTS {
        let p = subscriber.publication().await;
        assert!(
            seen.insert(p.topic.as_str().to_owned()),
            "{} twice",
            p.topic
        );
    }
    for task in tasks {
        task.await.unwrap();
    }
    broker.shutdown().await;
}

/// A client that closes its socket without DISCONNECT ends its connection: its will is
/// published.
#[tokio::test]
async fn a_vanished_client_is_noticed() {
    let broker = running().await;
    let mut watcher = Raw::connect(&broker, "watcher").await;
    watcher.subscribe("wills/+", QoS::AtMostOnce).await;
    let mut connect = Connect::new(V, MqttString::new("doomed").unwrap());
    connect.will = Some(tern_mqtt::Will::new(
        TopicName::new("wills/doomed").unwrap(),
        Bytes::from_static(b"gone"),
    ));
    let doomed = Raw::connect_with(broker.local_addr(), connect).await;
    drop(doomed);
    let will = watcher.publication().await;
    assert_eq!(will.topic.as_str(), "wills/doomed");
    assert_eq!(&will.payload[..], b"gone");
    broker.shutdown().await;
}

/// [MQTT-3.1.2-24]: a client silent for one and a half keep-alive periods is disconnected,
/// while another client keeps the core busy.
#[tokio::test]
async fn a_silent_client_is_disconnected_after_one_and_a_half_keep_alives() {
    let broker = running().await;
    let mut busy = Raw::connect(&broker, "chatty").await;
    let mut connect = Connect::new(V, MqttString::new("quiet").unwrap());
    connect.keep_alive = 1;
    let mut silent = Raw::connect_with(broker.local_addr(), connect).await;
    let started = tokio::time::Instant::now();
    let chatter = tokio::spawn(async move {
        for n in 0..u16::MAX {
            busy.send(&publish("chatter", vec![0; 64], QoS::AtMostOnce, n))
                .await;
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    });
    let mut buf = [0u8; 64];
    let n = tokio::time::timeout(Duration::from_secs(5), silent.stream.read(&mut buf))
        .await
        .expect("closed within 5 s")
        .unwrap_or(0);
    assert_eq!(n, 0, "the broker sent something instead of closing");
    let after = started.elapsed();
    assert!(
        after >= Duration::from_millis(1400),
        "closed after {after:?}, before 1.5 × the keep alive"
    );
    chatter.abort();
    broker.shutdown().await;
}
