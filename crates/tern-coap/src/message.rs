//! CoAP messages over UDP (RFC 7252 §3): header, token, options, payload.
//!
//! ```
//! use tern_coap::message::{Code, Message, MessageType, Token};
//! use tern_coap::option::{OptionNumber, Options};
//!
//! // GET /hello as a confirmable request.
//! let get = Message {
//!     mtype: MessageType::Confirmable,
//!     code: Code::GET,
//!     message_id: 0x1234,
//!     token: Token::new(&[0xab, 0xcd]).unwrap(),
//!     options: Options::builder().push(OptionNumber::URI_PATH, "hello").build()?,
//!     payload: bytes::Bytes::new(),
//! };
//! let mut wire = bytes::BytesMut::new();
//! get.encode(&mut wire)?;
//! assert_eq!(wire.len(), get.encoded_len());
//! assert_eq!(Message::decode(wire.freeze())?, get);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use core::fmt;

use bytes::{Buf, BufMut, Bytes, BytesMut};

use crate::option::{OptionError, Options, scan};

/// The message type (RFC 7252 §3, §4.2–4.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MessageType {
    /// CON: needs an acknowledgement.
    Confirmable = 0,
    /// NON: needs none.
    NonConfirmable = 1,
    /// ACK: acknowledges a CON.
    Acknowledgement = 2,
    /// RST: the CON or NON could not be processed.
    Reset = 3,
}

impl MessageType {
    /// The type for the two-bit field.
    pub const fn from_bits(bits: u8) -> MessageType {
        match bits & 0b11 {
            0 => MessageType::Confirmable,
            1 => MessageType::NonConfirmable,
            2 => MessageType::Acknowledgement,
            _ => MessageType::Reset,
        }
    }

    /// The short name: CON, NON, ACK or RST.
    pub const fn name(self) -> &'static str {
        match self {
            MessageType::Confirmable => "CON",
            MessageType::NonConfirmable => "NON",
            MessageType::Acknowledgement => "ACK",
            MessageType::Reset => "RST",
        }
    }
}

/// A message code `c.dd` (RFC 7252 §3, §12.1): a method, a response code, a signaling code
/// (RFC 8323) or Empty.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Code(pub u8);

macro_rules! codes {
    ($( $const:ident = ($class:literal, $detail:literal), $name:literal; )*) => {
        impl Code {
            $(
                #[doc = concat!(stringify!($class), ".", stringify!($detail), " ", $name, ".")]
                pub const $const: Code = Code(($class << 5) | $detail);
            )*

            /// The registered name of the code, e.g. "Content" for 2.05.
            pub const fn name(self) -> Option<&'static str> {
                match self.0 {
                    $( x if x == ($class << 5) | $detail => Some($name), )*
                    _ => None,
                }
            }
        }
    };
}

codes! {
    EMPTY = (0, 0), "Empty";
    GET = (0, 1), "GET";
    POST = (0, 2), "POST";
    PUT = (0, 3), "PUT";
    DELETE = (0, 4), "DELETE";
    FETCH = (0, 5), "FETCH";
    PATCH = (0, 6), "PATCH";
    IPATCH = (0, 7), "iPATCH";
    CREATED = (2, 1), "Created";
    DELETED = (2, 2), "Deleted";
    VALID = (2, 3), "Valid";
    CHANGED = (2, 4), "Changed";
    CONTENT = (2, 5), "Content";
    CONTINUE = (2, 31), "Continue";
    BAD_REQUEST = (4, 0), "Bad Request";
    UNAUTHORIZED = (4, 1), "Unauthorized";
    BAD_OPTION = (4, 2), "Bad Option";
    FORBIDDEN = (4, 3), "Forbidden";
    NOT_FOUND = (4, 4), "Not Found";
    METHOD_NOT_ALLOWED = (4, 5), "Method Not Allowed";
    NOT_ACCEPTABLE = (4, 6), "Not Acceptable";
    REQUEST_ENTITY_INCOMPLETE = (4, 8), "Request Entity Incomplete";
    CONFLICT = (4, 9), "Conflict";
    PRECONDITION_FAILED = (4, 12), "Precondition Failed";
    REQUEST_ENTITY_TOO_LARGE = (4, 13), "Request Entity Too Large";
    UNSUPPORTED_CONTENT_FORMAT = (4, 15), "Unsupported Content-Format";
    UNPROCESSABLE_ENTITY = (4, 22), "Unprocessable Entity";
    TOO_MANY_REQUESTS = (4, 29), "Too Many Requests";
    INTERNAL_SERVER_ERROR = (5, 0), "Internal Server Error";
    NOT_IMPLEMENTED = (5, 1), "Not Implemented";
    BAD_GATEWAY = (5, 2), "Bad Gateway";
    SERVICE_UNAVAILABLE = (5, 3), "Service Unavailable";
    GATEWAY_TIMEOUT = (5, 4), "Gateway Timeout";
    PROXYING_NOT_SUPPORTED = (5, 5), "Proxying Not Supported";
    HOP_LIMIT_REACHED = (5, 8), "Hop Limit Reached";
    CSM = (7, 1), "CSM";
    PING = (7, 2), "Ping";
    PONG = (7, 3), "Pong";
    RELEASE = (7, 4), "Release";
    ABORT = (7, 5), "Abort";
}

