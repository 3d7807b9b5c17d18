//! Typed option values: Block (RFC 7959, RFC 8323 §6, RFC 9177), Content-Format (RFC 7252
//! §12.3), Observe (RFC 7641), Max-Age, Size1/Size2, ETag, If-Match, If-None-Match, Hop-Limit
//! (RFC 8768), Echo and Request-Tag (RFC 9175), No-Response (RFC 7967) and the URI strings.
//!
//! Every value is read straight from the option bytes of an [`Options`] block and kept inline
//! (no value allocates). The getters are methods of [`Options`], the setters methods of
//! [`OptionsBuilder`]:
//!
//! ```
//! use tern_coap::option::Options;
//! use tern_coap::value::{Block, ContentFormat, Observe};
//!
//! let options = Options::builder()
//!     .push_observe(Observe::new(7).unwrap())
//!     .push_content_format(ContentFormat::SENML_CBOR)
//!     .push_block2(Block::with_size(3, true, 256).unwrap())
//!     .build()?;
//! assert_eq!(options.observe()?, Observe::new(7));
//! assert_eq!(options.content_format()?, Some(ContentFormat::SENML_CBOR));
//! let block = options.block2(false)?.unwrap();
//! assert_eq!((block.num(), block.more(), block.size(), block.offset()), (3, true, 256, 768));
//! assert_eq!(options.max_age()?, 60); // absent: the RFC 7252 default
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Absent, present, malformed
//!
//! A getter returns `Ok(None)` (or the option's default) when the option is absent, the value
//! when it is well-formed, and a [`ValueError`] when it is present but malformed. "Malformed"
//! is exactly what [`Options::unrecognized`] reports — a length outside the registry's range
//! or a string that is not UTF-8 — plus the rules that only the value's meaning shows: a
//! Hop-Limit of 0 (RFC 8768 §3) and a Block SZX of 7 (BERT) outside a reliable transport
//! (RFC 8323 §6). Of a non-repeatable option repeated, the getter reads the first occurrence;
//! the others are listed by [`Options::unrecognized`]. Getters for repeatable options return
//! an iterator, after checking every occurrence.
//!
//! What to do with the error is the caller's choice, as RFC 7252 §5.4.1 makes it depend on
//! the option: a malformed elective option is ignored (`.ok().flatten()`), a malformed
//! critical one in a request is answered with 4.02 Bad Option (and
//! [`Options::first_unrecognized_critical`] finds those before any getter runs).
//!
//! Setters take typed values whose constructors check the ranges, so building cannot fail;
//! only the string setters return a `Result`, for a string too long for its option.

use core::fmt;

use bytes::Bytes;

use crate::message::Code;
use crate::option::{OptionNumber, Options, OptionsBuilder, OptionsIter, ValueFormat, decode_uint};

/// Why an option value is malformed.
///
/// ```
/// use tern_coap::option::{OptionNumber, Options};
/// use tern_coap::value::ValueError;
///
/// // Content-Format takes at most 2 bytes (RFC 7252 §5.10).
/// let options = Options::builder().push(OptionNumber::CONTENT_FORMAT, &[0u8, 0, 50][..]).build()?;
/// assert_eq!(options.content_format(), Err(ValueError::Length { len: 3, min: 0, max: 2 }));
/// // The same occurrence counts as unrecognized.
/// assert_eq!(options.unrecognized().count(), 1);
/// # Ok::<(), tern_coap::option::OptionError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ValueError {
    /// The value's length is outside the option's range (RFC 7252 §5.4.3: treated like an
    /// unrecognized option).
    Length {
        /// The value's length.
        len: usize,
        /// The smallest length allowed.
        min: u16,
        /// The largest length allowed.
        max: u16,
    },
    /// A string option whose value is not UTF-8 (RFC 7252 §3.2).
    NotUtf8,
    /// A Hop-Limit of 0: a request carrying it is rejected with 4.00 Bad Request
    /// (RFC 8768 §3).
    OutOfRange,
    /// A Block SZX of 7 (BERT) outside a reliable transport: SZX 7 is reserved in RFC 7959
    /// §2.2 and only RFC 8323 §6 gives it a meaning, over TCP, TLS and WebSockets.
    BertOverUnreliable,
}

impl fmt::Display for ValueError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ValueError::Length { len, min, max } => write!(
                f,
                "option value of {len} bytes outside the allowed {min}..={max} (RFC 7252 §5.4.3)"
            ),
            ValueError::NotUtf8 => f.write_str("string option value is not UTF-8 (RFC 7252 §3.2)"),
            ValueError::OutOfRange => {
                f.write_str("Hop-Limit must be between 1 and 255 (RFC 8768 §3)")
            }
            ValueError::BertOverUnreliable => f.write_str(
                "Block SZX 7 (BERT) is valid only over reliable transports (RFC 8323 §6)",
            ),
        }
    }
}

#[cfg(feature = "std")]
impl std::error::Error for ValueError {}

/// Checks a value against the registry entry of its option, as
/// [`CoapOption::is_well_formed`](crate::option::CoapOption::is_well_formed) does.
fn check(number: OptionNumber, value: &[u8]) -> Result<(), ValueError> {
    let Some(info) = number.info() else {
        return Ok(());
    };
    let len = value.len();
    if len < usize::from(info.min_len) || len > usize::from(info.max_len) {
        return Err(ValueError::Length {
            len,
            min: info.min_len,
            max: info.max_len,
        });
    }
    if info.format == ValueFormat::String && core::str::from_utf8(value).is_err() {
        return Err(ValueError::NotUtf8);
    }
    Ok(())
}

/// A uint of up to 4 bytes; longer values were already refused by [`check`].
fn uint(value: &[u8]) -> Result<u32, ValueError> {
    decode_uint(value).ok_or(ValueError::Length {
        len: value.len(),
        min: 0,
        max: 4,
    })
}

fn string(value: &[u8]) -> Result<&str, ValueError> {
    core::str::from_utf8(value).map_err(|_| ValueError::NotUtf8)
}

/// Iterator over the values of a repeatable option, in order; returned by the getters after
/// every occurrence has been checked.
///
/// ```
/// use tern_coap::option::Options;
///
/// let options = Options::builder().push_uri_path("a")?.push_uri_path("b")?.build()?;
/// let path: Vec<&str> = options.uri_path()?.collect();
/// assert_eq!(path, ["a", "b"]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone)]
pub struct OptionValues<'a, T> {
    iter: OptionsIter<'a>,
    number: OptionNumber,
    decode: fn(&'a [u8]) -> Result<T, ValueError>,
}

impl<T> Iterator for OptionValues<'_, T> {
    type Item = T;
    fn next(&mut self) -> Option<T> {
        for option in self.iter.by_ref() {
            if option.number > self.number {
                // Options are in number order: none of this number follows.
                return None;
            }
            if option.number == self.number {
                if let Ok(value) = (self.decode)(option.value) {
                    return Some(value);
                }
            }
        }
        None
    }
}

/// Checks every occurrence of `number`, then iterates over the decoded values.
fn values<'a, T>(
    options: &'a Options,
    number: OptionNumber,
    decode: fn(&'a [u8]) -> Result<T, ValueError>,
) -> Result<OptionValues<'a, T>, ValueError> {
    for option in options.get_all(number) {
        check(number, option.value)?;
        decode(option.value)?;
    }
    Ok(OptionValues {
        iter: options.iter(),
        number,
        decode,
    })
}

