//! The range every setting of the Majordomo pieces is clamped to, in one place for all builders.
//!
//! A caller may well say `Duration::MAX` or `usize::MAX` to mean "never" or "no limit". The
//! pieces add durations to instants, multiply the heartbeat interval by the liveness and add
//! frame lengths to offsets; with such values all of these overflow, which panics (or, for
//! sizes in a release build, wraps). Clamping where a setting enters keeps that arithmetic in
//! range without checks on the per-message path, and the bounds are far past anything useful:
//! a year is "never" for a heartbeat or a deadline, and a 4 GiB message is more than one
//! connection should ever hold.

use std::time::Duration;

/// The longest duration a setting takes: one year.
pub(crate) const MAX_DURATION: Duration = Duration::from_secs(365 * 24 * 60 * 60);
/// The shortest interval (heartbeats, timeouts): a timer of zero would spin.
pub(crate) const MIN_INTERVAL: Duration = Duration::from_millis(1);
/// The most silent intervals a liveness setting counts. With [`MAX_DURATION`] that is a
/// thousand years, which an `Instant` still holds.
pub(crate) const MAX_LIVENESS: u32 = 1000;
/// The smallest message size limit: room for MDP's own frames and a few endpoints.
pub(crate) const MIN_MESSAGE_SIZE: usize = 1024;
/// The largest message size limit: 4 GiB (a quarter of the address space where `usize` is
/// narrower), so that a frame's header length added to its body length cannot overflow.
pub(crate) const MAX_MESSAGE_SIZE: usize = if usize::BITS >= 64 {
    (1u64 << 32) as usize
} else {
    usize::MAX / 4
};

/// A duration that may be zero (a delay, an expiry), at most [`MAX_DURATION`].
pub(crate) fn duration(duration: Duration) -> Duration {
    duration.min(MAX_DURATION)
}

/// An interval or a timeout: from [`MIN_INTERVAL`] to [`MAX_DURATION`].
pub(crate) fn interval(interval: Duration) -> Duration {
    interval.clamp(MIN_INTERVAL, MAX_DURATION)
}

/// A liveness: from 1 to [`MAX_LIVENESS`] intervals.
pub(crate) fn liveness(liveness: u32) -> u32 {
    liveness.clamp(1, MAX_LIVENESS)
}

/// A message size limit: from [`MIN_MESSAGE_SIZE`] to [`MAX_MESSAGE_SIZE`].
pub(crate) fn message_size(octets: usize) -> usize {
    octets.clamp(MIN_MESSAGE_SIZE, MAX_MESSAGE_SIZE)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_largest_settings_leave_room_for_the_arithmetic_done_with_them() {
        let lifetime = interval(Duration::MAX) * liveness(u32::MAX);
        let now = tokio::time::Instant::now();
        assert!(now.checked_add(lifetime).is_some());
        assert!(now.checked_add(duration(Duration::MAX)).is_some());
        let size = message_size(usize::MAX);
        assert!(size.checked_add(size).is_some());
        assert_eq!(interval(Duration::ZERO), MIN_INTERVAL);
        assert_eq!(liveness(0), 1);
        assert_eq!(message_size(0), MIN_MESSAGE_SIZE);
    }
}
