//! The CPU pool, part of the core runtime: running CPU-heavy work — parsing, transforming,
//! validating whole documents — off the async workers, on a pool of one thread per CPU shared by
//! every actor of the process.
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
//!   a millisecond (`HOLD_AT_MOST`); so batching happens only when outcomes would wait for a core anyway.
//! - **A real bound on holding**: the workers check the age of held outcomes only between jobs,
//!   so with every worker inside a long job (a 50 MB transform) a small job's outcome could wait
//!   for that job to end. A courier thread sees to the bound instead: it sleeps while nothing is
//!   held, is woken when a worker starts holding outcomes (once per batch, never on the
//!   unsaturated path, whose outcomes go back at once), and hands the batch back when its
//!   oldest outcome is that old unless a worker did so first.
//! - **Fair between large and small**: a job's size (the document it works on) puts it in one
//!   of two lanes, small (under [`LARGE_FROM`]) and large. Jobs run in the order they came, but
//!   large ones on all workers but one at most, so that a client sending large documents keeps
//!   one core free for everybody else's small ones (with a single worker, small jobs go first).
//!   Two 490 KB transforms used to keep every small request waiting for them.
//! - **Bounded waiting**: each lane holds at most so many waiting jobs ([`SMALL_QUEUE_BOUND`],
//!   [`LARGE_QUEUE_BOUND`], or a handle's own [`CpuPool::queue_bounds`]); a job beyond that fails
//!   at once as unavailable (503) instead of waiting behind work it cannot overtake. A job with
//!   a [`Deadline`] fails as a timeout (504) when the deadline passes, and if it is still queued
//!   then it is skipped, never run.

use std::collections::VecDeque;
use std::panic::AssertUnwindSafe;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, OnceLock};
use std::time::{Duration, Instant};

use tokio::runtime::Handle;
use tokio::sync::oneshot;

use crate::deadline::Deadline;
use crate::error::EventError;

/// How long finished outcomes may wait to be handed back together while every worker is busy.
/// Handing back costs the caller's runtime a wake-up, and on a busy machine a context switch or
/// two (several microseconds, and caches cooled by the switch): a batch per millisecond makes
/// that a small share of the work, and only outcomes of a saturated pool, which wait for a core
/// anyway, wait this long.
const HOLD_AT_MOST: Duration = Duration::from_millis(1);

/// The largest document worked on inline by [`CpuPool::run_sized`]: smaller ones take less time
/// to parse or convert than to hand over to the pool and back.
pub const INLINE_UP_TO: usize = 64 * 1024;

/// The smallest document whose job goes in the large lane: at most all workers but one run
/// large jobs at once. A 256 KiB document takes a transform some milliseconds and up; below
/// that, jobs are short enough to take turns in order.
pub const LARGE_FROM: usize = 256 * 1024;

/// How many small jobs may wait at once, by default: beyond that a job fails at once as
/// unavailable. Far more than the actors of a flow have in flight together (64 each, by
/// default), so only a pool that has fallen far behind refuses work.
pub const SMALL_QUEUE_BOUND: usize = 4096;

/// How many large jobs may wait at once, by default. Each takes a worker for a while (a
/// 500 KB transform, tens of milliseconds to seconds): a deeper queue would only make the last
/// one wait longer than any client does.
pub const LARGE_QUEUE_BOUND: usize = 64;

/// Runs jobs on the process's CPU pool (one worker thread per CPU, shared by every actor), so
/// that CPU-heavy work — parsing, transforming, hashing — stays off the async workers. Make one
/// per actor and keep it: results go back to the runtime of its first caller.
///
/// ```
/// use compysition::pool::CpuPool;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), compysition::EventError> {
/// let pool = CpuPool::per_cpu();
/// let sum = pool.run(|| Ok((1..=1000u64).sum::<u64>())).await?;
/// assert_eq!(sum, 500_500);
/// # Ok(())
/// # }
/// ```
pub struct CpuPool {
    /// Where results go back to: the runtime of the first caller (an actor's handlers all run
    /// on one runtime).
    home: OnceLock<Arc<Home>>,
    /// The most jobs of each lane that may wait when this handle submits one.
    bounds: Bounds,
}

