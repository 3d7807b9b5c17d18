//! The CoRE Link Format (RFC 6690): parsing without copying, serializing, and the
//! `/.well-known/core` query filter of RFC 6690 §4.1.
//!
//! A link-format document is a comma-separated list of link-values, each a target
//! URI-reference in angle brackets followed by `;`-separated attributes:
//!
//! ```
//! use tern_coap::link_format;
//!
//! let doc = r#"</sensors/temp>;rt="temperature-c";if="sensor";ct=0,</sensors/light>;rt="light-lux""#;
//! let links: Vec<_> = link_format::parse(doc).collect::<Result<_, _>>()?;
//! assert_eq!(links[0].target(), "/sensors/temp");
//! assert_eq!(links[0].values("rt").collect::<Vec<_>>(), ["temperature-c"]);
//! assert_eq!(links[0].content_formats().collect::<Result<Vec<_>, _>>()?, [0]);
//! # Ok::<(), tern_coap::link_format::LinkFormatError>(())
//! ```
//!
//! # How strict the parser is, and where the RFC leaves room
//!
//! * **Grammar.** Every attribute must have the generic form of RFC 6690's `link-extension`:
//!   a `parmname` (RFC 5987 `attr-char`s), optionally `=` and a `ptoken` or a `quoted-string`.
//!   The attribute-specific productions (`anchor` quoted, `sz` a cardinal, …) are all special
//!   cases of that form, and the ABNF lets `link-extension` match any name, so a document that
//!   writes `title=Clock` is accepted; the typed helpers ([`Link::content_formats`]) check
//!   their own values when asked. A `parmname*` (the RFC 5987 `ext-name-star`) needs `=` and an
//!   unquoted `ext-value`.
//! * **Empty list members.** The ABNF `*[ "," link-value ]` would literally allow `</a>,,</b>`
//!   and a trailing comma; we read it as a list and reject empty members
//!   ([`Expected::LinkValue`]), since no producer means them and they usually signal truncation.
//! * **Whitespace.** The ABNF has none. Real servers do break long documents after the comma,
//!   so SP, HTAB, CR and LF are accepted after a separating `,` and at the end of the document,
//!   and nowhere else (not inside `<…>`, not around `;` or `=`).
//! * **Targets.** The URI-reference is checked for URI characters and well-formed `%HH`
//!   escapes, not against the full RFC 3986 grammar.
//! * **Quoted strings.** RFC 2616 `quoted-string`: any text but control characters (HTAB
//!   allowed), with `\` always starting a `quoted-pair` whose second character must be ASCII.
//! * **Names** are compared ASCII case-insensitively, as HTTP Link parameter names are;
//!   values are compared exactly (including relation types, which RFC 8288 would compare
//!   case-insensitively: RFC 6690 filtering is on the text as written).
//! * **Repeated attributes.** [`Link::attribute`] and [`Link::values`] use the first
//!   occurrence (RFC 6690 §3.3 allows `sz` at most once, and RFC 8288 §3.3 tells parsers to
//!   ignore every `rel` after the first). The filter looks at every occurrence.

use alloc::borrow::Cow;
use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;

// ---------------------------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------------------------

/// What the parser expected where it failed, each naming the RFC rule it was reading.
///
/// ```
/// use tern_coap::link_format::{parse, Expected};
///
/// let err = parse("</a").next().unwrap().unwrap_err();
/// assert_eq!(err.expected(), Expected::UriReference);
/// assert_eq!(err.expected().rule(), "RFC 6690 link-value: \"<\" URI-Reference \">\"");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Expected {
    /// A `link-value` starting with `<` (at the start, or after a `,`).
    LinkValue,
    /// A URI-Reference character, `%HH`, or the `>` closing it.
    UriReference,
    /// `,` before the next link-value, `;` before the next attribute, or the end.
    Separator,
    /// A `parmname` (one or more RFC 5987 `attr-char`s) after `;`.
    ParmName,
    /// A `ptoken` or a `quoted-string` after `=`.
    Value,
    /// Quoted text (no control characters) or the `"` closing the quoted-string.
    QuotedText,
    /// The character after `\` in a `quoted-pair` (must be ASCII).
    QuotedPair,
    /// `=` and an unquoted `ext-value` after an `ext-name-star` such as `title*`.
    ExtValue,
    /// A `cardinal` Content-Format number of at most 65535 (RFC 7252 §7.2.1 `ct-value`).
    Cardinal,
    /// The `=` of a `filter-query` (RFC 6690 §4.1).
    FilterEquals,
    /// A query pattern whose only `*` is the last character (RFC 6690 §4.1 `query-pattern`).
    FilterPattern,
}

impl Expected {
    /// The RFC and rule this expectation comes from, for messages and logs.
    ///
    /// ```
    /// use tern_coap::link_format::Expected;
    /// assert!(Expected::Cardinal.rule().starts_with("RFC 7252"));
    /// ```
    #[must_use]
    pub const fn rule(self) -> &'static str {
        match self {
            Self::LinkValue => "RFC 6690 link-value-list: link-value *( \",\" link-value )",
            Self::UriReference => "RFC 6690 link-value: \"<\" URI-Reference \">\"",
            Self::Separator => "RFC 6690 link-value-list / link-value: \",\" or \";\"",
            Self::ParmName => "RFC 6690 link-extension: parmname (RFC 5987 attr-char)",
            Self::Value => "RFC 6690 link-extension: ptoken / quoted-string",
            Self::QuotedText => "RFC 2616 quoted-string: qdtext and closing DQUOTE",
            Self::QuotedPair => "RFC 2616 quoted-pair: \"\\\" CHAR",
            Self::ExtValue => "RFC 6690 link-extension: ext-name-star \"=\" ext-value",
            Self::Cardinal => "RFC 7252 §7.2.1 ct-value: cardinal (0..=65535)",
            Self::FilterEquals => "RFC 6690 §4.1 filter-query: resource-param \"=\"",
            Self::FilterPattern => "RFC 6690 §4.1 query-pattern: search-token [ \"*\" ]",
        }
    }

    const fn what(self) -> &'static str {
        match self {
            Self::LinkValue => "a link-value starting with '<'",
            Self::UriReference => "a URI-Reference character or '>'",
            Self::Separator => "',' or ';' or the end",
            Self::ParmName => "an attribute name",
            Self::Value => "a ptoken or a quoted-string",
            Self::QuotedText => "quoted text or the closing '\"'",
            Self::QuotedPair => "an ASCII character after '\\'",
            Self::ExtValue => "'=' and an unquoted ext-value",
            Self::Cardinal => "a Content-Format number 0..=65535 without leading zeros",
            Self::FilterEquals => "'='",
            Self::FilterPattern => "'*' only at the end of the pattern",
        }
    }
}

