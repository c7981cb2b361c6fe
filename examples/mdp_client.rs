//! A Majordomo client in its own process: sends a number of requests to a service through a
//! broker, many at once, and reports how each ended.
//!
//! ```text
//! cargo run --example mdp_client -- --connect tcp://127.0.0.1:5555 --service echo --requests 1000
//! ```
//!
//! Options: `--concurrency N` (requests in flight at once, default 32), `--timeout-ms N` (one
//! try's timeout, default 2500), `--retries N` (tries after the first, default 3). Each request's
//! body is its number; a reply must carry it back. The last line on stdout is
//! `answered=N wrong=N failed=N`; the exit status is 0 only when every request was answered
//! with its own body.

#[path = "support/args.rs"]
mod args;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use compysition::actors::MdpClient;
use compysition::mdp::Frames;
use compysition::prelude::*;
use compysition::{AnyPayload, ErrorEvent};

use args::{option, parsed};

/// Sends requests `0..count` to `service`, one event each.
struct Requests {
    count: u64,
    service: String,
}

impl Actor for Requests {
    type Inboxes = ();
    type Outboxes = Outbox<Frames>;

    async fn run(self, _ctx: Context, (): (), outbox: Outbox<Frames>) {
        for n in 0..self.count {
            let body = n.to_string();
            let event = Event::new(Frames::single(body.clone()))
                .with_service(self.service.as_str())
                .with_attribute("request", body);
            outbox.send(event).await;
        }
    }
}

/// How the requests ended.
#[derive(Default)]
struct Tally {
    answered: AtomicU64,
    wrong: AtomicU64,
    failed: AtomicU64,
}

/// Counts replies: right when the body is the request's own number.
struct Replies(Arc<Tally>);

impl Actor for Replies {
    type Inboxes = Inbox<Frames>;
    type Outboxes = ();
    const ERROR_INBOX: bool = true;

    async fn run(self, mut ctx: Context, mut inbox: Inbox<Frames>, (): ()) {
        let mut errors = ctx.take_error_inbox();
        loop {
            tokio::select! {
                Some(reply) = inbox.recv() => {
                    let body = reply.data.iter().next().map(|frame| frame.to_vec());
                    let expected = reply.attribute("request").map(|n| n.as_bytes().to_vec());
                    let counter = if body.is_some() && body == expected {
                        &self.0.answered
                    } else {
                        &self.0.wrong
                    };
                    counter.fetch_add(1, Ordering::Relaxed);
                }
                Some(failed) = next_error(&mut errors) => {
                    self.0.failed.fetch_add(1, Ordering::Relaxed);
                    let error = failed.error().map(ToString::to_string).unwrap_or_default();
                    eprintln!("request {} failed: {error}", failed.attribute("request").unwrap_or("?"));
                }
                else => break,
            }
        }
    }
}

impl TakesErrors for Replies {}

async fn next_error(errors: &mut Option<Inbox<AnyPayload>>) -> Option<ErrorEvent> {
    match errors {
        Some(inbox) => inbox.recv().await,
        None => None,
    }
}

#[tokio::main]
async fn main() -> compysition::Result<()> {
    tracing_subscriber::fmt()
        .with_target(false)
        .with_writer(std::io::stderr)
        .init();
    let args: Vec<String> = std::env::args().skip(1).collect();
    let endpoint = option(&args, "--connect").unwrap_or_else(|| "tcp://127.0.0.1:5555".to_string());
    let count: u64 = parsed(&args, "--requests", 1000)?;
    let client = MdpClient::connect(&endpoint)?
        .timeout(Duration::from_millis(parsed(&args, "--timeout-ms", 2500)?))
        .retries(parsed(&args, "--retries", 3)?)
        .with_concurrency(parsed(&args, "--concurrency", 32)?);
    let tally = Arc::new(Tally::default());
    let mut director = Director::new();
    let requests = director.register_actor(
        "requests",
        Requests {
            count,
            service: option(&args, "--service").unwrap_or_else(|| "echo".to_string()),
        },
    );
    let client = director.register_actor("mdp_client", client);
    let replies = director.register_actor("replies", Replies(Arc::clone(&tally)));
    director.connect_queue(&requests, &client);
    director.connect_queue(&client, &replies);
    director.connect_error_queue(&client, &replies);
    // Every request ends in a reply or a failure; then the flow drains and the run ends.
    director.start()?;
    director.wait().await?;
    let (answered, wrong, failed) = (
        tally.answered.load(Ordering::Relaxed),
        tally.wrong.load(Ordering::Relaxed),
        tally.failed.load(Ordering::Relaxed),
    );
    println!("answered={answered} wrong={wrong} failed={failed}");
    if answered == count {
        Ok(())
    } else {
        std::process::exit(1)
    }
}
