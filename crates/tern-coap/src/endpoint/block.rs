//! Block-wise transfers (RFC 7959) as four pure state machines the endpoint plugs in:
//!
//! | role | body travels | type |
//! |---|---|---|
//! | client | response, Block2 | [`Block2Reassembly`]: next block to ask for, or the whole body |
//! | client | request, Block1 | [`Block1Sender`]: next block to send, reacting to 2.31 and 4.13 |
//! | server | response, Block2 | [`serve_block2`]: the slice, its Block2 and Size2 |
//! | server | request, Block1 | [`Block1Receiver`]: 2.31, the whole body, 4.08 or 4.13 |
//!
//! None of them sends, reads a clock or keeps a socket address of its own: the endpoint feeds
//! each one the typed options of a message (`Options::block2`, `Options::etags`, `Options::size2`,
//! ...) and builds the next message from the answer. Every size a peer announces or sends
//! (Size1, Size2, a block's offset, the bytes received) is checked against a configured limit
//! before any memory is reserved for it.
//!
//! BERT (SZX 7, RFC 8323 §6) is understood where it is received: a BERT message carries one
//! or more blocks of 1,024 bytes. Over UDP the codec refuses SZX 7 before it gets here.

use alloc::collections::BTreeMap;
use alloc::vec::Vec;
use core::fmt;
use core::net::SocketAddr;
use core::time::Duration;

use bytes::{Bytes, BytesMut};
use tern_time::Instant;

use crate::message::Code;
use crate::option::{OptionNumber, Options};
use crate::value::{Block, ETag};

/// The largest SZX that is a plain block size (1,024 bytes); 7 is BERT.
const MAX_PLAIN_SZX: u8 = 6;

/// Block size in bytes for an SZX; BERT (7) counts in units of 1,024.
const fn size_of(szx: u8) -> usize {
    if szx >= MAX_PLAIN_SZX {
        1024
    } else {
        16 << szx
    }
}

/// The largest plain SZX whose block size is at most `bytes`, or `None` below 16 bytes.
///
/// ```
/// use tern_coap::endpoint::block::szx_for_size;
/// assert_eq!(szx_for_size(1024), Some(6));
/// assert_eq!(szx_for_size(1000), Some(5)); // 512
/// assert_eq!(szx_for_size(5000), Some(6));
/// assert_eq!(szx_for_size(15), None);
/// ```
pub const fn szx_for_size(bytes: u64) -> Option<u8> {
    let mut szx = MAX_PLAIN_SZX;
    loop {
        if (16u64 << szx) <= bytes {
            return Some(szx);
        }
        if szx == 0 {
            return None;
        }
        szx -= 1;
    }
}

/// Checks a block's payload length against its M flag (RFC 7959 §2.2: every block but the
/// last is exactly the block size; a BERT message carries a whole number of 1,024-byte
/// blocks unless it is the last).
fn payload_fits(block: Block, len: usize) -> bool {
    let size = size_of(block.szx());
    match (block.more(), block.is_bert()) {
        (true, false) => len == size,
        (true, true) => len >= size && len % size == 0,
        (false, false) => len <= size,
        (false, true) => true,
    }
}

// ---------------------------------------------------------------------------------------------
// Client: Block2 reassembly
// ---------------------------------------------------------------------------------------------

/// What a client does after feeding a response to [`Block2Reassembly`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Block2Progress {
    /// Ask for the next block: send the original request again (same options, a new token
    /// or the same one, no Observe) with this Block2 option. Its M flag is 0, as RFC 7959
    /// §2.2 requires in a request.
    NeedMore(Block),
    /// The whole representation.
    Complete(Bytes),
}

/// Why a response does not continue a Block2 transfer. The reassembly is left as it was, so
/// a caller may ignore a stray block (e.g. [`Block2Error::UnexpectedBlock`] below the
/// expected offset, a late duplicate) and keep going; for the others it abandons the
/// transfer and, for [`Block2Error::EtagChanged`], starts over with a new [`Block2Reassembly`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Block2Error {
    /// The ETag differs from the one of the first block: the representation changed during
    /// the transfer (RFC 7959 §2.4). Restart from block 0.
    EtagChanged,
    /// The block does not start where the bytes received so far end: a missing, repeated or
    /// out-of-order block (RFC 7959 §2.2, NUM × size is the byte offset).
    UnexpectedBlock {
        /// The offset of the next byte expected.
        expected_offset: u32,
        /// The offset of the block received.
        offset: u32,
    },
    /// A block with M set that is not exactly the block size, or a last block larger than
    /// it (RFC 7959 §2.2).
    WrongBlockLength {
        /// The block's SZX.
        szx: u8,
        /// The payload length.
        len: usize,
    },
    /// The server answered with a larger block than the client asked for; it must use the
    /// size indicated or a smaller one (RFC 7959 §2.4).
    SizeIncreased {
        /// The SZX in the client's request.
        requested: u8,
        /// The SZX in the response.
        received: u8,
    },
    /// The body (announced by Size2, or received) exceeds the configured limit.
    TooLarge {
        /// The size announced or reached, in bytes.
        size: u64,
        /// The limit.
        limit: usize,
    },
    /// A response without Block2 after the transfer started.
    MissingBlock2,
    /// The transfer is already complete.
    Finished,
}

