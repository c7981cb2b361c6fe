//! `MdpBroker`: the 7/MDP broker, with the 8/MMI management services.
//!
//! One ROUTER socket serves clients (`MDPC01`) and workers (`MDPW01`). Requests wait in one
//! queue per service and go to that service's idle workers in the order the workers became
//! idle (least recently used first, which is round robin over equally busy workers). Services
//! starting with `mmi.` are answered by the broker itself.
//!
//! The broker trusts nothing it receives. The socket is our own [`Router`], which bounds every
//! frame before memory is set aside for it and never waits on one peer; every message is then
//! validated by [`protocol`]. A malformed message is dropped and counted (and
//! a worker that sent it is forgotten and told DISCONNECT, since the spec asks to treat such a
//! peer as invalid); a valid command that makes no sense in the worker's state (a second READY,
//! a REPLY nobody asked for, a HEARTBEAT before READY, READY for an `mmi.` service) is answered
//! with DISCONNECT, as 7/MDP requires.
//!
//! The hot path copies no body and allocates nothing: a request that finds an idle worker is
//! encoded straight from the received frames into the worker's output buffer, and a reply
//! straight into the client's. Only a request that has to wait is copied out of the read
//! buffer (so that a small queued request does not keep a whole read buffer alive).
//!
//! Waiting requests are bounded three ways, checked only when a request has to wait: a count
//! over all services, a count per service (so that a flood for one service, or for a made-up
//! one, leaves room for the others) and the memory they take. A request past a limit is
//! dropped and counted; a request that finds an idle worker is never held to them.
//!
//! # At least once to workers, exactly one answer to the client
//!
//! A dispatched request is kept (a copy of its body, in one allocation) until its worker
//! replies. When the worker goes before replying — DISCONNECT, its connection closes, it is
//! dropped for a malformed or unexpected message, or its request deadline passes — the request
//! goes back to the front of its service's queue and on to the next idle worker. A worker that
//! replies after it was given up is no longer known, so its reply is dropped and counted
//! ([`BrokerCounters::late_replies`]): the client gets one answer. A request is dispatched at
//! most [`MAX_DISPATCHES`] times (a request that takes every worker down with it must not go
//! round for ever); past that it is dropped and counted, and its client sees a timeout, as it
//! would have without re-dispatch.
//!
//! What this keeps is bounded: at most one request in flight per registered worker (each at
//! most `max_message_size`), and the waiting requests under the three limits above. A request
//! put back after its worker went is not held to them (it was admitted once, and refusing it
//! would lose it); the overshoot is at most one request per worker lost.
//!
//! # Busy workers and heartbeats
//!
//! A worker with a request in hand is not dropped for silence: the synchronous workers of the
//! zguide send nothing while their handler runs. It has until the request deadline of its
//! service ([`MdpBroker::request_deadline`], [`MdpBroker::service_request_deadline`]; 5
//! minutes by default) to reply; past it the worker is told DISCONNECT and the request goes to
//! another. An idle worker is dropped after `heartbeat_interval × heartbeat_liveness` of
//! silence, as 7/MDP says.

use std::collections::{HashMap, VecDeque};
use std::future::Future;
use std::net::TcpListener;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use tokio::time::{Instant, MissedTickBehavior};

use super::defaults::{DEFAULT_HEARTBEAT_INTERVAL, DEFAULT_LIVENESS, DEFAULT_MAX_MESSAGE_SIZE};
use super::limits;
use super::protocol::{self, BrokerInbound, WorkerCommand, WorkerInbound, MMI_PREFIX};
use super::registration::Announcer;
use crate::actor::{Actor, Context};
use crate::error::{Error, Result};
use crate::zmtp::limits::{
    DEFAULT_HANDSHAKE_TIMEOUT, DEFAULT_MAX_HANDSHAKES, DEFAULT_MAX_UNFINISHED,
};
use crate::zmtp::mechanism::Mechanism;
use crate::zmtp::router::{Inbound, Peers, Router, RouterLimits, RouterStats, Sent};
use crate::zmtp::transport::{bind_tcp, check_connect_endpoint};

/// How long a stopping broker gives its peers to take what it still has for them (the
/// DISCONNECTs to its workers).
const CLOSE_GRACE: Duration = Duration::from_millis(500);

/// The Majordomo broker: an actor without ports that serves until the topology stops, or a
/// standalone server through [`MdpBroker::run_until`].
///
/// A request handed to a worker is kept until its reply: if the worker goes first
/// (DISCONNECT, its connection closes, it is dropped for a bad message or holds the request
/// past [`MdpBroker::request_deadline`]), the request goes to another worker, at most
/// [`MAX_DISPATCHES`] times in all; the client gets one answer. A worker with a request in hand
/// is not dropped for missing heartbeats before that deadline (synchronous workers say nothing
/// while they work); an idle one is, after `heartbeat_interval × heartbeat_liveness`.
///
/// ```no_run
/// use std::time::Duration;
/// use compysition::actors::MdpBroker;
///
/// # async fn example() -> compysition::Result<()> {
/// let broker = MdpBroker::bind("tcp://*:5555")?
///     .heartbeat_interval(Duration::from_millis(2500))
///     .heartbeat_liveness(3)
///     .request_expiry(Duration::from_secs(30));
/// broker.run_until(compysition::shutdown_signal()).await
/// # }
/// ```
pub struct MdpBroker {
    listener: TcpListener,
    endpoint: String,
    options: BrokerOptions,
    stats: Arc<BrokerStats>,
    announce: Option<Announcer>,
    mechanism: Mechanism,
}

