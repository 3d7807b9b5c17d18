//! Observations (RFC 7641) on the client: the notifications the driver hands over, kept in a
//! bounded mailbox that the application's [`Observation`] reads.

use std::collections::VecDeque;
use std::fmt;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use tern_coap::endpoint::{EndpointError, ObservationEnd, RequestError, Response};
use tern_io::coap::Error;

use super::driver::{Command, Socket};
use crate::Timeout;

/// Notifications kept for an application that reads slower than they come. When more arrive,
/// the oldest go: an observer wants the resource's current state (RFC 7641 §1.2: eventual
/// consistency), so the newest matter most.
const MAILBOX_CAPACITY: usize = 64;

/// How an observation ended, as the driver reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum End {
    /// The server ended it; its last response was the last notification.
    ByServer,
    /// The registration or a re-registration failed.
    Failed(RequestError),
    /// The endpoint refused to start it.
    Refused(EndpointError),
    /// The socket closed.
    Closed,
}

impl From<ObservationEnd> for End {
    fn from(reason: ObservationEnd) -> End {
        match reason {
            ObservationEnd::Failed(e) => End::Failed(e),
            // ByServer, and whatever later versions add: the server's doing.
            _ => End::ByServer,
        }
    }
}

impl End {
    fn error(self) -> Option<Error> {
        match self {
            End::ByServer => None,
            End::Failed(e) => Some(e.into()),
            End::Refused(e) => Some(e.into()),
            End::Closed => Some(Error::Closed),
        }
    }
}

#[derive(Debug, Default)]
struct State {
    queue: VecDeque<Response>,
    end: Option<End>,
    dropped: u64,
}

/// Where the driver puts an observation's notifications and its end.
#[derive(Debug, Default)]
pub(crate) struct Mailbox {
    state: Mutex<State>,
    changed: Condvar,
}

impl Mailbox {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// A fresh notification (the driver's side).
    pub(crate) fn push(&self, response: Response) {
        let mut state = self.lock();
        if state.queue.len() >= MAILBOX_CAPACITY {
            state.queue.pop_front();
            state.dropped += 1;
            tracing::debug!(
                dropped = state.dropped,
                "the application is behind: the oldest notification was dropped"
            );
        }
        state.queue.push_back(response);
        drop(state);
        self.changed.notify_all();
    }

    /// The observation ended (the first end counts).
    pub(crate) fn end(&self, end: End) {
        let mut state = self.lock();
        state.end.get_or_insert(end);
        drop(state);
        self.changed.notify_all();
    }

    /// Waits until `ready` holds, or `deadline` passes; the state then.
    fn wait_until(
        &self,
        deadline: Option<Instant>,
        ready: impl Fn(&State) -> bool,
    ) -> (MutexGuard<'_, State>, bool) {
        let mut state = self.lock();
        loop {
            if ready(&state) {
                return (state, true);
            }
            match deadline {
                None => {
                    state = self
                        .changed
                        .wait(state)
                        .unwrap_or_else(PoisonError::into_inner);
                }
                Some(deadline) => {
                    let left = deadline.saturating_duration_since(Instant::now());
                    if left.is_zero() {
                        return (state, false);
                    }
                    state = self
                        .changed
                        .wait_timeout(state, left)
                        .unwrap_or_else(PoisonError::into_inner)
                        .0;
                }
            }
        }
    }
}

fn has_news(state: &State) -> bool {
    !state.queue.is_empty() || state.end.is_some()
}

/// An observation of a resource, from [`CoapClient::observe`](super::CoapClient::observe):
/// the response to the registration, then each newer notification, in order.
///
/// As an [`Iterator`], it blocks for the next notification and ends when the observation
/// does: the server ended it (its last response, often an error code, was the last item), or
/// a re-registration failed ([`Observation::failure`] says why). Dropping it, or
/// [`cancel`](Observation::cancel), deregisters from the server.
///
/// Notifications wait here until read; an application that falls more than 64 behind loses
/// the oldest, since an observer wants the resource's current state.
///
/// ```no_run
/// use tern_blocking::coap::CoapClient;
///
/// let client = CoapClient::new()?;
/// for notification in client.observe("coap://localhost/time")?.take(3) {
///     println!("{}", String::from_utf8_lossy(&notification.payload));
/// }
/// # Ok::<(), tern_blocking::coap::Error>(())
/// ```
pub struct Observation {
    mailbox: Arc<Mailbox>,
    socket: Arc<Socket>,
    ticket: u64,
    active: bool,
}

