//! [`HttpStats`]: the counters of one HTTP server, readable while it runs.
//!
//! The answer to a request finds it through the core's reply slot (`crate::reply`); what the
//! server counts is how that went: answered, answered late, unmatched, timed out, dropped.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// Counters of one [`HttpServer`](crate::actors::HttpServer), readable while it runs.
#[derive(Clone, Default)]
pub struct HttpStats(Arc<Counters>);

#[derive(Default)]
struct Counters {
    requests: AtomicU64,
    answered: AtomicU64,
    late_answers: AtomicU64,
    unmatched: AtomicU64,
    timed_out: AtomicU64,
    dropped: AtomicU64,
    connections_evicted: AtomicU64,
    header_timeouts: AtomicU64,
    idle_closed: AtomicU64,
    refused_stopping: AtomicU64,
    open_connections: AtomicU64,
}

impl HttpStats {
    /// Requests that entered the flow.
    pub fn requests(&self) -> u64 {
        self.0.requests.load(Ordering::Relaxed)
    }

    /// Requests answered by the flow (a response or a routed error).
    pub fn answered(&self) -> u64 {
        self.0.answered.load(Ordering::Relaxed)
    }

    /// Answers that came back after another copy of the same event had answered, or after the
    /// request stopped waiting; they were dropped.
    pub fn late_answers(&self) -> u64 {
        self.0.late_answers.load(Ordering::Relaxed)
    }

    /// Events that reached the server without belonging to any request (a new event instead of
    /// the request's own envelope); they were dropped.
    pub fn unmatched(&self) -> u64 {
        self.0.unmatched.load(Ordering::Relaxed)
    }

    /// Requests answered `504` because the flow did not answer in time.
    pub fn timed_out(&self) -> u64 {
        self.0.timed_out.load(Ordering::Relaxed)
    }

    /// Requests answered `500` because the flow dropped every copy of their event.
    pub fn dropped(&self) -> u64 {
        self.0.dropped.load(Ordering::Relaxed)
    }

    /// Connections closed to make room for a new one at the connection limit (each was idle
    /// or had not sent a complete request head).
    pub fn connections_evicted(&self) -> u64 {
        self.0.connections_evicted.load(Ordering::Relaxed)
    }

    /// Connections closed because no complete request head arrived within the header timeout
    /// after they were accepted (whatever the protocol).
    pub fn header_timeouts(&self) -> u64 {
        self.0.header_timeouts.load(Ordering::Relaxed)
    }

    /// Connections closed after the idle timeout without a request in flight.
    pub fn idle_closed(&self) -> u64 {
        self.0.idle_closed.load(Ordering::Relaxed)
    }

    /// Requests answered `503` because the server stopped before the flow answered them within
    /// the drain deadline.
    pub fn refused_stopping(&self) -> u64 {
        self.0.refused_stopping.load(Ordering::Relaxed)
    }

    /// Connections open now.
    pub fn open_connections(&self) -> u64 {
        self.0.open_connections.load(Ordering::Relaxed)
    }

    pub(crate) fn count_opened(&self) {
        self.0.open_connections.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn count_closed(&self) {
        self.0.open_connections.fetch_sub(1, Ordering::Relaxed);
    }

    pub(crate) fn count_evicted(&self) {
        self.0.connections_evicted.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn count_header_timeout(&self) {
        self.0.header_timeouts.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn count_idle_closed(&self) {
        self.0.idle_closed.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn count_refused_stopping(&self) {
        self.0.refused_stopping.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn count_request(&self) {
        self.0.requests.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn count_answered(&self) {
        self.0.answered.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn count_late(&self) {
        self.0.late_answers.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn count_unmatched(&self) {
        self.0.unmatched.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn count_timed_out(&self) {
        self.0.timed_out.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn count_dropped(&self) {
        self.0.dropped.fetch_add(1, Ordering::Relaxed);
    }
}

impl fmt::Debug for HttpStats {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpStats")
            .field("requests", &self.requests())
            .field("answered", &self.answered())
            .field("late_answers", &self.late_answers())
            .field("unmatched", &self.unmatched())
            .field("timed_out", &self.timed_out())
            .field("dropped", &self.dropped())
            .field("open_connections", &self.open_connections())
            .field("connections_evicted", &self.connections_evicted())
            .field("header_timeouts", &self.header_timeouts())
            .field("idle_closed", &self.idle_closed())
            .field("refused_stopping", &self.refused_stopping())
            .finish()
    }
}
