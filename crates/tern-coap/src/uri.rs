//! CoAP URIs (RFC 7252 §6, RFC 8323 §8): parse a `coap://` URI into the Uri-Host, Uri-Port,
//! Uri-Path and Uri-Query options of a request (§6.4), and compose a URI back from those options
//! (§6.5).
//!
//! A request does not carry its URI as text: the client splits it into options with the
//! percent-encoding removed, and the server (or a proxy, or a log line) rebuilds it. Both halves
//! live here so that the round trip is the natural test.
//!
//! ```
//! use tern_coap::uri::{compose, Scheme, Uri};
//!
//! let uri = Uri::parse("coap://Example.com:61616/%7Esensors/temp.xml?unit=C")?;
//! let options = uri.to_options();
//! assert_eq!(options.len(), 5); // Uri-Host, Uri-Port, two Uri-Path, one Uri-Query
//!
//! let text = compose(
//!     Scheme::Coap,
//!     "192.0.2.1",
//!     5683,
//!     options.iter().map(|(number, value)| (*number, value.as_ref())),
//! )?;
//! assert_eq!(text, "coap://example.com:61616/~sensors/temp.xml?unit=C");
//! # Ok::<(), tern_coap::uri::UriError>(())
//! ```
//!
//! Where RFC 7252 leaves room, this module decides as follows:
//! - Uri-Host is omitted for IP-literal and IPv4 hosts: the URI names the destination address,
//!   and §6.4 step 5 leaves the option out when it would only repeat that address.
//! - Uri-Port is emitted when the URI names a port that differs from the scheme's default.
//! - A URI must be ASCII; characters outside it are accepted only percent-encoded. Decoded host,
//!   path and query values must be UTF-8, as string-valued options are (§3.2).
//! - A `?` with nothing after it is a query with one empty argument, so that a single empty
//!   Uri-Query option survives the round trip.
//! - Composing writes `/` when there is no Uri-Path option, and percent-encodes a Uri-Path value
//!   that is exactly `.` or `..` (`%2E`), so that it is not taken for a dot segment when the URI
//!   is parsed again. A single empty Uri-Path option composes to `/`, which parses back to no
//!   Uri-Path option: §6.4 treats the two as the same resource.

use alloc::string::String;
use alloc::vec::Vec;
use bytes::Bytes;
use core::fmt;
use core::net::{Ipv4Addr, Ipv6Addr};

/// The option number of Uri-Host (RFC 7252 §5.10).
///
/// ```
/// assert_eq!(tern_coap::uri::URI_HOST, 3);
/// ```
pub const URI_HOST: u16 = 3;
/// The option number of Uri-Port (RFC 7252 §5.10).
///
/// ```
/// assert_eq!(tern_coap::uri::URI_PORT, 7);
/// ```
pub const URI_PORT: u16 = 7;
/// The option number of Uri-Path (RFC 7252 §5.10).
///
/// ```
/// assert_eq!(tern_coap::uri::URI_PATH, 11);
/// ```
pub const URI_PATH: u16 = 11;
/// The option number of Uri-Query (RFC 7252 §5.10).
///
/// ```
/// assert_eq!(tern_coap::uri::URI_QUERY, 15);
/// ```
pub const URI_QUERY: u16 = 15;

/// The longest Uri-Host, Uri-Path or Uri-Query value, in bytes (RFC 7252 §5.10).
const MAX_OPTION_LEN: usize = 255;

/// A CoAP URI scheme: RFC 7252 §6.1–6.2 for UDP and DTLS, RFC 8323 §8 for TCP, TLS and
/// WebSockets.
///
/// ```
/// use tern_coap::uri::Scheme;
///
/// assert_eq!(Scheme::CoapsTcp.as_str(), "coaps+tcp");
/// assert_eq!(Scheme::CoapsTcp.default_port(), 5684);
/// assert!(Scheme::CoapsTcp.is_secure() && Scheme::CoapsTcp.is_reliable());
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Scheme {
    /// `coap`: UDP, default port 5683 (RFC 7252 §6.1).
    Coap,
    /// `coaps`: DTLS, default port 5684 (RFC 7252 §6.2).
    Coaps,
    /// `coap+tcp`: TCP, default port 5683 (RFC 8323 §8.1).
    CoapTcp,
    /// `coaps+tcp`: TLS, default port 5684 (RFC 8323 §8.2).
    CoapsTcp,
    /// `coap+ws`: WebSockets, default port 80 (RFC 8323 §8.3).
    CoapWs,
    /// `coaps+ws`: secure WebSockets, default port 443 (RFC 8323 §8.4).
    CoapsWs,
}

