//! Routes a CoAP server's requests to handlers by method and Uri-Path, and answers what no
//! handler takes: 4.04 Not Found, 4.05 Method Not Allowed, and `GET /.well-known/core` (the
//! CoRE Link Format document of the routes, RFC 6690, filtered by the query as §4.1 says).
//!
//! Runtime-free: no async, no socket, no thread. A [`Router<T>`] stores handlers
//! `Fn(T) + Send + Sync` for whatever request type `T` an adapter hands them (the async
//! adapters' and tern-blocking's `Incoming`), and [`Router::dispatch`] says what to do with a
//! request: call a handler with the path parameters, or send a response the router made.
//!
//! ```
//! use tern_io::coap::router::{Dispatch, Router};
//! use tern_coap::endpoint::{Request, Response};
//! use tern_coap::Code;
//!
//! // The adapter's request type; here just the parameters.
//! let router: Router<Vec<String>> = Router::new()
//!     .get("/hello", |_| {})
//!     .attributes(r#"rt="greeting";ct=0"#)
//!     .put("/items/{id}", |params| assert_eq!(params, ["42"]));
//!
//! // An adapter's dispatch: a handler with its parameters, or the router's own answer.
//! match router.dispatch(&Request::put("/items/42", "x")?) {
//!     Dispatch::Handler { handler, params } => {
//!         handler(params.iter().map(|(_, v)| v.to_string()).collect())
//!     }
//!     Dispatch::Response(_) => unreachable!(),
//! }
//! let answer = |r: &Request| match router.dispatch(r) {
//!     Dispatch::Response(response) => response,
//!     Dispatch::Handler { .. } => Response::new(Code::CONTENT),
//! };
//! assert_eq!(answer(&Request::get("/nowhere")?).code, Code::NOT_FOUND);
//! assert_eq!(answer(&Request::delete("/hello")?).code, Code::METHOD_NOT_ALLOWED);
//! let core = answer(&Request::get("/.well-known/core")?);
//! assert_eq!(&core.payload[..], br#"</hello>;rt="greeting";ct=0"#);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Patterns
//!
//! A pattern is a path, `/` separated (one leading `/` optional; `/` or the empty pattern is
//! the root, a request without Uri-Path). Each segment is
//! - a literal, compared exactly with one Uri-Path option (already percent-decoded);
//! - `{name}`: a parameter matching any one non-empty segment;
//! - `{*name}`, last only: the rest of the path, zero or more segments joined with `/`.
//!
//! Routes are tried in the order they were added; the first whose method and pattern match
//! takes the request. A path that some route's pattern matches, with no route for the
//! method, is answered 4.05; a path no pattern matches, 4.04.
//!
//! # `/.well-known/core`
//!
//! Unless a route of its own takes it, `GET /.well-known/core` is answered 2.05 with
//! Content-Format 40 (`application/link-format`): one link per pattern without parameters,
//! in the order they were first added, with the attributes given by
//! [`Router::attributes`]. Each Uri-Query option is one RFC 6690 §4.1 filter
//! ([`link_format::Filter`]); a link is listed when it passes them all, and a query that is
//! no filter is answered 4.00 Bad Request. The document must fit one message: block-wise
//! transfer of it is the endpoint's, once integrated.
//!
//! # Observable resources
//!
//! [`Router::observable`] adds a GET route whose answers register observers (RFC 7641): the
//! adapter asks [`Router::observable_path`] for the resource key of each request and answers
//! it with the endpoint's `respond_observable` under that key, so that its notifier for the
//! path reaches every observer. Such resources carry `obs` in `/.well-known/core`.
//!
//! Mistakes in patterns or attributes do not panic: the router keeps the first one, which
//! [`Router::error`] returns and the adapters' `serve` reports before serving.

use std::fmt;

use tern_coap::Code;
use tern_coap::endpoint::{Request, Response};
use tern_coap::link_format::{self, Filter};
use tern_coap::value::ContentFormat;

/// A handler as the router stores it.
pub type Handler<T> = dyn Fn(T) + Send + Sync;

