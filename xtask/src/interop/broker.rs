//! A mosquitto broker of our own on 127.0.0.1, for `cargo xtask interop mqtt` and for anything
//! else that needs a real broker (the MQTT client benchmark).
//!
//! ```ignore
//! let broker = Broker::start(&interop::target_dir(root).join("bench/mqtt"))?;
//! run_clients_against("127.0.0.1", broker.port())?;
//! // `broker` is a guard: dropping it kills mosquitto, also on an early `?` return.
//! ```
//!
//! It never uses the system service (CI machines have none running, developers may have one
//! configured in any way): it writes its own `mosquitto.conf` into the given directory, listens
//! only on free loopback ports picked at start, and keeps its log there (`mosquitto.log`, plus
//! `mosquitto.out` for what it prints before the log is open). mosquitto, its clients and openssl
//! are installed with apt-get when missing. The broker stays in xtask's process group, so a
//! Ctrl-C stops it too.
//!
//! One directory serves one broker at a time: two concurrent runs must use different ones.

use std::fs::{self, File};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, ExitStatus, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use super::certs::{self, Certs};
use crate::run::{Cmd, format_duration, step};

/// How long the broker may take to accept connections on every port.
const READY_TIMEOUT: Duration = Duration::from_secs(10);

/// Attempts at starting: a port picked free can be taken by someone else before mosquitto binds
/// it, which a second pick of ports fixes.
const START_ATTEMPTS: usize = 3;

/// What to start besides the plain listener.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Options {
    /// Adds a TLS listener and one that requires a client certificate, with certificates made
    /// for this run (needs `openssl`).
    pub(crate) tls: bool,
    /// `log_type all`: every packet in and out is logged, which readiness checks read ("Sending
    /// SUBACK to `<client id>`"). Off, only connections and errors are logged (benchmarks).
    pub(crate) log_packets: bool,
    /// A broker for `cargo xtask bench broker`: no connection limit and the open-files limit
    /// raised for 10,000 connections, queues long enough for the load generator's windows,
    /// TCP_NODELAY (as any latency-minded deployment sets it), and only errors and warnings
    /// logged (not 10,000 connection lines).
    pub(crate) bench: bool,
}

/// `sh -c RAISE_OPEN_FILES sh PROGRAM ARGS...` runs PROGRAM with its soft open-files limit
/// raised to the hard one (xtask has no `setrlimit` of its own: it has no dependencies). The
/// `exec` keeps the pid, so the caller's child is the program itself.
pub(crate) const RAISE_OPEN_FILES: &str = "n=$(ulimit -Hn); \
    [ \"$n\" = unlimited ] && n=1048576; \
    ulimit -n \"$n\" 2>/dev/null || ulimit -n 65536 2>/dev/null; \
    exec \"$@\"";

/// The TLS listeners and the files their clients need.
#[derive(Debug, Clone)]
pub(crate) struct TlsListeners {
    /// Server authentication only: clients need `--cafile`.
    pub(crate) port: u16,
    /// `require_certificate true`: clients also need `--cert`/`--key`.
    pub(crate) client_cert_port: u16,
    pub(crate) certs: Certs,
}

/// Where the mosquitto programs are (`mosquitto` is in `/usr/sbin` on Debian, which a non-root
/// `PATH` often lacks).
#[derive(Debug, Clone)]
pub(crate) struct Programs {
    pub(crate) mosquitto: PathBuf,
    pub(crate) mosquitto_pub: PathBuf,
    pub(crate) mosquitto_sub: PathBuf,
    pub(crate) openssl: PathBuf,
}

/// A running mosquitto; killed on drop.
pub(crate) struct Broker {
    child: Child,
    port: u16,
    tls: Option<TlsListeners>,
    log: PathBuf,
    programs: Programs,
}

impl Broker {
    /// A broker with one plain listener and a connection-level log, in `dir`.
    pub(crate) fn start(dir: &Path) -> Result<Self, String> {
        Self::start_with(dir, Options::default())
    }

