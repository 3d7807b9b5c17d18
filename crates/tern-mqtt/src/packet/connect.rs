//! CONNECT (MQTT 5.0 §3.1, 3.1.1 §3.1) and CONNACK (§3.2).

use bytes::{BufMut, Bytes, BytesMut};

use super::{PacketType, ProtocolVersion, QoS};
use crate::error::{DecodeError, EncodeError};
use crate::property::{Properties, PropertyContext};
use crate::reason::ReasonCode;
use crate::string::MqttString;
use crate::topic::TopicName;
use crate::wire::{self, Reader};

const CONNECT_PROPS: PropertyContext = PropertyContext::Packet(PacketType::Connect);
const CONNACK_PROPS: PropertyContext = PropertyContext::Packet(PacketType::ConnAck);

/// A Will Message: published by the server when the connection ends without a DISCONNECT.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Will {
    /// Where it is published.
    pub topic: TopicName,
    /// The message.
    pub payload: Bytes,
    /// Its QoS.
    pub qos: QoS,
    /// Whether it is retained.
    pub retain: bool,
    /// Will Properties (5.0): Will Delay Interval, Message Expiry Interval, Content Type, ...
    pub properties: Properties,
}

impl Will {
    /// A QoS 0, non-retained will without properties.
    pub fn new(topic: TopicName, payload: impl Into<Bytes>) -> Self {
        Will {
            topic,
            payload: payload.into(),
            qos: QoS::AtMostOnce,
            retain: false,
            properties: Properties::new(),
        }
    }
}

/// CONNECT: the first packet a client sends.
///
/// ```
/// use tern_mqtt::{Connect, MqttString, ProtocolVersion};
///
/// let mut connect = Connect::new(ProtocolVersion::V5, MqttString::new("thermo-1")?);
/// connect.keep_alive = 30;
/// connect.username = Some(MqttString::new("device")?);
/// connect.password = Some("s3cret".into());
/// let mut buf = bytes::BytesMut::new();
/// tern_mqtt::Codec::new(ProtocolVersion::V5).encode(&connect.into(), &mut buf)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Connect {
    /// The protocol level the client speaks; the packet is written at this level.
    pub protocol: ProtocolVersion,
    /// Clean Start (5.0) / Clean Session (3.1.1).
    pub clean_start: bool,
    /// Keep Alive in seconds; 0 turns it off.
    pub keep_alive: u16,
    /// Client Identifier; may be empty to ask the server to assign one.
    pub client_id: MqttString,
    /// The Will Message, if any.
    pub will: Option<Will>,
    /// User Name.
    pub username: Option<MqttString>,
    /// Password (binary data).
    pub password: Option<Bytes>,
    /// CONNECT properties (5.0).
    pub properties: Properties,
}

impl Connect {
    /// A CONNECT with clean start, a 60 s keep alive and nothing else.
    pub fn new(protocol: ProtocolVersion, client_id: MqttString) -> Self {
        Connect {
            protocol,
            clean_start: true,
            keep_alive: 60,
            client_id,
            will: None,
            username: None,
            password: None,
            properties: Properties::new(),
        }
    }

