//! What the MDP integration tests share: independent pyzmq peers in child processes, a source
//! that feeds a topology from the test, a sink that hands replies and errors back to it, and a
//! broker running in the background until dropped.

#![allow(dead_code)] // each test file uses its own part

use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc as std_mpsc;
use std::time::Duration;

use compysition::actors::MdpBroker;
use compysition::mdp::{BrokerStats, Frames};
use compysition::prelude::*;
use compysition::{AnyPayload, TakesErrors};
use serde_json::Value;
use tokio::sync::{mpsc, oneshot};

/// Heartbeats short enough for tests to see expiry within a second or two.
pub const HEARTBEAT: Duration = Duration::from_millis(100);
pub const LIVENESS: u32 = 3;

/// A pyzmq peer from `tests/mdp_peers/`, killed when dropped.
pub struct PythonPeer {
    child: Child,
    stdin: Option<ChildStdin>,
    lines: std_mpsc::Receiver<String>,
}

impl PythonPeer {
    /// Starts `script` (`broker.py`, `worker.py`, `client.py`) with `args`.
    pub fn spawn(script: &str, args: &[&str]) -> Self {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/mdp_peers/");
        let mut child = Command::new("python3")
            .arg("-u")
            .arg(format!("{path}{script}"))
            .args(args)
            .current_dir(path)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("python3 runs (bash .ci/run installs pyzmq)");
        let stdout = child.stdout.take().expect("stdout is piped");
        let stdin = child.stdin.take();
        let (tx, lines) = std_mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        PythonPeer {
            child,
            stdin,
            lines,
        }
    }

    /// The next JSON line the peer printed, waiting at most `within`.
    pub fn next_json(&self, within: Duration) -> Value {
        let line = self
            .lines
            .recv_timeout(within)
            .expect("the python peer printed a line in time");
        serde_json::from_str(&line).expect("the python peer prints JSON lines")
    }

    /// Sends one JSON line to the peer.
    pub fn send_json(&mut self, value: &Value) {
        let stdin = self.stdin.as_mut().expect("stdin is open");
        writeln!(stdin, "{value}").expect("the python peer reads its stdin");
        stdin.flush().expect("flush");
    }

    /// Closes the peer's stdin: the peer's signal to leave cleanly.
    pub fn close_stdin(&mut self) {
        self.stdin = None;
    }

    /// Whether the process has exited, waiting up to `within`.
    pub fn exited_within(&mut self, within: Duration) -> bool {
        let deadline = std::time::Instant::now() + within;
        while std::time::Instant::now() < deadline {
            if matches!(self.child.try_wait(), Ok(Some(_))) {
                return true;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        false
    }
}

impl Drop for PythonPeer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A request for the python client: service and hex frames.
pub fn python_request(service: &str, frames: &[&[u8]]) -> Value {
    let body: Vec<String> = frames.iter().map(|f| hex(f)).collect();
    serde_json::json!({ "service": service, "body": body })
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The frames of a `{"reply": [hex...]}` line.
pub fn reply_frames(answer: &Value) -> Vec<Vec<u8>> {
    let frames = answer["reply"]
        .as_array()
        .unwrap_or_else(|| panic!("a reply, got {answer}"));
    frames
        .iter()
        .map(|f| {
            let text = f.as_str().expect("hex text");
            (0..text.len())
                .step_by(2)
                .map(|i| u8::from_str_radix(&text[i..i + 2], 16).expect("hex"))
                .collect()
        })
        .collect()
}

/// Our broker, running in the background until dropped.
pub struct RunningBroker {
    pub endpoint: String,
    pub stats: std::sync::Arc<BrokerStats>,
    stop: Option<oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<compysition::Result<()>>>,
}

impl RunningBroker {
    /// A broker on a free port with the test heartbeat.
    pub fn start() -> Self {
        Self::start_with(|broker| broker)
    }

    /// A broker on a free port, configured further by `configure`.
    pub fn start_with(configure: impl FnOnce(MdpBroker) -> MdpBroker) -> Self {
        let broker = MdpBroker::bind("tcp://127.0.0.1:0")
            .expect("a free port")
            .heartbeat_interval(HEARTBEAT)
            .heartbeat_liveness(LIVENESS);
        Self::run(configure(broker))
    }

    pub fn run(broker: MdpBroker) -> Self {
        let endpoint = broker.endpoint().to_string();
        let stats = broker.stats();
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(broker.run_until(async {
            let _ = stopped.await;
        }));
        RunningBroker {
            endpoint,
            stats,
            stop: Some(stop),
            task: Some(task),
        }
    }

    /// Stops the broker and waits until its socket is closed.
    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            task.await
                .expect("the broker task does not panic")
                .expect("the broker ran");
        }
    }
}

impl Drop for RunningBroker {
    fn drop(&mut self) {
        if let Some(task) = &self.task {
            task.abort();
        }
    }
}

/// A source that emits the events the test gives it, until the test drops its sender.
pub struct Feeder<T> {
    events: mpsc::UnboundedReceiver<Event<T>>,
}

impl<T: Send + Sync + 'static> Feeder<T> {
    pub fn new() -> (mpsc::UnboundedSender<Event<T>>, Self) {
        let (tx, events) = mpsc::unbounded_channel();
        (tx, Feeder { events })
    }
}

