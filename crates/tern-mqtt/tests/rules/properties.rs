//! MQTT 5.0 properties: where each may appear, repeats and values (§2.2.2.2, §3).

use super::*;

/// Where a property block can stand.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ctx {
    Connect,
    Will,
    ConnAck,
    Publish,
    PubAck,
    PubRec,
    PubRel,
    PubComp,
    Subscribe,
    SubAck,
    Unsubscribe,
    UnsubAck,
    Disconnect,
    Auth,
}

const CONTEXTS: &[Ctx] = &[
    Ctx::Connect,
    Ctx::Will,
    Ctx::ConnAck,
    Ctx::Publish,
    Ctx::PubAck,
    Ctx::PubRec,
    Ctx::PubRel,
    Ctx::PubComp,
    Ctx::Subscribe,
    Ctx::SubAck,
    Ctx::Unsubscribe,
    Ctx::UnsubAck,
    Ctx::Disconnect,
    Ctx::Auth,
];

impl Ctx {
    /// The packet type errors name (CONNECT for Will Properties).
    fn packet_type(self) -> PacketType {
        match self {
            Ctx::Connect | Ctx::Will => PacketType::Connect,
            Ctx::ConnAck => PacketType::ConnAck,
            Ctx::Publish => PacketType::Publish,
            Ctx::PubAck => PacketType::PubAck,
            Ctx::PubRec => PacketType::PubRec,
            Ctx::PubRel => PacketType::PubRel,
            Ctx::PubComp => PacketType::PubComp,
            Ctx::Subscribe => PacketType::Subscribe,
            Ctx::SubAck => PacketType::SubAck,
            Ctx::Unsubscribe => PacketType::Unsubscribe,
            Ctx::UnsubAck => PacketType::UnsubAck,
            Ctx::Disconnect => PacketType::Disconnect,
            Ctx::Auth => PacketType::Auth,
        }
    }

    /// A valid 5.0 packet carrying the property bytes `p` in this place.
    fn wire(self, p: &[u8]) -> Vec<u8> {
        let p = props(p);
        match self {
            Ctx::Connect => packet(0x10, &cat(&[&s(b"MQTT"), &[5, 0x02, 0, 60], &p, &s(b"c")])),
            Ctx::Will => packet(
                0x10,
                &cat(&[
                    &s(b"MQTT"),
                    &[5, 0x06, 0, 60, 0],
                    &s(b"c"),
                    &p,
                    &s(b"w/t"),
                    &s(b"m"),
                ]),
            ),
            Ctx::ConnAck => packet(0x20, &cat(&[&[0, 0], &p])),
            Ctx::Publish => packet(0x32, &cat(&[&s(b"a/b"), &[0, 1], &p, b"payload"])),
            Ctx::PubAck => packet(0x40, &cat(&[&[0, 1, 0], &p])),
            Ctx::PubRec => packet(0x50, &cat(&[&[0, 1, 0], &p])),
            Ctx::PubRel => packet(0x62, &cat(&[&[0, 1, 0], &p])),
            Ctx::PubComp => packet(0x70, &cat(&[&[0, 1, 0], &p])),
            Ctx::Subscribe => packet(0x82, &cat(&[&[0, 1], &p, &s(b"a/+"), &[1]])),
            Ctx::SubAck => packet(0x90, &cat(&[&[0, 1], &p, &[1]])),
            Ctx::Unsubscribe => packet(0xa2, &cat(&[&[0, 1], &p, &s(b"a/+")])),
            Ctx::UnsubAck => packet(0xb0, &cat(&[&[0, 1], &p, &[0]])),
            Ctx::Disconnect => packet(0xe0, &cat(&[&[0], &p])),
            Ctx::Auth => packet(0xf0, &cat(&[&[0], &p])),
        }
    }

