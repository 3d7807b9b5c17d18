//! CoAP options (RFC 7252 §3.1, §5.4, §5.10) and the registry of the options tern knows.
//!
//! A decoded message keeps its options as the validated wire bytes ([`Options`]) and reads them
//! on demand, so decoding and iterating options allocate nothing. [`OptionsBuilder`] collects
//! options in any order and writes them in number order, as the wire format requires.
//!
//! ```
//! use tern_coap::option::{OptionNumber, Options};
//!
//! let options = Options::builder()
//!     .push(OptionNumber::URI_PATH, "hello")
//!     .push(OptionNumber::URI_HOST, "example.com") // written first: number 3 < 11
//!     .push_uint(OptionNumber::CONTENT_FORMAT, 0)
//!     .build()?;
//! let numbers: Vec<u16> = options.iter().map(|o| o.number.get()).collect();
//! assert_eq!(numbers, [3, 11, 12]);
//! assert_eq!(options.get(OptionNumber::URI_PATH).map(|o| o.value), Some(&b"hello"[..]));
//! # Ok::<(), tern_coap::option::OptionError>(())
//! ```

use alloc::vec::Vec;
use core::fmt;

use bytes::{BufMut, Bytes, BytesMut};

/// A CoAP option number (RFC 7252 §5.4.6).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct OptionNumber(pub u16);

/// How an option's value is represented (RFC 7252 §3.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ValueFormat {
    /// A zero-length value.
    Empty,
    /// Bytes.
    Opaque,
    /// A non-negative integer in network byte order, minimal length.
    Uint,
    /// UTF-8 text (Net-Unicode).
    String,
}

/// What the registry says of an option.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct OptionInfo {
    /// The name, as in the IANA registry.
    pub name: &'static str,
    /// The value format.
    pub format: ValueFormat,
    /// Smallest value length in bytes.
    pub min_len: u16,
    /// Largest value length in bytes.
    pub max_len: u16,
    /// Whether it may appear more than once.
    pub repeatable: bool,
    /// The RFC that defines it.
    pub rfc: &'static str,
}

macro_rules! registry {
    ($( $const:ident = $num:literal, $name:literal, $fmt:ident, $min:literal ..= $max:literal, $rep:literal, $rfc:literal; )*) => {
        impl OptionNumber {
            $(
                #[doc = concat!($name, " (", stringify!($num), ", ", $rfc, ").")]
                pub const $const: OptionNumber = OptionNumber($num);
            )*

            /// Every option in the registry tern knows, in number order.
            pub const KNOWN: &'static [OptionNumber] = &[$(OptionNumber($num)),*];

            /// What the registry says of this option, if tern knows it.
            pub const fn info(self) -> Option<OptionInfo> {
                match self.0 {
                    $( $num => Some(OptionInfo {
                        name: $name,
                        format: ValueFormat::$fmt,
                        min_len: $min,
                        max_len: $max,
                        repeatable: $rep,
                        rfc: $rfc,
                    }), )*
                    _ => None,
                }
            }
        }
    };
}

