//! `RateLimiter`: a token bucket in front of whatever follows it.
//!
//! The bucket refills at `rate` tokens a second up to `burst`; each event takes one. While the
//! bucket is empty the limiter holds the event it took and takes no other, so its inbox fills
//! and the senders wait: backpressure, nothing dropped. Configured to refuse instead, it sends
//! the events that find the bucket empty to its error outbox as `TooManyRequests` (`429`).

use std::time::Duration;

use tokio::time::Instant;

use crate::actor::{Actor, Context};
use crate::error::EventError;
use crate::payload::Payload;
use crate::port::{Inbox, Outbox};

/// The burst of a rate limiter when [`RateLimiter::burst`] is not called: one event, so that
/// events leave evenly spaced.
pub const DEFAULT_BURST: u32 = 1;

/// The lowest rate a limiter takes (events a second); lower rates are taken as this one, so
/// that the wait for a token stays finite.
pub const MIN_RATE: f64 = 1e-6;

/// Lets events through at most at `rate` a second, with bursts of up to `burst`.
///
/// ```
/// use compysition::actors::RateLimiter;
///
/// let smooth = RateLimiter::<String>::per_second(100.0);            // waits (backpressure)
/// let api = RateLimiter::<String>::per_second(10.0).burst(20).refuse(); // 429 beyond it
/// # let _ = (smooth, api);
/// ```
#[derive(Debug)]
pub struct RateLimiter<T> {
    rate: f64,
    burst: u32,
    refuse: bool,
    _payload: std::marker::PhantomData<fn(T)>,
}

impl<T> RateLimiter<T> {
    /// At most `rate` events a second (at least [`MIN_RATE`]), one at a time.
    pub fn per_second(rate: f64) -> Self {
        RateLimiter {
            rate: if rate.is_finite() {
                rate.max(MIN_RATE)
            } else {
                f64::MAX
            },
            burst: DEFAULT_BURST,
            refuse: false,
            _payload: std::marker::PhantomData,
        }
    }

    /// Up to `burst` events at once after a quiet spell ([`DEFAULT_BURST`]; at least one).
    pub fn burst(mut self, burst: u32) -> Self {
        self.burst = burst.max(1);
        self
    }

    /// Refuses events beyond the rate (`TooManyRequests`, a `429` over HTTP) instead of waiting.
    pub fn refuse(mut self) -> Self {
        self.refuse = true;
        self
    }
}

/// The bucket: tokens now, and when they were counted.
pub(crate) struct Bucket {
    rate: f64,
    burst: f64,
    tokens: f64,
    counted: Instant,
}

impl Bucket {
    pub(crate) fn new(rate: f64, burst: u32) -> Self {
        Bucket {
            rate,
            burst: f64::from(burst),
            tokens: f64::from(burst),
            counted: Instant::now(),
        }
    }

    fn refill(&mut self, now: Instant) {
        let elapsed = now.saturating_duration_since(self.counted).as_secs_f64();
        self.tokens = (self.tokens + elapsed * self.rate).min(self.burst);
        self.counted = now;
    }

    /// Takes a token if there is one now.
    pub(crate) fn try_take(&mut self, now: Instant) -> bool {
        self.refill(now);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }

    /// When the next token is there.
    pub(crate) fn next_token(&self) -> Instant {
        let missing = (1.0 - self.tokens).max(0.0);
        let wait = Duration::try_from_secs_f64(missing / self.rate).unwrap_or(Duration::MAX);
        self.counted.checked_add(wait).unwrap_or(self.counted)
    }
}

impl<T: Payload> Actor for RateLimiter<T> {
    type Inboxes = Inbox<T>;
    type Outboxes = Outbox<T>;

    async fn run(self, ctx: Context, mut inbox: Inbox<T>, outbox: Outbox<T>) {
        let mut bucket = Bucket::new(self.rate, self.burst);
        while let Some(event) = inbox.recv().await {
            if let Err(error) = ctx.check_required(&event) {
                ctx.fail(event, error).await;
                continue;
            }
            if !bucket.try_take(Instant::now()) {
                if self.refuse {
                    let error = EventError::too_many_requests(format!(
                        "more than {} events a second (burst {})",
                        self.rate, self.burst
                    ));
                    ctx.fail(event, error).await;
                    continue;
                }
                // Holding the event while waiting takes no other: the inbox fills behind it.
                tokio::time::sleep_until(bucket.next_token()).await;
                bucket.try_take(Instant::now());
            }
            outbox.send(event).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;
    use crate::event::Event;
    use crate::port::test_channel;

    #[tokio::test(start_paused = true)]
    async fn events_leave_at_the_rate_after_the_burst() {
        let (tx, inbox) = test_channel::<u32>(100);
        let (outbox, mut out) = test_channel::<u32>(100);
        let (errors, _errors) = test_channel(1);
        let (ctx, _stop) = Context::detached("limiter", errors);
        let limiter = RateLimiter::per_second(10.0).burst(5);
        tokio::spawn(limiter.run(ctx, inbox, outbox));
        let started = Instant::now();
        for n in 0..25 {
            tx.send(Event::new(n)).await;
        }
        let mut times = Vec::new();
        for n in 0..25 {
            let event = out.recv().await.expect("passed");
            assert_eq!(event.data, n, "in order");
            times.push(started.elapsed().as_millis());
        }
        assert_eq!(&times[..5], [0, 0, 0, 0, 0], "the burst goes at once");
        // Then one every 100 ms: the 25th at 2 s.
        assert_eq!(times[5], 100);
        assert_eq!(times[24], 2000);
    }

    #[tokio::test(start_paused = true)]
    async fn a_full_inbox_holds_the_senders_back() {
        let (tx, inbox) = test_channel::<u32>(2);
        let (outbox, mut out) = test_channel::<u32>(100);
        let (errors, _errors) = test_channel(1);
        let (ctx, _stop) = Context::detached("limiter", errors);
        tokio::spawn(RateLimiter::per_second(1.0).run(ctx, inbox, outbox));
        let started = Instant::now();
        // One passes, one is held by the limiter, two fill the inbox; the fifth send waits.
        for n in 0..5 {
            tx.send(Event::new(n)).await;
        }
        assert!(started.elapsed() >= Duration::from_secs(1), "backpressure");
        for _ in 0..5 {
            out.recv().await.expect("nothing dropped");
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_refusing_limiter_answers_429_beyond_the_burst() {
        let (tx, inbox) = test_channel::<u32>(100);
        let (outbox, mut out) = test_channel::<u32>(100);
        let (errors, mut refused) = test_channel(100);
        let (ctx, _stop) = Context::detached("limiter", errors);
        tokio::spawn(
            RateLimiter::per_second(1.0)
                .burst(2)
                .refuse()
                .run(ctx, inbox, outbox),
        );
        for n in 0..3 {
            tx.send(Event::new(n)).await;
        }
        let error = refused.recv().await.expect("the third is refused");
        assert_eq!(
            error.error().map(EventError::kind),
            Some(ErrorKind::TooManyRequests)
        );
        tokio::time::sleep(Duration::from_secs(1)).await;
        tx.send(Event::new(3)).await;
        let passed: Vec<u32> = [
            out.recv().await.expect("0").data,
            out.recv().await.expect("1").data,
            out.recv().await.expect("3").data,
        ]
        .into();
        assert_eq!(passed, [0, 1, 3], "a token came back after a second");
    }
}
