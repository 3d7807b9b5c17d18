//! CoAP URIs against RFC 7252 §6 (and RFC 8323 §8 for the reliable transports): one test per
//! rule, named by section, and a property test of URI → options → URI.

use proptest::prelude::*;
use tern_coap::uri::{Scheme, URI_HOST, URI_PATH, URI_PORT, URI_QUERY, Uri, UriError, compose};

/// The options of a parsed URI as (number, value) pairs, easy to compare.
fn options(uri: &str) -> Vec<(u16, Vec<u8>)> {
    match Uri::parse(uri) {
        Ok(parsed) => parsed
            .to_options()
            .into_iter()
            .map(|(number, value)| (number, value.to_vec()))
            .collect(),
        Err(err) => panic!("{uri}: {err}"),
    }
}

fn opt(number: u16, value: &str) -> (u16, Vec<u8>) {
    (number, value.as_bytes().to_vec())
}

fn compose_owned(
    scheme: Scheme,
    host: &str,
    port: u16,
    options: &[(u16, Vec<u8>)],
) -> Result<String, UriError> {
    compose(
        scheme,
        host,
        port,
        options
            .iter()
            .map(|(number, value)| (*number, value.as_slice())),
    )
}

#[test]
fn rfc7252_6_3_equivalent_uris_give_the_same_options() {
    let expected = vec![
        opt(URI_HOST, "example.com"),
        opt(URI_PATH, "~sensors"),
        opt(URI_PATH, "temp.xml"),
    ];
    for uri in [
        "coap://example.com:5683/~sensors/temp.xml",
        "coap://EXAMPLE.com/%7Esensors/temp.xml",
        "coap://EXAMPLE.com:/%7esensors/temp.xml",
    ] {
        assert_eq!(options(uri), expected, "{uri}");
    }
}

#[test]
fn rfc7252_6_3_equivalent_uris_compose_to_one_canonical_form() {
    for uri in [
        "coap://example.com:5683/~sensors/temp.xml",
        "coap://EXAMPLE.com/%7Esensors/temp.xml",
        "coap://EXAMPLE.com:/%7esensors/temp.xml",
    ] {
        let parsed = Uri::parse(uri).unwrap();
        assert_eq!(parsed.to_string(), "coap://example.com/~sensors/temp.xml");
        assert_eq!(
            compose_owned(Scheme::Coap, "192.0.2.1", 5683, &options(uri)).unwrap(),
            "coap://example.com/~sensors/temp.xml"
        );
    }
}

#[test]
fn rfc7252_6_1_scheme_is_case_insensitive() {
    assert_eq!(Uri::parse("CoAP://h/").unwrap().scheme(), Scheme::Coap);
    assert_eq!(
        Uri::parse("COAPS+TCP://h/").unwrap().scheme(),
        Scheme::CoapsTcp
    );
}

#[test]
fn rfc7252_6_1_ipv6_literal_gives_no_uri_host() {
    let uri = Uri::parse("coap://[2001:db8::2:1]/").unwrap();
    assert_eq!(uri.host(), "2001:db8::2:1");
    assert!(uri.is_ip_literal());
    assert_eq!(uri.effective_port(), 5683);
    assert!(uri.to_options().is_empty());
    assert_eq!(uri.to_string(), "coap://[2001:db8::2:1]/");
}

#[test]
fn rfc7252_6_4_ipv6_literal_with_port_path_and_query() {
    let uri = "coap://[::1]:61616/hello?a=b&c";
    assert_eq!(
        options(uri),
        vec![
            (URI_PORT, vec![0xF0, 0xB0]),
            opt(URI_PATH, "hello"),
            opt(URI_QUERY, "a=b"),
            opt(URI_QUERY, "c"),
        ]
    );
    assert_eq!(
        compose_owned(Scheme::Coap, "::1", 5683, &options(uri)).unwrap(),
        uri
    );
}

#[test]
fn rfc7252_6_4_step_5_ipv4_host_gives_no_uri_host() {
    let uri = Uri::parse("coap://192.0.2.1:5684/x").unwrap();
    assert!(uri.is_ip_literal());
    assert_eq!(
        options("coap://192.0.2.1:5684/x"),
        vec![(URI_PORT, vec![0x16, 0x34]), opt(URI_PATH, "x")]
    );
    // Not a valid dotted quad, so a reg-name (RFC 3986 §3.2.2), which does get a Uri-Host.
    assert_eq!(
        options("coap://192.0.2.256/"),
        vec![opt(URI_HOST, "192.0.2.256")]
    );
}

