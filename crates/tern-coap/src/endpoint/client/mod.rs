//! The client role: requests from the application become exchanges with a token, wait in a
//! FIFO per peer while NSTART interactions are outstanding (RFC 7252 §4.7), and end with one
//! event — a response matched by peer and token (and Message ID when piggybacked, §5.3.2), a
//! reset, or a timeout.
//!
//! An exchange may take several messages, one at a time: the blocks of a request body and
//! the follow-up requests for the blocks of a response body (`transfer.rs`, RFC 7959), the
//! registrations of an observation (`observe.rs`, RFC 7641). Each message is a request of its
//! own on the wire (a new Message ID, and a new token unless the exchange keeps one), queued
//! under NSTART like any other; the exchange keeps its [`RequestId`] throughout.

mod observe;
mod transfer;

use alloc::collections::{BTreeMap, BTreeSet, VecDeque};
use core::net::SocketAddr;

use super::error::{EndpointError, RequestError};
use super::event::{Event, RequestId};
use super::message_layer::Owner;
use super::request::{Request, Response};
use super::{Endpoint, Instant, encode};
use crate::message::{Message, MessageType, Token};
use observe::Observation;
use transfer::Transfer;

/// A token as a map key (`Token` has no order of its own).
type TokenKey = (u8, [u8; 8]);

fn token_key(token: &Token) -> TokenKey {
    let mut bytes = [0u8; 8];
    for (d, s) in bytes.iter_mut().zip(token.as_bytes()) {
        *d = *s;
    }
    (token.len() as u8, bytes)
}

/// Where the exchange's current message stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    /// Waiting in its peer's queue for an NSTART slot (and a free token).
    Queued,
    /// A CON sent and retransmitted by the message layer, not yet acknowledged.
    AwaitingAck,
    /// A NON sent, or a CON acknowledged by an empty ACK: the response is awaited until the
    /// deadline.
    AwaitingResponse,
    /// No message in flight: an observation between registrations, listening on its token.
    Idle,
}

/// What an exchange is for, and so how it ends.
#[derive(Debug)]
enum Purpose {
    /// A request of the application: [`Event::Response`] or [`Event::RequestFailed`].
    Request,
    /// A ping: [`Event::Pong`] or [`Event::RequestFailed`].
    Ping,
    /// An observation: [`Event::Notification`]s, then [`Event::ObservationEnded`].
    Observe(Observation),
    /// The endpoint's own GETs for the remaining blocks of a notification of the observation
    /// `parent` (RFC 7959 §2.6); the body goes to the parent as its notification, and when
    /// `ends`, the observation ends after it.
    Fetch { parent: RequestId, ends: bool },
    /// The endpoint's own deregistration (a GET with Observe = 1 on the observation's
    /// token, RFC 7641 §3.6) after `cancel`: it ends without an event.
    Deregister,
}

/// One exchange of the client, from the command to its event.
#[derive(Debug)]
pub(crate) struct Exchange {
    peer: SocketAddr,
    purpose: Purpose,
    /// The request as the command gave it (`None` for a ping); every message of the
    /// exchange is built from it.
    request: Option<Request>,
    /// What the current (or next) message carries: the request, one block of its body, a
    /// follow-up for a block of the response, or a registration again.
    message: Option<Request>,
    token: Token,
    /// Whether the exchange sends `token` with its next message rather than drawing a new
    /// one: an observation's token (RFC 7641 §3.3.1, §3.6), kept from message to message,
    /// or the token the caller chose for the first message.
    fixed_token: bool,
    mid: u16,
    stage: Stage,
    /// Whether it holds one of its peer's NSTART slots.
    outstanding: bool,
    deadline: Option<Instant>,
    sent_at: Instant,
    /// The block-wise state (RFC 7959).
    transfer: Transfer,
}

impl Exchange {
    fn new(
        peer: SocketAddr,
        purpose: Purpose,
        request: Option<Request>,
        message: Option<Request>,
        now: Instant,
    ) -> Exchange {
        Exchange {
            peer,
            purpose,
            request,
            message,
            token: Token::EMPTY,
            fixed_token: false,
            mid: 0,
            stage: Stage::Queued,
            outstanding: false,
            deadline: None,
            sent_at: now,
            transfer: Transfer::default(),
        }
    }

