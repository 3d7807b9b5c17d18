//! `tern mqtt decode`: MQTT packets from hex or raw bytes to one JSON object per line.
//!
//! [`StreamDecoder`] is the sans-IO part: bytes go in with [`StreamDecoder::handle_bytes`],
//! packets come out of [`StreamDecoder::poll_packet`] as JSON, and [`StreamDecoder::finish`]
//! says whether the input ended cleanly. [`decode_stream`] drives it from a reader to a writer,
//! flushing after each chunk so that a live `nc … | tern mqtt decode --raw` shows packets as
//! they arrive.

use std::io::{BufRead, Write};
use std::num::NonZeroUsize;

use bytes::BytesMut;
use clap::{Args, ValueEnum};
use tern_mqtt::packet::MAX_PACKET_SIZE;
use tern_mqtt::{Codec, DecodeError, Decoded, Packet, ProtocolVersion};

use super::json::{self, Frame};
use crate::failure::Failure;
use crate::json::Json;
use crate::stdio::{self, Stop};

/// `--help` text after the options.
pub(crate) const LONG_ABOUT: &str = "\
Decode a stream of MQTT control packets and print each packet as one JSON object per line.

Input: the HEX arguments are concatenated into one byte stream, so several packets print \
several lines and a packet may span arguments. Hex digits may be upper or lower case; \
whitespace and ':' between bytes are ignored and a group of digits may start with 0x \
(so Wireshark's 30:0d:00 and xxd -p output work). Without HEX arguments, hex text is read \
from standard input, line by line. With --raw, raw bytes are read from standard input.

Protocol level: what follows CONNECT depends on the level (only 5.0 has properties and \
reason codes). With --protocol auto, each CONNECT in the stream sets the level of the packets \
after it, and packets before the first CONNECT are decoded as MQTT 5.0; for a stream without \
CONNECT at another level (e.g. what a 3.1.1 server sent) give --protocol 3.1.1. A CONNECT is \
always decoded at the level it names.

Output: \"type\", \"flags\" (PUBLISH also \"dup\", \"qos\", \"retain\"), \"remaining_length\", \
\"length\" (bytes of the whole packet), \"offset\" (of its first byte in the stream), \
\"protocol\", then every field of the packet in wire order by a snake_case name. Reason codes \
are {\"value\", \"name\"}; properties are an array in wire order of {\"id\", \"name\", \
\"value\"}; binary data is hex; payloads are {\"hex\", \"text\" (when UTF-8), \"length\"}. A \
field the packet does not carry is left out.

Errors: on a malformed packet the packets before it are printed, then the error, the rule it \
breaks, the MQTT 5.0 reason code a receiver would answer with, and the byte offset of the \
packet go to standard error, and the exit status is 1. Input that ends inside a packet is an \
\"incomplete packet\" error with status 1. Text that is not hex exits with status 2.";

/// `--help` examples.
pub(crate) const EXAMPLES: &str = "\
Examples:
  # A PUBLISH: without a CONNECT first, the level is 5.0
  tern mqtt decode 300d0005612f622f630068656c6c6f

  # A 3.1.1 CONNECT, then a QoS 1 PUBLISH decoded at the level the CONNECT set
  tern mqtt decode 101800044d5154540402003c000c6d7075622d3331312d726574 '32 0b 00 05 61 2f 62 2f 63 00 01 68 69'

  # What a 3.1.1 server sent: CONNACK and SUBACK
  tern mqtt decode --protocol 3.1.1 20020000 9003000101

  # Raw bytes from a file (or a socket), fields picked with jq
  tern mqtt decode --raw < session.bin | jq -c '{type, topic}'

  # Hex text, one or more packets per line
  tern mqtt decode < packets.hex";

/// Arguments of `tern mqtt decode`.
#[derive(Debug, Args)]
pub(crate) struct DecodeArgs {
    /// Protocol level to decode at. "auto" learns it from each CONNECT and uses 5.0 until the
    /// first one; the levels 3, 4 and 5 are accepted for 3.1, 3.1.1 and 5.0.
    #[arg(long, value_enum, default_value_t = ProtocolArg::Auto, value_name = "LEVEL")]
    protocol: ProtocolArg,

    /// Read raw bytes from standard input instead of hex.
    #[arg(long, conflicts_with = "hex")]
    raw: bool,

    /// Refuse packets larger than this many bytes (whole packet, as MQTT 5.0's Maximum Packet
    /// Size counts it), as a receiver with this limit would. Default: MQTT's own maximum,
    /// 268435460.
    #[arg(long, value_name = "BYTES", value_parser = clap::value_parser!(u32).range(2..))]
    max_packet_size: Option<u32>,

    /// Packets as hex; all arguments form one byte stream. Without any, hex is read from
    /// standard input.
    #[arg(value_name = "HEX")]
    hex: Vec<String>,
}

/// The `--protocol` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum ProtocolArg {
    /// Learn the level from each CONNECT; 5.0 before the first one.
    Auto,
    /// MQTT 3.1 (protocol name MQIsdp, level 3).
    #[value(name = "3.1", alias = "3")]
    V3_1,
    /// MQTT 3.1.1 (level 4).
    #[value(name = "3.1.1", alias = "4")]
    V3_1_1,
    /// MQTT 5.0 (level 5).
    #[value(name = "5.0", alias = "5", alias = "5.0.0")]
    V5,
}

