//! Observe on the server (RFC 7641 §4): the list of observers ([`Observers`], keyed by the
//! application's resource key), the notifications [`Endpoint::notify`] sends, and the
//! removal of observers that deregister, reject a notification or stop acknowledging.
//!
//! A notification goes Confirmable to a client that registered with a CON request (it
//! reveals a client that is gone, TD_COAP_OBS_05) and Non-confirmable otherwise, unless the
//! configuration sets the resource's [`NotificationType`](super::super::observe::NotificationType);
//! with a CON at least every 24 hours and in place of one still in flight (§4.5). One whose body is
//! larger than a block carries its first block (RFC 7959 §2.6); the body is kept under the
//! registration's key for the follow-up GETs.

use alloc::collections::BTreeMap;
use alloc::vec::Vec;
use core::net::SocketAddr;

use bytes::Bytes;

use super::super::block::RequestKey;
use super::super::config::EndpointConfig;
use super::super::event::{Event, IncomingId};
use super::super::message_layer::Owner;
use super::super::observe::{Notification, ObserverKey, Observers};
use super::super::request::Response;
use super::super::{Endpoint, Instant, encode};
use super::block::Asked;
use crate::message::{Message, MessageType};
use crate::value::{ContentFormat, Observe};

/// What the endpoint keeps about an observer besides its entry in [`Observers`].
#[derive(Debug)]
struct ObserverInfo {
    /// The registration's key, under which a notification body in blocks is kept for the
    /// follow-up GETs (which carry the registration's options but Observe).
    request_key: RequestKey,
    /// The block size the registration proposed (RFC 7959 §2.4 early negotiation), if any.
    szx: Option<u8>,
    /// The latest notification's Message ID, and whether it went CON (and is unacknowledged).
    last: Option<(u16, bool)>,
}

#[derive(Debug)]
pub(super) struct ObserveState {
    observers: Observers<Bytes>,
    info: BTreeMap<ObserverKey, ObserverInfo>,
    /// The latest NON notification to each observer, by peer and Message ID, for an RST to
    /// find (RFC 7641 §3.6).
    non_mids: BTreeMap<(SocketAddr, u16), ObserverKey>,
}

impl ObserveState {
    pub(super) fn new(config: &EndpointConfig) -> ObserveState {
        ObserveState {
            observers: Observers::new(config.observers),
            info: BTreeMap::new(),
            non_mids: BTreeMap::new(),
        }
    }

    pub(super) fn len(&self) -> usize {
        self.observers.len()
    }
}

impl Endpoint {
    /// The resource `resource` changed: sends `response` to each of its observers as a
    /// notification (RFC 7641 §4.2) and returns how many were sent.
    ///
    /// Each notification carries the observer's token and the resource's next sequence
    /// number in Observe; it goes CON to a client that registered with a CON request and
    /// NON otherwise (or as [`EndpointConfig::notification_types`] says for the resource),
    /// CON anyway at least every 24 hours and in place of a CON notification still
    /// unacknowledged (whose retransmission state it takes over, §4.5).
    ///
    /// [`EndpointConfig::notification_types`]: super::super::EndpointConfig::notification_types A body larger
    /// than a block goes as its first block, the rest served to the follow-up GETs as for
    /// [`Endpoint::respond`]. A response that is not 2.xx (e.g. 4.04 after the resource is
    /// deleted) goes without Observe and ends every observation of the resource, as does a
    /// Content-Format other than an observer pinned (it gets 4.06 instead): each such
    /// observer is removed ([`Event::ObserverRemoved`]). Observers whose notification cannot
    /// be built (options too large) or numbered (Message IDs exhausted) are skipped. A code
    /// that is not a response sends nothing.
    ///
    /// ```
    /// use tern_coap::endpoint::{Endpoint, EndpointConfig, Instant, Response};
    /// use tern_coap::Code;
    ///
    /// let mut server = Endpoint::new(EndpointConfig::default(), 7);
    /// // Nobody observes "temp" yet (see `respond_observable` for a registration).
    /// assert_eq!(server.notify(Instant::ZERO, "temp", Response::new(Code::CONTENT).with_payload("21 C")), 0);
    /// ```
    pub fn notify(
        &mut self,
        now: Instant,
        resource: impl AsRef<[u8]>,
        response: Response,
    ) -> usize {
        self.enter(now);
        if !response.code.is_response() {
            return 0;
        }
        let resource = Bytes::copy_from_slice(resource.as_ref());
        let content_format = response.options.content_format().ok().flatten();
        let how = self
            .config
            .notification_types
            .get(&resource)
            .copied()
            .unwrap_or_default();
        let notifications = self.server.obs.observers.notify_as(
            self.now,
            &resource,
            response.code,
            content_format,
            how,
        );
        let mut sent = 0;
        for n in notifications {
            if self.send_notification(&n, &response) {
                sent += 1;
            }
            if n.ends_observation {
                self.observer_gone(n.key, resource.clone());
            }
        }
        self.run_timers();
        sent
    }

