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
    pub fn from_bytes(bytes: Bytes) -> Result<Self, StringError> {
        validate(&bytes)?;
        Ok(MqttString(bytes))
    }

    /// The empty string.
    pub const fn empty() -> Self {
        MqttString(Bytes::new())
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

/// Checks the MQTT string rules. ASCII, the common case, is checked byte by byte without the
/// general UTF-8 decoder.
pub(crate) fn validate(bytes: &[u8]) -> Result<(), StringError> {
    if bytes.len() > usize::from(u16::MAX) {
        return Err(StringError::TooLong);
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
    fn length_limit_is_65535_bytes() {
        let ok = "a".repeat(65_535);
        assert!(MqttString::new(&ok).is_ok());
        assert_eq!(MqttString::new(&(ok + "a")), Err(StringError::TooLong));
    }
}
