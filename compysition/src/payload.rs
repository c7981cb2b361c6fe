//! Payloads and the conversions applied on edges.
//!
//! An edge joins an outbox sending `Event<A>` to an inbox taking `Event<B>`. When `A` and `B` are
//! the same type nothing happens; otherwise the edge converts with [`Convert`]. A conversion that
//! fails (text that is not JSON, bytes that are not UTF-8) sends the event to the *receiving*
//! actor's error outbox as a `400`: the receiver rejected its input.
//!
//! Built-in payloads: `String`, [`Bytes`], [`Json`] (and `Xml` in [`crate::xml`]). Any
//! `Send + Sync + 'static` type can be a payload; a fan-out also needs `Clone`.

use std::any::Any;
use std::fmt;
use std::ops::Deref;
use std::sync::Arc;

pub use bytes::Bytes;

use crate::error::EventError;
use crate::event::Event;

/// What may travel in an event: anything that can cross threads.
pub trait Payload: Send + Sync + 'static {}
impl<T: Send + Sync + 'static> Payload for T {}

/// Converts a payload for an edge whose inbox takes another type.
///
/// The identity conversion is free. Implement `Convert<YourType> for TheirType` to let an edge
/// join an outbox of `TheirType` to an inbox of `YourType`:
///
/// ```
/// use compysition::{Convert, EventError};
///
/// struct Celsius(f64);
/// impl Convert<Celsius> for String {
///     fn convert(self) -> Result<Celsius, EventError> {
///         self.trim()
///             .parse()
///             .map(Celsius)
///             .map_err(|e| EventError::malformed(format!("not a temperature: {e}")))
///     }
/// }
/// let c: Celsius = "21.5".to_string().convert().unwrap();
/// assert_eq!(c.0, 21.5);
/// ```
#[diagnostic::on_unimplemented(
    message = "no conversion from payload `{Self}` to payload `{T}`",
    label = "this edge sends `{Self}` into an inbox that takes `{T}`",
    note = "implement `compysition::Convert<{T}>` for `{Self}` to allow the edge, or put an actor that converts between them"
)]
pub trait Convert<T>: Sized {
    /// Converts, or says why the value is not acceptable (a 400-class error).
    fn convert(self) -> Result<T, EventError>;
}

impl<T> Convert<T> for T {
    #[inline(always)]
    fn convert(self) -> Result<T, EventError> {
        Ok(self)
    }
}

/// Payloads that can be copied to several inboxes (a fan-out).
#[diagnostic::on_unimplemented(
    message = "payload `{Self}` cannot be copied to several inboxes",
    label = "this fan-out needs a copy of `{Self}` for each inbox",
    note = "derive or implement `Clone` for `{Self}`, or wrap it in an `Arc`"
)]
pub trait FanOut: Clone {}
impl<T: Clone> FanOut for T {}

/// A JSON document, cheap to clone (the value is shared; changing it copies on write).
#[derive(Clone, PartialEq)]
pub struct Json(Arc<serde_json::Value>);

impl Json {
    /// Wraps a value.
    pub fn new(value: serde_json::Value) -> Self {
        Json(Arc::new(value))
    }

    /// Parses JSON text; errors name line and column.
    pub fn parse(text: &[u8]) -> Result<Self, EventError> {
        serde_json::from_slice(text)
            .map(Json::new)
            .map_err(|e| EventError::malformed(format!("malformed JSON: {e}")))
    }

    /// The value, for changing it (copies it first if it is shared).
    pub fn make_mut(&mut self) -> &mut serde_json::Value {
        Arc::make_mut(&mut self.0)
    }

    /// The value, copied out if shared.
    pub fn into_value(self) -> serde_json::Value {
        Arc::try_unwrap(self.0).unwrap_or_else(|shared| (*shared).clone())
    }

    /// Compact JSON text.
    pub fn to_bytes(&self) -> Bytes {
        // Serialising a `Value` cannot fail: its keys are strings.
        Bytes::from(serde_json::to_vec(&*self.0).unwrap_or_default())
    }
}

impl Deref for Json {
    type Target = serde_json::Value;
    fn deref(&self) -> &serde_json::Value {
        &self.0
    }
}

impl From<serde_json::Value> for Json {
    fn from(value: serde_json::Value) -> Self {
        Json::new(value)
    }
}

impl fmt::Debug for Json {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&*self.0, f)
    }
}

