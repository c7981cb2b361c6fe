//! The one-way example of the Python README:
//! an event generator emits `test` every second, copied to two `Stdout` actors.
//!
//! ```text
//! cargo run --example one_way
//! [2026-11-28 16:56:35.850659] I am number one: test
//! [2026-11-28 16:56:35.850913] I am number two: test
//! ```
//!
//! Ctrl-C stops it cleanly.

use std::time::Duration;

use compysition::actors::{EventGenerator, Stdout};
use compysition::Director;

#[tokio::main]
async fn main() -> compysition::Result<()> {
    let mut director = Director::new();
    let event_generator = director.register_actor(
        "event_generator",
        EventGenerator::every(Duration::from_secs(1)),
    );
    let output_one = director.register_actor(
        "output_one",
        Stdout::new().prefix("I am number one: ").timestamp(true),
    );
    let output_two = director.register_actor(
        "output_two",
        Stdout::new().prefix("I am number two: ").timestamp(true),
    );

    director.connect_queue(&event_generator, [&output_one, &output_two]);

    director.run_until_signal().await
}
