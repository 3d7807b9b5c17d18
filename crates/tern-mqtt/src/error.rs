//! Errors split by blame: [`DecodeError`] when the peer sent bytes that break the protocol,
//! [`EncodeError`] when local code asked for a packet the protocol forbids.

use core::fmt;

use crate::packet::PacketType;
use crate::property::PropertyId;
use crate::reason::ReasonCode;
use crate::string::StringError;
use crate::topic::TopicError;

/// The peer sent bytes that are not a valid MQTT packet.
///
/// Each variant names the rule it breaks ([`DecodeError::rule`]) and the MQTT 5.0 reason code a
/// receiver answers with in CONNACK or DISCONNECT before it closes the connection
/// ([`DecodeError::reason_code`]); an MQTT 3.1.1 receiver just closes the connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum DecodeError {
    /// The whole packet (fixed header included) is larger than the receiver's maximum.
    PacketTooLarge {
        /// Size of the packet announced by its fixed header, in bytes.
        size: usize,
        /// The receiver's maximum packet size.
        max: usize,
    },
    /// A Variable Byte Integer has a continuation bit in its fourth byte.
    VarIntTooLong,
    /// A Variable Byte Integer uses more bytes than needed.
    NonMinimalVarInt,
    /// Packet type 0 is reserved; so is 15 (AUTH) before MQTT 5.0.
    ReservedPacketType(u8),
    /// The fixed header's flag bits are not those the packet type requires.
    InvalidFlags {
        /// The packet type.
        packet: PacketType,
        /// The four flag bits received.
        flags: u8,
    },
    /// A PUBLISH with QoS 3 (both QoS bits set).
    InvalidQoS,
    /// A QoS 0 PUBLISH with the DUP flag set.
    DupWithQoS0,
    /// A CONNECT with the Will Flag and a Will QoS of 3.
    InvalidWillQoS,
    /// A subscription's Maximum QoS is 3.
    InvalidSubscriptionQoS,
    /// A field runs past the end of the packet.
    Truncated,
    /// Bytes are left over after the last field of the packet.
    TrailingBytes {
        /// The packet type.
        packet: PacketType,
    },
    /// A string is not valid UTF-8, or contains U+0000.
    InvalidString(StringError),
    /// A topic name or filter breaks the topic rules.
    InvalidTopic(TopicError),
    /// A topic name is empty and no Topic Alias stands in for it.
    EmptyTopicWithoutAlias,
    /// A packet identifier of zero.
    ZeroPacketId,
    /// The CONNECT protocol name is not "MQTT" (or "MQIsdp" for level 3).
    InvalidProtocolName,
    /// A protocol level other than 3, 4 or 5.
    UnsupportedProtocolLevel(u8),
    /// The reserved bit 0 of the CONNECT flags is set.
    ReservedConnectFlag,
    /// Will QoS or Will Retain set without the Will Flag.
    WillFlagsWithoutWill,
    /// A password without a user name (MQTT 3.1.1).
    PasswordWithoutUsername,
    /// CONNACK acknowledge flags other than bit 0 are set.
    ReservedConnAckFlags,
    /// CONNACK sets Session Present with a non-zero return code.
    SessionPresentOnError,
    /// A reason or return code that this packet may not carry.
    InvalidReasonCode {
        /// The packet type.
        packet: PacketType,
        /// The code received.
        code: u8,
    },
    /// A SUBSCRIBE or UNSUBSCRIBE with no topic filter.
    NoTopicFilters {
        /// SUBSCRIBE or UNSUBSCRIBE.
        packet: PacketType,
    },
    /// Reserved bits of the subscription options are set.
    ReservedSubscriptionOptions,
    /// Retain Handling of 3.
    InvalidRetainHandling,
    /// No Local set on a shared subscription.
    NoLocalOnSharedSubscription,
    /// An unknown property identifier.
    UnknownProperty(u8),
    /// A property this packet may not carry.
    PropertyNotAllowed {
        /// The property.
        property: PropertyId,
        /// The packet (CONNECT also for Will Properties).
        packet: PacketType,
    },
    /// A property that may appear once appears again.
    DuplicateProperty(PropertyId),
    /// A property value outside what the specification allows (e.g. Receive Maximum 0).
    InvalidPropertyValue(PropertyId),
    /// A packet other than CONNECT arrived before the protocol level was known.
    ExpectedConnect(PacketType),
    /// Authentication Data without an Authentication Method.
    AuthenticationDataWithoutMethod,
}

