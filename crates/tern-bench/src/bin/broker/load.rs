//! The connections and the load: MQTT 3.1.1 over tokio TCP streams, encoded and decoded with
//! tern-mqtt's codec, on one thread (a current-thread runtime and a `LocalSet`), so that the
//! generator takes at most one of the machine's two cores.
//!
//! A scenario for one broker is a [`Scenario`]: its publishers ("flows") and subscribers, and
//! a shared [`State`] that every connection's task updates. A flow may have at most `window`
//! messages not yet delivered to every subscriber (and, at QoS 1, not more than `window`
//! without PUBACK): a closed loop, so that no broker is fed faster than it delivers and the
//! latency measures the broker, not a queue the generator built up. Each payload carries the
//! flow, a sequence number and the send time in nanoseconds since the generator started;
//! the subscriber that receives it computes the latency and checks the sequence: a number
//! skipped is a lost message, a number seen before a duplicate.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::io;
use std::net::SocketAddr;
use std::rc::Rc;
use std::time::{Duration, Instant};

use bytes::{Buf, Bytes, BytesMut};
use futures_util::StreamExt;
use futures_util::stream::FuturesUnordered;
use tern_mqtt::{
    Codec, Connect, Decoded, MqttString, Packet, PacketId, ProtocolVersion, PubAck, Publish, QoS,
    Subscribe, Subscription, TopicFilter, TopicName,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::sync::Notify;
use tokio::task::JoinHandle;

use crate::procfs;
use crate::stats::Histogram;

/// Every connection speaks 3.1.1, which every broker supports.
const VERSION: ProtocolVersion = ProtocolVersion::V3_1_1;

/// Long enough that no connection needs a PINGREQ during a run.
pub(crate) const KEEP_ALIVE_SECS: u16 = 3600;

/// The payload's header: flow (u32), sequence (u64), send time (u64 ns).
pub(crate) const HEADER: usize = 20;

/// Publications a flow encodes into one write at most.
const BATCH: usize = 64;

/// How long a CONNECT or SUBSCRIBE may wait for its answer.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// The generator's clock: payload times are nanoseconds since this instant.
#[derive(Clone, Copy)]
pub(crate) struct Clock(Instant);

impl Clock {
    pub(crate) fn new() -> Clock {
        Clock(Instant::now())
    }

    fn now(self) -> u64 {
        self.0.elapsed().as_nanos() as u64
    }
}

/// Opens a TCP connection and completes CONNECT / CONNACK. Returns the stream and whatever
/// arrived after the CONNACK.
pub(crate) async fn connect(
    addr: SocketAddr,
    client_id: &str,
) -> io::Result<(TcpStream, BytesMut)> {
    let work = async {
        let mut stream = TcpStream::connect(addr).await?;
        stream.set_nodelay(true)?;
        let codec = Codec::new(VERSION);
        let mut connect = Connect::new(VERSION, MqttString::new(client_id).map_err(invalid)?);
        connect.keep_alive = KEEP_ALIVE_SECS;
        let mut wire = BytesMut::new();
        codec
            .encode(&Packet::Connect(Box::new(connect)), &mut wire)
            .map_err(invalid)?;
        stream.write_all(&wire).await?;
        let mut input = BytesMut::with_capacity(64);
        match next_packet(&mut stream, &codec, &mut input).await? {
            Packet::ConnAck(ack) if !ack.reason_code.is_error() => Ok((stream, input)),
            Packet::ConnAck(ack) => Err(io::Error::other(format!(
                "CONNACK refused the connection: {}",
                ack.reason_code.name()
            ))),
            other => Err(io::Error::other(format!(
                "expected CONNACK, got {:?}",
                other.packet_type()
            ))),
        }
    };
    tokio::time::timeout(HANDSHAKE_TIMEOUT, work)
        .await
        .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "no CONNACK within 10 s"))?
}

