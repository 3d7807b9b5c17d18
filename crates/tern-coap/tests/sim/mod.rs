//! A deterministic network simulation for the CoAP endpoint: endpoints at addresses on a
//! virtual clock, a network with seeded loss, duplication, delay (and so reordering) plus
//! scripted drops, a tiny application per endpoint that answers requests (at once or after
//! a delay), and a wire log of every datagram sent, decoded.
//!
//! `drive_bounded` runs until nothing is left to do and fails on a busy loop (an endpoint
//! whose deadline is not after the time it was just given) or a runaway (more steps than
//! allowed). Used as `mod sim;` from the test files.
#![allow(dead_code)]

use core::net::SocketAddr;
use core::time::Duration;

use bytes::Bytes;
use tern_coap::endpoint::{
    Endpoint, EndpointConfig, Event, IncomingId, Instant, Request, RequestId, Response,
};
use tern_coap::{Message, MessageType};

/// splitmix64: the harness's own generator, so the network's choices never depend on the
/// endpoints' seeds.
#[derive(Debug, Clone)]
pub(crate) struct SimRng(u64);

impl SimRng {
    pub(crate) fn new(seed: u64) -> Self {
        SimRng(seed)
    }

    pub(crate) fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// True with probability `permille` / 1000.
    pub(crate) fn chance(&mut self, permille: u32) -> bool {
        self.next_u64() % 1_000 < u64::from(permille)
    }

    /// A duration in `[lo, hi]`.
    pub(crate) fn between(&mut self, lo: Duration, hi: Duration) -> Duration {
        if hi <= lo {
            return lo;
        }
        let span = (hi - lo).as_micros() as u64;
        lo + Duration::from_micros(self.next_u64() % (span + 1))
    }
}

/// What the network does to datagrams.
#[derive(Debug, Clone)]
pub(crate) struct NetConfig {
    /// Chance of losing a datagram, per mille.
    pub(crate) loss_permille: u32,
    /// Chance of delivering a datagram twice, per mille.
    pub(crate) dup_permille: u32,
    /// Delay range; datagrams with different delays overtake each other.
    pub(crate) min_delay: Duration,
    pub(crate) max_delay: Duration,
    /// Loss and duplication only for datagrams sent before this time (`None`: always).
    pub(crate) faults_until: Option<Instant>,
}

impl NetConfig {
    /// No loss, no duplication, 10 ms each way.
    pub(crate) fn perfect() -> Self {
        NetConfig {
            loss_permille: 0,
            dup_permille: 0,
            min_delay: Duration::from_millis(10),
            max_delay: Duration::from_millis(10),
            faults_until: None,
        }
    }
}

/// One datagram as it left an endpoint.
#[derive(Debug, Clone)]
pub(crate) struct Wire {
    pub(crate) at: Instant,
    pub(crate) from: SocketAddr,
    pub(crate) to: SocketAddr,
    pub(crate) message: Message,
    /// Lost by the network or a scripted drop.
    pub(crate) dropped: bool,
    /// Delivered twice.
    pub(crate) duplicated: bool,
}

impl Wire {
    pub(crate) fn is(&self, mtype: MessageType) -> bool {
        self.message.mtype == mtype
    }
}

/// The test application of a node: given a request, the delay after which it answers and
/// the answer (`None`: it never answers).
pub(crate) type Responder = Box<dyn FnMut(SocketAddr, &Request) -> Option<(Duration, Response)>>;

/// An answer of the application, possibly making the resource `resource` observable
/// (`respond_observable`).
pub(crate) struct Reply {
    pub(crate) delay: Duration,
    pub(crate) response: Response,
    pub(crate) resource: Option<Bytes>,
}

/// A test application that answers with [`Reply`].
pub(crate) type ReplyResponder = Box<dyn FnMut(SocketAddr, &Request) -> Option<Reply>>;

/// Decides scripted drops: called for every datagram, `true` drops it.
pub(crate) type DropRule = Box<dyn FnMut(&Wire) -> bool>;

pub(crate) struct Node {
    pub(crate) addr: SocketAddr,
    pub(crate) endpoint: Endpoint,
    /// Every event, with when it came out.
    pub(crate) events: Vec<(Instant, Event)>,
    responder: Option<ReplyResponder>,
}