impl fmt::Display for Block2Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Block2Error::EtagChanged => {
                f.write_str("the ETag changed during a Block2 transfer (RFC 7959 §2.4)")
            }
            Block2Error::UnexpectedBlock {
                expected_offset,
                offset,
            } => write!(
                f,
                "Block2 at offset {offset}, expected {expected_offset} (RFC 7959 §2.2)"
            ),
            Block2Error::WrongBlockLength { szx, len } => write!(
                f,
                "Block2 payload of {len} bytes does not fit SZX {szx} (RFC 7959 §2.2)"
            ),
            Block2Error::SizeIncreased {
                requested,
                received,
            } => write!(
                f,
                "server answered SZX {received} to a request for SZX {requested} (RFC 7959 §2.4)"
            ),
            Block2Error::TooLarge { size, limit } => {
                write!(
                    f,
                    "response body of {size} bytes exceeds the limit of {limit}"
                )
            }
            Block2Error::MissingBlock2 => {
                f.write_str("a response without Block2 in the middle of a Block2 transfer")
            }
            Block2Error::Finished => f.write_str("the Block2 transfer is already complete"),
        }
    }
}

#[cfg(feature = "std")]
impl std::error::Error for Block2Error {}

/// A client's reassembly of a response body sent in Block2 blocks (RFC 7959 §2.4).
///
/// Feed it every response of the transfer, in order; it answers with the Block2 option of
/// the next request or the whole body. Block sizes are negotiated either way:
///
/// - **late**: [`Block2Reassembly::new`]; the first request has no Block2 and the server picks
///   the size (TD_COAP_BLOCK_02);
/// - **late, capped**: [`Block2Reassembly::with_max_szx`]; as late, but the client asks
///   for blocks no larger than its own maximum after block 0;
/// - **early**: [`Block2Reassembly::with_szx`]; the first request carries
///   [`Block2Reassembly::first_request_block`] and the server uses that size or a smaller one
///   (TD_COAP_BLOCK_01, _06).
///
/// Afterwards each request asks for the size of the last response (or the client's preferred
/// size, if smaller), and the block number is recomputed from the byte offset, so a server
/// that lowers the size mid-transfer is followed. The ETag of the first block must be on every
/// block; Size2 and the bytes received are checked against the limit.
///
/// The same type reassembles a notification whose first block came with Observe (RFC 7959
/// §3.4, TD_COAP_OBS_13/14): feed the notification first, then the responses to the
/// follow-up GETs (without Observe).
///
/// ```
/// use bytes::Bytes;
/// use tern_coap::endpoint::block::{Block2Progress, Block2Reassembly};
/// use tern_coap::value::{Block, ETag};
///
/// let tag = ETag::new(b"v1");
/// let mut transfer = Block2Reassembly::with_szx(4096, 0); // early negotiation: 16-byte blocks
/// assert_eq!(transfer.first_request_block(), Block::new(0, false, 0));
///
/// let first = Bytes::from_static(b"0123456789abcdef");
/// let next = transfer.handle_response(Block::new(0, true, 0), tag, Some(20), &first)?;
/// assert_eq!(next, Block2Progress::NeedMore(Block::new(1, false, 0).unwrap()));
///
/// let last = Bytes::from_static(b"ghij");
/// let done = transfer.handle_response(Block::new(1, false, 0), tag, None, &last)?;
/// assert_eq!(done, Block2Progress::Complete(Bytes::from_static(b"0123456789abcdefghij")));
/// # Ok::<(), tern_coap::endpoint::block::Block2Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct Block2Reassembly {
    limit: usize,
    /// The client's largest SZX, if it has one.
    preferred_szx: Option<u8>,
    /// Whether the first request proposes `preferred_szx` (early negotiation).
    propose: bool,
    /// The SZX of the Block2 option in the request whose response is awaited, if it had one.
    requested_szx: Option<u8>,
    body: BytesMut,
    /// The ETag of the first block (`None` inside: it had none), once a block arrived.
    etag: Option<Option<ETag>>,
    finished: bool,
}

impl Block2Reassembly {
    /// Late negotiation: the first request carries no Block2 and the server picks the size.
    /// `limit` is the largest body accepted, in bytes.
    ///
    /// ```
    /// use tern_coap::endpoint::block::Block2Reassembly;
    /// assert_eq!(Block2Reassembly::new(1 << 20).first_request_block(), None);
    /// ```
    pub fn new(limit: usize) -> Block2Reassembly {
        Block2Reassembly {
            limit,
            preferred_szx: None,
            propose: false,
            requested_szx: None,
            body: BytesMut::new(),
            etag: None,
            finished: false,
        }
    }

    /// Early negotiation: the first request carries Block2 `0/0/size(szx)` and no response
    /// block may be larger. `szx` above 6 is taken as 6 (BERT is never proposed).
    ///
    /// ```
    /// use tern_coap::endpoint::block::Block2Reassembly;
    /// use tern_coap::value::Block;
    /// let t = Block2Reassembly::with_szx(4096, 2);
    /// assert_eq!(t.first_request_block(), Block::new(0, false, 2));
    /// ```
    pub fn with_szx(limit: usize, szx: u8) -> Block2Reassembly {
        let szx = if szx > MAX_PLAIN_SZX {
            MAX_PLAIN_SZX
        } else {
            szx
        };
        Block2Reassembly {
            limit,
            preferred_szx: Some(szx),
            propose: true,
            requested_szx: Some(szx),
            body: BytesMut::new(),
            etag: None,
            finished: false,
        }
    }

    /// Late negotiation with a cap: the first request carries no Block2 and the server picks
    /// the size of block 0; later requests ask for at most `szx` (TD_COAP_BLOCK_02: after a
    /// 256-byte block 0, a client capped at 64 bytes asks for block 4 of 64 bytes).
    ///
    /// ```
    /// use tern_coap::endpoint::block::Block2Reassembly;
    /// assert_eq!(Block2Reassembly::with_max_szx(4096, 2).first_request_block(), None);
    /// ```
    pub fn with_max_szx(limit: usize, szx: u8) -> Block2Reassembly {
        Block2Reassembly {
            limit,
            preferred_szx: Some(szx.min(MAX_PLAIN_SZX)),
            propose: false,
            requested_szx: None,
            body: BytesMut::new(),
            etag: None,
            finished: false,
        }
    }

