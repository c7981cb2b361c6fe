//! Events through a 5-stage pipeline of pass-through actors, against a hand-written chain of 5
//! tokio tasks joined by `tokio::sync::mpsc` channels of the same capacity, in the same run.
//!
//! Both move the same `Event<u64>` from a source task through five pass-through stages to a
//! sink task (seven tasks, six channels of capacity 500) on a 2-worker runtime. Throughput is the
//! median of several alternating rounds; latency is measured at a light load (one event in
//! flight at a time).
//!
//! A second baseline is the chain a user would write without the framework at all: plain `u64`
//! values (no envelope) through the same five tasks joined by `mpsc` channels of capacity 1024.
//! Against it the ratio shows what the envelope itself costs, not only the actors' plumbing.
//!
//! The same pipeline is also declared with `topology!` (the same actors), to show that the macro
//! costs nothing at run time: its rate is reported against the same baseline.
//!
//! ```text
//! cargo bench --bench pipeline
//! ```

#[path = "support/median.rs"]
mod median;
#[path = "support/plain.rs"]
mod plain;

use std::time::{Duration, Instant};

use compysition::ports::DEFAULT_CAPACITY;
use compysition::prelude::*;
use median::median;
use plain::baseline_plain;
use tokio::sync::{mpsc, oneshot};

const STAGES: usize = 5;
const EVENTS: u64 = 1_000_000;
const ROUNDS: usize = 5;

/// `EVENTS`, `ROUNDS` and `WORKERS` can be overridden from the environment (for profiling).
fn setting<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}
const LATENCY_SAMPLES: usize = 20_000;

/// Emits `count` events as fast as the pipeline takes them.
struct Source {
    count: u64,
}

impl Actor for Source {
    type Inboxes = ();
    type Outboxes = Outbox<u64>;

    async fn run(self, _ctx: Context, (): (), outbox: Outbox<u64>) {
        for n in 0..self.count {
            outbox.send(Event::new(n)).await;
        }
    }
}

/// Counts events and reports when the last one arrived.
struct Sink {
    expected: u64,
    done: Option<oneshot::Sender<Instant>>,
}

impl Actor for Sink {
    type Inboxes = Inbox<u64>;
    type Outboxes = ();

