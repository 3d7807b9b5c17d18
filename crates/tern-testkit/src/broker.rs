//! [`TestBroker`]: a small in-process MQTT broker for the adapter test suites, so that they run
//! under `cargo test` without mosquitto.
//!
//! It speaks 3.1.1 and 5.0 over plain TCP on `127.0.0.1` with tern-mqtt's codec, one reader
//! and one writer thread per connection, and keeps everything in one shared state behind a
//! mutex. It is a broker for tests, not a production one:
//!
//! - **Sessions** are per client identifier: subscriptions, outgoing QoS 1/2 messages in
//!   flight (resent with DUP on resumption), messages queued while offline or behind the
//!   client's Receive Maximum, and incoming QoS 2 identifiers awaiting PUBREL. A session
//!   outlives its connection as the specification says: in 3.1.1 when Clean Session was 0, in
//!   5.0 when the Session Expiry Interval (from CONNECT, or changed by DISCONNECT) is not 0.
//!   So a 5.0 client that wants its session back must send a Session Expiry Interval, as with
//!   any real broker. Expiry is honoured on the next CONNECT.
//! - **Routing**: a PUBLISH goes to every session with a matching subscription, once, at the
//!   highest granted QoS among them (capped by the publication's), with No Local, Retain As
//!   Published and Subscription Identifiers (5.0). Offline persistent sessions queue QoS 1/2
//!   and drop QoS 0. Shared subscriptions (`$share/...`) are matched like ordinary ones (every
//!   member gets a copy).
//! - **Retained** messages are kept per topic (an empty payload clears one) and sent on
//!   SUBSCRIBE according to Retain Handling.
//! - **Wills** are published when a connection ends without DISCONNECT (or with reason 0x04),
//!   including [`TestBroker::kick_all`], a takeover by the same client identifier, a protocol
//!   error and a keep-alive timeout (1.5 × the client's Keep Alive), at once: Will Delay
//!   Interval is ignored.
//! - **Not supported**: topic aliases (none is announced, so a client sending one breaks the
//!   protocol and is disconnected), enhanced authentication (refused with 0x8C), message
//!   expiry, TLS.
//!
//! Bad input from a client never panics the broker: the connection is closed, in 5.0 after a
//! DISCONNECT with the matching reason code.

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use tern_mqtt::packet::MAX_PACKET_SIZE;
use tern_mqtt::{
    Codec, ConnAck, Connect, Decoded, Disconnect, MqttString, Packet, PacketId, Properties,
    Property, PropertyId, ProtocolVersion, PubAck, PubComp, PubRec, PubRel, Publish, QoS,
    ReasonCode, RetainHandling, SubAck, Subscribe, SubscriptionOptions, TopicFilter, TopicName,
    UnsubAck, Unsubscribe,
};

/// How long a new connection may take to send CONNECT.
const CONNECT_WAIT: Duration = Duration::from_secs(10);
/// A backstop against a client that never reads: its connection is dropped after this.
const WRITE_TIMEOUT: Duration = Duration::from_secs(30);

/// An MQTT broker on `127.0.0.1` with an ephemeral port, for tests (see the [module
/// docs](self) for what it implements). Every method blocks only briefly on the shared state;
/// dropping it stops the listener, closes every connection and joins every thread.
///
/// ```
/// use tern_testkit::broker::TestBroker;
///
/// let broker = TestBroker::start();
/// let _addr = broker.addr(); // connect a client here
/// assert_eq!(broker.connections(), 0);
/// ```
pub struct TestBroker {
    addr: SocketAddr,
    shared: Arc<Shared>,
    acceptor: Option<JoinHandle<()>>,
}

