//! The router and the enrichers in a topology: routes declared with `routes!` and wired by name
//! in `topology!`, XPath and JSON rules, `otherwise`, unmatched events on the error edge as not
//! found, and attributes and templates on the way.

mod support;

use compysition::actors::Router;
use compysition::prelude::*;
use compysition::routing::Filter;
use compysition::ErrorKind;
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
