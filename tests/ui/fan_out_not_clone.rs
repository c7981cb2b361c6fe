// A fan-out copies every event to each inbox, so its payload must be `Clone`: the error points
// at the fan-out edge, once per outbox.
use compysition::actors::Null;
use compysition::prelude::*;

/// Not `Clone`.
pub struct Ticket(pub u64);

#[actor]
async fn issue(event: Event<String>) -> Event<Ticket> {
    event.map(|_| Ticket(1))
}

#[actor]
async fn reissue(event: Event<String>) -> Event<Ticket> {
    event.map(|_| Ticket(2))
}

fn main() {
    let _topology = topology! {
        source = compysition::actors::EventGenerator::once("go".to_string());
        issuer = issue;
        reissuer = reissue;
        audit = Null::<Ticket>::new();
        desk = Null::<Ticket>::new();
        archive = Null::<Ticket>::new();
        source -> [issuer, reissuer];
        issuer -> [audit, desk];
        reissuer -> audit;
        reissuer -> archive;
    };
}
