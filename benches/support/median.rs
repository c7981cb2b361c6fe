//! The median of a bench's rounds.

/// The middle value of a bench's rounds (the upper one of two).
pub fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}
