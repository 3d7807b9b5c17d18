//! The benchmark cases: for each input, a decode case and an encode case, each with one
//! [`Contender`] per implementation that supports the protocol level.
//!
//! A contender is a [`Runner`]: `run(ops)` performs `ops` operations and returns only the time
//! spent in them. Decoding needs the packet bytes in a fresh `BytesMut` every time (decoders
//! consume their input), so runners refill a buffer with a batch of copies of the input outside
//! the timed region and then decode the whole batch inside it. Batches are at most
//! [`BATCH_BYTES`] so that the refilled buffer is still in the L2 cache when it is decoded, as
//! a buffer just filled from a socket would be. Encoding writes a batch of packets into one
//! pre-reserved buffer, which is cleared (not freed) between batches.

use std::hint::black_box;
use std::time::{Duration, Instant};

use bytes::{Buf, BytesMut};
use tern_mqtt::{Codec, Decoded, Packet, ProtocolVersion, QoS};

use rumqttc::mqttbytes::v4 as rv4;
use rumqttc::v5::mqttbytes::v5 as rv5;

use crate::alloc_count;
use crate::fixtures::{self, MAX_PACKET, Summary};

/// Largest batch refilled and decoded (or encoded) between two clock reads.
pub const BATCH_BYTES: usize = 512 * 1024;
/// Fewest operations per batch (unless one operation is larger than [`BATCH_BYTES`]), so that
/// reading the clock costs little per operation even for 64 KiB packets.
pub const MIN_BATCH_OPS: usize = 16;
/// Most operations per batch.
pub const MAX_BATCH_OPS: usize = 4096;

/// Number of packets in the mixed-stream cases.
pub const STREAM_PACKETS: usize = 10_000;

/// An implementation under test.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Impl {
    /// tern-mqtt.
    Tern,
    /// rumqttc's codec modules (`mqttbytes::v4`, `v5::mqttbytes::v5`).
    Rumqttc,
    /// mqttrs (3.1.1 only).
    Mqttrs,
    /// coap-lite (CoAP): `Packet::from_bytes` / `Packet::to_bytes`.
    CoapLite,
    /// coap-message-implementations' in-memory message (CoAP), through the coap-message traits.
    CoapMsg,
}

impl Impl {
    /// All implementations, tern first.
    pub const ALL: [Impl; 5] = [
        Impl::Tern,
        Impl::Rumqttc,
        Impl::Mqttrs,
        Impl::CoapLite,
        Impl::CoapMsg,
    ];

    /// The crate name.
    pub const fn name(self) -> &'static str {
        match self {
            Impl::Tern => "tern",
            Impl::Rumqttc => "rumqttc",
            Impl::Mqttrs => "mqttrs",
            Impl::CoapLite => "coap-lite",
            Impl::CoapMsg => "coap-message-impl",
        }
    }
}

/// The protocol a case is about (the report has one table per protocol).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Protocol {
    /// MQTT at a protocol level.
    Mqtt(ProtocolVersion),
    /// CoAP over UDP (RFC 7252).
    Coap,
}

impl Protocol {
    /// The family's name, without the MQTT level.
    pub const fn family(self) -> &'static str {
        match self {
            Protocol::Mqtt(_) => "MQTT",
            Protocol::Coap => "CoAP",
        }
    }

    /// The peers tern is compared with, in column order.
    pub const fn peers(self) -> &'static [Impl] {
        match self {
            Protocol::Mqtt(_) => &[Impl::Rumqttc, Impl::Mqttrs],
            Protocol::Coap => &[Impl::CoapLite, Impl::CoapMsg],
        }
    }
}

/// Whether a case decodes or encodes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// Bytes to packet structs.
    Decode,
    /// Packet structs to bytes.
    Encode,
}

