//! The HTTP server under attack, faults and stop, over real sockets: connections that send
//! nothing or half a preface are closed at their deadline, idle ones at theirs, a full table
//! gives the seat of its longest-idle connection to a newcomer, the answer deadline runs from
//! the head, a stop answers every accepted request, and the protocol's rules on headers hold.

mod http_client;

use std::net::SocketAddr;
use std::time::Duration;

use compysition::actors::{BasicAuth, HttpServer};
use compysition::http::{Body, HttpStats};
use compysition::prelude::*;
use compysition::xml::XmlLimits;
use compysition::{ActorHandle, RunningTopology};
use http_client::{get, post, raw_request, Client};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::Instant;

/// The first 23 of the 24 bytes of the HTTP/2 connection preface.
const PARTIAL_PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r";
/// The whole HTTP/2 connection preface.
const PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

struct Served {
    addr: SocketAddr,
    stats: HttpStats,
    topology: RunningTopology,
}

/// Starts `server` with `shutdown` as the topology's shutdown timeout, `wire` adding the flow.
fn serve(
    server: HttpServer,
    shutdown: Duration,
    wire: impl FnOnce(&mut Director, &ActorHandle<HttpServer>),
) -> Served {
    let addr = server.local_addr().expect("bound");
    let stats = server.stats();
    let mut director = Director::new();
    director.set_shutdown_timeout(shutdown);
    let wsgi = director.register_actor("wsgi", server);
    wire(&mut director, &wsgi);
    let topology = Topology::new(director)
        .start()
        .expect("the topology starts");
    Served {
        addr,
        stats,
        topology,
    }
}

/// `wsgi -> echo -> wsgi`, the echo taking `delay` per request.
fn echo(server: HttpServer, delay: Duration) -> Served {
    serve(server, Duration::from_secs(30), |director, wsgi| {
        let echo = director.register_actor(
            "echo",
            from_fn(move |event: Event<Body>| async move {
                tokio::time::sleep(delay).await;
                Ok(event)
            }),
        );
        director.connect_queue(wsgi, &echo);
        director.connect_queue(&echo, wsgi);
        director.connect_error_queue(&echo, wsgi);
    })
}

fn server() -> HttpServer {
    HttpServer::bind("127.0.0.1:0").expect("a free port")
}

/// Reads until the server closes the connection; what it sent before.
async fn until_closed(stream: &mut TcpStream) -> Vec<u8> {
    let mut received = Vec::new();
    let mut buffer = [0u8; 4096];
    loop {
        match stream.read(&mut buffer).await {
            Ok(0) | Err(_) => return received,
            Ok(n) => received.extend_from_slice(&buffer[..n]),
        }
    }
}

