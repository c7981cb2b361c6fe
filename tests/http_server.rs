//! The HTTP server over a real socket: every request is answered, with the right status.

mod http_client;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use compysition::actors::HttpServer;
use compysition::actors::Null;
use compysition::http::{Body, HttpContext, HttpStats, Route};
use compysition::prelude::*;
use compysition::{ActorHandle, RunningTopology};
use http::Method;
use http_client::{get, post, post_json, raw_request, send, Client};
use serde_json::json;
use tokio::net::TcpStream;

/// A running topology around one server.
struct Served {
    addr: SocketAddr,
    stats: HttpStats,
    topology: RunningTopology,
}

impl Served {
    async fn stop(self) {
        self.topology.stop().await.expect("a clean stop");
    }
}

fn server() -> HttpServer {
    HttpServer::bind("127.0.0.1:0").expect("a free port")
}

#[test]
fn a_port_in_use_is_a_bind_error_at_bind_time_naming_the_address() {
    let taken = server();
    let addr = taken.local_addr().expect("bound").to_string();
    match HttpServer::bind(addr.as_str()) {
        Err(compysition::Error::Bind { address, source }) => {
            assert_eq!(address, addr);
            assert_eq!(source.kind(), std::io::ErrorKind::AddrInUse);
        }
        Err(other) => panic!("expected a bind error, got {other}"),
        Ok(_) => panic!("bound a port that is in use"),
    }
}

