//! [`Link`]: one established ZMTP connection of any socket type, from either side — the
//! connection under each peer of the PUSH, PULL, PUB and SUB sockets.
//!
//! It is the [`Dealer`](super::dealer::Dealer)'s connection without the DEALER in it: the
//! socket type we announce and the types we accept from the peer are the caller's
//! ([`LinkSettings`]), it can be made by connecting or from an accepted stream, and commands
//! other than PING are handed to the caller (a PUB learns ZMTP 3.1 SUBSCRIBE and CANCEL so).
//! What is read is bounded as everywhere in this module: a frame header is checked against
//! the limits before its body arrives.
//!
//! The security mechanism is the handshake's own [`Mechanism`]: the settings carry it, so a
//! socket speaks whatever [`handshake`] speaks (NULL by default).

use std::collections::VecDeque;
use std::io;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use tokio::net::TcpStream;

use super::command::answer_to;
use super::handshake::handshake;
use super::mechanism::Mechanism;
use super::security::Encoder;
use super::stream::{write_now, Chunk, FrameReader, ReadOutcome};
use super::transport::tcp_address;
use super::violation::{HandshakeError, Violation};

/// How much unwritten output a link may hold and still queue PONGs (as the dealer's
/// `PONG_BACKLOG`): a peer that sends PINGs and reads nothing must not grow it without end.
const PONG_BACKLOG: usize = 64 * 1024;

/// What a link announces and accepts.
#[derive(Clone, Debug)]
pub(crate) struct LinkSettings {
    /// Our socket type, as the handshake announces it (`PUSH`, `SUB`, …).
    pub(crate) socket_type: &'static str,
    /// The socket types a peer may have (RFC 28/29: a PUSH talks to PULL, a SUB to PUB and
    /// XPUB, …); any other closes the connection.
    pub(crate) peer_types: &'static [&'static str],
    /// The security mechanism of the handshake.
    pub(crate) mechanism: Mechanism,
    /// The largest message, all frames together.
    pub(crate) max_message: usize,
}

/// What arrived on a link.
#[derive(Debug)]
pub(crate) enum Received {
    /// A message, frames in order.
    Message(Vec<Bytes>),
    /// A command other than PING (answered already): its body, `name-length name data`.
    Command(Bytes),
}

/// One ZMTP connection past its handshake.
pub(crate) struct Link {
    stream: TcpStream,
    reader: FrameReader,
    chunk: Option<Chunk>,
    out: BytesMut,
    /// How messages and PONGs go on the wire: sealed under CURVE, as they are under NULL.
    encoder: Encoder,
    commands: VecDeque<Bytes>,
}

impl Link {
    /// Connects to `endpoint` (`tcp://host:port`) and does the handshake, within `within`.
    pub(crate) async fn connect(
        endpoint: &str,
        settings: &LinkSettings,
        within: Duration,
    ) -> Result<Link, String> {
        let address = tcp_address(endpoint).map_err(|error| error.to_string())?;
        let connecting = async {
            let stream = TcpStream::connect(address)
                .await
                .map_err(|error| format!("cannot connect to {endpoint}: {error}"))?;
            Link::establish(stream, settings)
                .await
                .map_err(|violation| match violation {
                    Some(Violation::IncompatibleSocket) => format!(
                        "{endpoint} is not a socket a {} can talk to",
                        settings.socket_type
                    ),
                    Some(violation) => format!("{endpoint} refused: {violation}"),
                    None => format!("connection to {endpoint} lost in the handshake"),
                })
        };
        tokio::time::timeout(within, connecting)
            .await
            .map_err(|_| format!("cannot connect to {endpoint} within {within:?}"))?
    }

    /// The handshake on a connection already made (accepted, or connected by the caller). The
    /// caller bounds how long it may take.
    pub(crate) async fn establish(
        mut stream: TcpStream,
        settings: &LinkSettings,
    ) -> Result<Link, HandshakeError> {
        let (peer, leftover, session) =
            handshake(&mut stream, &settings.mechanism, settings.socket_type).await?;
        let compatible = settings
            .peer_types
            .iter()
            .any(|accepted| accepted.as_bytes() == &peer.socket_type[..]);
        if !compatible {
            return Err(Some(Violation::IncompatibleSocket));
        }
        // CURVE seals what is sent and opens what is read; NULL passes both through.
        let (encoder, decoder) = session.split(settings.max_message);
        Ok(Link {
            stream,
            reader: FrameReader::new(leftover, settings.max_message)
                .decoding(decoder, settings.max_message),
            chunk: None,
            out: BytesMut::new(),
            encoder,
            commands: VecDeque::new(),
        })
    }

    /// Queues a message and writes it as far as the kernel takes it now; the rest goes out
    /// while [`Link::poll_recv`] or [`Link::poll_flush`] runs. An error means the connection
    /// is broken.
    pub(crate) fn send(&mut self, frames: &[Bytes]) -> io::Result<()> {
        self.encoder.message(&mut self.out, &[], frames);
        write_now(&self.stream, &mut self.out).map(|_| ())
    }

    /// How many octets sent are not yet taken by the kernel.
    pub(crate) fn unsent(&self) -> usize {
        self.out.len()
    }

