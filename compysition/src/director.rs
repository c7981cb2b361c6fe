//! The run-time builder: register actors, connect their queues, start, stop.
//!
//! The names are the Python project's: [`Director::register_actor`],
//! [`Director::register_log_actor`], [`Director::connect_queue`] (one destination or many),
//! [`Director::connect_error_queue`], [`Director::start`] and [`Director::stop`]. Handles are
//! typed, so an edge between payload types without a conversion does not compile. Mistakes the
//! compiler cannot see (a name that is not registered, a port that does not exist, two actors
//! with one name) are all collected and returned by `start()`.
//!
//! ```
//! use compysition::prelude::*;
//! use compysition::actors::{Data, EventGenerator, Null};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> compysition::Result<()> {
//! let mut director = Director::new();
//! let generator = director.register_actor("generator", EventGenerator::once("ping".to_string()));
//! let data = director.register_actor("data", Data::new("pong".to_string()));
//! let sink = director.register_actor("sink", Null::<String>::new());
//! director.connect_queue(&generator, &data);
//! director.connect_queue(&data, &sink);
//! director.start()?;
//! director.wait().await // the generator emits once, so the flow ends by itself
//! # }
//! ```
//!
//! An edge between payloads without a conversion is a compile error:
//!
//! ```compile_fail
//! use compysition::prelude::*;
//! use compysition::actors::{EventGenerator, Stdout};
//!
//! let mut director = Director::new();
//! let numbers = director.register_actor("numbers", EventGenerator::once(7u64));
//! let printer = director.register_actor("printer", Stdout::new());
//! director.connect_queue(&numbers, &printer); // no conversion from `u64` to `String`
//! ```

use std::any::TypeId;
use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::marker::PhantomData;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::Duration;

use futures_util::FutureExt;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;
use tracing::Instrument;

use crate::actor::{panic_message, Actor, BoxFuture, Concurrency, Context, TakesErrors};
use crate::error::{Error, Result, TopologyError, TopologyErrors};
use crate::event::Event;
use crate::logging::{self, LogForwarder, LogRecord};
use crate::payload::{AnyPayload, Convert, ErrorEvent, FanOut, Payload};
use crate::port::shorten_type_name;
use crate::port::{
    ActorRef, ErasedOutbox, ErasedSender, ErrorOutbox, InPort, Inbox, InboxSet, OutPort, Outbox,
    OutboxSet, PortBundle, PortKind, PortMismatch, PortSpec, SingleInbox, SingleOutbox,
    DEFAULT_CAPACITY,
};

/// The name the default error actor goes by in log records.
const DEFAULT_ERROR_ACTOR: &str = "default error actor";

/// How long a graceful stop may take before the remaining actors are aborted.
pub const DEFAULT_SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(30);

/// A registered actor, for wiring.
pub struct ActorHandle<A> {
    actor: ActorRef,
    _actor: PhantomData<fn() -> A>,
}

impl<A> Clone for ActorHandle<A> {
    fn clone(&self) -> Self {
        ActorHandle {
            actor: self.actor.clone(),
            _actor: PhantomData,
        }
    }
}

impl<A> std::fmt::Debug for ActorHandle<A> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ActorHandle({})", self.actor.name)
    }
}

impl<A: Actor> ActorHandle<A> {
    /// The actor's name.
    pub fn name(&self) -> &str {
        &self.actor.name
    }

    /// The actor, for name-based wiring.
    pub fn actor_ref(&self) -> ActorRef {
        self.actor.clone()
    }

    /// Typed references to its inboxes: an [`InPort`] for a lone inbox, a struct of them for
    /// named inboxes.
    pub fn inboxes(&self) -> <A::Inboxes as InboxSet>::Refs {
        A::Inboxes::refs(&self.actor)
    }

    /// Typed references to its outboxes.
    pub fn outboxes(&self) -> <A::Outboxes as OutboxSet>::Refs {
        A::Outboxes::refs(&self.actor)
    }
}

impl<A: Actor> ActorHandle<A> {
    /// Its only inbox (for an actor with exactly one).
    pub fn inbox(&self) -> InPort<<A::Inboxes as SingleInbox>::Payload>
    where
        A::Inboxes: SingleInbox,
    {
        InPort::new(self.actor.clone(), None)
    }

    /// Its only outbox (for an actor with exactly one).
    pub fn outbox(&self) -> OutPort<<A::Outboxes as SingleOutbox>::Payload>
    where
        A::Outboxes: SingleOutbox,
    {
        OutPort::new(self.actor.clone(), None)
    }
}

/// Something that names an outbox: an [`OutPort`] or the handle of an actor with one outbox.
#[diagnostic::on_unimplemented(
    message = "`{Self}` does not name one outbox",
    label = "expected the handle of an actor with one outbox, or an `OutPort`",
    note = "for an actor with several outboxes, pick one: `handle.outboxes().name`"
)]
pub trait IntoOutPort {
    /// The payload the outbox sends.
    type Payload;
    /// The reference.
    fn into_out_port(self) -> OutPort<Self::Payload>;
}

impl<T> IntoOutPort for OutPort<T> {
    type Payload = T;
    fn into_out_port(self) -> OutPort<T> {
        self
    }
}

impl<T> IntoOutPort for &OutPort<T> {
    type Payload = T;
    fn into_out_port(self) -> OutPort<T> {
        self.clone()
    }
}

impl<A> IntoOutPort for &ActorHandle<A>
where
    A: Actor,
    A::Outboxes: SingleOutbox,
{
    type Payload = <A::Outboxes as SingleOutbox>::Payload;
    fn into_out_port(self) -> OutPort<Self::Payload> {
        self.outbox()
    }
}

