//! How events move: fan-out, funnels, conversions, error edges, panics, concurrency.

mod support;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use compysition::prelude::*;
use compysition::{ErrorKind, Json};
use support::{collect, feed};

#[tokio::test]
async fn fan_out_gives_every_inbox_its_own_copy() {
    let mut director = Director::new();
    let (source, tx) = feed::<String>(8);
    let (sink_a, mut got_a) = collect::<String>();
    let (sink_b, mut got_b) = collect::<String>();
    let source = director.register_actor("source", source);
    // One receiver changes its copy; the other must not see the change.
    let shout = director.register_actor(
        "shout",
        from_fn(|event: Event<String>| async move {
            Ok(event
                .map(|s| s.to_uppercase())
                .with_attribute("seen_by", "shout"))
        }),
    );
    let a = director.register_actor("a", sink_a);
    let b = director.register_actor("b", sink_b);
    director.connect_queue(&source, (&shout, &b));
    director.connect_queue(&shout, &a);
    director.start().expect("valid topology");

    let sent = Event::new("hello".to_string());
    let id = sent.id();
    tx.send(sent).await.expect("source running");
    drop(tx);
    director.wait().await.expect("finishes by itself");

    let (a, b) = (got_a.events().await, got_b.events().await);
    assert_eq!((a.len(), b.len()), (1, 1));
    assert_eq!((a[0].id(), b[0].id()), (id, id), "copies keep the envelope");
    assert_eq!(a[0].data, "HELLO");
    assert_eq!(a[0].attribute("seen_by"), Some("shout"));
    assert_eq!(b[0].data, "hello", "b's copy is untouched by a's changes");
    assert_eq!(b[0].attribute("seen_by"), None);
}

#[tokio::test]
async fn funnels_merge_many_edges_into_one_inbox() {
    let mut director = Director::new();
    let (one, tx_one) = feed::<String>(8);
    let (two, tx_two) = feed::<String>(8);
    let (sink, mut got) = collect::<String>();
    let one = director.register_actor("one", one);
    let two = director.register_actor("two", two);
    let sink = director.register_actor("sink", sink);
    director.connect_queue(&one, &sink);
    director.connect_queue(&two, &sink);
    director.start().expect("valid topology");
    for i in 0..50 {
        tx_one
            .send(Event::new(format!("one-{i}")))
            .await
            .expect("running");
        tx_two
            .send(Event::new(format!("two-{i}")))
            .await
            .expect("running");
    }
    drop((tx_one, tx_two));
    director.wait().await.expect("finishes");
    let mut data: Vec<String> = got.events().await.into_iter().map(|e| e.data).collect();
    data.sort();
    let mut expected: Vec<String> = (0..50)
        .flat_map(|i| [format!("one-{i}"), format!("two-{i}")])
        .collect();
    expected.sort();
    assert_eq!(data, expected);
}

#[tokio::test]
async fn error_edges_carry_the_error_with_the_envelope() {
    let mut director = Director::new();
    let (source, tx) = feed::<String>(8);
    let (sink, mut got) = collect::<String>();
    let (errors, mut failed) = collect::<String>();
    let source = director.register_actor("source", source);
    let check = director.register_actor(
        "check",
        from_fn(|event: Event<String>| async move {
            if event.data.is_empty() {
                Err(EventError::unprocessable("empty order"))
            } else {
                Ok(event)
            }
        }),
    );
    let sink = director.register_actor("sink", sink);
    let errors = director.register_actor("errors", errors);
    director.connect_queue(&source, &check);
    director.connect_queue(&check, &sink);
    director.connect_error_queue(&check, &errors);
    director.start().expect("valid topology");

    let mut bad = Event::new(String::new());
    bad.set_meta_id("order-7");
    let bad_id = bad.id();
    tx.send(bad).await.expect("running");
    tx.send(Event::new("fine".to_string()))
        .await
        .expect("running");
    drop(tx);
    director.wait().await.expect("finishes");

    let errors = failed.error_events().await;
    assert_eq!(errors.len(), 1);
    let error = errors[0].error().expect("an error event carries its error");
    assert_eq!(error.kind(), ErrorKind::Unprocessable);
    assert_eq!(error.kind(), ErrorKind::Unprocessable);
    assert_eq!(error.message(), "empty order");
    assert_eq!(error.actor(), Some("check"));
    assert_eq!(errors[0].id(), bad_id);
    assert_eq!(errors[0].meta_id(), "order-7");
    let passed: Vec<String> = got.events().await.into_iter().map(|e| e.data).collect();
    assert_eq!(passed, ["fine"]);
}

