//! `HttpMethodRouter` and `RestTranslator` behind a server, over a real socket.

mod http_client;

use std::net::SocketAddr;

use compysition::http::{Body, Route};

use compysition::actors::{HttpMethodRouter, HttpServer, RestTranslator};
use compysition::prelude::*;
use compysition::RunningTopology;
use http::Method;
use http_client::send;

/// `wsgi -> router; router.get -> reader -> rest; router.post -> creator -> rest; rest -> wsgi;
/// router !-> wsgi;` on the route `/orders/{id}`.
fn start() -> (SocketAddr, RunningTopology) {
    let server = HttpServer::bind("127.0.0.1:0")
        .expect("a free port")
        .route(Route::new("/orders").methods([Method::POST]))
        .route(Route::new("/orders/{id}").methods([Method::GET, Method::PUT, Method::DELETE]));
    let addr = server.local_addr().expect("bound");
    let mut director = Director::new();
    let wsgi = director.register_actor("wsgi", server);
    let router = director.register_actor("router", HttpMethodRouter::new());
    let reader = director.register_actor(
        "reader",
        from_fn(|event: Event<Body>| async move {
            let body = match event.attribute("id") {
                Some("0") => Body::Empty,
                Some(id) => Body::Text(format!("order {id}")),
                None => Body::Empty,
            };
            Ok(event.with_data(body))
        }),
    );
    let creator = director.register_actor(
        "creator",
        from_fn(|event: Event<Body>| async move {
            Ok(event
                .with_attribute("id", "42")
                .with_data(Body::Text("created".into())))
        }),
    );
    let rest = director.register_actor("rest", RestTranslator::new());
    let routes = router.outboxes();
    director.connect_queue(&wsgi, &router);
    director.connect_queue(routes.get, &reader);
    director.connect_queue(routes.post, &creator);
    director.connect_queue(&reader, &rest);
    director.connect_queue(&creator, &rest);
    director.connect_queue(&rest, &wsgi);
    director.connect_error_queue(&router, &wsgi);
    (addr, Topology::new(director).start().expect("starts"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_post_is_created_with_a_location() {
    let (addr, running) = start();
    let reply = send(
        addr,
        Method::POST,
        "/orders",
        &[("content-type", "text/plain")],
        "new",
    )
    .await;
    assert_eq!(reply.status, 201);
    assert_eq!(reply.header("location"), Some("/orders/42"));
    assert_eq!(reply.text(), "created");
    running.stop().await.expect("stops");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_get_with_content_is_200_and_without_is_204() {
    let (addr, running) = start();
    let reply = send(addr, Method::GET, "/orders/7", &[], "").await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.text(), "order 7");
    let reply = send(addr, Method::GET, "/orders/0", &[], "").await;
    assert_eq!(reply.status, 204);
    assert!(reply.body.is_empty());
    running.stop().await.expect("stops");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_method_without_a_connected_outbox_is_405_with_allow() {
    let (addr, running) = start();
    // The server's route allows DELETE, but nothing handles it behind the router. The router
    // handles POST, but the route refuses it: only GET gets through both.
    let reply = send(addr, Method::DELETE, "/orders/7", &[], "").await;
    assert_eq!(reply.status, 405);
    assert_eq!(reply.header("allow"), Some("GET"));
    assert_eq!(
        reply.json()["errors"][0]["message"],
        "DELETE is not allowed here"
    );
    // What the Allow header offers is what the server lets through: POST there is the
    // server's own 405.
    let reply = send(addr, Method::POST, "/orders/7", &[], "").await;
    assert_eq!(reply.status, 405);
    assert_eq!(reply.header("allow"), Some("DELETE, GET, PUT"));
    running.stop().await.expect("stops");
}
