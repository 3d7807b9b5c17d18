//! The MQTT control packets and the streaming [`Codec`].
//!
//! One module per packet family, with decode and encode side by side:
//! [`connect`] (CONNECT, CONNACK), [`publish`] (PUBLISH and its four acknowledgements),
//! [`subscribe`] (SUBSCRIBE, SUBACK, UNSUBSCRIBE, UNSUBACK) and [`control`] (PINGREQ,
//! PINGRESP, DISCONNECT, AUTH).

use alloc::boxed::Box;
use core::fmt;
use core::num::{NonZeroU16, NonZeroUsize};

use bytes::{BufMut, Bytes, BytesMut};

use crate::error::{DecodeError, EncodeError};
use crate::wire::{self, Reader};

pub mod connect;
pub mod control;
pub mod publish;
pub mod subscribe;

pub use connect::{ConnAck, Connect, Will};
pub use control::{Auth, Disconnect};
pub use publish::{PubAck, PubComp, PubRec, PubRel, Publish};
pub use subscribe::{
    RetainHandling, SubAck, Subscribe, Subscription, SubscriptionOptions, UnsubAck, Unsubscribe,
};

/// The MQTT protocol level, as carried in CONNECT.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ProtocolVersion {
    /// MQTT 3.1 (protocol name "MQIsdp", level 3). Decoded and encoded like 3.1.1.
    V3_1 = 3,
    /// MQTT 3.1.1 (level 4).
    V3_1_1 = 4,
    /// MQTT 5.0 (level 5).
    V5 = 5,
}

impl ProtocolVersion {
    /// The protocol level byte.
    pub const fn level(self) -> u8 {
        self as u8
    }

    /// The version for a protocol level byte.
    pub const fn from_level(level: u8) -> Option<Self> {
        match level {
            3 => Some(ProtocolVersion::V3_1),
            4 => Some(ProtocolVersion::V3_1_1),
            5 => Some(ProtocolVersion::V5),
            _ => None,
        }
    }

    /// Whether this is MQTT 5.0 (properties, reason codes, AUTH).
    pub const fn is_v5(self) -> bool {
        matches!(self, ProtocolVersion::V5)
    }
}

impl fmt::Display for ProtocolVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ProtocolVersion::V3_1 => "3.1",
            ProtocolVersion::V3_1_1 => "3.1.1",
            ProtocolVersion::V5 => "5.0",
        })
    }
}

/// Quality of Service.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub enum QoS {
    /// QoS 0: at most once, no acknowledgement.
    #[default]
    AtMostOnce = 0,
    /// QoS 1: at least once, PUBACK.
    AtLeastOnce = 1,
    /// QoS 2: exactly once, PUBREC / PUBREL / PUBCOMP.
    ExactlyOnce = 2,
}

impl QoS {
    /// The QoS for 0, 1 or 2.
    pub const fn from_u8(v: u8) -> Option<QoS> {
        match v {
            0 => Some(QoS::AtMostOnce),
            1 => Some(QoS::AtLeastOnce),
            2 => Some(QoS::ExactlyOnce),
            _ => None,
        }
    }

    /// 0, 1 or 2.
    pub const fn as_u8(self) -> u8 {
        self as u8
    }
}

/// A packet identifier: non-zero [MQTT-2.2.1-3].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PacketId(NonZeroU16);

impl PacketId {
    /// Packet identifier 1.
    pub const MIN: PacketId = PacketId(NonZeroU16::MIN);

    /// The identifier `id`, or `None` for zero.
    pub const fn new(id: u16) -> Option<Self> {
        match NonZeroU16::new(id) {
            Some(n) => Some(PacketId(n)),
            None => None,
        }
    }

    /// The numeric value.
    pub const fn get(self) -> u16 {
        self.0.get()
    }

    pub(crate) fn read(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        PacketId::new(r.u16()?).ok_or(DecodeError::ZeroPacketId)
    }
}

impl fmt::Display for PacketId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.get(), f)
    }
}