/// Waits, up to `within`, for `condition` to hold; whether it did.
async fn eventually(within: Duration, condition: impl Fn() -> bool) -> bool {
    let deadline = Instant::now() + within;
    while Instant::now() < deadline {
        if condition() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    condition()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_without_a_complete_head_are_closed_at_the_header_deadline() {
    let served = echo(
        server().header_timeout(Duration::from_millis(300)),
        Duration::ZERO,
    );
    for opening in [
        &b""[..],
        PARTIAL_PREFACE,
        PREFACE,
        b"GET /echo HTTP/1.1\r\nHost: x\r\n",
    ] {
        let mut stream = TcpStream::connect(served.addr).await.expect("accepted");
        stream.write_all(opening).await.expect("written");
        let started = Instant::now();
        let closed = tokio::time::timeout(Duration::from_secs(5), until_closed(&mut stream)).await;
        assert!(closed.is_ok(), "still open 5 s after sending {opening:?}");
        assert!(
            started.elapsed() >= Duration::from_millis(250),
            "closed before the deadline"
        );
    }
    assert!(served.stats.header_timeouts() >= 3, "{:?}", served.stats);
    // A client that sends its request in time is served.
    assert_eq!(get(served.addr, "/echo", &[]).await.status, 200);
    served.topology.stop().await.expect("a clean stop");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_keep_alive_connections_are_closed_at_the_idle_deadline() {
    let served = echo(
        server().idle_timeout(Duration::from_millis(300)),
        Duration::ZERO,
    );
    let mut stream = TcpStream::connect(served.addr).await.expect("accepted");
    stream
        .write_all(b"GET /echo HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .expect("written");
    let answered = tokio::time::timeout(Duration::from_secs(5), until_closed(&mut stream))
        .await
        .expect("closed once idle");
    assert!(answered.starts_with(b"HTTP/1.1 200"), "{answered:?}");
    assert!(eventually(Duration::from_secs(2), || served.stats.idle_closed() == 1).await);
    served.topology.stop().await.expect("a clean stop");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_http2_connections_are_closed_at_the_idle_deadline() {
    let served = echo(
        server().idle_timeout(Duration::from_millis(300)),
        Duration::ZERO,
    );
    let stream = TcpStream::connect(served.addr).await.expect("accepted");
    let (mut sender, connection) = hyper::client::conn::http2::handshake(
        hyper_util::rt::TokioExecutor::new(),
        hyper_util::rt::TokioIo::new(stream),
    )
    .await
    .expect("an HTTP/2 handshake");
    let ended = tokio::spawn(connection);
    let request = http::Request::get(format!("http://{}/echo", served.addr))
        .body(http_body_util::Empty::<bytes::Bytes>::new())
        .expect("a request");
    let response = sender.send_request(request).await.expect("a response");
    assert_eq!(response.status(), 200);
    drop(response);
    let ended = tokio::time::timeout(Duration::from_secs(5), ended).await;
    assert!(ended.is_ok(), "the idle HTTP/2 connection is still open");
    assert_eq!(served.stats.idle_closed(), 1, "{:?}", served.stats);
    served.topology.stop().await.expect("a clean stop");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_table_gives_the_longest_idle_seat_to_a_new_client() {
    const LIMIT: usize = 20;
    let served = echo(server().connection_limit(LIMIT), Duration::ZERO);
    // An attacker holds every seat from the client's own address: silent sockets and ones
    // that sent part of the HTTP/2 preface.
    let mut held = Vec::new();
    for i in 0..LIMIT * 3 {
        let mut stream = TcpStream::connect(served.addr).await.expect("accepted");
        if i % 2 == 0 {
            stream.write_all(PARTIAL_PREFACE).await.expect("written");
        }
        held.push(stream);
    }
    for _ in 0..5 {
        let started = Instant::now();
        let reply = tokio::time::timeout(Duration::from_secs(5), get(served.addr, "/echo", &[]))
            .await
            .expect("a client gets in despite the held seats");
        assert_eq!(reply.status, 200);
        assert!(started.elapsed() < Duration::from_secs(2));
    }
    assert!(
        served.stats.connections_evicted() >= (LIMIT * 2) as u64,
        "{:?}",
        served.stats
    );
    drop(held);
    served.topology.stop().await.expect("a clean stop");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_answer_deadline_runs_from_the_head_whatever_the_body_and_the_flow_take() {
    let timeout = Duration::from_millis(1000);
    let served = slow_and_stuck_at(server().timeout(timeout), Duration::from_secs(1));
    let mut stream = TcpStream::connect(served.addr).await.expect("accepted");
    let head =
        "POST /stuck HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\r\n";
    stream.write_all(head.as_bytes()).await.expect("written");
    let started = Instant::now();
    // The body takes most of the deadline to arrive; the flow then never answers.
    tokio::time::sleep(Duration::from_millis(700)).await;
    stream.write_all(b"hello").await.expect("written");
    let mut response = Vec::new();
    let mut buffer = [0u8; 4096];
    while !response.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = stream.read(&mut buffer).await.expect("reads");
        assert!(n > 0, "closed without an answer");
        response.extend_from_slice(&buffer[..n]);
    }
    let elapsed = started.elapsed();
    assert!(
        response.starts_with(b"HTTP/1.1 504"),
        "{}",
        String::from_utf8_lossy(&response)
    );
    // Not the 1.7 s that a timeout started after the body would take.
    assert!(
        elapsed < Duration::from_millis(1500),
        "answered after {elapsed:?}"
    );
    assert_eq!(served.stats.timed_out(), 1);
    // The stuck handler is aborted at the topology's deadline.
    let _ = served.topology.stop().await;
}

/// `wsgi -> flow -> wsgi` where the flow answers `/quick` after 200 ms and `/stuck` never.
fn slow_and_stuck(shutdown: Duration) -> Served {
    slow_and_stuck_at(server(), shutdown)
}

fn slow_and_stuck_at(server: HttpServer, shutdown: Duration) -> Served {
    serve(server, shutdown, |director, wsgi| {
        let flow = director.register_actor(
            "flow",
            from_fn(|event: Event<Body>| async move {
                let wait = if event.service() == Some("stuck") {
                    3600
                } else {
                    0
                };
                tokio::time::sleep(Duration::from_millis(200) + Duration::from_secs(wait)).await;
                Ok(event)
            }),
        );
        director.connect_queue(wsgi, &flow);
        director.connect_queue(&flow, wsgi);
        director.connect_error_queue(&flow, wsgi);
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stop_answers_every_accepted_request_within_the_topology_deadline() {
    let served = slow_and_stuck(Duration::from_secs(3));
    let (addr, stats) = (served.addr, served.stats.clone());
    let quick = tokio::spawn(async move { get(addr, "/quick", &[]).await });
    let stuck = tokio::spawn(async move { get(addr, "/stuck", &[]).await });
    assert!(eventually(Duration::from_secs(5), || stats.requests() == 2).await);
    let started = Instant::now();
    // The stuck handler is aborted at the topology's deadline (and the server with it, whose
    // inbox stays open while the flow runs); every request was answered before that.
    let stopped = served.topology.stop().await;
    let quick = quick.await.expect("the quick client");
    let stuck = stuck.await.expect("the stuck client");
    assert_eq!(quick.status, 200, "answered by the flow while draining");
    assert_eq!(stuck.status, 503, "answered before the server stopped");
    assert_eq!(stuck.header("connection"), Some("close"));
    assert_eq!(stats.refused_stopping(), 1);
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "{:?}",
        started.elapsed()
    );
    match stopped {
        Err(compysition::Error::ShutdownTimeout { aborted, .. }) => {
            assert!(aborted.iter().any(|name| name == "flow"), "{aborted:?}");
        }
        other => panic!("the stuck flow is aborted at the deadline, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stop_with_only_quick_requests_in_flight_answers_them_all_and_ends_cleanly() {
    let served = slow_and_stuck(Duration::from_secs(10));
    let (addr, stats) = (served.addr, served.stats.clone());
    let clients: Vec<_> = (0..20)
        .map(|_| tokio::spawn(async move { get(addr, "/quick", &[]).await }))
        .collect();
    assert!(eventually(Duration::from_secs(5), || stats.requests() == 20).await);
    served.topology.stop().await.expect("a clean stop");
    for client in clients {
        assert_eq!(client.await.expect("a client").status, 200);
    }
    assert_eq!(stats.refused_stopping(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn headers_above_the_limit_are_431() {
    let served = echo(server(), Duration::ZERO);
    let big = "a".repeat(70 * 1024);
    let request = format!("GET /echo HTTP/1.1\r\nHost: x\r\nX-Big: {big}\r\n\r\n");
    let response = raw_request(served.addr, &request).await;
    assert!(response.starts_with("HTTP/1.1 431"), "{response}");
    // Below the limit is fine.
    let fits = "a".repeat(40 * 1024);
    let reply = get(served.addr, "/echo", &[("x-fits", &fits)]).await;
    assert_eq!(reply.status, 200);
    served.topology.stop().await.expect("a clean stop");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_or_repeated_host_is_400() {
    let served = echo(server(), Duration::ZERO);
    let missing = raw_request(served.addr, "GET /echo HTTP/1.1\r\n\r\n").await;
    assert!(missing.starts_with("HTTP/1.1 400"), "{missing}");
    let twice = raw_request(
        served.addr,
        "GET /echo HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",
    )
    .await;
    assert!(twice.starts_with("HTTP/1.1 400"), "{twice}");
    // HTTP/1.0 has no Host requirement.
    let old = raw_request(served.addr, "GET /echo HTTP/1.0\r\n\r\n").await;
    assert!(old.starts_with("HTTP/1.0 200"), "{old}");
    served.topology.stop().await.expect("a clean stop");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn head_is_answered_on_get_routes_without_a_body() {
    let served = echo(server(), Duration::ZERO);
    let get_reply = get(served.addr, "/echo?x=1", &[]).await;
    let mut stream = TcpStream::connect(served.addr).await.expect("accepted");
    stream
        .write_all(b"HEAD /echo?x=1 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .await
        .expect("written");
    let head = until_closed(&mut stream).await;
    let head = String::from_utf8_lossy(&head);
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert!(
        head.ends_with("\r\n\r\n"),
        "a HEAD answer has no body: {head:?}"
    );
    let length = format!("content-length: {}", get_reply.body.len());
    assert!(head.to_ascii_lowercase().contains(&length), "{head}");
    served.topology.stop().await.expect("a clean stop");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unauthenticated_bad_document_is_401_and_never_parsed() {
    let served = serve(server(), Duration::from_secs(30), |director, wsgi| {
        let auth = director.register_actor("auth", BasicAuth::with_users([("alice", "secret")]));
        let parse = director.register_actor("parse", from_fn(|e: Event<Xml>| async { Ok(e) }));
        director.connect_queue(wsgi, &auth);
        director.connect_queue(&auth, &parse);
        director.connect_queue(&parse, wsgi);
        director.connect_error_queue(&auth, wsgi);
        director.connect_error_queue(&parse, wsgi);
    });
    let bad = "<order><unclosed></order>";
    let reply = post(served.addr, "/orders", "application/xml", bad).await;
    assert_eq!(reply.status, 401, "{}", reply.text());
    let mut client = Client::connect(served.addr).await;
    // alice:secret
    let credentials = [
        ("content-type", "application/xml"),
        ("authorization", "Basic YWxpY2U6c2VjcmV0"),
    ];
    let reply = client
        .send(http::Method::POST, "/orders", &credentials, bad)
        .await;
    assert_eq!(
        reply.status,
        400,
        "parsed once authenticated: {}",
        reply.text()
    );
    let good = "<order id=\"1\"/>";
    let reply = client
        .send(http::Method::POST, "/orders", &credentials, good)
        .await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.text(), good);
    served.topology.stop().await.expect("a clean stop");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_default_request_id_is_random() {
    let served = echo(server(), Duration::ZERO);
    let mut client = Client::connect(served.addr).await;
    let mut tails = Vec::new();
    for _ in 0..50 {
        let reply = client.send(http::Method::GET, "/echo", &[], "").await;
        let id = reply
            .header("x-request-id")
            .expect("an id")
            .replace('-', "");
        // The last 16 hex digits: 62 random bits under the UUID's variant bits.
        let tail = u64::from_str_radix(&id[16..], 16).expect("hex") & (u64::MAX >> 2);
        tails.push(tail);
    }
    for pair in tails.windows(2) {
        assert!(
            pair[0].abs_diff(pair[1]) > 1 << 20,
            "ids that count up: {:x} then {:x}",
            pair[0],
            pair[1]
        );
    }
    served.topology.stop().await.expect("a clean stop");
}

/// `wsgi -> parse -> wsgi`, where `parse` takes `Xml`: the edge into it parses the body.
fn parsing(server: HttpServer) -> Served {
    serve(server, Duration::from_secs(30), |director, wsgi| {
        let parse = director.register_actor("parse", from_fn(|e: Event<Xml>| async { Ok(e) }));
        director.connect_queue(wsgi, &parse);
        director.connect_queue(&parse, wsgi);
        director.connect_error_queue(&parse, wsgi);
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_element_with_too_many_attributes_is_400_naming_the_limit() {
    let attributes: String = (0..30_000).map(|i| format!(" a{i}=\"{i}\"")).collect();
    let wide = format!("<order{attributes}/>");
    let served = parsing(server());
    let started = Instant::now();
    let reply = post(served.addr, "/orders", "application/xml", wide.clone()).await;
    assert_eq!(reply.status, 400);
    assert!(
        reply.text().contains("attributes_per_element"),
        "{}",
        reply.text()
    );
    // Refused by the shape check, not after the quadratic parse (seconds in libxml2).
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    served.topology.stop().await.expect("a clean stop");

    let limits = XmlLimits::DEFAULT.attributes_per_element(40_000);
    let served = parsing(server().xml_limits(limits));
    let reply = post(served.addr, "/orders", "application/xml", wide).await;
    assert_eq!(reply.status, 200, "within the server's own limits");
    served.topology.stop().await.expect("a clean stop");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_trickling_their_bodies_do_not_keep_a_client_out() {
    const LIMIT: usize = 10;
    let served = echo(server().connection_limit(LIMIT), Duration::ZERO);
    let mut held = Vec::new();
    for _ in 0..LIMIT {
        let mut stream = TcpStream::connect(served.addr).await.expect("accepted");
        let head = "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\nContent-Length: 1000\r\n\r\nx";
        stream.write_all(head.as_bytes()).await.expect("written");
        held.push(stream);
    }
    let all_seated = eventually(Duration::from_secs(5), || {
        served.stats.open_connections() == LIMIT as u64
    });
    assert!(all_seated.await, "{:?}", served.stats);
    let reply = tokio::time::timeout(Duration::from_secs(5), get(served.addr, "/echo", &[]))
        .await
        .expect("a client gets in past the trickling bodies");
    assert_eq!(reply.status, 200);
    assert!(
        served.stats.connections_evicted() >= 1,
        "{:?}",
        served.stats
    );
    drop(held);
    served.topology.stop().await.expect("a clean stop");
}

/// An HTTP/2 frame header: length, type, flags, stream.
fn frame(kind: u8, flags: u8, stream: u32, payload: &[u8]) -> Vec<u8> {
    let length = u32::try_from(payload.len())
        .expect("a small frame")
        .to_be_bytes();
    let mut frame = vec![length[1], length[2], length[3], kind, flags];
    frame.extend_from_slice(&stream.to_be_bytes());
    frame.extend_from_slice(payload);
    frame
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_http2_peer_that_stops_answering_pings_is_dropped_with_its_request() {
    let server = server()
        .http2_ping(Duration::from_millis(200), Duration::from_millis(300))
        .timeout(Duration::from_secs(30));
    let served = slow_and_stuck_at(server, Duration::from_secs(1));
    let mut stream = TcpStream::connect(served.addr).await.expect("accepted");
    // The preface, empty SETTINGS, and GET /stuck (HPACK: :method GET, :scheme http, :path
    // literal with indexed name, :authority literal with indexed name) ending its stream.
    let mut opening = PREFACE.to_vec();
    opening.extend(frame(0x4, 0, 0, &[]));
    let mut headers = vec![0x82, 0x86, 0x44, 6];
    headers.extend_from_slice(b"/stuck");
    headers.extend_from_slice(&[0x41, 1, b'x']);
    opening.extend(frame(0x1, 0x5, 1, &headers));
    stream.write_all(&opening).await.expect("written");
    assert!(eventually(Duration::from_secs(5), || served.stats.requests() == 1).await);
    // It never answers the server's PINGs (nor anything else): the server closes.
    let closed = tokio::time::timeout(Duration::from_secs(5), until_closed(&mut stream)).await;
    assert!(
        closed.is_ok(),
        "a peer that answers no PING is still connected"
    );
    assert!(
        eventually(Duration::from_secs(2), || served.stats.open_connections()
            == 0)
        .await,
        "{:?}",
        served.stats
    );
    let _ = served.topology.stop().await;
}
