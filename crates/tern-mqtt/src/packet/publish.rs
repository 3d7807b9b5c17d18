//! PUBLISH (MQTT 5.0 §3.3) and its acknowledgements PUBACK, PUBREC, PUBREL and PUBCOMP
//! (§3.4–§3.7).

use bytes::{Buf, BufMut, Bytes, BytesMut};

use super::{FixedHeader, PacketId, PacketType, ProtocolVersion, QoS};
use crate::error::{DecodeError, EncodeError};
use crate::property::{Properties, PropertyContext, PropertyId};
use crate::reason::ReasonCode;
use crate::topic::{self, TopicError, TopicName};
use crate::wire::Reader;

const PUBLISH_PROPS: PropertyContext = PropertyContext::Packet(PacketType::Publish);

/// PUBLISH: an application message.
///
/// `packet_id` is `Some` exactly when `qos` is 1 or 2; the encoder refuses anything else.
///
/// ```
/// use tern_mqtt::{PacketId, Publish, QoS, TopicName};
///
/// let mut p = Publish::new(TopicName::new("sensors/temperature")?, "21.5");
/// p.qos = QoS::AtLeastOnce;
/// p.packet_id = PacketId::new(1);
/// p.retain = true;
/// # Ok::<(), tern_mqtt::topic::TopicError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Publish {
    /// DUP: this may be a re-delivery of an earlier attempt (QoS 1/2 only).
    pub dup: bool,
    /// The QoS.
    pub qos: QoS,
    /// RETAIN.
    pub retain: bool,
    /// The topic; [`TopicName::alias_only`] (empty) when a 5.0 Topic Alias names the topic.
    pub topic: TopicName,
    /// The packet identifier, present for QoS 1 and 2.
    pub packet_id: Option<PacketId>,
    /// PUBLISH properties (5.0).
    pub properties: Properties,
    /// The application message.
    pub payload: Bytes,
}

impl Publish {
    /// A QoS 0, non-retained PUBLISH without properties.
    pub fn new(topic: TopicName, payload: impl Into<Bytes>) -> Self {
        Publish {
            dup: false,
            qos: QoS::AtMostOnce,
            retain: false,
            topic,
            packet_id: None,
            properties: Properties::new(),
            payload: payload.into(),
        }
    }

    pub(crate) fn flags(&self) -> u8 {
        (u8::from(self.dup) << 3) | (self.qos.as_u8() << 1) | u8::from(self.retain)
    }

    pub(crate) fn decode(
        version: ProtocolVersion,
        flags: u8,
        r: &mut Reader<'_>,
    ) -> Result<Self, DecodeError> {
        let dup = flags & 0b1000 != 0;
        let qos = QoS::from_u8((flags >> 1) & 0b11).ok_or(DecodeError::InvalidQoS)?;
        let retain = flags & 1 != 0;
        if dup && qos == QoS::AtMostOnce {
            return Err(DecodeError::DupWithQoS0);
        }
        let topic = TopicName::from_wire_bytes(r.binary()?)?;
        let packet_id = match qos {
            QoS::AtMostOnce => None,
            _ => Some(PacketId::read(r)?),
        };
        let properties = if version.is_v5() {
            Properties::decode(r, PUBLISH_PROPS)?
        } else {
            Properties::new()
        };
        if topic.is_empty() {
            if !version.is_v5() {
                return Err(DecodeError::InvalidTopic(TopicError::Empty));
            }
            if !properties.contains(PropertyId::TopicAlias) {
                return Err(DecodeError::EmptyTopicWithoutAlias);
            }
        }
        let payload = r.rest();
        Ok(Publish {
            dup,
            qos,
            retain,
            topic,
            packet_id,
            properties,
            payload,
        })
    }

