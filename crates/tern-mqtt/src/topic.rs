//! Topic names, topic filters, matching and shared subscriptions (MQTT 5.0 §4.7, §4.8.2).
//!
//! ```
//! use tern_mqtt::{TopicFilter, TopicName};
//!
//! let filter = TopicFilter::new("sensors/+/temperature")?;
//! assert!(filter.matches(&TopicName::new("sensors/kitchen/temperature")?));
//! assert!(!filter.matches(&TopicName::new("sensors/kitchen/humidity")?));
//!
//! // Filters starting with a wildcard do not match topics starting with '$' [MQTT-4.7.2-1].
//! assert!(!TopicFilter::new("#")?.matches(&TopicName::new("$SYS/uptime")?));
//!
//! let shared = TopicFilter::new("$share/workers/jobs/#")?;
//! let s = shared.shared().unwrap();
//! assert_eq!((s.group, s.filter), ("workers", "jobs/#"));
//! assert!(shared.matches(&TopicName::new("jobs/42")?));
//! # Ok::<(), tern_mqtt::topic::TopicError>(())
//! ```

use core::fmt;
use core::ops::Deref;

use bytes::Bytes;

use crate::string::{MqttString, StringError};

/// Why a string is not a valid topic name or topic filter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TopicError {
    /// Not a valid MQTT UTF-8 string.
    String(StringError),
    /// Topic names and filters are at least one character long [MQTT-4.7.3-1].
    Empty,
    /// A topic name contains '+' or '#' [MQTT-4.7.0-1], [MQTT-3.3.2-2].
    WildcardInName,
    /// '#' is not alone in the last level of a filter [MQTT-4.7.1-1].
    MultiLevelWildcardPlacement,
    /// '+' does not fill a whole level of a filter [MQTT-4.7.1-2].
    SingleLevelWildcardPlacement,
    /// A `$share/` filter without a share name, with '/', '+' or '#' in it, or without a
    /// filter after it [MQTT-4.8.2-1], [MQTT-4.8.2-2].
    InvalidSharedSubscription,
}

impl fmt::Display for TopicError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TopicError::String(e) => fmt::Display::fmt(e, f),
            TopicError::Empty => f.write_str("topic is empty [MQTT-4.7.3-1]"),
            TopicError::WildcardInName => {
                f.write_str("topic name contains a wildcard '+' or '#' [MQTT-4.7.0-1]")
            }
            TopicError::MultiLevelWildcardPlacement => f.write_str(
                "'#' must be the last character of a filter and alone in its level [MQTT-4.7.1-1]",
            ),
            TopicError::SingleLevelWildcardPlacement => {
                f.write_str("'+' must occupy a whole level of a filter [MQTT-4.7.1-2]")
            }
            TopicError::InvalidSharedSubscription => f.write_str(
                "shared subscription must be $share/{name}/{filter} with a non-empty name \
                 free of '/', '+' and '#' [MQTT-4.8.2-1] [MQTT-4.8.2-2]",
            ),
        }
    }
}

#[cfg(feature = "std")]
impl std::error::Error for TopicError {}

impl From<StringError> for TopicError {
    fn from(e: StringError) -> Self {
        TopicError::String(e)
    }
}

/// A topic name: what a PUBLISH is sent to. Non-empty, no wildcards.
///
/// The one exception is [`TopicName::alias_only`], the empty name of a 5.0 PUBLISH that names
/// its topic by a Topic Alias alone.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TopicName(MqttString);

impl TopicName {
    /// Validates a topic name, copying it.
    ///
    /// ```
    /// use tern_mqtt::TopicName;
    /// assert!(TopicName::new("sensors/temperature").is_ok());
    /// assert!(TopicName::new("sensors/+").is_err());
    /// ```
    pub fn new(s: &str) -> Result<Self, TopicError> {
        Self::from_string(MqttString::new(s)?)
    }

    /// Validates a `'static` topic name without copying it.
    pub fn from_static(s: &'static str) -> Result<Self, TopicError> {
        Self::from_string(MqttString::from_static(s)?)
    }

    /// Validates an already valid MQTT string as a topic name.
    pub fn from_string(s: MqttString) -> Result<Self, TopicError> {
        if s.is_empty() {
            return Err(TopicError::Empty);
        }
        validate_name(s.as_bytes())?;
        Ok(TopicName(s))
    }

    /// Validates bytes as a topic name, keeping the buffer.
    pub fn from_bytes(bytes: Bytes) -> Result<Self, TopicError> {
        Self::from_string(MqttString::from_bytes(bytes)?)
    }

