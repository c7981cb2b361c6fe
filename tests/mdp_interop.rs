//! Interoperability with independent 7/MDP peers written with pyzmq (libzmq) from the spec:
//! their client and worker through our broker, our client and worker through their broker, and
//! the mixed pairs. Bodies with several frames, empty frames and binary frames, and 8/MMI.

#[path = "mdp_peers/harness.rs"]
mod harness;

use std::time::Duration;

use compysition::actors::{MdpClient, MdpWorker};
use compysition::mdp::Frames;
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
    let broker = PythonPeer::spawn("broker.py", &args);
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
