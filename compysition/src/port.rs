//! Inboxes, outboxes and the edges between them.
//!
//! Every inbox is one bounded channel; every edge into it is a sender on that channel, so many
//! edges into one inbox merge. An [`Outbox`] holds one edge per connected inbox and gives each a
//! copy of every event it sends (the last one gets the original, so a fan-out to `n` inboxes
//! clones `n - 1` times). A full inbox makes the sender wait: that is the backpressure that keeps
//! memory bounded under overload.
//!
//! An edge whose ends take the same payload type hands the event over as it is. Otherwise the
//! edge converts it with [`Convert`](crate::Convert); when that fails, the event goes to the
//! receiving actor's error outbox.

use std::any::{type_name, Any, TypeId};
use std::fmt;
use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context as TaskContext, Poll};

use tokio::sync::mpsc;

use crate::error::EventError;
use crate::event::Event;
use crate::payload::{AnyPayload, Convert, ErrorEvent, Payload};
use crate::pool::{CpuPool, INLINE_UP_TO};

/// The queue capacity used when none is given: the Python Director's `size`.
pub const DEFAULT_CAPACITY: usize = 500;

/// The receiving end of one inbox.
pub struct Inbox<T> {
    receiver: mpsc::Receiver<Event<T>>,
}

impl<T> Inbox<T> {
    pub(crate) fn new(receiver: mpsc::Receiver<Event<T>>) -> Self {
        Inbox { receiver }
    }

    /// The next event; `None` once every edge into this inbox is gone and the queue is empty.
    pub async fn recv(&mut self) -> Option<Event<T>> {
        self.receiver.recv().await
    }

    /// Polls for the next event.
    pub fn poll_recv(&mut self, cx: &mut TaskContext<'_>) -> Poll<Option<Event<T>>> {
        self.receiver.poll_recv(cx)
    }

    /// The next event if one is queued now.
    pub fn try_recv(&mut self) -> Option<Event<T>> {
        self.receiver.try_recv().ok()
    }

    /// How many events wait in the queue.
    pub fn len(&self) -> usize {
        self.receiver.len()
    }

    /// Whether no event waits in the queue.
    pub fn is_empty(&self) -> bool {
        self.receiver.is_empty()
    }
}

impl<T> fmt::Debug for Inbox<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Inbox")
            .field("payload", &type_name::<T>())
            .field("queued", &self.receiver.len())
            .finish()
    }
}

/// The sending end of one outbox: every event goes to every connected inbox.
pub struct Outbox<T> {
    edges: Vec<Edge<T>>,
    copy: Option<CopyEvent<T>>,
    label: Arc<str>,
}

/// Copies an event for one more inbox of a fan-out.
type CopyEvent<T> = fn(&Event<T>) -> Event<T>;

/// One connection from an outbox to an inbox.
enum Edge<T> {
    /// Same payload type on both ends: the event is handed over as it is.
    Direct(Target<T>),
    /// Different types: the event is converted on the way.
    Converting(Box<dyn ConvertingEdge<T>>),
}

/// A sender with the name of the inbox it feeds, for log records.
struct Target<T> {
    sender: mpsc::Sender<Event<T>>,
    inbox: Arc<str>,
}

impl<T> Outbox<T> {
    /// An outbox connected to nothing: events sent to it are dropped.
    pub fn disconnected() -> Self {
        Self::new("disconnected".into())
    }

    pub(crate) fn new(label: Arc<str>) -> Self {
        Outbox {
            edges: Vec::new(),
            copy: None,
            label,
        }
    }

    /// How many inboxes this outbox feeds.
    pub fn edge_count(&self) -> usize {
        self.edges.len()
    }

    /// Whether anything is connected.
    pub fn is_connected(&self) -> bool {
        !self.edges.is_empty()
    }

    pub(crate) fn allow_copies(&mut self, copy: CopyEvent<T>) {
        self.copy = Some(copy);
    }

