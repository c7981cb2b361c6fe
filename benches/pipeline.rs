//! Throughput of a 5-stage pipeline: the same stages built by `topology!` and as a hand-written
//! chain of tokio tasks and bounded channels (the baseline), measured in the same run.
//!
//! ```text
//! cargo bench --bench pipeline
//! RESULT pipeline_macro events_per_sec=<n> baseline_events_per_sec=<n> ratio=<ours/baseline>
//! ```

use std::time::{Duration, Instant};

use compysition::prelude::*;
use tokio::sync::{mpsc, oneshot};

/// Events pushed through the pipeline per measurement.
const EVENTS: u64 = 200_000;
/// Measurements per contender; the best one counts (the least disturbed by other work).
const ROUNDS: usize = 5;
/// Queue capacity of every stage, in both contenders.
const CAPACITY: usize = 500;

/// One stage's work, the same in both contenders.
fn step(n: u64) -> u64 {
    n.wrapping_mul(31).wrapping_add(7)
}

#[actor]
fn stage(event: Event<u64>) -> Event<u64> {
    event.map(step)
}

/// Emits `EVENTS` events as fast as the pipeline takes them.
#[actor(outboxes(numbers: u64))]
pub struct Numbers;

#[actor]
impl Numbers {
    #[source]
    async fn produce(&self, _ctx: &Context, out: &NumbersOutboxes) {
        for n in 0..EVENTS {
            out.numbers.send(Event::new(n)).await;
        }
    }
}

/// Counts what arrives and reports the checksum when its inbox closes.
#[actor(inboxes(numbers: u64))]
pub struct Tally {
    sum: std::sync::atomic::AtomicU64,
    done: std::sync::Mutex<Option<oneshot::Sender<u64>>>,
}

#[actor]
impl Tally {
    #[inbox]
    fn numbers(&self, event: Event<u64>) {
        self.sum
            .fetch_add(event.data, std::sync::atomic::Ordering::Relaxed);
    }
}

impl Drop for Tally {
    fn drop(&mut self) {
        let done = self.done.get_mut().map(Option::take).unwrap_or_default();
        if let Some(done) = done {
            let _ = done.send(*self.sum.get_mut());
        }
    }
}

async fn run_macro() -> (Duration, u64) {
    let (done, sum) = oneshot::channel();
    let topology = topology! {
        #![capacity = 500]
        numbers = Numbers;
        one = stage.ordered();
        two = stage.ordered();
        three = stage.ordered();
        four = stage.ordered();
        five = stage.ordered();
        tally = Tally { sum: Default::default(), done: std::sync::Mutex::new(Some(done)) }.ordered();
        numbers -> one -> two -> three -> four -> five -> tally;
    };
    let start = Instant::now();
    topology.run().await.expect("the pipeline runs");
    let sum = sum.await.expect("the tally reports");
    (start.elapsed(), sum)
}

/// The baseline: the same five stages as tokio tasks joined by bounded channels of events.
async fn run_baseline() -> (Duration, u64) {
    let start = Instant::now();
    let (first, mut previous) = mpsc::channel::<Event<u64>>(CAPACITY);
    let mut stages = Vec::new();
    for _ in 0..5 {
        let (next, receiver) = mpsc::channel::<Event<u64>>(CAPACITY);
        let mut inbox = std::mem::replace(&mut previous, receiver);
        stages.push(tokio::spawn(async move {
            while let Some(event) = inbox.recv().await {
                if next.send(event.map(step)).await.is_err() {
                    break;
                }
            }
        }));
    }
    let tally = tokio::spawn(async move {
        let mut sum = 0u64;
        while let Some(event) = previous.recv().await {
            sum = sum.wrapping_add(event.data);
        }
        sum
    });
    for n in 0..EVENTS {
        if first.send(Event::new(n)).await.is_err() {
            break;
        }
    }
    drop(first);
    for task in stages {
        task.await.expect("a stage finishes");
    }
    let sum = tally.await.expect("the tally finishes");
    (start.elapsed(), sum)
}

fn events_per_sec(elapsed: Duration) -> f64 {
    EVENTS as f64 / elapsed.as_secs_f64()
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a tokio runtime");
    runtime.block_on(async {
        let (mut ours, mut baseline) = (Duration::MAX, Duration::MAX);
        for _ in 0..ROUNDS {
            // Alternate, so that both see the same machine.
            let (elapsed, sum_ours) = run_macro().await;
            ours = ours.min(elapsed);
            let (elapsed, sum_baseline) = run_baseline().await;
            baseline = baseline.min(elapsed);
            assert_eq!(sum_ours, sum_baseline, "both pipelines compute the same");
        }
        let (ours, baseline) = (events_per_sec(ours), events_per_sec(baseline));
        println!(
            "RESULT pipeline_macro events_per_sec={:.0} baseline_events_per_sec={:.0} ratio={:.3}",
            ours,
            baseline,
            ours / baseline
        );
    });
}
