//! A sink for the DSL tests: keeps every event and every error it receives.

// Each test binary uses a part of it.
#![allow(dead_code)]

use std::sync::{Arc, Mutex, PoisonError};

use compysition::prelude::*;
use compysition::{ErrorEvent, Payload};

/// Keeps the events of its inbox and the errors routed to it (`!->`).
pub struct Collect<T> {
    kept: Collected<T>,
}

/// What a [`Collect`] kept, readable after the topology ran.
pub struct Collected<T> {
    events: Arc<Mutex<Vec<Event<T>>>>,
    errors: Arc<Mutex<Vec<ErrorEvent>>>,
}

impl<T> Clone for Collected<T> {
    fn clone(&self) -> Self {
        Collected {
            events: Arc::clone(&self.events),
            errors: Arc::clone(&self.errors),
        }
    }
}

impl<T> Collect<T> {
    pub fn new() -> (Self, Collected<T>) {
        let kept = Collected {
            events: Arc::default(),
            errors: Arc::default(),
        };
        (Collect { kept: kept.clone() }, kept)
    }
}

impl<T: Clone> Collected<T> {
    /// The payloads received, in arrival order.
    pub fn payloads(&self) -> Vec<T> {
        let events = self.events.lock().unwrap_or_else(PoisonError::into_inner);
        events.iter().map(|e| e.data.clone()).collect()
    }

    /// The error messages received, in arrival order.
    pub fn errors(&self) -> Vec<String> {
        let errors = self.errors.lock().unwrap_or_else(PoisonError::into_inner);
        errors
            .iter()
            .map(|e| {
                e.error()
                    .map(|e| e.message().to_string())
                    .unwrap_or_default()
            })
            .collect()
    }
}

impl<T: Payload> Actor for Collect<T> {
    type Inboxes = Inbox<T>;
    type Outboxes = ();
    const ERROR_INBOX: bool = true;

    async fn run(self, mut ctx: Context, mut inbox: Inbox<T>, (): ()) {
        let errors = ctx.take_error_inbox();
        let kept = &self.kept;
        let events = async {
            while let Some(event) = inbox.recv().await {
                kept.events
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .push(event);
            }
        };
        let failures = async {
            if let Some(mut errors) = errors {
                while let Some(event) = errors.recv().await {
                    kept.errors
                        .lock()
                        .unwrap_or_else(PoisonError::into_inner)
                        .push(event);
                }
            }
        };
        tokio::join!(events, failures);
    }
}

impl<T: Payload> TakesErrors for Collect<T> {}