registry! {
    IF_MATCH = 1, "If-Match", Opaque, 0..=8, true, "RFC 7252";
    URI_HOST = 3, "Uri-Host", String, 1..=255, false, "RFC 7252";
    ETAG = 4, "ETag", Opaque, 1..=8, true, "RFC 7252";
    IF_NONE_MATCH = 5, "If-None-Match", Empty, 0..=0, false, "RFC 7252";
    OBSERVE = 6, "Observe", Uint, 0..=3, false, "RFC 7641";
    URI_PORT = 7, "Uri-Port", Uint, 0..=2, false, "RFC 7252";
    LOCATION_PATH = 8, "Location-Path", String, 0..=255, true, "RFC 7252";
    OSCORE = 9, "OSCORE", Opaque, 0..=255, false, "RFC 8613";
    URI_PATH = 11, "Uri-Path", String, 0..=255, true, "RFC 7252";
    CONTENT_FORMAT = 12, "Content-Format", Uint, 0..=2, false, "RFC 7252";
    MAX_AGE = 14, "Max-Age", Uint, 0..=4, false, "RFC 7252";
    URI_QUERY = 15, "Uri-Query", String, 0..=255, true, "RFC 7252";
    HOP_LIMIT = 16, "Hop-Limit", Uint, 1..=1, false, "RFC 8768";
    ACCEPT = 17, "Accept", Uint, 0..=2, false, "RFC 7252";
    Q_BLOCK1 = 19, "Q-Block1", Uint, 0..=3, false, "RFC 9177";
    LOCATION_QUERY = 20, "Location-Query", String, 0..=255, true, "RFC 7252";
    BLOCK2 = 23, "Block2", Uint, 0..=3, false, "RFC 7959";
    BLOCK1 = 27, "Block1", Uint, 0..=3, false, "RFC 7959";
    SIZE2 = 28, "Size2", Uint, 0..=4, false, "RFC 7959";
    // Repeatable: a client repeats it to ask for several missing blocks at once (RFC 9177 §4).
    Q_BLOCK2 = 31, "Q-Block2", Uint, 0..=3, true, "RFC 9177";
    PROXY_URI = 35, "Proxy-Uri", String, 1..=1034, false, "RFC 7252";
    PROXY_SCHEME = 39, "Proxy-Scheme", String, 1..=255, false, "RFC 7252";
    SIZE1 = 60, "Size1", Uint, 0..=4, false, "RFC 7252";
    ECHO = 252, "Echo", Opaque, 1..=40, false, "RFC 9175";
    NO_RESPONSE = 258, "No-Response", Uint, 0..=1, false, "RFC 7967";
    REQUEST_TAG = 292, "Request-Tag", Opaque, 0..=8, true, "RFC 9175";
}

impl OptionNumber {
    /// The number.
    pub const fn get(self) -> u16 {
        self.0
    }

    /// Critical (odd numbers): a receiver that does not recognize it must reject the message
    /// (RFC 7252 §5.4.1, §5.4.6).
    pub const fn is_critical(self) -> bool {
        self.0 & 0x01 != 0
    }

    /// Elective: the opposite of critical; an unrecognized one is silently ignored.
    pub const fn is_elective(self) -> bool {
        !self.is_critical()
    }

    /// Unsafe to forward by a proxy that does not understand it (RFC 7252 §5.4.2).
    pub const fn is_unsafe(self) -> bool {
        self.0 & 0x02 != 0
    }

    /// NoCacheKey: not part of the cache key (RFC 7252 §5.4.6; only for safe-to-forward options).
    pub const fn is_no_cache_key(self) -> bool {
        self.0 & 0x1e == 0x1c
    }

    /// The registry name, or `None` for an option tern does not know.
    pub const fn name(self) -> Option<&'static str> {
        match self.info() {
            Some(i) => Some(i.name),
            None => None,
        }
    }
}

impl fmt::Display for OptionNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(n) => write!(f, "{n} ({})", self.0),
            None => write!(f, "option {}", self.0),
        }
    }
}

/// One option of a message: its number and the bytes of its value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct CoapOption<'a> {
    /// The option number.
    pub number: OptionNumber,
    /// The value bytes.
    pub value: &'a [u8],
}

impl<'a> CoapOption<'a> {
    /// The value as a uint (RFC 7252 §3.2): any length up to 4 bytes, leading zeros accepted.
    pub fn as_uint(&self) -> Option<u32> {
        decode_uint(self.value)
    }

    /// The value as UTF-8 text.
    pub fn as_str(&self) -> Option<&'a str> {
        core::str::from_utf8(self.value).ok()
    }

    /// Whether the value fits the registry's length range and format (unknown options:
    /// always). A value that does not is treated as unrecognized (RFC 7252 §5.4.3).
    pub fn is_well_formed(&self) -> bool {
        match self.number.info() {
            None => true,
            Some(info) => {
                let len = self.value.len();
                len >= usize::from(info.min_len)
                    && len <= usize::from(info.max_len)
                    && (info.format != ValueFormat::String || self.as_str().is_some())
            }
        }
    }
}

