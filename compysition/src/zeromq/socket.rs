//! [`Socket`]: the connections of one connector, run in a task of their own — accepting on a
//! bound listener, or connecting to an endpoint and again whenever the connection is lost —
//! each established [`Link`] handed to the connector's `serve`, which runs until that
//! connection ends.
//!
//! A bound socket bounds what strangers can make it hold, as the crate's ROUTER does: every
//! handshake has a deadline, at most [`DEFAULT_MAX_HANDSHAKES`] run at once (a new connection
//! past that closes the oldest pending one, so that silent connections cannot keep real peers
//! out), and at most `max_peers` peers are served. A connecting socket pauses between attempts
//! as its [`RetryPolicy`](crate::retry::RetryPolicy) says: doubling, with jitter, reset by a
//! connection that completed its handshake.

use std::collections::VecDeque;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::{AbortHandle, JoinHandle, JoinSet};

use super::options::{Options, Place, SocketKind};
use super::stats::ZmqStats;
use crate::zmtp::limits::DEFAULT_MAX_HANDSHAKES;
use crate::zmtp::link::{Link, LinkSettings};

/// How long accepting pauses after `accept` failed (no file descriptor left, say): a failing
/// accept must not spin.
const ACCEPT_PAUSE: Duration = Duration::from_millis(100);

/// The running connections of a connector. Dropping it ends them all at once;
/// [`Socket::finish`] lets them end on their own first.
pub(crate) struct Socket {
    task: JoinHandle<()>,
    closing: watch::Sender<bool>,
}

/// What a socket's task needs, whichever way it connects.
struct Setup<F> {
    settings: LinkSettings,
    options: Options,
    stats: Arc<ZmqStats>,
    serve: F,
    closing: watch::Receiver<bool>,
}

impl Socket {
    /// Starts the connections of a socket of `kind` at `place`. Must be called inside a tokio
    /// runtime; fails only when a bound listener cannot be handed to it.
    pub(crate) fn start<F, Fut>(
        place: Place,
        kind: SocketKind,
        options: &Options,
        stats: Arc<ZmqStats>,
        serve: F,
    ) -> std::io::Result<Socket>
    where
        F: Fn(Link) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let (closing, closing_seen) = watch::channel(false);
        let setup = Setup {
            settings: options.link(kind),
            options: options.clone(),
            stats,
            serve,
            closing: closing_seen,
        };
        let task = match place {
            Place::Bind { listener, .. } => {
                listener.set_nonblocking(true)?;
                let listener = TcpListener::from_std(listener)?;
                tokio::spawn(accepting(listener, setup))
            }
            Place::Connect(endpoint) => tokio::spawn(connecting(endpoint, setup)),
        };
        Ok(Socket { task, closing })
    }

    /// Stops accepting and connecting, lets the connections being served end on their own
    /// (a PUSH's or PUB's once their queues are written out) and ends the rest after `within`.
    pub(crate) async fn finish(mut self, within: Duration) {
        let _ = self.closing.send(true);
        if tokio::time::timeout(within, &mut self.task).await.is_err() {
            tracing::debug!("ZeroMQ peers did not take what was queued for them in time");
        }
    }
}

impl Drop for Socket {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Resolves once the socket is closing.
async fn closed(closing: &mut watch::Receiver<bool>) {
    // An error means the socket is gone: that is a close too.
    let _ = closing.wait_for(|closing| *closing).await;
}

/// The task of a bound socket: accepts, runs handshakes, serves peers.
async fn accepting<F, Fut>(listener: TcpListener, mut setup: Setup<F>)
where
    F: Fn(Link) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    let mut handshakes: JoinSet<Option<Link>> = JoinSet::new();
    // The handshakes in progress, oldest first.
    let mut pending: VecDeque<AbortHandle> = VecDeque::new();
    let mut peers: JoinSet<()> = JoinSet::new();
    loop {
        tokio::select! {
            () = closed(&mut setup.closing) => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    pending.retain(|handshake| !handshake.is_finished());
                    if pending.len() >= DEFAULT_MAX_HANDSHAKES {
                        if let Some(oldest) = pending.pop_front() {
                            oldest.abort();
                        }
                    }
                    let (settings, stats) = (setup.settings.clone(), Arc::clone(&setup.stats));
                    let within = setup.options.handshake_timeout;
                    pending.push_back(handshakes.spawn(greet(stream, settings, within, stats)));
                }
                Err(error) => {
                    tracing::warn!(%error, "ZeroMQ listener cannot accept; pausing");
                    tokio::time::sleep(ACCEPT_PAUSE).await;
                }
            },
            Some(done) = handshakes.join_next() => {
                let Ok(Some(link)) = done else { continue };
                if peers.len() >= setup.options.max_peers {
                    setup.stats.count_refused();
                    tracing::debug!("ZeroMQ socket at its peer limit; closing a new connection");
                    continue;
                }
                let guard = setup.stats.peer_joined();
                let serving = (setup.serve)(link);
                peers.spawn(async move {
                    serving.await;
                    drop(guard);
                });
            },
            Some(_) = peers.join_next() => {}
        }
    }
    // Closing: no new peer; those being served end when their queues are written out.
    drop(handshakes);
    while peers.join_next().await.is_some() {}
}

/// The handshake of an accepted connection, within `within`; refusals are counted.
async fn greet(
    stream: tokio::net::TcpStream,
    settings: LinkSettings,
    within: Duration,
    stats: Arc<ZmqStats>,
) -> Option<Link> {
    match tokio::time::timeout(within, Link::establish(stream, &settings)).await {
        Ok(Ok(link)) => Some(link),
        Ok(Err(None)) => None,
        Ok(Err(Some(violation))) => {
            stats.count_refused();
            tracing::debug!(%violation, "refused a ZeroMQ connection");
            None
        }
        Err(_) => {
            stats.count_refused();
            tracing::debug!("refused a ZeroMQ connection: no handshake in time");
            None
        }
    }
}

/// The task of a connecting socket: connects, serves the connection until it ends, pauses,
/// connects again.
async fn connecting<F, Fut>(endpoint: String, mut setup: Setup<F>)
where
    F: Fn(Link) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    let policy = setup.options.reconnect_policy();
    let mut failures = 0u32;
    loop {
        let within = setup.options.handshake_timeout;
        let connected = tokio::select! {
            () = closed(&mut setup.closing) => return,
            connected = Link::connect(&endpoint, &setup.settings, within) => connected,
        };
        match connected {
            Ok(link) => {
                failures = 0;
                let guard = setup.stats.peer_joined();
                // Served to its end even when the socket is closing meanwhile: a PUSH's or
                // PUB's connection ends once its queue is written out.
                (setup.serve)(link).await;
                drop(guard);
                if *setup.closing.borrow() {
                    return;
                }
            }
            Err(why) => {
                failures = failures.saturating_add(1);
                tracing::debug!(%why, "ZeroMQ peer unreachable; connecting again");
            }
        }
        let pause = policy.delay(failures.max(1));
        tokio::select! {
            () = closed(&mut setup.closing) => return,
            () = tokio::time::sleep(pause) => {}
        }
    }
}
