//! Sans-IO MQTT 3.1.1 and 5.0 for tern.
//!
//! This crate holds the MQTT protocol without any I/O: it turns bytes into typed packets and
//! typed packets into bytes, and (in later modules) drives the client and server state machines.
//! It never reads a socket, a clock or a random number generator, and it builds as `#![no_std]`
//! with `alloc` when the default `std` feature is off.
//!
//! # The codec
//!
//! [`Codec`] decodes from a [`bytes::BytesMut`] that the caller fills from its transport. It
//! answers with a whole [`Packet`], with [`Decoded::Incomplete`] (nothing consumed), or with a
//! typed [`DecodeError`] that names the specification rule the peer broke and the 5.0 reason
//! code to answer with. Decoding is zero-copy: topics, strings, binary data and payloads are
//! [`bytes::Bytes`] slices of the input, so decoding a PUBLISH allocates nothing.
//!
//! ```
//! use bytes::BytesMut;
//! use tern_mqtt::{Codec, Decoded, Packet, ProtocolVersion, Publish, QoS, TopicName};
//!
//! let codec = Codec::new(ProtocolVersion::V5);
//!
//! // Encode a QoS 0 PUBLISH into a buffer the caller owns.
//! let publish = Publish::new(TopicName::new("sensors/temperature")?, "21.5");
//! let mut wire = BytesMut::new();
//! codec.encode(&Packet::Publish(publish.clone()), &mut wire)?;
//! assert_eq!(wire.len(), Packet::Publish(publish.clone()).encoded_len(ProtocolVersion::V5));
//!
//! // Bytes arrive in pieces: the decoder waits for the whole packet and consumes nothing until then.
//! let mut input = BytesMut::from(&wire[..5]);
//! assert!(matches!(codec.decode(&mut input)?, Decoded::Incomplete { .. }));
//! input.extend_from_slice(&wire[5..]);
//! match codec.decode(&mut input)? {
//!     Decoded::Packet(Packet::Publish(p)) => {
//!         assert_eq!(p.topic.as_str(), "sensors/temperature");
//!         assert_eq!(&p.payload[..], b"21.5");
//!         assert_eq!(p.qos, QoS::AtMostOnce);
//!     }
//!     other => panic!("unexpected {other:?}"),
//! }
//! assert!(input.is_empty());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Where things live
//!
//! - [`packet`]: the fifteen control packets, one module per packet family, decode and encode
//!   side by side, and the streaming [`Codec`].
//! - [`property`]: the 27 MQTT 5.0 properties, where each may appear, and the [`Properties`]
//!   block (kept as validated wire bytes, read without allocation).
//! - [`reason`]: every 5.0 reason code and the 3.1.1 return codes mapped onto them.
//! - [`topic`]: validated [`TopicName`] and [`TopicFilter`], [`topic::matches`] and shared
//!   subscriptions.
//! - [`error`]: [`DecodeError`] (the peer's fault) and [`EncodeError`] (the caller's).
//! - [`client`]: the sans-IO client state machine.
#![cfg_attr(not(feature = "std"), no_std)]
#![cfg_attr(
    not(test),
    deny(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::indexing_slicing,
        clippy::panic
    )
)]
#![cfg_attr(docsrs, feature(doc_auto_cfg))]

extern crate alloc;

pub mod client;
pub mod error;
pub mod packet;
pub mod property;
pub mod reason;
pub mod string;
pub mod topic;
mod wire;

#[cfg(feature = "arbitrary")]
#[doc(hidden)]
pub mod arbitrary;

pub use error::{DecodeError, EncodeError};
pub use packet::{
    Auth, Codec, ConnAck, Connect, Decoded, Disconnect, Packet, PacketId, PacketType,
    ProtocolVersion, PubAck, PubComp, PubRec, PubRel, Publish, QoS, RetainHandling, SubAck,
    Subscribe, Subscription, SubscriptionOptions, UnsubAck, Unsubscribe, Will,
};
pub use property::{Properties, PropertiesBuilder, Property, PropertyId};
pub use reason::ReasonCode;
pub use string::MqttString;
pub use topic::{SharedSubscription, TopicFilter, TopicName};
