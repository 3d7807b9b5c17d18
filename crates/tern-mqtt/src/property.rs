//! MQTT 5.0 properties (§2.2.2): the 27 identifiers, their data types, the packets each may
//! appear in, and the [`Properties`] block of a packet.
//!
//! A decoded [`Properties`] keeps the validated wire bytes of the block and reads values from
//! them on demand, so decoding allocates nothing per property and the order of properties (user
//! properties in particular) is the order on the wire.
//!
//! ```
//! use tern_mqtt::{Properties, Property, MqttString};
//!
//! let props = Properties::builder()
//!     .push(Property::MessageExpiryInterval(60))
//!     .user_property("site", "attic")?
//!     .user_property("site", "cellar")?
//!     .build()?;
//! assert_eq!(props.message_expiry_interval(), Some(60));
//! let sites: Vec<_> = props.user_properties().map(|(_, v)| v.to_string()).collect();
//! assert_eq!(sites, ["attic", "cellar"]);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use core::fmt;

use bytes::{BufMut, Bytes, BytesMut};

use crate::error::{DecodeError, EncodeError};
use crate::packet::PacketType;
use crate::string::{MqttString, StringError};
use crate::topic::TopicName;
use crate::wire::{self, Reader};

/// How a property's value is represented on the wire (MQTT 5.0 §1.5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DataType {
    /// One byte.
    Byte,
    /// Two Byte Integer.
    TwoByteInteger,
    /// Four Byte Integer.
    FourByteInteger,
    /// Variable Byte Integer.
    VariableByteInteger,
    /// UTF-8 Encoded String.
    Utf8String,
    /// Binary Data.
    BinaryData,
    /// UTF-8 String Pair.
    Utf8StringPair,
}

/// Where a property may appear: a packet type, or the Will Properties of a CONNECT.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PropertyContext {
    /// The properties of a packet of this type.
    Packet(PacketType),
    /// The Will Properties in a CONNECT payload.
    Will,
}

impl PropertyContext {
    const fn bit(self) -> u32 {
        match self {
            PropertyContext::Packet(p) => 1 << p as u8,
            PropertyContext::Will => 1 << 16,
        }
    }

    /// The packet type errors report (CONNECT for Will Properties).
    pub const fn packet(self) -> PacketType {
        match self {
            PropertyContext::Packet(p) => p,
            PropertyContext::Will => PacketType::Connect,
        }
    }
}

const CONNECT: u32 = 1 << 1;
const CONNACK: u32 = 1 << 2;
const PUBLISH: u32 = 1 << 3;
const PUBACK: u32 = 1 << 4;
const PUBREC: u32 = 1 << 5;
const PUBREL: u32 = 1 << 6;
const PUBCOMP: u32 = 1 << 7;
const SUBSCRIBE: u32 = 1 << 8;
const SUBACK: u32 = 1 << 9;
const UNSUBSCRIBE: u32 = 1 << 10;
const UNSUBACK: u32 = 1 << 11;
const DISCONNECT: u32 = 1 << 14;
const AUTH: u32 = 1 << 15;
const WILL: u32 = 1 << 16;

macro_rules! property_ids {
    ($( $variant:ident = $value:literal, $name:literal, $ty:ident, $where:expr; )*) => {
        /// An MQTT 5.0 property identifier (MQTT 5.0 §2.2.2.2, Table 2-4).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        #[repr(u8)]
        pub enum PropertyId {
            $(
                #[doc = concat!($name, " (", stringify!($value), ").")]
                $variant = $value,
            )*
        }

        impl PropertyId {
            /// All 27 identifiers in numeric order.
            pub const ALL: &'static [PropertyId] = &[$(PropertyId::$variant),*];

            /// The identifier with this value, if the specification defines one.
            pub const fn from_u8(value: u8) -> Option<Self> {
                match value {
                    $( $value => Some(PropertyId::$variant), )*
                    _ => None,
                }
            }

            /// The specification's name, e.g. "Message Expiry Interval".
            pub const fn name(self) -> &'static str {
                match self { $( PropertyId::$variant => $name, )* }
            }

            /// The data type of the value.
            pub const fn data_type(self) -> DataType {
                match self { $( PropertyId::$variant => DataType::$ty, )* }
            }

            const fn contexts(self) -> u32 {
                match self { $( PropertyId::$variant => $where, )* }
            }
        }
    };
}

