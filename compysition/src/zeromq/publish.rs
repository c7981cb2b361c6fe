//! `ZmqPub`: a PUB socket (RFC 29 PUBSUB) as a sink — every event goes to every subscriber
//! whose subscriptions match its first frame, filtered on this side.
//!
//! Never waits on a subscriber: each has a queue of the high-water mark, and a message that
//! finds it full is dropped for that subscriber and counted
//! ([`ZmqStats::dropped_messages`]), as ZeroMQ does. A message that no subscriber wants goes
//! nowhere. Subscriptions arrive as ZMTP 3.0 messages or ZMTP 3.1 commands; anything else a
//! subscriber sends is dropped and counted as malformed.

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use super::frames::Frames;
use super::options::{socket_options, Options, Place, PUB};
use super::outlets::{drive, End, Outlets};
use super::socket::Socket;
use super::stats::ZmqStats;
use super::subscriptions::{self, Change, Subscriptions};
use crate::actor::{Actor, Context};
use crate::port::Inbox;
use crate::zmtp::link::{Link, Received};

/// Publishes every event to the subscribers whose topic prefixes match its first frame.
///
/// ```no_run
/// use compysition::actors::ZmqPub;
///
/// # fn example() -> compysition::Result<()> {
/// let quotes = ZmqPub::bind("tcp://*:5556")?.high_water_mark(10_000);
/// # let _ = quotes;
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
pub struct ZmqPub {
    place: Place,
    options: Options,
    stats: Arc<ZmqStats>,
}

socket_options!(ZmqPub, ".high_water_mark(10_000)");

impl ZmqPub {
    fn at(place: Place) -> Self {
        ZmqPub {
            place,
            options: Options::default(),
            stats: Arc::default(),
        }
    }

    /// How long a stopping PUB gives its subscribers to take what is queued for them (default
    /// [`DEFAULT_LINGER`](crate::zeromq::DEFAULT_LINGER); at most a year).
    pub fn linger(mut self, linger: Duration) -> Self {
        self.options.set_linger(linger);
        self
    }
}

/// One subscriber's subscriptions, shared by its connection (which changes them) and the actor
/// (which filters by them). Counted in the stats while they live.
struct Subscriber {
    subscriptions: Mutex<Subscriptions>,
    stats: Arc<ZmqStats>,
}

impl Subscriber {
    fn lock(&self) -> MutexGuard<'_, Subscriptions> {
        self.subscriptions
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn wants(&self, message: &Frames) -> bool {
        self.lock().wants(message.as_slice())
    }

    /// Applies what the subscriber sent, if it is a subscription.
    fn heard(&self, received: Received) {
        let change = match &received {
            Received::Message(frames) => match subscriptions::from_message(frames) {
                Some(request) => self.lock().apply(request),
                None => {
                    self.stats.count_malformed();
                    return;
                }
            },
            Received::Command(body) => match subscriptions::from_command(body) {
                Some(request) => self.lock().apply(request),
                None => return,
            },
        };
        match change {
            Change::Added => self.stats.add_subscriptions(1),
            Change::Removed => self.stats.remove_subscriptions(1),
            Change::Unchanged => {}
            Change::Refused => self.stats.count_malformed(),
        }
    }
}

impl Drop for Subscriber {
    fn drop(&mut self) {
        let held = self.lock().len() as u64;
        self.stats.remove_subscriptions(held);
    }
}

impl Actor for ZmqPub {
    type Inboxes = Inbox<Frames>;
    type Outboxes = ();

    async fn run(self, ctx: Context, mut inbox: Inbox<Frames>, (): ()) {
        let outlets = Outlets::<Arc<Subscriber>>::new();
        let serve = {
            let (outlets, stats) = (Arc::clone(&outlets), Arc::clone(&self.stats));
            let capacity = self.options.high_water_mark;
            move |link| serve(link, Arc::clone(&outlets), Arc::clone(&stats), capacity)
        };
        let stats = Arc::clone(&self.stats);
        let socket = match Socket::start(self.place, PUB, &self.options, self.stats, serve) {
            Ok(socket) => socket,
            Err(error) => {
                tracing::error!(actor = ctx.name(), %error, "ZmqPub cannot listen");
                return;
            }
        };
        let envelope = self.options.envelope;
        while let Some(event) = inbox.recv().await {
            let Some(message) = envelope.seal(event, &ctx, &stats).await else {
                continue;
            };
            outlets.publish(&message, |subscriber| subscriber.wants(&message), &stats);
        }
        outlets.close();
        socket.finish(self.options.linger).await;
    }
}

/// One subscriber: writes its queue out and keeps its subscriptions up to date.
async fn serve(
    mut link: Link,
    outlets: Arc<Outlets<Arc<Subscriber>>>,
    stats: Arc<ZmqStats>,
    capacity: usize,
) {
    let subscriber = Arc::new(Subscriber {
        subscriptions: Mutex::new(Subscriptions::default()),
        stats: Arc::clone(&stats),
    });
    let Some((joined, mut queue)) = outlets.join(Arc::clone(&subscriber), capacity) else {
        return;
    };
    let heard = |received| subscriber.heard(received);
    if let End::Lost(error) = drive(&mut link, &mut queue, &outlets, &stats, heard).await {
        stats.connection_lost(&error);
    }
    drop(joined);
}