    /// The empty topic name of an MQTT 5.0 PUBLISH whose topic is given by a Topic Alias
    /// (MQTT 5.0 §3.3.2.3.4). The encoder refuses it without a Topic Alias property.
    pub const fn alias_only() -> Self {
        TopicName(MqttString::empty())
    }

    /// Validates a decoded topic, which may be empty (the caller checks for a Topic Alias).
    pub(crate) fn from_wire(s: MqttString) -> Result<Self, TopicError> {
        validate_name(s.as_bytes())?;
        Ok(TopicName(s))
    }

    /// Validates the bytes of a decoded topic as an MQTT string and then as a topic name, which
    /// may be empty (the caller checks for a Topic Alias). Same checks and errors as
    /// `from_wire(MqttString::from_bytes(bytes)?)`, with one vectorised pass for the common
    /// case of plain ASCII without wildcards.
    pub(crate) fn from_wire_bytes(bytes: Bytes) -> Result<Self, TopicError> {
        if bytes.len() <= usize::from(u16::MAX) && is_plain_name(&bytes) {
            return Ok(TopicName(MqttString::from_validated(bytes)));
        }
        Self::from_wire(MqttString::from_bytes(bytes)?)
    }

    /// Wraps bytes for which [`is_plain_name`] holds.
    pub(crate) fn from_plain(bytes: Bytes) -> Self {
        TopicName(MqttString::from_validated(bytes))
    }

    /// Length in bytes.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether the name is empty ([`TopicName::alias_only`]).
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The name's bytes (without going through `str`, whose `Deref` re-checks UTF-8).
    pub fn as_bytes(&self) -> &[u8] {
        self.0.as_bytes()
    }

    /// The name as `&str`.
    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }

    /// The name as an MQTT string.
    pub fn as_mqtt_str(&self) -> &MqttString {
        &self.0
    }

    /// Gives back the underlying bytes.
    pub fn into_bytes(self) -> Bytes {
        self.0.into_bytes()
    }
}

/// Whether a byte is '+' (0x2b) or '#' (0x23): the two differ only in bit 3.
#[inline]
fn is_wildcard(b: u8) -> bool {
    b & !0x08 == b'#'
}

/// Whether any byte is '+' or '#', in one branch-free (vectorised) pass.
#[inline]
fn has_wildcard(bytes: &[u8]) -> bool {
    bytes.iter().fold(false, |acc, &b| acc | is_wildcard(b))
}

/// Whether `bytes` is plain ASCII without NUL, '+' or '#': a valid MQTT string and topic name
/// (when not empty), decided in one pass of eight bytes per step.
#[inline]
pub(crate) fn is_plain_name(bytes: &[u8]) -> bool {
    crate::string::is_plain(bytes, true)
}

fn validate_name(s: &[u8]) -> Result<(), TopicError> {
    if has_wildcard(s) {
        return Err(TopicError::WildcardInName);
    }
    Ok(())
}

/// A topic filter: what a SUBSCRIBE asks for. Non-empty, wildcards only where allowed,
/// possibly a shared subscription `$share/{group}/{filter}`.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TopicFilter(MqttString);

impl TopicFilter {
    /// Validates a topic filter, copying it.
    ///
    /// ```
    /// use tern_mqtt::TopicFilter;
    /// assert!(TopicFilter::new("sensors/#").is_ok());
    /// assert!(TopicFilter::new("sensors#").is_err());
    /// assert!(TopicFilter::new("sensors/te+").is_err());
    /// ```
    pub fn new(s: &str) -> Result<Self, TopicError> {
        Self::from_string(MqttString::new(s)?)
    }

    /// Validates a `'static` topic filter without copying it.
    pub fn from_static(s: &'static str) -> Result<Self, TopicError> {
        Self::from_string(MqttString::from_static(s)?)
    }

    /// Validates bytes as a topic filter, keeping the buffer.
    pub fn from_bytes(bytes: Bytes) -> Result<Self, TopicError> {
        Self::from_string(MqttString::from_bytes(bytes)?)
    }

    /// Validates an already valid MQTT string as a topic filter.
    pub fn from_string(s: MqttString) -> Result<Self, TopicError> {
        let bytes = s.as_bytes();
        if bytes.starts_with(SHARE_PREFIX) {
            if let Some(shared) = parse_shared(&s)? {
                validate_filter(shared.filter.as_bytes())?;
            }
        } else {
            validate_filter(bytes)?;
        }
        Ok(TopicFilter(s))
    }

