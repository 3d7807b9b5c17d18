//! What the application sends and receives: [`Request`] and [`Response`], with builders that
//! write their options through one [`OptionsBuilder`] (one buffer for all the options).

use core::fmt;

use bytes::Bytes;

use crate::message::{Code, Token};
use crate::option::{OptionError, Options, OptionsBuilder};
use crate::value::ValueError;

/// A request: method, options, payload, and whether it goes Confirmable.
///
/// The endpoint adds the Message ID and, unless the request names one ([`Request::token`]),
/// the token; the options are kept as wire bytes, so handing a request on costs no copy.
///
/// ```
/// use tern_coap::endpoint::Request;
/// use tern_coap::value::ContentFormat;
/// use tern_coap::Code;
///
/// let get = Request::get("/sensors/temp")?;
/// assert_eq!(get.options.uri_path()?.collect::<Vec<_>>(), ["sensors", "temp"]);
/// assert!(get.confirmable);
///
/// let put = Request::builder(Code::PUT)
///     .path("config")
///     .query("unit=C")
///     .options(|o| o.push_content_format(ContentFormat::TEXT_PLAIN))
///     .payload("21.5")
///     .non_confirmable()
///     .build()?;
/// assert_eq!(put.options.content_format()?, Some(ContentFormat::TEXT_PLAIN));
/// assert!(!put.confirmable);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Request {
    /// The method (0.01–0.31).
    pub method: Code,
    /// The options (Uri-Path, Uri-Query, Content-Format, Accept, ...).
    pub options: Options,
    /// The payload.
    pub payload: Bytes,
    /// Sent as CON (retransmitted until acknowledged) or NON. For a received request: how it
    /// arrived.
    pub confirmable: bool,
    /// The token of the exchange's first message, chosen by the caller; `None` (the usual
    /// case) lets the endpoint draw a random one. The messages that follow the first (the
    /// blocks of a body, the follow-ups for the blocks of a response) draw their own
    /// tokens, except an observation's, which all keep the registration's (RFC 7641
    /// §3.3.1). The endpoint refuses a token that is in use with the peer, or that was
    /// released lately ([`EndpointError::TokenInUse`], [`EndpointError::TokenRecentlyUsed`]).
    /// Always `None` in a received request.
    ///
    /// [`EndpointError::TokenInUse`]: super::EndpointError::TokenInUse
    /// [`EndpointError::TokenRecentlyUsed`]: super::EndpointError::TokenRecentlyUsed
    pub token: Option<Token>,
}

impl Request {
    /// A Confirmable request with no options and no payload.
    ///
    /// ```
    /// use tern_coap::endpoint::Request;
    /// use tern_coap::Code;
    ///
    /// assert!(Request::new(Code::GET).options.is_empty());
    /// ```
    pub fn new(method: Code) -> Request {
        Request {
            method,
            options: Options::new(),
            payload: Bytes::new(),
            confirmable: true,
            token: None,
        }
    }

    /// A builder for a request with this method.
    ///
    /// ```
    /// use tern_coap::endpoint::Request;
    /// use tern_coap::Code;
    ///
    /// let r = Request::builder(Code::DELETE).path("a/b").build()?;
    /// assert_eq!(r.options.uri_path()?.count(), 2);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn builder(method: Code) -> RequestBuilder {
        RequestBuilder {
            method,
            options: Options::builder(),
            payload: Bytes::new(),
            confirmable: true,
            token: None,
            error: None,
        }
    }

    /// A Confirmable GET of `path` (see [`RequestBuilder::path`]).
    ///
    /// ```
    /// use tern_coap::endpoint::Request;
    ///
    /// assert_eq!(Request::get("test")?.options.uri_path()?.collect::<Vec<_>>(), ["test"]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn get(path: &str) -> Result<Request, BuildError> {
        Request::builder(Code::GET).path(path).build()
    }

    /// A Confirmable POST of `payload` to `path`.
    ///
    /// ```
    /// use tern_coap::endpoint::Request;
    ///
    /// assert_eq!(&Request::post("items", "x")?.payload[..], b"x");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn post(path: &str, payload: impl Into<Bytes>) -> Result<Request, BuildError> {
        Request::builder(Code::POST)
            .path(path)
            .payload(payload)
            .build()
    }

    /// A Confirmable PUT of `payload` to `path`.
    ///
    /// ```
    /// use tern_coap::endpoint::Request;
    /// use tern_coap::Code;
    ///
    /// assert_eq!(Request::put("a", "1")?.method, Code::PUT);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn put(path: &str, payload: impl Into<Bytes>) -> Result<Request, BuildError> {
        Request::builder(Code::PUT)
            .path(path)
            .payload(payload)
            .build()
    }

    /// A Confirmable DELETE of `path`.
    ///
    /// ```
    /// use tern_coap::endpoint::Request;
    /// use tern_coap::Code;
    ///
    /// assert_eq!(Request::delete("a")?.method, Code::DELETE);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn delete(path: &str) -> Result<Request, BuildError> {
        Request::builder(Code::DELETE).path(path).build()
    }

    /// The same request, Non-confirmable.
    ///
    /// ```
    /// use tern_coap::endpoint::Request;
    ///
    /// assert!(!Request::get("a")?.non_confirmable().confirmable);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn non_confirmable(mut self) -> Request {
        self.confirmable = false;
        self
    }

    /// The same request with this payload.
    ///
    /// ```
    /// use tern_coap::endpoint::Request;
    /// use tern_coap::Code;
    ///
    /// assert_eq!(&Request::new(Code::POST).with_payload("x").payload[..], b"x");
    /// ```
    pub fn with_payload(mut self, payload: impl Into<Bytes>) -> Request {
        self.payload = payload.into();
        self
    }

    /// The same request with these options (replacing its own).
    ///
    /// ```
    /// use tern_coap::endpoint::Request;
    /// use tern_coap::option::Options;
    /// use tern_coap::Code;
    ///
    /// let options = Options::builder().push_uri_path("a")?.build()?;
    /// assert_eq!(Request::new(Code::GET).with_options(options.clone()).options, options);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn with_options(mut self, options: Options) -> Request {
        self.options = options;
        self
    }

    /// The same request with this token for its first message (see [`Request::token`]).
    ///
    /// ```
    /// use tern_coap::endpoint::Request;
    /// use tern_coap::Token;
    ///
    /// let token = Token::new(b"abc").unwrap();
    /// assert_eq!(Request::get("a")?.with_token(token).token, Some(token));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn with_token(mut self, token: Token) -> Request {
        self.token = Some(token);
        self
    }
}

