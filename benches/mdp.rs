//! Request/reply round trips per second through our MDP broker, against a direct DEALER↔ROUTER
//! echo with the same `zeromq` crate (no broker), measured in the same run.
//!
//! **Load (identical on both sides).** `CLIENTS` DEALER sockets of the `zeromq` crate, each
//! with one request in flight at a time (the 7/MDP client dialogue), all sending the same
//! request: `"" MDPC01 echo BODY`. The baseline's ROUTER sends every message straight back, so
//! requests and replies have the same frames and sizes on both sides.
//!
//! **What "N workers" means.** N `MdpWorker` actors, each configured as a user would for this
//! load: `MdpWorker::connect(broker, "echo").connections(CLIENTS)` (an MDP worker takes its next
//! request only after replying, so one worker keeps `CLIENTS` requests in flight over that many
//! broker connections), its outbox wired to its own inbox so that every request comes back as
//! its reply. Through the broker a request costs four socket hops (client → broker → worker →
//! broker → client) where the echo costs two, plus the worker's trip through its flow.
//!
//! **Method.** Everything runs in one tokio runtime with two worker threads, broker and
//! workers started once per configuration, client sockets connected once per side. After a
//! warm-up round on each side, `ROUNDS` rounds alternate baseline and broker, `ROUND` each;
//! `rps` and `baseline_rps` are the medians of the rounds and `ratio` the median of the
//! per-round ratios (each pairs two measurements taken a second apart, so a change of machine
//! load between rounds does not skew it).
//!
//! ```text
//! cargo bench --bench mdp
//! RESULT mdp_broker rps=<n> baseline_rps=<n> ratio=<r> workers=1
//! RESULT mdp_broker rps=<n> baseline_rps=<n> ratio=<r> workers=4
//! ```
//!
//! A third RESULT line shows how the broker spreads requests over workers: plain 7/MDP workers
//! that each handle one request at a time (`connections(1)`), four against one under the same
//! clients (there `baseline_rps` is the one worker's rate):
//!
//! ```text
//! RESULT mdp_broker_spread rps=<n> baseline_rps=<n> ratio=<r> workers=4 against 1, one request at a time each
//! ```
//!
//! On two cores the first two lines differ little: a worker with `CLIENTS` connections already
//! keeps every request in flight, and broker, workers and clients share the same two cores, so
//! more workers cannot add CPU. Where a worker is the narrow part — one request at a time, as
//! the spec's worker — four of them do.
//!
//! Each of the first two RESULT lines is followed (on Linux) by the CPU time, user and system,
//! the whole process (clients included, on both sides) spent per round trip, medians again, and
//! the ratio of the two: it moves far less than a rate when other processes load the machine. A
//! line gives the latency-bound case for context: one client, one request in flight.
//!
//! One RESULT line measures what the envelope costs: two `MdpClient` flows over one broker
//! and one `MdpWorker` with `envelope(true)` (`CLIENTS` connections for each of its names), one
//! client with the envelope off (`baseline_rps`), one with it on; each keeps `CLIENTS` requests
//! in flight, the same event (a meta id and two attributes) over and over, and the two take
//! turns as above, so the ratio is enveloped over plain round trips per second:
//!
//! ```text
//! RESULT mdp_envelope rps=<n> baseline_rps=<n> ratio=<r> clients=8
//! ```
//!
//! The last RESULT line is the cost of CURVE security: our own `MdpClient` (`CLIENTS` requests
//! at a time), broker and `MdpWorker` (`connections(CLIENTS)`), once with CURVE on every
//! connection and once with NULL, rounds alternating as above; `ratio` is CURVE's rate over
//! NULL's (the `zeromq` crate's clients above cannot speak CURVE):
//!
//! ```text
//! RESULT mdp_curve rps=<n> null_rps=<n> ratio=<r> clients=8, our client, broker and worker
//! ```

#[path = "support/cpu.rs"]
mod cpu;
#[path = "../tests/mdp_peers/harness.rs"]
mod harness;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use compysition::actors::{MdpBroker, MdpClient, MdpWorker};
use compysition::curve::{AllowList, CurveClient, CurveServer, KeyPair};
use compysition::mdp::Frames;
use compysition::{Actor, Context, Director, Event, Inbox, Outbox};
use zeromq::{DealerSocket, RouterSocket, Socket, SocketRecv, SocketSend, ZmqMessage};

