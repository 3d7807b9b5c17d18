//! `cargo xtask bench broker [ARGS]`: MQTT brokers under one load generator in the same run
//! (see tern-bench's `broker` binary for the method); the report goes to
//! `target/bench/broker/report.md`.
//!
//! mosquitto is installed with apt-get when missing (as the interop suite does) and started
//! with a generated config on a free loopback port: anonymous, no persistence, no connection
//! limit, long queues, TCP_NODELAY, and its open-files limit raised for 10,000 connections.
//! `tern broker --bind 127.0.0.1:0` is started too when `target/release/tern` has a `broker`
//! subcommand (`tern broker --help` succeeds), and is then the first broker, to which the
//! others are compared. Until then the report has one broker and says so. The brokers are
//! killed when the benchmark ends, whether it succeeded or not.

use std::fs;
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::thread;
use std::time::{Duration, Instant};

use crate::bench_coap::{exited, listening_on, spawn, tail};
use crate::interop::broker::{self as mosquitto, Broker, RAISE_OPEN_FILES};
use crate::interop::target_dir;
use crate::run::{self, Cmd, format_duration};

/// How long `tern broker` may take to print its address and accept a connection.
const READY_TIMEOUT: Duration = Duration::from_secs(10);

/// Runs the benchmark; `args` go to the generator (after ours, so an `--out` there wins).
pub(crate) fn run(root: &Path, args: &[String]) -> Result<(), String> {
    // Built first, so that compiling does not overlap the brokers' lives.
    let exe = crate::bench_coap::build_tern_and(root, "broker", "the broker load generator")?;
    let dir = target_dir(root).join("bench/broker");
    fs::create_dir_all(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;

    let mut notes = Vec::new();
    let tern = if has_broker(&exe("tern")) {
        let tern = TernBroker::start(&exe("tern"), &dir)?;
        notes.push(format!(
            "tern: `tern broker --bind 127.0.0.1:0` (target/release/tern, {}), its defaults.",
            Cmd::new(&exe("tern").to_string_lossy(), ["--version"])
                .probe_stdout()
                .map_or_else(|| "version unknown".to_owned(), |v| v.trim().to_owned())
        ));
        Some(tern)
    } else {
        println!(
            "{} has no `broker` subcommand yet: measuring mosquitto alone",
            exe("tern").display()
        );
        notes.push(
            "tern: not measured — target/release/tern has no `broker` subcommand yet \
             (`tern broker --help` fails), so this report has mosquitto alone."
                .to_owned(),
        );
        None
    };
    let broker = Broker::start_with(
        &dir.join("mosquitto"),
        mosquitto::Options {
            bench: true,
            ..mosquitto::Options::default()
        },
    )?;
    notes.push(format!(
        "mosquitto: {} with target/bench/broker/mosquitto/mosquitto.conf (anonymous, no \
         persistence, max_connections -1, max_queued_messages 1000000, set_tcp_nodelay true, \
         other settings at their defaults, e.g. max_inflight_messages 20).",
        mosquitto_version(&broker.programs().mosquitto)
    ));

    let mut cmd_args: Vec<String> = Vec::new();
    if let Some(tern) = &tern {
        cmd_args.extend([
            "--broker".into(),
            format!("tern={}", tern.addr),
            "--pid".into(),
            format!("tern={}", tern.child.id()),
        ]);
    }
    cmd_args.extend([
        "--broker".into(),
        format!("mosquitto=127.0.0.1:{}", broker.port()),
        "--pid".into(),
        format!("mosquitto={}", broker.pid()),
    ]);
    for note in notes {
        cmd_args.extend(["--note".into(), note]);
    }
    let report = dir.join("report.md");
    cmd_args.extend(["--out".into(), report.to_string_lossy().into_owned()]);
    let cmd = Cmd::new(&exe("broker").to_string_lossy(), cmd_args)
        .args(args.iter().cloned())
        .dir(root);
    let result = run::step("bench broker", &cmd).map(|_| ());

    // A broker that died during the run explains a failure (or spoils a success).
    let mut died = Vec::new();
    let mut broker = broker;
    if let Some(status) = broker.exited() {
        died.push(format!(
            "mosquitto exited during the run ({status}); its log:\n{}",
            broker.log_tail(20)
        ));
    }
    if let Some(mut tern) = tern {
        if let Some(failure) = exited(&mut tern.child, &tern.log) {
            died.push(format!("tern broker {failure}"));
        }
    }
    match (result, died.is_empty()) {
        (Ok(()), true) => {
            println!("report: {}", report.display());
            Ok(())
        }
        (result, _) => Err(died
            .into_iter()
            .chain(result.err())
            .collect::<Vec<_>>()
            .join("\n")),
    }
}

/// Whether `tern` exists and knows `broker` (clap exits non-zero on an unknown subcommand).
fn has_broker(tern: &Path) -> bool {
    tern.is_file() && Cmd::new(&tern.to_string_lossy(), ["broker", "--help"]).succeeds_quietly()
}

/// `mosquitto version 2.0.11`, from the first line of `mosquitto -h`.
fn mosquitto_version(mosquitto: &Path) -> String {
    let output = Command::new(mosquitto).arg("-h").output();
    output
        .ok()
        .and_then(|o| {
            let text = String::from_utf8_lossy(&o.stdout).into_owned();
            text.lines().next().map(|l| l.trim().to_owned())
        })
        .filter(|l| l.contains("version"))
        .unwrap_or_else(|| "mosquitto (version unknown)".to_owned())
}

/// `tern broker`, killed on drop.
struct TernBroker {
    child: Child,
    addr: SocketAddr,
    log: PathBuf,
}

impl TernBroker {
    /// `tern broker --bind 127.0.0.1:0` with the open-files limit raised, on the port its
    /// `listening on ADDR` line names, once that port accepts a connection.
    fn start(tern: &Path, dir: &Path) -> Result<TernBroker, String> {
        let log = dir.join("tern.log");
        let mut command = Command::new("sh");
        command
            .args(["-c", RAISE_OPEN_FILES, "sh"])
            .arg(tern)
            .args(["broker", "--bind", "127.0.0.1:0"]);
        let mut child = spawn("tern broker", command, &log)?;
        let started = Instant::now();
        loop {
            if let Some(failure) = exited(&mut child, &log) {
                return Err(format!("tern broker {failure}"));
            }
            let text = fs::read_to_string(&log).unwrap_or_default();
            if let Some(addr) = listening_on(&text) {
                if TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
                    println!(
                        "tern broker (pid {}) accepts connections on {addr} (after {})",
                        child.id(),
                        format_duration(started.elapsed())
                    );
                    return Ok(TernBroker { child, addr, log });
                }
            }
            if started.elapsed() > READY_TIMEOUT {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!(
                    "tern broker did not print `listening on ADDR` and accept a connection \
                     within {}; its output:\n{}",
                    format_duration(READY_TIMEOUT),
                    tail(&log)
                ));
            }
            thread::sleep(Duration::from_millis(10));
        }
    }
}

impl Drop for TernBroker {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
