//! `topology!`'s statement forms run as written: chains, fan-out, fan-in, error edges, the log
//! actor, capacities, cycles through an actor that answers requests, and the graph it draws.

mod support;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use compysition::actors::{EventGenerator, Null};
use compysition::prelude::*;
use compysition::AnswersRequests;
use support::collect;
use tokio::sync::Semaphore;

#[actor]
async fn shout(event: Event<String>) -> Event<String> {
    event.map(|s| s.to_uppercase())
}

#[actor]
async fn announce(event: Event<String>) -> Event<String> {
    tracing::info!(text = %event.data, "announcing");
    event
}

#[actor]
async fn refuse(event: Event<String>) -> Result<Event<String>, EventError> {
    Err(EventError::malformed(format!("cannot take {}", event.data)))
}

#[tokio::test]
async fn a_chain_delivers_through_every_stage() {
    let (sink, mut kept) = collect::<String>();
    let topology = topology! {
        source = EventGenerator::once("hello".to_string());
        loud = shout;
        louder = shout;
        sink = sink;
        source -> loud -> louder -> sink;
    };
    topology.run().await.expect("runs");
    assert_eq!(kept.payloads().await, ["HELLO"]);
}

#[tokio::test]
async fn statement_order_does_not_matter() {
    let (sink, mut kept) = collect::<String>();
    let topology = topology! {
        source -> loud -> sink;
        sink = sink;
        loud = shout;
        source = EventGenerator::once("late".to_string());
    };
    topology.run().await.expect("runs");
    assert_eq!(kept.payloads().await, ["LATE"]);
}

#[tokio::test]
async fn a_fan_out_copies_every_event_to_each_inbox() {
    let (one, kept_one) = collect::<String>();
    let (two, kept_two) = collect::<String>();
    let (three, kept_three) = collect::<String>();
    let topology = topology! {
        source = EventGenerator::once("copy".to_string());
        one = one;
        two = two;
        three = three;
        source -> [one, two];
        source -> three;
    };
    topology.run().await.expect("runs");
    for mut kept in [kept_one, kept_two, kept_three] {
        assert_eq!(kept.payloads().await, ["copy"]);
    }
}

#[tokio::test]
async fn a_group_feeds_every_member_to_the_next_stage() {
    let (sink, mut kept) = collect::<String>();
    let topology = topology! {
        a = EventGenerator::once("a".to_string());
        b = EventGenerator::once("b".to_string());
        left = shout;
        right = shout;
        sink = sink;
        [a, b] -> [left, right] -> sink;
    };
    topology.run().await.expect("runs");
    let mut kept = kept.payloads().await;
    kept.sort();
    // Each source feeds both members, and both feed the sink: 2 × 2 events.
    assert_eq!(kept, ["A", "A", "B", "B"]);
}

#[tokio::test]
async fn an_error_edge_carries_failures_to_its_target() {
    let (sink, mut kept) = collect::<String>();
    let (errors, mut failures) = collect::<String>();
    let topology = topology! {
        source = EventGenerator::once("input".to_string());
        picky = refuse;
        sink = sink;
        errors = errors;
        source -> picky -> sink;
        picky !-> errors;
    };
    topology.run().await.expect("runs");
    assert!(kept.payloads().await.is_empty());
    assert_eq!(failures.error_messages().await, ["cannot take input"]);
}

#[tokio::test]
async fn the_log_actor_receives_the_topologys_log_records() {
    let (log, mut records) = collect::<String>();
    let topology = topology! {
        log = log;
        source = EventGenerator::once("news".to_string());
        herald = announce;
        sink = Null::<String>::new();
        source -> herald -> sink;
    };
    topology.run().await.expect("runs to the end");
    let records = records.payloads().await;
    assert!(
        records
            .iter()
            .any(|r| r.contains("herald") && r.contains("announcing") && r.contains("news")),
        "{records:?}"
    );
}

#[tokio::test]
async fn small_capacities_still_deliver_everything_in_order() {
    let (sink, mut kept) = collect::<u32>();
    let topology = topology! {
        #![capacity = 1]
        source = EventGenerator::every(Duration::from_micros(1)).data(1u32).count(50);
        sink = sink;
        #[capacity = 2]
        source -> sink;
    };
    topology.run().await.expect("runs");
    assert_eq!(kept.payloads().await, vec![1; 50]);
}

/// Sends numbers until the topology stops, counting each send an inbox took.
#[actor(outboxes(numbers: u64))]
pub struct Counting {
    sent: Arc<AtomicU64>,
}

#[actor]
impl Counting {
    #[source]
    async fn produce(&self, ctx: &Context, out: &CountingOutboxes) {
        let mut n = 0;
        while !ctx.is_stopping() {
            out.numbers.send(Event::new(n)).await;
            self.sent.fetch_add(1, Ordering::SeqCst);
            n += 1;
        }
    }
}

/// Holds each event until the test hands out a permit.
#[actor(inboxes(held: u64))]
pub struct Holding {
    permits: Arc<Semaphore>,
}

