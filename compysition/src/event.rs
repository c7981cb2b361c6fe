//! The event envelope that travels between actors.
//!
//! An [`Event<T>`] is a payload (`data`) inside an envelope: a unique id (which also carries the
//! creation time), a business correlation id (`meta_id`), the id of the event it continues when
//! it came from another process (`origin_id`), a routing name (`service`), string
//! attributes, typed [`Extensions`] (protocol state such as the HTTP request an event came
//! from), a [`ReplySlot`] when a request waits for the event to come back, and an optional error.
//!
//! The id sits inline in the event; everything else sits behind one optional reference-counted
//! pointer that is made the first time any of it is set. So an event with nothing but its
//! payload costs no allocation beyond the payload, and cloning any event for a fan-out costs at
//! most one atomic increment plus the payload's clone; changing the envelope of a shared event
//! copies it first (copy on write).
//!
//! [`Event::map`] replaces the payload and keeps the envelope. That is what lets an answer find the
//! request it belongs to after any number of transformations.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;
use std::time::SystemTime;

use crate::deadline::Deadline;
use crate::error::EventError;
use crate::extensions::{Extension, Extensions};
use crate::id::EventId;
use crate::reply::ReplySlot;

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
    /// Also the creation time (see [`EventId`]).
    id: EventId,
    /// Everything else, made when first set: `None` for an event that is only a payload.
    envelope: Option<Arc<Envelope>>,
    /// The payload.
    pub data: T,
}

/// What an envelope holds beyond the id and the creation time.
#[derive(Clone, Default)]
struct Envelope {
    meta_id: Option<Arc<str>>,
    origin: Option<EventId>,
    service: Option<Arc<str>>,
    attributes: Attributes,
    extensions: Extensions,
    reply: Option<ReplySlot>,
    error: Option<EventError>,
}

/// Nothing set: what an event without an envelope reads as.
static EMPTY: Envelope = Envelope {
    meta_id: None,
    origin: None,
    service: None,
    attributes: BTreeMap::new(),
    extensions: Extensions::new(),
    reply: None,
    error: None,
};

impl<T> Event<T> {
    /// A new event with a fresh id; its `meta_id` is its id until set otherwise.
    pub fn new(data: T) -> Self {
        Event {
            id: EventId::new(),
            envelope: None,
            data,
        }
    }

    /// The unique, immutable id of this event.
    pub fn id(&self) -> EventId {
        self.id
    }

    /// The business correlation id: given by the caller (an `X-Request-ID` header, say) or, by
    /// default, the event's own id.
    pub fn meta_id(&self) -> MetaId<'_> {
        match &self.envelope().meta_id {
            Some(given) => MetaId::Given(given),
            None => MetaId::Own(self.id),
        }
    }

    /// Sets the business correlation id.
    pub fn set_meta_id(&mut self, meta_id: impl Into<Arc<str>>) {
        self.envelope_mut().meta_id = Some(meta_id.into());
    }

    /// The id of the event the flow began with, in whichever process that was: a request that
    /// arrived from another process (an enveloped Majordomo request, say) continues an event
    /// made there, and keeps that event's id here, while its own [`id`](Self::id) is new and
    /// unique to this process. An event made here is its own origin.
    pub fn origin_id(&self) -> EventId {
        self.envelope().origin.unwrap_or(self.id)
    }

    /// Records the id of the event, in another process, that this one continues.
    pub fn set_origin_id(&mut self, origin: EventId) {
        self.envelope_mut().origin = Some(origin);
    }

    /// The routing name: the HTTP path's service, the MDP service, ...
    pub fn service(&self) -> Option<&str> {
        self.envelope().service.as_deref()
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

    /// When the event entered the flow (to 1/4096 of a millisecond: it is read off the id).
    pub fn created(&self) -> SystemTime {
        self.id.created()
    }

    /// All attributes.
    pub fn attributes(&self) -> &Attributes {
        &self.envelope().attributes
    }

    /// One attribute.
    pub fn attribute(&self, name: &str) -> Option<&str> {
        self.envelope().attributes.get(name).map(String::as_str)
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

    /// Replaces all attributes at once (with those an answer from another process brought,
    /// say), returning the previous ones.
    pub fn replace_attributes(&mut self, attributes: Attributes) -> Attributes {
        if attributes.is_empty() && self.envelope().attributes.is_empty() {
            return attributes;
        }
        std::mem::replace(&mut self.envelope_mut().attributes, attributes)
    }

    /// Removes an attribute.
    pub fn remove_attribute(&mut self, name: &str) -> Option<String> {
        if !self.envelope().attributes.contains_key(name) {
            return None;
        }
        self.envelope_mut().attributes.remove(name)
    }

    /// The typed extensions: protocol state and anything else that rides along by type.
    pub fn extensions(&self) -> &Extensions {
        &self.envelope().extensions
    }

    /// The extensions, for changing them.
    pub fn extensions_mut(&mut self) -> &mut Extensions {
        &mut self.envelope_mut().extensions
    }

    /// The extension of type `X`, if the event carries one (an `HttpContext`, say).
    pub fn extension<X: Send + Sync + 'static>(&self) -> Option<&X> {
        self.envelope().extensions.get()
    }

    /// The extension of type `X`, for changing it (the response status of an HTTP request,
    /// say). Copies the envelope, or the value, first when a copy of the event shares it.
    pub fn extension_mut<X: Extension>(&mut self) -> Option<&mut X> {
        self.extension::<X>()?;
        self.envelope_mut().extensions.get_mut()
    }

    /// Sets the extension of type `X`, returning the one it replaces.
    pub fn insert_extension<X: Extension>(&mut self, value: X) -> Option<X> {
        self.envelope_mut().extensions.insert(value)
    }

    /// The event with an extension set.
    pub fn with_extension<X: Extension>(mut self, value: X) -> Self {
        self.insert_extension(value);
        self
    }

    /// The event's [`Deadline`] extension, if its source set one: when its answer is no
    /// longer wanted.
    pub fn deadline(&self) -> Option<Deadline> {
        self.extension::<Deadline>().copied()
    }

    /// The slot through which the request this event belongs to is answered, if one waits.
    pub fn reply_slot(&self) -> Option<&ReplySlot> {
        self.envelope().reply.as_ref()
    }

    /// Ties the event to a waiting request (a request/response source does this).
    pub fn set_reply_slot(&mut self, slot: ReplySlot) {
        self.envelope_mut().reply = Some(slot);
    }

    /// The error this event carries, if it failed somewhere.
    pub fn error(&self) -> Option<&EventError> {
        self.envelope().error.as_ref()
    }

    /// Attaches an error.
    pub fn set_error(&mut self, error: EventError) {
        self.envelope_mut().error = Some(error);
    }

    /// Removes the error, returning it.
    pub fn take_error(&mut self) -> Option<EventError> {
        self.envelope().error.as_ref()?;
        self.envelope_mut().error.take()
    }

    /// Replaces the payload, keeping the envelope.
    pub fn map<U>(self, f: impl FnOnce(T) -> U) -> Event<U> {
        let (envelope, data) = self.split();
        envelope.with_data(f(data))
    }

    /// Replaces the payload by a fallible function, keeping the envelope.
    ///
    /// On failure the error comes back with the envelope (as an event without payload), so that
    /// it can still be routed to whoever waits for this event.
    pub fn try_map<U, E>(
        self,
        f: impl FnOnce(T) -> Result<U, E>,
    ) -> Result<Event<U>, (Event<()>, E)> {
        let (envelope, data) = self.split();
        match f(data) {
            Ok(data) => Ok(envelope.with_data(data)),
            Err(error) => Err((envelope, error)),
        }
    }

    /// Replaces the payload by a value, keeping the envelope.
    pub fn with_data<U>(self, data: U) -> Event<U> {
        Event {
            id: self.id,
            envelope: self.envelope,
            data,
        }
    }

    /// Splits the event into its envelope (an event without payload) and its payload.
    pub fn split(self) -> (Event<()>, T) {
        let envelope = Event {
            id: self.id,
            envelope: self.envelope,
            data: (),
        };
        (envelope, self.data)
    }

    /// The payload, dropping the envelope.
    pub fn into_data(self) -> T {
        self.data
    }

    /// What a handler loop keeps of the envelope while the handler owns the event, so that a
    /// failure can still be routed (and a waiting request still answered). An event that is
    /// only a payload is copied: the hot path then touches no reference count.
    pub(crate) fn keep_envelope(&self) -> Event<()> {
        Event {
            id: self.id,
            envelope: self.envelope.clone(),
            data: (),
        }
    }

    fn envelope(&self) -> &Envelope {
        self.envelope.as_deref().unwrap_or(&EMPTY)
    }

    fn envelope_mut(&mut self) -> &mut Envelope {
        Arc::make_mut(self.envelope.get_or_insert_with(Default::default))
    }
}

