//! The Observe components of the endpoint (RFC 7641), one test per rule; TD_COAP_OBS_* names
//! refer to the ETSI CoAP#4 test descriptions (cabo/td-coap4 block.yml).

use core::time::Duration;

use tern_coap::endpoint::Instant;
use tern_coap::endpoint::observe::{
    DEFAULT_CONFIRMABLE_INTERVAL, Freshness, Notification, ObserverKey, Observers, ObserversConfig,
    REORDERING_WINDOW, RegisterError, Verdict,
};
use tern_coap::message::{Code, Token};
use tern_coap::value::{ContentFormat, Observe};

fn t(secs: u64) -> Instant {
    Instant::from_millis(secs * 1000)
}

fn obs(v: u32) -> Option<Observe> {
    Observe::new(v)
}

/// A client whose latest accepted notification is `v` at time 0.
fn after(v: u32) -> Freshness {
    let mut f = Freshness::new();
    assert_eq!(
        f.handle_registration_response(t(0), Code::CONTENT, obs(v), 60),
        Verdict::Fresh
    );
    f
}

// ---------------------------------------------------------------------------------------------
// Client
// ---------------------------------------------------------------------------------------------

#[test]
fn rfc7641_3_4_larger_within_half_the_space_is_newer() {
    let mut f = after(100);
    assert_eq!(
        f.handle_notification(t(1), Code::CONTENT, obs(101), 60),
        Verdict::Fresh
    );
    // V2 - V1 = 2^23 - 1: still newer.
    let mut f2 = after(0);
    assert!(f2.is_newer(t(1), Observe::new((1 << 23) - 1).unwrap()));
    // V2 - V1 = 2^23: not newer.
    assert!(!f2.is_newer(t(1), Observe::new(1 << 23).unwrap()));
    assert_eq!(
        f2.handle_notification(t(1), Code::CONTENT, obs(1 << 23), 60),
        Verdict::Stale
    );
}

#[test]
fn rfc7641_3_4_wrapped_counter_is_newer() {
    // V1 > V2 and V1 - V2 > 2^23: 0xff_fff0 then 5.
    let mut f = after(0xff_fff0);
    assert_eq!(
        f.handle_notification(t(1), Code::CONTENT, obs(5), 60),
        Verdict::Fresh
    );
    assert_eq!(f.last(), obs(5));
    // V1 - V2 = 2^23 exactly is not.
    let f = after(1 << 23);
    assert!(!f.is_newer(t(1), Observe::new(0).unwrap()));
}

#[test]
fn rfc7641_3_4_reordered_older_notification_is_stale() {
    let mut f = after(10);
    assert_eq!(
        f.handle_notification(t(1), Code::CONTENT, obs(12), 60),
        Verdict::Fresh
    );
    assert_eq!(
        f.handle_notification(t(2), Code::CONTENT, obs(11), 60),
        Verdict::Stale
    );
    assert_eq!(f.last(), obs(12));
}

#[test]
fn rfc7641_3_4_duplicate_is_stale() {
    let mut f = after(10);
    assert_eq!(
        f.handle_notification(t(1), Code::CONTENT, obs(10), 60),
        Verdict::Stale
    );
}

#[test]
fn rfc7641_3_4_after_128_seconds_any_number_is_newer() {
    let f = after(1000);
    assert_eq!(REORDERING_WINDOW, Duration::from_secs(128));
    // T2 > T1 + 128 s, strictly.
    assert!(!f.is_newer(t(128), Observe::new(5).unwrap()));
    assert!(f.is_newer(Instant::from_millis(128_001), Observe::new(5).unwrap()));
    // The window counts from the latest accepted notification, not from a stale one.
    let mut f = after(1000);
    assert_eq!(
        f.handle_notification(t(100), Code::CONTENT, obs(999), 60),
        Verdict::Stale
    );
    assert_eq!(
        f.handle_notification(t(129), Code::CONTENT, obs(999), 60),
        Verdict::Fresh
    );
}

