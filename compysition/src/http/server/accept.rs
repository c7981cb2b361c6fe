//! Accepting connections and serving each on a task of its own (HTTP/1.1 with keep-alive, and
//! HTTP/2 with the `http2` feature) under the connection table's limit and deadlines, until the
//! topology stops; then draining: the requests in flight get their answers, or `503` at the
//! drain deadline.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

#[cfg(not(feature = "http2"))]
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinSet;
use tokio::time::Instant;
use tracing::instrument::WithSubscriber;
use tracing::Instrument;

use crate::actor::Context;

use super::connections::{Expiry, Seat, Timeouts};
use super::request::handle;
use super::{HttpOutboxes, Shared};

/// Accepts connections until the topology stops, then drains: the open connections finish the
/// requests they have (their answers, or `503` at the drain deadline) and close.
pub(super) async fn accept_until_stopped<O: HttpOutboxes>(
    ctx: &Context,
    listener: TcpListener,
    shared: Arc<Shared<O>>,
) {
    let (stopping, stop_signal) = watch::channel(false);
    let mut connections = JoinSet::new();
    let mut accept_errors = AcceptErrors::default();
    loop {
        tokio::select! {
            () = ctx.stopped() => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => {
                    let Some(admission) = shared.connections.admit() else {
                        tracing::debug!(%peer, "every connection has a request in flight; refused");
                        continue;
                    };
                    shared.stats.count_opened();
                    if admission.evicted {
                        shared.stats.count_evicted();
                        tracing::debug!(%peer, "at the connection limit: closed the connection idle the longest");
                    }
                    let connection = serve_connection(stream, admission.seat, Arc::clone(&shared), stop_signal.clone())
                        .instrument(tracing::debug_span!("connection", %peer))
                        .with_current_subscriber();
                    connections.spawn(connection);
                }
                Err(error) => {
                    accept_errors.warn(&error);
                    // Out of file descriptors and the like: back off instead of spinning.
                    tokio::time::sleep(ACCEPT_BACKOFF).await;
                }
            },
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
    drop(listener);
    stopping.send_replace(true);
    drain(ctx, connections, &shared).await;
}

/// How long accepting waits after a failure (out of file descriptors, say) before it tries again.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(50);
/// Accept failures are logged at most once in this long, with the count of the ones in between.
const ACCEPT_WARNING_INTERVAL: Duration = Duration::from_secs(10);
/// After the drain deadline, how long the `503`s have to be written before connections are cut.
const DRAIN_WRITE_GRACE: Duration = Duration::from_millis(500);

/// Rate-limits the warning for failed accepts: out of file descriptors, they fail 20 times a
/// second.
#[derive(Default)]
struct AcceptErrors {
    last_warning: Option<Instant>,
    suppressed: u64,
}

impl AcceptErrors {
    fn warn(&mut self, error: &std::io::Error) {
        let now = Instant::now();
        if self
            .last_warning
            .is_some_and(|last| now.duration_since(last) < ACCEPT_WARNING_INTERVAL)
        {
            self.suppressed += 1;
            return;
        }
        tracing::warn!(%error, suppressed = self.suppressed, "accepting a connection failed");
        self.last_warning = Some(now);
        self.suppressed = 0;
    }
}

/// Lets the open connections finish the requests they have within the drain deadline, then
/// answers what is still waiting `503` and closes what is left; logs how each request ended.
async fn drain<O>(ctx: &Context, mut connections: JoinSet<()>, shared: &Shared<O>) {
    let before = DrainCounts::now(&shared.stats);
    let deadline = drain_deadline(&shared.config, ctx.shutdown_timeout());
    let open = connections.len();
    if open > 0 {
        tracing::info!(
            connections = open,
            ?deadline,
            "stopping: finishing requests in flight"
        );
    }
    let drained = tokio::time::timeout(deadline, async {
        while connections.join_next().await.is_some() {}
    })
    .await;
    if drained.is_err() {
        // Every request still waiting answers 503 now; a moment to write those answers.
        shared.drain_expired.send_replace(true);
        let _ = tokio::time::timeout(DRAIN_WRITE_GRACE, async {
            while connections.join_next().await.is_some() {}
        })
        .await;
        if !connections.is_empty() {
            tracing::warn!(
                connections = connections.len(),
                "connections still open after the drain; closing them"
            );
            connections.shutdown().await;
        }
    }
    let after = DrainCounts::now(&shared.stats);
    if open > 0 {
        tracing::info!(
            answered = after.answered - before.answered,
            refused_503 = after.refused - before.refused,
            timed_out_504 = after.timed_out - before.timed_out,
            "stopped: requests in flight at the stop"
        );
    }
}

/// The server's own drain deadline: the configured one, or else the request timeout within two
/// thirds of the topology's shutdown timeout (the rest is the flow's, to drain behind it).
fn drain_deadline(config: &super::Config, shutdown_timeout: Duration) -> Duration {
    config
        .drain_timeout
        .unwrap_or_else(|| config.timeout.min(shutdown_timeout * 2 / 3))
}

/// The counters a drain reports the change of.
struct DrainCounts {
    answered: u64,
    refused: u64,
    timed_out: u64,
}

impl DrainCounts {
    fn now(stats: &crate::http::stats::HttpStats) -> Self {
        DrainCounts {
            answered: stats.answered(),
            refused: stats.refused_stopping(),
            timed_out: stats.timed_out(),
        }
    }
}

async fn serve_connection<O: HttpOutboxes>(
    stream: TcpStream,
    seat: Arc<Seat>,
    shared: Arc<Shared<O>>,
    mut stopping: watch::Receiver<bool>,
) {
    // Answers are small and written at once; waiting to fill a segment only adds latency.
    let _ = stream.set_nodelay(true);
    // Also when the task is aborted at the end of a drain.
    let _seat_back = GiveSeatBack {
        shared: &shared,
        seat: &seat,
    };
    let service = {
        let (shared, seat) = (Arc::clone(&shared), Arc::clone(&seat));
        service_fn(move |request| {
            let in_flight = seat.start_request();
            let shared = Arc::clone(&shared);
            async move {
                let response = handle(request, &shared, &in_flight).await;
                drop(in_flight);
                Ok::<_, Infallible>(response)
            }
        })
    };
    let builder = builder(&shared.config);
    let connection = builder.serve_connection(TokioIo::new(stream), service);
    tokio::pin!(connection);
    let stop = async move {
        // An error means the server is gone: stop too.
        let _ = stopping.wait_for(|stopping| *stopping).await;
    };
    tokio::pin!(stop);
    let timeouts = Timeouts {
        header: shared.config.header_timeout,
        idle: shared.config.idle_timeout,
    };
    let result = loop {
        let next_check = seat.next_check(timeouts, Instant::now());
        tokio::select! {
            result = connection.as_mut() => break result,
            () = &mut stop => {
                connection.as_mut().graceful_shutdown();
                break connection.await;
            }
            () = seat.evicted() => break Ok(()),
            // The deadline moves: from the accept's (or the last request's) to this one's end.
            () = seat.request_ended() => {}
            () = tokio::time::sleep_until(next_check) => match seat.expiry(timeouts, Instant::now()) {
                Some(Expiry::NoHead) => {
                    shared.stats.count_header_timeout();
                    tracing::debug!("no complete request head in time; closed");
                    break Ok(());
                }
                Some(Expiry::Idle) => {
                    shared.stats.count_idle_closed();
                    tracing::debug!("idle for the idle timeout; closed");
                    break Ok(());
                }
                None => {}
            },
        }
    };
    if let Err(error) = result {
        tracing::debug!(%error, "connection ended with an error");
    }
}

/// Gives a connection's seat back when its task ends, however it ends.
struct GiveSeatBack<'a, O> {
    shared: &'a Shared<O>,
    seat: &'a Seat,
}

