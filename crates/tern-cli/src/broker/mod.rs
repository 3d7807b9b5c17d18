//! `tern broker`: the MQTT broker (`tern broker [-c FILE] [-p PORT]`), and its tools
//! (`tern broker passwd`, the password file).

use clap::{Args, Subcommand};

use crate::failure::Failure;

mod config;
mod passwd;
mod serve;

pub(crate) use serve::EXAMPLES;

/// `tern broker`: serving options, or a subcommand.
#[derive(Debug, Args)]
pub(crate) struct BrokerArgs {
    #[command(subcommand)]
    command: Option<BrokerCommand>,
    #[command(flatten)]
    serve: serve::ServeArgs,
}

/// The `tern broker` subcommands.
#[derive(Debug, Subcommand)]
pub(crate) enum BrokerCommand {
    /// Add, change or delete a user in a broker password file (Argon2id hashes), as
    /// mosquitto_passwd does.
    #[command(long_about = passwd::LONG_ABOUT, after_help = passwd::EXAMPLES)]
    Passwd(passwd::PasswdArgs),
}

/// Runs the broker, or a broker subcommand.
pub(crate) fn run(args: BrokerArgs) -> Result<(), Failure> {
    match args.command {
        Some(BrokerCommand::Passwd(passwd)) => passwd::run(&passwd),
        None => serve::run(&args.serve),
    }
}
