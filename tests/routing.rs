//! The router and the enrichers in a topology: routes declared with `routes!` and wired by name
//! in `topology!`, XPath and JSON rules, `otherwise`, unmatched events on the error edge as not
//! found, and attributes, templates and statuses on the way (the last over a real socket).

mod http_client;
mod support;

use std::net::SocketAddr;

use compysition::actors::{
    HttpServer, MapAttribute, Router, SetAttribute, SetHttpStatus, Template,
};
use compysition::http::Route;
use compysition::prelude::*;
use compysition::routing::Filter;
use compysition::ErrorKind;
use compysition::RunningTopology;
use http::{Method, StatusCode};
use serde_json::json;
use support::{collect, feed};

routes! {
    /// Where an order goes.
    pub OrderLanes: Xml { express, bulk, standard }
}

routes! {
    pub Payments: Json { card, invoice }
}

fn order(text: &str) -> Event<Xml> {
    Event::new(Xml::parse(text.as_bytes()).expect("test document"))
}

#[tokio::test]
async fn xml_orders_take_the_lane_their_content_picks() -> Result<(), Box<dyn std::error::Error>> {
    let ns = [("o", "urn:orders")];
    let router = Router::<OrderLanes>::first_match()
        .route(
            OrderLanes::express,
            Filter::xpath_with("/o:order[@priority = 'high']", &ns)?,
        )
        .route(
            OrderLanes::bulk,
            Filter::xpath_with("sum(/o:order/o:item/@quantity) >= 100", &ns)?,
        )
        .otherwise(OrderLanes::standard);
    let stats = router.stats();
    let (source, orders) = feed(8);
    let (fast, mut fast_out) = collect::<Xml>();
    let (trucks, mut trucks_out) = collect::<Xml>();
    let (regular, mut regular_out) = collect::<Xml>();

    let topology = topology! {
        orders  = source;
        router  = router;
        fast    = fast;
        trucks  = trucks;
        regular = regular;

        orders -> router;
        router.express -> fast;
        router.bulk -> trucks;
        router.standard -> regular;
    };
    let running = tokio::spawn(topology.run());
    let documents = [
        "<order xmlns='urn:orders' id='1' priority='high'><item quantity='500'/></order>",
        "<order xmlns='urn:orders' id='2'><item quantity='60'/><item quantity='40'/></order>",
        "<order xmlns='urn:orders' id='3'><item quantity='2'/></order>",
        "<order id='4' priority='high'/>",
    ];
    for document in documents {
        orders.send(order(document)).await?;
    }
    drop(orders);
    running.await??;

    let ids = |events: Vec<Event<Xml>>| -> Vec<String> {
        events
            .iter()
            .map(|e| {
                let text = e.data.as_str();
                let start = text.find("id='").map_or(0, |at| at + 4);
                text[start..start + 1].to_string()
            })
            .collect()
    };
    assert_eq!(ids(fast_out.events().await), ["1"]);
    assert_eq!(ids(trucks_out.events().await), ["2"]);
    assert_eq!(
        ids(regular_out.events().await),
        ["3", "4"],
        "4 is in no namespace"
    );
    assert_eq!(stats.routed(OrderLanes::standard), 2);
    assert_eq!(stats.unmatched(), 0);
    Ok(())
}