/// The first occurrence of `number`, checked and decoded.
fn single<'a, T>(
    options: &'a Options,
    number: OptionNumber,
    decode: impl FnOnce(&'a [u8]) -> Result<T, ValueError>,
) -> Result<Option<T>, ValueError> {
    match options.get(number) {
        None => Ok(None),
        Some(option) => {
            check(number, option.value)?;
            decode(option.value).map(Some)
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Block

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

fn block_reliable(value: &[u8]) -> Result<Block, ValueError> {
    Block::decode(value, true)
}

fn block_unreliable(value: &[u8]) -> Result<Block, ValueError> {
    Block::decode(value, false)
}

// ---------------------------------------------------------------------------------------------
// Content-Format

/// A Content-Format identifier (RFC 7252 §5.10.3, §12.3): a media type with its parameters
/// and a content coding, as registered in the IANA "CoAP Content-Formats" registry. Used by
/// the Content-Format and Accept options. Any `u16` is a valid identifier; the constants name
/// the registered ones.
///
/// The constants were checked against the registry as published by IANA (the
/// `content-formats.csv` snapshot kept by aiocoap) and, for 64 and 65, RFC 9528 §10.9.
/// Temporary and draft-backed registrations are left out.
///
/// ```
/// use tern_coap::value::ContentFormat;
///
/// assert_eq!(ContentFormat::LINK_FORMAT.0, 40);
/// assert_eq!(ContentFormat::SENML_JSON.media_type(), Some("application/senml+json"));
/// assert_eq!(ContentFormat::from_media_type("text/plain;charset=utf-8"), Some(ContentFormat::TEXT_PLAIN));
/// assert_eq!(ContentFormat(65001).media_type(), None);
/// assert_eq!(ContentFormat::JSON.to_string(), "application/json");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ContentFormat(pub u16);

macro_rules! content_formats {
    ($( $const:ident = $id:literal, $mt:literal, $coding:literal, $rfc:literal; )*) => {
        impl ContentFormat {
            $(
                #[doc = concat!("`", $mt, "`", content_formats!(@coding $coding), " (", stringify!($id), ", ", $rfc, ").")]
                pub const $const: ContentFormat = ContentFormat($id);
            )*

            /// Every registered Content-Format tern knows, in number order.
            ///
            /// ```
            /// use tern_coap::value::ContentFormat;
            /// assert!(ContentFormat::KNOWN.contains(&ContentFormat::CBOR));
            /// ```
            pub const KNOWN: &'static [ContentFormat] = &[$(ContentFormat($id)),*];

            /// The media type with its parameters, as the registry writes it, or `None` for an
            /// identifier tern does not know.
            ///
            /// ```
            /// use tern_coap::value::ContentFormat;
            /// assert_eq!(ContentFormat::TEXT_PLAIN.media_type(), Some("text/plain; charset=utf-8"));
            /// assert_eq!(ContentFormat::COSE_SIGN1.media_type(), Some("application/cose; cose-type=\"cose-sign1\""));
            /// ```
            pub const fn media_type(self) -> Option<&'static str> {
                match self.0 {
                    $( $id => Some($mt), )*
                    _ => None,
                }
            }

            /// The content coding: `"identity"`, or e.g. `"deflate"` for 11050 and 11060;
            /// `None` for an identifier tern does not know.
            ///
            /// ```
            /// use tern_coap::value::ContentFormat;
            /// assert_eq!(ContentFormat::JSON.content_coding(), Some("identity"));
            /// assert_eq!(ContentFormat::JSON_DEFLATE.content_coding(), Some("deflate"));
            /// ```
            pub const fn content_coding(self) -> Option<&'static str> {
                match self.0 {
                    $( $id => Some($coding), )*
                    _ => None,
                }
            }
        }
    };
    (@coding "identity") => { "" };
    (@coding $coding:literal) => { concat!(" with content coding ", $coding) };
}

content_formats! {
    TEXT_PLAIN = 0, "text/plain; charset=utf-8", "identity", "RFC 2046, RFC 3676, RFC 5147";
    COSE_ENCRYPT0 = 16, "application/cose; cose-type=\"cose-encrypt0\"", "identity", "RFC 9052";
    COSE_MAC0 = 17, "application/cose; cose-type=\"cose-mac0\"", "identity", "RFC 9052";
    COSE_SIGN1 = 18, "application/cose; cose-type=\"cose-sign1\"", "identity", "RFC 9052";
    ACE_CBOR = 19, "application/ace+cbor", "identity", "RFC 9200";
    IMAGE_GIF = 21, "image/gif", "identity", "GIF89a";
    IMAGE_JPEG = 22, "image/jpeg", "identity", "ISO/IEC 10918-5";
    IMAGE_PNG = 23, "image/png", "identity", "RFC 2083";
    LINK_FORMAT = 40, "application/link-format", "identity", "RFC 6690";
    XML = 41, "application/xml", "identity", "RFC 3023";
    OCTET_STREAM = 42, "application/octet-stream", "identity", "RFC 2045, RFC 2046";
    EXI = 47, "application/exi", "identity", "W3C EXI 1.0";
    JSON = 50, "application/json", "identity", "RFC 8259";
    JSON_PATCH_JSON = 51, "application/json-patch+json", "identity", "RFC 6902";
    MERGE_PATCH_JSON = 52, "application/merge-patch+json", "identity", "RFC 7396";
    CBOR = 60, "application/cbor", "identity", "RFC 8949";
    CWT = 61, "application/cwt", "identity", "RFC 8392";
    MULTIPART_CORE = 62, "application/multipart-core", "identity", "RFC 8710";
    CBOR_SEQ = 63, "application/cbor-seq", "identity", "RFC 8742";
    EDHOC_CBOR_SEQ = 64, "application/edhoc+cbor-seq", "identity", "RFC 9528";
    CID_EDHOC_CBOR_SEQ = 65, "application/cid-edhoc+cbor-seq", "identity", "RFC 9528";
    COSE_ENCRYPT = 96, "application/cose; cose-type=\"cose-encrypt\"", "identity", "RFC 9052";
    COSE_MAC = 97, "application/cose; cose-type=\"cose-mac\"", "identity", "RFC 9052";
    COSE_SIGN = 98, "application/cose; cose-type=\"cose-sign\"", "identity", "RFC 9052";
    COSE_KEY = 101, "application/cose-key", "identity", "RFC 9052";
    COSE_KEY_SET = 102, "application/cose-key-set", "identity", "RFC 9052";
    SENML_JSON = 110, "application/senml+json", "identity", "RFC 8428";
    SENSML_JSON = 111, "application/sensml+json", "identity", "RFC 8428";
    SENML_CBOR = 112, "application/senml+cbor", "identity", "RFC 8428";
    SENSML_CBOR = 113, "application/sensml+cbor", "identity", "RFC 8428";
    SENML_EXI = 114, "application/senml-exi", "identity", "RFC 8428";
    SENSML_EXI = 115, "application/sensml-exi", "identity", "RFC 8428";
    YANG_DATA_CBOR_SID = 140, "application/yang-data+cbor; id=sid", "identity", "RFC 9254";
    COAP_GROUP_JSON = 256, "application/coap-group+json", "identity", "RFC 7390";
    CONCISE_PROBLEM_DETAILS_CBOR = 257, "application/concise-problem-details+cbor", "identity", "RFC 9290";
    SWID_CBOR = 258, "application/swid+cbor", "identity", "RFC 9393";
    DOTS_CBOR = 271, "application/dots+cbor", "identity", "RFC 9132";
    MISSING_BLOCKS_CBOR_SEQ = 272, "application/missing-blocks+cbor-seq", "identity", "RFC 9177";
    PKCS7_SERVER_GENERATED_KEY = 280, "application/pkcs7-mime; smime-type=server-generated-key", "identity", "RFC 7030, RFC 8551, RFC 9148";
    PKCS7_CERTS_ONLY = 281, "application/pkcs7-mime; smime-type=certs-only", "identity", "RFC 8551, RFC 9148";
    PKCS8 = 284, "application/pkcs8", "identity", "RFC 5958, RFC 8551, RFC 9148";
    CSRATTRS = 285, "application/csrattrs", "identity", "RFC 7030, RFC 9148";
    PKCS10 = 286, "application/pkcs10", "identity", "RFC 5967, RFC 8551, RFC 9148";
    PKIX_CERT = 287, "application/pkix-cert", "identity", "RFC 2585, RFC 9148";
    AIF_CBOR = 290, "application/aif+cbor", "identity", "RFC 9237";
    AIF_JSON = 291, "application/aif+json", "identity", "RFC 9237";
    SENML_XML = 310, "application/senml+xml", "identity", "RFC 8428";
    SENSML_XML = 311, "application/sensml+xml", "identity", "RFC 8428";
    SENML_ETCH_JSON = 320, "application/senml-etch+json", "identity", "RFC 8790";
    SENML_ETCH_CBOR = 322, "application/senml-etch+cbor", "identity", "RFC 8790";
    YANG_DATA_CBOR = 340, "application/yang-data+cbor", "identity", "RFC 9254";
    YANG_DATA_CBOR_NAME = 341, "application/yang-data+cbor; id=name", "identity", "RFC 9254";
    TD_JSON = 432, "application/td+json", "identity", "W3C WoT Thing Description";
    VND_OCF_CBOR = 10000, "application/vnd.ocf+cbor", "identity", "OCF";
    OSCORE = 10001, "application/oscore", "identity", "RFC 8613";
    JAVASCRIPT = 10002, "application/javascript", "identity", "RFC 4329";
    JSON_DEFLATE = 11050, "application/json", "deflate", "RFC 8259";
    CBOR_DEFLATE = 11060, "application/cbor", "deflate", "RFC 8949";
    LWM2M_TLV = 11542, "application/vnd.oma.lwm2m+tlv", "identity", "OMA LwM2M 1.0";
    LWM2M_JSON = 11543, "application/vnd.oma.lwm2m+json", "identity", "OMA LwM2M 1.0";
    LWM2M_CBOR = 11544, "application/vnd.oma.lwm2m+cbor", "identity", "OMA LwM2M 1.2";
    TEXT_CSS = 20000, "text/css", "identity", "RFC 2318";
    IMAGE_SVG_XML = 30000, "image/svg+xml", "identity", "W3C SVG";
}

impl ContentFormat {
    /// The registered identifier for a media type with the identity coding; `None` if tern
    /// knows none. Matching ignores ASCII case, white space and the quotes around parameter
    /// values, so `text/plain;charset=utf-8` finds 0 and `application/cose;
    /// cose-type=cose-mac0` finds 17.
    ///
    /// ```
    /// use tern_coap::value::ContentFormat;
    /// assert_eq!(ContentFormat::from_media_type("application/cbor"), Some(ContentFormat::CBOR));
    /// assert_eq!(ContentFormat::from_media_type("Application/COSE; cose-type=cose-mac0"), Some(ContentFormat::COSE_MAC0));
    /// assert_eq!(ContentFormat::from_media_type("text/plain"), None); // the charset is part of it
    /// ```
    pub fn from_media_type(media_type: &str) -> Option<ContentFormat> {
        ContentFormat::from_media_type_and_coding(media_type, "identity")
    }

    /// The registered identifier for a media type with a content coding (e.g. `"deflate"`).
    ///
    /// ```
    /// use tern_coap::value::ContentFormat;
    /// assert_eq!(
    ///     ContentFormat::from_media_type_and_coding("application/json", "deflate"),
    ///     Some(ContentFormat::JSON_DEFLATE)
    /// );
    /// ```
    pub fn from_media_type_and_coding(media_type: &str, coding: &str) -> Option<ContentFormat> {
        ContentFormat::KNOWN.iter().copied().find(|cf| {
            cf.media_type().is_some_and(|m| media_eq(m, media_type))
                && cf
                    .content_coding()
                    .is_some_and(|c| c.eq_ignore_ascii_case(coding))
        })
    }

    /// Whether the identifier is in the range reserved for experimental use, 65000–65535
    /// (RFC 7252 §12.3).
    ///
    /// ```
    /// use tern_coap::value::ContentFormat;
    /// assert!(ContentFormat(65000).is_experimental());
    /// assert!(!ContentFormat::JSON.is_experimental());
    /// ```
    pub const fn is_experimental(self) -> bool {
        self.0 >= 65000
    }
}

/// Media types compared without case, white space or quotes.
fn media_eq(a: &str, b: &str) -> bool {
    let significant = |c: &u8| !c.is_ascii_whitespace() && *c != b'"';
    let mut a = a.bytes().filter(significant);
    let mut b = b.bytes().filter(significant);
    loop {
        match (a.next(), b.next()) {
            (None, None) => return true,
            (Some(x), Some(y)) if x.eq_ignore_ascii_case(&y) => {}
            _ => return false,
        }
    }
}

impl fmt::Display for ContentFormat {
    /// The media type (and the coding if not identity), or the number if unknown.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.media_type(), self.content_coding()) {
            (Some(m), Some("identity")) => f.write_str(m),
            (Some(m), Some(c)) => write!(f, "{m} ({c})"),
            _ => write!(f, "{}", self.0),
        }
    }
}

