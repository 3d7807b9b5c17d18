//! The ETSI CoAP plugtest Observe tests (td-coap4 block.yml: TD_COAP_OBS_01, 02 and 04–14;
//! there is no 03), each run between a client endpoint and a server endpoint through the
//! network simulation. The server application answers a registration with
//! `respond_observable`; the test plays the resource changing by calling `notify` (every
//! 5 s, as the descriptions suggest). Each test checks the description's steps on the
//! datagrams in the wire log, its "client displays" steps on the client's
//! `Event::Notification`s.

mod common;
mod sim;

use std::cell::RefCell;
use std::rc::Rc;

use bytes::Bytes;
use common::{ACK, CON, NON, RST, body};
use core::time::Duration;
use sim::{NetConfig, Reply, Sim, Wire};
use tern_coap::endpoint::{
    EndpointConfig, Event, ObservationEnd, Request, RequestId, Response, TransmissionParameters,
};
use tern_coap::value::{Block, ContentFormat, Observe};
use tern_coap::{Code, MessageType, Token};

/// How often the resources change.
const PERIOD: Duration = Duration::from_secs(5);

/// Max-Age of the notifications of /obs (short, for TD_COAP_OBS_04).
const MAX_AGE: u32 = 30;

/// The server's resources: each observable one has a current value.
struct Resources {
    obs: String,
    obs_format: ContentFormat,
    large: Bytes,
}

impl Resources {
    fn representation(&self, path: &str) -> Response {
        match path {
            "obs" | "obs-non" => Response::builder(Code::CONTENT)
                .options(|o| o.push_content_format(self.obs_format).push_max_age(MAX_AGE))
                .payload(self.obs.clone())
                .build()
                .unwrap(),
            "obs-large" => Response::builder(Code::CONTENT)
                .options(|o| o.push_content_format(ContentFormat::OCTET_STREAM))
                .payload(self.large.clone())
                .build()
                .unwrap(),
            _ => Response::new(Code::NOT_FOUND),
        }
    }

    fn answer(&mut self, request: &Request) -> Reply {
        let path: Vec<&str> = request.options.uri_path().unwrap().collect();
        let path = path.join("/");
        let (response, resource) = match (request.method, path.as_str()) {
            (Code::GET, p @ ("obs" | "obs-non" | "obs-large")) => {
                (self.representation(p), Some(Bytes::from(p.to_owned())))
            }
            (Code::PUT, "obs") => {
                self.obs = String::from_utf8(request.payload.to_vec()).unwrap();
                (Response::new(Code::CHANGED), None)
            }
            (Code::DELETE, "obs") => (Response::new(Code::DELETED), None),
            _ => (Response::new(Code::NOT_FOUND), None),
        };
        Reply {
            delay: Duration::ZERO,
            response,
            resource,
        }
    }
}

struct Plugtest {
    sim: Sim,
    client: usize,
    server: usize,
    resources: Rc<RefCell<Resources>>,
}

impl Plugtest {
    fn new() -> Self {
        Plugtest::with(NetConfig::perfect())
    }

    fn with(net: NetConfig) -> Self {
        let (mut sim, client, server) = Sim::client_server(
            7641,
            net,
            EndpointConfig::default(),
            EndpointConfig::default(),
        );
        let resources = Rc::new(RefCell::new(Resources {
            obs: "v0".to_owned(),
            obs_format: ContentFormat::TEXT_PLAIN,
            large: body(2_500, 0),
        }));
        let r = resources.clone();
        sim.set_reply_responder(
            server,
            Box::new(move |_, req| Some(r.borrow_mut().answer(req))),
        );
        Plugtest {
            sim,
            client,
            server,
            resources,
        }
    }

    /// The datagrams sent since wire entry `from`, server to client and client to server.
    fn wire_since(&self, from: usize) -> (Vec<Wire>, Vec<Wire>) {
        (
            self.sim.sent_since(from, self.server, self.client),
            self.sim.sent_since(from, self.client, self.server),
        )
    }

    /// The client registers with `request` (a GET of `path`, CON or NON) and the network
    /// runs for a second. Returns the observation and its token.
    fn register(&mut self, request: Request) -> (RequestId, Token) {
        let from = self.sim.wire.len();
        let id = self.sim.observe(self.client, self.server, request);
        self.sim.run_for(Duration::from_secs(1), 10_000);
        let (_, to_server) = self.wire_since(from);
        (id, to_server[0].message.token)
    }

