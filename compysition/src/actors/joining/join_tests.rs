//! Unit tests of [`Join`]: merge order and envelope, timeouts on tokio's paused clock, late
//! and duplicate parts, the bound on open groups, and a table left empty by timed-out groups.

use super::*;
use crate::error::ErrorKind;
use crate::payload::AnyPayload;
use crate::port::test_channel;
use crate::xml::Xml;
use compysition_macros::actor;

// Port sets only: the join runs with their inboxes, nothing makes the structs themselves.
#[allow(dead_code)]
#[actor(inboxes(price: Xml, stock: Xml, shipping: Xml))]
struct Quote;

#[allow(dead_code)]
#[actor(inboxes(price: Json, stock: Json))]
struct JsonQuote;

#[allow(dead_code)]
#[actor(inboxes(price: Xml, stock: Json))]
struct Mixed;

/// A join running in its own task, with an outbox per inbox and the two ends it sends to.
struct Running<T> {
    parts: Vec<Outbox<T>>,
    out: Inbox<T>,
    errors: Inbox<AnyPayload>,
    _stop: tokio::sync::watch::Sender<bool>,
}

fn start<S: InboxSet, T: Mergeable>(join: Join<S, T>, capacity: usize) -> Running<T> {
    let (out_tx, out) = test_channel(capacity);
    let (errors_tx, errors) = test_channel(capacity);
    let (ctx, stop) = Context::detached("join", errors_tx);
    let (parts, inboxes): (Vec<_>, Vec<_>) =
        S::specs().iter().map(|_| test_channel(capacity)).unzip();
    let inboxes = JoinInboxes {
        parts: inboxes,
        _set: PhantomData,
    };
    tokio::spawn(join.run(ctx, inboxes, out_tx));
    Running {
        parts,
        out,
        errors,
        _stop: stop,
    }
}

fn xml(text: &str) -> Xml {
    Xml::parse(text.as_bytes()).expect("well-formed")
}

fn part<T>(data: T, meta_id: &str) -> Event<T> {
    let mut event = Event::new(data);
    event.set_meta_id(meta_id);
    event
}

#[tokio::test]
async fn xml_parts_merge_under_the_root_in_declaration_order() {
    let mut join = start(Join::<QuoteInboxes, Xml>::xml("quote").expect("valid"), 8);
    let price = part(xml("<?xml version=\"1.0\"?><price>7</price>"), "order-1")
        .with_attribute("lane", "fast");
    let price_id = price.id();
    // Arrival order is not declaration order.
    join.parts[2]
        .send(part(xml("<!-- s --><shipping days=\"2\"/>"), "order-1"))
        .await;
    join.parts[0].send(price).await;
    join.parts[1]
        .send(part(xml("<stock><n>3</n></stock>"), "order-1"))
        .await;
    let merged = join.out.recv().await.expect("merged");
    assert_eq!(
        merged.data.as_str(),
        "<quote><price>7</price><stock><n>3</n></stock><shipping days=\"2\"/></quote>"
    );
    assert_eq!(merged.id(), price_id, "the first inbox's envelope");
    assert_eq!(merged.meta_id(), "order-1");
    assert_eq!(merged.attribute("lane"), Some("fast"));
}

#[tokio::test]
async fn json_parts_merge_into_an_object_keyed_by_inbox() {
    let mut join = start(Join::<JsonQuoteInboxes, Json>::json().expect("valid"), 8);
    join.parts[1]
        .send(part(Json::new(serde_json::json!({"n": 3})), "a"))
        .await;
    join.parts[0]
        .send(part(Json::new(serde_json::json!(7)), "a"))
        .await;
    let merged = join.out.recv().await.expect("merged");
    assert_eq!(
        merged.data.to_string(),
        r#"{"price":7,"stock":{"n":3}}"#,
        "keys in declaration order"
    );
}

#[test]
fn a_port_set_of_another_payload_or_a_bad_root_is_refused() {
    let mixed = Join::<MixedInboxes, Xml>::xml("quote").expect_err("stock takes Json");
    assert!(mixed.to_string().contains("inbox `stock`"), "{mixed}");
    let root = Join::<QuoteInboxes, Xml>::xml("not a name").expect_err("bad root");
    assert!(root.to_string().contains("not a name"), "{root}");
}

