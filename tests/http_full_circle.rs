//! The full-circle topology of `examples/full_circle.rs` (the same function, the same two
//! stylesheets) over a real socket: an order goes in, its acknowledgement comes back, over
//! HTTP/1.1 and over HTTP/2.

#[path = "../examples/full_circle.rs"]
#[allow(dead_code)] // its `main` is the example's
mod full_circle;

mod http_client;

use std::net::SocketAddr;

use bytes::Bytes;
use compysition::actors::HttpServer;
use compysition::RunningTopology;
use http::{Method, Request, StatusCode, Version};
use http_body_util::{BodyExt, Full};
use http_client::{send, Reply};
use hyper::client::conn::http2::SendRequest;
use hyper_util::rt::{TokioExecutor, TokioIo};
use serde_json::json;
use tokio::net::TcpStream;

const ORDER: &str = r#"<order id="42"><item>widget</item><quantity>3</quantity></order>"#;
/// `alice:wonderland`.
const ALICE: &str = "Basic YWxpY2U6d29uZGVybGFuZA==";

fn start() -> (SocketAddr, RunningTopology) {
    let server = HttpServer::bind("127.0.0.1:0").expect("a free port");
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

// HTTP/2 (cleartext, the client starting with the preface) on the same port as HTTP/1.1: many
// requests at once as streams of one connection, each answered with its own acknowledgement.

/// An HTTP/2 connection with prior knowledge (no upgrade from HTTP/1.1).
async fn connect_h2(addr: SocketAddr) -> SendRequest<Full<Bytes>> {
    let stream = TcpStream::connect(addr).await.expect("the server accepts");
    let (sender, connection) =
        hyper::client::conn::http2::handshake(TokioExecutor::new(), TokioIo::new(stream))
            .await
            .expect("an HTTP/2 handshake");
    tokio::spawn(async move {
        // Ends when the client or the server closes the connection.
        let _ = connection.await;
    });
    sender
}

struct Answer {
    status: StatusCode,
    version: Version,
    headers: http::HeaderMap,
    body: String,
}

async fn post_order_h2(
    mut sender: SendRequest<Full<Bytes>>,
    authorization: &str,
    order: String,
) -> Answer {
    let request = Request::builder()
        .method(Method::POST)
        .uri("http://test/order")
        .header("authorization", authorization)
        .header("content-type", "application/xml")
        .body(Full::new(Bytes::from(order)))
        .expect("a valid request");
    sender.ready().await.expect("connection ready");
    let response = sender.send_request(request).await.expect("a response");
    let (parts, body) = response.into_parts();
    let body = body.collect().await.expect("the whole body").to_bytes();
    Answer {
        status: parts.status,
        version: parts.version,
        headers: parts.headers,
        body: String::from_utf8(body.to_vec()).expect("a UTF-8 body"),
    }
}

fn order_with_id(id: usize) -> String {
    format!(r#"<order id="{id}"><item>widget</item><quantity>3</quantity></order>"#)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_order_over_http2_is_acknowledged() {
    let (addr, running) = start();
    let answer = post_order_h2(connect_h2(addr).await, ALICE, order_with_id(42)).await;
    assert_eq!(answer.version, Version::HTTP_2);
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    assert_eq!(
        answer.body.trim_end(),
        r#"<acknowledgement order="42" status="accepted"><item>widget</item><quantity>3</quantity></acknowledgement>"#
    );
    running.stop().await.expect("stops");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_streams_of_one_connection_each_get_their_own_answer() {
    let (addr, running) = start();
    let sender = connect_h2(addr).await;
    let requests = (0..100).map(|id| {
        let sender = sender.clone();
        tokio::spawn(async move { (id, post_order_h2(sender, ALICE, order_with_id(id)).await) })
    });
    for request in requests {
        let (id, answer) = request.await.expect("the request task");
        assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
        assert!(
            answer.body.contains(&format!(r#"order="{id}""#)),
            "request {id} got {}",
            answer.body
        );
    }
    running.stop().await.expect("stops");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn errors_over_http2_carry_their_status_and_headers() {
    let (addr, running) = start();
    let sender = connect_h2(addr).await;
    // alice:wrong
    let refused = post_order_h2(sender.clone(), "Basic YWxpY2U6d3Jvbmc=", order_with_id(1)).await;
    assert_eq!(refused.status, StatusCode::UNAUTHORIZED);
    let challenge = refused
        .headers
        .get("www-authenticate")
        .map(|v| v.to_str().expect("ASCII"));
    assert!(
        challenge.is_some_and(|c| c.starts_with(r#"Basic realm="compysition""#)),
        "{challenge:?}"
    );
    let malformed = post_order_h2(sender, ALICE, "<order id=".to_owned()).await;
    assert_eq!(
        malformed.status,
        StatusCode::BAD_REQUEST,
        "{}",
        malformed.body
    );
    running.stop().await.expect("stops");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http1_and_http2_share_the_port() {
    let (addr, running) = start();
    let over_two = post_order_h2(connect_h2(addr).await, ALICE, order_with_id(2)).await;
    let over_one = http_client::send(
        addr,
        Method::POST,
        "/order",
        &[
            ("authorization", ALICE),
            ("content-type", "application/xml"),
        ],
        order_with_id(1),
    )
    .await;
    assert_eq!(over_two.version, Version::HTTP_2);
    assert_eq!(over_two.status, StatusCode::OK);
    assert_eq!(over_one.status, StatusCode::OK);
    assert!(over_one.text().contains(r#"order="1""#));
    running.stop().await.expect("stops");
}
