//! CoAP messages as JSON objects: the output format of `tern coap decode`.
//!
//! One object per message: `type` (CON, NON, ACK, RST), `code` as `{"value": "2.05", "name":
//! "Content"}`, `message_id`, `token` as hex, `options`, `payload`. Conventions:
//!
//! - `options` is an array in wire order of `{"number", "name", "critical", "value"}`; `name`
//!   is the IANA registry's name, or `null` for an option tern does not know;
//! - a value is typed by the registry's format: a number for uint options, a string for string
//!   options, hex for opaque ones and for unknown options, `null` for empty ones (If-None-Match);
//!   Block1, Block2, Q-Block1 and Q-Block2 are `{"num", "m", "szx", "size"}`, Content-Format and
//!   Accept `{"value": 40, "name": "application/link-format"}`, No-Response `{"value",
//!   "suppress_2xx", "suppress_4xx", "suppress_5xx"}` (the typed readings are `tern_coap::value`'s);
//! - a value that breaks a rule of its meaning (a BERT block over UDP, a Hop-Limit of 0) is hex
//!   with an `"error"`;
//! - options RFC 7252 §5.4 says to treat as unrecognized (unknown, a repeated non-repeatable
//!   one, a value of the wrong length) carry `"unrecognized": true`, and their value is hex
//!   unless it fits the registry's format;
//! - `payload` is `{"hex", "text", "length"}`, `text` only when the bytes are UTF-8.
//!
//! Over TCP and WebSockets (RFC 8323) a message has no type and no message id; a stream's
//! messages show their `offset` and `length` in it instead. A signaling message (7.01–7.05)
//! adds `signal`, its options read as RFC 8323 §5 defines them for its code (`{"name": "CSM",
//! "max_message_size": 1152, "block_wise_transfer": true}`); its options are named as that code
//! names them, values in hex.

use tern_blocking::coap::Response;
use tern_coap::MessageType;
use tern_coap::option::ValueFormat;
use tern_coap::tcp::{Signal, SignalError, TcpMessage, signal_option};
use tern_coap::value::{Block, ContentFormat, HopLimit, NoResponse, ValueError};
use tern_coap::{CoapOption, Code, Message, OptionNumber, Options};

use crate::hex;
use crate::json::{Json, Object, payload};

/// The JSON object for a message decoded from one UDP datagram.
pub(crate) fn message(m: &Message) -> Json {
    Object::new()
        .with("type", m.mtype.name())
        .with("code", code(m.code))
        .with("message_id", m.message_id)
        .with("token", hex::encode(m.token.as_bytes()))
        .with("options", options(&m.options, false))
        .with("payload", payload(&m.payload))
        .into()
}

/// A response as the client commands print it with `--json`: `code` ("2.05"), `code_name`
/// (`null` when unregistered), `type` (the message that carried it: ACK when piggybacked, CON
/// or NON when separate; `null` when unknown), `options` as in a decoded message, and
/// `payload` as text or, when it is not UTF-8, `payload_hex`.
pub(crate) fn response(r: &Response, mtype: Option<MessageType>) -> Json {
    let mut o = Object::new()
        .with("code", format!("{}.{:02}", r.code.class(), r.code.detail()))
        .with("code_name", r.code.name())
        .with("type", mtype.map(MessageType::name))
        .with("options", options(&r.options, false));
    match std::str::from_utf8(&r.payload) {
        Ok(text) => o.put("payload", text),
        Err(_) => o.put("payload_hex", hex::encode(&r.payload)),
    }
    o.into()
}

/// Where a message sat in a TCP byte stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Frame {
    /// Offset of the message's first byte in the stream.
    pub(crate) offset: usize,
    /// Bytes of the whole message, Len and Extended Length included.
    pub(crate) length: usize,
}

