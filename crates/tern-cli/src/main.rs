//! The `tern` command line.
//!
//! One binary, a tree of subcommands by protocol: `tern mqtt decode|pub|sub`, `tern coap
//! get|post|put|delete|observe|discover|serve|decode` (and `tern coap -m METHOD URI`) and `tern
//! broker passwd` today; serving with `tern broker` is to come. Each group has a module
//! ([`mqtt`], [`coap`], [`broker`]) with a clap
//! `Subcommand` enum, one module per command and its own mapping of
//! packets to JSON; pieces every protocol shares live beside them ([`hex`] for hex input and
//! output, [`json`] for JSON lines with ordered keys, [`stdio`] for where input comes from and
//! how output ends, [`failure`] for errors and exit statuses).
//!
//! Exit statuses, the same for every command:
//!
//! - 0: success;
//! - 1: the input is bad (a malformed or incomplete packet or message, a password file that
//!   does not parse, passwords that do not match), reading / writing failed, or the peer said
//!   no (a CoAP 4.xx/5.xx response, a reset, no answer at all);
//! - 2: usage error: bad arguments (clap's own status) or input that is not what the command
//!   was told to expect, such as invalid hex or a URI that is not `coap://`;
//! - 3: `tern mqtt sub -W` or a CoAP request's `-B` ran out of time.
//!
//! Every command reports errors as one `tern: error: …` line on stderr.
//!
//! ```text
//! $ tern mqtt decode 301a001373656e736f72732f74656d70657261747572650032312e35
//! {"type":"PUBLISH","flags":0,"dup":false,"qos":0,"retain":false,...}
//! ```

use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod broker;
mod coap;
mod failure;
mod hex;
mod json;
mod mqtt;
mod stdio;

/// Command-line tools for MQTT and CoAP: decode packets and messages, publish and subscribe,
/// send CoAP requests and serve CoAP resources.
#[derive(Debug, Parser)]
#[command(name = "tern", version, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// MQTT 3.1, 3.1.1 and 5.0 tools.
    #[command(subcommand)]
    Mqtt(mqtt::MqttCommand),
    /// CoAP tools: requests (get, post, put, delete, -m METHOD), observe, discover, serve, and
    /// decode (RFC 7252, and RFC 8323 over TCP and WebSockets).
    #[command(
        args_conflicts_with_subcommands = true,
        subcommand_negates_reqs = true,
        arg_required_else_help = true,
        after_help = coap::EXAMPLES
    )]
    Coap(Box<coap::CoapArgs>),
    /// The MQTT broker (3.1, 3.1.1 and 5.0; TCP and TLS), and passwd for its password file.
    #[command(args_conflicts_with_subcommands = true, after_help = broker::EXAMPLES)]
    Broker(Box<broker::BrokerArgs>),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Mqtt(command) => mqtt::run(command),
        Command::Coap(args) => coap::run(*args),
        Command::Broker(args) => broker::run(*args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => failure.report(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_definition_is_consistent() {
        Cli::command().debug_assert();
    }
}
