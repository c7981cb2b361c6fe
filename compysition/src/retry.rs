//! Retries: a [`RetryPolicy`] says how often a failed handler is tried again and how long to
//! wait in between (exponential backoff, optionally with jitter).
//!
//! A policy is set on an actor with [`ActorExt::retry`](crate::ActorExt::retry), on actors whose
//! handler *returns* its event ([`Retryable`]: `#[actor]` functions and [`from_fn`](crate::from_fn)):
//! the framework sends what the handler returns once, after the attempt that succeeds, so a
//! retried event is never sent downstream twice. Actors that send on their outboxes from inside
//! the handler cannot promise that, and do not implement [`Retryable`].
//!
//! Each attempt gets its own copy of the event, with the attribute [`ATTEMPT_ATTRIBUTE`]
//! (`attempt`) set to its number, `1` for the first. Only the last failure goes to the error
//! outbox. Once the topology is stopping, an actor waits out a backoff only if it ends within
//! [`RETRY_SHARE_OF_SHUTDOWN`] of the shutdown timeout from the moment the stop was seen;
//! otherwise it gives up and sends the last failure on, so that retries never hold a graceful
//! stop past its deadline.

use std::any::Any;
use std::sync::Arc;
use std::time::Duration;

use crate::event::Event;
use crate::payload::Payload;

/// The attribute that tells a retrying actor's handler which attempt it is on: `"1"` for the
/// first, `"2"` for the first retry, and so on. Set only on actors with a retry policy.
pub const ATTEMPT_ATTRIBUTE: &str = "attempt";

/// The most attempts a policy allows (more is taken as this many): a policy is for transient
/// failures, and a bound keeps a mistaken `u32::MAX` from retrying forever.
pub const MAX_RETRY_ATTEMPTS: u32 = 1000;

/// The wait after the first failure when [`RetryPolicy::backoff`] is not called.
pub const DEFAULT_INITIAL_BACKOFF: Duration = Duration::from_millis(100);

/// The longest wait between two attempts when [`RetryPolicy::backoff`] is not called.
pub const DEFAULT_MAX_BACKOFF: Duration = Duration::from_secs(10);

/// The share of [`Context::shutdown_timeout`](crate::Context::shutdown_timeout), counted from
/// the moment a stop is seen, within which backoffs are still waited out; the rest of the
/// deadline is left for the last failures to travel on and the flow behind to drain.
pub const RETRY_SHARE_OF_SHUTDOWN: f64 = 0.5;

/// How often a failed handler is tried, and how long to wait between attempts.
///
/// The wait after the `n`th failure is `initial × 2ⁿ⁻¹`, at most `max`; with
/// [`jitter`](Self::jitter) it is drawn uniformly from the upper half of that (`[d/2, d]`), so
/// that many events failing at once do not come back at once.
///
/// ```
/// use std::time::Duration;
/// use compysition::retry::RetryPolicy;
///
/// let policy = RetryPolicy::attempts(3)
///     .backoff(Duration::from_millis(50), Duration::from_secs(2))
///     .jitter();
/// assert_eq!(policy.max_attempts(), 3);
/// assert_eq!(policy.max_delay(2), Duration::from_millis(100));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RetryPolicy {
    attempts: u32,
    initial: Duration,
    max: Duration,
    jitter: bool,
}

impl RetryPolicy {
    /// Up to `attempts` attempts in all, the first included (`0` is taken as `1`: no retry; more
    /// than [`MAX_RETRY_ATTEMPTS`] as that many).
    pub fn attempts(attempts: u32) -> Self {
        RetryPolicy {
            attempts: attempts.clamp(1, MAX_RETRY_ATTEMPTS),
            initial: DEFAULT_INITIAL_BACKOFF,
            max: DEFAULT_MAX_BACKOFF,
            jitter: false,
        }
    }

    /// Waits `initial` after the first failure, doubling after each further one up to `max`
    /// (a `max` below `initial` is taken as `initial`).
    pub fn backoff(mut self, initial: Duration, max: Duration) -> Self {
        self.initial = initial;
        self.max = max.max(initial);
        self
    }

    /// Draws each wait uniformly from the upper half of its backoff.
    pub fn jitter(mut self) -> Self {
        self.jitter = true;
        self
    }

    /// How many attempts in all.
    pub fn max_attempts(&self) -> u32 {
        self.attempts
    }

    /// The longest wait after the `failed`th failed attempt (counting from 1): the wait itself
    /// without jitter.
    pub fn max_delay(&self, failed: u32) -> Duration {
        let doublings = failed.saturating_sub(1).min(63);
        let factor = 1u64 << doublings;
        let nanos = self.initial.as_nanos().saturating_mul(u128::from(factor));
        let max = self.max.as_nanos();
        Duration::from_nanos(u64::try_from(nanos.min(max)).unwrap_or(u64::MAX))
    }