/// Subscribes to `filter` at `qos` and waits for the SUBACK.
async fn subscribe(
    stream: &mut TcpStream,
    input: &mut BytesMut,
    filter: &str,
    qos: QoS,
) -> io::Result<()> {
    let codec = Codec::new(VERSION);
    let subscribe = Subscribe::new(
        PacketId::MIN,
        vec![Subscription::new(
            TopicFilter::new(filter).map_err(invalid)?,
            qos,
        )],
    );
    let mut wire = BytesMut::new();
    codec
        .encode(&Packet::Subscribe(subscribe), &mut wire)
        .map_err(invalid)?;
    stream.write_all(&wire).await?;
    let work = async {
        match next_packet(stream, &codec, input).await? {
            Packet::SubAck(ack) if ack.reason_codes.iter().all(|c| !c.is_error()) => Ok(()),
            Packet::SubAck(ack) => Err(io::Error::other(format!(
                "SUBACK refused {filter}: {:?}",
                ack.reason_codes
            ))),
            other => Err(io::Error::other(format!(
                "expected SUBACK, got {:?}",
                other.packet_type()
            ))),
        }
    };
    tokio::time::timeout(HANDSHAKE_TIMEOUT, work)
        .await
        .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "no SUBACK within 10 s"))?
}

async fn next_packet(
    stream: &mut TcpStream,
    codec: &Codec,
    input: &mut BytesMut,
) -> io::Result<Packet> {
    loop {
        if let Decoded::Packet(p) = codec.decode(input).map_err(invalid)? {
            return Ok(p);
        }
        if stream.read_buf(input).await? == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "the broker closed the connection",
            ));
        }
    }
}

fn invalid(e: impl std::fmt::Display) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, e.to_string())
}

/// Opens `count` connections, at most `parallel` handshakes at a time (all at once would
/// overflow the broker's listen backlog and wait for SYN retransmissions). Returns the
/// streams that connected and the first error, if any.
pub(crate) async fn connect_many(
    addr: SocketAddr,
    prefix: &str,
    count: usize,
    parallel: usize,
) -> (Vec<(TcpStream, BytesMut)>, Option<String>) {
    let mut done = Vec::with_capacity(count);
    let mut first_error = None;
    let mut pending = FuturesUnordered::new();
    let mut next = 0;
    while next < count || !pending.is_empty() {
        while next < count && pending.len() < parallel {
            let id = format!("{prefix}-{next}");
            pending.push(async move { connect(addr, &id).await });
            next += 1;
        }
        match pending.next().await {
            Some(Ok(c)) => done.push(c),
            Some(Err(e)) => {
                first_error.get_or_insert_with(|| e.to_string());
            }
            None => {}
        }
    }
    (done, first_error)
}

/// A publisher's progress.
struct Flow {
    /// The next sequence number to send.
    sent: u64,
    /// The oldest sequence number not yet delivered to every subscriber.
    base: u64,
    /// For `base..sent`: deliveries still missing.
    pending: VecDeque<u32>,
    /// QoS 1 publications without PUBACK.
    unacked: usize,
    wake: Rc<Notify>,
}

/// What one slice counted.
#[derive(Default, Clone)]
pub(crate) struct Tally {
    /// Deliveries inside the slice's counted time.
    pub(crate) delivered: u64,
    /// Latency of each counted delivery.
    pub(crate) latency: Histogram,
    /// Sequence numbers a subscriber skipped (any time).
    pub(crate) lost: u64,
    /// Sequence numbers a subscriber saw again (any time).
    pub(crate) duplicated: u64,
    /// Messages outstanding when the drain after the slice gave up on them.
    pub(crate) stalled: u64,
    pub(crate) elapsed: Duration,
    pub(crate) broker_cpu: Option<Duration>,
    pub(crate) generator_cpu: Option<Duration>,
    pub(crate) broker_rss_kib: Option<u64>,
}

impl Tally {
    pub(crate) fn rate(&self) -> f64 {
        self.delivered as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }

    pub(crate) fn add(&mut self, o: &Tally) {
        self.delivered += o.delivered;
        self.latency.merge(&o.latency);
        self.lost += o.lost;
        self.duplicated += o.duplicated;
        self.stalled += o.stalled;
        self.elapsed += o.elapsed;
        self.broker_cpu = add_opt(self.broker_cpu, o.broker_cpu);
        self.generator_cpu = add_opt(self.generator_cpu, o.generator_cpu);
        self.broker_rss_kib = self.broker_rss_kib.max(o.broker_rss_kib);
    }
}

