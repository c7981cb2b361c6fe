//! The topology of `examples/order_desk.rs` (the same function) over a real socket: orders are
//! routed to their lanes, quotes joined from three actors, a lost part answered `504` at the
//! join's timeout, a flaky price retried into a quote; JSON orders take the same ways.

#[path = "../examples/order_desk.rs"]
#[allow(dead_code)] // its `main` is the example's
mod order_desk;

mod http_client;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use compysition::actors::HttpServer;
use compysition::RunningTopology;
use http::Method;
use http_client::{post, send, Reply};

fn start() -> (SocketAddr, RunningTopology) {
    let server = HttpServer::bind("127.0.0.1:0").expect("a free port");
    let addr = server.local_addr().expect("bound");
    let topology = order_desk::order_desk(server).expect("the desk is set up");
    (addr, topology.start().expect("starts"))
}

fn order(id: &str, priority: &str, item: &str, quantity: u32) -> String {
    format!(
        r#"<order id="{id}" priority="{priority}"><item>{item}</item><quantity>{quantity}</quantity></order>"#
    )
}

async fn post_xml(addr: SocketAddr, path: &str, body: String) -> Reply {
    post(addr, path, "application/xml", body).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn orders_take_the_first_lane_that_matches() {
    let (addr, running) = start();
    for (priority, quantity, lane) in [
        ("high", 500, "express"),
        ("normal", 101, "bulk"),
        ("normal", 100, "standard"),
        ("low", 3, "standard"),
    ] {
        let reply = post_xml(addr, "/route", order("A-1", priority, "widget", quantity)).await;
        assert_eq!(reply.status, 200, "{}", reply.text());
        assert_eq!(reply.text(), format!(r#"<routed id="A-1" lane="{lane}"/>"#));
    }
    running.stop().await.expect("a clean stop");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_json_order_is_routed_like_its_xml() {
    let (addr, running) = start();
    let json =
        r#"{"order": {"@id": "J-9", "@priority": "normal", "item": "bolt", "quantity": "250"}}"#;
    let headers = [
        ("content-type", "application/json"),
        ("accept", "application/json"),
    ];
    let reply = send(addr, Method::POST, "/route", &headers, json).await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    // Answered in the format the client accepts.
    assert_eq!(
        reply.json(),
        serde_json::json!({"routed": {"@id": "J-9", "@lane": "bulk"}})
    );
    running.stop().await.expect("a clean stop");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_orders_are_400_and_unknown_desks_404() {
    let (addr, running) = start();
    let without_id = r#"<order priority="high"><item>widget</item><quantity>3</quantity></order>"#;
    let reply = post_xml(addr, "/route", without_id.to_owned()).await;
    assert_eq!(reply.status, 400);
    assert!(reply.text().contains("order_id"), "{}", reply.text());
    let reply = post_xml(addr, "/route", "<order id=\"1\"><item></order>".to_owned()).await;
    assert_eq!(reply.status, 400);
    assert!(reply.text().contains("malformed XML"), "{}", reply.text());
    let reply = post_xml(addr, "/refund", order("1", "high", "widget", 1)).await;
    assert_eq!(reply.status, 404, "{}", reply.text());
    running.stop().await.expect("a clean stop");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_quote_joins_price_stock_and_shipping_in_order() {
    let (addr, running) = start();
    let reply = post_xml(addr, "/quote", order("Q-1", "normal", "widget", 3)).await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    assert_eq!(
        reply.text(),
        r#"<quote id="Q-1"><price>7.50</price><in_stock>true</in_stock><days>5</days></quote>"#
    );
    let reply = post_xml(addr, "/quote", order("Q-2", "high", "widget", 11)).await;
    assert_eq!(
        reply.text(),
        r#"<quote id="Q-2"><price>27.50</price><in_stock>false</in_stock><days>1</days></quote>"#
    );
    running.stop().await.expect("a clean stop");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_part_is_504_at_the_join_timeout_and_a_flaky_price_is_retried() {
    let (addr, running) = start();
    let started = Instant::now();
    let reply = post_xml(addr, "/quote", order("L-1", "normal", "lost", 3)).await;
    assert_eq!(reply.status, 504, "{}", reply.text());
    assert!(
        reply.text().contains("days"),
        "names the missing part: {}",
        reply.text()
    );
    assert!(started.elapsed() >= order_desk::QUOTE_TIMEOUT);
    assert!(started.elapsed() < order_desk::QUOTE_TIMEOUT + Duration::from_secs(5));

    let reply = post_xml(addr, "/quote", order("F-1", "normal", "flaky", 2)).await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    assert_eq!(
        reply.text(),
        r#"<quote id="F-1"><price>5.00</price><in_stock>true</in_stock><days>5</days></quote>"#
    );
    running.stop().await.expect("a clean stop");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_quotes_at_once_each_get_their_own_parts() {
    let (addr, running) = start();
    let quotes = (0..200).map(|i| {
        tokio::spawn(async move {
            let reply = post_xml(
                addr,
                "/quote",
                order(&format!("M-{i}"), "normal", "widget", i % 20),
            )
            .await;
            (i, reply)
        })
    });
    for quote in quotes {
        let (i, reply) = quote.await.expect("a client");
        assert_eq!(reply.status, 200, "{}", reply.text());
        let cents = u64::from(i % 20) * 250;
        let expected = format!(
            r#"<quote id="M-{i}"><price>{}.{:02}</price><in_stock>{}</in_stock><days>5</days></quote>"#,
            cents / 100,
            cents % 100,
            i % 20 <= 10
        );
        assert_eq!(reply.text(), expected);
    }
    running.stop().await.expect("a clean stop");
}
