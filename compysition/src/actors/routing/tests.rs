//! The router's modes, run on wired outboxes outside a topology: which route each event takes,
//! what reaches the error outbox, and what the counters say.

use tokio::sync::mpsc;

use super::{Filter, Router};
use crate::actor::{Actor, Context};
use crate::error::ErrorKind;
use crate::event::Event;
use crate::payload::{AnyPayload, ErrorEvent, Payload};
use crate::port::{Inbox, Outbox};

compysition_macros::routes! {
    /// The lanes of the tests.
    pub(crate) Lanes: String { express, bulk, standard }
}

/// What came out of one run: the payloads on each lane, in order, and the error events.
struct Outcome<T> {
    lanes: Vec<Vec<T>>,
    errors: Vec<ErrorEvent>,
}

/// An outbox feeding a fresh channel (`None`: left unconnected).
fn wired<T: Payload>(connected: bool) -> (Outbox<T>, Option<mpsc::Receiver<Event<T>>>) {
    let mut outbox = Outbox::new("test".into());
    if !connected {
        return (outbox, None);
    }
    let (sender, receiver) = mpsc::channel(64);
    outbox.push_direct(sender, "lane".into());
    (outbox, Some(receiver))
}

fn drain<T>(receiver: Option<mpsc::Receiver<Event<T>>>) -> Vec<T> {
    let mut out = Vec::new();
    if let Some(mut receiver) = receiver {
        while let Ok(event) = receiver.try_recv() {
            out.push(event.data);
        }
    }
    out
}

/// Runs `router` on `events` until its inbox closes.
async fn run<A, T>(router: A, outboxes: A::Outboxes, events: Vec<Event<T>>) -> Vec<ErrorEvent>
where
    A: Actor<Inboxes = Inbox<T>>,
    T: Payload,
{
    let (errors, mut error_receiver) = wired::<AnyPayload>(true);
    let (ctx, _stop) = Context::detached("router", errors);
    let (sender, receiver) = mpsc::channel(64);
    for event in events {
        sender.try_send(event).expect("room for every test event");
    }
    drop(sender);
    router.run(ctx, Inbox::new(receiver), outboxes).await;
    let mut out = Vec::new();
    if let Some(receiver) = &mut error_receiver {
        while let Ok(event) = receiver.try_recv() {
            out.push(event);
        }
    }
    out
}

async fn route(router: Router<Lanes>, connected: [bool; 3], events: &[&str]) -> Outcome<String> {
    let (express, express_rx) = wired(connected[0]);
    let (bulk, bulk_rx) = wired(connected[1]);
    let (standard, standard_rx) = wired(connected[2]);
    let lanes = Lanes {
        express,
        bulk,
        standard,
    };
    let events = events
        .iter()
        .map(|text| {
            let (service, data) = text.split_once(' ').unwrap_or((text, ""));
            Event::new(data.to_string()).with_service(service)
        })
        .collect();
    let errors = run(router, lanes, events).await;
    Outcome {
        lanes: vec![drain(express_rx), drain(bulk_rx), drain(standard_rx)],
        errors,
    }
}

const ALL: [bool; 3] = [true, true, true];

fn lanes_router(router: Router<Lanes>) -> crate::Result<Router<Lanes>> {
    Ok(router
        .route(Lanes::express, Filter::payload("fast")?)
        .route(Lanes::bulk, Filter::payload("many")?))
}

#[tokio::test]
async fn first_match_takes_the_first_rule_that_matches() -> crate::Result<()> {
    let router = lanes_router(Router::first_match())?.otherwise(Lanes::standard);
    let stats = router.stats();
    let out = route(router, ALL, &["s fast", "s many", "s fast many", "s other"]).await;
    assert_eq!(out.lanes[0], ["fast", "fast many"]);
    assert_eq!(out.lanes[1], ["many"]);
    assert_eq!(out.lanes[2], ["other"]);
    assert!(out.errors.is_empty());
    assert_eq!(stats.routed(Lanes::express), 2);
    assert_eq!(stats.routed(Lanes::standard), 1);
    assert_eq!(stats.unmatched(), 0);
    Ok(())
}

#[tokio::test]
async fn every_match_copies_to_each_matching_route_once() -> crate::Result<()> {
    let router = lanes_router(Router::every_match())?
        .route(Lanes::express, Filter::payload("urgent")?)
        .otherwise(Lanes::standard);
    let stats = router.stats();
    let out = route(router, ALL, &["s fast many", "s fast urgent", "s other"]).await;
    assert_eq!(out.lanes[0], ["fast many", "fast urgent"], "one copy each");
    assert_eq!(out.lanes[1], ["fast many"]);
    assert_eq!(
        out.lanes[2],
        ["other"],
        "otherwise only when nothing matched"
    );
    assert_eq!(stats.routed(Lanes::express), 2);
    assert_eq!(stats.routed(Lanes::bulk), 1);
    Ok(())
}

