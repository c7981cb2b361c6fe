//! `Aggregator`: many events into one (the Python `EventDataAggregator`).
//!
//! Two ways to make a batch:
//!
//! - **By the splitter's count** ([`Aggregator::by_split`]): the pieces a
//!   [`Splitter`](super::Splitter) made of one event (same `meta_id`, numbered by
//!   `split_index` of `split_count`) are put back together in their order. Groups are bounded
//!   and time out like a join's.
//! - **By count and/or time** ([`Aggregator::batches`]): events in arrival order, a batch sent
//!   when it holds `count` events or when its first event has waited `window`.
//!
//! The batch is sent with the envelope of its first event (the piece with index `0`), without
//! the split attributes. A stop (the inbox closing) sends every partial batch on: nothing
//! accepted is lost.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;

use super::join::Mergeable;
use super::split::{SPLIT_COUNT, SPLIT_INDEX};
use crate::actor::{Actor, Context};
#[cfg(feature = "xml")]
use crate::error::Error;
use crate::error::EventError;
use crate::event::Event;
use crate::json::Json;
use crate::port::{Inbox, Outbox};

/// How long pieces of one split event wait for their siblings.
pub const DEFAULT_AGGREGATE_TIMEOUT: Duration = Duration::from_secs(30);

/// How many split events are being put back together at once ([`Aggregator::max_open`]);
/// a piece that would open one more is refused as `Unavailable`.
pub const DEFAULT_MAX_OPEN_SPLITS: usize = 10_000;

/// The most pieces one split event may announce ([`Aggregator::max_pieces`]): `split_count`
/// comes with the event, so it is bounded before anything is set aside for it.
pub const DEFAULT_MAX_PIECES: usize = 100_000;

/// Puts events together into one of the same payload: XML roots under a root element
/// ([`Aggregator::xml`]), or a JSON array ([`Aggregator::json`]).
///
/// ```
/// use std::time::Duration;
/// use compysition::actors::Aggregator;
///
/// let whole = Aggregator::json().by_split();
/// let hundreds = Aggregator::json().batches(Some(100), Some(Duration::from_secs(1)));
/// # let _ = (whole, hundreds);
/// ```
#[derive(Clone, Debug)]
pub struct Aggregator<T> {
    root: Arc<str>,
    mode: Mode,
    timeout: Duration,
    max_open: usize,
    max_pieces: usize,
    _payload: std::marker::PhantomData<fn(T)>,
}

#[derive(Clone, Copy, Debug)]
enum Mode {
    BySplit,
    Batches {
        count: Option<usize>,
        window: Option<Duration>,
    },
}

#[cfg(feature = "xml")]
impl Aggregator<crate::xml::Xml> {
    /// Gathers `Xml` events under a root element named `root` (an XML name without a prefix),
    /// by the splitter's count until told otherwise.
    pub fn xml(root: &str) -> crate::Result<Self> {
        if root.contains(':') || !crate::xml::is_name(root.as_bytes()) {
            return Err(Error::Config {
                setting: "aggregator root element".to_owned(),
                message: format!("`{root}` is not an XML name without a prefix"),
            });
        }
        Ok(Self::with_root(root))
    }
}

impl Aggregator<Json> {
    /// Gathers `Json` events into an array, by the splitter's count until told otherwise.
    pub fn json() -> Self {
        Self::with_root("")
    }
}

impl<T> Aggregator<T> {
    fn with_root(root: &str) -> Self {
        Aggregator {
            root: Arc::from(root),
            mode: Mode::BySplit,
            timeout: DEFAULT_AGGREGATE_TIMEOUT,
            max_open: DEFAULT_MAX_OPEN_SPLITS,
            max_pieces: DEFAULT_MAX_PIECES,
            _payload: std::marker::PhantomData,
        }
    }

    /// Puts the pieces of each split event back together, in `split_index` order.
    pub fn by_split(mut self) -> Self {
        self.mode = Mode::BySplit;
        self
    }

    /// Batches in arrival order: sent at `count` events, or when the first has waited
    /// `window`, whichever comes first (`None` for either leaves it out; both `None` send
    /// batches only on a stop).
    pub fn batches(mut self, count: Option<usize>, window: Option<Duration>) -> Self {
        self.mode = Mode::Batches {
            count: count.map(|n| n.max(1)),
            window,
        };
        self
    }

