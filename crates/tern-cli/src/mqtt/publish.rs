//! `tern mqtt pub`: publish one message (or one per line of standard input) and exit once each
//! completed: written at QoS 0, PUBACK at QoS 1, PUBCOMP at QoS 2.

use std::collections::VecDeque;
use std::io::{self, BufRead, Read, Write};
use std::path::PathBuf;

use bytes::Bytes;
use clap::{ArgGroup, Args};
use tern_blocking::{Client, Error, PendingPublish, Publish, QoS, ReasonCode, TopicName};
use tern_mqtt::PacketType;

use super::connect::{self, ConnectArgs, Log, PropertyTarget, failed, usage};
use crate::failure::Failure;
use crate::json::{Json, Object};

/// `--help` examples.
pub(crate) const EXAMPLES: &str = "\
Examples:
  tern mqtt pub -t sensors/temperature -m 21.5
  tern mqtt pub -h broker.example -p 8883 --cafile ca.pem -q 1 -t sensors/temperature -m 21.5
  tern mqtt pub -V 311 -q 2 -r -t config/thermo-1 -f config.json
  tail -f readings.txt | tern mqtt pub -q 1 -t sensors/temperature -l
  tern mqtt pub -t t -m hi -D publish user-property unit celsius -D publish content-type text/plain

Exit status: 0 once every message completed and DISCONNECT was sent; 1 when connecting failed,
the connection was lost, or the broker answered with an MQTT 5.0 error reason code; 2 on a usage
error.";

/// Publications in flight at once with `-l` before the oldest is waited for.
const WINDOW: usize = 64;

/// Arguments of `tern mqtt pub`.
#[derive(Debug, Args)]
#[command(group(ArgGroup::new("payload").required(true).args(["message", "file", "stdin_whole", "stdin_lines", "null_message"])))]
pub(crate) struct PubArgs {
    /// Topic to publish to.
    #[arg(short = 't', long, value_name = "TOPIC")]
    topic: String,

    /// The message.
    #[arg(short = 'm', long, value_name = "MESSAGE")]
    message: Option<String>,

    /// Send the contents of a file as the message.
    #[arg(short = 'f', long, value_name = "FILE")]
    file: Option<PathBuf>,

    /// Send all of standard input as one message.
    #[arg(short = 's', long = "stdin-file")]
    stdin_whole: bool,

    /// Send each line of standard input as a message (without its newline), as it is read.
    #[arg(short = 'l', long = "stdin-line")]
    stdin_lines: bool,

    /// Send an empty (zero-length) message.
    #[arg(short = 'n', long = "null-message")]
    null_message: bool,

    /// Retain the message(s).
    #[arg(short = 'r', long)]
    retain: bool,

    /// Print one JSON object per message on standard output once it completed: topic, qos,
    /// retain, length, and the acknowledgement (null at QoS 0) with its reason code.
    #[arg(long)]
    json: bool,

    #[command(flatten)]
    connection: ConnectArgs,
}

/// Runs `tern mqtt pub`.
pub(crate) fn run(args: &PubArgs) -> Result<(), Failure> {
    let c = &args.connection;
    let properties = connect::parse_properties(
        &c.properties,
        c.protocol,
        &[
            PropertyTarget::Connect,
            PropertyTarget::Publish,
            PropertyTarget::Will,
        ],
    )?;
    let topic =
        TopicName::new(&args.topic).map_err(|e| usage(format_args!("-t {:?}: {e}", args.topic)))?;
    let template = {
        let mut p = Publish::new(topic, Bytes::new());
        p.qos = c.qos;
        p.retain = args.retain;
        p.properties = properties.block(PropertyTarget::Publish)?;
        p
    };
    // Read a single message before connecting, so that a missing file fails fast.
    let single = if args.stdin_lines {
        None
    } else {
        Some(single_message(args)?)
    };
    // A lost connection ends the command: nothing would be waiting to resume it.
    let options = c.options(&properties)?.reconnect(None);
    let log = Log::new(c.debug, &c.client_id());
    let (client, messages) = connect::connect(c, options, &log)?;
    // Nothing is subscribed; whatever the broker might send is of no interest.
    drop(messages);

    let mut publisher = Publisher {
        client: &client,
        log: &log,
        pending: VecDeque::new(),
        refused: None,
        json: args.json.then(io::stdout),
    };
    let outcome = match single {
        Some(payload) => publisher.send(&template, payload),
        None => publish_lines(&mut publisher, &template),
    }
    .and_then(|()| publisher.wait_all());
    connect::disconnect(&client, &log);
    outcome?;
    match publisher.refused {
        None => Ok(()),
        Some((first, 1)) => Err(failed(format_args!(
            "the broker refused the message: {first}"
        ))),
        Some((first, n)) => Err(failed(format_args!(
            "the broker refused {n} messages, the first with {first}"
        ))),
    }
}