struct InFlight {
    deliver_at: Instant,
    seq: u64,
    from: SocketAddr,
    to: usize,
    datagram: Bytes,
}

struct Scheduled {
    at: Instant,
    seq: u64,
    node: usize,
    id: IncomingId,
    response: Response,
    resource: Option<Bytes>,
}

pub(crate) struct Sim {
    pub(crate) now: Instant,
    pub(crate) net: NetConfig,
    pub(crate) nodes: Vec<Node>,
    pub(crate) wire: Vec<Wire>,
    pub(crate) drop_rule: Option<DropRule>,
    rng: SimRng,
    in_flight: Vec<InFlight>,
    scheduled: Vec<Scheduled>,
    seq: u64,
    /// Responses the application could not send (`respond` refused them).
    pub(crate) respond_errors: usize,
}

/// What the next step does.
enum Next {
    Deliver(usize),
    Respond(usize),
    Timeout(usize),
}

impl Sim {
    pub(crate) fn new(seed: u64, net: NetConfig) -> Self {
        Sim {
            now: Instant::from_millis(1_000),
            net,
            nodes: Vec::new(),
            wire: Vec::new(),
            drop_rule: None,
            rng: SimRng::new(seed),
            in_flight: Vec::new(),
            scheduled: Vec::new(),
            seq: 0,
            respond_errors: 0,
        }
    }

    /// A client at 192.0.2.1:5683 and a server at 192.0.2.2:5683 (endpoint seeds 11 and 22):
    /// the pair every plugtest runs. Returns the simulation and the two nodes.
    pub(crate) fn client_server(
        seed: u64,
        net: NetConfig,
        client: EndpointConfig,
        server: EndpointConfig,
    ) -> (Self, usize, usize) {
        let mut sim = Sim::new(seed, net);
        let client = sim.add("192.0.2.1:5683", client, 11);
        let server = sim.add("192.0.2.2:5683", server, 22);
        (sim, client, server)
    }

    /// Adds an endpoint at `addr`; returns its index.
    pub(crate) fn add(&mut self, addr: &str, config: EndpointConfig, seed: u64) -> usize {
        self.nodes.push(Node {
            addr: addr.parse().expect("a socket address"),
            endpoint: Endpoint::new(config, seed),
            events: Vec::new(),
            responder: None,
        });
        self.nodes.len() - 1
    }

    pub(crate) fn set_responder(&mut self, node: usize, mut responder: Responder) {
        self.nodes[node].responder = Some(Box::new(move |peer, request| {
            responder(peer, request).map(|(delay, response)| Reply {
                delay,
                response,
                resource: None,
            })
        }));
    }

    pub(crate) fn set_reply_responder(&mut self, node: usize, responder: ReplyResponder) {
        self.nodes[node].responder = Some(responder);
    }

    /// Replaces the endpoint of `node` with a new one that knows nothing (a reboot); its
    /// application stays.
    pub(crate) fn reboot(&mut self, node: usize, config: EndpointConfig, seed: u64) {
        self.nodes[node].endpoint = Endpoint::new(config, seed);
    }

    /// `from` observes with `request` at `to` now.
    pub(crate) fn observe(&mut self, from: usize, to: usize, request: Request) -> RequestId {
        let (now, peer) = (self.now, self.addr(to));
        let id = self.nodes[from]
            .endpoint
            .observe(now, peer, request)
            .expect("the observation is accepted");
        self.after_input(from);
        id
    }

    /// `node` notifies the observers of `resource` now; returns how many it notified.
    pub(crate) fn notify(&mut self, node: usize, resource: &str, response: Response) -> usize {
        let now = self.now;
        let n = self.nodes[node].endpoint.notify(now, resource, response);
        self.after_input(node);
        n
    }

    /// `node` cancels `id` now.
    pub(crate) fn cancel(&mut self, node: usize, id: RequestId) {
        let now = self.now;
        self.nodes[node].endpoint.cancel(now, id);
        self.after_input(node);
    }

    pub(crate) fn addr(&self, node: usize) -> SocketAddr {
        self.nodes[node].addr
    }

