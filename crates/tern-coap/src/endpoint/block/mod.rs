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

mod client;
mod server;

pub use client::{
    Block1Error, Block1Progress, Block1Request, Block1Sender, Block2Error, Block2Progress,
    Block2Reassembly,
};
pub use server::{
    Block1Config, Block1Outcome, Block1Receiver, Block1Reject, Block2ServeError, Block2Slice,
    RequestKey, serve_block2,
};

use crate::value::Block;

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
