//! The subscription tree against a naive model: a list of subscriptions matched one by one
//! with `tern_mqtt::topic::matches`, over random sequences of subscribe, unsubscribe,
//! remove-client and route on filters and topics from a small alphabet of levels.

use std::collections::BTreeMap;

use proptest::prelude::*;
use tern_broker::subscriptions::{Routes, Subscribed, SubscriptionOptions, SubscriptionTree};
use tern_mqtt::topic::matches;
use tern_mqtt::{QoS, TopicFilter, TopicName};

/// Levels that make topics collide often: the `$` rule, empty levels, a shared prefix.
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
    let plain = (prop::collection::vec(filter_level, 0..4), any::<bool>())
        .prop_map(|(mut levels, hash)| {
            if hash || levels.is_empty() {
                levels.push("#".to_owned());
            }
            levels.join("/")
        })
        .prop_filter("a filter is at least one character long", |f| !f.is_empty());
    let share = prop_oneof![
        4 => Just(""),
        1 => Just("$share/g1/"),
        1 => Just("$share/g2/"),
    ];
    (share, plain).prop_map(|(share, f)| format!("{share}{f}"))
}

fn options() -> impl Strategy<Value = SubscriptionOptions> {
    (
        0..3u8,
        any::<bool>(),
        any::<bool>(),
        prop::option::of(1..4u32),
    )
        .prop_map(
            |(qos, no_local, retain_as_published, identifier)| SubscriptionOptions {
                qos: QoS::from_u8(qos).unwrap(),
                no_local,
                retain_as_published,
                identifier,
                ..Default::default()
            },
        )
}

type Client = u8;

#[derive(Debug, Clone)]
enum Op {
    Subscribe(Client, String, SubscriptionOptions),
    Unsubscribe(Client, String),
    RemoveClient(Client),
    Route(String, Option<Client>),
}

fn op() -> impl Strategy<Value = Op> {
    let client = 0..4u8;
    prop_oneof![
        4 => (client.clone(), filter(), options()).prop_map(|(c, f, o)| Op::Subscribe(c, f, o)),
        1 => (client.clone(), filter()).prop_map(|(c, f)| Op::Unsubscribe(c, f)),
        1 => client.clone().prop_map(Op::RemoveClient),
        4 => (topic(), prop::option::of(client)).prop_map(|(t, p)| Op::Route(t, p)),
    ]
}

/// What a delivery says, owned.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Got {
    client: Client,
    qos: QoS,
    retain_as_published: bool,
    identifiers: Vec<u32>,
}

/// The deliveries the model expects for non-shared subscriptions, by client.
fn expected_plain(
    model: &BTreeMap<(Client, String), SubscriptionOptions>,
    topic: &str,
    publisher: Option<Client>,
) -> Vec<Got> {
    let mut by_client: BTreeMap<Client, Got> = BTreeMap::new();
    for ((client, filter), o) in model {
        if filter.starts_with("$share/") || !matches(filter, topic) {
            continue;
        }
        if o.no_local && publisher == Some(*client) {
            continue;
        }
        let got = by_client.entry(*client).or_insert(Got {
            client: *client,
            qos: QoS::AtMostOnce,
            retain_as_published: false,
            identifiers: Vec::new(),
        });
        got.qos = got.qos.max(o.qos);
        got.retain_as_published |= o.retain_as_published;
        got.identifiers.extend(o.identifier);
        got.identifiers.sort_unstable();
        got.identifiers.dedup();
    }
    by_client.into_values().collect()
}

/// Each matching shared group (share name and filter) with what each member would receive.
fn expected_groups(
    model: &BTreeMap<(Client, String), SubscriptionOptions>,
    topic: &str,
) -> Vec<Vec<Got>> {
    let mut groups: BTreeMap<&str, Vec<Got>> = BTreeMap::new();
    for ((client, filter), o) in model {
        let Some(share) = tern_mqtt::SharedSubscription::parse(filter).unwrap() else {
            continue;
        };
        if !matches(share.filter, topic) {
            continue;
        }
        groups.entry(filter).or_default().push(Got {
            client: *client,
            qos: o.qos,
            retain_as_published: o.retain_as_published,
            identifiers: o.identifier.into_iter().collect(),
        });
    }
    groups.into_values().collect()
}

