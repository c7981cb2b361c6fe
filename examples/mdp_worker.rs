//! A Majordomo echo worker in its own process: it answers every request with the request's
//! body frames unchanged (multi-frame bodies and empty frames included).
//!
//! ```text
//! cargo run --example mdp_worker -- --connect tcp://127.0.0.1:5555 --service echo
//! cargo run --example mdp_worker -- --discover tcp://registry-host:6000 --service echo --connections 4
//! ```
//!
//! Options: `--connections N` (requests handled at once, default 1), `--heartbeat-ms N`
//! (default 2500, same as the broker's), `--liveness N` (default 3). Ctrl-C or SIGTERM stops it
//! after it has answered what it took.

#[path = "support/args.rs"]
mod args;

use std::time::Duration;

use compysition::actors::MdpWorker;
use compysition::Director;

use args::{option, parsed};

#[tokio::main]
async fn main() -> compysition::Result<()> {
    tracing_subscriber::fmt().with_target(false).init();
    let args: Vec<String> = std::env::args().skip(1).collect();
    let service = option(&args, "--service").unwrap_or_else(|| "echo".to_string());
    let worker = match (option(&args, "--connect"), option(&args, "--discover")) {
        (_, Some(registry)) => MdpWorker::discover(&registry, &service)?,
        (Some(endpoint), None) => MdpWorker::connect(&endpoint, &service)?,
        (None, None) => MdpWorker::connect("tcp://127.0.0.1:5555", &service)?,
    };
    let worker = worker
        .connections(parsed(&args, "--connections", 1)?)
        .heartbeat(
            Duration::from_millis(parsed(&args, "--heartbeat-ms", 2500)?),
            parsed(&args, "--liveness", 3)?,
        );

    let mut director = Director::new();
    let worker = director.register_actor("mdp_worker", worker);
    // The worker's outbox feeds its own inbox: every request comes straight back as the reply.
    director.connect_queue(&worker, &worker);
    println!("MDP echo worker for `{service}`");
    director.run_until_signal().await
}
