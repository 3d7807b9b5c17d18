//! Requests per second of CoAP servers on loopback, from many client endpoints: `tern coap
//! serve` against libcoap's `coap-server-notls`, in the same run.
//!
//! ```text
//! cargo xtask bench coap-server [--rounds R] [--seconds-per-slice S] [--clients N]
//!                               [--outstanding K] [--path /P] [--out FILE]
//! cargo run --release -p tern-bench --bin coap-server -- \
//!     --server tern=127.0.0.1:P1 --server libcoap=127.0.0.1:P2 [--pid tern=PID ...] [...]
//! ```
//!
//! `cargo xtask bench coap-server` starts both servers on free loopback ports and passes
//! `--server` and `--pid`. The load generator is deliberately not tern's endpoint (that would
//! measure tern on both ends): plain `std::net::UdpSocket`s and `tern_coap::Message`'s encoder
//! and decoder, nothing else. Each server gets `--clients` sockets of its own (each its own
//! source port, so its own peer to the server: one pair's 16-bit Message ID space would run
//! out), and every socket keeps `--outstanding` Confirmable GETs outstanding, each with a fresh
//! Message ID and token. An answer counts when it is the piggybacked ACK 2.05 with the
//! request's Message ID and token; the slot then sends its next request at once. A request
//! unanswered after `--timeout-ms` counts as lost and its slot sends a new one.
//!
//! One thread drives all the sockets, non-blocking: a pass reads each socket until it would
//! block, sending each answered slot's next request at once, and then the thread sleeps
//! `--pause-us` (200 µs). With hundreds of requests outstanding a server always has work
//! queued meanwhile, and the generator leaves the CPU to it instead of spinning (the machine
//! may have only two cores) and pays for fewer empty reads per answer. A slice starts with one
//! request per socket and adds one per socket and pass until `--outstanding` are out: all at
//! once, they would overflow the server's socket receive buffer.
//!
//! A round runs each server for one slice of `--seconds-per-slice` (the order rotates between
//! rounds); a slice counts the answers that arrive before its end, then waits for the
//! outstanding ones, uncounted, so that no backlog reaches the next slice. Reported: requests
//! per second over all rounds for each server; the median of the per-round ratios of the
//! first server to each other one (the machine's slow stretches affect it less than a ratio of
//! totals); and, for servers given a `--pid`, the process's CPU time per answered request
//! (`utime + stime` from `/proc/PID/stat`, all its threads, over the slices' counted part).

use std::io::{self, ErrorKind};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, UdpSocket};
use std::thread;
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use tern_coap::{Code, Message, MessageType, OptionNumber, Options, Token};

