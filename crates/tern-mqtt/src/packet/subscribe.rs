//! SUBSCRIBE, SUBACK, UNSUBSCRIBE and UNSUBACK (MQTT 5.0 §3.8–§3.11).

use alloc::vec::Vec;

use bytes::{BufMut, BytesMut};

use super::{PacketId, PacketType, ProtocolVersion, QoS};
use crate::error::{DecodeError, EncodeError};
use crate::property::{Properties, PropertyContext};
use crate::reason::ReasonCode;
use crate::topic::TopicFilter;
use crate::wire::{self, Reader};

/// What the server does with retained messages when a subscription is made (5.0).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum RetainHandling {
    /// 0: send retained messages at the time of the subscribe.
    #[default]
    SendAtSubscribe = 0,
    /// 1: send them only if the subscription did not exist yet.
    SendAtSubscribeIfNew = 1,
    /// 2: do not send them.
    DoNotSend = 2,
}

/// The Subscription Options byte (5.0 §3.8.3.1; in 3.1.1 only the QoS).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct SubscriptionOptions {
    /// Maximum QoS the server may deliver with.
    pub qos: QoS,
    /// No Local (5.0): do not receive one's own publications.
    pub no_local: bool,
    /// Retain As Published (5.0): keep the RETAIN flag as the publisher set it.
    pub retain_as_published: bool,
    /// Retain Handling (5.0).
    pub retain_handling: RetainHandling,
}

impl SubscriptionOptions {
    /// Options with this QoS and the defaults otherwise.
    pub fn qos(qos: QoS) -> Self {
        SubscriptionOptions {
            qos,
            ..Default::default()
        }
    }

    /// The options byte.
    pub fn to_byte(self) -> u8 {
        self.qos.as_u8()
            | (u8::from(self.no_local) << 2)
            | (u8::from(self.retain_as_published) << 3)
            | ((self.retain_handling as u8) << 4)
    }

    fn from_byte(version: ProtocolVersion, b: u8) -> Result<Self, DecodeError> {
        let reserved = if version.is_v5() { 0xc0 } else { 0xfc };
        if b & reserved != 0 {
            return Err(DecodeError::ReservedSubscriptionOptions);
        }
        let qos = QoS::from_u8(b & 0b11).ok_or(DecodeError::InvalidSubscriptionQoS)?;
        let retain_handling = match (b >> 4) & 0b11 {
            0 => RetainHandling::SendAtSubscribe,
            1 => RetainHandling::SendAtSubscribeIfNew,
            2 => RetainHandling::DoNotSend,
            _ => return Err(DecodeError::InvalidRetainHandling),
        };
        Ok(SubscriptionOptions {
            qos,
            no_local: b & 0b100 != 0,
            retain_as_published: b & 0b1000 != 0,
            retain_handling,
        })
    }
}

/// One topic filter of a SUBSCRIBE with its options.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subscription {
    /// The filter.
    pub filter: TopicFilter,
    /// The options.
    pub options: SubscriptionOptions,
}

impl Subscription {
    /// A subscription to `filter` at `qos` with default options.
    pub fn new(filter: TopicFilter, qos: QoS) -> Self {
        Subscription {
            filter,
            options: SubscriptionOptions::qos(qos),
        }
    }
}

/// SUBSCRIBE: ask for the messages of one or more topic filters.
///
/// ```
/// use tern_mqtt::{PacketId, QoS, Subscribe, Subscription, TopicFilter};
///
/// let sub = Subscribe::new(
///     PacketId::new(1).unwrap(),
///     vec![Subscription::new(TopicFilter::new("sensors/temperature")?, QoS::AtLeastOnce)],
/// );
/// # Ok::<(), tern_mqtt::topic::TopicError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subscribe {
    /// The packet identifier.
    pub packet_id: PacketId,
    /// SUBSCRIBE properties (5.0): Subscription Identifier, User Properties.
    pub properties: Properties,
    /// The subscriptions; at least one.
    pub subscriptions: Vec<Subscription>,
}

impl Subscribe {
    /// A SUBSCRIBE without properties.
    pub fn new(packet_id: PacketId, subscriptions: Vec<Subscription>) -> Self {
        Subscribe {
            packet_id,
            properties: Properties::new(),
            subscriptions,
        }
    }

