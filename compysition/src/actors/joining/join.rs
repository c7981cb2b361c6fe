//! `Join`: waits for one event on each of its inboxes with the same `meta_id`, then sends one
//! event merging them (the Python `EventJoin`).
//!
//! The inboxes are a port set the user declares, so that edges name them and the compiler
//! checks them like any other port:
//!
//! ```text
//! #[actor(inboxes(price: Xml, stock: Xml, shipping: Xml))]
//! pub struct Quote;
//!
//! join = Join::<QuoteInboxes, Xml>::xml("quote")?;
//! pricing -> join.price;  stock -> join.stock;  shipping -> join.shipping;
//! ```
//!
//! Open groups sit in a table keyed by `meta_id`, bounded, each with a deadline; deadlines are
//! kept in order in a second map, so expiring groups costs nothing for the groups that complete.
//! Keys of groups that timed out are remembered for one more timeout, so that their late parts
//! are recognised (dropped and counted) instead of opening groups that can only time out too.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::future::Future;
use std::marker::PhantomData;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::Poll;
use std::time::Duration;

use tokio::time::Instant;

use crate::actor::{Actor, Context};
use crate::error::{Error, EventError};
use crate::event::Event;
use crate::json::Json;
use crate::payload::Payload;
use crate::port::{Inbox, InboxSet, Outbox, PortBundle, PortMismatch, PortSpec};

/// How long a join waits for the rest of a group after its first part (Python's default).
pub const DEFAULT_JOIN_TIMEOUT: Duration = Duration::from_secs(30);

/// How many groups a join keeps open at once ([`Join::max_open_groups`]); a part that would
/// open one more is refused as `Unavailable` (a `503` over HTTP).
pub const DEFAULT_MAX_OPEN_GROUPS: usize = 10_000;

/// How many timed-out groups a join remembers, each for one timeout, to recognise their late
/// parts ([`Join::max_remembered`]); past it the oldest is forgotten first.
pub const DEFAULT_MAX_REMEMBERED: usize = 10_000;

