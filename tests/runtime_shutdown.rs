//! Backpressure, graceful stop, cycles and the shutdown deadline.

mod support;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use compysition::prelude::*;
use compysition::Error;
use support::collect;
use tokio::sync::Semaphore;

/// A source that emits numbered events as fast as the graph takes them, counting every send that
/// completed (an accepted event), until stopped or `limit` is reached.
struct Counter {
    sent: Arc<AtomicU64>,
    limit: u64,
}

impl Actor for Counter {
    type Inboxes = ();
    type Outboxes = Outbox<u64>;

    async fn run(self, ctx: Context, (): (), outbox: Outbox<u64>) {
        for n in 0..self.limit {
            if ctx.is_stopping() {
                break;
            }
            outbox.send(Event::new(n)).await;
            self.sent.fetch_add(1, Ordering::SeqCst);
        }
    }
}

/// A sink that takes one permit per event: the test decides how fast it consumes.
struct Gate {
    permits: Arc<Semaphore>,
    consumed: Arc<AtomicU64>,
}

impl Actor for Gate {
    type Inboxes = Inbox<u64>;
    type Outboxes = ();

    async fn run(self, ctx: Context, inbox: Inbox<u64>, (): ()) {
        ctx.serve(inbox, |_event| async {
            if let Ok(permit) = self.permits.acquire().await {
                permit.forget();
            }
            self.consumed.fetch_add(1, Ordering::SeqCst);
            Ok(())
        })
        .await
    }
}