    /// The wait after the `failed`th failed attempt: [`max_delay`](Self::max_delay), or with
    /// jitter a draw from its upper half.
    pub fn delay(&self, failed: u32) -> Duration {
        let full = self.max_delay(failed);
        if !self.jitter {
            return full;
        }
        let half = full / 2;
        let spread = u64::try_from((full - half).as_nanos()).unwrap_or(u64::MAX);
        let drawn = match spread.checked_add(1) {
            Some(range) => crate::id::next_random() % range,
            None => crate::id::next_random(),
        };
        half + Duration::from_nanos(drawn)
    }
}

/// Actors whose handler returns its event, so that the framework can try it again on failure
/// without sending anything twice: `#[actor]` functions returning a `Result`, and
/// [`from_fn`](crate::from_fn).
#[diagnostic::on_unimplemented(
    message = "actor `{Self}` cannot retry its events",
    label = "`.retry(…)` needs an actor whose handler returns its event",
    note = "an `#[actor]` function returning `Result<Event<T>, E>`, or `from_fn`, can retry: the framework sends the event once, after the attempt that succeeds"
)]
pub trait Retryable: crate::actor::Actor {
    /// The payload the handler takes (each attempt gets a copy of it).
    type Input: Payload;
}

/// Copies an event for one more attempt.
pub(crate) type CopyEvent<T> = fn(&Event<T>) -> Event<T>;

/// A policy with the means to copy the events it retries, as the actor's context keeps it.
pub(crate) struct RetrySettings {
    pub(crate) policy: RetryPolicy,
    /// A `fn(&Event<T>) -> Event<T>` for the actor's input payload `T`, erased.
    copy: Box<dyn Any + Send + Sync>,
}

impl RetrySettings {
    pub(crate) fn new<T: Payload + Clone>(policy: RetryPolicy) -> Arc<Self> {
        let copy: CopyEvent<T> = Clone::clone;
        Arc::new(RetrySettings {
            policy,
            copy: Box::new(copy),
        })
    }

    /// The copy function, if `T` is the payload the policy was set for.
    pub(crate) fn copier<T: 'static>(&self) -> Option<CopyEvent<T>> {
        self.copy.downcast_ref::<CopyEvent<T>>().copied()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::actor::{from_fn, ActorExt, Context};
    use crate::error::EventError;
    use crate::port::{test_channel, Inbox};
    use std::sync::Mutex;

    #[test]
    fn backoff_doubles_up_to_its_bound() {
        let policy =
            RetryPolicy::attempts(10).backoff(Duration::from_millis(10), Duration::from_millis(70));
        let delays: Vec<u128> = (1..=5).map(|n| policy.delay(n).as_millis()).collect();
        assert_eq!(delays, [10, 20, 40, 70, 70]);
        assert_eq!(policy.max_delay(200), Duration::from_millis(70));
    }

    #[test]
    fn jittered_waits_stay_in_the_upper_half() {
        let policy = RetryPolicy::attempts(5)
            .backoff(Duration::from_millis(100), Duration::from_secs(1))
            .jitter();
        let mut seen = std::collections::BTreeSet::new();
        for failed in 1..=4 {
            let full = policy.max_delay(failed);
            for _ in 0..1000 {
                let wait = policy.delay(failed);
                assert!(wait >= full / 2 && wait <= full, "{wait:?} for {full:?}");
                seen.insert(wait);
            }
        }
        assert!(seen.len() > 100, "jitter draws vary: {} values", seen.len());
    }

    #[test]
    fn attempts_are_bounded() {
        assert_eq!(RetryPolicy::attempts(0).max_attempts(), 1);
        assert_eq!(
            RetryPolicy::attempts(u32::MAX).max_attempts(),
            MAX_RETRY_ATTEMPTS
        );
    }

    /// Runs `actor` on its own with one event, and returns what it sent and the errors.
    async fn run_once<A>(actor: A, event: Event<String>, stop_after_start: bool) -> Outcome
    where
        A: crate::actor::Actor<Inboxes = Inbox<String>, Outboxes = crate::port::Outbox<String>>,
    {
        let (events_tx, inbox) = test_channel::<String>(4);
        let (outbox, mut out) = test_channel::<String>(4);
        let (errors_tx, mut errors) = test_channel(4);
        let (ctx, stop) = Context::detached("retrying", errors_tx);
        let ctx = ctx.with_shutdown_timeout(Duration::from_secs(10));
        let task = tokio::spawn(actor.run(ctx, inbox, outbox));
        events_tx.send(event).await;
        drop(events_tx);
        if stop_after_start {
            let _ = stop.send(true);
        }
        let started = tokio::time::Instant::now();
        task.await.expect("the actor finished");
        let mut outcome = Outcome {
            sent: Vec::new(),
            errors: Vec::new(),
            took: started.elapsed(),
        };
        while let Some(event) = out.try_recv() {
            outcome.sent.push(event);
        }
        while let Some(event) = errors.try_recv() {
            outcome.errors.extend(event.error().cloned());
        }
        outcome
    }

