//! Request/reply round trips per second through our MDP broker, with one and with four echo
//! workers, against a direct DEALER↔ROUTER echo with the same `zeromq` crate (no broker),
//! measured in the same run.
//!
//! Both sides run the same load: `CLIENTS` DEALER sockets, each with one request in flight at a
//! time (the 7/MDP client dialogue), for `DURATION`. Through the broker, a request costs four
//! socket hops (client → broker → worker → broker → client) where the echo costs two.
//!
//! ```text
//! cargo bench --bench mdp
//! RESULT mdp_broker rps=<n> baseline_rps=<n> ratio=<r> workers=1
//! RESULT mdp_broker rps=<n> baseline_rps=<n> ratio=<r> workers=4
//! ```

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use compysition::actors::MdpBroker;
use zeromq::{DealerSocket, RouterSocket, Socket, SocketRecv, SocketSend, ZmqMessage};

/// Requests in flight at once, one per client socket.
const CLIENTS: usize = 8;
const DURATION: Duration = Duration::from_secs(3);
const BODY: &[u8] = b"benchmark request body";

fn message(frames: Vec<Bytes>) -> ZmqMessage {
    ZmqMessage::try_from(frames).expect("frames")
}

/// Runs `clients` request loops built by `make` for `DURATION`; round trips per second.
async fn measure<F, Fut>(clients: usize, make: F) -> f64
where
    F: Fn(Arc<AtomicBool>, Arc<AtomicU64>) -> Fut,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let stop = Arc::new(AtomicBool::new(false));
    let done = Arc::new(AtomicU64::new(0));
    let tasks: Vec<_> = (0..clients)
        .map(|_| tokio::spawn(make(stop.clone(), done.clone())))
        .collect();
    // Warm up, then count.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let start_count = done.load(Ordering::Relaxed);
    let started = Instant::now();
    tokio::time::sleep(DURATION).await;
    let counted = done.load(Ordering::Relaxed) - start_count;
    let elapsed = started.elapsed().as_secs_f64();
    stop.store(true, Ordering::Relaxed);
    for task in tasks {
        let _ = tokio::time::timeout(Duration::from_secs(5), task).await;
    }
    counted as f64 / elapsed
}

async fn baseline(clients: usize) -> f64 {
    let mut router = RouterSocket::new();
    let endpoint = router
        .bind("tcp://127.0.0.1:0")
        .await
        .expect("binds")
        .to_string();
    let echo = tokio::spawn(async move {
        while let Ok(request) = router.recv().await {
            if router.send(request).await.is_err() {
                break;
            }
        }
    });
    let rps = measure(clients, |stop, done| {
        let endpoint = endpoint.clone();
        async move {
            let mut socket = DealerSocket::new();
            socket.connect(&endpoint).await.expect("connects");
            while !stop.load(Ordering::Relaxed) {
                let request = message(vec![Bytes::new(), Bytes::from_static(BODY)]);
                socket.send(request).await.expect("sent");
                socket.recv().await.expect("echoed");
                done.fetch_add(1, Ordering::Relaxed);
            }
        }
    })
    .await;
    echo.abort();
    rps
}

/// A raw 7/MDP echo worker on its own DEALER socket.
async fn worker(endpoint: String, stop: Arc<AtomicBool>) {
    let mut socket = DealerSocket::new();
    socket.connect(&endpoint).await.expect("connects");
    let header = Bytes::from_static(b"MDPW01");
    socket
        .send(message(vec![
            Bytes::new(),
            header.clone(),
            Bytes::from_static(&[1]),
            Bytes::from_static(b"echo"),
        ]))
        .await
        .expect("READY");
    while !stop.load(Ordering::Relaxed) {
        let Ok(Ok(request)) = tokio::time::timeout(Duration::from_millis(500), socket.recv()).await
        else {
            continue;
        };
        let mut frames = request.into_vecdeque();
        if frames.get(2).map(|c| &c[..]) != Some(&[2]) {
            continue; // heartbeats
        }
        // "" MDPW01 REQUEST client "" body... → "" MDPW01 REPLY client "" body...
        frames[2] = Bytes::from_static(&[3]);
        socket
            .send(ZmqMessage::try_from(frames).expect("frames"))
            .await
            .expect("REPLY");
    }
}

async fn through_broker(workers: usize, clients: usize) -> f64 {
    let broker = MdpBroker::bind("tcp://127.0.0.1:0").expect("free port");
    let endpoint = broker.endpoint().to_string();
    let stats = broker.stats();
    let (stop_broker, broker_stopped) = tokio::sync::oneshot::channel::<()>();
    let broker = tokio::spawn(broker.run_until(async {
        let _ = broker_stopped.await;
    }));
    let stop_workers = Arc::new(AtomicBool::new(false));
    let worker_tasks: Vec<_> = (0..workers)
        .map(|_| tokio::spawn(worker(endpoint.clone(), stop_workers.clone())))
        .collect();
    while stats.snapshot().workers < workers as u64 {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let rps = measure(clients, |stop, done| {
        let endpoint = endpoint.clone();
        async move {
            let mut socket = DealerSocket::new();
            socket.connect(&endpoint).await.expect("connects");
            while !stop.load(Ordering::Relaxed) {
                let request = message(vec![
                    Bytes::new(),
                    Bytes::from_static(b"MDPC01"),
                    Bytes::from_static(b"echo"),
                    Bytes::from_static(BODY),
                ]);
                socket.send(request).await.expect("sent");
                socket.recv().await.expect("replied");
                done.fetch_add(1, Ordering::Relaxed);
            }
        }
    })
    .await;
    stop_workers.store(true, Ordering::Relaxed);
    for task in worker_tasks {
        let _ = task.await;
    }
    let _ = stop_broker.send(());
    let _ = broker.await;
    rps
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        for workers in [1, 4] {
            let baseline_rps = baseline(CLIENTS).await;
            let rps = through_broker(workers, CLIENTS).await;
            println!(
                "RESULT mdp_broker rps={rps:.0} baseline_rps={baseline_rps:.0} ratio={:.2} workers={workers}",
                rps / baseline_rps
            );
        }
        // For context: one request in flight, where only latency counts (four hops against two).
        let baseline_rps = baseline(1).await;
        let rps = through_broker(1, 1).await;
        println!(
            "latency-bound, one request in flight: mdp {rps:.0}/s, direct echo {baseline_rps:.0}/s, ratio {:.2}",
            rps / baseline_rps
        );
    });
}
