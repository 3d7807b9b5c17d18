//! Running child processes: print the command line, time it, turn failures into messages.

use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// A command line plus the environment and directory it runs with.
///
/// Kept as plain strings (not a `std::process::Command`) so it can be printed exactly as a
/// user would retype it.
#[derive(Debug, Clone)]
pub(crate) struct Cmd {
    program: String,
    args: Vec<String>,
    env: Vec<(String, String)>,
    dir: Option<PathBuf>,
}

impl Cmd {
    /// `program` with `args`, in the current directory.
    pub(crate) fn new<I, S>(program: &str, args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Self {
            program: program.to_owned(),
            args: args.into_iter().map(Into::into).collect(),
            env: Vec::new(),
            dir: None,
        }
    }

    /// `cargo` with `args`. Always the `cargo` on `PATH` (the rustup proxy), never `$CARGO`:
    /// `cargo run` sets `$CARGO` to the stable toolchain's own binary, which does not understand
    /// `+nightly`.
    pub(crate) fn cargo<I, S>(args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Self::new("cargo", args)
    }

    /// Adds arguments.
    pub(crate) fn args<I, S>(mut self, args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.args.extend(args.into_iter().map(Into::into));
        self
    }

    /// Sets an environment variable for the child.
    pub(crate) fn env(mut self, key: &str, value: &str) -> Self {
        self.env.push((key.to_owned(), value.to_owned()));
        self
    }

    /// Runs the child in `dir`.
    pub(crate) fn dir(mut self, dir: &Path) -> Self {
        self.dir = Some(dir.to_owned());
        self
    }

    /// The command as a shell line, e.g. `RUSTDOCFLAGS='-D warnings' cargo doc --workspace`.
    pub(crate) fn display(&self) -> String {
        let mut parts: Vec<String> = self
            .env
            .iter()
            .map(|(k, v)| format!("{k}={}", shell_quote(v)))
            .collect();
        parts.push(shell_quote(&self.program));
        parts.extend(self.args.iter().map(|a| shell_quote(a)));
        let line = parts.join(" ");
        // The directory only matters to the reader when it is not where they already are.
        match &self.dir {
            Some(dir) if std::env::current_dir().ok().as_ref() != Some(dir) => {
                format!("(cd {} && {line})", shell_quote(&dir.to_string_lossy()))
            }
            _ => line,
        }
    }

    /// A `std::process::Command` for this line; stdio is inherited unless the caller changes it.
    pub(crate) fn to_command(&self) -> Command {
        let mut command = Command::new(&self.program);
        command.args(&self.args);
        for (k, v) in &self.env {
            command.env(k, v);
        }
        if let Some(dir) = &self.dir {
            command.current_dir(dir);
        }
        command
    }

    /// Runs with inherited stdio and returns the exit status; spawn failures become messages.
    pub(crate) fn status(&self) -> Result<ExitStatus, String> {
        self.to_command()
            .status()
            .map_err(|e| spawn_error(&self.program, &e))
    }

    /// Runs with all output discarded; `true` when it exits successfully. For probes such as
    /// `cargo deny --version`.
    pub(crate) fn succeeds_quietly(&self) -> bool {
        self.to_command()
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    }

    /// Runs with stderr discarded and returns stdout when the command succeeds. For probes such
    /// as `cargo deny --version`, where failure just means "not installed".
    pub(crate) fn probe_stdout(&self) -> Option<String> {
        let output = self
            .to_command()
            .stdin(Stdio::null())
            .stderr(Stdio::null())
            .output()
            .ok()?;
        if output.status.success() {
            String::from_utf8(output.stdout).ok()
        } else {
            None
        }
    }

    /// Runs and returns stdout as text; stderr is passed through so build errors stay visible.
    pub(crate) fn stdout(&self) -> Result<String, String> {
        let output = self
            .to_command()
            .stdin(Stdio::null())
            .stderr(Stdio::inherit())
            .output()
            .map_err(|e| spawn_error(&self.program, &e))?;
        if !output.status.success() {
            return Err(format!("`{}` failed ({})", self.display(), output.status));
        }
        String::from_utf8(output.stdout)
            .map_err(|_| format!("`{}` printed output that is not UTF-8", self.display()))
    }
}

