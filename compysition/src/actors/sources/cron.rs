//! Cron expressions: the schedule of [`EventGenerator::cron`](super::EventGenerator::cron).
//!
//! An expression has five fields, `minute hour day-of-month month day-of-week`, or six with
//! `second` first; fields are separated by whitespace and times are UTC.
//!
//! | field        | values | names                           |
//! | ------------ | ------ | ------------------------------- |
//! | second       | 0–59   |                                 |
//! | minute       | 0–59   |                                 |
//! | hour         | 0–23   |                                 |
//! | day-of-month | 1–31   |                                 |
//! | month        | 1–12   | `JAN`..`DEC`                    |
//! | day-of-week  | 0–7    | `SUN`..`SAT` (0 and 7 are both Sunday) |
//!
//! A field is a comma-separated list of parts; a part is `*` (every value), a value, or a range
//! `a-b`, each optionally followed by a step `/n` (`*/15`, `10-40/10`; `5/20` runs from 5 to the
//! field's maximum). Names are case-insensitive and stand wherever a value does (`MON-FRI`). As
//! in standard cron, when both day fields are restricted (anything but a lone `*`) a day
//! matching either one fires. The shorthands `@daily` & co. and the Quartz extensions (`?`,
//! `L`, `W`, `#`) are not accepted: such an expression is a [`ParseCronError`] that says why.

use std::fmt;
use std::str::FromStr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::timestamp::{days_in_month, Civil};

/// A parsed cron expression.
#[derive(Clone, PartialEq, Eq)]
pub struct CronSchedule {
    seconds: u64, // bits 0..=59
    minutes: u64, // bits 0..=59
    hours: u32,   // bits 0..=23
    days: u32,    // bits 1..=31
    months: u16,  // bits 1..=12
    weekdays: u8, // bits 0..=6, Sunday = 0
    days_restricted: bool,
    weekdays_restricted: bool,
    text: String,
}

impl fmt::Debug for CronSchedule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CronSchedule({:?})", self.text)
    }
}

/// A cron expression that does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid cron expression `{expression}`: {reason}")]
pub struct ParseCronError {
    expression: String,
    reason: String,
}

const MONTHS: [&str; 12] = [
    "JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC",
];
const WEEKDAYS: [&str; 7] = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"];

fn parse_field(
    field: &str,
    min: u32,
    max: u32,
    names: &[&str],
    name_base: u32,
) -> Result<u64, String> {
    let value = |text: &str| -> Result<u32, String> {
        if let Some(i) = names.iter().position(|n| n.eq_ignore_ascii_case(text)) {
            return Ok(i as u32 + name_base);
        }
        let v: u32 = text
            .parse()
            .map_err(|_| format!("`{text}` is not a number"))?;
        if v < min || v > max {
            return Err(format!("{v} is outside {min}-{max}"));
        }
        Ok(v)
    };
    let mut bits = 0u64;
    for part in field.split(',') {
        let (range, step) = match part.split_once('/') {
            Some((range, step)) => {
                let step: u32 = step
                    .parse()
                    .map_err(|_| format!("step `{step}` is not a number"))?;
                if step == 0 {
                    return Err("a step of 0".to_string());
                }
                (range, step)
            }
            None => (part, 1),
        };
        let (low, high) = if range == "*" {
            (min, max)
        } else if let Some((a, b)) = range.split_once('-') {
            (value(a)?, value(b)?)
        } else {
            let v = value(range)?;
            (v, if part.contains('/') { max } else { v })
        };
        if low > high {
            return Err(format!("range {low}-{high} runs backwards"));
        }
        // `high` is at most 59 and a step may be any number: stepping past `high` ends it.
        let mut v = Some(low);
        while let Some(at) = v.filter(|at| *at <= high) {
            bits |= 1 << at;
            v = at.checked_add(step);
        }
    }
    Ok(bits)
}

impl FromStr for CronSchedule {
    type Err = ParseCronError;

    fn from_str(expression: &str) -> Result<Self, Self::Err> {
        let error = |reason: String| ParseCronError {
            expression: expression.to_string(),
            reason,
        };
        let fields: Vec<&str> = expression.split_whitespace().collect();
        let (seconds, rest) = match fields.len() {
            5 => ("0", &fields[..]),
            6 => (fields[0], &fields[1..]),
            n => return Err(error(format!("expected 5 or 6 fields, found {n}"))),
        };
        let seconds = parse_field(seconds, 0, 59, &[], 0).map_err(&error)?;
        let minutes = parse_field(rest[0], 0, 59, &[], 0).map_err(&error)?;
        let hours = parse_field(rest[1], 0, 23, &[], 0).map_err(&error)? as u32;
        let days = parse_field(rest[2], 1, 31, &[], 0).map_err(&error)? as u32;
        let months = parse_field(rest[3], 1, 12, &MONTHS, 1).map_err(&error)? as u16;
        // 7 is Sunday too.
        let mut weekdays = parse_field(rest[4], 0, 7, &WEEKDAYS, 0).map_err(&error)?;
        if weekdays & (1 << 7) != 0 {
            weekdays = (weekdays | 1) & 0x7f;
        }
        Ok(CronSchedule {
            seconds,
            minutes,
            hours,
            days,
            months,
            weekdays: weekdays as u8,
            days_restricted: rest[2] != "*",
            weekdays_restricted: rest[4] != "*",
            text: expression.to_string(),
        })
    }
}

