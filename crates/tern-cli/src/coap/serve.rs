//! `tern coap serve`: a CoAP server with a few demonstration resources (and, with
//! `--plugtest`, those of the ETSI CoAP plugtests), on tern-blocking, until killed.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};
use std::thread;
use std::time::Duration;

use clap::Args;
use tern_blocking::coap::{CoapServer, Code, Config, Error, Incoming, Request, Response, Router};
use tern_coap::value::{ContentFormat, ETag, IfMatch};

use super::trace;
use crate::failure::Failure;

/// `--help` text after the options.
pub(crate) const EXAMPLES: &str = "\
Resources:
  /hello          GET: 2.05 \"Hello, world!\" (text/plain), or what was last PUT or POSTed;
                  PUT, POST: 2.04, store the payload
  /store          POST: 2.01, stores the payload under a new name (Location-Path store/N)
  /store/NAME     PUT: 2.01 or 2.04; GET: 2.05 or 4.04; DELETE: 2.02
  /separate       GET: an empty ACK, then \"separate\" in a separate response after 2 s
  /.well-known/core  the resources above, filtered by the query (?rt=tern.hello, ?href=/s*)

With --plugtest, the ETSI CoAP plugtest (td-coap4) resources too: /test, /seg1/seg2/seg3, \
/query, /location-query, /multi-format, /validate, /create1, /link1, /link2, /link3, /path.

Not yet: /time (Observe) and /large (Block2), and bodies larger than one datagram (Block1: \
the first block of one is answered 4.13): they need the endpoint's Observe and block-wise \
support, which is still to come.

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

/// Runs `tern coap serve`.
pub(crate) fn run(args: &ServeArgs) -> Result<(), Failure> {
    let mut config = Config::new();
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
    if args.plugtest {
        router = plugtest(router);
    }

    let local = server.local_addr();
    let running = server.serve(router).map_err(|e| match e {
        Error::Route(e) => Failure::input(format_args!("internal: {e}")),
        e => Failure::input(e),
    })?;
    eprintln!("listening on {local}");
    running.wait();
    Err(Failure::input("the server's socket failed"))
}