impl From<u16> for ContentFormat {
    fn from(v: u16) -> Self {
        ContentFormat(v)
    }
}

// ---------------------------------------------------------------------------------------------
// Observe

/// An Observe value (RFC 7641 §2): 0 (register) or 1 (deregister) in a request, a 24-bit
/// sequence number in a notification.
///
/// ```
/// use tern_coap::value::Observe;
///
/// assert_eq!(Observe::REGISTER.get(), 0);
/// assert!(Observe::new(1 << 24).is_none());
/// assert_eq!(Observe::wrapping(1 << 24), Observe::new(0).unwrap());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Observe(u32);

impl Observe {
    /// 0 in a GET: add the client to the list of observers (RFC 7641 §2).
    ///
    /// ```
    /// # use tern_coap::value::Observe;
    /// assert_eq!(Observe::REGISTER, Observe::new(0).unwrap());
    /// ```
    pub const REGISTER: Observe = Observe(0);
    /// 1 in a GET: remove the client from the list of observers (RFC 7641 §2).
    ///
    /// ```
    /// # use tern_coap::value::Observe;
    /// assert_eq!(Observe::DEREGISTER.get(), 1);
    /// ```
    pub const DEREGISTER: Observe = Observe(1);
    /// The largest value, 2^24 − 1.
    ///
    /// ```
    /// # use tern_coap::value::Observe;
    /// assert_eq!(Observe::MAX.get(), 0xff_ffff);
    /// ```
    pub const MAX: Observe = Observe(0xff_ffff);

    /// A value of at most 24 bits; `None` above.
    ///
    /// ```
    /// # use tern_coap::value::Observe;
    /// assert_eq!(Observe::new(42).map(Observe::get), Some(42));
    /// ```
    pub const fn new(value: u32) -> Option<Observe> {
        if value > Observe::MAX.0 {
            None
        } else {
            Some(Observe(value))
        }
    }

    /// The low 24 bits of a counter, for notifications' sequence numbers, which wrap
    /// (RFC 7641 §4.4).
    ///
    /// ```
    /// # use tern_coap::value::Observe;
    /// assert_eq!(Observe::wrapping(0x0100_0005).get(), 5);
    /// ```
    pub const fn wrapping(counter: u32) -> Observe {
        Observe(counter & Observe::MAX.0)
    }

    /// The value.
    ///
    /// ```
    /// # use tern_coap::value::Observe;
    /// assert_eq!(Observe::new(7).unwrap().get(), 7);
    /// ```
    pub const fn get(self) -> u32 {
        self.0
    }

