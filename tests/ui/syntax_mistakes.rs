// Mistakes in the statements themselves; every one is reported in the same build.
use compysition::actors::{EventGenerator, Null};
use compysition::prelude::*;

fn main() {
    let _topology = topology! {
        #![capacity = 0]
        generator = EventGenerator::once("ping".to_string());
        sink = Null::<String>::new();
        generator;
        generator -> ;
        #[buffer = 10]
        generator -> sink;
        generator -> [];
    };
}
