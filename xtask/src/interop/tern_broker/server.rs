//! The brokers under test: `tern broker` with a `tern.toml` written for each group of
//! scenarios, and mosquitto (from `interop::broker`) for the controls.
//!
//! tern binds `127.0.0.1:0` for every listener and reports the ports it got on standard error
//! (`listening on ADDR`, `listening on ADDR (TLS)`), so there is no race for a free port.

use std::fs;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::Group;
use crate::interop::broker::{Broker, Options};
use crate::interop::certs::Certs;
use crate::interop::child::{Child, Stream};
use crate::run::Cmd;

/// How long `tern broker` may take to bind its listeners.
const READY: Duration = Duration::from_secs(10);

/// The users of the password file and their passwords (in the clear: a throwaway broker).
pub(super) const ALICE: (&str, &str) = ("alice", "alice's secret");
pub(super) const ADMIN: (&str, &str) = ("admin", "admin's secret");

/// The ACL of the `Auth` group: alice may use `acl/alice/#` only (so not bob's subtree, which
/// no rule grants her: the ACL fails closed), and has an explicit `deny` under her own; admin
/// may read everything below `acl/`.
pub(super) const ACL: &str = "\
# Written by cargo xtask (xtask/src/interop/tern_broker/server.rs).
user alice
topic readwrite acl/alice/#
topic deny acl/alice/private/#

user bob
topic readwrite acl/bob/#

user admin
topic read acl/#
";

/// Where a scenario's clients connect.
#[derive(Debug, Clone)]
pub(super) struct Target {
    /// `tern` or `mosquitto`, for messages.
    pub(super) name: &'static str,
    pub(super) port: u16,
    /// The TLS listener (the `Tls` and `ClientCert` groups).
    pub(super) tls_port: Option<u16>,
    pub(super) certs: Option<Certs>,
}

/// A running broker of either kind; killed on drop.
pub(super) enum Server {
    Tern { child: Child, target: Target },
    Mosquitto(Broker),
}

impl Server {
    pub(super) fn target(&self) -> Target {
        match self {
            Self::Tern { target, .. } => target.clone(),
            Self::Mosquitto(broker) => Target {
                name: "mosquitto",
                port: broker.port(),
                tls_port: None,
                certs: None,
            },
        }
    }

    /// `Some(why)` when the broker is no longer running.
    pub(super) fn gone(&mut self) -> Option<String> {
        match self {
            Self::Tern { child, .. } => child
                .poll_exit()
                .map(|s| format!("tern broker exited ({s})")),
            Self::Mosquitto(broker) => broker.exited().map(|s| format!("mosquitto exited ({s})")),
        }
    }

    /// The broker's log so far (tern: its standard error with `-v`).
    pub(super) fn log(&self) -> String {
        match self {
            Self::Tern { child, .. } => {
                String::from_utf8_lossy(&child.printed(Stream::Stderr)).into_owned()
            }
            Self::Mosquitto(broker) => broker.log_since(0),
        }
    }
}

/// What a group's broker is started with.
pub(super) struct Setup<'a> {
    pub(super) tern: &'a Path,
    pub(super) dir: &'a Path,
    pub(super) certs: &'a Certs,
}