    fn is_ping(&self) -> bool {
        matches!(self.purpose, Purpose::Ping)
    }
}

/// The requests of one peer: how many interactions are outstanding, and the queue behind them.
#[derive(Debug, Default)]
struct Peer {
    outstanding: usize,
    queue: VecDeque<RequestId>,
}

#[derive(Debug, Default)]
pub(crate) struct ClientState {
    next_id: u64,
    exchanges: BTreeMap<RequestId, Exchange>,
    /// Exchanges awaiting a response (or notifications), by peer and token.
    by_token: BTreeMap<(SocketAddr, TokenKey), RequestId>,
    /// NON requests awaiting a response, by peer and Message ID, for a Reset to find them
    /// (CON ones are found through the message layer).
    non_by_mid: BTreeMap<(SocketAddr, u16), RequestId>,
    peers: BTreeMap<SocketAddr, Peer>,
    deadlines: BTreeSet<(Instant, RequestId)>,
    /// Tokens released lately, oldest first, with when: new exchanges avoid them for
    /// EXCHANGE_LIFETIME, so that a late answer to a finished exchange (a separate response
    /// still retransmitted, a NON one delayed) is rejected rather than taken for a new
    /// exchange's. At most [`RELEASED_TOKENS`], so short tokens cannot run out.
    released: VecDeque<(Instant, SocketAddr, TokenKey)>,
}

/// How many released tokens are avoided at most.
const RELEASED_TOKENS: usize = 128;

impl ClientState {
    pub(crate) fn next_deadline(&self) -> Option<Instant> {
        self.deadlines.first().map(|d| d.0)
    }

    fn pop_due(&mut self, now: Instant) -> Option<RequestId> {
        let &(at, id) = self.deadlines.first()?;
        if at > now {
            return None;
        }
        self.deadlines.pop_first();
        Some(id)
    }

    pub(crate) fn len(&self) -> usize {
        self.exchanges.len()
    }

    fn set_deadline(&mut self, id: RequestId, at: Option<Instant>) {
        let Some(ex) = self.exchanges.get_mut(&id) else {
            return;
        };
        if let Some(old) = ex.deadline {
            self.deadlines.remove(&(old, id));
        }
        ex.deadline = at;
        if let Some(at) = at {
            self.deadlines.insert((at, id));
        }
    }

    /// Gives back the peer's NSTART slot held by `id`, if it holds one.
    fn release(&mut self, id: RequestId) {
        let Some(ex) = self.exchanges.get_mut(&id) else {
            return;
        };
        if ex.outstanding {
            ex.outstanding = false;
            if let Some(p) = self.peers.get_mut(&ex.peer) {
                p.outstanding = p.outstanding.saturating_sub(1);
            }
        }
    }

    /// Forgets that `token` at `peer` leads to `id` (and only if it still does), and keeps
    /// the token from new exchanges for a while.
    fn unmap(&mut self, now: Instant, peer: SocketAddr, token: &Token, id: RequestId) {
        let key = (peer, token_key(token));
        if self.by_token.get(&key) == Some(&id) {
            self.by_token.remove(&key);
            if !token.is_empty() {
                if self.released.len() >= RELEASED_TOKENS {
                    self.released.pop_front();
                }
                self.released.push_back((now, peer, key.1));
            }
        }
    }

    /// Whether `token` was released to `peer` less than `lifetime` before `now`.
    fn recently_released(
        &self,
        now: Instant,
        lifetime: core::time::Duration,
        peer: SocketAddr,
        token: &Token,
    ) -> bool {
        let key = token_key(token);
        self.released
            .iter()
            .rev()
            .take_while(|(at, _, _)| now < *at + lifetime)
            .any(|(_, p, k)| *p == peer && *k == key)
    }

    /// Whether an exchange with `peer` that has not ended holds `token`: one mapped to it
    /// (awaiting a response, or an observation), or a queued one that will send it.
    fn token_taken(&self, peer: SocketAddr, token: &Token) -> bool {
        self.token_active(peer, token) || self.token_reserved(peer, token)
    }

    /// Whether an exchange mapped to `token` with `peer` awaits a response or notifications.
    fn token_active(&self, peer: SocketAddr, token: &Token) -> bool {
        self.by_token.contains_key(&(peer, token_key(token)))
    }