    /// The properties decoded from this place.
    fn properties(self, packet: &Packet) -> Properties {
        match (self, packet) {
            (Ctx::Connect, Packet::Connect(c)) => c.properties.clone(),
            (Ctx::Will, Packet::Connect(c)) => c.will.as_ref().unwrap().properties.clone(),
            (Ctx::ConnAck, Packet::ConnAck(p)) => p.properties.clone(),
            (Ctx::Publish, Packet::Publish(p)) => p.properties.clone(),
            (Ctx::PubAck, Packet::PubAck(p)) => p.properties.clone(),
            (Ctx::PubRec, Packet::PubRec(p)) => p.properties.clone(),
            (Ctx::PubRel, Packet::PubRel(p)) => p.properties.clone(),
            (Ctx::PubComp, Packet::PubComp(p)) => p.properties.clone(),
            (Ctx::Subscribe, Packet::Subscribe(p)) => p.properties.clone(),
            (Ctx::SubAck, Packet::SubAck(p)) => p.properties.clone(),
            (Ctx::Unsubscribe, Packet::Unsubscribe(p)) => p.properties.clone(),
            (Ctx::UnsubAck, Packet::UnsubAck(p)) => p.properties.clone(),
            (Ctx::Disconnect, Packet::Disconnect(p)) => p.properties.clone(),
            (Ctx::Auth, Packet::Auth(p)) => p.properties.clone(),
            other => panic!("{other:?}"),
        }
    }
}

/// Where each property may appear, transcribed from MQTT 5.0 §2.2.2.2 Table 2-4 (not from the
/// codec's own table).
fn spec_contexts(id: PropertyId) -> &'static [Ctx] {
    use Ctx::*;
    use PropertyId as I;
    match id {
        I::PayloadFormatIndicator
        | I::MessageExpiryInterval
        | I::ContentType
        | I::ResponseTopic
        | I::CorrelationData => &[Publish, Will],
        I::SubscriptionIdentifier => &[Publish, Subscribe],
        I::SessionExpiryInterval => &[Connect, ConnAck, Disconnect],
        I::AssignedClientIdentifier | I::ServerKeepAlive | I::ResponseInformation => &[ConnAck],
        I::AuthenticationMethod | I::AuthenticationData => &[Connect, ConnAck, Auth],
        I::RequestProblemInformation | I::RequestResponseInformation => &[Connect],
        I::WillDelayInterval => &[Will],
        I::ServerReference => &[ConnAck, Disconnect],
        I::ReasonString => &[
            ConnAck, PubAck, PubRec, PubRel, PubComp, SubAck, UnsubAck, Disconnect, Auth,
        ],
        I::ReceiveMaximum | I::TopicAliasMaximum | I::MaximumPacketSize => &[Connect, ConnAck],
        I::TopicAlias => &[Publish],
        I::MaximumQoS
        | I::RetainAvailable
        | I::WildcardSubscriptionAvailable
        | I::SubscriptionIdentifierAvailable
        | I::SharedSubscriptionAvailable => &[ConnAck],
        I::UserProperty => &[
            Connect,
            ConnAck,
            Publish,
            Will,
            PubAck,
            PubRec,
            PubRel,
            PubComp,
            Subscribe,
            SubAck,
            Unsubscribe,
            UnsubAck,
            Disconnect,
            Auth,
        ],
    }
}

/// The identifier and a valid value of each property, with the value's data type taken from
/// MQTT 5.0 §2.2.2.2 (not from the codec).
fn valid_property(id: PropertyId) -> Vec<u8> {
    let value: Vec<u8> = match id as u8 {
        // Byte
        0x01 | 0x17 | 0x19 | 0x24 | 0x25 | 0x28 | 0x29 | 0x2a => vec![1],
        // Two Byte Integer
        0x13 | 0x21 | 0x22 | 0x23 => vec![0, 5],
        // Four Byte Integer
        0x02 | 0x11 | 0x18 | 0x27 => vec![0, 0, 1, 0],
        // Variable Byte Integer
        0x0b => vec![0x80, 0x01],
        // UTF-8 Encoded String (a topic name for Response Topic)
        0x03 | 0x08 | 0x12 | 0x15 | 0x1a | 0x1c | 0x1f => s(b"r/t"),
        // Binary Data
        0x09 | 0x16 => s(&[0, 0xff]),
        // UTF-8 String Pair
        0x26 => cat(&[&s(b"k"), &s(b"v")]),
        other => panic!("unknown property {other:#x}"),
    };
    cat(&[&[id as u8], &value])
}

