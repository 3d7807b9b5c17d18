//! Encode side: each `EncodeError` for the input that should produce it, with the
//! caller's buffer untouched.

use super::*;

fn publish(topic: &str) -> Publish {
    Publish::new(TopicName::new(topic).unwrap(), "payload")
}

fn mqtt_str(s: &str) -> MqttString {
    MqttString::new(s).unwrap()
}

#[test]
fn encode_packet_too_large() {
    // "a" topic and a 7-byte payload: 1 + 1 + (2 + 1 + 7) = 12 bytes.
    let p = publish("a");
    assert_eq!(Packet::from(p.clone()).encoded_len(V3), 12);
    encode_fails(
        V3,
        p.clone(),
        11,
        EncodeError::PacketTooLarge { size: 12, max: 11 },
    );
    let mut buf = BytesMut::new();
    Packet::from(p).encode(V3, 12, &mut buf).unwrap();
    assert_eq!(buf.len(), 12);
}

#[test]
fn encode_remaining_length_too_large() {
    // The largest Remaining Length is 268,435,455. The payload is zeroed memory that is never
    // written: encoding fails before copying it.
    let big = bytes::Bytes::from(vec![0u8; 268_435_453]);
    let mut p = Publish::new(TopicName::new("a").unwrap(), big.clone()); // body 268,435,456
    encode_fails(
        V3,
        p.clone(),
        MAX_PACKET_SIZE,
        EncodeError::RemainingLengthTooLarge,
    );
    // One byte less fits MQTT; a smaller limit then refuses it by size.
    p.payload = big.slice(1..);
    encode_fails(
        V3,
        p,
        1024,
        EncodeError::PacketTooLarge {
            size: MAX_PACKET_SIZE,
            max: 1024,
        },
    );
}

#[test]
fn encode_field_too_long() {
    let long = bytes::Bytes::from(vec![b'x'; 65_536]);
    let mut c = Connect::new(V5, mqtt_str("c"));
    c.will = Some(Will::new(TopicName::new("w").unwrap(), long.clone()));
    encode_fails(
        V5,
        c,
        MAX_PACKET_SIZE,
        EncodeError::FieldTooLong { len: 65_536 },
    );
    let mut c = Connect::new(V5, mqtt_str("c"));
    c.password = Some(long.clone());
    encode_fails(
        V5,
        c.clone(),
        MAX_PACKET_SIZE,
        EncodeError::FieldTooLong { len: 65_536 },
    );
    c.password = Some(long.slice(1..));
    encodes(V5, c);
    // A property value too long for its two-byte length.
    assert_eq!(
        Properties::from_properties([Property::CorrelationData(long)]),
        Err(EncodeError::FieldTooLong { len: 65_536 })
    );
}

#[test]
fn encode_auth_before_5_0() {
    for version in [V3, ProtocolVersion::V3_1] {
        encode_fails(
            version,
            Auth::default(),
            MAX_PACKET_SIZE,
            EncodeError::PacketNotInVersion(PacketType::Auth),
        );
    }
    encodes(V5, Auth::default());
}

