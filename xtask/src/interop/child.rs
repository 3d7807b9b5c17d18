//! Child processes of the interop scenarios: output captured in the background, every wait
//! bounded by a deadline, and a kill on drop, so that no client outlives its scenario and
//! nothing a client does (or fails to do) can hang CI.

use std::fmt::Write as _;
use std::io::{Read, Write};
use std::process::{Child as StdChild, ExitStatus, Stdio};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use crate::run::{Cmd, format_duration};

/// How often waits look at output and exit status: short next to the ~100 ms a scenario step
/// takes, long enough to cost no noticeable CPU.
pub(crate) const POLL: Duration = Duration::from_millis(10);

/// How much of each output stream a failure message shows.
const TAIL_BYTES: usize = 1500;

/// Which output stream to watch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Stream {
    Stdout,
    Stderr,
}

impl Stream {
    fn name(self) -> &'static str {
        match self {
            Self::Stdout => "stdout",
            Self::Stderr => "stderr",
        }
    }
}

/// A running child whose stdout and stderr are read by background threads.
///
/// Dropping it kills the process (SIGKILL) if it is still running.
pub(crate) struct Child {
    /// The command line as a user would retype it, for failure messages.
    line: String,
    child: StdChild,
    stdout: Capture,
    stderr: Capture,
    status: Option<ExitStatus>,
}

/// Everything a finished child left behind.
pub(crate) struct Output {
    pub(crate) status: ExitStatus,
    pub(crate) stdout: Vec<u8>,
    pub(crate) stderr: Vec<u8>,
    line: String,
}

/// One output stream, appended to by its reader thread.
struct Capture {
    buf: Arc<Mutex<Vec<u8>>>,
    reader: Option<JoinHandle<()>>,
}

impl Capture {
    fn start<R: Read + Send + 'static>(source: Option<R>) -> Self {
        let buf = Arc::new(Mutex::new(Vec::new()));
        let reader = source.map(|mut source| {
            let buf = Arc::clone(&buf);
            thread::spawn(move || {
                let mut chunk = [0u8; 64 * 1024];
                while let Ok(n @ 1..) = source.read(&mut chunk) {
                    lock(&buf).extend_from_slice(&chunk[..n]);
                }
            })
        });
        Self { buf, reader }
    }

    fn contains(&self, needle: &[u8]) -> bool {
        contains(&lock(&self.buf), needle)
    }

    fn snapshot(&self) -> Vec<u8> {
        lock(&self.buf).clone()
    }

    /// Waits (briefly) for the reader to reach end of file, so that a finished child's output is
    /// complete. A grandchild holding the pipe open must not hang us, hence the deadline.
    fn drain(&mut self) {
        let Some(reader) = self.reader.take() else {
            return;
        };
        let deadline = Instant::now() + Duration::from_secs(2);
        while !reader.is_finished() && Instant::now() < deadline {
            thread::sleep(POLL);
        }
        if reader.is_finished() {
            let _ = reader.join();
        }
    }
}

