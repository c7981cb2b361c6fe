//! The server's table of open connections: the connection limit, and the deadlines every
//! connection lives under.
//!
//! A connection must send a complete request head within the header timeout of being accepted,
//! whatever its protocol (the bytes that tell HTTP/1.1 from HTTP/2 included), and may stay idle
//! (open without a request in flight) for the idle timeout at most. At the connection limit a
//! new connection takes the seat of the one idle the longest (a socket that never sent a
//! complete head counts as idle since it was accepted, and so does one still sending a request's
//! body): refusing the newcomer instead would let whoever holds the seats keep every other
//! client out. Connections with a whole request in the flow are never evicted; a newcomer that
//! finds every seat so busy is closed.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::sync::Notify;
use tokio::time::Instant;

/// The deadlines of a connection without a request in flight.
#[derive(Clone, Copy, Debug)]
pub(super) struct Timeouts {
    /// From accept to the first complete request head.
    pub(super) header: Duration,
    /// From the end of the last request to the next request head.
    pub(super) idle: Duration,
}

/// The open connections of one server.
pub(super) struct Connections {
    open: Mutex<HashMap<u64, Arc<Seat>>>,
    next_id: AtomicU64,
    limit: usize,
    /// What `Seat::last_active` counts from.
    epoch: Instant,
}

/// What the table knows of one connection.
pub(super) struct Seat {
    id: u64,
    /// Milliseconds from the table's epoch to when it was accepted or last finished a request.
    last_active: AtomicU64,
    in_flight: AtomicU32,
    /// Requests in flight whose body has arrived: the flow works on them, and the connection
    /// keeps its seat. One still sending its body can be made to give it up.
    working: AtomicU32,
    /// Whether a complete request head ever arrived.
    served: AtomicBool,
    evicted: Notify,
    /// Told when a request ends, so that the connection's task moves its deadline.
    request_ended: Notify,
    epoch: Instant,
}

/// Why a connection's task should end now.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Expiry {
    /// No complete request head within the header timeout of the accept.
    NoHead,
    /// Idle longer than the idle timeout.
    Idle,
}

impl Connections {
    pub(super) fn new(limit: usize) -> Self {
        Connections {
            open: Mutex::new(HashMap::new()),
            next_id: AtomicU64::new(0),
            limit: limit.max(1),
            epoch: Instant::now(),
        }
    }

    /// Seats a newly accepted connection, evicting the connection idle the longest when the
    /// table is full. `None`: every seat has a request in flight, and the newcomer is refused.
    pub(super) fn admit(&self) -> Option<Admission> {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let seat = Arc::new(Seat {
            id,
            last_active: AtomicU64::new(millis_since(self.epoch, Instant::now())),
            in_flight: AtomicU32::new(0),
            working: AtomicU32::new(0),
            served: AtomicBool::new(false),
            evicted: Notify::new(),
            request_ended: Notify::new(),
            epoch: self.epoch,
        });
        let mut open = self.open.lock().unwrap_or_else(PoisonError::into_inner);
        let mut evicted = false;
        if open.len() >= self.limit {
            let victim = open
                .values()
                .filter(|seat| seat.working.load(Ordering::Acquire) == 0)
                .min_by_key(|seat| seat.last_active.load(Ordering::Relaxed))
                .map(|seat| seat.id);
            let victim = victim.and_then(|id| open.remove(&id))?;
            // A permit is stored if its task is not waiting yet: it ends at its next poll.
            victim.evicted.notify_one();
            evicted = true;
        }
        open.insert(id, Arc::clone(&seat));
        Some(Admission { seat, evicted })
    }

    /// Gives the connection's seat back; called when its task ends.
    pub(super) fn release(&self, seat: &Seat) {
        let mut open = self.open.lock().unwrap_or_else(PoisonError::into_inner);
        open.remove(&seat.id);
    }

    /// Connections open now.
    #[cfg(test)]
    pub(super) fn len(&self) -> usize {
        self.open
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }
}