    /// Writes what is queued as far as the socket takes it, waiting for room (with `cx`).
    pub(crate) fn poll_flush(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while !self.out.is_empty() {
            match self.stream.poll_write_ready(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(Err(error)) => return Poll::Ready(Err(error)),
                Poll::Ready(Ok(())) => {
                    write_now(&self.stream, &mut self.out)?;
                }
            }
        }
        Poll::Ready(Ok(()))
    }

    /// Writes everything queued.
    pub(crate) async fn flush(&mut self) -> io::Result<()> {
        std::future::poll_fn(|cx| self.poll_flush(cx)).await
    }

    /// The next message or command, writing what is queued while it waits and answering
    /// PINGs. Errors: `InvalidData` when the peer broke ZMTP or a limit, another kind when
    /// the connection closed.
    pub(crate) fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<Received>> {
        loop {
            if let Poll::Ready(Err(error)) = self.poll_flush(cx) {
                return Poll::Ready(Err(error));
            }
            if let Some(command) = self.commands.pop_front() {
                return Poll::Ready(Ok(Received::Command(command)));
            }
            if let Some(chunk) = self.chunk.as_mut() {
                let (out, commands, encoder) =
                    (&mut self.out, &mut self.commands, &mut self.encoder);
                let mut frames = Vec::new();
                let on_command = |command: &[u8]| match answer_to(command) {
                    Some(answer) if out.len() <= PONG_BACKLOG => encoder.command(out, &answer),
                    Some(_) => {}
                    // Bounded by the chunk they came in: the queue is emptied before the next
                    // chunk is read, so it never holds more than one read's worth.
                    None => commands.push_back(Bytes::copy_from_slice(command)),
                };
                if chunk.next_message(&mut frames, on_command) {
                    return Poll::Ready(Ok(Received::Message(frames)));
                }
                self.chunk = None;
                // A PONG or a command may be waiting: the loop sees to them.
                continue;
            }
            match self.reader.poll_chunk(&self.stream, cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(ReadOutcome::Chunk(bytes)) => self.chunk = Some(Chunk::new(bytes)),
                // Only a reader with a share of a socket's budget says so; a link's has none.
                Poll::Ready(ReadOutcome::OverBudget) => {}
                Poll::Ready(ReadOutcome::Closed(None)) => {
                    return Poll::Ready(Err(io::Error::new(
                        io::ErrorKind::ConnectionAborted,
                        "the peer closed the connection",
                    )));
                }
                Poll::Ready(ReadOutcome::Closed(Some(violation))) => {
                    return Poll::Ready(Err(io::Error::new(
                        io::ErrorKind::InvalidData,
                        format!("the peer broke ZMTP: {violation}"),
                    )));
                }
            }
        }
    }

    /// [`Link::poll_recv`] as a future. Cancel-safe: what has arrived stays buffered.
    pub(crate) async fn recv(&mut self) -> io::Result<Received> {
        std::future::poll_fn(|cx| self.poll_recv(cx)).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::zmtp::command::command;

    fn settings(socket_type: &'static str, peer_types: &'static [&'static str]) -> LinkSettings {
        LinkSettings {
            socket_type,
            peer_types,
            mechanism: Mechanism::Null,
            max_message: 1024,
        }
    }

    /// A link accepted on a fresh port and one connected to it.
    async fn pair(
        server: LinkSettings,
        client: LinkSettings,
    ) -> (Result<Link, HandshakeError>, Result<Link, String>) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("binds");
        let endpoint = format!("tcp://{}", listener.local_addr().expect("bound"));
        let accepting = async {
            let (stream, _) = listener.accept().await.expect("accepted");
            Link::establish(stream, &server).await
        };
        let connecting = Link::connect(&endpoint, &client, Duration::from_secs(5));
        tokio::join!(accepting, connecting)
    }

    #[tokio::test]
    async fn a_push_and_a_pull_exchange_a_message_and_commands_reach_the_caller() {
        let (pull, push) = pair(settings("PULL", &["PUSH"]), settings("PUSH", &["PULL"])).await;
        let (mut pull, mut push) = (pull.expect("pull side"), push.expect("push side"));
        let frames = [Bytes::from_static(b"a"), Bytes::new()];
        push.send(&frames).expect("sent");
        push.out.extend_from_slice(&command(b"SUBSCRIBE", b"topic"));
        push.flush().await.expect("flushed");
        match pull.recv().await.expect("a message") {
            Received::Message(got) => assert_eq!(got, frames),
            other => panic!("not the message: {other:?}"),
        }
        match pull.recv().await.expect("a command") {
            Received::Command(body) => assert_eq!(&body[..], b"\x09SUBSCRIBEtopic"),
            other => panic!("not the command: {other:?}"),
        }
    }

    #[tokio::test]
    async fn a_peer_of_the_wrong_socket_type_is_refused() {
        let (pull, _push) = pair(settings("PULL", &["PUSH"]), settings("PUB", &["SUB"])).await;
        assert!(
            matches!(pull, Err(Some(Violation::IncompatibleSocket))),
            "a PUB cannot feed a PULL"
        );
    }
}
