//! Garbage at the broker: truncated commands, invalid frames, commands out of place, random
//! multi-frame messages, raw bytes that are not even ZMTP, and frames longer than the broker
//! takes. The broker drops and counts what is not MDP, says DISCONNECT where 7/MDP asks it to,
//! closes a connection that breaks ZMTP or a size limit, and keeps serving real requests.

#[path = "mdp_peers/harness.rs"]
mod harness;

use std::io::{Read, Write};
use std::time::Duration;

use bytes::Bytes;
use compysition::actors::MdpWorker;
use compysition::mdp::Frames;
use harness::*;
use zeromq::{DealerSocket, Socket, SocketRecv, SocketSend, ZmqMessage};

const WAIT: Duration = Duration::from_secs(10);
/// How long to listen for an answer that must not come.
const QUIET: Duration = Duration::from_millis(150);

/// One garbage case: its name, the messages sent on one connection, the answer expected.
type Case = (&'static str, Vec<&'static [&'static [u8]]>, Answer);

/// What the broker sent back to one garbage sender.
#[derive(Debug, PartialEq, Eq)]
enum Answer {
    Nothing,
    Disconnect,
    Other(Vec<Bytes>),
}

/// Sends `frames` on a new connection and reports the broker's answer. Heartbeats sent to a
/// registered worker are skipped: they are not an answer.
async fn send_on_new_connection(endpoint: &str, messages: &[&[&[u8]]]) -> Answer {
    let mut socket = DealerSocket::new();
    socket.connect(endpoint).await.expect("connects");
    for frames in messages {
        socket.send(message(frames)).await.expect("sent");
    }
    let deadline = tokio::time::Instant::now() + QUIET;
    loop {
        match tokio::time::timeout_at(deadline, socket.recv()).await {
            Err(_) => return Answer::Nothing,
            Ok(Err(error)) => panic!("the connection failed: {error}"),
            Ok(Ok(reply)) => {
                let frames = reply.into_vec();
                match frames.get(2).map(|c| &c[..]) {
                    Some([4]) => continue,
                    Some([5]) => return Answer::Disconnect,
                    _ => return Answer::Other(frames),
                }
            }
        }
    }
}

/// A fixed-seed xorshift generator: random garbage that is the same on every run.
struct Garbage(u64);

impl Garbage {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn frame(&mut self) -> Vec<u8> {
        let len = (self.next() % 12) as usize;
        let pick = self.next() % 8;
        // Half of the frames look like MDP on purpose, to get past the first checks.
        match pick {
            0 => Vec::new(),
            1 => b"MDPC01".to_vec(),
            2 => b"MDPW01".to_vec(),
            3 => vec![(self.next() % 7) as u8],
            _ => (0..len).map(|_| self.next() as u8).collect(),
        }
    }
}

/// Messages that are not valid MDP: each is dropped and counted, none answered.
fn malformed_cases() -> Vec<Case> {
    vec![
        ("one random frame", vec![&[b"\x17garbage"]], Answer::Nothing),
        ("only the delimiter", vec![&[b""]], Answer::Nothing),
        (
            "delimiter and header only",
            vec![&[b"", b"MDPW01"]],
            Answer::Nothing,
        ),
        (
            "client request without service",
            vec![&[b"", b"MDPC01"]],
            Answer::Nothing,
        ),
        (
            "client request without body",
            vec![&[b"", b"MDPC01", b"echo"]],
            Answer::Nothing,
        ),
        (
            "service name with a newline",
            vec![&[b"", b"MDPC01", b"ec\nho", b"x"]],
            Answer::Nothing,
        ),
        (
            "service name not UTF-8",
            vec![&[b"", b"MDPC01", b"\xff\xfe", b"x"]],
            Answer::Nothing,
        ),
        (
            "first frame not empty",
            vec![&[b"x", b"MDPC01", b"echo", b"x"]],
            Answer::Nothing,
        ),
        (
            "unknown protocol header",
            vec![&[b"", b"MDPX01", b"echo", b"x"]],
            Answer::Nothing,
        ),
        (
            "unknown worker command",
            vec![&[b"", b"MDPW01", &[9]]],
            Answer::Nothing,
        ),
        (
            "two-byte worker command",
            vec![&[b"", b"MDPW01", &[1, 1], b"echo"]],
            Answer::Nothing,
        ),
        (
            "READY without service",
            vec![&[b"", b"MDPW01", &[1]]],
            Answer::Nothing,
        ),
        (
            "REPLY truncated after the client",
            vec![&[b"", b"MDPW01", &[3], b"client"]],
            Answer::Nothing,
        ),
        (
            "REPLY without envelope delimiter",
            vec![&[b"", b"MDPW01", &[3], b"client", b"x", b"y"]],
            Answer::Nothing,
        ),
        (
            "HEARTBEAT with an extra frame",
            vec![&[b"", b"MDPW01", &[4], b"x"]],
            Answer::Nothing,
        ),
    ]
}

/// What 7/MDP answers with DISCONNECT (commands out of place, garbage from a registered
/// worker), and a stranger's DISCONNECT, which gets no answer.
fn out_of_place_cases() -> Vec<Case> {
    vec![
        (
            "HEARTBEAT before READY",
            vec![&[b"", b"MDPW01", &[4]]],
            Answer::Disconnect,
        ),
        (
            "REPLY before READY",
            vec![&[b"", b"MDPW01", &[3], b"client", b"", b"x"]],
            Answer::Disconnect,
        ),
        (
            "REQUEST sent by a worker",
            vec![&[b"", b"MDPW01", &[2], b"client", b"", b"x"]],
            Answer::Disconnect,
        ),
        (
            "READY for an mmi. service",
            vec![&[b"", b"MDPW01", &[1], b"mmi.service"]],
            Answer::Disconnect,
        ),
        (
            "READY twice",
            vec![
                &[b"", b"MDPW01", &[1], b"twice"],
                &[b"", b"MDPW01", &[1], b"twice"],
            ],
            Answer::Disconnect,
        ),
        (
            "REPLY nobody asked for",
            vec![
                &[b"", b"MDPW01", &[1], b"eager"],
                &[b"", b"MDPW01", &[3], b"client", b"", b"x"],
            ],
            Answer::Disconnect,
        ),
        (
            "registered worker sends garbage",
            vec![&[b"", b"MDPW01", &[1], b"messy"], &[b"", b"MDPW01", &[7]]],
            Answer::Disconnect,
        ),
        (
            "DISCONNECT from a stranger",
            vec![&[b"", b"MDPW01", &[5]]],
            Answer::Nothing,
        ),
    ]
}

/// Random multi-frame messages, a thousand of them, over a few connections.
async fn send_random_garbage(endpoint: &str) {
    let mut garbage = Garbage(0x5eed_1234_abcd_0001);
    for _ in 0..10 {
        let mut socket = DealerSocket::new();
        socket.connect(endpoint).await.expect("connects");
        for _ in 0..100 {
            let count = 1 + (garbage.next() % 7) as usize;
            let frames: Vec<Bytes> = (0..count).map(|_| Bytes::from(garbage.frame())).collect();
            socket
                .send(ZmqMessage::try_from(frames).expect("frames"))
                .await
                .expect("sent");
        }
    }
}

/// Bytes that are not ZMTP at all, and a connection cut in the middle of a greeting.
async fn send_raw_junk(endpoint: &str) {
    let address = endpoint.trim_start_matches("tcp://").to_string();
    tokio::task::spawn_blocking(move || {
        for junk in [
            &b"GET / HTTP/1.1\r\n\r\n"[..],
            &[0xff, 0, 0, 0, 0, 0, 0, 0, 1, 0x7f, 3],
        ] {
            let mut raw = std::net::TcpStream::connect(&address).expect("connects");
            let _ = raw.write_all(junk);
        }
    })
    .await
    .expect("raw writes done");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_broker_survives_garbage_and_keeps_serving() {
    let broker = RunningBroker::start();
    let endpoint = broker.endpoint.clone();
    let mut cases = malformed_cases();
    cases.extend(out_of_place_cases());
    let mut table = Vec::new();
    for (name, messages, expected) in cases {
        let answer = send_on_new_connection(&endpoint, &messages).await;
        table.push(format!("{name:<40} -> {answer:?}"));
        assert_eq!(answer, expected, "{name}");
    }
    let counters = broker.stats.snapshot();
    println!(
        "garbage inputs and what the broker answered:\n{}",
        table.join("\n")
    );
    println!("counters after the fixed cases: {counters:?}");
    assert_eq!(counters.malformed, 16, "every malformed message is counted");
    assert_eq!(
        counters.disconnects_sent, 7,
        "every unexpected command is answered"
    );
    assert_eq!(counters.workers, 0, "no garbage sender stays registered");

    send_random_garbage(&endpoint).await;
    send_raw_junk(&endpoint).await;

    // And it still serves.
    let mut worker = echo_worker(
        MdpWorker::connect(&endpoint, "echo")
            .expect("valid worker")
            .heartbeat(HEARTBEAT, LIVENESS),
    );
    let stats = broker.stats.clone();
    assert!(
        eventually(WAIT, || stats.snapshot().workers == 1).await,
        "a real worker registers after the garbage"
    );
    let mut flow = ClientFlow::start(
        compysition::actors::MdpClient::connect(&endpoint)
            .expect("valid endpoint")
            .timeout(Duration::from_secs(3)),
    );
    let body = Frames::new(["still", "", "serving"]);
    let reply = flow.ask("echo", body.clone()).await.expect("a real reply");
    assert_eq!(reply.data, body);
    let after = broker.stats.snapshot();
    println!("counters after the random garbage and a real request: {after:?}");
    assert!(
        after.malformed > counters.malformed,
        "random garbage was counted"
    );
    assert!(after.replies >= 1);
    flow.director.stop().await.expect("flow stops");
    worker.stop().await.expect("worker stops");
    broker.stop().await;
}

/// A raw TCP connection that does the ZMTP 3 handshake by hand, as a DEALER.
fn raw_zmtp_peer(endpoint: &str) -> std::net::TcpStream {
    let address = endpoint.trim_start_matches("tcp://");
    let mut stream = std::net::TcpStream::connect(address).expect("connects");
    stream.set_read_timeout(Some(WAIT)).expect("a read timeout");
    let mut greeting = [0u8; 64];
    greeting[0] = 0xFF;
    greeting[9] = 0x7F;
    greeting[10] = 3;
    greeting[12..16].copy_from_slice(b"NULL");
    stream.write_all(&greeting).expect("greeting sent");
    let mut ready = vec![0x04, 0, 5];
    ready.extend_from_slice(b"READY");
    ready.push(11);
    ready.extend_from_slice(b"Socket-Type");
    ready.extend_from_slice(&6u32.to_be_bytes());
    ready.extend_from_slice(b"DEALER");
    ready[1] = (ready.len() - 2) as u8;
    stream.write_all(&ready).expect("READY sent");
    let mut theirs = [0u8; 64];
    stream.read_exact(&mut theirs).expect("the broker greets");
    assert_eq!((theirs[0], theirs[9], theirs[10]), (0xFF, 0x7F, 3));
    let mut header = [0u8; 2];
    stream.read_exact(&mut header).expect("the broker's READY");
    let mut body = vec![0u8; usize::from(header[1])];
    stream.read_exact(&mut body).expect("the broker's READY");
    stream
}

/// Whether the broker closed `stream` (end of stream or reset) within `WAIT`.
fn closed_by_the_broker(stream: &mut std::net::TcpStream) -> bool {
    let mut rest = Vec::new();
    match stream.read_to_end(&mut rest) {
        Ok(_) => true,
        Err(error) => error.kind() == std::io::ErrorKind::ConnectionReset,
    }
}

async fn still_serves(endpoint: &str) {
    let mut worker = echo_worker(
        MdpWorker::connect(endpoint, "echo")
            .expect("valid worker")
            .heartbeat(HEARTBEAT, LIVENESS),
    );
    let mut flow = ClientFlow::start(
        compysition::actors::MdpClient::connect(endpoint)
            .expect("valid endpoint")
            .timeout(Duration::from_secs(3)),
    );
    let body = Frames::new(["still", "serving"]);
    let reply = flow.ask("echo", body.clone()).await.expect("a real reply");
    assert_eq!(reply.data, body);
    flow.director.stop().await.expect("flow stops");
    worker.stop().await.expect("worker stops");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_frame_announcing_exabytes_closes_that_connection_and_nothing_else() {
    // The zeromq crate would reserve the announced length at once and abort the process.
    let broker = RunningBroker::start();
    let endpoint = broker.endpoint.clone();
    let closed = tokio::task::spawn_blocking(move || {
        let mut hostile = raw_zmtp_peer(&endpoint);
        let mut header = vec![0x02];
        header.extend_from_slice(&(1u64 << 62).to_be_bytes());
        hostile.write_all(&header).expect("header sent");
        closed_by_the_broker(&mut hostile)
    })
    .await
    .expect("the hostile peer ran");
    assert!(closed, "the broker closed the hostile connection");
    let stats = broker.stats.clone();
    assert!(eventually(WAIT, || stats.snapshot().refused_connections == 1).await);
    still_serves(&broker.endpoint).await;
    broker.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_over_the_size_limit_closes_its_connection_when_its_header_arrives() {
    let broker = RunningBroker::start_with(|b| b.max_message_size(64 * 1024));
    let endpoint = broker.endpoint.clone();
    let closed = tokio::task::spawn_blocking(move || {
        let mut big = raw_zmtp_peer(&endpoint);
        // Three frames: "" MDPC01 echo, then a body header announcing 1 MiB of which only the
        // header is sent: the broker must not wait for the body to refuse it.
        let mut wire = vec![0x01, 0, 0x01, 6];
        wire.extend_from_slice(b"MDPC01");
        wire.extend_from_slice(&[0x01, 4]);
        wire.extend_from_slice(b"echo");
        wire.push(0x02);
        wire.extend_from_slice(&(1024u64 * 1024).to_be_bytes());
        big.write_all(&wire).expect("sent");
        closed_by_the_broker(&mut big)
    })
    .await
    .expect("the peer ran");
    assert!(
        closed,
        "the broker closed the connection of the oversized message"
    );
    let stats = broker.stats.clone();
    assert!(eventually(WAIT, || stats.snapshot().refused_connections == 1).await);
    assert_eq!(
        broker.stats.snapshot().requests,
        0,
        "nothing of it was taken"
    );
    still_serves(&broker.endpoint).await;
    broker.stop().await;
}