#[test]
fn rfc7252_6_4_step_5_reg_name_is_lowercased_and_percent_decoded() {
    assert_eq!(
        options("coap://Caf%C3%A9.EXAMPLE%2eorg/"),
        vec![opt(URI_HOST, "café.example.org")]
    );
}

#[test]
fn rfc7252_6_4_fragment_is_an_error() {
    assert_eq!(Uri::parse("coap://h/a#b"), Err(UriError::Fragment));
    assert_eq!(Uri::parse("coap://h/#"), Err(UriError::Fragment));
    assert_eq!(Uri::parse("coap://h?q#f"), Err(UriError::Fragment));
}

#[test]
fn rfc7252_6_4_step_1_relative_uri_is_an_error() {
    for uri in ["", "/a/b", "//h/a", "1coap://h/", "h:/x"] {
        let err = Uri::parse(uri).unwrap_err();
        assert!(
            matches!(err, UriError::NotAbsolute | UriError::UnsupportedScheme),
            "{uri}: {err:?}"
        );
    }
    assert_eq!(Uri::parse("/a/b"), Err(UriError::NotAbsolute));
}

#[test]
fn rfc7252_6_4_step_2_other_schemes_are_an_error() {
    for uri in ["http://h/", "coap+udp://h/", "coapx://h/"] {
        assert_eq!(Uri::parse(uri), Err(UriError::UnsupportedScheme), "{uri}");
    }
}

#[test]
fn rfc7252_6_1_host_must_not_be_empty() {
    for uri in [
        "coap:///a",
        "coap://:5683/",
        "coap:/a",
        "coap:a",
        "coap://?q",
    ] {
        assert_eq!(Uri::parse(uri), Err(UriError::MissingHost), "{uri}");
    }
}

#[test]
fn rfc7252_6_1_no_userinfo() {
    assert_eq!(Uri::parse("coap://user@h/"), Err(UriError::UserInfo));
}

#[test]
fn rfc3986_3_2_2_invalid_hosts_are_errors() {
    for uri in [
        "coap://[::1/",
        "coap://[not-an-ip]/",
        "coap://[v1.x]/",
        "coap://[fe80::1%25eth0]/",
        "coap://[::1]x/",
        "coap://h h/",
        "coap://h<>/",
    ] {
        assert_eq!(Uri::parse(uri), Err(UriError::InvalidHost), "{uri}");
    }
}

#[test]
fn rfc7252_6_1_port_range() {
    assert_eq!(Uri::parse("coap://h:0/").unwrap().port(), Some(0));
    assert_eq!(Uri::parse("coap://h:65535/").unwrap().port(), Some(65535));
    assert_eq!(Uri::parse("coap://h:00080/").unwrap().port(), Some(80));
    for uri in [
        "coap://h:65536/",
        "coap://h:99999999999999999999/",
        "coap://h:-1/",
        "coap://h:8o/",
        "coap://h:1:2/",
        "coap://[::1]:x/",
    ] {
        assert_eq!(Uri::parse(uri), Err(UriError::InvalidPort), "{uri}");
    }
}

#[test]
fn rfc7252_6_4_step_6_port_zero_is_an_empty_uri_port() {
    assert_eq!(
        options("coap://h:0"),
        vec![opt(URI_HOST, "h"), (URI_PORT, vec![])]
    );
    assert_eq!(
        options("coap://h:255"),
        vec![opt(URI_HOST, "h"), (URI_PORT, vec![255])]
    );
}

