//! CoAP over TCP, TLS and WebSockets (RFC 8323): the message framing and the signaling
//! messages 7.01–7.05.
//!
//! Over a reliable transport a CoAP message has no type and no message id: the byte stream
//! orders and retransmits for us. Instead the first byte carries a Len nibble that, with an
//! optional Extended Length, says how many bytes of options, payload marker and payload follow
//! the code and token (RFC 8323 §3.2). Over WebSockets the WebSocket message already has a
//! length, so Len is 0 and there is no Extended Length (RFC 8323 §4.2).
//!
//! [`TcpCodec::decode`] reads one message at a time from a stream buffer and consumes nothing
//! until the whole message is there; the size limit is enforced from the header, before the
//! body is buffered. Decoded options and payload are slices of the received bytes.
//!
//! ```
//! use bytes::BytesMut;
//! use tern_coap::message::{Code, Token};
//! use tern_coap::option::{OptionNumber, Options};
//! use tern_coap::tcp::{Decoded, TcpCodec, TcpMessage};
//!
//! let get = TcpMessage {
//!     code: Code::GET,
//!     token: Token::new(&[0x42]).unwrap(),
//!     options: Options::builder().push(OptionNumber::URI_PATH, "temp").build()?,
//!     payload: bytes::Bytes::new(),
//! };
//! let mut wire = BytesMut::new();
//! get.encode(&mut wire)?;
//!
//! // The bytes arrive in two pieces; the first is not enough.
//! let codec = TcpCodec::default();
//! let mut rx = BytesMut::from(&wire[..3]);
//! assert!(matches!(codec.decode(&mut rx)?, Decoded::Incomplete { needed: Some(n) } if n.get() == wire.len() - 3));
//! rx.extend_from_slice(&wire[3..]);
//! assert_eq!(codec.decode(&mut rx)?, Decoded::Message(get));
//! assert!(rx.is_empty());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use alloc::string::{String, ToString};
use alloc::vec::Vec;
use core::fmt;
use core::num::NonZeroUsize;
use core::ops::Range;

use bytes::{BufMut, Bytes, BytesMut};

use crate::message::{Code, Token};
use crate::option::{CoapOption, OptionError, OptionNumber, Options, decode_uint, scan};

/// The Max-Message-Size a peer may assume before it has our CSM, and the one we may assume of
/// it (RFC 8323 §5.3.1): 1152 bytes.
///
/// ```
/// use tern_coap::tcp::{DEFAULT_MAX_MESSAGE_SIZE, TcpCodec};
/// assert_eq!(DEFAULT_MAX_MESSAGE_SIZE, 1152);
/// assert_eq!(TcpCodec::default().max_message_size(), 1152);
/// ```
pub const DEFAULT_MAX_MESSAGE_SIZE: u32 = 1152;

/// The largest body (options, marker and payload) Len 15 with a 32-bit Extended Length can
/// describe: 65,805 + 2³² − 1.
const MAX_BODY: u64 = 65_805 + u32::MAX as u64;

/// A CoAP message over TCP, TLS or WebSockets (RFC 8323 §3.2, §4.2): no type, no message id.
///
/// ```
/// use tern_coap::message::{Code, Token};
/// use tern_coap::tcp::TcpMessage;
///
/// let ping = TcpMessage::new(Code::PING, Token::EMPTY);
/// let mut wire = bytes::BytesMut::new();
/// ping.encode(&mut wire)?;
/// assert_eq!(&wire[..], [0x00, 0xe2]); // Len 0, TKL 0, code 7.02
/// # Ok::<(), tern_coap::tcp::TcpEncodeError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TcpMessage {
    /// The method, response code or signaling code.
    pub code: Code,
    /// Matches responses to requests (and Pongs to Pings).
    pub token: Token,
    /// The options, in number order. For signaling codes the numbers mean what that code
    /// defines (RFC 8323 §5.2); see [`signal_option`].
    pub options: Options,
    /// The payload (no marker on the wire when empty).
    pub payload: Bytes,
}

impl TcpMessage {
    /// A message with no options and no payload.
    ///
    /// ```
    /// use tern_coap::message::{Code, Token};
    /// use tern_coap::tcp::TcpMessage;
    /// let csm = TcpMessage::new(Code::CSM, Token::EMPTY);
    /// assert!(csm.options.is_empty() && csm.payload.is_empty());
    /// ```
    pub fn new(code: Code, token: Token) -> TcpMessage {
        TcpMessage {
            code,
            token,
            options: Options::new(),
            payload: Bytes::new(),
        }
    }

    /// What Len counts: options, payload marker and payload (RFC 8323 §3.2).
    fn body_len(&self) -> usize {
        self.options.as_bytes().len()
            + if self.payload.is_empty() {
                0
            } else {
                1 + self.payload.len()
            }
    }

