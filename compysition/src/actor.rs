//! Actors: what they are, what they get when they run, and the loop that feeds their handlers.
//!
//! An [`Actor`] declares its inboxes and outboxes as types and runs as one tokio task. Most actors
//! do not write their own loop: they call [`Context::serve`] with a handler per event, which
//! receives events, runs up to the actor's [`Concurrency`] handlers at once, and turns a handler's
//! `Err` or panic into an error event on the actor's error outbox, after which the actor goes on
//! with the next event.
//!
//! Sources (actors without inboxes) run until [`Context::stopped`] resolves. Everything else runs
//! until its inboxes close, which happens once every actor feeding them has finished: that is how
//! a graceful stop drains the graph from the sources down.

use std::any::Any;
use std::future::Future;
use std::num::NonZeroUsize;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::task::Poll;
use std::time::Duration;

use futures_util::stream::{FuturesUnordered, StreamExt};
use futures_util::FutureExt;
use tokio::sync::watch;
use tracing::Instrument;

use crate::error::EventError;
use crate::event::Event;
use crate::payload::{AnyPayload, ErrorEvent, Payload};
use crate::port::{backpressure, ErrorOutbox, Inbox, InboxSet, Outbox, OutboxSet};
use crate::retry::{
    RetryPolicy, RetrySettings, Retryable, ATTEMPT_ATTRIBUTE, RETRY_SHARE_OF_SHUTDOWN,
};

/// A unit of work in a topology.
///
/// Implement it by hand for full control, or let `#[actor]` generate it. A hand-written
/// pass-through actor:
///
/// ```
/// use compysition::prelude::*;
///
/// struct Upper;
///
/// impl Actor for Upper {
///     type Inboxes = Inbox<String>;
///     type Outboxes = Outbox<String>;
///
///     async fn run(self, ctx: Context, inbox: Inbox<String>, outbox: Outbox<String>) {
///         ctx.serve(inbox, |event| async {
///             outbox.send(event.map(|s| s.to_uppercase())).await;
///             Ok(())
///         })
///         .await
///     }
/// }
/// ```
pub trait Actor: Send + Sized + 'static {
    /// The inboxes `run` receives: `()`, one [`Inbox<T>`], or a struct of named inboxes.
    type Inboxes: InboxSet;
    /// The outboxes `run` receives: `()`, one [`Outbox<T>`], or a struct of named outboxes.
    type Outboxes: OutboxSet;
    /// Whether the actor has an error inbox (the target of `!->`); such actors also implement
    /// [`TakesErrors`] and find the inbox with [`Context::take_error_inbox`].
    const ERROR_INBOX: bool = false;

    /// Runs the actor. Return when the inboxes are closed (or, for a source, once
    /// [`Context::stopped`] resolved and everything already produced is sent).
    fn run(
        self,
        ctx: Context,
        inboxes: Self::Inboxes,
        outboxes: Self::Outboxes,
    ) -> impl Future<Output = ()> + Send;
}

/// Marks actors with an error inbox, so that `connect_error_queue` (and `!->`) can target them.
#[diagnostic::on_unimplemented(
    message = "actor `{Self}` has no error inbox",
    label = "errors cannot be routed to `{Self}`",
    note = "route errors to an actor that takes them (an HTTP server, a logger), or give this actor an error inbox"
)]
pub trait TakesErrors: Actor {}

/// How many events one actor handles at once.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Concurrency {
    /// One at a time, in the order they arrived.
    Ordered,
    /// Up to this many at once; answers may overtake each other.
    Limit(NonZeroUsize),
}

impl Concurrency {
    /// The default: up to 64 events at once, counted over all the actor's inboxes.
    pub const DEFAULT: Concurrency = Concurrency::Limit(match NonZeroUsize::new(64) {
        Some(n) => n,
        None => unreachable!(),
    });

    /// Up to `n` at once (`0` is taken as one, ordered).
    pub fn limit(n: usize) -> Self {
        match NonZeroUsize::new(n) {
            Some(n) if n.get() > 1 => Concurrency::Limit(n),
            _ => Concurrency::Ordered,
        }
    }
}

impl Default for Concurrency {
    fn default() -> Self {
        Concurrency::DEFAULT
    }
}

