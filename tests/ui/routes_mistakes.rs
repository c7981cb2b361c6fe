// Mistakes in a route set's declaration, each at its token: a route declared twice, the name
// the set's own constant takes, and a set without routes.
use compysition::prelude::*;

routes! {
    pub Lanes: String { express, bulk, express, NAMES }
}

routes! {
    pub Nowhere: String {}
}

fn main() {}
