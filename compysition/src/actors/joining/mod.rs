//! Joining: actors that bring events together, or take one apart and put it back.
//!
//! - [`Join`] waits for one event per inbox with the same `meta_id` and merges them.

mod join;

pub use join::{
    Join, JoinInboxes, JoinStats, Mergeable, DEFAULT_JOIN_TIMEOUT, DEFAULT_MAX_OPEN_GROUPS,
    DEFAULT_MAX_REMEMBERED,
};