impl Scheme {
    /// Every scheme, in declaration order.
    ///
    /// ```
    /// assert_eq!(tern_coap::uri::Scheme::ALL.len(), 6);
    /// ```
    pub const ALL: [Scheme; 6] = [
        Scheme::Coap,
        Scheme::Coaps,
        Scheme::CoapTcp,
        Scheme::CoapsTcp,
        Scheme::CoapWs,
        Scheme::CoapsWs,
    ];

    /// The scheme name in its canonical lowercase form, without the `:`.
    ///
    /// ```
    /// assert_eq!(tern_coap::uri::Scheme::CoapWs.as_str(), "coap+ws");
    /// ```
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Scheme::Coap => "coap",
            Scheme::Coaps => "coaps",
            Scheme::CoapTcp => "coap+tcp",
            Scheme::CoapsTcp => "coaps+tcp",
            Scheme::CoapWs => "coap+ws",
            Scheme::CoapsWs => "coaps+ws",
        }
    }

    /// The port used when the URI names none.
    ///
    /// ```
    /// use tern_coap::uri::Scheme;
    ///
    /// assert_eq!(Scheme::Coap.default_port(), 5683);
    /// assert_eq!(Scheme::CoapsWs.default_port(), 443);
    /// ```
    #[must_use]
    pub const fn default_port(self) -> u16 {
        match self {
            Scheme::Coap | Scheme::CoapTcp => 5683,
            Scheme::Coaps | Scheme::CoapsTcp => 5684,
            Scheme::CoapWs => 80,
            Scheme::CoapsWs => 443,
        }
    }

    /// Whether the transport is secured (DTLS or TLS).
    ///
    /// ```
    /// use tern_coap::uri::Scheme;
    ///
    /// assert!(Scheme::Coaps.is_secure());
    /// assert!(!Scheme::CoapTcp.is_secure());
    /// ```
    #[must_use]
    pub const fn is_secure(self) -> bool {
        matches!(self, Scheme::Coaps | Scheme::CoapsTcp | Scheme::CoapsWs)
    }

    /// Whether the transport is reliable (RFC 8323: TCP, TLS or WebSockets), so that messages
    /// have no type or message id.
    ///
    /// ```
    /// use tern_coap::uri::Scheme;
    ///
    /// assert!(Scheme::CoapWs.is_reliable());
    /// assert!(!Scheme::Coaps.is_reliable());
    /// ```
    #[must_use]
    pub const fn is_reliable(self) -> bool {
        !matches!(self, Scheme::Coap | Scheme::Coaps)
    }

    /// Looks a scheme name up, ignoring ASCII case (RFC 3986 §3.1); `None` if it is not a CoAP
    /// scheme.
    ///
    /// ```
    /// use tern_coap::uri::Scheme;
    ///
    /// assert_eq!(Scheme::from_name("COAP+TCP"), Some(Scheme::CoapTcp));
    /// assert_eq!(Scheme::from_name("http"), None);
    /// ```
    #[must_use]
    pub fn from_name(name: &str) -> Option<Scheme> {
        Scheme::ALL
            .into_iter()
            .find(|scheme| scheme.as_str().eq_ignore_ascii_case(name))
    }
}

impl fmt::Display for Scheme {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a URI could not be parsed, or options could not be composed into one.
///
/// The Display text names the rule and the section that states it.
///
/// ```
/// use tern_coap::uri::{Uri, UriError};
///
/// let err = Uri::parse("coap://example.com/#top").unwrap_err();
/// assert_eq!(err, UriError::Fragment);
/// assert!(err.to_string().contains("§6.4"));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum UriError {
    /// The text is not an absolute URI: no valid `scheme:` prefix (RFC 7252 §6.4 step 1).
    NotAbsolute,
    /// The scheme is not one of the CoAP schemes (RFC 7252 §6.4 step 2).
    UnsupportedScheme,
    /// The URI has a fragment, which a request cannot carry (RFC 7252 §6.4 step 3).
    Fragment,
    /// The URI has no `//` authority or an empty host (RFC 7252 §6.1), or there is neither a
    /// Uri-Host option nor a destination host to compose with (RFC 7252 §6.5).
    MissingHost,
    /// The authority has a userinfo part (`user@`), which CoAP URIs do not have (RFC 7252 §6.1).
    UserInfo,
    /// The host is neither a valid bracketed IPv6 literal, an IPv4 address nor a reg-name
    /// (RFC 3986 §3.2.2).
    InvalidHost,
    /// The port is not a decimal number from 0 to 65535 (RFC 3986 §3.2.3, RFC 7252 §6.1), or a
    /// Uri-Port value is longer than two bytes (RFC 7252 §5.10).
    InvalidPort,
    /// A character that the path or query may not hold unencoded (RFC 3986 §3.3, §3.4).
    InvalidCharacter,
    /// A `%` not followed by two hexadecimal digits (RFC 3986 §2.1).
    InvalidPercentEncoding,
    /// A host, path segment or query argument that is not UTF-8 once decoded, or an option value
    /// that is not UTF-8 (string option values are UTF-8, RFC 7252 §3.2).
    InvalidUtf8,
    /// A Uri-Host, Uri-Path or Uri-Query value outside its length range (RFC 7252 §5.10: 1–255
    /// bytes for Uri-Host, 0–255 for the others); the option number says which.
    OptionLength {
        /// The option that would be too long (or, for Uri-Host, empty).
        number: u16,
    },
    /// Uri-Host or Uri-Port appears twice, which these non-repeatable options may not
    /// (RFC 7252 §5.4.5).
    RepeatedOption {
        /// The repeated option.
        number: u16,
    },
}