    pub(crate) fn decode(
        version: ProtocolVersion,
        r: &mut Reader<'_>,
    ) -> Result<Self, DecodeError> {
        let packet_id = PacketId::read(r)?;
        let properties = decode_props(version, PacketType::Subscribe, r)?;
        let mut subscriptions = Vec::with_capacity(count_entries(r.peek_rest(), 1));
        while !r.is_empty() {
            let filter = TopicFilter::from_wire_bytes(r.binary()?)?;
            let options = SubscriptionOptions::from_byte(version, r.u8()?)?;
            if options.no_local && filter.shared().is_some() {
                return Err(DecodeError::NoLocalOnSharedSubscription);
            }
            subscriptions.push(Subscription { filter, options });
        }
        if subscriptions.is_empty() {
            return Err(DecodeError::NoTopicFilters {
                packet: PacketType::Subscribe,
            });
        }
        Ok(Subscribe {
            packet_id,
            properties,
            subscriptions,
        })
    }

    /// [`Packet::encode`](super::Packet::encode) for a SUBSCRIBE: the same checks, in the same
    /// order, and the same bytes as `validate`, `body_len` and `write`, with the checks and the
    /// length computed in one pass over the subscriptions.
    pub(crate) fn encode(
        &self,
        version: ProtocolVersion,
        max_packet_size: usize,
        buf: &mut BytesMut,
    ) -> Result<(), EncodeError> {
        validate_props(version, PacketType::Subscribe, &self.properties)?;
        if self.subscriptions.is_empty() {
            return Err(EncodeError::NoTopicFilters);
        }
        let mut body = 2 + props_len(version, &self.properties);
        for s in &self.subscriptions {
            Self::check_options(version, s)?;
            body += 2 + s.filter.len() + 1;
        }
        let first = ((PacketType::Subscribe as u8) << 4) | 0b0010;
        super::encode_frame(first, body, max_packet_size, buf, |b| {
            self.write(version, b)
        })
    }

    fn check_options(version: ProtocolVersion, s: &Subscription) -> Result<(), EncodeError> {
        let o = s.options;
        if o.no_local && s.filter.shared().is_some() {
            return Err(EncodeError::NoLocalOnSharedSubscription);
        }
        if !version.is_v5()
            && (o.no_local
                || o.retain_as_published
                || o.retain_handling != RetainHandling::SendAtSubscribe)
        {
            return Err(EncodeError::NotInVersion(
                "subscription options other than QoS",
            ));
        }
        Ok(())
    }

    pub(crate) fn validate(&self, version: ProtocolVersion) -> Result<(), EncodeError> {
        validate_props(version, PacketType::Subscribe, &self.properties)?;
        if self.subscriptions.is_empty() {
            return Err(EncodeError::NoTopicFilters);
        }
        for s in &self.subscriptions {
            Self::check_options(version, s)?;
        }
        Ok(())
    }

    pub(crate) fn body_len(&self, version: ProtocolVersion) -> usize {
        2 + props_len(version, &self.properties)
            + self
                .subscriptions
                .iter()
                .map(|s| 2 + s.filter.len() + 1)
                .sum::<usize>()
    }

    pub(crate) fn write(&self, version: ProtocolVersion, buf: &mut BytesMut) {
        buf.put_u16(self.packet_id.get());
        write_props(version, &self.properties, buf);
        // Each filter's options byte goes out with the next filter's length prefix: two writes
        // per subscription instead of three.
        let mut subs = self.subscriptions.iter();
        let Some(first) = subs.next() else {
            return;
        };
        buf.put_u16(first.filter.len() as u16);
        let mut current = first;
        for next in subs {
            buf.put_slice(current.filter.as_bytes());
            let [hi, lo] = (next.filter.len() as u16).to_be_bytes();
            buf.put_slice(&[current.options.to_byte(), hi, lo]);
            current = next;
        }
        buf.put_slice(current.filter.as_bytes());
        buf.put_u8(current.options.to_byte());
    }
}

