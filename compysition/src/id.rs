//! Unique event ids.
//!
//! An id is 128 bits: 64 random bits chosen once per thread and a 64-bit per-thread counter.
//! Making one costs a thread-local increment (no system call, no shared atomic), ids never repeat
//! within a process, and the random half keeps ids from different processes apart (an MDP flow
//! spans several). Ids print in the familiar 8-4-4-4-12 hex form.

use std::cell::Cell;
use std::collections::hash_map::RandomState;
use std::fmt;
use std::hash::{BuildHasher, Hasher};
use std::str::FromStr;

/// The unique, immutable id of an event.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct EventId(u128);

thread_local! {
    static NEXT: Cell<(u64, u64)> = Cell::new((thread_prefix(), 0));
}

fn thread_prefix() -> u64 {
    // RandomState is seeded from the operating system's random source; mixing in the time and
    // the thread keeps two threads (and two processes) apart even if seeds were to repeat.
    let mut hasher = RandomState::new().build_hasher();
    hasher.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default(),
    );
    hasher.write_u32(std::process::id());
    let here = 0u8;
    hasher.write_usize(&here as *const u8 as usize);
    hasher.finish()
}

impl EventId {
    /// A fresh id.
    pub fn new() -> Self {
        NEXT.with(|next| {
            let (prefix, counter) = next.get();
            next.set((prefix, counter.wrapping_add(1)));
            EventId(((prefix as u128) << 64) | counter as u128)
        })
    }

    /// The id as a number.
    pub fn as_u128(self) -> u128 {
        self.0
    }

    /// An id from a number (from the wire, say).
    pub fn from_u128(value: u128) -> Self {
        EventId(value)
    }
}

impl Default for EventId {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Display for EventId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let v = self.0;
        write!(
            f,
            "{:08x}-{:04x}-{:04x}-{:04x}-{:012x}",
            (v >> 96) as u32,
            (v >> 80) as u16,
            (v >> 64) as u16,
            (v >> 48) as u16,
            v & 0xffff_ffff_ffff
        )
    }
}

impl fmt::Debug for EventId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// The text was not an id in the 8-4-4-4-12 hex form.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not an event id: expected 32 hex digits in 8-4-4-4-12 groups")]
pub struct ParseEventIdError;

impl FromStr for EventId {
    type Err = ParseEventIdError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let groups: Vec<&str> = s.split('-').collect();
        let lengths = [8, 4, 4, 4, 12];
        if groups.len() != lengths.len() || groups.iter().zip(lengths).any(|(g, n)| g.len() != n) {
            return Err(ParseEventIdError);
        }
        let mut value = 0u128;
        for group in groups {
            for c in group.chars() {
                let digit = c.to_digit(16).ok_or(ParseEventIdError)?;
                value = (value << 4) | digit as u128;
            }
        }
        Ok(EventId(value))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn ids_do_not_repeat_across_threads() {
        let handles: Vec<_> = (0..4)
            .map(|_| std::thread::spawn(|| (0..10_000).map(|_| EventId::new()).collect::<Vec<_>>()))
            .collect();
        let mut seen = HashSet::new();
        for handle in handles {
            for id in handle.join().expect("thread") {
                assert!(seen.insert(id), "repeated id {id}");
            }
        }
    }

    #[test]
    fn display_round_trips() {
        let id = EventId::new();
        let text = id.to_string();
        assert_eq!(text.len(), 36);
        assert_eq!(text.parse::<EventId>(), Ok(id));
        assert!("not-an-id".parse::<EventId>().is_err());
        assert!("zzzzzzzz-0000-0000-0000-000000000000"
            .parse::<EventId>()
            .is_err());
    }
}
