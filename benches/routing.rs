//! Routing and joining against the plain pipeline, in the same run.
//!
//! Ours: `Xml` orders through a first-match `Router` with four XPath routes (each order
//! matches one of them, the lanes taken in turn, so one to four predicates are evaluated), the
//! four lanes funnelled into a fan-out to three branches and a three-way `Join` by `meta_id`,
//! then a sink. The baseline: plain `u64` values through five tasks joined by `mpsc(1024)`,
//! the chain a user would write without the framework (as in `benches/pipeline.rs`).
//!
//! Prints `RESULT routing_join events_per_sec=<n> baseline_values_per_sec=<n> ratio=<r>`.

#[path = "support/median.rs"]
mod median;
#[path = "support/plain.rs"]
mod plain;

use std::time::Instant;

use compysition::actors::{Join, Router};
use compysition::prelude::*;
use compysition::routing::Filter;
use compysition::{actor, routes, topology, Xml};
use median::median;
use plain::baseline_plain;
use tokio::sync::oneshot;

const EVENTS: u64 = 20_000;
const ROUNDS: usize = 5;

routes! {
    /// The four lanes of the bench's router.
    pub Lanes: Xml { one, two, three, four }
}

/// The branches a routed order is joined from.
#[actor(inboxes(a: Xml, b: Xml, c: Xml))]
pub struct Branches;

/// Emits `count` orders, their lanes taken in turn.
struct Orders {
    count: u64,
}

impl Actor for Orders {
    type Inboxes = ();
    type Outboxes = Outbox<Xml>;

    async fn run(self, _ctx: Context, (): (), outbox: Outbox<Xml>) {
        let documents: Vec<Xml> = (1..=4)
            .map(|lane| {
                let order = format!(
                    r#"<order lane="{lane}"><item>widget</item><quantity>3</quantity></order>"#
                );
                Xml::parse(order.as_bytes()).expect("a well-formed order")
            })
            .collect();
        for n in 0..self.count {
            let document = documents[(n % 4) as usize].clone();
            outbox.send(Event::new(document)).await;
        }
    }
}

/// Counts the joined orders and reports when the last one arrived.
struct Sink {
    expected: u64,
    done: Option<oneshot::Sender<Instant>>,
}

impl Actor for Sink {
    type Inboxes = Inbox<Xml>;
    type Outboxes = ();

    async fn run(mut self, _ctx: Context, mut inbox: Inbox<Xml>, (): ()) {
        let mut seen = 0;
        while let Some(event) = inbox.recv().await {
            std::hint::black_box(event.data);
            seen += 1;
            if seen == self.expected {
                if let Some(done) = self.done.take() {
                    let _ = done.send(Instant::now());
                }
            }
        }
    }
}

#[actor]
fn pass_lane(event: Event<Xml>) -> Event<Xml> {
    event
}

#[actor]
fn pass_branch(event: Event<Xml>) -> Event<Xml> {
    event
}

fn router() -> Router<Lanes> {
    let xpath = |lane: u8| Filter::xpath(&format!("/order[@lane='{lane}']")).expect("compiles");
    Router::<Lanes>::first_match()
        .route(Lanes::one, xpath(1))
        .route(Lanes::two, xpath(2))
        .route(Lanes::three, xpath(3))
        .route(Lanes::four, xpath(4))
}

/// Ours: events per second from the first send to the last joined order.
async fn ours(count: u64) -> f64 {
    let (done_tx, done_rx) = oneshot::channel();
    let topology = topology! {
        orders = Orders { count };
        router = router();
        one = pass_lane; two = pass_lane; three = pass_lane; four = pass_lane;
        merged = pass_lane;
        a = pass_branch; b = pass_branch; c = pass_branch;
        join = Join::<BranchesInboxes, Xml>::xml("joined").expect("an Xml port set");
        sink = Sink { expected: count, done: Some(done_tx) };

        orders -> router;
        router.one -> one -> merged;
        router.two -> two -> merged;
        router.three -> three -> merged;
        router.four -> four -> merged;
        merged -> [a, b, c];
        a -> join.a;
        b -> join.b;
        c -> join.c;
        join -> sink;
    };
    let start = Instant::now();
    let running = topology.start().expect("valid topology");
    let end = done_rx.await.expect("sink reports");
    running.wait().await.expect("drains");
    count as f64 / end.duration_since(start).as_secs_f64()
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        // Warm-up: allocator, thread pools, libxml2's first parses.
        std::hint::black_box(ours(2_000).await);
        std::hint::black_box(baseline_plain(100_000).await);
        let (mut our_rates, mut plain_rates) = (Vec::new(), Vec::new());
        for round in 0..ROUNDS {
            // Alternate the order so drift (turbo, other load) hits both alike.
            if round % 2 == 0 {
                our_rates.push(ours(EVENTS).await);
                plain_rates.push(baseline_plain(EVENTS * 10).await);
            } else {
                plain_rates.push(baseline_plain(EVENTS * 10).await);
                our_rates.push(ours(EVENTS).await);
            }
            println!(
                "round {round}: router (4 XPath routes) + 3-way join {:.0} events/s; plain u64 chain {:.0} values/s",
                our_rates[round], plain_rates[round]
            );
        }
        let (ours_rate, plain_rate) = (median(&mut our_rates), median(&mut plain_rates));
        println!(
            "RESULT routing_join events_per_sec={:.0} baseline_values_per_sec={:.0} ratio={:.3}",
            ours_rate,
            plain_rate,
            ours_rate / plain_rate
        );
    });
}