/// Starts `server`, letting `wire` add the flow behind it.
fn serve(server: HttpServer, wire: impl FnOnce(&mut Director, &ActorHandle<HttpServer>)) -> Served {
    let addr = server.local_addr().expect("bound");
    let stats = server.stats();
    let mut director = Director::new();
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

/// The server answering every request with its own event (`wsgi -> echo -> wsgi`).
fn echo(server: HttpServer) -> Served {
    serve(server, |director, wsgi| {
        let echo = director.register_actor("echo", from_fn(|e: Event<Body>| async { Ok(e) }));
        director.connect_queue(wsgi, &echo);
        director.connect_queue(&echo, wsgi);
        director.connect_error_queue(&echo, wsgi);
    })
}

/// The server answering through an actor that takes `T` (`Xml` or `Json`): the edge into it
/// parses the body, and one that does not parse is that edge's `400` (on the server's own error
/// outbox, which no queue takes: the default error actor answers it).
fn echo_as<T: compysition::Payload + Clone + compysition::Convert<Body>>(
    server: HttpServer,
) -> Served
where
    Body: compysition::Convert<T>,
{
    serve(server, |director, wsgi| {
        let echo = director.register_actor("echo", from_fn(|e: Event<T>| async { Ok(e) }));
        director.connect_queue(wsgi, &echo);
        director.connect_queue(&echo, wsgi);
        director.connect_error_queue(&echo, wsgi);
    })
}

/// The server answering with a JSON description of the event its request became.
fn describe(server: HttpServer) -> Served {
    serve(server, |director, wsgi| {
        let describe = director.register_actor(
            "describe",
            from_fn(|event: Event<Body>| async move {
                let description = json!({
                    "service": event.service(),
                    "meta_id": event.meta_id().to_string(),
                    "attributes": event.attributes(),
                    "kind": event.data.kind(),
                    "query": event.extension::<HttpContext>().and_then(|h| h.query.clone()),
                });
                Ok(event.with_data(Body::Json(Json::new(description))))
            }),
        );
        director.connect_queue(wsgi, &describe);
        director.connect_queue(&describe, wsgi);
    })
}

fn error_message(reply: &http_client::Reply) -> String {
    reply.json()["errors"][0]["message"]
        .as_str()
        .expect("an error message")
        .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_json_body_comes_back_as_json() {
    let served = echo(server());
    let reply = post_json(served.addr, "/echo", r#"{"order": {"id": 42}}"#).await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.header("content-type"), Some("application/json"));
    assert_eq!(reply.json(), json!({"order": {"id": 42}}));
    served.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_text_body_comes_back_as_text() {
    let served = echo(server());
    let reply = post(
        served.addr,
        "/echo",
        "text/plain; charset=utf-8",
        "hello, flow",
    )
    .await;
    assert_eq!(reply.status, 200);
    assert_eq!(
        reply.header("content-type"),
        Some("text/plain; charset=utf-8")
    );
    assert_eq!(reply.text(), "hello, flow");
    served.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_default_route_sets_the_service_and_keeps_the_query() {
    let served = describe(server());
    let reply = get(served.addr, "/orders?since=2026", &[]).await;
    assert_eq!(reply.status, 200);
    let description = reply.json();
    assert_eq!(description["service"], "orders");
    assert_eq!(description["kind"], "empty");
    assert_eq!(description["query"], "since=2026");
    served.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn route_variables_become_attributes() {
    let served =
        describe(server().route(Route::new("/orders/{id}/lines/{line}").methods([Method::PUT])));
    let reply = send(
        served.addr,
        Method::PUT,
        "/orders/42/lines/7",
        &[("content-type", "application/json")],
        r#"{"quantity": 3}"#,
    )
    .await;
    assert_eq!(reply.status, 200);
    let description = reply.json();
    assert_eq!(description["service"], "orders");
    assert_eq!(description["attributes"], json!({"id": "42", "line": "7"}));
    // Parsed only at an edge into an actor that takes `Json` or `Xml`; this one takes `Body`.
    assert_eq!(description["kind"], "unparsed JSON");
    served.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_route_is_404_with_an_error_body() {
    let served = echo(server());
    let reply = send(served.addr, Method::GET, "/no/such/route", &[], "").await;
    assert_eq!(reply.status, 404);
    assert_eq!(reply.header("content-type"), Some("application/json"));
    assert_eq!(reply.json()["errors"][0]["code"], "404");
    assert!(error_message(&reply).contains("/no/such/route"));
    served.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_method_is_405_with_allow() {
    let served = echo(server());
    let reply = send(served.addr, Method::DELETE, "/echo", &[], "").await;
    assert_eq!(reply.status, 405);
    assert_eq!(reply.header("allow"), Some("GET, POST"));
    served.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_declared_length_above_the_limit_is_413() {
    let served = echo(server().body_limit(1024));
    let reply = post(served.addr, "/echo", "text/plain", "x".repeat(1025)).await;
    assert_eq!(reply.status, 413);
    assert!(error_message(&reply).contains("1024 bytes"));
    // Exactly at the limit is fine.
    let reply = post(served.addr, "/echo", "text/plain", "x".repeat(1024)).await;
    assert_eq!(reply.status, 200);
    served.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_streamed_body_above_the_limit_is_413() {
    let served = echo(server().body_limit(1024));
    // Chunked, so no length is declared up front: the limit must hold while reading.
    let chunk = "x".repeat(600);
    let request = format!(
        "POST /echo HTTP/1.1\r\nhost: test\r\ncontent-type: text/plain\r\ntransfer-encoding: chunked\r\n\r\n\
         258\r\n{chunk}\r\n258\r\n{chunk}\r\n0\r\n\r\n"
    );
    let head = raw_request(served.addr, &request).await;
    assert!(head.starts_with("HTTP/1.1 413 "), "{head}");
    served.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unsupported_content_type_is_415() {
    let served = echo(server());
    let reply = post(served.addr, "/echo", "image/png", &b"\x89PNG"[..]).await;
    assert_eq!(reply.status, 415);
    assert!(error_message(&reply).contains("image/png"));
    served.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_json_is_400_naming_the_position() {
    let served = echo_as::<Json>(server());
    let reply = post_json(served.addr, "/echo", r#"{"order": }"#).await;
    assert_eq!(reply.status, 400);
    assert!(
        error_message(&reply).contains("line 1 column 11"),
        "{}",
        reply.text()
    );
    served.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn text_that_is_not_utf8_is_400() {
    let served = echo(server());
    let reply = post(served.addr, "/echo", "text/plain", &b"caf\xe9"[..]).await;
    assert_eq!(reply.status, 400);
    served.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_request_id_becomes_the_meta_id_and_is_echoed() {
    let served = describe(server());
    let reply = get(served.addr, "/orders", &[("x-request-id", "req-7f3a")]).await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.json()["meta_id"], "req-7f3a");
    assert_eq!(reply.header("x-request-id"), Some("req-7f3a"));
    // Errors echo it too.
    let reply = get(served.addr, "/a/b", &[("x-request-id", "req-404")]).await;
    assert_eq!(reply.status, 404);
    assert_eq!(reply.header("x-request-id"), Some("req-404"));
    served.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn errors_are_written_as_xml_when_the_client_accepts_xml() {
    let served = echo(server());
    let reply = get(served.addr, "/a/b", &[("accept", "application/xml")]).await;
    assert_eq!(reply.status, 404);
    assert_eq!(reply.header("content-type"), Some("application/xml"));
    assert_eq!(
        reply.text(),
        "<errors><error><message>no route for /a/b</message><code>404</code></error></errors>"
    );
    served.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flow_that_drops_the_event_answers_500_at_once() {
    let timeout = Duration::from_secs(20);
    let served = serve(server().timeout(timeout), |director, wsgi| {
        let null = director.register_actor("null", Null::<Body>::new());
        director.connect_queue(wsgi, &null);
    });
    let started = Instant::now();
    let reply = post_json(served.addr, "/anything", "{}").await;
    let took = started.elapsed();
    assert_eq!(reply.status, 500);
    assert!(
        error_message(&reply).contains("dropped"),
        "{}",
        reply.text()
    );
    assert!(
        took < Duration::from_secs(2),
        "answered after {took:?}, timeout {timeout:?}"
    );
    assert_eq!(served.stats.dropped(), 1);
    served.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_error_routed_nowhere_still_answers_with_its_own_status() {
    let served = serve(server(), |director, wsgi| {
        // No `!->` edge back to the server: the error goes to the default error actor.
        let refuse = director.register_actor(
            "refuse",
            from_fn(|_: Event<Body>| async move {
                Err::<Event<Body>, _>(EventError::forbidden("members only"))
            }),
        );
        director.connect_queue(wsgi, &refuse);
        director.connect_queue(&refuse, wsgi);
    });
    let reply = post_json(served.addr, "/anything", "{}").await;
    assert_eq!(reply.status, 403);
    assert_eq!(error_message(&reply), "members only");
    served.stop().await;
}

/// Keeps every event it gets and never answers.
struct Hoard(Arc<Mutex<Vec<Event<Body>>>>);

impl Actor for Hoard {
    type Inboxes = Inbox<Body>;
    type Outboxes = ();

    async fn run(self, _ctx: Context, mut inbox: Inbox<Body>, (): ()) {
        while let Some(event) = inbox.recv().await {
            self.0.lock().expect("not poisoned").push(event);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flow_that_never_answers_gets_504_after_the_timeout() {
    let hoard = Arc::new(Mutex::new(Vec::new()));
    let kept = Arc::clone(&hoard);
    let timeout = Duration::from_millis(300);
    let served = serve(server().timeout(timeout), move |director, wsgi| {
        let hoard = director.register_actor("hoard", Hoard(kept));
        director.connect_queue(wsgi, &hoard);
    });
    let started = Instant::now();
    let reply = post_json(served.addr, "/anything", "{}").await;
    assert_eq!(reply.status, 504);
    assert!(started.elapsed() >= timeout);
    assert!(error_message(&reply).contains("300 ms"), "{}", reply.text());
    assert_eq!(hoard.lock().expect("not poisoned").len(), 1);
    assert_eq!(served.stats.timed_out(), 1);
    served.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panicking_actor_answers_500_and_the_next_request_is_fine() {
    let served = serve(server(), |director, wsgi| {
        let fragile = director.register_actor(
            "fragile",
            from_fn(|event: Event<Body>| async move {
                if event.data == Body::Text("panic".into()) {
                    panic!("asked to panic");
                }
                Ok(event)
            }),
        );
        director.connect_queue(wsgi, &fragile);
        director.connect_queue(&fragile, wsgi);
        director.connect_error_queue(&fragile, wsgi);
    });
    let text = [("content-type", "text/plain")];
    let mut client = Client::connect(served.addr).await;
    let reply = client.send(Method::POST, "/x", &text, "panic").await;
    assert_eq!(reply.status, 500);
    assert!(error_message(&reply).contains("asked to panic"));
    let reply = client.send(Method::POST, "/x", &text, "calm").await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.text(), "calm");
    served.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_first_answer_wins_and_later_copies_are_counted() {
    let served = serve(server(), |director, wsgi| {
        let first = director.register_actor("first", from_fn(|e: Event<Body>| async { Ok(e) }));
        let second = director.register_actor("second", from_fn(|e: Event<Body>| async { Ok(e) }));
        director.connect_queue(wsgi, (&first, &second));
        director.connect_queue(&first, wsgi);
        director.connect_queue(&second, wsgi);
    });
    let reply = post_json(served.addr, "/twice", r#"{"n": 1}"#).await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.json(), json!({"n": 1}));
    let deadline = Instant::now() + Duration::from_secs(5);
    while served.stats.late_answers() < 1 && Instant::now() < deadline {
        tokio::task::yield_now().await;
    }
    assert_eq!(served.stats.late_answers(), 1);
    assert_eq!(served.stats.answered(), 1);
    served.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_concurrent_requests_are_all_answered_correctly() {
    let served = echo(server());
    let addr = served.addr;
    let requests: Vec<_> = (0..1000)
        .map(|i| {
            tokio::spawn(async move {
                let reply = send(
                    addr,
                    Method::POST,
                    "/echo",
                    &[
                        ("content-type", "application/json"),
                        ("x-request-id", &format!("req-{i}")),
                    ],
                    format!(r#"{{"n": {i}}}"#),
                )
                .await;
                (i, reply)
            })
        })
        .collect();
    for request in requests {
        let (i, reply) = request.await.expect("the request task finishes");
        assert_eq!(reply.status, 200, "request {i}");
        assert_eq!(reply.json(), json!({ "n": i }), "request {i}");
        assert_eq!(reply.header("x-request-id"), Some(&*format!("req-{i}")));
    }
    assert_eq!(served.stats.requests(), 1000);
    assert_eq!(served.stats.answered(), 1000);
    served.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stopping_lets_requests_in_flight_finish_and_refuses_new_ones() {
    let (entered_tx, entered_rx) = tokio::sync::oneshot::channel::<()>();
    let entered = Arc::new(Mutex::new(Some(entered_tx)));
    let (release_tx, release_rx) = tokio::sync::watch::channel(false);
    let served = serve(server(), move |director, wsgi| {
        let slow = director.register_actor(
            "slow",
            from_fn(move |event: Event<Body>| {
                let entered = Arc::clone(&entered);
                let mut release = release_rx.clone();
                async move {
                    if let Some(entered) = entered.lock().expect("not poisoned").take() {
                        let _ = entered.send(());
                    }
                    let _ = release.wait_for(|go| *go).await;
                    Ok(event)
                }
            }),
        );
        director.connect_queue(wsgi, &slow);
        director.connect_queue(&slow, wsgi);
    });
    let addr = served.addr;
    let in_flight =
        tokio::spawn(async move { post_json(addr, "/slow", r#"{"late": true}"#).await });
    entered_rx.await.expect("the request reached the flow");
    let stopping = tokio::spawn(served.topology.stop());
    // The listener closes once the stop is seen; new connections are refused from then on.
    let deadline = Instant::now() + Duration::from_secs(5);
    while TcpStream::connect(addr).await.is_ok() {
        assert!(Instant::now() < deadline, "still accepting after stop");
        tokio::task::yield_now().await;
    }
    release_tx.send_replace(true);
    let reply = in_flight.await.expect("the request finishes");
    assert_eq!(reply.status, 200);
    assert_eq!(reply.json(), json!({"late": true}));
    stopping
        .await
        .expect("stop task")
        .expect("the topology stops cleanly");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_xml_body_comes_back_as_xml_or_as_json_when_asked() {
    let served = echo(server());
    let order = r#"<order id="42"><item>widget</item><quantity>3</quantity></order>"#;
    let xml = [("content-type", "application/xml")];
    let reply = send(served.addr, Method::POST, "/echo", &xml, order).await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.header("content-type"), Some("application/xml"));
    assert_eq!(reply.text(), order);

    let xml_in_json_out = [
        ("content-type", "application/xml"),
        ("accept", "application/json"),
    ];
    let reply = send(served.addr, Method::POST, "/echo", &xml_in_json_out, order).await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.header("content-type"), Some("application/json"));
    assert_eq!(
        reply.json(),
        json!({"order": {"@id": "42", "item": "widget", "quantity": "3"}})
    );
    served.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_json_body_comes_back_as_xml_when_asked() {
    let served = echo(server());
    let reply = send(
        served.addr,
        Method::POST,
        "/echo",
        &[("content-type", "application/json"), ("accept", "text/xml")],
        r#"{"order": {"@id": "42", "item": "widget"}}"#,
    )
    .await;
    assert_eq!(reply.status, 200);
    assert_eq!(
        reply.header("content-type"),
        Some("text/xml; charset=utf-8")
    );
    assert_eq!(
        reply.text(),
        r#"<order id="42"><item>widget</item></order>"#
    );
    served.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_xml_is_400_in_xml() {
    let served = echo_as::<Xml>(server());
    let reply = post(
        served.addr,
        "/echo",
        "application/xml",
        "<order>\n  <item>widget</order>",
    )
    .await;
    assert_eq!(reply.status, 400);
    assert_eq!(reply.header("content-type"), Some("application/xml"));
    assert!(
        reply.text().starts_with("<errors><error><message>"),
        "{}",
        reply.text()
    );
    assert!(reply.text().contains("line 2"), "{}", reply.text());
    served.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_large_xml_body_is_parsed_and_its_errors_still_name_the_line() {
    // Parsed at the edge into the actor that takes `Xml`, whatever its size.
    let served = echo_as::<Xml>(server());
    let items = "<item>widget</item>\n".repeat(10_000);
    let document = format!("<order>\n{items}</order>");
    let reply = post(served.addr, "/echo", "application/xml", document.clone()).await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.text(), document);
    let broken = format!("<order>\n{items}<item></order>");
    let reply = post(served.addr, "/echo", "application/xml", broken).await;
    assert_eq!(reply.status, 400);
    assert!(reply.text().contains("line 10002"), "{}", reply.text());
    served.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn xml_with_an_external_entity_is_refused() {
    let served = echo_as::<Xml>(server());
    let reply = post(served.addr, "/echo", "application/xml", r#"<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/hostname">]><r>&x;</r>"#).await;
    assert_eq!(reply.status, 400);
    assert!(reply.text().contains("entit"), "{}", reply.text());
    let hostname = std::fs::read_to_string("/etc/hostname").unwrap_or_default();
    if !hostname.trim().is_empty() {
        assert!(!reply.text().contains(hostname.trim()), "{}", reply.text());
    }
    served.stop().await;
}

/// A server with two outboxes: `orders` (the default) and `reports`.
struct OrderOutboxes {
    orders: Outbox<Body>,
    reports: Outbox<Body>,
}

impl compysition::ports::OutboxSet for OrderOutboxes {
    type Refs = (
        compysition::ports::OutPort<Body>,
        compysition::ports::OutPort<Body>,
    );
    fn specs() -> Vec<compysition::ports::PortSpec> {
        vec![
            compysition::ports::PortSpec::outbox::<Body>("orders"),
            compysition::ports::PortSpec::outbox::<Body>("reports"),
        ]
    }
    fn refs(actor: &compysition::ports::ActorRef) -> Self::Refs {
        (
            compysition::ports::OutPort::new(actor.clone(), Some("orders")),
            compysition::ports::OutPort::new(actor.clone(), Some("reports")),
        )
    }
    fn assemble(
        ports: &mut compysition::ports::PortBundle,
    ) -> Result<Self, compysition::ports::PortMismatch> {
        Ok(OrderOutboxes {
            orders: ports.outbox()?,
            reports: ports.outbox()?,
        })
    }
}

impl compysition::http::HttpOutboxes for OrderOutboxes {
    fn outbox(&self, name: Option<&str>) -> Option<&Outbox<Body>> {
        match name {
            None | Some("orders") => Some(&self.orders),
            Some("reports") => Some(&self.reports),
            Some(_) => None,
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_route_picks_the_outbox_its_requests_leave_by() {
    let server = server()
        .route(
            Route::new("/reports/{year}")
                .methods([Method::GET])
                .outbox("reports"),
        )
        .with_outboxes::<OrderOutboxes>();
    let addr = server.local_addr().expect("bound");
    let mut director = Director::new();
    let wsgi = director.register_actor("wsgi", server);
    let answer = |text: &'static str| {
        from_fn(move |event: Event<Body>| async move {
            let year = event.attribute("year").unwrap_or("-").to_string();
            Ok(event.with_data(Body::Text(format!("{text} {year}"))))
        })
    };
    let orders = director.register_actor("orders", answer("order"));
    let reports = director.register_actor("reports", answer("report"));
    let (orders_out, reports_out) = wsgi.outboxes();
    director.connect_queue(orders_out, &orders);
    director.connect_queue(reports_out, &reports);
    director.connect_queue(&orders, &wsgi);
    director.connect_queue(&reports, &wsgi);
    let running = Topology::new(director).start().expect("starts");
    let reply = get(addr, "/reports/2026", &[]).await;
    assert_eq!(reply.text(), "report 2026");
    let reply = get(addr, "/orders", &[]).await;
    assert_eq!(reply.text(), "order -");
    running.stop().await.expect("stops");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_that_does_not_arrive_in_time_is_408() {
    let served = echo(server().timeout(Duration::from_millis(300)));
    // Announces ten bytes, sends two, then waits.
    let request = "POST /echo HTTP/1.1\r\nhost: test\r\ncontent-type: text/plain\r\ncontent-length: 10\r\n\r\nab";
    let head = raw_request(served.addr, request).await;
    assert!(head.starts_with("HTTP/1.1 408 "), "{head}");
    served.stop().await;
}
