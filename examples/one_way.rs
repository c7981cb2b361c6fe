//! The one-way example of the Python README, declared with `topology!`:
//! an event generator emits `test` every second, copied to two `Stdout` actors.
//!
//! ```text
//! cargo run --example one_way
//! [2026-11-28 16:56:35.850659] I am number one: test
//! [2026-11-28 16:56:35.850913] I am number two: test
//! ```
//!
//! Ctrl-C stops it cleanly. `examples/one_way_director.rs` builds the same topology at run time
//! with the `Director`.

use std::time::Duration;

use compysition::actors::{EventGenerator, Stdout};
use compysition::topology;

#[tokio::main]
async fn main() -> compysition::Result<()> {
    let topology = topology! {
        event_generator = EventGenerator::every(Duration::from_secs(1));
        output_one      = Stdout::new().prefix("I am number one: ").timestamp(true);
        output_two      = Stdout::new().prefix("I am number two: ").timestamp(true);

        event_generator -> [output_one, output_two];
    };
    topology.run_until_signal().await
}