property_ids! {
    PayloadFormatIndicator = 0x01, "Payload Format Indicator", Byte, PUBLISH | WILL;
    MessageExpiryInterval = 0x02, "Message Expiry Interval", FourByteInteger, PUBLISH | WILL;
    ContentType = 0x03, "Content Type", Utf8String, PUBLISH | WILL;
    ResponseTopic = 0x08, "Response Topic", Utf8String, PUBLISH | WILL;
    CorrelationData = 0x09, "Correlation Data", BinaryData, PUBLISH | WILL;
    SubscriptionIdentifier = 0x0B, "Subscription Identifier", VariableByteInteger, PUBLISH | SUBSCRIBE;
    SessionExpiryInterval = 0x11, "Session Expiry Interval", FourByteInteger, CONNECT | CONNACK | DISCONNECT;
    AssignedClientIdentifier = 0x12, "Assigned Client Identifier", Utf8String, CONNACK;
    ServerKeepAlive = 0x13, "Server Keep Alive", TwoByteInteger, CONNACK;
    AuthenticationMethod = 0x15, "Authentication Method", Utf8String, CONNECT | CONNACK | AUTH;
    AuthenticationData = 0x16, "Authentication Data", BinaryData, CONNECT | CONNACK | AUTH;
    RequestProblemInformation = 0x17, "Request Problem Information", Byte, CONNECT;
    WillDelayInterval = 0x18, "Will Delay Interval", FourByteInteger, WILL;
    RequestResponseInformation = 0x19, "Request Response Information", Byte, CONNECT;
    ResponseInformation = 0x1A, "Response Information", Utf8String, CONNACK;
    ServerReference = 0x1C, "Server Reference", Utf8String, CONNACK | DISCONNECT;
    ReasonString = 0x1F, "Reason String", Utf8String,
        CONNACK | PUBACK | PUBREC | PUBREL | PUBCOMP | SUBACK | UNSUBACK | DISCONNECT | AUTH;
    ReceiveMaximum = 0x21, "Receive Maximum", TwoByteInteger, CONNECT | CONNACK;
    TopicAliasMaximum = 0x22, "Topic Alias Maximum", TwoByteInteger, CONNECT | CONNACK;
    TopicAlias = 0x23, "Topic Alias", TwoByteInteger, PUBLISH;
    MaximumQoS = 0x24, "Maximum QoS", Byte, CONNACK;
    RetainAvailable = 0x25, "Retain Available", Byte, CONNACK;
    UserProperty = 0x26, "User Property", Utf8StringPair,
        CONNECT | CONNACK | PUBLISH | WILL | PUBACK | PUBREC | PUBREL | PUBCOMP | SUBSCRIBE
        | SUBACK | UNSUBSCRIBE | UNSUBACK | DISCONNECT | AUTH;
    MaximumPacketSize = 0x27, "Maximum Packet Size", FourByteInteger, CONNECT | CONNACK;
    WildcardSubscriptionAvailable = 0x28, "Wildcard Subscription Available", Byte, CONNACK;
    SubscriptionIdentifierAvailable = 0x29, "Subscription Identifier Available", Byte, CONNACK;
    SharedSubscriptionAvailable = 0x2A, "Shared Subscription Available", Byte, CONNACK;
}

impl PropertyId {
    /// Whether the property may appear in `ctx` (MQTT 5.0 §2.2.2.2).
    ///
    /// ```
    /// use tern_mqtt::{PacketType, PropertyId, property::PropertyContext};
    /// assert!(PropertyId::TopicAlias.allowed_in(PropertyContext::Packet(PacketType::Publish)));
    /// assert!(!PropertyId::TopicAlias.allowed_in(PropertyContext::Will));
    /// ```
    pub const fn allowed_in(self, ctx: PropertyContext) -> bool {
        self.contexts() & ctx.bit() != 0
    }

    /// Whether the property may appear more than once in `ctx`: User Property anywhere, and
    /// Subscription Identifier in a PUBLISH (one for each matching subscription).
    pub const fn repeatable_in(self, ctx: PropertyContext) -> bool {
        match self {
            PropertyId::UserProperty => true,
            PropertyId::SubscriptionIdentifier => {
                matches!(ctx, PropertyContext::Packet(PacketType::Publish))
            }
            _ => false,
        }
    }
}

