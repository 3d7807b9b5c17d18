//! `cargo xtask interop mqtt`: the `tern` CLI (`tern mqtt pub|sub`) and the adapter examples
//! against mosquitto 2, with mosquitto's own clients on the other side, over 3.1.1 and 5.0.
//!
//! Every scenario gets its own topics and client ids (`tern-interop/<pid>/<case>/...`) on one
//! broker started for the run. A subscriber is "ready" when the broker has its subscription:
//! for `tern mqtt sub` when it prints `received SUBACK` (`-d`, as its spec says), for
//! mosquitto_sub when the broker logs `Sending SUBACK to <id>` (mosquitto adds the subscription
//! before it sends the SUBACK, and the log keeps mosquitto_sub's stdout free of debug lines).
//!
//! Two control scenarios run mosquitto against mosquitto first: when they fail, the broker or the
//! harness is broken, not tern.

mod ctx;
mod scenarios;

use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::time::Instant;

use self::ctx::Ctx;
use self::scenarios::scenarios;
use super::broker::{Broker, Options};
use super::report::{Row, print_failure, table};
use super::target_dir;
use crate::run::{Cmd, format_duration, step};

/// The large payload: 1 MiB crosses every buffer size a client is likely to have.
const BIG_PAYLOAD_LEN: usize = 1 << 20;

/// The large payload's seed: the same bytes in every run, and in the broker suite.
pub(super) const BIG_PAYLOAD_SEED: u64 = 0x9E37_79B9_7F4A_7C15;

/// Runs the scenarios whose names contain one of `filters` (all without filters).
pub(super) fn run(root: &Path, filters: &[String]) -> Result<(), String> {
    let all = scenarios();
    let selected = super::select(&all, |s| s.name.as_str(), filters)?;
    let started = Instant::now();

    let bins = Binaries::build(root);
    let work = target_dir(root).join("interop").join("mqtt");
    fs::create_dir_all(&work).map_err(|e| format!("cannot create {}: {e}", work.display()))?;
    let big = BigPayload::write(&work.join("payload-1MiB.bin"))?;
    println!();
    let mut broker = Broker::start_with(
        &work.join("broker"),
        Options {
            tls: true,
            log_packets: true,
            bench: false,
        },
    )
    .map_err(|e| format!("the broker could not be started, so no scenario ran:\n{e}"))?;

    println!("\nrunning {} MQTT interop scenario(s)\n", selected.len());
    let run_id = std::process::id().to_string();
    let mut rows = Vec::new();
    let mut failures = Vec::new();
    for (index, scenario) in selected.iter().enumerate() {
        let label = format!(
            "{} [{}, qos {}]",
            scenario.name, scenario.protocol, scenario.qos
        );
        print!("[{:>2}/{}] {label} ... ", index + 1, selected.len());
        let _ = std::io::stdout().flush();
        let took_from = Instant::now();
        // A dead broker fails every scenario after it, each saying why rather than timing out.
        let broker_gone = broker.exited();
        let mut ctx = Ctx {
            broker: &broker,
            bins: &bins,
            big: &big,
            run_id: &run_id,
            case: index + 1,
            log_start: broker.log_len(),
            steps: Vec::new(),
        };
        let result = match broker_gone {
            Some(status) => Err(format!("the broker is not running (it exited: {status})")),
            None => (scenario.run)(&mut ctx),
        };
        let took = took_from.elapsed();
        let (steps, log_start) = (ctx.steps, ctx.log_start);
        let result = result.and_then(|()| match broker.exited() {
            Some(status) => Err(format!("the broker died during the scenario ({status})")),
            None => Ok(()),
        });
        match &result {
            Ok(()) => println!("ok ({})", format_duration(took)),
            Err(e) => {
                println!("FAIL ({})", format_duration(took));
                print_failure(e, &steps, &broker.log_since(log_start));
                failures.push(label);
            }
        }
        rows.push(Row {
            scenario: scenario.name.clone(),
            protocol: scenario.protocol.clone(),
            qos: scenario.qos.clone(),
            passed: result.is_ok(),
            took,
        });
    }

    println!("\n{}", table(&rows));
    println!(
        "{} MQTT interop scenario(s) ran in {}: {} passed, {} failed",
        rows.len(),
        format_duration(started.elapsed()),
        rows.len() - failures.len(),
        failures.len()
    );
    if failures.is_empty() {
        return Ok(());
    }
    println!(
        "\nbroker log tail ({}):\n{}",
        work.join("broker/mosquitto.log").display(),
        broker.log_tail(40)
    );
    Err(format!(
        "{} of {} MQTT interop scenarios failed:\n  {}",
        failures.len(),
        rows.len(),
        failures.join("\n  ")
    ))
}

