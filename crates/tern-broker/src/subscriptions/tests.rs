use super::*;
use alloc::vec;

fn filter(s: &str) -> TopicFilter {
    TopicFilter::new(s).unwrap()
}

fn topic(s: &str) -> TopicName {
    TopicName::new(s).unwrap()
}

fn opts(qos: u8, identifier: Option<u32>) -> SubscriptionOptions {
    SubscriptionOptions {
        qos: QoS::from_u8(qos).unwrap(),
        identifier,
        ..Default::default()
    }
}

fn clients(tree: &mut SubscriptionTree<u32>, t: &str, publisher: Option<u32>) -> Vec<u32> {
    let mut routes = Routes::new();
    tree.route(&topic(t), publisher, &mut routes);
    routes.iter().map(|d| d.client).collect()
}

#[test]
fn mqtt_4_7_1_2_single_level_wildcard_matches_one_level() {
    let mut tree = SubscriptionTree::new();
    tree.subscribe(1, &filter("sport/tennis/+"), opts(0, None));
    tree.subscribe(2, &filter("sport/+"), opts(0, None));
    tree.subscribe(3, &filter("+/+"), opts(0, None));
    tree.subscribe(4, &filter("+"), opts(0, None));
    assert_eq!(clients(&mut tree, "sport/tennis/player1", None), [1]);
    assert_eq!(clients(&mut tree, "sport/tennis/player1/ranking", None), []);
    assert_eq!(clients(&mut tree, "sport", None), [4]);
    assert_eq!(clients(&mut tree, "sport/", None), [2, 3]);
    assert_eq!(clients(&mut tree, "/finance", None), [3]);
}

#[test]
fn mqtt_4_7_1_1_multi_level_wildcard_matches_parent_and_children() {
    let mut tree = SubscriptionTree::new();
    tree.subscribe(1, &filter("sport/tennis/player1/#"), opts(0, None));
    tree.subscribe(2, &filter("#"), opts(0, None));
    tree.subscribe(3, &filter("sport/#"), opts(0, None));
    assert_eq!(clients(&mut tree, "sport/tennis/player1", None), [1, 2, 3]);
    assert_eq!(
        clients(&mut tree, "sport/tennis/player1/score/wimbledon", None),
        [1, 2, 3]
    );
    assert_eq!(clients(&mut tree, "sport", None), [2, 3]);
    assert_eq!(clients(&mut tree, "sports", None), [2]);
}

#[test]
fn mqtt_4_7_2_1_wildcards_skip_dollar_topics() {
    let mut tree = SubscriptionTree::new();
    tree.subscribe(1, &filter("#"), opts(0, None));
    tree.subscribe(2, &filter("+/monitor/Clients"), opts(0, None));
    tree.subscribe(3, &filter("$SYS/#"), opts(0, None));
    tree.subscribe(4, &filter("$SYS/monitor/+"), opts(0, None));
    tree.subscribe(5, &filter("$share/g/#"), opts(0, None));
    assert_eq!(clients(&mut tree, "$SYS/monitor/Clients", None), [3, 4]);
    assert_eq!(clients(&mut tree, "x/monitor/Clients", None), [1, 2, 5]);
    // Only the first level counts: a '$' further down is an ordinary character.
    assert_eq!(clients(&mut tree, "x/$SYS", None), [1, 5]);
}

#[test]
fn mqtt_3_3_5_1_and_3_3_4_2_overlapping_subscriptions_deliver_once_at_max_qos() {
    let mut tree = SubscriptionTree::new();
    tree.subscribe(1, &filter("a/+"), opts(1, None));
    tree.subscribe(1, &filter("a/#"), opts(2, None));
    tree.subscribe(1, &filter("a/b"), opts(0, None));
    tree.subscribe(2, &filter("a/b"), opts(0, None));
    let mut routes = Routes::new();
    tree.route(&topic("a/b"), None, &mut routes);
    let got: Vec<_> = routes.iter().map(|d| (d.client, d.qos)).collect();
    assert_eq!(got, [(1, QoS::ExactlyOnce), (2, QoS::AtMostOnce)]);
}

