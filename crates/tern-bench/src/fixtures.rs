//! The packets every implementation is measured on, built once as tern values, and their
//! translations into each peer's types.
//!
//! The wire bytes of every case are tern's encoding; each peer's encoder is checked to produce
//! the same bytes (see [`crate::cases`]), and each peer's decoder is checked to read back the
//! same fields through a [`Summary`], so that no implementation is timed on an error path or on
//! less work than the others.

use bytes::{Bytes, BytesMut};
use tern_mqtt::{
    Connect, MqttString, Packet, PacketId, Properties, Property, ProtocolVersion, PubAck, PubComp,
    PubRec, PubRel, Publish, QoS, ReasonCode, RetainHandling, SubAck, Subscribe, Subscription,
    SubscriptionOptions, TopicFilter, TopicName, Will,
};

use rumqttc::mqttbytes::v4 as rv4;
use rumqttc::v5::mqttbytes as rv5q;
use rumqttc::v5::mqttbytes::v5 as rv5;

/// The largest packet any decoder in the benchmark is asked to accept (1 MiB).
pub const MAX_PACKET: usize = 1 << 20;

/// A topic of a realistic length for industrial telemetry (43 bytes).
pub const TOPIC: &str = "factory/line-4/press-17/sensors/temperature";

/// Packet identifier used by the single-packet cases.
pub const PACKET_ID: u16 = 4242;

/// Deterministic payload bytes (not all ASCII, so nobody gets to skip anything).
pub fn payload(len: usize, seed: u32) -> Bytes {
    let mut x = seed.wrapping_mul(2_654_435_761).wrapping_add(1);
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x as u8
        })
        .collect::<Vec<u8>>()
        .into()
}

fn pid(id: u16) -> PacketId {
    PacketId::new(id).unwrap_or(PacketId::MIN)
}

fn topic(s: &str) -> TopicName {
    TopicName::new(s).expect("valid fixture topic")
}

fn mstr(s: &str) -> MqttString {
    MqttString::new(s).expect("valid fixture string")
}

/// A PUBLISH to [`TOPIC`] with `len` payload bytes at `qos` (packet id [`PACKET_ID`] unless
/// QoS 0), no properties.
pub fn publish(len: usize, qos: QoS) -> Packet {
    publish_to(TOPIC, len, qos, PACKET_ID, 1)
}

fn publish_to(t: &str, len: usize, qos: QoS, id: u16, seed: u32) -> Packet {
    let mut p = Publish::new(topic(t), payload(len, seed));
    p.qos = qos;
    if qos != QoS::AtMostOnce {
        p.packet_id = Some(pid(id));
    }
    Packet::Publish(p)
}

/// The ten topic filters of the SUBSCRIBE cases: plain, `+` and `#` filters of typical length.
pub const FILTERS: [&str; 10] = [
    "factory/line-4/press-17/sensors/temperature",
    "factory/line-4/press-17/sensors/+",
    "factory/line-4/+/status",
    "factory/+/+/alarms/#",
    "factory/line-4/press-17/commands/#",
    "site/berlin/hall-2/energy/meter-3",
    "site/berlin/+/energy/#",
    "fleet/truck-0815/gps",
    "fleet/+/diagnostics/engine",
    "$SYS/broker/clients/connected",
];

/// A SUBSCRIBE with the ten [`FILTERS`] at mixed QoS; at 5.0 also with No Local, Retain As
/// Published and Retain Handling set on some (3.1.1 has only the QoS bits).
pub fn subscribe(version: ProtocolVersion) -> Packet {
    subscribe_with(version, &FILTERS, PACKET_ID)
}

