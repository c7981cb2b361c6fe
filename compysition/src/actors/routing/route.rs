//! Routes: [`RouteSet`], the named outboxes of a [`Router`](crate::actors::Router), and
//! [`Route`], one of them as the router's rules name it.
//!
//! A route set is declared with `routes!` (`routes!(pub Lanes: Xml { express, standard })`),
//! which makes it an outbox set like the ports of an `#[actor]` struct — so that
//! `router.express -> …` in `topology!` is checked by the compiler — and gives it one
//! [`Route`] constant per route (`Lanes::express`).

use std::fmt;
use std::marker::PhantomData;

use crate::payload::Payload;
use crate::port::{Outbox, OutboxSet};

/// The routes of a router: an outbox set of one payload type whose outboxes are known by index.
///
/// Declare one with `routes!`; it writes this impl. By hand, `ROUTES` lists the outboxes in the
/// order of the set's [`specs`](OutboxSet::specs), and `outbox(i)` is the `i`-th of them.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a set of routes",
    label = "a router's outboxes are a route set",
    note = "declare one with `routes!(Name: Payload {{ route, … }})`"
)]
pub trait RouteSet: OutboxSet + Sync {
    /// The payload every route carries (the router's input too).
    type Payload: Payload;
    /// The routes' names, in the order of their indices (at most 64).
    const ROUTES: &'static [&'static str];
    /// The outbox of the route at `index`, if there is one.
    fn outbox(&self, index: usize) -> Option<&Outbox<Self::Payload>>;
}

/// One route of the set `R`, as a router's rules name it: `OrderLanes::express`.
///
/// `routes!` makes one constant per route; the type keeps a route of one set out of the rules
/// of a router for another.
pub struct Route<R> {
    index: usize,
    _set: PhantomData<fn() -> R>,
}

impl<R> Route<R> {
    /// The route at `index` of `R::ROUTES` (what `routes!` writes for each route; for
    /// hand-written sets).
    pub const fn new(index: usize) -> Self {
        Route {
            index,
            _set: PhantomData,
        }
    }

    /// The route's index in its set.
    pub fn index(self) -> usize {
        self.index
    }
}

impl<R: RouteSet> Route<R> {
    /// The route's name (`"?"` for an index the set does not have).
    pub fn name(self) -> &'static str {
        R::ROUTES.get(self.index).copied().unwrap_or("?")
    }
}

impl<R> Clone for Route<R> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<R> Copy for Route<R> {}

impl<R> PartialEq for Route<R> {
    fn eq(&self, other: &Self) -> bool {
        self.index == other.index
    }
}

impl<R> Eq for Route<R> {}

impl<R: RouteSet> fmt::Debug for Route<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Route({})", self.name())
    }
}
