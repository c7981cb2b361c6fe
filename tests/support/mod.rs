//! Test actors: a source fed by the test and a sink that hands events back to it.
#![allow(dead_code)] // each test file uses a different part

use compysition::prelude::*;
use compysition::{ErrorEvent, Payload, TakesErrors};
use tokio::sync::mpsc;

/// A source that emits whatever the test sends it, until the test drops its sender or the
/// topology stops.
pub struct Feed<T> {
    events: mpsc::Receiver<Event<T>>,
}

/// A source for a test, and the sender that feeds it.
pub fn feed<T>(capacity: usize) -> (Feed<T>, mpsc::Sender<Event<T>>) {
    let (tx, rx) = mpsc::channel(capacity);
    (Feed { events: rx }, tx)
}

impl<T: Payload> Actor for Feed<T> {
    type Inboxes = ();
    type Outboxes = Outbox<T>;

    async fn run(mut self, ctx: Context, (): (), outbox: Outbox<T>) {
        loop {
            tokio::select! {
                biased;
                () = ctx.stopped() => break,
                event = self.events.recv() => match event {
                    Some(event) => outbox.send(event).await,
                    None => break,
                },
            }
        }
    }
}

/// A sink that hands every event, and every error routed to it, back to the test.
pub struct Collect<T> {
    events: mpsc::UnboundedSender<Event<T>>,
    errors: mpsc::UnboundedSender<ErrorEvent>,
}

/// What a [`Collect`] sink received.
pub struct Collected<T> {
    pub events: mpsc::UnboundedReceiver<Event<T>>,
    pub errors: mpsc::UnboundedReceiver<ErrorEvent>,
}

pub fn collect<T>() -> (Collect<T>, Collected<T>) {
    let (events_tx, events) = mpsc::unbounded_channel();
    let (errors_tx, errors) = mpsc::unbounded_channel();
    (
        Collect {
            events: events_tx,
            errors: errors_tx,
        },
        Collected { events, errors },
    )
}

impl<T: Payload> Actor for Collect<T> {
    type Inboxes = Inbox<T>;
    type Outboxes = ();
    const ERROR_INBOX: bool = true;

    async fn run(self, mut ctx: Context, mut inbox: Inbox<T>, (): ()) {
        let errors = ctx.take_error_inbox();
        let forward_errors = async {
            if let Some(mut errors) = errors {
                while let Some(event) = errors.recv().await {
                    let _ = self.errors.send(event);
                }
            }
        };
        let forward_events = async {
            while let Some(event) = inbox.recv().await {
                let _ = self.events.send(event);
            }
        };
        tokio::join!(forward_errors, forward_events);
    }
}

impl<T: Payload> TakesErrors for Collect<T> {}

/// Everything left in a receiver once its senders are gone.
pub async fn drain<T>(receiver: &mut mpsc::UnboundedReceiver<T>) -> Vec<T> {
    let mut all = Vec::new();
    while let Some(item) = receiver.recv().await {
        all.push(item);
    }
    all
}