/// A connection just seated.
pub(super) struct Admission {
    pub(super) seat: Arc<Seat>,
    /// Whether another connection lost its seat to it.
    pub(super) evicted: bool,
}

impl Seat {
    /// Marks a request in flight until the guard is dropped.
    pub(super) fn start_request(self: &Arc<Self>) -> InFlight {
        self.served.store(true, Ordering::Relaxed);
        self.in_flight.fetch_add(1, Ordering::AcqRel);
        InFlight {
            seat: Arc::clone(self),
            working: AtomicBool::new(false),
        }
    }

    /// Resolves when the table gave this connection's seat to another one.
    pub(super) async fn evicted(&self) {
        self.evicted.notified().await;
    }

    /// Resolves when a request of the connection ended since the last call.
    pub(super) async fn request_ended(&self) {
        self.request_ended.notified().await;
    }

    /// When the connection should next be looked at: the moment it expires if it stays as it
    /// is, or one idle timeout from now while it has a request in flight (the request has a
    /// deadline of its own).
    pub(super) fn next_check(&self, timeouts: Timeouts, now: Instant) -> Instant {
        if self.in_flight.load(Ordering::Acquire) > 0 {
            return now + timeouts.idle;
        }
        self.last_active() + self.allowance(timeouts)
    }

    /// Whether the connection has outlived its deadline at `now`.
    pub(super) fn expiry(&self, timeouts: Timeouts, now: Instant) -> Option<Expiry> {
        if self.in_flight.load(Ordering::Acquire) > 0 {
            return None;
        }
        if now < self.last_active() + self.allowance(timeouts) {
            return None;
        }
        Some(if self.served.load(Ordering::Relaxed) {
            Expiry::Idle
        } else {
            Expiry::NoHead
        })
    }

    fn allowance(&self, timeouts: Timeouts) -> Duration {
        if self.served.load(Ordering::Relaxed) {
            timeouts.idle
        } else {
            timeouts.header
        }
    }

    fn last_active(&self) -> Instant {
        self.epoch + Duration::from_millis(self.last_active.load(Ordering::Relaxed))
    }
}

/// A request in flight on a connection: while it lives, the connection is not idle, and once
/// its body has arrived, not evictable either.
pub(super) struct InFlight {
    seat: Arc<Seat>,
    working: AtomicBool,
}

impl InFlight {
    /// The request's body has arrived: from now on the flow works on it.
    pub(super) fn body_received(&self) {
        if !self.working.swap(true, Ordering::Relaxed) {
            self.seat.working.fetch_add(1, Ordering::AcqRel);
        }
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        let seat = &self.seat;
        if self.working.load(Ordering::Relaxed) {
            seat.working.fetch_sub(1, Ordering::AcqRel);
        }
        let now = millis_since(seat.epoch, Instant::now());
        seat.last_active.fetch_max(now, Ordering::Relaxed);
        seat.in_flight.fetch_sub(1, Ordering::AcqRel);
        seat.request_ended.notify_one();
    }
}

fn millis_since(epoch: Instant, now: Instant) -> u64 {
    u64::try_from(now.saturating_duration_since(epoch).as_millis()).unwrap_or(u64::MAX)
}

/// The connection limit when none is configured: most of the process's file limit (its soft
/// `RLIMIT_NOFILE`), keeping an eighth and 32 more for everything else the process opens (the
/// flow's own sockets and files), so that the server's connections cannot exhaust it.
pub(super) fn default_connection_limit() -> usize {
    let files = open_file_limit().unwrap_or(FALLBACK_FILE_LIMIT);
    let limit = files.saturating_sub(files / 8).saturating_sub(32);
    limit.clamp(MIN_DEFAULT_LIMIT, MAX_DEFAULT_LIMIT)
}

