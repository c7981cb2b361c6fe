//! Filters: the predicates a [`Router`](crate::actors::Router)'s rules test events with — the
//! Python project's `EventFilter` (a regex on the payload, an attribute or the service),
//! `EventXPathFilter` (an XPath 1.0 predicate on `Xml`) and `EventJSONFilter` (a JSON path or
//! pointer compared on `Json`), joined with `all`, `any` and `not`.
//!
//! A filter is built once, when the router is, so a regex or an XPath that does not compile is
//! an [`Error::Compile`] then, never a failure per event. Filters are shared on clone.

use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;

use regex::bytes::Regex;
use serde_json::Value;

use crate::error::{Error, EventError};
use crate::event::Event;
use crate::json::path::JsonPath;
use crate::json::Json;
use crate::payload::{Bytes, Payload};
#[cfg(feature = "xslt")]
use crate::xml::xpath::XPath;
#[cfg(feature = "xml")]
use crate::xml::Xml;

/// A predicate on events of payload `T`.
///
/// Regexes (the `regex` crate's syntax) search: `"express"` matches any text that contains it;
/// anchor with `^…$` to match the whole. A filter on an attribute or the service that the event
/// does not have does not match.
///
/// ```
/// use compysition::routing::Filter;
/// use compysition::{Event, Json};
/// use serde_json::json;
///
/// let big = Filter::json("$.order.total")?.greater_than(100.0);
/// let vip = Filter::attribute("customer", "^vip-")?;
/// let rule = Filter::any([big, vip]).and(Filter::not(Filter::service("^test")?));
///
/// let order = Event::new(Json::new(json!({"order": {"total": 120}}))).with_service("orders");
/// assert!(rule.matches(&order)?);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct Filter<T> {
    node: Node<T>,
}

enum Node<T> {
    Test(Arc<dyn Test<T>>),
    All(Arc<[Filter<T>]>),
    Any(Arc<[Filter<T>]>),
    Not(Arc<Filter<T>>),
}

/// One test of a filter (a leaf of its tree).
trait Test<T>: Send + Sync + 'static {
    fn test(&self, event: &Event<T>) -> Result<bool, EventError>;

    /// The octets of CPU work the test costs on this event (the size of a document it parses),
    /// so that the router knows when to take the work off the async workers; 0 for tests that
    /// cost next to nothing.
    fn weight(&self, _event: &Event<T>) -> usize {
        0
    }

    fn describe(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result;
}

impl<T> Clone for Filter<T> {
    fn clone(&self) -> Self {
        let node = match &self.node {
            Node::Test(test) => Node::Test(Arc::clone(test)),
            Node::All(all) => Node::All(Arc::clone(all)),
            Node::Any(any) => Node::Any(Arc::clone(any)),
            Node::Not(not) => Node::Not(Arc::clone(not)),
        };
        Filter { node }
    }
}

fn compile_regex(pattern: &str) -> crate::Result<Regex> {
    Regex::new(pattern).map_err(|error| Error::Compile {
        what: format!("regex \"{pattern}\""),
        message: error.to_string(),
    })
}

impl<T: Payload> Filter<T> {
    fn test(test: impl Test<T>) -> Self {
        Filter {
            node: Node::Test(Arc::new(test)),
        }
    }

    /// Matches when the event's service matches `pattern`.
    pub fn service(pattern: &str) -> crate::Result<Self> {
        Ok(Self::test(ServiceMatches(compile_regex(pattern)?)))
    }

    /// Matches when the event's service is exactly `service`.
    pub fn service_is(service: &str) -> Self {
        Self::test(ServiceIs(Arc::from(service)))
    }

    /// Matches when the attribute `name` is set and matches `pattern`.
    pub fn attribute(name: &str, pattern: &str) -> crate::Result<Self> {
        Ok(Self::test(AttributeMatches {
            name: Arc::from(name),
            regex: compile_regex(pattern)?,
        }))
    }

