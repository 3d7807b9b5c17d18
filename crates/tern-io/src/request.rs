//! What the adapters' convenience methods build from strings: the same checks everywhere.

use bytes::Bytes;
use tern_mqtt::{Publish, QoS, Subscription, TopicFilter, TopicName};

use crate::Error;

/// A PUBLISH to `topic` (checked: no wildcards, valid UTF-8, not empty).
///
/// ```
/// use tern_io::{QoS, request};
///
/// let p = request::publish("sensors/temperature", "21.5", QoS::AtLeastOnce, true)?;
/// assert!(p.retain);
/// assert!(request::publish("sensors/#", "x", QoS::AtMostOnce, false).is_err());
/// # Ok::<(), tern_io::Error>(())
/// ```
pub fn publish(
    topic: &str,
    payload: impl Into<Bytes>,
    qos: QoS,
    retain: bool,
) -> Result<Publish, Error> {
    let mut publish = Publish::new(TopicName::new(topic)?, payload);
    publish.qos = qos;
    publish.retain = retain;
    Ok(publish)
}

/// Subscriptions with default options, one per `(filter, maximum QoS)`.
pub fn subscriptions(filters: &[(&str, QoS)]) -> Result<Vec<Subscription>, Error> {
    filters
        .iter()
        .map(|&(f, qos)| Ok(Subscription::new(TopicFilter::new(f)?, qos)))
        .collect()
}

/// Checked topic filters.
pub fn filters(filters: &[&str]) -> Result<Vec<TopicFilter>, Error> {
    filters
        .iter()
        .map(|f| TopicFilter::new(f).map_err(Error::from))
        .collect()
}
