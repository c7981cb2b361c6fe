//! The compysition envelope: what of an event, beyond its body, crosses a process edge between
//! compysition peers (a Majordomo hop, or a ZeroMQ connector with
//! [`Envelope::Compysition`](crate::zeromq::Envelope::Compysition)), so that a flow split over
//! processes behaves as it does in one. Its constants are public at `compysition::mdp`.
//!
//! 7/MDP carries a service name and opaque body frames, nothing else. Between an
//! [`MdpClient`](crate::actors::MdpClient) and an [`MdpWorker`](crate::actors::MdpWorker) that
//! both have `envelope(true)`, the body is preceded by one *envelope frame*: the magic
//! [`ENVELOPE_MAGIC`] (`CPY1`, the `1` its version) and a JSON object, at most
//! [`MAX_ENVELOPE_SIZE`] octets in all.
//!
//! ```text
//! request body:  "CPY1" {"id":…,"meta_id":…,"service":…,"attributes":{…},"traceparent":…}   body...
//! reply body:    "CPY1" {"attributes":{…}}                                                  body...
//! failed reply:  "CPY1" {"attributes":{…},"error":{"kind":"unprocessable","message":…,"code":…}}
//! ```
//!
//! A plain 7/MDP peer must never see such a frame, and MDP has no place for a worker to say
//! what it understands (READY carries the service name and nothing else). So enveloped
//! requests go to their own service name, the plain one followed by [`ENVELOPE_SERVICE_SUFFIX`]
//! (`orders#cpy1`), which only a compysition worker with `envelope(true)` registers, beside its
//! plain registrations: a plain worker is never handed an enveloped request, whatever the mix
//! of workers behind a broker, and a plain client keeps reaching the plain name. A broker needs
//! no change, since it forwards body frames as they are.
//!
//! What arrives is checked before any of it is used: a frame without the magic, over the size
//! limit, not JSON of the layout above, or with an id that is not an event id is refused as
//! malformed and counted in [`EnvelopeStats`]; nothing in it can panic the process. Fields a
//! version-1 reader does not know are ignored, so later versions may add fields without a new
//! magic.

use std::sync::atomic::{AtomicU64, Ordering};

use bytes::Bytes;
use serde::{Deserialize, Serialize, Serializer};

use crate::error::{ErrorKind, EventError};
use crate::event::{Attributes, Event};
use crate::id::EventId;

/// The first octets of every envelope frame: `CPY` and the layout's version, `1`.
///
/// An envelope frame is the first body frame of an enveloped request or reply: these four
/// octets, then a UTF-8 JSON object, at most [`MAX_ENVELOPE_SIZE`] octets in all. The body
/// frames follow it unchanged.
///
/// ```text
/// request:  CPY1{"id":"<origin event id>","meta_id":"…","service":"…","attributes":{"k":"v"},"traceparent":"…"}
/// reply:    CPY1{"attributes":{"k":"v"}}
/// failed:   CPY1{"attributes":{…},"error":{"kind":"unprocessable","message":"…","code":"…"}}
/// ```
///
/// `service` and `traceparent` may be absent; `kind` is an [`ErrorKind::name`] (one this
/// version does not know is read as `internal`); a failed reply has no body frame after the
/// envelope. Fields a reader does not know are ignored. Enveloped requests are sent to the
/// service name followed by [`ENVELOPE_SERVICE_SUFFIX`], so that plain peers never see one.
pub const ENVELOPE_MAGIC: &[u8] = b"CPY1";

/// The largest envelope frame, magic included, sent or accepted: 64 KiB. Attributes are
/// metadata; a larger envelope is refused rather than letting a peer make this process hold
/// and parse an unbounded document per request.
pub const MAX_ENVELOPE_SIZE: usize = 64 * 1024;

/// What an enveloped request's service name ends with: a plain worker never registers it, so
/// it is never handed a frame it does not understand.
pub const ENVELOPE_SERVICE_SUFFIX: &str = "#cpy1";

/// The attribute that holds a W3C trace context (`traceparent`); it travels in the request
/// envelope's own `traceparent` field and is an attribute again on the other side.
pub const TRACEPARENT_ATTRIBUTE: &str = "traceparent";

