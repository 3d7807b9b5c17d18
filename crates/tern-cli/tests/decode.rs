//! `tern mqtt decode` end to end: the built binary on packets captured from mosquitto and its
//! clients (copied from the shared vector set, so this test stands alone).

mod common;

use common::*;

use std::process::Output;

use serde_json::{Value, json};

/// mosquitto_pub 3.1.1 CONNECT, client id "mpub-311-ret", keep alive 60, clean session.
const CONNECT_311: &str = "101800044d5154540402003c000c6d7075622d3331312d726574";
/// mosquitto_pub 3.1.1 PUBLISH, QoS 1, retained, to "vt/m311/retained".
const PUBLISH_311_QOS1_RETAIN: &str = "332d001076742f6d3331312f72657461696e6564000172657461696e6564206265666f726520737562736372696265";
/// mosquitto 5.0 CONNACK with Topic Alias Maximum 10 and Receive Maximum 20.
const CONNACK_5: &str = "200900000622000a210014";
/// mosquitto_sub 5.0 DISCONNECT with Session Expiry Interval, Reason String, User Property.
const DISCONNECT_5: &str = "e01b001911000000001f000866696e6973686564260002646b00026476";
/// mosquitto_sub 5.0 CONNECT, client id "msub-5-u", Session Expiry 60, Receive Maximum 20.
const CONNECT_5: &str = "101d00044d5154540500003c08110000003c21001400086d7375622d352d75";
/// mosquitto_sub 5.0 SUBSCRIBE with Subscription Identifier 42 and a User Property.
const SUBSCRIBE_5: &str =
    "822500010b0b2a260002736b00027376000776742f6d352f2302000a76742f6d35782f2b2f7902";
/// mosquitto 5.0 PUBLISH, QoS 0, with Subscription Identifier 42.
const PUBLISH_5_SUB_ID: &str = "3019000776742f6d352f77020b2a68617320612076352077696c6c";

/// Runs `tern mqtt decode ARGS` with an empty stdin.
fn decode(args: &[&str]) -> Output {
    let mut all = vec!["mqtt", "decode"];
    all.extend_from_slice(args);
    run(&all, b"")
}

/// The single packet of a successful run.
fn one(args: &[&str]) -> Value {
    let mut all = vec!["mqtt", "decode"];
    all.extend_from_slice(args);
    one_line(&all)
}

#[test]
fn connect_311() {
    let v = one(&[CONNECT_311]);
    assert_eq!(v["type"], "CONNECT");
    assert_eq!(v["flags"], 0);
    assert_eq!(v["remaining_length"], 24);
    assert_eq!(v["length"], 26);
    assert_eq!(v["protocol"], "3.1.1");
    assert_eq!(v["protocol_name"], "MQTT");
    assert_eq!(v["protocol_level"], 4);
    assert_eq!(v["clean_start"], true);
    assert_eq!(v["keep_alive"], 60);
    assert_eq!(v["client_id"], "mpub-311-ret");
    assert_eq!(v.get("properties"), None, "3.1.1 has no properties");
    assert_eq!(v.get("will"), None);
    assert_eq!(v.get("username"), None);
}

#[test]
fn publish_311_qos1_retained() {
    let v = one(&["--protocol", "3.1.1", PUBLISH_311_QOS1_RETAIN]);
    assert_eq!(v["type"], "PUBLISH");
    assert_eq!(v["flags"], 3);
    assert_eq!(v["dup"], false);
    assert_eq!(v["qos"], 1);
    assert_eq!(v["retain"], true);
    assert_eq!(v["topic"], "vt/m311/retained");
    assert_eq!(v["packet_id"], 1);
    assert_eq!(v["payload"]["text"], "retained before subscribe");
    assert_eq!(v["payload"]["length"], 25);
    assert_eq!(
        v["payload"]["hex"],
        "72657461696e6564206265666f726520737562736372696265"
    );
}

#[test]
fn connack_5_properties_by_spec_name() {
    let v = one(&["--protocol", "5.0", CONNACK_5]);
    assert_eq!(v["type"], "CONNACK");
    assert_eq!(v["session_present"], false);
    assert_eq!(v["reason_code"], json!({"value": 0, "name": "Success"}));
    assert_eq!(
        v["properties"],
        json!([
            {"id": 0x22, "name": "Topic Alias Maximum", "value": 10},
            {"id": 0x21, "name": "Receive Maximum", "value": 20},
        ])
    );
    assert_eq!(v.get("return_code"), None);
}

