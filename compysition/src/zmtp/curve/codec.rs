//! The MESSAGE boxes of an established CURVE connection: [`CurveTx`] seals outgoing frames,
//! [`CurveRx`] opens incoming ones and puts the frames back together as ZMTP frames, so that
//! the sockets read a CURVE connection exactly as a NULL one.

use bytes::{Bytes, BytesMut};
use crypto_box::aead::generic_array::GenericArray;
use crypto_box::aead::AeadInPlace;
use crypto_box::{Nonce, SalsaBox};

use crate::zmtp::frame::{put_header, Header, COMMAND, MAX_HEADER, MORE};
use crate::zmtp::limits::{MAX_COMMAND, MAX_FRAMES};
use crate::zmtp::violation::Violation;

/// The name of the command, with its length octet.
const MESSAGE: &[u8] = b"\x07MESSAGE";
/// The length of the MAC that opens a box.
const MAC: usize = 16;
/// What a box adds to a frame: the command name, the short nonce, the MAC and the flags.
pub(crate) const OVERHEAD: usize = MESSAGE.len() + 8 + MAC + 1;
/// The flags inside a box (libzmq's message flags, not the frame header's).
const BOX_MORE: u8 = 0x01;
const BOX_COMMAND: u8 = 0x02;
/// An idle buffer larger than this is given back rather than kept.
const KEEP_CAPACITY: usize = 64 * 1024;

/// The full nonce of a box: the direction's 16-octet prefix and the short nonce.
pub(super) fn nonce(prefix: &[u8; 16], short: u64) -> Nonce {
    let mut full = [0u8; 24];
    full[..16].copy_from_slice(prefix);
    full[16..].copy_from_slice(&short.to_be_bytes());
    Nonce::from(full)
}

/// The sending half: the connection's key and the next nonce.
pub(crate) struct CurveTx {
    cipher: SalsaBox,
    prefix: &'static [u8; 16],
    next: u64,
}

impl CurveTx {
    pub(super) fn new(cipher: SalsaBox, prefix: &'static [u8; 16], next: u64) -> Self {
        CurveTx {
            cipher,
            prefix,
            next,
        }
    }

    /// Appends a message (the frames of `head`, then those of `tail`) to `out`, a box each.
    pub(crate) fn seal_message(&mut self, out: &mut BytesMut, head: &[&[u8]], tail: &[Bytes]) {
        let count = head.len() + tail.len();
        let frames = head.iter().copied().chain(tail.iter().map(|f| &f[..]));
        let size: usize = frames
            .clone()
            .map(|f| MAX_HEADER + OVERHEAD + f.len())
            .sum();
        out.reserve(size);
        for (index, frame) in frames.enumerate() {
            let flags = if index + 1 < count { BOX_MORE } else { 0 };
            self.seal(out, flags, frame);
        }
    }

    /// Appends a command (a framed one, as [`command`](crate::zmtp::command::command) makes
    /// them) to `out`, boxed.
    pub(crate) fn seal_command(&mut self, out: &mut BytesMut, framed: &[u8]) {
        if let Ok(Some(header)) = Header::parse(framed) {
            if let Some(body) = framed.get(header.len..header.len + header.body) {
                self.seal(out, BOX_COMMAND, body);
            }
        }
    }

    /// One frame in a box.
    pub(crate) fn seal(&mut self, out: &mut BytesMut, flags: u8, body: &[u8]) {
        let short = self.next;
        // 2^64 boxes are never sent; saturating, a last nonce repeated is refused by the peer
        // rather than wrapped around to nonces it has seen.
        self.next = self.next.saturating_add(1);
        let start = out.len();
        put_header(out, 0, OVERHEAD + body.len());
        out.extend_from_slice(MESSAGE);
        out.extend_from_slice(&short.to_be_bytes());
        let mac_at = out.len();
        out.extend_from_slice(&[0u8; MAC]);
        out.extend_from_slice(&[flags]);
        out.extend_from_slice(body);
        let sealed = self.cipher.encrypt_in_place_detached(
            &nonce(self.prefix, short),
            b"",
            &mut out[mac_at + MAC..],
        );
        match sealed {
            Ok(mac) => out[mac_at..mac_at + MAC].copy_from_slice(&mac),
            // Only a frame past the cipher's length limit (256 GiB) fails: never one within
            // the message size limits; dropped rather than sent in clear.
            Err(_) => out.truncate(start),
        }
    }
}

