//! Drives the sans-IO MQTT client with an arbitrary sequence of commands, peer bytes (raw or
//! well-formed packets), transport closes and time jumps. It must never panic, never write
//! bytes the strict codec rejects, and never leave its next deadline in the past.
#![no_main]

use arbitrary::{Arbitrary, Unstructured};
use bytes::{Bytes, BytesMut};
use libfuzzer_sys::fuzz_target;
use tern_mqtt::arbitrary::packet;
use tern_mqtt::client::{Client, ClientConfig, Instant};
use tern_mqtt::packet::MAX_PACKET_SIZE;
use tern_mqtt::{Codec, Decoded, MqttString, ProtocolVersion, Publish, QoS, TopicFilter, TopicName};

#[derive(Arbitrary, Debug)]
enum Step {
    Connect,
    Publish { qos: u8, retain: bool, len: u8 },
    Subscribe,
    Unsubscribe,
    Disconnect,
    /// A valid server packet, chosen by the generator.
    Packet,
    /// Raw bytes from the peer.
    Raw(Vec<u8>),
    Closed,
    Advance(u16),
    Timeout,
}

fuzz_target!(|data: &[u8]| {
    let mut u = Unstructured::new(data);
    let Ok(v5) = bool::arbitrary(&mut u) else { return };
    let version = if v5 { ProtocolVersion::V5 } else { ProtocolVersion::V3_1_1 };
    let Ok(id) = MqttString::new("fuzz") else { return };
    let mut config = ClientConfig::new(version, id);
    config.keep_alive = 5;
    config.max_queued = 16;
    let mut client = Client::new(config);
    let mut server = Codec::server().with_max_incoming(MAX_PACKET_SIZE);
    let mut written = BytesMut::new();
    let mut now = Instant::ZERO;
    for _ in 0..64 {
        let Ok(step) = Step::arbitrary(&mut u) else { break };
        match step {
            Step::Connect => {
                // A new transport: the server side starts afresh too.
                server = Codec::server().with_max_incoming(MAX_PACKET_SIZE);
                written.clear();
                client.connect(now);
            }
            Step::Publish { qos, retain, len } => {
                let Ok(topic) = TopicName::new("f/t") else { return };
                let mut p = Publish::new(topic, Bytes::from(vec![0x5a; usize::from(len)]));
                p.qos = QoS::from_u8(qos % 3).unwrap_or_default();
                p.retain = retain;
                let _ = client.publish(now, p);
            }
            Step::Subscribe => {
                if let Ok(f) = TopicFilter::new("f/#") {
                    let _ = client.subscribe(now, vec![(f, QoS::ExactlyOnce)]);
                }
            }
            Step::Unsubscribe => {
                if let Ok(f) = TopicFilter::new("f/#") {
                    let _ = client.unsubscribe(now, vec![f]);
                }
            }
            Step::Disconnect => client.disconnect(now, Default::default()),
            Step::Packet => {
                let Ok(p) = packet(&mut u, version) else { break };
                let mut wire = BytesMut::new();
                if p.encode(version, MAX_PACKET_SIZE, &mut wire).is_ok() {
                    client.handle_read(now, &wire);
                }
            }
            Step::Raw(bytes) => client.handle_read(now, &bytes),
            Step::Closed => client.handle_closed(now),
            Step::Advance(ms) => {
                now = now + core::time::Duration::from_millis(u64::from(ms));
            }
            Step::Timeout => client.handle_timeout(now),
        }
        while client.poll_event().is_some() {}
        while let Some(bytes) = client.poll_transmit() {
            written.extend_from_slice(&bytes);
        }
        // Everything the client wrote on this transport decodes under the strict codec.
        loop {
            match server.decode_mut(&mut written) {
                Ok(Decoded::Packet(_)) => {}
                Ok(Decoded::Incomplete { .. }) => break,
                Err(e) => panic!("the client wrote bytes the codec rejects: {e}"),
            }
        }
    }
    // After a timeout at the current time, the next deadline is in the future (no busy loop).
    client.handle_timeout(now);
    if let Some(deadline) = client.poll_timeout() {
        assert!(deadline > now, "deadline {deadline:?} is not after {now:?} after handling");
    }
});
