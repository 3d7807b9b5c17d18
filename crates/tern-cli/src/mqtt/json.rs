//! MQTT packets as JSON objects: the output format of `tern mqtt decode`.
//!
//! One object per packet. The frame comes first (`type`, `flags` and for PUBLISH `dup`, `qos`,
//! `retain`, then `remaining_length`, `length`, `offset`, `protocol`), then the packet's fields
//! in wire order under snake_case names. Conventions:
//!
//! - a field the packet does not carry is left out (no `packet_id` at QoS 0, no `will`
//!   without a Will, no `reason_code` or `properties` in 3.1.1);
//! - strings are JSON strings, binary data (password, Correlation Data, Authentication Data) is
//!   lowercase hex;
//! - reason codes are `{"value": 135, "name": "Not authorized"}`, named as the packet type
//!   names them (0x00 is "Normal disconnection" in DISCONNECT, "Granted QoS 0" in SUBACK);
//! - `properties` is an array in wire order of `{"id", "name", "value"}`, a User Property's
//!   value being `{"key", "value"}`;
//! - payloads (PUBLISH and Will) are `{"hex", "text", "length"}`, `text` only when the bytes
//!   are UTF-8.

use tern_mqtt::{
    Connect, Packet, PacketId, PacketType, Properties, Property, ProtocolVersion, ReasonCode,
    Subscription,
};

use crate::hex;
use crate::json::{Json, Object, payload};

/// Where a packet sat in the byte stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Frame {
    /// Offset of the packet's first byte in the stream.
    pub(crate) offset: usize,
    /// Bytes of the whole packet, fixed header included.
    pub(crate) length: usize,
    /// The Remaining Length: bytes after the fixed header.
    pub(crate) remaining_length: usize,
}

