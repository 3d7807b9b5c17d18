//! Block-wise transfers on the client (RFC 7959): a request body larger than a block goes in
//! Block1 blocks ([`Block1Sender`]), and a response in Block2 blocks is collected whole
//! ([`Block2Reassembly`]) before the exchange reports it.
//!
//! Each block travels in a request of its own, queued under NSTART at the head of its peer's
//! queue, with a new Message ID and a new token: RFC 7959 §2.4 asks for "the same options as
//! the initial request", and the token is not an option (a new one also keeps a late
//! answer to an earlier block from being taken for the current one). Follow-ups for Block2
//! carry no payload (TD_COAP_BLOCK_05), except FETCH, whose body selects the resource.

use bytes::Bytes;

use super::super::block::{
    Block1Error, Block1Progress, Block1Request, Block1Sender, Block2Error, Block2Progress,
    Block2Reassembly, szx_for_size,
};
use super::super::error::{EndpointError, RequestError};
use super::super::request::{Request, Response};
use super::super::{Endpoint, rebuild};
use super::{Exchange, Purpose, RequestId};
use crate::message::{Code, Message};
use crate::option::{OptionNumber, Options};
use crate::value::{Block, RequestTag};

/// Room kept in a request for the options block-wise transfers add to it: Block1 or Block2
/// (at most 2 header and 3 value bytes) and Size1 (2 and 4).
const BLOCK_OPTIONS_RESERVE: usize = 11;

/// Room for the Request-Tag the endpoint adds to a body it splits (2 header and at most 8
/// value bytes).
const REQUEST_TAG_RESERVE: usize = 10;

/// Room kept in every request for the Block2 option of a follow-up (or Observe = 1 in a
/// deregistration), which replaces nothing of the same size.
pub(super) const FOLLOW_UP_RESERVE: usize = 5;

/// How often a Block2 transfer of a GET or FETCH starts over because the ETag changed
/// (RFC 7959 §2.4) before it fails.
const MAX_RESTARTS: u8 = 3;

/// Bytes in a block of `szx` (at most 6 here: this endpoint runs over UDP).
const fn block_size(szx: u8) -> usize {
    16 << if szx > 6 { 6 } else { szx }
}

/// The block-wise state of an exchange.
#[derive(Debug, Default)]
pub(crate) struct Transfer {
    /// The body going out in Block1 blocks.
    block1: Option<Block1Sender>,
    /// The response body coming in Block2 blocks, and the first block's response.
    block2: Option<(Block2Reassembly, Option<Response>)>,
    /// Responses with Block2 are collected (not when the request named a block itself).
    auto_block2: bool,
    /// The endpoint split or collected a body, so the response goes out without the
    /// options of the transfer.
    split: bool,
    /// The request body went in Block1 blocks.
    block1_used: bool,
    restarts: u8,
}

impl Transfer {
    /// A transfer that goes on collecting a body whose first block (in `first`, a
    /// notification's) was fed to `reassembly` already.
    pub(super) fn collecting(reassembly: Block2Reassembly, first: Response) -> Transfer {
        Transfer {
            block1: None,
            block2: Some((reassembly, Some(first))),
            auto_block2: true,
            split: true,
            block1_used: false,
            restarts: 0,
        }
    }
}

/// `options` without the options numbered `drop`.
fn without(options: &Options, drop: &[OptionNumber]) -> Options {
    rebuild(options, drop, |b| b)
}

/// The request for the next block of the response: the request's options less Observe and
/// the block options, with Block2 `block`.
pub(super) fn follow_up(request: &Request, block: Block, keep_payload: bool) -> Request {
    Request {
        method: request.method,
        options: rebuild(
            &request.options,
            &[
                OptionNumber::OBSERVE,
                OptionNumber::BLOCK1,
                OptionNumber::BLOCK2,
                OptionNumber::SIZE1,
            ],
            |b| b.push_block2(block),
        ),
        payload: if keep_payload {
            request.payload.clone()
        } else {
            Bytes::new()
        },
        confirmable: request.confirmable,
        token: None,
    }
}

/// The request carrying one block of the body.
fn block1_message(request: &Request, block: Block1Request) -> Request {
    Request {
        method: request.method,
        options: rebuild(
            &request.options,
            &[OptionNumber::BLOCK1, OptionNumber::SIZE1],
            |b| {
                let b = b.push_block1(block.block);
                match block.size1 {
                    Some(size) => b.push_size1(size),
                    None => b,
                }
            },
        ),
        payload: block.payload,
        confirmable: request.confirmable,
        token: None,
    }
}

