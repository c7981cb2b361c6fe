//! Running CPU-heavy work — parsing, transforming, validating whole documents — off the async
//! workers, on a pool of one thread per CPU shared by every actor of the process.
//!
//! Why a pool of its own and not a thread per job:
//! - **Bounded**: an actor handles up to 64 events at once by default, and a flow may have
//!   several such actors; jobs beyond one per CPU would only make threads compete for the
//!   cores (and the allocator). Waiting jobs sit in the pool's queue as cheap values.
//! - **Few hand-offs**: handing a job to another thread and its outcome back costs two wake-ups,
//!   each a system call and, on a busy machine, a context switch — as much as a small
//!   transform itself. A worker takes queued jobs one after another without sleeping in
//!   between, and while every worker is busy and more jobs wait, outcomes are handed back in
//!   batches: one wake-up of the caller's runtime per batch instead of one per job. A batch goes
//!   back as soon as the queue runs empty, a worker is idle, or its oldest outcome has waited
//!   [`HOLD_AT_MOST`]; so batching happens only when outcomes would wait for a core anyway.

use std::collections::VecDeque;
use std::panic::AssertUnwindSafe;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, OnceLock};
use std::time::{Duration, Instant};

use tokio::runtime::Handle;
use tokio::sync::oneshot;

use crate::error::EventError;

/// How long finished outcomes may wait to be handed back together while every worker is busy.
/// Handing back costs the caller's runtime a wake-up, and on a busy machine a context switch or
/// two (several microseconds, and caches cooled by the switch): a batch per millisecond makes
/// that a small share of the work, and only outcomes of a saturated pool, which wait for a core
/// anyway, wait this long.
const HOLD_AT_MOST: Duration = Duration::from_millis(1);

/// Runs jobs on the process's CPU pool for one actor.
pub(crate) struct Offload {
    /// Where results go back to: the runtime of the first caller (an actor's handlers all run
    /// on one runtime).
    home: OnceLock<Arc<Home>>,
}

/// The runtime a job's result is handed back on.
struct Home {
    /// `None` when the caller does not run on tokio: each result is then sent on its own.
    runtime: Option<Handle>,
}

impl Offload {
    /// An offload onto the shared pool (one worker per CPU, started on first use).
    pub fn per_cpu() -> Offload {
        Offload {
            home: OnceLock::new(),
        }
    }

    /// Runs `job` on a worker, inside the caller's tracing span; a panic in it is a 500.
    pub async fn run<T, F>(&self, job: F) -> Result<T, EventError>
    where
        T: Send + 'static,
        F: FnOnce() -> Result<T, EventError> + Send + 'static,
    {
        let (done, result) = oneshot::channel();
        let home = self.home.get_or_init(|| {
            Arc::new(Home {
                runtime: Handle::try_current().ok(),
            })
        });
        Pool::shared().submit(Box::new(Pending {
            work: Some(job),
            outcome: None,
            done,
            span: tracing::Span::current(),
            home: Arc::clone(home),
        }));
        result
            .await
            .map_err(|_| EventError::internal("the job did not finish"))?
    }
}

/// A job as the pool sees it: run on a worker, then hand the outcome back.
trait Job: Send {
    /// Runs the work, unless nobody waits for it any more (never panics: a panic becomes the
    /// outcome).
    fn run(&mut self);
    /// Sends the outcome to whoever waits for it (who may have given up).
    fn deliver(self: Box<Self>);
    /// The runtime the outcome goes back to.
    fn home(&self) -> &Arc<Home>;
}

struct Pending<T, F> {
    work: Option<F>,
    outcome: Option<Result<T, EventError>>,
    done: oneshot::Sender<Result<T, EventError>>,
    span: tracing::Span,
    home: Arc<Home>,
}