#[test]
fn every_property_is_accepted_where_the_specification_allows_it() {
    for &id in PropertyId::ALL {
        // Authentication Data is only valid next to an Authentication Method.
        let wire = if id == PropertyId::AuthenticationData {
            cat(&[
                &valid_property(PropertyId::AuthenticationMethod),
                &valid_property(id),
            ])
        } else {
            valid_property(id)
        };
        for &ctx in spec_contexts(id) {
            let packet = decodes(V5, &ctx.wire(&wire));
            let props = ctx.properties(&packet);
            let got: Vec<Property> = props.iter().collect();
            assert_eq!(
                got.last().map(Property::id),
                Some(id),
                "{id:?} in {ctx:?}: {got:?}"
            );
            assert_eq!(props.as_bytes()[..], wire[..]);
        }
    }
}

#[test]
fn properties_outside_their_packet_are_malformed() {
    let mut refused = 0;
    for &id in PropertyId::ALL {
        for &ctx in CONTEXTS.iter().filter(|c| !spec_contexts(id).contains(c)) {
            let want = DecodeError::PropertyNotAllowed {
                property: id,
                packet: ctx.packet_type(),
            };
            rejects(
                V5,
                &ctx.wire(&valid_property(id)),
                want,
                RC_MALFORMED,
                "§2.2.2.2",
            );
            refused += 1;
        }
    }
    // 27 properties in 14 places, 64 of those pairs allowed by Table 2-4.
    let allowed: usize = PropertyId::ALL
        .iter()
        .map(|&id| spec_contexts(id).len())
        .sum();
    assert_eq!(allowed, 64);
    assert_eq!(refused, 27 * 14 - 64);
}

#[test]
fn duplicate_properties_are_a_protocol_error() {
    for &id in PropertyId::ALL {
        for &ctx in spec_contexts(id) {
            let once = valid_property(id);
            let wire = ctx.wire(&cat(&[&once, &once]));
            let repeatable = id == PropertyId::UserProperty
                || (id == PropertyId::SubscriptionIdentifier && ctx == Ctx::Publish);
            if repeatable {
                continue; // see the two tests below
            }
            rejects(
                V5,
                &wire,
                DecodeError::DuplicateProperty(id),
                RC_PROTOCOL,
                "included more than once",
            );
        }
    }
}

#[test]
fn user_property_may_repeat_everywhere_and_keeps_its_order() {
    let pairs: &[(&[u8], &[u8])] = &[(b"b", b"1"), (b"a", b"2"), (b"b", b"3"), (b"b", b"1")];
    let block: Vec<u8> = pairs
        .iter()
        .flat_map(|(k, v)| cat(&[&[0x26], &s(k), &s(v)]))
        .collect();
    for &ctx in spec_contexts(PropertyId::UserProperty) {
        let packet = decodes(V5, &ctx.wire(&block));
        let got: Vec<(String, String)> = ctx
            .properties(&packet)
            .user_properties()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let want: Vec<(String, String)> = pairs
            .iter()
            .map(|(k, v)| {
                (
                    String::from_utf8(k.to_vec()).unwrap(),
                    String::from_utf8(v.to_vec()).unwrap(),
                )
            })
            .collect();
        assert_eq!(got, want, "{ctx:?}");
    }
}

#[test]
fn subscription_identifier_repeats_in_publish_but_not_in_subscribe() {
    // A PUBLISH carries one Subscription Identifier per matching subscription (5.0 §3.3.2.3.8).
    let Packet::Publish(p) = decodes(V5, &publish_v5(b"a", &[0x0b, 1, 0x0b, 0x80, 0x01, 0x0b, 1]))
    else {
        unreachable!()
    };
    assert_eq!(
        p.properties.subscription_identifiers().collect::<Vec<_>>(),
        [1, 128, 1]
    );
    // "It is a Protocol Error to include the Subscription Identifier more than once" (5.0
    // §3.8.2.1.2).
    rejects(
        V5,
        &Ctx::Subscribe.wire(&[0x0b, 1, 0x0b, 2]),
        DecodeError::DuplicateProperty(PropertyId::SubscriptionIdentifier),
        RC_PROTOCOL,
        "included more than once",
    );
}

