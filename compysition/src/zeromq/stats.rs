//! [`ZmqStats`]: what a ZeroMQ connector counts — peers, messages, drops, refusals — readable
//! from outside while it runs.

use std::io;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// The counters of one connector (`ZmqPush::stats()` and the like). Every counter only grows,
/// except the two that say how things are now ([`peers`](Self::peers) and
/// [`subscriptions`](Self::subscriptions)).
#[derive(Debug, Default)]
pub struct ZmqStats {
    peers: AtomicU64,
    connections: AtomicU64,
    sent: AtomicU64,
    received: AtomicU64,
    dropped: AtomicU64,
    malformed: AtomicU64,
    refused: AtomicU64,
    subscriptions: AtomicU64,
}

impl ZmqStats {
    /// Peers connected now, past their handshake.
    pub fn peers(&self) -> u64 {
        self.peers.load(Ordering::Relaxed)
    }

    /// Connections that completed their handshake, ever (a reconnection counts again).
    pub fn connections(&self) -> u64 {
        self.connections.load(Ordering::Relaxed)
    }

    /// Messages handed to a peer's connection.
    pub fn messages_sent(&self) -> u64 {
        self.sent.load(Ordering::Relaxed)
    }

    /// Messages received and handed to the flow.
    pub fn messages_received(&self) -> u64 {
        self.received.load(Ordering::Relaxed)
    }

    /// Messages a PUB dropped for a subscriber whose queue was at its high-water mark, one per
    /// subscriber (as ZeroMQ does, rather than holding the others up); and events a stopping
    /// PUSH dropped when no peer took them within its linger.
    pub fn dropped_messages(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    /// Messages from a peer that the socket's pattern has no place for (a PUB's subscriber
    /// sending something other than a subscription, a PULL's peer talking back, an envelope
    /// that does not open), dropped.
    pub fn malformed_messages(&self) -> u64 {
        self.malformed.load(Ordering::Relaxed)
    }

    /// Connections closed for breaking ZMTP or a limit (not ZMTP 3, another mechanism, a socket
    /// type that cannot talk to this one, reserved flags, a message over the size limit, no
    /// handshake in time) or for coming past [`max_peers`](crate::zeromq::DEFAULT_MAX_PEERS).
    pub fn refused_connections(&self) -> u64 {
        self.refused.load(Ordering::Relaxed)
    }

    /// The subscriptions a PUB holds now, over all its peers.
    pub fn subscriptions(&self) -> u64 {
        self.subscriptions.load(Ordering::Relaxed)
    }

    /// A peer is connected until the guard is dropped (however its task ends).
    pub(crate) fn peer_joined(self: &Arc<Self>) -> PeerGuard {
        self.connections.fetch_add(1, Ordering::Relaxed);
        self.peers.fetch_add(1, Ordering::Relaxed);
        PeerGuard(Arc::clone(self))
    }

    pub(crate) fn count_sent(&self) {
        self.sent.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn count_received(&self) {
        self.received.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn count_dropped(&self) {
        self.dropped.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn count_malformed(&self) {
        self.malformed.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn count_refused(&self) {
        self.refused.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn add_subscriptions(&self, added: u64) {
        self.subscriptions.fetch_add(added, Ordering::Relaxed);
    }

    pub(crate) fn remove_subscriptions(&self, removed: u64) {
        self.subscriptions.fetch_sub(removed, Ordering::Relaxed);
    }

    /// A connection ended with `error`: a refusal when the peer broke ZMTP or a limit (the
    /// link says so with `InvalidData`), a plain departure otherwise.
    pub(crate) fn connection_lost(&self, error: &io::Error) {
        if error.kind() == io::ErrorKind::InvalidData {
            self.count_refused();
            tracing::debug!(%error, "closed a ZeroMQ connection");
        } else {
            tracing::debug!(%error, "ZeroMQ peer gone");
        }
    }
}

/// Counts a peer as connected while it lives.
pub(crate) struct PeerGuard(Arc<ZmqStats>);

impl Drop for PeerGuard {
    fn drop(&mut self) {
        self.0.peers.fetch_sub(1, Ordering::Relaxed);
    }
}