#[tokio::test(start_paused = true)]
async fn an_incomplete_group_times_out_naming_its_parts_and_late_parts_are_counted() {
    let join = Join::<QuoteInboxes, Xml>::xml("quote")
        .expect("valid")
        .timeout(Duration::from_secs(5));
    let stats = join.stats();
    let mut join = start(join, 8);
    let stock = part(xml("<stock/>"), "order-2");
    let stock_id = stock.id();
    let started = Instant::now();
    join.parts[1].send(stock).await;
    let failed = join.errors.recv().await.expect("timed out");
    assert_eq!(started.elapsed(), Duration::from_secs(5));
    assert_eq!(failed.id(), stock_id, "the arrived part's envelope");
    let error = failed.error().expect("an error");
    assert_eq!(error.kind(), ErrorKind::Timeout);
    assert!(
        error.message().contains("arrived: `stock`")
            && error
                .message()
                .contains("`price`, `shipping` did not arrive"),
        "{error}"
    );
    // A late part is dropped; a later complete group shows the join went past it.
    join.parts[0].send(part(xml("<price/>"), "order-2")).await;
    for (i, name) in ["price", "stock", "shipping"].iter().enumerate() {
        join.parts[i]
            .send(part(xml(&format!("<{name}/>")), "order-3"))
            .await;
    }
    let merged = join.out.recv().await.expect("merged");
    assert_eq!(merged.meta_id(), "order-3");
    assert_eq!((stats.late_parts(), stats.timed_out()), (1, 1));
    assert!(join.errors.try_recv().is_none(), "a late part is no error");
}

#[tokio::test(start_paused = true)]
async fn ten_thousand_timed_out_groups_leave_the_table_empty() {
    const GROUPS: usize = 10_000;
    let join = Join::<JsonQuoteInboxes, Json>::json()
        .expect("valid")
        .timeout(Duration::from_secs(1));
    let stats = join.stats();
    let mut join = start(join, GROUPS + 1);
    for n in 0..GROUPS {
        join.parts[n % 2]
            .send(part(Json::new(serde_json::json!(n)), &format!("g{n}")))
            .await;
    }
    for _ in 0..GROUPS {
        let failed = join.errors.recv().await.expect("timed out");
        assert_eq!(
            failed.error().map(EventError::kind),
            Some(ErrorKind::Timeout)
        );
    }
    assert_eq!(stats.timed_out(), GROUPS as u64);
    assert_eq!(stats.open_groups(), 0);
    assert_eq!(stats.remembered_groups(), GROUPS);
    // The remembered keys go after one more timeout: a part then opens a group again.
    tokio::time::sleep(Duration::from_secs(2)).await;
    join.parts[0]
        .send(part(Json::new(serde_json::json!(0)), "g0"))
        .await;
    join.parts[1]
        .send(part(Json::new(serde_json::json!(1)), "g0"))
        .await;
    assert!(join.out.recv().await.is_some(), "a fresh group completes");
    assert_eq!((stats.open_groups(), stats.remembered_groups()), (0, 0));
    assert_eq!(stats.late_parts(), 0);
}

#[tokio::test]
async fn the_table_of_open_groups_is_bounded() {
    let join = Join::<JsonQuoteInboxes, Json>::json()
        .expect("valid")
        .max_open_groups(2);
    let stats = join.stats();
    let mut join = start(join, 8);
    for key in ["a", "b", "c"] {
        join.parts[0]
            .send(part(Json::new(serde_json::json!(key)), key))
            .await;
    }
    let refused = join.errors.recv().await.expect("refused");
    assert_eq!(refused.meta_id(), "c");
    assert_eq!(
        refused.error().map(EventError::kind),
        Some(ErrorKind::Unavailable)
    );
    assert_eq!((stats.open_groups(), stats.refused()), (2, 1));
}

#[tokio::test]
async fn a_stop_fails_the_open_groups_and_duplicates_are_dropped() {
    let join = Join::<JsonQuoteInboxes, Json>::json().expect("valid");
    let stats = join.stats();
    let mut join = start(join, 8);
    join.parts[0]
        .send(part(Json::new(serde_json::json!(1)), "a"))
        .await;
    join.parts[0]
        .send(part(Json::new(serde_json::json!(2)), "a"))
        .await;
    join.parts.clear();
    let failed = join.errors.recv().await.expect("abandoned");
    assert_eq!(
        failed.error().map(EventError::kind),
        Some(ErrorKind::Unavailable)
    );
    assert!(join.out.recv().await.is_none(), "the join finished");
    assert_eq!((stats.duplicate_parts(), stats.abandoned()), (1, 1));
}
