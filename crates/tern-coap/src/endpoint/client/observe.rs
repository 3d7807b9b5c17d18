//! Observations on the client (RFC 7641): the registration GET, the notifications on its
//! token ordered by [`Freshness`], re-registration when Max-Age runs out, notification bodies
//! in Block2 blocks (RFC 7959 §2.6), and cancellation.
//!
//! An observation is an exchange that keeps its token. Its registration (and each
//! re-registration) is a message like any other: queued under NSTART, retransmitted, timed.
//! Between registrations it is `Idle`, listening on its token, its deadline the
//! re-registration. A notification whose body comes in blocks starts a second, internal
//! exchange (`Purpose::Fetch`) that asks for the remaining blocks with GETs without Observe on
//! tokens of their own; only the newest notification's fetch may deliver, so notifications
//! come out in order.

use super::super::block::{Block2Progress, Block2Reassembly};
use super::super::error::{EndpointError, RequestError};
use super::super::event::{Event, RequestId};
use super::super::observe::{Freshness, Verdict};
use super::super::request::{Request, Response};
use super::super::{Endpoint, Instant, rebuild};
use super::transfer::{Transfer, follow_up, stripped};
use super::{Exchange, Purpose, Stage};
use crate::message::{Code, Message};
use crate::option::OptionNumber;
use crate::value::Observe;
use core::net::SocketAddr;
use core::time::Duration;

/// The client's state of one observation.
#[derive(Debug)]
pub(crate) struct Observation {
    freshness: Freshness,
    /// A registration was answered with Observe: the server has us on its list.
    registered: bool,
    /// The exchange fetching the rest of the newest notification's body.
    pub(super) fetch: Option<RequestId>,
}

/// The earliest a re-registration follows a notification, whatever its Max-Age: a server
/// sending Max-Age 0 does not get a registration per notification.
const MIN_REREGISTER_DELAY: Duration = Duration::from_secs(1);

