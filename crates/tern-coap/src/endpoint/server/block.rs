//! Block-wise transfers on the server (RFC 7959): request bodies collected from Block1
//! blocks ([`Block1Receiver`], one transfer per [`RequestKey`]), responses sliced into Block2
//! blocks ([`serve_block2`]), and the representations kept for the follow-up requests of
//! their blocks, so that the application answers once per body.
//!
//! Everything a peer can make the server hold here is bounded by the configuration: the
//! bytes and number of Block1 transfers, and the bytes and number of kept representations
//! (the oldest go first); both expire EXCHANGE_LIFETIME after their last use.

use alloc::collections::{BTreeMap, BTreeSet};
use core::net::SocketAddr;
use core::time::Duration;

use bytes::Bytes;

use super::super::block::{
    Block1Config, Block1Outcome, Block1Receiver, RequestKey, serve_block2, szx_for_size,
};
use super::super::config::EndpointConfig;
use super::super::error::EndpointError;
use super::super::request::Response;
use super::super::{Endpoint, Instant, rebuild};
use crate::message::{Code, Message};
use crate::option::{OptionNumber, Options, OptionsBuilder};
use crate::value::{Block, ETag, Observe};

/// Room kept in a response for the options the endpoint may add: Block2 (2 header and 3
/// value bytes), Size2 (2 and 4), ETag (2 and 8), Block1 (2 and 3) and Observe (2 and 3).
const RESPONSE_OPTIONS_RESERVE: usize = 31;

/// Room for Observe alone.
const OBSERVE_RESERVE: usize = 5;

/// Bytes in a block of `szx` (at most 6 here: this endpoint runs over UDP).
const fn block_size(szx: u8) -> usize {
    16 << if szx > 6 { 6 } else { szx }
}

