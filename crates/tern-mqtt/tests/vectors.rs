//! Real peers' bytes: every MQTT packet of `shared/vectors/mqtt.jsonl` (captured from mosquitto,
//! mosquitto_pub/sub and paho-mqtt, see that folder's README) decodes to the fields that
//! Wireshark's independent dissector read from the same bytes, and re-encodes to the same bytes.
//!
//! Every tshark field of every record must be consumed by a check here: a field nobody looks at
//! is a failure, so a new kind of record cannot pass by being ignored.

use std::collections::{BTreeMap, BTreeSet};

use bytes::{Bytes, BytesMut};
use serde_json::Value;
use tern_mqtt::packet::MAX_PACKET_SIZE;
use tern_mqtt::{
    Codec, Connect, Decoded, Packet, PacketType, Properties, Property, ProtocolVersion, ReasonCode,
};
use tern_testkit::dissection::{Check, parse_flag};
use tern_testkit::{hex, unhex};

/// Vectors whose re-encoding is allowed to differ from the captured bytes, each with the precise
/// reason. Empty: every producer wrote the shortest form of each packet, which is the form the
/// encoder writes. A vector listed here must still differ, so the list cannot go stale.
const REENCODE_DIFFERS: &[(&str, &str)] = &[];

/// The README's count table: (version, packet, count).
const EXPECTED_COUNTS: &[(&str, &str, usize)] = &[
    ("3.1.1", "CONNACK", 3),
    ("3.1.1", "CONNECT", 29),
    ("3.1.1", "DISCONNECT", 3),
    ("3.1.1", "PINGREQ", 1),
    ("3.1.1", "PINGRESP", 1),
    ("3.1.1", "PUBACK", 13),
    ("3.1.1", "PUBCOMP", 12),
    ("3.1.1", "PUBLISH", 47),
    ("3.1.1", "PUBREC", 12),
    ("3.1.1", "PUBREL", 10),
    ("3.1.1", "SUBACK", 7),
    ("3.1.1", "SUBSCRIBE", 9),
    ("3.1.1", "UNSUBACK", 4),
    ("3.1.1", "UNSUBSCRIBE", 4),
    ("5.0", "CONNACK", 4),
    ("5.0", "CONNECT", 33),
    ("5.0", "DISCONNECT", 7),
    ("5.0", "PINGREQ", 2),
    ("5.0", "PINGRESP", 1),
    ("5.0", "PUBACK", 20),
    ("5.0", "PUBCOMP", 12),
    ("5.0", "PUBLISH", 63),
    ("5.0", "PUBREC", 12),
    ("5.0", "PUBREL", 9),
    ("5.0", "SUBACK", 8),
    ("5.0", "SUBSCRIBE", 10),
    ("5.0", "UNSUBACK", 2),
    ("5.0", "UNSUBSCRIBE", 4),
];

const EXPECTED_TOTAL: usize = 342;

/// The vectors file, or `None` when it is missing and the skip was asked for explicitly.
fn load() -> Option<String> {
    tern_testkit::load_vectors("mqtt.jsonl", "the MQTT vector test")
}

