//! The receiving side the PULL and SUB connectors share: every peer's connection task hands
//! the messages it reads to one bounded queue (the high-water mark), which the actor empties
//! into its outbox.
//!
//! The queue is the fair queue of RFC 30: a connection waits for room with the others in the
//! order they came (tokio's bounded channel serves its waiting senders first come, first
//! served), and reads its next message only once the last is in the queue. So while the flow
//! is slow every peer gets its turn, none grows a backlog here, and the wait reaches the peers
//! through TCP — a PUSH then sends to its other peers, a PUB drops for this subscriber.

use std::future::Future;
use std::sync::Arc;

use tokio::sync::mpsc;

use super::frames::Frames;
use super::options::{Options, Place, SocketKind};
use super::socket::Socket;
use super::stats::ZmqStats;
use crate::actor::Context;
use crate::event::Event;
use crate::port::Outbox;
use crate::zmtp::link::{Link, Received};

/// Where a connection task hands what it received.
pub(crate) type Arrivals = mpsc::Sender<Event<Frames>>;

/// Runs a receiving connector until the topology stops: its connections, each served by
/// `serve(link, arrivals)`, and the queue they fill emptied into `outbox`.
pub(crate) async fn run_inlet<F, Fut>(
    ctx: &Context,
    outbox: &Outbox<Frames>,
    (place, kind): (Place, SocketKind),
    options: &Options,
    stats: Arc<ZmqStats>,
    serve: F,
) where
    F: Fn(Link, Arrivals) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    let (arrivals, mut arrived) = mpsc::channel(options.high_water_mark.max(1));
    let serve = move |link| serve(link, arrivals.clone());
    let _socket = match Socket::start(place, kind, options, stats, serve) {
        Ok(socket) => socket,
        Err(error) => {
            tracing::error!(actor = ctx.name(), %error, "ZeroMQ connector cannot listen");
            return;
        }
    };
    loop {
        tokio::select! {
            biased;
            () = ctx.stopped() => break,
            event = arrived.recv() => match event {
                Some(event) => outbox.send(event).await,
                None => break,
            },
        }
    }
    // The socket goes with `_socket`: its connections end at once (what they read and did
    // not hand over is lost, as a ZeroMQ socket's queue is when it closes).
}

/// Reads `link` until it ends: every message `accept`ed is opened with the envelope and handed
/// over (waiting for room in the queue); commands are left to the link.
pub(crate) async fn read_messages(
    mut link: Link,
    arrivals: Arrivals,
    options: &Options,
    stats: &ZmqStats,
    accept: impl Fn(&[bytes::Bytes]) -> bool,
) {
    loop {
        let frames = match link.recv().await {
            Ok(Received::Message(frames)) => frames,
            Ok(Received::Command(_)) => continue,
            Err(error) => return stats.connection_lost(&error),
        };
        if !accept(&frames) {
            continue;
        }
        let event = match options.envelope.open(frames) {
            Ok(event) => event,
            Err(why) => {
                stats.count_malformed();
                tracing::debug!(%why, "dropped a ZeroMQ message");
                continue;
            }
        };
        // Counted first: once the flow has it, the count says so.
        stats.count_received();
        if arrivals.send(event).await.is_err() {
            return; // the actor is gone
        }
    }
}