    /// The resource `path` changes to `value` (for /obs) and the server notifies; then the
    /// network runs for a period. Returns how many observers were notified.
    fn change(&mut self, path: &str, value: &str) -> usize {
        self.resources.borrow_mut().obs = value.to_owned();
        let response = self.resources.borrow().representation(path);
        let n = self.sim.notify(self.server, path, response);
        self.sim.run_for(PERIOD, 10_000);
        n
    }

    /// The client's notifications of `id`, as payload strings.
    fn displayed(&self, id: RequestId) -> Vec<String> {
        self.notifications(id)
            .into_iter()
            .map(|r| String::from_utf8(r.payload.to_vec()).unwrap())
            .collect()
    }

    fn notifications(&self, id: RequestId) -> Vec<Response> {
        self.sim
            .events(self.client)
            .into_iter()
            .filter_map(|e| match e {
                Event::Notification { id: got, response } if got == id => Some(response),
                _ => None,
            })
            .collect()
    }

    fn ended(&self, id: RequestId) -> Vec<ObservationEnd> {
        self.sim
            .events(self.client)
            .into_iter()
            .filter_map(|e| match e {
                Event::ObservationEnded { id: got, reason } if got == id => Some(reason),
                _ => None,
            })
            .collect()
    }

    fn removed(&self) -> usize {
        self.sim
            .events(self.server)
            .iter()
            .filter(|e| matches!(e, Event::ObserverRemoved { .. }))
            .count()
    }
}

fn observe(w: &Wire) -> Option<Observe> {
    w.message.options.observe().unwrap()
}

fn get(path: &str) -> Request {
    Request::get(path).unwrap()
}

/// Checks the notifications in `wire` (server to client, those with a code): all of type
/// `mtype`, code 2.05, the format, token `t`, increasing Observe after `after`.
fn check_notifications(wire: &[Wire], mtype: MessageType, t: Token, after: Observe) -> usize {
    let mut last = after;
    let mut n = 0;
    for w in wire.iter().filter(|w| !w.message.code.is_empty()) {
        assert!(w.is(mtype), "type of {w:?}");
        assert_eq!(w.message.code, Code::CONTENT);
        assert_eq!(w.message.token, t, "TOKVAL2");
        assert_eq!(
            w.message.options.content_format().unwrap(),
            Some(ContentFormat::TEXT_PLAIN),
            "CF3"
        );
        let seq = observe(w).expect("Observe");
        assert!(seq.is_newer_than(last), "OBSINCR: {seq:?} after {last:?}");
        last = seq;
        n += 1;
    }
    n
}

/// Steps 2–3 of the basic tests: the registration on the wire and its response.
fn check_registration(
    p: &Plugtest,
    from: usize,
    mtype: MessageType,
    reply: MessageType,
) -> Observe {
    let (to_client, to_server) = p.wire_since(from);
    let get = &to_server[0];
    assert!(get.is(mtype));
    assert_eq!(get.message.code, Code::GET);
    assert!(!get.message.token.is_empty(), "GENTOK");
    assert_eq!(
        observe(get),
        Some(Observe::REGISTER),
        "Observe option = empty"
    );
    let response = &to_client[0];
    assert!(response.is(reply));
    assert_eq!(response.message.code, Code::CONTENT);
    assert_eq!(response.message.token, get.message.token, "TOKVAL2");
    assert_eq!(
        response.message.options.content_format().unwrap(),
        Some(ContentFormat::TEXT_PLAIN)
    );
    observe(response).expect("Observe option with a sequence number")
}

#[test]
fn td_coap_obs_01_observation_with_con_messages() {
    let mut p = Plugtest::new();
    let from = p.sim.wire.len();
    let (id, t) = p.register(get("obs"));
    let first = check_registration(&p, from, CON, ACK);
    let from = p.sim.wire.len();
    for v in 1..=3 {
        assert_eq!(p.change("obs", &format!("v{v}")), 1);
    }
    let (to_client, to_server) = p.wire_since(from);
    assert_eq!(check_notifications(&to_client, CON, t, first), 3, "step 4");
    // Step 5: the client acknowledges each notification.
    let acks: Vec<u16> = to_server
        .iter()
        .filter(|w| w.is(ACK))
        .map(|w| w.message.message_id)
        .collect();
    let mids: Vec<u16> = to_client.iter().map(|w| w.message.message_id).collect();
    assert_eq!(acks, mids);
    // Step 6: the client displays each.
    assert_eq!(p.displayed(id), ["v0", "v1", "v2", "v3"]);
    assert!(p.ended(id).is_empty());
}

