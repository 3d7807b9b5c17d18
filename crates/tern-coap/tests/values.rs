//! Typed option values (crates/tern-coap/src/value.rs), one test per rule, named by RFC and
//! section, then property tests: every typed value round-trips through its setter and getter,
//! uints are written minimal and read with leading zeros, and a getter fails exactly when
//! `Options::unrecognized()` lists the option.

use bytes::Bytes;
use proptest::prelude::*;
use tern_coap::message::Code;
use tern_coap::option::{OptionNumber, Options, ValueFormat};
use tern_coap::value::{
    Block, ContentFormat, DEFAULT_MAX_AGE, ETag, Echo, HopLimit, IfMatch, NoResponse, Observe,
    RequestTag, ValueError,
};

/// Options holding one option with these exact value bytes.
fn raw(number: OptionNumber, value: &[u8]) -> Options {
    Options::builder()
        .push(number, Bytes::copy_from_slice(value))
        .build()
        .unwrap()
}

/// The value bytes of the only option in `options`.
fn value_of(options: &Options) -> Vec<u8> {
    let mut iter = options.iter();
    let value = iter.next().unwrap().value.to_vec();
    assert!(iter.next().is_none());
    value
}

fn block(num: u32, more: bool, szx: u8) -> Block {
    Block::new(num, more, szx).unwrap()
}

// ---------------------------------------------------------------------------------------------
// RFC 7959 Block

#[test]
fn rfc7959_2_2_block_num_and_szx() {
    // NUM in 4, 12 or 20 bits, then M, then SZX: the value is NUM << 4 | M << 3 | SZX.
    assert_eq!(Block::decode(&[], false), Ok(block(0, false, 0)));
    assert_eq!(Block::decode(&[0x0a], false), Ok(block(0, true, 2)));
    assert_eq!(Block::decode(&[0x15], false), Ok(block(1, false, 5)));
    assert_eq!(
        Block::decode(&[0x12, 0x3e], false),
        Ok(block(0x123, true, 6))
    );
    assert_eq!(
        Block::decode(&[0xff, 0xff, 0xf6], false),
        Ok(block(Block::MAX_NUM, false, 6))
    );
    // Sizes 2^(SZX+4): 16 .. 1024.
    let sizes: Vec<u32> = (0..=6).map(|szx| block(0, false, szx).size()).collect();
    assert_eq!(sizes, [16, 32, 64, 128, 256, 512, 1024]);
    // NUM has at most 20 bits; SZX at most 3.
    assert!(Block::new(1 << 20, false, 0).is_none());
    assert!(Block::new(0, false, 8).is_none());
    assert!(Block::with_size(0, false, 2048).is_none());
    assert_eq!(Block::with_size(7, true, 16), Some(block(7, true, 0)));
}

#[test]
fn rfc7959_2_2_block_value_is_0_to_3_bytes_minimal() {
    assert_eq!(block(0, false, 0).encode().1, 0);
    assert_eq!(block(0, true, 0).encode(), ([0x08, 0, 0], 1));
    assert_eq!(block(15, true, 6).encode(), ([0xfe, 0, 0], 1));
    assert_eq!(block(16, false, 0).encode(), ([0x01, 0x00, 0], 2));
    assert_eq!(block(4096, false, 0).encode(), ([0x01, 0x00, 0x00], 3));
    // Four bytes is malformed, whatever their value.
    assert_eq!(
        Block::decode(&[0, 0, 0, 1], true),
        Err(ValueError::Length {
            len: 4,
            min: 0,
            max: 3
        })
    );
    let options = raw(OptionNumber::BLOCK2, &[0, 0, 0, 1]);
    assert!(options.block2(true).is_err());
    assert_eq!(
        options.first_unrecognized_critical(),
        Some(OptionNumber::BLOCK2)
    );
}

#[test]
fn rfc7959_2_2_block_offset_is_num_times_size() {
    assert_eq!(block(0, true, 6).offset(), 0);
    assert_eq!(block(3, true, 2).offset(), 192);
    assert_eq!(block(Block::MAX_NUM, false, 6).offset(), 1_073_740_800);
    assert_eq!(block(Block::MAX_NUM, false, 7).offset(), 1_073_740_800);
}

#[test]
fn rfc7959_2_1_block1_and_block2_getters_and_setters() {
    let options = Options::builder()
        .push_block1(block(2, true, 4))
        .push_block2(block(0, false, 4))
        .build()
        .unwrap();
    assert_eq!(options.block1(false), Ok(Some(block(2, true, 4))));
    assert_eq!(options.block2(false), Ok(Some(block(0, false, 4))));
    assert_eq!(Options::new().block1(false), Ok(None));
    assert_eq!(block(2, true, 4).to_string(), "2/1/256");
}

#[test]
fn rfc8323_6_bert_szx_7_only_over_reliable_transports() {
    let bert = block(1, true, 7);
    assert!(bert.is_bert());
    assert_eq!(bert.size(), 1024);
    assert_eq!(bert.offset(), 1024);
    assert_eq!(bert.to_string(), "1/1/BERT");
    assert_eq!(Block::decode(&[0x1f], true), Ok(bert));
    assert_eq!(
        Block::decode(&[0x1f], false),
        Err(ValueError::BertOverUnreliable)
    );
    let options = Options::builder().push_block2(bert).build().unwrap();
    assert_eq!(options.block2(true), Ok(Some(bert)));
    assert_eq!(options.block2(false), Err(ValueError::BertOverUnreliable));
    assert_eq!(options.block1(false), Ok(None));
}

