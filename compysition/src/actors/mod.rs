//! The built-in actors. Each is at `compysition::actors::Name`, usable from `topology!` and
//! from the [`Director`](crate::Director) alike.
//!
//! Grouped by role, one folder each:
//!
//! - **Sources** (`sources/`), which emit events on their own: [`EventGenerator`], on an
//!   interval, on a cron schedule ([`CronSchedule`]) or once.
//! - **Transforms** (`transforms/`), which change an event's payload and keep its envelope:
//!   [`Data`] sets a fixed payload, [`Template`] one made from the event's attributes;
//!   [`SetAttribute`] and [`MapAttribute`] (a lookup table) enrich the envelope; `XmlToJson`
//!   and `JsonToXml` (feature `xml`) convert between the formats.
//! - **Routing** (`routing/`): [`Router`], the content-based router, sends each event on the
//!   routes (named outboxes, declared with `routes!`) whose filters it matches; its filters and
//!   route sets are at [`crate::routing`].
//! - **Joining** (`joining/`), which bring events together: [`Join`] merges one event per
//!   inbox with the same `meta_id`; [`Splitter`] and [`Aggregator`] take one apart and put it
//!   back (or batch events).
//! - **Flow control** (`flow/`), which pace the events behind them: [`RateLimiter`] (a token
//!   bucket) and [`FlowController`] (at most so many in flight, released by completions).
//! - **Sinks** (`sinks/`), where events end, each also a target for errors (`!->`): [`Stdout`]
//!   prints them, [`EventLogger`] logs them through `tracing` (and passes them on), [`Null`]
//!   drops them.
//!
//! The endpoints and validators of a protocol or a format live with it, and are re-exported
//! here:
//!
//! - HTTP (feature `http`, in `http/`): `HttpServer`, `BasicAuth`, `RestTranslator`,
//!   `HttpMethodRouter`, `SetHttpStatus`.
//! - XML (features `xml`, `xslt`, in `xml/`): `Xslt`, `Xsd`, `XPathAttributeModifier`.
//! - JSON (features `xml`, `json-schema`, in `json/`): `JsonSchema`,
//!   `JsonPathAttributeModifier`.
//! - Majordomo over ZeroMQ (feature `mdp`, in `mdp/`): `MdpBroker`, `MdpClient`, `MdpWorker`,
//!   `MdpBrokerRegistrationService`.
//! - ZeroMQ connectors (feature `zmq`, in `zeromq/`): `ZmqPush`, `ZmqPull`, `ZmqPub`, `ZmqSub`.

// The role folders are private: `actors::Name` is the one path to every actor (the routing
// items that are not actors are public at `crate::routing`).
mod flow;
mod joining;
pub(crate) mod routing;
mod sinks;
mod sources;
mod transforms;

pub use flow::{FlowController, FlowStats, RateLimiter};
pub use joining::{Aggregator, Join, JoinStats, Mergeable, Splitter, SPLIT_COUNT, SPLIT_INDEX};
pub use routing::Router;
pub use sinks::{EventLogger, Null, Stdout};
pub use sources::{CronSchedule, EventGenerator, ParseCronError};
pub use transforms::{Data, MapAttribute, SetAttribute, Template};

/// The port types `#[actor]` generated for the actors above: the inboxes and outboxes each runs
/// with (`NullInboxes<T>`, the types in its [`Actor`](crate::Actor) impl) and their references
/// for wiring (`NullInboxRefs<T>`, what `handle.inboxes()` returns). A flow seldom names them;
/// they are here so that documentation and compile errors can.
pub mod ports {
    pub use super::flow::{
        FlowControllerInboxRefs, FlowControllerInboxes, FlowControllerOutboxRefs,
        FlowControllerOutboxes,
    };
    pub use super::joining::JoinInboxes;
    pub use super::sinks::{
        EventLoggerInboxRefs, EventLoggerInboxes, EventLoggerOutboxRefs, EventLoggerOutboxes,
        NullInboxRefs, NullInboxes, NullOutboxRefs, NullOutboxes, StdoutInboxRefs, StdoutInboxes,
        StdoutOutboxRefs, StdoutOutboxes,
    };
    pub use super::sources::{
        EventGeneratorInboxRefs, EventGeneratorInboxes, EventGeneratorOutboxRefs,
        EventGeneratorOutboxes,
    };
    pub use super::transforms::{
        DataInboxRefs, DataInboxes, DataOutboxRefs, DataOutboxes, MapAttributeInboxRefs,
        MapAttributeInboxes, MapAttributeOutboxRefs, MapAttributeOutboxes, SetAttributeInboxRefs,
        SetAttributeInboxes, SetAttributeOutboxRefs, SetAttributeOutboxes, TemplateInboxRefs,
        TemplateInboxes, TemplateOutboxRefs, TemplateOutboxes,
    };
}

/// The default limits of the built-in actors above, each changed by a builder method of its
/// actor (`Join::timeout`, …).
pub mod limits {
    pub use super::flow::{DEFAULT_BURST, DEFAULT_LEASE_TIMEOUT, DEFAULT_MAX_IN_FLIGHT, MIN_RATE};
    pub use super::joining::{
        DEFAULT_AGGREGATE_TIMEOUT, DEFAULT_JOIN_TIMEOUT, DEFAULT_MAX_OPEN_GROUPS,
        DEFAULT_MAX_OPEN_SPLITS, DEFAULT_MAX_PIECES, DEFAULT_MAX_REMEMBERED,
    };
}

pub use crate::json::path::JsonPathAttributeModifier;
#[cfg(feature = "json-schema")]
pub use crate::json::schema::JsonSchema;
#[cfg(feature = "xslt")]
pub use crate::xml::{xpath::XPathAttributeModifier, xsd::Xsd, xslt::Xslt};
#[cfg(feature = "xml")]
pub use transforms::{JsonToXml, XmlToJson};

#[cfg(feature = "http")]
pub use crate::http::{
    auth::BasicAuth, method_router::HttpMethodRouter, rest::RestTranslator, server::HttpServer,
    status_setter::SetHttpStatus,
};
#[cfg(feature = "mdp")]
pub use crate::mdp::{
    broker::MdpBroker, client::MdpClient, registration::MdpBrokerRegistrationService,
    worker::MdpWorker,
};
#[cfg(feature = "zmq")]
pub use crate::zeromq::{publish::ZmqPub, pull::ZmqPull, push::ZmqPush, subscribe::ZmqSub};