/// An ETag for a representation that has none: FNV-1a of its bytes, so that a client
/// collecting blocks notices when the representation changed between them (RFC 7959 §2.4).
fn content_etag(payload: &[u8]) -> Option<ETag> {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in payload {
        hash ^= u64::from(*byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    ETag::new(&hash.to_be_bytes())
}

/// Adds the Block2 and Size2 options of a slice.
fn with_slice(b: OptionsBuilder, block: Option<Block>, size2: Option<u32>) -> OptionsBuilder {
    let b = match block {
        Some(block) => b.push_block2(block),
        None => b,
    };
    match size2 {
        Some(size) => b.push_size2(size),
        None => b,
    }
}

/// Adds the Block1 option to echo, if any.
fn with_echo(b: OptionsBuilder, echo: Option<Block>) -> OptionsBuilder {
    match echo {
        Some(block1) => b.push_block1(block1),
        None => b,
    }
}

/// What became of a request that may carry Block1.
#[derive(Debug)]
pub(super) enum Block1Step {
    /// No Block1: the request is whole as it came.
    Whole,
    /// The endpoint answered it (2.31 Continue, or an error such as 4.08 or 4.13).
    Answered,
    /// The last block: the whole body, the options without Block1 and Size1, and the
    /// Block1 option for the response.
    Complete {
        body: Bytes,
        options: Options,
        block1: Block,
    },
}

/// A representation kept for the follow-up requests of its blocks.
#[derive(Debug)]
struct Kept {
    code: Code,
    /// The response's options, with its ETag, without Block2 and Size2.
    options: Options,
    representation: Bytes,
    etag: Option<ETag>,
    /// The largest block size that fits a message with these options.
    szx: u8,
    expires: Instant,
}

#[derive(Debug)]
pub(super) struct BlockState {
    receiver: Block1Receiver<RequestKey>,
    kept: BTreeMap<RequestKey, Kept>,
    expiry: BTreeSet<(Instant, RequestKey)>,
    kept_bytes: usize,
    max_kept: usize,
    max_kept_bytes: usize,
    lifetime: Duration,
}

impl BlockState {
    pub(super) fn new(config: &EndpointConfig) -> BlockState {
        let lifetime = config.transmission.exchange_lifetime();
        BlockState {
            receiver: Block1Receiver::new(Block1Config {
                max_body: config.max_reassembly_bytes,
                max_total: config.max_reassembly_total,
                max_transfers: config.max_block_transfers,
                lifetime,
                preferred_szx: config.default_block_szx.min(6),
            }),
            kept: BTreeMap::new(),
            expiry: BTreeSet::new(),
            kept_bytes: 0,
            max_kept: config.max_block_transfers,
            max_kept_bytes: config.max_reassembly_total,
            lifetime,
        }
    }

    pub(super) fn bytes(&self) -> usize {
        self.receiver.total_bytes() + self.kept_bytes
    }

    pub(super) fn next_deadline(&self) -> Option<Instant> {
        let kept = self.expiry.first().map(|e| e.0);
        match (self.receiver.poll_timeout(), kept) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    pub(super) fn expire(&mut self, now: Instant) {
        self.receiver.handle_timeout(now);
        while let Some((at, key)) = self.expiry.first().cloned() {
            if at > now {
                break;
            }
            self.forget(&key);
        }
    }

    fn forget(&mut self, key: &RequestKey) {
        if let Some(kept) = self.kept.remove(key) {
            self.expiry.remove(&(kept.expires, key.clone()));
            self.kept_bytes = self.kept_bytes.saturating_sub(kept.representation.len());
        }
    }

    /// Keeps a representation, dropping the oldest ones to stay within the limits; one
    /// larger than all the room is not kept.
    fn keep(&mut self, now: Instant, key: RequestKey, mut kept: Kept) {
        let len = kept.representation.len();
        self.forget(&key);
        if self.max_kept == 0 || len > self.max_kept_bytes {
            return;
        }
        while self.kept.len() >= self.max_kept || self.kept_bytes + len > self.max_kept_bytes {
            let Some((_, oldest)) = self.expiry.first().cloned() else {
                break;
            };
            self.forget(&oldest);
        }
        kept.expires = now + self.lifetime;
        self.expiry.insert((kept.expires, key.clone()));
        self.kept_bytes += len;
        self.kept.insert(key, kept);
    }
}

/// What the request asked of its response, for [`Endpoint::prepare_response`].
#[derive(Debug, Clone, Copy)]
pub(super) struct Asked {
    pub(super) token_len: usize,
    /// The request's Block2: the block it asks for (and the largest size it wants).
    pub(super) block2: Option<Block>,
    /// The request carried Size2 (0), asking for the representation's size.
    pub(super) size2: bool,
    /// The largest block size the client wants, without naming a block (a notification to
    /// a registration that proposed a size).
    pub(super) max_szx: Option<u8>,
    /// The Block1 option to echo (after a body in blocks).
    pub(super) block1: Option<Block>,
    /// Keep room for Observe, which [`Prepared::finish`] adds.
    pub(super) observe: bool,
}

/// A response ready to go, but for Observe.
#[derive(Debug)]
pub(super) struct Prepared {
    code: Code,
    options: Options,
    payload: Bytes,
    /// The representation to keep for the follow-up requests, and under which key.
    keep: Option<(RequestKey, Kept)>,
}

impl Prepared {
    /// Keeps the representation if it goes in blocks, adds Observe: the code, options and
    /// payload of the message.
    pub(super) fn finish(
        self,
        now: Instant,
        state: &mut BlockState,
        observe: Option<Observe>,
    ) -> (Code, Options, Bytes) {
        if let Some((key, kept)) = self.keep {
            state.keep(now, key, kept);
        }
        let options = match observe {
            Some(observe) => rebuild(&self.options, &[OptionNumber::OBSERVE], |b| {
                b.push_observe(observe)
            }),
            None => self.options,
        };
        (self.code, options, self.payload)
    }
}

impl Endpoint {
    /// The largest block size for a message with this token and options (plus the options
    /// the endpoint adds), up to `default_block_szx`; `None` below 16 bytes.
    fn room_szx(&self, token_len: usize, options_len: usize) -> Option<u8> {
        let overhead = 4 + token_len + options_len + RESPONSE_OPTIONS_RESERVE + 1;
        let room = self.config.max_message_size.checked_sub(overhead)?;
        szx_for_size(room as u64).map(|s| s.min(self.config.default_block_szx).min(6))
    }

    /// Shapes `response` for the request: whole when it fits a message and a block and no
    /// block was asked for; otherwise the block asked for (block 0 by default) with Block2,
    /// Size2 and an ETag, keeping the representation for the follow-ups under `key()`
    /// (RFC 7959 §2.4). The Block1 option of a body received in blocks is echoed (§2.3).
    /// Fails only when even a block of 16 bytes does not fit.
    pub(super) fn prepare_response(
        &self,
        asked: Asked,
        key: impl FnOnce() -> RequestKey,
        response: Response,
    ) -> Result<Prepared, EndpointError> {
        let Response {
            code,
            options,
            payload,
        } = response;
        let echo = asked
            .block1
            .filter(|_| options.get(OptionNumber::BLOCK1).is_none());
        let observe_room = if asked.observe { OBSERVE_RESERVE } else { 0 };
        // Error responses are not served by block number, only cut when too large.
        let asked_block = asked.block2.filter(|b| code.class() == 2 || b.num() == 0);
        let max_szx = self
            .config
            .default_block_szx
            .min(asked.max_szx.unwrap_or(6));
        let whole = payload.len() <= block_size(max_szx)
            && self
                .check_size(
                    asked.token_len + observe_room + if echo.is_some() { 5 } else { 0 },
                    &options,
                    &payload,
                )
                .is_ok();
        let app_block2 = options.get(OptionNumber::BLOCK2).is_some();
        if app_block2 || (whole && asked_block.is_none()) {
            let options = match echo {
                Some(_) => rebuild(&options, &[], |b| with_echo(b, echo)),
                None => options,
            };
            self.check_size(asked.token_len + observe_room, &options, &payload)?;
            return Ok(Prepared {
                code,
                options,
                payload,
                keep: None,
            });
        }
        let too_large = EndpointError::MessageTooLarge {
            size: 4 + asked.token_len + options.as_bytes().len() + RESPONSE_OPTIONS_RESERVE + 17,
            max: self.config.max_message_size,
        };
        let szx = self
            .room_szx(asked.token_len, options.as_bytes().len())
            .ok_or(too_large)?
            .min(max_szx);
        let given = options.etags().ok().and_then(|mut e| e.next());
        let etag = given.or_else(|| content_etag(&payload));
        let base = rebuild(
            &options,
            &[OptionNumber::BLOCK2, OptionNumber::SIZE2],
            |b| match (given, etag) {
                (None, Some(etag)) => b.push_etag(etag),
                _ => b,
            },
        );
        let prepared = match serve_block2(&payload, etag, asked_block, asked.size2, szx) {
            Ok(slice) => {
                let options = rebuild(&base, &[], |b| {
                    with_echo(with_slice(b, slice.block, slice.size2), echo)
                });
                let more = slice.block.is_some_and(|b| b.more());
                let keep = more.then(|| {
                    let kept = Kept {
                        code,
                        options: base,
                        representation: payload,
                        etag,
                        szx,
                        expires: self.now,
                    };
                    (key(), kept)
                });
                Prepared {
                    code,
                    options,
                    payload: slice.payload,
                    keep,
                }
            }
            // A block beyond the end: the request's fault.
            Err(e) => Prepared {
                code: e.code(),
                options: rebuild(&Options::new(), &[], |b| with_echo(b, echo)),
                payload: Bytes::new(),
                keep: None,
            },
        };
        self.check_size(
            asked.token_len + observe_room,
            &prepared.options,
            &prepared.payload,
        )?;
        Ok(prepared)
    }

    /// Collects a request body sent in Block1 blocks (RFC 7959 §2.5): every block but the
    /// last is answered here (2.31 Continue, or 4.08 / 4.13 / 4.00), the last one gives
    /// the whole body to the application.
    pub(super) fn receive_block1(&mut self, peer: SocketAddr, message: &Message) -> Block1Step {
        let block = match message.options.block1(false) {
            Ok(Some(block)) => block,
            Ok(None) => return Block1Step::Whole,
            Err(_) => {
                self.reply_now(
                    peer,
                    message,
                    Code::BAD_OPTION,
                    Options::new(),
                    Bytes::new(),
                );
                return Block1Step::Answered;
            }
        };
        let key = RequestKey::new(peer, message.code, &message.options);
        let size1 = message.options.size1().ok().flatten();
        let outcome =
            self.server
                .block
                .receiver
                .handle_block(self.now, key, block, size1, &message.payload);
        match outcome {
            Ok(Block1Outcome::Continue(block)) => {
                let options = Options::builder()
                    .push_block1(block)
                    .build()
                    .unwrap_or_default();
                self.reply_now(peer, message, Code::CONTINUE, options, Bytes::new());
                Block1Step::Answered
            }
            Ok(Block1Outcome::Complete { body, block1 }) => Block1Step::Complete {
                body,
                options: rebuild(
                    &message.options,
                    &[OptionNumber::BLOCK1, OptionNumber::SIZE1],
                    |b| b,
                ),
                block1,
            },
            Err(reject) => {
                let options = match reject.size1() {
                    Some(size) => Options::builder()
                        .push_size1(size)
                        .build()
                        .unwrap_or_default(),
                    None => Options::new(),
                };
                self.reply_now(peer, message, reject.code(), options, Bytes::new());
                Block1Step::Answered
            }
        }
    }

    /// Answers a follow-up request for a later block of a response kept (RFC 7959 §2.4):
    /// whether it did. A follow-up of an unsafe request whose response is gone is answered
    /// 4.08, as its body is gone too; a GET or FETCH goes to the application.
    pub(super) fn serve_kept_block(&mut self, peer: SocketAddr, message: &Message) -> bool {
        let Ok(Some(block)) = message.options.block2(false) else {
            return false;
        };
        if block.num() == 0 {
            return false;
        }
        let key = RequestKey::new(peer, message.code, &message.options);
        let Some(kept) = self.server.block.kept.get(&key) else {
            if matches!(message.code, Code::GET | Code::FETCH) {
                return false;
            }
            self.reply_now(
                peer,
                message,
                Code::REQUEST_ENTITY_INCOMPLETE,
                Options::new(),
                Bytes::new(),
            );
            return true;
        };
        let size2 = message.options.size2().ok().flatten().is_some();
        let (code, options, payload, last) = match serve_block2(
            &kept.representation,
            kept.etag,
            Some(block),
            size2,
            kept.szx,
        ) {
            Ok(slice) => {
                let options = rebuild(&kept.options, &[], |b| {
                    with_slice(b, slice.block, slice.size2)
                });
                let last = !slice.block.is_some_and(|b| b.more());
                (kept.code, options, slice.payload, last)
            }
            Err(e) => (e.code(), Options::new(), Bytes::new(), false),
        };
        if last {
            self.server.block.forget(&key);
        }
        self.reply_now(peer, message, code, options, payload);
        true
    }
}