    pub(crate) fn push_direct(&mut self, sender: mpsc::Sender<Event<T>>, inbox: Arc<str>) {
        self.edges.push(Edge::Direct(Target { sender, inbox }));
    }

    pub(crate) fn push_converting<B: Send + 'static>(
        &mut self,
        sender: mpsc::Sender<Event<B>>,
        inbox: Arc<str>,
        receiver_errors: Arc<ErrorOutbox>,
    ) where
        T: Convert<B> + Send + 'static,
    {
        self.edges.push(Edge::Converting(Box::new(Converted {
            target: Target { sender, inbox },
            receiver_errors,
            pool: CpuPool::per_cpu(),
        })));
    }

    /// Sends an event to every connected inbox, waiting while an inbox is full.
    ///
    /// An inbox whose actor is gone is skipped (and logged); the others still get their copy.
    pub fn send(&self, event: Event<T>) -> SendEvent<'_, T> {
        SendEvent {
            outbox: self,
            event: Some(event),
            next: 0,
            waiting: None,
        }
    }
}

/// Tells the handler loop of the running actor that a send is waiting for room downstream.
///
/// Bounded concurrency lets an actor work on more events while a handler waits for I/O. A
/// handler that waits for room in a full inbox is different: more handlers would only queue
/// behind the same full inbox, so the loop stops taking events until it finishes (and
/// backpressure reaches the sender at once). The loop polls its handlers on this thread, so a
/// thread-local flag set during that poll is all it takes.
pub(crate) mod backpressure {
    use std::cell::Cell;

    thread_local! {
        static WAITING: Cell<bool> = const { Cell::new(false) };
    }

    pub(crate) fn note() {
        WAITING.with(|w| w.set(true));
    }

    /// Whether a send waited since the last call.
    pub(crate) fn take() -> bool {
        WAITING.with(|w| w.replace(false))
    }
}

/// The future of [`Outbox::send`].
///
/// It stays small on purpose: an event is handed to each inbox with `try_send`, which needs no
/// state, and only an inbox that is full (or a conversion that failed) gets a boxed future to
/// wait on. Futures are moved each time they are nested, so a small one keeps every handler cheap.
#[must_use = "futures do nothing unless awaited"]
pub struct SendEvent<'a, T> {
    outbox: &'a Outbox<T>,
    /// The original event, handed to the last edge.
    event: Option<Event<T>>,
    /// The next edge to serve.
    next: usize,
    /// The edge currently waiting for room (or converting).
    waiting: Option<SendFuture<'a>>,
}

impl<T> Unpin for SendEvent<'_, T> {}

impl<T: Send + 'static> Future for SendEvent<'_, T> {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<()> {
        let this = &mut *self;
        loop {
            if let Some(waiting) = &mut this.waiting {
                if waiting.as_mut().poll(cx).is_pending() {
                    backpressure::note();
                    return Poll::Pending;
                }
                this.waiting = None;
            }
            let edges = this.outbox.edges.as_slice();
            let Some(edge) = edges.get(this.next) else {
                if let Some(event) = this.event.take() {
                    tracing::trace!(outbox = %this.outbox.label, event = %event.id(), "outbox not connected; event dropped");
                }
                return Poll::Ready(());
            };
            this.next += 1;
            let event = if this.next == edges.len() {
                this.event.take()
            } else {
                // Validated at start: an outbox with several edges has a copy function.
                match (this.outbox.copy, &this.event) {
                    (Some(copy), Some(event)) => Some(copy(event)),
                    _ => None,
                }
            };
            let Some(event) = event else {
                return Poll::Ready(());
            };
            let label = &*this.outbox.label;
            match edge {
                // [`Target::hand_over`] written out: the same-type edge is the hot path, and
                // returning the rare future through it costs about 150 instructions an event.
                Edge::Direct(target) => match target.sender.try_send(event) {
                    Ok(()) => {}
                    Err(mpsc::error::TrySendError::Full(event)) => {
                        this.waiting = Some(Box::pin(target.send(event, label)));
                    }
                    Err(mpsc::error::TrySendError::Closed(event)) => target.lost(&event, label),
                },
                Edge::Converting(edge) => this.waiting = edge.send(event, label),
            }
        }
    }
}

