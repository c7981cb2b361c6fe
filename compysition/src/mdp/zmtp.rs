//! ZMTP 3 (ZeroMQ RFC 23, with the PING/PONG of RFC 37): the greeting, the NULL handshake, and
//! frames checked against limits before any memory is set aside for them.
//!
//! The `zeromq` crate trusts the length a peer announces and reserves that much memory before
//! the first byte of the frame arrives: a 9-byte frame header announcing 2^62 bytes aborts the
//! process ("memory allocation failed"), and it has no option to bound a frame. Every socket
//! of the Majordomo pieces therefore reads the wire with this module — the listening ones that
//! any peer can reach (broker, registration service) and the connecting ones (clients, workers,
//! the registration dialogue): a frame or message over the limit closes that one connection,
//! and a buffer only ever grows with bytes that have actually arrived.
//!
//! ```text
//! greeting  = %xFF 8OCTET %x7F  %x03 minor  "NULL" 16%x00  as-server  31%x00     (64 octets)
//! frame     = flags size body             flags: MORE 0x01, LONG 0x02, COMMAND 0x04
//! size      = OCTET (short) / 8OCTET (LONG, network order)
//! command   = name-length name data       READY, PING, PONG, ERROR, ...
//! READY     = *(name-length name value-length(4 octets) value)   metadata properties
//! ```

use std::fmt;

use bytes::BufMut;

/// The length of a greeting.
pub(crate) const GREETING_LEN: usize = 64;
/// Flag bit: more frames of this message follow.
pub(crate) const MORE: u8 = 0x01;
/// Flag bit: the size is 8 octets.
pub(crate) const LONG: u8 = 0x02;
/// Flag bit: the frame is a command, not part of a message.
pub(crate) const COMMAND: u8 = 0x04;
/// The largest command accepted. Commands are short (READY carries a few properties, PING at
/// most 22 octets); only a hostile peer sends a long one.
pub(crate) const MAX_COMMAND: usize = 16 * 1024;
/// The most frames one message may have.
pub(crate) const MAX_FRAMES: usize = 4096;
/// The longest header a frame can have (flags and a long size).
pub(crate) const MAX_HEADER: usize = 9;

/// Why a connection is closed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Violation {
    /// The first octets are not a ZMTP 3 greeting.
    NotZmtp,
    /// A ZMTP version before 3.0.
    OldVersion(u8),
    /// A security mechanism other than NULL.
    Mechanism,
    /// The handshake was not a READY command, or READY was malformed.
    BadReady,
    /// A socket type that cannot talk to a ROUTER.
    IncompatibleSocket,
    /// An identity the ROUTER cannot use (taken, or starting with a zero octet, which is
    /// reserved for generated identities).
    BadIdentity,
    /// Flag bits that ZMTP 3 reserves.
    ReservedFlags,
    /// A command longer than [`MAX_COMMAND`] or with the MORE flag.
    BadCommand,
    /// A message over the size limit.
    TooLarge,
    /// A message with more than [`MAX_FRAMES`] frames.
    TooManyFrames,
    /// No handshake within the deadline.
    Slow,
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Violation::NotZmtp => f.write_str("not a ZMTP 3 greeting"),
            Violation::OldVersion(major) => write!(f, "ZMTP version {major} (3 or later needed)"),
            Violation::Mechanism => f.write_str("security mechanism other than NULL"),
            Violation::BadReady => f.write_str("handshake is not a valid READY command"),
            Violation::IncompatibleSocket => f.write_str("socket type cannot talk to a ROUTER"),
            Violation::BadIdentity => f.write_str("identity taken or reserved"),
            Violation::ReservedFlags => f.write_str("reserved frame flags set"),
            Violation::BadCommand => f.write_str("command too long or flagged MORE"),
            Violation::TooLarge => f.write_str("message over the size limit"),
            Violation::TooManyFrames => f.write_str("message with too many frames"),
            Violation::Slow => f.write_str("no handshake in time"),
        }
    }
}

/// Our greeting: ZMTP 3.1, NULL mechanism, not as server (NULL has no roles).
pub(crate) fn greeting() -> [u8; GREETING_LEN] {
    let mut greeting = [0u8; GREETING_LEN];
    greeting[0] = 0xFF;
    greeting[9] = 0x7F;
    greeting[10] = 3;
    greeting[11] = 1;
    greeting[12..16].copy_from_slice(b"NULL");
    greeting
}

/// Checks a peer's greeting: the signature, version 3 or later, the NULL mechanism.
pub(crate) fn check_greeting(greeting: &[u8; GREETING_LEN]) -> Result<(), Violation> {
    if greeting[0] != 0xFF || greeting[9] != 0x7F {
        return Err(Violation::NotZmtp);
    }
    if greeting[10] < 3 {
        return Err(Violation::OldVersion(greeting[10]));
    }
    let mechanism = &greeting[12..32];
    if &mechanism[..4] != b"NULL" || mechanism[4..].iter().any(|&octet| octet != 0) {
        return Err(Violation::Mechanism);
    }
    Ok(())
}

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