    /// The exact number of bytes [`TcpMessage::encode`] writes: the smallest Len form that
    /// fits, code, token, options and payload.
    ///
    /// ```
    /// use tern_coap::message::{Code, Token};
    /// use tern_coap::tcp::TcpMessage;
    ///
    /// let mut m = TcpMessage::new(Code::CONTENT, Token::EMPTY);
    /// m.payload = vec![0u8; 11].into(); // marker + 11 = 12: fits the Len nibble
    /// assert_eq!(m.encoded_len(), 2 + 12);
    /// m.payload = vec![0u8; 12].into(); // 13: needs one Extended Length byte
    /// assert_eq!(m.encoded_len(), 3 + 13);
    /// ```
    pub fn encoded_len(&self) -> usize {
        let body = self.body_len();
        1 + extended_len_size(body as u64) + 1 + self.token.len() + body
    }

    /// Encodes the message for a TCP or TLS stream into `buf`, with the smallest Len form
    /// (RFC 8323 §3.2). On error nothing is written.
    ///
    /// Whether the peer accepts a message this large is the caller's to check: compare
    /// [`TcpMessage::encoded_len`] with the Max-Message-Size of the peer's CSM.
    ///
    /// ```
    /// use tern_coap::message::{Code, Token};
    /// use tern_coap::tcp::TcpMessage;
    ///
    /// let mut m = TcpMessage::new(Code::CONTENT, Token::new(&[7]).unwrap());
    /// m.payload = bytes::Bytes::from_static(b"hi");
    /// let mut wire = bytes::BytesMut::new();
    /// m.encode(&mut wire)?;
    /// // Len 3 (marker + 2), TKL 1; code 2.05; token; marker; payload.
    /// assert_eq!(&wire[..], [0x31, 0x45, 7, 0xff, b'h', b'i']);
    /// # Ok::<(), tern_coap::tcp::TcpEncodeError>(())
    /// ```
    pub fn encode(&self, buf: &mut BytesMut) -> Result<(), TcpEncodeError> {
        let body = self.body_len();
        let body64 = body as u64;
        if body64 > MAX_BODY {
            return Err(TcpEncodeError::TooLong { len: body });
        }
        buf.reserve(self.encoded_len());
        let tkl = self.token.len() as u8;
        match body64 {
            0..13 => buf.put_u8(((body as u8) << 4) | tkl),
            13..269 => {
                buf.put_u8((13 << 4) | tkl);
                buf.put_u8((body64 - 13) as u8);
            }
            269..65_805 => {
                buf.put_u8((14 << 4) | tkl);
                buf.put_u16((body64 - 269) as u16);
            }
            _ => {
                buf.put_u8((15 << 4) | tkl);
                buf.put_u32((body64 - 65_805) as u32);
            }
        }
        self.put_rest(buf);
        Ok(())
    }

    /// Code, token, options and payload: what follows the length in both framings.
    fn put_rest(&self, buf: &mut BytesMut) {
        buf.put_u8(self.code.0);
        buf.put_slice(self.token.as_bytes());
        buf.put_slice(self.options.as_bytes());
        if !self.payload.is_empty() {
            buf.put_u8(0xff);
            buf.put_slice(&self.payload);
        }
    }

    /// The exact number of bytes [`TcpMessage::encode_ws`] writes.
    ///
    /// ```
    /// use tern_coap::message::{Code, Token};
    /// use tern_coap::tcp::TcpMessage;
    /// assert_eq!(TcpMessage::new(Code::PING, Token::EMPTY).ws_encoded_len(), 2);
    /// ```
    pub fn ws_encoded_len(&self) -> usize {
        2 + self.token.len() + self.body_len()
    }

    /// Encodes the message as the content of one WebSocket binary message: Len is 0 and there
    /// is no Extended Length, since the WebSocket message has its own (RFC 8323 §4.2).
    ///
    /// ```
    /// use tern_coap::message::{Code, Token};
    /// use tern_coap::tcp::TcpMessage;
    ///
    /// let mut m = TcpMessage::new(Code::CONTENT, Token::new(&[7]).unwrap());
    /// m.payload = bytes::Bytes::from_static(b"hi");
    /// let mut frame = bytes::BytesMut::new();
    /// m.encode_ws(&mut frame);
    /// assert_eq!(&frame[..], [0x01, 0x45, 7, 0xff, b'h', b'i']);
    /// assert_eq!(TcpMessage::decode_ws(frame.freeze())?, m);
    /// # Ok::<(), tern_coap::tcp::TcpError>(())
    /// ```
    pub fn encode_ws(&self, buf: &mut BytesMut) {
        buf.reserve(self.ws_encoded_len());
        buf.put_u8(self.token.len() as u8);
        self.put_rest(buf);
    }

    /// Decodes the content of one WebSocket message (RFC 8323 §4.2). Options and payload are
    /// slices of `frame`. A Len other than 0 is refused ([`TcpError::WsLengthNotZero`]): the
    /// RFC says it must be 0, and tern is strict where the RFC is.
    ///
    /// The WebSocket layer bounds the message size; this function does not.
    ///
    /// ```
    /// use tern_coap::message::Code;
    /// use tern_coap::tcp::{TcpError, TcpMessage};
    ///
    /// let csm = TcpMessage::decode_ws(bytes::Bytes::from_static(&[0x00, 0xe1]))?;
    /// assert_eq!(csm.code, Code::CSM);
    /// assert_eq!(
    ///     TcpMessage::decode_ws(bytes::Bytes::from_static(&[0x10, 0xe1, 0x00])),
    ///     Err(TcpError::WsLengthNotZero(1))
    /// );
    /// # Ok::<(), TcpError>(())
    /// ```
    pub fn decode_ws(frame: Bytes) -> Result<TcpMessage, TcpError> {
        let &b0 = frame.first().ok_or(TcpError::Truncated)?;
        let tkl = check_tkl(b0)?;
        let len = b0 >> 4;
        if len != 0 {
            return Err(TcpError::WsLengthNotZero(len));
        }
        let layout = Layout::parse(&frame, 1, tkl)?;
        Ok(layout.into_message(frame))
    }
}

