//! Enrichers: [`SetAttribute`] sets a fixed attribute on every event, [`MapAttribute`] sets one
//! from another through a lookup table (the Python project's `EventAttributeModifier` family).
//! The payload passes through untouched.

use std::collections::HashMap;
use std::marker::PhantomData;
use std::sync::Arc;

use compysition_macros::actor;

use crate::error::EventError;
use crate::event::Event;
use crate::payload::Payload;

/// Sets the attribute `name` to a fixed value on every event (replacing any value it had).
///
/// The payload type is named, as for [`Null`](crate::actors::Null): `SetAttribute::<Xml>::new(…)`.
///
/// ```
/// use compysition::actors::SetAttribute;
///
/// let lane = SetAttribute::<String>::new("lane", "express");
/// # let _ = lane;
/// ```
#[actor(inboxes(inbox: T), outboxes(outbox: T))]
pub struct SetAttribute<T> {
    name: Arc<str>,
    value: Arc<str>,
    _payload: PhantomData<fn(T) -> T>,
}

impl<T> SetAttribute<T> {
    /// Sets `name` to `value`.
    pub fn new(name: &str, value: &str) -> Self {
        SetAttribute {
            name: Arc::from(name),
            value: Arc::from(value),
            _payload: PhantomData,
        }
    }
}

#[actor]
impl<T: Payload> SetAttribute<T> {
    #[inbox]
    async fn inbox(&self, mut event: Event<T>, out: &SetAttributeOutboxes<T>) {
        event.set_attribute(&*self.name, &*self.value);
        out.outbox.send(event).await;
    }
}

/// Sets the attribute `to` from the value of the attribute `from`, looked up in a table: a
/// country code to its region, a customer to its lane. `from` and `to` may be the same
/// attribute (the value is replaced by its entry).
///
/// A value with no entry, or an event without `from`, takes the [`default`](Self::default)
/// when there is one; otherwise the event fails: `Malformed` (400) naming the missing
/// attribute, `Unprocessable` (422) naming the value the table does not know.
///
/// ```
/// use compysition::actors::MapAttribute;
///
/// let region = MapAttribute::<String>::new("country", "region", [("NL", "EU"), ("US", "NA")])
///     .default("other");
/// # let _ = region;
/// ```
#[actor(inboxes(inbox: T), outboxes(outbox: T))]
pub struct MapAttribute<T> {
    from: Arc<str>,
    to: Arc<str>,
    table: Arc<HashMap<String, String>>,
    default: Option<Arc<str>>,
    _payload: PhantomData<fn(T) -> T>,
}

impl<T> MapAttribute<T> {
    /// Maps `from` to `to` through `table`.
    pub fn new<K, V>(from: &str, to: &str, table: impl IntoIterator<Item = (K, V)>) -> Self
    where
        K: Into<String>,
        V: Into<String>,
    {
        MapAttribute {
            from: Arc::from(from),
            to: Arc::from(to),
            table: Arc::new(
                table
                    .into_iter()
                    .map(|(k, v)| (k.into(), v.into()))
                    .collect(),
            ),
            default: None,
            _payload: PhantomData,
        }
    }

    /// The value of `to` when the table has no entry for the event (or the event has no `from`).
    pub fn default(mut self, value: &str) -> Self {
        self.default = Some(Arc::from(value));
        self
    }

    /// The value `to` takes for `event`.
    pub fn lookup(&self, event: &Event<T>) -> Result<String, EventError> {
        let key = event.attribute(&self.from);
        if let Some(value) = key.and_then(|key| self.table.get(key)) {
            return Ok(value.clone());
        }
        if let Some(default) = &self.default {
            return Ok(default.to_string());
        }
        Err(match key {
            None => EventError::malformed(format!(
                "attribute `{}` is missing (it is looked up for `{}`)",
                self.from, self.to
            )),
            Some(key) => EventError::unprocessable(format!(
                "attribute `{}` is `{key}`, which has no entry in the table for `{}`",
                self.from, self.to
            )),
        })
    }
}

#[actor]
impl<T: Payload> MapAttribute<T> {
    #[inbox]
    async fn inbox(
        &self,
        mut event: Event<T>,
        out: &MapAttributeOutboxes<T>,
    ) -> Result<(), EventError> {
        let value = self.lookup(&event)?;
        event.set_attribute(&*self.to, value);
        out.outbox.send(event).await;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;

    #[test]
    fn lookups_take_the_entry_the_default_or_fail() {
        let table = [("NL", "EU"), ("US", "NA")];
        let strict = MapAttribute::<()>::new("country", "region", table);
        let lenient = MapAttribute::<()>::new("country", "region", table).default("other");
        let known = Event::new(()).with_attribute("country", "NL");
        let unknown = Event::new(()).with_attribute("country", "FR");
        let missing = Event::new(());

        assert_eq!(strict.lookup(&known).expect("an entry"), "EU");
        let error = strict.lookup(&unknown).expect_err("no entry");
        assert_eq!(error.kind(), ErrorKind::Unprocessable);
        assert!(error.message().contains("`FR`"), "{error}");
        let error = strict.lookup(&missing).expect_err("no attribute");
        assert_eq!(error.kind(), ErrorKind::Malformed);
        assert!(error.message().contains("`country` is missing"), "{error}");

        assert_eq!(lenient.lookup(&known).expect("an entry"), "EU");
        assert_eq!(lenient.lookup(&unknown).expect("the default"), "other");
        assert_eq!(lenient.lookup(&missing).expect("the default"), "other");
    }
}
