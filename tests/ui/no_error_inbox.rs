// `!->` routes errors to an actor's error inbox: its target must have one.
use compysition::actors::{Data, EventGenerator, Null};
use compysition::prelude::*;

fn main() {
    let _topology = topology! {
        generator = EventGenerator::once("ping".to_string());
        data = Data::new("pong".to_string());
        sink = Null::<String>::new();
        generator -> data -> sink;
        sink !-> data;
    };
}