    /// Sends one notification; whether it went.
    fn send_notification(&mut self, n: &Notification, response: &Response) -> bool {
        let Some(info) = self.server.obs.info.get(&n.key) else {
            return false;
        };
        let response = if n.code == response.code {
            response.clone()
        } else {
            Response::new(n.code)
        };
        let asked = Asked {
            token_len: n.key.token.len(),
            block2: None,
            size2: false,
            max_szx: info.szx,
            block1: None,
            observe: n.observe.is_some(),
        };
        let request_key = info.request_key.clone();
        let old = info.last;
        let Ok(prepared) = self.prepare_response(asked, || request_key, response) else {
            return false;
        };
        let Some(mid) = self.ml.allocate_mid(self.now) else {
            return false;
        };
        let (code, options, payload) = prepared.finish(self.now, &mut self.server.block, n.observe);
        let message = Message {
            mtype: if n.confirmable {
                MessageType::Confirmable
            } else {
                MessageType::NonConfirmable
            },
            code,
            message_id: mid,
            token: n.key.token,
            options,
            payload,
        };
        let Some(datagram) = encode(&message) else {
            return false;
        };
        let peer = n.key.peer;
        if let Some((old_mid, false)) = old {
            self.server.obs.non_mids.remove(&(peer, old_mid));
        }
        if n.confirmable {
            let in_flight = old.and_then(|(m, con)| (con && n.replaces_in_flight).then_some(m));
            let owner = Owner::Notification(n.key, mid);
            self.ml.replace_confirmable(
                self.now,
                &mut self.rng,
                peer,
                in_flight,
                mid,
                datagram,
                owner,
            );
        } else {
            self.ml.send(peer, datagram);
            self.server.obs.non_mids.insert((peer, mid), n.key);
        }
        if let Some(info) = self.server.obs.info.get_mut(&n.key) {
            info.last = Some((mid, n.confirmable));
        }
        true
    }

    /// Adds (or updates) the client of request `id` as an observer of `resource`: the
    /// sequence number for its response, or `None` when the list has no room.
    pub(super) fn register_observer(
        &mut self,
        id: IncomingId,
        resource: Bytes,
        content_format: Option<ContentFormat>,
    ) -> Option<Observe> {
        let inc = self.server.incoming.get(&id)?;
        let key = ObserverKey::new(inc.peer, inc.token);
        // The format of every notification: the registration's Accept, or this response's.
        let pinned = inc.options.accept().ok().flatten().or(content_format);
        let szx = inc.options.block2(false).ok().flatten().map(|b| b.szx());
        let request_key = RequestKey::new(inc.peer, inc.method, &inc.options);
        let confirmable = inc.confirmable;
        let observers = &mut self.server.obs.observers;
        let observe = observers.register(self.now, key, resource, pinned).ok()?;
        observers.set_confirmable(&key, confirmable);
        let last = self.server.obs.info.get(&key).and_then(|i| i.last);
        self.server.obs.info.insert(
            key,
            ObserverInfo {
                request_key,
                szx,
                last,
            },
        );
        Some(observe)
    }