#[test]
fn mqtt_3_3_4_3_every_matching_subscription_identifier_is_delivered() {
    let mut tree = SubscriptionTree::new();
    tree.subscribe(1, &filter("a/#"), opts(0, Some(9)));
    tree.subscribe(1, &filter("a/+"), opts(0, Some(3)));
    tree.subscribe(1, &filter("+/b"), opts(0, Some(3)));
    tree.subscribe(1, &filter("a/b"), opts(0, None));
    tree.subscribe(2, &filter("a/b"), opts(0, Some(5)));
    let mut routes = Routes::new();
    tree.route(&topic("a/b"), None, &mut routes);
    let got: Vec<_> = routes
        .iter()
        .map(|d| (d.client, d.subscription_identifiers.to_vec()))
        .collect();
    assert_eq!(got, [(1, vec![3, 9]), (2, vec![5])]);
    tree.route(&topic("x/y"), None, &mut routes);
    assert!(routes.is_empty());
}

#[test]
fn mqtt_3_3_4_4_shared_delivery_carries_only_its_own_identifier() {
    let mut tree = SubscriptionTree::new();
    tree.subscribe(1, &filter("a/#"), opts(0, Some(1)));
    tree.subscribe(1, &filter("$share/g/a/+"), opts(1, Some(2)));
    let mut routes = Routes::new();
    tree.route(&topic("a/b"), None, &mut routes);
    let got: Vec<_> = routes
        .iter()
        .map(|d| {
            (
                d.client,
                d.shared,
                d.qos,
                d.subscription_identifiers.to_vec(),
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            (1, false, QoS::AtMostOnce, vec![1]),
            (1, true, QoS::AtLeastOnce, vec![2])
        ]
    );
}

#[test]
fn mqtt_3_8_3_3_no_local_skips_own_publications() {
    let mut tree = SubscriptionTree::new();
    let mut no_local = opts(1, Some(1));
    no_local.no_local = true;
    tree.subscribe(1, &filter("a/b"), no_local);
    tree.subscribe(1, &filter("a/+"), opts(0, Some(2)));
    tree.subscribe(2, &filter("a/b"), no_local);
    let mut routes = Routes::new();
    tree.route(&topic("a/b"), Some(1), &mut routes);
    let got: Vec<_> = routes
        .iter()
        .map(|d| (d.client, d.qos, d.subscription_identifiers.to_vec()))
        .collect();
    // Client 1 still matches through its other subscription, at that one's QoS.
    assert_eq!(
        got,
        [
            (1, QoS::AtMostOnce, vec![2]),
            (2, QoS::AtLeastOnce, vec![1])
        ]
    );
    // Shared subscriptions ignore it (the core refuses it [MQTT-3.8.3-4]).
    let mut tree = SubscriptionTree::new();
    tree.subscribe(1, &filter("$share/g/a/b"), no_local);
    assert_eq!(clients(&mut tree, "a/b", Some(1)), [1]);
}

#[test]
fn retain_as_published_is_reported_per_delivery() {
    let mut tree = SubscriptionTree::new();
    let mut rap = opts(0, None);
    rap.retain_as_published = true;
    tree.subscribe(1, &filter("a"), rap);
    tree.subscribe(1, &filter("#"), opts(0, None));
    tree.subscribe(2, &filter("a"), opts(0, None));
    let mut routes = Routes::new();
    tree.route(&topic("a"), None, &mut routes);
    let got: Vec<_> = routes
        .iter()
        .map(|d| (d.client, d.retain_as_published))
        .collect();
    assert_eq!(got, [(1, true), (2, false)]);
}

#[test]
fn mqtt_3_8_4_3_identical_filter_replaces_the_subscription() {
    let mut tree = SubscriptionTree::new();
    assert_eq!(
        tree.subscribe(1, &filter("a/+"), opts(0, None)),
        Subscribed::New
    );
    assert_eq!(
        tree.subscribe(1, &filter("a/+"), opts(2, Some(4))),
        Subscribed::Replaced(opts(0, None))
    );
    assert_eq!(
        tree.subscribe(1, &filter("$share/g/a/+"), opts(1, None)),
        Subscribed::New
    );
    assert_eq!(
        tree.subscribe(1, &filter("$share/g/a/+"), opts(0, None)),
        Subscribed::Replaced(opts(1, None))
    );
    assert_eq!((tree.len(), tree.client_len(1)), (2, 2));
    let mut routes = Routes::new();
    tree.route(&topic("a/x"), None, &mut routes);
    let d = routes.get(0).unwrap();
    assert_eq!(
        (d.qos, d.subscription_identifiers),
        (QoS::ExactlyOnce, &[4][..])
    );
    assert_eq!(routes.get(1).unwrap().qos, QoS::AtMostOnce);
}

#[test]
fn shared_groups_deliver_to_one_member_round_robin() {
    let mut tree = SubscriptionTree::new();
    for c in [3, 1, 2] {
        tree.subscribe(c, &filter("$share/g/jobs/#"), opts(0, None));
    }
    tree.subscribe(9, &filter("$share/h/jobs/#"), opts(0, None));
    tree.subscribe(9, &filter("$share/g/jobs/+"), opts(0, None));
    let got: Vec<_> = (0..6)
        .map(|_| {
            let mut v = clients(&mut tree, "jobs/1", None);
            v.sort();
            v
        })
        .collect();
    // Group g/jobs/# rotates over 1, 2, 3; h and g/jobs/+ have one member each.
    assert_eq!(
        got,
        [
            [1, 9, 9],
            [2, 9, 9],
            [3, 9, 9],
            [1, 9, 9],
            [2, 9, 9],
            [3, 9, 9]
        ]
    );
}

#[test]
fn leaving_a_group_keeps_the_turn_order() {
    let mut tree = SubscriptionTree::new();
    for c in [1, 2, 3] {
        tree.subscribe(c, &filter("$share/g/t"), opts(0, None));
    }
    assert_eq!(clients(&mut tree, "t", None), [1]);
    assert_eq!(clients(&mut tree, "t", None), [2]);
    // 3 is next; 1 leaving does not make anyone skip a turn.
    assert!(tree.unsubscribe(1, &filter("$share/g/t")));
    assert_eq!(clients(&mut tree, "t", None), [3]);
    assert_eq!(clients(&mut tree, "t", None), [2]);
    tree.remove_client(3);
    assert_eq!(clients(&mut tree, "t", None), [2]);
    tree.remove_client(2);
    assert_eq!(clients(&mut tree, "t", None), []);
}

#[test]
fn emptied_nodes_are_unlinked_and_reused() {
    let mut tree = SubscriptionTree::new();
    tree.subscribe(1, &filter("a/b/c/#"), opts(0, None));
    tree.subscribe(2, &filter("a/+/c"), opts(0, None));
    tree.subscribe(3, &filter("$share/g/a/b"), opts(0, None));
    let grown = tree.nodes.len();
    assert_eq!(tree.remove_client(1), 1);
    assert!(tree.unsubscribe(2, &filter("a/+/c")));
    assert!(!tree.unsubscribe(2, &filter("a/+/c")));
    assert!(tree.unsubscribe(3, &filter("$share/g/a/b")));
    assert!(tree.is_empty());
    assert_eq!(tree.free.len(), grown - 1);
    let root = &tree.nodes[ROOT];
    assert!(root.is_unused());
    assert!(tree.clients.is_empty());
    tree.subscribe(1, &filter("x/y/z"), opts(0, None));
    assert_eq!(tree.nodes.len(), grown);
    assert_eq!(clients(&mut tree, "x/y/z", None), [1]);
    assert_eq!(clients(&mut tree, "a/b/c", None), []);
}

#[test]
fn deep_topics_do_not_recurse() {
    let deep = "/".repeat(60_000);
    let mut tree = SubscriptionTree::new();
    tree.subscribe(1, &filter(&deep), opts(0, None));
    tree.subscribe(2, &filter(&format!("{deep}/#")), opts(0, None));
    tree.subscribe(3, &filter(&"+/".repeat(30_000)), opts(0, None));
    assert_eq!(clients(&mut tree, &deep, None), [1, 2]);
    assert_eq!(tree.remove_client(1) + tree.remove_client(2), 2);
    drop(tree);
}

#[test]
fn routes_buffers_are_reused() {
    let mut tree = SubscriptionTree::new();
    for c in 0..100 {
        tree.subscribe(c, &filter("a/#"), opts(0, Some(c + 1)));
        tree.subscribe(c, &filter("a/+"), opts(0, Some(c + 2)));
    }
    let mut routes = Routes::new();
    tree.route(&topic("a/b"), None, &mut routes);
    let capacity = routes.capacities();
    for _ in 0..10 {
        tree.route(&topic("a/b"), None, &mut routes);
        assert_eq!(routes.len(), 100);
        assert_eq!(capacity, routes.capacities());
    }
}
