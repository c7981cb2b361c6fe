//! The full-circle example of the Python README: an HTTP request enters the flow, is
//! authenticated, transformed, executed and transformed again, and its acknowledgement goes back
//! to the client that is still waiting on the same server.
//!
//! ```text
//! cargo run --example full_circle          # listens on $COMPYSITION_ADDR, default 127.0.0.1:7000
//!
//! curl -u alice:wonderland -H 'Content-Type: application/xml' \
//!      -d '<order id="42"><item>widget</item><quantity>3</quantity></order>' \
//!      http://127.0.0.1:7000/order
//! <acknowledgement order="42" status="accepted"><item>widget</item><quantity>3</quantity></acknowledgement>
//! ```
//!
//! With `-H 'Accept: application/json'` the same acknowledgement comes back as JSON. Bad
//! credentials get `401` with a challenge, a body that is not an order `400`. Ctrl-C stops it
//! cleanly: requests in flight are answered first.

use compysition::actors::{BasicAuth, HttpServer, Xslt};
use compysition::prelude::*;
use compysition::{actor, topology, Xml};

/// Turns `<order id="42">…</order>` into the `<submission>` the executor works on.
pub const SUBMIT_XSL: &str = include_str!("xsl/submit.xsl");
/// Turns the executed `<submission>` into the `<acknowledgement>` the client gets.
pub const ACK_XSL: &str = include_str!("xsl/acknowledge.xsl");

/// Executes a submitted order. A real flow would book it somewhere; here it is logged and
/// passed on to be acknowledged.
#[actor]
async fn request_executor(event: Event<Xml>) -> Result<Event<Xml>, EventError> {
    tracing::info!(meta_id = %event.meta_id(), user = event.attribute("user").unwrap_or("-"), "order executed");
    Ok(event)
}

/// The flow of the Python README around `wsgi`, a server that is already listening.
pub fn full_circle(wsgi: HttpServer) -> compysition::Result<Topology> {
    Ok(topology! {
        wsgi             = wsgi;
        auth             = BasicAuth::with_users([("alice", "wonderland")]);
        submit_transform = Xslt::compile(SUBMIT_XSL)?;
        executor         = request_executor;
        ack_transform    = Xslt::compile(ACK_XSL)?;

        wsgi -> auth -> submit_transform -> executor -> ack_transform -> wsgi;
        auth !-> wsgi;              // bad credentials: 401 with a Basic challenge
        submit_transform !-> wsgi;  // not an order: 400
    })
}

#[tokio::main]
async fn main() -> compysition::Result<()> {
    tracing_subscriber::fmt().with_target(false).init();
    let addr = std::env::var("COMPYSITION_ADDR").unwrap_or_else(|_| "127.0.0.1:7000".to_string());
    let wsgi = HttpServer::bind(&addr)?;
    println!("POST an order to http://{addr}/order as alice:wonderland; Ctrl-C stops");
    full_circle(wsgi)?.run_until_signal().await
}
