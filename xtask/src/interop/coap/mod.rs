//! `cargo xtask interop coap`: the `tern coap` CLI (client and `serve`) against libcoap
//! (`coap-client-notls`, `coap-server-notls`) and aiocoap, over UDP on the loopback
//! interface.
//!
//! The servers are started on free ports when the first scenario needs them and live for the
//! whole run (a server that died is started again for the next scenario that needs it; the
//! scenario it died in fails):
//!
//! - `coap-server-notls -d 50`: libcoap's example server with its own resources (`/`, `/time`,
//!   `/async?N`, `/example_data`, and resources created by PUT or POST);
//! - `interop/coap/aiocoap_server.py`: the resources of `tern coap serve`'s contract
//!   (`/hello`, `/time`, `/large`, `/separate`, `/store`), served by aiocoap;
//! - `tern coap serve --bind 127.0.0.1:PORT -v`.
//!
//! A server is ready when it answers a CoAP ping. The checks of tern's server run first
//! against the aiocoap server, and the checks of tern's client first with libcoap's and
//! aiocoap's clients: those controls show that the harness, the peers and the scripts work,
//! so that a failure of the same check with tern is tern's.

mod client;
pub(crate) mod install;
pub(crate) mod peer;
mod scenarios;

use std::collections::HashMap;
use std::fs;
use std::io::Write as _;
use std::net::{IpAddr, Ipv4Addr};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use self::install::{Programs, path_arg};
use self::peer::{Peer, Server};
use self::scenarios::scenarios;
use super::child::{Child, Output};
use super::report::{Row, table};
use super::target_dir;
use crate::run::{Cmd, format_duration, step};

/// The size of `/large` on the aiocoap server: the spec's "4,000+ bytes", not a multiple of
/// any block size.
const LARGE_LEN: usize = 4900;

/// The Block1 upload: several KB of every byte value.
const UPLOAD_LEN: usize = 5000;

/// The whole run's time for scenarios, so that the suite stays under three minutes even when
/// every exchange with tern times out (a passing run takes about 70 s; the scenario running
/// when the budget ends may add up to half a minute). The scenarios left then fail: they are
/// not skipped.
const SUITE_BUDGET: Duration = Duration::from_secs(150);

/// Runs the scenarios whose names contain one of `filters` (all without filters).
pub(super) fn run(root: &Path, filters: &[String]) -> Result<(), String> {
    let all = scenarios();
    let selected = super::select(&all, |s| s.name.as_str(), filters)?;
    let started = Instant::now();

    let work = target_dir(root).join("interop").join("coap");
    // Client output files of the last run must not pass for this run's.
    let _ = fs::remove_dir_all(work.join("scratch"));
    fs::create_dir_all(work.join("scratch"))
        .map_err(|e| format!("cannot create {}: {e}", work.display()))?;
    let programs = install::ensure_installed(&work.join("venv"))
        .map_err(|e| format!("the CoAP peers could not be installed, so no scenario ran:\n{e}"))?;
    let tern = if selected.iter().any(|s| s.uses_tern) {
        Some(build_tern(root))
    } else {
        None
    };
    let env = Env {
        programs,
        tern,
        scripts: root.join("interop").join("coap"),
        large: write_file(&work.join("large.txt"), &large_body())?,
        upload: write_file(&work.join("upload.bin"), &upload_body())?,
        work,
    };
    println!(
        "\npeers: {}; {}",
        env.programs.libcoap_version, env.programs.aiocoap_version
    );
    println!("running {} CoAP interop scenario(s)\n", selected.len());

    let mut peers = Peers::default();
    let scenarios_from = Instant::now();
    let mut rows = Vec::new();
    let mut failures = Vec::new();
    for (index, scenario) in selected.iter().enumerate() {
        print!(
            "[{:>2}/{}] {} ... ",
            index + 1,
            selected.len(),
            scenario.name
        );
        let _ = std::io::stdout().flush();
        let took_from = Instant::now();
        let mut ctx = Ctx {
            env: &env,
            peers: &mut peers,
            case: index + 1,
            steps: Vec::new(),
            used: Vec::new(),
            locals: Vec::new(),
            scratch: 0,
        };
        let result = if scenarios_from.elapsed() > SUITE_BUDGET {
            Err(format!(
                "not run: the scenarios before it used up the suite's {} budget",
                format_duration(SUITE_BUDGET)
            ))
        } else {
            (scenario.run)(&mut ctx).and_then(|()| ctx.peers_survived())
        };
        let took = took_from.elapsed();
        match &result {
            Ok(()) => println!("ok ({})", format_duration(took)),
            Err(e) => {
                println!("FAIL ({})", format_duration(took));
                println!("    {}", e.replace('\n', "\n    "));
                ctx.print_diagnostics();
                println!();
                failures.push(scenario.name.clone());
            }
        }
        rows.push(Row {
            scenario: scenario.name.clone(),
            protocol: scenario.family.to_owned(),
            qos: scenario.mtype.to_owned(),
            passed: result.is_ok(),
            took,
        });
    }
    drop(peers);

    println!("\n{}", table(&rows));
    println!(
        "{} CoAP interop scenario(s) ran in {}: {} passed, {} failed",
        rows.len(),
        format_duration(started.elapsed()),
        rows.len() - failures.len(),
        failures.len()
    );
    println!(
        "peers: {}; {}",
        env.programs.libcoap_version, env.programs.aiocoap_version
    );
    if failures.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "{} of {} CoAP interop scenarios failed:\n  {}",
            failures.len(),
            rows.len(),
            failures.join("\n  ")
        ))
    }
}