/// Builds a [`Request`]; errors are kept until [`RequestBuilder::build`], so calls chain.
#[derive(Debug, Clone)]
pub struct RequestBuilder {
    method: Code,
    options: OptionsBuilder,
    payload: Bytes,
    confirmable: bool,
    token: Option<Token>,
    error: Option<BuildError>,
}

/// Splits `path` into Uri-Path segments: one leading `/` is dropped, an empty path (or `/`)
/// has none, and every `/` after that separates segments.
fn push_path(mut options: OptionsBuilder, path: &str) -> Result<OptionsBuilder, ValueError> {
    let path = path.strip_prefix('/').unwrap_or(path);
    if path.is_empty() {
        return Ok(options);
    }
    for segment in path.split('/') {
        options = options.push_uri_path(segment)?;
    }
    Ok(options)
}

impl RequestBuilder {
    fn try_options(
        mut self,
        f: impl FnOnce(OptionsBuilder) -> Result<OptionsBuilder, ValueError>,
    ) -> Self {
        if self.error.is_none() {
            let options = core::mem::take(&mut self.options);
            match f(options) {
                Ok(o) => self.options = o,
                Err(e) => self.error = Some(BuildError::Value(e)),
            }
        }
        self
    }

    /// Adds the Uri-Path segments of `path`: one leading `/` is dropped, `/` separates
    /// segments, and nothing is percent-decoded (parse a URI with [`crate::uri::Uri`] for
    /// that).
    pub fn path(self, path: &str) -> Self {
        self.try_options(|o| push_path(o, path))
    }

    /// Adds one Uri-Query argument (e.g. `first=1`).
    pub fn query(self, argument: &str) -> Self {
        self.try_options(|o| o.push_uri_query(argument))
    }

    /// Adds options with the typed setters of [`OptionsBuilder`].
    pub fn options(mut self, f: impl FnOnce(OptionsBuilder) -> OptionsBuilder) -> Self {
        let options = core::mem::take(&mut self.options);
        self.options = f(options);
        self
    }

    /// Sets the payload.
    pub fn payload(mut self, payload: impl Into<Bytes>) -> Self {
        self.payload = payload.into();
        self
    }

    /// Sends it Non-confirmable.
    pub fn non_confirmable(mut self) -> Self {
        self.confirmable = false;
        self
    }

    /// Sends its first message with this token instead of a random one (see
    /// [`Request::token`]): to match the request in a capture, or to test a server.
    ///
    /// ```
    /// use tern_coap::endpoint::{Endpoint, EndpointConfig, Instant, Request};
    /// use tern_coap::{Code, Message, Token};
    ///
    /// let token = Token::new(&[0xca, 0xfe]).unwrap();
    /// let request = Request::builder(Code::GET).path("test").token(token).build()?;
    /// let mut endpoint = Endpoint::new(EndpointConfig::default(), 7);
    /// endpoint.request(Instant::ZERO, "192.0.2.1:5683".parse()?, request)?;
    /// let sent = Message::decode(endpoint.poll_transmit().unwrap().datagram)?;
    /// assert_eq!(sent.token.as_bytes(), [0xca, 0xfe]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn token(mut self, token: Token) -> Self {
        self.token = Some(token);
        self
    }

    /// The request, or the first error met.
    pub fn build(self) -> Result<Request, BuildError> {
        if let Some(e) = self.error {
            return Err(e);
        }
        Ok(Request {
            method: self.method,
            options: self.options.build().map_err(BuildError::Option)?,
            payload: self.payload,
            confirmable: self.confirmable,
            token: self.token,
        })
    }
}