#[test]
fn td_coap_obs_02_observation_with_non_messages() {
    let mut p = Plugtest::new();
    let from = p.sim.wire.len();
    let (id, t) = p.register(get("obs-non").non_confirmable());
    let first = check_registration(&p, from, NON, NON);
    let from = p.sim.wire.len();
    for v in 1..=3 {
        assert_eq!(p.change("obs-non", &format!("v{v}")), 1);
    }
    let (to_client, to_server) = p.wire_since(from);
    assert_eq!(check_notifications(&to_client, NON, t, first), 3, "step 3");
    assert!(to_server.is_empty(), "nothing to acknowledge");
    assert_eq!(p.displayed(id), ["v0", "v1", "v2", "v3"]);
}

#[test]
fn td_coap_obs_04_client_detection_of_deregistration_max_age() {
    let mut p = Plugtest::new();
    let (id, t) = p.register(get("obs"));
    p.change("obs", "v1");
    assert_eq!(p.displayed(id), ["v0", "v1"]);
    // The server loses its observation state: no notifications any more.
    p.sim.reboot(p.server, EndpointConfig::default(), 23);
    let rebooted = p.sim.now;
    let from = p.sim.wire.len();
    assert_eq!(
        p.change("obs", "v2"),
        0,
        "the rebooted server has no observers"
    );
    assert_eq!(p.displayed(id), ["v0", "v1"], "no updated information");
    // Max-Age + MAX_LATENCY after the last notification, the client registers again with
    // token t.
    let latency = TransmissionParameters::default().max_latency;
    p.sim
        .run_for(Duration::from_secs(u64::from(MAX_AGE)) + latency, 10_000);
    let (to_client, to_server) = p.wire_since(from);
    let again = &to_server[0];
    assert!(again.is(CON));
    assert_eq!(again.message.code, Code::GET);
    assert_eq!(again.message.token, t, "using token t again");
    assert_eq!(observe(again), Some(Observe::REGISTER));
    let waited = again.at.saturating_duration_since(rebooted);
    assert!(
        waited >= Duration::from_secs(u64::from(MAX_AGE)) + latency - PERIOD,
        "not before Max-Age + MAX_LATENCY: {waited:?}"
    );
    // Step 12: the new registration's response, sequence number not necessarily increasing.
    let answer = &to_client[0];
    assert!(answer.is(ACK));
    assert_eq!(answer.message.token, t);
    let restart = observe(answer).expect("Observe");
    // Steps 13-15: notifications again, increasing from there.
    let from = p.sim.wire.len();
    assert_eq!(p.change("obs", "v3"), 1);
    let (to_client, _) = p.wire_since(from);
    assert_eq!(check_notifications(&to_client, CON, t, restart), 1);
    assert_eq!(p.displayed(id), ["v0", "v1", "v2", "v3"]);
    assert!(p.ended(id).is_empty());
}

#[test]
fn td_coap_obs_05_server_detection_of_deregistration_client_off() {
    let mut p = Plugtest::new();
    let (id, t) = p.register(get("obs"));
    p.change("obs", "v1");
    assert_eq!(p.displayed(id), ["v0", "v1"]);
    // The client is switched off: nothing reaches it any more.
    let client = p.sim.addr(p.client);
    p.sim.drop_rule = Some(Box::new(move |w: &Wire| w.to == client));
    let from = p.sim.wire.len();
    assert_eq!(
        p.sim
            .notify(p.server, "obs", p.resources.borrow().representation("obs")),
        1
    );
    p.sim.run_for(Duration::from_secs(3), 10_000);
    // The resource changes while the notification is retransmitted: the new one replaces
    // it, with an updated Observe value.
    p.resources.borrow_mut().obs = "v3".to_owned();
    let response = p.resources.borrow().representation("obs");
    assert_eq!(p.sim.notify(p.server, "obs", response), 1);
    p.sim.run_for(Duration::from_secs(120), 10_000);
    let (to_client, _) = p.wire_since(from);
    assert!(to_client.iter().all(|w| w.is(CON) && w.message.token == t));
    let mids: Vec<u16> = to_client.iter().map(|w| w.message.message_id).collect();
    let first = mids[0];
    let second = *mids
        .iter()
        .find(|m| **m != first)
        .expect("a second notification");
    let switch = mids.iter().position(|m| *m == second).unwrap();
    assert!(switch >= 2, "the first was retransmitted: {mids:?}");
    assert!(
        mids[switch..].iter().all(|m| *m == second),
        "the first is not retransmitted once replaced"
    );
    assert!(
        observe(&to_client[switch])
            .unwrap()
            .is_newer_than(observe(&to_client[0]).unwrap())
    );
    // It takes over the first one's retransmission count: MAX_RETRANSMIT (4)
    // retransmissions in all, besides the first transmission of each.
    assert_eq!(to_client.len() - 2, 4, "{mids:?}");
    // After the final timeout the server stops.
    assert_eq!(p.removed(), 1);
    assert_eq!(p.sim.endpoint(p.server).observers_len(), 0);
    assert_eq!(p.change("obs", "v4"), 0);
}

