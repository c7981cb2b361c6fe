//! Facts about actor types that `topology!` and `#[actor]` check at compile time, and the
//! checks themselves. The expansions reach the checks through `compysition::__private`; of this
//! file only [`AnswersRequests`] is for users (as `compysition::AnswersRequests`).
//!
//! The macro sees a topology's names and edges but not the types of its actors, so checks that
//! depend on an actor's type are emitted as code that the compiler checks: calls to the
//! functions of this module on the handles `register_actor` returned, spanned on the user's
//! tokens. Each failing check is a trait bound with a message of its own.
//!
//! Actors state the facts by implementing marker traits; an actor that implements none of them
//! (every hand-written actor, unless it opts in) is checked on its ports alone:
//!
//! - [`AnswersRequests`]: every event the actor emits is a request it answers when the event
//!   comes back to it (an HTTP server, a Majordomo worker). `topology!` then requires a path of
//!   edges from the actor back to itself, and an outbox that feeds something.
//! - [`TakesErrors`](crate::TakesErrors): the actor has an error inbox, so `!->` may target it.
//! - An actor whose inboxes are not `()` needs an edge into it (data or error edge).
//!
//! The expansion calls the checks on a [`Director`](crate::Director)'s handles, as here:
//!
//! ```
//! use compysition::prelude::*;
//! use compysition::actors::{EventGenerator, Null};
//! use compysition::__private::{self as checks, AnswererProbe as _, OtherActorProbe as _};
//!
//! let mut director = Director::new();
//! let generator = director.register_actor("generator", EventGenerator::once("ping".to_string()));
//! let sink = director.register_actor("sink", Null::<String>::new());
//! director.connect_queue(&generator, &sink);
//! checks::check_fed(&generator); // a source: nothing needs to feed it
//! checks::check_answer_path((&checks::Probe::of(&generator)).answering()); // answers nothing
//! ```

use std::marker::PhantomData;

use crate::actor::{Actor, Configured};
use crate::director::ActorHandle;
use crate::port::InboxSet;

/// Actors that answer the requests they emit: each event sent on their outbox is expected back
/// on their inbox (or error inbox), where it becomes the response.
///
/// `topology!` rejects a topology in which such an actor's outbox feeds nothing, or in which no
/// path of edges (data or error edges) leads from it back to itself: its requests could never
/// be answered.
///
/// ```
/// use compysition::prelude::*;
/// use compysition::AnswersRequests;
///
/// /// Emits requests and matches the responses that come back.
/// struct Server;
///
/// impl Actor for Server {
///     type Inboxes = Inbox<String>;
///     type Outboxes = Outbox<String>;
///     async fn run(self, _ctx: Context, mut responses: Inbox<String>, _requests: Outbox<String>) {
///         while responses.recv().await.is_some() {}
///     }
/// }
///
/// impl AnswersRequests for Server {}
/// ```
pub trait AnswersRequests: Actor {}

impl<A: AnswersRequests> AnswersRequests for Configured<A> {}

/// Inbox sets that need no feeding: `()`, the inboxes of a source.
#[diagnostic::on_unimplemented(
    message = "no edge feeds this actor's inboxes `{Self}`",
    label = "declared with inboxes, but nothing is connected to them",
    note = "connect an edge to it (`source -> name;` or `source !-> name;`), or remove the declaration"
)]
pub trait NoInboxes: InboxSet {}

impl NoInboxes for () {}

/// Checks that an actor which nothing feeds has no inboxes (`topology!` calls it for every
/// actor without an edge into it).
pub fn check_fed<A>(_actor: &ActorHandle<A>)
where
    A: Actor,
    A::Inboxes: NoInboxes,
{
}

/// What the probe found about one actor: `Answering<A>` for an actor that [`AnswersRequests`],
/// `Answering<AnswersNothing>` for any other.
pub struct Answering<A>(PhantomData<fn() -> A>);

/// The stand-in for "not an actor that answers requests".
pub struct AnswersNothing;

/// Finds out, for an actor type the caller cannot name, whether it [`AnswersRequests`].
///
/// `(&Probe::of(&handle)).answering()` calls [`AnswererProbe::answering`] when the actor
/// answers requests (method lookup tries `Probe<A>` before `&Probe<A>`), and
/// [`OtherActorProbe::answering`] otherwise. Both traits must be in scope.
pub struct Probe<A>(PhantomData<fn() -> A>);

