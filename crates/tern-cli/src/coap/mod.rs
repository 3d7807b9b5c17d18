//! `tern coap …`: the CoAP commands, one module each, and [`json`], the mapping of CoAP
//! messages to JSON that they print.

use clap::Subcommand;

use crate::failure::Failure;

mod decode;
mod json;

/// The `tern coap` subcommands.
#[derive(Debug, Subcommand)]
pub(crate) enum CoapCommand {
    /// Decode CoAP messages from hex or raw bytes into one JSON object per message.
    #[command(long_about = decode::LONG_ABOUT, after_help = decode::EXAMPLES)]
    Decode(decode::DecodeArgs),
}

/// Runs a CoAP subcommand.
pub(crate) fn run(command: CoapCommand) -> Result<(), Failure> {
    match command {
        CoapCommand::Decode(args) => decode::run(&args),
    }
}