impl CronSchedule {
    fn day_matches(&self, t: &Civil) -> bool {
        let by_day = self.days & (1 << t.day) != 0;
        let by_weekday = self.weekdays & (1 << t.weekday()) != 0;
        // Standard cron: when both are restricted, either may match.
        match (self.days_restricted, self.weekdays_restricted) {
            (true, true) => by_day || by_weekday,
            (true, false) => by_day,
            (false, true) => by_weekday,
            (false, false) => true,
        }
    }

    /// The first time strictly after `after` that the schedule names, within the next five
    /// years (`None` for schedules that never fire, like `0 0 30 2 *`).
    pub fn next_after(&self, after: SystemTime) -> Option<SystemTime> {
        let start = after.duration_since(UNIX_EPOCH).ok()?.as_secs() as i64 + 1;
        let limit = start + 5 * 366 * 86_400;
        let mut t = Civil::from_unix(start);
        while t.to_unix() < limit {
            if self.months & (1 << t.month) == 0 {
                // First second of the next month.
                let (year, month) = if t.month == 12 {
                    (t.year + 1, 1)
                } else {
                    (t.year, t.month + 1)
                };
                t = Civil {
                    year,
                    month,
                    day: 1,
                    hour: 0,
                    minute: 0,
                    second: 0,
                };
                continue;
            }
            if !self.day_matches(&t) {
                t = Civil::from_unix(
                    Civil {
                        hour: 0,
                        minute: 0,
                        second: 0,
                        ..t
                    }
                    .to_unix()
                        + 86_400,
                );
                continue;
            }
            if self.hours & (1 << t.hour) == 0 {
                t = Civil::from_unix(
                    Civil {
                        minute: 0,
                        second: 0,
                        ..t
                    }
                    .to_unix()
                        + 3600,
                );
                continue;
            }
            if self.minutes & (1 << t.minute) == 0 {
                t = Civil::from_unix(Civil { second: 0, ..t }.to_unix() + 60);
                continue;
            }
            if self.seconds & (1 << t.second) == 0 {
                t = Civil::from_unix(t.to_unix() + 1);
                continue;
            }
            debug_assert!(t.day <= days_in_month(t.year, t.month));
            return Some(UNIX_EPOCH + Duration::from_secs(t.to_unix() as u64));
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(secs: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(secs)
    }

    fn civil(t: SystemTime) -> Civil {
        Civil::from_unix(t.duration_since(UNIX_EPOCH).expect("after epoch").as_secs() as i64)
    }

    #[test]
    fn every_five_minutes() {
        let cron: CronSchedule = "*/5 * * * *".parse().expect("valid");
        // 2026-11-28 16:56:35 UTC
        let next = civil(cron.next_after(at(1_795_884_995)).expect("fires"));
        assert_eq!((next.hour, next.minute, next.second), (17, 0, 0));
    }

    #[test]
    fn weekday_names_and_month_rollover() {
        let cron: CronSchedule = "30 9 * * MON".parse().expect("valid");
        // Saturday 2026-11-28 → Monday 2026-11-30 09:30.
        let next = civil(cron.next_after(at(1_795_884_995)).expect("fires"));
        assert_eq!(
            (next.month, next.day, next.hour, next.minute),
            (11, 30, 9, 30)
        );
        let yearly: CronSchedule = "0 0 1 JAN *".parse().expect("valid");
        let next = civil(yearly.next_after(at(1_795_884_995)).expect("fires"));
        assert_eq!((next.year, next.month, next.day), (2027, 1, 1));
    }

    #[test]
    fn six_fields_have_seconds() {
        let cron: CronSchedule = "*/10 * * * * *".parse().expect("valid");
        let next = civil(cron.next_after(at(1_795_884_995)).expect("fires"));
        assert_eq!((next.minute, next.second), (56, 40));
    }

    #[test]
    fn impossible_dates_never_fire() {
        let cron: CronSchedule = "0 0 30 2 *".parse().expect("valid");
        assert_eq!(cron.next_after(at(1_795_884_995)), None);
    }

    #[test]
    fn bad_expressions_say_why() {
        for (text, reason) in [
            ("* * * *", "expected 5 or 6 fields"),
            ("61 * * * *", "outside 0-59"),
            ("*/0 * * * *", "step of 0"),
            ("5-1 * * * *", "backwards"),
            ("* * * FOO *", "not a number"),
        ] {
            let error = text.parse::<CronSchedule>().expect_err(text).to_string();
            assert!(error.contains(reason), "{text}: {error}");
        }
    }

    #[test]
    fn a_step_larger_than_the_field_takes_only_its_start() {
        let cron: CronSchedule = "1/4294967295 * * * *".parse().expect("valid");
        assert_eq!(cron.minutes, 1 << 1);
    }
}
