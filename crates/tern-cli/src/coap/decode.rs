//! `tern coap decode`: CoAP messages from hex or raw bytes to one JSON object per line.
//!
//! Over UDP a message is a whole datagram, so each HEX argument (or each line of hex on
//! standard input, or all of standard input with `--raw`) is decoded on its own; so is each
//! WebSocket message with `--ws`. With `--tcp` the input is one byte stream, decoded by
//! [`TcpStream`], the sans-IO part: bytes go in with [`TcpStream::handle_bytes`], messages come
//! out of [`TcpStream::poll_message`], and [`TcpStream::finish`] says whether the stream ended
//! between messages. A malformed message stops the run with the error and what a receiver
//! answers to it (an RST or nothing over UDP, an Abort over TCP and WebSockets).

use std::io::{BufRead, Write};
use std::num::NonZeroUsize;

use bytes::{Bytes, BytesMut};
use clap::Args;
use tern_coap::tcp::{Decoded, Signal, TcpCodec, TcpMessage};
use tern_coap::{FormatError, Message, MessageType};

use super::json::{self, Frame};
use crate::failure::Failure;
use crate::json::Json;
use crate::stdio::{self, Stop};

/// `--help` text after the options.
pub(crate) const LONG_ABOUT: &str = "\
Decode CoAP messages and print each message as one JSON object per line.

