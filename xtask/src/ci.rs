//! `cargo xtask ci`: the checks a change must pass, in a fixed order, stopping at the first failure.

use std::path::Path;
use std::time::{Duration, Instant};

use crate::run::{Cmd, ensure_cargo_tool, format_duration, step};

/// Crates that must build without default features (no `std`): the sans-IO cores.
/// A crate whose directory does not exist yet is skipped, so a planned crate is one line here.
pub(crate) const CORE_CRATES: &[&str] = &["tern-time", "tern-mqtt", "tern-coap", "tern-broker"];

/// The cargo-deny release series that `deny.toml` is written for; its config schema changes
/// between minor releases, so CI installs this series rather than whatever is newest.
const CARGO_DENY_SERIES: &str = "0.20";

/// Runs every check; `Err` names the failed step.
pub(crate) fn run(root: &Path) -> Result<(), String> {
    let started = Instant::now();
    let mut done: Vec<(String, Duration)> = Vec::new();
    let mut run_step = |name: &str, cmd: Cmd| -> Result<(), String> {
        let took = step(name, &cmd.dir(root))?;
        done.push((name.to_owned(), took));
        Ok(())
    };

    run_step("fmt", Cmd::cargo(["fmt", "--all", "--", "--check"]))?;
    run_step(
        "clippy",
        Cmd::cargo([
            "clippy",
            "--workspace",
            "--all-targets",
            // Every feature: TLS in the adapters, `arbitrary` in tern-mqtt. No feature of this
            // workspace excludes another.
            "--all-features",
            "--",
            "-D",
            "warnings",
        ]),
    )?;
    // With every feature, so that the TLS tests of the adapters run rather than compile away.
    run_step(
        "test",
        Cmd::cargo(["test", "--workspace", "--all-features"]),
    )?;
    // The README's first command, exactly as a user types it (no external service).
    run_step("quickstart", Cmd::cargo(["run", "--example", "quickstart"]))?;
    run_step(
        "doc",
        Cmd::cargo(["doc", "--workspace", "--no-deps", "--all-features"])
            .env("RUSTDOCFLAGS", "-D warnings"),
    )?;
    for krate in CORE_CRATES {
        if !root.join("crates").join(krate).join("Cargo.toml").is_file() {
            println!(
                "\n--- [no-default-features] skipping `{krate}`: crates/{krate} does not exist yet"
            );
            continue;
        }
        run_step(
            &format!("no-default-features {krate}"),
            Cmd::cargo(["build", "-p", krate, "--no-default-features"]),
        )?;
    }
    ensure_cargo_tool(None, "deny", "cargo-deny", CARGO_DENY_SERIES)?;
    // `--offline` reads the registry index from the local cache; the builds above fill it, and
    // `cargo fetch` makes sure of it for dependencies only some targets or platforms use.
    run_step("fetch", Cmd::cargo(["fetch"]))?;
    // Advisories are left out: they need the RustSec database from the network.
    run_step(
        "deny",
        Cmd::cargo(["deny", "--offline", "check", "licenses", "bans", "sources"]),
    )?;

    println!("\nCI passed in {}:", format_duration(started.elapsed()));
    for (name, took) in &done {
        println!("  {name:<32} {}", format_duration(*took));
    }
    Ok(())
}
