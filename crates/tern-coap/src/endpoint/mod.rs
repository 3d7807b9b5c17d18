//! The sans-IO CoAP endpoint (RFC 7252 §4–5 over UDP, with block-wise transfers, RFC 7959,
//! and Observe, RFC 7641): one state machine that is client and server at once on one
//! socket.
//!
//! [`Endpoint`] never touches a socket, a clock or a random number generator: the caller
//! feeds it datagrams and the time, and drains the datagrams it wants sent, the events for
//! the application and its next deadline. Randomness (the first Message ID, tokens,
//! retransmission jitter) comes from the `seed` given to [`Endpoint::new`], so a run is
//! reproducible.
//!
//! # Methods
//!
//! - **Inputs** (`handle_*`): [`Endpoint::handle_datagram`] (a datagram from a peer),
//!   [`Endpoint::handle_timeout`] (the deadline from [`Endpoint::poll_timeout`] passed).
//! - **Client commands**: [`Endpoint::request`], [`Endpoint::observe`], [`Endpoint::ping`],
//!   [`Endpoint::cancel`].
//! - **Server commands**: [`Endpoint::respond`] or [`Endpoint::respond_observable`], the
//!   answer to an [`Event::Request`]; [`Endpoint::notify`], a new state of an observed
//!   resource.
//! - **Getters**: [`Endpoint::config`], and the sizes of what it holds
//!   ([`Endpoint::requests_len`], [`Endpoint::pending_len`], [`Endpoint::dedup_len`],
//!   [`Endpoint::in_flight_len`], [`Endpoint::observers_len`], [`Endpoint::block_bytes`]).
//! - **Outputs** (`poll_*`): [`Endpoint::poll_transmit`] (a datagram to send),
//!   [`Endpoint::poll_event`] (what the application learns), [`Endpoint::poll_timeout`] (when
//!   to call `handle_timeout` next).
//!
//! After every input or command, drain `poll_transmit` and `poll_event`, then wait for a
//! datagram until `poll_timeout`. After any input or command, `poll_timeout` is `None` or
//! later than the `now` it was given. A blocking driver over two `std::net` sockets, a
//! client and a server in one thread:
//!
//! ```
//! use std::net::UdpSocket;
//! use std::time::{Duration, Instant as StdInstant};
//! use bytes::Bytes;
//! use tern_coap::endpoint::{Endpoint, EndpointConfig, Event, Instant, Request, Response};
//! use tern_coap::Code;
//!
//! /// One turn of the loop for one endpoint: send, read a datagram or time out, send again.
//! fn turn(socket: &UdpSocket, endpoint: &mut Endpoint, start: StdInstant) -> std::io::Result<()> {
//!     let now = || Instant::from_micros(start.elapsed().as_micros() as u64);
//!     while let Some(t) = endpoint.poll_transmit() {
//!         socket.send_to(&t.datagram, t.destination)?;
//!     }
//!     let mut buf = [0u8; 1152];
//!     match socket.recv_from(&mut buf) {
//!         Ok((n, peer)) => endpoint.handle_datagram(now(), peer, Bytes::copy_from_slice(&buf[..n])),
//!         Err(e) if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) => {
//!             if endpoint.poll_timeout().is_some_and(|t| t <= now()) {
//!                 endpoint.handle_timeout(now());
//!             }
//!         }
//!         Err(e) => return Err(e),
//!     }
//!     while let Some(t) = endpoint.poll_transmit() {
//!         socket.send_to(&t.datagram, t.destination)?;
//!     }
//!     Ok(())
//! }
//!
//! let start = StdInstant::now();
//! let server_socket = UdpSocket::bind("127.0.0.1:0")?;
//! let client_socket = UdpSocket::bind("127.0.0.1:0")?;
//! for s in [&server_socket, &client_socket] {
//!     s.set_read_timeout(Some(Duration::from_millis(5)))?;
//! }
//! let mut server = Endpoint::new(EndpointConfig::default(), 1);
//! let mut client = Endpoint::new(EndpointConfig::default(), 2);
//!
//! let id = client.request(Instant::ZERO, server_socket.local_addr()?, Request::get("hello")?)?;
//! let mut answer = None;
//! for _ in 0..1_000 {
//!     turn(&client_socket, &mut client, start)?;
//!     turn(&server_socket, &mut server, start)?;
//!     while let Some(event) = server.poll_event() {
//!         if let Event::Request { id, request, .. } = event {
//!             let path: Vec<&str> = request.options.uri_path()?.collect();
//!             let response = match path.as_slice() {
//!                 ["hello"] => Response::new(Code::CONTENT).with_payload("world"),
//!                 _ => Response::new(Code::NOT_FOUND),
//!             };
//!             let now = Instant::from_micros(start.elapsed().as_micros() as u64);
//!             server.respond(now, id, response)?;
//!         }
//!     }
//!     if let Some(Event::Response { id: done, response }) = client.poll_event() {
//!         assert_eq!(done, id);
//!         answer = Some(response);
//!         break;
//!     }
//! }
//! let answer = answer.expect("the server answers over loopback");
//! assert_eq!((answer.code, &answer.payload[..]), (Code::CONTENT, &b"world"[..]));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Where each rule lives
//!
//! - `message_layer.rs`: Message IDs from a random start, unique within EXCHANGE_LIFETIME
//!   (§4.4); CON retransmission with randomized exponential backoff (§4.2); the duplicate
//!   cache of (peer, Message ID) with the reply sent, replayed for duplicates (§4.5).
//! - `client/mod.rs`: tokens from the seeded generator (§5.3.1), avoiding those released
//!   lately; NSTART per peer with a FIFO queue (§4.7); matching by peer and token, and
//!   Message ID for piggybacked responses (§5.3.2); separate and NON responses; timeouts;
//!   Reset. An exchange may take several messages, each a request of its own.
//! - `client/transfer.rs`: block-wise on the client (RFC 7959): a body split into Block1
//!   blocks with a Request-Tag (RFC 9175), a response collected from Block2 blocks, early
//!   and late size negotiation, the restart on a changed ETag.
//! - `client/observe.rs`: observations (RFC 7641): registration, order by [`observe::Freshness`]
//!   (§3.4), re-registration after Max-Age (§3.3.1), notification bodies in blocks, and
//!   deregistration by `cancel` (§3.6).
//! - `server/mod.rs`: piggybacked or separate responses (§5.2), 4.02 for unrecognized critical
//!   options (§5.4.1), the pending limits (5.03 with Max-Age).
//! - `server/block.rs`: block-wise on the server: bodies collected from Block1 blocks (2.31,
//!   4.08, 4.13), answers sliced into Block2 blocks with an ETag, the bodies kept for the
//!   follow-ups.
//! - `server/observe.rs`: the observers (RFC 7641 §4), notifications (CON or NON, one in
//!   flight per observer, §4.5), their removal on RST, timeout, Observe = 1 or an ending code.
//! - [`block`] and [`observe`]: the pure parts of RFC 7959 and RFC 7641 the above drive.
//! - this file: decoding and routing of every datagram by type and code class, rejection
//!   (RST for a CON, silence otherwise, §4.2, §4.3), CoAP ping (§4.3).
//!
//! PROBING_RATE (§4.7) is not enforced: NON requests count as outstanding interactions
//! under NSTART until answered or timed out, which bounds them per peer.
//!
//! # Limits
//!
//! A flood of datagrams never grows memory without bound: the duplicate cache holds at most
//! [`EndpointConfig::max_dedup_entries`] entries (when full, new requests are dropped
//! unanswered, so nothing is processed without its answer being remembered); requests with
//! the application are limited per peer and in total (beyond: 5.03 Service Unavailable with
//! Max-Age for a CON, silence for a NON); client requests by
//! [`EndpointConfig::max_requests`] (observations and the endpoint's own block fetches and
//! deregistrations count). Datagrams that answer nothing cost an RST at most.
//!
//! Block-wise transfers hold at most [`EndpointConfig::max_reassembly_bytes`] per body; at
//! the server, request bodies being collected and responses kept for follow-ups are bounded
//! in number ([`EndpointConfig::max_block_transfers`]) and bytes
//! ([`EndpointConfig::max_reassembly_total`]) and expire after EXCHANGE_LIFETIME, so a peer
//! cannot make the endpoint hold more than twice `max_reassembly_total` for it: a Size1,
//! Size2 or block offset a peer announces is checked before memory is reserved for it.
//! Observers are bounded in total and per client ([`EndpointConfig::observers`]); beyond,
//! a registration is answered without Observe.