#[test]
fn rfc9177_4_q_block_options() {
    let a = block(0, true, 6);
    let (b, c) = (block(3, false, 6), block(4, false, 6));
    let options = Options::builder()
        .push_q_block1(a)
        .push_q_block2(b)
        .push_q_block2(c)
        .build()
        .unwrap();
    assert_eq!(options.q_block1(false), Ok(Some(a)));
    // Q-Block1 is 19 and Q-Block2 31, critical and unsafe like Block1/Block2.
    assert!(OptionNumber::Q_BLOCK1.is_critical() && OptionNumber::Q_BLOCK1.is_unsafe());
    assert!(OptionNumber::Q_BLOCK2.is_critical() && OptionNumber::Q_BLOCK2.is_unsafe());
    assert_eq!(options.q_block2(false), Ok(Some(b)));
    assert_eq!(
        options.q_block2_all(false).unwrap().collect::<Vec<_>>(),
        [b, c]
    );
    let bert = Options::builder()
        .push_q_block2(block(0, false, 7))
        .build()
        .unwrap();
    assert!(bert.q_block2_all(false).is_err());
    assert_eq!(bert.q_block2_all(true).unwrap().count(), 1);
}

// ---------------------------------------------------------------------------------------------
// RFC 7641 Observe

#[test]
fn rfc7641_observe_is_24_bits() {
    assert_eq!(Observe::MAX.get(), (1 << 24) - 1);
    assert!(Observe::new(1 << 24).is_none());
    assert_eq!(Observe::wrapping((1 << 24) + 3).get(), 3);
    let options = Options::builder()
        .push_observe(Observe::MAX)
        .build()
        .unwrap();
    assert_eq!(value_of(&options), [0xff, 0xff, 0xff]);
    assert_eq!(options.observe(), Ok(Some(Observe::MAX)));
    // A fourth byte is outside the option's 0..=3 length.
    let four = raw(OptionNumber::OBSERVE, &[0, 0, 0, 1]);
    assert!(matches!(
        four.observe(),
        Err(ValueError::Length { len: 4, .. })
    ));
}

#[test]
fn rfc7641_2_register_and_deregister() {
    assert_eq!(Observe::REGISTER.get(), 0);
    assert_eq!(Observe::DEREGISTER.get(), 1);
    let register = Options::builder()
        .push_observe(Observe::REGISTER)
        .build()
        .unwrap();
    assert_eq!(value_of(&register), [] as [u8; 0]); // 0 is the empty value
    assert_eq!(register.observe(), Ok(Some(Observe::REGISTER)));
    assert_eq!(Options::new().observe(), Ok(None));
}

#[test]
fn rfc7641_3_4_notification_reordering() {
    let v = |n| Observe::new(n).unwrap();
    assert!(v(2).is_newer_than(v(1)));
    assert!(!v(1).is_newer_than(v(1)));
    assert!(!v(1).is_newer_than(v(2)));
    // V1 < V2 but V2 - V1 >= 2^23: older, the counter wrapped the other way.
    assert!(!v(1 << 23).is_newer_than(v(0)));
    assert!(v((1 << 23) - 1).is_newer_than(v(0)));
    // V1 > V2 and V1 - V2 > 2^23: newer, after wrapping.
    assert!(v(0).is_newer_than(Observe::MAX));
    assert!(!v(0).is_newer_than(v(1 << 23)));
}

// ---------------------------------------------------------------------------------------------
// RFC 7252 options

#[test]
fn rfc7252_5_10_5_max_age_defaults_to_60() {
    assert_eq!(DEFAULT_MAX_AGE, 60);
    assert_eq!(Options::new().max_age(), Ok(60));
    // Present and 0: do not cache, not the default.
    assert_eq!(raw(OptionNumber::MAX_AGE, &[]).max_age(), Ok(0));
    let max = Options::builder().push_max_age(u32::MAX).build().unwrap();
    assert_eq!(value_of(&max), [0xff; 4]);
    assert_eq!(max.max_age(), Ok(u32::MAX));
    // Five bytes: malformed, and unrecognized like it.
    let five = raw(OptionNumber::MAX_AGE, &[0, 0, 0, 0, 1]);
    assert!(five.max_age().is_err());
    assert_eq!(five.unrecognized().count(), 1);
}