/// A malformed link-format document (or `ct` value, or filter query): the byte offset where
/// reading stopped and what was expected there.
///
/// The peer's fault: a server answering a request it cannot parse replies 4.00 Bad Request; a
/// client treats the document as unusable.
///
/// ```
/// use tern_coap::link_format::{parse, Expected};
///
/// let err = parse("</a>;rt=\"x").next().unwrap().unwrap_err();
/// assert_eq!((err.offset(), err.expected()), (10, Expected::QuotedText));
/// assert!(err.to_string().contains("byte 10"));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct LinkFormatError {
    offset: usize,
    expected: Expected,
}

impl LinkFormatError {
    const fn new(offset: usize, expected: Expected) -> Self {
        Self { offset, expected }
    }

    /// The byte offset in the input where the error was found.
    ///
    /// ```
    /// # use tern_coap::link_format::parse;
    /// assert_eq!(parse("</a>x").nth(1).unwrap().unwrap_err().offset(), 4);
    /// ```
    #[must_use]
    pub const fn offset(&self) -> usize {
        self.offset
    }

    /// What the parser expected at [`offset`](Self::offset).
    ///
    /// ```
    /// # use tern_coap::link_format::{parse, Expected};
    /// assert_eq!(parse("</a>;=1").next().unwrap().unwrap_err().expected(), Expected::ParmName);
    /// ```
    #[must_use]
    pub const fn expected(&self) -> Expected {
        self.expected
    }
}

impl fmt::Display for LinkFormatError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "link format: expected {} at byte {} ({})",
            self.expected.what(),
            self.offset,
            self.expected.rule()
        )
    }
}

#[cfg(feature = "std")]
impl std::error::Error for LinkFormatError {}

// ---------------------------------------------------------------------------------------------
// Character classes
// ---------------------------------------------------------------------------------------------

/// RFC 5987 `attr-char`, the characters of a `parmname`.
const fn is_attr_char(b: u8) -> bool {
    b.is_ascii_alphanumeric()
        || matches!(
            b,
            b'!' | b'#' | b'$' | b'&' | b'+' | b'-' | b'.' | b'^' | b'_' | b'`' | b'|' | b'~'
        )
}

/// RFC 6690 `ptokenchar`.
const fn is_ptoken_char(b: u8) -> bool {
    b.is_ascii_alphanumeric()
        || matches!(
            b,
            b'!' | b'#'
                | b'$'
                | b'%'
                | b'&'
                | b'\''
                | b'('
                | b')'
                | b'*'
                | b'+'
                | b'-'
                | b'.'
                | b'/'
                | b':'
                | b'<'
                | b'='
                | b'>'
                | b'?'
                | b'@'
                | b'['
                | b']'
                | b'^'
                | b'_'
                | b'`'
                | b'{'
                | b'|'
                | b'}'
                | b'~'
        )
}

/// RFC 3986 unreserved, reserved and `%` (whose two hex digits are checked separately).
const fn is_uri_char(b: u8) -> bool {
    b.is_ascii_alphanumeric()
        || matches!(
            b,
            b'-' | b'.'
                | b'_'
                | b'~'
                | b':'
                | b'/'
                | b'?'
                | b'#'
                | b'['
                | b']'
                | b'@'
                | b'!'
                | b'$'
                | b'&'
                | b'\''
                | b'('
                | b')'
                | b'*'
                | b'+'
                | b','
                | b';'
                | b'='
                | b'%'
        )
}

const fn is_link_ws(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\r' | b'\n')
}

/// Whether `s` is a non-empty RFC 6690 `ptoken`, so it can be written without quotes.
///
/// ```
/// use tern_coap::link_format::is_ptoken;
/// assert!(is_ptoken("temperature-c"));
/// assert!(!is_ptoken("Internal Clock"));
/// assert!(!is_ptoken(""));
/// ```
#[must_use]
pub fn is_ptoken(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(is_ptoken_char)
}

/// Whether `s` is a `parmname`, optionally followed by `*` (an `ext-name-star`).
fn is_attr_name(s: &str) -> bool {
    let base = s.strip_suffix('*').unwrap_or(s);
    !base.is_empty() && base.bytes().all(is_attr_char)
}