#[tokio::test]
async fn json_payments_without_a_route_reach_the_error_edge_as_not_found(
) -> Result<(), Box<dyn std::error::Error>> {
    let router = Router::<Payments>::every_match()
        .route(Payments::card, Filter::json("$.method")?.equals("card"))
        .route(
            Payments::invoice,
            Filter::json("/total")?
                .greater_than(1000.0)
                .or(Filter::attribute_is("customer", "b2b")),
        );
    let stats = router.stats();
    let (source, payments) = feed(8);
    let (cards, mut cards_out) = collect::<Json>();
    let (invoices, mut invoices_out) = collect::<Json>();
    let (errors, mut errors_out) = collect::<Json>();

    let topology = topology! {
        payments = source;
        router   = router;
        cards    = cards;
        invoices = invoices;
        errors   = errors;

        payments -> router;
        router.card -> cards;
        router.invoice -> invoices;
        router !-> errors;
    };
    let running = tokio::spawn(topology.run());
    let events = [
        Event::new(Json::new(json!({"id": 1, "method": "card", "total": 5000}))),
        Event::new(Json::new(json!({"id": 2, "method": "card", "total": 10}))),
        Event::new(Json::new(json!({"id": 3, "method": "cash", "total": 10})))
            .with_attribute("customer", "b2b"),
        Event::new(Json::new(json!({"id": 4, "method": "cash", "total": 10}))),
    ];
    for event in events {
        payments.send(event).await?;
    }
    drop(payments);
    running.await??;

    let ids = |events: Vec<Event<Json>>| -> Vec<i64> {
        events
            .iter()
            .filter_map(|e| e.data["id"].as_i64())
            .collect()
    };
    assert_eq!(ids(cards_out.events().await), [1, 2]);
    assert_eq!(
        ids(invoices_out.events().await),
        [1, 3],
        "1 is copied to both"
    );
    let failed = errors_out.error_events().await;
    assert_eq!(failed.len(), 1);
    let error = failed[0].error().expect("an error");
    assert_eq!(error.kind(), ErrorKind::NotFound);
    assert_eq!(
        failed[0]
            .data
            .downcast_ref::<Json>()
            .and_then(|j| j["id"].as_i64()),
        Some(4),
        "the unmatched payment itself is on the error edge"
    );
    assert_eq!(stats.unmatched(), 1);
    Ok(())
}

routes! {
    pub Regions: String { eu, na }
}

/// `/orders/{country}/{order_id}`: the country's region picks the lane, the answer is made
/// from attributes and sent `202`; a country with no entry, or a region with no route, is an
/// error answered by the server.
fn start_orders_desk() -> Result<(SocketAddr, RunningTopology), Box<dyn std::error::Error>> {
    let server = HttpServer::bind("127.0.0.1:0")?
        .route(Route::new("/orders/{country}/{order_id}").methods([Method::GET]));
    let addr = server.local_addr().ok_or("the server is bound")?;
    let table = [("NL", "eu"), ("DE", "eu"), ("US", "na"), ("JP", "apac")];
    let topology = topology! {
        wsgi    = server;
        region  = MapAttribute::<String>::new("country", "region", table);
        router  = Router::<Regions>::by_attribute("region");
        eu_lane = SetAttribute::<String>::new("lane", "express");
        na_lane = SetAttribute::<String>::new("lane", "standard");
        answer  = Template::<String>::new("{order_id} is {lane}")?;
        status  = SetHttpStatus::<String>::constant(StatusCode::ACCEPTED);

        wsgi -> region -> router;
        router.eu -> eu_lane -> answer;
        router.na -> na_lane -> answer;
        answer -> status -> wsgi;
        region !-> wsgi;
        router !-> wsgi;
    };
    Ok((addr, topology.start()?))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_http_request_is_enriched_routed_templated_and_answered_with_its_status(
) -> Result<(), Box<dyn std::error::Error>> {
    let (addr, running) = start_orders_desk()?;
    let reply = http_client::get(addr, "/orders/NL/42", &[]).await;
    assert_eq!(reply.status, 202);
    assert_eq!(reply.text(), "42 is express");
    let reply = http_client::get(addr, "/orders/US/7", &[]).await;
    assert_eq!(reply.status, 202);
    assert_eq!(reply.text(), "7 is standard");
    let reply = http_client::get(addr, "/orders/FR/1", &[]).await;
    assert_eq!(reply.status, 422, "no entry for FR: {}", reply.text());
    let reply = http_client::get(addr, "/orders/JP/1", &[]).await;
    assert_eq!(reply.status, 404, "no route for apac: {}", reply.text());
    running.stop().await?;
    Ok(())
}
