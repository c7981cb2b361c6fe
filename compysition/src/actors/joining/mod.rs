//! Joining: actors that bring events together, or take one apart and put it back.
//!
//! - [`Join`] waits for one event per inbox with the same `meta_id` and merges them.
//! - [`Splitter`] makes one event per item of a JSON array or per element an XPath selects; [`Aggregator`] puts pieces back
//!   together, or batches events by count and time.

mod aggregate;
mod join;
mod split;

pub use aggregate::{
    Aggregator, DEFAULT_AGGREGATE_TIMEOUT, DEFAULT_MAX_OPEN_SPLITS, DEFAULT_MAX_PIECES,
};
pub use split::{Splitter, SPLIT_COUNT, SPLIT_INDEX};

pub use join::{
    Join, JoinInboxes, JoinStats, Mergeable, DEFAULT_JOIN_TIMEOUT, DEFAULT_MAX_OPEN_GROUPS,
    DEFAULT_MAX_REMEMBERED,
};
