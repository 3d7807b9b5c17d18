//! `tern mqtt …`: the MQTT commands, one module each, and [`json`], the mapping of MQTT
//! packets to JSON that they print.

use clap::Subcommand;

use crate::failure::Failure;

mod decode;
mod json;

/// The `tern mqtt` subcommands.
#[derive(Debug, Subcommand)]
pub(crate) enum MqttCommand {
    /// Decode MQTT packets from hex or raw bytes into one JSON object per packet.
    #[command(long_about = decode::LONG_ABOUT, after_help = decode::EXAMPLES)]
    Decode(decode::DecodeArgs),
}

/// Runs an MQTT subcommand.
pub(crate) fn run(command: MqttCommand) -> Result<(), Failure> {
    match command {
        MqttCommand::Decode(args) => decode::run(&args),
    }
}
