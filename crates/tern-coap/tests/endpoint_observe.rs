//! Scenario tests of Observe (RFC 7641) in the endpoint, one per rule or limit: the test
//! plays the peer with hand-built datagrams on a virtual clock.

mod common;

use core::time::Duration;

use bytes::Bytes;
use common::{ACK, CON, NON, RST, events, feed, peer, sent, t, the_request};
use tern_coap::endpoint::observe::ObserversConfig;
use tern_coap::endpoint::{
    Endpoint, EndpointConfig, EndpointError, Event, Instant, ObservationEnd, Request, RequestError,
    RequestId, Response,
};
use tern_coap::option::{Options, OptionsBuilder};
use tern_coap::value::Observe;
use tern_coap::{Code, Message, MessageType, Token};

fn obs(v: u32) -> Observe {
    Observe::new(v).unwrap()
}

/// A response on `token`, of type `mtype` (an ACK takes `mid` of the request).
fn response(
    mtype: MessageType,
    mid: u16,
    token: Token,
    code: Code,
    options: OptionsBuilder,
    payload: &'static str,
) -> Message {
    Message {
        mtype,
        code,
        message_id: mid,
        token,
        options: options.build().unwrap(),
        payload: Bytes::from_static(payload.as_bytes()),
    }
}

fn with_observe(v: u32) -> OptionsBuilder {
    Options::builder().push_observe(obs(v))
}

/// A client observing /obs, its registration answered with Observe 10 and "a".
fn observing() -> (Endpoint, RequestId, Message) {
    let mut ep = Endpoint::new(EndpointConfig::default(), 1);
    let id = ep
        .observe(t(0), peer(), Request::get("obs").unwrap())
        .unwrap();
    let get = sent(&mut ep).remove(0);
    assert_eq!(get.options.observe().unwrap(), Some(Observe::REGISTER));
    feed(
        &mut ep,
        t(10),
        &response(
            ACK,
            get.message_id,
            get.token,
            Code::CONTENT,
            with_observe(10),
            "a",
        ),
    );
    assert_eq!(payloads(&mut ep, id), ["a"]);
    (ep, id, get)
}

/// The payloads of the notifications of `id` among the events.
fn payloads(ep: &mut Endpoint, id: RequestId) -> Vec<String> {
    events(ep)
        .into_iter()
        .map(|e| match e {
            Event::Notification { id: got, response } if got == id => {
                String::from_utf8(response.payload.to_vec()).unwrap()
            }
            other => panic!("unexpected {other:?}"),
        })
        .collect()
}

// ----- the client -------------------------------------------------------------------------------

#[test]
fn rfc7641_3_4_an_older_notification_is_acknowledged_but_not_shown() {
    let (mut ep, id, get) = observing();
    feed(
        &mut ep,
        t(20),
        &response(CON, 0x100, get.token, Code::CONTENT, with_observe(12), "c"),
    );
    feed(
        &mut ep,
        t(30),
        &response(CON, 0x101, get.token, Code::CONTENT, with_observe(11), "b"),
    );
    let acks: Vec<(MessageType, u16)> = sent(&mut ep)
        .iter()
        .map(|m| (m.mtype, m.message_id))
        .collect();
    assert_eq!(acks, [(ACK, 0x100), (ACK, 0x101)]);
    assert_eq!(payloads(&mut ep, id), ["c"]);
    // A duplicate is acknowledged again and shown once.
    feed(
        &mut ep,
        t(40),
        &response(CON, 0x100, get.token, Code::CONTENT, with_observe(12), "c"),
    );
    assert_eq!(sent(&mut ep).len(), 1);
    assert!(events(&mut ep).is_empty());
}

