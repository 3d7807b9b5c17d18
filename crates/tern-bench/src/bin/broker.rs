//! MQTT brokers under the same load, in the same run: messages per second delivered,
//! end-to-end latency, CPU per message and memory, with the ratios of the first broker to
//! the others.
//!
//! ```text
//! cargo xtask bench broker [--rounds R] [--seconds-per-slice S] [--scenario NAME] [...]
//! cargo run --release -p tern-bench --bin broker -- \
//!     --broker tern=127.0.0.1:P1 --broker mosquitto=127.0.0.1:P2 [--pid tern=PID ...] [...]
//! ```
//!
//! `cargo xtask bench broker` starts the brokers on free loopback ports and passes `--broker`
//! and `--pid`; any other broker plugs in the same way. The generator is not tern's client
//! (that would measure tern on both ends): tokio TCP streams and tern-mqtt's codec, MQTT
//! 3.1.1, one thread.
//!
//! Scenarios (after the issue that asked for them):
//! - `fan-in`: `--publishers` (100) publishers, each on its own topic, → one subscriber on
//!   their `+` filter, at QoS 0 and QoS 1.
//! - `fan-out`: one publisher → `--subscribers` (1,000) subscribers of its topic.
//! - `idle`: `--idle` (10,000) connections that CONNECT (keep alive 3,600 s) and then stay
//!   silent; the broker's resident memory (`VmRSS`) before and after, per connection.
//!
//! Each publisher keeps at most `--window` messages not yet delivered to every subscriber (and,
//! at QoS 1, without PUBACK): a closed loop, so each broker runs as fast as it delivers and
//! the latency (send time in the payload to receipt, one clock) is the broker's, not a queue's.
//! Payloads are `--payload` (100) bytes. Sequence numbers per publisher show every lost and
//! duplicated message.
//!
//! On a shared 2-core machine, stretches of 0.1–1 s run up to 1.8× slower. So each
//! throughput scenario connects to every broker first, then runs `--rounds` rounds, each of
//! one `--seconds-per-slice` slice per broker in an order that rotates; a slice counts what
//! arrives before its end, then waits for what is outstanding (uncounted) so no backlog
//! reaches the next one. Ratios are the median of the per-round ratios, which slow stretches
//! touch less than a ratio of totals. Broker CPU per message is `utime + stime` of `--pid`
//! (all threads) over the counted time, divided by the messages delivered. The idle scenario
//! runs first, on brokers that have not yet carried load, one broker after the other.
//!
//! How much to trust a ratio: an A/A run (mosquitto 2.0.11 twice, one posing as tern, with the
//! defaults, load average about 7 from other work on the 2-core machine) gave medians of
//! 1.01–1.25× for throughput and 0.88–1.16× for p99, with single rounds from 0.3× to 3×.
//! A difference under about 25 % is not a finding on such a machine; the 1.5× throughput
//! target is well outside it. The "broker cores busy" column tells whether a broker had the
//! CPU it wanted.

// A binary's root sits beside its modules' directory, so the paths are spelled out.
#[path = "broker/load.rs"]
mod load;
#[path = "broker/procfs.rs"]
mod procfs;
#[path = "broker/stats.rs"]
mod stats;

use std::fmt::Write as _;
use std::net::{SocketAddr, ToSocketAddrs};
use std::time::{Duration, Instant};

use tern_mqtt::QoS;

use load::{Clock, Scenario, Shape, Tally};
use stats::summarize_ratios;

