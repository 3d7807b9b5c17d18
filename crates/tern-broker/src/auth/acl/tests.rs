use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

use proptest::prelude::*;
use tern_mqtt::{TopicFilter, TopicName};

use super::*;

fn topic(t: &str) -> TopicName {
    TopicName::new(t).unwrap()
}

fn filter(f: &str) -> TopicFilter {
    TopicFilter::new(f).unwrap()
}

fn publish(acl: &Acl, client: &str, user: Option<&str>, t: &str) -> bool {
    acl.check_publish(client, user, &topic(t))
}

fn receive(acl: &Acl, client: &str, user: Option<&str>, t: &str) -> bool {
    acl.check_receive(client, user, &topic(t))
}

fn subscribe(acl: &Acl, client: &str, user: Option<&str>, f: &str) -> bool {
    acl.check_subscribe(client, user, &filter(f))
}

#[test]
fn parse_errors_carry_the_line() {
    let cases: &[(&str, usize, AclErrorKind)] = &[
        ("topics a", 1, AclErrorKind::UnknownKeyword),
        ("Topic a", 1, AclErrorKind::UnknownKeyword),
        ("# ok\n\nuser\n", 3, AclErrorKind::MissingUser),
        ("user   \n", 1, AclErrorKind::MissingUser),
        ("topic", 1, AclErrorKind::MissingFilter),
        ("topic read", 1, AclErrorKind::MissingFilter),
        ("pattern deny   ", 1, AclErrorKind::MissingFilter),
        (
            "topic a\ntopic read a/#/b",
            2,
            AclErrorKind::InvalidFilter(TopicError::MultiLevelWildcardPlacement),
        ),
        (
            "pattern write a/%c+",
            1,
            AclErrorKind::InvalidFilter(TopicError::SingleLevelWildcardPlacement),
        ),
        ("topic read $share/g/a/#", 1, AclErrorKind::SharedFilter),
        (
            "topic read $share/g",
            1,
            AclErrorKind::InvalidFilter(TopicError::InvalidSharedSubscription),
        ),
    ];
    for (text, line, kind) in cases {
        let err = Acl::parse(text).unwrap_err();
        assert_eq!((err.line, err.kind), (*line, *kind), "{text:?}");
    }
}

#[test]
fn parse_accepts_comments_blank_lines_and_crlf() {
    let acl = Acl::parse(
        "# c\r\n\r\n   # indented\r\n  topic   read   a/b  \r\nuser  bob smith \r\ntopic x\r\n",
    )
    .unwrap();
    assert_eq!(
        acl.anonymous,
        [Rule {
            access: Access::Read,
            filter: "a/b".into()
        }]
    );
    assert_eq!(
        acl.users.get("bob smith").map(Vec::as_slice),
        Some(
            &[Rule {
                access: Access::ReadWrite,
                filter: "x".into()
            }][..]
        )
    );
}

#[test]
fn access_word_is_optional_and_filters_may_hold_spaces() {
    let acl = Acl::parse("topic a b/c\ntopic write read\ntopic readwrite write\n").unwrap();
    // "topic a b/c": no access word, so the filter is "a b/c" with read and write.
    assert!(receive(&acl, "c", None, "a b/c") && publish(&acl, "c", None, "a b/c"));
    // A topic named like an access word needs the access word first.
    assert!(publish(&acl, "c", None, "read") && !receive(&acl, "c", None, "read"));
    assert!(publish(&acl, "c", None, "write") && receive(&acl, "c", None, "write"));
}

#[test]
fn empty_acl_denies_everything() {
    let acl = Acl::parse("# nothing\n").unwrap();
    assert_eq!(acl, Acl::default());
    assert!(!publish(&acl, "c", None, "a"));
    assert!(!receive(&acl, "c", Some("u"), "a"));
    assert!(!subscribe(&acl, "c", None, "#"));
}