impl<T: Send + Sync + 'static> Actor for Feeder<T> {
    type Inboxes = ();
    type Outboxes = Outbox<T>;

    async fn run(mut self, ctx: Context, (): (), outbox: Outbox<T>) {
        loop {
            tokio::select! {
                () = ctx.stopped() => return,
                event = self.events.recv() => match event {
                    Some(event) => outbox.send(event).await,
                    None => return,
                },
            }
        }
    }
}

/// What reached the end of a flow: a reply, or an error event.
pub type Outcome<T> = Result<Event<T>, Event<AnyPayload>>;

/// A sink that hands every event and every error routed to it back to the test.
pub struct Collector<T> {
    outcomes: mpsc::UnboundedSender<Outcome<T>>,
}

impl<T: Send + Sync + 'static> Collector<T> {
    pub fn new() -> (mpsc::UnboundedReceiver<Outcome<T>>, Self) {
        let (outcomes, rx) = mpsc::unbounded_channel();
        (rx, Collector { outcomes })
    }
}

impl<T: Send + Sync + 'static> Actor for Collector<T> {
    type Inboxes = Inbox<T>;
    type Outboxes = ();
    const ERROR_INBOX: bool = true;

    async fn run(self, mut ctx: Context, mut inbox: Inbox<T>, (): ()) {
        let mut errors = ctx.take_error_inbox();
        loop {
            tokio::select! {
                event = inbox.recv() => match event {
                    Some(event) => { let _ = self.outcomes.send(Ok(event)); }
                    None => return,
                },
                Some(error) = async {
                    match errors.as_mut() {
                        Some(errors) => errors.recv().await,
                        None => std::future::pending().await,
                    }
                } => { let _ = self.outcomes.send(Err(error)); }
            }
        }
    }
}

impl<T: Send + Sync + 'static> TakesErrors for Collector<T> {}

/// A topology `feeder -> client -> collector`, with the client's errors to the collector too.
pub struct ClientFlow {
    pub requests: mpsc::UnboundedSender<Event<Frames>>,
    pub outcomes: mpsc::UnboundedReceiver<Outcome<Frames>>,
    pub director: Director,
}

impl ClientFlow {
    pub fn start(client: impl Actor<Inboxes = Inbox<Frames>, Outboxes = Outbox<Frames>>) -> Self {
        let mut director = Director::new();
        let (requests, feeder) = Feeder::new();
        let (outcomes, collector) = Collector::new();
        let feeder = director.register_actor("feeder", feeder);
        let client = director.register_actor("mdp_client", client);
        let collector = director.register_actor("collector", collector);
        director.connect_queue(&feeder, &client);
        director.connect_queue(&client, &collector);
        director.connect_error_queue(&client, &collector);
        director.start().expect("the flow starts");
        ClientFlow {
            requests,
            outcomes,
            director,
        }
    }