Input: over UDP (the default) each HEX argument is one datagram, that is one message. Hex \
digits may be upper or lower case; whitespace and ':' between bytes are ignored and a group \
of digits may start with 0x (so Wireshark's 42:01:5e:7c and xxd -p output work). Without HEX \
arguments, each line of hex text on standard input is one datagram (blank lines are skipped). \
With --raw, standard input holds the raw bytes of one datagram.

With --tcp the input is CoAP over TCP or TLS (RFC 8323 §3): one byte stream, so the HEX \
arguments (or the lines of hex, or the raw bytes of standard input) are joined, several \
messages print several lines and a message may span arguments. With --ws each HEX argument \
(each line, or all of standard input with --raw) is the payload of one WebSocket message, \
holding one CoAP message (RFC 8323 §4).

Output: \"type\" (CON, NON, ACK, RST), \"code\" as {\"value\": \"2.05\", \"name\": \
\"Content\"}, \"message_id\", \"token\" (hex), \"options\" and \"payload\". Options are an \
array in wire order of {\"number\", \"name\" (null when tern does not know the option), \
\"critical\", \"value\"}: a number for uint options, a string for string options, hex for \
opaque and unknown options, null for empty ones; Block1, Block2, Q-Block1 and Q-Block2 are \
{\"num\", \"m\", \"szx\", \"size\"}, Content-Format and Accept {\"value\": 40, \"name\": \
\"application/link-format\"}, No-Response its bits and the classes they suppress. A value \
that breaks a rule of its meaning (a BERT block, SZX 7, over UDP) is hex with an \"error\". \
An option that RFC 7252 §5.4 says to treat \
as unrecognized (unknown, a repeated non-repeatable option, a value of the wrong length) has \
\"unrecognized\": true; a server answers a request with an unrecognized critical option with \
4.02 Bad Option. The payload is {\"hex\", \"text\" (when UTF-8), \"length\"}. Over TCP and \
WebSockets there is no type and no message id; a TCP message shows its \"offset\" in the \
stream and its \"length\", and a signaling message (7.01 CSM to 7.05 Abort) its \"signal\", \
e.g. {\"name\": \"CSM\", \"max_message_size\": 8192, \"block_wise_transfer\": true}.

Errors: on a malformed message the messages before it are printed, then the error, the rule \
it breaks and what a receiver answers (an RST or nothing over UDP; an Abort over TCP and \
WebSockets) go to standard error, and the exit status is 1. So does an invalid CSM (an \
unknown critical option or a bad value: Abort with Bad-CSM-Option); a signal a receiver \
ignores is printed with \"signal\": null and a \"signal_error\". A TCP stream that ends inside \
a message is an \"incomplete message\" error with status 1. Text that is not hex exits with \
status 2.";

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

  # CoAP over TCP: a CSM (Max-Message-Size 8192, Block-Wise-Transfer), then GET /hello
  tern coap decode --tcp 40e122200020 620119acb568656c6c6f

  # CoAP over WebSockets: one CoAP message per WebSocket message
  tern coap decode --ws 00e1 020119acb568656c6c6f

  # One datagram as raw bytes, fields picked with jq
  tern coap decode --raw < datagram.bin | jq -c '{code: .code.name, options: [.options[].name]}'

  # Hex text, one datagram per line
  tern coap decode < datagrams.hex";

/// Arguments of `tern coap decode`.
#[derive(Debug, Args)]
pub(crate) struct DecodeArgs {
    /// CoAP over TCP or TLS (RFC 8323 §3): the input is one byte stream of messages, each
    /// starting with its Len and Extended Length.
    #[arg(long, conflicts_with = "ws")]
    tcp: bool,

    /// CoAP over WebSockets (RFC 8323 §4): each HEX argument (each line, or all of standard
    /// input with --raw) is the payload of one WebSocket message, holding one CoAP message.
    #[arg(long)]
    ws: bool,

    /// With --tcp, refuse messages larger than this many bytes, as a receiver that advertised
    /// this Max-Message-Size would (RFC 8323 §5.3.1). Default: no limit.
    #[arg(long, requires = "tcp", value_name = "BYTES")]
    max_message_size: Option<usize>,

    /// Read raw bytes from standard input instead of hex: one datagram (or one WebSocket
    /// message), or with --tcp the byte stream.
    #[arg(long, conflicts_with = "hex")]
    raw: bool,

    /// Messages as hex: one datagram (or WebSocket message) per argument; with --tcp all
    /// arguments form one stream. Without any, hex is read from standard input.
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
    // Every argument is checked before anything is decoded.
    let from_args = if args.raw || args.hex.is_empty() {
        None
    } else {
        Some(stdio::hex_args(&args.hex)?)
    };
    if args.tcp {
        let mut stream = TcpStream::new(args.max_message_size.unwrap_or(usize::MAX));
        let mut feed = |bytes: &[u8]| {
            stream.handle_bytes(bytes);
            while let Some(message) = stream.poll_message()? {
                stdio::write_line(out, message)?;
            }
            stdio::flush(out)
        };
        match from_args {
            Some(args) => args.iter().try_for_each(|bytes| feed(bytes))?,
            None if args.raw => stdio::raw_chunks(stdin, feed)?,
            None => stdio::hex_lines(stdin, |_, bytes| feed(bytes))?,
        }
        return Ok(stream.finish()?);
    }

    // One message per unit of input: a datagram, or a WebSocket message.
    let framing = if args.ws { Framing::Ws } else { Framing::Udp };
    let mut count = 0;
    let mut unit = |bytes: &[u8], line: Option<usize>| {
        count += 1;
        let message = framing.decode(bytes).map_err(|e| {
            let what = framing.unit();
            let place = match line {
                Some(line) => format!("{what} {count} (standard input, line {line})"),
                None => format!("{what} {count}"),
            };
            Failure::input(format_args!("{e} in {place}"))
        })?;
        stdio::write_line(out, message)?;
        stdio::flush(out)
    };
    match from_args {
        Some(args) => args.iter().try_for_each(|bytes| unit(bytes, None)),
        None if args.raw => unit(&stdio::raw_all(stdin)?, None),
        None => stdio::hex_lines(stdin, |line, bytes| {
            if bytes.is_empty() {
                Ok(())
            } else {
                unit(bytes, Some(line))
            }
        }),
    }
}

/// How one unit of input carries one message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Framing {
    /// A UDP datagram (RFC 7252 §3).
    Udp,
    /// A WebSocket message (RFC 8323 §4.2).
    Ws,
}

impl Framing {
    /// What a unit is called in errors.
    fn unit(self) -> &'static str {
        match self {
            Framing::Udp => "datagram",
            Framing::Ws => "WebSocket message",
        }
    }

    /// The unit's message as JSON, or the error and what a receiver answers to it.
    fn decode(self, bytes: &[u8]) -> Result<Json, String> {
        let bytes = Bytes::copy_from_slice(bytes);
        match self {
            Framing::Udp => match Message::decode(bytes.clone()) {
                Ok(m) => Ok(json::message(&m)),
                Err(e) => Err(format!("{e} ({})", answer(&e, &bytes))),
            },
            Framing::Ws => match TcpMessage::decode_ws(bytes) {
                Ok(m) => reliable_message(&m, None),
                Err(e) => Err(format!("{e} ({ABORT})")),
            },
        }
    }
}

