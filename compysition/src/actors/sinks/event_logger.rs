//! `EventLogger`: logs every event passing through, and every error routed to it.

use std::fmt::Debug;
use std::marker::PhantomData;

use compysition_macros::actor;
use tracing::Level;

use crate::event::Event;
use crate::payload::{ErrorEvent, Payload};

/// Logs each event (id, `meta_id`, service, payload) through `tracing` and passes it on
/// unchanged. Errors routed to it (`x !-> logger`) are logged at `WARN` and end there.
#[actor(inboxes(inbox: T), outboxes(outbox: T))]
pub struct EventLogger<T> {
    level: Level,
    _payload: PhantomData<fn(T)>,
}

impl<T> EventLogger<T> {
    /// Logs at `INFO`.
    pub fn new() -> Self {
        EventLogger {
            level: Level::INFO,
            _payload: PhantomData,
        }
    }

    /// Logs at `level`.
    pub fn level(mut self, level: Level) -> Self {
        self.level = level;
        self
    }
}

impl<T> Default for EventLogger<T> {
    fn default() -> Self {
        Self::new()
    }
}

fn log<T: Debug>(level: Level, event: &Event<T>) {
    // `tracing` macros need the level as a constant.
    macro_rules! at {
        ($level:expr) => {
            tracing::event!($level, event = %event.id(), meta_id = %event.meta_id(), service = event.service().unwrap_or(""), data = ?event.data, "event")
        };
    }
    match level {
        Level::ERROR => at!(Level::ERROR),
        Level::WARN => at!(Level::WARN),
        Level::INFO => at!(Level::INFO),
        Level::DEBUG => at!(Level::DEBUG),
        Level::TRACE => at!(Level::TRACE),
    }
}

#[actor]
impl<T: Payload + Debug> EventLogger<T> {
    #[inbox]
    async fn inbox(&self, event: Event<T>, out: &EventLoggerOutboxes<T>) {
        log(self.level, &event);
        out.outbox.send(event).await;
    }

    #[errors]
    fn errors(&self, event: ErrorEvent) {
        if let Some(error) = event.error() {
            tracing::warn!(
                meta_id = %event.meta_id(),
                from = error.actor().unwrap_or("?"),
                kind = %error.kind(),
                error = %error.message(),
                "event failed"
            );
        }
    }
}
