//! Unique event ids that carry their creation time.
//!
//! An id is a UUID version 7 (RFC 9562): the Unix time in milliseconds (48 bits), then the
//! fraction of the millisecond in 1/4096 steps (12 bits, the RFC's "increased clock precision"),
//! then 62 random bits from a per-thread generator seeded from the operating system. So ids sort
//! by time, ids of different processes and hosts stay apart, an id tells nothing about how many
//! events came before it, and the event's creation time needs no field of its own: an event is
//! its id and its payload (and a pointer for everything else), which keeps every hop of every
//! event small. Making one costs a clock read and a few multiplications. Ids print in the
//! familiar 8-4-4-4-12 hex form.

use std::cell::Cell;
use std::collections::hash_map::RandomState;
use std::fmt;
use std::hash::{BuildHasher, Hasher};
use std::str::FromStr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The unique, immutable id of an event.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct EventId(u128);

thread_local! {
    /// The state of this thread's generator (wyrand).
    static RANDOM: Cell<u64> = Cell::new(seed());
}

fn seed() -> u64 {
    // RandomState is seeded from the operating system's random source; mixing in the thread's
    // stack address keeps two threads apart even if seeds were to repeat.
    let mut hasher = RandomState::new().build_hasher();
    let here = 0u8;
    hasher.write_usize(&here as *const u8 as usize);
    hasher.write_u32(std::process::id());
    hasher.finish()
}

/// The next 64 random bits of this thread (wyrand: fast, and every seed gives the full period).
pub(crate) fn next_random() -> u64 {
    RANDOM.with(|state| {
        let next = state.get().wrapping_add(0xa076_1d64_78bd_642f);
        state.set(next);
        let product = u128::from(next) * u128::from(next ^ 0xe703_7ed1_a0b4_28db);
        (product as u64) ^ ((product >> 64) as u64)
    })
}

/// 64 random bits from this thread's generator, for what needs spreading rather than secrecy:
/// the jitter of reconnection backoffs, say. Not for keys or tokens.
// Only the MDP client uses it so far; a build without `mdp` has no backoff to spread.
#[cfg_attr(not(feature = "mdp"), allow(dead_code))]
pub(crate) fn random_u64() -> u64 {
    next_random()
}

const VERSION_7: u128 = 0x7 << 76;
const VARIANT_RFC: u128 = 0b10 << 62;

impl EventId {
    /// A fresh id, stamped with the current time.
    pub fn new() -> Self {
        Self::at(SystemTime::now())
    }

    /// A fresh id stamped with `time` (times before 1970 count as 1970).
    pub fn at(time: SystemTime) -> Self {
        let since = time.duration_since(UNIX_EPOCH).unwrap_or(Duration::ZERO);
        let millis = since.as_millis() & ((1 << 48) - 1);
        let fraction = u128::from((since.subsec_nanos() % 1_000_000) * 4096 / 1_000_000);
        let random = u128::from(next_random() >> 2);
        EventId((millis << 80) | VERSION_7 | (fraction << 64) | VARIANT_RFC | random)
    }

    /// When the id was made, to 1/4096 of a millisecond: the creation time of its event.
    pub fn created(self) -> SystemTime {
        let millis = (self.0 >> 80) as u64;
        let fraction = ((self.0 >> 64) & 0xfff) as u64;
        UNIX_EPOCH
            + Duration::from_millis(millis)
            + Duration::from_nanos(fraction * 1_000_000 / 4096)
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
    fn an_id_is_a_uuid_v7_that_carries_its_time() {
        let time = UNIX_EPOCH + Duration::from_micros(1_764_768_000_123_456);
        let id = EventId::at(time);
        let text = id.to_string();
        assert_eq!(&text[14..15], "7", "version: {text}");
        assert!(
            matches!(&text[19..20], "8" | "9" | "a" | "b"),
            "variant: {text}"
        );
        let error = time.duration_since(id.created()).expect("not later");
        assert!(error < Duration::from_nanos(245), "{error:?}");
    }

    #[test]
    fn ids_sort_by_time() {
        let early = EventId::at(UNIX_EPOCH + Duration::from_secs(1_000));
        let late = EventId::at(UNIX_EPOCH + Duration::from_secs(1_001));
        assert!(early < late);
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