struct Shared {
    state: Mutex<State>,
    /// Notified whenever the state changed (a packet was handled, a connection closed).
    changed: Condvar,
    shutdown: AtomicBool,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[derive(Default)]
struct State {
    conns: HashMap<u64, Conn>,
    sessions: HashMap<String, Session>,
    retained: BTreeMap<String, Publish>,
    received: Vec<Publish>,
    connections: usize,
    next_conn: u64,
    next_assigned: u64,
    receive_maximum: Option<u16>,
    pause_acks: bool,
    refuse_next: Option<ReasonCode>,
    silent: bool,
    /// Every accepted socket with its two threads, for `Drop`.
    threads: Vec<(TcpStream, Vec<JoinHandle<()>>)>,
}

/// One live network connection.
struct Conn {
    /// To the writer thread; dropping it flushes what is queued and closes the socket.
    tx: Sender<Bytes>,
    /// For an abrupt close.
    socket: TcpStream,
    version: ProtocolVersion,
    max_outgoing: usize,
    /// Set once CONNECT is accepted.
    client_id: Option<String>,
    will: Option<tern_mqtt::Will>,
    /// PUBACK, PUBREC and PUBCOMP held back by [`TestBroker::pause_acks`].
    withheld: Vec<Packet>,
}

struct Session {
    /// The connection it is attached to, if online.
    conn: Option<u64>,
    /// Session Expiry Interval in seconds (0: ends with the connection).
    expiry: u32,
    offline_since: Option<Instant>,
    forgotten: bool,
    subs: BTreeMap<String, Sub>,
    /// Outgoing QoS 1/2 in send order; `released` once PUBREL went out.
    inflight: VecDeque<Flight>,
    queue: VecDeque<Msg>,
    next_pid: u16,
    incoming_qos2: HashSet<u16>,
    /// The client's Receive Maximum.
    receive_max: usize,
}

struct Sub {
    filter: TopicFilter,
    options: SubscriptionOptions,
    id: Option<u32>,
}

/// A message for one session: `publish` has the delivery QoS and RETAIN, the publisher's
/// forwardable properties and no packet identifier.
#[derive(Clone)]
struct Msg {
    publish: Publish,
    sub_ids: Vec<u32>,
}

struct Flight {
    pid: PacketId,
    msg: Msg,
    released: bool,
}

enum Flow {
    Go,
    Stop,
    /// CONNECT accepted with this Keep Alive.
    KeepAlive(u16),
}

impl TestBroker {
    /// Binds `127.0.0.1:0` and starts accepting connections.
    ///
    /// # Panics
    ///
    /// When the listener cannot be bound or its thread cannot be started.
    pub fn start() -> TestBroker {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        let addr = listener.local_addr().expect("local address");
        let shared = Arc::new(Shared {
            state: Mutex::new(State::default()),
            changed: Condvar::new(),
            shutdown: AtomicBool::new(false),
        });
        let s = Arc::clone(&shared);
        let acceptor = thread::Builder::new()
            .name("test-broker-accept".into())
            .spawn(move || accept_loop(&listener, &s))
            .expect("spawn the accept thread");
        TestBroker {
            addr,
            shared,
            acceptor: Some(acceptor),
        }
    }

    /// The address clients connect to.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The port clients connect to (on `127.0.0.1`).
    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// Closes every client connection abruptly (no DISCONNECT; wills are published), to test
    /// reconnection. Sessions are kept as after any lost connection; when this returns, every
    /// session is offline.
    pub fn kick_all(&self) {
        let mut st = self.shared.lock();
        let ids: Vec<u64> = st.conns.keys().copied().collect();
        for id in ids {
            st.close(id, true, true);
        }
        self.shared.changed.notify_all();
    }

    /// Forgets every session: the next CONNECT of any client gets Session Present 0 and a new
    /// session. Connections stay up; their sessions end with them.
    pub fn forget_sessions(&self) {
        let mut st = self.shared.lock();
        st.sessions.retain(|_, s| s.conn.is_some());
        for s in st.sessions.values_mut() {
            s.forgotten = true;
        }
    }

    /// The Receive Maximum announced in later 5.0 CONNACKs (`None` or 0: not announced, so
    /// 65,535). A client with more QoS 1/2 publications unacknowledged than this is
    /// disconnected with 0x93, as the specification asks.
    pub fn set_receive_maximum(&self, max: Option<u16>) {
        self.shared.lock().receive_maximum = max.filter(|&m| m > 0);
    }

    /// Stops (`true`) or resumes (`false`) acknowledging clients' publications (PUBACK,
    /// PUBREC and PUBCOMP), to keep them in flight: a QoS 2 PUBLISH that arrives while paused
    /// stays unacknowledged, so a reconnecting client resends the PUBLISH itself (with DUP,
    /// which is acknowledged and not routed again); one whose PUBREL arrives while paused
    /// waits for PUBCOMP. Resuming sends every acknowledgement held back on connections still
    /// up; those of closed connections are lost (the client resends).
    pub fn pause_acks(&self, pause: bool) {
        let mut st = self.shared.lock();
        st.pause_acks = pause;
        if !pause {
            for conn in st.conns.values_mut() {
                for packet in std::mem::take(&mut conn.withheld) {
                    conn.send(&packet);
                }
            }
        }
    }

    /// Publishes from the broker itself, as if a client had (retained messages included). Not
    /// recorded in [`TestBroker::received`].
    ///
    /// # Panics
    ///
    /// When `topic` is not a valid topic name.
    pub fn publish(&self, topic: &str, payload: impl Into<Bytes>, qos: QoS, retain: bool) {
        let mut p = Publish::new(TopicName::new(topic).expect("a valid topic name"), payload);
        p.qos = qos;
        p.retain = retain;
        let mut st = self.shared.lock();
        st.route(&p, None);
        self.shared.changed.notify_all();
    }