/// The payload of `-m`, `-f`, `-s` or `-n`.
fn single_message(args: &PubArgs) -> Result<Bytes, Failure> {
    if let Some(message) = &args.message {
        return Ok(Bytes::from(message.clone()));
    }
    if let Some(path) = &args.file {
        return std::fs::read(path)
            .map(Bytes::from)
            .map_err(|e| failed(format_args!("reading {}: {e}", path.display())));
    }
    if args.stdin_whole {
        let mut bytes = Vec::new();
        io::stdin()
            .lock()
            .read_to_end(&mut bytes)
            .map_err(|e| failed(format_args!("reading standard input: {e}")))?;
        return Ok(Bytes::from(bytes));
    }
    Ok(Bytes::new())
}

/// Each line of standard input as a message, published as it is read.
fn publish_lines(publisher: &mut Publisher<'_>, template: &Publish) -> Result<(), Failure> {
    let mut stdin = io::stdin().lock();
    let mut line = Vec::new();
    loop {
        line.clear();
        let n = stdin
            .read_until(b'\n', &mut line)
            .map_err(|e| failed(format_args!("reading standard input: {e}")))?;
        if n == 0 {
            return Ok(());
        }
        if line.last() == Some(&b'\n') {
            line.pop();
        }
        publisher.send(template, Bytes::copy_from_slice(&line))?;
    }
}

/// Publications on their way, completed in order.
struct Publisher<'a> {
    client: &'a Client,
    log: &'a Log,
    pending: VecDeque<(PendingPublish, Sent)>,
    /// The first 5.0 error reason code the broker answered with, and how many messages it
    /// refused.
    refused: Option<(String, usize)>,
    /// Where `--json` lines go.
    json: Option<io::Stdout>,
}

/// What `--json` tells of a publication.
struct Sent {
    topic: TopicName,
    qos: QoS,
    retain: bool,
    length: usize,
}

impl Publisher<'_> {
    fn send(&mut self, template: &Publish, payload: Bytes) -> Result<(), Failure> {
        let mut publish = template.clone();
        self.log.event(format_args!(
            "sending PUBLISH (topic {:?}, QoS {}, retain {}, {} bytes)",
            publish.topic.as_str(),
            publish.qos.as_u8(),
            publish.retain,
            payload.len()
        ));
        let sent = Sent {
            topic: publish.topic.clone(),
            qos: publish.qos,
            retain: publish.retain,
            length: payload.len(),
        };
        publish.payload = payload;
        match self.client.start_publish(publish) {
            Ok(pending) => self.pending.push_back((pending, sent)),
            Err(e) => {
                // The publications before it know best why the connection is gone.
                self.wait_all()?;
                return Err(failed(e));
            }
        }
        if self.pending.len() >= WINDOW {
            self.wait_oldest()?;
        }
        Ok(())
    }

    fn wait_all(&mut self) -> Result<(), Failure> {
        while !self.pending.is_empty() {
            self.wait_oldest()?;
        }
        Ok(())
    }

    fn wait_oldest(&mut self) -> Result<(), Failure> {
        let Some((pending, sent)) = self.pending.pop_front() else {
            return Ok(());
        };
        let code = pending.wait().map_err(|e| match e {
            Error::ConnectionLost(_) | Error::Closed => failed(format_args!(
                "{e} before the broker acknowledged every message"
            )),
            e => failed(e),
        })?;
        let packet = match sent.qos {
            QoS::AtMostOnce => {
                self.log.event(format_args!("wrote PUBLISH"));
                return self.print(&sent, None);
            }
            QoS::AtLeastOnce => PacketType::PubAck,
            // An error other than "Packet Identifier not found" ends QoS 2 at PUBREC.
            QoS::ExactlyOnce if code.is_error() && code != ReasonCode::PacketIdentifierNotFound => {
                PacketType::PubRec
            }
            QoS::ExactlyOnce => PacketType::PubComp,
        };
        self.log.event(format_args!(
            "received {} ({})",
            packet.name(),
            code.name_in(packet)
        ));
        if code.is_error() {
            let (_, count) = self.refused.get_or_insert_with(|| {
                let first = format!("{} (0x{:02x})", code.name_in(packet), code.as_u8());
                (first, 0)
            });
            *count += 1;
        }
        self.print(&sent, Some((packet, code)))
    }

    /// The `--json` line of a completed publication.
    fn print(&mut self, sent: &Sent, ack: Option<(PacketType, ReasonCode)>) -> Result<(), Failure> {
        let Some(out) = &mut self.json else {
            return Ok(());
        };
        let ack: Json = match ack {
            None => Json::Null,
            Some((packet, code)) => Object::new()
                .with("type", packet.name())
                .with(
                    "reason_code",
                    Object::new()
                        .with("value", code.as_u8())
                        .with("name", code.name_in(packet)),
                )
                .into(),
        };
        let line: Json = Object::new()
            .with("topic", sent.topic.as_str())
            .with("qos", sent.qos.as_u8())
            .with("retain", sent.retain)
            .with("length", sent.length)
            .with("ack", ack)
            .into();
        match writeln!(out, "{line}").and_then(|()| out.flush()) {
            // Nobody reads the report any more; the messages still go out.
            Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(()),
            Err(e) => Err(failed(format_args!("writing to standard output: {e}"))),
            Ok(()) => Ok(()),
        }
    }
}
