//! What the ZeroMQ connector tests share: an independent pyzmq peer (`peer.py`) in a child
//! process, a source fed by the test, a sink that hands events back to it, hex frames, a raw
//! ZMTP greeting for peers that misbehave, and a wait for a condition on a connector's
//! counters.

#![allow(dead_code)] // each test uses its own part

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc as std_mpsc;
use std::time::Duration;

use compysition::prelude::*;
use compysition::zeromq::Frames;
use serde_json::Value;
use tokio::sync::mpsc;

/// How long a test waits for anything a peer should do at once.
pub const WAIT: Duration = Duration::from_secs(10);
/// How often [`eventually`] looks at its condition.
pub const POLL: Duration = Duration::from_millis(10);

/// A pyzmq peer, killed when dropped.
pub struct PythonPeer {
    child: Child,
    stdin: Option<ChildStdin>,
    lines: std_mpsc::Receiver<String>,
    /// Where it listens, or what it connects to.
    pub endpoint: String,
}

impl PythonPeer {
    /// Starts `peer.py --type kind` bound to `bind` (`tcp://127.0.0.1:*` for a free port) or
    /// connected to `connect`, with more `args`.
    pub fn spawn(kind: &str, place: Place<'_>, args: &[&str]) -> Self {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/zmq_peers/peer.py");
        let (flag, endpoint) = match place {
            Place::Bind(endpoint) => ("--bind", endpoint),
            Place::Connect(endpoint) => ("--connect", endpoint),
        };
        let mut child = Command::new("python3")
            .args(["-u", path, "--type", kind, flag, endpoint])
            .args(args)
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
        let mut peer = PythonPeer {
            child,
            stdin,
            lines,
            endpoint: String::new(),
        };
        let started = peer.next_json(WAIT);
        peer.endpoint = started["listening"]
            .as_str()
            .or(started["connecting"].as_str())
            .unwrap_or_else(|| panic!("the peer says where it is, got {started}"))
            .to_string();
        peer
    }

    /// The next JSON line the peer printed, waiting at most `within`.
    pub fn next_json(&self, within: Duration) -> Value {
        let line = self
            .lines
            .recv_timeout(within)
            .expect("the python peer printed a line in time");
        serde_json::from_str(&line).expect("the python peer prints JSON lines")
    }

    /// The frames of the next message the peer received.
    pub fn next_message(&self) -> Vec<Vec<u8>> {
        let line = self.next_json(WAIT);
        let frames = line["message"]
            .as_array()
            .unwrap_or_else(|| panic!("a message, got {line}"));
        frames
            .iter()
            .map(|frame| unhex(frame.as_str().expect("hex text")))
            .collect()
    }

    /// Sends one JSON line to the peer.
    pub fn send_json(&mut self, value: &Value) {
        let stdin = self.stdin.as_mut().expect("stdin is open");
        writeln!(stdin, "{value}").expect("the python peer reads its stdin");
        stdin.flush().expect("flush");
    }

    /// Has the peer send a message, and waits until it says it did.
    pub fn send(&mut self, frames: &[&[u8]]) {
        let frames: Vec<String> = frames.iter().map(|frame| hex(frame)).collect();
        self.send_json(&serde_json::json!({ "send": frames }));
        let said = self.next_json(WAIT);
        assert!(said["sent"].is_u64(), "the peer sent, got {said}");
    }
}

impl Drop for PythonPeer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Where a python peer is.
#[derive(Clone, Copy)]
pub enum Place<'a> {
    Bind(&'a str),
    Connect(&'a str),
}

/// A free port for a python peer to bind.
pub const ANY_PORT: Place<'static> = Place::Bind("tcp://127.0.0.1:*");

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

pub fn unhex(text: &str) -> Vec<u8> {
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).expect("hex"))
        .collect()
}

/// The frames of a message as owned vectors, to compare with what a peer printed.
pub fn owned(frames: &[&[u8]]) -> Vec<Vec<u8>> {
    frames.iter().map(|frame| frame.to_vec()).collect()
}

/// A source that emits what the test sends it, until the test drops its sender or the
/// topology stops; the channel is bounded, so a test sees when the flow stops taking.
pub struct Feed {
    events: mpsc::Receiver<Event<Frames>>,
}

