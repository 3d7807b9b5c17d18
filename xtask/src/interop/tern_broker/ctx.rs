//! What a scenario works with: mosquitto's clients and the paho script aimed at the broker
//! under test, readiness, deadlines, and the parsing of what the subscribers printed.
//!
//! A mosquitto_sub is started with `-d`, which puts its protocol trace on standard output, and
//! `-F 'MSG %r %q %t %x'`, which prints each message as one line that no trace line can look
//! like (hex payload, so binary payloads and newlines are safe). It is subscribed when it
//! prints `received SUBACK`: the same sign on any broker, so the controls on mosquitto and the
//! scenarios on tern wait the same way.

use std::path::{Path, PathBuf};
use std::time::Duration;

use super::server::Target;
use crate::interop::child::{Child, Output, Stream};
use crate::run::Cmd;

/// How long a client may take to connect and subscribe.
const READY: Duration = Duration::from_secs(10);

/// Any child still running after this long is killed and its scenario fails.
const CHILD_TIMEOUT: Duration = Duration::from_secs(25);

/// `-W` of subscribers that wait for a known number of messages: shorter than
/// `CHILD_TIMEOUT`, so a missing message shows mosquitto_sub's own timeout (exit 27).
pub(super) const SUB_WAIT: &str = "10";

/// mosquitto_sub's exit code when `-W` ran out.
pub(super) const TIMED_OUT: i32 = 27;

/// The line format of a received message (`%x`: the payload in hex).
const FORMAT: &str = "MSG %r %q %t %x";

/// The MQTT version a client speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
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

    /// `-V` of mosquitto's clients.
    fn mosquitto(self) -> &'static str {
        match self {
            Self::V311 => "mqttv311",
            Self::V5 => "mqttv5",
        }
    }

    /// `--proto` of the paho script.
    fn paho(self) -> &'static str {
        match self {
            Self::V311 => "3.1.1",
            Self::V5 => "5",
        }
    }
}

/// mosquitto_pub or mosquitto_sub.
#[derive(Debug, Clone, Copy)]
pub(super) enum Role {
    Pub,
    Sub,
}

/// Which listener a client dials, with which TLS files.
#[derive(Debug, Clone, Copy)]
pub(super) enum Listener {
    Plain,
    /// The TLS listener with `--cafile`.
    Tls,
    /// The TLS listener with `--cafile --cert --key`.
    TlsClientCert,
    /// The TLS listener, trusting only an unrelated CA.
    TlsUntrustedCa,
}

/// The programs and files every scenario may use.
pub(super) struct Env {
    pub(super) mosquitto_pub: PathBuf,
    pub(super) mosquitto_sub: PathBuf,
    /// The virtualenv's interpreter, with paho-mqtt importable.
    pub(super) python: PathBuf,
    pub(super) paho_script: PathBuf,
    /// The 1 MiB payload, on disk for `-f` and in memory for comparing.
    pub(super) big_path: PathBuf,
    pub(super) big: Vec<u8>,
}

/// One message as mosquitto_sub printed it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Msg {
    pub(super) retain: bool,
    pub(super) qos: u8,
    pub(super) topic: String,
    pub(super) payload: Vec<u8>,
}

impl Msg {
    /// For failure messages: `topic "payload" (qos, retain)`, long payloads cut.
    pub(super) fn show(&self) -> String {
        let text = String::from_utf8_lossy(&self.payload[..self.payload.len().min(40)]);
        format!(
            "{} {:?}{} (qos {}, retain {})",
            self.topic,
            text,
            if self.payload.len() > 40 {
                format!("... ({} bytes)", self.payload.len())
            } else {
                String::new()
            },
            self.qos,
            u8::from(self.retain)
        )
    }
}

/// What a scenario has to work with.
pub(super) struct Ctx<'a> {
    pub(super) env: &'a Env,
    pub(super) target: Target,
    pub(super) run_id: &'a str,
    /// The scenario's number: makes its topics and client ids unique.
    pub(super) case: usize,
    /// Every command started, for the failure report.
    pub(super) steps: Vec<String>,
}

