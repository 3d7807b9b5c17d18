//! What `tern mqtt pub` and `tern mqtt sub` share: the connection flags (as mosquitto_pub and
//! mosquitto_sub spell them), `-D` properties, the `-d` protocol log, and turning it all into
//! the adapter's [`MqttOptions`].

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use bytes::Bytes;
use clap::{ArgAction, Args};
use tern_blocking::{
    Error, MqttOptions, Properties, Property, ProtocolVersion, QoS, TlsOptions, Will,
};
use tern_mqtt::property::{DataType, PropertyContext};
use tern_mqtt::{MqttString, PacketType, PropertyId, TopicName};

use crate::failure::Failure;

/// The flags every MQTT client command takes. `-h` is the host, as in mosquitto's tools, so
/// help is `--help` only; `-V` is the protocol version, so there is no short version flag.
#[derive(Debug, Args)]
pub(crate) struct ConnectArgs {
    /// Broker host name or address.
    #[arg(short = 'h', long, default_value = "localhost")]
    pub(crate) host: String,

    /// Broker port [default: 1883, or 8883 with TLS].
    #[arg(short = 'p', long)]
    pub(crate) port: Option<u16>,

    /// Client identifier [default: tern-PID, with the process id]; "" asks the broker to
    /// assign one.
    #[arg(short = 'i', long = "id", value_name = "ID")]
    pub(crate) id: Option<String>,

    /// User name.
    #[arg(short = 'u', long)]
    pub(crate) username: Option<String>,

    /// Password (needs --username).
    #[arg(
        short = 'P',
        long = "pw",
        value_name = "PASSWORD",
        requires = "username"
    )]
    pub(crate) password: Option<String>,

    /// Keep alive in seconds (0: off).
    #[arg(
        short = 'k',
        long = "keepalive",
        value_name = "SECS",
        default_value_t = 60
    )]
    pub(crate) keep_alive: u16,

    /// Protocol version: 311 (or mqttv311) or 5 (or mqttv5).
    #[arg(short = 'V', long = "protocol-version", value_name = "VERSION", default_value = "5", value_parser = parse_version)]
    pub(crate) protocol: ProtocolVersion,

    /// Quality of service: 0, 1 or 2.
    #[arg(short = 'q', long, value_name = "QOS", default_value = "0", value_parser = parse_qos)]
    pub(crate) qos: QoS,

    /// Keep the session when disconnected and resume it (Clean Start 0; in 5.0 a Session
    /// Expiry Interval of "never"). Needs --id.
    #[arg(short = 'c', long = "disable-clean-session", requires = "id")]
    pub(crate) persistent: bool,

    /// Topic of the Will, published by the broker if the connection ends without DISCONNECT.
    #[arg(long, value_name = "TOPIC")]
    pub(crate) will_topic: Option<String>,

    /// Payload of the Will.
    #[arg(long, value_name = "PAYLOAD", requires = "will_topic")]
    pub(crate) will_payload: Option<String>,

    /// QoS of the Will.
    #[arg(long, value_name = "QOS", requires = "will_topic", value_parser = parse_qos)]
    pub(crate) will_qos: Option<QoS>,

    /// Retain the Will.
    #[arg(long, requires = "will_topic")]
    pub(crate) will_retain: bool,

    /// An MQTT 5.0 property, mosquitto style: COMMAND is connect, publish, subscribe or will,
    /// IDENTIFIER a property name such as user-property (which takes two values, key and
    /// value), content-type or message-expiry-interval. Repeatable.
    #[arg(
        short = 'D',
        long = "property",
        num_args = 3..=4,
        value_names = ["COMMAND", "IDENTIFIER", "VALUE"],
        action = ArgAction::Append
    )]
    pub(crate) properties: Vec<String>,

    /// Use TLS, trusting the certificate authorities in this PEM file.
    #[arg(long, value_name = "FILE")]
    pub(crate) cafile: Option<PathBuf>,

    /// Client certificate chain (PEM) for TLS client authentication (needs --key, --cafile).
    #[arg(long, value_name = "FILE", requires_all = ["key", "cafile"])]
    pub(crate) cert: Option<PathBuf>,

    /// Private key (PEM) of --cert.
    #[arg(long, value_name = "FILE", requires = "cert")]
    pub(crate) key: Option<PathBuf>,

    /// Print protocol events to standard error, one per line.
    #[arg(short = 'd', long)]
    pub(crate) debug: bool,

    /// Print help.
    #[arg(long, action = ArgAction::Help)]
    pub(crate) help: Option<bool>,
}

