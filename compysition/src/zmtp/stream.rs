//! Reading and writing one connection's byte stream, as both of our sockets use it — the
//! [`Router`](super::router::Router) and the [`Dealer`](super::dealer::Dealer): frames read
//! under the limits of the [`Scanner`] into chunks of complete messages, a chunk taken apart
//! message by message, what is queued written as far as the kernel takes it, and the reads
//! of the handshake.
//!
//! Reading never sets memory aside for octets that are only announced, and makes one `read`
//! per readiness where it can: a read shorter than the room offered drained the socket, and
//! tokio is told so without an extra empty read.
//!
//! The memory of unfinished messages (received in part) can be counted over all connections of
//! a socket ([`Unfinished`]): each reader keeps its [`Share`] up to date after every read, and
//! says when the total went past the cap ([`ReadOutcome::OverBudget`]) so that the socket can
//! drop a connection. A connection alone is bounded by the message size limit; this bounds
//! many connections together.

use std::io;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::{Buf, Bytes, BytesMut};
use tokio::io::{AsyncReadExt, Interest};
use tokio::net::TcpStream;

use super::frame::Header;
use super::limits::MAX_COMMAND;
use super::scanner::Scanner;
use super::security::Decoder;
use super::violation::{HandshakeError, Violation};

/// A read asks the kernel for at least this much, and at most `READ_MAX` at once.
const READ_MIN: usize = 8 * 1024;
const READ_MAX: usize = 64 * 1024;
/// An idle buffer larger than this is given back rather than kept for the next message.
const KEEP_CAPACITY: usize = 64 * 1024;

/// What a read of a connection produced.
pub(crate) enum ReadOutcome {
    /// Complete messages (and commands), as they came on the wire.
    Chunk(Bytes),
    /// The connection ended, or broke a limit.
    Closed(Option<Violation>),
    /// The unfinished messages of all connections sharing the reader's [`Unfinished`] now take
    /// more than its cap: the socket must drop a connection. The reader can go on.
    OverBudget,
}

/// The memory that the unfinished messages of a socket's connections take, and its cap.
#[derive(Debug)]
pub(crate) struct Unfinished {
    total: AtomicUsize,
    cap: AtomicUsize,
}

impl Unfinished {
    /// A budget of `cap` octets.
    pub(crate) fn new(cap: usize) -> Self {
        Unfinished {
            total: AtomicUsize::new(0),
            cap: AtomicUsize::new(cap),
        }
    }

    /// Sets the cap (the socket that uses the budget knows it; its counters come first).
    pub(crate) fn set_cap(&self, cap: usize) {
        self.cap.store(cap, Ordering::Relaxed);
    }

    /// The octets taken now.
    pub(crate) fn total(&self) -> usize {
        self.total.load(Ordering::Relaxed)
    }

    /// Whether they are past the cap.
    pub(crate) fn is_over(&self) -> bool {
        self.total() > self.cap.load(Ordering::Relaxed)
    }

    /// A share for one more connection.
    pub(crate) fn share(self: &Arc<Self>) -> Share {
        Share {
            budget: Arc::clone(self),
            held: Arc::new(AtomicUsize::new(0)),
        }
    }
}

/// One connection's part of an [`Unfinished`] budget. Its holding can be read (and given back,
/// when the socket drops the connection) through [`Share::holding`].
#[derive(Debug)]
pub(crate) struct Share {
    budget: Arc<Unfinished>,
    held: Arc<AtomicUsize>,
}

impl Share {
    /// What this connection holds, as the socket sees it.
    pub(crate) fn holding(&self) -> Holding {
        Holding {
            budget: Arc::clone(&self.budget),
            held: Arc::clone(&self.held),
        }
    }

    /// Records that the connection holds `now` octets; whether the budget is past its cap.
    fn set(&self, now: usize) -> bool {
        let before = self.held.swap(now, Ordering::Relaxed);
        if now > before {
            self.budget.total.fetch_add(now - before, Ordering::Relaxed);
        } else {
            self.budget.total.fetch_sub(before - now, Ordering::Relaxed);
        }
        self.budget.is_over()
    }
}

impl Drop for Share {
    fn drop(&mut self) {
        self.set(0);
    }
}

/// The socket's view of one connection's [`Share`].
#[derive(Debug)]
pub(crate) struct Holding {
    budget: Arc<Unfinished>,
    held: Arc<AtomicUsize>,
}

impl Holding {
    /// The octets the connection holds.
    pub(crate) fn octets(&self) -> usize {
        self.held.load(Ordering::Relaxed)
    }

    /// Gives the connection's octets back to the budget at once, for a connection being
    /// dropped whose reader will never run again (its memory goes when the reader does).
    pub(crate) fn release(&self) {
        let held = self.held.swap(0, Ordering::Relaxed);
        self.budget.total.fetch_sub(held, Ordering::Relaxed);
    }
}