impl Code {
    /// The code `class.detail`; `None` when class > 7 or detail > 31.
    pub const fn new(class: u8, detail: u8) -> Option<Code> {
        if class > 7 || detail > 31 {
            None
        } else {
            Some(Code((class << 5) | detail))
        }
    }

    /// The class (0 request, 2 success, 4 client error, 5 server error, 7 signaling).
    pub const fn class(self) -> u8 {
        self.0 >> 5
    }

    /// The detail.
    pub const fn detail(self) -> u8 {
        self.0 & 0x1f
    }

    /// 0.00.
    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// A request method (0.01–0.31).
    pub const fn is_request(self) -> bool {
        self.class() == 0 && self.0 != 0
    }

    /// A response (classes 2–5).
    pub const fn is_response(self) -> bool {
        matches!(self.class(), 2..=5)
    }

    /// A signaling code (class 7, RFC 8323).
    pub const fn is_signaling(self) -> bool {
        self.class() == 7
    }
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{:02}", self.class(), self.detail())?;
        if let Some(n) = self.name() {
            write!(f, " {n}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// A token of 0–8 bytes, kept inline (RFC 7252 §5.3.1).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Token {
    bytes: [u8; 8],
    len: u8,
}

impl Token {
    /// The empty token.
    pub const EMPTY: Token = Token {
        bytes: [0; 8],
        len: 0,
    };

    /// A token from up to 8 bytes.
    pub fn new(bytes: &[u8]) -> Option<Token> {
        if bytes.len() > 8 {
            return None;
        }
        let mut t = Token {
            bytes: [0; 8],
            len: bytes.len() as u8,
        };
        for (d, s) in t.bytes.iter_mut().zip(bytes) {
            *d = *s;
        }
        Some(t)
    }

    /// The token bytes.
    pub fn as_bytes(&self) -> &[u8] {
        self.bytes.get(..usize::from(self.len)).unwrap_or_default()
    }

    /// Its length, 0–8.
    pub fn len(&self) -> usize {
        usize::from(self.len)
    }

    /// Whether it is empty.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Token(")?;
        for b in self.as_bytes() {
            write!(f, "{b:02x}")?;
        }
        f.write_str(")")
    }
}

/// Why bytes are not a CoAP message: a message format error, which a receiver answers by
/// rejecting the message (an RST for a CON, or silence) — never with a response code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum FormatError {
    /// Shorter than the 4-byte header.
    TooShort,
    /// Version other than 1 (RFC 7252 §3: such messages are silently ignored).
    UnknownVersion(u8),
    /// Token Length 9–15 (RFC 7252 §3).
    TokenLengthReserved(u8),
    /// The token runs past the end.
    TruncatedToken,
    /// A malformed option.
    Option(OptionError),
    /// A payload marker with no payload after it (RFC 7252 §3).
    EmptyPayloadAfterMarker,
    /// An Empty message (0.00) with a token, options or payload (RFC 7252 §4.1).
    EmptyMessageNotEmpty,
}

impl FormatError {
    /// Whether the RFC says to ignore the message silently rather than reject it with RST
    /// (RFC 7252 §3: an unknown version).
    pub const fn silently_ignore(&self) -> bool {
        matches!(self, FormatError::UnknownVersion(_))
    }
}

