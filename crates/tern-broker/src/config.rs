//! What the server offers each connection and what it accepts from it.
//!
//! [`ServerConfig`] holds the per-connection settings a [`Connection`](crate::connection::Connection)
//! negotiates and enforces: the capabilities announced in CONNACK (Maximum QoS, Retain
//! Available, the wildcard / subscription identifier / shared subscription flags, a Server
//! Keep Alive) and the [`Limits`] on what a client may send. Both start from defaults and are
//! changed with builder-style setters:
//!
//! ```
//! use core::time::Duration;
//! use tern_broker::config::{Limits, ServerConfig};
//! use tern_mqtt::QoS;
//!
//! let config = ServerConfig::new()
//!     .with_maximum_qos(QoS::AtLeastOnce)
//!     .with_retain_available(false)
//!     .with_connect_timeout(Duration::from_secs(5))
//!     .with_limits(Limits::new().with_max_packet_size(64 * 1024).with_receive_maximum(32));
//! assert_eq!(config.limits().receive_maximum(), 32);
//! assert_eq!(config.maximum_qos(), QoS::AtLeastOnce);
//! ```

use core::time::Duration;

use tern_mqtt::QoS;

/// Generates a private field's getter and its builder-style setter.
macro_rules! setting {
    ($(#[$doc:meta])* $field:ident, $setter:ident: $ty:ty) => {
        $(#[$doc])*
        pub const fn $field(&self) -> $ty {
            self.$field
        }

        #[doc = concat!("Sets [`Self::", stringify!($field), "`].")]
        #[must_use]
        pub const fn $setter(mut self, value: $ty) -> Self {
            self.$field = value;
            self
        }
    };
}

/// Limits on what one client may send.
///
/// A client over a limit is refused (CONNACK) or disconnected (DISCONNECT in 5.0) with the
/// reason code the specification gives, or told per item (SUBACK, UNSUBACK, PUBACK) where
/// the protocol allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    max_packet_size: u32,
    receive_maximum: u16,
    topic_alias_maximum: u16,
    max_keep_alive: u16,
    max_client_id_len: usize,
    max_topic_len: usize,
    max_topic_levels: usize,
}

impl Limits {
    /// Packets up to 16 MiB, 100 QoS 1/2 publications in flight from the client, 10 Topic
    /// Aliases, any keep alive, client identifiers and topics up to MQTT's own 65,535 bytes,
    /// topics of at most 128 levels.
    pub const fn new() -> Self {
        Limits {
            max_packet_size: 16 * 1024 * 1024,
            receive_maximum: 100,
            topic_alias_maximum: 10,
            max_keep_alive: u16::MAX,
            max_client_id_len: u16::MAX as usize,
            max_topic_len: u16::MAX as usize,
            max_topic_levels: 128,
        }
    }

    setting! {
        /// The largest packet accepted from a client, in bytes (fixed header included, as
        /// Maximum Packet Size counts it). Announced in a 5.0 CONNACK; a larger packet is
        /// refused from its fixed header, before its body is buffered, with 0x95 Packet too
        /// large [MQTT-3.2.2-15]. At least 2 is sensible; 0 is read as 1.
        max_packet_size, with_max_packet_size: u32
    }

    setting! {
        /// Receive Maximum: how many QoS 1/2 publications from the client may await their
        /// acknowledgement (PUBACK, or PUBCOMP for QoS 2). One more is answered with
        /// DISCONNECT 0x93 [MQTT-3.3.4-9]. 0 is read as 1.
        receive_maximum, with_receive_maximum: u16
    }

    setting! {
        /// Topic Alias Maximum: the highest Topic Alias a 5.0 client may use; 0 forbids them.
        topic_alias_maximum, with_topic_alias_maximum: u16
    }

    setting! {
        /// The longest keep alive accepted, in seconds. A 5.0 client asking for more (or for
        /// none) is given this one as Server Keep Alive; a 3.1.1 client, which cannot be told,
        /// is refused with return code 2, as mosquitto does. `u16::MAX`: any.
        max_keep_alive, with_max_keep_alive: u16
    }

    setting! {
        /// The longest client identifier accepted, in bytes; longer ones are refused with
        /// 0x85 Client Identifier not valid (3.1.1: return code 2).
        max_client_id_len, with_max_client_id_len: usize
    }

    setting! {
        /// The longest topic name or filter accepted, in bytes.
        max_topic_len, with_max_topic_len: usize
    }

    setting! {
        /// The most levels (`/`-separated parts) a topic name or filter may have.
        max_topic_levels, with_max_topic_levels: usize
    }
}

impl Default for Limits {
    fn default() -> Self {
        Limits::new()
    }
}

/// The server's side of every connection: capabilities, timers and [`Limits`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerConfig {
    limits: Limits,
    maximum_qos: QoS,
    retain_available: bool,
    wildcard_subscription_available: bool,
    subscription_identifiers_available: bool,
    shared_subscription_available: bool,
    server_keep_alive: Option<u16>,
    keep_alive_factor_permille: u32,
    accept_v3_1: bool,
    allow_empty_client_id: bool,
    connect_timeout: Duration,
}

