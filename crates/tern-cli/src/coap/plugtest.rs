//! `tern coap serve --plugtest`: the resources of the ETSI CoAP plugtests (td-coap4) that
//! the endpoint supports: the core ones (TD_COAP_CORE), link format (TD_COAP_LINK), block-wise
//! (TD_COAP_BLOCK) and Observe (TD_COAP_OBS). Not here: /obs-non (the endpoint sends a
//! notification CON or NON as the observer registered, so a resource cannot insist on NON),
//! /obs-pumping and /obs-reset.

use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use tern_blocking::coap::{CoapServer, Code, Incoming, Response, Router};
use tern_coap::value::{ContentFormat, ETag, IfMatch};

use super::serve::{Ticker, large_text, lock, text};

/// `router` with the ETSI plugtest resources, and the tickers of the observable ones.
pub(crate) fn resources(router: Router, server: &CoapServer) -> (Router, Vec<Ticker>) {
    let validate = Arc::new(Mutex::new((String::from("first"), 0u8)));
    let (validate_get, validate_put) = (validate.clone(), validate);
    let create1 = Arc::new(Mutex::new(false));
    let etag = |version: u8| ETag::new(&[0xe7, version]);
    let tickers = vec![
        Ticker {
            every: OBS_EVERY,
            notifier: server.notifier("/obs"),
            state: obs,
        },
        Ticker {
            every: OBS_EVERY,
            notifier: server.notifier("/obs-large"),
            state: obs_large,
        },
    ];
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
    let router = large_and_observable(router);
    (router, tickers)
}

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
    router
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
        .attributes(r#"rt="block""#)
        .observable("/obs", |i: Incoming| i.respond(obs()))
        .attributes(r#"rt="observe";ct=0"#)
        .observable("/obs-large", |i: Incoming| i.respond(obs_large()))
        .attributes(r#"rt="observe";ct=0"#)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_routes_are_valid_and_listed() {
        let server = CoapServer::bind("127.0.0.1:0").unwrap();
        let (router, tickers) = resources(Router::new(), &server);
        assert_eq!(router.error(), None);
        assert_eq!(tickers.len(), 2);
        let all = router.well_known_core();
        for link in [
            "</test>;rt=\"test\";ct=0",
            "</link1>;rt=\"Type1 Type2\";if=\"If1\"",
            "</path>;ct=40",
            "</seg1/seg2/seg3>",
            "</obs>;rt=\"observe\";ct=0;obs",
            "</large-update>;rt=\"block\";ct=0",
        ] {
            assert!(all.contains(link), "{link} in {all}");
        }
    }
}