/// The offset of the first byte of `target` that is not URI-Reference text, if any.
fn check_target(target: &[u8], base: usize) -> Result<(), LinkFormatError> {
    let mut i = 0;
    while let Some(&b) = target.get(i) {
        if !is_uri_char(b) {
            return Err(LinkFormatError::new(base + i, Expected::UriReference));
        }
        if b == b'%' {
            for k in 1..=2 {
                if !target.get(i + k).is_some_and(u8::is_ascii_hexdigit) {
                    return Err(LinkFormatError::new(base + i + k, Expected::UriReference));
                }
            }
            i += 2;
        }
        i += 1;
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Parsing
// ---------------------------------------------------------------------------------------------

/// Parses a link-format document lazily, without copying: each item is the next link or the
/// first error, after which the iterator ends.
///
/// An empty document (or one of whitespace only) has no links.
///
/// ```
/// use tern_coap::link_format::parse;
///
/// let targets: Vec<&str> = parse("</a>;obs,\n</b>;title=\"x, y\"")
///     .map(|l| l.map(|l| l.target()))
///     .collect::<Result<_, _>>()?;
/// assert_eq!(targets, ["/a", "/b"]);
/// assert!(parse("</a>,").nth(1).unwrap().is_err()); // trailing comma
/// # Ok::<(), tern_coap::link_format::LinkFormatError>(())
/// ```
#[must_use]
pub fn parse(text: &str) -> LinkIter<'_> {
    LinkIter {
        text,
        pos: 0,
        state: IterState::Start,
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum IterState {
    Start,
    AfterLink,
    Done,
}

/// The iterator returned by [`parse`], yielding `Result<Link, LinkFormatError>`.
///
/// ```
/// let mut it = tern_coap::link_format::parse("</a>,</b>");
/// assert_eq!(it.next().unwrap()?.target(), "/a");
/// assert_eq!(it.next().unwrap()?.target(), "/b");
/// assert!(it.next().is_none());
/// # Ok::<(), tern_coap::link_format::LinkFormatError>(())
/// ```
#[derive(Debug, Clone)]
pub struct LinkIter<'a> {
    text: &'a str,
    pos: usize,
    state: IterState,
}

impl<'a> LinkIter<'a> {
    fn rest_is_ws(&self) -> bool {
        self.text
            .as_bytes()
            .get(self.pos..)
            .is_some_and(|r| r.iter().all(|&b| is_link_ws(b)))
    }

    fn step(&mut self) -> Result<Option<Link<'a>>, LinkFormatError> {
        let bytes = self.text.as_bytes();
        match self.state {
            IterState::Done => return Ok(None),
            IterState::Start => {
                if self.rest_is_ws() {
                    return Ok(None);
                }
            }
            IterState::AfterLink => {
                if self.rest_is_ws() {
                    return Ok(None);
                }
                if bytes.get(self.pos) != Some(&b',') {
                    return Err(LinkFormatError::new(self.pos, Expected::Separator));
                }
                self.pos += 1;
                while bytes.get(self.pos).copied().is_some_and(is_link_ws) {
                    self.pos += 1;
                }
            }
        }
        let (link, end) = read_link_value(self.text, self.pos)?;
        self.pos = end;
        self.state = IterState::AfterLink;
        Ok(Some(link))
    }
}

impl<'a> Iterator for LinkIter<'a> {
    type Item = Result<Link<'a>, LinkFormatError>;

    fn next(&mut self) -> Option<Self::Item> {
        match self.step() {
            Ok(Some(link)) => Some(Ok(link)),
            Ok(None) => {
                self.state = IterState::Done;
                None
            }
            Err(e) => {
                self.state = IterState::Done;
                Some(Err(e))
            }
        }
    }
}

impl core::iter::FusedIterator for LinkIter<'_> {}

/// Reads one link-value starting at `start`; returns it and the offset just past it.
fn read_link_value(text: &str, start: usize) -> Result<(Link<'_>, usize), LinkFormatError> {
    let bytes = text.as_bytes();
    if bytes.get(start) != Some(&b'<') {
        return Err(LinkFormatError::new(start, Expected::LinkValue));
    }
    let t0 = start + 1;
    let close = bytes
        .get(t0..)
        .and_then(|r| r.iter().position(|&b| b == b'>'))
        .map(|p| t0 + p);
    let Some(close) = close else {
        // Report the first bad character if there is one, else the missing '>' at the end.
        check_target(bytes.get(t0..).unwrap_or_default(), t0)?;
        return Err(LinkFormatError::new(bytes.len(), Expected::UriReference));
    };
    check_target(bytes.get(t0..close).unwrap_or_default(), t0)?;
    let mut pos = close + 1;
    while bytes.get(pos) == Some(&b';') {
        pos = read_param(bytes, pos + 1)?;
    }
    let link = Link {
        raw: text.get(start..pos).unwrap_or_default(),
        target: text.get(t0..close).unwrap_or_default(),
        params: text.get(close + 1..pos).unwrap_or_default(),
        offset: start,
    };
    Ok((link, pos))
}

/// Reads a link-param after its `;`; returns the offset just past it.
fn read_param(bytes: &[u8], start: usize) -> Result<usize, LinkFormatError> {
    let mut pos = start;
    while bytes.get(pos).copied().is_some_and(is_attr_char) {
        pos += 1;
    }
    if pos == start {
        return Err(LinkFormatError::new(pos, Expected::ParmName));
    }
    let star = bytes.get(pos) == Some(&b'*');
    if star {
        pos += 1;
        if bytes.get(pos) != Some(&b'=') {
            return Err(LinkFormatError::new(pos, Expected::ExtValue));
        }
    }
    if bytes.get(pos) != Some(&b'=') {
        return Ok(pos);
    }
    pos += 1;
    if bytes.get(pos) == Some(&b'"') {
        if star {
            return Err(LinkFormatError::new(pos, Expected::ExtValue));
        }
        return read_quoted(bytes, pos + 1);
    }
    let v0 = pos;
    while bytes.get(pos).copied().is_some_and(is_ptoken_char) {
        pos += 1;
    }
    if pos == v0 {
        let what = if star {
            Expected::ExtValue
        } else {
            Expected::Value
        };
        return Err(LinkFormatError::new(pos, what));
    }
    Ok(pos)
}

/// Reads the rest of a quoted-string after its opening `"`; returns the offset past the
/// closing `"`.
fn read_quoted(bytes: &[u8], start: usize) -> Result<usize, LinkFormatError> {
    let mut pos = start;
    loop {
        match bytes.get(pos) {
            None => return Err(LinkFormatError::new(pos, Expected::QuotedText)),
            Some(b'"') => return Ok(pos + 1),
            Some(b'\\') => {
                if !bytes.get(pos + 1).is_some_and(u8::is_ascii) {
                    return Err(LinkFormatError::new(pos + 1, Expected::QuotedPair));
                }
                pos += 2;
            }
            Some(&b) if (b < 0x20 && b != b'\t') || b == 0x7f => {
                return Err(LinkFormatError::new(pos, Expected::QuotedText));
            }
            Some(_) => pos += 1,
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Links and attributes
// ---------------------------------------------------------------------------------------------

/// One parsed link-value, borrowing the document. Only [`parse`] makes these, so a `Link` is
/// always well-formed.
///
/// ```
/// let link = tern_coap::link_format::parse(r#"</time>;if="clock";rt="ticks";obs"#)
///     .next().unwrap()?;
/// assert_eq!(link.target(), "/time");
/// assert!(link.has_attribute("obs"));
/// assert_eq!(link.attribute("if").unwrap().raw(), "clock");
/// # Ok::<(), tern_coap::link_format::LinkFormatError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Link<'a> {
    raw: &'a str,
    target: &'a str,
    params: &'a str,
    offset: usize,
}

impl<'a> Link<'a> {
    /// The URI-reference between `<` and `>`, as written (not resolved against any base).
    ///
    /// ```
    /// let link = tern_coap::link_format::parse("<coap://[::1]/a,b>").next().unwrap()?;
    /// assert_eq!(link.target(), "coap://[::1]/a,b");
    /// # Ok::<(), tern_coap::link_format::LinkFormatError>(())
    /// ```
    #[must_use]
    pub const fn target(&self) -> &'a str {
        self.target
    }

    /// The whole link-value as written in the document.
    ///
    /// ```
    /// let link = tern_coap::link_format::parse("</a>;ct=0,</b>").next().unwrap()?;
    /// assert_eq!(link.as_str(), "</a>;ct=0");
    /// # Ok::<(), tern_coap::link_format::LinkFormatError>(())
    /// ```
    #[must_use]
    pub const fn as_str(&self) -> &'a str {
        self.raw
    }

    /// The byte offset of this link's `<` in the document.
    ///
    /// ```
    /// let second = tern_coap::link_format::parse("</a>,</b>").nth(1).unwrap()?;
    /// assert_eq!(second.offset(), 5);
    /// # Ok::<(), tern_coap::link_format::LinkFormatError>(())
    /// ```
    #[must_use]
    pub const fn offset(&self) -> usize {
        self.offset
    }

    /// The attributes in document order, as `(name, value)`; a flag such as `obs` has no value.
    ///
    /// ```
    /// let link = tern_coap::link_format::parse(r#"</a>;rt="x y";obs"#).next().unwrap()?;
    /// let attrs: Vec<_> = link.attributes().map(|(n, v)| (n, v.map(|v| v.raw()))).collect();
    /// assert_eq!(attrs, [("rt", Some("x y")), ("obs", None)]);
    /// # Ok::<(), tern_coap::link_format::LinkFormatError>(())
    /// ```
    #[must_use]
    pub const fn attributes(&self) -> Attributes<'a> {
        Attributes { rest: self.params }
    }

    /// The value of the first attribute called `name` (ASCII case-insensitive); `None` when
    /// it is absent or that first occurrence is a flag without a value.
    ///
    /// ```
    /// let link = tern_coap::link_format::parse(r#"</a>;title="A \"b\"""#).next().unwrap()?;
    /// let title = link.attribute("title").unwrap();
    /// assert_eq!(title.raw(), r#"A \"b\""#);
    /// assert_eq!(title.unescaped(), r#"A "b""#);
    /// # Ok::<(), tern_coap::link_format::LinkFormatError>(())
    /// ```
    #[must_use]
    pub fn attribute(&self, name: &str) -> Option<AttrValue<'a>> {
        self.attributes()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .and_then(|(_, v)| v)
    }

    /// Whether the link has an attribute called `name`, with or without a value.
    ///
    /// ```
    /// let link = tern_coap::link_format::parse("</obs>;obs").next().unwrap()?;
    /// assert!(link.has_attribute("obs") && !link.has_attribute("rt"));
    /// # Ok::<(), tern_coap::link_format::LinkFormatError>(())
    /// ```
    #[must_use]
    pub fn has_attribute(&self, name: &str) -> bool {
        self.attributes().any(|(n, _)| n.eq_ignore_ascii_case(name))
    }

    /// The space-separated values of the first attribute called `name`: the relation-types of
    /// `rt`, `if`, `rel` and `rev`, or the codes of `ct`. Empty when the attribute is absent
    /// or a flag. The pieces are slices of the raw value (relation-types have no escapes).
    ///
    /// ```
    /// let link = tern_coap::link_format::parse(r#"</s>;rt="temp  core.s""#).next().unwrap()?;
    /// assert_eq!(link.values("rt").collect::<Vec<_>>(), ["temp", "core.s"]);
    /// assert_eq!(link.values("if").count(), 0);
    /// # Ok::<(), tern_coap::link_format::LinkFormatError>(())
    /// ```
    pub fn values(&self, name: &str) -> Values<'a> {
        Values {
            rest: self.attribute(name).map_or("", |v| v.raw()),
        }
    }

    /// The Content-Format codes of the `ct` attribute (RFC 7252 §7.2.1: a cardinal, or a
    /// quoted space-separated list of them). An entry that is not a cardinal of at most 65535
    /// yields an error with its offset in the document.
    ///
    /// ```
    /// let link = tern_coap::link_format::parse(r#"</a>;ct="0 40""#).next().unwrap()?;
    /// assert_eq!(link.content_formats().collect::<Result<Vec<_>, _>>()?, [0, 40]);
    /// let bad = tern_coap::link_format::parse("</a>;ct=070").next().unwrap()?;
    /// assert_eq!(bad.content_formats().next().unwrap().unwrap_err().offset(), 8);
    /// # Ok::<(), tern_coap::link_format::LinkFormatError>(())
    /// ```
    pub fn content_formats(&self) -> ContentFormats<'a> {
        ContentFormats {
            values: self.values("ct"),
            link: *self,
        }
    }

    /// Copies the link into an owned [`LinkBuf`] (values unescaped, quoting kept).
    ///
    /// ```
    /// let link = tern_coap::link_format::parse(r#"</a>;rt="x""#).next().unwrap()?;
    /// let buf = link.to_buf();
    /// assert_eq!(buf.target(), "/a");
    /// assert_eq!(tern_coap::link_format::to_string([&buf]).unwrap(), r#"</a>;rt="x""#);
    /// # Ok::<(), tern_coap::link_format::LinkFormatError>(())
    /// ```
    #[must_use]
    pub fn to_buf(&self) -> LinkBuf {
        let mut buf = LinkBuf::new(self.target);
        for (name, value) in self.attributes() {
            buf.attrs.push(AttrBuf {
                name: name.into(),
                value: value.map(|v| v.unescaped().into_owned()),
                quoted: value.is_some_and(|v| v.is_quoted()),
            });
        }
        buf
    }

    /// The offset of `piece` (a slice of this link's text) in the document.
    fn offset_of(&self, piece: &str) -> usize {
        self.offset + (piece.as_ptr() as usize).saturating_sub(self.raw.as_ptr() as usize)
    }
}