#[actor]
impl Holding {
    #[inbox]
    async fn held(&self, _event: Event<u64>) {
        if let Ok(permit) = self.permits.acquire().await {
            permit.forget();
        }
    }
}

#[tokio::test(start_paused = true)]
async fn edge_and_topology_capacities_bound_their_queues() {
    let (on_edge, by_default) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
    let permits = Arc::new(Semaphore::new(0));
    let topology = topology! {
        #![capacity = 7]
        small = Counting { sent: Arc::clone(&on_edge) };
        usual = Counting { sent: Arc::clone(&by_default) };
        small_holder = Holding { permits: Arc::clone(&permits) }.ordered();
        usual_holder = Holding { permits: Arc::clone(&permits) }.ordered();
        #[capacity = 3]
        small -> small_holder;
        usual -> usual_holder;
    };
    let running = topology.start().expect("starts");
    // With time paused, this returns once every task is idle: both sources wait for room.
    tokio::time::sleep(Duration::from_secs(1)).await;
    // One event in each holder's handler, the rest queued.
    assert_eq!(on_edge.load(Ordering::SeqCst), 3 + 1);
    assert_eq!(by_default.load(Ordering::SeqCst), 7 + 1);
    permits.add_permits(Semaphore::MAX_PERMITS / 2);
    running.stop().await.expect("stops");
}

/// Sends `count` requests and finishes once every one came back answered.
struct Asker {
    count: u32,
    answers: tokio::sync::mpsc::UnboundedSender<String>,
}

impl Actor for Asker {
    type Inboxes = Inbox<String>;
    type Outboxes = Outbox<String>;

    async fn run(self, _ctx: Context, mut answers: Inbox<String>, requests: Outbox<String>) {
        for n in 0..self.count {
            requests.send(Event::new(format!("question {n}"))).await;
        }
        for _ in 0..self.count {
            match answers.recv().await {
                Some(answer) => {
                    let _ = self.answers.send(answer.data);
                }
                None => return,
            }
        }
    }
}

impl AnswersRequests for Asker {}

#[tokio::test]
async fn a_cycle_through_an_actor_that_answers_requests_runs_to_the_end() {
    let (answers, mut received) = tokio::sync::mpsc::unbounded_channel();
    let topology = topology! {
        asker = Asker { count: 3, answers };
        answerer = shout;
        asker -> answerer -> asker;
    };
    topology.run().await.expect("runs and drains");
    let mut got = Vec::new();
    while let Ok(answer) = received.try_recv() {
        got.push(answer);
    }
    got.sort();
    assert_eq!(got, ["QUESTION 0", "QUESTION 1", "QUESTION 2"]);
}

#[tokio::test]
async fn a_topology_stops_through_its_handle() {
    let topology = topology! {
        source = EventGenerator::every(Duration::from_millis(1));
        sink = Null::<String>::new();
        source -> sink;
    };
    let stop = topology.handle();
    stop.stop();
    tokio::time::timeout(Duration::from_secs(5), topology.run())
        .await
        .expect("stops without waiting for the endless source")
        .expect("stops cleanly");
}

#[test]
fn the_graph_is_the_one_a_director_builds_by_hand() {
    let from_macro = topology! {
        source = EventGenerator::once("x".to_string());
        loud = shout;
        sink = Null::<String>::new();
        errors = Null::<String>::new();
        source -> loud -> sink;
        loud !-> errors;
    };
    let mut director = Director::new();
    let source = director.register_actor("source", EventGenerator::once("x".to_string()));
    let loud = director.register_actor("loud", shout);
    let sink = director.register_actor("sink", Null::<String>::new());
    let errors = director.register_actor("errors", Null::<String>::new());
    director.connect_queue_exclusive(&source, &loud);
    director.connect_queue_exclusive(&loud, &sink);
    director.connect_error_queue(&loud, &errors);
    assert_eq!(from_macro.graph(), Topology::new(director).graph());
}

#[test]
fn the_mermaid_and_dot_pictures_name_actors_and_edges() {
    let topology = topology! {
        source = EventGenerator::once("x".to_string());
        loud = shout;
        sink = Null::<String>::new();
        source -> loud -> sink;
        loud !-> sink;
    };
    assert_eq!(
        topology.to_mermaid(),
        "flowchart LR\n    source[\"source\"]\n    loud[\"loud\"]\n    sink[\"sink\"]\n    \
         source --> loud\n    loud --> sink\n    loud -.->|errors| sink\n"
    );
    assert_eq!(
        topology.to_dot(),
        "digraph topology {\n    rankdir=LR;\n    node [shape=box];\n    \"source\";\n    \
         \"loud\";\n    \"sink\";\n    \"source\" -> \"loud\" [label=\"\"];\n    \
         \"loud\" -> \"sink\" [label=\"\"];\n    \
         \"loud\" -> \"sink\" [label=\"errors\", style=dashed, color=red];\n}\n"
    );
}