    /// The Block2 option for the first request: `Some` under early negotiation.
    pub const fn first_request_block(&self) -> Option<Block> {
        match self.preferred_szx {
            Some(szx) if self.propose => Block::new(0, false, szx),
            _ => None,
        }
    }

    /// Bytes received so far.
    ///
    /// ```
    /// use tern_coap::endpoint::block::Block2Reassembly;
    /// assert_eq!(Block2Reassembly::new(64).received(), 0);
    /// ```
    pub fn received(&self) -> usize {
        self.body.len()
    }

    /// Whether the body is complete (or was delivered whole).
    pub const fn is_finished(&self) -> bool {
        self.finished
    }

    /// Feeds one response of the transfer: its Block2 option, its (first) ETag, its Size2 and
    /// its payload. On an error nothing changes (see [`Block2Error`]).
    ///
    /// A response without Block2 to the first request is the whole body.
    pub fn handle_response(
        &mut self,
        block2: Option<Block>,
        etag: Option<ETag>,
        size2: Option<u32>,
        payload: &Bytes,
    ) -> Result<Block2Progress, Block2Error> {
        if self.finished {
            return Err(Block2Error::Finished);
        }
        // Size2 is the server's estimate of the whole body: refuse early (RFC 7959 §4).
        if let Some(size) = size2 {
            if u64::from(size) > self.limit as u64 {
                return Err(Block2Error::TooLarge {
                    size: u64::from(size),
                    limit: self.limit,
                });
            }
        }
        let Some(block) = block2 else {
            if self.etag.is_some() {
                return Err(Block2Error::MissingBlock2);
            }
            if payload.len() > self.limit {
                return Err(Block2Error::TooLarge {
                    size: payload.len() as u64,
                    limit: self.limit,
                });
            }
            self.finished = true;
            return Ok(Block2Progress::Complete(payload.clone()));
        };
        if let Some(first) = self.etag {
            if first != etag {
                return Err(Block2Error::EtagChanged);
            }
        }
        if let Some(requested) = self.requested_szx {
            if block.szx() > requested {
                return Err(Block2Error::SizeIncreased {
                    requested,
                    received: block.szx(),
                });
            }
        }
        let expected = self.body.len();
        if block.offset() as usize != expected {
            return Err(Block2Error::UnexpectedBlock {
                expected_offset: u32::try_from(expected).unwrap_or(u32::MAX),
                offset: block.offset(),
            });
        }
        if !payload_fits(block, payload.len()) {
            return Err(Block2Error::WrongBlockLength {
                szx: block.szx(),
                len: payload.len(),
            });
        }
        let total = expected.saturating_add(payload.len());
        if total > self.limit {
            return Err(Block2Error::TooLarge {
                size: total as u64,
                limit: self.limit,
            });
        }
        if block.more() {
            // Checked before anything changes, so an error leaves the state as it was.
            let next = self.next_block(block, total)?;
            self.accept(etag, size2, payload);
            self.requested_szx = Some(next.szx());
            Ok(Block2Progress::NeedMore(next))
        } else {
            self.accept(etag, size2, payload);
            self.finished = true;
            Ok(Block2Progress::Complete(self.body.split().freeze()))
        }
    }

    /// The block to ask for after `total` bytes: the size of the last block or the client's
    /// preferred one if smaller, numbered from the offset (RFC 7959 §2.4).
    fn next_block(&self, last: Block, total: usize) -> Result<Block, Block2Error> {
        let szx = match self.preferred_szx {
            Some(p) if p < last.szx() => p,
            _ => last.szx(),
        };
        // `total` is a multiple of the last block's size, hence of every smaller size.
        let num = u32::try_from(total / size_of(szx)).unwrap_or(u32::MAX);
        Block::new(num, false, szx).ok_or(Block2Error::TooLarge {
            size: total as u64,
            limit: self.limit,
        })
    }

    fn accept(&mut self, etag: Option<ETag>, size2: Option<u32>, payload: &Bytes) {
        if self.etag.is_none() {
            self.etag = Some(etag);
            // Size2 was checked against the limit above.
            if let Some(size) = size2 {
                self.body.reserve((size as usize).min(self.limit));
            }
        }
        self.body.extend_from_slice(payload);
    }
}

// ---------------------------------------------------------------------------------------------
// Client: Block1 fragmentation
// ---------------------------------------------------------------------------------------------

/// One request of a Block1 transfer: the Block1 option, the payload slice and, on the first
/// block, Size1 with the whole body's size (RFC 7959 §4).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Block1Request {
    /// The Block1 option.
    pub block: Block,
    /// The block's bytes (a slice of the body, no copy).
    pub payload: Bytes,
    /// Size1 for the request: the body's size on block 0, `None` after.
    pub size1: Option<u32>,
}

/// What a client does after a response to a Block1 request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Block1Progress {
    /// Send this block next (the same options as the first request, a new message).
    Send(Block1Request),
    /// The response is the final one of the request: give it to the application. It may
    /// carry a Block2 option, the start of a block-wise response (TD_COAP_BLOCK_05).
    Done,
}

