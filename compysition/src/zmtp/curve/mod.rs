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

#[cfg(test)]
mod tests {
    use std::sync::atomic::Ordering;
    use std::sync::Arc;
    use std::time::Duration;

    use bytes::Bytes;

    use super::*;
    use crate::zmtp::dealer::Dealer;
    use crate::zmtp::mechanism::Mechanism;
    use crate::zmtp::router::{Inbound, Router, RouterLimits, RouterStats};

    const WITHIN: Duration = Duration::from_secs(5);

    fn router(server: CurveServer) -> (Router, String, Arc<RouterStats>) {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("binds");
        let endpoint = format!("tcp://{}", listener.local_addr().expect("bound"));
        let stats = Arc::new(RouterStats::default());
        let router = Router::new(listener, RouterLimits::new(1 << 16), Arc::clone(&stats))
            .expect("router")
            .secured(Mechanism::from(server));
        (router, endpoint, stats)
    }

    /// Drives `router` until `until` is done; the messages that arrived meanwhile, each one
    /// answered with its own frames.
    async fn echoing<T>(
        router: &mut Router,
        until: impl std::future::Future<Output = T>,
    ) -> (T, Vec<Vec<Bytes>>) {
        tokio::pin!(until);
        let mut arrived = Vec::new();
        loop {
            tokio::select! {
                output = &mut until => return (output, arrived),
                () = router.arrived() => {
                    while let Some((inbound, peers)) = router.take() {
                        if let Inbound::Message { peer, frames } = inbound {
                            let peer = peer.clone();
                            let frames = frames.to_vec();
                            peers.send(&peer, &[], &frames);
                            arrived.push(frames);
                        }
                    }
                    router.flush();
                }
            }
        }
    }

    #[tokio::test]
    async fn an_allowed_client_and_our_server_exchange_boxed_messages() {
        let server_keys = KeyPair::generate();
        let client_keys = KeyPair::generate();
        let allow = AllowList::new().with(*client_keys.public());
        let (mut router, endpoint, _) = router(CurveServer::new(server_keys.clone(), allow));
        let client = Mechanism::from(CurveClient::new(client_keys, *server_keys.public()));
        let talking = async {
            let mut dealer = Dealer::connect_with(&endpoint, WITHIN, 1 << 16, &client)
                .await
                .expect("the handshake completes");
            let big = Bytes::from(vec![9u8; 1000]);
            dealer
                .send(&[b"", b"hello"], std::slice::from_ref(&big))
                .expect("sent");
            let first = dealer.recv().await.expect("echoed");
            dealer.send(&[b"again"], &[]).expect("sent");
            (first, dealer.recv().await.expect("echoed"))
        };
        let ((first, second), arrived) = echoing(&mut router, talking).await;
        assert_eq!(first, [&b""[..], b"hello", &[9u8; 1000][..]]);
        assert_eq!(second, ["again"]);
        assert_eq!(arrived.len(), 2);
    }

    #[tokio::test]
    async fn a_client_key_not_on_the_list_and_a_wrong_server_key_are_refused() {
        let server_keys = KeyPair::generate();
        let allowed = KeyPair::generate();
        let allow = AllowList::new().with(*allowed.public());
        let (mut router, endpoint, stats) = router(CurveServer::new(server_keys.clone(), allow));
        let stranger =
            Mechanism::from(CurveClient::new(KeyPair::generate(), *server_keys.public()));
        let (refused, arrived) = echoing(
            &mut router,
            Dealer::connect_with(&endpoint, WITHIN, 1 << 16, &stranger),
        )
        .await;
        let error = refused.err().expect("refused");
        assert!(error.contains("refused our CURVE key"), "{error}");
        let wrong_server =
            Mechanism::from(CurveClient::new(allowed, *KeyPair::generate().public()));
        let (refused, _) = echoing(
            &mut router,
            Dealer::connect_with(&endpoint, WITHIN, 1 << 16, &wrong_server),
        )
        .await;
        assert!(
            refused.is_err(),
            "a client with the wrong server key gets nowhere"
        );
        let plain = echoing(&mut router, Dealer::connect(&endpoint, WITHIN, 1 << 16)).await;
        assert!(plain.0.is_err(), "a NULL peer is refused by a CURVE server");
        assert!(arrived.is_empty());
        // The refused stranger's and the NULL peer's handshakes are counted as they end.
        assert!(stats.refused.load(Ordering::Relaxed) >= 2);
    }
}
