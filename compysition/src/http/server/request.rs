//! Reading a request: from its head and body to the event that enters the flow, or to the
//! error that answers it at once (unknown route, wrong method, unsupported or oversized body,
//! a body that does not arrive or does not parse).

use std::sync::Arc;

use http::header::{HeaderMap, HeaderValue, CONTENT_LENGTH, HOST};
use http::request::Parts;
use http::{Method, Request, Response, Version};
use http_body_util::{BodyExt, Full, LengthLimitError, Limited};
use hyper::body::{Body as _, Incoming};
use tokio::time::Instant;

use crate::deadline::Deadline;
use crate::error::{ErrorKind, EventError};
use crate::event::Event;
use crate::payload::Bytes;
use crate::reply::{ReplySlot, Waiting};
use crate::xml::XmlLimits;

use super::answer::{await_answer, Answering};
use super::connections::InFlight;
use super::{HttpOutboxes, Shared, MAX_REQUEST_ID, REQUEST_ID};
use crate::http::body::{Body, Unparsed};
use crate::http::context::HttpContext;
use crate::http::negotiation::{request_kind, Accept, MediaKind, Unsupported};
use crate::http::routes::{MethodSet, NoRoute};
use crate::http::status::Allow;

/// Answers one request: reads it, sends its event into the flow, and writes what comes back.
pub(super) async fn handle<O: HttpOutboxes>(
    request: Request<Incoming>,
    shared: &Shared<O>,
    in_flight: &InFlight,
) -> Response<Full<Bytes>> {
    // The request's deadline runs from its complete head: the body, the flow and every wait
    // on the way count against it.
    let deadline = Instant::now() + shared.config.timeout;
    let (parts, body) = request.into_parts();
    let head = parts.method == Method::HEAD;
    let kind = request_kind(&parts.headers);
    let mut answering = Answering {
        accept: Accept::from_headers(&parts.headers),
        request_kind: kind.as_ref().ok().copied().flatten(),
        request_id: None,
        deadline,
    };
    let mut response = match read_request(parts, body, kind, shared, &mut answering).await {
        Ok(admitted) => {
            // A whole request: its connection keeps its seat while the flow works on it.
            in_flight.body_received();
            await_answer(admitted, shared, &answering).await
        }
        Err(error) => answering.error(&error),
    };
    tracing::debug!(status = response.status().as_u16(), "answered");
    if head {
        without_body(&mut response);
    }
    response
}

/// A `HEAD` answer: the `GET` answer's headers, its length included, and no body.
fn without_body(response: &mut Response<Full<Bytes>>) {
    let length = response.body().size_hint().exact().unwrap_or(0);
    response
        .headers_mut()
        .entry(CONTENT_LENGTH)
        .or_insert_with(|| HeaderValue::from(length));
    *response.body_mut() = Full::new(Bytes::new());
}

/// RFC 9112 §3.2: an HTTP/1.1 request without `Host`, or any request with more than one, is
/// `400` (HTTP/2 names the authority in its pseudo-headers instead).
fn check_host(parts: &Parts) -> Result<(), EventError> {
    let mut hosts = parts.headers.get_all(HOST).iter();
    match (hosts.next(), hosts.next()) {
        (Some(_), Some(_)) => Err(EventError::malformed("more than one Host header")),
        (None, _) if parts.version == Version::HTTP_11 => Err(EventError::malformed(
            "an HTTP/1.1 request needs a Host header",
        )),
        _ => Ok(()),
    }
}

/// Turns a request into its event, or into the error that answers it.
async fn read_request<O: HttpOutboxes>(
    parts: Parts,
    body: Incoming,
    kind: Result<Option<MediaKind>, Unsupported>,
    shared: &Shared<O>,
    answering: &mut Answering,
) -> Result<Admitted, EventError> {
    answering.request_id = request_id(&parts.headers)?;
    check_host(&parts)?;
    let route = find_route(&parts, shared)?;
    let kind = body_kind(kind, &body)?;
    let bytes = read_body(&parts.headers, body, shared, answering.deadline).await?;
    // XML and JSON stay bytes until an edge parses them for the actor that takes them.
    let payload = body_payload(kind, bytes, shared.config.xml_limits.as_ref())?;
    let outbox = route.outbox;
    let (mut event, answer) = admit(payload, parts, route, answering.request_id.as_ref());
    // What the flow does for it on the CPU pool counts against the same deadline.
    event.insert_extension(Deadline::at(answering.deadline));
    shared.stats.count_request();
    Ok(Admitted {
        event,
        answer,
        outbox,
    })
}

/// The request's `X-Request-ID`, if it has a usable one.
fn request_id(headers: &HeaderMap) -> Result<Option<HeaderValue>, EventError> {
    let Some(id) = headers.get(REQUEST_ID) else {
        return Ok(None);
    };
    let valid = id.len() <= MAX_REQUEST_ID
        && !id.is_empty()
        && id.as_bytes().iter().all(|b| b.is_ascii_graphic());
    if !valid {
        return Err(EventError::malformed(format!(
            "X-Request-ID must be 1 to {MAX_REQUEST_ID} visible ASCII characters"
        )));
    }
    Ok(Some(id.clone()))
}

