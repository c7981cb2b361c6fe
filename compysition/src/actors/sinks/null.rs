//! `Null`: takes events and errors and drops them.

use std::marker::PhantomData;

use compysition_macros::actor;

use crate::event::Event;
use crate::payload::{ErrorEvent, Payload};

/// Drops every event it receives, and every error routed to it.
#[actor(inboxes(inbox: T))]
pub struct Null<T> {
    _payload: PhantomData<fn(T)>,
}

impl<T> Null<T> {
    /// A sink for events of type `T`.
    pub fn new() -> Self {
        Null {
            _payload: PhantomData,
        }
    }
}

impl<T> Default for Null<T> {
    fn default() -> Self {
        Self::new()
    }
}

#[actor]
impl<T: Payload> Null<T> {
    #[inbox]
    fn inbox(&self, event: Event<T>) {
        drop(event);
    }

    #[errors]
    fn errors(&self, event: ErrorEvent) {
        drop(event);
    }
}
