//! Structure-aware generation of valid messages for fuzzing and property tests.
//!
//! Hidden and unstable: enabled by the `arbitrary` feature for `fuzz/` and the test suites.
//! Everything generated here is a message the encoder accepts, so `decode(encode(m)) == m` must
//! hold for each. Options of known numbers get well-formed values (the registry's format and
//! length range, and a non-repeatable option at most once), so the only unrecognized options of
//! a generated message are those of unknown numbers.

use alloc::string::String;
use alloc::vec::Vec;

use arbitrary::{Arbitrary, Result, Unstructured};
use bytes::Bytes;

use crate::message::{Code, Message, MessageType, Token};
use crate::option::{OptionNumber, Options, ValueFormat, encode_uint};

/// A valid message; `Arbitrary` for fuzz targets and `Unstructured`-driven property tests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArbitraryMessage(pub Message);

impl<'a> Arbitrary<'a> for ArbitraryMessage {
    fn arbitrary(u: &mut Unstructured<'a>) -> Result<Self> {
        message(u).map(ArbitraryMessage)
    }
}

/// Codes worth hitting often: every method, the common responses and the signaling codes
/// (which UDP carries like any other code byte).
const CODES: &[Code] = &[
    Code::GET,
    Code::POST,
    Code::PUT,
    Code::DELETE,
    Code::FETCH,
    Code::PATCH,
    Code::IPATCH,
    Code::CREATED,
    Code::DELETED,
    Code::VALID,
    Code::CHANGED,
    Code::CONTENT,
    Code::CONTINUE,
    Code::BAD_REQUEST,
    Code::BAD_OPTION,
    Code::NOT_FOUND,
    Code::REQUEST_ENTITY_INCOMPLETE,
    Code::PRECONDITION_FAILED,
    Code::INTERNAL_SERVER_ERROR,
    Code::PROXYING_NOT_SUPPORTED,
    Code::HOP_LIMIT_REACHED,
    Code::CSM,
    Code::PING,
    Code::ABORT,
];

/// Unknown numbers at the edges of the option header: the 12/13 and 268/269 boundaries of the
/// extended delta, the unknown critical 2049 and elective 2050 that libcoap sends, and numbers
/// near the 16-bit ceiling. 0 is reserved but well-formed on the wire.
const UNKNOWN_NUMBERS: &[u16] = &[
    0, 2, 10, 13, 268, 269, 270, 281, 2049, 2050, 65000, 65001, 65534, 65535,
];

/// Value lengths at the edges of the option header's length field.
const EDGE_LENGTHS: &[usize] = &[0, 1, 12, 13, 14, 268, 269, 270];

/// A valid message: any type and code; an Empty (0.00) message has no token, options or
/// payload; otherwise a token of 0–8 bytes, options (see [`options`]) and a payload, often empty.
pub fn message(u: &mut Unstructured<'_>) -> Result<Message> {
    let mtype = message_type(u)?;
    let code = code(u)?;
    let message_id = u.arbitrary()?;
    if code.is_empty() {
        return Ok(Message::empty(mtype, message_id));
    }
    Ok(Message {
        mtype,
        code,
        message_id,
        token: token(u)?,
        options: options(u)?,
        payload: payload(u)?,
    })
}

/// CON, NON, ACK or RST.
pub fn message_type(u: &mut Unstructured<'_>) -> Result<MessageType> {
    Ok(*u.choose(&[
        MessageType::Confirmable,
        MessageType::NonConfirmable,
        MessageType::Acknowledgement,
        MessageType::Reset,
    ])?)
}

/// Any code byte: often Empty or a registered code, sometimes any class and detail (the codec
/// carries reserved and unassigned codes unchanged).
pub fn code(u: &mut Unstructured<'_>) -> Result<Code> {
    Ok(match u.int_in_range(0u8..=4)? {
        0 => Code::EMPTY,
        1 | 2 => *u.choose(CODES)?,
        _ => Code(u.arbitrary()?),
    })
}

/// A token of 0–8 bytes.
pub fn token(u: &mut Unstructured<'_>) -> Result<Token> {
    let len = u.int_in_range(0..=8usize)?;
    let bytes = u.bytes(len.min(u.len()))?;
    Token::new(bytes).ok_or(arbitrary::Error::IncorrectFormat)
}

