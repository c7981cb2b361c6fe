//! How the Majordomo pieces use the `zeromq` crate's sockets without letting one peer stall them.
//!
//! Three properties of the crate shape this module:
//!
//! - a ROUTER send waits while the chosen peer's queue is full, so a broker that awaited every
//!   send would stall behind one slow peer: [`RouterSender`] tries each send once and parks the
//!   few that cannot go at once, each bounded by a deadline, while the loop goes on;
//! - a `connect` retries until its own connect timeout (30 s by default), and a DEALER never
//!   reconnects once its peer is gone: [`connect_dealer`] bounds the attempt and callers make a
//!   new socket for every new logical connection;
//! - only `tcp://` endpoints are used (the crate has no `inproc`); [`bind_tcp`] binds the listener
//!   synchronously, so an actor can report a bad address or a taken port when it is built and a
//!   test can bind port 0 and read the port back.

use std::net::{TcpListener, ToSocketAddrs};
use std::time::Duration;

use bytes::Bytes;
use futures_util::future::BoxFuture;
use futures_util::stream::{FuturesUnordered, StreamExt};
use futures_util::FutureExt;
use zeromq::{
    DealerSocket, RouterSendHalf, RouterSocket, Socket, SocketOptions, SocketSend, ZmqMessage,
};

use crate::error::Error;

/// Binds a TCP listener for a `tcp://host:port` endpoint (`*` as host means every interface)
/// and returns it with the endpoint it is bound to (the port resolved when `0` was asked).
pub(crate) fn bind_tcp(endpoint: &str) -> Result<(TcpListener, String), Error> {
    let address = endpoint.strip_prefix("tcp://").ok_or_else(|| {
        Error::Setup(format!(
            "MDP endpoint `{endpoint}`: only tcp://host:port endpoints are supported"
        ))
    })?;
    let address = match address.strip_prefix("*:") {
        Some(port) => format!("0.0.0.0:{port}"),
        None => address.to_string(),
    };
    let resolved = address
        .to_socket_addrs()
        .map_err(|e| Error::Setup(format!("MDP endpoint `{endpoint}`: {e}")))?
        .next()
        .ok_or_else(|| Error::Setup(format!("MDP endpoint `{endpoint}`: no address")))?;
    let listener = TcpListener::bind(resolved)
        .map_err(|e| Error::Setup(format!("MDP endpoint `{endpoint}`: cannot bind: {e}")))?;
    let local = listener.local_addr()?;
    Ok((listener, format!("tcp://{local}")))
}

/// The listeners of a ROUTER socket, held apart so that they can be closed — and the port freed
/// — before a server returns. (A split socket keeps its listeners until its accept tasks notice
/// the drop, which is after the server has returned.)
pub(crate) struct Listeners(RouterSocket);

impl Listeners {
    /// Takes the listeners out of `socket`, which keeps serving the connections it has.
    pub(crate) fn take_from(socket: &mut RouterSocket) -> Self {
        let mut holder = RouterSocket::new();
        *holder.binds() = std::mem::take(socket.binds());
        Listeners(holder)
    }

    /// Stops accepting and waits until every listener is closed.
    pub(crate) async fn close(mut self) {
        for error in self.0.unbind_all().await {
            tracing::debug!(%error, "closing an MDP listener");
        }
    }
}

/// Checks that an endpoint to connect to has the form the crate understands.
pub(crate) fn check_connect_endpoint(endpoint: &str) -> Result<(), Error> {
    match endpoint.strip_prefix("tcp://") {
        Some(rest)
            if rest
                .rsplit_once(':')
                .is_some_and(|(_, port)| port.parse::<u16>().is_ok()) =>
        {
            Ok(())
        }
        _ => Err(Error::Setup(format!(
            "MDP endpoint `{endpoint}`: expected tcp://host:port"
        ))),
    }
}

