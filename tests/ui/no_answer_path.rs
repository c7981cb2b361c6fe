// An actor that answers requests (like the HTTP server) needs a path of edges from its outbox
// back to it; without one, its requests could never be answered. The error points at its
// declaration.
use compysition::actors::{EventGenerator, Null};
use compysition::prelude::*;
use compysition::AnswersRequests;

/// Emits requests and waits for their answers on its inbox.
pub struct Server;

impl Actor for Server {
    type Inboxes = Inbox<String>;
    type Outboxes = Outbox<String>;

    async fn run(self, _ctx: Context, mut answers: Inbox<String>, _requests: Outbox<String>) {
        while answers.recv().await.is_some() {}
    }
}

impl AnswersRequests for Server {}

#[actor]
async fn handle(event: Event<String>) -> Event<String> {
    event
}

fn main() {
    let _topology = topology! {
        clients = EventGenerator::once("request".to_string());
        server = Server;
        handler = handle;
        sink = Null::<String>::new();
        clients -> server -> handler -> sink;
    };
}