    /// A broker as `options` say, in `dir` (created if needed; its old config, log and
    /// certificates are replaced). Fails, with mosquitto's own words, if it does not accept
    /// connections on every port within 10 s.
    pub(crate) fn start_with(dir: &Path, options: Options) -> Result<Self, String> {
        let programs = ensure_installed()?;
        let dir = &std::path::absolute(dir)
            .map_err(|e| format!("cannot make {} absolute: {e}", dir.display()))?;
        fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        let tls_certs = if options.tls {
            Some(certs::generate(&programs.openssl, &dir.join("tls"))?)
        } else {
            None
        };
        let mut last_error = String::new();
        for attempt in 1..=START_ATTEMPTS {
            let ports = free_ports(if options.tls { 3 } else { 1 })?;
            let tls = tls_certs.as_ref().map(|certs| TlsListeners {
                port: ports[1],
                client_cert_port: ports[2],
                certs: certs.clone(),
            });
            match Self::spawn(dir, &programs, options, ports[0], tls) {
                Ok(broker) => return Ok(broker),
                Err(e) => {
                    last_error = e;
                    if attempt < START_ATTEMPTS {
                        println!("mosquitto did not start (attempt {attempt}); retrying");
                    }
                }
            }
        }
        Err(last_error)
    }

    fn spawn(
        dir: &Path,
        programs: &Programs,
        options: Options,
        port: u16,
        tls: Option<TlsListeners>,
    ) -> Result<Self, String> {
        let conf = dir.join("mosquitto.conf");
        let log = dir.join("mosquitto.log");
        let out = dir.join("mosquitto.out");
        fs::write(&conf, config(dir, options, port, tls.as_ref()))
            .map_err(|e| format!("cannot write {}: {e}", conf.display()))?;
        // mosquitto appends to its log; each broker starts with an empty one so that offsets and
        // searches only see this run.
        match fs::remove_file(&log) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(format!("cannot remove {}: {e}", log.display())),
        }
        let out_file =
            File::create(&out).map_err(|e| format!("cannot create {}: {e}", out.display()))?;
        let out_err = out_file
            .try_clone()
            .map_err(|e| format!("cannot use {}: {e}", out.display()))?;
        let mosquitto = programs.mosquitto.to_string_lossy();
        let conf_arg = conf.to_string_lossy();
        let cmd = if options.bench {
            Cmd::new(
                "sh",
                ["-c", RAISE_OPEN_FILES, "sh", &mosquitto, "-c", &conf_arg],
            )
        } else {
            Cmd::new(&mosquitto, ["-c", &conf_arg])
        };
        println!("starting the broker: {}", cmd.display());
        let child = cmd
            .to_command()
            .stdin(Stdio::null())
            .stdout(out_file)
            .stderr(out_err)
            .spawn()
            .map_err(|e| format!("could not start `{}`: {e}", cmd.display()))?;
        let mut broker = Self {
            child,
            port,
            tls,
            log,
            programs: programs.clone(),
        };
        let mut ports = vec![port];
        if let Some(tls) = &broker.tls {
            ports.extend([tls.port, tls.client_cert_port]);
        }
        let started = Instant::now();
        loop {
            if let Some(status) = broker.exited() {
                return Err(format!(
                    "mosquitto exited at start ({status})\n{}",
                    broker.diagnostics(&out)
                ));
            }
            if ports.iter().all(|&p| accepts(p)) {
                println!(
                    "broker ready in {}: plain port {port}{}; log {}",
                    format_duration(started.elapsed()),
                    broker.tls.as_ref().map_or_else(String::new, |t| format!(
                        ", TLS port {}, client-certificate port {}",
                        t.port, t.client_cert_port
                    )),
                    broker.log.display()
                );
                return Ok(broker);
            }
            if started.elapsed() > READY_TIMEOUT {
                return Err(format!(
                    "mosquitto did not accept connections on ports {ports:?} within {}\n{}",
                    format_duration(READY_TIMEOUT),
                    broker.diagnostics(&out)
                ));
            }
            thread::sleep(Duration::from_millis(20));
        }
    }

    /// The plain MQTT listener on 127.0.0.1.
    pub(crate) fn port(&self) -> u16 {
        self.port
    }

    /// mosquitto's process id.
    pub(crate) fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The TLS listeners, when started with `Options::tls`.
    pub(crate) fn tls(&self) -> Option<&TlsListeners> {
        self.tls.as_ref()
    }

    /// The mosquitto clients that came with the broker.
    pub(crate) fn programs(&self) -> &Programs {
        &self.programs
    }

    /// The exit status if mosquitto died.
    pub(crate) fn exited(&mut self) -> Option<ExitStatus> {
        self.child.try_wait().ok().flatten()
    }

    /// The log's current length: an offset for `log_since`.
    pub(crate) fn log_len(&self) -> usize {
        fs::read(&self.log).map_or(0, |b| b.len())
    }

    /// What the broker logged after `offset` (lossy UTF-8: client ids and topics are echoed).
    pub(crate) fn log_since(&self, offset: usize) -> String {
        let bytes = fs::read(&self.log).unwrap_or_default();
        String::from_utf8_lossy(bytes.get(offset..).unwrap_or_default()).into_owned()
    }

    /// The last `lines` lines of the log.
    pub(crate) fn log_tail(&self, lines: usize) -> String {
        tail_lines(&self.log_since(0), lines)
    }

    /// What to show when the broker failed: its early output and its log.
    fn diagnostics(&self, out: &Path) -> String {
        let early = fs::read_to_string(out).unwrap_or_default();
        format!(
            "mosquitto output ({}):\n{}\nmosquitto log tail ({}):\n{}",
            out.display(),
            tail_lines(&early, 20),
            self.log.display(),
            self.log_tail(20)
        )
    }
}

