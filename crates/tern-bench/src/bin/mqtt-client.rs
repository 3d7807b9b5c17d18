//! Publish throughput of one MQTT client to a local broker: tern-tokio against rumqttc.
//!
//! ```text
//! cargo xtask bench mqtt-client [--messages N] [--rounds R] [--payload BYTES] [--inflight N]
//!                               [--qos 0|1|both] [--out FILE]
//! cargo run --release -p tern-bench --bin mqtt-client -- --port PORT [...]   (own broker)
//! ```
//!
//! `cargo xtask bench mqtt-client` starts mosquitto on a free loopback port and passes
//! `--port`. Each client keeps one connection (MQTT 3.1.1, keep alive 60 s, in-flight
//! window `--inflight`) for the whole run. The `--messages` of a QoS level are split into
//! `--rounds` rounds; a round publishes its share with tern and then with rumqttc (the order
//! alternates between rounds) and times each until the last publication completed (QoS 1:
//! its PUBACK; QoS 0: the PUBACK of a QoS 1 publication sent after the round's messages, which
//! the broker answers only once it has taken every message before it, so that neither client
//! leaves a backlog in the socket for the other's round). Reported: messages per second over all rounds for each, and
//! the median of the per-round ratios tern/rumqttc, which the machine's slow stretches
//! affect less than a ratio of totals, and the client's CPU time per message (both clients run
//! on the one thread of a current-thread runtime, whose CPU time Linux reports): when a client
//! spends far less CPU per message than the wall time per message, the broker is the limit.

use std::time::{Duration, Instant};

use futures_util::StreamExt;
use futures_util::stream::FuturesUnordered;
use rumqttc::{AsyncClient, Event, EventLoop, Incoming, MqttOptions};
use tern_tokio::{ProtocolVersion, QoS};

const USAGE: &str = "\
usage: mqtt-client --port PORT [--host HOST] [--messages N] [--rounds R] [--payload BYTES]
                   [--inflight N] [--qos 0|1|both] [--out FILE]

  --messages N   messages per QoS level and client (default 100000)
  --rounds R     rounds the messages are split into (default 10)
  --payload B    payload size in bytes (default 100)
  --inflight N   QoS 1 publications in flight at once (default 100)
  --qos L        0, 1 or both (default both)
  --out FILE     also write the report (markdown) to FILE
";

struct Options {
    host: String,
    port: u16,
    messages: usize,
    rounds: usize,
    payload: usize,
    inflight: u16,
    qos: Vec<u8>,
    out: Option<String>,
}

fn parse() -> Result<Options, String> {
    let mut o = Options {
        host: "127.0.0.1".into(),
        port: 0,
        messages: 100_000,
        rounds: 10,
        payload: 100,
        inflight: 100,
        qos: vec![0, 1],
        out: None,
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = || args.next().ok_or(format!("{arg} needs a value"));
        let number = |v: String| v.parse::<usize>().map_err(|e| format!("{v}: {e}"));
        match arg.as_str() {
            "--host" => o.host = value()?,
            "--port" => o.port = value()?.parse().map_err(|e| format!("--port: {e}"))?,
            "--messages" => o.messages = number(value()?)?,
            "--rounds" => o.rounds = number(value()?)?.max(1),
            "--payload" => o.payload = number(value()?)?,
            "--inflight" => {
                o.inflight = u16::try_from(number(value()?)?.clamp(1, 65_535)).unwrap_or(100)
            }
            "--qos" => {
                o.qos = match value()?.as_str() {
                    "0" => vec![0],
                    "1" => vec![1],
                    "both" => vec![0, 1],
                    other => return Err(format!("--qos {other}: expected 0, 1 or both")),
                }
            }
            "--out" => o.out = Some(value()?),
            "-h" | "--help" => return Err(USAGE.into()),
            other => return Err(format!("unknown argument {other}\n{USAGE}")),
        }
    }
    if o.port == 0 {
        return Err(format!("--port is required\n{USAGE}"));
    }
    Ok(o)
}