/// Reads a uint of up to four bytes (leading zeros accepted).
pub fn decode_uint(value: &[u8]) -> Option<u32> {
    if value.len() > 4 {
        return None;
    }
    Some(value.iter().fold(0u32, |acc, &b| (acc << 8) | u32::from(b)))
}

/// The minimal-length big-endian bytes of `v` (zero is empty), and how many there are.
pub fn encode_uint(v: u32) -> ([u8; 4], usize) {
    let len = 4 - (v.leading_zeros() / 8) as usize;
    let mut out = [0u8; 4];
    let be = v.to_be_bytes();
    for (o, b) in out.iter_mut().zip(be.iter().skip(4 - len)) {
        *o = *b;
    }
    (out, len)
}

/// Why an option sequence is not well-formed on the wire (a message format error).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum OptionError {
    /// An option delta nibble of 15 that is not the payload marker (RFC 7252 §3.1).
    ReservedDelta,
    /// An option length nibble of 15 (RFC 7252 §3.1).
    ReservedLength,
    /// The extended delta or length, or the value, runs past the end of the message.
    Truncated,
    /// Option numbers add up past 65,535.
    NumberOverflow,
    /// A value longer than 65,535 + 269 bytes cannot be encoded (builder only).
    ValueTooLong,
}

impl fmt::Display for OptionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            OptionError::ReservedDelta => {
                "option delta 15 is reserved for the payload marker (RFC 7252 §3.1)"
            }
            OptionError::ReservedLength => "option length 15 is reserved (RFC 7252 §3.1)",
            OptionError::Truncated => "an option runs past the end of the message (RFC 7252 §3.1)",
            OptionError::NumberOverflow => {
                "option numbers add up past 65,535 (RFC 7252 §3.1, §12.2)"
            }
            OptionError::ValueTooLong => "an option value is longer than 65,804 bytes",
        })
    }
}

#[cfg(feature = "std")]
impl std::error::Error for OptionError {}

/// Reads an extended delta or length (RFC 7252 §3.1): the nibble itself, or 13 + one byte, or
/// 269 + two bytes; 15 is `reserved`.
#[inline(always)]
fn extended(nibble: u8, rest: &[u8], reserved: OptionError) -> Result<(u32, &[u8]), OptionError> {
    match nibble {
        0..=12 => Ok((u32::from(nibble), rest)),
        13 => match rest.split_first() {
            Some((&b, r)) => Ok((u32::from(b) + 13, r)),
            None => Err(OptionError::Truncated),
        },
        14 => match rest.split_first_chunk::<2>() {
            Some((&[a, b], r)) => Ok((u32::from(u16::from_be_bytes([a, b])) + 269, r)),
            None => Err(OptionError::Truncated),
        },
        _ => Err(reserved),
    }
}

/// Reads one option header and value from `buf`, after option number `prev`.
/// Returns the option and the rest of `buf` after it.
#[inline(always)]
fn read_option(buf: &[u8], prev: u16) -> Result<(CoapOption<'_>, &[u8]), OptionError> {
    let (&first, rest) = buf.split_first().ok_or(OptionError::Truncated)?;
    let (delta, rest) = extended(first >> 4, rest, OptionError::ReservedDelta)?;
    let (len, rest) = extended(first & 0x0f, rest, OptionError::ReservedLength)?;
    let number = u16::try_from(u32::from(prev) + delta).map_err(|_| OptionError::NumberOverflow)?;
    if rest.len() < len as usize {
        return Err(OptionError::Truncated);
    }
    let (value, rest) = rest.split_at(len as usize);
    Ok((
        CoapOption {
            number: OptionNumber(number),
            value,
        },
        rest,
    ))
}

