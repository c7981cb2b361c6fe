//! An order desk: routing, joining and retries together, behind one HTTP server.
//!
//! ```text
//! cargo run --example order_desk           # listens on $COMPYSITION_ADDR, default 127.0.0.1:7000
//!
//! curl -H 'Content-Type: application/xml' \
//!      -d '<order id="7" priority="high"><item>widget</item><quantity>3</quantity></order>' \
//!      http://127.0.0.1:7000/route
//! <routed id="7" lane="express"/>
//!
//! curl -H 'Content-Type: application/xml' \
//!      -d '<order id="7" priority="normal"><item>widget</item><quantity>3</quantity></order>' \
//!      http://127.0.0.1:7000/quote
//! <quote id="7"><price>7.50</price><in_stock>true</in_stock><days>5</days></quote>
//! ```
//!
//! - `POST /route`: a first-match router sends the order to lane `express` when
//!   `@priority='high'`, else to `bulk` when its quantity is over 100, else to `standard`.
//! - `POST /quote`: the order goes to three actors at once, and a join puts their answers
//!   together by `meta_id`, in the order its inboxes are declared: price, stock, shipping.
//!   An order of `<item>lost</item>` loses its shipping part, so the join times out after 1 s
//!   and the client gets `504`; one of `<item>flaky</item>` fails its pricing twice, and the
//!   retry policy (3 attempts) still gets it a quote.
//!
//! The same order as JSON (`Content-Type: application/json`, the xmltodict convention:
//! `{"order": {"@id": "7", "@priority": "high", "item": "widget", "quantity": "3"}}`) takes the
//! same ways, converted on the edge into the first actor that takes `Xml`. An order without
//! `id` is `400` naming `order_id`; malformed XML is `400`; any other path is `404`. Errors need
//! no edges of their own: what no error inbox takes is answered through the request's reply slot.

use std::time::Duration;

use compysition::actors::{HttpServer, Join, Router, SetAttribute, XPathAttributeModifier};
use compysition::http::Body;
use compysition::prelude::*;
use compysition::retry::RetryPolicy;
use compysition::routing::Filter;
use compysition::{actor, routes, topology, Xml};

routes! {
    /// The desks of the server's requests, by their service (`/route`, `/quote`).
    pub Desks: Body { route, quote }
}

routes! {
    /// The lanes an order is routed to.
    pub Lanes: Xml { express, bulk, standard }
}

/// The parts of a quote, in the order they are joined.
#[actor(inboxes(price: Xml, in_stock: Xml, days: Xml))]
pub struct QuoteParts;

/// How long a quote waits for its parts.
pub const QUOTE_TIMEOUT: Duration = Duration::from_secs(1);
/// Price of one item, in cents.
const CENTS_PER_ITEM: u64 = 250;
/// Orders of up to this many items are in stock.
const IN_STOCK_UP_TO: u64 = 10;

