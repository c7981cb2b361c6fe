//! How an answer finds the request that waits for it, without a table of pending requests.
//!
//! A request/response source (the HTTP server; a TCP or Majordomo server alike) gives each
//! request's event a one-time [`ReplySlot`] and awaits the [`Waiting`] half. The slot travels
//! in the event's envelope, so every copy of the event (a fan-out, an error event, the same
//! envelope after any number of `map`s) carries the same slot:
//!
//! - the first copy to come back answers ([`ReplySlot::answer`], or [`ReplySlot::fail`] for a
//!   failed one); later copies find the slot used and get their event back with
//!   [`Undelivered::AlreadyAnswered`];
//! - when the last copy is dropped without an answer, the slot goes with it and the waiting
//!   side learns at once that nobody will answer ([`Unanswered`]);
//! - the waiting side bounds its own wait (a timeout); once it stops waiting, an answer that
//!   still arrives comes back with [`Undelivered::NobodyWaiting`].
//!
//! An error that reaches no error inbox is answered through the slot by the topology's default
//! error actor, so a request whose failure nobody routed still gets that failure, not silence.
//! Nothing is registered anywhere, so nothing can leak: a request's whole state is its slot and
//! its waiting future.

use std::any::Any;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};

use tokio::sync::oneshot;

use crate::event::Event;
use crate::payload::{ErrorEvent, Payload};

/// What comes back to a waiting request.
#[derive(Debug)]
pub enum Answer<T> {
    /// The flow's answer.
    Response(Event<T>),
    /// The event failed somewhere; the error event says why.
    Failed(ErrorEvent),
}

/// Why an answer was not delivered.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Undelivered {
    /// Another copy of the event answered first.
    AlreadyAnswered,
    /// The request stopped waiting (it timed out, or its client went away).
    NobodyWaiting,
    /// The request waits for an answer of another payload type.
    WrongPayload,
}

impl fmt::Display for Undelivered {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Undelivered::AlreadyAnswered => "the request was already answered",
            Undelivered::NobodyWaiting => "nobody waits for the answer any more",
            Undelivered::WrongPayload => "the request waits for an answer of another payload type",
        })
    }
}

/// The shared one-time slot of one request; cheap to clone (one `Arc`).
///
/// ```
/// use compysition::reply::{Answer, ReplySlot};
/// use compysition::Event;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let (slot, waiting) = ReplySlot::new::<String>();
/// let mut request = Event::new("ping".to_string());
/// request.set_reply_slot(slot);
///
/// // … the event travels through the flow and comes back …
/// let answer = request.map(|_| "pong".to_string());
/// let slot = answer.reply_slot().cloned().expect("a request");
/// slot.answer(answer).expect("first answer");
///
/// match waiting.await {
///     Ok(Answer::Response(event)) => assert_eq!(event.data, "pong"),
///     _ => unreachable!(),
/// }
/// # }
/// ```
#[derive(Clone)]
pub struct ReplySlot(Arc<dyn Slot>);

/// The slot behind the erased handle: typed by the answer's payload, so that a response is
/// handed over as it is (no boxing per answer), while the default error actor, which knows no
/// payload type, can still fail it.
trait Slot: Send + Sync {
    fn as_any(&self) -> &dyn Any;
    fn fail(&self, event: ErrorEvent) -> Result<(), (Undelivered, ErrorEvent)>;
}

struct TypedSlot<T> {
    sender: Mutex<Option<oneshot::Sender<Answer<T>>>>,
}