#[tokio::test]
async fn an_event_that_matches_nothing_is_not_found_with_its_payload() -> crate::Result<()> {
    let router = lanes_router(Router::first_match())?;
    let stats = router.stats();
    let out = route(router, ALL, &["orders nothing here", "s fast"]).await;
    assert_eq!(out.lanes[0], ["fast"]);
    assert!(out.lanes[2].is_empty());
    assert_eq!(out.errors.len(), 1);
    let failed = &out.errors[0];
    let error = failed.error().expect("an error");
    assert_eq!(error.kind(), ErrorKind::NotFound);
    assert!(error.message().contains("no route"), "{error}");
    assert_eq!(failed.service(), Some("orders"));
    assert_eq!(
        failed.data.downcast_ref::<String>().map(String::as_str),
        Some("nothing here"),
        "the payload travels with the error"
    );
    assert_eq!(stats.unmatched(), 1);
    Ok(())
}

#[tokio::test]
async fn a_rule_whose_route_is_not_connected_is_left_out() -> crate::Result<()> {
    let router = lanes_router(Router::first_match())?.otherwise(Lanes::standard);
    let out = route(router, [false, true, true], &["s fast", "s many"]).await;
    assert_eq!(out.lanes[1], ["many"]);
    assert_eq!(out.lanes[2], ["fast"], "as if express had no rule");

    let router = lanes_router(Router::first_match())?.otherwise(Lanes::standard);
    let stats = router.stats();
    let out = route(router, [true, true, false], &["s other"]).await;
    assert_eq!(
        out.errors.len(),
        1,
        "an unconnected otherwise is no way out"
    );
    assert_eq!(stats.unmatched(), 1);
    Ok(())
}

#[tokio::test]
async fn by_service_routes_to_the_route_of_the_same_name() {
    let router = Router::<Lanes>::by_service().otherwise(Lanes::standard);
    let out = route(
        router,
        ALL,
        &["express a", "bulk b", "standard c", "expresso d", "other e"],
    )
    .await;
    assert_eq!(out.lanes[0], ["a"]);
    assert_eq!(out.lanes[1], ["b"]);
    assert_eq!(
        out.lanes[2],
        ["c", "d", "e"],
        "exact names; the rest otherwise"
    );

    let router = Router::<Lanes>::by_attribute("lane");
    let (express, express_rx) = wired(true);
    let lanes = Lanes {
        express,
        bulk: Outbox::disconnected(),
        standard: Outbox::disconnected(),
    };
    let events = vec![
        Event::new("x".to_string()).with_attribute("lane", "express"),
        Event::new("y".to_string()).with_attribute("lane", "bulk"),
    ];
    let errors = run(router, lanes, events).await;
    assert_eq!(drain(express_rx), ["x"]);
    assert_eq!(
        errors.len(),
        1,
        "bulk is not wired and there is no otherwise"
    );
}

#[cfg(feature = "xslt")]
mod xml {
    use super::*;
    use crate::pool::INLINE_UP_TO;
    use crate::xml::Xml;

    compysition_macros::routes! {
        pub(crate) Documents: Xml { orders, invoices }
    }

    async fn route_xml(router: Router<Documents>, documents: Vec<Xml>) -> Outcome<Xml> {
        let (orders, orders_rx) = wired(true);
        let (invoices, invoices_rx) = wired(true);
        let events = documents.into_iter().map(Event::new).collect();
        let errors = run(router, Documents { orders, invoices }, events).await;
        Outcome {
            lanes: vec![drain(orders_rx), drain(invoices_rx)],
            errors,
        }
    }

    fn xml(text: &str) -> Xml {
        Xml::parse(text.as_bytes()).expect("test document")
    }

    #[tokio::test]
    async fn xpath_rules_route_namespaced_documents_small_and_large() -> crate::Result<()> {
        let ns = [("o", "urn:orders")];
        let router = Router::<Documents>::first_match()
            .route(Documents::orders, Filter::xpath_with("/o:order", &ns)?)
            .route(
                Documents::invoices,
                Filter::xpath("/invoice[@total > 100]")?,
            );
        let stats = router.stats();
        // Large enough to be evaluated on the CPU pool.
        let padding = "<line/>".repeat(INLINE_UP_TO / 7 + 1);
        let large = format!("<o:order xmlns:o='urn:orders'>{padding}</o:order>");
        let documents = vec![
            xml("<order xmlns='urn:orders'/>"),
            xml(&large),
            xml("<invoice total='120'/>"),
            xml("<invoice total='80'/>"),
        ];
        let out = route_xml(router, documents).await;
        assert_eq!(out.lanes[0].len(), 2);
        assert!(out.lanes[0][1].as_bytes().len() > INLINE_UP_TO);
        assert_eq!(out.lanes[1].len(), 1);
        assert_eq!(out.errors.len(), 1, "the small invoice matches nothing");
        assert_eq!(stats.unmatched(), 1);
        Ok(())
    }

    #[tokio::test]
    async fn a_filter_that_fails_sends_the_event_to_the_error_outbox() -> crate::Result<()> {
        // `x` is bound to no namespace: libxml2 cannot evaluate the expression.
        let router = Router::<Documents>::every_match()
            .route(Documents::orders, Filter::xpath("/x:order")?)
            .otherwise(Documents::invoices);
        let stats = router.stats();
        let out = route_xml(router, vec![xml("<order/>")]).await;
        assert!(
            out.lanes.iter().all(Vec::is_empty),
            "not routed otherwise either"
        );
        let error = out.errors[0].error().expect("an error");
        assert_eq!(error.kind(), ErrorKind::Malformed);
        assert!(error.message().contains("/x:order"), "{error}");
        assert_eq!(stats.failed(), 1);
        Ok(())
    }
}
