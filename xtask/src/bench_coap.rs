//! `cargo xtask bench coap-server [ARGS]`: requests per second of `tern coap serve` against
//! libcoap's `coap-server-notls`, in the same run (see tern-bench's `coap-server` binary for
//! the method).
//!
//! Both servers are built or installed first (tern-cli in release; libcoap3-bin with apt-get
//! when missing, as the CoAP interop suite does), started on free loopback ports without any
//! logging, and used once they answer a CoAP ping. They are killed when the benchmark ends,
//! whether it succeeded or not. Their output goes to `target/bench/coap-server/*.log`.

use std::fs::{self, File};
use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use crate::interop::coap::{install, peer};
use crate::interop::target_dir;
use crate::run::{self, Cmd, format_duration};

/// How long a server may take to bind and answer its first ping.
const READY_TIMEOUT: Duration = Duration::from_secs(10);

/// Attempts at starting libcoap: a port picked free can be taken before the server binds it.
const START_ATTEMPTS: usize = 3;

/// Builds `tern` and tern-bench's `bench_bin` in release; returns where a built binary is,
/// by name. Shared by the benchmarks that run `tern` against a peer.
pub(crate) fn build_tern_and(
    root: &Path,
    bench_bin: &str,
    what: &str,
) -> Result<impl Fn(&str) -> std::path::PathBuf, String> {
    let build = Cmd::cargo([
        "build",
        "--release",
        "-p",
        "tern-cli",
        "-p",
        "tern-bench",
        "--bin",
        "tern",
        "--bin",
        bench_bin,
    ])
    .dir(root);
    run::step(&format!("build tern and {what}"), &build)?;
    let release = target_dir(root).join("release");
    Ok(move |name: &str| release.join(format!("{name}{}", std::env::consts::EXE_SUFFIX)))
}