/// A poisoned lock only means a reader thread panicked; the bytes it appended are still good.
fn lock(buf: &Mutex<Vec<u8>>) -> std::sync::MutexGuard<'_, Vec<u8>> {
    buf.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Child {
    /// Starts `cmd` with piped stdout and stderr; `stdin` is written in the background and then
    /// closed (no stdin means `/dev/null`).
    pub(crate) fn spawn(cmd: &Cmd, stdin: Option<Vec<u8>>) -> Result<Self, String> {
        let line = cmd.display();
        let mut command = cmd.to_command();
        command
            .stdin(if stdin.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = command
            .spawn()
            .map_err(|e| format!("could not start `{line}`: {e}"))?;
        if let (Some(bytes), Some(mut pipe)) = (stdin, child.stdin.take()) {
            // A child that exits without reading everything breaks the pipe; its exit status
            // and output tell the story, so the write error adds nothing.
            thread::spawn(move || {
                let _ = pipe.write_all(&bytes);
            });
        }
        let stdout = Capture::start(child.stdout.take());
        let stderr = Capture::start(child.stderr.take());
        Ok(Self {
            line,
            child,
            stdout,
            stderr,
            status: None,
        })
    }

    /// The exit status if the child has exited.
    pub(crate) fn poll_exit(&mut self) -> Option<ExitStatus> {
        if self.status.is_none() {
            self.status = self.child.try_wait().ok().flatten();
        }
        self.status
    }

    /// Waits until `needle` appears on `stream`. Fails at once when the child exits first, and
    /// after `timeout` otherwise; both messages show what the child printed.
    pub(crate) fn wait_for(
        &mut self,
        stream: Stream,
        needle: &str,
        timeout: Duration,
    ) -> Result<(), String> {
        let deadline = Instant::now() + timeout;
        loop {
            if self.capture(stream).contains(needle.as_bytes()) {
                return Ok(());
            }
            if let Some(status) = self.poll_exit() {
                self.stdout.drain();
                self.stderr.drain();
                if self.capture(stream).contains(needle.as_bytes()) {
                    return Ok(());
                }
                return Err(format!(
                    "it exited ({status}) without printing `{}` on {}\n{}",
                    needle.escape_debug(),
                    stream.name(),
                    self.describe()
                ));
            }
            if Instant::now() >= deadline {
                return Err(format!(
                    "no `{}` on {} after {}\n{}",
                    needle.escape_debug(),
                    stream.name(),
                    format_duration(timeout),
                    self.describe()
                ));
            }
            thread::sleep(POLL);
        }
    }

    /// Waits for the child to exit, killing it after `timeout` (which is then an error).
    pub(crate) fn finish(&mut self, timeout: Duration) -> Result<Output, String> {
        let deadline = Instant::now() + timeout;
        while self.poll_exit().is_none() {
            if Instant::now() >= deadline {
                let output = self.kill();
                return Err(format!(
                    "it did not exit within {}, so it was killed\n{}",
                    format_duration(timeout),
                    output.describe()
                ));
            }
            thread::sleep(POLL);
        }
        Ok(self.output())
    }

    /// SIGKILL (no chance to say goodbye, which is the point for a Will), then the output.
    pub(crate) fn kill(&mut self) -> Output {
        if self.poll_exit().is_none() {
            // Fails only when the child already exited, and `wait` then reaps it all the same.
            let _ = self.child.kill();
            self.status = self.child.wait().ok();
        }
        self.output()
    }

    fn output(&mut self) -> Output {
        self.stdout.drain();
        self.stderr.drain();
        Output {
            status: self.status.unwrap_or_default(),
            stdout: self.stdout.snapshot(),
            stderr: self.stderr.snapshot(),
            line: self.line.clone(),
        }
    }

    /// What the child printed on `stream` so far.
    pub(crate) fn printed(&self, stream: Stream) -> Vec<u8> {
        self.capture(stream).snapshot()
    }

    fn capture(&self, stream: Stream) -> &Capture {
        match stream {
            Stream::Stdout => &self.stdout,
            Stream::Stderr => &self.stderr,
        }
    }

    /// The command line and what the child printed so far.
    pub(crate) fn describe(&self) -> String {
        describe(
            &self.line,
            None,
            &self.stdout.snapshot(),
            &self.stderr.snapshot(),
        )
    }
}

impl Drop for Child {
    fn drop(&mut self) {
        if self.poll_exit().is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

impl Output {
    /// The command line, the exit status and the tails of both streams.
    pub(crate) fn describe(&self) -> String {
        describe(&self.line, Some(self.status), &self.stdout, &self.stderr)
    }

    /// `Ok` when the exit code is `code`, else an error with everything printed.
    pub(crate) fn expect_code(&self, code: i32) -> Result<(), String> {
        if self.status.code() == Some(code) {
            Ok(())
        } else {
            Err(format!(
                "expected exit code {code}, got {}\n{}",
                self.status,
                self.describe()
            ))
        }
    }
}

fn describe(line: &str, status: Option<ExitStatus>, stdout: &[u8], stderr: &[u8]) -> String {
    let mut text = format!("    $ {line}\n");
    if let Some(status) = status {
        let _ = writeln!(text, "    exit: {status}");
    }
    for (name, bytes) in [("stdout", stdout), ("stderr", stderr)] {
        if bytes.is_empty() {
            let _ = writeln!(text, "    {name}: (empty)");
        } else {
            let _ = writeln!(text, "    {name} ({} bytes):", bytes.len());
            for line in printable_tail(bytes, TAIL_BYTES).lines() {
                let _ = writeln!(text, "      | {line}");
            }
        }
    }
    text
}

/// The last `max` bytes as text, control characters and invalid UTF-8 escaped, so that a binary
/// payload in a failure message cannot mangle the terminal.
pub(crate) fn printable_tail(bytes: &[u8], max: usize) -> String {
    let start = bytes.len().saturating_sub(max);
    let mut text = String::new();
    if start > 0 {
        let _ = writeln!(text, "[... {start} bytes before]");
    }
    for c in String::from_utf8_lossy(&bytes[start..]).chars() {
        if c.is_control() && c != '\n' && c != '\t' {
            text.extend(c.escape_debug());
        } else {
            text.push(c);
        }
    }
    text
}

/// Whether `needle` occurs in `haystack` (an empty needle always does).
pub(crate) fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    needle.is_empty() || haystack.windows(needle.len()).any(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn byte_search() {
        assert!(contains(b"Client x received SUBACK\n", b"received SUBACK"));
        assert!(!contains(b"received SUB", b"received SUBACK"));
        assert!(contains(b"", b""));
    }

    #[test]
    fn tails_are_printable() {
        assert_eq!(printable_tail(b"a\x07b\n", 100), "a\\u{7}b\n");
        assert_eq!(
            printable_tail(b"0123456789", 4),
            "[... 6 bytes before]\n6789"
        );
    }

    #[test]
    fn waits_finish_and_timeouts() {
        let mut child = Child::spawn(
            &Cmd::new(
                "sh",
                ["-c", "echo ready >&2; read line; echo \"got $line\""],
            ),
            Some(b"hi\n".to_vec()),
        )
        .expect("sh runs");
        child
            .wait_for(Stream::Stderr, "ready", Duration::from_secs(10))
            .expect("prints ready");
        let output = child.finish(Duration::from_secs(10)).expect("exits");
        assert_eq!(output.stdout, b"got hi\n");
        assert!(output.expect_code(0).is_ok());
        assert!(output.expect_code(1).is_err());

        let mut sleeper = Child::spawn(&Cmd::new("sleep", ["30"]), None).expect("sleep runs");
        let started = Instant::now();
        let err = sleeper
            .finish(Duration::from_millis(100))
            .err()
            .expect("times out");
        assert!(err.contains("killed"), "{err}");
        assert!(started.elapsed() < Duration::from_secs(5));

        let mut quitter =
            Child::spawn(&Cmd::new("true", Vec::<String>::new()), None).expect("true runs");
        let err = quitter
            .wait_for(Stream::Stdout, "never", Duration::from_secs(10))
            .expect_err("exits first");
        assert!(err.contains("exited"), "{err}");
    }
}
