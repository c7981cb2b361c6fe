//! Z85 (ZeroMQ RFC 32): the base-85 text form of binary data that libzmq and pyzmq use for
//! CURVE keys, 5 characters for every 4 octets. A plain codec, no cryptography.

/// The alphabet, in digit order.
const ALPHABET: &[u8; 85] =
    b"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#";

/// The digit of a character, if it is in the alphabet.
fn digit(character: u8) -> Option<u32> {
    ALPHABET
        .iter()
        .position(|&c| c == character)
        .map(|index| index as u32)
}

/// `data` in Z85; `None` unless its length is a multiple of 4.
pub(crate) fn encode(data: &[u8]) -> Option<String> {
    if !data.len().is_multiple_of(4) {
        return None;
    }
    let mut text = String::with_capacity(data.len() / 4 * 5);
    for group in data.chunks_exact(4) {
        let mut value = u32::from_be_bytes([group[0], group[1], group[2], group[3]]);
        let mut digits = [0u8; 5];
        for slot in digits.iter_mut().rev() {
            *slot = ALPHABET[(value % 85) as usize];
            value /= 85;
        }
        text.extend(digits.iter().map(|&d| char::from(d)));
    }
    Some(text)
}

/// The data of a Z85 text; `None` unless its length is a multiple of 5 and every character
/// is in the alphabet and every group fits in 4 octets.
pub(crate) fn decode(text: &str) -> Option<Vec<u8>> {
    let text = text.as_bytes();
    if !text.len().is_multiple_of(5) {
        return None;
    }
    let mut data = Vec::with_capacity(text.len() / 5 * 4);
    for group in text.chunks_exact(5) {
        let mut value: u64 = 0;
        for &character in group {
            value = value * 85 + u64::from(digit(character)?);
        }
        // "%%%%%" is 85^5 - 1, past 2^32: such a group encodes no 4 octets.
        let value = u32::try_from(value).ok()?;
        data.extend_from_slice(&value.to_be_bytes());
    }
    Some(data)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rfc_32_test_vector_round_trips() {
        let data = [0x86, 0x4F, 0xD2, 0x6F, 0xB5, 0x59, 0xF7, 0x5B];
        assert_eq!(encode(&data).as_deref(), Some("HelloWorld"));
        assert_eq!(decode("HelloWorld").as_deref(), Some(&data[..]));
    }

    #[test]
    fn bad_lengths_characters_and_overflowing_groups_are_refused() {
        assert_eq!(encode(&[1, 2, 3]), None);
        assert_eq!(decode("Hello Worl"), None);
        assert_eq!(decode("Hell"), None);
        assert_eq!(decode("%%%%%"), None);
        assert_eq!(decode("").as_deref(), Some(&[][..]));
    }

    #[test]
    fn every_octet_value_round_trips() {
        let data: Vec<u8> = (0..=255u8).collect();
        let text = encode(&data).expect("a multiple of 4");
        assert_eq!(decode(&text), Some(data));
    }
}
