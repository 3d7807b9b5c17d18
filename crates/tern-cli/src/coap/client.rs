//! What the client commands (`get`, `post`, `put`, `delete`, `-m`, `discover`) share: their
//! flags, building the request from them, running it on tern-blocking within `-B`, and
//! printing the response (the payload, or one JSON object with `--json`) with the exit status
//! its code calls for.

use std::fs;
use std::io::{self, Read, Write};
use std::path::PathBuf;
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread;
use std::time::{Duration, Instant};

use clap::{Args, ValueEnum};
use tern_blocking::coap::{CoapClient, Config, EndpointConfig, Error, Request, Response};
use tern_coap::option::{OptionNumber, Options, OptionsBuilder, ValueFormat};
use tern_coap::uri::{Scheme, Uri};
use tern_coap::value::ContentFormat;
use tern_coap::{Code, MessageType, Token};

use super::{json, trace};
use crate::failure::Failure;
use crate::hex;

/// Flags of every client command.
#[derive(Debug, Args)]
pub(crate) struct ClientArgs {
    /// The resource: `coap://HOST[:PORT][/PATH][?QUERY]` (HOST a name, an IPv4 address or an
    /// IPv6 address in brackets).
    #[arg(value_name = "URI")]
    pub(crate) uri: String,

    /// Send the request Non-confirmable (NON) instead of Confirmable (CON).
    #[arg(short = 'N', long = "non")]
    non: bool,

    /// Add an option: its number, a comma and its value, as text, as hex after 0x, or as a
    /// decimal number for an option whose values are numbers (e.g. 14,60 for Max-Age 60).
    /// Repeatable.
    #[arg(short = 'O', long = "option", value_name = "NUM,VALUE")]
    options: Vec<String>,

    /// Print every message sent and received on standard error, one line each
    /// (`> CON GET mid=… token=… /path`, `< ACK 2.05 Content mid=…`).
    #[arg(short = 'v', long)]
    verbose: bool,

    /// Print the response as one JSON object: code, code_name, type, options, and payload
    /// (payload_hex when it is not UTF-8).
    #[arg(long)]
    pub(crate) json: bool,

    /// Give up after SECS seconds (fractions allowed): exit status 3.
    #[arg(short = 'B', long = "timeout", value_name = "SECS", value_parser = parse_secs)]
    timeout: Option<Duration>,

    /// The token of the request (1 to 8 bytes): its text's bytes, or hex after 0x for a
    /// binary token (e.g. -T 0xcafe). Without it, a random one of 8 bytes. Blocks of a
    /// body after the first get tokens of their own; an observation keeps this one.
    #[arg(short = 'T', long = "token", value_name = "TOKEN")]
    token: Option<String>,

    /// Block size for block-wise transfers (RFC 7959): 16, 32, 64, 128, 256, 512 or 1024
    /// bytes, or its SZX 0 to 6. Bodies larger than a block go in blocks of this size, and
    /// larger blocks are asked to be smaller (default: 1024).
    #[arg(short = 'b', long = "block-size", value_name = "SIZE", value_parser = parse_block_size)]
    block_size: Option<u8>,
}

/// Flags of the commands that send a payload (and of `get`, which may).
#[derive(Debug, Default, Args)]
pub(crate) struct BodyArgs {
    /// The payload, as text.
    #[arg(
        short = 'e',
        long = "payload",
        value_name = "TEXT",
        conflicts_with = "file"
    )]
    text: Option<String>,

    /// The payload, read from FILE ("-": standard input).
    #[arg(short = 'f', long = "file", value_name = "FILE")]
    file: Option<PathBuf>,

    /// Content-Format of the payload: a number, a media type (application/json), or text,
    /// link, xml, octet, json, cbor.
    #[arg(short = 't', long = "content-format", value_name = "FORMAT", value_parser = parse_format)]
    content_format: Option<ContentFormat>,

    /// Accept: the Content-Format wanted in the response (as for -t).
    #[arg(short = 'A', long = "accept", value_name = "FORMAT", value_parser = parse_format)]
    accept: Option<ContentFormat>,
}

