//! Test actors: a source fed by the test and a sink that hands events back to it.
#![allow(dead_code)] // each test file uses a different part

use std::io::Write;
use std::sync::{Arc, Mutex};

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

/// What a [`Collect`] sink received, read while the topology runs or after it ended.
pub struct Collected<T> {
    events: mpsc::UnboundedReceiver<Event<T>>,
    errors: mpsc::UnboundedReceiver<ErrorEvent>,
}

/// A sink for a test, and what it will have received.
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

impl<T> Collected<T> {
    /// The next event; `None` once the sink is gone and everything was read.
    pub async fn recv(&mut self) -> Option<Event<T>> {
        self.events.recv().await
    }

    /// Every event not read yet, waiting until the sink is gone.
    pub async fn events(&mut self) -> Vec<Event<T>> {
        let mut all = Vec::new();
        while let Some(event) = self.events.recv().await {
            all.push(event);
        }
        all
    }

    /// Every error event not read yet, waiting until the sink is gone.
    pub async fn error_events(&mut self) -> Vec<ErrorEvent> {
        let mut all = Vec::new();
        while let Some(event) = self.errors.recv().await {
            all.push(event);
        }
        all
    }

    /// The payloads of [`events`](Self::events).
    pub async fn payloads(&mut self) -> Vec<T> {
        self.events().await.into_iter().map(|e| e.data).collect()
    }

    /// The error messages of [`error_events`](Self::error_events).
    pub async fn error_messages(&mut self) -> Vec<String> {
        self.error_events()
            .await
            .iter()
            .map(|e| {
                e.error()
                    .map(|e| e.message().to_string())
                    .unwrap_or_default()
            })
            .collect()
    }
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

/// A writer the test can read back.
#[derive(Clone, Default)]
pub struct Shared(Arc<Mutex<Vec<u8>>>);

impl Write for Shared {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("not poisoned").extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Shared {
    pub fn lines(&self) -> Vec<String> {
        let bytes = self.0.lock().expect("not poisoned").clone();
        String::from_utf8(bytes)
            .expect("UTF-8")
            .lines()
            .map(str::to_string)
            .collect()
    }
}
