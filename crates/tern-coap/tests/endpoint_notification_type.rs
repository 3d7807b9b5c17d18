//! Scenario tests of a resource's choice of notification type (RFC 7641 §4.5,
//! [`EndpointConfig::notification_types`]): a resource that insists on NON notifications
//! (TD_COAP_OBS_02's /obs-non) sends them NON even to a client that registered with CON,
//! yet still CON at least every `confirmable_interval` and in place of a CON in flight; one
//! that insists on CON sends CON to a NON registrant. The test plays the client with
//! hand-built datagrams on a virtual clock.
//!
//! [`EndpointConfig::notification_types`]: tern_coap::endpoint::EndpointConfig::notification_types

use core::net::SocketAddr;
use core::time::Duration;

use bytes::{Bytes, BytesMut};
use tern_coap::endpoint::observe::{NotificationType, ObserverKey, Observers, ObserversConfig};
use tern_coap::endpoint::{Endpoint, EndpointConfig, Event, Instant, Response};
use tern_coap::option::Options;
use tern_coap::value::Observe;
use tern_coap::{Code, Message, MessageType, Token};

const CON: MessageType = MessageType::Confirmable;
const NON: MessageType = MessageType::NonConfirmable;
const ACK: MessageType = MessageType::Acknowledgement;
const RST: MessageType = MessageType::Reset;

fn client() -> SocketAddr {
    "192.0.2.7:40000".parse().unwrap()
}

fn t(secs: u64) -> Instant {
    Instant::from_millis(secs * 1000)
}