impl<T> fmt::Debug for Outbox<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Outbox")
            .field("name", &self.label)
            .field("payload", &type_name::<T>())
            .field("edges", &self.edges.len())
            .finish()
    }
}

impl<T: Send> Target<T> {
    /// Hands `event` to the inbox if it has room now; otherwise the future that waits for room
    /// (an inbox that is gone drops the event, logged). For converting edges; the direct edge
    /// writes it out in [`SendEvent::poll`].
    fn hand_over<'a>(&'a self, event: Event<T>, outbox: &'a str) -> Option<SendFuture<'a>> {
        match self.sender.try_send(event) {
            Ok(()) => None,
            Err(mpsc::error::TrySendError::Full(event)) => Some(Box::pin(self.send(event, outbox))),
            Err(mpsc::error::TrySendError::Closed(event)) => {
                self.lost(&event, outbox);
                None
            }
        }
    }
}

impl<T> Target<T> {
    /// Waits for room in the inbox (the slow path of [`SendEvent::poll`]).
    async fn send(&self, event: Event<T>, outbox: &str) {
        if let Err(mpsc::error::SendError(event)) = self.sender.send(event).await {
            self.lost(&event, outbox);
        }
    }

    fn lost(&self, event: &Event<T>, outbox: &str) {
        tracing::warn!(
            outbox,
            inbox = %self.inbox,
            event = %event.id(),
            meta_id = %event.meta_id(),
            "the receiving actor has stopped; event dropped"
        );
    }
}

type SendFuture<'a> = Pin<Box<dyn Future<Output = ()> + Send + 'a>>;

/// An edge between different payload types, erased so that one outbox can feed inboxes of
/// several types.
trait ConvertingEdge<A>: Send + Sync {
    /// Converts the event and hands it over when the inbox has room; otherwise the future that
    /// finishes the job (waiting for room, or sending a failed conversion to the receiver's
    /// error outbox). Like a direct edge, the common case allocates nothing.
    fn send<'a>(&'a self, event: Event<A>, outbox: &'a str) -> Option<SendFuture<'a>>;
}

struct Converted<B> {
    target: Target<B>,
    receiver_errors: Arc<ErrorOutbox>,
    /// Where conversions of large documents run, off the async workers.
    pool: CpuPool,
}

impl<B: Send + 'static> Converted<B> {
    /// Converts on the CPU pool (within the event's deadline, if it has one), then hands over.
    async fn convert_on_pool<A>(&self, event: Event<A>, size: usize, outbox: &str)
    where
        A: Convert<B> + Send + 'static,
    {
        let deadline = event.deadline();
        let (envelope, data) = event.split();
        let converted = self
            .pool
            .run_until(size, deadline, move || Convert::<B>::convert(data))
            .await;
        match converted {
            Ok(data) => {
                if let Some(waiting) = self.target.hand_over(envelope.with_data(data), outbox) {
                    waiting.await;
                }
            }
            Err(error) => self.fail::<A>(envelope, &error).await,
        }
    }

    /// Sends an event whose conversion failed to the receiver's error outbox.
    async fn fail<A>(&self, envelope: Event<()>, error: &EventError) {
        let error = EventError::new(
            error.kind(),
            format!(
                "cannot convert `{}` to `{}` for inbox `{}`: {}",
                short_type_name::<A>(),
                short_type_name::<B>(),
                self.target.inbox,
                error.message()
            ),
        );
        let mut failed = envelope.with_data(AnyPayload::none());
        failed.set_error(error);
        self.receiver_errors.send(failed).await;
    }
}

