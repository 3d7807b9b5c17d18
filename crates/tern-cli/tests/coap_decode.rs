//! `tern coap decode` end to end: the built binary on datagrams captured from libcoap 4.3.1
//! and aiocoap 0.4.17 (copied from the shared vector set, so this test stands alone), and on
//! CoAP-over-TCP bytes written by hand after RFC 8323.

mod common;

use common::*;

use std::process::Output;

use serde_json::{Value, json};

/// aiocoap client: CON GET /hello, MID 24188, token 19ac.
const GET_HELLO: &str = "42015e7c19acb568656c6c6f";
/// aiocoap server: ACK 2.05 with ETag 1234, Content-Format 0, Max-Age 30, "hello from aiocoap".
const ACK_CONTENT: &str = "62455e7c19ac42123480211eff68656c6c6f2066726f6d2061696f636f6170";
/// aiocoap server: ACK 2.05 /.well-known/core, Content-Format 40 and a link-format payload.
const ACK_LINK_FORMAT: &str = "62455e7e19aec128ff3c2f2e77656c6c2d6b6e6f776e2f636f72653e3b63743d223430222c3c2f68656c6c6f3e2c3c2f73746f72653e2c3c2f6372656174653e2c3c2f6c617267653e2c3c2f75706c6f61643e2c3c2f73657061726174653e2c3c2f6f62733e3b6f62732c3c2f6a736f6e3e2c3c68747470733a2f2f63687269737469616e2e616d73756573732e636f6d2f746f6f6c732f61696f636f61702f2376657273696f6e2d302e342e31373e3b72656c3d22696d706c2d696e666f22";
/// libcoap server: ACK 2.05 with ETag 01, Block2 NUM 92 M 1 SZX 1 (a 32-byte block), Size2 3000.
const ACK_BLOCK2: &str = "6745c21d5d0000000062344101d20605c9520bb8ff303030363420626c6f636b312064617461206c696e6520666f72206c6962636f";
/// aiocoap server: Observe notification, CON 2.05, Observe 1, Content-Format 0, "count=4".
const NOTIFICATION: &str = "4245448a19cc610160ff636f756e743d34";
/// libcoap client: CON GET with Uri-Port 56831 and the unknown critical option 2049.
const GET_CRITICAL_2049: &str = "440152e46372697572ddffe106ed01";
/// libcoap server: its answer, ACK 4.02 Bad Option echoing option 2049, "Bad Option".
const ACK_BAD_OPTION: &str = "648252e463726975e106f401ff426164204f7074696f6e";
/// aiocoap client: the empty ACK of a CON notification.
const EMPTY_ACK: &str = "6000448a";

/// Runs `tern coap decode ARGS` with `stdin`.
fn decode_with(args: &[&str], stdin: &[u8]) -> Output {
    let mut all = vec!["coap", "decode"];
    all.extend_from_slice(args);
    run(&all, stdin)
}

/// Runs `tern coap decode ARGS` with an empty stdin.
fn decode(args: &[&str]) -> Output {
    decode_with(args, b"")
}

/// The single message of a successful run.
fn one(args: &[&str]) -> Value {
    let mut all = vec!["coap", "decode"];
    all.extend_from_slice(args);
    one_line(&all)
}

#[test]
fn get_with_uri_path() {
    let out = decode(&[GET_HELLO]);
    assert!(out.status.success(), "{}", stderr(&out));
    // The exact line: keys in order, compact.
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        "{\"type\":\"CON\",\"code\":{\"value\":\"0.01\",\"name\":\"GET\"},\"message_id\":24188,\
         \"token\":\"19ac\",\"options\":[{\"number\":11,\"name\":\"Uri-Path\",\"critical\":true,\
         \"value\":\"hello\"}],\"payload\":{\"hex\":\"\",\"text\":\"\",\"length\":0}}\n"
    );
}

#[test]
fn ack_content_with_content_format() {
    let v = one(&[ACK_CONTENT]);
    assert_eq!(v["type"], "ACK");
    assert_eq!(v["code"], json!({"value": "2.05", "name": "Content"}));
    assert_eq!(v["message_id"], 24188);
    assert_eq!(v["token"], "19ac");
    assert_eq!(
        v["options"],
        json!([
            {"number": 4, "name": "ETag", "critical": false, "value": "1234"},
            {"number": 12, "name": "Content-Format", "critical": false,
             "value": {"value": 0, "name": "text/plain; charset=utf-8"}},
            {"number": 14, "name": "Max-Age", "critical": false, "value": 30}
        ])
    );
    assert_eq!(
        v["payload"],
        json!({"hex": "68656c6c6f2066726f6d2061696f636f6170", "text": "hello from aiocoap",
               "length": 18})
    );
}

#[test]
fn link_format_payload() {
    let v = one(&[ACK_LINK_FORMAT]);
    assert_eq!(
        v["options"][0]["value"],
        json!({"value": 40, "name": "application/link-format"})
    );
    let text = v["payload"]["text"].as_str().unwrap();
    assert!(
        text.starts_with("</.well-known/core>;ct=\"40\",</hello>"),
        "{text}"
    );
    assert_eq!(v["payload"]["length"], 183);
}

