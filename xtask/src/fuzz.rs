//! `cargo xtask fuzz`: run each cargo-fuzz target for a fixed time, one after another, and
//! fail on any crash.

use std::fs;
use std::io::{self, BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::Stdio;

use crate::cli::FuzzArgs;
use crate::libfuzzer::{FuzzStats, SummaryRow, summary_table};
use crate::run::{Cmd, ensure_cargo_tool};

/// `--sanitizer none`: coverage instrumentation only. The default (AddressSanitizer) also builds
/// on nightly here, but every workspace crate denies `unsafe_code`, so ASan has no memory errors
/// of ours to find, and it costs throughput: on this 2-core machine a trivial target ran
/// 1.3 M exec/s without it and 0.23 M exec/s with it. The bugs we hunt are panics, overflows
/// (hence `--debug-assertions`), hangs and broken invariants, which need no sanitizer.
const SANITIZER: &str = "none";

/// The cargo-fuzz release series whose command line this module uses.
const CARGO_FUZZ_SERIES: &str = "0.13";

/// A single input that runs this long is reported as a hang (a `timeout-*` artifact) instead of
/// stalling CI for libFuzzer's default of 1200 s.
const PER_INPUT_TIMEOUT_SECS: u64 = 10;

/// Runs the fuzz targets as `args` says; `Err` names every target that crashed.
pub(crate) fn run(root: &Path, args: &FuzzArgs) -> Result<(), String> {
    // Before anything slow, so a typo fails at once.
    for target in &args.targets {
        check_target_name(target)?;
    }
    let fuzz_dir = root.join("fuzz");
    if !fuzz_dir.join("Cargo.toml").is_file() {
        return Err(format!(
            "{} does not exist: there are no fuzz targets to run yet",
            fuzz_dir.join("Cargo.toml").display()
        ));
    }
    if !Cmd::cargo(["+nightly", "--version"]).succeeds_quietly() {
        return Err(
            "cargo-fuzz needs the nightly toolchain, and `cargo +nightly` does not \
                    work here (install it with `rustup toolchain install nightly`)"
                .to_owned(),
        );
    }
    // The flags used below (`--fuzz-dir`, `--sanitizer none`, `--debug-assertions`) are those of
    // cargo-fuzz 0.13.
    ensure_cargo_tool(Some("+nightly"), "fuzz", "cargo-fuzz", CARGO_FUZZ_SERIES)?;

    let fuzz_dir_arg = fuzz_dir.to_string_lossy().into_owned();
    let targets = if args.targets.is_empty() {
        let listed = Cmd::cargo(["+nightly", "fuzz", "list", "--fuzz-dir", &fuzz_dir_arg])
            .dir(&fuzz_dir)
            .stdout()?;
        let targets: Vec<String> = listed
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(str::to_owned)
            .collect();
        if targets.is_empty() {
            return Err("`cargo fuzz list` found no fuzz targets in fuzz/".to_owned());
        }
        targets
    } else {
        args.targets.clone()
    };
    for target in &targets {
        check_target_name(target)?;
    }
    println!(
        "fuzzing {} target(s) for {} s each: {}",
        targets.len(),
        args.seconds,
        targets.join(", ")
    );

    let mut rows = Vec::new();
    let mut failures = Vec::new();
    for target in &targets {
        let (row, failure) = run_target(&fuzz_dir, target, args.seconds)?;
        rows.push(row);
        failures.extend(failure);
    }

    println!("\nFuzzing summary ({} s per target):", args.seconds);
    print!("{}", summary_table(&rows));
    if failures.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "{} of {} fuzz target(s) failed:\n  {}",
            failures.len(),
            targets.len(),
            failures.join("\n  ")
        ))
    }
}

/// Fuzzes one target. The outer `Err` is for problems of our own (I/O); a crash comes back as
/// the second element so that the remaining targets still run.
fn run_target(
    fuzz_dir: &Path,
    target: &str,
    seconds: u64,
) -> Result<(SummaryRow, Option<String>), String> {
    let corpus = fuzz_dir.join("corpus").join(target);
    fs::create_dir_all(&corpus)
        .map_err(|e| format!("cannot create corpus dir {}: {e}", corpus.display()))?;
    let seeds = fuzz_dir.join("seeds").join(target);
    if seeds.is_dir() {
        let copied = copy_missing(&seeds, &corpus)
            .map_err(|e| format!("cannot copy seeds from {}: {e}", seeds.display()))?;
        println!(
            "\n[{target}] {copied} new seed file(s) copied from {}",
            seeds.display()
        );
    }

    let fuzz_dir_arg = fuzz_dir.to_string_lossy().into_owned();
    let cmd = Cmd::cargo(["+nightly", "fuzz", "run", "--fuzz-dir", &fuzz_dir_arg])
        .args(["--sanitizer", SANITIZER])
        // Arithmetic overflow and debug_assert! are exactly the bugs a parser fuzzer should find.
        .args(["--debug-assertions", target])
        .args([corpus.to_string_lossy().into_owned()])
        .args([
            "--".to_owned(),
            format!("-max_total_time={seconds}"),
            format!("-timeout={PER_INPUT_TIMEOUT_SECS}"),
            "-print_final_stats=1".to_owned(),
        ])
        .dir(fuzz_dir);
    println!("\n==> [fuzz {target}] {}", cmd.display());
    let (status, stats) = run_and_watch(&cmd)?;

    let corpus_files = count_files(&corpus).ok();
    let (result, failure) = if status.success() {
        ("ok", None)
    } else if let Some(artifact) = &stats.artifact {
        (
            "CRASH",
            Some(format!(
                "{target}: crashed ({status}); input saved at {artifact}\n    \
                 reproduce: cargo +nightly fuzz run --sanitizer {SANITIZER} {target} {artifact}"
            )),
        )
    } else if stats.runs().is_some() {
        (
            "FAILED",
            Some(format!(
                "{target}: fuzzer exited with {status} without writing an artifact; see the output above"
            )),
        )
    } else {
        (
            "FAILED",
            Some(format!(
                "{target}: `cargo fuzz run` failed ({status}) before fuzzing started \
                 (build error or unknown target?); see the output above"
            )),
        )
    };
    println!("<== [fuzz {target}] {result}");
    let row = SummaryRow {
        target: target.to_owned(),
        result: result.to_owned(),
        stats,
        corpus_files,
    };
    Ok((row, failure))
}