impl<A, B> ConvertingEdge<A> for Converted<B>
where
    A: Convert<B> + Send + 'static,
    B: Send + 'static,
{
    fn send<'a>(&'a self, event: Event<A>, outbox: &'a str) -> Option<SendFuture<'a>> {
        // Parsing a large document would hold an async worker: that goes to the CPU pool.
        let size = Convert::<B>::conversion_size(&event.data);
        if size > INLINE_UP_TO {
            return Some(Box::pin(self.convert_on_pool(event, size, outbox)));
        }
        match event.try_map(Convert::<B>::convert) {
            Ok(converted) => self.target.hand_over(converted, outbox),
            Err((envelope, error)) => Some(Box::pin(async move {
                self.fail::<A>(envelope, &error).await;
            })),
        }
    }
}

/// The error outbox of an actor: connected error inboxes, or the topology's default error actor
/// when none is connected.
pub struct ErrorOutbox {
    actor: Arc<str>,
    outbox: Outbox<AnyPayload>,
}

impl ErrorOutbox {
    pub(crate) fn new(actor: Arc<str>, outbox: Outbox<AnyPayload>) -> Self {
        ErrorOutbox { actor, outbox }
    }

    /// Sends a failed event on, attributing its error to this actor if nobody else claimed it.
    pub async fn send(&self, mut event: ErrorEvent) {
        if let Some(error) = event.error() {
            if error.actor().is_none() {
                let mut error = error.clone();
                error.set_actor_if_unset(&self.actor);
                event.set_error(error);
            }
        }
        self.outbox.send(event).await;
    }
}

/// Whether a port takes ordinary events or the error events of other actors.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PortKind {
    /// An ordinary inbox or outbox.
    Data,
    /// The error inbox (target of `!->` / `connect_error_queue`).
    Errors,
}

/// What the framework knows about one port of an actor: its name, its payload type, and how to
/// make its channel or its empty outbox.
#[derive(Clone)]
pub struct PortSpec {
    name: &'static str,
    payload: &'static str,
    payload_id: TypeId,
    kind: PortKind,
    make: PortMaker,
}

#[derive(Clone, Copy)]
enum PortMaker {
    Inbox(fn(usize) -> (ErasedSender, ErasedInbox)),
    Outbox(fn(Arc<str>) -> ErasedOutbox),
}

pub(crate) type ErasedSender = Box<dyn Any + Send + Sync>;
pub(crate) type ErasedInbox = Box<dyn Any + Send>;
pub(crate) type ErasedOutbox = Box<dyn Any + Send>;

fn make_channel<T: Payload>(capacity: usize) -> (ErasedSender, ErasedInbox) {
    let (sender, receiver) = mpsc::channel::<Event<T>>(capacity);
    (Box::new(sender), Box::new(Inbox::new(receiver)))
}

fn make_outbox<T: Payload>(label: Arc<str>) -> ErasedOutbox {
    Box::new(Outbox::<T>::new(label))
}

impl PortSpec {
    /// An inbox named `name` taking `Event<T>`.
    pub fn inbox<T: Payload>(name: &'static str) -> Self {
        PortSpec {
            name,
            payload: type_name::<T>(),
            payload_id: TypeId::of::<T>(),
            kind: PortKind::Data,
            make: PortMaker::Inbox(make_channel::<T>),
        }
    }

    /// An outbox named `name` sending `Event<T>`.
    pub fn outbox<T: Payload>(name: &'static str) -> Self {
        PortSpec {
            name,
            payload: type_name::<T>(),
            payload_id: TypeId::of::<T>(),
            kind: PortKind::Data,
            make: PortMaker::Outbox(make_outbox::<T>),
        }
    }

    /// The port's name.
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// The payload type's name.
    pub fn payload(&self) -> &'static str {
        self.payload
    }

    pub(crate) fn payload_id(&self) -> TypeId {
        self.payload_id
    }

    /// Ordinary port or error inbox.
    pub fn kind(&self) -> PortKind {
        self.kind
    }

    pub(crate) fn make_channel(&self, capacity: usize) -> Option<(ErasedSender, ErasedInbox)> {
        match self.make {
            PortMaker::Inbox(make) => Some(make(capacity)),
            PortMaker::Outbox(_) => None,
        }
    }

    pub(crate) fn make_outbox(&self, label: Arc<str>) -> Option<ErasedOutbox> {
        match self.make {
            PortMaker::Outbox(make) => Some(make(label)),
            PortMaker::Inbox(_) => None,
        }
    }
}