/// Routes requests to handlers `Fn(T)`; see the [module documentation](self).
pub struct Router<T> {
    resources: Vec<Resource>,
    routes: Vec<Route<T>>,
    error: Option<RouteError>,
}

struct Resource {
    pattern: String,
    segments: Vec<Segment>,
    /// Link-format attributes, without the leading `;`.
    attributes: Option<String>,
    /// Some route to it is observable: the link gets `obs`...
    observable: bool,
    /// ... unless its attributes have it already.
    has_obs: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Segment {
    Literal(String),
    Param(String),
    Rest(String),
}

struct Route<T> {
    method: Code,
    resource: usize,
    handler: Box<Handler<T>>,
    /// Answers go with `respond_observable`: a GET with Observe = 0 registers an observer.
    observable: bool,
}

/// What to do with a request, from [`Router::dispatch`].
pub enum Dispatch<'r, T> {
    /// Call this handler (with the adapter's request value, carrying `params`).
    Handler {
        /// The route's handler.
        handler: &'r Handler<T>,
        /// The path parameters the pattern captured.
        params: Params,
    },
    /// Answer with this response (4.04, 4.05, 4.00, or the `/.well-known/core` document).
    Response(Response),
}

impl<T> fmt::Debug for Dispatch<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Dispatch::Handler { params, .. } => f
                .debug_struct("Handler")
                .field("params", params)
                .finish_non_exhaustive(),
            Dispatch::Response(r) => f.debug_tuple("Response").field(r).finish(),
        }
    }
}

/// The path parameters a pattern captured, by name, in pattern order.
///
/// ```
/// use tern_io::coap::router::{Dispatch, Router};
/// use tern_coap::endpoint::Request;
///
/// let router: Router<()> = Router::new().get("/files/{user}/{*path}", |_| {});
/// let Dispatch::Handler { params, .. } = router.dispatch(&Request::get("/files/ada/notes/1.txt")?) else {
///     panic!("no route")
/// };
/// assert_eq!(params.get("user"), Some("ada"));
/// assert_eq!(params.get("path"), Some("notes/1.txt"));
/// assert_eq!(params.get("other"), None);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct Params(Vec<(String, String)>);

impl Params {
    /// The value of the parameter `name`.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// `(name, value)` pairs in pattern order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(n, v)| (n.as_str(), v.as_str()))
    }

    /// How many there are.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether the pattern had none.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// A route pattern or link-format attributes that are not valid.
///
/// ```
/// use tern_io::coap::router::Router;
///
/// let router: Router<()> = Router::new().get("/a/{*rest}/b", |_| {});
/// let e = router.error().unwrap();
/// assert_eq!(e.pattern(), "/a/{*rest}/b");
/// assert_eq!(e.to_string(), "route `/a/{*rest}/b`: `{*rest}` must be the last segment");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RouteError {
    pattern: String,
    reason: String,
}

impl RouteError {
    fn new(pattern: &str, reason: impl Into<String>) -> RouteError {
        RouteError {
            pattern: pattern.to_string(),
            reason: reason.into(),
        }
    }

    /// The pattern of the route at fault.
    pub fn pattern(&self) -> &str {
        &self.pattern
    }

    /// What is wrong.
    pub fn reason(&self) -> &str {
        &self.reason
    }
}

impl fmt::Display for RouteError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "route `{}`: {}", self.pattern, self.reason)
    }
}

impl std::error::Error for RouteError {}

impl<T> Default for Router<T> {
    fn default() -> Self {
        Router::new()
    }
}

impl<T> fmt::Debug for Router<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let routes: Vec<String> = self
            .routes
            .iter()
            .map(|r| {
                let pattern = self
                    .resources
                    .get(r.resource)
                    .map_or("?", |res| res.pattern.as_str());
                format!("{} {pattern}", r.method)
            })
            .collect();
        f.debug_struct("Router")
            .field("routes", &routes)
            .field("error", &self.error)
            .finish()
    }
}