/// How many Extended Length bytes a body of `body` bytes needs (RFC 8323 §3.2).
const fn extended_len_size(body: u64) -> usize {
    match body {
        0..13 => 0,
        13..269 => 1,
        269..65_805 => 2,
        _ => 4,
    }
}

/// TKL 9–15 is a message format error (RFC 8323 §3.2, as RFC 7252 §3).
fn check_tkl(b0: u8) -> Result<u8, TcpError> {
    let tkl = b0 & 0x0f;
    if tkl > 8 {
        Err(TcpError::TokenLengthReserved(tkl))
    } else {
        Ok(tkl)
    }
}

/// Where the parts of a checked message sit in its frame.
struct Layout {
    code: Code,
    token: Token,
    options: Range<usize>,
    /// Where the payload starts (after the marker), if there is one.
    payload: Option<usize>,
}

impl Layout {
    /// Checks code, token, options and payload of `frame`, whose code byte is at `code_at`.
    fn parse(frame: &[u8], code_at: usize, tkl: u8) -> Result<Layout, TcpError> {
        let &code = frame.get(code_at).ok_or(TcpError::Truncated)?;
        let token_start = code_at + 1;
        let token_end = token_start + usize::from(tkl);
        let token = frame
            .get(token_start..token_end)
            .and_then(Token::new)
            .ok_or(TcpError::Truncated)?;
        let body = frame.get(token_end..).unwrap_or_default();
        let options_end = token_end + scan(body)?;
        let payload = if options_end < frame.len() {
            // The byte at options_end is the payload marker.
            if options_end + 1 == frame.len() {
                return Err(TcpError::EmptyPayloadAfterMarker);
            }
            Some(options_end + 1)
        } else {
            None
        };
        Ok(Layout {
            code: Code(code),
            token,
            options: token_end..options_end,
            payload,
        })
    }

    /// Slices the message out of the frame it was checked on; copies nothing.
    fn into_message(self, frame: Bytes) -> TcpMessage {
        TcpMessage {
            code: self.code,
            token: self.token,
            options: Options::from_scanned(frame.slice(self.options)),
            payload: self.payload.map_or_else(Bytes::new, |p| frame.slice(p..)),
        }
    }
}

/// The result of [`TcpCodec::decode`].
///
/// ```
/// use bytes::BytesMut;
/// use tern_coap::tcp::{Decoded, TcpCodec};
///
/// let codec = TcpCodec::default();
/// assert_eq!(codec.decode(&mut BytesMut::new())?, Decoded::Incomplete { needed: None });
/// # Ok::<(), tern_coap::tcp::TcpError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decoded {
    /// One whole message, now removed from the buffer.
    Message(TcpMessage),
    /// Not a whole message yet; nothing was consumed. Read more and call again.
    Incomplete {
        /// `Some(n)`: the header has arrived, and exactly `n` more bytes complete the message.
        /// `None`: the header itself (the first byte, or the Extended Length it announces) is
        /// not all there, so the size is not known yet.
        needed: Option<NonZeroUsize>,
    },
}

/// Streaming decoder for CoAP over TCP and TLS (RFC 8323 §3.2), with a size limit.
///
/// The limit applies to the whole message as framed: first byte, Extended Length, code,
/// token, options and payload. It should be the Max-Message-Size our CSM advertised
/// ([`DEFAULT_MAX_MESSAGE_SIZE`] until we sent one). A larger message is refused as soon as
/// its header has arrived, so a peer cannot make us buffer it.
///
/// ```
/// use bytes::BytesMut;
/// use tern_coap::tcp::{Decoded, TcpCodec, TcpError};
///
/// let codec = TcpCodec::new(64);
/// // Len 13 with Extended Length 100: 113 bytes of body, refused from 2 bytes of header.
/// let mut rx = BytesMut::from(&[0xd0, 100][..]);
/// assert_eq!(codec.decode(&mut rx), Err(TcpError::TooLarge { size: 116, max: 64 }));
/// assert_eq!(rx.len(), 2); // nothing consumed
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TcpCodec {
    max_message_size: usize,
}

impl Default for TcpCodec {
    /// A codec accepting messages up to [`DEFAULT_MAX_MESSAGE_SIZE`].
    fn default() -> Self {
        TcpCodec::new(DEFAULT_MAX_MESSAGE_SIZE as usize)
    }
}

impl TcpCodec {
    /// A codec that refuses messages larger than `max_message_size` bytes.
    ///
    /// ```
    /// use tern_coap::tcp::TcpCodec;
    /// assert_eq!(TcpCodec::new(8192).max_message_size(), 8192);
    /// ```
    pub const fn new(max_message_size: usize) -> Self {
        TcpCodec { max_message_size }
    }

