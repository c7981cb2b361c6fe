//! Majordomo over ZeroMQ: how a flow grows past one process and one host.
//!
//! The pieces speak the standard 7/MDP (MDP/0.1) wire protocol with the 8/MMI management
//! services, so third-party Majordomo clients, workers and brokers interoperate with them:
//!
//! - [`MdpBroker`](crate::actors::MdpBroker): the broker, one ROUTER socket for clients and workers;
//! - [`MdpClient`](crate::actors::MdpClient): an actor that sends each event as a request and emits the reply;
//! - [`MdpWorker`](crate::actors::MdpWorker): an actor that registers a service, emits each request as an event and
//!   sends the flow's answer back;
//! - [`MdpBrokerRegistrationService`](crate::actors::MdpBrokerRegistrationService): where brokers announce themselves and clients and workers
//!   find them. This discovery is **our extension** on top of the standard; a plain MDP peer
//!   just connects to one broker.
//!
//! The actors are at `compysition::actors`, like every actor; this module holds what goes with
//! them: bodies, statistics, defaults and the wire protocol.
//!
//! Bodies travel as [`Frames`] (the message of [`crate::zeromq`], re-exported here), which
//! keeps every frame of a multi-frame body (empty frames included) and converts to and from
//! `Bytes`, `String` and `Json` on edges.
//!
//! Between compysition peers that opt in, an envelope frame before the body carries the
//! event's meta id, origin id, service, attributes and trace context with the request, and its
//! attributes and error with the reply ([`ENVELOPE_MAGIC`] describes the layout, and how plain
//! 7/MDP peers are kept from ever seeing it).
//!
//! Every socket is our own ZMTP 3 (the crate's `zmtp` module): a ROUTER for the broker and
//! the registration service, a DEALER for clients, workers and the registration dialogue. It
//! bounds every frame before memory is set aside for it — the `zeromq` crate reserves whatever
//! length a peer announces, which lets 20 octets abort a process — and keeps a request's path
//! free of the crate's per-message task hop. Endpoints are `tcp://host:port` (no `inproc` or
//! `ipc`); NULL security, or CURVE with the `curve` feature (`curve` on the broker, client and
//! worker builders, configured with `compysition::curve`).

// Listed bottom up; a module imports only those above it, so the graph has no cycle:
// `defaults` and `limits` (what the settings start at and are bounded by), `protocol` (MDP
// messages), `registration` (the discovery dialogue and the broker directory), then the pieces `broker`,
// `client`, `worker`.
mod defaults;
mod limits;

pub mod protocol;

pub(crate) mod registration;

pub(crate) mod broker;
pub(crate) mod client;
pub(crate) mod worker;

pub use crate::zeromq::envelope::{
    EnvelopeStats, ENVELOPE_MAGIC, ENVELOPE_SERVICE_SUFFIX, MAX_ENVELOPE_SIZE,
    TRACEPARENT_ATTRIBUTE,
};
// Bodies are `Frames`, the ZeroMQ connectors' messages: one type for a message however it
// travels, so a body goes from a Majordomo worker to a PUSH socket as it is. The envelope is
// shared with the connectors too; its constants are public here, where its first use is.
pub use crate::zeromq::Frames;
pub use broker::{BrokerCounters, BrokerStats, DEFAULT_REQUEST_DEADLINE, MAX_DISPATCHES};
pub use client::{DEFAULT_MAX_RECONNECT_BACKOFF, DEFAULT_RECONNECT_BACKOFF};
pub use defaults::{DEFAULT_HEARTBEAT_INTERVAL, DEFAULT_LIVENESS, DEFAULT_MAX_MESSAGE_SIZE};
pub use registration::REGISTRATION_HEADER;