pub mod block;
mod client;
mod config;
mod error;
mod event;
mod message_layer;
pub mod observe;
mod request;
mod rng;
mod server;

use alloc::collections::VecDeque;
use core::net::SocketAddr;

use bytes::{Bytes, BytesMut};

pub use config::{EndpointConfig, TransmissionParameters};
pub use error::{EndpointError, ObservationEnd, RequestError};
pub use event::{Event, IncomingId, RequestId, Transmit};
pub use request::{BuildError, Request, RequestBuilder, Response, ResponseBuilder};
/// A point on the caller's clock (re-exported from `tern-time`, shared with tern-mqtt).
pub use tern_time::Instant;

use crate::message::{Message, MessageType};
use crate::option::{OptionNumber, Options, OptionsBuilder};
use client::ClientState;
use message_layer::{MessageLayer, Owner, Seen};
use rng::Rng;
use server::ServerState;

/// A CoAP endpoint over UDP: client and server on one socket. See the
/// [module documentation](self) for the driving loop.
#[derive(Debug)]
pub struct Endpoint {
    config: EndpointConfig,
    rng: Rng,
    /// The latest time given; time given later that is earlier counts as this.
    now: Instant,
    ml: MessageLayer,
    client: ClientState,
    server: ServerState,
    events: VecDeque<Event>,
}

