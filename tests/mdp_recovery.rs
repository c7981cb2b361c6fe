//! Majordomo recovery, against the independent pyzmq peers: the broker keeps each dispatched
//! request until its reply and hands it to another worker when its worker goes (at least once
//! to workers, exactly one answer to the client); a busy synchronous worker keeps its request
//! past its heartbeat liveness, up to the request deadline, while an idle silent one is still
//! dropped; and `MdpClient` rides out a broker restart by connecting again with backoff.

#[path = "mdp_peers/harness.rs"]
mod harness;

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use compysition::actors::{MdpBroker, MdpClient};
use compysition::mdp::{BrokerStats, Frames};
use compysition::prelude::*;
use compysition::EventId;
use harness::*;
use zeromq::{DealerSocket, Socket, SocketRecv, SocketSend};

const WAIT: Duration = Duration::from_secs(10);

/// A pyzmq worker for `service` with the test heartbeat and `extra` options, once registered.
fn python_worker(endpoint: &str, service: &str, extra: &[&str]) -> PythonPeer {
    let (beat, liveness) = (HEARTBEAT.as_millis().to_string(), LIVENESS.to_string());
    let mut args = vec![
        "--connect",
        endpoint,
        "--service",
        service,
        "--heartbeat-ms",
        &beat,
        "--liveness",
        &liveness,
    ];
    args.extend(extra);
    let worker = PythonPeer::spawn("worker.py", &args);
    assert_eq!(worker.next_json(WAIT)["ready"], service);
    worker
}