#[test]
fn rfc7252_6_4_and_rfc8323_8_each_schemes_default_port() {
    let expected = [
        ("coap", Scheme::Coap, 5683, false, false),
        ("coaps", Scheme::Coaps, 5684, true, false),
        ("coap+tcp", Scheme::CoapTcp, 5683, false, true),
        ("coaps+tcp", Scheme::CoapsTcp, 5684, true, true),
        ("coap+ws", Scheme::CoapWs, 80, false, true),
        ("coaps+ws", Scheme::CoapsWs, 443, true, true),
    ];
    for (name, scheme, port, secure, reliable) in expected {
        assert_eq!(scheme.as_str(), name);
        assert_eq!(Scheme::from_name(name), Some(scheme));
        assert_eq!(scheme.default_port(), port);
        assert_eq!(scheme.is_secure(), secure, "{name}");
        assert_eq!(scheme.is_reliable(), reliable, "{name}");

        let uri = Uri::parse(&format!("{name}://h/")).unwrap();
        assert_eq!(uri.port(), None);
        assert_eq!(uri.effective_port(), port);
        // The default port, written or not, gives no Uri-Port and is left out when composing.
        assert_eq!(
            options(&format!("{name}://h:{port}/")),
            vec![opt(URI_HOST, "h")]
        );
        assert_eq!(
            compose_owned(scheme, "h", port, &[]).unwrap(),
            format!("{name}://h/")
        );
        let other = port.wrapping_add(1);
        assert_eq!(
            compose_owned(scheme, "h", other, &[]).unwrap(),
            format!("{name}://h:{other}/")
        );
    }
}

#[test]
fn rfc7252_6_4_step_8_empty_path_and_slash_give_no_uri_path() {
    assert_eq!(options("coap://h"), vec![opt(URI_HOST, "h")]);
    assert_eq!(options("coap://h/"), vec![opt(URI_HOST, "h")]);
    assert_eq!(
        options("coap://h?x"),
        vec![opt(URI_HOST, "h"), opt(URI_QUERY, "x")]
    );
}

#[test]
fn rfc7252_6_4_step_8_trailing_slash_gives_an_empty_last_segment() {
    assert_eq!(
        options("coap://h/a/"),
        vec![opt(URI_HOST, "h"), opt(URI_PATH, "a"), opt(URI_PATH, "")]
    );
    assert_eq!(
        options("coap://h//"),
        vec![opt(URI_HOST, "h"), opt(URI_PATH, ""), opt(URI_PATH, "")]
    );
}

#[test]
fn rfc3986_5_2_4_dot_segments_are_removed() {
    for (uri, segments) in [
        ("coap://h/a/./b", &["a", "b"][..]),
        ("coap://h/a/../b", &["b"]),
        ("coap://h/a/b/c/./../../g", &["a", "g"]),
        ("coap://h/../../a", &["a"]),
        ("coap://h/a/..", &[]),
        ("coap://h/a/.", &["a", ""]),
        ("coap://h/a/b/..", &["a", ""]),
        ("coap://h/./", &[]),
        ("coap://h/.../..a/b.", &["...", "..a", "b."]),
    ] {
        assert_eq!(Uri::parse(uri).unwrap().path_segments(), segments, "{uri}");
    }
}

#[test]
fn rfc3986_5_2_4_percent_encoded_dots_are_not_dot_segments() {
    let uri = Uri::parse("coap://h/%2E/%2e%2E/a").unwrap();
    assert_eq!(uri.path_segments(), [".", "..", "a"]);
    assert_eq!(uri.to_string(), "coap://h/%2E/%2E%2E/a");
    // and composing keeps them that way
    let composed = compose_owned(
        Scheme::Coap,
        "h",
        5683,
        &[opt(URI_PATH, "."), opt(URI_PATH, "..")],
    )
    .unwrap();
    assert_eq!(composed, "coap://h/%2E/%2E%2E");
    assert_eq!(Uri::parse(&composed).unwrap().path_segments(), [".", ".."]);
}

#[test]
fn rfc7252_6_4_step_8_percent_encoded_slash_stays_in_one_segment() {
    let uri = "coap://h/a%2Fb/c";
    assert_eq!(
        options(uri),
        vec![opt(URI_HOST, "h"), opt(URI_PATH, "a/b"), opt(URI_PATH, "c")]
    );
    assert_eq!(
        compose_owned(Scheme::Coap, "h", 5683, &options(uri)).unwrap(),
        "coap://h/a%2Fb/c"
    );
}

#[test]
fn rfc7252_6_4_step_9_query_arguments_split_at_ampersand() {
    assert_eq!(
        options("coap://h/?a=1&b%26c=2&d%3De"),
        vec![
            opt(URI_HOST, "h"),
            opt(URI_QUERY, "a=1"),
            opt(URI_QUERY, "b&c=2"),
            opt(URI_QUERY, "d=e"),
        ]
    );
    // '/' and '?' may stand unencoded in a query (RFC 3986 §3.4).
    assert_eq!(
        Uri::parse("coap://h/?a/b?c").unwrap().query_params(),
        ["a/b?c"]
    );
}