/// Counters of a client's or a worker's envelopes.
#[derive(Debug, Default)]
pub struct EnvelopeStats {
    malformed: AtomicU64,
}

impl EnvelopeStats {
    /// Envelope frames refused: missing, over [`MAX_ENVELOPE_SIZE`], or not of the layout.
    pub fn malformed(&self) -> u64 {
        self.malformed.load(Ordering::Relaxed)
    }

    pub(crate) fn count_malformed(&self) {
        self.malformed.fetch_add(1, Ordering::Relaxed);
    }
}

/// The request envelope as it is written, borrowing from the event.
#[derive(Serialize)]
struct RequestOut<'a> {
    id: String,
    meta_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    service: Option<&'a str>,
    #[serde(serialize_with = "without_trace")]
    attributes: &'a Attributes,
    #[serde(skip_serializing_if = "Option::is_none")]
    traceparent: Option<&'a str>,
}

/// The attributes but the trace context, which has a field of its own.
fn without_trace<S: Serializer>(attributes: &&Attributes, out: S) -> Result<S::Ok, S::Error> {
    out.collect_map(
        attributes
            .iter()
            .filter(|(name, _)| name.as_str() != TRACEPARENT_ATTRIBUTE),
    )
}

/// The request envelope as it is read.
#[derive(Deserialize)]
struct RequestIn {
    id: String,
    meta_id: String,
    #[serde(default)]
    service: Option<String>,
    #[serde(default)]
    attributes: Attributes,
    #[serde(default)]
    traceparent: Option<String>,
}

/// An error as it travels.
#[derive(Serialize, Deserialize)]
struct WireError<'a> {
    kind: &'a str,
    message: &'a str,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    code: Option<&'a str>,
}

/// The reply envelope as it is written.
#[derive(Serialize)]
struct ReplyOut<'a> {
    attributes: &'a Attributes,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<WireError<'a>>,
}

/// The reply envelope as it is read; the error's text is owned (JSON escapes cannot borrow).
#[derive(Deserialize)]
struct ReplyIn {
    #[serde(default)]
    attributes: Attributes,
    #[serde(default)]
    error: Option<OwnedWireError>,
}

#[derive(Deserialize)]
struct OwnedWireError {
    kind: String,
    message: String,
    #[serde(default)]
    code: Option<String>,
}

/// What a worker takes from a request envelope to make its event.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct RequestEnvelope {
    /// The id of the event the flow began with (see [`Event::origin_id`]).
    pub(crate) origin: EventId,
    pub(crate) meta_id: String,
    pub(crate) service: Option<String>,
    /// The attributes, the trace context among them again.
    pub(crate) attributes: Attributes,
}

impl RequestEnvelope {
    /// Puts what the envelope carried on a new event.
    pub(crate) fn apply<T>(self, event: &mut Event<T>) {
        event.set_origin_id(self.origin);
        event.set_meta_id(self.meta_id);
        if let Some(service) = self.service {
            event.set_service(service);
        }
        event.replace_attributes(self.attributes);
    }
}

/// What a client takes from a reply envelope.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct ReplyEnvelope {
    pub(crate) attributes: Attributes,
    /// The remote flow failed the request with this error.
    pub(crate) error: Option<EventError>,
}

/// The frame with the magic before `json`, or the error for an envelope over the limit.
fn framed(json: Result<Vec<u8>, serde_json::Error>) -> Result<Bytes, EventError> {
    let json = json.map_err(|error| EventError::internal(format!("envelope: {error}")))?;
    let size = ENVELOPE_MAGIC.len() + json.len();
    if size > MAX_ENVELOPE_SIZE {
        return Err(EventError::malformed(format!(
            "the envelope would be {size} octets, over the {MAX_ENVELOPE_SIZE} allowed \
             (attributes too large to travel)"
        )));
    }
    let mut frame = Vec::with_capacity(size);
    frame.extend_from_slice(ENVELOPE_MAGIC);
    frame.extend_from_slice(&json);
    Ok(Bytes::from(frame))
}