#[test]
fn encode_5_0_fields_in_3_1_1() {
    let user = Properties::builder()
        .user_property("k", "v")
        .unwrap()
        .build()
        .unwrap();
    let mut cases: Vec<Packet> = Vec::new();
    let mut p = publish("a");
    p.properties = user.clone();
    cases.push(p.into());
    let mut c = Connect::new(V3, mqtt_str("c"));
    c.properties = user.clone();
    cases.push(c.into());
    let mut c = Connect::new(V3, mqtt_str("c"));
    let mut w = Will::new(TopicName::new("w").unwrap(), "m");
    w.properties = user.clone();
    c.will = Some(w);
    cases.push(c.into());
    let mut c = Connect::new(V3, mqtt_str("c"));
    c.password = Some("pw".into());
    cases.push(c.into());
    let mut a = PubAck::new(pid(1));
    a.reason_code = ReasonCode::NoMatchingSubscribers;
    cases.push(a.into());
    let mut a = PubRec::new(pid(1));
    a.properties = user.clone();
    cases.push(a.into());
    let mut a = ConnAck::new(false);
    a.properties = user.clone();
    cases.push(a.into());
    let mut sub = Subscribe::new(
        pid(1),
        vec![Subscription::new(
            TopicFilter::new("a").unwrap(),
            QoS::AtMostOnce,
        )],
    );
    sub.subscriptions[0].options.no_local = true;
    cases.push(sub.clone().into());
    sub.subscriptions[0].options = SubscriptionOptions {
        retain_handling: RetainHandling::DoNotSend,
        ..SubscriptionOptions::default()
    };
    cases.push(sub.clone().into());
    sub.subscriptions[0].options = SubscriptionOptions::default();
    sub.properties = user.clone();
    cases.push(sub.into());
    cases.push(
        UnsubAck {
            packet_id: pid(1),
            properties: Properties::new(),
            reason_codes: vec![ReasonCode::Success],
        }
        .into(),
    );
    cases.push(Disconnect::with_reason(ReasonCode::ServerBusy).into());
    for packet in cases {
        let mut buf = BytesMut::from(&b"keep"[..]);
        let e = packet.encode(V3, MAX_PACKET_SIZE, &mut buf).unwrap_err();
        assert!(
            matches!(e, EncodeError::NotInVersion(_)),
            "{packet:?}: {e:?}"
        );
        assert!(e.to_string().contains("3.1.1"), "{e}");
        assert_eq!(&buf[..], b"keep");
        // The same packet is fine in 5.0 (a CONNECT carries its own level).
        if let Packet::Connect(mut c) = packet {
            c.protocol = V5;
            encodes(V5, *c);
        } else {
            encodes(V5, packet);
        }
    }
}

#[test]
fn encode_property_in_the_wrong_packet() {
    let expiry = Properties::from_properties([Property::SessionExpiryInterval(5)]).unwrap();
    let mut p = publish("a");
    p.properties = expiry.clone();
    encode_fails(
        V5,
        p,
        MAX_PACKET_SIZE,
        EncodeError::PropertyNotAllowed {
            property: PropertyId::SessionExpiryInterval,
            packet: PacketType::Publish,
        },
    );
    let alias = Properties::from_properties([Property::TopicAlias(1)]).unwrap();
    let mut c = Connect::new(V5, mqtt_str("c"));
    c.properties = alias.clone();
    encode_fails(
        V5,
        c,
        MAX_PACKET_SIZE,
        EncodeError::PropertyNotAllowed {
            property: PropertyId::TopicAlias,
            packet: PacketType::Connect,
        },
    );
    let mut c = Connect::new(V5, mqtt_str("c"));
    let mut w = Will::new(TopicName::new("w").unwrap(), "m");
    w.properties = expiry;
    c.will = Some(w);
    encode_fails(
        V5,
        c,
        MAX_PACKET_SIZE,
        EncodeError::PropertyNotAllowed {
            property: PropertyId::SessionExpiryInterval,
            packet: PacketType::Connect,
        },
    );
    let mut d = Disconnect::new();
    d.properties = alias;
    encode_fails(
        V5,
        d,
        MAX_PACKET_SIZE,
        EncodeError::PropertyNotAllowed {
            property: PropertyId::TopicAlias,
            packet: PacketType::Disconnect,
        },
    );
}