/// The JSON object for `packet`, decoded at `version` (a CONNECT at its own level) from the
/// bytes described by `frame`.
pub(crate) fn packet(packet: &Packet, version: ProtocolVersion, frame: Frame) -> Json {
    let version = match packet {
        Packet::Connect(c) => c.protocol,
        _ => version,
    };
    let v5 = version.is_v5();
    let packet_type = packet.packet_type();
    let mut o = Object::new();
    o.put("type", packet_type.name());
    o.put("flags", packet.flags());
    if let Packet::Publish(p) = packet {
        o.put("dup", p.dup);
        o.put("qos", p.qos.as_u8());
        o.put("retain", p.retain);
    }
    o.put("remaining_length", frame.remaining_length);
    o.put("length", frame.length);
    o.put("offset", frame.offset);
    o.put("protocol", version.to_string());

    match packet {
        Packet::Connect(c) => {
            o.put(
                "protocol_name",
                if version == ProtocolVersion::V3_1 {
                    "MQIsdp"
                } else {
                    "MQTT"
                },
            );
            o.put("protocol_level", version.level());
            o.put("connect_flags", connect_flags(c));
            o.put("clean_start", c.clean_start);
            o.put("keep_alive", c.keep_alive);
            if v5 {
                o.put("properties", properties(&c.properties));
            }
            o.put("client_id", c.client_id.as_str());
            if let Some(will) = &c.will {
                let mut w = Object::new();
                w.put("qos", will.qos.as_u8());
                w.put("retain", will.retain);
                if v5 {
                    w.put("properties", properties(&will.properties));
                }
                w.put("topic", will.topic.as_str());
                w.put("payload", payload(&will.payload));
                o.put("will", w);
            }
            if let Some(username) = &c.username {
                o.put("username", username.as_str());
            }
            if let Some(password) = &c.password {
                o.put("password", hex::encode(password));
            }
        }
        Packet::ConnAck(c) => {
            o.put("session_present", c.session_present);
            if !v5 {
                // The codec reads 3.1.1 return codes as the 5.0 codes with the same meaning;
                // show what was on the wire as well.
                if let Some(code) = c.reason_code.to_v3_connack() {
                    o.put("return_code", code);
                }
            }
            o.put("reason_code", reason_code(c.reason_code, packet_type));
            if v5 {
                o.put("properties", properties(&c.properties));
            }
        }
        Packet::Publish(p) => {
            o.put("topic", p.topic.as_str());
            if let Some(id) = p.packet_id {
                o.put("packet_id", id.get());
            }
            if v5 {
                o.put("properties", properties(&p.properties));
            }
            o.put("payload", payload(&p.payload));
        }
        Packet::PubAck(a) => ack(
            &mut o,
            v5,
            packet_type,
            a.packet_id,
            a.reason_code,
            &a.properties,
        ),
        Packet::PubRec(a) => ack(
            &mut o,
            v5,
            packet_type,
            a.packet_id,
            a.reason_code,
            &a.properties,
        ),
        Packet::PubRel(a) => ack(
            &mut o,
            v5,
            packet_type,
            a.packet_id,
            a.reason_code,
            &a.properties,
        ),
        Packet::PubComp(a) => ack(
            &mut o,
            v5,
            packet_type,
            a.packet_id,
            a.reason_code,
            &a.properties,
        ),
        Packet::Subscribe(s) => {
            o.put("packet_id", s.packet_id.get());
            if v5 {
                o.put("properties", properties(&s.properties));
            }
            let subs: Vec<Json> = s
                .subscriptions
                .iter()
                .map(|s| subscription(s, v5))
                .collect();
            o.put("subscriptions", subs);
        }
        Packet::SubAck(s) => {
            o.put("packet_id", s.packet_id.get());
            if v5 {
                o.put("properties", properties(&s.properties));
            }
            o.put("reason_codes", reason_codes(&s.reason_codes, packet_type));
        }
        Packet::Unsubscribe(u) => {
            o.put("packet_id", u.packet_id.get());
            if v5 {
                o.put("properties", properties(&u.properties));
            }
            let filters: Json = u.filters.iter().map(|f| Json::from(f.as_str())).collect();
            o.put("filters", filters);
        }
        Packet::UnsubAck(u) => {
            o.put("packet_id", u.packet_id.get());
            if v5 {
                o.put("properties", properties(&u.properties));
                o.put("reason_codes", reason_codes(&u.reason_codes, packet_type));
            }
        }
        Packet::PingReq | Packet::PingResp => {}
        Packet::Disconnect(d) => {
            if v5 {
                o.put("reason_code", reason_code(d.reason_code, packet_type));
                o.put("properties", properties(&d.properties));
            }
        }
        Packet::Auth(a) => {
            o.put("reason_code", reason_code(a.reason_code, packet_type));
            o.put("properties", properties(&a.properties));
        }
    }
    o.into()
}

/// The fields of PUBACK, PUBREC, PUBREL and PUBCOMP; 3.1.1 has only the packet identifier.
fn ack(
    o: &mut Object,
    v5: bool,
    packet_type: PacketType,
    packet_id: PacketId,
    code: ReasonCode,
    props: &Properties,
) {
    o.put("packet_id", packet_id.get());
    if v5 {
        o.put("reason_code", reason_code(code, packet_type));
        o.put("properties", properties(props));
    }
}

/// The CONNECT flags byte, as it was on the wire: the decoder refuses every other layout.
fn connect_flags(c: &Connect) -> u8 {
    let mut flags = 0;
    if c.username.is_some() {
        flags |= 0x80;
    }
    if c.password.is_some() {
        flags |= 0x40;
    }
    if let Some(will) = &c.will {
        flags |= 0x04 | (will.qos.as_u8() << 3);
        if will.retain {
            flags |= 0x20;
        }
    }
    if c.clean_start {
        flags |= 0x02;
    }
    flags
}

fn reason_code(code: ReasonCode, packet_type: PacketType) -> Json {
    Object::new()
        .with("value", code.as_u8())
        .with("name", code.name_in(packet_type))
        .into()
}

fn reason_codes(codes: &[ReasonCode], packet_type: PacketType) -> Json {
    codes.iter().map(|&c| reason_code(c, packet_type)).collect()
}

