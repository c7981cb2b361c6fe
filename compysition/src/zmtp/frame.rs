//! The ZMTP 3 frame header: its flags, its short and long size forms, and messages encoded as
//! frames.
//!
//! ```text
//! frame     = flags size body             flags: MORE 0x01, LONG 0x02, COMMAND 0x04
//! size      = OCTET (short) / 8OCTET (LONG, network order)
//! ```

use bytes::{BufMut, Bytes, BytesMut};

use super::violation::Violation;

/// Flag bit: more frames of this message follow.
pub(crate) const MORE: u8 = 0x01;
/// Flag bit: the size is 8 octets.
pub(crate) const LONG: u8 = 0x02;
/// Flag bit: the frame is a command, not part of a message.
pub(crate) const COMMAND: u8 = 0x04;
/// The longest header a frame can have (flags and a long size).
pub(crate) const MAX_HEADER: usize = 9;

/// Appends a frame header for a body of `len` octets with `flags` (LONG is added when needed).
pub(crate) fn put_header(out: &mut impl BufMut, flags: u8, len: usize) {
    match u8::try_from(len) {
        Ok(short) => out.put_slice(&[flags, short]),
        Err(_) => {
            out.put_u8(flags | LONG);
            out.put_u64(len as u64);
        }
    }
}

/// A frame header: its flags, its own length and the length of the body after it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Header {
    pub(crate) flags: u8,
    pub(crate) len: usize,
    pub(crate) body: usize,
}

impl Header {
    /// The header at the start of `bytes`, or `None` when it has not fully arrived. A size that
    /// does not fit in memory at all saturates (it is over every limit anyway).
    pub(crate) fn parse(bytes: &[u8]) -> Result<Option<Header>, Violation> {
        let Some(&flags) = bytes.first() else {
            return Ok(None);
        };
        if flags & !(MORE | LONG | COMMAND) != 0 {
            return Err(Violation::ReservedFlags);
        }
        if flags & LONG == 0 {
            return Ok(bytes.get(1).map(|&size| Header {
                flags,
                len: 2,
                body: usize::from(size),
            }));
        }
        let Some(size) = bytes.get(1..MAX_HEADER) else {
            return Ok(None);
        };
        let mut octets = [0u8; 8];
        octets.copy_from_slice(size);
        Ok(Some(Header {
            flags,
            len: MAX_HEADER,
            body: usize::try_from(u64::from_be_bytes(octets)).unwrap_or(usize::MAX),
        }))
    }

    pub(crate) fn is_command(self) -> bool {
        self.flags & COMMAND != 0
    }

    pub(crate) fn has_more(self) -> bool {
        self.flags & MORE != 0
    }
}

/// Appends a message to `out`: the frames of `head`, then those of `tail`.
pub(crate) fn encode(out: &mut BytesMut, head: &[&[u8]], tail: &[Bytes]) {
    let count = head.len() + tail.len();
    let frames = head.iter().copied().chain(tail.iter().map(|f| &f[..]));
    let size: usize = frames.clone().map(|f| MAX_HEADER + f.len()).sum();
    out.reserve(size);
    for (index, frame) in frames.enumerate() {
        let flags = if index + 1 < count { MORE } else { 0 };
        put_header(out, flags, frame.len());
        out.extend_from_slice(frame);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(flags: u8, body: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        put_header(&mut out, flags, body.len());
        out.extend_from_slice(body);
        out
    }

    #[test]
    fn long_sizes_are_used_past_255_octets() {
        let long = frame(0, &[7; 300]);
        assert_eq!(long[0], LONG);
        assert_eq!(
            Header::parse(&long).expect("valid"),
            Some(Header {
                flags: LONG,
                len: 9,
                body: 300
            })
        );
        assert_eq!(Header::parse(&long[..5]).expect("valid"), None);
    }

    #[test]
    fn reserved_flags_are_a_violation() {
        assert_eq!(Header::parse(&[0x08, 0]), Err(Violation::ReservedFlags));
    }
}
