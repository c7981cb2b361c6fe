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
//! Built on the `zeromq` crate, which has no `inproc` transport (use `tcp://127.0.0.1:…`) and
//! does not answer the ZMTP heartbeat PING of libzmq: a libzmq peer that sets
//! `ZMQ_HEARTBEAT_IVL` is dropped by it. Peers must not set that option; MDP's own heartbeats
//! detect dead peers instead.

mod broker;
mod client;
mod frames;
pub mod protocol;
mod registration;
mod router;
mod transport;
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