    /// The largest message accepted, in bytes.
    ///
    /// ```
    /// use tern_coap::tcp::TcpCodec;
    /// assert_eq!(TcpCodec::new(1).max_message_size(), 1);
    /// ```
    pub const fn max_message_size(&self) -> usize {
        self.max_message_size
    }

    /// Decodes the first message in `buf` and removes it from `buf`.
    ///
    /// Consumes nothing when it returns [`Decoded::Incomplete`] or an error. tern treats every
    /// error as the end of the connection (after `TooLarge` the stream cannot even be
    /// resynchronised, since the body was never read): send [`TcpError::abort`], then close.
    ///
    /// ```
    /// use bytes::BytesMut;
    /// use tern_coap::message::Code;
    /// use tern_coap::tcp::{Decoded, TcpCodec};
    ///
    /// // A CSM then a Ping, back to back.
    /// let mut rx = BytesMut::from(&[0x00, 0xe1, 0x00, 0xe2][..]);
    /// let codec = TcpCodec::default();
    /// let Decoded::Message(csm) = codec.decode(&mut rx)? else { unreachable!() };
    /// let Decoded::Message(ping) = codec.decode(&mut rx)? else { unreachable!() };
    /// assert_eq!((csm.code, ping.code), (Code::CSM, Code::PING));
    /// # Ok::<(), tern_coap::tcp::TcpError>(())
    /// ```
    pub fn decode(&self, buf: &mut BytesMut) -> Result<Decoded, TcpError> {
        let Some((code_at, tkl, body)) = header(buf)? else {
            return Ok(Decoded::Incomplete { needed: None });
        };
        let size = code_at as u64 + 1 + u64::from(tkl) + body;
        let total = match usize::try_from(size) {
            Ok(total) if total <= self.max_message_size => total,
            _ => {
                return Err(TcpError::TooLarge {
                    size,
                    max: self.max_message_size,
                });
            }
        };
        if let Some(needed) = NonZeroUsize::new(total.saturating_sub(buf.len())) {
            return Ok(Decoded::Incomplete {
                needed: Some(needed),
            });
        }
        let layout = Layout::parse(buf.get(..total).unwrap_or_default(), code_at, tkl)?;
        let frame = buf.split_to(total).freeze();
        Ok(Decoded::Message(layout.into_message(frame)))
    }
}

/// Reads the first byte and Extended Length: where the code byte is, TKL, and the body
/// length. `None` when the header has not all arrived.
fn header(buf: &[u8]) -> Result<Option<(usize, u8, u64)>, TcpError> {
    let Some((&b0, rest)) = buf.split_first() else {
        return Ok(None);
    };
    let tkl = check_tkl(b0)?;
    let (ext, body) = match b0 >> 4 {
        len @ 0..=12 => (0, u64::from(len)),
        13 => match rest.first() {
            Some(&b) => (1, u64::from(b) + 13),
            None => return Ok(None),
        },
        14 => match rest.first_chunk::<2>() {
            Some(&b) => (2, u64::from(u16::from_be_bytes(b)) + 269),
            None => return Ok(None),
        },
        _ => match rest.first_chunk::<4>() {
            Some(&b) => (4, u64::from(u32::from_be_bytes(b)) + 65_805),
            None => return Ok(None),
        },
    };
    Ok(Some((1 + ext, tkl, body)))
}

/// Why bytes are not a CoAP-over-TCP or -WebSockets message: the peer's fault.
///
/// There is no Reset over a reliable transport, and after a framing error the stream cannot be
/// resynchronised, so tern's answer to every variant is an Abort (7.05, RFC 8323 §5.6) with a
/// diagnostic payload, then closing the connection: see [`TcpError::abort`].
///
/// ```
/// use tern_coap::tcp::TcpError;
/// let e = TcpError::TokenLengthReserved(9);
/// assert!(e.to_string().contains("RFC 8323 §3.2"));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TcpError {
    /// The header announces a message of `size` bytes, more than the `max` we accept.
    ///
    /// The peer ignored the Max-Message-Size of our CSM (RFC 8323 §5.3.1), or of its default
    /// 1152 if we have sent no CSM; if `max` is below what we advertised, the fault is ours
    /// (send a CSM with it first). The answer is an Abort; a request cannot get 4.13 because
    /// the body would have to be read to skip it.
    TooLarge {
        /// The whole message as the header describes it, in bytes.
        size: u64,
        /// The codec's limit.
        max: usize,
    },
    /// Token Length 9–15 (RFC 8323 §3.2 keeps RFC 7252's rule; RFC 8974 extended tokens are
    /// not supported).
    TokenLengthReserved(u8),
    /// A malformed option (RFC 7252 §3.1).
    Option(OptionError),
    /// A payload marker with nothing after it (RFC 7252 §3, RFC 8323 §3.2).
    EmptyPayloadAfterMarker,
    /// A WebSocket message whose Len nibble is not 0 (RFC 8323 §4.2).
    WsLengthNotZero(u8),
    /// A WebSocket message that ends inside the first byte, code or token (RFC 8323 §4.2).
    Truncated,
}

