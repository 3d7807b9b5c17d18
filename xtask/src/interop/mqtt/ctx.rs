//! What a scenario works with: the clients on each side, readiness, deadlines and the checks
//! that turn output into a verdict.

use std::path::Path;
use std::thread;
use std::time::{Duration, Instant};

use super::{BigPayload, Binaries, path_arg};
use crate::interop::broker::Broker;
use crate::interop::child::{Child, Output, POLL, Stream};
use crate::interop::json::Json;
use crate::run::{Cmd, format_duration};

/// How long a subscriber may take to be subscribed (and an example to print what it must).
pub(super) const READY: Duration = Duration::from_secs(10);

/// Any child still running after this long is killed and its scenario fails.
const CHILD_TIMEOUT: Duration = Duration::from_secs(20);

/// What `tern mqtt sub -d` prints once subscribed (the CLI spec).
const TERN_SUBACK: &str = "received SUBACK";

/// The MQTT version a client speaks; every scenario that can runs once for each.
#[derive(Debug, Clone, Copy)]
pub(super) enum Protocol {
    V311,
    V5,
}

impl Protocol {
    pub(super) const ALL: [Self; 2] = [Self::V311, Self::V5];

    pub(super) fn label(self) -> &'static str {
        match self {
            Self::V311 => "3.1.1",
            Self::V5 => "5.0",
        }
    }

    /// `-V` of the tool.
    pub(super) fn flag(self, tool: Tool) -> &'static str {
        match (tool, self) {
            (Tool::Tern, Self::V311) => "311",
            (Tool::Tern, Self::V5) => "5",
            (Tool::Mosquitto, Self::V311) => "mqttv311",
            (Tool::Mosquitto, Self::V5) => "mqttv5",
        }
    }
}

/// Whose client: the `tern` binary or mosquitto_pub/mosquitto_sub.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Tool {
    Tern,
    Mosquitto,
}

/// Publisher (`tern mqtt pub`, mosquitto_pub) or subscriber (`tern mqtt sub`, mosquitto_sub).
#[derive(Debug, Clone, Copy)]
pub(super) enum Role {
    Pub,
    Sub,
}

/// Which broker listener a client dials, and with which TLS files.
#[derive(Debug, Clone, Copy)]
pub(super) enum Listener {
    Plain,
    /// Server authentication: `--cafile`.
    Tls,
    /// Mutual TLS: `--cafile --cert --key`.
    ClientCert,
    /// The TLS listener, trusting only an unrelated CA: must be refused.
    TlsUntrustedCa,
    /// The client-certificate listener with `--cafile` only: must be refused.
    ClientCertMissing,
}

/// What a scenario has to work with.
pub(super) struct Ctx<'a> {
    pub(super) broker: &'a Broker,
    pub(super) bins: &'a Binaries,
    pub(super) big: &'a BigPayload,
    pub(super) run_id: &'a str,
    /// The scenario's number: makes its topics and client ids unique.
    pub(super) case: usize,
    /// The broker log's length when the scenario started: readiness checks look after it.
    pub(super) log_start: usize,
    /// Every command started, for the failure report.
    pub(super) steps: Vec<String>,
}