/// What a scenario does; `Err` says what went wrong.
type Check = Box<dyn Fn(&mut Ctx<'_>) -> Result<(), String>>;

/// One row of the summary.
struct Scenario {
    name: String,
    /// `IPv4` or `IPv6`: the loopback address the exchange runs over.
    family: &'static str,
    /// `CON` or `NON`: how the requests are sent.
    mtype: &'static str,
    /// Needs the tern binary (as client or server).
    uses_tern: bool,
    run: Check,
}

/// What every scenario shares: the programs and the files.
struct Env {
    programs: Programs,
    /// `None` when no selected scenario needs tern; `Err` when its build failed.
    tern: Option<Result<PathBuf, String>>,
    /// `interop/coap/`: the aiocoap scripts.
    scripts: PathBuf,
    /// `/large` of the aiocoap server.
    large: File,
    /// The Block1 upload.
    upload: File,
    /// `<target>/interop/coap`.
    work: PathBuf,
}

/// A file the suite wrote, on disk for `-f` and in memory for comparing.
struct File {
    path: PathBuf,
    bytes: Vec<u8>,
}

impl Env {
    /// Starts a server of `kind` on a free port of `ip`.
    fn start(&self, kind: Server, ip: IpAddr) -> Result<Peer, String> {
        let ip_arg = ip.to_string();
        match kind {
            Server::Libcoap => Peer::start(kind, ip, |port| {
                // -d: PUT and POST may create up to 50 resources. -v 7 logs every message,
                // which is what a failure report shows; on stdout, which stdbuf keeps line
                // buffered so the report sees the latest lines.
                let server = path_arg(&self.programs.coap_server);
                let port = port.to_string();
                let args = [
                    "-A",
                    ip_arg.as_str(),
                    "-p",
                    port.as_str(),
                    "-d",
                    "50",
                    "-v",
                    "7",
                ];
                Ok(match install::find_program("stdbuf") {
                    Some(stdbuf) => {
                        Cmd::new(&path_arg(&stdbuf), ["-oL", server.as_str()]).args(args)
                    }
                    None => Cmd::new(&server, args),
                })
            }),
            Server::Aiocoap => Peer::start(kind, ip, |port| {
                Ok(Cmd::new(
                    &path_arg(&self.programs.python),
                    [path_arg(&self.scripts.join("aiocoap_server.py"))],
                )
                .args(["--bind", ip_arg.as_str(), "--port", &port.to_string()])
                .args(["--large".to_owned(), path_arg(&self.large.path)]))
            }),
            Server::Tern => {
                let tern = self.tern()?;
                Peer::start(kind, ip, |port| {
                    let bind = std::net::SocketAddr::new(ip, port).to_string();
                    Ok(Cmd::new(
                        &path_arg(&tern),
                        ["coap", "serve", "--bind", bind.as_str(), "-v"],
                    ))
                })
            }
        }
    }

    fn tern(&self) -> Result<PathBuf, String> {
        match &self.tern {
            Some(Ok(path)) => Ok(path.clone()),
            Some(Err(e)) => Err(e.clone()),
            None => Err("internal: tern was not built for this selection".to_owned()),
        }
    }
}

/// The servers started so far, each started again when found dead.
#[derive(Default)]
struct Peers(HashMap<Server, Result<Peer, String>>);

impl Peers {
    fn get(&mut self, env: &Env, kind: Server) -> Result<&mut Peer, String> {
        if let Some(Ok(peer)) = self.0.get_mut(&kind) {
            if let Some(status) = peer.exited() {
                println!("\n{} had exited ({status}); starting it again", kind.name());
                self.0.remove(&kind);
            }
        }
        let entry = self
            .0
            .entry(kind)
            .or_insert_with(|| env.start(kind, Ipv4Addr::LOCALHOST.into()));
        entry.as_mut().map_err(|e| e.clone())
    }
}

/// What a scenario works with.
struct Ctx<'a> {
    env: &'a Env,
    peers: &'a mut Peers,
    /// The scenario's number: makes its resource names unique.
    case: usize,
    /// Every command run, for the failure report.
    steps: Vec<String>,
    /// The shared servers the scenario used.
    used: Vec<Server>,
    /// Servers started for this scenario alone (on `::1`), stopped at its end.
    locals: Vec<Peer>,
    scratch: usize,
}

