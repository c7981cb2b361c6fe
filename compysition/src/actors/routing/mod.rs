//! Routing: the content-based [`Router`], the [`Filter`]s its rules test events with, and the
//! [`RouteSet`]s (declared with `routes!`) whose named outboxes are its routes.
//!
//! The router is public at `compysition::actors::Router`; the rest at `compysition::routing`.

mod filter;
mod route;
mod router;

pub use filter::{Filter, JsonTest, PayloadText};
pub use route::{Route, RouteSet};
pub use router::{Router, RouterStats};

#[cfg(test)]
mod tests;