const USAGE: &str = "\
usage: coap-server --server NAME=ADDR:PORT [--server NAME=ADDR:PORT ...] [--pid NAME=PID ...]
                   [--path /P] [--rounds R] [--seconds-per-slice S] [--clients N]
                   [--outstanding K] [--timeout-ms MS] [--out FILE]

  --server N=A         a server to load, named N (the first is compared with the others)
  --pid N=PID          the process of server N, for its CPU time per request
  --path /P            the resource to GET (default /time: libcoap's example server has no
                       /hello, and both answer /time with a short text)
  --rounds R           rounds; each runs every server for one slice (default 10)
  --seconds-per-slice S  length of a slice in seconds (default 1)
  --clients N          client sockets per server (default 64)
  --outstanding K      requests each socket keeps outstanding (default 2; 128 in all keep
                       both servers busy, while 256 overflow libcoap's socket buffer)
  --timeout-ms MS      a request unanswered this long is lost and replaced (default 200)
  --pause-us US        the generator's sleep after each pass over its sockets (default 200)
  --out FILE           also write the report (markdown) to FILE
";

/// How long the drain after a slice sleeps when a pass over the sockets found nothing.
const IDLE: Duration = Duration::from_micros(50);

/// How often outstanding requests are checked for timeouts.
const CHECK_EVERY: Duration = Duration::from_millis(10);

/// Message IDs a socket uses before it is replaced by a fresh one (another source port, so a
/// new peer to the server): well below 65,536, so that no ID comes back within a server's
/// duplicate-detection lifetime (247 s) from the same peer.
const MIDS_PER_SOCKET: u32 = 40_000;

/// Linux's USER_HZ, the unit of `/proc/PID/stat`'s times (fixed by the ABI).
const TICKS_PER_SECOND: u64 = 100;

struct Target {
    name: String,
    addr: SocketAddr,
    pid: Option<u32>,
}

struct Opts {
    targets: Vec<Target>,
    path: String,
    rounds: usize,
    slice: Duration,
    clients: usize,
    outstanding: usize,
    timeout: Duration,
    pause: Duration,
    out: Option<String>,
}

fn parse() -> Result<Opts, String> {
    let mut o = Opts {
        targets: Vec::new(),
        path: "/time".into(),
        rounds: 10,
        slice: Duration::from_secs(1),
        clients: 64,
        outstanding: 2,
        timeout: Duration::from_millis(200),
        pause: Duration::from_micros(200),
        out: None,
    };
    let mut pids = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = || args.next().ok_or(format!("{arg} needs a value"));
        let number = |v: String| v.parse::<usize>().map_err(|e| format!("{v}: {e}"));
        match arg.as_str() {
            "--server" => {
                let v = value()?;
                let (name, addr) = v
                    .split_once('=')
                    .ok_or(format!("--server {v}: expected NAME=ADDR:PORT"))?;
                let addr = addr
                    .parse()
                    .map_err(|e| format!("--server {v}: {addr}: {e}"))?;
                o.targets.push(Target {
                    name: name.to_owned(),
                    addr,
                    pid: None,
                });
            }
            "--pid" => {
                let v = value()?;
                let (name, pid) = v
                    .split_once('=')
                    .ok_or(format!("--pid {v}: expected NAME=PID"))?;
                let pid = pid.parse().map_err(|e| format!("--pid {v}: {e}"))?;
                pids.push((name.to_owned(), pid));
            }
            "--path" => o.path = value()?,
            "--rounds" => o.rounds = number(value()?)?.max(1),
            "--seconds-per-slice" => {
                let v = value()?;
                let secs: f64 = v.parse().map_err(|e| format!("{v}: {e}"))?;
                if !(secs > 0.0 && secs < 3600.0) {
                    return Err(format!("--seconds-per-slice {v}: expected 0 < S < 3600"));
                }
                o.slice = Duration::from_secs_f64(secs);
            }
            "--clients" => o.clients = number(value()?)?.max(1),
            "--outstanding" => o.outstanding = number(value()?)?.max(1),
            "--timeout-ms" => {
                o.timeout = Duration::from_millis(number(value()?)?.max(1) as u64);
            }
            "--pause-us" => {
                o.pause = Duration::from_micros(number(value()?)? as u64);
            }
            "--out" => o.out = Some(value()?),
            "-h" | "--help" => return Err(USAGE.into()),
            other => return Err(format!("unknown argument {other}\n{USAGE}")),
        }
    }
    if o.targets.is_empty() {
        return Err(format!("at least one --server is required\n{USAGE}"));
    }
    for (name, pid) in pids {
        let target = o
            .targets
            .iter_mut()
            .find(|t| t.name == name)
            .ok_or(format!("--pid {name}={pid}: no --server named {name}"))?;
        target.pid = Some(pid);
    }
    Ok(o)
}

/// The request's Uri-Path options for `path` (`/a/b` → `a`, `b`).
fn uri_path(path: &str) -> Result<Options, String> {
    path.split('/')
        .filter(|s| !s.is_empty())
        .fold(Options::builder(), |b, segment| {
            b.push(OptionNumber::URI_PATH, segment)
        })
        .build()
        .map_err(|e| format!("--path {path}: {e}"))
}

/// A request the generator waits for.
#[derive(Clone, Copy)]
struct Slot {
    mid: u16,
    token: u32,
    /// When it was sent; `None` when the slot is free.
    sent: Option<Instant>,
}

/// One client endpoint: a socket connected to the server (so that it receives only the
/// server's datagrams) and its outstanding requests.
struct Client {
    socket: UdpSocket,
    next_mid: u16,
    used: u32,
    slots: Vec<Slot>,
}

impl Client {
    fn new(server: SocketAddr, outstanding: usize, seed: u32) -> io::Result<Client> {
        let local: IpAddr = if server.is_ipv4() {
            Ipv4Addr::LOCALHOST.into()
        } else {
            Ipv6Addr::LOCALHOST.into()
        };
        let socket = UdpSocket::bind((local, 0))?;
        socket.connect(server)?;
        socket.set_nonblocking(true)?;
        Ok(Client {
            socket,
            // Any start will do (each socket is a new peer); spread them anyway.
            next_mid: (seed.wrapping_mul(0x9e37_79b9) >> 16) as u16,
            used: 0,
            slots: vec![
                Slot {
                    mid: 0,
                    token: 0,
                    sent: None,
                };
                outstanding
            ],
        })
    }
}