    /// Matches when the attribute `name` is exactly `value`.
    pub fn attribute_is(name: &str, value: &str) -> Self {
        Self::test(AttributeIs {
            name: Arc::from(name),
            value: Arc::from(value),
        })
    }

    /// Matches when the payload's text matches `pattern` (the Python `EventFilter` on `data`).
    pub fn payload(pattern: &str) -> crate::Result<Self>
    where
        T: PayloadText,
    {
        Ok(Self::test(PayloadMatches {
            regex: compile_regex(pattern)?,
            text: T::text,
        }))
    }

    /// Matches when `test` returns `true`; `label` names it in the filter's `Debug` text.
    pub fn custom<F>(label: &str, test: F) -> Self
    where
        F: Fn(&Event<T>) -> bool + Send + Sync + 'static,
    {
        Self::test(Custom {
            label: Arc::from(label),
            test,
        })
    }

    /// Matches when every filter matches (and when there is none); evaluated in order, up to the
    /// first that does not.
    pub fn all(filters: impl IntoIterator<Item = Filter<T>>) -> Self {
        Filter {
            node: Node::All(filters.into_iter().collect()),
        }
    }

    /// Matches when one of the filters matches (never when there is none); evaluated in order,
    /// up to the first that does.
    pub fn any(filters: impl IntoIterator<Item = Filter<T>>) -> Self {
        Filter {
            node: Node::Any(filters.into_iter().collect()),
        }
    }

    /// Matches when `filter` does not.
    #[allow(clippy::should_implement_trait)] // `!filter` works too (`std::ops::Not`).
    pub fn not(filter: Filter<T>) -> Self {
        Filter {
            node: Node::Not(Arc::new(filter)),
        }
    }

    /// This filter and `other`.
    pub fn and(self, other: Filter<T>) -> Self {
        Self::all([self, other])
    }

    /// This filter or `other`.
    pub fn or(self, other: Filter<T>) -> Self {
        Self::any([self, other])
    }

    /// Whether the event matches. An error (an XPath that cannot be evaluated on this
    /// document, say) is the event's: the router sends it to its error outbox.
    pub fn matches(&self, event: &Event<T>) -> Result<bool, EventError> {
        match &self.node {
            Node::Test(test) => test.test(event),
            Node::All(all) => {
                for filter in all.iter() {
                    if !filter.matches(event)? {
                        return Ok(false);
                    }
                }
                Ok(true)
            }
            Node::Any(any) => {
                for filter in any.iter() {
                    if filter.matches(event)? {
                        return Ok(true);
                    }
                }
                Ok(false)
            }
            Node::Not(not) => Ok(!not.matches(event)?),
        }
    }

    /// The octets of CPU work evaluating the whole filter may cost on this event (see
    /// [`Test::weight`]).
    pub(crate) fn weight(&self, event: &Event<T>) -> usize {
        match &self.node {
            Node::Test(test) => test.weight(event),
            Node::All(filters) | Node::Any(filters) => filters
                .iter()
                .map(|filter| filter.weight(event))
                .fold(0, usize::saturating_add),
            Node::Not(not) => not.weight(event),
        }
    }
}

impl<T: Payload> std::ops::Not for Filter<T> {
    type Output = Filter<T>;

    fn not(self) -> Filter<T> {
        Filter::not(self)
    }
}

impl<T: 'static> fmt::Debug for Filter<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let list = |f: &mut fmt::Formatter<'_>, name: &str, filters: &[Filter<T>]| {
            write!(f, "{name}(")?;
            for (i, filter) in filters.iter().enumerate() {
                if i > 0 {
                    f.write_str(", ")?;
                }
                fmt::Debug::fmt(filter, f)?;
            }
            f.write_str(")")
        };
        match &self.node {
            Node::Test(test) => test.describe(f),
            Node::All(all) => list(f, "all", all),
            Node::Any(any) => list(f, "any", any),
            Node::Not(not) => write!(f, "not({not:?})"),
        }
    }
}