#[test]
fn encode_reason_code_not_allowed() {
    let mut a = PubAck::new(pid(1));
    a.reason_code = ReasonCode::PacketIdentifierNotFound;
    encode_fails(
        V5,
        a,
        MAX_PACKET_SIZE,
        EncodeError::ReasonCodeNotAllowed {
            packet: PacketType::PubAck,
            code: ReasonCode::PacketIdentifierNotFound,
        },
    );
    let mut c = PubComp::new(pid(1));
    c.reason_code = ReasonCode::UnspecifiedError;
    encode_fails(
        V5,
        c,
        MAX_PACKET_SIZE,
        EncodeError::ReasonCodeNotAllowed {
            packet: PacketType::PubComp,
            code: ReasonCode::UnspecifiedError,
        },
    );
    let mut r = PubRel::new(pid(1));
    r.reason_code = ReasonCode::NoMatchingSubscribers;
    encode_fails(
        V5,
        r,
        MAX_PACKET_SIZE,
        EncodeError::ReasonCodeNotAllowed {
            packet: PacketType::PubRel,
            code: ReasonCode::NoMatchingSubscribers,
        },
    );
    // 3.1.1 CONNACK has return codes 0–5 only.
    let mut a = ConnAck::new(false);
    a.reason_code = ReasonCode::Banned;
    encode_fails(
        V3,
        a.clone(),
        MAX_PACKET_SIZE,
        EncodeError::ReasonCodeNotAllowed {
            packet: PacketType::ConnAck,
            code: ReasonCode::Banned,
        },
    );
    encodes(V5, a);
    let suback = SubAck {
        packet_id: pid(1),
        properties: Properties::new(),
        reason_codes: vec![ReasonCode::Success, ReasonCode::QuotaExceeded],
    };
    encode_fails(
        V3,
        suback.clone(),
        MAX_PACKET_SIZE,
        EncodeError::ReasonCodeNotAllowed {
            packet: PacketType::SubAck,
            code: ReasonCode::QuotaExceeded,
        },
    );
    encodes(V5, suback);
    encode_fails(
        V5,
        Disconnect::with_reason(ReasonCode::GrantedQoS1),
        MAX_PACKET_SIZE,
        EncodeError::ReasonCodeNotAllowed {
            packet: PacketType::Disconnect,
            code: ReasonCode::GrantedQoS1,
        },
    );
    encode_fails(
        V5,
        Auth {
            reason_code: ReasonCode::UnspecifiedError,
            properties: Properties::new(),
        },
        MAX_PACKET_SIZE,
        EncodeError::ReasonCodeNotAllowed {
            packet: PacketType::Auth,
            code: ReasonCode::UnspecifiedError,
        },
    );
}

#[test]
fn encode_mqtt_2_2_1_2_packet_id_mismatch() {
    for version in [V3, V5] {
        let mut p = publish("a");
        p.packet_id = Some(pid(1));
        encode_fails(
            version,
            p.clone(),
            MAX_PACKET_SIZE,
            EncodeError::PacketIdMismatch,
        );
        p.qos = QoS::AtLeastOnce;
        encodes(version, p.clone());
        p.packet_id = None;
        encode_fails(
            version,
            p.clone(),
            MAX_PACKET_SIZE,
            EncodeError::PacketIdMismatch,
        );
        p.qos = QoS::ExactlyOnce;
        encode_fails(version, p, MAX_PACKET_SIZE, EncodeError::PacketIdMismatch);
    }
}

#[test]
fn encode_mqtt_3_3_1_2_dup_with_qos_0() {
    let mut p = publish("a");
    p.dup = true;
    encode_fails(V5, p.clone(), MAX_PACKET_SIZE, EncodeError::DupWithQoS0);
    p.qos = QoS::AtLeastOnce;
    p.packet_id = Some(pid(3));
    encodes(V5, p);
}

