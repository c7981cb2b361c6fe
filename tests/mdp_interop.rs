//! Interoperability with independent 7/MDP peers written with pyzmq (libzmq) from the spec:
//! their client and worker through our broker, our client and worker through their broker, and
//! the mixed pairs. Bodies with several frames, empty frames and binary frames, and 8/MMI.
//! And libzmq's ZMTP heartbeats (ZMQ_HEARTBEAT_IVL): our sockets answer its PINGs.

#[path = "mdp_peers/harness.rs"]
mod harness;

use std::time::Duration;

use compysition::actors::{MdpClient, MdpWorker};
use compysition::mdp::Frames;
use compysition::prelude::*;
use harness::*;
use serde_json::Value;

const WAIT: Duration = Duration::from_secs(10);

fn heartbeat_args() -> [String; 4] {
    [
        "--heartbeat-ms".into(),
        HEARTBEAT.as_millis().to_string(),
        "--liveness".into(),
        LIVENESS.to_string(),
    ]
}

fn python_worker(endpoint: &str, service: &str) -> PythonPeer {
    let beat = heartbeat_args();
    let mut args = vec!["--connect", endpoint, "--service", service];
    args.extend(beat.iter().map(String::as_str));
    let worker = PythonPeer::spawn("worker.py", &args);
    assert_eq!(worker.next_json(WAIT)["ready"], service);
    worker
}

fn python_client(endpoint: &str) -> PythonPeer {
    PythonPeer::spawn(
        "client.py",
        &[
            "--connect",
            endpoint,
            "--timeout-ms",
            "3000",
            "--retries",
            "1",
        ],
    )
}

fn python_broker() -> (PythonPeer, String) {
    let beat = heartbeat_args();
    let args: Vec<&str> = beat.iter().map(String::as_str).collect();
    python_broker_with(&args)
}

fn python_broker_with(args: &[&str]) -> (PythonPeer, String) {
    let broker = PythonPeer::spawn("broker.py", args);
    let endpoint = broker.next_json(WAIT)["listening"]
        .as_str()
        .expect("the python broker says where it listens")
        .to_string();
    (broker, endpoint)
}

/// The bodies every pairing must carry unchanged.
fn bodies() -> Vec<Vec<&'static [u8]>> {
    vec![
        vec![b"hello"],
        vec![b"first", b"", b"third"],
        vec![b""],
        vec![b"", b""],
        vec![b"\x00\xff\x01binary"],
    ]
}

fn ask_python(client: &mut PythonPeer, service: &str, frames: &[&[u8]]) -> Value {
    client.send_json(&python_request(service, frames));
    client.next_json(WAIT)
}

fn echo_checks(client: &mut PythonPeer, service: &str) {
    for body in bodies() {
        let answer = ask_python(client, service, &body);
        let expected: Vec<Vec<u8>> = body.iter().map(|f| f.to_vec()).collect();
        assert_eq!(reply_frames(&answer), expected, "body {body:?}");
    }
}