#[test]
fn rfc7252_12_3_content_format_registry() {
    let expected: &[(u16, &str)] = &[
        (0, "text/plain; charset=utf-8"),
        (16, "application/cose; cose-type=\"cose-encrypt0\""),
        (17, "application/cose; cose-type=\"cose-mac0\""),
        (18, "application/cose; cose-type=\"cose-sign1\""),
        (40, "application/link-format"),
        (41, "application/xml"),
        (42, "application/octet-stream"),
        (47, "application/exi"),
        (50, "application/json"),
        (51, "application/json-patch+json"),
        (52, "application/merge-patch+json"),
        (60, "application/cbor"),
        (61, "application/cwt"),
        (62, "application/multipart-core"),
        (63, "application/cbor-seq"),
        (96, "application/cose; cose-type=\"cose-encrypt\""),
        (97, "application/cose; cose-type=\"cose-mac\""),
        (98, "application/cose; cose-type=\"cose-sign\""),
        (101, "application/cose-key"),
        (102, "application/cose-key-set"),
        (110, "application/senml+json"),
        (111, "application/sensml+json"),
        (112, "application/senml+cbor"),
        (113, "application/sensml+cbor"),
        (114, "application/senml-exi"),
        (115, "application/sensml-exi"),
        (256, "application/coap-group+json"),
        (271, "application/dots+cbor"),
        (272, "application/missing-blocks+cbor-seq"),
        (
            280,
            "application/pkcs7-mime; smime-type=server-generated-key",
        ),
        (281, "application/pkcs7-mime; smime-type=certs-only"),
        (284, "application/pkcs8"),
        (285, "application/csrattrs"),
        (286, "application/pkcs10"),
        (287, "application/pkix-cert"),
        (310, "application/senml+xml"),
        (311, "application/sensml+xml"),
        (320, "application/senml-etch+json"),
        (322, "application/senml-etch+cbor"),
        (432, "application/td+json"),
        (10000, "application/vnd.ocf+cbor"),
        (11542, "application/vnd.oma.lwm2m+tlv"),
        (11543, "application/vnd.oma.lwm2m+json"),
    ];
    for &(id, media_type) in expected {
        let cf = ContentFormat(id);
        assert_eq!(cf.media_type(), Some(media_type), "{id}");
        assert_eq!(cf.content_coding(), Some("identity"), "{id}");
        assert_eq!(ContentFormat::from_media_type(media_type), Some(cf), "{id}");
    }
    // 11050 and 11060 are JSON and CBOR with the deflate coding, not LwM2M formats.
    assert_eq!(ContentFormat(11050).media_type(), Some("application/json"));
    assert_eq!(ContentFormat(11050).content_coding(), Some("deflate"));
    assert_eq!(ContentFormat(11060).media_type(), Some("application/cbor"));
    // 1542 and 1543 (LwM2M 1.0 drafts) are reserved, not assigned.
    assert_eq!(ContentFormat(1542).media_type(), None);
    assert_eq!(ContentFormat(1543).media_type(), None);
    // Known identifiers are unique and sorted, and each (media type, coding) names one.
    for pair in ContentFormat::KNOWN.windows(2) {
        assert!(pair[0] < pair[1]);
    }
    for &cf in ContentFormat::KNOWN {
        let (m, c) = (cf.media_type().unwrap(), cf.content_coding().unwrap());
        assert_eq!(
            ContentFormat::from_media_type_and_coding(m, c),
            Some(cf),
            "{cf}"
        );
    }
    assert!(ContentFormat(65535).is_experimental());
}

#[test]
fn rfc7252_12_3_media_type_matching_ignores_case_space_and_quotes() {
    let text = Some(ContentFormat::TEXT_PLAIN);
    assert_eq!(
        ContentFormat::from_media_type("text/plain;charset=utf-8"),
        text
    );
    assert_eq!(
        ContentFormat::from_media_type("TEXT/Plain; Charset=UTF-8"),
        text
    );
    assert_eq!(ContentFormat::from_media_type("text/plain"), None);
    assert_eq!(
        ContentFormat::from_media_type("application/cose;cose-type=cose-sign"),
        Some(ContentFormat::COSE_SIGN)
    );
    assert_eq!(ContentFormat::from_media_type("application/jso"), None);
    assert_eq!(ContentFormat::from_media_type("application/jsonx"), None);
    assert_eq!(ContentFormat(9).to_string(), "9");
    assert_eq!(
        ContentFormat::CBOR_DEFLATE.to_string(),
        "application/cbor (deflate)"
    );
}

#[test]
fn rfc7252_5_10_3_content_format_and_accept_are_up_to_2_bytes() {
    let options = Options::builder()
        .push_content_format(ContentFormat::LWM2M_TLV)
        .push_accept(ContentFormat::TEXT_PLAIN)
        .build()
        .unwrap();
    assert_eq!(options.content_format(), Ok(Some(ContentFormat(11542))));
    assert_eq!(options.accept(), Ok(Some(ContentFormat(0))));
    assert_eq!(
        raw(OptionNumber::CONTENT_FORMAT, &[0, 0, 50]).content_format(),
        Err(ValueError::Length {
            len: 3,
            min: 0,
            max: 2
        })
    );
    assert!(raw(OptionNumber::ACCEPT, &[1, 0, 0]).accept().is_err());
}

#[test]
fn rfc7252_5_10_6_etag_is_1_to_8_bytes_and_repeatable() {
    assert!(ETag::new(&[]).is_none());
    assert!(ETag::new(&[0; 9]).is_none());
    let (a, b) = (ETag::new(&[1]).unwrap(), ETag::new(&[8; 8]).unwrap());
    let options = Options::builder()
        .push_etag(a)
        .push_etag(b)
        .build()
        .unwrap();
    assert_eq!(options.etags().unwrap().collect::<Vec<_>>(), [a, b]);
    assert_eq!(Options::new().etags().unwrap().count(), 0);
    // One empty ETag makes the whole set malformed.
    let bad = Options::builder()
        .push_etag(a)
        .push(OptionNumber::ETAG, Bytes::new())
        .build()
        .unwrap();
    assert!(matches!(
        bad.etags(),
        Err(ValueError::Length { len: 0, .. })
    ));
    assert_eq!(format!("{a:?}"), "ETag(01)");
}

#[test]
fn rfc7252_5_10_8_if_match_and_if_none_match() {
    let tag = ETag::new(b"abc").unwrap();
    let options = Options::builder()
        .push_if_match(IfMatch::ETag(tag))
        .push_if_match(IfMatch::Exists)
        .push_if_none_match()
        .build()
        .unwrap();
    assert_eq!(
        options.if_match().unwrap().collect::<Vec<_>>(),
        [IfMatch::ETag(tag), IfMatch::Exists]
    );
    assert_eq!(options.if_none_match(), Ok(true));
    assert_eq!(Options::new().if_none_match(), Ok(false));
    // If-None-Match is empty; If-Match at most 8 bytes.
    assert!(
        raw(OptionNumber::IF_NONE_MATCH, &[0])
            .if_none_match()
            .is_err()
    );
    assert!(raw(OptionNumber::IF_MATCH, &[0; 9]).if_match().is_err());
}