impl<O> Drop for GiveSeatBack<'_, O> {
    fn drop(&mut self) {
        self.shared.connections.release(self.seat);
        self.shared.stats.count_closed();
    }
}

/// The connection builder: HTTP/1.1, or with the `http2` feature HTTP/1.1 or HTTP/2 by what
/// the client sends first (the HTTP/2 preface or a request line).
#[cfg(not(feature = "http2"))]
fn builder(config: &super::Config) -> http1::Builder {
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        // hyper starts this when it waits for a head, idle or not: between requests it is the
        // idle timeout; the first head's deadline is the connection table's.
        .header_read_timeout(config.idle_timeout.max(config.header_timeout))
        .max_buf_size(config.header_limit);
    builder
}

#[cfg(feature = "http2")]
fn builder(
    config: &super::Config,
) -> hyper_util::server::conn::auto::Builder<http2::StreamExecutor> {
    let mut builder = hyper_util::server::conn::auto::Builder::new(http2::StreamExecutor);
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(config.idle_timeout.max(config.header_timeout))
        .max_buf_size(config.header_limit);
    builder
        .http2()
        .timer(TokioTimer::new())
        .max_concurrent_streams(http2::MAX_CONCURRENT_STREAMS)
        .max_header_list_size(u32::try_from(config.header_limit).unwrap_or(u32::MAX))
        .keep_alive_interval(Some(config.ping_interval))
        .keep_alive_timeout(config.ping_timeout);
    builder
}

#[cfg(feature = "http2")]
mod http2 {
    use std::future::Future;

    use tracing::instrument::WithSubscriber;
    use tracing::Instrument;

    /// Streams one HTTP/2 client may have open at once: each is a request in the flow, so this
    /// bounds what one connection can put into it, as keep-alive does for HTTP/1.1.
    pub(super) const MAX_CONCURRENT_STREAMS: u32 = 128;

    /// Runs each HTTP/2 stream as a task of its own, in the connection's span and with the
    /// topology's log dispatch, so its log records carry the same context as HTTP/1.1 ones.
    #[derive(Clone, Copy)]
    pub(super) struct StreamExecutor;

    impl<F> hyper::rt::Executor<F> for StreamExecutor
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        fn execute(&self, stream: F) {
            // Called from the connection's task: its span and dispatch are the current ones.
            tokio::spawn(stream.in_current_span().with_current_subscriber());
        }
    }
}