/// Payloads whose text a regex filter ([`Filter::payload`]) searches.
pub trait PayloadText: Payload {
    /// The payload as text (UTF-8 expected; other octets simply do not match a pattern's
    /// characters).
    fn text(&self) -> Cow<'_, [u8]>;
}

impl PayloadText for String {
    fn text(&self) -> Cow<'_, [u8]> {
        Cow::Borrowed(self.as_bytes())
    }
}

impl PayloadText for Bytes {
    fn text(&self) -> Cow<'_, [u8]> {
        Cow::Borrowed(self)
    }
}

/// The compact JSON text.
impl PayloadText for Json {
    fn text(&self) -> Cow<'_, [u8]> {
        Cow::Owned(self.to_bytes().to_vec())
    }
}

/// The document as it arrived.
#[cfg(feature = "xml")]
impl PayloadText for Xml {
    fn text(&self) -> Cow<'_, [u8]> {
        Cow::Borrowed(self.as_bytes())
    }
}

/// The body as it came or will go: text, bytes or a document's own text; JSON compact.
#[cfg(feature = "http")]
impl PayloadText for crate::http::Body {
    fn text(&self) -> Cow<'_, [u8]> {
        use crate::http::Body;
        match self {
            Body::Text(text) => Cow::Borrowed(text.as_bytes()),
            Body::Bytes(bytes) => Cow::Borrowed(bytes),
            Body::Unparsed(unparsed) => Cow::Borrowed(unparsed.bytes()),
            Body::Xml(xml) => Cow::Borrowed(xml.as_bytes()),
            Body::Json(_) | Body::Empty => Cow::Owned(self.to_bytes().to_vec()),
        }
    }
}

struct ServiceMatches(Regex);

impl<T: Payload> Test<T> for ServiceMatches {
    fn test(&self, event: &Event<T>) -> Result<bool, EventError> {
        Ok(event
            .service()
            .is_some_and(|service| self.0.is_match(service.as_bytes())))
    }

    fn describe(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "service ~ /{}/", self.0.as_str())
    }
}

struct ServiceIs(Arc<str>);

impl<T: Payload> Test<T> for ServiceIs {
    fn test(&self, event: &Event<T>) -> Result<bool, EventError> {
        Ok(event.service() == Some(&*self.0))
    }

    fn describe(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "service == {:?}", self.0)
    }
}

struct AttributeMatches {
    name: Arc<str>,
    regex: Regex,
}

impl<T: Payload> Test<T> for AttributeMatches {
    fn test(&self, event: &Event<T>) -> Result<bool, EventError> {
        Ok(event
            .attribute(&self.name)
            .is_some_and(|value| self.regex.is_match(value.as_bytes())))
    }

    fn describe(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "attribute {:?} ~ /{}/", self.name, self.regex.as_str())
    }
}

struct AttributeIs {
    name: Arc<str>,
    value: Arc<str>,
}

impl<T: Payload> Test<T> for AttributeIs {
    fn test(&self, event: &Event<T>) -> Result<bool, EventError> {
        Ok(event.attribute(&self.name) == Some(&*self.value))
    }

    fn describe(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "attribute {:?} == {:?}", self.name, self.value)
    }
}

struct PayloadMatches<T> {
    regex: Regex,
    text: fn(&T) -> Cow<'_, [u8]>,
}

impl<T: Payload> Test<T> for PayloadMatches<T> {
    fn test(&self, event: &Event<T>) -> Result<bool, EventError> {
        Ok(self.regex.is_match(&(self.text)(&event.data)))
    }

    fn describe(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "payload ~ /{}/", self.regex.as_str())
    }
}

struct Custom<F> {
    label: Arc<str>,
    test: F,
}

impl<T: Payload, F> Test<T> for Custom<F>
where
    F: Fn(&Event<T>) -> bool + Send + Sync + 'static,
{
    fn test(&self, event: &Event<T>) -> Result<bool, EventError> {
        Ok((self.test)(event))
    }

    fn describe(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "custom({})", self.label)
    }
}