#[test]
fn block2_response() {
    let v = one(&[ACK_BLOCK2]);
    assert_eq!(v["token"], "5d000000006234");
    assert_eq!(
        v["options"][1],
        json!({"number": 23, "name": "Block2", "critical": true,
               "value": {"num": 92, "m": true, "szx": 1, "size": 32}})
    );
    assert_eq!(v["options"][2]["name"], "Size2");
    assert_eq!(v["options"][2]["value"], 3000);
    assert_eq!(v["payload"]["length"], 32);
}

#[test]
fn observe_notification_and_its_ack() {
    let out = decode(&[NOTIFICATION, EMPTY_ACK]);
    assert!(out.status.success(), "{}", stderr(&out));
    let lines = json_lines(&out);
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[0]["type"], "CON");
    assert_eq!(lines[0]["code"]["name"], "Content");
    assert_eq!(
        lines[0]["options"][0],
        json!({"number": 6, "name": "Observe", "critical": false, "value": 1})
    );
    assert_eq!(lines[0]["payload"]["text"], "count=4");
    assert_eq!(lines[1]["type"], "ACK");
    assert_eq!(lines[1]["code"], json!({"value": "0.00", "name": "Empty"}));
    assert_eq!(lines[1]["message_id"], lines[0]["message_id"]);
}

#[test]
fn unknown_critical_option_2049_and_the_4_02_answer() {
    let out = decode(&[GET_CRITICAL_2049, ACK_BAD_OPTION]);
    // Decoding succeeds: the option is reported, the answer is the server's business.
    assert!(out.status.success(), "{}", stderr(&out));
    let lines = json_lines(&out);
    let unknown = json!({"number": 2049, "name": null, "critical": true, "value": "01",
                         "unrecognized": true});
    assert_eq!(lines[0]["options"][0]["name"], "Uri-Port");
    assert_eq!(lines[0]["options"][0]["value"], 56831);
    assert_eq!(lines[0]["options"][1], unknown);
    assert_eq!(
        lines[1]["code"],
        json!({"value": "4.02", "name": "Bad Option"})
    );
    assert_eq!(lines[1]["options"][0]["number"], 2049);
    assert_eq!(lines[1]["options"][0]["unrecognized"], true);
    assert_eq!(lines[1]["payload"]["text"], "Bad Option");
}

