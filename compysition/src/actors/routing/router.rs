//! [`Router`]: the content-based router (the Python project's `EventRouter` and
//! `SimpleRouter`; Camel's `choice().when(…).otherwise()`, Redpanda Connect's `switch`).
//!
//! Each rule pairs a [`Filter`] with a route of the router's [`RouteSet`]. An event goes to the
//! first route whose filter matches ([`Router::first_match`]) or to every one
//! ([`Router::every_match`], a copy each, as the Python router did); to the
//! [`otherwise`](Router::otherwise) route when none does; and, with no `otherwise`, to the
//! error outbox as not found (`ErrorKind::NotFound`, a 404 over HTTP), counted in
//! [`RouterStats::unmatched`]. No event is dropped without a trace.

use std::fmt;
use std::marker::PhantomData;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use super::filter::Filter;
use super::route::{Route, RouteSet};
use crate::actor::{Actor, Context};
use crate::error::EventError;
use crate::event::Event;
use crate::pool::{CpuPool, INLINE_UP_TO};
use crate::port::Inbox;

/// Sends each event on the routes whose rules it matches.
///
/// The routes are the outboxes of a set declared with `routes!`; the rules name them by its
/// constants, and `topology!` wires them by name (`router.express -> …`, checked at compile
/// time). Rules are tried in the order they were added.
///
/// ```
/// use compysition::prelude::*;
/// use compysition::actors::{EventGenerator, Null, Router};
/// use compysition::routing::Filter;
///
/// routes! {
///     /// Where an order goes.
///     pub Lanes: String { express, bulk, standard }
/// }
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), compysition::Error> {
/// let router = Router::<Lanes>::first_match()
///     .route(Lanes::express, Filter::payload("^express")?)
///     .route(Lanes::bulk, Filter::attribute("quantity", "^[0-9]{3,}$")?)
///     .otherwise(Lanes::standard);
/// let stats = router.stats();
///
/// let topology = topology! {
///     orders  = EventGenerator::once("express: 3 widgets".to_string());
///     router  = router;
///     fast    = Null::<String>::new();
///     trucks  = Null::<String>::new();
///     regular = Null::<String>::new();
///
///     orders -> router;
///     router.express -> fast;
///     router.bulk -> trucks;
///     router.standard -> regular;
/// };
/// topology.run().await?;
/// assert_eq!(stats.routed(Lanes::express), 1);
/// # Ok(())
/// # }
/// ```
///
/// A rule whose route is not connected is left out when the router starts (logged as a
/// warning), as is an `otherwise` route that is not: an event then goes where it would if the
/// route were not declared. A filter that fails on an event (an XPath that cannot be evaluated
/// on its document) sends the event to the error outbox with that error, counted in
/// [`RouterStats::failed`]. Filters that parse large documents (XPath on more than
/// [`INLINE_UP_TO`] octets) run on the [`CpuPool`], so that they do not hold up the async
/// workers.
pub struct Router<R: RouteSet> {
    mode: Mode,
    rules: Vec<Rule<R::Payload>>,
    otherwise: Option<usize>,
    stats: RouterStats<R>,
}

/// How many of the matching routes get the event.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Mode {
    First,
    Every,
}

struct Rule<T> {
    route: usize,
    filter: Filter<T>,
    /// Made by [`Router::by_service`] / [`Router::by_attribute`] for the route's name: left
    /// out when the route becomes the `otherwise` route.
    by_name: bool,
}

impl<T> Clone for Rule<T> {
    fn clone(&self) -> Self {
        Rule {
            route: self.route,
            filter: self.filter.clone(),
            by_name: self.by_name,
        }
    }
}

impl<R: RouteSet> Router<R> {
    fn with_mode(mode: Mode) -> Self {
        Router {
            mode,
            rules: Vec::new(),
            otherwise: None,
            stats: RouterStats::new(),
        }
    }

    /// A router that sends each event to the first route whose rule matches (Camel's `choice`,
    /// Redpanda Connect's `switch`).
    pub fn first_match() -> Self {
        Self::with_mode(Mode::First)
    }

    /// A router that sends each event to every route whose rule matches, a copy each (the
    /// Python `EventRouter`; Redpanda Connect's `switch` with `continue: true`). A route that
    /// several rules match gets one copy.
    pub fn every_match() -> Self {
        Self::with_mode(Mode::Every)
    }