/// The request methods `-m` takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum Method {
    Get,
    Post,
    Put,
    Delete,
    Fetch,
    Patch,
    Ipatch,
}

impl Method {
    pub(crate) fn code(self) -> Code {
        match self {
            Method::Get => Code::GET,
            Method::Post => Code::POST,
            Method::Put => Code::PUT,
            Method::Delete => Code::DELETE,
            Method::Fetch => Code::FETCH,
            Method::Patch => Code::PATCH,
            Method::Ipatch => Code::IPATCH,
        }
    }
}

impl ClientArgs {
    /// The `-T` token, or a usage error.
    pub(crate) fn token(&self) -> Result<Option<Token>, Failure> {
        self.token.as_deref().map(parse_token).transpose()
    }
}

/// A `-T` token: the text's bytes, or the bytes of the hex after `0x`; 1 to 8 of them.
fn parse_token(text: &str) -> Result<Token, Failure> {
    let bad = |why: &str| Failure::usage(format_args!("-T {text}: {why}"));
    let bytes = match text.strip_prefix("0x").or_else(|| text.strip_prefix("0X")) {
        Some(digits) => hex::decode(digits).map_err(|e| bad(&e.to_string()))?,
        None => text.as_bytes().to_vec(),
    };
    match bytes.len() {
        1..=8 => Token::new(&bytes).ok_or_else(|| bad("a token has 1 to 8 bytes")),
        n => Err(bad(&format!("a token has 1 to 8 bytes, not {n}"))),
    }
}

/// `tern coap get|post|put|delete URI` and `tern coap -m METHOD URI`.
pub(crate) fn run(method: Code, client: &ClientArgs, body: &BodyArgs) -> Result<(), Failure> {
    let started = Instant::now();
    let request = body.request(method, client)?;
    let session = Session::start(client, started)?;
    let uri = client.uri.clone();
    let (response, mtype) = session.exchange(move |c| c.request(&uri, request))?;
    print_response(&response, mtype, client.json)
}

/// The request, or a usage error.
pub(crate) fn build(
    method: Code,
    options: OptionsBuilder,
    payload: Vec<u8>,
    non: bool,
    token: Option<Token>,
) -> Result<Request, Failure> {
    let mut builder = Request::builder(method)
        .options(|_| options)
        .payload(payload);
    if non {
        builder = builder.non_confirmable();
    }
    if let Some(token) = token {
        builder = builder.token(token);
    }
    builder
        .build()
        .map_err(|e| Failure::usage(format_args!("invalid request: {e}")))
}

impl BodyArgs {
    /// The request with `method`, these flags and `client`'s (-O, -N).
    pub(crate) fn request(&self, method: Code, client: &ClientArgs) -> Result<Request, Failure> {
        let mut options = extra_options(&client.options)?;
        if let Some(format) = self.content_format {
            options = options.push_content_format(format);
        }
        if let Some(format) = self.accept {
            options = options.push_accept(format);
        }
        build(
            method,
            options,
            self.payload()?,
            client.non,
            client.token()?,
        )
    }

    fn payload(&self) -> Result<Vec<u8>, Failure> {
        if let Some(text) = &self.text {
            return Ok(text.clone().into_bytes());
        }
        match &self.file {
            None => Ok(Vec::new()),
            Some(path) if path.as_os_str() == "-" => {
                let mut bytes = Vec::new();
                io::stdin()
                    .lock()
                    .read_to_end(&mut bytes)
                    .map_err(|e| Failure::io("reading standard input", &e))?;
                Ok(bytes)
            }
            Some(path) => {
                fs::read(path).map_err(|e| Failure::io(&format!("reading {}", path.display()), &e))
            }
        }
    }
}