impl<T> TypedSlot<T> {
    fn deliver(&self, answer: Answer<T>) -> Result<(), (Undelivered, Answer<T>)> {
        // The lock is held for a `take` only; a poisoned lock still holds a valid `Option`.
        let sender = self
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

impl<T: Payload> Slot for TypedSlot<T> {
    fn as_any(&self) -> &dyn Any {
        self
    }

    fn fail(&self, event: ErrorEvent) -> Result<(), (Undelivered, ErrorEvent)> {
        self.deliver(Answer::Failed(event))
            .map_err(|(why, answer)| match answer {
                Answer::Failed(event) => (why, event),
                // `deliver` gives back the answer it was given.
                Answer::Response(event) => (why, event.map(crate::payload::AnyPayload::new)),
            })
    }
}

impl ReplySlot {
    /// A slot for a request answered with `Event<T>`, and the future the request awaits.
    pub fn new<T: Payload>() -> (ReplySlot, Waiting<T>) {
        let (sender, receiver) = oneshot::channel();
        let slot = TypedSlot {
            sender: Mutex::new(Some(sender)),
        };
        (ReplySlot(Arc::new(slot)), Waiting(receiver))
    }

    /// Answers the waiting request with the flow's response, if this is the first answer and
    /// someone still waits; otherwise the event comes back with the reason.
    pub fn answer<T: Payload>(&self, event: Event<T>) -> Result<(), (Undelivered, Event<T>)> {
        let Some(slot) = self.0.as_any().downcast_ref::<TypedSlot<T>>() else {
            return Err((Undelivered::WrongPayload, event));
        };
        slot.deliver(Answer::Response(event))
            .map_err(|(why, answer)| match answer {
                Answer::Response(event) => (why, event),
                Answer::Failed(_) => unreachable_failed(),
            })
    }

    /// Answers the waiting request with a failure, whatever payload it waits for.
    pub fn fail(&self, event: ErrorEvent) -> Result<(), (Undelivered, ErrorEvent)> {
        self.0.fail(event)
    }
}

/// `deliver` hands back the answer it was given; a response never comes back as a failure.
fn unreachable_failed<T>() -> T {
    unreachable!("a delivered response came back as a failure")
}

impl fmt::Debug for ReplySlot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ReplySlot")
    }
}

/// The waiting half of a [`ReplySlot`]: resolves to the answer, or to [`Unanswered`] once every
/// copy of the request's event is gone without one.
#[must_use = "futures do nothing unless awaited"]
pub struct Waiting<T>(oneshot::Receiver<Answer<T>>);

impl<T> Future for Waiting<T> {
    type Output = Result<Answer<T>, Unanswered>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        Pin::new(&mut self.0).poll(cx).map_err(|_| Unanswered)
    }
}

impl<T> fmt::Debug for Waiting<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Waiting")
    }
}

/// Every copy of the request's event was dropped without an answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("the flow dropped the request without answering")]
pub struct Unanswered;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::EventError;

    fn request() -> (Event<u32>, Waiting<u32>) {
        let (slot, waiting) = ReplySlot::new::<u32>();
        let mut event = Event::new(1);
        event.set_reply_slot(slot);
        (event, waiting)
    }

    fn slot_of<T>(event: &Event<T>) -> ReplySlot {
        event.reply_slot().cloned().expect("a request")
    }

    #[tokio::test]
    async fn the_first_answer_wins() {
        let (event, waiting) = request();
        let copy = event.clone();
        assert!(slot_of(&event).answer(event).is_ok());
        let (why, _) = slot_of(&copy).answer(copy).expect_err("second");
        assert_eq!(why, Undelivered::AlreadyAnswered);
        assert!(matches!(waiting.await, Ok(Answer::Response(_))));
    }

    #[tokio::test]
    async fn dropping_every_copy_tells_the_waiting_side() {
        let (event, waiting) = request();
        let copy = event.clone();
        drop(event);
        drop(copy);
        assert_eq!(waiting.await.err(), Some(Unanswered));
    }

    #[test]
    fn an_answer_after_the_wait_ended_is_undelivered() {
        let (event, waiting) = request();
        drop(waiting);
        let (why, _) = slot_of(&event).answer(event).expect_err("nobody waits");
        assert_eq!(why, Undelivered::NobodyWaiting);
    }

    #[test]
    fn an_answer_of_another_payload_is_refused_and_given_back() {
        let (event, _waiting) = request();
        let text = event.map(|n| n.to_string());
        let (why, back) = slot_of(&text).answer(text).expect_err("wrong type");
        assert_eq!(why, Undelivered::WrongPayload);
        assert_eq!(back.data, "1");
    }

    #[tokio::test]
    async fn a_failure_answers_whatever_the_payload() {
        let (event, waiting) = request();
        let failed = event.into_error_event(EventError::unavailable("down"));
        slot_of(&failed).fail(failed).expect("delivered");
        match waiting.await {
            Ok(Answer::Failed(event)) => {
                assert_eq!(event.error().map(EventError::message), Some("down"))
            }
            other => panic!("expected a failure, got {other:?}"),
        }
    }
}