/// A command frame: `name` and its data.
pub(crate) fn command(name: &[u8], data: &[u8]) -> Vec<u8> {
    let mut frame = Vec::with_capacity(MAX_HEADER + 1 + name.len() + data.len());
    put_header(&mut frame, COMMAND, 1 + name.len() + data.len());
    frame.push(name.len() as u8);
    frame.extend_from_slice(name);
    frame.extend_from_slice(data);
    frame
}

/// Our READY command for a socket of type `socket_type`.
pub(crate) fn ready(socket_type: &str) -> Vec<u8> {
    let mut metadata = Vec::with_capacity(16 + socket_type.len());
    metadata.push(11);
    metadata.extend_from_slice(b"Socket-Type");
    metadata.extend_from_slice(&(socket_type.len() as u32).to_be_bytes());
    metadata.extend_from_slice(socket_type.as_bytes());
    command(b"READY", &metadata)
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

/// A command: its name and data.
pub(crate) fn split_command(body: &[u8]) -> Option<(&[u8], &[u8])> {
    let (&name_len, rest) = body.split_first()?;
    let name_len = usize::from(name_len);
    (rest.len() >= name_len).then(|| rest.split_at(name_len))
}

/// What a peer's READY says about it.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct PeerReady<'a> {
    pub(crate) socket_type: &'a [u8],
    pub(crate) identity: &'a [u8],
}

/// Reads the metadata of a READY command body (property names are case-insensitive).
pub(crate) fn parse_ready(body: &[u8]) -> Result<PeerReady<'_>, Violation> {
    let (name, mut metadata) = split_command(body).ok_or(Violation::BadReady)?;
    if name != b"READY" {
        return Err(Violation::BadReady);
    }
    let mut ready = PeerReady::default();
    while let Some((&name_len, rest)) = metadata.split_first() {
        let name_len = usize::from(name_len);
        let (name, rest) = split_at(rest, name_len)?;
        let (size, rest) = split_at(rest, 4)?;
        let size = u32::from_be_bytes([size[0], size[1], size[2], size[3]]);
        let (value, rest) = split_at(rest, usize::try_from(size).unwrap_or(usize::MAX))?;
        if name.eq_ignore_ascii_case(b"Socket-Type") {
            ready.socket_type = value;
        } else if name.eq_ignore_ascii_case(b"Identity") {
            ready.identity = value;
        }
        metadata = rest;
    }
    Ok(ready)
}

fn split_at(bytes: &[u8], at: usize) -> Result<(&[u8], &[u8]), Violation> {
    if bytes.len() < at {
        return Err(Violation::BadReady);
    }
    Ok(bytes.split_at(at))
}

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

    fn frame(flags: u8, body: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        put_header(&mut out, flags, body.len());
        out.extend_from_slice(body);
        out
    }

    #[test]
    fn our_greeting_passes_our_own_check() {
        assert_eq!(check_greeting(&greeting()), Ok(()));
    }

    #[test]
    fn greetings_other_than_zmtp3_null_are_refused() {
        let mut http = [0u8; GREETING_LEN];
        http[..16].copy_from_slice(b"GET / HTTP/1.1\r\n");
        assert_eq!(check_greeting(&http), Err(Violation::NotZmtp));
        let mut zmtp2 = greeting();
        zmtp2[10] = 1;
        assert_eq!(check_greeting(&zmtp2), Err(Violation::OldVersion(1)));
        let mut curve = greeting();
        curve[12..17].copy_from_slice(b"CURVE");
        assert_eq!(check_greeting(&curve), Err(Violation::Mechanism));
    }

    #[test]
    fn ready_metadata_round_trips_case_insensitively() {
        let ours = ready("ROUTER");
        let header = Header::parse(&ours).expect("valid").expect("complete");
        assert!(header.is_command());
        let parsed = parse_ready(&ours[header.len..]).expect("valid READY");
        assert_eq!(parsed.socket_type, b"ROUTER");

        let mut metadata = Vec::new();
        for (name, value) in [(&b"socket-type"[..], &b"DEALER"[..]), (b"IDENTITY", b"me")] {
            metadata.push(name.len() as u8);
            metadata.extend_from_slice(name);
            metadata.extend_from_slice(&(value.len() as u32).to_be_bytes());
            metadata.extend_from_slice(value);
        }
        let theirs = command(b"READY", &metadata);
        let parsed = parse_ready(&theirs[2..]).expect("valid READY");
        assert_eq!(parsed.socket_type, b"DEALER");
        assert_eq!(parsed.identity, b"me");
    }

    #[test]
    fn a_truncated_ready_property_is_refused() {
        let theirs = command(b"READY", &[11, b'S', b'o']);
        assert_eq!(parse_ready(&theirs[2..]), Err(Violation::BadReady));
        let ping = command(b"PING", &[0, 0]);
        assert_eq!(parse_ready(&ping[2..]), Err(Violation::BadReady));
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