/// Payloads a [`Join`] can merge: [`Xml`](crate::Xml) (the parts' root elements under a root
/// element) and [`Json`] (an object keyed by inbox name).
pub trait Mergeable: Payload + Sized {
    /// One payload from the parts, in inbox declaration order, named by their inboxes.
    fn merge(root: &str, parts: Vec<(&'static str, Self)>) -> Result<Self, EventError>;

    /// One payload from a sequence of parts, in order (what an aggregator sends): XML roots
    /// under `root`, a JSON array.
    fn gather(root: &str, parts: Vec<Self>) -> Result<Self, EventError>;
}

impl Mergeable for Json {
    fn merge(_root: &str, parts: Vec<(&'static str, Self)>) -> Result<Self, EventError> {
        let object = parts
            .into_iter()
            .map(|(name, json)| (name.to_owned(), json.into_value()))
            .collect();
        Ok(Json::new(serde_json::Value::Object(object)))
    }

    fn gather(_root: &str, parts: Vec<Self>) -> Result<Self, EventError> {
        let items = parts.into_iter().map(Json::into_value).collect();
        Ok(Json::new(serde_json::Value::Array(items)))
    }
}

#[cfg(feature = "xml")]
impl Mergeable for crate::xml::Xml {
    fn merge(root: &str, parts: Vec<(&'static str, Self)>) -> Result<Self, EventError> {
        Self::gather(root, parts.into_iter().map(|(_, xml)| xml).collect())
    }

    fn gather(root: &str, parts: Vec<Self>) -> Result<Self, EventError> {
        let length: usize = parts.iter().map(|xml| xml.as_bytes().len()).sum();
        let mut document = String::with_capacity(length + 2 * root.len() + 5);
        document.push('<');
        document.push_str(root);
        document.push('>');
        for xml in &parts {
            document.push_str(xml.root_element());
        }
        document.push_str("</");
        document.push_str(root);
        document.push('>');
        // Checked again: one level deeper may pass the nesting limit.
        crate::xml::Xml::from_bytes(document.into())
    }
}

/// Joins one event per inbox of the port set `S` with the same `meta_id` into one event of
/// payload `T` (the Python `EventJoin`).
///
/// - **Merge.** [`Join::xml`]: the parts' root elements, in inbox declaration order, under a
///   root element of the given name; [`Join::json`]: an object with one key per inbox. The
///   merged event keeps the envelope of the first inbox's part: its id, `meta_id`, attributes,
///   extensions and reply slot (so a request that fanned out is answered by the join's output);
///   the other parts' envelopes are dropped.
/// - **Timeout.** A group not complete within [`timeout`](Self::timeout) of its first part goes
///   to the error outbox as a `Timeout` (`504` over HTTP) naming the parts that arrived and the
///   ones missing, with the envelope of the first part that arrived. Its late parts are dropped
///   and counted ([`JoinStats::late_parts`]).
/// - **Bounds.** At most [`max_open_groups`](Self::max_open_groups) groups are open; a part that
///   would open another goes to the error outbox as `Unavailable` (`503`). A second part on the
///   same inbox of an open group is dropped and counted. When the inboxes close (a stop), the
///   groups still open go to the error outbox as `Unavailable`: nothing stays behind.
///
/// ```
/// use compysition::prelude::*;
/// use compysition::actors::Join;
///
/// #[actor(inboxes(price: Xml, stock: Xml))]
/// pub struct Quote;
///
/// let join = Join::<QuoteInboxes, Xml>::xml("quote")?;
/// let by_name = Join::<QuoteJsonInboxes, Json>::json()?;
///
/// #[actor(inboxes(price: Json, stock: Json))]
/// pub struct QuoteJson;
/// # let _ = (join, by_name);
/// # Ok::<(), compysition::Error>(())
/// ```
pub struct Join<S, T> {
    root: Arc<str>,
    timeout: Duration,
    max_open: usize,
    max_remembered: usize,
    stats: JoinStats,
    _types: PhantomData<fn(S) -> T>,
}

impl<S, T> fmt::Debug for Join<S, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Join")
            .field("root", &self.root)
            .field("timeout", &self.timeout)
            .field("max_open", &self.max_open)
            .field("max_remembered", &self.max_remembered)
            .finish()
    }
}

#[cfg(feature = "xml")]
impl<S: InboxSet> Join<S, crate::xml::Xml> {
    /// Merges `Xml` parts under a root element named `root` (an XML name without a prefix);
    /// [`Error::Config`] for another name, or for a port set with an inbox that does not take
    /// `Xml`.
    pub fn xml(root: &str) -> crate::Result<Self> {
        if root.contains(':') || !crate::xml::is_name(root.as_bytes()) {
            return Err(Error::Config {
                setting: "join root element".to_owned(),
                message: format!("`{root}` is not an XML name without a prefix"),
            });
        }
        Self::build(root)
    }
}

impl<S: InboxSet> Join<S, Json> {
    /// Merges `Json` parts into an object keyed by inbox name; [`Error::Config`] for a port set
    /// with an inbox that does not take `Json`.
    pub fn json() -> crate::Result<Self> {
        Self::build("")
    }
}

impl<S: InboxSet, T: Mergeable> Join<S, T> {
    fn build(root: &str) -> crate::Result<Self> {
        let specs = S::specs();
        if specs.is_empty() {
            return Err(Error::Config {
                setting: "join inboxes".to_owned(),
                message: "a join needs at least one inbox".to_owned(),
            });
        }
        if let Some(other) = specs
            .iter()
            .find(|spec| spec.payload_id() != std::any::TypeId::of::<T>())
        {
            return Err(Error::Config {
                setting: "join inboxes".to_owned(),
                message: format!(
                    "inbox `{}` takes `{}`, but this join merges `{}`",
                    other.name(),
                    other.payload(),
                    std::any::type_name::<T>()
                ),
            });
        }
        Ok(Join {
            root: Arc::from(root),
            timeout: DEFAULT_JOIN_TIMEOUT,
            max_open: DEFAULT_MAX_OPEN_GROUPS,
            max_remembered: DEFAULT_MAX_REMEMBERED,
            stats: JoinStats::default(),
            _types: PhantomData,
        })
    }
}

impl<S, T> Join<S, T> {
    /// How long to wait for a group's other parts after its first ([`DEFAULT_JOIN_TIMEOUT`]).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// How many groups may be open at once ([`DEFAULT_MAX_OPEN_GROUPS`]; at least one).
    pub fn max_open_groups(mut self, groups: usize) -> Self {
        self.max_open = groups.max(1);
        self
    }

    /// How many timed-out groups are remembered to recognise late parts
    /// ([`DEFAULT_MAX_REMEMBERED`]; `0` remembers none, and late parts then open groups).
    pub fn max_remembered(mut self, groups: usize) -> Self {
        self.max_remembered = groups;
        self
    }

    /// The join's counters, to read while it runs.
    pub fn stats(&self) -> JoinStats {
        self.stats.clone()
    }
}

/// The counters of a [`Join`].
#[derive(Clone, Debug, Default)]
pub struct JoinStats(Arc<JoinCounters>);

#[derive(Debug, Default)]
struct JoinCounters {
    open: AtomicUsize,
    remembered: AtomicUsize,
    joined: AtomicU64,
    timed_out: AtomicU64,
    late: AtomicU64,
    duplicates: AtomicU64,
    refused: AtomicU64,
    abandoned: AtomicU64,
}

impl JoinStats {
    /// Groups waiting for parts now.
    pub fn open_groups(&self) -> usize {
        self.0.open.load(Ordering::Relaxed)
    }
    /// Timed-out groups remembered now, to recognise their late parts.
    pub fn remembered_groups(&self) -> usize {
        self.0.remembered.load(Ordering::Relaxed)
    }
    /// Groups completed and sent on.
    pub fn joined(&self) -> u64 {
        self.0.joined.load(Ordering::Relaxed)
    }
    /// Groups that timed out.
    pub fn timed_out(&self) -> u64 {
        self.0.timed_out.load(Ordering::Relaxed)
    }
    /// Parts that arrived after their group timed out, dropped.
    pub fn late_parts(&self) -> u64 {
        self.0.late.load(Ordering::Relaxed)
    }
    /// Second parts on one inbox of an open group, dropped.
    pub fn duplicate_parts(&self) -> u64 {
        self.0.duplicates.load(Ordering::Relaxed)
    }
    /// Parts refused because the table of open groups was full.
    pub fn refused(&self) -> u64 {
        self.0.refused.load(Ordering::Relaxed)
    }
    /// Groups still open when the inboxes closed, sent to the error outbox.
    pub fn abandoned(&self) -> u64 {
        self.0.abandoned.load(Ordering::Relaxed)
    }
}

/// The inboxes a [`Join`] runs with: those of the port set `S`, in its declaration order, all
/// taking `T`. Edges name them by `S`'s references (`join.price`).
pub struct JoinInboxes<S, T> {
    parts: Vec<Inbox<T>>,
    _set: PhantomData<fn() -> S>,
}

impl<S: InboxSet, T: Payload> InboxSet for JoinInboxes<S, T> {
    type Refs = S::Refs;

    fn specs() -> Vec<PortSpec> {
        S::specs()
    }

    fn refs(actor: &crate::port::ActorRef) -> S::Refs {
        S::refs(actor)
    }

    fn assemble(ports: &mut PortBundle) -> Result<Self, PortMismatch> {
        let parts = S::specs()
            .iter()
            .map(|_| ports.inbox::<T>())
            .collect::<Result<_, _>>()?;
        Ok(JoinInboxes {
            parts,
            _set: PhantomData,
        })
    }
}

/// One group waiting for its parts.
struct Group<T> {
    parts: Vec<Option<Event<T>>>,
    deadline: (Instant, u64),
}

/// What a join knows while it runs: open groups, their deadlines, timed-out keys.
struct Table<T> {
    names: Vec<&'static str>,
    groups: HashMap<Arc<str>, Group<T>>,
    deadlines: BTreeMap<(Instant, u64), Arc<str>>,
    /// Timed-out keys and when they are forgotten, in both orders.
    remembered: HashMap<Arc<str>, (Instant, u64)>,
    forget_at: BTreeMap<(Instant, u64), Arc<str>>,
    sequence: u64,
}

/// What one input did to the table.
enum Outcome<T> {
    /// Nothing to send.
    Kept,
    /// The group is complete: its parts in declaration order.
    Complete(Vec<Event<T>>),
    /// The part is refused.
    Refused(Event<T>, EventError),
}

impl<T> Table<T> {
    fn new(names: Vec<&'static str>) -> Self {
        Table {
            names,
            groups: HashMap::new(),
            deadlines: BTreeMap::new(),
            remembered: HashMap::new(),
            forget_at: BTreeMap::new(),
            sequence: 0,
        }
    }

    fn next_sequence(&mut self) -> u64 {
        self.sequence += 1;
        self.sequence
    }

    /// The earliest moment something expires: a group, or a remembered key.
    fn next_deadline(&self) -> Option<Instant> {
        let group = self.deadlines.keys().next().map(|(at, _)| *at);
        let forget = self.forget_at.keys().next().map(|(at, _)| *at);
        group.into_iter().chain(forget).min()
    }

    fn add(&mut self, join: &JoinSettings, index: usize, event: Event<T>) -> Outcome<T> {
        let key = event.meta_id().to_arc();
        if self.remembered.contains_key(&key) {
            join.stats.0.late.fetch_add(1, Ordering::Relaxed);
            tracing::debug!(meta_id = %key, part = self.names[index], "late part dropped");
            return Outcome::Kept;
        }
        if !self.groups.contains_key(&key) {
            if self.groups.len() >= join.max_open {
                join.stats.0.refused.fetch_add(1, Ordering::Relaxed);
                let error = EventError::unavailable(format!(
                    "the join has {} groups open, its limit; part `{}` refused",
                    self.groups.len(),
                    self.names[index]
                ));
                return Outcome::Refused(event, error);
            }
            let deadline = (Instant::now() + join.timeout, self.next_sequence());
            self.deadlines.insert(deadline, Arc::clone(&key));
            let parts = self.names.iter().map(|_| None).collect();
            self.groups
                .insert(Arc::clone(&key), Group { parts, deadline });
        }
        let Some(group) = self.groups.get_mut(&key) else {
            return Outcome::Kept;
        };
        match group.parts.get_mut(index) {
            Some(slot @ None) => *slot = Some(event),
            _ => {
                join.stats.0.duplicates.fetch_add(1, Ordering::Relaxed);
                tracing::debug!(meta_id = %key, part = self.names[index], "second part on one inbox dropped");
                return Outcome::Kept;
            }
        }
        if group.parts.iter().any(Option::is_none) {
            return Outcome::Kept;
        }
        let Some(group) = self.groups.remove(&key) else {
            return Outcome::Kept;
        };
        self.deadlines.remove(&group.deadline);
        Outcome::Complete(group.parts.into_iter().flatten().collect())
    }

    /// Takes every group whose deadline has passed (remembering its key) and forgets the keys
    /// remembered long enough.
    fn expire(&mut self, join: &JoinSettings, now: Instant) -> Vec<Group<T>> {
        while let Some(entry) = self.forget_at.first_entry() {
            if entry.key().0 > now {
                break;
            }
            let key = entry.remove();
            self.remembered.remove(&key);
        }
        let mut expired = Vec::new();
        while let Some(entry) = self.deadlines.first_entry() {
            if entry.key().0 > now {
                break;
            }
            let key = entry.remove();
            if let Some(group) = self.groups.remove(&key) {
                self.remember(join, key, now);
                expired.push(group);
            }
        }
        expired
    }

    fn remember(&mut self, join: &JoinSettings, key: Arc<str>, now: Instant) {
        if join.max_remembered == 0 {
            return;
        }
        while self.remembered.len() >= join.max_remembered {
            match self.forget_at.pop_first() {
                Some((_, oldest)) => {
                    self.remembered.remove(&oldest);
                }
                None => break,
            }
        }
        let at = (now + join.timeout, self.next_sequence());
        if let Some(previous) = self.remembered.insert(Arc::clone(&key), at) {
            self.forget_at.remove(&previous);
        }
        self.forget_at.insert(at, key);
    }

    /// The names of the parts that arrived in `group`, and of the missing ones.
    fn describe(&self, group: &Group<T>) -> (String, String) {
        let (mut arrived, mut missing) = (Vec::new(), Vec::new());
        for (name, part) in self.names.iter().zip(&group.parts) {
            match part {
                Some(_) => arrived.push(format!("`{name}`")),
                None => missing.push(format!("`{name}`")),
            }
        }
        (arrived.join(", "), missing.join(", "))
    }

    fn publish(&self, stats: &JoinStats) {
        stats.0.open.store(self.groups.len(), Ordering::Relaxed);
        stats
            .0
            .remembered
            .store(self.remembered.len(), Ordering::Relaxed);
    }
}

/// The settings the run loop reads.
struct JoinSettings {
    root: Arc<str>,
    timeout: Duration,
    max_open: usize,
    max_remembered: usize,
    stats: JoinStats,
}

/// What the run loop waits for.
enum Input<T> {
    Part(usize, Event<T>),
    Deadline,
    Closed,
}

/// The next event of any open inbox, taken round-robin from `start` so that a busy inbox does
/// not starve the others; `Closed` once every inbox is closed.
fn next_part<'a, T>(
    inboxes: &'a mut [Inbox<T>],
    open: &'a mut [bool],
    start: &'a mut usize,
) -> impl Future<Output = Input<T>> + 'a {
    std::future::poll_fn(move |cx| {
        let count = inboxes.len();
        for step in 0..count {
            let index = (*start + step) % count;
            if !open[index] {
                continue;
            }
            match inboxes[index].poll_recv(cx) {
                Poll::Ready(Some(event)) => {
                    *start = (index + 1) % count;
                    return Poll::Ready(Input::Part(index, event));
                }
                Poll::Ready(None) => open[index] = false,
                Poll::Pending => {}
            }
        }
        if open.iter().any(|o| *o) {
            Poll::Pending
        } else {
            Poll::Ready(Input::Closed)
        }
    })
}