impl ProtocolArg {
    /// The level to start decoding at.
    fn initial(self) -> ProtocolVersion {
        match self {
            ProtocolArg::Auto | ProtocolArg::V5 => ProtocolVersion::V5,
            ProtocolArg::V3_1 => ProtocolVersion::V3_1,
            ProtocolArg::V3_1_1 => ProtocolVersion::V3_1_1,
        }
    }
}

/// Why a stream did not decode to the end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum StreamError {
    /// The packet at `offset` is malformed.
    Malformed {
        /// What is wrong with it.
        error: DecodeError,
        /// Offset of the packet's first byte.
        offset: usize,
        /// The level the packet was decoded at.
        version: ProtocolVersion,
        /// Whether the level was a guess (`--protocol auto` and no CONNECT before) and the
        /// packet would be valid at MQTT 3.1.1.
        valid_in_311: bool,
    },
    /// The input ended inside the packet at `offset`.
    Incomplete {
        /// Bytes still missing, when the fixed header was complete.
        needed: Option<NonZeroUsize>,
        /// Bytes of the packet that are there.
        have: usize,
        /// Offset of the packet's first byte.
        offset: usize,
    },
}

impl StreamError {
    fn into_failure(self) -> Failure {
        match self {
            StreamError::Malformed {
                error,
                offset,
                version,
                valid_in_311,
            } => {
                let failure = Failure::input(format_args!(
                    "{error} (reason code {}) at byte offset {offset}",
                    error.reason_code()
                ));
                if valid_in_311 {
                    failure.with_hint(format_args!(
                        "no CONNECT came first, so the packet was decoded as MQTT {version}; \
                         it is valid MQTT 3.1.1: try --protocol 3.1.1"
                    ))
                } else {
                    failure
                }
            }
            StreamError::Incomplete {
                needed,
                have,
                offset,
            } => {
                let what = match needed.map(NonZeroUsize::get) {
                    Some(1) => "1 more byte needed".to_owned(),
                    Some(n) => format!("{n} more bytes needed"),
                    None => "its fixed header needs more bytes".to_owned(),
                };
                Failure::input(format_args!(
                    "incomplete packet: {what} (the input ends {have} byte{} into the packet \
                     at byte offset {offset})",
                    if have == 1 { "" } else { "s" }
                ))
            }
        }
    }
}

/// Decodes a byte stream packet by packet, following `--protocol`.
pub(crate) struct StreamDecoder {
    codec: Codec,
    /// `--protocol auto`: each CONNECT sets the level.
    learn: bool,
    /// Whether a CONNECT has set the level (only with `learn`).
    learned: bool,
    buf: BytesMut,
    /// Stream offset of `buf[0]`.
    offset: usize,
}

impl StreamDecoder {
    /// A decoder for `protocol` that refuses packets over `max_packet_size` bytes.
    pub(crate) fn new(protocol: ProtocolArg, max_packet_size: usize) -> Self {
        StreamDecoder {
            codec: Codec::new(protocol.initial()).with_max_incoming(max_packet_size),
            learn: protocol == ProtocolArg::Auto,
            learned: false,
            buf: BytesMut::new(),
            offset: 0,
        }
    }

    /// Appends input.
    pub(crate) fn handle_bytes(&mut self, bytes: &[u8]) {
        self.buf.extend_from_slice(bytes);
    }