/// How many requests may wait over all services, by default.
const DEFAULT_MAX_QUEUED: usize = 100_000;
/// How many requests may wait for one service, by default: a tenth of all, so that a flood of
/// requests for one service (a made-up one, say) leaves room for the others.
const DEFAULT_MAX_QUEUED_PER_SERVICE: usize = DEFAULT_MAX_QUEUED / 10;
/// How much memory waiting requests may take over all services, by default: 256 MiB.
const DEFAULT_MAX_QUEUED_BYTES: usize = 256 * 1024 * 1024;
/// How long a worker may hold a request before it is given up and the request goes to another
/// worker, by default: generous, because a worker that is silent while it works (the zguide's
/// synchronous workers) is only known to be alive by its reply.
pub const DEFAULT_REQUEST_DEADLINE: Duration = Duration::from_secs(5 * 60);
/// How many times one request is handed to a worker at most (the first time included) before
/// the broker gives it up: a request that makes every worker that takes it crash or stall must
/// not take them all down in turn.
pub const MAX_DISPATCHES: u32 = 3;

#[derive(Clone, Debug)]
struct BrokerOptions {
    heartbeat: Duration,
    liveness: u32,
    request_expiry: Duration,
    max_queued: usize,
    max_queued_per_service: usize,
    max_queued_bytes: usize,
    max_message: usize,
    request_deadline: Duration,
    /// Deadlines of services that have their own.
    service_deadlines: HashMap<Bytes, Duration>,
    handshake_timeout: Duration,
    max_handshakes: usize,
    max_unfinished: usize,
}

impl MdpBroker {
    /// A broker listening on `endpoint` (`tcp://host:port`; `*` as host listens on every
    /// interface; port `0` picks a free port, see [`MdpBroker::endpoint`]). The port is bound
    /// now, so a taken port or a bad address is reported here.
    pub fn bind(endpoint: &str) -> Result<Self> {
        let (listener, endpoint) = bind_tcp(endpoint)?;
        Ok(MdpBroker {
            listener,
            endpoint,
            options: BrokerOptions {
                heartbeat: DEFAULT_HEARTBEAT_INTERVAL,
                liveness: DEFAULT_LIVENESS,
                request_expiry: Duration::from_secs(30),
                max_queued: DEFAULT_MAX_QUEUED,
                max_queued_per_service: DEFAULT_MAX_QUEUED_PER_SERVICE,
                max_queued_bytes: DEFAULT_MAX_QUEUED_BYTES,
                max_message: DEFAULT_MAX_MESSAGE_SIZE,
                request_deadline: DEFAULT_REQUEST_DEADLINE,
                service_deadlines: HashMap::new(),
                handshake_timeout: DEFAULT_HANDSHAKE_TIMEOUT,
                max_handshakes: DEFAULT_MAX_HANDSHAKES,
                max_unfinished: DEFAULT_MAX_UNFINISHED,
            },
            stats: Arc::new(BrokerStats::default()),
            announce: None,
            mechanism: Mechanism::Null,
        })
    }

    /// The endpoint the broker is bound to, with the actual port.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// How often the broker sends HEARTBEAT to its workers (default 2.5 s; from 1 ms to a
    /// year). Workers must use the same interval. A worker the broker sent a request to since
    /// the last heartbeat gets none (7/MDP: no HEARTBEAT along with other commands), so a busy
    /// worker may hear nothing for up to two intervals: give workers a liveness of 2 or more.
    pub fn heartbeat_interval(mut self, interval: Duration) -> Self {
        self.options.heartbeat = limits::interval(interval);
        self
    }

    /// How many intervals a worker may stay silent before it is dropped (default 3; from 1 to
    /// 1000).
    pub fn heartbeat_liveness(mut self, liveness: u32) -> Self {
        self.options.liveness = limits::liveness(liveness);
        self
    }

    /// How long a request waits for a worker of its service before it is dropped (default
    /// 30 s, at most a year). The client sees a timeout. Expiry is checked once per heartbeat
    /// interval.
    pub fn request_expiry(mut self, expiry: Duration) -> Self {
        self.options.request_expiry = limits::duration(expiry);
        self
    }

    /// How long a worker may hold a request of any service without its own deadline (default
    /// [`DEFAULT_REQUEST_DEADLINE`], 5 minutes; at most a year). Until then a busy worker is
    /// not dropped for missing heartbeats; past it the worker is told DISCONNECT and the
    /// request goes to another worker, and a reply the first one sends later is dropped
    /// ([`BrokerCounters::late_replies`]). Checked once per heartbeat interval.
    pub fn request_deadline(mut self, deadline: Duration) -> Self {
        self.options.request_deadline = limits::duration(deadline);
        self
    }

