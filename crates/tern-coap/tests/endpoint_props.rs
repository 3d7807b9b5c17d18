//! Property test of the endpoint under a faulty network: random requests (CON and NON,
//! answered at once or late enough for a separate response, some with bodies large enough
//! to go block-wise both ways, RFC 7959) from two clients to one server, through random
//! loss, duplication and reordering.
//!
//! - Every request reaches the server application at most once, and every request gets
//!   exactly one outcome at its client (a response or a failure, never two).
//! - A response is the answer to its own request (the server echoes a unique payload).
//! - When the faults stop early enough for the retransmissions to get through, every
//!   Confirmable request reaches the application exactly once and is answered.
//! - Throughout (checked by the simulation): every datagram decodes, no deadline is left in
//!   the past, and the run ends.
//!
//! And of observations (RFC 7641) under the same faults: observers on two clients (CON or NON
//! registrations) of a resource that changes at random times, some of its representations
//! larger than a block (RFC 7959):
//!
//! - Notifications are never delivered out of order: per observation, the Observe numbers
//!   shown strictly increase and the values never go back (a re-registration's answer may
//!   repeat one), and each body is whole and the one its value had.
//! - An observation ends at most once, and nothing follows its end.
//! - Once the network recovers, every observation that did not end shows the latest value
//!   (by a notification, or by re-registering after Max-Age).

mod sim;

use std::collections::BTreeMap;

use core::time::Duration;

use bytes::Bytes;
use proptest::prelude::*;
use sim::{NetConfig, Reply, Sim};
use tern_coap::Code;
use tern_coap::endpoint::{EndpointConfig, Event, Instant, Request, RequestId, Response};

#[derive(Debug, Clone)]
struct Req {
    client: usize,
    confirmable: bool,
    /// When the client makes the request, in ms from the start.
    at_ms: u64,
    /// How long the server application takes: over the piggyback delay (1 s) it answers in a
    /// separate response.
    answer_ms: u64,
    /// Bytes of filler in the body (and so in the echo): over 1,024 it goes in blocks.
    filler: usize,
}

fn req() -> impl Strategy<Value = Req> {
    (
        0usize..2,
        prop::bool::weighted(0.75),
        0u64..8_000,
        prop_oneof![0u64..500, 1_000u64..4_000],
        prop_oneof![3 => Just(0usize), 1 => 1_000usize..3_000],
    )
        .prop_map(|(client, confirmable, at_ms, answer_ms, filler)| Req {
            client,
            confirmable,
            at_ms,
            answer_ms,
            filler,
        })
}

#[derive(Debug, Clone)]
struct Scenario {
    seed: u64,
    loss_permille: u32,
    dup_permille: u32,
    max_delay_ms: u64,
    /// Faults stop at this time (ms from the start).
    faults_for_ms: u64,
    nstart: usize,
    token_length: u8,
    requests: Vec<Req>,
}

fn scenario(max_faults_ms: u64) -> impl Strategy<Value = Scenario> {
    (
        any::<u64>(),
        0u32..500,
        0u32..300,
        1u64..2_000,
        0..max_faults_ms,
        1usize..4,
        1u8..=8,
        prop::collection::vec(req(), 1..16),
    )
        .prop_map(
            |(seed, loss, dup, max_delay_ms, faults_for_ms, nstart, token_length, mut requests)| {
                requests.sort_by_key(|r| r.at_ms);
                Scenario {
                    seed,
                    loss_permille: loss,
                    dup_permille: dup,
                    max_delay_ms,
                    faults_for_ms,
                    nstart,
                    token_length,
                    requests,
                }
            },
        )
}

struct Outcome {
    /// Per request (by index): how often the server application saw it.
    delivered: Vec<usize>,
    /// Per request: the client's outcome events.
    outcomes: Vec<Vec<Event>>,
}

