//! [`Router`]: a ROUTER socket, the listening side that any peer on the network can reach, on
//! the ZMTP 3 of this module.
//!
//! Why not the `zeromq` crate's ROUTER here:
//!
//! - **Limits.** The crate reserves whatever frame length a peer announces; 20 octets abort the
//!   process. Here every frame header is checked before its body arrives, a buffer only grows
//!   with octets that have arrived, and a connection that breaks a limit is closed alone.
//! - **No hop between the wire and the loop.** The crate hands every send to a writer task per
//!   peer and receives through a fair queue that hashes the peer on every poll. Here the task
//!   that owns the `Router` does everything: each connection's read is a future woken only for
//!   that connection, and sends are encoded into the peer's buffer and written to the kernel in
//!   one `write` per peer per round ([`Router::flush`]).
//!
//! Nothing waits on one peer: a write that the kernel does not take at once waits for the
//! socket to become writable on its own, and a peer with more than `max_message` octets not yet
//! taken loses what is sent to it next ([`Sent::Full`]), as a ZeroMQ high-water mark would.
//!
//! # Connections that say nothing, or half of something
//!
//! Accepting never stops (a failing `accept`, out of file descriptors, pauses it briefly
//! instead of spinning). Each handshake has a deadline and holds at most a greeting and a
//! READY of bounded length. At most [`RouterLimits::max_handshakes`] run at once; a new
//! connection past that closes the *oldest* pending one, so that silent connections, however
//! many and however fast they come, cannot keep a real peer out: its handshake takes a round
//! trip, theirs never ends, and the newest are the last to go.
//!
//! The unfinished messages of all connections (received in part) are bounded together by
//! [`RouterLimits::max_unfinished`], beside the bound per connection (`max_message`): each
//! connection counts the buffer its unfinished message takes, and when the total passes the
//! cap the connection holding the most is closed, until it is under the cap again. Closing the
//! largest holder rather than the latest to grow keeps a peer that sends a little from paying
//! for one that sends a lot. What the router counts is in [`RouterStats`].
//!
//! It speaks NULL security or, set with [`Router::secured`], CURVE; takes DEALER/REQ/ROUTER
//! peers with peer-chosen or generated identities (a zero octet and a counter, as libzmq does),
//! and answers with PONG the ZMTP 3.1 PING of libzmq peers that set `ZMQ_HEARTBEAT_IVL`.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use futures_util::future::{AbortHandle, Abortable, Aborted, BoxFuture};
use futures_util::stream::{FuturesUnordered, StreamExt};
use futures_util::task::AtomicWaker;
use futures_util::FutureExt;
use tokio::net::{TcpListener, TcpStream};
use tokio::time::Instant;

use super::command::answer_to;
use super::handshake::handshake;
use super::limits::{DEFAULT_HANDSHAKE_TIMEOUT, DEFAULT_MAX_HANDSHAKES, DEFAULT_MAX_UNFINISHED};
use super::mechanism::Mechanism;
use super::security::{Encoder, Session};
use super::stream::{write_now, Chunk, FrameReader, Holding, ReadOutcome, Unfinished};
use super::violation::Violation;

/// How long accepting pauses after `accept` failed (no file descriptor left, say).
const ACCEPT_PAUSE: Duration = Duration::from_millis(100);
/// Connections whose reads are taken in one round before the caller gets a turn.
const READS_PER_ROUND: usize = 64;
/// Connections accepted in one round before the caller gets a turn: a flood of new
/// connections must not starve the peers that are already talking.
const ACCEPTS_PER_ROUND: usize = 64;

/// The limits a [`Router`] reads and accepts under (see the [module documentation](self)).
#[derive(Clone, Copy, Debug)]
pub(crate) struct RouterLimits {
    /// The largest message, all frames together, and what a peer may leave unread.
    pub(crate) max_message: usize,
    /// How long a new connection may take for its greeting and READY.
    pub(crate) handshake_timeout: Duration,
    /// How many handshakes run at once; past it a new connection closes the oldest pending.
    pub(crate) max_handshakes: usize,
    /// How much memory the unfinished messages of all connections may take together.
    pub(crate) max_unfinished: usize,
}

impl RouterLimits {
    /// The default limits, with messages of at most `max_message` octets.
    pub(crate) fn new(max_message: usize) -> Self {
        RouterLimits {
            max_message,
            handshake_timeout: DEFAULT_HANDSHAKE_TIMEOUT,
            max_handshakes: DEFAULT_MAX_HANDSHAKES,
            max_unfinished: DEFAULT_MAX_UNFINISHED,
        }
    }
}