#[test]
fn rfc7252_5_10_9_size1_and_rfc7959_4_size2() {
    let options = Options::builder()
        .push_size1(1 << 20)
        .push_size2(0)
        .build()
        .unwrap();
    assert_eq!(options.size1(), Ok(Some(1 << 20)));
    assert_eq!(options.size2(), Ok(Some(0)));
    assert_eq!(Options::new().size1(), Ok(None));
    assert!(raw(OptionNumber::SIZE2, &[0; 5]).size2().is_err());
}

#[test]
fn rfc7252_5_10_1_uri_options_as_str() {
    let options = Options::builder()
        .push_uri_host("example.net")
        .unwrap()
        .push_uri_port(5683)
        .push_uri_path("a")
        .unwrap()
        .push_uri_path("")
        .unwrap()
        .push_uri_query("x=1")
        .unwrap()
        .push_uri_query("y")
        .unwrap()
        .build()
        .unwrap();
    assert_eq!(options.uri_host(), Ok(Some("example.net")));
    assert_eq!(options.uri_port(), Ok(Some(5683)));
    assert_eq!(options.uri_path().unwrap().collect::<Vec<_>>(), ["a", ""]);
    assert_eq!(
        options.uri_query().unwrap().collect::<Vec<_>>(),
        ["x=1", "y"]
    );
    // Not UTF-8: a malformed critical option, so 4.02 Bad Option.
    let bad = raw(OptionNumber::URI_PATH, &[0xff]);
    assert!(matches!(bad.uri_path(), Err(ValueError::NotUtf8)));
    assert_eq!(
        bad.first_unrecognized_critical(),
        Some(OptionNumber::URI_PATH)
    );
    // Lengths: Uri-Host 1..=255, Uri-Path 0..=255.
    assert!(Options::builder().push_uri_host("").is_err());
    assert!(Options::builder().push_uri_path(&"p".repeat(255)).is_ok());
    assert!(matches!(
        Options::builder().push_uri_query(&"q".repeat(256)),
        Err(ValueError::Length { len: 256, .. })
    ));
    assert!(raw(OptionNumber::URI_PORT, &[0, 0, 1]).uri_port().is_err());
}

#[test]
fn rfc7252_5_10_7_location_options_as_str() {
    let options = Options::builder()
        .push_location_path("r")
        .unwrap()
        .push_location_path("1")
        .unwrap()
        .push_location_query("k=v")
        .unwrap()
        .build()
        .unwrap();
    assert_eq!(
        options.location_path().unwrap().collect::<Vec<_>>(),
        ["r", "1"]
    );
    assert_eq!(
        options.location_query().unwrap().collect::<Vec<_>>(),
        ["k=v"]
    );
}

#[test]
fn rfc7252_5_10_2_proxy_uri_and_proxy_scheme() {
    let options = Options::builder()
        .push_proxy_uri("coap://[::1]/x")
        .unwrap()
        .push_proxy_scheme("coaps")
        .unwrap()
        .build()
        .unwrap();
    assert_eq!(options.proxy_uri(), Ok(Some("coap://[::1]/x")));
    assert_eq!(options.proxy_scheme(), Ok(Some("coaps")));
    assert!(Options::builder().push_proxy_uri(&"u".repeat(1034)).is_ok());
    assert!(
        Options::builder()
            .push_proxy_uri(&"u".repeat(1035))
            .is_err()
    );
    assert!(Options::builder().push_proxy_scheme("").is_err());
}

#[test]
fn rfc7252_5_4_5_repeated_non_repeatable_option_reads_the_first() {
    let options = Options::builder()
        .push_content_format(ContentFormat::JSON)
        .push_content_format(ContentFormat::CBOR)
        .build()
        .unwrap();
    assert_eq!(options.content_format(), Ok(Some(ContentFormat::JSON)));
    // The second occurrence is the one treated as unrecognized.
    let unrecognized: Vec<_> = options.unrecognized().collect();
    assert_eq!(unrecognized.len(), 1);
    assert_eq!(unrecognized[0].value, [60]);
}

// ---------------------------------------------------------------------------------------------
// Extensions

#[test]
fn rfc8768_3_hop_limit_is_1_to_255_default_16() {
    assert_eq!(HopLimit::DEFAULT.get(), 16);
    assert_eq!(HopLimit::default(), HopLimit::DEFAULT);
    assert!(HopLimit::new(0).is_none());
    let options = Options::builder()
        .push_hop_limit(HopLimit::new(255).unwrap())
        .build()
        .unwrap();
    assert_eq!(value_of(&options), [255]);
    assert_eq!(options.hop_limit(), Ok(HopLimit::new(255)));
    // 0 is answered with 4.00; the length is exactly 1.
    assert_eq!(
        raw(OptionNumber::HOP_LIMIT, &[0]).hop_limit(),
        Err(ValueError::OutOfRange)
    );
    assert!(raw(OptionNumber::HOP_LIMIT, &[]).hop_limit().is_err());
    assert!(raw(OptionNumber::HOP_LIMIT, &[0, 1]).hop_limit().is_err());
    assert_eq!(Options::new().hop_limit(), Ok(None));
    // A proxy decrements; reaching 0 means 5.08 Hop Limit Reached.
    assert_eq!(HopLimit::new(1).unwrap().decrement(), None);
    assert_eq!(HopLimit::DEFAULT.decrement(), HopLimit::new(15));
}