/// Something that names an inbox: an [`InPort`] or the handle of an actor with one inbox.
#[diagnostic::on_unimplemented(
    message = "`{Self}` does not name one inbox",
    label = "expected the handle of an actor with one inbox, or an `InPort`",
    note = "for an actor with several inboxes, pick one: `handle.inboxes().name`"
)]
pub trait IntoInPort {
    /// The payload the inbox takes.
    type Payload;
    /// The reference.
    fn into_in_port(self) -> InPort<Self::Payload>;
}

impl<T> IntoInPort for InPort<T> {
    type Payload = T;
    fn into_in_port(self) -> InPort<T> {
        self
    }
}

impl<T> IntoInPort for &InPort<T> {
    type Payload = T;
    fn into_in_port(self) -> InPort<T> {
        self.clone()
    }
}

impl<A> IntoInPort for &ActorHandle<A>
where
    A: Actor,
    A::Inboxes: SingleInbox,
{
    type Payload = <A::Inboxes as SingleInbox>::Payload;
    fn into_in_port(self) -> InPort<Self::Payload> {
        self.inbox()
    }
}

/// The destinations of `connect_queue`: one inbox, or several (an array, a `Vec`, or a tuple
/// whose inboxes may take different payload types).
#[diagnostic::on_unimplemented(
    message = "`{Self}` does not name inboxes that take `{A}`",
    label = "expected an inbox (a handle or an `InPort`) or several (an array, `Vec` or tuple of them)"
)]
pub trait Targets<A> {
    /// Records one edge per destination.
    #[doc(hidden)]
    fn record(self, from: &OutPort<A>, capacity: Option<usize>, edges: &mut Vec<EdgeRecord>);
}

impl<A, B> Targets<A> for InPort<B>
where
    A: Convert<B> + Payload,
    B: Payload,
{
    fn record(self, from: &OutPort<A>, capacity: Option<usize>, edges: &mut Vec<EdgeRecord>) {
        edges.push(EdgeRecord::new::<A, B>(from, self, capacity, true));
    }
}

impl<A, B> Targets<A> for &InPort<B>
where
    A: Convert<B> + Payload,
    B: Payload,
{
    fn record(self, from: &OutPort<A>, capacity: Option<usize>, edges: &mut Vec<EdgeRecord>) {
        edges.push(EdgeRecord::new::<A, B>(from, self.clone(), capacity, true));
    }
}

impl<A, X> Targets<A> for &ActorHandle<X>
where
    X: Actor,
    X::Inboxes: SingleInbox,
    A: Convert<<X::Inboxes as SingleInbox>::Payload> + Payload,
{
    fn record(self, from: &OutPort<A>, capacity: Option<usize>, edges: &mut Vec<EdgeRecord>) {
        edges.push(EdgeRecord::new(from, self.inbox(), capacity, true));
    }
}

impl<A, P, const N: usize> Targets<A> for [P; N]
where
    P: IntoInPort,
    P::Payload: Payload,
    A: Convert<P::Payload> + Payload,
{
    fn record(self, from: &OutPort<A>, capacity: Option<usize>, edges: &mut Vec<EdgeRecord>) {
        for to in self {
            edges.push(EdgeRecord::new::<A, P::Payload>(
                from,
                to.into_in_port(),
                capacity,
                true,
            ));
        }
    }
}

impl<A, P> Targets<A> for Vec<P>
where
    P: IntoInPort,
    P::Payload: Payload,
    A: Convert<P::Payload> + Payload,
{
    fn record(self, from: &OutPort<A>, capacity: Option<usize>, edges: &mut Vec<EdgeRecord>) {
        for to in self {
            edges.push(EdgeRecord::new::<A, P::Payload>(
                from,
                to.into_in_port(),
                capacity,
                true,
            ));
        }
    }
}

macro_rules! tuple_targets {
    ($($p:ident),+) => {
        impl<A, $($p),+> Targets<A> for ($($p,)+)
        where
            A: Payload,
            $($p: IntoInPort, $p::Payload: Payload, A: Convert<$p::Payload>,)+
        {
            #[allow(non_snake_case)]
            fn record(self, from: &OutPort<A>, capacity: Option<usize>, edges: &mut Vec<EdgeRecord>) {
                let ($($p,)+) = self;
                $(edges.push(EdgeRecord::new::<A, $p::Payload>(from, $p.into_in_port(), capacity, true));)+
            }
        }
    };
}
tuple_targets!(P1);
tuple_targets!(P1, P2);
tuple_targets!(P1, P2, P3);
tuple_targets!(P1, P2, P3, P4);
tuple_targets!(P1, P2, P3, P4, P5);
tuple_targets!(P1, P2, P3, P4, P5, P6);
tuple_targets!(P1, P2, P3, P4, P5, P6, P7);
tuple_targets!(P1, P2, P3, P4, P5, P6, P7, P8);

/// The actor whose errors are routed (any actor): a handle, an [`ActorRef`] or a name.
pub trait IntoActorRef {
    /// The reference.
    fn into_actor_ref(self) -> ActorRef;
}

impl<A> IntoActorRef for &ActorHandle<A> {
    fn into_actor_ref(self) -> ActorRef {
        self.actor.clone()
    }
}

impl IntoActorRef for ActorRef {
    fn into_actor_ref(self) -> ActorRef {
        self
    }
}

impl IntoActorRef for &str {
    fn into_actor_ref(self) -> ActorRef {
        ActorRef::named(self)
    }
}

