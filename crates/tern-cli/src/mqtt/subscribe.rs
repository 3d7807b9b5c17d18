//! `tern mqtt sub`: subscribe and print every message: the payload (`TOPIC PAYLOAD` with `-v`,
//! one JSON object with `--json`), each followed by a newline.

use std::io::{self, Write};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use clap::Args;
use tern_blocking::{Message, ProtocolVersion, Subscription, TopicFilter};
use tern_mqtt::PacketType;
use tern_mqtt::packet::MAX_PACKET_SIZE;

use super::connect::{self, ConnectArgs, Log, PropertyTarget, failed, usage};
use crate::failure::Failure;
use crate::json::{Json, Object};

/// `--help` examples.
pub(crate) const EXAMPLES: &str = "\
Examples:
  tern mqtt sub -t 'sensors/#' -v
  tern mqtt sub -t sensors/temperature -q 1 -C 10 -W 60 --json
  tern mqtt sub -h broker.example --cafile ca.pem --cert me.pem --key me.key -t alerts/+
  tern mqtt sub -c -i thermo-log -q 2 -t sensors/temperature

A lost connection is re-established (after 1 s, doubling to 60 s), resuming the session with
-c; a first connection that fails is an error.

Exit status: 0 after -C messages (or when standard output is closed); 1 when connecting
failed or every subscription was refused; 2 on a usage error; 3 when -W ran out first.";

/// Arguments of `tern mqtt sub`.
#[derive(Debug, Args)]
pub(crate) struct SubArgs {
    /// Topic filter to subscribe to (at --qos); repeatable.
    #[arg(short = 't', long = "topic", value_name = "FILTER", required = true)]
    filters: Vec<String>,

    /// Print `TOPIC PAYLOAD` instead of the payload alone.
    #[arg(short = 'v', long)]
    verbose: bool,

    /// Exit after this many messages.
    #[arg(short = 'C', long = "count", value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    count: Option<u64>,

    /// Give up after this many seconds (from the connection): exit status 3.
    #[arg(short = 'W', long = "timeout", value_name = "SECS", value_parser = clap::value_parser!(u64).range(1..))]
    timeout: Option<u64>,

    /// Do not print stale messages (those with the retain flag set).
    #[arg(short = 'R', long = "no-retained")]
    no_retained: bool,

    /// One JSON object per message: topic, qos, retain, payload (or payload_hex when it is not
    /// UTF-8) and, in MQTT 5.0, properties when there are any.
    #[arg(long)]
    json: bool,

    #[command(flatten)]
    connection: ConnectArgs,
}