/// What one [`Runner::run`] call measured.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Measurement {
    /// Time spent in the operations only (buffer refills excluded).
    pub time: Duration,
    /// Heap allocations made during the timed operations (zero unless
    /// [`alloc_count::Counting`] is the global allocator).
    pub allocs: u64,
    /// Wall-clock time of the whole call, refills included: what a slice of the interleaved
    /// runner is sized by, so that slices stay short for every case.
    pub wall: Duration,
}

/// Something that performs a benchmarked operation `ops` times.
pub trait Runner {
    /// Performs `ops` operations and reports their time and allocations. Panics if an
    /// operation fails: a failing decoder must never look fast.
    fn run(&mut self, ops: u64) -> Measurement;
}

/// One implementation in a case.
pub struct Contender {
    /// Which implementation.
    pub imp: Impl,
    /// Its runner.
    pub runner: Box<dyn Runner>,
}

impl std::fmt::Debug for Contender {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Contender").field("imp", &self.imp).finish()
    }
}

/// A benchmark case.
#[derive(Debug)]
pub struct Case {
    /// Name, e.g. `3.1.1 decode PUBLISH 1 KiB QoS 1`.
    pub name: String,
    /// Decode or encode.
    pub direction: Direction,
    /// Protocol (and MQTT level).
    pub protocol: Protocol,
    /// Wire bytes per operation.
    pub bytes_per_op: usize,
    /// Packets per operation (1, or the length of the stream).
    pub packets_per_op: usize,
    /// The implementations, tern first.
    pub contenders: Vec<Contender>,
}

fn batch_ops(bytes_per_op: usize) -> usize {
    (BATCH_BYTES / bytes_per_op.max(1)).clamp(MIN_BATCH_OPS, MAX_BATCH_OPS)
}

fn ops_per_batch(bytes_per_op: usize) -> u64 {
    if bytes_per_op > BATCH_BYTES {
        1
    } else {
        batch_ops(bytes_per_op) as u64
    }
}

/// Refills a buffer with copies of the input and times a decoder over them.
pub(crate) struct DecodeRunner<F> {
    wire: Vec<u8>,
    batch: u64,
    buf: BytesMut,
    decode_op: F,
}

impl<F: FnMut(&mut BytesMut) -> bool> DecodeRunner<F> {
    pub(crate) fn boxed(wire: Vec<u8>, decode_op: F) -> Box<dyn Runner>
    where
        F: 'static,
    {
        let batch = ops_per_batch(wire.len());
        let mut r = DecodeRunner {
            buf: BytesMut::with_capacity(wire.len() * batch as usize),
            wire,
            batch,
            decode_op,
        };
        // One untimed batch: the first split of a fresh `BytesMut` allocates its shared
        // header; after that the buffer is reclaimed in place by `reserve` on every refill.
        r.run(1);
        Box::new(r)
    }
}

impl<F: FnMut(&mut BytesMut) -> bool> Runner for DecodeRunner<F> {
    fn run(&mut self, ops: u64) -> Measurement {
        let wall = Instant::now();
        let mut m = Measurement::default();
        let mut left = ops;
        while left > 0 {
            let k = left.min(self.batch);
            self.buf.clear();
            self.buf.reserve(self.wire.len() * k as usize);
            for _ in 0..k {
                self.buf.extend_from_slice(&self.wire);
            }
            let allocs = alloc_count::allocations();
            let start = Instant::now();
            let mut ok = true;
            for _ in 0..k {
                ok &= (self.decode_op)(&mut self.buf);
            }
            m.time += start.elapsed();
            m.allocs += alloc_count::allocations() - allocs;
            assert!(
                ok && self.buf.is_empty(),
                "decoder failed or left bytes behind"
            );
            left -= k;
        }
        m.wall = wall.elapsed();
        m
    }
}

/// Where encoders write: a `BytesMut` (tern, rumqttc) or a byte slice with a cursor (mqttrs).
#[derive(Debug, Default)]
pub struct Out {
    /// Output for `BytesMut` encoders.
    pub bytes: BytesMut,
    /// Output for slice encoders.
    pub slice: Vec<u8>,
    /// Bytes written into `slice`.
    pub pos: usize,
}

