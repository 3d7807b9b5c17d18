//! Block values (RFC 7959 §2.2, RFC 8323 §6 BERT, RFC 9177 Q-Block).

use core::fmt;

use super::*;

/// A Block1, Block2, Q-Block1 or Q-Block2 value (RFC 7959 §2.2, RFC 9177 §4): the block number
/// NUM, the "more blocks follow" flag M and the size exponent SZX.
///
/// The value is a uint of 0–3 bytes: `NUM << 4 | M << 3 | SZX`, so NUM has 4, 12 or 20 bits.
/// The block size is 2^(SZX+4), 16 to 1,024 bytes. SZX 7 is BERT (RFC 8323 §6): blocks of
/// 1,024 bytes, several of which may travel in one message; it is valid only over reliable
/// transports, so decoding takes a `reliable` flag.
///
/// ```
/// use tern_coap::value::Block;
///
/// let block = Block::new(2, true, 6).unwrap(); // the third block of 1,024 bytes, more follow
/// assert_eq!(block.size(), 1024);
/// assert_eq!(block.offset(), 2048);
/// let (bytes, len) = block.encode();
/// assert_eq!(&bytes[..len], [0x2e]); // written in minimal length
/// assert_eq!(Block::decode(&bytes[..len], false), Ok(block));
/// assert_eq!(block.to_string(), "2/1/1024");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Block {
    num: u32,
    more: bool,
    szx: u8,
}

impl Block {
    /// The largest block number: 2^20 − 1 (RFC 7959 §2.2).
    ///
    /// ```
    /// use tern_coap::value::Block;
    /// assert!(Block::new(Block::MAX_NUM, false, 0).is_some());
    /// assert!(Block::new(Block::MAX_NUM + 1, false, 0).is_none());
    /// ```
    pub const MAX_NUM: u32 = (1 << 20) - 1;

    /// The SZX of BERT (RFC 8323 §6).
    ///
    /// ```
    /// use tern_coap::value::Block;
    /// assert!(Block::new(0, true, Block::BERT_SZX).unwrap().is_bert());
    /// ```
    pub const BERT_SZX: u8 = 7;

    /// A block; `None` if `num` exceeds [`Block::MAX_NUM`] or `szx` exceeds 7.
    ///
    /// ```
    /// use tern_coap::value::Block;
    /// assert!(Block::new(1, false, 2).is_some());
    /// assert!(Block::new(1, false, 8).is_none());
    /// ```
    pub const fn new(num: u32, more: bool, szx: u8) -> Option<Block> {
        if num > Block::MAX_NUM || szx > Block::BERT_SZX {
            None
        } else {
            Some(Block { num, more, szx })
        }
    }

    /// A block of `size` bytes (a power of two from 16 to 1,024); `None` for any other size or
    /// a `num` above [`Block::MAX_NUM`].
    ///
    /// ```
    /// use tern_coap::value::Block;
    /// assert_eq!(Block::with_size(0, true, 64).unwrap().szx(), 2);
    /// assert!(Block::with_size(0, true, 100).is_none());
    /// ```
    pub const fn with_size(num: u32, more: bool, size: u16) -> Option<Block> {
        let szx = match size {
            16 => 0,
            32 => 1,
            64 => 2,
            128 => 3,
            256 => 4,
            512 => 5,
            1024 => 6,
            _ => return None,
        };
        Block::new(num, more, szx)
    }

    /// The block number NUM.
    ///
    /// ```
    /// use tern_coap::value::Block;
    /// assert_eq!(Block::new(9, false, 0).unwrap().num(), 9);
    /// ```
    pub const fn num(self) -> u32 {
        self.num
    }

    /// The M flag: in a Block2 response or Block1 request, more blocks follow; in a Block1
    /// response, the server acted on the block only (RFC 7959 §2.2, §2.3).
    ///
    /// ```
    /// use tern_coap::value::Block;
    /// assert!(Block::new(0, true, 0).unwrap().more());
    /// ```
    pub const fn more(self) -> bool {
        self.more
    }

    /// The size exponent SZX, 0–7.
    ///
    /// ```
    /// use tern_coap::value::Block;
    /// assert_eq!(Block::new(0, false, 5).unwrap().szx(), 5);
    /// ```
    pub const fn szx(self) -> u8 {
        self.szx
    }

    /// Whether this is a BERT block (SZX 7, RFC 8323 §6).
    ///
    /// ```
    /// use tern_coap::value::Block;
    /// assert!(!Block::new(0, false, 6).unwrap().is_bert());
    /// ```
    pub const fn is_bert(self) -> bool {
        self.szx == Block::BERT_SZX
    }

