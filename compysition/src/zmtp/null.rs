//! The NULL security mechanism (RFC 23): after the greetings each side sends READY with its
//! metadata and reads the other's. No keys, no roles.
//!
//! ```text
//! READY     = command "READY" metadata
//! ```

use bytes::BytesMut;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

use super::command::{command, split_command};
use super::metadata::{self, PeerMetadata, Properties};
use super::stream::read_command;
use super::violation::{HandshakeError, Violation};

/// Our READY command for a socket of type `socket_type`.
pub(crate) fn ready(socket_type: &str) -> Vec<u8> {
    command(b"READY", &metadata::ours(socket_type))
}

/// Reads the metadata of a READY command body.
pub(crate) fn parse_ready(body: &[u8]) -> Result<Properties<'_>, Violation> {
    let (name, metadata) = split_command(body).ok_or(Violation::BadReady)?;
    if name != b"READY" {
        return Err(Violation::BadReady);
    }
    metadata::parse(metadata)
}

/// NULL's step of the handshake: our READY for `socket_type`, then theirs. `buffer` holds what
/// arrived after their greeting; what arrives after their READY is left in it.
pub(crate) async fn exchange(
    stream: &mut TcpStream,
    buffer: &mut BytesMut,
    socket_type: &str,
) -> Result<PeerMetadata, HandshakeError> {
    stream
        .write_all(&ready(socket_type))
        .await
        .map_err(|_| None)?;
    let ready = read_command(stream, buffer, Violation::BadReady).await?;
    let peer = PeerMetadata::from(parse_ready(&ready)?);
    Ok(peer)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::zmtp::frame::Header;
    use crate::zmtp::metadata::put_property;

    #[test]
    fn ready_metadata_round_trips_case_insensitively() {
        let ours = ready("ROUTER");
        let header = Header::parse(&ours).expect("valid").expect("complete");
        assert!(header.is_command());
        let parsed = parse_ready(&ours[header.len..]).expect("valid READY");
        assert_eq!(parsed.socket_type, b"ROUTER");

        let mut metadata = Vec::new();
        put_property(&mut metadata, b"socket-type", b"DEALER");
        put_property(&mut metadata, b"IDENTITY", b"me");
        let theirs = command(b"READY", &metadata);
        let parsed = parse_ready(&theirs[2..]).expect("valid READY");
        assert_eq!(parsed.socket_type, b"DEALER");
        assert_eq!(parsed.identity, b"me");
    }

    #[test]
    fn a_truncated_ready_property_is_refused() {
        let theirs = command(b"READY", &[11, b'S', b'o']);
        assert_eq!(parse_ready(&theirs[2..]), Err(Violation::BadReady));
        let ping = command(b"PING", &[0, 0]);
        assert_eq!(parse_ready(&ping[2..]), Err(Violation::BadReady));
    }
}