impl Out {
    fn written(&self) -> usize {
        self.bytes.len() + self.pos
    }
}

/// Times an encoder writing batches of packets into a reused buffer.
pub(crate) struct EncodeRunner<F> {
    bytes_per_op: usize,
    batch: u64,
    out: Out,
    encode_op: F,
}

impl<F: FnMut(&mut Out) -> bool + 'static> EncodeRunner<F> {
    pub(crate) fn boxed(bytes_per_op: usize, slice_output: bool, encode_op: F) -> Box<dyn Runner> {
        let batch = ops_per_batch(bytes_per_op);
        let cap = bytes_per_op * batch as usize;
        let out = if slice_output {
            Out {
                slice: vec![0; cap],
                ..Out::default()
            }
        } else {
            Out {
                bytes: BytesMut::with_capacity(cap),
                ..Out::default()
            }
        };
        let mut r = EncodeRunner {
            bytes_per_op,
            batch,
            out,
            encode_op,
        };
        r.run(1);
        Box::new(r)
    }
}

impl<F: FnMut(&mut Out) -> bool> Runner for EncodeRunner<F> {
    fn run(&mut self, ops: u64) -> Measurement {
        let wall = Instant::now();
        let mut m = Measurement::default();
        let mut left = ops;
        while left > 0 {
            let k = left.min(self.batch);
            self.out.bytes.clear();
            self.out.pos = 0;
            let allocs = alloc_count::allocations();
            let start = Instant::now();
            let mut ok = true;
            for _ in 0..k {
                ok &= (self.encode_op)(&mut self.out);
            }
            m.time += start.elapsed();
            m.allocs += alloc_count::allocations() - allocs;
            black_box(&self.out);
            assert!(
                ok && self.out.written() == self.bytes_per_op * k as usize,
                "encoder failed or wrote a different length"
            );
            left -= k;
        }
        m.wall = wall.elapsed();
        m
    }
}

// ---------------------------------------------------------------------------------------------
// Decoding with each implementation.

/// Length of the packet at the front of `buf` from its fixed header (mqttrs's `decode_slice`
/// does not say how many bytes it used, so its caller has to work it out to advance).
fn frame_len(buf: &[u8]) -> Option<usize> {
    let mut len = 0usize;
    for i in 0..4 {
        let b = *buf.get(1 + i)?;
        len |= usize::from(b & 0x7f) << (7 * i);
        if b & 0x80 == 0 {
            return Some(2 + i + len);
        }
    }
    None
}

fn decode_tern(codec: &Codec, buf: &mut BytesMut) -> Option<Packet> {
    match codec.decode(buf) {
        Ok(Decoded::Packet(p)) => Some(p),
        _ => None,
    }
}

fn decode_rumqttc_v4(buf: &mut BytesMut) -> Option<rv4::Packet> {
    rv4::Packet::read(buf, MAX_PACKET).ok()
}

fn decode_rumqttc_v5(buf: &mut BytesMut) -> Option<rv5::Packet> {
    rv5::Packet::read(buf, Some(MAX_PACKET as u32)).ok()
}