/// Why a Block1 transfer cannot go on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Block1Error {
    /// The body needs more than 2^20 blocks at this size, or is over 4 GiB.
    BodyTooLarge,
    /// The response's Block1 is not the block just sent (RFC 7959 §2.3: the server echoes it).
    UnexpectedBlock {
        /// The block number sent.
        sent: u32,
        /// The block number in the response.
        received: u32,
    },
    /// A success response to a non-final block without Block1: the server did not say what
    /// it did with the block.
    MissingBlock1,
    /// 2.31 Continue to the final block (RFC 7959 §2.9.1: Continue is for non-final blocks).
    UnexpectedContinue,
    /// 4.13 Request Entity Too Large and no smaller block size to try: the body does not fit
    /// (`size1` is the server's maximum when it gave one, RFC 7959 §2.9.3).
    TooLarge {
        /// The server's Size1, if any.
        size1: Option<u32>,
    },
    /// The transfer already ended.
    Finished,
}

impl fmt::Display for Block1Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Block1Error::BodyTooLarge => {
                f.write_str("request body needs more than 2^20 blocks (RFC 7959 §2.2)")
            }
            Block1Error::UnexpectedBlock { sent, received } => write!(
                f,
                "response acknowledges Block1 {received}, block {sent} was sent (RFC 7959 §2.3)"
            ),
            Block1Error::MissingBlock1 => {
                f.write_str("success response to a non-final block without Block1")
            }
            Block1Error::UnexpectedContinue => {
                f.write_str("2.31 Continue to the final block (RFC 7959 §2.9.1)")
            }
            Block1Error::TooLarge { size1: Some(s) } => write!(
                f,
                "4.13 Request Entity Too Large: the server accepts at most {s} bytes"
            ),
            Block1Error::TooLarge { size1: None } => {
                f.write_str("4.13 Request Entity Too Large and no smaller block size to try")
            }
            Block1Error::Finished => f.write_str("the Block1 transfer already ended"),
        }
    }
}

#[cfg(feature = "std")]
impl std::error::Error for Block1Error {}

/// A client's request body sent in Block1 blocks (RFC 7959 §2.5, TD_COAP_BLOCK_03/04).
///
/// [`Block1Sender::current`] is the request to send (again, on a retransmission by a new
/// request); [`Block1Sender::handle_response`] moves on:
///
/// - **2.31 Continue** (atomic server) or another 2.xx with Block1 (stateless server) to a
///   non-final block: the next block, at the server's Block1 size if smaller (the block
///   number is recomputed from the offset, so after 1,024-byte block 0 the next 256-byte block
///   is number 4);
/// - **4.13 Request Entity Too Large**: a smaller SZX in its Block1, or Size1 showing that the
///   body fits but the blocks do not, restarts from block 0 with smaller blocks; a Size1 below
///   the body's size ends the transfer ([`Block1Error::TooLarge`]). Each restart lowers SZX,
///   so there are at most six;
/// - anything else (the response to the final block, or any other error such as 4.08) is
///   the final response: [`Block1Progress::Done`].
///
/// ```
/// use bytes::Bytes;
/// use tern_coap::endpoint::block::{Block1Progress, Block1Sender};
/// use tern_coap::message::Code;
/// use tern_coap::value::Block;
///
/// let mut sender = Block1Sender::new(Bytes::from(vec![7u8; 100]), 6)?; // 1,024-byte blocks
/// let first = sender.current().unwrap();
/// assert_eq!((first.block, first.payload.len(), first.size1), (Block::new(0, false, 6).unwrap(), 100, Some(100)));
/// assert_eq!(sender.handle_response(Code::CHANGED, Block::new(0, false, 6), None)?, Block1Progress::Done);
/// # Ok::<(), tern_coap::endpoint::block::Block1Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct Block1Sender {
    body: Bytes,
    szx: u8,
    /// Bytes acknowledged by the server: where the current block starts.
    offset: usize,
    finished: bool,
}

impl Block1Sender {
    /// A transfer of `body` in blocks of SZX `szx` (above 6 is taken as 6). Fails if the body
    /// needs more than 2^20 blocks at that size.
    ///
    /// ```
    /// use bytes::Bytes;
    /// use tern_coap::endpoint::block::{Block1Error, Block1Sender};
    /// assert!(Block1Sender::new(Bytes::from_static(b"hello"), 0).is_ok());
    /// ```
    pub fn new(body: Bytes, szx: u8) -> Result<Block1Sender, Block1Error> {
        let szx = szx.min(MAX_PLAIN_SZX);
        if !fits_in_blocks(body.len(), szx) {
            return Err(Block1Error::BodyTooLarge);
        }
        Ok(Block1Sender {
            body,
            szx,
            offset: 0,
            finished: false,
        })
    }

    /// The SZX in use.
    pub const fn szx(&self) -> u8 {
        self.szx
    }

    /// Whether the transfer ended (final response or error).
    pub const fn is_finished(&self) -> bool {
        self.finished
    }

    /// The request to send now; `None` once the transfer ended.
    pub fn current(&self) -> Option<Block1Request> {
        if self.finished {
            return None;
        }
        let size = size_of(self.szx);
        let len = self.body.len();
        let start = self.offset.min(len);
        let end = start.saturating_add(size).min(len);
        let block = Block::new(
            u32::try_from(start / size).unwrap_or(u32::MAX),
            end < len,
            self.szx,
        )?;
        Some(Block1Request {
            block,
            payload: self.body.slice(start..end),
            size1: if start == 0 {
                u32::try_from(len).ok()
            } else {
                None
            },
        })
    }

