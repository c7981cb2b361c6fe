//! `FlowController`: at most so many events between it and the completion edge that releases
//! them (the Python `FlowController`).
//!
//! Events come in on `inbox` and leave on `outbox`; each one holds a lease until an event
//! arrives on `completions` (from wherever the flow counts an event as done, its error edge
//! included). At the limit the controller takes nothing from its inbox, so the senders wait;
//! configured to refuse, it answers the events beyond the limit `TooManyRequests` instead.
//! Completions are counted, not matched: any completion frees the oldest lease. A lease whose
//! completion never comes (the event was dropped, say) expires after the lease timeout, so a
//! lost completion costs capacity for a while, never for good.

use std::collections::VecDeque;
use std::marker::PhantomData;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use compysition_macros::actor;
use tokio::time::Instant;

use crate::actor::{Actor, Context};
use crate::error::EventError;
use crate::payload::Payload;

/// The events a controller lets through before the first completion when
/// [`FlowController::max_in_flight`] is not called.
pub const DEFAULT_MAX_IN_FLIGHT: usize = 64;

/// How long a lease waits for its completion before it is freed anyway
/// ([`FlowController::lease_timeout`]).
pub const DEFAULT_LEASE_TIMEOUT: Duration = Duration::from_secs(60);

/// Lets at most `max_in_flight` events be on their way at once: each is in flight from the
/// moment it leaves on `outbox` until an event arrives on `completions`.
///
/// ```
/// use compysition::prelude::*;
/// use compysition::actors::FlowController;
///
/// let gate = FlowController::<Xml>::new().max_in_flight(8);        // waits at the limit
/// let strict = FlowController::<Xml>::new().max_in_flight(8).refuse(); // 429 at the limit
/// // topology!: source -> gate.inbox;  gate.outbox -> work -> done;  done -> gate.completions;
/// # let _ = (gate, strict);
/// ```
#[actor(inboxes(inbox: T, completions: C), outboxes(outbox: T))]
pub struct FlowController<T, C = T> {
    max_in_flight: usize,
    lease_timeout: Duration,
    refuse: bool,
    stats: FlowStats,
    _payloads: PhantomData<fn(T, C)>,
}

impl<T> FlowController<T, T> {
    /// A controller of [`DEFAULT_MAX_IN_FLIGHT`] events whose completions are events of the
    /// same payload.
    pub fn new() -> Self {
        FlowController {
            max_in_flight: DEFAULT_MAX_IN_FLIGHT,
            lease_timeout: DEFAULT_LEASE_TIMEOUT,
            refuse: false,
            stats: FlowStats::default(),
            _payloads: PhantomData,
        }
    }
}

impl<T> Default for FlowController<T, T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T, C> FlowController<T, C> {
    /// At most `n` events in flight (at least one).
    pub fn max_in_flight(mut self, n: usize) -> Self {
        self.max_in_flight = n.max(1);
        self
    }

    /// Frees a lease after `timeout` without its completion ([`DEFAULT_LEASE_TIMEOUT`]).
    pub fn lease_timeout(mut self, timeout: Duration) -> Self {
        self.lease_timeout = timeout;
        self
    }

    /// Refuses events at the limit (`TooManyRequests`, a `429` over HTTP) instead of waiting.
    pub fn refuse(mut self) -> Self {
        self.refuse = true;
        self
    }

    /// Completions of another payload (`C2`): whatever the flow emits when it is done.
    pub fn completions<C2>(self) -> FlowController<T, C2> {
        FlowController {
            max_in_flight: self.max_in_flight,
            lease_timeout: self.lease_timeout,
            refuse: self.refuse,
            stats: self.stats,
            _payloads: PhantomData,
        }
    }

    /// The controller's counters, to read while it runs.
    pub fn stats(&self) -> FlowStats {
        self.stats.clone()
    }
}

/// The counters of a [`FlowController`].
#[derive(Clone, Debug, Default)]
pub struct FlowStats(Arc<FlowCounters>);

