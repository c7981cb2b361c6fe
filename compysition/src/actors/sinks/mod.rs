//! Sinks: actors where events end, printed, logged or dropped. Each also has an error inbox, so
//! a flow's failures can end there too (`step !-> printer;`). [`EventLogger`] passes every
//! event on after logging it, so it can also watch the middle of a flow.

mod event_logger;
mod null;
mod stdout;

pub use event_logger::{
    EventLogger, EventLoggerInboxRefs, EventLoggerInboxes, EventLoggerOutboxRefs,
    EventLoggerOutboxes,
};
pub use null::{Null, NullInboxRefs, NullInboxes, NullOutboxRefs, NullOutboxes};
pub use stdout::{Stdout, StdoutInboxRefs, StdoutInboxes, StdoutOutboxRefs, StdoutOutboxes};