/// One row per (rule, operation, topic or filter): the access table.
#[test]
fn access_table() {
    let cases: &[(&str, &str, &str, bool)] = &[
        // rule, operation, topic or filter, allowed
        ("topic read a/#", "receive", "a/b", true),
        ("topic read a/#", "receive", "a", true),
        ("topic read a/#", "publish", "a/b", false),
        ("topic read a/#", "subscribe", "a/+", true),
        ("topic read a/#", "subscribe", "a/#", true),
        ("topic read a/#", "subscribe", "#", false),
        ("topic write a/#", "publish", "a/b", true),
        ("topic write a/#", "receive", "a/b", false),
        ("topic write a/#", "subscribe", "a/b", false),
        ("topic readwrite a/+", "publish", "a/b", true),
        ("topic readwrite a/+", "receive", "a/b", true),
        ("topic readwrite a/+", "receive", "a/b/c", false),
        ("topic readwrite a/+", "subscribe", "a/b", true),
        ("topic readwrite a/+", "subscribe", "a/+", true),
        ("topic readwrite a/+", "subscribe", "a/#", false),
        ("topic a/+", "publish", "a/b", true),
        ("topic a/+", "receive", "a/b", true),
        ("topic deny a/#", "publish", "a/b", false),
        ("topic deny a/#", "receive", "a/b", false),
        ("topic deny a/#", "subscribe", "a/b", false),
        ("topic read +/b", "receive", "/b", true),
        ("topic read +/b", "subscribe", "+/b", true),
        ("topic read +/b", "subscribe", "a/+", false),
        // Shared subscriptions are checked on the inner filter.
        ("topic read a/#", "subscribe", "$share/g/a/+", true),
        ("topic read a/#", "subscribe", "$share/g/#", false),
        // $SYS and other '$' topics.
        ("topic read #", "receive", "$SYS/broker/uptime", false),
        ("topic read #", "subscribe", "$SYS/#", false),
        (
            "topic read +/broker/uptime",
            "receive",
            "$SYS/broker/uptime",
            false,
        ),
        ("topic read $SYS/#", "receive", "$SYS/broker/uptime", true),
        ("topic read $SYS/#", "subscribe", "$SYS/broker/+", true),
        ("topic read $SYS/#", "subscribe", "$SYS/#", true),
        ("topic read $SYS/#", "subscribe", "#", false),
        (
            "topic read $SYS/broker/+",
            "subscribe",
            "$SYS/broker/#",
            false,
        ),
        ("topic write #", "publish", "$SYS/broker/uptime", false),
        // Case matters, as it does for topics.
        ("topic read A/#", "receive", "a/b", false),
    ];
    for (rules, op, target, expected) in cases {
        let acl = Acl::parse(rules).unwrap();
        let got = match *op {
            "publish" => publish(&acl, "c", None, target),
            "receive" => receive(&acl, "c", None, target),
            "subscribe" => subscribe(&acl, "c", None, target),
            _ => unreachable!(),
        };
        assert_eq!(got, *expected, "{rules:?} {op} {target:?}");
    }
}

#[test]
fn deny_wins_whatever_the_order() {
    for rules in [
        "topic readwrite a/#\ntopic deny a/secret/#\n",
        "topic deny a/secret/#\ntopic readwrite a/#\n",
        "pattern deny a/secret/#\ntopic readwrite a/#\n",
        "topic deny a/secret/#\npattern readwrite a/#\n",
    ] {
        let acl = Acl::parse(rules).unwrap();
        assert!(publish(&acl, "c", None, "a/open"), "{rules}");
        assert!(receive(&acl, "c", None, "a/open"), "{rules}");
        assert!(!publish(&acl, "c", None, "a/secret/x"), "{rules}");
        assert!(!receive(&acl, "c", None, "a/secret"), "{rules}");
        assert!(subscribe(&acl, "c", None, "a/open/#"), "{rules}");
        // Each of these could deliver a denied topic.
        for f in ["a/#", "a/+", "a/+/x", "+/secret", "#"] {
            assert!(!subscribe(&acl, "c", None, f), "{rules} {f}");
        }
    }
}