/// Runs the benchmark; `args` go to the bench binary.
pub(crate) fn run(root: &Path, args: &[String]) -> Result<(), String> {
    // Built first, so that compiling does not overlap the servers' lives.
    let exe = build_tern_and(root, "coap-server", "the CoAP server benchmark")?;
    let (coap_client, coap_server) = install::ensure_libcoap()?;
    println!("libcoap: {}", install::libcoap_version(&coap_client));

    let dir = target_dir(root).join("bench/coap-server");
    fs::create_dir_all(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let tern = Server::tern(&exe("tern"), &dir)?;
    let libcoap = Server::libcoap(&coap_server, &dir)?;

    let cmd = Cmd::new(
        &install::path_arg(&exe("coap-server")),
        [
            "--server".to_owned(),
            format!("tern={}", tern.addr),
            "--server".to_owned(),
            format!("libcoap={}", libcoap.addr),
            "--pid".to_owned(),
            format!("tern={}", tern.child.id()),
            "--pid".to_owned(),
            format!("libcoap={}", libcoap.child.id()),
        ],
    )
    .args(args.iter().cloned())
    .dir(root);
    let result = run::step("bench coap-server", &cmd).map(|_| ());
    // A server that died during the run explains a failure (or spoils a success).
    let mut servers = [tern, libcoap];
    let died: Vec<String> = servers.iter_mut().filter_map(Server::died).collect();
    drop(servers);
    match (result, died.is_empty()) {
        (Ok(()), true) => Ok(()),
        (result, _) => Err(died
            .into_iter()
            .chain(result.err())
            .collect::<Vec<_>>()
            .join("\n")),
    }
}

/// A server process, killed on drop.
struct Server {
    name: &'static str,
    child: Child,
    addr: SocketAddr,
    log: PathBuf,
}

impl Server {
    /// `tern coap serve --bind 127.0.0.1:0`, on the port its `listening on` line names.
    fn tern(tern: &Path, dir: &Path) -> Result<Server, String> {
        let log = dir.join("tern.log");
        let mut command = Command::new(tern);
        command.args(["coap", "serve", "--bind", "127.0.0.1:0"]);
        let mut child = spawn("tern", command, &log)?;
        let started = Instant::now();
        let addr = loop {
            let text = fs::read_to_string(&log).unwrap_or_default();
            if let Some(addr) = listening_on(&text) {
                break addr;
            }
            if let Some(failure) = exited(&mut child, &log) {
                return Err(format!("tern coap serve {failure}"));
            }
            if started.elapsed() > READY_TIMEOUT {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!(
                    "tern coap serve printed no `listening on ADDR` within {}; its output:\n{}",
                    format_duration(READY_TIMEOUT),
                    tail(&log)
                ));
            }
            thread::sleep(Duration::from_millis(10));
        };
        let mut server = Server {
            name: "tern",
            child,
            addr,
            log,
        };
        server.wait_ready()?;
        Ok(server)
    }

    /// `coap-server-notls -A 127.0.0.1 -p PORT` on a free port, as the interop suite starts it
    /// but without `-v` logging (and without `-d`: no resources are created).
    fn libcoap(program: &Path, dir: &Path) -> Result<Server, String> {
        let log = dir.join("libcoap.log");
        let mut last_error = String::new();
        for attempt in 1..=START_ATTEMPTS {
            let port = peer::free_port(Ipv4Addr::LOCALHOST.into())?;
            let mut command = Command::new(program);
            command.args(["-A", "127.0.0.1", "-p", &port.to_string()]);
            let child = spawn("libcoap", command, &log)?;
            let mut server = Server {
                name: "libcoap",
                child,
                addr: SocketAddr::from((Ipv4Addr::LOCALHOST, port)),
                log: log.clone(),
            };
            match server.wait_ready() {
                Ok(()) => return Ok(server),
                Err(e) => {
                    last_error = e;
                    // One that exits at once will do the same on another port.
                    if server.died().is_some() {
                        break;
                    }
                    if attempt < START_ATTEMPTS {
                        println!("{last_error}\nretrying on another port");
                    }
                }
            }
        }
        Err(last_error)
    }

    /// Waits until the server answers a CoAP ping.
    fn wait_ready(&mut self) -> Result<(), String> {
        let started = Instant::now();
        loop {
            if let Some(failure) = exited(&mut self.child, &self.log) {
                return Err(format!("{} {failure}", self.name));
            }
            if peer::ping(self.addr, Duration::from_millis(200)).is_ok() {
                println!(
                    "{} (pid {}) answers CoAP pings on {} (after {})",
                    self.name,
                    self.child.id(),
                    self.addr,
                    format_duration(started.elapsed())
                );
                return Ok(());
            }
            if started.elapsed() > READY_TIMEOUT {
                return Err(format!(
                    "{} answered no CoAP ping on {} within {}; its output:\n{}",
                    self.name,
                    self.addr,
                    format_duration(READY_TIMEOUT),
                    tail(&self.log)
                ));
            }
        }
    }

    /// Why the server is no longer running, if it is not.
    fn died(&mut self) -> Option<String> {
        exited(&mut self.child, &self.log).map(|failure| format!("{} {failure}", self.name))
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `command` with its output in `log` (truncated first) and no input.
pub(crate) fn spawn(name: &str, mut command: Command, log: &Path) -> Result<Child, String> {
    let out = File::create(log).map_err(|e| format!("cannot create {}: {e}", log.display()))?;
    let err = out
        .try_clone()
        .map_err(|e| format!("cannot share {}: {e}", log.display()))?;
    println!("starting {name}: {command:?} (output in {})", log.display());
    command
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err)
        .spawn()
        .map_err(|e| format!("could not start {name} ({command:?}): {e}"))
}

/// `exited (STATUS); its output: ...` once the child has exited.
pub(crate) fn exited(child: &mut Child, log: &Path) -> Option<String> {
    let status = child.try_wait().ok().flatten()?;
    Some(format!("exited ({status}); its output:\n{}", tail(log)))
}

/// The last lines of a log, indented.
pub(crate) fn tail(log: &Path) -> String {
    let text = fs::read_to_string(log).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    let start = lines.len().saturating_sub(20);
    if lines.is_empty() {
        "    (nothing)".to_owned()
    } else {
        lines[start..]
            .iter()
            .map(|l| format!("    | {l}"))
            .collect::<Vec<_>>()
            .join("\n")
    }
}

/// The address in tern's `listening on ADDR` line, once the whole line is there.
pub(crate) fn listening_on(text: &str) -> Option<SocketAddr> {
    let rest = &text[text.find("listening on ")? + "listening on ".len()..];
    let (line, _) = rest.split_once('\n')?;
    line.trim().parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_listening_line_gives_the_address() {
        assert_eq!(
            listening_on("listening on 127.0.0.1:40123\n"),
            Some(SocketAddr::from((Ipv4Addr::LOCALHOST, 40123)))
        );
        assert_eq!(
            listening_on("warming up\nlistening on [::1]:5683\n").map(|a| a.port()),
            Some(5683)
        );
        // Not yet a whole line: the port may still be arriving.
        assert_eq!(listening_on("listening on 127.0.0.1:401"), None);
        assert_eq!(listening_on(""), None);
    }
}
