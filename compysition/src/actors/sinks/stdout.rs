//! `Stdout`: prints events, one line each.

use std::io::Write;
use std::sync::{Arc, Mutex, PoisonError};

use compysition_macros::actor;

use crate::event::Event;
use crate::payload::ErrorEvent;
use crate::timestamp::Timestamp;

/// Prints each event's payload on a line of its own, optionally after a timestamp and a prefix:
///
/// ```text
/// [2026-11-28 16:56:35.850659] I am number one: test
/// ```
///
/// Timestamps are UTC with microseconds. With [`complete`](Stdout::complete) it prints the whole
/// event (envelope and payload) instead of the payload. Errors routed to it are printed as
/// `ERROR <status> <message>` lines. Payloads other than `String` arrive converted on the edge
/// (JSON and XML as their text).
#[actor(inboxes(inbox: String))]
pub struct Stdout {
    prefix: String,
    timestamp: bool,
    complete: bool,
    out: Arc<Mutex<dyn Write + Send>>,
}

impl Default for Stdout {
    fn default() -> Self {
        Self::new()
    }
}

impl Stdout {
    /// Prints the payload alone to standard output.
    pub fn new() -> Self {
        Stdout {
            prefix: String::new(),
            timestamp: false,
            complete: false,
            out: Arc::new(Mutex::new(std::io::stdout())),
        }
    }

    /// Prints `prefix` before each payload.
    pub fn prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }

    /// Starts each line with `[YYYY-MM-DD HH:MM:SS.ffffff] `.
    pub fn timestamp(mut self, on: bool) -> Self {
        self.timestamp = on;
        self
    }

    /// Prints the whole event: id, `meta_id`, service, attributes, error and payload.
    pub fn complete(mut self, on: bool) -> Self {
        self.complete = on;
        self
    }

    /// Writes to `out` instead of standard output.
    pub fn writer(mut self, out: impl Write + Send + 'static) -> Self {
        self.out = Arc::new(Mutex::new(out));
        self
    }
}

// The handlers print without awaiting, so each finishes as it starts: lines come out in
// arrival order whatever the actor's concurrency.
#[actor]
impl Stdout {
    #[inbox]
    fn inbox(&self, event: Event<String>) {
        if self.complete {
            self.line(format_args!("{event:?}"));
        } else {
            self.line(format_args!("{}", event.data));
        }
    }

    #[errors]
    fn errors(&self, event: ErrorEvent) {
        match event.error() {
            Some(error) if !self.complete => self.line(format_args!("ERROR {error}")),
            _ => self.line(format_args!("{event:?}")),
        }
    }

    fn line(&self, body: std::fmt::Arguments<'_>) {
        let mut line = String::with_capacity(64);
        if self.timestamp {
            line.push_str(&format!("[{}] ", Timestamp::now()));
        }
        line.push_str(&self.prefix);
        line.push_str(&body.to_string());
        line.push('\n');
        let mut out = self.out.lock().unwrap_or_else(PoisonError::into_inner);
        // A closed standard output (a pipe whose reader left) must not stop the flow.
        let _ = out.write_all(line.as_bytes()).and_then(|()| out.flush());
    }
}
