//! The typed setters on `OptionsBuilder`.

use bytes::Bytes;

use super::*;
use crate::option::{OptionNumber, OptionsBuilder};

/// Typed setters. The typed values are in range by construction, so these cannot fail; only
/// the string setters check the option's length range.
impl OptionsBuilder {
    fn push_block(self, number: OptionNumber, block: Block) -> Self {
        self.push_uint(number, block.to_uint())
    }

    fn push_checked_str(self, number: OptionNumber, value: &str) -> Result<Self, ValueError> {
        check(number, value.as_bytes())?;
        Ok(self.push(number, Bytes::copy_from_slice(value.as_bytes())))
    }

    /// Adds Block1. The builder does not know the transport: a BERT block (SZX 7) belongs
    /// only in messages sent over a reliable one.
    ///
    /// ```
    /// use tern_coap::option::Options;
    /// use tern_coap::value::Block;
    ///
    /// let options = Options::builder().push_block1(Block::new(0, true, 6).unwrap()).build()?;
    /// assert_eq!(options.as_bytes()[..], [0xd1, 0x0e, 0x0e]); // option 27, value 0x0e
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn push_block1(self, block: Block) -> Self {
        self.push_block(OptionNumber::BLOCK1, block)
    }

    /// Adds Block2; see [`OptionsBuilder::push_block1`] about BERT.
    ///
    /// ```
    /// use tern_coap::option::Options;
    /// use tern_coap::value::Block;
    ///
    /// let options = Options::builder().push_block2(Block::new(0, false, 0).unwrap()).build()?;
    /// assert_eq!(options.as_bytes()[..], [0xd0, 0x0a]); // option 23, empty value
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn push_block2(self, block: Block) -> Self {
        self.push_block(OptionNumber::BLOCK2, block)
    }

