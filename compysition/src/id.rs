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

    /// The id in the 8-4-4-4-12 hex form, as ASCII on the stack: ids are written on every HTTP
    /// answer and in log records, and the formatting machinery costs more than the digits.
    pub(crate) fn hyphenated(self) -> [u8; 36] {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let mut text = [b'-'; 36];
        let mut shift = 128;
        for (at, byte) in text.iter_mut().enumerate() {
            if !matches!(at, 8 | 13 | 18 | 23) {
                shift -= 4;
                *byte = HEX[((self.0 >> shift) & 0xf) as usize];
            }
        }
        text
    }
}

impl Default for EventId {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Display for EventId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The digits are ASCII: the conversion cannot fail.
        f.write_str(std::str::from_utf8(&self.hyphenated()).unwrap_or_default())
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
    fn display_is_the_hyphenated_hex_form() {
        let id = EventId::from_u128(0x0123_4567_89ab_cdef_fedc_ba98_7654_3210);
        assert_eq!(id.to_string(), "01234567-89ab-cdef-fedc-ba9876543210");
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