/// The envelope frame of a request for `event`; a malformed error when it would be over
/// [`MAX_ENVELOPE_SIZE`].
pub(crate) fn encode_request<T>(event: &Event<T>) -> Result<Bytes, EventError> {
    let envelope = RequestOut {
        id: event.origin_id().to_string(),
        meta_id: event.meta_id().to_string(),
        service: event.service(),
        attributes: event.attributes(),
        traceparent: event.attribute(TRACEPARENT_ATTRIBUTE),
    };
    framed(serde_json::to_vec(&envelope))
}

/// An error as it travels: its kind's stable name, its message and its code.
fn wire(error: &EventError) -> WireError<'_> {
    WireError {
        kind: error.kind().name(),
        message: error.message(),
        code: error.code(),
    }
}

/// The envelope frame of a reply with `attributes` and, for a failed request, `error`. One that
/// would be over the limit becomes an internal error without attributes, which always fits.
pub(crate) fn encode_reply(attributes: &Attributes, error: Option<&EventError>) -> Bytes {
    let envelope = ReplyOut {
        attributes,
        error: error.map(wire),
    };
    framed(serde_json::to_vec(&envelope)).unwrap_or_else(|why| {
        let fallback =
            EventError::internal(format!("the reply could not travel: {}", why.message()));
        let envelope = ReplyOut {
            attributes: &Attributes::new(),
            error: Some(wire(&fallback)),
        };
        // The message of `why` is short and fixed, so this envelope is well under the limit.
        framed(serde_json::to_vec(&envelope)).unwrap_or_else(|_| Bytes::from_static(b"CPY1{}"))
    })
}

/// The JSON after the magic of a frame within the limit.
fn payload(frame: Option<&Bytes>) -> Result<&[u8], EventError> {
    let frame = frame.ok_or_else(|| EventError::malformed("no envelope frame"))?;
    if frame.len() > MAX_ENVELOPE_SIZE {
        return Err(EventError::malformed(format!(
            "envelope frame of {} octets, over the {MAX_ENVELOPE_SIZE} allowed",
            frame.len()
        )));
    }
    frame
        .strip_prefix(ENVELOPE_MAGIC)
        .ok_or_else(|| EventError::malformed("the first body frame is not an envelope (CPY1)"))
}

/// Reads a request's envelope frame (the first body frame).
pub(crate) fn decode_request(frame: Option<&Bytes>) -> Result<RequestEnvelope, EventError> {
    let json = payload(frame)?;
    let read: RequestIn = serde_json::from_slice(json)
        .map_err(|error| EventError::malformed(format!("envelope: {error}")))?;
    let origin = read
        .id
        .parse::<EventId>()
        .map_err(|error| EventError::malformed(format!("envelope id: {error}")))?;
    let mut attributes = read.attributes;
    if let Some(trace) = read.traceparent {
        attributes.insert(TRACEPARENT_ATTRIBUTE.to_string(), trace);
    }
    Ok(RequestEnvelope {
        origin,
        meta_id: read.meta_id,
        service: read.service,
        attributes,
    })
}