#[cfg(feature = "xslt")]
impl Filter<Xml> {
    /// Matches when the XPath 1.0 `expression` holds on the document by XPath's `boolean()`:
    /// it selects a node (`/order/express`), or compares true (`/order/@total > 100`,
    /// `starts-with(/order/@id, 'A')`). Evaluated by libxml2, without network access.
    pub fn xpath(expression: &str) -> crate::Result<Self> {
        Self::xpath_with(expression, &[])
    }

    /// [`xpath`](Self::xpath) with namespace prefixes bound, as (prefix, URI):
    /// `Filter::xpath_with("/o:order[@lane='express']", &[("o", "urn:orders")])`.
    pub fn xpath_with(expression: &str, namespaces: &[(&str, &str)]) -> crate::Result<Self> {
        Ok(Self::test(XPathHolds(XPath::predicate(
            expression, namespaces,
        )?)))
    }
}

#[cfg(feature = "xslt")]
struct XPathHolds(XPath);

#[cfg(feature = "xslt")]
impl Test<Xml> for XPathHolds {
    fn test(&self, event: &Event<Xml>) -> Result<bool, EventError> {
        self.0.holds(&event.data)
    }

    fn weight(&self, event: &Event<Xml>) -> usize {
        // Each evaluation parses the document.
        event.data.as_bytes().len()
    }

    fn describe(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "xpath({:?})", self.0.expression())
    }
}

impl Filter<Json> {
    /// A test on the value that `path` selects: a JSON path (`$.order.total`,
    /// `$.items[-1]['sku']`) or a JSON Pointer (`/order/total`). Finish it with a comparison:
    /// `Filter::json("$.order.total")?.greater_than(100.0)`.
    pub fn json(path: &str) -> crate::Result<JsonTest> {
        let parsed = JsonPath::parse(path).map_err(|why| Error::Compile {
            what: format!("JSON path \"{path}\""),
            message: why,
        })?;
        Ok(JsonTest {
            path: parsed,
            written: Arc::from(path),
        })
    }
}

/// The value a JSON path selects, waiting for its comparison ([`Filter::json`]). A path that
/// selects nothing matches none of them.
#[derive(Clone, Debug)]
pub struct JsonTest {
    path: JsonPath,
    written: Arc<str>,
}

impl JsonTest {
    fn filter(self, comparison: Comparison) -> Filter<Json> {
        Filter::test(JsonMatches {
            test: self,
            comparison,
        })
    }

    /// Matches when the path selects something (`null` included).
    pub fn exists(self) -> Filter<Json> {
        self.filter(Comparison::Exists)
    }

    /// Matches when the selected value equals `value`; numbers compare by value (`1` equals
    /// `1.0`), everything else exactly (the string `"1"` is not the number `1`).
    pub fn equals(self, value: impl Into<Value>) -> Filter<Json> {
        self.filter(Comparison::Equals(value.into()))
    }

    /// Matches when the selected value is a number, or a string that parses as one (as the
    /// values of XML converted to JSON are), greater than `bound`.
    pub fn greater_than(self, bound: f64) -> Filter<Json> {
        self.filter(Comparison::Greater(bound))
    }

    /// Matches when the selected value is a number, or a string that parses as one, less than
    /// `bound`.
    pub fn less_than(self, bound: f64) -> Filter<Json> {
        self.filter(Comparison::Less(bound))
    }

    /// Matches when the selected value's text (a string as it is, anything else as its JSON)
    /// matches `pattern`.
    pub fn matches(self, pattern: &str) -> crate::Result<Filter<Json>> {
        Ok(self.filter(Comparison::Matches(compile_regex(pattern)?)))
    }
}

enum Comparison {
    Exists,
    Equals(Value),
    Greater(f64),
    Less(f64),
    Matches(Regex),
}

struct JsonMatches {
    test: JsonTest,
    comparison: Comparison,
}