#[test]
fn rfc7641_3_2_a_response_without_observe_is_the_last_notification() {
    let (mut ep, id, get) = observing();
    feed(
        &mut ep,
        t(20),
        &response(
            NON,
            0x100,
            get.token,
            Code::NOT_FOUND,
            Options::builder(),
            "",
        ),
    );
    let got = events(&mut ep);
    assert!(
        matches!(&got[0], Event::Notification { id: i, response } if *i == id && response.code == Code::NOT_FOUND)
    );
    assert_eq!(
        got[1],
        Event::ObservationEnded {
            id,
            reason: ObservationEnd::ByServer
        }
    );
    assert_eq!(got.len(), 2);
    assert_eq!(ep.requests_len(), 0);
    // What comes on the token after that is rejected.
    feed(
        &mut ep,
        t(30),
        &response(NON, 0x101, get.token, Code::CONTENT, with_observe(11), "x"),
    );
    assert_eq!(sent(&mut ep)[0].mtype, RST);
    assert!(events(&mut ep).is_empty());
}

#[test]
fn rfc7641_3_1_a_registration_answered_without_observe_is_shown_then_ended() {
    let mut ep = Endpoint::new(EndpointConfig::default(), 2);
    let id = ep
        .observe(t(0), peer(), Request::get("not-obs").unwrap())
        .unwrap();
    let get = sent(&mut ep).remove(0);
    feed(
        &mut ep,
        t(10),
        &response(
            ACK,
            get.message_id,
            get.token,
            Code::CONTENT,
            Options::builder(),
            "plain",
        ),
    );
    let got = events(&mut ep);
    assert!(
        matches!(&got[0], Event::Notification { response, .. } if &response.payload[..] == b"plain")
    );
    assert_eq!(
        got[1],
        Event::ObservationEnded {
            id,
            reason: ObservationEnd::ByServer
        }
    );
}

#[test]
fn rfc7641_3_1_a_registration_never_answered_ends_the_observation() {
    let mut ep = Endpoint::new(EndpointConfig::default(), 3);
    let id = ep
        .observe(t(0), peer(), Request::get("obs").unwrap())
        .unwrap();
    ep.handle_timeout(t(100_000));
    while let Some(at) = ep.poll_timeout() {
        ep.handle_timeout(at);
    }
    assert_eq!(
        events(&mut ep),
        [Event::ObservationEnded {
            id,
            reason: ObservationEnd::Failed(RequestError::Timeout)
        }]
    );
}

#[test]
fn rfc7641_3_3_1_after_max_age_the_client_registers_again_on_the_same_token() {
    let (mut ep, id, get) = observing();
    // Max-Age 60 (absent) + MAX_LATENCY 100 s after the last notification (at 10 ms).
    assert_eq!(ep.poll_timeout(), Some(t(160_010)));
    ep.handle_timeout(t(160_010));
    let again = sent(&mut ep).remove(0);
    assert_eq!(
        (again.mtype, again.code, again.token),
        (CON, Code::GET, get.token)
    );
    assert_eq!(again.options.observe().unwrap(), Some(Observe::REGISTER));
    assert_ne!(again.message_id, get.message_id);
    // The server lost its state and starts over at 2: accepted, it answers the registration.
    feed(
        &mut ep,
        t(160_020),
        &response(
            ACK,
            again.message_id,
            get.token,
            Code::CONTENT,
            with_observe(2),
            "b",
        ),
    );
    assert_eq!(payloads(&mut ep, id), ["b"]);
    // A re-registration reset by the server ends the observation.
    let at = ep.poll_timeout().unwrap();
    ep.handle_timeout(at);
    let third = sent(&mut ep).remove(0);
    feed(&mut ep, at, &Message::empty(RST, third.message_id));
    assert_eq!(
        events(&mut ep),
        [Event::ObservationEnded {
            id,
            reason: ObservationEnd::Failed(RequestError::Reset)
        }]
    );
}