#[test]
fn rfc9175_2_echo_is_1_to_40_bytes() {
    assert!(Echo::new(&[]).is_none());
    assert!(Echo::new(&[0; 41]).is_none());
    let echo = Echo::new(&[7; 40]).unwrap();
    let options = Options::builder().push_echo(echo).build().unwrap();
    assert_eq!(options.echo(), Ok(Some(echo)));
    assert!(raw(OptionNumber::ECHO, &[0; 41]).echo().is_err());
    assert!(raw(OptionNumber::ECHO, &[]).echo().is_err());
}

#[test]
fn rfc9175_3_request_tag_is_0_to_8_bytes_and_repeatable() {
    let empty = RequestTag::new(&[]).unwrap();
    let full = RequestTag::new(&[1; 8]).unwrap();
    assert!(RequestTag::new(&[0; 9]).is_none());
    let options = Options::builder()
        .push_request_tag(empty)
        .push_request_tag(full)
        .build()
        .unwrap();
    assert_eq!(
        options.request_tags().unwrap().collect::<Vec<_>>(),
        [empty, full]
    );
    assert!(
        raw(OptionNumber::REQUEST_TAG, &[0; 9])
            .request_tags()
            .is_err()
    );
}

#[test]
fn rfc7967_no_response_bits() {
    assert_eq!(NoResponse::from_bits(0), NoResponse::NONE);
    assert_eq!(NoResponse::from_bits(2).bits(), 2);
    assert_eq!(NoResponse::from_bits(8).bits(), 8);
    assert_eq!(NoResponse::from_bits(16).bits(), 16);
    assert_eq!(NoResponse::from_bits(26), NoResponse::ALL);
    // Bits with no meaning are ignored.
    assert_eq!(
        NoResponse::from_bits(1 | 4 | 32 | 64 | 128),
        NoResponse::NONE
    );
    let only_2xx = NoResponse::from_bits(2);
    assert!(only_2xx.suppresses(Code::CONTENT));
    assert!(only_2xx.suppresses(Code::CHANGED));
    assert!(!only_2xx.suppresses(Code::BAD_REQUEST));
    assert!(!only_2xx.suppresses(Code::INTERNAL_SERVER_ERROR));
    let errors = NoResponse::from_bits(8 | 16);
    assert!(errors.suppresses(Code::NOT_FOUND) && errors.suppresses(Code::BAD_GATEWAY));
    assert!(!errors.suppresses(Code::CONTENT));
    assert!(!NoResponse::ALL.suppresses(Code::GET));
    assert!(!NoResponse::ALL.suppresses(Code::EMPTY));
}

#[test]
fn rfc7967_2_no_response_defaults_to_all_responses() {
    assert_eq!(Options::new().no_response(), Ok(NoResponse::NONE));
    let options = Options::builder()
        .push_no_response(NoResponse::ALL)
        .build()
        .unwrap();
    assert_eq!(value_of(&options), [26]);
    assert_eq!(options.no_response(), Ok(NoResponse::ALL));
    assert!(
        raw(OptionNumber::NO_RESPONSE, &[0, 2])
            .no_response()
            .is_err()
    );
}

#[test]
fn value_error_display_names_the_rule() {
    let e = ValueError::Length {
        len: 9,
        min: 1,
        max: 8,
    };
    assert!(e.to_string().contains("RFC 7252 §5.4.3"));
    assert!(
        ValueError::BertOverUnreliable
            .to_string()
            .contains("RFC 8323")
    );
    assert!(ValueError::OutOfRange.to_string().contains("RFC 8768"));
}

// ---------------------------------------------------------------------------------------------
// Properties

fn any_block() -> impl Strategy<Value = Block> {
    (0..=Block::MAX_NUM, any::<bool>(), 0u8..=7).prop_map(|(n, m, s)| Block::new(n, m, s).unwrap())
}

fn minimal_len(v: u32) -> usize {
    (4 - v.leading_zeros() / 8) as usize
}

/// `value` written big-endian in exactly `len` bytes (leading zeros).
fn padded(value: u32, len: usize) -> Vec<u8> {
    assert!(len >= minimal_len(value));
    let mut out = vec![0u8; len.saturating_sub(4)];
    out.extend_from_slice(&value.to_be_bytes()[4 - len.min(4)..]);
    out
}

/// Whether the typed getter for `number` fails on `options`; `None` for options without one.
fn getter_fails(number: OptionNumber, options: &Options) -> Option<bool> {
    Some(match number {
        OptionNumber::IF_MATCH => options.if_match().is_err(),
        OptionNumber::URI_HOST => options.uri_host().is_err(),
        OptionNumber::ETAG => options.etags().is_err(),
        OptionNumber::IF_NONE_MATCH => options.if_none_match().is_err(),
        OptionNumber::OBSERVE => options.observe().is_err(),
        OptionNumber::URI_PORT => options.uri_port().is_err(),
        OptionNumber::LOCATION_PATH => options.location_path().is_err(),
        OptionNumber::URI_PATH => options.uri_path().is_err(),
        OptionNumber::CONTENT_FORMAT => options.content_format().is_err(),
        OptionNumber::MAX_AGE => options.max_age().is_err(),
        OptionNumber::URI_QUERY => options.uri_query().is_err(),
        OptionNumber::HOP_LIMIT => options.hop_limit().is_err(),
        OptionNumber::ACCEPT => options.accept().is_err(),
        OptionNumber::Q_BLOCK1 => options.q_block1(true).is_err(),
        OptionNumber::LOCATION_QUERY => options.location_query().is_err(),
        OptionNumber::BLOCK2 => options.block2(true).is_err(),
        OptionNumber::BLOCK1 => options.block1(true).is_err(),
        OptionNumber::SIZE2 => options.size2().is_err(),
        OptionNumber::Q_BLOCK2 => options.q_block2(true).is_err(),
        OptionNumber::PROXY_URI => options.proxy_uri().is_err(),
        OptionNumber::PROXY_SCHEME => options.proxy_scheme().is_err(),
        OptionNumber::SIZE1 => options.size1().is_err(),
        OptionNumber::ECHO => options.echo().is_err(),
        OptionNumber::NO_RESPONSE => options.no_response().is_err(),
        OptionNumber::REQUEST_TAG => options.request_tags().is_err(),
        _ => return None,
    })
}