fn subscribe_with(version: ProtocolVersion, filters: &[&str], id: u16) -> Packet {
    let subs = filters
        .iter()
        .enumerate()
        .map(|(i, f)| {
            let qos = QoS::from_u8((i % 3) as u8).unwrap_or_default();
            let mut options = SubscriptionOptions::qos(qos);
            if version.is_v5() {
                options.no_local = i % 4 == 1;
                options.retain_as_published = i % 3 == 2;
                options.retain_handling = match i % 3 {
                    0 => RetainHandling::SendAtSubscribe,
                    1 => RetainHandling::SendAtSubscribeIfNew,
                    _ => RetainHandling::DoNotSend,
                };
            }
            Subscription {
                filter: TopicFilter::new(f).expect("valid fixture filter"),
                options,
            }
        })
        .collect();
    Packet::Subscribe(Subscribe::new(pid(id), subs))
}

/// A 5.0 CONNECT with Session Expiry Interval, Receive Maximum, Maximum Packet Size, Topic Alias
/// Maximum and two User Properties; a Will with Will Delay Interval, Payload Format Indicator,
/// Message Expiry Interval, Content Type and a User Property; user name and password.
///
/// Properties are in the order rumqttc writes them, so that both encoders produce the same
/// bytes.
pub fn connect_v5() -> Packet {
    let properties = Properties::builder()
        .push(Property::SessionExpiryInterval(3600))
        .push(Property::ReceiveMaximum(128))
        .push(Property::MaximumPacketSize(1 << 20))
        .push(Property::TopicAliasMaximum(16))
        .user_property("region", "eu-central-1")
        .and_then(|b| b.user_property("firmware", "2.4.1+build.77"))
        .expect("valid user properties")
        .build()
        .expect("valid CONNECT properties");
    let will_properties = Properties::builder()
        .push(Property::WillDelayInterval(30))
        .push(Property::PayloadFormatIndicator(1))
        .push(Property::MessageExpiryInterval(600))
        .push(Property::ContentType(mstr("application/json")))
        .user_property("reason", "unexpected-disconnect")
        .expect("valid user property")
        .build()
        .expect("valid Will properties");
    let mut c = Connect::new(ProtocolVersion::V5, mstr("press-17-gateway-0042"));
    c.keep_alive = 30;
    c.clean_start = true;
    c.properties = properties;
    c.will = Some(Will {
        topic: topic("factory/line-4/press-17/status"),
        payload: Bytes::from_static(br#"{"online":false,"reason":"lost"}"#),
        qos: QoS::AtLeastOnce,
        retain: true,
        properties: will_properties,
    });
    c.username = Some(mstr("gateway-0042"));
    c.password = Some(Bytes::from_static(b"s3cr3t-t0k3n-7f9a"));
    Packet::from(c)
}

/// A small deterministic generator (xorshift64*), so the stream is the same on every run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// Topics of the mixed stream (20 to 52 bytes).
const STREAM_TOPICS: [&str; 6] = [
    "factory/line-4/press-17/sensors/temperature",
    "factory/line-4/press-17/status",
    "site/berlin/hall-2/energy/meter-3",
    "fleet/truck-0815/gps",
    "home/kitchen/light",
    "factory/line-1/robot-arm-3/joints/elbow/torque",
];

/// `count` packets as a client/broker conversation carries them: 60 % PUBLISH (payloads of 16 B
/// to 4 KiB, QoS 0/1/2 at 50/35/15 %), 20 % PUBACK, 3 % each PUBREC, PUBREL, PUBCOMP,
/// 2.5 % each PINGREQ, PINGRESP, 3 % SUBSCRIBE (1 to 4 filters) and 3 % SUBACK.
pub fn mixed_stream(version: ProtocolVersion, count: usize) -> Vec<Packet> {
    const SIZES: [usize; 5] = [16, 64, 256, 1024, 4096];
    // Weights (out of 100) of the payload sizes above.
    const SIZE_WEIGHTS: [u64; 5] = [35, 25, 20, 15, 5];
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut next_id: u16 = 0;
    let mut id = || {
        next_id = next_id.wrapping_add(1).max(1);
        next_id
    };
    (0..count)
        .map(|i| {
            let roll = rng.below(1000);
            match roll {
                0..600 => {
                    let mut w = rng.below(100);
                    let mut size = SIZES[0];
                    for (s, &weight) in SIZES.iter().zip(&SIZE_WEIGHTS) {
                        if w < weight {
                            size = *s;
                            break;
                        }
                        w -= weight;
                    }
                    let qos = match rng.below(100) {
                        0..50 => QoS::AtMostOnce,
                        50..85 => QoS::AtLeastOnce,
                        _ => QoS::ExactlyOnce,
                    };
                    let t = STREAM_TOPICS[rng.below(STREAM_TOPICS.len() as u64) as usize];
                    publish_to(t, size, qos, id(), i as u32)
                }
                600..800 => Packet::PubAck(PubAck::new(pid(id()))),
                800..830 => Packet::PubRec(PubRec::new(pid(id()))),
                830..860 => Packet::PubRel(PubRel::new(pid(id()))),
                860..890 => Packet::PubComp(PubComp::new(pid(id()))),
                890..915 => Packet::PingReq,
                915..940 => Packet::PingResp,
                940..970 => {
                    let n = 1 + rng.below(4) as usize;
                    let start = rng.below((FILTERS.len() - n) as u64) as usize;
                    subscribe_with(version, &FILTERS[start..start + n], id())
                }
                _ => {
                    let n = 1 + rng.below(4) as usize;
                    let codes = (0..n)
                        .map(|_| match rng.below(4) {
                            0 => ReasonCode::Success,
                            1 => ReasonCode::GrantedQoS1,
                            2 => ReasonCode::GrantedQoS2,
                            _ => ReasonCode::UnspecifiedError,
                        })
                        .collect();
                    Packet::SubAck(SubAck {
                        packet_id: pid(id()),
                        properties: Properties::new(),
                        reason_codes: codes,
                    })
                }
            }
        })
        .collect()
}

/// tern's encoding of `packets`, concatenated.
pub fn encode_all(version: ProtocolVersion, packets: &[Packet]) -> Vec<u8> {
    let mut buf = BytesMut::new();
    for p in packets {
        p.encode(version, usize::MAX, &mut buf)
            .expect("fixture packets encode");
    }
    buf.to_vec()
}

// ---------------------------------------------------------------------------------------------
// Translations into the peers' types.

fn rv4_qos(q: QoS) -> rumqttc::mqttbytes::QoS {
    match q {
        QoS::AtMostOnce => rumqttc::mqttbytes::QoS::AtMostOnce,
        QoS::AtLeastOnce => rumqttc::mqttbytes::QoS::AtLeastOnce,
        QoS::ExactlyOnce => rumqttc::mqttbytes::QoS::ExactlyOnce,
    }
}

fn rv5_qos(q: QoS) -> rv5q::QoS {
    match q {
        QoS::AtMostOnce => rv5q::QoS::AtMostOnce,
        QoS::AtLeastOnce => rv5q::QoS::AtLeastOnce,
        QoS::ExactlyOnce => rv5q::QoS::ExactlyOnce,
    }
}

fn mqttrs_qos(q: QoS) -> mqttrs::QoS {
    match q {
        QoS::AtMostOnce => mqttrs::QoS::AtMostOnce,
        QoS::AtLeastOnce => mqttrs::QoS::AtLeastOnce,
        QoS::ExactlyOnce => mqttrs::QoS::ExactlyOnce,
    }
}

fn mqttrs_qos_u8(q: mqttrs::QoS) -> u8 {
    match q {
        mqttrs::QoS::AtMostOnce => 0,
        mqttrs::QoS::AtLeastOnce => 1,
        mqttrs::QoS::ExactlyOnce => 2,
    }
}

fn mqttrs_pid(id: PacketId) -> mqttrs::Pid {
    mqttrs::Pid::try_from(id.get()).expect("non-zero packet id")
}

/// The packet as rumqttc's 3.1.1 type. Panics on packets the fixtures do not use.
pub fn to_rumqttc_v4(p: &Packet) -> rv4::Packet {
    match p {
        Packet::Publish(p) => rv4::Packet::Publish(rv4::Publish {
            dup: p.dup,
            qos: rv4_qos(p.qos),
            retain: p.retain,
            topic: p.topic.as_str().to_owned(),
            pkid: p.packet_id.map_or(0, PacketId::get),
            payload: p.payload.clone(),
        }),
        Packet::PubAck(a) => rv4::Packet::PubAck(rv4::PubAck::new(a.packet_id.get())),
        Packet::PubRec(a) => rv4::Packet::PubRec(rv4::PubRec::new(a.packet_id.get())),
        Packet::PubRel(a) => rv4::Packet::PubRel(rv4::PubRel::new(a.packet_id.get())),
        Packet::PubComp(a) => rv4::Packet::PubComp(rv4::PubComp::new(a.packet_id.get())),
        Packet::PingReq => rv4::Packet::PingReq,
        Packet::PingResp => rv4::Packet::PingResp,
        Packet::Subscribe(s) => rv4::Packet::Subscribe(rv4::Subscribe {
            pkid: s.packet_id.get(),
            filters: s
                .subscriptions
                .iter()
                .map(|s| rv4::SubscribeFilter::new(s.filter.to_string(), rv4_qos(s.options.qos)))
                .collect(),
        }),
        Packet::SubAck(a) => rv4::Packet::SubAck(rv4::SubAck::new(
            a.packet_id.get(),
            a.reason_codes
                .iter()
                .map(|c| rv4::SubscribeReasonCode::try_from(c.as_u8()).expect("3.1.1 code"))
                .collect(),
        )),
        other => panic!("no rumqttc 3.1.1 fixture for {:?}", other.packet_type()),
    }
}

fn rv5_suback_code(c: ReasonCode) -> rv5::SubscribeReasonCode {
    match c {
        ReasonCode::Success => rv5::SubscribeReasonCode::Success(rv5q::QoS::AtMostOnce),
        ReasonCode::GrantedQoS1 => rv5::SubscribeReasonCode::Success(rv5q::QoS::AtLeastOnce),
        ReasonCode::GrantedQoS2 => rv5::SubscribeReasonCode::Success(rv5q::QoS::ExactlyOnce),
        ReasonCode::UnspecifiedError => rv5::SubscribeReasonCode::Unspecified,
        other => panic!("no rumqttc SUBACK fixture for {other:?}"),
    }
}

fn user_props(p: &Properties) -> Vec<(String, String)> {
    p.user_properties()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// The packet as rumqttc's 5.0 type. Panics on packets the fixtures do not use.
pub fn to_rumqttc_v5(p: &Packet) -> rv5::Packet {
    match p {
        Packet::Publish(p) => {
            assert!(p.properties.is_empty(), "fixture PUBLISH has no properties");
            rv5::Packet::Publish(rv5::Publish {
                dup: p.dup,
                qos: rv5_qos(p.qos),
                retain: p.retain,
                topic: p.topic.as_mqtt_str().as_bytes().clone(),
                pkid: p.packet_id.map_or(0, PacketId::get),
                payload: p.payload.clone(),
                properties: None,
            })
        }
        Packet::PubAck(a) => rv5::Packet::PubAck(rv5::PubAck::new(a.packet_id.get(), None)),
        Packet::PubRec(a) => rv5::Packet::PubRec(rv5::PubRec::new(a.packet_id.get(), None)),
        Packet::PubRel(a) => rv5::Packet::PubRel(rv5::PubRel::new(a.packet_id.get(), None)),
        Packet::PubComp(a) => rv5::Packet::PubComp(rv5::PubComp::new(a.packet_id.get(), None)),
        Packet::PingReq => rv5::Packet::PingReq(rv5::PingReq),
        Packet::PingResp => rv5::Packet::PingResp(rv5::PingResp),
        Packet::Subscribe(s) => rv5::Packet::Subscribe(rv5::Subscribe {
            pkid: s.packet_id.get(),
            filters: s
                .subscriptions
                .iter()
                .map(|s| rv5::Filter {
                    path: s.filter.to_string(),
                    qos: rv5_qos(s.options.qos),
                    nolocal: s.options.no_local,
                    preserve_retain: s.options.retain_as_published,
                    retain_forward_rule: match s.options.retain_handling {
                        RetainHandling::SendAtSubscribe => rv5::RetainForwardRule::OnEverySubscribe,
                        RetainHandling::SendAtSubscribeIfNew => {
                            rv5::RetainForwardRule::OnNewSubscribe
                        }
                        RetainHandling::DoNotSend => rv5::RetainForwardRule::Never,
                    },
                })
                .collect(),
            properties: None,
        }),
        Packet::SubAck(a) => rv5::Packet::SubAck(rv5::SubAck {
            pkid: a.packet_id.get(),
            return_codes: a.reason_codes.iter().map(|&c| rv5_suback_code(c)).collect(),
            properties: None,
        }),
        Packet::Connect(c) => {
            let p = &c.properties;
            let properties = rv5::ConnectProperties {
                session_expiry_interval: p.session_expiry_interval(),
                receive_maximum: p.receive_maximum(),
                max_packet_size: p.maximum_packet_size(),
                topic_alias_max: p.topic_alias_maximum(),
                request_response_info: p.request_response_information(),
                request_problem_info: p.request_problem_information(),
                user_properties: user_props(p),
                authentication_method: p.authentication_method().map(|s| s.to_string()),
                authentication_data: p.authentication_data(),
            };
            let will = c.will.as_ref().map(|w| {
                let wp = &w.properties;
                rv5::LastWill {
                    topic: w.topic.as_mqtt_str().as_bytes().clone(),
                    message: w.payload.clone(),
                    qos: rv5_qos(w.qos),
                    retain: w.retain,
                    properties: Some(rv5::LastWillProperties {
                        delay_interval: wp.will_delay_interval(),
                        payload_format_indicator: wp.payload_format_indicator(),
                        message_expiry_interval: wp.message_expiry_interval(),
                        content_type: wp.content_type().map(|s| s.to_string()),
                        response_topic: wp.response_topic().map(|s| s.to_string()),
                        correlation_data: wp.correlation_data(),
                        user_properties: user_props(wp),
                    }),
                }
            });
            let login = c.username.as_ref().map(|u| {
                rv5::Login::new(
                    u.to_string(),
                    String::from_utf8(c.password.as_deref().unwrap_or_default().to_vec())
                        .expect("fixture password is text"),
                )
            });
            rv5::Packet::Connect(
                rv5::Connect {
                    keep_alive: c.keep_alive,
                    client_id: c.client_id.to_string(),
                    clean_start: c.clean_start,
                    properties: Some(properties),
                },
                will,
                login,
            )
        }
        other => panic!("no rumqttc 5.0 fixture for {:?}", other.packet_type()),
    }
}

/// The packet as mqttrs's type, borrowing topic and payload from `p`. Panics on packets the
/// fixtures do not use.
pub fn to_mqttrs(p: &Packet) -> mqttrs::Packet<'_> {
    match p {
        Packet::Publish(p) => mqttrs::Packet::Publish(mqttrs::Publish {
            dup: p.dup,
            qospid: match (p.qos, p.packet_id) {
                (QoS::AtLeastOnce, Some(id)) => mqttrs::QosPid::AtLeastOnce(mqttrs_pid(id)),
                (QoS::ExactlyOnce, Some(id)) => mqttrs::QosPid::ExactlyOnce(mqttrs_pid(id)),
                _ => mqttrs::QosPid::AtMostOnce,
            },
            retain: p.retain,
            topic_name: p.topic.as_str(),
            payload: &p.payload,
        }),
        Packet::PubAck(a) => mqttrs::Packet::Puback(mqttrs_pid(a.packet_id)),
        Packet::PubRec(a) => mqttrs::Packet::Pubrec(mqttrs_pid(a.packet_id)),
        Packet::PubRel(a) => mqttrs::Packet::Pubrel(mqttrs_pid(a.packet_id)),
        Packet::PubComp(a) => mqttrs::Packet::Pubcomp(mqttrs_pid(a.packet_id)),
        Packet::PingReq => mqttrs::Packet::Pingreq,
        Packet::PingResp => mqttrs::Packet::Pingresp,
        Packet::Subscribe(s) => mqttrs::Packet::Subscribe(mqttrs::Subscribe::new(
            mqttrs_pid(s.packet_id),
            s.subscriptions
                .iter()
                .map(|s| mqttrs::SubscribeTopic {
                    topic_path: s.filter.to_string(),
                    qos: mqttrs_qos(s.options.qos),
                })
                .collect(),
        )),
        Packet::SubAck(a) => mqttrs::Packet::Suback(mqttrs::Suback::new(
            mqttrs_pid(a.packet_id),
            a.reason_codes
                .iter()
                .map(|c| match c {
                    ReasonCode::Success => {
                        mqttrs::SubscribeReturnCodes::Success(mqttrs::QoS::AtMostOnce)
                    }
                    ReasonCode::GrantedQoS1 => {
                        mqttrs::SubscribeReturnCodes::Success(mqttrs::QoS::AtLeastOnce)
                    }
                    ReasonCode::GrantedQoS2 => {
                        mqttrs::SubscribeReturnCodes::Success(mqttrs::QoS::ExactlyOnce)
                    }
                    _ => mqttrs::SubscribeReturnCodes::Failure,
                })
                .collect(),
        )),
        other => panic!("no mqttrs fixture for {:?}", other.packet_type()),
    }
}

// ---------------------------------------------------------------------------------------------
// Summaries: one normalised line per decoded packet, to check that decoders agree.

/// A normalised description of a decoded packet: type, flags, identifiers, topics, filters,
/// options, codes, properties and a checksum of the payload. Equal summaries mean the decoders
/// extracted the same information.
pub type Summary = String;

fn checksum(b: &[u8]) -> u64 {
    b.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, &x| {
        (h ^ u64::from(x)).wrapping_mul(0x100_0000_01b3)
    })
}