/// The control packet types (MQTT 5.0 §2.1.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[repr(u8)]
#[allow(missing_docs)]
pub enum PacketType {
    Connect = 1,
    ConnAck = 2,
    Publish = 3,
    PubAck = 4,
    PubRec = 5,
    PubRel = 6,
    PubComp = 7,
    Subscribe = 8,
    SubAck = 9,
    Unsubscribe = 10,
    UnsubAck = 11,
    PingReq = 12,
    PingResp = 13,
    Disconnect = 14,
    Auth = 15,
}

impl PacketType {
    /// The type for the upper nibble of the first byte; 0 is reserved.
    pub const fn from_u8(v: u8) -> Option<Self> {
        use PacketType::*;
        Some(match v {
            1 => Connect,
            2 => ConnAck,
            3 => Publish,
            4 => PubAck,
            5 => PubRec,
            6 => PubRel,
            7 => PubComp,
            8 => Subscribe,
            9 => SubAck,
            10 => Unsubscribe,
            11 => UnsubAck,
            12 => PingReq,
            13 => PingResp,
            14 => Disconnect,
            15 => Auth,
            _ => return None,
        })
    }

    /// The name used by the specification, e.g. "PUBLISH".
    pub const fn name(self) -> &'static str {
        use PacketType::*;
        match self {
            Connect => "CONNECT",
            ConnAck => "CONNACK",
            Publish => "PUBLISH",
            PubAck => "PUBACK",
            PubRec => "PUBREC",
            PubRel => "PUBREL",
            PubComp => "PUBCOMP",
            Subscribe => "SUBSCRIBE",
            SubAck => "SUBACK",
            Unsubscribe => "UNSUBSCRIBE",
            UnsubAck => "UNSUBACK",
            PingReq => "PINGREQ",
            PingResp => "PINGRESP",
            Disconnect => "DISCONNECT",
            Auth => "AUTH",
        }
    }

    /// The fixed-header flags this type requires; PUBLISH has none fixed (`None`).
    pub const fn required_flags(self) -> Option<u8> {
        match self {
            PacketType::Publish => None,
            PacketType::PubRel | PacketType::Subscribe | PacketType::Unsubscribe => Some(0b0010),
            _ => Some(0),
        }
    }
}

impl fmt::Display for PacketType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// An MQTT control packet.
#[derive(Debug, Clone, PartialEq, Eq)]
#[allow(missing_docs)] // Each variant is the packet of the same name.
pub enum Packet {
    /// Boxed: CONNECT is by far the largest packet and comes once per connection.
    Connect(Box<Connect>),
    ConnAck(ConnAck),
    Publish(Publish),
    PubAck(PubAck),
    PubRec(PubRec),
    PubRel(PubRel),
    PubComp(PubComp),
    Subscribe(Subscribe),
    SubAck(SubAck),
    Unsubscribe(Unsubscribe),
    UnsubAck(UnsubAck),
    PingReq,
    PingResp,
    Disconnect(Disconnect),
    Auth(Auth),
}

impl Packet {
    /// The packet's type.
    pub const fn packet_type(&self) -> PacketType {
        match self {
            Packet::Connect(_) => PacketType::Connect,
            Packet::ConnAck(_) => PacketType::ConnAck,
            Packet::Publish(_) => PacketType::Publish,
            Packet::PubAck(_) => PacketType::PubAck,
            Packet::PubRec(_) => PacketType::PubRec,
            Packet::PubRel(_) => PacketType::PubRel,
            Packet::PubComp(_) => PacketType::PubComp,
            Packet::Subscribe(_) => PacketType::Subscribe,
            Packet::SubAck(_) => PacketType::SubAck,
            Packet::Unsubscribe(_) => PacketType::Unsubscribe,
            Packet::UnsubAck(_) => PacketType::UnsubAck,
            Packet::PingReq => PacketType::PingReq,
            Packet::PingResp => PacketType::PingResp,
            Packet::Disconnect(_) => PacketType::Disconnect,
            Packet::Auth(_) => PacketType::Auth,
        }
    }

    /// The fixed-header flags (the low nibble of the first byte).
    pub fn flags(&self) -> u8 {
        match self {
            Packet::Publish(p) => p.flags(),
            other => other.packet_type().required_flags().unwrap_or(0),
        }
    }

