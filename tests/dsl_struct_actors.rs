//! `#[actor]` on a struct and its impl: named inboxes and outboxes, sources, sinks and error
//! handlers, wired by port name in `topology!`.

mod support;

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;

use compysition::actors::EventGenerator;
use compysition::prelude::*;
use support::collect;

#[derive(Clone, Debug, PartialEq)]
pub struct Order {
    amount: u32,
}

/// Accepts orders up to a limit; counts the failures routed to it.
#[actor(inboxes(orders: Order), outboxes(ok: Order, rejected: Order))]
pub struct Validator {
    limit: u32,
    failures: Arc<AtomicU32>,
}

#[actor]
impl Validator {
    #[inbox]
    async fn orders(&self, event: Event<Order>, out: &ValidatorOutboxes) -> Result<(), EventError> {
        if event.data.amount <= self.limit {
            out.ok.send(event).await;
        } else {
            out.rejected.send(event).await;
        }
        Ok(())
    }

    #[errors]
    async fn failures(&self, _event: ErrorEvent) {
        self.failures.fetch_add(1, Ordering::SeqCst);
    }
}

/// Emits orders of the given amounts, then finishes.
#[actor(outboxes(orders: Order))]
pub struct OrderBook {
    amounts: Vec<u32>,
}

#[actor]
impl OrderBook {
    #[source]
    async fn produce(&self, _ctx: &Context, out: &OrderBookOutboxes) {
        for &amount in &self.amounts {
            out.orders.send(Event::new(Order { amount })).await;
        }
    }
}

/// Emits one event after another until the topology stops.
#[actor(outboxes(ticks: u32))]
pub struct Ticker;

#[actor]
impl Ticker {
    #[source]
    async fn produce(&self, ctx: &Context, out: &TickerOutboxes) {
        let mut n = 0;
        while !ctx.is_stopping() {
            out.ticks.send(Event::new(n)).await;
            n += 1;
            tokio::task::yield_now().await;
        }
    }
}

/// Joins two inboxes into one outbox, tagging where each event came from.
#[actor(inboxes(left: u32, right: u32), outboxes(joined: String))]
pub struct Join;

#[actor]
impl Join {
    #[inbox]
    async fn left(&self, event: Event<u32>, out: &JoinOutboxes) {
        out.joined.send(event.map(|n| format!("left {n}"))).await;
    }

    /// A plain (not async) handler: it refuses zero and drops the rest.
    #[inbox]
    fn right(&self, event: Event<u32>) -> Result<(), EventError> {
        match event.data {
            0 => Err(EventError::malformed("zero on the right")),
            _ => Ok(()),
        }
    }
}

/// Counts what it receives; has no outbox.
#[actor(inboxes(events: String))]
pub struct Counter {
    seen: Arc<AtomicU32>,
}

#[actor]
impl Counter {
    #[inbox]
    async fn events(&self, _event: Event<String>) {
        self.seen.fetch_add(1, Ordering::SeqCst);
    }
}

#[tokio::test]
async fn named_outboxes_route_events_by_port() {
    let (accepted, mut kept_ok) = collect::<Order>();
    let (refused, mut kept_rejected) = collect::<Order>();
    let topology = topology! {
        book = OrderBook { amounts: vec![5, 50, 7, 70] };
        validator = Validator { limit: 10, failures: Arc::default() };
        accepted = accepted;
        refused = refused;
        book -> validator;
        validator.ok -> accepted;
        validator.rejected -> refused;
    };
    topology.run().await.expect("runs");
    let amounts = |orders: Vec<Order>| {
        let mut amounts: Vec<u32> = orders.into_iter().map(|o| o.amount).collect();
        amounts.sort_unstable();
        amounts
    };
    assert_eq!(amounts(kept_ok.payloads().await), [5, 7]);
    assert_eq!(amounts(kept_rejected.payloads().await), [50, 70]);
}