impl<S: InboxSet, T: Mergeable> Actor for Join<S, T> {
    type Inboxes = JoinInboxes<S, T>;
    type Outboxes = Outbox<T>;

    async fn run(self, ctx: Context, inboxes: JoinInboxes<S, T>, outbox: Outbox<T>) {
        let join = JoinSettings {
            root: self.root,
            timeout: self.timeout,
            max_open: self.max_open,
            max_remembered: self.max_remembered,
            stats: self.stats,
        };
        let names: Vec<&'static str> = S::specs().iter().map(PortSpec::name).collect();
        let mut table = Table::new(names);
        let mut inboxes = inboxes.parts;
        let mut open = vec![true; inboxes.len()];
        let mut start = 0;
        loop {
            let deadline = table.next_deadline();
            let input = tokio::select! {
                biased;
                () = wait_until(deadline) => Input::Deadline,
                input = next_part(&mut inboxes, &mut open, &mut start) => input,
            };
            match input {
                Input::Part(index, event) => {
                    if let Err(error) = ctx.check_required(&event) {
                        ctx.fail(event, error).await;
                        continue;
                    }
                    match table.add(&join, index, event) {
                        Outcome::Kept => {}
                        Outcome::Complete(parts) => {
                            send_merged(&ctx, &join, &table, parts, &outbox).await
                        }
                        Outcome::Refused(event, error) => ctx.fail(event, error).await,
                    }
                }
                Input::Deadline => {
                    for group in table.expire(&join, Instant::now()) {
                        join.stats.0.timed_out.fetch_add(1, Ordering::Relaxed);
                        let (arrived, missing) = table.describe(&group);
                        let error = EventError::timeout(format!(
                            "join: parts {missing} did not arrive within {:?} (arrived: {arrived})",
                            join.timeout
                        ));
                        fail_group(&ctx, group, error).await;
                    }
                }
                Input::Closed => break,
            }
            table.publish(&join.stats);
        }
        abandon(&ctx, &join, &mut table).await;
    }
}