#[test]
fn rfc7641_3_2_non_2xx_ends_the_observation() {
    // TD_COAP_OBS_07/08: 4.04 or 4.06 without Observe.
    for code in [
        Code::NOT_FOUND,
        Code::NOT_ACCEPTABLE,
        Code::INTERNAL_SERVER_ERROR,
    ] {
        let mut f = after(1);
        assert_eq!(f.handle_notification(t(1), code, None, 60), Verdict::Ended);
        assert_eq!(f.reregister_at(), None);
    }
    // Even if it (wrongly) carries Observe.
    let mut f = after(1);
    assert_eq!(
        f.handle_notification(t(1), Code::NOT_FOUND, obs(2), 60),
        Verdict::Ended
    );
}

#[test]
fn rfc7641_3_2_response_without_observe_ends_the_observation() {
    let mut f = after(1);
    assert_eq!(
        f.handle_notification(t(1), Code::CONTENT, None, 60),
        Verdict::Ended
    );
    assert_eq!(f.last(), None);
}

#[test]
fn rfc7641_4_1_registration_answered_without_observe_is_a_plain_response() {
    let mut f = Freshness::new();
    assert_eq!(
        f.handle_registration_response(t(0), Code::CONTENT, None, 60),
        Verdict::Ended
    );
    assert_eq!(f.reregister_at(), None);
    assert!(!f.reregister_due(t(1000)));
}

#[test]
fn rfc7641_3_3_1_reregistration_is_due_when_max_age_passes() {
    let mut f = after(1);
    assert_eq!(f.reregister_at(), Some(t(60))); // the default Max-Age
    // A fresh notification renews it, with its own Max-Age.
    f.handle_notification(t(30), Code::CONTENT, obs(2), 20);
    assert_eq!(f.reregister_at(), Some(t(50)));
    // A stale one does not.
    f.handle_notification(t(40), Code::CONTENT, obs(1), 600);
    assert_eq!(f.reregister_at(), Some(t(50)));
    assert!(!f.reregister_due(Instant::from_millis(49_999)));
    assert!(f.reregister_due(t(50)));
    // Max-Age 0: at once.
    let mut f = Freshness::new();
    f.handle_registration_response(t(7), Code::CONTENT, obs(1), 0);
    assert!(f.reregister_due(t(7)));
}

#[test]
fn td_coap_obs_04_reregistration_response_restarts_the_sequence() {
    // The server lost its state; the response to the re-registration carries a smaller
    // number, "not necessarily increasing", and the notifications after it go on from there.
    let mut f = after(5000);
    f.handle_notification(t(10), Code::CONTENT, obs(5001), 60);
    assert!(f.reregister_due(t(70)));
    assert_eq!(
        f.handle_registration_response(t(70), Code::CONTENT, obs(3), 60),
        Verdict::Fresh
    );
    assert_eq!(
        f.handle_notification(t(75), Code::CONTENT, obs(4), 60),
        Verdict::Fresh
    );
    assert_eq!(f.reregister_at(), Some(t(135)));
}

#[test]
fn td_coap_obs_04_margin_delays_reregistration() {
    let mut f = Freshness::new().with_reregister_margin(Duration::from_secs(100));
    f.handle_registration_response(t(0), Code::CONTENT, obs(1), 60);
    assert!(!f.reregister_due(t(159)));
    assert!(f.reregister_due(t(160)));
}

// ---------------------------------------------------------------------------------------------
// Server
// ---------------------------------------------------------------------------------------------

fn key(port: u16, token: &[u8]) -> ObserverKey {
    ObserverKey::new(
        format!("192.0.2.1:{port}").parse().unwrap(),
        Token::new(token).unwrap(),
    )
}

fn list() -> Observers<&'static str> {
    Observers::new(ObserversConfig::default())
}

fn only(n: Vec<Notification>) -> Notification {
    assert_eq!(n.len(), 1, "{n:?}");
    n[0]
}