impl fmt::Display for Link<'_> {
    /// Writes the link-value as it was in the document.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.raw)
    }
}

/// An attribute value: a `ptoken` or the inside of a `quoted-string`.
///
/// ```
/// use tern_coap::link_format::AttrValue;
///
/// let v = AttrValue::Quoted(r"a\\b");
/// assert_eq!((v.raw(), v.unescaped().as_ref(), v.is_quoted()), (r"a\\b", r"a\b", true));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AttrValue<'a> {
    /// An unquoted `ptoken`.
    Token(&'a str),
    /// The text between the quotes of a `quoted-string`, escapes still in place.
    Quoted(&'a str),
}

impl<'a> AttrValue<'a> {
    /// The value as written, without the surrounding quotes and with escapes in place.
    ///
    /// ```
    /// # use tern_coap::link_format::AttrValue;
    /// assert_eq!(AttrValue::Token("40").raw(), "40");
    /// ```
    #[must_use]
    pub const fn raw(&self) -> &'a str {
        match *self {
            Self::Token(s) | Self::Quoted(s) => s,
        }
    }

    /// Whether the value was a quoted-string.
    ///
    /// ```
    /// # use tern_coap::link_format::AttrValue;
    /// assert!(!AttrValue::Token("x").is_quoted());
    /// ```
    #[must_use]
    pub const fn is_quoted(&self) -> bool {
        matches!(self, Self::Quoted(_))
    }

    /// The value with quoted-pairs resolved (`\x` → `x`). Borrows unless the value holds a
    /// backslash, so only escaped values allocate.
    ///
    /// ```
    /// # use tern_coap::link_format::AttrValue;
    /// use std::borrow::Cow;
    /// assert!(matches!(AttrValue::Quoted("plain").unescaped(), Cow::Borrowed("plain")));
    /// assert_eq!(AttrValue::Quoted(r#"say \"hi\""#).unescaped(), r#"say "hi""#);
    /// ```
    #[must_use]
    pub fn unescaped(&self) -> Cow<'a, str> {
        match *self {
            Self::Quoted(s) if s.contains('\\') => {
                let mut out = String::with_capacity(s.len());
                let mut chars = s.chars();
                while let Some(c) = chars.next() {
                    if c == '\\' {
                        if let Some(next) = chars.next() {
                            out.push(next);
                        }
                    } else {
                        out.push(c);
                    }
                }
                Cow::Owned(out)
            }
            Self::Token(s) | Self::Quoted(s) => Cow::Borrowed(s),
        }
    }
}