impl TcpError {
    /// The Abort (7.05) that answers this error: empty token, no Bad-CSM-Option (that is for
    /// CSM options, see [`SignalError`]), and this error's text as diagnostic payload. Send
    /// it, then close the connection (RFC 8323 §5.6).
    ///
    /// ```
    /// use tern_coap::message::Code;
    /// use tern_coap::tcp::TcpError;
    ///
    /// let abort = TcpError::TooLarge { size: 5000, max: 1152 }.abort();
    /// assert_eq!(abort.code, Code::ABORT);
    /// assert!(abort.options.is_empty());
    /// assert!(std::str::from_utf8(&abort.payload)?.contains("1152"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn abort(&self) -> TcpMessage {
        let mut m = TcpMessage::new(Code::ABORT, Token::EMPTY);
        m.payload = Bytes::from(self.to_string());
        m
    }
}

impl fmt::Display for TcpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TcpError::TooLarge { size, max } => write!(
                f,
                "a message of {size} bytes exceeds the Max-Message-Size of {max} (RFC 8323 §5.3.1)"
            ),
            TcpError::TokenLengthReserved(l) => {
                write!(f, "token length {l} is reserved: 9-15 (RFC 8323 §3.2)")
            }
            TcpError::Option(e) => fmt::Display::fmt(e, f),
            TcpError::EmptyPayloadAfterMarker => {
                f.write_str("payload marker followed by no payload (RFC 8323 §3.2)")
            }
            TcpError::WsLengthNotZero(l) => write!(
                f,
                "Len {l} in a WebSocket message: it must be 0 (RFC 8323 §4.2)"
            ),
            TcpError::Truncated => {
                f.write_str("the WebSocket message ends inside its header or token (RFC 8323 §4.2)")
            }
        }
    }
}

#[cfg(feature = "std")]
impl std::error::Error for TcpError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            TcpError::Option(e) => Some(e),
            _ => None,
        }
    }
}

impl From<OptionError> for TcpError {
    fn from(e: OptionError) -> Self {
        TcpError::Option(e)
    }
}

/// Why a message cannot be encoded for a TCP stream (the caller's mistake).
///
/// ```
/// use tern_coap::tcp::TcpEncodeError;
/// let e = TcpEncodeError::TooLong { len: usize::MAX };
/// assert!(e.to_string().contains("RFC 8323 §3.2"));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TcpEncodeError {
    /// Options, marker and payload of `len` bytes: more than Len 15 can describe
    /// (65,805 + 2³² − 1).
    TooLong {
        /// The body length.
        len: usize,
    },
}

impl fmt::Display for TcpEncodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TcpEncodeError::TooLong { len } => write!(
                f,
                "{len} bytes of options and payload exceed the largest Len, {MAX_BODY} (RFC 8323 §3.2)"
            ),
        }
    }
}

#[cfg(feature = "std")]
impl std::error::Error for TcpEncodeError {}

/// The signaling option numbers (RFC 8323 §5.2). They are specific to the signaling code:
/// option 2 is Max-Message-Size in a CSM but Custody in a Ping.
///
/// ```
/// use tern_coap::message::Code;
/// use tern_coap::tcp::signal_option;
///
/// assert_eq!(signal_option::name(Code::CSM, signal_option::MAX_MESSAGE_SIZE), Some("Max-Message-Size"));
/// assert_eq!(signal_option::name(Code::PING, signal_option::CUSTODY), Some("Custody"));
/// assert_eq!(signal_option::name(Code::ABORT, signal_option::HOLD_OFF), None);
/// ```
pub mod signal_option {
    use crate::message::Code;
    use crate::option::{OptionNumber, ValueFormat};

    /// Max-Message-Size (2) in a CSM: uint, 0–4 bytes (RFC 8323 §5.3.1).
    pub const MAX_MESSAGE_SIZE: OptionNumber = OptionNumber(2);
    /// Block-Wise-Transfer (4) in a CSM: empty (RFC 8323 §5.3.2).
    pub const BLOCK_WISE_TRANSFER: OptionNumber = OptionNumber(4);
    /// Custody (2) in a Ping or Pong: empty (RFC 8323 §5.4.1).
    pub const CUSTODY: OptionNumber = OptionNumber(2);
    /// Alternative-Address (2) in a Release: string, 1–255 bytes, repeatable (RFC 8323 §5.5).
    pub const ALTERNATIVE_ADDRESS: OptionNumber = OptionNumber(2);
    /// Hold-Off (4) in a Release: uint, 0–3 bytes, seconds (RFC 8323 §5.5).
    pub const HOLD_OFF: OptionNumber = OptionNumber(4);
    /// Bad-CSM-Option (2) in an Abort: uint, 0–2 bytes (RFC 8323 §5.6).
    pub const BAD_CSM_OPTION: OptionNumber = OptionNumber(2);

    /// What RFC 8323 says of a signaling option.
    pub(super) struct Spec {
        pub(super) name: &'static str,
        pub(super) format: ValueFormat,
        pub(super) max_len: usize,
        pub(super) min_len: usize,
    }