    /// The request deadline of one service, in place of [`MdpBroker::request_deadline`]: for a
    /// service known to be slow (or known to be quick, so that a stuck worker is noticed
    /// sooner).
    pub fn service_request_deadline(mut self, service: &str, deadline: Duration) -> Self {
        self.options.service_deadlines.insert(
            Bytes::copy_from_slice(service.as_bytes()),
            limits::duration(deadline),
        );
        self
    }

    /// How many requests may wait for workers, over all services (default 100 000). A request
    /// that finds an idle worker never waits and is not held to this limit or the two below;
    /// one that would have to wait past any of them is dropped and counted
    /// ([`BrokerCounters::rejected_requests`]), and its client sees a timeout.
    pub fn max_queued_requests(mut self, max: usize) -> Self {
        self.options.max_queued = max;
        self
    }

    /// How many requests may wait for workers of any one service (default 10 000), so that
    /// a flood of requests for one service, or for a made-up one nobody serves, leaves the
    /// queue to the others.
    pub fn max_queued_per_service(mut self, max: usize) -> Self {
        self.options.max_queued_per_service = max;
        self
    }

    /// How much memory the requests waiting for workers may take, over all services (default
    /// 256 MiB): their frames, their client identities and a small overhead per frame. With
    /// the count limits this bounds what queued requests cost, whatever their size.
    pub fn max_queued_bytes(mut self, octets: usize) -> Self {
        self.options.max_queued_bytes = octets;
        self
    }

    /// The largest message, all frames together, the broker takes (default 16 MiB; from 1 KiB
    /// to 4 GiB). A peer that announces a longer one is disconnected as soon as the frame
    /// header arrives, before any memory is set aside for it; a peer that does not take what
    /// the broker sends it gets no more once this much waits for it.
    pub fn max_message_size(mut self, octets: usize) -> Self {
        self.options.max_message = limits::message_size(octets);
        self
    }

    /// How long a new connection may take for its ZMTP greeting and READY (default 10 s; from
    /// 1 ms to a year); past it the connection is closed and counted
    /// ([`BrokerCounters::refused_connections`]).
    pub fn handshake_timeout(mut self, timeout: Duration) -> Self {
        self.options.handshake_timeout = limits::interval(timeout);
        self
    }

    /// How many handshakes run at once (default 1024, at least 1). The broker always accepts:
    /// a new connection past this closes the oldest pending handshake (counted in
    /// [`BrokerCounters::evicted_handshakes`]), so connections that never finish theirs cannot
    /// keep new clients and workers out. Each pending handshake holds at most about 17 KiB.
    pub fn max_pending_handshakes(mut self, max: usize) -> Self {
        self.options.max_handshakes = max.max(1);
        self
    }

    /// How much memory the unfinished (partly received) messages of all connections may take
    /// together (default 128 MiB), beside the bound of one message per connection
    /// (`max_message_size`). Past it the connection holding the most is closed and counted
    /// ([`BrokerCounters::dropped_unfinished`]), until the total is under the cap again.
    pub fn max_unfinished_bytes(mut self, octets: usize) -> Self {
        self.options.max_unfinished = octets;
        self
    }

    /// Announces this broker to a [`MdpBrokerRegistrationService`] at `registry`, as reachable
    /// at `advertised` (the endpoint clients and workers on other hosts should connect to).
    ///
    /// [`MdpBrokerRegistrationService`]: crate::actors::MdpBrokerRegistrationService
    pub fn announce_to(mut self, registry: &str, advertised: &str) -> Result<Self> {
        check_connect_endpoint(registry)?;
        check_connect_endpoint(advertised)?;
        self.announce = Some(Announcer::new(registry, advertised, self.options.heartbeat));
        Ok(self)
    }

    /// Speaks CURVE (RFC 25/26) with `config`: the broker's key pair and the allow-list of
    /// the client and worker public keys it accepts. A peer whose key is not on the list is
    /// refused in the handshake (an ERROR command; counted in the refused connections), so it
    /// can neither register as a worker nor send a request; a NULL peer is refused at its
    /// greeting. NULL (no security) unless set.
    #[cfg(feature = "curve")]
    pub fn curve(mut self, config: crate::zmtp::curve::CurveServer) -> Self {
        self.mechanism = Mechanism::from(config);
        self
    }

    /// The broker's counters, readable while it runs.
    pub fn stats(&self) -> Arc<BrokerStats> {
        Arc::clone(&self.stats)
    }

