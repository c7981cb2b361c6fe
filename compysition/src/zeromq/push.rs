//! `ZmqPush`: a PUSH socket (RFC 30 PIPELINE) as a sink — every event goes to one PULL peer,
//! the peers in turn.
//!
//! Round robin over the peers connected now, each with a queue of its high-water mark. When
//! every queue is full, or no peer is connected, the actor holds the event and takes no other
//! from its inbox: the flow behind it waits (its inbox fills, then the actor feeding it waits),
//! as a ZeroMQ PUSH blocks — nothing queues without bound. On a graceful stop it drains its
//! inbox, waiting at most [`linger`](ZmqPush::linger) for a peer to take each event (past it,
//! events are dropped and counted), and gives its peers as long to take what is queued.

use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;

use super::frames::Frames;
use super::options::{socket_options, Options, Place, PUSH};
use super::outlets::{drive, End, Outlets};
use super::socket::Socket;
use super::stats::ZmqStats;
use crate::actor::{Actor, Context};
use crate::port::Inbox;
use crate::zmtp::link::{Link, Received};

/// Sends every event to one PULL peer, the peers in turn; holds its inbox back while no peer
/// can take one.
///
/// ```no_run
/// use compysition::actors::ZmqPush;
///
/// # fn example() -> compysition::Result<()> {
/// let to_workers = ZmqPush::connect("tcp://127.0.0.1:5557")?.high_water_mark(100);
/// let for_workers = ZmqPush::bind("tcp://*:5558")?;
/// # let _ = (to_workers, for_workers);
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
pub struct ZmqPush {
    place: Place,
    options: Options,
    stats: Arc<ZmqStats>,
}

socket_options!(ZmqPush, ".high_water_mark(100)");

impl ZmqPush {
    fn at(place: Place) -> Self {
        ZmqPush {
            place,
            options: Options::default(),
            stats: Arc::default(),
        }
    }

    /// How long a stopping PUSH gives its peers to take what is queued for them (default
    /// [`DEFAULT_LINGER`](crate::zeromq::DEFAULT_LINGER); at most a year).
    pub fn linger(mut self, linger: Duration) -> Self {
        self.options.set_linger(linger);
        self
    }
}

impl Actor for ZmqPush {
    type Inboxes = Inbox<Frames>;
    type Outboxes = ();

    async fn run(self, ctx: Context, mut inbox: Inbox<Frames>, (): ()) {
        let outlets = Outlets::<()>::new();
        let serve = {
            let (outlets, stats) = (Arc::clone(&outlets), Arc::clone(&self.stats));
            let capacity = self.options.high_water_mark;
            move |link| serve(link, Arc::clone(&outlets), Arc::clone(&stats), capacity)
        };
        let stats = Arc::clone(&self.stats);
        let socket = match Socket::start(self.place, PUSH, &self.options, self.stats, serve) {
            Ok(socket) => socket,
            Err(error) => {
                tracing::error!(actor = ctx.name(), %error, "ZmqPush cannot listen");
                return;
            }
        };
        let (envelope, linger) = (self.options.envelope, self.options.linger);
        // Set once the topology stops: past it, an event no peer takes is dropped (and counted)
        // rather than held for a peer that may never come.
        let mut give_up_at = None;
        while let Some(event) = inbox.recv().await {
            let Some(message) = envelope.seal(event, &ctx, &stats).await else {
                continue;
            };
            tokio::select! {
                () = outlets.send_waiting(message) => {}
                () = stopped_for(&ctx, linger, &mut give_up_at) => stats.count_dropped(),
            }
        }
        outlets.close();
        socket.finish(linger).await;
    }
}

/// Resolves `linger` after the topology began to stop (at once past that).
async fn stopped_for(ctx: &Context, linger: Duration, give_up_at: &mut Option<Instant>) {
    ctx.stopped().await;
    let at = *give_up_at.get_or_insert_with(|| Instant::now() + linger);
    tokio::time::sleep_until(at).await;
}

/// One PULL peer: writes its queue out; a PULL sends nothing, so whatever it sends is dropped
/// and counted.
async fn serve(mut link: Link, outlets: Arc<Outlets<()>>, stats: Arc<ZmqStats>, capacity: usize) {
    let Some((joined, mut queue)) = outlets.join((), capacity) else {
        return;
    };
    let talked_back = |received| {
        if let Received::Message(_) = received {
            stats.count_malformed();
        }
    };
    if let End::Lost(error) = drive(&mut link, &mut queue, &outlets, &stats, talked_back).await {
        stats.connection_lost(&error);
    }
    drop(joined);
}
