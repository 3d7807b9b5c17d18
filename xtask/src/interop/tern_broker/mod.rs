//! `cargo xtask interop broker`: `tern broker` with real clients on 127.0.0.1 —
//! mosquitto_pub / mosquitto_sub (Debian's mosquitto-clients) and paho-mqtt (Python, pinned,
//! in a virtualenv under the target directory; the script is `interop/broker/paho_check.py`).
//!
//! Scenarios come in groups, each with a broker of its own started when the group begins and
//! stopped when it ends (`server.rs`): the controls on mosquitto, then `tern broker` with a
//! generated `tern.toml` for plain scenarios, for TLS, for TLS with client certificates, and
//! for the password file and ACL. The controls run the same peers and the same checks against
//! mosquitto first: when they fail, the harness is broken, not tern.
//!
//! A broker that cannot be started fails every scenario of its group, and a broker that dies
//! fails the scenario it died in (the next one starts it again): nothing is skipped.

mod ctx;
mod scenarios;
mod server;

use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::time::Instant;

use self::ctx::{Ctx, Env};
use self::scenarios::scenarios;
use self::server::{Server, Setup};
use super::report::{Row, print_failure, table};
use super::{certs, target_dir};
use crate::run::{Cmd, format_duration, step};

/// The paho-mqtt release the script is written against (its 2.x callback API).
const PAHO_VERSION: &str = "2.1.0";

/// The large payload: 1 MiB crosses every buffer size a broker is likely to have.
const BIG_PAYLOAD_LEN: usize = 1 << 20;

/// Which broker a scenario runs against; the suite runs the groups in this order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Group {
    /// mosquitto, for the controls.
    Mosquitto,
    /// tern, plain TCP, anonymous.
    Plain,
    /// tern with a TLS listener (server certificate only).
    Tls,
    /// tern with a TLS listener that requires a client certificate (`client_ca`).
    ClientCert,
    /// tern with a password file, an ACL and no anonymous access.
    Auth,
}

impl Group {
    fn dir_name(self) -> &'static str {
        match self {
            Self::Mosquitto => "mosquitto",
            Self::Plain => "tern-plain",
            Self::Tls => "tern-tls",
            Self::ClientCert => "tern-client-cert",
            Self::Auth => "tern-auth",
        }
    }

    fn tls(self) -> bool {
        matches!(self, Self::Tls | Self::ClientCert)
    }
}

