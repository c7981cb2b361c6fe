//! A subscriber that takes only warnings still sees each record's actor and `meta_id`.
//!
//! Alone in its test binary: tracing caches per call site whether anybody is interested, and a
//! scoped subscriber installed while other tests register call sites on other threads can find
//! a stale answer cached.

mod support;

use compysition::prelude::*;
use support::{collect, feed, Shared};

#[tokio::test]
async fn a_subscriber_for_warnings_only_still_sees_actor_and_meta_id() {
    let written = Shared::default();
    let writer = written.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::WARN)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    // This test's runtime runs every task on this thread, where the subscriber is the default.
    let _default = tracing::subscriber::set_default(subscriber);
    let mut director = Director::new();
    let (source, tx) = feed::<String>(4);
    let source = director.register_actor("source", source);
    let wary = director.register_actor(
        "wary",
        from_fn(|event: Event<String>| async move {
            tracing::warn!("looks odd");
            Ok(event)
        }),
    );
    let (sink, _kept) = collect::<String>();
    let sink = director.register_actor("sink", sink);
    director.connect_queue(&source, &wary);
    director.connect_queue(&wary, &sink);
    director.start().expect("valid topology");
    let mut event = Event::new("order".to_string());
    event.set_meta_id("request-7");
    tx.send(event).await.expect("running");
    drop(tx);
    director.wait().await.expect("finishes");
    let lines = written.lines();
    let warning = lines
        .iter()
        .find(|l| l.contains("looks odd"))
        .unwrap_or_else(|| panic!("the warning was written: {lines:?}"));
    assert!(warning.contains("actor=wary"), "{warning}");
    assert!(warning.contains("meta_id=request-7"), "{warning}");
}