#[test]
fn connack_311_shows_the_return_code_too() {
    // Return code 5 (not authorized) is 0x87 in 5.0.
    let v = one(&["--protocol", "3.1.1", "20020005"]);
    assert_eq!(v["return_code"], 5);
    assert_eq!(
        v["reason_code"],
        json!({"value": 0x87, "name": "Not authorized"})
    );
}

#[test]
fn disconnect_5() {
    let v = one(&[DISCONNECT_5]);
    assert_eq!(v["type"], "DISCONNECT");
    assert_eq!(v["protocol"], "5.0");
    assert_eq!(
        v["reason_code"],
        json!({"value": 0, "name": "Normal disconnection"})
    );
    assert_eq!(
        v["properties"],
        json!([
            {"id": 0x11, "name": "Session Expiry Interval", "value": 0},
            {"id": 0x1f, "name": "Reason String", "value": "finished"},
            {"id": 0x26, "name": "User Property", "value": {"key": "dk", "value": "dv"}},
        ])
    );
}

#[test]
fn subscribe_5_options() {
    let v = one(&[SUBSCRIBE_5]);
    assert_eq!(v["type"], "SUBSCRIBE");
    assert_eq!(v["flags"], 2);
    assert_eq!(v["packet_id"], 1);
    assert_eq!(v["properties"][0]["name"], "Subscription Identifier");
    assert_eq!(v["properties"][0]["value"], 42);
    assert_eq!(
        v["properties"][1]["value"],
        json!({"key": "sk", "value": "sv"})
    );
    let filters: Vec<_> = v["subscriptions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| (s["filter"].as_str().unwrap(), s["qos"].as_u64().unwrap()))
        .collect();
    assert_eq!(filters, [("vt/m5/#", 2), ("vt/m5x/+/y", 2)]);
    assert_eq!(v["subscriptions"][0]["no_local"], false);
    assert_eq!(v["subscriptions"][0]["retain_handling"], 0);
}

#[test]
fn a_stream_prints_one_line_per_packet() {
    // A 5.0 session's client side, with a packet split across two arguments.
    let (head, tail) = SUBSCRIBE_5.split_at(20);
    let out = decode(&[CONNECT_5, head, tail, "c000", DISCONNECT_5]);
    assert!(out.status.success(), "{}", stderr(&out));
    let lines = json_lines(&out);
    let types: Vec<_> = lines.iter().map(|l| l["type"].as_str().unwrap()).collect();
    assert_eq!(types, ["CONNECT", "SUBSCRIBE", "PINGREQ", "DISCONNECT"]);
    let offsets: Vec<_> = lines
        .iter()
        .map(|l| l["offset"].as_u64().unwrap())
        .collect();
    assert_eq!(offsets, [0, 31, 70, 72]);
    assert!(lines.iter().all(|l| l["protocol"] == "5.0"));
}

#[test]
fn protocol_auto_learns_the_level_from_connect() {
    // Read at 5.0, the 3.1.1 PUBLISH would have a property length taken from its payload.
    let out = decode(&[CONNECT_311, PUBLISH_311_QOS1_RETAIN]);
    assert!(out.status.success(), "{}", stderr(&out));
    let packets = json_lines(&out);
    assert_eq!(packets.len(), 2);
    assert_eq!(packets[1]["protocol"], "3.1.1");
    assert_eq!(packets[1]["topic"], "vt/m311/retained");
    assert_eq!(packets[1].get("properties"), None);

    // Without the CONNECT the default is 5.0, and the error says what to do.
    let out = decode(&[PUBLISH_311_QOS1_RETAIN]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(err.starts_with("tern: error: "), "{err}");
    assert!(err.contains("hint: no CONNECT came first"), "{err}");
    assert!(err.contains("--protocol 3.1.1"), "{err}");

    // A 5.0 CONNECT switches back.
    let out = decode(&[CONNECT_311, CONNECT_5, PUBLISH_5_SUB_ID]);
    assert!(out.status.success(), "{}", stderr(&out));
    let lines = json_lines(&out);
    assert_eq!(lines[2]["protocol"], "5.0");
    assert_eq!(lines[2]["properties"][0]["value"], 42);
}

#[test]
fn an_explicit_protocol_is_kept() {
    let out = decode(&["--protocol", "3.1.1", CONNECT_5, "e000"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let lines = json_lines(&out);
    assert_eq!(lines[0]["protocol"], "5.0", "a CONNECT shows its own level");
    assert_eq!(lines[1]["protocol"], "3.1.1");
    assert_eq!(lines[1].get("reason_code"), None);
    // Protocol levels are accepted as numbers too.
    assert_eq!(one(&["--protocol", "4", "e000"])["protocol"], "3.1.1");
}

#[test]
fn raw_bytes_from_stdin() {
    let mut bytes = hex(CONNECT_311);
    bytes.extend(hex(PUBLISH_311_QOS1_RETAIN));
    let out = run(&["mqtt", "decode", "--raw"], &bytes);
    assert!(out.status.success(), "{}", stderr(&out));
    let lines = json_lines(&out);
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[1]["payload"]["text"], "retained before subscribe");
}

#[test]
fn hex_text_from_stdin() {
    // Wireshark-style colons, upper case, a 0x prefix, and a packet over two lines.
    let input = format!(
        "{}\n0x{}\n20:03\n00:87:00\n",
        CONNECT_311,
        CONNACK_5.to_uppercase()
    );
    let out = run(&["mqtt", "decode", "--protocol", "5.0"], input.as_bytes());
    assert!(out.status.success(), "{}", stderr(&out));
    let lines = json_lines(&out);
    let types: Vec<_> = lines.iter().map(|l| l["type"].as_str().unwrap()).collect();
    assert_eq!(types, ["CONNECT", "CONNACK", "CONNACK"]);
    assert_eq!(lines[2]["reason_code"]["name"], "Not authorized");
}

#[test]
fn qos_3_is_malformed_after_the_packets_before_it() {
    let out = decode(&[CONNECT_311, "c000", "36050003612f62"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        json_lines(&out).len(),
        2,
        "the packets before the error are printed"
    );
    assert_eq!(
        stderr(&out),
        "tern: error: PUBLISH has QoS 3 [MQTT-3.3.1-4] (reason code 0x81 Malformed Packet) \
         at byte offset 28\n"
    );
}

#[test]
fn wildcard_in_a_topic_name() {
    let out = decode(&["--protocol", "3.1.1", "30050003612f2b"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty());
    let err = stderr(&out);
    assert!(err.contains("[MQTT-3.3.2-2]"), "{err}");
    assert!(err.contains("(reason code 0x81 Malformed Packet)"), "{err}");
    assert!(err.contains("at byte offset 0"), "{err}");
}

#[test]
fn incomplete_input() {
    // The CONNECT without its last byte.
    let out = decode(&[&CONNECT_311[..CONNECT_311.len() - 2]]);
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty());
    assert!(
        stderr(&out).starts_with("tern: error: incomplete packet: 1 more byte needed"),
        "{}",
        stderr(&out)
    );

    let out = run(
        &["mqtt", "decode", "--raw"],
        &[0xc0, 0x00, 0x30, 0x0a, 0x00],
    );
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(json_lines(&out).len(), 1);
    assert!(
        stderr(&out).starts_with("tern: error: incomplete packet: 9 more bytes needed"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn max_packet_size() {
    let out = decode(&["--max-packet-size", "20", CONNECT_311]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.contains("packet of 26 bytes exceeds the maximum of 20 bytes"),
        "{err}"
    );
    assert!(err.contains("(reason code 0x95 Packet too large)"), "{err}");
    assert!(
        decode(&["--max-packet-size", "26", CONNECT_311])
            .status
            .success()
    );
}

#[test]
fn usage_errors_exit_with_2() {
    let out = decode(&["c000", "c0g0"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
    assert!(stderr(&out).starts_with("tern: error: HEX argument 2: 'g' at offset 2"));

    let out = decode(&["c00"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("odd number"), "{}", stderr(&out));

    assert_eq!(decode(&["--protocol", "6", "c000"]).status.code(), Some(2));
    assert_eq!(decode(&["--raw", "c000"]).status.code(), Some(2));
}

#[test]
fn help_shows_an_example() {
    let out = decode(&["--help"]);
    assert!(out.status.success());
    let help = String::from_utf8(out.stdout).unwrap();
    assert!(
        help.contains("tern mqtt decode 300d0005612f622f630068656c6c6f"),
        "{help}"
    );
    assert!(help.contains("--protocol <LEVEL>"), "{help}");
    assert!(help.contains("--raw"), "{help}");
    assert!(help.contains("--max-packet-size <BYTES>"), "{help}");

    // The example works as shown.
    let v = one(&["300d0005612f622f630068656c6c6f"]);
    assert_eq!(v["topic"], "a/b/c");
    assert_eq!(v["payload"]["text"], "hello");
}

fn hex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}