/// What a scenario does; `Err` says what went wrong.
type Check = Box<dyn Fn(&mut Ctx<'_>) -> Result<(), String>>;

/// One row of the summary: a named check for one protocol version and QoS.
struct Scenario {
    name: String,
    protocol: String,
    qos: String,
    run: Check,
}

/// The binaries under test, built before the broker starts. A failed build makes every scenario
/// that needs the binary fail with the reason, rather than running a stale binary.
struct Binaries {
    tern: Result<PathBuf, String>,
    examples: Result<PathBuf, String>,
}

impl Binaries {
    fn build(root: &Path) -> Self {
        let debug = target_dir(root).join("debug");
        let build = |name: &str, args: &[&str], dir: PathBuf| {
            step(name, &Cmd::cargo(args.iter().copied()).dir(root))
                .map(|_| dir)
                .map_err(|e| format!("{e} (its output is above the scenarios)"))
        };
        Self {
            tern: build(
                "build tern-cli",
                &["build", "-p", "tern-cli"],
                debug.clone(),
            ),
            examples: build(
                "build examples",
                &["build", "-p", "tern-examples", "--examples"],
                debug.join("examples"),
            ),
        }
    }

    fn tern(&self) -> Result<PathBuf, String> {
        existing(self.tern.as_ref()?.join(exe("tern")))
    }

    fn example(&self, name: &str) -> Result<PathBuf, String> {
        existing(self.examples.as_ref()?.join(exe(name)))
    }
}

fn exe(name: &str) -> String {
    format!("{name}{}", std::env::consts::EXE_SUFFIX)
}

fn existing(path: PathBuf) -> Result<PathBuf, String> {
    if path.is_file() {
        Ok(path)
    } else {
        Err(format!(
            "{} does not exist after a successful build: is it not written yet, or named \
             differently?",
            path.display()
        ))
    }
}

fn path_arg(path: &Path) -> String {
    path.to_string_lossy().into_owned()
}

/// The 1 MiB payload, on disk for `-f` and in memory for comparing.
struct BigPayload {
    path: PathBuf,
    bytes: Vec<u8>,
}

impl BigPayload {
    /// Pseudo-random bytes with every byte value, newlines and invalid UTF-8 included.
    fn write(path: &Path) -> Result<Self, String> {
        let bytes = super::pseudo_random_bytes(BIG_PAYLOAD_SEED, BIG_PAYLOAD_LEN);
        fs::write(path, &bytes).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
        Ok(Self {
            path: path.to_owned(),
            bytes,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn big_payload_has_every_byte_value() {
        let dir = std::env::temp_dir().join(format!("tern-xtask-{}", std::process::id()));
        fs::create_dir_all(&dir).expect("temp dir");
        let big = BigPayload::write(&dir.join("big.bin")).expect("writable");
        let _ = fs::remove_dir_all(&dir);
        assert_eq!(big.bytes.len(), 1 << 20);
        let mut seen = [false; 256];
        for &b in &big.bytes {
            seen[usize::from(b)] = true;
        }
        assert!(seen.iter().all(|&s| s));
    }
}
