//! What the end-to-end tests of the `tern` binary share: running it, and reading its output.

#![allow(dead_code, reason = "each test binary uses a different part")]

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use serde_json::Value;

/// How long a run may take before the test kills it and fails.
pub(crate) const RUN_LIMIT: Duration = Duration::from_secs(20);

/// `tern ARGS` with every standard stream piped, not started.
pub(crate) fn tern(args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_tern"));
    command
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    command
}

/// Runs `tern ARGS` to its end with `stdin`.
pub(crate) fn run(args: &[&str], stdin: &[u8]) -> Output {
    let mut child = tern(args).spawn().expect("run tern");
    child.stdin.take().unwrap().write_all(stdin).unwrap();
    wait(child)
}

/// Waits for `child`, killing it if it takes longer than [`RUN_LIMIT`] (so a hang fails the
/// test instead of stalling it).
pub(crate) fn wait(child: Child) -> Output {
    let id = child.id();
    let (done, finished) = mpsc::channel();
    let waiter = thread::spawn(move || {
        let output = child.wait_with_output();
        let _ = done.send(());
        output
    });
    if finished.recv_timeout(RUN_LIMIT).is_err() {
        let _ = Command::new("kill").args(["-9", &id.to_string()]).status();
        panic!("tern did not exit in time");
    }
    waiter.join().unwrap().unwrap()
}

/// The lines `child` writes on its standard error, as they come: a thread reads them (until
/// the pipe closes or the receiver is dropped), so the test can wait for one with a timeout.
pub(crate) fn stderr_lines(child: &mut Child) -> mpsc::Receiver<String> {
    let (tx, lines) = mpsc::channel();
    let stderr = BufReader::new(child.stderr.take().expect("stderr is piped"));
    thread::spawn(move || {
        for line in stderr.lines() {
            let Ok(line) = line else { return };
            if tx.send(line).is_err() {
                return;
            }
        }
    });
    lines
}

/// Standard output as text.
pub(crate) fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// Standard error as text.
pub(crate) fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Standard output as JSON lines.
pub(crate) fn json_lines(output: &Output) -> Vec<Value> {
    stdout(output)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

/// The single JSON line of a successful run of `tern ARGS`.
pub(crate) fn one_line(args: &[&str]) -> Value {
    let out = run(args, b"");
    assert!(out.status.success(), "{args:?}: {}", stderr(&out));
    let mut lines = json_lines(&out);
    assert_eq!(lines.len(), 1, "{lines:?}");
    lines.pop().unwrap()
}
