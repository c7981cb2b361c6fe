//! [`Deadline`]: when the answer to a request is no longer wanted, carried on its event.
//!
//! A request source that answers within a time (an HTTP server with a request timeout, a
//! Majordomo worker with a client's expiry) puts a `Deadline` on the request's event; work on
//! the event's behalf that waits — a job queued on the CPU pool, above all — gives up at the
//! deadline with a timeout instead of starting on something nobody will read. The core knows
//! no protocol: a deadline is an instant, whoever sets it.

use std::time::Duration;

use tokio::time::Instant;

/// The instant by which a request's answer must be ready: a typed extension of its event.
///
/// ```
/// use std::time::Duration;
/// use compysition::{Deadline, Event};
///
/// let mut event = Event::new("<order/>".to_string());
/// assert_eq!(event.deadline(), None);
/// let deadline = Deadline::after(Duration::from_secs(30));
/// event.insert_extension(deadline);
/// assert_eq!(event.deadline(), Some(deadline));
/// assert!(!deadline.has_passed());
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Deadline {
    at: Instant,
}

impl Deadline {
    /// A deadline at `instant` (a `std::time::Instant` or a `tokio::time::Instant`).
    pub fn at(instant: impl Into<Instant>) -> Deadline {
        Deadline { at: instant.into() }
    }

    /// A deadline `timeout` from now.
    pub fn after(timeout: Duration) -> Deadline {
        Deadline {
            at: Instant::now() + timeout,
        }
    }

    /// The instant (on tokio's clock, which a test may pause).
    pub fn instant(&self) -> Instant {
        self.at
    }

    /// How long until the deadline; zero once it has passed.
    pub fn remaining(&self) -> Duration {
        self.at.saturating_duration_since(Instant::now())
    }

    /// Whether the deadline has passed.
    pub fn has_passed(&self) -> bool {
        Instant::now() >= self.at
    }
}