    pub(super) const fn spec(code: Code, number: OptionNumber) -> Option<Spec> {
        // Only Alternative-Address is repeatable; Signal::from_message reads it with get_all
        // and every other option with its first occurrence.
        let (name, format, min_len, max_len) = match (code.0, number.0) {
            (0xe1, 2) => ("Max-Message-Size", ValueFormat::Uint, 0, 4),
            (0xe1, 4) => ("Block-Wise-Transfer", ValueFormat::Empty, 0, 0),
            (0xe2 | 0xe3, 2) => ("Custody", ValueFormat::Empty, 0, 0),
            (0xe4, 2) => ("Alternative-Address", ValueFormat::String, 1, 255),
            (0xe4, 4) => ("Hold-Off", ValueFormat::Uint, 0, 3),
            (0xe5, 2) => ("Bad-CSM-Option", ValueFormat::Uint, 0, 2),
            _ => return None,
        };
        Some(Spec {
            name,
            format,
            min_len,
            max_len,
        })
    }

    /// The name of option `number` in a message with signaling code `code`, if RFC 8323
    /// defines one.
    ///
    /// ```
    /// use tern_coap::message::Code;
    /// use tern_coap::option::OptionNumber;
    /// use tern_coap::tcp::signal_option::name;
    /// assert_eq!(name(Code::RELEASE, OptionNumber(4)), Some("Hold-Off"));
    /// assert_eq!(name(Code::GET, OptionNumber(4)), None);
    /// ```
    pub const fn name(code: Code, number: OptionNumber) -> Option<&'static str> {
        match spec(code, number) {
            Some(s) => Some(s.name),
            None => None,
        }
    }
}

/// Whether `o` fits what RFC 8323 says of it.
fn well_formed(spec: &signal_option::Spec, o: &CoapOption<'_>) -> bool {
    let len = o.value.len();
    len >= spec.min_len
        && len <= spec.max_len
        && (spec.format != crate::option::ValueFormat::String || o.as_str().is_some())
}

/// The first occurrence of `number` in `msg`, if it is well formed; a malformed one is as if
/// absent, and later ones do not count (RFC 7252 §5.4.3, §5.4.5).
fn first_valid(msg: &TcpMessage, number: OptionNumber) -> Option<CoapOption<'_>> {
    let o = msg.options.get(number)?;
    let spec = signal_option::spec(msg.code, number)?;
    well_formed(&spec, &o).then_some(o)
}

/// A signaling message (RFC 8323 §5), with its options typed.
///
/// A diagnostic payload is not part of the signal: it stays in [`TcpMessage::payload`], and
/// can be set on the message [`Signal::to_message`] returns.
///
/// ```
/// use tern_coap::message::Token;
/// use tern_coap::tcp::Signal;
///
/// let csm = Signal::Csm { max_message_size: Some(8192), block_wise_transfer: true };
/// let msg = csm.to_message(Token::EMPTY)?;
/// assert_eq!(Signal::from_message(&msg)?, csm);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Signal {
    /// 7.01 Capabilities and Settings Message (RFC 8323 §5.3).
    Csm {
        /// The largest message the sender can receive (§5.3.1); `None`: unchanged, which
        /// before any CSM is [`DEFAULT_MAX_MESSAGE_SIZE`].
        max_message_size: Option<u32>,
        /// The sender supports block-wise transfer, and BERT (§5.3.2, §6).
        block_wise_transfer: bool,
    },
    /// 7.02 Ping (RFC 8323 §5.4).
    Ping {
        /// Asks the peer to process every request and response it received before this
        /// Ping before it answers (§5.4.1).
        custody: bool,
    },
    /// 7.03 Pong, the answer to a Ping, with its token (RFC 8323 §5.4).
    Pong {
        /// Everything received before the Ping has been processed (§5.4.1).
        custody: bool,
    },
    /// 7.04 Release: the sender wants the connection closed gracefully (RFC 8323 §5.5).
    Release {
        /// Where to reconnect instead, in order of preference; each 1–255 bytes.
        alternative_addresses: Vec<String>,
        /// Seconds to wait before reconnecting (at most 2²⁴ − 1).
        hold_off: Option<u32>,
    },
    /// 7.05 Abort: the sender is closing the connection now (RFC 8323 §5.6).
    Abort {
        /// The CSM option the sender could not process.
        bad_csm_option: Option<u16>,
    },
}

impl Signal {
    /// The signaling code of this signal.
    ///
    /// ```
    /// use tern_coap::message::Code;
    /// use tern_coap::tcp::Signal;
    /// assert_eq!(Signal::Ping { custody: false }.code(), Code::PING);
    /// ```
    pub const fn code(&self) -> Code {
        match self {
            Signal::Csm { .. } => Code::CSM,
            Signal::Ping { .. } => Code::PING,
            Signal::Pong { .. } => Code::PONG,
            Signal::Release { .. } => Code::RELEASE,
            Signal::Abort { .. } => Code::ABORT,
        }
    }

