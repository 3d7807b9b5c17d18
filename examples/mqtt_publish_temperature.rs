//! Publishes a temperature reading to `sensors/temperature` every second, at QoS 1, and
//! reports each acknowledgement (tokio).
//!
//! ```text
//! cargo run -p tern-examples --example mqtt_publish_temperature -- [HOST] [PORT] [COUNT]
//! ```
//!
//! Without COUNT it publishes until interrupted.

use std::time::Duration;

use tern_tokio::{MqttOptions, QoS};

#[tokio::main]
async fn main() -> Result<(), tern_tokio::Error> {
    let mut args = std::env::args().skip(1);
    let host = args.next().unwrap_or_else(|| "localhost".into());
    let port = args.next().and_then(|p| p.parse().ok()).unwrap_or(1883);
    let count: Option<u32> = args.next().and_then(|c| c.parse().ok());

    let options = MqttOptions::new(host, port, "thermometer-1")?;
    let (client, _messages) = tern_tokio::connect(options).await?;

    let mut ticker = tokio::time::interval(Duration::from_secs(1));
    for n in 0.. {
        if count.is_some_and(|c| n >= c) {
            break;
        }
        ticker.tick().await;
        // A made-up reading that drifts around 21 °C.
        let celsius = 21.0 + f64::from(n % 10) * 0.1;
        let reading = format!("{celsius:.1}");
        let code = client
            .publish(
                "sensors/temperature",
                reading.clone(),
                QoS::AtLeastOnce,
                false,
            )
            .await?;
        println!("published {reading} ({})", code.name());
    }
    client.disconnect().await
}