proptest! {
    #[test]
    fn block_round_trips(b in any_block(), reliable in any::<bool>()) {
        let (bytes, len) = b.encode();
        prop_assert_eq!(len, minimal_len(b.to_uint()));
        let decoded = Block::decode(&bytes[..len], reliable);
        if b.is_bert() && !reliable {
            prop_assert_eq!(decoded, Err(ValueError::BertOverUnreliable));
        } else {
            prop_assert_eq!(decoded, Ok(b));
        }
        let options = Options::builder()
            .push_block1(b)
            .push_block2(b)
            .push_q_block1(b)
            .push_q_block2(b)
            .build()
            .unwrap();
        prop_assert_eq!(options.block1(true), Ok(Some(b)));
        prop_assert_eq!(options.block2(true), Ok(Some(b)));
        prop_assert_eq!(options.q_block1(true), Ok(Some(b)));
        prop_assert_eq!(options.q_block2(true), Ok(Some(b)));
        prop_assert_eq!(value_of(&Options::builder().push_block2(b).build().unwrap()).len(), len);
        prop_assert_eq!(b.offset(), b.num() * b.size());
    }

    #[test]
    fn block_reads_leading_zeros(b in any_block(), len in 0usize..=3) {
        let len = len.max(minimal_len(b.to_uint()));
        let options = raw(OptionNumber::BLOCK2, &padded(b.to_uint(), len));
        prop_assert_eq!(options.block2(true), Ok(Some(b)));
    }

    #[test]
    fn uint_values_round_trip_minimal(
        cf in any::<u16>(),
        accept in any::<u16>(),
        observe in 0u32..=Observe::MAX.get(),
        max_age in any::<u32>(),
        size1 in any::<u32>(),
        size2 in any::<u32>(),
        port in any::<u16>(),
        hop in 1u8..=255,
        nr in 0u8..32,
    ) {
        let nr = NoResponse::from_bits(nr);
        let options = Options::builder()
            .push_content_format(ContentFormat(cf))
            .push_accept(ContentFormat(accept))
            .push_observe(Observe::new(observe).unwrap())
            .push_max_age(max_age)
            .push_size1(size1)
            .push_size2(size2)
            .push_uri_port(port)
            .push_hop_limit(HopLimit::new(hop).unwrap())
            .push_no_response(nr)
            .build()
            .unwrap();
        prop_assert_eq!(options.content_format(), Ok(Some(ContentFormat(cf))));
        prop_assert_eq!(options.accept(), Ok(Some(ContentFormat(accept))));
        prop_assert_eq!(options.observe(), Ok(Observe::new(observe)));
        prop_assert_eq!(options.max_age(), Ok(max_age));
        prop_assert_eq!(options.size1(), Ok(Some(size1)));
        prop_assert_eq!(options.size2(), Ok(Some(size2)));
        prop_assert_eq!(options.uri_port(), Ok(Some(port)));
        prop_assert_eq!(options.hop_limit(), Ok(HopLimit::new(hop)));
        prop_assert_eq!(options.no_response(), Ok(nr));
        prop_assert_eq!(options.unrecognized().count(), 0);
        // Every uint written in minimal length.
        for o in options.iter() {
            let v = o.as_uint().unwrap();
            prop_assert_eq!(o.value.len(), minimal_len(v), "{}", o.number);
        }
    }

    #[test]
    fn uint_values_read_with_leading_zeros(v in any::<u32>(), extra in 0usize..=4) {
        for number in [
            OptionNumber::CONTENT_FORMAT,
            OptionNumber::ACCEPT,
            OptionNumber::OBSERVE,
            OptionNumber::MAX_AGE,
            OptionNumber::SIZE1,
            OptionNumber::SIZE2,
            OptionNumber::URI_PORT,
            OptionNumber::NO_RESPONSE,
            OptionNumber::HOP_LIMIT,
        ] {
            let max = usize::from(number.info().unwrap().max_len);
            let v = if max >= 4 { v } else { v & ((1u32 << (8 * max)) - 1) };
            let v = if number == OptionNumber::HOP_LIMIT { v.max(1) } else { v };
            let len = (minimal_len(v) + extra).min(max).max(usize::from(number.info().unwrap().min_len));
            let options = raw(number, &padded(v, len));
            let got = match number {
                OptionNumber::CONTENT_FORMAT => options.content_format().map(|c| c.map(|c| u32::from(c.0))),
                OptionNumber::ACCEPT => options.accept().map(|c| c.map(|c| u32::from(c.0))),
                OptionNumber::OBSERVE => options.observe().map(|o| o.map(Observe::get)),
                OptionNumber::MAX_AGE => options.max_age().map(Some),
                OptionNumber::SIZE1 => options.size1(),
                OptionNumber::SIZE2 => options.size2(),
                OptionNumber::URI_PORT => options.uri_port().map(|p| p.map(u32::from)),
                OptionNumber::NO_RESPONSE => options.no_response().map(|n| Some(u32::from(n.bits()))),
                OptionNumber::HOP_LIMIT => options.hop_limit().map(|h| h.map(|h| u32::from(h.get()))),
                _ => unreachable!(),
            };
            let want = if number == OptionNumber::NO_RESPONSE { v & 26 } else { v };
            prop_assert_eq!(got, Ok(Some(want)), "{}", number);
        }
    }

    #[test]
    fn opaque_values_round_trip(
        etags in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 1..=8), 0..4),
        if_match in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..=8), 0..4),
        echo in proptest::collection::vec(any::<u8>(), 1..=40),
        tags in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..=8), 0..4),
        inm in any::<bool>(),
    ) {
        let etags: Vec<ETag> = etags.iter().map(|t| ETag::new(t).unwrap()).collect();
        let if_match: Vec<IfMatch> = if_match
            .iter()
            .map(|t| ETag::new(t).map_or(IfMatch::Exists, IfMatch::ETag))
            .collect();
        let echo = Echo::new(&echo).unwrap();
        let tags: Vec<RequestTag> = tags.iter().map(|t| RequestTag::new(t).unwrap()).collect();
        let mut b = Options::builder().push_echo(echo);
        for &t in &etags { b = b.push_etag(t); }
        for &m in &if_match { b = b.push_if_match(m); }
        for &t in &tags { b = b.push_request_tag(t); }
        if inm { b = b.push_if_none_match(); }
        let options = b.build().unwrap();
        prop_assert_eq!(options.etags().unwrap().collect::<Vec<_>>(), etags);
        prop_assert_eq!(options.if_match().unwrap().collect::<Vec<_>>(), if_match);
        prop_assert_eq!(options.request_tags().unwrap().collect::<Vec<_>>(), tags);
        prop_assert_eq!(options.echo(), Ok(Some(echo)));
        prop_assert_eq!(options.if_none_match(), Ok(inm));
    }

    #[test]
    fn string_values_round_trip(
        host in "[a-z0-9.-]{1,40}",
        path in proptest::collection::vec("\\PC{0,20}", 0..4),
        query in proptest::collection::vec("\\PC{0,20}", 0..4),
        lpath in proptest::collection::vec("\\PC{0,20}", 0..3),
        lquery in proptest::collection::vec("\\PC{0,20}", 0..3),
        proxy in "\\PC{1,60}",
        scheme in "[a-z+]{1,10}",
    ) {
        let mut b = Options::builder()
            .push_uri_host(&host).unwrap()
            .push_proxy_uri(&proxy).unwrap()
            .push_proxy_scheme(&scheme).unwrap();
        for s in &path { b = b.push_uri_path(s).unwrap(); }
        for s in &query { b = b.push_uri_query(s).unwrap(); }
        for s in &lpath { b = b.push_location_path(s).unwrap(); }
        for s in &lquery { b = b.push_location_query(s).unwrap(); }
        let options = b.build().unwrap();
        prop_assert_eq!(options.uri_host(), Ok(Some(host.as_str())));
        prop_assert_eq!(options.proxy_uri(), Ok(Some(proxy.as_str())));
        prop_assert_eq!(options.proxy_scheme(), Ok(Some(scheme.as_str())));
        prop_assert_eq!(options.uri_path().unwrap().collect::<Vec<_>>(), path);
        prop_assert_eq!(options.uri_query().unwrap().collect::<Vec<_>>(), query);
        prop_assert_eq!(options.location_path().unwrap().collect::<Vec<_>>(), lpath);
        prop_assert_eq!(options.location_query().unwrap().collect::<Vec<_>>(), lquery);
    }

    /// A getter fails exactly when `unrecognized()` lists the option, except for the two
    /// rules only the value's meaning shows: Hop-Limit 0 and BERT over UDP (the getters here
    /// are called as over a reliable transport).
    #[test]
    fn getter_errors_agree_with_unrecognized(
        index in 0..OptionNumber::KNOWN.len(),
        value in proptest::collection::vec(any::<u8>(), 0..12),
    ) {
        let number = OptionNumber::KNOWN[index];
        let options = raw(number, &value);
        let unrecognized = options.unrecognized().count() > 0;
        if let Some(fails) = getter_fails(number, &options) {
            let hop_limit_zero = number == OptionNumber::HOP_LIMIT && value == [0];
            prop_assert_eq!(fails, unrecognized || hop_limit_zero, "{} {:?}", number, value);
        }
    }

    #[test]
    fn content_format_media_type_round_trips(index in 0..ContentFormat::KNOWN.len()) {
        let cf = ContentFormat::KNOWN[index];
        let m = cf.media_type().unwrap();
        let c = cf.content_coding().unwrap();
        prop_assert_eq!(ContentFormat::from_media_type_and_coding(m, c), Some(cf));
        prop_assert_eq!(
            ContentFormat::from_media_type_and_coding(&m.to_uppercase().replace("; ", ";"), c),
            Some(cf)
        );
    }
}

