//! Payloads and the conversions applied on edges.
//!
//! An edge joins an outbox sending `Event<A>` to an inbox taking `Event<B>`. When `A` and `B` are
//! the same type nothing happens; otherwise the edge converts with [`Convert`]. A conversion that
//! fails (text that is not JSON, bytes that are not UTF-8) sends the event to the *receiving*
//! actor's error outbox as a `400`: the receiver rejected its input.
//!
//! Built-in payloads: `String`, [`Bytes`], [`Json`](crate::Json) (in `json`) and `Xml` (in
//! `xml`). Any
//! `Send + Sync + 'static` type can be a payload; a fan-out also needs `Clone`.

use std::any::Any;
use std::fmt;
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

    /// The octets of document this conversion parses or writes (`0`, the default, for cheap
    /// conversions): past [`INLINE_UP_TO`](crate::pool::INLINE_UP_TO) an edge converts on the
    /// CPU pool instead of holding an async worker.
    fn conversion_size(&self) -> usize {
        0
    }
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
    fn invalid_utf8_bytes_do_not_become_text() {
        let error =
            Convert::<String>::convert(Bytes::from_static(b"ok\xff")).expect_err("not UTF-8");
        assert_eq!(error.kind(), crate::ErrorKind::Malformed);
        assert!(error.message().contains("offset 2"));
    }

    #[test]
    fn error_events_keep_the_payload() {
        let event = Event::new(7u32).into_error_event(EventError::internal("boom"));
        assert_eq!(event.data.downcast_ref::<u32>(), Some(&7));
        assert_eq!(event.error().map(|e| e.message()), Some("boom"));
    }
}