    /// Every PUBLISH that clients sent, in arrival order (resends with DUP included).
    pub fn received(&self) -> Vec<Publish> {
        self.shared.lock().received.clone()
    }

    /// How many CONNECTs were accepted so far (refused ones do not count).
    pub fn connections(&self) -> usize {
        self.shared.lock().connections
    }

    /// Answers the next CONNECT with a CONNACK carrying `code` and closes the connection. In
    /// 3.1.1 a code without a 3.1.1 return code becomes Server unavailable; a code that is not
    /// an error becomes Unspecified error.
    pub fn refuse_next_connect(&self, code: ReasonCode) {
        self.shared.lock().refuse_next = Some(code);
    }

    /// Stops (`true`) or resumes answering PINGREQ, so that clients detect a lost keep alive.
    pub fn set_keep_alive_silence(&self, silent: bool) {
        self.shared.lock().silent = silent;
    }

    /// Waits until clients have sent at least `n` PUBLISH packets and returns them all, as
    /// [`TestBroker::received`].
    ///
    /// # Panics
    ///
    /// When `timeout` passes first.
    pub fn wait_received(&self, n: usize, timeout: Duration) -> Vec<Publish> {
        self.wait_until(timeout, &format!("{n} PUBLISH packets"), |st| {
            (st.received.len() >= n).then(|| st.received.clone())
        })
    }

    /// Waits until at least `n` CONNECTs were accepted ([`TestBroker::connections`]).
    ///
    /// # Panics
    ///
    /// When `timeout` passes first.
    pub fn wait_connections(&self, n: usize, timeout: Duration) {
        self.wait_until(timeout, &format!("{n} connections"), |st| {
            (st.connections >= n).then_some(())
        });
    }

    /// Whether a client with this identifier is connected now.
    pub fn is_online(&self, client_id: &str) -> bool {
        let st = self.shared.lock();
        st.sessions.get(client_id).is_some_and(|s| s.conn.is_some())
    }

