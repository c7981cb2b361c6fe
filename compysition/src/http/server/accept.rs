//! Accepting connections and serving each on a task of its own (HTTP/1.1 with keep-alive, and
//! HTTP/2 with the `http2` feature), until the topology stops; then letting the requests in
//! flight finish.

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
use tracing::instrument::WithSubscriber;
use tracing::Instrument;

use crate::actor::Context;

use super::request::handle;
use super::{HttpOutboxes, Shared, HEADER_READ_TIMEOUT};

/// Accepts connections until the topology stops, then lets the open ones finish their requests
/// (bounded by the answer timeout) and returns, releasing the outboxes.
pub(super) async fn accept_until_stopped<O: HttpOutboxes>(
    ctx: &Context,
    listener: TcpListener,
    shared: Arc<Shared<O>>,
) {
    let (stopping, stop_signal) = watch::channel(false);
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            () = ctx.stopped() => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => {
                    let connection = serve_connection(stream, Arc::clone(&shared), stop_signal.clone())
                        .instrument(tracing::debug_span!("connection", %peer))
                        .with_current_subscriber();
                    connections.spawn(connection);
                }
                Err(error) => {
                    // Out of file descriptors and the like: back off instead of spinning.
                    tracing::warn!(%error, "accepting a connection failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            },
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
    drop(listener);
    stopping.send_replace(true);
    let in_flight = connections.len();
    if in_flight > 0 {
        tracing::info!(
            connections = in_flight,
            "stopping: finishing requests in flight"
        );
    }
    // Every request in flight ends by its timeout at the latest; a little more lets its answer
    // be written.
    let deadline = shared.config.timeout + Duration::from_secs(1);
    let drained = tokio::time::timeout(deadline, async {
        while connections.join_next().await.is_some() {}
    })
    .await;
    if drained.is_err() {
        tracing::warn!(
            connections = connections.len(),
            "connections still open after the drain deadline; closing them"
        );
        connections.shutdown().await;
    }
}

async fn serve_connection<O: HttpOutboxes>(
    stream: TcpStream,
    shared: Arc<Shared<O>>,
    mut stopping: watch::Receiver<bool>,
) {
    // Answers are small and written at once; waiting to fill a segment only adds latency.
    let _ = stream.set_nodelay(true);
    let service = service_fn(move |request| {
        let shared = Arc::clone(&shared);
        async move { Ok::<_, Infallible>(handle(request, &shared).await) }
    });
    #[cfg(not(feature = "http2"))]
    let builder = {
        let mut builder = http1::Builder::new();
        builder
            .timer(TokioTimer::new())
            .header_read_timeout(HEADER_READ_TIMEOUT);
        builder
    };
    // HTTP/1.1 or HTTP/2, by what the client sends first (the HTTP/2 preface or a request line).
    #[cfg(feature = "http2")]
    let builder = {
        let mut builder = hyper_util::server::conn::auto::Builder::new(http2::StreamExecutor);
        builder
            .http1()
            .timer(TokioTimer::new())
            .header_read_timeout(HEADER_READ_TIMEOUT);
        builder
            .http2()
            .timer(TokioTimer::new())
            .max_concurrent_streams(http2::MAX_CONCURRENT_STREAMS);
        builder
    };
    let connection = builder.serve_connection(TokioIo::new(stream), service);
    tokio::pin!(connection);
    let stop = async move {
        // An error means the server is gone: stop too.
        let _ = stopping.wait_for(|stopping| *stopping).await;
    };
    let result = tokio::select! {
        result = connection.as_mut() => result,
        () = stop => {
            connection.as_mut().graceful_shutdown();
            connection.await
        }
    };
    if let Err(error) = result {
        tracing::debug!(%error, "connection ended with an error");
    }
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