/// Starts the broker for `group`; the error says why it could not.
pub(super) fn start(group: Group, setup: &Setup<'_>) -> Result<Server, String> {
    let dir = setup.dir.join(group.dir_name());
    if group == Group::Mosquitto {
        let broker = Broker::start_with(
            &dir,
            Options {
                tls: false,
                log_packets: true,
                bench: false,
            },
        )?;
        return Ok(Server::Mosquitto(broker));
    }
    fs::create_dir_all(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let mut conf = config(group, setup.certs);
    if group == Group::Auth {
        let (passwd, acl) = auth_files(setup.tern, &dir)?;
        conf.push_str(&format!(
            "\n[auth]\nallow_anonymous = false\npassword_file = {}\nacl_file = {}\n",
            toml_string(&passwd),
            toml_string(&acl)
        ));
    }
    let conf_path = dir.join("tern.toml");
    fs::write(&conf_path, conf)
        .map_err(|e| format!("cannot write {}: {e}", conf_path.display()))?;
    let cmd = Cmd::new(
        &setup.tern.to_string_lossy(),
        ["broker", "-c", &conf_path.to_string_lossy(), "-v"],
    );
    println!("starting the broker: {}", cmd.display());
    let mut child = Child::spawn(&cmd, None)?;
    let tls = group.tls();
    child
        .wait_for(
            Stream::Stderr,
            if tls { "(TLS)\n" } else { "listening on " },
            READY,
        )
        .map_err(|e| format!("tern broker did not report its listeners: {e}"))?;
    let stderr = String::from_utf8_lossy(&child.printed(Stream::Stderr)).into_owned();
    let (port, tls_port) = listening(&stderr)?;
    if tls && tls_port.is_none() {
        return Err(format!("tern broker reported no TLS listener:\n{stderr}"));
    }
    println!(
        "tern broker ready ({}): port {port}{}",
        group.dir_name(),
        tls_port.map_or_else(String::new, |p| format!(", TLS port {p}"))
    );
    Ok(Server::Tern {
        child,
        target: Target {
            name: "tern",
            port,
            tls_port,
            certs: tls.then(|| setup.certs.clone()),
        },
    })
}

/// The plain and the TLS port from `listening on 127.0.0.1:PORT[ (TLS)]` lines.
fn listening(stderr: &str) -> Result<(u16, Option<u16>), String> {
    let mut plain = None;
    let mut tls = None;
    for line in stderr.lines() {
        let Some(rest) = line.strip_prefix("listening on ") else {
            continue;
        };
        let (addr, is_tls) = match rest.strip_suffix(" (TLS)") {
            Some(addr) => (addr, true),
            None => (rest, false),
        };
        let addr: SocketAddr = addr
            .parse()
            .map_err(|e| format!("tern broker printed `{line}`, not an address: {e}"))?;
        *if is_tls { &mut tls } else { &mut plain } = Some(addr.port());
    }
    let port = plain.ok_or_else(|| format!("no `listening on` line in:\n{stderr}"))?;
    Ok((port, tls))
}

/// The group's `tern.toml`: loopback on port 0, room for the 1 MiB payload (the default
/// `max_packet_size` is exactly 1 MiB, which a 1 MiB payload plus its header exceeds), and
/// `$SYS` updates every second so that the `$SYS` scenario needs not wait ten.
fn config(group: Group, certs: &Certs) -> String {
    let mut conf = String::from(
        "# Written by cargo xtask (xtask/src/interop/tern_broker/server.rs); replaced at every \
         start.\n\
         [listener]\nbind = [\"127.0.0.1:0\"]\n\n\
         [limits]\nmax_packet_size = 4194304\n\n\
         [sys]\ninterval = 1\n",
    );
    if group.tls() {
        conf.push_str(&format!(
            "\n[tls]\nbind = [\"127.0.0.1:0\"]\ncert = {}\nkey = {}\n",
            toml_string(&certs.server_cert),
            toml_string(&certs.server_key)
        ));
        if group == Group::ClientCert {
            conf.push_str(&format!("client_ca = {}\n", toml_string(&certs.ca)));
        }
    }
    conf
}

/// A TOML basic string (paths may hold spaces, quotes or backslashes).
fn toml_string(path: &Path) -> String {
    let mut s = String::from('"');
    for c in path.to_string_lossy().chars() {
        match c {
            '"' => s.push_str("\\\""),
            '\\' => s.push_str("\\\\"),
            c => s.push(c),
        }
    }
    s.push('"');
    s
}

/// The password file, made the way a user makes it (`tern broker passwd -c -b`, then `-b`),
/// and the ACL.
fn auth_files(tern: &Path, dir: &Path) -> Result<(PathBuf, PathBuf), String> {
    let passwd = dir.join("passwd");
    let tern = tern.to_string_lossy();
    let file = passwd.to_string_lossy();
    for (n, (user, password)) in [ALICE, ("bob", "bob's secret"), ADMIN]
        .into_iter()
        .enumerate()
    {
        let mut args = vec!["broker", "passwd"];
        if n == 0 {
            args.push("-c");
        }
        args.extend(["-b", &file, user, password]);
        let cmd = Cmd::new(&tern, args);
        cmd.stdout()
            .map_err(|e| format!("making the password file failed: {e}"))?;
    }
    let acl = dir.join("acl");
    fs::write(&acl, ACL).map_err(|e| format!("cannot write {}: {e}", acl.display()))?;
    Ok((passwd, acl))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ports_from_the_listening_lines() {
        let stderr = "2026 INFO MQTT broker listening local=127.0.0.1:1\n\
                      listening on 127.0.0.1:40001\nlistening on 127.0.0.1:40002 (TLS)\n";
        assert_eq!(listening(stderr), Ok((40001, Some(40002))));
        assert_eq!(listening("listening on 127.0.0.1:5\n"), Ok((5, None)));
        assert!(listening("nothing\n").is_err());
    }

    #[test]
    fn paths_are_quoted_for_toml() {
        assert_eq!(toml_string(Path::new("/a b/\"c\"\\")), r#""/a b/\"c\"\\""#);
    }
}
