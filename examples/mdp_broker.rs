//! A Majordomo (7/MDP with 8/MMI) broker in its own process.
//!
//! ```text
//! cargo run --example mdp_broker -- --bind tcp://*:5555
//! cargo run --example mdp_broker -- --bind tcp://*:5555 \
//!     --announce-to tcp://registry-host:6000 --advertise tcp://broker-host:5555
//! ```
//!
//! Options: `--heartbeat-ms N` (default 2500), `--liveness N` (default 3), `--expiry-ms N`
//! (how long a request waits for a worker, default 30000), `--max-message-size N` (octets, all
//! frames of a message together; default 16 MiB), `--announce-to` / `--advertise`
//! (announce this broker to an `MdpBrokerRegistrationService`). The first line on stdout says
//! where it listens (useful with port 0). Ctrl-C or SIGTERM stops it.

#[path = "support/args.rs"]
mod args;

use std::time::Duration;

use compysition::actors::MdpBroker;

use args::{option, parsed};

fn millis(args: &[String], name: &str, default: u64) -> compysition::Result<Duration> {
    parsed(args, name, default).map(Duration::from_millis)
}

#[tokio::main]
async fn main() -> compysition::Result<()> {
    tracing_subscriber::fmt().with_target(false).init();
    let args: Vec<String> = std::env::args().skip(1).collect();
    let bind = option(&args, "--bind").unwrap_or_else(|| "tcp://127.0.0.1:5555".to_string());
    let liveness = parsed(&args, "--liveness", 3)?;
    let max_message = parsed(
        &args,
        "--max-message-size",
        compysition::mdp::DEFAULT_MAX_MESSAGE_SIZE,
    )?;
    let mut broker = MdpBroker::bind(&bind)?
        .heartbeat_interval(millis(&args, "--heartbeat-ms", 2500)?)
        .heartbeat_liveness(liveness)
        .request_expiry(millis(&args, "--expiry-ms", 30_000)?)
        .max_message_size(max_message);
    if let Some(registry) = option(&args, "--announce-to") {
        let advertised =
            option(&args, "--advertise").unwrap_or_else(|| broker.endpoint().to_string());
        broker = broker.announce_to(&registry, &advertised)?;
    }
    println!("MDP broker listening on {}", broker.endpoint());
    broker.run_until(compysition::shutdown_signal()).await
}