fn subscription(s: &Subscription, v5: bool) -> Json {
    let mut o = Object::new();
    o.put("filter", s.filter.as_str());
    o.put("options", s.options.to_byte());
    o.put("qos", s.options.qos.as_u8());
    if v5 {
        o.put("no_local", s.options.no_local);
        o.put("retain_as_published", s.options.retain_as_published);
        o.put("retain_handling", s.options.retain_handling as u8);
        // Shared subscriptions are a 5.0 feature; in 3.1.1 "$share/…" is an ordinary filter.
        if let Some(shared) = s.filter.shared() {
            let shared = Object::new()
                .with("group", shared.group)
                .with("filter", shared.filter);
            o.put("shared", shared);
        }
    }
    o.into()
}

/// The properties in wire order.
pub(crate) fn properties(props: &Properties) -> Json {
    props.iter().map(|p| property(&p)).collect()
}

fn property(p: &Property) -> Json {
    use Property as P;
    let value: Json = match p {
        P::PayloadFormatIndicator(v)
        | P::RequestProblemInformation(v)
        | P::RequestResponseInformation(v)
        | P::MaximumQoS(v)
        | P::RetainAvailable(v)
        | P::WildcardSubscriptionAvailable(v)
        | P::SubscriptionIdentifierAvailable(v)
        | P::SharedSubscriptionAvailable(v) => (*v).into(),
        P::ServerKeepAlive(v)
        | P::ReceiveMaximum(v)
        | P::TopicAliasMaximum(v)
        | P::TopicAlias(v) => (*v).into(),
        P::MessageExpiryInterval(v)
        | P::SubscriptionIdentifier(v)
        | P::SessionExpiryInterval(v)
        | P::WillDelayInterval(v)
        | P::MaximumPacketSize(v) => (*v).into(),
        P::ContentType(s)
        | P::AssignedClientIdentifier(s)
        | P::AuthenticationMethod(s)
        | P::ResponseInformation(s)
        | P::ServerReference(s)
        | P::ReasonString(s) => s.as_str().into(),
        P::ResponseTopic(t) => t.as_str().into(),
        P::CorrelationData(b) | P::AuthenticationData(b) => hex::encode(b).into(),
        P::UserProperty(k, v) => Object::new()
            .with("key", k.as_str())
            .with("value", v.as_str())
            .into(),
    };
    let id = p.id();
    Object::new()
        .with("id", id as u8)
        .with("name", id.name())
        .with("value", value)
        .into()
}

#[cfg(test)]
mod tests {
    use bytes::{Bytes, BytesMut};
    use serde_json::{Value, json};
    use tern_mqtt::{
        Auth, Codec, ConnAck, Connect, Disconnect, MqttString, PacketId, Properties, Property,
        ProtocolVersion, PubAck, PubComp, PubRec, PubRel, Publish, QoS, ReasonCode, RetainHandling,
        SubAck, Subscribe, Subscription, SubscriptionOptions, TopicFilter, TopicName, UnsubAck,
        Unsubscribe, Will,
    };

    use super::*;

    use ProtocolVersion::{V3_1, V3_1_1, V5};

    /// Encodes `packet` at `version` and maps it with the frame of its bytes, so that the
    /// frame fields are checked against what the codec writes.
    fn to_json(packet: impl Into<Packet>, version: ProtocolVersion) -> Value {
        let packet = packet.into();
        let mut buf = BytesMut::new();
        Codec::new(version).encode(&packet, &mut buf).unwrap();
        let header_len = 1 + buf[1..].iter().position(|b| b & 0x80 == 0).unwrap() + 1;
        let frame = Frame {
            offset: 7,
            length: buf.len(),
            remaining_length: buf.len() - header_len,
        };
        let decoded = Packet::decode(version, buf.freeze()).unwrap();
        assert_eq!(decoded, packet, "the packet must survive the wire");
        super::packet(&packet, version, frame).to_value()
    }

    fn s(text: &str) -> MqttString {
        MqttString::new(text).unwrap()
    }

    fn id(n: u16) -> PacketId {
        PacketId::new(n).unwrap()
    }

    fn props(list: Vec<Property>) -> Properties {
        Properties::from_properties(list).unwrap()
    }

    fn user(k: &str, v: &str) -> Property {
        Property::UserProperty(s(k), s(v))
    }