impl fmt::Display for PropertyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One property with its value.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[allow(missing_docs)] // Each variant is the property of the same name (see `PropertyId`).
pub enum Property {
    PayloadFormatIndicator(u8),
    MessageExpiryInterval(u32),
    ContentType(MqttString),
    ResponseTopic(TopicName),
    CorrelationData(Bytes),
    SubscriptionIdentifier(u32),
    SessionExpiryInterval(u32),
    AssignedClientIdentifier(MqttString),
    ServerKeepAlive(u16),
    AuthenticationMethod(MqttString),
    AuthenticationData(Bytes),
    RequestProblemInformation(u8),
    WillDelayInterval(u32),
    RequestResponseInformation(u8),
    ResponseInformation(MqttString),
    ServerReference(MqttString),
    ReasonString(MqttString),
    ReceiveMaximum(u16),
    TopicAliasMaximum(u16),
    TopicAlias(u16),
    MaximumQoS(u8),
    RetainAvailable(u8),
    UserProperty(MqttString, MqttString),
    MaximumPacketSize(u32),
    WildcardSubscriptionAvailable(u8),
    SubscriptionIdentifierAvailable(u8),
    SharedSubscriptionAvailable(u8),
}

impl Property {
    /// The identifier of this property.
    pub const fn id(&self) -> PropertyId {
        use Property as P;
        use PropertyId as I;
        match self {
            P::PayloadFormatIndicator(_) => I::PayloadFormatIndicator,
            P::MessageExpiryInterval(_) => I::MessageExpiryInterval,
            P::ContentType(_) => I::ContentType,
            P::ResponseTopic(_) => I::ResponseTopic,
            P::CorrelationData(_) => I::CorrelationData,
            P::SubscriptionIdentifier(_) => I::SubscriptionIdentifier,
            P::SessionExpiryInterval(_) => I::SessionExpiryInterval,
            P::AssignedClientIdentifier(_) => I::AssignedClientIdentifier,
            P::ServerKeepAlive(_) => I::ServerKeepAlive,
            P::AuthenticationMethod(_) => I::AuthenticationMethod,
            P::AuthenticationData(_) => I::AuthenticationData,
            P::RequestProblemInformation(_) => I::RequestProblemInformation,
            P::WillDelayInterval(_) => I::WillDelayInterval,
            P::RequestResponseInformation(_) => I::RequestResponseInformation,
            P::ResponseInformation(_) => I::ResponseInformation,
            P::ServerReference(_) => I::ServerReference,
            P::ReasonString(_) => I::ReasonString,
            P::ReceiveMaximum(_) => I::ReceiveMaximum,
            P::TopicAliasMaximum(_) => I::TopicAliasMaximum,
            P::TopicAlias(_) => I::TopicAlias,
            P::MaximumQoS(_) => I::MaximumQoS,
            P::RetainAvailable(_) => I::RetainAvailable,
            P::UserProperty(..) => I::UserProperty,
            P::MaximumPacketSize(_) => I::MaximumPacketSize,
            P::WildcardSubscriptionAvailable(_) => I::WildcardSubscriptionAvailable,
            P::SubscriptionIdentifierAvailable(_) => I::SubscriptionIdentifierAvailable,
            P::SharedSubscriptionAvailable(_) => I::SharedSubscriptionAvailable,
        }
    }

    /// Whether the value is one the specification allows. Values are checked by type when
    /// decoding; these are the extra rules: booleans are 0 or 1, Receive Maximum, Maximum
    /// Packet Size, Topic Alias and Subscription Identifier are non-zero, a Subscription
    /// Identifier fits a Variable Byte Integer, and Maximum QoS is 0 or 1.
    pub fn is_valid(&self) -> bool {
        use Property as P;
        match *self {
            P::PayloadFormatIndicator(v)
            | P::RequestProblemInformation(v)
            | P::RequestResponseInformation(v)
            | P::MaximumQoS(v)
            | P::RetainAvailable(v)
            | P::WildcardSubscriptionAvailable(v)
            | P::SubscriptionIdentifierAvailable(v)
            | P::SharedSubscriptionAvailable(v) => v <= 1,
            P::ReceiveMaximum(v) | P::TopicAlias(v) => v != 0,
            P::MaximumPacketSize(v) => v != 0,
            P::SubscriptionIdentifier(v) => v != 0 && v <= wire::VARINT_MAX,
            _ => true,
        }
    }