impl fmt::Debug for Observation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self.mailbox.lock();
        f.debug_struct("Observation")
            .field("waiting", &state.queue.len())
            .field("end", &state.end)
            .finish_non_exhaustive()
    }
}

impl Observation {
    pub(crate) fn new(mailbox: Arc<Mailbox>, socket: Arc<Socket>, ticket: u64) -> Observation {
        Observation {
            mailbox,
            socket,
            ticket,
            active: true,
        }
    }

    /// Waits up to `timeout` (forever with `None`) for the first notification: `Ok` once it
    /// (or the end) is there, the error when the observation failed before anything came.
    pub(crate) fn wait_first(&self, timeout: Option<Duration>) -> Result<(), Error> {
        let deadline = timeout.map(|t| Instant::now() + t);
        let (state, ready) = self.mailbox.wait_until(deadline, has_news);
        if !ready {
            return Err(Error::Timeout);
        }
        match (state.queue.is_empty(), state.end) {
            (true, Some(end)) => Err(end.error().unwrap_or(Error::Closed)),
            _ => Ok(()),
        }
    }

    /// The next notification, blocking until it comes; `None` once the observation ended.
    pub fn recv(&mut self) -> Option<Response> {
        self.next_before(None).ok().flatten()
    }

    /// The next notification, waiting at most `timeout`: `Ok(None)` once the observation
    /// ended, `Err(Timeout)` when nothing came in time.
    pub fn recv_timeout(&mut self, timeout: Duration) -> Result<Option<Response>, Timeout> {
        self.next_before(Some(Instant::now() + timeout))
    }

    fn next_before(&mut self, deadline: Option<Instant>) -> Result<Option<Response>, Timeout> {
        let (mut state, ready) = self.mailbox.wait_until(deadline, has_news);
        if !ready {
            return Err(Timeout);
        }
        let next = state.queue.pop_front();
        if next.is_none() {
            // Ended: nothing to deregister any more.
            self.active = false;
        }
        Ok(next)
    }

    /// Whether the observation has ended (notifications may still be waiting to be read).
    pub fn is_ended(&self) -> bool {
        self.mailbox.lock().end.is_some()
    }

    /// Why the observation ended, once the endpoint ended it: the server ended it
    /// ([`ObservationEnd::ByServer`]) or a registration failed ([`ObservationEnd::Failed`]).
    /// `None` while it goes on, or when the socket closed (as the async adapters say).
    pub fn end_reason(&self) -> Option<ObservationEnd> {
        match self.mailbox.lock().end? {
            End::ByServer => Some(ObservationEnd::ByServer),
            End::Failed(e) => Some(ObservationEnd::Failed(e)),
            End::Refused(_) | End::Closed => None,
        }
    }

    /// Why the observation ended, when it ended in a failure: a re-registration that got a
    /// reset or no answer, or the socket closed. `None` while it runs, and when the server
    /// ended it (with a response without Observe, whose code tells why).
    pub fn failure(&self) -> Option<Error> {
        self.mailbox.lock().end.and_then(End::error)
    }

    /// Ends the observation: the server is told (a GET with Observe = 1, RFC 7641 §3.6) and
    /// no more notifications come.
    pub fn cancel(mut self) {
        self.deregister();
    }

    fn deregister(&mut self) {
        if std::mem::take(&mut self.active) && !self.is_ended() {
            let _ = self.socket.send(Command::Cancel {
                ticket: self.ticket,
            });
        }
    }
}

impl Iterator for Observation {
    type Item = Response;

    fn next(&mut self) -> Option<Response> {
        self.recv()
    }
}

impl Drop for Observation {
    fn drop(&mut self) {
        self.deregister();
    }
}