fn publish_summary(
    dup: bool,
    qos: u8,
    retain: bool,
    pkid: u16,
    topic: &[u8],
    payload: &[u8],
) -> Summary {
    format!(
        "PUBLISH dup={dup} qos={qos} retain={retain} pkid={pkid} topic={} payload={}:{:x}",
        String::from_utf8_lossy(topic),
        payload.len(),
        checksum(payload)
    )
}

fn subscribe_summary(pkid: u16, filters: impl Iterator<Item = (String, u8)>) -> Summary {
    let f: Vec<String> = filters.map(|(f, o)| format!("{f}:{o:#04x}")).collect();
    format!("SUBSCRIBE pkid={pkid} filters=[{}]", f.join(","))
}

fn suback_summary(pkid: u16, codes: impl Iterator<Item = u8>) -> Summary {
    let c: Vec<String> = codes.map(|c| format!("{c:#04x}")).collect();
    format!("SUBACK pkid={pkid} codes=[{}]", c.join(","))
}

fn connect_summary(
    client_id: &str,
    keep_alive: u16,
    clean: bool,
    props: [Option<u32>; 4],
    user: &[(String, String)],
    will: Option<String>,
    login: Option<(&str, &[u8])>,
) -> Summary {
    format!(
        "CONNECT id={client_id} keep_alive={keep_alive} clean={clean} \
         session_expiry/receive_max/max_packet/alias_max={props:?} user={user:?} will={will:?} \
         login={:?}",
        login.map(|(u, p)| (u, String::from_utf8_lossy(p)))
    )
}

