//! Routes: which requests an [`HttpServer`](crate::actors::HttpServer) takes, which `service` they get,
//! which attributes their path variables become, and which outbox they leave by.
//!
//! The default route `/<service>` takes `GET` and `POST` on any one-segment path and sets the
//! event's `service` to that segment, as the Python server did. Configured [`Route`]s come
//! first; a path that no route matches is a `404`, a path matched only by routes that do not
//! allow the method is a `405` with an `Allow` header listing what they allow.

use std::borrow::Cow;
use std::fmt;

use http::Method;

/// A configured route: a path pattern, the methods it allows, and the outbox its requests go to.
///
/// Pattern segments are literals or `{name}` variables; a variable matches one non-empty
/// segment and becomes the event attribute `name` (percent-decoded). A last segment `{*name}`
/// matches the rest of the path.
///
/// ```
/// use compysition::http::Route;
/// use http::Method;
///
/// let route = Route::new("/orders/{id}")
///     .methods([Method::GET, Method::PUT, Method::DELETE])
///     .service("orders");
/// # let _ = route;
/// ```
#[derive(Clone, Debug)]
pub struct Route {
    pattern: String,
    segments: Vec<Segment>,
    methods: Vec<Method>,
    /// `methods` as a set, made once: it goes with every request on the route.
    method_set: MethodSet,
    service: Option<String>,
    outbox: Option<&'static str>,
}

/// A set of the methods an [`HttpMethodRouter`](crate::actors::HttpMethodRouter) routes: `GET`,
/// `POST`, `PUT`, `PATCH`, `DELETE` (others are not recorded). Each request carries the set its
/// route allows, so that a router further along can answer `405` with an `Allow` header that
/// lists only methods the server would let through.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct MethodSet(u8);

impl MethodSet {
    /// The methods in the order an `Allow` header lists them.
    pub(crate) const ROUTED: [Method; 5] = [
        Method::GET,
        Method::POST,
        Method::PUT,
        Method::PATCH,
        Method::DELETE,
    ];

    /// The default route's: `GET` and `POST`.
    const GET_POST: MethodSet = MethodSet(0b11);

    /// Every routed method.
    pub(crate) const ALL: MethodSet = MethodSet(0b1_1111);

    fn bit(method: &Method) -> u8 {
        MethodSet::ROUTED
            .iter()
            .position(|routed| routed == method)
            .map_or(0, |at| 1 << at)
    }