/// A new DEALER socket connected to `endpoint`, or why not within `within`.
pub(crate) async fn connect_dealer(
    endpoint: &str,
    within: Duration,
) -> Result<DealerSocket, String> {
    let mut options = SocketOptions::default();
    options.connect_timeout(within);
    let mut socket = DealerSocket::with_options(options);
    match tokio::time::timeout(within, socket.connect(endpoint)).await {
        Ok(Ok(())) => Ok(socket),
        Ok(Err(error)) => Err(format!("cannot connect to {endpoint}: {error}")),
        Err(_) => Err(format!("cannot connect to {endpoint} within {within:?}")),
    }
}

/// What became of one send on a ROUTER socket.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Sent {
    /// Handed to the peer's queue.
    Done,
    /// The peer is gone (or too many sends are parked already); the message is dropped.
    Failed,
    /// The peer's queue is full; the send finishes later or fails at its deadline.
    Deferred,
}

/// Parked sends never exceed this many; past it a send to a full queue is dropped.
const MAX_PARKED_SENDS: usize = 1024;

type ParkedSend = BoxFuture<'static, (Bytes, bool)>;

/// The sending side of a ROUTER socket that never makes its caller wait.
pub(crate) struct RouterSender {
    half: RouterSendHalf,
    parked: FuturesUnordered<ParkedSend>,
    deadline: Duration,
}

impl RouterSender {
    /// Wraps a send half; a parked send gives up after `deadline`.
    pub(crate) fn new(half: RouterSendHalf, deadline: Duration) -> Self {
        RouterSender {
            half,
            parked: FuturesUnordered::new(),
            deadline,
        }
    }

    /// Sends `message` (whose first frame addresses `peer`) if it can go now, else parks it.
    pub(crate) fn send(&mut self, peer: &Bytes, message: ZmqMessage) -> Sent {
        let mut half = self.half.clone();
        let mut sending = async move { half.send(message).await.is_ok() }.boxed();
        match (&mut sending).now_or_never() {
            Some(true) => Sent::Done,
            Some(false) => Sent::Failed,
            None if self.parked.len() >= MAX_PARKED_SENDS => Sent::Failed,
            None => {
                let peer = peer.clone();
                let deadline = self.deadline;
                self.parked.push(
                    async move {
                        let delivered =
                            matches!(tokio::time::timeout(deadline, sending).await, Ok(true));
                        (peer, delivered)
                    }
                    .boxed(),
                );
                Sent::Deferred
            }
        }
    }

    /// Whether sends are parked (so that [`RouterSender::next_parked`] has something to wait
    /// for).
    pub(crate) fn has_parked(&self) -> bool {
        !self.parked.is_empty()
    }

    /// The next parked send to finish: its peer and whether it was delivered.
    pub(crate) async fn next_parked(&mut self) -> Option<(Bytes, bool)> {
        self.parked.next().await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn port_zero_resolves_to_the_bound_port() {
        let (listener, endpoint) = bind_tcp("tcp://127.0.0.1:0").expect("bind");
        let port = listener.local_addr().expect("bound").port();
        assert_ne!(port, 0);
        assert_eq!(endpoint, format!("tcp://127.0.0.1:{port}"));
    }

    #[test]
    fn only_tcp_endpoints_are_accepted() {
        let error = bind_tcp("ipc:///tmp/x").expect_err("not tcp");
        assert!(error.to_string().contains("only tcp://"), "{error}");
        assert!(check_connect_endpoint("tcp://localhost:5555").is_ok());
        assert!(check_connect_endpoint("tcp://localhost").is_err());
        assert!(check_connect_endpoint("inproc://x").is_err());
    }

    #[test]
    fn a_taken_port_is_a_setup_error() {
        let (_held, endpoint) = bind_tcp("tcp://127.0.0.1:0").expect("bind");
        let error = bind_tcp(&endpoint).expect_err("port taken");
        assert!(error.to_string().contains("cannot bind"), "{error}");
    }
}