#[test]
fn sections_apply_to_their_clients_only() {
    let acl = Acl::parse(
        "topic read anon/#\n\
         user alice\n\
         topic readwrite alice/#\n\
         user bob\n\
         topic readwrite bob/#\n\
         user alice\n\
         topic read shared/#\n",
    )
    .unwrap();
    assert!(receive(&acl, "c", None, "anon/x"));
    assert!(!receive(&acl, "c", None, "alice/x"));
    // Anonymous rules are not for clients with a user name, listed or not.
    assert!(!receive(&acl, "c", Some("alice"), "anon/x"));
    assert!(!receive(&acl, "c", Some("carol"), "anon/x"));
    assert!(!receive(&acl, "c", Some("carol"), "alice/x"));
    assert!(publish(&acl, "c", Some("alice"), "alice/x"));
    assert!(!publish(&acl, "c", Some("alice"), "bob/x"));
    assert!(publish(&acl, "c", Some("bob"), "bob/x"));
    // A second section of the same user adds to the first.
    assert!(receive(&acl, "c", Some("alice"), "shared/x"));
    assert!(!receive(&acl, "c", Some("bob"), "shared/x"));
    // User names are compared exactly, and an empty user name is not anonymous.
    assert!(!publish(&acl, "c", Some("Alice"), "alice/x"));
    assert!(!receive(&acl, "c", Some(""), "anon/x"));
}

#[test]
fn patterns_apply_to_everyone_wherever_they_stand() {
    let acl = Acl::parse(
        "user alice\n\
         pattern write devices/%c/status\n\
         pattern read inbox/%u/#\n\
         user bob\n",
    )
    .unwrap();
    assert!(publish(&acl, "dev1", None, "devices/dev1/status"));
    assert!(publish(&acl, "dev1", Some("bob"), "devices/dev1/status"));
    assert!(!publish(&acl, "dev1", None, "devices/dev2/status"));
    assert!(receive(&acl, "c", Some("carol"), "inbox/carol/1"));
    assert!(!receive(&acl, "c", Some("carol"), "inbox/alice/1"));
    // No user name: %u rules do not apply.
    assert!(!receive(&acl, "c", None, "inbox/%u/1"));
    assert!(subscribe(&acl, "c", Some("carol"), "inbox/carol/+"));
    assert!(!subscribe(&acl, "c", Some("carol"), "inbox/+/x"));
}

#[test]
fn topic_rules_do_not_substitute() {
    let acl = Acl::parse("topic read inbox/%u\n").unwrap();
    assert!(receive(&acl, "c", None, "inbox/%u"));
    assert!(!receive(&acl, "c", Some("alice"), "inbox/alice"));
}

/// Client ids and user names that try to widen a pattern's grant.
#[test]
fn injection_through_client_id_or_user_name() {
    let acl = Acl::parse(
        "pattern readwrite devices/%c/#\n\
         pattern readwrite %u/private\n\
         pattern read %c/#\n",
    )
    .unwrap();
    let cases: &[(&str, Option<&str>, &str, &str, bool)] = &[
        // client, user, operation, topic or filter, allowed
        ("dev1", None, "publish", "devices/dev1/x", true),
        ("dev1", None, "subscribe", "devices/dev1/#", true),
        // A client id of "#" or "+" would grant every device.
        ("#", None, "publish", "devices/dev2/x", false),
        ("#", None, "subscribe", "devices/#", false),
        ("+", None, "publish", "devices/dev2/x", false),
        ("+", None, "subscribe", "devices/+/#", false),
        // A client id with '/' would reach another device's levels.
        ("dev2/x", None, "publish", "devices/dev2/x", false),
        ("dev2/x", None, "publish", "devices/dev2/x/y", false),
        ("a/b", None, "receive", "a/b", false),
        // Wildcards inside a level are refused too (the rule is skipped entirely).
        ("dev+", None, "subscribe", "devices/#", false),
        // '$' at the start of the filter would reach the broker's topics.
        ("$SYS", None, "receive", "$SYS/broker/uptime", false),
        ("$SYS", None, "subscribe", "$SYS/#", false),
        // ... but inside a filter it is an ordinary character.
        ("$dev", None, "publish", "devices/$dev/x", true),
        // An empty client id names nothing.
        ("", None, "publish", "devices//x", false),
        // The same for user names.
        ("c", Some("alice"), "publish", "alice/private", true),
        ("c", Some("#"), "publish", "alice/private", false),
        ("c", Some("+"), "subscribe", "+/private", false),
        ("c", Some("a/b"), "publish", "a/b/private", false),
        ("c", Some("$SYS"), "publish", "$SYS/private", false),
        ("c", Some(""), "publish", "/private", false),
    ];
    for (client, user, op, target, expected) in cases {
        let got = match *op {
            "publish" => publish(&acl, client, *user, target),
            "receive" => receive(&acl, client, *user, target),
            "subscribe" => subscribe(&acl, client, *user, target),
            _ => unreachable!(),
        };
        assert_eq!(
            got, *expected,
            "client {client:?} user {user:?} {op} {target:?}"
        );
    }
}