/// Splits a message's option bytes from its payload: validates every option header up to the
/// payload marker or the end. Returns the length of the options part.
pub(crate) fn scan(buf: &[u8]) -> Result<usize, OptionError> {
    let mut rest = buf;
    let mut number = 0u16;
    while let Some(&b) = rest.first() {
        if b == 0xff {
            break;
        }
        let (opt, after) = read_option(rest, number)?;
        number = opt.number.0;
        rest = after;
    }
    Ok(buf.len() - rest.len())
}

/// The options of a message: validated wire bytes, read on demand in number order.
#[derive(Clone, Default, PartialEq, Eq, Hash)]
pub struct Options {
    raw: Bytes,
}

impl Options {
    /// No options.
    pub const fn new() -> Self {
        Options { raw: Bytes::new() }
    }

    /// A builder that sorts options into number order. It starts with room for 64 bytes of
    /// options, which most messages fit in one allocation.
    pub fn builder() -> OptionsBuilder {
        OptionsBuilder {
            wire: BytesMut::with_capacity(64),
            ..OptionsBuilder::default()
        }
    }

    /// Wraps option bytes already checked by [`scan`].
    pub(crate) fn from_scanned(raw: Bytes) -> Self {
        Options { raw }
    }

    /// The options as on the wire (deltas and lengths included).
    pub fn as_bytes(&self) -> &Bytes {
        &self.raw
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.raw.is_empty()
    }

    /// The options in wire (= number) order.
    pub fn iter(&self) -> OptionsIter<'_> {
        OptionsIter {
            buf: &self.raw,
            number: 0,
        }
    }

    /// The first option with this number.
    pub fn get(&self, number: OptionNumber) -> Option<CoapOption<'_>> {
        self.iter().find(|o| o.number == number)
    }

    /// Every option with this number, in order.
    pub fn get_all(&self, number: OptionNumber) -> impl Iterator<Item = CoapOption<'_>> + '_ {
        self.iter().filter(move |o| o.number == number)
    }

    /// The first option with this number as a uint.
    pub fn get_uint(&self, number: OptionNumber) -> Option<u32> {
        self.get(number).and_then(|o| o.as_uint())
    }

    /// Options tern does not recognize, in order, with whether each is critical. Per RFC 7252
    /// §5.4.5 and §5.4.3 a repeated non-repeatable option (every occurrence after the first)
    /// and a value outside the registry's length range count as unrecognized too.
    pub fn unrecognized(&self) -> impl Iterator<Item = CoapOption<'_>> + '_ {
        let mut prev: Option<OptionNumber> = None;
        self.iter().filter(move |o| {
            let repeated = prev == Some(o.number) && o.number.info().is_some_and(|i| !i.repeatable);
            prev = Some(o.number);
            o.number.info().is_none() || repeated || !o.is_well_formed()
        })
    }

    /// The first unrecognized critical option: a request carrying one is answered with 4.02
    /// Bad Option; a response carrying one is rejected (RFC 7252 §5.4.1).
    pub fn first_unrecognized_critical(&self) -> Option<OptionNumber> {
        self.unrecognized()
            .find(|o| o.number.is_critical())
            .map(|o| o.number)
    }

    pub(crate) fn encoded_len(&self) -> usize {
        self.raw.len()
    }
}

impl fmt::Debug for Options {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

impl<'a> IntoIterator for &'a Options {
    type Item = CoapOption<'a>;
    type IntoIter = OptionsIter<'a>;
    fn into_iter(self) -> OptionsIter<'a> {
        self.iter()
    }
}

/// Iterator over the options of an [`Options`] block.
#[derive(Debug, Clone)]
pub struct OptionsIter<'a> {
    buf: &'a [u8],
    number: u16,
}