/// `<routed id="…" lane="…"/>`, from the order's `order_id` and `lane` attributes.
#[actor]
fn routed(event: Event<Xml>) -> Result<Event<Xml>, EventError> {
    let id = escape(event.attribute("order_id").unwrap_or_default());
    let lane = escape(event.attribute("lane").unwrap_or_default());
    let answer = Xml::parse(format!(r#"<routed id="{id}" lane="{lane}"/>"#).as_bytes())?;
    Ok(event.with_data(answer))
}

/// `<price>` = quantity × 2.50. Orders of the item `flaky` fail their first two attempts, as a
/// busy pricing service would.
#[actor]
async fn price(event: Event<Xml>) -> Result<Event<Xml>, EventError> {
    let attempt: u32 = event
        .attribute("attempt")
        .and_then(|a| a.parse().ok())
        .unwrap_or(1);
    if event.attribute("item") == Some("flaky") && attempt <= 2 {
        return Err(EventError::unavailable("the pricing service is busy"));
    }
    let cents = quantity(&event)? * CENTS_PER_ITEM;
    let part = format!("<price>{}.{:02}</price>", cents / 100, cents % 100);
    Ok(event.with_data(Xml::parse(part.as_bytes())?))
}

/// `<in_stock>`: `true` for up to 10 items.
#[actor]
fn stock(event: Event<Xml>) -> Result<Event<Xml>, EventError> {
    let in_stock = quantity(&event)? <= IN_STOCK_UP_TO;
    let part = format!("<in_stock>{in_stock}</in_stock>");
    Ok(event.with_data(Xml::parse(part.as_bytes())?))
}

/// `<days>`: 1 for high priority, else 5. The part of an order of `lost` goes missing.
#[actor]
fn shipping(event: Event<Xml>) -> Result<Option<Event<Xml>>, EventError> {
    if event.attribute("item") == Some("lost") {
        return Ok(None);
    }
    let days = if event.attribute("priority") == Some("high") {
        1
    } else {
        5
    };
    let part = format!("<days>{days}</days>");
    Ok(Some(event.with_data(Xml::parse(part.as_bytes())?)))
}

/// The joined `<quote>` with the order's id on it.
#[actor]
fn stamp_quote(event: Event<Xml>) -> Result<Event<Xml>, EventError> {
    let id = escape(event.attribute("order_id").unwrap_or_default());
    let parts = event
        .data
        .as_str()
        .strip_prefix("<quote>")
        .ok_or_else(|| EventError::internal("the join did not make a <quote>"))?;
    let quote = Xml::parse(format!(r#"<quote id="{id}">{parts}"#).as_bytes())?;
    Ok(event.with_data(quote))
}

/// The order's `quantity` attribute as a whole number of items.
fn quantity<T>(event: &Event<T>) -> Result<u64, EventError> {
    let text = event.attribute("quantity").unwrap_or_default();
    text.parse().map_err(|_| {
        EventError::malformed(format!(
            "the order's quantity must be a whole number, not {text:?}"
        ))
    })
}

/// Text as an XML attribute value.
fn escape(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '"' => escaped.push_str("&quot;"),
            c => escaped.push(c),
        }
    }
    escaped
}

/// An attribute taken from the order by XPath.
fn field(attribute: &str, expression: &str) -> compysition::Result<XPathAttributeModifier> {
    XPathAttributeModifier::new(attribute, expression)
}

/// The desk around `wsgi`, a server that is already listening.
pub fn order_desk(wsgi: HttpServer) -> compysition::Result<Topology> {
    let lanes = Router::<Lanes>::first_match()
        .route(Lanes::express, Filter::xpath("/order[@priority='high']")?)
        .route(
            Lanes::bulk,
            Filter::xpath("/order[number(quantity) > 100]")?,
        )
        .otherwise(Lanes::standard);
    let retries =
        RetryPolicy::attempts(3).backoff(Duration::from_millis(10), Duration::from_millis(100));
    Ok(topology! {
        wsgi     = wsgi;
        desk     = Router::<Desks>::by_service();
        route_id = field("order_id", "string(/order/@id)")?.required(true);
        lanes    = lanes;
        express  = SetAttribute::<Xml>::new("lane", "express");
        bulk     = SetAttribute::<Xml>::new("lane", "bulk");
        standard = SetAttribute::<Xml>::new("lane", "standard");
        routed   = routed;
        quote_id = field("order_id", "string(/order/@id)")?.required(true);
        quantity = field("quantity", "string(/order/quantity)")?;
        item     = field("item", "string(/order/item)")?;
        priority = field("priority", "string(/order/@priority)")?;
        price    = price.retry(retries);
        stock    = stock;
        shipping = shipping;
        join     = Join::<QuotePartsInboxes, Xml>::xml("quote")?.timeout(QUOTE_TIMEOUT);
        quote    = stamp_quote;

        wsgi -> desk;
        desk.route -> route_id -> lanes;
        lanes.express -> express -> routed;
        lanes.bulk -> bulk -> routed;
        lanes.standard -> standard -> routed;
        routed -> wsgi;

        desk.quote -> quote_id -> quantity -> item -> priority -> [price, stock, shipping];
        price -> join.price;
        stock -> join.in_stock;
        shipping -> join.days;
        join -> quote -> wsgi;
    })
}

#[tokio::main]
async fn main() -> compysition::Result<()> {
    tracing_subscriber::fmt().with_target(false).init();
    let addr = std::env::var("COMPYSITION_ADDR").unwrap_or_else(|_| "127.0.0.1:7000".to_string());
    let wsgi = HttpServer::bind(&addr)?;
    println!("POST orders to http://{addr}/route and http://{addr}/quote; Ctrl-C stops");
    order_desk(wsgi)?.run_until_signal().await
}