    /// Reads the signal of a 7.xx message.
    ///
    /// The rules (RFC 8323 §5.2 applies RFC 7252 §5.4 to signaling options, per code):
    /// - an option this code does not define is ignored when elective (even number) and is
    ///   [`SignalError::UnknownCriticalOption`] when critical (odd);
    /// - in a CSM, a defined option with a value of the wrong length or format is
    ///   [`SignalError::InvalidOption`] (§5.6 names this case for Bad-CSM-Option); in the
    ///   other signals such an option is treated as unrecognized and, being elective, ignored
    ///   (RFC 7252 §5.4.3);
    /// - a non-repeatable option given more than once: the first counts, the others are
    ///   ignored (RFC 7252 §5.4.5).
    ///
    /// ```
    /// use tern_coap::message::{Code, Token};
    /// use tern_coap::option::{OptionNumber, Options};
    /// use tern_coap::tcp::{Signal, SignalError, TcpMessage};
    ///
    /// let mut csm = TcpMessage::new(Code::CSM, Token::EMPTY);
    /// csm.options = Options::builder().push_empty(OptionNumber(7)).build()?;
    /// let err = Signal::from_message(&csm).unwrap_err();
    /// assert_eq!(err, SignalError::UnknownCriticalOption { code: Code::CSM, number: OptionNumber(7) });
    /// // The answer: an Abort naming the option.
    /// assert_eq!(err.answer(), Some(Signal::Abort { bad_csm_option: Some(7) }));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn from_message(msg: &TcpMessage) -> Result<Signal, SignalError> {
        let code = msg.code;
        if !code.is_signaling() {
            return Err(SignalError::NotSignaling(code));
        }
        if !matches!(
            code,
            Code::CSM | Code::PING | Code::PONG | Code::RELEASE | Code::ABORT
        ) {
            return Err(SignalError::UnknownCode(code));
        }
        for o in &msg.options {
            match signal_option::spec(code, o.number) {
                None if o.number.is_critical() => {
                    return Err(SignalError::UnknownCriticalOption {
                        code,
                        number: o.number,
                    });
                }
                Some(spec) if code == Code::CSM && !well_formed(&spec, &o) => {
                    return Err(SignalError::InvalidOption {
                        code,
                        number: o.number,
                    });
                }
                _ => {}
            }
        }
        let present = |number| first_valid(msg, number).is_some();
        let uint = |number| first_valid(msg, number).and_then(|o| decode_uint(o.value));
        Ok(match code {
            Code::CSM => Signal::Csm {
                max_message_size: uint(signal_option::MAX_MESSAGE_SIZE),
                block_wise_transfer: present(signal_option::BLOCK_WISE_TRANSFER),
            },
            Code::PING => Signal::Ping {
                custody: present(signal_option::CUSTODY),
            },
            Code::PONG => Signal::Pong {
                custody: present(signal_option::CUSTODY),
            },
            Code::RELEASE => Signal::Release {
                alternative_addresses: msg
                    .options
                    .get_all(signal_option::ALTERNATIVE_ADDRESS)
                    .filter_map(|o| {
                        let spec = signal_option::spec(code, o.number)?;
                        well_formed(&spec, &o).then(|| o.as_str().unwrap_or_default().to_string())
                    })
                    .collect(),
                hold_off: uint(signal_option::HOLD_OFF),
            },
            _ => Signal::Abort {
                bad_csm_option: uint(signal_option::BAD_CSM_OPTION)
                    .and_then(|v| u16::try_from(v).ok()),
            },
        })
    }

    /// The message carrying this signal, with `token` and no payload. Options are written in
    /// minimal form (a uint 0 is an empty value).
    ///
    /// ```
    /// use tern_coap::message::Token;
    /// use tern_coap::tcp::{Signal, SignalEncodeError};
    ///
    /// let release = Signal::Release {
    ///     alternative_addresses: vec!["coap+tcp://[2001:db8::1]".into()],
    ///     hold_off: Some(30),
    /// };
    /// let msg = release.to_message(Token::EMPTY)?;
    /// assert_eq!(Signal::from_message(&msg)?, release);
    ///
    /// let too_long = Signal::Release { alternative_addresses: vec![], hold_off: Some(1 << 24) };
    /// assert_eq!(too_long.to_message(Token::EMPTY), Err(SignalEncodeError::HoldOffTooLarge(1 << 24)));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn to_message(&self, token: Token) -> Result<TcpMessage, SignalEncodeError> {
        let mut b = Options::builder();
        match self {
            Signal::Csm {
                max_message_size,
                block_wise_transfer,
            } => {
                if let Some(size) = max_message_size {
                    b = b.push_uint(signal_option::MAX_MESSAGE_SIZE, *size);
                }
                if *block_wise_transfer {
                    b = b.push_empty(signal_option::BLOCK_WISE_TRANSFER);
                }
            }
            Signal::Ping { custody } | Signal::Pong { custody } => {
                if *custody {
                    b = b.push_empty(signal_option::CUSTODY);
                }
            }
            Signal::Release {
                alternative_addresses,
                hold_off,
            } => {
                for a in alternative_addresses {
                    if !(1..=255).contains(&a.len()) {
                        return Err(SignalEncodeError::AlternativeAddressLength(a.len()));
                    }
                    b = b.push(signal_option::ALTERNATIVE_ADDRESS, a.clone());
                }
                if let Some(h) = *hold_off {
                    if h > 0x00ff_ffff {
                        return Err(SignalEncodeError::HoldOffTooLarge(h));
                    }
                    b = b.push_uint(signal_option::HOLD_OFF, h);
                }
            }
            Signal::Abort { bad_csm_option } => {
                if let Some(n) = bad_csm_option {
                    b = b.push_uint(signal_option::BAD_CSM_OPTION, u32::from(*n));
                }
            }
        }
        let mut msg = TcpMessage::new(self.code(), token);
        msg.options = b.build().map_err(SignalEncodeError::Option)?;
        Ok(msg)
    }
}