/// Requests in flight at once, one per client socket.
const CLIENTS: usize = 8;
const ROUNDS: usize = 5;
const ROUND: Duration = Duration::from_secs(1);
const BODY: &[u8] = b"benchmark request body";

fn request() -> ZmqMessage {
    ZmqMessage::try_from(vec![
        Bytes::new(),
        Bytes::from_static(b"MDPC01"),
        Bytes::from_static(b"echo"),
        Bytes::from_static(BODY),
    ])
    .expect("frames")
}

/// Something that can be loaded for a round: round trips per second, and CPU microseconds per
/// round trip where Linux tells it.
trait Load {
    async fn round(&mut self, length: Duration) -> (f64, Option<f64>);
}

/// Client sockets connected to one endpoint, kept from round to round.
struct Clients(Vec<DealerSocket>);

impl Load for Clients {
    async fn round(&mut self, length: Duration) -> (f64, Option<f64>) {
        Clients::round(self, length).await
    }
}

impl Clients {
    async fn connect(endpoint: &str, count: usize) -> Self {
        let mut sockets = Vec::with_capacity(count);
        for _ in 0..count {
            let mut socket = DealerSocket::new();
            socket.connect(endpoint).await.expect("connects");
            sockets.push(socket);
        }
        Clients(sockets)
    }

    /// Every client sends, waits for the reply, sends again, for `length`: round trips per
    /// second, and the CPU time the process spent per round trip (where Linux tells it).
    async fn round(&mut self, length: Duration) -> (f64, Option<f64>) {
        let cpu_before = cpu::process_cpu_time();
        let stop = Arc::new(AtomicBool::new(false));
        let tasks: Vec<_> = self
            .0
            .drain(..)
            .map(|mut socket| {
                let stop = Arc::clone(&stop);
                tokio::spawn(async move {
                    let mut done = 0u64;
                    while !stop.load(Ordering::Relaxed) {
                        socket.send(request()).await.expect("sent");
                        socket.recv().await.expect("answered");
                        done += 1;
                    }
                    (socket, done)
                })
            })
            .collect();
        let started = Instant::now();
        tokio::time::sleep(length).await;
        stop.store(true, Ordering::Relaxed);
        let mut done = 0;
        for task in tasks {
            let (socket, count) = task.await.expect("client runs");
            self.0.push(socket);
            done += count;
        }
        let elapsed = started.elapsed();
        let cpu = cpu_before
            .zip(cpu::process_cpu_time())
            .map(|(before, after)| (after - before).as_secs_f64() * 1e6 / done.max(1) as f64);
        (done as f64 / elapsed.as_secs_f64(), cpu)
    }
}

/// The direct echo: a ROUTER that sends every message back to its sender.
async fn echo_server() -> (String, tokio::task::JoinHandle<()>) {
    let mut router = RouterSocket::new();
    let endpoint = router
        .bind("tcp://127.0.0.1:0")
        .await
        .expect("binds")
        .to_string();
    let task = tokio::spawn(async move {
        while let Ok(message) = router.recv().await {
            if router.send(message).await.is_err() {
                break;
            }
        }
    });
    (endpoint, task)
}

/// Our broker with `workers` echo `MdpWorker` actors, each with `connections` connections.
struct Brokered {
    endpoint: String,
    stop_broker: tokio::sync::oneshot::Sender<()>,
    broker: tokio::task::JoinHandle<compysition::Result<()>>,
    workers: Director,
}