    pub(crate) fn of<'a>(methods: impl IntoIterator<Item = &'a Method>) -> MethodSet {
        MethodSet(
            methods
                .into_iter()
                .fold(0, |set, m| set | MethodSet::bit(m)),
        )
    }

    pub(crate) fn contains(self, method: &Method) -> bool {
        self.0 & MethodSet::bit(method) != 0
    }

    /// The methods in both sets.
    pub(crate) fn and(self, other: MethodSet) -> MethodSet {
        MethodSet(self.0 & other.0)
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Segment {
    Literal(String),
    Variable(String),
    Rest(String),
}

impl Route {
    /// A route for `pattern`, allowing `GET` and `POST` (as the default route does).
    pub fn new(pattern: impl Into<String>) -> Self {
        let pattern = pattern.into();
        let mut segments: Vec<Segment> = pattern
            .split('/')
            .filter(|s| !s.is_empty())
            .map(
                |s| match s.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
                    Some(name) => match name.strip_prefix('*') {
                        Some(rest) => Segment::Rest(rest.to_string()),
                        None => Segment::Variable(name.to_string()),
                    },
                    None => Segment::Literal(s.to_string()),
                },
            )
            .collect();
        // A rest variable anywhere but last would swallow the segments after it: read it as a
        // plain variable there.
        let last = segments.len().saturating_sub(1);
        for segment in segments.iter_mut().take(last) {
            if let Segment::Rest(name) = segment {
                *segment = Segment::Variable(std::mem::take(name));
            }
        }
        Route {
            pattern,
            segments,
            methods: vec![Method::GET, Method::POST],
            method_set: MethodSet::GET_POST,
            service: None,
            outbox: None,
        }
    }

    /// The methods this route allows (replacing `GET` and `POST`).
    pub fn methods(mut self, methods: impl IntoIterator<Item = Method>) -> Self {
        self.methods = methods.into_iter().collect();
        self.method_set = MethodSet::of(&self.methods);
        self
    }

    /// The event's `service` for requests on this route (default: the pattern's first literal
    /// segment, or the pattern itself).
    pub fn service(mut self, service: impl Into<String>) -> Self {
        self.service = Some(service.into());
        self
    }

    /// The outbox requests on this route leave by (default: the server's first outbox).
    pub fn outbox(mut self, name: &'static str) -> Self {
        self.outbox = Some(name);
        self
    }

    /// The pattern.
    pub fn pattern(&self) -> &str {
        &self.pattern
    }

    pub(crate) fn outbox_name(&self) -> Option<&'static str> {
        self.outbox
    }

    fn service_name(&self) -> &str {
        if let Some(service) = &self.service {
            return service;
        }
        self.segments
            .iter()
            .find_map(|s| match s {
                Segment::Literal(l) => Some(l.as_str()),
                _ => None,
            })
            .unwrap_or(&self.pattern)
    }

    /// The variables of `path` if it matches.
    fn matches(&self, path: &str) -> Option<Vec<(String, String)>> {
        let mut variables = Vec::new();
        let mut parts = path.split('/').filter(|s| !s.is_empty());
        for segment in &self.segments {
            match segment {
                Segment::Literal(literal) => {
                    if parts.next()? != literal {
                        return None;
                    }
                }
                Segment::Variable(name) => {
                    variables.push((name.clone(), percent_decode(parts.next()?).into_owned()));
                }
                Segment::Rest(name) => {
                    let rest: Vec<&str> = parts.by_ref().collect();
                    if rest.is_empty() {
                        return None;
                    }
                    variables.push((name.clone(), percent_decode(&rest.join("/")).into_owned()));
                }
            }
        }
        match parts.next() {
            Some(_) => None,
            None => Some(variables),
        }
    }
}

/// Where a request goes.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Matched<'a> {
    pub(crate) service: Cow<'a, str>,
    pub(crate) attributes: Vec<(String, String)>,
    pub(crate) outbox: Option<&'static str>,
    /// The methods the matched route allows.
    pub(crate) methods: MethodSet,
}

/// Why a request goes nowhere.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum NoRoute {
    /// No route has this path.
    NotFound,
    /// Routes have this path but not this method; the `Allow` header value.
    MethodNotAllowed(String),
}

/// The server's routes, configured ones first.
#[derive(Clone, Debug)]
pub(crate) struct Routes {
    routes: Vec<Route>,
    default_route: bool,
}

impl Default for Routes {
    fn default() -> Self {
        Routes {
            routes: Vec::new(),
            default_route: true,
        }
    }
}

impl Routes {
    pub(crate) fn push(&mut self, route: Route) {
        self.routes.push(route);
    }

    pub(crate) fn set_default_route(&mut self, on: bool) {
        self.default_route = on;
    }

    pub(crate) fn iter(&self) -> impl Iterator<Item = &Route> {
        self.routes.iter()
    }

    /// The route for `method` on `path`.
    pub(crate) fn find<'a>(
        &'a self,
        method: &Method,
        path: &'a str,
    ) -> Result<Matched<'a>, NoRoute> {
        // HEAD is answered wherever GET is, without the body (RFC 9110 §9.3.2).
        let method = if method == Method::HEAD {
            &Method::GET
        } else {
            method
        };
        let mut allowed: Vec<&Method> = Vec::new();
        for route in &self.routes {
            if let Some(attributes) = route.matches(path) {
                if route.methods.contains(method) {
                    return Ok(Matched {
                        service: Cow::Borrowed(route.service_name()),
                        attributes,
                        outbox: route.outbox,
                        methods: route.method_set,
                    });
                }
                allowed.extend(route.methods.iter());
            }
        }
        if self.default_route {
            let mut segments = path.split('/').filter(|s| !s.is_empty());
            if let (Some(service), None) = (segments.next(), segments.next()) {
                if *method == Method::GET || *method == Method::POST {
                    return Ok(Matched {
                        service: percent_decode(service),
                        attributes: Vec::new(),
                        outbox: None,
                        methods: MethodSet::GET_POST,
                    });
                }
                allowed.extend([&Method::GET, &Method::POST]);
            }
        }
        if allowed.is_empty() {
            return Err(NoRoute::NotFound);
        }
        let mut names: Vec<&str> = allowed.iter().map(|m| m.as_str()).collect();
        names.sort_unstable();
        names.dedup();
        Err(NoRoute::MethodNotAllowed(names.join(", ")))
    }
}