/// The receiving side of a connection: what has arrived and how far it is checked.
pub(crate) struct FrameReader {
    buffer: BytesMut,
    scanner: Scanner,
    /// Where the memory of an unfinished message is counted, if anywhere.
    share: Option<Share>,
    /// What was last counted there.
    counted: usize,
    /// What the security mechanism does to the frames read (CURVE opens its boxes).
    decoder: Decoder,
}

impl FrameReader {
    /// A reader for messages of at most `max_message` octets, starting with what the
    /// handshake read past the peer's READY.
    pub(crate) fn new(leftover: BytesMut, max_message: usize) -> Self {
        FrameReader {
            buffer: leftover,
            scanner: Scanner::new(max_message),
            share: None,
            counted: 0,
            decoder: Decoder::Plain,
        }
    }

    /// The reader with `decoder` for what is read (messages still of at most `max_message`
    /// octets once decoded).
    pub(crate) fn decoding(mut self, decoder: Decoder, max_message: usize) -> Self {
        self.scanner = Scanner::new(decoder.wire_limit(max_message));
        self.decoder = decoder;
        self
    }

    /// A reader that counts the memory of its unfinished message in `share`.
    pub(crate) fn sharing(leftover: BytesMut, max_message: usize, share: Share) -> Self {
        FrameReader {
            share: Some(share),
            ..FrameReader::new(leftover, max_message)
        }
    }

    /// Counts what the buffer holds of an unfinished message: its whole allocation, which is
    /// what it costs (a growing buffer can have up to twice what has arrived). Whether the
    /// budget is past its cap.
    fn count(&mut self) -> bool {
        let Some(share) = &self.share else {
            return false;
        };
        let held = self.decoder.held();
        let now = if self.buffer.is_empty() && held == 0 {
            0
        } else {
            self.buffer.capacity() + held
        };
        if now == self.counted {
            return false;
        }
        self.counted = now;
        share.set(now)
    }

    /// Reads until complete messages are buffered (and returns them) or the connection ends.
    pub(crate) fn poll_chunk(
        &mut self,
        stream: &TcpStream,
        cx: &mut Context<'_>,
    ) -> Poll<ReadOutcome> {
        // What the handshake or the last read left may already hold messages.
        let mut fresh = !self.buffer.is_empty();
        loop {
            if fresh {
                match self.scanner.scan(&self.buffer) {
                    Err(violation) => return Poll::Ready(ReadOutcome::Closed(Some(violation))),
                    Ok(0) => {
                        if self.count() {
                            return Poll::Ready(ReadOutcome::OverBudget);
                        }
                    }
                    Ok(complete) => {
                        let chunk = self.buffer.split_to(complete).freeze();
                        self.scanner.taken(complete);
                        let decoded = self.decoder.decode(chunk);
                        let over = self.count();
                        match decoded {
                            Err(violation) => {
                                return Poll::Ready(ReadOutcome::Closed(Some(violation)))
                            }
                            Ok(Some(chunk)) => return Poll::Ready(ReadOutcome::Chunk(chunk)),
                            // Boxes of a message not yet complete: read on.
                            Ok(None) if over => return Poll::Ready(ReadOutcome::OverBudget),
                            Ok(None) => {
                                fresh = !self.buffer.is_empty();
                                continue;
                            }
                        }
                    }
                }
            }
            if self.buffer.is_empty() && self.buffer.capacity() > KEEP_CAPACITY {
                self.buffer = BytesMut::new();
            }
            match stream.poll_read_ready(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(Err(_)) => return Poll::Ready(ReadOutcome::Closed(None)),
                Poll::Ready(Ok(())) => {}
            }
            // Room for what the frame being read still needs, within bounds: a length that
            // is only announced never sets memory aside. The room left after the last message
            // is used first, so small messages share one allocation.
            let wanted = self.scanner.wanted(self.buffer.len());
            if self.buffer.capacity() - self.buffer.len() < wanted.min(READ_MIN) {
                self.buffer.reserve(wanted.clamp(READ_MIN, READ_MAX));
            }
            match read_some(stream, &mut self.buffer) {
                Ok(0) => return Poll::Ready(ReadOutcome::Closed(None)),
                Ok(_) => fresh = true,
                Err(error) if error.kind() == io::ErrorKind::WouldBlock => fresh = false,
                Err(_) => return Poll::Ready(ReadOutcome::Closed(None)),
            }
        }
    }
}