/// What a running actor knows about its place in the topology.
pub struct Context {
    name: Arc<str>,
    errors: Arc<ErrorOutbox>,
    error_inbox: Option<Inbox<AnyPayload>>,
    stop: watch::Receiver<bool>,
    concurrency: Concurrency,
    /// How long the topology gives its actors to finish once a stop is requested.
    shutdown_timeout: Duration,
    /// The slots of the `serve` loops of the actor's inboxes.
    slots: Slots,
    /// The slots of the error inbox's loop ([`Context::serve_errors`]), counted apart so that
    /// errors coming back round a cycle are taken while the other handlers wait downstream.
    error_slots: Slots,
    /// The retry policy set with [`ActorExt::retry`], if any.
    retry: Option<Arc<RetrySettings>>,
    /// Attributes every event must carry before a handler sees it ([`ActorExt::require`]).
    required: Arc<[Arc<str>]>,
    /// Which settings an outer [`Configured`] layer already made, so that an inner one (written
    /// earlier) does not undo them: the last option written wins.
    overridden: Overridden,
    /// When a retry first saw the topology stopping: backoffs after it fit in its deadline.
    stop_seen: OnceLock<tokio::time::Instant>,
}

/// Settings an [`ActorExt`] layer has made on the context.
#[derive(Clone, Copy, Default)]
struct Overridden {
    concurrency: bool,
    retry: bool,
}

/// Handler slots shared by some `serve` loops of one actor. All of them run in the actor's
/// task, so only that task ever changes the count.
#[derive(Default)]
struct Slots {
    /// Handlers running now.
    running: AtomicUsize,
    /// A loop found no free slot and waits to be polled again.
    starved: AtomicBool,
}

impl Context {
    pub(crate) fn new(
        name: Arc<str>,
        errors: Arc<ErrorOutbox>,
        error_inbox: Option<Inbox<AnyPayload>>,
        stop: watch::Receiver<bool>,
        concurrency: Concurrency,
    ) -> Self {
        Context {
            name,
            errors,
            error_inbox,
            stop,
            concurrency,
            shutdown_timeout: crate::director::DEFAULT_SHUTDOWN_TIMEOUT,
            slots: Slots::default(),
            error_slots: Slots::default(),
            retry: None,
            required: Arc::from([]),
            overridden: Overridden::default(),
            stop_seen: OnceLock::new(),
        }
    }

    /// A context for running an actor outside a topology (in a unit test of the actor, say):
    /// errors go to `errors`, and the stop signal comes from the returned sender.
    pub fn detached(name: &str, errors: Outbox<AnyPayload>) -> (Self, watch::Sender<bool>) {
        let (stop_tx, stop) = watch::channel(false);
        let name: Arc<str> = Arc::from(name);
        let errors = Arc::new(ErrorOutbox::new(Arc::clone(&name), errors));
        (
            Context::new(name, errors, None, stop, Concurrency::DEFAULT),
            stop_tx,
        )
    }

    pub(crate) fn with_shutdown_timeout(mut self, timeout: Duration) -> Self {
        self.shutdown_timeout = timeout;
        self
    }

    /// How long the topology gives its actors to finish once a stop is requested (the
    /// director's [`set_shutdown_timeout`](crate::Director::set_shutdown_timeout)); an actor that
    /// drains work of its own (requests in flight, batches) fits its drain inside it.
    pub fn shutdown_timeout(&self) -> Duration {
        self.shutdown_timeout
    }

    /// The actor's name in the topology.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// How many events the actor handles at once.
    pub fn concurrency(&self) -> Concurrency {
        self.concurrency
    }

    /// Resolves when the topology asks sources to stop producing.
    pub async fn stopped(&self) {
        let mut stop = self.stop.clone();
        // An error means the topology is gone: that is a stop too.
        let _ = stop.wait_for(|stopping| *stopping).await;
    }

    /// Whether the topology is stopping.
    pub fn is_stopping(&self) -> bool {
        *self.stop.borrow()
    }

    /// The error inbox, for actors that declared one (`ERROR_INBOX = true`). Taken once.
    pub fn take_error_inbox(&mut self) -> Option<Inbox<AnyPayload>> {
        self.error_inbox.take()
    }

    /// Sends a failed event to this actor's error outbox.
    pub async fn send_error(&self, event: ErrorEvent) {
        self.errors.send(event).await;
    }

    /// Attaches `error` to `event` and sends it to this actor's error outbox.
    pub async fn fail<T: Payload>(&self, event: Event<T>, error: EventError) {
        self.errors.send(event.into_error_event(error)).await;
    }

