//! CURVE security (RFC 26 CurveZMQ over ZMTP, RFC 25): the configuration a socket takes —
//! [`CurveServer`] for a listening socket, [`CurveClient`] for a connecting one — and the
//! mechanism's handshake and message boxes.
//!
//! The cryptography is NaCl's `crypto_box` (X25519 and XSalsa20-Poly1305) from the
//! `crypto_box` crate; this module only lays out the commands of the specifications:
//!
//! ```text
//! C → S  HELLO     version(2) padding(72) C'(32) nonce(8) Box[64 zeros](C'→S)
//! S → C  WELCOME   nonce(16) Box[S' + cookie(96)](S→C')
//! C → S  INITIATE  cookie(96) nonce(8) Box[C + vouch nonce(16) + Box[C' + S](C→S') + metadata](C'→S')
//! S → C  READY     nonce(8) Box[metadata](S'→C')
//! both   MESSAGE   nonce(8) Box[flags(1) + frame](C'↔S')      flags: MORE 0x01, COMMAND 0x02
//! S → C  ERROR     reason                                     (a refused client key)
//! ```
//!
//! The server checks the client's long-term key `C` against its [`AllowList`] when INITIATE
//! has proved that the client holds it, and answers a key not on the list with ERROR: a peer
//! without an allowed key never gets past the handshake.
//!
//! After the handshake every frame travels as a MESSAGE, one box per frame, sent as a data
//! frame of its own as libzmq sends it. Each direction numbers its boxes with a strictly
//! increasing nonce; a box that does not open, or a nonce not past the last one, closes the
//! connection (counted with the socket's refused connections).

mod codec;
mod handshake;
mod keys;

pub(crate) use codec::{CurveRx, CurveTx, OVERHEAD};
pub(crate) use handshake::{client, server, Established};
pub use keys::{AllowList, KeyPair, PublicKey, SecretKey};

/// The CURVE settings of a listening socket (the broker): its key pair and the client keys
/// it accepts.
#[derive(Clone, Debug)]
pub struct CurveServer {
    keys: KeyPair,
    allow: AllowList,
}

impl CurveServer {
    /// A server with `keys` that accepts the clients whose public key is in `allow`.
    pub fn new(keys: KeyPair, allow: AllowList) -> Self {
        CurveServer { keys, allow }
    }

    /// The server's public key, which its clients need.
    pub fn public_key(&self) -> &PublicKey {
        self.keys.public()
    }

    /// The client keys it accepts.
    pub fn allow_list(&self) -> &AllowList {
        &self.allow
    }

    pub(crate) fn keys(&self) -> &KeyPair {
        &self.keys
    }
}

/// The CURVE settings of a connecting socket (a client or a worker): its key pair and the
/// public key of the server it talks to.
#[derive(Clone, Debug)]
pub struct CurveClient {
    keys: KeyPair,
    server: PublicKey,
}

impl CurveClient {
    /// A client with `keys` for the server whose public key is `server`.
    pub fn new(keys: KeyPair, server: PublicKey) -> Self {
        CurveClient { keys, server }
    }

    /// The client's public key, the one the server's allow-list must hold.
    pub fn public_key(&self) -> &PublicKey {
        self.keys.public()
    }

    /// The server's public key.
    pub fn server_key(&self) -> &PublicKey {
        &self.server
    }

    pub(crate) fn keys(&self) -> &KeyPair {
        &self.keys
    }
}
