// `#[actor]` functions take one `Event<T>` and return an event (or an optional one, or a
// `Result` of either).
use compysition::prelude::*;

#[actor]
async fn no_event(text: String) -> Event<String> {
    Event::new(text)
}

#[actor]
async fn two_events(a: Event<String>, b: Event<String>) -> Event<String> {
    let _ = b;
    a
}

#[actor]
async fn returns_text(event: Event<String>) -> String {
    event.data
}

#[actor]
async fn returns_nothing(event: Event<String>) {
    let _ = event;
}

#[actor(concurrency = 4)]
async fn with_arguments(event: Event<String>) -> Event<String> {
    event
}

fn main() {}