#[test]
fn rfc7252_6_4_step_9_empty_query_arguments_are_kept() {
    assert_eq!(
        Uri::parse("coap://h/?a&&b&").unwrap().query_params(),
        ["a", "", "b", ""]
    );
    assert_eq!(Uri::parse("coap://h/?").unwrap().query_params(), [""]);
    let composed = compose_owned(
        Scheme::Coap,
        "h",
        5683,
        &[opt(URI_QUERY, ""), opt(URI_QUERY, "")],
    )
    .unwrap();
    assert_eq!(composed, "coap://h/?&");
    assert_eq!(Uri::parse(&composed).unwrap().query_params(), ["", ""]);
}

#[test]
fn rfc3986_2_1_bad_percent_encoding_is_an_error() {
    for uri in [
        "coap://h/%",
        "coap://h/%4",
        "coap://h/%zz",
        "coap://h/?%G0",
        "coap://h%/",
    ] {
        assert_eq!(
            Uri::parse(uri),
            Err(UriError::InvalidPercentEncoding),
            "{uri}"
        );
    }
}

#[test]
fn rfc3986_3_3_unencoded_characters_are_errors() {
    for uri in [
        "coap://h/a b",
        "coap://h/a\"b",
        "coap://h/café",
        "coap://h/a[b]",
        "coap://h/?a b",
        "coap://h/a\\b",
    ] {
        assert_eq!(Uri::parse(uri), Err(UriError::InvalidCharacter), "{uri}");
    }
}

#[test]
fn rfc7252_3_2_decoded_values_must_be_utf8() {
    assert_eq!(Uri::parse("coap://h/%FF"), Err(UriError::InvalidUtf8));
    assert_eq!(Uri::parse("coap://h/?%C3"), Err(UriError::InvalidUtf8));
    assert_eq!(Uri::parse("coap://%FF/"), Err(UriError::InvalidUtf8));
    assert_eq!(
        compose(Scheme::Coap, "h", 5683, [(URI_PATH, &[0xFF][..])]),
        Err(UriError::InvalidUtf8)
    );
    assert_eq!(
        compose(Scheme::Coap, "h", 5683, [(URI_HOST, &[0xC3][..])]),
        Err(UriError::InvalidUtf8)
    );
}

#[test]
fn rfc7252_5_10_option_length_limits() {
    let ok = "a".repeat(255);
    let long = "a".repeat(256);
    let uri = Uri::parse(&format!("coap://{ok}/{ok}?{ok}")).unwrap();
    assert_eq!(uri.to_options().len(), 3);
    assert_eq!(
        Uri::parse(&format!("coap://{long}/")),
        Err(UriError::OptionLength { number: URI_HOST })
    );
    assert_eq!(
        Uri::parse(&format!("coap://h/{long}")),
        Err(UriError::OptionLength { number: URI_PATH })
    );
    // The limit is on the decoded value: 86 x "%41" is 258 characters but 86 bytes.
    let encoded = "%41".repeat(86);
    assert_eq!(
        Uri::parse(&format!("coap://h/{encoded}"))
            .unwrap()
            .path_segments(),
        ["A".repeat(86)]
    );
    assert_eq!(
        Uri::parse(&format!("coap://h/?{}", "%41".repeat(256))),
        Err(UriError::OptionLength { number: URI_QUERY })
    );
    assert_eq!(
        compose_owned(Scheme::Coap, "h", 5683, &[opt(URI_PATH, &long)]),
        Err(UriError::OptionLength { number: URI_PATH })
    );
    assert_eq!(
        compose_owned(Scheme::Coap, "h", 5683, &[opt(URI_HOST, "")]),
        Err(UriError::OptionLength { number: URI_HOST })
    );
    assert_eq!(
        compose_owned(Scheme::Coap, "h", 5683, &[(URI_PORT, vec![0, 0, 1])]),
        Err(UriError::InvalidPort)
    );
}

#[test]
fn rfc7252_5_4_5_repeated_uri_host_or_port_is_an_error() {
    assert_eq!(
        compose_owned(
            Scheme::Coap,
            "h",
            5683,
            &[opt(URI_HOST, "a"), opt(URI_HOST, "b")]
        ),
        Err(UriError::RepeatedOption { number: URI_HOST })
    );
    assert_eq!(
        compose_owned(
            Scheme::Coap,
            "h",
            5683,
            &[(URI_PORT, vec![1]), (URI_PORT, vec![2])]
        ),
        Err(UriError::RepeatedOption { number: URI_PORT })
    );
}