impl fmt::Debug for PortSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.name, self.payload)
    }
}

/// The built ports of one actor, handed out in the order of its port specs.
pub struct PortBundle {
    actor: Arc<str>,
    ports: std::vec::IntoIter<(&'static str, Box<dyn Any + Send>)>,
}

impl PortBundle {
    pub(crate) fn new(actor: Arc<str>, ports: Vec<(&'static str, Box<dyn Any + Send>)>) -> Self {
        PortBundle {
            actor,
            ports: ports.into_iter(),
        }
    }

    /// The next inbox, which must take `Event<T>`.
    pub fn inbox<T: Payload>(&mut self) -> Result<Inbox<T>, PortMismatch> {
        self.next::<Inbox<T>>()
    }

    /// The next outbox, which must send `Event<T>`.
    pub fn outbox<T: Payload>(&mut self) -> Result<Outbox<T>, PortMismatch> {
        self.next::<Outbox<T>>()
    }

    fn next<P: 'static>(&mut self) -> Result<P, PortMismatch> {
        let (name, port) = self.ports.next().ok_or_else(|| PortMismatch {
            actor: self.actor.to_string(),
            port: "<missing>".into(),
            expected: type_name::<P>(),
        })?;
        port.downcast::<P>().map(|p| *p).map_err(|_| PortMismatch {
            actor: self.actor.to_string(),
            port: name.into(),
            expected: type_name::<P>(),
        })
    }
}

/// A port set's `assemble` was given ports that do not match its `specs` (a bug in a hand-written
/// port set).
#[derive(Debug, Clone, thiserror::Error)]
#[error("actor `{actor}`: port `{port}` is not a `{expected}`; its port set's specs and assemble disagree")]
pub struct PortMismatch {
    actor: String,
    port: String,
    expected: &'static str,
}

/// The inboxes of an actor, as its `run` receives them.
///
/// Implemented for `()` (no inbox), for [`Inbox<T>`] (one inbox named `inbox`) and by
/// `#[actor]` for structs of named inboxes.
pub trait InboxSet: Sized + Send + 'static {
    /// Typed references to the ports, for wiring.
    type Refs;
    /// One spec per inbox, in the order `assemble` takes them.
    fn specs() -> Vec<PortSpec>;
    /// References to the inboxes of the actor `actor`.
    fn refs(actor: &ActorRef) -> Self::Refs;
    /// Builds the set from the channels the framework made from `specs()`.
    fn assemble(ports: &mut PortBundle) -> Result<Self, PortMismatch>;
}

/// The outboxes of an actor, as its `run` receives them.
///
/// Implemented for `()` (no outbox), for [`Outbox<T>`] (one outbox named `outbox`) and by
/// `#[actor]` for structs of named outboxes.
pub trait OutboxSet: Sized + Send + 'static {
    /// Typed references to the ports, for wiring.
    type Refs;
    /// One spec per outbox, in the order `assemble` takes them.
    fn specs() -> Vec<PortSpec>;
    /// References to the outboxes of the actor `actor`.
    fn refs(actor: &ActorRef) -> Self::Refs;
    /// Builds the set from the outboxes the framework wired from `specs()`.
    fn assemble(ports: &mut PortBundle) -> Result<Self, PortMismatch>;
}

/// Inbox sets that are exactly one inbox, so an edge may leave the port name out.
///
/// Implemented for [`Inbox<T>`] and, by `#[actor]`, for a struct of one named inbox. An actor
/// whose inboxes implement it can be the target of an edge by its name alone (`a -> b`).
#[diagnostic::on_unimplemented(
    message = "this edge needs the one inbox of this actor, but its inboxes are `{Self}`",
    label = "several inboxes (name one: `actor.inbox_name`) or none (`()`: it takes no events)",
    note = "a port name may be left out only when the actor has exactly one inbox"
)]
pub trait SingleInbox: InboxSet {
    /// The payload the inbox takes.
    type Payload: Payload;
}