    /// The next whole packet as JSON, or `None` until more bytes arrive. After an error the
    /// stream cannot go on: the packet's length cannot be trusted.
    pub(crate) fn poll_packet(&mut self) -> Result<Option<Json>, StreamError> {
        let before = self.buf.len();
        let header_len = fixed_header_len(&self.buf);
        let version = self.codec.version().unwrap_or(ProtocolVersion::V5);
        let packet = match self.codec.decode(&mut self.buf) {
            Ok(Decoded::Packet(packet)) => packet,
            Ok(Decoded::Incomplete { .. }) => return Ok(None),
            Err(error) => {
                return Err(StreamError::Malformed {
                    error,
                    offset: self.offset,
                    version,
                    valid_in_311: self.learn && !self.learned && self.decodes_as_311(),
                });
            }
        };
        let length = before - self.buf.len();
        let frame = Frame {
            offset: self.offset,
            length,
            remaining_length: length - header_len,
        };
        self.offset += length;
        if let (true, Packet::Connect(connect)) = (self.learn, &packet) {
            self.codec.set_version(connect.protocol);
            self.learned = true;
        }
        Ok(Some(json::packet(&packet, version, frame)))
    }

    /// Whether the packet at the front of the buffer is a valid MQTT 3.1.1 packet.
    fn decodes_as_311(&self) -> bool {
        let codec =
            Codec::new(ProtocolVersion::V3_1_1).with_max_incoming(self.codec.max_incoming());
        matches!(codec.decode(&mut self.buf.clone()), Ok(Decoded::Packet(_)))
    }

    /// Checks that the input ended between packets. Call after `poll_packet` gave `None`.
    pub(crate) fn finish(&self) -> Result<(), StreamError> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let needed = match self.codec.decode(&mut self.buf.clone()) {
            Ok(Decoded::Incomplete { needed }) => needed,
            // Unreachable after `poll_packet` gave `None`; report no count rather than panic.
            _ => None,
        };
        Err(StreamError::Incomplete {
            needed,
            have: self.buf.len(),
            offset: self.offset,
        })
    }
}

/// Bytes of the fixed header at the start of `buf` (type byte and Remaining Length), assuming
/// it is complete and valid; only used once the codec has accepted the packet.
fn fixed_header_len(buf: &[u8]) -> usize {
    let varint = buf.iter().skip(1).take(4).position(|b| b & 0x80 == 0);
    1 + varint.map_or(4, |i| i + 1)
}

/// Runs `tern mqtt decode` on the process's stdin and stdout.
pub(crate) fn run(args: &DecodeArgs) -> Result<(), Failure> {
    let hex_from_stdin = args.hex.is_empty() && !args.raw;
    stdio::run("tern mqtt decode", hex_from_stdin, |stdin, out| {
        decode_stream(args, stdin, out)
    })
}

/// Decodes what `args` and `stdin` give and writes one JSON line per packet to `out`.
fn decode_stream(
    args: &DecodeArgs,
    stdin: &mut dyn BufRead,
    out: &mut dyn Write,
) -> Result<(), Stop> {
    // The arguments are checked before anything is decoded.
    let from_args = if args.raw || args.hex.is_empty() {
        None
    } else {
        Some(stdio::hex_args(&args.hex)?)
    };
    let max = args.max_packet_size.map_or(MAX_PACKET_SIZE, |m| m as usize);
    let mut decoder = StreamDecoder::new(args.protocol, max);
    let mut feed = |bytes: &[u8]| {
        decoder.handle_bytes(bytes);
        drain(&mut decoder, out)
    };
    match from_args {
        // The arguments form one stream.
        Some(args) => args.iter().try_for_each(|bytes| feed(bytes))?,
        None if args.raw => stdio::raw_chunks(stdin, feed)?,
        None => stdio::hex_lines(stdin, |_, bytes| feed(bytes))?,
    }
    decoder.finish().map_err(StreamError::into_failure)?;
    Ok(())
}