/// The target of `connect_error_queue`: the handle of an actor that [`TakesErrors`] (checked by
/// the compiler), or a name (checked by `start()`).
#[diagnostic::on_unimplemented(
    message = "`{Self}` does not name an actor with an error inbox",
    label = "expected the handle of an actor that takes errors, an `ActorRef` or a name"
)]
pub trait ErrorTarget {
    /// The reference.
    fn into_error_target(self) -> ActorRef;
}

impl<A: TakesErrors> ErrorTarget for &ActorHandle<A> {
    fn into_error_target(self) -> ActorRef {
        self.actor.clone()
    }
}

impl ErrorTarget for ActorRef {
    fn into_error_target(self) -> ActorRef {
        self
    }
}

impl ErrorTarget for &str {
    fn into_error_target(self) -> ActorRef {
        ActorRef::named(self)
    }
}

type Wire =
    Box<dyn FnOnce(&mut ErasedOutbox, &ErasedSender, Arc<str>, Arc<ErrorOutbox>) -> bool + Send>;

/// One `connect_queue` edge, typed at the call and erased for storage.
#[doc(hidden)]
pub struct EdgeRecord {
    from: ActorRef,
    from_port: Option<&'static str>,
    to: ActorRef,
    to_port: Option<&'static str>,
    sent: (TypeId, &'static str),
    taken: (TypeId, &'static str),
    capacity: Option<usize>,
    copyable: bool,
    wire: Wire,
}

impl EdgeRecord {
    fn new<A, B>(from: &OutPort<A>, to: InPort<B>, capacity: Option<usize>, copyable: bool) -> Self
    where
        A: Convert<B> + Payload,
        B: Payload,
    {
        let wire: Wire = Box::new(move |outbox, sender, inbox_label, receiver_errors| {
            let Some(outbox) = outbox.downcast_mut::<Outbox<A>>() else {
                return false;
            };
            // Same type on both ends: hand events over as they are.
            if let Some(sender) = sender.downcast_ref::<mpsc::Sender<Event<A>>>() {
                outbox.push_direct(sender.clone(), inbox_label);
                return true;
            }
            match sender.downcast_ref::<mpsc::Sender<Event<B>>>() {
                Some(sender) => {
                    outbox.push_converting::<B>(sender.clone(), inbox_label, receiver_errors);
                    true
                }
                None => false,
            }
        });
        EdgeRecord {
            from: from.actor.clone(),
            from_port: from.port,
            to: to.actor,
            to_port: to.port,
            sent: (TypeId::of::<A>(), std::any::type_name::<A>()),
            taken: (TypeId::of::<B>(), std::any::type_name::<B>()),
            capacity,
            copyable,
            wire,
        }
    }
}

struct ErrorEdgeRecord {
    from: ActorRef,
    to: ActorRef,
}

type Launch = Box<
    dyn FnOnce(
            Context,
            PortBundle,
            PortBundle,
        ) -> std::result::Result<BoxFuture<'static, ()>, PortMismatch>
        + Send,
>;

type Copy = Box<dyn Fn(&mut ErasedOutbox) + Send>;

struct Registered {
    name: Arc<str>,
    inboxes: Vec<PortSpec>,
    outboxes: Vec<PortSpec>,
    /// Allows fan-out on each outbox whose payload is `Clone` (set by typed `connect_queue`).
    copies: Vec<Option<Copy>>,
    error_inbox: bool,
    launch: Option<Launch>,
}

/// Builds a topology at run time, starts it and stops it.
pub struct Director {
    actors: Vec<Registered>,
    by_name: HashMap<Arc<str>, usize>,
    problems: Vec<TopologyError>,
    edges: Vec<EdgeRecord>,
    error_edges: Vec<ErrorEdgeRecord>,
    log: Option<LogActor>,
    capacity: usize,
    shutdown_timeout: Duration,
    stop: Arc<watch::Sender<bool>>,
    graph: Graph,
    running: Option<Running>,
}

type MakeForwarder = Box<dyn FnOnce(&ErasedSender) -> Option<LogForwarder> + Send>;

struct LogActor {
    index: usize,
    forwarder: MakeForwarder,
}

struct Running {
    tasks: Vec<(Arc<str>, JoinHandle<()>)>,
}

impl Default for Director {
    fn default() -> Self {
        Self::new()
    }
}

impl Director {
    /// An empty topology.
    pub fn new() -> Self {
        let (stop, _) = watch::channel(false);
        Director {
            actors: Vec::new(),
            by_name: HashMap::new(),
            problems: Vec::new(),
            edges: Vec::new(),
            error_edges: Vec::new(),
            log: None,
            capacity: DEFAULT_CAPACITY,
            shutdown_timeout: DEFAULT_SHUTDOWN_TIMEOUT,
            stop: Arc::new(stop),
            graph: Graph::default(),
            running: None,
        }
    }

    /// The queue capacity for inboxes whose edges set none (default 500).
    pub fn set_default_capacity(&mut self, capacity: usize) -> &mut Self {
        self.capacity = capacity.max(1);
        self
    }

    /// How long a graceful stop may take before the remaining actors are aborted (default 30 s).
    pub fn set_shutdown_timeout(&mut self, timeout: Duration) -> &mut Self {
        self.shutdown_timeout = timeout;
        self
    }

    /// Registers an actor under a name; the handle wires it.
    pub fn register_actor<A: Actor>(
        &mut self,
        name: impl Into<String>,
        actor: A,
    ) -> ActorHandle<A> {
        let name: Arc<str> = Arc::from(name.into());
        let index = self.actors.len();
        if self.by_name.contains_key(&name) {
            self.problems
                .push(TopologyError::DuplicateActor(name.to_string()));
        } else {
            self.by_name.insert(Arc::clone(&name), index);
        }
        let inboxes = A::Inboxes::specs();
        let outboxes = A::Outboxes::specs();
        self.graph.nodes.push(Node {
            name: name.to_string(),
            inboxes: inboxes.iter().map(|p| p.name().to_string()).collect(),
            outboxes: outboxes.iter().map(|p| p.name().to_string()).collect(),
        });
        let launch: Launch = Box::new(move |ctx, mut inbox_ports, mut outbox_ports| {
            let inboxes = A::Inboxes::assemble(&mut inbox_ports)?;
            let outboxes = A::Outboxes::assemble(&mut outbox_ports)?;
            Ok(Box::pin(actor.run(ctx, inboxes, outboxes)))
        });
        self.actors.push(Registered {
            name: Arc::clone(&name),
            copies: outboxes.iter().map(|_| None).collect(),
            inboxes,
            outboxes,
            error_inbox: A::ERROR_INBOX,
            launch: Some(launch),
        });
        ActorHandle {
            actor: ActorRef { name },
            _actor: PhantomData,
        }
    }

    /// Registers the actor that receives the topology's log records as events (one per
    /// topology). Records logged by the other actors go to it instead of the global subscriber.
    pub fn register_log_actor<A, T>(&mut self, name: impl Into<String>, actor: A) -> ActorHandle<A>
    where
        A: Actor<Inboxes = Inbox<T>>,
        LogRecord: Convert<T>,
        T: Payload,
    {
        let handle = self.register_actor(name, actor);
        let index = self.actors.len() - 1;
        if self.log.is_some() {
            self.problems
                .push(TopologyError::SecondLogActor(handle.name().to_string()));
        } else {
            self.log = Some(LogActor {
                index,
                forwarder: Box::new(|sender| {
                    sender
                        .downcast_ref::<mpsc::Sender<Event<T>>>()
                        .map(|s| LogForwarder::new(s.clone()))
                }),
            });
        }
        handle
    }

    /// Connects an outbox to one inbox or to several (each gets a copy of every event).
    ///
    /// `from` is a handle of an actor with one outbox or an [`OutPort`]; `to` is a handle, an
    /// [`InPort`], an array or `Vec` of them, or a tuple (whose inboxes may take different
    /// payloads). Payload types must be equal or convertible ([`Convert`]).
    pub fn connect_queue<O>(&mut self, from: O, to: impl Targets<O::Payload>) -> &mut Self
    where
        O: IntoOutPort,
        O::Payload: Payload + FanOut,
    {
        self.connect(from.into_out_port(), to, None)
    }

    /// [`connect_queue`](Self::connect_queue) with a queue capacity for the inboxes it feeds
    /// (an inbox fed by several edges takes the largest).
    pub fn connect_queue_with_capacity<O>(
        &mut self,
        from: O,
        to: impl Targets<O::Payload>,
        capacity: usize,
    ) -> &mut Self
    where
        O: IntoOutPort,
        O::Payload: Payload + FanOut,
    {
        self.connect(from.into_out_port(), to, Some(capacity.max(1)))
    }

    /// Connects an outbox to exactly one inbox, for payloads that cannot be copied. `start()`
    /// rejects a second edge from the same outbox.
    ///
    /// `to` is a [`Targets`] like `connect_queue`'s, so that a payload without a conversion is
    /// reported as such by the compiler; it should name one inbox.
    pub fn connect_queue_exclusive<O>(&mut self, from: O, to: impl Targets<O::Payload>) -> &mut Self
    where
        O: IntoOutPort,
        O::Payload: Payload,
    {
        self.connect_exclusive(from.into_out_port(), to, None)
    }

    /// [`connect_queue_exclusive`](Self::connect_queue_exclusive) with a queue capacity for the
    /// inbox it feeds (an inbox fed by several edges takes the largest).
    pub fn connect_queue_exclusive_with_capacity<O>(
        &mut self,
        from: O,
        to: impl Targets<O::Payload>,
        capacity: usize,
    ) -> &mut Self
    where
        O: IntoOutPort,
        O::Payload: Payload,
    {
        self.connect_exclusive(from.into_out_port(), to, Some(capacity.max(1)))
    }

    fn connect_exclusive<A: Payload>(
        &mut self,
        from: OutPort<A>,
        to: impl Targets<A>,
        capacity: Option<usize>,
    ) -> &mut Self {
        let first = self.edges.len();
        to.record(&from, capacity, &mut self.edges);
        for edge in &mut self.edges[first..] {
            edge.copyable = false;
        }
        self
    }

    fn connect<A: Payload + FanOut>(
        &mut self,
        from: OutPort<A>,
        to: impl Targets<A>,
        capacity: Option<usize>,
    ) -> &mut Self {
        let first = self.edges.len();
        to.record(&from, capacity, &mut self.edges);
        if self.edges.len() > first {
            self.allow_copies::<A>(&from);
        }
        self
    }

    fn allow_copies<A: Payload + Clone>(&mut self, from: &OutPort<A>) {
        let Some(&index) = self.by_name.get(&from.actor.name) else {
            return; // reported by start()
        };
        let actor = &mut self.actors[index];
        let slot = match from.port {
            Some(port) => actor.outboxes.iter().position(|p| p.name() == port),
            None => lone_port(&actor.outboxes),
        };
        if let Some(slot) = slot {
            actor.copies[slot] = Some(Box::new(|outbox| {
                if let Some(outbox) = outbox.downcast_mut::<Outbox<A>>() {
                    outbox.allow_copies(Event::<A>::clone);
                }
            }));
        }
    }

    /// Routes the error outbox of `from` to the error inbox of `to`. Errors of actors without
    /// such an edge go to the topology's default error actor, which logs them.
    pub fn connect_error_queue(
        &mut self,
        from: impl IntoActorRef,
        to: impl ErrorTarget,
    ) -> &mut Self {
        self.error_edges.push(ErrorEdgeRecord {
            from: from.into_actor_ref(),
            to: to.into_error_target(),
        });
        self
    }

    /// A handle that can stop the topology from elsewhere.
    pub fn handle(&self) -> StopHandle {
        StopHandle {
            stop: Arc::clone(&self.stop),
        }
    }

    /// The graph: actors, their ports, and the edges between them.
    pub fn graph(&self) -> Graph {
        let mut graph = self.graph.clone();
        graph.edges = self
            .edges
            .iter()
            .map(|e| GraphEdge {
                from: e.from.name.to_string(),
                from_port: e.from_port.map(str::to_string),
                to: e.to.name.to_string(),
                to_port: e.to_port.map(str::to_string),
                errors: false,
            })
            .chain(self.error_edges.iter().map(|e| GraphEdge {
                from: e.from.name.to_string(),
                from_port: None,
                to: e.to.name.to_string(),
                to_port: None,
                errors: true,
            }))
            .collect();
        graph
    }

    /// Checks the wiring, then starts every actor as a tokio task. Must be called inside a tokio
    /// runtime. Every wiring mistake is reported at once.
    pub fn start(&mut self) -> Result<()> {
        if self.running.is_some() || self.actors.iter().any(|a| a.launch.is_none()) {
            return Err(Error::AlreadyStarted);
        }
        if tokio::runtime::Handle::try_current().is_err() {
            return Err(Error::NoRuntime);
        }
        let plan = self.plan()?;
        let tasks = self.launch(plan)?;
        self.running = Some(Running { tasks });
        Ok(())
    }

    /// Resolves every edge to port indexes, collecting every mistake.
    fn plan(&mut self) -> Result<Plan> {
        let mut problems = std::mem::take(&mut self.problems);
        let mut data_edges = Vec::new();
        for (i, edge) in self.edges.iter().enumerate() {
            let from = self.resolve(&edge.from, edge.from_port, Direction::Outbox, &mut problems);
            let to = self.resolve(&edge.to, edge.to_port, Direction::Inbox, &mut problems);
            let (Some(from), Some(to)) = (from, to) else {
                continue;
            };
            let sent = &self.actors[from.0].outboxes[from.1];
            let taken = &self.actors[to.0].inboxes[to.1];
            let mut fits = true;
            for (actor, spec, declared) in
                [(&edge.from, sent, edge.sent), (&edge.to, taken, edge.taken)]
            {
                if spec.payload_id() != declared.0 {
                    fits = false;
                    problems.push(TopologyError::PayloadMismatch {
                        port: format!("{}.{}", actor.name, spec.name()),
                        declared: shorten_type_name(declared.1),
                        actual: shorten_type_name(spec.payload()),
                    });
                }
            }
            if !fits {
                continue;
            }
            data_edges.push(PlannedEdge {
                record: i,
                from,
                to,
            });
        }
        // An outbox with several edges needs copies; an exclusive edge must be alone.
        let mut per_outbox: BTreeMap<(usize, usize), Vec<usize>> = BTreeMap::new();
        for edge in &data_edges {
            per_outbox.entry(edge.from).or_default().push(edge.record);
        }
        for ((actor, port), records) in &per_outbox {
            let exclusive = records.iter().any(|&r| !self.edges[r].copyable);
            if records.len() > 1 && exclusive {
                let spec = &self.actors[*actor].outboxes[*port];
                problems.push(TopologyError::FanOutOfUniquePayload {
                    outbox: format!("{}.{}", self.actors[*actor].name, spec.name()),
                    edges: records.len(),
                    payload: spec.payload(),
                });
            }
        }
        let mut error_edges = Vec::new();
        for edge in &self.error_edges {
            let from = self.find(&edge.from, &mut problems);
            let to = self.find(&edge.to, &mut problems);
            let (Some(from), Some(to)) = (from, to) else {
                continue;
            };
            if !self.actors[to].error_inbox {
                problems.push(TopologyError::NoErrorInbox {
                    from: edge.from.name.to_string(),
                    to: edge.to.name.to_string(),
                });
                continue;
            }
            error_edges.push((from, to));
        }
        if !problems.is_empty() {
            return Err(Error::Topology(TopologyErrors(problems)));
        }
        Ok(Plan {
            data_edges,
            error_edges,
        })
    }

    fn find(&self, actor: &ActorRef, problems: &mut Vec<TopologyError>) -> Option<usize> {
        match self.by_name.get(&actor.name) {
            Some(&index) => Some(index),
            None => {
                let error = TopologyError::UnknownActor {
                    name: actor.name.to_string(),
                    suggestion: closest(&actor.name, self.by_name.keys().map(|k| &**k)),
                };
                if !problems.contains(&error) {
                    problems.push(error);
                }
                None
            }
        }
    }

    fn resolve(
        &self,
        actor: &ActorRef,
        port: Option<&'static str>,
        direction: Direction,
        problems: &mut Vec<TopologyError>,
    ) -> Option<(usize, usize)> {
        let index = self.find(actor, problems)?;
        let ports = match direction {
            Direction::Inbox => &self.actors[index].inboxes,
            Direction::Outbox => &self.actors[index].outboxes,
        };
        let names = || {
            ports
                .iter()
                .map(|p| p.name().to_string())
                .collect::<Vec<_>>()
        };
        let found = match port {
            Some(name) => ports.iter().position(|p| p.name() == name),
            None => lone_port(ports),
        };
        if found.is_none() {
            problems.push(match port {
                None if ports.len() > 1 => TopologyError::AmbiguousPort {
                    actor: actor.name.to_string(),
                    direction: direction.label(),
                    available: names(),
                },
                _ => TopologyError::UnknownPort {
                    actor: actor.name.to_string(),
                    direction: direction.label(),
                    port: port.unwrap_or(direction.label()).to_string(),
                    available: names(),
                },
            });
        }
        found.map(|port| (index, port))
    }

    /// Makes the channels, wires the outboxes and spawns the actors.
    fn launch(&mut self, plan: Plan) -> Result<Vec<(Arc<str>, JoinHandle<()>)>> {
        let internal = |what: String| Error::Setup(format!("internal wiring error: {what}"));

        // Inbox capacities: the largest any edge into the inbox asks for.
        let mut capacity: HashMap<(usize, usize), usize> = HashMap::new();
        for edge in &plan.data_edges {
            if let Some(c) = self.edges[edge.record].capacity {
                let slot = capacity.entry(edge.to).or_insert(c);
                *slot = (*slot).max(c);
            }
        }

        // One channel per inbox.
        let mut senders: HashMap<(usize, usize), (ErasedSender, Arc<str>)> = HashMap::new();
        let mut inbox_ports: Vec<Vec<(&'static str, Box<dyn std::any::Any + Send>)>> = Vec::new();
        for (a, actor) in self.actors.iter().enumerate() {
            let mut ports = Vec::new();
            for (p, spec) in actor.inboxes.iter().enumerate() {
                let cap = capacity.get(&(a, p)).copied().unwrap_or(self.capacity);
                let (sender, inbox) = spec
                    .make_channel(cap)
                    .ok_or_else(|| internal(format!("{} is not an inbox", spec.name())))?;
                senders.insert(
                    (a, p),
                    (sender, format!("{}.{}", actor.name, spec.name()).into()),
                );
                ports.push((spec.name(), inbox));
            }
            inbox_ports.push(ports);
        }

        // Error inboxes, and the default error actor for errors routed nowhere. The log actor's
        // own unrouted errors get a default error actor of their own that logs to the global
        // subscriber: routed to the one that logs through the log actor, they would keep the
        // log actor's inbox open for ever.
        let log_index = self.log.as_ref().map(|log| log.index);
        let (default_errors_tx, default_errors_rx) = mpsc::channel::<ErrorEvent>(self.capacity);
        let (log_errors_tx, log_errors_rx) = mpsc::channel::<ErrorEvent>(self.capacity);
        let mut error_inboxes: HashMap<usize, (mpsc::Sender<ErrorEvent>, Inbox<AnyPayload>)> =
            HashMap::new();
        for (a, actor) in self.actors.iter().enumerate() {
            if actor.error_inbox {
                let (tx, rx) = mpsc::channel(self.capacity);
                error_inboxes.insert(a, (tx, Inbox::new(rx)));
            }
        }
        let mut error_outboxes = Vec::new();
        for (a, actor) in self.actors.iter().enumerate() {
            let mut outbox = Outbox::<AnyPayload>::new(format!("{}.errors", actor.name).into());
            outbox.allow_copies(Event::clone);
            let targets: Vec<usize> = plan
                .error_edges
                .iter()
                .filter(|(from, _)| *from == a)
                .map(|(_, to)| *to)
                .collect();
            if targets.is_empty() {
                let default = if Some(a) == log_index {
                    &log_errors_tx
                } else {
                    &default_errors_tx
                };
                outbox.push_direct(default.clone(), DEFAULT_ERROR_ACTOR.into());
            }
            for to in targets {
                if let Some((tx, _)) = error_inboxes.get(&to) {
                    outbox.push_direct(
                        tx.clone(),
                        format!("{}.errors", self.actors[to].name).into(),
                    );
                }
            }
            error_outboxes.push(Arc::new(ErrorOutbox::new(Arc::clone(&actor.name), outbox)));
        }
        drop((default_errors_tx, log_errors_tx));

        // Outboxes, wired edge by edge.
        let mut outboxes: Vec<Vec<ErasedOutbox>> = Vec::new();
        for actor in &self.actors {
            let mut built = Vec::new();
            for spec in &actor.outboxes {
                let label = format!("{}.{}", actor.name, spec.name()).into();
                built.push(
                    spec.make_outbox(label)
                        .ok_or_else(|| internal(format!("{} is not an outbox", spec.name())))?,
                );
            }
            outboxes.push(built);
        }
        let mut records: Vec<Option<EdgeRecord>> = std::mem::take(&mut self.edges)
            .into_iter()
            .map(Some)
            .collect();
        for edge in &plan.data_edges {
            let Some(record) = records[edge.record].take() else {
                continue;
            };
            let (sender, label) = senders
                .get(&edge.to)
                .ok_or_else(|| internal("missing inbox sender".into()))?;
            let receiver_errors = Arc::clone(&error_outboxes[edge.to.0]);
            let outbox = &mut outboxes[edge.from.0][edge.from.1];
            if !(record.wire)(outbox, sender, Arc::clone(label), receiver_errors) {
                return Err(internal(format!(
                    "edge {} -> {} does not fit its ports",
                    record.from.name, record.to.name
                )));
            }
        }
        for (a, actor) in self.actors.iter_mut().enumerate() {
            for (p, copy) in actor.copies.iter_mut().enumerate() {
                if let Some(copy) = copy.take() {
                    copy(&mut outboxes[a][p]);
                }
            }
        }

        // The log actor's inbox is fed by the log forwarder instead of by edges.
        let forwarder = match self.log.take() {
            Some(log) => {
                let (sender, _) = senders
                    .get(&(log.index, 0))
                    .ok_or_else(|| internal("the log actor has no inbox".into()))?;
                let forwarder = (log.forwarder)(sender)
                    .ok_or_else(|| internal("log actor inbox type".into()))?;
                Some((log.index, forwarder))
            }
            None => None,
        };
        // From here on only outboxes hold senders, so inboxes close when their feeders finish.
        drop(senders);
        let dispatch = forwarder.map(|(_, f)| logging::dispatch(f));

        let mut tasks = Vec::new();
        let mut outboxes = outboxes.into_iter();
        let mut inbox_ports = inbox_ports.into_iter();
        for (a, actor) in self.actors.iter_mut().enumerate() {
            let ctx = Context::new(
                Arc::clone(&actor.name),
                Arc::clone(&error_outboxes[a]),
                error_inboxes.remove(&a).map(|(_, inbox)| inbox),
                self.stop.subscribe(),
                Concurrency::DEFAULT,
            );
            let ins = PortBundle::new(
                Arc::clone(&actor.name),
                inbox_ports.next().unwrap_or_default(),
            );
            let outs = PortBundle::new(
                Arc::clone(&actor.name),
                actor
                    .outboxes
                    .iter()
                    .map(|s| s.name())
                    .zip(outboxes.next().unwrap_or_default())
                    .collect(),
            );
            let launch = actor
                .launch
                .take()
                .ok_or_else(|| internal("actor launched twice".into()))?;
            let future = launch(ctx, ins, outs).map_err(|e| internal(e.to_string()))?;
            let name = Arc::clone(&actor.name);
            let guarded = guard(Arc::clone(&name), future);
            let task = match (&dispatch, log_index) {
                // The log actor's own records go to the global subscriber, not to itself.
                (Some(dispatch), Some(log)) if log != a => tokio::spawn(
                    tracing::instrument::WithSubscriber::with_subscriber(guarded, dispatch.clone()),
                ),
                _ => tokio::spawn(guarded),
            };
            tasks.push((name, task));
        }
        drop(error_outboxes);
        let default_errors = default_error_actor(default_errors_rx);
        let task = match &dispatch {
            Some(dispatch) => tokio::spawn(tracing::instrument::WithSubscriber::with_subscriber(
                default_errors,
                dispatch.clone(),
            )),
            None => tokio::spawn(default_errors),
        };
        tasks.push((Arc::from(DEFAULT_ERROR_ACTOR), task));
        let log_errors = tokio::spawn(default_error_actor(log_errors_rx));
        tasks.push((Arc::from(DEFAULT_ERROR_ACTOR), log_errors));
        Ok(tasks)
    }

    /// Waits until every actor has finished: sources are exhausted and every event handled, or
    /// a stop was requested and the graph drained. A requested stop is bounded by the shutdown
    /// timeout; actors still running then are aborted and named in the error.
    pub async fn wait(&mut self) -> Result<()> {
        let Some(mut running) = self.running.take() else {
            return Ok(());
        };
        let mut stop = self.stop.subscribe();
        tokio::select! {
            () = join_all(&mut running.tasks) => return Ok(()),
            _ = stop.wait_for(|stopping| *stopping) => {}
        }
        match tokio::time::timeout(self.shutdown_timeout, join_all(&mut running.tasks)).await {
            Ok(()) => Ok(()),
            Err(_) => {
                // The default error actor only waits for the others; naming it would hide
                // the culprits.
                let aborted: Vec<String> = running
                    .tasks
                    .iter()
                    .filter(|(name, task)| !task.is_finished() && &**name != DEFAULT_ERROR_ACTOR)
                    .map(|(name, _)| name.to_string())
                    .collect();
                for (_, task) in &running.tasks {
                    task.abort();
                }
                Err(Error::ShutdownTimeout {
                    deadline: self.shutdown_timeout,
                    aborted,
                })
            }
        }
    }

    /// Stops gracefully: sources stop producing, every queue drains, handlers in flight finish,
    /// then the sinks stop; all within the shutdown timeout.
    pub async fn stop(&mut self) -> Result<()> {
        self.stop.send_replace(true);
        self.wait().await
    }

    /// Starts, runs until SIGINT or SIGTERM, then stops gracefully.
    pub async fn run_until_signal(&mut self) -> Result<()> {
        self.start()?;
        let stop = self.handle();
        let signal = tokio::spawn(async move {
            shutdown_signal().await;
            tracing::info!("signal received; stopping");
            stop.stop();
        });
        let result = self.wait().await;
        signal.abort();
        result
    }
}

/// Resolves on SIGINT (Ctrl-C) or, on Unix, SIGTERM.
pub async fn shutdown_signal() {
    let interrupt = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = interrupt => {}
        () = terminate => {}
    }
}

/// Stops a running topology from anywhere; cheap to clone.
#[derive(Clone, Debug)]
pub struct StopHandle {
    stop: Arc<watch::Sender<bool>>,
}

impl StopHandle {
    /// Asks the topology to stop gracefully; whoever awaits it sees it finish.
    pub fn stop(&self) {
        self.stop.send_replace(true);
    }

    /// Whether a stop was asked for.
    pub fn is_stopping(&self) -> bool {
        *self.stop.borrow()
    }
}

#[derive(Clone, Copy)]
enum Direction {
    Inbox,
    Outbox,
}

impl Direction {
    fn label(self) -> &'static str {
        match self {
            Direction::Inbox => "inbox",
            Direction::Outbox => "outbox",
        }
    }
}

struct Plan {
    data_edges: Vec<PlannedEdge>,
    error_edges: Vec<(usize, usize)>,
}

struct PlannedEdge {
    record: usize,
    from: (usize, usize),
    to: (usize, usize),
}

/// The only data port, if there is exactly one.
fn lone_port(ports: &[PortSpec]) -> Option<usize> {
    let mut data = ports
        .iter()
        .enumerate()
        .filter(|(_, p)| p.kind() == PortKind::Data);
    match (data.next(), data.next()) {
        (Some((i, _)), None) => Some(i),
        _ => None,
    }
}

/// The registered name closest to a mistyped one, if it is close enough to be a typo.
pub(crate) fn closest<'a>(name: &str, candidates: impl Iterator<Item = &'a str>) -> Option<String> {
    candidates
        .map(|c| (edit_distance(name, c), c))
        .filter(|(d, c)| *d <= (c.len().max(name.len()) / 3).max(1))
        .min()
        .map(|(_, c)| c.to_string())
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut current = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != *cb);
            current.push(
                (previous[j] + cost)
                    .min(previous[j + 1] + 1)
                    .min(current[j] + 1),
            );
        }
        previous = current;
    }
    previous[b.len()]
}