    fn wait_until<T>(
        &self,
        timeout: Duration,
        what: &str,
        mut done: impl FnMut(&State) -> Option<T>,
    ) -> T {
        let deadline = Instant::now() + timeout;
        let mut st = self.shared.lock();
        loop {
            if let Some(v) = done(&st) {
                return v;
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                drop(st);
                panic!("test broker: no {what} within {timeout:?}");
            }
            st = match self.shared.changed.wait_timeout(st, left) {
                Ok((g, _)) => g,
                Err(e) => e.into_inner().0,
            };
        }
    }
}

impl Drop for TestBroker {
    fn drop(&mut self) {
        self.shared.shutdown.store(true, Ordering::SeqCst);
        // Wake the accept thread, which then sees the flag.
        let _ = TcpStream::connect_timeout(&self.addr, Duration::from_secs(1));
        if let Some(h) = self.acceptor.take() {
            let _ = h.join();
        }
        let threads = {
            let mut st = self.shared.lock();
            st.conns.clear();
            std::mem::take(&mut st.threads)
        };
        for (socket, handles) in threads {
            let _ = socket.shutdown(Shutdown::Both);
            for h in handles {
                let _ = h.join();
            }
        }
    }
}

fn accept_loop(listener: &TcpListener, shared: &Arc<Shared>) {
    for stream in listener.incoming() {
        if shared.shutdown.load(Ordering::SeqCst) {
            return;
        }
        let Ok(stream) = stream else {
            thread::sleep(Duration::from_millis(10));
            continue;
        };
        let _ = stream.set_nodelay(true);
        let _ = stream.set_write_timeout(Some(WRITE_TIMEOUT));
        let (Ok(writer), Ok(socket), Ok(kept)) =
            (stream.try_clone(), stream.try_clone(), stream.try_clone())
        else {
            continue;
        };
        let mut st = shared.lock();
        if shared.shutdown.load(Ordering::SeqCst) {
            return;
        }
        st.threads
            .retain(|(_, hs)| !hs.iter().all(JoinHandle::is_finished));
        st.next_conn += 1;
        let id = st.next_conn;
        let (tx, rx) = mpsc::channel();
        st.conns.insert(
            id,
            Conn {
                tx,
                socket,
                version: ProtocolVersion::V5,
                max_outgoing: MAX_PACKET_SIZE,
                client_id: None,
                will: None,
                withheld: Vec::new(),
            },
        );
        let s = Arc::clone(shared);
        let w = thread::Builder::new()
            .name(format!("test-broker-write-{id}"))
            .spawn(move || write_loop(rx, writer));
        let r = thread::Builder::new()
            .name(format!("test-broker-read-{id}"))
            .spawn(move || read_loop(&s, id, stream));
        let handles: Vec<JoinHandle<()>> = [w, r].into_iter().flatten().collect();
        if handles.len() < 2 {
            st.close(id, false, true);
        }
        st.threads.push((kept, handles));
    }
}

fn write_loop(rx: Receiver<Bytes>, mut stream: TcpStream) {
    for bytes in rx {
        if stream.write_all(&bytes).is_err() {
            break;
        }
    }
    let _ = stream.shutdown(Shutdown::Both);
}

fn read_loop(shared: &Shared, id: u64, mut stream: TcpStream) {
    let mut codec = Codec::server();
    let mut buf = BytesMut::new();
    let mut chunk = vec![0u8; 8192];
    let _ = stream.set_read_timeout(Some(CONNECT_WAIT));
    'conn: loop {
        // A read timeout is a Keep Alive (or CONNECT) timeout: the connection is lost.
        let n = match stream.read(&mut chunk) {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        buf.extend_from_slice(chunk.get(..n).unwrap_or_default());
        loop {
            let flow = match codec.decode_mut(&mut buf) {
                Ok(Decoded::Incomplete { .. }) => break,
                Ok(Decoded::Packet(p)) => shared.lock().handle(id, p),
                Err(e) => {
                    shared.lock().protocol_error(id, e.reason_code());
                    Flow::Stop
                }
            };
            shared.changed.notify_all();
            match flow {
                Flow::Go => {}
                Flow::Stop => break 'conn,
                Flow::KeepAlive(0) => {
                    let _ = stream.set_read_timeout(None);
                }
                Flow::KeepAlive(secs) => {
                    let limit = Duration::from_millis(u64::from(secs) * 1_500);
                    let _ = stream.set_read_timeout(Some(limit));
                }
            }
        }
    }
    shared.lock().close(id, true, true);
    shared.changed.notify_all();
}

impl Conn {
    /// Queues `packet` for the writer; `false` when it cannot be encoded for this client (too
    /// large for its Maximum Packet Size), and then nothing is sent.
    fn send(&self, packet: &Packet) -> bool {
        let mut buf = BytesMut::new();
        let codec = Codec::new(self.version).with_max_outgoing(self.max_outgoing);
        if codec.encode(packet, &mut buf).is_err() {
            return false;
        }
        // A closed writer means the connection is going away; the reader notices.
        let _ = self.tx.send(buf.freeze());
        true
    }
}

/// `send` to connection `id`, if it is still up.
fn send(conns: &HashMap<u64, Conn>, id: u64, packet: &Packet) -> bool {
    conns.get(&id).is_none_or(|c| c.send(packet))
}

fn is_v5(conns: &HashMap<u64, Conn>, id: u64) -> bool {
    conns.get(&id).is_some_and(|c| c.version.is_v5())
}

/// The publisher's properties that travel with a message to subscribers.
fn forwardable(props: &Properties) -> Properties {
    let keep = props.iter().filter(|p| {
        !matches!(
            p.id(),
            PropertyId::TopicAlias
                | PropertyId::SubscriptionIdentifier
                | PropertyId::WillDelayInterval
        )
    });
    Properties::from_properties(keep).unwrap_or_default()
}

/// The PUBLISH that carries `msg` to a client.
fn build(v5: bool, msg: &Msg, pid: Option<PacketId>, dup: bool) -> Packet {
    let mut p = msg.publish.clone();
    p.packet_id = pid;
    p.dup = dup;
    p.properties = if !v5 {
        Properties::new()
    } else if msg.sub_ids.is_empty() {
        p.properties
    } else {
        let ids = msg
            .sub_ids
            .iter()
            .map(|&i| Property::SubscriptionIdentifier(i));
        Properties::from_properties(p.properties.iter().chain(ids)).unwrap_or(p.properties)
    };
    Packet::Publish(p)
}

impl Session {
    fn new() -> Session {
        Session {
            conn: None,
            expiry: 0,
            offline_since: None,
            forgotten: false,
            subs: BTreeMap::new(),
            inflight: VecDeque::new(),
            queue: VecDeque::new(),
            next_pid: 0,
            incoming_qos2: HashSet::new(),
            receive_max: usize::from(u16::MAX),
        }
    }