impl<T: Clone> Clone for Event<T> {
    fn clone(&self) -> Self {
        Event {
            id: self.id,
            envelope: self.envelope.clone(),
            data: self.data.clone(),
        }
    }
}

impl<T: fmt::Debug> fmt::Debug for Event<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let envelope = self.envelope();
        let mut s = f.debug_struct("Event");
        s.field("id", &self.id)
            .field("meta_id", &self.meta_id())
            .field("service", &envelope.service)
            .field("attributes", &envelope.attributes);
        if let Some(origin) = &envelope.origin {
            s.field("origin_id", origin);
        }
        if !envelope.extensions.is_empty() {
            s.field("extensions", &envelope.extensions);
        }
        if let Some(error) = &envelope.error {
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
    fn an_event_is_its_own_origin_until_told_otherwise() {
        let mut event = Event::new(());
        assert_eq!(event.origin_id(), event.id());
        let elsewhere = EventId::new();
        event.set_origin_id(elsewhere);
        assert_eq!(event.origin_id(), elsewhere);
        assert_ne!(event.id(), elsewhere);
    }

    #[test]
    fn attributes_are_replaced_at_once() {
        let mut event = Event::new(()).with_attribute("a", "1");
        let new = Attributes::from([("b".to_string(), "2".to_string())]);
        let old = event.replace_attributes(new.clone());
        assert_eq!(old.get("a").map(String::as_str), Some("1"));
        assert_eq!(event.attributes(), &new);
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
        let original = Event::new(0u8).with_service("s");
        let copy = original.clone();
        let (Some(a), Some(b)) = (&original.envelope, &copy.envelope) else {
            panic!("a service makes an envelope");
        };
        assert!(Arc::ptr_eq(a, b));
    }

    #[test]
    fn an_event_that_is_only_a_payload_has_no_envelope() {
        let event = Event::new(7u64);
        assert!(event.envelope.is_none());
        assert_eq!(event.attribute("a"), None);
        assert!(event.extensions().is_empty());
        let mapped = event.map(|n| n + 1);
        assert!(mapped.envelope.is_none());
    }

    #[test]
    fn extensions_travel_through_map_and_copy_on_write() {
        #[derive(Clone, Debug, PartialEq)]
        struct Status(u16);
        let original = Event::new(()).with_extension(Status(200));
        let mut copy = original.clone().map(|()| 1u8);
        copy.extension_mut::<Status>().expect("carried").0 = 201;
        assert_eq!(original.extension::<Status>(), Some(&Status(200)));
        assert_eq!(copy.extension::<Status>(), Some(&Status(201)));
    }
}