/// The receiving half: the connection's key, the last nonce seen, and the message being put
/// back together.
pub(crate) struct CurveRx {
    cipher: SalsaBox,
    prefix: &'static [u8; 16],
    last: u64,
    max_message: usize,
    /// Opened frames, framed as ZMTP again.
    plain: BytesMut,
    /// The end of the last complete message (or command outside a message) in `plain`.
    complete: usize,
    /// Data frames and octets of the message being put together.
    frames: usize,
    octets: usize,
}

impl CurveRx {
    pub(super) fn new(
        cipher: SalsaBox,
        prefix: &'static [u8; 16],
        last: u64,
        max_message: usize,
    ) -> Self {
        CurveRx {
            cipher,
            prefix,
            last,
            max_message,
            plain: BytesMut::new(),
            complete: 0,
            frames: 0,
            octets: 0,
        }
    }

    /// The memory the unfinished message takes.
    pub(crate) fn held(&self) -> usize {
        if self.plain.is_empty() {
            0
        } else {
            self.plain.capacity()
        }
    }

    /// Opens the MESSAGE boxes of `chunk` (complete frames from the wire) and returns the
    /// messages they complete, as ZMTP frames; `None` when none is complete yet.
    pub(crate) fn open(&mut self, chunk: &[u8]) -> Result<Option<Bytes>, Violation> {
        let mut at = 0;
        while at < chunk.len() {
            let header = Header::parse(&chunk[at..])?.ok_or(Violation::Tampered)?;
            let body = chunk
                .get(at + header.len..at + header.len + header.body)
                .ok_or(Violation::Tampered)?;
            // libzmq sends a MESSAGE as a data frame; a COMMAND flag is taken too. A frame
            // that says more follow cannot be a MESSAGE.
            if header.has_more() {
                return Err(Violation::Tampered);
            }
            self.open_one(body)?;
            at += header.len + header.body;
        }
        if self.plain.is_empty() && self.plain.capacity() > KEEP_CAPACITY {
            self.plain = BytesMut::new();
        }
        if self.complete == 0 {
            return Ok(None);
        }
        let complete = std::mem::take(&mut self.complete);
        Ok(Some(self.plain.split_to(complete).freeze()))
    }