impl<A: Actor> Probe<A> {
    /// The probe for the actor behind `handle`.
    pub fn of(_handle: &ActorHandle<A>) -> Self {
        Probe(PhantomData)
    }
}

/// The probe's answer for actors that answer requests.
pub trait AnswererProbe {
    /// The actor.
    type Actor;
    /// `Answering<the actor>`.
    fn answering(&self) -> Answering<Self::Actor>;
}

impl<A: AnswersRequests> AnswererProbe for Probe<A> {
    type Actor = A;
    fn answering(&self) -> Answering<A> {
        Answering(PhantomData)
    }
}

/// The probe's answer for every other actor.
pub trait OtherActorProbe {
    /// `Answering<AnswersNothing>`.
    fn answering(&self) -> Answering<AnswersNothing>;
}

impl<A> OtherActorProbe for &Probe<A> {
    fn answering(&self) -> Answering<AnswersNothing> {
        Answering(PhantomData)
    }
}

/// Holds for actors that may do without a path back to themselves: all but those that
/// [`AnswersRequests`].
#[diagnostic::on_unimplemented(
    message = "actor `{Self}` answers requests, but no path of edges leads from it back to it",
    label = "the requests this actor emits can never come back to be answered",
    note = "close the request path, as in `server -> handler -> server;` (errors count too: `handler !-> server;`)"
)]
pub trait MayLackAnswerPath {}

impl MayLackAnswerPath for AnswersNothing {}

/// Checks that the probed actor does not need a path back to itself (`topology!` calls it for
/// every actor without one).
pub fn check_answer_path<A: MayLackAnswerPath>(_probed: Answering<A>) {}

/// Holds for actors whose outboxes may feed nothing: all but those that [`AnswersRequests`].
#[diagnostic::on_unimplemented(
    message = "actor `{Self}` answers requests, but its outbox feeds nothing",
    label = "the requests this actor receives would never be answered",
    note = "connect its outbox to the actors that handle its requests, and lead their answers back to it"
)]
pub trait MayFeedNothing {}

impl MayFeedNothing for AnswersNothing {}

/// Checks that the probed actor may leave its outbox unconnected (`topology!` calls it for every
/// actor without an edge out of it).
pub fn check_output<A: MayFeedNothing>(_probed: Answering<A>) {}

/// Checks, while compiling, that every inbox `declared` on an `#[actor]` struct is `handled` by
/// an `#[inbox]` method of its impl (`#[actor]` on the impl calls it in a `const`). A missing
/// handler stops the build with a message naming the inbox.
pub const fn check_handlers(declared: &[&str], handled: &[&str]) {
    let mut i = 0;
    while i < declared.len() {
        let mut j = 0;
        let mut found = false;
        while j < handled.len() {
            found |= same_name(declared[i], handled[j]);
            j += 1;
        }
        if !found {
            missing_handler(declared[i]);
        }
        i += 1;
    }
}

const fn same_name(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    let mut i = 0;
    while i < a.len() {
        if a[i] != b[i] {
            return false;
        }
        i += 1;
    }
    true
}

/// Panics with "inbox `<name>` has no `#[inbox]` handler …", composed at compile time (a
/// `const` panic takes one `&str`, not a format).
const fn missing_handler(name: &str) -> ! {
    const BEFORE: &[u8] = b"inbox `";
    const AFTER: &[u8] = b"` is declared on the struct but has no `#[inbox]` method in its impl";
    let mut message = [0u8; 512];
    let mut length = 0;
    let parts = [BEFORE, name.as_bytes(), AFTER];
    let mut p = 0;
    while p < parts.len() {
        let mut i = 0;
        while i < parts[p].len() && length < message.len() {
            message[length] = parts[p][i];
            length += 1;
            i += 1;
        }
        p += 1;
    }
    let (message, _) = message.split_at(length);
    match std::str::from_utf8(message) {
        Ok(message) => panic!("{}", message),
        Err(_) => panic!("an inbox declared on the struct has no `#[inbox]` method in its impl"),
    }
}
