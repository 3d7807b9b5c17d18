//! URIs: `Uri::parse` on arbitrary text never panics, and what it accepts survives the trip to
//! options and back (RFC 7252 §6.4 then §6.5): `compose` turns `to_options()` into a URI that
//! parses to the same options. The `Display` form parses back to the same URI
//! (up to the default port, which it leaves out).
//!
//! Input: UTF-8 text (anything else is skipped).
#![no_main]

use libfuzzer_sys::fuzz_target;
use tern_coap::uri::{Uri, compose};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = core::str::from_utf8(data) else {
        return;
    };
    let uri = match Uri::parse(text) {
        Ok(uri) => uri,
        Err(e) => {
            let _ = e.to_string();
            return;
        }
    };
    let scheme = uri.scheme();
    let _ = (scheme.as_str(), scheme.is_secure(), scheme.is_reliable());
    let _ = (uri.is_ip_literal(), uri.port(), uri.path_segments(), uri.query_params());

    // §6.4 then §6.5: the options compose to a URI with the same options. Without a Uri-Host
    // option (an IP literal host) the host is the destination's address, passed separately.
    let options = uri.to_options();
    let composed = compose(
        scheme,
        uri.host(),
        uri.effective_port(),
        options.iter().map(|(n, v)| (*n, &v[..])),
    )
    .unwrap_or_else(|e| panic!("{text:?}: the options of {uri:?} do not compose: {e}"));
    let reparsed = Uri::parse(&composed)
        .unwrap_or_else(|e| panic!("{text:?}: composed {composed:?} does not parse: {e}"));
    assert_eq!(
        reparsed.to_options(),
        options,
        "{text:?}: composed {composed:?} gives other options"
    );

    let shown = uri.to_string();
    let again = Uri::parse(&shown)
        .unwrap_or_else(|e| panic!("{text:?}: displayed as {shown:?}, which does not parse: {e}"));
    // Display writes the normalized form (RFC 7252 §6.3): the default port is left out.
    let parts = |u: &Uri| {
        let (path, query) = (u.path_segments().to_vec(), u.query_params().to_vec());
        (u.scheme(), u.host().to_owned(), u.is_ip_literal(), u.effective_port(), path, query)
    };
    assert_eq!(
        parts(&again),
        parts(&uri),
        "{text:?}: displayed as {shown:?}, which parses differently"
    );
});
