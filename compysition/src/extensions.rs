//! Typed values that ride on an event or an error, one per type.
//!
//! The core knows no protocol, yet a protocol's state has to travel with its events: the HTTP
//! request an event came from, the challenge a `401` must carry. [`Extensions`] holds such
//! values by type, as `http::Extensions` does for requests: the HTTP server puts an
//! `HttpContext` on each request's event, and the actors that care read it back with
//! `event.extension::<HttpContext>()`; nothing between them needs to know the type exists.
//!
//! Values are shared behind an `Arc`, so copying the extensions (a fan-out, a copy-on-write of
//! the envelope) costs a reference count per value; changing a shared value copies it first.
//! An empty set allocates nothing.

use std::any::{Any, TypeId};
use std::fmt;
use std::sync::Arc;

/// Values keyed by their type: protocol state and anything else that rides on an event or an
/// error (an empty set allocates nothing; copies share the values until one is changed).
///
/// ```
/// use compysition::Extensions;
///
/// #[derive(Clone, Debug, PartialEq)]
/// struct Tenant(&'static str);
///
/// let mut extensions = Extensions::new();
/// assert!(extensions.insert(Tenant("acme")).is_none());
/// assert_eq!(extensions.get::<Tenant>(), Some(&Tenant("acme")));
/// extensions.get_mut::<Tenant>().unwrap().0 = "globex";
/// assert_eq!(extensions.remove::<Tenant>(), Some(Tenant("globex")));
/// assert!(extensions.is_empty());
/// ```
#[derive(Clone, Default)]
pub struct Extensions {
    // A short list beats a map: an event carries a handful of extensions at most, and an empty
    // `Vec` allocates nothing.
    entries: Vec<Entry>,
}

#[derive(Clone)]
struct Entry {
    type_id: TypeId,
    value: Arc<dyn Any + Send + Sync>,
    /// The value's `Debug`, so that printing an event shows its extensions (an HTTP request's
    /// headers, credentials marked sensitive) without the set knowing their types.
    debug: fn(&(dyn Any + Send + Sync), &mut fmt::Formatter<'_>) -> fmt::Result,
}

/// What may ride as an extension: a value that can be copied (when a shared one is changed),
/// printed and sent across threads.
pub trait Extension: Clone + fmt::Debug + Send + Sync + 'static {}
impl<T: Clone + fmt::Debug + Send + Sync + 'static> Extension for T {}

fn debug_as<T: Extension>(
    value: &(dyn Any + Send + Sync),
    f: &mut fmt::Formatter<'_>,
) -> fmt::Result {
    match value.downcast_ref::<T>() {
        Some(value) => fmt::Debug::fmt(value, f),
        None => f.write_str(std::any::type_name::<T>()),
    }
}

impl Extensions {
    /// No extensions.
    pub const fn new() -> Self {
        Extensions {
            entries: Vec::new(),
        }
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// How many there are.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// The value of type `T`, if there is one.
    pub fn get<T: Send + Sync + 'static>(&self) -> Option<&T> {
        self.entry(TypeId::of::<T>())?.value.downcast_ref()
    }

    /// The value of type `T`, for changing it; a value shared with a copy is copied first.
    pub fn get_mut<T: Extension>(&mut self) -> Option<&mut T> {
        let at = self.position(TypeId::of::<T>())?;
        let value = &mut self.entries[at].value;
        if Arc::get_mut(value).is_none() {
            let copy: T = value.downcast_ref::<T>()?.clone();
            *value = Arc::new(copy);
        }
        Arc::get_mut(value)?.downcast_mut()
    }

    /// Sets the value of type `T`, returning the one it replaces.
    pub fn insert<T: Extension>(&mut self, value: T) -> Option<T> {
        let entry = Entry {
            type_id: TypeId::of::<T>(),
            value: Arc::new(value),
            debug: debug_as::<T>,
        };
        match self.position(entry.type_id) {
            Some(at) => {
                let old = std::mem::replace(&mut self.entries[at], entry);
                unwrap_or_clone(old.value)
            }
            None => {
                self.entries.push(entry);
                None
            }
        }
    }

    /// Removes the value of type `T`, returning it.
    pub fn remove<T: Extension>(&mut self) -> Option<T> {
        let at = self.position(TypeId::of::<T>())?;
        unwrap_or_clone(self.entries.swap_remove(at).value)
    }

    fn entry(&self, type_id: TypeId) -> Option<&Entry> {
        self.entries.iter().find(|entry| entry.type_id == type_id)
    }

    fn position(&self, type_id: TypeId) -> Option<usize> {
        self.entries
            .iter()
            .position(|entry| entry.type_id == type_id)
    }
}

/// The value out of its `Arc`, copied if another copy of the extensions still shares it.
/// (Entries are keyed by the type they hold, so the downcast does not fail.)
fn unwrap_or_clone<T: Extension>(value: Arc<dyn Any + Send + Sync>) -> Option<T> {
    let value = value.downcast::<T>().ok()?;
    Some(Arc::try_unwrap(value).unwrap_or_else(|shared| (*shared).clone()))
}

impl fmt::Debug for Extensions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        struct Shown<'a>(&'a Entry);
        impl fmt::Debug for Shown<'_> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                (self.0.debug)(&*self.0.value, f)
            }
        }
        f.debug_list()
            .entries(self.entries.iter().map(Shown))
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Clone, Debug, PartialEq)]
    struct Counter(u32);

    #[test]
    fn changing_a_shared_value_leaves_the_other_copy_alone() {
        let mut original = Extensions::new();
        original.insert(Counter(1));
        let mut copy = original.clone();
        copy.get_mut::<Counter>().expect("present").0 = 2;
        assert_eq!(original.get::<Counter>(), Some(&Counter(1)));
        assert_eq!(copy.get::<Counter>(), Some(&Counter(2)));
    }

    #[test]
    fn one_value_per_type() {
        let mut extensions = Extensions::new();
        assert_eq!(extensions.insert(Counter(1)), None);
        assert_eq!(extensions.insert(Counter(2)), Some(Counter(1)));
        extensions.insert("text");
        assert_eq!(extensions.len(), 2);
        assert_eq!(extensions.get::<&str>(), Some(&"text"));
        assert_eq!(extensions.get::<u8>(), None);
    }

    #[test]
    fn debug_shows_the_values() {
        let mut extensions = Extensions::new();
        extensions.insert(Counter(7));
        assert_eq!(format!("{extensions:?}"), "[Counter(7)]");
    }
}