impl fmt::Display for UriError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            UriError::NotAbsolute => {
                f.write_str("not an absolute URI: expected `scheme:` (RFC 7252 §6.4 step 1)")
            }
            UriError::UnsupportedScheme => f.write_str(
                "not a CoAP scheme: expected coap, coaps, coap+tcp, coaps+tcp, coap+ws or coaps+ws (RFC 7252 §6.4 step 2, RFC 8323 §8)",
            ),
            UriError::Fragment => {
                f.write_str("a request URI cannot have a fragment (RFC 7252 §6.4 step 3)")
            }
            UriError::MissingHost => {
                f.write_str("a CoAP URI needs an authority with a non-empty host (RFC 7252 §6.1)")
            }
            UriError::UserInfo => {
                f.write_str("a CoAP URI has no userinfo (`user@`) in its authority (RFC 7252 §6.1)")
            }
            UriError::InvalidHost => f.write_str(
                "the host is not an IPv6 literal, an IPv4 address or a reg-name (RFC 3986 §3.2.2)",
            ),
            UriError::InvalidPort => f.write_str(
                "the port is not a number from 0 to 65535 (RFC 7252 §6.1, §5.10; RFC 3986 §3.2.3)",
            ),
            UriError::InvalidCharacter => f.write_str(
                "a character the path or query must percent-encode (RFC 3986 §3.3, §3.4)",
            ),
            UriError::InvalidPercentEncoding => {
                f.write_str("`%` must be followed by two hexadecimal digits (RFC 3986 §2.1)")
            }
            UriError::InvalidUtf8 => f.write_str(
                "a host, path segment or query argument is not UTF-8 (RFC 7252 §3.2, §5.10)",
            ),
            UriError::OptionLength { number } => write!(
                f,
                "{} value outside its length range of {} bytes (RFC 7252 §5.10)",
                option_name(*number),
                if *number == URI_HOST { "1-255" } else { "0-255" }
            ),
            UriError::RepeatedOption { number } => write!(
                f,
                "{} is not repeatable but appears twice (RFC 7252 §5.4.5)",
                option_name(*number)
            ),
        }
    }
}

#[cfg(feature = "std")]
impl std::error::Error for UriError {}

fn option_name(number: u16) -> &'static str {
    match number {
        URI_HOST => "Uri-Host",
        URI_PORT => "Uri-Port",
        URI_PATH => "Uri-Path",
        URI_QUERY => "Uri-Query",
        _ => "option",
    }
}

/// How the host of a [`Uri`] was written.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum HostKind {
    RegName,
    Ipv4,
    Ipv6,
}

/// A parsed CoAP URI: scheme, host, optional port, path segments and query arguments, with
/// percent-encoding removed and dot segments resolved, as they go into a request's options
/// (RFC 7252 §6.4).
///
/// ```
/// use tern_coap::uri::{Scheme, Uri};
///
/// let uri = Uri::parse("coaps://[2001:db8::1]:61616/a/./b/../c%20d?x=1&y")?;
/// assert_eq!(uri.scheme(), Scheme::Coaps);
/// assert_eq!(uri.host(), "2001:db8::1");
/// assert!(uri.is_ip_literal());
/// assert_eq!(uri.port(), Some(61616));
/// assert_eq!(uri.path_segments(), ["a", "c d"]);
/// assert_eq!(uri.query_params(), ["x=1", "y"]);
/// assert_eq!(uri.to_string(), "coaps://[2001:db8::1]:61616/a/c%20d?x=1&y");
/// # Ok::<(), tern_coap::uri::UriError>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Uri {
    scheme: Scheme,
    host: String,
    host_kind: HostKind,
    port: Option<u16>,
    path: Vec<String>,
    query: Vec<String>,
}