/// What one slice (or a whole run, summed) counted.
#[derive(Default, Clone, Copy)]
struct Tally {
    /// Piggybacked 2.05 answers to our requests, before the slice's end.
    completed: u64,
    /// Requests unanswered after the timeout (also those still unanswered after the slice).
    lost: u64,
    /// Answers to our requests that were not a piggybacked 2.05 (an RST, an empty ACK, a
    /// 4.04, a wrong token).
    unexpected: u64,
    /// Datagrams matching no outstanding request (late answers to lost requests, separate
    /// responses, garbage).
    stray: u64,
    /// The slice's counted time.
    elapsed: Duration,
    /// The server process's CPU time over `elapsed` (zero without a pid).
    server_cpu: Duration,
    /// The generator thread's CPU time over `elapsed`.
    load_cpu: Duration,
}

impl std::ops::AddAssign for Tally {
    fn add_assign(&mut self, o: Tally) {
        self.completed += o.completed;
        self.lost += o.lost;
        self.unexpected += o.unexpected;
        self.stray += o.stray;
        self.elapsed += o.elapsed;
        self.server_cpu += o.server_cpu;
        self.load_cpu += o.load_cpu;
    }
}

/// The load on one server: its client sockets and the request they send.
struct Load {
    server: SocketAddr,
    pid: Option<u32>,
    clients: Vec<Client>,
    outstanding: usize,
    pause: Duration,
    options: Options,
    next_token: u32,
    wire: BytesMut,
    /// The first answer that was not a piggybacked 2.05, for the report.
    first_unexpected: Option<String>,
}

impl Load {
    fn new(target: &Target, o: &Opts, options: Options) -> io::Result<Load> {
        let clients = (0..o.clients)
            .map(|i| Client::new(target.addr, o.outstanding, i as u32 + 1))
            .collect::<io::Result<Vec<_>>>()?;
        Ok(Load {
            server: target.addr,
            pid: target.pid,
            clients,
            outstanding: o.outstanding,
            pause: o.pause,
            options,
            next_token: 1,
            wire: BytesMut::with_capacity(64),
            first_unexpected: None,
        })
    }

    /// Sends a new request (fresh Message ID and token) in slot `s` of client `c`.
    fn send(&mut self, c: usize, s: usize) -> io::Result<()> {
        let client = &mut self.clients[c];
        let mid = client.next_mid;
        client.next_mid = mid.wrapping_add(1);
        client.used += 1;
        let token = self.next_token;
        self.next_token = token.wrapping_add(1);
        let request = Message {
            mtype: MessageType::Confirmable,
            code: Code::GET,
            message_id: mid,
            token: Token::new(&token.to_be_bytes()).unwrap_or_default(),
            options: self.options.clone(),
            payload: Bytes::new(),
        };
        self.wire.clear();
        request
            .encode(&mut self.wire)
            .map_err(|e| io::Error::other(format!("cannot encode the request: {e}")))?;
        client.slots[s] = Slot {
            mid,
            token,
            sent: Some(Instant::now()),
        };
        match client.socket.send(&self.wire) {
            Ok(_) => Ok(()),
            // A full send buffer: the request is lost, and its timeout will say so.
            Err(e) if e.kind() == ErrorKind::WouldBlock => Ok(()),
            Err(e) => Err(refused(e, self.server)),
        }
    }

    /// The slot of client `c` that `datagram` answers, and whether it is a piggybacked 2.05
    /// with the request's token; `None` when it answers no outstanding request.
    fn answer(&mut self, c: usize, datagram: &[u8]) -> Option<(usize, bool)> {
        let message = Message::decode(Bytes::copy_from_slice(datagram)).ok()?;
        if !matches!(
            message.mtype,
            MessageType::Acknowledgement | MessageType::Reset
        ) {
            return None;
        }
        let slots = &mut self.clients[c].slots;
        let s = slots
            .iter()
            .position(|slot| slot.sent.is_some() && slot.mid == message.message_id)?;
        let ok = message.mtype == MessageType::Acknowledgement
            && message.code == Code::CONTENT
            && message.token.as_bytes() == slots[s].token.to_be_bytes();
        slots[s].sent = None;
        if !ok && self.first_unexpected.is_none() {
            self.first_unexpected = Some(format!(
                "{} {} mid={} token={:?} ({} bytes)",
                message.mtype.name(),
                message.code,
                message.message_id,
                message.token,
                datagram.len()
            ));
        }
        Some((s, ok))
    }