    pub(crate) fn endpoint(&mut self, node: usize) -> &mut Endpoint {
        &mut self.nodes[node].endpoint
    }

    /// `from` sends `request` to `to` now.
    pub(crate) fn request(&mut self, from: usize, to: usize, request: Request) -> RequestId {
        let (now, peer) = (self.now, self.addr(to));
        let id = self.nodes[from]
            .endpoint
            .request(now, peer, request)
            .expect("the request is accepted");
        self.after_input(from);
        id
    }

    /// `from` pings `to` now.
    pub(crate) fn ping(&mut self, from: usize, to: usize) -> RequestId {
        let (now, peer) = (self.now, self.addr(to));
        let id = self.nodes[from]
            .endpoint
            .ping(now, peer)
            .expect("the ping is accepted");
        self.after_input(from);
        id
    }

    /// Lets the clock run to `t` (no step runs: use it between drives).
    pub(crate) fn advance_to(&mut self, t: Instant) {
        self.now = self.now.max(t);
    }

    /// Events of `node` so far, without their times.
    pub(crate) fn events(&self, node: usize) -> Vec<Event> {
        self.nodes[node]
            .events
            .iter()
            .map(|(_, e)| e.clone())
            .collect()
    }

    /// The datagrams sent from `from` to `to`, in order.
    pub(crate) fn sent(&self, from: usize, to: usize) -> Vec<Wire> {
        self.sent_since(0, from, to)
    }

    /// The datagrams sent from `from` to `to` from wire entry `since` on (a `wire.len()`
    /// taken earlier), in order.
    pub(crate) fn sent_since(&self, since: usize, from: usize, to: usize) -> Vec<Wire> {
        let (f, t) = (self.addr(from), self.addr(to));
        self.wire[since..]
            .iter()
            .filter(|w| w.from == f && w.to == t)
            .cloned()
            .collect()
    }

    /// The events of `node` that end its request `id` (a response, a failure or a pong), in
    /// order: exactly one when all went well.
    pub(crate) fn outcomes(&self, node: usize, id: RequestId) -> Vec<Event> {
        self.events(node)
            .into_iter()
            .filter(|e| match e {
                Event::Response { id: got, .. }
                | Event::RequestFailed { id: got, .. }
                | Event::Pong { id: got } => *got == id,
                _ => false,
            })
            .collect()
    }

    fn node_index(&self, addr: SocketAddr) -> Option<usize> {
        self.nodes.iter().position(|n| n.addr == addr)
    }

    /// After an input or command on `node`: checks its deadline, sends what it wants sent
    /// through the network, gives its events to its application.
    fn after_input(&mut self, node: usize) {
        let now = self.now;
        if let Some(deadline) = self.nodes[node].endpoint.poll_timeout() {
            assert!(
                deadline > now,
                "busy loop: {} has a deadline {deadline:?} not after now {now:?}",
                self.nodes[node].addr
            );
        }
        let from = self.nodes[node].addr;
        while let Some(t) = self.nodes[node].endpoint.poll_transmit() {
            let message = Message::decode(t.datagram.clone())
                .unwrap_or_else(|e| panic!("{from} sent a datagram that does not decode: {e}"));
            let mut wire = Wire {
                at: now,
                from,
                to: t.destination,
                message,
                dropped: false,
                duplicated: false,
            };
            let faulty = self.net.faults_until.is_none_or(|until| now < until);
            let scripted = self.drop_rule.as_mut().is_some_and(|rule| rule(&wire));
            wire.dropped = scripted || (faulty && self.rng.chance(self.net.loss_permille));
            wire.duplicated = !wire.dropped && faulty && self.rng.chance(self.net.dup_permille);
            if let (false, Some(to)) = (wire.dropped, self.node_index(t.destination)) {
                let copies = if wire.duplicated { 2 } else { 1 };
                for _ in 0..copies {
                    let delay = self.rng.between(self.net.min_delay, self.net.max_delay);
                    self.seq += 1;
                    self.in_flight.push(InFlight {
                        deliver_at: now + delay,
                        seq: self.seq,
                        from,
                        to,
                        datagram: t.datagram.clone(),
                    });
                }
            }
            self.wire.push(wire);
        }
        while let Some(event) = self.nodes[node].endpoint.poll_event() {
            if let Event::Request { id, peer, request } = &event {
                if let Some(responder) = self.nodes[node].responder.as_mut() {
                    if let Some(reply) = responder(*peer, request) {
                        self.seq += 1;
                        self.scheduled.push(Scheduled {
                            at: now + reply.delay,
                            seq: self.seq,
                            node,
                            id: *id,
                            response: reply.response,
                            resource: reply.resource,
                        });
                    }
                }
            }
            self.nodes[node].events.push((now, event));
        }
    }