impl Endpoint {
    /// Observes a resource (RFC 7641): sends `request` (a GET or FETCH) with Observe = 0 to
    /// `peer` and returns the id of the observation.
    ///
    /// The response to the registration and every newer notification come as
    /// [`Event::Notification`], in order (older ones and duplicates are dropped, §3.4); a
    /// body in Block2 blocks is collected first (RFC 7959 §2.6). The observation ends with
    /// one [`Event::ObservationEnded`]: when the server answers without Observe or with an
    /// error code (that response comes as the last notification before it), or when the
    /// registration or a re-registration fails (reset, no answer). When a notification's
    /// Max-Age (plus MAX_LATENCY, as TD_COAP_OBS_04 suggests) passes without a newer one,
    /// the endpoint registers again with the same token (§3.3.1). [`Endpoint::cancel`]
    /// deregisters. The request is sent CON or NON as it says; its body is not split in
    /// blocks.
    ///
    /// A notification whose body comes in blocks is shown once the endpoint has fetched the
    /// rest (GETs without Observe, each on a token of its own); if a newer notification
    /// arrives meanwhile, or the body changes under the fetch (its ETag), that notification
    /// is dropped for the newer one. With [`EndpointConfig::token_length`] 0, the
    /// observation holds the only token its peer can have: other requests to that peer,
    /// fetches included, wait until it ends.
    ///
    /// [`EndpointConfig::token_length`]: super::super::EndpointConfig::token_length
    ///
    /// ```
    /// use tern_coap::endpoint::{Endpoint, EndpointConfig, Event, Instant, Request};
    /// use tern_coap::value::Observe;
    /// use tern_coap::{Code, Message, MessageType};
    /// use bytes::{Bytes, BytesMut};
    ///
    /// let mut client = Endpoint::new(EndpointConfig::default(), 1);
    /// let server = "192.0.2.1:5683".parse()?;
    /// let id = client.observe(Instant::ZERO, server, Request::get("obs")?)?;
    /// let get = Message::decode(client.poll_transmit().unwrap().datagram)?;
    /// assert_eq!(get.options.observe()?, Some(Observe::REGISTER));
    ///
    /// // The server answers with Observe = 5, then notifies with Observe = 6.
    /// let mut reply = |mtype, mid, seq: u32, text: &'static str| {
    ///     let m = Message {
    ///         mtype,
    ///         code: Code::CONTENT,
    ///         message_id: mid,
    ///         token: get.token,
    ///         options: tern_coap::Options::builder().push_observe(Observe::new(seq).unwrap()).build().unwrap(),
    ///         payload: Bytes::from_static(text.as_bytes()),
    ///     };
    ///     let mut buf = BytesMut::new();
    ///     m.encode(&mut buf).unwrap();
    ///     client.handle_datagram(Instant::ZERO, server, buf.freeze());
    /// };
    /// reply(MessageType::Acknowledgement, get.message_id, 5, "21 C");
    /// reply(MessageType::NonConfirmable, 0x7000, 6, "22 C");
    /// let payloads: Vec<_> = std::iter::from_fn(|| client.poll_event())
    ///     .map(|e| match e {
    ///         Event::Notification { id: got, response } if got == id => response.payload,
    ///         other => panic!("{other:?}"),
    ///     })
    ///     .collect();
    /// assert_eq!(payloads, ["21 C", "22 C"]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn observe(
        &mut self,
        now: Instant,
        peer: SocketAddr,
        request: Request,
    ) -> Result<RequestId, EndpointError> {
        self.enter(now);
        if !matches!(request.method, Code::GET | Code::FETCH) {
            return Err(EndpointError::NotObservable);
        }
        let request = Request {
            options: rebuild(&request.options, &[OptionNumber::OBSERVE], |b| {
                b.push_observe(Observe::REGISTER)
            }),
            ..request
        };
        let margin = self.config.transmission.max_latency;
        let observation = Observation {
            freshness: Freshness::new().with_reregister_margin(margin),
            registered: false,
            fetch: None,
        };
        let id = self.start_request(peer, request, Purpose::Observe(observation))?;
        self.run_timers();
        Ok(id)
    }

    /// `cancel`: an observation the server has registered is deregistered with a GET with
    /// Observe = 1 on its token (RFC 7641 §3.6); anything else is forgotten.
    pub(super) fn cancel_exchange(&mut self, id: RequestId) {
        let Some(ex) = self.finish(id) else {
            return;
        };
        let (Purpose::Observe(obs), Some(request)) = (&ex.purpose, ex.request) else {
            return;
        };
        if !obs.registered {
            return;
        }
        // "All other options MUST be identical to those in the registration request."
        let deregister = Request {
            options: rebuild(&request.options, &[OptionNumber::OBSERVE], |b| {
                b.push_observe(Observe::DEREGISTER)
            }),
            ..request
        };
        let mut dereg = Exchange::new(
            ex.peer,
            Purpose::Deregister,
            Some(deregister.clone()),
            Some(deregister),
            self.now,
        );
        dereg.token = ex.token;
        dereg.fixed_token = true;
        // Over the request limit, the next notification's RST deregisters instead.
        let _ = self.enqueue(dereg);
    }

    /// A response on an observation's token: the answer to a (re-)registration, or a
    /// notification (RFC 7641 §3.2–§3.4).
    pub(super) fn observation_response(
        &mut self,
        id: RequestId,
        message: Message,
        piggybacked: bool,
    ) {
        let now = self.now;
        let Some(ex) = self.client.exchanges.get_mut(&id) else {
            return;
        };
        let in_flight = matches!(ex.stage, Stage::AwaitingAck | Stage::AwaitingResponse);
        let Purpose::Observe(obs) = &mut ex.purpose else {
            return;
        };
        let observe = message.options.observe().ok().flatten();
        let max_age = message.options.max_age().unwrap_or(60);
        // The answer to a registration starts a new sequence (the server may have lost its
        // state, TD_COAP_OBS_04): the one matched by Message ID, or any before the first.
        let verdict = if piggybacked || obs.freshness.last().is_none() {
            obs.freshness
                .handle_registration_response(now, message.code, observe, max_age)
        } else {
            obs.freshness
                .handle_notification(now, message.code, observe, max_age)
        };
        if verdict == Verdict::Stale {
            // Out of order or a repeat; a CON one was acknowledged already.
            return;
        }
        // Registered while notifications come; a server that ends it has removed us (so a
        // `cancel` while the last body is fetched sends no deregistration).
        obs.registered = verdict == Verdict::Fresh;
        let reregister_at = obs.freshness.reregister_at();
        if in_flight {
            // The (re-)registration was answered.
            self.end_message(id, true);
        }
        let idle = self
            .client
            .exchanges
            .get(&id)
            .is_some_and(|ex| ex.stage == Stage::Idle);
        if verdict == Verdict::Ended {
            // Off the server's list: whatever comes on the token from now is rejected.
            self.end_message(id, false);
        } else if idle {
            let at = reregister_at.map(|at| at.max(now + MIN_REREGISTER_DELAY));
            self.client.set_deadline(id, at);
        }
        self.deliver_notification(id, message, verdict == Verdict::Ended);
    }

    /// Gives a fresh notification to the application, whole: at once, or once the rest of
    /// its body is fetched. A fetch of an older notification gives way. When `ends`, the
    /// observation ends after it.
    fn deliver_notification(&mut self, id: RequestId, message: Message, ends: bool) {
        let older = self
            .client
            .exchanges
            .get_mut(&id)
            .and_then(|ex| match &mut ex.purpose {
                Purpose::Observe(obs) => obs.fetch.take(),
                _ => None,
            });
        if let Some(older) = older {
            self.finish(older);
        }
        match message.options.block2(false) {
            Ok(Some(block)) if block.more() => self.start_fetch(id, message, ends),
            _ => {
                let response = Response {
                    code: message.code,
                    options: message.options,
                    payload: message.payload,
                };
                self.events.push_back(Event::Notification { id, response });
                if ends {
                    self.end(id, Ok(Response::new(Code::EMPTY)));
                }
            }
        }
    }

    /// Starts collecting the body of a notification whose first block arrived, with GETs
    /// without Observe for the other blocks (RFC 7959 §2.6).
    fn start_fetch(&mut self, parent: RequestId, message: Message, ends: bool) {
        let limit = self.config.max_reassembly_bytes;
        let szx = self.config.default_block_szx;
        let Some(ex) = self.client.exchanges.get(&parent) else {
            return;
        };
        let (peer, Some(registration)) = (ex.peer, ex.request.as_ref()) else {
            return;
        };
        let mut reassembly = Block2Reassembly::with_max_szx(limit, szx);
        let block2 = message.options.block2(false).ok().flatten();
        let etag = message.options.etags().ok().and_then(|mut e| e.next());
        let size2 = message.options.size2().ok().flatten();
        let outcome = match reassembly.handle_response(block2, etag, size2, &message.payload) {
            Ok(Block2Progress::NeedMore(next)) => {
                let request = Request {
                    options: rebuild(&registration.options, &[OptionNumber::OBSERVE], |b| b),
                    ..registration.clone()
                };
                let keep_payload = request.method == Code::FETCH;
                let next = follow_up(&request, next, keep_payload);
                let mut fetch = Exchange::new(
                    peer,
                    Purpose::Fetch { parent, ends },
                    Some(request),
                    Some(next),
                    self.now,
                );
                fetch.transfer = Transfer::collecting(reassembly, stripped(&message));
                match self.enqueue(fetch) {
                    Ok(child) => {
                        if let Some(Purpose::Observe(obs)) = self
                            .client
                            .exchanges
                            .get_mut(&parent)
                            .map(|ex| &mut ex.purpose)
                        {
                            obs.fetch = Some(child);
                        }
                        return;
                    }
                    // No room for another request: the first block is all there is.
                    Err(_) => Ok(Response {
                        code: message.code,
                        options: message.options,
                        payload: message.payload,
                    }),
                }
            }
            Ok(Block2Progress::Complete(body)) => Ok(Response {
                payload: body,
                ..stripped(&message)
            }),
            Err(e) => Err(RequestError::Block2(e)),
        };
        self.notification_outcome(parent, ends, outcome);
    }

    /// The fetch `child` of observation `parent` ended with `outcome`.
    pub(super) fn fetch_done(
        &mut self,
        parent: RequestId,
        child: RequestId,
        ends: bool,
        outcome: Result<Response, RequestError>,
    ) {
        let Some(Purpose::Observe(obs)) = self
            .client
            .exchanges
            .get_mut(&parent)
            .map(|ex| &mut ex.purpose)
        else {
            return;
        };
        // A newer notification replaced it: it has nothing to deliver.
        if obs.fetch != Some(child) {
            return;
        }
        obs.fetch = None;
        self.notification_outcome(parent, ends, outcome);
    }

    /// The whole body of a notification, or why it could not be collected: a notification
    /// lost that way is dropped and the observation goes on, unless it was the last.
    fn notification_outcome(
        &mut self,
        id: RequestId,
        ends: bool,
        outcome: Result<Response, RequestError>,
    ) {
        match outcome {
            Ok(response) => {
                self.events.push_back(Event::Notification { id, response });
                if ends {
                    self.end(id, Ok(Response::new(Code::EMPTY)));
                }
            }
            Err(e) if ends => self.end(id, Err(e)),
            Err(_) => {}
        }
    }

    /// Max-Age (and the margin) passed since the newest notification: register again with
    /// the same token and options (RFC 7641 §3.3.1).
    pub(super) fn reregister(&mut self, id: RequestId) {
        let Some(ex) = self.client.exchanges.get_mut(&id) else {
            return;
        };
        if !matches!(ex.purpose, Purpose::Observe(_)) {
            return;
        }
        ex.message = ex.request.clone();
        self.requeue(id);
    }
}
