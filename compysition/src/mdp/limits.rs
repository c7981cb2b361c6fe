//! The range every setting of the Majordomo pieces is clamped to, in one place for all builders:
//! the bounds of [`zmtp::limits`](crate::zmtp::limits) for durations and message sizes, and
//! Majordomo's own for the heartbeat liveness and the smallest message.
//!
//! The pieces multiply the heartbeat interval by the liveness and add the result to instants;
//! with the largest interval and [`MAX_LIVENESS`] that is a thousand years, which an `Instant`
//! still holds.

use crate::zmtp::limits::MAX_MESSAGE_SIZE;
pub(crate) use crate::zmtp::limits::{duration, interval};

/// The most silent intervals a liveness setting counts.
pub(crate) const MAX_LIVENESS: u32 = 1000;
/// The smallest message size limit: room for MDP's own frames and a few endpoints.
pub(crate) const MIN_MESSAGE_SIZE: usize = 1024;

/// A liveness: from 1 to [`MAX_LIVENESS`] intervals.
pub(crate) fn liveness(liveness: u32) -> u32 {
    liveness.clamp(1, MAX_LIVENESS)
}

/// A message size limit: from [`MIN_MESSAGE_SIZE`] to the largest a ZMTP socket takes.
pub(crate) fn message_size(octets: usize) -> usize {
    octets.clamp(MIN_MESSAGE_SIZE, MAX_MESSAGE_SIZE)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn the_largest_settings_leave_room_for_the_arithmetic_done_with_them() {
        let lifetime = interval(Duration::MAX) * liveness(u32::MAX);
        let now = tokio::time::Instant::now();
        assert!(now.checked_add(lifetime).is_some());
        assert!(now.checked_add(duration(Duration::MAX)).is_some());
        let size = message_size(usize::MAX);
        assert!(size.checked_add(size).is_some());
        assert_eq!(liveness(0), 1);
        assert_eq!(message_size(0), MIN_MESSAGE_SIZE);
    }
}
