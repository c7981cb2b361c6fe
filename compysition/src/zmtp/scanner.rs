//! [`Scanner`]: where complete messages end in a connection's read buffer. It is where the
//! wire limits are enforced while data arrives, so that a length a peer only announces never
//! has memory set aside for it.

use super::frame::{Header, MAX_HEADER};
use super::limits::{MAX_COMMAND, MAX_FRAMES};
use super::violation::Violation;

/// Finds where complete messages end in what a connection has read, checking every frame
/// header against the limits as soon as it arrives, before its body does.
///
/// The buffer it scans starts at a message boundary (the caller splits off what [`Scanner::scan`]
/// returned); commands may come between messages, and between the frames of one.
#[derive(Debug)]
pub(crate) struct Scanner {
    max_message: usize,
    /// Where scanning goes on.
    scanned: usize,
    /// The end of the last complete message or of a command outside a message.
    complete: usize,
    /// Data frames and octets of the message being read.
    frames: usize,
    octets: usize,
    /// The end of the frame being read, once its header is known.
    frame_end: Option<usize>,
}

impl Scanner {
    /// A scanner for messages of at most `max_message` octets (the sum of their frames).
    pub(crate) fn new(max_message: usize) -> Self {
        Scanner {
            max_message,
            scanned: 0,
            complete: 0,
            frames: 0,
            octets: 0,
            frame_end: None,
        }
    }

    /// Scans what arrived since the last call; returns how many octets from the start of
    /// `buffer` hold complete messages and commands (0 when none is complete yet).
    pub(crate) fn scan(&mut self, buffer: &[u8]) -> Result<usize, Violation> {
        loop {
            let rest = &buffer[self.scanned..];
            let Some(header) = Header::parse(rest)? else {
                self.frame_end = None;
                break;
            };
            if header.is_command() {
                if header.has_more() || header.body > MAX_COMMAND {
                    return Err(Violation::BadCommand);
                }
            } else {
                // Checked on the header, before the body arrives: nothing is set aside for
                // octets a peer only announces.
                if self.frames == MAX_FRAMES {
                    return Err(Violation::TooManyFrames);
                }
                if header.body > self.max_message - self.octets {
                    return Err(Violation::TooLarge);
                }
            }
            // Saturating: with a limit near `usize::MAX` the sum would overflow, and a frame
            // that long is waited for (and never completes) rather than miscounted.
            let frame_len = header.len.saturating_add(header.body);
            if rest.len() < frame_len {
                self.frame_end = Some(self.scanned.saturating_add(frame_len));
                break;
            }
            self.scanned += frame_len;
            if header.is_command() {
                if self.frames == 0 {
                    self.complete = self.scanned;
                }
            } else if header.has_more() {
                self.frames += 1;
                self.octets += header.body;
            } else {
                self.frames = 0;
                self.octets = 0;
                self.complete = self.scanned;
            }
        }
        Ok(self.complete)
    }

    /// The caller took the first `taken` octets (at most what [`Scanner::scan`] returned).
    pub(crate) fn taken(&mut self, taken: usize) {
        self.scanned -= taken;
        self.complete -= taken;
        if let Some(end) = self.frame_end.as_mut() {
            *end -= taken;
        }
    }