    /// Whether the session still exists for a CONNECT arriving at `now`.
    fn usable(&self, now: Instant) -> bool {
        !self.forgotten
            && match self.offline_since {
                None => true,
                Some(_) if self.expiry == u32::MAX => true,
                Some(t) => now.duration_since(t) < Duration::from_secs(u64::from(self.expiry)),
            }
    }

    fn allocate_pid(&mut self) -> Option<PacketId> {
        for _ in 0..u16::MAX {
            self.next_pid = self.next_pid.checked_add(1).unwrap_or(1);
            let pid = PacketId::new(self.next_pid)?;
            if !self.inflight.iter().any(|f| f.pid == pid) {
                return Some(pid);
            }
        }
        None
    }
}

impl State {
    /// Handles one packet from connection `id`.
    fn handle(&mut self, id: u64, packet: Packet) -> Flow {
        let Some(conn) = self.conns.get(&id) else {
            return Flow::Stop; // closed meanwhile (kicked, taken over)
        };
        let Some(cid) = conn.client_id.clone() else {
            return match packet {
                Packet::Connect(c) => self.on_connect(id, *c),
                _ => {
                    self.close(id, false, true);
                    Flow::Stop
                }
            };
        };
        match packet {
            Packet::Publish(p) => return self.on_publish(id, &cid, p),
            Packet::PubAck(a) => self.on_ack(id, &cid, a.packet_id, None),
            Packet::PubRec(r) => self.on_ack(id, &cid, r.packet_id, Some(r.reason_code)),
            Packet::PubComp(c) => {
                if let Some(s) = self.sessions.get_mut(&cid) {
                    s.inflight.retain(|f| !(f.pid == c.packet_id && f.released));
                }
                self.pump(&cid);
            }
            Packet::PubRel(r) => {
                // Success even for an unknown identifier: after a reconnection it is one whose
                // PUBCOMP was lost (for instance held back by `pause_acks`).
                if let Some(s) = self.sessions.get_mut(&cid) {
                    s.incoming_qos2.remove(&r.packet_id.get());
                }
                self.acknowledge(id, Packet::PubComp(PubComp::new(r.packet_id)));
            }
            Packet::Subscribe(s) => self.on_subscribe(id, &cid, s),
            Packet::Unsubscribe(u) => self.on_unsubscribe(id, &cid, u),
            Packet::PingReq => {
                if !self.silent {
                    send(&self.conns, id, &Packet::PingResp);
                }
            }
            Packet::Disconnect(d) => {
                if let (Some(e), Some(s)) = (
                    d.properties.session_expiry_interval(),
                    self.sessions.get_mut(&cid),
                ) {
                    s.expiry = e;
                }
                let will = d.reason_code == ReasonCode::DisconnectWithWillMessage;
                self.close(id, will, false);
                return Flow::Stop;
            }
            // A second CONNECT, a server-to-client packet, or AUTH (not supported).
            _ => {
                self.protocol_error(id, ReasonCode::ProtocolError);
                return Flow::Stop;
            }
        }
        Flow::Go
    }

