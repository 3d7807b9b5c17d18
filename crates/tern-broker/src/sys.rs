//! The broker's `$SYS/broker/...` topics: its version, uptime and counters, as mosquitto names
//! them, so that dashboards and scripts written for mosquitto read them unchanged.
//!
//! The core counts into [`Stats`]; every interval it asks [`SysTopics::update`] for the
//! topics whose value changed since the last time and publishes them retained (a subscriber
//! that comes later gets the current value at once). Nothing is published for values that
//! did not change, so an idle broker sends nothing but its uptime.
//!
//! ```
//! use tern_broker::sys::{Stats, SysTopics};
//!
//! let mut sys = SysTopics::new("tern 0.1.0");
//! let mut stats = Stats::default();
//! stats.clients_connected = 2;
//! let first: Vec<_> = sys.update(&stats, 10).collect();
//! assert!(first.iter().any(|(topic, value)| *topic == "$SYS/broker/clients/connected" && value == "2"));
//! assert!(first.iter().any(|(topic, value)| *topic == "$SYS/broker/version" && value == "tern 0.1.0"));
//! // Ten seconds later only the uptime changed.
//! let next: Vec<_> = sys.update(&stats, 20).collect();
//! assert_eq!(next, [("$SYS/broker/uptime", "20 seconds".to_string())]);
//! ```

use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;

/// What the broker counts. The core updates it; [`SysTopics`] publishes it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Stats {
    /// Clients connected now.
    pub clients_connected: u64,
    /// Sessions kept for clients that are not connected.
    pub clients_disconnected: u64,
    /// The most clients connected at once.
    pub clients_maximum: u64,
    /// PUBLISH packets received.
    pub messages_received: u64,
    /// PUBLISH packets sent.
    pub messages_sent: u64,
    /// PUBLISH packets not sent: expired, or refused by a full queue of an offline session.
    pub messages_dropped: u64,
    /// Bytes read from clients.
    pub bytes_received: u64,
    /// Bytes handed to clients' connections.
    pub bytes_sent: u64,
    /// Subscriptions (one per client and filter).
    pub subscriptions: u64,
    /// Retained messages stored.
    pub retained: u64,
    /// Messages queued or in flight in all sessions.
    pub stored: u64,
}

/// How a topic takes its value from [`Stats`].
type Counter = (&'static str, fn(&Stats) -> u64);

/// The topics published, in order.
const COUNTERS: [Counter; 12] = [
    ("$SYS/broker/clients/connected", |s| s.clients_connected),
    ("$SYS/broker/clients/disconnected", |s| {
        s.clients_disconnected
    }),
    ("$SYS/broker/clients/total", |s| {
        s.clients_connected + s.clients_disconnected
    }),
    ("$SYS/broker/clients/maximum", |s| s.clients_maximum),
    ("$SYS/broker/messages/received", |s| s.messages_received),
    ("$SYS/broker/messages/sent", |s| s.messages_sent),
    ("$SYS/broker/messages/dropped", |s| s.messages_dropped),
    ("$SYS/broker/messages/stored", |s| s.stored),
    ("$SYS/broker/bytes/received", |s| s.bytes_received),
    ("$SYS/broker/bytes/sent", |s| s.bytes_sent),
    ("$SYS/broker/subscriptions/count", |s| s.subscriptions),
    ("$SYS/broker/retained messages/count", |s| s.retained),
];

/// The topic of the broker's version.
pub const VERSION_TOPIC: &str = "$SYS/broker/version";
/// The topic of the broker's uptime (`N seconds`).
pub const UPTIME_TOPIC: &str = "$SYS/broker/uptime";

/// Remembers what was published last, so that only changes go out; see the
/// [module](self).
#[derive(Debug, Clone)]
pub struct SysTopics {
    version: String,
    /// The values last published, `None` before the first update.
    last: Option<[u64; COUNTERS.len()]>,
}

impl SysTopics {
    /// Topics for a broker that calls itself `version`.
    pub fn new(version: &str) -> SysTopics {
        SysTopics {
            version: version.to_string(),
            last: None,
        }
    }

    /// The topics to publish (retained) now that the broker has run `uptime_secs` seconds:
    /// everything the first time, then the uptime and the counters that changed.
    pub fn update(
        &mut self,
        stats: &Stats,
        uptime_secs: u64,
    ) -> impl Iterator<Item = (&'static str, String)> + use<> {
        let values = COUNTERS.map(|(_, value)| value(stats));
        let mut out = Vec::with_capacity(COUNTERS.len() + 2);
        if self.last.is_none() {
            out.push((VERSION_TOPIC, self.version.clone()));
        }
        out.push((UPTIME_TOPIC, format!("{uptime_secs} seconds")));
        for (i, ((topic, _), value)) in COUNTERS.iter().zip(values).enumerate() {
            let changed = self
                .last
                .is_none_or(|last| last.get(i).is_none_or(|&v| v != value));
            if changed {
                out.push((*topic, value.to_string()));
            }
        }
        self.last = Some(values);
        out.into_iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_update_publishes_every_topic_then_only_changes() {
        let mut sys = SysTopics::new("tern 0.1.0");
        let mut stats = Stats::default();
        assert_eq!(sys.update(&stats, 0).count(), COUNTERS.len() + 2);
        stats.messages_received = 5;
        stats.bytes_received = 100;
        let topics: Vec<&str> = sys.update(&stats, 1).map(|(t, _)| t).collect();
        assert_eq!(
            topics,
            [
                UPTIME_TOPIC,
                "$SYS/broker/messages/received",
                "$SYS/broker/bytes/received"
            ]
        );
    }

    #[test]
    fn total_clients_counts_connected_and_disconnected_sessions() {
        let mut sys = SysTopics::new("v");
        let stats = Stats {
            clients_connected: 3,
            clients_disconnected: 4,
            ..Stats::default()
        };
        let total = sys
            .update(&stats, 0)
            .find(|(t, _)| *t == "$SYS/broker/clients/total")
            .map(|(_, v)| v);
        assert_eq!(total.as_deref(), Some("7"));
    }

    #[test]
    fn every_topic_is_a_valid_topic_name_under_sys() {
        let mut sys = SysTopics::new("v");
        for (topic, _) in sys.update(&Stats::default(), 0) {
            assert!(topic.starts_with("$SYS/broker/"));
            assert!(tern_mqtt::TopicName::new(topic).is_ok(), "{topic}");
        }
    }
}