    /// The fast path of [`Codec::decode`](super::Codec::decode) for the common PUBLISH: a plain
    /// ASCII topic name (no NUL, no wildcard, not empty), a valid packet identifier if QoS > 0,
    /// and (5.0) no properties. It checks the packet in `buf` in place and only then splits it
    /// off, moving the rest of the packet into the payload, so that decoding takes two
    /// reference counts on the buffer instead of three or four.
    ///
    /// `buf` must hold the whole packet whose fixed header is `h`. Returns `None`, consuming
    /// nothing, for anything else; the general path then decodes it (and reports any error).
    /// Whenever this returns a packet, the general path returns the same packet.
    #[inline]
    pub(crate) fn decode_plain(
        version: ProtocolVersion,
        h: FixedHeader,
        buf: &mut BytesMut,
    ) -> Option<Self> {
        let dup = h.flags & 0b1000 != 0;
        let qos = QoS::from_u8((h.flags >> 1) & 0b11)?;
        let retain = h.flags & 1 != 0;
        if dup && qos == QoS::AtMostOnce {
            return None;
        }
        let body = buf.get(h.header_len..h.total())?;
        let (&[t0, t1], rest) = body.split_first_chunk::<2>()?;
        let topic_len = usize::from(u16::from_be_bytes([t0, t1]));
        let (topic, mut rest) = rest.split_at_checked(topic_len)?;
        if topic.is_empty() || !topic::is_plain_name(topic) {
            return None;
        }
        let packet_id = match qos {
            QoS::AtMostOnce => None,
            _ => {
                let (&[a, b], r) = rest.split_first_chunk::<2>()?;
                rest = r;
                Some(PacketId::new(u16::from_be_bytes([a, b]))?)
            }
        };
        if version.is_v5() {
            // An empty property block: a Property Length of zero.
            let (&0, r) = rest.split_first()? else {
                return None;
            };
            rest = r;
        }
        let payload_start = h.total() - rest.len();
        let topic_start = h.header_len + 2;
        // Two shares of the buffer: the topic, and the rest of the packet as the payload.
        let mut frame = buf.split_to(h.total()).freeze();
        let topic = frame.slice(topic_start..topic_start + topic_len);
        frame.advance(payload_start);
        Some(Publish {
            dup,
            qos,
            retain,
            topic: TopicName::from_plain(topic),
            packet_id,
            properties: Properties::new(),
            payload: frame,
        })
    }

    /// [`Packet::encode`](super::Packet::encode) for a PUBLISH: the same checks and bytes as
    /// the generic path, with one dispatch.
    #[inline]
    pub(crate) fn encode(
        &self,
        version: ProtocolVersion,
        max_packet_size: usize,
        buf: &mut BytesMut,
    ) -> Result<(), EncodeError> {
        self.validate(version)?;
        let body = self.body_len(version);
        let size = super::packet_size(body, max_packet_size)?;
        buf.reserve(size);
        // First byte, Remaining Length and topic length in one write of a fixed size (which
        // compiles to plain stores rather than a call to memcpy).
        let ([v0, v1, v2, v3], n) = crate::wire::varint_bytes(body as u32);
        let topic = self.topic.as_bytes();
        let [t0, t1] = (topic.len() as u16).to_be_bytes();
        let f = ((PacketType::Publish as u8) << 4) | self.flags();
        match n {
            1 => buf.put_slice(&[f, v0, t0, t1]),
            2 => buf.put_slice(&[f, v0, v1, t0, t1]),
            3 => buf.put_slice(&[f, v0, v1, v2, t0, t1]),
            _ => buf.put_slice(&[f, v0, v1, v2, v3, t0, t1]),
        }
        buf.put_slice(topic);
        if let Some(id) = self.packet_id {
            buf.put_u16(id.get());
        }
        if version.is_v5() {
            self.properties.write(buf);
        }
        buf.put_slice(&self.payload);
        Ok(())
    }

    #[inline]
    pub(crate) fn validate(&self, version: ProtocolVersion) -> Result<(), EncodeError> {
        if (self.qos == QoS::AtMostOnce) != self.packet_id.is_none() {
            return Err(EncodeError::PacketIdMismatch);
        }
        if self.dup && self.qos == QoS::AtMostOnce {
            return Err(EncodeError::DupWithQoS0);
        }
        if version.is_v5() {
            self.properties.check(PUBLISH_PROPS)?;
            if self.topic.is_empty() && !self.properties.contains(PropertyId::TopicAlias) {
                return Err(EncodeError::EmptyTopicWithoutAlias);
            }
        } else {
            if !self.properties.is_empty() {
                return Err(EncodeError::NotInVersion("PUBLISH properties"));
            }
            if self.topic.is_empty() {
                return Err(EncodeError::EmptyTopicWithoutAlias);
            }
        }
        Ok(())
    }