/// What a [`Router`] counts, readable while it runs.
#[derive(Debug)]
pub(crate) struct RouterStats {
    /// Connections closed for breaking ZMTP or a limit (a handshake past its deadline
    /// included). Shared, so that an owner may count other things in it too.
    pub(crate) refused: Arc<AtomicU64>,
    /// Pending handshakes closed to make room for a newer connection.
    pub(crate) evicted_handshakes: AtomicU64,
    /// Handshakes in progress now.
    pub(crate) pending_handshakes: AtomicU64,
    /// Connections closed because the unfinished messages of all took more than their cap.
    pub(crate) over_budget: AtomicU64,
    /// The memory that unfinished messages take now.
    unfinished: Arc<Unfinished>,
}

impl Default for RouterStats {
    fn default() -> Self {
        RouterStats::new(Arc::new(AtomicU64::new(0)))
    }
}

impl RouterStats {
    /// Counters, with refused connections counted in `refused`.
    pub(crate) fn new(refused: Arc<AtomicU64>) -> Self {
        RouterStats {
            refused,
            evicted_handshakes: AtomicU64::new(0),
            pending_handshakes: AtomicU64::new(0),
            over_budget: AtomicU64::new(0),
            unfinished: Arc::new(Unfinished::new(DEFAULT_MAX_UNFINISHED)),
        }
    }

    /// The memory that unfinished messages take now, over all connections.
    pub(crate) fn unfinished_bytes(&self) -> usize {
        self.unfinished.total()
    }
}

/// What became of one send.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Sent {
    /// In the peer's buffer; written to the kernel by the next [`Router::flush`].
    Queued,
    /// No connected peer has this identity.
    Gone,
    /// The peer has not taken what was sent before; this message is dropped.
    Full,
}

/// What [`Router::take`] hands over.
#[derive(Debug)]
pub(crate) enum Inbound<'a> {
    /// A message from `peer`, frames in order.
    Message {
        /// The peer's identity.
        peer: &'a Bytes,
        /// The message frames.
        frames: &'a [Bytes],
    },
    /// The connection of this peer closed (or broke a limit and was closed).
    Gone(Bytes),
}

/// The connected peers and what waits to be written to them.
pub(crate) struct Peers {
    connected: HashMap<Bytes, Peer>,
    /// Peers with output not yet handed to the kernel.
    dirty: Vec<Bytes>,
    /// Octets a peer may have waiting before sends to it are dropped.
    backlog: usize,
}

struct Peer {
    identity: Bytes,
    stream: Arc<TcpStream>,
    out: BytesMut,
    /// A wait for the socket to become writable is in flight.
    waiting: Option<AbortHandle>,
    /// Ends the connection's read from outside it.
    kill: Arc<Kill>,
    /// What its unfinished message takes.
    holding: Holding,
    /// How its messages go on the wire (in clear, or in CURVE boxes).
    encoder: Encoder,
}

impl Peers {
    /// Queues a message for `peer`: the frames of `head`, then those of `tail`.
    pub(crate) fn send(&mut self, peer: &[u8], head: &[&[u8]], tail: &[Bytes]) -> Sent {
        let Some(connection) = self.connected.get_mut(peer) else {
            return Sent::Gone;
        };
        if connection.out.len() > self.backlog {
            return Sent::Full;
        }
        let was_idle = connection.out.is_empty() && connection.waiting.is_none();
        connection.encoder.message(&mut connection.out, head, tail);
        if was_idle {
            self.dirty.push(connection.identity.clone());
        }
        Sent::Queued
    }

    /// Queues octets as they are, past the security mechanism (for tests that send what no
    /// peer should), unless the peer's backlog is full.
    #[cfg(test)]
    pub(crate) fn send_raw(&mut self, peer: &[u8], octets: &[u8]) {
        if let Some(connection) = self.connected.get_mut(peer) {
            if connection.out.len() > self.backlog {
                return;
            }
            if connection.out.is_empty() && connection.waiting.is_none() {
                self.dirty.push(connection.identity.clone());
            }
            connection.out.extend_from_slice(octets);
        }
    }

    /// Queues a command (framed, as [`command`](super::command::command) makes them), through
    /// the peer's security mechanism, unless the peer's backlog is full.
    pub(crate) fn send_command(&mut self, peer: &[u8], framed: &[u8]) {
        if let Some(connection) = self.connected.get_mut(peer) {
            if connection.out.len() > self.backlog {
                return;
            }
            if connection.out.is_empty() && connection.waiting.is_none() {
                self.dirty.push(connection.identity.clone());
            }
            connection.encoder.command(&mut connection.out, framed);
        }
    }

    fn remove(&mut self, peer: &[u8]) -> bool {
        match self.connected.remove(peer) {
            Some(connection) => {
                if let Some(waiting) = connection.waiting {
                    waiting.abort();
                }
                connection.kill.kill();
                true
            }
            None => false,
        }
    }
}

