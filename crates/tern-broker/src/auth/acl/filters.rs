//! Relations between two topic filters, for checking a subscription against the rules:
//! whether one filter matches every topic the other does ([`covers`]), and whether some
//! topic matches both ([`intersects`]). Both take plain filters (no `$share/` prefix) and
//! follow the matching rules of `tern_mqtt::topic::matches`, including that a filter
//! starting with a wildcard matches no topic starting with `$` [MQTT-4.7.2-1].

use alloc::string::String;

/// Whether `filter`'s first level is `+` or `#`.
fn starts_with_wildcard(filter: &str) -> bool {
    matches!(filter.split('/').next(), Some("+" | "#"))
}

/// Whether `filter` matches only topics starting with `$` (its first level is literal and
/// starts with `$`).
fn only_dollar_topics(filter: &str) -> bool {
    filter.starts_with('$')
}

/// Whether every topic name that `inner` matches is also matched by `outer`.
///
/// Level by level: `#` in `outer` covers whatever is left (even nothing: `a/#` matches
/// `a`); `+` in `outer` covers any one level of `inner`, `+` included; a literal covers only
/// the same literal. `#` in `inner` is covered only by `#`, and `+` in `inner` only by `+`
/// or `#`. A wildcard first level of `outer` does not cover `$` topics.
pub(super) fn covers(outer: &str, inner: &str) -> bool {
    if only_dollar_topics(inner) && starts_with_wildcard(outer) {
        return false;
    }
    let mut o = outer.split('/');
    let mut i = inner.split('/');
    loop {
        match (o.next(), i.next()) {
            (Some("#"), _) | (None, None) => return true,
            (Some(_), None) | (None, Some(_)) | (Some(_), Some("#")) => return false,
            (Some("+"), Some(_)) => {}
            (Some(a), Some(b)) if a == b => {}
            (Some(_), Some(_)) => return false,
        }
    }
}

/// Whether some topic name is matched by both `a` and `b`.
///
/// Level by level: `#` on either side takes any rest, `+` takes the other side's level
/// (whatever it is, a topic level can be chosen to fit), and two literals must be equal.
/// A filter starting with a wildcard shares no topic with one that matches only `$`
/// topics.
pub(super) fn intersects(a: &str, b: &str) -> bool {
    if (starts_with_wildcard(a) && only_dollar_topics(b))
        || (starts_with_wildcard(b) && only_dollar_topics(a))
    {
        return false;
    }
    let mut x = a.split('/');
    let mut y = b.split('/');
    loop {
        match (x.next(), y.next()) {
            (Some("#"), _) | (_, Some("#")) | (None, None) => return true,
            (Some(_), None) | (None, Some(_)) => return false,
            (Some("+"), Some(_)) | (Some(_), Some("+")) => {}
            (Some(p), Some(q)) if p == q => {}
            (Some(_), Some(_)) => return false,
        }
    }
}

/// Whether `value` may be put into a pattern's filter (`at_start`: as its first characters).
fn usable_value(value: &str, at_start: bool) -> bool {
    // '+', '#' and '/' would turn a client's name into wildcards or extra levels (a client
    // id "#" must not turn `%c/#` into `#/#`-like grants); an empty value would leave an
    // empty level that names nobody; and a '$' at the start of the filter would reach the
    // broker's own `$` topics (a client id "$SYS" must not turn `%c/#` into `$SYS/#`).
    let dollar_at_start = at_start && value.starts_with('$');
    !(value.is_empty() || value.contains(['+', '#', '/']) || dollar_at_start)
}