    #[test]
    fn connect_5_with_will_and_credentials() {
        let mut c = Connect::new(V5, s("dev-1"));
        c.keep_alive = 30;
        c.clean_start = false;
        c.properties = props(vec![Property::SessionExpiryInterval(3600), user("a", "b")]);
        let mut will = Will::new(TopicName::new("dev/1/status").unwrap(), "offline");
        will.qos = QoS::AtLeastOnce;
        will.retain = true;
        will.properties = props(vec![Property::WillDelayInterval(5)]);
        c.will = Some(will);
        c.username = Some(s("user"));
        c.password = Some(Bytes::from_static(&[0x00, 0xff]));
        let v = to_json(c, V5);
        assert_eq!(
            v,
            json!({
                "type": "CONNECT", "flags": 0, "remaining_length": 69, "length": 71,
                "offset": 7, "protocol": "5.0",
                "protocol_name": "MQTT", "protocol_level": 5,
                "connect_flags": 0x80 | 0x40 | 0x20 | 0x08 | 0x04,
                "clean_start": false, "keep_alive": 30,
                "properties": [
                    {"id": 0x11, "name": "Session Expiry Interval", "value": 3600},
                    {"id": 0x26, "name": "User Property", "value": {"key": "a", "value": "b"}},
                ],
                "client_id": "dev-1",
                "will": {
                    "qos": 1, "retain": true,
                    "properties": [{"id": 0x18, "name": "Will Delay Interval", "value": 5}],
                    "topic": "dev/1/status",
                    "payload": {"hex": "6f66666c696e65", "text": "offline", "length": 7},
                },
                "username": "user",
                "password": "00ff",
            })
        );
    }

    #[test]
    fn connect_311_and_31_have_no_properties() {
        let v = to_json(Connect::new(V3_1_1, s("c")), V3_1_1);
        assert_eq!(v["protocol"], "3.1.1");
        assert_eq!(v["protocol_level"], 4);
        assert_eq!(v["connect_flags"], 2);
        assert_eq!(v.get("properties"), None);
        assert_eq!(v.get("will"), None);
        assert_eq!(v.get("username"), None);

        // A CONNECT is shown at its own level whatever level the stream was at.
        let c = Connect::new(V3_1, s("old"));
        let v = to_json(c, V5);
        assert_eq!(v["protocol"], "3.1");
        assert_eq!(v["protocol_name"], "MQIsdp");
        assert_eq!(v["protocol_level"], 3);
    }

    #[test]
    fn connack_5_and_311() {
        let mut c = ConnAck::new(false);
        c.reason_code = ReasonCode::NotAuthorized;
        c.properties = props(vec![
            Property::AssignedClientIdentifier(s("auto-1")),
            Property::ReasonString(s("no")),
        ]);
        let v = to_json(c.clone(), V5);
        assert_eq!(v["session_present"], false);
        assert_eq!(
            v["reason_code"],
            json!({"value": 0x87, "name": "Not authorized"})
        );
        assert_eq!(v["properties"][0]["value"], "auto-1");
        assert_eq!(v.get("return_code"), None);

        c.properties = Properties::new();
        let v = to_json(c, V3_1_1);
        assert_eq!(v["return_code"], 5);
        assert_eq!(
            v["reason_code"],
            json!({"value": 0x87, "name": "Not authorized"})
        );
        assert_eq!(v.get("properties"), None);

        let v = to_json(ConnAck::new(true), V3_1_1);
        assert_eq!(v["session_present"], true);
        assert_eq!(v["return_code"], 0);
    }

    #[test]
    fn publish_qos0_has_no_packet_id() {
        let p = Publish::new(TopicName::new("a/b").unwrap(), "hi");
        let v = to_json(p, V3_1_1);
        assert_eq!(
            v,
            json!({
                "type": "PUBLISH", "flags": 0, "dup": false, "qos": 0, "retain": false,
                "remaining_length": 7, "length": 9, "offset": 7, "protocol": "3.1.1",
                "topic": "a/b",
                "payload": {"hex": "6869", "text": "hi", "length": 2},
            })
        );
    }