/// Outbox sets that are exactly one outbox, so an edge may leave the port name out.
///
/// Implemented for [`Outbox<T>`] and, by `#[actor]`, for a struct of one named outbox. An actor
/// whose outboxes implement it can start an edge by its name alone (`a -> b`).
#[diagnostic::on_unimplemented(
    message = "this edge needs the one outbox of this actor, but its outboxes are `{Self}`",
    label = "several outboxes (name one: `actor.outbox_name`) or none (`()`: it sends no events)",
    note = "a port name may be left out only when the actor has exactly one outbox"
)]
pub trait SingleOutbox: OutboxSet {
    /// The payload the outbox sends.
    type Payload: Payload;
}

impl<T: Payload> SingleInbox for Inbox<T> {
    type Payload = T;
}

impl<T: Payload> SingleOutbox for Outbox<T> {
    type Payload = T;
}

impl InboxSet for () {
    type Refs = ();
    fn specs() -> Vec<PortSpec> {
        Vec::new()
    }
    fn refs(_: &ActorRef) {}
    fn assemble(_: &mut PortBundle) -> Result<Self, PortMismatch> {
        Ok(())
    }
}

impl OutboxSet for () {
    type Refs = ();
    fn specs() -> Vec<PortSpec> {
        Vec::new()
    }
    fn refs(_: &ActorRef) {}
    fn assemble(_: &mut PortBundle) -> Result<Self, PortMismatch> {
        Ok(())
    }
}

impl<T: Payload> InboxSet for Inbox<T> {
    type Refs = InPort<T>;
    fn specs() -> Vec<PortSpec> {
        vec![PortSpec::inbox::<T>("inbox")]
    }
    fn refs(actor: &ActorRef) -> InPort<T> {
        InPort::new(actor.clone(), Some("inbox"))
    }
    fn assemble(ports: &mut PortBundle) -> Result<Self, PortMismatch> {
        ports.inbox()
    }
}

impl<T: Payload> OutboxSet for Outbox<T> {
    type Refs = OutPort<T>;
    fn specs() -> Vec<PortSpec> {
        vec![PortSpec::outbox::<T>("outbox")]
    }
    fn refs(actor: &ActorRef) -> OutPort<T> {
        OutPort::new(actor.clone(), Some("outbox"))
    }
    fn assemble(ports: &mut PortBundle) -> Result<Self, PortMismatch> {
        ports.outbox()
    }
}

/// Names an actor for wiring: by the handle `register_actor` returned, or by name.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ActorRef {
    pub(crate) name: Arc<str>,
}

impl ActorRef {
    /// The actor registered under `name` (checked at `start()`).
    pub fn named(name: impl Into<Arc<str>>) -> Self {
        ActorRef { name: name.into() }
    }

    /// The actor's name.
    pub fn name(&self) -> &str {
        &self.name
    }
}

/// A typed reference to an inbox taking `Event<T>`.
pub struct InPort<T> {
    pub(crate) actor: ActorRef,
    /// `None`: the actor's only data inbox, whatever its name.
    pub(crate) port: Option<&'static str>,
    _payload: PhantomData<fn(T)>,
}

/// A typed reference to an outbox sending `Event<T>`.
pub struct OutPort<T> {
    pub(crate) actor: ActorRef,
    /// `None`: the actor's only data outbox, whatever its name.
    pub(crate) port: Option<&'static str>,
    _payload: PhantomData<fn() -> T>,
}

impl<T> InPort<T> {
    /// A reference to a port of an actor; `port` `None` means its only data inbox.
    pub fn new(actor: ActorRef, port: Option<&'static str>) -> Self {
        InPort {
            actor,
            port,
            _payload: PhantomData,
        }
    }

