//! The compysition envelope on the ZeroMQ connectors: between our PUSH and PULL (and PUB and
//! SUB, topic prefixes still matching) an event keeps its origin id, meta id, service and
//! attributes across the socket; a plain peer's message to an enveloped PULL is dropped and
//! counted.

#[path = "zmq_peers/harness.rs"]
mod harness;

use compysition::actors::{ZmqPub, ZmqPull, ZmqPush, ZmqSub};
use compysition::prelude::*;
use compysition::zeromq::{Envelope, Frames};
use harness::*;
use tokio::sync::mpsc;

fn order_event() -> Event<Frames> {
    let mut event = message(&[b"order", b"42"])
        .with_service("orders")
        .with_attribute("tenant", "acme")
        .with_attribute(
            "traceparent",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        );
    event.set_meta_id("request-7");
    event
}

async fn next(events: &mut mpsc::UnboundedReceiver<Event<Frames>>) -> Event<Frames> {
    tokio::time::timeout(WAIT, events.recv())
        .await
        .expect("an event in time")
        .expect("the collector runs")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_event_keeps_its_envelope_from_push_to_pull() {
    let pull = ZmqPull::bind("tcp://127.0.0.1:0")
        .expect("a free port")
        .envelope(Envelope::Compysition);
    let push = ZmqPush::connect(pull.endpoint())
        .expect("a valid endpoint")
        .envelope(Envelope::Compysition);
    let (_pulling, mut received) = source_flow(pull);
    let (_pushing, sending) = sink_flow(push, 16);
    let sent = order_event();
    let (origin, meta_id) = (sent.id(), sent.meta_id().to_string());
    sending.send(sent).await.expect("the feed runs");
    let got = next(&mut received).await;
    assert_eq!(
        frames(&got),
        owned(&[b"order", b"42"]),
        "the body, without the envelope"
    );
    assert_eq!(got.meta_id().to_string(), meta_id);
    assert_eq!(got.origin_id(), origin);
    assert_ne!(got.id(), origin, "an event of its own on this side");
    assert_eq!(got.service(), Some("orders"));
    assert_eq!(got.attribute("tenant"), Some("acme"));
    assert!(got
        .attribute("traceparent")
        .is_some_and(|t| t.starts_with("00-4bf92f")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_subscriber_s_prefix_still_matches_an_enveloped_message() {
    let publisher = ZmqPub::bind("tcp://127.0.0.1:0")
        .expect("a free port")
        .envelope(Envelope::Compysition);
    let stats = publisher.stats();
    let subscriber = ZmqSub::connect(publisher.endpoint())
        .expect("a valid endpoint")
        .subscribe("order")
        .envelope(Envelope::Compysition);
    let (_subscribing, mut received) = source_flow(subscriber);
    let (_publishing, sending) = sink_flow(publisher, 16);
    assert!(eventually(|| stats.subscriptions() == 1).await);
    sending
        .send(message(&[b"news", b"skipped"]))
        .await
        .expect("the feed runs");
    sending.send(order_event()).await.expect("the feed runs");
    let got = next(&mut received).await;
    assert_eq!(frames(&got), owned(&[b"order", b"42"]));
    assert_eq!(got.attribute("tenant"), Some("acme"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plain_peer_s_message_to_an_enveloped_pull_is_dropped_and_counted() {
    let pull = ZmqPull::bind("tcp://127.0.0.1:0")
        .expect("a free port")
        .envelope(Envelope::Compysition);
    let stats = pull.stats();
    let mut python = PythonPeer::spawn("push", Place::Connect(pull.endpoint()), &[]);
    let (_pulling, mut received) = source_flow(pull);
    python.send(&[b"no envelope here"]);
    python.send(&[b"body", b"CPY1{not json"]);
    assert!(
        eventually(|| stats.malformed_messages() == 2).await,
        "both refused: {stats:?}"
    );
    assert!(received.try_recv().is_err(), "nothing reached the flow");
}

fn frames(event: &Event<Frames>) -> Vec<Vec<u8>> {
    event.data.iter().map(|frame| frame.to_vec()).collect()
}