    /// Feeds the response to the block last sent: its code, Block1 and Size1.
    pub fn handle_response(
        &mut self,
        code: Code,
        block1: Option<Block>,
        size1: Option<u32>,
    ) -> Result<Block1Progress, Block1Error> {
        let Some(sent) = self.current() else {
            return Err(Block1Error::Finished);
        };
        if code == Code::REQUEST_ENTITY_TOO_LARGE {
            return self.shrink(block1, size1);
        }
        let success = code.class() == 2;
        if code == Code::CONTINUE && !sent.block.more() {
            self.finished = true;
            return Err(Block1Error::UnexpectedContinue);
        }
        if !success || !sent.block.more() {
            self.finished = true;
            return Ok(Block1Progress::Done);
        }
        // A success response to a non-final block: 2.31 (atomic) or e.g. 2.04 (stateless).
        let Some(ack) = block1 else {
            if code == Code::CONTINUE {
                // Continue says it all; keep the size.
                return Ok(self.advance(sent, self.szx));
            }
            self.finished = true;
            return Err(Block1Error::MissingBlock1);
        };
        // The server echoes the block number; one that lowered the size may count it in its
        // own size, so the offset counts too.
        if ack.num() != sent.block.num() && ack.offset() != sent.block.offset() {
            self.finished = true;
            return Err(Block1Error::UnexpectedBlock {
                sent: sent.block.num(),
                received: ack.num(),
            });
        }
        let szx = if ack.szx() < self.szx {
            ack.szx()
        } else {
            self.szx
        };
        Ok(self.advance(sent, szx))
    }

    fn advance(&mut self, sent: Block1Request, szx: u8) -> Block1Progress {
        self.offset = self.offset.saturating_add(sent.payload.len());
        self.szx = szx;
        match self.current() {
            Some(next) => Block1Progress::Send(next),
            // Unreachable: `current` fails only when finished.
            None => Block1Progress::Done,
        }
    }

    /// 4.13 (RFC 7959 §2.9.3): restart with smaller blocks if the server says what fits.
    fn shrink(
        &mut self,
        block1: Option<Block>,
        size1: Option<u32>,
    ) -> Result<Block1Progress, Block1Error> {
        let len = self.body.len();
        let smaller = match (block1, size1) {
            // The whole body is over the server's maximum: smaller blocks do not help.
            (_, Some(max)) if (max as usize) < len => None,
            // "a 4.13 response with a smaller SZX in its Block1 Option than requested is a
            // hint to try a smaller SZX"
            (Some(b), _) if b.szx() < self.szx => Some(b.szx()),
            // The body fits the maximum, so a single message was too big: blocks no larger
            // than Size1.
            (_, Some(max)) => szx_for_size(u64::from(max)).filter(|&s| s < self.szx),
            (_, None) => None,
        };
        match smaller {
            Some(szx) if fits_in_blocks(len, szx) => {
                self.szx = szx;
                self.offset = 0;
                match self.current() {
                    Some(first) => Ok(Block1Progress::Send(first)),
                    None => Err(Block1Error::Finished),
                }
            }
            _ => {
                self.finished = true;
                Err(Block1Error::TooLarge { size1 })
            }
        }
    }
}

/// Whether `len` bytes fit in at most 2^20 blocks of `szx` and in a u32 (for Size1).
fn fits_in_blocks(len: usize, szx: u8) -> bool {
    let blocks = len.div_ceil(size_of(szx));
    u32::try_from(len).is_ok() && blocks <= Block::MAX_NUM as usize + 1
}

// ---------------------------------------------------------------------------------------------
// Server: Block2 serving
// ---------------------------------------------------------------------------------------------

/// The part of a representation that answers one request (see [`serve_block2`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Block2Slice {
    /// The Block2 option of the response; `None` when the whole representation goes in one
    /// response without it.
    pub block: Option<Block>,
    /// The bytes (a slice of the representation, no copy).
    pub payload: Bytes,
    /// Size2 for the response: the representation's size when the request asked for it
    /// (Size2 = 0) or on block 0 (RFC 7959 §4).
    pub size2: Option<u32>,
    /// The ETag to put in the response, the same on every block (RFC 7959 §2.4).
    pub etag: Option<ETag>,
}

/// Why a Block2 request cannot be served.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Block2ServeError {
    /// The block starts at or after the end of the representation.
    OutOfRange {
        /// The block's byte offset.
        offset: u32,
        /// The representation's length.
        len: usize,
    },
    /// The representation needs more than 2^20 blocks, or is over 4 GiB.
    TooLarge,
}

impl Block2ServeError {
    /// The response code: 4.02 Bad Option for a block beyond the end (the request's Block2
    /// cannot be honoured; RFC 7959 names no code for this, 4.02 is what common servers
    /// answer), 5.00 for a representation too large to number.
    ///
    /// ```
    /// use tern_coap::endpoint::block::Block2ServeError;
    /// use tern_coap::message::Code;
    /// assert_eq!(Block2ServeError::OutOfRange { offset: 64, len: 10 }.code(), Code::BAD_OPTION);
    /// ```
    pub const fn code(&self) -> Code {
        match self {
            Block2ServeError::OutOfRange { .. } => Code::BAD_OPTION,
            Block2ServeError::TooLarge => Code::INTERNAL_SERVER_ERROR,
        }
    }
}

impl fmt::Display for Block2ServeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Block2ServeError::OutOfRange { offset, len } => write!(
                f,
                "Block2 at offset {offset} is beyond the {len}-byte representation"
            ),
            Block2ServeError::TooLarge => {
                f.write_str("representation needs more than 2^20 blocks (RFC 7959 §2.2)")
            }
        }
    }
}

#[cfg(feature = "std")]
impl std::error::Error for Block2ServeError {}

