//! Real peers' bytes: every CoAP message of `shared/vectors/coap.jsonl` (captured from libcoap
//! 4.3.1 and aiocoap 0.4.17, see that folder's README) decodes to the fields that Wireshark's
//! independent dissector read from the same bytes, and re-encodes to the same bytes — both as
//! decoded and rebuilt from its parts through the options builder.
//!
//! Every key of every record must be consumed by a check here: a key nobody looks at is a
//! failure, so a new kind of record cannot pass by being ignored.

mod common;

use std::collections::{BTreeMap, BTreeSet};

use bytes::{Bytes, BytesMut};
use common::rebuilt;
use serde_json::{Map, Value};
use tern_coap::option::CoapOption;
use tern_coap::{Code, Message, MessageType, OptionNumber};
use tern_testkit::dissection::Check;
use tern_testkit::{hex, unhex};

/// The README's count table: (message type and code, count).
const EXPECTED_KINDS: &[(&str, usize)] = &[
    ("ACK 2.01 Created", 4),
    ("ACK 2.02 Deleted", 3),
    ("ACK 2.03 Valid", 1),
    ("ACK 2.04 Changed", 6),
    ("ACK 2.05 Content", 58),
    ("ACK 2.31 Continue", 16),
    ("ACK 4.02 Bad Option", 1),
    ("ACK 4.04 Not Found", 3),
    ("ACK 4.05 Method Not Allowed", 4),
    ("ACK 4.06 Not Acceptable", 1),
    ("ACK 4.12 Precondition Failed", 3),
    ("ACK Empty Message", 26),
    ("CON 2.05 Content", 22),
    ("CON DELETE", 5),
    ("CON Empty Message", 4),
    ("CON GET", 70),
    ("CON POST", 7),
    ("CON PUT", 22),
    ("NON 2.05 Content", 5),
    ("NON GET", 5),
    ("RST Empty Message", 6),
];

/// The README's producer table: (producer (direction), count).
const EXPECTED_PRODUCERS: &[(&str, usize)] = &[
    ("aiocoap 0.4.17 client (client->server)", 49),
    ("aiocoap 0.4.17 server (server->client)", 82),
    ("libcoap 4.3.1 coap-client-notls (client->server)", 86),
    ("libcoap 4.3.1 coap-server-notls (server->client)", 55),
];

const EXPECTED_TOTAL: usize = 272;

/// Vectors carrying the unknown critical option 2049: libcoap's client sending it to either
/// server, and libcoap's server echoing it in its 4.02 Bad Option.
const EXPECTED_WITH_2049: usize = 3;

/// The options for which the README gives `value_uint`.
const UINT_OPTIONS: &[u16] = &[6, 7, 12, 14, 16, 17, 23, 27, 28, 60];

/// The vectors file, or `None` when it is missing and the skip was asked for explicitly.
fn load() -> Option<String> {
    tern_testkit::load_vectors("coap.jsonl", "the CoAP vector test")
}