impl Uri {
    /// Parses an absolute CoAP URI.
    ///
    /// The scheme is matched without regard to case; a reg-name host is percent-decoded and
    /// lowercased; an IPv4 or bracketed IPv6 host keeps the text it was written with; an empty
    /// port means the default port; `.` and `..` segments are removed (RFC 3986 §5.2.4); each
    /// path segment and query argument is percent-decoded. A fragment is an error.
    ///
    /// ```
    /// use tern_coap::uri::{Uri, UriError};
    ///
    /// let uri = Uri::parse("COAP://EXAMPLE.com:/%7esensors/temp.xml")?;
    /// assert_eq!(uri.host(), "example.com");
    /// assert_eq!(uri.port(), None);
    /// assert_eq!(uri.path_segments(), ["~sensors", "temp.xml"]);
    ///
    /// assert_eq!(Uri::parse("coap://h:65536/"), Err(UriError::InvalidPort));
    /// assert_eq!(Uri::parse("/relative"), Err(UriError::NotAbsolute));
    /// # Ok::<(), UriError>(())
    /// ```
    pub fn parse(text: &str) -> Result<Uri, UriError> {
        let (scheme_name, rest) = text.split_once(':').ok_or(UriError::NotAbsolute)?;
        if !is_scheme_syntax(scheme_name) {
            return Err(UriError::NotAbsolute);
        }
        let scheme = Scheme::from_name(scheme_name).ok_or(UriError::UnsupportedScheme)?;
        if rest.contains('#') {
            return Err(UriError::Fragment);
        }
        let rest = rest.strip_prefix("//").ok_or(UriError::MissingHost)?;

        let (before_query, query) = match rest.split_once('?') {
            Some((before, query)) => (before, Some(query)),
            None => (rest, None),
        };
        let (authority, path) = match before_query.find('/') {
            Some(at) => before_query.split_at(at),
            None => (before_query, ""),
        };
        if authority.contains('@') {
            return Err(UriError::UserInfo);
        }
        let (host, host_kind, port) = parse_authority(authority)?;

        if !path.bytes().all(|b| b == b'/' || is_pchar(b)) {
            return Err(UriError::InvalidCharacter);
        }
        let path = remove_dot_segments(path);
        let mut segments = Vec::new();
        // §6.4 step 8: "" and "/" give no Uri-Path option; otherwise every segment after the
        // leading slash is one, so a trailing slash gives an empty last one.
        if let Some(tail) = path.strip_prefix('/').filter(|tail| !tail.is_empty()) {
            for segment in tail.split('/') {
                segments.push(decode_value(segment, URI_PATH)?);
            }
        }

        let mut arguments = Vec::new();
        if let Some(query) = query {
            if !query.bytes().all(|b| b == b'/' || b == b'?' || is_pchar(b)) {
                return Err(UriError::InvalidCharacter);
            }
            for argument in query.split('&') {
                arguments.push(decode_value(argument, URI_QUERY)?);
            }
        }

        Ok(Uri {
            scheme,
            host,
            host_kind,
            port,
            path: segments,
            query: arguments,
        })
    }

    /// The scheme.
    ///
    /// ```
    /// use tern_coap::uri::{Scheme, Uri};
    ///
    /// assert_eq!(Uri::parse("CoAP+WS://h/")?.scheme(), Scheme::CoapWs);
    /// # Ok::<(), tern_coap::uri::UriError>(())
    /// ```
    #[must_use]
    pub fn scheme(&self) -> Scheme {
        self.scheme
    }

    /// The host: a reg-name percent-decoded and lowercased, an IPv4 address as written, or an
    /// IPv6 address as written between the brackets (without them).
    ///
    /// ```
    /// use tern_coap::uri::Uri;
    ///
    /// assert_eq!(Uri::parse("coap://Caf%C3%A9.Example/")?.host(), "café.example");
    /// assert_eq!(Uri::parse("coap://[::1]/")?.host(), "::1");
    /// # Ok::<(), tern_coap::uri::UriError>(())
    /// ```
    #[must_use]
    pub fn host(&self) -> &str {
        &self.host
    }

