//! [`Mechanism`]: the security mechanism a socket speaks, named in its greeting.
//!
//! Both sides of a connection must name the same one. After the greetings, the mechanism's own
//! step runs ([`handshake`](super::handshake) hands over to it): for NULL, each side sends
//! READY with its metadata ([`null`](super::null)); for CURVE, the client and the server
//! exchange HELLO, WELCOME, INITIATE and READY (`curve`, with the `curve` feature).

#[cfg(feature = "curve")]
use std::sync::Arc;

#[cfg(feature = "curve")]
use super::curve::{CurveClient, CurveServer};

/// A security mechanism.
#[derive(Clone, Debug, Default)]
pub(crate) enum Mechanism {
    /// No security: no keys, no roles (RFC 23).
    #[default]
    Null,
    /// CURVE, the listening side.
    #[cfg(feature = "curve")]
    CurveServer(Arc<CurveServer>),
    /// CURVE, the connecting side.
    #[cfg(feature = "curve")]
    CurveClient(Arc<CurveClient>),
}

impl Mechanism {
    /// The name the greeting carries (at most 20 octets, padded with zeros there).
    pub(crate) fn name(&self) -> &'static [u8] {
        match self {
            Mechanism::Null => b"NULL",
            #[cfg(feature = "curve")]
            Mechanism::CurveServer(_) | Mechanism::CurveClient(_) => b"CURVE",
        }
    }

    /// Whether our side is the server of the mechanism (NULL has no roles).
    pub(crate) fn as_server(&self) -> bool {
        match self {
            Mechanism::Null => false,
            #[cfg(feature = "curve")]
            Mechanism::CurveServer(_) => true,
            #[cfg(feature = "curve")]
            Mechanism::CurveClient(_) => false,
        }
    }
}

#[cfg(feature = "curve")]
impl From<CurveServer> for Mechanism {
    fn from(config: CurveServer) -> Self {
        Mechanism::CurveServer(Arc::new(config))
    }
}

#[cfg(feature = "curve")]
impl From<CurveClient> for Mechanism {
    fn from(config: CurveClient) -> Self {
        Mechanism::CurveClient(Arc::new(config))
    }
}