#[test]
fn rfc7641_4_4_registration_and_notifications_increase() {
    let mut o = list();
    let first = o.register(t(0), key(1, b"a"), "/obs", None).unwrap();
    let mut previous = first;
    for i in 1..=5 {
        let n = only(o.notify(t(i), &"/obs", Code::CONTENT, None, true));
        let v = n.observe.unwrap();
        assert!(v.is_newer_than(previous));
        previous = v;
        assert!(!n.ends_observation);
    }
}

#[test]
fn rfc7641_4_4_sequence_is_per_resource_and_shared_by_its_observers() {
    let mut o = list();
    o.register(t(0), key(1, b"a"), "/obs", None).unwrap();
    o.register(t(0), key(2, b"b"), "/obs", None).unwrap();
    o.register(t(0), key(3, b"c"), "/other", None).unwrap();
    let n = o.notify(t(1), &"/obs", Code::CONTENT, None, false);
    assert_eq!(n.len(), 2);
    assert_eq!(n[0].observe, n[1].observe);
    assert_eq!(o.observers_of(&"/obs").count(), 2);
    assert_eq!(o.observers_of(&"/other").count(), 1);
    assert!(
        o.notify(t(1), &"/nobody", Code::CONTENT, None, false)
            .is_empty()
    );
}

#[test]
fn rfc7641_4_4_sequence_wraps_at_24_bits() {
    let config = ObserversConfig {
        initial_sequence: 0xff_fffe,
        ..ObserversConfig::default()
    };
    let mut o = Observers::new(config);
    assert_eq!(
        o.register(t(0), key(1, b"a"), "/obs", None),
        Ok(Observe::new(0xff_fffe).unwrap())
    );
    let a = only(o.notify(t(1), &"/obs", Code::CONTENT, None, false))
        .observe
        .unwrap();
    let b = only(o.notify(t(2), &"/obs", Code::CONTENT, None, false))
        .observe
        .unwrap();
    assert_eq!((a.get(), b.get()), (0xff_ffff, 0));
    assert!(b.is_newer_than(a));
}

#[test]
fn rfc7641_4_1_same_endpoint_and_token_replaces_the_entry() {
    let mut o = list();
    o.register(t(0), key(1, b"a"), "/obs", Some(ContentFormat::TEXT_PLAIN))
        .unwrap();
    let again = o
        .register(t(5), key(1, b"a"), "/obs", Some(ContentFormat::JSON))
        .unwrap();
    assert_eq!(o.len(), 1);
    let entry = o.get(&key(1, b"a")).unwrap();
    assert_eq!(
        (entry.content_format(), entry.registered_at()),
        (Some(ContentFormat::JSON), t(5))
    );
    assert_eq!(*entry.resource(), "/obs");
    assert!(
        only(o.notify(
            t(6),
            &"/obs",
            Code::CONTENT,
            Some(ContentFormat::JSON),
            false
        ))
        .observe
        .unwrap()
        .is_newer_than(again)
    );
    // Another token of the same client is another entry.
    o.register(t(6), key(1, b"b"), "/obs", None).unwrap();
    assert_eq!(o.len(), 2);
    // The same token re-registered on another resource moves.
    o.register(t(7), key(1, b"a"), "/elsewhere", None).unwrap();
    assert_eq!(o.len(), 2);
    assert_eq!(o.observers_of(&"/obs").count(), 1);
    assert_eq!(o.observers_of(&"/elsewhere").count(), 1);
}

#[test]
fn rfc7641_4_1_a_full_list_refuses_registrations() {
    let config = ObserversConfig {
        max_observers: 3,
        max_per_peer: 2,
        ..ObserversConfig::default()
    };
    let mut o = Observers::new(config);
    o.register(t(0), key(1, b"a"), "/obs", None).unwrap();
    o.register(t(0), key(1, b"b"), "/obs", None).unwrap();
    assert_eq!(
        o.register(t(0), key(1, b"c"), "/obs", None),
        Err(RegisterError::PeerFull)
    );
    o.register(t(0), key(2, b"a"), "/obs", None).unwrap();
    assert_eq!(
        o.register(t(0), key(3, b"a"), "/obs", None),
        Err(RegisterError::Full)
    );
    // Re-registering an existing entry is always possible.
    assert!(o.register(t(1), key(1, b"a"), "/obs", None).is_ok());
    assert_eq!(o.len(), 3);
}