    /// Serves until `stop` resolves, then tells every worker DISCONNECT and closes the socket.
    pub async fn run_until(self, stop: impl Future<Output = ()>) -> Result<()> {
        let limits = RouterLimits {
            max_message: self.options.max_message,
            handshake_timeout: self.options.handshake_timeout,
            max_handshakes: self.options.max_handshakes,
            max_unfinished: self.options.max_unfinished,
        };
        let socket = Arc::clone(&self.stats.socket);
        let mut router = Router::new(self.listener, limits, socket)
            .map_err(|source| Error::Bind {
                address: self.endpoint.clone(),
                source,
            })?
            .secured(self.mechanism);
        tracing::info!(endpoint = %self.endpoint, "MDP broker listening");
        let mut broker = BrokerState {
            services: HashMap::new(),
            workers: HashMap::new(),
            queued: 0,
            queued_bytes: 0,
            lifetime: self.options.heartbeat * self.options.liveness,
            options: self.options.clone(),
            stats: self.stats,
        };
        let announcing = async {
            match self.announce {
                Some(announcer) => announcer.run().await,
                None => std::future::pending().await,
            }
        };
        let mut tick = tokio::time::interval(self.options.heartbeat);
        tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
        tokio::pin!(stop, announcing);
        loop {
            // What the last round queued goes out in one write per peer.
            router.flush();
            tokio::select! {
                biased;
                () = &mut stop => break,
                _ = tick.tick() => broker.on_tick(Instant::now(), router.peers()),
                // Before the router: under sustained load the router is always ready, and a
                // biased select would never get to the announcer, so that the registry would
                // forget the busiest broker. Polling it is cheap: it waits for its timer.
                () = &mut announcing => {}
                () = router.arrived() => {
                    let now = Instant::now();
                    while let Some((inbound, peers)) = router.take() {
                        broker.on_inbound(inbound, peers, now);
                    }
                }
            }
        }
        broker.disconnect_all(router.peers());
        router.close(CLOSE_GRACE).await;
        tracing::info!(endpoint = %self.endpoint, "MDP broker stopped");
        Ok(())
    }
}

impl Actor for MdpBroker {
    type Inboxes = ();
    type Outboxes = ();

    async fn run(self, ctx: Context, (): (), (): ()) {
        let endpoint = self.endpoint.clone();
        if let Err(error) = self.run_until(ctx.stopped()).await {
            tracing::error!(actor = ctx.name(), %endpoint, %error, "MDP broker failed");
        }
    }
}

/// What the broker has seen, counted since it started. Read with [`BrokerStats::snapshot`].
#[derive(Debug, Default)]
pub struct BrokerStats {
    requests: AtomicU64,
    replies: AtomicU64,
    mmi_requests: AtomicU64,
    malformed: AtomicU64,
    disconnects_sent: AtomicU64,
    expired_requests: AtomicU64,
    expired_workers: AtomicU64,
    rejected_requests: AtomicU64,
    undeliverable: AtomicU64,
    disconnected_workers: AtomicU64,
    redispatched_requests: AtomicU64,
    abandoned_requests: AtomicU64,
    overdue_requests: AtomicU64,
    late_replies: AtomicU64,
    /// What the socket counts: refused and evicted connections, unfinished messages.
    socket: Arc<RouterStats>,
    workers: AtomicU64,
}

/// A copy of a broker's counters at one moment.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct BrokerCounters {
    /// Client requests accepted for a worker service.
    pub requests: u64,
    /// Replies passed from workers to clients.
    pub replies: u64,
    /// `mmi.*` requests answered by the broker.
    pub mmi_requests: u64,
    /// Messages dropped because they were not valid MDP.
    pub malformed: u64,
    /// DISCONNECTs sent for unexpected commands and to registered workers that sent invalid
    /// messages (those sent at shutdown are not counted).
    pub disconnects_sent: u64,
    /// Requests dropped because no worker took them within the request expiry.
    pub expired_requests: u64,
    /// Idle workers dropped because they stayed silent past their liveness.
    pub expired_workers: u64,
    /// Requests dropped because they would have had to wait past a queue limit (the count over
    /// all services, the count for their service, or the memory of all waiting requests).
    pub rejected_requests: u64,
    /// Messages that could not be delivered (the peer was gone or did not take what was sent
    /// to it before).
    pub undeliverable: u64,
    /// Workers dropped because their connection closed.
    pub disconnected_workers: u64,
    /// Requests handed to another worker because theirs went before replying (DISCONNECT,
    /// connection closed, dropped for a bad message or past the request deadline).
    pub redispatched_requests: u64,
    /// Requests given up because [`MAX_DISPATCHES`] workers went without replying to them
    /// (their clients see a timeout).
    pub abandoned_requests: u64,
    /// Workers given up (told DISCONNECT, their request handed on) because they held a
    /// request past its deadline.
    pub overdue_requests: u64,
    /// Replies dropped because they came from a worker the broker does not know (any more):
    /// one given up after its request went to another, or one that never registered.
    pub late_replies: u64,
    /// Connections the broker closed because they broke ZMTP or a limit: not ZMTP 3 with NULL
    /// security, a frame or message over the maximum message size, a taken identity, no
    /// handshake within the handshake timeout (10 s by default).
    pub refused_connections: u64,
    /// Pending handshakes closed to make room for a newer connection (see
    /// [`MdpBroker::max_pending_handshakes`]).
    pub evicted_handshakes: u64,
    /// Handshakes in progress now (at most [`MdpBroker::max_pending_handshakes`]).
    pub pending_handshakes: u64,
    /// Connections closed because the unfinished messages of all connections took more than
    /// [`MdpBroker::max_unfinished_bytes`] (the one holding the most goes first).
    pub dropped_unfinished: u64,
    /// The memory that unfinished messages take now, over all connections, in octets.
    pub unfinished_bytes: u64,
    /// Workers registered now.
    pub workers: u64,
}