/// Decodes one packet with mqttrs, hands it to `f`, and advances past it.
fn decode_mqttrs<R>(buf: &mut BytesMut, f: impl FnOnce(mqttrs::Packet<'_>) -> R) -> Option<R> {
    let len = frame_len(buf)?;
    let r = match mqttrs::decode_slice(buf) {
        Ok(Some(p)) => f(p),
        _ => return None,
    };
    buf.advance(len);
    Some(r)
}

/// Decodes all of `wire` with `imp` and summarises every packet.
fn decoded_summaries(imp: Impl, version: ProtocolVersion, wire: &[u8]) -> Vec<Summary> {
    let mut buf = BytesMut::from(wire);
    let codec = Codec::new(version).with_max_incoming(MAX_PACKET);
    let mut out = Vec::new();
    while !buf.is_empty() {
        let s = match (imp, version.is_v5()) {
            (Impl::Tern, _) => decode_tern(&codec, &mut buf).map(|p| fixtures::summary_tern(&p)),
            (Impl::Rumqttc, false) => {
                decode_rumqttc_v4(&mut buf).map(|p| fixtures::summary_rumqttc_v4(&p))
            }
            (Impl::Rumqttc, true) => {
                decode_rumqttc_v5(&mut buf).map(|p| fixtures::summary_rumqttc_v5(&p))
            }
            (Impl::Mqttrs, _) => decode_mqttrs(&mut buf, |p| fixtures::summary_mqttrs(&p)),
            (Impl::CoapLite | Impl::CoapMsg, _) => unreachable!("not an MQTT implementation"),
        };
        out.push(s.unwrap_or_else(|| {
            panic!(
                "{} failed to decode packet {} of a fixture",
                imp.name(),
                out.len()
            )
        }));
    }
    out
}

fn decode_runner(imp: Impl, version: ProtocolVersion, wire: Vec<u8>, n: usize) -> Box<dyn Runner> {
    match (imp, version.is_v5()) {
        (Impl::Tern, _) => {
            let codec = Codec::new(version).with_max_incoming(MAX_PACKET);
            DecodeRunner::boxed(wire, move |buf| {
                let mut ok = true;
                for _ in 0..n {
                    let p = decode_tern(&codec, buf);
                    ok &= p.is_some();
                    black_box(p);
                }
                ok
            })
        }
        (Impl::Rumqttc, false) => DecodeRunner::boxed(wire, move |buf| {
            let mut ok = true;
            for _ in 0..n {
                let p = decode_rumqttc_v4(buf);
                ok &= p.is_some();
                black_box(p);
            }
            ok
        }),
        (Impl::Rumqttc, true) => DecodeRunner::boxed(wire, move |buf| {
            let mut ok = true;
            for _ in 0..n {
                let p = decode_rumqttc_v5(buf);
                ok &= p.is_some();
                black_box(p);
            }
            ok
        }),
        (Impl::Mqttrs, _) => DecodeRunner::boxed(wire, move |buf| {
            let mut ok = true;
            for _ in 0..n {
                ok &= decode_mqttrs(buf, |p| {
                    black_box(p);
                })
                .is_some();
            }
            ok
        }),
        (Impl::CoapLite | Impl::CoapMsg, _) => unreachable!("not an MQTT implementation"),
    }
}

// ---------------------------------------------------------------------------------------------
// Encoding with each implementation.

fn encoded_by(imp: Impl, version: ProtocolVersion, packets: &[Packet]) -> Vec<u8> {
    let len = fixtures::encode_all(version, packets).len();
    let mut out = BytesMut::new();
    let mut slice = vec![0u8; len];
    let mut pos = 0;
    for p in packets {
        match (imp, version.is_v5()) {
            (Impl::Tern, _) => p.encode(version, MAX_PACKET, &mut out).map(drop).ok(),
            (Impl::Rumqttc, false) => fixtures::to_rumqttc_v4(p)
                .write(&mut out, MAX_PACKET)
                .map(drop)
                .ok(),
            (Impl::Rumqttc, true) => fixtures::to_rumqttc_v5(p)
                .write(&mut out, Some(MAX_PACKET as u32))
                .map(drop)
                .ok(),
            (Impl::Mqttrs, _) => mqttrs::encode_slice(&fixtures::to_mqttrs(p), &mut slice[pos..])
                .map(|n| pos += n)
                .ok(),
            (Impl::CoapLite | Impl::CoapMsg, _) => unreachable!("not an MQTT implementation"),
        }
        .unwrap_or_else(|| panic!("{} failed to encode a fixture", imp.name()));
    }
    if imp == Impl::Mqttrs {
        slice.truncate(pos);
        slice
    } else {
        out.to_vec()
    }
}

fn encode_runner(
    imp: Impl,
    version: ProtocolVersion,
    packets: Vec<Packet>,
    bytes_per_op: usize,
) -> Box<dyn Runner> {
    match (imp, version.is_v5()) {
        (Impl::Tern, _) => EncodeRunner::boxed(bytes_per_op, false, move |out| {
            let mut ok = true;
            for p in &packets {
                ok &= p.encode(version, MAX_PACKET, &mut out.bytes).is_ok();
            }
            ok
        }),
        (Impl::Rumqttc, false) => {
            let packets: Vec<rv4::Packet> = packets.iter().map(fixtures::to_rumqttc_v4).collect();
            EncodeRunner::boxed(bytes_per_op, false, move |out| {
                let mut ok = true;
                for p in &packets {
                    ok &= p.write(&mut out.bytes, MAX_PACKET).is_ok();
                }
                ok
            })
        }
        (Impl::Rumqttc, true) => {
            let packets: Vec<rv5::Packet> = packets.iter().map(fixtures::to_rumqttc_v5).collect();
            EncodeRunner::boxed(bytes_per_op, false, move |out| {
                let mut ok = true;
                for p in &packets {
                    ok &= p.write(&mut out.bytes, Some(MAX_PACKET as u32)).is_ok();
                }
                ok
            })
        }
        (Impl::Mqttrs, _) => {
            // mqttrs packets borrow their topics and payloads; the benchmark process keeps the
            // tern packets they borrow from for its whole life.
            let owned: &'static [Packet] = Box::leak(packets.into_boxed_slice());
            let packets: Vec<mqttrs::Packet<'static>> =
                owned.iter().map(fixtures::to_mqttrs).collect();
            EncodeRunner::boxed(bytes_per_op, true, move |out| {
                let mut ok = true;
                for p in &packets {
                    match mqttrs::encode_slice(p, &mut out.slice[out.pos..]) {
                        Ok(n) => out.pos += n,
                        Err(_) => ok = false,
                    }
                }
                ok
            })
        }
        (Impl::CoapLite | Impl::CoapMsg, _) => unreachable!("not an MQTT implementation"),
    }
}

// ---------------------------------------------------------------------------------------------
// The cases.

/// One input: packets at a protocol level, and the peers that speak that level.
struct Input {
    label: String,
    version: ProtocolVersion,
    packets: Vec<Packet>,
}

impl Input {
    fn new(label: impl Into<String>, version: ProtocolVersion, packets: Vec<Packet>) -> Self {
        Input {
            label: label.into(),
            version,
            packets,
        }
    }

    fn impls(&self) -> &'static [Impl] {
        if self.version.is_v5() {
            &[Impl::Tern, Impl::Rumqttc]
        } else {
            &[Impl::Tern, Impl::Rumqttc, Impl::Mqttrs]
        }
    }
}