    /// Whether a notification with this sequence number is newer than one with `earlier`, by
    /// the serial-number rule of RFC 7641 §3.4. The rule's third case, a notification that
    /// arrives more than 128 seconds after the last one, needs a clock: the caller checks it.
    ///
    /// ```
    /// # use tern_coap::value::Observe;
    /// let (v1, v2) = (Observe::new(5).unwrap(), Observe::new(6).unwrap());
    /// assert!(v2.is_newer_than(v1));
    /// assert!(!v1.is_newer_than(v2));
    /// assert!(Observe::new(1).unwrap().is_newer_than(Observe::MAX)); // wrapped
    /// ```
    pub const fn is_newer_than(self, earlier: Observe) -> bool {
        let (v1, v2) = (earlier.0, self.0);
        (v1 < v2 && v2 - v1 < 1 << 23) || (v1 > v2 && v1 - v2 > 1 << 23)
    }
}

// ---------------------------------------------------------------------------------------------
// Hop-Limit

/// A Hop-Limit value, 1–255 (RFC 8768 §3).
///
/// ```
/// use tern_coap::value::HopLimit;
///
/// let h = HopLimit::DEFAULT;
/// assert_eq!(h.get(), 16);
/// assert_eq!(HopLimit::new(1).unwrap().decrement(), None); // 5.08 Hop Limit Reached
/// assert!(HopLimit::new(0).is_none());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct HopLimit(u8);

impl HopLimit {
    /// 16: the value a proxy inserts when a request has none and no other initial value is
    /// configured (RFC 8768 §3).
    ///
    /// ```
    /// # use tern_coap::value::HopLimit;
    /// assert_eq!(HopLimit::DEFAULT, HopLimit::new(16).unwrap());
    /// ```
    pub const DEFAULT: HopLimit = HopLimit(16);

    /// A hop limit; `None` for 0.
    ///
    /// ```
    /// # use tern_coap::value::HopLimit;
    /// assert_eq!(HopLimit::new(255).map(HopLimit::get), Some(255));
    /// ```
    pub const fn new(value: u8) -> Option<HopLimit> {
        if value == 0 {
            None
        } else {
            Some(HopLimit(value))
        }
    }

    /// The value.
    ///
    /// ```
    /// # use tern_coap::value::HopLimit;
    /// assert_eq!(HopLimit::DEFAULT.get(), 16);
    /// ```
    pub const fn get(self) -> u8 {
        self.0
    }

    /// What a proxy forwards: the value less one, or `None` when that is 0 and the proxy
    /// answers 5.08 Hop Limit Reached instead (RFC 8768 §3).
    ///
    /// ```
    /// # use tern_coap::value::HopLimit;
    /// assert_eq!(HopLimit::new(2).unwrap().decrement(), HopLimit::new(1));
    /// ```
    pub const fn decrement(self) -> Option<HopLimit> {
        HopLimit::new(self.0 - 1)
    }
}

impl Default for HopLimit {
    fn default() -> Self {
        HopLimit::DEFAULT
    }
}

// ---------------------------------------------------------------------------------------------
// No-Response

/// A No-Response value (RFC 7967 §2.1): the response classes the client is not interested
/// in. On the wire a bitmap: 2 for 2.xx, 8 for 4.xx, 16 for 5.xx; 0 (the default) for
/// interest in all responses. Other bits have no meaning and are ignored when decoding.
///
/// ```
/// use tern_coap::message::Code;
/// use tern_coap::value::NoResponse;
///
/// let nr = NoResponse::from_bits(26);
/// assert_eq!(nr, NoResponse::ALL);
/// assert!(NoResponse::from_bits(2).suppresses(Code::CHANGED));
/// assert!(!NoResponse::from_bits(2).suppresses(Code::NOT_FOUND));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct NoResponse {
    /// Not interested in 2.xx responses (bit value 2).
    pub suppress_2xx: bool,
    /// Not interested in 4.xx responses (bit value 8).
    pub suppress_4xx: bool,
    /// Not interested in 5.xx responses (bit value 16).
    pub suppress_5xx: bool,
}

impl NoResponse {
    /// Interested in every response (value 0, the default).
    ///
    /// ```
    /// # use tern_coap::value::NoResponse;
    /// assert_eq!(NoResponse::NONE.bits(), 0);
    /// ```
    pub const NONE: NoResponse = NoResponse {
        suppress_2xx: false,
        suppress_4xx: false,
        suppress_5xx: false,
    };

    /// Interested in no response (value 26).
    ///
    /// ```
    /// # use tern_coap::value::NoResponse;
    /// assert_eq!(NoResponse::ALL.bits(), 26);
    /// ```
    pub const ALL: NoResponse = NoResponse {
        suppress_2xx: true,
        suppress_4xx: true,
        suppress_5xx: true,
    };

    const BIT_2XX: u8 = 2;
    const BIT_4XX: u8 = 8;
    const BIT_5XX: u8 = 16;

    /// From the option's bitmap; bits other than 2, 8 and 16 are ignored.
    ///
    /// ```
    /// # use tern_coap::value::NoResponse;
    /// assert!(NoResponse::from_bits(16).suppress_5xx);
    /// assert_eq!(NoResponse::from_bits(0xff), NoResponse::ALL);
    /// ```
    pub const fn from_bits(bits: u8) -> NoResponse {
        NoResponse {
            suppress_2xx: bits & NoResponse::BIT_2XX != 0,
            suppress_4xx: bits & NoResponse::BIT_4XX != 0,
            suppress_5xx: bits & NoResponse::BIT_5XX != 0,
        }
    }

    /// The option's bitmap.
    ///
    /// ```
    /// # use tern_coap::value::NoResponse;
    /// let nr = NoResponse { suppress_4xx: true, ..NoResponse::NONE };
    /// assert_eq!(nr.bits(), 8);
    /// ```
    pub const fn bits(self) -> u8 {
        (if self.suppress_2xx {
            NoResponse::BIT_2XX
        } else {
            0
        }) | (if self.suppress_4xx {
            NoResponse::BIT_4XX
        } else {
            0
        }) | (if self.suppress_5xx {
            NoResponse::BIT_5XX
        } else {
            0
        })
    }