impl Ctx<'_> {
    pub(super) fn topic(&self, what: &str) -> String {
        format!("tern-interop/{}/{}/{what}", self.run_id, self.case)
    }

    /// Short enough for 3.1.1 servers that take only 23 characters.
    pub(super) fn id(&self, role: &str) -> String {
        format!("ti{}-{}{role}", self.run_id, self.case)
    }

    /// A client command up to the scenario's own flags: connection, protocol, TLS files, and `-d`
    /// for tern (its debug lines are how readiness is seen, and they explain failures).
    pub(super) fn client(
        &self,
        tool: Tool,
        role: Role,
        proto: Protocol,
        listener: Listener,
        id: &str,
    ) -> Result<Cmd, String> {
        let programs = self.broker.programs();
        let tern_command = |sub: &str| -> Result<Cmd, String> {
            Ok(Cmd::new(&path_arg(&self.bins.tern()?), ["mqtt", sub, "-d"]))
        };
        let cmd = match (tool, role) {
            (Tool::Tern, Role::Pub) => tern_command("pub")?,
            (Tool::Tern, Role::Sub) => tern_command("sub")?,
            (Tool::Mosquitto, Role::Pub) => Cmd::new(&path_arg(&programs.mosquitto_pub), [""; 0]),
            (Tool::Mosquitto, Role::Sub) => Cmd::new(&path_arg(&programs.mosquitto_sub), [""; 0]),
        };
        let tls = self
            .broker
            .tls()
            .ok_or("the broker was started without TLS listeners")?;
        let certs = &tls.certs;
        let (port, files): (u16, Vec<(&str, &Path)>) = match listener {
            Listener::Plain => (self.broker.port(), vec![]),
            Listener::Tls => (tls.port, vec![("--cafile", &certs.ca)]),
            Listener::TlsUntrustedCa => (tls.port, vec![("--cafile", &certs.untrusted_ca)]),
            Listener::ClientCertMissing => (tls.client_cert_port, vec![("--cafile", &certs.ca)]),
            Listener::ClientCert => (
                tls.client_cert_port,
                vec![
                    ("--cafile", &certs.ca),
                    ("--cert", &certs.client_cert),
                    ("--key", &certs.client_key),
                ],
            ),
        };
        let mut cmd = cmd.args([
            "-h",
            "127.0.0.1",
            "-p",
            &port.to_string(),
            "-V",
            proto.flag(tool),
            "-i",
            id,
        ]);
        for (flag, file) in files {
            cmd = cmd.args([flag.to_owned(), path_arg(file)]);
        }
        Ok(cmd)
    }

    pub(super) fn spawn(&mut self, cmd: &Cmd, stdin: Option<Vec<u8>>) -> Result<Child, String> {
        self.steps.push(cmd.display());
        Child::spawn(cmd, stdin)
    }

    /// Starts a subscriber and returns once the broker has its subscription.
    pub(super) fn subscriber(&mut self, tool: Tool, cmd: &Cmd, id: &str) -> Result<Child, String> {
        let mut child = self.spawn(cmd, None)?;
        match tool {
            Tool::Tern => child
                .wait_for(Stream::Stderr, TERN_SUBACK, READY)
                .map_err(|e| format!("tern mqtt sub: never subscribed: {e}"))?,
            Tool::Mosquitto => self
                .wait_for_log(Some(&mut child), &[&format!("Sending SUBACK to {id}\n")])
                .map_err(|e| format!("mosquitto_sub: never subscribed: {e}"))?,
        }
        Ok(child)
    }

    /// Waits until the broker logs one of `needles` during this scenario; fails early if
    /// `child` exits first.
    pub(super) fn wait_for_log(
        &self,
        mut child: Option<&mut Child>,
        needles: &[&str],
    ) -> Result<(), String> {
        let deadline = Instant::now() + READY;
        loop {
            let log = self.broker.log_since(self.log_start);
            if needles.iter().any(|n| log.contains(n)) {
                return Ok(());
            }
            let shown = needles
                .iter()
                .map(|n| format!("`{}`", n.trim_end()))
                .collect::<Vec<_>>();
            if let Some(child) = child.as_deref_mut() {
                if let Some(status) = child.poll_exit() {
                    return Err(format!(
                        "it exited ({status}) before the broker logged {}\n{}",
                        shown.join(" or "),
                        child.describe()
                    ));
                }
            }
            if Instant::now() >= deadline {
                let output = child.map(|c| c.describe()).unwrap_or_default();
                return Err(format!(
                    "the broker did not log {} within {}\n{output}",
                    shown.join(" or "),
                    format_duration(READY)
                ));
            }
            thread::sleep(POLL);
        }
    }

    /// Runs `cmd` to its end and requires exit code `code`; `what` names it in errors.
    pub(super) fn run(
        &mut self,
        what: &str,
        cmd: &Cmd,
        stdin: Option<Vec<u8>>,
        code: i32,
    ) -> Result<Output, String> {
        let mut child = self.spawn(cmd, stdin)?;
        finish(what, &mut child, code)
    }
}

/// Waits for a child started earlier and requires exit code `code`.
pub(super) fn finish(what: &str, child: &mut Child, code: i32) -> Result<Output, String> {
    let output = child
        .finish(CHILD_TIMEOUT)
        .map_err(|e| format!("{what}: {e}"))?;
    output
        .expect_code(code)
        .map_err(|e| format!("{what}: {e}"))?;
    Ok(output)
}

/// Exactly one line of stdout, parsed as JSON.
pub(super) fn check_one_json_line(stdout: &str) -> Result<Json, String> {
    let lines: Vec<&str> = stdout.lines().collect();
    match lines.as_slice() {
        [line] if stdout.ends_with('\n') => Json::parse(line)
            .map_err(|e| format!("--json printed a line that is not JSON ({e}): {line}")),
        _ => Err(format!(
            "expected one JSON line and a newline, got {} line(s): {stdout:?}",
            lines.len()
        )),
    }
}

pub(super) fn expect_field(json: &Json, key: &str, want: &Json) -> Result<(), String> {
    match json.get(key) {
        Some(got) if got == want => Ok(()),
        got => Err(format!(
            "--json field `{key}`: expected {want:?}, got {got:?} in {json:?}"
        )),
    }
}

/// Compares output bytes; the error names the first difference, with a short excerpt.
pub(super) fn same_bytes(what: &str, got: &[u8], want: &[u8]) -> Result<(), String> {
    if got == want {
        return Ok(());
    }
    let at = got
        .iter()
        .zip(want)
        .position(|(a, b)| a != b)
        .unwrap_or(got.len().min(want.len()));
    let excerpt = |bytes: &[u8]| {
        let start = at.saturating_sub(16).min(bytes.len());
        let end = (at + 48).min(bytes.len());
        format!("b\"{}\"", bytes[start..end].escape_ascii())
    };
    Err(format!(
        "{what}: {} bytes where {} were expected, first difference at byte {at}\n  \
         expected (from byte {}): {}\n  got      (from byte {}): {}",
        got.len(),
        want.len(),
        at.saturating_sub(16),
        excerpt(want),
        at.saturating_sub(16),
        excerpt(got)
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    pub(super) fn byte_comparison_names_the_first_difference() {
        assert!(same_bytes("x", b"abc\n", b"abc\n").is_ok());
        let err = same_bytes("x", b"abd\n", b"abc\n").expect_err("differs");
        assert!(err.contains("first difference at byte 2"), "{err}");
        let err = same_bytes("x", b"ab", b"abc\n").expect_err("shorter");
        assert!(err.contains("2 bytes where 4 were expected"), "{err}");
    }
}
