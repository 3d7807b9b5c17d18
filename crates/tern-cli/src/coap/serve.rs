//! `tern coap serve`: a CoAP server with a few demonstration resources (and, with
//! `--plugtest`, those of the ETSI CoAP plugtests), on tern-blocking, until killed.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};
use std::thread;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use clap::Args;
use tern_blocking::coap::{
    CoapServer, Code, Config, Error, Incoming, Notifier, Request, Response, Router,
};
use tern_coap::value::ContentFormat;

use super::{plugtest, trace};
use crate::failure::Failure;

/// `--help` text after the options.
pub(crate) const EXAMPLES: &str = "\
Resources:
  /hello          GET: 2.05 \"Hello, world!\" (text/plain), or what was last PUT or POSTed;
                  PUT, POST: 2.04, store the payload
  /time           GET, observable: seconds since the epoch, a notification every second
  /large          GET: 2.05, a text of 4,900 bytes (in Block2 blocks)
  /store          POST: 2.01, stores the payload under a new name (Location-Path store/N)
  /store/NAME     PUT: 2.01 or 2.04; GET: 2.05 or 4.04; DELETE: 2.02
  /separate       GET: an empty ACK, then \"separate\" in a separate response after 2 s
  /.well-known/core  the resources above, filtered by the query (?rt=tern.hello, ?href=/s*)

Bodies of any size (up to 64 KiB) come and go in blocks (RFC 7959), and observers of /time \
get a notification a second (RFC 7641).