/// The socket's way to end a connection's read, which sits in the set of reads, from outside
/// it. One per connection, kept across its reads (an abort handle per read would allocate for
/// every chunk).
#[derive(Debug, Default)]
struct Kill {
    killed: AtomicBool,
    waker: AtomicWaker,
}

impl Kill {
    fn kill(&self) {
        self.killed.store(true, Ordering::Release);
        self.waker.wake();
    }

    fn is_killed(&self) -> bool {
        self.killed.load(Ordering::Acquire)
    }
}

/// The read side of one connection, moved into each read and back out of it.
struct Reader {
    identity: Bytes,
    stream: Arc<TcpStream>,
    frames: FrameReader,
    kill: Arc<Kill>,
}

/// One read of a connection: resolves once complete messages are buffered or the connection
/// ends (`None` when the socket killed it). Written out by hand so that the set of reads holds
/// it without boxing.
struct Reading(Option<Reader>);

impl Future for Reading {
    type Output = Option<(Reader, ReadOutcome)>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let Some(reader) = self.0.as_mut() else {
            return Poll::Pending; // completed: a set of futures never polls it again
        };
        if reader.kill.is_killed() {
            // Dropping the reader here frees its buffer and closes the connection.
            self.0 = None;
            return Poll::Ready(None);
        }
        let Poll::Ready(outcome) = reader.frames.poll_chunk(&reader.stream, cx) else {
            reader.kill.waker.register(cx.waker());
            if reader.kill.is_killed() {
                self.0 = None;
                return Poll::Ready(None);
            }
            return Poll::Pending;
        };
        Poll::Ready(self.0.take().map(|reader| (reader, outcome)))
    }
}

/// A handshake in progress: resolves with its number and, if it succeeded, the connection.
type Greeting = Abortable<BoxFuture<'static, (u64, Option<Handshaked>)>>;

/// A connection that finished its handshake: the stream, the identity it asked for (empty if
/// none), what it sent after its READY, and its security session.
struct Handshaked {
    stream: TcpStream,
    identity: Bytes,
    leftover: BytesMut,
    session: Session,
}

/// What has arrived and waits for [`Router::take`].
enum Arrived {
    Chunk(Bytes, Bytes),
    Gone(Bytes),
}

/// The chunk being taken apart, message by message, and the peer it came from.
struct Cursor {
    peer: Bytes,
    chunk: Chunk,
}

/// What one step of [`Router::take`] found.
enum Step {
    Message,
    Gone(Bytes),
    Nothing,
}

/// A ROUTER socket listening on one TCP listener. See the [module documentation](self).
pub(crate) struct Router {
    listener: Arc<TcpListener>,
    limits: RouterLimits,
    /// The next accept, alone in a set so that it is polled only when the listener wakes it.
    accepting: FuturesUnordered<BoxFuture<'static, io::Result<TcpStream>>>,
    handshakes: FuturesUnordered<Greeting>,
    /// The handshakes in progress by number, which is their age: the first is the oldest.
    pending: BTreeMap<u64, AbortHandle>,
    next_handshake: u64,
    reads: FuturesUnordered<Reading>,
    writes: FuturesUnordered<Abortable<BoxFuture<'static, Bytes>>>,
    peers: Peers,
    arrived: VecDeque<Arrived>,
    current: Option<Cursor>,
    frames: Vec<Bytes>,
    next_generated: u32,
    stats: Arc<RouterStats>,
    /// The security mechanism every connection speaks.
    mechanism: Arc<Mechanism>,
}

impl Router {
    /// A ROUTER on `listener` (already bound) under `limits`, counting what it closes in
    /// `stats`. Must be called inside a tokio runtime.
    pub(crate) fn new(
        listener: std::net::TcpListener,
        limits: RouterLimits,
        stats: Arc<RouterStats>,
    ) -> io::Result<Self> {
        listener.set_nonblocking(true)?;
        let listener = Arc::new(TcpListener::from_std(listener)?);
        let accepting = FuturesUnordered::new();
        accepting.push(accept(Arc::clone(&listener), Duration::ZERO).boxed());
        stats.unfinished.set_cap(limits.max_unfinished);
        Ok(Router {
            listener,
            limits,
            accepting,
            handshakes: FuturesUnordered::new(),
            pending: BTreeMap::new(),
            next_handshake: 0,
            reads: FuturesUnordered::new(),
            writes: FuturesUnordered::new(),
            peers: Peers {
                connected: HashMap::new(),
                dirty: Vec::new(),
                backlog: limits.max_message,
            },
            arrived: VecDeque::new(),
            current: None,
            frames: Vec::new(),
            next_generated: 0,
            stats,
            mechanism: Arc::new(Mechanism::Null),
        })
    }