pub fn feed(capacity: usize) -> (Feed, mpsc::Sender<Event<Frames>>) {
    let (tx, events) = mpsc::channel(capacity);
    (Feed { events }, tx)
}

impl Actor for Feed {
    type Inboxes = ();
    type Outboxes = Outbox<Frames>;

    async fn run(mut self, ctx: Context, (): (), outbox: Outbox<Frames>) {
        loop {
            tokio::select! {
                biased;
                () = ctx.stopped() => break,
                event = self.events.recv() => match event {
                    Some(event) => outbox.send(event).await,
                    None => break,
                },
            }
        }
    }
}

/// A sink that hands every event back to the test.
pub struct Collect {
    events: mpsc::UnboundedSender<Event<Frames>>,
}

pub fn collect() -> (Collect, mpsc::UnboundedReceiver<Event<Frames>>) {
    let (events, rx) = mpsc::unbounded_channel();
    (Collect { events }, rx)
}

impl Actor for Collect {
    type Inboxes = Inbox<Frames>;
    type Outboxes = ();

    async fn run(self, _ctx: Context, mut inbox: Inbox<Frames>, (): ()) {
        while let Some(event) = inbox.recv().await {
            let _ = self.events.send(event);
        }
    }
}

/// The frames of the next event a collector got.
pub async fn next_event(events: &mut mpsc::UnboundedReceiver<Event<Frames>>) -> Vec<Vec<u8>> {
    let event = tokio::time::timeout(WAIT, events.recv())
        .await
        .expect("an event in time")
        .expect("the collector runs");
    event.data.iter().map(|frame| frame.to_vec()).collect()
}

/// An event of `frames`.
pub fn message(frames: &[&[u8]]) -> Event<Frames> {
    Event::new(Frames::new(frames.iter().map(|frame| frame.to_vec())))
}

/// Polls `condition` every [`POLL`] until it holds or [`WAIT`] passes; whether it held.
pub async fn eventually(mut condition: impl FnMut() -> bool) -> bool {
    let deadline = tokio::time::Instant::now() + WAIT;
    while tokio::time::Instant::now() < deadline {
        if condition() {
            return true;
        }
        tokio::time::sleep(POLL).await;
    }
    condition()
}

/// A ZMTP 3.1 NULL greeting and a READY for a socket of `socket_type`, as a raw peer sends
/// them.
pub fn raw_handshake(socket_type: &str) -> Vec<u8> {
    let mut wire = vec![0xFF, 0, 0, 0, 0, 0, 0, 0, 0, 0x7F, 3, 1];
    let mut mechanism = b"NULL".to_vec();
    mechanism.resize(20, 0);
    wire.extend(mechanism);
    wire.push(0); // as-server
    wire.extend([0; 31]);
    let mut ready = vec![5];
    ready.extend(b"READY");
    ready.push(11);
    ready.extend(b"Socket-Type");
    ready.extend((socket_type.len() as u32).to_be_bytes());
    ready.extend(socket_type.as_bytes());
    wire.push(0x04);
    wire.push(ready.len() as u8);
    wire.extend(ready);
    wire
}

/// A flow `feed -> sink` whose edge holds `capacity` events; the feed's own channel holds one.
pub fn sink_flow<A>(sink: A, capacity: usize) -> (Director, mpsc::Sender<Event<Frames>>)
where
    A: Actor<Inboxes = Inbox<Frames>, Outboxes = ()>,
{
    let mut director = Director::new();
    let (source, events) = feed(1);
    let source = director.register_actor("feed", source);
    let sink = director.register_actor("socket", sink);
    director.connect_queue(&source, &sink).capacity(capacity);
    director.start().expect("the flow starts");
    (director, events)
}

/// A flow `source -> collect`.
pub fn source_flow<A>(source: A) -> (Director, mpsc::UnboundedReceiver<Event<Frames>>)
where
    A: Actor<Inboxes = (), Outboxes = Outbox<Frames>>,
{
    let mut director = Director::new();
    let (sink, events) = collect();
    let source = director.register_actor("socket", source);
    let sink = director.register_actor("collect", sink);
    director.connect_queue(&source, &sink);
    director.start().expect("the flow starts");
    (director, events)
}