impl Ctx<'_> {
    pub(super) fn topic(&self, what: &str) -> String {
        format!("ti/{}/{}/{what}", self.run_id, self.case)
    }

    /// Unique per run and scenario, short enough for any 3.1.1 broker (23 characters).
    pub(super) fn id(&self, role: &str) -> String {
        format!("ti{}-{}{role}", self.run_id, self.case)
    }

    /// mosquitto_pub or mosquitto_sub up to the scenario's own flags.
    pub(super) fn mosquitto(
        &self,
        role: Role,
        proto: Protocol,
        listener: Listener,
        id: &str,
    ) -> Result<Cmd, String> {
        let program = match role {
            Role::Pub => &self.env.mosquitto_pub,
            Role::Sub => &self.env.mosquitto_sub,
        };
        let port = match listener {
            Listener::Plain => self.target.port,
            _ => self.target.tls_port.ok_or_else(|| {
                format!("the {} broker has no TLS listener here", self.target.name)
            })?,
        };
        // mosquitto_sub's `-d` trace goes through stdio, block-buffered into a pipe: line
        // buffering (`stdbuf -oL`, which execs the program, so the pid stays the client's)
        // makes `received SUBACK` visible when it happens.
        let mut cmd = Cmd::new("stdbuf", ["-oL"])
            .args([path_arg(program)])
            .args(["-h", "127.0.0.1"])
            .args(["-p", &port.to_string(), "-V", proto.mosquitto(), "-i", id]);
        if !matches!(listener, Listener::Plain) {
            let certs = self
                .target
                .certs
                .as_ref()
                .ok_or("the broker has a TLS listener but no certificates")?;
            let ca = match listener {
                Listener::TlsUntrustedCa => &certs.untrusted_ca,
                _ => &certs.ca,
            };
            cmd = cmd.args(["--cafile".to_owned(), path_arg(ca)]);
            if matches!(listener, Listener::TlsClientCert) {
                cmd = cmd.args([
                    "--cert".to_owned(),
                    path_arg(&certs.client_cert),
                    "--key".to_owned(),
                    path_arg(&certs.client_key),
                ]);
            }
        }
        Ok(cmd)
    }

    /// A mosquitto_sub on the plain listener, subscribed to `topics` at `qos`.
    pub(super) fn sub_cmd(
        &self,
        proto: Protocol,
        id: &str,
        topics: &[&str],
        qos: u8,
    ) -> Result<Cmd, String> {
        self.sub_cmd_on(proto, Listener::Plain, id, topics, qos)
    }

    pub(super) fn sub_cmd_on(
        &self,
        proto: Protocol,
        listener: Listener,
        id: &str,
        topics: &[&str],
        qos: u8,
    ) -> Result<Cmd, String> {
        let mut cmd = self.mosquitto(Role::Sub, proto, listener, id)?.args([
            "-d",
            "-F",
            FORMAT,
            "-q",
            &qos.to_string(),
        ]);
        for topic in topics {
            cmd = cmd.args(["-t", topic]);
        }
        Ok(cmd)
    }

    /// Starts `cmd` (from `sub_cmd`) and returns once it has its SUBACK.
    pub(super) fn subscriber(&mut self, cmd: &Cmd) -> Result<Child, String> {
        let mut child = self.spawn(cmd, None)?;
        child
            .wait_for(Stream::Stdout, "received SUBACK", READY)
            .map_err(|e| format!("mosquitto_sub never subscribed: {e}"))?;
        Ok(child)
    }

    /// mosquitto_pub on the plain listener, one message, required to succeed.
    pub(super) fn publish(
        &mut self,
        proto: Protocol,
        topic: &str,
        qos: u8,
        flags: &[&str],
    ) -> Result<Output, String> {
        let n = self.steps.len();
        let cmd = self
            .mosquitto(
                Role::Pub,
                proto,
                Listener::Plain,
                &self.id(&format!("p{n}")),
            )?
            .args(["-t", topic, "-q", &qos.to_string()])
            .args(flags.iter().copied());
        self.run("mosquitto_pub", &cmd, None, Some(0))
    }

    pub(super) fn spawn(&mut self, cmd: &Cmd, stdin: Option<Vec<u8>>) -> Result<Child, String> {
        self.steps.push(cmd.display());
        Child::spawn(cmd, stdin)
    }

    /// Runs `cmd` to its end; with `Some(code)`, requires that exit code.
    pub(super) fn run(
        &mut self,
        what: &str,
        cmd: &Cmd,
        stdin: Option<Vec<u8>>,
        code: Option<i32>,
    ) -> Result<Output, String> {
        let mut child = self.spawn(cmd, stdin)?;
        finish(what, &mut child, code)
    }

    /// Runs one check of the paho script (`interop/broker/paho_check.py`); it judges for itself.
    pub(super) fn paho(&mut self, check: &str, proto: Protocol, qos: u8) -> Result<(), String> {
        self.paho_with(check, proto, qos, &[])
    }

    /// `paho` with more flags for the script.
    pub(super) fn paho_with(
        &mut self,
        check: &str,
        proto: Protocol,
        qos: u8,
        flags: &[&str],
    ) -> Result<(), String> {
        let cmd = Cmd::new(
            &path_arg(&self.env.python),
            [path_arg(&self.env.paho_script), check.to_owned()],
        )
        .args([
            "--port",
            &self.target.port.to_string(),
            "--proto",
            proto.paho(),
            "--qos",
            &qos.to_string(),
            "--prefix",
            &self.topic("paho"),
        ])
        .args(flags.iter().copied());
        let output = self.run(&format!("paho_check.py {check}"), &cmd, None, None)?;
        if output.status.success() {
            Ok(())
        } else {
            Err(format!(
                "paho-mqtt against {}: {}\n{}",
                self.target.name,
                String::from_utf8_lossy(&output.stdout).trim(),
                output.describe()
            ))
        }
    }
}