#[test]
fn alias_only_topic_is_denied() {
    let acl = Acl::parse("topic readwrite #\n").unwrap();
    let empty = TopicName::alias_only();
    assert!(!acl.check_publish("c", None, &empty));
    assert!(!acl.check_receive("c", None, &empty));
}

// The model for the property test: a random ACL over a small alphabet of levels, users and
// client ids (some of them hostile).

const LEVELS: &[&str] = &["a", "b", "", "+", "#", "$s", "%c", "%u"];
const NAMES: &[&str] = &["a", "b", "+", "#", "a/b", "", "$s"];

fn rule_filter() -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(LEVELS), 1..4).prop_map(|levels| {
        let n = levels.len();
        let filter = levels
            .iter()
            .enumerate()
            .map(|(i, l)| match *l {
                // Keep the filter valid: '#' last, '$' only at the start.
                "#" if i + 1 < n => "+",
                "$s" if i > 0 => "s",
                l => l,
            })
            .collect::<Vec<_>>()
            .join("/");
        // A filter is never empty.
        if filter.is_empty() {
            String::from("a")
        } else {
            filter
        }
    })
}

fn acl_text() -> impl Strategy<Value = String> {
    let access = prop::sample::select(&["read ", "write ", "readwrite ", "deny ", ""][..]);
    let line = (
        prop::sample::select(&["topic", "pattern", "user"][..]),
        access,
        rule_filter(),
        prop::sample::select(&["alice", "bob"][..]),
    )
        .prop_map(|(keyword, access, filter, user)| match keyword {
            "user" => format!("user {user}"),
            k => format!("{k} {access}{filter}"),
        });
    prop::collection::vec(line, 0..8).prop_map(|lines| lines.join("\n"))
}

fn sub_filter() -> impl Strategy<Value = String> {
    (rule_filter(), any::<bool>()).prop_map(|(f, shared)| {
        let f = f.replace("%c", "c").replace("%u", "u");
        if shared { format!("$share/g/{f}") } else { f }
    })
}

/// The topics `filter` could match, built from it by filling its wildcards.
fn topics_of(filter: &str, fill: &[u8]) -> Vec<String> {
    let fills = ["a", "b", "", "c", "u", "$s"];
    let mut out = Vec::new();
    for (k, seed) in fill.iter().enumerate() {
        let mut pick = usize::from(*seed);
        let mut next = || {
            pick = pick.wrapping_mul(31).wrapping_add(k + 7);
            fills[pick % fills.len()]
        };
        let mut levels = Vec::new();
        for level in filter.split('/') {
            match level {
                "+" => levels.push(String::from(next())),
                "#" => {
                    for _ in 0..(usize::from(*seed) % 3) {
                        levels.push(String::from(next()));
                    }
                }
                l => levels.push(String::from(l)),
            }
        }
        let t = levels.join("/");
        if !t.is_empty() {
            out.push(t);
        }
    }
    out
}

proptest! {
    /// If a subscription is allowed, every message it could bring is allowed at delivery.
    #[test]
    fn subscribe_allowed_implies_receive_allowed(
        text in acl_text(),
        sub in sub_filter(),
        client in prop::sample::select(NAMES),
        user in prop::option::of(prop::sample::select(NAMES)),
        fill in prop::collection::vec(any::<u8>(), 1..24),
    ) {
        let acl = Acl::parse(&text).unwrap();
        let f = TopicFilter::new(&sub).unwrap();
        if acl.check_subscribe(client, user, &f) {
            for t in topics_of(f.match_filter(), &fill) {
                let name = TopicName::new(&t).unwrap();
                if f.matches(&name) {
                    prop_assert!(
                        acl.check_receive(client, user, &name),
                        "ACL:\n{text}\nsubscribe {sub} allowed for {client:?}/{user:?} but not {t}"
                    );
                }
            }
        }
    }

    /// Whatever the text, parsing returns an ACL or an error, and never panics.
    #[test]
    fn parse_never_panics(text in "[a-z %#+/$\n]{0,80}") {
        let _ = Acl::parse(&text);
    }
}
