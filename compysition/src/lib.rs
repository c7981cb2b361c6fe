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
//! - [`Event`]: the envelope every payload travels in, with typed [`Extensions`].
//! - [`Actor`], [`Context`]: what an actor is and what it gets when it runs.
//! - [`Director`], [`Topology`]: building, starting and stopping a graph; [`ports`] for wiring
//!   by hand.
//! - [`actors`]: the built-in actors, grouped by role, each under this one path.
//! - [`reply`]: the slot through which a request/response source gets its answers.
//! - Protocols and formats, each behind a feature: [`http`], [`xml`], [`mdp`], [`zeromq`].
//!
//! `ARCHITECTURE.md` in the repository draws the layers: a core that names no protocol, the
//! protocols and formats on it, the actors on those, and the DSL on top.

#![warn(missing_docs)]

// The built-in actors are written with `#[actor]`, whose expansion names `::compysition::…`
// paths (what a user's crate sees); this makes the same paths resolve inside the crate.
extern crate self as compysition;

mod actor;
pub mod actors;
mod deadline;
mod director;
mod error;
mod event;
mod extensions;
pub mod graph;
#[cfg(feature = "http")]
pub mod http;
mod id;
mod json;
pub mod logging;
#[cfg(feature = "mdp")]
pub mod mdp;
mod payload;
pub mod pool;
mod port;
pub mod reply;
pub mod retry;
mod timestamp;
mod topology;
mod wiring;
#[cfg(feature = "xml")]
pub mod xml;
#[cfg(feature = "zmq")]
pub mod zeromq;
// Built without `mdp` (which brings `zmq`), some of what it offers has no caller: `zeromq` uses
// links, `mdp` the ROUTER and the DEALER.
#[cfg(feature = "zmtp")]
#[cfg_attr(not(feature = "mdp"), allow(dead_code))]
pub(crate) mod zmtp;

/// CURVE security for the ZeroMQ sockets (RFC 25/26): keys, key files and the allow-list of a
/// listening socket. A socket takes a [`CurveServer`](curve::CurveServer) (the broker) or a
/// [`CurveClient`](curve::CurveClient) (clients, workers) through its builder, e.g.
/// [`MdpBroker::curve`](crate::actors::MdpBroker::curve).
#[cfg(feature = "curve")]
pub mod curve {
    pub use crate::zmtp::curve::{
        AllowList, CurveClient, CurveServer, KeyPair, PublicKey, SecretKey,
    };
}

// The names a flow is written with. Everything else has one home of its own: port plumbing in
// `ports`, the reply slot in `reply`, log records in `logging`, pictures in `graph`, each
// protocol in its module, every actor in `actors`.
pub use actor::{
    from_fn, Actor, ActorExt, BoxFuture, Concurrency, Configured, Context, FromFn, TakesErrors,
};
pub use deadline::Deadline;
pub use director::{shutdown_signal, ActorHandle, Director, StopHandle, DEFAULT_SHUTDOWN_TIMEOUT};
pub use error::{Error, ErrorKind, EventError, Result, TopologyError, TopologyErrors};
pub use event::{Attributes, Event, MetaId};
pub use extensions::{Extension, Extensions};
pub use id::{EventId, ParseEventIdError};
pub use json::Json;
pub use payload::{AnyPayload, Bytes, Convert, ErrorEvent, FanOut, Payload};
pub use port::{Inbox, Outbox};
pub use topology::{RunningTopology, Topology};
pub use wiring::AnswersRequests;
#[cfg(feature = "xml")]
pub use xml::Xml;

/// Routing: the [filters](routing::Filter) a [`Router`](actors::Router)'s rules test events
/// with, and the [route sets](routing::RouteSet) (declared with [`routes!`]) whose outboxes are
/// its routes.
pub mod routing {
    pub use crate::actors::routing::{Filter, JsonTest, PayloadText, Route, RouteSet, RouterStats};
}

/// Ports and wiring by hand: port sets for actors with several inboxes or outboxes, typed
/// references to ports, and what `Director::connect_queue` takes and returns.
///
/// Most flows need none of it: `topology!` and `#[actor]` write it for them.
pub mod ports {
    pub use crate::director::{Edges, ErrorTarget, IntoActorRef, IntoInPort, IntoOutPort, Targets};
    pub use crate::port::{
        ActorRef, ErrorOutbox, InPort, InboxSet, OutPort, OutboxSet, PortBundle, PortKind,
        PortMismatch, PortSpec, SendEvent, SingleInbox, SingleOutbox, DEFAULT_CAPACITY,
    };
}