#[test]
fn td_coap_obs_06_server_detection_of_deregistration_explicit_rst() {
    let mut p = Plugtest::new();
    let (id, t) = p.register(get("obs"));
    p.change("obs", "v1");
    // The client reboots and knows nothing of the observation.
    p.sim.reboot(p.client, EndpointConfig::default(), 12);
    let events_before = p.sim.events(p.client).len();
    let from = p.sim.wire.len();
    assert_eq!(p.change("obs", "v2"), 1, "the server still notifies");
    let (to_client, to_server) = p.wire_since(from);
    assert_eq!(to_client[0].message.token, t);
    // The client rejects it with RST; the server removes the observer.
    assert!(to_server[0].is(RST));
    assert_eq!(
        to_server[0].message.message_id,
        to_client[0].message.message_id
    );
    assert_eq!(p.removed(), 1);
    assert_eq!(p.change("obs", "v3"), 0, "no further notification");
    assert_eq!(
        p.sim.events(p.client).len(),
        events_before,
        "nothing displayed"
    );
    assert_eq!(p.displayed(id), ["v0", "v1"]);
}

#[test]
fn td_coap_obs_07_server_cleans_the_observers_list_on_delete() {
    let mut p = Plugtest::new();
    let (id, t) = p.register(get("obs"));
    p.change("obs", "v1");
    // The resource is deleted (by a DELETE), and the server notifies its end.
    p.sim
        .request(p.client, p.server, Request::delete("obs").unwrap());
    p.sim.run_for(Duration::from_secs(1), 10_000);
    let from = p.sim.wire.len();
    assert_eq!(
        p.sim
            .notify(p.server, "obs", Response::new(Code::NOT_FOUND)),
        1
    );
    p.sim.run_for(PERIOD, 10_000);
    let (to_client, _) = p.wire_since(from);
    assert!(to_client[0].is(CON));
    assert_eq!(to_client[0].message.code, Code::NOT_FOUND);
    assert_eq!(to_client[0].message.token, t);
    assert_eq!(observe(&to_client[0]), None, "NOOBS");
    assert_eq!(p.change("obs", "v2"), 0, "no further notification");
    let shown = p.notifications(id);
    assert_eq!(shown.len(), 3);
    assert_eq!(shown[2].code, Code::NOT_FOUND);
    assert_eq!(p.ended(id), [ObservationEnd::ByServer]);
    assert_eq!(p.removed(), 1);
}

#[test]
fn td_coap_obs_08_server_cleans_the_observers_list_when_the_content_format_changes() {
    let mut p = Plugtest::new();
    let (id, t) = p.register(get("obs"));
    p.change("obs", "v1");
    p.resources.borrow_mut().obs_format = ContentFormat::XML;
    let from = p.sim.wire.len();
    assert_eq!(p.change("obs", "<v2/>"), 1);
    let (to_client, _) = p.wire_since(from);
    assert!(to_client[0].is(CON));
    assert_eq!(to_client[0].message.code, Code::NOT_ACCEPTABLE);
    assert_eq!(to_client[0].message.token, t);
    assert_eq!(observe(&to_client[0]), None, "NOOBS");
    assert_eq!(p.change("obs", "<v3/>"), 0, "no further notification");
    assert_eq!(
        p.notifications(id).last().unwrap().code,
        Code::NOT_ACCEPTABLE
    );
    assert_eq!(p.ended(id), [ObservationEnd::ByServer]);
}

