//! Running CPU-heavy work — parsing, transforming, validating whole documents — off the async
//! workers, on tokio's blocking pool.
//!
//! An actor handles up to 64 events at once by default; 64 transforms at once on a machine with
//! a few cores would only make 64 blocking threads compete for them, each holding its document's
//! memory. [`Offload`] lets at most one job per CPU run, per actor; the other events wait their
//! turn as cheap futures.

use std::sync::Arc;

use tokio::sync::Semaphore;
use tracing::Instrument;

use crate::error::EventError;

/// Runs jobs on the blocking pool, at most one per CPU at once.
#[derive(Clone)]
pub(crate) struct Offload {
    permits: Arc<Semaphore>,
}

impl Offload {
    /// As many jobs at once as the machine has CPUs.
    pub fn per_cpu() -> Offload {
        let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
        Offload {
            permits: Arc::new(Semaphore::new(cpus)),
        }
    }

    /// Runs `job` on the blocking pool, inside the caller's tracing span.
    pub async fn run<T, F>(&self, job: F) -> Result<T, EventError>
    where
        T: Send + 'static,
        F: FnOnce() -> Result<T, EventError> + Send + 'static,
    {
        let _permit = self
            .permits
            .acquire()
            .await
            .map_err(|_| EventError::internal("the blocking pool is closed"))?;
        let span = tracing::Span::current();
        tokio::task::spawn_blocking(move || span.in_scope(job))
            .instrument(tracing::Span::current())
            .await
            .map_err(|e| EventError::internal(format!("the job did not finish: {e}")))?
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
    async fn a_panicking_job_is_a_500() {
        let error = Offload::per_cpu()
            .run(|| -> Result<(), EventError> { panic!("boom") })
            .await
            .expect_err("panicked");
        assert_eq!(error.status().as_u16(), 500);
    }
}