fn run(s: &Scenario) -> Outcome {
    let start = Instant::from_millis(1_000);
    let net = NetConfig {
        loss_permille: s.loss_permille,
        dup_permille: s.dup_permille,
        min_delay: Duration::from_millis(1),
        max_delay: Duration::from_millis(s.max_delay_ms),
        faults_until: Some(start + Duration::from_millis(s.faults_for_ms)),
    };
    let mut sim = Sim::new(s.seed, net);
    let mut config = EndpointConfig {
        token_length: s.token_length,
        ..EndpointConfig::default()
    };
    config.transmission.nstart = s.nstart;
    let clients = [
        sim.add("192.0.2.1:5683", config.clone(), s.seed ^ 1),
        sim.add("192.0.2.2:5683", config.clone(), s.seed ^ 2),
    ];
    let server = sim.add("192.0.2.3:5683", config, s.seed ^ 3);
    // The server answers after the delay the request's payload names, echoing the payload.
    sim.set_responder(
        server,
        Box::new(|_, request: &Request| {
            let text = std::str::from_utf8(&request.payload).ok()?;
            let answer_ms: u64 = text.split(':').nth(1)?.parse().ok()?;
            Some((
                Duration::from_millis(answer_ms),
                Response::new(Code::CONTENT).with_payload(request.payload.clone()),
            ))
        }),
    );
    let mut ids: BTreeMap<(usize, RequestId), usize> = BTreeMap::new();
    let mut payloads = Vec::new();
    for (i, r) in s.requests.iter().enumerate() {
        sim.drive_until(start + Duration::from_millis(r.at_ms), 100_000);
        let mut payload = format!("{i}:{}:", r.answer_ms);
        payload.extend(std::iter::repeat_n('x', r.filler));
        let mut request = Request::post("echo", payload.clone()).unwrap();
        request.confirmable = r.confirmable;
        let id = sim.request(clients[r.client], server, request);
        ids.insert((r.client, id), i);
        payloads.push(payload);
    }
    sim.drive_bounded(200_000);
    assert_eq!(
        sim.respond_errors, 0,
        "the application answered each request it got"
    );

    let mut delivered = vec![0; s.requests.len()];
    for event in sim.events(server) {
        if let Event::Request { request, .. } = event {
            let text = std::str::from_utf8(&request.payload).unwrap().to_owned();
            let i = payloads
                .iter()
                .position(|p| *p == text)
                .expect("a known request");
            delivered[i] += 1;
        }
    }
    let mut outcomes = vec![Vec::new(); s.requests.len()];
    for (c, &node) in clients.iter().enumerate() {
        for event in sim.events(node) {
            let id = match &event {
                Event::Response { id, .. } | Event::RequestFailed { id, .. } => *id,
                other => panic!("unexpected client event {other:?}"),
            };
            let i = ids[&(c, id)];
            if let Event::Response { response, .. } = &event {
                assert_eq!(
                    response.payload, payloads[i],
                    "the response to another request"
                );
            }
            outcomes[i].push(event);
        }
    }
    for &node in clients.iter().chain([&server]) {
        assert_eq!(sim.endpoint(node).requests_len(), 0);
        assert_eq!(sim.endpoint(node).pending_len(), 0);
        assert_eq!(sim.endpoint(node).in_flight_len(), 0);
        assert_eq!(sim.endpoint(node).poll_timeout(), None);
    }
    Outcome {
        delivered,
        outcomes,
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, .. ProptestConfig::default() })]

    #[test]
    fn every_request_is_processed_at_most_once_and_completes_exactly_once(s in scenario(120_000)) {
        let o = run(&s);
        for (i, r) in s.requests.iter().enumerate() {
            prop_assert!(o.delivered[i] <= 1, "request {i} processed {} times", o.delivered[i]);
            prop_assert_eq!(o.outcomes[i].len(), 1, "request {} outcomes: {:?}", i, o.outcomes[i]);
            if matches!(o.outcomes[i][0], Event::Response { .. }) {
                prop_assert_eq!(o.delivered[i], 1, "answered, so processed");
            }
            let _ = r;
        }
    }

    #[test]
    fn when_the_network_recovers_every_confirmable_request_is_processed_and_answered_once(
        s in scenario(10_000)
    ) {
        let o = run(&s);
        for (i, r) in s.requests.iter().enumerate() {
            prop_assert!(o.delivered[i] <= 1);
            prop_assert_eq!(o.outcomes[i].len(), 1);
            if r.confirmable {
                prop_assert_eq!(o.delivered[i], 1, "request {} never processed", i);
                prop_assert!(
                    matches!(o.outcomes[i][0], Event::Response { .. }),
                    "request {} ended with {:?}", i, o.outcomes[i][0]
                );
            }
        }
    }
}

