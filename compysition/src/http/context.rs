//! [`HttpContext`]: the HTTP request an event came from, riding on the event as an extension.
//!
//! The server puts one on every request's event (`event.extension::<HttpContext>()`); the
//! actors that care read the request's method, path and headers from it, and set the status and
//! headers of the response there. Copies of the event share it until one of them changes it.

use super::routes::MethodSet;

/// The HTTP request an event came from, and the response it asks for.
///
/// ```
/// use compysition::http::HttpContext;
/// use compysition::Event;
///
/// let mut event = Event::new(()).with_extension(HttpContext::new(http::Method::POST, "/orders"));
/// if let Some(http) = event.extension_mut::<HttpContext>() {
///     http.status = Some(http::StatusCode::CREATED);
/// }
/// assert_eq!(event.extension::<HttpContext>().and_then(|h| h.status), Some(http::StatusCode::CREATED));
/// ```
#[derive(Clone, Debug)]
pub struct HttpContext {
    /// Request method.
    pub method: http::Method,
    /// Request path, without the query.
    pub path: String,
    /// Raw query string, if any.
    pub query: Option<String>,
    /// Request headers.
    pub headers: http::HeaderMap,
    /// The status the response should have; `None` lets the server choose.
    pub status: Option<http::StatusCode>,
    /// Extra headers for the response.
    pub response_headers: http::HeaderMap,
    /// The methods the request's route allows: the one thing about the server's routing that a
    /// step of the flow needs (an `HttpMethodRouter` answering `405` offers no method the server
    /// itself would refuse).
    pub(crate) route_methods: MethodSet,
}

impl HttpContext {
    /// A context for a request.
    pub fn new(method: http::Method, path: impl Into<String>) -> Self {
        HttpContext {
            method,
            path: path.into(),
            ..Default::default()
        }
    }
}

impl Default for HttpContext {
    fn default() -> Self {
        HttpContext {
            method: http::Method::default(),
            path: String::new(),
            query: None,
            headers: http::HeaderMap::new(),
            status: None,
            response_headers: http::HeaderMap::new(),
            // A context made outside a server restricts nothing.
            route_methods: MethodSet::ALL,
        }
    }
}