    fn on_connect(&mut self, id: u64, c: Connect) -> Flow {
        let v5 = c.protocol.is_v5();
        if let Some(conn) = self.conns.get_mut(&id) {
            conn.version = c.protocol;
            if let Some(max) = c.properties.maximum_packet_size() {
                conn.max_outgoing = usize::try_from(max).unwrap_or(MAX_PACKET_SIZE);
            }
        }
        let refusal = self.refuse_next.take().or_else(|| {
            if c.properties.authentication_method().is_some() {
                Some(ReasonCode::BadAuthenticationMethod)
            } else if !v5 && c.client_id.is_empty() && !c.clean_start {
                Some(ReasonCode::ClientIdentifierNotValid) // [MQTT-3.1.3-8]
            } else {
                None
            }
        });
        if let Some(mut code) = refusal {
            if !code.is_error() {
                code = ReasonCode::UnspecifiedError;
            }
            if !v5 && code.to_v3_connack().is_none() {
                code = ReasonCode::ServerUnavailable;
            }
            let mut ack = ConnAck::new(false);
            ack.reason_code = code;
            send(&self.conns, id, &Packet::ConnAck(ack));
            self.close(id, false, false);
            return Flow::Stop;
        }
        let assigned = c.client_id.is_empty();
        let cid = if assigned {
            self.next_assigned += 1;
            format!("tern-testkit-{}", self.next_assigned)
        } else {
            c.client_id.as_str().to_owned()
        };
        // Session takeover [MQTT-3.1.4-3]: the old connection goes, its will is published.
        let old = self.sessions.get_mut(&cid).and_then(|s| s.conn.take());
        if let Some(old) = old {
            if is_v5(&self.conns, old) {
                let d = Disconnect::with_reason(ReasonCode::SessionTakenOver);
                send(&self.conns, old, &Packet::Disconnect(d));
            }
            self.close(old, true, false);
        }
        let now = Instant::now();
        let present = !c.clean_start && self.sessions.get(&cid).is_some_and(|s| s.usable(now));
        if !present {
            self.sessions.insert(cid.clone(), Session::new());
        }
        let Some(s) = self.sessions.get_mut(&cid) else {
            return Flow::Stop;
        };
        s.conn = Some(id);
        s.offline_since = None;
        s.expiry = match (v5, c.clean_start) {
            (true, _) => c.properties.session_expiry_interval().unwrap_or(0),
            (false, true) => 0,
            (false, false) => u32::MAX,
        };
        s.receive_max = usize::from(c.properties.receive_maximum().unwrap_or(u16::MAX));
        if let Some(conn) = self.conns.get_mut(&id) {
            conn.client_id = Some(cid.clone());
            conn.will = c.will;
        }
        self.connections += 1;

        let mut props = Vec::new();
        if v5 {
            props.extend(self.receive_maximum.map(Property::ReceiveMaximum));
            if assigned {
                props.extend(
                    MqttString::new(&cid)
                        .ok()
                        .map(Property::AssignedClientIdentifier),
                );
            }
        }
        let mut ack = ConnAck::new(present);
        ack.properties = Properties::from_properties(props).unwrap_or_default();
        send(&self.conns, id, &Packet::ConnAck(ack));

        // Resume: unacknowledged PUBLISH (DUP) and PUBREL, in their order [MQTT-4.4.0-1].
        if let Some(s) = self.sessions.get(&cid) {
            for f in &s.inflight {
                let packet = if f.released {
                    Packet::PubRel(PubRel::new(f.pid))
                } else {
                    build(v5, &f.msg, Some(f.pid), true)
                };
                send(&self.conns, id, &packet);
            }
        }
        self.pump(&cid);
        Flow::KeepAlive(c.keep_alive)
    }

    fn on_publish(&mut self, id: u64, cid: &str, p: Publish) -> Flow {
        self.received.push(p.clone());
        if p.topic.is_empty() || p.properties.contains(PropertyId::TopicAlias) {
            // No Topic Alias Maximum was announced, so none may be used.
            self.protocol_error(id, ReasonCode::TopicAliasInvalid);
            return Flow::Stop;
        }
        let Some(pid) = p.packet_id else {
            self.route(&p, Some(cid));
            return Flow::Go;
        };
        let (Some(conn), Some(s)) = (self.conns.get(&id), self.sessions.get_mut(cid)) else {
            return Flow::Stop;
        };
        let repeat = p.qos == QoS::ExactlyOnce && s.incoming_qos2.contains(&pid.get());
        // QoS 2 counts until PUBCOMP: by its identifier until PUBREL, then as a held PUBCOMP.
        let held = conn.withheld.iter();
        let unacked =
            held.filter(|a| !matches!(a, Packet::PubRec(_))).count() + s.incoming_qos2.len();
        if let (Some(max), true, false) = (self.receive_maximum, conn.version.is_v5(), repeat) {
            if unacked >= usize::from(max) {
                self.protocol_error(id, ReasonCode::ReceiveMaximumExceeded);
                return Flow::Stop;
            }
        }
        if p.qos == QoS::ExactlyOnce {
            s.incoming_qos2.insert(pid.get());
            self.acknowledge(id, Packet::PubRec(PubRec::new(pid)));
        } else {
            self.acknowledge(id, Packet::PubAck(PubAck::new(pid)));
        }
        if !repeat {
            self.route(&p, Some(cid));
        }
        Flow::Go
    }

    /// Sends PUBACK, PUBREC or PUBCOMP, or holds it back (once) while acknowledgements are
    /// paused.
    fn acknowledge(&mut self, id: u64, ack: Packet) {
        let paused = self.pause_acks;
        if let Some(conn) = self.conns.get_mut(&id) {
            if paused {
                if !conn.withheld.contains(&ack) {
                    conn.withheld.push(ack);
                }
            } else {
                conn.send(&ack);
            }
        }
    }

    /// A client's PUBACK (`rec` None) or PUBREC for an outgoing message.
    fn on_ack(&mut self, id: u64, cid: &str, pid: PacketId, rec: Option<ReasonCode>) {
        let Some(s) = self.sessions.get_mut(cid) else {
            return;
        };
        let want = if rec.is_some() {
            QoS::ExactlyOnce
        } else {
            QoS::AtLeastOnce
        };
        let at = s
            .inflight
            .iter()
            .position(|f| f.pid == pid && f.msg.publish.qos == want);
        match (at, rec) {
            (Some(i), Some(code)) if !code.is_error() => {
                if let Some(f) = s.inflight.get_mut(i) {
                    f.released = true;
                }
                send(&self.conns, id, &Packet::PubRel(PubRel::new(pid)));
            }
            (Some(i), _) => {
                s.inflight.remove(i);
            }
            (None, _) => {} // a late or repeated acknowledgement: tolerated
        }
        self.pump(cid);
    }