/// The `-O NUM,VALUE` options.
pub(crate) fn extra_options(args: &[String]) -> Result<OptionsBuilder, Failure> {
    let mut options = Options::builder();
    for arg in args {
        let bad = |why: &str| Failure::usage(format_args!("-O {arg}: {why}"));
        let (number, value) = arg
            .split_once(',')
            .ok_or_else(|| bad("expected NUM,VALUE"))?;
        let number = OptionNumber(
            number
                .trim()
                .parse()
                .map_err(|_| bad("the option number must be 0 to 65535"))?,
        );
        let uint_option = number
            .info()
            .is_some_and(|info| info.format == ValueFormat::Uint);
        options = if let Some(digits) = value
            .strip_prefix("0x")
            .or_else(|| value.strip_prefix("0X"))
        {
            let bytes = hex::decode(digits).map_err(|e| bad(&format!("{e}")))?;
            options.push(number, bytes)
        } else if let (true, Ok(n)) = (uint_option, value.parse::<u32>()) {
            options.push_uint(number, n)
        } else {
            options.push(number, value.as_bytes())
        };
    }
    Ok(options)
}

/// A Content-Format by number, media type or short name.
fn parse_format(text: &str) -> Result<ContentFormat, String> {
    if let Ok(n) = text.parse::<u16>() {
        return Ok(ContentFormat(n));
    }
    let short = match text.to_ascii_lowercase().as_str() {
        "text" | "text/plain" => Some(ContentFormat::TEXT_PLAIN),
        "link" | "link-format" => Some(ContentFormat::LINK_FORMAT),
        "xml" => Some(ContentFormat::XML),
        "octet" | "octet-stream" | "binary" => Some(ContentFormat::OCTET_STREAM),
        "json" => Some(ContentFormat::JSON),
        "cbor" => Some(ContentFormat::CBOR),
        _ => None,
    };
    short
        .or_else(|| ContentFormat::from_media_type(text))
        .ok_or_else(|| {
            format!("unknown content format `{text}`: give a number, a registered media type, or text, link, xml, octet, json, cbor")
        })
}

/// A block size (16 to 1024, a power of two) or an SZX (0 to 6), as an SZX.
fn parse_block_size(text: &str) -> Result<u8, String> {
    let n: u32 = text
        .parse()
        .map_err(|_| format!("`{text}` is not a block size"))?;
    match n {
        0..=6 => u8::try_from(n).map_err(|e| e.to_string()),
        16 | 32 | 64 | 128 | 256 | 512 | 1024 => {
            u8::try_from(n.trailing_zeros() - 4).map_err(|e| e.to_string())
        }
        _ => Err(format!(
            "`{text}` is no block size: 16, 32, 64, 128, 256, 512 or 1024 (or an SZX, 0 to 6)"
        )),
    }
}

/// Seconds, fractions allowed, more than zero.
pub(crate) fn parse_secs(text: &str) -> Result<Duration, String> {
    let secs: f64 = text
        .parse()
        .map_err(|_| format!("`{text}` is not a number of seconds"))?;
    if secs.is_finite() && secs > 0.0 {
        Duration::try_from_secs_f64(secs).map_err(|e| e.to_string())
    } else {
        Err("the timeout must be more than 0 seconds".to_owned())
    }
}

/// A client for one command: the socket, the `-v` log, the type of the last response seen,
/// and the `-B` deadline.
pub(crate) struct Session {
    client: CoapClient,
    last_type: Arc<Mutex<Option<MessageType>>>,
    deadline: Option<(Instant, Duration)>,
}

impl Session {
    /// Checks the URI (a usage error when it is not a `coap://` URI) and opens the client.
    pub(crate) fn start(args: &ClientArgs, started: Instant) -> Result<Session, Failure> {
        check_uri(&args.uri)?;
        let last_type = Arc::new(Mutex::new(None));
        let seen = last_type.clone();
        let verbose = args.verbose;
        let config = Config::new().on_datagram(move |d| {
            if verbose {
                eprintln!("{}", trace::line(d, false));
            }
            if let Some(mtype) = trace::response_type(d) {
                *seen.lock().unwrap_or_else(PoisonError::into_inner) = Some(mtype);
            }
        });
        let config = match args.block_size {
            Some(szx) => config.endpoint(EndpointConfig {
                default_block_szx: szx,
                ..EndpointConfig::default()
            }),
            None => config,
        };
        let client = CoapClient::with_config(config).map_err(failed)?;
        Ok(Session {
            client,
            last_type,
            deadline: args.timeout.map(|t| (started, t)),
        })
    }

