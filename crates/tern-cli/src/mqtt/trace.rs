//! `-d` also shows what the connection's driver thread logs through `tracing`: connected,
//! reconnecting, connection errors. A few lines of subscriber print tern-blocking's info and
//! warn events as `-d` lines, so no logging framework is needed.

use std::fmt::{self, Write as _};

use tracing::field::{Field, Visit};
use tracing::{Event, Level, Metadata, Subscriber, span};

/// Prints tern-blocking's events at info level and above as `Client ID message (fields)`.
struct DebugLines {
    client: String,
}

impl Subscriber for DebugLines {
    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        *metadata.level() <= Level::INFO && metadata.target().starts_with("tern_blocking")
    }

    fn new_span(&self, _: &span::Attributes<'_>) -> span::Id {
        // Spans are not shown; every one gets the same id.
        span::Id::from_u64(1)
    }

    fn record(&self, _: &span::Id, _: &span::Record<'_>) {}

    fn record_follows_from(&self, _: &span::Id, _: &span::Id) {}

    fn event(&self, event: &Event<'_>) {
        let mut fields = Fields::default();
        event.record(&mut fields);
        let Fields { message, rest } = fields;
        if rest.is_empty() {
            eprintln!("Client {} {message}", self.client);
        } else {
            eprintln!("Client {} {message} ({rest})", self.client);
        }
    }

    fn enter(&self, _: &span::Id) {}

    fn exit(&self, _: &span::Id) {}
}

/// An event's message and its other fields as `name value, …`.
#[derive(Default)]
struct Fields {
    message: String,
    rest: String,
}

impl Fields {
    fn add(&mut self, field: &Field, value: fmt::Arguments<'_>) {
        if field.name() == "message" {
            let _ = self.message.write_fmt(value);
        } else {
            if !self.rest.is_empty() {
                self.rest.push_str(", ");
            }
            let _ = write!(self.rest, "{} {value}", field.name());
        }
    }
}

impl Visit for Fields {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.add(field, format_args!("{value}"));
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.add(field, format_args!("{value:?}"));
    }
}

/// Sends tern-blocking's logs to standard error as `-d` lines for `client`.
pub(crate) fn install(client: &str) {
    // Only fails when a subscriber is set already, and then that one logs.
    let _ = tracing::subscriber::set_global_default(DebugLines {
        client: client.to_owned(),
    });
}