    fn on_subscribe(&mut self, id: u64, cid: &str, sub: Subscribe) {
        let sub_id = sub.properties.subscription_identifiers().next();
        let Some(s) = self.sessions.get_mut(cid) else {
            return;
        };
        let mut codes = Vec::new();
        let mut retained = Vec::new();
        for x in sub.subscriptions {
            let key = x.filter.as_str().to_owned();
            let is_new = !s.subs.contains_key(&key);
            codes.push(match x.options.qos {
                QoS::AtMostOnce => ReasonCode::Success,
                QoS::AtLeastOnce => ReasonCode::GrantedQoS1,
                QoS::ExactlyOnce => ReasonCode::GrantedQoS2,
            });
            let send_retained = x.filter.shared().is_none()
                && match x.options.retain_handling {
                    RetainHandling::SendAtSubscribe => true,
                    RetainHandling::SendAtSubscribeIfNew => is_new,
                    RetainHandling::DoNotSend => false,
                };
            if send_retained {
                for r in self.retained.values() {
                    if x.filter.matches(&r.topic) {
                        let mut publish = r.clone();
                        publish.qos = r.qos.min(x.options.qos);
                        retained.push(Msg {
                            publish,
                            sub_ids: sub_id.into_iter().collect(),
                        });
                    }
                }
            }
            let entry = Sub {
                filter: x.filter,
                options: x.options,
                id: sub_id,
            };
            s.subs.insert(key, entry);
        }
        let ack = SubAck {
            packet_id: sub.packet_id,
            properties: Properties::new(),
            reason_codes: codes,
        };
        send(&self.conns, id, &Packet::SubAck(ack));
        for msg in retained {
            self.deliver(cid, msg);
        }
    }

    fn on_unsubscribe(&mut self, id: u64, cid: &str, u: Unsubscribe) {
        let v5 = is_v5(&self.conns, id);
        let Some(s) = self.sessions.get_mut(cid) else {
            return;
        };
        let mut codes = Vec::new();
        for f in &u.filters {
            let existed = s.subs.remove(f.as_str()).is_some();
            if v5 {
                codes.push(if existed {
                    ReasonCode::Success
                } else {
                    ReasonCode::NoSubscriptionExisted
                });
            }
        }
        let ack = UnsubAck {
            packet_id: u.packet_id,
            properties: Properties::new(),
            reason_codes: codes,
        };
        send(&self.conns, id, &Packet::UnsubAck(ack));
    }

    /// Publishes `p` to every matching session (and keeps it if retained). `from` is the
    /// publishing client, for No Local.
    fn route(&mut self, p: &Publish, from: Option<&str>) {
        let props = forwardable(&p.properties);
        if p.retain {
            let topic = p.topic.as_str().to_owned();
            if p.payload.is_empty() {
                self.retained.remove(&topic);
            } else {
                let mut r = Publish::new(p.topic.clone(), p.payload.clone());
                r.qos = p.qos;
                r.retain = true;
                r.properties = props.clone();
                self.retained.insert(topic, r);
            }
        }
        let mut targets = Vec::new();
        for (cid, s) in &self.sessions {
            let mut best: Option<(QoS, bool)> = None;
            let mut sub_ids = Vec::new();
            for sub in s.subs.values() {
                if !sub.filter.matches(&p.topic)
                    || (sub.options.no_local && from == Some(cid.as_str()))
                {
                    continue;
                }
                let qos = sub.options.qos.min(p.qos);
                let retain = sub.options.retain_as_published && p.retain;
                best = Some(best.map_or((qos, retain), |(q, r)| (q.max(qos), r || retain)));
                sub_ids.extend(sub.id);
            }
            if let Some((qos, retain)) = best {
                let mut publish = Publish::new(p.topic.clone(), p.payload.clone());
                publish.qos = qos;
                publish.retain = retain;
                publish.properties = props.clone();
                targets.push((cid.clone(), Msg { publish, sub_ids }));
            }
        }
        for (cid, msg) in targets {
            self.deliver(&cid, msg);
        }
    }