    /// Whether the host is an IP address (IPv4 or bracketed IPv6) rather than a name; such a
    /// host gives no Uri-Host option.
    ///
    /// ```
    /// use tern_coap::uri::Uri;
    ///
    /// assert!(Uri::parse("coap://192.0.2.1/")?.is_ip_literal());
    /// assert!(!Uri::parse("coap://example.com/")?.is_ip_literal());
    /// # Ok::<(), tern_coap::uri::UriError>(())
    /// ```
    #[must_use]
    pub fn is_ip_literal(&self) -> bool {
        self.host_kind != HostKind::RegName
    }

    /// The port written in the URI, or `None` when it names none (or an empty one).
    ///
    /// ```
    /// use tern_coap::uri::Uri;
    ///
    /// assert_eq!(Uri::parse("coap://h:5683/")?.port(), Some(5683));
    /// assert_eq!(Uri::parse("coap://h:/")?.port(), None);
    /// # Ok::<(), tern_coap::uri::UriError>(())
    /// ```
    #[must_use]
    pub fn port(&self) -> Option<u16> {
        self.port
    }

    /// The port to send to: the one written, or the scheme's default.
    ///
    /// ```
    /// use tern_coap::uri::Uri;
    ///
    /// assert_eq!(Uri::parse("coaps://h/")?.effective_port(), 5684);
    /// assert_eq!(Uri::parse("coaps://h:1/")?.effective_port(), 1);
    /// # Ok::<(), tern_coap::uri::UriError>(())
    /// ```
    #[must_use]
    pub fn effective_port(&self) -> u16 {
        self.port.unwrap_or(self.scheme.default_port())
    }

    /// The path segments, percent-decoded: the Uri-Path option values.
    ///
    /// ```
    /// use tern_coap::uri::Uri;
    ///
    /// assert_eq!(Uri::parse("coap://h/a%2Fb/c/")?.path_segments(), ["a/b", "c", ""]);
    /// assert!(Uri::parse("coap://h/")?.path_segments().is_empty());
    /// # Ok::<(), tern_coap::uri::UriError>(())
    /// ```
    #[must_use]
    pub fn path_segments(&self) -> &[String] {
        &self.path
    }

    /// The query arguments split at `&`, percent-decoded: the Uri-Query option values.
    ///
    /// ```
    /// use tern_coap::uri::Uri;
    ///
    /// assert_eq!(Uri::parse("coap://h/?a=1&&b%26c")?.query_params(), ["a=1", "", "b&c"]);
    /// assert!(Uri::parse("coap://h/")?.query_params().is_empty());
    /// # Ok::<(), tern_coap::uri::UriError>(())
    /// ```
    #[must_use]
    pub fn query_params(&self) -> &[String] {
        &self.query
    }

    /// The request options for this URI (RFC 7252 §6.4), in option-number order.
    ///
    /// - Uri-Host (3), unless the host is an IP address: the URI then names the destination
    ///   itself and §6.4 step 5 leaves the option out.
    /// - Uri-Port (7), when the URI names a port other than the scheme's default, as a
    ///   minimal-length unsigned integer (port 0 is the empty value).
    /// - Uri-Path (11), one per path segment.
    /// - Uri-Query (15), one per query argument.
    ///
    /// ```
    /// use tern_coap::uri::Uri;
    ///
    /// let options = Uri::parse("coap://[::1]:61616/hello?a=b&c")?.to_options();
    /// let expected: [(u16, &[u8]); 4] =
    ///     [(7, &[0xF0, 0xB0]), (11, b"hello"), (15, b"a=b"), (15, b"c")];
    /// assert!(options.iter().map(|(n, v)| (*n, v.as_ref())).eq(expected));
    /// # Ok::<(), tern_coap::uri::UriError>(())
    /// ```
    #[must_use]
    pub fn to_options(&self) -> Vec<(u16, Bytes)> {
        let mut options = Vec::with_capacity(2 + self.path.len() + self.query.len());
        if self.host_kind == HostKind::RegName {
            options.push((URI_HOST, Bytes::from(self.host.clone().into_bytes())));
        }
        if let Some(port) = self.port.filter(|&p| p != self.scheme.default_port()) {
            options.push((URI_PORT, encode_port(port)));
        }
        for segment in &self.path {
            options.push((URI_PATH, Bytes::from(segment.clone().into_bytes())));
        }
        for argument in &self.query {
            options.push((URI_QUERY, Bytes::from(argument.clone().into_bytes())));
        }
        options
    }
}

impl fmt::Display for Uri {
    /// Writes the URI in canonical form: lowercase scheme and host, no default port, dot
    /// segments removed, and only the characters that must be percent-encoded encoded.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let host = match self.host_kind {
            HostKind::Ipv6 => HostText::Bracketed(&self.host),
            HostKind::Ipv4 => HostText::Verbatim(&self.host),
            HostKind::RegName => HostText::RegName(&self.host),
        };
        write_uri(
            f,
            self.scheme,
            host,
            self.port,
            self.path.iter().map(String::as_str),
            self.query.iter().map(String::as_str),
        )
    }
}