    /// Replaces the sockets that used many Message IDs with fresh ones (new peers).
    fn refresh(&mut self) -> io::Result<()> {
        for (i, client) in self.clients.iter_mut().enumerate() {
            if client.used >= MIDS_PER_SOCKET {
                *client = Client::new(
                    self.server,
                    self.outstanding,
                    client.next_mid as u32 + i as u32,
                )?;
            }
        }
        Ok(())
    }

    /// One slice: every slot busy for `duration`, then the outstanding requests drained.
    fn slice(&mut self, duration: Duration, timeout: Duration) -> io::Result<Tally> {
        self.refresh()?;
        let mut t = Tally::default();
        let mut buf = [0u8; 2048];
        let cpu0 = (process_cpu(self.pid), thread_cpu());
        let start = Instant::now();
        let deadline = start + duration;
        let mut next_check = start + CHECK_EVERY;
        // The slots fill one per client and pass: all at once, the burst would overflow the
        // server's socket buffer (about 130 datagrams at Linux's default of 208 KiB).
        let mut filled = 0;
        loop {
            let now = Instant::now();
            if now >= deadline {
                break;
            }
            if filled < self.outstanding {
                for c in 0..self.clients.len() {
                    self.send(c, filled)?;
                }
                filled += 1;
            }
            for c in 0..self.clients.len() {
                loop {
                    match self.clients[c].socket.recv(&mut buf) {
                        Ok(n) => match self.answer(c, &buf[..n]) {
                            Some((s, ok)) => {
                                if ok {
                                    t.completed += 1;
                                } else {
                                    t.unexpected += 1;
                                }
                                self.send(c, s)?;
                            }
                            None => t.stray += 1,
                        },
                        Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                        Err(e) => return Err(refused(e, self.server)),
                    }
                }
            }
            if now >= next_check {
                next_check = now + CHECK_EVERY;
                for c in 0..self.clients.len() {
                    for s in 0..filled {
                        let sent = self.clients[c].slots[s].sent;
                        if sent.is_some_and(|at| now.duration_since(at) >= timeout) {
                            t.lost += 1;
                            self.send(c, s)?;
                        }
                    }
                }
            }
            thread::sleep(self.pause);
        }
        t.elapsed = start.elapsed();
        let cpu1 = (process_cpu(self.pid), thread_cpu());
        t.server_cpu = cpu1.0.saturating_sub(cpu0.0);
        t.load_cpu = cpu1.1.saturating_sub(cpu0.1);
        t.lost += self.drain(timeout)?;
        Ok(t)
    }

    /// Waits up to `timeout` for the outstanding requests' answers, uncounted; returns how
    /// many never came (their slots are freed all the same).
    fn drain(&mut self, timeout: Duration) -> io::Result<u64> {
        let end = Instant::now() + timeout;
        let mut buf = [0u8; 2048];
        let busy = |load: &Load| {
            load.clients
                .iter()
                .flat_map(|c| &c.slots)
                .filter(|s| s.sent.is_some())
                .count() as u64
        };
        while busy(self) > 0 && Instant::now() < end {
            let mut got = 0;
            for c in 0..self.clients.len() {
                loop {
                    match self.clients[c].socket.recv(&mut buf) {
                        Ok(n) => {
                            got += 1;
                            let _ = self.answer(c, &buf[..n]);
                        }
                        Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                        Err(e) => return Err(refused(e, self.server)),
                    }
                }
            }
            if got == 0 {
                thread::sleep(IDLE);
            }
        }
        let lost = busy(self);
        for slot in self.clients.iter_mut().flat_map(|c| &mut c.slots) {
            slot.sent = None;
        }
        Ok(lost)
    }
}

/// A connected UDP socket reports an ICMP port unreachable as `ConnectionRefused`.
fn refused(e: io::Error, server: SocketAddr) -> io::Error {
    if e.kind() == ErrorKind::ConnectionRefused {
        io::Error::new(
            e.kind(),
            format!("nothing listens on {server} any more: {e}"),
        )
    } else {
        e
    }
}