/// The response as the application sees it after a block-wise transfer: without Block1,
/// Block2, Size1 and Size2, which describe the messages, not the resource.
pub(super) fn stripped(message: &Message) -> Response {
    Response {
        code: message.code,
        options: without(
            &message.options,
            &[
                OptionNumber::BLOCK1,
                OptionNumber::BLOCK2,
                OptionNumber::SIZE1,
                OptionNumber::SIZE2,
            ],
        ),
        payload: message.payload.clone(),
    }
}

impl Endpoint {
    /// Starts an exchange for `request`: decides how its body goes (whole or in Block1
    /// blocks) and whether its response is collected from Block2 blocks, then queues it.
    pub(super) fn start_request(
        &mut self,
        peer: core::net::SocketAddr,
        request: Request,
        purpose: Purpose,
    ) -> Result<RequestId, EndpointError> {
        if let Some(token) = &request.token {
            if self.client.token_taken(peer, token) {
                return Err(EndpointError::TokenInUse);
            }
            let lifetime = self.config.transmission.exchange_lifetime();
            if self
                .client
                .recently_released(self.now, lifetime, peer, token)
            {
                return Err(EndpointError::TokenRecentlyUsed);
            }
        }
        let chosen = request.token;
        // A chosen token may be longer than the drawn ones of the follow-ups.
        let token_len = usize::from(self.token_length()).max(chosen.map_or(0, |t| t.len()));
        // Follow-ups and deregistrations add a few bytes to the options alone.
        self.check_size(
            token_len + FOLLOW_UP_RESERVE,
            &request.options,
            &Bytes::new(),
        )?;
        let observing = matches!(purpose, Purpose::Observe(_));
        let mut transfer = Transfer {
            auto_block2: true,
            ..Transfer::default()
        };
        // A FETCH's follow-ups for the blocks of its response carry its body again (unless
        // the body went in Block1 blocks): sent whole, it needs their Block2 room as well.
        let reserve = if request.method == Code::FETCH {
            FOLLOW_UP_RESERVE
        } else {
            0
        };
        let whole = self
            .check_size(token_len + reserve, &request.options, &request.payload)
            .is_ok();
        let app_block1 = request.options.get(OptionNumber::BLOCK1).is_some();
        let fits_a_block = request.payload.len() <= block_size(self.config.default_block_szx);
        let mut request = request;
        let message = if app_block1 || (whole && fits_a_block) {
            self.check_size(token_len, &request.options, &request.payload)?;
            request.clone()
        } else {
            // RFC 9175 §3.3: concurrent Block1 transfers to one resource need different
            // Request-Tags, or the server takes them for one (RFC 7959 §2.5). The exchange's
            // number serves; its blocks and follow-ups all carry it.
            if request.options.get(OptionNumber::REQUEST_TAG).is_none() {
                let id = self.client.next_id.to_be_bytes();
                let start = id.iter().position(|b| *b != 0).unwrap_or(id.len());
                if let Some(tag) = id.get(start..).and_then(RequestTag::new) {
                    request.options = rebuild(&request.options, &[], |b| b.push_request_tag(tag));
                }
            }
            let overhead = 4 + token_len + request.options.as_bytes().len() + REQUEST_TAG_RESERVE;
            let too_large = EndpointError::MessageTooLarge {
                size: overhead + 1 + request.payload.len(),
                max: self.config.max_message_size,
            };
            // An observation's messages all carry the registration: its body is not split.
            if observing {
                return Err(too_large);
            }
            let room = self
                .config
                .max_message_size
                .saturating_sub(overhead + BLOCK_OPTIONS_RESERVE + 1);
            let szx = szx_for_size(room as u64)
                .map(|s| s.min(self.config.default_block_szx))
                .ok_or(too_large)?;
            let sender = Block1Sender::new(request.payload.clone(), szx).map_err(|_| too_large)?;
            let first = sender.current().ok_or(too_large)?;
            transfer.block1 = Some(sender);
            transfer.split = true;
            transfer.block1_used = true;
            block1_message(&request, first)
        };
        match request.options.block2(false) {
            // Early negotiation: the request proposes the block size (RFC 7959 §2.4).
            Ok(Some(b)) if b.num() == 0 => {
                let limit = self.config.max_reassembly_bytes;
                transfer.block2 = Some((Block2Reassembly::with_szx(limit, b.szx()), None));
            }
            // The application asks for one block itself.
            Ok(Some(_)) | Err(_) => transfer.auto_block2 = false,
            Ok(None) => {}
        }
        let mut ex = Exchange::new(peer, purpose, Some(request), Some(message), self.now);
        ex.transfer = transfer;
        if let Some(token) = chosen {
            ex.token = token;
            ex.fixed_token = true;
        }
        self.enqueue(ex)
    }