#[test]
fn td_coap_obs_12_get_with_observe_1_deregisters() {
    let mut o = list();
    o.register(t(0), key(1, b"a"), "/obs", None).unwrap();
    let gone = o.deregister(&key(1, b"a")).unwrap();
    assert_eq!(gone.key(), key(1, b"a"));
    assert!(o.is_empty());
    assert!(
        o.notify(t(1), &"/obs", Code::CONTENT, None, true)
            .is_empty()
    );
    assert!(o.deregister(&key(1, b"a")).is_none());
}

#[test]
fn td_coap_obs_06_reset_removes_the_observer() {
    let mut o = list();
    o.register(t(0), key(1, b"a"), "/obs", None).unwrap();
    o.register(t(0), key(2, b"a"), "/obs", None).unwrap();
    assert!(o.handle_reset(&key(1, b"a")).is_some());
    assert_eq!(
        only(o.notify(t(1), &"/obs", Code::CONTENT, None, true)).key,
        key(2, b"a")
    );
}

#[test]
fn td_coap_obs_05_timed_out_con_notification_removes_the_observer() {
    let mut o = list();
    o.register(t(0), key(1, b"a"), "/obs", None).unwrap();
    let n = only(o.notify(t(1), &"/obs", Code::CONTENT, None, true));
    assert!(n.confirmable && o.get(&key(1, b"a")).unwrap().in_flight());
    assert!(o.handle_notification_timeout(&key(1, b"a")).is_some());
    assert!(o.is_empty());
}

#[test]
fn td_coap_obs_07_non_2xx_notification_has_no_observe_and_ends_everything() {
    let mut o = list();
    o.register(t(0), key(1, b"a"), "/obs", None).unwrap();
    o.register(t(0), key(2, b"b"), "/obs", None).unwrap();
    o.register(t(0), key(3, b"c"), "/other", None).unwrap();
    let n = o.notify(t(1), &"/obs", Code::NOT_FOUND, None, true);
    assert_eq!(n.len(), 2);
    assert!(n.iter().all(|n| n.code == Code::NOT_FOUND
        && n.observe.is_none()
        && n.ends_observation
        && n.confirmable));
    assert_eq!(o.len(), 1);
    assert!(
        o.notify(t(2), &"/obs", Code::CONTENT, None, true)
            .is_empty()
    );
}

#[test]
fn td_coap_obs_08_content_format_change_is_4_06_and_ends() {
    let mut o = list();
    o.register(t(0), key(1, b"a"), "/obs", Some(ContentFormat::TEXT_PLAIN))
        .unwrap();
    o.register(t(0), key(2, b"b"), "/obs", None).unwrap(); // pinned nothing
    let n = o.notify(
        t(1),
        &"/obs",
        Code::CONTENT,
        Some(ContentFormat::JSON),
        false,
    );
    let pinned = n.iter().find(|n| n.key == key(1, b"a")).unwrap();
    assert_eq!(
        (pinned.code, pinned.observe, pinned.ends_observation),
        (Code::NOT_ACCEPTABLE, None, true)
    );
    let free = n.iter().find(|n| n.key == key(2, b"b")).unwrap();
    assert_eq!((free.code, free.ends_observation), (Code::CONTENT, false));
    assert!(free.observe.is_some());
    assert_eq!(o.len(), 1);
}

#[test]
fn td_coap_obs_09_same_content_format_keeps_notifying() {
    let mut o = list();
    o.register(t(0), key(1, b"a"), "/obs", Some(ContentFormat::TEXT_PLAIN))
        .unwrap();
    for i in 1..4 {
        let n = only(o.notify(
            t(i),
            &"/obs",
            Code::CONTENT,
            Some(ContentFormat::TEXT_PLAIN),
            true,
        ));
        assert_eq!((n.code, n.ends_observation), (Code::CONTENT, false));
        o.handle_ack(&n.key);
    }
}