fn text(code: Code, payload: impl Into<bytes::Bytes>) -> Response {
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

/// `handler`, for requests whose body is whole: the first block of a larger one (Block1 with
/// more to come) is answered 4.13 Request Entity Too Large, since reassembling it is the
/// endpoint's block-wise support, still to come, and storing one block would lose the rest.
fn whole(handler: impl Fn(Incoming) + Send + Sync + 'static) -> impl Fn(Incoming) + Send + Sync {
    move |i: Incoming| {
        if let Ok(Some(block)) = i.request.options.block1(false) {
            if block.more() {
                let too_large = Response::new(Code::REQUEST_ENTITY_TOO_LARGE)
                    .with_payload("block-wise transfers are not supported yet");
                return i.respond(too_large);
            }
        }
        handler(i);
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
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
        .put(
            "/hello",
            whole(move |i: Incoming| {
                *lock(&hello_put) = Body::of(&i.request);
                i.respond(Response::new(Code::CHANGED));
            }),
        )
        .post(
            "/hello",
            whole(move |i: Incoming| {
                *lock(&hello_post) = Body::of(&i.request);
                i.respond(Response::new(Code::CHANGED));
            }),
        )
        .post(
            "/store",
            whole(move |i: Incoming| {
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
            }),
        )
        .attributes(r#"rt="tern.store""#)
        .put(
            "/store/{name}",
            whole(move |i: Incoming| {
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
            }),
        )
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

/// The ETSI plugtest resources (td-coap4), those the endpoint supports so far.
fn plugtest(router: Router) -> Router {
    let validate = Arc::new(Mutex::new((String::from("first"), 0u8)));
    let (validate_get, validate_put) = (validate.clone(), validate);
    let create1 = Arc::new(Mutex::new(false));
    let etag = |version: u8| ETag::new(&[0xe7, version]);
    router
        .get("/test", |i: Incoming| {
            i.respond(text(Code::CONTENT, "Type: test resource"))
        })
        .attributes(r#"rt="test";ct=0"#)
        .post(
            "/test",
            whole(|i: Incoming| {
                let created = Response::builder(Code::CREATED)
                    .options(|o| {
                        o.push_location_path("location1")
                            .and_then(|o| o.push_location_path("location2"))
                            .and_then(|o| o.push_location_path("location3"))
                            .unwrap_or_default()
                    })
                    .build()
                    .unwrap_or_else(|_| Response::new(Code::INTERNAL_SERVER_ERROR));
                i.respond(created);
            }),
        )
        .put(
            "/test",
            whole(|i: Incoming| i.respond(Response::new(Code::CHANGED))),
        )
        .delete("/test", |i: Incoming| {
            i.respond(Response::new(Code::DELETED))
        })
        .get("/seg1/seg2/seg3", |i: Incoming| {
            i.respond(text(Code::CONTENT, "Type: seg3"))
        })
        .get("/query", |i: Incoming| {
            let query: Vec<&str> = i
                .request
                .options
                .uri_query()
                .map(Iterator::collect)
                .unwrap_or_default();
            let joined = query.join("&");
            i.respond(text(Code::CONTENT, joined));
        })
        .post(
            "/location-query",
            whole(|i: Incoming| {
                let created = Response::builder(Code::CREATED)
                    .options(|o| {
                        o.push_location_query("first=1")
                            .and_then(|o| o.push_location_query("second=2"))
                            .unwrap_or_default()
                    })
                    .build()
                    .unwrap_or_else(|_| Response::new(Code::INTERNAL_SERVER_ERROR));
                i.respond(created);
            }),
        )
        .get("/multi-format", |i: Incoming| {
            let response = match i.request.options.accept() {
                Ok(Some(ContentFormat::TEXT_PLAIN) | None) => text(Code::CONTENT, "multi-format"),
                Ok(Some(ContentFormat::XML)) => Response::builder(Code::CONTENT)
                    .options(|o| o.push_content_format(ContentFormat::XML))
                    .payload("<multi-format/>")
                    .build()
                    .unwrap_or_else(|_| Response::new(Code::INTERNAL_SERVER_ERROR)),
                _ => Response::new(Code::NOT_ACCEPTABLE),
            };
            i.respond(response);
        })
        .attributes(r#"ct="0 41""#)
        .get("/validate", move |i: Incoming| {
            let (payload, version) = lock(&validate_get).clone();
            let Some(current) = etag(version) else {
                return i.respond(Response::new(Code::INTERNAL_SERVER_ERROR));
            };
            let matches = i
                .request
                .options
                .etags()
                .is_ok_and(|mut tags| tags.any(|t| t == current));
            let response = if matches {
                Response::builder(Code::VALID).options(|o| o.push_etag(current))
            } else {
                Response::builder(Code::CONTENT)
                    .options(|o| {
                        o.push_etag(current)
                            .push_content_format(ContentFormat::TEXT_PLAIN)
                    })
                    .payload(payload)
            };
            i.respond(
                response
                    .build()
                    .unwrap_or_else(|_| Response::new(Code::INTERNAL_SERVER_ERROR)),
            );
        })
        .put(
            "/validate",
            whole(move |i: Incoming| {
                let mut state = lock(&validate_put);
                let Some(current) = etag(state.1) else {
                    return i.respond(Response::new(Code::INTERNAL_SERVER_ERROR));
                };
                let conditions: Vec<IfMatch> = i
                    .request
                    .options
                    .if_match()
                    .map(Iterator::collect)
                    .unwrap_or_default();
                let holds = conditions.is_empty()
                    || conditions.iter().any(|c| match c {
                        IfMatch::Exists => true,
                        IfMatch::ETag(e) => *e == current,
                    });
                let code = if holds {
                    state.0 = String::from_utf8_lossy(&i.request.payload).into_owned();
                    state.1 = state.1.wrapping_add(1);
                    Code::CHANGED
                } else {
                    Code::PRECONDITION_FAILED
                };
                drop(state);
                i.respond(Response::new(code));
            }),
        )
        .put(
            "/create1",
            whole(move |i: Incoming| {
                let mut exists = lock(&create1);
                let code = if i.request.options.if_none_match().unwrap_or(false) && *exists {
                    Code::PRECONDITION_FAILED
                } else {
                    *exists = true;
                    Code::CREATED
                };
                drop(exists);
                i.respond(Response::new(code));
            }),
        )
        .get("/link1", |i: Incoming| {
            i.respond(text(Code::CONTENT, "link1"))
        })
        .attributes(r#"rt="Type1 Type2";if="If1""#)
        .get("/link2", |i: Incoming| {
            i.respond(text(Code::CONTENT, "link2"))
        })
        .attributes(r#"rt="Type2 Type3";if="If2""#)
        .get("/link3", |i: Incoming| {
            i.respond(text(Code::CONTENT, "link3"))
        })
        .attributes(r#"rt="Type1 Type3";if="foo""#)
        .get("/path", |i: Incoming| {
            let links = Response::builder(Code::CONTENT)
                .options(|o| o.push_content_format(ContentFormat::LINK_FORMAT))
                .payload("</path/sub1>,</path/sub2>,</path/sub3>")
                .build()
                .unwrap_or_else(|_| Response::new(Code::INTERNAL_SERVER_ERROR));
            i.respond(links);
        })
        .attributes("ct=40")
        .get("/path/{sub}", |i: Incoming| {
            let sub = i.params.get("sub").unwrap_or_default().to_owned();
            let response = if ["sub1", "sub2", "sub3"].contains(&sub.as_str()) {
                text(Code::CONTENT, sub)
            } else {
                Response::new(Code::NOT_FOUND)
            };
            i.respond(response);
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_routes_are_valid() {
        assert_eq!(resources().error(), None);
        assert_eq!(plugtest(resources()).error(), None);
    }

    #[test]
    fn well_known_core_lists_the_resources_with_their_attributes() {
        assert_eq!(
            resources().well_known_core(),
            r#"</hello>;rt="tern.hello";ct=0,</store>;rt="tern.store",</separate>;rt="tern.separate";ct=0"#
        );
        let all = plugtest(resources()).well_known_core();
        for link in [
            "</test>;rt=\"test\";ct=0",
            "</link1>;rt=\"Type1 Type2\";if=\"If1\"",
            "</path>;ct=40",
            "</seg1/seg2/seg3>",
        ] {
            assert!(all.contains(link), "{link} in {all}");
        }
    }
}