/// SUBACK: one reason code per subscription of the SUBSCRIBE, in order.
///
/// 3.1.1 return codes 0x00, 0x01, 0x02 and 0x80 have the same values in 5.0.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubAck {
    /// The packet identifier of the SUBSCRIBE.
    pub packet_id: PacketId,
    /// SUBACK properties (5.0).
    pub properties: Properties,
    /// Granted QoS or failure, one per subscription.
    pub reason_codes: Vec<ReasonCode>,
}

impl SubAck {
    pub(crate) fn decode(
        version: ProtocolVersion,
        r: &mut Reader<'_>,
    ) -> Result<Self, DecodeError> {
        let packet_id = PacketId::read(r)?;
        let properties = decode_props(version, PacketType::SubAck, r)?;
        let reason_codes = decode_codes(version, PacketType::SubAck, r)?;
        Ok(SubAck {
            packet_id,
            properties,
            reason_codes,
        })
    }

    pub(crate) fn validate(&self, version: ProtocolVersion) -> Result<(), EncodeError> {
        validate_props(version, PacketType::SubAck, &self.properties)?;
        validate_codes(version, PacketType::SubAck, &self.reason_codes)
    }

    pub(crate) fn body_len(&self, version: ProtocolVersion) -> usize {
        2 + props_len(version, &self.properties) + self.reason_codes.len()
    }

    pub(crate) fn write(&self, version: ProtocolVersion, buf: &mut BytesMut) {
        buf.put_u16(self.packet_id.get());
        write_props(version, &self.properties, buf);
        for c in &self.reason_codes {
            buf.put_u8(c.as_u8());
        }
    }
}

/// UNSUBSCRIBE: drop one or more subscriptions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unsubscribe {
    /// The packet identifier.
    pub packet_id: PacketId,
    /// UNSUBSCRIBE properties (5.0): User Properties.
    pub properties: Properties,
    /// The filters; at least one.
    pub filters: Vec<TopicFilter>,
}

impl Unsubscribe {
    /// An UNSUBSCRIBE without properties.
    pub fn new(packet_id: PacketId, filters: Vec<TopicFilter>) -> Self {
        Unsubscribe {
            packet_id,
            properties: Properties::new(),
            filters,
        }
    }

    pub(crate) fn decode(
        version: ProtocolVersion,
        r: &mut Reader<'_>,
    ) -> Result<Self, DecodeError> {
        let packet_id = PacketId::read(r)?;
        let properties = decode_props(version, PacketType::Unsubscribe, r)?;
        let mut filters = Vec::with_capacity(count_entries(r.peek_rest(), 0));
        while !r.is_empty() {
            filters.push(TopicFilter::from_wire_bytes(r.binary()?)?);
        }
        if filters.is_empty() {
            return Err(DecodeError::NoTopicFilters {
                packet: PacketType::Unsubscribe,
            });
        }
        Ok(Unsubscribe {
            packet_id,
            properties,
            filters,
        })
    }

    pub(crate) fn validate(&self, version: ProtocolVersion) -> Result<(), EncodeError> {
        validate_props(version, PacketType::Unsubscribe, &self.properties)?;
        if self.filters.is_empty() {
            return Err(EncodeError::NoTopicFilters);
        }
        Ok(())
    }

    pub(crate) fn body_len(&self, version: ProtocolVersion) -> usize {
        2 + props_len(version, &self.properties)
            + self.filters.iter().map(|f| 2 + f.len()).sum::<usize>()
    }

    pub(crate) fn write(&self, version: ProtocolVersion, buf: &mut BytesMut) {
        buf.put_u16(self.packet_id.get());
        write_props(version, &self.properties, buf);
        for f in &self.filters {
            wire::put_binary(buf, f.as_bytes());
        }
    }
}

/// UNSUBACK: the answer to UNSUBSCRIBE; in 5.0 with one reason code per filter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnsubAck {
    /// The packet identifier of the UNSUBSCRIBE.
    pub packet_id: PacketId,
    /// UNSUBACK properties (5.0).
    pub properties: Properties,
    /// One code per filter (5.0); always empty in 3.1.1.
    pub reason_codes: Vec<ReasonCode>,
}