#[test]
fn every_vector_matches_tshark_and_reencodes_identically() {
    let Some(text) = load() else { return };
    let mut kinds: BTreeMap<String, usize> = BTreeMap::new();
    let mut producers: BTreeMap<String, usize> = BTreeMap::new();
    let mut with_2049 = BTreeSet::new();
    let mut failures = Vec::new();
    let mut ids = BTreeSet::new();
    for (n, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let rec: Value = serde_json::from_str(line)
            .unwrap_or_else(|e| panic!("coap.jsonl:{}: not JSON: {e}", n + 1));
        let id = rec["id"].as_str().unwrap_or("<no id>").to_owned();
        assert!(ids.insert(id.clone()), "duplicate vector id {id}");
        let mut c = Check::new(rec.as_object());
        let Some(m) = check_vector(&mut c) else {
            failures.extend(c.finish().into_iter().map(|e| format!("{id}: {e}")));
            continue;
        };
        *kinds.entry(kind(&m)).or_default() += 1;
        let producer = format!(
            "{} ({})",
            rec["producer"].as_str().unwrap_or("?"),
            rec["direction"].as_str().unwrap_or("?")
        );
        *producers.entry(producer).or_default() += 1;
        if m.options.get(OptionNumber(2049)).is_some() {
            with_2049.insert(id.clone());
            // RFC 7252 §5.4.1: 2049 is odd, so critical, and tern does not know it.
            if m.options.first_unrecognized_critical() != Some(OptionNumber(2049)) {
                c.fail(format!(
                    "carries option 2049 but first_unrecognized_critical() is {:?}",
                    m.options.first_unrecognized_critical()
                ));
            }
        }
        failures.extend(c.finish().into_iter().map(|e| format!("{id}: {e}")));
    }
    assert!(
        failures.is_empty(),
        "{} problem(s):\n{}",
        failures.len(),
        failures.join("\n")
    );

    // The count of vectors checked per kind and per producer, so that a parsing slip cannot
    // skip records.
    let expected = |t: &[(&str, usize)]| -> BTreeMap<String, usize> {
        t.iter().map(|&(k, c)| (k.to_owned(), c)).collect()
    };
    assert_eq!(kinds, expected(EXPECTED_KINDS), "vectors checked per kind");
    assert_eq!(
        producers,
        expected(EXPECTED_PRODUCERS),
        "vectors checked per producer"
    );
    assert_eq!(kinds.values().sum::<usize>(), EXPECTED_TOTAL);
    assert_eq!(
        with_2049.len(),
        EXPECTED_WITH_2049,
        "vectors with option 2049: {with_2049:?}"
    );
}

/// The README's kind: the type's short name and tshark's name of the code.
fn kind(m: &Message) -> String {
    format!("{} {}", m.mtype.name(), code_name(m.code))
}

/// The code as tshark names it: "Empty Message", a method's name, or "2.05 Content".
fn code_name(code: Code) -> String {
    if code.is_empty() {
        "Empty Message".to_owned()
    } else if code.is_request() {
        code.name().unwrap_or("?").to_owned()
    } else {
        code.to_string()
    }
}

fn type_long_name(t: MessageType) -> &'static str {
    match t {
        MessageType::Confirmable => "Confirmable",
        MessageType::NonConfirmable => "Non-Confirmable",
        MessageType::Acknowledgement => "Acknowledgement",
        MessageType::Reset => "Reset",
    }
}

/// Checks one record; the decoded message if it decodes.
fn check_vector(c: &mut Check<'_>) -> Option<Message> {
    c.str("proto", "coap");
    for key in ["id", "producer", "scenario", "source"] {
        c.field(key);
    }
    let direction = c.field("direction").and_then(Value::as_str).unwrap_or("");
    let Some(wire) = c.field("hex").and_then(Value::as_str).and_then(unhex) else {
        c.fail("`hex` is not hex".into());
        return None;
    };
    let m = match Message::decode(Bytes::from(wire.clone())) {
        Ok(m) => m,
        Err(e) => {
            c.fail(format!("does not decode: {e} ({e:?})"));
            return None;
        }
    };

    // Requests go to the server and responses come back; Empty messages go either way.
    if (m.code.is_request() && direction != "client->server")
        || (m.code.is_response() && direction != "server->client")
    {
        c.fail(format!("{} sent {direction}", kind(&m)));
    }

    // Re-encoding as decoded, and rebuilt from its parts (fresh token, options pushed one by
    // one, copied payload): the UDP format has one encoding, so both must give the capture.
    let mut out = BytesMut::new();
    match m.encode(&mut out) {
        Ok(()) if out[..] == wire[..] && m.encoded_len() == wire.len() => {}
        other => c.fail(format!(
            "re-encodes ({other:?}) to {} ({} bytes, encoded_len {})",
            hex(&out),
            out.len(),
            m.encoded_len()
        )),
    }
    let rebuilt = rebuilt(&m);
    let mut out = BytesMut::new();
    match rebuilt.encode(&mut out) {
        Ok(()) if out[..] == wire[..] => {}
        other => c.fail(format!(
            "rebuilt from its parts, encodes ({other:?}) to {}",
            hex(&out)
        )),
    }

    let Some(d) = c.field("dissection").and_then(Value::as_object) else {
        c.fail("no dissection".into());
        return Some(m);
    };
    let mut dc = Check::new(Some(d));
    check_dissection(&mut dc, &wire, &m);
    c.absorb("dissection", dc);
    Some(m)
}