    /// Receives events from `inbox` and runs `handler` on each, until the inbox closes and every
    /// started handler has finished.
    ///
    /// Up to [`Context::concurrency`] handlers run at once, counted across every `serve` loop of
    /// the actor (an actor with several inboxes runs one loop per inbox, joined in its task with
    /// `tokio::join!`; the error inbox's [`serve_errors`](Self::serve_errors) counts apart). While a handler waits for room in a full inbox downstream, the loop takes
    /// no new events: backpressure reaches the sender at once. A handler that returns `Err` or
    /// panics sends the event's envelope with the error to the error outbox (a panic becomes a
    /// `500`); the loop goes on with the next event.
    ///
    /// An event without every attribute the actor [requires](ActorExt::require) goes to the
    /// error outbox as a `Malformed` error naming the missing ones, and its handler never runs.
    pub async fn serve<T, H, F>(&self, inbox: Inbox<T>, handler: H)
    where
        T: Send,
        H: Fn(Event<T>) -> F,
        F: Future<Output = Result<(), EventError>> + Send,
    {
        if self.required.is_empty() {
            return self.serve_in(&self.slots, inbox, handler).await;
        }
        let checked = |event: Event<T>| {
            let work = self.check_required(&event).map(|()| handler(event));
            async move { work?.await }
        };
        self.serve_in(&self.slots, inbox, checked).await
    }

    /// The attributes every event must carry before a handler sees it (empty unless set with
    /// [`ActorExt::require`]).
    pub fn required_attributes(&self) -> &[Arc<str>] {
        &self.required
    }