    fn value_len(&self) -> Result<usize, EncodeError> {
        use Property as P;
        Ok(match self {
            P::PayloadFormatIndicator(_)
            | P::RequestProblemInformation(_)
            | P::RequestResponseInformation(_)
            | P::MaximumQoS(_)
            | P::RetainAvailable(_)
            | P::WildcardSubscriptionAvailable(_)
            | P::SubscriptionIdentifierAvailable(_)
            | P::SharedSubscriptionAvailable(_) => 1,
            P::ServerKeepAlive(_)
            | P::ReceiveMaximum(_)
            | P::TopicAliasMaximum(_)
            | P::TopicAlias(_) => 2,
            P::MessageExpiryInterval(_)
            | P::SessionExpiryInterval(_)
            | P::WillDelayInterval(_)
            | P::MaximumPacketSize(_) => 4,
            P::SubscriptionIdentifier(v) => wire::varint_len(*v),
            P::ContentType(s)
            | P::AssignedClientIdentifier(s)
            | P::AuthenticationMethod(s)
            | P::ResponseInformation(s)
            | P::ServerReference(s)
            | P::ReasonString(s) => wire::prefixed_len(s.len())?,
            P::ResponseTopic(t) => wire::prefixed_len(t.len())?,
            P::CorrelationData(b) | P::AuthenticationData(b) => wire::prefixed_len(b.len())?,
            P::UserProperty(k, v) => wire::prefixed_len(k.len())? + wire::prefixed_len(v.len())?,
        })
    }

    fn write(&self, buf: &mut BytesMut) {
        use Property as P;
        buf.put_u8(self.id() as u8);
        match self {
            P::PayloadFormatIndicator(v)
            | P::RequestProblemInformation(v)
            | P::RequestResponseInformation(v)
            | P::MaximumQoS(v)
            | P::RetainAvailable(v)
            | P::WildcardSubscriptionAvailable(v)
            | P::SubscriptionIdentifierAvailable(v)
            | P::SharedSubscriptionAvailable(v) => buf.put_u8(*v),
            P::ServerKeepAlive(v)
            | P::ReceiveMaximum(v)
            | P::TopicAliasMaximum(v)
            | P::TopicAlias(v) => buf.put_u16(*v),
            P::MessageExpiryInterval(v)
            | P::SessionExpiryInterval(v)
            | P::WillDelayInterval(v)
            | P::MaximumPacketSize(v) => buf.put_u32(*v),
            P::SubscriptionIdentifier(v) => wire::put_varint(buf, *v),
            P::ContentType(s)
            | P::AssignedClientIdentifier(s)
            | P::AuthenticationMethod(s)
            | P::ResponseInformation(s)
            | P::ServerReference(s)
            | P::ReasonString(s) => wire::put_binary(buf, s.as_bytes()),
            P::ResponseTopic(t) => wire::put_binary(buf, t.as_bytes()),
            P::CorrelationData(b) | P::AuthenticationData(b) => wire::put_binary(buf, b),
            P::UserProperty(k, v) => {
                wire::put_binary(buf, k.as_bytes());
                wire::put_binary(buf, v.as_bytes());
            }
        }
    }

    /// Reads one property (identifier and value) and checks its value rules.
    fn read(r: &mut Reader<'_>) -> Result<Property, DecodeError> {
        use PropertyId as I;
        let raw_id = r.varint()?;
        let id = u8::try_from(raw_id)
            .ok()
            .and_then(PropertyId::from_u8)
            .ok_or(DecodeError::UnknownProperty(raw_id.min(255) as u8))?;
        let p = match id {
            I::PayloadFormatIndicator => Property::PayloadFormatIndicator(r.u8()?),
            I::MessageExpiryInterval => Property::MessageExpiryInterval(r.u32()?),
            I::ContentType => Property::ContentType(r.string()?),
            I::ResponseTopic => {
                let s = r.string()?;
                Property::ResponseTopic(TopicName::from_string(s).map_err(|_| {
                    // [MQTT-3.3.2-13]/[MQTT-3.3.2-14]: a topic name, so no wildcards, not empty.
                    DecodeError::InvalidPropertyValue(I::ResponseTopic)
                })?)
            }
            I::CorrelationData => Property::CorrelationData(r.binary()?),
            I::SubscriptionIdentifier => Property::SubscriptionIdentifier(r.varint()?),
            I::SessionExpiryInterval => Property::SessionExpiryInterval(r.u32()?),
            I::AssignedClientIdentifier => Property::AssignedClientIdentifier(r.string()?),
            I::ServerKeepAlive => Property::ServerKeepAlive(r.u16()?),
            I::AuthenticationMethod => Property::AuthenticationMethod(r.string()?),
            I::AuthenticationData => Property::AuthenticationData(r.binary()?),
            I::RequestProblemInformation => Property::RequestProblemInformation(r.u8()?),
            I::WillDelayInterval => Property::WillDelayInterval(r.u32()?),
            I::RequestResponseInformation => Property::RequestResponseInformation(r.u8()?),
            I::ResponseInformation => Property::ResponseInformation(r.string()?),
            I::ServerReference => Property::ServerReference(r.string()?),
            I::ReasonString => Property::ReasonString(r.string()?),
            I::ReceiveMaximum => Property::ReceiveMaximum(r.u16()?),
            I::TopicAliasMaximum => Property::TopicAliasMaximum(r.u16()?),
            I::TopicAlias => Property::TopicAlias(r.u16()?),
            I::MaximumQoS => Property::MaximumQoS(r.u8()?),
            I::RetainAvailable => Property::RetainAvailable(r.u8()?),
            I::UserProperty => {
                let k = r.string()?;
                Property::UserProperty(k, r.string()?)
            }
            I::MaximumPacketSize => Property::MaximumPacketSize(r.u32()?),
            I::WildcardSubscriptionAvailable => Property::WildcardSubscriptionAvailable(r.u8()?),
            I::SubscriptionIdentifierAvailable => {
                Property::SubscriptionIdentifierAvailable(r.u8()?)
            }
            I::SharedSubscriptionAvailable => Property::SharedSubscriptionAvailable(r.u8()?),
        };
        if !p.is_valid() {
            return Err(DecodeError::InvalidPropertyValue(id));
        }
        Ok(p)
    }
}