fn check_dissection(c: &mut Check<'_>, wire: &[u8], m: &Message) {
    c.str("tshark", "4.0.17");
    c.str("type_name", type_long_name(m.mtype));
    c.str("code_name", &code_name(m.code));
    c.str(
        "summary",
        &format!(
            "Constrained Application Protocol, {}, {}, MID:{}",
            type_long_name(m.mtype),
            code_name(m.code),
            m.message_id
        ),
    );

    let block = m
        .options
        .iter()
        .find(|o| o.number == OptionNumber::BLOCK1 || o.number == OptionNumber::BLOCK2);

    match c.field("fields").and_then(Value::as_object) {
        None => c.fail("no dissection.fields".into()),
        Some(f) => {
            let mut fc = Check::new(Some(f));
            check_header_and_payload(&mut fc, wire, m, block.is_some());
            c.absorb("fields", fc);
        }
    }

    let options: Vec<CoapOption<'_>> = m.options.iter().collect();
    match c.field("options").and_then(Value::as_array) {
        None => c.fail("no dissection.options".into()),
        Some(list) => {
            if list.len() != options.len() {
                c.fail(format!(
                    "tshark shows {} options, decoded {}",
                    list.len(),
                    options.len()
                ));
            }
            let mut prev = 0u16;
            for (i, (t, o)) in list.iter().zip(&options).enumerate() {
                let mut oc = Check::new(t.as_object());
                check_option(&mut oc, o, prev, m);
                c.absorb(&format!("options[{i}] ({})", o.number), oc);
                prev = o.number.get();
            }
        }
    }

    // Every expert message is explained by an option of the message, and vice versa.
    let mut want_expert = Vec::new();
    for o in &options {
        if o.number == OptionNumber::REQUEST_TAG {
            // README quirk: tshark 4.0.17 does not know Request-Tag (RFC 9175).
            want_expert.push(Value::from("Invalid Option Number 292"));
        } else if o.number.info().is_none() {
            want_expert.push(Value::from(format!(
                "Unknown Option Number {}",
                o.number.get()
            )));
        }
    }
    let got_expert = c.field("expert").cloned();
    if want_expert.is_empty() {
        if let Some(e) = got_expert {
            c.fail(format!("expert {e}, expected none"));
        }
    } else if got_expert != Some(Value::from(want_expert.clone())) {
        c.fail(format!("expert {got_expert:?}, expected {want_expert:?}"));
    }

    // tshark's view across datagrams, on the last block only: check what this block implies.
    if let Some(r) = c.field("block_reassembly").and_then(Value::as_object) {
        let mut rc = Check::new(Some(r));
        match block.and_then(|b| b.as_uint()) {
            None => rc.fail("reassembly without a Block1/Block2 option".into()),
            Some(v) => {
                let (num, more, szx) = (v >> 4, v & 0x08 != 0, v & 0x07);
                let total = num as usize * (16 << szx) + m.payload.len();
                if more {
                    rc.fail("reassembly on a block with the M bit set".into());
                }
                rc.int("coap.block.count", u64::from(num + 1));
                let frames = rc
                    .field("coap.block")
                    .and_then(Value::as_array)
                    .map(Vec::len);
                if frames != Some(num as usize + 1) {
                    rc.fail(format!("coap.block lists {frames:?} frames, block {num}"));
                }
                for key in [
                    "coap.block.reassembled.length",
                    "coap.payload_length",
                    "reassembled_payload_len",
                ] {
                    rc.int(key, total as u64);
                }
                // The body's hash and media type need the other datagrams.
                rc.field("reassembled_payload_sha256");
                rc.field("coap.payload_desc");
            }
        }
        c.absorb("block_reassembly", rc);
    }
}