impl fmt::Display for FormatError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FormatError::TooShort => f.write_str("shorter than the 4-byte header (RFC 7252 §3)"),
            FormatError::UnknownVersion(v) => {
                write!(f, "version {v}, not 1: silently ignored (RFC 7252 §3)")
            }
            FormatError::TokenLengthReserved(l) => {
                write!(f, "token length {l} is reserved: 9-15 (RFC 7252 §3)")
            }
            FormatError::TruncatedToken => f.write_str("the token runs past the end (RFC 7252 §3)"),
            FormatError::Option(e) => fmt::Display::fmt(e, f),
            FormatError::EmptyPayloadAfterMarker => {
                f.write_str("payload marker followed by no payload (RFC 7252 §3)")
            }
            FormatError::EmptyMessageNotEmpty => f.write_str(
                "an Empty message (0.00) carries a token, options or payload (RFC 7252 §4.1)",
            ),
        }
    }
}

#[cfg(feature = "std")]
impl std::error::Error for FormatError {}

impl From<OptionError> for FormatError {
    fn from(e: OptionError) -> Self {
        FormatError::Option(e)
    }
}

/// Why a message cannot be encoded (the caller's mistake).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum EncodeError {
    /// An Empty message (0.00) with a token, options or payload (RFC 7252 §4.1).
    EmptyMessageNotEmpty,
}

impl fmt::Display for EncodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EncodeError::EmptyMessageNotEmpty => f.write_str(
                "an Empty message (0.00) must have no token, options or payload (RFC 7252 §4.1)",
            ),
        }
    }
}

#[cfg(feature = "std")]
impl std::error::Error for EncodeError {}

/// A CoAP message as carried in one UDP datagram.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Message {
    /// CON, NON, ACK or RST.
    pub mtype: MessageType,
    /// The method, response code or Empty.
    pub code: Code,
    /// Matches ACK/RST to CON and detects duplicates.
    pub message_id: u16,
    /// Matches responses to requests.
    pub token: Token,
    /// The options, in number order.
    pub options: Options,
    /// The payload (no marker on the wire when empty).
    pub payload: Bytes,
}

impl Message {
    /// An Empty message of type `mtype` (an empty ACK, an RST, or a CON ping).
    pub fn empty(mtype: MessageType, message_id: u16) -> Message {
        Message {
            mtype,
            code: Code::EMPTY,
            message_id,
            token: Token::EMPTY,
            options: Options::new(),
            payload: Bytes::new(),
        }
    }

    /// Decodes one datagram. Options and payload are slices of `datagram`; nothing is
    /// allocated. Unrecognized options are kept: see [`Options::first_unrecognized_critical`].
    pub fn decode(mut datagram: Bytes) -> Result<Message, FormatError> {
        let (&[b0, code, m0, m1], rest) = datagram
            .split_first_chunk::<4>()
            .ok_or(FormatError::TooShort)?;
        let version = b0 >> 6;
        if version != 1 {
            return Err(FormatError::UnknownVersion(version));
        }
        let tkl = b0 & 0x0f;
        if tkl > 8 {
            return Err(FormatError::TokenLengthReserved(tkl));
        }
        let (token, after_token) = rest
            .split_at_checked(usize::from(tkl))
            .ok_or(FormatError::TruncatedToken)?;
        let token = Token::new(token).ok_or(FormatError::TruncatedToken)?;
        let code = Code(code);
        if code.is_empty() && (tkl != 0 || !after_token.is_empty()) {
            return Err(FormatError::EmptyMessageNotEmpty);
        }
        let opts_len = scan(after_token)?;
        let has_payload = opts_len < after_token.len();
        if has_payload && opts_len + 1 == after_token.len() {
            // The byte at opts_len is the payload marker, and nothing follows it.
            return Err(FormatError::EmptyPayloadAfterMarker);
        }
        let mtype = MessageType::from_bits(b0 >> 4);
        let message_id = u16::from_be_bytes([m0, m1]);
        let opts_start = 4 + usize::from(tkl);
        let opts_end = opts_start + opts_len;
        // One share of the buffer for the options and the datagram itself, advanced, as the
        // payload: a reference count per share is the cost that remains per message.
        let options = if opts_len == 0 {
            Options::new()
        } else {
            Options::from_scanned(datagram.slice(opts_start..opts_end))
        };
        let payload = if has_payload {
            datagram.advance(opts_end + 1);
            datagram
        } else {
            Bytes::new()
        };
        Ok(Message {
            mtype,
            code,
            message_id,
            token,
            options,
            payload,
        })
    }

