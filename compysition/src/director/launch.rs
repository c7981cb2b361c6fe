//! What `start()` does: resolve every edge to ports (collecting every mistake), make one channel
//! per inbox, wire the outboxes, and spawn the actors.

use std::collections::{BTreeMap, HashMap};
use std::panic::AssertUnwindSafe;
use std::sync::Arc;

use futures_util::FutureExt;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tracing::Instrument;

use crate::actor::{panic_message, BoxFuture, Concurrency, Context};
use crate::error::{Error, Result, TopologyError, TopologyErrors};
use crate::event::Event;
use crate::logging;
use crate::payload::{AnyPayload, ErrorEvent};
use crate::port::shorten_type_name;
use crate::port::{
    ActorRef, ErasedOutbox, ErasedSender, ErrorOutbox, Inbox, Outbox, PortBundle, PortKind,
    PortSpec,
};

use super::{Director, EdgeRecord, DEFAULT_ERROR_ACTOR};

impl Director {
    /// Resolves every edge to port indexes, collecting every mistake.
    pub(super) fn plan(&mut self) -> Result<Plan> {
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
    pub(super) fn launch(&mut self, plan: Plan) -> Result<Vec<(Arc<str>, JoinHandle<()>)>> {
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

        let mut tasks: Vec<(Arc<str>, tokio::task::JoinHandle<()>)> = Vec::new();
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
            let launched = actor
                .launch
                .take()
                .ok_or_else(|| internal("actor launched twice".into()))
                .and_then(|launch| launch(ctx, ins, outs).map_err(|e| internal(e.to_string())));
            let future = match launched {
                Ok(future) => future,
                Err(error) => {
                    // The topology does not start: the actors already running stop with it.
                    for (_, task) in &tasks {
                        task.abort();
                    }
                    return Err(error);
                }
            };
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

pub(super) struct Plan {
    data_edges: Vec<PlannedEdge>,
    error_edges: Vec<(usize, usize)>,
}

struct PlannedEdge {
    record: usize,
    from: (usize, usize),
    to: (usize, usize),
}

/// The only data port, if there is exactly one.
pub(super) fn lone_port(ports: &[PortSpec]) -> Option<usize> {
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
    // At ERROR level: enabled under any subscriber, so every record carries the actor's name.
    let span = tracing::error_span!("actor", actor = %name);
    if let Err(panic) = AssertUnwindSafe(future)
        .catch_unwind()
        .instrument(span)
        .await
    {
        tracing::error!(actor = %name, panic = %panic_message(panic.as_ref()), "actor crashed; its inboxes are closed");
    }
}

/// Logs every error that was routed nowhere, and answers the request it belongs to, if one
/// waits: the client gets the failure itself instead of learning only that its event was
/// dropped.
async fn default_error_actor(mut errors: mpsc::Receiver<ErrorEvent>) {
    while let Some(event) = errors.recv().await {
        match event.error() {
            Some(error) => tracing::warn!(
                actor = error.actor().unwrap_or("?"),
                meta_id = %event.meta_id(),
                kind = %error.kind(),
                error = %error.message(),
                "event failed"
            ),
            None => {
                tracing::warn!(meta_id = %event.meta_id(), "an event without error reached the default error actor")
            }
        }
        if let Some(slot) = event.reply_slot().cloned() {
            // Already answered, or nobody waits any more: nothing left to do.
            let _ = slot.fail(event);
        }
    }
}

pub(super) async fn join_all(tasks: &mut [(Arc<str>, JoinHandle<()>)]) {
    for (_, task) in tasks.iter_mut() {
        if !task.is_finished() {
            // A task that panicked was already logged by `guard`; an aborted one is reported
            // by the caller.
            let _ = task.await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::closest;

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