/// Parses a pattern into segments.
fn parse_pattern(pattern: &str) -> Result<Vec<Segment>, RouteError> {
    let path = pattern.strip_prefix('/').unwrap_or(pattern);
    if path.is_empty() {
        return Ok(Vec::new());
    }
    let parts: Vec<&str> = path.split('/').collect();
    let mut segments = Vec::with_capacity(parts.len());
    for (i, part) in parts.iter().enumerate() {
        let segment = if let Some(inner) = part.strip_prefix('{').and_then(|p| p.strip_suffix('}'))
        {
            let (rest, name) = match inner.strip_prefix('*') {
                Some(name) => (true, name),
                None => (false, inner),
            };
            if name.is_empty() || name.contains(['{', '}', '*']) {
                return Err(RouteError::new(
                    pattern,
                    format!("`{part}` is no parameter: use `{{name}}` or `{{*name}}`"),
                ));
            }
            if rest && i + 1 != parts.len() {
                return Err(RouteError::new(
                    pattern,
                    format!("`{part}` must be the last segment"),
                ));
            }
            let name = name.to_string();
            if segments
                .iter()
                .any(|s| matches!(s, Segment::Param(n) | Segment::Rest(n) if *n == name))
            {
                return Err(RouteError::new(
                    pattern,
                    format!("the parameter `{name}` appears twice"),
                ));
            }
            if rest {
                Segment::Rest(name)
            } else {
                Segment::Param(name)
            }
        } else if part.contains(['{', '}']) {
            return Err(RouteError::new(
                pattern,
                format!("`{part}` mixes text and braces: a parameter is a whole segment"),
            ));
        } else {
            Segment::Literal((*part).to_string())
        };
        segments.push(segment);
    }
    Ok(segments)
}

impl Resource {
    /// The parameters, when `path` matches.
    fn matches(&self, path: &[&str]) -> Option<Params> {
        let mut params = Vec::new();
        let mut rest = path;
        for segment in &self.segments {
            match segment {
                Segment::Rest(name) => {
                    params.push((name.clone(), rest.join("/")));
                    return Some(Params(params));
                }
                Segment::Literal(text) => {
                    let (first, tail) = rest.split_first()?;
                    if first != text {
                        return None;
                    }
                    rest = tail;
                }
                Segment::Param(name) => {
                    let (first, tail) = rest.split_first()?;
                    if first.is_empty() {
                        return None;
                    }
                    params.push((name.clone(), (*first).to_string()));
                    rest = tail;
                }
            }
        }
        rest.is_empty().then_some(Params(params))
    }

    /// The link target, when the pattern names one resource (no parameters).
    fn link_target(&self) -> Option<String> {
        let mut target = String::new();
        for segment in &self.segments {
            let Segment::Literal(text) = segment else {
                return None;
            };
            target.push('/');
            percent_encode_segment(text, &mut target);
        }
        if target.is_empty() {
            target.push('/');
        }
        Some(target)
    }
}

