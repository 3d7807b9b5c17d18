//! Encode an MQTT 5.0 PUBLISH, then decode it from a stream that delivers it in two pieces.
//!
//! `cargo run -p tern-examples --example mqtt_codec`

use bytes::BytesMut;
use tern_mqtt::{
    Codec, Decoded, Packet, PacketId, Properties, Property, ProtocolVersion, Publish, QoS,
    TopicName,
};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let codec = Codec::new(ProtocolVersion::V5);

    let mut publish = Publish::new(TopicName::new("sensors/temperature")?, "21.5");
    publish.qos = QoS::AtLeastOnce;
    publish.packet_id = PacketId::new(7);
    publish.properties = Properties::builder()
        .push(Property::MessageExpiryInterval(300))
        .user_property("unit", "celsius")?
        .build()?;

    let mut wire = BytesMut::new();
    codec.encode(&Packet::Publish(publish), &mut wire)?;
    println!("encoded {} bytes: {}", wire.len(), hex(&wire));

    // The transport hands us the packet in two reads.
    let second = wire.split_off(4);
    let mut input = wire;
    for chunk in [None, Some(second)] {
        if let Some(chunk) = chunk {
            input.extend_from_slice(&chunk);
        }
        match codec.decode(&mut input)? {
            Decoded::Incomplete { needed } => println!("incomplete, need {needed:?} more bytes"),
            Decoded::Packet(Packet::Publish(p)) => {
                println!(
                    "PUBLISH {} qos={:?} id={:?} payload={:?}",
                    p.topic,
                    p.qos,
                    p.packet_id.map(PacketId::get),
                    std::str::from_utf8(&p.payload)?
                );
                for (k, v) in p.properties.user_properties() {
                    println!("  user property {k}={v}");
                }
            }
            Decoded::Packet(other) => println!("{other:?}"),
        }
    }
    Ok(())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
