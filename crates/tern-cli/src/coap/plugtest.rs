//! `tern coap serve --plugtest`: the resources of the ETSI CoAP plugtests (td-coap4): the
//! core ones (TD_COAP_CORE), link format (TD_COAP_LINK, with the four `rt` groups of LINK_04
//! and an `sz` for LINK_06), block-wise (TD_COAP_BLOCK) and Observe (TD_COAP_OBS), with the
//! observable resources plugtest servers offer besides /obs:
//!
//! - /obs-non notifies in NON messages, also a client that registered with CON
//!   (TD_COAP_OBS_02): the endpoint is configured with
//!   [`NotificationType::NonConfirmable`] for it, so it still sends a CON at least every
//!   24 hours (RFC 7641 §4.5).
//! - /obs-pumping changes in bursts ([`PUMPING_BURST`] changes in a row every 5 s): a
//!   notification catches up with a CON one still unacknowledged and takes its place
//!   (§4.5.2, TD_COAP_OBS_11's "never multiple notifications active at one time"), and a
//!   client must keep the newest.
//! - /obs-reset: a POST with the payload `sesame` makes the observable resources forget their
//!   observers without telling them, as after a reboot that lost the list (TD_COAP_OBS_04):
//!   an observer learns it when its re-registration, after Max-Age, starts a new
//!   observation. With `?notfound`, the observers are removed instead, each with a 4.04
//!   notification. Any other payload: 4.03.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use tern_blocking::coap::{CoapServer, Code, EndpointConfig, Incoming, Response, Router};
use tern_coap::endpoint::observe::NotificationType;
use tern_coap::value::{ContentFormat, ETag, IfMatch};

use super::serve::{Ticker, large_text, lock, text};

/// The endpoint's configuration for the plugtest resources: /obs-non notifies in NON
/// messages.
pub(crate) fn endpoint_config() -> EndpointConfig {
    let mut config = EndpointConfig::default();
    config.notification_types.insert(
        Bytes::from_static(b"/obs-non"),
        NotificationType::NonConfirmable,
    );
    config
}

/// An observable resource's current representation.
type State = fn() -> Response;

/// The observable plugtest resources, each with its representation (the ones /obs-reset
/// acts on).
const OBSERVABLE: [(&str, State); 4] = [
    ("/obs", obs),
    ("/obs-non", obs_non),
    ("/obs-large", obs_large),
    ("/obs-pumping", obs_pumping),
];

/// Changes per tick of /obs-pumping.
pub(crate) const PUMPING_BURST: u32 = 4;

/// `router` with the ETSI plugtest resources, and the tickers of the observable ones.
pub(crate) fn resources(router: Router, server: &CoapServer) -> (Router, Vec<Ticker>) {
    let validate = Arc::new(Mutex::new((String::from("first"), 0u8)));
    let (validate_get, validate_put) = (validate.clone(), validate);
    let create1 = Arc::new(Mutex::new(false));
    let etag = |version: u8| ETag::new(&[0xe7, version]);
    let tickers = OBSERVABLE
        .iter()
        .map(|(path, state)| Ticker {
            every: OBS_EVERY,
            notifier: server.notifier(path),
            state: *state,
            burst: if *path == "/obs-pumping" {
                PUMPING_BURST
            } else {
                1
            },
        })
        .collect();
    let notifiers: Vec<_> = OBSERVABLE
        .iter()
        .map(|(path, _)| server.notifier(path))
        .collect();
    let router = router
        .get("/test", |i: Incoming| {
            i.respond(text(Code::CONTENT, "Type: test resource"))
        })
        .attributes(r#"rt="test";ct=0"#)
        .post("/test", |i: Incoming| {
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
        })
        .put("/test", |i: Incoming| {
            i.respond(Response::new(Code::CHANGED))
        })
        .delete("/test", |i: Incoming| {
            i.respond(Response::new(Code::DELETED))
        })
        .get("/seg1/seg2/seg3", |i: Incoming| {
            i.respond(text(Code::CONTENT, SEG3))
        })
        .attributes(&format!("sz={}", SEG3.len()))
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
        .post("/location-query", |i: Incoming| {
            let created = Response::builder(Code::CREATED)
                .options(|o| {
                    o.push_location_query("first=1")
                        .and_then(|o| o.push_location_query("second=2"))
                        .unwrap_or_default()
                })
                .build()
                .unwrap_or_else(|_| Response::new(Code::INTERNAL_SERVER_ERROR));
            i.respond(created);
        })
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
        .put("/validate", move |i: Incoming| {
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
        })
        .put("/create1", move |i: Incoming| {
            let mut exists = lock(&create1);
            let code = if i.request.options.if_none_match().unwrap_or(false) && *exists {
                Code::PRECONDITION_FAILED
            } else {
                *exists = true;
                Code::CREATED
            };
            drop(exists);
            i.respond(Response::new(code));
        })
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
        .get("/link4", |i: Incoming| {
            i.respond(text(Code::CONTENT, "link4"))
        })
        .attributes(r#"rt="""#)
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
        });
    let router = large_and_observable(router).post("/obs-reset", move |i: Incoming| {
        if &i.request.payload[..] != b"sesame" {
            return i.respond(Response::new(Code::FORBIDDEN));
        }
        let not_found = i
            .request
            .options
            .uri_query()
            .is_ok_and(|mut q| q.any(|a| a == "notfound"));
        if not_found {
            for notifier in &notifiers {
                // A closed server answers nobody anyway.
                let _ = notifier.notify(Response::new(Code::NOT_FOUND));
            }
        } else {
            for notifier in &notifiers {
                let _ = notifier.forget_observers();
            }
        }
        i.respond(Response::new(Code::CHANGED));
    });
    (router, tickers)
}

