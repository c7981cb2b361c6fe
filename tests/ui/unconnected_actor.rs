// A declared actor that no edge touches: the error points at its declaration.
use compysition::actors::{EventGenerator, Null, Stdout};
use compysition::prelude::*;

fn main() {
    let _topology = topology! {
        generator = EventGenerator::once("ping".to_string());
        sink = Null::<String>::new();
        printer = Stdout::new();
        generator -> sink;
    };
}
