//! CoAP servers run for the suite: each on a free loopback UDP port, ready once it answers a
//! CoAP ping (an empty CON, RFC 7252 §4.3, which every endpoint must answer with a RST), killed
//! on drop.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpListener, UdpSocket};
use std::process::ExitStatus;
use std::sync::atomic::{AtomicU16, Ordering};
use std::time::{Duration, Instant};

use crate::interop::child::Child;
use crate::run::{Cmd, format_duration};

/// How long a server may take to answer its first ping.
const READY_TIMEOUT: Duration = Duration::from_secs(10);

/// Attempts at starting: a port picked free can be taken before the server binds it.
const START_ATTEMPTS: usize = 3;

/// How long one ping waits for its RST.
const PING_WAIT: Duration = Duration::from_millis(200);

/// Which server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(super) enum Server {
    /// `coap-server-notls`, libcoap's example server, with its own resources.
    Libcoap,
    /// `interop/coap/aiocoap_server.py`: tern's resources, served by aiocoap.
    Aiocoap,
    /// `tern coap serve`.
    Tern,
}

impl Server {
    /// The name in scenario names and messages.
    pub(super) fn name(self) -> &'static str {
        match self {
            Self::Libcoap => "libcoap",
            Self::Aiocoap => "aiocoap",
            Self::Tern => "tern serve",
        }
    }
}

/// A running server; killed on drop.
pub(super) struct Peer {
    pub(super) kind: Server,
    pub(super) addr: SocketAddr,
    child: Child,
}