/// The attributes of a [`Link`], from [`Link::attributes`].
///
/// ```
/// let link = tern_coap::link_format::parse("</a>;sz=12;obs").next().unwrap()?;
/// assert_eq!(link.attributes().map(|(n, _)| n).collect::<Vec<_>>(), ["sz", "obs"]);
/// # Ok::<(), tern_coap::link_format::LinkFormatError>(())
/// ```
#[derive(Debug, Clone)]
pub struct Attributes<'a> {
    rest: &'a str,
}

impl<'a> Iterator for Attributes<'a> {
    type Item = (&'a str, Option<AttrValue<'a>>);

    fn next(&mut self) -> Option<Self::Item> {
        // The text was validated by the parser, so this only splits; anything unexpected ends
        // the iteration rather than panicking.
        let rest = self.rest.strip_prefix(';')?;
        let bytes = rest.as_bytes();
        let name_end = bytes
            .iter()
            .position(|&b| b == b'=' || b == b';')
            .unwrap_or(bytes.len());
        let name = rest.get(..name_end)?;
        if bytes.get(name_end) != Some(&b'=') {
            self.rest = rest.get(name_end..)?;
            return Some((name, None));
        }
        let v0 = name_end + 1;
        if bytes.get(v0) == Some(&b'"') {
            let end = read_quoted(bytes, v0 + 1).ok()?;
            let value = rest.get(v0 + 1..end - 1)?;
            self.rest = rest.get(end..)?;
            Some((name, Some(AttrValue::Quoted(value))))
        } else {
            let len = bytes
                .get(v0..)?
                .iter()
                .position(|&b| b == b';')
                .unwrap_or(bytes.len() - v0);
            let value = rest.get(v0..v0 + len)?;
            self.rest = rest.get(v0 + len..)?;
            Some((name, Some(AttrValue::Token(value))))
        }
    }
}

/// Space-separated values of one attribute, from [`Link::values`].
///
/// ```
/// let link = tern_coap::link_format::parse(r#"</a>;if="core.s core.a""#).next().unwrap()?;
/// assert!(link.values("if").any(|v| v == "core.a"));
/// # Ok::<(), tern_coap::link_format::LinkFormatError>(())
/// ```
#[derive(Debug, Clone)]
pub struct Values<'a> {
    rest: &'a str,
}

impl<'a> Iterator for Values<'a> {
    type Item = &'a str;

    fn next(&mut self) -> Option<&'a str> {
        let trimmed = self.rest.trim_start_matches(' ');
        if trimmed.is_empty() {
            self.rest = trimmed;
            return None;
        }
        let (value, rest) = trimmed.split_once(' ').unwrap_or((trimmed, ""));
        self.rest = rest;
        Some(value)
    }
}

/// The Content-Format codes of a link's `ct`, from [`Link::content_formats`].
///
/// ```
/// let link = tern_coap::link_format::parse("</a>;ct=50").next().unwrap()?;
/// assert_eq!(link.content_formats().next(), Some(Ok(50)));
/// # Ok::<(), tern_coap::link_format::LinkFormatError>(())
/// ```
#[derive(Debug, Clone)]
pub struct ContentFormats<'a> {
    values: Values<'a>,
    link: Link<'a>,
}

