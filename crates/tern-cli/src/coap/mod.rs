//! `tern coap …`: the CoAP commands, one module each, [`json`], the mapping of CoAP messages
//! to JSON that they print, [`client`], what the client commands share, and [`trace`], the
//! `-v` lines.

use clap::{Args, Subcommand};

use crate::failure::Failure;

mod client;
mod decode;
mod discover;
mod json;
mod observe;
mod plugtest;
mod serve;
mod trace;

/// `--help` text after the options of `tern coap`.
pub(crate) const EXAMPLES: &str = "\
Examples:
  tern coap get coap://localhost/hello
  tern coap post coap://localhost/hello -e world -t text
  tern coap -m fetch coap://[::1]/items -f query.json -t json -A cbor
  tern coap get coap://localhost/hello -T 0xcafe -v
  tern coap observe coap://localhost/time -s 10
  tern coap discover coap://localhost
  tern coap serve --bind 127.0.0.1:5683 -v
  tern coap decode 42015e7c19acb568656c6c6f

Requests are Confirmable unless -N is given, and are retransmitted as RFC 7252 says; their \
token is random unless -T names one (text, or hex after 0x). The \
output is the response's payload, followed by a newline unless it ends with one (nothing for \
an empty payload); with --json one object per response.

Exit status: 0 on a 2.xx response; 1 on 4.xx/5.xx (with `tern: error: 4.04 Not Found` on \
standard error), a timeout or a reset; 2 on a usage error; 3 when -B ran out.";

/// `tern coap`: a subcommand, or `-m METHOD URI` for a request with any method. (`main`
/// gives its command the settings that let the two forms coexist.)
#[derive(Debug, Args)]
pub(crate) struct CoapArgs {
    #[command(subcommand)]
    command: Option<CoapCommand>,

    /// The method of a request given without a subcommand (default: get).
    #[arg(short = 'm', long = "method", value_name = "METHOD")]
    method: Option<client::Method>,

    #[command(flatten)]
    client: Option<client::ClientArgs>,

    #[command(flatten)]
    body: Option<client::BodyArgs>,
}

/// A request command's arguments.
#[derive(Debug, Args)]
pub(crate) struct RequestArgs {
    #[command(flatten)]
    client: client::ClientArgs,

    #[command(flatten)]
    body: client::BodyArgs,
}

/// The `tern coap` subcommands.
#[derive(Debug, Subcommand)]
pub(crate) enum CoapCommand {
    /// GET a resource and print its payload.
    #[command(after_help = EXAMPLES)]
    Get(RequestArgs),
    /// POST a payload (-e TEXT or -f FILE) and print the response's payload.
    #[command(after_help = EXAMPLES)]
    Post(RequestArgs),
    /// PUT a payload (-e TEXT or -f FILE) and print the response's payload.
    #[command(after_help = EXAMPLES)]
    Put(RequestArgs),
    /// DELETE a resource.
    #[command(after_help = EXAMPLES)]
    Delete(RequestArgs),
    /// Observe a resource (RFC 7641): print its notifications as they come.
    #[command(after_help = observe::EXAMPLES)]
    Observe(observe::ObserveArgs),
    /// List a server's resources: its /.well-known/core (RFC 6690), optionally filtered.
    #[command(after_help = discover::EXAMPLES)]
    Discover(discover::DiscoverArgs),
    /// Serve a few demonstration resources (and, with --plugtest, the ETSI plugtest ones)
    /// until killed.
    #[command(after_help = serve::EXAMPLES)]
    Serve(serve::ServeArgs),
    /// Decode CoAP messages from hex or raw bytes into one JSON object per message.
    #[command(long_about = decode::LONG_ABOUT, after_help = decode::EXAMPLES)]
    Decode(decode::DecodeArgs),
}

/// Runs `tern coap …`.
pub(crate) fn run(args: CoapArgs) -> Result<(), Failure> {
    let command = match (args.command, args.client) {
        (Some(command), _) => command,
        (None, Some(c)) => {
            let method = args.method.unwrap_or(client::Method::Get);
            return client::run(method.code(), &c, &args.body.unwrap_or_default());
        }
        // clap asks for the URI (or prints the help) before this.
        (None, None) => return Err(Failure::usage("a subcommand or a URI is needed")),
    };
    match command {
        CoapCommand::Get(a) => client::run(tern_coap::Code::GET, &a.client, &a.body),
        CoapCommand::Post(a) => client::run(tern_coap::Code::POST, &a.client, &a.body),
        CoapCommand::Put(a) => client::run(tern_coap::Code::PUT, &a.client, &a.body),
        CoapCommand::Delete(a) => client::run(tern_coap::Code::DELETE, &a.client, &a.body),
        CoapCommand::Observe(args) => observe::run(&args),
        CoapCommand::Discover(args) => discover::run(&args),
        CoapCommand::Serve(args) => serve::run(&args),
        CoapCommand::Decode(args) => decode::run(&args),
    }
}
