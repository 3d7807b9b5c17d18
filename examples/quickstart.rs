//! The quickstart: tern's two seed scenarios end to end on loopback, with no external service.
//!
//! ```text
//! cargo run --example quickstart
//! ```
//!
//! 1. An embedded MQTT broker (tern-tokio's) starts on a free loopback port. A subscriber
//!    subscribes to `sensors/temperature` and prints each reading as it arrives; a publisher
//!    sends five readings at QoS 1.
//! 2. A CoAP server starts on a free loopback port and serves `/hello` (GET: a greeting, or
//!    what was last POSTed; POST: stores the payload, 2.04 Changed). A client GETs
//!    `coap://127.0.0.1:PORT/hello`, POSTs `world` to it, and GETs it again.
//!
//! It exits 0 when every reading arrived and the CoAP answers were the expected ones, 1
//! otherwise.

use std::process::ExitCode;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tern_tokio::broker::{self, BrokerOptions};
use tern_tokio::coap::{CoapClient, CoapServer, Code, Incoming, Response, Router};
use tern_tokio::{MqttOptions, QoS};

const READINGS: [&str; 5] = ["21.5", "21.6", "21.8", "21.7", "21.9"];

#[tokio::main]
async fn main() -> ExitCode {
    match run().await {
        Ok(()) => {
            println!("quickstart: both scenarios passed");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("quickstart: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run() -> Result<(), Box<dyn std::error::Error>> {
    mqtt().await?;
    coap().await?;
    Ok(())
}

/// An embedded broker, a subscriber to `sensors/temperature`, a publisher.
async fn mqtt() -> Result<(), Box<dyn std::error::Error>> {
    let broker = broker::start(BrokerOptions::new().listen("127.0.0.1:0".parse()?)).await?;
    let addr = broker.local_addr();
    println!("MQTT broker listening on {addr}");
    let options = |client_id: &str| MqttOptions::new(addr.ip().to_string(), addr.port(), client_id);

    let (subscriber, mut messages) = tern_tokio::connect(options("display")?).await?;
    subscriber
        .subscribe(&[("sensors/temperature", QoS::AtLeastOnce)])
        .await?;
    println!("subscriber: subscribed to sensors/temperature");

    let (publisher, _) = tern_tokio::connect(options("thermometer")?).await?;
    for reading in READINGS {
        publisher
            .publish("sensors/temperature", reading, QoS::AtLeastOnce, false)
            .await?;
        println!("publisher: sent {reading}");
    }

    for expected in READINGS {
        let message = tokio::time::timeout(Duration::from_secs(5), messages.recv())
            .await
            .map_err(|_| "a reading did not arrive within 5 s")?
            .ok_or("the subscriber's connection ended")?;
        let payload = String::from_utf8_lossy(&message.payload);
        println!("subscriber: {} {payload}", message.topic);
        if payload != expected {
            return Err(format!("expected {expected}, got {payload}").into());
        }
    }
    publisher.disconnect().await?;
    subscriber.disconnect().await?;
    broker.shutdown().await;
    println!("MQTT broker stopped");
    Ok(())
}

/// A CoAP server with `/hello`, and a client that GETs it, POSTs `world`, and GETs again.
async fn coap() -> Result<(), Box<dyn std::error::Error>> {
    let stored = Arc::new(Mutex::new(String::from("Hello, world!")));
    let (get, post) = (stored.clone(), stored);
    let router = Router::new()
        .get("/hello", move |incoming: Incoming| {
            let text = get.lock().map(|s| s.clone()).unwrap_or_default();
            incoming.respond(Response::new(Code::CONTENT).with_payload(text));
        })
        .post("/hello", move |incoming: Incoming| {
            let text = String::from_utf8_lossy(&incoming.request.payload).into_owned();
            if let Ok(mut stored) = post.lock() {
                *stored = text;
            }
            incoming.respond(Response::new(Code::CHANGED));
        });
    let server = CoapServer::bind("127.0.0.1:0".parse()?).await?;
    let uri = format!("coap://{}/hello", server.local_addr());
    println!("CoAP server listening on {}", server.local_addr());
    let serving = tokio::spawn(server.serve(router));

    let client = CoapClient::new().await?;
    let hello = client.get(&uri).await?;
    println!(
        "GET {uri}: {} {}",
        hello.code,
        String::from_utf8_lossy(&hello.payload)
    );
    expect(
        hello.code == Code::CONTENT && &hello.payload[..] == b"Hello, world!",
        "GET /hello",
    )?;

    let posted = client.post(&uri, "world").await?;
    println!("POST {uri} \"world\": {}", posted.code);
    expect(posted.code == Code::CHANGED, "POST /hello")?;

    let again = client.get(&uri).await?;
    println!(
        "GET {uri}: {} {}",
        again.code,
        String::from_utf8_lossy(&again.payload)
    );
    expect(&again.payload[..] == b"world", "GET /hello after the POST")?;

    serving.abort();
    Ok(())
}

fn expect(ok: bool, what: &str) -> Result<(), Box<dyn std::error::Error>> {
    if ok {
        Ok(())
    } else {
        Err(format!("{what}: not the expected answer").into())
    }
}
