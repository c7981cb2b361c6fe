//! Running CPU-heavy work — parsing, transforming, validating whole documents — off the async
//! workers, on tokio's blocking pool.
//!
//! An actor handles up to 64 events at once by default; 64 transforms at once on a machine with
//! a few cores would only make 64 blocking threads compete for them, each holding its document's
//! memory. [`Offload`] runs one worker per CPU on the blocking pool, for the life of the actor,
//! fed through a queue: while a worker is busy the next jobs wait in the queue as cheap values,
//! and a worker that finishes one job takes the next without going to sleep and being woken
//! again, which on small documents costs more than the work itself.

use std::panic::AssertUnwindSafe;
use std::sync::{mpsc, Arc, Mutex, OnceLock};

use tokio::sync::oneshot;

use crate::error::EventError;

type Job = Box<dyn FnOnce() + Send>;

/// Runs jobs on a few workers of the blocking pool, at most one per CPU at once.
pub(crate) struct Offload {
    workers: usize,
    // Started on the first job, from inside the runtime.
    queue: OnceLock<mpsc::Sender<Job>>,
}

impl Offload {
    /// As many workers as the machine has CPUs.
    pub fn per_cpu() -> Offload {
        Offload {
            workers: std::thread::available_parallelism().map_or(1, |n| n.get()),
            queue: OnceLock::new(),
        }
    }

    fn queue(&self) -> &mpsc::Sender<Job> {
        self.queue.get_or_init(|| {
            let (sender, receiver) = mpsc::channel::<Job>();
            let receiver = Arc::new(Mutex::new(receiver));
            for _ in 0..self.workers {
                let receiver = Arc::clone(&receiver);
                // Each worker ends when the queue's sender (this `Offload`) is gone.
                tokio::task::spawn_blocking(move || loop {
                    let next = match receiver.lock() {
                        Ok(queue) => queue.recv(),
                        Err(_) => return,
                    };
                    match next {
                        Ok(job) => job(),
                        Err(_) => return,
                    }
                });
            }
            sender
        })
    }

    /// Runs `job` on a worker, inside the caller's tracing span; a panic in it is a 500.
    pub async fn run<T, F>(&self, job: F) -> Result<T, EventError>
    where
        T: Send + 'static,
        F: FnOnce() -> Result<T, EventError> + Send + 'static,
    {
        let (done, result) = oneshot::channel();
        let span = tracing::Span::current();
        let job: Job = Box::new(move || {
            let outcome = std::panic::catch_unwind(AssertUnwindSafe(|| span.in_scope(job)))
                .unwrap_or_else(|panic| {
                    Err(EventError::internal(format!(
                        "the job panicked: {}",
                        crate::actor::panic_message(panic.as_ref())
                    )))
                });
            // The caller may have given up waiting; then nobody needs the result.
            let _ = done.send(outcome);
        });
        self.queue()
            .send(job)
            .map_err(|_| EventError::internal("the workers are gone"))?;
        result
            .await
            .map_err(|_| EventError::internal("the job did not finish"))?
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn no_more_jobs_run_at_once_than_there_are_cpus() {
        let offload = Offload::per_cpu();
        let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
        let running = Arc::new(AtomicUsize::new(0));
        let most = Arc::new(AtomicUsize::new(0));
        let jobs = (0..4 * cpus).map(|_| {
            let (running, most) = (Arc::clone(&running), Arc::clone(&most));
            offload.run(move || {
                let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                most.fetch_max(now, Ordering::SeqCst);
                std::thread::sleep(std::time::Duration::from_millis(5));
                running.fetch_sub(1, Ordering::SeqCst);
                Ok(())
            })
        });
        for result in futures_util::future::join_all(jobs).await {
            result.expect("job ran");
        }
        assert!(most.load(Ordering::SeqCst) <= cpus);
    }

    #[tokio::test]
    async fn a_panicking_job_is_a_500_and_the_worker_goes_on() {
        let offload = Offload::per_cpu();
        let error = offload
            .run(|| -> Result<(), EventError> { panic!("boom") })
            .await
            .expect_err("panicked");
        assert_eq!(error.status().as_u16(), 500);
        assert!(error.message().contains("boom"), "{error}");
        assert_eq!(offload.run(|| Ok(7)).await.expect("still working"), 7);
    }
}