/// The file limit assumed where it cannot be read (not Linux): the usual default soft limit.
const FALLBACK_FILE_LIMIT: usize = 1024;
/// The default limit never goes below this, however small the file limit.
const MIN_DEFAULT_LIMIT: usize = 16;
/// Nor above this, however large (a table this size is a few megabytes).
const MAX_DEFAULT_LIMIT: usize = 1 << 20;

/// The soft limit on open files, from `/proc/self/limits` (Linux), read without FFI.
fn open_file_limit() -> Option<usize> {
    let limits = std::fs::read_to_string("/proc/self/limits").ok()?;
    let line = limits
        .lines()
        .find(|line| line.starts_with("Max open files"))?;
    let soft = line
        .trim_start_matches("Max open files")
        .split_whitespace()
        .next()?;
    match soft {
        "unlimited" => Some(MAX_DEFAULT_LIMIT),
        number => number.parse().ok(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TIMEOUTS: Timeouts = Timeouts {
        header: Duration::from_secs(10),
        idle: Duration::from_secs(60),
    };

    #[test]
    fn at_the_limit_the_connection_idle_longest_gives_its_seat() {
        let table = Connections::new(2);
        let first = table.admit().expect("a free seat");
        let second = table.admit().expect("a free seat");
        assert!(!first.evicted && !second.evicted);
        // The first finishes a request later than the second was accepted: the second is now
        // the one idle the longest.
        std::thread::sleep(Duration::from_millis(5));
        drop(first.seat.start_request());
        let third = table.admit().expect("a seat taken from an idle connection");
        assert!(third.evicted);
        assert_eq!(table.len(), 2);
        let open = table.open.lock().unwrap_or_else(PoisonError::into_inner);
        assert!(open.contains_key(&first.seat.id) && !open.contains_key(&second.seat.id));
    }

    #[test]
    fn connections_with_a_request_in_the_flow_keep_their_seats() {
        let table = Connections::new(1);
        let busy = table.admit().expect("a free seat");
        let request = busy.seat.start_request();
        request.body_received();
        assert!(table.admit().is_none(), "the newcomer is refused");
        drop(request);
        assert!(table.admit().is_some_and(|admission| admission.evicted));
    }

    #[test]
    fn a_connection_still_sending_its_body_gives_up_its_seat() {
        let table = Connections::new(1);
        let trickling = table.admit().expect("a free seat");
        let _request = trickling.seat.start_request();
        assert!(table.admit().is_some_and(|admission| admission.evicted));
    }

    #[test]
    fn a_released_seat_is_free_again() {
        let table = Connections::new(1);
        let first = table.admit().expect("a free seat");
        table.release(&first.seat);
        assert!(table.admit().is_some_and(|admission| !admission.evicted));
    }

    #[test]
    fn deadlines_follow_the_connection_state() {
        let table = Connections::new(4);
        let seat = table.admit().expect("a free seat").seat;
        let accepted = seat.last_active();
        assert_eq!(
            seat.next_check(TIMEOUTS, accepted),
            accepted + TIMEOUTS.header
        );
        assert_eq!(
            seat.expiry(TIMEOUTS, accepted + TIMEOUTS.header),
            Some(Expiry::NoHead)
        );
        let request = seat.start_request();
        assert_eq!(seat.expiry(TIMEOUTS, accepted + TIMEOUTS.idle * 2), None);
        drop(request);
        let finished = seat.last_active();
        assert_eq!(seat.expiry(TIMEOUTS, finished + TIMEOUTS.header), None);
        assert_eq!(
            seat.expiry(TIMEOUTS, finished + TIMEOUTS.idle),
            Some(Expiry::Idle)
        );
    }

    #[test]
    fn the_default_limit_leaves_room_under_the_file_limit() {
        let limit = default_connection_limit();
        assert!(limit >= MIN_DEFAULT_LIMIT);
        if let Some(files) = open_file_limit() {
            assert!(
                limit < files || limit == MIN_DEFAULT_LIMIT,
                "{limit} of {files}"
            );
        }
    }
}
