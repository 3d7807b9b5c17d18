//! How a command fails: one `tern: error: …` line on stderr (naming the program, for scripts
//! that mix several tools), optional `hint:` lines, and an exit status that tells scripts
//! whose fault it was.

use std::fmt;
use std::io;
use std::process::ExitCode;

/// Exit status for bad input data (a malformed or incomplete packet) and I/O failures.
pub(crate) const STATUS_INPUT: u8 = 1;
/// Exit status for usage errors; clap uses the same status for bad arguments.
pub(crate) const STATUS_USAGE: u8 = 2;
/// Exit status of `tern mqtt sub -W` when the time ran out.
pub(crate) const STATUS_TIMEOUT: u8 = 3;

/// A command's failure, reported by `main`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Failure {
    status: u8,
    message: String,
    hints: Vec<String>,
}

impl Failure {
    /// The input is not valid for the protocol (exit status 1).
    pub(crate) fn input(message: impl fmt::Display) -> Self {
        Failure {
            status: STATUS_INPUT,
            message: message.to_string(),
            hints: Vec::new(),
        }
    }

    /// The command was used wrongly, e.g. given text that is not hex (exit status 2).
    pub(crate) fn usage(message: impl fmt::Display) -> Self {
        Failure {
            status: STATUS_USAGE,
            message: message.to_string(),
            hints: Vec::new(),
        }
    }

    /// `tern mqtt sub -W` ran out of time (exit status 3).
    pub(crate) fn timeout(message: impl fmt::Display) -> Self {
        Failure {
            status: STATUS_TIMEOUT,
            message: message.to_string(),
            hints: Vec::new(),
        }
    }

    /// Reading or writing failed (exit status 1).
    pub(crate) fn io(context: &str, error: &io::Error) -> Self {
        Failure::input(format_args!("{context}: {error}"))
    }

    /// Adds a line of advice printed after the error.
    pub(crate) fn with_hint(mut self, hint: impl fmt::Display) -> Self {
        self.hints.push(hint.to_string());
        self
    }

    /// The exit status.
    #[cfg(test)]
    pub(crate) fn status(&self) -> u8 {
        self.status
    }

    /// The error message, without the `tern: error: ` prefix.
    #[cfg(test)]
    pub(crate) fn message(&self) -> &str {
        &self.message
    }

    /// The hints, without the `hint: ` prefix.
    #[cfg(test)]
    pub(crate) fn hints(&self) -> &[String] {
        &self.hints
    }

    /// Prints the failure to stderr and gives the exit status.
    pub(crate) fn report(&self) -> ExitCode {
        // One style for every command, as mosquitto's and coap-client's users grep for it.
        eprintln!("tern: error: {}", self.message);
        for hint in &self.hints {
            eprintln!("hint: {hint}");
        }
        ExitCode::from(self.status)
    }
}
