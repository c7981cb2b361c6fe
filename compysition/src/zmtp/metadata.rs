//! The metadata a peer tells about itself in the handshake (RFC 23): a list of properties, of
//! which a socket needs two, `Socket-Type` and `Identity`.
//!
//! ```text
//! metadata  = *(name-length name value-length(4 octets) value)
//! ```
//!
//! NULL carries it in READY; other mechanisms carry the same list in their own commands.

use bytes::Bytes;

use super::violation::Violation;

/// The properties of a peer's metadata a socket uses, borrowed from the command they came in.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Properties<'a> {
    pub(crate) socket_type: &'a [u8],
    pub(crate) identity: &'a [u8],
}

/// What a peer told in its handshake: its socket type and the identity it asks for (empty if
/// none).
pub(crate) struct PeerMetadata {
    pub(crate) socket_type: Bytes,
    pub(crate) identity: Bytes,
}

impl From<Properties<'_>> for PeerMetadata {
    fn from(properties: Properties<'_>) -> Self {
        PeerMetadata {
            socket_type: Bytes::copy_from_slice(properties.socket_type),
            identity: Bytes::copy_from_slice(properties.identity),
        }
    }
}

/// Our metadata for a socket of type `socket_type`.
pub(crate) fn ours(socket_type: &str) -> Vec<u8> {
    let mut metadata = Vec::with_capacity(16 + socket_type.len());
    put_property(&mut metadata, b"Socket-Type", socket_type.as_bytes());
    metadata
}

/// Appends one property.
pub(crate) fn put_property(metadata: &mut Vec<u8>, name: &[u8], value: &[u8]) {
    metadata.push(name.len() as u8);
    metadata.extend_from_slice(name);
    metadata.extend_from_slice(&(value.len() as u32).to_be_bytes());
    metadata.extend_from_slice(value);
}

/// Reads a peer's metadata (property names are case-insensitive; unknown ones are skipped).
pub(crate) fn parse(mut metadata: &[u8]) -> Result<Properties<'_>, Violation> {
    let mut properties = Properties::default();
    while let Some((&name_len, rest)) = metadata.split_first() {
        let name_len = usize::from(name_len);
        let (name, rest) = split_at(rest, name_len)?;
        let (size, rest) = split_at(rest, 4)?;
        let size = u32::from_be_bytes([size[0], size[1], size[2], size[3]]);
        let (value, rest) = split_at(rest, usize::try_from(size).unwrap_or(usize::MAX))?;
        if name.eq_ignore_ascii_case(b"Socket-Type") {
            properties.socket_type = value;
        } else if name.eq_ignore_ascii_case(b"Identity") {
            properties.identity = value;
        }
        metadata = rest;
    }
    Ok(properties)
}

fn split_at(bytes: &[u8], at: usize) -> Result<(&[u8], &[u8]), Violation> {
    if bytes.len() < at {
        return Err(Violation::BadReady);
    }
    Ok(bytes.split_at(at))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn properties_are_found_case_insensitively() {
        let mut metadata = Vec::new();
        put_property(&mut metadata, b"socket-type", b"DEALER");
        put_property(&mut metadata, b"X-Other", b"skipped");
        put_property(&mut metadata, b"IDENTITY", b"me");
        let parsed = parse(&metadata).expect("valid metadata");
        assert_eq!(parsed.socket_type, b"DEALER");
        assert_eq!(parsed.identity, b"me");
        assert_eq!(
            parse(&ours("ROUTER")).expect("valid").socket_type,
            b"ROUTER"
        );
    }

    #[test]
    fn a_truncated_property_is_refused() {
        assert_eq!(parse(&[11, b'S', b'o']), Err(Violation::BadReady));
    }
}