    /// Validates the bytes of a decoded filter as an MQTT string and then as a topic filter:
    /// the same checks and errors as `from_string(MqttString::from_bytes(bytes)?)`, with one
    /// pass over a plain-ASCII filter for the string rules and one for its wildcards.
    pub(crate) fn from_wire_bytes(bytes: Bytes) -> Result<Self, TopicError> {
        if !bytes.is_empty()
            && bytes.len() <= usize::from(u16::MAX)
            && crate::string::is_plain_ascii(&bytes)
            && !bytes.starts_with(SHARE_PREFIX)
        {
            // A valid string and not shared: only the wildcard placement is left, which is
            // what `from_string` would check next.
            validate_filter(&bytes)?;
            return Ok(TopicFilter(MqttString::from_validated(bytes)));
        }
        Self::from_string(MqttString::from_bytes(bytes)?)
    }

    /// The filter as `&str` (including any `$share/{group}/` prefix).
    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }

    /// The filter as an MQTT string.
    pub fn as_mqtt_str(&self) -> &MqttString {
        &self.0
    }

    /// Gives back the underlying bytes.
    pub fn into_bytes(self) -> Bytes {
        self.0.into_bytes()
    }

    /// The share name and inner filter when this is a shared subscription.
    pub fn shared(&self) -> Option<SharedSubscription<'_>> {
        if !self.0.as_bytes().starts_with(SHARE_PREFIX) {
            return None;
        }
        parse_shared(&self.0).ok().flatten()
    }

    /// Length in bytes (including any `$share/{group}/` prefix).
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether the filter is empty (never, for a validated filter).
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The filter's bytes (without going through `str`, whose `Deref` re-checks UTF-8).
    pub fn as_bytes(&self) -> &[u8] {
        self.0.as_bytes()
    }

    /// The filter that topic names are matched against: without a `$share/{group}/` prefix.
    pub fn match_filter(&self) -> &str {
        match self.shared() {
            Some(s) => s.filter,
            None => self.as_str(),
        }
    }

    /// Whether the filter contains '+' or '#'.
    pub fn has_wildcards(&self) -> bool {
        self.match_filter().bytes().any(|b| b == b'+' || b == b'#')
    }

    /// Whether `name` matches this filter (a shared subscription matches like its inner filter).
    pub fn matches(&self, name: &TopicName) -> bool {
        matches(self.match_filter(), name.as_str())
    }
}

/// Checks wildcard placement: '#' only as the whole last level, '+' only as a whole level
/// [MQTT-4.7.1-1] [MQTT-4.7.1-2]. Works on bytes (wildcards and '/' are ASCII, and UTF-8
/// continuation bytes never are) and visits only the wildcards. The error is the one a
/// level-by-level check reports: the first level with a misplaced wildcard, and within it
/// '#' before '+'.
fn validate_filter(s: &[u8]) -> Result<(), TopicError> {
    if s.is_empty() {
        return Err(TopicError::Empty);
    }
    let n = s.len();
    let mut from = 0;
    while let Some(at) = crate::string::find_wildcard(s, from) {
        let starts_level = at == 0 || s.get(at - 1) == Some(&b'/');
        let is_last = at + 1 == n;
        if s.get(at) == Some(&b'#') {
            if !(starts_level && is_last) {
                return Err(TopicError::MultiLevelWildcardPlacement);
            }
        } else if !(starts_level && (is_last || s.get(at + 1) == Some(&b'/'))) {
            // A '#' later in the same level is reported first.
            let level = s.get(at..).unwrap_or_default();
            let level = level.split(|&b| b == b'/').next().unwrap_or_default();
            return Err(if level.contains(&b'#') {
                TopicError::MultiLevelWildcardPlacement
            } else {
                TopicError::SingleLevelWildcardPlacement
            });
        }
        from = at + 1;
    }
    Ok(())
}

/// The level-by-level statement of [`validate_filter`], kept to test it against.
#[cfg(test)]
fn validate_filter_by_levels(s: &str) -> Result<(), TopicError> {
    if s.is_empty() {
        return Err(TopicError::Empty);
    }
    let mut levels = s.split('/').peekable();
    while let Some(level) = levels.next() {
        if level.contains('#') && (level != "#" || levels.peek().is_some()) {
            return Err(TopicError::MultiLevelWildcardPlacement);
        }
        if level.contains('+') && level != "+" {
            return Err(TopicError::SingleLevelWildcardPlacement);
        }
    }
    Ok(())
}

