//! Topic validation and matching against a reference written from the specification.
//!
//! Input: `filter NUL name` as raw bytes (no NUL: the whole input is both the filter and the
//! name). The filter can therefore never hold U+0000; the name can, and must then be refused.
//!
//! Checks: `TopicName`, `TopicFilter` and `SharedSubscription` parsing never panics and accepts
//! exactly what the reference accepts (from `&str` and from raw bytes alike); when both are
//! valid, `TopicFilter::matches` and `topic::matches` agree with the reference matcher.
#![no_main]

use bytes::Bytes;
use libfuzzer_sys::fuzz_target;
use tern_mqtt::topic::{self, SharedSubscription};
use tern_mqtt::{TopicFilter, TopicName};

fuzz_target!(|data: &[u8]| {
    let (filter, name) = match data.iter().position(|&b| b == 0) {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (data, data),
    };

    let name_ok = reference::valid_string(name) && reference::valid_name(name);
    let parsed_name = TopicName::from_bytes(Bytes::copy_from_slice(name));
    assert_eq!(
        parsed_name.is_ok(),
        name_ok,
        "TopicName {parsed_name:?} for {name:?}"
    );

    let filter_ok = reference::valid_string(filter) && reference::valid_filter(filter);
    let parsed_filter = TopicFilter::from_bytes(Bytes::copy_from_slice(filter));
    assert_eq!(
        parsed_filter.is_ok(),
        filter_ok,
        "TopicFilter {parsed_filter:?} for {filter:?}"
    );

    if let Ok(s) = core::str::from_utf8(filter) {
        assert_eq!(
            TopicFilter::new(s).is_ok(),
            filter_ok,
            "TopicFilter::new({s:?})"
        );
        // `SharedSubscription::parse` takes a `&str` and checks the shared form and the inner
        // filter's wildcards, not the string rules.
        let shared = SharedSubscription::parse(s);
        match reference::split_shared(filter) {
            None => assert_eq!(shared, Ok(None), "{s:?} is not shared"),
            Some(Some((group, inner))) if reference::plain_filter(inner) => {
                let got = shared.unwrap_or_else(|e| panic!("{s:?} refused: {e}"));
                let got = got.expect("a shared subscription");
                assert_eq!(
                    (got.group.as_bytes(), got.filter.as_bytes()),
                    (group, inner)
                );
            }
            Some(_) => assert!(shared.is_err(), "{s:?} accepted as {shared:?}"),
        }
    }
    if let Ok(s) = core::str::from_utf8(name) {
        assert_eq!(TopicName::new(s).is_ok(), name_ok, "TopicName::new({s:?})");
    }

    let (Ok(f), Ok(n)) = (parsed_filter, parsed_name) else {
        return;
    };
    let inner = match reference::split_shared(filter) {
        Some(Some((_, inner))) => inner,
        _ => filter,
    };
    let expected = reference::matches(inner, name);
    assert_eq!(f.matches(&n), expected, "{f:?} matching {n:?}");
    assert_eq!(f.match_filter().as_bytes(), inner);
    assert_eq!(topic::matches(f.match_filter(), n.as_str()), expected);
    let _ = (f.shared(), f.has_wildcards());
});

/// MQTT 5.0 §1.5.4, §4.7 and §4.8.2, written out level by level without the library's code.
mod reference {
    /// §1.5.4: well-formed UTF-8 without U+0000, at most 65,535 bytes.
    pub(crate) fn valid_string(s: &[u8]) -> bool {
        s.len() <= 65_535 && !s.contains(&0) && core::str::from_utf8(s).is_ok()
    }

    fn levels(s: &[u8]) -> Vec<&[u8]> {
        s.split(|&b| b == b'/').collect()
    }

    /// [MQTT-4.7.3-1] not empty; [MQTT-4.7.0-1] no wildcard characters.
    pub(crate) fn valid_name(s: &[u8]) -> bool {
        !s.is_empty() && !s.iter().any(|&b| b == b'+' || b == b'#')
    }

    /// [MQTT-4.7.3-1] not empty; a shared subscription is valid as a whole; otherwise every
    /// level is "+", or "#" as the last level, or free of wildcards ([MQTT-4.7.1-1],
    /// [MQTT-4.7.1-2]).
    pub(crate) fn valid_filter(s: &[u8]) -> bool {
        match split_shared(s) {
            Some(Some((_, inner))) => plain_filter(inner),
            Some(None) => false,
            None => plain_filter(s),
        }
    }

    /// A filter without the shared-subscription rules, as the inner filter of `$share/g/...`
    /// is read (so `$share/g/$share/h/x` subscribes to the literal levels `$share/h/x`).
    pub(crate) fn plain_filter(s: &[u8]) -> bool {
        if s.is_empty() {
            return false;
        }
        let levels = levels(s);
        let last = levels.len() - 1;
        levels.iter().enumerate().all(|(i, level)| match *level {
            b"+" => true,
            b"#" => i == last,
            l => !l.iter().any(|&b| b == b'+' || b == b'#'),
        })
    }

    /// §4.8.2: `None` when `s` does not start with `$share/`; `Some(None)` when it does but the
    /// share name is empty or holds '+' or '#' [MQTT-4.8.2-2], or nothing follows it
    /// [MQTT-4.8.2-1]; else the share name and the filter.
    pub(crate) fn split_shared(s: &[u8]) -> Option<Option<(&[u8], &[u8])>> {
        let rest = s.strip_prefix(b"$share/")?;
        let Some(slash) = rest.iter().position(|&b| b == b'/') else {
            return Some(None);
        };
        let (group, inner) = (&rest[..slash], &rest[slash + 1..]);
        let bad_group = group.is_empty() || group.iter().any(|&b| b == b'+' || b == b'#');
        Some((!bad_group && !inner.is_empty()).then_some((group, inner)))
    }

    /// §4.7: level by level. "+" takes exactly one level, "#" the rest including none (so
    /// `a/#` matches `a`), anything else must be equal. A filter whose first level is a
    /// wildcard does not match a name starting with '$' [MQTT-4.7.2-1].
    pub(crate) fn matches(filter: &[u8], name: &[u8]) -> bool {
        let first_is_wildcard = matches!(levels(filter).first(), Some(&(b"+" | b"#")));
        if name.first() == Some(&b'$') && first_is_wildcard {
            return false;
        }
        levels_match(&levels(filter), &levels(name))
    }

    fn levels_match(filter: &[&[u8]], name: &[&[u8]]) -> bool {
        match (filter, name) {
            ([], []) => true,
            ([b"#"], _) => true,
            ([b"+", f @ ..], [_, n @ ..]) => levels_match(f, n),
            ([a, f @ ..], [b, n @ ..]) => a == b && levels_match(f, n),
            _ => false,
        }
    }
}
