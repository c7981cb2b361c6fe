//! [`Dealer`]: a DEALER socket, one connection to a ROUTER (or a DEALER or REP), on the same
//! ZMTP code as our [`Router`](super::router::Router) ([`stream`](super::stream)).
//!
//! Why not the `zeromq` crate's DEALER: it reserves whatever frame length its peer announces
//! (a peer could abort the process with a 9-octet frame header), and each message costs a
//! fair-queue poll that hashes the peer and allocates a waker, an extra empty read, and a hop
//! to a writer task; measured on a request–reply worker, about 8 000 instructions and a
//! cross-task wake per request, half of what the worker costs. Here the caller's own task
//! reads and writes the socket, what is read is bounded (nothing is set aside for a length
//! that is only announced), and the ZMTP 3.1 PING of a libzmq peer that sets
//! `ZMQ_HEARTBEAT_IVL` is answered. Like the crate's DEALER it does not reconnect: callers make
//! a new one for every new connection.

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

/// How much unwritten output a dealer may hold and still queue PONGs. A peer that sends PINGs
/// and reads nothing would otherwise grow the output without end; a PONG not sent costs
/// nothing, since the peer cannot read it anyway and ZMTP heartbeats count any traffic.
const PONG_BACKLOG: usize = 64 * 1024;

/// A DEALER connection to one peer.
pub(crate) struct Dealer {
    stream: TcpStream,
    reader: FrameReader,
    /// Complete messages read and not yet handed out.
    chunk: Option<Chunk>,
    /// What is sent and not yet taken by the kernel.
    out: BytesMut,
    /// How messages go on the wire (in clear, or in CURVE boxes).
    encoder: Encoder,
}

impl Dealer {
    /// Connects to `endpoint` (`tcp://host:port`) and does the handshake, within `within`;
    /// messages longer than `max_message` octets close the connection.
    pub(crate) async fn connect(
        endpoint: &str,
        within: Duration,
        max_message: usize,
    ) -> Result<Dealer, String> {
        Dealer::connect_with(endpoint, within, max_message, &Mechanism::Null).await
    }

    /// [`Dealer::connect`] with the security `mechanism`.
    pub(crate) async fn connect_with(
        endpoint: &str,
        within: Duration,
        max_message: usize,
        mechanism: &Mechanism,
    ) -> Result<Dealer, String> {
        let address = tcp_address(endpoint).map_err(|error| error.to_string())?;
        let connecting = async {
            let mut stream = TcpStream::connect(address)
                .await
                .map_err(|error| format!("cannot connect to {endpoint}: {error}"))?;
            let (peer, leftover, session) = handshake(&mut stream, mechanism, "DEALER")
                .await
                .map_err(|violation| match violation {
                    Some(violation) => format!("{endpoint} refused: {violation}"),
                    None => format!("connection to {endpoint} lost in the handshake"),
                })?;
            if !matches!(&peer.socket_type[..], b"ROUTER" | b"DEALER" | b"REP") {
                return Err(format!(
                    "{endpoint} is a {} socket, which cannot talk to a DEALER",
                    String::from_utf8_lossy(&peer.socket_type)
                ));
            }
            let (encoder, decoder) = session.split(max_message);
            Ok(Dealer {
                stream,
                reader: FrameReader::new(leftover, max_message).decoding(decoder, max_message),
                chunk: None,
                out: BytesMut::new(),
                encoder,
            })
        };
        tokio::time::timeout(within, connecting)
            .await
            .map_err(|_| format!("cannot connect to {endpoint} within {within:?}"))?
    }

    /// Queues a message (the frames of `head`, then those of `tail`) and writes it as far as
    /// the kernel takes it now; what is left goes out while [`Dealer::recv`] waits. An error
    /// means the connection is broken.
    pub(crate) fn send(&mut self, head: &[&[u8]], tail: &[Bytes]) -> io::Result<()> {
        self.encoder.message(&mut self.out, head, tail);
        write_now(&self.stream, &mut self.out).map(|_| ())
    }

    /// How many octets sent are not yet taken by the kernel.
    pub(crate) fn unsent(&self) -> usize {
        self.out.len()
    }

    /// The frames of the next message. Cancel-safe: what has arrived stays buffered. While it
    /// waits it writes what [`Dealer::send`] could not, and answers PINGs (unless more than
    /// [`PONG_BACKLOG`] octets wait to be written).
    pub(crate) async fn recv(&mut self) -> io::Result<Vec<Bytes>> {
        std::future::poll_fn(|cx| self.poll_recv(cx)).await
    }

    /// Whether the connection is of no use for a new request, found without waiting: closed,
    /// broken, or holding a message nobody asked for (which would be taken for the reply to
    /// the next request). For a connection that sat idle, before it is used again.
    pub(crate) fn is_stale(&mut self) -> bool {
        let mut cx = Context::from_waker(std::task::Waker::noop());
        self.poll_recv(&mut cx).is_ready()
    }

    fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<Vec<Bytes>>> {
        loop {
            if let Poll::Ready(Err(error)) = self.poll_flush(cx) {
                return Poll::Ready(Err(error));
            }
            if let Some(chunk) = self.chunk.as_mut() {
                let out = &mut self.out;
                let encoder = &mut self.encoder;
                let mut frames = Vec::new();
                let answer_command = |command: &[u8]| {
                    if out.len() > PONG_BACKLOG {
                        return;
                    }
                    if let Some(answer) = answer_to(command) {
                        encoder.command(out, &answer);
                    }
                };
                if chunk.next_message(&mut frames, answer_command) {
                    return Poll::Ready(Ok(frames));
                }
                self.chunk = None;
                // A PONG may be waiting: the loop writes it.
                continue;
            }
            match self.reader.poll_chunk(&self.stream, cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(ReadOutcome::Chunk(bytes)) => self.chunk = Some(Chunk::new(bytes)),
                // Only a reader with a share of a socket's budget says so; a dealer's has none.
                Poll::Ready(ReadOutcome::OverBudget) => {}
                // Told apart by kind: a connection that closed may just have been idle too long
                // or outlived its peer, while a broken rule is the peer's doing.
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

    /// Writes what is queued as far as the socket takes it, waiting for room (with `cx`).
    fn poll_flush(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
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
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::AtomicU64;
    use std::sync::Arc;

    use super::*;
    use crate::zmtp::command::command;
    use crate::zmtp::frame::LONG;
    use crate::zmtp::greeting::greeting;
    use crate::zmtp::null::ready;
    use crate::zmtp::router::{Inbound, Router, RouterLimits, RouterStats, Sent};

    fn router() -> (Router, String) {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("binds");
        let endpoint = format!("tcp://{}", listener.local_addr().expect("bound"));
        let refused = Arc::new(AtomicU64::new(0));
        (
            Router::new(
                listener,
                RouterLimits::new(1024),
                Arc::new(RouterStats::new(refused)),
            )
            .expect("router"),
            endpoint,
        )
    }

    /// Drives `router` until a message arrives; its sender and frames.
    async fn message_at(router: &mut Router) -> (Bytes, Vec<Bytes>) {
        loop {
            router.arrived().await;
            if let Some((Inbound::Message { peer, frames }, _)) = router.take() {
                return (peer.clone(), frames.to_vec());
            }
        }
    }

    #[tokio::test]
    async fn a_dealer_and_our_router_exchange_messages_both_ways() {
        let (mut router, endpoint) = router();
        let connecting = tokio::spawn(async move {
            let mut dealer = Dealer::connect(&endpoint, Duration::from_secs(5), 1024)
                .await
                .expect("connects");
            dealer
                .send(&[b"", b"ping"], &[Bytes::from_static(b"tail")])
                .expect("sent");
            dealer.recv().await.expect("the answer")
        });
        let (peer, frames) = message_at(&mut router).await;
        assert_eq!(frames, ["", "ping", "tail"]);
        assert_eq!(
            router.peers().send(&peer, &[b"", b"pong"], &[]),
            Sent::Queued
        );
        router.flush();
        let answer = connecting.await.expect("the dealer ran");
        assert_eq!(answer, ["", "pong"]);
    }

    #[tokio::test]
    async fn a_dealer_refuses_a_peer_that_is_not_zmtp() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("binds");
        let endpoint = format!("tcp://{}", listener.local_addr().expect("bound"));
        tokio::spawn(async move {
            if let Ok((mut stream, _)) = listener.accept().await {
                use tokio::io::AsyncWriteExt;
                let _ = stream.write_all(b"HTTP/1.1 400 Bad Request\r\n\r\n").await;
            }
        });
        let error = match Dealer::connect(&endpoint, Duration::from_secs(5), 1024).await {
            Ok(_) => panic!("an HTTP server is no ZMTP peer"),
            Err(error) => error,
        };
        assert!(error.contains("not a ZMTP 3 greeting"), "{error}");
    }

    #[tokio::test]
    async fn pings_from_a_peer_that_reads_nothing_do_not_grow_the_output_without_end() {
        use tokio::io::AsyncWriteExt;
        // A peer that greets, then sends PINGs and a message, and reads nothing: with a small
        // receive buffer, what we write soon has nowhere to go.
        let listening = tokio::net::TcpSocket::new_v4().expect("socket");
        listening.set_recv_buffer_size(4096).expect("buffer size");
        listening
            .bind("127.0.0.1:0".parse().expect("address"))
            .expect("binds");
        let address = listening.local_addr().expect("bound");
        let listener = listening.listen(1).expect("listens");
        const PINGS: usize = 1_500_000;
        let peer = tokio::spawn(async move {
            let (mut stream, _) = listener.accept().await.expect("accepted");
            let mut wire = greeting(&Mechanism::Null).to_vec();
            wire.extend(ready("ROUTER"));
            let ping = command(b"PING", &[0, 0]);
            for _ in 0..PINGS {
                wire.extend_from_slice(&ping);
            }
            wire.extend_from_slice(&[0, 4]);
            wire.extend_from_slice(b"done");
            stream.write_all(&wire).await.expect("sent");
            // Kept open (and unread) until the test has looked.
            stream
        });
        let endpoint = format!("tcp://{address}");
        let mut dealer = Dealer::connect(&endpoint, Duration::from_secs(5), 1024)
            .await
            .expect("connects");
        let message = tokio::time::timeout(Duration::from_secs(60), dealer.recv())
            .await
            .expect("in time")
            .expect("the message after the PINGs");
        assert_eq!(message, ["done"]);
        let pong = command(b"PONG", &[]).len();
        assert!(
            dealer.out.len() <= PONG_BACKLOG + pong,
            "{} octets of PONGs queued for a peer that reads nothing",
            dealer.out.len()
        );
        drop(peer.await.expect("the peer ran"));
    }

    #[tokio::test]
    async fn a_peer_announcing_a_huge_frame_ends_the_connection_not_the_process() {
        let (mut router, endpoint) = router();
        let connecting = tokio::spawn(async move {
            let mut dealer = Dealer::connect(&endpoint, Duration::from_secs(5), 1024)
                .await
                .expect("connects");
            dealer.send(&[b"hello"], &[]).expect("sent");
            dealer.recv().await
        });
        let (peer, _) = message_at(&mut router).await;
        // A frame of 2^40 octets, announced through the router's raw path: a header only.
        let mut header = vec![LONG];
        header.extend_from_slice(&(1u64 << 40).to_be_bytes());
        router.peers().send_raw(&peer, &header);
        router.flush();
        let outcome = connecting.await.expect("the dealer ran");
        let error = outcome.expect_err("the connection is closed");
        assert_eq!(error.kind(), io::ErrorKind::InvalidData);
        assert!(error.to_string().contains("over the size limit"), "{error}");
    }
}

#[cfg(all(test, feature = "curve"))]
mod curve_tests {
    use std::sync::atomic::Ordering;
    use std::sync::Arc;

    use super::*;
    use crate::zmtp::curve::{AllowList, CurveClient, CurveServer, KeyPair};
    use crate::zmtp::frame::put_header;
    use crate::zmtp::router::{Inbound, Router, RouterLimits, RouterStats};

    #[tokio::test]
    async fn a_garbage_message_after_a_real_handshake_closes_the_connection_and_is_counted() {
        let server_keys = KeyPair::generate();
        let client_keys = KeyPair::generate();
        let allow = AllowList::new().with(*client_keys.public());
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("binds");
        let endpoint = format!("tcp://{}", listener.local_addr().expect("bound"));
        let stats = Arc::new(RouterStats::default());
        let mut router = Router::new(listener, RouterLimits::new(1024), Arc::clone(&stats))
            .expect("router")
            .secured(Mechanism::from(CurveServer::new(
                server_keys.clone(),
                allow,
            )));
        let client = Mechanism::from(CurveClient::new(client_keys, *server_keys.public()));
        // The garbage goes once the genuine message is in: both in one read would be refused
        // together.
        let (arrived, go) = tokio::sync::oneshot::channel::<()>();
        let mut arrived = Some(arrived);
        let connecting = tokio::spawn(async move {
            let mut dealer = Dealer::connect_with(&endpoint, Duration::from_secs(5), 1024, &client)
                .await
                .expect("the handshake completes");
            dealer.send(&[b"genuine"], &[]).expect("sent");
            go.await.expect("the router took the genuine message");
            // A MESSAGE with a fresh nonce and a box of noise: what a man in the middle sends.
            let mut garbage = b"\x07MESSAGE".to_vec();
            garbage.extend_from_slice(&u64::MAX.to_be_bytes());
            garbage.extend_from_slice(&[0x5A; 40]);
            put_header(&mut dealer.out, 0, garbage.len());
            dealer.out.extend_from_slice(&garbage);
            write_now(&dealer.stream, &mut dealer.out).expect("written");
            dealer.recv().await
        });
        let mut messages = Vec::new();
        let gone = loop {
            router.arrived().await;
            match router.take() {
                Some((Inbound::Message { frames, .. }, _)) => {
                    messages.push(frames.to_vec());
                    if let Some(arrived) = arrived.take() {
                        let _ = arrived.send(());
                    }
                }
                Some((Inbound::Gone(peer), _)) => break peer,
                None => {}
            }
        };
        assert!(!gone.is_empty());
        assert_eq!(messages, [["genuine"]]);
        assert_eq!(stats.refused.load(Ordering::Relaxed), 1);
        let outcome = connecting.await.expect("the dealer ran");
        assert!(outcome.is_err(), "the connection is closed");
    }
}
