//! `Null`: takes events and errors and drops them.

use std::marker::PhantomData;

use crate::actor::{Actor, Context, TakesErrors};
use crate::port::Inbox;

/// Drops every event it receives, and every error routed to it.
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

impl<T: crate::Payload> Actor for Null<T> {
    type Inboxes = Inbox<T>;
    type Outboxes = ();
    const ERROR_INBOX: bool = true;

    async fn run(self, mut ctx: Context, mut inbox: Inbox<T>, (): ()) {
        let errors = ctx.take_error_inbox();
        let drain_errors = async {
            if let Some(mut errors) = errors {
                while errors.recv().await.is_some() {}
            }
        };
        let drain_events = async { while inbox.recv().await.is_some() {} };
        tokio::join!(drain_errors, drain_events);
    }
}

impl<T: crate::Payload> TakesErrors for Null<T> {}