/// Summary of a tern packet.
pub fn summary_tern(p: &Packet) -> Summary {
    match p {
        Packet::Publish(p) => publish_summary(
            p.dup,
            p.qos.as_u8(),
            p.retain,
            p.packet_id.map_or(0, PacketId::get),
            p.topic.as_bytes(),
            &p.payload,
        ),
        Packet::PubAck(a) => format!("PUBACK pkid={}", a.packet_id),
        Packet::PubRec(a) => format!("PUBREC pkid={}", a.packet_id),
        Packet::PubRel(a) => format!("PUBREL pkid={}", a.packet_id),
        Packet::PubComp(a) => format!("PUBCOMP pkid={}", a.packet_id),
        Packet::PingReq => "PINGREQ".into(),
        Packet::PingResp => "PINGRESP".into(),
        Packet::Subscribe(s) => subscribe_summary(
            s.packet_id.get(),
            s.subscriptions
                .iter()
                .map(|s| (s.filter.to_string(), s.options.to_byte())),
        ),
        Packet::SubAck(a) => {
            suback_summary(a.packet_id.get(), a.reason_codes.iter().map(|c| c.as_u8()))
        }
        Packet::Connect(c) => {
            let p = &c.properties;
            let will = c.will.as_ref().map(|w| {
                let wp = &w.properties;
                format!(
                    "{} {}:{:x} qos={} retain={} delay={:?} format={:?} expiry={:?} type={:?} user={:?}",
                    w.topic,
                    w.payload.len(),
                    checksum(&w.payload),
                    w.qos.as_u8(),
                    w.retain,
                    wp.will_delay_interval(),
                    wp.payload_format_indicator(),
                    wp.message_expiry_interval(),
                    wp.content_type().map(|s| s.to_string()),
                    user_props(wp),
                )
            });
            connect_summary(
                &c.client_id,
                c.keep_alive,
                c.clean_start,
                [
                    p.session_expiry_interval(),
                    p.receive_maximum().map(u32::from),
                    p.maximum_packet_size(),
                    p.topic_alias_maximum().map(u32::from),
                ],
                &user_props(p),
                will,
                c.username
                    .as_ref()
                    .map(|u| (u.as_str(), c.password.as_deref().unwrap_or_default())),
            )
        }
        other => format!("{:?}", other.packet_type()),
    }
}