impl DecodeError {
    /// The MQTT 5.0 reason code that answers this error in CONNACK or DISCONNECT.
    pub const fn reason_code(&self) -> ReasonCode {
        use DecodeError::*;
        match self {
            PacketTooLarge { .. } => ReasonCode::PacketTooLarge,
            // 0x94 is "Topic Alias invalid"; the other property value rules are Protocol Errors.
            InvalidPropertyValue(PropertyId::TopicAlias) => ReasonCode::TopicAliasInvalid,
            UnsupportedProtocolLevel(_) | InvalidProtocolName => {
                ReasonCode::UnsupportedProtocolVersion
            }
            EmptyTopicWithoutAlias
            | AuthenticationDataWithoutMethod
            | ZeroPacketId
            | SessionPresentOnError
            | NoTopicFilters { .. }
            | InvalidRetainHandling
            | NoLocalOnSharedSubscription
            | DuplicateProperty(_)
            | InvalidPropertyValue(_)
            | ExpectedConnect(_)
            | DupWithQoS0
            | InvalidSubscriptionQoS => ReasonCode::ProtocolError,
            // A topic with a misplaced wildcard is not correctly formed, so it is Malformed
            // (0x81), not 0x8F/0x90, which mean "correctly formed, but not accepted".
            _ => ReasonCode::MalformedPacket,
        }
    }

