//! Majordomo over ZeroMQ: how a flow grows past one process and one host.
//!
//! The pieces speak the standard 7/MDP (MDP/0.1) wire protocol with the 8/MMI management
//! services, so third-party Majordomo clients, workers and brokers interoperate with them:
//!
//! - [`MdpBroker`]: the broker, one ROUTER socket for clients and workers;
//! - [`MdpClient`]: an actor that sends each event as a request and emits the reply;
//! - [`MdpWorker`]: an actor that registers a service, emits each request as an event and
//!   sends the flow's answer back;
//! - [`MdpBrokerRegistrationService`]: where brokers announce themselves and clients and workers
//!   find them. This discovery is **our extension** on top of the standard; a plain MDP peer
//!   just connects to one broker.
//!
//! Bodies travel as [`Frames`], which keeps every frame of a multi-frame body (empty frames
//! included) and converts to and from `Bytes`, `String` and `Json` on edges.
//!
//! The broker and the registration service listen on a ROUTER socket of our own (ZMTP 3, see
//! `router`, `wire` and `zmtp`), which bounds every frame before memory is set aside for it:
//! the `zeromq` crate reserves whatever length a peer announces, which lets 20 octets abort a
//! listening process. Workers connect to their broker on the same code (`dealer`), which keeps
//! a request's path free of the crate's per-message task hop. Clients and the registration
//! dialogue connect with the `zeromq` crate's DEALER, which has no `inproc` transport (use
//! `tcp://127.0.0.1:…`), does not answer the ZMTP heartbeat PING of libzmq (a libzmq broker
//! that sets `ZMQ_HEARTBEAT_IVL` drops them; MDP's own heartbeats detect dead peers instead)
//! and has no frame limit (connect them to brokers you run).

mod broker;
mod client;
mod dealer;
mod frames;
pub mod protocol;
mod registration;
mod router;
mod transport;
mod wire;
mod worker;
mod zmtp;

pub use broker::{
    BrokerCounters, BrokerStats, MdpBroker, DEFAULT_HEARTBEAT_INTERVAL, DEFAULT_LIVENESS,
    DEFAULT_MAX_MESSAGE_SIZE,
};
pub use client::MdpClient;
pub use frames::Frames;
pub use registration::{MdpBrokerRegistrationService, REGISTRATION_HEADER};
pub use worker::MdpWorker;