impl core::str::FromStr for Uri {
    type Err = UriError;

    /// Same as [`Uri::parse`].
    fn from_str(text: &str) -> Result<Uri, UriError> {
        Uri::parse(text)
    }
}

/// Builds a URI from a request's options (RFC 7252 §6.5).
///
/// `host` and `port` are the request's destination: they stand in for Uri-Host and Uri-Port when
/// those options are absent (an IPv6 address gets brackets). Uri-Path and Uri-Query values are
/// percent-encoded where the URI syntax requires it; the scheme's default port is left out.
/// Options other than Uri-Host, Uri-Port, Uri-Path and Uri-Query are ignored, so a message's
/// whole option list can be passed; Uri-Path and Uri-Query values keep their relative order.
///
/// # Errors
/// A value that is not UTF-8, a Uri-Host that is empty or longer than 255 bytes, a Uri-Path or
/// Uri-Query longer than 255 bytes, a Uri-Port longer than two bytes, a repeated Uri-Host or
/// Uri-Port, or no host at all.
///
/// ```
/// use tern_coap::uri::{compose, Scheme};
///
/// let options: [(u16, &[u8]); 3] = [(11, b"a b"), (11, b"c/d"), (15, b"x&y=?/")];
/// let uri = compose(Scheme::Coap, "2001:db8::1", 5683, options)?;
/// assert_eq!(uri, "coap://[2001:db8::1]/a%20b/c%2Fd?x%26y=?/");
///
/// let uri = compose(Scheme::CoapTcp, "192.0.2.1", 5683, [(3, &b"example.com"[..]), (7, &[0x16, 0x33][..])])?;
/// assert_eq!(uri, "coap+tcp://example.com/");
/// # Ok::<(), tern_coap::uri::UriError>(())
/// ```
pub fn compose<'a>(
    scheme: Scheme,
    host: &str,
    port: u16,
    options: impl IntoIterator<Item = (u16, &'a [u8])>,
) -> Result<String, UriError> {
    let mut uri_host: Option<&str> = None;
    let mut uri_port: Option<u16> = None;
    let mut path = Vec::new();
    let mut query = Vec::new();
    for (number, value) in options {
        match number {
            URI_HOST => {
                if uri_host.is_some() {
                    return Err(UriError::RepeatedOption { number });
                }
                if value.is_empty() || value.len() > MAX_OPTION_LEN {
                    return Err(UriError::OptionLength { number });
                }
                uri_host = Some(utf8(value)?);
            }
            URI_PORT => {
                if uri_port.is_some() {
                    return Err(UriError::RepeatedOption { number });
                }
                uri_port = Some(decode_port(value)?);
            }
            URI_PATH | URI_QUERY => {
                if value.len() > MAX_OPTION_LEN {
                    return Err(UriError::OptionLength { number });
                }
                let value = utf8(value)?;
                if number == URI_PATH {
                    path.push(value);
                } else {
                    query.push(value);
                }
            }
            _ => {}
        }
    }

    let host = uri_host.unwrap_or(host);
    let host = if let Some(inner) = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .filter(|inner| inner.parse::<Ipv6Addr>().is_ok())
    {
        HostText::Bracketed(inner)
    } else if host.parse::<Ipv6Addr>().is_ok() {
        HostText::Bracketed(host)
    } else if host.parse::<Ipv4Addr>().is_ok() {
        HostText::Verbatim(host)
    } else if host.is_empty() {
        return Err(UriError::MissingHost);
    } else {
        // Anything else is a name; brackets and colons in it get percent-encoded.
        HostText::RegName(host)
    };

    let mut out = String::new();
    // Writing into a String cannot fail; the error arm only satisfies fmt::Write's signature.
    write_uri(
        &mut out,
        scheme,
        host,
        Some(uri_port.unwrap_or(port)),
        path.into_iter(),
        query.into_iter(),
    )
    .map_err(|_| UriError::InvalidCharacter)?;
    Ok(out)
}