fn add_opt(a: Option<Duration>, b: Option<Duration>) -> Option<Duration> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a + b),
        (a, b) => a.or(b),
    }
}

struct State {
    /// Publishers may send.
    active: bool,
    /// Deliveries count towards the slice.
    counting: bool,
    window: usize,
    qos: QoS,
    /// Deliveries per message: the number of subscribers.
    fan: u32,
    flows: Vec<Flow>,
    /// `expected[subscriber * flows + flow]`: the next sequence number that subscriber awaits.
    expected: Vec<u64>,
    tally: Tally,
    /// The first connection failure; the run stops at the end of the slice.
    error: Option<String>,
}

impl State {
    fn deliver(&mut self, subscriber: usize, flow: usize, seq: u64, latency: u64) {
        let flows = self.flows.len();
        if flow >= flows {
            return;
        }
        let Some(expected) = self.expected.get_mut(subscriber * flows + flow) else {
            return;
        };
        if seq < *expected {
            self.tally.duplicated += 1;
            return;
        }
        let skipped = *expected..seq;
        *expected = seq + 1;
        if !skipped.is_empty() {
            self.tally.lost += skipped.end - skipped.start;
            let f = &self.flows[flow];
            // Only the skipped numbers still in the window hold it up.
            for s in skipped.start.max(f.base)..skipped.end.min(f.sent) {
                self.release(flow, s);
            }
        }
        self.release(flow, seq);
        if self.counting {
            self.tally.delivered += 1;
            self.tally.latency.record(latency);
        }
    }

    /// One delivery of `seq` of `flow` is done; the window moves past fully delivered ones.
    fn release(&mut self, flow: usize, seq: u64) {
        let f = &mut self.flows[flow];
        if seq < f.base || seq >= f.sent {
            return;
        }
        if let Some(left) = f.pending.get_mut((seq - f.base) as usize) {
            *left = left.saturating_sub(1);
        }
        let mut moved = false;
        while f.pending.front() == Some(&0) {
            f.pending.pop_front();
            f.base += 1;
            moved = true;
        }
        if moved {
            f.wake.notify_one();
        }
    }

    /// Reserves up to `BATCH` sequence numbers for `flow`; returns the first and the count.
    fn reserve(&mut self, flow: usize) -> (u64, usize) {
        if !self.active || self.error.is_some() {
            return (0, 0);
        }
        let (window, qos1, fan) = (self.window, self.qos == QoS::AtLeastOnce, self.fan);
        let f = &mut self.flows[flow];
        let mut room = window.saturating_sub(f.pending.len());
        if qos1 {
            room = room.min(window.saturating_sub(f.unacked));
        }
        let n = room.min(BATCH);
        let first = f.sent;
        for _ in 0..n {
            f.pending.push_back(fan);
        }
        f.sent += n as u64;
        if qos1 {
            f.unacked += n;
        }
        (first, n)
    }

    fn outstanding(&self) -> u64 {
        self.flows
            .iter()
            .map(|f| f.pending.len().max(f.unacked) as u64)
            .sum()
    }

    fn fail(&mut self, what: String) {
        if self.error.is_none() {
            self.error = Some(what);
        }
        // Wake every publisher so that none waits for a window that will not open.
        for f in &self.flows {
            f.wake.notify_one();
        }
    }
}

/// One encoded PUBLISH whose payload header and packet identifier are rewritten per message.
struct Template {
    bytes: Vec<u8>,
    payload_at: usize,
    /// Where the packet identifier is (QoS 1 only).
    packet_id_at: Option<usize>,
}

