//! The endpoint's configuration: RFC 7252 §4.8 transmission parameters, the values derived
//! from them (§4.8.2), and the limits that keep a flood of datagrams from growing memory.

use alloc::collections::BTreeMap;
use core::time::Duration;

use bytes::Bytes;

use super::observe::{NotificationType, ObserversConfig};

/// The message-layer transmission parameters of RFC 7252 §4.8, with the defaults of its table.
///
/// ```
/// use core::time::Duration;
/// use tern_coap::endpoint::TransmissionParameters;
///
/// let p = TransmissionParameters::default();
/// // The derived values of RFC 7252 §4.8.2 for the defaults.
/// assert_eq!(p.max_transmit_span(), Duration::from_secs(45));
/// assert_eq!(p.max_transmit_wait(), Duration::from_secs(93));
/// assert_eq!(p.max_rtt(), Duration::from_secs(202));
/// assert_eq!(p.exchange_lifetime(), Duration::from_secs(247));
/// assert_eq!(p.non_lifetime(), Duration::from_secs(145));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TransmissionParameters {
    /// ACK_TIMEOUT: the shortest initial retransmission timeout (2 s).
    pub ack_timeout: Duration,
    /// ACK_RANDOM_FACTOR in per mille (1,500 for 1.5): the initial timeout is drawn from
    /// `[ack_timeout, ack_timeout × factor]`. Values under 1,000 count as 1,000.
    pub ack_random_factor_permille: u32,
    /// MAX_RETRANSMIT: retransmissions of a Confirmable message before giving up (4).
    pub max_retransmit: u8,
    /// NSTART: outstanding interactions per peer (1); further requests wait in order.
    pub nstart: usize,
    /// DEFAULT_LEISURE (5 s): only for answers to multicast requests, which this endpoint
    /// does not serve; kept so the whole table of §4.8 is configurable in one place.
    pub default_leisure: Duration,
    /// PROBING_RATE in bytes per second (1): see the endpoint documentation for how far it is
    /// applied.
    pub probing_rate: u32,
    /// MAX_LATENCY: the longest a datagram is expected to travel (100 s).
    pub max_latency: Duration,
}

impl Default for TransmissionParameters {
    fn default() -> Self {
        TransmissionParameters {
            ack_timeout: Duration::from_secs(2),
            ack_random_factor_permille: 1_500,
            max_retransmit: 4,
            nstart: 1,
            default_leisure: Duration::from_secs(5),
            probing_rate: 1,
            max_latency: Duration::from_secs(100),
        }
    }
}

/// `d × num / 1000`, saturating.
fn scale_permille(d: Duration, num: u128) -> Duration {
    let micros = d.as_micros().saturating_mul(num) / 1_000;
    Duration::from_micros(u64::try_from(micros).unwrap_or(u64::MAX))
}

/// `2^n − 1`, saturating.
fn pow2_minus_1(n: u32) -> u128 {
    1u128.checked_shl(n).map_or(u128::MAX, |p| p - 1)
}

impl TransmissionParameters {
    /// The random factor actually used, in per mille (at least 1,000).
    pub(crate) fn factor_permille(&self) -> u32 {
        self.ack_random_factor_permille.max(1_000)
    }

    /// PROCESSING_DELAY: the time a node takes to turn a Confirmable message into an
    /// acknowledgement; RFC 7252 §4.8.2 sets it to ACK_TIMEOUT.
    pub fn processing_delay(&self) -> Duration {
        self.ack_timeout
    }

    /// MAX_TRANSMIT_SPAN: from the first transmission of a Confirmable message to its last
    /// retransmission, `ACK_TIMEOUT × (2^MAX_RETRANSMIT − 1) × ACK_RANDOM_FACTOR`.
    pub fn max_transmit_span(&self) -> Duration {
        let n = pow2_minus_1(u32::from(self.max_retransmit));
        scale_permille(
            self.ack_timeout,
            n.saturating_mul(u128::from(self.factor_permille())),
        )
    }

    /// MAX_TRANSMIT_WAIT: from the first transmission of a Confirmable message to the moment
    /// the sender gives up on an acknowledgement or reset,
    /// `ACK_TIMEOUT × (2^(MAX_RETRANSMIT + 1) − 1) × ACK_RANDOM_FACTOR`.
    pub fn max_transmit_wait(&self) -> Duration {
        let n = pow2_minus_1(u32::from(self.max_retransmit) + 1);
        scale_permille(
            self.ack_timeout,
            n.saturating_mul(u128::from(self.factor_permille())),
        )
    }

    /// MAX_RTT: `2 × MAX_LATENCY + PROCESSING_DELAY`.
    pub fn max_rtt(&self) -> Duration {
        self.max_latency
            .saturating_mul(2)
            .saturating_add(self.processing_delay())
    }

    /// EXCHANGE_LIFETIME: how long a Message ID must not be reused and a duplicate
    /// Confirmable message is recognized, `MAX_TRANSMIT_SPAN + 2 × MAX_LATENCY +
    /// PROCESSING_DELAY`.
    pub fn exchange_lifetime(&self) -> Duration {
        self.max_transmit_span().saturating_add(self.max_rtt())
    }

    /// NON_LIFETIME: how long a duplicate Non-confirmable message is recognized,
    /// `MAX_TRANSMIT_SPAN + MAX_LATENCY`.
    pub fn non_lifetime(&self) -> Duration {
        self.max_transmit_span().saturating_add(self.max_latency)
    }
}