#[test]
fn td_coap_obs_02_non_notifications_stay_non() {
    let mut o = list();
    o.register(t(0), key(1, b"a"), "/obs-non", None).unwrap();
    for i in 1..10 {
        let n = only(o.notify(t(i * 5), &"/obs-non", Code::CONTENT, None, false));
        assert!(!n.confirmable && !n.replaces_in_flight);
    }
}

#[test]
fn rfc7641_4_5_a_con_notification_at_least_every_24_hours() {
    let mut o = list();
    assert_eq!(DEFAULT_CONFIRMABLE_INTERVAL, Duration::from_secs(86_400));
    o.register(t(0), key(1, b"a"), "/obs", None).unwrap();
    assert!(!only(o.notify(t(86_399), &"/obs", Code::CONTENT, None, false)).confirmable);
    let n = only(o.notify(t(86_400), &"/obs", Code::CONTENT, None, false));
    assert!(n.confirmable);
    o.handle_ack(&n.key);
    // The next 24 hours count from that CON.
    assert!(!only(o.notify(t(86_401), &"/obs", Code::CONTENT, None, false)).confirmable);
    assert!(!only(o.notify(t(172_799), &"/obs", Code::CONTENT, None, false)).confirmable);
    assert!(only(o.notify(t(172_800), &"/obs", Code::CONTENT, None, false)).confirmable);
}

#[test]
fn rfc7641_4_5_the_interval_is_configurable() {
    let config = ObserversConfig {
        confirmable_interval: Duration::from_secs(10),
        ..ObserversConfig::default()
    };
    let mut o = Observers::new(config);
    o.register(t(0), key(1, b"a"), "/obs", None).unwrap();
    assert!(!only(o.notify(t(9), &"/obs", Code::CONTENT, None, false)).confirmable);
    assert!(only(o.notify(t(10), &"/obs", Code::CONTENT, None, false)).confirmable);
}

#[test]
fn td_coap_obs_11_new_notification_replaces_the_one_in_flight() {
    let mut o = list();
    o.register(t(0), key(1, b"a"), "/obs", None).unwrap();
    let first = only(o.notify(t(1), &"/obs", Code::CONTENT, None, true));
    assert!(first.confirmable && !first.replaces_in_flight);
    // Not yet acknowledged: the next one takes its place, as CON even if NON is the default.
    let second = only(o.notify(t(2), &"/obs", Code::CONTENT, None, false));
    assert!(second.confirmable && second.replaces_in_flight);
    assert!(
        second
            .observe
            .unwrap()
            .is_newer_than(first.observe.unwrap())
    );
    o.handle_ack(&second.key);
    let third = only(o.notify(t(3), &"/obs", Code::CONTENT, None, false));
    assert!(!third.confirmable && !third.replaces_in_flight);
}

#[test]
fn rfc7641_4_1_unobserved_resources_keep_no_state() {
    // Sequence counters live only while a resource has observers, so memory is bounded by
    // the number of observers.
    let mut o = list();
    let v0 = o.register(t(0), key(1, b"a"), "/obs", None).unwrap();
    o.notify(t(1), &"/obs", Code::CONTENT, None, false);
    o.deregister(&key(1, b"a"));
    assert_eq!(o.observers_of(&"/obs").count(), 0);
    // A new registration starts from the configured first number again.
    assert_eq!(o.register(t(2), key(2, b"b"), "/obs", None), Ok(v0));
}

#[test]
fn rfc7641_4_1_observer_key_orders_by_peer_then_token() {
    let a = key(1, b"\x01");
    let b = key(1, b"\x01\x00");
    let c = key(2, b"");
    assert!(a < b && b < c);
    assert_eq!(a, key(1, b"\x01"));
}