fn parse_version(s: &str) -> Result<ProtocolVersion, String> {
    match s {
        "311" | "mqttv311" | "3.1.1" => Ok(ProtocolVersion::V3_1_1),
        "5" | "mqttv5" | "5.0" => Ok(ProtocolVersion::V5),
        _ => Err("expected 311 (mqttv311) or 5 (mqttv5)".into()),
    }
}

fn parse_qos(s: &str) -> Result<QoS, String> {
    s.parse::<u8>()
        .ok()
        .and_then(QoS::from_u8)
        .ok_or_else(|| "expected 0, 1 or 2".into())
}

/// Where a `-D` property goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PropertyTarget {
    Connect,
    Publish,
    Subscribe,
    Will,
}

/// The `-D` properties sorted by where they go.
#[derive(Debug, Default)]
pub(crate) struct PropertySet {
    pub(crate) connect: Vec<Property>,
    pub(crate) publish: Vec<Property>,
    pub(crate) subscribe: Vec<Property>,
    pub(crate) will: Vec<Property>,
}

impl PropertySet {
    /// The properties for `target` as a block.
    pub(crate) fn block(&self, target: PropertyTarget) -> Result<Properties, Failure> {
        let list = match target {
            PropertyTarget::Connect => &self.connect,
            PropertyTarget::Publish => &self.publish,
            PropertyTarget::Subscribe => &self.subscribe,
            PropertyTarget::Will => &self.will,
        };
        Properties::from_properties(list.iter().cloned())
            .map_err(|e| usage(format_args!("-D: {e}")))
    }
}

/// A usage error of the network commands: `tern: error: …`, exit status 2.
pub(crate) fn usage(message: impl fmt::Display) -> Failure {
    Failure::usage(message)
}

/// A failure of the network commands: `tern: error: …`, exit status 1.
pub(crate) fn failed(message: impl fmt::Display) -> Failure {
    Failure::input(message)
}

/// The property identifier as mosquitto names it: "Message Expiry Interval" is
/// `message-expiry-interval`.
fn cli_name(id: PropertyId) -> String {
    id.name().to_ascii_lowercase().replace(' ', "-")
}

/// The commands `-D` knows (those it refuses included, for the error message).
const COMMANDS: &[&str] = &[
    "connect",
    "publish",
    "subscribe",
    "will",
    "disconnect",
    "unsubscribe",
    "auth",
    "puback",
    "pubrec",
    "pubrel",
    "pubcomp",
];

/// Splits the values of every `-D` (clap gives them in one list) into one list per
/// property: COMMAND IDENTIFIER VALUE, and a second VALUE for user-property, as mosquitto
/// reads them.
fn split_properties(values: &[String]) -> Result<Vec<Vec<String>>, Failure> {
    let mut out = Vec::new();
    let mut rest = values;
    while let [command, identifier, tail @ ..] = rest {
        let arity = if identifier == "user-property" { 2 } else { 1 };
        let (Some(these), after) = (tail.get(..arity), tail.get(arity..).unwrap_or_default())
        else {
            return Err(usage(format_args!(
                "-D {command} {identifier}: expects {arity} value(s)"
            )));
        };
        if after
            .first()
            .is_some_and(|next| !COMMANDS.contains(&next.as_str()))
        {
            return Err(usage(format_args!(
                "-D {command} {identifier}: expects {arity} value(s)"
            )));
        }
        let mut one = vec![command.clone(), identifier.clone()];
        one.extend(these.iter().cloned());
        out.push(one);
        rest = after;
    }
    if !rest.is_empty() {
        return Err(usage("-D needs COMMAND IDENTIFIER VALUE"));
    }
    Ok(out)
}