/// A shared subscription's parts (MQTT 5.0 §4.8.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SharedSubscription<'a> {
    /// The share name: the group of sessions that share the messages.
    pub group: &'a str,
    /// The filter that the group subscribes to.
    pub filter: &'a str,
}

impl<'a> SharedSubscription<'a> {
    /// Parses `$share/{group}/{filter}`; `Ok(None)` when `s` is not a shared subscription.
    ///
    /// ```
    /// use tern_mqtt::SharedSubscription;
    /// let s = SharedSubscription::parse("$share/g/a/+").unwrap().unwrap();
    /// assert_eq!((s.group, s.filter), ("g", "a/+"));
    /// assert_eq!(SharedSubscription::parse("a/b").unwrap(), None);
    /// assert!(SharedSubscription::parse("$share/g").is_err());
    /// ```
    pub fn parse(s: &'a str) -> Result<Option<Self>, TopicError> {
        let shared = parse_shared(s)?;
        if let Some(sh) = shared {
            validate_filter(sh.filter.as_bytes())?;
        }
        Ok(shared)
    }
}

const SHARE_PREFIX: &[u8] = b"$share/";

fn parse_shared(s: &str) -> Result<Option<SharedSubscription<'_>>, TopicError> {
    let Some(rest) = s.strip_prefix("$share/") else {
        return Ok(None);
    };
    let (group, filter) = rest
        .split_once('/')
        .ok_or(TopicError::InvalidSharedSubscription)?;
    if group.is_empty() || group.contains(['+', '#']) || filter.is_empty() {
        return Err(TopicError::InvalidSharedSubscription);
    }
    Ok(Some(SharedSubscription { group, filter }))
}

/// Whether topic name `name` matches topic filter `filter` (MQTT 5.0 §4.7).
///
/// Both are taken as valid; a shared subscription's `$share/{group}/` prefix must already be
/// removed (see [`TopicFilter::match_filter`]). A filter starting with a wildcard does not
/// match a name starting with '$' [MQTT-4.7.2-1]; `a/#` matches `a` itself [MQTT-4.7.1-1 note].
///
/// ```
/// use tern_mqtt::topic::matches;
/// assert!(matches("sport/tennis/+", "sport/tennis/player1"));
/// assert!(matches("sport/#", "sport"));
/// assert!(matches("+/+", "/finance"));
/// assert!(!matches("sport/+", "sport/tennis/player1"));
/// assert!(!matches("+/monitor/Clients", "$SYS/monitor/Clients"));
/// ```
pub fn matches(filter: &str, name: &str) -> bool {
    if name.starts_with('$') && (filter.starts_with('+') || filter.starts_with('#')) {
        return false;
    }
    let mut f = filter.split('/');
    let mut n = name.split('/');
    loop {
        match (f.next(), n.next()) {
            (Some("#"), _) => return true,
            (Some("+"), Some(_)) => {}
            (Some(a), Some(b)) if a == b => {}
            (None, None) => return true,
            _ => return false,
        }
    }
}