    async fn run(mut self, _ctx: Context, mut inbox: Inbox<u64>, (): ()) {
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

fn pass_through() -> impl Actor<Inboxes = Inbox<u64>, Outboxes = Outbox<u64>> {
    from_fn(|event: Event<u64>| async move { Ok(event) })
}

/// Our pipeline: events per second from the first send to the last arrival.
async fn ours(count: u64) -> f64 {
    let (done_tx, done_rx) = oneshot::channel();
    let mut director = Director::new();
    let source = director.register_actor("source", Source { count });
    let stages: Vec<_> = (0..STAGES)
        .map(|i| director.register_actor(format!("stage{i}"), pass_through()))
        .collect();
    let sink = director.register_actor(
        "sink",
        Sink {
            expected: count,
            done: Some(done_tx),
        },
    );
    director.connect_queue(&source, &stages[0]);
    for pair in stages.windows(2) {
        director.connect_queue(&pair[0], &pair[1]);
    }
    director.connect_queue(&stages[STAGES - 1], &sink);
    let start = Instant::now();
    director.start().expect("valid topology");
    let end = done_rx.await.expect("sink reports");
    director.wait().await.expect("drains");
    count as f64 / end.duration_since(start).as_secs_f64()
}

/// Our pipeline declared with `topology!`: the same actors, the same measurement.
async fn ours_macro(count: u64) -> f64 {
    let (done_tx, done_rx) = oneshot::channel();
    let topology = topology! {
        source = Source { count };
        stage0 = pass_through();
        stage1 = pass_through();
        stage2 = pass_through();
        stage3 = pass_through();
        stage4 = pass_through();
        sink = Sink { expected: count, done: Some(done_tx) };
        source -> stage0 -> stage1 -> stage2 -> stage3 -> stage4 -> sink;
    };
    let start = Instant::now();
    let running = topology.start().expect("valid topology");
    let end = done_rx.await.expect("sink reports");
    running.wait().await.expect("drains");
    count as f64 / end.duration_since(start).as_secs_f64()
}

/// The hand-written baseline: the same tasks and channels, no framework.
async fn baseline(count: u64) -> f64 {
    let (done_tx, done_rx) = oneshot::channel();
    let (first_tx, mut rx) = mpsc::channel::<Event<u64>>(DEFAULT_CAPACITY);
    let mut tasks = Vec::new();
    for _ in 0..STAGES {
        let (tx, next_rx) = mpsc::channel::<Event<u64>>(DEFAULT_CAPACITY);
        let mut input = std::mem::replace(&mut rx, next_rx);
        tasks.push(tokio::spawn(async move {
            while let Some(event) = input.recv().await {
                if tx.send(event).await.is_err() {
                    break;
                }
            }
        }));
    }
    let mut last = rx;
    tasks.push(tokio::spawn(async move {
        let mut seen = 0;
        let mut done = Some(done_tx);
        while let Some(event) = last.recv().await {
            std::hint::black_box(event.data);
            seen += 1;
            if seen == count {
                if let Some(done) = done.take() {
                    let _ = done.send(Instant::now());
                }
            }
        }
    }));
    let start = Instant::now();
    tasks.push(tokio::spawn(async move {
        for n in 0..count {
            if first_tx.send(Event::new(n)).await.is_err() {
                break;
            }
        }
    }));
    let end = done_rx.await.expect("sink reports");
    for task in tasks {
        let _ = task.await;
    }
    count as f64 / end.duration_since(start).as_secs_f64()
}

/// A source fed one event at a time by the benchmark.
struct Feed(mpsc::Receiver<Event<Instant>>);

impl Actor for Feed {
    type Inboxes = ();
    type Outboxes = Outbox<Instant>;

    async fn run(mut self, _ctx: Context, (): (), outbox: Outbox<Instant>) {
        while let Some(event) = self.0.recv().await {
            outbox.send(event).await;
        }
    }
}

/// Reports how long each event took to arrive.
struct Timer(mpsc::UnboundedSender<Duration>);

impl Actor for Timer {
    type Inboxes = Inbox<Instant>;
    type Outboxes = ();

    async fn run(self, _ctx: Context, mut inbox: Inbox<Instant>, (): ()) {
        while let Some(event) = inbox.recv().await {
            let _ = self.0.send(event.data.elapsed());
        }
    }
}

async fn latency_ours() -> Vec<Duration> {
    let (feed_tx, feed_rx) = mpsc::channel(1);
    let (times_tx, mut times) = mpsc::unbounded_channel();
    let mut director = Director::new();
    let feed = director.register_actor("feed", Feed(feed_rx));
    let stages: Vec<_> = (0..STAGES)
        .map(|i| {
            director.register_actor(
                format!("stage{i}"),
                from_fn(|event: Event<Instant>| async move { Ok(event) }),
            )
        })
        .collect();
    let timer = director.register_actor("timer", Timer(times_tx));
    director.connect_queue(&feed, &stages[0]);
    for pair in stages.windows(2) {
        director.connect_queue(&pair[0], &pair[1]);
    }
    director.connect_queue(&stages[STAGES - 1], &timer);
    director.start().expect("valid topology");
    let mut samples = Vec::with_capacity(LATENCY_SAMPLES);
    for _ in 0..LATENCY_SAMPLES {
        feed_tx
            .send(Event::new(Instant::now()))
            .await
            .expect("running");
        samples.push(times.recv().await.expect("arrives"));
    }
    drop(feed_tx);
    director.wait().await.expect("drains");
    samples
}

async fn latency_baseline() -> Vec<Duration> {
    let (first_tx, mut rx) = mpsc::channel::<Event<Instant>>(DEFAULT_CAPACITY);
    for _ in 0..=STAGES {
        let (tx, next_rx) = mpsc::channel::<Event<Instant>>(DEFAULT_CAPACITY);
        let mut input = std::mem::replace(&mut rx, next_rx);
        tokio::spawn(async move {
            while let Some(event) = input.recv().await {
                if tx.send(event).await.is_err() {
                    break;
                }
            }
        });
    }
    let (times_tx, mut times) = mpsc::unbounded_channel();
    let mut last = rx;
    tokio::spawn(async move {
        while let Some(event) = last.recv().await {
            let _ = times_tx.send(event.data.elapsed());
        }
    });
    let mut samples = Vec::with_capacity(LATENCY_SAMPLES);
    for _ in 0..LATENCY_SAMPLES {
        first_tx
            .send(Event::new(Instant::now()))
            .await
            .expect("running");
        samples.push(times.recv().await.expect("arrives"));
    }
    samples
}

fn percentile(samples: &mut [Duration], p: f64) -> Duration {
    samples.sort_unstable();
    let index = ((samples.len() as f64 - 1.0) * p).round() as usize;
    samples[index]
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(setting("WORKERS", 2))
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        // Warm-up: allocator, thread pools, page faults.
        if setting("WARMUP", 1) == 1 {
            std::hint::black_box(ours(100_000).await);
            std::hint::black_box(baseline(100_000).await);
        }

        let (events, rounds) = (setting("EVENTS", EVENTS), setting("ROUNDS", ROUNDS));
        match std::env::var("ONLY").as_deref() {
            Ok("ours") => return println!("ours {:.0} events/s", ours(events).await),
            Ok("baseline") => return println!("baseline {:.0} events/s", baseline(events).await),
            Ok("plain") => return println!("plain {:.0} values/s", baseline_plain(events).await),
            _ => {}
        }
        let (mut our_rates, mut base_rates) = (Vec::new(), Vec::new());
        let (mut macro_rates, mut plain_rates) = (Vec::new(), Vec::new());
        for round in 0..rounds {
            // Alternate the order so drift (turbo, other load) hits both alike.
            if round % 2 == 0 {
                our_rates.push(ours(events).await);
                base_rates.push(baseline(events).await);
            } else {
                base_rates.push(baseline(events).await);
                our_rates.push(ours(events).await);
            }
            println!(
                "round {round}: ours {:.0} events/s, baseline {:.0} events/s",
                our_rates[round], base_rates[round]
            );
            macro_rates.push(ours_macro(events).await);
            plain_rates.push(baseline_plain(events).await);
            println!(
                "round {round}: ours declared with topology! {:.0} events/s; plain u64 chain {:.0} values/s",
                macro_rates[round], plain_rates[round]
            );
        }
        let plain_rate = median(&mut plain_rates);
        let (ours_rate, base_rate) = (median(&mut our_rates), median(&mut base_rates));
        let macro_rate = median(&mut macro_rates);
        println!(
            "RESULT pipeline_macro events_per_sec={:.0} baseline_events_per_sec={:.0} ratio={:.3}",
            macro_rate,
            base_rate,
            macro_rate / base_rate
        );

        if setting("LATENCY", 1) == 1 {
            let mut our_latency = latency_ours().await;
            let mut base_latency = latency_baseline().await;
            println!(
                "latency, one event in flight, {STAGES} stages: ours p50 {:?} p99 {:?}; baseline p50 {:?} p99 {:?}",
                percentile(&mut our_latency, 0.5),
                percentile(&mut our_latency, 0.99),
                percentile(&mut base_latency, 0.5),
                percentile(&mut base_latency, 0.99),
            );
        }
        println!(
            "RESULT pipeline_5_stage_vs_plain events_per_sec={:.0} baseline_values_per_sec={:.0} ratio={:.3}",
            ours_rate,
            plain_rate,
            ours_rate / plain_rate
        );
        // The last line, whatever else was asked.
        println!(
            "RESULT pipeline_5_stage events_per_sec={:.0} baseline_events_per_sec={:.0} ratio={:.3}",
            ours_rate,
            base_rate,
            ours_rate / base_rate
        );
    });
}