impl UnsubAck {
    pub(crate) fn decode(
        version: ProtocolVersion,
        r: &mut Reader<'_>,
    ) -> Result<Self, DecodeError> {
        let packet_id = PacketId::read(r)?;
        let properties = decode_props(version, PacketType::UnsubAck, r)?;
        let reason_codes = if version.is_v5() {
            decode_codes(version, PacketType::UnsubAck, r)?
        } else {
            Vec::new()
        };
        Ok(UnsubAck {
            packet_id,
            properties,
            reason_codes,
        })
    }

    pub(crate) fn validate(&self, version: ProtocolVersion) -> Result<(), EncodeError> {
        validate_props(version, PacketType::UnsubAck, &self.properties)?;
        if !version.is_v5() && !self.reason_codes.is_empty() {
            return Err(EncodeError::NotInVersion("UNSUBACK reason codes"));
        }
        validate_codes(version, PacketType::UnsubAck, &self.reason_codes)
    }

    pub(crate) fn body_len(&self, version: ProtocolVersion) -> usize {
        2 + props_len(version, &self.properties) + self.reason_codes.len()
    }

    pub(crate) fn write(&self, version: ProtocolVersion, buf: &mut BytesMut) {
        buf.put_u16(self.packet_id.get());
        write_props(version, &self.properties, buf);
        for c in &self.reason_codes {
            buf.put_u8(c.as_u8());
        }
    }
}

/// How many length-prefixed strings, each followed by `extra` bytes, `bytes` holds (counting a
/// last, truncated one): the capacity for the decoded list, so that it is allocated once. Each
/// entry takes at least two bytes, so this is at most half the packet.
fn count_entries(bytes: &[u8], extra: usize) -> usize {
    let mut n = 0;
    let mut rest = bytes;
    while let Some((&[a, b], tail)) = rest.split_first_chunk::<2>() {
        n += 1;
        let skip = usize::from(u16::from_be_bytes([a, b])) + extra;
        rest = tail.get(skip..).unwrap_or_default();
    }
    n
}

fn decode_props(
    version: ProtocolVersion,
    packet: PacketType,
    r: &mut Reader<'_>,
) -> Result<Properties, DecodeError> {
    if version.is_v5() {
        Properties::decode(r, PropertyContext::Packet(packet))
    } else {
        Ok(Properties::new())
    }
}

fn validate_props(
    version: ProtocolVersion,
    packet: PacketType,
    props: &Properties,
) -> Result<(), EncodeError> {
    if version.is_v5() {
        props.check(PropertyContext::Packet(packet))
    } else if props.is_empty() {
        Ok(())
    } else {
        Err(EncodeError::NotInVersion("properties"))
    }
}

fn props_len(version: ProtocolVersion, props: &Properties) -> usize {
    if version.is_v5() {
        props.encoded_len()
    } else {
        0
    }
}

fn write_props(version: ProtocolVersion, props: &Properties, buf: &mut BytesMut) {
    if version.is_v5() {
        props.write(buf);
    }
}

fn code_allowed(version: ProtocolVersion, packet: PacketType, code: ReasonCode) -> bool {
    if version.is_v5() {
        code.allowed_in(packet)
    } else {
        code.is_v3_suback()
    }
}

fn decode_codes(
    version: ProtocolVersion,
    packet: PacketType,
    r: &mut Reader<'_>,
) -> Result<Vec<ReasonCode>, DecodeError> {
    let mut codes = Vec::with_capacity(r.remaining());
    while !r.is_empty() {
        let code = r.u8()?;
        let rc = ReasonCode::from_u8(code)
            .filter(|&c| code_allowed(version, packet, c))
            .ok_or(DecodeError::InvalidReasonCode { packet, code })?;
        codes.push(rc);
    }
    Ok(codes)
}

fn validate_codes(
    version: ProtocolVersion,
    packet: PacketType,
    codes: &[ReasonCode],
) -> Result<(), EncodeError> {
    match codes.iter().find(|&&c| !code_allowed(version, packet, c)) {
        Some(&code) => Err(EncodeError::ReasonCodeNotAllowed { packet, code }),
        None => Ok(()),
    }
}