/// Writes a path segment as a URI path segment: unreserved characters and sub-delims, `:`
/// and `@` as they are, everything else percent-encoded (RFC 3986 §3.3).
fn percent_encode_segment(segment: &str, out: &mut String) {
    for b in segment.bytes() {
        let keep = b.is_ascii_alphanumeric() || b"-._~!$&'()*+,;=:@".contains(&b);
        if keep {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
}

impl<T> Router<T> {
    /// A router with no routes: every request but `GET /.well-known/core` gets 4.04.
    pub fn new() -> Router<T> {
        Router {
            resources: Vec::new(),
            routes: Vec::new(),
            error: None,
        }
    }

    /// Routes requests with `method` whose path matches `pattern` to `handler`.
    ///
    /// ```
    /// use tern_io::coap::router::Router;
    /// use tern_coap::Code;
    ///
    /// let router: Router<()> = Router::new().route(Code::FETCH, "/query", |_| {});
    /// assert!(router.error().is_none());
    /// ```
    pub fn route(
        self,
        method: Code,
        pattern: &str,
        handler: impl Fn(T) + Send + Sync + 'static,
    ) -> Router<T> {
        self.add(method, pattern, Box::new(handler), false)
    }

    /// A GET route to an observable resource (RFC 7641): a GET with Observe = 0 that its
    /// handler answers with 2.xx registers the client as an observer of the request's path
    /// (see [`Router::observable_path`]), whom the adapter's notifier for that path then
    /// reaches. In `/.well-known/core` the resource gets the `obs` attribute.
    ///
    /// ```
    /// use tern_io::coap::router::Router;
    /// use tern_coap::endpoint::Request;
    ///
    /// let router: Router<()> = Router::new().observable("/sensors/{id}", |_| {});
    /// let get = Request::get("/sensors/7")?;
    /// assert_eq!(router.observable_path(&get).as_deref(), Some("/sensors/7"));
    /// assert_eq!(router.observable_path(&Request::get("/other")?), None);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn observable(
        self,
        pattern: &str,
        handler: impl Fn(T) + Send + Sync + 'static,
    ) -> Router<T> {
        self.add(Code::GET, pattern, Box::new(handler), true)
    }

    fn add(
        mut self,
        method: Code,
        pattern: &str,
        handler: Box<Handler<T>>,
        observable: bool,
    ) -> Router<T> {
        if !method.is_request() {
            let e = RouteError::new(pattern, format!("{method} is not a method code"));
            self.error.get_or_insert(e);
            return self;
        }
        let segments = match parse_pattern(pattern) {
            Ok(segments) => segments,
            Err(e) => {
                self.error.get_or_insert(e);
                return self;
            }
        };
        let resource = match self.resources.iter().position(|r| r.segments == segments) {
            Some(i) => i,
            None => {
                self.resources.push(Resource {
                    pattern: pattern.to_string(),
                    segments,
                    attributes: None,
                    observable: false,
                    has_obs: false,
                });
                self.resources.len() - 1
            }
        };
        if let Some(r) = self.resources.get_mut(resource) {
            r.observable |= observable;
        }
        self.routes.push(Route {
            method,
            resource,
            handler,
            observable,
        });
        self
    }

    /// A GET route; see [`Router::route`].
    pub fn get(self, pattern: &str, handler: impl Fn(T) + Send + Sync + 'static) -> Router<T> {
        self.route(Code::GET, pattern, handler)
    }

    /// A POST route; see [`Router::route`].
    pub fn post(self, pattern: &str, handler: impl Fn(T) + Send + Sync + 'static) -> Router<T> {
        self.route(Code::POST, pattern, handler)
    }

    /// A PUT route; see [`Router::route`].
    pub fn put(self, pattern: &str, handler: impl Fn(T) + Send + Sync + 'static) -> Router<T> {
        self.route(Code::PUT, pattern, handler)
    }

    /// A DELETE route; see [`Router::route`].
    pub fn delete(self, pattern: &str, handler: impl Fn(T) + Send + Sync + 'static) -> Router<T> {
        self.route(Code::DELETE, pattern, handler)
    }

    /// Sets the link-format attributes of the resource of the route added last, as they
    /// follow the target in `/.well-known/core` (a leading `;` is optional). They must parse
    /// as RFC 6690 link-params; a pattern with parameters is not listed, whatever its
    /// attributes.
    ///
    /// ```
    /// use tern_io::coap::router::Router;
    ///
    /// let router: Router<()> = Router::new()
    ///     .get("/temp", |_| {})
    ///     .attributes(r#"rt="temperature";if="sensor";obs"#);
    /// assert_eq!(router.well_known_core(), r#"</temp>;rt="temperature";if="sensor";obs"#);
    /// let bad: Router<()> = Router::new().get("/temp", |_| {}).attributes("rt=\"open");
    /// assert!(bad.error().is_some());
    /// ```
    pub fn attributes(mut self, attributes: &str) -> Router<T> {
        let attributes = attributes.strip_prefix(';').unwrap_or(attributes);
        let Some(resource) = self
            .routes
            .last()
            .and_then(|r| self.resources.get_mut(r.resource))
        else {
            self.error
                .get_or_insert_with(|| RouteError::new("", "attributes() before any route"));
            return self;
        };
        let probe = format!("</x>;{attributes}");
        let parsed: Result<Vec<_>, _> = link_format::parse(&probe).collect();
        match parsed {
            Ok(links) if links.len() == 1 && !attributes.is_empty() => {
                resource.has_obs = links.iter().any(|l| l.has_attribute("obs"));
                resource.attributes = Some(attributes.to_string());
            }
            Ok(_) => {
                let e = RouteError::new(
                    &resource.pattern,
                    format!("`{attributes}` is not one link's attributes"),
                );
                self.error.get_or_insert(e);
            }
            Err(e) => {
                let e = RouteError::new(
                    &resource.pattern,
                    format!("invalid link-format attributes `{attributes}`: {e}"),
                );
                self.error.get_or_insert(e);
            }
        }
        self
    }

    /// The first mistake in a pattern or attributes, if any (the route or attributes at fault
    /// were left out).
    pub fn error(&self) -> Option<&RouteError> {
        self.error.as_ref()
    }

    /// The whole `/.well-known/core` document (unfiltered).
    pub fn well_known_core(&self) -> String {
        let mut doc = String::new();
        for resource in &self.resources {
            let Some(target) = resource.link_target() else {
                continue;
            };
            if !doc.is_empty() {
                doc.push(',');
            }
            doc.push('<');
            doc.push_str(&target);
            doc.push('>');
            if let Some(attributes) = &resource.attributes {
                doc.push(';');
                doc.push_str(attributes);
            }
            if resource.observable && !resource.has_obs {
                doc.push_str(";obs");
            }
        }
        doc
    }

    /// The route that takes a request with `method` to `path`, and its parameters.
    fn find(&self, method: Code, path: &[&str]) -> Option<(&Route<T>, Params)> {
        self.routes.iter().find_map(|route| {
            if route.method != method {
                return None;
            }
            let params = self.resources.get(route.resource)?.matches(path)?;
            Some((route, params))
        })
    }

    /// The resource key of `request` when the route that takes it is
    /// [observable](Router::observable): its path, `/` and the Uri-Path segments joined by
    /// `/` (the same as [`resource_key`] of the path written that way). An adapter answers
    /// such a request with the endpoint's `respond_observable` under this key, and its
    /// notifier for a path notifies under `resource_key(path)`.
    pub fn observable_path(&self, request: &Request) -> Option<String> {
        let path: Vec<&str> = request.options.uri_path().ok()?.collect();
        let (route, _) = self.find(request.method, &path)?;
        route.observable.then(|| format!("/{}", path.join("/")))
    }

    /// What to do with `request`: see the [module documentation](self).
    pub fn dispatch(&self, request: &Request) -> Dispatch<'_, T> {
        let path: Vec<&str> = match request.options.uri_path() {
            Ok(path) => path.collect(),
            Err(_) => return bad_request("invalid Uri-Path"),
        };
        if let Some((route, params)) = self.find(request.method, &path) {
            return Dispatch::Handler {
                handler: route.handler.as_ref(),
                params,
            };
        }
        if path == [".well-known", "core"] {
            if request.method == Code::GET {
                return self.well_known_response(request);
            }
            return Dispatch::Response(Response::new(Code::METHOD_NOT_ALLOWED));
        }
        let known = self.resources.iter().any(|r| r.matches(&path).is_some());
        Dispatch::Response(Response::new(if known {
            Code::METHOD_NOT_ALLOWED
        } else {
            Code::NOT_FOUND
        }))
    }

    fn well_known_response(&self, request: &Request) -> Dispatch<'_, T> {
        let queries: Vec<&str> = match request.options.uri_query() {
            Ok(q) => q.collect(),
            Err(_) => return bad_request("invalid Uri-Query"),
        };
        let mut filters = Vec::with_capacity(queries.len());
        for query in &queries {
            match Filter::parse(query) {
                Ok(f) => filters.push(f),
                Err(e) => return bad_request(&format!("invalid filter `{query}`: {e}")),
            }
        }
        let doc = self.well_known_core();
        let mut out = String::new();
        for link in link_format::parse(&doc) {
            // Every link was checked when its attributes were set.
            let Ok(link) = link else { continue };
            if filters.iter().all(|f| f.matches(&link)) {
                if !out.is_empty() {
                    out.push(',');
                }
                out.push_str(link.as_str());
            }
        }
        let response = Response::builder(Code::CONTENT)
            .options(|o| o.push_content_format(ContentFormat::LINK_FORMAT))
            .payload(out)
            .build()
            .unwrap_or_else(|_| Response::new(Code::INTERNAL_SERVER_ERROR));
        Dispatch::Response(response)
    }
}

