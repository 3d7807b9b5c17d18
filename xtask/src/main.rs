//! Build tooling for the tern workspace, in the [xtask] pattern: `cargo xtask <command>` (an
//! alias in `.cargo/config.toml`) runs this binary, so CI and developers run the same checks
//! with nothing to install but Rust.
//!
//! - `cargo xtask ci`: fmt, clippy, tests, docs, `no_std` builds of the core crates, cargo-deny.
//! - `cargo xtask fuzz [--seconds N] [TARGET...]`: time-boxed cargo-fuzz runs with a summary.
//! - `cargo xtask bench [ARGS...]`: the tern-bench binary, in release mode; `bench mqtt-client`
//!   and `bench coap-server` run the client and server benchmarks against mosquitto and libcoap;
//!   `bench broker` loads `tern broker` (once it exists) and mosquitto with the same generator.
//! - `cargo xtask interop mqtt [FILTER...]`: the tern CLI and examples against a mosquitto broker.
//! - `cargo xtask interop coap [FILTER...]`: `tern coap` against libcoap and aiocoap.
//!
//! It has no dependencies on purpose: it is compiled at the start of every CI run.
//!
//! [xtask]: https://github.com/matklad/cargo-xtask

mod bench_broker;
mod bench_coap;
mod ci;
mod cli;
mod fuzz;
mod interop;
mod libfuzzer;
mod run;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use cli::Command;
use run::Cmd;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let command = match cli::parse(&args) {
        Ok(command) => command,
        Err(message) => {
            eprintln!("error: {message}\n\n{}", cli::USAGE);
            return ExitCode::from(2);
        }
    };
    let root = workspace_root();
    let result = match command {
        Command::Help => {
            print!("{}", cli::USAGE);
            Ok(())
        }
        Command::Ci => ci::run(&root),
        Command::Fuzz(fuzz_args) => fuzz::run(&root, &fuzz_args),
        Command::Bench(bench_args) => bench(&root, &bench_args),
        Command::Interop(interop_args) => interop::run(&root, &interop_args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("\nerror: {message}");
            ExitCode::FAILURE
        }
    }
}

/// The directory holding the root `Cargo.toml`: xtask lives one level below it, so every command
/// works the same from any directory of the checkout.
fn workspace_root() -> PathBuf {
    let manifest_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest_dir.parent().unwrap_or(manifest_dir).to_path_buf()
}

/// `cargo xtask bench`: the bench binary lives in its own crate so that its heavy dependencies
/// (tokio, other MQTT stacks) stay out of every other build.
fn bench(root: &Path, args: &[String]) -> Result<(), String> {
    if !root.join("crates/tern-bench/Cargo.toml").is_file() {
        return Err(
            "crates/tern-bench does not exist yet, so there is nothing to benchmark".to_owned(),
        );
    }
    match args.first().map(String::as_str) {
        Some("mqtt-client") => return bench_mqtt_client(root, &args[1..]),
        Some("coap-server") => return bench_coap::run(root, &args[1..]),
        Some("broker") => return bench_broker::run(root, &args[1..]),
        _ => {}
    }
    let cmd = Cmd::cargo([
        "run",
        "--release",
        "-p",
        "tern-bench",
        "--bin",
        "tern-bench",
        "--",
    ])
    .args(args.iter().cloned())
    .dir(root);
    run::step("bench", &cmd).map(|_| ())
}

/// `cargo xtask bench mqtt-client [ARGS]`: client publish throughput against a mosquitto of
/// our own (started here, on a free loopback port, and stopped afterwards). The client is
/// built first, so that compiling does not overlap the broker's life.
fn bench_mqtt_client(root: &Path, args: &[String]) -> Result<(), String> {
    let build = Cmd::cargo([
        "build",
        "--release",
        "-p",
        "tern-bench",
        "--bin",
        "mqtt-client",
    ])
    .dir(root);
    run::step("build the client benchmark", &build)?;
    let dir = interop::target_dir(root).join("bench/mqtt-client");
    let broker = interop::broker::Broker::start(&dir)?;
    let port = broker.port().to_string();
    let cmd = Cmd::cargo([
        "run",
        "--release",
        "-p",
        "tern-bench",
        "--bin",
        "mqtt-client",
        "--",
        "--port",
        port.as_str(),
    ])
    .args(args.iter().cloned())
    .dir(root);
    let result = run::step("bench mqtt-client", &cmd).map(|_| ());
    drop(broker);
    result
}
