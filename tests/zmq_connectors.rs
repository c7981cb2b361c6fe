//! The ZeroMQ connectors against independent pyzmq (libzmq) peers: PUSH to PULL and PUB to
//! SUB in both directions, bound and connecting; topic prefixes; a PUSH that holds its inbox
//! back while no peer (or only a slow one) can take; reconnection to a peer that restarts on
//! the same port; and peers that break ZMTP or the pattern, dropped and counted.

#[path = "zmq_peers/harness.rs"]
mod harness;

use std::time::Duration;

use compysition::actors::{ZmqPub, ZmqPull, ZmqPush, ZmqSub};
use compysition::prelude::*;
use compysition::zeromq::{Frames, ZmqStats};
use harness::*;
use serde_json::json;
use tokio::io::AsyncWriteExt;
use tokio::sync::mpsc;

/// Messages every pairing must carry unchanged: several frames, empty frames, binary.
const BODIES: &[&[&[u8]]] = &[
    &[b"hello"],
    &[b"first", b"", b"third"],
    &[b""],
    &[b"\x00\xff\x01binary"],
];

async fn push_every_body_to(python: &PythonPeer, events: &mpsc::Sender<Event<Frames>>) {
    for body in BODIES {
        events.send(message(body)).await.expect("the feed runs");
    }
    for body in BODIES {
        assert_eq!(python.next_message(), owned(body));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn our_push_connects_to_a_pyzmq_pull_and_delivers_every_message_in_order() {
    let python = PythonPeer::spawn("pull", ANY_PORT, &[]);
    let push = ZmqPush::connect(&python.endpoint).expect("a valid endpoint");
    let stats = push.stats();
    let (_flow, events) = sink_flow(push, 16);
    push_every_body_to(&python, &events).await;
    assert_eq!(stats.messages_sent(), BODIES.len() as u64);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn our_bound_push_delivers_to_a_pyzmq_pull_that_connects() {
    let push = ZmqPush::bind("tcp://127.0.0.1:0").expect("a free port");
    let python = PythonPeer::spawn("pull", Place::Connect(push.endpoint()), &[]);
    let (_flow, events) = sink_flow(push, 16);
    push_every_body_to(&python, &events).await;
}

async fn every_body_from(
    python: &mut PythonPeer,
    events: &mut mpsc::UnboundedReceiver<Event<Frames>>,
) {
    for body in BODIES {
        python.send(body);
    }
    for body in BODIES {
        assert_eq!(next_event(events).await, owned(body));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pyzmq_push_feeds_our_bound_pull() {
    let pull = ZmqPull::bind("tcp://127.0.0.1:0").expect("a free port");
    let stats = pull.stats();
    let mut python = PythonPeer::spawn("push", Place::Connect(pull.endpoint()), &[]);
    let (_flow, mut events) = source_flow(pull);
    every_body_from(&mut python, &mut events).await;
    assert_eq!(stats.messages_received(), BODIES.len() as u64);
    assert_eq!(stats.peers(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn our_pull_connects_to_a_bound_pyzmq_push() {
    let mut python = PythonPeer::spawn("push", ANY_PORT, &[]);
    let pull = ZmqPull::connect(&python.endpoint).expect("a valid endpoint");
    let (_flow, mut events) = source_flow(pull);
    every_body_from(&mut python, &mut events).await;
}

/// Publishes a message under another topic and one under `weather.`: the python SUB, which
/// subscribed to `weather.` only, gets the second, and the first never left our side.
async fn publish_to_a_weather_subscriber(
    python: &PythonPeer,
    stats: &ZmqStats,
    events: &mpsc::Sender<Event<Frames>>,
) {
    assert!(
        eventually(|| stats.subscriptions() == 1).await,
        "the subscription reached our PUB"
    );
    events
        .send(message(&[b"news.today", b"skipped"]))
        .await
        .expect("the feed runs");
    events
        .send(message(&[b"weather.paris", b"21"]))
        .await
        .expect("the feed runs");
    assert_eq!(python.next_message(), owned(&[b"weather.paris", b"21"]));
    assert_eq!(stats.messages_sent(), 1, "filtered on the publishing side");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn our_bound_pub_sends_a_pyzmq_sub_only_its_topic() {
    let publisher = ZmqPub::bind("tcp://127.0.0.1:0").expect("a free port");
    let stats = publisher.stats();
    let topic = hex(b"weather.");
    let python = PythonPeer::spawn(
        "sub",
        Place::Connect(publisher.endpoint()),
        &["--topic", &topic],
    );
    let (_flow, events) = sink_flow(publisher, 16);
    publish_to_a_weather_subscriber(&python, &stats, &events).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn our_pub_connects_to_a_bound_pyzmq_sub() {
    let topic = hex(b"weather.");
    let python = PythonPeer::spawn("sub", ANY_PORT, &["--topic", &topic]);
    let publisher = ZmqPub::connect(&python.endpoint).expect("a valid endpoint");
    let stats = publisher.stats();
    let (_flow, events) = sink_flow(publisher, 16);
    publish_to_a_weather_subscriber(&python, &stats, &events).await;
}

/// The python publisher (an XPUB, so that the test sees our subscription arrive) sends a
/// message under another topic and one under ours: only ours reaches the flow.
async fn receive_weather_from(
    python: &mut PythonPeer,
    events: &mut mpsc::UnboundedReceiver<Event<Frames>>,
) {
    let said = python.next_json(WAIT);
    assert_eq!(said["subscribed"], hex(b"weather."), "{said}");
    python.send(&[b"news.today", b"skipped"]);
    python.send(&[b"weather.rome", b"25"]);
    assert_eq!(next_event(events).await, owned(&[b"weather.rome", b"25"]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn our_sub_connects_to_a_pyzmq_pub_and_gets_its_prefix_only() {
    let mut python = PythonPeer::spawn("xpub", ANY_PORT, &[]);
    let sub = ZmqSub::connect(&python.endpoint)
        .expect("a valid endpoint")
        .subscribe("weather.");
    let (_flow, mut events) = source_flow(sub);
    receive_weather_from(&mut python, &mut events).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pyzmq_pub_connecting_to_our_bound_sub_gets_its_subscription() {
    let sub = ZmqSub::bind("tcp://127.0.0.1:0")
        .expect("a free port")
        .subscribe("weather.");
    let mut python = PythonPeer::spawn("xpub", Place::Connect(sub.endpoint()), &[]);
    let (_flow, mut events) = source_flow(sub);
    receive_weather_from(&mut python, &mut events).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn our_sub_filters_by_prefix_itself_when_the_publisher_sends_everything() {
    // A publisher that ignores subscriptions (a raw PUB here) sends every topic: our own
    // filter keeps out what was not asked for.
    let sub = ZmqSub::bind("tcp://127.0.0.1:0")
        .expect("a free port")
        .subscribe("weather.");
    let stats = sub.stats();
    let address = sub.endpoint().trim_start_matches("tcp://").to_string();
    let (_flow, mut events) = source_flow(sub);
    let mut raw = tokio::net::TcpStream::connect(&address)
        .await
        .expect("connects");
    let mut wire = raw_handshake("PUB");
    for topic in [&b"sport.golf"[..], b"weather.oslo"] {
        wire.extend([0x00, topic.len() as u8]);
        wire.extend(topic);
    }
    raw.write_all(&wire).await.expect("sent");
    assert_eq!(next_event(&mut events).await, owned(&[b"weather.oslo"]));
    assert_eq!(stats.messages_received(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_push_with_no_peer_holds_its_inbox_back_and_delivers_once_one_connects() {
    let push = ZmqPush::bind("tcp://127.0.0.1:0").expect("a free port");
    let (endpoint, stats) = (push.endpoint().to_string(), push.stats());
    const EDGE: usize = 2;
    let (_flow, events) = sink_flow(push, EDGE);
    // Held: one in the feed's channel, one by the feed, EDGE in the socket's inbox, one by the
    // socket. Nothing past that is taken while no peer is there.
    const HELD: usize = 1 + 1 + EDGE + 1;
    let mut accepted = 0;
    while accepted <= HELD {
        let event = message(&[accepted.to_string().as_bytes()]);
        match tokio::time::timeout(Duration::from_millis(500), events.send(event)).await {
            Ok(sent) => sent.expect("the feed runs"),
            Err(_) => break, // the sender waits: the flow took no more
        }
        accepted += 1;
    }
    assert!(
        accepted <= HELD,
        "{accepted} events taken with no peer to send them to"
    );
    assert_eq!(stats.messages_sent(), 0);
    let python = PythonPeer::spawn("pull", Place::Connect(&endpoint), &[]);
    for n in accepted..accepted + 3 {
        events
            .send(message(&[n.to_string().as_bytes()]))
            .await
            .expect("the feed runs");
    }
    for n in 0..accepted + 3 {
        assert_eq!(python.next_message(), vec![n.to_string().into_bytes()]);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_push_to_a_peer_that_reads_nothing_stops_taking_and_resumes_when_it_reads() {
    const SIZE: usize = 128 * 1024;
    // Our queue (2), the connection's send buffer, the kernel's buffers both ways and libzmq's
    // receive pipe hold a few megabytes; unbounded queueing would take every event offered.
    const OFFERED: usize = 2000;
    let mut python = PythonPeer::spawn("pull", ANY_PORT, &["--paused", "1", "--hwm", "1"]);
    let push = ZmqPush::connect(&python.endpoint)
        .expect("a valid endpoint")
        .high_water_mark(2);
    let stats = push.stats();
    let (_flow, events) = sink_flow(push, 2);
    let payload = vec![7u8; SIZE];
    let mut accepted = 0;
    while accepted < OFFERED {
        let event = message(&[accepted.to_string().as_bytes(), &payload]);
        match tokio::time::timeout(Duration::from_millis(500), events.send(event)).await {
            Ok(sent) => sent.expect("the feed runs"),
            Err(_) => break,
        }
        accepted += 1;
    }
    assert!(
        accepted < OFFERED,
        "a peer that reads nothing took all {OFFERED} messages"
    );
    assert!(stats.messages_sent() < accepted as u64 + 1);
    python.send_json(&json!({ "read": true }));
    for n in 0..accepted {
        let got = python.next_message();
        assert_eq!(got[0], n.to_string().into_bytes());
        assert_eq!(got[1].len(), SIZE);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_push_reconnects_to_a_pull_restarted_on_the_same_port() {
    let python = PythonPeer::spawn("pull", ANY_PORT, &[]);
    let endpoint = python.endpoint.clone();
    let push = ZmqPush::connect(&endpoint)
        .expect("a valid endpoint")
        .reconnect_backoff(Duration::from_millis(10), Duration::from_millis(100));
    let stats = push.stats();
    let (_flow, events) = sink_flow(push, 16);
    events
        .send(message(&[b"before"]))
        .await
        .expect("the feed runs");
    assert_eq!(python.next_message(), owned(&[b"before"]));
    drop(python);
    assert!(
        eventually(|| stats.peers() == 0).await,
        "the lost peer is noticed"
    );
    let python = PythonPeer::spawn("pull", Place::Bind(&endpoint), &[]);
    events
        .send(message(&[b"after"]))
        .await
        .expect("the feed runs");
    assert_eq!(python.next_message(), owned(&[b"after"]));
    assert_eq!(stats.connections(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn peers_that_break_zmtp_are_refused_and_counted_and_the_others_go_on() {
    let pull = ZmqPull::bind("tcp://127.0.0.1:0").expect("a free port");
    let stats = pull.stats();
    let address = pull.endpoint().trim_start_matches("tcp://").to_string();
    let (_flow, mut events) = source_flow(pull);
    let mut wrong = Vec::new();
    // Not ZMTP at all; a socket type a PULL cannot talk to; reserved flag bits; a frame that
    // announces 2^40 octets.
    wrong.push(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n".to_vec());
    wrong.push(raw_handshake("PUB"));
    let mut reserved = raw_handshake("PUSH");
    reserved.extend([0x08, 1, b'x']);
    wrong.push(reserved);
    let mut huge = raw_handshake("PUSH");
    huge.push(0x02);
    huge.extend((1u64 << 40).to_be_bytes());
    wrong.push(huge);
    let mut kept = Vec::new();
    for wire in &wrong {
        let mut raw = tokio::net::TcpStream::connect(&address)
            .await
            .expect("connects");
        raw.write_all(wire).await.expect("sent");
        kept.push(raw);
    }
    assert!(
        eventually(|| stats.refused_connections() == wrong.len() as u64).await,
        "refused {} of {}",
        stats.refused_connections(),
        wrong.len()
    );
    let mut python = PythonPeer::spawn("push", Place::Connect(&format!("tcp://{address}")), &[]);
    python.send(&[b"still here"]);
    assert_eq!(next_event(&mut events).await, owned(&[b"still here"]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_subscriber_sending_what_is_no_subscription_is_counted_and_kept() {
    let publisher = ZmqPub::bind("tcp://127.0.0.1:0").expect("a free port");
    let stats = publisher.stats();
    let address = publisher
        .endpoint()
        .trim_start_matches("tcp://")
        .to_string();
    let (_flow, events) = sink_flow(publisher, 16);
    let mut raw = tokio::net::TcpStream::connect(&address)
        .await
        .expect("connects");
    let mut wire = raw_handshake("SUB");
    // Two frames (no subscription has two), then a frame that starts with neither 0 nor 1,
    // then a real subscription: its ZMTP 3.1 command form.
    wire.extend([0x01, 2, 0x01, b'a', 0x00, 0]);
    wire.extend([0x00, 2, 0x07, b'b']);
    wire.extend([0x04, 11, 9]);
    wire.extend(b"SUBSCRIBE");
    wire.push(b'x');
    raw.write_all(&wire).await.expect("sent");
    assert!(
        eventually(|| stats.malformed_messages() == 2).await,
        "both counted"
    );
    assert!(
        eventually(|| stats.subscriptions() == 1).await,
        "the command subscribed"
    );
    events
        .send(message(&[b"xyz"]))
        .await
        .expect("the feed runs");
    assert!(
        eventually(|| stats.messages_sent() == 1).await,
        "published to it"
    );
    assert_eq!(stats.peers(), 1);
}

#[test]
fn bad_addresses_are_errors_when_the_connector_is_built() {
    for endpoint in ["localhost:5557", "ipc:///tmp/x", "tcp://host"] {
        let error = ZmqPush::connect(endpoint).expect_err("not tcp://host:port");
        assert!(
            matches!(error, compysition::Error::InvalidAddress { .. }),
            "{endpoint}: {error:?}"
        );
    }
    let held = ZmqPull::bind("tcp://127.0.0.1:0").expect("a free port");
    let error = ZmqSub::bind(held.endpoint()).expect_err("the port is taken");
    assert!(
        matches!(error, compysition::Error::Bind { .. }),
        "{error:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_push_deals_its_messages_to_its_peers_in_turn() {
    let push = ZmqPush::bind("tcp://127.0.0.1:0").expect("a free port");
    let stats = push.stats();
    let first = PythonPeer::spawn("pull", Place::Connect(push.endpoint()), &[]);
    let second = PythonPeer::spawn("pull", Place::Connect(push.endpoint()), &[]);
    let (_flow, events) = sink_flow(push, 16);
    assert!(
        eventually(|| stats.peers() == 2).await,
        "both peers connect"
    );
    for n in 0..4u8 {
        events.send(message(&[&[n]])).await.expect("the feed runs");
    }
    let mut got: Vec<u8> = Vec::new();
    for peer in [&first, &second] {
        let (a, b) = (peer.next_message(), peer.next_message());
        assert_eq!(a[0][0] % 2, b[0][0] % 2, "every other message to each peer");
        got.extend([a[0][0], b[0][0]]);
    }
    got.sort_unstable();
    assert_eq!(got, [0, 1, 2, 3]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn our_sub_subscribes_again_when_its_publisher_restarts_on_the_same_port() {
    let mut python = PythonPeer::spawn("xpub", ANY_PORT, &[]);
    let endpoint = python.endpoint.clone();
    let sub = ZmqSub::connect(&endpoint)
        .expect("a valid endpoint")
        .subscribe("weather.")
        .reconnect_backoff(Duration::from_millis(10), Duration::from_millis(100));
    let stats = sub.stats();
    let (_flow, mut events) = source_flow(sub);
    receive_weather_from(&mut python, &mut events).await;
    drop(python);
    assert!(
        eventually(|| stats.peers() == 0).await,
        "the lost publisher is noticed"
    );
    let mut python = PythonPeer::spawn("xpub", Place::Bind(&endpoint), &[]);
    receive_weather_from(&mut python, &mut events).await;
    assert_eq!(stats.connections(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pub_drops_for_a_subscriber_that_reads_nothing_and_never_waits_for_it() {
    const SIZE: usize = 64 * 1024;
    const COUNT: usize = 500;
    let publisher = ZmqPub::bind("tcp://127.0.0.1:0")
        .expect("a free port")
        .high_water_mark(1);
    let stats = publisher.stats();
    let address = publisher
        .endpoint()
        .trim_start_matches("tcp://")
        .to_string();
    let (_flow, events) = sink_flow(publisher, 16);
    // A subscriber to everything (the empty prefix) that never reads.
    let mut raw = tokio::net::TcpStream::connect(&address)
        .await
        .expect("connects");
    let mut wire = raw_handshake("SUB");
    wire.extend([0x00, 1, 0x01]);
    raw.write_all(&wire).await.expect("sent");
    assert!(
        eventually(|| stats.subscriptions() == 1).await,
        "subscribed"
    );
    let payload = vec![1u8; SIZE];
    let publishing = async {
        for n in 0..COUNT {
            events
                .send(message(&[n.to_string().as_bytes(), &payload]))
                .await
                .expect("the feed runs");
        }
    };
    tokio::time::timeout(WAIT, publishing)
        .await
        .expect("a slow subscriber does not hold the publisher up");
    let handled = || stats.messages_sent() + stats.dropped_messages();
    assert!(
        eventually(|| handled() + 1 >= COUNT as u64).await,
        "every message sent or dropped (one may wait in the queue): {} sent, {} dropped",
        stats.messages_sent(),
        stats.dropped_messages()
    );
    assert!(stats.dropped_messages() > 0, "some were dropped");
    assert!(
        stats.messages_sent() < COUNT as u64,
        "what a subscriber that reads nothing was given is bounded"
    );
}

/// A sink that takes one event from its inbox per permit the test adds, and hands it back.
struct Gate {
    permits: std::sync::Arc<tokio::sync::Semaphore>,
    events: mpsc::UnboundedSender<Event<Frames>>,
}

impl Actor for Gate {
    type Inboxes = Inbox<Frames>;
    type Outboxes = ();

    async fn run(self, _ctx: Context, mut inbox: Inbox<Frames>, (): ()) {
        while let Ok(permit) = self.permits.acquire().await {
            permit.forget();
            let Some(event) = inbox.recv().await else {
                return;
            };
            let _ = self.events.send(event);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn our_pull_takes_turns_between_a_busy_peer_and_a_quiet_one() {
    const BUSY: usize = 200;
    let pull = ZmqPull::bind("tcp://127.0.0.1:0")
        .expect("a free port")
        .high_water_mark(1);
    let stats = pull.stats();
    let endpoint = pull.endpoint().to_string();
    let permits = std::sync::Arc::new(tokio::sync::Semaphore::new(0));
    let (sent, mut events) = mpsc::unbounded_channel();
    let mut director = Director::new();
    let source = director.register_actor("pull", pull);
    let gate = Gate {
        permits: std::sync::Arc::clone(&permits),
        events: sent,
    };
    let gate = director.register_actor("gate", gate);
    director.connect_queue(&source, &gate).capacity(1);
    director.start().expect("the flow starts");
    let mut busy = PythonPeer::spawn("push", Place::Connect(&endpoint), &[]);
    for n in 0..BUSY {
        busy.send(&[b"busy", n.to_string().as_bytes()]);
    }
    // The flow is full: one event in the gate's inbox, one held by the PULL, one in its queue,
    // and one read by the busy peer's connection, which waits for room with it.
    const HELD: u64 = 4;
    assert!(
        eventually(|| stats.messages_received() == HELD).await,
        "{} messages taken while the flow was full",
        stats.messages_received()
    );
    let mut quiet = PythonPeer::spawn("push", Place::Connect(&endpoint), &[]);
    quiet.send(&[b"quiet"]);
    assert!(
        eventually(|| stats.messages_received() == HELD + 1).await,
        "the quiet peer's message is read and waits too"
    );
    permits.add_permits(BUSY + 1);
    let mut order = Vec::new();
    for _ in 0..=BUSY {
        order.push(next_event(&mut events).await[0].clone());
    }
    let quiet_at = order.iter().position(|first| first == b"quiet");
    assert!(
        quiet_at.is_some_and(|at| at <= HELD as usize),
        "the quiet peer waited its turn only, not for the busy one's {BUSY}: at {quiet_at:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_push_whose_flow_ends_writes_out_what_it_queued_before_it_finishes() {
    const SIZE: usize = 64 * 1024;
    const COUNT: usize = 200;
    let python = PythonPeer::spawn("pull", ANY_PORT, &[]);
    let push = ZmqPush::connect(&python.endpoint)
        .expect("a valid endpoint")
        .linger(WAIT);
    let stats = push.stats();
    let (mut flow, events) = sink_flow(push, 16);
    assert!(eventually(|| stats.peers() == 1).await, "connected");
    let payload = vec![2u8; SIZE];
    for n in 0..COUNT {
        let event = message(&[n.to_string().as_bytes(), &payload]);
        events.send(event).await.expect("the feed runs");
    }
    // The feed ends, so the PUSH's inbox closes with most messages still queued for the peer.
    drop(events);
    tokio::time::timeout(WAIT * 2, flow.wait())
        .await
        .expect("the flow ends once the peer has taken everything")
        .expect("the flow ran");
    for n in 0..COUNT {
        assert_eq!(python.next_message()[0], n.to_string().into_bytes());
    }
}