/// Summary of a rumqttc 3.1.1 packet.
pub fn summary_rumqttc_v4(p: &rv4::Packet) -> Summary {
    match p {
        rv4::Packet::Publish(p) => publish_summary(
            p.dup,
            p.qos as u8,
            p.retain,
            p.pkid,
            p.topic.as_bytes(),
            &p.payload,
        ),
        rv4::Packet::PubAck(a) => format!("PUBACK pkid={}", a.pkid),
        rv4::Packet::PubRec(a) => format!("PUBREC pkid={}", a.pkid),
        rv4::Packet::PubRel(a) => format!("PUBREL pkid={}", a.pkid),
        rv4::Packet::PubComp(a) => format!("PUBCOMP pkid={}", a.pkid),
        rv4::Packet::PingReq => "PINGREQ".into(),
        rv4::Packet::PingResp => "PINGRESP".into(),
        rv4::Packet::Subscribe(s) => subscribe_summary(
            s.pkid,
            s.filters.iter().map(|f| (f.path.clone(), f.qos as u8)),
        ),
        rv4::Packet::SubAck(a) => suback_summary(
            a.pkid,
            a.return_codes.iter().map(|c| match c {
                rv4::SubscribeReasonCode::Success(q) => *q as u8,
                rv4::SubscribeReasonCode::Failure => 0x80,
            }),
        ),
        other => format!("{other:?}"),
    }
}

