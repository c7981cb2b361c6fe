//! A tour of the DSL: a function actor, a stateful actor with named outboxes, a fan-out and an
//! error edge, declared with `topology!` and checked at compile time.
//!
//! ```text
//! cargo run --example orders            # runs the flow once
//! cargo run --example orders -- mermaid # prints the topology as a Mermaid flowchart
//! ```

use std::sync::atomic::{AtomicU64, Ordering};

use compysition::actors::{EventGenerator, EventLogger, Stdout};
use compysition::prelude::*;

/// Reads an order amount from text; anything else is a malformed event.
#[actor]
fn parse_amount(event: Event<String>) -> Result<Event<u64>, EventError> {
    let amount = event.data.trim().parse::<u64>();
    match amount {
        Ok(amount) => Ok(event.with_data(amount)),
        Err(e) => Err(EventError::malformed(format!("not an amount: {e}"))),
    }
}

/// Accepts amounts up to a limit, and counts what it accepted.
#[actor(inboxes(amounts: u64), outboxes(accepted: String, refused: String))]
pub struct Approver {
    limit: u64,
    total: AtomicU64,
}

#[actor]
impl Approver {
    #[inbox]
    async fn amounts(&self, event: Event<u64>, out: &ApproverOutboxes) {
        let amount = event.data;
        if amount <= self.limit {
            let total = self.total.fetch_add(amount, Ordering::Relaxed) + amount;
            out.accepted
                .send(event.map(|a| format!("accepted {a} (total {total})")))
                .await;
        } else {
            out.refused
                .send(event.map(|a| format!("refused {a}: over {}", self.limit)))
                .await;
        }
    }
}

#[tokio::main]
async fn main() -> compysition::Result<()> {
    let topology = topology! {
        orders   = EventGenerator::once("120".to_string());
        typos    = EventGenerator::once("12O".to_string());
        parser   = parse_amount;
        approver = Approver { limit: 100, total: AtomicU64::new(0) };
        audit    = EventLogger::<String>::new();
        desk     = Stdout::new().prefix("desk: ");
        errors   = Stdout::new().prefix("error: ");

        [orders, typos] -> parser -> approver;
        approver.accepted -> [audit, desk];
        approver.refused -> desk;
        parser !-> errors;
    };
    if std::env::args().nth(1).as_deref() == Some("mermaid") {
        print!("{}", topology.to_mermaid());
        return Ok(());
    }
    topology.run().await
}