    /// `Ok` when `event` carries every [required attribute](ActorExt::require), otherwise a
    /// `Malformed` error naming each missing one. [`serve`](Self::serve) checks this itself; an
    /// actor with a receive loop of its own calls it.
    pub fn check_required<T>(&self, event: &Event<T>) -> Result<(), EventError> {
        let missing: Vec<&str> = self
            .required
            .iter()
            .map(|name| &**name)
            .filter(|name| event.attribute(name).is_none())
            .collect();
        match missing.as_slice() {
            [] => Ok(()),
            [one] => Err(EventError::malformed(format!(
                "actor `{}` requires the attribute `{one}`, which the event lacks",
                self.name
            ))),
            several => Err(EventError::malformed(format!(
                "actor `{}` requires the attributes {}, which the event lacks",
                self.name,
                several
                    .iter()
                    .map(|name| format!("`{name}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ))),
        }
    }

    /// The retry policy set with [`ActorExt::retry`], if any.
    pub fn retry_policy(&self) -> Option<&RetryPolicy> {
        self.retry.as_deref().map(|settings| &settings.policy)
    }

    /// Runs `handler` on `event`, and again on failure as the actor's
    /// [retry policy](ActorExt::retry) allows: each attempt on its own copy of the event, with
    /// the attribute [`attempt`](ATTEMPT_ATTRIBUTE) set to its number. The first success is
    /// returned, or the last failure. Without a policy (or for another payload than the one it
    /// was set for) the handler runs once and the event is left as it is.
    ///
    /// `#[actor]` functions and [`from_fn`] run their handler through this; the caller sends
    /// what it returns, once.
    pub async fn retrying<T, R, H, F>(&self, event: Event<T>, handler: H) -> Result<R, EventError>
    where
        T: 'static,
        H: Fn(Event<T>) -> F,
        F: Future<Output = Result<R, EventError>>,
    {
        let Some((settings, copy)) = self
            .retry
            .as_deref()
            .and_then(|settings| Some((settings, settings.copier::<T>()?)))
        else {
            return handler(event).await;
        };
        let attempts = settings.policy.max_attempts();
        let mut original = Some(event);
        let mut attempt = 1;
        loop {
            let mut this = match &original {
                Some(event) if attempt < attempts => copy(event),
                _ => match original.take() {
                    Some(event) => event,
                    // The last attempt took the original; the loop returns after it.
                    None => return Err(EventError::internal("retry without an event")),
                },
            };
            this.set_attribute(ATTEMPT_ATTRIBUTE, attempt.to_string());
            let failure = match handler(this).await {
                Ok(done) => return Ok(done),
                Err(failure) if attempt >= attempts => return Err(failure),
                Err(failure) => failure,
            };
            let wait = settings.policy.delay(attempt);
            tracing::debug!(actor = %self.name, attempt, error = %failure, ?wait, "attempt failed; retrying");
            if !self.back_off(wait).await {
                tracing::debug!(actor = %self.name, attempt, "stopping: no more retries");
                return Err(failure);
            }
            attempt += 1;
        }
    }

    /// Waits `wait` before a retry; `false` when the topology is stopping and the wait would
    /// end past the share of the shutdown timeout that retries may use.
    async fn back_off(&self, wait: Duration) -> bool {
        let until = tokio::time::Instant::now() + wait;
        if !self.is_stopping() {
            tokio::select! {
                biased;
                () = tokio::time::sleep_until(until) => return true,
                () = self.stopped() => {}
            }
        }
        let seen = *self.stop_seen.get_or_init(tokio::time::Instant::now);
        let budget = self.shutdown_timeout.mul_f64(RETRY_SHARE_OF_SHUTDOWN);
        if until > seen + budget {
            return false;
        }
        tokio::time::sleep_until(until).await;
        true
    }

    /// [`serve`](Self::serve) for the actor's error inbox: the same limit, counted on its own.
    /// An actor in a cycle with its own error edge (it sends downstream, errors come back) then
    /// keeps taking errors while its other handlers wait for room downstream, even when it
    /// handles one event at a time.
    pub async fn serve_errors<H, F>(&self, inbox: Inbox<AnyPayload>, handler: H)
    where
        H: Fn(ErrorEvent) -> F,
        F: Future<Output = Result<(), EventError>> + Send,
    {
        self.serve_in(&self.error_slots, inbox, handler).await
    }

    async fn serve_in<T, H, F>(&self, slots: &Slots, mut inbox: Inbox<T>, handler: H)
    where
        T: Send,
        H: Fn(Event<T>) -> F,
        F: Future<Output = Result<(), EventError>> + Send,
    {
        let run_one = |event: Event<T>| self.run_one(&handler, event);

        let limit = match self.concurrency {
            Concurrency::Ordered => 1,
            Concurrency::Limit(limit) => limit.get(),
        };
        // One handler lives inline, pinned in this future: a flow whose handlers finish on their
        // first poll never allocates. Handlers that wait while more events arrive are boxed
        // into a set.
        let mut inline = std::pin::pin!(no_output_of(&run_one));
        let mut waiting = FuturesUnordered::new();
        let mut open = true;
        let mut blocked = false;
        std::future::poll_fn(|cx| loop {
            if let Some(work) = inline.as_mut().as_pin_mut() {
                backpressure::take();
                if work.poll(cx).is_ready() {
                    inline.set(None);
                    Self::finished_one(slots, cx);
                    blocked = false;
                } else {
                    // Waiting for room downstream: taking more events would not help.
                    blocked = backpressure::take();
                }
            }
            // An empty set is not polled: polling it would still register the waker.
            while !waiting.is_empty() {
                match waiting.poll_next_unpin(cx) {
                    Poll::Ready(_) => Self::finished_one(slots, cx),
                    Poll::Pending => break,
                }
            }
            if open && !blocked {
                // The loops of one actor run in one task, so checking and then counting is
                // not a race.
                let running = slots.running.load(Ordering::Relaxed);
                if running < limit {
                    match inbox.poll_recv(cx) {
                        Poll::Ready(Some(event)) => {
                            slots.running.store(running + 1, Ordering::Relaxed);
                            let work = run_one(event);
                            if inline.is_none() {
                                inline.set(Some(work));
                            } else {
                                waiting.push(Box::pin(work));
                            }
                            continue;
                        }
                        Poll::Ready(None) => open = false,
                        Poll::Pending => {}
                    }
                } else {
                    slots.starved.store(true, Ordering::Relaxed);
                }
            }
            return if !open && waiting.is_empty() && inline.is_none() {
                Poll::Ready(())
            } else {
                Poll::Pending
            };
        })
        .await
    }

    /// One event's handler run: in the event's span, with a failure or a panic turned into an
    /// error event on the actor's error outbox.
    ///
    /// Inlined into the serve loop, so that the future is built where it is kept instead of
    /// being copied there (callgrind: a second copy of the future per event otherwise).
    #[inline(always)]
    fn run_one<'a, T, H, F>(&'a self, handler: &H, event: Event<T>) -> impl Future<Output = ()> + 'a
    where
        H: Fn(Event<T>) -> F,
        F: Future<Output = Result<(), EventError>> + Send + 'a,
    {
        // The envelope stays here while the handler owns the event, so that a failure can still
        // be routed to whoever waits for this event.
        let envelope = event.keep_envelope();
        // Checking the global level first keeps a flow without any logging from paying for a
        // span per event. The span is at ERROR level so that a subscriber that takes only
        // warnings or errors still sees every record with its event's `meta_id`.
        let span = if tracing::level_filters::LevelFilter::current()
            > tracing::level_filters::LevelFilter::OFF
        {
            tracing::error_span!("event", meta_id = %envelope.meta_id())
        } else {
            tracing::Span::none()
        };
        // A panic while the handler builds its future is caught as well as one while it runs.
        let work = std::panic::catch_unwind(AssertUnwindSafe(|| handler(event)))
            .map(|future| AssertUnwindSafe(future).catch_unwind());
        async move {
            let outcome = match work {
                Ok(work) if span.is_disabled() => work.await,
                Ok(work) => work.instrument(span).await,
                Err(panic) => Err(panic),
            };
            let failure = match outcome {
                Ok(Ok(())) => return,
                Ok(Err(error)) => error,
                Err(panic) => {
                    let message = panic_message(panic.as_ref());
                    tracing::error!(actor = %self.name, meta_id = %envelope.meta_id(), panic = %message, "handler panicked");
                    EventError::internal(format!("actor `{}` panicked: {message}", self.name))
                }
            };
            tracing::debug!(actor = %self.name, meta_id = %envelope.meta_id(), error = %failure, "handler failed");
            let mut failed = envelope.with_data(AnyPayload::none());
            failed.set_error(failure);
            self.errors.send(failed).await;
        }
    }

    /// A handler finished: free its slot, and wake a loop of this actor that found none.
    fn finished_one(slots: &Slots, cx: &mut std::task::Context<'_>) {
        // Only this actor's task changes the count, so a load and a store do (no locked
        // read-modify-write on the hot path).
        let running = slots.running.load(Ordering::Relaxed);
        slots
            .running
            .store(running.saturating_sub(1), Ordering::Relaxed);
        if slots.starved.load(Ordering::Relaxed) {
            slots.starved.store(false, Ordering::Relaxed);
            // All loops of the actor share this task: waking it polls the starved one again.
            cx.waker().wake_by_ref();
        }
    }
}

/// `None` of the type a function returns (names a closure's future type for a slot).
fn no_output_of<A, R>(_: &impl Fn(A) -> R) -> Option<R> {
    None
}

/// The text of a panic payload.
pub(crate) fn panic_message(panic: &(dyn Any + Send)) -> String {
    if let Some(s) = panic.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = panic.downcast_ref::<String>() {
        s.clone()
    } else {
        "panic with a non-text payload".to_string()
    }
}

/// Options every actor takes, whatever its kind. When one is written twice
/// (`.with_concurrency(4).ordered()`), the last one wins; required attributes add up.
pub trait ActorExt: Actor {
    /// Handle up to `n` events at once (`1` means ordered).
    fn with_concurrency(self, n: usize) -> Configured<Self> {
        Configured::new(
            self,
            Settings {
                concurrency: Some(Concurrency::limit(n)),
                ..Settings::default()
            },
        )
    }

    /// Handle one event at a time, in arrival order.
    fn ordered(self) -> Configured<Self> {
        Configured::new(
            self,
            Settings {
                concurrency: Some(Concurrency::Ordered),
                ..Settings::default()
            },
        )
    }

    /// Try a failed event again as `policy` says (see [`crate::retry`]): each attempt sees its
    /// number in the attribute `attempt`, only the last failure goes to the error outbox, and
    /// the event is sent on once, after the attempt that succeeds.
    ///
    /// ```
    /// use std::time::Duration;
    /// use compysition::prelude::*;
    /// use compysition::retry::RetryPolicy;
    ///
    /// #[actor]
    /// async fn call_service(event: Event<String>) -> Result<Event<String>, EventError> {
    ///     let attempt = event.attribute("attempt").unwrap_or("1");
    ///     # let _ = attempt;
    ///     Ok(event)
    /// }
    ///
    /// let patient = call_service.retry(
    ///     RetryPolicy::attempts(3).backoff(Duration::from_millis(100), Duration::from_secs(5)).jitter(),
    /// );
    /// # let _ = patient;
    /// ```
    fn retry(self, policy: RetryPolicy) -> Configured<Self>
    where
        Self: Retryable,
        <Self as Retryable>::Input: Clone,
    {
        Configured::new(
            self,
            Settings {
                retry: Some(RetrySettings::new::<<Self as Retryable>::Input>(policy)),
                ..Settings::default()
            },
        )
    }

    /// Refuse events that lack any of `attributes` before a handler sees them: they go to the
    /// error outbox as `Malformed` (a `400` over HTTP), the message naming every missing one.
    ///
    /// ```
    /// use compysition::prelude::*;
    /// use compysition::actors::Stdout;
    ///
    /// let desk = Stdout::new().require(["order_id", "lane"]);
    /// # let _ = desk;
    /// ```
    fn require<I, S>(self, attributes: I) -> Configured<Self>
    where
        I: IntoIterator<Item = S>,
        S: Into<Arc<str>>,
    {
        Configured::new(
            self,
            Settings {
                required: attributes.into_iter().map(Into::into).collect(),
                ..Settings::default()
            },
        )
    }
}

impl<A: Actor> ActorExt for A {}

/// An actor with options set by [`ActorExt`].
pub struct Configured<A> {
    actor: A,
    settings: Settings,
}

/// What one [`ActorExt`] call set.
#[derive(Default)]
struct Settings {
    concurrency: Option<Concurrency>,
    retry: Option<Arc<RetrySettings>>,
    required: Vec<Arc<str>>,
}

impl<A> Configured<A> {
    fn new(actor: A, settings: Settings) -> Self {
        Configured { actor, settings }
    }
}

impl Settings {
    /// Makes these settings on `ctx`, except where a layer outside (written later) made them.
    fn apply(self, ctx: &mut Context) {
        if let Some(concurrency) = self.concurrency {
            if !ctx.overridden.concurrency {
                ctx.concurrency = concurrency;
                ctx.overridden.concurrency = true;
            }
        }
        if let Some(retry) = self.retry {
            if !ctx.overridden.retry {
                ctx.retry = Some(retry);
                ctx.overridden.retry = true;
            }
        }
        if !self.required.is_empty() {
            let mut required: Vec<Arc<str>> = ctx.required.to_vec();
            for name in self.required {
                if !required.contains(&name) {
                    required.push(name);
                }
            }
            ctx.required = required.into();
        }
    }
}

impl<A: Actor> Actor for Configured<A> {
    type Inboxes = A::Inboxes;
    type Outboxes = A::Outboxes;
    const ERROR_INBOX: bool = A::ERROR_INBOX;

    fn run(
        self,
        mut ctx: Context,
        inboxes: Self::Inboxes,
        outboxes: Self::Outboxes,
    ) -> impl Future<Output = ()> + Send {
        self.settings.apply(&mut ctx);
        self.actor.run(ctx, inboxes, outboxes)
    }
}

impl<A: TakesErrors> TakesErrors for Configured<A> {}

impl<A: Retryable> Retryable for Configured<A> {
    type Input = A::Input;
}

/// An actor made from an async function taking one event and returning one.
///
/// ```
/// use compysition::prelude::*;
///
/// let shout = from_fn(|event: Event<String>| async move {
///     Ok(event.map(|s| s.to_uppercase()))
/// });
/// # let _ = shout;
/// ```
pub fn from_fn<In, Out, F, Fut>(handler: F) -> FromFn<F, In, Out>
where
    In: Payload,
    Out: Payload,
    F: Fn(Event<In>) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<Event<Out>, EventError>> + Send,
{
    FromFn {
        handler,
        _types: std::marker::PhantomData,
    }
}

/// The actor [`from_fn`] makes.
pub struct FromFn<F, In, Out> {
    handler: F,
    _types: std::marker::PhantomData<fn(In) -> Out>,
}

impl<In, Out, F, Fut> Actor for FromFn<F, In, Out>
where
    In: Payload,
    Out: Payload,
    F: Fn(Event<In>) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<Event<Out>, EventError>> + Send,
{
    type Inboxes = Inbox<In>;
    type Outboxes = Outbox<Out>;

    async fn run(self, ctx: Context, inbox: Inbox<In>, outbox: Outbox<Out>) {
        let handler = &self.handler;
        let outbox = &outbox;
        let ctx = &ctx;
        ctx.serve(inbox, |event| async move {
            outbox.send(ctx.retrying(event, handler).await?).await;
            Ok(())
        })
        .await
    }
}

impl<In, Out, F, Fut> Retryable for FromFn<F, In, Out>
where
    In: Payload,
    Out: Payload,
    F: Fn(Event<In>) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<Event<Out>, EventError>> + Send,
{
    type Input = In;
}

/// A boxed future, for actors that need to name one.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;