#[test]
fn property_values_outside_the_specification() {
    use PropertyId as I;
    let bad = |id: I, ctx: Ctx, value: &[u8]| {
        rejects(
            V5,
            &ctx.wire(&cat(&[&[id as u8], value])),
            DecodeError::InvalidPropertyValue(id),
            RC_PROTOCOL,
            "property value",
        );
    };
    // "It is a Protocol Error to include the Receive Maximum value more than once or for it to
    // have the value 0."
    bad(I::ReceiveMaximum, Ctx::Connect, &[0, 0]);
    bad(I::ReceiveMaximum, Ctx::ConnAck, &[0, 0]);
    // "It is a Protocol Error to include the Maximum Packet Size more than once, or for the
    // value to be set to zero."
    bad(I::MaximumPacketSize, Ctx::Connect, &[0, 0, 0, 0]);
    bad(I::MaximumPacketSize, Ctx::ConnAck, &[0, 0, 0, 0]);
    // "A Topic Alias of 0 is not permitted" [MQTT-3.3.2-8]; 0x94 Topic Alias invalid.
    rejects(
        V5,
        &Ctx::Publish.wire(&[I::TopicAlias as u8, 0, 0]),
        DecodeError::InvalidPropertyValue(I::TopicAlias),
        ReasonCode::TopicAliasInvalid,
        "property value",
    );
    // "It is a Protocol Error to include Maximum QoS more than once, or to have a value other
    // than 0 or 1."
    bad(I::MaximumQoS, Ctx::ConnAck, &[2]);
    // "It is a Protocol Error if the Subscription Identifier has a value of 0."
    bad(I::SubscriptionIdentifier, Ctx::Subscribe, &[0]);
    bad(I::SubscriptionIdentifier, Ctx::Publish, &[0]);
    // The Byte properties that are booleans: a value other than 0 or 1 is a Protocol Error.
    for (id, ctx) in [
        (I::PayloadFormatIndicator, Ctx::Publish),
        (I::PayloadFormatIndicator, Ctx::Will),
        (I::RequestProblemInformation, Ctx::Connect),
        (I::RequestResponseInformation, Ctx::Connect),
        (I::RetainAvailable, Ctx::ConnAck),
        (I::WildcardSubscriptionAvailable, Ctx::ConnAck),
        (I::SubscriptionIdentifierAvailable, Ctx::ConnAck),
        (I::SharedSubscriptionAvailable, Ctx::ConnAck),
        (I::MaximumQoS, Ctx::ConnAck),
    ] {
        for v in [2u8, 0x80, 0xff] {
            bad(id, ctx, &[v]);
        }
        for v in [0u8, 1] {
            decodes(V5, &ctx.wire(&[id as u8, v]));
        }
    }
    // The Response Topic is a topic name: no wildcards [MQTT-3.3.2-14], not empty.
    bad(I::ResponseTopic, Ctx::Publish, &s(b"a/+"));
    bad(I::ResponseTopic, Ctx::Will, &s(b"#"));
    bad(I::ResponseTopic, Ctx::Publish, &s(b""));
    // Non-zero boundaries are fine.
    decodes(V5, &Ctx::Connect.wire(&[0x21, 0, 1, 0x27, 0, 0, 0, 1]));
    decodes(
        V5,
        &Ctx::Publish.wire(&[0x23, 0xff, 0xff, 0x0b, 0xff, 0xff, 0xff, 0x7f]),
    );
}

#[test]
fn unknown_property_identifiers_are_malformed() {
    for id in [0x00u8, 0x04, 0x0a, 0x10, 0x14, 0x1b, 0x20, 0x2b, 0x7f] {
        rejects(
            V5,
            &publish_v5(b"a", &[id, 0]),
            DecodeError::UnknownProperty(id),
            RC_MALFORMED,
            "unknown property",
        );
    }
}

#[test]
fn authentication_data_without_method_is_a_protocol_error() {
    // "It is a Protocol Error to include Authentication Data if there is no Authentication
    // Method" (MQTT 5.0 §3.1.2.11.10; the same for CONNACK and AUTH).
    for ctx in [Ctx::Connect, Ctx::ConnAck, Ctx::Auth] {
        rejects(
            V5,
            &ctx.wire(&valid_property(PropertyId::AuthenticationData)),
            DecodeError::AuthenticationDataWithoutMethod,
            RC_PROTOCOL,
            "Authentication Data",
        );
    }
    let props = Properties::from_properties([Property::AuthenticationData("x".into())]).unwrap();
    let auth = tern_mqtt::Auth {
        properties: props,
        ..Default::default()
    };
    let mut buf = BytesMut::new();
    assert_eq!(
        Packet::Auth(auth).encode(V5, MAX_PACKET_SIZE, &mut buf),
        Err(tern_mqtt::EncodeError::InvalidProperty(
            PropertyId::AuthenticationData
        ))
    );
    assert!(buf.is_empty());
}
