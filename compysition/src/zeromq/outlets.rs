//! [`Outlets`]: the peers a sending connector (PUSH, PUB) sends to, each with a bounded queue
//! of its own — the high-water mark — that the peer's connection task writes out; and
//! [`drive`], that task's loop.
//!
//! The actor hands messages to the queues without waiting on any peer: a PUSH offers each
//! message to the next peer in turn that has room (and, when none has, waits for room before
//! it takes the next event from its inbox), a PUB gives every matching peer a copy and drops
//! it for a peer whose queue is full. A connection takes from its queue only while what it has
//! not yet written stays under [`SEND_BUFFER`], so a slow peer holds at most its queue and that
//! much: nothing grows without bound.

use std::io;
use std::pin::pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::Poll;

use bytes::Bytes;
use tokio::sync::mpsc::error::TrySendError;
use tokio::sync::{mpsc, Notify};

use super::frames::Frames;
use super::stats::ZmqStats;
use crate::zmtp::link::{Link, Received};

/// Octets a connection may hold unwritten (taken from its queue, not yet by the kernel) before
/// it takes no more messages from its queue.
const SEND_BUFFER: usize = 256 * 1024;

/// The peers of a sending connector; `S` is what the connector keeps per peer (a PUB its
/// subscriptions).
pub(crate) struct Outlets<S> {
    list: Mutex<List<S>>,
    /// Told when a peer joins or leaves and when a queue has room again.
    changed: Notify,
}

struct List<S> {
    outlets: Vec<Outlet<S>>,
    next_id: u64,
    /// Where the next round-robin turn starts.
    cursor: usize,
    /// The connector is stopping: no new peer, queues closed.
    closed: bool,
}

struct Outlet<S> {
    id: u64,
    queue: mpsc::Sender<Frames>,
    state: S,
}

/// A peer's place among the outlets, given up when dropped (however its task ends).
pub(crate) struct Joined<S> {
    outlets: Arc<Outlets<S>>,
    id: u64,
}

impl<S> Drop for Joined<S> {
    fn drop(&mut self) {
        self.outlets
            .lock()
            .outlets
            .retain(|outlet| outlet.id != self.id);
        self.outlets.changed.notify_waiters();
    }
}

impl<S> Outlets<S> {
    pub(crate) fn new() -> Arc<Self> {
        Arc::new(Outlets {
            list: Mutex::new(List {
                outlets: Vec::new(),
                next_id: 0,
                cursor: 0,
                closed: false,
            }),
            changed: Notify::new(),
        })
    }

    fn lock(&self) -> MutexGuard<'_, List<S>> {
        self.list
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// A new peer with a queue of `capacity` messages (at least one), unless the connector
    /// is stopping.
    pub(crate) fn join(
        self: &Arc<Self>,
        state: S,
        capacity: usize,
    ) -> Option<(Joined<S>, mpsc::Receiver<Frames>)> {
        let (queue, taken) = mpsc::channel(capacity.max(1));
        let mut list = self.lock();
        if list.closed {
            return None;
        }
        let id = list.next_id;
        list.next_id += 1;
        list.outlets.push(Outlet { id, queue, state });
        drop(list);
        self.changed.notify_waiters();
        let joined = Joined {
            outlets: Arc::clone(self),
            id,
        };
        Some((joined, taken))
    }

    /// Offers `message` to the peers in turn, from the one after the last that took one;
    /// gives it back when none has room (or there is none).
    pub(crate) fn round_robin(&self, mut message: Frames) -> Result<(), Frames> {
        let mut list = self.lock();
        let count = list.outlets.len();
        for turn in 0..count {
            let index = (list.cursor + turn) % count;
            match list.outlets[index].queue.try_send(message) {
                Ok(()) => {
                    list.cursor = (index + 1) % count;
                    return Ok(());
                }
                Err(TrySendError::Full(back) | TrySendError::Closed(back)) => message = back,
            }
        }
        Err(message)
    }

    /// Waits until a peer takes `message` (round robin), for as long as it takes.
    pub(crate) async fn send_waiting(&self, mut message: Frames) {
        loop {
            // Registered before trying, so that room made between the try and the wait wakes it.
            let mut changed = pin!(self.changed.notified());
            changed.as_mut().enable();
            match self.round_robin(message) {
                Ok(()) => return,
                Err(back) => message = back,
            }
            changed.await;
        }
    }

    /// Gives a copy of `message` to every peer `wants`, dropping (and counting) it for a peer
    /// whose queue is full.
    pub(crate) fn publish(&self, message: &Frames, wants: impl Fn(&S) -> bool, stats: &ZmqStats) {
        let list = self.lock();
        for outlet in list.outlets.iter().filter(|outlet| wants(&outlet.state)) {
            match outlet.queue.try_send(message.clone()) {
                Ok(()) => {}
                Err(TrySendError::Full(_)) => stats.count_dropped(),
                // Its connection is ending; it leaves the list when its task does.
                Err(TrySendError::Closed(_)) => {}
            }
        }
    }