    /// The earliest thing to do, and when: deliveries first, then answers, then timeouts, at
    /// equal times.
    fn next(&self) -> Option<(Instant, Next)> {
        let mut best: Option<(Instant, u8, u64, Next)> = None;
        let mut consider = |at: Instant, rank: u8, seq: u64, next: Next| {
            if best
                .as_ref()
                .is_none_or(|(bt, br, bs, _)| (at, rank, seq) < (*bt, *br, *bs))
            {
                best = Some((at, rank, seq, next));
            }
        };
        for (i, f) in self.in_flight.iter().enumerate() {
            consider(f.deliver_at, 0, f.seq, Next::Deliver(i));
        }
        for (i, s) in self.scheduled.iter().enumerate() {
            consider(s.at, 1, s.seq, Next::Respond(i));
        }
        for (i, n) in self.nodes.iter().enumerate() {
            if let Some(t) = n.endpoint.poll_timeout() {
                consider(t, 2, i as u64, Next::Timeout(i));
            }
        }
        best.map(|(at, _, _, next)| (at, next))
    }

    /// Runs one step no later than `until`; whether there was one.
    fn step(&mut self, until: Option<Instant>) -> bool {
        let Some((at, next)) = self.next() else {
            return false;
        };
        if until.is_some_and(|u| at > u) {
            return false;
        }
        self.now = self.now.max(at);
        let now = self.now;
        match next {
            Next::Deliver(i) => {
                let f = self.in_flight.swap_remove(i);
                self.nodes[f.to]
                    .endpoint
                    .handle_datagram(now, f.from, f.datagram);
                self.after_input(f.to);
            }
            Next::Respond(i) => {
                let s = self.scheduled.swap_remove(i);
                let endpoint = &mut self.nodes[s.node].endpoint;
                let result = match s.resource {
                    Some(resource) => endpoint.respond_observable(now, s.id, s.response, resource),
                    None => endpoint.respond(now, s.id, s.response),
                };
                if result.is_err() {
                    self.respond_errors += 1;
                }
                self.after_input(s.node);
            }
            Next::Timeout(n) => {
                self.nodes[n].endpoint.handle_timeout(now);
                self.after_input(n);
            }
        }
        true
    }

    /// Runs until nothing is left to do (no datagram in flight, no answer scheduled, no
    /// deadline); returns the steps taken. Panics after `max_steps` (a runaway) or on a busy
    /// loop.
    pub(crate) fn drive_bounded(&mut self, max_steps: usize) -> usize {
        for steps in 0..=max_steps {
            if !self.step(None) {
                return steps;
            }
        }
        panic!(
            "runaway: still busy after {max_steps} steps at {:?} ({} datagrams in flight)",
            self.now,
            self.in_flight.len()
        );
    }

    /// Runs every step due until `t`, then sets the clock to `t`; panics after `max_steps`.
    pub(crate) fn drive_until(&mut self, t: Instant, max_steps: usize) -> usize {
        for steps in 0..=max_steps {
            if !self.step(Some(t)) {
                self.now = self.now.max(t);
                return steps;
            }
        }
        panic!("runaway: still busy after {max_steps} steps before {t:?}");
    }

    /// Runs for `d` of virtual time.
    pub(crate) fn run_for(&mut self, d: Duration, max_steps: usize) -> usize {
        let t = self.now + d;
        self.drive_until(t, max_steps)
    }
}

/// `t` plus `ms` milliseconds.
pub(crate) fn ms(t: Instant, ms: u64) -> Instant {
    t + Duration::from_millis(ms)
}