/// Reads what the socket holds into the room `buffer` has. A read shorter than that room
/// drained the socket: it tells tokio so, as an empty read would, without making one. The
/// readiness it clears is the one seen before the read, so data that arrives after it wakes
/// the connection again (tokio compares the readiness tick).
fn read_some(stream: &TcpStream, buffer: &mut BytesMut) -> io::Result<usize> {
    let mut read = 0;
    let outcome = stream.try_io(Interest::READABLE, || {
        let room = buffer.capacity() - buffer.len();
        read = stream.try_read_buf(buffer)?;
        if read > 0 && read < room {
            Err(io::ErrorKind::WouldBlock.into())
        } else {
            Ok(read)
        }
    });
    match outcome {
        Err(error) if error.kind() == io::ErrorKind::WouldBlock && read > 0 => Ok(read),
        other => other,
    }
}

/// A chunk of complete messages being taken apart. The frames are slices of the chunk: taking
/// a message apart copies nothing.
pub(crate) struct Chunk {
    bytes: Bytes,
    offset: usize,
}

impl Chunk {
    pub(crate) fn new(bytes: Bytes) -> Self {
        Chunk { bytes, offset: 0 }
    }

    /// Puts the frames of the next message into `frames` (cleared first) and returns true, or
    /// returns false once the chunk is used up. Commands met on the way go to `command`.
    pub(crate) fn next_message(
        &mut self,
        frames: &mut Vec<Bytes>,
        mut command: impl FnMut(&[u8]),
    ) -> bool {
        frames.clear();
        // The scanner checked every header of the chunk, which ends at a message boundary.
        while let Ok(Some(header)) = Header::parse(&self.bytes[self.offset..]) {
            let start = self.offset + header.len;
            let end = start + header.body;
            self.offset = end;
            if header.is_command() {
                command(&self.bytes[start..end]);
                continue;
            }
            frames.push(self.bytes.slice(start..end));
            if !header.has_more() {
                return true;
            }
        }
        false
    }
}

/// Writes as much of `out` as the kernel takes now; true when all of it went.
pub(crate) fn write_now(stream: &TcpStream, out: &mut BytesMut) -> io::Result<bool> {
    while !out.is_empty() {
        match stream.try_write(out) {
            Ok(written) => out.advance(written),
            Err(error) if error.kind() == io::ErrorKind::WouldBlock => return Ok(false),
            Err(error) => return Err(error),
        }
    }
    if out.capacity() > KEEP_CAPACITY {
        *out = BytesMut::new();
    }
    Ok(true)
}

/// Reads until `buffer` holds at least `len` octets (never reserving more than that): the
/// reads of the handshake, which awaits each step before the next.
pub(crate) async fn fill(
    stream: &mut TcpStream,
    buffer: &mut BytesMut,
    len: usize,
) -> Result<(), HandshakeError> {
    while buffer.len() < len {
        buffer.reserve(len - buffer.len());
        match stream.read_buf(buffer).await {
            Ok(0) | Err(_) => return Err(None),
            Ok(_) => {}
        }
    }
    Ok(())
}

/// Reads the next command of a handshake (at most [`MAX_COMMAND`] octets, no MORE flag) and
/// returns its body; `wrong` is the violation a frame that is no such command is.
pub(crate) async fn read_command(
    stream: &mut TcpStream,
    buffer: &mut BytesMut,
    wrong: Violation,
) -> Result<BytesMut, HandshakeError> {
    let header = loop {
        match Header::parse(buffer)? {
            Some(header) => break header,
            None => {
                let more = buffer.len() + 1;
                fill(stream, buffer, more).await?
            }
        }
    };
    if !header.is_command() || header.has_more() || header.body > MAX_COMMAND {
        return Err(Some(wrong));
    }
    let end = header.len + header.body;
    fill(stream, buffer, end).await?;
    let mut command = buffer.split_to(end);
    command.advance(header.len);
    Ok(command)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::zmtp::command::command;
    use crate::zmtp::frame::{put_header, MORE};

    fn wire(frames: &[(u8, &[u8])]) -> Bytes {
        let mut out = Vec::new();
        for (flags, body) in frames {
            put_header(&mut out, *flags, body.len());
            out.extend_from_slice(body);
        }
        Bytes::from(out)
    }

    #[test]
    fn a_chunk_yields_its_messages_and_hands_commands_over() {
        let ping = command(b"PING", b"\x00\x01c");
        let mut bytes = wire(&[(MORE, b"a"), (0, b"b")]).to_vec();
        bytes.extend_from_slice(&ping);
        bytes.extend_from_slice(&wire(&[(0, b"c")]));
        let mut chunk = Chunk::new(Bytes::from(bytes));
        let mut frames = Vec::new();
        let mut commands = Vec::new();
        assert!(chunk.next_message(&mut frames, |c| commands.push(c.to_vec())));
        assert_eq!(frames, ["a", "b"]);
        assert!(chunk.next_message(&mut frames, |c| commands.push(c.to_vec())));
        assert_eq!(frames, ["c"]);
        assert_eq!(commands, [ping[2..].to_vec()]);
        assert!(!chunk.next_message(&mut frames, |_| {}));
    }
}
