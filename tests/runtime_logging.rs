//! Log records as events, and the built-in sources and sinks.

mod support;

use std::time::Duration;

use compysition::actors::{Data, EventGenerator, EventLogger, Stdout};
use compysition::logging::LogRecord;
use compysition::prelude::*;
use support::{collect, feed, Shared};

#[tokio::test]
async fn the_log_actor_receives_records_with_actor_name_and_meta_id() {
    let mut director = Director::new();
    let (source, tx) = feed::<String>(4);
    let (log, mut records) = collect::<LogRecord>();
    // Registered first, so its task reaches the runtime's log call sites before the others do.
    director.register_log_actor("log", log);
    let source = director.register_actor("source", source);
    let talker = director.register_actor(
        "talker",
        from_fn(|event: Event<String>| async move {
            tracing::info!(length = event.data.len(), "handling {}", event.data);
            Ok(event)
        }),
    );
    let failing = director.register_actor(
        "failing",
        from_fn(|_: Event<String>| async move {
            Err::<Event<String>, _>(EventError::forbidden("no entry"))
        }),
    );
    director.connect_queue(&source, &talker);
    director.connect_queue(&talker, &failing);
    director.start().expect("valid topology");
    let mut event = Event::new("order".to_string());
    event.set_meta_id("request-42");
    tx.send(event).await.expect("running");
    drop(tx);
    director.wait().await.expect("finishes");

    let records = records.events().await;
    let handled = records
        .iter()
        .map(|r| &r.data)
        .find(|r| r.message == "handling order")
        .expect("the handler's record arrived");
    assert_eq!(handled.actor.as_deref(), Some("talker"));
    assert_eq!(handled.meta_id.as_deref(), Some("request-42"));
    assert_eq!(handled.fields, "length=5");
    assert_eq!(handled.level, tracing::Level::INFO);
    // The default error actor logs the failure, and that record reaches the log actor too.
    let failure = records
        .iter()
        .map(|r| &r.data)
        .find(|r| r.message == "event failed")
        .expect("the failure was logged");
    assert_eq!(failure.meta_id.as_deref(), Some("request-42"));
    assert_eq!(failure.actor.as_deref(), Some("failing"));
    assert!(
        failure.fields.contains("kind=forbidden"),
        "{}",
        failure.fields
    );
}

/// `[2026-11-28 16:56:35.850659] ` — the Python project's timestamp prefix.
fn strip_timestamp(line: &str) -> Option<&str> {
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    let (stamp, rest) = line.strip_prefix('[')?.split_once("] ")?;
    let (date, time) = stamp.split_once(' ')?;
    let date: Vec<&str> = date.split('-').collect();
    let (hms, micros) = time.split_once('.')?;
    let hms: Vec<&str> = hms.split(':').collect();
    let shape = date.len() == 3
        && [4, 2, 2] == [date[0].len(), date[1].len(), date[2].len()]
        && hms.len() == 3
        && hms.iter().all(|p| p.len() == 2)
        && micros.len() == 6
        && date.iter().chain(&hms).all(|p| digits(p))
        && digits(micros);
    shape.then_some(rest)
}

#[tokio::test]
async fn one_way_prints_each_event_to_both_outputs_with_timestamps() {
    let (one_out, two_out) = (Shared::default(), Shared::default());
    let mut director = Director::new();
    let generator = director.register_actor(
        "event_generator",
        EventGenerator::every(Duration::from_millis(5)).count(3),
    );
    let one = director.register_actor(
        "output_one",
        Stdout::new()
            .prefix("I am number one: ")
            .timestamp(true)
            .writer(one_out.clone()),
    );
    let two = director.register_actor(
        "output_two",
        Stdout::new()
            .prefix("I am number two: ")
            .timestamp(true)
            .writer(two_out.clone()),
    );
    director.connect_queue(&generator, [&one, &two]);
    director.start().expect("valid topology");
    director.wait().await.expect("ends after three events");
    for (out, expected) in [
        (one_out, "I am number one: test"),
        (two_out, "I am number two: test"),
    ] {
        let lines = out.lines();
        assert_eq!(lines.len(), 3, "{lines:?}");
        for line in &lines {
            assert_eq!(strip_timestamp(line), Some(expected), "{line}");
        }
    }
}

#[tokio::test]
async fn stdout_prints_errors_routed_to_it_and_whole_events_on_request() {
    let out = Shared::default();
    let mut director = Director::new();
    let generator = director.register_actor("generator", EventGenerator::once("x".to_string()));
    let reject = director.register_actor(
        "reject",
        from_fn(|_: Event<String>| async move {
            Err::<Event<String>, _>(EventError::not_found("no such order"))
        }),
    );
    let complete =
        director.register_actor("printer", Stdout::new().complete(true).writer(out.clone()));
    let errors = director.register_actor("errors", Stdout::new().prefix("E: ").writer(out.clone()));
    director.connect_queue(&generator, (&reject, &complete));
    director.connect_error_queue(&reject, &errors);
    director.start().expect("valid topology");
    director.wait().await.expect("finishes");
    let lines = out.lines();
    assert!(
        lines.contains(&"E: ERROR not found: no such order".to_string()),
        "{lines:?}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("Event { id: ") && l.ends_with("data: \"x\" }")),
        "{lines:?}"
    );
}

#[tokio::test]
async fn data_and_event_logger_keep_the_envelope() {
    let mut director = Director::new();
    let (source, tx) = feed::<u64>(4);
    let (sink, mut got) = collect::<String>();
    let source = director.register_actor("source", source);
    let data = director.register_actor(
        "data",
        Data::new("Hello, this has been a test".to_string()).taking::<u64>(),
    );
    let logger = director.register_actor("logger", EventLogger::<String>::new());
    let sink = director.register_actor("sink", sink);
    director.connect_queue(&source, &data);
    director.connect_queue(&data, &logger);
    director.connect_queue(&logger, &sink);
    director.start().expect("valid topology");
    let event = Event::new(7).with_service("test_service");
    let id = event.id();
    tx.send(event).await.expect("running");
    drop(tx);
    director.wait().await.expect("finishes");
    let got = got.events().await;
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].data, "Hello, this has been a test");
    assert_eq!(got[0].id(), id);
    assert_eq!(got[0].service(), Some("test_service"));
}

#[tokio::test(start_paused = true)]
async fn a_generator_stops_emitting_when_the_topology_stops() {
    let mut director = Director::new();
    let (sink, mut got) = collect::<String>();
    let generator =
        director.register_actor("generator", EventGenerator::every(Duration::from_secs(1)));
    let sink = director.register_actor("sink", sink);
    director.connect_queue(&generator, &sink);
    director.start().expect("valid topology");
    // Paused time: advances exactly 2.5 s of generator ticks (at 0, 1 and 2 s).
    tokio::time::sleep(Duration::from_millis(2_500)).await;
    director.stop().await.expect("stops");
    assert_eq!(got.events().await.len(), 3);
}