impl fmt::Display for Json {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&*self.0, f)
    }
}

impl Convert<Json> for String {
    fn convert(self) -> Result<Json, EventError> {
        Json::parse(self.as_bytes())
    }
}

impl Convert<Json> for Bytes {
    fn convert(self) -> Result<Json, EventError> {
        Json::parse(&self)
    }
}

impl Convert<String> for Json {
    fn convert(self) -> Result<String, EventError> {
        Ok(self.0.to_string())
    }
}

impl Convert<Bytes> for Json {
    fn convert(self) -> Result<Bytes, EventError> {
        Ok(self.to_bytes())
    }
}

impl Convert<Bytes> for String {
    fn convert(self) -> Result<Bytes, EventError> {
        Ok(Bytes::from(self))
    }
}

impl Convert<String> for Bytes {
    fn convert(self) -> Result<String, EventError> {
        match std::str::from_utf8(&self) {
            Ok(text) => Ok(text.to_owned()),
            Err(e) => Err(EventError::malformed(format!(
                "payload is not UTF-8 text: invalid byte at offset {}",
                e.valid_up_to()
            ))),
        }
    }
}

/// The payload of an error event: whatever the failed event carried, type-erased, so that one
/// error inbox can take failures from actors of any payload type.
#[derive(Clone)]
pub struct AnyPayload {
    data: Option<Arc<dyn Any + Send + Sync>>,
    type_name: &'static str,
}

impl AnyPayload {
    /// Erases a payload.
    pub fn new<T: Payload>(data: T) -> Self {
        AnyPayload {
            data: Some(Arc::new(data)),
            type_name: std::any::type_name::<T>(),
        }
    }

    /// No payload: the handler consumed it before failing.
    pub fn none() -> Self {
        AnyPayload {
            data: None,
            type_name: "()",
        }
    }

    /// The payload, if it is a `T`.
    pub fn downcast_ref<T: 'static>(&self) -> Option<&T> {
        self.data.as_deref()?.downcast_ref()
    }

    /// The name of the erased type.
    pub fn type_name(&self) -> &'static str {
        self.type_name
    }

    /// Whether the failed event's payload is gone.
    pub fn is_none(&self) -> bool {
        self.data.is_none()
    }
}

impl fmt::Debug for AnyPayload {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.data {
            Some(_) => write!(f, "<{}>", self.type_name),
            None => f.write_str("<none>"),
        }
    }
}

/// An event that failed: its envelope (with the error set) and its erased payload.
pub type ErrorEvent = Event<AnyPayload>;

impl<T: Payload> Event<T> {
    /// This event as an error event carrying `error`.
    pub fn into_error_event(self, error: EventError) -> ErrorEvent {
        let mut event = self.map(AnyPayload::new);
        event.set_error(error);
        event
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_converts_to_json_and_back() {
        let json: Json = r#"{"a":[1,2]}"#.to_string().convert().expect("valid JSON");
        assert_eq!(json["a"][1], 2);
        let text: String = json.convert().expect("serialises");
        assert_eq!(text, r#"{"a":[1,2]}"#);
    }

    #[test]
    fn malformed_json_is_a_400_naming_the_position() {
        let error = Convert::<Json>::convert("{\"a\": }".to_string()).expect_err("malformed");
        assert_eq!(error.kind(), crate::ErrorKind::Malformed);
        assert!(
            error.message().contains("line 1 column 7"),
            "{}",
            error.message()
        );
    }

    #[test]
    fn invalid_utf8_bytes_do_not_become_text() {
        let error =
            Convert::<String>::convert(Bytes::from_static(b"ok\xff")).expect_err("not UTF-8");
        assert_eq!(error.kind(), crate::ErrorKind::Malformed);
        assert!(error.message().contains("offset 2"));
    }

    #[test]
    fn json_clones_share_the_value() {
        let a = Json::new(serde_json::json!({"k": "v"}));
        let mut b = a.clone();
        assert!(Arc::ptr_eq(&a.0, &b.0));
        b.make_mut()["k"] = "w".into();
        assert_eq!(a["k"], "v");
        assert_eq!(b["k"], "w");
    }

    #[test]
    fn error_events_keep_the_payload() {
        let event = Event::new(7u32).into_error_event(EventError::internal("boom"));
        assert_eq!(event.data.downcast_ref::<u32>(), Some(&7));
        assert_eq!(event.error().map(|e| e.message()), Some("boom"));
    }
}
