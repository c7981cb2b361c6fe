//! How an edge names its ends: actor handles, typed port references, and the destinations of
//! `connect_queue` (one inbox, several, or inboxes of different payload types).

use std::any::TypeId;
use std::marker::PhantomData;
use std::sync::Arc;

use tokio::sync::mpsc;

use crate::actor::{Actor, TakesErrors};
use crate::event::Event;
use crate::payload::{Convert, Payload};
use crate::port::{
    ActorRef, ErasedOutbox, ErasedSender, ErrorOutbox, InPort, InboxSet, OutPort, Outbox,
    OutboxSet, SingleInbox, SingleOutbox,
};

/// A registered actor, for wiring.
pub struct ActorHandle<A> {
    pub(super) actor: ActorRef,
    pub(super) _actor: PhantomData<fn() -> A>,
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
        edges.push(EdgeRecord::new::<A, B>(from, self, capacity));
    }
}

impl<A, B> Targets<A> for &InPort<B>
where
    A: Convert<B> + Payload,
    B: Payload,
{
    fn record(self, from: &OutPort<A>, capacity: Option<usize>, edges: &mut Vec<EdgeRecord>) {
        edges.push(EdgeRecord::new::<A, B>(from, self.clone(), capacity));
    }
}

impl<A, X> Targets<A> for &ActorHandle<X>
where
    X: Actor,
    X::Inboxes: SingleInbox,
    A: Convert<<X::Inboxes as SingleInbox>::Payload> + Payload,
{
    fn record(self, from: &OutPort<A>, capacity: Option<usize>, edges: &mut Vec<EdgeRecord>) {
        edges.push(EdgeRecord::new(from, self.inbox(), capacity));
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
                $(edges.push(EdgeRecord::new::<A, $p::Payload>(from, $p.into_in_port(), capacity));)+
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

pub(super) type Wire =
    Box<dyn FnOnce(&mut ErasedOutbox, &ErasedSender, Arc<str>, Arc<ErrorOutbox>) -> bool + Send>;

/// One `connect_queue` edge, typed at the call and erased for storage.
#[doc(hidden)]
pub struct EdgeRecord {
    pub(super) from: ActorRef,
    pub(super) from_port: Option<&'static str>,
    pub(super) to: ActorRef,
    pub(super) to_port: Option<&'static str>,
    pub(super) sent: (TypeId, &'static str),
    pub(super) taken: (TypeId, &'static str),
    pub(super) capacity: Option<usize>,
    pub(super) copyable: bool,
    pub(super) wire: Wire,
}

impl EdgeRecord {
    pub(super) fn new<A, B>(from: &OutPort<A>, to: InPort<B>, capacity: Option<usize>) -> Self
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
            // `connect_queue_exclusive` marks its edges after recording them.
            copyable: true,
            wire,
        }
    }
}