impl ServerConfig {
    /// Everything MQTT offers (QoS 2, retained messages, wildcards, subscription identifiers,
    /// shared subscriptions), the client's own keep alive enforced at 1.5 ×, MQTT 3.1
    /// accepted, empty client identifiers accepted (the broker assigns one), 10 s for the
    /// CONNECT to arrive, and [`Limits::new`].
    pub const fn new() -> Self {
        ServerConfig {
            limits: Limits::new(),
            maximum_qos: QoS::ExactlyOnce,
            retain_available: true,
            wildcard_subscription_available: true,
            subscription_identifiers_available: true,
            shared_subscription_available: true,
            server_keep_alive: None,
            keep_alive_factor_permille: 1_500,
            accept_v3_1: true,
            allow_empty_client_id: true,
            connect_timeout: Duration::from_secs(10),
        }
    }

    /// The limits on what a client may send.
    pub const fn limits(&self) -> &Limits {
        &self.limits
    }

    /// Sets [`Self::limits`].
    #[must_use]
    pub const fn with_limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    setting! {
        /// Maximum QoS: the highest QoS a client may publish with (and its Will QoS). Above
        /// it: CONNACK 0x9B for a will [MQTT-3.2.2-12], DISCONNECT 0x9B for a PUBLISH.
        maximum_qos, with_maximum_qos: QoS
    }

    setting! {
        /// Retain Available. Without it, a retained will is refused with CONNACK 0x9A
        /// [MQTT-3.2.2-13] and a retained PUBLISH ends the connection with 0x9A.
        retain_available, with_retain_available: bool
    }

    setting! {
        /// Wildcard Subscription Available. Without it a 5.0 SUBSCRIBE with a wildcard ends
        /// the connection with 0xA2 (MQTT 5.0 §3.2.2.3.11); in 3.1.1 the filter gets 0x80.
        wildcard_subscription_available, with_wildcard_subscription_available: bool
    }

    setting! {
        /// Subscription Identifier Available. Without it a SUBSCRIBE carrying one ends the
        /// connection with 0xA1 (MQTT 5.0 §3.2.2.3.12).
        subscription_identifiers_available, with_subscription_identifiers_available: bool
    }

    setting! {
        /// Shared Subscription Available. Without it a 5.0 SUBSCRIBE to `$share/...` ends
        /// the connection with 0x9E (MQTT 5.0 §3.2.2.3.13); in 3.1.1 the filter gets 0x80.
        shared_subscription_available, with_shared_subscription_available: bool
    }

    setting! {
        /// Server Keep Alive: when set, every 5.0 client is told to use this keep alive
        /// instead of its own [MQTT-3.2.2-21]; 3.1.1 clients keep theirs.
        server_keep_alive, with_server_keep_alive: Option<u16>
    }

    setting! {
        /// How long silence is tolerated, in per mille of the keep alive: 1,500 is the
        /// specification's one and a half times [MQTT-3.1.2-24] (5.0: -22).
        keep_alive_factor_permille, with_keep_alive_factor_permille: u32
    }

    setting! {
        /// Whether MQTT 3.1 (protocol name "MQIsdp", level 3) is accepted; if not, such a
        /// client is refused with return code 1, unacceptable protocol version.
        accept_v3_1, with_accept_v3_1: bool
    }

    setting! {
        /// Whether a client may leave its identifier empty and be given one by the broker
        /// (5.0: Assigned Client Identifier). If not, it is refused with 0x85 (return code
        /// 2). A 3.1.1 client asking to keep its session with an empty identifier is always
        /// refused [MQTT-3.1.3-8].
        allow_empty_client_id, with_allow_empty_client_id: bool
    }

    setting! {
        /// How long a new connection may take to send CONNECT before it is closed.
        connect_timeout, with_connect_timeout: Duration
    }
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig::new()
    }
}