impl Template {
    fn new(topic: &str, qos: QoS, payload: usize) -> io::Result<Template> {
        let codec = Codec::new(VERSION);
        let mut publish = Publish::new(
            TopicName::new(topic).map_err(invalid)?,
            Bytes::from(vec![0u8; payload]),
        );
        publish.qos = qos;
        if qos != QoS::AtMostOnce {
            publish.packet_id = Some(PacketId::MIN);
        }
        let mut wire = BytesMut::new();
        codec
            .encode(&Packet::Publish(publish), &mut wire)
            .map_err(invalid)?;
        let payload_at = wire.len() - payload;
        let template = Template {
            bytes: wire.to_vec(),
            payload_at,
            // 3.1.1: the identifier comes right before the payload (5.0 would put the
            // property length between them).
            packet_id_at: (qos != QoS::AtMostOnce).then(|| payload_at - 2),
        };
        // The rewriting must give what the codec would have encoded.
        let mut check = BytesMut::new();
        template.write(&mut check, 7, 0x1234, 99, 0xbeef);
        match codec.decode(&mut check).map_err(invalid)? {
            Decoded::Packet(Packet::Publish(p))
                if p.topic.as_str() == topic
                    && p.payload.len() == payload
                    && decode_header(&p.payload) == Some((7, 0x1234, 99))
                    && p.packet_id.map(PacketId::get)
                        == (qos != QoS::AtMostOnce).then_some(0xbeef) => {}
            other => {
                return Err(io::Error::other(format!(
                    "the PUBLISH template does not decode as written: {other:?}"
                )));
            }
        }
        Ok(template)
    }

    fn write(&self, out: &mut BytesMut, flow: u32, seq: u64, sent_ns: u64, packet_id: u16) {
        let start = out.len();
        out.extend_from_slice(&self.bytes);
        let header = &mut out[start + self.payload_at..start + self.payload_at + HEADER];
        header[..4].copy_from_slice(&flow.to_be_bytes());
        header[4..12].copy_from_slice(&seq.to_be_bytes());
        header[12..20].copy_from_slice(&sent_ns.to_be_bytes());
        if let Some(at) = self.packet_id_at {
            out[start + at..start + at + 2].copy_from_slice(&packet_id.to_be_bytes());
        }
    }
}

/// `(flow, seq, sent_ns)` from a payload written by `Template::write`.
fn decode_header(payload: &[u8]) -> Option<(u32, u64, u64)> {
    let mut h = payload.get(..HEADER)?;
    Some((h.get_u32(), h.get_u64(), h.get_u64()))
}

/// The packet identifier for sequence number `seq`: 1..=65535 in turn (a window is far
/// smaller than 65,535, so none is reused while in flight).
fn packet_id(seq: u64) -> u16 {
    (seq % 65_535) as u16 + 1
}

/// What a scenario puts on one broker.
pub(crate) struct Shape {
    pub(crate) publishers: usize,
    pub(crate) subscribers: usize,
    pub(crate) qos: QoS,
    pub(crate) window: usize,
    pub(crate) payload: usize,
    /// Fan-in: every publisher has its own topic under the subscribers' `+` filter.
    pub(crate) topic_per_publisher: bool,
    pub(crate) parallel_connects: usize,
}

/// One scenario's connections to one broker, and their tasks.
pub(crate) struct Scenario {
    state: Rc<RefCell<State>>,
    tasks: Vec<JoinHandle<()>>,
    pid: Option<u32>,
}