    /// Length of the variable header and payload (the Remaining Length) at `version`.
    fn body_len(&self, version: ProtocolVersion) -> usize {
        match self {
            Packet::Connect(p) => p.body_len(),
            Packet::ConnAck(p) => p.body_len(version),
            Packet::Publish(p) => p.body_len(version),
            Packet::PubAck(p) => p.body_len(version),
            Packet::PubRec(p) => p.body_len(version),
            Packet::PubRel(p) => p.body_len(version),
            Packet::PubComp(p) => p.body_len(version),
            Packet::Subscribe(p) => p.body_len(version),
            Packet::SubAck(p) => p.body_len(version),
            Packet::Unsubscribe(p) => p.body_len(version),
            Packet::UnsubAck(p) => p.body_len(version),
            Packet::PingReq | Packet::PingResp => 0,
            Packet::Disconnect(p) => p.body_len(version),
            Packet::Auth(p) => p.body_len(),
        }
    }

    /// The exact number of bytes [`Codec::encode`] writes for this packet at `version`
    /// (CONNECT uses its own protocol level). Meaningful for packets that encode without error.
    pub fn encoded_len(&self, version: ProtocolVersion) -> usize {
        let body = self.body_len(version);
        1 + wire::varint_len(body.min(u32::MAX as usize) as u32) + body
    }

    /// Checks that [`Packet::encode`] would accept the packet at `version` within
    /// `max_packet_size`, without writing anything; returns the size it would have.
    ///
    /// ```
    /// use tern_mqtt::{Packet, ProtocolVersion, Publish, TopicName};
    /// let p = Packet::Publish(Publish::new(TopicName::new("a")?, vec![0u8; 100]));
    /// assert_eq!(p.check(ProtocolVersion::V5, 1024), Ok(106));
    /// assert!(p.check(ProtocolVersion::V5, 64).is_err());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn check(
        &self,
        version: ProtocolVersion,
        max_packet_size: usize,
    ) -> Result<usize, EncodeError> {
        let version = match self {
            Packet::Connect(c) => c.protocol,
            _ => version,
        };
        self.validate(version)?;
        packet_size(self.body_len(version), max_packet_size)
    }

    /// Checks everything the encoder checks except sizes.
    fn validate(&self, version: ProtocolVersion) -> Result<(), EncodeError> {
        match self {
            Packet::Connect(p) => p.validate(),
            Packet::ConnAck(p) => p.validate(version),
            Packet::Publish(p) => p.validate(version),
            Packet::PubAck(p) => p.validate(version),
            Packet::PubRec(p) => p.validate(version),
            Packet::PubRel(p) => p.validate(version),
            Packet::PubComp(p) => p.validate(version),
            Packet::Subscribe(p) => p.validate(version),
            Packet::SubAck(p) => p.validate(version),
            Packet::Unsubscribe(p) => p.validate(version),
            Packet::UnsubAck(p) => p.validate(version),
            Packet::PingReq | Packet::PingResp => Ok(()),
            Packet::Disconnect(p) => p.validate(version),
            Packet::Auth(p) => p.validate(version),
        }
    }

    fn write_body(&self, version: ProtocolVersion, buf: &mut BytesMut) {
        match self {
            Packet::Connect(p) => p.write(buf),
            Packet::ConnAck(p) => p.write(version, buf),
            Packet::Publish(p) => p.write(version, buf),
            Packet::PubAck(p) => p.write(version, buf),
            Packet::PubRec(p) => p.write(version, buf),
            Packet::PubRel(p) => p.write(version, buf),
            Packet::PubComp(p) => p.write(version, buf),
            Packet::Subscribe(p) => p.write(version, buf),
            Packet::SubAck(p) => p.write(version, buf),
            Packet::Unsubscribe(p) => p.write(version, buf),
            Packet::UnsubAck(p) => p.write(version, buf),
            Packet::PingReq | Packet::PingResp => {}
            Packet::Disconnect(p) => p.write(version, buf),
            Packet::Auth(p) => p.write(buf),
        }
    }

    /// Encodes the packet at `version` into `buf`, refusing packets over `max_packet_size`
    /// bytes. On error nothing is written.
    #[inline]
    pub fn encode(
        &self,
        version: ProtocolVersion,
        max_packet_size: usize,
        buf: &mut BytesMut,
    ) -> Result<(), EncodeError> {
        // Dispatched once per packet (instead of once per step: check, length, write) for the
        // packets of a busy connection; the rest take the generic path.
        macro_rules! frame {
            ($p:expr, $t:expr) => {{
                let p = $p;
                p.validate(version)?;
                let first = (($t as u8) << 4) | $t.required_flags().unwrap_or(0);
                encode_frame(first, p.body_len(version), max_packet_size, buf, |b| {
                    p.write(version, b)
                })
            }};
        }
        match self {
            Packet::Publish(p) => p.encode(version, max_packet_size, buf),
            Packet::PubAck(p) => frame!(p, PacketType::PubAck),
            Packet::PubRec(p) => frame!(p, PacketType::PubRec),
            Packet::PubRel(p) => frame!(p, PacketType::PubRel),
            Packet::PubComp(p) => frame!(p, PacketType::PubComp),
            Packet::Subscribe(p) => p.encode(version, max_packet_size, buf),
            Packet::SubAck(p) => frame!(p, PacketType::SubAck),
            Packet::Unsubscribe(p) => frame!(p, PacketType::Unsubscribe),
            Packet::UnsubAck(p) => frame!(p, PacketType::UnsubAck),
            other => other.encode_any(version, max_packet_size, buf),
        }
    }

    /// [`Packet::encode`] for any packet.
    #[inline(never)]
    fn encode_any(
        &self,
        version: ProtocolVersion,
        max_packet_size: usize,
        buf: &mut BytesMut,
    ) -> Result<(), EncodeError> {
        let version = match self {
            Packet::Connect(c) => c.protocol,
            _ => version,
        };
        self.validate(version)?;
        let body = self.body_len(version);
        let size = packet_size(body, max_packet_size)?;
        buf.reserve(size);
        buf.put_u8(((self.packet_type() as u8) << 4) | self.flags());
        wire::put_varint(buf, body as u32);
        let start = buf.len();
        self.write_body(version, buf);
        debug_assert_eq!(
            buf.len() - start,
            body,
            "body_len disagrees with write for {self:?}"
        );
        Ok(())
    }

    /// Decodes one whole packet (fixed header included) at `version`. `bytes` must hold exactly
    /// one packet; use [`Codec::decode`] for a stream.
    pub fn decode(version: ProtocolVersion, bytes: Bytes) -> Result<Packet, DecodeError> {
        let header = match parse_fixed_header(&bytes)? {
            Some(h) if h.total() == bytes.len() => h,
            Some(h) if h.total() < bytes.len() => {
                return Err(DecodeError::TrailingBytes {
                    packet: h.packet_type,
                });
            }
            _ => return Err(DecodeError::Truncated),
        };
        decode_body(Some(version), header, &bytes)
    }
}