fn rv5_options(f: &rv5::Filter) -> u8 {
    (f.qos as u8)
        | (u8::from(f.nolocal) << 2)
        | (u8::from(f.preserve_retain) << 3)
        | (match f.retain_forward_rule {
            rv5::RetainForwardRule::OnEverySubscribe => 0,
            rv5::RetainForwardRule::OnNewSubscribe => 1,
            rv5::RetainForwardRule::Never => 2,
        } << 4)
}

/// Summary of a rumqttc 5.0 packet.
pub fn summary_rumqttc_v5(p: &rv5::Packet) -> Summary {
    match p {
        rv5::Packet::Publish(p) => {
            publish_summary(p.dup, p.qos as u8, p.retain, p.pkid, &p.topic, &p.payload)
        }
        rv5::Packet::PubAck(a) => format!("PUBACK pkid={}", a.pkid),
        rv5::Packet::PubRec(a) => format!("PUBREC pkid={}", a.pkid),
        rv5::Packet::PubRel(a) => format!("PUBREL pkid={}", a.pkid),
        rv5::Packet::PubComp(a) => format!("PUBCOMP pkid={}", a.pkid),
        rv5::Packet::PingReq(_) => "PINGREQ".into(),
        rv5::Packet::PingResp(_) => "PINGRESP".into(),
        rv5::Packet::Subscribe(s) => subscribe_summary(
            s.pkid,
            s.filters.iter().map(|f| (f.path.clone(), rv5_options(f))),
        ),
        rv5::Packet::SubAck(a) => suback_summary(
            a.pkid,
            a.return_codes.iter().map(|c| match c {
                rv5::SubscribeReasonCode::Success(q) => *q as u8,
                _ => 0x80,
            }),
        ),
        rv5::Packet::Connect(c, will, login) => {
            let p = c.properties.clone().unwrap_or_default();
            let will = will.as_ref().map(|w| {
                let wp = w.properties.clone().expect("fixture Will has properties");
                format!(
                    "{} {}:{:x} qos={} retain={} delay={:?} format={:?} expiry={:?} type={:?} user={:?}",
                    String::from_utf8_lossy(&w.topic),
                    w.message.len(),
                    checksum(&w.message),
                    w.qos as u8,
                    w.retain,
                    wp.delay_interval,
                    wp.payload_format_indicator,
                    wp.message_expiry_interval,
                    wp.content_type,
                    wp.user_properties,
                )
            });
            connect_summary(
                &c.client_id,
                c.keep_alive,
                c.clean_start,
                [
                    p.session_expiry_interval,
                    p.receive_maximum.map(u32::from),
                    p.max_packet_size,
                    p.topic_alias_max.map(u32::from),
                ],
                &p.user_properties,
                will,
                login
                    .as_ref()
                    .map(|l| (l.username.as_str(), l.password.as_bytes())),
            )
        }
        other => format!("{other:?}"),
    }
}