const USAGE: &str = "\
usage: broker --broker NAME=HOST:PORT [--broker NAME=HOST:PORT ...] [--pid NAME=PID ...]
              [--scenario fan-in|fan-out|idle|all] [--qos 0|1|both] [--rounds R]
              [--seconds-per-slice S] [--publishers N] [--subscribers N] [--idle N]
              [--window N] [--fan-out-window N] [--payload B] [--drain-seconds S]
              [--parallel-connects N] [--note TEXT ...] [--out FILE]

  --broker N=A          a broker to load, named N (the first is compared with the others)
  --pid N=PID           the process of broker N: CPU per message and resident memory
  --scenario S          fan-in, fan-out, idle or all (default all: idle, fan-in, fan-out);
                        repeat or separate with commas for several
  --qos L               QoS of fan-in and fan-out: 0, 1 or both (default both)
  --rounds R            rounds; each runs every broker for one slice (default 10)
  --seconds-per-slice S length of a slice in seconds (default 1)
  --publishers N        fan-in publishers (default 100)
  --subscribers N       fan-out subscribers (default 1000)
  --idle N              idle connections (default 10000)
  --window N            fan-in: messages each publisher keeps undelivered at most (default 10)
  --fan-out-window N    fan-out: the same for the one publisher (default 2: each message is
                        1,000 deliveries already, and more only adds queueing to the latency)
  --payload B           payload bytes, at least 20 (default 100)
  --drain-seconds S     how long a slice's end waits for outstanding messages (default 5)
  --parallel-connects N CONNECT handshakes in progress at once (default 64)
  --note TEXT           a line for the report (e.g. versions); repeatable
  --out FILE            also write the report (markdown) to FILE
";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    FanIn,
    FanOut,
    Idle,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::FanIn => "fan-in",
            Kind::FanOut => "fan-out",
            Kind::Idle => "idle",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
struct Target {
    name: String,
    addr: SocketAddr,
    pid: Option<u32>,
}

#[derive(Debug, Clone, PartialEq)]
struct Opts {
    brokers: Vec<Target>,
    scenarios: Vec<Kind>,
    qos: Vec<QoS>,
    rounds: usize,
    slice: Duration,
    publishers: usize,
    subscribers: usize,
    idle: usize,
    window: usize,
    fan_out_window: usize,
    payload: usize,
    drain: Duration,
    parallel_connects: usize,
    notes: Vec<String>,
    out: Option<String>,
}

fn seconds(flag: &str, v: &str) -> Result<Duration, String> {
    let secs: f64 = v.parse().map_err(|e| format!("{flag} {v}: {e}"))?;
    if !(secs > 0.0 && secs < 3600.0) {
        return Err(format!("{flag} {v}: expected 0 < S < 3600"));
    }
    Ok(Duration::from_secs_f64(secs))
}

