//! `cargo xtask interop <SUITE>`: tern's binaries against other implementations over real
//! sockets on 127.0.0.1. The unit and scenario tests check tern against the specification and
//! captured bytes; these suites check that it actually talks to the software it will meet.
//!
//! - `mqtt` (`mqtt.rs`): the `tern` CLI and the adapter examples against a mosquitto broker of
//!   our own (`broker.rs`), with mosquitto's clients on the other end.
//! - `coap` (`coap/`): `tern coap` as client and server against libcoap's and aiocoap's
//!   servers and clients (peer scripts in `interop/coap/` at the repository root).
//!
//! Scenarios run one after another and each child process has a deadline, so a suite can fail
//! but never hang. A scenario whose binary is missing or rejects a flag fails: nothing is
//! skipped.

pub(crate) mod broker;
mod certs;
mod child;
pub(crate) mod coap;
mod json;
mod mqtt;
mod report;
mod tern_broker;

use std::path::{Path, PathBuf};

use crate::cli::{InteropArgs, InteropSuite};

/// Runs the suite `args` names; `Err` when any scenario failed or the suite could not start.
pub(crate) fn run(root: &Path, args: &InteropArgs) -> Result<(), String> {
    match args.suite {
        InteropSuite::Mqtt => mqtt::run(root, &args.filters),
        InteropSuite::Coap => coap::run(root, &args.filters),
        InteropSuite::Broker => tern_broker::run(root, &args.filters),
    }
}

/// Cargo's target directory as cargo itself resolves it from the environment:
/// `CARGO_TARGET_DIR` (or `CARGO_BUILD_TARGET_DIR`), relative paths taken from the workspace
/// root (where xtask runs cargo), else `<root>/target`. A `build.target-dir` in a cargo config
/// file is not read; this workspace sets none.
pub(crate) fn target_dir(root: &Path) -> PathBuf {
    ["CARGO_TARGET_DIR", "CARGO_BUILD_TARGET_DIR"]
        .iter()
        .filter_map(std::env::var_os)
        .find(|dir| !dir.is_empty())
        .map_or_else(|| root.join("target"), |dir| root.join(dir))
}

/// The scenarios whose names (`name`) contain one of `filters`, all of them without filters;
/// `Err` listing every scenario name when none matches.
pub(crate) fn select<'a, S>(
    all: &'a [S],
    name: impl Fn(&S) -> &str,
    filters: &[String],
) -> Result<Vec<&'a S>, String> {
    let selected: Vec<&S> = all
        .iter()
        .filter(|s| filters.is_empty() || filters.iter().any(|f| name(s).contains(f.as_str())))
        .collect();
    if selected.is_empty() {
        let mut names: Vec<&str> = all.iter().map(&name).collect();
        names.dedup();
        return Err(format!(
            "no scenario name contains any of {filters:?}; the scenarios are:\n  {}",
            names.join("\n  ")
        ));
    }
    Ok(selected)
}

/// `len` pseudo-random bytes (xorshift from `seed`): every byte value occurs, newlines and
/// invalid UTF-8 included, so a peer that treats a payload as text or lines is caught.
pub(crate) fn pseudo_random_bytes(seed: u64, len: usize) -> Vec<u8> {
    let mut x = seed;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 32) as u8
        })
        .collect()
}
