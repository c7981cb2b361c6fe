//! Unit tests of [`Splitter`](super::super::Splitter) and [`Aggregator`]: pieces and their
//! numbers, reassembly in order, batches by count and by time on tokio's paused clock, the
//! flush on a stop, timeouts and the bound on announced pieces.

use super::*;
use crate::actors::joining::Splitter;
use crate::error::ErrorKind;
use crate::payload::AnyPayload;
use crate::port::test_channel;
use serde_json::json;

/// An actor running in its own task: where to send, and what it sent.
struct Running<I, O> {
    input: Option<Outbox<I>>,
    out: Inbox<O>,
    errors: Inbox<AnyPayload>,
    _stop: tokio::sync::watch::Sender<bool>,
}

fn start<A, I, O>(actor: A) -> Running<I, O>
where
    A: Actor<Inboxes = Inbox<I>, Outboxes = Outbox<O>>,
    I: Send + 'static,
    O: Send + 'static,
{
    let (input, inbox) = test_channel(64);
    let (outbox, out) = test_channel(64);
    let (errors_tx, errors) = test_channel(64);
    let (ctx, stop) = Context::detached("under test", errors_tx);
    tokio::spawn(actor.run(ctx, inbox, outbox));
    Running {
        input: Some(input),
        out,
        errors,
        _stop: stop,
    }
}

impl<I: Send + 'static, O> Running<I, O> {
    async fn send(&self, event: Event<I>) {
        if let Some(input) = &self.input {
            input.send(event).await;
        }
    }
}

fn order() -> Event<Json> {
    let mut event = Event::new(Json::new(json!({"lines": [{"n": 1}, {"n": 2}, {"n": 3}]})));
    event.set_meta_id("order-9");
    event.with_attribute("lane", "fast")
}

#[tokio::test]
async fn pieces_are_numbered_and_put_back_in_order() {
    let mut splitter = start(Splitter::json_pointer("/lines"));
    let original = order();
    let id = original.id();
    splitter.send(original).await;
    let mut pieces = Vec::new();
    for index in 0..3 {
        let piece = splitter.out.recv().await.expect("a piece");
        assert_eq!(
            piece.attribute(SPLIT_INDEX),
            Some(index.to_string().as_str())
        );
        assert_eq!(piece.attribute(SPLIT_COUNT), Some("3"));
        assert_eq!(
            (piece.meta_id(), piece.attribute("lane")),
            (crate::event::MetaId::Given("order-9"), Some("fast"))
        );
        pieces.push(piece);
    }
    let mut aggregator = start(Aggregator::json().by_split());
    // Out of order, as a concurrent actor between them may send them.
    for index in [2, 0, 1] {
        aggregator.send(pieces[index].clone()).await;
    }
    let whole = aggregator.out.recv().await.expect("put back together");
    assert_eq!(whole.data.to_string(), r#"[{"n":1},{"n":2},{"n":3}]"#);
    assert_eq!(whole.id(), id, "the first piece's envelope, the original's");
    assert_eq!(whole.attribute(SPLIT_INDEX), None);
    assert_eq!(whole.attribute("lane"), Some("fast"));
}

#[tokio::test]
async fn no_array_at_the_pointer_is_malformed() {
    let mut splitter = start(Splitter::json_pointer("/missing"));
    splitter.send(order()).await;
    let failed = splitter.errors.recv().await.expect("refused");
    assert_eq!(
        failed.error().map(EventError::kind),
        Some(ErrorKind::Malformed)
    );
}

#[tokio::test(start_paused = true)]
async fn batches_go_at_their_count_or_their_window() {
    let aggregator = Aggregator::json().batches(Some(3), Some(Duration::from_secs(2)));
    let mut batches = start(aggregator);
    let started = Instant::now();
    for n in 0..4 {
        batches.send(Event::new(Json::new(json!(n)))).await;
    }
    let full = batches.out.recv().await.expect("by count");
    assert_eq!(
        (full.data.to_string(), started.elapsed()),
        ("[0,1,2]".to_string(), Duration::ZERO)
    );
    let late = batches.out.recv().await.expect("by time");
    assert_eq!(
        (late.data.to_string(), started.elapsed()),
        ("[3]".to_string(), Duration::from_secs(2))
    );
}

#[tokio::test]
async fn a_stop_sends_every_partial_batch_on() {
    let mut batches = start(Aggregator::json().batches(Some(10), None));
    for n in 0..2 {
        batches.send(Event::new(Json::new(json!(n)))).await;
    }
    let mut piece = Event::new(Json::new(json!("half")));
    piece.set_attribute(SPLIT_INDEX, "0");
    piece.set_attribute(SPLIT_COUNT, "2");
    let mut pieces = start(Aggregator::json().by_split());
    pieces.send(piece).await;
    batches.input = None;
    pieces.input = None;
    assert_eq!(
        batches.out.recv().await.map(|e| e.data.to_string()),
        Some("[0,1]".into())
    );
    assert_eq!(
        pieces.out.recv().await.map(|e| e.data.to_string()),
        Some(r#"["half"]"#.into())
    );
}

#[tokio::test(start_paused = true)]
async fn missing_pieces_time_out_and_announced_counts_are_bounded() {
    let mut aggregator = start(
        Aggregator::json()
            .timeout(Duration::from_secs(5))
            .max_pieces(10),
    );
    let mut piece = Event::new(Json::new(json!(1)));
    piece.set_attribute(SPLIT_INDEX, "1");
    piece.set_attribute(SPLIT_COUNT, "3");
    aggregator.send(piece).await;
    let mut greedy = Event::new(Json::new(json!(1)));
    greedy.set_attribute(SPLIT_INDEX, "0");
    greedy.set_attribute(SPLIT_COUNT, "1000000000");
    aggregator.send(greedy).await;
    let refused = aggregator.errors.recv().await.expect("bounded");
    let error = refused.error().expect("an error");
    assert_eq!(error.kind(), ErrorKind::Malformed);
    assert!(error.message().contains("above the limit of 10"), "{error}");
    let timed_out = aggregator.errors.recv().await.expect("timed out");
    let error = timed_out.error().expect("an error");
    assert_eq!(error.kind(), ErrorKind::Timeout);
    assert!(error.message().starts_with("2 of 3 pieces"), "{error}");
}