impl Ctx<'_> {
    /// `coap://ADDR/PATH` of the shared server `kind`, started if need be.
    fn uri(&mut self, kind: Server, path: &str) -> Result<String, String> {
        if !self.used.contains(&kind) {
            self.used.push(kind);
        }
        Ok(self.peers.get(self.env, kind)?.uri(path))
    }

    /// The shared server `kind`, started if need be.
    fn peer(&mut self, kind: Server) -> Result<&mut Peer, String> {
        if !self.used.contains(&kind) {
            self.used.push(kind);
        }
        self.peers.get(self.env, kind)
    }

    /// Starts a server of `kind` on `ip` for this scenario alone; returns `coap://ADDR/PATH`.
    fn local_uri(&mut self, kind: Server, ip: IpAddr, path: &str) -> Result<String, String> {
        let peer = self.env.start(kind, ip)?;
        self.steps
            .push(format!("({} started on {})", kind.name(), peer.addr));
        let uri = peer.uri(path);
        self.locals.push(peer);
        Ok(uri)
    }

    fn tern(&self) -> Result<PathBuf, String> {
        self.env.tern()
    }

    /// `python aiocoap_client.py`, up to its arguments.
    fn aiocoap_client(&self) -> Cmd {
        Cmd::new(
            &path_arg(&self.env.programs.python),
            [path_arg(&self.env.scripts.join("aiocoap_client.py"))],
        )
    }

    /// A fresh path for a client's output file.
    fn scratch_file(&mut self, name: &str) -> PathBuf {
        self.scratch += 1;
        let path = self
            .env
            .work
            .join("scratch")
            .join(format!("{}-{}-{name}", self.case, self.scratch));
        let _ = fs::remove_file(&path);
        path
    }

    /// Runs `cmd` to its end (killed after `timeout`), whatever its exit status.
    fn run_child(&mut self, cmd: &Cmd, timeout: Duration) -> Result<Output, String> {
        self.steps.push(cmd.display());
        Child::spawn(cmd, None)?.finish(timeout)
    }

    /// `Err` when a shared server the scenario used died during it.
    fn peers_survived(&mut self) -> Result<(), String> {
        for kind in self.used.clone() {
            if let Some(Ok(peer)) = self.peers.0.get_mut(&kind) {
                if let Some(status) = peer.exited() {
                    return Err(format!(
                        "{} died during the scenario ({status})\n{}",
                        kind.name(),
                        peer.describe()
                    ));
                }
            }
        }
        Ok(())
    }

    /// The commands in order, and what each server involved printed last.
    fn print_diagnostics(&self) {
        if self.steps.len() > 1 {
            println!("    commands, in order:");
            for line in &self.steps {
                println!("      $ {line}");
            }
        }
        let shared = self
            .used
            .iter()
            .filter_map(|kind| self.peers.0.get(kind)?.as_ref().ok());
        for peer in shared.chain(&self.locals) {
            println!(
                "    {} on {}, its output so far:",
                peer.kind.name(),
                peer.addr
            );
            println!("    {}", peer.describe().trim_end().replace('\n', "\n    "));
        }
    }
}

pub(crate) fn build_tern(root: &Path) -> Result<PathBuf, String> {
    step(
        "build tern-cli",
        &Cmd::cargo(["build", "-p", "tern-cli"]).dir(root),
    )
    .map_err(|e| format!("{e} (its output is above the scenarios)"))?;
    let path = target_dir(root)
        .join("debug")
        .join(format!("tern{}", std::env::consts::EXE_SUFFIX));
    if path.is_file() {
        Ok(path)
    } else {
        Err(format!(
            "{} does not exist after a successful build",
            path.display()
        ))
    }
}

fn write_file(path: &Path, bytes: &[u8]) -> Result<File, String> {
    fs::write(path, bytes).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    Ok(File {
        path: path.to_owned(),
        bytes: bytes.to_vec(),
    })
}

/// Numbered text lines, so that a misplaced block shows where it came from.
fn large_body() -> Vec<u8> {
    let mut text = String::new();
    let mut line = 0;
    while text.len() < LARGE_LEN {
        text.push_str(&format!(
            "{line:04} the quick brown fox jumps over the lazy dog\n"
        ));
        line += 1;
    }
    text.truncate(LARGE_LEN - 1);
    text.push('\n');
    text.into_bytes()
}

/// Pseudo-random bytes with every byte value, invalid UTF-8 too.
fn upload_body() -> Vec<u8> {
    super::pseudo_random_bytes(0x2545_F491_4F6C_DD1D, UPLOAD_LEN)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies() {
        let large = large_body();
        assert_eq!(large.len(), LARGE_LEN);
        assert!(large.starts_with(b"0000 the quick"));
        assert!(large.ends_with(b"\n") && std::str::from_utf8(&large).is_ok());
        let upload = upload_body();
        assert_eq!(upload.len(), UPLOAD_LEN);
        let mut seen = [false; 256];
        for &b in &upload {
            seen[usize::from(b)] = true;
        }
        assert!(seen.iter().all(|&s| s));
    }
}
