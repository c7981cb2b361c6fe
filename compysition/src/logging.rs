//! Log records as events.
//!
//! Actors log through `tracing`. Each actor task runs inside an `actor` span carrying its name,
//! and each handled event inside an `event` span carrying its `meta_id`, so every record knows
//! where it came from. Without a log actor, records go to whatever global subscriber the program
//! installed. With one (`register_log_actor`, or `log = ...;` in `topology!`), the records of the
//! topology's actors become [`LogRecord`] events in the log actor's inbox instead, so logs can be
//! routed through the graph like anything else.
//!
//! Logging must never block an actor: a record that finds the log actor's inbox full is dropped
//! and counted ([`dropped_log_records`]).

use std::fmt::{self, Write as _};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::SystemTime;

use tokio::sync::mpsc;
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id};
use tracing::{Level, Subscriber};
use tracing_subscriber::layer::{Context as LayerContext, Layer};
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::{prelude::*, Registry};

use crate::error::EventError;
use crate::event::Event;
use crate::payload::{Convert, Payload};
pub use crate::timestamp::Timestamp;

/// One log record of an actor.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogRecord {
    /// When it was logged.
    pub time: SystemTime,
    /// Its level.
    pub level: Level,
    /// The actor that logged it.
    pub actor: Option<String>,
    /// The `meta_id` of the event being handled, if any.
    pub meta_id: Option<String>,
    /// The message.
    pub message: String,
    /// Other fields, `name=value` separated by spaces.
    pub fields: String,
}

impl fmt::Display for LogRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:<5} {}",
            self.level,
            self.actor.as_deref().unwrap_or("-")
        )?;
        if let Some(meta_id) = &self.meta_id {
            write!(f, " [{meta_id}]")?;
        }
        write!(f, ": {}", self.message)?;
        if !self.fields.is_empty() {
            write!(f, " {}", self.fields)?;
        }
        Ok(())
    }
}

impl Convert<String> for LogRecord {
    fn convert(self) -> Result<String, EventError> {
        Ok(self.to_string())
    }
}

impl LogRecord {
    /// The record's time in the `2026-11-28 16:56:35.850659` form (UTC).
    pub fn timestamp(&self) -> Timestamp {
        Timestamp::from(self.time)
    }
}

static DROPPED: AtomicU64 = AtomicU64::new(0);

/// How many log records were dropped because a log actor's inbox was full.
pub fn dropped_log_records() -> u64 {
    DROPPED.load(Ordering::Relaxed)
}

/// Turns records into events in the log actor's inbox.
#[derive(Clone)]
pub(crate) struct LogForwarder(Arc<dyn Fn(LogRecord) + Send + Sync>);

impl LogForwarder {
    pub(crate) fn new<T: Payload>(sender: mpsc::Sender<Event<T>>) -> Self
    where
        LogRecord: Convert<T>,
    {
        LogForwarder(Arc::new(move |record: LogRecord| {
            if let Ok(data) = record.convert() {
                if sender.try_send(Event::new(data)).is_err() {
                    DROPPED.fetch_add(1, Ordering::Relaxed);
                }
            }
        }))
    }
}

/// The subscriber the actor tasks of a topology with a log actor run under.
pub(crate) fn dispatch(forwarder: LogForwarder) -> tracing::Dispatch {
    // `tracing` caches, per call site, whether any subscriber is interested. With a single
    // registered subscriber it asks only the calling thread's current one, so a call site first
    // reached outside the topology's tasks (by the log actor's own task, say) would stay
    // disabled inside them too. A second registered subscriber, interested in nothing, makes it
    // ask every registered subscriber instead; it lives as long as the forwarding one.
    let companion = tracing::Dispatch::new(tracing::subscriber::NoSubscriber::default());
    tracing::Dispatch::new(Registry::default().with(ForwardLayer {
        forwarder,
        level: Level::INFO,
        _companion: companion,
    }))
}

struct ForwardLayer {
    forwarder: LogForwarder,
    level: Level,
    _companion: tracing::Dispatch,
}

/// The `actor` and `meta_id` fields of a span, kept in its extensions.
#[derive(Default)]
struct Origin {
    actor: Option<String>,
    meta_id: Option<String>,
}

impl Visit for Origin {
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        match field.name() {
            "actor" => self.actor = Some(format!("{value:?}")),
            "meta_id" => self.meta_id = Some(format!("{value:?}")),
            _ => {}
        }
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        match field.name() {
            "actor" => self.actor = Some(value.to_string()),
            "meta_id" => self.meta_id = Some(value.to_string()),
            _ => {}
        }
    }
}

#[derive(Default)]
struct Message {
    origin: Origin,
    message: String,
    fields: String,
}

impl Visit for Message {
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        match field.name() {
            "message" => {
                let _ = write!(self.message, "{value:?}");
            }
            "actor" | "meta_id" => self.origin.record_debug(field, value),
            name => {
                if !self.fields.is_empty() {
                    self.fields.push(' ');
                }
                let _ = write!(self.fields, "{name}={value:?}");
            }
        }
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        match field.name() {
            "message" => self.message.push_str(value),
            "actor" | "meta_id" => self.origin.record_str(field, value),
            name => {
                if !self.fields.is_empty() {
                    self.fields.push(' ');
                }
                let _ = write!(self.fields, "{name}={value}");
            }
        }
    }
}

impl<S> Layer<S> for ForwardLayer
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn enabled(&self, metadata: &tracing::Metadata<'_>, _: LayerContext<'_, S>) -> bool {
        metadata.level() <= &self.level
    }

    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: LayerContext<'_, S>) {
        let mut origin = Origin::default();
        attrs.record(&mut origin);
        if origin.actor.is_some() || origin.meta_id.is_some() {
            if let Some(span) = ctx.span(id) {
                span.extensions_mut().insert(origin);
            }
        }
    }

    fn on_event(&self, event: &tracing::Event<'_>, ctx: LayerContext<'_, S>) {
        let mut message = Message::default();
        event.record(&mut message);
        let Message {
            mut origin,
            message,
            fields,
        } = message;
        if let Some(scope) = ctx.event_scope(event) {
            for span in scope {
                let extensions = span.extensions();
                if let Some(found) = extensions.get::<Origin>() {
                    if origin.actor.is_none() {
                        origin.actor.clone_from(&found.actor);
                    }
                    if origin.meta_id.is_none() {
                        origin.meta_id.clone_from(&found.meta_id);
                    }
                }
            }
        }
        (self.forwarder.0)(LogRecord {
            time: SystemTime::now(),
            level: *event.metadata().level(),
            actor: origin.actor,
            meta_id: origin.meta_id,
            message,
            fields,
        });
    }
}