impl Iterator for ContentFormats<'_> {
    type Item = Result<u16, LinkFormatError>;

    fn next(&mut self) -> Option<Self::Item> {
        let piece = self.values.next()?;
        Some(
            parse_cardinal(piece).ok_or_else(|| {
                LinkFormatError::new(self.link.offset_of(piece), Expected::Cardinal)
            }),
        )
    }
}

/// RFC 6690 `cardinal = "0" / %x31-39 *DIGIT`, limited to u16.
fn parse_cardinal(s: &str) -> Option<u16> {
    let bytes = s.as_bytes();
    if bytes.is_empty() || !bytes.iter().all(u8::is_ascii_digit) {
        return None;
    }
    if bytes.len() > 1 && bytes.first() == Some(&b'0') {
        return None;
    }
    s.parse().ok()
}

// ---------------------------------------------------------------------------------------------
// Serializing
// ---------------------------------------------------------------------------------------------

/// One attribute of a [`LinkBuf`]: name, optional unescaped value, and whether it is written
/// as a quoted-string.
///
/// ```
/// let buf = tern_coap::link_format::LinkBuf::new("/a").attr("rt", "x");
/// let attr = buf.attributes().next().unwrap();
/// assert_eq!((attr.name(), attr.value(), attr.is_quoted()), ("rt", Some("x"), false));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct AttrBuf {
    name: String,
    value: Option<String>,
    quoted: bool,
}

impl AttrBuf {
    /// The attribute's name.
    ///
    /// ```
    /// let buf = tern_coap::link_format::LinkBuf::new("/a").flag("obs");
    /// assert_eq!(buf.attributes().next().unwrap().name(), "obs");
    /// ```
    #[must_use]
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The value, unescaped; `None` for a flag.
    ///
    /// ```
    /// let buf = tern_coap::link_format::LinkBuf::new("/a").flag("obs");
    /// assert_eq!(buf.attributes().next().unwrap().value(), None);
    /// ```
    #[must_use]
    pub fn value(&self) -> Option<&str> {
        self.value.as_deref()
    }

    /// Whether the value is written as a quoted-string.
    ///
    /// ```
    /// let buf = tern_coap::link_format::LinkBuf::new("/a").attr("title", "T");
    /// assert!(buf.attributes().next().unwrap().is_quoted());
    /// ```
    #[must_use]
    pub fn is_quoted(&self) -> bool {
        self.value.is_some() && self.quoted
    }
}

/// An owned link to serialize, built by chaining.
///
/// ```
/// use tern_coap::link_format::{to_string, LinkBuf};
///
/// let link = LinkBuf::new("/sensors/temp")
///     .attr("rt", "temperature-c")
///     .attr("if", "sensor")
///     .attr_quoted("title", "Temp, \"outside\"")
///     .flag("obs");
/// assert_eq!(
///     to_string([&link]).unwrap(),
///     r#"</sensors/temp>;rt=temperature-c;if=sensor;title="Temp, \"outside\"";obs"#
/// );
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct LinkBuf {
    target: String,
    attrs: Vec<AttrBuf>,
}

impl LinkBuf {
    /// A link to `target` (a URI-reference, checked when written) with no attributes.
    ///
    /// ```
    /// assert_eq!(tern_coap::link_format::LinkBuf::new("/a").target(), "/a");
    /// ```
    #[must_use]
    pub fn new(target: impl Into<String>) -> Self {
        Self {
            target: target.into(),
            attrs: Vec::new(),
        }
    }

    /// Adds `name=value`, quoting the value when it is not a `ptoken`, and always for
    /// `anchor` and `title`, whose RFC 6690 productions are quoted.
    ///
    /// ```
    /// use tern_coap::link_format::{to_string, LinkBuf};
    /// let link = LinkBuf::new("/a").attr("ct", "40").attr("rt", "a b").attr("anchor", "/x");
    /// assert_eq!(to_string([&link]).unwrap(), r#"</a>;ct=40;rt="a b";anchor="/x""#);
    /// ```
    #[must_use]
    pub fn attr(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        let name = name.into();
        let value = value.into();
        let quoted = !is_ptoken(&value)
            || name.eq_ignore_ascii_case("anchor")
            || name.eq_ignore_ascii_case("title");
        self.attrs.push(AttrBuf {
            name,
            value: Some(value),
            quoted,
        });
        self
    }

    /// Adds `name="value"`, always quoted (escaping `"`, `\` and control characters).
    ///
    /// ```
    /// use tern_coap::link_format::{to_string, LinkBuf};
    /// let link = LinkBuf::new("/a").attr_quoted("rt", "x");
    /// assert_eq!(to_string([&link]).unwrap(), r#"</a>;rt="x""#);
    /// ```
    #[must_use]
    pub fn attr_quoted(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.attrs.push(AttrBuf {
            name: name.into(),
            value: Some(value.into()),
            quoted: true,
        });
        self
    }

    /// Adds an attribute without a value, such as `obs`.
    ///
    /// ```
    /// use tern_coap::link_format::{to_string, LinkBuf};
    /// assert_eq!(to_string([&LinkBuf::new("/o").flag("obs")]).unwrap(), "</o>;obs");
    /// ```
    #[must_use]
    pub fn flag(mut self, name: impl Into<String>) -> Self {
        self.attrs.push(AttrBuf {
            name: name.into(),
            value: None,
            quoted: false,
        });
        self
    }

    /// The target URI-reference.
    ///
    /// ```
    /// assert_eq!(tern_coap::link_format::LinkBuf::new("</").target(), "</");
    /// ```
    #[must_use]
    pub fn target(&self) -> &str {
        &self.target
    }

    /// The attributes in the order they were added.
    ///
    /// ```
    /// let buf = tern_coap::link_format::LinkBuf::new("/a").flag("obs").attr("sz", "5");
    /// assert_eq!(buf.attributes().map(|a| a.name()).collect::<Vec<_>>(), ["obs", "sz"]);
    /// ```
    pub fn attributes(&self) -> impl Iterator<Item = &AttrBuf> {
        self.attrs.iter()
    }