#[test]
fn td_coap_obs_09_update_of_the_observed_resource() {
    let mut p = Plugtest::new();
    let (id, t) = p.register(get("obs"));
    p.change("obs", "v1");
    // Another request updates /obs (a PUT), and the server notifies the new value.
    p.sim
        .request(p.client, p.server, Request::put("obs", "new").unwrap());
    p.sim.run_for(Duration::from_secs(1), 10_000);
    let from = p.sim.wire.len();
    let value = p.resources.borrow().obs.clone();
    assert_eq!(value, "new");
    assert_eq!(p.change("obs", &value), 1);
    let (to_client, to_server) = p.wire_since(from);
    assert_eq!(
        check_notifications(&to_client, CON, t, Observe::REGISTER),
        1
    );
    assert_eq!(&to_client[0].message.payload[..], b"new");
    assert!(to_server[0].is(ACK));
    assert_eq!(p.displayed(id), ["v0", "v1", "new"]);
}

#[test]
fn td_coap_obs_10_get_does_not_cancel_the_observation() {
    let mut p = Plugtest::new();
    let (id, t) = p.register(get("obs"));
    p.change("obs", "v1");
    // An unrelated GET of /obs, without Observe, on another token.
    let from = p.sim.wire.len();
    let plain = p.sim.request(p.client, p.server, get("obs"));
    p.sim.run_for(Duration::from_secs(1), 10_000);
    let (to_client, to_server) = p.wire_since(from);
    let t2 = to_server[0].message.token;
    assert_ne!(t2, t);
    assert_eq!(observe(&to_server[0]), None, "DEFNOOBS");
    assert!(to_client[0].is(ACK));
    assert_eq!(to_client[0].message.token, t2);
    assert_eq!(observe(&to_client[0]), None, "DEFNOOBS");
    assert!(p.sim.events(p.client).iter().any(
        |e| matches!(e, Event::Response { id: got, response } if *got == plain && &response.payload[..] == b"v1")
    ));
    // The notifications still arrive on t.
    let from = p.sim.wire.len();
    assert_eq!(p.change("obs", "v2"), 1);
    let (to_client, _) = p.wire_since(from);
    assert_eq!(
        check_notifications(&to_client, CON, t, Observe::REGISTER),
        1
    );
    assert_eq!(p.displayed(id), ["v0", "v1", "v2"]);
}

#[test]
fn td_coap_obs_11_observation_with_con_messages_lossy() {
    // A lossy network (CoAP_CFG_LOSSY) for the whole test.
    let net = NetConfig {
        loss_permille: 300,
        dup_permille: 100,
        min_delay: Duration::from_millis(5),
        max_delay: Duration::from_millis(400),
        faults_until: None,
    };
    let mut p = Plugtest::with(net);
    let (id, t) = p.register(get("obs"));
    p.sim.run_for(Duration::from_secs(60), 10_000);
    let from = p.sim.wire.len();
    for v in 1..=20 {
        p.change("obs", &format!("v{v}"));
    }
    p.sim.run_for(Duration::from_secs(60), 10_000);
    let (to_client, _) = p.wire_since(from);
    // Never more than one notification in flight: once a new one is sent, the one before
    // is never sent again.
    let mut gone = std::collections::BTreeSet::new();
    let mut current = None;
    for w in to_client.iter().filter(|w| w.message.token == t) {
        let mid = w.message.message_id;
        assert!(
            !gone.contains(&mid),
            "notification {mid} sent again after a newer one"
        );
        if current != Some(mid) {
            if let Some(old) = current {
                gone.insert(old);
            }
            current = Some(mid);
        }
    }
    // The client displays what arrives, in order, ending with the last value (the
    // observation survived the losses).
    let shown = p.displayed(id);
    let values: Vec<u32> = shown.iter().map(|s| s[1..].parse().unwrap()).collect();
    assert!(
        values.windows(2).all(|w| w[0] < w[1]),
        "in order: {values:?}"
    );
    assert_eq!(values.last(), Some(&20), "{values:?}");
    assert!(p.ended(id).is_empty());
}