fn inputs() -> Vec<Input> {
    let mut v = Vec::new();
    for version in [ProtocolVersion::V3_1_1, ProtocolVersion::V5] {
        for (len, size) in [(16, "16 B"), (1024, "1 KiB"), (65536, "64 KiB")] {
            for qos in [QoS::AtMostOnce, QoS::AtLeastOnce] {
                v.push(Input::new(
                    format!("PUBLISH {size} QoS {}", qos.as_u8()),
                    version,
                    vec![fixtures::publish(len, qos)],
                ));
            }
        }
        if version.is_v5() {
            v.push(Input::new(
                "CONNECT with properties and Will",
                version,
                vec![fixtures::connect_v5()],
            ));
        }
        v.push(Input::new(
            "SUBSCRIBE 10 filters",
            version,
            vec![fixtures::subscribe(version)],
        ));
        v.push(Input::new(
            format!("stream of {STREAM_PACKETS} mixed packets"),
            version,
            fixtures::mixed_stream(version, STREAM_PACKETS),
        ));
    }
    v
}

fn case_name(version: ProtocolVersion, direction: Direction, label: &str) -> String {
    let d = match direction {
        Direction::Decode => "decode",
        Direction::Encode => "encode",
    };
    format!("{version} {d} {label}")
}

/// The names of all cases, in order, without building them.
pub fn case_names() -> Vec<String> {
    let mut names = Vec::new();
    for input in inputs() {
        for d in [Direction::Decode, Direction::Encode] {
            names.push(case_name(input.version, d, &input.label));
        }
    }
    names.extend(crate::coap::case_names());
    names
}