/// A JSON number, or a string that parses as one.
fn number(value: &Value) -> Option<f64> {
    match value {
        Value::Number(number) => number.as_f64(),
        Value::String(text) => text.trim().parse().ok(),
        _ => None,
    }
}

impl Test<Json> for JsonMatches {
    fn test(&self, event: &Event<Json>) -> Result<bool, EventError> {
        let Some(value) = self.test.path.select(&event.data) else {
            return Ok(false);
        };
        Ok(match &self.comparison {
            Comparison::Exists => true,
            Comparison::Equals(expected) => match (value, expected) {
                (Value::Number(a), Value::Number(b)) => a.as_f64() == b.as_f64(),
                _ => value == expected,
            },
            Comparison::Greater(bound) => number(value).is_some_and(|n| n > *bound),
            Comparison::Less(bound) => number(value).is_some_and(|n| n < *bound),
            Comparison::Matches(regex) => match value {
                Value::String(text) => regex.is_match(text.as_bytes()),
                other => regex.is_match(other.to_string().as_bytes()),
            },
        })
    }

    fn describe(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let path = &self.test.written;
        match &self.comparison {
            Comparison::Exists => write!(f, "json({path:?}) exists"),
            Comparison::Equals(value) => write!(f, "json({path:?}) == {value}"),
            Comparison::Greater(bound) => write!(f, "json({path:?}) > {bound}"),
            Comparison::Less(bound) => write!(f, "json({path:?}) < {bound}"),
            Comparison::Matches(regex) => write!(f, "json({path:?}) ~ /{}/", regex.as_str()),
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    type TestResult = Result<(), Box<dyn std::error::Error>>;

    fn text(data: &str) -> Event<String> {
        Event::new(data.to_string())
    }

    #[test]
    fn regexes_search_the_payload_the_service_and_attributes() -> TestResult {
        let event = text("order 42: express")
            .with_service("orders")
            .with_attribute("lane", "express");
        let yes = |filter: Filter<String>| filter.matches(&event).expect("evaluates");
        assert!(yes(Filter::payload("express")?));
        assert!(!yes(Filter::payload("^express")?));
        assert!(yes(Filter::service("^ord")?));
        assert!(!yes(Filter::service("^orders.+")?));
        assert!(yes(Filter::service_is("orders")));
        assert!(!yes(Filter::service_is("order")));
        assert!(yes(Filter::attribute("lane", "^exp")?));
        assert!(!yes(Filter::attribute("missing", ".*")?), "no attribute");
        assert!(yes(Filter::attribute_is("lane", "express")));
        assert!(!yes(Filter::attribute_is("lane", "expres")));
        assert!(!Filter::service(".*")?.matches(&text("x"))?, "no service");
        Ok(())
    }

    #[test]
    fn a_regex_that_does_not_compile_is_a_compile_error() {
        let error = Filter::<String>::payload("(").expect_err("unclosed group");
        assert!(matches!(error, Error::Compile { .. }), "{error}");
    }

    #[test]
    fn combinators_join_filters() -> TestResult {
        let event = text("bulk").with_service("orders");
        let bulk = Filter::payload("bulk")?;
        let express = Filter::payload("express")?;
        let orders = Filter::service_is("orders");
        let check = |filter: Filter<String>| filter.matches(&event).expect("evaluates");
        assert!(check(Filter::all([bulk.clone(), orders.clone()])));
        assert!(!check(Filter::all([bulk.clone(), express.clone()])));
        assert!(check(Filter::all([])), "all of nothing holds");
        assert!(check(Filter::any([express.clone(), bulk.clone()])));
        assert!(!check(Filter::any([])), "any of nothing does not");
        assert!(check(Filter::not(express.clone())));
        assert!(!check(!bulk.clone()));
        assert!(check(express.clone().or(orders.clone())));
        assert!(!check(express.and(orders)));
        let custom = Filter::custom("short", |e: &Event<String>| e.data.len() < 5);
        assert!(check(custom.clone()));
        assert_eq!(
            format!("{:?}", bulk.and(custom)),
            "all(payload ~ /bulk/, custom(short))"
        );
        Ok(())
    }

    #[test]
    fn json_paths_and_pointers_compare_values() -> TestResult {
        let event = Event::new(Json::new(json!({
            "order": {"total": 120, "lane": "express", "weight": "7.5", "gift": null,
                      "items": [{"sku": "A1"}, {"sku": "B2"}]}
        })));
        let check = |filter: Filter<Json>| filter.matches(&event).expect("evaluates");
        assert!(check(Filter::json("$.order.total")?.greater_than(100.0)));
        assert!(!check(Filter::json("$.order.total")?.greater_than(120.0)));
        assert!(check(Filter::json("/order/total")?.less_than(121.0)));
        assert!(
            check(Filter::json("$.order.total")?.equals(120.0)),
            "120 == 120.0"
        );
        assert!(!check(Filter::json("$.order.total")?.equals("120")));
        assert!(
            check(Filter::json("$.order.weight")?.greater_than(7.0)),
            "numeric text"
        );
        assert!(
            !check(Filter::json("$.order.lane")?.greater_than(0.0)),
            "not a number"
        );
        assert!(check(Filter::json("$.order.lane")?.equals("express")));
        assert!(check(Filter::json("$.order.items[-1].sku")?.equals("B2")));
        assert!(check(Filter::json("/order/items/0/sku")?.matches("^A")?));
        assert!(check(Filter::json("$.order.gift")?.exists()), "null exists");
        assert!(!check(Filter::json("$.order.missing")?.exists()));
        assert!(!check(Filter::json("$.order.missing")?.less_than(1e9)));
        assert!(
            Filter::json("order.total").is_err(),
            "neither a path nor a pointer"
        );
        Ok(())
    }

    #[test]
    fn payload_text_of_json_is_compact() -> TestResult {
        let event = Event::new(Json::new(json!({"lane": "bulk"})));
        assert!(Filter::payload(r#""lane":"bulk""#)?.matches(&event)?);
        Ok(())
    }

    #[cfg(feature = "http")]
    #[test]
    fn an_http_body_is_searched_as_it_arrived() -> TestResult {
        use crate::http::{Body, Unparsed};
        let unparsed = Unparsed::json(crate::payload::Bytes::from_static(br#"{"lane":"bulk"}"#));
        let event = Event::new(Body::Unparsed(unparsed));
        assert!(Filter::payload(r#""lane":"bulk""#)?.matches(&event)?);
        let event = Event::new(Body::Text("express order".into()));
        assert!(Filter::payload("^express")?.matches(&event)?);
        assert!(!Filter::payload("^bulk")?.matches(&event)?);
        Ok(())
    }

    #[cfg(feature = "xslt")]
    #[test]
    fn xpath_filters_use_namespaces_and_weigh_the_document() -> TestResult {
        let xml = Xml::parse(b"<o:order xmlns:o='urn:orders' total='120' lane='express'/>")
            .map_err(|e| Error::Config {
                setting: "test document".into(),
                message: e.to_string(),
            })?;
        let size = xml.as_bytes().len();
        let event = Event::new(xml);
        let express = Filter::xpath_with("/o:order[@lane='express']", &[("o", "urn:orders")])?;
        assert!(express.matches(&event)?);
        assert!(
            Filter::xpath_with("/o:order/@total > 100", &[("o", "urn:orders")])?.matches(&event)?
        );
        assert!(
            !Filter::xpath("/order")?.matches(&event)?,
            "another namespace"
        );
        assert_eq!(express.weight(&event), size);
        assert_eq!(
            Filter::all([express.clone(), express]).weight(&event),
            2 * size
        );
        assert_eq!(Filter::<Xml>::service_is("x").weight(&event), 0);
        assert!(Filter::xpath("/order[").is_err());
        Ok(())
    }
}