#[derive(Debug, Default)]
struct FlowCounters {
    in_flight: AtomicUsize,
    released: AtomicU64,
    expired: AtomicU64,
    unmatched: AtomicU64,
    refused: AtomicU64,
}

impl FlowStats {
    /// Events in flight now.
    pub fn in_flight(&self) -> usize {
        self.0.in_flight.load(Ordering::Relaxed)
    }
    /// Leases freed by a completion.
    pub fn released(&self) -> u64 {
        self.0.released.load(Ordering::Relaxed)
    }
    /// Leases freed by their timeout.
    pub fn expired(&self) -> u64 {
        self.0.expired.load(Ordering::Relaxed)
    }
    /// Completions that found no event in flight.
    pub fn unmatched_completions(&self) -> u64 {
        self.0.unmatched.load(Ordering::Relaxed)
    }
    /// Events refused at the limit.
    pub fn refused(&self) -> u64 {
        self.0.refused.load(Ordering::Relaxed)
    }
}

/// The leases, oldest first: each is the moment it expires.
struct Leases {
    expiries: VecDeque<Instant>,
    stats: FlowStats,
}

impl Leases {
    fn release(&mut self) {
        if self.expiries.pop_front().is_some() {
            self.stats.0.released.fetch_add(1, Ordering::Relaxed);
        } else {
            self.stats.0.unmatched.fetch_add(1, Ordering::Relaxed);
        }
        self.publish();
    }

    fn expire(&mut self, now: Instant) {
        while self.expiries.front().is_some_and(|at| *at <= now) {
            self.expiries.pop_front();
            self.stats.0.expired.fetch_add(1, Ordering::Relaxed);
        }
        self.publish();
    }

    fn publish(&self) {
        self.stats
            .0
            .in_flight
            .store(self.expiries.len(), Ordering::Relaxed);
    }
}

/// What the controller's loop waits for.
enum Step<T, C> {
    Completion(Option<crate::event::Event<C>>),
    Event(Option<crate::event::Event<T>>),
    Expiry,
}

impl<T: Payload, C: Payload> Actor for FlowController<T, C> {
    type Inboxes = FlowControllerInboxes<T, C>;
    type Outboxes = FlowControllerOutboxes<T, C>;

    async fn run(
        self,
        ctx: Context,
        inboxes: FlowControllerInboxes<T, C>,
        outboxes: FlowControllerOutboxes<T, C>,
    ) {
        let FlowControllerInboxes {
            mut inbox,
            mut completions,
            ..
        } = inboxes;
        let outbox = outboxes.outbox;
        let mut leases = Leases {
            expiries: VecDeque::new(),
            stats: self.stats,
        };
        let (mut events_open, mut completions_open) = (true, true);
        while events_open {
            let room = leases.expiries.len() < self.max_in_flight;
            // At the limit the inbox is left alone (backpressure), unless refusing.
            let take = room || self.refuse;
            let next_expiry = leases.expiries.front().copied();
            let step = tokio::select! {
                biased;
                done = completions.recv(), if completions_open => Step::Completion(done),
                () = sleep_until(next_expiry) => Step::Expiry,
                event = inbox.recv(), if take => Step::Event(event),
            };
            match step {
                Step::Completion(Some(_)) => leases.release(),
                Step::Completion(None) => completions_open = false,
                Step::Expiry => leases.expire(Instant::now()),
                Step::Event(None) => events_open = false,
                Step::Event(Some(event)) => {
                    if let Err(error) = ctx.check_required(&event) {
                        ctx.fail(event, error).await;
                    } else if !room {
                        leases.stats.0.refused.fetch_add(1, Ordering::Relaxed);
                        let error = EventError::too_many_requests(format!(
                            "{} events in flight, the limit",
                            self.max_in_flight
                        ));
                        ctx.fail(event, error).await;
                    } else {
                        leases
                            .expiries
                            .push_back(Instant::now() + self.lease_timeout);
                        leases.publish();
                        outbox.send(event).await;
                    }
                }
            }
        }
        // Closing the outbox lets the flow behind drain; its completions are taken until it
        // has, so that none finds this inbox gone.
        drop(outbox);
        while let Some(_done) = completions.recv().await {
            leases.release();
        }
    }
}

