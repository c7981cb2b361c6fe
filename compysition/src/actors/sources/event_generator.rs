//! `EventGenerator`: a source that emits events on a fixed interval or a cron schedule.

use std::time::{Duration, SystemTime};

use compysition_macros::actor;
use tokio::time::{Instant, MissedTickBehavior};

use crate::actor::Context;
use crate::event::Event;
use crate::payload::Payload;

use super::cron::{CronSchedule, ParseCronError};

/// Emits an event carrying a copy of its data on a schedule (the Python `TestEvent` actor).
///
/// ```
/// use std::time::Duration;
/// use compysition::actors::EventGenerator;
///
/// let every_second = EventGenerator::every(Duration::from_secs(1)); // emits "test"
/// let ten_pings = EventGenerator::every(Duration::from_millis(10)).data("ping".to_string()).count(10);
/// let nightly = EventGenerator::cron("0 3 * * *").expect("valid cron").data("run".to_string());
/// # let _ = (every_second, ten_pings, nightly);
/// ```
#[actor(outboxes(outbox: T))]
#[derive(Clone, Debug)]
pub struct EventGenerator<T> {
    schedule: Schedule,
    data: T,
    count: Option<u64>,
}

#[derive(Clone, Debug)]
enum Schedule {
    Interval { period: Duration, delay: Duration },
    Cron(CronSchedule),
}

impl EventGenerator<String> {
    /// Emits `"test"` now and then every `period`.
    pub fn every(period: Duration) -> Self {
        EventGenerator {
            schedule: Schedule::Interval {
                period: period.max(Duration::from_micros(1)),
                delay: Duration::ZERO,
            },
            data: "test".to_string(),
            count: None,
        }
    }

    /// Emits `"test"` at every time the cron expression names (UTC). Five fields (minute hour
    /// day-of-month month day-of-week) or six (seconds first); `*`, lists, ranges, steps and
    /// the names `JAN`..`DEC`, `SUN`..`SAT` are understood.
    pub fn cron(expression: &str) -> Result<Self, ParseCronError> {
        Ok(EventGenerator {
            schedule: Schedule::Cron(expression.parse()?),
            data: "test".to_string(),
            count: None,
        })
    }

    /// Emits `data` once, right away, then finishes.
    pub fn once<T>(data: T) -> EventGenerator<T> {
        EventGenerator::every(Duration::from_secs(1))
            .data(data)
            .count(1)
    }
}

impl<T> EventGenerator<T> {
    /// Emits copies of `data` instead.
    pub fn data<U>(self, data: U) -> EventGenerator<U> {
        EventGenerator {
            schedule: self.schedule,
            data,
            count: self.count,
        }
    }

    /// Stops after `n` events.
    pub fn count(mut self, n: u64) -> Self {
        self.count = Some(n);
        self
    }

    /// Waits `delay` before the first event of an interval schedule.
    pub fn delay(mut self, delay: Duration) -> Self {
        if let Schedule::Interval { delay: d, .. } = &mut self.schedule {
            *d = delay;
        }
        self
    }
}

#[actor]
impl<T: Payload + Clone> EventGenerator<T> {
    #[source]
    async fn emit(&self, ctx: &Context, out: &EventGeneratorOutboxes<T>) {
        let mut emitted = 0u64;
        let mut interval = match &self.schedule {
            Schedule::Interval { period, delay } => {
                let mut interval = tokio::time::interval_at(Instant::now() + *delay, *period);
                interval.set_missed_tick_behavior(MissedTickBehavior::Delay);
                Some(interval)
            }
            Schedule::Cron(_) => None,
        };
        while self.count.is_none_or(|n| emitted < n) {
            let tick = async {
                match (&mut interval, &self.schedule) {
                    (Some(interval), _) => {
                        interval.tick().await;
                        true
                    }
                    (None, Schedule::Cron(cron)) => match cron.next_after(SystemTime::now()) {
                        Some(at) => {
                            let wait = at.duration_since(SystemTime::now()).unwrap_or_default();
                            tokio::time::sleep(wait).await;
                            true
                        }
                        None => false,
                    },
                    (None, Schedule::Interval { .. }) => false,
                }
            };
            tokio::select! {
                biased;
                () = ctx.stopped() => break,
                more = tick => if !more { break },
            }
            out.outbox.send(Event::new(self.data.clone())).await;
            emitted += 1;
        }
    }
}
