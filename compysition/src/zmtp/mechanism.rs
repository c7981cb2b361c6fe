//! [`Mechanism`]: the security mechanism a socket speaks, named in its greeting.
//!
//! Both sides of a connection must name the same one. After the greetings, the mechanism's own
//! step runs ([`handshake`](super::handshake) hands over to it): for NULL, each side sends
//! READY with its metadata ([`null`](super::null)). Another mechanism (CURVE, RFC 26) is
//! another variant here, with its name and role, and another module beside `null` for its
//! commands; the greeting, the framing and the sockets stay as they are.

/// A security mechanism.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Mechanism {
    /// No security: no keys, no roles (RFC 23).
    Null,
}

impl Mechanism {
    /// The name the greeting carries (at most 20 octets, padded with zeros there).
    pub(crate) fn name(&self) -> &'static [u8] {
        match self {
            Mechanism::Null => b"NULL",
        }
    }

    /// Whether our side is the server of the mechanism (NULL has no roles).
    pub(crate) fn as_server(&self) -> bool {
        match self {
            Mechanism::Null => false,
        }
    }
}