#[test]
fn several_datagrams_one_line_each() {
    let out = decode(&[GET_HELLO, ACK_CONTENT, NOTIFICATION, EMPTY_ACK]);
    assert!(out.status.success(), "{}", stderr(&out));
    let types: Vec<_> = json_lines(&out)
        .iter()
        .map(|l| l["type"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(types, ["CON", "ACK", "CON", "ACK"]);
}

#[test]
fn raw_datagram_from_stdin() {
    let out = decode_with(&["--raw"], &hex(ACK_CONTENT));
    assert!(out.status.success(), "{}", stderr(&out));
    let lines = json_lines(&out);
    assert_eq!(lines.len(), 1, "--raw is one datagram");
    assert_eq!(lines[0]["payload"]["text"], "hello from aiocoap");
}

#[test]
fn hex_lines_from_stdin() {
    let stdin = format!("{GET_HELLO}\n\n62:45:5e:7c:19:ac:42:12:34:80:21:1e:ff:68:69\n");
    let out = decode_with(&[], stdin.as_bytes());
    assert!(out.status.success(), "{}", stderr(&out));
    let lines = json_lines(&out);
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[1]["payload"]["text"], "hi");
}

#[test]
fn token_length_9_is_a_format_error() {
    // GET /hello with TKL 9: the messages before it are printed.
    let out = decode(&[GET_HELLO, "49015e7d0102030405060708090a"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(json_lines(&out).len(), 1);
    assert_eq!(
        stderr(&out),
        "tern: error: token length 9 is reserved: 9-15 (RFC 7252 §3) \
         (answer: RST with Message ID 24189, RFC 7252 §4.2) in datagram 2\n"
    );
}

#[test]
fn payload_marker_without_payload_is_a_format_error() {
    let out = decode(&["62455e7c19acff"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(json_lines(&out).is_empty());
    assert_eq!(
        stderr(&out),
        "tern: error: payload marker followed by no payload (RFC 7252 §3) \
         (answer: none, an ACK or RST is rejected silently, RFC 7252 §4.2) in datagram 1\n"
    );
}

#[test]
fn bad_hex_exits_with_2() {
    let out = decode(&[GET_HELLO, "42015e7g"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
    assert!(
        stderr(&out).starts_with("tern: error: HEX argument 2: 'g' at offset 7"),
        "{}",
        stderr(&out)
    );
    let out = decode_with(&[], &hex(GET_HELLO));
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("hint: without HEX arguments"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn tcp_stream_with_a_csm() {
    // CSM (Max-Message-Size 8192, Block-Wise-Transfer), GET /hello, then a 2.05 "hi" split
    // over two arguments.
    let out = decode(&[
        "--tcp",
        "40e122200020620119acb568656c6c6f",
        "424519ac",
        "c0ff6869",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let lines = json_lines(&out);
    assert_eq!(lines.len(), 3);
    assert_eq!(
        lines[0]["signal"],
        json!({"name": "CSM", "max_message_size": 8192, "block_wise_transfer": true})
    );
    assert_eq!(lines[1]["code"]["name"], "GET");
    assert_eq!(lines[1]["offset"], 6);
    assert_eq!(lines[1]["length"], 10);
    assert_eq!(lines[2]["payload"]["text"], "hi");
    assert_eq!(lines[2].get("message_id"), None);

    let out = decode(&["--tcp", "40e122200020", "6201"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        stderr(&out),
        "tern: error: incomplete message: 8 more bytes needed \
         (the input ends 2 bytes into the message at byte offset 6)\n"
    );
}

#[test]
fn websocket_messages() {
    let out = decode(&["--ws", "00e1", "020119acb568656c6c6f"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let lines = json_lines(&out);
    assert_eq!(lines[0]["signal"]["name"], "CSM");
    assert_eq!(lines[1]["options"][0]["value"], "hello");
}

#[test]
fn help_shows_real_examples() {
    let out = decode(&["--help"]);
    assert!(out.status.success());
    let help = String::from_utf8(out.stdout).unwrap();
    assert!(help.contains("--tcp"), "{help}");
    assert!(help.contains("--ws"), "{help}");
    assert!(help.contains(&format!("tern coap decode {GET_HELLO} {ACK_CONTENT}")));
    assert!(help.contains(ACK_LINK_FORMAT));
}

/// Every datagram of the shared vector set (`../shared/vectors/coap.jsonl`, next to the
/// repository) decodes, one line each, and agrees with tshark's dissection: header, options in
/// wire order with their raw value, Block fields, Content-Format and payload. A missing set
/// fails the test (CI copies `shared/` beside the clone); `TERN_SKIP_VECTORS=1` skips it on
/// purpose, loudly, as the codec's own vector tests do.
#[test]
fn every_shared_vector_agrees_with_tshark() {
    let Some(text) = tern_testkit::load_vectors("coap.jsonl", "the CoAP CLI vector test") else {
        return;
    };
    let vectors: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let stdin: String = vectors
        .iter()
        .map(|v| format!("{}\n", v["hex"].as_str().unwrap()))
        .collect();
    let out = decode_with(&[], stdin.as_bytes());
    assert!(out.status.success(), "{}", stderr(&out));
    let lines = json_lines(&out);
    assert_eq!(lines.len(), vectors.len());
    let types = ["CON", "NON", "ACK", "RST"];
    let mut blocks = 0;
    for (v, m) in vectors.iter().zip(&lines) {
        let id = v["id"].as_str().unwrap();
        let d = &v["dissection"];
        let f = &d["fields"];
        assert_eq!(
            m["type"],
            types[f["coap.type"].as_u64().unwrap() as usize],
            "{id}"
        );
        let code = f["coap.code"].as_u64().unwrap();
        let code = format!("{}.{:02}", code >> 5, code & 0x1f);
        assert_eq!(m["code"]["value"], code, "{id}");
        assert_eq!(m["message_id"], f["coap.mid"], "{id}");
        assert_eq!(
            m["token"],
            f.get("coap.token").unwrap_or(&json!("")).clone(),
            "{id}"
        );
        let options = d["options"].as_array().unwrap();
        assert_eq!(
            m["options"].as_array().unwrap().len(),
            options.len(),
            "{id}"
        );
        for (o, t) in m["options"].as_array().unwrap().iter().zip(options) {
            assert_eq!(o["number"], t["number"], "{id}");
            let fields = &t["fields"];
            match o["name"].as_str() {
                Some("Block1" | "Block2") => {
                    blocks += 1;
                    let b = &o["value"];
                    assert_eq!(b["num"], fields["coap.opt.block_number"], "{id}");
                    assert_eq!(
                        b["m"],
                        fields["coap.opt.block_mflag"].as_u64() == Some(1),
                        "{id}"
                    );
                    assert_eq!(b["szx"], fields["coap.opt.block_size"], "{id}");
                }
                Some("Content-Format" | "Accept") => {
                    assert_eq!(o["value"]["value"], t["value_uint"], "{id}");
                }
                _ if t.get("value_uint").is_some() => {
                    assert_eq!(o["value"], t["value_uint"], "{id}")
                }
                _ if o["value"].is_string() => {
                    // Opaque values are hex; strings are the value's text.
                    let raw = t["value_hex"].as_str().unwrap();
                    let shown = o["value"].as_str().unwrap();
                    assert!(
                        shown == raw || hex(raw) == shown.as_bytes(),
                        "{id}: {o} vs {t}"
                    );
                }
                _ => {}
            }
        }
        let payload = f.get("coap.payload").or(f.get("coap.block_payload"));
        let expected = payload.and_then(Value::as_str).unwrap_or("");
        assert_eq!(m["payload"]["hex"], expected, "{id}");
    }
    assert!(blocks > 50, "the set has block-wise transfers: {blocks}");
}

fn hex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}