// ----- observations ------------------------------------------------------------------------

#[derive(Debug, Clone)]
struct Observer {
    client: usize,
    confirmable: bool,
    at_ms: u64,
    /// The application cancels it this long after starting it.
    cancel_after_ms: Option<u64>,
}

#[derive(Debug, Clone)]
struct Change {
    at_ms: u64,
    /// The representation's size: some fit a block, some need several.
    size: usize,
}

#[derive(Debug, Clone)]
struct ObsScenario {
    seed: u64,
    loss_permille: u32,
    dup_permille: u32,
    max_delay_ms: u64,
    faults_for_ms: u64,
    token_length: u8,
    observers: Vec<Observer>,
    changes: Vec<Change>,
}

fn obs_scenario() -> impl Strategy<Value = ObsScenario> {
    (
        any::<u64>(),
        0u32..400,
        0u32..300,
        1u64..2_000,
        0u64..20_000,
        1u8..=8,
        prop::collection::vec(
            (
                0usize..2,
                prop::bool::weighted(0.6),
                0u64..5_000,
                prop::option::weighted(0.25, 0u64..15_000),
            )
                .prop_map(|(client, confirmable, at_ms, cancel_after_ms)| Observer {
                    client,
                    confirmable,
                    at_ms,
                    cancel_after_ms,
                }),
            1..5,
        ),
        prop::collection::vec(
            (0u64..20_000, prop_oneof![8usize..200, 1_100usize..3_000])
                .prop_map(|(at_ms, size)| Change { at_ms, size }),
            1..24,
        ),
    )
        .prop_map(
            |(seed, loss, dup, max_delay_ms, faults_for_ms, token_length, observers, changes)| {
                ObsScenario {
                    seed,
                    loss_permille: loss,
                    dup_permille: dup,
                    max_delay_ms,
                    faults_for_ms,
                    token_length,
                    observers,
                    changes,
                }
            },
        )
}

/// The representation of value `v`: the value in eight digits, then filler to `size`.
fn representation(v: u32, size: usize) -> Bytes {
    let mut body = format!("{v:08}").into_bytes();
    body.extend((body.len()..size).map(|i| (i as u32 ^ v) as u8));
    body.into()
}

