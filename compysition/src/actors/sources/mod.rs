//! Sources: actors without an inbox, which put events into a flow on their own (on an interval,
//! on a cron schedule, or once) and finish when the topology stops or their count is reached.

mod cron;
mod event_generator;

pub use cron::{CronSchedule, ParseCronError};
pub use event_generator::{
    EventGenerator, EventGeneratorInboxRefs, EventGeneratorInboxes, EventGeneratorOutboxRefs,
    EventGeneratorOutboxes,
};
