//! The typed getters on `Options`.

use super::*;
use crate::option::{OptionNumber, Options};

/// Max-Age when the option is absent: 60 seconds (RFC 7252 §5.10.5).
///
/// ```
/// use tern_coap::option::Options;
/// assert_eq!(Options::new().max_age()?, tern_coap::value::DEFAULT_MAX_AGE);
/// # Ok::<(), tern_coap::value::ValueError>(())
/// ```
pub const DEFAULT_MAX_AGE: u32 = 60;

/// Typed getters. See the [module documentation](crate::value) for what `Ok(None)` and `Err` mean.
impl Options {
    /// Block1 (RFC 7959 §2.1): `reliable` is whether the message came over TCP, TLS or
    /// WebSockets (RFC 8323), where SZX 7 (BERT) is allowed.
    ///
    /// ```
    /// use tern_coap::option::{OptionNumber, Options};
    /// use tern_coap::value::ValueError;
    ///
    /// let bert = Options::builder().push_uint(OptionNumber::BLOCK1, 0x0f).build()?;
    /// assert_eq!(bert.block1(false), Err(ValueError::BertOverUnreliable));
    /// assert!(bert.block1(true)?.unwrap().is_bert());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn block1(&self, reliable: bool) -> Result<Option<Block>, ValueError> {
        single(self, OptionNumber::BLOCK1, |v| Block::decode(v, reliable))
    }

    /// Block2 (RFC 7959 §2.1); `reliable` as for [`Options::block1`].
    ///
    /// ```
    /// use tern_coap::option::Options;
    /// use tern_coap::value::Block;
    ///
    /// let block = Block::new(5, false, 4).unwrap();
    /// let options = Options::builder().push_block2(block).build()?;
    /// assert_eq!(options.block2(false)?, Some(block));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn block2(&self, reliable: bool) -> Result<Option<Block>, ValueError> {
        single(self, OptionNumber::BLOCK2, |v| Block::decode(v, reliable))
    }

    /// Q-Block1 (RFC 9177 §4); `reliable` as for [`Options::block1`].
    ///
    /// ```
    /// use tern_coap::option::Options;
    /// use tern_coap::value::Block;
    ///
    /// let block = Block::new(0, true, 6).unwrap();
    /// let options = Options::builder().push_q_block1(block).build()?;
    /// assert_eq!(options.q_block1(false)?, Some(block));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn q_block1(&self, reliable: bool) -> Result<Option<Block>, ValueError> {
        single(self, OptionNumber::Q_BLOCK1, |v| Block::decode(v, reliable))
    }

    /// The first Q-Block2 (RFC 9177 §4); `reliable` as for [`Options::block1`]. A request for
    /// missing blocks may carry several: see [`Options::q_block2_all`].
    ///
    /// ```
    /// use tern_coap::option::Options;
    /// use tern_coap::value::Block;
    ///
    /// let block = Block::new(1, false, 6).unwrap();
    /// let options = Options::builder().push_q_block2(block).build()?;
    /// assert_eq!(options.q_block2(false)?, Some(block));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn q_block2(&self, reliable: bool) -> Result<Option<Block>, ValueError> {
        single(self, OptionNumber::Q_BLOCK2, |v| Block::decode(v, reliable))
    }

    /// Every Q-Block2, in order: a client asks for several missing blocks in one request
    /// (RFC 9177 §4.4).
    ///
    /// ```
    /// use tern_coap::option::Options;
    /// use tern_coap::value::Block;
    ///
    /// let (a, b) = (Block::new(2, false, 6).unwrap(), Block::new(5, false, 6).unwrap());
    /// let options = Options::builder().push_q_block2(a).push_q_block2(b).build()?;
    /// assert_eq!(options.q_block2_all(false)?.collect::<Vec<_>>(), [a, b]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn q_block2_all(&self, reliable: bool) -> Result<OptionValues<'_, Block>, ValueError> {
        let decode = if reliable {
            block_reliable
        } else {
            block_unreliable
        };
        values(self, OptionNumber::Q_BLOCK2, decode)
    }

    /// Content-Format (RFC 7252 §5.10.3).
    ///
    /// ```
    /// use tern_coap::option::{OptionNumber, Options};
    /// use tern_coap::value::ContentFormat;
    ///
    /// let options = Options::builder().push_uint(OptionNumber::CONTENT_FORMAT, 60).build()?;
    /// assert_eq!(options.content_format()?, Some(ContentFormat::CBOR));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn content_format(&self) -> Result<Option<ContentFormat>, ValueError> {
        single(self, OptionNumber::CONTENT_FORMAT, |v| {
            uint(v).map(|n| ContentFormat(n as u16))
        })
    }

    /// Accept (RFC 7252 §5.10.4).
    ///
    /// ```
    /// use tern_coap::option::Options;
    /// use tern_coap::value::ContentFormat;
    ///
    /// let options = Options::builder().push_accept(ContentFormat::JSON).build()?;
    /// assert_eq!(options.accept()?, Some(ContentFormat::JSON));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn accept(&self) -> Result<Option<ContentFormat>, ValueError> {
        single(self, OptionNumber::ACCEPT, |v| {
            uint(v).map(|n| ContentFormat(n as u16))
        })
    }

    /// Observe (RFC 7641 §2): a 24-bit value.
    ///
    /// ```
    /// use tern_coap::option::Options;
    /// use tern_coap::value::Observe;
    ///
    /// let options = Options::builder().push_observe(Observe::REGISTER).build()?;
    /// assert_eq!(options.observe()?, Some(Observe::REGISTER));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn observe(&self) -> Result<Option<Observe>, ValueError> {
        single(self, OptionNumber::OBSERVE, |v| {
            // At most 3 bytes after `check`, so at most 24 bits.
            uint(v).map(Observe::wrapping)
        })
    }

    /// Max-Age in seconds, [`DEFAULT_MAX_AGE`] (60) when absent (RFC 7252 §5.10.5).
    ///
    /// ```
    /// use tern_coap::option::Options;
    ///
    /// assert_eq!(Options::new().max_age()?, 60);
    /// let options = Options::builder().push_max_age(0).build()?;
    /// assert_eq!(options.max_age()?, 0);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn max_age(&self) -> Result<u32, ValueError> {
        single(self, OptionNumber::MAX_AGE, uint).map(|v| v.unwrap_or(DEFAULT_MAX_AGE))
    }

    /// Size1 (RFC 7959 §4, RFC 7252 §5.10.9): the size of the request body, or in a 4.13
    /// response the largest the server accepts.
    ///
    /// ```
    /// use tern_coap::option::Options;
    ///
    /// let options = Options::builder().push_size1(2048).build()?;
    /// assert_eq!(options.size1()?, Some(2048));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn size1(&self) -> Result<Option<u32>, ValueError> {
        single(self, OptionNumber::SIZE1, uint)
    }

    /// Size2 (RFC 7959 §4): the size of the response body; 0 in a request asks for it.
    ///
    /// ```
    /// use tern_coap::option::Options;
    ///
    /// let options = Options::builder().push_size2(0).build()?;
    /// assert_eq!(options.size2()?, Some(0));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn size2(&self) -> Result<Option<u32>, ValueError> {
        single(self, OptionNumber::SIZE2, uint)
    }

    /// Every ETag, in order (RFC 7252 §5.10.6: one in a response, any number in a request).
    ///
    /// ```
    /// use tern_coap::option::Options;
    /// use tern_coap::value::ETag;
    ///
    /// let options = Options::builder()
    ///     .push_etag(ETag::new(&[1]).unwrap())
    ///     .push_etag(ETag::new(&[2, 2]).unwrap())
    ///     .build()?;
    /// assert_eq!(options.etags()?.map(|t| t.as_bytes().len()).collect::<Vec<_>>(), [1, 2]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn etags(&self) -> Result<OptionValues<'_, ETag>, ValueError> {
        values(self, OptionNumber::ETAG, ETag::decode)
    }

    /// Every If-Match, in order (RFC 7252 §5.10.8.1).
    ///
    /// ```
    /// use tern_coap::option::Options;
    /// use tern_coap::value::IfMatch;
    ///
    /// let options = Options::builder().push_if_match(IfMatch::Exists).build()?;
    /// assert_eq!(options.if_match()?.next(), Some(IfMatch::Exists));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn if_match(&self) -> Result<OptionValues<'_, IfMatch>, ValueError> {
        values(self, OptionNumber::IF_MATCH, IfMatch::decode)
    }

    /// Whether If-None-Match is present (RFC 7252 §5.10.8.2); an error if it has a value.
    ///
    /// ```
    /// use tern_coap::option::Options;
    ///
    /// assert!(!Options::new().if_none_match()?);
    /// assert!(Options::builder().push_if_none_match().build()?.if_none_match()?);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn if_none_match(&self) -> Result<bool, ValueError> {
        single(self, OptionNumber::IF_NONE_MATCH, |_| Ok(())).map(|v| v.is_some())
    }

    /// Hop-Limit (RFC 8768 §3). A value of 0 is an error: a request carrying it is answered
    /// with 4.00 Bad Request. When absent, a proxy inserts [`HopLimit::DEFAULT`].
    ///
    /// ```
    /// use tern_coap::option::{OptionNumber, Options};
    /// use tern_coap::value::{HopLimit, ValueError};
    ///
    /// let options = Options::builder().push_hop_limit(HopLimit::DEFAULT).build()?;
    /// assert_eq!(options.hop_limit()?, Some(HopLimit::DEFAULT));
    /// let zero = Options::builder().push(OptionNumber::HOP_LIMIT, &[0u8][..]).build()?;
    /// assert_eq!(zero.hop_limit(), Err(ValueError::OutOfRange));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn hop_limit(&self) -> Result<Option<HopLimit>, ValueError> {
        single(self, OptionNumber::HOP_LIMIT, |v| {
            let n = u8::try_from(uint(v)?).map_err(|_| ValueError::OutOfRange)?;
            HopLimit::new(n).ok_or(ValueError::OutOfRange)
        })
    }

    /// Echo (RFC 9175 §2).
    ///
    /// ```
    /// use tern_coap::option::Options;
    ///
    /// assert_eq!(Options::new().echo()?, None);
    /// # Ok::<(), tern_coap::value::ValueError>(())
    /// ```
    pub fn echo(&self) -> Result<Option<Echo>, ValueError> {
        single(self, OptionNumber::ECHO, Echo::decode)
    }

    /// Every Request-Tag, in order (RFC 9175 §3).
    ///
    /// ```
    /// use tern_coap::option::Options;
    /// use tern_coap::value::RequestTag;
    ///
    /// let tag = RequestTag::new(&[9]).unwrap();
    /// let options = Options::builder().push_request_tag(tag).build()?;
    /// assert_eq!(options.request_tags()?.collect::<Vec<_>>(), [tag]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn request_tags(&self) -> Result<OptionValues<'_, RequestTag>, ValueError> {
        values(self, OptionNumber::REQUEST_TAG, RequestTag::decode)
    }

    /// No-Response (RFC 7967 §2), [`NoResponse::NONE`] when absent.
    ///
    /// ```
    /// use tern_coap::option::Options;
    /// use tern_coap::value::NoResponse;
    ///
    /// assert_eq!(Options::new().no_response()?, NoResponse::NONE);
    /// let options = Options::builder().push_no_response(NoResponse::ALL).build()?;
    /// assert_eq!(options.no_response()?, NoResponse::ALL);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn no_response(&self) -> Result<NoResponse, ValueError> {
        single(self, OptionNumber::NO_RESPONSE, |v| {
            // At most 1 byte after `check`.
            uint(v).map(|n| NoResponse::from_bits(n as u8))
        })
        .map(Option::unwrap_or_default)
    }

    /// Uri-Host (RFC 7252 §5.10.1).
    ///
    /// ```
    /// use tern_coap::option::Options;
    ///
    /// let options = Options::builder().push_uri_host("example.com")?.build()?;
    /// assert_eq!(options.uri_host()?, Some("example.com"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn uri_host(&self) -> Result<Option<&str>, ValueError> {
        single(self, OptionNumber::URI_HOST, string)
    }

    /// Uri-Port (RFC 7252 §5.10.1).
    ///
    /// ```
    /// use tern_coap::option::Options;
    ///
    /// let options = Options::builder().push_uri_port(5684).build()?;
    /// assert_eq!(options.uri_port()?, Some(5684));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn uri_port(&self) -> Result<Option<u16>, ValueError> {
        // At most 2 bytes after `check`.
        single(self, OptionNumber::URI_PORT, |v| uint(v).map(|n| n as u16))
    }

    /// The Uri-Path segments, in order (RFC 7252 §5.10.1).
    ///
    /// ```
    /// use tern_coap::option::Options;
    ///
    /// let options = Options::builder().push_uri_path("sensors")?.push_uri_path("temp")?.build()?;
    /// assert_eq!(options.uri_path()?.collect::<Vec<_>>(), ["sensors", "temp"]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn uri_path(&self) -> Result<OptionValues<'_, &str>, ValueError> {
        values(self, OptionNumber::URI_PATH, string)
    }

    /// The Uri-Query arguments, in order (RFC 7252 §5.10.1).
    ///
    /// ```
    /// use tern_coap::option::Options;
    ///
    /// let options = Options::builder().push_uri_query("rt=temp")?.build()?;
    /// assert_eq!(options.uri_query()?.collect::<Vec<_>>(), ["rt=temp"]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn uri_query(&self) -> Result<OptionValues<'_, &str>, ValueError> {
        values(self, OptionNumber::URI_QUERY, string)
    }

    /// The Location-Path segments, in order (RFC 7252 §5.10.7).
    ///
    /// ```
    /// use tern_coap::option::Options;
    ///
    /// let options = Options::builder().push_location_path("items")?.push_location_path("7")?.build()?;
    /// assert_eq!(options.location_path()?.collect::<Vec<_>>(), ["items", "7"]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn location_path(&self) -> Result<OptionValues<'_, &str>, ValueError> {
        values(self, OptionNumber::LOCATION_PATH, string)
    }

    /// The Location-Query arguments, in order (RFC 7252 §5.10.7).
    ///
    /// ```
    /// use tern_coap::option::Options;
    ///
    /// let options = Options::builder().push_location_query("v=2")?.build()?;
    /// assert_eq!(options.location_query()?.collect::<Vec<_>>(), ["v=2"]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn location_query(&self) -> Result<OptionValues<'_, &str>, ValueError> {
        values(self, OptionNumber::LOCATION_QUERY, string)
    }

    /// Proxy-Uri (RFC 7252 §5.10.2).
    ///
    /// ```
    /// use tern_coap::option::Options;
    ///
    /// let options = Options::builder().push_proxy_uri("coap://example.com/a")?.build()?;
    /// assert_eq!(options.proxy_uri()?, Some("coap://example.com/a"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn proxy_uri(&self) -> Result<Option<&str>, ValueError> {
        single(self, OptionNumber::PROXY_URI, string)
    }

    /// Proxy-Scheme (RFC 7252 §5.10.2).
    ///
    /// ```
    /// use tern_coap::option::Options;
    ///
    /// let options = Options::builder().push_proxy_scheme("coap+tcp")?.build()?;
    /// assert_eq!(options.proxy_scheme()?, Some("coap+tcp"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn proxy_scheme(&self) -> Result<Option<&str>, ValueError> {
        single(self, OptionNumber::PROXY_SCHEME, string)
    }
}