#[test]
fn an_observation_ended_while_its_re_registration_waits_for_nstart_sends_nothing_more() {
    let (mut ep, id, get) = observing();
    // Another request holds the peer's only NSTART slot when the re-registration is due.
    let other = ep
        .request(t(160_000), peer(), Request::get("other").unwrap())
        .unwrap();
    let busy = sent(&mut ep).remove(0);
    ep.handle_timeout(t(160_010));
    assert!(sent(&mut ep).is_empty(), "the re-registration waits");
    // The server ends the observation meanwhile, with a body in blocks (no Observe).
    let mut last = response(
        NON,
        0x400,
        get.token,
        Code::CONTENT,
        Options::builder().push_block2(tern_coap::value::Block::new(0, true, 0).unwrap()),
        "",
    );
    last.payload = Bytes::from(vec![7u8; 16]);
    feed(&mut ep, t(160_100), &last);
    assert!(events(&mut ep).is_empty(), "the body is fetched first");
    // The slot frees up: the fetch goes, not the re-registration.
    feed(
        &mut ep,
        t(160_200),
        &response(
            ACK,
            busy.message_id,
            busy.token,
            Code::CONTENT,
            Options::builder(),
            "o",
        ),
    );
    assert!(matches!(events(&mut ep)[..], [Event::Response { id: got, .. }] if got == other));
    let fetch = sent(&mut ep);
    assert_eq!(fetch.len(), 1, "{fetch:?}");
    assert_eq!(fetch[0].options.observe().unwrap(), None);
    assert_eq!(
        fetch[0].options.block2(false).unwrap(),
        tern_coap::value::Block::new(1, false, 0)
    );
    let mut rest = response(
        ACK,
        fetch[0].message_id,
        fetch[0].token,
        Code::CONTENT,
        Options::builder().push_block2(tern_coap::value::Block::new(1, false, 0).unwrap()),
        "",
    );
    rest.payload = Bytes::from(vec![8u8; 4]);
    feed(&mut ep, t(160_300), &rest);
    let got = events(&mut ep);
    assert!(
        matches!(&got[0], Event::Notification { response, .. } if response.payload.len() == 20)
    );
    assert_eq!(
        got[1],
        Event::ObservationEnded {
            id,
            reason: ObservationEnd::ByServer
        }
    );
    assert!(sent(&mut ep).is_empty());
    assert_eq!(ep.requests_len(), 0);
}

#[test]
fn max_age_0_does_not_make_re_registration_a_loop() {
    let config = EndpointConfig {
        transmission: tern_coap::endpoint::TransmissionParameters {
            max_latency: Duration::ZERO,
            ..Default::default()
        },
        ..EndpointConfig::default()
    };
    let mut ep = Endpoint::new(config, 4);
    ep.observe(t(0), peer(), Request::get("obs").unwrap())
        .unwrap();
    let get = sent(&mut ep).remove(0);
    let options = Options::builder().push_observe(obs(1)).push_max_age(0);
    feed(
        &mut ep,
        t(10),
        &response(ACK, get.message_id, get.token, Code::CONTENT, options, "a"),
    );
    assert!(
        ep.poll_timeout().unwrap() >= t(1_010),
        "at least a second later"
    );
}

#[test]
fn rfc7641_3_6_cancel_deregisters_with_observe_1_and_ignores_the_answer() {
    let (mut ep, id, get) = observing();
    ep.cancel(t(20), id);
    let dereg = sent(&mut ep).remove(0);
    assert_eq!((dereg.code, dereg.token), (Code::GET, get.token));
    assert_eq!(dereg.options.observe().unwrap(), Some(Observe::DEREGISTER));
    assert_eq!(
        dereg.options.uri_path().unwrap().collect::<Vec<_>>(),
        ["obs"]
    );
    feed(
        &mut ep,
        t(30),
        &response(
            ACK,
            dereg.message_id,
            get.token,
            Code::CONTENT,
            Options::builder(),
            "z",
        ),
    );
    assert!(events(&mut ep).is_empty(), "nothing after cancel");
    assert_eq!(ep.requests_len(), 0);
    // A notification after that: RST (RFC 7641 §3.6).
    feed(
        &mut ep,
        t(40),
        &response(CON, 0x200, get.token, Code::CONTENT, with_observe(13), "n"),
    );
    assert_eq!(sent(&mut ep)[0].mtype, RST);
}