impl<'a> Iterator for OptionsIter<'a> {
    type Item = CoapOption<'a>;
    #[inline]
    fn next(&mut self) -> Option<CoapOption<'a>> {
        if self.buf.is_empty() {
            return None;
        }
        // The bytes were validated when decoded or built; stop rather than panic if not.
        let (opt, rest) = read_option(self.buf, self.number).ok()?;
        self.buf = rest;
        self.number = opt.number.0;
        Some(opt)
    }
}

/// Collects options in any order and writes them in number order (stable for repeats).
///
/// Options pushed in number order (the usual case) are written straight into one buffer, so
/// building allocates only that buffer; an option pushed out of order is set aside and merged
/// in by [`OptionsBuilder::build`].
#[derive(Debug, Default, Clone)]
pub struct OptionsBuilder {
    /// The options pushed in order so far, in wire form.
    wire: BytesMut,
    /// The number of the last option in `wire`.
    last: u16,
    /// Options pushed after a higher-numbered one, in push order.
    late: Vec<(OptionNumber, Bytes)>,
    /// The first error met (a value too long to encode).
    error: Option<OptionError>,
}

impl OptionsBuilder {
    /// Adds an option with a byte or string value.
    pub fn push(mut self, number: OptionNumber, value: impl AsRef<[u8]>) -> Self {
        let value = value.as_ref();
        if self.error.is_some() {
            return self;
        }
        if self.late.is_empty() && number.0 >= self.last {
            match write_option(&mut self.wire, number.0 - self.last, value) {
                Ok(()) => self.last = number.0,
                Err(e) => self.error = Some(e),
            }
        } else {
            self.late.push((number, Bytes::copy_from_slice(value)));
        }
        self
    }

    /// Adds an option with a uint value, written in minimal length.
    pub fn push_uint(self, number: OptionNumber, value: u32) -> Self {
        let (bytes, len) = encode_uint(value);
        self.push(number, bytes.get(..len).unwrap_or_default())
    }

    /// Adds an empty option (e.g. If-None-Match).
    pub fn push_empty(self, number: OptionNumber) -> Self {
        self.push(number, [])
    }

    /// Writes the options in number order.
    pub fn build(self) -> Result<Options, OptionError> {
        if let Some(e) = self.error {
            return Err(e);
        }
        let in_order = self.wire.freeze();
        if self.late.is_empty() {
            return Ok(Options { raw: in_order });
        }
        // Merge: the in-order options were pushed before every late one, so a stable sort by
        // number keeps the push order of repeated options.
        let mut all: Vec<(OptionNumber, &[u8])> = OptionsIter {
            buf: &in_order,
            number: 0,
        }
        .map(|o| (o.number, o.value))
        .chain(self.late.iter().map(|(n, v)| (*n, &v[..])))
        .collect();
        all.sort_by_key(|(n, _)| *n);
        let mut buf = BytesMut::with_capacity(in_order.len() + self.late.len() * 8);
        let mut prev = 0u16;
        for (number, value) in all {
            write_option(&mut buf, number.0 - prev, value)?;
            prev = number.0;
        }
        Ok(Options { raw: buf.freeze() })
    }
}

fn nibble(v: usize) -> (u8, Option<u8>, Option<u16>) {
    match v {
        0..=12 => (v as u8, None, None),
        13..=268 => (13, Some((v - 13) as u8), None),
        _ => (14, None, Some((v - 269) as u16)),
    }
}

