//! The broker's socket against connections that say nothing, or half of something: thousands
//! of silent or half-greeted TCP connections (and more arriving all the time) do not keep a
//! pyzmq client and worker out, and unfinished messages over many connections are bounded
//! together, the largest holders closed first, so that the broker's memory stays bounded.

#[path = "mdp_peers/harness.rs"]
mod harness;

use std::time::{Duration, Instant};

use futures_util::future::join_all;
use harness::*;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

const WAIT: Duration = Duration::from_secs(10);

/// The tests of this file one at a time: each counts this process's open files and memory.
static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// The soft limit on open files of this process (from `/proc/self/limits`, so no `unsafe`
/// `getrlimit`); 1024, the usual default, when it cannot be read.
fn open_files_limit() -> usize {
    std::fs::read_to_string("/proc/self/limits")
        .ok()
        .and_then(|limits| {
            let line = limits
                .lines()
                .find(|line| line.starts_with("Max open files"))?
                .to_string();
            line.split_whitespace().nth(3)?.parse().ok()
        })
        .unwrap_or(1024)
}

/// Our ZMTP 3 greeting as a NULL DEALER, and a READY command for it.
fn greeting_and_ready() -> (Vec<u8>, Vec<u8>) {
    let mut greeting = vec![0u8; 64];
    greeting[0] = 0xFF;
    greeting[9] = 0x7F;
    greeting[10] = 3;
    greeting[12..16].copy_from_slice(b"NULL");
    let mut ready = vec![0x04, 0, 5];
    ready.extend_from_slice(b"READY");
    ready.push(11);
    ready.extend_from_slice(b"Socket-Type");
    ready.extend_from_slice(&6u32.to_be_bytes());
    ready.extend_from_slice(b"DEALER");
    ready[1] = (ready.len() - 2) as u8;
    (greeting, ready)
}

/// Opens a connection that says nothing (`kind` 0), the first ten octets of a greeting (1), or
/// a greeting and half a READY (2), and never more.
async fn silent_connection(address: &str, kind: usize) -> Option<TcpStream> {
    let mut stream = TcpStream::connect(address).await.ok()?;
    let (greeting, ready) = greeting_and_ready();
    let said: Vec<u8> = match kind {
        0 => Vec::new(),
        1 => greeting[..10].to_vec(),
        _ => [&greeting[..], &ready[..ready.len() / 2]].concat(),
    };
    stream.write_all(&said).await.ok()?;
    Some(stream)
}

fn python_worker(endpoint: &str) -> PythonPeer {
    let (beat, liveness) = (HEARTBEAT.as_millis().to_string(), LIVENESS.to_string());
    PythonPeer::spawn(
        "worker.py",
        &[
            "--connect",
            endpoint,
            "--service",
            "echo",
            "--heartbeat-ms",
            &beat,
            "--liveness",
            &liveness,
        ],
    )
}

/// A pyzmq worker registers and a pyzmq client gets a request through; how long it took.
async fn python_peers_get_through(endpoint: &str) -> Duration {
    let endpoint = endpoint.to_string();
    tokio::task::spawn_blocking(move || {
        let started = Instant::now();
        let worker = python_worker(&endpoint);
        assert_eq!(worker.next_json(WAIT)["ready"], "echo");
        let mut client = PythonPeer::spawn(
            "client.py",
            &[
                "--connect",
                &endpoint,
                "--timeout-ms",
                "3000",
                "--retries",
                "2",
            ],
        );
        client.send_json(&python_request("echo", &[b"through"]));
        let answer = client.next_json(Duration::from_secs(20));
        assert_eq!(reply_frames(&answer), vec![b"through".to_vec()], "{answer}");
        started.elapsed()
    })
    .await
    .expect("the python peers ran")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thousands_of_silent_connections_do_not_keep_a_new_client_and_worker_out() {
    let _serial = SERIAL.lock().await;
    // This process holds both ends of the attack (ours all of them, the broker's at most its
    // pending handshakes): sized to the open-files limit, 10 000 connections and the default
    // 1024 seats when it allows.
    let limit = open_files_limit();
    let seats = 1024.min(limit / 8);
    let count = 10_000.min((limit - seats) * 3 / 4);
    let broker = RunningBroker::start_with(|b| b.max_pending_handshakes(seats));
    let address = broker.endpoint.trim_start_matches("tcp://").to_string();
    let mut held = Vec::with_capacity(count);
    let opening = Instant::now();
    // In batches that fit the listen backlog (128), each accepted before the next: past the
    // backlog the kernel drops SYNs, and the connections come a second later.
    let stats = broker.stats.clone();
    for batch in (0..count).collect::<Vec<_>>().chunks(100) {
        let opened = join_all(batch.iter().map(|n| silent_connection(&address, n % 10))).await;
        held.extend(opened.into_iter().flatten());
        let accepted = held.len() as u64;
        let caught_up = eventually(WAIT, || {
            let counters = stats.snapshot();
            counters.pending_handshakes + counters.evicted_handshakes >= accepted
        })
        .await;
        assert!(caught_up, "the broker accepts: {:?}", stats.snapshot());
    }
    println!(
        "{} of {count} silent connections open in {:?} (open-files limit {limit})",
        held.len(),
        opening.elapsed()
    );
    assert!(
        held.len() > seats + 100,
        "more connections than handshake seats"
    );
    // And more keep coming while the real peers connect: the seats must not stay theirs.
    let attacker_address = address.clone();
    let attacking = tokio::spawn(async move {
        let mut newest = std::collections::VecDeque::new();
        let mut pace = tokio::time::interval(Duration::from_millis(2));
        for n in 0.. {
            pace.tick().await;
            if let Some(stream) = silent_connection(&attacker_address, n % 10).await {
                newest.push_back(stream);
            }
            // Long evicted by the broker: closing ours keeps this process in its limit.
            if newest.len() > 1500 {
                newest.pop_front();
            }
        }
    });
    let took = python_peers_get_through(&broker.endpoint).await;
    attacking.abort();
    let counters = broker.stats.snapshot();
    println!(
        "through in {took:?} past {} silent connections: {counters:?}",
        held.len()
    );
    assert!(took < Duration::from_secs(8), "promptly: {took:?}");
    assert!(
        counters.evicted_handshakes >= (held.len() - seats) as u64,
        "the oldest pending handshakes made room: {counters:?}"
    );
    assert_eq!(counters.replies, 1);
    drop(held);
    broker.stop().await;
}

/// The peak resident memory of this process so far, in KiB (`VmHWM`).
fn peak_memory_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            let line = status.lines().find(|line| line.starts_with("VmHWM:"))?;
            line.split_whitespace().nth(1)?.parse().ok()
        })
        .unwrap_or(0)
}