#[test]
fn every_vector_matches_tshark_and_reencodes_identically() {
    let Some(text) = load() else { return };
    let mut counts: BTreeMap<(String, &'static str), usize> = BTreeMap::new();
    let mut failures = Vec::new();
    let mut ids = BTreeSet::new();
    let mut reencode_differs_seen = BTreeSet::new();
    for (n, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let rec: Value = serde_json::from_str(line)
            .unwrap_or_else(|e| panic!("mqtt.jsonl:{}: not JSON: {e}", n + 1));
        let id = rec["id"].as_str().unwrap_or("<no id>").to_owned();
        assert!(ids.insert(id.clone()), "duplicate vector id {id}");
        if rec["proto"] != "mqtt" {
            failures.push(format!("{id}: proto is {}, not mqtt", rec["proto"]));
            continue;
        }
        let outcome = check_vector(&rec);
        if let Some(t) = outcome.packet_type {
            let version = rec["mqtt_version"].as_str().unwrap_or("?").to_owned();
            *counts.entry((version, t.name())).or_default() += 1;
        }
        if outcome.reencode_differed {
            reencode_differs_seen.insert(id.clone());
        }
        failures.extend(outcome.errors.into_iter().map(|e| format!("{id}: {e}")));
    }

    for &(id, why) in REENCODE_DIFFERS {
        if !reencode_differs_seen.contains(id) {
            failures.push(format!(
                "{id}: listed in REENCODE_DIFFERS ({why}) but re-encodes identically now"
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} problem(s):\n{}",
        failures.len(),
        failures.join("\n")
    );

    // The count of vectors checked per packet type, so that a parsing slip cannot skip records.
    let expected: BTreeMap<(String, &'static str), usize> = EXPECTED_COUNTS
        .iter()
        .map(|&(v, t, c)| ((v.to_owned(), t), c))
        .collect();
    assert_eq!(
        counts, expected,
        "vectors checked per (version, packet type)"
    );
    assert_eq!(counts.values().sum::<usize>(), EXPECTED_TOTAL);
}

struct Outcome {
    packet_type: Option<PacketType>,
    reencode_differed: bool,
    errors: Vec<String>,
}

fn check_vector(rec: &Value) -> Outcome {
    let mut out = Outcome {
        packet_type: None,
        reencode_differed: false,
        errors: Vec::new(),
    };
    let id = rec["id"].as_str().unwrap_or_default();
    let version = match rec["mqtt_version"].as_str() {
        Some("3.1.1") => ProtocolVersion::V3_1_1,
        Some("5.0") => ProtocolVersion::V5,
        other => {
            out.errors.push(format!("unknown mqtt_version {other:?}"));
            return out;
        }
    };
    let Some(wire) = rec["hex"].as_str().and_then(unhex) else {
        out.errors.push("`hex` is not hex".into());
        return out;
    };
    let dissection = &rec["dissection"];
    let Some(fields) = dissection["fields"].as_object() else {
        out.errors.push("no dissection.fields".into());
        return out;
    };

    let packet = match Packet::decode(version, Bytes::from(wire.clone())) {
        Ok(p) => p,
        Err(e) => {
            out.errors
                .push(format!("does not decode at {version}: {e} ({e:?})"));
            return out;
        }
    };
    out.packet_type = Some(packet.packet_type());

    // The streaming decoder gives the same packet and consumes exactly the packet.
    let mut stream = BytesMut::from(&wire[..]);
    match Codec::new(version)
        .with_max_incoming(MAX_PACKET_SIZE)
        .decode(&mut stream)
    {
        Ok(Decoded::Packet(p)) if p == packet && stream.is_empty() => {}
        other => out.errors.push(format!(
            "Codec::decode disagrees with Packet::decode: {other:?}, {} bytes left",
            stream.len()
        )),
    }

    let mut c = Check::new(Some(fields));
    check_dissection_keys(&mut c, dissection, &packet);
    check_fixed_header(&mut c, &wire, &packet);
    check_summary(&mut c, dissection, &packet);
    match &packet {
        Packet::Connect(p) => check_connect(&mut c, dissection, version, p),
        Packet::ConnAck(p) => {
            c.flag_hex("mqtt.conack.flags", u8::from(p.session_present));
            c.int("mqtt.conack.flags.reserved", 0);
            c.int("mqtt.conack.flags.sp", u64::from(p.session_present));
            if version.is_v5() {
                c.int("mqtt.connack.reason_code", p.reason_code.as_u8().into());
            } else {
                match p.reason_code.to_v3_connack() {
                    Some(v) => c.int("mqtt.conack.val", v.into()),
                    None => c.fail(format!("{:?} has no 3.1.1 return code", p.reason_code)),
                }
            }
            check_properties(&mut c, dissection, "properties", version, &p.properties);
        }
        Packet::Publish(p) => {
            c.int("mqtt.dupflag", u64::from(p.dup));
            c.int("mqtt.qos", u64::from(p.qos.as_u8()));
            c.int("mqtt.retain", u64::from(p.retain));
            c.int("mqtt.topic_len", p.topic.len() as u64);
            if p.topic.is_empty() {
                // tshark fills in the aliased topic it remembers (README quirk): not on the wire.
                c.absent("mqtt.topic");
                if c.field("mqtt.topic_from_alias").is_none() {
                    c.fail("empty topic but tshark shows no topic_from_alias".into());
                }
                if p.properties.topic_alias().is_none() {
                    c.fail("empty topic without a Topic Alias decoded".into());
                }
            } else {
                c.str("mqtt.topic", p.topic.as_str());
                c.absent("mqtt.topic_from_alias");
            }
            match p.packet_id {
                Some(id) => c.int("mqtt.msgid", id.get().into()),
                None => c.absent("mqtt.msgid"),
            }
            // Zero-copy: the payload is the tail of the packet.
            if !wire.ends_with(&p.payload) {
                c.fail("payload is not the tail of the packet".into());
            }
            if fields.contains_key("mqtt.msg") {
                c.hex("mqtt.msg", &p.payload);
            } else if fields.contains_key("mqtt.msg_len") {
                // Over 8 KiB the README gives length and SHA-256 instead of hex. The length is
                // compared; the hash is not recomputed (no hashing dependency for one vector):
                // the payload is the tail of the captured bytes (checked above) and those bytes
                // re-encode identically (checked below), so its content is the captured one.
                c.int("mqtt.msg_len", p.payload.len() as u64);
                c.field("mqtt.msg_sha256");
            } else if !p.payload.is_empty() {
                c.fail(format!(
                    "tshark shows no payload, decoded {} bytes",
                    p.payload.len()
                ));
            }
            check_properties(&mut c, dissection, "properties", version, &p.properties);
        }
        Packet::PubAck(p) => check_ack(
            &mut c,
            dissection,
            version,
            &wire,
            "puback",
            p.packet_id.get(),
            p.reason_code,
            &p.properties,
        ),
        Packet::PubRec(p) => check_ack(
            &mut c,
            dissection,
            version,
            &wire,
            "pubrec",
            p.packet_id.get(),
            p.reason_code,
            &p.properties,
        ),
        Packet::PubRel(p) => check_ack(
            &mut c,
            dissection,
            version,
            &wire,
            "pubrel",
            p.packet_id.get(),
            p.reason_code,
            &p.properties,
        ),
        Packet::PubComp(p) => check_ack(
            &mut c,
            dissection,
            version,
            &wire,
            "pubcomp",
            p.packet_id.get(),
            p.reason_code,
            &p.properties,
        ),
        Packet::Subscribe(p) => {
            c.int("mqtt.msgid", p.packet_id.get().into());
            let filters: Vec<&str> = p.subscriptions.iter().map(|s| s.filter.as_str()).collect();
            c.strs("mqtt.topic", &filters);
            c.ints(
                "mqtt.topic_len",
                &filters.iter().map(|f| f.len() as u64).collect::<Vec<_>>(),
            );
            check_subscriptions(&mut c, dissection, version, p);
            check_properties(&mut c, dissection, "properties", version, &p.properties);
        }
        Packet::SubAck(p) => {
            c.int("mqtt.msgid", p.packet_id.get().into());
            let codes: Vec<u64> = p.reason_codes.iter().map(|r| r.as_u8().into()).collect();
            if version.is_v5() {
                c.ints("mqtt.suback.reason_code", &codes);
            } else {
                c.ints("mqtt.suback.qos", &codes);
            }
            check_properties(&mut c, dissection, "properties", version, &p.properties);
        }
        Packet::Unsubscribe(p) => {
            c.int("mqtt.msgid", p.packet_id.get().into());
            let filters: Vec<&str> = p.filters.iter().map(|f| f.as_str()).collect();
            c.strs("mqtt.topic", &filters);
            c.ints(
                "mqtt.topic_len",
                &filters.iter().map(|f| f.len() as u64).collect::<Vec<_>>(),
            );
            check_properties(&mut c, dissection, "properties", version, &p.properties);
        }
        Packet::UnsubAck(p) => {
            c.int("mqtt.msgid", p.packet_id.get().into());
            if version.is_v5() {
                let codes: Vec<u64> = p.reason_codes.iter().map(|r| r.as_u8().into()).collect();
                c.ints("mqtt.unsuback.reason_code", &codes);
            } else if !p.reason_codes.is_empty() {
                c.fail("3.1.1 UNSUBACK decoded with reason codes".into());
            }
            check_properties(&mut c, dissection, "properties", version, &p.properties);
        }
        Packet::PingReq | Packet::PingResp => {}
        Packet::Disconnect(p) => {
            // 5.0: the reason code is on the wire when the Remaining Length is at least 1.
            if version.is_v5() && remaining_length(&wire) > 0 {
                c.int("mqtt.disconnect.reason_code", p.reason_code.as_u8().into());
            } else {
                c.absent("mqtt.disconnect.reason_code");
                if p.reason_code != ReasonCode::Success {
                    c.fail(format!(
                        "no reason code on the wire, decoded {:?}",
                        p.reason_code
                    ));
                }
            }
            check_properties(&mut c, dissection, "properties", version, &p.properties);
        }
        Packet::Auth(p) => {
            if remaining_length(&wire) > 0 {
                c.int("mqtt.auth.reason_code", p.reason_code.as_u8().into());
            }
            check_properties(&mut c, dissection, "properties", version, &p.properties);
        }
    }
    out.errors.extend(c.finish());

    // Re-encoding gives the captured bytes.
    let mut buf = BytesMut::new();
    if let Err(e) = packet.encode(version, MAX_PACKET_SIZE, &mut buf) {
        out.errors.push(format!("does not re-encode: {e} ({e:?})"));
        return out;
    }
    if packet.encoded_len(version) != buf.len() {
        out.errors.push(format!(
            "encoded_len {} but {} bytes written",
            packet.encoded_len(version),
            buf.len()
        ));
    }
    if buf[..] != wire[..] {
        out.reencode_differed = true;
        if !REENCODE_DIFFERS.iter().any(|&(i, _)| i == id) {
            out.errors.push(describe_difference(&wire, &buf));
        }
    }
    out
}

/// Where and how the re-encoded bytes differ from the captured ones.
fn describe_difference(wire: &[u8], again: &[u8]) -> String {
    let at = wire
        .iter()
        .zip(again)
        .position(|(a, b)| a != b)
        .unwrap_or(wire.len().min(again.len()));
    let window = |b: &[u8]| hex(&b[at.saturating_sub(4)..(at + 8).min(b.len())]);
    format!(
        "re-encoding differs from the capture at byte {at} (captured {} bytes, re-encoded {}): \
         captured ..{}.. vs re-encoded ..{}.. — add it to REENCODE_DIFFERS with the reason if \
         this is a legitimate non-canonical form",
        wire.len(),
        again.len(),
        window(wire),
        window(again)
    )
}

/// Only the dissection keys the README documents, each where it belongs.
fn check_dissection_keys(c: &mut Check<'_>, d: &Value, packet: &Packet) {
    let Some(obj) = d.as_object() else { return };
    for key in obj.keys() {
        let ok = match key.as_str() {
            "tshark" | "summary" | "fields" => true,
            "properties" | "properties_len" => true,
            "will_properties" | "will_properties_len" => matches!(packet, Packet::Connect(_)),
            "subscriptions" => matches!(packet, Packet::Subscribe(_)),
            "expert" => true,
            _ => false,
        };
        if !ok {
            c.fail(format!("unexpected dissection key {key:?}"));
        }
    }
    if let Some(expert) = d.get("expert") {
        // The one expert message seen: a binary password tshark cannot show as text.
        let binary_password = match packet {
            Packet::Connect(p) => p
                .password
                .as_ref()
                .is_some_and(|pw| printable_text(pw).is_none()),
            _ => false,
        };
        let known = expert
            .as_array()
            .is_some_and(|a| a.iter().all(|m| m == "Trailing stray characters"));
        if !(known && binary_password) {
            c.fail(format!("unexplained tshark expert info {expert}"));
        }
    }
}

fn check_fixed_header(c: &mut Check<'_>, wire: &[u8], packet: &Packet) {
    let t = packet.packet_type();
    c.int("mqtt.msgtype", t as u64);
    c.flag_hex("mqtt.hdrflags", wire[0]);
    let ours = ((t as u8) << 4) | packet.flags();
    if wire[0] != ours {
        c.fail(format!(
            "first byte {:#04x} but the decoded packet has {ours:#04x}",
            wire[0]
        ));
    }
    if t == PacketType::Publish {
        c.absent("mqtt.hdr_reserved");
    } else {
        c.int("mqtt.hdr_reserved", u64::from(packet.flags()));
    }
    c.int("mqtt.len", remaining_length(wire) as u64);
}

/// The Remaining Length of one whole packet: what follows the fixed header.
fn remaining_length(wire: &[u8]) -> usize {
    let varint_len = 1 + wire[1..].iter().take_while(|&&b| b & 0x80 != 0).count();
    wire.len() - 1 - varint_len
}

fn check_summary(c: &mut Check<'_>, d: &Value, packet: &Packet) {
    let name = match packet.packet_type() {
        PacketType::Connect => "Connect Command",
        PacketType::ConnAck => "Connect Ack",
        PacketType::Publish => "Publish Message",
        PacketType::PubAck => "Publish Ack",
        PacketType::PubRec => "Publish Received",
        PacketType::PubRel => "Publish Release",
        PacketType::PubComp => "Publish Complete",
        PacketType::Subscribe => "Subscribe Request",
        PacketType::SubAck => "Subscribe Ack",
        PacketType::Unsubscribe => "Unsubscribe Request",
        PacketType::UnsubAck => "Unsubscribe Ack",
        PacketType::PingReq => "Ping Request",
        PacketType::PingResp => "Ping Response",
        PacketType::Disconnect => "Disconnect Req",
        PacketType::Auth => return,
    };
    let want = format!("MQ Telemetry Transport Protocol, {name}");
    if d["summary"] != want.as_str() {
        c.fail(format!("summary {} but decoded {}", d["summary"], want));
    }
}

fn check_connect(c: &mut Check<'_>, d: &Value, version: ProtocolVersion, p: &Connect) {
    if p.protocol != version {
        c.fail(format!(
            "CONNECT at level {} in a {version} connection",
            p.protocol
        ));
    }
    let name = if p.protocol == ProtocolVersion::V3_1 {
        "MQIsdp"
    } else {
        "MQTT"
    };
    c.int("mqtt.proto_len", name.len() as u64);
    c.str("mqtt.protoname", name);
    c.int("mqtt.ver", p.protocol.level().into());
    // The flags byte rebuilt from the decoded fields (not from the encoder).
    let will_qos = p.will.as_ref().map_or(0, |w| w.qos.as_u8());
    let will_retain = p.will.as_ref().is_some_and(|w| w.retain);
    let flags = (u8::from(p.username.is_some()) << 7)
        | (u8::from(p.password.is_some()) << 6)
        | (u8::from(will_retain) << 5)
        | (will_qos << 3)
        | (u8::from(p.will.is_some()) << 2)
        | (u8::from(p.clean_start) << 1);
    c.flag_hex("mqtt.conflags", flags);
    c.int("mqtt.conflag.uname", p.username.is_some().into());
    c.int("mqtt.conflag.passwd", p.password.is_some().into());
    c.int("mqtt.conflag.retain", will_retain.into());
    c.int("mqtt.conflag.qos", will_qos.into());
    c.int("mqtt.conflag.willflag", p.will.is_some().into());
    c.int("mqtt.conflag.cleansess", p.clean_start.into());
    c.int("mqtt.conflag.reserved", 0);
    c.int("mqtt.kalive", p.keep_alive.into());
    c.int("mqtt.clientid_len", p.client_id.len() as u64);
    c.str("mqtt.clientid", p.client_id.as_str());
    match &p.will {
        Some(w) => {
            c.int("mqtt.willtopic_len", w.topic.len() as u64);
            c.str("mqtt.willtopic", w.topic.as_str());
            c.int("mqtt.willmsg_len", w.payload.len() as u64);
            c.hex("mqtt.willmsg", &w.payload);
            check_properties(c, d, "will_properties", version, &w.properties);
        }
        None => {
            for key in ["mqtt.willtopic", "mqtt.willmsg"] {
                c.absent(key);
            }
            if d.get("will_properties").is_some() {
                c.fail("will_properties without a Will".into());
            }
        }
    }
    match &p.username {
        Some(u) => {
            c.int("mqtt.username_len", u.len() as u64);
            c.str("mqtt.username", u.as_str());
        }
        None => c.absent("mqtt.username"),
    }
    match &p.password {
        Some(pw) => {
            c.int("mqtt.passwd_len", pw.len() as u64);
            c.hex("mqtt.passwd_hex", pw);
            // `mqtt.passwd` is tshark's text rendering: exact only for printable text.
            match printable_text(pw) {
                Some(text) => c.str("mqtt.passwd", text),
                None => {
                    c.field("mqtt.passwd");
                }
            }
        }
        None => {
            c.absent("mqtt.passwd_hex");
            c.absent("mqtt.passwd");
        }
    }
    check_properties(c, d, "properties", version, &p.properties);
}

#[allow(clippy::too_many_arguments)]
fn check_ack(
    c: &mut Check<'_>,
    d: &Value,
    version: ProtocolVersion,
    wire: &[u8],
    name: &str,
    packet_id: u16,
    code: ReasonCode,
    properties: &Properties,
) {
    c.int("mqtt.msgid", packet_id.into());
    let key = format!("mqtt.{name}.reason_code");
    // In 5.0 a Remaining Length of 2 means Success without properties (MQTT 5.0 §3.4.2.1).
    if version.is_v5() && remaining_length(wire) > 2 {
        c.int(&key, code.as_u8().into());
    } else {
        c.absent(&key);
        if code != ReasonCode::Success {
            c.fail(format!("no reason code on the wire, decoded {code:?}"));
        }
    }
    check_properties(c, d, "properties", version, properties);
}

fn check_subscriptions(
    c: &mut Check<'_>,
    d: &Value,
    version: ProtocolVersion,
    p: &tern_mqtt::Subscribe,
) {
    let subs = &p.subscriptions;
    let list = d["subscriptions"].as_array().cloned().unwrap_or_default();
    if list.len() != subs.len() {
        c.fail(format!(
            "tshark lists {} subscriptions, decoded {}",
            list.len(),
            subs.len()
        ));
    }
    let qos: Vec<u64> = subs.iter().map(|s| s.options.qos.as_u8().into()).collect();
    if version.is_v5() {
        let o = |f: &dyn Fn(&tern_mqtt::SubscriptionOptions) -> u64| -> Vec<u64> {
            subs.iter().map(|s| f(&s.options)).collect()
        };
        // The options byte rebuilt from the decoded fields (MQTT 5.0 §3.8.3.1).
        let bytes: Vec<u8> = subs
            .iter()
            .map(|s| {
                let o = s.options;
                o.qos.as_u8()
                    | (u8::from(o.no_local) << 2)
                    | (u8::from(o.retain_as_published) << 3)
                    | ((o.retain_handling as u8) << 4)
            })
            .collect();
        c.flag_hexes("mqtt.subscription_options", &bytes);
        c.flag_hexes("mqtt.subscription_options_reserved", &vec![0; subs.len()]);
        c.ints("mqtt.subscription_options_qos", &qos);
        c.ints("mqtt.subscription_options_nl", &o(&|o| o.no_local.into()));
        c.ints(
            "mqtt.subscription_options_rap",
            &o(&|o| o.retain_as_published.into()),
        );
        c.ints(
            "mqtt.subscription_options_retain",
            &o(&|o| o.retain_handling as u64),
        );
        for (i, (s, e)) in subs.iter().zip(&list).enumerate() {
            let o = s.options;
            let want = [
                ("qos", u64::from(o.qos.as_u8())),
                ("no_local", o.no_local.into()),
                ("retain_as_published", o.retain_as_published.into()),
                ("retain_handling", o.retain_handling as u64),
                ("reserved", 0),
            ];
            for (k, v) in want {
                if e[k].as_u64() != Some(v) {
                    c.fail(format!(
                        "subscription {i} {k}: tshark {}, decoded {v}",
                        e[k]
                    ));
                }
            }
            if e["options"].as_str().and_then(parse_flag) != Some(bytes[i]) {
                c.fail(format!("subscription {i} options: tshark {}", e["options"]));
            }
            if e["topic"] != s.filter.as_str() {
                c.fail(format!("subscription {i} topic: tshark {}", e["topic"]));
            }
        }
    } else {
        c.ints("mqtt.sub.qos", &qos);
        for (i, (s, e)) in subs.iter().zip(&list).enumerate() {
            if e["topic"] != s.filter.as_str() || e["qos"].as_u64() != Some(qos[i]) {
                c.fail(format!("subscription {i}: tshark {e}, decoded {s:?}"));
            }
        }
    }
}

/// Compares a decoded property block with tshark's list (`key`) and length (`{key}_len`).
fn check_properties(
    c: &mut Check<'_>,
    d: &Value,
    key: &str,
    version: ProtocolVersion,
    props: &Properties,
) {
    let Some(list) = d.get(key) else {
        // 3.1.1 has no properties; a 5.0 acknowledgement or DISCONNECT in its short form
        // carries none either.
        if !props.is_empty() {
            c.fail(format!("tshark shows no {key}, decoded {props:?}"));
        }
        return;
    };
    if !version.is_v5() {
        c.fail(format!("{key} in a 3.1.1 packet"));
    }
    let len_key = format!("{key}_len");
    if d[&len_key].as_u64() != Some(props.as_bytes().len() as u64) {
        c.fail(format!(
            "{len_key}: tshark {}, decoded {}",
            d[&len_key],
            props.as_bytes().len()
        ));
    }
    let list = list.as_array().cloned().unwrap_or_default();
    let decoded: Vec<Property> = props.iter().collect();
    if decoded.len() != list.len() {
        c.fail(format!(
            "{key}: tshark lists {}, decoded {} ({decoded:?})",
            list.len(),
            decoded.len()
        ));
    }
    for (i, (p, e)) in decoded.iter().zip(&list).enumerate() {
        if let Err(why) = property_matches(p, e) {
            c.fail(format!("{key}[{i}]: {why}: tshark {e}, decoded {p:?}"));
        }
    }
}

/// One decoded property against one tshark entry `{id, name, value | key+value | value_hex}`.
fn property_matches(p: &Property, e: &Value) -> Result<(), String> {
    use Property as P;
    let id = p.id();
    if e["id"].as_u64() != Some(u64::from(id as u8)) {
        return Err("identifier".into());
    }
    // tshark's names are the specification's except for 0x02 (README).
    let tshark_name = match id {
        tern_mqtt::PropertyId::MessageExpiryInterval => "Publication Expiry Interval",
        other => other.name(),
    };
    if e["name"] != tshark_name {
        return Err("name".into());
    }
    let number = |v: u64| {
        if e["value"].as_u64() == Some(v) {
            Ok(())
        } else {
            Err("value".to_owned())
        }
    };
    // Content Type: tshark's raw field value covers the length prefix too (README quirk), but
    // the `value` it shows is the string itself, which is what is compared.
    let text = |s: &str| {
        if e["value"] == s {
            Ok(())
        } else {
            Err("value".to_owned())
        }
    };
    // Correlation and Authentication Data: tshark shows them as text; `value_hex` is exact.
    let binary = |b: &[u8]| {
        if e["value_hex"] == hex(b).as_str() {
            Ok(())
        } else {
            Err("value_hex".to_owned())
        }
    };
    match p {
        P::PayloadFormatIndicator(v)
        | P::RequestProblemInformation(v)
        | P::RequestResponseInformation(v)
        | P::MaximumQoS(v)
        | P::RetainAvailable(v)
        | P::WildcardSubscriptionAvailable(v)
        | P::SubscriptionIdentifierAvailable(v)
        | P::SharedSubscriptionAvailable(v) => number((*v).into()),
        P::ServerKeepAlive(v)
        | P::ReceiveMaximum(v)
        | P::TopicAliasMaximum(v)
        | P::TopicAlias(v) => number((*v).into()),
        P::MessageExpiryInterval(v)
        | P::SubscriptionIdentifier(v)
        | P::SessionExpiryInterval(v)
        | P::WillDelayInterval(v)
        | P::MaximumPacketSize(v) => number((*v).into()),
        P::ContentType(s)
        | P::AssignedClientIdentifier(s)
        | P::AuthenticationMethod(s)
        | P::ResponseInformation(s)
        | P::ServerReference(s)
        | P::ReasonString(s) => text(s.as_str()),
        P::ResponseTopic(t) => text(t.as_str()),
        P::CorrelationData(b) | P::AuthenticationData(b) => binary(b),
        P::UserProperty(k, v) => {
            if e["key"] == k.as_str() && e["value"] == v.as_str() {
                Ok(())
            } else {
                Err("key/value".into())
            }
        }
    }
}

/// `bytes` as text when tshark would show it verbatim (UTF-8, no control characters).
fn printable_text(bytes: &[u8]) -> Option<&str> {
    std::str::from_utf8(bytes)
        .ok()
        .filter(|s| !s.chars().any(char::is_control))
}

#[test]
fn the_vector_helpers_read_what_they_should() {
    assert_eq!(unhex("00ff7a"), Some(vec![0, 0xff, 0x7a]));
    assert_eq!(unhex("0"), None);
    assert_eq!(unhex("zz"), None);
    assert_eq!(hex(&[0, 0xff, 0x7a]), "00ff7a");
    assert_eq!(printable_text(b"s3cret"), Some("s3cret"));
    assert_eq!(printable_text(b"\0binary\xff"), None);
}
