//! How an answer finds the request that waits for it, without a table of pending requests.
//!
//! Each request gets a one-time slot holding the sending half of a `oneshot` channel; the
//! request's handler awaits the receiving half. The slot sits behind an `Arc` in the event's
//! [`HttpContext`](crate::HttpContext), so every copy of the event (a fan-out, an error event,
//! the same envelope after any number of `map`s) carries the same slot:
//!
//! - the first copy to come back to the server takes the sender out of the slot and answers;
//!   later copies find the slot empty and are counted as [`HttpStats::late_answers`];
//! - when the last copy of the event is dropped without an answer, the slot (and the sender in
//!   it) is dropped too, and the waiting request learns at once that nobody will answer (`500`);
//! - the waiting side bounds its wait with a timeout (`504`); its receiver then goes away and an
//!   answer that still arrives is counted as late.
//!
//! Nothing is registered anywhere, so nothing can leak: a request's whole state is its slot and
//! its future.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use tokio::sync::oneshot;

use crate::event::Event;
use crate::payload::ErrorEvent;

use super::body::Body;
use super::routes::MethodSet;

/// What comes back to a waiting request.
pub(crate) enum Answer {
    /// The flow's answer.
    Response(Event<Body>),
    /// The event failed somewhere and its error was routed to the server.
    Failed(ErrorEvent),
}

impl Answer {
    /// The slot of the request this answers, if it belongs to one.
    pub(crate) fn reply(&self) -> Option<&ReplyHandle> {
        match self {
            Answer::Response(event) => event.http()?.reply.as_ref(),
            Answer::Failed(event) => event.http()?.reply.as_ref(),
        }
    }

    /// The answer's correlation id, for log records.
    pub(crate) fn meta_id(&self) -> String {
        match self {
            Answer::Response(event) => event.meta_id().to_string(),
            Answer::Failed(event) => event.meta_id().to_string(),
        }
    }
}

/// Answers the request a failed event belongs to, when its error was routed nowhere (the
/// topology's default error actor calls this after logging it): the client gets the error's own
/// status instead of the `500` of an event that was dropped.
pub(crate) fn answer_unrouted_error(event: ErrorEvent) {
    if let Some(reply) = event.http().and_then(|http| http.reply.clone()) {
        // Already answered, or nobody waits any more: nothing left to do.
        let _ = reply.answer(Answer::Failed(event));
    }
}

/// The shared one-time slot of one request (cheap to clone: one `Arc`).
#[derive(Clone)]
pub(crate) struct ReplyHandle(Arc<ReplySlot>);

struct ReplySlot {
    sender: Mutex<Option<oneshot::Sender<Answer>>>,
    /// The methods the request's route allows: the one thing about the server's routing that a
    /// step of the flow needs (an `HttpMethodRouter` answering `405`), carried here because the
    /// slot already goes with every copy of the event.
    route_methods: MethodSet,
}

/// Why an answer was not delivered.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Undelivered {
    /// Another copy answered first.
    AlreadyAnswered,
    /// The request stopped waiting (timed out, or its client went away).
    NobodyWaiting,
}

impl ReplyHandle {
    /// A slot for a request on a route allowing `route_methods`, and the receiver the request
    /// awaits.
    pub(crate) fn new(route_methods: MethodSet) -> (ReplyHandle, oneshot::Receiver<Answer>) {
        let (sender, receiver) = oneshot::channel();
        let slot = ReplySlot {
            sender: Mutex::new(Some(sender)),
            route_methods,
        };
        (ReplyHandle(Arc::new(slot)), receiver)
    }

    /// The methods the request's route allows.
    pub(crate) fn route_methods(&self) -> MethodSet {
        self.0.route_methods
    }

    /// Answers the waiting request, if this is the first answer and someone still waits;
    /// otherwise the answer comes back with the reason.
    pub(crate) fn answer(&self, answer: Answer) -> Result<(), (Undelivered, Answer)> {
        // The lock is held for a `take` only; a poisoned lock still holds a valid `Option`.
        let sender = self
            .0
            .sender
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        match sender {
            Some(sender) => sender
                .send(answer)
                .map_err(|answer| (Undelivered::NobodyWaiting, answer)),
            None => Err((Undelivered::AlreadyAnswered, answer)),
        }
    }
}

impl fmt::Debug for ReplyHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ReplyHandle")
    }
}

/// Counters of one [`HttpServer`](super::HttpServer), readable while it runs.
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
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn response() -> Answer {
        Answer::Response(Event::new(Body::Empty))
    }

    #[tokio::test]
    async fn the_first_answer_wins() {
        let (handle, receiver) = ReplyHandle::new(MethodSet::of(&[http::Method::GET]));
        let copy = handle.clone();
        assert!(handle.answer(response()).is_ok());
        assert!(matches!(
            copy.answer(response()),
            Err((Undelivered::AlreadyAnswered, _))
        ));
        assert!(matches!(receiver.await, Ok(Answer::Response(_))));
    }

    #[tokio::test]
    async fn dropping_every_copy_tells_the_waiting_side() {
        let (handle, receiver) = ReplyHandle::new(MethodSet::of(&[http::Method::GET]));
        let copy = handle.clone();
        drop(handle);
        drop(copy);
        assert!(receiver.await.is_err());
    }

    #[test]
    fn an_answer_after_the_wait_ended_is_undelivered() {
        let (handle, receiver) = ReplyHandle::new(MethodSet::of(&[http::Method::GET]));
        drop(receiver);
        assert!(matches!(
            handle.answer(response()),
            Err((Undelivered::NobodyWaiting, _))
        ));
    }
}
