//! The event envelope that travels between actors.
//!
//! An [`Event<T>`] is a payload (`data`) inside an envelope: a unique id, a business correlation
//! id (`meta_id`), a routing name (`service`), string attributes, an optional HTTP context and an
//! optional error. The envelope sits behind one reference-counted pointer, so cloning an event for
//! a fan-out costs one atomic increment plus whatever cloning the payload costs; changing the
//! envelope of a shared event copies it first (copy on write).
//!
//! [`Event::map`] replaces the payload and keeps the envelope. That is what lets an answer find the
//! request it belongs to after any number of transformations.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;
use std::time::SystemTime;

use crate::error::EventError;
use crate::id::EventId;

/// String attributes of an event: headers and user metadata.
pub type Attributes = BTreeMap<String, String>;

/// A payload in its envelope.
///
/// ```
/// use compysition::Event;
///
/// let request = Event::new("<order/>".to_string()).with_service("order");
/// let id = request.id();
/// let answer = request.map(|xml| xml.len());
/// assert_eq!(answer.id(), id);
/// assert_eq!(answer.service(), Some("order"));
/// assert_eq!(answer.data, 8);
/// ```
pub struct Event<T> {
    envelope: Arc<Envelope>,
    /// The payload.
    pub data: T,
}

/// Everything about an event except its payload.
#[derive(Clone)]
pub(crate) struct Envelope {
    id: EventId,
    meta_id: Option<Arc<str>>,
    service: Option<Arc<str>>,
    created: SystemTime,
    attributes: Attributes,
    // Shared between copies of the envelope: changing an attribute of an event whose envelope
    // is shared (the handler loop keeps one copy to route failures) then copies a small map,
    // not the request's headers.
    http: Option<Arc<HttpContext>>,
    error: Option<EventError>,
}

impl Envelope {
    /// An envelope with nothing but its id and creation time.
    fn bare(id: EventId, created: SystemTime) -> Self {
        Envelope {
            id,
            meta_id: None,
            service: None,
            created,
            attributes: Attributes::new(),
            http: None,
            error: None,
        }
    }

    /// The business correlation id: the one given, or else the id.
    fn meta_id(&self) -> MetaId<'_> {
        match &self.meta_id {
            Some(given) => MetaId::Given(given),
            None => MetaId::Own(self.id),
        }
    }
}

impl<T> Event<T> {
    /// A new event with a fresh id; its `meta_id` is its id until set otherwise.
    pub fn new(data: T) -> Self {
        Event {
            envelope: Arc::new(Envelope::bare(EventId::new(), SystemTime::now())),
            data,
        }
    }

    /// The unique, immutable id of this event.
    pub fn id(&self) -> EventId {
        self.envelope.id
    }