fn check_header_and_payload(c: &mut Check<'_>, wire: &[u8], m: &Message, block_wise: bool) {
    c.int("coap.version", u64::from(wire[0] >> 6));
    c.int("coap.type", m.mtype as u64);
    c.int("coap.token_len", m.token.len() as u64);
    c.int("coap.code", u64::from(m.code.0));
    c.int("coap.mid", u64::from(m.message_id));
    if m.token.is_empty() {
        c.absent("coap.token");
    } else {
        c.hex("coap.token", m.token.as_bytes());
    }
    if m.payload.is_empty() {
        for key in [
            "coap.opt.end_marker",
            "coap.payload",
            "coap.payload_length",
            "coap.payload_desc",
            "coap.block_payload",
            "coap.block_length",
        ] {
            c.absent(key);
        }
        return;
    }
    c.int("coap.opt.end_marker", 0xff);
    if block_wise {
        c.hex("coap.block_payload", &m.payload);
        c.int("coap.block_length", m.payload.len() as u64);
        c.absent("coap.payload");
    } else {
        c.hex("coap.payload", &m.payload);
        c.int("coap.payload_length", m.payload.len() as u64);
        c.absent("coap.block_payload");
        let desc = c.field("coap.payload_desc").and_then(Value::as_str);
        match m.options.get_uint(OptionNumber::CONTENT_FORMAT) {
            Some(cf) => {
                if desc != media_type(cf) {
                    c.fail(format!(
                        "coap.payload_desc {desc:?} for Content-Format {cf}"
                    ));
                }
            }
            // Without a Content-Format tshark guesses from the exchange, not this datagram.
            None => {
                if !matches!(
                    desc,
                    Some("application/octet-stream" | "text/plain; charset=utf-8")
                ) {
                    c.fail(format!(
                        "coap.payload_desc {desc:?} without a Content-Format"
                    ));
                }
            }
        }
    }
}

/// The Content-Formats of the captures (RFC 7252 §12.3).
fn media_type(cf: u32) -> Option<&'static str> {
    Some(match cf {
        0 => "text/plain; charset=utf-8",
        40 => "application/link-format",
        42 => "application/octet-stream",
        50 => "application/json",
        _ => return None,
    })
}

/// The header form RFC 7252 §3.1 prescribes for a delta or length: nibble and extended value.
fn header_form(v: usize) -> (u64, Option<u64>) {
    match v {
        0..=12 => (v as u64, None),
        13..=268 => (13, Some(v as u64 - 13)),
        _ => (14, Some(v as u64 - 269)),
    }
}

