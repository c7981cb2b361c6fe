//! Flow control through `topology!`: a split order priced line by line by a handler that
//! fails its first attempt and is retried, behind a rate limiter and a max-in-flight gate
//! released by the priced lines, put back together by the aggregator; a join of two branches
//! of one event; and required attributes refusing an event before its handler. On tokio's
//! paused clock, so that backoffs and rates cost no real time.

mod support;

use std::time::Duration;

use compysition::actors::{
    Aggregator, EventGenerator, FlowController, Join, RateLimiter, Splitter,
};
use compysition::prelude::*;
use compysition::retry::RetryPolicy;
use serde_json::json;
use support::collect;

/// Gives the order its id, which the pricing requires.
#[actor]
fn stamp(event: Event<Json>) -> Event<Json> {
    let id = event.data["id"].as_str().unwrap_or("none").to_owned();
    event.with_attribute("order_id", id)
}

/// Prices a line; a flaky service, whose first attempt at each line fails.
#[actor]
async fn price(event: Event<Json>) -> Result<Event<Json>, EventError> {
    if event.attribute("attempt") == Some("1") {
        return Err(EventError::unavailable("pricing service busy"));
    }
    let quantity = event.data["quantity"].as_u64().unwrap_or(0);
    Ok(event.map(|_| Json::new(json!({"total": quantity * 5}))))
}

#[tokio::test(start_paused = true)]
async fn a_split_order_is_priced_with_retries_under_flow_control_and_put_back() {
    let (sink, mut kept) = collect::<Json>();
    let (errors, mut failed) = collect::<Json>();
    let order = Json::new(
        json!({"id": "o-1", "lines": [{"quantity": 1}, {"quantity": 2}, {"quantity": 3}]}),
    );
    let pacing = RateLimiter::<Json>::per_second(10.0);
    let started = tokio::time::Instant::now();
    let topology = topology! {
        source  = EventGenerator::once(order);
        stamp   = stamp;
        split   = Splitter::json_pointer("/lines");
        pacing  = pacing;
        gate    = FlowController::<Json>::new().max_in_flight(2);
        pricing = price
            .retry(RetryPolicy::attempts(3).backoff(Duration::from_millis(100), Duration::from_secs(1)))
            .require(["order_id"]);
        whole   = Aggregator::json().by_split();
        sink    = sink;
        errors  = errors;

        source -> stamp -> split -> pacing -> gate.inbox;
        gate.outbox -> pricing -> [whole, gate.completions];
        whole -> sink;
        pricing !-> errors;
    };
    topology.run().await.expect("runs");
    let priced = kept.events().await;
    assert_eq!(priced.len(), 1, "one order out");
    assert_eq!(
        priced[0].data.to_string(),
        r#"[{"total":5},{"total":10},{"total":15}]"#
    );
    assert_eq!(priced[0].attribute("order_id"), Some("o-1"));
    assert!(
        failed.error_events().await.is_empty(),
        "every retry succeeded"
    );
    // Three lines at 10 a second, each a 100 ms backoff: well under a second of paused time.
    assert!(
        started.elapsed() >= Duration::from_millis(300),
        "{:?}",
        started.elapsed()
    );
}

#[actor(inboxes(original: Json, shouted: Json))]
pub struct Versions;

/// The same text, louder.
#[actor]
fn shout(event: Event<Json>) -> Event<Json> {
    let loud = event.data.as_str().unwrap_or_default().to_uppercase();
    event.map(|_| Json::new(json!(loud)))
}

#[tokio::test]
async fn a_join_merges_two_branches_of_one_event() {
    let (sink, mut kept) = collect::<Json>();
    let topology = topology! {
        source = EventGenerator::once(Json::new(json!("hello")));
        shout  = shout;
        join   = Join::<VersionsInboxes, Json>::json().expect("a Json port set");
        sink   = sink;

        source -> [shout, join.original];
        shout -> join.shouted;
        join -> sink;
    };
    topology.run().await.expect("runs");
    let joined = kept.payloads().await;
    assert_eq!(joined.len(), 1);
    assert_eq!(
        joined[0].to_string(),
        r#"{"original":"hello","shouted":"HELLO"}"#
    );
}

#[tokio::test]
async fn an_event_without_required_attributes_is_refused_before_the_handler() {
    let (sink, mut kept) = collect::<Json>();
    let (errors, mut failed) = collect::<Json>();
    let topology = topology! {
        source  = EventGenerator::once(Json::new(json!({"quantity": 1})));
        pricing = price.require(["order_id", "lane"]);
        sink    = sink;
        errors  = errors;

        source -> pricing -> sink;
        pricing !-> errors;
    };
    topology.run().await.expect("runs");
    assert!(kept.events().await.is_empty());
    let messages = failed.error_messages().await;
    assert_eq!(
        messages,
        ["actor `pricing` requires the attributes `order_id`, `lane`, which the event lacks"]
    );
}

/// A line, marked as checked.
#[actor]
fn check_line(event: Event<Xml>) -> Result<Event<Xml>, EventError> {
    let checked = event
        .data
        .as_str()
        .replacen("<line", "<line checked=\"yes\"", 1);
    let checked = Xml::parse(checked.as_bytes())?;
    Ok(event.with_data(checked))
}

#[tokio::test]
async fn an_xml_order_split_by_xpath_is_put_back_under_its_root_in_order() {
    let (sink, mut kept) = collect::<Xml>();
    let order = Xml::parse(
        br#"<order id="9"><line n="1"/><note/><line n="2">two</line><line n="3"><sku>x</sku></line></order>"#,
    )
    .expect("well-formed");
    let topology = topology! {
        source = EventGenerator::once(order);
        split  = Splitter::xpath("/order/line").expect("compiles");
        check  = check_line;
        whole  = Aggregator::xml("checked").expect("a root name").by_split();
        sink   = sink;

        source -> split -> check -> whole -> sink;
    };
    topology.run().await.expect("runs");
    let joined = kept.payloads().await;
    assert_eq!(joined.len(), 1);
    assert_eq!(
        joined[0].as_str(),
        r#"<checked><line checked="yes" n="1"/><line checked="yes" n="2">two</line><line checked="yes" n="3"><sku>x</sku></line></checked>"#
    );
}
