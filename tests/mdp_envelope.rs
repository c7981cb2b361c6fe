//! The envelope across the process edge: between an `MdpClient` and an `MdpWorker` with
//! `envelope(true)`, over our broker and real sockets, the event's meta id, origin id, service,
//! attributes and trace context reach the worker's flow, and the reply brings back the
//! attributes and, for a failed request, the error with its kind, up to the HTTP status. Plain
//! 7/MDP peers never see an envelope frame, and malformed envelopes are refused and counted.

#[path = "mdp_peers/harness.rs"]
mod harness;

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use compysition::actors::{HttpServer, MdpClient, MdpWorker};
use compysition::mdp::{EnvelopeStats, Frames, MAX_ENVELOPE_SIZE, TRACEPARENT_ATTRIBUTE};
use compysition::prelude::*;
use compysition::{Attributes, ErrorKind, EventId};
use harness::*;
use tokio::sync::mpsc;
use zeromq::{DealerSocket, Socket, SocketRecv, SocketSend, ZmqMessage};

const WAIT: Duration = Duration::from_secs(10);

const TRACE: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

/// What the worker's flow saw of a request.
#[derive(Debug)]
struct Seen {
    id: EventId,
    origin: EventId,
    meta_id: String,
    service: Option<String>,
    attributes: Attributes,
    body: String,
}

/// The worker's flow: reports what it sees; fails bodies named `unauthorized` and
/// `unprocessable` with that kind, and answers the others with their body, an attribute added
/// and one taken away.
struct Inspect {
    seen: mpsc::UnboundedSender<Seen>,
}

impl Actor for Inspect {
    type Inboxes = Inbox<Frames>;
    type Outboxes = Outbox<Frames>;

    async fn run(self, ctx: Context, inbox: Inbox<Frames>, outbox: Outbox<Frames>) {
        let (outbox, seen) = (&outbox, &self.seen);
        ctx.serve(inbox, |mut event| async move {
            let body = String::from_utf8_lossy(&event.data.to_bytes()).into_owned();
            let _ = seen.send(Seen {
                id: event.id(),
                origin: event.origin_id(),
                meta_id: event.meta_id().to_string(),
                service: event.service().map(str::to_string),
                attributes: event.attributes().clone(),
                body: body.clone(),
            });
            match body.as_str() {
                "unauthorized" => return Err(EventError::unauthorized("who are you?")),
                "unprocessable" => {
                    return Err(EventError::unprocessable("no such product").with_code("E42"))
                }
                _ => {}
            }
            event.set_attribute("handled_by", "worker");
            event.remove_attribute("drop_me");
            outbox.send(event).await;
            Ok(())
        })
        .await
    }
}

/// A worker process's flow: `MdpWorker` for `service` (envelope on) → `Inspect` → back, its
/// failures to the worker's error inbox.
struct WorkerFlow {
    director: Director,
    seen: mpsc::UnboundedReceiver<Seen>,
    stats: Arc<EnvelopeStats>,
}

impl WorkerFlow {
    fn start(endpoint: &str, service: &str) -> Self {
        let worker = MdpWorker::connect(endpoint, service)
            .expect("valid worker")
            .heartbeat(HEARTBEAT, LIVENESS)
            .reconnect_delay(Duration::from_millis(50))
            .envelope(true);
        let stats = worker.envelope_stats();
        let (tx, seen) = mpsc::unbounded_channel();
        let mut director = Director::new();
        let mdp_worker = director.register_actor("mdp_worker", worker);
        let inspect = director.register_actor("inspect", Inspect { seen: tx });
        director.connect_queue(&mdp_worker, &inspect);
        director.connect_queue(&inspect, &mdp_worker);
        director.connect_error_queue(&inspect, &mdp_worker);
        director.start().expect("the worker flow starts");
        WorkerFlow {
            director,
            seen,
            stats,
        }
    }

    async fn next_seen(&mut self) -> Seen {
        tokio::time::timeout(WAIT, self.seen.recv())
            .await
            .expect("the worker's flow saw a request")
            .expect("the flow runs")
    }
}

fn enveloped_client(endpoint: &str) -> MdpClient {
    MdpClient::connect(endpoint)
        .expect("valid endpoint")
        .timeout(Duration::from_secs(5))
        .retries(0)
        .envelope(true)
}

/// Waits until the broker has `count` workers registered.
async fn workers_registered(broker: &RunningBroker, count: u64) {
    let stats = broker.stats.clone();
    assert!(
        eventually(WAIT, || stats.snapshot().workers == count).await,
        "{count} workers registered"
    );
}