#[test]
fn encode_empty_topic_without_alias() {
    let mut p = Publish::new(TopicName::alias_only(), "x");
    encode_fails(
        V5,
        p.clone(),
        MAX_PACKET_SIZE,
        EncodeError::EmptyTopicWithoutAlias,
    );
    encode_fails(
        V3,
        p.clone(),
        MAX_PACKET_SIZE,
        EncodeError::EmptyTopicWithoutAlias,
    );
    p.properties = Properties::from_properties([Property::TopicAlias(4)]).unwrap();
    encodes(V5, p);
    // A Will has no Topic Alias.
    let mut c = Connect::new(V5, mqtt_str("c"));
    c.will = Some(Will::new(TopicName::alias_only(), "m"));
    encode_fails(V5, c, MAX_PACKET_SIZE, EncodeError::EmptyTopicWithoutAlias);
}

#[test]
fn encode_subscribe_and_unsubscribe_without_filters() {
    for version in [V3, V5] {
        encode_fails(
            version,
            Subscribe::new(pid(1), vec![]),
            MAX_PACKET_SIZE,
            EncodeError::NoTopicFilters,
        );
        encode_fails(
            version,
            Unsubscribe::new(pid(1), vec![]),
            MAX_PACKET_SIZE,
            EncodeError::NoTopicFilters,
        );
    }
}

#[test]
fn encode_mqtt_3_8_3_4_no_local_on_shared_subscription() {
    let mut sub = Subscription::new(TopicFilter::new("$share/g/a").unwrap(), QoS::AtMostOnce);
    sub.options.no_local = true;
    encode_fails(
        V5,
        Subscribe::new(pid(1), vec![sub.clone()]),
        MAX_PACKET_SIZE,
        EncodeError::NoLocalOnSharedSubscription,
    );
    sub.filter = TopicFilter::new("a").unwrap();
    encodes(V5, Subscribe::new(pid(1), vec![sub]));
}

#[test]
fn encode_invalid_property() {
    use PropertyId as I;
    // Values the specification forbids, and repeats, are refused when the block is built.
    for (p, id) in [
        (Property::ReceiveMaximum(0), I::ReceiveMaximum),
        (Property::MaximumPacketSize(0), I::MaximumPacketSize),
        (Property::TopicAlias(0), I::TopicAlias),
        (Property::MaximumQoS(2), I::MaximumQoS),
        (
            Property::SubscriptionIdentifier(0),
            I::SubscriptionIdentifier,
        ),
        (
            Property::SubscriptionIdentifier(268_435_456),
            I::SubscriptionIdentifier,
        ),
        (
            Property::PayloadFormatIndicator(2),
            I::PayloadFormatIndicator,
        ),
        (Property::RetainAvailable(7), I::RetainAvailable),
    ] {
        assert_eq!(
            Properties::from_properties([p]),
            Err(EncodeError::InvalidProperty(id))
        );
    }
    assert_eq!(
        Properties::from_properties([Property::ServerKeepAlive(1), Property::ServerKeepAlive(2)]),
        Err(EncodeError::InvalidProperty(I::ServerKeepAlive))
    );
    // Subscription Identifier may repeat in a PUBLISH but not in a SUBSCRIBE.
    let two = Properties::from_properties([
        Property::SubscriptionIdentifier(1),
        Property::SubscriptionIdentifier(2),
    ])
    .unwrap();
    let mut sub = Subscribe::new(
        pid(1),
        vec![Subscription::new(
            TopicFilter::new("a").unwrap(),
            QoS::AtMostOnce,
        )],
    );
    sub.properties = two.clone();
    encode_fails(
        V5,
        sub,
        MAX_PACKET_SIZE,
        EncodeError::InvalidProperty(I::SubscriptionIdentifier),
    );
    let mut p = publish("a");
    p.properties = two;
    encodes(V5, p);
}

#[test]
fn encode_session_present_with_an_error_code() {
    let a = ConnAck {
        session_present: true,
        reason_code: ReasonCode::NotAuthorized,
        properties: Properties::new(),
    };
    for version in [V3, V5] {
        encode_fails(
            version,
            a.clone(),
            MAX_PACKET_SIZE,
            EncodeError::SessionPresentOnError,
        );
    }
    encodes(V5, ConnAck::new(true));
}