/// The JSON object for a message decoded from a TCP stream (with its `frame`) or a WebSocket
/// message (without). `signal` is what [`Signal::from_message`] said of a signaling message,
/// `None` for other codes.
pub(crate) fn tcp_message(
    m: &TcpMessage,
    signal: Option<&Result<Signal, SignalError>>,
    frame: Option<Frame>,
) -> Json {
    let mut o = Object::new().with("code", code(m.code));
    match signal {
        Some(Ok(s)) => o.put("signal", signal_json(s)),
        // An error the receiver ignores the message for (an unknown 7.xx code, an unknown
        // critical option in a Ping): shown rather than fatal.
        Some(Err(e)) => {
            o.put("signal", Json::Null);
            o.put("signal_error", e.to_string());
        }
        None => {}
    }
    o.put("token", hex::encode(m.token.as_bytes()));
    if let Some(frame) = frame {
        o.put("offset", frame.offset);
        o.put("length", frame.length);
    }
    let options = if m.code.is_signaling() {
        signal_options(m)
    } else {
        options(&m.options, true)
    };
    o.put("options", options);
    o.put("payload", payload(&m.payload));
    o.into()
}

/// A signal's fields by RFC 8323's names in snake_case; an option the message does not carry
/// is left out.
fn signal_json(s: &Signal) -> Json {
    let mut o = Object::new().with("name", s.code().name());
    match s {
        Signal::Csm {
            max_message_size,
            block_wise_transfer,
        } => {
            if let Some(size) = max_message_size {
                o.put("max_message_size", *size);
            }
            o.put("block_wise_transfer", *block_wise_transfer);
        }
        Signal::Ping { custody } | Signal::Pong { custody } => o.put("custody", *custody),
        Signal::Release {
            alternative_addresses,
            hold_off,
        } => {
            let addresses: Json = alternative_addresses
                .iter()
                .map(|a| Json::from(a.as_str()))
                .collect();
            o.put("alternative_addresses", addresses);
            if let Some(h) = hold_off {
                o.put("hold_off", *h);
            }
        }
        Signal::Abort { bad_csm_option } => {
            if let Some(n) = bad_csm_option {
                o.put("bad_csm_option", *n);
            }
        }
    }
    o.into()
}

/// The options of a signaling message, named as its code defines them (option 2 is
/// Max-Message-Size in a CSM, Custody in a Ping); values in hex, the typed reading being the
/// `signal`. An option the code does not define is unrecognized.
fn signal_options(m: &TcpMessage) -> Json {
    m.options
        .iter()
        .map(|o| {
            let name = signal_option::name(m.code, o.number);
            let mut out = Object::new()
                .with("number", o.number.get())
                .with("name", name)
                .with("critical", o.number.is_critical())
                .with("value", hex::encode(o.value));
            if name.is_none() {
                out.put("unrecognized", true);
            }
            Json::from(out)
        })
        .collect()
}

/// A code as `{"value": "c.dd", "name"}`, `name` `null` when the code is not registered.
pub(crate) fn code(code: Code) -> Json {
    Object::new()
        .with("value", format!("{}.{:02}", code.class(), code.detail()))
        .with("name", code.name())
        .into()
}

/// The options in wire order, named by the option registry. `reliable`: the message came over
/// TCP or WebSockets, where a Block SZX of 7 (BERT) is valid.
pub(crate) fn options(options: &Options, reliable: bool) -> Json {
    // `unrecognized()` yields a subsequence of `iter()`; an option is told apart from an equal
    // one (a repeated Uri-Host "a", of which only the second counts as unrecognized) by where
    // its value sits in the message.
    let mut unrecognized = options.unrecognized().peekable();
    options
        .iter()
        .map(|o| {
            let flagged = unrecognized
                .next_if(|u| u.number == o.number && std::ptr::eq(u.value, o.value))
                .is_some();
            option(&o, flagged, reliable)
        })
        .collect()
}

/// One option: `{"number", "name", "critical", "value"}`, `"unrecognized": true` when
/// `unrecognized`, and `"error"` when the value breaks a rule of its meaning (a BERT block
/// over UDP, a Hop-Limit of 0).
fn option(o: &CoapOption<'_>, unrecognized: bool, reliable: bool) -> Json {
    let (value, error) = match value(o, reliable) {
        Ok(value) => (value, None),
        Err(e) => (Json::from(hex::encode(o.value)), Some(e.to_string())),
    };
    let mut out = Object::new()
        .with("number", o.number.get())
        .with("name", o.number.name())
        .with("critical", o.number.is_critical())
        .with("value", value);
    if unrecognized {
        out.put("unrecognized", true);
    }
    if let Some(e) = error {
        out.put("error", e);
    }
    out.into()
}

