//! `ZmqPull`: a PULL socket (RFC 30 PIPELINE) as a source — every message from any PUSH peer
//! becomes an event, the peers fair-queued.
//!
//! The messages of all peers wait in one queue of the high-water mark; while the flow is slow
//! a connection reads its next message only once its last is queued, so the peers take turns
//! and the wait reaches them through TCP (see `inlet.rs`).

use std::sync::Arc;

use super::frames::Frames;
use super::inlet::{read_messages, run_inlet};
use super::options::{socket_options, Options, Place, PULL};
use super::stats::ZmqStats;
use crate::actor::{Actor, Context};
use crate::port::Outbox;

/// Emits every message its PUSH peers send, as an event of its frames.
///
/// ```no_run
/// use compysition::actors::ZmqPull;
///
/// # fn example() -> compysition::Result<()> {
/// let from_producers = ZmqPull::bind("tcp://*:5557")?;
/// let from_ventilator = ZmqPull::connect("tcp://127.0.0.1:5558")?;
/// # let _ = (from_producers, from_ventilator);
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
pub struct ZmqPull {
    place: Place,
    options: Options,
    stats: Arc<ZmqStats>,
}

socket_options!(ZmqPull, ".high_water_mark(100)");

impl ZmqPull {
    fn at(place: Place) -> Self {
        ZmqPull {
            place,
            options: Options::default(),
            stats: Arc::default(),
        }
    }
}

impl Actor for ZmqPull {
    type Inboxes = ();
    type Outboxes = Outbox<Frames>;

    async fn run(self, ctx: Context, (): (), outbox: Outbox<Frames>) {
        let (options, stats) = (Arc::new(self.options), self.stats);
        let serve = {
            let (options, stats) = (Arc::clone(&options), Arc::clone(&stats));
            move |link, arrivals| {
                let (options, stats) = (Arc::clone(&options), Arc::clone(&stats));
                async move { read_messages(link, arrivals, &options, &stats, |_| true).await }
            }
        };
        run_inlet(&ctx, &outbox, (self.place, PULL), &options, stats, serve).await;
    }
}
