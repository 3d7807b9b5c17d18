//! The server role: a request not seen before goes to the application once
//! ([`Event::Request`]); [`Endpoint::respond`] answers it piggybacked in the ACK while the
//! application is within `piggyback_delay`, else after an empty ACK in a separate CON
//! response retransmitted until acknowledged (RFC 7252 §5.2). The limits on what the
//! application may have pending answer a flood with 5.03 instead of memory.

use alloc::collections::{BTreeMap, BTreeSet};
use alloc::format;
use core::net::SocketAddr;

use bytes::Bytes;

use super::error::{EndpointError, RequestError};
use super::event::{Event, IncomingId};
use super::message_layer::Owner;
use super::request::{Request, Response};
use super::{Endpoint, Instant, encode};
use crate::message::{Code, Message, MessageType, Token};
use crate::option::Options;

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
}

#[derive(Debug, Default)]
pub(crate) struct ServerState {
    next_id: u64,
    incoming: BTreeMap<IncomingId, Incoming>,
    per_peer: BTreeMap<SocketAddr, usize>,
    timers: BTreeSet<(Instant, IncomingId)>,
}

impl ServerState {
    pub(crate) fn next_deadline(&self) -> Option<Instant> {
        self.timers.first().map(|t| t.0)
    }

    pub(crate) fn len(&self) -> usize {
        self.incoming.len()
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
    /// Answers the request `id` of an [`Event::Request`]: piggybacked in the ACK if the
    /// empty ACK has not gone out yet, else as a separate CON response retransmitted until
    /// acknowledged; a NON request gets a NON response. The endpoint copies the token.
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
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn respond(
        &mut self,
        now: Instant,
        id: IncomingId,
        response: Response,
    ) -> Result<(), EndpointError> {
        self.enter(now);
        if !response.code.is_response() {
            return Err(EndpointError::NotAResponse);
        }
        let inc = self
            .server
            .incoming
            .get(&id)
            .ok_or(EndpointError::UnknownRequest)?;
        self.check_size(inc.token.len(), &response.options, &response.payload)?;
        let (peer, token) = (inc.peer, inc.token);
        let mut message = Message {
            mtype: MessageType::Acknowledgement,
            code: response.code,
            message_id: inc.mid,
            token,
            options: response.options,
            payload: response.payload,
        };
        match (inc.confirmable, inc.stage) {
            (_, Stage::Responding) => return Err(EndpointError::UnknownRequest),
            (true, Stage::Received) => {
                let request_mid = inc.mid;
                if let Some(ack) = encode(&message) {
                    self.ml.reply(peer, request_mid, ack);
                }
                self.server.remove(id);
            }
            (confirmable, _) => {
                let mid = self
                    .ml
                    .allocate_mid(self.now)
                    .ok_or(EndpointError::MessageIdsExhausted)?;
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
        self.run_timers();
        Ok(())
    }

    /// A request in a CON or NON not seen before (RFC 7252 §4.5: duplicates never get here).
    pub(crate) fn server_request(&mut self, peer: SocketAddr, message: Message) {
        let confirmable = message.mtype == MessageType::Confirmable;
        let mid = message.message_id;
        if let Some(option) = message.options.first_unrecognized_critical() {
            // RFC 7252 §5.4.1: 4.02 for a CON request; a NON one is rejected (§4.3: RST).
            if confirmable {
                self.ml.remember(self.now, peer, mid, true);
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
        if !self.ml.remember(self.now, peer, mid, confirmable) {
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

    /// Our separate response `id` was acknowledged, reset, or given up on.
    pub(crate) fn server_response_done(&mut self, id: IncomingId, error: Option<RequestError>) {
        if self.server.remove(id).is_some() {
            if let Some(error) = error {
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