/// A host as it is to be written.
#[derive(Clone, Copy)]
enum HostText<'a> {
    /// An IPv6 address, written between brackets.
    Bracketed(&'a str),
    /// An IPv4 address, written as is.
    Verbatim(&'a str),
    /// A name, percent-encoded where needed.
    RegName(&'a str),
}

fn write_uri<'a>(
    out: &mut impl fmt::Write,
    scheme: Scheme,
    host: HostText<'_>,
    port: Option<u16>,
    path: impl ExactSizeIterator<Item = &'a str>,
    query: impl ExactSizeIterator<Item = &'a str>,
) -> fmt::Result {
    out.write_str(scheme.as_str())?;
    out.write_str("://")?;
    match host {
        HostText::Bracketed(ip) => write!(out, "[{ip}]")?,
        HostText::Verbatim(ip) => out.write_str(ip)?,
        HostText::RegName(name) => percent_encode(out, name, is_reg_name_char)?,
    }
    if let Some(port) = port.filter(|&p| p != scheme.default_port()) {
        write!(out, ":{port}")?;
    }
    if path.len() == 0 {
        out.write_char('/')?;
    }
    for segment in path {
        out.write_char('/')?;
        if segment == "." || segment == ".." {
            // Literal dots would be read back as a dot segment and removed.
            for _ in 0..segment.len() {
                out.write_str("%2E")?;
            }
        } else {
            percent_encode(out, segment, is_pchar_unencoded)?;
        }
    }
    for (i, argument) in query.enumerate() {
        out.write_char(if i == 0 { '?' } else { '&' })?;
        percent_encode(out, argument, |b| {
            b != b'&' && (is_pchar_unencoded(b) || b == b'/' || b == b'?')
        })?;
    }
    Ok(())
}

fn percent_encode(out: &mut impl fmt::Write, value: &str, keep: fn(u8) -> bool) -> fmt::Result {
    for b in value.bytes() {
        if keep(b) {
            out.write_char(char::from(b))?;
        } else {
            write!(out, "%{b:02X}")?;
        }
    }
    Ok(())
}

/// Splits `host [ ":" port ]` and classifies the host (RFC 3986 §3.2.2–3.2.3).
fn parse_authority(authority: &str) -> Result<(String, HostKind, Option<u16>), UriError> {
    let (host, kind, port_text) = if let Some(rest) = authority.strip_prefix('[') {
        let (inner, after) = rest.split_once(']').ok_or(UriError::InvalidHost)?;
        // IPvFuture and zone identifiers (RFC 6874) have no use in CoAP and are refused by the
        // address parser, as is anything else that is not an IPv6 address.
        if inner.parse::<Ipv6Addr>().is_err() {
            return Err(UriError::InvalidHost);
        }
        let port_text = if after.is_empty() {
            None
        } else {
            Some(after.strip_prefix(':').ok_or(UriError::InvalidHost)?)
        };
        (String::from(inner), HostKind::Ipv6, port_text)
    } else {
        let (host_text, port_text) = match authority.split_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (authority, None),
        };
        if host_text.is_empty() {
            return Err(UriError::MissingHost);
        }
        if host_text.parse::<Ipv4Addr>().is_ok() {
            (String::from(host_text), HostKind::Ipv4, port_text)
        } else {
            if !host_text.bytes().all(|b| b == b'%' || is_reg_name_char(b)) {
                return Err(UriError::InvalidHost);
            }
            let mut name = decode_value(host_text, URI_HOST)?;
            if name.is_empty() {
                return Err(UriError::OptionLength { number: URI_HOST });
            }
            name.make_ascii_lowercase();
            (name, HostKind::RegName, port_text)
        }
    };
    let port = match port_text {
        None | Some("") => None,
        Some(text) => Some(parse_port(text)?),
    };
    Ok((host, kind, port))
}

fn parse_port(text: &str) -> Result<u16, UriError> {
    let mut port: u16 = 0;
    for b in text.bytes() {
        if !b.is_ascii_digit() {
            return Err(UriError::InvalidPort);
        }
        port = port
            .checked_mul(10)
            .and_then(|p| p.checked_add(u16::from(b - b'0')))
            .ok_or(UriError::InvalidPort)?;
    }
    Ok(port)
}

/// The Uri-Port value: a uint in as few bytes as it takes (RFC 7252 §3.2), 0 being empty.
fn encode_port(port: u16) -> Bytes {
    let bytes = port.to_be_bytes();
    let skip = bytes.iter().take_while(|&&b| b == 0).count();
    Bytes::copy_from_slice(bytes.get(skip..).unwrap_or_default())
}

/// Reads a Uri-Port value of up to two bytes, leading zeros allowed.
fn decode_port(value: &[u8]) -> Result<u16, UriError> {
    if value.len() > 2 {
        return Err(UriError::InvalidPort);
    }
    Ok(value
        .iter()
        .fold(0u16, |port, &b| (port << 8) | u16::from(b)))
}