/// Runs an actor, logging instead of unwinding if it panics outside its handlers.
async fn guard(name: Arc<str>, future: BoxFuture<'static, ()>) {
    let span = tracing::info_span!("actor", actor = %name);
    if let Err(panic) = AssertUnwindSafe(future)
        .catch_unwind()
        .instrument(span)
        .await
    {
        tracing::error!(actor = %name, panic = %panic_message(panic.as_ref()), "actor crashed; its inboxes are closed");
    }
}

/// Logs every error that was routed nowhere.
async fn default_error_actor(mut errors: mpsc::Receiver<ErrorEvent>) {
    while let Some(event) = errors.recv().await {
        match event.error() {
            Some(error) => tracing::warn!(
                actor = error.actor().unwrap_or("?"),
                meta_id = %event.meta_id(),
                status = error.status().as_u16(),
                error = %error.message(),
                "event failed"
            ),
            None => {
                tracing::warn!(meta_id = %event.meta_id(), "an event without error reached the default error actor")
            }
        }
    }
}

async fn join_all(tasks: &mut [(Arc<str>, JoinHandle<()>)]) {
    for (_, task) in tasks.iter_mut() {
        if !task.is_finished() {
            // A task that panicked was already logged by `guard`; an aborted one is reported
            // by the caller.
            let _ = task.await;
        }
    }
}

