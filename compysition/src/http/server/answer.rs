//! Answering a request: handing what comes back on the server's inboxes to the request that
//! waits for it, and writing the answer, the failure, the loss or the timeout as a response in
//! the format the client asked for.

use std::fmt;

use http::header::{HeaderMap, HeaderValue, ALLOW, CONNECTION, CONTENT_TYPE};
use http::{Response, StatusCode};
use http_body_util::Full;
use tokio::time::Instant;

use crate::error::{ErrorKind, EventError};
use crate::event::{Event, MetaId};
use crate::id::EventId;
use crate::payload::{AnyPayload, Bytes, ErrorEvent};
use crate::port::Inbox;
use crate::reply::{Answer, Undelivered};
use crate::xml::Xml;

use super::request::Admitted;
use super::{HttpOutboxes, Shared, REQUEST_ID};
use crate::http::auth::{header_safe_realm, DEFAULT_REALM};
use crate::http::body::{Body, Unparsed};
use crate::http::context::HttpContext;
use crate::http::negotiation::{self, error_body, Accept, Format, MediaKind};
use crate::http::stats::HttpStats;
use crate::http::status::{Allow, Challenge, HttpStatus};

/// Hands every answer and every routed error to the request waiting for it, until both inboxes
/// close.
pub(super) async fn deliver_answers(
    mut inbox: Inbox<Body>,
    mut errors: Option<Inbox<AnyPayload>>,
    stats: HttpStats,
) {
    async fn next_error(errors: &mut Option<Inbox<AnyPayload>>) -> Option<ErrorEvent> {
        match errors {
            Some(inbox) => inbox.recv().await,
            None => None,
        }
    }
    loop {
        // A delivered answer is counted by the request when it gets it, so the count is never
        // behind what clients have seen; what was not delivered comes back here.
        let undelivered = tokio::select! {
            Some(event) = inbox.recv() => match event.reply_slot().cloned() {
                Some(slot) => slot.answer(event).err().map(|(why, event)| (Some(why), event.split().0)),
                None => Some((None, event.split().0)),
            },
            Some(event) = next_error(&mut errors) => match event.reply_slot().cloned() {
                Some(slot) => slot.fail(event).err().map(|(why, event)| (Some(why), event.split().0)),
                None => Some((None, event.split().0)),
            },
            else => break,
        };
        if let Some((why, envelope)) = undelivered {
            count_undelivered(why, &envelope, &stats);
        }
    }
}

/// Counts and logs an answer that did not reach its request; `why` is `None` for one that
/// belongs to no request at all.
fn count_undelivered(why: Option<Undelivered>, envelope: &Event<()>, stats: &HttpStats) {
    let meta_id = envelope.meta_id();
    match why {
        None => {
            stats.count_unmatched();
            tracing::warn!(%meta_id, "an event that belongs to no request reached the server; dropped (keep the request's envelope: use `map` or `with_data`, not a new event)");
        }
        Some(Undelivered::WrongPayload) => {
            stats.count_unmatched();
            tracing::warn!(%meta_id, "an answer reached the server for a request of another kind of source; dropped");
        }
        Some(Undelivered::AlreadyAnswered) => {
            stats.count_late();
            tracing::debug!(%meta_id, "request already answered by another copy; dropped");
        }
        Some(Undelivered::NobodyWaiting) => {
            stats.count_late();
            tracing::debug!(%meta_id, "answer arrived after the request stopped waiting; dropped");
        }
    }
}

/// What a request needs to write any answer.
pub(super) struct Answering {
    pub(super) accept: Accept,
    pub(super) request_kind: Option<MediaKind>,
    pub(super) request_id: Option<HeaderValue>,
    /// When the request must be answered: its head's arrival plus the timeout.
    pub(super) deadline: Instant,
}

