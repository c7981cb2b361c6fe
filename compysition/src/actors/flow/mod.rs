//! Flow control: actors that pace the events behind them, by holding their inbox back
//! (backpressure) or, when told to, by refusing what exceeds the pace (`TooManyRequests`).
//!
//! - [`RateLimiter`]: a token bucket, events a second with bursts.
//! - [`FlowController`]: at most so many events in flight, released by a completion edge.

mod in_flight;
mod rate_limit;

pub use in_flight::{
    FlowController, FlowControllerInboxRefs, FlowControllerInboxes, FlowControllerOutboxRefs,
    FlowControllerOutboxes, FlowStats, DEFAULT_LEASE_TIMEOUT, DEFAULT_MAX_IN_FLIGHT,
};
pub use rate_limit::{RateLimiter, DEFAULT_BURST, MIN_RATE};