/// One blocking GET, to check that `target` answers `path` with a piggybacked 2.05 before
/// measuring: `(payload, datagram length)`.
fn probe(target: &Target, options: &Options) -> Result<(Bytes, usize), String> {
    let local: IpAddr = if target.addr.is_ipv4() {
        Ipv4Addr::LOCALHOST.into()
    } else {
        Ipv6Addr::LOCALHOST.into()
    };
    let fail = |e: io::Error| format!("{} ({}): {e}", target.name, target.addr);
    let socket = UdpSocket::bind((local, 0)).map_err(fail)?;
    socket.connect(target.addr).map_err(fail)?;
    socket
        .set_read_timeout(Some(Duration::from_secs(2)))
        .map_err(fail)?;
    let request = Message {
        mtype: MessageType::Confirmable,
        code: Code::GET,
        message_id: 0x5a5a,
        token: Token::new(&[0xbe, 0x4c]).unwrap_or_default(),
        options: options.clone(),
        payload: Bytes::new(),
    };
    let mut wire = BytesMut::new();
    request
        .encode(&mut wire)
        .map_err(|e| format!("cannot encode the request: {e}"))?;
    socket.send(&wire).map_err(fail)?;
    let mut buf = [0u8; 2048];
    let n = socket.recv(&mut buf).map_err(fail)?;
    let answer = Message::decode(Bytes::copy_from_slice(&buf[..n]))
        .map_err(|e| format!("{}: an undecodable answer: {e}", target.name))?;
    if answer.mtype != MessageType::Acknowledgement
        || answer.code != Code::CONTENT
        || answer.message_id != request.message_id
        || answer.token != request.token
    {
        return Err(format!(
            "{} answers GET with {} {} (mid {}, token {:?}), not a piggybacked 2.05: \
             pick another --path",
            target.name,
            answer.mtype.name(),
            answer.code,
            answer.message_id,
            answer.token
        ));
    }
    Ok((answer.payload, n))
}

/// CPU time (user + system, all threads) of process `pid`; zero without one or off Linux.
fn process_cpu(pid: Option<u32>) -> Duration {
    let Some(pid) = pid else {
        return Duration::ZERO;
    };
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return Duration::ZERO;
    };
    // After the command name in parentheses (which may hold spaces): state is field 3, utime
    // and stime are fields 14 and 15.
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map_or("", |(_, rest)| rest)
        .split_whitespace()
        .collect();
    let tick = |i: usize| fields.get(i).and_then(|f| f.parse::<u64>().ok());
    match (tick(11), tick(12)) {
        (Some(u), Some(s)) => Duration::from_millis((u + s) * 1000 / TICKS_PER_SECOND),
        _ => Duration::ZERO,
    }
}

/// CPU time this thread has used (Linux: /proc/thread-self/schedstat); zero elsewhere.
fn thread_cpu() -> Duration {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse().ok())
        .map(Duration::from_nanos)
        .unwrap_or_default()
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    let m = v.len() / 2;
    if v.len() % 2 == 1 {
        v[m]
    } else {
        (v[m - 1] + v[m]) / 2.0
    }
}

/// `1234567` → `1,234,567`.
fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, d) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(d);
    }
    out
}

fn rate(t: &Tally) -> f64 {
    t.completed as f64 / t.elapsed.as_secs_f64().max(1e-9)
}

fn per_request(cpu: Duration, t: &Tally) -> String {
    if t.completed == 0 {
        "—".into()
    } else {
        format!("{:.1} µs", cpu.as_secs_f64() * 1e6 / t.completed as f64)
    }
}

