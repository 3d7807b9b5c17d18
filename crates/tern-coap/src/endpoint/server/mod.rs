//! The server role: a request not seen before goes to the application once
//! ([`Event::Request`]); [`Endpoint::respond`] answers it piggybacked in the ACK while the
//! application is within `piggyback_delay`, else after an empty ACK in a separate CON
//! response retransmitted until acknowledged (RFC 7252 §5.2). The limits on what the
//! application may have pending answer a flood with 5.03 instead of memory.
//!
//! Before a request reaches the application, the endpoint answers what needs no application
//! (`block.rs`): the blocks of a request body but the last (2.31, RFC 7959 §2.5), and the
//! follow-up requests for the blocks of a response it keeps (§2.4). `observe.rs` keeps the
//! observers (RFC 7641 §4).

mod block;
mod observe;

use alloc::collections::{BTreeMap, BTreeSet};
use alloc::format;
use core::net::SocketAddr;

use bytes::Bytes;

use super::block::RequestKey;
use super::config::EndpointConfig;
use super::error::{EndpointError, RequestError};
use super::event::{Event, IncomingId};
use super::message_layer::Owner;
use super::observe::ObserverKey;
use super::request::{Request, Response};
use super::{Endpoint, Instant, encode};
use crate::message::{Code, Message, MessageType, Token};
use crate::option::Options;
use crate::value::{Block, Observe};
use block::{Asked, Block1Step, BlockState};
use observe::ObserveState;

/// Where a received request stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    /// With the application; a CON is not acknowledged yet.
    Received,
    /// A CON acknowledged by an empty ACK: the answer goes in a separate response.
    Acked,
    /// The separate CON response is in flight.
    Responding,
}

/// A request the application has to answer.
#[derive(Debug)]
struct Incoming {
    peer: SocketAddr,
    mid: u16,
    token: Token,
    confirmable: bool,
    stage: Stage,
    /// When the empty ACK goes out (Received CON), or when the entry expires.
    timer: Option<Instant>,
    /// The request's method and options (of its last block), which its response's
    /// follow-up Block2 requests repeat and an observer registration keeps.
    method: Code,
    options: Options,
    /// The Block1 option of the last block, echoed in the response (RFC 7959 §2.3).
    block1: Option<Block>,
    /// The answer registered an observer (whom a failed separate response removes).
    registered: bool,
}

impl Incoming {
    /// Whether the request is an Observe registration (a GET or FETCH with Observe = 0).
    fn is_registration(&self) -> bool {
        matches!(self.method, Code::GET | Code::FETCH)
            && self.options.observe().ok().flatten() == Some(Observe::REGISTER)
    }
}

#[derive(Debug)]
pub(crate) struct ServerState {
    next_id: u64,
    incoming: BTreeMap<IncomingId, Incoming>,
    per_peer: BTreeMap<SocketAddr, usize>,
    timers: BTreeSet<(Instant, IncomingId)>,
    block: BlockState,
    obs: ObserveState,
}

impl ServerState {
    pub(crate) fn new(config: &EndpointConfig) -> ServerState {
        ServerState {
            next_id: 0,
            incoming: BTreeMap::new(),
            per_peer: BTreeMap::new(),
            timers: BTreeSet::new(),
            block: BlockState::new(config),
            obs: ObserveState::new(config),
        }
    }

    pub(crate) fn next_deadline(&self) -> Option<Instant> {
        let request = self.timers.first().map(|t| t.0);
        match (request, self.block.next_deadline()) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.incoming.len()
    }

    /// Drops the block-wise state whose time is up.
    pub(crate) fn expire_blocks(&mut self, now: Instant) {
        self.block.expire(now);
    }

    fn set_timer(&mut self, id: IncomingId, at: Option<Instant>) {
        let Some(inc) = self.incoming.get_mut(&id) else {
            return;
        };
        if let Some(old) = inc.timer {
            self.timers.remove(&(old, id));
        }
        inc.timer = at;
        if let Some(at) = at {
            self.timers.insert((at, id));
        }
    }

    fn remove(&mut self, id: IncomingId) -> Option<Incoming> {
        self.set_timer(id, None);
        let inc = self.incoming.remove(&id)?;
        if let Some(n) = self.per_peer.get_mut(&inc.peer) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                self.per_peer.remove(&inc.peer);
            }
        }
        Some(inc)
    }
}

