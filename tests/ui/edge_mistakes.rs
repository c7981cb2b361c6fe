// Edges that parse but cannot mean anything: a port on an error edge, a port in the middle of a
// chain, the same edge twice. Every one is reported in the same build.
use compysition::actors::{Data, EventGenerator, Null};
use compysition::prelude::*;

fn main() {
    let _topology = topology! {
        generator = EventGenerator::once("ping".to_string());
        data = Data::new("pong".to_string());
        sink = Null::<String>::new();
        generator -> data.inbox -> sink;
        generator -> sink;
        generator -> sink;
        data.outbox !-> sink.errors;
    };
}