#[test]
fn td_coap_obs_12_get_with_observe_1_cancels_the_observation() {
    let mut p = Plugtest::new();
    let (id, t) = p.register(get("obs"));
    p.change("obs", "v1");
    let from = p.sim.wire.len();
    p.sim.cancel(p.client, id);
    p.sim.run_for(Duration::from_secs(1), 10_000);
    let (to_client, to_server) = p.wire_since(from);
    let cancel = &to_server[0];
    assert!(cancel.is(CON));
    assert_eq!(cancel.message.code, Code::GET);
    assert_eq!(cancel.message.token, t, "token t");
    assert_eq!(observe(cancel), Some(Observe::DEREGISTER));
    assert_eq!(
        cancel
            .message
            .options
            .uri_path()
            .unwrap()
            .collect::<Vec<_>>(),
        ["obs"]
    );
    let answer = &to_client[0];
    assert!(answer.is(ACK));
    assert_eq!(answer.message.code, Code::CONTENT);
    assert_eq!(answer.message.token, t);
    assert_eq!(observe(answer), None, "DEFNOOBS");
    // No further notifications; nothing more for the client to display.
    assert_eq!(p.change("obs", "v2"), 0);
    assert_eq!(p.removed(), 1);
    assert_eq!(p.displayed(id), ["v0", "v1"]);
    assert!(p.ended(id).is_empty(), "cancelled: no event");
    assert_eq!(p.sim.endpoint(p.client).requests_len(), 0);
}

/// For OBS_13 and _14: the client observes /obs-large; each representation in `sizes`
/// becomes the resource in turn and is notified; the client displays each whole.
fn observe_large(sizes: &[usize]) {
    let mut p = Plugtest::new();
    p.resources.borrow_mut().large = body(sizes[0], 0);
    let from = p.sim.wire.len();
    let (id, t) = p.register(get("obs-large"));
    p.sim.run_for(Duration::from_secs(1), 10_000);
    let (to_client, to_server) = p.wire_since(from);
    // The registration's response carries the first block, with Observe.
    let blocks = sizes[0].div_ceil(1024);
    assert!(observe(&to_client[0]).is_some());
    assert_eq!(
        to_client[0].message.options.block2(false).unwrap(),
        Block::new(0, blocks > 1, 6)
    );
    // The other blocks come with GETs without Observe, on other tokens.
    assert_eq!(to_server.len(), blocks);
    for (i, w) in to_server.iter().enumerate().skip(1) {
        assert_eq!(observe(w), None);
        assert_ne!(w.message.token, t);
        assert_eq!(
            w.message.options.block2(false).unwrap(),
            Block::new(i as u32, false, 6)
        );
    }
    for (v, &size) in sizes.iter().enumerate().skip(1) {
        let representation = body(size, v as u8);
        p.resources.borrow_mut().large = representation.clone();
        let response = p.resources.borrow().representation("obs-large");
        let from = p.sim.wire.len();
        assert_eq!(p.sim.notify(p.server, "obs-large", response), 1);
        p.sim.run_for(PERIOD, 10_000);
        let (to_client, to_server) = p.wire_since(from);
        let note = &to_client[0];
        assert!(note.is(CON));
        assert_eq!(note.message.token, t);
        assert!(observe(note).is_some());
        let blocks = size.div_ceil(1024);
        let block2 = note.message.options.block2(false).unwrap();
        if blocks > 1 {
            assert_eq!(block2, Block::new(0, true, 6));
        } else {
            assert_eq!(block2, None, "a small representation goes whole");
        }
        let gets = to_server
            .iter()
            .filter(|w| w.message.code == Code::GET)
            .count();
        assert_eq!(gets, blocks - 1);
    }
    let shown = p.notifications(id);
    assert_eq!(shown.len(), sizes.len());
    for (v, (response, &size)) in shown.iter().zip(sizes).enumerate() {
        assert_eq!(response.payload, body(size, v as u8), "notification {v}");
        assert!(response.options.observe().unwrap().is_some());
        assert_eq!(response.options.block2(false).unwrap(), None);
    }
    assert!(p.ended(id).is_empty());
    // The application answered the registration once; the endpoint served the blocks.
    assert_eq!(p.sim.respond_errors, 0);
}

#[test]
fn td_coap_obs_13_observation_of_a_large_resource() {
    observe_large(&[2_500, 2_600, 3_000]);
}

#[test]
fn td_coap_obs_14_observation_of_a_large_resource_of_variable_size() {
    observe_large(&[2_500, 700, 1_500, 4_100, 1_024]);
}