    /// The only data inbox of the actor registered as `actor`, taking `Event<T>` (checked at
    /// `start()`).
    pub fn named(actor: impl Into<Arc<str>>) -> Self {
        Self::new(ActorRef::named(actor), None)
    }

    /// The inbox `port` of the same actor.
    pub fn port(self, port: &'static str) -> Self {
        Self::new(self.actor, Some(port))
    }
}

impl<T> OutPort<T> {
    /// A reference to a port of an actor; `port` `None` means its only data outbox.
    pub fn new(actor: ActorRef, port: Option<&'static str>) -> Self {
        OutPort {
            actor,
            port,
            _payload: PhantomData,
        }
    }

    /// The only data outbox of the actor registered as `actor`, sending `Event<T>` (checked at
    /// `start()`).
    pub fn named(actor: impl Into<Arc<str>>) -> Self {
        Self::new(ActorRef::named(actor), None)
    }

    /// The outbox `port` of the same actor.
    pub fn port(self, port: &'static str) -> Self {
        Self::new(self.actor, Some(port))
    }
}

impl<T> Clone for InPort<T> {
    fn clone(&self) -> Self {
        Self::new(self.actor.clone(), self.port)
    }
}

impl<T> Clone for OutPort<T> {
    fn clone(&self) -> Self {
        Self::new(self.actor.clone(), self.port)
    }
}

impl<T> fmt::Debug for InPort<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.actor.name, self.port.unwrap_or("<inbox>"))
    }
}

impl<T> fmt::Debug for OutPort<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.actor.name, self.port.unwrap_or("<outbox>"))
    }
}

/// Short type names for messages: `alloc::string::String` reads as `String`.
pub(crate) fn short_type_name<T: ?Sized>() -> String {
    shorten_type_name(type_name::<T>())
}

pub(crate) fn shorten_type_name(full: &str) -> String {
    let mut out = String::with_capacity(full.len());
    let mut segment_start = 0;
    for (i, c) in full.char_indices() {
        if c == ':' {
            segment_start = i + 1;
        } else if !(c.is_alphanumeric() || c == '_') {
            out.push_str(&full[segment_start..i]);
            out.push(c);
            segment_start = i + 1;
        }
    }
    out.push_str(&full[segment_start..]);
    out
}

/// An outbox feeding one inbox of `capacity`, for unit tests of actors run outside a topology.
#[cfg(test)]
pub(crate) fn test_channel<T: Send + 'static>(capacity: usize) -> (Outbox<T>, Inbox<T>) {
    let (sender, receiver) = mpsc::channel(capacity);
    let mut outbox = Outbox::new("test".into());
    outbox.push_direct(sender, "test".into());
    (outbox, Inbox::new(receiver))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_type_names_drop_paths() {
        assert_eq!(shorten_type_name("alloc::string::String"), "String");
        assert_eq!(
            shorten_type_name("core::option::Option<alloc::vec::Vec<u8>>"),
            "Option<Vec<u8>>"
        );
        assert_eq!(shorten_type_name("compysition::payload::Json"), "Json");
    }

    #[tokio::test]
    async fn fan_out_gives_every_inbox_its_own_copy() {
        let (tx_a, rx_a) = mpsc::channel(4);
        let (tx_b, rx_b) = mpsc::channel(4);
        let (mut a, mut b) = (Inbox::new(rx_a), Inbox::new(rx_b));
        let mut outbox = Outbox::<String>::new("test".into());
        outbox.push_direct(tx_a, "a".into());
        outbox.push_direct(tx_b, "b".into());
        outbox.allow_copies(Clone::clone);
        let sent = Event::new("hello".to_string());
        let id = sent.id();
        outbox.send(sent).await;
        let (mut got_a, got_b) = (a.recv().await.expect("a"), b.recv().await.expect("b"));
        assert_eq!((got_a.id(), got_b.id()), (id, id));
        got_a.data.push('!');
        assert_eq!(got_b.data, "hello");
    }
}