fn parse_args(args: impl IntoIterator<Item = String>) -> Result<Opts, String> {
    let mut o = Opts {
        brokers: Vec::new(),
        scenarios: Vec::new(),
        qos: vec![QoS::AtMostOnce, QoS::AtLeastOnce],
        rounds: 10,
        slice: Duration::from_secs(1),
        publishers: 100,
        subscribers: 1000,
        idle: 10_000,
        window: 10,
        fan_out_window: 2,
        payload: 100,
        drain: Duration::from_secs(5),
        parallel_connects: 64,
        notes: Vec::new(),
        out: None,
    };
    let mut pids = Vec::new();
    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        let mut value = || args.next().ok_or(format!("{arg} needs a value"));
        let count = |v: String| {
            v.parse::<usize>()
                .ok()
                .filter(|&n| n > 0)
                .ok_or(format!("{arg} {v}: expected a positive whole number"))
        };
        match arg.as_str() {
            "--broker" => {
                let v = value()?;
                let (name, addr) = v
                    .split_once('=')
                    .filter(|(n, _)| !n.is_empty())
                    .ok_or(format!("--broker {v}: expected NAME=HOST:PORT"))?;
                let addr = addr
                    .to_socket_addrs()
                    .map_err(|e| format!("--broker {v}: {e}"))?
                    .next()
                    .ok_or(format!("--broker {v}: {addr} resolves to nothing"))?;
                if o.brokers.iter().any(|b| b.name == name) {
                    return Err(format!("--broker {v}: {name} is named twice"));
                }
                o.brokers.push(Target {
                    name: name.to_owned(),
                    addr,
                    pid: None,
                });
            }
            "--pid" => {
                let v = value()?;
                let (name, pid) = v
                    .split_once('=')
                    .ok_or(format!("--pid {v}: expected NAME=PID"))?;
                let pid: u32 = pid.parse().map_err(|e| format!("--pid {v}: {e}"))?;
                pids.push((name.to_owned(), pid));
            }
            "--scenario" => {
                for s in value()?.split(',') {
                    let kinds: &[Kind] = match s.trim() {
                        "fan-in" => &[Kind::FanIn],
                        "fan-out" => &[Kind::FanOut],
                        "idle" => &[Kind::Idle],
                        "all" => &[Kind::Idle, Kind::FanIn, Kind::FanOut],
                        other => {
                            return Err(format!(
                                "--scenario {other}: expected fan-in, fan-out, idle or all"
                            ));
                        }
                    };
                    for &k in kinds {
                        if !o.scenarios.contains(&k) {
                            o.scenarios.push(k);
                        }
                    }
                }
            }
            "--qos" => {
                o.qos = match value()?.as_str() {
                    "0" => vec![QoS::AtMostOnce],
                    "1" => vec![QoS::AtLeastOnce],
                    "both" => vec![QoS::AtMostOnce, QoS::AtLeastOnce],
                    other => return Err(format!("--qos {other}: expected 0, 1 or both")),
                }
            }
            "--rounds" => o.rounds = count(value()?)?,
            "--seconds-per-slice" => o.slice = seconds(&arg, &value()?)?,
            "--publishers" => o.publishers = count(value()?)?,
            "--subscribers" => o.subscribers = count(value()?)?,
            "--idle" => o.idle = count(value()?)?,
            "--window" => o.window = count(value()?)?.min(10_000),
            "--fan-out-window" => o.fan_out_window = count(value()?)?.min(10_000),
            "--payload" => {
                let v = value()?;
                o.payload = v
                    .parse::<usize>()
                    .ok()
                    .filter(|&n| (load::HEADER..=1 << 20).contains(&n))
                    .ok_or(format!(
                        "--payload {v}: expected {} to 1048576 bytes (a timestamp, a \
                         sequence number and the publisher)",
                        load::HEADER
                    ))?;
            }
            "--drain-seconds" => o.drain = seconds(&arg, &value()?)?,
            "--parallel-connects" => o.parallel_connects = count(value()?)?,
            "--note" => o.notes.push(value()?),
            "--out" => o.out = Some(value()?),
            "-h" | "--help" => return Err(USAGE.into()),
            other => return Err(format!("unknown argument {other}\n{USAGE}")),
        }
    }
    if o.brokers.is_empty() {
        return Err(format!("at least one --broker is required\n{USAGE}"));
    }
    if o.scenarios.is_empty() {
        o.scenarios = vec![Kind::Idle, Kind::FanIn, Kind::FanOut];
    }
    for (name, pid) in pids {
        o.brokers
            .iter_mut()
            .find(|t| t.name == name)
            .ok_or(format!("--pid {name}={pid}: no --broker named {name}"))?
            .pid = Some(pid);
    }
    Ok(o)
}

/// One throughput scenario at one QoS: totals and per-round figures for each broker.
struct Throughput {
    label: String,
    totals: Vec<Tally>,
    /// `[broker][round]`
    rates: Vec<Vec<f64>>,
    p99: Vec<Vec<f64>>,
}

/// One broker's idle connections.
struct Idle {
    wanted: usize,
    connected: usize,
    error: Option<String>,
    connect_time: Duration,
    rss_before: Option<u64>,
    rss_after: Option<u64>,
    open_files: Option<u64>,
}

fn qos_number(qos: QoS) -> u8 {
    qos.as_u8()
}