macro_rules! topic_common_impls {
    ($t:ident) => {
        impl Deref for $t {
            type Target = str;
            fn deref(&self) -> &str {
                self.as_str()
            }
        }
        impl AsRef<str> for $t {
            fn as_ref(&self) -> &str {
                self.as_str()
            }
        }
        impl fmt::Debug for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Debug::fmt(self.as_str(), f)
            }
        }
        impl fmt::Display for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
        impl TryFrom<&str> for $t {
            type Error = TopicError;
            fn try_from(s: &str) -> Result<Self, TopicError> {
                $t::new(s)
            }
        }
        impl From<$t> for MqttString {
            fn from(t: $t) -> MqttString {
                t.0
            }
        }
    };
}
topic_common_impls!(TopicName);
topic_common_impls!(TopicFilter);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filter_check_agrees_with_the_level_by_level_rule() {
        // Every string over a small alphabet up to length 6.
        let alphabet = ['a', '/', '+', '#', 'é'];
        let mut current = vec![String::new()];
        for _ in 0..6 {
            let mut next = Vec::new();
            for s in &current {
                assert_eq!(
                    validate_filter(s.as_bytes()),
                    validate_filter_by_levels(s),
                    "{s:?}"
                );
                for c in alphabet {
                    next.push(format!("{s}{c}"));
                }
            }
            current = next;
        }
        // Long filters cross the eight-byte steps of the wildcard search.
        for s in [
            "factory/line-4/press-17/sensors/+",
            "factory/line-4/press-17/sensors/#",
            "factory/line-4/press-17/sensors+/x",
            "factory/line-4/press-17/sensors/+x#",
            "factory/line-4/press-17/sensors/#/",
            "factory/+/+/alarms/#",
        ] {
            assert_eq!(
                validate_filter(s.as_bytes()),
                validate_filter_by_levels(s),
                "{s:?}"
            );
        }
    }

    #[test]
    fn plain_name_check_sees_every_byte() {
        assert!(is_plain_name(
            b"factory/line-4/press-17/sensors/temperature"
        ));
        for len in [1, 7, 8, 9, 16, 43] {
            for i in 0..len {
                for bad in [b'+', b'#', 0, 0x80, 0xff] {
                    let mut v = vec![b'a'; len];
                    v[i] = bad;
                    assert!(!is_plain_name(&v), "{v:?}");
                }
                // Neighbours of the wildcards in the byte table are fine.
                for good in [b'*', b',', b'"', b'$', 0x01, 0x7f, 0x2a, 0x22, 0x03, 0x0b] {
                    let mut v = vec![b'a'; len];
                    v[i] = good;
                    assert!(is_plain_name(&v), "{v:?}");
                }
            }
        }
    }

    #[test]
    fn mqtt_4_7_3_1_empty_topics_are_invalid() {
        assert_eq!(TopicName::new(""), Err(TopicError::Empty));
        assert_eq!(TopicFilter::new(""), Err(TopicError::Empty));
    }

    #[test]
    fn mqtt_4_7_1_1_multi_level_wildcard_must_be_last_and_alone() {
        for ok in ["#", "a/#", "/#", "+/#"] {
            assert!(TopicFilter::new(ok).is_ok(), "{ok}");
        }
        for bad in ["a#", "a/#/b", "#/", "a/b#", "##"] {
            assert_eq!(
                TopicFilter::new(bad),
                Err(TopicError::MultiLevelWildcardPlacement),
                "{bad}"
            );
        }
    }

    #[test]
    fn mqtt_4_7_1_2_single_level_wildcard_must_fill_its_level() {
        for ok in ["+", "+/+", "/+", "a/+/b", "+/"] {
            assert!(TopicFilter::new(ok).is_ok(), "{ok}");
        }
        for bad in ["a+", "a/+b", "++"] {
            assert_eq!(
                TopicFilter::new(bad),
                Err(TopicError::SingleLevelWildcardPlacement),
                "{bad}"
            );
        }
    }

    #[test]
    fn mqtt_4_7_0_1_wildcards_are_not_allowed_in_topic_names() {
        assert_eq!(TopicName::new("a/+"), Err(TopicError::WildcardInName));
        assert_eq!(TopicName::new("a/#"), Err(TopicError::WildcardInName));
    }

    #[test]
    fn mqtt_4_7_2_1_dollar_topics_not_matched_by_leading_wildcards() {
        assert!(!matches("#", "$SYS/x"));
        assert!(!matches("+/x", "$SYS/x"));
        assert!(matches("$SYS/#", "$SYS/x"));
        assert!(matches("$SYS/+", "$SYS/x"));
    }

    #[test]
    fn mqtt_4_8_2_1_and_2_shared_subscription_names() {
        assert!(TopicFilter::new("$share/g/#").is_ok());
        for bad in [
            "$share/",
            "$share/g",
            "$share/g/",
            "$share//a",
            "$share/g+/a",
            "$share/#/a",
        ] {
            assert_eq!(
                TopicFilter::new(bad),
                Err(TopicError::InvalidSharedSubscription),
                "{bad}"
            );
        }
        // The inner filter follows the usual wildcard rules.
        assert_eq!(
            TopicFilter::new("$share/g/a#"),
            Err(TopicError::MultiLevelWildcardPlacement)
        );
    }

    #[test]
    fn matching_examples_from_the_specification() {
        assert!(matches("sport/tennis/player1/#", "sport/tennis/player1"));
        assert!(matches(
            "sport/tennis/player1/#",
            "sport/tennis/player1/ranking"
        ));
        assert!(matches(
            "sport/tennis/player1/#",
            "sport/tennis/player1/score/wimbledon"
        ));
        assert!(matches("sport/#", "sport"));
        assert!(matches("sport/tennis/+", "sport/tennis/player1"));
        assert!(!matches("sport/tennis/+", "sport/tennis/player1/ranking"));
        assert!(!matches("sport/+", "sport"));
        assert!(matches("sport/+", "sport/"));
        assert!(matches("+/+", "/finance"));
        assert!(matches("/+", "/finance"));
        assert!(!matches("+", "/finance"));
        assert!(!matches("ACCOUNTS", "Accounts"));
    }
}