    /// The rule of the specification the peer broke: a normative statement id where there is
    /// one, else the section.
    pub const fn rule(&self) -> &'static str {
        use DecodeError::*;
        match self {
            PacketTooLarge { .. } => "MQTT-3.1.2-24 / MQTT-3.2.2-15 (Maximum Packet Size)",
            VarIntTooLong => "MQTT 5.0 §1.5.5 / 3.1.1 §2.2.3 (at most four bytes)",
            NonMinimalVarInt => "MQTT-1.5.5-1",
            ReservedPacketType(_) => "MQTT 5.0 §2.1.2 (reserved packet type)",
            InvalidFlags { .. } => "MQTT-2.1.3-1",
            InvalidQoS => "MQTT-3.3.1-4",
            DupWithQoS0 => "MQTT-3.3.1-2",
            InvalidWillQoS => "MQTT-3.1.2-12 (5.0) / MQTT-3.1.2-14 (3.1.1)",
            InvalidSubscriptionQoS => "MQTT 5.0 §3.8.3.1 / MQTT-3-8.3-4 (3.1.1)",
            Truncated => "MQTT 5.0 §1.5 (field runs past the Remaining Length)",
            TrailingBytes { .. } => "MQTT 5.0 §2.1.4 (Remaining Length covers exactly the packet)",
            InvalidString(StringError::InvalidUtf8) => "MQTT-1.5.4-1",
            InvalidString(StringError::NullCharacter) => "MQTT-1.5.4-2",
            InvalidString(StringError::TooLong) => "MQTT 5.0 §1.5.4",
            InvalidTopic(TopicError::String(StringError::InvalidUtf8)) => "MQTT-1.5.4-1",
            InvalidTopic(TopicError::String(StringError::NullCharacter)) => "MQTT-1.5.4-2",
            InvalidTopic(TopicError::String(StringError::TooLong)) => "MQTT 5.0 §1.5.4",
            InvalidTopic(TopicError::Empty) => "MQTT-4.7.3-1",
            InvalidTopic(TopicError::WildcardInName) => "MQTT-3.3.2-2",
            InvalidTopic(TopicError::MultiLevelWildcardPlacement) => "MQTT-4.7.1-1",
            InvalidTopic(TopicError::SingleLevelWildcardPlacement) => "MQTT-4.7.1-2",
            InvalidTopic(TopicError::InvalidSharedSubscription) => "MQTT-4.8.2-1 / MQTT-4.8.2-2",
            EmptyTopicWithoutAlias => "MQTT 5.0 §3.3.2.1 (empty Topic Name needs a Topic Alias)",
            ZeroPacketId => "MQTT-2.2.1-3",
            InvalidProtocolName => "MQTT-3.1.2-1",
            UnsupportedProtocolLevel(_) => "MQTT-3.1.2-2",
            ReservedConnectFlag => "MQTT-3.1.2-3",
            WillFlagsWithoutWill => "MQTT-3.1.2-11 / MQTT-3.1.2-13",
            PasswordWithoutUsername => "MQTT-3.1.2-22 (3.1.1)",
            ReservedConnAckFlags => "MQTT-3.2.2-1",
            SessionPresentOnError => "MQTT-3.2.2-6 (5.0) / MQTT-3.2.2-4 (3.1.1)",
            InvalidReasonCode { .. } => "MQTT 5.0 §2.4 (reason codes a packet may carry)",
            NoTopicFilters {
                packet: PacketType::Unsubscribe,
            } => "MQTT-3.10.3-2",
            NoTopicFilters { .. } => "MQTT-3.8.3-2",
            ReservedSubscriptionOptions => "MQTT-3.8.3-5 (5.0) / MQTT-3-8.3-4 (3.1.1)",
            InvalidRetainHandling => "MQTT 5.0 §3.8.3.1 (Retain Handling 3)",
            NoLocalOnSharedSubscription => "MQTT-3.8.3-4",
            UnknownProperty(_) => "MQTT 5.0 §2.2.2.2 (unknown property)",
            PropertyNotAllowed { .. } => "MQTT 5.0 §2.2.2.2 (property not valid for the packet)",
            DuplicateProperty(_) => "MQTT 5.0 §3 (property included more than once)",
            InvalidPropertyValue(_) => "MQTT 5.0 §3 (property value)",
            ExpectedConnect(_) => "MQTT-3.1.0-1",
            AuthenticationDataWithoutMethod => {
                "MQTT 5.0 §3.1.2.11.10 (Authentication Data needs an Authentication Method)"
            }
        }
    }
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use DecodeError::*;
        match self {
            PacketTooLarge { size, max } => {
                write!(
                    f,
                    "packet of {size} bytes exceeds the maximum of {max} bytes"
                )
            }
            VarIntTooLong => f.write_str("variable byte integer is longer than four bytes"),
            NonMinimalVarInt => {
                f.write_str("variable byte integer is not in its shortest encoding")
            }
            ReservedPacketType(t) => write!(f, "packet type {t} is reserved"),
            InvalidFlags { packet, flags } => {
                write!(
                    f,
                    "{packet} has fixed-header flags {flags:#06b}, which are reserved"
                )
            }
            InvalidQoS => f.write_str("PUBLISH has QoS 3"),
            DupWithQoS0 => f.write_str("PUBLISH has DUP set with QoS 0"),
            InvalidWillQoS => f.write_str("CONNECT has Will QoS 3"),
            InvalidSubscriptionQoS => f.write_str("subscription options have Maximum QoS 3"),
            Truncated => f.write_str("a field runs past the end of the packet"),
            TrailingBytes { packet } => write!(f, "{packet} has bytes after its last field"),
            InvalidString(e) => fmt::Display::fmt(e, f),
            InvalidTopic(e) => fmt::Display::fmt(e, f),
            EmptyTopicWithoutAlias => f.write_str("PUBLISH has an empty topic and no Topic Alias"),
            ZeroPacketId => f.write_str("packet identifier is zero"),
            InvalidProtocolName => f.write_str("CONNECT protocol name is not \"MQTT\""),
            UnsupportedProtocolLevel(l) => write!(f, "protocol level {l} is not supported"),
            ReservedConnectFlag => f.write_str("CONNECT reserved flag is set"),
            WillFlagsWithoutWill => {
                f.write_str("CONNECT sets Will QoS or Will Retain without the Will Flag")
            }
            PasswordWithoutUsername => {
                f.write_str("CONNECT has a password but no user name (MQTT 3.1.1)")
            }
            ReservedConnAckFlags => f.write_str("CONNACK reserved acknowledge flags are set"),
            SessionPresentOnError => {
                f.write_str("CONNACK sets Session Present with a non-zero return code")
            }
            InvalidReasonCode { packet, code } => {
                write!(f, "{packet} may not carry reason code {code:#04x}")
            }
            NoTopicFilters { packet } => write!(f, "{packet} has no topic filter"),
            ReservedSubscriptionOptions => {
                f.write_str("subscription options reserved bits are set")
            }
            InvalidRetainHandling => f.write_str("subscription Retain Handling is 3"),
            NoLocalOnSharedSubscription => f.write_str("No Local is set on a shared subscription"),
            UnknownProperty(id) => write!(f, "property identifier {id:#04x} is unknown"),
            PropertyNotAllowed { property, packet } => {
                write!(f, "property {} is not allowed in {packet}", property.name())
            }
            DuplicateProperty(p) => write!(f, "property {} is included more than once", p.name()),
            InvalidPropertyValue(p) => write!(f, "property {} has an invalid value", p.name()),
            ExpectedConnect(p) => {
                write!(f, "{p} before CONNECT: the protocol level is not known yet")
            }
            AuthenticationDataWithoutMethod => {
                f.write_str("Authentication Data is present without an Authentication Method")
            }
        }?;
        write!(f, " [{}]", self.rule())
    }
}