/// Why a message is not a signal tern can act on: the peer's fault, except
/// [`SignalError::NotSignaling`].
///
/// ```
/// use tern_coap::message::{Code, Token};
/// use tern_coap::tcp::{Signal, SignalError, TcpMessage};
///
/// let m = TcpMessage::new(Code::new(7, 6).unwrap(), Token::EMPTY);
/// assert_eq!(Signal::from_message(&m), Err(SignalError::UnknownCode(m.code)));
/// assert_eq!(SignalError::UnknownCode(m.code).answer(), None); // ignore it
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SignalError {
    /// Not a 7.xx code: not a signal at all (the caller's mix-up, or a request or response).
    NotSignaling(Code),
    /// A 7.xx code RFC 8323 does not define (7.00, 7.06–7.31). tern ignores such messages.
    UnknownCode(Code),
    /// A critical option this signaling code does not define. In a CSM it makes the CSM
    /// invalid, which aborts the connection with Bad-CSM-Option (RFC 8323 §5.3, §5.6). In the
    /// other signals tern rejects the message as RFC 7252 §5.4.1 says, which over a reliable
    /// transport means ignoring it (there is no Reset).
    UnknownCriticalOption {
        /// The signaling code.
        code: Code,
        /// The option.
        number: OptionNumber,
    },
    /// A CSM option defined by RFC 8323 whose value has the wrong length or format: an
    /// invalid CSM, answered with Abort and Bad-CSM-Option (RFC 8323 §5.3, §5.6).
    InvalidOption {
        /// The signaling code (always 7.01 CSM).
        code: Code,
        /// The option.
        number: OptionNumber,
    },
}

impl SignalError {
    /// The signal to send in answer, then close the connection; `None`: ignore the message.
    ///
    /// ```
    /// use tern_coap::message::Code;
    /// use tern_coap::option::OptionNumber;
    /// use tern_coap::tcp::{Signal, SignalError};
    ///
    /// let e = SignalError::InvalidOption { code: Code::CSM, number: OptionNumber(2) };
    /// assert_eq!(e.answer(), Some(Signal::Abort { bad_csm_option: Some(2) }));
    /// let e = SignalError::UnknownCriticalOption { code: Code::PING, number: OptionNumber(3) };
    /// assert_eq!(e.answer(), None);
    /// ```
    pub fn answer(&self) -> Option<Signal> {
        match *self {
            SignalError::UnknownCriticalOption { code, number }
            | SignalError::InvalidOption { code, number }
                if code == Code::CSM =>
            {
                Some(Signal::Abort {
                    bad_csm_option: Some(number.0),
                })
            }
            _ => None,
        }
    }
}

impl fmt::Display for SignalError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SignalError::NotSignaling(c) => {
                write!(f, "{c} is not a signaling code (RFC 8323 §5.1)")
            }
            SignalError::UnknownCode(c) => {
                write!(f, "{c} is not a signaling code RFC 8323 defines (§5.1)")
            }
            SignalError::UnknownCriticalOption { code, number } => write!(
                f,
                "{code} carries unknown critical option {} (RFC 8323 §5.2, §5.3)",
                number.0
            ),
            SignalError::InvalidOption { code, number } => write!(
                f,
                "{code} option {} has a value of the wrong length or format (RFC 8323 §5.3, §5.6)",
                signal_option::name(*code, *number).unwrap_or("?")
            ),
        }
    }
}

#[cfg(feature = "std")]
impl std::error::Error for SignalError {}

/// Why a [`Signal`] cannot be encoded (the caller's mistake).
///
/// ```
/// use tern_coap::message::Token;
/// use tern_coap::tcp::{Signal, SignalEncodeError};
///
/// let s = Signal::Release { alternative_addresses: vec![String::new()], hold_off: None };
/// assert_eq!(s.to_message(Token::EMPTY), Err(SignalEncodeError::AlternativeAddressLength(0)));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SignalEncodeError {
    /// An Alternative-Address of this many bytes: it must have 1–255 (RFC 8323 §5.5).
    AlternativeAddressLength(usize),
    /// A Hold-Off that does not fit its 3 bytes (RFC 8323 §5.5).
    HoldOffTooLarge(u32),
    /// The options could not be written.
    Option(OptionError),
}

impl fmt::Display for SignalEncodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SignalEncodeError::AlternativeAddressLength(l) => write!(
                f,
                "an Alternative-Address of {l} bytes: it must have 1-255 (RFC 8323 §5.5)"
            ),
            SignalEncodeError::HoldOffTooLarge(h) => {
                write!(f, "Hold-Off {h} does not fit in 3 bytes (RFC 8323 §5.5)")
            }
            SignalEncodeError::Option(e) => fmt::Display::fmt(e, f),
        }
    }
}

#[cfg(feature = "std")]
impl std::error::Error for SignalEncodeError {}