/// Connects as a DEALER by hand, then announces a message of `announced` octets and sends
/// `sent` of them, in 64 KiB writes, stopping when the broker closes the connection. The
/// connection, still open and half sent, unless the broker closed it.
async fn half_send(address: &str, announced: usize, sent: usize) -> Option<TcpStream> {
    let mut stream = TcpStream::connect(address).await.expect("connects");
    let (greeting, ready) = greeting_and_ready();
    let mut header = vec![0x02];
    header.extend_from_slice(&(announced as u64).to_be_bytes());
    let start = [greeting, ready, header].concat();
    stream.write_all(&start).await.ok()?;
    let piece = vec![b'x'; 64 * 1024];
    let mut written = 0;
    while written < sent {
        stream.write_all(&piece).await.ok()?;
        written += piece.len();
    }
    Some(stream)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unfinished_messages_on_many_connections_are_capped_together() {
    const MIB: usize = 1024 * 1024;
    const CAP: usize = 32 * MIB;
    let _serial = SERIAL.lock().await;
    let broker = RunningBroker::start_with(|b| b.max_unfinished_bytes(CAP));
    let address = broker.endpoint.trim_start_matches("tcp://").to_string();
    let before = peak_memory_kib();
    // 20 connections each announce 15 MiB (under the 16 MiB message limit) and send 8 MiB:
    // 160 MiB unfinished in all, five times the cap.
    let senders = (0..20).map(|_| half_send(&address, 15 * MIB, 8 * MIB));
    let stats = broker.stats.clone();
    let mut most = 0;
    let sampling = async {
        loop {
            most = most.max(stats.snapshot().unfinished_bytes);
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    };
    let open = tokio::select! {
        open = join_all(senders) => open,
        () = sampling => unreachable!("samples until the senders are done"),
    };
    // Kept open, half sent, until the test has looked. A sender may not notice that the
    // broker closed its connection (the kernel took what it wrote): the broker counts.
    let open: Vec<TcpStream> = open.into_iter().flatten().collect();
    // What the surviving connections still hold settles once the broker has read it all.
    let settled = eventually(WAIT, || {
        let counters = stats.snapshot();
        counters.unfinished_bytes <= CAP as u64 && counters.dropped_unfinished >= 1
    })
    .await;
    let counters = stats.snapshot();
    let grew = (peak_memory_kib() - before) / 1024;
    println!(
        "{} of 20 closed; unfinished peaked at {} MiB (cap 32 MiB); peak memory grew {grew} \
         MiB; {counters:?}",
        counters.dropped_unfinished,
        most / MIB as u64
    );
    assert!(settled, "{counters:?}");
    // 160 MiB for a 32 MiB cap: most of them go.
    assert!(
        counters.dropped_unfinished >= 12,
        "the largest holders were closed: {counters:?}"
    );
    // One buffer's growth (at most a message) may pass the cap before the largest goes.
    assert!(most <= (CAP + 16 * MIB) as u64, "peaked at {most}");
    assert!(grew < 112, "the broker's memory grew {grew} MiB");
    let took = python_peers_get_through(&broker.endpoint).await;
    println!("a request through in {took:?}");
    drop(open);
    broker.stop().await;
}
