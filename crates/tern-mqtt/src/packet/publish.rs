//! PUBLISH (MQTT 5.0 §3.3) and its acknowledgements PUBACK, PUBREC, PUBREL and PUBCOMP
//! (§3.4–§3.7).

use bytes::{BufMut, Bytes, BytesMut};

use super::{PacketId, PacketType, ProtocolVersion, QoS};
use crate::error::{DecodeError, EncodeError};
use crate::property::{Properties, PropertyContext, PropertyId};
use crate::reason::ReasonCode;
use crate::topic::{TopicError, TopicName};
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
        let topic = TopicName::from_wire(r.string()?)?;
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