    /// Appends this link-value to `out`; on error nothing is appended.
    fn write_to(&self, index: usize, out: &mut String) -> Result<(), WriteError> {
        check_target(self.target.as_bytes(), 0).map_err(|e| WriteError::Target {
            link: index,
            offset: e.offset(),
        })?;
        for (attribute, a) in self.attrs.iter().enumerate() {
            if !is_attr_name(&a.name) {
                return Err(WriteError::AttributeName {
                    link: index,
                    attribute,
                });
            }
            if a.name.ends_with('*') && (a.quoted || !a.value.as_deref().is_some_and(is_ptoken)) {
                return Err(WriteError::ExtValue {
                    link: index,
                    attribute,
                });
            }
        }
        out.push('<');
        out.push_str(&self.target);
        out.push('>');
        for a in &self.attrs {
            out.push(';');
            out.push_str(&a.name);
            let Some(value) = &a.value else { continue };
            out.push('=');
            if a.quoted || !is_ptoken(value) {
                out.push('"');
                for c in value.chars() {
                    if c == '"' || c == '\\' || c.is_ascii_control() {
                        out.push('\\');
                    }
                    out.push(c);
                }
                out.push('"');
            } else {
                out.push_str(value);
            }
        }
        Ok(())
    }
}

impl From<Link<'_>> for LinkBuf {
    fn from(link: Link<'_>) -> Self {
        link.to_buf()
    }
}

/// A link that cannot be written as RFC 6690 text: the caller's fault, not a peer's.
///
/// ```
/// use tern_coap::link_format::{to_string, LinkBuf, WriteError};
/// let bad = LinkBuf::new("/a b");
/// assert_eq!(to_string([&bad]), Err(WriteError::Target { link: 0, offset: 2 }));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum WriteError {
    /// The target of link number `link` is not a URI-reference; `offset` is the first bad byte.
    Target {
        /// Index of the link in the input.
        link: usize,
        /// Byte offset in the target.
        offset: usize,
    },
    /// An attribute name is not a `parmname` (optionally followed by `*`).
    AttributeName {
        /// Index of the link in the input.
        link: usize,
        /// Index of the attribute in the link.
        attribute: usize,
    },
    /// A `name*` attribute needs an unquoted `ext-value` (RFC 5987), which this value is not.
    ExtValue {
        /// Index of the link in the input.
        link: usize,
        /// Index of the attribute in the link.
        attribute: usize,
    },
}

impl fmt::Display for WriteError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Self::Target { link, offset } => write!(
                f,
                "link {link}: target is not a URI-Reference (byte {offset}; RFC 6690 link-value)"
            ),
            Self::AttributeName { link, attribute } => write!(
                f,
                "link {link}, attribute {attribute}: name is not a parmname (RFC 6690 link-extension)"
            ),
            Self::ExtValue { link, attribute } => write!(
                f,
                "link {link}, attribute {attribute}: a name* attribute needs an unquoted ext-value \
                 (RFC 6690 ext-name-star)"
            ),
        }
    }
}

#[cfg(feature = "std")]
impl std::error::Error for WriteError {}

/// Appends `links` to `out` as a canonical RFC 6690 document: links separated by `,` without
/// whitespace, values quoted when they are not `ptoken`s (and always for `anchor` and
/// `title`), `"`, `\` and control characters escaped. On error `out` is left as it was.
///
/// ```
/// use tern_coap::link_format::{parse, write, LinkBuf};
///
/// let links = [LinkBuf::new("/a").flag("obs"), LinkBuf::new("/b").attr("ct", "0")];
/// let mut out = String::new();
/// write(&links, &mut out).unwrap();
/// assert_eq!(out, "</a>;obs,</b>;ct=0");
/// let back: Vec<_> = parse(&out).map(|l| l.map(|l| l.to_buf())).collect::<Result<_, _>>()?;
/// assert_eq!(back, links);
/// # Ok::<(), tern_coap::link_format::LinkFormatError>(())
/// ```
pub fn write<'l>(
    links: impl IntoIterator<Item = &'l LinkBuf>,
    out: &mut String,
) -> Result<(), WriteError> {
    let start = out.len();
    for (i, link) in links.into_iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        if let Err(e) = link.write_to(i, out) {
            out.truncate(start);
            return Err(e);
        }
    }
    Ok(())
}

/// [`write()`] into a new `String`.
///
/// ```
/// use tern_coap::link_format::{to_string, LinkBuf};
/// assert_eq!(to_string(&[LinkBuf::new("/a"), LinkBuf::new("/b")]).unwrap(), "</a>,</b>");
/// ```
pub fn to_string<'l>(links: impl IntoIterator<Item = &'l LinkBuf>) -> Result<String, WriteError> {
    let mut out = String::new();
    write(links, &mut out)?;
    Ok(out)
}

// ---------------------------------------------------------------------------------------------
// Query filtering (RFC 6690 §4.1)
// ---------------------------------------------------------------------------------------------

/// Attributes whose value is a space-separated list: the filter matches any one entry.
const LIST_ATTRIBUTES: [&str; 5] = ["rt", "if", "rel", "rev", "ct"];

/// One `/.well-known/core` query filter (RFC 6690 §4.1): `name=value` or `name=prefix*`.
///
/// * `href` compares with the link's target;
/// * `rt`, `if`, `rel`, `rev` and `ct` match when any of their space-separated values does
///   (`ct` is compared as the decimal text: `?ct=40` matches `ct="0 40"`);
/// * other names compare with the whole unescaped value;
/// * `name=*` matches every link that has `name` at all, flags included; otherwise a flag
///   matches nothing.
///
/// Names are ASCII case-insensitive, values exact. The query is one Uri-Query option value,
/// which CoAP carries already percent-decoded, so no decoding happens here; a leading `?` is
/// ignored. This is one `filter-query`; how to combine several Uri-Query options is left to
/// the caller.
///
/// ```
/// use tern_coap::link_format::{parse, Filter};
///
/// let link = parse(r#"</sensors/temp>;rt="temperature-c core.s";ct=0"#).next().unwrap()?;
/// assert!(Filter::parse("rt=core.s")?.matches(&link));
/// assert!(Filter::parse("?href=/sensors*")?.matches(&link));
/// assert!(Filter::parse("rt=*")?.matches(&link));
/// assert!(!Filter::parse("if=*")?.matches(&link));
/// # Ok::<(), tern_coap::link_format::LinkFormatError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Filter<'q> {
    name: &'q str,
    pattern: &'q str,
    prefix: bool,
}