/// The shape of a topology, for pictures.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Graph {
    /// Actors and their ports.
    pub nodes: Vec<Node>,
    /// Edges, error edges included.
    pub edges: Vec<GraphEdge>,
}

/// An actor in a [`Graph`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Node {
    /// Its name.
    pub name: String,
    /// Its inbox names.
    pub inboxes: Vec<String>,
    /// Its outbox names.
    pub outboxes: Vec<String>,
}

/// An edge in a [`Graph`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GraphEdge {
    /// Sending actor.
    pub from: String,
    /// Its outbox, when named.
    pub from_port: Option<String>,
    /// Receiving actor.
    pub to: String,
    /// Its inbox, when named.
    pub to_port: Option<String>,
    /// An error edge (`!->`).
    pub errors: bool,
}

impl Graph {
    /// Graphviz DOT: data edges solid, error edges dashed red.
    pub fn to_dot(&self) -> String {
        let mut out = String::from("digraph topology {\n    rankdir=LR;\n    node [shape=box];\n");
        for node in &self.nodes {
            let _ = writeln!(out, "    \"{}\";", escape(&node.name));
        }
        for edge in &self.edges {
            let label = edge_label(edge);
            let style = if edge.errors {
                ", style=dashed, color=red"
            } else {
                ""
            };
            let _ = writeln!(
                out,
                "    \"{}\" -> \"{}\" [label=\"{}\"{}];",
                escape(&edge.from),
                escape(&edge.to),
                escape(&label),
                style
            );
        }
        out.push_str("}\n");
        out
    }