    #[test]
    fn publish_5_with_flags_properties_and_binary_payload() {
        let mut p = Publish::new(TopicName::alias_only(), Bytes::from_static(&[0xff, 0x00]));
        p.qos = QoS::ExactlyOnce;
        p.dup = true;
        p.retain = true;
        p.packet_id = Some(id(9));
        p.properties = props(vec![
            Property::TopicAlias(3),
            Property::CorrelationData(Bytes::from_static(b"\x01\x02")),
            Property::SubscriptionIdentifier(1),
            Property::SubscriptionIdentifier(200),
            user("k", "v1"),
            user("k", "v2"),
        ]);
        let v = to_json(p, V5);
        assert_eq!(v["flags"], 0b1101);
        assert_eq!(
            (&v["dup"], &v["qos"], &v["retain"]),
            (&json!(true), &json!(2), &json!(true))
        );
        assert_eq!(v["topic"], "");
        assert_eq!(v["packet_id"], 9);
        let names: Vec<_> = v["properties"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["name"].as_str().unwrap())
            .collect();
        assert_eq!(
            names,
            [
                "Topic Alias",
                "Correlation Data",
                "Subscription Identifier",
                "Subscription Identifier",
                "User Property",
                "User Property"
            ]
        );
        assert_eq!(v["properties"][1]["value"], "0102");
        assert_eq!(v["properties"][3]["value"], 200);
        assert_eq!(
            v["properties"][5]["value"],
            json!({"key": "k", "value": "v2"})
        );
        // Not UTF-8: no "text".
        assert_eq!(v["payload"], json!({"hex": "ff00", "length": 2}));
    }

    #[test]
    fn publish_acknowledgements() {
        let with_reason = |code| {
            let mut a = PubAck::new(id(1));
            a.reason_code = code;
            a.properties = props(vec![Property::ReasonString(s("why"))]);
            a
        };
        let v = to_json(with_reason(ReasonCode::NoMatchingSubscribers), V5);
        assert_eq!(v["type"], "PUBACK");
        assert_eq!(v["packet_id"], 1);
        assert_eq!(
            v["reason_code"],
            json!({"value": 0x10, "name": "No matching subscribers"})
        );
        assert_eq!(v["properties"][0]["value"], "why");

        let v = to_json(PubAck::new(id(2)), V3_1_1);
        assert_eq!(v["packet_id"], 2);
        assert_eq!(v.get("reason_code"), None, "3.1.1 has no reason code");
        assert_eq!(v.get("properties"), None);

        let v = to_json(PubRec::new(id(3)), V5);
        assert_eq!(v["type"], "PUBREC");
        assert_eq!(v["reason_code"], json!({"value": 0, "name": "Success"}));
        assert_eq!(v["properties"], json!([]));

        let mut rel = PubRel::new(id(4));
        rel.reason_code = ReasonCode::PacketIdentifierNotFound;
        let v = to_json(rel, V5);
        assert_eq!(v["type"], "PUBREL");
        assert_eq!(v["flags"], 2);
        assert_eq!(v["reason_code"]["name"], "Packet Identifier not found");
        assert_eq!(v["remaining_length"], 3);

        let v = to_json(PubComp::new(id(5)), V3_1_1);
        assert_eq!(v["type"], "PUBCOMP");
        assert_eq!(v["packet_id"], 5);
    }

    #[test]
    fn subscribe_5_options_and_shared_subscriptions() {
        let mut sub = Subscribe::new(
            id(10),
            vec![
                Subscription::new(TopicFilter::new("a/+").unwrap(), QoS::AtLeastOnce),
                Subscription {
                    filter: TopicFilter::new("$share/g/b/#").unwrap(),
                    options: SubscriptionOptions {
                        qos: QoS::ExactlyOnce,
                        no_local: false,
                        retain_as_published: true,
                        retain_handling: RetainHandling::DoNotSend,
                    },
                },
            ],
        );
        sub.properties = props(vec![Property::SubscriptionIdentifier(7)]);
        let v = to_json(sub, V5);
        assert_eq!(v["flags"], 2);
        assert_eq!(v["packet_id"], 10);
        assert_eq!(v["properties"][0]["value"], 7);
        assert_eq!(
            v["subscriptions"],
            json!([
                {"filter": "a/+", "options": 1, "qos": 1, "no_local": false,
                 "retain_as_published": false, "retain_handling": 0},
                {"filter": "$share/g/b/#", "options": 0x2a, "qos": 2, "no_local": false,
                 "retain_as_published": true, "retain_handling": 2,
                 "shared": {"group": "g", "filter": "b/#"}},
            ])
        );
    }

