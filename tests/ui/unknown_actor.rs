// An edge names an actor that is not declared: the error points at the name and suggests the
// closest declared one.
use compysition::actors::{EventGenerator, Null};
use compysition::prelude::*;

fn main() {
    let _topology = topology! {
        generator = EventGenerator::once("ping".to_string());
        sink = Null::<String>::new();
        genrator -> sink;
        generator -> printer;
    };
}