With --plugtest, the ETSI CoAP plugtest (td-coap4) resources too: /test, /seg1/seg2/seg3 \
(with sz), /query, /location-query, /multi-format, /validate, /create1, /link1, /link2, \
/link3, /link4 (rt=\"\"), /path, /large-update, /large-create, /large-post, and the \
observable /obs, /obs-large, /obs-non (NON notifications, whatever the registration) and \
/obs-pumping (bursts of 4 changes), each changing every 5 s; POST sesame to /obs-reset \
makes them forget their observers without telling them, as a reboot would (with ?notfound: \
ends every observation with 4.04).

Examples:
  tern coap serve
  tern coap serve --bind 127.0.0.1:0 -v
  tern coap serve --bind '[::1]:5683' --plugtest

Once bound, `listening on ADDR` goes to standard error (with the port the system picked for \
port 0). The server runs until killed. Exit status: 1 when the address cannot be bound, 2 on \
a usage error.";

/// Arguments of `tern coap serve`.
#[derive(Debug, Args)]
pub(crate) struct ServeArgs {
    /// The address to listen on (default: `[::]:5683`, which takes IPv4 too where the system's
    /// sockets are dual-stack, else 0.0.0.0:5683).
    #[arg(long, value_name = "ADDR:PORT")]
    bind: Option<SocketAddr>,

    /// Also serve the ETSI CoAP plugtest resources.
    #[arg(long)]
    plugtest: bool,

    /// Print every message sent and received on standard error, with the peer's address.
    #[arg(short = 'v', long)]
    verbose: bool,
}

/// How long /separate takes to answer.
const SEPARATE_DELAY: Duration = Duration::from_secs(2);

/// The size of /large: the contract's "4,000+ bytes", not a multiple of any block size.
const LARGE_LEN: usize = 4900;

/// A resource that changes on its own: every `every`, its observers get `state()`, `burst`
/// times in a row.
pub(crate) struct Ticker {
    pub(crate) every: Duration,
    pub(crate) notifier: Notifier,
    pub(crate) state: fn() -> Response,
    /// Changes per tick (1; more for /obs-pumping).
    pub(crate) burst: u32,
}

impl Ticker {
    /// A ticker that notifies once per tick, always.
    pub(crate) fn new(every: Duration, notifier: Notifier, state: fn() -> Response) -> Ticker {
        Ticker {
            every,
            notifier,
            state,
            burst: 1,
        }
    }

    /// Notifies for as long as the process runs (with nobody observing, a notification
    /// costs a message to the server's own thread and sends nothing).
    fn start(self) -> Result<(), Failure> {
        thread::Builder::new()
            .name("tern-coap-ticker".into())
            .spawn(move || {
                loop {
                    thread::sleep(self.every);
                    for _ in 0..self.burst {
                        if self.notifier.notify((self.state)()).is_err() {
                            // The server is closed.
                            return;
                        }
                    }
                }
            })
            .map(drop)
            .map_err(|e| Failure::io("starting a thread", &e))
    }
}

/// Runs `tern coap serve`.
pub(crate) fn run(args: &ServeArgs) -> Result<(), Failure> {
    let mut config = Config::new();
    if args.plugtest {
        config = config.endpoint(plugtest::endpoint_config());
    }
    if args.verbose {
        config = config.on_datagram(|d| eprintln!("{}", trace::line(d, true)));
    }
    let bind = |addr: SocketAddr| {
        CoapServer::bind_with(addr, config.clone())
            .map_err(|e| Failure::input(format_args!("cannot listen on {addr}: {e}")))
    };
    let server = match args.bind {
        Some(addr) => bind(addr)?,
        None => bind(SocketAddr::from(([0u16; 8], 5683)))
            .or_else(|_| bind(SocketAddr::from(([0, 0, 0, 0], 5683))))?,
    };
    let mut router = resources();
    let mut tickers = vec![Ticker::new(
        Duration::from_secs(1),
        server.notifier("/time"),
        time,
    )];
    if args.plugtest {
        let (more, ticking) = plugtest::resources(router, &server);
        router = more;
        tickers.extend(ticking);
    }
    let local = server.local_addr();
    let running = server.serve(router).map_err(|e| match e {
        Error::Route(e) => Failure::input(format_args!("internal: {e}")),
        e => Failure::input(e),
    })?;
    for ticker in tickers {
        ticker.start()?;
    }
    eprintln!("listening on {local}");
    running.wait();
    Err(Failure::input("the server's socket failed"))
}

/// /time: seconds since the epoch, as text.
fn time() -> Response {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    text(Code::CONTENT, secs.to_string())
}

/// Numbered lines of text, `len` bytes, ending with a newline: a misplaced block shows where
/// it came from.
pub(crate) fn large_text(len: usize) -> Bytes {
    let mut text = String::with_capacity(len + 64);
    let mut line = 0;
    while text.len() < len {
        text.push_str(&format!(
            "{line:04} the quick brown fox jumps over the lazy dog\n"
        ));
        line += 1;
    }
    text.truncate(len.saturating_sub(1));
    text.push('\n');
    Bytes::from(text)
}

pub(crate) fn text(code: Code, payload: impl Into<bytes::Bytes>) -> Response {
    Response::builder(code)
        .options(|o| o.push_content_format(ContentFormat::TEXT_PLAIN))
        .payload(payload)
        .build()
        .unwrap_or_else(|_| Response::new(Code::INTERNAL_SERVER_ERROR))
}

/// A stored body and its Content-Format.
#[derive(Debug, Clone)]
struct Body {
    payload: bytes::Bytes,
    format: Option<ContentFormat>,
}

impl Body {
    fn of(request: &Request) -> Body {
        Body {
            payload: request.payload.clone(),
            format: request.options.content_format().ok().flatten(),
        }
    }

    fn response(&self) -> Response {
        let format = self.format;
        Response::builder(Code::CONTENT)
            .options(|o| match format {
                Some(f) => o.push_content_format(f),
                None => o,
            })
            .payload(self.payload.clone())
            .build()
            .unwrap_or_else(|_| Response::new(Code::INTERNAL_SERVER_ERROR))
    }
}

/// What `/store` holds, and the next name POST gives.
#[derive(Debug, Default)]
struct Store {
    items: BTreeMap<String, Body>,
    next: u64,
}

impl Store {
    fn new_name(&mut self) -> String {
        loop {
            self.next += 1;
            let name = self.next.to_string();
            if !self.items.contains_key(&name) {
                return name;
            }
        }
    }
}

pub(crate) fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The resources of the CLI contract.
fn resources() -> Router {
    let hello = Arc::new(Mutex::new(Body {
        payload: bytes::Bytes::from_static(b"Hello, world!"),
        format: Some(ContentFormat::TEXT_PLAIN),
    }));
    let store = Arc::new(Mutex::new(Store::default()));
    let (hello_get, hello_put, hello_post) = (hello.clone(), hello.clone(), hello);
    let (store_post, store_put, store_get, store_delete) =
        (store.clone(), store.clone(), store.clone(), store);
    Router::new()
        .get("/hello", move |i: Incoming| {
            let body = lock(&hello_get).clone();
            i.respond(body.response());
        })
        .attributes(r#"rt="tern.hello";ct=0"#)
        .put("/hello", move |i: Incoming| {
            *lock(&hello_put) = Body::of(&i.request);
            i.respond(Response::new(Code::CHANGED));
        })
        .post("/hello", move |i: Incoming| {
            *lock(&hello_post) = Body::of(&i.request);
            i.respond(Response::new(Code::CHANGED));
        })
        .observable("/time", |i: Incoming| i.respond(time()))
        .attributes(r#"rt="tern.time";ct=0"#)
        .get("/large", |i: Incoming| {
            i.respond(text(Code::CONTENT, large_text(LARGE_LEN)))
        })
        .attributes(r#"rt="tern.large";ct=0"#)
        .post("/store", move |i: Incoming| {
            let name = {
                let mut store = lock(&store_post);
                let name = store.new_name();
                store.items.insert(name.clone(), Body::of(&i.request));
                name
            };
            let created = Response::builder(Code::CREATED)
                .options(|o| {
                    o.push_location_path("store")
                        .and_then(|o| o.push_location_path(&name))
                        .unwrap_or_default()
                })
                .build()
                .unwrap_or_else(|_| Response::new(Code::INTERNAL_SERVER_ERROR));
            i.respond(created);
        })
        .attributes(r#"rt="tern.store""#)
        .put("/store/{name}", move |i: Incoming| {
            let name = i.params.get("name").unwrap_or_default().to_owned();
            let existed = lock(&store_put)
                .items
                .insert(name, Body::of(&i.request))
                .is_some();
            let code = if existed {
                Code::CHANGED
            } else {
                Code::CREATED
            };
            i.respond(Response::new(code));
        })
        .get("/store/{name}", move |i: Incoming| {
            let body = lock(&store_get)
                .items
                .get(i.params.get("name").unwrap_or_default())
                .cloned();
            i.respond(match body {
                Some(body) => body.response(),
                None => Response::new(Code::NOT_FOUND),
            });
        })
        .delete("/store/{name}", move |i: Incoming| {
            lock(&store_delete)
                .items
                .remove(i.params.get("name").unwrap_or_default());
            i.respond(Response::new(Code::DELETED));
        })
        .get("/separate", |i: Incoming| {
            // Later than the endpoint's piggyback delay: an empty ACK goes first.
            let responder = i.responder;
            let spawned = thread::Builder::new()
                .name("tern-separate".into())
                .spawn(move || {
                    thread::sleep(SEPARATE_DELAY);
                    responder.respond(text(Code::CONTENT, "separate"));
                });
            if let Err(e) = spawned {
                // The responder went with the closure: it answers 5.00 as it is dropped.
                tracing::warn!(error = %e, "could not start a thread for /separate");
            }
        })
        .attributes(r#"rt="tern.separate";ct=0"#)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_routes_are_valid() {
        assert_eq!(resources().error(), None);
    }

    #[test]
    fn well_known_core_lists_the_resources_with_their_attributes() {
        assert_eq!(
            resources().well_known_core(),
            r#"</hello>;rt="tern.hello";ct=0,</time>;rt="tern.time";ct=0;obs,</large>;rt="tern.large";ct=0,</store>;rt="tern.store",</separate>;rt="tern.separate";ct=0"#
        );
    }

    #[test]
    fn large_text_has_the_length_asked_for() {
        let body = large_text(LARGE_LEN);
        assert_eq!(body.len(), LARGE_LEN);
        assert!(body.starts_with(b"0000 the quick brown fox"));
        assert!(body.ends_with(b"\n"));
    }

    #[test]
    fn time_is_seconds_since_the_epoch() {
        let now = time();
        let secs: u64 = std::str::from_utf8(&now.payload).unwrap().parse().unwrap();
        assert!(secs > 1_700_000_000);
    }
}
