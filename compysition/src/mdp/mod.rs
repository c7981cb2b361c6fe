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
//! Every socket is ZMTP 3 (RFC 23, with the PING/PONG of RFC 37) of our own: a ROUTER for the
//! broker and the registration service (`router`), a DEALER for clients, workers and the
//! registration dialogue (`dealer`), on one wire module (`wire`, `zmtp`) that bounds every frame
//! before memory is set aside for it — the `zeromq` crate reserves whatever length a peer
//! announces, which lets 20 octets abort a process — and keeps a request's path free of the
//! crate's per-message task hop. Endpoints are `tcp://host:port` (no `inproc` or `ipc`); NULL
//! security only.

mod broker;
mod client;
mod dealer;
mod frames;
mod limits;
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