/// Parses the `-D` arguments; `allowed` names the commands this tool sends.
pub(crate) fn parse_properties(
    values: &[String],
    protocol: ProtocolVersion,
    allowed: &[PropertyTarget],
) -> Result<PropertySet, Failure> {
    let mut set = PropertySet::default();
    if values.is_empty() {
        return Ok(set);
    }
    let args = split_properties(values)?;
    if !protocol.is_v5() {
        return Err(usage("-D: properties need MQTT 5.0 (-V 5)"));
    }
    for values in &args {
        let [command, identifier, rest @ ..] = values.as_slice() else {
            return Err(usage("-D needs COMMAND IDENTIFIER VALUE"));
        };
        let (target, context) = match command.as_str() {
            "connect" => (
                PropertyTarget::Connect,
                PropertyContext::Packet(PacketType::Connect),
            ),
            "publish" => (
                PropertyTarget::Publish,
                PropertyContext::Packet(PacketType::Publish),
            ),
            "subscribe" => (
                PropertyTarget::Subscribe,
                PropertyContext::Packet(PacketType::Subscribe),
            ),
            "will" => (PropertyTarget::Will, PropertyContext::Will),
            "disconnect" | "unsubscribe" | "auth" | "puback" | "pubrec" | "pubrel" | "pubcomp" => {
                return Err(usage(format_args!(
                    "-D {command}: this command sends no {} properties",
                    command.to_ascii_uppercase()
                )));
            }
            other => {
                return Err(usage(format_args!(
                    "-D: unknown command {other:?} (connect, publish, subscribe or will)"
                )));
            }
        };
        if !allowed.contains(&target) {
            return Err(usage(format_args!(
                "-D {command}: this command sends no {} packet",
                command.to_ascii_uppercase()
            )));
        }
        let id = PropertyId::ALL
            .iter()
            .copied()
            .find(|&id| cli_name(id) == *identifier)
            .ok_or_else(|| usage(format_args!("-D: unknown property {identifier:?}")))?;
        if !id.allowed_in(context) {
            return Err(usage(format_args!(
                "-D {command} {identifier}: not a {command} property"
            )));
        }
        match (target, id) {
            (PropertyTarget::Publish, PropertyId::TopicAlias) => {
                return Err(usage(
                    "-D publish topic-alias: tern assigns topic aliases itself",
                ));
            }
            (PropertyTarget::Publish, PropertyId::SubscriptionIdentifier) => {
                return Err(usage(
                    "-D publish subscription-identifier: only a server sends it [MQTT-3.3.4-6]",
                ));
            }
            (_, PropertyId::AuthenticationMethod | PropertyId::AuthenticationData) => {
                return Err(usage(format_args!(
                    "-D {command} {identifier}: enhanced authentication is not supported"
                )));
            }
            _ => {}
        }
        let property = property_value(id, rest)
            .map_err(|e| usage(format_args!("-D {command} {identifier}: {e}")))?;
        match target {
            PropertyTarget::Connect => set.connect.push(property),
            PropertyTarget::Publish => set.publish.push(property),
            PropertyTarget::Subscribe => set.subscribe.push(property),
            PropertyTarget::Will => set.will.push(property),
        }
    }
    Ok(set)
}

/// The property `id` with its value from the command line.
fn property_value(id: PropertyId, values: &[String]) -> Result<Property, String> {
    use PropertyId as I;
    let pair = id.data_type() == DataType::Utf8StringPair;
    let value = match (values, pair) {
        ([value], false) => value.as_str(),
        ([key, value], true) => {
            let key = MqttString::new(key).map_err(|e| e.to_string())?;
            let value = MqttString::new(value).map_err(|e| e.to_string())?;
            return Ok(Property::UserProperty(key, value));
        }
        (_, false) => return Err("expects one value".into()),
        (_, true) => return Err("expects two values: KEY VALUE".into()),
    };
    fn number<T: std::str::FromStr>(s: &str) -> Result<T, String> {
        s.parse()
            .map_err(|_| format!("{s:?} is not a number in range"))
    }
    let string = |s: &str| MqttString::new(s).map_err(|e| e.to_string());
    let property = match id {
        I::PayloadFormatIndicator => Property::PayloadFormatIndicator(number(value)?),
        I::MessageExpiryInterval => Property::MessageExpiryInterval(number(value)?),
        I::ContentType => Property::ContentType(string(value)?),
        I::ResponseTopic => {
            Property::ResponseTopic(TopicName::new(value).map_err(|e| e.to_string())?)
        }
        I::CorrelationData => Property::CorrelationData(Bytes::from(value.to_owned())),
        I::SubscriptionIdentifier => Property::SubscriptionIdentifier(number(value)?),
        I::SessionExpiryInterval => Property::SessionExpiryInterval(number(value)?),
        I::AssignedClientIdentifier => Property::AssignedClientIdentifier(string(value)?),
        I::ServerKeepAlive => Property::ServerKeepAlive(number(value)?),
        I::AuthenticationMethod => Property::AuthenticationMethod(string(value)?),
        I::AuthenticationData => Property::AuthenticationData(Bytes::from(value.to_owned())),
        I::RequestProblemInformation => Property::RequestProblemInformation(number(value)?),
        I::WillDelayInterval => Property::WillDelayInterval(number(value)?),
        I::RequestResponseInformation => Property::RequestResponseInformation(number(value)?),
        I::ResponseInformation => Property::ResponseInformation(string(value)?),
        I::ServerReference => Property::ServerReference(string(value)?),
        I::ReasonString => Property::ReasonString(string(value)?),
        I::ReceiveMaximum => Property::ReceiveMaximum(number(value)?),
        I::TopicAliasMaximum => Property::TopicAliasMaximum(number(value)?),
        I::TopicAlias => Property::TopicAlias(number(value)?),
        I::MaximumQoS => Property::MaximumQoS(number(value)?),
        I::RetainAvailable => Property::RetainAvailable(number(value)?),
        I::MaximumPacketSize => Property::MaximumPacketSize(number(value)?),
        I::WildcardSubscriptionAvailable => Property::WildcardSubscriptionAvailable(number(value)?),
        I::SubscriptionIdentifierAvailable => {
            Property::SubscriptionIdentifierAvailable(number(value)?)
        }
        I::SharedSubscriptionAvailable => Property::SharedSubscriptionAvailable(number(value)?),
        // Handled above as a pair.
        I::UserProperty => return Err("expects two values: KEY VALUE".into()),
    };
    if property.is_valid() {
        Ok(property)
    } else {
        Err(format!("{value:?} is not a valid value"))
    }
}