    /// The router with `mechanism` for every connection from now on (NULL unless set).
    pub(crate) fn secured(mut self, mechanism: Mechanism) -> Self {
        self.mechanism = Arc::new(mechanism);
        self
    }

    /// Waits until [`Router::take`] has something. Cancel-safe: nothing is lost when the wait
    /// is dropped.
    pub(crate) async fn arrived(&mut self) {
        std::future::poll_fn(|cx| self.poll_arrived(cx)).await
    }

    /// The peers, to send to outside of [`Router::take`].
    pub(crate) fn peers(&mut self) -> &mut Peers {
        &mut self.peers
    }

    /// The next message or departure that has arrived, with the peers to answer through.
    pub(crate) fn take(&mut self) -> Option<(Inbound<'_>, &mut Peers)> {
        match self.step() {
            Step::Nothing => None,
            Step::Gone(peer) => Some((Inbound::Gone(peer), &mut self.peers)),
            Step::Message => {
                let cursor = self.current.as_ref()?;
                let message = Inbound::Message {
                    peer: &cursor.peer,
                    frames: &self.frames,
                };
                Some((message, &mut self.peers))
            }
        }
    }

    /// Hands what was queued to the kernel, without waiting for any peer.
    pub(crate) fn flush(&mut self) {
        let mut dirty = std::mem::take(&mut self.peers.dirty);
        for identity in dirty.drain(..) {
            self.write_out(&identity);
        }
        // Keeps the list's allocation for the next round.
        self.peers.dirty = dirty;
    }

    /// Flushes, then gives the peers up to `within` to take what is still queued.
    pub(crate) async fn close(mut self, within: Duration) {
        self.flush();
        let deadline = Instant::now() + within;
        while self
            .peers
            .connected
            .values()
            .any(|peer| !peer.out.is_empty())
        {
            match tokio::time::timeout_at(deadline, self.writes.next()).await {
                Ok(Some(Ok(identity))) => {
                    if let Some(peer) = self.peers.connected.get_mut(&identity) {
                        peer.waiting = None;
                    }
                    self.write_out(&identity);
                }
                Ok(Some(Err(Aborted))) => {}
                Ok(None) | Err(_) => break,
            }
        }
    }

    fn step(&mut self) -> Step {
        loop {
            if let Some(cursor) = self.current.as_mut() {
                let peers = &mut self.peers;
                let peer = &cursor.peer;
                let answer_command = |command: &[u8]| {
                    if let Some(answer) = answer_to(command) {
                        peers.send_command(peer, &answer);
                    }
                };
                if cursor.chunk.next_message(&mut self.frames, answer_command) {
                    return Step::Message;
                }
                self.current = None;
            }
            match self.arrived.pop_front() {
                None => return Step::Nothing,
                Some(Arrived::Gone(peer)) => return Step::Gone(peer),
                Some(Arrived::Chunk(peer, chunk)) => {
                    self.current = Some(Cursor {
                        peer,
                        chunk: Chunk::new(chunk),
                    });
                }
            }
        }
    }

    fn poll_arrived(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        if self.current.is_some() || !self.arrived.is_empty() {
            return Poll::Ready(());
        }
        self.poll_accept(cx);
        while let Poll::Ready(Some(done)) = self.handshakes.poll_next_unpin(cx) {
            // An aborted one was closed for a newer connection and is no longer pending.
            if let Ok((number, handshaked)) = done {
                self.pending.remove(&number);
                self.count_pending();
                if let Some(handshaked) = handshaked {
                    self.register(handshaked);
                }
            }
        }
        while let Poll::Ready(Some(done)) = self.writes.poll_next_unpin(cx) {
            if let Ok(identity) = done {
                if let Some(peer) = self.peers.connected.get_mut(&identity) {
                    peer.waiting = None;
                }
                self.write_out(&identity);
            }
        }
        let mut budget = READS_PER_ROUND;
        loop {
            if budget == 0 {
                // More reads may be ready: come back for them after the caller's turn.
                cx.waker().wake_by_ref();
                break;
            }
            budget -= 1;
            let Poll::Ready(Some(read)) = self.reads.poll_next_unpin(cx) else {
                break;
            };
            // A killed read was reported gone when it was killed.
            let Some((reader, outcome)) = read else {
                continue;
            };
            match outcome {
                ReadOutcome::Chunk(chunk) => {
                    self.arrived
                        .push_back(Arrived::Chunk(reader.identity.clone(), chunk));
                    self.reads.push(Reading(Some(reader)));
                }
                ReadOutcome::OverBudget => self.shed_unfinished(reader),
                ReadOutcome::Closed(violation) => {
                    if let Some(violation) = violation {
                        self.stats.refused.fetch_add(1, Ordering::Relaxed);
                        tracing::debug!(%violation, "closing a ZMTP connection");
                    }
                    if self.peers.remove(&reader.identity) {
                        self.arrived.push_back(Arrived::Gone(reader.identity));
                    }
                }
            }
        }
        if self.arrived.is_empty() {
            Poll::Pending
        } else {
            Poll::Ready(())
        }
    }