    /// Forgets every observer of `resource` without telling them, as a server that restarts
    /// loses its list (RFC 7641 §3.3.1 / §4.1: each client learns it only when its
    /// re-registration after Max-Age finds no observation, or a notification it gets is
    /// refused). Returns how many were forgotten; each is reported as
    /// [`Event::ObserverRemoved`]. A CON notification still retransmitted goes on until its
    /// acknowledgement or timeout, and its acknowledgement then finds no observer.
    ///
    /// ```
    /// use tern_coap::endpoint::{Endpoint, EndpointConfig};
    ///
    /// let mut endpoint = Endpoint::new(EndpointConfig::default(), 1);
    /// assert_eq!(endpoint.forget_observers(b"/obs"), 0);
    /// ```
    pub fn forget_observers(&mut self, resource: &[u8]) -> usize {
        let keys: Vec<ObserverKey> = self
            .server
            .obs
            .observers
            .observers_of(&Bytes::copy_from_slice(resource))
            .map(|o| o.key())
            .collect();
        for &key in &keys {
            self.remove_observer(key);
        }
        keys.len()
    }

    /// Removes an observer (if registered), with its event.
    pub(super) fn remove_observer(&mut self, key: ObserverKey) {
        if let Some(entry) = self.server.obs.observers.deregister(&key) {
            self.observer_gone(key, entry.resource().clone());
        }
    }

    /// The observer under `key` is off the list: forget what is kept for it and tell the
    /// application.
    fn observer_gone(&mut self, key: ObserverKey, resource: Bytes) {
        if let Some(info) = self.server.obs.info.remove(&key) {
            if let Some((mid, false)) = info.last {
                self.server.obs.non_mids.remove(&(key.peer, mid));
            }
        }
        self.events.push_back(Event::ObserverRemoved {
            resource,
            peer: key.peer,
        });
    }

    /// Whether `mid` is the latest notification to the observer under `key`.
    fn is_latest(&self, key: &ObserverKey, mid: u16) -> bool {
        self.server
            .obs
            .info
            .get(key)
            .and_then(|i| i.last)
            .is_some_and(|(m, _)| m == mid)
    }

    /// A CON notification was acknowledged.
    pub(crate) fn notification_acked(&mut self, key: ObserverKey, mid: u16) {
        if self.is_latest(&key, mid) {
            self.server.obs.observers.handle_ack(&key);
            if let Some(info) = self.server.obs.info.get_mut(&key) {
                info.last = None;
            }
        }
    }

    /// An RST to a CON notification: the client is no longer interested (RFC 7641 §3.6).
    pub(crate) fn notification_reset(&mut self, key: ObserverKey, mid: u16) {
        if self.is_latest(&key, mid) {
            self.remove_observer(key);
        }
    }

    /// A CON notification was never acknowledged: the client is gone (RFC 7641 §4.5).
    pub(crate) fn notification_timed_out(&mut self, key: ObserverKey, mid: u16) {
        if self.is_latest(&key, mid) {
            if let Some(entry) = self.server.obs.observers.handle_notification_timeout(&key) {
                self.observer_gone(key, entry.resource().clone());
            }
        }
    }

    /// An RST that matches no CON in flight: it may reject the latest NON notification to an
    /// observer (RFC 7641 §3.6).
    pub(crate) fn server_reset_non(&mut self, peer: SocketAddr, mid: u16) {
        if let Some(&key) = self.server.obs.non_mids.get(&(peer, mid)) {
            if self.is_latest(&key, mid) {
                self.remove_observer(key);
            }
        }
    }
}
