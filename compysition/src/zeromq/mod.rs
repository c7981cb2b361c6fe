//! ZeroMQ connectors: PUSH/PULL (RFC 30 PIPELINE) and PUB/SUB (RFC 29 PUBSUB) sockets as
//! actors, on the crate's own ZMTP 3 (`zmtp`), interoperating with libzmq peers.
//!
//! - [`ZmqPush`](crate::actors::ZmqPush): a sink; each event to one PULL peer, in turn; holds
//!   its inbox back while no peer can take one (the high-water mark is reached, or no peer is
//!   connected);
//! - [`ZmqPull`](crate::actors::ZmqPull): a source; the messages of every PUSH peer,
//!   fair-queued;
//! - [`ZmqPub`](crate::actors::ZmqPub): a sink; each event to every subscriber whose topic
//!   prefixes match its first frame, dropped (and counted) for a subscriber at its high-water
//!   mark;
//! - [`ZmqSub`](crate::actors::ZmqSub): a source; the messages of its PUB peers under its topic
//!   prefixes, which it subscribes to on every connection.
//!
//! Each binds (`::bind`, the address checked and the port taken when it is built) or connects
//! (`::connect`, and again after a pause doubling from 100 ms to 5 s, with jitter, whenever the
//! connection is lost). Events carry [`Frames`], every frame of a message, which converts to and
//! from `Bytes`, `String`, `Json`, `Xml` and the HTTP server's `Body` on edges. What each counts
//! is in [`ZmqStats`]. A connection that breaks ZMTP or a limit (a frame over
//! `max_message_size`, reserved flags, another socket type or mechanism, no handshake in time)
//! is closed and counted; nothing a peer announces has memory set aside before it arrives.
//!
//! ```no_run
//! use compysition::actors::{Stdout, ZmqPull, ZmqPush, ZmqSub};
//! use compysition::prelude::*;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> compysition::Result<()> {
//! let topology = topology! {
//!     jobs    = ZmqPull::bind("tcp://*:5557")?;               // any number of PUSH peers
//!     workers = ZmqPush::connect("tcp://10.0.0.2:5558")?.high_water_mark(100);
//!     jobs -> workers;
//!
//!     quotes  = ZmqSub::connect("tcp://10.0.0.3:5556")?.subscribe("weather.");
//!     printer = Stdout::new();
//!     quotes -> printer;
//! };
//! topology.run().await
//! # }
//! ```
//!
//! Two settings have their place here for what is to come: [`Envelope`] (how an event travels
//! as a message; today its frames as they are) and the security mechanism of the handshakes,
//! which the connectors take from the `zmtp` handshake (NULL today).

// Replies, remote errors and the envelope counters are the Majordomo pieces' part of it.
#[cfg_attr(not(feature = "mdp"), allow(dead_code))]
pub(crate) mod envelope;
mod frames;
pub(crate) mod options;

mod inlet;
mod outlets;
mod socket;
mod stats;
mod subscriptions;

pub(crate) mod publish;
pub(crate) mod pull;
pub(crate) mod push;
pub(crate) mod subscribe;

pub use frames::Frames;
pub use options::{
    Envelope, DEFAULT_HIGH_WATER_MARK, DEFAULT_LINGER, DEFAULT_MAX_MESSAGE_SIZE, DEFAULT_MAX_PEERS,
    DEFAULT_MAX_RECONNECT_BACKOFF, DEFAULT_RECONNECT_BACKOFF, MAX_HIGH_WATER_MARK,
};
pub use stats::ZmqStats;
pub use subscriptions::MAX_SUBSCRIPTIONS_PER_PEER;