/// The properties of one packet (or of a Will): validated wire bytes, read on demand.
///
/// Build one with [`Properties::builder`]; read one with the typed getters, [`Properties::get`]
/// or [`Properties::iter`] (wire order). Cloning shares the bytes.
#[derive(Clone, Default, PartialEq, Eq, Hash)]
pub struct Properties {
    /// The property bytes, without the Property Length in front.
    raw: Bytes,
    /// Which identifiers occur in `raw` (bit `id`), recorded when the block was built or
    /// decoded so that the encoder's checks need not parse it again. A function of `raw`.
    ids: u64,
    /// Which identifiers occur more than once in `raw`. A function of `raw`.
    repeated: u64,
}

impl Properties {
    /// No properties.
    pub const fn new() -> Self {
        Properties {
            raw: Bytes::new(),
            ids: 0,
            repeated: 0,
        }
    }

    /// A builder for a property block.
    pub fn builder() -> PropertiesBuilder {
        PropertiesBuilder::default()
    }

    /// Builds a block from properties in order; fails on an invalid value or a repeated
    /// non-repeatable property.
    pub fn from_properties<I: IntoIterator<Item = Property>>(
        props: I,
    ) -> Result<Self, EncodeError> {
        props
            .into_iter()
            .fold(PropertiesBuilder::default(), PropertiesBuilder::push)
            .build()
    }

    /// Whether there are no properties.
    pub fn is_empty(&self) -> bool {
        self.raw.is_empty()
    }

    /// The property bytes as on the wire, without the Property Length.
    pub fn as_bytes(&self) -> &Bytes {
        &self.raw
    }