    /// The exact number of bytes [`Message::encode`] writes.
    pub fn encoded_len(&self) -> usize {
        4 + self.token.len()
            + self.options.encoded_len()
            + if self.payload.is_empty() {
                0
            } else {
                1 + self.payload.len()
            }
    }

    /// Encodes the message into `buf`; on error nothing is written.
    pub fn encode(&self, buf: &mut BytesMut) -> Result<(), EncodeError> {
        if self.code.is_empty()
            && (!self.token.is_empty() || !self.options.is_empty() || !self.payload.is_empty())
        {
            return Err(EncodeError::EmptyMessageNotEmpty);
        }
        buf.reserve(self.encoded_len());
        buf.put_u8((1 << 6) | ((self.mtype as u8) << 4) | self.token.len() as u8);
        buf.put_u8(self.code.0);
        buf.put_u16(self.message_id);
        buf.put_slice(self.token.as_bytes());
        buf.put_slice(self.options.as_bytes());
        if !self.payload.is_empty() {
            buf.put_u8(0xff);
            buf.put_slice(&self.payload);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::option::OptionNumber;

    fn decode(bytes: &[u8]) -> Result<Message, FormatError> {
        Message::decode(Bytes::copy_from_slice(bytes))
    }

    #[test]
    fn rfc7252_3_version_must_be_1() {
        assert_eq!(
            decode(&[0x00, 0x01, 0, 1]),
            Err(FormatError::UnknownVersion(0))
        );
        assert!(FormatError::UnknownVersion(2).silently_ignore());
    }

    #[test]
    fn rfc7252_3_token_length_9_to_15_is_a_format_error() {
        for tkl in 9..=15u8 {
            let mut m = [0u8; 20];
            m[0] = 0x40 | tkl;
            m[1] = 0x01;
            assert_eq!(decode(&m), Err(FormatError::TokenLengthReserved(tkl)));
        }
    }

    #[test]
    fn rfc7252_3_payload_marker_without_payload_is_a_format_error() {
        assert_eq!(
            decode(&[0x40, 0x01, 0, 1, 0xff]),
            Err(FormatError::EmptyPayloadAfterMarker)
        );
    }

    #[test]
    fn rfc7252_4_1_empty_message_has_nothing_after_the_message_id() {
        assert!(decode(&[0x60, 0x00, 0, 1]).is_ok());
        assert_eq!(
            decode(&[0x61, 0x00, 0, 1, 7]),
            Err(FormatError::EmptyMessageNotEmpty)
        );
        assert_eq!(
            decode(&[0x60, 0x00, 0, 1, 0xff, 1]),
            Err(FormatError::EmptyMessageNotEmpty)
        );
    }

    #[test]
    fn libcoap_get_decodes_and_reencodes() {
        // CON GET /hello, token 0x7a5b (shape of a libcoap coap-client request).
        let wire = [
            0x42, 0x01, 0x12, 0x34, 0x7a, 0x5b, 0xb5, b'h', b'e', b'l', b'l', b'o',
        ];
        let m = decode(&wire).unwrap();
        assert_eq!(m.code, Code::GET);
        assert_eq!(
            m.options.get(OptionNumber::URI_PATH).unwrap().as_str(),
            Some("hello")
        );
        let mut out = BytesMut::new();
        m.encode(&mut out).unwrap();
        assert_eq!(&out[..], &wire[..]);
    }

    #[test]
    fn rfc7252_5_4_1_unrecognized_critical_options_are_reported() {
        // Option 9999 (odd: critical, unknown) and a repeated Uri-Host (non-repeatable).
        let opts = Options::builder()
            .push(OptionNumber(9999), &b"x"[..])
            .push(OptionNumber(10000), &b"y"[..])
            .build()
            .unwrap();
        assert_eq!(opts.first_unrecognized_critical(), Some(OptionNumber(9999)));
        let opts = Options::builder()
            .push(OptionNumber::URI_HOST, "a")
            .push(OptionNumber::URI_HOST, "b")
            .build()
            .unwrap();
        assert_eq!(
            opts.first_unrecognized_critical(),
            Some(OptionNumber::URI_HOST)
        );
        // An elective option with a bad length is unrecognized but not critical.
        let opts = Options::builder()
            .push(OptionNumber::ETAG, "")
            .build()
            .unwrap();
        assert_eq!(opts.unrecognized().count(), 1);
        assert_eq!(opts.first_unrecognized_critical(), None);
    }
}