    /// The Python `SimpleRouter` on the service: each event goes to the route named exactly
    /// like its service (`/express` → `service` `express` → route `express`). Add
    /// [`otherwise`](Self::otherwise) for the others.
    pub fn by_service() -> Self {
        Self::by_name(Filter::service_is)
    }

    /// [`by_service`](Self::by_service) on the attribute `name`: each event goes to the route
    /// named exactly like that attribute's value.
    pub fn by_attribute(name: &str) -> Self {
        Self::by_name(|route| Filter::attribute_is(name, route))
    }

    fn by_name(filter: impl Fn(&str) -> Filter<R::Payload>) -> Self {
        let mut router = Self::first_match();
        router.rules = R::ROUTES
            .iter()
            .enumerate()
            .map(|(route, name)| Rule {
                route,
                filter: filter(name),
                by_name: true,
            })
            .collect();
        router
    }

    /// Adds a rule: events that `filter` matches go to `route`.
    pub fn route(mut self, route: Route<R>, filter: Filter<R::Payload>) -> Self {
        self.rules.push(Rule {
            route: route.index(),
            filter,
            by_name: false,
        });
        self
    }

    /// Where the events that match no rule go (instead of the error outbox, as not found).
    pub fn otherwise(mut self, route: Route<R>) -> Self {
        let index = route.index();
        self.rules
            .retain(|rule| !(rule.by_name && rule.route == index));
        self.otherwise = Some(index);
        self
    }

    /// The router's counters, readable while it runs (take them before the router goes into
    /// the topology).
    pub fn stats(&self) -> RouterStats<R> {
        self.stats.clone()
    }
}

impl<R: RouteSet> fmt::Debug for Router<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = |index: usize| R::ROUTES.get(index).copied().unwrap_or("?");
        let rules: Vec<String> = self
            .rules
            .iter()
            .map(|rule| format!("{} <- {:?}", name(rule.route), rule.filter))
            .collect();
        f.debug_struct("Router")
            .field("mode", &self.mode)
            .field("rules", &rules)
            .field("otherwise", &self.otherwise.map(name))
            .finish()
    }
}

/// The routes an event goes to, one bit per route index (a route set has at most 64).
type Targets = u64;

fn bit(route: usize) -> Targets {
    1 << route
}

/// The rules of a running router: those whose routes are connected.
struct Plan<T> {
    mode: Mode,
    rules: Vec<Rule<T>>,
    otherwise: Option<usize>,
}

impl<T: Send + Sync + 'static> Plan<T> {
    /// The rules whose routes exist and are connected; the others are logged and left out.
    fn new<R: RouteSet<Payload = T>>(router: &Router<R>, routes: &R, actor: &str) -> Self {
        let connected = |route: usize| {
            route < Targets::BITS as usize
                && routes
                    .outbox(route)
                    .is_some_and(|outbox| outbox.is_connected())
        };
        let name = |route: usize| R::ROUTES.get(route).copied().unwrap_or("?");
        let rules = router
            .rules
            .iter()
            .filter(|rule| {
                let usable = connected(rule.route);
                // Rules made for every route name are left out quietly: not every name need be
                // wired.
                if !usable && !rule.by_name {
                    let route = name(rule.route);
                    tracing::warn!(
                        actor,
                        route,
                        "a rule's route is not connected; the rule is left out"
                    );
                }
                usable
            })
            .cloned()
            .collect();
        let otherwise = router.otherwise.filter(|&route| {
            let usable = connected(route);
            if !usable {
                let route = name(route);
                tracing::warn!(
                    actor,
                    route,
                    "the otherwise route is not connected; it is left out"
                );
            }
            usable
        });
        Plan {
            mode: router.mode,
            rules,
            otherwise,
        }
    }

    /// The routes `event` goes to (none: not found).
    fn targets(&self, event: &Event<T>) -> Result<Targets, EventError> {
        let mut targets: Targets = 0;
        for rule in &self.rules {
            if targets & bit(rule.route) != 0 {
                continue; // going there already: no need to evaluate
            }
            if rule.filter.matches(event)? {
                targets |= bit(rule.route);
                if self.mode == Mode::First {
                    break;
                }
            }
        }
        if targets == 0 {
            if let Some(route) = self.otherwise {
                targets = bit(route);
            }
        }
        Ok(targets)
    }

    /// How much CPU work finding the targets may cost (see `Filter::weight`).
    fn weight(&self, event: &Event<T>) -> usize {
        self.rules
            .iter()
            .map(|rule| rule.filter.weight(event))
            .fold(0, usize::saturating_add)
    }
}