/// Writes a fixed header with first byte `first` and Remaining Length `body`, then the body
/// with `write`, unless the packet would exceed MQTT's limit or `max_packet_size` (then
/// nothing is written).
#[inline]
fn encode_frame(
    first: u8,
    body: usize,
    max_packet_size: usize,
    buf: &mut BytesMut,
    write: impl FnOnce(&mut BytesMut),
) -> Result<(), EncodeError> {
    let size = packet_size(body, max_packet_size)?;
    buf.reserve(size);
    let ([v0, v1, v2, v3], n) = wire::varint_bytes(body as u32);
    // Fixed-size writes compile to plain stores rather than a call to memcpy.
    match n {
        1 => buf.put_slice(&[first, v0]),
        2 => buf.put_slice(&[first, v0, v1]),
        3 => buf.put_slice(&[first, v0, v1, v2]),
        _ => buf.put_slice(&[first, v0, v1, v2, v3]),
    }
    let start = buf.len();
    write(buf);
    debug_assert_eq!(buf.len() - start, body, "body_len disagrees with write");
    Ok(())
}

/// The size of a packet whose Remaining Length is `body`, if it is within MQTT's limit and
/// `max_packet_size`.
fn packet_size(body: usize, max_packet_size: usize) -> Result<usize, EncodeError> {
    if body > wire::VARINT_MAX as usize {
        return Err(EncodeError::RemainingLengthTooLarge);
    }
    let size = 1 + wire::varint_len(body as u32) + body;
    if size > max_packet_size {
        return Err(EncodeError::PacketTooLarge {
            size,
            max: max_packet_size,
        });
    }
    Ok(size)
}