/// How many jobs may wait in each lane.
#[derive(Clone, Copy, Debug)]
struct Bounds {
    small: usize,
    large: usize,
}

/// The runtime a job's result is handed back on.
struct Home {
    /// `None` when the caller does not run on tokio: each result is then sent on its own.
    runtime: Option<Handle>,
}

impl CpuPool {
    /// A handle on the shared pool (one worker per CPU, started on first use).
    pub fn per_cpu() -> CpuPool {
        CpuPool {
            home: OnceLock::new(),
            bounds: Bounds {
                small: SMALL_QUEUE_BOUND,
                large: LARGE_QUEUE_BOUND,
            },
        }
    }

    /// Sets how many jobs of each lane may wait when this handle submits one (by default
    /// [`SMALL_QUEUE_BOUND`] and [`LARGE_QUEUE_BOUND`]): the pool is shared, so the bound is on
    /// everybody's waiting jobs, and this handle's job fails as unavailable beyond it.
    #[must_use]
    pub fn queue_bounds(mut self, small: usize, large: usize) -> Self {
        self.bounds = Bounds { small, large };
        self
    }

    /// [`run`](Self::run) for work on a document of `size` octets: up to [`INLINE_UP_TO`] it is
    /// done right here, since handing it over would cost more than the work.
    pub async fn run_sized<T, F>(&self, size: usize, job: F) -> Result<T, EventError>
    where
        T: Send + 'static,
        F: FnOnce() -> Result<T, EventError> + Send + 'static,
    {
        self.run_sized_until(size, None, job).await
    }

    /// [`run_until`](Self::run_until) for work that is done right here up to [`INLINE_UP_TO`]
    /// octets, as [`run_sized`](Self::run_sized) does.
    pub async fn run_sized_until<T, F>(
        &self,
        size: usize,
        deadline: Option<Deadline>,
        job: F,
    ) -> Result<T, EventError>
    where
        T: Send + 'static,
        F: FnOnce() -> Result<T, EventError> + Send + 'static,
    {
        if size <= INLINE_UP_TO {
            if deadline.is_some_and(|deadline| deadline.has_passed()) {
                return Err(deadline_passed());
            }
            job()
        } else {
            self.run_until(size, deadline, job).await
        }
    }

    /// Runs `job` on a worker, inside the caller's tracing span, as a small job; a panic in it
    /// is a 500, a full queue a 503.
    pub async fn run<T, F>(&self, job: F) -> Result<T, EventError>
    where
        T: Send + 'static,
        F: FnOnce() -> Result<T, EventError> + Send + 'static,
    {
        self.run_until(0, None, job).await
    }

    /// Runs `job`, work on a document of `size` octets, on a worker, inside the caller's
    /// tracing span: in the large lane from [`LARGE_FROM`] octets. With a deadline, the outcome
    /// is a timeout (504) once it passes, whether the job waits or runs; a job still queued
    /// then is never run. A panic is a 500, a full lane a 503.
    pub async fn run_until<T, F>(
        &self,
        size: usize,
        deadline: Option<Deadline>,
        job: F,
    ) -> Result<T, EventError>
    where
        T: Send + 'static,
        F: FnOnce() -> Result<T, EventError> + Send + 'static,
    {
        if deadline.is_some_and(|deadline| deadline.has_passed()) {
            return Err(deadline_passed());
        }
        let (done, result) = oneshot::channel();
        let home = self.home.get_or_init(|| {
            Arc::new(Home {
                runtime: Handle::try_current().ok(),
            })
        });
        let lane = if size >= LARGE_FROM {
            Lane::Large
        } else {
            Lane::Small
        };
        let bound = match lane {
            Lane::Small => self.bounds.small,
            Lane::Large => self.bounds.large,
        };
        let job = Box::new(Pending {
            work: Some(job),
            outcome: None,
            done,
            span: tracing::Span::current(),
            home: Arc::clone(home),
            deadline,
        });
        Pool::shared().submit(job, lane, bound)?;
        let outcome = match deadline {
            // The caller's future ends at the deadline: the receiver is dropped, so a worker
            // that picks the job afterwards skips it. Timers need the caller's runtime; a
            // caller off tokio has the workers look at the deadline only.
            Some(deadline) if Handle::try_current().is_ok() => {
                tokio::time::timeout_at(deadline.instant(), result)
                    .await
                    .map_err(|_| deadline_passed())?
            }
            _ => result.await,
        };
        outcome.map_err(|_| EventError::internal("the job did not finish"))?
    }
}