impl Drop for Broker {
    fn drop(&mut self) {
        if self.exited().is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// The config. Paths are absolute (mosquitto resolves relative ones against its working
/// directory) and may contain spaces (mosquitto 2 takes the rest of the line as the value).
fn config(dir: &Path, options: Options, port: u16, tls: Option<&TlsListeners>) -> String {
    let log = dir.join("mosquitto.log");
    let mut conf = String::from(
        "# Written by cargo xtask (xtask/src/interop/broker.rs); replaced at every start.\n\
         # Started as root, mosquitto switches to the user `mosquitto` unless told otherwise, and\n\
         # that user cannot read the keys or write the log under target/. Ignored when not root.\n\
         user root\n\
         per_listener_settings false\n\
         allow_anonymous true\n\
         persistence false\n\
         # 1 MiB payloads with room to spare; said explicitly so a changed default cannot bite.\n\
         max_packet_size 4194304\n\
         log_timestamp true\n",
    );
    conf.push_str(&format!("log_dest file {}\n", log.display()));
    if options.bench {
        // 100 publishers with 10 messages each undelivered fit in the default 1,000 for the
        // subscriber only just; a million leaves any window room, and no message is dropped
        // for want of queue space. In-flight stays at mosquitto's default (20).
        conf.push_str(
            "connection_messages false\n\
             max_queued_messages 1000000\n\
             set_tcp_nodelay true\n\
             log_type error\nlog_type warning\n",
        );
    } else if options.log_packets {
        conf.push_str("connection_messages true\n");
        conf.push_str("log_type all\n");
    } else {
        conf.push_str(
            "connection_messages true\n\
             log_type error\nlog_type warning\nlog_type notice\nlog_type information\n",
        );
    }
    conf.push_str(&format!("\nlistener {port} 127.0.0.1\n"));
    if options.bench {
        // A listener setting in mosquitto 2: after the `listener` line it applies to it.
        conf.push_str("max_connections -1\n");
    }
    if let Some(tls) = tls {
        let files = format!(
            "cafile {}\ncertfile {}\nkeyfile {}\n",
            tls.certs.ca.display(),
            tls.certs.server_cert.display(),
            tls.certs.server_key.display()
        );
        conf.push_str(&format!("\nlistener {} 127.0.0.1\n{files}", tls.port));
        conf.push_str(&format!(
            "\nlistener {} 127.0.0.1\n{files}require_certificate true\n",
            tls.client_cert_port
        ));
    }
    conf
}

/// `count` distinct free ports on 127.0.0.1, found by letting the kernel pick (all listeners are
/// held at once so the ports differ).
fn free_ports(count: usize) -> Result<Vec<u16>, String> {
    let listeners = (0..count)
        .map(|_| TcpListener::bind((Ipv4Addr::LOCALHOST, 0)))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("cannot bind a free port on 127.0.0.1: {e}"))?;
    listeners
        .iter()
        .map(|l| l.local_addr().map(|a| a.port()))
        .collect::<Result<_, _>>()
        .map_err(|e| format!("cannot read a bound port: {e}"))
}

fn accepts(port: u16) -> bool {
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok()
}

fn tail_lines(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

/// Finds mosquitto, its clients and openssl, installing the Debian packages with apt-get when
/// any is missing (CI runs as root on a fresh machine; `apt-get update` only if the first try
/// fails, since it costs time and network).
pub(crate) fn ensure_installed() -> Result<Programs, String> {
    const NEEDED: [(&str, &str); 4] = [
        ("mosquitto", "mosquitto"),
        ("mosquitto_pub", "mosquitto-clients"),
        ("mosquitto_sub", "mosquitto-clients"),
        ("openssl", "openssl"),
    ];
    let mut packages: Vec<&str> = Vec::new();
    for (program, package) in NEEDED {
        if find_program(program).is_none() && !packages.contains(&package) {
            packages.push(package);
        }
    }
    if !packages.is_empty() {
        println!(
            "\ninstalling {} (not found on PATH or in the sbin directories)",
            packages.join(" ")
        );
        let install = Cmd::new("apt-get", ["install", "-y", "--no-install-recommends"])
            .args(packages.iter().copied())
            .env("DEBIAN_FRONTEND", "noninteractive");
        if step("apt-get install", &install).is_err() {
            let update = Cmd::new("apt-get", ["update"]).env("DEBIAN_FRONTEND", "noninteractive");
            step("apt-get update", &update)
                .and_then(|_| step("apt-get install", &install))
                .map_err(|e| {
                    format!(
                        "{e}\nmosquitto is needed: install `{}` (as root) and run again",
                        packages.join(" ")
                    )
                })?;
        }
    }
    let find = |program: &str| {
        find_program(program)
            .ok_or_else(|| format!("`{program}` is still not found after installing it"))
    };
    Ok(Programs {
        mosquitto: find("mosquitto")?,
        mosquitto_pub: find("mosquitto_pub")?,
        mosquitto_sub: find("mosquitto_sub")?,
        openssl: find("openssl")?,
    })
}

/// `program` in a `PATH` directory or in one of the sbin directories where Debian puts daemons.
fn find_program(program: &str) -> Option<PathBuf> {
    let file = format!("{program}{}", std::env::consts::EXE_SUFFIX);
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/sbin", "/usr/local/sbin", "/sbin"].map(PathBuf::from))
        .map(|dir| dir.join(&file))
        .find(|candidate| candidate.is_file())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ports_are_distinct() {
        let ports = free_ports(3).expect("loopback works");
        assert_eq!(ports.len(), 3);
        assert!(ports[0] != ports[1] && ports[1] != ports[2] && ports[0] != ports[2]);
    }

    #[test]
    fn plain_config() {
        let conf = config(Path::new("/t/mqtt"), Options::default(), 1234, None);
        assert!(conf.contains("\nlistener 1234 127.0.0.1\n"));
        assert!(conf.contains("\nlog_dest file /t/mqtt/mosquitto.log\n"));
        assert!(conf.contains("\nallow_anonymous true\n"));
        assert!(!conf.contains("log_type all"));
        assert!(!conf.contains("certfile"));
        assert!(conf.contains("\nconnection_messages true\n"));
        assert!(!conf.contains("max_connections"));
    }

    #[test]
    fn bench_config_lifts_the_limits() {
        let options = Options {
            bench: true,
            ..Options::default()
        };
        let conf = config(Path::new("/t/b"), options, 1234, None);
        assert!(conf.ends_with("\nlistener 1234 127.0.0.1\nmax_connections -1\n"));
        assert!(conf.contains("\nmax_queued_messages 1000000\n"));
        assert!(conf.contains("\nset_tcp_nodelay true\n"));
        assert!(conf.contains("\nconnection_messages false\n"));
        assert!(!conf.contains("log_type information"));
        assert!(conf.contains("\npersistence false\n"));
    }

    #[test]
    fn tail() {
        assert_eq!(tail_lines("a\nb\nc\n", 2), "b\nc");
        assert_eq!(tail_lines("a", 5), "a");
    }
}