/// Waits for a child started earlier; with `Some(code)`, requires that exit code.
pub(super) fn finish(what: &str, child: &mut Child, code: Option<i32>) -> Result<Output, String> {
    let output = child
        .finish(CHILD_TIMEOUT)
        .map_err(|e| format!("{what}: {e}"))?;
    if let Some(code) = code {
        output
            .expect_code(code)
            .map_err(|e| format!("{what}: {e}"))?;
    }
    Ok(output)
}

/// The messages among mosquitto_sub's `-d` trace, in the order printed.
pub(super) fn messages(output: &Output) -> Result<Vec<Msg>, String> {
    parse_messages(&output.stdout).map_err(|e| format!("{e}\n{}", output.describe()))
}

fn parse_messages(stdout: &[u8]) -> Result<Vec<Msg>, String> {
    let text = String::from_utf8_lossy(stdout);
    let mut list = Vec::new();
    for line in text.lines() {
        let Some(rest) = line.strip_prefix("MSG ") else {
            continue;
        };
        let fields: Vec<&str> = rest.splitn(4, ' ').collect();
        let [retain, qos, topic, hex] = fields[..] else {
            return Err(format!("a message line with too few fields: {line:?}"));
        };
        let payload = unhex(hex).ok_or_else(|| format!("not hex in {line:?}"))?;
        list.push(Msg {
            retain: retain == "1",
            qos: qos.parse().map_err(|_| format!("not a QoS in {line:?}"))?,
            topic: topic.to_owned(),
            payload,
        });
    }
    Ok(list)
}

fn unhex(hex: &str) -> Option<Vec<u8>> {
    if hex.len() % 2 != 0 {
        return None;
    }
    (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(hex.get(i..i + 2)?, 16).ok())
        .collect()
}

/// Requires exactly `want` (topic, payload, retain) in this order.
pub(super) fn expect_messages(
    what: &str,
    got: &[Msg],
    want: &[(&str, &[u8], bool)],
) -> Result<(), String> {
    let same = got.len() == want.len()
        && got
            .iter()
            .zip(want)
            .all(|(g, (t, p, r))| g.topic == *t && g.payload == *p && g.retain == *r);
    if same {
        return Ok(());
    }
    // Long lists (the 1,000-message streams) are shown around the first difference.
    let first = got
        .iter()
        .zip(want)
        .position(|(g, (t, p, r))| g.topic != *t || g.payload != *p || g.retain != *r)
        .unwrap_or(got.len().min(want.len()));
    let from = first.saturating_sub(3);
    let show_want: Vec<String> = want
        .iter()
        .skip(from)
        .take(8)
        .map(|(t, p, r)| {
            format!(
                "{t} {:?} (retain {})",
                String::from_utf8_lossy(p),
                u8::from(*r)
            )
        })
        .collect();
    let show_got: Vec<String> = got.iter().skip(from).take(8).map(Msg::show).collect();
    let window = if want.len() > 8 || got.len() > 8 {
        format!(
            " ({} expected, {} received; first difference at message {first}, shown from              message {from})",
            want.len(),
            got.len()
        )
    } else {
        String::new()
    };
    Err(format!(
        "{what}{window}: expected, in order:\n      {}\n    got:\n      {}",
        show_want.join("\n      "),
        if show_got.is_empty() {
            "(nothing)".to_owned()
        } else {
            show_got.join("\n      ")
        }
    ))
}

pub(super) fn path_arg(path: &Path) -> String {
    path.to_string_lossy().into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_lines_among_the_trace() {
        let stdout = b"Client x received SUBACK\nSubscribed (mid: 1): 1\n\
            MSG 1 1 a/b 6869\nClient x sending PUBACK (m1, rc0)\nMSG 0 0 a/b \n";
        let got = parse_messages(stdout).unwrap();
        assert_eq!(got.len(), 2);
        assert_eq!(got[0].payload, b"hi");
        assert!(got[0].retain);
        assert_eq!((got[1].qos, got[1].topic.as_str()), (0, "a/b"));
        assert!(got[1].payload.is_empty());
        assert!(parse_messages(b"MSG 1 1 t zz\n").is_err());
    }

    #[test]
    fn long_lists_are_shown_around_the_first_difference() {
        let msg = |n: usize| Msg {
            retain: false,
            qos: 1,
            topic: "t".to_owned(),
            payload: format!("m{n}").into_bytes(),
        };
        let payloads: Vec<String> = (0..100).map(|n| format!("m{n}")).collect();
        let want: Vec<(&str, &[u8], bool)> = payloads
            .iter()
            .map(|p| ("t", p.as_bytes(), false))
            .collect();
        let mut got: Vec<Msg> = (0..100).map(msg).collect();
        assert!(expect_messages("s", &got, &want).is_ok());
        got.remove(50);
        let err = expect_messages("s", &got, &want).unwrap_err();
        assert!(err.contains("first difference at message 50"), "{err}");
        assert!(!err.contains("\"m10\""), "{err}");
    }
}