/// The route the request takes: `404` for none, `405` with `Allow` for a wrong method, `500`
/// for a route whose outbox the server does not have.
fn find_route<O: HttpOutboxes>(
    parts: &Parts,
    shared: &Shared<O>,
) -> Result<Destination, EventError> {
    let path = parts.uri.path();
    let route = match shared.config.routes.find(&parts.method, path) {
        Ok(route) => route,
        Err(NoRoute::NotFound) => {
            return Err(EventError::not_found(format!("no route for {path}")))
        }
        Err(NoRoute::MethodNotAllowed(allow)) => {
            let message = format!("{} is not allowed on {path}", parts.method);
            return Err(EventError::method_not_allowed(message).with_extension(Allow::new(allow)));
        }
    };
    if shared.outboxes.outbox(route.outbox).is_none() {
        return Err(EventError::internal(format!(
            "the route for {path} names outbox `{}`, which the server does not have",
            route.outbox.unwrap_or("<default>")
        )));
    }
    Ok(Destination {
        service: Arc::from(&*route.service),
        attributes: route.attributes,
        methods: route.methods,
        outbox: route.outbox,
    })
}

/// Where a request goes, apart from the request's parts so that they can move into its event.
struct Destination {
    service: Arc<str>,
    attributes: Vec<(String, String)>,
    methods: MethodSet,
    outbox: Option<&'static str>,
}

/// The payload the body's content type asks for; an unsupported type is `415` unless there is
/// no body to read.
fn body_kind(
    kind: Result<Option<MediaKind>, Unsupported>,
    body: &Incoming,
) -> Result<Option<MediaKind>, EventError> {
    match kind {
        Ok(kind) => Ok(kind),
        Err(_) if body.size_hint().exact() == Some(0) => Ok(None),
        Err(unsupported) => Err(EventError::new(
            ErrorKind::UnsupportedMediaType,
            format!(
                "unsupported {}; send application/json, application/xml, text/xml, text/plain or application/octet-stream",
                unsupported.0
            ),
        )),
    }
}

/// The whole body, within the body limit (`413`) and the timeout (`408`).
async fn read_body<O>(
    headers: &HeaderMap,
    body: Incoming,
    shared: &Shared<O>,
    deadline: Instant,
) -> Result<Bytes, EventError> {
    let limit = shared.config.body_limit;
    let too_large = || {
        EventError::new(
            ErrorKind::PayloadTooLarge,
            format!("the body is larger than {limit} bytes"),
        )
    };
    let declared = headers
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|length| length > limit as u64) {
        return Err(too_large());
    }
    // A client that trickles its body must not hold the connection forever.
    let timeout = shared.config.timeout;
    match tokio::time::timeout_at(deadline, Limited::new(body, limit).collect()).await {
        Ok(Ok(collected)) => Ok(collected.to_bytes()),
        Ok(Err(error)) if error.is::<LengthLimitError>() => Err(too_large()),
        Ok(Err(error)) => Err(EventError::malformed(format!(
            "the request body could not be read: {error}"
        ))),
        Err(_elapsed) => Err(EventError::new(
            ErrorKind::RequestTimeout,
            format!(
                "the request body did not arrive within {} ms",
                timeout.as_millis()
            ),
        )),
    }
}

/// The request's event: its payload, the route's service and attributes, its `meta_id`, its
/// [`HttpContext`] and the reply slot its answer comes back through.
fn admit(
    payload: Body,
    parts: Parts,
    route: Destination,
    request_id: Option<&HeaderValue>,
) -> (Event<Body>, Waiting<Body>) {
    let mut event = Event::new(payload).with_service(route.service);
    for (name, value) in route.attributes {
        event.set_attribute(name, value);
    }
    // Checked when read: visible ASCII.
    if let Some(id) = request_id.and_then(|id| id.to_str().ok()) {
        event.set_meta_id(id);
    }
    let (slot, answer) = ReplySlot::new::<Body>();
    let mut http = HttpContext::new(parts.method, parts.uri.path());
    http.query = parts.uri.query().map(str::to_owned);
    http.headers = parts.headers;
    http.route_methods = route.methods;
    mark_credentials_sensitive(&mut http.headers);
    event.insert_extension(http);
    event.set_reply_slot(slot);
    (event, answer)
}

/// A request turned into its event.
pub(super) struct Admitted {
    pub(super) event: Event<Body>,
    /// Where its answer arrives.
    pub(super) answer: Waiting<Body>,
    /// The outbox its route leaves by.
    pub(super) outbox: Option<&'static str>,
}

/// Marks credentials so that printing the event (its `Debug`) shows `Sensitive` instead.
fn mark_credentials_sensitive(headers: &mut HeaderMap) {
    use http::header::{AUTHORIZATION, COOKIE, PROXY_AUTHORIZATION};
    for name in [AUTHORIZATION, PROXY_AUTHORIZATION, COOKIE] {
        if let http::header::Entry::Occupied(mut entry) = headers.entry(name) {
            for value in entry.iter_mut() {
                value.set_sensitive(true);
            }
        }
    }
}

/// The request body as the payload its content type asks for: XML and JSON unparsed, text
/// checked to be UTF-8.
fn body_payload(
    kind: Option<MediaKind>,
    bytes: Bytes,
    xml_limits: Option<&Arc<XmlLimits>>,
) -> Result<Body, EventError> {
    if bytes.is_empty() {
        return Ok(Body::Empty);
    }
    match kind {
        Some(MediaKind::Json) => Ok(Body::Unparsed(Unparsed::json(bytes))),
        Some(MediaKind::Xml) => {
            let unparsed = Unparsed::xml(bytes);
            Ok(Body::Unparsed(match xml_limits {
                Some(limits) => unparsed.with_xml_limits(Arc::clone(limits)),
                None => unparsed,
            }))
        }
        Some(MediaKind::Text) => match String::from_utf8(bytes.into()) {
            Ok(text) => Ok(Body::Text(text)),
            Err(error) => Err(EventError::malformed(format!(
                "text/plain body is not UTF-8: invalid byte at offset {}",
                error.utf8_error().valid_up_to()
            ))),
        },
        Some(MediaKind::Bytes) | None => Ok(Body::Bytes(bytes)),
    }
}
