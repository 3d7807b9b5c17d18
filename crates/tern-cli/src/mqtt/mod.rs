//! `tern mqtt …`: the MQTT commands, one module each, [`json`], the mapping of MQTT packets to
//! JSON that they print, and [`connect`], what the client commands (`pub`, `sub`) share.

use clap::Subcommand;

use crate::failure::Failure;

mod connect;
mod decode;
mod json;
mod publish;
mod subscribe;
mod trace;

/// The `tern mqtt` subcommands.
#[derive(Debug, Subcommand)]
pub(crate) enum MqttCommand {
    /// Decode MQTT packets from hex or raw bytes into one JSON object per packet.
    #[command(long_about = decode::LONG_ABOUT, after_help = decode::EXAMPLES)]
    Decode(decode::DecodeArgs),
    /// Publish a message (or one per line of standard input) to an MQTT broker, as
    /// mosquitto_pub does.
    #[command(
        disable_help_flag = true,
        disable_version_flag = true,
        after_help = publish::EXAMPLES
    )]
    Pub(Box<publish::PubArgs>),
    /// Subscribe to topic filters on an MQTT broker and print the messages, as mosquitto_sub
    /// does.
    #[command(
        disable_help_flag = true,
        disable_version_flag = true,
        after_help = subscribe::EXAMPLES
    )]
    Sub(Box<subscribe::SubArgs>),
}

/// Runs an MQTT subcommand.
pub(crate) fn run(command: MqttCommand) -> Result<(), Failure> {
    match command {
        MqttCommand::Decode(args) => decode::run(&args),
        MqttCommand::Pub(args) => publish::run(&args),
        MqttCommand::Sub(args) => subscribe::run(&args),
    }
}