/// Waits until `deadline`, or forever without one.
async fn wait_until(deadline: Option<Instant>) {
    match deadline {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

/// Merges a complete group and sends it, with the first inbox's envelope.
async fn send_merged<T: Mergeable>(
    ctx: &Context,
    join: &JoinSettings,
    table: &Table<T>,
    parts: Vec<Event<T>>,
    outbox: &Outbox<T>,
) {
    let mut parts = parts.into_iter();
    let Some(first) = parts.next() else {
        return;
    };
    let (envelope, first) = first.split();
    let named = std::iter::once(first)
        .chain(parts.map(Event::into_data))
        .zip(table.names.iter().copied())
        .map(|(data, name)| (name, data))
        .collect();
    match T::merge(&join.root, named) {
        Ok(merged) => {
            join.stats.0.joined.fetch_add(1, Ordering::Relaxed);
            outbox.send(envelope.with_data(merged)).await;
        }
        Err(error) => ctx.fail(envelope, error).await,
    }
}

/// Sends a group that cannot complete to the error outbox, with its first arrived part.
async fn fail_group<T: Payload>(ctx: &Context, group: Group<T>, error: EventError) {
    if let Some(first) = group.parts.into_iter().flatten().next() {
        ctx.fail(first, error).await;
    }
}

/// The inboxes are closed: every group still open fails, so no request waits on it.
async fn abandon<T: Payload>(ctx: &Context, join: &JoinSettings, table: &mut Table<T>) {
    let groups: Vec<Group<T>> = table.groups.drain().map(|(_, group)| group).collect();
    table.deadlines.clear();
    for group in groups {
        join.stats.0.abandoned.fetch_add(1, Ordering::Relaxed);
        let (arrived, missing) = table.describe(&group);
        let error = EventError::unavailable(format!(
            "join: stopped before parts {missing} arrived (arrived: {arrived})"
        ));
        fail_group(ctx, group, error).await;
    }
    table.publish(&join.stats);
}

#[cfg(test)]
#[path = "join_tests.rs"]
mod tests;