#[test]
fn rfc7252_6_5_destination_stands_in_for_absent_uri_host_and_port() {
    assert_eq!(
        compose_owned(Scheme::Coap, "2001:db8::1", 61616, &[opt(URI_PATH, "x")]).unwrap(),
        "coap://[2001:db8::1]:61616/x"
    );
    assert_eq!(
        compose_owned(Scheme::Coap, "[2001:db8::1]", 5683, &[]).unwrap(),
        "coap://[2001:db8::1]/"
    );
    assert_eq!(
        compose_owned(Scheme::Coaps, "192.0.2.1", 5684, &[]).unwrap(),
        "coaps://192.0.2.1/"
    );
    // Uri-Host and Uri-Port win over the destination.
    assert_eq!(
        compose_owned(
            Scheme::Coap,
            "192.0.2.1",
            9999,
            &[opt(URI_HOST, "example.com"), (URI_PORT, vec![0x16, 0x33])]
        )
        .unwrap(),
        "coap://example.com/"
    );
    assert_eq!(
        compose_owned(Scheme::Coap, "", 5683, &[]),
        Err(UriError::MissingHost)
    );
}

#[test]
fn rfc7252_6_5_percent_encoding_of_path_query_and_host() {
    let composed = compose_owned(
        Scheme::Coap,
        "h",
        5683,
        &[
            opt(URI_HOST, "a b.example"),
            opt(URI_PATH, "x:@!$'()*+,;=-._~ /?#[]%é"),
            opt(URI_QUERY, "k=v/?:@&#"),
        ],
    )
    .unwrap();
    assert_eq!(
        composed,
        "coap://a%20b.example/x:@!$'()*+,;=-._~%20%2F%3F%23%5B%5D%25%C3%A9?k=v/?:@%26%23"
    );
}

#[test]
fn rfc7252_6_5_other_options_are_ignored_and_order_within_a_number_is_kept() {
    let composed = compose(
        Scheme::Coap,
        "h",
        5683,
        [
            (URI_QUERY, &b"q1"[..]),
            (URI_PATH, &b"p1"[..]),
            (12, &[0][..]),
            (URI_QUERY, &b"q2"[..]),
            (URI_PATH, &b"p2"[..]),
        ],
    )
    .unwrap();
    assert_eq!(composed, "coap://h/p1/p2?q1&q2");
}

#[test]
fn errors_name_their_rfc_section() {
    for err in [
        UriError::NotAbsolute,
        UriError::UnsupportedScheme,
        UriError::Fragment,
        UriError::MissingHost,
        UriError::UserInfo,
        UriError::InvalidHost,
        UriError::InvalidPort,
        UriError::InvalidCharacter,
        UriError::InvalidPercentEncoding,
        UriError::InvalidUtf8,
        UriError::OptionLength { number: URI_PATH },
        UriError::RepeatedOption { number: URI_HOST },
    ] {
        let text = err.to_string();
        assert!(text.contains("RFC "), "{err:?}: {text}");
    }
}

// --- property tests -------------------------------------------------------------------------

/// Option values that stress the encoder: reserved and unreserved ASCII, '%', dots, and any
/// Unicode, cut to the 255-byte option limit.
fn value() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-zA-Z0-9/?#\\[\\]@!$&'()*+,;=:%._~ -]{0,12}",
        Just(".".to_owned()),
        Just("..".to_owned()),
        Just(String::new()),
        any::<String>(),
    ]
    .prop_map(|mut s| {
        while s.len() > 255 {
            s.pop();
        }
        s
    })
}

fn scheme() -> impl Strategy<Value = Scheme> {
    prop::sample::select(Scheme::ALL.to_vec())
}

/// A Uri-Host value as a parser would produce it: non-empty, ASCII-lowercase, and not an IP
/// address (those travel as the destination, not as Uri-Host).
fn uri_host() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-z0-9.-]{1,20}",
        "\\[[a-z0-9:.]{0,8}\\]",
        "[a-z0-9!$&'()*+,;=:@/?# %_~-]{1,20}",
        "\\PC{1,10}",
    ]
    .prop_map(|s| s.to_ascii_lowercase())
    .prop_filter("an IP address or too long", |s| {
        s.len() <= 255
            && s.parse::<std::net::IpAddr>().is_err()
            && s.strip_prefix('[')
                .and_then(|s| s.strip_suffix(']'))
                .is_none_or(|ip| ip.parse::<std::net::Ipv6Addr>().is_err())
    })
}

