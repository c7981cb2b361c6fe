//! What the security mechanism does to a connection after its handshake: a [`Session`] split
//! into an [`Encoder`] for what is sent and a [`Decoder`] for what is read. NULL passes
//! frames through; CURVE seals each frame in a MESSAGE box and opens the peer's, so that the
//! sockets above see the same messages either way.

use bytes::{Bytes, BytesMut};

#[cfg(feature = "curve")]
use super::curve;
use super::frame::encode;
use super::violation::Violation;

/// What a handshake established.
pub(crate) enum Session {
    /// NULL: frames in clear.
    Plain,
    /// CURVE: the connection's key and nonces.
    #[cfg(feature = "curve")]
    Curve(Box<curve::Established>),
}

impl Session {
    /// The sending and receiving sides, the latter for messages of at most `max_message`.
    #[cfg_attr(not(feature = "curve"), allow(unused_variables))]
    pub(crate) fn split(self, max_message: usize) -> (Encoder, Decoder) {
        match self {
            Session::Plain => (Encoder::Plain, Decoder::Plain),
            #[cfg(feature = "curve")]
            Session::Curve(established) => {
                let (tx, rx) = established.split(max_message);
                (Encoder::Curve(Box::new(tx)), Decoder::Curve(Box::new(rx)))
            }
        }
    }
}

/// How messages and commands are put on the wire.
pub(crate) enum Encoder {
    Plain,
    #[cfg(feature = "curve")]
    Curve(Box<curve::CurveTx>),
}

impl Encoder {
    /// Appends a message to `out`: the frames of `head`, then those of `tail`.
    pub(crate) fn message(&mut self, out: &mut BytesMut, head: &[&[u8]], tail: &[Bytes]) {
        match self {
            Encoder::Plain => encode(out, head, tail),
            #[cfg(feature = "curve")]
            Encoder::Curve(tx) => tx.seal_message(out, head, tail),
        }
    }

    /// Appends a command frame (PONG) to `out`.
    pub(crate) fn command(&mut self, out: &mut BytesMut, framed: &[u8]) {
        match self {
            Encoder::Plain => out.extend_from_slice(framed),
            #[cfg(feature = "curve")]
            Encoder::Curve(tx) => tx.seal_command(out, framed),
        }
    }
}

/// How what is read becomes messages.
pub(crate) enum Decoder {
    Plain,
    #[cfg(feature = "curve")]
    Curve(Box<curve::CurveRx>),
}

impl Decoder {
    /// The messages of a chunk of complete frames from the wire (`None`: none complete yet).
    pub(crate) fn decode(&mut self, chunk: Bytes) -> Result<Option<Bytes>, Violation> {
        match self {
            Decoder::Plain => Ok(Some(chunk)),
            #[cfg(feature = "curve")]
            Decoder::Curve(rx) => rx.open(&chunk),
        }
    }

    /// The size limit of one message on the wire, for messages of at most `max_message`: a
    /// CURVE frame arrives in a box, which is larger.
    pub(crate) fn wire_limit(&self, max_message: usize) -> usize {
        match self {
            Decoder::Plain => max_message,
            #[cfg(feature = "curve")]
            Decoder::Curve(_) => max_message + curve::OVERHEAD,
        }
    }

    /// The memory it holds of a message not yet complete.
    pub(crate) fn held(&self) -> usize {
        match self {
            Decoder::Plain => 0,
            #[cfg(feature = "curve")]
            Decoder::Curve(rx) => rx.held(),
        }
    }
}
