// An actor with an inbox that no edge feeds: the error points at its declaration.
use compysition::actors::{Data, Null};
use compysition::prelude::*;

fn main() {
    let _topology = topology! {
        data = Data::new("pong".to_string());
        sink = Null::<String>::new();
        data -> sink;
    };
}