    /// How long pieces of one split event wait for the rest ([`DEFAULT_AGGREGATE_TIMEOUT`]);
    /// then they go to the error outbox as a `Timeout`.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// How many split events may be open at once ([`DEFAULT_MAX_OPEN_SPLITS`]; at least one).
    pub fn max_open(mut self, open: usize) -> Self {
        self.max_open = open.max(1);
        self
    }

    /// The most pieces a split event may announce ([`DEFAULT_MAX_PIECES`]).
    pub fn max_pieces(mut self, pieces: usize) -> Self {
        self.max_pieces = pieces;
        self
    }
}

/// What filing a piece came to: the whole split event when it was the last piece, or the
/// piece refused with why.
type Filed<T> = Result<Option<Vec<Event<T>>>, (Event<T>, EventError)>;

/// The pieces of one split event.
struct Pieces<T> {
    parts: Vec<Option<Event<T>>>,
    missing: usize,
    deadline: (Instant, u64),
}

/// What the loop holds: open split events, or the one open batch.
struct State<T> {
    splits: HashMap<Arc<str>, Pieces<T>>,
    deadlines: BTreeMap<(Instant, u64), Arc<str>>,
    batch: Vec<Event<T>>,
    batch_due: Option<Instant>,
    sequence: u64,
}

impl<T> State<T> {
    fn next_deadline(&self) -> Option<Instant> {
        let split = self.deadlines.keys().next().map(|(at, _)| *at);
        split.into_iter().chain(self.batch_due).min()
    }
}

/// `split_index` and `split_count` of a piece, checked against the bound.
fn place<T>(event: &Event<T>, max_pieces: usize) -> Result<(usize, usize), EventError> {
    let number = |name: &str| -> Result<usize, EventError> {
        event
            .attribute(name)
            .and_then(|value| value.parse().ok())
            .ok_or_else(|| {
                EventError::malformed(format!("a piece to aggregate needs a numeric `{name}`"))
            })
    };
    let (index, count) = (number(SPLIT_INDEX)?, number(SPLIT_COUNT)?);
    if count > max_pieces {
        return Err(EventError::malformed(format!(
            "`{SPLIT_COUNT}` {count} is above the limit of {max_pieces} pieces"
        )));
    }
    if index >= count {
        return Err(EventError::malformed(format!(
            "`{SPLIT_INDEX}` {index} is not below `{SPLIT_COUNT}` {count}"
        )));
    }
    Ok((index, count))
}

impl<T: Mergeable> Aggregator<T> {
    /// Files a piece; the complete group when it was the last.
    fn add_piece(&self, state: &mut State<T>, event: Event<T>) -> Filed<T> {
        let (index, count) = match place(&event, self.max_pieces) {
            Ok(place) => place,
            Err(error) => return Err((event, error)),
        };
        let key = event.meta_id().to_arc();
        if !state.splits.contains_key(&key) {
            if state.splits.len() >= self.max_open {
                let error = EventError::unavailable(format!(
                    "the aggregator has {} split events open, its limit",
                    state.splits.len()
                ));
                return Err((event, error));
            }
            state.sequence += 1;
            let deadline = (Instant::now() + self.timeout, state.sequence);
            state.deadlines.insert(deadline, Arc::clone(&key));
            let parts = (0..count).map(|_| None).collect();
            let pieces = Pieces {
                parts,
                missing: count,
                deadline,
            };
            state.splits.insert(Arc::clone(&key), pieces);
        }
        let Some(pieces) = state.splits.get_mut(&key) else {
            return Ok(None);
        };
        match pieces.parts.get_mut(index) {
            Some(slot @ None) => {
                *slot = Some(event);
                pieces.missing -= 1;
            }
            _ => {
                let error = conflict_piece(index, pieces.parts.len());
                return Err((event, error));
            }
        }
        if pieces.missing > 0 {
            return Ok(None);
        }
        let Some(pieces) = state.splits.remove(&key) else {
            return Ok(None);
        };
        state.deadlines.remove(&pieces.deadline);
        Ok(Some(pieces.parts.into_iter().flatten().collect()))
    }