/// `options` less those numbered in `drop`, plus what `add` pushes (in number order, as
/// always).
pub(crate) fn rebuild(
    options: &Options,
    drop: &[OptionNumber],
    add: impl FnOnce(OptionsBuilder) -> OptionsBuilder,
) -> Options {
    let mut builder = Options::builder();
    for option in options.iter().filter(|o| !drop.contains(&o.number)) {
        builder = builder.push(option.number, option.value);
    }
    // The values come from valid options or typed setters, so building cannot fail.
    add(builder).build().unwrap_or_else(|_| options.clone())
}

/// Encodes a message the endpoint built (never an invalid one: `None` only as a guard).
pub(crate) fn encode(message: &Message) -> Option<Bytes> {
    let mut buf = BytesMut::with_capacity(message.encoded_len());
    message.encode(&mut buf).ok()?;
    Some(buf.freeze())
}

impl Endpoint {
    /// An endpoint with no exchanges. `seed` drives every random choice: the first Message
    /// ID, tokens and retransmission timeouts. Give each endpoint its own, e.g. from the
    /// operating system's generator.
    ///
    /// ```
    /// use tern_coap::endpoint::{Endpoint, EndpointConfig};
    ///
    /// let endpoint = Endpoint::new(EndpointConfig::default(), 0x5eed);
    /// assert_eq!(endpoint.poll_timeout(), None);
    /// ```
    pub fn new(config: EndpointConfig, seed: u64) -> Endpoint {
        let mut rng = Rng::new(seed);
        let first_mid = rng.next_u64() as u16;
        Endpoint {
            ml: MessageLayer::new(config.transmission, config.max_dedup_entries, first_mid),
            server: ServerState::new(&config),
            config,
            rng,
            now: Instant::ZERO,
            client: ClientState::default(),
            events: VecDeque::new(),
        }
    }

    // ----- getters -------------------------------------------------------------------------

    /// The configuration.
    pub fn config(&self) -> &EndpointConfig {
        &self.config
    }

    /// Client requests (and pings) queued or awaiting their outcome.
    pub fn requests_len(&self) -> usize {
        self.client.len()
    }

    /// Received requests not yet answered, or whose separate response is in flight.
    pub fn pending_len(&self) -> usize {
        self.server.len()
    }