    pub(crate) fn body_len(&self, version: ProtocolVersion) -> usize {
        2 + self.topic.len()
            + if self.packet_id.is_some() { 2 } else { 0 }
            + if version.is_v5() {
                self.properties.encoded_len()
            } else {
                0
            }
            + self.payload.len()
    }

    pub(crate) fn write(&self, version: ProtocolVersion, buf: &mut BytesMut) {
        crate::wire::put_binary(buf, self.topic.as_bytes());
        if let Some(id) = self.packet_id {
            buf.put_u16(id.get());
        }
        if version.is_v5() {
            self.properties.write(buf);
        }
        buf.put_slice(&self.payload);
    }
}

macro_rules! ack_packet {
    ($(#[$doc:meta])* $name:ident, $packet_type:expr) => {
        $(#[$doc])*
        ///
        /// In 5.0 the reason code and properties are optional on the wire; the encoder writes
        /// the shortest form (two bytes for Success without properties). In 3.1.1 only the
        /// packet identifier exists, so the reason code must be Success and properties empty.
        #[derive(Debug, Clone, PartialEq, Eq)]
        pub struct $name {
            /// The packet identifier of the PUBLISH (or PUBREL) acknowledged.
            pub packet_id: PacketId,
            /// The outcome (5.0).
            pub reason_code: ReasonCode,
            /// Properties (5.0): Reason String and User Properties.
            pub properties: Properties,
        }

        impl $name {
            /// A successful acknowledgement of `packet_id`.
            pub fn new(packet_id: PacketId) -> Self {
                $name { packet_id, reason_code: ReasonCode::Success, properties: Properties::new() }
            }

            pub(crate) fn decode(
                version: ProtocolVersion,
                r: &mut Reader<'_>,
            ) -> Result<Self, DecodeError> {
                let (packet_id, reason_code, properties) = decode_ack($packet_type, version, r)?;
                Ok($name { packet_id, reason_code, properties })
            }

            pub(crate) fn validate(&self, version: ProtocolVersion) -> Result<(), EncodeError> {
                validate_ack($packet_type, version, self.reason_code, &self.properties)
            }

            pub(crate) fn body_len(&self, version: ProtocolVersion) -> usize {
                ack_body_len(version, self.reason_code, &self.properties)
            }

            pub(crate) fn write(&self, version: ProtocolVersion, buf: &mut BytesMut) {
                write_ack(version, self.packet_id, self.reason_code, &self.properties, buf)
            }
        }
    };
}

ack_packet!(
    /// PUBACK: the answer to a QoS 1 PUBLISH.
    PubAck,
    PacketType::PubAck
);
ack_packet!(
    /// PUBREC: the first answer to a QoS 2 PUBLISH.
    PubRec,
    PacketType::PubRec
);
ack_packet!(
    /// PUBREL: the answer to PUBREC.
    PubRel,
    PacketType::PubRel
);
ack_packet!(
    /// PUBCOMP: the answer to PUBREL, completing QoS 2.
    PubComp,
    PacketType::PubComp
);

fn decode_ack(
    packet: PacketType,
    version: ProtocolVersion,
    r: &mut Reader<'_>,
) -> Result<(PacketId, ReasonCode, Properties), DecodeError> {
    let packet_id = PacketId::read(r)?;
    if !version.is_v5() || r.is_empty() {
        return Ok((packet_id, ReasonCode::Success, Properties::new()));
    }
    let code = r.u8()?;
    let reason_code = ReasonCode::from_u8(code)
        .filter(|c| c.allowed_in(packet))
        .ok_or(DecodeError::InvalidReasonCode { packet, code })?;
    let properties = if r.is_empty() {
        Properties::new()
    } else {
        Properties::decode(r, PropertyContext::Packet(packet))?
    };
    Ok((packet_id, reason_code, properties))
}

fn validate_ack(
    packet: PacketType,
    version: ProtocolVersion,
    code: ReasonCode,
    properties: &Properties,
) -> Result<(), EncodeError> {
    if version.is_v5() {
        if !code.allowed_in(packet) {
            return Err(EncodeError::ReasonCodeNotAllowed { packet, code });
        }
        properties.check(PropertyContext::Packet(packet))
    } else if code != ReasonCode::Success {
        Err(EncodeError::NotInVersion(
            "a reason code other than Success",
        ))
    } else if !properties.is_empty() {
        Err(EncodeError::NotInVersion("acknowledgement properties"))
    } else {
        Ok(())
    }
}

fn ack_body_len(version: ProtocolVersion, code: ReasonCode, properties: &Properties) -> usize {
    if !version.is_v5() || (code == ReasonCode::Success && properties.is_empty()) {
        2
    } else if properties.is_empty() {
        3
    } else {
        3 + properties.encoded_len()
    }
}

fn write_ack(
    version: ProtocolVersion,
    packet_id: PacketId,
    code: ReasonCode,
    properties: &Properties,
    buf: &mut BytesMut,
) {
    buf.put_u16(packet_id.get());
    if !version.is_v5() || (code == ReasonCode::Success && properties.is_empty()) {
        return;
    }
    buf.put_u8(code.as_u8());
    if !properties.is_empty() {
        properties.write(buf);
    }
}

#[cfg(test)]
mod tests {
    use bytes::{BufMut, Bytes, BytesMut};
    use proptest::prelude::*;

    use crate::packet::{Codec, Decoded, Packet, ProtocolVersion};

    /// A PUBLISH frame from raw parts, valid or not: `topic_len` may lie about the topic.
    fn frame(flags: u8, topic_len: u16, topic: &[u8], rest: &[u8]) -> Vec<u8> {
        let mut body = BytesMut::new();
        body.put_u16(topic_len);
        body.put_slice(topic);
        body.put_slice(rest);
        let mut f = BytesMut::new();
        f.put_u8(0x30 | flags);
        crate::wire::put_varint(&mut f, body.len() as u32);
        f.put_slice(&body);
        f.to_vec()
    }

    fn topic_byte() -> impl Strategy<Value = u8> {
        prop_oneof![
            4 => prop::sample::select(b"abc/$_-09".to_vec()),
            1 => prop::sample::select(vec![b'+', b'#', 0, 0x7f, 0x80, 0xc3, 0xa9, 0xff]),
        ]
    }

    proptest! {
        /// `Codec::decode` takes a fast path for plain PUBLISH packets; whatever it returns
        /// must be what the general path (`Packet::decode`) returns, errors included.
        #[test]
        fn publish_fast_path_agrees_with_general_path(
            flags in 0u8..16,
            topic in prop::collection::vec(topic_byte(), 0..24),
            lie in prop_oneof![4 => Just(0i32), 1 => -2i32..3],
            rest in prop_oneof![
                Just(vec![0x12, 0x34, 0]),
                Just(vec![0, 0, 0]),
                Just(vec![0x12, 0x34, 3, 0x23, 0, 1]),
                Just(vec![0x12, 0x34]),
                Just(vec![0]),
                Just(vec![]),
                prop::collection::vec(any::<u8>(), 0..6),
            ],
            payload in prop::collection::vec(any::<u8>(), 0..6),
        ) {
            let topic_len = (topic.len() as i32 + lie).clamp(0, 0xffff) as u16;
            let mut tail = rest.clone();
            tail.extend_from_slice(&payload);
            let wire = frame(flags, topic_len, &topic, &tail);
            for version in [ProtocolVersion::V3_1_1, ProtocolVersion::V5] {
                let mut buf = BytesMut::from(&wire[..]);
                let fast = Codec::new(version).decode(&mut buf);
                let general = Packet::decode(version, Bytes::from(wire.clone()));
                match (&fast, &general) {
                    (Ok(Decoded::Packet(a)), Ok(b)) => {
                        prop_assert_eq!(a, b);
                        prop_assert!(buf.is_empty());
                    }
                    (Err(a), Err(b)) => {
                        prop_assert_eq!(a, b);
                        prop_assert_eq!(&buf[..], &wire[..]);
                    }
                    _ => prop_assert!(false, "{version}: codec {fast:?}, general {general:?}"),
                }
            }
        }
    }
}