/// tern-tokio: `n` publications with at most `inflight` futures outstanding.
async fn tern_round(
    client: &tern_tokio::Client,
    topic: &str,
    payload: &bytes::Bytes,
    qos: QoS,
    n: usize,
    inflight: usize,
) -> Duration {
    let start = Instant::now();
    let mut pending = FuturesUnordered::new();
    let mut sent = 0;
    while sent < n || !pending.is_empty() {
        while sent < n && pending.len() < inflight {
            pending.push(client.publish(topic, payload.clone(), qos, false));
            sent += 1;
        }
        if let Some(result) = pending.next().await {
            let code = result.expect("tern publish failed");
            assert!(
                !code.is_error(),
                "the broker refused a publication: {code:?}"
            );
        }
    }
    if qos == QoS::AtMostOnce {
        // The fence: the broker handles a connection's packets in order, so its PUBACK means
        // every QoS 0 publication before it reached the broker.
        client
            .publish(topic, payload.clone(), QoS::AtLeastOnce, false)
            .await
            .expect("tern fence failed");
    }
    start.elapsed()
}

/// rumqttc: a task queues `n` publications; the event loop runs until `n` completed.
async fn rumqttc_round(
    client: &AsyncClient,
    eventloop: &mut EventLoop,
    topic: &str,
    payload: &bytes::Bytes,
    qos: rumqttc::QoS,
    n: usize,
) -> Duration {
    let start = Instant::now();
    let publisher = client.clone();
    let (topic, payload) = (topic.to_owned(), payload.clone());
    let task = tokio::spawn(async move {
        for _ in 0..n {
            publisher
                .publish_bytes(topic.as_str(), qos, false, payload.clone())
                .await
                .expect("rumqttc publish failed");
        }
        if qos == rumqttc::QoS::AtMostOnce {
            // The fence, as for tern.
            publisher
                .publish_bytes(topic.as_str(), rumqttc::QoS::AtLeastOnce, false, payload)
                .await
                .expect("rumqttc fence failed");
        }
    });
    // QoS 1: every PUBACK; QoS 0: the fence's PUBACK.
    let acks = if qos == rumqttc::QoS::AtLeastOnce {
        n
    } else {
        1
    };
    let mut done = 0;
    while done < acks {
        if let Event::Incoming(Incoming::PubAck(_)) =
            eventloop.poll().await.expect("rumqttc connection failed")
        {
            done += 1;
        }
    }
    let elapsed = start.elapsed();
    task.await.expect("the publishing task failed");
    elapsed
}

