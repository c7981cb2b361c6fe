//! ZMTP commands: frames with the COMMAND flag that carry a name and data (READY, PING, PONG,
//! ERROR, ...), and the PONG that answers the ZMTP 3.1 PING (RFC 37) of a libzmq peer that sets
//! `ZMQ_HEARTBEAT_IVL`.
//!
//! ```text
//! command   = name-length name data
//! ```

use super::frame::{put_header, COMMAND, MAX_HEADER};

/// A command frame: `name` and its data.
pub(crate) fn command(name: &[u8], data: &[u8]) -> Vec<u8> {
    let mut frame = Vec::with_capacity(MAX_HEADER + 1 + name.len() + data.len());
    put_header(&mut frame, COMMAND, 1 + name.len() + data.len());
    frame.push(name.len() as u8);
    frame.extend_from_slice(name);
    frame.extend_from_slice(data);
    frame
}

/// A command: its name and data.
pub(crate) fn split_command(body: &[u8]) -> Option<(&[u8], &[u8])> {
    let (&name_len, rest) = body.split_first()?;
    let name_len = usize::from(name_len);
    (rest.len() >= name_len).then(|| rest.split_at(name_len))
}

/// The PONG that answers a command, if it is a PING (ZMTP 3.1); other commands (PONG, ERROR,
/// a late READY) need no answer.
pub(crate) fn answer_to(command_body: &[u8]) -> Option<Vec<u8>> {
    let (b"PING", data) = split_command(command_body)? else {
        return None;
    };
    // PING carries a 2-octet TTL and up to 16 octets of context, which PONG echoes.
    let context = data.get(2..).unwrap_or_default();
    Some(command(b"PONG", &context[..context.len().min(16)]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_ping_gets_a_pong_with_its_context_and_nothing_else_is_answered() {
        let ping = command(b"PING", b"\x00\x0actx");
        assert_eq!(answer_to(&ping[2..]), Some(command(b"PONG", b"ctx")));
        let pong = command(b"PONG", b"ctx");
        assert_eq!(answer_to(&pong[2..]), None);
    }

    #[test]
    fn a_command_splits_into_its_name_and_data() {
        let ping = command(b"PING", b"\x00\x0a");
        assert_eq!(
            split_command(&ping[2..]),
            Some((&b"PING"[..], &b"\x00\x0a"[..]))
        );
        assert_eq!(split_command(&[5, b'P']), None);
    }
}
