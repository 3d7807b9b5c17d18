//! The server's parts: [`serve_block2`] slices a response body, [`Block1Receiver`]
//! collects request bodies, one transfer per [`RequestKey`].

use alloc::collections::BTreeMap;
use alloc::vec::Vec;
use core::fmt;
use core::net::SocketAddr;
use core::time::Duration;

use bytes::{Bytes, BytesMut};
use tern_time::Instant;

use super::{MAX_PLAIN_SZX, payload_fits, size_of};
use crate::message::Code;
use crate::option::{OptionNumber, Options};
use crate::value::{Block, ETag};

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