    #[test]
    fn subscribe_311_shows_only_qos() {
        let sub = Subscribe::new(
            id(1),
            vec![Subscription::new(
                TopicFilter::new("$share/g/x").unwrap(),
                QoS::AtMostOnce,
            )],
        );
        let v = to_json(sub, V3_1_1);
        assert_eq!(
            v["subscriptions"],
            json!([{"filter": "$share/g/x", "options": 0, "qos": 0}])
        );
        assert_eq!(v.get("properties"), None);
    }

    #[test]
    fn suback_names_codes_as_suback_does() {
        let ack = SubAck {
            packet_id: id(1),
            properties: Properties::new(),
            reason_codes: vec![
                ReasonCode::Success,
                ReasonCode::GrantedQoS2,
                ReasonCode::UnspecifiedError,
            ],
        };
        let v = to_json(ack.clone(), V3_1_1);
        assert_eq!(
            v["reason_codes"],
            json!([
                {"value": 0, "name": "Granted QoS 0"},
                {"value": 2, "name": "Granted QoS 2"},
                {"value": 0x80, "name": "Unspecified error"},
            ])
        );
        let v = to_json(ack, V5);
        assert_eq!(v["properties"], json!([]));
        assert_eq!(v["reason_codes"][0]["name"], "Granted QoS 0");
    }

    #[test]
    fn unsubscribe_and_unsuback() {
        let unsub = Unsubscribe::new(
            id(3),
            vec![
                TopicFilter::new("a/#").unwrap(),
                TopicFilter::new("b").unwrap(),
            ],
        );
        let v = to_json(unsub.clone(), V5);
        assert_eq!(v["type"], "UNSUBSCRIBE");
        assert_eq!(v["flags"], 2);
        assert_eq!(v["filters"], json!(["a/#", "b"]));
        assert_eq!(v["properties"], json!([]));
        assert_eq!(to_json(unsub, V3_1_1).get("properties"), None);

        let ack = UnsubAck {
            packet_id: id(3),
            properties: props(vec![user("x", "y")]),
            reason_codes: vec![ReasonCode::Success, ReasonCode::NoSubscriptionExisted],
        };
        let v = to_json(ack, V5);
        assert_eq!(
            v["reason_codes"],
            json!([
                {"value": 0, "name": "Success"},
                {"value": 0x11, "name": "No subscription existed"},
            ])
        );
        let ack = UnsubAck {
            packet_id: id(3),
            properties: Properties::new(),
            reason_codes: vec![],
        };
        let v = to_json(ack, V3_1_1);
        assert_eq!(v["packet_id"], 3);
        assert_eq!(v.get("reason_codes"), None);
    }

    #[test]
    fn pings_have_only_the_frame() {
        for (packet, name) in [(Packet::PingReq, "PINGREQ"), (Packet::PingResp, "PINGRESP")] {
            assert_eq!(
                to_json(packet, V5),
                json!({"type": name, "flags": 0, "remaining_length": 0, "length": 2,
                       "offset": 7, "protocol": "5.0"})
            );
        }
    }

    #[test]
    fn disconnect_5_and_311() {
        let v = to_json(Disconnect::new(), V5);
        assert_eq!(
            v["reason_code"],
            json!({"value": 0, "name": "Normal disconnection"})
        );
        assert_eq!(v["remaining_length"], 0);

        let mut d = Disconnect::with_reason(ReasonCode::ServerMoved);
        d.properties = props(vec![Property::ServerReference(s("other:1883"))]);
        let v = to_json(d, V5);
        assert_eq!(
            v["reason_code"],
            json!({"value": 0x9d, "name": "Server moved"})
        );
        assert_eq!(
            v["properties"],
            json!([{"id": 0x1c, "name": "Server Reference", "value": "other:1883"}])
        );

        let v = to_json(Disconnect::new(), V3_1_1);
        assert_eq!(v.get("reason_code"), None);
        assert_eq!(v.get("properties"), None);
    }