/// A payload: empty a third of the time, otherwise up to 1,100 bytes.
pub fn payload(u: &mut Unstructured<'_>) -> Result<Bytes> {
    if u.ratio(1, 3)? {
        return Ok(Bytes::new());
    }
    let len = u.int_in_range(1..=1100usize)?;
    Ok(Bytes::copy_from_slice(u.bytes(len.min(u.len()))?))
}

/// Options built from [`option_list`]: the builder puts them in number order.
pub fn options(u: &mut Unstructured<'_>) -> Result<Options> {
    option_list(u)?
        .into_iter()
        .fold(Options::builder(), |b, (n, v)| b.push(n, v))
        .build()
        .map_err(|_| arbitrary::Error::IncorrectFormat)
}

/// Up to 12 options in random order, as they would be added to a builder: known numbers with
/// well-formed values (a non-repeatable one at most once), and unknown numbers, among them
/// large ones and ones whose deltas and lengths need the 13 and 14 extended forms.
pub fn option_list(u: &mut Unstructured<'_>) -> Result<Vec<(OptionNumber, Bytes)>> {
    let n = u.int_in_range(0..=12usize)?;
    let mut out: Vec<(OptionNumber, Bytes)> = Vec::with_capacity(n);
    for _ in 0..n {
        let number = match u.int_in_range(0u8..=5)? {
            0 => OptionNumber(*u.choose(UNKNOWN_NUMBERS)?),
            1 => OptionNumber(u.arbitrary()?),
            _ => *u.choose(OptionNumber::KNOWN)?,
        };
        let value = match number.info() {
            None => opaque(u, 0, usize::from(u16::MAX))?,
            Some(info) => {
                if !info.repeatable && out.iter().any(|(m, _)| *m == number) {
                    continue;
                }
                let (min, max) = (usize::from(info.min_len), usize::from(info.max_len));
                match info.format {
                    ValueFormat::Empty => Bytes::new(),
                    ValueFormat::Opaque => opaque(u, min, max)?,
                    ValueFormat::Uint => uint(u, min, max)?,
                    ValueFormat::String => string(u, min, max)?,
                }
            }
        };
        out.push((number, value));
    }
    Ok(out)
}

/// A length in `min..=max`: mostly short, sometimes at a header boundary or anywhere.
fn length(u: &mut Unstructured<'_>, min: usize, max: usize) -> Result<usize> {
    let len = match u.int_in_range(0u8..=7)? {
        0 => *u.choose(EDGE_LENGTHS)?,
        1 => u.int_in_range(min..=max.min(1100))?,
        _ => u.int_in_range(min..=max.min(16))?,
    };
    Ok(len.clamp(min, max))
}

fn opaque(u: &mut Unstructured<'_>, min: usize, max: usize) -> Result<Bytes> {
    let len = length(u, min, max)?;
    let mut v = Vec::with_capacity(len);
    v.extend_from_slice(u.bytes(len.min(u.len()))?);
    // Out of input: pad rather than fall below the registry's minimum.
    v.resize(len, 0x5a);
    Ok(Bytes::from(v))
}

/// A uint in minimal form (no leading zero byte) whose length is in `min..=max`.
fn uint(u: &mut Unstructured<'_>, min: usize, max: usize) -> Result<Bytes> {
    let len = u.int_in_range(min..=max.min(4))?;
    if len == 0 {
        return Ok(Bytes::new());
    }
    let low = 1u32 << (8 * (len - 1));
    let high = if len == 4 {
        u32::MAX
    } else {
        (1u32 << (8 * len)) - 1
    };
    let (bytes, n) = encode_uint(u.int_in_range(low..=high)?);
    Ok(Bytes::copy_from_slice(bytes.get(..n).unwrap_or_default()))
}

/// UTF-8 text of a byte length in `min..=max`: mostly ASCII, some multi-byte characters.
fn string(u: &mut Unstructured<'_>, min: usize, max: usize) -> Result<Bytes> {
    let len = length(u, min, max)?;
    let mut s = String::with_capacity(len);
    while s.len() < len {
        let c = match u.int_in_range(0u8..=9)? {
            0 => char::arbitrary(u)?,
            1 => *u.choose(&['é', 'ü', '€', '😀', '/', '?', '&', '=', '%', ' '])?,
            _ => char::from(u.int_in_range(b'a'..=b'z')?),
        };
        // A character that would overshoot the length gives way to a one-byte one.
        let fits = s.len() + c.len_utf8() <= len;
        s.push(if fits { c } else { 'a' });
    }
    Ok(Bytes::from(s))
}