fn mmi_checks(client: &mut PythonPeer, served: &str) {
    let cases: [(&str, &[u8], &[u8]); 3] = [
        ("mmi.service", served.as_bytes(), b"200"),
        ("mmi.service", b"nobody-serves-this", b"404"),
        ("mmi.unknown", b"", b"501"),
    ];
    for (service, body, code) in cases {
        let answer = ask_python(client, service, &[body]);
        assert_eq!(
            reply_frames(&answer),
            vec![code.to_vec()],
            "{service} {body:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_client_and_python_worker_talk_through_our_broker() {
    let broker = RunningBroker::start();
    let _worker = python_worker(&broker.endpoint, "echo");
    let mut client = python_client(&broker.endpoint);
    echo_checks(&mut client, "echo");
    mmi_checks(&mut client, "echo");
    let counters = broker.stats.snapshot();
    assert_eq!(counters.replies, bodies().len() as u64);
    assert_eq!(counters.mmi_requests, 3);
    assert_eq!(counters.malformed, 0);
    broker.stop().await;
}

async fn our_echo_checks(flow: &mut ClientFlow, service: &str) {
    for body in bodies() {
        let sent = Frames::new(body.iter().map(|f| f.to_vec()));
        let reply = flow
            .ask(service, sent.clone())
            .await
            .unwrap_or_else(|e| panic!("reply for {body:?}, got {:?}", e.error()));
        assert_eq!(reply.data, sent, "body {body:?}");
        assert_eq!(reply.service(), Some(service), "the envelope is kept");
    }
}

async fn our_mmi_checks(flow: &mut ClientFlow, served: &str) {
    let cases = [
        ("mmi.service", served, "200"),
        ("mmi.service", "nobody-serves-this", "404"),
        ("mmi.unknown", "", "501"),
    ];
    for (service, body, code) in cases {
        let reply = flow
            .ask(service, Frames::single(body.to_string()))
            .await
            .expect("MMI answers");
        assert_eq!(
            reply.data,
            Frames::single(code.to_string()),
            "{service} {body}"
        );
    }
}

fn our_client(endpoint: &str) -> MdpClient {
    MdpClient::connect(endpoint)
        .expect("valid endpoint")
        .timeout(Duration::from_secs(3))
}

fn our_worker(endpoint: &str, service: &str) -> MdpWorker {
    MdpWorker::connect(endpoint, service)
        .expect("valid worker")
        .heartbeat(HEARTBEAT, LIVENESS)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn our_client_and_our_worker_talk_through_the_python_broker() {
    let (_broker, endpoint) = python_broker();
    let mut worker = echo_worker(our_worker(&endpoint, "echo"));
    let mut flow = ClientFlow::start(our_client(&endpoint));
    // The worker registers in the background; MMI says when the python broker knows it.
    let mut registered = false;
    for _ in 0..100 {
        let reply = flow
            .ask("mmi.service", Frames::single("echo".to_string()))
            .await
            .expect("the python broker answers MMI");
        if reply.data == Frames::single("200".to_string()) {
            registered = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(registered, "our worker registered with the python broker");
    our_echo_checks(&mut flow, "echo").await;
    our_mmi_checks(&mut flow, "echo").await;
    flow.director.stop().await.expect("the client flow stops");
    worker.stop().await.expect("the worker stops");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn our_client_reaches_a_python_worker_through_our_broker() {
    let broker = RunningBroker::start();
    let _worker = python_worker(&broker.endpoint, "echo");
    let mut flow = ClientFlow::start(our_client(&broker.endpoint));
    our_echo_checks(&mut flow, "echo").await;
    our_mmi_checks(&mut flow, "echo").await;
    flow.director.stop().await.expect("the client flow stops");
    broker.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_python_client_reaches_our_worker_through_our_broker() {
    let broker = RunningBroker::start();
    let mut worker = echo_worker(our_worker(&broker.endpoint, "echo"));
    let stats = broker.stats.clone();
    assert!(
        eventually(WAIT, || stats.snapshot().workers == 1).await,
        "our worker registered"
    );
    let mut client = python_client(&broker.endpoint);
    echo_checks(&mut client, "echo");
    mmi_checks(&mut client, "echo");
    worker.stop().await.expect("the worker stops");
    assert!(
        eventually(WAIT, || stats.snapshot().workers == 0).await,
        "a stopping worker says DISCONNECT"
    );
    broker.stop().await;
}

/// Waits until the broker behind `flow` says (through `mmi.service`) that `service` is served.
async fn until_served(flow: &mut ClientFlow, service: &str) {
    for _ in 0..100 {
        let reply = flow
            .ask("mmi.service", Frames::single(service.to_string()))
            .await
            .expect("the broker answers MMI");
        if reply.data == Frames::single("200".to_string()) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("`{service}` never registered");
}

/// How often libzmq PINGs in the tests below (and closes a connection silent for three times
/// as long).
const ZMTP_PING_MS: &str = "20";
/// How long the tests below stay idle: many PING timeouts.
const IDLE: Duration = Duration::from_millis(400);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn our_worker_and_client_answer_the_zmtp_pings_of_a_python_broker() {
    // MDP heartbeats once a second: between them only PONGs keep the connections open.
    let (mut broker, endpoint) = python_broker_with(&[
        "--heartbeat-ms",
        "1000",
        "--liveness",
        "3",
        "--zmtp-heartbeat-ms",
        ZMTP_PING_MS,
    ]);
    let mut worker = echo_worker(
        MdpWorker::connect(&endpoint, "echo")
            .expect("valid worker")
            .heartbeat(Duration::from_secs(1), 3)
            .reconnect_delay(Duration::from_millis(50)),
    );
    let mut flow = ClientFlow::start(our_client(&endpoint).retries(0));
    until_served(&mut flow, "echo").await;
    for round in 0..2 {
        // Idle: the condition under test, not a wait for something to happen.
        tokio::time::sleep(IDLE).await;
        let sent = Frames::single(format!("after idling {round}"));
        let reply = flow
            .ask("echo", sent.clone())
            .await
            .unwrap_or_else(|e| panic!("a reply, got {:?}", e.error()));
        assert_eq!(reply.data, sent);
    }
    // Had the worker not answered the PINGs, libzmq would have closed its connection while it
    // idled, and it would have registered again.
    broker.send_json(&serde_json::json!({ "stats": true }));
    assert_eq!(
        broker.next_json(WAIT)["readies"],
        1,
        "our worker kept its one connection"
    );
    flow.director.stop().await.expect("the client flow stops");
    worker.stop().await.expect("the worker stops");
}

/// Passes events on after a pause longer than libzmq's PING timeout.
struct Pause;

impl Actor for Pause {
    type Inboxes = Inbox<Frames>;
    type Outboxes = Outbox<Frames>;

    async fn run(self, ctx: Context, inbox: Inbox<Frames>, outbox: Outbox<Frames>) {
        ctx.serve(inbox, |event| async {
            tokio::time::sleep(IDLE).await;
            outbox.send(event).await;
            Ok(())
        })
        .await
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn our_broker_answers_the_zmtp_pings_of_a_python_client_waiting_for_a_slow_reply() {
    let broker = RunningBroker::start();
    let mut director = Director::new();
    let mdp_worker = director.register_actor("mdp_worker", our_worker(&broker.endpoint, "slow"));
    let pause = director.register_actor("pause", Pause);
    director.connect_queue(&mdp_worker, &pause);
    director.connect_queue(&pause, &mdp_worker);
    director.start().expect("the worker starts");
    let stats = broker.stats.clone();
    assert!(eventually(WAIT, || stats.snapshot().workers == 1).await);
    // One attempt: had the broker not answered the PINGs, libzmq would have closed the
    // connection while the reply was being made, and the reply would have been lost.
    let mut client = PythonPeer::spawn(
        "client.py",
        &[
            "--connect",
            &broker.endpoint,
            "--timeout-ms",
            "3000",
            "--retries",
            "0",
            "--zmtp-heartbeat-ms",
            ZMTP_PING_MS,
        ],
    );
    let answer = ask_python(&mut client, "slow", &[b"patience"]);
    assert_eq!(reply_frames(&answer), vec![b"patience".to_vec()]);
    director.stop().await.expect("the worker stops");
    broker.stop().await;
}
