//! UTF-8 Encoded Strings (MQTT 5.0 §1.5.4, 3.1.1 §1.5.3) as validated views of `Bytes`.

use core::fmt;
use core::ops::Deref;

use bytes::Bytes;

/// Why some bytes are not an MQTT UTF-8 Encoded String.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StringError {
    /// Not well-formed UTF-8 (which also excludes the surrogates U+D800..U+DFFF) [MQTT-1.5.4-1].
    InvalidUtf8,
    /// Contains U+0000 [MQTT-1.5.4-2].
    NullCharacter,
    /// Longer than the 65,535 bytes a two-byte length can announce.
    TooLong,
}

impl fmt::Display for StringError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            StringError::InvalidUtf8 => "string is not well-formed UTF-8 [MQTT-1.5.4-1]",
            StringError::NullCharacter => "string contains U+0000 [MQTT-1.5.4-2]",
            StringError::TooLong => "string is longer than 65,535 bytes",
        })
    }
}

#[cfg(feature = "std")]
impl std::error::Error for StringError {}

/// An MQTT UTF-8 Encoded String: well-formed UTF-8 with no U+0000, at most 65,535 bytes.
///
/// It shares the buffer it was decoded from (cloning is a reference count, not a copy) and
/// dereferences to `str`.
///
/// ```
/// use tern_mqtt::MqttString;
///
/// let s = MqttString::new("sensor-1")?;
/// assert_eq!(&*s, "sensor-1");
/// assert!(MqttString::new("nul\0inside").is_err());
/// # Ok::<(), tern_mqtt::string::StringError>(())
/// ```
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct MqttString(Bytes);

impl MqttString {
    /// Validates and wraps a string, copying it into a new buffer.
    pub fn new(s: &str) -> Result<Self, StringError> {
        Self::from_bytes(Bytes::copy_from_slice(s.as_bytes()))
    }

    /// Validates and wraps a `'static` string without copying it.
    pub fn from_static(s: &'static str) -> Result<Self, StringError> {
        Self::from_bytes(Bytes::from_static(s.as_bytes()))
    }

    /// Validates bytes as an MQTT string, keeping the buffer.
    #[inline]
    pub fn from_bytes(bytes: Bytes) -> Result<Self, StringError> {
        validate(&bytes)?;
        Ok(MqttString(bytes))
    }

    /// Wraps bytes that the caller has already checked with [`validate`] or
    /// [`is_plain_ascii`].
    pub(crate) fn from_validated(bytes: Bytes) -> Self {
        MqttString(bytes)
    }

    /// The empty string.
    pub const fn empty() -> Self {
        MqttString(Bytes::new())
    }

    /// Length in bytes (without going through `str`, whose `Deref` re-checks UTF-8).
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether the string is empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The string as `&str`.
    pub fn as_str(&self) -> &str {
        // Validated at construction; the fallback is never taken.
        core::str::from_utf8(&self.0).unwrap_or_default()
    }

    /// The underlying bytes.
    pub fn as_bytes(&self) -> &Bytes {
        &self.0
    }

    /// Gives back the underlying bytes.
    pub fn into_bytes(self) -> Bytes {
        self.0
    }
}

/// Whether every byte is ASCII and none is NUL: such bytes are a valid MQTT string (length
/// aside). This is the common case, checked eight bytes at a time.
#[inline]
pub(crate) fn is_plain_ascii(bytes: &[u8]) -> bool {
    is_plain(bytes, false)
}

const ONES: u64 = 0x0101_0101_0101_0101;
const HIGHS: u64 = 0x8080_8080_8080_8080;

/// Non-zero exactly when some byte of `x` is zero (the top bits it sets are only meaningful as
/// a whole: "Determine if a word has a zero byte", Bit Twiddling Hacks).
#[inline]
const fn zero_byte(x: u64) -> u64 {
    x.wrapping_sub(ONES) & !x & HIGHS
}

/// The index of the first '+' or '#' in `bytes` at or after `from`: eight bytes per step.
#[inline]
pub(crate) fn find_wildcard(bytes: &[u8], from: usize) -> Option<usize> {
    let mut i = from;
    while let Some(word) = bytes.get(i..i + 8) {
        let Ok(word) = <[u8; 8]>::try_from(word) else {
            break; // unreachable: the range is eight bytes long
        };
        let x = u64::from_le_bytes(word);
        let hits = zero_byte((x & !(0x08 * ONES)) ^ (0x23 * ONES));
        if hits != 0 {
            // The lowest flagged byte is always a true match (only bytes above a match can be
            // flagged spuriously, by the borrow).
            return Some(i + (hits.trailing_zeros() / 8) as usize);
        }
        i += 8;
    }
    let tail = bytes.get(i..)?;
    tail.iter().position(|&b| b & !0x08 == b'#').map(|p| i + p)
}

