//! The baseline every framework bench can measure against: the chain a user would write
//! without the framework, plain `u64` values through five tasks joined by `mpsc(1024)`.

use std::time::Instant;

use tokio::sync::{mpsc, oneshot};

/// Tasks in the plain chain.
const STAGES: usize = 5;

/// The chain a user would write without the framework: plain values, no envelope, five tasks
/// joined by `mpsc(1024)`.
pub async fn baseline_plain(count: u64) -> f64 {
    const PLAIN_CAPACITY: usize = 1024;
    let (done_tx, done_rx) = oneshot::channel();
    let (first_tx, mut rx) = mpsc::channel::<u64>(PLAIN_CAPACITY);
    let mut tasks = Vec::new();
    for _ in 0..STAGES {
        let (tx, next_rx) = mpsc::channel::<u64>(PLAIN_CAPACITY);
        let mut input = std::mem::replace(&mut rx, next_rx);
        tasks.push(tokio::spawn(async move {
            while let Some(value) = input.recv().await {
                if tx.send(value).await.is_err() {
                    break;
                }
            }
        }));
    }
    let mut last = rx;
    tasks.push(tokio::spawn(async move {
        let mut seen = 0;
        let mut done = Some(done_tx);
        while let Some(value) = last.recv().await {
            std::hint::black_box(value);
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
            if first_tx.send(n).await.is_err() {
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