impl Answering {
    pub(super) fn error(&self, error: &EventError) -> Response<Full<Bytes>> {
        let format = self.accept.choose_for_error(self.request_kind);
        let content_type = match format {
            Format::Json => negotiation::JSON,
            Format::Xml => self.accept.xml_content_type(),
        };
        let mut response = Response::new(Full::new(Bytes::from(error_body(error, format))));
        *response.status_mut() = error.http_status();
        let headers = response.headers_mut();
        headers.insert(CONTENT_TYPE, content_type);
        match error.kind() {
            // RFC 9110 §11.6.1: a 401 always carries a challenge.
            ErrorKind::Unauthorized => {
                let realm = error
                    .extension::<Challenge>()
                    .map_or(DEFAULT_REALM, Challenge::realm);
                headers.insert(http::header::WWW_AUTHENTICATE, challenge(realm));
            }
            ErrorKind::MethodNotAllowed => {
                let allow = error
                    .extension::<Allow>()
                    .map(|allow| HeaderValue::from_str(allow.as_str()));
                if let Some(Ok(allow)) = allow {
                    headers.insert(ALLOW, allow);
                }
            }
            _ => {}
        }
        self.echo_request_id(headers);
        response
    }

    fn echo_request_id(&self, headers: &mut HeaderMap) {
        if let Some(id) = &self.request_id {
            headers.insert(REQUEST_ID, id.clone());
        }
    }
}

/// `Basic realm="…", charset="UTF-8"`, the realm a quoted-string (RFC 7235): quotes and
/// backslashes escaped, and what a header cannot carry replaced (a realm may come from any
/// `EventError::unauthorized`, not only from a `BasicAuth`, which cleans it when it is set).
fn challenge(realm: &str) -> HeaderValue {
    let realm = header_safe_realm(realm);
    let mut value = String::with_capacity(realm.len() + 34);
    value.push_str("Basic realm=\"");
    for c in realm.chars() {
        if c == '"' || c == '\\' {
            value.push('\\');
        }
        value.push(c);
    }
    value.push_str("\", charset=\"UTF-8\"");
    // Visible ASCII and spaces only, which a header value always takes.
    HeaderValue::from_str(&value)
        .unwrap_or_else(|_| HeaderValue::from_static("Basic realm=\"\", charset=\"UTF-8\""))
}

/// Sends the event into the flow and waits for its answer, its error, its loss or the timeout.
pub(super) async fn await_answer<O: HttpOutboxes>(
    admitted: Admitted,
    shared: &Shared<O>,
    answering: &Answering,
) -> Response<Full<Bytes>> {
    let Admitted {
        event,
        answer,
        outbox,
    } = admitted;
    let timeout = shared.config.timeout;
    // For the log records of a request that gets no answer; written only then.
    let meta_id = RequestMetaId {
        given: answering.request_id.as_ref(),
        own: event.id(),
    };
    let mut drain_expired = shared.drain_expired.subscribe();
    let answered = async {
        // Checked when the request was read; a missing outbox drops the event (a 500).
        if let Some(outbox) = shared.outboxes.outbox(outbox) {
            outbox.send(event).await;
        }
        answer.await
    };
    // The deadline covers the wait for room in a full inbox too.
    let outcome = tokio::select! {
        outcome = tokio::time::timeout_at(answering.deadline, answered) => outcome.map_err(|_| Unanswered::Late),
        _ = drain_expired.wait_for(|expired| *expired) => Err(Unanswered::Stopping),
    };
    if let Ok(Ok(_)) = &outcome {
        shared.stats.count_answered();
    }
    match outcome {
        Ok(Ok(Answer::Response(event))) => respond(event, answering),
        Ok(Ok(Answer::Failed(event))) => {
            let error = event
                .error()
                .cloned()
                .unwrap_or_else(|| EventError::internal("the flow failed without saying why"));
            let mut response = answering.error(&error);
            echo_meta_id(&event, response.headers_mut());
            response
        }
        Ok(Err(_dropped)) => {
            shared.stats.count_dropped();
            tracing::warn!(%meta_id, "the flow dropped the request without answering");
            answering.error(&EventError::internal(
                "the flow dropped the request without answering",
            ))
        }
        Err(Unanswered::Late) => {
            shared.stats.count_timed_out();
            tracing::warn!(%meta_id, ?timeout, "the flow did not answer in time");
            answering.error(&EventError::timeout(format!(
                "the flow did not answer within {} ms",
                timeout.as_millis()
            )))
        }
        Err(Unanswered::Stopping) => {
            shared.stats.count_refused_stopping();
            tracing::warn!(%meta_id, "the server stopped before the flow answered");
            let mut response = answering.error(&EventError::unavailable(
                "the server is stopping and the flow did not answer in time; try again",
            ));
            response
                .headers_mut()
                .insert(CONNECTION, HeaderValue::from_static("close"));
            response
        }
    }
}