    /// Sends `count` requests to `service` at once (bodies `0`, `1`, …) and waits for every
    /// one to be answered; the replies, in the order they came.
    pub async fn ask_at_once(&mut self, service: &str, count: usize) -> Vec<Event<Frames>> {
        for n in 0..count {
            let event = Event::new(Frames::single(n.to_string())).with_service(service);
            self.requests.send(event).expect("the feeder runs");
        }
        let mut replies = Vec::with_capacity(count);
        for _ in 0..count {
            let outcome = tokio::time::timeout(Duration::from_secs(20), self.outcomes.recv())
                .await
                .expect("every request ends in a reply or an error")
                .expect("the collector runs");
            replies
                .push(outcome.unwrap_or_else(|failed| panic!("a reply, got {:?}", failed.error())));
        }
        replies
    }

    /// Sends one request and waits for its outcome.
    pub async fn ask(&mut self, service: &str, body: Frames) -> Outcome<Frames> {
        let event = Event::new(body).with_service(service);
        let id = event.id();
        self.requests.send(event).expect("the feeder runs");
        let outcome = tokio::time::timeout(Duration::from_secs(20), self.outcomes.recv())
            .await
            .expect("every request ends in a reply or an error")
            .expect("the collector runs");
        let got = match &outcome {
            Ok(event) => event.id(),
            Err(event) => event.id(),
        };
        assert_eq!(got, id, "the outcome belongs to the request");
        outcome
    }
}

/// A topology in which an `MdpWorker` answers every request with its own body (its outbox
/// feeds its inbox).
pub fn echo_worker(worker: compysition::actors::MdpWorker) -> Director {
    let mut director = Director::new();
    let worker = director.register_actor("mdp_worker", worker);
    director.connect_queue(&worker, &worker);
    director.start().expect("the worker starts");
    director
}

/// Polls `condition` every 10 ms until it holds or `within` passes.
pub async fn eventually(within: Duration, mut condition: impl FnMut() -> bool) -> bool {
    let deadline = tokio::time::Instant::now() + within;
    while tokio::time::Instant::now() < deadline {
        if condition() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    condition()
}

/// Body frames as test-friendly vectors.
pub fn frames_vec(frames: &Frames) -> Vec<Vec<u8>> {
    frames.iter().map(|f| f.to_vec()).collect()
}

/// The examples directory next to this test binary, with the examples `names` built into it (a
/// no-op when `cargo test` already built them).
pub fn example_binaries(names: &[&str]) -> PathBuf {
    let exe = std::env::current_exe().expect("test binary path");
    let profile_dir = exe
        .parent()
        .and_then(|deps| deps.parent())
        .expect("target/<profile>/deps/<test>")
        .to_path_buf();
    let target_dir = profile_dir
        .parent()
        .expect("target/<profile>")
        .to_path_buf();
    let mut build = Command::new(env!("CARGO"));
    build
        .args(["build", "--quiet"])
        .args(names.iter().flat_map(|name| ["--example", name]))
        .arg("--target-dir")
        .arg(&target_dir)
        .current_dir(env!("CARGO_MANIFEST_DIR"));
    if profile_dir
        .file_name()
        .is_some_and(|name| name == "release")
    {
        build.arg("--release");
    }
    let status = build.status().expect("cargo runs");
    assert!(status.success(), "the examples build");
    profile_dir.join("examples")
}

/// A child process killed when dropped.
pub struct Process(pub Child);

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

pub fn spawn(path: PathBuf, args: &[&str]) -> (Process, std::sync::mpsc::Receiver<String>) {
    let mut child = Command::new(path)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("the example starts");
    let stdout = child.stdout.take().expect("piped");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    (Process(child), rx)
}

/// A ZeroMQ message of the given frames.
pub fn message(frames: &[&[u8]]) -> zeromq::ZmqMessage {
    zeromq::ZmqMessage::try_from(
        frames
            .iter()
            .map(|f| bytes::Bytes::copy_from_slice(f))
            .collect::<Vec<_>>(),
    )
    .expect("frames")
}
