//! Structure-aware generation of valid packets for fuzzing and property tests.
//!
//! Hidden and unstable: enabled by the `arbitrary` feature for `fuzz/` and the test suites.
//! Everything generated here is a packet the encoder accepts at the generated protocol level,
//! so `decode(encode(p)) == p` must hold for each.

use alloc::string::String;
use alloc::vec::Vec;

use arbitrary::{Arbitrary, Result, Unstructured};
use bytes::Bytes;

use crate::packet::*;
use crate::property::{Properties, Property, PropertyContext, PropertyId};
use crate::reason::ReasonCode;
use crate::string::MqttString;
use crate::topic::{TopicFilter, TopicName};

/// A protocol level and a valid packet at that level.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VersionedPacket {
    /// The level to encode and decode at (a CONNECT carries its own).
    pub version: ProtocolVersion,
    /// The packet.
    pub packet: Packet,
}

impl<'a> Arbitrary<'a> for VersionedPacket {
    fn arbitrary(u: &mut Unstructured<'a>) -> Result<Self> {
        let version = version(u)?;
        Ok(VersionedPacket {
            version,
            packet: packet(u, version)?,
        })
    }
}

/// A protocol level.
pub fn version(u: &mut Unstructured<'_>) -> Result<ProtocolVersion> {
    Ok(*u.choose(&[
        ProtocolVersion::V3_1,
        ProtocolVersion::V3_1_1,
        ProtocolVersion::V5,
    ])?)
}

fn qos(u: &mut Unstructured<'_>) -> Result<QoS> {
    Ok(*u.choose(&[QoS::AtMostOnce, QoS::AtLeastOnce, QoS::ExactlyOnce])?)
}

fn packet_id(u: &mut Unstructured<'_>) -> Result<PacketId> {
    Ok(PacketId::new(u.int_in_range(1..=u16::MAX)?).unwrap_or(PacketId::MIN))
}

fn bytes(u: &mut Unstructured<'_>, max: usize) -> Result<Bytes> {
    let len = u.int_in_range(0..=max)?;
    Ok(Bytes::copy_from_slice(u.bytes(len.min(u.len()))?))
}

/// A valid MQTT string of at most `max` characters, mostly ASCII with some multi-byte ones.
pub fn mqtt_string(u: &mut Unstructured<'_>, max: usize) -> Result<MqttString> {
    let n = u.int_in_range(0..=max)?;
    let mut s = String::new();
    for _ in 0..n {
        let c = match u.int_in_range(0u8..=9)? {
            0 => char::arbitrary(u)?,
            1 => *u.choose(&['é', 'ü', '€', '😀', '\u{feff}', '/', '$', ' '])?,
            _ => char::from(u.int_in_range(b'a'..=b'z')?),
        };
        if c != '\0' {
            s.push(c);
        }
    }
    Ok(MqttString::try_from(s).unwrap_or_default())
}

fn level(u: &mut Unstructured<'_>) -> Result<String> {
    let s = mqtt_string(u, 6)?;
    Ok(s.as_str().replace(['/', '+', '#'], "x"))
}

/// A valid, non-empty topic name.
pub fn topic_name(u: &mut Unstructured<'_>) -> Result<TopicName> {
    let levels = u.int_in_range(1..=4)?;
    let mut s = String::new();
    for i in 0..levels {
        if i > 0 {
            s.push('/');
        }
        s.push_str(&level(u)?);
    }
    if s.is_empty() {
        s.push('t');
    }
    TopicName::new(&s).map_err(|_| arbitrary::Error::IncorrectFormat)
}