    /// Opens one MESSAGE box onto the end of `plain`.
    fn open_one(&mut self, body: &[u8]) -> Result<(), Violation> {
        if body.len() < OVERHEAD || !body.starts_with(MESSAGE) {
            return Err(Violation::Tampered);
        }
        let mut short = [0u8; 8];
        short.copy_from_slice(&body[MESSAGE.len()..MESSAGE.len() + 8]);
        let short = u64::from_be_bytes(short);
        if short <= self.last {
            return Err(Violation::Tampered);
        }
        let mac = &body[MESSAGE.len() + 8..MESSAGE.len() + 8 + MAC];
        let sealed = &body[MESSAGE.len() + 8 + MAC..];
        let len = sealed.len() - 1;
        // Bounded before anything is opened: no frame past what either kind may hold.
        if len > MAX_COMMAND && len > self.max_message - self.octets {
            return Err(Violation::TooLarge);
        }
        let header_len = if len < 256 { 2 } else { MAX_HEADER };
        let start = self.plain.len();
        let opened_at = start + header_len;
        self.plain.resize(opened_at, 0);
        self.plain.extend_from_slice(sealed);
        let opened = self.cipher.decrypt_in_place_detached(
            &nonce(self.prefix, short),
            b"",
            &mut self.plain[opened_at..],
            GenericArray::from_slice(mac),
        );
        if opened.is_err() {
            self.plain.truncate(start);
            return Err(Violation::Tampered);
        }
        self.last = short;
        let flags = self.plain[opened_at];
        self.plain.copy_within(opened_at + 1.., opened_at);
        self.plain.truncate(self.plain.len() - 1);
        let command = flags & BOX_COMMAND != 0;
        let more = !command && flags & BOX_MORE != 0;
        if command {
            if len > MAX_COMMAND {
                return Err(Violation::BadCommand);
            }
        } else {
            if self.frames == MAX_FRAMES {
                return Err(Violation::TooManyFrames);
            }
            if len > self.max_message - self.octets {
                return Err(Violation::TooLarge);
            }
        }
        let mut header = [0u8; MAX_HEADER];
        let mut slot = &mut header[..];
        let frame_flags = match (command, more) {
            (true, _) => COMMAND,
            (false, true) => MORE,
            (false, false) => 0,
        };
        put_header(&mut slot, frame_flags, len);
        self.plain[start..opened_at].copy_from_slice(&header[..header_len]);
        if command {
            if self.frames == 0 {
                self.complete = self.plain.len();
            }
        } else if more {
            self.frames += 1;
            self.octets += len;
        } else {
            self.frames = 0;
            self.octets = 0;
            self.complete = self.plain.len();
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crypto_box::aead::OsRng;
    use crypto_box::SecretKey;

    const PREFIX: &[u8; 16] = b"CurveZMQMESSAGEC";

    fn pair() -> (CurveTx, CurveRx) {
        let ours = SecretKey::generate(&mut OsRng);
        let theirs = SecretKey::generate(&mut OsRng);
        let sending = SalsaBox::new(&theirs.public_key(), &ours);
        let receiving = SalsaBox::new(&ours.public_key(), &theirs);
        (
            CurveTx::new(sending, PREFIX, 3),
            CurveRx::new(receiving, PREFIX, 2, 1 << 20),
        )
    }

    #[test]
    fn sealed_messages_open_as_the_frames_they_were() {
        let (mut tx, mut rx) = pair();
        let mut wire = BytesMut::new();
        tx.seal_message(&mut wire, &[b"", b"one"], &[Bytes::from(vec![7u8; 300])]);
        tx.seal_command(&mut wire, &crate::zmtp::command::command(b"PING", b"\0\0"));
        let opened = rx.open(&wire).expect("opens").expect("complete");
        let mut plain = BytesMut::new();
        crate::zmtp::frame::encode(&mut plain, &[b"", b"one"], &[Bytes::from(vec![7u8; 300])]);
        plain.extend_from_slice(&crate::zmtp::command::command(b"PING", b"\0\0"));
        assert_eq!(opened, plain);
    }

    #[test]
    fn a_modified_box_is_refused() {
        let (mut tx, mut rx) = pair();
        let mut wire = BytesMut::new();
        tx.seal_message(&mut wire, &[b"secret"], &[]);
        let last = wire.len() - 1;
        wire[last] ^= 0x01;
        assert_eq!(rx.open(&wire), Err(Violation::Tampered));
    }

    #[test]
    fn a_replayed_or_earlier_nonce_is_refused() {
        let (mut tx, mut rx) = pair();
        let mut first = BytesMut::new();
        tx.seal_message(&mut first, &[b"first"], &[]);
        let mut second = BytesMut::new();
        tx.seal_message(&mut second, &[b"second"], &[]);
        assert!(rx.open(&second).expect("opens").is_some());
        assert_eq!(rx.open(&first), Err(Violation::Tampered));
        assert_eq!(rx.open(&second), Err(Violation::Tampered));
    }

    #[test]
    fn a_frame_that_is_not_a_message_box_is_refused() {
        let (_, mut rx) = pair();
        let mut wire = BytesMut::new();
        put_header(&mut wire, 0, 4);
        wire.extend_from_slice(b"junk");
        assert_eq!(rx.open(&wire), Err(Violation::Tampered));
        let mut short = BytesMut::new();
        put_header(&mut short, 0, 10);
        short.extend_from_slice(b"\x07MESSAGE\0\0");
        assert_eq!(rx.open(&short), Err(Violation::Tampered));
    }
}
