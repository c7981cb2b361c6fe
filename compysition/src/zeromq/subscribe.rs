//! `ZmqSub`: a SUB socket (RFC 29 PUBSUB) as a source — every message from a PUB peer that
//! starts with one of its topic prefixes becomes an event.
//!
//! On every connection it first sends its subscriptions (ZMTP 3.0 subscription messages,
//! which every libzmq understands), so that the PUB filters on its side; it filters again on
//! its own, since a PUB may send what was published before the subscriptions reached it and an
//! XPUB may send everything. With no subscription it receives nothing, as a ZeroMQ SUB.

use std::sync::Arc;

use bytes::Bytes;

use super::frames::Frames;
use super::inlet::{read_messages, run_inlet, Arrivals};
use super::options::{socket_options, Options, Place, SUB};
use super::stats::ZmqStats;
use super::subscriptions::{matches, subscribe_message};
use crate::actor::{Actor, Context};
use crate::port::Outbox;
use crate::zmtp::link::Link;

/// Emits every message its PUB peers publish under one of its topic prefixes.
///
/// ```no_run
/// use compysition::actors::ZmqSub;
///
/// # fn example() -> compysition::Result<()> {
/// let weather = ZmqSub::connect("tcp://127.0.0.1:5556")?
///     .subscribe("weather.paris")
///     .subscribe("weather.rome");
/// let everything = ZmqSub::bind("tcp://*:5559")?.subscribe("");
/// # let _ = (weather, everything);
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
pub struct ZmqSub {
    place: Place,
    options: Options,
    stats: Arc<ZmqStats>,
    topics: Vec<Bytes>,
}

socket_options!(ZmqSub, ".subscribe(\"weather.\")");

impl ZmqSub {
    fn at(place: Place) -> Self {
        ZmqSub {
            place,
            options: Options::default(),
            stats: Arc::default(),
            topics: Vec::new(),
        }
    }

    /// Receives the messages whose first frame starts with `prefix` (`""` for every message).
    /// May be called for as many prefixes as wanted.
    pub fn subscribe(mut self, prefix: impl Into<Bytes>) -> Self {
        let prefix = prefix.into();
        if !self.topics.contains(&prefix) {
            self.topics.push(prefix);
        }
        self
    }
}

impl Actor for ZmqSub {
    type Inboxes = ();
    type Outboxes = Outbox<Frames>;

    async fn run(self, ctx: Context, (): (), outbox: Outbox<Frames>) {
        let (options, stats) = (Arc::new(self.options), self.stats);
        let topics: Arc<[Bytes]> = self.topics.into();
        let serve = {
            let (options, stats) = (Arc::clone(&options), Arc::clone(&stats));
            move |link, arrivals| {
                let (options, stats) = (Arc::clone(&options), Arc::clone(&stats));
                serve(link, arrivals, options, stats, Arc::clone(&topics))
            }
        };
        run_inlet(&ctx, &outbox, (self.place, SUB), &options, stats, serve).await;
    }
}

/// One PUB peer: our subscriptions first, then its messages, filtered.
async fn serve(
    mut link: Link,
    arrivals: Arrivals,
    options: Arc<Options>,
    stats: Arc<ZmqStats>,
    topics: Arc<[Bytes]>,
) {
    for topic in topics.iter() {
        if let Err(error) = link.send(&[subscribe_message(topic)]) {
            return stats.connection_lost(&error);
        }
    }
    let wanted = |frames: &[Bytes]| matches(topics.iter().map(|topic| &topic[..]), frames);
    read_messages(link, arrivals, &options, &stats, wanted).await;
}