    /// Whether a response with this code may be left unsent. Codes outside classes 2, 4 and
    /// 5 are never suppressed.
    ///
    /// ```
    /// use tern_coap::message::Code;
    /// # use tern_coap::value::NoResponse;
    /// assert!(NoResponse::ALL.suppresses(Code::INTERNAL_SERVER_ERROR));
    /// assert!(!NoResponse::ALL.suppresses(Code::PONG));
    /// ```
    pub const fn suppresses(self, code: Code) -> bool {
        match code.class() {
            2 => self.suppress_2xx,
            4 => self.suppress_4xx,
            5 => self.suppress_5xx,
            _ => false,
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Opaque values kept inline

macro_rules! inline_bytes {
    ($(#[$doc:meta])* $name:ident, $min:literal, $max:literal) => {
        $(#[$doc])*
        #[derive(Clone, Copy, PartialEq, Eq, Hash)]
        pub struct $name {
            bytes: [u8; $max],
            len: u8,
        }

        impl $name {
            #[doc = concat!("The shortest value, ", stringify!($min), " bytes.")]
            ///
            /// ```
            #[doc = concat!("# use tern_coap::value::", stringify!($name), ";")]
            #[doc = concat!("assert!(", stringify!($name), "::new(&[0; ", stringify!($name), "::MIN_LEN]).is_some());")]
            /// ```
            pub const MIN_LEN: usize = $min;

            #[doc = concat!("The longest value, ", stringify!($max), " bytes.")]
            ///
            /// ```
            #[doc = concat!("# use tern_coap::value::", stringify!($name), ";")]
            #[doc = concat!("assert!(", stringify!($name), "::new(&[0; ", stringify!($name), "::MAX_LEN + 1]).is_none());")]
            /// ```
            pub const MAX_LEN: usize = $max;

            #[doc = concat!("A value of ", stringify!($min), " to ", stringify!($max), " bytes; `None` for any other length.")]
            ///
            /// ```
            #[doc = concat!("# use tern_coap::value::", stringify!($name), ";")]
            #[doc = concat!("let v = ", stringify!($name), "::new(&[1, 2]).unwrap();")]
            /// assert_eq!(v.as_bytes(), [1, 2]);
            /// ```
            pub fn new(bytes: &[u8]) -> Option<$name> {
                if !($min..=$max).contains(&bytes.len()) {
                    return None;
                }
                let mut out = [0u8; $max];
                out.iter_mut().zip(bytes).for_each(|(o, b)| *o = *b);
                Some($name { bytes: out, len: bytes.len() as u8 })
            }

            /// The bytes.
            ///
            /// ```
            #[doc = concat!("# use tern_coap::value::", stringify!($name), ";")]
            #[doc = concat!("assert_eq!(", stringify!($name), "::new(&[7]).unwrap().as_bytes(), [7]);")]
            /// ```
            pub fn as_bytes(&self) -> &[u8] {
                self.bytes.get(..usize::from(self.len)).unwrap_or_default()
            }

            fn decode(value: &[u8]) -> Result<$name, ValueError> {
                $name::new(value).ok_or(ValueError::Length {
                    len: value.len(),
                    min: $min,
                    max: $max,
                })
            }
        }

        impl AsRef<[u8]> for $name {
            fn as_ref(&self) -> &[u8] {
                self.as_bytes()
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(concat!(stringify!($name), "("))?;
                for b in self.as_bytes() {
                    write!(f, "{b:02x}")?;
                }
                f.write_str(")")
            }
        }
    };
}

inline_bytes! {
    /// An entity-tag, 1–8 bytes (RFC 7252 §5.10.6), kept inline.
    ///
    /// ```
    /// use tern_coap::option::Options;
    /// use tern_coap::value::ETag;
    ///
    /// let options = Options::builder().push_etag(ETag::new(b"v1").unwrap()).build()?;
    /// let tags: Vec<ETag> = options.etags()?.collect();
    /// assert_eq!(tags, [ETag::new(b"v1").unwrap()]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ETag, 1, 8
}

inline_bytes! {
    /// An Echo value, 1–40 bytes (RFC 9175 §2.2.1), kept inline.
    ///
    /// ```
    /// use tern_coap::option::Options;
    /// use tern_coap::value::Echo;
    ///
    /// let echo = Echo::new(&[0x5a; 8]).unwrap();
    /// let options = Options::builder().push_echo(echo).build()?;
    /// assert_eq!(options.echo()?, Some(echo));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    Echo, 1, 40
}

inline_bytes! {
    /// A Request-Tag value, 0–8 bytes (RFC 9175 §3.2.1), kept inline.
    ///
    /// ```
    /// use tern_coap::option::Options;
    /// use tern_coap::value::RequestTag;
    ///
    /// let options = Options::builder().push_request_tag(RequestTag::new(&[]).unwrap()).build()?;
    /// assert_eq!(options.request_tags()?.count(), 1);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    RequestTag, 0, 8
}

/// An If-Match value (RFC 7252 §5.10.8.1): an entity-tag, or empty for "any current
/// representation exists".
///
/// ```
/// use tern_coap::option::Options;
/// use tern_coap::value::{ETag, IfMatch};
///
/// let options = Options::builder()
///     .push_if_match(IfMatch::Exists)
///     .push_if_match(IfMatch::ETag(ETag::new(&[1]).unwrap()))
///     .build()?;
/// let all: Vec<IfMatch> = options.if_match()?.collect();
/// assert_eq!(all, [IfMatch::Exists, IfMatch::ETag(ETag::new(&[1]).unwrap())]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum IfMatch {
    /// The empty value: the target resource has some current representation.
    Exists,
    /// The target's current representation has this entity-tag.
    ETag(ETag),
}

impl IfMatch {
    /// The option value.
    ///
    /// ```
    /// # use tern_coap::value::IfMatch;
    /// assert!(IfMatch::Exists.as_bytes().is_empty());
    /// ```
    pub fn as_bytes(&self) -> &[u8] {
        match self {
            IfMatch::Exists => &[],
            IfMatch::ETag(tag) => tag.as_bytes(),
        }
    }

    fn decode(value: &[u8]) -> Result<IfMatch, ValueError> {
        if value.is_empty() {
            Ok(IfMatch::Exists)
        } else {
            ETag::decode(value).map(IfMatch::ETag)
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Getters

/// Max-Age when the option is absent: 60 seconds (RFC 7252 §5.10.5).
///
/// ```
/// use tern_coap::option::Options;
/// assert_eq!(Options::new().max_age()?, tern_coap::value::DEFAULT_MAX_AGE);
/// # Ok::<(), tern_coap::value::ValueError>(())
/// ```
pub const DEFAULT_MAX_AGE: u32 = 60;

/// Typed getters. See the [module documentation](self) for what `Ok(None)` and `Err` mean.
impl Options {
    /// Block1 (RFC 7959 §2.1): `reliable` is whether the message came over TCP, TLS or
    /// WebSockets (RFC 8323), where SZX 7 (BERT) is allowed.
    ///
    /// ```
    /// use tern_coap::option::{OptionNumber, Options};
    /// use tern_coap::value::ValueError;
    ///
    /// let bert = Options::builder().push_uint(OptionNumber::BLOCK1, 0x0f).build()?;
    /// assert_eq!(bert.block1(false), Err(ValueError::BertOverUnreliable));
    /// assert!(bert.block1(true)?.unwrap().is_bert());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn block1(&self, reliable: bool) -> Result<Option<Block>, ValueError> {
        single(self, OptionNumber::BLOCK1, |v| Block::decode(v, reliable))
    }

    /// Block2 (RFC 7959 §2.1); `reliable` as for [`Options::block1`].
    ///
    /// ```
    /// use tern_coap::option::Options;
    /// use tern_coap::value::Block;
    ///
    /// let block = Block::new(5, false, 4).unwrap();
    /// let options = Options::builder().push_block2(block).build()?;
    /// assert_eq!(options.block2(false)?, Some(block));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn block2(&self, reliable: bool) -> Result<Option<Block>, ValueError> {
        single(self, OptionNumber::BLOCK2, |v| Block::decode(v, reliable))
    }

    /// Q-Block1 (RFC 9177 §4); `reliable` as for [`Options::block1`].
    ///
    /// ```
    /// use tern_coap::option::Options;
    /// use tern_coap::value::Block;
    ///
    /// let block = Block::new(0, true, 6).unwrap();
    /// let options = Options::builder().push_q_block1(block).build()?;
    /// assert_eq!(options.q_block1(false)?, Some(block));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn q_block1(&self, reliable: bool) -> Result<Option<Block>, ValueError> {
        single(self, OptionNumber::Q_BLOCK1, |v| Block::decode(v, reliable))
    }

    /// The first Q-Block2 (RFC 9177 §4); `reliable` as for [`Options::block1`]. A request for
    /// missing blocks may carry several: see [`Options::q_block2_all`].
    ///
    /// ```
    /// use tern_coap::option::Options;
    /// use tern_coap::value::Block;
    ///
    /// let block = Block::new(1, false, 6).unwrap();
    /// let options = Options::builder().push_q_block2(block).build()?;
    /// assert_eq!(options.q_block2(false)?, Some(block));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn q_block2(&self, reliable: bool) -> Result<Option<Block>, ValueError> {
        single(self, OptionNumber::Q_BLOCK2, |v| Block::decode(v, reliable))
    }

    /// Every Q-Block2, in order: a client asks for several missing blocks in one request
    /// (RFC 9177 §4.4).
    ///
    /// ```
    /// use tern_coap::option::Options;
    /// use tern_coap::value::Block;
    ///
    /// let (a, b) = (Block::new(2, false, 6).unwrap(), Block::new(5, false, 6).unwrap());
    /// let options = Options::builder().push_q_block2(a).push_q_block2(b).build()?;
    /// assert_eq!(options.q_block2_all(false)?.collect::<Vec<_>>(), [a, b]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn q_block2_all(&self, reliable: bool) -> Result<OptionValues<'_, Block>, ValueError> {
        let decode = if reliable {
            block_reliable
        } else {
            block_unreliable
        };
        values(self, OptionNumber::Q_BLOCK2, decode)
    }

    /// Content-Format (RFC 7252 §5.10.3).
    ///
    /// ```
    /// use tern_coap::option::{OptionNumber, Options};
    /// use tern_coap::value::ContentFormat;
    ///
    /// let options = Options::builder().push_uint(OptionNumber::CONTENT_FORMAT, 60).build()?;
    /// assert_eq!(options.content_format()?, Some(ContentFormat::CBOR));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn content_format(&self) -> Result<Option<ContentFormat>, ValueError> {
        single(self, OptionNumber::CONTENT_FORMAT, |v| {
            uint(v).map(|n| ContentFormat(n as u16))
        })
    }

    /// Accept (RFC 7252 §5.10.4).
    ///
    /// ```
    /// use tern_coap::option::Options;
    /// use tern_coap::value::ContentFormat;
    ///
    /// let options = Options::builder().push_accept(ContentFormat::JSON).build()?;
    /// assert_eq!(options.accept()?, Some(ContentFormat::JSON));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn accept(&self) -> Result<Option<ContentFormat>, ValueError> {
        single(self, OptionNumber::ACCEPT, |v| {
            uint(v).map(|n| ContentFormat(n as u16))
        })
    }