macro_rules! from_packet {
    ($($variant:ident),*) => {$(
        impl From<$variant> for Packet {
            fn from(p: $variant) -> Packet {
                Packet::$variant(p)
            }
        }
    )*};
}
impl From<Connect> for Packet {
    fn from(p: Connect) -> Packet {
        Packet::Connect(Box::new(p))
    }
}

from_packet!(
    ConnAck,
    Publish,
    PubAck,
    PubRec,
    PubRel,
    PubComp,
    Subscribe,
    SubAck,
    Unsubscribe,
    UnsubAck,
    Disconnect,
    Auth
);

/// A parsed fixed header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct FixedHeader {
    pub(crate) packet_type: PacketType,
    pub(crate) flags: u8,
    /// Bytes of the fixed header (type byte and Remaining Length).
    pub(crate) header_len: usize,
    pub(crate) remaining_len: usize,
}

impl FixedHeader {
    pub(crate) fn total(&self) -> usize {
        self.header_len + self.remaining_len
    }
}

/// Checks the first byte: packet type and, except for PUBLISH, the flags [MQTT-2.1.3-1].
fn check_first_byte(byte: u8) -> Result<(PacketType, u8), DecodeError> {
    let packet_type = PacketType::from_u8(byte >> 4).ok_or(DecodeError::ReservedPacketType(0))?;
    let flags = byte & 0x0f;
    match packet_type.required_flags() {
        Some(required) if required != flags => Err(DecodeError::InvalidFlags {
            packet: packet_type,
            flags,
        }),
        None if (flags >> 1) & 0b11 == 0b11 => Err(DecodeError::InvalidQoS),
        _ => Ok((packet_type, flags)),
    }
}

/// Parses the fixed header at the start of `buf`; `Ok(None)` when more bytes are needed.
pub(crate) fn parse_fixed_header(buf: &[u8]) -> Result<Option<FixedHeader>, DecodeError> {
    let Some((&first, rest)) = buf.split_first() else {
        return Ok(None);
    };
    let (packet_type, flags) = check_first_byte(first)?;
    let Some((remaining, used)) = wire::read_varint(rest)? else {
        return Ok(None);
    };
    Ok(Some(FixedHeader {
        packet_type,
        flags,
        header_len: 1 + used,
        remaining_len: remaining as usize,
    }))
}

/// Decodes the variable header and payload of `frame`, a whole packet whose fixed header is
/// `h`. Fields are slices of `frame`.
fn decode_body(
    version: Option<ProtocolVersion>,
    h: FixedHeader,
    frame: &Bytes,
) -> Result<Packet, DecodeError> {
    let version = match (version, h.packet_type) {
        (_, PacketType::Connect) => {
            return connect::Connect::decode(Reader::at(frame, h.header_len))
                .map(|c| Packet::Connect(Box::new(c)));
        }
        (Some(v), _) => v,
        (None, t) => return Err(DecodeError::ExpectedConnect(t)),
    };
    let mut r = Reader::at(frame, h.header_len);
    let packet = match h.packet_type {
        PacketType::Connect => return Err(DecodeError::Truncated), // handled above
        PacketType::ConnAck => Packet::ConnAck(ConnAck::decode(version, &mut r)?),
        PacketType::Publish => Packet::Publish(Publish::decode(version, h.flags, &mut r)?),
        PacketType::PubAck => Packet::PubAck(PubAck::decode(version, &mut r)?),
        PacketType::PubRec => Packet::PubRec(PubRec::decode(version, &mut r)?),
        PacketType::PubRel => Packet::PubRel(PubRel::decode(version, &mut r)?),
        PacketType::PubComp => Packet::PubComp(PubComp::decode(version, &mut r)?),
        PacketType::Subscribe => Packet::Subscribe(Subscribe::decode(version, &mut r)?),
        PacketType::SubAck => Packet::SubAck(SubAck::decode(version, &mut r)?),
        PacketType::Unsubscribe => Packet::Unsubscribe(Unsubscribe::decode(version, &mut r)?),
        PacketType::UnsubAck => Packet::UnsubAck(UnsubAck::decode(version, &mut r)?),
        PacketType::PingReq => Packet::PingReq,
        PacketType::PingResp => Packet::PingResp,
        PacketType::Disconnect => Packet::Disconnect(Disconnect::decode(version, &mut r)?),
        PacketType::Auth if version.is_v5() => Packet::Auth(Auth::decode(&mut r)?),
        PacketType::Auth => return Err(DecodeError::ReservedPacketType(15)),
    };
    if !r.is_empty() {
        return Err(DecodeError::TrailingBytes {
            packet: h.packet_type,
        });
    }
    Ok(packet)
}

