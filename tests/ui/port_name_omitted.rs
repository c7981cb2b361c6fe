// An edge that names no port, on an actor with several (or no) ports on that side: the error
// points at the actor's name.
use compysition::actors::{EventGenerator, Null};
use compysition::prelude::*;

#[actor(inboxes(left: String, right: String), outboxes(ok: String, rejected: String))]
pub struct Merger;

#[actor]
impl Merger {
    #[inbox]
    async fn left(&self, event: Event<String>, out: &MergerOutboxes) {
        out.ok.send(event).await;
    }

    #[inbox]
    async fn right(&self, event: Event<String>, out: &MergerOutboxes) {
        out.rejected.send(event).await;
    }
}

fn main() {
    let _topology = topology! {
        generator = EventGenerator::once("a".to_string());
        merger = Merger;
        sink = Null::<String>::new();
        after_sink = Null::<String>::new();
        generator -> merger;
        merger -> sink;
        sink -> after_sink;
    };
}