    /// Observe (RFC 7641 §2): a 24-bit value.
    ///
    /// ```
    /// use tern_coap::option::Options;
    /// use tern_coap::value::Observe;
    ///
    /// let options = Options::builder().push_observe(Observe::REGISTER).build()?;
    /// assert_eq!(options.observe()?, Some(Observe::REGISTER));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn observe(&self) -> Result<Option<Observe>, ValueError> {
        single(self, OptionNumber::OBSERVE, |v| {
            // At most 3 bytes after `check`, so at most 24 bits.
            uint(v).map(Observe::wrapping)
        })
    }

    /// Max-Age in seconds, [`DEFAULT_MAX_AGE`] (60) when absent (RFC 7252 §5.10.5).
    ///
    /// ```
    /// use tern_coap::option::Options;
    ///
    /// assert_eq!(Options::new().max_age()?, 60);
    /// let options = Options::builder().push_max_age(0).build()?;
    /// assert_eq!(options.max_age()?, 0);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn max_age(&self) -> Result<u32, ValueError> {
        single(self, OptionNumber::MAX_AGE, uint).map(|v| v.unwrap_or(DEFAULT_MAX_AGE))
    }

    /// Size1 (RFC 7959 §4, RFC 7252 §5.10.9): the size of the request body, or in a 4.13
    /// response the largest the server accepts.
    ///
    /// ```
    /// use tern_coap::option::Options;
    ///
    /// let options = Options::builder().push_size1(2048).build()?;
    /// assert_eq!(options.size1()?, Some(2048));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn size1(&self) -> Result<Option<u32>, ValueError> {
        single(self, OptionNumber::SIZE1, uint)
    }

    /// Size2 (RFC 7959 §4): the size of the response body; 0 in a request asks for it.
    ///
    /// ```
    /// use tern_coap::option::Options;
    ///
    /// let options = Options::builder().push_size2(0).build()?;
    /// assert_eq!(options.size2()?, Some(0));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn size2(&self) -> Result<Option<u32>, ValueError> {
        single(self, OptionNumber::SIZE2, uint)
    }

    /// Every ETag, in order (RFC 7252 §5.10.6: one in a response, any number in a request).
    ///
    /// ```
    /// use tern_coap::option::Options;
    /// use tern_coap::value::ETag;
    ///
    /// let options = Options::builder()
    ///     .push_etag(ETag::new(&[1]).unwrap())
    ///     .push_etag(ETag::new(&[2, 2]).unwrap())
    ///     .build()?;
    /// assert_eq!(options.etags()?.map(|t| t.as_bytes().len()).collect::<Vec<_>>(), [1, 2]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn etags(&self) -> Result<OptionValues<'_, ETag>, ValueError> {
        values(self, OptionNumber::ETAG, ETag::decode)
    }

    /// Every If-Match, in order (RFC 7252 §5.10.8.1).
    ///
    /// ```
    /// use tern_coap::option::Options;
    /// use tern_coap::value::IfMatch;
    ///
    /// let options = Options::builder().push_if_match(IfMatch::Exists).build()?;
    /// assert_eq!(options.if_match()?.next(), Some(IfMatch::Exists));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn if_match(&self) -> Result<OptionValues<'_, IfMatch>, ValueError> {
        values(self, OptionNumber::IF_MATCH, IfMatch::decode)
    }

    /// Whether If-None-Match is present (RFC 7252 §5.10.8.2); an error if it has a value.
    ///
    /// ```
    /// use tern_coap::option::Options;
    ///
    /// assert!(!Options::new().if_none_match()?);
    /// assert!(Options::builder().push_if_none_match().build()?.if_none_match()?);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn if_none_match(&self) -> Result<bool, ValueError> {
        single(self, OptionNumber::IF_NONE_MATCH, |_| Ok(())).map(|v| v.is_some())
    }

    /// Hop-Limit (RFC 8768 §3). A value of 0 is an error: a request carrying it is answered
    /// with 4.00 Bad Request. When absent, a proxy inserts [`HopLimit::DEFAULT`].
    ///
    /// ```
    /// use tern_coap::option::{OptionNumber, Options};
    /// use tern_coap::value::{HopLimit, ValueError};
    ///
    /// let options = Options::builder().push_hop_limit(HopLimit::DEFAULT).build()?;
    /// assert_eq!(options.hop_limit()?, Some(HopLimit::DEFAULT));
    /// let zero = Options::builder().push(OptionNumber::HOP_LIMIT, &[0u8][..]).build()?;
    /// assert_eq!(zero.hop_limit(), Err(ValueError::OutOfRange));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn hop_limit(&self) -> Result<Option<HopLimit>, ValueError> {
        single(self, OptionNumber::HOP_LIMIT, |v| {
            let n = u8::try_from(uint(v)?).map_err(|_| ValueError::OutOfRange)?;
            HopLimit::new(n).ok_or(ValueError::OutOfRange)
        })
    }

    /// Echo (RFC 9175 §2).
    ///
    /// ```
    /// use tern_coap::option::Options;
    ///
    /// assert_eq!(Options::new().echo()?, None);
    /// # Ok::<(), tern_coap::value::ValueError>(())
    /// ```
    pub fn echo(&self) -> Result<Option<Echo>, ValueError> {
        single(self, OptionNumber::ECHO, Echo::decode)
    }

    /// Every Request-Tag, in order (RFC 9175 §3).
    ///
    /// ```
    /// use tern_coap::option::Options;
    /// use tern_coap::value::RequestTag;
    ///
    /// let tag = RequestTag::new(&[9]).unwrap();
    /// let options = Options::builder().push_request_tag(tag).build()?;
    /// assert_eq!(options.request_tags()?.collect::<Vec<_>>(), [tag]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn request_tags(&self) -> Result<OptionValues<'_, RequestTag>, ValueError> {
        values(self, OptionNumber::REQUEST_TAG, RequestTag::decode)
    }

    /// No-Response (RFC 7967 §2), [`NoResponse::NONE`] when absent.
    ///
    /// ```
    /// use tern_coap::option::Options;
    /// use tern_coap::value::NoResponse;
    ///
    /// assert_eq!(Options::new().no_response()?, NoResponse::NONE);
    /// let options = Options::builder().push_no_response(NoResponse::ALL).build()?;
    /// assert_eq!(options.no_response()?, NoResponse::ALL);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn no_response(&self) -> Result<NoResponse, ValueError> {
        single(self, OptionNumber::NO_RESPONSE, |v| {
            // At most 1 byte after `check`.
            uint(v).map(|n| NoResponse::from_bits(n as u8))
        })
        .map(Option::unwrap_or_default)
    }

    /// Uri-Host (RFC 7252 §5.10.1).
    ///
    /// ```
    /// use tern_coap::option::Options;
    ///
    /// let options = Options::builder().push_uri_host("example.com")?.build()?;
    /// assert_eq!(options.uri_host()?, Some("example.com"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn uri_host(&self) -> Result<Option<&str>, ValueError> {
        single(self, OptionNumber::URI_HOST, string)
    }

    /// Uri-Port (RFC 7252 §5.10.1).
    ///
    /// ```
    /// use tern_coap::option::Options;
    ///
    /// let options = Options::builder().push_uri_port(5684).build()?;
    /// assert_eq!(options.uri_port()?, Some(5684));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn uri_port(&self) -> Result<Option<u16>, ValueError> {
        // At most 2 bytes after `check`.
        single(self, OptionNumber::URI_PORT, |v| uint(v).map(|n| n as u16))
    }

    /// The Uri-Path segments, in order (RFC 7252 §5.10.1).
    ///
    /// ```
    /// use tern_coap::option::Options;
    ///
    /// let options = Options::builder().push_uri_path("sensors")?.push_uri_path("temp")?.build()?;
    /// assert_eq!(options.uri_path()?.collect::<Vec<_>>(), ["sensors", "temp"]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn uri_path(&self) -> Result<OptionValues<'_, &str>, ValueError> {
        values(self, OptionNumber::URI_PATH, string)
    }

    /// The Uri-Query arguments, in order (RFC 7252 §5.10.1).
    ///
    /// ```
    /// use tern_coap::option::Options;
    ///
    /// let options = Options::builder().push_uri_query("rt=temp")?.build()?;
    /// assert_eq!(options.uri_query()?.collect::<Vec<_>>(), ["rt=temp"]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn uri_query(&self) -> Result<OptionValues<'_, &str>, ValueError> {
        values(self, OptionNumber::URI_QUERY, string)
    }

    /// The Location-Path segments, in order (RFC 7252 §5.10.7).
    ///
    /// ```
    /// use tern_coap::option::Options;
    ///
    /// let options = Options::builder().push_location_path("items")?.push_location_path("7")?.build()?;
    /// assert_eq!(options.location_path()?.collect::<Vec<_>>(), ["items", "7"]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn location_path(&self) -> Result<OptionValues<'_, &str>, ValueError> {
        values(self, OptionNumber::LOCATION_PATH, string)
    }

    /// The Location-Query arguments, in order (RFC 7252 §5.10.7).
    ///
    /// ```
    /// use tern_coap::option::Options;
    ///
    /// let options = Options::builder().push_location_query("v=2")?.build()?;
    /// assert_eq!(options.location_query()?.collect::<Vec<_>>(), ["v=2"]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn location_query(&self) -> Result<OptionValues<'_, &str>, ValueError> {
        values(self, OptionNumber::LOCATION_QUERY, string)
    }

    /// Proxy-Uri (RFC 7252 §5.10.2).
    ///
    /// ```
    /// use tern_coap::option::Options;
    ///
    /// let options = Options::builder().push_proxy_uri("coap://example.com/a")?.build()?;
    /// assert_eq!(options.proxy_uri()?, Some("coap://example.com/a"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn proxy_uri(&self) -> Result<Option<&str>, ValueError> {
        single(self, OptionNumber::PROXY_URI, string)
    }

    /// Proxy-Scheme (RFC 7252 §5.10.2).
    ///
    /// ```
    /// use tern_coap::option::Options;
    ///
    /// let options = Options::builder().push_proxy_scheme("coap+tcp")?.build()?;
    /// assert_eq!(options.proxy_scheme()?, Some("coap+tcp"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn proxy_scheme(&self) -> Result<Option<&str>, ValueError> {
        single(self, OptionNumber::PROXY_SCHEME, string)
    }
}