fn write_option(buf: &mut BytesMut, delta: u16, value: &[u8]) -> Result<(), OptionError> {
    if value.len() > usize::from(u16::MAX) + 269 {
        return Err(OptionError::ValueTooLong);
    }
    let (d, d1, d2) = nibble(usize::from(delta));
    let (l, l1, l2) = nibble(value.len());
    buf.put_u8((d << 4) | l);
    for (one, two) in [(d1, d2), (l1, l2)] {
        if let Some(b) = one {
            buf.put_u8(b);
        }
        if let Some(w) = two {
            buf.put_u16(w);
        }
    }
    buf.put_slice(value);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn option_properties_follow_the_number_bits() {
        // RFC 7252 §5.10 table: Uri-Host is critical and unsafe, ETag elective and safe,
        // Size1 (60) is NoCacheKey.
        assert!(OptionNumber::URI_HOST.is_critical() && OptionNumber::URI_HOST.is_unsafe());
        assert!(OptionNumber::ETAG.is_elective() && !OptionNumber::ETAG.is_unsafe());
        assert!(OptionNumber::SIZE1.is_no_cache_key());
        assert!(!OptionNumber::MAX_AGE.is_no_cache_key());
    }

    #[test]
    fn uint_is_minimal_and_reads_leading_zeros() {
        assert_eq!(encode_uint(0).1, 0);
        assert_eq!(encode_uint(255), ([255, 0, 0, 0], 1));
        assert_eq!(encode_uint(256), ([1, 0, 0, 0], 2));
        assert_eq!(decode_uint(&[0, 0, 1]), Some(1));
        assert_eq!(decode_uint(&[1, 2, 3, 4, 5]), None);
    }

    #[test]
    fn extended_deltas_and_lengths_round_trip() {
        let long = Bytes::from(alloc::vec![7u8; 300]);
        let opts = Options::builder()
            .push(OptionNumber(2000), long.clone())
            .push(OptionNumber(1), Bytes::from_static(b"x"))
            .push(OptionNumber(20), Bytes::from(alloc::vec![1u8; 13]))
            .build()
            .unwrap();
        let got: Vec<_> = opts.iter().map(|o| (o.number.0, o.value.len())).collect();
        assert_eq!(got, [(1, 1), (20, 13), (2000, 300)]);
        assert_eq!(scan(opts.as_bytes()), Ok(opts.as_bytes().len()));
    }

    #[test]
    fn builder_sorts_out_of_order_pushes_and_keeps_the_order_of_repeats() {
        let opts = Options::builder()
            .push(OptionNumber::URI_PATH, "a")
            .push(OptionNumber::URI_HOST, "h")
            .push(OptionNumber::URI_PATH, "b")
            .push(OptionNumber::ETAG, "e")
            .push(OptionNumber::URI_PATH, "c")
            .build()
            .unwrap();
        let got: Vec<(u16, &[u8])> = opts.iter().map(|o| (o.number.0, o.value)).collect();
        let want: [(u16, &[u8]); 5] = [(3, b"h"), (4, b"e"), (11, b"a"), (11, b"b"), (11, b"c")];
        assert_eq!(got, want);
        // The same options pushed in order give the same bytes.
        let in_order = Options::builder()
            .push(OptionNumber::URI_HOST, "h")
            .push(OptionNumber::ETAG, "e")
            .push(OptionNumber::URI_PATH, "a")
            .push(OptionNumber::URI_PATH, "b")
            .push(OptionNumber::URI_PATH, "c")
            .build()
            .unwrap();
        assert_eq!(opts, in_order);
    }

    #[test]
    fn builder_reports_a_value_too_long_to_encode() {
        let long = alloc::vec![0u8; usize::from(u16::MAX) + 270];
        let r = Options::builder().push(OptionNumber(2), &long).build();
        assert_eq!(r, Err(OptionError::ValueTooLong));
    }

    #[test]
    fn rfc7252_3_1_reserved_nibbles() {
        assert_eq!(scan(&[0xf0]), Err(OptionError::ReservedDelta));
        assert_eq!(scan(&[0x0f]), Err(OptionError::ReservedLength));
        assert_eq!(scan(&[0xd1]), Err(OptionError::Truncated));
    }

    #[test]
    fn option_numbers_do_not_wrap() {
        // 65,000 then a delta of 65,804 - 269 ... would exceed 65,535.
        let mut buf = BytesMut::new();
        write_option(&mut buf, 65_000, b"").unwrap();
        write_option(&mut buf, 1_000, b"").unwrap();
        assert_eq!(scan(&buf), Err(OptionError::NumberOverflow));
    }
}