    /// (peer, Message ID) pairs remembered for duplicate detection.
    pub fn dedup_len(&self) -> usize {
        self.ml.dedup_len()
    }

    /// How many finished exchanges the duplicate cache forgot before their lifetime because
    /// it was full ([`EndpointConfig::max_dedup_entries`]): a late duplicate of one of them
    /// is processed again. Non-zero means the cache is too small for the request rate.
    pub fn dedup_forgotten(&self) -> u64 {
        self.ml.dedup_forgotten()
    }

    /// Confirmable messages awaiting an acknowledgement.
    pub fn in_flight_len(&self) -> usize {
        self.ml.in_flight()
    }

    // ----- inputs --------------------------------------------------------------------------

    /// A datagram from `peer`. Anything is accepted: what is not a valid CoAP message is
    /// rejected as RFC 7252 §4.2/§4.3 say (an RST for a CON, else silence).
    ///
    /// ```
    /// use bytes::Bytes;
    /// use tern_coap::endpoint::{Endpoint, EndpointConfig, Instant};
    /// use tern_coap::{Message, MessageType};
    ///
    /// let mut endpoint = Endpoint::new(EndpointConfig::default(), 1);
    /// // A CoAP ping (empty CON, Message ID 7) is answered with RST (RFC 7252 §4.3).
    /// endpoint.handle_datagram(Instant::ZERO, "192.0.2.1:5683".parse()?, Bytes::from_static(&[0x40, 0, 0, 7]));
    /// let rst = Message::decode(endpoint.poll_transmit().unwrap().datagram)?;
    /// assert_eq!((rst.mtype, rst.message_id), (MessageType::Reset, 7));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn handle_datagram(&mut self, now: Instant, peer: SocketAddr, datagram: Bytes) {
        self.advance(now);
        // Expired duplicate entries go first, so a message after its lifetime is new; the
        // other timers run after it, so a reply arriving as its message is given up on counts.
        self.ml.expire_dedup(self.now);
        let header = datagram.get(..4).and_then(|h| <[u8; 4]>::try_from(h).ok());
        match Message::decode(datagram) {
            Ok(message) => self.dispatch(peer, message),
            Err(e) => {
                // RFC 7252 §4.2: a CON with a format error is rejected with RST; §4.3: other
                // types silently. An unknown version is always ignored (§3).
                if let Some([b0, _, m0, m1]) = header {
                    let con = (b0 >> 4) & 0b11 == MessageType::Confirmable as u8;
                    if con && !e.silently_ignore() {
                        self.reset(peer, u16::from_be_bytes([m0, m1]));
                    }
                }
            }
        }
        self.run_timers();
    }

    /// The deadline from [`Endpoint::poll_timeout`] has passed (calling it earlier, or
    /// again, is harmless).
    pub fn handle_timeout(&mut self, now: Instant) {
        self.advance(now);
        self.run_timers();
    }

    // ----- outputs -------------------------------------------------------------------------

    /// The next datagram to send.
    pub fn poll_transmit(&mut self) -> Option<Transmit> {
        self.ml.poll_transmit()
    }

    /// The next event for the application.
    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    /// When [`Endpoint::handle_timeout`] must be called next; `None` while nothing is timed.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Instant> {
        [
            self.ml.next_deadline(),
            self.client.next_deadline(),
            self.server.next_deadline(),
        ]
        .into_iter()
        .flatten()
        .min()
    }

    // ----- internals -----------------------------------------------------------------------

    fn advance(&mut self, now: Instant) {
        self.now = self.now.max(now);
    }

    /// The start of every command: the time moves on and what was due runs first, so that
    /// a command refused with an error leaves no deadline in the past either.
    fn enter(&mut self, now: Instant) {
        self.advance(now);
        self.run_timers();
    }

    /// Runs everything due at `self.now`, so that afterwards every deadline is later.
    fn run_timers(&mut self) {
        let now = self.now;
        loop {
            if let Some(owner) = self.ml.poll_expired(now) {
                match owner {
                    Owner::Request(id) => self.client_gave_up(id),
                    Owner::Response(id) => {
                        self.server_response_done(id, Some(RequestError::Timeout))
                    }
                    Owner::Notification(key, mid) => self.notification_timed_out(key, mid),
                }
                continue;
            }
            if self.client_timers(now) || self.server_timers(now) {
                continue;
            }
            break;
        }
        self.server.expire_blocks(now);
        self.ml.expire_dedup(now);
    }

    /// Fails with [`EndpointError::MessageTooLarge`] when a message with this token length,
    /// options and payload would not fit `max_message_size`.
    fn check_size(
        &self,
        token_len: usize,
        options: &Options,
        payload: &Bytes,
    ) -> Result<(), EndpointError> {
        let payload_len = if payload.is_empty() {
            0
        } else {
            1 + payload.len()
        };
        let size = 4 + token_len + options.as_bytes().len() + payload_len;
        if size > self.config.max_message_size {
            return Err(EndpointError::MessageTooLarge {
                size,
                max: self.config.max_message_size,
            });
        }
        Ok(())
    }

    /// Routes a decoded message by type and code class (RFC 7252 §4.2, §4.3, §5).
    fn dispatch(&mut self, peer: SocketAddr, message: Message) {
        let mid = message.message_id;
        match message.mtype {
            MessageType::Acknowledgement => self.on_ack(peer, message),
            MessageType::Reset => {
                // A Reset that is not Empty is rejected, i.e. ignored (§4.2).
                if message.code.is_empty() {
                    self.on_reset(peer, mid);
                }
            }
            MessageType::Confirmable | MessageType::NonConfirmable => {
                let confirmable = message.mtype == MessageType::Confirmable;
                if let Seen::Duplicate(reply) = self.ml.seen(peer, mid) {
                    // §4.5: acknowledge each duplicate CON with the same ACK (or RST), process
                    // nothing twice; a duplicate NON is ignored.
                    if let (true, Some(reply)) = (confirmable, reply) {
                        self.ml.send(peer, reply);
                    }
                    return;
                }
                if message.code.is_request() {
                    self.server_request(peer, message);
                } else if message.code.is_response() {
                    self.client_separate(peer, message);
                } else if confirmable {
                    // An Empty CON (a ping, §4.3) or a reserved class (1, 6, 7): RST (§4.2).
                    // An Empty NON or a NON of a reserved class is ignored (§4.3).
                    self.reset(peer, mid);
                }
            }
        }
    }

    /// An ACK: it must match a CON of ours in flight to `peer` (§4.2); otherwise, or when it
    /// carries a request or a reserved class, it is ignored.
    fn on_ack(&mut self, peer: SocketAddr, message: Message) {
        let mid = message.message_id;
        let Some(owner) = self.ml.owner(peer, mid) else {
            return;
        };
        match owner {
            Owner::Request(id) => {
                if message.code.is_empty() {
                    self.ml.stop(peer, mid);
                    self.client_empty_ack(id);
                } else if message.code.is_response() {
                    // Stopped only if the token matches too (§5.3.2).
                    self.client_piggybacked(id, message);
                }
            }
            Owner::Response(id) => {
                // The server stops on any matching ACK, ignoring a code or payload (§5.2.2).
                if message.code.is_empty() || message.code.is_response() {
                    self.ml.stop(peer, mid);
                    self.server_response_done(id, None);
                }
            }
            Owner::Notification(key, mid) => {
                if message.code.is_empty() || message.code.is_response() {
                    self.ml.stop(peer, mid);
                    self.notification_acked(key, mid);
                }
            }
        }
    }

    /// An empty RST: it cancels the CON (or NON request) of ours with that Message ID.
    fn on_reset(&mut self, peer: SocketAddr, mid: u16) {
        match self.ml.stop(peer, mid) {
            Some(Owner::Request(id)) => self.client_reset(id),
            Some(Owner::Response(id)) => {
                self.server_response_done(id, Some(RequestError::Reset));
            }
            Some(Owner::Notification(key, mid)) => self.notification_reset(key, mid),
            None => {
                if !self.client_reset_non(peer, mid) {
                    self.server_reset_non(peer, mid);
                }
            }
        }
    }
}