/// What [`Codec::decode`] found in the buffer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decoded {
    /// A whole packet, removed from the front of the buffer.
    Packet(Packet),
    /// The buffer holds only part of a packet; nothing was consumed.
    Incomplete {
        /// How many more bytes the packet needs, when the fixed header is complete.
        needed: Option<NonZeroUsize>,
    },
}

/// The largest packet MQTT can express: a five-byte fixed header and a Remaining Length of
/// 268,435,455 bytes.
pub const MAX_PACKET_SIZE: usize = 1 + 4 + wire::VARINT_MAX as usize;

/// The default limit on incoming packets: 1 MiB. Raise it with [`Codec::with_max_incoming`].
pub const DEFAULT_MAX_INCOMING: usize = 1024 * 1024;

/// A streaming MQTT codec for one connection: decodes packets from a byte stream and encodes
/// packets, at one protocol level, within packet-size limits.
///
/// A server that does not know the level yet uses [`Codec::server`]: it learns the level from
/// the CONNECT packet and refuses anything else before it.
#[derive(Debug, Clone)]
pub struct Codec {
    version: Option<ProtocolVersion>,
    max_incoming: usize,
    max_outgoing: usize,
}

impl Codec {
    /// A codec at protocol level `version`, with the default incoming limit
    /// ([`DEFAULT_MAX_INCOMING`]) and no outgoing limit beyond MQTT's own.
    pub const fn new(version: ProtocolVersion) -> Self {
        Codec {
            version: Some(version),
            max_incoming: DEFAULT_MAX_INCOMING,
            max_outgoing: MAX_PACKET_SIZE,
        }
    }

    /// A codec for the server side of a connection: the protocol level is taken from the
    /// first packet, which must be CONNECT [MQTT-3.1.0-1].
    pub const fn server() -> Self {
        Codec {
            version: None,
            max_incoming: DEFAULT_MAX_INCOMING,
            max_outgoing: MAX_PACKET_SIZE,
        }
    }

    /// Sets the largest incoming packet accepted, in bytes (the whole packet, as 5.0's Maximum
    /// Packet Size counts it). Larger packets are refused from their fixed header, before their
    /// body is buffered.
    pub const fn with_max_incoming(mut self, max: usize) -> Self {
        self.max_incoming = max;
        self
    }

    /// Sets the largest packet [`Codec::encode`] writes (the peer's Maximum Packet Size).
    pub const fn with_max_outgoing(mut self, max: usize) -> Self {
        self.max_outgoing = max;
        self
    }

    /// The protocol level, once known.
    pub const fn version(&self) -> Option<ProtocolVersion> {
        self.version
    }

    /// Sets the protocol level.
    pub fn set_version(&mut self, version: ProtocolVersion) {
        self.version = Some(version);
    }

    /// The incoming packet-size limit.
    pub const fn max_incoming(&self) -> usize {
        self.max_incoming
    }

    /// Sets the outgoing packet-size limit (e.g. from the peer's Maximum Packet Size).
    pub fn set_max_outgoing(&mut self, max: usize) {
        self.max_outgoing = max;
    }

