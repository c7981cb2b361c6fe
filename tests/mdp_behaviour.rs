//! What the Majordomo pieces do beyond carrying a reply: queueing, expiry, round robin,
//! heartbeats and reconnection, the client's errors and retries, the worker's shutdown, and
//! broker discovery through the registration service.

#[path = "mdp_peers/harness.rs"]
mod harness;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use compysition::actors::{MdpBroker, MdpBrokerRegistrationService, MdpClient, MdpWorker, Null};
use compysition::mdp::Frames;
use compysition::prelude::*;
use harness::*;
use zeromq::{DealerSocket, RouterSocket, Socket, SocketRecv, SocketSend};

const WAIT: Duration = Duration::from_secs(10);

fn client(endpoint: &str, timeout_ms: u64, retries: u32) -> MdpClient {
    MdpClient::connect(endpoint)
        .expect("valid endpoint")
        .timeout(Duration::from_millis(timeout_ms))
        .retries(retries)
}

fn worker(endpoint: &str, service: &str) -> MdpWorker {
    MdpWorker::connect(endpoint, service)
        .expect("valid worker")
        .heartbeat(HEARTBEAT, LIVENESS)
        .reconnect_delay(Duration::from_millis(50))
}

fn text(frames: &Frames) -> String {
    String::from_utf8_lossy(&frames.to_bytes()).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_waits_for_a_worker_that_registers_later() {
    let broker = RunningBroker::start();
    let mut flow = ClientFlow::start(client(&broker.endpoint, 5000, 0));
    let event = Event::new(Frames::single("early".to_string())).with_service("late");
    flow.requests.send(event).expect("feeder runs");
    let stats = broker.stats.clone();
    assert!(eventually(WAIT, || stats.snapshot().requests == 1).await);
    let mut worker = echo_worker(worker(&broker.endpoint, "late"));
    let reply = tokio::time::timeout(WAIT, flow.outcomes.recv())
        .await
        .expect("answered once a worker came")
        .expect("collector runs")
        .expect("a reply");
    assert_eq!(text(&reply.data), "early");
    worker.stop().await.expect("worker stops");
    flow.director.stop().await.expect("flow stops");
    broker.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_nobody_serves_expires_and_the_client_gets_503() {
    let broker = RunningBroker::start_with(|b| b.request_expiry(Duration::from_millis(150)));
    let mut flow = ClientFlow::start(client(&broker.endpoint, 300, 0));
    let failed = flow
        .ask("nobody", Frames::single("x".to_string()))
        .await
        .expect_err("nobody serves it");
    let error = failed.error().expect("error set");
    assert_eq!(error.kind(), compysition::ErrorKind::Unavailable, "{error}");
    assert!(
        error.message().contains("no MDP worker serves `nobody`"),
        "{error}"
    );
    let stats = broker.stats.clone();
    assert!(eventually(WAIT, || stats.snapshot().expired_requests == 1).await);
    flow.director.stop().await.expect("flow stops");
    broker.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_without_a_broker_gets_503() {
    // Port 0 can never be connected to. (A port freed by this test could be taken by a broker
    // of another test running at the same time.)
    let endpoint = "tcp://127.0.0.1:0";
    let mut flow = ClientFlow::start(client(endpoint, 200, 1));
    let failed = flow
        .ask("echo", Frames::single("x".to_string()))
        .await
        .expect_err("no broker");
    let error = failed.error().expect("error set");
    assert_eq!(error.kind(), compysition::ErrorKind::Unavailable, "{error}");
    assert!(error.message().contains("unreachable"), "{error}");
    assert_eq!(
        failed.data.downcast_ref::<Frames>(),
        Some(&Frames::single("x".to_string())),
        "the failed event keeps its payload"
    );
    flow.director.stop().await.expect("flow stops");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_whose_flow_never_answers_gives_504_and_registers_again() {
    let broker = RunningBroker::start();
    let mut sinkhole = Director::new();
    let mdp_worker = sinkhole.register_actor(
        "mdp_worker",
        worker(&broker.endpoint, "slow").reply_timeout(Duration::from_millis(200)),
    );
    let null = sinkhole.register_actor("null", Null::<Frames>::new());
    sinkhole.connect_queue(&mdp_worker, &null);
    sinkhole.start().expect("starts");
    let stats = broker.stats.clone();
    assert!(eventually(WAIT, || stats.snapshot().workers == 1).await);
    let mut flow = ClientFlow::start(client(&broker.endpoint, 400, 0));
    let failed = flow
        .ask("slow", Frames::single("x".to_string()))
        .await
        .expect_err("never answered");
    let error = failed.error().expect("error set");
    assert_eq!(error.kind(), compysition::ErrorKind::Timeout, "{error}");
    // The worker gave up on the request, re-registered, and is idle again.
    assert!(eventually(WAIT, || stats.snapshot().workers == 1).await);
    flow.director.stop().await.expect("flow stops");
    sinkhole.stop().await.expect("worker stops");
    broker.stop().await;
}

/// Fails the first request routed to it, answers the others.
struct FailFirst {
    seen: Arc<AtomicUsize>,
}

impl Actor for FailFirst {
    type Inboxes = Inbox<Frames>;
    type Outboxes = Outbox<Frames>;

    async fn run(self, ctx: Context, inbox: Inbox<Frames>, outbox: Outbox<Frames>) {
        ctx.serve(inbox, |event| async {
            if self.seen.fetch_add(1, Ordering::SeqCst) == 0 {
                return Err(EventError::internal("first one fails"));
            }
            outbox.send(event).await;
            Ok(())
        })
        .await
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failure_routed_back_to_the_worker_frees_it_for_the_retry() {
    let broker = RunningBroker::start();
    let seen = Arc::new(AtomicUsize::new(0));
    let mut director = Director::new();
    let mdp_worker = director.register_actor("mdp_worker", worker(&broker.endpoint, "flaky"));
    let step = director.register_actor("step", FailFirst { seen: seen.clone() });
    director.connect_queue(&mdp_worker, &step);
    director.connect_queue(&step, &mdp_worker);
    director.connect_error_queue(&step, &mdp_worker);
    director.start().expect("starts");
    let stats = broker.stats.clone();
    assert!(eventually(WAIT, || stats.snapshot().workers == 1).await);
    let mut flow = ClientFlow::start(client(&broker.endpoint, 500, 1));
    let reply = flow
        .ask("flaky", Frames::single("again".to_string()))
        .await
        .expect("the retry is answered");
    assert_eq!(text(&reply.data), "again");
    assert_eq!(
        seen.load(Ordering::SeqCst),
        2,
        "the flow saw the request twice"
    );
    flow.director.stop().await.expect("flow stops");
    director.stop().await.expect("worker stops");
    broker.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_go_round_robin_over_idle_workers() {
    let broker = RunningBroker::start();
    let beat = HEARTBEAT.as_millis().to_string();
    let args = |service| {
        vec![
            "--connect".to_string(),
            broker.endpoint.clone(),
            "--service".to_string(),
            service,
            "--heartbeat-ms".to_string(),
            beat.clone(),
        ]
    };
    let spawn = |service: &str| {
        let args = args(service.to_string());
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        let peer = PythonPeer::spawn("worker.py", &refs);
        assert_eq!(peer.next_json(WAIT)["ready"], service);
        peer
    };
    let first = spawn("rr");
    let stats = broker.stats.clone();
    assert!(eventually(WAIT, || stats.snapshot().workers == 1).await);
    let second = spawn("rr");
    assert!(eventually(WAIT, || stats.snapshot().workers == 2).await);
    let mut flow = ClientFlow::start(client(&broker.endpoint, 3000, 0));
    for n in 0..4 {
        let reply = flow
            .ask("rr", Frames::single(n.to_string()))
            .await
            .expect("answered");
        assert_eq!(text(&reply.data), n.to_string());
    }
    let took = |peer: &PythonPeer| -> Vec<String> {
        (0..2)
            .map(|_| {
                let request = peer.next_json(WAIT);
                reply_frames(&serde_json::json!({ "reply": request["request"] }))
                    .concat()
                    .into_iter()
                    .map(char::from)
                    .collect()
            })
            .collect()
    };
    assert_eq!(
        took(&first),
        ["0", "2"],
        "the longest idle worker goes first"
    );
    assert_eq!(took(&second), ["1", "3"]);
    flow.director.stop().await.expect("flow stops");
    broker.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_worker_is_dropped_after_its_liveness() {
    let broker = RunningBroker::start();
    let mut silent = DealerSocket::new();
    silent.connect(&broker.endpoint).await.expect("connects");
    silent
        .send(message(&[b"", b"MDPW01", &[1], b"quiet"]))
        .await
        .expect("READY sent");
    let stats = broker.stats.clone();
    assert!(eventually(WAIT, || stats.snapshot().workers == 1).await);
    // No heartbeat from here on: gone after 3 x 100 ms.
    assert!(eventually(WAIT, || stats.snapshot().workers == 0).await);
    assert_eq!(broker.stats.snapshot().expired_workers, 1);
    broker.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn our_worker_registers_again_after_its_broker_restarts() {
    let first = RunningBroker::start();
    let endpoint = first.endpoint.clone();
    let mut worker_flow = echo_worker(worker(&endpoint, "phoenix"));
    let stats = first.stats.clone();
    assert!(eventually(WAIT, || stats.snapshot().workers == 1).await);
    first.stop().await;
    let second = RunningBroker::run(
        MdpBroker::bind(&endpoint)
            .expect("the port is free again")
            .heartbeat_interval(HEARTBEAT)
            .heartbeat_liveness(LIVENESS),
    );
    let stats = second.stats.clone();
    assert!(
        eventually(WAIT, || stats.snapshot().workers == 1).await,
        "the worker noticed the silence and registered with the new broker"
    );
    let mut flow = ClientFlow::start(client(&endpoint, 2000, 0));
    let reply = flow
        .ask("phoenix", Frames::single("back".to_string()))
        .await
        .expect("served by the re-registered worker");
    assert_eq!(text(&reply.data), "back");
    flow.director.stop().await.expect("flow stops");
    worker_flow.stop().await.expect("worker stops");
    second.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn our_client_gets_past_its_pooled_connections_to_a_restarted_broker_without_retries() {
    let first = RunningBroker::start();
    let endpoint = first.endpoint.clone();
    let mut worker_flow = echo_worker(worker(&endpoint, "phoenix"));
    let stats = first.stats.clone();
    assert!(eventually(WAIT, || stats.snapshot().workers == 1).await);
    // Requests in flight at once fill the pool with several connections.
    let mut flow = ClientFlow::start(client(&endpoint, 2000, 0).with_concurrency(4));
    flow.ask_at_once("phoenix", 8).await;
    // The broker goes, and with it every pooled connection.
    first.stop().await;
    let second = RunningBroker::run(
        MdpBroker::bind(&endpoint)
            .expect("the port is free again")
            .heartbeat_interval(HEARTBEAT)
            .heartbeat_liveness(LIVENESS),
    );
    let stats = second.stats.clone();
    assert!(eventually(WAIT, || stats.snapshot().workers == 1).await);
    // No retries: each request must get past the dead connections on its one attempt.
    for n in 0..4 {
        let reply = flow
            .ask("phoenix", Frames::single(format!("back {n}")))
            .await
            .expect("served by the new broker");
        assert_eq!(text(&reply.data), format!("back {n}"));
    }
    flow.director.stop().await.expect("flow stops");
    worker_flow.stop().await.expect("worker stops");
    second.stop().await;
}

async fn next_ready(router: &mut RouterSocket) -> Vec<Bytes> {
    loop {
        let frames = tokio::time::timeout(WAIT, router.recv())
            .await
            .expect("a message in time")
            .expect("received")
            .into_vec();
        if frames.get(3).map(|c| &c[..]) == Some(&[1][..]) {
            return frames;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_disconnect_makes_our_worker_register_again_on_a_new_socket() {
    // A hand-driven broker: says DISCONNECT to the first READY and watches for the next.
    let mut router = RouterSocket::new();
    let endpoint = router
        .bind("tcp://127.0.0.1:0")
        .await
        .expect("binds")
        .to_string();
    let mut worker_flow = echo_worker(worker(&endpoint, "bounce"));
    let first = next_ready(&mut router).await;
    assert_eq!(first[4], "bounce");
    router
        .send(message(&[&first[0], b"", b"MDPW01", &[5]]))
        .await
        .expect("DISCONNECT sent");
    let second = next_ready(&mut router).await;
    assert_ne!(first[0], second[0], "READY again, from a new connection");
    worker_flow.stop().await.expect("worker stops");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_requests_in_flight_each_get_their_own_reply() {
    let broker = RunningBroker::start();
    let mut worker_flow = echo_worker(worker(&broker.endpoint, "echo").connections(4));
    let stats = broker.stats.clone();
    assert!(eventually(WAIT, || stats.snapshot().workers == 4).await);
    let mut flow = ClientFlow::start(client(&broker.endpoint, 5000, 0).with_concurrency(32));
    let mut expected = std::collections::HashMap::new();
    for n in 0..500 {
        let event =
            Event::new(Frames::new([format!("request {n}"), String::new()])).with_service("echo");
        expected.insert(event.id(), n);
        flow.requests.send(event).expect("feeder runs");
    }
    for _ in 0..500 {
        let reply = tokio::time::timeout(WAIT, flow.outcomes.recv())
            .await
            .expect("in time")
            .expect("collector runs")
            .expect("a reply");
        let n = expected
            .remove(&reply.id())
            .expect("a reply to a request sent");
        assert_eq!(
            reply.data,
            Frames::new([format!("request {n}"), String::new()]),
            "the reply is the one for this request"
        );
    }
    assert!(expected.is_empty());
    flow.director.stop().await.expect("flow stops");
    worker_flow.stop().await.expect("worker stops");
    broker.stop().await;
}

/// Passes events on after a pause, telling the test when one arrived.
struct Slow {
    arrived: tokio::sync::mpsc::UnboundedSender<()>,
}

impl Actor for Slow {
    type Inboxes = Inbox<Frames>;
    type Outboxes = Outbox<Frames>;

    async fn run(self, ctx: Context, inbox: Inbox<Frames>, outbox: Outbox<Frames>) {
        ctx.serve(inbox, |event| async {
            let _ = self.arrived.send(());
            tokio::time::sleep(Duration::from_millis(300)).await;
            outbox
                .send(event.map(|_| Frames::single("done".to_string())))
                .await;
            Ok(())
        })
        .await
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stopping_worker_still_answers_what_it_emitted() {
    let broker = RunningBroker::start();
    let (arrived, mut arrivals) = tokio::sync::mpsc::unbounded_channel();
    let mut director = Director::new();
    let mdp_worker = director.register_actor("mdp_worker", worker(&broker.endpoint, "drain"));
    let slow = director.register_actor("slow", Slow { arrived });
    director.connect_queue(&mdp_worker, &slow);
    director.connect_queue(&slow, &mdp_worker);
    director.start().expect("starts");
    let stats = broker.stats.clone();
    assert!(eventually(WAIT, || stats.snapshot().workers == 1).await);
    let mut flow = ClientFlow::start(client(&broker.endpoint, 5000, 0));
    flow.requests
        .send(Event::new(Frames::single("x".to_string())).with_service("drain"))
        .expect("feeder runs");
    tokio::time::timeout(WAIT, arrivals.recv())
        .await
        .expect("the request reached the flow");
    director.stop().await.expect("the worker drains and stops");
    let reply = tokio::time::timeout(WAIT, flow.outcomes.recv())
        .await
        .expect("in time")
        .expect("collector runs")
        .expect("answered although the worker was stopping");
    assert_eq!(text(&reply.data), "done");
    assert!(
        eventually(WAIT, || stats.snapshot().workers == 0).await,
        "DISCONNECT after the answer"
    );
    flow.director.stop().await.expect("flow stops");
    broker.stop().await;
}

/// Passes events on one at a time, each after a pause: a flow slower than the heartbeat.
struct Sluggish;

impl Actor for Sluggish {
    type Inboxes = Inbox<Frames>;
    type Outboxes = Outbox<Frames>;

    async fn run(self, ctx: Context, inbox: Inbox<Frames>, outbox: Outbox<Frames>) {
        ctx.serve(inbox, |event| async {
            tokio::time::sleep(HEARTBEAT * 4).await;
            outbox.send(event).await;
            Ok(())
        })
        .await
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_waiting_for_room_in_its_flow_keeps_its_registration() {
    let broker = RunningBroker::start();
    let mut director = Director::new();
    let mdp_worker = director.register_actor(
        "mdp_worker",
        worker(&broker.endpoint, "sluggish").connections(3),
    );
    let sluggish = director.register_actor("sluggish", Sluggish.ordered());
    // One request in the flow, one in its inbox: the third connection's request waits for
    // room for two of the flow's pauses, longer than the broker's liveness.
    director.connect_queue(&mdp_worker, &sluggish).capacity(1);
    director.connect_queue(&sluggish, &mdp_worker);
    director.start().expect("starts");
    let stats = broker.stats.clone();
    assert!(eventually(WAIT, || stats.snapshot().workers == 3).await);
    let mut flow = ClientFlow::start(client(&broker.endpoint, 5000, 0).with_concurrency(3));
    let replies = flow.ask_at_once("sluggish", 3).await;
    let mut answered: Vec<String> = replies.iter().map(|reply| text(&reply.data)).collect();
    answered.sort();
    assert_eq!(answered, ["0", "1", "2"]);
    let counters = stats.snapshot();
    assert_eq!(counters.expired_workers, 0, "no worker looked dead");
    assert_eq!(counters.workers, 3);
    flow.director.stop().await.expect("flow stops");
    director.stop().await.expect("worker stops");
    broker.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn workers_and_clients_spread_over_the_brokers_the_registry_knows() {
    let registry = MdpBrokerRegistrationService::bind("tcp://127.0.0.1:0")
        .expect("free port")
        .heartbeat(HEARTBEAT, LIVENESS);
    let registry_endpoint = registry.endpoint().to_string();
    let (stop_registry, registry_stopped) = tokio::sync::oneshot::channel::<()>();
    let registry_task = tokio::spawn(registry.run_until(async {
        let _ = registry_stopped.await;
    }));
    let brokers: Vec<RunningBroker> = (0..2)
        .map(|_| {
            let broker = MdpBroker::bind("tcp://127.0.0.1:0")
                .expect("free port")
                .heartbeat_interval(HEARTBEAT)
                .heartbeat_liveness(LIVENESS);
            let advertised = broker.endpoint().to_string();
            RunningBroker::run(
                broker
                    .announce_to(&registry_endpoint, &advertised)
                    .expect("valid endpoints"),
            )
        })
        .collect();
    // The worker holds each request a while, so that the client's requests are in flight at
    // once (each on a connection of its own) however busy the machine is.
    let mut worker_flow = {
        let mut director = Director::new();
        let worker = director.register_actor(
            "mdp_worker",
            MdpWorker::discover(&registry_endpoint, "spread")
                .expect("valid worker")
                .heartbeat(HEARTBEAT, LIVENESS)
                .reconnect_delay(Duration::from_millis(50))
                .connections(2),
        );
        let hold = director.register_actor(
            "hold",
            from_fn(|event: Event<Frames>| async move {
                tokio::time::sleep(Duration::from_millis(300)).await;
                Ok(event)
            }),
        );
        director.connect_queue(&worker, &hold);
        director.connect_queue(&hold, &worker);
        director.start().expect("the worker starts");
        director
    };
    let all_registered = || brokers.iter().all(|b| b.stats.snapshot().workers >= 1);
    assert!(
        eventually(WAIT, all_registered).await,
        "a worker connection on each broker"
    );
    let mut flow = ClientFlow::start(
        MdpClient::discover(&registry_endpoint)
            .expect("valid registry")
            .discovery_interval(HEARTBEAT)
            .timeout(Duration::from_secs(3))
            .with_concurrency(4),
    );
    // Requests in flight at once open connections, and each new connection goes to the next
    // broker in turn.
    flow.ask_at_once("spread", 8).await;
    for broker in &brokers {
        assert!(
            broker.stats.snapshot().replies >= 1,
            "every broker carried replies"
        );
    }
    let replies: u64 = brokers.iter().map(|b| b.stats.snapshot().replies).sum();
    assert_eq!(replies, 8);
    flow.director.stop().await.expect("flow stops");
    worker_flow.stop().await.expect("worker stops");
    for broker in brokers {
        broker.stop().await;
    }
    let _ = stop_registry.send(());
    registry_task
        .await
        .expect("no panic")
        .expect("the registry ran");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_largest_settings_mean_never_and_overflow_nothing() {
    let registry = MdpBrokerRegistrationService::bind("tcp://127.0.0.1:0")
        .expect("free port")
        .heartbeat(Duration::MAX, u32::MAX);
    let registry_endpoint = registry.endpoint().to_string();
    let (stop_registry, registry_stopped) = tokio::sync::oneshot::channel::<()>();
    let registry_task = tokio::spawn(registry.run_until(async {
        let _ = registry_stopped.await;
    }));
    let broker = MdpBroker::bind("tcp://127.0.0.1:0")
        .expect("free port")
        .heartbeat_interval(Duration::MAX)
        .heartbeat_liveness(u32::MAX)
        .request_expiry(Duration::MAX)
        .max_message_size(usize::MAX)
        .max_queued_requests(usize::MAX)
        .max_queued_per_service(usize::MAX)
        .max_queued_bytes(usize::MAX);
    let advertised = broker.endpoint().to_string();
    let broker = RunningBroker::run(
        broker
            .announce_to(&registry_endpoint, &advertised)
            .expect("valid endpoints"),
    );
    let mut flow = ClientFlow::start(
        MdpClient::discover(&registry_endpoint)
            .expect("valid registry")
            .timeout(Duration::MAX)
            .retries(u32::MAX)
            .discovery_interval(Duration::MAX)
            .max_message_size(usize::MAX),
    );
    // Before any worker: the request waits, with an expiry computed from the largest setting.
    let event = Event::new(Frames::single("queued".to_string())).with_service("huge");
    flow.requests.send(event).expect("feeder runs");
    let stats = broker.stats.clone();
    assert!(eventually(WAIT, || stats.snapshot().requests == 1).await);
    let mut worker_flow = echo_worker(
        MdpWorker::discover(&registry_endpoint, "huge")
            .expect("valid worker")
            .heartbeat(Duration::MAX, u32::MAX)
            .reply_timeout(Duration::MAX)
            .reconnect_delay(Duration::MAX)
            .max_message_size(usize::MAX),
    );
    let reply = tokio::time::timeout(WAIT, flow.outcomes.recv())
        .await
        .expect("answered once the worker came")
        .expect("collector runs")
        .expect("a reply");
    assert_eq!(text(&reply.data), "queued");
    // And one that finds the worker idle.
    let reply = flow
        .ask("huge", Frames::single("direct".to_string()))
        .await
        .expect("answered");
    assert_eq!(text(&reply.data), "direct");
    flow.director.stop().await.expect("flow stops");
    worker_flow.stop().await.expect("worker stops");
    broker.stop().await;
    let _ = stop_registry.send(());
    registry_task
        .await
        .expect("no panic")
        .expect("the registry ran");
}

/// A client on a plain DEALER: sends requests without waiting for their replies.
async fn raw_client(endpoint: &str) -> DealerSocket {
    let mut socket = DealerSocket::new();
    socket.connect(endpoint).await.expect("connects");
    socket
}

async fn send_request(socket: &mut DealerSocket, service: &str, body: &[u8]) {
    socket
        .send(message(&[b"", b"MDPC01", service.as_bytes(), body]))
        .await
        .expect("sent");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_for_services_nobody_serves_does_not_stop_requests_an_idle_worker_can_take() {
    let broker =
        RunningBroker::start_with(|b| b.max_queued_requests(15).max_queued_per_service(10));
    let mut worker_flow = echo_worker(worker(&broker.endpoint, "echo"));
    let stats = broker.stats.clone();
    assert!(eventually(WAIT, || stats.snapshot().workers == 1).await);
    let mut flood = raw_client(&broker.endpoint).await;
    for _ in 0..30 {
        send_request(&mut flood, "made-up", b"x").await;
    }
    // Ten wait (the limit per service), twenty are dropped.
    assert!(eventually(WAIT, || stats.snapshot().rejected_requests == 20).await);
    assert_eq!(stats.snapshot().requests, 10);
    for _ in 0..30 {
        send_request(&mut flood, "made-up-too", b"x").await;
    }
    // Five more fill the queue over all services; the rest are dropped.
    assert!(eventually(WAIT, || stats.snapshot().rejected_requests == 45).await);
    assert_eq!(stats.snapshot().requests, 15);
    // The queue is full, yet a request that an idle worker can take at once is served.
    let mut flow = ClientFlow::start(client(&broker.endpoint, 2000, 0));
    for n in 0..3 {
        let reply = flow
            .ask("echo", Frames::single(n.to_string()))
            .await
            .expect("served although the queue is full");
        assert_eq!(text(&reply.data), n.to_string());
    }
    assert_eq!(stats.snapshot().rejected_requests, 45);
    flow.director.stop().await.expect("flow stops");
    worker_flow.stop().await.expect("worker stops");
    broker.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_byte_budget_drops_what_does_not_fit_and_is_given_back_on_dispatch() {
    let broker = RunningBroker::start_with(|b| b.max_queued_bytes(4096));
    let stats = broker.stats.clone();
    let mut client = raw_client(&broker.endpoint).await;
    let big = vec![b'b'; 3000];
    send_request(&mut client, "later", &big).await;
    send_request(&mut client, "later", &big).await;
    send_request(&mut client, "later", b"small").await;
    assert!(eventually(WAIT, || stats.snapshot().requests == 2).await);
    let counters = stats.snapshot();
    assert_eq!(
        counters.rejected_requests, 1,
        "the second big one does not fit"
    );
    // A worker takes both waiting requests, which frees their share of the budget.
    let mut worker_flow = echo_worker(worker(&broker.endpoint, "later"));
    for expected in [&big[..], b"small"] {
        let reply = tokio::time::timeout(WAIT, client.recv())
            .await
            .expect("answered in time")
            .expect("received")
            .into_vec();
        assert_eq!(reply[3], expected);
    }
    worker_flow.stop().await.expect("worker stops");
    assert!(eventually(WAIT, || stats.snapshot().workers == 0).await);
    send_request(&mut client, "later", &big).await;
    send_request(&mut client, "nobody", b"small").await;
    assert!(eventually(WAIT, || stats.snapshot().requests == 4).await);
    assert_eq!(stats.snapshot().rejected_requests, 1);
    broker.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_byte_budget_is_given_back_when_requests_expire() {
    let broker = RunningBroker::start_with(|b| {
        b.max_queued_bytes(4096)
            .request_expiry(Duration::from_millis(150))
    });
    let stats = broker.stats.clone();
    let mut client = raw_client(&broker.endpoint).await;
    let big = vec![b'b'; 3000];
    send_request(&mut client, "nobody", &big).await;
    send_request(&mut client, "nobody", &big).await;
    assert!(eventually(WAIT, || stats.snapshot().rejected_requests == 1).await);
    assert!(eventually(WAIT, || stats.snapshot().expired_requests == 1).await);
    send_request(&mut client, "nobody", &big).await;
    assert!(eventually(WAIT, || stats.snapshot().requests == 2).await);
    assert_eq!(stats.snapshot().rejected_requests, 1);
    broker.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_kept_busy_gets_its_requests_and_no_heartbeats() {
    let broker = RunningBroker::start();
    let mut busy = DealerSocket::new();
    busy.connect(&broker.endpoint).await.expect("connects");
    busy.send(message(&[b"", b"MDPW01", &[1], b"busy"]))
        .await
        .expect("READY sent");
    let stats = broker.stats.clone();
    assert!(eventually(WAIT, || stats.snapshot().workers == 1).await);
    let mut client = raw_client(&broker.endpoint).await;
    // Requests back to back for twenty heartbeat intervals; heartbeats are counted from the
    // first request on (an idle worker gets them, as it should).
    let (mut served, mut heartbeats) = (0u32, 0u32);
    let started = tokio::time::Instant::now();
    while started.elapsed() < HEARTBEAT * 20 {
        send_request(&mut client, "busy", b"x").await;
        loop {
            let frames = tokio::time::timeout(WAIT, busy.recv())
                .await
                .expect("the broker sends in time")
                .expect("received")
                .into_vec();
            match &frames[2][..] {
                [4] if served > 0 => heartbeats += 1,
                [4] => {}
                [2] => {
                    let reply: [&[u8]; 6] = [b"", b"MDPW01", &[3], &frames[3], b"", &frames[5]];
                    busy.send(message(&reply)).await.expect("REPLY sent");
                    break;
                }
                other => panic!("unexpected command {other:?}"),
            }
        }
        tokio::time::timeout(WAIT, client.recv())
            .await
            .expect("the reply in time")
            .expect("received");
        served += 1;
    }
    assert!(served >= 20, "requests kept the worker busy: {served}");
    assert!(
        heartbeats <= 2,
        "7/MDP: no HEARTBEAT along with other commands; got {heartbeats} in 20 intervals"
    );
    assert_eq!(stats.snapshot().workers, 1, "the worker stayed registered");
    broker.stop().await;
}