#[test]
fn rfc7641_3_6_cancel_before_the_answer_forgets_the_observation() {
    let mut ep = Endpoint::new(EndpointConfig::default(), 5);
    let id = ep
        .observe(t(0), peer(), Request::get("obs").unwrap())
        .unwrap();
    let get = sent(&mut ep).remove(0);
    ep.cancel(t(5), id);
    assert!(
        sent(&mut ep).is_empty(),
        "no deregistration for what was never registered"
    );
    feed(
        &mut ep,
        t(10),
        &response(CON, 0x300, get.token, Code::CONTENT, with_observe(1), "a"),
    );
    assert_eq!(sent(&mut ep)[0].mtype, RST);
    assert!(events(&mut ep).is_empty());
}

#[test]
fn only_get_and_fetch_observe() {
    let mut ep = Endpoint::new(EndpointConfig::default(), 6);
    assert_eq!(
        ep.observe(t(0), peer(), Request::post("obs", "x").unwrap()),
        Err(EndpointError::NotObservable)
    );
    assert!(ep.observe(t(0), peer(), Request::new(Code::FETCH)).is_ok());
}

/// Regression (property test): with 1-byte tokens, a token released by a finished exchange
/// was drawn again at once, and the old exchange's late answer taken for the new one's.
#[test]
fn a_late_answer_to_a_finished_exchange_is_not_taken_for_a_new_ones() {
    let config = EndpointConfig {
        token_length: 1,
        ..EndpointConfig::default()
    };
    let mut ep = Endpoint::new(config, 7);
    let mut tokens = Vec::new();
    for i in 0..100u64 {
        let id = ep
            .request(t(i), peer(), Request::get("a").unwrap().non_confirmable())
            .unwrap();
        let m = sent(&mut ep).remove(0);
        assert!(
            !tokens.contains(&m.token),
            "token {:?} drawn again within its lifetime",
            m.token
        );
        tokens.push(m.token);
        ep.cancel(t(i), id);
    }
    // Beyond the tokens the endpoint avoids, a draw may meet one again, but never waits.
    for i in 0..400u64 {
        let id = ep
            .request(
                t(100 + i),
                peer(),
                Request::get("a").unwrap().non_confirmable(),
            )
            .unwrap();
        assert_eq!(sent(&mut ep).len(), 1);
        ep.cancel(t(100 + i), id);
    }
}

// ----- the server -------------------------------------------------------------------------------

/// A GET /obs with Observe = 0 from `from`, on `token`.
fn registration(mtype: MessageType, mid: u16, token: u8) -> Message {
    Message {
        mtype,
        code: Code::GET,
        message_id: mid,
        token: Token::new(&[token]).unwrap(),
        options: Options::builder()
            .push_observe(Observe::REGISTER)
            .push_uri_path("obs")
            .unwrap()
            .build()
            .unwrap(),
        payload: Bytes::new(),
    }
}

fn register(ep: &mut Endpoint, now: Instant, m: &Message) -> Message {
    feed(ep, now, m);
    let id = the_request(ep).0;
    ep.respond_observable(
        now,
        id,
        Response::new(Code::CONTENT).with_payload("v"),
        "obs",
    )
    .unwrap();
    sent(ep).remove(0)
}

fn content(payload: &'static str) -> Response {
    Response::new(Code::CONTENT).with_payload(payload)
}