#[derive(Debug, Clone)]
struct Request {
    scheme: Scheme,
    host: Option<String>,
    port: Option<u16>,
    path: Vec<String>,
    query: Vec<String>,
}

impl Request {
    /// The options in the order and form `Uri::to_options` produces them.
    fn options(&self) -> Vec<(u16, Vec<u8>)> {
        let mut options = Vec::new();
        if let Some(host) = &self.host {
            options.push(opt(URI_HOST, host));
        }
        if let Some(port) = self.port.filter(|&p| p != self.scheme.default_port()) {
            let bytes = port.to_be_bytes();
            let skip = bytes.iter().take_while(|&&b| b == 0).count();
            options.push((URI_PORT, bytes[skip..].to_vec()));
        }
        options.extend(self.path.iter().map(|s| opt(URI_PATH, s)));
        options.extend(self.query.iter().map(|s| opt(URI_QUERY, s)));
        options
    }
}

fn request() -> impl Strategy<Value = Request> {
    (
        scheme(),
        prop::option::of(uri_host()),
        prop::option::of(any::<u16>()),
        prop::collection::vec(value(), 0..5),
        prop::collection::vec(value(), 0..4),
    )
        .prop_map(|(scheme, host, port, path, query)| Request {
            scheme,
            host,
            port,
            path,
            query,
        })
        // A lone empty Uri-Path composes to "/", which §6.4 reads as no Uri-Path at all.
        .prop_filter("a lone empty Uri-Path", |r| r.path != [String::new()])
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    /// Options → compose (§6.5) → parse → options (§6.4) is the identity, and composing the
    /// parsed options again reproduces the same text.
    #[test]
    fn rfc7252_6_5_options_compose_and_parse_back(
        request in request(),
        destination in prop_oneof![
            Just("192.0.2.1"),
            Just("2001:db8::2:1"),
            Just("[::1]"),
            Just("dest.example"),
        ],
    ) {
        let options = request.options();
        let dest_port = request.scheme.default_port();
        let text = compose_owned(request.scheme, destination, dest_port, &options).unwrap();
        let parsed = Uri::parse(&text).unwrap_or_else(|err| panic!("{text}: {err}"));
        prop_assert_eq!(parsed.scheme(), request.scheme);

        let mut expected = options.clone();
        if request.host.is_none() && destination == "dest.example" {
            expected.insert(0, opt(URI_HOST, destination));
        }
        let reparsed: Vec<(u16, Vec<u8>)> = parsed
            .to_options()
            .into_iter()
            .map(|(n, v)| (n, v.to_vec()))
            .collect();
        prop_assert_eq!(&reparsed, &expected, "{}", text);

        let again = compose_owned(parsed.scheme(), parsed.host(), parsed.effective_port(), &reparsed)
            .unwrap();
        prop_assert_eq!(&again, &text);
        prop_assert_eq!(parsed.to_string(), text);
    }

    /// Parsing arbitrary text never panics, and whatever parses composes and parses back to the
    /// same options.
    #[test]
    fn rfc7252_6_4_any_text_parses_or_errors(
        text in prop_oneof![
            any::<String>(),
            "coap(s)?(\\+tcp|\\+ws)?://[a-zA-Z0-9.:\\[\\]%@]{0,12}(/[a-zA-Z0-9.%/?&=#]{0,16})?",
        ],
    ) {
        if let Ok(uri) = Uri::parse(&text) {
            let options: Vec<(u16, Vec<u8>)> = uri
                .to_options()
                .into_iter()
                .map(|(n, v)| (n, v.to_vec()))
                .collect();
            let composed =
                compose_owned(uri.scheme(), uri.host(), uri.effective_port(), &options).unwrap();
            let back = Uri::parse(&composed).unwrap();
            let back_options: Vec<(u16, Vec<u8>)> = back
                .to_options()
                .into_iter()
                .map(|(n, v)| (n, v.to_vec()))
                .collect();
            // Parsing never yields a lone empty segment (the path "/" gives none), so nothing
            // is lost.
            prop_assert_eq!(back_options, options, "{} -> {}", text, composed);
        }
    }
}