    /// Sends `msg` to session `cid` now (QoS 0, or QoS 1/2 within its Receive Maximum) or
    /// queues it (QoS 1/2). QoS 0 for an offline session is dropped.
    fn deliver(&mut self, cid: &str, msg: Msg) {
        let Some(s) = self.sessions.get_mut(cid) else {
            return;
        };
        if msg.publish.qos == QoS::AtMostOnce {
            if let Some(id) = s.conn {
                send(
                    &self.conns,
                    id,
                    &build(is_v5(&self.conns, id), &msg, None, false),
                );
            }
            return;
        }
        s.queue.push_back(msg);
        self.pump(cid);
    }

    /// Sends queued messages of session `cid` while it is online and below its client's
    /// Receive Maximum.
    fn pump(&mut self, cid: &str) {
        let Some(s) = self.sessions.get_mut(cid) else {
            return;
        };
        let Some(id) = s.conn else {
            return;
        };
        let v5 = is_v5(&self.conns, id);
        while s.inflight.len() < s.receive_max {
            let Some(msg) = s.queue.pop_front() else {
                return;
            };
            let Some(pid) = s.allocate_pid() else {
                s.queue.push_front(msg);
                return;
            };
            // One too large for the client is dropped [MQTT-3.1.2-25].
            if send(&self.conns, id, &build(v5, &msg, Some(pid), false)) {
                s.inflight.push_back(Flight {
                    pid,
                    msg,
                    released: false,
                });
            }
        }
    }

    /// Ends connection `id` after a protocol error: in 5.0 with DISCONNECT, and the will.
    fn protocol_error(&mut self, id: u64, code: ReasonCode) {
        if let Some(conn) = self.conns.get(&id) {
            if conn.client_id.is_some() && conn.version.is_v5() {
                conn.send(&Packet::Disconnect(Disconnect::with_reason(code)));
            }
        }
        self.close(id, true, false);
    }

    /// Ends connection `id` (if still up): at once (`abrupt`) or after writing what is
    /// queued. Its session goes offline, or ends if it does not outlive the connection.
    fn close(&mut self, id: u64, publish_will: bool, abrupt: bool) {
        let Some(conn) = self.conns.remove(&id) else {
            return;
        };
        if abrupt {
            let _ = conn.socket.shutdown(Shutdown::Both);
        }
        let Conn {
            client_id, will, ..
        } = conn;
        let Some(cid) = client_id else {
            return;
        };
        if let Some(s) = self.sessions.get_mut(&cid) {
            if s.conn == Some(id) {
                s.conn = None;
                s.offline_since = Some(Instant::now());
                if s.expiry == 0 || s.forgotten {
                    self.sessions.remove(&cid);
                }
            }
        }
        if let (true, Some(w)) = (publish_will, will) {
            let mut p = Publish::new(w.topic, w.payload);
            p.qos = w.qos;
            p.retain = w.retain;
            p.properties = w.properties;
            self.route(&p, Some(&cid));
        }
    }
}

#[cfg(test)]
mod tests;

/// A scripted 5.0 broker on `127.0.0.1` for tests of reason codes: it accepts one
/// connection, answers CONNACK, and then every PUBLISH with the
/// given PUBACK (QoS 1) or PUBREC (QoS 2) reason code. Returns its port.
pub fn scripted_acks(qos1_code: ReasonCode, qos2_code: ReasonCode) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    thread::spawn(move || {
        let (mut socket, _) = listener.accept().unwrap();
        let mut codec = Codec::server();
        let mut buf = BytesMut::new();
        let mut chunk = [0; 4096];
        loop {
            let n = match socket.read(&mut chunk) {
                Ok(0) | Err(_) => return,
                Ok(n) => n,
            };
            buf.extend_from_slice(&chunk[..n]);
            while let Ok(Decoded::Packet(packet)) = codec.decode(&mut buf) {
                let answer = match packet {
                    Packet::Connect(c) => {
                        codec.set_version(c.protocol);
                        Packet::ConnAck(ConnAck::new(false))
                    }
                    Packet::Publish(p) if p.qos == QoS::AtLeastOnce => {
                        let mut ack = PubAck::new(p.packet_id.unwrap());
                        ack.reason_code = qos1_code;
                        Packet::PubAck(ack)
                    }
                    Packet::Publish(p) => {
                        let mut rec = PubRec::new(p.packet_id.unwrap());
                        rec.reason_code = qos2_code;
                        Packet::PubRec(rec)
                    }
                    Packet::Disconnect(_) => return,
                    _ => continue,
                };
                let mut out = BytesMut::new();
                answer
                    .encode(ProtocolVersion::V5, usize::MAX, &mut out)
                    .unwrap();
                socket.write_all(&out).unwrap();
            }
        }
    });
    port
}