/// Polls (from a blocking thread) until the broker has `count` workers registered.
fn wait_for_workers(stats: &BrokerStats, count: u64) -> bool {
    let deadline = std::time::Instant::now() + WAIT;
    while std::time::Instant::now() < deadline {
        if stats.snapshot().workers == count {
            return true;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    false
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_synchronous_worker_slower_than_its_liveness_delivers_its_reply() {
    // 100 ms heartbeat x 3: the worker says nothing for 1 s while its handler runs.
    let broker = RunningBroker::start();
    let worker = python_worker(&broker.endpoint, "slow", &["--delay-ms", "1000"]);
    let stats = broker.stats.clone();
    assert!(eventually(WAIT, || stats.snapshot().workers == 1).await);
    let mut client = PythonPeer::spawn(
        "client.py",
        &[
            "--connect",
            &broker.endpoint,
            "--timeout-ms",
            "5000",
            "--retries",
            "0",
        ],
    );
    client.send_json(&python_request("slow", &[b"patience"]));
    let answer = tokio::task::spawn_blocking(move || client.next_json(WAIT))
        .await
        .expect("the client ran");
    assert_eq!(
        reply_frames(&answer),
        vec![b"patience".to_vec()],
        "{answer}"
    );
    let counters = stats.snapshot();
    assert_eq!(counters.expired_workers, 0, "{counters:?}");
    assert_eq!(counters.redispatched_requests, 0, "{counters:?}");
    assert_eq!(counters.replies, 1);
    drop(worker);
    broker.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_silent_worker_is_still_dropped_after_its_liveness() {
    let broker = RunningBroker::start();
    let worker = python_worker(&broker.endpoint, "quiet", &["--silent", "1"]);
    let stats = broker.stats.clone();
    assert!(eventually(WAIT, || stats.snapshot().expired_workers >= 1).await);
    // Forgotten, the broker stops heartbeating it: the worker notices and registers again.
    let again = tokio::task::spawn_blocking(move || worker.next_json(WAIT))
        .await
        .expect("the worker ran");
    assert_eq!(again["ready"], "quiet");
    assert_eq!(stats.snapshot().overdue_requests, 0);
    broker.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_past_its_deadline_goes_to_another_worker_and_the_late_reply_is_dropped() {
    let broker = RunningBroker::start_with(|b| {
        b.request_deadline(Duration::from_secs(60))
            .service_request_deadline("stuck", Duration::from_millis(300))
    });
    let stats = broker.stats.clone();
    // The slow one registers first, so it is the longest idle and takes the request.
    let slow = python_worker(&broker.endpoint, "stuck", &["--delay-ms", "1500"]);
    assert!(eventually(WAIT, || stats.snapshot().workers == 1).await);
    let fast = python_worker(&broker.endpoint, "stuck", &[]);
    assert!(eventually(WAIT, || stats.snapshot().workers == 2).await);
    let mut client = DealerSocket::new();
    client.connect(&broker.endpoint).await.expect("connects");
    client
        .send(message(&[b"", b"MDPC01", b"stuck", b"once"]))
        .await
        .expect("sent");
    let reply = tokio::time::timeout(WAIT, client.recv())
        .await
        .expect("answered by the second worker")
        .expect("received")
        .into_vec();
    assert_eq!(reply[3], "once");
    assert!(
        eventually(WAIT, || stats.snapshot().late_replies == 1).await,
        "the first worker's reply came and was dropped: {:?}",
        stats.snapshot()
    );
    let counters = stats.snapshot();
    assert_eq!(counters.overdue_requests, 1, "{counters:?}");
    assert_eq!(counters.redispatched_requests, 1, "{counters:?}");
    assert_eq!(counters.replies, 1, "one answer passed on: {counters:?}");
    // The late reply was dropped when it was counted; had it gone on, it would be here.
    let second = tokio::time::timeout(Duration::from_millis(300), client.recv()).await;
    assert!(second.is_err(), "a second answer reached the client");
    drop((slow, fast));
    broker.stop().await;
}

/// Feeds `flow` a request every millisecond until `feeding` is cleared; what was sent, by id.
async fn feed(
    requests: tokio::sync::mpsc::UnboundedSender<Event<Frames>>,
    feeding: Arc<AtomicBool>,
    service: &'static str,
) -> HashMap<EventId, String> {
    let mut sent = HashMap::new();
    let mut pace = tokio::time::interval(Duration::from_millis(1));
    while feeding.load(Ordering::Relaxed) {
        pace.tick().await;
        let body = format!("request {}", sent.len());
        let event = Event::new(Frames::single(body.clone())).with_service(service);
        sent.insert(event.id(), body);
        requests.send(event).expect("the feeder runs");
    }
    sent
}

/// Waits for one outcome per request sent; every one must be its own request's reply.
async fn all_answered(flow: &mut ClientFlow, mut sent: HashMap<EventId, String>) -> usize {
    let total = sent.len();
    for done in 0..total {
        let outcome = tokio::time::timeout(Duration::from_secs(30), flow.outcomes.recv())
            .await
            .unwrap_or_else(|_| panic!("request {done} of {total} hangs"))
            .expect("the collector runs");
        let reply = outcome.unwrap_or_else(|failed| panic!("lost: {:?}", failed.error()));
        let body = sent.remove(&reply.id()).expect("a reply to a request sent");
        assert_eq!(reply.data, Frames::single(body), "its own reply");
    }
    total
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stopping_ten_workers_under_load_loses_no_request_and_answers_each_once() {
    let broker = RunningBroker::start();
    let endpoint = broker.endpoint.clone();
    let stats = broker.stats.clone();
    let slow = ["--delay-ms", "3", "--quiet", "1"];
    let mut workers: std::collections::VecDeque<PythonPeer> = (0..3)
        .map(|_| python_worker(&endpoint, "relay", &slow))
        .collect();
    assert!(eventually(WAIT, || stats.snapshot().workers == 3).await);
    // No retries and a long timeout: a request lost by the broker shows as an error.
    let mut flow = ClientFlow::start(
        MdpClient::connect(&endpoint)
            .expect("valid endpoint")
            .timeout(Duration::from_secs(20))
            .retries(0)
            .with_concurrency(16),
    );
    let feeding = Arc::new(AtomicBool::new(true));
    let feeder = tokio::spawn(feed(flow.requests.clone(), feeding.clone(), "relay"));
    let cycling = {
        let stats = stats.clone();
        tokio::task::spawn_blocking(move || {
            for _ in 0..10 {
                // The replacement first, so that the service never goes without workers.
                workers.push_back(python_worker(&endpoint, "relay", &slow));
                assert!(wait_for_workers(&stats, 4), "the replacement registered");
                let mut leaving = workers.pop_front().expect("a worker to stop");
                leaving.close_stdin();
                assert!(leaving.exited_within(WAIT), "the worker left");
                assert!(wait_for_workers(&stats, 3), "the broker let it go");
            }
            workers
        })
    };
    let workers = cycling.await.expect("ten workers stopped in turn");
    feeding.store(false, Ordering::Relaxed);
    let sent = feeder.await.expect("the feeder ran");
    let total = all_answered(&mut flow, sent).await;
    let counters = stats.snapshot();
    println!("{total} requests, 10 workers stopped: {counters:?}");
    assert_eq!(
        counters.replies, total as u64,
        "one answer each: {counters:?}"
    );
    assert_eq!(counters.abandoned_requests, 0, "{counters:?}");
    assert!(
        counters.redispatched_requests >= 1,
        "some worker left with a request in hand: {counters:?}"
    );
    flow.director.stop().await.expect("the flow stops");
    drop(workers);
    broker.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_rides_out_a_one_second_broker_restart_without_losing_a_request() {
    let first = RunningBroker::start();
    let endpoint = first.endpoint.clone();
    let worker = python_worker(&endpoint, "steady", &["--quiet", "1"]);
    let stats = first.stats.clone();
    assert!(eventually(WAIT, || stats.snapshot().workers == 1).await);
    // Tries covering about 4 s in all (4 of 1 s), for a 1 s outage.
    let mut flow = ClientFlow::start(
        MdpClient::connect(&endpoint)
            .expect("valid endpoint")
            .timeout(Duration::from_secs(1))
            .retries(3)
            .with_concurrency(8),
    );
    let feeding = Arc::new(AtomicBool::new(true));
    let feeder = tokio::spawn(feed(flow.requests.clone(), feeding.clone(), "steady"));
    assert!(eventually(WAIT, || stats.snapshot().replies >= 200).await);
    first.stop().await;
    // The outage itself, not a wait for anything.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let second = RunningBroker::run(
        MdpBroker::bind(&endpoint)
            .expect("the port is free again")
            .heartbeat_interval(HEARTBEAT)
            .heartbeat_liveness(LIVENESS),
    );
    let stats = second.stats.clone();
    assert!(eventually(WAIT, || stats.snapshot().replies >= 200).await);
    feeding.store(false, Ordering::Relaxed);
    let sent = feeder.await.expect("the feeder ran");
    let total = all_answered(&mut flow, sent).await;
    println!(
        "{total} requests across a 1 s restart; second broker: {:?}",
        stats.snapshot()
    );
    flow.director.stop().await.expect("the flow stops");
    drop(worker);
    second.stop().await;
}
