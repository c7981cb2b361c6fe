//! The XML/JSON actors inside real topologies: `Xslt` (including many concurrent transforms of
//! one stylesheet), `Xsd`, `JsonSchema`, the conversions and the attribute modifiers.

use std::sync::Arc;

use compysition::actors::{
    JsonPathAttributeModifier, JsonSchema, JsonToXml, XPathAttributeModifier, XmlToJson, Xsd, Xslt,
};
use compysition::prelude::*;
use compysition::xml::{Stylesheet, TransformOptions};
use compysition::{Bytes, Convert, Payload, Xml};
use serde_json::json;

mod support;

/// What came out of a one-actor flow.
struct Outcome<T> {
    events: Vec<Event<T>>,
    errors: Vec<ErrorEvent>,
}

/// Runs `feed -> actor -> collect` (errors of the actor to `collect` too) until it drains. The
/// feed may send another payload than the actor takes: the edge converts.
async fn run_through<Fed, In, Out, A>(actor: A, inputs: Vec<Event<Fed>>) -> Outcome<Out>
where
    Fed: Payload + Clone + Convert<In>,
    In: Payload,
    Out: Payload + Clone,
    A: Actor<Inboxes = Inbox<In>, Outboxes = Outbox<Out>>,
{
    let (feed, sender) = support::feed(inputs.len().max(1));
    let (collect, mut collected) = support::collect();
    let mut director = Director::new();
    let feed = director.register_actor("feed", feed);
    let actor = director.register_actor("actor", actor);
    let collect = director.register_actor("collect", collect);
    director.connect_queue(&feed, &actor);
    director.connect_queue(&actor, &collect);
    director.connect_error_queue(&actor, &collect);
    director.start().expect("valid topology");
    for event in inputs {
        sender.send(event).await.expect("the feed is running");
    }
    // The feed finishes once its sender is gone, and the flow drains behind it.
    drop(sender);
    director.wait().await.expect("drains");
    Outcome {
        events: collected.events().await,
        errors: collected.error_events().await,
    }
}

fn xml(text: &str) -> Xml {
    Xml::parse(text.as_bytes()).expect("well-formed")
}

const ACK: &str = r#"<xsl:stylesheet version="1.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform">
  <xsl:output omit-xml-declaration="yes"/>
  <xsl:param name="status" select="'unset'"/>
  <xsl:template match="/order">
    <xsl:if test="not(line)"><xsl:message terminate="yes">order <xsl:value-of select="@id"/> has no lines</xsl:message></xsl:if>
    <ack id="{@id}" status="{$status}" lines="{count(line)}"/>
  </xsl:template>