fn deadline_passed() -> EventError {
    EventError::timeout("the deadline passed before the CPU pool finished the job")
}

/// Which lane a job waits in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Lane {
    Small,
    Large,
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
    deadline: Option<Deadline>,
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
        if self.deadline.is_some_and(|deadline| deadline.has_passed()) {
            self.outcome = Some(Err(deadline_passed()));
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

/// The process's CPU pool: a queue, one worker thread per CPU and the courier.
struct Pool {
    queue: Mutex<Queue>,
    /// Signalled when a job is queued and a worker sleeps.
    queued: Condvar,
    /// Signalled when outcomes start being held and the courier sleeps without a deadline.
    holding: Condvar,
}

struct Queue {
    /// Jobs under [`LARGE_FROM`], in the order they came.
    small: VecDeque<Queued>,
    /// The others, in the order they came.
    large: VecDeque<Queued>,
    /// Numbers the jobs in the order they came, across both lanes.
    next_turn: u64,
    /// Workers running a large job.
    running_large: usize,
    /// Workers started.
    workers: usize,
    /// Finished jobs whose outcomes wait to be handed back together (see [`Queue::hand_back`]).
    finished: Vec<Box<dyn Job>>,
    /// When the oldest of them finished (`Some` exactly while `finished` is not empty).
    finished_since: Option<Instant>,
    /// Workers waiting for a job.
    sleeping: usize,
    /// Wake-ups sent and not yet taken by a worker: a job needs one only if no sleeping
    /// worker is already on its way.
    waking: usize,
    /// The courier sleeps until told that outcomes are held (it is not waiting for a deadline
    /// of its own): the worker that starts holding outcomes must wake it.
    courier_idle: bool,
}

/// A job waiting in a lane, with its turn.
struct Queued {
    turn: u64,
    job: Box<dyn Job>,
}

impl Queue {
    /// Whether large jobs may start: while fewer than all workers but one run them (one, for
    /// a single worker).
    fn large_may_run(&self) -> bool {
        self.running_large < self.workers.saturating_sub(1).max(1)
    }

    /// Whether a job waits that a worker may take now.
    fn has_runnable(&self) -> bool {
        !self.small.is_empty() || (!self.large.is_empty() && self.large_may_run())
    }

    /// The next job for a worker, and its lane: the one that came first, except that a large
    /// job waits while all workers but one run large jobs, and that a single worker takes small
    /// jobs first.
    fn next_job(&mut self) -> Option<(Box<dyn Job>, Lane)> {
        let large_may_run = self.large_may_run();
        let lane = match (self.small.front(), self.large.front()) {
            (None, None) => return None,
            (Some(_), None) => Lane::Small,
            (None, Some(_)) if large_may_run => Lane::Large,
            (None, Some(_)) => return None,
            (Some(small), Some(large)) => {
                if large_may_run && self.workers > 1 && large.turn < small.turn {
                    Lane::Large
                } else {
                    Lane::Small
                }
            }
        };
        let queued = match lane {
            Lane::Small => self.small.pop_front(),
            Lane::Large => self.large.pop_front(),
        }?;
        if lane == Lane::Large {
            self.running_large += 1;
        }
        Some((queued.job, lane))
    }

    /// The finished jobs to hand back now, if any: as soon as no job waits that may run now
    /// (the pool is not saturated, so the caller has a core to take them on), a worker is idle, or the
    /// oldest outcome has waited [`HOLD_AT_MOST`]. Checked whenever a worker finishes a job and
    /// whenever a job is queued; the courier hands back what is held when the oldest outcome
    /// reaches [`HOLD_AT_MOST`] between those checks.
    fn hand_back(&mut self) -> Vec<Box<dyn Job>> {
        let due = !self.finished.is_empty()
            && (!self.has_runnable()
                || self.sleeping > 0
                || self
                    .finished_since
                    .is_some_and(|since| since.elapsed() >= HOLD_AT_MOST));
        if !due {
            return Vec::new();
        }
        self.take_finished()
    }

    fn take_finished(&mut self) -> Vec<Box<dyn Job>> {
        self.finished_since = None;
        std::mem::take(&mut self.finished)
    }

    /// Whether the courier must be woken now: outcomes are held and it sleeps without a
    /// deadline. It is then marked awake, so that one wake-up goes out per batch.
    fn courier_needed(&mut self) -> bool {
        let needed = self.courier_idle && !self.finished.is_empty();
        if needed {
            self.courier_idle = false;
        }
        needed
    }
}

impl Pool {
    fn shared() -> &'static Pool {
        static POOL: OnceLock<&'static Pool> = OnceLock::new();
        POOL.get_or_init(|| {
            let pool: &'static Pool = Box::leak(Box::new(Pool {
                queue: Mutex::new(Queue {
                    small: VecDeque::new(),
                    large: VecDeque::new(),
                    next_turn: 0,
                    running_large: 0,
                    // Counted as they start: jobs queued meanwhile wait for the first.
                    workers: 0,
                    finished: Vec::new(),
                    finished_since: None,
                    sleeping: 0,
                    waking: 0,
                    // Until the courier runs nobody is to be woken; it clears this itself.
                    courier_idle: false,
                }),
                queued: Condvar::new(),
                holding: Condvar::new(),
            }));
            let courier = std::thread::Builder::new()
                .name("compysition-cpu-courier".to_string())
                .spawn(move || pool.courier());
            if let Err(error) = courier {
                // Outcomes still go back whenever a worker finishes a job or a job is queued;
                // only the bound on holding them is lost.
                tracing::warn!(%error, "cannot start the CPU pool's courier thread");
            }
            let workers = std::thread::available_parallelism().map_or(1, |n| n.get());
            for n in 0..workers {
                let started = std::thread::Builder::new()
                    .name(format!("compysition-cpu-{n}"))
                    // Deep stylesheet recursion runs on this stack: the transform depth limit
                    // keeps well within it.
                    .stack_size(WORKER_STACK)
                    .spawn(move || pool.work());
                if started.is_ok() {
                    pool.lock().workers += 1;
                }
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

    /// Queues `job` in `lane`, unless `bound` jobs wait there already.
    fn submit(&self, job: Box<dyn Job>, lane: Lane, bound: usize) -> Result<(), EventError> {
        let mut queue = self.lock();
        let turn = queue.next_turn;
        let waiting = match lane {
            Lane::Small => &mut queue.small,
            Lane::Large => &mut queue.large,
        };
        if waiting.len() >= bound {
            let waiting = waiting.len();
            drop(queue);
            return Err(EventError::unavailable(format!(
                "the CPU pool is busy: {waiting} {} jobs wait already",
                match lane {
                    Lane::Small => "small",
                    Lane::Large => "large",
                }
            )));
        }
        waiting.push_back(Queued { turn, job });
        queue.next_turn += 1;
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
        Ok(())
    }

    /// A worker: runs queued jobs and sleeps while there are none; outcomes go back in batches
    /// (see the module documentation).
    fn work(&self) {
        let mut done: Option<(Box<dyn Job>, Lane)> = None;
        loop {
            let (next, due, wake_courier) = {
                let mut queue = self.lock();
                if let Some((job, lane)) = done.take() {
                    if lane == Lane::Large {
                        queue.running_large -= 1;
                    }
                    queue.finished.push(job);
                    queue.finished_since.get_or_insert_with(Instant::now);
                }
                loop {
                    let due = queue.hand_back();
                    if let Some(job) = queue.next_job() {
                        // Whatever is still held waits through this job at most until the
                        // courier's deadline.
                        let wake_courier = queue.courier_needed();
                        break (Some(job), due, wake_courier);
                    }
                    if !due.is_empty() {
                        break (None, due, false);
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
            if wake_courier {
                self.holding.notify_one();
            }
            hand_back(due);
            if let Some((mut job, lane)) = next {
                job.run();
                done = Some((job, lane));
            }
        }
    }

    /// The courier: sleeps while no outcome is held; while some are, hands them back once the
    /// oldest has waited [`HOLD_AT_MOST`] (a worker finishing a job may have done it first).
    fn courier(&self) {
        let mut queue = self.lock();
        loop {
            let Some(since) = queue.finished_since else {
                queue.courier_idle = true;
                queue = self
                    .holding
                    .wait(queue)
                    .unwrap_or_else(|poisoned| poisoned.into_inner());
                // Woken by a worker (which cleared the flag) or spuriously: look again.
                queue.courier_idle = false;
                continue;
            };
            let waited = since.elapsed();
            if waited < HOLD_AT_MOST {
                // Nobody wakes the courier while it waits for a deadline: a batch handed back
                // meanwhile, or a younger one begun, is seen when it wakes.
                queue = self
                    .holding
                    .wait_timeout(queue, HOLD_AT_MOST - waited)
                    .map_or_else(|poisoned| poisoned.into_inner().0, |(queue, _)| queue);
                continue;
            }
            let due = queue.take_finished();
            drop(queue);
            hand_back(due);
            queue = self.lock();
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

    /// Taken by the tests that keep every worker busy until they let go: two of them at once
    /// could each hold some workers while waiting for the rest.
    static ALL_WORKERS: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

    fn cpus() -> usize {
        std::thread::available_parallelism().map_or(1, |n| n.get())
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn an_outcome_is_not_held_back_by_jobs_that_take_long() {
        let _all_workers = ALL_WORKERS.lock().await;
        let offload = CpuPool::per_cpu();
        let cpus = cpus();
        let (started, mut running) = tokio::sync::mpsc::unbounded_channel::<()>();
        let (finish_quick, quick_gate) = std::sync::mpsc::channel::<()>();
        let (release, blocked) = std::sync::mpsc::channel::<()>();
        let blocked = Arc::new(Mutex::new(blocked));
        // The quick job first, so that it runs; then one long job per worker, one of which
        // stays queued while the others take the remaining workers.
        let announce = started.clone();
        let mut quick = Box::pin(offload.run(move || {
            let _ = announce.send(());
            let _ = quick_gate.recv();
            Ok("quick")
        }));
        assert!((&mut quick).now_or_never().is_none());
        let long: Vec<_> = (0..cpus)
            .map(|_| {
                let (announce, blocked) = (started.clone(), Arc::clone(&blocked));
                offload.run(move || {
                    let _ = announce.send(());
                    let _ = blocked.lock().map(|b| b.recv());
                    Ok(())
                })
            })
            .collect();
        let mut long = Box::pin(futures_util::future::join_all(long));
        assert!((&mut long).now_or_never().is_none());
        for _ in 0..cpus {
            running.recv().await.expect("a job started");
        }
        // Every worker is busy and a job waits: the quick job's outcome is held when it
        // finishes, and its worker goes on to the last long job.
        finish_quick.send(()).expect("the quick job waits");
        let outcome = tokio::time::timeout(Duration::from_secs(5), &mut quick).await;
        for _ in 0..cpus {
            release.send(()).expect("a long job");
        }
        assert_eq!(
            outcome.expect("handed back while every worker is still busy"),
            Ok("quick")
        );
        long.await.into_iter().for_each(|r| r.expect("job ran"));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn no_more_jobs_run_at_once_than_there_are_cpus() {
        let offload = CpuPool::per_cpu();
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
        let offload = CpuPool::per_cpu();
        let jobs = (0..2_000u64).map(|n| offload.run(move || Ok(n * n)));
        let outcomes = futures_util::future::join_all(jobs).await;
        for (n, outcome) in (0..2_000u64).zip(outcomes) {
            assert_eq!(outcome.expect("job ran"), n * n);
        }
    }

    #[tokio::test]
    async fn a_job_whose_caller_stopped_waiting_is_skipped() {
        let _all_workers = ALL_WORKERS.lock().await;
        let offload = CpuPool::per_cpu();
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
        // Every worker is past the abandoned job.
        every_worker_passes(&offload, cpus).await;
        assert_eq!(ran.load(Ordering::SeqCst), 0);
    }

    /// Runs one job per worker, all at once (each waits for the others): when it returns,
    /// every worker has taken a job queued after whatever was queued before.
    async fn every_worker_passes(pool: &CpuPool, cpus: usize) {
        let all_workers = Arc::new(std::sync::Barrier::new(cpus));
        let markers = (0..cpus).map(|_| {
            let all_workers = Arc::clone(&all_workers);
            pool.run(move || {
                all_workers.wait();
                Ok(())
            })
        });
        for marker in futures_util::future::join_all(markers).await {
            marker.expect("the pool goes on");
        }
    }

    #[tokio::test]
    async fn a_panicking_job_is_a_500_and_the_worker_goes_on() {
        let offload = CpuPool::per_cpu();
        let error = offload
            .run(|| -> Result<(), EventError> { panic!("boom") })
            .await
            .expect_err("panicked");
        assert_eq!(error.kind(), crate::ErrorKind::Internal);
        assert!(error.message().contains("boom"), "{error}");
        assert_eq!(offload.run(|| Ok(7)).await.expect("still working"), 7);
    }

    /// Blocks `count` workers with jobs of `size` until `release` gets one message per job;
    /// returns once they all run, with their outcomes to come.
    async fn block_workers(
        pool: &CpuPool,
        size: usize,
        count: usize,
    ) -> (
        std::sync::mpsc::Sender<()>,
        std::pin::Pin<Box<impl std::future::Future<Output = Vec<Result<(), EventError>>> + '_>>,
    ) {
        let (started, mut running) = tokio::sync::mpsc::unbounded_channel::<()>();
        let (release, blocked) = std::sync::mpsc::channel::<()>();
        let blocked = Arc::new(Mutex::new(blocked));
        let jobs: Vec<_> = (0..count)
            .map(|_| {
                let (announce, blocked) = (started.clone(), Arc::clone(&blocked));
                pool.run_until(size, None, move || {
                    let _ = announce.send(());
                    // One released job at a time takes the receiver; the others wait on it.
                    let _ = blocked.lock().map(|b| b.recv());
                    Ok(())
                })
            })
            .collect();
        let mut jobs = Box::pin(futures_util::future::join_all(jobs));
        assert!((&mut jobs).now_or_never().is_none());
        for _ in 0..count {
            running.recv().await.expect("a blocking job started");
        }
        (release, jobs)
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_small_job_is_not_held_back_by_large_ones() {
        let _all_workers = ALL_WORKERS.lock().await;
        let pool = CpuPool::per_cpu();
        let cpus = cpus();
        let running_large = cpus.saturating_sub(1).max(1);
        let log = Arc::new(Mutex::new(Vec::<&str>::new()));
        let (started, mut running) = tokio::sync::mpsc::unbounded_channel::<()>();
        let (release, blocked) = std::sync::mpsc::channel::<()>();
        let blocked = Arc::new(Mutex::new(blocked));
        // More large jobs than workers: some run, the others queue before the small job.
        let large: Vec<_> = (0..cpus + 2)
            .map(|_| {
                let (announce, blocked, log) =
                    (started.clone(), Arc::clone(&blocked), Arc::clone(&log));
                pool.run_until(LARGE_FROM, None, move || {
                    let _ = log.lock().map(|mut log| log.push("large"));
                    let _ = announce.send(());
                    let _ = blocked.lock().map(|b| b.recv());
                    Ok(())
                })
            })
            .collect();
        let mut large = Box::pin(futures_util::future::join_all(large));
        assert!((&mut large).now_or_never().is_none());
        for _ in 0..running_large {
            running.recv().await.expect("a large job started");
        }
        let small_log = Arc::clone(&log);
        let mut small = Box::pin(pool.run(move || {
            let _ = small_log.lock().map(|mut log| log.push("small"));
            Ok("small")
        }));
        if cpus > 1 {
            // One worker is kept for small jobs while the large ones hold all the others.
            let outcome = tokio::time::timeout(Duration::from_secs(5), &mut small).await;
            assert_eq!(outcome.expect("done while large jobs run"), Ok("small"));
        } else {
            assert!((&mut small).now_or_never().is_none());
        }
        for _ in 0..cpus + 2 {
            release.send(()).expect("a large job");
        }
        if cpus == 1 {
            assert_eq!(small.await, Ok("small"));
        }
        large.await.into_iter().for_each(|r| r.expect("job ran"));
        // Before every large job that was still queued when the small one came.
        let log = log.lock().expect("log").clone();
        assert_eq!(
            log.iter().position(|job| *job == "small"),
            Some(running_large),
            "{log:?}"
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_job_beyond_a_full_lane_is_unavailable_at_once() {
        let _all_workers = ALL_WORKERS.lock().await;
        let pool = CpuPool::per_cpu().queue_bounds(SMALL_QUEUE_BOUND, 1);
        let running_large = cpus().saturating_sub(1).max(1);
        let (release, busy) = block_workers(&pool, LARGE_FROM, running_large).await;
        let mut waiting = Box::pin(pool.run_until(LARGE_FROM, None, || Ok("waited")));
        assert!((&mut waiting).now_or_never().is_none(), "queued");
        let refused = pool
            .run_until(LARGE_FROM, None, || Ok("refused"))
            .now_or_never()
            .expect("refused without waiting")
            .expect_err("the lane is full");
        assert_eq!(refused.kind(), crate::ErrorKind::Unavailable);
        assert!(
            refused.message().starts_with("the CPU pool is busy"),
            "{refused}"
        );
        // The small lane is not full.
        let small = pool.run(|| Ok("small"));
        for _ in 0..running_large {
            release.send(()).expect("a blocked job");
        }
        assert_eq!(small.await, Ok("small"));
        assert_eq!(waiting.await, Ok("waited"));
        busy.await.into_iter().for_each(|r| r.expect("job ran"));
    }

    #[tokio::test(start_paused = true)]
    async fn a_queued_job_past_its_deadline_times_out_and_never_runs() {
        let _all_workers = ALL_WORKERS.lock().await;
        let pool = CpuPool::per_cpu();
        let cpus = cpus();
        let (release, busy) = block_workers(&pool, 0, cpus).await;
        let ran = Arc::new(AtomicUsize::new(0));
        let counted = Arc::clone(&ran);
        let deadline = Deadline::after(Duration::from_millis(100));
        let error = pool
            .run_until(0, Some(deadline), move || {
                counted.fetch_add(1, Ordering::SeqCst);
                Ok(())
            })
            .await
            .expect_err("every worker is busy past the deadline");
        assert_eq!(error.kind(), crate::ErrorKind::Timeout);
        // At the deadline (the clock is paused: it moves to the deadline's timer and no
        // further).
        let late = tokio::time::Instant::now().saturating_duration_since(deadline.instant());
        assert!(late < Duration::from_millis(2), "{late:?} late");
        for _ in 0..cpus {
            release.send(()).expect("a blocked job");
        }
        busy.await.into_iter().for_each(|r| r.expect("job ran"));
        // Every worker is past the timed-out job.
        every_worker_passes(&pool, cpus).await;
        assert_eq!(ran.load(Ordering::SeqCst), 0);
        // A deadline already past fails without queueing anything.
        let past = pool.run_until(0, Some(deadline), || Ok(())).now_or_never();
        assert_eq!(
            past.and_then(Result::err).map(|e| e.kind()),
            Some(crate::ErrorKind::Timeout)
        );
    }
}