    /// The properties in wire order.
    pub fn iter(&self) -> PropertiesIter<'_> {
        PropertiesIter {
            reader: Reader::new(&self.raw),
        }
    }

    /// The first property with identifier `id`.
    pub fn get(&self, id: PropertyId) -> Option<Property> {
        self.iter().find(|p| p.id() == id)
    }

    /// Whether a property with identifier `id` is present.
    pub fn contains(&self, id: PropertyId) -> bool {
        self.iter().any(|p| p.id() == id)
    }

    /// The User Properties, in wire order.
    pub fn user_properties(&self) -> impl Iterator<Item = (MqttString, MqttString)> + '_ {
        self.iter().filter_map(|p| match p {
            Property::UserProperty(k, v) => Some((k, v)),
            _ => None,
        })
    }

    /// The Subscription Identifiers, in wire order.
    pub fn subscription_identifiers(&self) -> impl Iterator<Item = u32> + '_ {
        self.iter().filter_map(|p| match p {
            Property::SubscriptionIdentifier(v) => Some(v),
            _ => None,
        })
    }

    /// Decodes a Property Length and the block it announces, checking every property against
    /// `ctx`.
    pub(crate) fn decode(r: &mut Reader<'_>, ctx: PropertyContext) -> Result<Self, DecodeError> {
        let len = r.varint()?;
        let len = usize::try_from(len).map_err(|_| DecodeError::Truncated)?;
        if len > r.remaining() {
            return Err(DecodeError::Truncated);
        }
        let raw = r.bytes(len)?;
        let mut pr = Reader::new(&raw);
        let mut seen: u64 = 0;
        let mut repeated: u64 = 0;
        while !pr.is_empty() {
            let p = Property::read(&mut pr)?;
            let id = p.id();
            if !id.allowed_in(ctx) {
                return Err(DecodeError::PropertyNotAllowed {
                    property: id,
                    packet: ctx.packet(),
                });
            }
            let bit = 1u64 << (id as u8);
            if seen & bit != 0 {
                if !id.repeatable_in(ctx) {
                    return Err(DecodeError::DuplicateProperty(id));
                }
                repeated |= bit;
            }
            seen |= bit;
        }
        if has(seen, PropertyId::AuthenticationData) && !has(seen, PropertyId::AuthenticationMethod)
        {
            return Err(DecodeError::AuthenticationDataWithoutMethod);
        }
        Ok(Properties {
            raw,
            ids: seen,
            repeated,
        })
    }

    /// Checks that every property may appear in `ctx` (the builder has checked values and
    /// repetition except Subscription Identifier, which may repeat only in PUBLISH).
    ///
    /// Decided from the identifiers recorded with the block; only a block that breaks a rule
    /// is read again, to report the first offending property in wire order.
    #[inline]
    pub(crate) fn check(&self, ctx: PropertyContext) -> Result<(), EncodeError> {
        if self.ids == 0 {
            return Ok(());
        }
        let mut ids = self.ids;
        let auth_ok =
            has(ids, PropertyId::AuthenticationMethod) || !has(ids, PropertyId::AuthenticationData);
        let sub_ids_ok = PropertyId::SubscriptionIdentifier.repeatable_in(ctx)
            || !has(self.repeated, PropertyId::SubscriptionIdentifier);
        let mut ok = auth_ok && sub_ids_ok;
        while ok && ids != 0 {
            let id = ids.trailing_zeros() as u8;
            ids &= ids - 1;
            ok = PropertyId::from_u8(id).is_some_and(|id| id.allowed_in(ctx));
        }
        if ok {
            return Ok(());
        }
        self.check_in_order(ctx)
    }

    /// [`Properties::check`] by reading the properties in wire order.
    fn check_in_order(&self, ctx: PropertyContext) -> Result<(), EncodeError> {
        let mut sub_ids = 0;
        let mut seen = 0u64;
        for p in self.iter() {
            let id = p.id();
            seen |= 1u64 << (id as u8);
            if !id.allowed_in(ctx) {
                return Err(EncodeError::PropertyNotAllowed {
                    property: id,
                    packet: ctx.packet(),
                });
            }
            if id == PropertyId::SubscriptionIdentifier {
                sub_ids += 1;
                if sub_ids > 1 && !id.repeatable_in(ctx) {
                    return Err(EncodeError::InvalidProperty(id));
                }
            }
        }
        if has(seen, PropertyId::AuthenticationData) && !has(seen, PropertyId::AuthenticationMethod)
        {
            // "It is a Protocol Error to include Authentication Data if there is no
            // Authentication Method" (CONNECT, CONNACK and AUTH alike).
            return Err(EncodeError::InvalidProperty(PropertyId::AuthenticationData));
        }
        Ok(())
    }

    /// Bytes of the Property Length and the properties.
    pub(crate) fn encoded_len(&self) -> usize {
        wire::varint_len(self.raw.len() as u32) + self.raw.len()
    }

    pub(crate) fn write(&self, buf: &mut BytesMut) {
        wire::put_varint(buf, self.raw.len() as u32);
        if !self.raw.is_empty() {
            buf.put_slice(&self.raw);
        }
    }
}

/// Whether the identifier bit set `seen` contains `id`.
const fn has(seen: u64, id: PropertyId) -> bool {
    seen & (1u64 << (id as u8)) != 0
}