</xsl:stylesheet>"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn xslt_transforms_events_and_keeps_their_envelopes() {
    let actor = Xslt::compile(ACK)
        .expect("compiles")
        .param("status", "accepted")
        .expect("valid parameter");
    let mut input = Event::new(xml("<order id='7'><line/><line/></order>")).with_service("orders");
    input.set_meta_id("request-1");
    let id = input.id();
    let outcome = run_through(actor, vec![input]).await;
    assert!(outcome.errors.is_empty());
    let [event] = &outcome.events[..] else {
        panic!("one event expected, got {}", outcome.events.len());
    };
    assert_eq!(
        event.data.as_str(),
        "<ack id=\"7\" status=\"accepted\" lines=\"2\"/>\n"
    );
    assert_eq!(event.id(), id);
    assert_eq!(event.meta_id(), "request-1");
    assert_eq!(event.service(), Some("orders"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_terminating_transform_sends_a_400_with_the_message_to_the_error_outbox() {
    let actor = Xslt::compile(ACK).expect("compiles");
    let input = Event::new(xml("<order id='9'/>"));
    let id = input.id();
    let outcome = run_through(actor, vec![input]).await;
    assert!(outcome.events.is_empty());
    let [failed] = &outcome.errors[..] else {
        panic!("one error expected, got {}", outcome.errors.len());
    };
    let error = failed.error().expect("carries its error");
    assert_eq!(failed.id(), id);
    assert_eq!(error.kind(), compysition::ErrorKind::Malformed);
    assert!(error.message().contains("order 9 has no lines"), "{error}");
    assert_eq!(error.actor(), Some("actor"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn text_output_is_emitted_as_text() {
    let xsl = r#"<xsl:stylesheet version="1.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform">
      <xsl:output method="text"/>
      <xsl:template match="/"><xsl:for-each select="//i"><xsl:value-of select="."/>;</xsl:for-each></xsl:template>
    </xsl:stylesheet>"#;
    let outcome = run_through(
        Xslt::compile_text(xsl).expect("compiles"),
        vec![Event::new(xml("<r><i>a</i><i>b</i></r>"))],
    )
    .await;
    assert_eq!(outcome.events[0].data, "a;b;");
}

#[test]
fn a_text_stylesheet_cannot_emit_xml() {
    let xsl = r#"<xsl:stylesheet version="1.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform">
      <xsl:output method="text"/><xsl:template match="/">x</xsl:template>
    </xsl:stylesheet>"#;
    let error = Xslt::compile(xsl).expect_err("text results are not Xml");
    assert!(error.to_string().contains("Xslt::compile_text"), "{error}");
    assert!(Xslt::compile_bytes(xsl).is_ok());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fragment_result_is_a_500_for_an_xml_emitting_actor() {
    let xsl = r#"<xsl:stylesheet version="1.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform">
      <xsl:template match="/"><a/><b/></xsl:template>
    </xsl:stylesheet>"#;
    let outcome = run_through(
        Xslt::compile(xsl).expect("compiles"),
        vec![Event::new(xml("<r/>"))],
    )
    .await;
    let error = outcome.errors[0].error().expect("carries its error");
    assert_eq!(error.kind(), compysition::ErrorKind::Internal);
    assert!(error.message().contains("several root elements"), "{error}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_text_on_an_edge_into_xslt_is_a_400_from_xslt() {
    // The feed sends text; the edge parses it into Xml for the Xslt inbox.
    let outcome = run_through(
        Xslt::compile(ACK).expect("compiles"),
        vec![
            Event::new("<order id='1'><line/></order>".to_string()),
            Event::new("<order id='2'><line></order>".to_string()),
        ],
    )
    .await;
    let [event] = &outcome.events[..] else {
        panic!("the well-formed order only, got {}", outcome.events.len());
    };
    assert!(event.data.as_str().contains("id=\"1\""));
    let error = outcome.errors[0].error().expect("carries its error");
    assert_eq!(error.kind(), compysition::ErrorKind::Malformed);
    assert!(error.message().contains("line 1, column 21"), "{error}");
}

/// A stylesheet with keys, sorting, variables, EXSLT and messages: enough shared state for
/// concurrent misuse to show.
const REPORT: &str = r#"<xsl:stylesheet version="1.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform"
    xmlns:str="http://exslt.org/strings" xmlns:math="http://exslt.org/math"
    extension-element-prefixes="str math">
  <xsl:output indent="yes"/>
  <xsl:key name="by-kind" match="item" use="@kind"/>
  <xsl:template match="/items">
    <xsl:message>report of <xsl:value-of select="count(item)"/></xsl:message>
    <report max="{math:max(item/@n)}">
      <xsl:for-each select="item[generate-id() = generate-id(key('by-kind', @kind)[1])]">
        <xsl:sort select="@kind" order="descending"/>
        <xsl:variable name="kind" select="@kind"/>
        <kind name="{str:padding(2, '-')}{$kind}" total="{sum(key('by-kind', $kind)/@n)}"/>
      </xsl:for-each>
    </report>
  </xsl:template>
</xsl:stylesheet>"#;

fn report_input(seed: usize) -> String {
    let mut items = String::from("<items>");
    for i in 0..50 {
        items.push_str(&format!(
            "<item kind='k{}' n='{}'/>",
            (i * 7 + seed) % 5,
            (i * 13 + seed) % 97
        ));
    }
    items.push_str("</items>");
    items
}

#[test]
fn concurrent_transforms_on_threads_match_sequential_ones() {
    let stylesheet = Arc::new(Stylesheet::compile(REPORT).expect("compiles"));
    let options = Arc::new(TransformOptions::new());
    let inputs: Vec<String> = (0..8).map(report_input).collect();
    let expected: Vec<(Bytes, String)> = inputs
        .iter()
        .map(|input| {
            let result = stylesheet
                .transform(input.as_bytes(), &options)
                .expect("transforms");
            (result.output().clone(), result.messages().to_string())
        })
        .collect();
    let expected = Arc::new(expected);
    let inputs = Arc::new(inputs);
    let workers: Vec<_> = (0..6)
        .map(|worker| {
            let (stylesheet, options) = (Arc::clone(&stylesheet), Arc::clone(&options));
            let (inputs, expected) = (Arc::clone(&inputs), Arc::clone(&expected));
            std::thread::spawn(move || {
                for round in 0..150 {
                    let which = (worker + round) % inputs.len();
                    let result = stylesheet
                        .transform(inputs[which].as_bytes(), &options)
                        .expect("transforms");
                    assert_eq!(result.output(), &expected[which].0, "input {which}");
                    // Each transform sees its own messages, never another's.
                    assert_eq!(result.messages(), expected[which].1, "input {which}");
                }
            })
        })
        .collect();
    for worker in workers {
        worker.join().expect("worker finished without a mismatch");
    }
}

#[test]
fn concurrent_compiles_each_report_their_own_errors() {
    // libxslt reports compile errors through one process-wide callback; each thread must still
    // get exactly its own stylesheet's messages.
    let workers: Vec<_> = (0..4)
        .map(|worker| {
            std::thread::spawn(move || {
                for round in 0..50 {
                    let broken = format!(
                        r#"<xsl:stylesheet version="1.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform">
                             <xsl:template match="/"><xsl:value-of select="broken{worker}x{round}(("/></xsl:template>
                           </xsl:stylesheet>"#
                    );
                    let error = Stylesheet::compile(&broken).expect_err("broken XPath").to_string();
                    let mine = format!("broken{worker}x{round}((");
                    assert!(error.contains(&mine), "{error}");
                    assert_eq!(error.matches("broken").count(), 1, "{error}");
                }
            })
        })
        .collect();
    for worker in workers {
        worker
            .join()
            .expect("each compile saw only its own messages");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_transforms_through_the_actor_give_identical_results() {
    let actor = Xslt::compile(REPORT).expect("compiles");
    let expected: Vec<Xml> = (0..4)
        .map(|seed| {
            actor
                .transform(&xml(&report_input(seed)))
                .expect("transforms")
        })
        .collect();
    let inputs: Vec<Event<Xml>> = (0..400)
        .map(|i| Event::new(xml(&report_input(i % 4))).with_attribute("seed", (i % 4).to_string()))
        .collect();
    let outcome = run_through(actor.with_concurrency(16), inputs).await;
    assert!(outcome.errors.is_empty());
    assert_eq!(outcome.events.len(), 400);
    for event in &outcome.events {
        let seed: usize = event
            .attribute("seed")
            .and_then(|s| s.parse().ok())
            .expect("seed");
        assert_eq!(event.data, expected[seed]);
    }
}

const ORDER_XSD: &str = r#"<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema">
  <xs:element name="order"><xs:complexType>
    <xs:sequence><xs:element name="qty" type="xs:positiveInteger" maxOccurs="unbounded"/></xs:sequence>
  </xs:complexType></xs:element>
</xs:schema>"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn xsd_passes_valid_documents_and_rejects_invalid_ones_with_every_error() {
    let outcome = run_through(
        Xsd::compile(ORDER_XSD).expect("compiles"),
        vec![
            Event::new(xml("<order><qty>1</qty></order>")),
            Event::new(xml("<order>\n<qty>0</qty>\n<qty>-1</qty>\n</order>")),
        ],
    )
    .await;
    assert_eq!(outcome.events.len(), 1);
    assert_eq!(
        outcome.events[0].data.as_str(),
        "<order><qty>1</qty></order>"
    );
    let error = outcome.errors[0].error().expect("carries its error");
    assert_eq!(error.kind(), compysition::ErrorKind::Unprocessable);
    assert!(
        error.message().contains("line 2") && error.message().contains("line 3"),
        "{error}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_schema_rejects_with_paths() {
    let schema = JsonSchema::new(&json!({"type": "object", "properties": {"qty": {"minimum": 1}}}))
        .expect("compiles");
    let outcome = run_through(
        schema,
        vec![
            Event::new(Json::new(json!({"qty": 2}))),
            Event::new(Json::new(json!({"qty": 0}))),
        ],
    )
    .await;
    assert_eq!(outcome.events.len(), 1);
    let error = outcome.errors[0].error().expect("carries its error");
    assert!(
        error
            .message()
            .ends_with("/qty: 0 is less than the minimum of 1"),
        "{error}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conversion_actors_follow_the_convention() {
    let to_json = run_through(
        XmlToJson::new(),
        vec![Event::new(xml("<a x='1'><b>2</b></a>"))],
    )
    .await;
    assert_eq!(*to_json.events[0].data, json!({"a": {"@x": "1", "b": "2"}}));
    let to_xml = run_through(
        JsonToXml::new(),
        vec![
            Event::new(Json::new(json!({"errors": ["a", "b"]}))),
            Event::new(Json::new(json!({"a b": 1}))),
        ],
    )
    .await;
    assert_eq!(
        to_xml.events[0].data.as_str(),
        "<jsonified_envelope><errors>a</errors><errors>b</errors></jsonified_envelope>"
    );
    assert_eq!(
        to_xml.errors[0].error().map(|e| e.kind()),
        Some(compysition::ErrorKind::Malformed)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn modifiers_set_attributes_from_the_data() {
    let xpath = XPathAttributeModifier::new("order_id", "/order/@id").expect("compiles");
    let outcome = run_through(xpath, vec![Event::new(xml("<order id='42'/>"))]).await;
    assert_eq!(outcome.events[0].attribute("order_id"), Some("42"));

    let json_path = JsonPathAttributeModifier::new("sku", "$.items[0].sku")
        .expect("parses")
        .required(true);
    let outcome = run_through(
        json_path,
        vec![
            Event::new(Json::new(json!({"items": [{"sku": "A1"}]}))),
            Event::new(Json::new(json!({"items": []}))),
        ],
    )
    .await;
    assert_eq!(outcome.events[0].attribute("sku"), Some("A1"));
    assert_eq!(
        outcome.errors[0].error().map(|e| e.kind()),
        Some(compysition::ErrorKind::Malformed)
    );
}

/// Elements nested `levels` deep by a recursive template: the template depth limit (1000) lets
/// it recurse well past the nesting an `Xml` may have (256).
fn nesting(levels: usize) -> String {
    format!(
        r#"<xsl:stylesheet version="1.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform">
      <xsl:output omit-xml-declaration="yes"/>
      <xsl:template match="/">
        <xsl:call-template name="nest"><xsl:with-param name="n" select="{levels}"/></xsl:call-template>
      </xsl:template>
      <xsl:template name="nest">
        <xsl:param name="n"/>
        <d><xsl:if test="$n &gt; 1">
          <xsl:call-template name="nest"><xsl:with-param name="n" select="$n - 1"/></xsl:call-template>
        </xsl:if></d>
      </xsl:template>
    </xsl:stylesheet>"#
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_result_nested_deeper_than_xml_allows_is_a_500_naming_the_stylesheet() {
    let deep = Xslt::compile(nesting(300)).expect("compiles");
    let outcome = run_through(deep, vec![Event::new(xml("<r/>"))]).await;
    assert!(outcome.events.is_empty());
    let [failed] = &outcome.errors[..] else {
        panic!("one error expected, got {}", outcome.errors.len());
    };
    let error = failed.error().expect("carries its error");
    assert_eq!(error.kind(), compysition::ErrorKind::Internal, "{error}");
    assert!(error.message().contains("stylesheet's output"), "{error}");
    assert!(error.message().contains("deeper than 256"), "{error}");

    // At the limit the result is an ordinary Xml.
    let fits = Xslt::compile(nesting(256)).expect("compiles");
    let outcome = run_through(fits, vec![Event::new(xml("<r/>"))]).await;
    assert!(outcome.errors.is_empty());
    let expected = format!("{}<d/>{}", "<d>".repeat(255), "</d>".repeat(255));
    assert_eq!(outcome.events[0].data.as_str().trim_end(), expected);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_parameter_with_a_control_character_in_an_xml_result_is_a_500() {
    let xsl = r#"<xsl:stylesheet version="1.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform">
      <xsl:output omit-xml-declaration="yes"/>
      <xsl:param name="note"/>
      <xsl:template match="/"><ack note="{$note}"><xsl:value-of select="$note"/></ack></xsl:template>
    </xsl:stylesheet>"#;
    let actor = Xslt::compile(xsl)
        .expect("compiles")
        .param("note", "bell\u{7}")
        .expect("a parameter may hold any character but NUL");
    let direct = actor
        .transform(&xml("<r/>"))
        .expect_err("the result holds a character XML does not allow");
    assert_eq!(direct.kind(), compysition::ErrorKind::Internal, "{direct}");
    assert!(direct.message().contains("stylesheet's output"), "{direct}");

    let outcome = run_through(actor, vec![Event::new(xml("<r/>"))]).await;
    assert!(outcome.events.is_empty());
    let error = outcome.errors[0].error().expect("carries its error");
    assert_eq!(error.kind(), compysition::ErrorKind::Internal, "{error}");
    assert!(error.message().contains("stylesheet's output"), "{error}");
    assert!(error.message().contains("line 1"), "{error}");

    // Text output has no such rule: the character comes through.
    let text_xsl = xsl.replace(
        "<xsl:output omit-xml-declaration=\"yes\"/>",
        "<xsl:output method=\"text\"/>",
    );
    let text = Xslt::compile_text(text_xsl)
        .expect("compiles")
        .param("note", "bell\u{7}")
        .expect("valid");
    assert_eq!(
        text.transform(&xml("<r/>")).expect("transforms"),
        "bell\u{7}"
    );
}