    /// Accepts what the listener has (up to [`ACCEPTS_PER_ROUND`]) and starts its handshakes.
    /// Accepting never stops: past the bound on handshakes the oldest pending one is closed.
    fn poll_accept(&mut self, cx: &mut Context<'_>) {
        for _ in 0..ACCEPTS_PER_ROUND {
            let Poll::Ready(Some(accepted)) = self.accepting.poll_next_unpin(cx) else {
                return;
            };
            let pause = match accepted {
                Ok(stream) => {
                    self.greet(stream);
                    Duration::ZERO
                }
                Err(error) => {
                    tracing::warn!(%error, "ZMTP listener cannot accept; pausing");
                    ACCEPT_PAUSE
                }
            };
            self.accepting
                .push(accept(Arc::clone(&self.listener), pause).boxed());
        }
        // More connections may wait: come back for them after the caller's turn.
        cx.waker().wake_by_ref();
    }

    /// Starts the handshake of a new connection, closing the oldest pending one first when
    /// as many as the limit run.
    fn greet(&mut self, stream: TcpStream) {
        if self.pending.len() >= self.limits.max_handshakes {
            if let Some((_, oldest)) = self.pending.pop_first() {
                oldest.abort();
                self.stats
                    .evicted_handshakes
                    .fetch_add(1, Ordering::Relaxed);
                tracing::debug!("closed the oldest pending ZMTP handshake for a new connection");
            }
        }
        let number = self.next_handshake;
        self.next_handshake += 1;
        let (handle, registration) = AbortHandle::new_pair();
        self.pending.insert(number, handle);
        self.count_pending();
        let refused = Arc::clone(&self.stats.refused);
        let within = self.limits.handshake_timeout;
        let mechanism = Arc::clone(&self.mechanism);
        let greeting = async move { (number, greet(stream, within, refused, &mechanism).await) };
        self.handshakes
            .push(Abortable::new(greeting.boxed(), registration));
    }

    /// Publishes how many handshakes are in progress.
    fn count_pending(&self) {
        let pending = self.pending.len() as u64;
        self.stats
            .pending_handshakes
            .store(pending, Ordering::Relaxed);
    }

    /// The unfinished messages of all connections take more than their cap (`reader` just
    /// took it past): closes the connections holding the most until they are under it, and
    /// goes on reading `reader` unless it was one of them.
    fn shed_unfinished(&mut self, reader: Reader) {
        let mut reader = Some(reader);
        while self.stats.unfinished.is_over() {
            let largest = self
                .peers
                .connected
                .values()
                .max_by_key(|peer| peer.holding.octets())
                .filter(|peer| peer.holding.octets() > 0)
                .map(|peer| peer.identity.clone());
            let Some(identity) = largest else {
                break;
            };
            if let Some(peer) = self.peers.connected.get(&identity) {
                // Its reader is killed and never reads again: its octets go back now, so that
                // the loop sees the total without them.
                peer.holding.release();
            }
            if reader.as_ref().is_some_and(|r| r.identity == identity) {
                reader = None;
            }
            self.peers.remove(&identity);
            self.arrived.push_back(Arrived::Gone(identity));
            self.stats.over_budget.fetch_add(1, Ordering::Relaxed);
            tracing::debug!("closed the ZMTP connection holding the most unfinished octets");
        }
        if let Some(reader) = reader {
            self.reads.push(Reading(Some(reader)));
        }
    }

    /// Gives a new connection its identity and starts reading it.
    fn register(&mut self, handshaked: Handshaked) {
        let Handshaked {
            stream,
            identity,
            leftover,
            session,
        } = handshaked;
        let identity = if identity.is_empty() {
            self.generate_identity()
        } else if identity[0] == 0 || self.peers.connected.contains_key(&identity) {
            self.stats.refused.fetch_add(1, Ordering::Relaxed);
            tracing::debug!(violation = %Violation::BadIdentity, "closing a ZMTP connection");
            return;
        } else {
            identity
        };
        let stream = Arc::new(stream);
        let kill = Arc::new(Kill::default());
        let share = self.stats.unfinished.share();
        let (encoder, decoder) = session.split(self.limits.max_message);
        self.peers.connected.insert(
            identity.clone(),
            Peer {
                identity: identity.clone(),
                stream: Arc::clone(&stream),
                out: BytesMut::new(),
                waiting: None,
                kill: Arc::clone(&kill),
                holding: share.holding(),
                encoder,
            },
        );
        self.reads.push(Reading(Some(Reader {
            identity,
            stream,
            frames: FrameReader::sharing(leftover, self.limits.max_message, share)
                .decoding(decoder, self.limits.max_message),
            kill,
        })));
    }