#[cfg(feature = "macros")]
/// Declares a topology, checks its wiring at compile time and evaluates to a [`Topology`].
///
/// ```
/// use compysition::prelude::*;
/// use compysition::actors::{EventGenerator, Stdout};
///
/// #[actor]
/// async fn shout(event: Event<String>) -> Result<Event<String>, EventError> {
///     Ok(event.map(|text| text.to_uppercase()))
/// }
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> compysition::Result<()> {
/// let topology = topology! {
///     #![capacity = 100]                          // queue size of every inbox…
///     source  = EventGenerator::once("hello".to_string());
///     loud    = shout;
///     printer = Stdout::new().prefix("got: ");
///
///     source -> loud -> printer;
///     loud !-> printer;                           // loud's errors are printed too
/// };
/// println!("{}", topology.to_mermaid());
/// topology.run().await                            // the source emits once, so this ends
/// # }
/// ```
///
/// # Statements
///
/// | statement | meaning |
/// | --- | --- |
/// | `name = expr;` | declares an actor (any expression of a type that implements [`Actor`]) |
/// | `log = expr;` | declares the log actor: the topology's log records arrive in its inbox |
/// | `a -> b -> c;` | edges from each actor's outbox to the next one's inbox |
/// | `a !-> b;` | routes the error outbox of `a` to the error inbox of `b` |
/// | `a -> [b, c];` | fan-out: `b` and `c` each get a copy of every event (the payload must be `Clone`) |
/// | `[a, b] -> c;` | fan-in: both feed `c`'s inbox |
/// | `a.port -> b.port;` | names the outbox / inbox, for actors with several (a lone port needs no name) |
/// | `#[capacity = 10] a -> b;` | queue capacity of the inboxes this statement's edges feed |
/// | `#![capacity = 1000]` | (first in the block) queue capacity of every other inbox |
///
/// Statement order does not matter, and cycles are allowed. A port name may stand at the start
/// of a chain (an outbox) or at its end (an inbox), never on an `!->` edge. The block may use
/// `?` in actor expressions; it is evaluated where it is written.
///
/// # Checks
///
/// Every wiring mistake below is a compile error pointing at the tokens that made it, and all of
/// them in a block are reported by one build:
///
/// | mistake | reported at |
/// | --- | --- |
/// | an edge names an actor that is not declared (with the closest declared name) | the name |
/// | an actor declared twice | the second declaration |
/// | a port name the actor does not have | the port |
/// | an outbox payload the inbox neither takes nor converts to ([`Convert`]) | the arrow |
/// | a fan-out of a payload that is not `Clone` | the arrow of the fan-out |
/// | no port name on an actor with several ports on that side (or none) | the actor's name |
/// | a declared actor no edge touches | the declaration |
/// | an actor with inboxes that no edge feeds | the declaration |
/// | an actor that [answers requests](AnswersRequests) whose outbox feeds nothing | the declaration |
/// | an actor that answers requests with no path of edges back to it | the declaration |
/// | an `!->` target without an error inbox ([`TakesErrors`]) | the target |
/// | the same edge twice; a port name on an `!->` edge or in the middle of a chain | the edge, the port |
///
/// Name-level checks are the macro's; type-level ones are the compiler's, on the calls the block
/// expands to: it registers each actor on a [`Director`] and connects each edge with the
/// Director's public methods, so it costs nothing at run time that hand-written wiring would not.
pub use compysition_macros::topology;

#[cfg(feature = "macros")]
/// Turns a handler function, or a struct and its `impl`, into an [`Actor`].
///
/// # On a function
///
/// The function takes one `Event<In>` and returns `Event<Out>`, `Option<Event<Out>>` (`None`
/// drops the event on purpose), `Result<Event<Out>, E>` or `Result<Option<Event<Out>>, E>` with
/// `E: Into<EventError>` (an `Err` sends the event to the error outbox). It may be `async` or
/// not. Its name becomes a unit struct, the actor, usable wherever one is expected; the function
/// stays callable as `name::handle`. (Being a unit struct, the name also stands for the actor in
/// patterns: a `for stage in …` where `stage` is an `#[actor]` does not bind a new variable.)
///
/// ```
/// use compysition::prelude::*;
///
/// /// Rejects empty orders.
/// #[actor]
/// async fn check_order(event: Event<String>) -> Result<Event<String>, EventError> {
///     if event.data.is_empty() {
///         return Err(EventError::malformed("empty order"));
///     }
///     Ok(event)
/// }
///
/// let mut director = Director::new();
/// let checker = director.register_actor("checker", check_order.with_concurrency(8));
/// # let _ = checker;
/// ```
///
/// # On a struct and its impl
///
/// For actors with state or several ports. The struct declares its ports; the impl's methods
/// handle them. `#[inbox]` methods handle the inbox of their name (taking `&self`, the event and
/// optionally the outboxes, returning nothing or `Result<(), EventError>`), one `#[errors]`
/// method handles the error inbox (making the actor a target of `!->`), and `#[source]`
/// methods (`&self`, `&Context`, the outboxes) run once beside them and return when
/// [`Context::stopped`] resolves. Handlers run concurrently (up to the actor's concurrency), so
/// state they change lives behind a lock or an atomic.
///
/// The attribute on `Validator` generates `ValidatorInboxes` and `ValidatorOutboxes` (one
/// public field per port, what handlers send on), and `ValidatorInboxRefs` /
/// `ValidatorOutboxRefs` (typed references for wiring, `handle.outboxes().ok`).
///
/// ```
/// use compysition::prelude::*;
/// use compysition::actors::{EventGenerator, Null};
///
/// #[derive(Clone)]
/// pub struct Order { amount: u32 }
///
/// #[actor(inboxes(orders: Order), outboxes(ok: Order, rejected: Order))]
/// pub struct Validator { limit: u32 }
///
/// #[actor]
/// impl Validator {
///     #[inbox]
///     async fn orders(&self, event: Event<Order>, out: &ValidatorOutboxes) -> Result<(), EventError> {
///         if event.data.amount <= self.limit {
///             out.ok.send(event).await;
///         } else {
///             out.rejected.send(event).await;
///         }
///         Ok(())
///     }
/// }
///
/// let topology = topology! {
///     orders    = EventGenerator::once(Order { amount: 12 });
///     validator = Validator { limit: 10 };
///     accepted  = Null::<Order>::new();
///     refused   = Null::<Order>::new();
///     orders -> validator;
///     validator.ok -> accepted;
///     validator.rejected -> refused;
/// };
/// # let _ = topology;
/// ```
///
/// A struct with no `inboxes(…)` is a source; one with no `outboxes(…)` is a sink. A generic
/// struct's port types take its type parameters (`#[actor(inboxes(inbox: T))] pub struct
/// Null<T>` makes `NullInboxes<T>`), and its impl is generic alike (`#[actor] impl<T: Payload>
/// Null<T>`); the built-in actors in [`actors`] are written so.
pub use compysition_macros::actor;

#[cfg(feature = "macros")]
/// Declares the routes of a [`Router`](actors::Router): a [route set](routing::RouteSet) of
/// named outboxes of one payload type, in one line.
///
/// ```
/// use compysition::prelude::*;
///
/// routes! {
///     /// Where an order goes.
///     pub OrderLanes: Xml { express, bulk, standard }
/// }
/// ```
///
/// makes the struct `OrderLanes`, whose outboxes `express`, `bulk` and `standard` the router
/// runs with, its references `OrderLanesRefs` for wiring (`router.express -> fast_lane;` in
/// [`topology!`], where a misspelt route is a compile error at that token, with the closest
/// name), and one constant per route, `OrderLanes::express`, for the router's rules:
///
/// ```
/// # use compysition::prelude::*;
/// # routes! { pub OrderLanes: Xml { express, bulk, standard } }
/// use compysition::actors::Router;
/// use compysition::routing::Filter;
///
/// let router = Router::<OrderLanes>::first_match()
///     .route(OrderLanes::express, Filter::xpath("/order[@priority = 'high']")?)
///     .route(OrderLanes::bulk, Filter::xpath("sum(/order/item/@quantity) > 100")?)
///     .otherwise(OrderLanes::standard);
/// # let _ = router;
/// # Ok::<(), compysition::Error>(())
/// ```
///
/// Route names are port names and constants at once (lower-case, by the convention of ports);
/// a set has one to 64 routes, each named once.
pub use compysition_macros::routes;

/// What the expansions of `topology!` and `#[actor]` name, under one path that no user code
/// needs: the runtime's types and traits they use, and the compile-time wiring checks (see
/// `wiring.rs`). Not part of the public API: it changes with the macros, in any release.
#[doc(hidden)]
pub mod __private {
    pub use crate::actor::{Actor, Context, TakesErrors};
    pub use crate::actors::routing::{Route, RouteSet};
    pub use crate::director::{Director, IntoInPort, IntoOutPort};
    pub use crate::error::EventError;
    pub use crate::event::Event;
    pub use crate::payload::Payload;
    pub use crate::port::{
        ActorRef, InPort, Inbox, InboxSet, OutPort, Outbox, OutboxSet, PortBundle, PortMismatch,
        PortSpec, SingleInbox, SingleOutbox,
    };
    pub use crate::retry::Retryable;
    pub use crate::topology::Topology;
    pub use crate::wiring::{
        check_answer_path, check_fed, check_handlers, check_output, AnswererProbe, Answering,
        AnswersNothing, MayFeedNothing, MayLackAnswerPath, NoInboxes, OtherActorProbe, Probe,
    };
}

/// The names most programs need.
pub mod prelude {
    #[cfg(feature = "xml")]
    pub use crate::Xml;
    #[cfg(feature = "macros")]
    pub use crate::{actor, routes, topology};
    pub use crate::{
        from_fn, Actor, ActorExt, Concurrency, Context, Director, ErrorEvent, Event, EventError,
        Inbox, Json, Outbox, TakesErrors, Topology,
    };
}