/// The filter of a pattern rule for one client: `%c` replaced by the client id and `%u` by
/// the user name. `None` when the rule cannot apply: it names `%u` and the client has no
/// user name, or a substituted value fails [`usable_value`]. Any other `%` is literal.
pub(super) fn substitute(template: &str, client_id: &str, user: Option<&str>) -> Option<String> {
    let mut out = String::with_capacity(template.len() + client_id.len());
    let mut rest = template;
    while let Some((before, after)) = rest.split_once('%') {
        out.push_str(before);
        let value = match after.chars().next() {
            Some('c') => client_id,
            Some('u') => user?,
            _ => {
                out.push('%');
                rest = after;
                continue;
            }
        };
        if !usable_value(value, out.is_empty()) {
            return None;
        }
        out.push_str(value);
        // 'c' and 'u' are one byte long.
        rest = after.get(1..).unwrap_or_default();
    }
    out.push_str(rest);
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use tern_mqtt::topic::matches;

    #[test]
    fn covers_table() {
        let cases: &[(&str, &str, bool)] = &[
            ("#", "#", true),
            ("#", "a", true),
            ("#", "a/b/#", true),
            ("#", "+/+", true),
            ("#", "/", true),
            ("a/#", "a", true),
            ("a/#", "a/#", true),
            ("a/#", "a/+/c", true),
            ("a/#", "#", false),
            ("a/#", "b/#", false),
            ("a/+", "a/b", true),
            ("a/+", "a/+", true),
            ("a/+", "a/#", false),
            ("a/+", "a", false),
            ("a/+", "a/b/c", false),
            ("a/b", "a/+", false),
            ("a/b", "a/b", true),
            ("a/b", "a/b/c", false),
            ("+/+", "a/b", true),
            ("+/+", "+/b", true),
            ("+/+", "a/#", false),
            ("+/#", "a", true),
            ("+", "", true),
            ("+/b", "/b", true),
            ("a", "a/#", false),
            ("a/+/#", "a", false),
            ("a/+/#", "a/b", true),
            // The '$' rule: wildcards at the first level do not reach '$' topics.
            ("#", "$SYS/#", false),
            ("+/broker/#", "$SYS/broker/uptime", false),
            ("$SYS/#", "$SYS/broker/uptime", true),
            ("$SYS/+/uptime", "$SYS/broker/uptime", true),
            ("$SYS/#", "#", false),
            ("#", "+/x", true),
        ];
        for (outer, inner, expected) in cases {
            assert_eq!(
                covers(outer, inner),
                *expected,
                "covers({outer:?}, {inner:?})"
            );
        }
    }

    #[test]
    fn intersects_table() {
        let cases: &[(&str, &str, bool)] = &[
            ("#", "a", true),
            ("#", "#", true),
            ("a/#", "a", true),
            ("a/#", "b", false),
            ("a/+", "+/b", true),
            ("a/+", "a", false),
            ("a/+", "a/b/c", false),
            ("a/+/c", "a/b/+", true),
            ("a/b", "a/c", false),
            ("+", "/", false),
            ("+/+", "/", true),
            ("#", "$SYS/x", false),
            ("+/x", "$SYS/x", false),
            ("$SYS/#", "$SYS/x", true),
            ("$SYS/#", "#", false),
            ("+", "+", true),
        ];
        for (a, b, expected) in cases {
            assert_eq!(intersects(a, b), *expected, "intersects({a:?}, {b:?})");
            assert_eq!(intersects(b, a), *expected, "intersects({b:?}, {a:?})");
        }
    }

    #[test]
    fn substitution_table() {
        let cases: &[(&str, &str, Option<&str>, Option<&str>)] = &[
            ("d/%c/x", "dev1", None, Some("d/dev1/x")),
            ("u/%u/#", "c", Some("alice"), Some("u/alice/#")),
            ("u/%u/#", "c", None, None),
            ("%u/%c", "c1", Some("bob"), Some("bob/c1")),
            ("pre-%c-post", "x", None, Some("pre-x-post")),
            ("a/%c", "dev1", Some("ignored"), Some("a/dev1")),
            // Any other '%' is literal, even at the end.
            ("100%/%x/%", "c", None, Some("100%/%x/%")),
            ("%%c", "c", None, Some("%c")),
            // Values that would change the filter's structure make the rule not apply.
            ("d/%c", "+", None, None),
            ("d/%c", "#", None, None),
            ("d/%c", "a/b", None, None),
            ("d/%c/x", "a+", None, None),
            ("d/%u", "c", Some("a/#"), None),
            ("d/%u", "c", Some(""), None),
            ("d/%c", "", None, None),
            ("%c/#", "$SYS", None, None),
            ("d/%c", "$SYS", None, Some("d/$SYS")),
            ("x%c", "$y", None, Some("x$y")),
            ("d/%c", "caf\u{e9}", None, Some("d/caf\u{e9}")),
        ];
        for (template, client, user, expected) in cases {
            assert_eq!(
                substitute(template, client, *user).as_deref(),
                *expected,
                "substitute({template:?}, {client:?}, {user:?})"
            );
        }
    }

    fn filter() -> impl Strategy<Value = String> {
        let level = prop::sample::select(vec!["a", "b", "", "+", "$s"]);
        (prop::collection::vec(level, 1..4), any::<bool>()).prop_map(|(levels, hash)| {
            let mut levels = levels;
            if hash {
                levels.push("#");
            }
            // '$' only makes sense as the start of a first level.
            levels
                .iter()
                .enumerate()
                .map(|(i, l)| if i > 0 && *l == "$s" { "s" } else { l })
                .collect::<Vec<_>>()
                .join("/")
        })
    }

    fn topic() -> impl Strategy<Value = String> {
        let level = prop::sample::select(vec!["a", "b", "", "s", "$s"]);
        prop::collection::vec(level, 1..5).prop_map(|levels| levels.join("/"))
    }

    proptest! {
        /// `covers` never claims a topic that `outer` does not match.
        #[test]
        fn covers_is_sound(outer in filter(), inner in filter(), topics in prop::collection::vec(topic(), 0..40)) {
            if covers(&outer, &inner) {
                for t in topics.iter().filter(|t| matches(&inner, t)) {
                    prop_assert!(matches(&outer, t), "{outer} covers {inner} but misses {t}");
                }
            }
        }

        /// `intersects` finds every shared topic.
        #[test]
        fn intersects_is_complete(a in filter(), b in filter(), t in topic()) {
            if matches(&a, &t) && matches(&b, &t) {
                prop_assert!(intersects(&a, &b), "{a} and {b} share {t}");
            }
        }

        /// A filter covers itself and anything it covers shares a topic with it.
        #[test]
        fn covers_is_reflexive_and_implies_intersects(a in filter(), b in filter()) {
            prop_assert!(covers(&a, &a));
            if covers(&a, &b) {
                prop_assert!(intersects(&a, &b));
            }
        }
    }
}