fn utf8(value: &[u8]) -> Result<&str, UriError> {
    core::str::from_utf8(value).map_err(|_| UriError::InvalidUtf8)
}

/// Percent-decodes one host, path segment or query argument into the option value it becomes,
/// checking it against the option's 255-byte limit.
fn decode_value(text: &str, number: u16) -> Result<String, UriError> {
    let mut out = Vec::with_capacity(text.len());
    let mut bytes = text.bytes();
    while let Some(b) = bytes.next() {
        if b == b'%' {
            let high = bytes.next().and_then(hex_digit);
            let low = bytes.next().and_then(hex_digit);
            match (high, low) {
                (Some(high), Some(low)) => out.push((high << 4) | low),
                _ => return Err(UriError::InvalidPercentEncoding),
            }
        } else {
            out.push(b);
        }
    }
    if out.len() > MAX_OPTION_LEN {
        return Err(UriError::OptionLength { number });
    }
    String::from_utf8(out).map_err(|_| UriError::InvalidUtf8)
}

fn hex_digit(b: u8) -> Option<u8> {
    char::from(b)
        .to_digit(16)
        .and_then(|d| u8::try_from(d).ok())
}

/// RFC 3986 §5.2.4 for the paths a CoAP URI can have: empty, or starting with `/`.
///
/// Working segment by segment is equivalent to the RFC's two-buffer loop here: `.` drops out,
/// `..` drops the segment before it (never past the root), and either one at the end leaves a
/// trailing slash behind.
fn remove_dot_segments(path: &str) -> String {
    let Some(tail) = path.strip_prefix('/') else {
        // path-abempty is either empty or starts with '/'.
        return String::from(path);
    };
    let mut kept: Vec<&str> = Vec::new();
    let mut segments = tail.split('/').peekable();
    while let Some(segment) = segments.next() {
        let last = segments.peek().is_none();
        match segment {
            "." => {}
            ".." => {
                kept.pop();
            }
            other => {
                kept.push(other);
                continue;
            }
        }
        if last {
            kept.push("");
        }
    }
    let mut out = String::with_capacity(path.len());
    for segment in kept {
        out.push('/');
        out.push_str(segment);
    }
    if out.is_empty() {
        out.push('/');
    }
    out
}

/// `scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." )` (RFC 3986 §3.1).
fn is_scheme_syntax(name: &str) -> bool {
    let mut bytes = name.bytes();
    bytes.next().is_some_and(|b| b.is_ascii_alphabetic())
        && bytes.all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.'))
}

/// `unreserved` (RFC 3986 §2.3).
fn is_unreserved(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~')
}

/// `sub-delims` (RFC 3986 §2.2).
fn is_sub_delim(b: u8) -> bool {
    matches!(
        b,
        b'!' | b'$' | b'&' | b'\'' | b'(' | b')' | b'*' | b'+' | b',' | b';' | b'='
    )
}

/// The characters of `reg-name` other than the `%` of a percent-encoding.
fn is_reg_name_char(b: u8) -> bool {
    is_unreserved(b) || is_sub_delim(b)
}

/// The characters of `pchar` other than the `%` of a percent-encoding.
fn is_pchar_unencoded(b: u8) -> bool {
    is_unreserved(b) || is_sub_delim(b) || b == b':' || b == b'@'
}

/// `pchar`, taking `%` as the start of a percent-encoding (checked when decoding).
fn is_pchar(b: u8) -> bool {
    b == b'%' || is_pchar_unencoded(b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remove_dot_segments_matches_rfc3986_5_2_4() {
        for (input, expected) in [
            ("", ""),
            ("/", "/"),
            ("/a/b/c/./../../g", "/a/g"),
            ("/mid/content=5/../6", "/mid/6"),
            ("/..", "/"),
            ("/.", "/"),
            ("/a/..", "/"),
            ("/a/.", "/a/"),
            ("/a/../", "/"),
            ("/a//../b", "/a/b"),
            ("/../../a", "/a"),
            ("/a/.../b", "/a/.../b"),
            ("/a/..b/.c", "/a/..b/.c"),
        ] {
            assert_eq!(remove_dot_segments(input), expected, "{input}");
        }
    }

    #[test]
    fn uri_port_is_a_minimal_uint() {
        assert!(encode_port(0).is_empty());
        assert_eq!(encode_port(255).as_ref(), [255]);
        assert_eq!(encode_port(256).as_ref(), [1, 0]);
        assert_eq!(decode_port(&[0, 80]), Ok(80));
        assert_eq!(decode_port(&[]), Ok(0));
        assert_eq!(decode_port(&[0, 0, 1]), Err(UriError::InvalidPort));
    }
}
