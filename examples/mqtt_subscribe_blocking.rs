//! The seed scenario without an async runtime: subscribe to `sensors/temperature` and print
//! every message as it arrives.
//!
//! ```text
//! cargo run -p tern-examples --example mqtt_subscribe_blocking -- [HOST] [PORT]
//! ```

use tern_blocking::{MqttOptions, QoS};

fn main() -> Result<(), tern_blocking::Error> {
    let mut args = std::env::args().skip(1);
    let host = args.next().unwrap_or_else(|| "localhost".into());
    let port = args.next().and_then(|p| p.parse().ok()).unwrap_or(1883);

    let options = MqttOptions::new(host, port, "")?; // "": the broker names the client
    let (client, messages) = tern_blocking::connect(options)?;
    client.subscribe(&[("sensors/temperature", QoS::AtLeastOnce)])?;
    eprintln!("subscribed to sensors/temperature");

    // Blocks for each message; ends only if the client gives up. (stdout is line-buffered,
    // so each line shows at once.)
    for message in messages {
        let payload = String::from_utf8_lossy(&message.payload);
        println!("{}: {payload}", message.topic);
    }
    Ok(())
}