/// How an [`Endpoint`](super::Endpoint) behaves and how much it is willing to hold.
///
/// ```
/// use core::time::Duration;
/// use tern_coap::endpoint::EndpointConfig;
///
/// let config = EndpointConfig {
///     token_length: 4,
///     piggyback_delay: Duration::from_millis(500),
///     ..EndpointConfig::default()
/// };
/// assert_eq!(config.transmission.max_retransmit, 4);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct EndpointConfig {
    /// RFC 7252 §4.8 parameters.
    pub transmission: TransmissionParameters,
    /// Length of the tokens the client draws, 0–8 bytes (8; larger values count as 8). With 0,
    /// only one request per peer can await its response at a time (RFC 7252 §5.3.1).
    pub token_length: u8,
    /// How long the server waits for the application to answer a Confirmable request before
    /// it sends an empty ACK and answers later in a separate response (1 s; keep it under
    /// ACK_TIMEOUT, so that the client does not retransmit first).
    pub piggyback_delay: Duration,
    /// Most (peer, Message ID) pairs remembered for duplicate detection (1,024). Each holds
    /// at most one reply of up to `max_message_size` bytes. When full, the oldest answered
    /// entry is forgotten (a very late duplicate of it would be processed again, as RFC 7252
    /// §4.5 allows); only when every entry still waits for the application's answer are new
    /// requests dropped (the client retransmits). A busy server wants about its request rate
    /// × EXCHANGE_LIFETIME (247 s) entries.
    pub max_dedup_entries: usize,
    /// Most requests one peer may have with the application or in a separate response at a
    /// time (16); more are answered 5.03 (Confirmable) or dropped (Non-confirmable).
    pub max_pending_per_peer: usize,
    /// Most such requests over all peers (256).
    pub max_pending_total: usize,
    /// Max-Age, in seconds, of the 5.03 Service Unavailable sent over those limits (2).
    pub overload_max_age: u32,
    /// Most client requests queued or awaiting a response at once (256); `request` fails
    /// beyond it.
    pub max_requests: usize,
    /// Largest datagram this endpoint sends (1,152 bytes, RFC 7252 §4.6).
    pub max_message_size: usize,
    /// Block-wise transfers (RFC 7959): the largest body reassembled, in bytes (64 KiB): a
    /// response body this endpoint's client collects from Block2 blocks (beyond:
    /// [`RequestError::Block2`](super::RequestError::Block2)), and a request body its server
    /// collects from Block1 blocks (beyond: 4.13 with this as Size1).
    pub max_reassembly_bytes: usize,
    /// Block-wise transfers: the bytes the server holds for its peers (256 KiB), counted
    /// twice over: request bodies in Block1 blocks not yet complete (beyond: 4.13), and the
    /// responses kept for the follow-up requests of their Block2 blocks (beyond: the oldest
    /// are dropped). With `max_block_transfers`, this bounds the memory a peer can make the
    /// endpoint spend on block-wise transfers.
    pub max_reassembly_total: usize,
    /// Block-wise transfers: the most request bodies in Block1 blocks the server collects at
    /// a time, and the most responses it keeps for follow-up Block2 requests (16 each).
    pub max_block_transfers: usize,
    /// Block-wise transfers: the block size exponent for bodies this endpoint splits (6:
    /// 1,024 bytes), the largest block it asks for in a response split by its peer, and the
    /// largest it serves. Smaller blocks are used where the options leave less room within
    /// `max_message_size`; above 6 counts as 6.
    pub default_block_szx: u8,
    /// Observe (RFC 7641), the server side: how many observers (256 in all, 16 per client),
    /// and how often a notification goes Confirmable anyway (every 24 hours).
    pub observers: ObserversConfig,
    /// Observe, the server side: how the notifications of particular resources go, by the
    /// key given to [`Endpoint::respond_observable`](super::Endpoint::respond_observable) and
    /// [`Endpoint::notify`](super::Endpoint::notify) (empty: every resource's go
    /// [`NotificationType::AsRegistered`]). A resource with
    /// [`NotificationType::NonConfirmable`] notifies in NON messages even observers that
    /// registered with CON, with a CON at least every `observers.confirmable_interval`
    /// (RFC 7641 §4.5).
    ///
    /// ```
    /// use bytes::Bytes;
    /// use tern_coap::endpoint::EndpointConfig;
    /// use tern_coap::endpoint::observe::NotificationType;
    ///
    /// let mut config = EndpointConfig::default();
    /// config
    ///     .notification_types
    ///     .insert(Bytes::from_static(b"/obs-non"), NotificationType::NonConfirmable);
    /// ```
    pub notification_types: BTreeMap<Bytes, NotificationType>,
}

impl Default for EndpointConfig {
    fn default() -> Self {
        EndpointConfig {
            transmission: TransmissionParameters::default(),
            token_length: 8,
            piggyback_delay: Duration::from_secs(1),
            max_dedup_entries: 1_024,
            max_pending_per_peer: 16,
            max_pending_total: 256,
            overload_max_age: 2,
            max_requests: 256,
            max_message_size: 1_152,
            max_reassembly_bytes: 64 * 1_024,
            max_reassembly_total: 256 * 1_024,
            max_block_transfers: 16,
            default_block_szx: 6,
            observers: ObserversConfig::default(),
            notification_types: BTreeMap::new(),
        }
    }
}
