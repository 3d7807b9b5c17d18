//! CoRE Link Format (RFC 6690): parsing arbitrary text never panics; a document that parses
//! serializes back (`LinkBuf`, `write`) to text that parses to the same links; `Filter::parse`,
//! `Filter::matches` and `filter_links` never panic, and `filter_links` writes exactly the
//! links that `matches` picks.
//!
//! Input: `query NUL document` as UTF-8 text (anything else is skipped); without a NUL the
//! whole input is both the query and the document.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tern_coap::link_format::{self, Filter, Link, LinkBuf};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = core::str::from_utf8(data) else {
        return;
    };
    let (query, doc) = text.split_once('\0').unwrap_or((text, text));

    let parsed: Result<Vec<Link<'_>>, _> = link_format::parse(doc).collect();
    let links = match parsed {
        Ok(links) => links,
        Err(e) => {
            assert!(e.offset() <= doc.len(), "error offset {} past the end", e.offset());
            let _ = (e.to_string(), e.expected().rule());
            filter(query, doc, None);
            return;
        }
    };
    for link in &links {
        let _ = (link.target(), link.as_str(), link.offset(), link.to_string());
        assert_eq!(
            doc.get(link.offset()..link.offset() + link.as_str().len()),
            Some(link.as_str()),
            "offset and as_str disagree"
        );
        for (name, value) in link.attributes() {
            let _ = (link.attribute(name), link.has_attribute(name), link.values(name).count());
            if let Some(v) = value {
                let _ = (v.raw(), v.is_quoted(), v.unescaped());
            }
        }
        let _ = link.content_formats().count();
    }

    // Accepted documents serialize and parse back to the same links.
    let bufs: Vec<LinkBuf> = links.iter().map(Link::to_buf).collect();
    let written = link_format::to_string(&bufs)
        .unwrap_or_else(|e| panic!("{doc:?}: parsed links do not serialize: {e}"));
    let back: Vec<LinkBuf> = link_format::parse(&written)
        .map(|l| l.map(|l| l.to_buf()))
        .collect::<Result<_, _>>()
        .unwrap_or_else(|e| panic!("{doc:?}: written as {written:?}, which does not parse: {e}"));
    assert_eq!(back, bufs, "{doc:?}: written as {written:?}, which parses differently");

    filter(query, doc, Some(&links));
});

/// `Filter::parse(query)`, then `filter_links` on `doc` agrees with `matches` on its `links`
/// (`None`: the document does not parse, so `filter_links` must fail and write nothing).
fn filter(query: &str, doc: &str, links: Option<&[Link<'_>]>) {
    let Ok(f) = Filter::parse(query) else {
        return;
    };
    let _ = (f.name(), f.pattern(), f.is_prefix());
    let mut out = String::from("x");
    let result = link_format::filter_links(doc, &f, &mut out);
    let Some(links) = links else {
        assert!(result.is_err(), "filter_links accepted a document parse refuses");
        assert_eq!(out, "x", "filter_links wrote after an error");
        return;
    };
    let picked: Vec<&str> = links
        .iter()
        .filter(|l| f.matches(l))
        .map(|l| l.as_str())
        .collect();
    let count = result.unwrap_or_else(|e| panic!("filter_links refused {doc:?}: {e}"));
    assert_eq!(count, picked.len(), "filter_links count");
    assert_eq!(out, format!("x{}", picked.join(",")), "filter_links output");
}