fn server(types: &[(&'static str, NotificationType)], interval: Duration) -> Endpoint {
    let mut config = EndpointConfig {
        observers: ObserversConfig {
            confirmable_interval: interval,
            ..ObserversConfig::default()
        },
        ..EndpointConfig::default()
    };
    for (path, how) in types {
        config
            .notification_types
            .insert(Bytes::from_static(path.as_bytes()), *how);
    }
    Endpoint::new(config, 7641)
}

fn feed(ep: &mut Endpoint, now: Instant, m: &Message) {
    let mut b = BytesMut::new();
    m.encode(&mut b).unwrap();
    ep.handle_datagram(now, client(), b.freeze());
}

fn sent(ep: &mut Endpoint) -> Vec<Message> {
    std::iter::from_fn(|| ep.poll_transmit())
        .map(|t| {
            assert_eq!(t.destination, client());
            Message::decode(t.datagram).unwrap()
        })
        .collect()
}

/// Registers the client on `path` with a GET of type `mtype` and token `token`, answered
/// with `respond_observable` under the key `path`; returns the answer.
fn register(
    ep: &mut Endpoint,
    now: Instant,
    mtype: MessageType,
    mid: u16,
    token: u8,
    path: &str,
) -> Message {
    let get = Message {
        mtype,
        code: Code::GET,
        message_id: mid,
        token: Token::new(&[token]).unwrap(),
        options: Options::builder()
            .push_observe(Observe::REGISTER)
            .push_uri_path(path.trim_start_matches('/'))
            .unwrap()
            .build()
            .unwrap(),
        payload: Bytes::new(),
    };
    feed(ep, now, &get);
    let id = match ep.poll_event() {
        Some(Event::Request { id, .. }) => id,
        other => panic!("{other:?}"),
    };
    ep.respond_observable(now, id, content("v0"), path).unwrap();
    let mut out = sent(ep);
    assert_eq!(out.len(), 1, "{out:?}");
    let answer = out.remove(0);
    assert!(answer.options.observe().unwrap().is_some(), "registered");
    answer
}

fn content(payload: &'static str) -> Response {
    Response::new(Code::CONTENT).with_payload(payload)
}

/// Notifies `path` at `now`; the one notification sent.
fn notify(ep: &mut Endpoint, now: Instant, path: &str, payload: &'static str) -> Message {
    assert_eq!(ep.notify(now, path, content(payload)), 1);
    let mut out = sent(ep);
    assert_eq!(out.len(), 1, "{out:?}");
    out.remove(0)
}

fn ack(mid: u16) -> Message {
    Message::empty(ACK, mid)
}

#[test]
fn a_non_resource_notifies_a_con_registrant_with_non() {
    let mut ep = server(
        &[("/obs-non", NotificationType::NonConfirmable)],
        Duration::from_secs(24 * 3600),
    );
    // The CON registration itself is answered in the ACK, as always.
    let answer = register(&mut ep, t(0), CON, 1, 0xa, "/obs-non");
    assert_eq!(answer.mtype, ACK);
    // A resource left to the default notifies the same client CON (it registered CON).
    register(&mut ep, t(0), CON, 2, 0xb, "/obs");
    let mut seqs = Vec::new();
    for (i, payload) in ["v1", "v2", "v3"].into_iter().enumerate() {
        let now = t(5 * (i as u64 + 1));
        let n = notify(&mut ep, now, "/obs-non", payload);
        assert_eq!((n.mtype, n.token.as_bytes()), (NON, &[0xa][..]));
        assert_eq!(&n.payload[..], payload.as_bytes());
        seqs.push(n.options.observe().unwrap().unwrap());
        let other = notify(&mut ep, now, "/obs", payload);
        assert_eq!(other.mtype, CON);
        feed(&mut ep, now, &ack(other.message_id));
    }
    assert!(
        seqs.windows(2).all(|w| w[1].is_newer_than(w[0])),
        "{seqs:?}"
    );
    // Nothing to retransmit: NON notifications are fire and forget.
    while let Some(at) = ep.poll_timeout() {
        if at > t(400) {
            break;
        }
        ep.handle_timeout(at);
        assert!(sent(&mut ep).is_empty());
    }
    assert_eq!(ep.observers_len(), 2);
}

#[test]
fn a_non_resource_still_sends_a_con_every_confirmable_interval() {
    let interval = Duration::from_secs(60);
    let mut ep = server(&[("/obs-non", NotificationType::NonConfirmable)], interval);
    register(&mut ep, t(0), NON, 1, 0xa, "/obs-non");
    let types: Vec<(u64, MessageType)> = (1..=30)
        .map(|i| {
            let now = t(5 * i);
            let n = notify(&mut ep, now, "/obs-non", "v");
            if n.mtype == CON {
                feed(&mut ep, now, &ack(n.message_id));
            }
            (5 * i, n.mtype)
        })
        .collect();
    let cons: Vec<u64> = types
        .iter()
        .filter(|(_, m)| *m == CON)
        .map(|(at, _)| *at)
        .collect();
    // The first CON once 60 s passed since the registration, then one each 60 s; NON
    // between them.
    assert_eq!(cons, [60, 120]);
    assert_eq!(types.iter().filter(|(_, m)| *m == NON).count(), 28);
}

#[test]
fn a_con_in_flight_is_replaced_by_a_con_not_a_non() {
    let interval = Duration::from_secs(10);
    let mut ep = server(&[("/obs-non", NotificationType::NonConfirmable)], interval);
    register(&mut ep, t(0), CON, 1, 0xa, "/obs-non");
    let due = notify(&mut ep, t(10), "/obs-non", "v1");
    assert_eq!(due.mtype, CON);
    // Not acknowledged yet: the next takes its place as CON (RFC 7641 §4.5.2), and the old
    // one is not retransmitted.
    let next = notify(&mut ep, t(11), "/obs-non", "v2");
    assert_eq!(next.mtype, CON);
    assert_ne!(next.message_id, due.message_id);
    let mut retransmitted = Vec::new();
    while let Some(at) = ep.poll_timeout() {
        if at > t(13) {
            break;
        }
        ep.handle_timeout(at);
        retransmitted.extend(sent(&mut ep).into_iter().map(|m| m.message_id));
    }
    assert!(
        !retransmitted.contains(&due.message_id),
        "{retransmitted:?}"
    );
    feed(&mut ep, t(13), &ack(next.message_id));
    assert_eq!(notify(&mut ep, t(14), "/obs-non", "v3").mtype, NON);
}

#[test]
fn a_reset_to_a_non_notification_removes_the_observer() {
    let mut ep = server(
        &[("/obs-non", NotificationType::NonConfirmable)],
        Duration::from_secs(24 * 3600),
    );
    register(&mut ep, t(0), CON, 1, 0xa, "/obs-non");
    let n = notify(&mut ep, t(5), "/obs-non", "v1");
    assert_eq!(n.mtype, NON);
    feed(&mut ep, t(5), &Message::empty(RST, n.message_id));
    let removed: Vec<Event> = std::iter::from_fn(|| ep.poll_event()).collect();
    assert!(
        matches!(&removed[..], [Event::ObserverRemoved { resource, .. }] if &resource[..] == b"/obs-non"),
        "{removed:?}"
    );
    assert_eq!(ep.notify(t(10), "/obs-non", content("v2")), 0);
}

#[test]
fn a_con_resource_notifies_a_non_registrant_with_con() {
    let mut ep = server(
        &[("/obs", NotificationType::Confirmable)],
        Duration::from_secs(24 * 3600),
    );
    let answer = register(&mut ep, t(0), NON, 1, 0xa, "/obs");
    assert_eq!(answer.mtype, NON);
    let n = notify(&mut ep, t(5), "/obs", "v1");
    assert_eq!(n.mtype, CON);
}

#[test]
fn the_list_applies_the_three_types() {
    let key = |b: u8, con: bool, o: &mut Observers<&'static str>| {
        let key = ObserverKey::new(client(), Token::new(&[b]).unwrap());
        o.register(t(0), key, "/r", None).unwrap();
        o.set_confirmable(&key, con);
        key
    };
    for (how, expect) in [
        (NotificationType::AsRegistered, [true, false]),
        (NotificationType::NonConfirmable, [false, false]),
        (NotificationType::Confirmable, [true, true]),
    ] {
        let mut o = Observers::new(ObserversConfig::default());
        let con_registrant = key(1, true, &mut o);
        let non_registrant = key(2, false, &mut o);
        let sent = o.notify_as(t(1), &"/r", Code::CONTENT, None, how);
        let type_of = |k: ObserverKey| sent.iter().find(|n| n.key == k).unwrap().confirmable;
        assert_eq!(
            [type_of(con_registrant), type_of(non_registrant)],
            expect,
            "{how:?}"
        );
    }
    assert_eq!(NotificationType::default(), NotificationType::AsRegistered);
}