/// The value, typed by the option's meaning (Block, Content-Format, No-Response, …) or else by
/// the registry's format; hex when the option is unknown or its value does not fit the
/// registry (such an option is unrecognized).
fn value(o: &CoapOption<'_>, reliable: bool) -> Result<Json, ValueError> {
    let opaque = || Json::from(hex::encode(o.value));
    let Some(info) = o.number.info() else {
        return Ok(opaque());
    };
    if !o.is_well_formed() {
        return Ok(opaque());
    }
    // Well-formed: a uint value has at most 4 bytes, a string is UTF-8.
    let uint = o.as_uint().unwrap_or_default();
    Ok(match o.number {
        OptionNumber::BLOCK1
        | OptionNumber::BLOCK2
        | OptionNumber::Q_BLOCK1
        | OptionNumber::Q_BLOCK2 => block(Block::decode(o.value, reliable)?),
        OptionNumber::CONTENT_FORMAT | OptionNumber::ACCEPT => {
            content_format(ContentFormat(u16::try_from(uint).unwrap_or(u16::MAX)))
        }
        OptionNumber::HOP_LIMIT => {
            let limit = u8::try_from(uint).ok().and_then(HopLimit::new);
            limit.ok_or(ValueError::OutOfRange)?.get().into()
        }
        OptionNumber::NO_RESPONSE => no_response(u8::try_from(uint).unwrap_or(u8::MAX)),
        _ => match info.format {
            ValueFormat::Empty => Json::Null,
            ValueFormat::Opaque => opaque(),
            ValueFormat::String => o.as_str().map_or_else(opaque, Json::from),
            ValueFormat::Uint => uint.into(),
        },
    })
}

/// A Block1, Block2, Q-Block1 or Q-Block2 value: `{"num", "m", "szx", "size"}`, `size` in
/// bytes (1024 for BERT).
fn block(b: Block) -> Json {
    Object::new()
        .with("num", b.num())
        .with("m", b.more())
        .with("szx", b.szx())
        .with("size", b.size())
        .into()
}

/// A Content-Format or Accept value: `{"value", "name"}`, `name` the registered media type
/// (with its content coding when not identity), `null` when tern does not know it.
fn content_format(cf: ContentFormat) -> Json {
    Object::new()
        .with("value", cf.0)
        .with("name", cf.media_type().map(|_| cf.to_string()))
        .into()
}