impl BrokerStats {
    /// The counters now.
    pub fn snapshot(&self) -> BrokerCounters {
        let get = |counter: &AtomicU64| counter.load(Ordering::Relaxed);
        BrokerCounters {
            requests: get(&self.requests),
            replies: get(&self.replies),
            mmi_requests: get(&self.mmi_requests),
            malformed: get(&self.malformed),
            disconnects_sent: get(&self.disconnects_sent),
            expired_requests: get(&self.expired_requests),
            expired_workers: get(&self.expired_workers),
            rejected_requests: get(&self.rejected_requests),
            undeliverable: get(&self.undeliverable),
            disconnected_workers: get(&self.disconnected_workers),
            redispatched_requests: get(&self.redispatched_requests),
            abandoned_requests: get(&self.abandoned_requests),
            overdue_requests: get(&self.overdue_requests),
            late_replies: get(&self.late_replies),
            refused_connections: get(&self.socket.refused),
            evicted_handshakes: get(&self.socket.evicted_handshakes),
            pending_handshakes: get(&self.socket.pending_handshakes),
            dropped_unfinished: get(&self.socket.over_budget),
            unfinished_bytes: self.socket.unfinished_bytes() as u64,
            workers: get(&self.workers),
        }
    }
}

fn bump(counter: &AtomicU64) {
    counter.fetch_add(1, Ordering::Relaxed);
}

struct BrokerState {
    services: HashMap<Bytes, Service>,
    workers: HashMap<Bytes, Worker>,
    /// Requests waiting over all services.
    queued: usize,
    /// What the waiting requests are charged, over all services (see [`Queued::cost`]).
    queued_bytes: usize,
    /// How long a worker may stay silent.
    lifetime: Duration,
    options: BrokerOptions,
    stats: Arc<BrokerStats>,
}

struct Service {
    requests: VecDeque<Queued>,
    /// Idle workers, the longest idle first.
    idle: VecDeque<Bytes>,
    workers: usize,
    /// How long a worker may hold one of its requests.
    deadline: Duration,
}

/// A request kept by the broker: waiting for a worker (copied out of the read buffer), or in a
/// worker's hands until its reply.
struct Queued {
    client: Bytes,
    body: Vec<Bytes>,
    /// When a waiting request is dropped.
    expires: Instant,
    /// What it is charged against the byte budget of waiting requests.
    cost: usize,
    /// How many times it was handed to a worker.
    dispatches: u32,
}

impl Queued {
    /// A copy of `body` (of `octets` in all) in one allocation (each frame a slice of it), for
    /// `client`, charged `cost` (see [`Queued::cost`]).
    fn copy(client: &Bytes, body: &[Bytes], octets: usize, cost: usize, expires: Instant) -> Self {
        let mut copy = BytesMut::with_capacity(octets);
        for frame in body {
            copy.extend_from_slice(frame);
        }
        let mut copy = copy.freeze();
        let body: Vec<Bytes> = body
            .iter()
            .map(|frame| copy.split_to(frame.len()))
            .collect();
        Queued {
            client: client.clone(),
            cost,
            body,
            expires,
            dispatches: 0,
        }
    }

    /// A copy of a request that goes straight to a worker, kept until its reply.
    fn keep(client: &Bytes, body: &[Bytes], now: Instant) -> Self {
        let octets = body.iter().map(Bytes::len).sum();
        let cost = Queued::cost(client, body.len(), octets);
        Queued::copy(client, body, octets, cost, now)
    }

    /// What a waiting request costs in memory, near enough: its octets, its client's
    /// identity, and per frame the handle that points into the copy. Frames are at most
    /// [`MAX_FRAMES`](crate::zmtp::limits::MAX_FRAMES) and octets at most the message size
    /// limit, so the sum cannot overflow.
    fn cost(client: &Bytes, frames: usize, octets: usize) -> usize {
        std::mem::size_of::<Queued>()
            + client.len()
            + frames * std::mem::size_of::<Bytes>()
            + octets
    }
}

/// The request a worker holds, and when it is given up.
struct InFlight {
    request: Queued,
    due: Instant,
}

struct Worker {
    service: Bytes,
    /// When the worker counts as gone if it stays silent (and holds no request).
    expires: Instant,
    /// The request the worker is handling.
    serving: Option<InFlight>,
    /// The broker sent the worker a request since the last heartbeat round, which counts as
    /// a sign of life: the next round sends it no HEARTBEAT.
    sent_since_tick: bool,
}

/// Whether a worker that is removed is told so.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Farewell {
    Disconnect,
    Silent,
}