/// CPU time this thread has used (Linux: /proc/thread-self/schedstat); zero elsewhere.
fn thread_cpu() -> Duration {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse().ok())
        .map(Duration::from_nanos)
        .unwrap_or_default()
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    let m = v.len() / 2;
    if v.len() % 2 == 1 {
        v[m]
    } else {
        (v[m - 1] + v[m]) / 2.0
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let o = match parse() {
        Ok(o) => o,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(2);
        }
    };
    let payload = bytes::Bytes::from(vec![b'x'; o.payload]);
    let per_round = o.messages.div_ceil(o.rounds);

    let tern_options = tern_tokio::MqttOptions::new(o.host.clone(), o.port, "bench-tern")
        .expect("valid options")
        .protocol(ProtocolVersion::V3_1_1)
        .reconnect(None);
    let mut tern_options = tern_options;
    tern_options.config.max_inflight = o.inflight;
    tern_options.config.max_queued = o.messages;
    let (tern, _tern_messages) = tern_tokio::connect(tern_options)
        .await
        .expect("tern could not connect to the broker");

    let mut rumqttc_options = MqttOptions::new("bench-rumqttc", o.host.clone(), o.port);
    rumqttc_options
        .set_inflight(o.inflight)
        .set_keep_alive(Duration::from_secs(60))
        .set_max_packet_size(1 << 20, 1 << 20);
    let (rumqttc, mut eventloop) = AsyncClient::new(rumqttc_options, usize::from(o.inflight));
    loop {
        match eventloop.poll().await.expect("rumqttc could not connect") {
            Event::Incoming(Incoming::ConnAck(_)) => break,
            _ => continue,
        }
    }

    let mut report = format!(
        "# MQTT client publish throughput: tern-tokio vs rumqttc 0.25.1\n\n\
         mosquitto on loopback, MQTT 3.1.1, {} B payload, in-flight {}, {} messages per QoS \
         level and client in {} interleaved rounds.\n\n\
         | QoS | tern msg/s | rumqttc msg/s | tern/rumqttc (median of rounds) | min–max | \
         tern CPU/msg | rumqttc CPU/msg |\n\
         |---|---:|---:|---:|---:|---:|---:|\n",
        o.payload, o.inflight, o.messages, o.rounds
    );
    for &level in &o.qos {
        let (qos, rqos) = match level {
            0 => (QoS::AtMostOnce, rumqttc::QoS::AtMostOnce),
            _ => (QoS::AtLeastOnce, rumqttc::QoS::AtLeastOnce),
        };
        let topic = format!("bench/qos{level}");
        let (mut tern_total, mut rumqttc_total) = (Duration::ZERO, Duration::ZERO);
        let mut ratios = Vec::with_capacity(o.rounds);
        // CPU time of the client thread (both clients and their drivers run on it).
        let (mut tern_cpu, mut rumqttc_cpu) = (Duration::ZERO, Duration::ZERO);
        for round in 0..o.rounds {
            let n = per_round.min(o.messages - round * per_round);
            let inflight = usize::from(o.inflight);
            let (t, r) = if round % 2 == 0 {
                let c0 = thread_cpu();
                let t = tern_round(&tern, &topic, &payload, qos, n, inflight).await;
                let c1 = thread_cpu();
                let r = rumqttc_round(&rumqttc, &mut eventloop, &topic, &payload, rqos, n).await;
                let c2 = thread_cpu();
                tern_cpu += c1.saturating_sub(c0);
                rumqttc_cpu += c2.saturating_sub(c1);
                (t, r)
            } else {
                let c0 = thread_cpu();
                let r = rumqttc_round(&rumqttc, &mut eventloop, &topic, &payload, rqos, n).await;
                let c1 = thread_cpu();
                let t = tern_round(&tern, &topic, &payload, qos, n, inflight).await;
                let c2 = thread_cpu();
                rumqttc_cpu += c1.saturating_sub(c0);
                tern_cpu += c2.saturating_sub(c1);
                (t, r)
            };
            tern_total += t;
            rumqttc_total += r;
            // Throughput ratio: rumqttc's time over tern's (> 1: tern is faster).
            ratios.push(r.as_secs_f64() / t.as_secs_f64());
            eprintln!(
                "QoS {level} round {}: tern {:.0} msg/s, rumqttc {:.0} msg/s",
                round + 1,
                n as f64 / t.as_secs_f64(),
                n as f64 / r.as_secs_f64()
            );
        }
        let (lo, hi) = ratios
            .iter()
            .fold((f64::MAX, f64::MIN), |(lo, hi), &r| (lo.min(r), hi.max(r)));
        let ratio = median(&mut ratios);
        report.push_str(&format!(
            "| {level} | {:.0} | {:.0} | {ratio:.2}× | {lo:.2}–{hi:.2} | {:.2} µs | {:.2} µs |\n",
            o.messages as f64 / tern_total.as_secs_f64(),
            o.messages as f64 / rumqttc_total.as_secs_f64(),
            tern_cpu.as_secs_f64() * 1e6 / o.messages as f64,
            rumqttc_cpu.as_secs_f64() * 1e6 / o.messages as f64,
        ));
    }
    let _ = tern.disconnect().await;
    let _ = rumqttc.disconnect().await;
    print!("{report}");
    if let Some(path) = o.out {
        std::fs::write(&path, &report).expect("could not write --out");
        eprintln!("report written to {path}");
    }
}