impl<T, F> Job for Pending<T, F>
where
    T: Send + 'static,
    F: FnOnce() -> Result<T, EventError> + Send + 'static,
{
    fn run(&mut self) {
        let Some(work) = self.work.take() else {
            return;
        };
        // A caller that stopped waiting (a request that timed out, say) needs no outcome.
        if self.done.is_closed() {
            return;
        }
        let span = &self.span;
        let outcome = std::panic::catch_unwind(AssertUnwindSafe(|| span.in_scope(work)))
            .unwrap_or_else(|panic| {
                Err(EventError::internal(format!(
                    "the job panicked: {}",
                    crate::actor::panic_message(panic.as_ref())
                )))
            });
        self.outcome = Some(outcome);
    }

    fn deliver(self: Box<Self>) {
        let this = *self;
        if let Some(outcome) = this.outcome {
            // The caller may have given up waiting; then nobody needs the outcome.
            let _ = this.done.send(outcome);
        }
    }

    fn home(&self) -> &Arc<Home> {
        &self.home
    }
}

/// The process's CPU pool: a queue and one worker thread per CPU.
struct Pool {
    queue: Mutex<Queue>,
    /// Signalled when a job is queued and a worker sleeps.
    queued: Condvar,
}

struct Queue {
    jobs: VecDeque<Box<dyn Job>>,
    /// Finished jobs whose outcomes wait to be handed back together (see [`Queue::hand_back`]).
    finished: Vec<Box<dyn Job>>,
    /// When the oldest of them finished.
    finished_since: Option<Instant>,
    /// Workers waiting for a job.
    sleeping: usize,
    /// Wake-ups sent and not yet taken by a worker: a job needs one only if no sleeping
    /// worker is already on its way.
    waking: usize,
}

impl Queue {
    /// The finished jobs to hand back now, if any: as soon as no job waits to run (the pool is
    /// not saturated, so the caller has a core to take them on), a worker is idle, or the
    /// oldest outcome has waited [`HOLD_AT_MOST`]. Checked whenever a worker finishes a job and
    /// whenever a job is queued, so an outcome waits longer only while every worker is busy with
    /// a job that is itself taking longer, and nothing new arrives.
    fn hand_back(&mut self) -> Vec<Box<dyn Job>> {
        let due = !self.finished.is_empty()
            && (self.jobs.is_empty()
                || self.sleeping > 0
                || self
                    .finished_since
                    .is_some_and(|since| since.elapsed() >= HOLD_AT_MOST));
        if !due {
            return Vec::new();
        }
        self.finished_since = None;
        std::mem::take(&mut self.finished)
    }
}

impl Pool {
    fn shared() -> &'static Pool {
        static POOL: OnceLock<&'static Pool> = OnceLock::new();
        POOL.get_or_init(|| {
            let pool: &'static Pool = Box::leak(Box::new(Pool {
                queue: Mutex::new(Queue {
                    jobs: VecDeque::new(),
                    finished: Vec::new(),
                    finished_since: None,
                    sleeping: 0,
                    waking: 0,
                }),
                queued: Condvar::new(),
            }));
            let workers = std::thread::available_parallelism().map_or(1, |n| n.get());
            for n in 0..workers {
                let started = std::thread::Builder::new()
                    .name(format!("compysition-cpu-{n}"))
                    // Deep stylesheet recursion runs on this stack: the transform depth limit
                    // keeps well within it.
                    .stack_size(WORKER_STACK)
                    .spawn(move || pool.work());
                if let Err(error) = started {
                    // With no worker at all the jobs wait forever: that is not a state to run in.
                    assert!(n > 0, "cannot start a CPU worker thread: {error}");
                    tracing::warn!(%error, workers = n, "fewer CPU workers than CPUs");
                    break;
                }
            }
            pool
        })
    }

    fn lock(&self) -> MutexGuard<'_, Queue> {
        // A job never runs under the lock, so a poisoned lock holds a consistent queue.
        self.queue
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn submit(&self, job: Box<dyn Job>) {
        let mut queue = self.lock();
        queue.jobs.push_back(job);
        let wake = queue.sleeping > queue.waking;
        if wake {
            queue.waking += 1;
        }
        let due = queue.hand_back();
        drop(queue);
        if wake {
            self.queued.notify_one();
        }
        hand_back(due);
    }

    /// A worker: runs queued jobs and sleeps while there are none; outcomes go back in batches
    /// (see the module documentation).
    fn work(&self) {
        let mut done: Option<Box<dyn Job>> = None;
        loop {
            let (next, due) = {
                let mut queue = self.lock();
                if let Some(job) = done.take() {
                    queue.finished.push(job);
                    queue.finished_since.get_or_insert_with(Instant::now);
                }
                loop {
                    let due = queue.hand_back();
                    if let Some(job) = queue.jobs.pop_front() {
                        break (Some(job), due);
                    }
                    if !due.is_empty() {
                        break (None, due);
                    }
                    queue.sleeping += 1;
                    queue = self
                        .queued
                        .wait(queue)
                        .unwrap_or_else(|poisoned| poisoned.into_inner());
                    queue.sleeping -= 1;
                    queue.waking = queue.waking.saturating_sub(1);
                }
            };
            hand_back(due);
            if let Some(mut job) = next {
                job.run();
                done = Some(job);
            }
        }
    }
}