#[tokio::test]
async fn an_errors_handler_receives_the_errors_routed_to_it() {
    let failures = Arc::new(AtomicU32::new(0));
    let (sink, mut kept) = collect::<String>();
    let topology = topology! {
        zero = EventGenerator::once(0u32);
        one = EventGenerator::once(1u32);
        join = Join;
        validator = Validator { limit: 1, failures: Arc::clone(&failures) };
        book = OrderBook { amounts: vec![] };
        sink = sink;
        accepted = collect::<Order>().0;
        zero -> join.right;
        one -> join.left;
        join -> sink;
        join !-> validator;
        book -> validator.orders;
        validator.ok -> accepted;
        #[capacity = 1]
        validator.rejected -> accepted;
    };
    topology.run().await.expect("runs");
    assert_eq!(kept.payloads().await, ["left 1".to_string()]);
    assert_eq!(failures.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn a_source_actor_stops_when_the_topology_stops() {
    let (sink, mut kept) = collect::<u32>();
    let topology = topology! {
        ticker = Ticker;
        sink = sink;
        ticker -> sink;
    };
    let running = topology.start().expect("starts");
    let mut ticks = Vec::new();
    while ticks.len() < 3 {
        ticks.push(kept.recv().await.expect("the ticker runs").data);
    }
    running.stop().await.expect("stops gracefully");
    ticks.extend(kept.payloads().await);
    assert_eq!(ticks, (0..ticks.len() as u32).collect::<Vec<_>>());
}

#[tokio::test]
async fn a_sink_actor_takes_events_without_an_outbox() {
    let seen = Arc::new(AtomicU32::new(0));
    let topology = topology! {
        #![capacity = 2]
        source = EventGenerator::once("a".to_string());
        other = EventGenerator::once("b".to_string());
        counter = Counter { seen: Arc::clone(&seen) };
        [source, other] -> counter;
    };
    topology.run().await.expect("runs");
    assert_eq!(seen.load(Ordering::SeqCst), 2);
}

/// Emits the numbers below `count`, then finishes.
#[actor(outboxes(numbers: u32))]
pub struct Numbers {
    count: u32,
}

#[actor]
impl Numbers {
    #[source]
    async fn produce(&self, _ctx: &Context, out: &NumbersOutboxes) {
        for n in 0..self.count {
            out.numbers.send(Event::new(n)).await;
        }
    }
}

/// Sends every job on; reports each failure that comes back round to it.
#[actor(inboxes(jobs: u32), outboxes(out: u32))]
pub struct Dispatcher {
    failed: tokio::sync::mpsc::UnboundedSender<String>,
}

#[actor]
impl Dispatcher {
    #[inbox]
    async fn jobs(&self, event: Event<u32>, out: &DispatcherOutboxes) {
        out.out.send(event).await;
    }

    #[errors]
    async fn failures(&self, event: ErrorEvent) {
        let message = event.error().map(|e| e.message().to_string());
        let _ = self.failed.send(message.unwrap_or_default());
    }
}

#[actor]
fn refuse(event: Event<u32>) -> Result<Event<u32>, EventError> {
    Err(EventError::malformed(format!("job {} refused", event.data)))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_ordered_actor_takes_its_errors_back_while_its_handler_waits_downstream() {
    // Queues of one: the dispatcher's one handler soon waits for room at `refuser`, whose
    // handlers wait for room in the dispatcher's error inbox. Errors are taken apart from the
    // jobs, so the cycle keeps moving.
    let (failed, mut failures) = tokio::sync::mpsc::unbounded_channel();
    let mut topology = topology! {
        #![capacity = 1]
        numbers = Numbers { count: 500 };
        dispatcher = Dispatcher { failed }.ordered();
        refuser = refuse;
        numbers -> dispatcher.jobs;
        dispatcher.out -> refuser;
        refuser !-> dispatcher;
    };
    // The cycle keeps its own queues open (nothing in it is a source and a sink at once), so
    // the stop ends at the deadline.
    topology
        .director_mut()
        .set_shutdown_timeout(std::time::Duration::from_millis(200));
    let running = topology.start().expect("starts");
    let all_back = async {
        let mut messages = Vec::new();
        while messages.len() < 500 {
            messages.push(failures.recv().await.expect("the dispatcher runs"));
        }
        messages
    };
    let messages = tokio::time::timeout(std::time::Duration::from_secs(20), all_back)
        .await
        .expect("every failure comes back: the cycle does not deadlock");
    assert!(
        messages.iter().all(|m| m.contains("refused")),
        "{messages:?}"
    );
    let stopped = running
        .stop()
        .await
        .expect_err("the cycle outlives the deadline");
    assert!(stopped.to_string().contains("dispatcher"), "{stopped}");
}