/// Serves one request for a representation, block-wise when needed (RFC 7959 §2.4).
///
/// - `request_block2`: the request's Block2 (its M flag is ignored, RFC 7959 §2.2);
/// - `size2_requested`: whether the request carried Size2 (0 asks for the size);
/// - `max_szx`: the server's largest block size (its own message-size limit).
///
/// Without Block2 in the request, a representation that fits in `max_szx` goes whole; a
/// larger one goes as block 0 (late negotiation). With Block2, the block size is the
/// requested one or `max_szx` if smaller ("A server MUST use the block size indicated or a
/// smaller size"), and the block number is recomputed from the requested byte offset, which
/// keeps a client that asked for larger blocks consistent. Being a function of the request
/// alone, serving keeps no state; the ETag makes a change between blocks visible to the client.
///
/// ```
/// use bytes::Bytes;
/// use tern_coap::endpoint::block::serve_block2;
/// use tern_coap::value::{Block, ETag};
///
/// let repr = Bytes::from(vec![1u8; 100]);
/// let etag = ETag::new(b"v7");
/// // Late negotiation: no Block2 in the request, 64-byte blocks at most.
/// let first = serve_block2(&repr, etag, None, false, 2)?;
/// assert_eq!(first.block, Block::new(0, true, 2));
/// assert_eq!((first.payload.len(), first.size2, first.etag), (64, Some(100), etag));
/// let last = serve_block2(&repr, etag, Block::new(1, false, 2), false, 2)?;
/// assert_eq!((last.block, last.payload.len()), (Block::new(1, false, 2), 36));
/// # Ok::<(), tern_coap::endpoint::block::Block2ServeError>(())
/// ```
pub fn serve_block2(
    representation: &Bytes,
    etag: Option<ETag>,
    request_block2: Option<Block>,
    size2_requested: bool,
    max_szx: u8,
) -> Result<Block2Slice, Block2ServeError> {
    let len = representation.len();
    let total = u32::try_from(len).map_err(|_| Block2ServeError::TooLarge)?;
    let max_szx = max_szx.min(MAX_PLAIN_SZX);
    let (szx, offset) = match request_block2 {
        None if len <= size_of(max_szx) => {
            return Ok(Block2Slice {
                block: None,
                payload: representation.clone(),
                size2: size2_requested.then_some(total),
                etag,
            });
        }
        None => (max_szx, 0usize),
        // BERT requests (SZX 7) are answered with plain 1,024-byte blocks: a smaller size.
        Some(b) => (b.szx().min(max_szx), b.offset() as usize),
    };
    if offset >= len && !(offset == 0 && len == 0) {
        return Err(Block2ServeError::OutOfRange {
            offset: u32::try_from(offset).unwrap_or(u32::MAX),
            len,
        });
    }
    let size = size_of(szx);
    // The requested offset is a multiple of the requested size, hence of every smaller one.
    let num = u32::try_from(offset / size).map_err(|_| Block2ServeError::TooLarge)?;
    let end = offset.saturating_add(size).min(len);
    let block = Block::new(num, end < len, szx).ok_or(Block2ServeError::TooLarge)?;
    Ok(Block2Slice {
        block: Some(block),
        payload: representation.slice(offset..end),
        size2: (size2_requested || num == 0).then_some(total),
        etag,
    })
}

// ---------------------------------------------------------------------------------------------
// Server: Block1 reassembly
// ---------------------------------------------------------------------------------------------

/// Identifies one Block1 transfer at a server: the client's address, the method and the
/// request's options that select the target (RFC 7959 §2.5: a new transfer "to the same
/// resource" from the same endpoint replaces the old one).
///
/// The options kept are the cache-key options (RFC 7252 §5.4.6: every option but the
/// NoCacheKey ones, so not Size1, Size2 or Echo) less those that describe the transfer or
/// the response rather than the target: Block1, Block2, Q-Block1, Q-Block2 and Observe.
/// Request-Tag stays, so concurrent transfers tagged apart stay apart (RFC 9175 §3). The
/// token is not part of it: every block may use a new one.
///
/// ```
/// use tern_coap::endpoint::block::RequestKey;
/// use tern_coap::message::Code;
/// use tern_coap::option::Options;
/// use tern_coap::value::Block;
///
/// let peer = "192.0.2.1:5683".parse().unwrap();
/// let block0 = Options::builder().push_uri_path("large")?.push_block1(Block::new(0, true, 6).unwrap()).push_size1(3000).build()?;
/// let block1 = Options::builder().push_uri_path("large")?.push_block1(Block::new(1, true, 6).unwrap()).build()?;
/// assert_eq!(RequestKey::new(peer, Code::PUT, &block0), RequestKey::new(peer, Code::PUT, &block1));
/// assert_ne!(RequestKey::new(peer, Code::PUT, &block0), RequestKey::new(peer, Code::POST, &block1));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RequestKey {
    peer: SocketAddr,
    method: Code,
    /// Each kept option as number (2 bytes), length (4 bytes), value.
    options: Bytes,
}

impl RequestKey {
    /// The key of a request from `peer`.
    pub fn new(peer: SocketAddr, method: Code, options: &Options) -> RequestKey {
        let mut key = Vec::with_capacity(options.as_bytes().len() + 16);
        for option in options.iter().filter(|o| in_request_key(o.number)) {
            key.extend_from_slice(&option.number.get().to_be_bytes());
            let len = u32::try_from(option.value.len()).unwrap_or(u32::MAX);
            key.extend_from_slice(&len.to_be_bytes());
            key.extend_from_slice(option.value);
        }
        RequestKey {
            peer,
            method,
            options: Bytes::from(key),
        }
    }

    /// The client's address.
    pub const fn peer(&self) -> SocketAddr {
        self.peer
    }
}

fn in_request_key(number: OptionNumber) -> bool {
    !number.is_no_cache_key()
        && !matches!(
            number,
            OptionNumber::BLOCK1
                | OptionNumber::BLOCK2
                | OptionNumber::Q_BLOCK1
                | OptionNumber::Q_BLOCK2
                | OptionNumber::OBSERVE
        )
}

