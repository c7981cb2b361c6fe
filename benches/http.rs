//! Requests per second and latency through the full-circle topology (`examples/full_circle.rs`:
//! server → BasicAuth → Xslt → executor → Xslt → server), against a plain hyper server that does
//! the same auth check and the same two transforms inline in its handler, in the same run.
//!
//! The load generator is 64 tokio tasks on a thread of their own, each with one keep-alive
//! HTTP/1.1 connection, sending the README's order as fast as answers come back. Both servers
//! run side by side on one runtime and are measured in alternating rounds, so that a change in
//! the machine's load (other processes on its cores) falls on both alike. Beside the rates it
//! prints the process's CPU time per request, which other load on the machine disturbs less.
//! Prints `RESULT http_full_circle rps=<n> baseline_rps=<n> ratio=<r> p99_ms=<n>`.

#[path = "../examples/full_circle.rs"]
#[allow(dead_code)] // its `main` is the example's, not ours
mod full_circle;

#[path = "support/cpu.rs"]
mod cpu;

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine as _;
use bytes::Bytes;
use compysition::actors::HttpServer;
use compysition::http::{Authenticator, Credentials, UserTable};
use compysition::xml::{Stylesheet, TransformOptions};
use compysition::Xml;
use http::{Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use tokio::net::{TcpListener, TcpStream};

const CONNECTIONS: usize = 64;
const WARM_UP: Duration = Duration::from_secs(1);
/// Each round measures one server for this long.
const ROUND: Duration = Duration::from_millis(1500);
const ROUNDS: usize = 4;
const ORDER: &str = r#"<order id="42"><item>widget</item><quantity>3</quantity></order>"#;
/// `alice:wonderland`.
const AUTHORIZATION: &str = "Basic YWxpY2U6d29uZGVybGFuZA==";

/// What the rounds against one server measured.
struct Measured {
    rps: f64,
    p50: Duration,
    p99: Duration,
    failures: usize,
    /// CPU time of the whole process (load generator included) per answered request: less
    /// sensitive than the rate to other load on the machine.
    cpu_per_request: Option<Duration>,
}

/// The latencies, failures and CPU time of every round against one server.
struct Samples {
    latencies: Vec<Duration>,
    measured_for: Duration,
    failures: usize,
    cpu: Option<Duration>,
}

impl Samples {
    fn new() -> Self {
        Samples {
            latencies: Vec::new(),
            measured_for: Duration::ZERO,
            failures: 0,
            cpu: Some(Duration::ZERO),
        }
    }

    fn add(&mut self, round: Round) {
        self.latencies.extend(round.latencies);
        self.measured_for += round.took;
        self.failures += round.failures;
        self.cpu = self.cpu.zip(round.cpu).map(|(total, cpu)| total + cpu);
    }

    fn measured(mut self) -> Measured {
        self.latencies.sort_unstable();
        let percentile = |p: f64| {
            let last = self.latencies.len().saturating_sub(1);
            let at = ((self.latencies.len() as f64 * p) as usize).min(last);
            self.latencies.get(at).copied().unwrap_or_default()
        };
        Measured {
            rps: self.latencies.len() as f64 / self.measured_for.as_secs_f64(),
            p50: percentile(0.50),
            p99: percentile(0.99),
            failures: self.failures,
            cpu_per_request: self
                .cpu
                .filter(|_| !self.latencies.is_empty())
                .map(|cpu| cpu / self.latencies.len() as u32),
        }
    }
}

fn main() {
    // The servers share one runtime (only one of them is loaded at a time); the load generator
    // has a runtime and a thread of its own, as a client on another machine would: sharing the
    // servers' workers, it would be held up by whatever a server does on them (the baseline's
    // inline transforms), and it would hold them up in turn.
    let servers = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    let client = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .thread_name("load")
        .enable_all()
        .build()
        .expect("a runtime");
    let (ours_addr, running) = servers.block_on(async {
        let server = HttpServer::bind("127.0.0.1:0").expect("a free port");
        let addr = server.local_addr().expect("bound");
        let running = full_circle::full_circle(server)
            .expect("the stylesheets compile")
            .start()
            .expect("the topology starts");
        (addr, running)
    });
    let (baseline_addr, baseline) = servers.block_on(start_baseline());

    client.block_on(async {
        load(ours_addr, WARM_UP).await;
        load(baseline_addr, WARM_UP).await;
    });
    let (mut ours, mut plain) = (Samples::new(), Samples::new());
    for _ in 0..ROUNDS {
        ours.add(client.block_on(load(ours_addr, ROUND)));
        plain.add(client.block_on(load(baseline_addr, ROUND)));
    }
    servers.block_on(async {
        running.stop().await.expect("a clean stop");
        baseline.abort();
    });

    let (ours, plain) = (ours.measured(), plain.measured());
    for (name, m) in [("full circle", &ours), ("plain hyper", &plain)] {
        let cpu = m
            .cpu_per_request
            .map(|cpu| format!("  CPU {:>5.0} us/request", cpu.as_secs_f64() * 1e6))
            .unwrap_or_default();
        println!(
            "{name:>12}: {:>8.0} req/s  p50 {:>6.2} ms  p99 {:>6.2} ms  failures {}{cpu}",
            m.rps,
            millis(m.p50),
            millis(m.p99),
            m.failures
        );
    }
    println!(
        "RESULT http_full_circle rps={:.0} baseline_rps={:.0} ratio={:.2} p99_ms={:.2}",
        ours.rps,
        plain.rps,
        ours.rps / plain.rps,
        millis(ours.p99)
    );
}

fn millis(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// Starts the plain hyper server; the handle stops it.
async fn start_baseline() -> (SocketAddr, tokio::task::JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("a free port");
    let addr = listener.local_addr().expect("bound");
    let baseline = Arc::new(Baseline {
        users: UserTable::new().user("alice", "wonderland"),
        submit: Stylesheet::compile(full_circle::SUBMIT_XSL).expect("compiles"),
        acknowledge: Stylesheet::compile(full_circle::ACK_XSL).expect("compiles"),
        options: TransformOptions::new(),
    });
    let server = tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            let _ = stream.set_nodelay(true);
            let baseline = Arc::clone(&baseline);
            tokio::spawn(async move {
                let service = hyper::service::service_fn(move |request| {
                    let baseline = Arc::clone(&baseline);
                    async move { Ok::<_, Infallible>(baseline.handle(request).await) }
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    (addr, server)
}

/// The same work as the topology, inline in one handler.
struct Baseline {
    users: UserTable,
    submit: Stylesheet,
    acknowledge: Stylesheet,
    options: TransformOptions,
}

impl Baseline {
    async fn handle(&self, request: Request<Incoming>) -> Response<Full<Bytes>> {
        match self.answer(request).await {
            Ok(xml) => Response::builder()
                .header("content-type", "application/xml")
                .body(Full::new(xml))
                .expect("a valid response"),
            Err(status) => Response::builder()
                .status(status)
                .body(Full::new(Bytes::new()))
                .expect("a valid response"),
        }
    }

    async fn answer(&self, request: Request<Incoming>) -> Result<Bytes, StatusCode> {
        let (parts, body) = request.into_parts();
        let (user, password) = parts
            .headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Basic "))
            .and_then(|token| base64::engine::general_purpose::STANDARD.decode(token).ok())
            .and_then(|decoded| String::from_utf8(decoded).ok())
            .and_then(|decoded| {
                decoded
                    .split_once(':')
                    .map(|(u, p)| (u.to_owned(), p.to_owned()))
            })
            .ok_or(StatusCode::UNAUTHORIZED)?;
        let credentials = Credentials {
            user: &user,
            password: &password,
        };
        if !self.users.authenticate(credentials).await.unwrap_or(false) {
            return Err(StatusCode::UNAUTHORIZED);
        }
        let body = body
            .collect()
            .await
            .map_err(|_| StatusCode::BAD_REQUEST)?
            .to_bytes();
        let order = Xml::from_bytes(body).map_err(|_| StatusCode::BAD_REQUEST)?;
        let submission = self
            .submit
            .transform(order.as_bytes(), &self.options)
            .and_then(|t| t.into_output())
            .map_err(|_| StatusCode::BAD_REQUEST)?;
        let acknowledgement = self
            .acknowledge
            .transform(&submission, &self.options)
            .and_then(|t| t.into_output())
            .map_err(|_| StatusCode::INTERNAL_SERVER_ERROR)?;
        Ok(acknowledgement)
    }
}

/// One round of load against `addr`.
struct Round {
    latencies: Vec<Duration>,
    /// From the first request sent to the last answer received.
    took: Duration,
    failures: usize,
    /// CPU time the process used meanwhile, where the system tells.
    cpu: Option<Duration>,
}

/// Runs `CONNECTIONS` keep-alive connections against `addr` for `window`.
async fn load(addr: SocketAddr, window: Duration) -> Round {
    let cpu_before = cpu::process_cpu_time();
    let start = Instant::now();
    let end = start + window;
    let workers: Vec<_> = (0..CONNECTIONS)
        .map(|_| tokio::spawn(connection_loop(addr, end)))
        .collect();
    let mut latencies = Vec::new();
    let mut failures = 0;
    for worker in workers {
        let (mut measured, failed) = worker.await.expect("a load worker");
        latencies.append(&mut measured);
        failures += failed;
    }
    let took = start.elapsed();
    Round {
        latencies,
        took,
        failures,
        cpu: cpu::process_cpu_time()
            .zip(cpu_before)
            .map(|(after, before)| after.saturating_sub(before)),
    }
}

/// One keep-alive connection sending orders back to back until `end`: the latency of each
/// answered request, and how many failed.
async fn connection_loop(addr: SocketAddr, end: Instant) -> (Vec<Duration>, usize) {
    let stream = TcpStream::connect(addr).await.expect("connects");
    stream.set_nodelay(true).expect("nodelay");
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .expect("a handshake");
    tokio::spawn(connection);
    let mut latencies = Vec::with_capacity(8192);
    let mut failures = 0;
    let body = Bytes::from_static(ORDER.as_bytes());
    loop {
        let started = Instant::now();
        if started >= end {
            break;
        }
        let request = Request::post("/order")
            .header("host", "bench")
            .header("authorization", AUTHORIZATION)
            .header("content-type", "application/xml")
            .body(Full::new(body.clone()))
            .expect("a valid request");
        if sender.ready().await.is_err() {
            failures += 1;
            break;
        }
        let ok = match sender.send_request(request).await {
            Ok(response) => {
                let status = response.status();
                let answer = response.into_body().collect().await;
                status == StatusCode::OK
                    && answer.is_ok_and(|a| {
                        let a = a.to_bytes();
                        a.windows(17).any(|w| w == b"status=\"accepted\"")
                    })
            }
            Err(_) => false,
        };
        if ok {
            latencies.push(started.elapsed());
        } else {
            failures += 1;
        }
    }
    (latencies, failures)
}
