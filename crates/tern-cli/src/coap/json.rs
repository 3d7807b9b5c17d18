//! CoAP messages as JSON objects: the output format of `tern coap decode`.
//!
//! One object per message: `type` (CON, NON, ACK, RST), `code` as `{"value": "2.05", "name":
//! "Content"}`, `message_id`, `token` as hex, `options`, `payload`. Conventions:
//!
//! - `options` is an array in wire order of `{"number", "name", "critical", "value"}`; `name`
//!   is the IANA registry's name, or `null` for an option tern does not know;
//! - a value is typed by the registry's format: a number for uint options, a string for string
//!   options, hex for opaque ones and for unknown options, `null` for empty ones (If-None-Match);
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

use tern_coap::option::ValueFormat;
use tern_coap::tcp::{Signal, SignalError, TcpMessage, signal_option};
use tern_coap::{CoapOption, Code, Message, Options};

use crate::hex;
use crate::json::{Json, Object, payload};

/// The JSON object for a message decoded from one UDP datagram.
pub(crate) fn message(m: &Message) -> Json {
    Object::new()
        .with("type", m.mtype.name())
        .with("code", code(m.code))
        .with("message_id", m.message_id)
        .with("token", hex::encode(m.token.as_bytes()))
        .with("options", options(&m.options))
        .with("payload", payload(&m.payload))
        .into()
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
        options(&m.options)
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

/// The options in wire order, named by the option registry.
pub(crate) fn options(options: &Options) -> Json {
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
            option(&o, flagged)
        })
        .collect()
}

/// One option: `{"number", "name", "critical", "value"}` and `"unrecognized": true` when
/// `unrecognized`.
fn option(o: &CoapOption<'_>, unrecognized: bool) -> Json {
    let mut out = Object::new()
        .with("number", o.number.get())
        .with("name", o.number.name())
        .with("critical", o.number.is_critical())
        .with("value", value(o));
    if unrecognized {
        out.put("unrecognized", true);
    }
    out.into()
}

/// The value, typed by the registry's format; hex when the option is unknown or its value does
/// not fit the format.
fn value(o: &CoapOption<'_>) -> Json {
    let opaque = || Json::from(hex::encode(o.value));
    let Some(info) = o.number.info() else {
        return opaque();
    };
    if !o.is_well_formed() {
        return opaque();
    }
    match info.format {
        ValueFormat::Empty => Json::Null,
        ValueFormat::Opaque => opaque(),
        ValueFormat::String => o.as_str().map_or_else(opaque, Json::from),
        ValueFormat::Uint => o.as_uint().map_or_else(opaque, Json::from),
    }
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
        options(&b.build().unwrap()).to_value()
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