/// A valid topic filter, sometimes with wildcards, sometimes shared.
pub fn topic_filter(u: &mut Unstructured<'_>) -> Result<TopicFilter> {
    let levels = u.int_in_range(1..=4)?;
    let mut parts: Vec<String> = Vec::new();
    for i in 0..levels {
        let last = i + 1 == levels;
        parts.push(match u.int_in_range(0u8..=5)? {
            0 => "+".into(),
            1 if last => "#".into(),
            _ => level(u)?,
        });
    }
    let mut s = parts.join("/");
    if s.is_empty() {
        s.push('f');
    }
    if u.ratio(1, 8)? {
        let group = level(u)?;
        let group = if group.is_empty() {
            String::from("g")
        } else {
            group
        };
        s = alloc::format!("$share/{group}/{s}");
    }
    TopicFilter::new(&s).map_err(|_| arbitrary::Error::IncorrectFormat)
}

fn property(u: &mut Unstructured<'_>, id: PropertyId) -> Result<Property> {
    use Property as P;
    use PropertyId as I;
    let boolean = |u: &mut Unstructured<'_>| -> Result<u8> { u.int_in_range(0..=1) };
    Ok(match id {
        I::PayloadFormatIndicator => P::PayloadFormatIndicator(boolean(u)?),
        I::MessageExpiryInterval => P::MessageExpiryInterval(u.arbitrary()?),
        I::ContentType => P::ContentType(mqtt_string(u, 20)?),
        I::ResponseTopic => P::ResponseTopic(topic_name(u)?),
        I::CorrelationData => P::CorrelationData(bytes(u, 16)?),
        I::SubscriptionIdentifier => P::SubscriptionIdentifier(u.int_in_range(1..=268_435_455)?),
        I::SessionExpiryInterval => P::SessionExpiryInterval(u.arbitrary()?),
        I::AssignedClientIdentifier => P::AssignedClientIdentifier(mqtt_string(u, 23)?),
        I::ServerKeepAlive => P::ServerKeepAlive(u.arbitrary()?),
        I::AuthenticationMethod => P::AuthenticationMethod(mqtt_string(u, 12)?),
        I::AuthenticationData => P::AuthenticationData(bytes(u, 16)?),
        I::RequestProblemInformation => P::RequestProblemInformation(boolean(u)?),
        I::WillDelayInterval => P::WillDelayInterval(u.arbitrary()?),
        I::RequestResponseInformation => P::RequestResponseInformation(boolean(u)?),
        I::ResponseInformation => P::ResponseInformation(mqtt_string(u, 12)?),
        I::ServerReference => P::ServerReference(mqtt_string(u, 12)?),
        I::ReasonString => P::ReasonString(mqtt_string(u, 20)?),
        I::ReceiveMaximum => P::ReceiveMaximum(u.int_in_range(1..=u16::MAX)?),
        I::TopicAliasMaximum => P::TopicAliasMaximum(u.arbitrary()?),
        I::TopicAlias => P::TopicAlias(u.int_in_range(1..=u16::MAX)?),
        I::MaximumQoS => P::MaximumQoS(boolean(u)?),
        I::RetainAvailable => P::RetainAvailable(boolean(u)?),
        I::UserProperty => P::UserProperty(mqtt_string(u, 8)?, mqtt_string(u, 8)?),
        I::MaximumPacketSize => P::MaximumPacketSize(u.int_in_range(1..=u32::MAX)?),
        I::WildcardSubscriptionAvailable => P::WildcardSubscriptionAvailable(boolean(u)?),
        I::SubscriptionIdentifierAvailable => P::SubscriptionIdentifierAvailable(boolean(u)?),
        I::SharedSubscriptionAvailable => P::SharedSubscriptionAvailable(boolean(u)?),
    })
}