#[tokio::test(start_paused = true)]
async fn a_slow_consumer_makes_the_producer_wait_and_memory_stays_bounded() {
    const CAPACITY: usize = 10;
    let sent = Arc::new(AtomicU64::new(0));
    let consumed = Arc::new(AtomicU64::new(0));
    let permits = Arc::new(Semaphore::new(0));
    let mut director = Director::new();
    let source = director.register_actor(
        "source",
        Counter {
            sent: Arc::clone(&sent),
            limit: 1_000_000,
        },
    );
    let gate = director.register_actor(
        "gate",
        Gate {
            permits: Arc::clone(&permits),
            consumed: Arc::clone(&consumed),
        }
        .ordered(),
    );
    director.connect_queue(&source, &gate).capacity(CAPACITY);
    director.start().expect("valid topology");

    // With time paused, this sleep returns only once every task is idle: the producer can go
    // no further.
    tokio::time::sleep(Duration::from_secs(1)).await;
    // The consumer holds one event; the queue holds CAPACITY; the producer waits on the next.
    assert_eq!(sent.load(Ordering::SeqCst), CAPACITY as u64 + 1);
    assert_eq!(consumed.load(Ordering::SeqCst), 0);

    permits.add_permits(25);
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(consumed.load(Ordering::SeqCst), 25);
    assert_eq!(sent.load(Ordering::SeqCst), 25 + CAPACITY as u64 + 1);

    permits.add_permits(Semaphore::MAX_PERMITS / 2);
    director.stop().await.expect("stops gracefully");
    assert_eq!(
        consumed.load(Ordering::SeqCst),
        sent.load(Ordering::SeqCst),
        "every accepted event was consumed"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn graceful_stop_delivers_every_accepted_event_through_three_stages() {
    let sent = Arc::new(AtomicU64::new(0));
    let mut director = Director::new();
    let (sink, mut got) = collect::<u64>();
    let source = director.register_actor(
        "source",
        Counter {
            sent: Arc::clone(&sent),
            limit: 100_000,
        },
    );
    let stages: Vec<_> = ["one", "two", "three"]
        .into_iter()
        .map(|name| {
            director.register_actor(name, from_fn(|event: Event<u64>| async move { Ok(event) }))
        })
        .collect();
    let sink = director.register_actor("sink", sink);
    director.connect_queue(&source, &stages[0]);
    director.connect_queue(&stages[0], &stages[1]);
    director.connect_queue(&stages[1], &stages[2]);
    director.connect_queue(&stages[2], &sink);
    director.start().expect("valid topology");

    // Stop in the middle of the flow.
    let mut received = Vec::new();
    while received.len() < 20_000 {
        match got.recv().await {
            Some(event) => received.push(event.data),
            None => break,
        }
    }
    director.stop().await.expect("stops gracefully");
    received.extend(got.events().await.into_iter().map(|e| e.data));

    let accepted = sent.load(Ordering::SeqCst);
    assert!(accepted >= 20_000, "the source was running: {accepted}");
    assert_eq!(received.len() as u64, accepted, "nothing accepted was lost");
    received.sort_unstable();
    received.dedup();
    assert_eq!(received.len() as u64, accepted, "nothing delivered twice");
    assert_eq!(received.last().copied(), Some(accepted - 1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flow_that_runs_dry_ends_by_itself_with_every_event_delivered() {
    let sent = Arc::new(AtomicU64::new(0));
    let mut director = Director::new();
    let (sink, mut got) = collect::<u64>();
    let source = director.register_actor(
        "source",
        Counter {
            sent: Arc::clone(&sent),
            limit: 100_000,
        },
    );
    let pass = director.register_actor("pass", from_fn(|e: Event<u64>| async move { Ok(e) }));
    let sink = director.register_actor("sink", sink);
    director.connect_queue(&source, &pass);
    director.connect_queue(&pass, &sink);
    director.start().expect("valid topology");
    director
        .wait()
        .await
        .expect("ends when the source is exhausted");
    assert_eq!(got.events().await.len(), 100_000);
}

/// A source and sink in one actor, like an HTTP server: it emits requests and counts the
/// answers that come back round.
struct Gateway {
    requests: u64,
    answered: Arc<AtomicU64>,
}

impl Actor for Gateway {
    type Inboxes = Inbox<u64>;
    type Outboxes = Outbox<u64>;

    async fn run(self, _ctx: Context, mut answers: Inbox<u64>, requests: Outbox<u64>) {
        let emit = async move {
            for n in 0..self.requests {
                requests.send(Event::new(n)).await;
            }
            // Dropping the outbox lets the cycle drain and close.
        };
        let collect = async {
            while answers.recv().await.is_some() {
                self.answered.fetch_add(1, Ordering::SeqCst);
            }
        };
        tokio::join!(emit, collect);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cycle_of_actors_under_load_does_not_deadlock() {
    const REQUESTS: u64 = 50_000;
    let answered = Arc::new(AtomicU64::new(0));
    let mut director = Director::new();
    // Tiny queues: the cycle is full most of the time.
    director.set_default_capacity(2);
    let gateway = director.register_actor(
        "gateway",
        Gateway {
            requests: REQUESTS,
            answered: Arc::clone(&answered),
        },
    );
    let a = director.register_actor("a", from_fn(|e: Event<u64>| async move { Ok(e) }));
    let b = director.register_actor(
        "b",
        from_fn(|e: Event<u64>| async move { Ok(e.map(|n| n + 1)) }),
    );
    director.connect_queue(&gateway, &a);
    director.connect_queue(&a, &b);
    director.connect_queue(&b, &gateway);
    director.start().expect("valid topology");
    tokio::time::timeout(Duration::from_secs(120), director.wait())
        .await
        .expect("the cycle drained instead of deadlocking")
        .expect("finishes cleanly");
    assert_eq!(answered.load(Ordering::SeqCst), REQUESTS);
}

/// An actor that never finishes, whatever happens to its inbox.
struct Stuck;

impl Actor for Stuck {
    type Inboxes = Inbox<u64>;
    type Outboxes = ();

    async fn run(self, _ctx: Context, _inbox: Inbox<u64>, (): ()) {
        std::future::pending::<()>().await
    }
}

#[tokio::test(start_paused = true)]
async fn the_shutdown_deadline_aborts_actors_that_do_not_finish() {
    let mut director = Director::new();
    director.set_shutdown_timeout(Duration::from_secs(5));
    let source = director.register_actor(
        "source",
        Counter {
            sent: Arc::new(AtomicU64::new(0)),
            limit: 3,
        },
    );
    let stuck = director.register_actor("stuck", Stuck);
    director.connect_queue(&source, &stuck);
    director.start().expect("valid topology");
    match director.stop().await {
        Err(Error::ShutdownTimeout { deadline, aborted }) => {
            assert_eq!(deadline, Duration::from_secs(5));
            assert_eq!(aborted, ["stuck"]);
        }
        other => panic!("expected a shutdown timeout, got {other:?}"),
    }
}
