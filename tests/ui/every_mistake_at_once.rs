// Name-level and type-level mistakes in one block are all reported by one build.
use compysition::actors::{Data, EventGenerator, Null};
use compysition::prelude::*;

fn main() {
    let _topology = topology! {
        generator = EventGenerator::once(1u32);
        data = Data::new("pong".to_string());
        sink = Null::<String>::new();
        lonely = Null::<String>::new();
        generator -> data;
        data -> snk;
        data -> sink;
        sink !-> data;
    };
}
