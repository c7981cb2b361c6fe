//! Compysition: asynchronous, highly concurrent, event-driven data flows built from small
//! actors.
//!
//! A topology is a graph of actors joined by bounded queues. Every actor can have many inboxes
//! and many outboxes: each inbox is a funnel (many edges merge into it) and each outbox a
//! fan-out (every connected inbox gets a copy of every event). Errors travel on their own edges.
//!
//! Build a topology with the [`topology!`] macro, which checks the wiring at compile time, or at
//! run time with the [`Director`]. Both run the actors as tokio tasks.
//!
//! - [`Event`]: the envelope every payload travels in.
//! - [`Actor`], [`Context`]: what an actor is and what it gets when it runs.
//! - [`Director`], [`Topology`]: building, starting and stopping a graph.
//! - [`actors`]: the built-in actors.

#![warn(missing_docs)]

mod actor;
pub mod actors;
mod director;
mod error;
mod event;
#[cfg(feature = "http")]
pub mod http;
mod id;
pub mod logging;
#[cfg(feature = "mdp")]
pub mod mdp;
mod payload;
mod port;
mod timestamp;
mod topology;
pub mod wiring;
#[cfg(feature = "xml")]
pub mod xml;

pub use actor::{
    from_fn, Actor, ActorExt, BoxFuture, Concurrency, Configured, Context, FromFn, TakesErrors,
};
pub use director::{
    shutdown_signal, ActorHandle, Director, ErrorTarget, Graph, GraphEdge, IntoActorRef,
    IntoInPort, IntoOutPort, Node, StopHandle, Targets, DEFAULT_SHUTDOWN_TIMEOUT,
};
pub use error::{Error, ErrorKind, EventError, Result, TopologyError, TopologyErrors};
pub use event::{Attributes, Event, HttpContext, MetaId};
pub use id::{EventId, ParseEventIdError};
pub use logging::LogRecord;
pub use payload::{AnyPayload, Bytes, Convert, ErrorEvent, FanOut, Json, Payload};
pub use port::{
    ActorRef, ErrorOutbox, InPort, Inbox, InboxSet, OutPort, Outbox, OutboxSet, PortBundle,
    PortKind, PortMismatch, PortSpec, SingleInbox, SingleOutbox, DEFAULT_CAPACITY,
};
pub use timestamp::Timestamp;
pub use topology::{RunningTopology, Topology};
#[cfg(feature = "xml")]
pub use xml::Xml;

pub use compysition_macros::{actor, topology};

/// The names most programs need.
pub mod prelude {
    #[cfg(feature = "xml")]
    pub use crate::Xml;
    pub use crate::{
        actor, from_fn, topology, Actor, ActorExt, Concurrency, Context, Director, ErrorEvent,
        Event, EventError, Inbox, Json, Outbox, TakesErrors, Topology,
    };
}