    /// The business correlation id: given by the caller (an `X-Request-ID` header, say) or, by
    /// default, the event's own id.
    pub fn meta_id(&self) -> MetaId<'_> {
        self.envelope.meta_id()
    }

    /// Sets the business correlation id.
    pub fn set_meta_id(&mut self, meta_id: impl Into<Arc<str>>) {
        self.envelope_mut().meta_id = Some(meta_id.into());
    }

    /// The routing name: the HTTP path's service, the MDP service, ...
    pub fn service(&self) -> Option<&str> {
        self.envelope.service.as_deref()
    }

    /// Sets the routing name.
    pub fn set_service(&mut self, service: impl Into<Arc<str>>) {
        self.envelope_mut().service = Some(service.into());
    }

    /// The event with its routing name set.
    pub fn with_service(mut self, service: impl Into<Arc<str>>) -> Self {
        self.set_service(service);
        self
    }

    /// When the event entered the flow.
    pub fn created(&self) -> SystemTime {
        self.envelope.created
    }

    /// All attributes.
    pub fn attributes(&self) -> &Attributes {
        &self.envelope.attributes
    }

    /// One attribute.
    pub fn attribute(&self, name: &str) -> Option<&str> {
        self.envelope.attributes.get(name).map(String::as_str)
    }

    /// Sets an attribute, returning the previous value.
    pub fn set_attribute(
        &mut self,
        name: impl Into<String>,
        value: impl Into<String>,
    ) -> Option<String> {
        self.envelope_mut()
            .attributes
            .insert(name.into(), value.into())
    }

    /// The event with an attribute set.
    pub fn with_attribute(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.set_attribute(name, value);
        self
    }

    /// Removes an attribute.
    pub fn remove_attribute(&mut self, name: &str) -> Option<String> {
        if !self.envelope.attributes.contains_key(name) {
            return None;
        }
        self.envelope_mut().attributes.remove(name)
    }

    /// The HTTP request this event came from, if any.
    pub fn http(&self) -> Option<&HttpContext> {
        self.envelope.http.as_deref()
    }

    /// The HTTP context, for changing it (the response status, say).
    pub fn http_mut(&mut self) -> Option<&mut HttpContext> {
        self.envelope.http.as_ref()?;
        self.envelope_mut().http.as_mut().map(Arc::make_mut)
    }

    /// Attaches an HTTP context.
    pub fn set_http(&mut self, http: HttpContext) {
        self.envelope_mut().http = Some(Arc::new(http));
    }

    /// The error this event carries, if it failed somewhere.
    pub fn error(&self) -> Option<&EventError> {
        self.envelope.error.as_ref()
    }

    /// Attaches an error.
    pub fn set_error(&mut self, error: EventError) {
        self.envelope_mut().error = Some(error);
    }

    /// Removes the error, returning it.
    pub fn take_error(&mut self) -> Option<EventError> {
        self.envelope.error.as_ref()?;
        self.envelope_mut().error.take()
    }

    /// Replaces the payload, keeping the envelope.
    pub fn map<U>(self, f: impl FnOnce(T) -> U) -> Event<U> {
        Event {
            envelope: self.envelope,
            data: f(self.data),
        }
    }

    /// Replaces the payload by a fallible function, keeping the envelope.
    ///
    /// On failure the error comes back with the envelope (as an event without payload), so that
    /// it can still be routed to whoever waits for this event.
    pub fn try_map<U, E>(
        self,
        f: impl FnOnce(T) -> Result<U, E>,
    ) -> Result<Event<U>, (Event<()>, E)> {
        match f(self.data) {
            Ok(data) => Ok(Event {
                envelope: self.envelope,
                data,
            }),
            Err(error) => Err((
                Event {
                    envelope: self.envelope,
                    data: (),
                },
                error,
            )),
        }
    }

    /// Replaces the payload by a value, keeping the envelope.
    pub fn with_data<U>(self, data: U) -> Event<U> {
        Event {
            envelope: self.envelope,
            data,
        }
    }

    /// Splits the event into its envelope (an event without payload) and its payload.
    pub fn split(self) -> (Event<()>, T) {
        (
            Event {
                envelope: self.envelope,
                data: (),
            },
            self.data,
        )
    }

    /// The payload, dropping the envelope.
    pub fn into_data(self) -> T {
        self.data
    }

    /// What a handler loop keeps of the envelope while the handler owns the event, so that a
    /// failure can still be routed (and an HTTP request still answered).
    pub(crate) fn keep_envelope(&self) -> KeptEnvelope {
        let envelope = &*self.envelope;
        let plain = envelope.meta_id.is_none()
            && envelope.service.is_none()
            && envelope.attributes.is_empty()
            && envelope.http.is_none()
            && envelope.error.is_none();
        if plain {
            KeptEnvelope::Plain {
                id: envelope.id,
                created: envelope.created,
            }
        } else {
            KeptEnvelope::Shared(Arc::clone(&self.envelope))
        }
    }

    fn envelope_mut(&mut self) -> &mut Envelope {
        Arc::make_mut(&mut self.envelope)
    }
}

/// An envelope kept aside; see [`Event::keep_envelope`].
pub(crate) enum KeptEnvelope {
    /// Nothing but an id and a creation time: copied, so the hot path touches no reference
    /// count and the handler stays the envelope's only owner (changing it copies nothing).
    Plain { id: EventId, created: SystemTime },
    /// Anything more is shared; an HTTP context's waiting request stays tied to it.
    Shared(Arc<Envelope>),
}