    fn protocol_name(&self) -> &'static [u8] {
        match self.protocol {
            ProtocolVersion::V3_1 => b"MQIsdp",
            _ => b"MQTT",
        }
    }

    /// Decodes the body of a CONNECT; `r` is positioned after the fixed header.
    pub(crate) fn decode(mut r: Reader<'_>) -> Result<Connect, DecodeError> {
        let name = r.binary()?;
        let level = r.u8()?;
        let protocol = match (&name[..], level) {
            (b"MQTT", 4) => ProtocolVersion::V3_1_1,
            (b"MQTT", 5) => ProtocolVersion::V5,
            (b"MQIsdp", 3) => ProtocolVersion::V3_1,
            (b"MQTT" | b"MQIsdp", l) => return Err(DecodeError::UnsupportedProtocolLevel(l)),
            _ => return Err(DecodeError::InvalidProtocolName),
        };
        let v5 = protocol.is_v5();
        let flags = r.u8()?;
        if flags & 0x01 != 0 {
            return Err(DecodeError::ReservedConnectFlag);
        }
        let has_username = flags & 0x80 != 0;
        let has_password = flags & 0x40 != 0;
        let will_retain = flags & 0x20 != 0;
        let will_qos = (flags >> 3) & 0b11;
        let has_will = flags & 0x04 != 0;
        let clean_start = flags & 0x02 != 0;
        if !has_will && (will_retain || will_qos != 0) {
            return Err(DecodeError::WillFlagsWithoutWill);
        }
        let will_qos = QoS::from_u8(will_qos).ok_or(DecodeError::InvalidWillQoS)?;
        if !v5 && has_password && !has_username {
            return Err(DecodeError::PasswordWithoutUsername);
        }
        let keep_alive = r.u16()?;
        let properties = if v5 {
            Properties::decode(&mut r, CONNECT_PROPS)?
        } else {
            Properties::new()
        };
        let client_id = r.string()?;
        let will = if has_will {
            let properties = if v5 {
                Properties::decode(&mut r, PropertyContext::Will)?
            } else {
                Properties::new()
            };
            let topic = TopicName::from_string(r.string()?)?;
            let payload = r.binary()?;
            Some(Will {
                topic,
                payload,
                qos: will_qos,
                retain: will_retain,
                properties,
            })
        } else {
            None
        };
        let username = if has_username {
            Some(r.string()?)
        } else {
            None
        };
        let password = if has_password {
            Some(r.binary()?)
        } else {
            None
        };
        if !r.is_empty() {
            return Err(DecodeError::TrailingBytes {
                packet: PacketType::Connect,
            });
        }
        Ok(Connect {
            protocol,
            clean_start,
            keep_alive,
            client_id,
            will,
            username,
            password,
            properties,
        })
    }

    pub(crate) fn validate(&self) -> Result<(), EncodeError> {
        let v5 = self.protocol.is_v5();
        if v5 {
            self.properties.check(CONNECT_PROPS)?;
        } else if !self.properties.is_empty() {
            return Err(EncodeError::NotInVersion("CONNECT properties"));
        }
        if let Some(will) = &self.will {
            wire::prefixed_len(will.payload.len())?;
            if v5 {
                will.properties.check(PropertyContext::Will)?;
            } else if !will.properties.is_empty() {
                return Err(EncodeError::NotInVersion("Will properties"));
            }
            if will.topic.is_empty() {
                return Err(EncodeError::EmptyTopicWithoutAlias);
            }
        }
        if let Some(password) = &self.password {
            wire::prefixed_len(password.len())?;
            if !v5 && self.username.is_none() {
                return Err(EncodeError::NotInVersion("a password without a user name"));
            }
        }
        Ok(())
    }

    pub(crate) fn body_len(&self) -> usize {
        let v5 = self.protocol.is_v5();
        let mut len = 2 + self.protocol_name().len() + 1 + 1 + 2;
        if v5 {
            len += self.properties.encoded_len();
        }
        len += 2 + self.client_id.len();
        if let Some(will) = &self.will {
            if v5 {
                len += will.properties.encoded_len();
            }
            len += 2 + will.topic.len() + 2 + will.payload.len();
        }
        if let Some(u) = &self.username {
            len += 2 + u.len();
        }
        if let Some(p) = &self.password {
            len += 2 + p.len();
        }
        len
    }

    pub(crate) fn write(&self, buf: &mut BytesMut) {
        let v5 = self.protocol.is_v5();
        wire::put_binary(buf, self.protocol_name());
        buf.put_u8(self.protocol.level());
        let mut flags = 0u8;
        if self.username.is_some() {
            flags |= 0x80;
        }
        if self.password.is_some() {
            flags |= 0x40;
        }
        if let Some(will) = &self.will {
            flags |= 0x04 | (will.qos.as_u8() << 3);
            if will.retain {
                flags |= 0x20;
            }
        }
        if self.clean_start {
            flags |= 0x02;
        }
        buf.put_u8(flags);
        buf.put_u16(self.keep_alive);
        if v5 {
            self.properties.write(buf);
        }
        wire::put_binary(buf, self.client_id.as_bytes());
        if let Some(will) = &self.will {
            if v5 {
                will.properties.write(buf);
            }
            wire::put_binary(buf, will.topic.as_bytes());
            wire::put_binary(buf, &will.payload);
        }
        if let Some(u) = &self.username {
            wire::put_binary(buf, u.as_bytes());
        }
        if let Some(p) = &self.password {
            wire::put_binary(buf, p);
        }
    }
}

