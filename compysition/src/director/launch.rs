//! The second step of `start()`: from the resolved plan to running tasks. One channel per
//! inbox, an error outbox per actor (its `!->` edges, or the default error actor), the outboxes
//! wired edge by edge, the log actor's forwarder, then one tokio task per actor.

use std::any::Any;
use std::collections::HashMap;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;

use futures_util::FutureExt;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tracing::Instrument;

use crate::actor::{panic_message, BoxFuture, Concurrency, Context};
use crate::error::{Error, Result};
use crate::event::Event;
use crate::logging;
use crate::payload::{AnyPayload, ErrorEvent};
use crate::port::{ErasedOutbox, ErasedSender, ErrorOutbox, Inbox, Outbox, PortBundle};

use super::plan::Plan;
use super::{Director, EdgeRecord, DEFAULT_ERROR_ACTOR};

/// The running actors, by name.
pub(super) type Tasks = Vec<(Arc<str>, JoinHandle<()>)>;

/// An inbox's (actor, port) indexes.
type InboxAt = (usize, usize);

/// The sending ends of the inboxes, with the label each edge logs under.
type Senders = HashMap<InboxAt, (ErasedSender, Arc<str>)>;

/// The receiving ends, per actor, in the order of its port specs.
type InboxPorts = Vec<Vec<(&'static str, Box<dyn Any + Send>)>>;

/// Where each actor's failures go.
struct ErrorRoutes {
    /// Per actor: its `!->` edges, or the default error actor.
    outboxes: Vec<Arc<ErrorOutbox>>,
    /// The error inboxes of the actors that have one.
    inboxes: HashMap<usize, Inbox<AnyPayload>>,
    /// What the default error actor receives.
    unrouted: mpsc::Receiver<ErrorEvent>,
    /// The log actor's own unrouted errors: logged to the global subscriber, not through the
    /// log actor (they would keep its inbox open for ever).
    unrouted_of_log_actor: mpsc::Receiver<ErrorEvent>,
}

fn internal(what: impl Into<String>) -> Error {
    Error::Wiring(what.into())
}

impl Director {
    /// Makes the channels, wires the outboxes and spawns the actors.
    pub(super) fn launch(&mut self, plan: Plan) -> Result<Tasks> {
        let log_index = self.log.as_ref().map(|log| log.index);
        let (senders, inbox_ports) = self.make_inboxes(&plan)?;
        let errors = self.route_errors(&plan, log_index);
        let outboxes = self.wire_outboxes(&plan, &senders, &errors.outboxes)?;
        let dispatch = self.log_dispatch(&senders)?;
        // From here on only outboxes hold senders, so inboxes close when their feeders finish.
        drop(senders);
        self.spawn_actors(inbox_ports, outboxes, errors, (dispatch, log_index))
    }

    /// One channel per inbox, of the largest capacity any edge into it asks for (the topology's
    /// default otherwise).
    fn make_inboxes(&self, plan: &Plan) -> Result<(Senders, InboxPorts)> {
        let mut capacity: HashMap<InboxAt, usize> = HashMap::new();
        for edge in &plan.data_edges {
            if let Some(c) = self.edges[edge.record].capacity {
                let slot = capacity.entry(edge.to).or_insert(c);
                *slot = (*slot).max(c);
            }
        }
        let mut senders = Senders::new();
        let mut inbox_ports = InboxPorts::new();
        for (a, actor) in self.actors.iter().enumerate() {
            let mut ports = Vec::new();
            for (p, spec) in actor.inboxes.iter().enumerate() {
                let cap = capacity.get(&(a, p)).copied().unwrap_or(self.capacity);
                let (sender, inbox) = spec
                    .make_channel(cap)
                    .ok_or_else(|| internal(format!("{} is not an inbox", spec.name())))?;
                let label = format!("{}.{}", actor.name, spec.name()).into();
                senders.insert((a, p), (sender, label));
                ports.push((spec.name(), inbox));
            }
            inbox_ports.push(ports);
        }
        Ok((senders, inbox_ports))
    }

    /// The error inboxes, and every actor's error outbox: its `!->` edges, or the default
    /// error actor when it has none.
    fn route_errors(&self, plan: &Plan, log_index: Option<usize>) -> ErrorRoutes {
        let (unrouted_tx, unrouted) = mpsc::channel::<ErrorEvent>(self.capacity);
        let (log_unrouted_tx, unrouted_of_log_actor) = mpsc::channel(self.capacity);
        let mut senders = HashMap::new();
        let mut inboxes = HashMap::new();
        for (a, actor) in self.actors.iter().enumerate() {
            if actor.error_inbox {
                let (tx, rx) = mpsc::channel(self.capacity);
                senders.insert(a, tx);
                inboxes.insert(a, Inbox::new(rx));
            }
        }
        let outboxes = self
            .actors
            .iter()
            .enumerate()
            .map(|(a, actor)| {
                let mut outbox = Outbox::<AnyPayload>::new(format!("{}.errors", actor.name).into());
                outbox.allow_copies(Event::clone);
                for (_, to) in plan.error_edges.iter().filter(|(from, _)| *from == a) {
                    if let Some(tx) = senders.get(to) {
                        let label = format!("{}.errors", self.actors[*to].name).into();
                        outbox.push_direct(tx.clone(), label);
                    }
                }
                if !outbox.is_connected() {
                    let default = if Some(a) == log_index {
                        &log_unrouted_tx
                    } else {
                        &unrouted_tx
                    };
                    outbox.push_direct(default.clone(), DEFAULT_ERROR_ACTOR.into());
                }
                Arc::new(ErrorOutbox::new(Arc::clone(&actor.name), outbox))
            })
            .collect();
        ErrorRoutes {
            outboxes,
            inboxes,
            unrouted,
            unrouted_of_log_actor,
        }
    }

    /// Every outbox, wired edge by edge to the inboxes it feeds; outboxes of fan-outs may copy.
    fn wire_outboxes(
        &mut self,
        plan: &Plan,
        senders: &Senders,
        error_outboxes: &[Arc<ErrorOutbox>],
    ) -> Result<Vec<Vec<ErasedOutbox>>> {
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
                .ok_or_else(|| internal("missing inbox sender"))?;
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
        Ok(outboxes)
    }

    /// The dispatch that sends the other actors' log records to the log actor's inbox, if the
    /// topology has a log actor.
    fn log_dispatch(&mut self, senders: &Senders) -> Result<Option<tracing::Dispatch>> {
        let Some(log) = self.log.take() else {
            return Ok(None);
        };
        let (sender, _) = senders
            .get(&(log.index, 0))
            .ok_or_else(|| internal("the log actor has no inbox"))?;
        let forwarder = (log.forwarder)(sender).ok_or_else(|| internal("log actor inbox type"))?;
        Ok(Some(logging::dispatch(forwarder)))
    }

    /// One task per actor, then the default error actors; `logs` is the log dispatch and the
    /// log actor's index, whose own records go to the global subscriber. If an actor cannot be
    /// launched (its port set does not fit), the ones already running are stopped and the
    /// topology does not start.
    fn spawn_actors(
        &mut self,
        inbox_ports: InboxPorts,
        outboxes: Vec<Vec<ErasedOutbox>>,
        mut errors: ErrorRoutes,
        logs: (Option<tracing::Dispatch>, Option<usize>),
    ) -> Result<Tasks> {
        let (dispatch, log_index) = logs;
        let mut tasks = Tasks::new();
        let mut outboxes = outboxes.into_iter();
        let mut inbox_ports = inbox_ports.into_iter();
        for (a, actor) in self.actors.iter_mut().enumerate() {
            let ctx = Context::new(
                Arc::clone(&actor.name),
                Arc::clone(&errors.outboxes[a]),
                errors.inboxes.remove(&a),
                self.stop.subscribe(),
                Concurrency::DEFAULT,
            )
            .with_shutdown_timeout(self.shutdown_timeout);
            let ins = PortBundle::new(
                Arc::clone(&actor.name),
                inbox_ports.next().unwrap_or_default(),
            );
            let names = actor.outboxes.iter().map(|s| s.name());
            let outs = PortBundle::new(
                Arc::clone(&actor.name),
                names.zip(outboxes.next().unwrap_or_default()).collect(),
            );
            let launched = actor
                .launch
                .take()
                .ok_or_else(|| internal("actor launched twice"))
                .and_then(|launch| launch(ctx, ins, outs).map_err(|e| internal(e.to_string())));
            let future = match launched {
                Ok(future) => future,
                Err(error) => {
                    for (_, task) in &tasks {
                        task.abort();
                    }
                    return Err(error);
                }
            };
            let name = Arc::clone(&actor.name);
            let guarded = guard(Arc::clone(&name), future);
            let task = match &dispatch {
                // The log actor's own records go to the global subscriber, not to itself.
                Some(dispatch) if log_index != Some(a) => tokio::spawn(
                    tracing::instrument::WithSubscriber::with_subscriber(guarded, dispatch.clone()),
                ),
                _ => tokio::spawn(guarded),
            };
            tasks.push((name, task));
        }
        // Only the actors hold error outboxes now: the default error actors end with them.
        drop(errors.outboxes);
        let unrouted = default_error_actor(errors.unrouted);
        let task = match &dispatch {
            Some(dispatch) => tokio::spawn(tracing::instrument::WithSubscriber::with_subscriber(
                unrouted,
                dispatch.clone(),
            )),
            None => tokio::spawn(unrouted),
        };
        tasks.push((Arc::from(DEFAULT_ERROR_ACTOR), task));
        let of_log_actor = tokio::spawn(default_error_actor(errors.unrouted_of_log_actor));
        tasks.push((Arc::from(DEFAULT_ERROR_ACTOR), of_log_actor));
        Ok(tasks)
    }
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

/// Waits for every task to end.
pub(super) async fn join_all(tasks: &mut Tasks) {
    for (_, task) in tasks.iter_mut() {
        if !task.is_finished() {
            // A task that panicked was already logged by `guard`; an aborted one is reported
            // by the caller.
            let _ = task.await;
        }
    }
}