/// Sends `event` through the flow and waits for its outcome.
async fn round_trip(flow: &mut ClientFlow, event: Event<Frames>) -> Outcome<Frames> {
    let id = event.id();
    flow.requests.send(event).expect("the feeder runs");
    let outcome = tokio::time::timeout(WAIT, flow.outcomes.recv())
        .await
        .expect("an outcome in time")
        .expect("the collector runs");
    let got = outcome.as_ref().map_or_else(Event::id, Event::id);
    assert_eq!(got, id, "the outcome is the request's own event");
    outcome
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_envelope_travels_to_the_worker_and_back() {
    let broker = RunningBroker::start();
    let mut worker = WorkerFlow::start(&broker.endpoint, "billing.orders");
    // One plain and one enveloped registration.
    workers_registered(&broker, 2).await;
    let mut flow = ClientFlow::start(enveloped_client(&broker.endpoint).prefix("billing."));
    let mut event = Event::new(Frames::new(["two ", "frames"]))
        .with_service("orders")
        .with_attribute("tenant", "acme")
        .with_attribute("drop_me", "x")
        .with_attribute(TRACEPARENT_ATTRIBUTE, TRACE);
    event.set_meta_id("order-17");
    let sent = event.id();
    let reply = round_trip(&mut flow, event).await.expect("a reply");

    let seen = worker.next_seen().await;
    assert_ne!(seen.id, sent, "the worker's event has an id of its own");
    assert_eq!(seen.origin, sent, "and knows the id it continues");
    assert_eq!(seen.meta_id, "order-17");
    assert_eq!(
        seen.service.as_deref(),
        Some("orders"),
        "the client's service"
    );
    assert_eq!(seen.body, "two frames");
    let expected: Attributes = [
        ("drop_me", "x"),
        ("tenant", "acme"),
        (TRACEPARENT_ATTRIBUTE, TRACE),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    assert_eq!(seen.attributes, expected);

    assert_eq!(reply.meta_id(), "order-17");
    assert_eq!(reply.data, Frames::new(["two ", "frames"]));
    assert_eq!(reply.attribute("handled_by"), Some("worker"));
    assert_eq!(reply.attribute("tenant"), Some("acme"));
    assert_eq!(
        reply.attribute("drop_me"),
        None,
        "removed remotely, removed here"
    );
    assert_eq!(worker.stats.malformed(), 0);
    flow.director.stop().await.expect("flow stops");
    worker.director.stop().await.expect("worker stops");
    broker.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_remote_error_comes_back_with_its_kind_and_the_worker_serves_on() {
    let broker = RunningBroker::start();
    let mut worker = WorkerFlow::start(&broker.endpoint, "orders");
    workers_registered(&broker, 2).await;
    let mut flow = ClientFlow::start(enveloped_client(&broker.endpoint));
    let cases = [
        (
            "unauthorized",
            ErrorKind::Unauthorized,
            "who are you?",
            None,
        ),
        (
            "unprocessable",
            ErrorKind::Unprocessable,
            "no such product",
            Some("E42"),
        ),
    ];
    for (body, kind, message, code) in cases {
        let event = Event::new(Frames::single(body.to_string()))
            .with_service("orders")
            .with_attribute("tenant", "acme");
        let failed = round_trip(&mut flow, event)
            .await
            .expect_err("the remote flow failed it");
        let error = failed.error().expect("an error");
        assert_eq!(error.kind(), kind, "{error}");
        assert_eq!(error.message(), message);
        assert_eq!(error.code(), code);
        assert_eq!(failed.attribute("tenant"), Some("acme"));
        assert_eq!(worker.next_seen().await.body, body);
    }
    // A failed request is answered, not abandoned: the same registrations serve the next one.
    let event = Event::new(Frames::single("fine".to_string())).with_service("orders");
    let reply = round_trip(&mut flow, event).await.expect("a reply");
    assert_eq!(reply.data.to_bytes(), "fine");
    assert_eq!(broker.stats.snapshot().workers, 2);
    flow.director.stop().await.expect("flow stops");
    worker.director.stop().await.expect("worker stops");
    broker.stop().await;
}

/// One HTTP/1.1 request over a real socket; the whole response.
async fn http(address: std::net::SocketAddr, path: &str, body: &str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(address)
        .await
        .expect("the server accepts");
    let request = format!(
        "POST {path} HTTP/1.1\r\nHost: test\r\nAccept: application/json\r\n\
         Content-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream
        .write_all(request.as_bytes())
        .await
        .expect("request sent");
    let mut response = Vec::new();
    tokio::time::timeout(WAIT, stream.read_to_end(&mut response))
        .await
        .expect("answered in time")
        .expect("response read");
    String::from_utf8(response).expect("a text response")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_http_client_gets_the_status_a_remote_worker_raised() {
    let broker = RunningBroker::start();
    let mut worker = WorkerFlow::start(&broker.endpoint, "orders");
    workers_registered(&broker, 2).await;
    // The client's process: HTTP in, through MdpClient, and back; failures to the server.
    let server = HttpServer::bind("127.0.0.1:0").expect("a free port");
    let address = server.local_addr().expect("bound");
    let mut director = Director::new();
    let http_server = director.register_actor("http", server);
    let client = director.register_actor("mdp_client", enveloped_client(&broker.endpoint));
    director.connect_queue(&http_server, &client);
    director.connect_queue(&client, &http_server);
    director.connect_error_queue(&client, &http_server);
    director.start().expect("the client's flow starts");

    let response = http(address, "/orders", "unprocessable").await;
    assert!(response.starts_with("HTTP/1.1 422"), "{response}");
    assert!(response.contains("no such product"), "{response}");
    assert!(response.contains("E42"), "{response}");
    let response = http(address, "/orders", "unauthorized").await;
    assert!(response.starts_with("HTTP/1.1 401"), "{response}");
    assert!(response.contains("who are you?"), "{response}");
    let response = http(address, "/orders", "hello").await;
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    assert!(response.ends_with("\r\n\r\nhello"), "{response}");
    let seen = worker.next_seen().await;
    assert_eq!(seen.service.as_deref(), Some("orders"));
    director.stop().await.expect("client flow stops");
    worker.director.stop().await.expect("worker stops");
    broker.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plain_peers_never_see_an_envelope_and_keep_working() {
    let broker = RunningBroker::start_with(|b| b.request_expiry(Duration::from_millis(300)));
    let beat = HEARTBEAT.as_millis().to_string();
    let python_worker = PythonPeer::spawn(
        "worker.py",
        &[
            "--connect",
            &broker.endpoint,
            "--service",
            "plain",
            "--heartbeat-ms",
            &beat,
        ],
    );
    assert_eq!(python_worker.next_json(WAIT)["ready"], "plain");
    workers_registered(&broker, 1).await;
    // An enveloped request is not for a plain worker: nobody serves its name.
    let mut enveloped =
        ClientFlow::start(enveloped_client(&broker.endpoint).timeout(Duration::from_millis(500)));
    let failed = enveloped
        .ask("plain", Frames::single("enveloped".to_string()))
        .await
        .expect_err("no enveloped worker");
    let error = failed.error().expect("an error");
    assert_eq!(error.kind(), ErrorKind::Unavailable, "{error}");
    assert!(error.message().contains("plain#cpy1"), "{error}");
    // The plain worker's first request is the plain one that follows.
    let mut plain = ClientFlow::start(MdpClient::connect(&broker.endpoint).expect("valid"));
    let reply = plain
        .ask("plain", Frames::new(["a", "", "b"]))
        .await
        .expect("a reply");
    assert_eq!(reply.data, Frames::new(["a", "", "b"]));
    let first = python_worker.next_json(WAIT);
    assert_eq!(
        first["request"],
        serde_json::json!(["61", "", "62"]),
        "{first}"
    );

    // And a plain pyzmq client reaches an enveloped worker under its plain name.
    let mut worker = WorkerFlow::start(&broker.endpoint, "both");
    workers_registered(&broker, 3).await;
    let mut python_client = PythonPeer::spawn(
        "client.py",
        &["--connect", &broker.endpoint, "--timeout-ms", "3000"],
    );
    python_client.send_json(&python_request("both", &[b"x", b"", b"y"]));
    let answer = python_client.next_json(WAIT);
    assert_eq!(reply_frames(&answer), [&b"x"[..], b"", b"y"], "{answer}");
    let seen = worker.next_seen().await;
    assert_eq!(seen.origin, seen.id, "a plain request begins here");
    assert!(seen.attributes.is_empty());
    enveloped.director.stop().await.expect("flow stops");
    plain.director.stop().await.expect("flow stops");
    worker.director.stop().await.expect("worker stops");
    broker.stop().await;
}

/// A message of the given frames for the `zeromq` crate.
fn zmq_message(frames: Vec<Bytes>) -> ZmqMessage {
    ZmqMessage::try_from(frames).expect("frames")
}

/// The next message on `socket` within `WAIT`, as its frames.
async fn next_message(socket: &mut DealerSocket) -> Vec<Bytes> {
    let message = tokio::time::timeout(WAIT, socket.recv())
        .await
        .expect("a message in time")
        .expect("received");
    message.into_vec()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_malformed_request_envelope_is_refused_as_malformed_and_counted() {
    let broker = RunningBroker::start();
    let mut worker = WorkerFlow::start(&broker.endpoint, "orders");
    workers_registered(&broker, 2).await;
    let mut oversized = b"CPY1{\"id\":\"".to_vec();
    oversized.resize(MAX_ENVELOPE_SIZE + 1, b'0');
    let bad = [
        Bytes::from_static(b"CPY1\xff\x00 not json"),
        Bytes::from_static(br#"CPY1{"id":"not an id","meta_id":"m"}"#),
        Bytes::from_static(b"no magic at all"),
        Bytes::from(oversized),
    ];
    let mut socket = DealerSocket::new();
    socket.connect(&broker.endpoint).await.expect("connects");
    for (count, envelope) in bad.into_iter().enumerate() {
        let request = vec![
            Bytes::new(),
            Bytes::from_static(b"MDPC01"),
            Bytes::from_static(b"orders#cpy1"),
            envelope,
            Bytes::from_static(b"body"),
        ];
        socket.send(zmq_message(request)).await.expect("sent");
        let reply = next_message(&mut socket).await;
        assert_eq!(reply[..3], ["", "MDPC01", "orders#cpy1"], "{reply:?}");
        let text = String::from_utf8_lossy(&reply[3]);
        assert!(text.starts_with("CPY1{"), "{text}");
        assert!(text.contains(r#""kind":"malformed""#), "{text}");
        assert_eq!(reply.len(), 4, "an error reply has no body: {reply:?}");
        assert_eq!(worker.stats.malformed(), count as u64 + 1);
    }
    // Nothing reached the flow, and the worker serves a good request at once.
    let mut flow = ClientFlow::start(enveloped_client(&broker.endpoint));
    let reply = flow
        .ask("orders", Frames::single("good".to_string()))
        .await
        .expect("a reply");
    assert_eq!(reply.data.to_bytes(), "good");
    assert_eq!(worker.next_seen().await.body, "good");
    flow.director.stop().await.expect("flow stops");
    worker.director.stop().await.expect("worker stops");
    broker.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_malformed_reply_envelope_fails_the_request_and_is_counted() {
    // A slow heartbeat: the hand-made worker below does not beat.
    let broker = RunningBroker::start_with(|b| b.heartbeat_interval(Duration::from_secs(30)));
    let mut fake = DealerSocket::new();
    fake.connect(&broker.endpoint).await.expect("connects");
    let ready = vec![
        Bytes::new(),
        Bytes::from_static(b"MDPW01"),
        Bytes::from_static(&[1]),
        Bytes::from_static(b"orders#cpy1"),
    ];
    fake.send(zmq_message(ready)).await.expect("READY sent");
    workers_registered(&broker, 1).await;
    let client = enveloped_client(&broker.endpoint);
    let stats = client.envelope_stats();
    let mut flow = ClientFlow::start(client);
    let asking = flow.ask("orders", Frames::single("x".to_string()));
    let answering = async {
        let request = loop {
            let message = next_message(&mut fake).await;
            if message.get(2).is_some_and(|command| command[..] == [2]) {
                break message;
            }
        };
        assert!(request[5].starts_with(b"CPY1{"), "{request:?}");
        let reply = vec![
            Bytes::new(),
            Bytes::from_static(b"MDPW01"),
            Bytes::from_static(&[3]),
            request[3].clone(),
            Bytes::new(),
            Bytes::from_static(b"CPY1[1, 2, 3]"),
        ];
        fake.send(zmq_message(reply)).await.expect("REPLY sent");
    };
    let (outcome, ()) = tokio::join!(asking, answering);
    let failed = outcome.expect_err("the reply's envelope is refused");
    let error = failed.error().expect("an error");
    assert_eq!(error.kind(), ErrorKind::Unavailable, "{error}");
    assert!(error.message().contains("bad envelope"), "{error}");
    assert_eq!(stats.malformed(), 1);
    flow.director.stop().await.expect("flow stops");
    broker.stop().await;
}
