//! `tern coap decode`: CoAP messages from hex or raw bytes to one JSON object per line.
//!
//! Over UDP a message is a whole datagram, so each HEX argument (or each line of hex on
//! standard input, or all of standard input with `--raw`) is decoded on its own; a malformed
//! one stops the run with the error and what a receiver answers to it.

use std::io::{BufRead, Write};

use bytes::Bytes;
use clap::Args;
use tern_coap::{FormatError, Message, MessageType};

use super::json;
use crate::failure::Failure;
use crate::stdio::{self, Stop};

/// `--help` text after the options.
pub(crate) const LONG_ABOUT: &str = "\
Decode CoAP messages and print each message as one JSON object per line.

Input: over UDP (the default) each HEX argument is one datagram, that is one message. Hex \
digits may be upper or lower case; whitespace and ':' between bytes are ignored and a group \
of digits may start with 0x (so Wireshark's 42:01:5e:7c and xxd -p output work). Without HEX \
arguments, each line of hex text on standard input is one datagram (blank lines are skipped). \
With --raw, standard input holds the raw bytes of one datagram.

Output: \"type\" (CON, NON, ACK, RST), \"code\" as {\"value\": \"2.05\", \"name\": \
\"Content\"}, \"message_id\", \"token\" (hex), \"options\" and \"payload\". Options are an \
array in wire order of {\"number\", \"name\" (null when tern does not know the option), \
\"critical\", \"value\"}: a number for uint options, a string for string options, hex for \
opaque and unknown options, null for empty ones. An option that RFC 7252 §5.4 says to treat \
as unrecognized (unknown, a repeated non-repeatable option, a value of the wrong length) has \
\"unrecognized\": true; a server answers a request with an unrecognized critical option with \
4.02 Bad Option. The payload is {\"hex\", \"text\" (when UTF-8), \"length\"}.

Errors: on a malformed message the messages before it are printed, then the error, the rule \
it breaks and what a receiver answers (an RST, or nothing) go to standard error, and the exit \
status is 1. Text that is not hex exits with status 2.";

/// `--help` examples.
pub(crate) const EXAMPLES: &str = "\
Examples:
  # aiocoap's CON GET /hello, and the server's ACK 2.05 with ETag, Content-Format and Max-Age
  tern coap decode 42015e7c19acb568656c6c6f 62455e7c19ac42123480211eff68656c6c6f2066726f6d2061696f636f6170

  # libcoap's CON GET /.well-known/core with Accept: application/link-format (40)
  tern coap decode 44013b96746f6b3572ddff4b2e77656c6c2d6b6e6f776e04636f72656128

  # aiocoap's ACK 2.05 with Content-Format 40 and a link-format payload
  tern coap decode 62455e7e19aec128ff3c2f2e77656c6c2d6b6e6f776e2f636f72653e3b63743d223430222c3c2f68656c6c6f3e2c3c2f73746f72653e2c3c2f6372656174653e2c3c2f6c617267653e2c3c2f75706c6f61643e2c3c2f73657061726174653e2c3c2f6f62733e3b6f62732c3c2f6a736f6e3e2c3c68747470733a2f2f63687269737469616e2e616d73756573732e636f6d2f746f6f6c732f61696f636f61702f2376657273696f6e2d302e342e31373e3b72656c3d22696d706c2d696e666f22

  # A request with the unknown critical option 2049, and libcoap's 4.02 Bad Option
  tern coap decode 440152e46372697572ddffe106ed01 648252e463726975e106f401ff426164204f7074696f6e

  # One datagram as raw bytes, fields picked with jq
  tern coap decode --raw < datagram.bin | jq -c '{code: .code.name, options: [.options[].name]}'

  # Hex text, one datagram per line
  tern coap decode < datagrams.hex";

/// Arguments of `tern coap decode`.
#[derive(Debug, Args)]
pub(crate) struct DecodeArgs {
    /// Read the raw bytes of one datagram from standard input instead of hex.
    #[arg(long, conflicts_with = "hex")]
    raw: bool,

    /// Messages as hex, one datagram per argument. Without any, hex is read from standard
    /// input, one datagram per line.
    #[arg(value_name = "HEX")]
    hex: Vec<String>,
}

/// Runs `tern coap decode` on the process's stdin and stdout.
pub(crate) fn run(args: &DecodeArgs) -> Result<(), Failure> {
    let hex_from_stdin = args.hex.is_empty() && !args.raw;
    stdio::run("tern coap decode", hex_from_stdin, |stdin, out| {
        decode_input(args, stdin, out)
    })
}

/// Decodes what `args` and `stdin` give and writes one JSON line per message to `out`.
fn decode_input(
    args: &DecodeArgs,
    stdin: &mut dyn BufRead,
    out: &mut dyn Write,
) -> Result<(), Stop> {
    let mut count = 0;
    let mut datagram = |bytes: &[u8], line: Option<usize>| {
        count += 1;
        let message = decode_datagram(bytes).map_err(|e| {
            let place = match line {
                Some(line) => format!("datagram {count} (standard input, line {line})"),
                None => format!("datagram {count}"),
            };
            Failure::input(format_args!("{e} ({}) in {place}", answer(&e, bytes)))
        })?;
        stdio::write_line(out, message)?;
        stdio::flush(out)
    };
    if args.raw {
        datagram(&stdio::raw_all(stdin)?, None)
    } else if args.hex.is_empty() {
        stdio::hex_lines(stdin, |line, bytes| {
            if bytes.is_empty() {
                Ok(())
            } else {
                datagram(bytes, Some(line))
            }
        })
    } else {
        // Every argument is checked before anything is decoded.
        let datagrams = stdio::hex_args(&args.hex)?;
        datagrams.iter().try_for_each(|bytes| datagram(bytes, None))
    }
}

/// One datagram as JSON.
fn decode_datagram(bytes: &[u8]) -> Result<crate::json::Json, FormatError> {
    Message::decode(Bytes::copy_from_slice(bytes)).map(|m| json::message(&m))
}

/// What a receiver does with a datagram that is not a CoAP message (RFC 7252 §4.2, §4.3):
/// it rejects it, which for a CON is an RST with its Message ID, for a NON an optional RST,
/// and for an ACK or RST nothing at all.
fn answer(error: &FormatError, datagram: &[u8]) -> String {
    if error.silently_ignore() {
        return "answer: none".to_owned();
    }
    let Some(&[b0, _, m0, m1]) = datagram.first_chunk::<4>() else {
        return "answer: none, there is no Message ID to reset".to_owned();
    };
    let id = u16::from_be_bytes([m0, m1]);
    match MessageType::from_bits(b0 >> 4) {
        MessageType::Confirmable => format!("answer: RST with Message ID {id}"),
        MessageType::NonConfirmable => {
            format!("answer: none, or RST with Message ID {id} (a NON, RFC 7252 §4.3)")
        }
        MessageType::Acknowledgement | MessageType::Reset => {
            "answer: none, an ACK or RST is rejected silently (RFC 7252 §4.2)".to_owned()
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::Value;

    use super::*;

    fn args(raw: bool, hex: &[&str]) -> DecodeArgs {
        DecodeArgs {
            raw,
            hex: hex.iter().map(|s| s.to_string()).collect(),
        }
    }

    /// Runs the command on `stdin`; the JSON lines, or the failure with the lines before it.
    fn run_with(args: &DecodeArgs, stdin: &[u8]) -> (Vec<Value>, Option<Failure>) {
        let mut reader = stdin;
        let mut out = Vec::new();
        let result = decode_input(args, &mut reader, &mut out);
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

    const GET: &str = "42015e7c19acb568656c6c6f";
    const EMPTY_ACK: &str = "60005e9a";

    #[test]
    fn one_line_per_argument() {
        let (lines, failure) = run_with(&args(false, &[GET, EMPTY_ACK]), b"");
        assert_eq!(failure, None);
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[0]["code"]["name"], "GET");
        assert_eq!(lines[1]["type"], "ACK");
    }

    #[test]
    fn one_datagram_per_stdin_line() {
        let stdin = format!("{GET}\n\n60 00 5e 9a\n");
        let (lines, failure) = run_with(&args(false, &[]), stdin.as_bytes());
        assert_eq!(failure, None);
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[1]["message_id"], 0x5e9a);
    }

    #[test]
    fn raw_stdin_is_one_datagram() {
        let (lines, failure) = run_with(&args(true, &[]), &[0x70, 0x00, 0x44, 0x8e]);
        assert_eq!(failure, None);
        assert_eq!(lines.len(), 1);
        assert_eq!(lines[0]["type"], "RST");
    }

    #[test]
    fn a_malformed_datagram_stops_after_the_ones_before() {
        let (lines, failure) = run_with(&args(false, &[GET, "4901000100", EMPTY_ACK]), b"");
        assert_eq!(lines.len(), 1);
        let failure = failure.unwrap();
        assert_eq!(failure.status(), 1);
        assert_eq!(
            failure.message(),
            "token length 9 is reserved: 9-15 (RFC 7252 §3) \
             (answer: RST with Message ID 1) in datagram 2"
        );
        let (_, failure) = run_with(&args(false, &[]), b"\n5001 0002 ff\n");
        assert_eq!(
            failure.unwrap().message(),
            "payload marker followed by no payload (RFC 7252 §3) \
             (answer: none, or RST with Message ID 2 (a NON, RFC 7252 §4.3)) \
             in datagram 1 (standard input, line 2)"
        );
    }

    #[test]
    fn the_answer_follows_the_rfc() {
        let answer = |hex: &str| {
            let bytes = crate::hex::decode(hex).unwrap();
            answer(&decode_datagram(&bytes).unwrap_err(), &bytes)
        };
        assert_eq!(
            answer("4001"),
            "answer: none, there is no Message ID to reset"
        );
        assert_eq!(answer("80010001"), "answer: none");
        assert!(answer("6901000100").starts_with("answer: none, an ACK or RST"));
        assert!(answer("7901000100").starts_with("answer: none, an ACK or RST"));
        assert_eq!(answer("4901000a00"), "answer: RST with Message ID 10");
    }

    #[test]
    fn bad_hex_is_a_usage_error_and_nothing_is_decoded() {
        let (lines, failure) = run_with(&args(false, &[GET, "4x"]), b"");
        assert!(lines.is_empty());
        let failure = failure.unwrap();
        assert_eq!(failure.status(), 2);
        assert!(
            failure.message().starts_with("HEX argument 2:"),
            "{failure:?}"
        );
    }

    /// Every example in `--help` that needs no file runs without error.
    #[test]
    fn help_examples_work() {
        let mut ran = 0;
        for line in EXAMPLES.lines().map(str::trim) {
            if !line.starts_with("tern coap decode ") || line.contains('<') {
                continue;
            }
            let words: Vec<&str> = line.split_whitespace().collect();
            let cli = <crate::Cli as clap::Parser>::try_parse_from(&words).unwrap();
            let crate::Command::Coap(crate::coap::CoapCommand::Decode(args)) = cli.command else {
                panic!("{line}: not tern coap decode");
            };
            let (lines, failure) = run_with(&args, b"");
            assert_eq!(failure, None, "{line}");
            assert_eq!(lines.len(), args.hex.len(), "{line}");
            ran += 1;
        }
        assert_eq!(ran, 4);
    }
}
