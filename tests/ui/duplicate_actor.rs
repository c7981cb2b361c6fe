// Two declarations with one name: the error points at the second.
use compysition::actors::{EventGenerator, Null};
use compysition::prelude::*;

fn main() {
    let _topology = topology! {
        generator = EventGenerator::once("ping".to_string());
        sink = Null::<String>::new();
        generator = EventGenerator::once("pong".to_string());
        generator -> sink;
    };
}