/// Reads a reply's envelope frame (the first body frame). An error kind this version does not
/// know becomes [`ErrorKind::Internal`], with its name kept in the message.
pub(crate) fn decode_reply(frame: Option<&Bytes>) -> Result<ReplyEnvelope, EventError> {
    let json = payload(frame)?;
    let read: ReplyIn = serde_json::from_slice(json)
        .map_err(|error| EventError::malformed(format!("envelope: {error}")))?;
    let error = read.error.map(|wire| {
        let error = match ErrorKind::from_name(&wire.kind) {
            Some(kind) => EventError::new(kind, wire.message),
            None => EventError::internal(format!(
                "{} (an error of kind `{}`, unknown here)",
                wire.message, wire.kind
            )),
        };
        match wire.code {
            Some(code) => error.with_code(code),
            None => error,
        }
    });
    Ok(ReplyEnvelope {
        attributes: read.attributes,
        error,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_request_envelope_round_trips_the_envelope_of_the_event() {
        let mut event = Event::new(())
            .with_service("orders")
            .with_attribute("tenant", "acme")
            .with_attribute(
                TRACEPARENT_ATTRIBUTE,
                "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            );
        event.set_meta_id("req-7");
        let frame = encode_request(&event).expect("small");
        assert!(frame.starts_with(ENVELOPE_MAGIC));
        let text = std::str::from_utf8(&frame[4..]).expect("JSON");
        assert_eq!(text.matches("4bf92f35").count(), 1, "{text}");
        let read = decode_request(Some(&frame)).expect("valid");
        assert_eq!(read.origin, event.id());
        assert_eq!(read.meta_id, "req-7");
        assert_eq!(read.service.as_deref(), Some("orders"));
        assert_eq!(&read.attributes, event.attributes());
    }

    #[test]
    fn the_origin_of_an_event_that_continues_another_travels_on() {
        let mut event = Event::new(());
        let first = EventId::new();
        event.set_origin_id(first);
        let frame = encode_request(&event).expect("small");
        assert_eq!(decode_request(Some(&frame)).expect("valid").origin, first);
    }

    #[test]
    fn a_reply_envelope_brings_the_error_kind_back() {
        let error = EventError::unprocessable("no such product").with_code("E42");
        let attributes = Attributes::from([("a".to_string(), "1".to_string())]);
        let frame = encode_reply(&attributes, Some(&error));
        let read = decode_reply(Some(&frame)).expect("valid");
        assert_eq!(read.attributes, attributes);
        assert_eq!(read.error, Some(error));
        let ok = decode_reply(Some(&encode_reply(&attributes, None))).expect("valid");
        assert_eq!(ok.error, None);
    }

    #[test]
    fn every_kind_survives_the_trip_and_unknown_kinds_are_internal() {
        for kind in ErrorKind::ALL {
            let frame = encode_reply(&Attributes::new(), Some(&EventError::new(kind, "m")));
            let read = decode_reply(Some(&frame)).expect("valid");
            assert_eq!(read.error.map(|e| e.kind()), Some(kind));
        }
        let frame = Bytes::from_static(br#"CPY1{"error":{"kind":"teapot","message":"short"}}"#);
        let error = decode_reply(Some(&frame))
            .expect("valid")
            .error
            .expect("an error");
        assert_eq!(error.kind(), ErrorKind::Internal);
        assert!(error.message().contains("teapot"), "{error}");
    }

    #[test]
    fn garbage_and_oversized_envelopes_are_malformed() {
        let oversized = {
            let mut frame = ENVELOPE_MAGIC.to_vec();
            frame.resize(MAX_ENVELOPE_SIZE + 1, b' ');
            Bytes::from(frame)
        };
        let cases: [Option<Bytes>; 7] = [
            None,
            Some(Bytes::from_static(b"plain body")),
            Some(Bytes::from_static(b"CPY1")),
            Some(Bytes::from_static(b"CPY1\xff\xfe{")),
            Some(Bytes::from_static(br#"CPY1{"id":"nope","meta_id":"m"}"#)),
            Some(Bytes::from_static(br#"CPY1{"id":1,"meta_id":"m"}"#)),
            Some(oversized),
        ];
        for frame in &cases {
            let error = decode_request(frame.as_ref()).expect_err("refused");
            assert_eq!(error.kind(), ErrorKind::Malformed, "{frame:?}: {error}");
        }
        let attributes = Bytes::from_static(br#"CPY1{"attributes":{"a":[1]}}"#);
        let error = decode_reply(Some(&attributes)).expect_err("not text");
        assert_eq!(error.kind(), ErrorKind::Malformed);
    }

    #[test]
    fn attributes_too_large_to_travel_are_refused_on_the_way_out() {
        let event = Event::new(()).with_attribute("big", "x".repeat(MAX_ENVELOPE_SIZE));
        let error = encode_request(&event).expect_err("over the limit");
        assert_eq!(error.kind(), ErrorKind::Malformed);
        let reply = encode_reply(event.attributes(), None);
        assert!(reply.len() <= MAX_ENVELOPE_SIZE);
        let read = decode_reply(Some(&reply)).expect("the fallback is valid");
        assert_eq!(read.error.map(|e| e.kind()), Some(ErrorKind::Internal));
    }
}
