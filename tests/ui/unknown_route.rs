// A misspelt route: in `topology!` the error points at the route's name with the closest
// declared one, and so does a misspelt route constant in the router's rules.
use compysition::actors::{EventGenerator, Null, Router};
use compysition::prelude::*;
use compysition::routing::Filter;

routes! {
    pub OrderLanes: String { express, bulk, standard }
}

fn main() {
    let router = Router::<OrderLanes>::first_match()
        .route(OrderLanes::expres, Filter::payload("fast").expect("compiles"))
        .otherwise(OrderLanes::standard);
    let _topology = topology! {
        orders = EventGenerator::once("fast".to_string());
        router = router;
        fast_lane = Null::<String>::new();
        trucks = Null::<String>::new();
        orders -> router;
        router.expres -> fast_lane;
        router.blk -> trucks;
    };
}
