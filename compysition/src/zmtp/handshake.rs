//! The handshake of a ZMTP connection from our side: greetings both ways, then the step of the
//! security [`Mechanism`], which ends with the peer's metadata.
//!
//! Nothing a peer sends in the handshake is trusted for its length: every read sets aside only
//! what the step needs next, and a command longer than the wire limit ends the connection.

use bytes::{Buf, BytesMut};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

#[cfg(feature = "curve")]
use super::curve;
use super::greeting::{check_greeting, greeting, GREETING_LEN};
use super::mechanism::Mechanism;
use super::metadata::PeerMetadata;
use super::null;
use super::security::Session;
use super::stream::fill;
use super::violation::{HandshakeError, Violation};

/// The longest identity a peer may ask for (ZMTP 3: 1 to 255 octets).
const MAX_IDENTITY: usize = 255;

/// The handshake of a connection with `mechanism`, as a socket of type `socket_type`. Returns
/// what the peer told about itself, what it sent after its handshake, and the [`Session`]
/// that encodes and decodes what follows.
pub(crate) async fn handshake(
    stream: &mut TcpStream,
    mechanism: &Mechanism,
    socket_type: &str,
) -> Result<(PeerMetadata, BytesMut, Session), HandshakeError> {
    stream.set_nodelay(true).map_err(|_| None)?;
    let mut buffer = exchange_greetings(stream, mechanism).await?;
    let (peer, session) = match mechanism {
        Mechanism::Null => (
            null::exchange(stream, &mut buffer, socket_type).await?,
            Session::Plain,
        ),
        #[cfg(feature = "curve")]
        Mechanism::CurveServer(config) => {
            let (peer, established) =
                curve::server(stream, &mut buffer, socket_type, config).await?;
            (peer, Session::Curve(Box::new(established)))
        }
        #[cfg(feature = "curve")]
        Mechanism::CurveClient(config) => {
            let (peer, established) =
                curve::client(stream, &mut buffer, socket_type, config).await?;
            (peer, Session::Curve(Box::new(established)))
        }
    };
    if peer.identity.len() > MAX_IDENTITY {
        return Err(Some(Violation::BadIdentity));
    }
    Ok((peer, buffer, session))
}

/// Sends our greeting and checks theirs; returns what arrived after it.
async fn exchange_greetings(
    stream: &mut TcpStream,
    mechanism: &Mechanism,
) -> Result<BytesMut, HandshakeError> {
    stream
        .write_all(&greeting(mechanism))
        .await
        .map_err(|_| None)?;
    let mut buffer = BytesMut::with_capacity(256);
    // The signature's first and tenth octets tell a stranger (an HTTP client, a port scanner)
    // without waiting for 64 octets that may never come.
    fill(stream, &mut buffer, 1).await?;
    if buffer[0] != 0xFF {
        return Err(Some(Violation::NotZmtp));
    }
    fill(stream, &mut buffer, 10).await?;
    if buffer[9] != 0x7F {
        return Err(Some(Violation::NotZmtp));
    }
    fill(stream, &mut buffer, GREETING_LEN).await?;
    let mut theirs = [0u8; GREETING_LEN];
    theirs.copy_from_slice(&buffer[..GREETING_LEN]);
    check_greeting(&theirs, mechanism)?;
    buffer.advance(GREETING_LEN);
    Ok(buffer)
}
