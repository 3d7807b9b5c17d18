//! The ETSI CoAP plugtests for the CoRE Link Format, TD_COAP_LINK_01 to TD_COAP_LINK_09
//! (td-coap4 `link.yml`), against [`tern_io::coap::Router`] holding the resources of
//! `tern coap serve --plugtest`: the CLI's own resources and the plugtest ones, declared with
//! the same methods, patterns and link-format attributes, in the same order (the handlers
//! answer only what these tests look at).
//!
//! Each test sends the test description's requests through [`Router::dispatch`] and checks
//! its check steps on the answers, parsed with [`tern_coap::link_format`].
#![cfg(feature = "coap")]

use std::sync::mpsc;

use tern_coap::Code;
use tern_coap::endpoint::{Request, Response};
use tern_coap::link_format::{self, Link};
use tern_coap::value::ContentFormat;
use tern_io::coap::Router;
use tern_io::coap::router::{Dispatch, Params};

/// What a handler gets: the path parameters, and where its answer goes.
struct Exchange {
    params: Params,
    reply: mpsc::Sender<Response>,
}

impl Exchange {
    fn respond(self, response: Response) {
        self.reply
            .send(response)
            .expect("the test waits for the answer");
    }
}

/// A handler whose answer no test looks at.
fn ok(x: Exchange) {
    x.respond(Response::new(Code::CONTENT));
}

/// 2.05 with a text/plain body.
fn text(body: &str) -> Response {
    Response::builder(Code::CONTENT)
        .options(|o| o.push_content_format(ContentFormat::TEXT_PLAIN))
        .payload(body.to_string())
        .build()
        .unwrap()
}