    /// How many more octets the frame being read needs (a header's worth when unknown), given
    /// that `buffered` octets are in the buffer.
    pub(crate) fn wanted(&self, buffered: usize) -> usize {
        match self.frame_end {
            Some(end) => end.saturating_sub(buffered),
            None => MAX_HEADER,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::zmtp::command::command;
    use crate::zmtp::frame::{put_header, COMMAND, LONG, MORE};

    fn frame(flags: u8, body: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        put_header(&mut out, flags, body.len());
        out.extend_from_slice(body);
        out
    }

    #[test]
    fn a_message_is_complete_only_after_its_last_frame() {
        let mut scanner = Scanner::new(1024);
        let mut wire = frame(MORE, b"a");
        assert_eq!(scanner.scan(&wire), Ok(0));
        wire.extend(frame(0, b"bc"));
        let end = wire.len();
        wire.extend(frame(MORE, b"next"));
        assert_eq!(scanner.scan(&wire), Ok(end));
        scanner.taken(end);
        assert_eq!(scanner.scan(&wire[end..]), Ok(0));
    }

    #[test]
    fn a_frame_arriving_in_pieces_is_waited_for() {
        let wire = frame(0, b"hello");
        let mut scanner = Scanner::new(1024);
        for cut in 0..wire.len() {
            assert_eq!(scanner.scan(&wire[..cut]), Ok(0), "cut at {cut}");
        }
        assert_eq!(scanner.wanted(3), 4);
        assert_eq!(scanner.scan(&wire), Ok(wire.len()));
    }

    #[test]
    fn a_huge_announced_length_is_refused_from_its_header_alone() {
        let mut header = vec![LONG];
        header.extend_from_slice(&(1u64 << 62).to_be_bytes());
        let mut scanner = Scanner::new(16 * 1024 * 1024);
        assert_eq!(scanner.scan(&header), Err(Violation::TooLarge));
    }

    #[test]
    fn the_limit_counts_every_frame_of_a_message() {
        let mut scanner = Scanner::new(10);
        let mut wire = frame(MORE, b"123456");
        wire.extend(frame(0, b"12345"));
        assert_eq!(scanner.scan(&wire), Err(Violation::TooLarge));
        let mut scanner = Scanner::new(10);
        let mut wire = frame(MORE, b"123456");
        wire.extend(frame(0, b"1234"));
        assert_eq!(scanner.scan(&wire), Ok(wire.len()));
    }

    #[test]
    fn too_many_frames_are_refused() {
        let mut scanner = Scanner::new(usize::MAX);
        let wire: Vec<u8> = (0..=MAX_FRAMES).flat_map(|_| frame(MORE, b"")).collect();
        assert_eq!(scanner.scan(&wire), Err(Violation::TooManyFrames));
    }

    #[test]
    fn commands_between_messages_and_inside_one_are_skipped_over() {
        let mut scanner = Scanner::new(1024);
        let ping = command(b"PING", &[0, 0]);
        let mut wire = ping.clone();
        assert_eq!(scanner.scan(&wire), Ok(wire.len()));
        wire.extend(frame(MORE, b"a"));
        let inside = wire.len() + ping.len();
        wire.extend(&ping);
        assert_eq!(scanner.scan(&wire), Ok(ping.len()), "not inside a message");
        wire.extend(frame(0, b"b"));
        assert!(inside < wire.len());
        assert_eq!(scanner.scan(&wire), Ok(wire.len()));
    }

    #[test]
    fn a_limit_near_the_top_of_usize_does_not_overflow_the_frame_arithmetic() {
        let mut header = vec![LONG];
        header.extend_from_slice(&u64::MAX.to_be_bytes());
        let mut scanner = Scanner::new(usize::MAX);
        assert_eq!(
            scanner.scan(&header),
            Ok(0),
            "waits for a body it will never get"
        );
        assert!(scanner.wanted(header.len()) > 0);
        let mut scanner = Scanner::new(usize::MAX);
        let mut wire = frame(MORE, b"a");
        wire.extend_from_slice(&header);
        assert_eq!(
            scanner.scan(&wire),
            Err(Violation::TooLarge),
            "past what is left"
        );
    }

    #[test]
    fn long_or_multi_frame_commands_are_refused() {
        let mut scanner = Scanner::new(usize::MAX);
        let mut long = vec![COMMAND | LONG];
        long.extend_from_slice(&((MAX_COMMAND + 1) as u64).to_be_bytes());
        assert_eq!(scanner.scan(&long), Err(Violation::BadCommand));
        let mut scanner = Scanner::new(usize::MAX);
        assert_eq!(
            scanner.scan(&frame(COMMAND | MORE, b"\x04PING")),
            Err(Violation::BadCommand)
        );
    }
}