#[test]
fn rfc7641_4_1_beyond_the_observer_limits_a_registration_is_answered_without_observe() {
    let config = EndpointConfig {
        observers: ObserversConfig {
            max_observers: 2,
            max_per_peer: 1,
            ..ObserversConfig::default()
        },
        ..EndpointConfig::default()
    };
    let mut ep = Endpoint::new(config, 8);
    let first = register(&mut ep, t(0), &registration(CON, 1, 1));
    assert!(first.options.observe().unwrap().is_some());
    // The same client again, on another token: over its per-peer limit.
    let second = register(&mut ep, t(0), &registration(CON, 2, 2));
    assert_eq!(second.options.observe().unwrap(), None);
    assert_eq!(ep.observers_len(), 1);
    // The same token again: the same observer, updated.
    let again = register(&mut ep, t(0), &registration(CON, 3, 1));
    assert!(again.options.observe().unwrap().is_some());
    assert_eq!(ep.observers_len(), 1);
    assert_eq!(ep.notify(t(1), "obs", content("w")), 1);
}

#[test]
fn rfc7641_4_1_a_registration_answered_with_respond_leaves_the_client_unregistered() {
    let mut ep = Endpoint::new(EndpointConfig::default(), 9);
    register(&mut ep, t(0), &registration(CON, 1, 1));
    assert_eq!(ep.observers_len(), 1);
    // It registers again, and the application answers as to a plain GET: it is removed.
    feed(&mut ep, t(1), &registration(CON, 2, 1));
    let id = the_request(&mut ep).0;
    ep.respond(t(1), id, content("v")).unwrap();
    assert_eq!(sent(&mut ep)[0].options.observe().unwrap(), None);
    assert_eq!(ep.observers_len(), 0);
    assert_eq!(
        events(&mut ep),
        [Event::ObserverRemoved {
            resource: Bytes::from_static(b"obs"),
            peer: peer()
        }]
    );
    // A 4.04 through respond_observable does not register either.
    feed(&mut ep, t(2), &registration(CON, 3, 1));
    let id = the_request(&mut ep).0;
    ep.respond_observable(t(2), id, Response::new(Code::NOT_FOUND), "obs")
        .unwrap();
    assert_eq!(sent(&mut ep)[0].options.observe().unwrap(), None);
    assert_eq!(ep.observers_len(), 0);
}

#[test]
fn rfc7641_3_6_a_get_with_observe_1_deregisters_and_is_answered_as_usual() {
    let mut ep = Endpoint::new(EndpointConfig::default(), 10);
    register(&mut ep, t(0), &registration(CON, 1, 1));
    let mut dereg = registration(CON, 2, 1);
    dereg.options = Options::builder()
        .push_observe(Observe::DEREGISTER)
        .push_uri_path("obs")
        .unwrap()
        .build()
        .unwrap();
    feed(&mut ep, t(1), &dereg);
    let got = events(&mut ep);
    assert_eq!(
        got[0],
        Event::ObserverRemoved {
            resource: Bytes::from_static(b"obs"),
            peer: peer()
        }
    );
    assert!(matches!(got[1], Event::Request { .. }));
    assert_eq!(ep.notify(t(2), "obs", content("w")), 0);
}

#[test]
fn rfc7641_3_6_an_rst_to_a_non_notification_removes_the_observer() {
    let mut ep = Endpoint::new(EndpointConfig::default(), 11);
    register(&mut ep, t(0), &registration(NON, 1, 1));
    assert_eq!(ep.notify(t(1), "obs", content("w")), 1);
    let note = sent(&mut ep).remove(0);
    assert_eq!(note.mtype, NON, "a NON registration gets NON notifications");
    feed(&mut ep, t(2), &Message::empty(RST, note.message_id));
    assert_eq!(ep.observers_len(), 0);
    assert!(matches!(
        events(&mut ep)[..],
        [Event::ObserverRemoved { .. }]
    ));
}