impl fmt::Display for Route {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.pattern)
    }
}

/// Decodes `%XX` escapes; a sequence that does not decode to UTF-8 is kept as it was.
fn percent_decode(segment: &str) -> Cow<'_, str> {
    if !segment.contains('%') {
        return Cow::Borrowed(segment);
    }
    let bytes = segment.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let escaped = (bytes[i] == b'%')
            .then(|| bytes.get(i + 1..i + 3))
            .flatten()
            .and_then(|hex| std::str::from_utf8(hex).ok())
            .and_then(|hex| u8::from_str_radix(hex, 16).ok());
        match escaped {
            Some(byte) => {
                out.push(byte);
                i += 3;
            }
            None => {
                out.push(bytes[i]);
                i += 1;
            }
        }
    }
    match String::from_utf8(out) {
        Ok(decoded) => Cow::Owned(decoded),
        Err(_) => Cow::Borrowed(segment),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_route_takes_one_segment_as_the_service() {
        let routes = Routes::default();
        let matched = routes.find(&Method::POST, "/order").expect("default route");
        assert_eq!(matched.service, "order");
        assert_eq!(routes.find(&Method::GET, "/"), Err(NoRoute::NotFound));
        assert_eq!(routes.find(&Method::GET, "/a/b"), Err(NoRoute::NotFound));
        assert_eq!(
            routes.find(&Method::PUT, "/order"),
            Err(NoRoute::MethodNotAllowed("GET, POST".into()))
        );
    }

    #[test]
    fn variables_become_attributes() {
        let mut routes = Routes::default();
        routes.push(Route::new("/orders/{id}/lines/{line}").methods([Method::PUT]));
        let matched = routes
            .find(&Method::PUT, "/orders/42/lines/a%20b")
            .expect("route");
        assert_eq!(matched.service, "orders");
        assert_eq!(
            matched.attributes,
            vec![("id".into(), "42".into()), ("line".into(), "a b".into())]
        );
        assert_eq!(
            routes.find(&Method::GET, "/orders/42/lines/1"),
            Err(NoRoute::MethodNotAllowed("PUT".into()))
        );
    }

    #[test]
    fn a_rest_variable_takes_the_remaining_path() {
        let mut routes = Routes::default();
        routes.push(
            Route::new("/files/{*path}")
                .service("files")
                .outbox("files"),
        );
        let matched = routes.find(&Method::GET, "/files/a/b.txt").expect("route");
        assert_eq!(matched.attributes, vec![("path".into(), "a/b.txt".into())]);
        assert_eq!(matched.outbox, Some("files"));
    }

    #[test]
    fn a_match_carries_the_methods_of_its_route() {
        let mut routes = Routes::default();
        routes.push(Route::new("/orders/{id}").methods([
            Method::GET,
            Method::DELETE,
            Method::HEAD,
        ]));
        let matched = routes.find(&Method::DELETE, "/orders/7").expect("route");
        assert_eq!(
            matched.methods,
            MethodSet::of(&[Method::GET, Method::DELETE])
        );
        assert!(matched.methods.contains(&Method::GET));
        assert!(!matched.methods.contains(&Method::POST));
        let default = routes
            .find(&Method::POST, "/orders")
            .expect("default route");
        assert_eq!(default.methods, MethodSet::of(&[Method::GET, Method::POST]));
    }

    #[test]
    fn without_the_default_route_unknown_services_are_not_found() {
        let mut routes = Routes::default();
        routes.set_default_route(false);
        routes.push(Route::new("/order"));
        assert!(routes.find(&Method::POST, "/order").is_ok());
        assert_eq!(routes.find(&Method::POST, "/other"), Err(NoRoute::NotFound));
    }

    #[test]
    fn bad_escapes_are_kept() {
        assert_eq!(percent_decode("a%2"), "a%2");
        assert_eq!(percent_decode("%ff"), "%ff");
        assert_eq!(percent_decode("caf%C3%A9"), "café");
    }
}