/// CONNACK: the server's answer to CONNECT.
///
/// 3.1.1 return codes 1–5 are read as the 5.0 reason codes with the same meaning (see
/// [`ReasonCode::from_v3_connack`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnAck {
    /// Whether the server resumed a session.
    pub session_present: bool,
    /// The outcome.
    pub reason_code: ReasonCode,
    /// CONNACK properties (5.0).
    pub properties: Properties,
}

impl ConnAck {
    /// A successful CONNACK.
    pub fn new(session_present: bool) -> Self {
        ConnAck {
            session_present,
            reason_code: ReasonCode::Success,
            properties: Properties::new(),
        }
    }

    pub(crate) fn decode(
        version: ProtocolVersion,
        r: &mut Reader<'_>,
    ) -> Result<Self, DecodeError> {
        let flags = r.u8()?;
        if flags & 0xfe != 0 {
            return Err(DecodeError::ReservedConnAckFlags);
        }
        let session_present = flags & 1 != 0;
        let code = r.u8()?;
        let invalid = DecodeError::InvalidReasonCode {
            packet: PacketType::ConnAck,
            code,
        };
        let reason_code = if version.is_v5() {
            ReasonCode::from_u8(code)
                .filter(|c| c.allowed_in(PacketType::ConnAck))
                .ok_or(invalid)?
        } else {
            ReasonCode::from_v3_connack(code).ok_or(invalid)?
        };
        if session_present && reason_code != ReasonCode::Success {
            return Err(DecodeError::SessionPresentOnError);
        }
        let properties = if version.is_v5() {
            Properties::decode(r, CONNACK_PROPS)?
        } else {
            Properties::new()
        };
        Ok(ConnAck {
            session_present,
            reason_code,
            properties,
        })
    }

    pub(crate) fn validate(&self, version: ProtocolVersion) -> Result<(), EncodeError> {
        if self.session_present && self.reason_code != ReasonCode::Success {
            return Err(EncodeError::SessionPresentOnError);
        }
        if version.is_v5() {
            if !self.reason_code.allowed_in(PacketType::ConnAck) {
                return Err(EncodeError::ReasonCodeNotAllowed {
                    packet: PacketType::ConnAck,
                    code: self.reason_code,
                });
            }
            self.properties.check(CONNACK_PROPS)
        } else if self.reason_code.to_v3_connack().is_none() {
            Err(EncodeError::ReasonCodeNotAllowed {
                packet: PacketType::ConnAck,
                code: self.reason_code,
            })
        } else if !self.properties.is_empty() {
            Err(EncodeError::NotInVersion("CONNACK properties"))
        } else {
            Ok(())
        }
    }

    pub(crate) fn body_len(&self, version: ProtocolVersion) -> usize {
        2 + if version.is_v5() {
            self.properties.encoded_len()
        } else {
            0
        }
    }

    pub(crate) fn write(&self, version: ProtocolVersion, buf: &mut BytesMut) {
        buf.put_u8(u8::from(self.session_present));
        if version.is_v5() {
            buf.put_u8(self.reason_code.as_u8());
            self.properties.write(buf);
        } else {
            buf.put_u8(self.reason_code.to_v3_connack().unwrap_or(0));
        }
    }
}