    /// The connector is stopping: no new peer, and every queue closes once what is in it has
    /// been taken.
    pub(crate) fn close(&self) {
        let mut list = self.lock();
        list.closed = true;
        list.outlets.clear();
    }
}

/// How a peer's connection ended.
pub(crate) enum End {
    /// Its queue closed and everything in it was handed to the connection.
    Drained,
    /// The connection was lost or broke a rule.
    Lost(io::Error),
}

/// A peer's connection task: writes what its queue holds to `link` (taking from the queue
/// only while less than [`SEND_BUFFER`] is unwritten) and hands what the peer sends to
/// `received`, until the queue closes or the connection ends.
pub(crate) async fn drive<S>(
    link: &mut Link,
    queue: &mut mpsc::Receiver<Frames>,
    outlets: &Outlets<S>,
    stats: &ZmqStats,
    mut received: impl FnMut(Received),
) -> End {
    let end = std::future::poll_fn(|cx| loop {
        let mut took = false;
        // Whether the queue was asked until it had nothing: then it wakes us when it has.
        let mut queue_waits = false;
        while link.unsent() < SEND_BUFFER {
            match queue.poll_recv(cx) {
                Poll::Ready(Some(message)) => {
                    // The wire needs at least one frame: an empty message is one empty frame.
                    let empty = [Bytes::new()];
                    let frames = match message.as_slice() {
                        [] => &empty[..],
                        frames => frames,
                    };
                    // Counted first: once the peer has it, the count says so.
                    stats.count_sent();
                    if let Err(error) = link.send(frames) {
                        return Poll::Ready(End::Lost(error));
                    }
                    took = true;
                }
                Poll::Ready(None) => return Poll::Ready(End::Drained),
                Poll::Pending => {
                    queue_waits = true;
                    break;
                }
            }
        }
        if took {
            outlets.changed.notify_waiters();
        }
        match link.poll_recv(cx) {
            Poll::Ready(Ok(message)) => received(message),
            Poll::Ready(Err(error)) => return Poll::Ready(End::Lost(error)),
            // The read writes out what is queued first: when that made room while the queue
            // was not being asked, nothing would wake us for it, so ask the queue again.
            Poll::Pending if !queue_waits && link.unsent() < SEND_BUFFER => {}
            Poll::Pending => return Poll::Pending,
        }
    });
    match end.await {
        End::Drained => match link.flush().await {
            Ok(()) => End::Drained,
            Err(error) => End::Lost(error),
        },
        lost => lost,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_robin_skips_full_peers_and_gives_back_what_nobody_takes() {
        let outlets = Outlets::<()>::new();
        assert!(
            outlets.round_robin(Frames::single("lonely")).is_err(),
            "no peer"
        );
        let (_a, mut a) = outlets.join((), 1).expect("open");
        let (_b, mut b) = outlets.join((), 1).expect("open");
        assert!(outlets.round_robin(Frames::single("1")).is_ok());
        assert!(outlets.round_robin(Frames::single("2")).is_ok());
        let back = outlets
            .round_robin(Frames::single("3"))
            .expect_err("both full");
        assert_eq!(back, Frames::single("3"));
        let (first, second) = (a.try_recv().expect("one"), b.try_recv().expect("one"));
        assert_eq!(
            (first[0].clone(), second[0].clone()),
            ("1".into(), "2".into())
        );
        // A peer whose connection ended (its queue closed) is passed over, even on its turn.
        drop(a);
        outlets
            .round_robin(Frames::single("4"))
            .expect("b has room");
        assert_eq!(b.try_recv().expect("b took it")[0], "4");
    }

    #[test]
    fn publish_drops_for_a_full_peer_only_and_a_peer_that_leaves_is_gone() {
        let outlets = Outlets::<bool>::new();
        let stats = ZmqStats::default();
        let (slow, _slow_queue) = outlets.join(true, 1).expect("open");
        let (_fast, mut fast) = outlets.join(true, 4).expect("open");
        let (_other, mut other) = outlets.join(false, 4).expect("open");
        for n in 0..3 {
            outlets.publish(&Frames::single(n.to_string()), |wants| *wants, &stats);
        }
        assert_eq!(
            stats.dropped_messages(),
            2,
            "the slow peer kept its first only"
        );
        assert_eq!((0..3).filter(|_| fast.try_recv().is_ok()).count(), 3);
        assert!(other.try_recv().is_err(), "not subscribed, given nothing");
        drop(slow);
        assert_eq!(outlets.lock().outlets.len(), 2);
        outlets.close();
        assert!(
            outlets.join(true, 1).is_none(),
            "no peer joins a closed socket"
        );
    }
}
