//! How every adapter hands the application's answer to the endpoint.

use tern_coap::Code;
use tern_coap::endpoint::{Endpoint, EndpointError, IncomingId, Instant, Response};

/// Answers request `id` with `response` (registering an observer of `resource` when given),
/// so that the client always gets an answer: a response whose code is not a response code,
/// or whose options leave no room for even one block of its body, is logged and replaced by
/// 5.00 Internal Server Error. A request already answered or expired is only logged.
///
/// ```
/// use tern_coap::Code;
/// use tern_coap::endpoint::{Endpoint, EndpointConfig, IncomingId, Instant, Response};
///
/// let mut endpoint = Endpoint::new(EndpointConfig::default(), 7);
/// // No such request: nothing is sent, nothing panics.
/// tern_io::coap::answer(&mut endpoint, Instant::ZERO, IncomingId(9), Response::new(Code::CONTENT), None);
/// assert!(endpoint.poll_transmit().is_none());
/// ```
pub fn answer(
    endpoint: &mut Endpoint,
    now: Instant,
    id: IncomingId,
    response: Response,
    resource: Option<&[u8]>,
) {
    let code = response.code;
    if !code.is_response() {
        tracing::warn!(%code, "not a response code; answering 5.00");
        return fallback(endpoint, now, id);
    }
    let result = match resource {
        Some(resource) => endpoint.respond_observable(now, id, response, resource),
        None => endpoint.respond(now, id, response),
    };
    match result {
        Ok(()) => {}
        Err(e @ EndpointError::MessageTooLarge { .. }) => {
            tracing::warn!(%e, %code, "response too large; answering 5.00 instead");
            fallback(endpoint, now, id);
        }
        // Answered already, or expired (EXCHANGE_LIFETIME without an answer).
        Err(e) => tracing::debug!(%e, %code, "response not sent"),
    }
}

fn fallback(endpoint: &mut Endpoint, now: Instant, id: IncomingId) {
    let response = Response::new(Code::INTERNAL_SERVER_ERROR);
    if let Err(e) = endpoint.respond(now, id, response) {
        tracing::debug!(%e, "could not answer 5.00 either");
    }
}