fn check_option(c: &mut Check<'_>, o: &CoapOption<'_>, prev: u16, m: &Message) {
    let n = o.number.get();
    c.int("number", u64::from(n));
    match (o.number.name(), c.field("name").and_then(Value::as_str)) {
        // README quirk: tshark 4.0.17 does not know Request-Tag.
        (Some("Request-Tag"), Some("Unknown Option (292)")) => {}
        // tshark writes "Etag" and "Max-age".
        (Some(ours), Some(theirs)) if ours.eq_ignore_ascii_case(theirs) => {}
        (None, Some(theirs)) if theirs == format!("Unknown Option ({n})") => {}
        (ours, theirs) => c.fail(format!("name: tshark {theirs:?}, ours {ours:?}")),
    }
    let mut class = String::from(if o.number.is_critical() {
        "Critical"
    } else {
        "Elective"
    });
    class += if o.number.is_unsafe() {
        ", Unsafe"
    } else {
        ", Safe"
    };
    if o.number.is_no_cache_key() {
        class += ", NoCacheKey";
    }
    c.str("class", &class);

    for (key, ext_key, v) in [
        ("delta", "delta_ext", usize::from(n - prev)),
        ("length", "length_ext", o.value.len()),
    ] {
        let (nibble, ext) = header_form(v);
        c.int(key, nibble);
        match ext {
            Some(e) => c.int(ext_key, e),
            None => c.absent(ext_key),
        }
    }
    c.hex("value_hex", o.value);
    if UINT_OPTIONS.contains(&n) {
        c.int("value_uint", u64::from(o.as_uint().unwrap_or(u32::MAX)));
    } else {
        c.absent("value_uint");
    }

    // Real peers send well-formed options; the only unrecognized ones are the unknown numbers.
    if !o.is_well_formed() {
        c.fail(format!("{} is not well-formed", o.number));
    }
    let unrecognized = m.options.unrecognized().any(|u| u.number == o.number);
    if unrecognized != o.number.info().is_none() {
        c.fail(format!("{}: unrecognized() says {unrecognized}", o.number));
    }

    let Some(f) = c.field("fields").and_then(Value::as_object) else {
        c.fail("no option fields".into());
        return;
    };
    let mut fc = Check::new(Some(f));
    let text = o.as_str().unwrap_or("<not UTF-8>");
    let uint = u64::from(o.as_uint().unwrap_or(u32::MAX));
    match o.number {
        OptionNumber::URI_HOST => fc.str("coap.opt.uri_host", text),
        OptionNumber::URI_PATH => fc.str("coap.opt.uri_path", text),
        OptionNumber::URI_QUERY => fc.str("coap.opt.uri_query", text),
        OptionNumber::LOCATION_PATH => fc.str("coap.opt.location_path", text),
        OptionNumber::LOCATION_QUERY => fc.str("coap.opt.location_query", text),
        OptionNumber::ETAG => fc.hex("coap.opt.etag", o.value),
        OptionNumber::IF_MATCH => fc.hex("coap.opt.if_match", o.value),
        OptionNumber::IF_NONE_MATCH => {}
        OptionNumber::OBSERVE => fc.int("coap.opt.observe", uint),
        OptionNumber::URI_PORT => fc.int("coap.opt.uri_port", uint),
        OptionNumber::MAX_AGE => fc.int("coap.opt.max_age", uint),
        OptionNumber::SIZE1 => fc.int("coap.opt.size1", uint),
        OptionNumber::CONTENT_FORMAT => {
            fc.str(
                "coap.opt.ctype",
                media_type(o.as_uint().unwrap_or(u32::MAX)).unwrap_or("?"),
            );
        }
        OptionNumber::ACCEPT => match o.as_uint() {
            // tshark 4.0.17 prints "(null)" for Accept: 0 (an empty value).
            Some(0) => fc.str("coap.opt.accept", "(null)"),
            other => fc.str(
                "coap.opt.accept",
                media_type(other.unwrap_or(u32::MAX)).unwrap_or("?"),
            ),
        },
        OptionNumber::BLOCK1 | OptionNumber::BLOCK2 => {
            // RFC 7959 §2.2: NUM, then M, then SZX in the low three bits.
            fc.int("coap.opt.block_number", uint >> 4);
            fc.int("coap.opt.block_mflag", (uint >> 3) & 1);
            fc.int("coap.opt.block_size", uint & 7);
        }
        // tshark 4.0.17 shows Size2 as a `block_size` sub-field of 0 whatever the value; the
        // value itself is checked through `value_uint` above.
        OptionNumber::SIZE2 => fc.int("coap.opt.block_size", 0),
        OptionNumber::REQUEST_TAG => {
            fc.str("coap.invalid_option_number", "");
            fc.hex("coap.opt.unknown", o.value);
        }
        _ if o.number.info().is_none() => {
            fc.str("coap.unknown_option_number", "");
            fc.hex("coap.opt.unknown", o.value);
        }
        _ => fc.fail(format!("no check written for {}", o.number)),
    }
    c.absorb("fields", fc);
}

#[test]
fn the_vector_helpers_read_what_they_should() {
    assert_eq!(unhex("00ff7a"), Some(vec![0, 0xff, 0x7a]));
    assert_eq!(unhex("0"), None);
    assert_eq!(unhex("zz"), None);
    assert_eq!(hex(&[0, 0xab]), "00ab");
    assert_eq!(header_form(12), (12, None));
    assert_eq!(header_form(13), (13, Some(0)));
    assert_eq!(header_form(268), (13, Some(255)));
    assert_eq!(header_form(269), (14, Some(0)));
    assert_eq!(code_name(Code::EMPTY), "Empty Message");
    assert_eq!(code_name(Code::GET), "GET");
    assert_eq!(code_name(Code::CONTINUE), "2.31 Continue");
    // A key nobody reads is a failure.
    let obj: Map<String, Value> = serde_json::from_str(r#"{"a":1,"b":2}"#).unwrap();
    let mut c = Check::new(Some(&obj));
    c.int("a", 1);
    assert_eq!(c.finish(), ["b: not checked"]);
}