#[tokio::test]
async fn a_panicking_handler_yields_an_error_event_and_the_actor_serves_the_next() {
    let mut director = Director::new();
    let (source, tx) = feed::<String>(8);
    let (sink, mut got) = collect::<String>();
    let (errors, mut failed) = collect::<String>();
    let source = director.register_actor("source", source);
    let fragile = director.register_actor(
        "fragile",
        from_fn(|event: Event<String>| async move {
            if event.data == "boom" {
                panic!("cannot handle {}", event.data);
            }
            Ok(event)
        })
        .ordered(),
    );
    let sink = director.register_actor("sink", sink);
    let errors = director.register_actor("errors", errors);
    director.connect_queue(&source, &fragile);
    director.connect_queue(&fragile, &sink);
    director.connect_error_queue(&fragile, &errors);
    director.start().expect("valid topology");

    let boom = Event::new("boom".to_string());
    let boom_id = boom.id();
    for event in [
        Event::new("a".to_string()),
        boom,
        Event::new("c".to_string()),
    ] {
        tx.send(event).await.expect("running");
    }
    drop(tx);
    director.wait().await.expect("finishes");

    let passed: Vec<String> = got.events().await.into_iter().map(|e| e.data).collect();
    assert_eq!(passed, ["a", "c"], "the actor kept serving after the panic");
    let errors = failed.error_events().await;
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0].id(), boom_id);
    let error = errors[0].error().expect("error set");
    assert_eq!(error.kind(), ErrorKind::Internal);
    assert!(
        error.message().contains("cannot handle boom"),
        "{}",
        error.message()
    );
}

