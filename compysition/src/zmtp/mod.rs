//! ZMTP 3 (ZeroMQ RFC 23, with the PING/PONG of RFC 37) of our own: the transport under the
//! pieces of the framework that speak ZeroMQ — Majordomo (`mdp`) and the PUSH/PULL and PUB/SUB
//! connectors (`zeromq`). It knows sockets, frames and messages, and nothing of what the
//! messages mean.
//!
//! Why our own rather than the `zeromq` crate: that crate trusts the length a peer announces
//! and reserves that much memory before the first byte of the frame arrives — a 9-octet frame
//! header announcing 2^62 octets aborts the process ("memory allocation failed") — and it has
//! no option to bound a frame. Here every frame header is checked against the limits before
//! its body arrives, a buffer only ever grows with octets that have actually arrived, and a
//! frame or message over the limit closes that one connection. The sockets also keep a
//! message's path free of the crate's per-message task hop: the task that owns a socket reads
//! and writes it.
//!
//! From the bottom up:
//!
//! - [`limits`]: the wire limits, and the range socket settings are clamped to;
//! - [`violation`]: the rules a peer can break, each of which closes its connection;
//! - framing: [`frame`] (the frame header codec, messages as frames), [`command`] (commands,
//!   PING/PONG), [`scanner`] (finds complete messages, checking each header as it arrives),
//!   [`stream`] (reads a connection into chunks of complete messages, writes what is queued);
//! - the handshake: [`greeting`], then the step of the security [`mechanism`] — NULL
//!   ([`null`], which exchanges READY and its [`metadata`]) or, with the `curve` feature,
//!   CURVE (`curve`: keys, the allow-list, the handshake, the MESSAGE boxes; `z85` for the
//!   keys' text form), dispatched to by [`handshake`]; what the mechanism does to the
//!   messages after it is a [`security`] session (frames in clear, or boxed);
//! - the sockets: [`router`] (listens, any number of peers) and [`dealer`] (one connection);
//!   [`link`], one connection of any socket type, under the PUSH/PULL/PUB/SUB connectors;
//! - [`transport`]: `tcp://host:port` endpoints, binding listeners.
//!
//! ```text
//! greeting  = %xFF 8OCTET %x7F  %x03 minor  mechanism(20)  as-server  31%x00     (64 octets)
//! frame     = flags size body             flags: MORE 0x01, LONG 0x02, COMMAND 0x04
//! size      = OCTET (short) / 8OCTET (LONG, network order)
//! command   = name-length name data       READY, PING, PONG, ERROR, ...
//! READY     = *(name-length name value-length(4 octets) value)   metadata properties
//! ```

pub(crate) mod command;
#[cfg(feature = "curve")]
pub(crate) mod curve;
pub(crate) mod dealer;
pub(crate) mod frame;
pub(crate) mod greeting;
pub(crate) mod handshake;
pub(crate) mod limits;
pub(crate) mod link;
pub(crate) mod mechanism;
pub(crate) mod metadata;
pub(crate) mod null;
pub(crate) mod router;
pub(crate) mod scanner;
pub(crate) mod security;
pub(crate) mod stream;
pub(crate) mod transport;
pub(crate) mod violation;
#[cfg(feature = "curve")]
pub(crate) mod z85;