    /// The block size in bytes: 2^(SZX+4) for SZX 0–6; for BERT, 1,024, the unit in which
    /// its NUM counts (a BERT message carries one or more such blocks).
    ///
    /// ```
    /// use tern_coap::value::Block;
    /// assert_eq!(Block::new(0, false, 0).unwrap().size(), 16);
    /// assert_eq!(Block::new(0, false, 7).unwrap().size(), 1024);
    /// ```
    pub const fn size(self) -> u32 {
        if self.is_bert() { 1024 } else { 16 << self.szx }
    }

    /// The byte offset of the block in the whole body: NUM × size (RFC 7959 §2.2). At most
    /// (2^20 − 1) × 1,024, so it cannot overflow.
    ///
    /// ```
    /// use tern_coap::value::Block;
    /// assert_eq!(Block::new(3, false, 4).unwrap().offset(), 768);
    /// ```
    pub const fn offset(self) -> u32 {
        self.num * self.size()
    }

    /// The option value as a uint: `NUM << 4 | M << 3 | SZX`.
    ///
    /// ```
    /// use tern_coap::value::Block;
    /// assert_eq!(Block::new(1, true, 2).unwrap().to_uint(), 0x1a);
    /// ```
    pub const fn to_uint(self) -> u32 {
        (self.num << 4) | ((self.more as u32) << 3) | self.szx as u32
    }

    /// A block from its uint value; fails for a value above 24 bits, or for SZX 7 when not
    /// `reliable`.
    ///
    /// ```
    /// use tern_coap::value::{Block, ValueError};
    /// assert_eq!(Block::from_uint(0x1a, false)?.num(), 1);
    /// assert_eq!(Block::from_uint(0x0f, false), Err(ValueError::BertOverUnreliable));
    /// assert!(Block::from_uint(0x0f, true)?.is_bert());
    /// # Ok::<(), ValueError>(())
    /// ```
    pub const fn from_uint(value: u32, reliable: bool) -> Result<Block, ValueError> {
        if value > 0xff_ffff {
            return Err(ValueError::Length {
                len: 4,
                min: 0,
                max: 3,
            });
        }
        let szx = (value & 0x07) as u8;
        if szx == Block::BERT_SZX && !reliable {
            return Err(ValueError::BertOverUnreliable);
        }
        Ok(Block {
            num: value >> 4,
            more: value & 0x08 != 0,
            szx,
        })
    }

    /// Decodes an option value of 0–3 bytes (leading zeros accepted). SZX 7 is an error
    /// unless `reliable` (RFC 8323 §6).
    ///
    /// ```
    /// use tern_coap::value::{Block, ValueError};
    /// assert_eq!(Block::decode(&[], false)?, Block::new(0, false, 0).unwrap());
    /// assert_eq!(Block::decode(&[0, 0, 0x1a], false)?, Block::new(1, true, 2).unwrap());
    /// assert!(matches!(Block::decode(&[0, 0, 0, 0], true), Err(ValueError::Length { .. })));
    /// # Ok::<(), ValueError>(())
    /// ```
    pub fn decode(value: &[u8], reliable: bool) -> Result<Block, ValueError> {
        if value.len() > 3 {
            return Err(ValueError::Length {
                len: value.len(),
                min: 0,
                max: 3,
            });
        }
        Block::from_uint(uint(value)?, reliable)
    }

    /// The option value in minimal length: the bytes and how many of them are used (0–3).
    ///
    /// ```
    /// use tern_coap::value::Block;
    /// assert_eq!(Block::new(0, false, 0).unwrap().encode().1, 0);
    /// assert_eq!(Block::new(Block::MAX_NUM, true, 7).unwrap().encode(), ([0xff, 0xff, 0xff], 3));
    /// ```
    pub const fn encode(self) -> ([u8; 3], usize) {
        let v = self.to_uint();
        let len = 4 - (v.leading_zeros() / 8) as usize;
        let [_, a, b, c] = v.to_be_bytes();
        let out = match len {
            3 => [a, b, c],
            2 => [b, c, 0],
            1 => [c, 0, 0],
            _ => [0, 0, 0],
        };
        (out, len)
    }
}

impl fmt::Display for Block {
    /// RFC 7959's notation `NUM/M/size`, with `BERT` for SZX 7.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}/", self.num, u8::from(self.more))?;
        if self.is_bert() {
            f.write_str("BERT")
        } else {
            write!(f, "{}", self.size())
        }
    }
}

pub(super) fn block_reliable(value: &[u8]) -> Result<Block, ValueError> {
    Block::decode(value, true)
}

pub(super) fn block_unreliable(value: &[u8]) -> Result<Block, ValueError> {
    Block::decode(value, false)
}
