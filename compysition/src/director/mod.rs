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

use std::collections::HashMap;
use std::marker::PhantomData;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, watch};

use crate::actor::{Actor, BoxFuture, Context};
use crate::error::{Error, Result, TopologyError};
use crate::event::Event;
use crate::graph::{Graph, GraphEdge, Node};
use crate::logging::{LogForwarder, LogRecord};
use crate::payload::{Convert, FanOut, Payload};
use crate::port::{
    ActorRef, ErasedOutbox, ErasedSender, InboxSet, OutPort, Outbox, OutboxSet, PortBundle,
    PortMismatch, PortSpec, SingleInbox, DEFAULT_CAPACITY,
};

mod handles;
mod launch;
mod plan;

use launch::{join_all, Tasks};
use plan::lone_port;

pub use handles::{
    ActorHandle, EdgeRecord, ErrorTarget, IntoActorRef, IntoInPort, IntoOutPort, Targets,
};

/// The name the default error actor goes by in log records.
const DEFAULT_ERROR_ACTOR: &str = "default error actor";

/// How long a graceful stop may take before the remaining actors are aborted.
pub const DEFAULT_SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(30);

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
    tasks: Tasks,
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
    /// topology): any actor with one inbox, taking a payload [`LogRecord`] converts to. Records
    /// logged by the other actors go to it instead of the global subscriber.
    pub fn register_log_actor<A, T>(&mut self, name: impl Into<String>, actor: A) -> ActorHandle<A>
    where
        A: Actor,
        A::Inboxes: SingleInbox<Payload = T>,
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
    /// [`InPort`](crate::port::InPort), an array or `Vec` of them, or a tuple (whose inboxes may
    /// take different payloads). Payload types must be equal or convertible ([`Convert`]). The
    /// returned [`Edges`] sets the queue capacity of the inboxes it feeds.
    pub fn connect_queue<O>(&mut self, from: O, to: impl Targets<O::Payload>) -> Edges<'_>
    where
        O: IntoOutPort,
        O::Payload: Payload + FanOut,
    {
        let from = from.into_out_port();
        let first = self.edges.len();
        to.record(&from, None, &mut self.edges);
        if self.edges.len() > first {
            self.allow_copies(&from);
        }
        Edges {
            director: self,
            first,
        }
    }

    /// Connects an outbox to exactly one inbox, for payloads that cannot be copied. `start()`
    /// rejects a second edge from the same outbox.
    ///
    /// `to` is a [`Targets`] like `connect_queue`'s, so that a payload without a conversion is
    /// reported as such by the compiler; it should name one inbox.
    pub fn connect_queue_exclusive<O>(&mut self, from: O, to: impl Targets<O::Payload>) -> Edges<'_>
    where
        O: IntoOutPort,
        O::Payload: Payload,
    {
        let first = self.edges.len();
        to.record(&from.into_out_port(), None, &mut self.edges);
        for edge in &mut self.edges[first..] {
            edge.copyable = false;
        }
        Edges {
            director: self,
            first,
        }
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

/// The edges one `connect_queue` call made, to configure them.
///
/// ```
/// use compysition::prelude::*;
/// use compysition::actors::{EventGenerator, Null};
///
/// let mut director = Director::new();
/// let source = director.register_actor("source", EventGenerator::once(1u8));
/// let sink = director.register_actor("sink", Null::<u8>::new());
/// director.connect_queue(&source, &sink).capacity(10);
/// ```
pub struct Edges<'d> {
    director: &'d mut Director,
    first: usize,
}

impl Edges<'_> {
    /// The queue capacity of the inboxes these edges feed (an inbox fed by several edges takes
    /// the largest any of them asks for; at least 1).
    pub fn capacity(self, capacity: usize) -> Self {
        for edge in &mut self.director.edges[self.first..] {
            edge.capacity = Some(capacity.max(1));
        }
        self
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