/// A response: code, options, payload. The endpoint picks the message type (piggybacked in
/// the ACK, a separate CON, or NON for a NON request) and copies the request's token.
///
/// ```
/// use tern_coap::endpoint::Response;
/// use tern_coap::value::ContentFormat;
/// use tern_coap::Code;
///
/// let r = Response::builder(Code::CONTENT)
///     .options(|o| o.push_content_format(ContentFormat::TEXT_PLAIN))
///     .payload("hello")
///     .build()?;
/// assert_eq!(r.code, Code::CONTENT);
/// assert_eq!(Response::new(Code::DELETED).payload.len(), 0);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Response {
    /// The response code (2.00–5.31).
    pub code: Code,
    /// The options.
    pub options: Options,
    /// The payload.
    pub payload: Bytes,
}

impl Response {
    /// A response with no options and no payload.
    ///
    /// ```
    /// use tern_coap::endpoint::Response;
    /// use tern_coap::Code;
    ///
    /// assert!(Response::new(Code::CHANGED).options.is_empty());
    /// ```
    pub fn new(code: Code) -> Response {
        Response {
            code,
            options: Options::new(),
            payload: Bytes::new(),
        }
    }

    /// A builder for a response with this code.
    ///
    /// ```
    /// use tern_coap::endpoint::Response;
    /// use tern_coap::Code;
    ///
    /// let r = Response::builder(Code::CREATED).options(|o| o.push_max_age(5)).build()?;
    /// assert_eq!(r.options.max_age()?, 5);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn builder(code: Code) -> ResponseBuilder {
        ResponseBuilder {
            code,
            options: Options::builder(),
            payload: Bytes::new(),
        }
    }

    /// The same response with this payload.
    ///
    /// ```
    /// use tern_coap::endpoint::Response;
    /// use tern_coap::Code;
    ///
    /// assert_eq!(&Response::new(Code::CONTENT).with_payload("x").payload[..], b"x");
    /// ```
    pub fn with_payload(mut self, payload: impl Into<Bytes>) -> Response {
        self.payload = payload.into();
        self
    }

    /// The same response with these options (replacing its own).
    ///
    /// ```
    /// use tern_coap::endpoint::Response;
    /// use tern_coap::option::Options;
    /// use tern_coap::Code;
    ///
    /// let options = Options::builder().push_max_age(0).build()?;
    /// assert_eq!(Response::new(Code::VALID).with_options(options.clone()).options, options);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn with_options(mut self, options: Options) -> Response {
        self.options = options;
        self
    }
}

/// Builds a [`Response`].
#[derive(Debug, Clone)]
pub struct ResponseBuilder {
    code: Code,
    options: OptionsBuilder,
    payload: Bytes,
}

impl ResponseBuilder {
    /// Adds options with the typed setters of [`OptionsBuilder`].
    pub fn options(mut self, f: impl FnOnce(OptionsBuilder) -> OptionsBuilder) -> Self {
        let options = core::mem::take(&mut self.options);
        self.options = f(options);
        self
    }

    /// Sets the payload.
    pub fn payload(mut self, payload: impl Into<Bytes>) -> Self {
        self.payload = payload.into();
        self
    }

    /// The response, or an option value too long to encode.
    pub fn build(self) -> Result<Response, OptionError> {
        Ok(Response {
            code: self.code,
            options: self.options.build()?,
            payload: self.payload,
        })
    }
}

/// Why a [`RequestBuilder`] could not build its request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum BuildError {
    /// A Uri-Path segment or Uri-Query argument outside its option's length range.
    Value(ValueError),
    /// An option value too long to encode.
    Option(OptionError),
}

impl fmt::Display for BuildError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BuildError::Value(e) => fmt::Display::fmt(e, f),
            BuildError::Option(e) => fmt::Display::fmt(e, f),
        }
    }
}

#[cfg(feature = "std")]
impl std::error::Error for BuildError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_split_into_segments() {
        let segs = |p: &str| -> alloc::vec::Vec<alloc::string::String> {
            Request::get(p)
                .unwrap()
                .options
                .uri_path()
                .unwrap()
                .map(alloc::string::String::from)
                .collect()
        };
        assert!(segs("").is_empty());
        assert!(segs("/").is_empty());
        assert_eq!(segs("/seg1/seg2/seg3"), ["seg1", "seg2", "seg3"]);
        assert_eq!(segs("a/"), ["a", ""]);
    }

    #[test]
    fn a_segment_too_long_is_reported_by_build() {
        let long = "x".repeat(256);
        assert!(matches!(
            Request::get(&long),
            Err(BuildError::Value(ValueError::Length { .. }))
        ));
    }
}
