//! Opaque values kept inline: ETag, If-Match, Echo, Request-Tag.

use core::fmt;

use super::*;

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

            pub(super) fn decode(value: &[u8]) -> Result<$name, ValueError> {
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

    pub(super) fn decode(value: &[u8]) -> Result<IfMatch, ValueError> {
        if value.is_empty() {
            Ok(IfMatch::Exists)
        } else {
            ETag::decode(value).map(IfMatch::ETag)
        }
    }
}