impl Endpoint {
    // ----- getters -------------------------------------------------------------------------

    /// Observers of this endpoint's resources (RFC 7641), over all resources.
    pub fn observers_len(&self) -> usize {
        self.server.obs.len()
    }

    /// Bytes the server holds for block-wise transfers (RFC 7959): request bodies in Block1
    /// blocks not yet complete, and responses kept for follow-up Block2 requests. At most
    /// twice [`EndpointConfig::max_reassembly_total`].
    pub fn block_bytes(&self) -> usize {
        self.server.block.bytes()
    }

    // ----- commands ------------------------------------------------------------------------

    /// Answers the request `id` of an [`Event::Request`]: piggybacked in the ACK if the
    /// empty ACK has not gone out yet, else as a separate CON response retransmitted until
    /// acknowledged; a NON request gets a NON response. The endpoint copies the token.
    ///
    /// A payload larger than a block (RFC 7959; [`EndpointConfig::default_block_szx`], or
    /// less where the options leave less room within `max_message_size`, or the size the
    /// request asked for in its Block2) goes block-wise: this answer carries the first block
    /// (or the block the request asked for) with Block2 and Size2, and an ETag (a hash of
    /// the payload when the response has none, so the client notices a change between
    /// blocks). The endpoint keeps the payload for a while (EXCHANGE_LIFETIME, within
    /// [`EndpointConfig::max_block_transfers`] and [`EndpointConfig::max_reassembly_total`])
    /// and answers the follow-up requests for the other blocks itself. A follow-up whose
    /// payload is no longer kept reaches the application as a request with Block2 if it is a
    /// GET or FETCH (the answer is sliced the same way), and is answered 4.08 otherwise. A
    /// response that carries Block2 already goes as it is. After a request body in Block1
    /// blocks, the response carries the Block1 option of the last block (RFC 7959 §2.3).
    ///
    /// Answering an Observe registration (a GET with Observe = 0) here, not with
    /// [`Endpoint::respond_observable`], leaves the client unregistered (and removes it if it
    /// was registered with this token, RFC 7641 §4.1).
    ///
    /// ```
    /// use bytes::Bytes;
    /// use tern_coap::endpoint::{Endpoint, EndpointConfig, Event, Instant, Response};
    /// use tern_coap::{Code, Message, MessageType};
    ///
    /// let mut server = Endpoint::new(EndpointConfig::default(), 7);
    /// let client = "192.0.2.9:40000".parse()?;
    /// // CON GET /test, Message ID 0x1234, token 0xab.
    /// let get = Bytes::from_static(&[0x41, 0x01, 0x12, 0x34, 0xab, 0xb4, b't', b'e', b's', b't']);
    /// server.handle_datagram(Instant::ZERO, client, get);
    /// let Some(Event::Request { id, .. }) = server.poll_event() else { panic!() };
    /// server.respond(Instant::ZERO, id, Response::new(Code::CONTENT).with_payload("hi"))?;
    /// let ack = Message::decode(server.poll_transmit().unwrap().datagram)?;
    /// assert_eq!((ack.mtype, ack.code, ack.message_id), (MessageType::Acknowledgement, Code::CONTENT, 0x1234));
    /// assert_eq!(ack.token.as_bytes(), [0xab]);
    ///
    /// // A CON GET /test again (Message ID 0x1235); 3,000 bytes go in blocks of 1,024.
    /// let get = Bytes::from_static(&[0x41, 0x01, 0x12, 0x35, 0xac, 0xb4, b't', b'e', b's', b't']);
    /// server.handle_datagram(Instant::ZERO, client, get);
    /// let Some(Event::Request { id, .. }) = server.poll_event() else { panic!() };
    /// server.respond(Instant::ZERO, id, Response::new(Code::CONTENT).with_payload(vec![1u8; 3000]))?;
    /// let first = Message::decode(server.poll_transmit().unwrap().datagram)?;
    /// let block = first.options.block2(false)?.unwrap();
    /// assert_eq!((block.num(), block.more(), block.size()), (0, true, 1024));
    /// assert_eq!((first.options.size2()?, first.payload.len()), (Some(3000), 1024));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn respond(
        &mut self,
        now: Instant,
        id: IncomingId,
        response: Response,
    ) -> Result<(), EndpointError> {
        self.enter(now);
        self.answer(id, response, None)?;
        self.run_timers();
        Ok(())
    }

    /// Answers the request `id` as [`Endpoint::respond`] does and, if it is an Observe
    /// registration (a GET or FETCH with Observe = 0) and `response` is 2.xx, adds the client
    /// to the observers of `resource` (any key the application chooses, e.g. the path;
    /// RFC 7641 §4.1): the response carries Observe, and [`Endpoint::notify`] with the same
    /// `resource` reaches the client from then on. A client that registers again with the
    /// same token stays one observer. Beyond
    /// [`ObserversConfig`](super::observe::ObserversConfig)'s limits, or for a response that
    /// is not 2.xx, the response goes without Observe and the client is not (or no longer)
    /// an observer. For a request that is not a registration, this is `respond`.
    ///
    /// Notifications pin the Content-Format of the registration (its Accept, else this
    /// response's): a later one in another format goes as 4.06 and ends the observation
    /// (RFC 7641 §4.2).
    ///
    /// ```
    /// use bytes::{Bytes, BytesMut};
    /// use tern_coap::endpoint::{Endpoint, EndpointConfig, Event, Instant, Response};
    /// use tern_coap::value::Observe;
    /// use tern_coap::{Code, Message, MessageType, Options, Token};
    ///
    /// let mut server = Endpoint::new(EndpointConfig::default(), 7);
    /// let client = "192.0.2.9:40000".parse()?;
    /// let register = Message {
    ///     mtype: MessageType::Confirmable,
    ///     code: Code::GET,
    ///     message_id: 1,
    ///     token: Token::new(&[0x0b]).unwrap(),
    ///     options: Options::builder().push_observe(Observe::REGISTER).push_uri_path("obs")?.build()?,
    ///     payload: Bytes::new(),
    /// };
    /// let mut datagram = BytesMut::new();
    /// register.encode(&mut datagram)?;
    /// server.handle_datagram(Instant::ZERO, client, datagram.freeze());
    /// let Some(Event::Request { id, .. }) = server.poll_event() else { panic!() };
    /// server.respond_observable(Instant::ZERO, id, Response::new(Code::CONTENT).with_payload("20 C"), "obs")?;
    /// let ack = Message::decode(server.poll_transmit().unwrap().datagram)?;
    /// assert!(ack.options.observe()?.is_some());
    ///
    /// // The resource changes: one notification, on the registration's token.
    /// assert_eq!(server.notify(Instant::ZERO, "obs", Response::new(Code::CONTENT).with_payload("21 C")), 1);
    /// let note = Message::decode(server.poll_transmit().unwrap().datagram)?;
    /// assert_eq!((note.mtype, note.token, &note.payload[..]), (MessageType::Confirmable, register.token, &b"21 C"[..]));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn respond_observable(
        &mut self,
        now: Instant,
        id: IncomingId,
        response: Response,
        resource: impl AsRef<[u8]>,
    ) -> Result<(), EndpointError> {
        self.enter(now);
        let resource = Bytes::copy_from_slice(resource.as_ref());
        self.answer(id, response, Some(resource))?;
        self.run_timers();
        Ok(())
    }

    /// `respond` and `respond_observable`.
    fn answer(
        &mut self,
        id: IncomingId,
        response: Response,
        resource: Option<Bytes>,
    ) -> Result<(), EndpointError> {
        if !response.code.is_response() {
            return Err(EndpointError::NotAResponse);
        }
        let inc = self
            .server
            .incoming
            .get(&id)
            .ok_or(EndpointError::UnknownRequest)?;
        if inc.stage == Stage::Responding {
            return Err(EndpointError::UnknownRequest);
        }
        let registration = inc.is_registration();
        let register = registration && resource.is_some() && response.code.class() == 2;
        let (peer, token) = (inc.peer, inc.token);
        let key = ObserverKey::new(peer, token);
        // Everything that can fail comes first (with room for Observe), so that a refused
        // answer changes nothing.
        let content_format = response.options.content_format().ok().flatten();
        let asked = Asked {
            token_len: token.len(),
            block2: inc.options.block2(false).ok().flatten(),
            size2: inc.options.size2().ok().flatten().is_some(),
            max_szx: None,
            block1: inc.block1,
            observe: register,
        };
        let request_key = || RequestKey::new(inc.peer, inc.method, &inc.options);
        let prepared = self.prepare_response(asked, request_key, response)?;
        let observe = match resource {
            Some(resource) if register => self.register_observer(id, resource, content_format),
            _ => {
                if registration {
                    self.remove_observer(key);
                }
                None
            }
        };
        let (code, options, payload) = prepared.finish(self.now, &mut self.server.block, observe);
        let Some(inc) = self.server.incoming.get_mut(&id) else {
            return Err(EndpointError::UnknownRequest);
        };
        inc.registered = observe.is_some();
        let mut message = Message {
            mtype: MessageType::Acknowledgement,
            code,
            message_id: inc.mid,
            token,
            options,
            payload,
        };
        match (inc.confirmable, inc.stage) {
            (true, Stage::Received) => {
                let request_mid = inc.mid;
                if let Some(ack) = encode(&message) {
                    self.ml.reply(peer, request_mid, ack);
                }
                self.server.remove(id);
            }
            (confirmable, _) => {
                let Some(mid) = self.ml.allocate_mid(self.now) else {
                    // Not sent: the client asks again or gives up; the observer (if any)
                    // goes, as the client never learns of it.
                    if observe.is_some() {
                        self.remove_observer(key);
                    }
                    return Err(EndpointError::MessageIdsExhausted);
                };
                message.message_id = mid;
                if confirmable {
                    message.mtype = MessageType::Confirmable;
                    if let Some(datagram) = encode(&message) {
                        let owner = Owner::Response(id);
                        self.ml.send_confirmable(
                            self.now,
                            &mut self.rng,
                            peer,
                            mid,
                            datagram,
                            owner,
                        );
                    }
                    self.server.set_timer(id, None);
                    if let Some(inc) = self.server.incoming.get_mut(&id) {
                        inc.stage = Stage::Responding;
                    }
                } else {
                    message.mtype = MessageType::NonConfirmable;
                    if let Some(datagram) = encode(&message) {
                        self.ml.send(peer, datagram);
                    }
                    self.server.remove(id);
                }
            }
        }
        Ok(())
    }

    /// A request in a CON or NON not seen before (RFC 7252 §4.5: duplicates never get here).
    pub(crate) fn server_request(&mut self, peer: SocketAddr, mut message: Message) {
        let confirmable = message.mtype == MessageType::Confirmable;
        let mid = message.message_id;
        if let Some(option) = message.options.first_unrecognized_critical() {
            // RFC 7252 §5.4.1: 4.02 for a CON request; a NON one is rejected (§4.3: RST).
            if confirmable {
                let incoming = &self.server.incoming;
                self.ml.remember(self.now, peer, mid, true, |p, m| {
                    incoming.values().any(|i| i.peer == p && i.mid == m)
                });
                let diagnostic = format!("unrecognized critical option {}", option.get());
                self.reply_piggybacked(
                    peer,
                    mid,
                    message.token,
                    Code::BAD_OPTION,
                    Options::new(),
                    Bytes::from(diagnostic),
                );
            } else {
                self.reset(peer, mid);
            }
            return;
        }
        // Nothing is processed that could not be remembered: the client retransmits a CON,
        // and by then an entry may have expired.
        let incoming = &self.server.incoming;
        let in_progress = |p, m| {
            incoming
                .values()
                .any(|i: &Incoming| i.peer == p && i.mid == m)
        };
        if !self
            .ml
            .remember(self.now, peer, mid, confirmable, in_progress)
        {
            return;
        }
        let block1 = match self.receive_block1(peer, &message) {
            Block1Step::Whole => None,
            Block1Step::Answered => return,
            Block1Step::Complete {
                body,
                options,
                block1,
            } => {
                message.payload = body;
                message.options = options;
                Some(block1)
            }
        };
        // A GET with Observe = 1 deregisters, then is processed as usual (RFC 7641 §3.6).
        if matches!(message.code, Code::GET | Code::FETCH)
            && message.options.observe().ok().flatten() == Some(Observe::DEREGISTER)
        {
            self.remove_observer(ObserverKey::new(peer, message.token));
        }
        if self.serve_kept_block(peer, &message) {
            return;
        }
        let pending_here = self.server.per_peer.get(&peer).copied().unwrap_or(0);
        if pending_here >= self.config.max_pending_per_peer
            || self.server.incoming.len() >= self.config.max_pending_total
        {
            if confirmable {
                let options = Options::builder()
                    .push_max_age(self.config.overload_max_age)
                    .build()
                    .unwrap_or_default();
                self.reply_piggybacked(
                    peer,
                    mid,
                    message.token,
                    Code::SERVICE_UNAVAILABLE,
                    options,
                    Bytes::new(),
                );
            }
            return;
        }
        let id = IncomingId(self.server.next_id);
        self.server.next_id += 1;
        self.server.incoming.insert(
            id,
            Incoming {
                peer,
                mid,
                token: message.token,
                confirmable,
                stage: Stage::Received,
                timer: None,
                method: message.code,
                options: message.options.clone(),
                block1,
                registered: false,
            },
        );
        *self.server.per_peer.entry(peer).or_insert(0) += 1;
        let timer = if confirmable {
            self.now + self.config.piggyback_delay
        } else {
            self.now + self.config.transmission.exchange_lifetime()
        };
        self.server.set_timer(id, Some(timer));
        self.events.push_back(Event::Request {
            id,
            peer,
            request: Request {
                method: message.code,
                options: message.options,
                payload: message.payload,
                confirmable,
                token: None,
            },
        });
    }

    /// Sends a piggybacked response the endpoint makes itself, and keeps it for duplicates.
    fn reply_piggybacked(
        &mut self,
        peer: SocketAddr,
        mid: u16,
        token: Token,
        code: Code,
        options: Options,
        payload: Bytes,
    ) {
        let ack = Message {
            mtype: MessageType::Acknowledgement,
            code,
            message_id: mid,
            token,
            options,
            payload,
        };
        if let Some(ack) = encode(&ack) {
            self.ml.reply(peer, mid, ack);
        }
    }

    /// Answers a request without the application: piggybacked for a CON, in a NON of its
    /// own for a NON (RFC 7252 §5.2.3).
    fn reply_now(
        &mut self,
        peer: SocketAddr,
        request: &Message,
        code: Code,
        options: Options,
        payload: Bytes,
    ) {
        let mid = request.message_id;
        if request.mtype == MessageType::Confirmable {
            self.reply_piggybacked(peer, mid, request.token, code, options, payload);
            return;
        }
        let Some(mid) = self.ml.allocate_mid(self.now) else {
            return;
        };
        let response = Message {
            mtype: MessageType::NonConfirmable,
            code,
            message_id: mid,
            token: request.token,
            options,
            payload,
        };
        if let Some(datagram) = encode(&response) {
            self.ml.send(peer, datagram);
        }
    }

    /// Our separate response `id` was acknowledged, reset, or given up on. A registration
    /// it answered is undone when the client never got it or rejected it.
    pub(crate) fn server_response_done(&mut self, id: IncomingId, error: Option<RequestError>) {
        if let Some(inc) = self.server.remove(id) {
            if let Some(error) = error {
                if inc.registered {
                    self.remove_observer(ObserverKey::new(inc.peer, inc.token));
                }
                self.events.push_back(Event::ResponseFailed { id, error });
            }
        }
    }

    /// Runs a server timer due at `now`, if any: the empty ACK of a CON request the
    /// application has not answered within `piggyback_delay`, or the end of a request never
    /// answered within EXCHANGE_LIFETIME. Whether one ran.
    pub(crate) fn server_timers(&mut self, now: Instant) -> bool {
        let Some(&(at, id)) = self.server.timers.first() else {
            return false;
        };
        if at > now {
            return false;
        }
        self.server.timers.pop_first();
        let lifetime = self.config.transmission.exchange_lifetime();
        let Some(inc) = self.server.incoming.get_mut(&id) else {
            return true;
        };
        inc.timer = None;
        if inc.confirmable && inc.stage == Stage::Received {
            inc.stage = Stage::Acked;
            let (peer, mid) = (inc.peer, inc.mid);
            if let Some(ack) = encode(&Message::empty(MessageType::Acknowledgement, mid)) {
                self.ml.reply(peer, mid, ack);
            }
            self.server.set_timer(id, Some(now + lifetime));
        } else {
            self.server.remove(id);
        }
        true
    }
}