impl Scenario {
    /// Connects the subscribers (and waits for their SUBACKs), then the publishers, and
    /// starts their tasks; nothing is published until `slice`.
    pub(crate) async fn start(
        addr: SocketAddr,
        pid: Option<u32>,
        prefix: &str,
        shape: &Shape,
        clock: Clock,
    ) -> Result<Scenario, String> {
        let topic_root = format!("tern-bench/{prefix}");
        let filter = if shape.topic_per_publisher {
            format!("{topic_root}/+")
        } else {
            topic_root.clone()
        };
        let state = Rc::new(RefCell::new(State {
            active: false,
            counting: false,
            window: shape.window.max(1),
            qos: shape.qos,
            fan: shape.subscribers as u32,
            flows: (0..shape.publishers)
                .map(|_| Flow {
                    sent: 0,
                    base: 0,
                    pending: VecDeque::with_capacity(shape.window),
                    unacked: 0,
                    wake: Rc::new(Notify::new()),
                })
                .collect(),
            expected: vec![0; shape.publishers * shape.subscribers],
            tally: Tally::default(),
            error: None,
        }));
        let mut scenario = Scenario {
            state,
            tasks: Vec::new(),
            pid,
        };

        let (subscribers, error) = connect_many(
            addr,
            &format!("{prefix}-sub"),
            shape.subscribers,
            shape.parallel_connects,
        )
        .await;
        if let Some(e) = error {
            return Err(format!(
                "{} of {} subscribers connected; first error: {e}",
                subscribers.len(),
                shape.subscribers
            ));
        }
        let mut subscribed = FuturesUnordered::new();
        let mut ready = Vec::with_capacity(subscribers.len());
        let mut waiting = subscribers.into_iter();
        loop {
            while subscribed.len() < shape.parallel_connects {
                let Some((mut stream, mut input)) = waiting.next() else {
                    break;
                };
                let filter = filter.clone();
                subscribed.push(async move {
                    subscribe(&mut stream, &mut input, &filter, shape.qos)
                        .await
                        .map(|()| (stream, input))
                });
            }
            match subscribed.next().await {
                Some(Ok(s)) => ready.push(s),
                Some(Err(e)) => return Err(format!("SUBSCRIBE {filter}: {e}")),
                None => break,
            }
        }
        for (index, (stream, input)) in ready.into_iter().enumerate() {
            let state = scenario.state.clone();
            scenario.tasks.push(tokio::task::spawn_local(async move {
                if let Err(e) = subscriber(index, stream, input, &state, clock).await {
                    state.borrow_mut().fail(format!("subscriber {index}: {e}"));
                }
            }));
        }

        let (publishers, error) = connect_many(
            addr,
            &format!("{prefix}-pub"),
            shape.publishers,
            shape.parallel_connects,
        )
        .await;
        if let Some(e) = error {
            return Err(format!(
                "{} of {} publishers connected; first error: {e}",
                publishers.len(),
                shape.publishers
            ));
        }
        for (flow, (stream, input)) in publishers.into_iter().enumerate() {
            let topic = if shape.topic_per_publisher {
                format!("{topic_root}/{flow}")
            } else {
                topic_root.clone()
            };
            let template = Template::new(&topic, shape.qos, shape.payload.max(HEADER))
                .map_err(|e| format!("PUBLISH to {topic}: {e}"))?;
            let (read, write) = stream.into_split();
            let state = scenario.state.clone();
            scenario.tasks.push(tokio::task::spawn_local(async move {
                if let Err(e) = acks(flow, read, input, &state).await {
                    state.borrow_mut().fail(format!("publisher {flow}: {e}"));
                }
            }));
            let state = scenario.state.clone();
            scenario.tasks.push(tokio::task::spawn_local(async move {
                if let Err(e) = publisher(flow, write, template, &state, clock).await {
                    state.borrow_mut().fail(format!("publisher {flow}: {e}"));
                }
            }));
        }
        Ok(scenario)
    }

    /// Publishes for `duration` and counts the deliveries in that time, then waits up to
    /// `drain` for the messages still outstanding (uncounted), so that no backlog reaches the
    /// next slice.
    pub(crate) async fn slice(
        &mut self,
        duration: Duration,
        drain: Duration,
    ) -> Result<Tally, String> {
        {
            let mut s = self.state.borrow_mut();
            s.tally = Tally::default();
            s.active = true;
            s.counting = true;
            for f in &s.flows {
                f.wake.notify_one();
            }
        }
        let cpu0 = (self.pid.and_then(procfs::process_cpu), procfs::thread_cpu());
        let start = Instant::now();
        tokio::time::sleep(duration).await;
        let elapsed = start.elapsed();
        let cpu1 = (self.pid.and_then(procfs::process_cpu), procfs::thread_cpu());
        {
            let mut s = self.state.borrow_mut();
            s.active = false;
            s.counting = false;
        }
        let end = Instant::now() + drain;
        let stalled = loop {
            let outstanding = self.state.borrow().outstanding();
            if outstanding == 0 {
                break 0;
            }
            if Instant::now() >= end || self.state.borrow().error.is_some() {
                break outstanding;
            }
            tokio::time::sleep(Duration::from_millis(1)).await;
        };
        let mut s = self.state.borrow_mut();
        if stalled > 0 {
            // Give up on them: the next slice starts with open windows. A late delivery of one
            // of them still counts (against `expected`), a missing one as lost.
            for f in &mut s.flows {
                f.base = f.sent;
                f.pending.clear();
                f.unacked = 0;
            }
        }
        if let Some(e) = &s.error {
            return Err(e.clone());
        }
        let mut tally = std::mem::take(&mut s.tally);
        tally.stalled = stalled;
        tally.elapsed = elapsed;
        tally.broker_cpu = cpu1.0.zip(cpu0.0).map(|(b, a)| b.saturating_sub(a));
        tally.generator_cpu = cpu1.1.zip(cpu0.1).map(|(b, a)| b.saturating_sub(a));
        tally.broker_rss_kib = self.pid.and_then(procfs::rss_kib);
        Ok(tally)
    }