fn run_observations(s: &ObsScenario) {
    let start = Instant::from_millis(1_000);
    let net = NetConfig {
        loss_permille: s.loss_permille,
        dup_permille: s.dup_permille,
        min_delay: Duration::from_millis(1),
        max_delay: Duration::from_millis(s.max_delay_ms),
        faults_until: Some(start + Duration::from_millis(s.faults_for_ms)),
    };
    let mut sim = Sim::new(s.seed, net);
    let config = EndpointConfig {
        token_length: s.token_length,
        ..EndpointConfig::default()
    };
    let clients = [
        sim.add("192.0.2.1:5683", config.clone(), s.seed ^ 1),
        sim.add("192.0.2.2:5683", config.clone(), s.seed ^ 2),
    ];
    let server = sim.add("192.0.2.3:5683", config, s.seed ^ 3);
    let current = std::rc::Rc::new(std::cell::Cell::new((0u32, 40usize)));
    let state = current.clone();
    sim.set_reply_responder(
        server,
        Box::new(move |_, _request: &Request| {
            let (v, size) = state.get();
            Some(Reply {
                delay: Duration::ZERO,
                response: Response::new(Code::CONTENT).with_payload(representation(v, size)),
                resource: Some(Bytes::from_static(b"obs")),
            })
        }),
    );
    enum Step {
        Observe(usize),
        Cancel(usize),
        Change(usize),
    }
    let mut steps: Vec<(u64, Step)> = s
        .observers
        .iter()
        .enumerate()
        .map(|(i, o)| (o.at_ms, Step::Observe(i)))
        .chain(s.observers.iter().enumerate().filter_map(|(i, o)| {
            o.cancel_after_ms
                .map(|after| (o.at_ms + after, Step::Cancel(i)))
        }))
        .chain(
            s.changes
                .iter()
                .enumerate()
                .map(|(i, c)| (c.at_ms, Step::Change(i))),
        )
        .collect();
    steps.sort_by_key(|(at, _)| *at);
    // Per observer: its client and id, and when it was cancelled.
    let mut ids: Vec<(usize, RequestId, Option<Instant>)> = Vec::new();
    let mut by_observer = vec![None; s.observers.len()];
    for (at, step) in steps {
        sim.drive_until(start + Duration::from_millis(at), 100_000);
        match step {
            Step::Observe(i) => {
                let o = &s.observers[i];
                let mut request = Request::get("obs").unwrap();
                request.confirmable = o.confirmable;
                let id = sim.observe(clients[o.client], server, request);
                by_observer[i] = Some(ids.len());
                ids.push((o.client, id, None));
            }
            Step::Cancel(i) => {
                let Some(k) = by_observer[i] else { continue };
                let (client, id, _) = ids[k];
                sim.cancel(clients[client], id);
                ids[k].2 = Some(sim.now);
            }
            Step::Change(i) => {
                let (v, _) = current.get();
                current.set((v + 1, s.changes[i].size));
                let response = Response::new(Code::CONTENT)
                    .with_payload(representation(v + 1, s.changes[i].size));
                sim.notify(server, "obs", response);
            }
        }
    }
    // Long enough after the faults for Max-Age (60 s) + MAX_LATENCY (100 s) to pass, so that
    // a client the server dropped has registered again.
    let end = start + Duration::from_millis(s.faults_for_ms.max(20_000)) + Duration::from_secs(400);
    sim.drive_until(end, 1_000_000);
    assert_eq!(sim.respond_errors, 0);

    let (latest, latest_size) = current.get();
    for (client, id, cancelled) in ids {
        let timed: Vec<(Instant, Event)> = sim.nodes[clients[client]]
            .events
            .iter()
            .filter(|(_, e)| match e {
                Event::Notification { id: got, .. } | Event::ObservationEnded { id: got, .. } => {
                    *got == id
                }
                _ => false,
            })
            .cloned()
            .collect();
        if let Some(at) = cancelled {
            assert!(
                timed.iter().all(|(t, _)| *t <= at),
                "{id:?}: an event after cancel at {at:?}: {timed:?}"
            );
        }
        let events: Vec<Event> = timed.into_iter().map(|(_, e)| e).collect();
        let mut last: Option<(u32, u32)> = None;
        let mut ended = false;
        for e in &events {
            assert!(!ended, "{id:?}: an event after the end: {events:?}");
            match e {
                Event::Notification { response, .. } => {
                    let text = std::str::from_utf8(&response.payload[..8]).unwrap();
                    let v: u32 = text.parse().unwrap();
                    let seq = response.options.observe().unwrap().expect("Observe").get();
                    if let Some((lv, ls)) = last {
                        // A re-registration's answer repeats the value under a new number.
                        assert!(
                            v >= lv && seq > ls,
                            "{id:?}: value {v} (#{seq}) after {lv} (#{ls})"
                        );
                    }
                    assert_eq!(
                        response.payload,
                        representation(v, response.payload.len()),
                        "{id:?}: a body mixed from two representations"
                    );
                    last = Some((v, seq));
                }
                _ => ended = true,
            }
        }
        if !ended && cancelled.is_none() {
            let shown = last.map(|(v, _)| v);
            assert_eq!(
                shown,
                Some(latest),
                "{id:?} does not show the latest value: {events:?}"
            );
            let Some(Event::Notification { response, .. }) = events.last() else {
                unreachable!()
            };
            assert_eq!(response.payload.len(), latest_size);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, .. ProptestConfig::default() })]

    #[test]
    fn notifications_are_never_delivered_out_of_order(s in obs_scenario()) {
        run_observations(&s);
    }
}
