//! The client's parts: [`Block2Reassembly`] collects a response body, [`Block1Sender`]
//! sends a request body.

use core::fmt;

use bytes::{Bytes, BytesMut};

use super::{MAX_PLAIN_SZX, payload_fits, size_of, szx_for_size};
use crate::message::Code;
use crate::value::{Block, ETag};

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