/// Whether every byte is ASCII and none is NUL, nor (with `no_wildcards`) '+' or '#'. Eight
/// bytes per step without branches (SWAR); the last step re-reads the final eight bytes
/// (overlapping the previous step, which is harmless for a yes/no answer) instead of going byte
/// by byte. Inputs shorter than eight bytes go byte by byte.
#[inline]
pub(crate) fn is_plain(bytes: &[u8], no_wildcards: bool) -> bool {
    #[inline]
    fn bad_bits(word: [u8; 8], no_wildcards: bool) -> u64 {
        let x = u64::from_le_bytes(word);
        // Top bits: a byte >= 0x80, or a zero byte.
        let mut bad = x | zero_byte(x);
        if no_wildcards {
            // '+' (0x2b) and '#' (0x23) differ only in bit 3: clear it and look for 0x23.
            bad |= zero_byte((x & !(0x08 * ONES)) ^ (0x23 * ONES));
        }
        bad
    }
    let Some(last) = bytes.last_chunk::<8>() else {
        let mut bad = 0u8;
        for &b in bytes {
            // `b | (b - 1)` has its top bit set exactly when b is 0 (wraps to 0xff) or
            // b >= 0x80.
            bad |= b | b.wrapping_sub(1);
            if no_wildcards {
                bad |= u8::from(b & !0x08 == b'#') << 7;
            }
        }
        return bad & 0x80 == 0;
    };
    let mut bad = bad_bits(*last, no_wildcards);
    for word in bytes.chunks_exact(8) {
        if let Ok(word) = <[u8; 8]>::try_from(word) {
            bad |= bad_bits(word, no_wildcards);
        }
    }
    bad & HIGHS == 0
}

/// Checks the MQTT string rules: plain ASCII (the common case) with one vectorised pass, the
/// rest byte by byte and with the general UTF-8 decoder.
pub(crate) fn validate(bytes: &[u8]) -> Result<(), StringError> {
    if bytes.len() > usize::from(u16::MAX) {
        return Err(StringError::TooLong);
    }
    if is_plain_ascii(bytes) {
        return Ok(());
    }
    let mut ascii = true;
    for &b in bytes {
        if b == 0 {
            return Err(StringError::NullCharacter);
        }
        ascii &= b < 0x80;
    }
    if !ascii && core::str::from_utf8(bytes).is_err() {
        return Err(StringError::InvalidUtf8);
    }
    Ok(())
}

impl Deref for MqttString {
    type Target = str;
    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl AsRef<str> for MqttString {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

impl fmt::Debug for MqttString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl fmt::Display for MqttString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl TryFrom<&str> for MqttString {
    type Error = StringError;
    fn try_from(s: &str) -> Result<Self, StringError> {
        MqttString::new(s)
    }
}

impl TryFrom<alloc::string::String> for MqttString {
    type Error = StringError;
    fn try_from(s: alloc::string::String) -> Result<Self, StringError> {
        MqttString::from_bytes(Bytes::from(s.into_bytes()))
    }
}

impl PartialEq<str> for MqttString {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<&str> for MqttString {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mqtt_1_5_4_1_ill_formed_utf8_is_rejected() {
        // A lone continuation byte, and an encoded surrogate U+D800.
        assert_eq!(validate(b"\x80"), Err(StringError::InvalidUtf8));
        assert_eq!(validate(b"\xed\xa0\x80"), Err(StringError::InvalidUtf8));
    }

    #[test]
    fn mqtt_1_5_4_2_null_character_is_rejected() {
        assert_eq!(validate(b"a\0b"), Err(StringError::NullCharacter));
    }

    #[test]
    fn mqtt_1_5_4_3_bom_is_kept_not_stripped() {
        // U+FEFF must not be skipped or stripped by a receiver.
        let s = MqttString::new("\u{feff}x").unwrap();
        assert_eq!(s.as_str(), "\u{feff}x");
    }

    #[test]
    fn plain_ascii_is_ascii_without_nul() {
        assert!(is_plain_ascii(b""));
        assert!(is_plain_ascii(b"\x01 sensors/\x7f"));
        for bad in [&b"\0"[..], b"a\0", b"\x80", b"abc\xff", "é".as_bytes()] {
            assert!(!is_plain_ascii(bad), "{bad:?}");
        }
        // Every position of a long input is checked (the vectorised loop and its tail).
        for i in 0..100 {
            let mut v = vec![b'a'; 100];
            v[i] = 0;
            assert!(!is_plain_ascii(&v));
            v[i] = 0x80;
            assert!(!is_plain_ascii(&v));
        }
    }

    #[test]
    fn length_limit_is_65535_bytes() {
        let ok = "a".repeat(65_535);
        assert!(MqttString::new(&ok).is_ok());
        assert_eq!(MqttString::new(&(ok + "a")), Err(StringError::TooLong));
    }
}