/// A No-Response value (RFC 7967 §2): the bits and the classes of response they suppress.
fn no_response(bits: u8) -> Json {
    let n = NoResponse::from_bits(bits);
    Object::new()
        .with("value", bits)
        .with("suppress_2xx", n.suppress_2xx)
        .with("suppress_4xx", n.suppress_4xx)
        .with("suppress_5xx", n.suppress_5xx)
        .into()
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;
    use serde_json::{Value, json};
    use tern_coap::option::OptionNumber;
    use tern_coap::{MessageType, Token};

    use super::*;

    fn decode(hex: &str) -> Value {
        let bytes = crate::hex::decode(hex).unwrap();
        message(&Message::decode(Bytes::from(bytes)).unwrap()).to_value()
    }

    fn opts(list: &[(u16, &[u8])]) -> Value {
        let mut b = Options::builder();
        for &(n, v) in list {
            b = b.push(OptionNumber(n), Bytes::copy_from_slice(v));
        }
        options(&b.build().unwrap(), false).to_value()
    }

    #[test]
    fn responses_have_a_flat_code_and_a_text_or_hex_payload() {
        let r = Response::builder(Code::CONTENT)
            .options(|o| o.push_content_format(ContentFormat::TEXT_PLAIN))
            .payload("hi")
            .build()
            .unwrap();
        assert_eq!(
            response(&r, Some(MessageType::Acknowledgement)).to_string(),
            r#"{"code":"2.05","code_name":"Content","type":"ACK","options":[{"number":12,"name":"Content-Format","critical":false,"value":{"value":0,"name":"text/plain; charset=utf-8"}}],"payload":"hi"}"#
        );
        let r = Response::new(Code::new(4, 31).unwrap()).with_payload(&b"\xff"[..]);
        assert_eq!(
            response(&r, None).to_value(),
            json!({"code": "4.31", "code_name": null, "type": null, "options": [], "payload_hex": "ff"})
        );
    }

    #[test]
    fn get_with_uri_path() {
        // aiocoap CON GET /hello.
        assert_eq!(
            decode("42015e7c19acb568656c6c6f"),
            json!({
                "type": "CON",
                "code": {"value": "0.01", "name": "GET"},
                "message_id": 24188,
                "token": "19ac",
                "options": [
                    {"number": 11, "name": "Uri-Path", "critical": true, "value": "hello"}
                ],
                "payload": {"hex": "", "text": "", "length": 0}
            })
        );
    }

    #[test]
    fn keys_keep_their_order() {
        let m = Message::empty(MessageType::Reset, 0x448e);
        assert_eq!(
            message(&m).to_string(),
            r#"{"type":"RST","code":{"value":"0.00","name":"Empty"},"message_id":17550,"token":"","options":[],"payload":{"hex":"","text":"","length":0}}"#
        );
    }

    #[test]
    fn codes_by_class_and_detail() {
        assert_eq!(
            code(Code::CONTENT).to_value(),
            json!({"value": "2.05", "name": "Content"})
        );
        assert_eq!(
            code(Code::CONTINUE).to_value(),
            json!({"value": "2.31", "name": "Continue"})
        );
        assert_eq!(
            code(Code::new(3, 7).unwrap()).to_value(),
            json!({"value": "3.07", "name": null})
        );
    }

    #[test]
    fn values_by_format() {
        assert_eq!(
            opts(&[(1, b"\x12\x34"), (3, b"host"), (5, b""), (7, b"\x16\x33")]),
            json!([
                {"number": 1, "name": "If-Match", "critical": true, "value": "1234"},
                {"number": 3, "name": "Uri-Host", "critical": true, "value": "host"},
                {"number": 5, "name": "If-None-Match", "critical": true, "value": null},
                {"number": 7, "name": "Uri-Port", "critical": true, "value": 5683}
            ])
        );
        // uint values are read at any length, leading zeros included.
        assert_eq!(opts(&[(14, b"\x00\x00\x3c")])[0]["value"], 60);
        assert_eq!(opts(&[(14, b"")])[0]["value"], 0);
    }

    #[test]
    fn block_options_are_num_m_szx_size() {
        // libcoap's Block2 2.05: ETag, Block2 92/1/32, Size2 3000.
        let v = decode(
            "6745c21d5d0000000062344101d20605c9520bb8ff303030363420626c6f636b312064617461206c696e6520666f72206c6962636f",
        );
        assert_eq!(
            v["options"],
            json!([
                {"number": 4, "name": "ETag", "critical": false, "value": "01"},
                {"number": 23, "name": "Block2", "critical": true,
                 "value": {"num": 92, "m": true, "szx": 1, "size": 32}},
                {"number": 28, "name": "Size2", "critical": false, "value": 3000}
            ])
        );
        // Block1, Q-Block1, Q-Block2; an empty value is block 0 of 16 bytes.
        let v = opts(&[(19, b"\x1a"), (27, b""), (31, b"\x00\x00\x2e")]);
        let blocks: Vec<_> = v.as_array().unwrap().iter().map(|o| &o["value"]).collect();
        assert_eq!(
            blocks,
            [
                &json!({"num": 1, "m": true, "szx": 2, "size": 64}),
                &json!({"num": 0, "m": false, "szx": 0, "size": 16}),
                &json!({"num": 2, "m": true, "szx": 6, "size": 1024})
            ]
        );
    }

    #[test]
    fn bert_only_over_reliable_transports() {
        let bert = Options::builder()
            .push(OptionNumber::BLOCK2, Bytes::from_static(b"\x1f"))
            .build()
            .unwrap();
        assert_eq!(
            options(&bert, true).to_value()[0]["value"],
            json!({"num": 1, "m": true, "szx": 7, "size": 1024})
        );
        let udp = options(&bert, false).to_value();
        assert_eq!(udp[0]["value"], "1f");
        assert!(udp[0]["error"].as_str().unwrap().contains("BERT"), "{udp}");
    }

    #[test]
    fn content_format_and_accept_by_media_type() {
        let v = opts(&[
            (12, b"\x28"),
            (17, b""),
            (17, b"\x2b\x2a"),
            (17, b"\xfd\xe8"),
        ]);
        let values: Vec<_> = v.as_array().unwrap().iter().map(|o| &o["value"]).collect();
        assert_eq!(
            values,
            [
                &json!({"value": 40, "name": "application/link-format"}),
                &json!({"value": 0, "name": "text/plain; charset=utf-8"}),
                &json!({"value": 11050, "name": "application/json (deflate)"}),
                &json!({"value": 65000, "name": null})
            ]
        );
    }

    #[test]
    fn hop_limit_and_no_response() {
        let v = opts(&[(16, b"\x10"), (258, b"\x1a")]);
        assert_eq!(v[0]["value"], 16);
        assert_eq!(
            v[1]["value"],
            json!({"value": 26, "suppress_2xx": true, "suppress_4xx": true, "suppress_5xx": true})
        );
        let v = opts(&[(16, b"\x00")]);
        assert_eq!(v[0]["value"], "00");
        assert!(v[0]["error"].as_str().unwrap().contains("RFC 8768"), "{v}");
    }

    #[test]
    fn observe_is_a_number() {
        // aiocoap's notification: CON 2.05, Observe 1, Content-Format 0, "count=4".
        let v = decode("4245448a19cc610160ff636f756e743d34");
        assert_eq!(
            v["options"][0],
            json!({"number": 6, "name": "Observe", "critical": false, "value": 1})
        );
        assert_eq!(v["payload"]["text"], "count=4");
    }

    #[test]
    fn unknown_options_are_hex_and_unrecognized() {
        assert_eq!(
            opts(&[(2049, b"\x01"), (2050, b"elective")]),
            json!([
                {"number": 2049, "name": null, "critical": true, "value": "01",
                 "unrecognized": true},
                {"number": 2050, "name": null, "critical": false,
                 "value": "656c656374697665", "unrecognized": true}
            ])
        );
    }

    #[test]
    fn only_the_repeat_of_a_non_repeatable_option_is_unrecognized() {
        let v = opts(&[(3, b"a"), (3, b"a"), (11, b"x"), (11, b"x")]);
        let flags: Vec<_> = v
            .as_array()
            .unwrap()
            .iter()
            .map(|o| o.get("unrecognized").is_some())
            .collect();
        assert_eq!(flags, [false, true, false, false]);
        assert_eq!(v[1]["value"], "a", "a well-formed value stays typed");
    }

    #[test]
    fn a_value_of_the_wrong_length_is_hex_and_unrecognized() {
        // Max-Age is at most 4 bytes; ETag at least 1; Uri-Path must be UTF-8.
        let v = opts(&[(4, b""), (11, b"\xff"), (14, b"\x01\x02\x03\x04\x05")]);
        assert_eq!(
            v,
            json!([
                {"number": 4, "name": "ETag", "critical": false, "value": "",
                 "unrecognized": true},
                {"number": 11, "name": "Uri-Path", "critical": true, "value": "ff",
                 "unrecognized": true},
                {"number": 14, "name": "Max-Age", "critical": false, "value": "0102030405",
                 "unrecognized": true}
            ])
        );
    }

    #[test]
    fn payload_text_only_when_utf8() {
        let mut m = Message::empty(MessageType::Confirmable, 1);
        m.code = Code::POST;
        m.token = Token::new(&[0xab]).unwrap();
        m.payload = Bytes::from_static(b"\xff\x00");
        assert_eq!(
            message(&m).to_value()["payload"],
            json!({"hex": "ff00", "length": 2})
        );
    }
}
