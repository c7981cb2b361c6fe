//! [`Violation`]: the rule a peer broke, which is why our side closes its connection; and
//! [`HandshakeError`], how a handshake ends without a connection.
//!
//! A violation closes that one connection and nothing else: the socket goes on serving its
//! other peers, and its owner counts or logs what happened.

use std::fmt;

/// Why a connection is closed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Violation {
    /// The first octets are not a ZMTP 3 greeting.
    NotZmtp,
    /// A ZMTP version before 3.0.
    OldVersion(u8),
    /// A security mechanism other than ours.
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
    /// A command longer than [`MAX_COMMAND`](super::limits::MAX_COMMAND) or with the MORE flag.
    BadCommand,
    /// A message over the size limit.
    TooLarge,
    /// A message with more than [`MAX_FRAMES`](super::limits::MAX_FRAMES) frames.
    TooManyFrames,
    /// No handshake within the deadline.
    Slow,
    /// A CURVE handshake command that is malformed or whose box does not open.
    #[cfg(feature = "curve")]
    Handshake,
    /// A CURVE client whose key is not on the server's allow-list.
    #[cfg(feature = "curve")]
    NotAllowed,
    /// The server refused our key (it answered with ERROR).
    #[cfg(feature = "curve")]
    Denied,
    /// A CURVE MESSAGE that is malformed, does not open (a modified box) or repeats or goes
    /// back on a nonce.
    #[cfg(feature = "curve")]
    Tampered,
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Violation::NotZmtp => f.write_str("not a ZMTP 3 greeting"),
            Violation::OldVersion(major) => write!(f, "ZMTP version {major} (3 or later needed)"),
            Violation::Mechanism => f.write_str("security mechanism other than ours"),
            Violation::BadReady => f.write_str("handshake is not a valid READY command"),
            Violation::IncompatibleSocket => f.write_str("socket type cannot talk to a ROUTER"),
            Violation::BadIdentity => f.write_str("identity taken or reserved"),
            Violation::ReservedFlags => f.write_str("reserved frame flags set"),
            Violation::BadCommand => f.write_str("command too long or flagged MORE"),
            Violation::TooLarge => f.write_str("message over the size limit"),
            Violation::TooManyFrames => f.write_str("message with too many frames"),
            Violation::Slow => f.write_str("no handshake in time"),
            #[cfg(feature = "curve")]
            Violation::Handshake => f.write_str("CURVE handshake failed"),
            #[cfg(feature = "curve")]
            Violation::NotAllowed => f.write_str("CURVE client key not allowed"),
            #[cfg(feature = "curve")]
            Violation::Denied => f.write_str("the server refused our CURVE key"),
            #[cfg(feature = "curve")]
            Violation::Tampered => f.write_str("CURVE message tampered with or replayed"),
        }
    }
}

/// What went wrong in a handshake: `None` when the connection failed, the rule the peer broke
/// otherwise.
pub(crate) type HandshakeError = Option<Violation>;
