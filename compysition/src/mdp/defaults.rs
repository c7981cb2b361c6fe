//! The defaults the Majordomo pieces share: brokers, clients, workers and the registration
//! service must agree on the heartbeat, and a client or worker takes by default the largest
//! message a broker sends.

use std::time::Duration;

/// The heartbeat interval 7/MDP peers agree on by default.
pub const DEFAULT_HEARTBEAT_INTERVAL: Duration = Duration::from_millis(2500);
/// How many heartbeat intervals may pass in silence before a peer counts as gone.
pub const DEFAULT_LIVENESS: u32 = 3;
/// The largest message (all frames together) a broker accepts by default: 16 MiB.
pub const DEFAULT_MAX_MESSAGE_SIZE: usize = 16 * 1024 * 1024;