/// A valid property block for `ctx`, in random order, with repeats where allowed.
pub fn properties(
    u: &mut Unstructured<'_>,
    version: ProtocolVersion,
    ctx: PropertyContext,
) -> Result<Properties> {
    if !version.is_v5() || u.ratio(1, 3)? {
        return Ok(Properties::new());
    }
    let allowed: Vec<PropertyId> = PropertyId::ALL
        .iter()
        .copied()
        .filter(|id| id.allowed_in(ctx))
        .collect();
    let mut chosen = Vec::new();
    let n = u.int_in_range(0..=6)?;
    for _ in 0..n {
        let id = *u.choose(&allowed)?;
        if id.repeatable_in(ctx) || !chosen.iter().any(|p: &Property| p.id() == id) {
            chosen.push(property(u, id)?);
        }
    }
    let has = |id| chosen.iter().any(|p: &Property| p.id() == id);
    if has(PropertyId::AuthenticationData) && !has(PropertyId::AuthenticationMethod) {
        chosen.push(property(u, PropertyId::AuthenticationMethod)?);
    }
    Ok(Properties::from_properties(chosen).unwrap_or_default())
}

fn reason(u: &mut Unstructured<'_>, packet: PacketType) -> Result<ReasonCode> {
    let allowed: Vec<ReasonCode> = ReasonCode::ALL
        .iter()
        .copied()
        .filter(|c| c.allowed_in(packet))
        .collect();
    Ok(*u.choose(&allowed)?)
}