/// Builds the cases whose name contains `filter` (all when `None`), checking for each that
/// every peer decodes tern's bytes to the same summary and encodes tern's packets to the same
/// bytes. Panics if they disagree.
pub fn build_cases(filter: Option<&str>) -> Vec<Case> {
    // Case-insensitive, so that `--filter coap` finds the CoAP cases.
    let filter = filter.map(str::to_lowercase);
    let wanted = |name: &str| {
        filter
            .as_deref()
            .is_none_or(|f| name.to_lowercase().contains(f))
    };
    let mut cases = Vec::new();
    for input in inputs() {
        let Input {
            label,
            version,
            packets,
        } = &input;
        let version = *version;
        let wire = fixtures::encode_all(version, packets);
        let expected: Vec<Summary> = packets.iter().map(fixtures::summary_tern).collect();

        let name = case_name(version, Direction::Decode, label);
        if wanted(&name) {
            let mut contenders = Vec::new();
            for &imp in input.impls() {
                let got = decoded_summaries(imp, version, &wire);
                assert_eq!(
                    got,
                    expected,
                    "{name}: {} decodes to different fields",
                    imp.name()
                );
                contenders.push(Contender {
                    imp,
                    runner: decode_runner(imp, version, wire.clone(), packets.len()),
                });
            }
            cases.push(Case {
                name,
                direction: Direction::Decode,
                protocol: Protocol::Mqtt(version),
                bytes_per_op: wire.len(),
                packets_per_op: packets.len(),
                contenders,
            });
        }

        let name = case_name(version, Direction::Encode, label);
        if wanted(&name) {
            let mut contenders = Vec::new();
            for &imp in input.impls() {
                let bytes = encoded_by(imp, version, packets);
                assert!(
                    bytes == wire,
                    "{name}: {} encodes to different bytes",
                    imp.name()
                );
                contenders.push(Contender {
                    imp,
                    runner: encode_runner(imp, version, packets.clone(), wire.len()),
                });
            }
            cases.push(Case {
                name,
                direction: Direction::Encode,
                protocol: Protocol::Mqtt(version),
                bytes_per_op: wire.len(),
                packets_per_op: packets.len(),
                contenders,
            });
        }
    }
    cases.extend(crate::coap::build_cases(&wanted));
    cases
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frame_len_reads_remaining_length() {
        assert_eq!(frame_len(&[0x30, 0x05]), Some(7));
        assert_eq!(frame_len(&[0x30, 0x80, 0x01]), Some(3 + 128));
        assert_eq!(frame_len(&[0x30, 0x80]), None);
    }

    #[test]
    fn every_case_agrees_and_runs() {
        // Building checks that all decoders read the same fields and all encoders write the
        // same bytes; one run of each contender checks that the timed loops succeed.
        let cases = build_cases(None);
        assert_eq!(cases.len(), case_names().len());
        for mut case in cases {
            assert!(case.contenders.len() >= 2, "{}", case.name);
            for c in &mut case.contenders {
                c.runner.run(2);
            }
        }
    }

    #[test]
    fn stream_has_every_packet_kind() {
        let stream = fixtures::mixed_stream(ProtocolVersion::V3_1_1, STREAM_PACKETS);
        let mut kinds: Vec<_> = stream.iter().map(Packet::packet_type).collect();
        kinds.sort();
        kinds.dedup();
        assert_eq!(kinds.len(), 9, "{kinds:?}");
    }
}