/// The body of /seg1/seg2/seg3 (its size is its link's sz, for TD_COAP_LINK_06).
const SEG3: &str = "Type: seg3";

/// How often /obs and /obs-large change.
const OBS_EVERY: Duration = Duration::from_secs(5);

/// The size of the large plugtest bodies: more than one 1,024-byte block.
const LARGE_LEN: usize = 2_500;

/// /obs: the time, as text.
fn obs() -> Response {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    text(Code::CONTENT, format!("Type: obs, time {secs}"))
}

/// /obs-non: the time, as text.
fn obs_non() -> Response {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    text(Code::CONTENT, format!("Type: obs-non, time {secs}"))
}

/// /obs-pumping: the time and the number of the change (several per second).
fn obs_pumping() -> Response {
    static CHANGES: AtomicU64 = AtomicU64::new(0);
    let change = CHANGES.fetch_add(1, Ordering::SeqCst);
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    text(
        Code::CONTENT,
        format!("Type: obs-pumping, time {secs}, change {change}"),
    )
}

/// /obs-large: the time, then enough text for several blocks.
fn obs_large() -> Response {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let mut body = format!("Type: obs-large, time {secs}\n").into_bytes();
    body.extend_from_slice(&large_text(LARGE_LEN));
    text(Code::CONTENT, body)
}

/// The block-wise and Observe resources (TD_COAP_BLOCK, TD_COAP_OBS).
fn large_and_observable(router: Router) -> Router {
    let large_update = Arc::new(Mutex::new(large_text(LARGE_LEN)));
    let (update_get, update_put) = (large_update.clone(), large_update);
    let created = Arc::new(Mutex::new(Vec::<Bytes>::new()));
    let (create_post, create_get) = (created.clone(), created);
    let mut router = router
        .get("/large-update", move |i: Incoming| {
            let body = lock(&update_get).clone();
            i.respond(text(Code::CONTENT, body));
        })
        .attributes(r#"rt="block";ct=0"#)
        .put("/large-update", move |i: Incoming| {
            *lock(&update_put) = i.request.payload.clone();
            i.respond(Response::new(Code::CHANGED));
        })
        .post("/large-create", move |i: Incoming| {
            let number = {
                let mut all = lock(&create_post);
                all.push(i.request.payload.clone());
                all.len()
            };
            let created = Response::builder(Code::CREATED)
                .options(|o| {
                    o.push_location_path("large-create")
                        .and_then(|o| o.push_location_path(&number.to_string()))
                        .unwrap_or_default()
                })
                .build()
                .unwrap_or_else(|_| Response::new(Code::INTERNAL_SERVER_ERROR));
            i.respond(created);
        })
        .attributes(r#"rt="block""#)
        .get("/large-create/{n}", move |i: Incoming| {
            let n: Option<usize> = i.params.get("n").and_then(|n| n.parse().ok());
            let body = n
                .and_then(|n| n.checked_sub(1))
                .and_then(|n| lock(&create_get).get(n).cloned());
            i.respond(match body {
                Some(body) => Response::new(Code::CONTENT).with_payload(body),
                None => Response::new(Code::NOT_FOUND),
            });
        })
        .post("/large-post", |i: Incoming| {
            // A large answer to a large request: Block1 and Block2 in one exchange.
            let mut body = b"Type: large-post, received:\n".to_vec();
            body.extend_from_slice(&i.request.payload);
            i.respond(text(Code::CHANGED, body));
        })
        .attributes(r#"rt="block""#);
    for (path, state) in OBSERVABLE {
        router = router
            .observable(path, move |i: Incoming| i.respond(state()))
            .attributes(r#"rt="observe";ct=0"#);
    }
    router
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_routes_are_valid_and_listed() {
        let server = CoapServer::bind("127.0.0.1:0").unwrap();
        let (router, tickers) = resources(Router::new(), &server);
        assert_eq!(router.error(), None);
        assert_eq!(tickers.len(), 4);
        let pumping: Vec<u32> = tickers.iter().map(|t| t.burst).collect();
        assert_eq!(pumping, [1, 1, 1, PUMPING_BURST]);
        let all = router.well_known_core();
        for link in [
            "</test>;rt=\"test\";ct=0",
            "</link1>;rt=\"Type1 Type2\";if=\"If1\"",
            "</link4>;rt=\"\"",
            "</path>;ct=40",
            "</seg1/seg2/seg3>;sz=10",
            "</obs>;rt=\"observe\";ct=0;obs",
            "</obs-non>;rt=\"observe\";ct=0;obs",
            "</obs-pumping>;rt=\"observe\";ct=0;obs",
            "</obs-reset>",
            "</large-update>;rt=\"block\";ct=0",
        ] {
            assert!(all.contains(link), "{link} in {all}");
        }
    }

    #[test]
    fn obs_non_is_configured_non() {
        let config = endpoint_config();
        assert_eq!(
            config.notification_types.get(&b"/obs-non"[..]),
            Some(&NotificationType::NonConfirmable)
        );
        assert_eq!(config.notification_types.len(), 1);
    }

    #[test]
    fn pumping_counts_its_changes() {
        let a = obs_pumping();
        let b = obs_pumping();
        assert_ne!(a.payload, b.payload);
    }
}