#[test]
fn rfc7641_4_5_a_non_observer_gets_a_con_notification_every_confirmable_interval() {
    let config = EndpointConfig {
        observers: ObserversConfig {
            confirmable_interval: Duration::from_secs(60),
            ..ObserversConfig::default()
        },
        ..EndpointConfig::default()
    };
    let mut ep = Endpoint::new(config, 12);
    register(&mut ep, t(0), &registration(NON, 1, 1));
    let mut types = Vec::new();
    for s in [10, 20, 70, 80] {
        ep.notify(t(s * 1_000), "obs", content("w"));
        let m = sent(&mut ep).remove(0);
        types.push(m.mtype);
        if m.mtype == CON {
            feed(
                &mut ep,
                t(s * 1_000 + 10),
                &Message::empty(ACK, m.message_id),
            );
        }
    }
    assert_eq!(types, [NON, NON, CON, NON]);
}

#[test]
fn rfc7641_4_5_an_unacknowledged_con_notification_ends_the_observation() {
    let mut ep = Endpoint::new(EndpointConfig::default(), 13);
    register(&mut ep, t(0), &registration(CON, 1, 1));
    assert_eq!(ep.notify(t(1), "obs", content("w")), 1);
    while let Some(at) = ep.poll_timeout() {
        ep.handle_timeout(at);
        if ep.observers_len() == 0 {
            break;
        }
    }
    assert_eq!(ep.observers_len(), 0);
    assert!(
        events(&mut ep)
            .iter()
            .any(|e| matches!(e, Event::ObserverRemoved { .. }))
    );
    assert_eq!(ep.in_flight_len(), 0);
}

#[test]
fn a_separate_registration_response_that_is_reset_removes_the_observer() {
    let mut ep = Endpoint::new(EndpointConfig::default(), 14);
    feed(&mut ep, t(0), &registration(CON, 1, 1));
    let id = the_request(&mut ep).0;
    ep.handle_timeout(t(1_000));
    assert_eq!(sent(&mut ep)[0].code, Code::EMPTY, "the empty ACK");
    ep.respond_observable(t(2_000), id, content("v"), "obs")
        .unwrap();
    let separate = sent(&mut ep).remove(0);
    assert_eq!(separate.mtype, CON);
    assert_eq!(ep.observers_len(), 1);
    feed(&mut ep, t(2_100), &Message::empty(RST, separate.message_id));
    assert_eq!(ep.observers_len(), 0);
    let got = events(&mut ep);
    assert!(
        got.iter()
            .any(|e| matches!(e, Event::ObserverRemoved { .. }))
    );
    assert!(got.iter().any(|e| matches!(
        e,
        Event::ResponseFailed {
            error: RequestError::Reset,
            ..
        }
    )));
}

#[test]
fn notify_sends_nothing_for_a_code_that_is_not_a_response_or_a_resource_nobody_observes() {
    let mut ep = Endpoint::new(EndpointConfig::default(), 15);
    register(&mut ep, t(0), &registration(CON, 1, 1));
    assert_eq!(ep.notify(t(1), "obs", Response::new(Code::GET)), 0);
    assert_eq!(ep.notify(t(1), "other", content("w")), 0);
    assert!(sent(&mut ep).is_empty());
}

#[test]
fn forgetting_the_observers_sends_nothing_and_later_notifications_reach_nobody() {
    let mut ep = Endpoint::new(EndpointConfig::default(), 11);
    register(&mut ep, t(0), &registration(CON, 1, 1));
    register(&mut ep, t(0), &registration(NON, 2, 2));
    assert_eq!(ep.observers_len(), 2);
    assert_eq!(ep.forget_observers(b"other"), 0);
    assert_eq!(ep.forget_observers(b"obs"), 2);
    // Nothing goes to the clients: they learn it when they register again.
    assert!(sent(&mut ep).is_empty());
    assert_eq!(events(&mut ep).len(), 2);
    assert_eq!(ep.observers_len(), 0);
    assert_eq!(ep.notify(t(1), "obs", content("w")), 0);
    assert!(sent(&mut ep).is_empty());
}
