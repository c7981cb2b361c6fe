//! The full-circle topology of `examples/full_circle.rs` (the same function, the same two
//! stylesheets) over a real socket: an order goes in, its acknowledgement comes back.

#[path = "../examples/full_circle.rs"]
#[allow(dead_code)] // its `main` is the example's
mod full_circle;

mod http_client;

use std::net::SocketAddr;

use compysition::actors::HttpServer;
use compysition::RunningTopology;
use http::Method;
use http_client::{send, Reply};
use serde_json::json;

const ORDER: &str = r#"<order id="42"><item>widget</item><quantity>3</quantity></order>"#;
/// `alice:wonderland`.
const ALICE: &str = "Basic YWxpY2U6d29uZGVybGFuZA==";

fn start() -> (SocketAddr, RunningTopology) {
    let server = HttpServer::try_bind("127.0.0.1:0").expect("a free port");
    let addr = server.local_addr().expect("bound");
    let topology = full_circle::full_circle(server).expect("the stylesheets compile");
    (addr, topology.start().expect("starts"))
}

/// `POST /order` as alice, with a body of `content_type`, accepting `accept` (if given).
async fn post_order(
    addr: SocketAddr,
    content_type: &str,
    accept: Option<&str>,
    body: &str,
) -> Reply {
    let mut headers = vec![("authorization", ALICE), ("content-type", content_type)];
    headers.extend(accept.map(|accept| ("accept", accept)));
    send(addr, Method::POST, "/order", &headers, body.to_owned()).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_order_is_acknowledged_in_xml() {
    let (addr, running) = start();
    let reply = post_order(addr, "application/xml", None, ORDER).await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    assert_eq!(reply.header("content-type"), Some("application/xml"));
    // libxslt ends the serialised document with a newline.
    assert_eq!(
        reply.text().trim_end(),
        r#"<acknowledgement order="42" status="accepted"><item>widget</item><quantity>3</quantity></acknowledgement>"#
    );
    running.stop().await.expect("stops");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_order_is_acknowledged_in_json_when_asked() {
    let (addr, running) = start();
    let reply = post_order(addr, "application/xml", Some("application/json"), ORDER).await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    assert_eq!(reply.header("content-type"), Some("application/json"));
    assert_eq!(
        reply.json(),
        json!({"acknowledgement": {
            "@order": "42", "@status": "accepted", "item": "widget", "quantity": "3"
        }})
    );
    running.stop().await.expect("stops");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_json_order_is_converted_on_the_edge_and_acknowledged() {
    let (addr, running) = start();
    let reply = post_order(
        addr,
        "application/json",
        None,
        r#"{"order": {"@id": "7", "item": "gadget", "quantity": "1"}}"#,
    )
    .await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    assert_eq!(
        reply.text().trim_end(),
        r#"<acknowledgement order="7" status="accepted"><item>gadget</item><quantity>1</quantity></acknowledgement>"#
    );
    running.stop().await.expect("stops");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_credentials_are_challenged() {
    let (addr, running) = start();
    let alice_rabbit = [
        ("authorization", "Basic YWxpY2U6cmFiYml0"), // alice:rabbit
        ("content-type", "application/xml"),
    ];
    let reply = send(addr, Method::POST, "/order", &alice_rabbit, ORDER).await;
    assert_eq!(reply.status, 401);
    assert_eq!(
        reply.header("www-authenticate"),
        Some(r#"Basic realm="compysition", charset="UTF-8""#)
    );
    assert!(reply
        .text()
        .starts_with("<errors><error><message>invalid credentials"));
    running.stop().await.expect("stops");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_document_that_is_not_an_order_is_400_from_the_transform() {
    let (addr, running) = start();
    let reply = post_order(
        addr,
        "application/xml",
        Some("application/json"),
        "<invoice/>",
    )
    .await;
    assert_eq!(reply.status, 400, "{}", reply.text());
    let message = reply.json()["errors"][0]["message"]
        .as_str()
        .expect("a message")
        .to_string();
    assert!(
        message.contains("expected an <order> document"),
        "{message}"
    );
    running.stop().await.expect("stops");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn text_that_is_not_xml_is_400_on_the_edge_into_the_transform() {
    let (addr, running) = start();
    let reply = post_order(addr, "text/plain", None, "one widget, please").await;
    assert_eq!(reply.status, 400, "{}", reply.text());
    assert!(reply.text().contains("cannot convert"), "{}", reply.text());
    running.stop().await.expect("stops");
}