    /// Decodes the next packet from the front of `buf`.
    ///
    /// Returns [`Decoded::Packet`] and removes its bytes from `buf`, or
    /// [`Decoded::Incomplete`] and leaves `buf` as it was, or a [`DecodeError`] (after which
    /// the connection must be closed; `buf` is left as it was). A [`Codec::server`] learns the
    /// protocol level from a CONNECT. Payloads, topics and strings share `buf`'s memory.
    pub fn decode(&self, buf: &mut BytesMut) -> Result<Decoded, DecodeError> {
        if let (None, Some(&first)) = (self.version, buf.first()) {
            // Refuse a first packet other than CONNECT from its first byte, before buffering it.
            match PacketType::from_u8(first >> 4) {
                Some(PacketType::Connect) | None => {}
                Some(t) => return Err(DecodeError::ExpectedConnect(t)),
            }
        }
        let Some(h) = parse_fixed_header(buf)? else {
            return Ok(Decoded::Incomplete { needed: None });
        };
        let total = h.total();
        if total > self.max_incoming {
            return Err(DecodeError::PacketTooLarge {
                size: total,
                max: self.max_incoming,
            });
        }
        if buf.len() < total {
            return Ok(Decoded::Incomplete {
                needed: NonZeroUsize::new(total - buf.len()),
            });
        }
        // (No let chains here: they need Rust 1.88, above this crate's MSRV.)
        if let (Some(version), PacketType::Publish) = (self.version, h.packet_type) {
            if let Some(p) = Publish::decode_plain(version, h, buf) {
                return Ok(Decoded::Packet(Packet::Publish(p)));
            }
        }
        // The packet leaves the buffer; on error it is put back so that nothing is consumed.
        let packet = buf.split_to(total).freeze();
        match decode_body(self.version, h, &packet) {
            Ok(p) => Ok(Decoded::Packet(p)),
            Err(e) => {
                let mut restored = BytesMut::with_capacity(packet.len() + buf.len());
                restored.extend_from_slice(&packet);
                restored.extend_from_slice(buf);
                *buf = restored;
                Err(e)
            }
        }
    }

    /// Like [`Codec::decode`] and, on a [`Codec::server`], sets the protocol level from a
    /// decoded CONNECT.
    pub fn decode_mut(&mut self, buf: &mut BytesMut) -> Result<Decoded, DecodeError> {
        let decoded = self.decode(buf)?;
        if let (None, Decoded::Packet(Packet::Connect(c))) = (self.version, &decoded) {
            self.version = Some(c.protocol);
        }
        Ok(decoded)
    }

    /// Encodes `packet` at this codec's protocol level into `buf`. A packet over the outgoing
    /// limit, or one the protocol forbids, is an [`EncodeError`] and nothing is written.
    /// CONNECT is written at its own protocol level.
    pub fn encode(&self, packet: &Packet, buf: &mut BytesMut) -> Result<(), EncodeError> {
        let version = self.version.unwrap_or(ProtocolVersion::V5);
        packet.encode(version, self.max_outgoing, buf)
    }
}

#[cfg(all(test, feature = "arbitrary"))]
mod tests {
    use arbitrary::{Arbitrary, Unstructured};
    use bytes::BytesMut;
    use proptest::prelude::*;

    use super::*;
    use crate::arbitrary::VersionedPacket;

    proptest! {
        /// `Packet::encode` takes per-type paths for the common packets; they must write the
        /// same bytes and fail the same way as the generic path, at either level (encoding a
        /// 5.0 packet at 3.1.1 often fails) and under any size limit.
        #[test]
        fn per_type_encoders_agree_with_the_generic_one(
            seed in prop::collection::vec(any::<u8>(), 0..512),
            max in prop_oneof![Just(usize::MAX), 0usize..200],
        ) {
            let Ok(p) = VersionedPacket::arbitrary(&mut Unstructured::new(&seed)) else {
                return Ok(());
            };
            for version in [ProtocolVersion::V3_1_1, ProtocolVersion::V5] {
                let (mut fast, mut generic) = (BytesMut::new(), BytesMut::new());
                let a = p.packet.encode(version, max, &mut fast);
                let b = p.packet.encode_any(version, max, &mut generic);
                prop_assert_eq!(a, b);
                prop_assert_eq!(fast, generic);
            }
        }
    }
}