/// The stack of each worker: libxslt recurses on it.
const WORKER_STACK: usize = 8 * 1024 * 1024;

/// Hands finished jobs back: one alone directly, several as one task per runtime, so that the
/// runtime is woken once for them all (the jobs' wakers are then called on its own thread,
/// where they cost no system call).
fn hand_back(mut finished: Vec<Box<dyn Job>>) {
    if finished.len() <= 1 {
        finished.into_iter().for_each(|job| job.deliver());
        return;
    }
    while let Some(first) = finished.first() {
        let home = Arc::clone(first.home());
        let (mine, others): (Vec<_>, Vec<_>) = finished
            .into_iter()
            .partition(|job| Arc::ptr_eq(job.home(), &home));
        finished = others;
        match &home.runtime {
            // A runtime that has shut down drops the task, and with it the senders: its
            // callers are gone anyway.
            Some(runtime) => {
                runtime.spawn(async move { mine.into_iter().for_each(|job| job.deliver()) });
            }
            None => mine.into_iter().for_each(|job| job.deliver()),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use futures_util::FutureExt;

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
    async fn many_queued_jobs_each_get_their_own_outcome() {
        // Far more jobs than workers: outcomes go back in batches, each to its own caller.
        let offload = Offload::per_cpu();
        let jobs = (0..2_000u64).map(|n| offload.run(move || Ok(n * n)));
        let outcomes = futures_util::future::join_all(jobs).await;
        for (n, outcome) in (0..2_000u64).zip(outcomes) {
            assert_eq!(outcome.expect("job ran"), n * n);
        }
    }

    #[tokio::test]
    async fn a_job_whose_caller_stopped_waiting_is_skipped() {
        let offload = Offload::per_cpu();
        let (release, blocked) = std::sync::mpsc::channel::<()>();
        let ran = Arc::new(AtomicUsize::new(0));
        // Every worker busy until released, so the abandoned job is still queued.
        let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
        let blocked = Arc::new(Mutex::new(blocked));
        let busy: Vec<_> = (0..cpus)
            .map(|_| {
                let blocked = Arc::clone(&blocked);
                offload.run(move || {
                    let _ = blocked.lock().map(|b| b.recv());
                    Ok(())
                })
            })
            .collect();
        let mut busy = Box::pin(futures_util::future::join_all(busy));
        // Polled once: queued.
        assert!((&mut busy).now_or_never().is_none());
        let counted = Arc::clone(&ran);
        let abandoned = offload.run(move || {
            counted.fetch_add(1, Ordering::SeqCst);
            Ok(())
        });
        // Queued behind the busy jobs, then dropped.
        assert!(abandoned.now_or_never().is_none());
        for _ in 0..cpus {
            release.send(()).expect("a blocked job");
        }
        busy.await.into_iter().for_each(|r| r.expect("job ran"));
        // One job per worker, all running at once: every worker is past the abandoned job.
        let all_workers = Arc::new(std::sync::Barrier::new(cpus));
        let markers = (0..cpus).map(|_| {
            let all_workers = Arc::clone(&all_workers);
            offload.run(move || {
                all_workers.wait();
                Ok(())
            })
        });
        for marker in futures_util::future::join_all(markers).await {
            marker.expect("the pool goes on");
        }
        assert_eq!(ran.load(Ordering::SeqCst), 0);
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