/// Why a request got no answer from the flow.
enum Unanswered {
    /// Its deadline passed: `504`.
    Late,
    /// The server stopped and its drain deadline passed: `503`.
    Stopping,
}

fn echo_meta_id<T>(event: &Event<T>, headers: &mut HeaderMap) {
    if headers.contains_key(REQUEST_ID) {
        return;
    }
    let id = match event.meta_id() {
        MetaId::Own(id) => HeaderValue::from_bytes(&id.hyphenated()),
        MetaId::Given(given) => HeaderValue::from_str(given),
    };
    if let Ok(id) = id {
        headers.insert(REQUEST_ID, id);
    }
}

/// The `meta_id` of a request's event: its `X-Request-ID`, or else the event's own id.
struct RequestMetaId<'a> {
    given: Option<&'a HeaderValue>,
    own: EventId,
}

impl fmt::Display for RequestMetaId<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // A request id is checked to be visible ASCII when the request is read.
        match self.given.and_then(|id| id.to_str().ok()) {
            Some(given) => f.write_str(given),
            None => fmt::Display::fmt(&self.own, f),
        }
    }
}

/// Writes the flow's answer in the format the client asked for.
fn respond(event: Event<Body>, answering: &Answering) -> Response<Full<Bytes>> {
    let (envelope, body) = event.split();
    let http = envelope.extension::<HttpContext>();
    let status = http.and_then(|http| http.status).unwrap_or(StatusCode::OK);
    let mut headers = http
        .map(|http| http.response_headers.clone())
        .unwrap_or_default();
    let bytes = if status == StatusCode::NO_CONTENT || status == StatusCode::NOT_MODIFIED {
        Bytes::new()
    } else if headers.contains_key(CONTENT_TYPE) {
        // The flow chose the format itself.
        body.into_bytes()
    } else {
        let (content_type, bytes) = negotiate(body, &answering.accept);
        if let Some(content_type) = content_type {
            headers.insert(CONTENT_TYPE, content_type);
        }
        bytes
    };
    answering.echo_request_id(&mut headers);
    echo_meta_id(&envelope, &mut headers);
    let mut response = Response::new(Full::new(bytes));
    *response.status_mut() = status;
    *response.headers_mut() = headers;
    response
}

/// The body's bytes and content type, converted between JSON and XML when the client prefers
/// the other.
fn negotiate(body: Body, accept: &Accept) -> (Option<HeaderValue>, Bytes) {
    match body {
        Body::Empty => (None, Bytes::new()),
        Body::Json(json) => match accept.choose(Format::Json) {
            Format::Xml => match Xml::from_json(&json) {
                Ok(xml) => (Some(accept.xml_content_type()), xml.into_bytes()),
                Err(error) => {
                    // JSON without an XML form (a key that is no XML name, ...): the client
                    // still gets the answer, in the format it has.
                    tracing::debug!(%error, "answer has no XML form; sent as JSON");
                    (Some(negotiation::JSON), json.to_bytes())
                }
            },
            Format::Json => (Some(negotiation::JSON), json.to_bytes()),
        },
        Body::Xml(xml) => match accept.choose(Format::Xml) {
            Format::Json => (Some(negotiation::JSON), xml.to_json().to_bytes()),
            Format::Xml => (Some(accept.xml_content_type()), xml.into_bytes()),
        },
        Body::Text(text) => (Some(negotiation::TEXT), Bytes::from(text)),
        Body::Bytes(bytes) => (Some(negotiation::OCTETS), bytes),
        Body::Unparsed(unparsed) => negotiate_unparsed(unparsed, accept),
    }
}

/// A document the flow sent back as it arrived: as it is when the client takes its format,
/// else parsed and converted; one that does not parse goes as it is.
fn negotiate_unparsed(unparsed: Unparsed, accept: &Accept) -> (Option<HeaderValue>, Bytes) {
    let own = if unparsed.is_xml() {
        Format::Xml
    } else {
        Format::Json
    };
    let own_type = |format| match format {
        Format::Xml => accept.xml_content_type(),
        Format::Json => negotiation::JSON,
    };
    let bytes = unparsed.bytes().clone();
    if accept.choose(own) == own {
        return (Some(own_type(own)), bytes);
    }
    match unparsed.parse() {
        Ok(parsed) => negotiate(parsed, accept),
        Err(error) => {
            tracing::debug!(%error, "answer does not parse; sent as it is");
            (Some(own_type(own)), bytes)
        }
    }
}