// ---------------------------------------------------------------------------------------------
// Setters

/// Typed setters. The typed values are in range by construction, so these cannot fail; only
/// the string setters check the option's length range.
impl OptionsBuilder {
    fn push_block(self, number: OptionNumber, block: Block) -> Self {
        self.push_uint(number, block.to_uint())
    }

    fn push_checked_str(self, number: OptionNumber, value: &str) -> Result<Self, ValueError> {
        check(number, value.as_bytes())?;
        Ok(self.push(number, Bytes::copy_from_slice(value.as_bytes())))
    }

    /// Adds Block1. The builder does not know the transport: a BERT block (SZX 7) belongs
    /// only in messages sent over a reliable one.
    ///
    /// ```
    /// use tern_coap::option::Options;
    /// use tern_coap::value::Block;
    ///
    /// let options = Options::builder().push_block1(Block::new(0, true, 6).unwrap()).build()?;
    /// assert_eq!(options.as_bytes()[..], [0xd1, 0x0e, 0x0e]); // option 27, value 0x0e
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn push_block1(self, block: Block) -> Self {
        self.push_block(OptionNumber::BLOCK1, block)
    }

    /// Adds Block2; see [`OptionsBuilder::push_block1`] about BERT.
    ///
    /// ```
    /// use tern_coap::option::Options;
    /// use tern_coap::value::Block;
    ///
    /// let options = Options::builder().push_block2(Block::new(0, false, 0).unwrap()).build()?;
    /// assert_eq!(options.as_bytes()[..], [0xd0, 0x0a]); // option 23, empty value
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn push_block2(self, block: Block) -> Self {
        self.push_block(OptionNumber::BLOCK2, block)
    }