/// The limits of a [`Block1Receiver`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Block1Config {
    /// The largest request body, in bytes; larger ones get 4.13 with this as Size1.
    pub max_body: usize,
    /// The bytes held by all unfinished transfers together.
    pub max_total: usize,
    /// The number of unfinished transfers.
    pub max_transfers: usize,
    /// How long a transfer is kept after its last block: EXCHANGE_LIFETIME, 247 s, by
    /// default (RFC 7959 §2.5: servers may discard a partial body after that).
    pub lifetime: Duration,
    /// The server's preferred SZX, echoed in 2.31 when the client's blocks are larger
    /// (RFC 7959 §2.3).
    pub preferred_szx: u8,
}

impl Default for Block1Config {
    /// 64 KiB per body, 256 KiB in total, 16 transfers, 247 s, 1,024-byte blocks.
    fn default() -> Self {
        Block1Config {
            max_body: 64 * 1024,
            max_total: 256 * 1024,
            max_transfers: 16,
            lifetime: Duration::from_secs(247),
            preferred_szx: MAX_PLAIN_SZX,
        }
    }
}

/// What the server does with a Block1 request that was accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Block1Outcome {
    /// Answer 2.31 Continue with this Block1 (the block's number, M = 1 for an atomic
    /// transfer, the server's preferred size if smaller; RFC 7959 §2.3, §2.9.1).
    Continue(Block),
    /// The body is complete: give the request with this body to the application and put
    /// this Block1 (the last block's, M = 0) in its final response (TD_COAP_BLOCK_03/04).
    Complete {
        /// The whole request body.
        body: Bytes,
        /// The Block1 option for the final response.
        block1: Block,
    },
}

/// Why a Block1 request is refused; [`Block1Reject::code`] is the answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Block1Reject {
    /// 4.08 Request Entity Incomplete: a block out of sequence, or a later block with no
    /// transfer in progress (never started, or expired; RFC 7959 §2.5).
    Incomplete {
        /// The offset the server expected, if a transfer is in progress.
        expected_offset: Option<u32>,
    },
    /// 4.13 Request Entity Too Large with Size1 = `max`: the body (announced by Size1, or
    /// received) is over the limit (RFC 7959 §2.9.3, RFC 7252 §5.9.2.9).
    TooLarge {
        /// The largest body the server accepts, for Size1.
        max: u32,
    },
    /// 4.13 without Size1: no room for another transfer now ("can be returned at any time by
    /// a server that does not currently have the resources to store blocks", RFC 7959 §2.5).
    Busy,
    /// 4.00 Bad Request: a block with M set whose payload is not exactly the block size
    /// (RFC 7959 §2.2).
    WrongBlockLength,
}

impl Block1Reject {
    /// The response code.
    ///
    /// ```
    /// use tern_coap::endpoint::block::Block1Reject;
    /// use tern_coap::message::Code;
    /// assert_eq!(Block1Reject::Incomplete { expected_offset: None }.code(), Code::REQUEST_ENTITY_INCOMPLETE);
    /// assert_eq!(Block1Reject::TooLarge { max: 4096 }.code(), Code::REQUEST_ENTITY_TOO_LARGE);
    /// ```
    pub const fn code(&self) -> Code {
        match self {
            Block1Reject::Incomplete { .. } => Code::REQUEST_ENTITY_INCOMPLETE,
            Block1Reject::TooLarge { .. } | Block1Reject::Busy => Code::REQUEST_ENTITY_TOO_LARGE,
            Block1Reject::WrongBlockLength => Code::BAD_REQUEST,
        }
    }

    /// Size1 for the response, if any.
    ///
    /// ```
    /// use tern_coap::endpoint::block::Block1Reject;
    /// assert_eq!(Block1Reject::TooLarge { max: 4096 }.size1(), Some(4096));
    /// assert_eq!(Block1Reject::Busy.size1(), None);
    /// ```
    pub const fn size1(&self) -> Option<u32> {
        match self {
            Block1Reject::TooLarge { max } => Some(*max),
            _ => None,
        }
    }
}

impl fmt::Display for Block1Reject {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Block1Reject::Incomplete {
                expected_offset: Some(o),
            } => write!(f, "Block1 out of sequence, expected offset {o} (4.08)"),
            Block1Reject::Incomplete {
                expected_offset: None,
            } => f.write_str("Block1 with no transfer in progress (4.08)"),
            Block1Reject::TooLarge { max } => {
                write!(f, "request body over the limit of {max} bytes (4.13)")
            }
            Block1Reject::Busy => f.write_str("no room for another Block1 transfer (4.13)"),
            Block1Reject::WrongBlockLength => {
                f.write_str("Block1 with M set and a payload not of the block size (4.00)")
            }
        }
    }
}

#[cfg(feature = "std")]
impl std::error::Error for Block1Reject {}

#[derive(Debug, Clone)]
struct Transfer {
    body: BytesMut,
    /// Where the last block started, to answer its retransmission again.
    last_offset: usize,
    expires: Instant,
}