impl BrokerState {
    fn on_inbound(&mut self, inbound: Inbound<'_>, peers: &mut Peers, now: Instant) {
        match inbound {
            Inbound::Message { peer, frames } => self.on_message(peer, frames, peers, now),
            Inbound::Gone(peer) => {
                if self.workers.contains_key(&peer) {
                    bump(&self.stats.disconnected_workers);
                    self.drop_worker(&peer, Farewell::Silent, peers, now);
                }
            }
        }
    }

    fn on_message(&mut self, peer: &Bytes, frames: &[Bytes], peers: &mut Peers, now: Instant) {
        match protocol::parse_broker_inbound(frames) {
            Ok(BrokerInbound::Request { service, body }) => {
                self.on_client_request(peer, service, body, peers, now)
            }
            Ok(BrokerInbound::Worker(command)) => self.on_worker_command(peer, command, peers, now),
            Err(malformed) => {
                bump(&self.stats.malformed);
                tracing::debug!(reason = %malformed, "MDP broker dropped a malformed message");
                if self.workers.contains_key(peer) {
                    bump(&self.stats.disconnects_sent);
                    self.drop_worker(peer, Farewell::Disconnect, peers, now);
                }
            }
        }
    }

    fn on_client_request(
        &mut self,
        client: &Bytes,
        service: &Bytes,
        body: &[Bytes],
        peers: &mut Peers,
        now: Instant,
    ) {
        if service.starts_with(MMI_PREFIX) {
            bump(&self.stats.mmi_requests);
            let answer: &'static [u8] = if &service[..] == b"mmi.service" {
                match self.services.get(&body[0][..]) {
                    Some(known) if known.workers > 0 => b"200",
                    _ => b"404",
                }
            } else {
                b"501"
            };
            let head = protocol::client_reply_head(service);
            self.send(peers, client, &head, &[Bytes::from_static(answer)]);
            return;
        }
        // The usual case: an idle worker and nobody ahead. The body goes from the read buffer
        // straight into the worker's output buffer (and one copy is kept until the reply).
        // The queue limits do not apply: a request that does not wait costs the queue nothing,
        // and a full queue of some other service must not stop one that has an idle worker.
        let nobody_ahead = self
            .services
            .get(&service[..])
            .is_some_and(|entry| entry.requests.is_empty());
        if nobody_ahead {
            if let Some(worker) = self.hand_to_idle(service, client, body, peers) {
                bump(&self.stats.requests);
                self.serve(&worker, service, Queued::keep(client, body, now), now);
                return;
            }
        }
        self.queue(client, service, body, peers, now);
    }

    /// Sends a request to the longest idle worker of `service` that takes it, forgetting those
    /// that are gone or do not read; the worker that took it.
    fn hand_to_idle(
        &mut self,
        service: &[u8],
        client: &Bytes,
        body: &[Bytes],
        peers: &mut Peers,
    ) -> Option<Bytes> {
        let head = protocol::worker_request_head(client);
        loop {
            let worker_id = self
                .services
                .get_mut(service)
                .and_then(|entry| entry.idle.pop_front())?;
            match peers.send(&worker_id, &head, body) {
                Sent::Queued => return Some(worker_id),
                Sent::Gone | Sent::Full => {
                    bump(&self.stats.undeliverable);
                    // Idle: it holds no request to hand on.
                    self.remove_worker(&worker_id, Farewell::Silent, peers);
                }
            }
        }
    }

    /// Records that `worker` took `request` of `service`: it is kept until the reply.
    fn serve(&mut self, worker: &Bytes, service: &[u8], mut request: Queued, now: Instant) {
        let deadline = self
            .services
            .get(service)
            .map_or(self.options.request_deadline, |entry| entry.deadline);
        if let Some(worker) = self.workers.get_mut(worker) {
            request.dispatches += 1;
            worker.sent_since_tick = true;
            // Clamped to a year when set, so this cannot overflow.
            let due = now + deadline;
            worker.serving = Some(InFlight { request, due });
        }
    }

    /// Runs `change` on the entry of `service`, made (with the service's deadline) if there is
    /// none: the name is copied only then, so that an entry never keeps a read buffer alive.
    fn with_service(&mut self, service: &[u8], change: impl FnOnce(&mut Service)) {
        if let Some(entry) = self.services.get_mut(service) {
            return change(entry);
        }
        let deadline = self
            .options
            .service_deadlines
            .get(service)
            .copied()
            .unwrap_or(self.options.request_deadline);
        let mut entry = Service {
            requests: VecDeque::new(),
            idle: VecDeque::new(),
            workers: 0,
            deadline,
        };
        change(&mut entry);
        self.services.insert(Bytes::copy_from_slice(service), entry);
    }

    /// Queues a request for `service` (copying it out of the read buffer) if the queue limits
    /// allow, then dispatches.
    fn queue(
        &mut self,
        client: &Bytes,
        service: &Bytes,
        body: &[Bytes],
        peers: &mut Peers,
        now: Instant,
    ) {
        let octets = body.iter().map(Bytes::len).sum();
        let cost = Queued::cost(client, body.len(), octets);
        let waiting = self
            .services
            .get(&service[..])
            .map_or(0, |entry| entry.requests.len());
        if self.queued >= self.options.max_queued
            || waiting >= self.options.max_queued_per_service
            || self.queued_bytes.saturating_add(cost) > self.options.max_queued_bytes
        {
            bump(&self.stats.rejected_requests);
            tracing::debug!(
                service = %String::from_utf8_lossy(service),
                "MDP broker queue full; request dropped"
            );
            return;
        }
        bump(&self.stats.requests);
        self.queued += 1;
        self.queued_bytes += cost;
        // The request expiry is clamped to a year when set, so this cannot overflow.
        let expires = now + self.options.request_expiry;
        let request = Queued::copy(client, body, octets, cost, expires);
        self.with_service(service, |entry| entry.requests.push_back(request));
        self.dispatch(service, peers, now);
    }

    fn on_worker_command(
        &mut self,
        identity: &Bytes,
        command: WorkerInbound<'_>,
        peers: &mut Peers,
        now: Instant,
    ) {
        let Some(worker) = self.workers.get_mut(identity) else {
            return self.on_stranger_command(identity, command, peers, now);
        };
        worker.expires = now + self.lifetime;
        match command {
            WorkerInbound::Reply { client, body }
                if worker
                    .serving
                    .as_ref()
                    .is_some_and(|held| held.request.client == client) =>
            {
                worker.serving = None;
                bump(&self.stats.replies);
                let head = protocol::client_reply_head(&worker.service);
                if peers.send(client, &head, body) != Sent::Queued {
                    bump(&self.stats.undeliverable);
                }
                let Some(entry) = self.services.get_mut(&worker.service) else {
                    return;
                };
                entry.idle.push_back(identity.clone());
                if !entry.requests.is_empty() {
                    let service = worker.service.clone();
                    self.dispatch(&service, peers, now);
                }
            }
            WorkerInbound::Heartbeat => {}
            WorkerInbound::Disconnect => self.drop_worker(identity, Farewell::Silent, peers, now),
            // READY twice, a REPLY nobody asked for, a REQUEST from a worker: valid, but
            // unexpected.
            _ => self.unexpected(identity, peers, now),
        }
    }

    /// A worker command from a peer that has not registered: only READY makes sense.
    fn on_stranger_command(
        &mut self,
        identity: &Bytes,
        command: WorkerInbound<'_>,
        peers: &mut Peers,
        now: Instant,
    ) {
        match command {
            WorkerInbound::Ready { service } if !service.starts_with(MMI_PREFIX) => {
                let service = Bytes::copy_from_slice(service);
                self.workers.insert(
                    identity.clone(),
                    Worker {
                        service: service.clone(),
                        expires: now + self.lifetime,
                        serving: None,
                        sent_since_tick: false,
                    },
                );
                self.count_workers();
                self.with_service(&service, |entry| {
                    entry.workers += 1;
                    entry.idle.push_back(identity.clone());
                });
                self.dispatch(&service, peers, now);
            }
            // Leaving without having registered needs no answer.
            WorkerInbound::Disconnect => {}
            // A worker that was given up (its request went to another) answers after all, or
            // a peer that never registered sends a REPLY: not passed on, so that the client
            // gets one answer.
            WorkerInbound::Reply { .. } => {
                bump(&self.stats.late_replies);
                self.unexpected(identity, peers, now);
            }
            // READY for an `mmi.` service, HEARTBEAT before READY, a REQUEST from a worker:
            // valid, but unexpected.
            _ => self.unexpected(identity, peers, now),
        }
    }

    /// 7/MDP: "The broker MUST respond to any valid but unexpected command by sending
    /// DISCONNECT and then no further commands to that worker."
    fn unexpected(&mut self, identity: &Bytes, peers: &mut Peers, now: Instant) {
        bump(&self.stats.disconnects_sent);
        if self.workers.contains_key(identity) {
            self.drop_worker(identity, Farewell::Disconnect, peers, now);
        } else {
            let disconnect = protocol::worker_command(WorkerCommand::Disconnect);
            self.send(peers, identity, &disconnect, &[]);
        }
    }

    /// Publishes how many workers are registered.
    fn count_workers(&self) {
        self.stats
            .workers
            .store(self.workers.len() as u64, Ordering::Relaxed);
    }

    /// Forgets a worker and hands the request it held to another.
    fn drop_worker(
        &mut self,
        identity: &Bytes,
        farewell: Farewell,
        peers: &mut Peers,
        now: Instant,
    ) {
        if let Some((service, held)) = self.remove_worker(identity, farewell, peers) {
            self.redispatch(&service, held, peers, now);
        }
    }

    /// Forgets a worker; returns its service and the request it held, if any.
    fn remove_worker(
        &mut self,
        identity: &Bytes,
        farewell: Farewell,
        peers: &mut Peers,
    ) -> Option<(Bytes, Queued)> {
        let worker = self.workers.remove(identity)?;
        self.count_workers();
        if let Some(entry) = self.services.get_mut(&worker.service) {
            entry.workers -= 1;
            if worker.serving.is_none() {
                entry.idle.retain(|idle| idle != identity);
            }
        }
        if farewell == Farewell::Disconnect {
            let disconnect = protocol::worker_command(WorkerCommand::Disconnect);
            self.send(peers, identity, &disconnect, &[]);
        }
        let held = worker.serving?;
        Some((worker.service, held.request))
    }

    /// Puts a request whose worker went back at the front of its queue (not held to the queue
    /// limits: it was admitted once), unless it was dispatched [`MAX_DISPATCHES`] times.
    fn redispatch(
        &mut self,
        service: &Bytes,
        mut request: Queued,
        peers: &mut Peers,
        now: Instant,
    ) {
        if request.dispatches >= MAX_DISPATCHES {
            bump(&self.stats.abandoned_requests);
            tracing::debug!(
                service = %String::from_utf8_lossy(service),
                "MDP broker gave up a request after {MAX_DISPATCHES} workers"
            );
            return;
        }
        bump(&self.stats.redispatched_requests);
        request.expires = now + self.options.request_expiry;
        self.queued += 1;
        self.queued_bytes += request.cost;
        self.with_service(service, |entry| entry.requests.push_front(request));
        self.dispatch(service, peers, now);
    }

    /// Hands queued requests of `service` to its idle workers.
    fn dispatch(&mut self, service: &Bytes, peers: &mut Peers, now: Instant) {
        loop {
            let Some(request) = self
                .services
                .get_mut(&service[..])
                .filter(|entry| !entry.idle.is_empty())
                .and_then(|entry| entry.requests.pop_front())
            else {
                return;
            };
            if let Some(worker) = self.hand_to_idle(service, &request.client, &request.body, peers)
            {
                self.queued -= 1;
                self.queued_bytes -= request.cost;
                self.serve(&worker, service, request, now);
            } else {
                // Every idle worker was gone: the request waits for the next one.
                if let Some(entry) = self.services.get_mut(&service[..]) {
                    entry.requests.push_front(request);
                }
                return;
            }
        }
    }

    fn send(&self, peers: &mut Peers, peer: &[u8], head: &[&[u8]], body: &[Bytes]) {
        if peers.send(peer, head, body) != Sent::Queued {
            bump(&self.stats.undeliverable);
        }
    }

    /// Expiry of workers, heartbeats to the workers that were sent nothing since the last
    /// round, then expiry of requests nobody took.
    fn on_tick(&mut self, now: Instant, peers: &mut Peers) {
        self.expire_workers(now, peers);
        let heartbeat = protocol::worker_command(WorkerCommand::Heartbeat);
        let stats = &self.stats;
        for (identity, worker) in &mut self.workers {
            // 7/MDP: no HEARTBEAT while other commands are being sent; the request was one.
            if std::mem::take(&mut worker.sent_since_tick) {
                continue;
            }
            if peers.send(identity, &heartbeat, &[]) != Sent::Queued {
                bump(&stats.undeliverable);
            }
        }
        self.expire_requests(now);
    }

    /// Drops the idle workers silent past their liveness, and the busy ones past their
    /// request deadline (told DISCONNECT, their request handed on). A busy worker is not
    /// dropped for silence: a synchronous worker says nothing while it works.
    fn expire_workers(&mut self, now: Instant, peers: &mut Peers) {
        let expired: Vec<(Bytes, Farewell)> = self
            .workers
            .iter()
            .filter_map(|(identity, worker)| match &worker.serving {
                Some(held) if held.due <= now => Some((identity.clone(), Farewell::Disconnect)),
                None if worker.expires <= now => Some((identity.clone(), Farewell::Silent)),
                _ => None,
            })
            .collect();
        for (identity, farewell) in &expired {
            if *farewell == Farewell::Disconnect {
                bump(&self.stats.overdue_requests);
                tracing::debug!("MDP broker gave up a worker past its request deadline");
            } else {
                bump(&self.stats.expired_workers);
                tracing::debug!("MDP broker dropped a silent worker");
            }
            self.drop_worker(identity, *farewell, peers, now);
        }
    }

    /// Drops the waiting requests past their expiry.
    fn expire_requests(&mut self, now: Instant) {
        let stats = &self.stats;
        let (mut expired_requests, mut expired_bytes) = (0, 0);
        self.services.retain(|_, service| {
            let before = service.requests.len();
            service.requests.retain(|request| {
                let keep = request.expires > now;
                if !keep {
                    expired_bytes += request.cost;
                }
                keep
            });
            let dropped = before - service.requests.len();
            expired_requests += dropped;
            stats
                .expired_requests
                .fetch_add(dropped as u64, Ordering::Relaxed);
            // Forget services nobody serves or waits for, so that made-up names cost nothing.
            service.workers > 0 || !service.requests.is_empty()
        });
        self.queued -= expired_requests;
        self.queued_bytes -= expired_bytes;
    }

    /// Tells every worker DISCONNECT; what they hold is not handed on (the broker stops).
    fn disconnect_all(&mut self, peers: &mut Peers) {
        let identities: Vec<Bytes> = self.workers.keys().cloned().collect();
        for identity in identities {
            self.remove_worker(&identity, Farewell::Disconnect, peers);
        }
    }
}