/// `tern coap serve --plugtest`: `serve.rs` `resources()`, then `plugtest.rs` `resources()`.
fn plugtest_router() -> Router<Exchange> {
    let router = Router::new()
        // The CLI's own resources.
        .get("/hello", ok)
        .attributes(r#"rt="tern.hello";ct=0"#)
        .put("/hello", ok)
        .post("/hello", ok)
        .observable("/time", ok)
        .attributes(r#"rt="tern.time";ct=0"#)
        .get("/large", ok)
        .attributes(r#"rt="tern.large";ct=0"#)
        .post("/store", ok)
        .attributes(r#"rt="tern.store""#)
        .put("/store/{name}", ok)
        .get("/store/{name}", ok)
        .delete("/store/{name}", ok)
        .get("/separate", ok)
        .attributes(r#"rt="tern.separate";ct=0"#)
        // The plugtest resources (TD_COAP_CORE, TD_COAP_LINK).
        .get("/test", ok)
        .attributes(r#"rt="test";ct=0"#)
        .post("/test", ok)
        .put("/test", ok)
        .delete("/test", ok)
        .get("/seg1/seg2/seg3", ok)
        .attributes("sz=10")
        .get("/query", ok)
        .post("/location-query", ok)
        .get("/multi-format", ok)
        .attributes(r#"ct="0 41""#)
        .get("/validate", ok)
        .put("/validate", ok)
        .put("/create1", ok)
        .get("/link1", |x: Exchange| x.respond(text("link1")))
        .attributes(r#"rt="Type1 Type2";if="If1""#)
        .get("/link2", |x: Exchange| x.respond(text("link2")))
        .attributes(r#"rt="Type2 Type3";if="If2""#)
        .get("/link3", |x: Exchange| x.respond(text("link3")))
        .attributes(r#"rt="Type1 Type3";if="foo""#)
        .get("/link4", |x: Exchange| x.respond(text("link4")))
        .attributes(r#"rt="""#)
        .get("/path", |x: Exchange| {
            let links = Response::builder(Code::CONTENT)
                .options(|o| o.push_content_format(ContentFormat::LINK_FORMAT))
                .payload("</path/sub1>,</path/sub2>,</path/sub3>")
                .build()
                .unwrap();
            x.respond(links);
        })
        .attributes("ct=40")
        .get("/path/{sub}", |x: Exchange| {
            let sub = x.params.get("sub").unwrap_or_default().to_owned();
            let response = if ["sub1", "sub2", "sub3"].contains(&sub.as_str()) {
                text(&sub)
            } else {
                Response::new(Code::NOT_FOUND)
            };
            x.respond(response);
        })
        // Block-wise and Observe (TD_COAP_BLOCK, TD_COAP_OBS).
        .get("/large-update", ok)
        .attributes(r#"rt="block";ct=0"#)
        .put("/large-update", ok)
        .post("/large-create", ok)
        .attributes(r#"rt="block""#)
        .get("/large-create/{n}", ok)
        .post("/large-post", ok)
        .attributes(r#"rt="block""#)
        .observable("/obs", ok)
        .attributes(r#"rt="observe";ct=0"#)
        .observable("/obs-non", ok)
        .attributes(r#"rt="observe";ct=0"#)
        .observable("/obs-large", ok)
        .attributes(r#"rt="observe";ct=0"#)
        .observable("/obs-pumping", ok)
        .attributes(r#"rt="observe";ct=0"#)
        .post("/obs-reset", ok);
    assert_eq!(router.error(), None);
    router
}

/// The link targets of the plugtest set, in declaration order: every pattern without
/// parameters.
const ALL_TARGETS: [&str; 25] = [
    "/hello",
    "/time",
    "/large",
    "/store",
    "/separate",
    "/test",
    "/seg1/seg2/seg3",
    "/query",
    "/location-query",
    "/multi-format",
    "/validate",
    "/create1",
    "/link1",
    "/link2",
    "/link3",
    "/link4",
    "/path",
    "/large-update",
    "/large-create",
    "/large-post",
    "/obs",
    "/obs-non",
    "/obs-large",
    "/obs-pumping",
    "/obs-reset",
];

/// The router's answer to `request`, whether the router or a handler gives it.
fn answer(router: &Router<Exchange>, request: &Request) -> Response {
    match router.dispatch(request) {
        Dispatch::Response(response) => response,
        Dispatch::Handler { handler, params } => {
            let (reply, answered) = mpsc::channel();
            handler(Exchange { params, reply });
            answered.recv().expect("the handler answers")
        }
    }
}

/// `GET /.well-known/core` with one Uri-Query option per filter.
fn well_known_core(queries: &[&str]) -> Request {
    let mut request = Request::builder(Code::GET).path("/.well-known/core");
    for query in queries {
        request = request.query(query);
    }
    request.build().unwrap()
}

/// The check step every LINK test shares: 2.05 (Content), Content-Format 40
/// (application/link-format), a payload that parses as a link-format document. Returns the
/// payload.
fn discover(router: &Router<Exchange>, queries: &[&str]) -> String {
    let response = answer(router, &well_known_core(queries));
    assert_eq!(response.code, Code::CONTENT, "{queries:?}");
    assert_eq!(
        response.options.content_format().unwrap(),
        Some(ContentFormat::LINK_FORMAT),
        "{queries:?}"
    );
    let doc = String::from_utf8(response.payload.to_vec()).unwrap();
    if let Some(Err(e)) = link_format::parse(&doc).find(Result::is_err) {
        panic!("{queries:?}: `{doc}` is no link-format document: {e}");
    }
    doc
}

fn links(doc: &str) -> Vec<Link<'_>> {
    link_format::parse(doc).map(Result::unwrap).collect()
}

fn targets(doc: &str) -> Vec<&str> {
    links(doc).iter().map(Link::target).collect()
}

/// The targets of the unfiltered document's links that `keep` keeps: what a filter should
/// answer, worked out from the document without the filter code.
fn expected(router: &Router<Exchange>, keep: impl Fn(&Link<'_>) -> bool) -> Vec<String> {
    let all = discover(router, &[]);
    links(&all)
        .iter()
        .filter(|l| keep(l))
        .map(|l| l.target().to_string())
        .collect()
}

/// TD_COAP_LINK_01: GET /.well-known/core answers 2.05, Content-Format 40, and every link of
/// the server: each resource without parameters once, in declaration order, with the
/// attributes it was declared with (and `obs` on the observable ones), each of which the
/// server serves; the patterns with parameters are not listed.
#[test]
fn td_coap_link_01_well_known_core_lists_all_resources() {
    let router = plugtest_router();
    let doc = discover(&router, &[]);
    assert_eq!(targets(&doc), ALL_TARGETS, "{doc}");

    let attributes = |target: &str| {
        let link = links(&doc)
            .into_iter()
            .find(|l| l.target() == target)
            .unwrap();
        link.to_string()
    };
    for (target, link) in [
        ("/hello", r#"</hello>;rt="tern.hello";ct=0"#),
        ("/time", r#"</time>;rt="tern.time";ct=0;obs"#),
        ("/store", r#"</store>;rt="tern.store""#),
        ("/test", r#"</test>;rt="test";ct=0"#),
        ("/seg1/seg2/seg3", "</seg1/seg2/seg3>;sz=10"),
        ("/multi-format", r#"</multi-format>;ct="0 41""#),
        ("/link1", r#"</link1>;rt="Type1 Type2";if="If1""#),
        ("/link2", r#"</link2>;rt="Type2 Type3";if="If2""#),
        ("/link3", r#"</link3>;rt="Type1 Type3";if="foo""#),
        ("/link4", r#"</link4>;rt="""#),
        ("/path", "</path>;ct=40"),
        ("/large-update", r#"</large-update>;rt="block";ct=0"#),
        ("/large-create", r#"</large-create>;rt="block""#),
        ("/obs", r#"</obs>;rt="observe";ct=0;obs"#),
        ("/obs-non", r#"</obs-non>;rt="observe";ct=0;obs"#),
        ("/obs-large", r#"</obs-large>;rt="observe";ct=0;obs"#),
        ("/obs-pumping", r#"</obs-pumping>;rt="observe";ct=0;obs"#),
        ("/obs-reset", "</obs-reset>"),
    ] {
        assert_eq!(attributes(target), link);
    }
    let observable: Vec<&str> = links(&doc)
        .iter()
        .filter(|l| l.has_attribute("obs"))
        .map(Link::target)
        .collect();
    assert_eq!(
        observable,
        ["/time", "/obs", "/obs-non", "/obs-large", "/obs-pumping"]
    );

    // Every listed link is a resource the server has: some method reaches a handler.
    for target in targets(&doc) {
        let served = [Code::GET, Code::POST, Code::PUT, Code::DELETE]
            .into_iter()
            .any(|method| {
                let request = Request::builder(method).path(target).build().unwrap();
                matches!(router.dispatch(&request), Dispatch::Handler { .. })
            });
        assert!(served, "{target} is listed but not served");
    }
    for hidden in [
        "/store/{name}",
        "/path/{sub}",
        "/large-create/{n}",
        "/path/sub1",
    ] {
        assert!(!doc.contains(&format!("<{hidden}>")), "{hidden} in {doc}");
    }
}

/// TD_COAP_LINK_02: `?rt=Type1` answers Content-Format 40 with only the links of type Type1
/// (/link1 and /link3); likewise for every resource type the unfiltered document names.
#[test]
fn td_coap_link_02_filter_by_resource_type() {
    let router = plugtest_router();
    assert_eq!(
        targets(&discover(&router, &["rt=Type1"])),
        ["/link1", "/link3"]
    );

    let all = discover(&router, &[]);
    let mut types: Vec<&str> = links(&all).iter().flat_map(|l| l.values("rt")).collect();
    types.sort_unstable();
    types.dedup();
    assert_eq!(
        types,
        [
            "Type1",
            "Type2",
            "Type3",
            "block",
            "observe",
            "tern.hello",
            "tern.large",
            "tern.separate",
            "tern.store",
            "tern.time",
            "test"
        ]
    );
    for rt in types {
        let doc = discover(&router, &[&format!("rt={rt}")]);
        let want = expected(&router, |l| l.values("rt").any(|v| v == rt));
        assert!(!want.is_empty());
        assert_eq!(targets(&doc), want, "rt={rt}");
    }
    // A type no resource has: an empty document, still 2.05 with Content-Format 40.
    assert_eq!(discover(&router, &["rt=Type4"]), "");
}

/// TD_COAP_LINK_03: `?rt=*` (the empty prefix) answers Content-Format 40 with only the links
/// that have an rt attribute: the resources without one (/seg1/seg2/seg3, /query, /path, …)
/// are left out.
#[test]
fn td_coap_link_03_empty_prefix_matches_links_with_rt() {
    let router = plugtest_router();
    let doc = discover(&router, &["rt=*"]);
    let got = targets(&doc);
    assert_eq!(got, expected(&router, |l| l.has_attribute("rt")));
    assert!(links(&doc).iter().all(|l| l.has_attribute("rt")), "{doc}");
    for without in [
        "/seg1/seg2/seg3",
        "/query",
        "/location-query",
        "/multi-format",
        "/validate",
        "/create1",
        "/path",
    ] {
        assert!(!got.contains(&without), "{without} in {doc}");
    }
    for with in ["/test", "/link1", "/link2", "/link3", "/obs", "/hello"] {
        assert!(got.contains(&with), "{with} not in {doc}");
    }
}

/// TD_COAP_LINK_04: with the four groups rt="Type1 Type2" (/link1), rt="Type2 Type3"
/// (/link2), rt="Type1 Type3" (/link3) and rt="" (/link4), `?rt=Type2` answers Content-Format
/// 40 with only the first two groups.
#[test]
fn td_coap_link_04_filter_with_multiple_resource_types() {
    let router = plugtest_router();
    // The precondition: the four groups are offered.
    let all = discover(&router, &[]);
    let rt_of = |target: &str| -> Vec<String> {
        let link = links(&all).into_iter().find(|l| l.target() == target);
        let link = link.unwrap_or_else(|| panic!("{target} not in {all}"));
        assert!(link.has_attribute("rt"), "{target}");
        link.values("rt").map(str::to_owned).collect()
    };
    assert_eq!(rt_of("/link1"), ["Type1", "Type2"]);
    assert_eq!(rt_of("/link2"), ["Type2", "Type3"]);
    assert_eq!(rt_of("/link3"), ["Type1", "Type3"]);
    assert!(rt_of("/link4").iter().all(String::is_empty), "rt=\"\"");

    assert_eq!(
        targets(&discover(&router, &["rt=Type2"])),
        ["/link1", "/link2"]
    );
    assert_eq!(
        targets(&discover(&router, &["rt=Type2"])),
        expected(&router, |l| l.values("rt").any(|v| v == "Type2"))
    );
}

/// TD_COAP_LINK_05: with if="If1" (/link1), if="If2" (/link2), if="foo" (/link3) and
/// resources without if, `?if=If*` answers Content-Format 40 with only the first two groups.
#[test]
fn td_coap_link_05_filter_by_interface_prefix() {
    let router = plugtest_router();
    let doc = discover(&router, &["if=If*"]);
    assert_eq!(targets(&doc), ["/link1", "/link2"]);
    assert_eq!(
        targets(&doc),
        expected(&router, |l| l.values("if").any(|v| v.starts_with("If")))
    );
    assert_eq!(targets(&discover(&router, &["if=foo"])), ["/link3"]);
    assert_eq!(
        targets(&discover(&router, &["if=*"])),
        ["/link1", "/link2", "/link3"]
    );
}

/// TD_COAP_LINK_06: with a resource with an sz attribute (/seg1/seg2/seg3) and resources
/// without one, `?sz=*` answers Content-Format 40 with only the links that have an sz
/// attribute.
#[test]
fn td_coap_link_06_filter_by_size_presence() {
    let router = plugtest_router();
    // The precondition: some resources have sz, others not.
    let sized = expected(&router, |l| l.has_attribute("sz"));
    assert_eq!(sized, ["/seg1/seg2/seg3"]);
    assert!(expected(&router, |l| !l.has_attribute("sz")).len() > 1);

    let doc = discover(&router, &["sz=*"]);
    assert_eq!(doc, "</seg1/seg2/seg3>;sz=10");
    assert_eq!(targets(&doc), sized);
    assert_eq!(targets(&discover(&router, &["sz=10"])), ["/seg1/seg2/seg3"]);
    assert_eq!(targets(&discover(&router, &["sz=1*"])), ["/seg1/seg2/seg3"]);
    assert_eq!(discover(&router, &["sz=1024"]), "");
}

/// TD_COAP_LINK_07: `?href=/link1` answers Content-Format 40 with only the link for /link1
/// (not /link2, /link3), its attributes as declared.
#[test]
fn td_coap_link_07_filter_by_complete_href() {
    let router = plugtest_router();
    let doc = discover(&router, &["href=/link1"]);
    assert_eq!(doc, r#"</link1>;rt="Type1 Type2";if="If1""#);
    assert_eq!(targets(&doc), ["/link1"]);
    // A complete value is no prefix.
    assert_eq!(discover(&router, &["href=/link"]), "");
}

/// TD_COAP_LINK_08: `?href=/link*` answers Content-Format 40 with only the links matching
/// /link*: /link1 to /link4, not /test.
#[test]
fn td_coap_link_08_filter_by_href_prefix() {
    let router = plugtest_router();
    let doc = discover(&router, &["href=/link*"]);
    let got = targets(&doc);
    assert_eq!(got, ["/link1", "/link2", "/link3", "/link4"]);
    assert_eq!(got, expected(&router, |l| l.target().starts_with("/link")));
    assert!(!got.contains(&"/test"));
    assert_eq!(targets(&discover(&router, &["href=/test"])), ["/test"]);
}

/// TD_COAP_LINK_09: /.well-known/core describes /path with ct=40; GET /path answers 2.05,
/// Content-Format 40, with the links of /path/sub1, /path/sub2, /path/sub3; GET of each
/// answers 2.05 with its content (the plugtest server's body is the segment name, `sub1`).
#[test]
fn td_coap_link_09_hierarchical_link_descriptions() {
    let router = plugtest_router();
    let doc = discover(&router, &[]);
    let path = links(&doc)
        .into_iter()
        .find(|l| l.target() == "/path")
        .expect("/path in /.well-known/core");
    assert_eq!(
        path.content_formats()
            .collect::<Result<Vec<_>, _>>()
            .unwrap(),
        [40]
    );
    assert_eq!(discover(&router, &["ct=40"]), "</path>;ct=40");
    assert_eq!(discover(&router, &["href=/path"]), "</path>;ct=40");

    let listing = answer(&router, &Request::get("/path").unwrap());
    assert_eq!(listing.code, Code::CONTENT);
    assert_eq!(
        listing.options.content_format().unwrap(),
        Some(ContentFormat::LINK_FORMAT)
    );
    let listing = String::from_utf8(listing.payload.to_vec()).unwrap();
    let subs = targets(&listing);
    assert_eq!(subs, ["/path/sub1", "/path/sub2", "/path/sub3"]);

    for sub in subs {
        let response = answer(&router, &Request::get(sub).unwrap());
        assert_eq!(response.code, Code::CONTENT, "{sub}");
        let name = sub.rsplit('/').next().unwrap();
        assert_eq!(&response.payload[..], name.as_bytes(), "{sub}");
    }
    assert_eq!(
        answer(&router, &Request::get("/path/sub4").unwrap()).code,
        Code::NOT_FOUND
    );
}