    /// Runs `call` with the client, within the `-B` deadline; the response with the type of
    /// the message that brought it.
    pub(crate) fn exchange(
        &self,
        call: impl FnOnce(&CoapClient) -> Result<Response, Error> + Send + 'static,
    ) -> Result<(Response, Option<MessageType>), Failure> {
        let response = self.within_deadline(call)?;
        Ok((response, self.last_type()))
    }

    /// Runs `call` with the client, within the `-B` deadline (exit status 3 when it runs
    /// out).
    pub(crate) fn within_deadline<T: Send + 'static>(
        &self,
        call: impl FnOnce(&CoapClient) -> Result<T, Error> + Send + 'static,
    ) -> Result<T, Failure> {
        let client = self.client.clone();
        let (done, outcome) = mpsc::sync_channel(1);
        // On a thread of its own, so that -B also covers resolving the host name.
        thread::Builder::new()
            .name("tern-coap-request".into())
            .spawn(move || {
                let _ = done.send(call(&client));
            })
            .map_err(|e| Failure::io("starting a thread", &e))?;
        let result = match self.deadline {
            Some((started, limit)) => {
                let left = limit.saturating_sub(started.elapsed());
                match outcome.recv_timeout(left) {
                    Ok(result) => result,
                    Err(RecvTimeoutError::Timeout) => {
                        return Err(Failure::timeout(format_args!(
                            "no response within {} s",
                            limit.as_secs_f64()
                        )));
                    }
                    Err(RecvTimeoutError::Disconnected) => Err(Error::Closed),
                }
            }
            None => outcome.recv().unwrap_or(Err(Error::Closed)),
        };
        result.map_err(failed)
    }

    /// The type of the message that brought the latest response (or notification).
    pub(crate) fn last_type(&self) -> Option<MessageType> {
        *self
            .last_type
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

/// A usage error unless `text` is a `coap://` URI.
fn check_uri(text: &str) -> Result<Uri, Failure> {
    let uri = Uri::parse(text).map_err(|e| Failure::usage(format_args!("{text}: {e}")))?;
    if uri.scheme() != Scheme::Coap {
        return Err(Failure::usage(format_args!(
            "{text}: the {} scheme is not supported yet (only coap://, CoAP over UDP)",
            uri.scheme()
        )));
    }
    Ok(uri)
}

/// The failure for an error of tern-blocking's client (exit status 1, or 2 for a URI).
pub(crate) fn failed(error: Error) -> Failure {
    match error {
        Error::Uri(_) | Error::UnsupportedScheme(_) | Error::Build(_) => Failure::usage(error),
        Error::Timeout => Failure::input("no response: the request was never answered"),
        Error::Reset => Failure::input("the server reset the request (RST)"),
        error => Failure::input(error),
    }
}

/// Prints the response (its payload, or its JSON object) and fails unless it is 2.xx.
pub(crate) fn print_response(
    response: &Response,
    mtype: Option<MessageType>,
    as_json: bool,
) -> Result<(), Failure> {
    if as_json {
        write_stdout(format!("{}\n", json::response(response, mtype)).as_bytes())?;
    } else if !response.payload.is_empty() {
        let mut bytes = response.payload.to_vec();
        if !bytes.ends_with(b"\n") {
            bytes.push(b'\n');
        }
        write_stdout(&bytes)?;
    }
    code_status(response.code)
}

/// Success for 2.xx; otherwise the `tern: error: 4.04 Not Found` failure (exit status 1).
pub(crate) fn code_status(code: Code) -> Result<(), Failure> {
    if code.class() == 2 {
        Ok(())
    } else {
        Err(Failure::input(code))
    }
}

/// Writes to standard output and flushes; a reader that went away is not an error.
pub(crate) fn write_stdout(bytes: &[u8]) -> Result<(), Failure> {
    let mut out = io::stdout().lock();
    match out.write_all(bytes).and_then(|()| out.flush()) {
        Err(e) if e.kind() != io::ErrorKind::BrokenPipe => {
            Err(Failure::io("writing to standard output", &e))
        }
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_formats_by_number_name_and_media_type() {
        assert_eq!(parse_format("0"), Ok(ContentFormat::TEXT_PLAIN));
        assert_eq!(parse_format("text/plain"), Ok(ContentFormat::TEXT_PLAIN));
        assert_eq!(parse_format("JSON"), Ok(ContentFormat::JSON));
        assert_eq!(
            parse_format("application/link-format"),
            Ok(ContentFormat::LINK_FORMAT)
        );
        assert!(parse_format("text/nonsense").is_err());
    }

    #[test]
    fn extra_options_as_text_hex_and_numbers() {
        let options = extra_options(&[
            "14,60".to_owned(),
            "2049,0x0aff".to_owned(),
            "11,a b".to_owned(),
            "65000,42".to_owned(),
        ])
        .unwrap()
        .build()
        .unwrap();
        assert_eq!(options.max_age().unwrap(), 60);
        let values: Vec<(u16, Vec<u8>)> = options
            .iter()
            .map(|o| (o.number.0, o.value.to_vec()))
            .collect();
        assert_eq!(
            values,
            [
                (11, b"a b".to_vec()),
                (14, vec![60]),
                (2049, vec![0x0a, 0xff]),
                (65000, b"42".to_vec())
            ]
        );
        for bad in ["14", "x,1", "70000,1", "1,0xzz"] {
            let e = extra_options(&[bad.to_owned()]).unwrap_err();
            assert_eq!(e.status(), 2, "{bad}");
        }
    }

    #[test]
    fn tokens_as_text_or_hex() {
        let token = |t: &str| parse_token(t).map(|t| t.as_bytes().to_vec());
        assert_eq!(token("abc"), Ok(b"abc".to_vec()));
        assert_eq!(token("12345678"), Ok(b"12345678".to_vec()));
        assert_eq!(token("0xcafe"), Ok(vec![0xca, 0xfe]));
        assert_eq!(
            token("0X00ff00ff00ff00ff"),
            Ok(vec![0, 255, 0, 255, 0, 255, 0, 255])
        );
        assert_eq!(token("é"), Ok("é".as_bytes().to_vec()));
        for bad in [
            "",
            "123456789",
            "0x",
            "0xabc",
            "0xzz",
            "0x010203040506070809",
        ] {
            let e = parse_token(bad).unwrap_err();
            assert_eq!(e.status(), 2, "{bad}");
            assert!(e.message().starts_with("-T "), "{bad}: {}", e.message());
        }
        assert_eq!(
            parse_token("123456789").unwrap_err().message(),
            "-T 123456789: a token has 1 to 8 bytes, not 9"
        );
    }

    #[test]
    fn block_sizes_and_szx() {
        assert_eq!(parse_block_size("16"), Ok(0));
        assert_eq!(parse_block_size("64"), Ok(2));
        assert_eq!(parse_block_size("1024"), Ok(6));
        assert_eq!(parse_block_size("3"), Ok(3));
        for bad in ["7", "100", "2048", "x"] {
            assert!(parse_block_size(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn timeouts_are_positive_seconds() {
        assert_eq!(parse_secs("0.25"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_secs("3"), Ok(Duration::from_secs(3)));
        assert!(parse_secs("0").is_err());
        assert!(parse_secs("-1").is_err());
        assert!(parse_secs("soon").is_err());
    }

    #[test]
    fn only_coap_uris_are_accepted() {
        assert!(check_uri("coap://[::1]:5683/a").is_ok());
        assert_eq!(check_uri("coaps://h/").unwrap_err().status(), 2);
        assert_eq!(check_uri("/relative").unwrap_err().status(), 2);
    }

    #[test]
    fn codes_other_than_2xx_fail_with_their_name() {
        assert!(code_status(Code::CONTENT).is_ok());
        let e = code_status(Code::NOT_FOUND).unwrap_err();
        assert_eq!((e.status(), e.message()), (1, "4.04 Not Found"));
    }
}
