//! The CPU time of this process, for benchmarks that report it beside their rates.

use std::time::Duration;

/// The CPU time (user and system) all threads of this process have run so far, from Linux's
/// per-thread scheduler statistics (the first field of each thread's `schedstat`, in
/// nanoseconds); `None` elsewhere. Other processes loading the machine do not count in it,
/// which makes it steadier than wall-clock rates on a shared machine.
pub fn process_cpu_time() -> Option<Duration> {
    let mut total = 0u64;
    for thread in std::fs::read_dir("/proc/self/task").ok()? {
        let stat = std::fs::read_to_string(thread.ok()?.path().join("schedstat")).ok()?;
        total += stat.split_whitespace().next()?.parse::<u64>().ok()?;
    }
    Some(Duration::from_nanos(total))
}