impl Peer {
    /// Starts the command `command(port)` makes, on a free port of `ip`, and waits until it
    /// answers a CoAP ping there. Fails with the server's output when it exits first or stays
    /// silent for 10 s.
    pub(super) fn start(
        kind: Server,
        ip: IpAddr,
        command: impl Fn(u16) -> Result<Cmd, String>,
    ) -> Result<Self, String> {
        let mut last_error = String::new();
        for attempt in 1..=START_ATTEMPTS {
            let port = free_port(ip)?;
            let cmd = command(port)?;
            // On a line of its own: the scenario's progress line is open.
            println!("\n    starting {}: {}", kind.name(), cmd.display());
            let child = Child::spawn(&cmd, None)?;
            let mut peer = Self {
                kind,
                addr: SocketAddr::new(ip, port),
                child,
            };
            match peer.wait_ready() {
                Ok(took) => {
                    println!(
                        "    {} answers CoAP pings on {} (after {})",
                        kind.name(),
                        peer.addr,
                        format_duration(took)
                    );
                    return Ok(peer);
                }
                Err(e) => {
                    last_error = format!("{} could not be started: {e}", kind.name());
                    // A server that exits at once (a missing subcommand, a bad flag) will do
                    // the same on another port; only a silent one may have lost a port race.
                    if peer.exited().is_some() {
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

    fn wait_ready(&mut self) -> Result<Duration, String> {
        let started = Instant::now();
        loop {
            if let Some(status) = self.child.poll_exit() {
                return Err(format!(
                    "it exited ({status}) before answering a CoAP ping\n{}",
                    self.child.describe()
                ));
            }
            if ping(self.addr, PING_WAIT).is_ok() {
                return Ok(started.elapsed());
            }
            if started.elapsed() > READY_TIMEOUT {
                return Err(format!(
                    "no answer to a CoAP ping on {} within {}\n{}",
                    self.addr,
                    format_duration(READY_TIMEOUT),
                    self.child.describe()
                ));
            }
        }
    }

    /// `coap://ADDR` followed by `path_and_query` (which starts with `/` or `?`, or is empty).
    pub(super) fn uri(&self, path_and_query: &str) -> String {
        format!("coap://{}{path_and_query}", self.addr)
    }

    /// The exit status if the server died.
    pub(super) fn exited(&mut self) -> Option<ExitStatus> {
        self.child.poll_exit()
    }

    /// The command line and the tails of what the server printed.
    pub(super) fn describe(&self) -> String {
        self.child.describe()
    }

    /// Whether the server's stderr holds `needle` (e.g. tern's `listening on` line).
    pub(super) fn stderr_contains(&mut self, needle: &str) -> Result<(), String> {
        self.child.wait_for(
            crate::interop::child::Stream::Stderr,
            needle,
            Duration::from_millis(100),
        )
    }
}

/// A port free for UDP on `ip` (and for TCP too: libcoap's server listens on both).
pub(crate) fn free_port(ip: IpAddr) -> Result<u16, String> {
    let mut last_error = None;
    for _ in 0..20 {
        let udp =
            UdpSocket::bind((ip, 0)).map_err(|e| format!("cannot bind a UDP port on {ip}: {e}"))?;
        let port = udp
            .local_addr()
            .map_err(|e| format!("cannot read a bound port: {e}"))?
            .port();
        match TcpListener::bind((ip, port)) {
            Ok(_) => return Ok(port),
            Err(e) => last_error = Some(e),
        }
    }
    Err(format!(
        "found no port on {ip} free for both UDP and TCP: {}",
        last_error.map_or_else(String::new, |e| e.to_string())
    ))
}

/// Sends one CoAP ping (an empty CON) to `addr` and waits up to `wait` for the answer, which
/// must carry the ping's Message ID (a RST, or any message from a lenient endpoint).
pub(crate) fn ping(addr: SocketAddr, wait: Duration) -> Result<(), String> {
    static NEXT_MID: AtomicU16 = AtomicU16::new(0x7e00);
    let local: IpAddr = if addr.is_ipv4() {
        Ipv4Addr::LOCALHOST.into()
    } else {
        Ipv6Addr::LOCALHOST.into()
    };
    let socket = UdpSocket::bind((local, 0)).map_err(|e| format!("cannot bind: {e}"))?;
    socket
        .connect(addr)
        .map_err(|e| format!("cannot connect to {addr}: {e}"))?;
    let mid = NEXT_MID.fetch_add(1, Ordering::Relaxed).to_be_bytes();
    socket
        .send(&empty_con(mid))
        .map_err(|e| format!("cannot send to {addr}: {e}"))?;
    let deadline = Instant::now() + wait;
    let mut buf = [0u8; 1500];
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(format!("no answer from {addr}"));
        }
        socket
            .set_read_timeout(Some(left))
            .map_err(|e| format!("cannot set a timeout: {e}"))?;
        match socket.recv(&mut buf) {
            Ok(n) if answers(&buf[..n], mid) => return Ok(()),
            Ok(_) => {}
            // Nobody bound yet (ICMP port unreachable): wait out the rest, as a silent peer.
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionRefused => {
                std::thread::sleep(left);
                return Err(format!("{addr} refused"));
            }
            Err(e) => return Err(format!("no answer from {addr}: {e}")),
        }
    }
}

/// Version 1, type CON, no token, code 0.00, the given Message ID.
fn empty_con(mid: [u8; 2]) -> [u8; 4] {
    [0x40, 0x00, mid[0], mid[1]]
}

/// Whether `datagram` is a CoAP message (version 1) with Message ID `mid`.
fn answers(datagram: &[u8], mid: [u8; 2]) -> bool {
    datagram.len() >= 4 && datagram[0] >> 6 == 1 && datagram[2..4] == mid
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ping_bytes() {
        assert_eq!(empty_con([0x12, 0x34]), [0x40, 0x00, 0x12, 0x34]);
        // The RST libcoap and aiocoap send back.
        assert!(answers(&[0x70, 0x00, 0x12, 0x34], [0x12, 0x34]));
        assert!(!answers(&[0x70, 0x00, 0x12, 0x35], [0x12, 0x34]));
        assert!(!answers(&[0x30, 0x00, 0x12, 0x34], [0x12, 0x34]));
        assert!(!answers(&[0x70, 0x00, 0x12], [0x12, 0x34]));
    }

    #[test]
    fn ping_answered_and_unanswered() {
        let server = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind");
        let addr = server.local_addr().expect("addr");
        let responder = std::thread::spawn(move || {
            let mut buf = [0u8; 64];
            let (n, from) = server.recv_from(&mut buf).expect("a ping arrives");
            assert_eq!(n, 4);
            server
                .send_to(&[0x70, 0x00, buf[2], buf[3]], from)
                .expect("send RST");
            // Keep the socket open (and silent) for the second ping.
            let _ = server.recv_from(&mut buf);
        });
        ping(addr, Duration::from_secs(5)).expect("answered");
        let started = Instant::now();
        assert!(ping(addr, Duration::from_millis(100)).is_err());
        assert!(started.elapsed() < Duration::from_secs(2));
        drop(responder);
    }

    #[test]
    fn free_ports_are_ports() {
        // Whether it is still free a moment later is a race with every other test; the start
        // loop retries for that reason.
        assert!(free_port(Ipv4Addr::LOCALHOST.into()).expect("a free port") > 0);
    }
}