/// Summary of an mqttrs packet.
pub fn summary_mqttrs(p: &mqttrs::Packet<'_>) -> Summary {
    match p {
        mqttrs::Packet::Publish(p) => publish_summary(
            p.dup,
            mqttrs_qos_u8(p.qospid.qos()),
            p.retain,
            p.qospid.pid().map_or(0, mqttrs::Pid::get),
            p.topic_name.as_bytes(),
            p.payload,
        ),
        mqttrs::Packet::Puback(id) => format!("PUBACK pkid={}", id.get()),
        mqttrs::Packet::Pubrec(id) => format!("PUBREC pkid={}", id.get()),
        mqttrs::Packet::Pubrel(id) => format!("PUBREL pkid={}", id.get()),
        mqttrs::Packet::Pubcomp(id) => format!("PUBCOMP pkid={}", id.get()),
        mqttrs::Packet::Pingreq => "PINGREQ".into(),
        mqttrs::Packet::Pingresp => "PINGRESP".into(),
        mqttrs::Packet::Subscribe(s) => subscribe_summary(
            s.pid.get(),
            s.topics
                .iter()
                .map(|t| (t.topic_path.clone(), mqttrs_qos_u8(t.qos))),
        ),
        mqttrs::Packet::Suback(a) => suback_summary(
            a.pid.get(),
            a.return_codes.iter().map(|c| match c {
                mqttrs::SubscribeReturnCodes::Success(q) => mqttrs_qos_u8(*q),
                mqttrs::SubscribeReturnCodes::Failure => 0x80,
            }),
        ),
        other => format!("{other:?}"),
    }
}