    /// A Mermaid flowchart: data edges `-->`, error edges `-.->` labelled `errors`.
    pub fn to_mermaid(&self) -> String {
        let mut out = String::from("flowchart LR\n");
        let id = |name: &str| -> String {
            name.chars()
                .map(|c| {
                    if c.is_alphanumeric() || c == '_' {
                        c
                    } else {
                        '_'
                    }
                })
                .collect()
        };
        for node in &self.nodes {
            let _ = writeln!(
                out,
                "    {}[\"{}\"]",
                id(&node.name),
                node.name.replace('"', "'")
            );
        }
        for edge in &self.edges {
            let label = edge_label(edge);
            let arrow = if edge.errors { "-.->" } else { "-->" };
            if label.is_empty() {
                let _ = writeln!(out, "    {} {} {}", id(&edge.from), arrow, id(&edge.to));
            } else {
                let _ = writeln!(
                    out,
                    "    {} {}|{}| {}",
                    id(&edge.from),
                    arrow,
                    label,
                    id(&edge.to)
                );
            }
        }
        out
    }
}

fn edge_label(edge: &GraphEdge) -> String {
    if edge.errors {
        return "errors".to_string();
    }
    match (&edge.from_port, &edge.to_port) {
        (Some(f), Some(t)) if f != "outbox" || t != "inbox" => format!("{f} → {t}"),
        (Some(f), None) if f != "outbox" => f.clone(),
        (None, Some(t)) if t != "inbox" => format!("→ {t}"),
        _ => String::new(),
    }
}

fn escape(s: &str) -> String {
    s.replace('\\', "\\\\").replace('"', "\\\"")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typos_get_a_suggestion() {
        let names = ["output_one", "output_two", "generator"];
        assert_eq!(
            closest("genrator", names.into_iter()),
            Some("generator".into())
        );
        assert_eq!(closest("zzz", names.into_iter()), None);
    }
}