impl Brokered {
    async fn start(workers: usize, connections: usize) -> Self {
        let broker = MdpBroker::bind("tcp://127.0.0.1:0").expect("a free port");
        let endpoint = broker.endpoint().to_string();
        let stats = broker.stats();
        let (stop_broker, stopped) = tokio::sync::oneshot::channel::<()>();
        let broker = tokio::spawn(broker.run_until(async {
            let _ = stopped.await;
        }));
        let mut director = Director::new();
        for index in 0..workers {
            let worker = MdpWorker::connect(&endpoint, "echo")
                .expect("valid worker")
                .connections(connections);
            let worker = director.register_actor(format!("worker_{index}"), worker);
            director.connect_queue(&worker, &worker);
        }
        director.start().expect("workers start");
        let registered = (workers * connections) as u64;
        while stats.snapshot().workers < registered {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        Brokered {
            endpoint,
            stop_broker,
            broker,
            workers: director,
        }
    }

    async fn stop(mut self) {
        self.workers.stop().await.expect("workers stop");
        let _ = self.stop_broker.send(());
        let _ = self.broker.await;
    }
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

/// Medians over the rounds of one comparison.
struct Comparison {
    rps: f64,
    baseline_rps: f64,
    ratio: f64,
    /// CPU microseconds per round trip: ours, the baseline's.
    cpu: Option<(f64, f64)>,
}

/// Alternating rounds of the baseline and the broker; medians of rps and of the ratios.
async fn compare(baseline: &mut impl Load, brokered: &mut impl Load) -> Comparison {
    baseline.round(ROUND / 2).await;
    brokered.round(ROUND / 2).await;
    let (mut ours, mut theirs, mut ratios) = (Vec::new(), Vec::new(), Vec::new());
    let (mut our_cpu, mut their_cpu) = (Vec::new(), Vec::new());
    for _ in 0..ROUNDS {
        let (base, base_cpu) = baseline.round(ROUND).await;
        let (mdp, mdp_cpu) = brokered.round(ROUND).await;
        theirs.push(base);
        ours.push(mdp);
        ratios.push(mdp / base);
        our_cpu.extend(mdp_cpu);
        their_cpu.extend(base_cpu);
    }
    let cpu = (our_cpu.len() == ROUNDS && their_cpu.len() == ROUNDS)
        .then(|| (median(&mut our_cpu), median(&mut their_cpu)));
    Comparison {
        rps: median(&mut ours),
        baseline_rps: median(&mut theirs),
        ratio: median(&mut ratios),
        cpu,
    }
}

fn report_cpu(comparison: &Comparison, label: &str) {
    if let Some((ours, theirs)) = comparison.cpu {
        println!(
            "{label}: CPU per round trip {ours:.1} µs through the broker, {theirs:.1} µs direct (ratio {:.2})",
            theirs / ours
        );
    }
}

/// A source and sink in one: keeps `CLIENTS` events in flight through the `MdpClient` it is
/// wired to while its gate is open, each reply sending the next request; with the gate shut
/// replies are parked, and sent again when it opens.
struct Driver {
    gate: tokio::sync::watch::Receiver<bool>,
    done: Arc<std::sync::atomic::AtomicU64>,
}

fn bench_event() -> Event<Frames> {
    let mut event = Event::new(Frames::single(Bytes::from_static(BODY)))
        .with_service("echo")
        .with_attribute("tenant", "acme")
        .with_attribute("channel", "bench");
    event.set_meta_id("bench-request");
    event
}

impl Actor for Driver {
    type Inboxes = Inbox<Frames>;
    type Outboxes = Outbox<Frames>;

    async fn run(mut self, ctx: Context, mut inbox: Inbox<Frames>, outbox: Outbox<Frames>) {
        let mut parked = CLIENTS;
        loop {
            tokio::select! {
                () = ctx.stopped() => return,
                reply = inbox.recv() => {
                    if reply.is_none() {
                        return;
                    }
                    self.done.fetch_add(1, Ordering::Relaxed);
                    if *self.gate.borrow() {
                        outbox.send(bench_event()).await;
                    } else {
                        parked += 1;
                    }
                }
                changed = self.gate.changed() => {
                    if changed.is_err() {
                        return;
                    }
                    if *self.gate.borrow_and_update() {
                        for _ in 0..std::mem::take(&mut parked) {
                            outbox.send(bench_event()).await;
                        }
                    }
                }
            }
        }
    }
}

/// A client process's flow, `Driver` → `MdpClient` → `Driver`, run in rounds.
struct ClientFlow {
    gate: tokio::sync::watch::Sender<bool>,
    done: Arc<std::sync::atomic::AtomicU64>,
    director: Director,
}

impl ClientFlow {
    fn start(endpoint: &str, envelope: bool) -> Self {
        let (gate, gate_rx) = tokio::sync::watch::channel(false);
        let done = Arc::new(std::sync::atomic::AtomicU64::new(0));
        let client = MdpClient::connect(endpoint)
            .expect("valid endpoint")
            .envelope(envelope);
        let mut director = Director::new();
        let driver = Driver {
            gate: gate_rx,
            done: Arc::clone(&done),
        };
        let driver = director.register_actor("driver", driver);
        let client = director.register_actor("client", client);
        director.connect_queue(&driver, &client);
        director.connect_queue(&client, &driver);
        director.start().expect("client flow starts");
        ClientFlow {
            gate,
            done,
            director,
        }
    }
}

impl Load for ClientFlow {
    async fn round(&mut self, length: Duration) -> (f64, Option<f64>) {
        let cpu_before = cpu::process_cpu_time();
        let before = self.done.load(Ordering::Relaxed);
        let started = Instant::now();
        self.gate.send_replace(true);
        tokio::time::sleep(length).await;
        self.gate.send_replace(false);
        let done = self.done.load(Ordering::Relaxed) - before;
        let elapsed = started.elapsed();
        // Let the requests in flight come back (and park) before the other side's round.
        while self.done.load(Ordering::Relaxed) - before < done + CLIENTS as u64 {
            tokio::time::sleep(Duration::from_millis(1)).await;
            if started.elapsed() > length * 10 {
                break;
            }
        }
        let cpu = cpu_before
            .zip(cpu::process_cpu_time())
            .map(|(before, after)| (after - before).as_secs_f64() * 1e6 / done.max(1) as f64);
        (done as f64 / elapsed.as_secs_f64(), cpu)
    }
}

/// The envelope on against off, through one broker and one worker that takes both.
async fn envelope_cost() {
    let broker = MdpBroker::bind("tcp://127.0.0.1:0").expect("a free port");
    let endpoint = broker.endpoint().to_string();
    let stats = broker.stats();
    let (stop_broker, stopped) = tokio::sync::oneshot::channel::<()>();
    let broker = tokio::spawn(broker.run_until(async {
        let _ = stopped.await;
    }));
    let mut workers = Director::new();
    let worker = MdpWorker::connect(&endpoint, "echo")
        .expect("valid worker")
        .connections(CLIENTS)
        .envelope(true);
    let worker = workers.register_actor("worker", worker);
    workers.connect_queue(&worker, &worker);
    workers.start().expect("worker starts");
    while stats.snapshot().workers < 2 * CLIENTS as u64 {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let mut plain = ClientFlow::start(&endpoint, false);
    let mut enveloped = ClientFlow::start(&endpoint, true);
    let result = compare(&mut plain, &mut enveloped).await;
    println!(
        "RESULT mdp_envelope rps={:.0} baseline_rps={:.0} ratio={:.2} clients={CLIENTS}",
        result.rps, result.baseline_rps, result.ratio
    );
    if let Some((ours, theirs)) = result.cpu {
        println!(
            "envelope: CPU per round trip {ours:.1} µs with it, {theirs:.1} µs without (ratio {:.2})",
            theirs / ours
        );
    }
    plain.director.stop().await.expect("flow stops");
    enveloped.director.stop().await.expect("flow stops");
    workers.stop().await.expect("worker stops");
    let _ = stop_broker.send(());
    let _ = broker.await;
}

/// Our client, broker and worker, with CURVE on every connection or with NULL.
struct Secured {
    broker: harness::RunningBroker,
    worker: Director,
    flow: harness::ClientFlow,
}

impl Secured {
    async fn start(curve: bool) -> Self {
        let server = KeyPair::generate();
        let (client, worker) = (KeyPair::generate(), KeyPair::generate());
        let allow = AllowList::new()
            .with(*client.public())
            .with(*worker.public());
        let public = *server.public();
        // Default heartbeats on both sides, as a user would run them.
        let broker = MdpBroker::bind("tcp://127.0.0.1:0").expect("a free port");
        let broker = harness::RunningBroker::run(match curve {
            true => broker.curve(CurveServer::new(server, allow)),
            false => broker,
        });
        let mut mdp_worker = MdpWorker::connect(&broker.endpoint, "echo")
            .expect("valid worker")
            .connections(CLIENTS);
        let mut mdp_client = MdpClient::connect(&broker.endpoint).expect("valid endpoint");
        if curve {
            mdp_worker = mdp_worker.curve(CurveClient::new(worker, public));
            mdp_client = mdp_client.curve(CurveClient::new(client, public));
        }
        let worker = harness::echo_worker(mdp_worker);
        while broker.stats.snapshot().workers < CLIENTS as u64 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        let flow = harness::ClientFlow::start(mdp_client);
        Secured {
            broker,
            worker,
            flow,
        }
    }

    /// Requests answered per second over `length`, `CLIENTS` at a time.
    async fn round(&mut self, length: Duration) -> f64 {
        let started = Instant::now();
        let mut done = 0;
        while started.elapsed() < length {
            done += self.flow.ask_at_once("echo", CLIENTS).await.len();
        }
        done as f64 / started.elapsed().as_secs_f64()
    }

    async fn stop(mut self) {
        self.flow.director.stop().await.expect("the client stops");
        self.worker.stop().await.expect("the worker stops");
        self.broker.stop().await;
    }
}

/// CURVE against NULL, alternating rounds as [`compare`] does.
async fn curve_against_null() {
    let mut null = Secured::start(false).await;
    let mut curve = Secured::start(true).await;
    null.round(ROUND / 2).await;
    curve.round(ROUND / 2).await;
    let (mut plain, mut boxed, mut ratios) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..ROUNDS {
        let base = null.round(ROUND).await;
        let secured = curve.round(ROUND).await;
        plain.push(base);
        boxed.push(secured);
        ratios.push(secured / base);
    }
    println!(
        "RESULT mdp_curve rps={:.0} null_rps={:.0} ratio={:.2} clients={CLIENTS}, our client, broker and worker",
        median(&mut boxed),
        median(&mut plain),
        median(&mut ratios)
    );
    null.stop().await;
    curve.stop().await;
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let (echo, echo_task) = echo_server().await;
        for workers in [1, 4] {
            let brokered = Brokered::start(workers, CLIENTS).await;
            let mut baseline_clients = Clients::connect(&echo, CLIENTS).await;
            let mut brokered_clients = Clients::connect(&brokered.endpoint, CLIENTS).await;
            let result = compare(&mut baseline_clients, &mut brokered_clients).await;
            println!(
                "RESULT mdp_broker rps={:.0} baseline_rps={:.0} ratio={:.2} workers={workers}",
                result.rps, result.baseline_rps, result.ratio
            );
            report_cpu(&result, &format!("workers={workers}"));
            drop(brokered_clients);
            brokered.stop().await;
        }
        // How the broker spreads load: standard one-request-at-a-time workers (one connection
        // each), four against one, under the same clients.
        let one = Brokered::start(1, 1).await;
        let four = Brokered::start(4, 1).await;
        let mut to_one = Clients::connect(&one.endpoint, CLIENTS).await;
        let mut to_four = Clients::connect(&four.endpoint, CLIENTS).await;
        let spread = compare(&mut to_one, &mut to_four).await;
        println!(
            "RESULT mdp_broker_spread rps={:.0} baseline_rps={:.0} ratio={:.2} workers=4 against 1, one request at a time each",
            spread.rps, spread.baseline_rps, spread.ratio
        );
        drop((to_one, to_four));
        one.stop().await;
        four.stop().await;
        // For context: one request in flight, where only latency counts (four hops against two).
        let brokered = Brokered::start(1, 1).await;
        let mut baseline_clients = Clients::connect(&echo, 1).await;
        let mut brokered_clients = Clients::connect(&brokered.endpoint, 1).await;
        let result = compare(&mut baseline_clients, &mut brokered_clients).await;
        println!(
            "latency-bound, one request in flight: mdp {:.0}/s, direct echo {:.0}/s, ratio {:.2}",
            result.rps, result.baseline_rps, result.ratio
        );
        drop(brokered_clients);
        brokered.stop().await;
        echo_task.abort();
        envelope_cost().await;
        curve_against_null().await;
    });
}