async fn throughput(
    o: &Opts,
    kind: Kind,
    qos: QoS,
    clock: Clock,
    run_id: &str,
) -> Result<Throughput, String> {
    let shape = match kind {
        Kind::FanIn => Shape {
            publishers: o.publishers,
            subscribers: 1,
            qos,
            window: o.window,
            payload: o.payload,
            topic_per_publisher: true,
            parallel_connects: o.parallel_connects,
        },
        _ => Shape {
            publishers: 1,
            subscribers: o.subscribers,
            qos,
            window: o.fan_out_window,
            payload: o.payload,
            topic_per_publisher: false,
            parallel_connects: o.parallel_connects,
        },
    };
    let label = format!(
        "{} QoS {} ({} → {})",
        kind.name(),
        qos_number(qos),
        shape.publishers,
        shape.subscribers
    );
    let n = o.brokers.len();
    let mut scenarios = Vec::with_capacity(n);
    for (i, b) in o.brokers.iter().enumerate() {
        let started = Instant::now();
        let prefix = format!("{run_id}-{}{}-{i}", kind.name(), qos_number(qos));
        let s = Scenario::start(b.addr, b.pid, &prefix, &shape, clock)
            .await
            .map_err(|e| format!("{label}, {}: {e}", b.name))?;
        eprintln!(
            "{label}: {} connections to {} ready in {:.2} s",
            shape.publishers + shape.subscribers,
            b.name,
            started.elapsed().as_secs_f64()
        );
        scenarios.push(s);
    }
    let mut totals = vec![Tally::default(); n];
    let mut rates = vec![Vec::with_capacity(o.rounds); n];
    let mut p99 = vec![Vec::with_capacity(o.rounds); n];
    for round in 0..o.rounds {
        let mut line = Vec::with_capacity(n);
        for k in 0..n {
            let i = (k + round) % n;
            let t = scenarios[i]
                .slice(o.slice, o.drain)
                .await
                .map_err(|e| format!("{label}, {}: {e}", o.brokers[i].name))?;
            rates[i].push(t.rate());
            p99[i].push(t.latency.quantile(0.99).map_or(f64::NAN, |v| v as f64));
            line.push(format!(
                "{} {} msg/s p50 {} p99 {}{}{}",
                o.brokers[i].name,
                thousands(t.rate() as u64),
                micros(t.latency.quantile(0.5)),
                micros(t.latency.quantile(0.99)),
                if t.lost + t.duplicated > 0 {
                    format!(" (lost {}, duplicated {})", t.lost, t.duplicated)
                } else {
                    String::new()
                },
                if t.stalled > 0 {
                    format!(" ({} still outstanding after the drain)", t.stalled)
                } else {
                    String::new()
                },
            ));
            totals[i].add(&t);
        }
        eprintln!("{label} round {}: {}", round + 1, line.join("; "));
    }
    for (t, s) in totals.iter_mut().zip(&scenarios) {
        t.lost += s.unseen();
    }
    drop(scenarios);
    // Let the brokers close the connections before the next scenario measures anything.
    tokio::time::sleep(Duration::from_millis(500)).await;
    Ok(Throughput {
        label,
        totals,
        rates,
        p99,
    })
}

async fn idle(o: &Opts, target: &Target, run_id: &str) -> Idle {
    let open_files = target.pid.and_then(procfs::open_files_limit);
    let rss_before = target.pid.and_then(procfs::rss_kib);
    let started = Instant::now();
    let (connections, error) = load::connect_many(
        target.addr,
        &format!("{run_id}-idle"),
        o.idle,
        o.parallel_connects,
    )
    .await;
    let connect_time = started.elapsed();
    // Whatever a broker does lazily per connection is done by now.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let rss_after = target.pid.and_then(procfs::rss_kib);
    let connected = connections.len();
    eprintln!(
        "idle: {connected} of {} connections to {} in {:.2} s{}",
        o.idle,
        target.name,
        connect_time.as_secs_f64(),
        error
            .as_ref()
            .map_or(String::new(), |e| format!("; first error: {e}"))
    );
    drop(connections);
    tokio::time::sleep(Duration::from_secs(1)).await;
    Idle {
        wanted: o.idle,
        connected,
        error,
        connect_time,
        rss_before,
        rss_after,
        open_files,
    }
}

/// `1234567` → `1,234,567`.
fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, d) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(d);
    }
    out
}

/// Nanoseconds as microseconds or milliseconds.
fn micros(ns: Option<u64>) -> String {
    match ns {
        None => "—".into(),
        Some(ns) if ns >= 10_000_000 => format!("{:.1} ms", ns as f64 / 1e6),
        Some(ns) => format!("{:.0} µs", ns as f64 / 1e3),
    }
}

fn per_message(cpu: Option<Duration>, messages: u64) -> String {
    match cpu {
        Some(cpu) if messages > 0 => format!("{:.2} µs", cpu.as_secs_f64() * 1e6 / messages as f64),
        _ => "—".into(),
    }
}

fn mib(kib: Option<u64>) -> String {
    kib.map_or("—".into(), |k| format!("{:.1} MiB", k as f64 / 1024.0))
}

/// The machine's load, from `/proc/loadavg`: other processes compete for the two cores.
fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|| "unknown".into())
}

