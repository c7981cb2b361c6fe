//! The limits every ZMTP connection reads under, and the range the settings of the sockets'
//! users (timeouts, message sizes) are clamped to.
//!
//! The wire limits bound what a peer can make us hold: a command and the number of frames in a
//! message are bounded here, a message's size by its socket's `max_message`, and all of them
//! are checked on the frame header, before the body arrives.
//!
//! A caller may well say `Duration::MAX` or `usize::MAX` to mean "never" or "no limit". The
//! sockets' users add durations to instants and frame lengths to offsets; with such values
//! these overflow, which panics (or, for sizes in a release build, wraps). Clamping where a
//! setting enters keeps that arithmetic in range without checks on the per-message path, and
//! the bounds are far past anything useful: a year is "never" for a timeout, and a 4 GiB
//! message is more than one connection should ever hold.

use std::time::Duration;

/// The largest command accepted. Commands are short (READY carries a few properties, PING at
/// most 22 octets); only a hostile peer sends a long one.
pub(crate) const MAX_COMMAND: usize = 16 * 1024;
/// The most frames one message may have.
pub(crate) const MAX_FRAMES: usize = 4096;

/// How long a new connection to a listening socket may take for its greeting and READY, by
/// default.
pub(crate) const DEFAULT_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// How many handshakes a listening socket runs at once, by default. Past it, a new connection
/// takes the place of the oldest pending one, which is closed: silent connections cannot keep
/// newer peers out, however many there are. A pending handshake holds at most its greeting and
/// a READY of [`MAX_COMMAND`] octets, so these take at most about 17 MiB together.
pub(crate) const DEFAULT_MAX_HANDSHAKES: usize = 1024;
/// How much memory the unfinished (partly received) messages of all connections of a listening
/// socket may take, by default: 128 MiB, eight messages of the default 16 MiB limit of the
/// Majordomo broker arriving at once. Past it the connection holding the most is closed.
pub(crate) const DEFAULT_MAX_UNFINISHED: usize = 128 * 1024 * 1024;

/// The longest duration a setting takes: one year.
pub(crate) const MAX_DURATION: Duration = Duration::from_secs(365 * 24 * 60 * 60);
/// The shortest interval (heartbeats, timeouts): a timer of zero would spin.
pub(crate) const MIN_INTERVAL: Duration = Duration::from_millis(1);
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_largest_settings_leave_room_for_the_arithmetic_done_with_them() {
        let now = tokio::time::Instant::now();
        assert!(now.checked_add(interval(Duration::MAX)).is_some());
        assert!(now.checked_add(duration(Duration::MAX)).is_some());
        assert!(MAX_MESSAGE_SIZE.checked_add(MAX_MESSAGE_SIZE).is_some());
        assert_eq!(interval(Duration::ZERO), MIN_INTERVAL);
        assert_eq!(duration(Duration::ZERO), Duration::ZERO);
    }
}
