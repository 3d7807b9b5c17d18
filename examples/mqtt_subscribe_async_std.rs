//! The seed scenario with async-std (the same code runs under smol): subscribe to
//! `sensors/temperature` and print every message as it arrives.
//!
//! ```text
//! cargo run -p tern-examples --example mqtt_subscribe_async_std -- [HOST] [PORT]
//! ```

use tern_async_std::{MqttOptions, QoS};

#[async_std::main]
async fn main() -> Result<(), tern_async_std::Error> {
    let mut args = std::env::args().skip(1);
    let host = args.next().unwrap_or_else(|| "localhost".into());
    let port = args.next().and_then(|p| p.parse().ok()).unwrap_or(1883);

    let options = MqttOptions::new(host, port, "")?; // "": the broker names the client
    let (client, mut messages) = tern_async_std::connect(options).await?;
    client
        .subscribe(&[("sensors/temperature", QoS::AtLeastOnce)])
        .await?;
    eprintln!("subscribed to sensors/temperature");

    while let Some(message) = messages.recv().await {
        let payload = String::from_utf8_lossy(&message.payload);
        println!("{}: {payload}", message.topic);
    }
    Ok(())
}