/// Runs `cmd`, copying its stderr through line by line while feeding each line to the
/// libFuzzer parser (libFuzzer reports everything on stderr).
fn run_and_watch(cmd: &Cmd) -> Result<(std::process::ExitStatus, FuzzStats), String> {
    let mut child = cmd
        .to_command()
        .stdin(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("could not start `{}`: {e}", cmd.display()))?;
    let mut stats = FuzzStats::default();
    if let Some(stderr) = child.stderr.take() {
        let mut reader = BufReader::new(stderr);
        let mut line = Vec::new();
        let mut out = io::stderr().lock();
        loop {
            line.clear();
            match reader.read_until(b'\n', &mut line) {
                Ok(0) => break,
                Ok(_) => {
                    // A closed or full stderr of ours must not kill the fuzz run.
                    let _ = out.write_all(&line);
                    stats.observe(&String::from_utf8_lossy(&line));
                }
                Err(e) => return Err(format!("reading the fuzzer's output failed: {e}")),
            }
        }
    }
    let status = child
        .wait()
        .map_err(|e| format!("waiting for `{}` failed: {e}", cmd.display()))?;
    Ok((status, stats))
}

/// Target names become paths (`fuzz/corpus/<target>`), so keep them to what cargo-fuzz allows.
fn check_target_name(target: &str) -> Result<(), String> {
    let valid = !target.is_empty()
        && target
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if valid {
        Ok(())
    } else {
        Err(format!(
            "`{target}` is not a fuzz target name (letters, digits, `_` and `-` only)"
        ))
    }
}

/// Copies files from `src` into `dst` (recursively) that `dst` does not have yet, so a corpus
/// that the fuzzer has grown keeps its entries and seeds are not rewritten every run.
fn copy_missing(src: &Path, dst: &Path) -> io::Result<u64> {
    let mut copied = 0;
    for entry in fs::read_dir(src)? {
        let entry = entry?;
        let from = entry.path();
        let to: PathBuf = dst.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            fs::create_dir_all(&to)?;
            copied += copy_missing(&from, &to)?;
        } else if !to.exists() {
            fs::copy(&from, &to)?;
            copied += 1;
        }
    }
    Ok(copied)
}

/// Number of files under `dir`, recursively.
fn count_files(dir: &Path) -> io::Result<u64> {
    let mut count = 0;
    for entry in fs::read_dir(dir)? {
        let entry = entry?;
        if entry.file_type()?.is_dir() {
            count += count_files(&entry.path())?;
        } else {
            count += 1;
        }
    }
    Ok(count)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn target_names() {
        assert_eq!(check_target_name("mqtt_decode-v5"), Ok(()));
        assert!(check_target_name("").is_err());
        assert!(check_target_name("../etc").is_err());
        assert!(check_target_name("a b").is_err());
    }

    #[test]
    fn seeds_are_copied_once_and_counted() -> io::Result<()> {
        let base = std::env::temp_dir().join(format!("xtask-seed-test-{}", std::process::id()));
        let seeds = base.join("seeds");
        let corpus = base.join("corpus");
        fs::create_dir_all(seeds.join("nested"))?;
        fs::create_dir_all(&corpus)?;
        fs::write(seeds.join("connect"), b"\x10\x00")?;
        fs::write(seeds.join("nested").join("publish"), b"\x30\x00")?;
        fs::write(corpus.join("connect"), b"grown by the fuzzer")?;

        assert_eq!(copy_missing(&seeds, &corpus)?, 1);
        assert_eq!(copy_missing(&seeds, &corpus)?, 0);
        // The fuzzer's version of an entry is kept.
        assert_eq!(fs::read(corpus.join("connect"))?, b"grown by the fuzzer");
        assert_eq!(count_files(&corpus)?, 2);
        fs::remove_dir_all(&base)
    }
}