#[cfg(feature = "std")]
impl std::error::Error for DecodeError {}

impl From<StringError> for DecodeError {
    fn from(e: StringError) -> Self {
        DecodeError::InvalidString(e)
    }
}

impl From<TopicError> for DecodeError {
    fn from(e: TopicError) -> Self {
        match e {
            TopicError::String(s) => DecodeError::InvalidString(s),
            other => DecodeError::InvalidTopic(other),
        }
    }
}

/// Local code asked to encode something the protocol forbids. Nothing was written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum EncodeError {
    /// The encoded packet would exceed the maximum packet size.
    PacketTooLarge {
        /// Size the packet would have, in bytes.
        size: usize,
        /// The limit in force.
        max: usize,
    },
    /// The Remaining Length would exceed 268,435,455 bytes.
    RemainingLengthTooLarge,
    /// A string or binary field is longer than 65,535 bytes.
    FieldTooLong {
        /// The field's length.
        len: usize,
    },
    /// The packet does not exist at this protocol level (AUTH before 5.0).
    PacketNotInVersion(PacketType),
    /// The packet carries properties, a reason code or an option that 3.1.1 cannot express.
    NotInVersion(&'static str),
    /// A property that the packet may not carry.
    PropertyNotAllowed {
        /// The property.
        property: PropertyId,
        /// The packet (CONNECT also for Will Properties).
        packet: PacketType,
    },
    /// A reason code the packet may not carry.
    ReasonCodeNotAllowed {
        /// The packet.
        packet: PacketType,
        /// The code.
        code: ReasonCode,
    },
    /// QoS 0 with a packet identifier, or QoS 1/2 without one.
    PacketIdMismatch,
    /// QoS 0 with DUP set [MQTT-3.3.1-2].
    DupWithQoS0,
    /// An empty topic name without a Topic Alias property.
    EmptyTopicWithoutAlias,
    /// A SUBSCRIBE or UNSUBSCRIBE without topic filters.
    NoTopicFilters,
    /// No Local on a shared subscription [MQTT-3.8.3-4].
    NoLocalOnSharedSubscription,
    /// A property value the specification forbids, or a property given twice.
    InvalidProperty(PropertyId),
    /// Session Present with a non-zero CONNACK code.
    SessionPresentOnError,
}

impl fmt::Display for EncodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use EncodeError::*;
        match self {
            PacketTooLarge { size, max } => {
                write!(f, "packet of {size} bytes exceeds the maximum packet size of {max} bytes")
            }
            RemainingLengthTooLarge => {
                f.write_str("remaining length exceeds 268,435,455 bytes [MQTT 5.0 §1.5.5]")
            }
            FieldTooLong { len } => write!(
                f,
                "field of {len} bytes is longer than a two-byte length allows (65,535)"
            ),
            PacketNotInVersion(p) => write!(f, "{p} does not exist before MQTT 5.0"),
            NotInVersion(what) => write!(f, "{what} cannot be expressed in MQTT 3.1.1"),
            PropertyNotAllowed { property, packet } => {
                write!(f, "property {} is not allowed in {packet}", property.name())
            }
            ReasonCodeNotAllowed { packet, code } => {
                write!(f, "reason code {code} is not allowed in {packet}")
            }
            PacketIdMismatch => f.write_str(
                "QoS 0 PUBLISH must have no packet identifier and QoS 1/2 must have one [MQTT-2.2.1-2]",
            ),
            DupWithQoS0 => f.write_str("DUP must be 0 for QoS 0 [MQTT-3.3.1-2]"),
            EmptyTopicWithoutAlias => {
                f.write_str("an empty topic name needs a Topic Alias (MQTT 5.0 only)")
            }
            NoTopicFilters => {
                f.write_str("SUBSCRIBE and UNSUBSCRIBE need at least one topic filter")
            }
            NoLocalOnSharedSubscription => {
                f.write_str("No Local must not be set on a shared subscription [MQTT-3.8.3-4]")
            }
            InvalidProperty(p) => write!(f, "property {} has an invalid value or repeats", p.name()),
            SessionPresentOnError => {
                f.write_str("Session Present must be 0 with a non-zero CONNACK code")
            }
        }
    }
}

#[cfg(feature = "std")]
impl std::error::Error for EncodeError {}