    /// Merges a batch and sends it with its first event's envelope, split attributes removed.
    async fn send(&self, ctx: &Context, outbox: &Outbox<T>, batch: Vec<Event<T>>) {
        let mut batch = batch.into_iter();
        let Some(first) = batch.next() else {
            return;
        };
        let (mut envelope, first) = first.split();
        envelope.remove_attribute(SPLIT_INDEX);
        envelope.remove_attribute(SPLIT_COUNT);
        let parts = std::iter::once(first)
            .chain(batch.map(Event::into_data))
            .collect();
        match T::gather(&self.root, parts) {
            Ok(merged) => outbox.send(envelope.with_data(merged)).await,
            Err(error) => ctx.fail(envelope, error).await,
        }
    }

    /// What is due now: split events past their deadline (as errors), the batch past its
    /// window.
    async fn expire(&self, ctx: &Context, outbox: &Outbox<T>, state: &mut State<T>) {
        let now = Instant::now();
        while let Some(entry) = state.deadlines.first_entry() {
            if entry.key().0 > now {
                break;
            }
            let key = entry.remove();
            if let Some(pieces) = state.splits.remove(&key) {
                let count = pieces.parts.len();
                let error = EventError::timeout(format!(
                    "{} of {count} pieces did not arrive within {:?}",
                    pieces.missing, self.timeout
                ));
                if let Some(first) = pieces.parts.into_iter().flatten().next() {
                    ctx.fail(first, error).await;
                }
            }
        }
        if state.batch_due.is_some_and(|due| due <= now) {
            state.batch_due = None;
            let batch = std::mem::take(&mut state.batch);
            self.send(ctx, outbox, batch).await;
        }
    }
}

/// A second piece with the same place in one split event.
fn conflict_piece(index: usize, count: usize) -> EventError {
    EventError::new(
        crate::error::ErrorKind::Conflict,
        format!("a second piece {index} of {count}"),
    )
}

impl<T: Mergeable> Actor for Aggregator<T> {
    type Inboxes = Inbox<T>;
    type Outboxes = Outbox<T>;

    async fn run(self, ctx: Context, mut inbox: Inbox<T>, outbox: Outbox<T>) {
        let mut state = State {
            splits: HashMap::new(),
            deadlines: BTreeMap::new(),
            batch: Vec::new(),
            batch_due: None,
            sequence: 0,
        };
        loop {
            let due = state.next_deadline();
            let event = tokio::select! {
                biased;
                () = wait_until(due) => {
                    self.expire(&ctx, &outbox, &mut state).await;
                    continue;
                }
                event = inbox.recv() => event,
            };
            let Some(event) = event else { break };
            if let Err(error) = ctx.check_required(&event) {
                ctx.fail(event, error).await;
                continue;
            }
            match self.mode {
                Mode::BySplit => match self.add_piece(&mut state, event) {
                    Ok(Some(whole)) => self.send(&ctx, &outbox, whole).await,
                    Ok(None) => {}
                    Err((event, error)) => ctx.fail(event, error).await,
                },
                Mode::Batches { count, window } => {
                    if state.batch.is_empty() {
                        state.batch_due = window.map(|window| Instant::now() + window);
                    }
                    state.batch.push(event);
                    if count.is_some_and(|count| state.batch.len() >= count) {
                        state.batch_due = None;
                        let batch = std::mem::take(&mut state.batch);
                        self.send(&ctx, &outbox, batch).await;
                    }
                }
            }
        }
        // The inbox is closed: every partial batch goes on, so nothing accepted is lost.
        let batch = std::mem::take(&mut state.batch);
        self.send(&ctx, &outbox, batch).await;
        let mut open: Vec<Pieces<T>> = state.splits.drain().map(|(_, pieces)| pieces).collect();
        open.sort_by_key(|pieces| pieces.deadline);
        for pieces in open {
            let parts = pieces.parts.into_iter().flatten().collect();
            self.send(&ctx, &outbox, parts).await;
        }
    }
}

/// Waits until `deadline`, or forever without one.
async fn wait_until(deadline: Option<Instant>) {
    match deadline {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

#[cfg(test)]
#[path = "aggregate_tests.rs"]
mod tests;