    fn generate_identity(&mut self) -> Bytes {
        loop {
            self.next_generated = self.next_generated.wrapping_add(1);
            let mut identity = [0u8; 5];
            identity[1..].copy_from_slice(&self.next_generated.to_be_bytes());
            if !self.peers.connected.contains_key(&identity[..]) {
                return Bytes::copy_from_slice(&identity);
            }
        }
    }

    /// Writes what `identity` has queued as far as the kernel takes it.
    fn write_out(&mut self, identity: &Bytes) {
        let Some(peer) = self.peers.connected.get_mut(identity) else {
            return;
        };
        if peer.waiting.is_some() {
            return;
        }
        match write_now(&peer.stream, &mut peer.out) {
            Ok(true) => {}
            Ok(false) => {
                let (handle, registration) = AbortHandle::new_pair();
                let stream = Arc::clone(&peer.stream);
                let identity = identity.clone();
                let writable = async move {
                    let _ = stream.writable().await;
                    identity
                };
                self.writes
                    .push(Abortable::new(writable.boxed(), registration));
                peer.waiting = Some(handle);
            }
            // The reader notices the broken connection and reports it gone.
            Err(_) => peer.out.clear(),
        }
    }
}

/// The next connection, after `pause` (a failing `accept`, out of file descriptors say, must
/// not spin).
async fn accept(listener: Arc<TcpListener>, pause: Duration) -> io::Result<TcpStream> {
    if !pause.is_zero() {
        tokio::time::sleep(pause).await;
    }
    listener.accept().await.map(|(stream, _)| stream)
}

