//! `tern broker …`: the broker's tools. Today only `passwd`, which manages the password file
//! the broker reads.
//!
//! Serving (`tern broker [-c FILE] [-p PORT]`) is to come. It can keep these subcommands
//! the way `tern coap` keeps its own beside the request arguments: turn the group into an
//! `Args` struct with the serving options flattened in and an optional `BrokerCommand`
//! (`args_conflicts_with_subcommands`, `subcommand_negates_reqs`).

use clap::Subcommand;

use crate::failure::Failure;

mod passwd;

/// The `tern broker` subcommands.
#[derive(Debug, Subcommand)]
pub(crate) enum BrokerCommand {
    /// Add, change or delete a user in a broker password file (Argon2id hashes), as
    /// mosquitto_passwd does.
    #[command(long_about = passwd::LONG_ABOUT, after_help = passwd::EXAMPLES)]
    Passwd(passwd::PasswdArgs),
}

/// Runs a broker subcommand.
pub(crate) fn run(command: BrokerCommand) -> Result<(), Failure> {
    match command {
        BrokerCommand::Passwd(args) => passwd::run(&args),
    }
}
