//! MQTT 5.0 reason codes (§2.4) and the 3.1.1 return codes, mapped onto them.
//!
//! One enum serves every packet. Value 0x00 has three names in the specification (Success,
//! Normal disconnection, Granted QoS 0): [`ReasonCode::name_in`] gives the one a packet uses.
//! MQTT 3.1.1's CONNACK return codes 1–5 are decoded to the 5.0 code with the same meaning and
//! encoded back, so applications handle one set of codes at both protocol levels.

use core::fmt;

use crate::packet::PacketType;

const CONNACK: u16 = 1 << 2;
const PUBACK: u16 = 1 << 4;
const PUBREC: u16 = 1 << 5;
const PUBREL: u16 = 1 << 6;
const PUBCOMP: u16 = 1 << 7;
const SUBACK: u16 = 1 << 9;
const UNSUBACK: u16 = 1 << 11;
const DISCONNECT: u16 = 1 << 14;
const AUTH: u16 = 1 << 15;

macro_rules! reason_codes {
    ($( $(#[$doc:meta])* $variant:ident = $value:literal, $name:literal, $packets:expr; )*) => {
        /// An MQTT 5.0 reason code (MQTT 5.0 §2.4).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        #[repr(u8)]
        #[non_exhaustive]
        pub enum ReasonCode {
            $( $(#[$doc])* $variant = $value, )*
        }

        impl ReasonCode {
            /// Every reason code, in numeric order.
            pub const ALL: &'static [ReasonCode] = &[$(ReasonCode::$variant),*];

            /// The reason code with this value, if the specification defines one.
            pub const fn from_u8(value: u8) -> Option<Self> {
                match value {
                    $( $value => Some(ReasonCode::$variant), )*
                    _ => None,
                }
            }

            /// The specification's name of the code (for 0x00: "Success"; see [`Self::name_in`]).
            pub const fn name(self) -> &'static str {
                match self {
                    $( ReasonCode::$variant => $name, )*
                }
            }

            const fn packets(self) -> u16 {
                match self {
                    $( ReasonCode::$variant => $packets, )*
                }
            }
        }
    };
}

reason_codes! {
    /// 0x00: Success; Normal disconnection in DISCONNECT; Granted QoS 0 in SUBACK.
    Success = 0x00, "Success", CONNACK | PUBACK | PUBREC | PUBREL | PUBCOMP | SUBACK | UNSUBACK | DISCONNECT | AUTH;
    /// 0x01: the subscription is accepted with maximum QoS 1.
    GrantedQoS1 = 0x01, "Granted QoS 1", SUBACK;
    /// 0x02: the subscription is accepted with maximum QoS 2.
    GrantedQoS2 = 0x02, "Granted QoS 2", SUBACK;
    /// 0x04: the client disconnects but wants its Will Message published.
    DisconnectWithWillMessage = 0x04, "Disconnect with Will Message", DISCONNECT;
    /// 0x10: accepted, but nobody is subscribed.
    NoMatchingSubscribers = 0x10, "No matching subscribers", PUBACK | PUBREC;
    /// 0x11: there was no such subscription.
    NoSubscriptionExisted = 0x11, "No subscription existed", UNSUBACK;
    /// 0x18: continue the authentication with another step.
    ContinueAuthentication = 0x18, "Continue authentication", AUTH;
    /// 0x19: start a re-authentication.
    ReAuthenticate = 0x19, "Re-authenticate", AUTH;
    /// 0x80: the sender does not wish to reveal the reason, or none of the others applies.
    UnspecifiedError = 0x80, "Unspecified error", CONNACK | PUBACK | PUBREC | SUBACK | UNSUBACK | DISCONNECT;
    /// 0x81: data in the packet could not be parsed correctly.
    MalformedPacket = 0x81, "Malformed Packet", CONNACK | DISCONNECT;
    /// 0x82: the packet is well-formed but breaks the protocol.
    ProtocolError = 0x82, "Protocol Error", CONNACK | DISCONNECT;
    /// 0x83: valid, but not accepted by this implementation.
    ImplementationSpecificError = 0x83, "Implementation specific error", CONNACK | PUBACK | PUBREC | SUBACK | UNSUBACK | DISCONNECT;
    /// 0x84: the server does not support the requested protocol level.
    UnsupportedProtocolVersion = 0x84, "Unsupported Protocol Version", CONNACK;
    /// 0x85: the client identifier is valid but not allowed.
    ClientIdentifierNotValid = 0x85, "Client Identifier not valid", CONNACK;
    /// 0x86: bad user name or password.
    BadUserNameOrPassword = 0x86, "Bad User Name or Password", CONNACK;
    /// 0x87: not authorized.
    NotAuthorized = 0x87, "Not authorized", CONNACK | PUBACK | PUBREC | SUBACK | UNSUBACK | DISCONNECT;
    /// 0x88: the server is not available.
    ServerUnavailable = 0x88, "Server unavailable", CONNACK;
    /// 0x89: the server is busy; try later.
    ServerBusy = 0x89, "Server busy", CONNACK | DISCONNECT;
    /// 0x8A: this client is banned.
    Banned = 0x8A, "Banned", CONNACK;
    /// 0x8B: the server is shutting down.
    ServerShuttingDown = 0x8B, "Server shutting down", DISCONNECT;
    /// 0x8C: the authentication method is not supported or does not match.
    BadAuthenticationMethod = 0x8C, "Bad authentication method", CONNACK | DISCONNECT;
    /// 0x8D: nothing arrived within 1.5 times the Keep Alive.
    KeepAliveTimeout = 0x8D, "Keep Alive timeout", DISCONNECT;
    /// 0x8E: another connection with the same client identifier took the session over.
    SessionTakenOver = 0x8E, "Session taken over", DISCONNECT;
    /// 0x8F: the topic filter is well-formed but not accepted.
    TopicFilterInvalid = 0x8F, "Topic Filter invalid", SUBACK | UNSUBACK | DISCONNECT;
    /// 0x90: the topic name is well-formed but not accepted.
    TopicNameInvalid = 0x90, "Topic Name invalid", CONNACK | PUBACK | PUBREC | DISCONNECT;
    /// 0x91: the packet identifier is already in use.
    PacketIdentifierInUse = 0x91, "Packet Identifier in use", PUBACK | PUBREC | SUBACK | UNSUBACK;
    /// 0x92: the packet identifier is not known.
    PacketIdentifierNotFound = 0x92, "Packet Identifier not found", PUBREL | PUBCOMP;
    /// 0x93: more QoS 1/2 publications in flight than Receive Maximum allows.
    ReceiveMaximumExceeded = 0x93, "Receive Maximum exceeded", DISCONNECT;
    /// 0x94: the topic alias is 0 or above the maximum, or unknown.
    TopicAliasInvalid = 0x94, "Topic Alias invalid", DISCONNECT;
    /// 0x95: the packet is larger than the Maximum Packet Size.
    PacketTooLarge = 0x95, "Packet too large", CONNACK | DISCONNECT;
    /// 0x96: the rate of publications is too high.
    MessageRateTooHigh = 0x96, "Message rate too high", DISCONNECT;
    /// 0x97: an administrative or implementation quota is exceeded.
    QuotaExceeded = 0x97, "Quota exceeded", CONNACK | PUBACK | PUBREC | SUBACK | DISCONNECT;
    /// 0x98: closed by an administrative action.
    AdministrativeAction = 0x98, "Administrative action", DISCONNECT;
    /// 0x99: the payload does not match the Payload Format Indicator.
    PayloadFormatInvalid = 0x99, "Payload format invalid", CONNACK | PUBACK | PUBREC | DISCONNECT;
    /// 0x9A: the server does not support retained messages.
    RetainNotSupported = 0x9A, "Retain not supported", CONNACK | DISCONNECT;
    /// 0x9B: the QoS is above the server's Maximum QoS.
    QoSNotSupported = 0x9B, "QoS not supported", CONNACK | DISCONNECT;
    /// 0x9C: use another server, temporarily.
    UseAnotherServer = 0x9C, "Use another server", CONNACK | DISCONNECT;
    /// 0x9D: the server has moved; use another one permanently.
    ServerMoved = 0x9D, "Server moved", CONNACK | DISCONNECT;
    /// 0x9E: the server does not support shared subscriptions.
    SharedSubscriptionsNotSupported = 0x9E, "Shared Subscriptions not supported", SUBACK | DISCONNECT;
    /// 0x9F: the connection rate limit is exceeded.
    ConnectionRateExceeded = 0x9F, "Connection rate exceeded", CONNACK | DISCONNECT;
    /// 0xA0: the maximum connection time is over.
    MaximumConnectTime = 0xA0, "Maximum connect time", DISCONNECT;
    /// 0xA1: the server does not support subscription identifiers.
    SubscriptionIdentifiersNotSupported = 0xA1, "Subscription Identifiers not supported", SUBACK | DISCONNECT;
    /// 0xA2: the server does not support wildcard subscriptions.
    WildcardSubscriptionsNotSupported = 0xA2, "Wildcard Subscriptions not supported", SUBACK | DISCONNECT;
}

impl ReasonCode {
    /// The numeric value on the wire.
    pub const fn as_u8(self) -> u8 {
        self as u8
    }

    /// Whether a 5.0 packet of type `packet` may carry this code (MQTT 5.0 §2.4, Table 2-6).
    ///
    /// ```
    /// use tern_mqtt::{PacketType, ReasonCode};
    /// assert!(ReasonCode::NoMatchingSubscribers.allowed_in(PacketType::PubAck));
    /// assert!(!ReasonCode::NoMatchingSubscribers.allowed_in(PacketType::PubComp));
    /// ```
    pub const fn allowed_in(self, packet: PacketType) -> bool {
        self.packets() & (1 << packet as u8) != 0
    }

    /// The name the specification gives the code in `packet`: 0x00 is "Normal disconnection"
    /// in DISCONNECT and "Granted QoS 0" in SUBACK.
    pub const fn name_in(self, packet: PacketType) -> &'static str {
        match (self, packet) {
            (ReasonCode::Success, PacketType::Disconnect) => "Normal disconnection",
            (ReasonCode::Success, PacketType::SubAck) => "Granted QoS 0",
            _ => self.name(),
        }
    }

    /// Whether the code reports an error (0x80 and above).
    pub const fn is_error(self) -> bool {
        self.as_u8() >= 0x80
    }

    /// Decodes an MQTT 3.1.1 CONNACK return code (3.1.1 §3.2.2.3) to the 5.0 code with its meaning.
    pub const fn from_v3_connack(code: u8) -> Option<Self> {
        Some(match code {
            0 => ReasonCode::Success,
            1 => ReasonCode::UnsupportedProtocolVersion,
            2 => ReasonCode::ClientIdentifierNotValid,
            3 => ReasonCode::ServerUnavailable,
            4 => ReasonCode::BadUserNameOrPassword,
            5 => ReasonCode::NotAuthorized,
            _ => return None,
        })
    }

    /// The MQTT 3.1.1 CONNACK return code for this code, if 3.1.1 has one.
    pub const fn to_v3_connack(self) -> Option<u8> {
        Some(match self {
            ReasonCode::Success => 0,
            ReasonCode::UnsupportedProtocolVersion => 1,
            ReasonCode::ClientIdentifierNotValid => 2,
            ReasonCode::ServerUnavailable => 3,
            ReasonCode::BadUserNameOrPassword => 4,
            ReasonCode::NotAuthorized => 5,
            _ => return None,
        })
    }

    /// Whether MQTT 3.1.1 SUBACK can carry this code (0x00, 0x01, 0x02 and 0x80, 3.1.1 §3.9.3).
    pub const fn is_v3_suback(self) -> bool {
        matches!(
            self,
            ReasonCode::Success
                | ReasonCode::GrantedQoS1
                | ReasonCode::GrantedQoS2
                | ReasonCode::UnspecifiedError
        )
    }
}

impl fmt::Display for ReasonCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "0x{:02X} {}", self.as_u8(), self.name())
    }
}

impl Default for ReasonCode {
    /// Success (0x00).
    fn default() -> Self {
        ReasonCode::Success
    }
}

impl From<ReasonCode> for u8 {
    fn from(code: ReasonCode) -> u8 {
        code.as_u8()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_value_round_trips() {
        for &code in ReasonCode::ALL {
            assert_eq!(ReasonCode::from_u8(code.as_u8()), Some(code));
        }
        assert_eq!(ReasonCode::ALL.len(), 43);
        assert_eq!(ReasonCode::from_u8(0x03), None);
    }

    #[test]
    fn v3_connack_codes_map_both_ways() {
        for v in 0..=5u8 {
            let code = ReasonCode::from_v3_connack(v).unwrap();
            assert_eq!(code.to_v3_connack(), Some(v));
        }
        assert_eq!(ReasonCode::from_v3_connack(6), None);
    }
}