/// A server's reassembly of request bodies sent in Block1 blocks, atomically (RFC 7959 §2.5):
/// one transfer per key (e.g. [`RequestKey`]), bounded in bytes per transfer, in total and in
/// number, and dropped [`Block1Config::lifetime`] after its last block.
///
/// ```
/// use bytes::Bytes;
/// use tern_coap::endpoint::Instant;
/// use tern_coap::endpoint::block::{Block1Config, Block1Outcome, Block1Receiver};
/// use tern_coap::value::Block;
///
/// let mut server = Block1Receiver::new(Block1Config::default());
/// let now = Instant::ZERO;
/// let b0 = Bytes::from(vec![1u8; 16]);
/// let r = server.handle_block(now, "peer /large", Block::new(0, true, 0).unwrap(), Some(20), &b0);
/// assert_eq!(r, Ok(Block1Outcome::Continue(Block::new(0, true, 0).unwrap())));
/// let b1 = Bytes::from(vec![2u8; 4]);
/// let r = server.handle_block(now, "peer /large", Block::new(1, false, 0).unwrap(), None, &b1);
/// let Ok(Block1Outcome::Complete { body, block1 }) = r else { panic!() };
/// assert_eq!((body.len(), block1), (20, Block::new(1, false, 0).unwrap()));
/// ```
#[derive(Debug, Clone)]
pub struct Block1Receiver<K> {
    config: Block1Config,
    transfers: BTreeMap<K, Transfer>,
    total: usize,
}

impl<K: Ord> Block1Receiver<K> {
    /// An empty receiver.
    pub const fn new(config: Block1Config) -> Block1Receiver<K> {
        Block1Receiver {
            config,
            transfers: BTreeMap::new(),
            total: 0,
        }
    }

    /// The limits.
    pub const fn config(&self) -> &Block1Config {
        &self.config
    }

    /// The number of unfinished transfers.
    pub fn len(&self) -> usize {
        self.transfers.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.transfers.is_empty()
    }

    /// The bytes held by unfinished transfers.
    pub const fn total_bytes(&self) -> usize {
        self.total
    }

    /// Feeds one request carrying Block1: the block, the request's Size1 and its payload.
    ///
    /// Block 0 starts a transfer (replacing one under the same key); a block with M = 0
    /// completes it. A repeated last block is answered again without being appended.
    pub fn handle_block(
        &mut self,
        now: Instant,
        key: K,
        block: Block,
        size1: Option<u32>,
        payload: &Bytes,
    ) -> Result<Block1Outcome, Block1Reject> {
        self.handle_timeout(now);
        let max = u32::try_from(self.config.max_body).unwrap_or(u32::MAX);
        if size1.is_some_and(|s| s as usize > self.config.max_body) {
            return Err(Block1Reject::TooLarge { max });
        }
        if !payload_fits(block, payload.len()) {
            return Err(Block1Reject::WrongBlockLength);
        }
        let offset = block.offset() as usize;
        let end = offset.saturating_add(payload.len());
        if end > self.config.max_body {
            self.remove(&key);
            return Err(Block1Reject::TooLarge { max });
        }
        let reply_szx = block
            .szx()
            .min(self.config.preferred_szx.min(MAX_PLAIN_SZX));
        // A block number fits in 20 bits, so these cannot fail.
        let continue_block = Block::new(block.num(), true, reply_szx);
        let final_block = Block::new(block.num(), false, block.szx());
        let (Some(continue_block), Some(final_block)) = (continue_block, final_block) else {
            return Err(Block1Reject::WrongBlockLength);
        };

        if offset == 0 {
            self.remove(&key);
            if !block.more() {
                return Ok(Block1Outcome::Complete {
                    body: payload.clone(),
                    block1: final_block,
                });
            }
            if self.transfers.len() >= self.config.max_transfers
                || self.total.saturating_add(payload.len()) > self.config.max_total
            {
                return Err(Block1Reject::Busy);
            }
            let mut body = BytesMut::with_capacity(payload.len());
            body.extend_from_slice(payload);
            self.total += payload.len();
            self.transfers.insert(
                key,
                Transfer {
                    body,
                    last_offset: 0,
                    expires: now + self.config.lifetime,
                },
            );
            return Ok(Block1Outcome::Continue(continue_block));
        }

        let Some(transfer) = self.transfers.get_mut(&key) else {
            return Err(Block1Reject::Incomplete {
                expected_offset: None,
            });
        };
        let received = transfer.body.len();
        if block.more() && offset == transfer.last_offset && end == received {
            // The last block again (its response was lost): answer it again.
            transfer.expires = now + self.config.lifetime;
            return Ok(Block1Outcome::Continue(continue_block));
        }
        if offset != received {
            return Err(Block1Reject::Incomplete {
                expected_offset: Some(u32::try_from(received).unwrap_or(u32::MAX)),
            });
        }
        if self.total.saturating_add(payload.len()) > self.config.max_total {
            self.remove(&key);
            return Err(Block1Reject::Busy);
        }
        transfer.body.extend_from_slice(payload);
        transfer.last_offset = offset;
        transfer.expires = now + self.config.lifetime;
        self.total += payload.len();
        if block.more() {
            return Ok(Block1Outcome::Continue(continue_block));
        }
        let body = self.remove(&key).unwrap_or_default();
        Ok(Block1Outcome::Complete {
            body,
            block1: final_block,
        })
    }

    /// Drops the transfer under `key` (e.g. the client cancelled), returning what it held.
    pub fn remove(&mut self, key: &K) -> Option<Bytes> {
        let transfer = self.transfers.remove(key)?;
        self.total = self.total.saturating_sub(transfer.body.len());
        Some(transfer.body.freeze())
    }

    /// Drops the transfers whose last block is older than the lifetime.
    pub fn handle_timeout(&mut self, now: Instant) {
        let before = self.transfers.len();
        let mut freed = 0usize;
        self.transfers.retain(|_, t| {
            let keep = t.expires > now;
            if !keep {
                freed += t.body.len();
            }
            keep
        });
        if self.transfers.len() != before {
            self.total = self.total.saturating_sub(freed);
        }
    }

    /// When the next transfer expires.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.transfers.values().map(|t| t.expires).min()
    }
}