    struct Outcome {
        sent: Vec<Event<String>>,
        errors: Vec<EventError>,
        took: Duration,
    }

    /// A handler that fails until its `succeed_on`th attempt, noting each attempt it saw.
    fn flaky(
        succeed_on: u32,
        seen: Arc<Mutex<Vec<String>>>,
    ) -> impl Retryable<Input = String, Inboxes = Inbox<String>, Outboxes = crate::port::Outbox<String>>
    {
        from_fn(move |event: Event<String>| {
            let seen = Arc::clone(&seen);
            async move {
                let attempt = event
                    .attribute(ATTEMPT_ATTRIBUTE)
                    .unwrap_or("none")
                    .to_owned();
                let n: u32 = attempt.parse().unwrap_or(0);
                seen.lock().expect("not poisoned").push(attempt);
                if n >= succeed_on {
                    Ok(event)
                } else {
                    Err(EventError::unavailable(format!("attempt {n} failed")))
                }
            }
        })
    }

    #[tokio::test(start_paused = true)]
    async fn a_retried_event_is_sent_once_after_the_attempt_that_succeeds() {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let policy =
            RetryPolicy::attempts(5).backoff(Duration::from_secs(1), Duration::from_secs(60));
        let outcome = run_once(
            flaky(3, Arc::clone(&seen)).retry(policy),
            Event::new("x".to_string()),
            false,
        )
        .await;
        assert_eq!(*seen.lock().expect("not poisoned"), ["1", "2", "3"]);
        assert_eq!(outcome.sent.len(), 1, "never duplicated downstream");
        assert!(outcome.errors.is_empty());
        assert_eq!(
            outcome.took,
            Duration::from_secs(3),
            "waits of 1 s then 2 s"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn only_the_last_failure_goes_to_the_error_outbox() {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let policy = RetryPolicy::attempts(3)
            .backoff(Duration::from_millis(100), Duration::from_secs(1))
            .jitter();
        let outcome = run_once(
            flaky(99, Arc::clone(&seen)).retry(policy),
            Event::new("x".to_string()),
            false,
        )
        .await;
        assert_eq!(seen.lock().expect("not poisoned").len(), 3);
        assert!(outcome.sent.is_empty());
        assert_eq!(outcome.errors.len(), 1);
        assert_eq!(outcome.errors[0].message(), "attempt 3 failed");
        // Jittered waits: [50, 100] ms, then [100, 200] ms.
        assert!(
            outcome.took >= Duration::from_millis(150)
                && outcome.took <= Duration::from_millis(300),
            "{:?}",
            outcome.took
        );
    }

    #[tokio::test(start_paused = true)]
    async fn without_a_policy_the_handler_runs_once_and_sees_no_attempt() {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let outcome = run_once(flaky(2, Arc::clone(&seen)), Event::new("x".into()), false).await;
        assert_eq!(*seen.lock().expect("not poisoned"), ["none"]);
        assert_eq!(outcome.errors.len(), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn a_stop_ends_retries_whose_backoff_passes_the_deadline() {
        let seen = Arc::new(Mutex::new(Vec::new()));
        // Backoffs of 60 s do not fit in half of a 10 s shutdown timeout.
        let policy =
            RetryPolicy::attempts(5).backoff(Duration::from_secs(60), Duration::from_secs(60));
        let outcome = run_once(
            flaky(99, Arc::clone(&seen)).retry(policy),
            Event::new("x".into()),
            true,
        )
        .await;
        assert_eq!(seen.lock().expect("not poisoned").len(), 1);
        assert_eq!(outcome.errors.len(), 1, "the last failure is sent on");
        assert!(outcome.took < Duration::from_secs(5), "{:?}", outcome.took);
    }

    #[tokio::test]
    async fn an_event_without_its_required_attributes_never_reaches_the_handler() {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let actor = flaky(1, Arc::clone(&seen)).require(["order_id", "lane", "region"]);
        let event = Event::new("x".to_string()).with_attribute("lane", "fast");
        let outcome = run_once(actor, event, false).await;
        assert!(seen.lock().expect("not poisoned").is_empty());
        assert!(outcome.sent.is_empty());
        let error = &outcome.errors[0];
        assert_eq!(error.kind(), crate::error::ErrorKind::Malformed);
        assert_eq!(
            error.message(),
            "actor `retrying` requires the attributes `order_id`, `region`, which the event lacks"
        );
    }

    #[test]
    fn the_copier_is_found_for_its_own_payload_only() {
        let settings = RetrySettings::new::<String>(RetryPolicy::attempts(2));
        assert!(settings.copier::<String>().is_some());
        assert!(settings.copier::<u8>().is_none());
    }
}