    /// Adds Q-Block1 (RFC 9177).
    ///
    /// ```
    /// use tern_coap::option::Options;
    /// use tern_coap::value::Block;
    ///
    /// let options = Options::builder().push_q_block1(Block::new(1, true, 6).unwrap()).build()?;
    /// assert!(options.q_block1(false)?.is_some());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn push_q_block1(self, block: Block) -> Self {
        self.push_block(OptionNumber::Q_BLOCK1, block)
    }

    /// Adds a Q-Block2 (RFC 9177); call it once per block for a request of missing blocks.
    ///
    /// ```
    /// use tern_coap::option::Options;
    /// use tern_coap::value::Block;
    ///
    /// let options = Options::builder().push_q_block2(Block::new(1, false, 6).unwrap()).build()?;
    /// assert!(options.q_block2(false)?.is_some());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn push_q_block2(self, block: Block) -> Self {
        self.push_block(OptionNumber::Q_BLOCK2, block)
    }

    /// Adds Content-Format.
    ///
    /// ```
    /// use tern_coap::option::Options;
    /// use tern_coap::value::ContentFormat;
    ///
    /// let options = Options::builder().push_content_format(ContentFormat::TEXT_PLAIN).build()?;
    /// assert_eq!(options.as_bytes()[..], [0xc0]); // option 12, 0 as an empty value
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn push_content_format(self, format: ContentFormat) -> Self {
        self.push_uint(OptionNumber::CONTENT_FORMAT, u32::from(format.0))
    }

    /// Adds Accept.
    ///
    /// ```
    /// use tern_coap::option::Options;
    /// use tern_coap::value::ContentFormat;
    ///
    /// let options = Options::builder().push_accept(ContentFormat::CBOR).build()?;
    /// assert_eq!(options.accept()?, Some(ContentFormat::CBOR));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn push_accept(self, format: ContentFormat) -> Self {
        self.push_uint(OptionNumber::ACCEPT, u32::from(format.0))
    }

    /// Adds Observe.
    ///
    /// ```
    /// use tern_coap::option::Options;
    /// use tern_coap::value::Observe;
    ///
    /// let options = Options::builder().push_observe(Observe::MAX).build()?;
    /// assert_eq!(options.as_bytes()[..], [0x63, 0xff, 0xff, 0xff]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn push_observe(self, observe: Observe) -> Self {
        self.push_uint(OptionNumber::OBSERVE, observe.get())
    }

    /// Adds Max-Age, in seconds.
    ///
    /// ```
    /// use tern_coap::option::Options;
    ///
    /// let options = Options::builder().push_max_age(3600).build()?;
    /// assert_eq!(options.max_age()?, 3600);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn push_max_age(self, seconds: u32) -> Self {
        self.push_uint(OptionNumber::MAX_AGE, seconds)
    }

    /// Adds Size1.
    ///
    /// ```
    /// use tern_coap::option::Options;
    ///
    /// assert_eq!(Options::builder().push_size1(1).build()?.size1()?, Some(1));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn push_size1(self, size: u32) -> Self {
        self.push_uint(OptionNumber::SIZE1, size)
    }

    /// Adds Size2.
    ///
    /// ```
    /// use tern_coap::option::Options;
    ///
    /// assert_eq!(Options::builder().push_size2(1).build()?.size2()?, Some(1));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn push_size2(self, size: u32) -> Self {
        self.push_uint(OptionNumber::SIZE2, size)
    }

    /// Adds an ETag.
    ///
    /// ```
    /// use tern_coap::option::Options;
    /// use tern_coap::value::ETag;
    ///
    /// let options = Options::builder().push_etag(ETag::new(&[0xab]).unwrap()).build()?;
    /// assert_eq!(options.as_bytes()[..], [0x41, 0xab]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn push_etag(self, etag: ETag) -> Self {
        self.push(OptionNumber::ETAG, Bytes::copy_from_slice(etag.as_bytes()))
    }

    /// Adds an If-Match.
    ///
    /// ```
    /// use tern_coap::option::Options;
    /// use tern_coap::value::IfMatch;
    ///
    /// let options = Options::builder().push_if_match(IfMatch::Exists).build()?;
    /// assert_eq!(options.as_bytes()[..], [0x10]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn push_if_match(self, condition: IfMatch) -> Self {
        self.push(
            OptionNumber::IF_MATCH,
            Bytes::copy_from_slice(condition.as_bytes()),
        )
    }

    /// Adds If-None-Match.
    ///
    /// ```
    /// use tern_coap::option::Options;
    ///
    /// let options = Options::builder().push_if_none_match().build()?;
    /// assert_eq!(options.as_bytes()[..], [0x50]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn push_if_none_match(self) -> Self {
        self.push_empty(OptionNumber::IF_NONE_MATCH)
    }

    /// Adds Hop-Limit: one byte, as the value is never 0 (RFC 8768 §3).
    ///
    /// ```
    /// use tern_coap::option::Options;
    /// use tern_coap::value::HopLimit;
    ///
    /// let options = Options::builder().push_hop_limit(HopLimit::DEFAULT).build()?;
    /// assert_eq!(options.as_bytes()[..], [0xd1, 0x03, 16]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn push_hop_limit(self, limit: HopLimit) -> Self {
        self.push_uint(OptionNumber::HOP_LIMIT, u32::from(limit.get()))
    }

    /// Adds Echo.
    ///
    /// ```
    /// use tern_coap::option::Options;
    /// use tern_coap::value::Echo;
    ///
    /// let options = Options::builder().push_echo(Echo::new(b"fresh").unwrap()).build()?;
    /// assert_eq!(options.echo()?.unwrap().as_bytes(), b"fresh");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn push_echo(self, echo: Echo) -> Self {
        self.push(OptionNumber::ECHO, Bytes::copy_from_slice(echo.as_bytes()))
    }

    /// Adds a Request-Tag.
    ///
    /// ```
    /// use tern_coap::option::Options;
    /// use tern_coap::value::RequestTag;
    ///
    /// let options = Options::builder().push_request_tag(RequestTag::new(&[1]).unwrap()).build()?;
    /// assert_eq!(options.request_tags()?.count(), 1);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn push_request_tag(self, tag: RequestTag) -> Self {
        self.push(
            OptionNumber::REQUEST_TAG,
            Bytes::copy_from_slice(tag.as_bytes()),
        )
    }

    /// Adds No-Response.
    ///
    /// ```
    /// use tern_coap::option::Options;
    /// use tern_coap::value::NoResponse;
    ///
    /// let nr = NoResponse { suppress_2xx: true, ..NoResponse::NONE };
    /// let options = Options::builder().push_no_response(nr).build()?;
    /// assert_eq!(options.no_response()?, nr);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn push_no_response(self, no_response: NoResponse) -> Self {
        self.push_uint(OptionNumber::NO_RESPONSE, u32::from(no_response.bits()))
    }

    /// Adds Uri-Host; an error unless 1–255 bytes.
    ///
    /// ```
    /// use tern_coap::option::Options;
    ///
    /// assert!(Options::builder().push_uri_host("").is_err());
    /// assert!(Options::builder().push_uri_host("example.com").is_ok());
    /// ```
    pub fn push_uri_host(self, host: &str) -> Result<Self, ValueError> {
        self.push_checked_str(OptionNumber::URI_HOST, host)
    }

    /// Adds Uri-Port.
    ///
    /// ```
    /// use tern_coap::option::Options;
    ///
    /// assert_eq!(Options::builder().push_uri_port(61616).build()?.uri_port()?, Some(61616));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn push_uri_port(self, port: u16) -> Self {
        self.push_uint(OptionNumber::URI_PORT, u32::from(port))
    }

    /// Adds a Uri-Path segment; an error if longer than 255 bytes.
    ///
    /// ```
    /// use tern_coap::option::Options;
    ///
    /// assert!(Options::builder().push_uri_path(&"x".repeat(256)).is_err());
    /// ```
    pub fn push_uri_path(self, segment: &str) -> Result<Self, ValueError> {
        self.push_checked_str(OptionNumber::URI_PATH, segment)
    }

    /// Adds a Uri-Query argument; an error if longer than 255 bytes.
    ///
    /// ```
    /// use tern_coap::option::Options;
    ///
    /// assert!(Options::builder().push_uri_query("a=1").is_ok());
    /// ```
    pub fn push_uri_query(self, argument: &str) -> Result<Self, ValueError> {
        self.push_checked_str(OptionNumber::URI_QUERY, argument)
    }

    /// Adds a Location-Path segment; an error if longer than 255 bytes.
    ///
    /// ```
    /// use tern_coap::option::Options;
    ///
    /// assert!(Options::builder().push_location_path("a").is_ok());
    /// ```
    pub fn push_location_path(self, segment: &str) -> Result<Self, ValueError> {
        self.push_checked_str(OptionNumber::LOCATION_PATH, segment)
    }

    /// Adds a Location-Query argument; an error if longer than 255 bytes.
    ///
    /// ```
    /// use tern_coap::option::Options;
    ///
    /// assert!(Options::builder().push_location_query("a=1").is_ok());
    /// ```
    pub fn push_location_query(self, argument: &str) -> Result<Self, ValueError> {
        self.push_checked_str(OptionNumber::LOCATION_QUERY, argument)
    }

    /// Adds Proxy-Uri; an error unless 1–1,034 bytes.
    ///
    /// ```
    /// use tern_coap::option::Options;
    ///
    /// assert!(Options::builder().push_proxy_uri(&"x".repeat(1035)).is_err());
    /// ```
    pub fn push_proxy_uri(self, uri: &str) -> Result<Self, ValueError> {
        self.push_checked_str(OptionNumber::PROXY_URI, uri)
    }

    /// Adds Proxy-Scheme; an error unless 1–255 bytes.
    ///
    /// ```
    /// use tern_coap::option::Options;
    ///
    /// assert!(Options::builder().push_proxy_scheme("coap").is_ok());
    /// ```
    pub fn push_proxy_scheme(self, scheme: &str) -> Result<Self, ValueError> {
        self.push_checked_str(OptionNumber::PROXY_SCHEME, scheme)
    }
}