    /// Whether a queued exchange with `peer` will send `token` (one the caller chose, a
    /// deregistration).
    fn token_reserved(&self, peer: SocketAddr, token: &Token) -> bool {
        self.peers.get(&peer).is_some_and(|p| {
            p.queue.iter().any(|id| {
                self.exchanges
                    .get(id)
                    .is_some_and(|ex| ex.fixed_token && ex.token == *token)
            })
        })
    }

    fn unmap_mid(&mut self, peer: SocketAddr, mid: u16, id: RequestId) {
        if self.non_by_mid.get(&(peer, mid)) == Some(&id) {
            self.non_by_mid.remove(&(peer, mid));
        }
    }
}

impl Endpoint {
    // ----- commands ------------------------------------------------------------------------

    /// Sends `request` to `peer`, now or, while NSTART interactions with that peer are
    /// outstanding, after the requests queued before it. It ends with exactly one of
    /// [`Event::Response`] and [`Event::RequestFailed`], unless cancelled.
    ///
    /// Block-wise transfers (RFC 7959) happen on their own: a payload larger than the block
    /// size ([`EndpointConfig::default_block_szx`](super::EndpointConfig::default_block_szx),
    /// or less where the options leave less room within `max_message_size`) goes in Block1
    /// blocks, and a response in Block2 blocks is collected whole (up to
    /// [`EndpointConfig::max_reassembly_bytes`](super::EndpointConfig::max_reassembly_bytes))
    /// before it is reported. Each block goes in a request of its own, with a new token and
    /// Message ID. To propose a block size for the response (early negotiation), put Block2
    /// `0/0/size` in the request; a request that names a later block, or carries Block1
    /// itself, is sent as it is, and its response reported as it is.
    ///
    /// ```
    /// use tern_coap::endpoint::{Endpoint, EndpointConfig, Instant, Request};
    /// use tern_coap::{Message, MessageType};
    ///
    /// let mut endpoint = Endpoint::new(EndpointConfig::default(), 42);
    /// let peer = "192.0.2.1:5683".parse()?;
    /// endpoint.request(Instant::ZERO, peer, Request::get("test")?)?;
    /// let t = endpoint.poll_transmit().unwrap();
    /// assert_eq!(t.destination, peer);
    /// let m = Message::decode(t.datagram)?;
    /// assert_eq!((m.mtype, m.token.len()), (MessageType::Confirmable, 8));
    ///
    /// // A body of 3,000 bytes goes in blocks of 1,024, the first with Size1.
    /// endpoint.request(Instant::ZERO, "192.0.2.2:5683".parse()?, Request::put("big", vec![7u8; 3000])?)?;
    /// let first = Message::decode(endpoint.poll_transmit().unwrap().datagram)?;
    /// assert_eq!(first.options.block1(false)?.map(|b| (b.num(), b.more(), b.size())), Some((0, true, 1024)));
    /// assert_eq!((first.options.size1()?, first.payload.len()), (Some(3000), 1024));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn request(
        &mut self,
        now: Instant,
        peer: SocketAddr,
        request: Request,
    ) -> Result<RequestId, EndpointError> {
        self.enter(now);
        if !request.method.is_request() {
            return Err(EndpointError::NotARequest);
        }
        let id = self.start_request(peer, request, Purpose::Request)?;
        self.run_timers();
        Ok(id)
    }

    /// Sends a CoAP ping (an empty CON, RFC 7252 §4.3) to `peer`: [`Event::Pong`] when it
    /// answers with RST (or ACK), [`Event::RequestFailed`] with [`RequestError::Timeout`]
    /// when it does not. It queues behind other requests like one.
    ///
    /// ```
    /// use tern_coap::endpoint::{Endpoint, EndpointConfig, Instant};
    /// use tern_coap::Message;
    ///
    /// let mut endpoint = Endpoint::new(EndpointConfig::default(), 1);
    /// endpoint.ping(Instant::ZERO, "192.0.2.1:5683".parse()?)?;
    /// let t = endpoint.poll_transmit().unwrap();
    /// assert_eq!(t.datagram.len(), 4); // header only
    /// assert!(Message::decode(t.datagram)?.code.is_empty());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn ping(&mut self, now: Instant, peer: SocketAddr) -> Result<RequestId, EndpointError> {
        self.enter(now);
        let ex = Exchange::new(peer, Purpose::Ping, None, None, self.now);
        let id = self.enqueue(ex)?;
        self.run_timers();
        Ok(id)
    }

    /// Forgets a request or an observation: no event will come for it, unless it had
    /// already ended by `now` (what was due runs first, as in every command). A CON is no
    /// longer retransmitted, and a late response to it is answered with RST, as to any
    /// unknown token (RFC 7252 §5.3.2). Unknown ids are ignored.
    ///
    /// An observation the server has registered is cancelled eagerly (RFC 7641 §3.6): the
    /// endpoint sends a GET with Observe = 1 on the observation's token and the options of
    /// the registration, and ignores its response; a notification arriving after that is
    /// answered with RST, which deregisters too. One whose registration is still awaiting
    /// its response is just forgotten: the server, if it registered it, learns from the RST
    /// to its next notification.
    ///
    /// ```
    /// use tern_coap::endpoint::{Endpoint, EndpointConfig, Instant, Request};
    ///
    /// let mut endpoint = Endpoint::new(EndpointConfig::default(), 1);
    /// let id = endpoint.request(Instant::ZERO, "192.0.2.1:5683".parse()?, Request::get("a")?)?;
    /// endpoint.cancel(Instant::ZERO, id);
    /// assert_eq!(endpoint.requests_len(), 0);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn cancel(&mut self, now: Instant, id: RequestId) {
        self.enter(now);
        self.cancel_exchange(id);
        self.run_timers();
    }

    // ----- the exchange's life -------------------------------------------------------------

    fn token_length(&self) -> u8 {
        self.config.token_length.min(8)
    }

    /// Adds an exchange at the end of its peer's queue and starts what may start.
    fn enqueue(&mut self, ex: Exchange) -> Result<RequestId, EndpointError> {
        if self.client.exchanges.len() >= self.config.max_requests {
            return Err(EndpointError::TooManyRequests);
        }
        let id = RequestId(self.client.next_id);
        self.client.next_id += 1;
        let peer = ex.peer;
        self.client.exchanges.insert(id, ex);
        self.client
            .peers
            .entry(peer)
            .or_default()
            .queue
            .push_back(id);
        self.start_queued(peer);
        Ok(id)
    }

    /// Puts exchange `id`, whose message was answered, at the head of its peer's queue with
    /// its next message (already in `message`): a transfer goes on before new requests start.
    fn requeue(&mut self, id: RequestId) {
        let Some(ex) = self.client.exchanges.get_mut(&id) else {
            return;
        };
        ex.stage = Stage::Queued;
        let peer = ex.peer;
        self.client
            .peers
            .entry(peer)
            .or_default()
            .queue
            .push_front(id);
        self.start_queued(peer);
    }

    /// A token not in use with `peer` (and not released lately, if the draws find one), or
    /// `None` if the draws keep meeting used ones (then the request waits for an exchange to
    /// end).
    fn draw_token(&mut self, peer: SocketAddr) -> Option<Token> {
        let len = usize::from(self.token_length());
        let lifetime = self.config.transmission.exchange_lifetime();
        for attempt in 0..32 {
            let mut bytes = [0u8; 8];
            let bytes = bytes.get_mut(..len)?;
            self.rng.fill(bytes);
            let token = Token::new(bytes)?;
            let in_use = self.client.token_active(peer, &token);
            // Tokens that queued exchanges will send, and tokens released lately, are avoided
            // while other draws may succeed, never at the cost of waiting: a queued exchange
            // with the same token waits for this one to end, while a request that waited for
            // one behind it in the queue would wait forever (the fuzz target found that with
            // a token length of 0, where there is only one token).
            let avoided = len > 0
                && attempt < 16
                && (self.client.token_reserved(peer, &token)
                    || self
                        .client
                        .recently_released(self.now, lifetime, peer, &token));
            if !in_use && !avoided {
                return Some(token);
            }
            if len == 0 {
                break;
            }
        }
        None
    }

    /// Sends queued requests to `peer` while it has fewer than NSTART outstanding.
    pub(crate) fn start_queued(&mut self, peer: SocketAddr) {
        let nstart = self.config.transmission.nstart.max(1);
        loop {
            let Some(p) = self.client.peers.get(&peer) else {
                return;
            };
            if p.outstanding >= nstart {
                return;
            }
            let Some(&id) = p.queue.front() else {
                // Nothing queued and nothing outstanding: forget the peer.
                if p.outstanding == 0 {
                    self.client.peers.remove(&peer);
                }
                return;
            };
            let (is_ping, fixed) = match self.client.exchanges.get(&id) {
                Some(ex) => (ex.is_ping(), ex.fixed_token.then_some(ex.token)),
                None => (true, None),
            };
            let token = if is_ping {
                Token::EMPTY
            } else if let Some(token) = fixed {
                // A kept token waits while another exchange uses it.
                let holder = self.client.by_token.get(&(peer, token_key(&token)));
                if holder.is_some_and(|h| *h != id) {
                    return;
                }
                token
            } else {
                match self.draw_token(peer) {
                    Some(t) => t,
                    None => return,
                }
            };
            if let Some(p) = self.client.peers.get_mut(&peer) {
                p.queue.pop_front();
            }
            let Some(mid) = self.ml.allocate_mid(self.now) else {
                self.fail(id, RequestError::MessageIdsExhausted);
                continue;
            };
            self.send_request(id, token, mid);
        }
    }

    fn send_request(&mut self, id: RequestId, token: Token, mid: u16) {
        let now = self.now;
        let Some(ex) = self.client.exchanges.get_mut(&id) else {
            return;
        };
        let message = match &ex.message {
            Some(r) => Message {
                mtype: if r.confirmable {
                    MessageType::Confirmable
                } else {
                    MessageType::NonConfirmable
                },
                code: r.method,
                message_id: mid,
                token,
                options: r.options.clone(),
                payload: r.payload.clone(),
            },
            None => Message::empty(MessageType::Confirmable, mid),
        };
        let confirmable = message.mtype == MessageType::Confirmable;
        ex.token = token;
        ex.mid = mid;
        ex.sent_at = now;
        ex.outstanding = true;
        ex.stage = if confirmable {
            Stage::AwaitingAck
        } else {
            Stage::AwaitingResponse
        };
        // An observation keeps its token for its notifications and re-registrations; any
        // other exchange draws a new one for its next message, even when the caller chose
        // this one.
        ex.fixed_token = matches!(ex.purpose, Purpose::Observe(_) | Purpose::Deregister);
        let peer = ex.peer;
        let is_ping = ex.is_ping();
        if let Some(p) = self.client.peers.get_mut(&peer) {
            p.outstanding += 1;
        }
        if !is_ping {
            self.client.by_token.insert((peer, token_key(&token)), id);
        }
        let Some(datagram) = encode(&message) else {
            self.fail(id, RequestError::Timeout);
            return;
        };
        if confirmable {
            self.ml
                .send_confirmable(now, &mut self.rng, peer, mid, datagram, Owner::Request(id));
        } else {
            self.ml.send(peer, datagram);
            self.client.non_by_mid.insert((peer, mid), id);
            let wait = self.config.transmission.max_transmit_wait();
            self.client.set_deadline(id, Some(now + wait));
        }
    }

    /// The exchange's current message was answered (or gave way): it is no longer
    /// retransmitted, outstanding or timed. Its token is forgotten unless `keep_token`. The
    /// NSTART slot it frees goes to the queue only when the caller calls `start_queued`, so
    /// that a transfer's next message can go first.
    fn end_message(&mut self, id: RequestId, keep_token: bool) {
        self.client.set_deadline(id, None);
        self.client.release(id);
        let Some(ex) = self.client.exchanges.get_mut(&id) else {
            return;
        };
        let (peer, token, mid, stage) = (ex.peer, ex.token, ex.mid, ex.stage);
        ex.stage = Stage::Idle;
        match stage {
            Stage::AwaitingAck => {
                self.ml.stop(peer, mid);
            }
            // A re-registration still queued is no longer wanted.
            Stage::Queued => {
                if let Some(p) = self.client.peers.get_mut(&peer) {
                    p.queue.retain(|q| *q != id);
                }
            }
            Stage::AwaitingResponse | Stage::Idle => {}
        }
        self.client.unmap_mid(peer, mid, id);
        if !keep_token {
            self.client.unmap(self.now, peer, &token, id);
        }
    }

    /// Ends an exchange without an event: forgets its token and Message ID, stops its
    /// retransmission, frees its slot and lets the next queued request go. An observation's
    /// fetch of a notification body ends with it.
    pub(crate) fn finish(&mut self, id: RequestId) -> Option<Exchange> {
        self.client.set_deadline(id, None);
        self.client.release(id);
        let mut ex = self.client.exchanges.remove(&id)?;
        match ex.stage {
            Stage::Queued => {
                if let Some(p) = self.client.peers.get_mut(&ex.peer) {
                    p.queue.retain(|q| *q != id);
                }
            }
            Stage::AwaitingAck => {
                self.ml.stop(ex.peer, ex.mid);
            }
            Stage::AwaitingResponse | Stage::Idle => {}
        }
        if !ex.is_ping() {
            self.client.unmap(self.now, ex.peer, &ex.token, id);
            self.client.unmap_mid(ex.peer, ex.mid, id);
        }
        if let Purpose::Observe(obs) = &mut ex.purpose {
            if let Some(fetch) = obs.fetch.take() {
                self.finish(fetch);
            }
        }
        self.start_queued(ex.peer);
        Some(ex)
    }

    /// Ends exchange `id` with `outcome`, reported as its purpose says.
    fn end(&mut self, id: RequestId, outcome: Result<Response, RequestError>) {
        let Some(ex) = self.finish(id) else {
            return;
        };
        let event = match (ex.purpose, outcome) {
            (Purpose::Request, Ok(response)) => Event::Response { id, response },
            (Purpose::Ping, Ok(_)) => Event::Pong { id },
            (Purpose::Request | Purpose::Ping, Err(error)) => Event::RequestFailed { id, error },
            (Purpose::Observe(_), outcome) => Event::ObservationEnded {
                id,
                reason: match outcome {
                    Ok(_) => super::ObservationEnd::ByServer,
                    Err(e) => super::ObservationEnd::Failed(e),
                },
            },
            (Purpose::Fetch { parent, ends }, outcome) => {
                self.fetch_done(parent, id, ends, outcome);
                return;
            }
            (Purpose::Deregister, _) => return,
        };
        self.events.push_back(event);
    }

    fn fail(&mut self, id: RequestId, error: RequestError) {
        self.end(id, Err(error));
    }

    fn complete(&mut self, id: RequestId, response: Response) {
        self.end(id, Ok(response));
    }

    fn is_ping(&self, id: RequestId) -> bool {
        self.client
            .exchanges
            .get(&id)
            .is_some_and(Exchange::is_ping)
    }

    // ----- inputs, routed here by the endpoint ---------------------------------------------

    /// An empty ACK for our CON `id`: the request arrived; a separate response follows
    /// (RFC 7252 §5.2.2). The interaction is no longer outstanding (§4.7).
    pub(crate) fn client_empty_ack(&mut self, id: RequestId) {
        if self.is_ping(id) {
            self.complete(id, Response::new(crate::Code::EMPTY));
            return;
        }
        let lifetime = self.config.transmission.exchange_lifetime();
        let Some(ex) = self.client.exchanges.get_mut(&id) else {
            return;
        };
        if ex.stage != Stage::AwaitingAck {
            return;
        }
        ex.stage = Stage::AwaitingResponse;
        let (peer, deadline) = (ex.peer, ex.sent_at + lifetime);
        self.client.release(id);
        self.client.set_deadline(id, Some(deadline));
        self.start_queued(peer);
    }

    /// An ACK carrying a response, matched to our CON `id` by peer and Message ID. The token
    /// must match too (RFC 7252 §5.3.2); if not, the ACK is rejected (ignored, §4.2).
    pub(crate) fn client_piggybacked(&mut self, id: RequestId, message: Message) {
        if self.is_ping(id) {
            self.complete(id, Response::new(crate::Code::EMPTY));
            return;
        }
        let Some(ex) = self.client.exchanges.get(&id) else {
            return;
        };
        if ex.token != message.token {
            return;
        }
        match message.options.first_unrecognized_critical() {
            Some(option) => self.fail(id, RequestError::UnrecognizedOption(option)),
            None => self.client_response(id, message, true),
        }
    }

    /// A Reset for our message `id` (RFC 7252 §4.2, §4.3).
    pub(crate) fn client_reset(&mut self, id: RequestId) {
        if self.is_ping(id) {
            self.complete(id, Response::new(crate::Code::EMPTY));
        } else {
            self.fail(id, RequestError::Reset);
        }
    }

    /// A Reset whose Message ID is that of one of our NON requests.
    pub(crate) fn client_reset_non(&mut self, peer: SocketAddr, mid: u16) -> bool {
        match self.client.non_by_mid.get(&(peer, mid)) {
            Some(&id) => {
                self.fail(id, RequestError::Reset);
                true
            }
            None => false,
        }
    }

    /// Our CON `id` was never acknowledged.
    pub(crate) fn client_gave_up(&mut self, id: RequestId) {
        self.fail(id, RequestError::Timeout);
    }

    /// A response in a CON or NON of its own (a separate response, RFC 7252 §5.2.2, the
    /// answer to a NON request, §5.2.3, or a notification, RFC 7641 §3.2), not seen before.
    /// Matched by peer and token; a CON is acknowledged with an empty ACK, which also stands
    /// for later duplicates. Arriving before the ACK of our CON request, it shows the request
    /// arrived and stops its retransmission. One that matches nothing is rejected with RST
    /// (§5.3.2, §4.2, §4.3; RFC 7641 §3.6: this is how a forgotten observation ends).
    pub(crate) fn client_separate(&mut self, peer: SocketAddr, message: Message) {
        let confirmable = message.mtype == MessageType::Confirmable;
        let mid = message.message_id;
        let found = self
            .client
            .by_token
            .get(&(peer, token_key(&message.token)))
            .copied();
        let Some(id) = found else {
            self.reset(peer, mid);
            return;
        };
        if let Some(option) = message.options.first_unrecognized_critical() {
            self.reset(peer, mid);
            self.fail(id, RequestError::UnrecognizedOption(option));
            return;
        }
        // A response is handled at once: nothing of the client's is ever in progress.
        self.ml
            .remember(self.now, peer, mid, confirmable, |_, _| false);
        if confirmable {
            if let Some(ack) = encode(&Message::empty(MessageType::Acknowledgement, mid)) {
                self.ml.reply(peer, mid, ack);
            }
        }
        self.client_response(id, message, false);
    }

    /// A response on the exchange `id` (piggybacked or not), checked and acknowledged.
    fn client_response(&mut self, id: RequestId, message: Message, piggybacked: bool) {
        let Some(ex) = self.client.exchanges.get(&id) else {
            return;
        };
        let peer = ex.peer;
        if matches!(ex.purpose, Purpose::Observe(_)) {
            self.observation_response(id, message, piggybacked);
        } else {
            self.end_message(id, false);
            self.transfer_response(id, message);
        }
        self.start_queued(peer);
    }

    /// Runs a client deadline due at `now`, if any: no response to a NON request within
    /// MAX_TRANSMIT_WAIT, no separate response within EXCHANGE_LIFETIME of the acknowledged
    /// request, or an observation's re-registration (RFC 7641 §3.3.1). Whether one ran.
    pub(crate) fn client_timers(&mut self, now: Instant) -> bool {
        let Some(id) = self.client.pop_due(now) else {
            return false;
        };
        let Some(ex) = self.client.exchanges.get_mut(&id) else {
            return true;
        };
        ex.deadline = None;
        if ex.stage == Stage::Idle {
            self.reregister(id);
            return true;
        }
        let error = if ex.message.as_ref().is_some_and(|r| r.confirmable) {
            RequestError::ResponseTimeout
        } else {
            RequestError::Timeout
        };
        self.fail(id, error);
        true
    }

    /// Sends RST for `mid` (not remembered: an RST costs no state to send again).
    pub(crate) fn reset(&mut self, peer: SocketAddr, mid: u16) {
        if let Some(rst) = encode(&Message::empty(MessageType::Reset, mid)) {
            self.ml.send(peer, rst);
        }
    }
}