struct Context {
    own_limit: String,
    load_before: String,
    load_after: String,
}

fn report(o: &Opts, idle: &[(usize, Idle)], runs: &[Throughput], cx: &Context) -> String {
    let names: Vec<&str> = o.brokers.iter().map(|b| b.name.as_str()).collect();
    let mut r = String::new();
    let _ = writeln!(r, "# MQTT broker benchmark: {}\n", names.join(" vs "));
    for note in &o.notes {
        let _ = writeln!(r, "{note}\n");
    }
    if names.len() == 1 {
        let _ = writeln!(
            r,
            "Only one broker ({}) was measured, so there is no ratio.\n",
            names[0]
        );
    }
    let _ = writeln!(
        r,
        "Load: MQTT 3.1.1 on loopback TCP from one generator thread (tokio, tern-mqtt's \
         codec); {} B payloads carrying the send time; fan-in: {} publishers on their own \
         topics → 1 subscriber, each publisher at most {} messages undelivered; fan-out: 1 \
         publisher → {} subscribers, at most {} messages undelivered; {} rounds of one {:.1} s \
         slice per broker in rotating order. Latency is from send to receipt (one clock). \
         Generator open-files limit: {}. Load average (1, 5, 15 min) {} at the start, {} at \
         the end.\n",
        o.payload,
        o.publishers,
        o.window,
        o.subscribers,
        o.fan_out_window,
        o.rounds,
        o.slice.as_secs_f64(),
        cx.own_limit,
        cx.load_before,
        cx.load_after,
    );

    if !runs.is_empty() {
        let _ = writeln!(r, "## Throughput and latency\n");
        let _ = writeln!(
            r,
            "A closed loop: with the window fixed, the median latency follows from the \
             throughput (Little's law), and the p99 shows the spread. msg/s counts \
             deliveries (fan-out: 1,000 per publication). Broker cores busy: its CPU time over \
             the counted time; well below 1 for a one-threaded broker means the machine, not \
             the broker, set the pace.\n\n\
             | scenario | broker | msg/s delivered | p50 | p99 | broker CPU/msg | \
             broker cores busy | generator CPU/msg | broker RSS (max) | lost | duplicated |\n\
             |---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|"
        );
        for run in runs {
            for (i, t) in run.totals.iter().enumerate() {
                let _ = writeln!(
                    r,
                    "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
                    run.label,
                    names[i],
                    thousands(t.rate() as u64),
                    micros(t.latency.quantile(0.5)),
                    micros(t.latency.quantile(0.99)),
                    per_message(t.broker_cpu, t.delivered),
                    t.broker_cpu.map_or("—".into(), |c| format!(
                        "{:.2}",
                        c.as_secs_f64() / t.elapsed.as_secs_f64().max(1e-9)
                    )),
                    per_message(t.generator_cpu, t.delivered),
                    mib(t.broker_rss_kib),
                    thousands(t.lost),
                    thousands(t.duplicated),
                );
            }
        }
        let _ = writeln!(r);
        for run in runs {
            for (i, t) in run.totals.iter().enumerate() {
                if t.stalled > 0 {
                    let _ = writeln!(
                        r,
                        "- {}, {}: {} messages were still outstanding {:.0} s after a slice's \
                         end and were given up on.",
                        run.label,
                        names[i],
                        thousands(t.stalled),
                        o.drain.as_secs_f64()
                    );
                }
            }
        }
        if names.len() > 1 {
            let _ = writeln!(
                r,
                "## Ratios: {} to each other broker (median of per-round ratios)\n\n\
                 Throughput above 1 and p99 below 1 favour {}.\n",
                names[0], names[0]
            );
            let _ = writeln!(
                r,
                "| scenario | vs | msg/s ratio | min–max | p99 ratio | min–max |\n\
                 |---|---|--:|--:|--:|--:|"
            );
            for run in runs {
                for (j, name) in names.iter().enumerate().skip(1) {
                    let fmt = |s: Option<stats::RatioSummary>| {
                        s.map_or(("—".into(), "—".into()), |s| {
                            (
                                format!("{:.2}×", s.median),
                                format!("{:.2}–{:.2}", s.min, s.max),
                            )
                        })
                    };
                    let (t, t_range) = fmt(summarize_ratios(&run.rates[0], &run.rates[j]));
                    let (p, p_range) = fmt(summarize_ratios(&run.p99[0], &run.p99[j]));
                    let _ = writeln!(
                        r,
                        "| {} | {name} | {t} | {t_range} | {p} | {p_range} |",
                        run.label
                    );
                }
            }
            let _ = writeln!(r);
        }
    }

    if !idle.is_empty() {
        let _ = writeln!(r, "## Idle connections\n");
        let _ = writeln!(
            r,
            "Each broker in turn, before any other load: connections that CONNECT (keep \
             alive {} s) and stay silent; resident memory (`VmRSS`, which leaves out the \
             kernel's socket buffers) 2 s after the last CONNACK.\n",
            load::KEEP_ALIVE_SECS
        );
        let _ = writeln!(
            r,
            "| broker | connected | connect time | RSS before | RSS after | per connection | \
             open-files limit |\n|---|--:|--:|--:|--:|--:|--:|"
        );
        let mut per_conn = Vec::new();
        for (i, d) in idle {
            let per = match (d.rss_before, d.rss_after) {
                (Some(a), Some(b)) if d.connected > 0 => {
                    Some(b.saturating_sub(a) as f64 * 1024.0 / d.connected as f64)
                }
                _ => None,
            };
            per_conn.push(per);
            let _ = writeln!(
                r,
                "| {} | {} of {} | {:.2} s | {} | {} | {} | {} |",
                names[*i],
                thousands(d.connected as u64),
                thousands(d.wanted as u64),
                d.connect_time.as_secs_f64(),
                mib(d.rss_before),
                mib(d.rss_after),
                per.map_or("—".into(), |b| format!("{:.1} KiB", b / 1024.0)),
                d.open_files
                    .map_or("unlimited or unknown".into(), thousands),
            );
        }
        let _ = writeln!(r);
        for (i, d) in idle {
            if let Some(e) = &d.error {
                let _ = writeln!(
                    r,
                    "- {}: {} connections failed; the first: {e}",
                    names[*i],
                    d.wanted - d.connected
                );
            }
        }
        if let (Some(Some(first)), true) = (per_conn.first(), idle.len() > 1) {
            for ((i, _), per) in idle.iter().zip(&per_conn).skip(1) {
                if let Some(per) = per.filter(|p| *p > 0.0) {
                    let _ = writeln!(
                        r,
                        "- memory per idle connection, {} / {}: {:.2}×",
                        names[0],
                        names[*i],
                        first / per
                    );
                }
            }
        }
    }
    r
}

