// An actor that answers requests must send them somewhere: an outbox that feeds nothing is an
// error at its declaration.
use compysition::actors::EventGenerator;
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

fn main() {
    let _topology = topology! {
        generator = EventGenerator::once("ping".to_string());
        server = Server;
        generator -> server;
    };
}