/// The key under which an observable resource at `path` is registered: `/` and the path's
/// segments, whether `path` starts with `/` or not ([`Router::observable_path`] gives the
/// same for a request).
///
/// ```
/// use tern_io::coap::router::resource_key;
///
/// assert_eq!(resource_key("time"), "/time");
/// assert_eq!(resource_key("/sensors/7"), "/sensors/7");
/// assert_eq!(resource_key(""), "/");
/// ```
pub fn resource_key(path: &str) -> String {
    format!("/{}", path.strip_prefix('/').unwrap_or(path))
}

/// 4.00 with a diagnostic payload (RFC 7252 §5.5.2).
fn bad_request<'r, T>(why: &str) -> Dispatch<'r, T> {
    Dispatch::Response(Response::new(Code::BAD_REQUEST).with_payload(why.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    fn answer<T>(router: &Router<T>, request: &Request) -> Response {
        match router.dispatch(request) {
            Dispatch::Response(r) => r,
            Dispatch::Handler { .. } => panic!("a handler took {request:?}"),
        }
    }

    fn params<T>(router: &Router<T>, request: &Request) -> Params {
        match router.dispatch(request) {
            Dispatch::Handler { params, .. } => params,
            Dispatch::Response(r) => panic!("answered {}", r.code),
        }
    }

    fn get_with_query(path: &str, queries: &[&str]) -> Request {
        let mut b = Request::builder(Code::GET).path(path);
        for q in queries {
            b = b.query(q);
        }
        b.build().unwrap()
    }

    #[test]
    fn the_first_matching_route_takes_the_request() {
        let hits = Arc::new(AtomicUsize::new(0));
        let (a, b) = (hits.clone(), hits.clone());
        let router: Router<usize> = Router::new()
            .get("/items/new", move |n| {
                a.fetch_add(n, Ordering::SeqCst);
            })
            .get("/items/{id}", move |n| {
                b.fetch_add(n * 100, Ordering::SeqCst);
            });
        for (path, want) in [("/items/new", 1), ("/items/7", 100)] {
            hits.store(0, Ordering::SeqCst);
            match router.dispatch(&Request::get(path).unwrap()) {
                Dispatch::Handler { handler, .. } => handler(1),
                Dispatch::Response(r) => panic!("{path}: {}", r.code),
            }
            assert_eq!(hits.load(Ordering::SeqCst), want, "{path}");
        }
        assert_eq!(
            params(&router, &Request::get("/items/7").unwrap()).get("id"),
            Some("7")
        );
    }

    #[test]
    fn not_found_and_method_not_allowed() {
        let router: Router<()> = Router::new().get("/a/{x}", |_| {}).post("/b", |_| {});
        let code = |r: Request| answer(&router, &r).code;
        assert_eq!(code(Request::get("/nope").unwrap()), Code::NOT_FOUND);
        assert_eq!(code(Request::get("/a").unwrap()), Code::NOT_FOUND);
        assert_eq!(code(Request::get("/a/1/2").unwrap()), Code::NOT_FOUND);
        // An empty segment is no parameter value.
        assert_eq!(code(Request::get("/a/").unwrap()), Code::NOT_FOUND);
        assert_eq!(
            code(Request::delete("/a/1").unwrap()),
            Code::METHOD_NOT_ALLOWED
        );
        assert_eq!(code(Request::get("/b").unwrap()), Code::METHOD_NOT_ALLOWED);
        assert_eq!(
            code(Request::post("/.well-known/core", "").unwrap()),
            Code::METHOD_NOT_ALLOWED
        );
    }

    #[test]
    fn the_root_and_rest_patterns() {
        let router: Router<()> = Router::new()
            .get("/", |_| {})
            .get("/static/{*path}", |_| {});
        assert!(params(&router, &Request::get("").unwrap()).is_empty());
        let p = params(&router, &Request::get("/static").unwrap());
        assert_eq!(p.get("path"), Some(""));
        let p = params(&router, &Request::get("/static/a/b/c").unwrap());
        assert_eq!(p.get("path"), Some("a/b/c"));
        assert_eq!(p.len(), 1);
    }

    #[test]
    fn bad_patterns_are_kept_as_the_first_error() {
        for (pattern, reason) in [
            ("/a/{}", "is no parameter"),
            ("/a/{*}", "is no parameter"),
            ("/{*r}/b", "must be the last segment"),
            ("/x{y}", "mixes text and braces"),
            ("/{a}/{a}", "appears twice"),
        ] {
            let router: Router<()> = Router::new().get(pattern, |_| {}).get("/{b", |_| {});
            let e = router.error().unwrap();
            assert_eq!(e.pattern(), pattern);
            assert!(e.reason().contains(reason), "{pattern}: {e}");
        }
        let router: Router<()> = Router::new().route(Code::CONTENT, "/a", |_| {});
        assert!(router.error().unwrap().reason().contains("not a method"));
        let router: Router<()> = Router::new().attributes("rt=x");
        assert!(router.error().is_some());
    }

    #[test]
    fn well_known_core_lists_each_resource_once_and_filters() {
        let router: Router<()> = Router::new()
            .get("/sensors/temp", |_| {})
            .attributes(r#"rt="temperature-c";if="sensor""#)
            .put("/sensors/temp", |_| {})
            .get("/sensors/light", |_| {})
            .attributes(";rt=light-lux;if=sensor")
            .get("/items/{id}", |_| {})
            .get("/a b", |_| {});
        let doc = |queries: &[&str]| {
            let r = answer(&router, &get_with_query("/.well-known/core", queries));
            assert_eq!(r.code, Code::CONTENT);
            assert_eq!(
                r.options.content_format().unwrap(),
                Some(ContentFormat::LINK_FORMAT)
            );
            String::from_utf8(r.payload.to_vec()).unwrap()
        };
        assert_eq!(
            doc(&[]),
            r#"</sensors/temp>;rt="temperature-c";if="sensor",</sensors/light>;rt=light-lux;if=sensor,</a%20b>"#
        );
        assert_eq!(
            doc(&["rt=temperature-c"]),
            r#"</sensors/temp>;rt="temperature-c";if="sensor""#
        );
        assert_eq!(
            doc(&["if=sensor", "rt=light*"]),
            "</sensors/light>;rt=light-lux;if=sensor"
        );
        assert_eq!(doc(&["href=/a*"]), "</a%20b>");
        assert_eq!(doc(&["rt=none"]), "");
        let bad = answer(&router, &get_with_query("/.well-known/core", &["rt"]));
        assert_eq!(bad.code, Code::BAD_REQUEST);
    }

    #[test]
    fn observable_routes_have_a_resource_key_and_obs() {
        let router: Router<()> = Router::new()
            .observable("/time", |_| {})
            .post("/time", |_| {})
            .observable("/s/{id}", |_| {})
            .get("/plain", |_| {})
            .observable("/flagged", |_| {})
            .attributes("obs;rt=x");
        let key = |r: Request| router.observable_path(&r);
        assert_eq!(key(Request::get("time").unwrap()).as_deref(), Some("/time"));
        assert_eq!(key(Request::get("/s/1").unwrap()).as_deref(), Some("/s/1"));
        assert_eq!(key(Request::post("/time", "").unwrap()), None);
        assert_eq!(key(Request::get("/plain").unwrap()), None);
        assert_eq!(key(Request::get("/nothing").unwrap()), None);
        assert_eq!(resource_key("time"), "/time");
        assert_eq!(
            router.well_known_core(),
            "</time>;obs,</plain>,</flagged>;obs;rt=x"
        );
    }

    #[test]
    fn a_route_of_its_own_takes_well_known_core() {
        let router: Router<()> = Router::new().get("/.well-known/core", |_| {});
        assert!(matches!(
            router.dispatch(&Request::get("/.well-known/core").unwrap()),
            Dispatch::Handler { .. }
        ));
    }
}