#[test]
fn every_known_option_with_a_value_format_has_a_typed_getter() {
    for &number in OptionNumber::KNOWN {
        let info = number.info().unwrap();
        let typed = getter_fails(number, &Options::new()).is_some();
        // OSCORE's value is a COSE object: out of scope for this module.
        if number != OptionNumber::OSCORE {
            assert!(typed, "{number} ({:?}) has no typed getter", info.format);
        }
    }
    assert_ne!(
        OptionNumber::OSCORE.info().unwrap().format,
        ValueFormat::Uint
    );
}

// ---------------------------------------------------------------------------------------------
// No getter allocates

/// Counts this thread's allocations (the harness runs tests on several threads at once), then
/// forwards every call unchanged to the system allocator, as tern-mqtt's alloc_free test does.
struct Counting;

thread_local! {
    // Const-initialised and without a destructor: reading it never allocates.
    static ALLOCATIONS: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

fn count() {
    let _ = ALLOCATIONS.try_with(|c| c.set(c.get() + 1));
}

// A `#[global_allocator]` needs `unsafe impl GlobalAlloc`.
#[allow(unsafe_code)]
unsafe impl std::alloc::GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: std::alloc::Layout) -> *mut u8 {
        count();
        // SAFETY: forwarded unchanged; the caller upholds `GlobalAlloc::alloc`'s contract.
        unsafe { std::alloc::System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: std::alloc::Layout) -> *mut u8 {
        count();
        // SAFETY: as above.
        unsafe { std::alloc::System.alloc_zeroed(layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: std::alloc::Layout, size: usize) -> *mut u8 {
        count();
        // SAFETY: as above; `ptr` came from this allocator, i.e. from `System`.
        unsafe { std::alloc::System.realloc(ptr, layout, size) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: std::alloc::Layout) {
        // SAFETY: as above.
        unsafe { std::alloc::System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

#[test]
fn getters_do_not_allocate() {
    let start = ALLOCATIONS.with(std::cell::Cell::get);
    let options = Options::builder()
        .push_uri_host("example.com")
        .unwrap()
        .push_uri_path("a")
        .unwrap()
        .push_uri_path("b")
        .unwrap()
        .push_uri_query("q=1")
        .unwrap()
        .push_etag(ETag::new(&[1, 2]).unwrap())
        .push_if_match(IfMatch::Exists)
        .push_observe(Observe::new(9).unwrap())
        .push_content_format(ContentFormat::CBOR)
        .push_accept(ContentFormat::JSON)
        .push_max_age(30)
        .push_block2(Block::new(1, true, 6).unwrap())
        .push_block1(Block::new(0, false, 6).unwrap())
        .push_q_block2(Block::new(2, false, 6).unwrap())
        .push_size1(10)
        .push_size2(20)
        .push_hop_limit(HopLimit::DEFAULT)
        .push_echo(Echo::new(&[3; 12]).unwrap())
        .push_request_tag(RequestTag::new(&[4]).unwrap())
        .push_no_response(NoResponse::ALL)
        .build()
        .unwrap();
    let before = ALLOCATIONS.with(std::cell::Cell::get);
    // The builder does allocate: proof that the counter counts.
    assert!(before > start);
    let mut checksum = 0usize;
    checksum += options.uri_host().unwrap().unwrap().len();
    checksum += options.uri_path().unwrap().map(str::len).sum::<usize>();
    checksum += options.uri_query().unwrap().count();
    checksum += options.etags().unwrap().count();
    checksum += options.if_match().unwrap().count();
    checksum += options.observe().unwrap().unwrap().get() as usize;
    checksum += usize::from(options.content_format().unwrap().unwrap().0);
    checksum += usize::from(options.accept().unwrap().unwrap().0);
    checksum += options.max_age().unwrap() as usize;
    checksum += options.block2(false).unwrap().unwrap().offset() as usize;
    checksum += options.block1(false).unwrap().unwrap().num() as usize;
    checksum += options.q_block2_all(false).unwrap().count();
    checksum += options.size1().unwrap().unwrap() as usize;
    checksum += options.size2().unwrap().unwrap() as usize;
    checksum += usize::from(options.hop_limit().unwrap().unwrap().get());
    checksum += options.echo().unwrap().unwrap().as_bytes().len();
    checksum += options.request_tags().unwrap().count();
    checksum += usize::from(options.no_response().unwrap().bits());
    checksum += usize::from(options.if_none_match().unwrap());
    checksum += options.location_path().unwrap().count();
    checksum += options.proxy_uri().unwrap().map_or(0, str::len);
    let after = ALLOCATIONS.with(std::cell::Cell::get);
    assert_eq!(after - before, 0, "getters allocated");
    assert!(checksum > 0);
}

#[test]
fn decoding_a_message_and_iterating_its_options_do_not_allocate() {
    use tern_coap::{Code, Message, MessageType, Token};
    let options = Options::builder()
        .push_uri_path("sensors")
        .unwrap()
        .push_uri_path("temperature")
        .unwrap()
        .push_observe(Observe::new(70_213).unwrap())
        .push_content_format(ContentFormat::JSON)
        .push_block2(Block::new(3, true, 6).unwrap())
        .build()
        .unwrap();
    let m = Message {
        mtype: MessageType::NonConfirmable,
        code: Code::CONTENT,
        message_id: 7,
        token: Token::new(&[1, 2, 3, 4]).unwrap(),
        options,
        payload: bytes::Bytes::from_static(br#"{"t":21.5}"#),
    };
    let mut receive = bytes::BytesMut::new();
    for _ in 0..3 {
        m.encode(&mut receive).unwrap();
    }
    let len = m.encoded_len();
    // The first split promotes the receive buffer to shared storage (one allocation, once per
    // buffer); the datagrams after it are what a receive loop sees.
    let _warm = receive.split_to(len).freeze();
    let before = ALLOCATIONS.with(std::cell::Cell::get);
    let mut checksum = 0usize;
    for _ in 0..2 {
        let got = Message::decode(receive.split_to(len).freeze()).unwrap();
        for o in &got.options {
            checksum += usize::from(o.number.get()) + o.value.len();
        }
        checksum += got.options.unrecognized().count();
        checksum += got.options.block2(false).unwrap().unwrap().offset() as usize;
        checksum += got.payload.len() + got.token.len();
        assert_eq!(got, m);
    }
    let after = ALLOCATIONS.with(std::cell::Cell::get);
    assert_eq!(after - before, 0, "decoding or reading options allocated");
    assert!(checksum > 0);
}