#[tokio::test]
async fn a_failed_conversion_goes_to_the_receivers_error_outbox_as_400() {
    let mut director = Director::new();
    let (source, tx) = feed::<String>(8);
    let (sink, mut got) = collect::<Json>();
    let (errors, mut failed) = collect::<String>();
    let source = director.register_actor("source", source);
    let parser = director.register_actor(
        "parser",
        from_fn(|event: Event<Json>| async move { Ok(event) }),
    );
    let sink = director.register_actor("sink", sink);
    let errors = director.register_actor("errors", errors);
    director.connect_queue(&source, &parser); // String -> Json: parsed on the edge
    director.connect_queue(&parser, &sink);
    director.connect_error_queue(&parser, &errors);
    director.start().expect("valid topology");

    tx.send(Event::new(r#"{"n": 1}"#.to_string()))
        .await
        .expect("running");
    tx.send(Event::new("{not json".to_string()))
        .await
        .expect("running");
    drop(tx);
    director.wait().await.expect("finishes");

    let parsed = got.events().await;
    assert_eq!(parsed.len(), 1);
    assert_eq!(parsed[0].data["n"], 1);
    let errors = failed.error_events().await;
    assert_eq!(errors.len(), 1);
    let error = errors[0].error().expect("error set");
    assert_eq!(error.kind(), ErrorKind::Malformed);
    assert_eq!(
        error.actor(),
        Some("parser"),
        "the receiver rejected its input"
    );
    assert!(
        error
            .message()
            .contains("cannot convert `String` to `Json`"),
        "{}",
        error.message()
    );
}

#[tokio::test(start_paused = true)]
async fn ordered_actors_keep_arrival_order() {
    let mut director = Director::new();
    let (source, tx) = feed::<u64>(64);
    let (sink, mut got) = collect::<u64>();
    let source = director.register_actor("source", source);
    // Later events take less time: concurrent handling would reorder them.
    let slow = director.register_actor(
        "slow",
        from_fn(|event: Event<u64>| async move {
            tokio::time::sleep(Duration::from_millis(100 - event.data)).await;
            Ok(event)
        })
        .ordered(),
    );
    let sink = director.register_actor("sink", sink);
    director.connect_queue(&source, &slow);
    director.connect_queue(&slow, &sink);
    director.start().expect("valid topology");
    for i in 0..50 {
        tx.send(Event::new(i)).await.expect("running");
    }
    drop(tx);
    director.wait().await.expect("finishes");
    let order: Vec<u64> = got.events().await.into_iter().map(|e| e.data).collect();
    assert_eq!(order, (0..50).collect::<Vec<_>>());
}

#[tokio::test(start_paused = true)]
async fn concurrency_is_bounded_per_actor() {
    let in_flight = Arc::new(AtomicUsize::new(0));
    let most = Arc::new(AtomicUsize::new(0));
    let mut director = Director::new();
    let (source, tx) = feed::<u64>(64);
    let (sink, mut got) = collect::<u64>();
    let source = director.register_actor("source", source);
    let (now, peak) = (Arc::clone(&in_flight), Arc::clone(&most));
    let worker = director.register_actor(
        "worker",
        from_fn(move |event: Event<u64>| {
            let (now, peak) = (Arc::clone(&now), Arc::clone(&peak));
            async move {
                let current = now.fetch_add(1, Ordering::SeqCst) + 1;
                peak.fetch_max(current, Ordering::SeqCst);
                tokio::time::sleep(Duration::from_millis(10)).await;
                now.fetch_sub(1, Ordering::SeqCst);
                Ok(event)
            }
        })
        .with_concurrency(4),
    );
    let sink = director.register_actor("sink", sink);
    director.connect_queue(&source, &worker);
    director.connect_queue(&worker, &sink);
    director.start().expect("valid topology");
    for i in 0..40 {
        tx.send(Event::new(i)).await.expect("running");
    }
    drop(tx);
    director.wait().await.expect("finishes");
    assert_eq!(got.events().await.len(), 40);
    assert_eq!(
        most.load(Ordering::SeqCst),
        4,
        "exactly the limit ran at once"
    );
}

#[tokio::test]
async fn tuple_fan_out_converts_per_inbox() {
    let mut director = Director::new();
    let (source, tx) = feed::<String>(8);
    let (text_sink, mut text) = collect::<String>();
    let (json_sink, mut json) = collect::<Json>();
    let source = director.register_actor("source", source);
    let text_sink = director.register_actor("text", text_sink);
    let json_sink = director.register_actor("json", json_sink);
    director.connect_queue(&source, (&text_sink, &json_sink));
    director.start().expect("valid topology");
    tx.send(Event::new("[1, 2]".to_string()))
        .await
        .expect("running");
    drop(tx);
    director.wait().await.expect("finishes");
    assert_eq!(text.events().await[0].data, "[1, 2]");
    assert_eq!(json.events().await[0].data[1], 2);
}

/// Two named inboxes, written by hand (what `#[actor]` generates).
struct TwoInboxes {
    left: Inbox<u64>,
    right: Inbox<u64>,
}

impl compysition::ports::InboxSet for TwoInboxes {
    type Refs = (
        compysition::ports::InPort<u64>,
        compysition::ports::InPort<u64>,
    );

    fn specs() -> Vec<compysition::ports::PortSpec> {
        vec![
            compysition::ports::PortSpec::inbox::<u64>("left"),
            compysition::ports::PortSpec::inbox::<u64>("right"),
        ]
    }

    fn refs(actor: &compysition::ports::ActorRef) -> Self::Refs {
        (
            compysition::ports::InPort::new(actor.clone(), Some("left")),
            compysition::ports::InPort::new(actor.clone(), Some("right")),
        )
    }

    fn assemble(
        ports: &mut compysition::ports::PortBundle,
    ) -> Result<Self, compysition::ports::PortMismatch> {
        Ok(TwoInboxes {
            left: ports.inbox()?,
            right: ports.inbox()?,
        })
    }
}

/// Works on events from both inboxes, recording how many handlers run at once.
struct Both {
    now: Arc<AtomicUsize>,
    peak: Arc<AtomicUsize>,
}

impl Actor for Both {
    type Inboxes = TwoInboxes;
    type Outboxes = Outbox<u64>;

    async fn run(self, ctx: Context, inboxes: TwoInboxes, outbox: Outbox<u64>) {
        let handle = |event: Event<u64>| {
            let (now, peak, outbox) = (&self.now, &self.peak, &outbox);
            async move {
                peak.fetch_max(now.fetch_add(1, Ordering::SeqCst) + 1, Ordering::SeqCst);
                tokio::time::sleep(Duration::from_millis(10)).await;
                now.fetch_sub(1, Ordering::SeqCst);
                outbox.send(event).await;
                Ok(())
            }
        };
        tokio::join!(
            ctx.serve(inboxes.left, handle),
            ctx.serve(inboxes.right, handle)
        );
    }
}

#[tokio::test(start_paused = true)]
async fn the_concurrency_limit_counts_handlers_of_every_inbox_of_an_actor() {
    let peak = Arc::new(AtomicUsize::new(0));
    let mut director = Director::new();
    let (left, tx_left) = feed::<u64>(64);
    let (right, tx_right) = feed::<u64>(64);
    let (sink, mut got) = collect::<u64>();
    let left = director.register_actor("left", left);
    let right = director.register_actor("right", right);
    let both = director.register_actor(
        "both",
        Both {
            now: Arc::new(AtomicUsize::new(0)),
            peak: Arc::clone(&peak),
        }
        .with_concurrency(3),
    );
    let sink = director.register_actor("sink", sink);
    let (to_left, to_right) = both.inboxes();
    director.connect_queue(&left, to_left);
    director.connect_queue(&right, to_right);
    director.connect_queue(&both, &sink);
    director.start().expect("valid topology");
    for i in 0..30 {
        tx_left.send(Event::new(i)).await.expect("running");
        tx_right.send(Event::new(100 + i)).await.expect("running");
    }
    drop((tx_left, tx_right));
    director.wait().await.expect("finishes");
    assert_eq!(got.events().await.len(), 60);
    assert_eq!(
        peak.load(Ordering::SeqCst),
        3,
        "three at once, over both inboxes"
    );
}