impl ConnectArgs {
    /// The client identifier: `--id`, or `tern-<process id>`.
    pub(crate) fn client_id(&self) -> String {
        self.id
            .clone()
            .unwrap_or_else(|| format!("tern-{}", std::process::id()))
    }

    /// The adapter's options for these flags and the connect and will properties.
    pub(crate) fn options(&self, properties: &PropertySet) -> Result<MqttOptions, Failure> {
        let tls = match &self.cafile {
            None => None,
            Some(ca) => {
                let client = self.cert.as_deref().zip(self.key.as_deref());
                Some(TlsOptions::from_pem_files(ca, client).map_err(failed)?)
            }
        };
        let port = self.port.unwrap_or(if tls.is_some() { 8883 } else { 1883 });
        let id = self.client_id();
        let mut options = MqttOptions::new(self.host.clone(), port, &id)
            .map_err(usage)?
            .protocol(self.protocol)
            .keep_alive(Duration::from_secs(u64::from(self.keep_alive)))
            .clean_start(!self.persistent);
        if let Some(tls) = tls {
            options = options.tls(tls);
        }
        if let Some(username) = &self.username {
            let password = self.password.clone().unwrap_or_default();
            options = options
                .credentials(username, Bytes::from(password))
                .map_err(usage)?;
            if self.password.is_none() {
                options.config.password = None;
            }
        }
        if let Some(topic) = &self.will_topic {
            let topic = TopicName::new(topic)
                .map_err(|e| usage(format_args!("--will-topic {topic:?}: {e}")))?;
            let mut will = Will::new(
                topic,
                Bytes::from(self.will_payload.clone().unwrap_or_default()),
            );
            will.qos = self.will_qos.unwrap_or(QoS::AtMostOnce);
            will.retain = self.will_retain;
            will.properties = properties.block(PropertyTarget::Will)?;
            options = options.will(will);
        } else if !properties.will.is_empty() {
            return Err(usage("-D will …: needs --will-topic"));
        }
        if self.persistent && self.protocol.is_v5() {
            // As mosquitto's -c: the session outlives the connection until it is resumed.
            options = options.session_expiry(u32::MAX).map_err(usage)?;
        }
        let mut connect: Vec<Property> = options.config.connect_properties.iter().collect();
        for p in &properties.connect {
            // A -D session-expiry-interval overrides the one -c implies.
            connect.retain(|q| q.id() != p.id() || p.id() == PropertyId::UserProperty);
            if let Property::MaximumPacketSize(max) = p {
                // Hold the client to the limit it announces.
                options.config.max_incoming_packet_size =
                    usize::try_from(*max).unwrap_or(usize::MAX);
            }
            connect.push(p.clone());
        }
        options.config.connect_properties = Properties::from_properties(connect)
            .map_err(|e| usage(format_args!("-D connect: {e}")))?;
        Ok(options)
    }
}

/// The `-d` protocol log: one line per event on standard error, mosquitto style
/// (`Client ID received SUBACK`).
#[derive(Debug, Clone)]
pub(crate) struct Log {
    /// `None` when `-d` is off.
    client: Option<String>,
}

impl Log {
    /// The log of `client_id`; with `on`, the connection's own logs (reconnections, errors)
    /// are printed too.
    pub(crate) fn new(on: bool, client_id: &str) -> Self {
        if on {
            super::trace::install(client_id);
        }
        Log {
            client: on.then(|| client_id.to_owned()),
        }
    }

