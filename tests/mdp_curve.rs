//! CURVE security (RFC 25/26) on the Majordomo sockets, against libzmq's own CURVE through
//! pyzmq: our broker with a server key and an allow-list serving pyzmq's client and worker,
//! a pyzmq CURVE broker serving our client and worker, and the refusals — a key not on the
//! allow-list (the worker never registers, the request never reaches it) and a plaintext
//! peer. The key files are pyzmq's own certificates (`zmq.auth.create_certificates`), read
//! with our loaders.

#[path = "mdp_peers/harness.rs"]
mod harness;

use std::path::PathBuf;
use std::time::Duration;

use compysition::actors::{MdpClient, MdpWorker};
use compysition::curve::{AllowList, CurveClient, CurveServer, KeyPair, PublicKey};
use compysition::mdp::Frames;
use harness::*;

const WAIT: Duration = Duration::from_secs(10);

/// pyzmq certificates in a directory of their own, removed when dropped: `allowed/` holds the
/// client's and the worker's (the broker's allow-list), `others/` the broker's and a
/// stranger's.
struct Keys(PathBuf);

impl Keys {
    fn new(test: &str) -> Self {
        let dir =
            std::env::temp_dir().join(format!("compysition-curve-{}-{test}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        for (sub, names) in [
            ("allowed", ["client", "worker"]),
            ("others", ["broker", "stranger"]),
        ] {
            let path = dir.join(sub);
            let path = path.to_str().expect("a UTF-8 temp dir");
            let made = PythonPeer::spawn("keys.py", &[path, names[0], names[1]]);
            assert_eq!(made.next_json(WAIT)["keys"], path);
        }
        Keys(dir)
    }

    fn file(&self, name: &str, extension: &str) -> String {
        let sub = if matches!(name, "client" | "worker") {
            "allowed"
        } else {
            "others"
        };
        let path = self.0.join(sub).join(format!("{name}.{extension}"));
        path.to_str().expect("a UTF-8 temp dir").to_string()
    }

    fn secret(&self, name: &str) -> String {
        self.file(name, "key_secret")
    }

    fn public(&self, name: &str) -> String {
        self.file(name, "key")
    }

    fn server(&self) -> CurveServer {
        let keys = KeyPair::load(self.secret("broker")).expect("pyzmq's broker certificate");
        let allow = AllowList::load(self.0.join("allowed")).expect("pyzmq's public certificates");
        assert_eq!(allow.len(), 2);
        CurveServer::new(keys, allow)
    }

    fn client(&self, name: &str) -> CurveClient {
        let keys = KeyPair::load(self.secret(name)).expect("pyzmq's certificate");
        let server = PublicKey::load(self.public("broker")).expect("pyzmq's public certificate");
        CurveClient::new(keys, server)
    }

    /// The arguments of a pyzmq client or worker with `name`'s key.
    fn args(&self, name: &str) -> Vec<String> {
        vec![
            "--curve-key".into(),
            self.secret(name),
            "--curve-server".into(),
            self.public("broker"),
        ]
    }
}

impl Drop for Keys {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn python_worker(endpoint: &str, extra: &[String]) -> PythonPeer {
    let beat = [HEARTBEAT.as_millis().to_string(), LIVENESS.to_string()];
    let mut args = vec!["--connect", endpoint, "--service", "echo"];
    args.extend(["--heartbeat-ms", &beat[0], "--liveness", &beat[1]]);
    args.extend(extra.iter().map(String::as_str));
    let worker = PythonPeer::spawn("worker.py", &args);
    assert_eq!(worker.next_json(WAIT)["ready"], "echo");
    worker
}

fn python_client(endpoint: &str, timeout_ms: &str, extra: &[String]) -> PythonPeer {
    let mut args = vec!["--connect", endpoint, "--timeout-ms", timeout_ms];
    args.extend(["--retries", "0"]);
    args.extend(extra.iter().map(String::as_str));
    PythonPeer::spawn("client.py", &args)
}

fn ask(client: &mut PythonPeer, frames: &[&[u8]]) -> serde_json::Value {
    client.send_json(&python_request("echo", frames));
    client.next_json(WAIT)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn our_curve_broker_serves_a_pyzmq_curve_client_and_worker() {
    let keys = Keys::new("our-broker");
    let broker = RunningBroker::start_with(|broker| broker.curve(keys.server()));
    let _worker = python_worker(&broker.endpoint, &keys.args("worker"));
    let stats = broker.stats.clone();
    assert!(
        eventually(WAIT, || stats.snapshot().workers == 1).await,
        "the pyzmq worker registered over CURVE"
    );
    let mut client = python_client(&broker.endpoint, "5000", &keys.args("client"));
    let body: [&[u8]; 3] = [b"first", b"", &[0u8; 1000]];
    let answer = ask(&mut client, &body);
    let expected: Vec<Vec<u8>> = body.iter().map(|f| f.to_vec()).collect();
    assert_eq!(reply_frames(&answer), expected);
    let counters = stats.snapshot();
    assert_eq!(counters.replies, 1);
    assert_eq!(counters.refused_connections, 0);
    broker.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pyzmq_curve_broker_serves_our_curve_client_and_worker() {
    let keys = Keys::new("pyzmq-broker");
    let beat = [HEARTBEAT.as_millis().to_string(), LIVENESS.to_string()];
    let broker_key = keys.secret("broker");
    let args = [
        "--heartbeat-ms",
        &beat[0],
        "--liveness",
        &beat[1],
        "--curve-key",
        &broker_key,
    ];
    let broker = PythonPeer::spawn("broker.py", &args);
    let endpoint = broker.next_json(WAIT)["listening"]
        .as_str()
        .expect("the python broker says where it listens")
        .to_string();
    let worker = MdpWorker::connect(&endpoint, "echo")
        .expect("valid worker")
        .heartbeat(HEARTBEAT, LIVENESS)
        .curve(keys.client("worker"));
    let mut worker = echo_worker(worker);
    let client = MdpClient::connect(&endpoint)
        .expect("valid endpoint")
        .timeout(WAIT)
        .curve(keys.client("client"));
    let mut flow = ClientFlow::start(client);
    // The python broker keeps a request for a service until a worker for it registers.
    let sent = Frames::new([b"over".to_vec(), Vec::new(), b"curve".to_vec()]);
    let reply = flow
        .ask("echo", sent.clone())
        .await
        .unwrap_or_else(|e| panic!("a reply, got {:?}", e.error()));
    assert_eq!(reply.data, sent);
    flow.director.stop().await.expect("the client flow stops");
    worker.stop().await.expect("the worker stops");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_not_on_the_allow_list_can_neither_register_nor_be_reached() {
    let keys = Keys::new("stranger");
    let broker = RunningBroker::start_with(|broker| broker.curve(keys.server()));
    let stats = broker.stats.clone();
    // A pyzmq worker and one of ours, both with the stranger's key.
    let _python = python_worker(&broker.endpoint, &keys.args("stranger"));
    let ours = MdpWorker::connect(&broker.endpoint, "echo")
        .expect("valid worker")
        .heartbeat(HEARTBEAT, LIVENESS)
        .curve(keys.client("stranger"));
    let mut ours = echo_worker(ours);
    assert!(
        eventually(WAIT, || stats.snapshot().refused_connections >= 2).await,
        "both strangers are refused in the handshake"
    );
    // An allowed client's request finds no worker: none registered.
    let mut client = python_client(&broker.endpoint, "500", &keys.args("client"));
    assert_eq!(ask(&mut client, &[b"anyone?"])["error"], "timeout");
    let counters = stats.snapshot();
    assert_eq!(counters.workers, 0);
    assert_eq!(counters.requests, 1, "the allowed client got through");
    assert_eq!(counters.replies, 0);
    ours.stop().await.expect("the worker stops");
    broker.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plaintext_peer_is_refused_by_a_curve_broker() {
    let keys = Keys::new("plaintext");
    let broker = RunningBroker::start_with(|broker| broker.curve(keys.server()));
    let stats = broker.stats.clone();
    // libzmq closes the connection itself on seeing our CURVE greeting, before its own
    // greeting is complete; what matters is that nothing it sends is taken.
    let mut client = python_client(&broker.endpoint, "500", &[]);
    assert_eq!(ask(&mut client, &[b"in clear"])["error"], "timeout");
    assert_eq!(stats.snapshot().requests, 0);
    // Our own NULL client, which finishes its greeting, is refused and counted.
    let plain = MdpClient::connect(&broker.endpoint)
        .expect("valid endpoint")
        .timeout(Duration::from_millis(300))
        .retries(0);
    let mut flow = ClientFlow::start(plain);
    let failed = flow
        .ask("echo", Frames::single("in clear".to_string()))
        .await;
    assert!(failed.is_err(), "no reply for a plaintext client");
    assert!(stats.snapshot().refused_connections >= 1);
    assert_eq!(stats.snapshot().requests, 0);
    flow.director.stop().await.expect("the client flow stops");
    broker.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn our_client_broker_and_worker_serve_many_requests_over_curve() {
    let server = KeyPair::generate();
    let (client, worker) = (KeyPair::generate(), KeyPair::generate());
    let allow = AllowList::from_iter([*client.public(), *worker.public()]);
    let public = *server.public();
    let broker = RunningBroker::start_with(|broker| broker.curve(CurveServer::new(server, allow)));
    let stats = broker.stats.clone();
    let worker = MdpWorker::connect(&broker.endpoint, "echo")
        .expect("valid worker")
        .heartbeat(HEARTBEAT, LIVENESS)
        .connections(4)
        .curve(CurveClient::new(worker, public));
    let mut worker = echo_worker(worker);
    assert!(
        eventually(WAIT, || stats.snapshot().workers == 4).await,
        "the worker's connections registered"
    );
    let client = MdpClient::connect(&broker.endpoint)
        .expect("valid endpoint")
        .timeout(WAIT)
        .retries(0)
        .curve(CurveClient::new(client, public));
    let mut flow = ClientFlow::start(client);
    let started = std::time::Instant::now();
    for _ in 0..20 {
        assert_eq!(flow.ask_at_once("echo", 8).await.len(), 8);
    }
    let elapsed = started.elapsed();
    assert_eq!(stats.snapshot().replies, 160);
    assert_eq!(stats.snapshot().refused_connections, 0);
    // Far under a heartbeat or a timeout each: nothing waits for a timer.
    assert!(
        elapsed < Duration::from_secs(5),
        "{elapsed:?} for 160 requests"
    );
    flow.director.stop().await.expect("the client flow stops");
    worker.stop().await.expect("the worker stops");
    broker.stop().await;
}
