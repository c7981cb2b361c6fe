//! `#[actor]` on functions: every return shape, async and plain, in `topology!` and on a
//! `Director`.

mod support;

use std::time::Duration;

use compysition::actors::EventGenerator;
use compysition::prelude::*;
use support::collect;

/// Doubles a number.
#[actor]
async fn double(event: Event<u32>) -> Result<Event<u32>, EventError> {
    Ok(event.map(|n| n * 2))
}

#[actor]
fn describe(event: Event<u32>) -> Event<String> {
    event.map(|n| format!("n={n}"))
}

#[actor]
async fn only_even(event: Event<u32>) -> Option<Event<u32>> {
    event.data.is_multiple_of(2).then_some(event)
}

#[actor]
fn refuse_three(event: Event<u32>) -> Result<Option<Event<u32>>, EventError> {
    match event.data {
        3 => Err(EventError::malformed("three is refused")),
        5 => Ok(None),
        _ => Ok(Some(event)),
    }
}

#[tokio::test]
async fn a_function_actor_transforms_every_event() {
    let (sink, mut kept) = collect();
    let topology = topology! {
        source = EventGenerator::once(21u32);
        doubler = double;
        sink = sink;
        source -> doubler -> sink;
    };
    topology.run().await.expect("runs");
    assert_eq!(kept.payloads().await, [42]);
}

#[tokio::test]
async fn a_plain_function_changes_the_payload_type() {
    let (sink, mut kept) = collect::<String>();
    let topology = topology! {
        source = EventGenerator::once(7u32);
        describe = describe;
        sink = sink;
        source -> describe -> sink;
    };
    topology.run().await.expect("runs");
    assert_eq!(kept.payloads().await, ["n=7".to_string()]);
}

#[tokio::test]
async fn returning_none_drops_the_event_on_purpose() {
    let (sink, mut kept) = collect();
    let numbers = [1u32, 2, 3, 4];
    let topology = topology! {
        one = EventGenerator::once(numbers[0]);
        two = EventGenerator::once(numbers[1]);
        three = EventGenerator::once(numbers[2]);
        four = EventGenerator::once(numbers[3]);
        filter = only_even.ordered();
        sink = sink;
        [one, two, three, four] -> filter -> sink;
    };
    topology.run().await.expect("runs");
    let mut kept = kept.payloads().await;
    kept.sort_unstable();
    assert_eq!(kept, [2, 4]);
}

#[tokio::test]
async fn an_err_goes_to_the_error_edge_and_none_to_nowhere() {
    let (sink, mut kept) = collect();
    let (errors, mut failures) = collect::<u32>();
    let topology = topology! {
        three = EventGenerator::once(3u32);
        four = EventGenerator::once(4u32);
        five = EventGenerator::once(5u32);
        gate = refuse_three;
        sink = sink;
        errors = errors;
        [three, four, five] -> gate -> sink;
        gate !-> errors;
    };
    topology.run().await.expect("runs");
    assert_eq!(kept.payloads().await, [4]);
    assert_eq!(failures.error_messages().await, ["three is refused"]);
    assert!(failures.payloads().await.is_empty());
}

#[tokio::test]
async fn the_generated_actor_registers_on_a_director_too() {
    let (sink, mut kept) = collect();
    let mut director = Director::new();
    let source = director.register_actor(
        "source",
        EventGenerator::every(Duration::from_millis(1))
            .data(5u32)
            .count(3),
    );
    let doubler = director.register_actor("doubler", double);
    let sink = director.register_actor("sink", sink);
    director.connect_queue(&source, &doubler);
    director.connect_queue(&doubler, &sink);
    director.start().expect("starts");
    director.wait().await.expect("runs");
    assert_eq!(kept.payloads().await, [10, 10, 10]);
}

#[tokio::test]
async fn the_handler_stays_callable_as_a_function() {
    let doubled = double::handle(Event::new(4)).await.expect("doubles");
    assert_eq!(doubled.data, 8);
    assert_eq!(describe::handle(Event::new(1)).data, "n=1");
}