    #[test]
    fn auth() {
        let a = Auth {
            reason_code: ReasonCode::ContinueAuthentication,
            properties: props(vec![
                Property::AuthenticationMethod(s("SCRAM-SHA-1")),
                Property::AuthenticationData(Bytes::from_static(b"\xde\xad")),
            ]),
        };
        let v = to_json(a, V5);
        assert_eq!(v["type"], "AUTH");
        assert_eq!(
            v["reason_code"],
            json!({"value": 0x18, "name": "Continue authentication"})
        );
        assert_eq!(v["properties"][0]["value"], "SCRAM-SHA-1");
        assert_eq!(v["properties"][1]["value"], "dead");
    }

    #[test]
    fn every_property_value_by_data_type() {
        use Property as P;
        let all = props(vec![
            P::PayloadFormatIndicator(1),
            P::MessageExpiryInterval(60),
            P::ContentType(s("text/plain")),
            P::ResponseTopic(TopicName::new("r/t").unwrap()),
            P::CorrelationData(Bytes::from_static(b"\xab")),
            P::SubscriptionIdentifier(268_435_455),
            P::SessionExpiryInterval(u32::MAX),
            P::AssignedClientIdentifier(s("cid")),
            P::ServerKeepAlive(10),
            P::AuthenticationMethod(s("m")),
            P::AuthenticationData(Bytes::new()),
            P::RequestProblemInformation(0),
            P::WillDelayInterval(1),
            P::RequestResponseInformation(1),
            P::ResponseInformation(s("ri")),
            P::ServerReference(s("sr")),
            P::ReasonString(s("rs")),
            P::ReceiveMaximum(65535),
            P::TopicAliasMaximum(0),
            P::TopicAlias(1),
            P::MaximumQoS(1),
            P::RetainAvailable(0),
            user("k", "v"),
            P::MaximumPacketSize(1024),
            P::WildcardSubscriptionAvailable(1),
            P::SubscriptionIdentifierAvailable(0),
            P::SharedSubscriptionAvailable(1),
        ]);
        let values = properties(&all).to_value();
        let list = values.as_array().unwrap();
        assert_eq!(list.len(), 27);
        for (entry, id) in list.iter().zip(tern_mqtt::PropertyId::ALL) {
            assert_eq!(entry["id"], *id as u8);
            assert_eq!(entry["name"], id.name());
        }
        let value = |i: usize| &list[i]["value"];
        assert_eq!(value(0), 1);
        assert_eq!(value(1), 60);
        assert_eq!(value(2), "text/plain");
        assert_eq!(value(3), "r/t");
        assert_eq!(value(4), "ab");
        assert_eq!(value(5), 268_435_455);
        assert_eq!(value(6), u32::MAX);
        assert_eq!(value(10), "");
        assert_eq!(value(17), 65535);
        assert_eq!(value(22), &json!({"key": "k", "value": "v"}));
        assert_eq!(value(23), 1024);
    }

    #[test]
    fn keys_keep_their_order_and_strings_are_escaped() {
        let mut p = Publish::new(TopicName::new("q\"/\\/\u{1}/é").unwrap(), "\n");
        p.qos = QoS::AtLeastOnce;
        p.packet_id = Some(id(1));
        let mut buf = BytesMut::new();
        Codec::new(V3_1_1)
            .encode(&Packet::Publish(p.clone()), &mut buf)
            .unwrap();
        let frame = Frame {
            offset: 0,
            length: buf.len(),
            remaining_length: buf.len() - 2,
        };
        let text = packet(&Packet::Publish(p), V3_1_1, frame).to_string();
        assert_eq!(
            text,
            r#"{"type":"PUBLISH","flags":2,"dup":false,"qos":1,"retain":false,"remaining_length":14,"length":16,"offset":0,"protocol":"3.1.1","topic":"q\"/\\/\u0001/é","packet_id":1,"payload":{"hex":"0a","text":"\n","length":1}}"#
        );
        let parsed: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(parsed["topic"], "q\"/\\/\u{1}/é");
    }
}