/// The answer to a malformed message over TCP or WebSockets: the stream cannot go on.
const ABORT: &str = "answer: Abort, then close the connection, RFC 8323 §5.6";

/// A message received over TCP or WebSockets as JSON, or the error when it is a signal that
/// makes a receiver abort the connection (an invalid CSM).
fn reliable_message(m: &TcpMessage, frame: Option<Frame>) -> Result<Json, String> {
    let signal = m.code.is_signaling().then(|| Signal::from_message(m));
    if let Some(Err(e)) = &signal {
        if let Some(Signal::Abort {
            bad_csm_option: Some(n),
        }) = e.answer()
        {
            return Err(format!(
                "{e} (answer: Abort with Bad-CSM-Option {n}, then close the connection, \
                 RFC 8323 §5.6)"
            ));
        }
    }
    Ok(json::tcp_message(m, signal.as_ref(), frame))
}

/// CoAP over TCP: a byte stream decoded message by message. Bytes go in with
/// [`TcpStream::handle_bytes`], messages come out of [`TcpStream::poll_message`] as JSON, and
/// [`TcpStream::finish`] says whether the input ended between messages.
struct TcpStream {
    codec: TcpCodec,
    buf: BytesMut,
    /// Stream offset of `buf[0]`.
    offset: usize,
}

impl TcpStream {
    /// A stream that refuses messages over `max_message_size` bytes.
    fn new(max_message_size: usize) -> Self {
        TcpStream {
            codec: TcpCodec::new(max_message_size),
            buf: BytesMut::new(),
            offset: 0,
        }
    }

    /// Appends input.
    fn handle_bytes(&mut self, bytes: &[u8]) {
        self.buf.extend_from_slice(bytes);
    }

    /// The next whole message as JSON, or `None` until more bytes arrive. After an error the
    /// stream cannot go on.
    fn poll_message(&mut self) -> Result<Option<Json>, Failure> {
        let before = self.buf.len();
        let offset = self.offset;
        let at = |e: String| Failure::input(format_args!("{e} at byte offset {offset}"));
        let message = match self.codec.decode(&mut self.buf) {
            Ok(Decoded::Message(m)) => m,
            Ok(Decoded::Incomplete { .. }) => return Ok(None),
            Err(e) => return Err(at(format!("{e} ({ABORT})"))),
        };
        let length = before - self.buf.len();
        self.offset += length;
        reliable_message(&message, Some(Frame { offset, length }))
            .map(Some)
            .map_err(at)
    }