/// A valid packet at `version` (CONNECT at `version` too).
pub fn packet(u: &mut Unstructured<'_>, version: ProtocolVersion) -> Result<Packet> {
    let v5 = version.is_v5();
    let props = |u: &mut Unstructured<'_>, t: PacketType| {
        properties(u, version, PropertyContext::Packet(t))
    };
    let kind = u.int_in_range(1u8..=if v5 { 15 } else { 14 })?;
    let packet_type = PacketType::from_u8(kind).unwrap_or(PacketType::PingReq);
    Ok(match packet_type {
        PacketType::Connect => {
            let will = if u.arbitrary()? {
                Some(Will {
                    topic: topic_name(u)?,
                    payload: bytes(u, 32)?,
                    qos: qos(u)?,
                    retain: u.arbitrary()?,
                    properties: properties(u, version, PropertyContext::Will)?,
                })
            } else {
                None
            };
            let username = if u.arbitrary()? {
                Some(mqtt_string(u, 12)?)
            } else {
                None
            };
            let password = if u.arbitrary()? && (v5 || username.is_some()) {
                Some(bytes(u, 12)?)
            } else {
                None
            };
            Packet::from(Connect {
                protocol: version,
                clean_start: u.arbitrary()?,
                keep_alive: u.arbitrary()?,
                client_id: mqtt_string(u, 23)?,
                will,
                username,
                password,
                properties: props(u, PacketType::Connect)?,
            })
        }
        PacketType::ConnAck => {
            let reason_code = if v5 {
                reason(u, PacketType::ConnAck)?
            } else {
                ReasonCode::from_v3_connack(u.int_in_range(0..=5)?).unwrap_or_default()
            };
            Packet::ConnAck(ConnAck {
                session_present: reason_code == ReasonCode::Success && u.arbitrary()?,
                reason_code,
                properties: props(u, PacketType::ConnAck)?,
            })
        }
        PacketType::Publish => {
            let qos = qos(u)?;
            let mut properties = props(u, PacketType::Publish)?;
            let mut topic = topic_name(u)?;
            if v5 && u.ratio(1, 6)? {
                // Topic named by alias alone.
                if !properties.contains(PropertyId::TopicAlias) {
                    let mut all: Vec<Property> = properties.iter().collect();
                    all.push(Property::TopicAlias(u.int_in_range(1..=u16::MAX)?));
                    properties = Properties::from_properties(all).unwrap_or_default();
                }
                if properties.contains(PropertyId::TopicAlias) {
                    topic = TopicName::alias_only();
                }
            }
            Packet::Publish(Publish {
                dup: qos != QoS::AtMostOnce && u.arbitrary()?,
                qos,
                retain: u.arbitrary()?,
                topic,
                packet_id: if qos == QoS::AtMostOnce {
                    None
                } else {
                    Some(packet_id(u)?)
                },
                properties,
                payload: bytes(u, 64)?,
            })
        }
        t
        @ (PacketType::PubAck | PacketType::PubRec | PacketType::PubRel | PacketType::PubComp) => {
            let packet_id = packet_id(u)?;
            let (reason_code, properties) = if v5 {
                (reason(u, t)?, props(u, t)?)
            } else {
                (ReasonCode::Success, Properties::new())
            };
            match t {
                PacketType::PubAck => Packet::PubAck(PubAck {
                    packet_id,
                    reason_code,
                    properties,
                }),
                PacketType::PubRec => Packet::PubRec(PubRec {
                    packet_id,
                    reason_code,
                    properties,
                }),
                PacketType::PubRel => Packet::PubRel(PubRel {
                    packet_id,
                    reason_code,
                    properties,
                }),
                _ => Packet::PubComp(PubComp {
                    packet_id,
                    reason_code,
                    properties,
                }),
            }
        }
        PacketType::Subscribe => {
            let n = u.int_in_range(1..=4)?;
            let mut subscriptions = Vec::new();
            for _ in 0..n {
                let filter = topic_filter(u)?;
                let mut options = SubscriptionOptions::qos(qos(u)?);
                if v5 {
                    options.no_local = filter.shared().is_none() && u.arbitrary()?;
                    options.retain_as_published = u.arbitrary()?;
                    options.retain_handling = *u.choose(&[
                        RetainHandling::SendAtSubscribe,
                        RetainHandling::SendAtSubscribeIfNew,
                        RetainHandling::DoNotSend,
                    ])?;
                }
                subscriptions.push(Subscription { filter, options });
            }
            Packet::Subscribe(Subscribe {
                packet_id: packet_id(u)?,
                properties: props(u, PacketType::Subscribe)?,
                subscriptions,
            })
        }
        PacketType::SubAck => {
            let n = u.int_in_range(1..=4)?;
            let mut reason_codes = Vec::new();
            for _ in 0..n {
                reason_codes.push(if v5 {
                    reason(u, PacketType::SubAck)?
                } else {
                    *u.choose(&[
                        ReasonCode::Success,
                        ReasonCode::GrantedQoS1,
                        ReasonCode::GrantedQoS2,
                        ReasonCode::UnspecifiedError,
                    ])?
                });
            }
            Packet::SubAck(SubAck {
                packet_id: packet_id(u)?,
                properties: props(u, PacketType::SubAck)?,
                reason_codes,
            })
        }
        PacketType::Unsubscribe => {
            let n = u.int_in_range(1..=4)?;
            let mut filters = Vec::new();
            for _ in 0..n {
                filters.push(topic_filter(u)?);
            }
            Packet::Unsubscribe(Unsubscribe {
                packet_id: packet_id(u)?,
                properties: props(u, PacketType::Unsubscribe)?,
                filters,
            })
        }
        PacketType::UnsubAck => {
            let mut reason_codes = Vec::new();
            if v5 {
                for _ in 0..u.int_in_range(1..=4)? {
                    reason_codes.push(reason(u, PacketType::UnsubAck)?);
                }
            }
            Packet::UnsubAck(UnsubAck {
                packet_id: packet_id(u)?,
                properties: props(u, PacketType::UnsubAck)?,
                reason_codes,
            })
        }
        PacketType::PingReq => Packet::PingReq,
        PacketType::PingResp => Packet::PingResp,
        PacketType::Disconnect => Packet::Disconnect(if v5 {
            Disconnect {
                reason_code: reason(u, PacketType::Disconnect)?,
                properties: props(u, PacketType::Disconnect)?,
            }
        } else {
            Disconnect::new()
        }),
        PacketType::Auth => Packet::Auth(Auth {
            reason_code: reason(u, PacketType::Auth)?,
            properties: props(u, PacketType::Auth)?,
        }),
    })
}
