//! The interleaved benchmark runner: the numbers tern reports.
//!
//! ```text
//! cargo xtask bench [--quick] [--filter SUBSTR] [--rounds N] [--slice-ms MS] [--out FILE] [--list]
//! ```
//!
//! On a shared machine memory-bound code runs up to ~1.8x slower for stretches of 0.1–1 s, so
//! timing one implementation after the other (as criterion does) swings cross-implementation
//! ratios by tens of percent. Here, for each case, every implementation is calibrated once to a
//! slice of about `--slice-ms` of wall time, and then `--rounds` rounds run each implementation for
//! one slice, in an order that rotates every round. Each round gives a ratio
//! `peer ns/op / tern ns/op` measured within a few tens of milliseconds, under the same machine
//! conditions; the report gives the median of those ratios (and their min–max), and the median
//! ns/op of each implementation.
//!
//! Allocations per operation come from a counting global allocator, counted inside the timed
//! regions only.

use std::fmt::Write as _;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use tern_bench::alloc_count::{self, Counting};
use tern_bench::cases::{self, BATCH_BYTES, Case, Direction, Impl, MIN_BATCH_OPS, Protocol};

#[global_allocator]
static ALLOC: Counting = Counting;

const USAGE: &str = "\
usage: tern-bench [--quick] [--filter SUBSTR] [--rounds N] [--slice-ms MS] [--out FILE]
                  [--only IMPL] [--list]

  --quick          5 rounds of 2 ms slices (a smoke run; numbers are rough)
  --filter SUBSTR  only cases whose name contains SUBSTR, ignoring case (e.g. \"decode PUBLISH\",
                   \"5.0\", \"coap\")
  --rounds N       rounds per case (default 31)
  --slice-ms MS    wall time per implementation per round, in milliseconds (default 10)
  --out FILE       also write the report (markdown) to FILE
  --only IMPL      run only this implementation (tern, rumqttc, mqttrs, coap-lite or
                   coap-message-impl), e.g. under a
                   profiler; no ratios are reported
  --list           print the case names and exit";

#[derive(Debug)]
struct Options {
    rounds: usize,
    slice: Duration,
    filter: Option<String>,
    out: Option<String>,
    only: Option<Impl>,
    list: bool,
}

fn parse_args() -> Result<Options, String> {
    let mut o = Options {
        rounds: 31,
        slice: Duration::from_millis(10),
        filter: None,
        out: None,
        only: None,
        list: false,
    };
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut value = |name: &str| args.next().ok_or(format!("{name} needs a value"));
        match a.as_str() {
            "--quick" => {
                o.rounds = 5;
                o.slice = Duration::from_millis(2);
            }
            "--filter" => o.filter = Some(value("--filter")?),
            "--rounds" => {
                o.rounds = value("--rounds")?
                    .parse()
                    .map_err(|e| format!("--rounds: {e}"))?;
                if o.rounds == 0 {
                    return Err("--rounds must be at least 1".into());
                }
            }
            "--slice-ms" => {
                let ms: f64 = value("--slice-ms")?
                    .parse()
                    .map_err(|e| format!("--slice-ms: {e}"))?;
                if !(ms > 0.0 && ms.is_finite()) {
                    return Err("--slice-ms must be positive".into());
                }
                o.slice = Duration::from_secs_f64(ms / 1000.0);
            }
            "--out" => o.out = Some(value("--out")?),
            "--only" => {
                let name = value("--only")?;
                o.only = Some(
                    Impl::ALL
                        .into_iter()
                        .find(|i| i.name() == name)
                        .ok_or(format!("--only: unknown implementation {name:?}"))?,
                );
            }
            "--list" => o.list = true,
            "-h" | "--help" => return Err(String::new()),
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    Ok(o)
}

/// Number of operations that take about `target` of wall-clock time for this runner (buffer
/// refills included, so that a slice is short even when refilling dominates, as it does for
/// decoding 64 KiB packets).
fn calibrate(runner: &mut dyn cases::Runner, target: Duration) -> u64 {
    let mut n = 1u64;
    loop {
        let t = runner.run(n).wall.max(Duration::from_nanos(1));
        if t >= target / 4 || n >= 1 << 40 {
            let scaled = n as f64 * target.as_secs_f64() / t.as_secs_f64();
            return (scaled.round() as u64).max(1);
        }
        n *= if t < target / 100 { 10 } else { 2 };
    }
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n == 0 {
        f64::NAN
    } else if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

/// What one implementation did over all rounds of a case.
#[derive(Debug, Clone)]
struct ImplResult {
    imp: Impl,
    /// ns per packet, per round.
    ns: Vec<f64>,
    allocs: u64,
    packets: u64,
}

impl ImplResult {
    fn median_ns(&self) -> f64 {
        median(&mut self.ns.clone())
    }

    fn allocs_per_packet(&self) -> f64 {
        self.allocs as f64 / self.packets as f64
    }
}

/// The ratio peer/tern over the rounds.
#[derive(Debug, Clone, Copy)]
struct Ratio {
    peer: Impl,
    median: f64,
    min: f64,
    max: f64,
}

#[derive(Debug)]
struct CaseResult {
    name: String,
    direction: Direction,
    protocol: Protocol,
    bytes_per_op: usize,
    packets_per_op: usize,
    impls: Vec<ImplResult>,
    ratios: Vec<Ratio>,
}

impl CaseResult {
    fn get(&self, imp: Impl) -> Option<&ImplResult> {
        self.impls.iter().find(|r| r.imp == imp)
    }

    /// The ratio against the fastest peer (the smallest median ratio).
    fn vs_fastest(&self) -> Option<Ratio> {
        self.ratios
            .iter()
            .copied()
            .min_by(|a, b| a.median.total_cmp(&b.median))
    }

    fn is_publish_decode(&self) -> bool {
        matches!(self.protocol, Protocol::Mqtt(_))
            && self.direction == Direction::Decode
            && self.name.contains("PUBLISH")
    }

    fn ratio_vs(&self, peer: Impl) -> Option<Ratio> {
        self.ratios.iter().copied().find(|q| q.peer == peer)
    }
}

fn run_case(case: &mut Case, rounds: usize, slice: Duration) -> CaseResult {
    let n_impl = case.contenders.len();
    let per_op = case.packets_per_op as f64;
    // Calibrate each contender once (the first call also warms caches and branch predictors).
    let ops: Vec<u64> = case
        .contenders
        .iter_mut()
        .map(|c| {
            calibrate(c.runner.as_mut(), slice / 4);
            calibrate(c.runner.as_mut(), slice)
        })
        .collect();
    let mut results: Vec<ImplResult> = case
        .contenders
        .iter()
        .map(|c| ImplResult {
            imp: c.imp,
            ns: Vec::with_capacity(rounds),
            allocs: 0,
            packets: 0,
        })
        .collect();
    for round in 0..rounds {
        for k in 0..n_impl {
            let i = (round + k) % n_impl;
            let m = case.contenders[i].runner.run(ops[i]);
            let r = &mut results[i];
            r.ns.push(m.time.as_nanos() as f64 / (ops[i] as f64 * per_op));
            r.allocs += m.allocs;
            r.packets += ops[i] * case.packets_per_op as u64;
        }
    }
    let tern = match results.iter().find(|r| r.imp == Impl::Tern) {
        Some(t) => t.ns.clone(),
        None => Vec::new(),
    };
    let ratios = results
        .iter()
        .filter(|r| r.imp != Impl::Tern && !tern.is_empty())
        .map(|r| {
            let mut per_round: Vec<f64> = r.ns.iter().zip(&tern).map(|(p, t)| p / t).collect();
            let med = median(&mut per_round);
            Ratio {
                peer: r.imp,
                median: med,
                min: per_round.first().copied().unwrap_or(f64::NAN),
                max: per_round.last().copied().unwrap_or(f64::NAN),
            }
        })
        .collect();
    CaseResult {
        name: case.name.clone(),
        direction: case.direction,
        protocol: case.protocol,
        bytes_per_op: case.bytes_per_op,
        packets_per_op: case.packets_per_op,
        impls: results,
        ratios,
    }
}

fn fmt_ns(ns: f64) -> String {
    if ns >= 10_000.0 {
        format!("{:.1} µs", ns / 1000.0)
    } else if ns >= 100.0 {
        format!("{ns:.0}")
    } else {
        format!("{ns:.1}")
    }
}

fn fmt_allocs(a: f64) -> String {
    if a == 0.0 {
        "0".into()
    } else if a >= 10.0 || a.fract() == 0.0 {
        format!("{a:.0}")
    } else {
        format!("{a:.2}")
    }
}

fn throughput(r: &CaseResult, ns_per_packet: f64) -> String {
    let bytes_per_packet = r.bytes_per_op as f64 / r.packets_per_op as f64;
    let mbps = bytes_per_packet / ns_per_packet * 1e3;
    let mpps = 1e3 / ns_per_packet;
    if mbps >= 10_000.0 {
        format!("{:.1} GB/s · {mpps:.2} M/s", mbps / 1e3)
    } else {
        format!("{mbps:.0} MB/s · {mpps:.2} M/s")
    }
}

/// The results grouped by protocol family (MQTT, CoAP), in order of appearance, with the
/// peers of each: every family gets its own tables and columns.
fn families(results: &[CaseResult]) -> Vec<(&'static [Impl], Vec<&CaseResult>)> {
    let mut out: Vec<(&'static str, &'static [Impl], Vec<&CaseResult>)> = Vec::new();
    for r in results {
        let f = r.protocol.family();
        match out.iter_mut().find(|(name, _, _)| *name == f) {
            Some((_, _, v)) => v.push(r),
            None => out.push((f, r.protocol.peers(), vec![r])),
        }
    }
    out.into_iter().map(|(_, p, v)| (p, v)).collect()
}

fn table(results: &[CaseResult]) -> String {
    let mut s = String::new();
    for (peers, results) in families(results) {
        table_of(&mut s, peers, &results);
        s.push('\n');
    }
    s
}

fn table_of(s: &mut String, peers: &[Impl], results: &[&CaseResult]) {
    let names = |sep: &str| {
        std::iter::once(Impl::Tern)
            .chain(peers.iter().copied())
            .map(Impl::name)
            .collect::<Vec<_>>()
            .join(sep)
    };
    let _ = writeln!(
        s,
        "| case | {} ns/op | speedup vs fastest peer: median (min–max) | tern throughput (bytes · packets) | allocs/op {} |",
        names(" ns/op | "),
        names(" · ")
    );
    let _ = writeln!(s, "|---|{}---|--:|--:|", "--:|".repeat(peers.len() + 1));
    for r in results {
        let ns = |imp| {
            r.get(imp)
                .map_or("—".to_string(), |x| fmt_ns(x.median_ns()))
        };
        let allocs = |imp| {
            r.get(imp)
                .map_or("—".to_string(), |x| fmt_allocs(x.allocs_per_packet()))
        };
        let speedup = r.vs_fastest().map_or("—".to_string(), |q| {
            format!(
                "**{:.2}×** ({:.2}–{:.2}) vs {}",
                q.median,
                q.min,
                q.max,
                q.peer.name()
            )
        });
        let name = if r.packets_per_op > 1 {
            format!("{} (per packet)", r.name)
        } else {
            r.name.clone()
        };
        let tern_ns = r.get(Impl::Tern).map_or(f64::NAN, ImplResult::median_ns);
        let all = std::iter::once(Impl::Tern).chain(peers.iter().copied());
        let _ = writeln!(
            s,
            "| {name} | {} | {speedup} | {} | {} |",
            all.clone().map(ns).collect::<Vec<_>>().join(" | "),
            throughput(r, tern_ns),
            all.map(allocs).collect::<Vec<_>>().join(" · "),
        );
    }
}

/// Ratios from here to 1× are reported as parity rather than as slower: on a shared machine
/// the median of a ratio between two equal implementations moves by a few percent between runs.
const PARITY: f64 = 0.95;

/// Every peer's ratio, not only the fastest's.
fn ratio_table(results: &[CaseResult]) -> String {
    let mut s = String::new();
    for (peers, results) in families(results) {
        let _ = writeln!(
            s,
            "| case | {} |\n|---|{}",
            peers
                .iter()
                .map(|p| format!("{} ns / tern ns: median (min–max)", p.name()))
                .collect::<Vec<_>>()
                .join(" | "),
            "--:|".repeat(peers.len())
        );
        for r in results {
            let cell = |imp: Impl| {
                r.ratio_vs(imp).map_or("—".to_string(), |q| {
                    format!("{:.2}× ({:.2}–{:.2})", q.median, q.min, q.max)
                })
            };
            let _ = writeln!(
                s,
                "| {} | {} |",
                r.name,
                peers
                    .iter()
                    .map(|&p| cell(p))
                    .collect::<Vec<_>>()
                    .join(" | ")
            );
        }
        s.push('\n');
    }
    s
}

fn targets(results: &[CaseResult]) -> String {
    let mut s = String::new();
    let publish: Vec<&CaseResult> = results.iter().filter(|r| r.is_publish_decode()).collect();
    if let Some(worst) = publish
        .iter()
        .filter_map(|r| r.vs_fastest().map(|q| (r, q)))
        .min_by(|a, b| a.1.median.total_cmp(&b.1.median))
    {
        let met = publish
            .iter()
            .all(|r| r.vs_fastest().is_some_and(|q| q.median >= 2.0));
        let _ = writeln!(
            s,
            "- Decode PUBLISH at least 2× the fastest peer: **{}** (lowest median: {:.2}× vs {} on {}).",
            if met { "met" } else { "not met" },
            worst.1.median,
            worst.1.peer.name(),
            worst.0.name
        );
    }
    let coap_decode: Vec<&CaseResult> = results
        .iter()
        .filter(|r| r.protocol == Protocol::Coap && r.direction == Direction::Decode)
        .collect();
    if let Some((worst, q)) = coap_decode
        .iter()
        .filter_map(|r| r.ratio_vs(Impl::CoapLite).map(|q| (r, q)))
        .min_by(|a, b| a.1.median.total_cmp(&b.1.median))
    {
        let met = coap_decode
            .iter()
            .all(|r| r.ratio_vs(Impl::CoapLite).is_some_and(|q| q.median >= 3.0));
        let _ = writeln!(
            s,
            "- CoAP decode at least 3× coap-lite: **{}** (lowest median: {:.2}× on {}).",
            if met { "met" } else { "not met" },
            q.median,
            worst.name
        );
    }
    let below = |lo: f64, hi: f64| -> Vec<String> {
        results
            .iter()
            .flat_map(|r| {
                r.ratios
                    .iter()
                    .filter(move |q| q.median >= lo && q.median < hi)
                    .map(move |q| format!("{} ({:.3}× vs {})", r.name, q.median, q.peer.name()))
            })
            .collect()
    };
    let slower = below(0.0, PARITY);
    let _ = writeln!(
        s,
        "- Nothing slower than any peer: **{}**{}",
        if slower.is_empty() { "met" } else { "not met" },
        if slower.is_empty() {
            ".".to_string()
        } else {
            format!("; slower (median below {PARITY}×): {}.", slower.join("; "))
        }
    );
    let parity = below(PARITY, 1.0);
    if !parity.is_empty() {
        let _ = writeln!(
            s,
            "- At parity (median between {PARITY}× and 1×, within this machine's run-to-run \
             noise): {}.",
            parity.join("; ")
        );
    }
    s
}

/// Today's date (UTC) as YYYY-MM-DD HH:MM, without a date crate.
fn utc_now() -> String {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let days = (secs / 86_400) as i64;
    let (h, m) = ((secs % 86_400) / 3600, (secs % 3600) / 60);
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let mo = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(mo <= 2);
    format!("{y:04}-{mo:02}-{d:02} {h:02}:{m:02} UTC")
}

fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|m| m.trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism().map_or(0, usize::from);
    let rustc = std::process::Command::new(std::env::var("RUSTC").unwrap_or("rustc".into()))
        .arg("--version")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .map_or("rustc (unknown version)".into(), |s| s.trim().to_string());
    let load = std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default();
    format!("{cpu}, {cores} cores; {rustc}; load average at start {load}")
}

/// Median cost of one `Instant::now()` pair, the per-batch timing overhead.
fn timer_overhead() -> Duration {
    let mut v: Vec<f64> = (0..10_001)
        .map(|_| {
            let a = Instant::now();
            let b = Instant::now();
            (b - a).as_nanos() as f64
        })
        .collect();
    Duration::from_nanos(median(&mut v) as u64)
}

fn main() {
    let opts = match parse_args() {
        Ok(o) => o,
        Err(e) => {
            if !e.is_empty() {
                eprintln!("tern-bench: {e}");
            }
            eprintln!("{USAGE}");
            std::process::exit(2);
        }
    };
    if opts.list {
        for name in cases::case_names() {
            println!("{name}");
        }
        return;
    }
    if !alloc_count::installed() {
        eprintln!("tern-bench: the counting allocator is not installed");
        std::process::exit(1);
    }
    if cfg!(debug_assertions) {
        eprintln!("tern-bench: warning: debug build; run with --release for meaningful numbers");
    }

    let started = Instant::now();
    let header = format!(
        "Date: {}. Machine: {}.\n\
         Method: {} rounds per case; each round runs every implementation for a ~{:.0} ms slice \
         (wall time, refills included), \
         in rotating order; ns/op is the median over rounds, the speedup is the median of \
         per-round ratios (peer ns / tern ns). Decoding refills a buffer with batches of up to \
         {} KiB (at least {} packets) outside the timed region; `Instant::now()` costs {} ns per \
         batch.\n",
        utc_now(),
        machine(),
        opts.rounds,
        opts.slice.as_secs_f64() * 1000.0,
        BATCH_BYTES / 1024,
        MIN_BATCH_OPS,
        timer_overhead().as_nanos(),
    );
    eprint!("{header}");

    eprintln!("building and cross-checking cases...");
    let mut cases = cases::build_cases(opts.filter.as_deref());
    if let Some(only) = opts.only {
        for case in &mut cases {
            case.contenders.retain(|c| c.imp == only);
        }
        cases.retain(|c| !c.contenders.is_empty());
    }
    if cases.is_empty() {
        eprintln!("tern-bench: no case matches {:?}", opts.filter);
        std::process::exit(2);
    }
    // Half a second of work first, so that the first case does not run while the core is still
    // ramping up (its absolute numbers came out ~50 % slower than later cases' without this).
    let warm = Instant::now();
    while warm.elapsed() < Duration::from_millis(500) {
        for c in &mut cases[0].contenders {
            c.runner.run(1);
        }
    }
    let mut results = Vec::new();
    for case in &mut cases {
        let r = run_case(case, opts.rounds, opts.slice);
        let summary = r.vs_fastest().map_or(String::new(), |q| {
            format!(
                "{:.2}x ({:.2}-{:.2}) vs {}",
                q.median,
                q.min,
                q.max,
                q.peer.name()
            )
        });
        eprintln!(
            "{:<55} tern {:>9} ns  {summary}",
            r.name,
            fmt_ns(r.get(Impl::Tern).map_or(f64::NAN, ImplResult::median_ns))
        );
        results.push(r);
    }

    let mut report = String::new();
    report.push_str(&header);
    report.push('\n');
    report.push_str(&table(&results));
    report.push_str(&ratio_table(&results));
    report.push_str(&targets(&results));
    let _ = writeln!(
        report,
        "\nTotal run time {:.0} s.",
        started.elapsed().as_secs_f64()
    );
    print!("{report}");
    if let Some(path) = opts.out
        && let Err(e) = std::fs::write(&path, &report)
    {
        eprintln!("tern-bench: cannot write {path}: {e}");
        std::process::exit(1);
    }
}