/// Whether `tool --version` output such as `cargo-deny 0.20.2` is release series `series`
/// (`"0.20"`): same major and minor, any patch.
pub(crate) fn is_version_series(version_output: &str, series: &str) -> bool {
    version_output
        .split_whitespace()
        .nth(1)
        .is_some_and(|v| v == series || v.strip_prefix(series).is_some_and(|r| r.starts_with('.')))
}

/// Makes sure `cargo <subcommand>` is the `series` release of `package`, installing it with
/// `cargo install --locked` otherwise. `toolchain` is `+nightly` for tools that only run there.
pub(crate) fn ensure_cargo_tool(
    toolchain: Option<&str>,
    subcommand: &str,
    package: &str,
    series: &str,
) -> Result<(), String> {
    let probe = Cmd::cargo(toolchain.into_iter().chain([subcommand, "--version"]));
    match probe.probe_stdout() {
        Some(out) if is_version_series(&out, series) => Ok(()),
        found => {
            let found = found.map_or_else(|| "not installed".to_owned(), |o| o.trim().to_owned());
            println!("\n{package} {series}.x is needed ({found}); installing it");
            step(
                &format!("install {package}"),
                &Cmd::cargo(["install", "--locked", package, "--version"])
                    .args([format!("~{series}")]),
            )
            .map(|_| ())
        }
    }
}

fn spawn_error(program: &str, error: &std::io::Error) -> String {
    format!("could not start `{program}`: {error} (is it installed and on PATH?)")
}

/// Runs `cmd` as the named step: prints the line before and the duration after.
/// A non-zero exit becomes an error naming the step and the command.
pub(crate) fn step(name: &str, cmd: &Cmd) -> Result<Duration, String> {
    println!("\n==> [{name}] {}", cmd.display());
    let start = Instant::now();
    let status = cmd.status();
    let elapsed = start.elapsed();
    match status {
        Ok(status) if status.success() => {
            println!("<== [{name}] ok in {}", format_duration(elapsed));
            Ok(elapsed)
        }
        Ok(status) => {
            println!("<== [{name}] FAILED after {}", format_duration(elapsed));
            Err(format!(
                "step `{name}` failed: `{}` exited with {status}",
                cmd.display()
            ))
        }
        Err(e) => Err(format!("step `{name}` failed: {e}")),
    }
}

/// `1.2s`, `75.0s (1m15s)`: seconds with one decimal, plus minutes once that is easier to read.
pub(crate) fn format_duration(d: Duration) -> String {
    let secs = d.as_secs_f64();
    let whole = d.as_secs();
    if whole >= 60 {
        format!("{secs:.1}s ({}m{:02}s)", whole / 60, whole % 60)
    } else {
        format!("{secs:.1}s")
    }
}

/// Quotes for a POSIX shell only when needed, so the printed lines stay readable.
fn shell_quote(s: &str) -> String {
    let plain = !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./=:+,@%".contains(c));
    if plain {
        s.to_owned()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_quotes_only_what_needs_it() {
        let cmd =
            Cmd::cargo(["doc", "--workspace", "--no-deps"]).env("RUSTDOCFLAGS", "-D warnings");
        assert_eq!(
            cmd.display(),
            "RUSTDOCFLAGS='-D warnings' cargo doc --workspace --no-deps"
        );
        let cmd = Cmd::cargo(["+nightly", "fuzz", "run", "t", "--", "-max_total_time=20"])
            .dir(Path::new("/repo/fuzz"));
        assert_eq!(
            cmd.display(),
            "(cd /repo/fuzz && cargo +nightly fuzz run t -- -max_total_time=20)"
        );
        assert_eq!(shell_quote("it's"), r"'it'\''s'");
        assert_eq!(shell_quote(""), "''");
    }

    #[test]
    fn version_series() {
        assert!(is_version_series("cargo-deny 0.20.2\n", "0.20"));
        assert!(is_version_series("cargo-fuzz 0.13.2", "0.13"));
        assert!(is_version_series("cargo-fuzz 0.13", "0.13"));
        assert!(!is_version_series("cargo-deny 0.2.1", "0.20"));
        assert!(!is_version_series("cargo-deny 0.201.0", "0.20"));
        assert!(!is_version_series("cargo-deny 0.18.9", "0.20"));
        assert!(!is_version_series("", "0.20"));
    }

    #[test]
    fn durations() {
        assert_eq!(format_duration(Duration::from_millis(1234)), "1.2s");
        assert_eq!(format_duration(Duration::from_secs(75)), "75.0s (1m15s)");
    }
}