/// Writes every whole packet in the decoder, then flushes.
fn drain(decoder: &mut StreamDecoder, out: &mut dyn Write) -> Result<(), Stop> {
    loop {
        match decoder.poll_packet() {
            Ok(Some(packet)) => stdio::write_line(out, packet)?,
            Ok(None) => return stdio::flush(out),
            Err(e) => return Err(Stop::Failed(e.into_failure())),
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::Value;

    use super::*;

    fn args(protocol: ProtocolArg, raw: bool, hex: &[&str]) -> DecodeArgs {
        DecodeArgs {
            protocol,
            raw,
            max_packet_size: None,
            hex: hex.iter().map(|s| s.to_string()).collect(),
        }
    }

    /// Runs the command on `stdin`; the JSON lines, or the failure with the lines before it.
    fn run_with(args: &DecodeArgs, stdin: &[u8]) -> (Vec<Value>, Option<Failure>) {
        let mut reader = stdin;
        let mut out = Vec::new();
        let result = decode_stream(args, &mut reader, &mut out);
        let lines = String::from_utf8(out)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        match result {
            Ok(()) => (lines, None),
            Err(Stop::Failed(f)) => (lines, Some(f)),
            Err(Stop::Output(e)) => panic!("output failed: {e}"),
        }
    }

    const CONNECT_311: &str = "101800044d5154540402003c000c6d7075622d3331312d726574";
    const CONNACK_311: &str = "20020000";
    const CONNACK_5: &str = "200900000622000a210014";

    #[test]
    fn one_line_per_packet_with_offsets() {
        let (lines, failure) = run_with(
            &args(ProtocolArg::Auto, false, &[CONNECT_311, "c000", "d000"]),
            b"",
        );
        assert_eq!(failure, None);
        let types: Vec<_> = lines.iter().map(|l| l["type"].as_str().unwrap()).collect();
        assert_eq!(types, ["CONNECT", "PINGREQ", "PINGRESP"]);
        let offsets: Vec<_> = lines
            .iter()
            .map(|l| l["offset"].as_u64().unwrap())
            .collect();
        assert_eq!(offsets, [0, 26, 28]);
    }

    #[test]
    fn a_packet_may_span_arguments_and_chunks() {
        let (lines, failure) = run_with(
            &args(ProtocolArg::V3_1_1, false, &["2002", "00", "00"]),
            b"",
        );
        assert_eq!(failure, None);
        assert_eq!(lines.len(), 1);
        assert_eq!(lines[0]["length"], 4);
        assert_eq!(lines[0]["remaining_length"], 2);
    }

    #[test]
    fn auto_learns_the_level_from_connect() {
        // The same bytes are a valid 3.1.1 CONNACK but a truncated 5.0 one.
        let stream = [CONNECT_311, CONNACK_311];
        let (lines, failure) = run_with(&args(ProtocolArg::Auto, false, &stream), b"");
        assert_eq!(failure, None);
        assert_eq!(lines[1]["protocol"], "3.1.1");
        assert_eq!(lines[1]["return_code"], 0);

        let (lines, failure) = run_with(&args(ProtocolArg::Auto, false, &[CONNACK_311]), b"");
        assert!(lines.is_empty());
        let failure = failure.unwrap();
        assert_eq!(failure.status(), 1);
        assert!(
            failure.message().contains("at byte offset 0"),
            "{failure:?}"
        );
        assert_eq!(
            failure.hints(),
            [
                "no CONNECT came first, so the packet was decoded as MQTT 5.0; \
              it is valid MQTT 3.1.1: try --protocol 3.1.1"
            ]
        );
    }

    #[test]
    fn an_explicit_level_is_not_changed_by_connect() {
        let stream = [CONNECT_311, CONNACK_5];
        let (lines, failure) = run_with(&args(ProtocolArg::V5, false, &stream), b"");
        assert_eq!(failure, None);
        assert_eq!(lines[0]["protocol"], "3.1.1");
        assert_eq!(lines[1]["protocol"], "5.0");
        assert_eq!(lines[1]["properties"][0]["name"], "Topic Alias Maximum");
    }

    #[test]
    fn hex_lines_from_stdin() {
        let stdin = format!("{CONNECT_311}\n20 02\n00 00\n\n");
        let (lines, failure) = run_with(&args(ProtocolArg::Auto, false, &[]), stdin.as_bytes());
        assert_eq!(failure, None);
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[1]["type"], "CONNACK");
    }

    #[test]
    fn raw_stdin() {
        let stdin = [0xc0, 0x00, 0xd0, 0x00];
        let (lines, failure) = run_with(&args(ProtocolArg::Auto, true, &[]), &stdin);
        assert_eq!(failure, None);
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[1]["type"], "PINGRESP");
    }

    #[test]
    fn bad_hex_is_a_usage_error() {
        let (lines, failure) = run_with(&args(ProtocolArg::Auto, false, &["c000", "zz"]), b"");
        assert!(
            lines.is_empty(),
            "nothing is decoded from a bad command line"
        );
        let failure = failure.unwrap();
        assert_eq!(failure.status(), 2);
        assert!(
            failure.message().starts_with("HEX argument 2: 'z'"),
            "{failure:?}"
        );

        let (lines, failure) = run_with(&args(ProtocolArg::Auto, false, &[]), b"c000\nc0 0\n");
        assert_eq!(lines.len(), 1);
        let failure = failure.unwrap();
        assert_eq!(failure.status(), 2);
        assert!(
            failure.message().starts_with("standard input, line 2:"),
            "{failure:?}"
        );
        assert!(failure.hints()[0].contains("give --raw"), "{failure:?}");

        // Raw bytes without --raw.
        let (lines, failure) = run_with(&args(ProtocolArg::Auto, false, &[]), &[0xc0, 0x00]);
        assert!(lines.is_empty());
        let failure = failure.unwrap();
        assert_eq!(failure.status(), 2);
        assert_eq!(failure.message(), "standard input, line 1: not text");
        assert!(failure.hints()[0].contains("give --raw"), "{failure:?}");
    }

    #[test]
    fn malformed_packet_after_good_ones() {
        // PINGREQ, then a PUBLISH with QoS 3.
        let (lines, failure) = run_with(&args(ProtocolArg::V5, false, &["c000", "3600"]), b"");
        assert_eq!(lines.len(), 1);
        let failure = failure.unwrap();
        assert_eq!(failure.status(), 1);
        assert_eq!(
            failure.message(),
            "PUBLISH has QoS 3 [MQTT-3.3.1-4] (reason code 0x81 Malformed Packet) at byte offset 2"
        );
        // No hint: QoS 3 is malformed at every level.
        let (_, failure) = run_with(&args(ProtocolArg::Auto, false, &["3600"]), b"");
        assert!(failure.unwrap().hints().is_empty());
    }

    #[test]
    fn incomplete_input() {
        let (lines, failure) = run_with(&args(ProtocolArg::V5, false, &["c000", "3005ab"]), b"");
        assert_eq!(lines.len(), 1);
        assert_eq!(
            failure.unwrap().message(),
            "incomplete packet: 4 more bytes needed \
             (the input ends 3 bytes into the packet at byte offset 2)"
        );
        let (_, failure) = run_with(&args(ProtocolArg::V5, false, &["30ff"]), b"");
        assert_eq!(
            failure.unwrap().message(),
            "incomplete packet: its fixed header needs more bytes \
             (the input ends 2 bytes into the packet at byte offset 0)"
        );
        let (_, failure) = run_with(&args(ProtocolArg::V5, false, &["3001"]), b"");
        assert!(failure.unwrap().message().contains(": 1 more byte needed"));
    }

    #[test]
    fn max_packet_size_is_enforced_from_the_fixed_header() {
        let mut a = args(ProtocolArg::V5, false, &["c000", "30ff7f"]);
        a.max_packet_size = Some(100);
        let (lines, failure) = run_with(&a, b"");
        assert_eq!(lines.len(), 1);
        let message = failure.unwrap();
        assert!(
            message
                .message()
                .starts_with("packet of 16386 bytes exceeds the maximum of 100 bytes"),
            "{message:?}"
        );
        assert!(message.message().contains("0x95 Packet too large"));
    }

    /// Every example in `--help` that needs no file runs without error.
    #[test]
    fn help_examples_work() {
        let mut ran = 0;
        for line in EXAMPLES.lines().map(str::trim) {
            if !line.starts_with("tern mqtt decode ") || line.contains('<') {
                continue;
            }
            // Shell words: single quotes group, nothing else is special in these examples.
            let words: Vec<String> = line
                .split('\'')
                .enumerate()
                .flat_map(|(i, part)| {
                    if i % 2 == 1 {
                        vec![part.to_owned()]
                    } else {
                        part.split_whitespace().map(str::to_owned).collect()
                    }
                })
                .collect();
            let cli = <crate::Cli as clap::Parser>::try_parse_from(&words).unwrap();
            let crate::Command::Mqtt(crate::mqtt::MqttCommand::Decode(args)) = cli.command else {
                panic!("{line}: not tern mqtt decode");
            };
            let (lines, failure) = run_with(&args, b"");
            assert_eq!(failure, None, "{line}");
            assert!(!lines.is_empty(), "{line}");
            ran += 1;
        }
        assert_eq!(ran, 3);
    }

    #[test]
    fn fixed_header_length() {
        assert_eq!(fixed_header_len(&[0x30, 0x00]), 2);
        assert_eq!(fixed_header_len(&[0x30, 0x7f]), 2);
        assert_eq!(fixed_header_len(&[0x30, 0x80, 0x01]), 3);
        assert_eq!(fixed_header_len(&[0x30, 0xff, 0xff, 0xff, 0x7f]), 5);
    }
}
