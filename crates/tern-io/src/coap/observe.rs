//! Observations on the client (RFC 7641): the driver pushes notifications into a [`Feed`],
//! the application takes them from an [`Observation`] stream.

use std::collections::VecDeque;
use std::fmt;
use std::future::poll_fn;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll, Waker};

use futures_core::Stream;
use tern_coap::endpoint::{ObservationEnd, Response};

use super::client::CancelOnDrop;

/// Notifications not yet taken that an [`Observation`] holds; beyond, the oldest go.
pub const OBSERVATION_BUFFER: usize = 64;

/// Notifications from the driver to one [`Observation`], bounded: an observation stands for
/// the resource's latest state, so when the application is behind the oldest are dropped
/// rather than memory growing with a chatty server.
#[derive(Debug, Default)]
pub(super) struct Feed {
    state: Mutex<FeedState>,
}

#[derive(Debug, Default)]
struct FeedState {
    queue: VecDeque<Response>,
    ended: bool,
    reason: Option<ObservationEnd>,
    waker: Option<Waker>,
}

impl Feed {
    fn lock(&self) -> MutexGuard<'_, FeedState> {
        // Nothing panics while holding the lock; if something did, the queue is still whole.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// A notification, for the application.
    pub(super) fn push(&self, response: Response) {
        let mut state = self.lock();
        if state.queue.len() >= OBSERVATION_BUFFER {
            state.queue.pop_front();
            tracing::debug!("the application is behind; oldest notification dropped");
        }
        state.queue.push_back(response);
        if let Some(waker) = state.waker.take() {
            waker.wake();
        }
    }

    /// No notification follows; `reason` says why, when the endpoint said.
    pub(super) fn end(&self, reason: Option<ObservationEnd>) {
        let mut state = self.lock();
        state.ended = true;
        state.reason = state.reason.or(reason);
        if let Some(waker) = state.waker.take() {
            waker.wake();
        }
    }

    fn poll_next(&self, cx: &mut Context<'_>) -> Poll<Option<Response>> {
        let mut state = self.lock();
        if let Some(response) = state.queue.pop_front() {
            return Poll::Ready(Some(response));
        }
        if state.ended {
            return Poll::Ready(None);
        }
        state.waker = Some(cx.waker().clone());
        Poll::Pending
    }
}

/// An observation of a resource (RFC 7641), from
/// [`CoapClient::observe`](super::CoapClient::observe): a [`Stream`] of the notifications,
/// in order, the response to the registration first.
///
/// The stream ends when the server ends the observation (a notification without Observe or
/// with an error code, which comes last), when a re-registration fails, or when the socket
/// closes; [`end_reason`](Observation::end_reason) then says why. Dropping it, or
/// [`cancel`](Observation::cancel), deregisters (a GET with Observe = 1, RFC 7641 §3.6).
/// It holds at most [`OBSERVATION_BUFFER`] notifications not yet taken; when the application
/// is further behind, the oldest are dropped.
pub struct Observation {
    pub(super) feed: Arc<Feed>,
    pub(super) guard: CancelOnDrop,
}

impl fmt::Debug for Observation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Observation")
            .field("end_reason", &self.end_reason())
            .finish_non_exhaustive()
    }
}

impl Observation {
    /// The next notification, or `None` once the observation has ended.
    pub async fn recv(&mut self) -> Option<Response> {
        poll_fn(|cx| self.feed.poll_next(cx)).await
    }

    /// Deregisters from the server and ends the observation (as dropping it does).
    pub fn cancel(self) {
        self.guard.cancel();
    }

    /// Why the observation ended, once the endpoint ended it: the server ended it
    /// ([`ObservationEnd::ByServer`]) or a registration failed ([`ObservationEnd::Failed`]).
    /// `None` while it goes on, or when the socket closed.
    pub fn end_reason(&self) -> Option<ObservationEnd> {
        self.feed.lock().reason
    }
}

impl Stream for Observation {
    type Item = Response;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Response>> {
        self.feed.poll_next(cx)
    }
}