    /// Messages sent but never seen by some subscriber, at the end: the tail of the losses
    /// (the gaps inside the sequence were counted as they showed).
    pub(crate) fn unseen(&self) -> u64 {
        let s = self.state.borrow();
        let flows = s.flows.len();
        s.expected
            .iter()
            .enumerate()
            .map(|(i, &e)| s.flows[i % flows].sent.saturating_sub(e))
            .sum()
    }
}

impl Drop for Scenario {
    fn drop(&mut self) {
        // The tasks own the streams: aborting them closes every connection.
        for t in &self.tasks {
            t.abort();
        }
    }
}

async fn publisher(
    flow: usize,
    mut write: OwnedWriteHalf,
    template: Template,
    state: &RefCell<State>,
    clock: Clock,
) -> io::Result<()> {
    let wake = state.borrow().flows[flow].wake.clone();
    let mut out = BytesMut::with_capacity(template.bytes.len() * BATCH);
    loop {
        wake.notified().await;
        loop {
            let (first, n) = state.borrow_mut().reserve(flow);
            if n == 0 {
                break;
            }
            let now = clock.now();
            for seq in first..first + n as u64 {
                template.write(&mut out, flow as u32, seq, now, packet_id(seq));
            }
            write.write_all(&out).await?;
            out.clear();
        }
        if state.borrow().error.is_some() {
            return Ok(());
        }
    }
}

/// A publisher's incoming side: PUBACKs at QoS 1; at QoS 0 only the end of the connection.
async fn acks(
    flow: usize,
    mut read: OwnedReadHalf,
    mut input: BytesMut,
    state: &RefCell<State>,
) -> io::Result<()> {
    let codec = Codec::new(VERSION);
    input.reserve(4096);
    loop {
        let mut acked = 0;
        while let Decoded::Packet(p) = codec.decode(&mut input).map_err(invalid)? {
            if let Packet::PubAck(_) = p {
                acked += 1;
            }
        }
        if acked > 0 {
            let mut s = state.borrow_mut();
            let f = &mut s.flows[flow];
            f.unacked = f.unacked.saturating_sub(acked);
            f.wake.notify_one();
        }
        if read.read_buf(&mut input).await? == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "the broker closed the connection",
            ));
        }
    }
}

async fn subscriber(
    index: usize,
    mut stream: TcpStream,
    mut input: BytesMut,
    state: &RefCell<State>,
    clock: Clock,
) -> io::Result<()> {
    let codec = Codec::new(VERSION);
    let mut out = BytesMut::new();
    loop {
        if input.capacity() - input.len() < 16 * 1024 {
            input.reserve(64 * 1024);
        }
        let now = clock.now();
        {
            let mut s = state.borrow_mut();
            while let Decoded::Packet(p) = codec.decode(&mut input).map_err(invalid)? {
                let Packet::Publish(p) = p else { continue };
                if let Some((flow, seq, sent)) = decode_header(&p.payload) {
                    s.deliver(index, flow as usize, seq, now.saturating_sub(sent));
                }
                if let Some(id) = p.packet_id {
                    codec
                        .encode(&Packet::PubAck(PubAck::new(id)), &mut out)
                        .map_err(invalid)?;
                }
            }
        }
        if !out.is_empty() {
            stream.write_all(&out).await?;
            out.clear();
        }
        if stream.read_buf(&mut input).await? == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "the broker closed the connection",
            ));
        }
    }
}