macro_rules! getters {
    ($( $(#[$doc:meta])* $fn:ident -> $ty:ty = $variant:ident; )*) => {
        impl Properties {
            $(
                $(#[$doc])*
                pub fn $fn(&self) -> Option<$ty> {
                    self.iter().find_map(|p| match p {
                        Property::$variant(v) => Some(v),
                        _ => None,
                    })
                }
            )*
        }
    };
}

getters! {
    /// Payload Format Indicator (0x01): 0 unspecified bytes, 1 UTF-8.
    payload_format_indicator -> u8 = PayloadFormatIndicator;
    /// Message Expiry Interval (0x02), seconds.
    message_expiry_interval -> u32 = MessageExpiryInterval;
    /// Content Type (0x03).
    content_type -> MqttString = ContentType;
    /// Response Topic (0x08).
    response_topic -> TopicName = ResponseTopic;
    /// Correlation Data (0x09).
    correlation_data -> Bytes = CorrelationData;
    /// Session Expiry Interval (0x11), seconds.
    session_expiry_interval -> u32 = SessionExpiryInterval;
    /// Assigned Client Identifier (0x12).
    assigned_client_identifier -> MqttString = AssignedClientIdentifier;
    /// Server Keep Alive (0x13), seconds.
    server_keep_alive -> u16 = ServerKeepAlive;
    /// Authentication Method (0x15).
    authentication_method -> MqttString = AuthenticationMethod;
    /// Authentication Data (0x16).
    authentication_data -> Bytes = AuthenticationData;
    /// Request Problem Information (0x17).
    request_problem_information -> u8 = RequestProblemInformation;
    /// Will Delay Interval (0x18), seconds.
    will_delay_interval -> u32 = WillDelayInterval;
    /// Request Response Information (0x19).
    request_response_information -> u8 = RequestResponseInformation;
    /// Response Information (0x1A).
    response_information -> MqttString = ResponseInformation;
    /// Server Reference (0x1C).
    server_reference -> MqttString = ServerReference;
    /// Reason String (0x1F).
    reason_string -> MqttString = ReasonString;
    /// Receive Maximum (0x21).
    receive_maximum -> u16 = ReceiveMaximum;
    /// Topic Alias Maximum (0x22).
    topic_alias_maximum -> u16 = TopicAliasMaximum;
    /// Topic Alias (0x23).
    topic_alias -> u16 = TopicAlias;
    /// Maximum QoS (0x24).
    maximum_qos -> u8 = MaximumQoS;
    /// Retain Available (0x25).
    retain_available -> u8 = RetainAvailable;
    /// Maximum Packet Size (0x27), bytes.
    maximum_packet_size -> u32 = MaximumPacketSize;
    /// Wildcard Subscription Available (0x28).
    wildcard_subscription_available -> u8 = WildcardSubscriptionAvailable;
    /// Subscription Identifier Available (0x29).
    subscription_identifier_available -> u8 = SubscriptionIdentifierAvailable;
    /// Shared Subscription Available (0x2A).
    shared_subscription_available -> u8 = SharedSubscriptionAvailable;
}

impl fmt::Debug for Properties {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

impl<'a> IntoIterator for &'a Properties {
    type Item = Property;
    type IntoIter = PropertiesIter<'a>;
    fn into_iter(self) -> PropertiesIter<'a> {
        self.iter()
    }
}

/// Iterator over the properties of a [`Properties`] block, in wire order.
pub struct PropertiesIter<'a> {
    reader: Reader<'a>,
}

impl Iterator for PropertiesIter<'_> {
    type Item = Property;
    fn next(&mut self) -> Option<Property> {
        if self.reader.is_empty() {
            return None;
        }
        // The block was validated when it was built or decoded, so this cannot fail; stop
        // rather than panic if it ever did.
        Property::read(&mut self.reader).ok()
    }
}

/// Builds a [`Properties`] block; the first error is reported by [`PropertiesBuilder::build`].
#[derive(Debug, Default)]
pub struct PropertiesBuilder {
    buf: BytesMut,
    seen: u64,
    repeated: u64,
    error: Option<EncodeError>,
}

impl PropertiesBuilder {
    /// Appends a property. A value the specification forbids, or a second copy of a property
    /// other than User Property and Subscription Identifier, makes `build` fail.
    pub fn push(mut self, p: Property) -> Self {
        if self.error.is_some() {
            return self;
        }
        let id = p.id();
        let bit = 1u64 << (id as u8);
        let repeatable = matches!(
            id,
            PropertyId::UserProperty | PropertyId::SubscriptionIdentifier
        );
        if !p.is_valid() || (self.seen & bit != 0 && !repeatable) {
            self.error = Some(EncodeError::InvalidProperty(id));
            return self;
        }
        match p.value_len() {
            Ok(_) => {
                if self.seen & bit != 0 {
                    self.repeated |= bit;
                }
                self.seen |= bit;
                p.write(&mut self.buf);
            }
            Err(e) => self.error = Some(e),
        }
        self
    }

    /// Appends a User Property.
    pub fn user_property(self, key: &str, value: &str) -> Result<Self, StringError> {
        Ok(self.push(Property::UserProperty(
            MqttString::new(key)?,
            MqttString::new(value)?,
        )))
    }

    /// The block, or the first error met.
    pub fn build(self) -> Result<Properties, EncodeError> {
        if let Some(e) = self.error {
            return Err(e);
        }
        if self.buf.len() > wire::VARINT_MAX as usize {
            return Err(EncodeError::RemainingLengthTooLarge);
        }
        Ok(Properties {
            raw: self.buf.freeze(),
            ids: self.seen,
            repeated: self.repeated,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn there_are_27_properties() {
        assert_eq!(PropertyId::ALL.len(), 27);
        for &id in PropertyId::ALL {
            assert_eq!(PropertyId::from_u8(id as u8), Some(id));
        }
    }

    #[test]
    fn check_from_recorded_ids_agrees_with_reading_in_order() {
        let s = |v: &str| MqttString::new(v).unwrap();
        let one_of_each: alloc::vec::Vec<Property> = PropertyId::ALL
            .iter()
            .map(|id| match id.data_type() {
                DataType::Byte => {
                    Property::read(&mut Reader::new(&Bytes::from(alloc::vec![*id as u8, 1])))
                        .unwrap()
                }
                _ => match id {
                    PropertyId::ResponseTopic => {
                        Property::ResponseTopic(TopicName::new("a/b").unwrap())
                    }
                    PropertyId::CorrelationData => Property::CorrelationData(Bytes::from("x")),
                    PropertyId::AuthenticationData => Property::AuthenticationData("x".into()),
                    PropertyId::UserProperty => Property::UserProperty(s("k"), s("v")),
                    PropertyId::SubscriptionIdentifier => Property::SubscriptionIdentifier(7),
                    other => {
                        let mut raw = alloc::vec![*other as u8];
                        match other.data_type() {
                            DataType::TwoByteInteger => raw.extend([0, 5]),
                            DataType::FourByteInteger => raw.extend([0, 0, 0, 5]),
                            _ => raw.extend([0, 1, b'x']),
                        }
                        Property::read(&mut Reader::new(&Bytes::from(raw))).unwrap()
                    }
                },
            })
            .collect();
        let mut blocks: alloc::vec::Vec<alloc::vec::Vec<Property>> = alloc::vec![
            alloc::vec![],
            alloc::vec![
                Property::SubscriptionIdentifier(1),
                Property::SubscriptionIdentifier(2)
            ],
            alloc::vec![Property::AuthenticationData("d".into())],
            alloc::vec![
                Property::AuthenticationMethod(s("m")),
                Property::AuthenticationData("d".into())
            ],
            alloc::vec![
                Property::SessionExpiryInterval(1),
                Property::UserProperty(s("a"), s("b")),
                Property::UserProperty(s("a"), s("c")),
                Property::TopicAlias(3),
            ],
            one_of_each.clone(),
        ];
        blocks.extend(one_of_each.iter().map(|p| alloc::vec![p.clone()]));
        let mut contexts: alloc::vec::Vec<PropertyContext> = (1..=15)
            .filter_map(PacketType::from_u8)
            .map(PropertyContext::Packet)
            .collect();
        contexts.push(PropertyContext::Will);
        for block in blocks {
            let props = Properties::from_properties(block.clone()).unwrap();
            for &ctx in &contexts {
                assert_eq!(
                    props.check(ctx),
                    props.check_in_order(ctx),
                    "{block:?} in {ctx:?}"
                );
            }
        }
    }

    #[test]
    fn builder_rejects_duplicates_and_bad_values() {
        let dup = Properties::builder()
            .push(Property::ReceiveMaximum(5))
            .push(Property::ReceiveMaximum(6))
            .build();
        assert_eq!(
            dup,
            Err(EncodeError::InvalidProperty(PropertyId::ReceiveMaximum))
        );
        let zero = Properties::builder()
            .push(Property::ReceiveMaximum(0))
            .build();
        assert_eq!(
            zero,
            Err(EncodeError::InvalidProperty(PropertyId::ReceiveMaximum))
        );
    }

    #[test]
    fn user_properties_keep_their_order() {
        let p = Properties::builder()
            .user_property("b", "1")
            .unwrap()
            .user_property("a", "2")
            .unwrap()
            .user_property("b", "3")
            .unwrap()
            .build()
            .unwrap();
        let got: alloc::vec::Vec<_> = p
            .user_properties()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        assert_eq!(
            got,
            [
                ("b".into(), "1".into()),
                ("a".into(), "2".into()),
                ("b".into(), "3".into())
            ]
        );
    }
}
