//! `tern coap observe URI`: register as an observer (RFC 7641) and print the response and
//! every notification, one line (or one JSON object) each, until `-s` runs out, the server
//! ends the observation, or Ctrl-C.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use clap::Args;
use tern_blocking::coap::Response;

use super::client::{self, BodyArgs, ClientArgs, Session};
use super::json;
use crate::failure::Failure;

/// `--help` examples.
pub(crate) const EXAMPLES: &str = "\
Examples:
  tern coap observe coap://localhost/time -s 10
  tern coap observe coap://[::1]/sensors/temp -A json --json
  tern coap observe coap://localhost/time -T obs1 -v

Each notification prints as one line: its payload (followed by a newline unless it ends with \
one), or with --json one object. -B bounds the wait for the first response; -s the whole \
observation, after which tern deregisters (a GET with Observe = 1) and exits. Ctrl-C \
deregisters too. A resource that cannot be observed answers once, without Observe: that \
response prints and the command ends.

Exit status: 0 when -s ran out, on Ctrl-C, or when the server ended the observation with a \
2.xx; 1 when it ended with 4.xx/5.xx (`tern: error: 4.04 Not Found`), or a re-registration \
failed; 2 on a usage error; 3 when -B ran out before the first response.";

/// Arguments of `tern coap observe`.
#[derive(Debug, Args)]
pub(crate) struct ObserveArgs {
    #[command(flatten)]
    client: ClientArgs,

    #[command(flatten)]
    body: BodyArgs,

    /// Observe for SECS seconds (fractions allowed), then deregister and exit.
    #[arg(short = 's', long = "duration", value_name = "SECS", value_parser = client::parse_secs)]
    duration: Option<Duration>,
}

/// How long the wait for a notification lasts before Ctrl-C is looked at again.
const INTERRUPT_CHECK: Duration = Duration::from_millis(200);

/// Runs `tern coap observe`.
pub(crate) fn run(args: &ObserveArgs) -> Result<(), Failure> {
    let started = Instant::now();
    let request = args.body.request(tern_coap::Code::GET, &args.client)?;
    let session = Session::start(&args.client, started)?;
    let uri = args.client.uri.clone();
    let mut observation = session.within_deadline(move |c| c.observe_with(&uri, request))?;
    let until = args.duration.map(|d| Instant::now() + d);

    // Ctrl-C ends the loop below, which then deregisters.
    let interrupted = Arc::new(AtomicBool::new(false));
    let flag = interrupted.clone();
    if let Err(e) = ctrlc::set_handler(move || flag.store(true, Ordering::SeqCst)) {
        tracing::debug!(error = %e, "Ctrl-C will not deregister");
    }

    let mut last: Option<Response> = None;
    loop {
        if interrupted.load(Ordering::SeqCst) {
            return Ok(());
        }
        let wait = match until {
            Some(until) => {
                let left = until.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    // Dropping the observation deregisters.
                    return Ok(());
                }
                left.min(INTERRUPT_CHECK)
            }
            None => INTERRUPT_CHECK,
        };
        match observation.recv_timeout(wait) {
            Err(_) => continue,
            Ok(Some(notification)) => {
                print(&notification, &session, args.client.json)?;
                last = Some(notification);
            }
            Ok(None) => break,
        }
    }
    if let Some(error) = observation.failure() {
        return Err(client::failed(error));
    }
    match last {
        Some(response) => client::code_status(response.code),
        None => Ok(()),
    }
}

fn print(notification: &Response, session: &Session, as_json: bool) -> Result<(), Failure> {
    if as_json {
        let line = json::response(notification, session.last_type());
        return client::write_stdout(format!("{line}\n").as_bytes());
    }
    let mut bytes = notification.payload.to_vec();
    if !bytes.ends_with(b"\n") {
        bytes.push(b'\n');
    }
    client::write_stdout(&bytes)
}