impl KeptEnvelope {
    /// The kept envelope's business correlation id.
    pub(crate) fn meta_id(&self) -> MetaId<'_> {
        match self {
            KeptEnvelope::Plain { id, .. } => MetaId::Own(*id),
            KeptEnvelope::Shared(envelope) => envelope.meta_id(),
        }
    }

    /// The envelope as a payload-less event again.
    pub(crate) fn into_event(self) -> Event<()> {
        let envelope = match self {
            KeptEnvelope::Plain { id, created } => Arc::new(Envelope::bare(id, created)),
            KeptEnvelope::Shared(envelope) => envelope,
        };
        Event { envelope, data: () }
    }
}

impl<T: Clone> Clone for Event<T> {
    fn clone(&self) -> Self {
        Event {
            envelope: Arc::clone(&self.envelope),
            data: self.data.clone(),
        }
    }
}

impl<T: fmt::Debug> fmt::Debug for Event<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut s = f.debug_struct("Event");
        s.field("id", &self.envelope.id)
            .field("meta_id", &self.meta_id())
            .field("service", &self.envelope.service)
            .field("attributes", &self.envelope.attributes);
        if let Some(http) = &self.envelope.http {
            s.field("http", http);
        }
        if let Some(error) = &self.envelope.error {
            s.field("error", error);
        }
        s.field("data", &self.data).finish()
    }
}

/// The business correlation id of an event, without allocating when it is the event's own id.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum MetaId<'a> {
    /// The event's own id (no other was given).
    Own(EventId),
    /// An id given from outside.
    Given(&'a str),
}

impl MetaId<'_> {
    /// The id as an owned string.
    pub fn to_arc(&self) -> Arc<str> {
        match self {
            MetaId::Given(s) => Arc::from(*s),
            MetaId::Own(id) => Arc::from(id.to_string()),
        }
    }
}

impl fmt::Display for MetaId<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MetaId::Own(id) => fmt::Display::fmt(id, f),
            MetaId::Given(s) => f.write_str(s),
        }
    }
}

impl fmt::Debug for MetaId<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "\"{self}\"")
    }
}

impl PartialEq<str> for MetaId<'_> {
    fn eq(&self, other: &str) -> bool {
        match self {
            MetaId::Given(s) => *s == other,
            MetaId::Own(id) => id.to_string() == other,
        }
    }
}

impl PartialEq<&str> for MetaId<'_> {
    fn eq(&self, other: &&str) -> bool {
        self == *other
    }
}

/// The HTTP request an event came from, and the response it asks for.
#[derive(Clone, Debug, Default)]
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
    /// Where the answer to the waiting request goes; every copy of the event shares it.
    #[cfg(feature = "http")]
    pub(crate) reply: Option<crate::http::ReplyHandle>,
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn map_keeps_the_envelope() {
        let mut event = Event::new(1u32).with_service("svc");
        event.set_meta_id("req-1");
        event.set_attribute("k", "v");
        let id = event.id();
        let mapped = event.map(|n| n.to_string());
        assert_eq!(mapped.id(), id);
        assert_eq!(mapped.meta_id(), "req-1");
        assert_eq!(mapped.attribute("k"), Some("v"));
        assert_eq!(mapped.data, "1");
    }

    #[test]
    fn meta_id_defaults_to_the_id() {
        let event = Event::new(());
        assert_eq!(event.meta_id(), MetaId::Own(event.id()));
        assert_eq!(event.meta_id().to_string(), event.id().to_string());
    }

    #[test]
    fn changing_a_clone_leaves_the_original_alone() {
        let original = Event::new(0u8).with_attribute("a", "1");
        let mut copy = original.clone();
        copy.set_attribute("a", "2");
        assert_eq!(original.attribute("a"), Some("1"));
        assert_eq!(copy.attribute("a"), Some("2"));
        assert_eq!(original.id(), copy.id());
    }

    #[test]
    fn clone_shares_the_envelope() {
        let original = Event::new(0u8);
        let copy = original.clone();
        assert!(Arc::ptr_eq(&original.envelope, &copy.envelope));
    }
}