fn run(o: &Opts) -> Result<String, String> {
    let options = uri_path(&o.path)?;
    let mut answers = Vec::new();
    for target in &o.targets {
        let (payload, len) = probe(target, &options)?;
        eprintln!(
            "{} ({}) answers GET {}: ACK 2.05, {len} B datagram, payload {:?}",
            target.name,
            target.addr,
            o.path,
            String::from_utf8_lossy(&payload)
        );
        answers.push(format!(
            "{}: {} B payload ({len} B datagram)",
            target.name,
            payload.len()
        ));
    }
    let mut loads = o
        .targets
        .iter()
        .map(|t| Load::new(t, o, options.clone()))
        .collect::<io::Result<Vec<_>>>()
        .map_err(|e| format!("cannot open the client sockets: {e}"))?;
    let n = o.targets.len();
    let mut totals = vec![Tally::default(); n];
    // ratios[j]: per round, the first server's rate over server j's (j ≥ 1).
    let mut ratios = vec![Vec::with_capacity(o.rounds); n];
    for round in 0..o.rounds {
        let mut tallies = vec![Tally::default(); n];
        for k in 0..n {
            let i = (k + round) % n;
            tallies[i] = loads[i]
                .slice(o.slice, o.timeout)
                .map_err(|e| format!("{}: {e}", o.targets[i].name))?;
            totals[i] += tallies[i];
        }
        let line: Vec<String> = (0..n)
            .map(|i| {
                format!(
                    "{} {} req/s (lost {}, unexpected {})",
                    o.targets[i].name,
                    thousands(rate(&tallies[i]) as u64),
                    tallies[i].lost,
                    tallies[i].unexpected
                )
            })
            .collect();
        eprintln!("round {}: {}", round + 1, line.join(", "));
        for j in 1..n {
            ratios[j].push(rate(&tallies[0]) / rate(&tallies[j]).max(1e-9));
        }
    }

    let names: Vec<&str> = o.targets.iter().map(|t| t.name.as_str()).collect();
    let first = names[0];
    let mut report = format!(
        "# CoAP server requests per second: {}\n\n\
         Confirmable GET {} on loopback, {} client sockets per server with {} requests \
         outstanding each (fresh Message ID and token per request; an answer counts when it is \
         the piggybacked ACK 2.05), {} rounds of one {:.1} s slice per server in rotating \
         order. Answers: {}.\n\n",
        names.join(" vs "),
        o.path,
        o.clients,
        o.outstanding,
        o.rounds,
        o.slice.as_secs_f64(),
        answers.join("; ")
    );
    let mut header = vec!["clients × outstanding".to_owned()];
    header.extend(names.iter().map(|name| format!("{name} req/s")));
    for name in &names[1..] {
        header.push(format!("{first} / {name} (median of rounds)"));
        header.push("min–max".into());
    }
    let with_pid: Vec<usize> = (0..n).filter(|&i| o.targets[i].pid.is_some()).collect();
    header.extend(with_pid.iter().map(|&i| format!("{} CPU/req", names[i])));
    header.push(format!("lost {}", names.join(" · ")));
    let mut row = vec![format!("{} × {}", o.clients, o.outstanding)];
    row.extend(totals.iter().map(|t| thousands(rate(t) as u64)));
    for r in ratios.iter_mut().skip(1) {
        let (lo, hi) = r
            .iter()
            .fold((f64::MAX, f64::MIN), |(lo, hi), &x| (lo.min(x), hi.max(x)));
        row.push(format!("{:.2}×", median(r)));
        row.push(format!("{lo:.2}–{hi:.2}"));
    }
    row.extend(
        with_pid
            .iter()
            .map(|&i| per_request(totals[i].server_cpu, &totals[i])),
    );
    row.push(
        totals
            .iter()
            .map(|t| thousands(t.lost))
            .collect::<Vec<_>>()
            .join(" · "),
    );
    report.push_str(&format!("| {} |\n", header.join(" | ")));
    report.push_str(&format!(
        "|---|{}\n",
        "--:|".repeat(header.len().saturating_sub(1))
    ));
    report.push_str(&format!("| {} |\n\n", row.join(" | ")));
    for (i, t) in totals.iter().enumerate() {
        let cpu = if o.targets[i].pid.is_some() {
            format!(
                "server CPU {:.2} cores busy, ",
                t.server_cpu.as_secs_f64() / t.elapsed.as_secs_f64().max(1e-9)
            )
        } else {
            String::new()
        };
        report.push_str(&format!(
            "- {}: {} answered in {:.1} s; {cpu}load generator {} per request; lost {}, \
             unexpected answers {}, stray datagrams {}{}\n",
            names[i],
            thousands(t.completed),
            t.elapsed.as_secs_f64(),
            per_request(t.load_cpu, t),
            thousands(t.lost),
            thousands(t.unexpected),
            thousands(t.stray),
            loads[i]
                .first_unexpected
                .as_ref()
                .map_or(String::new(), |u| format!(" (first: {u})")),
        ));
    }
    Ok(report)
}

fn main() {
    let o = match parse() {
        Ok(o) => o,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(2);
        }
    };
    let report = match run(&o) {
        Ok(report) => report,
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(1);
        }
    };
    print!("{report}");
    if let Some(path) = o.out {
        std::fs::write(&path, &report).expect("could not write --out");
        eprintln!("report written to {path}");
    }
}