/// Whether each shared delivery can be given to a distinct group that offers it.
fn assign(deliveries: &[Got], groups: &[Vec<Got>], used: &mut Vec<bool>) -> bool {
    let Some((first, rest)) = deliveries.split_first() else {
        return true;
    };
    for (i, group) in groups.iter().enumerate() {
        if !used[i] && group.contains(first) {
            used[i] = true;
            if assign(rest, groups, used) {
                return true;
            }
            used[i] = false;
        }
    }
    false
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn route_agrees_with_naive_matching(ops in prop::collection::vec(op(), 1..60)) {
        let mut tree = SubscriptionTree::<Client>::new();
        let mut model: BTreeMap<(Client, String), SubscriptionOptions> = BTreeMap::new();
        let mut routes = Routes::new();
        for op in ops {
            match op {
                Op::Subscribe(c, f, o) => {
                    let got = tree.subscribe(c, &TopicFilter::new(&f).unwrap(), o);
                    let want = match model.insert((c, f), o) {
                        Some(previous) => Subscribed::Replaced(previous),
                        None => Subscribed::New,
                    };
                    prop_assert_eq!(got, want);
                }
                Op::Unsubscribe(c, f) => {
                    let got = tree.unsubscribe(c, &TopicFilter::new(&f).unwrap());
                    prop_assert_eq!(got, model.remove(&(c, f)).is_some());
                }
                Op::RemoveClient(c) => {
                    let before = model.len();
                    model.retain(|(client, _), _| *client != c);
                    prop_assert_eq!(tree.remove_client(c), before - model.len());
                }
                Op::Route(t, publisher) => {
                    tree.route(&TopicName::new(&t).unwrap(), publisher, &mut routes);
                    let (plain, shared): (Vec<_>, Vec<_>) = routes.iter().partition(|d| !d.shared);
                    let to_got = |d: &tern_broker::subscriptions::Delivery<'_, Client>| Got {
                        client: d.client,
                        qos: d.qos,
                        retain_as_published: d.retain_as_published,
                        identifiers: d.subscription_identifiers.to_vec(),
                    };
                    let plain: Vec<Got> = plain.iter().map(to_got).collect();
                    prop_assert_eq!(plain, expected_plain(&model, &t, publisher));
                    let shared: Vec<Got> = shared.iter().map(to_got).collect();
                    let groups = expected_groups(&model, &t);
                    prop_assert_eq!(shared.len(), groups.len());
                    prop_assert!(
                        assign(&shared, &groups, &mut vec![false; groups.len()]),
                        "shared deliveries {:?} do not fit the groups {:?}", shared, groups
                    );
                }
            }
            prop_assert_eq!(tree.len(), model.len());
            for c in 0..4 {
                let got: BTreeMap<String, SubscriptionOptions> = tree
                    .client_subscriptions(c)
                    .map(|(f, o)| (f.as_str().to_owned(), o))
                    .collect();
                let want: BTreeMap<String, SubscriptionOptions> = model
                    .iter()
                    .filter(|((client, _), _)| *client == c)
                    .map(|((_, f), o)| (f.clone(), *o))
                    .collect();
                prop_assert_eq!(tree.client_len(c), want.len());
                prop_assert_eq!(got, want);
            }
        }
    }

    #[test]
    fn shared_groups_share_messages_evenly(
        members in prop::collection::btree_set(0..20u8, 1..7),
        order in any::<prop::sample::Index>(),
        other in prop::collection::vec((0..20u8, filter(), options()), 0..10),
        messages in 0..200usize,
    ) {
        let mut tree = SubscriptionTree::<Client>::new();
        // Join in a rotated order, among unrelated subscriptions.
        let mut joining: Vec<Client> = members.iter().copied().collect();
        let turn = order.index(joining.len());
        joining.rotate_left(turn);
        let group = TopicFilter::new("$share/fair/t/#").unwrap();
        for (i, c) in joining.iter().enumerate() {
            tree.subscribe(*c, &group, SubscriptionOptions::default());
            if let Some((oc, of, oo)) = other.get(i) {
                if !of.starts_with("$share/") {
                    tree.subscribe(*oc, &TopicFilter::new(of).unwrap(), *oo);
                }
            }
        }
        let mut counts: BTreeMap<Client, usize> = BTreeMap::new();
        let mut routes = Routes::new();
        let topic = TopicName::new("t/x").unwrap();
        for _ in 0..messages {
            tree.route(&topic, None, &mut routes);
            let shared: Vec<_> = routes.iter().filter(|d| d.shared).collect();
            prop_assert_eq!(shared.len(), 1);
            *counts.entry(shared[0].client).or_default() += 1;
        }
        let m = members.len();
        for c in &members {
            let n = counts.get(c).copied().unwrap_or(0);
            prop_assert!(
                n >= messages / m && n <= messages.div_ceil(m),
                "member {} got {} of {} messages among {}", c, n, messages, m
            );
        }
    }
}