async fn run(o: &Opts, own_limit: &str) -> Result<String, String> {
    let load_before = load_average();
    let clock = Clock::new();
    let run_id = format!("tb{}", std::process::id());
    let mut idles = Vec::new();
    let mut runs = Vec::new();
    for &kind in &o.scenarios {
        match kind {
            Kind::Idle => {
                for (i, b) in o.brokers.iter().enumerate() {
                    idles.push((i, idle(o, b, &format!("{run_id}-{i}")).await));
                }
            }
            Kind::FanIn | Kind::FanOut => {
                for &qos in &o.qos {
                    runs.push(throughput(o, kind, qos, clock, &run_id).await?);
                }
            }
        }
    }
    let cx = Context {
        own_limit: own_limit.to_owned(),
        load_before,
        load_after: load_average(),
    };
    Ok(report(o, &idles, &runs, &cx))
}

fn main() {
    let o = match parse_args(std::env::args().skip(1)) {
        Ok(o) => o,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(2);
        }
    };
    let own_limit = match procfs::raise_open_files_limit() {
        Ok(n) => {
            let needed = o.idle.max(o.subscribers * o.brokers.len()) as u64 + 100;
            if n < needed {
                eprintln!(
                    "warning: the open-files limit is {n}, below the {needed} this run needs"
                );
            }
            thousands(n)
        }
        Err(e) => {
            eprintln!("warning: {e}");
            "unchanged".into()
        }
    };
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            std::process::exit(1);
        }
    };
    let local = tokio::task::LocalSet::new();
    let report = match local.block_on(&runtime, run(&o, &own_limit)) {
        Ok(report) => report,
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(1);
        }
    };
    print!("{report}");
    if let Some(path) = &o.out {
        if let Err(e) = std::fs::write(path, &report) {
            eprintln!("error: cannot write {path}: {e}");
            std::process::exit(1);
        }
        eprintln!("report written to {path}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Opts, String> {
        parse_args(args.iter().map(|s| s.to_string()))
    }

    #[test]
    fn defaults_are_the_issues_scenarios() {
        let o = parse(&["--broker", "mosquitto=127.0.0.1:1883"]).unwrap();
        assert_eq!(o.brokers.len(), 1);
        assert_eq!(o.brokers[0].name, "mosquitto");
        assert_eq!(o.brokers[0].addr.port(), 1883);
        assert_eq!(o.brokers[0].pid, None);
        assert_eq!(o.scenarios, vec![Kind::Idle, Kind::FanIn, Kind::FanOut]);
        assert_eq!(o.qos, vec![QoS::AtMostOnce, QoS::AtLeastOnce]);
        assert_eq!((o.publishers, o.subscribers, o.idle), (100, 1000, 10_000));
        assert_eq!(o.payload, 100);
        assert_eq!(o.rounds, 10);
        assert_eq!(o.slice, Duration::from_secs(1));
    }

    #[test]
    fn brokers_pids_and_scenarios() {
        let o = parse(&[
            "--broker",
            "tern=127.0.0.1:1",
            "--broker",
            "mosquitto=127.0.0.1:2",
            "--pid",
            "mosquitto=42",
            "--pid",
            "tern=7",
            "--scenario",
            "fan-out,fan-in",
            "--scenario",
            "fan-in",
            "--qos",
            "1",
            "--rounds",
            "3",
            "--seconds-per-slice",
            "0.25",
            "--note",
            "mosquitto 2.0.11",
            "--out",
            "r.md",
        ])
        .unwrap();
        let names: Vec<_> = o.brokers.iter().map(|b| (b.name.as_str(), b.pid)).collect();
        assert_eq!(names, vec![("tern", Some(7)), ("mosquitto", Some(42))]);
        assert_eq!(o.scenarios, vec![Kind::FanOut, Kind::FanIn]);
        assert_eq!(o.qos, vec![QoS::AtLeastOnce]);
        assert_eq!(o.rounds, 3);
        assert_eq!(o.slice, Duration::from_millis(250));
        assert_eq!(o.notes, vec!["mosquitto 2.0.11".to_owned()]);
        assert_eq!(o.out.as_deref(), Some("r.md"));
        let all = parse(&["--broker", "a=127.0.0.1:1", "--scenario", "idle,all"]).unwrap();
        assert_eq!(all.scenarios, vec![Kind::Idle, Kind::FanIn, Kind::FanOut]);
    }

    #[test]
    fn mistakes_are_refused() {
        let bad: &[&[&str]] = &[
            &[],
            &["--scenario", "idle"],
            &["--broker", "127.0.0.1:1883"],
            &["--broker", "=127.0.0.1:1883"],
            &["--broker", "a=127.0.0.1:1", "--broker", "a=127.0.0.1:2"],
            &["--broker", "a=127.0.0.1:1", "--pid", "b=3"],
            &["--broker", "a=127.0.0.1:1", "--pid", "a=x"],
            &["--broker", "a=127.0.0.1:1", "--scenario", "fan-sideways"],
            &["--broker", "a=127.0.0.1:1", "--qos", "2"],
            &["--broker", "a=127.0.0.1:1", "--rounds", "0"],
            &["--broker", "a=127.0.0.1:1", "--seconds-per-slice", "0"],
            &["--broker", "a=127.0.0.1:1", "--payload", "19"],
            &["--broker", "a=127.0.0.1:1", "--rounds"],
            &["--broker", "a=127.0.0.1:1", "--frobnicate"],
        ];
        for args in bad {
            assert!(parse(args).is_err(), "{args:?} was accepted");
        }
    }

    #[test]
    fn numbers_are_grouped() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1_234_567), "1,234,567");
        assert_eq!(micros(Some(1_500)), "2 µs");
        assert_eq!(micros(Some(25_000_000)), "25.0 ms");
        assert_eq!(micros(None), "—");
    }
}
