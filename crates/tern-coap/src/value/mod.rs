//! Typed option values: Block (RFC 7959, RFC 8323 §6, RFC 9177), Content-Format (RFC 7252
//! §12.3), Observe (RFC 7641), Max-Age, Size1/Size2, ETag, If-Match, If-None-Match, Hop-Limit
//! (RFC 8768), Echo and Request-Tag (RFC 9175), No-Response (RFC 7967) and the URI strings.
//!
//! Every value is read straight from the option bytes of an [`Options`] block and kept inline
//! (no value allocates). The getters are methods of [`Options`], the setters methods of
//! [`OptionsBuilder`](crate::option::OptionsBuilder):
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

use crate::option::{OptionNumber, Options, OptionsIter, ValueFormat, decode_uint};

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
pub(super) fn check(number: OptionNumber, value: &[u8]) -> Result<(), ValueError> {
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
pub(super) fn uint(value: &[u8]) -> Result<u32, ValueError> {
    decode_uint(value).ok_or(ValueError::Length {
        len: value.len(),
        min: 0,
        max: 4,
    })
}

pub(super) fn string(value: &[u8]) -> Result<&str, ValueError> {
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
pub(super) fn values<'a, T>(
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
pub(super) fn single<'a, T>(
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

mod block;
mod content_format;
mod getters;
mod hop_limit;
mod no_response;
mod observe;
mod opaque;
mod setters;

pub use block::*;
pub use content_format::*;
pub use getters::*;
pub use hop_limit::*;
pub use no_response::*;
pub use observe::*;
pub use opaque::*;
