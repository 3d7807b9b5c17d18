//! The retained store against a naive model: a map from topic to message, filtered with
//! `tern_mqtt::topic::matches`, over random sets, clears, removals, expiry and limits on
//! topics and filters from a small alphabet of levels.

use std::collections::BTreeMap;
use std::time::Duration;

use proptest::prelude::*;
use tern_broker::retained::{Change, RetainedError, RetainedLimits, RetainedStore};
use tern_mqtt::topic::matches;
use tern_mqtt::{Publish, TopicFilter, TopicName};
use tern_time::Instant;

const LEVELS: &[&str] = &["a", "b", "$SYS", ""];

fn level() -> impl Strategy<Value = String> {
    prop::sample::select(LEVELS).prop_map(String::from)
}

fn topic() -> impl Strategy<Value = String> {
    prop::collection::vec(level(), 1..5)
        .prop_map(|levels| levels.join("/"))
        .prop_filter("a topic is at least one character long", |t| !t.is_empty())
}

fn filter() -> impl Strategy<Value = String> {
    let filter_level = prop_oneof![3 => level(), 1 => Just("+".to_owned())];
    (prop::collection::vec(filter_level, 0..5), any::<bool>())
        .prop_map(|(mut levels, hash)| {
            if hash || levels.is_empty() {
                levels.push("#".to_owned());
            }
            levels.join("/")
        })
        .prop_filter("a filter is at least one character long", |f| !f.is_empty())
}

fn at(ms: u64) -> Instant {
    Instant::ZERO + Duration::from_millis(ms)
}

#[derive(Debug, Clone)]
enum Op {
    Set(String, &'static str, Option<u64>),
    Remove(String),
    RemoveExpired(u64),
    Matching(String, u64),
}

fn op() -> impl Strategy<Value = Op> {
    let payload = prop::sample::select(&["", "x", "yy", "zzzz"][..]);
    prop_oneof![
        5 => (topic(), payload, prop::option::of(0..20u64)).prop_map(|(t, p, e)| Op::Set(t, p, e)),
        1 => topic().prop_map(Op::Remove),
        1 => (0..20u64).prop_map(Op::RemoveExpired),
        4 => (filter(), 0..20u64).prop_map(|(f, now)| Op::Matching(f, now)),
    ]
}

fn limits() -> impl Strategy<Value = RetainedLimits> {
    prop_oneof![
        1 => Just(RetainedLimits::UNLIMITED),
        2 => (0..8usize, 0..40usize).prop_map(|(max_messages, max_bytes)| RetainedLimits {
            max_messages,
            max_bytes,
        }),
    ]
}

/// topic -> (payload, expiry in ms)
type Model = BTreeMap<String, (&'static str, Option<u64>)>;

fn model_bytes(model: &Model) -> usize {
    model.iter().map(|(t, (p, _))| t.len() + p.len()).sum()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn matching_agrees_with_naive_filtering(
        limits in limits(),
        ops in prop::collection::vec(op(), 1..60),
    ) {
        let mut store = RetainedStore::with_limits(limits);
        let mut model = Model::new();
        let mut out = Vec::new();
        for op in ops {
            match op {
                Op::Set(t, payload, expiry) => {
                    let publish = Publish::new(TopicName::new(&t).unwrap(), payload);
                    let got = store.set(publish, expiry.map(at));
                    let want = if payload.is_empty() {
                        Ok(match model.remove(&t) {
                            Some(_) => Change::Cleared,
                            None => Change::Unchanged,
                        })
                    } else {
                        let mut next = model.clone();
                        let previous = next.insert(t.clone(), (payload, expiry));
                        if next.len() > limits.max_messages {
                            Err(RetainedError::TooManyMessages { limit: limits.max_messages })
                        } else if model_bytes(&next) > limits.max_bytes {
                            Err(RetainedError::TooManyBytes { limit: limits.max_bytes })
                        } else {
                            model = next;
                            Ok(if previous.is_some() { Change::Replaced } else { Change::Stored })
                        }
                    };
                    prop_assert_eq!(got, want);
                }
                Op::Remove(t) => {
                    let got = store.remove(&TopicName::new(&t).unwrap());
                    prop_assert_eq!(got.is_some(), model.remove(&t).is_some());
                }
                Op::RemoveExpired(now) => {
                    let before = model.len();
                    model.retain(|_, (_, e)| e.is_none_or(|e| e > now));
                    prop_assert_eq!(store.remove_expired(at(now)), before - model.len());
                }
                Op::Matching(f, now) => {
                    out.clear();
                    let n = store.matching(&TopicFilter::new(&f).unwrap(), at(now), &mut out);
                    prop_assert_eq!(n, out.len());
                    let mut got: Vec<(String, Vec<u8>)> = out
                        .iter()
                        .map(|r| (r.publish.topic.as_str().to_owned(), r.publish.payload.to_vec()))
                        .collect();
                    got.sort();
                    let want: Vec<(String, Vec<u8>)> = model
                        .iter()
                        .filter(|(t, (_, e))| matches(&f, t) && e.is_none_or(|e| e > now))
                        .map(|(t, (p, _))| (t.clone(), p.as_bytes().to_vec()))
                        .collect();
                    prop_assert_eq!(got, want);
                }
            }
            prop_assert_eq!(store.len(), model.len());
            prop_assert_eq!(store.bytes(), model_bytes(&model));
            prop_assert_eq!(
                store.next_expiry(),
                model.values().filter_map(|(_, e)| *e).min().map(at)
            );
        }
    }
}