    /// Checks that the input ended between messages. Call after `poll_message` gave `None`.
    fn finish(&self) -> Result<(), Failure> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let needed = match self.codec.decode(&mut self.buf.clone()) {
            Ok(Decoded::Incomplete { needed }) => needed,
            // Unreachable after `poll_message` gave `None`; report no count rather than panic.
            _ => None,
        };
        let what = match needed.map(NonZeroUsize::get) {
            Some(1) => "1 more byte needed".to_owned(),
            Some(n) => format!("{n} more bytes needed"),
            None => "its Len and Extended Length need more bytes".to_owned(),
        };
        let have = self.buf.len();
        Err(Failure::input(format_args!(
            "incomplete message: {what} (the input ends {have} byte{} into the message at \
             byte offset {})",
            if have == 1 { "" } else { "s" },
            self.offset
        )))
    }
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
        MessageType::Confirmable => format!("answer: RST with Message ID {id}, RFC 7252 §4.2"),
        MessageType::NonConfirmable => {
            format!("answer: none, or RST with Message ID {id}, RFC 7252 §4.3")
        }
        MessageType::Acknowledgement | MessageType::Reset => {
            "answer: none, an ACK or RST is rejected silently, RFC 7252 §4.2".to_owned()
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;

    fn args(raw: bool, hex: &[&str]) -> DecodeArgs {
        DecodeArgs {
            tcp: false,
            ws: false,
            max_message_size: None,
            raw,
            hex: hex.iter().map(|s| s.to_string()).collect(),
        }
    }

    fn tcp(raw: bool, hex: &[&str]) -> DecodeArgs {
        DecodeArgs {
            tcp: true,
            ..args(raw, hex)
        }
    }

    fn ws(raw: bool, hex: &[&str]) -> DecodeArgs {
        DecodeArgs {
            ws: true,
            ..args(raw, hex)
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
             (answer: RST with Message ID 1, RFC 7252 §4.2) in datagram 2"
        );
        let (_, failure) = run_with(&args(false, &[]), b"\n5001 0002 ff\n");
        assert_eq!(
            failure.unwrap().message(),
            "payload marker followed by no payload (RFC 7252 §3) \
             (answer: none, or RST with Message ID 2, RFC 7252 §4.3) \
             in datagram 1 (standard input, line 2)"
        );
    }

    #[test]
    fn the_answer_follows_the_rfc() {
        let answer = |hex: &str| {
            let bytes = crate::hex::decode(hex).unwrap();
            let error = Message::decode(Bytes::from(bytes.clone())).unwrap_err();
            answer(&error, &bytes)
        };
        assert_eq!(
            answer("4001"),
            "answer: none, there is no Message ID to reset"
        );
        assert_eq!(answer("80010001"), "answer: none");
        assert!(answer("6901000100").starts_with("answer: none, an ACK or RST"));
        assert!(answer("7901000100").starts_with("answer: none, an ACK or RST"));
        assert_eq!(
            answer("4901000a00"),
            "answer: RST with Message ID 10, RFC 7252 §4.2"
        );
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

    /// A message over TCP, as the codec encodes it, in hex.
    fn tcp_hex(m: &TcpMessage) -> String {
        let mut wire = BytesMut::new();
        m.encode(&mut wire).unwrap();
        crate::hex::encode(&wire)
    }

    fn get_hello() -> TcpMessage {
        use tern_coap::option::{OptionNumber, Options};
        let mut m = TcpMessage::new(
            tern_coap::Code::GET,
            tern_coap::Token::new(&[0x19, 0xac]).unwrap(),
        );
        m.options = Options::builder()
            .push(OptionNumber::URI_PATH, "hello")
            .build()
            .unwrap();
        m
    }

    fn csm() -> TcpMessage {
        Signal::Csm {
            max_message_size: Some(8192),
            block_wise_transfer: true,
        }
        .to_message(tern_coap::Token::EMPTY)
        .unwrap()
    }

    #[test]
    fn tcp_stream_with_offsets_and_signals() {
        let mut big = TcpMessage::new(tern_coap::Code::CONTENT, tern_coap::Token::EMPTY);
        big.payload = Bytes::from(vec![b'x'; 300]); // Len 14: 2 Extended Length bytes, 305 in all
        let stream = [tcp_hex(&csm()), tcp_hex(&get_hello()), tcp_hex(&big)];
        assert_eq!(stream[0], "40e122200020");
        assert_eq!(stream[1], "620119acb568656c6c6f");
        let (lines, failure) = run_with(&tcp(false, &[&stream.concat()]), b"");
        assert_eq!(failure, None);
        assert_eq!(lines.len(), 3);
        assert_eq!(
            lines[0]["signal"],
            json!({"name": "CSM", "max_message_size": 8192, "block_wise_transfer": true})
        );
        assert_eq!(lines[0]["options"][0]["name"], "Max-Message-Size");
        assert_eq!(lines[1].get("signal"), None);
        assert_eq!(lines[1].get("type"), None, "no type over TCP");
        assert_eq!(lines[1]["options"][0]["value"], "hello");
        let frames: Vec<_> = lines
            .iter()
            .map(|l| (l["offset"].clone(), l["length"].clone()))
            .collect();
        assert_eq!(
            frames,
            [
                (json!(0), json!(6)),
                (json!(6), json!(10)),
                (json!(16), json!(305))
            ]
        );
        assert_eq!(lines[2]["payload"]["length"], 300);
    }

    #[test]
    fn a_tcp_message_may_span_arguments_lines_and_chunks() {
        let hex = tcp_hex(&get_hello());
        let (first, second) = hex.split_at(5 * 2);
        let (lines, failure) = run_with(&tcp(false, &[first, second]), b"");
        assert_eq!(failure, None);
        assert_eq!(lines.len(), 1);
        let stdin = format!("{first}\n{second}\n");
        let (lines, failure) = run_with(&tcp(false, &[]), stdin.as_bytes());
        assert_eq!(failure, None);
        assert_eq!(lines.len(), 1);
        let raw = crate::hex::decode(&hex).unwrap();
        let (lines, failure) = run_with(&tcp(true, &[]), &raw);
        assert_eq!(failure, None);
        assert_eq!(lines[0]["code"]["name"], "GET");
    }

    #[test]
    fn tcp_errors_name_the_offset_and_the_abort() {
        let (lines, failure) = run_with(&tcp(false, &["01e342", "09e1"]), b"");
        assert_eq!(lines.len(), 1);
        assert_eq!(
            failure.unwrap().message(),
            "token length 9 is reserved: 9-15 (RFC 8323 §3.2) \
             (answer: Abort, then close the connection, RFC 8323 §5.6) at byte offset 3"
        );
        // A CSM with the unknown critical option 7 is invalid: Abort with Bad-CSM-Option.
        let (_, failure) = run_with(&tcp(false, &["10e170"]), b"");
        assert_eq!(
            failure.unwrap().message(),
            "7.01 CSM carries unknown critical option 7 (RFC 8323 §5.2, §5.3) \
             (answer: Abort with Bad-CSM-Option 7, then close the connection, RFC 8323 §5.6) \
             at byte offset 0"
        );
        // A Ping with one is ignored by a receiver: shown, not fatal.
        let (lines, failure) = run_with(&tcp(false, &["10e230"]), b"");
        assert_eq!(failure, None);
        assert_eq!(lines[0]["signal"], Value::Null);
        assert!(
            lines[0]["signal_error"]
                .as_str()
                .unwrap()
                .contains("option 3")
        );
        assert_eq!(lines[0]["options"][0]["unrecognized"], true);
    }

    #[test]
    fn tcp_size_limit_and_incomplete_input() {
        let mut a = tcp(false, &["01e342", "d001"]);
        a.max_message_size = Some(10);
        let (lines, failure) = run_with(&a, b"");
        assert_eq!(lines.len(), 1);
        assert!(
            failure
                .unwrap()
                .message()
                .starts_with("a message of 17 bytes exceeds the Max-Message-Size of 10"),
        );
        let (_, failure) = run_with(&tcp(false, &["01e342", "6201"]), b"");
        assert_eq!(
            failure.unwrap().message(),
            "incomplete message: 8 more bytes needed \
             (the input ends 2 bytes into the message at byte offset 3)"
        );
        let (_, failure) = run_with(&tcp(false, &["d0"]), b"");
        assert_eq!(
            failure.unwrap().message(),
            "incomplete message: its Len and Extended Length need more bytes \
             (the input ends 1 byte into the message at byte offset 0)"
        );
    }

    #[test]
    fn one_websocket_message_per_argument() {
        let mut frame = BytesMut::new();
        get_hello().encode_ws(&mut frame);
        let frame = crate::hex::encode(&frame);
        assert_eq!(frame, "020119acb568656c6c6f");
        let (lines, failure) = run_with(&ws(false, &["00e1", &frame]), b"");
        assert_eq!(failure, None);
        assert_eq!(lines[0]["signal"]["name"], "CSM");
        assert_eq!(lines[1]["options"][0]["value"], "hello");
        assert_eq!(
            lines[1].get("offset"),
            None,
            "no stream offset over WebSockets"
        );
        let (lines, failure) = run_with(&ws(false, &["00e1", "10e100"]), b"");
        assert_eq!(lines.len(), 1);
        assert_eq!(
            failure.unwrap().message(),
            "Len 1 in a WebSocket message: it must be 0 (RFC 8323 §4.2) \
             (answer: Abort, then close the connection, RFC 8323 §5.6) in WebSocket message 2"
        );
        let (lines, failure) = run_with(&ws(true, &[]), &[0x00, 0xe2]);
        assert_eq!(failure, None);
        assert_eq!(
            lines[0]["signal"],
            json!({"name": "Ping", "custody": false})
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
            let crate::Command::Coap(coap) = cli.command else {
                panic!("{line}: not tern coap");
            };
            let Some(crate::coap::CoapCommand::Decode(args)) = coap.command else {
                panic!("{line}: not tern coap decode");
            };
            let (lines, failure) = run_with(&args, b"");
            assert_eq!(failure, None, "{line}");
            assert_eq!(lines.len(), args.hex.len(), "{line}");
            ran += 1;
        }
        assert_eq!(ran, 6);
    }
}