    /// Prints one event line when `-d` is on.
    pub(crate) fn event(&self, what: fmt::Arguments<'_>) {
        if let Some(client) = &self.client {
            eprintln!("Client {client} {what}");
        }
    }
}

/// Connects, logging CONNECT and CONNACK, with errors as the command reports them.
pub(crate) fn connect(
    args: &ConnectArgs,
    options: MqttOptions,
    log: &Log,
) -> Result<(tern_blocking::Client, tern_blocking::Messages), Failure> {
    log.event(format_args!(
        "sending CONNECT to {}:{} (MQTT {}, clean start {}, keep alive {} s{})",
        options.host,
        options.port,
        options.config.protocol,
        options.config.clean_start,
        options.config.keep_alive,
        if args.cafile.is_some() { ", TLS" } else { "" }
    ));
    let address = format!("{}:{}", options.host, options.port);
    match tern_blocking::connect(options) {
        Ok(connection) => {
            log.event(format_args!("received CONNACK (Success)"));
            Ok(connection)
        }
        Err(e) => {
            if let Error::Refused(connack) = &e {
                log.event(format_args!(
                    "received CONNACK ({})",
                    connack.reason_code.name_in(PacketType::ConnAck)
                ));
            }
            Err(failed(format_args!("{address}: {e}")))
        }
    }
}

/// Sends DISCONNECT (logged).
pub(crate) fn disconnect(client: &tern_blocking::Client, log: &Log) {
    log.event(format_args!("sending DISCONNECT"));
    // Already disconnected (the connection was lost) is no failure of the command.
    let _ = client.disconnect();
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&[&str]]) -> Result<PropertySet, Failure> {
        let args: Vec<String> = args
            .iter()
            .flat_map(|a| a.iter().map(|s| (*s).to_owned()))
            .collect();
        parse_properties(
            &args,
            ProtocolVersion::V5,
            &[
                PropertyTarget::Connect,
                PropertyTarget::Publish,
                PropertyTarget::Will,
            ],
        )
    }

    #[test]
    fn properties_parse_mosquitto_style() {
        let set = parse(&[
            &["publish", "user-property", "k", "v"],
            &["publish", "content-type", "text/plain"],
            &["publish", "message-expiry-interval", "60"],
            &["connect", "session-expiry-interval", "10"],
            &["will", "will-delay-interval", "5"],
        ])
        .unwrap();
        assert_eq!(set.publish.len(), 3);
        assert_eq!(set.connect, [Property::SessionExpiryInterval(10)]);
        assert_eq!(set.will, [Property::WillDelayInterval(5)]);
        assert!(set.block(PropertyTarget::Publish).is_ok());
    }

    #[test]
    fn bad_properties_are_usage_errors_that_say_why() {
        let cases: &[(&[&str], &str)] = &[
            (&["publish", "nope", "1"], "unknown property \"nope\""),
            (
                &["publish", "session-expiry-interval", "1"],
                "not a publish property",
            ),
            (&["publish", "message-expiry-interval", "x"], "not a number"),
            (&["publish", "user-property", "k"], "expects 2 value(s)"),
            (&["publish", "content-type", "a", "b"], "expects 1 value(s)"),
            (
                &["publish", "topic-alias", "1"],
                "assigns topic aliases itself",
            ),
            (
                &["subscribe", "user-property", "k", "v"],
                "sends no SUBSCRIBE",
            ),
            (
                &["disconnect", "reason-string", "bye"],
                "sends no DISCONNECT properties",
            ),
            (
                &["publish", "payload-format-indicator", "2"],
                "not a valid value",
            ),
        ];
        for (args, expected) in cases {
            let e = parse(&[args]).unwrap_err();
            assert_eq!(e.status(), 2);
            assert!(e.message().contains(expected), "{args:?}: {}", e.message());
        }
        let e = parse_properties(
            &["publish".into(), "content-type".into(), "x".into()],
            ProtocolVersion::V3_1_1,
            &[PropertyTarget::Publish],
        )
        .unwrap_err();
        assert!(e.message().contains("need MQTT 5.0"), "{}", e.message());
    }

    #[test]
    fn every_property_has_a_mosquitto_name() {
        assert_eq!(cli_name(PropertyId::MaximumQoS), "maximum-qos");
        assert_eq!(
            cli_name(PropertyId::RequestProblemInformation),
            "request-problem-information"
        );
    }
}