async fn sleep_until(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;
    use crate::event::Event;
    use crate::port::{test_channel, Inbox, Outbox};

    struct Running {
        events: Outbox<u32>,
        completions: Outbox<u32>,
        out: Inbox<u32>,
        errors: Inbox<crate::payload::AnyPayload>,
        _stop: tokio::sync::watch::Sender<bool>,
    }

    fn start(controller: FlowController<u32>) -> Running {
        let (events, inbox) = test_channel(100);
        let (completions, completions_inbox) = test_channel(100);
        let (outbox, out) = test_channel(100);
        let (errors_tx, errors) = test_channel(100);
        let (ctx, stop) = Context::detached("gate", errors_tx);
        let inboxes = FlowControllerInboxes {
            inbox,
            completions: completions_inbox,
            _parameters: PhantomData,
        };
        let outboxes = FlowControllerOutboxes {
            outbox,
            _parameters: PhantomData,
        };
        tokio::spawn(controller.run(ctx, inboxes, outboxes));
        Running {
            events,
            completions,
            out,
            errors,
            _stop: stop,
        }
    }

    #[tokio::test(start_paused = true)]
    async fn completions_release_what_the_limit_holds_back() {
        let controller = FlowController::new().max_in_flight(2);
        let stats = controller.stats();
        let mut gate = start(controller);
        for n in 0..5 {
            gate.events.send(Event::new(n)).await;
        }
        assert_eq!(gate.out.recv().await.map(|e| e.data), Some(0));
        assert_eq!(gate.out.recv().await.map(|e| e.data), Some(1));
        // Long before any lease expires, nothing more goes out until a completion.
        tokio::time::sleep(Duration::from_secs(1)).await;
        assert!(gate.out.try_recv().is_none(), "held at the limit");
        assert_eq!(stats.in_flight(), 2);
        gate.completions.send(Event::new(0)).await;
        assert_eq!(gate.out.recv().await.map(|e| e.data), Some(2));
        gate.completions.send(Event::new(1)).await;
        gate.completions.send(Event::new(2)).await;
        assert_eq!(gate.out.recv().await.map(|e| e.data), Some(3));
        assert_eq!(gate.out.recv().await.map(|e| e.data), Some(4));
        assert_eq!((stats.released(), stats.expired()), (3, 0));
    }

    #[tokio::test(start_paused = true)]
    async fn a_lost_completion_costs_capacity_until_its_lease_expires() {
        let controller = FlowController::new()
            .max_in_flight(1)
            .lease_timeout(Duration::from_secs(10));
        let stats = controller.stats();
        let mut gate = start(controller);
        gate.events.send(Event::new(0)).await;
        gate.events.send(Event::new(1)).await;
        let started = Instant::now();
        gate.out.recv().await.expect("first");
        gate.out
            .recv()
            .await
            .expect("second, after the first lease expired");
        assert_eq!(started.elapsed(), Duration::from_secs(10));
        assert_eq!(stats.expired(), 1);
    }

    #[tokio::test]
    async fn a_refusing_controller_answers_429_at_the_limit() {
        let controller = FlowController::new().max_in_flight(1).refuse();
        let stats = controller.stats();
        let mut gate = start(controller);
        gate.events.send(Event::new(0)).await;
        gate.events.send(Event::new(1)).await;
        let refused = gate.errors.recv().await.expect("refused");
        assert_eq!(
            refused.error().map(EventError::kind),
            Some(ErrorKind::TooManyRequests)
        );
        assert_eq!(gate.out.recv().await.map(|e| e.data), Some(0));
        assert_eq!(stats.refused(), 1);
    }
}