    /// Adds Q-Block1 (RFC 9177).
    ///
    /// ```
    /// use tern_coap::option::Options;
    /// use tern_coap::value::Block;
    ///
    /// let options = Options::builder().push_q_block1(Block::new(1, true, 6).unwrap()).build()?;
    /// assert!(options.q_block1(false)?.is_some());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn push_q_block1(self, block: Block) -> Self {
        self.push_block(OptionNumber::Q_BLOCK1, block)
    }

    /// Adds a Q-Block2 (RFC 9177); call it once per block for a request of missing blocks.
    ///
    /// ```
    /// use tern_coap::option::Options;
    /// use tern_coap::value::Block;
    ///
    /// let options = Options::builder().push_q_block2(Block::new(1, false, 6).unwrap()).build()?;
    /// assert!(options.q_block2(false)?.is_some());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn push_q_block2(self, block: Block) -> Self {
        self.push_block(OptionNumber::Q_BLOCK2, block)
    }

    /// Adds Content-Format.
    ///
    /// ```
    /// use tern_coap::option::Options;
    /// use tern_coap::value::ContentFormat;
    ///
    /// let options = Options::builder().push_content_format(ContentFormat::TEXT_PLAIN).build()?;
    /// assert_eq!(options.as_bytes()[..], [0xc0]); // option 12, 0 as an empty value
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn push_content_format(self, format: ContentFormat) -> Self {
        self.push_uint(OptionNumber::CONTENT_FORMAT, u32::from(format.0))
    }

    /// Adds Accept.
    ///
    /// ```
    /// use tern_coap::option::Options;
    /// use tern_coap::value::ContentFormat;
    ///
    /// let options = Options::builder().push_accept(ContentFormat::CBOR).build()?;
    /// assert_eq!(options.accept()?, Some(ContentFormat::CBOR));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn push_accept(self, format: ContentFormat) -> Self {
        self.push_uint(OptionNumber::ACCEPT, u32::from(format.0))
    }

    /// Adds Observe.
    ///
    /// ```
    /// use tern_coap::option::Options;
    /// use tern_coap::value::Observe;
    ///
    /// let options = Options::builder().push_observe(Observe::MAX).build()?;
    /// assert_eq!(options.as_bytes()[..], [0x63, 0xff, 0xff, 0xff]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn push_observe(self, observe: Observe) -> Self {
        self.push_uint(OptionNumber::OBSERVE, observe.get())
    }

    /// Adds Max-Age, in seconds.
    ///
    /// ```
    /// use tern_coap::option::Options;
    ///
    /// let options = Options::builder().push_max_age(3600).build()?;
    /// assert_eq!(options.max_age()?, 3600);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn push_max_age(self, seconds: u32) -> Self {
        self.push_uint(OptionNumber::MAX_AGE, seconds)
    }

    /// Adds Size1.
    ///
    /// ```
    /// use tern_coap::option::Options;
    ///
    /// assert_eq!(Options::builder().push_size1(1).build()?.size1()?, Some(1));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn push_size1(self, size: u32) -> Self {
        self.push_uint(OptionNumber::SIZE1, size)
    }

    /// Adds Size2.
    ///
    /// ```
    /// use tern_coap::option::Options;
    ///
    /// assert_eq!(Options::builder().push_size2(1).build()?.size2()?, Some(1));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn push_size2(self, size: u32) -> Self {
        self.push_uint(OptionNumber::SIZE2, size)
    }

    /// Adds an ETag.
    ///
    /// ```
    /// use tern_coap::option::Options;
    /// use tern_coap::value::ETag;
    ///
    /// let options = Options::builder().push_etag(ETag::new(&[0xab]).unwrap()).build()?;
    /// assert_eq!(options.as_bytes()[..], [0x41, 0xab]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn push_etag(self, etag: ETag) -> Self {
        self.push(OptionNumber::ETAG, Bytes::copy_from_slice(etag.as_bytes()))
    }

    /// Adds an If-Match.
    ///
    /// ```
    /// use tern_coap::option::Options;
    /// use tern_coap::value::IfMatch;
    ///
    /// let options = Options::builder().push_if_match(IfMatch::Exists).build()?;
    /// assert_eq!(options.as_bytes()[..], [0x10]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn push_if_match(self, condition: IfMatch) -> Self {
        self.push(
            OptionNumber::IF_MATCH,
            Bytes::copy_from_slice(condition.as_bytes()),
        )
    }

    /// Adds If-None-Match.
    ///
    /// ```
    /// use tern_coap::option::Options;
    ///
    /// let options = Options::builder().push_if_none_match().build()?;
    /// assert_eq!(options.as_bytes()[..], [0x50]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn push_if_none_match(self) -> Self {
        self.push_empty(OptionNumber::IF_NONE_MATCH)
    }

    /// Adds Hop-Limit: one byte, as the value is never 0 (RFC 8768 §3).
    ///
    /// ```
    /// use tern_coap::option::Options;
    /// use tern_coap::value::HopLimit;
    ///
    /// let options = Options::builder().push_hop_limit(HopLimit::DEFAULT).build()?;
    /// assert_eq!(options.as_bytes()[..], [0xd1, 0x03, 16]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn push_hop_limit(self, limit: HopLimit) -> Self {
        self.push_uint(OptionNumber::HOP_LIMIT, u32::from(limit.get()))
    }

    /// Adds Echo.
    ///
    /// ```
    /// use tern_coap::option::Options;
    /// use tern_coap::value::Echo;
    ///
    /// let options = Options::builder().push_echo(Echo::new(b"fresh").unwrap()).build()?;
    /// assert_eq!(options.echo()?.unwrap().as_bytes(), b"fresh");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn push_echo(self, echo: Echo) -> Self {
        self.push(OptionNumber::ECHO, Bytes::copy_from_slice(echo.as_bytes()))
    }

    /// Adds a Request-Tag.
    ///
    /// ```
    /// use tern_coap::option::Options;
    /// use tern_coap::value::RequestTag;
    ///
    /// let options = Options::builder().push_request_tag(RequestTag::new(&[1]).unwrap()).build()?;
    /// assert_eq!(options.request_tags()?.count(), 1);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn push_request_tag(self, tag: RequestTag) -> Self {
        self.push(
            OptionNumber::REQUEST_TAG,
            Bytes::copy_from_slice(tag.as_bytes()),
        )
    }

    /// Adds No-Response.
    ///
    /// ```
    /// use tern_coap::option::Options;
    /// use tern_coap::value::NoResponse;
    ///
    /// let nr = NoResponse { suppress_2xx: true, ..NoResponse::NONE };
    /// let options = Options::builder().push_no_response(nr).build()?;
    /// assert_eq!(options.no_response()?, nr);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn push_no_response(self, no_response: NoResponse) -> Self {
        self.push_uint(OptionNumber::NO_RESPONSE, u32::from(no_response.bits()))
    }

    /// Adds Uri-Host; an error unless 1–255 bytes.
    ///
    /// ```
    /// use tern_coap::option::Options;
    ///
    /// assert!(Options::builder().push_uri_host("").is_err());
    /// assert!(Options::builder().push_uri_host("example.com").is_ok());
    /// ```
    pub fn push_uri_host(self, host: &str) -> Result<Self, ValueError> {
        self.push_checked_str(OptionNumber::URI_HOST, host)
    }

    /// Adds Uri-Port.
    ///
    /// ```
    /// use tern_coap::option::Options;
    ///
    /// assert_eq!(Options::builder().push_uri_port(61616).build()?.uri_port()?, Some(61616));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn push_uri_port(self, port: u16) -> Self {
        self.push_uint(OptionNumber::URI_PORT, u32::from(port))
    }

    /// Adds a Uri-Path segment; an error if longer than 255 bytes.
    ///
    /// ```
    /// use tern_coap::option::Options;
    ///
    /// assert!(Options::builder().push_uri_path(&"x".repeat(256)).is_err());
    /// ```
    pub fn push_uri_path(self, segment: &str) -> Result<Self, ValueError> {
        self.push_checked_str(OptionNumber::URI_PATH, segment)
    }

    /// Adds a Uri-Query argument; an error if longer than 255 bytes.
    ///
    /// ```
    /// use tern_coap::option::Options;
    ///
    /// assert!(Options::builder().push_uri_query("a=1").is_ok());
    /// ```
    pub fn push_uri_query(self, argument: &str) -> Result<Self, ValueError> {
        self.push_checked_str(OptionNumber::URI_QUERY, argument)
    }

    /// Adds a Location-Path segment; an error if longer than 255 bytes.
    ///
    /// ```
    /// use tern_coap::option::Options;
    ///
    /// assert!(Options::builder().push_location_path("a").is_ok());
    /// ```
    pub fn push_location_path(self, segment: &str) -> Result<Self, ValueError> {
        self.push_checked_str(OptionNumber::LOCATION_PATH, segment)
    }

    /// Adds a Location-Query argument; an error if longer than 255 bytes.
    ///
    /// ```
    /// use tern_coap::option::Options;
    ///
    /// assert!(Options::builder().push_location_query("a=1").is_ok());
    /// ```
    pub fn push_location_query(self, argument: &str) -> Result<Self, ValueError> {
        self.push_checked_str(OptionNumber::LOCATION_QUERY, argument)
    }

    /// Adds Proxy-Uri; an error unless 1–1,034 bytes.
    ///
    /// ```
    /// use tern_coap::option::Options;
    ///
    /// assert!(Options::builder().push_proxy_uri(&"x".repeat(1035)).is_err());
    /// ```
    pub fn push_proxy_uri(self, uri: &str) -> Result<Self, ValueError> {
        self.push_checked_str(OptionNumber::PROXY_URI, uri)
    }

    /// Adds Proxy-Scheme; an error unless 1–255 bytes.
    ///
    /// ```
    /// use tern_coap::option::Options;
    ///
    /// assert!(Options::builder().push_proxy_scheme("coap").is_ok());
    /// ```
    pub fn push_proxy_scheme(self, scheme: &str) -> Result<Self, ValueError> {
        self.push_checked_str(OptionNumber::PROXY_SCHEME, scheme)
    }
}