/// The handshake of a new connection, within `within`.
async fn greet(
    mut stream: TcpStream,
    within: Duration,
    refused: Arc<AtomicU64>,
    mechanism: &Mechanism,
) -> Option<Handshaked> {
    let exchange = async {
        let (peer, leftover, session) = handshake(&mut stream, mechanism, "ROUTER").await?;
        if !matches!(&peer.socket_type[..], b"DEALER" | b"REQ" | b"ROUTER") {
            return Err(Some(Violation::IncompatibleSocket));
        }
        Ok((peer.identity, leftover, session))
    };
    let violation = match tokio::time::timeout(within, exchange).await {
        Ok(Ok((identity, leftover, session))) => {
            return Some(Handshaked {
                stream,
                identity,
                leftover,
                session,
            })
        }
        Ok(Err(None)) => return None,
        Ok(Err(Some(violation))) => violation,
        Err(_) => Violation::Slow,
    };
    refused.fetch_add(1, Ordering::Relaxed);
    tracing::debug!(%violation, "refused a ZMTP connection");
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::zmtp::command::command;
    use crate::zmtp::frame::{put_header, LONG, MORE};
    use crate::zmtp::greeting::{check_greeting, greeting, GREETING_LEN};
    use crate::zmtp::metadata::put_property;
    use crate::zmtp::null::parse_ready;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    /// A raw TCP peer speaking ZMTP by hand: sends its greeting and READY without waiting for
    /// ours (the router runs in the same task, so a test must not wait before driving it).
    async fn raw_peer(endpoint: std::net::SocketAddr, identity: &[u8]) -> TcpStream {
        let mut stream = TcpStream::connect(endpoint).await.expect("connects");
        stream
            .write_all(&greeting(&Mechanism::Null))
            .await
            .expect("greets");
        let mut metadata = Vec::new();
        put_property(&mut metadata, b"Socket-Type", b"DEALER");
        put_property(&mut metadata, b"Identity", identity);
        stream
            .write_all(&command(b"READY", &metadata))
            .await
            .expect("READY");
        stream
    }

    /// Reads the router's greeting and READY.
    async fn read_handshake(stream: &mut TcpStream) {
        let mut greeting = [0u8; GREETING_LEN];
        stream.read_exact(&mut greeting).await.expect("greeting");
        assert_eq!(check_greeting(&greeting, &Mechanism::Null), Ok(()));
        let mut header = [0u8; 2];
        stream.read_exact(&mut header).await.expect("READY header");
        let mut ready = vec![0u8; usize::from(header[1])];
        stream.read_exact(&mut ready).await.expect("READY body");
        let parsed = parse_ready(&ready).expect("a READY");
        assert_eq!(parsed.socket_type, b"ROUTER");
    }

    fn message(frames: &[&[u8]]) -> Vec<u8> {
        let mut wire = Vec::new();
        for (index, frame) in frames.iter().enumerate() {
            let flags = if index + 1 < frames.len() { MORE } else { 0 };
            put_header(&mut wire, flags, frame.len());
            wire.extend_from_slice(frame);
        }
        wire
    }

    fn router() -> (Router, std::net::SocketAddr) {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("binds");
        let address = listener.local_addr().expect("bound");
        let refused = Arc::new(AtomicU64::new(0));
        (
            Router::new(
                listener,
                RouterLimits::new(1024),
                Arc::new(RouterStats::new(refused)),
            )
            .expect("router"),
            address,
        )
    }

    async fn next_message(router: &mut Router) -> (Bytes, Vec<Bytes>) {
        loop {
            tokio::time::timeout(Duration::from_secs(5), router.arrived())
                .await
                .expect("something arrives");
            if let Some((Inbound::Message { peer, frames }, _)) = router.take() {
                return (peer.clone(), frames.to_vec());
            }
        }
    }

    /// Drives the router while `until` runs; returns its output and the message frames that
    /// arrived meanwhile.
    async fn driving<T>(
        router: &mut Router,
        until: impl Future<Output = T>,
    ) -> (T, Vec<Vec<Bytes>>) {
        tokio::pin!(until);
        let mut arrived = Vec::new();
        loop {
            tokio::select! {
                output = &mut until => return (output, arrived),
                () = router.arrived() => {
                    while let Some((inbound, _)) = router.take() {
                        if let Inbound::Message { frames, .. } = inbound {
                            arrived.push(frames.to_vec());
                        }
                    }
                    router.flush();
                }
            }
        }
    }

    #[tokio::test]
    async fn a_message_arrives_with_the_identity_the_peer_chose_and_is_answered() {
        let (mut router, address) = router();
        let mut peer = raw_peer(address, b"me").await;
        peer.write_all(&message(&[b"", b"hello"]))
            .await
            .expect("sent");
        let (identity, frames) = next_message(&mut router).await;
        assert_eq!(identity, "me");
        assert_eq!(frames, ["", "hello"]);
        let sent = router.peers().send(b"me", &[b"", b"back"], &[]);
        assert_eq!(sent, Sent::Queued);
        router.flush();
        read_handshake(&mut peer).await;
        let expected = message(&[b"", b"back"]);
        let mut answer = vec![0u8; expected.len()];
        peer.read_exact(&mut answer).await.expect("answer");
        assert_eq!(answer, expected);
    }

    #[tokio::test]
    async fn a_message_larger_than_a_read_arrives_whole() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("binds");
        let address = listener.local_addr().expect("bound");
        let refused = Arc::new(AtomicU64::new(0));
        let mut router = Router::new(
            listener,
            RouterLimits::new(1024 * 1024),
            Arc::new(RouterStats::new(refused)),
        )
        .expect("router");
        let mut peer = raw_peer(address, b"big").await;
        let body: Vec<u8> = (0..300_000u32).map(|i| i as u8).collect();
        let wire = message(&[b"", &body, b"tail"]);
        let writer = tokio::spawn(async move {
            // In pieces, so that the router sees partial frames.
            for piece in wire.chunks(7_777) {
                peer.write_all(piece).await.expect("sent");
                tokio::task::yield_now().await;
            }
            peer
        });
        let (_, frames) = next_message(&mut router).await;
        assert_eq!(frames.len(), 3);
        assert_eq!(frames[1], body);
        assert_eq!(frames[2], "tail");
        writer.await.expect("the writer ran");
    }

    #[tokio::test]
    async fn peers_without_identity_get_distinct_generated_ones() {
        let (mut router, address) = router();
        let mut first = raw_peer(address, b"").await;
        let mut second = raw_peer(address, b"").await;
        first.write_all(&message(&[b"1"])).await.expect("sent");
        second.write_all(&message(&[b"2"])).await.expect("sent");
        let (a, _) = next_message(&mut router).await;
        let (b, _) = next_message(&mut router).await;
        assert_ne!(a, b);
        assert!(a[0] == 0 && a.len() == 5 && b[0] == 0);
    }

    #[tokio::test]
    async fn a_huge_announced_frame_closes_that_connection_only() {
        let (mut router, address) = router();
        let mut hostile = raw_peer(address, b"hostile").await;
        let mut header = vec![LONG];
        header.extend_from_slice(&(1u64 << 62).to_be_bytes());
        hostile.write_all(&header).await.expect("sent");
        let gone = loop {
            router.arrived().await;
            if let Some((Inbound::Gone(peer), _)) = router.take() {
                break peer;
            }
        };
        assert_eq!(gone, "hostile");
        let mut rest = Vec::new();
        // Ends with EOF or a reset; either way the connection is closed.
        let _ = tokio::time::timeout(Duration::from_secs(5), hostile.read_to_end(&mut rest))
            .await
            .expect("the hostile connection is closed in time");
        let mut honest = raw_peer(address, b"honest").await;
        honest
            .write_all(&message(&[b"still here"]))
            .await
            .expect("sent");
        let (identity, frames) = next_message(&mut router).await;
        assert_eq!(identity, "honest");
        assert_eq!(frames, ["still here"]);
    }

    #[tokio::test]
    async fn a_ping_is_answered_with_a_pong_carrying_its_context() {
        let (mut router, address) = router();
        let mut peer = raw_peer(address, b"beating").await;
        peer.write_all(&command(b"PING", b"\x00\x0actx"))
            .await
            .expect("PING");
        peer.write_all(&message(&[b"after"])).await.expect("sent");
        let (_, frames) = next_message(&mut router).await;
        assert_eq!(frames, ["after"]);
        router.flush();
        read_handshake(&mut peer).await;
        let expected = command(b"PONG", b"ctx");
        let mut pong = vec![0u8; expected.len()];
        peer.read_exact(&mut pong).await.expect("PONG");
        assert_eq!(pong, expected);
    }

    #[tokio::test]
    async fn a_taken_identity_is_refused() {
        let (mut router, address) = router();
        let mut first = raw_peer(address, b"twin").await;
        first.write_all(&message(&[b"first"])).await.expect("sent");
        next_message(&mut router).await;
        let mut second = raw_peer(address, b"twin").await;
        let _ = second.write_all(&message(&[b"second"])).await;
        let mut seen = Vec::new();
        let (closed, arrived) = driving(
            &mut router,
            tokio::time::timeout(Duration::from_secs(5), second.read_to_end(&mut seen)),
        )
        .await;
        assert!(closed.is_ok(), "the second twin was disconnected");
        assert!(
            arrived.is_empty(),
            "nothing from the second twin: {arrived:?}"
        );
    }

    #[tokio::test]
    async fn a_peer_that_reads_nothing_loses_sends_past_its_backlog() {
        let (mut router, address) = router();
        let mut lazy = raw_peer(address, b"lazy").await;
        lazy.write_all(&message(&[b"hi"])).await.expect("sent");
        next_message(&mut router).await;
        let big = Bytes::from(vec![0u8; 1000]);
        let mut full = false;
        for _ in 0..100_000 {
            match router
                .peers()
                .send(b"lazy", &[], std::slice::from_ref(&big))
            {
                Sent::Queued => router.flush(),
                Sent::Full => {
                    full = true;
                    break;
                }
                Sent::Gone => panic!("the peer is connected"),
            }
        }
        assert!(
            full,
            "sends stop being queued once the socket and the backlog are full"
        );
    }

    #[tokio::test]
    async fn a_new_connection_past_the_seats_closes_the_oldest_pending_handshake() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("binds");
        let address = listener.local_addr().expect("bound");
        let limits = RouterLimits {
            max_handshakes: 2,
            ..RouterLimits::new(1024)
        };
        let stats = Arc::new(RouterStats::default());
        let mut router = Router::new(listener, limits, Arc::clone(&stats)).expect("router");
        let mut oldest = TcpStream::connect(address).await.expect("connects");
        let (second, _) = driving(&mut router, TcpStream::connect(address)).await;
        let (third, _) = driving(&mut router, TcpStream::connect(address)).await;
        // The oldest silent connection is closed; the two newer ones keep their seats.
        let mut seen = Vec::new();
        let (closed, _) = driving(
            &mut router,
            tokio::time::timeout(Duration::from_secs(5), oldest.read_to_end(&mut seen)),
        )
        .await;
        assert!(closed.is_ok(), "the oldest pending handshake was closed");
        assert_eq!(stats.evicted_handshakes.load(Ordering::Relaxed), 1);
        assert_eq!(stats.pending_handshakes.load(Ordering::Relaxed), 2);
        // A real peer still gets a seat, and through.
        let mut peer = raw_peer(address, b"late").await;
        peer.write_all(&message(&[b"in"])).await.expect("sent");
        let (identity, frames) = next_message(&mut router).await;
        assert_eq!(
            (identity, frames),
            (Bytes::from("late"), vec![Bytes::from("in")])
        );
        drop((second, third));
    }

    #[tokio::test]
    async fn a_peer_that_is_not_zmtp_is_refused_and_others_go_on() {
        let (mut router, address) = router();
        let mut http = TcpStream::connect(address).await.expect("connects");
        http.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            .await
            .expect("sent");
        let mut seen = Vec::new();
        let (closed, _) = driving(
            &mut router,
            tokio::time::timeout(Duration::from_secs(5), http.read_to_end(&mut seen)),
        )
        .await;
        assert!(closed.is_ok(), "the HTTP client was disconnected");
        let mut peer = raw_peer(address, b"").await;
        peer.write_all(&message(&[b"zmtp"])).await.expect("sent");
        let (_, frames) = next_message(&mut router).await;
        assert_eq!(frames, ["zmtp"]);
    }
}