/// Runs `tern mqtt sub`.
pub(crate) fn run(args: &SubArgs) -> Result<(), Failure> {
    let c = &args.connection;
    let properties = connect::parse_properties(
        &c.properties,
        c.protocol,
        &[
            PropertyTarget::Connect,
            PropertyTarget::Subscribe,
            PropertyTarget::Will,
        ],
    )?;
    let subscriptions = args
        .filters
        .iter()
        .map(|f| {
            TopicFilter::new(f)
                .map(|filter| Subscription::new(filter, c.qos))
                .map_err(|e| usage(format_args!("-t {f:?}: {e}")))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let subscribe_properties = properties.block(PropertyTarget::Subscribe)?;

    let mut options = c.options(&properties)?;
    // Print whatever the broker delivers, as mosquitto_sub does (the state machine's default
    // stops at 1 MiB), unless -D connect maximum-packet-size set a limit.
    if options.config.max_incoming_packet_size == tern_mqtt::packet::DEFAULT_MAX_INCOMING {
        options.config.max_incoming_packet_size = MAX_PACKET_SIZE;
    }
    if let Some(secs) = args.timeout {
        // Connecting must not outlast -W either.
        let limit = Duration::from_secs(secs);
        options.connect_timeout = options.connect_timeout.min(limit);
        options.config.connect_timeout = options.config.connect_timeout.min(limit);
    }
    let log = Log::new(c.debug, &c.client_id());
    let (client, mut messages) = connect::connect(c, options, &log)?;
    // Ctrl-C (or SIGTERM) ends the subscription politely, as mosquitto_sub does: DISCONNECT,
    // so the broker discards the will; the message loop then sees the stream end.
    let interrupted = Arc::new(AtomicBool::new(false));
    let on_signal = (client.clone(), interrupted.clone());
    let handler = ctrlc::set_handler(move || {
        on_signal.1.store(true, Ordering::SeqCst);
        let _ = on_signal.0.disconnect();
    });
    if let Err(e) = handler {
        log.event(format_args!("Ctrl-C will not disconnect cleanly: {e}"));
    }
    let deadline = args
        .timeout
        .map(|secs| Instant::now() + Duration::from_secs(secs));

    for s in &subscriptions {
        log.event(format_args!(
            "sending SUBSCRIBE (filter {:?}, QoS {})",
            s.filter.as_str(),
            s.options.qos.as_u8()
        ));
    }
    let codes = client
        .subscribe_with(subscriptions.clone(), subscribe_properties)
        .map_err(|e| {
            connect::disconnect(&client, &log);
            failed(e)
        })?;
    let names: Vec<&str> = codes
        .iter()
        .map(|c| c.name_in(PacketType::SubAck))
        .collect();
    log.event(format_args!("received SUBACK ({})", names.join(", ")));
    for (s, code) in subscriptions.iter().zip(&codes) {
        if code.is_error() {
            eprintln!(
                "tern: warning: the broker refused the subscription to {:?}: {} (0x{:02x})",
                s.filter.as_str(),
                code.name_in(PacketType::SubAck),
                code.as_u8()
            );
        }
    }
    if !codes.is_empty() && codes.iter().all(|c| c.is_error()) {
        connect::disconnect(&client, &log);
        return Err(failed("the broker refused every subscription"));
    }

    let mut printer = Printer {
        out: io::stdout().lock(),
        verbose: args.verbose,
        json: args.json,
        protocol: c.protocol,
    };
    let mut printed = 0;
    let outcome = loop {
        if args.count.is_some_and(|n| printed >= n) {
            break Ok(());
        }
        let next = match deadline {
            None => Ok(messages.recv()),
            Some(deadline) => {
                messages.recv_timeout(deadline.saturating_duration_since(Instant::now()))
            }
        };
        let message = match next {
            Ok(Some(message)) => message,
            // The adapter gave up (it only does when the client is disconnected).
            Ok(None) if interrupted.load(Ordering::SeqCst) => break Ok(()),
            Ok(None) => break Err(failed("the connection ended")),
            Err(tern_blocking::Timeout) => {
                let secs = args.timeout.unwrap_or_default();
                break Err(Failure::timeout(format_args!("timed out after {secs} s")));
            }
        };
        log.event(format_args!(
            "received PUBLISH (topic {:?}, QoS {}, retain {}, {} bytes)",
            message.topic.as_str(),
            message.qos.as_u8(),
            message.retain,
            message.payload.len()
        ));
        if args.no_retained && message.retain {
            continue;
        }
        match printer.print(&message) {
            Ok(()) => printed += 1,
            // The reader went away (`… | head`): nobody is left to print for.
            Err(e) if e.kind() == io::ErrorKind::BrokenPipe => break Ok(()),
            Err(e) => break Err(failed(format_args!("writing to standard output: {e}"))),
        }
    };
    // Every message printed was acknowledged when it arrived, before DISCONNECT goes out.
    connect::disconnect(&client, &log);
    outcome
}

/// Writes messages to standard output, one per line, flushed at once.
struct Printer<W: Write> {
    out: W,
    verbose: bool,
    json: bool,
    protocol: ProtocolVersion,
}

impl<W: Write> Printer<W> {
    fn print(&mut self, message: &Message) -> io::Result<()> {
        if self.json {
            writeln!(self.out, "{}", message_json(message, self.protocol))?;
        } else {
            if self.verbose {
                self.out.write_all(message.topic.as_bytes())?;
                self.out.write_all(b" ")?;
            }
            self.out.write_all(&message.payload)?;
            self.out.write_all(b"\n")?;
        }
        self.out.flush()
    }
}

/// `{"topic", "qos", "retain", "payload" | "payload_hex", "properties"?}`.
fn message_json(message: &Message, protocol: ProtocolVersion) -> Json {
    let mut o = Object::new();
    o.put("topic", message.topic.as_str());
    o.put("qos", message.qos.as_u8());
    o.put("retain", message.retain);
    match std::str::from_utf8(&message.payload) {
        Ok(text) => o.put("payload", text),
        Err(_) => o.put("payload_hex", crate::hex::encode(&message.payload)),
    }
    if protocol.is_v5() && !message.properties.is_empty() {
        o.put("properties", super::json::properties(&message.properties));
    }
    o.into()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use tern_blocking::{Properties, Property, Publish, QoS, TopicName};

    fn message(payload: &[u8]) -> Message {
        let mut m = Publish::new(TopicName::new("a/b").unwrap(), payload.to_vec());
        m.qos = QoS::AtLeastOnce;
        m
    }

    #[test]
    fn json_has_the_payload_as_text_or_hex_and_properties_in_5_0() {
        let j = message_json(&message(b"21.5"), ProtocolVersion::V5);
        assert_eq!(
            j.to_string(),
            r#"{"topic":"a/b","qos":1,"retain":false,"payload":"21.5"}"#
        );
        let mut m = message(b"\xff\x00");
        m.retain = true;
        m.properties = Properties::from_properties([Property::MessageExpiryInterval(9)]).unwrap();
        assert_eq!(
            message_json(&m, ProtocolVersion::V5).to_value(),
            json!({"topic": "a/b", "qos": 1, "retain": true, "payload_hex": "ff00",
                   "properties": [{"id": 2, "name": "Message Expiry Interval", "value": 9}]})
        );
    }

    #[test]
    fn lines_are_payload_or_topic_and_payload() {
        let mut out = Vec::new();
        let mut p = Printer {
            out: &mut out,
            verbose: false,
            json: false,
            protocol: ProtocolVersion::V5,
        };
        p.print(&message(b"raw \x00 bytes")).unwrap();
        p.verbose = true;
        p.print(&message(b"x")).unwrap();
        assert_eq!(out, b"raw \x00 bytes\na/b x\n");
    }
}