    /// A response to exchange `id`, whose message has ended: the next block to send or to
    /// ask for, or the end of the exchange.
    pub(super) fn transfer_response(&mut self, id: RequestId, message: Message) {
        let limit = self.config.max_reassembly_bytes;
        let szx = self.config.default_block_szx;
        let Some(ex) = self.client.exchanges.get_mut(&id) else {
            return;
        };
        if matches!(ex.purpose, Purpose::Deregister) {
            self.finish(id);
            return;
        }
        let Some(request) = ex.request.clone() else {
            return;
        };
        let t = &mut ex.transfer;
        if let Some(sender) = t.block1.as_mut() {
            let block1 = message.options.block1(false).ok().flatten();
            let size1 = message.options.size1().ok().flatten();
            match sender.handle_response(message.code, block1, size1) {
                Ok(Block1Progress::Send(next)) => {
                    ex.message = Some(block1_message(&request, next));
                    self.requeue(id);
                    return;
                }
                // The final response; a 4.13 that smaller blocks cannot help is one too.
                Ok(Block1Progress::Done) | Err(Block1Error::TooLarge { .. }) => t.block1 = None,
                Err(e) => {
                    self.fail(id, RequestError::Block1(e));
                    return;
                }
            }
        }
        let block2 = match message.options.block2(false) {
            Ok(b) => b,
            Err(_) => {
                self.fail(id, RequestError::UnrecognizedOption(OptionNumber::BLOCK2));
                return;
            }
        };
        if t.block2.is_none() && t.auto_block2 && block2.is_some() {
            t.block2 = Some((Block2Reassembly::with_max_szx(limit, szx), None));
        }
        let Some((reassembly, first)) = t.block2.as_mut() else {
            let response = if t.split {
                stripped(&message)
            } else {
                Response {
                    code: message.code,
                    options: message.options,
                    payload: message.payload,
                }
            };
            self.complete(id, response);
            return;
        };
        t.split = true;
        // A FETCH body selects the resource, so follow-ups repeat it (when it went whole).
        let keep_payload = request.method == Code::FETCH && !t.block1_used;
        let etag = message.options.etags().ok().and_then(|mut e| e.next());
        let size2 = message.options.size2().ok().flatten();
        match reassembly.handle_response(block2, etag, size2, &message.payload) {
            Ok(Block2Progress::NeedMore(next)) => {
                if first.is_none() {
                    *first = Some(stripped(&message));
                }
                ex.message = Some(follow_up(&request, next, keep_payload));
                self.requeue(id);
            }
            Ok(Block2Progress::Complete(body)) => {
                let mut response = first.take().unwrap_or_else(|| stripped(&message));
                response.payload = body;
                self.complete(id, response);
            }
            // The representation changed under the transfer (a safe request, so asking
            // again does no harm): start over from block 0 at the size in use. Not for a
            // notification's body: what came now is newer than its sequence number says,
            // and the notification of the change is on its way.
            Err(Block2Error::EtagChanged)
                if t.restarts < MAX_RESTARTS
                    && matches!(request.method, Code::GET | Code::FETCH)
                    && !t.block1_used
                    && !matches!(ex.purpose, Purpose::Fetch { .. }) =>
            {
                let szx = block2.map_or(szx, |b| b.szx()).min(6);
                let Some(restart) = Block::new(0, false, szx) else {
                    self.fail(id, RequestError::Block2(Block2Error::EtagChanged));
                    return;
                };
                t.restarts += 1;
                t.block2 = Some((Block2Reassembly::with_szx(limit, szx), None));
                ex.message = Some(follow_up(&request, restart, keep_payload));
                self.requeue(id);
            }
            Err(e) => self.fail(id, RequestError::Block2(e)),
        }
    }
}