impl<R> Actor for Router<R>
where
    R: RouteSet,
    R::Payload: Clone,
{
    type Inboxes = Inbox<R::Payload>;
    type Outboxes = R;

    async fn run(self, ctx: Context, inbox: Inbox<R::Payload>, routes: R) {
        let plan = Arc::new(Plan::new(&self, &routes, ctx.name()));
        let (ctx, routes, stats) = (&ctx, &routes, &self.stats);
        let pool = &CpuPool::per_cpu();
        let plan = &plan;
        ctx.serve(inbox, |event: Event<R::Payload>| async move {
            let targets = if plan.weight(&event) <= INLINE_UP_TO {
                plan.targets(&event)
            } else {
                let (plan, copy) = (Arc::clone(plan), event.clone());
                pool.run(move || plan.targets(&copy)).await
            };
            match targets {
                Ok(0) => {
                    stats.counters.unmatched.fetch_add(1, Ordering::Relaxed);
                    let error = EventError::not_found(format!(
                        "no route of `{}` matches the event",
                        ctx.name()
                    ));
                    ctx.fail(event, error).await;
                }
                Ok(targets) => send(routes, stats, event, targets).await,
                Err(error) => {
                    stats.counters.failed.fetch_add(1, Ordering::Relaxed);
                    ctx.fail(event, error).await;
                }
            }
            Ok(())
        })
        .await
    }
}

/// Sends `event` on every route of `targets`: a copy each, the original to the last.
async fn send<R>(routes: &R, stats: &RouterStats<R>, event: Event<R::Payload>, targets: Targets)
where
    R: RouteSet,
    R::Payload: Clone,
{
    let mut event = Some(event);
    let mut remaining = targets;
    while remaining != 0 {
        let route = remaining.trailing_zeros() as usize;
        remaining &= remaining - 1;
        let copy = if remaining == 0 {
            event.take()
        } else {
            event.clone()
        };
        // The plan holds only routes the set has.
        if let (Some(outbox), Some(copy)) = (routes.outbox(route), copy) {
            if let Some(count) = stats.counters.routed.get(route) {
                count.fetch_add(1, Ordering::Relaxed);
            }
            outbox.send(copy).await;
        }
    }
}

/// Counters of one [`Router`], readable while it runs.
pub struct RouterStats<R> {
    counters: Arc<Counters>,
    _set: PhantomData<fn() -> R>,
}

struct Counters {
    routed: Box<[AtomicU64]>,
    unmatched: AtomicU64,
    failed: AtomicU64,
}

impl<R: RouteSet> RouterStats<R> {
    fn new() -> Self {
        RouterStats {
            counters: Arc::new(Counters {
                routed: R::ROUTES.iter().map(|_| AtomicU64::new(0)).collect(),
                unmatched: AtomicU64::new(0),
                failed: AtomicU64::new(0),
            }),
            _set: PhantomData,
        }
    }

    /// Events sent on `route` (each copy of an `every_match` router counts on its route).
    pub fn routed(&self, route: Route<R>) -> u64 {
        self.counters
            .routed
            .get(route.index())
            .map_or(0, |count| count.load(Ordering::Relaxed))
    }

    /// Events that matched no rule, with no `otherwise` route: sent to the error outbox as not
    /// found.
    pub fn unmatched(&self) -> u64 {
        self.counters.unmatched.load(Ordering::Relaxed)
    }

    /// Events a filter failed on: sent to the error outbox with the filter's error.
    pub fn failed(&self) -> u64 {
        self.counters.failed.load(Ordering::Relaxed)
    }
}

impl<R> Clone for RouterStats<R> {
    fn clone(&self) -> Self {
        RouterStats {
            counters: Arc::clone(&self.counters),
            _set: PhantomData,
        }
    }
}

impl<R: RouteSet> fmt::Debug for RouterStats<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut out = f.debug_struct("RouterStats");
        for (name, count) in R::ROUTES.iter().zip(self.counters.routed.iter()) {
            out.field(name, &count.load(Ordering::Relaxed));
        }
        out.field("unmatched", &self.unmatched())
            .field("failed", &self.failed())
            .finish()
    }
}