/// What a scenario does; `Err` says what went wrong.
type Check = Box<dyn Fn(&mut Ctx<'_>) -> Result<(), String>>;

/// One row of the summary.
struct Scenario {
    name: String,
    protocol: String,
    qos: String,
    group: Group,
    run: Check,
}

/// Runs the scenarios whose names contain one of `filters` (all without filters).
pub(super) fn run(root: &Path, filters: &[String]) -> Result<(), String> {
    let all = scenarios();
    let selected = super::select(&all, |s| s.name.as_str(), filters)?;
    let started = Instant::now();

    let work = target_dir(root).join("interop").join("broker");
    fs::create_dir_all(&work).map_err(|e| format!("cannot create {}: {e}", work.display()))?;
    let tern = super::coap::build_tern(root)
        .map_err(|e| format!("tern could not be built, so no scenario ran: {e}"))?;
    let programs = super::broker::ensure_installed()
        .map_err(|e| format!("mosquitto's clients could not be installed: {e}"))?;
    let python = ensure_paho(&work.join("venv"))
        .map_err(|e| format!("paho-mqtt could not be installed, so no scenario ran:\n{e}"))?;
    let certs = certs::generate(&programs.openssl, &work.join("tls"))?;
    let big = big_payload();
    let big_path = work.join("payload-1MiB.bin");
    fs::write(&big_path, &big).map_err(|e| format!("cannot write {}: {e}", big_path.display()))?;
    let env = Env {
        mosquitto_pub: programs.mosquitto_pub.clone(),
        mosquitto_sub: programs.mosquitto_sub.clone(),
        python,
        paho_script: root.join("interop").join("broker").join("paho_check.py"),
        big_path,
        big,
    };
    let setup = Setup {
        tern: &tern,
        dir: &work,
        certs: &certs,
    };
    let versions = versions(&env, &programs.mosquitto);
    println!("\npeers: {versions}");
    println!("running {} broker interop scenario(s)\n", selected.len());

    let run_id = std::process::id().to_string();
    let mut current: Option<(Group, Result<Server, String>)> = None;
    let mut rows = Vec::new();
    let mut failures = Vec::new();
    for (index, scenario) in selected.iter().enumerate() {
        // One broker at a time: the previous group's is stopped before the next one starts.
        let dead = match &mut current {
            Some((group, Ok(server))) if *group == scenario.group => server.gone(),
            _ => None,
        };
        if dead.is_some() || current.as_ref().is_none_or(|(g, _)| *g != scenario.group) {
            drop(current.take());
            let server = server::start(scenario.group, &setup);
            if let Err(e) = &server {
                println!(
                    "the broker for {} could not be started:\n{e}",
                    scenario.group.dir_name()
                );
            }
            current = Some((scenario.group, server));
        }
        let label = format!(
            "{} [{}, qos {}]",
            scenario.name, scenario.protocol, scenario.qos
        );
        print!("[{:>2}/{}] {label} ... ", index + 1, selected.len());
        let _ = std::io::stdout().flush();
        let took_from = Instant::now();
        let Some((_, server)) = &mut current else {
            unreachable!("a server was just set");
        };
        let (result, steps, log_start) = match server {
            Err(e) => (
                Err(format!("the broker could not be started: {e}")),
                Vec::new(),
                0,
            ),
            Ok(server) => {
                let log_start = server.log().len();
                let mut ctx = Ctx {
                    env: &env,
                    target: server.target(),
                    run_id: &run_id,
                    case: index + 1,
                    steps: Vec::new(),
                };
                let result = (scenario.run)(&mut ctx).and_then(|()| match server.gone() {
                    Some(why) => Err(format!("the broker died during the scenario: {why}")),
                    None => Ok(()),
                });
                (result, ctx.steps, log_start)
            }
        };
        let took = took_from.elapsed();
        match &result {
            Ok(()) => println!("ok ({})", format_duration(took)),
            Err(e) => {
                println!("FAIL ({})", format_duration(took));
                let log = match &current {
                    Some((_, Ok(server))) => {
                        server.log().get(log_start..).unwrap_or_default().to_owned()
                    }
                    _ => String::new(),
                };
                print_failure(e, &steps, &log);
                failures.push(label);
            }
        }
        rows.push(Row {
            scenario: scenario.name.clone(),
            protocol: scenario.protocol.clone(),
            qos: scenario.qos.clone(),
            passed: result.is_ok(),
            took,
        });
    }
    drop(current);

    println!("\n{}", table(&rows));
    println!(
        "{} broker interop scenario(s) ran in {}: {} passed, {} failed",
        rows.len(),
        format_duration(started.elapsed()),
        rows.len() - failures.len(),
        failures.len()
    );
    println!("peers: {versions}");
    if failures.is_empty() {
        return Ok(());
    }
    Err(format!(
        "{} of {} broker interop scenarios failed:\n  {}",
        failures.len(),
        rows.len(),
        failures.join("\n  ")
    ))
}

/// The virtualenv's python once `import paho.mqtt` gives the pinned version; creates the
/// virtualenv and pip-installs paho-mqtt when that is not so already.
fn ensure_paho(venv: &Path) -> Result<PathBuf, String> {
    let python = venv
        .join("bin")
        .join(format!("python{}", std::env::consts::EXE_SUFFIX));
    let installed = |python: &Path| {
        python.is_file().then_some(())?;
        Cmd::new(
            &python.to_string_lossy(),
            ["-c", "import paho.mqtt; print(paho.mqtt.__version__)"],
        )
        .probe_stdout()
        .map(|v| v.trim().to_owned())
    };
    if installed(&python).as_deref() == Some(PAHO_VERSION) {
        return Ok(python);
    }
    println!(
        "\npaho-mqtt {PAHO_VERSION} is needed in {}; installing it",
        venv.display()
    );
    if !python.is_file() {
        super::coap::install::create_venv(venv)?;
    }
    let install = Cmd::new(
        &python.to_string_lossy(),
        [
            "-m",
            "pip",
            "install",
            "--disable-pip-version-check",
            "--no-input",
            &format!("paho-mqtt=={PAHO_VERSION}"),
        ],
    );
    step("pip install paho-mqtt", &install)?;
    match installed(&python) {
        Some(v) if v == PAHO_VERSION => Ok(python),
        found => Err(format!(
            "after `{}`, `import paho.mqtt` gives version {found:?}, not {PAHO_VERSION}",
            install.display()
        )),
    }
}

/// `mosquitto 2.0.11 (clients and control broker); paho-mqtt 2.1.0 on Python 3.11.7`.
fn versions(env: &Env, mosquitto: &Path) -> String {
    let mosquitto = Cmd::new(&mosquitto.to_string_lossy(), ["-h"])
        .to_command()
        .stdin(std::process::Stdio::null())
        .output()
        .ok()
        .and_then(|o| {
            let text = String::from_utf8_lossy(&o.stdout).into_owned();
            text.lines().next().map(str::to_owned)
        })
        .unwrap_or_else(|| "mosquitto ?".to_owned());
    let python = Cmd::new(&env.python.to_string_lossy(), ["--version"])
        .probe_stdout()
        .map_or_else(|| "Python ?".to_owned(), |v| v.trim().to_owned());
    format!(
        "{} (its clients, and the control broker); paho-mqtt {PAHO_VERSION} on {python}",
        mosquitto.trim()
    )
}

/// Pseudo-random bytes with every byte value, newlines and invalid UTF-8 included.
fn big_payload() -> Vec<u8> {
    super::pseudo_random_bytes(super::mqtt::BIG_PAYLOAD_SEED, BIG_PAYLOAD_LEN)
}