impl<'q> Filter<'q> {
    /// Parses `resource-param "=" search-token [ "*" ]`. Errors name the offset in `query`.
    ///
    /// ```
    /// use tern_coap::link_format::{Expected, Filter};
    /// let f = Filter::parse("if=If*")?;
    /// assert_eq!((f.name(), f.pattern(), f.is_prefix()), ("if", "If", true));
    /// assert_eq!(Filter::parse("rt").unwrap_err().expected(), Expected::FilterEquals);
    /// assert_eq!(Filter::parse("rt=a*b").unwrap_err().offset(), 4);
    /// # Ok::<(), tern_coap::link_format::LinkFormatError>(())
    /// ```
    pub fn parse(query: &'q str) -> Result<Self, LinkFormatError> {
        let skip = usize::from(query.starts_with('?'));
        let q = query.get(skip..).unwrap_or_default();
        let Some(eq) = q.find('=') else {
            return Err(LinkFormatError::new(query.len(), Expected::FilterEquals));
        };
        let name = q.get(..eq).unwrap_or_default();
        if let Some(bad) = name.bytes().position(|b| !is_attr_char(b)) {
            return Err(LinkFormatError::new(skip + bad, Expected::ParmName));
        }
        if name.is_empty() {
            return Err(LinkFormatError::new(skip, Expected::ParmName));
        }
        let value = q.get(eq + 1..).unwrap_or_default();
        let (pattern, prefix) = match value.strip_suffix('*') {
            Some(p) => (p, true),
            None => (value, false),
        };
        if let Some(star) = pattern.find('*') {
            return Err(LinkFormatError::new(
                skip + eq + 1 + star,
                Expected::FilterPattern,
            ));
        }
        Ok(Self {
            name,
            pattern,
            prefix,
        })
    }

    /// The resource-param: `href` or an attribute name.
    ///
    /// ```
    /// assert_eq!(tern_coap::link_format::Filter::parse("ct=40")?.name(), "ct");
    /// # Ok::<(), tern_coap::link_format::LinkFormatError>(())
    /// ```
    #[must_use]
    pub const fn name(&self) -> &'q str {
        self.name
    }

    /// The search-token, without the trailing `*`.
    ///
    /// ```
    /// assert_eq!(tern_coap::link_format::Filter::parse("href=/link*")?.pattern(), "/link");
    /// # Ok::<(), tern_coap::link_format::LinkFormatError>(())
    /// ```
    #[must_use]
    pub const fn pattern(&self) -> &'q str {
        self.pattern
    }

    /// Whether the pattern ended with `*` (a prefix match).
    ///
    /// ```
    /// assert!(!tern_coap::link_format::Filter::parse("rt=Type1")?.is_prefix());
    /// # Ok::<(), tern_coap::link_format::LinkFormatError>(())
    /// ```
    #[must_use]
    pub const fn is_prefix(&self) -> bool {
        self.prefix
    }

    fn matches_str(&self, s: &str) -> bool {
        if self.prefix {
            s.starts_with(self.pattern)
        } else {
            s == self.pattern
        }
    }

    /// Whether `link` passes this filter.
    ///
    /// ```
    /// use tern_coap::link_format::{parse, Filter};
    /// let link = parse(r#"</t>;title="Internal Clock";obs"#).next().unwrap()?;
    /// assert!(Filter::parse("title=Internal Clock")?.matches(&link));
    /// assert!(Filter::parse("obs=*")?.matches(&link));
    /// assert!(!Filter::parse("obs=")?.matches(&link));
    /// # Ok::<(), tern_coap::link_format::LinkFormatError>(())
    /// ```
    #[must_use]
    pub fn matches(&self, link: &Link<'_>) -> bool {
        if self.name.eq_ignore_ascii_case("href") {
            return self.matches_str(link.target());
        }
        if self.prefix && self.pattern.is_empty() {
            return link.has_attribute(self.name);
        }
        let list = LIST_ATTRIBUTES
            .iter()
            .any(|n| n.eq_ignore_ascii_case(self.name));
        link.attributes()
            .filter(|(n, _)| n.eq_ignore_ascii_case(self.name))
            .filter_map(|(_, v)| v)
            .any(|v| {
                let text = v.unescaped();
                if list {
                    Values { rest: &text }.any(|piece| self.matches_str(piece))
                } else {
                    self.matches_str(&text)
                }
            })
    }
}

/// Appends to `out` the links of `text` that pass `filter`, as written and separated by `,`,
/// and returns how many passed. On a parse error `out` is left as it was.
///
/// ```
/// use tern_coap::link_format::{filter_links, Filter};
///
/// let doc = r#"</a>;rt=Type1,</b>;rt="Type2 Type1",</c>;rt=Type3"#;
/// let mut out = String::new();
/// let n = filter_links(doc, &Filter::parse("rt=Type1")?, &mut out)?;
/// assert_eq!((n, out.as_str()), (2, r#"</a>;rt=Type1,</b>;rt="Type2 Type1""#));
/// # Ok::<(), tern_coap::link_format::LinkFormatError>(())
/// ```
pub fn filter_links(
    text: &str,
    filter: &Filter<'_>,
    out: &mut String,
) -> Result<usize, LinkFormatError> {
    let start = out.len();
    let mut count = 0;
    for link in parse(text) {
        let link = match link {
            Ok(link) => link,
            Err(e) => {
                out.truncate(start);
                return Err(e);
            }
        };
        if filter.matches(&link) {
            if count > 0 {
                out.push(',');
            }
            out.push_str(link.as_str());
            count += 1;
        }
    }
    Ok(count)
}
