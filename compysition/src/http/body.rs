//! [`Body`]: the payload an [`HttpServer`](crate::actors::HttpServer) emits and takes back.
//!
//! One server serves requests of several content types, but an outbox carries one payload type.
//! `Body` is that type: the request's `Content-Type` picks the variant, and edge conversions
//! ([`Convert`]) turn it into the `Xml`, `Json`, `String` or `Bytes` an actor downstream takes (a
//! body that does not convert is a `400` on that actor's error outbox; XML and JSON convert into
//! each other by the xmltodict convention). On the way back any of those payloads converts into
//! a `Body`, so a flow can answer with whatever its last actor emits.
//!
//! Parsing is lazy: an XML or JSON request body enters the flow as [`Body::Unparsed`], its bytes
//! as they arrived, and is parsed only at the edge into the first actor that takes `Xml` or
//! `Json`. An authentication step ahead of that edge costs the client no parse, and a bad
//! document from a client without credentials is a `401`, not a `400`.

use std::fmt;
use std::sync::Arc;

use crate::error::EventError;
use crate::json::Json;
use crate::payload::{Bytes, Convert};
use crate::xml::{Xml, XmlLimits};

/// An HTTP request or response payload, typed by its content.
///
/// ```
/// use compysition::http::Body;
/// use compysition::{Convert, Json};
///
/// let body = Body::Text(r#"{"order": 42}"#.to_string());
/// let json: Json = body.convert().expect("text that is JSON converts");
/// assert_eq!(json["order"], 42);
/// ```
#[derive(Clone, PartialEq)]
pub enum Body {
    /// No body (a `GET`, or an answer without content).
    Empty,
    /// `application/xml`, `text/xml` and `+xml` types.
    Xml(Xml),
    /// `application/json` and `+json` types.
    Json(Json),
    /// `text/plain`.
    Text(String),
    /// `application/octet-stream`, or a body without a `Content-Type`.
    Bytes(Bytes),
    /// An XML or JSON request body as it arrived, parsed when an edge converts it (or by
    /// [`Body::parsed`]).
    Unparsed(Unparsed),
}

/// An XML or JSON document as it arrived, not parsed yet.
#[derive(Clone, PartialEq)]
pub struct Unparsed {
    syntax: Syntax,
    bytes: Bytes,
    /// The limits an XML document is parsed under; `None`: [`XmlLimits::DEFAULT`].
    xml_limits: Option<Arc<XmlLimits>>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Syntax {
    Xml,
    Json,
}

impl Unparsed {
    /// Bytes that should be an XML document.
    pub fn xml(bytes: Bytes) -> Self {
        Unparsed {
            syntax: Syntax::Xml,
            bytes,
            xml_limits: None,
        }
    }

    /// The same document, to be parsed under `limits` if it is XML.
    pub fn with_xml_limits(mut self, limits: Arc<XmlLimits>) -> Self {
        self.xml_limits = Some(limits);
        self
    }

    /// Bytes that should be a JSON document.
    pub fn json(bytes: Bytes) -> Self {
        Unparsed {
            syntax: Syntax::Json,
            bytes,
            xml_limits: None,
        }
    }

    /// Whether its `Content-Type` said XML (else JSON).
    pub fn is_xml(&self) -> bool {
        self.syntax == Syntax::Xml
    }

    /// The bytes as they arrived.
    pub fn bytes(&self) -> &Bytes {
        &self.bytes
    }

    /// Parses it: [`Body::Xml`] or [`Body::Json`], or the `400` that names where it is
    /// malformed.
    pub fn parse(self) -> Result<Body, EventError> {
        match self.syntax {
            Syntax::Xml => {
                let limits = self.xml_limits.as_deref().unwrap_or(&XmlLimits::DEFAULT);
                Xml::from_bytes_with(self.bytes, limits).map(Body::Xml)
            }
            Syntax::Json => Json::parse(&self.bytes).map(Body::Json),
        }
    }
}

impl Body {
    /// Whether there is nothing to send: no body, or a zero-length one.
    pub fn is_empty(&self) -> bool {
        match self {
            Body::Empty => true,
            Body::Text(text) => text.is_empty(),
            Body::Bytes(bytes) => bytes.is_empty(),
            Body::Json(_) | Body::Xml(_) => false,
            Body::Unparsed(unparsed) => unparsed.bytes.is_empty(),
        }
    }

    /// The octets a conversion into `Xml` or `Json` reads: the body's unparsed text, if any.
    fn document_size(&self) -> usize {
        match self {
            Body::Unparsed(unparsed) => unparsed.bytes.len(),
            Body::Text(text) => text.len(),
            Body::Bytes(bytes) => bytes.len(),
            Body::Xml(xml) => xml.as_bytes().len(),
            Body::Json(_) | Body::Empty => 0,
        }
    }

    /// The body with an [`Unparsed`] document parsed; any other body as it is.
    pub fn parsed(self) -> Result<Body, EventError> {
        match self {
            Body::Unparsed(unparsed) => unparsed.parse(),
            other => Ok(other),
        }
    }

    /// The variant's name, for messages.
    pub fn kind(&self) -> &'static str {
        match self {
            Body::Empty => "empty",
            Body::Xml(_) => "XML",
            Body::Json(_) => "JSON",
            Body::Text(_) => "text",
            Body::Bytes(_) => "bytes",
            Body::Unparsed(unparsed) if unparsed.is_xml() => "unparsed XML",
            Body::Unparsed(_) => "unparsed JSON",
        }
    }

    /// The body as bytes on the wire, in its own format.
    pub fn to_bytes(&self) -> Bytes {
        match self {
            Body::Empty => Bytes::new(),
            Body::Xml(xml) => xml.to_bytes(),
            Body::Json(json) => json.to_bytes(),
            Body::Text(text) => Bytes::copy_from_slice(text.as_bytes()),
            Body::Bytes(bytes) => bytes.clone(),
            Body::Unparsed(unparsed) => unparsed.bytes.clone(),
        }
    }

    /// [`to_bytes`](Self::to_bytes), taking the body: text and XML hand over their buffers
    /// instead of being copied.
    pub fn into_bytes(self) -> Bytes {
        match self {
            Body::Text(text) => Bytes::from(text),
            Body::Xml(xml) => xml.into_bytes(),
            Body::Bytes(bytes) | Body::Unparsed(Unparsed { bytes, .. }) => bytes,
            other => other.to_bytes(),
        }
    }
}

impl fmt::Debug for Body {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Body::Empty => f.write_str("Empty"),
            Body::Xml(xml) => f.debug_tuple("Xml").field(&xml.as_str()).finish(),
            Body::Json(json) => f.debug_tuple("Json").field(json).finish(),
            Body::Text(text) => f.debug_tuple("Text").field(text).finish(),
            Body::Bytes(bytes) => write!(f, "Bytes({} bytes)", bytes.len()),
            Body::Unparsed(unparsed) => write!(
                f,
                "Unparsed({:?}, {} bytes)",
                unparsed.syntax,
                unparsed.bytes.len()
            ),
        }
    }
}

impl Convert<Xml> for Body {
    fn convert(self) -> Result<Xml, EventError> {
        match self {
            Body::Xml(xml) => Ok(xml),
            Body::Json(json) => json.convert(),
            Body::Text(text) => text.convert(),
            Body::Bytes(bytes) => Xml::from_bytes(bytes),
            Body::Unparsed(unparsed) => unparsed.parse()?.convert(),
            Body::Empty => Err(EventError::malformed("expected an XML body, got none")),
        }
    }

    fn conversion_size(&self) -> usize {
        self.document_size()
    }
}

impl Convert<Json> for Body {
    fn convert(self) -> Result<Json, EventError> {
        match self {
            Body::Json(json) => Ok(json),
            Body::Xml(xml) => xml.convert(),
            Body::Text(text) => Json::parse(text.as_bytes()),
            Body::Bytes(bytes) => Json::parse(&bytes),
            Body::Unparsed(unparsed) => unparsed.parse()?.convert(),
            Body::Empty => Err(EventError::malformed("expected a JSON body, got none")),
        }
    }

    fn conversion_size(&self) -> usize {
        self.document_size()
    }
}

impl Convert<String> for Body {
    fn convert(self) -> Result<String, EventError> {
        match self {
            Body::Text(text) => Ok(text),
            Body::Empty => Ok(String::new()),
            Body::Xml(xml) => xml.convert(),
            Body::Json(json) => json.convert(),
            // A document is text already: only its encoding is checked.
            Body::Bytes(bytes) | Body::Unparsed(Unparsed { bytes, .. }) => bytes.convert(),
        }
    }
}

impl Convert<Bytes> for Body {
    fn convert(self) -> Result<Bytes, EventError> {
        Ok(self.into_bytes())
    }
}

impl Convert<Body> for Xml {
    fn convert(self) -> Result<Body, EventError> {
        Ok(Body::Xml(self))
    }
}

impl Convert<Body> for Json {
    fn convert(self) -> Result<Body, EventError> {
        Ok(Body::Json(self))
    }
}

impl Convert<Body> for String {
    fn convert(self) -> Result<Body, EventError> {
        Ok(Body::Text(self))
    }
}

impl Convert<Body> for Bytes {
    fn convert(self) -> Result<Body, EventError> {
        Ok(Body::Bytes(self))
    }
}

impl Convert<Body> for () {
    fn convert(self) -> Result<Body, EventError> {
        Ok(Body::Empty)
    }
}

impl From<Xml> for Body {
    fn from(xml: Xml) -> Self {
        Body::Xml(xml)
    }
}

impl From<Json> for Body {
    fn from(json: Json) -> Self {
        Body::Json(json)
    }
}

impl From<String> for Body {
    fn from(text: String) -> Self {
        Body::Text(text)
    }
}

impl From<&str> for Body {
    fn from(text: &str) -> Self {
        Body::Text(text.to_owned())
    }
}

impl From<Bytes> for Body {
    fn from(bytes: Bytes) -> Self {
        Body::Bytes(bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_that_is_not_json_is_a_400() {
        let error = Convert::<Json>::convert(Body::Text("<order/>".into())).expect_err("not JSON");
        assert_eq!(error.kind(), crate::ErrorKind::Malformed);
    }

    #[test]
    fn json_and_xml_bodies_convert_into_each_other() {
        let xml: Xml = Body::Json(Json::new(serde_json::json!({"order": {"@id": "42"}})))
            .convert()
            .expect("JSON with an XML form");
        assert_eq!(xml.as_str(), r#"<order id="42"/>"#);
        let json: Json = Body::Xml(xml).convert().expect("XML is JSON");
        assert_eq!(json["order"]["@id"], "42");
    }

    #[test]
    fn malformed_xml_text_is_a_400() {
        let error = Convert::<Xml>::convert(Body::Text("<order>".into())).expect_err("malformed");
        assert_eq!(error.kind(), crate::ErrorKind::Malformed);
    }

    #[test]
    fn an_empty_body_is_not_json() {
        let error = Convert::<Json>::convert(Body::Empty).expect_err("no body");
        assert_eq!(error.kind(), crate::ErrorKind::Malformed);
    }

    #[test]
    fn json_becomes_compact_text() {
        let body = Body::Json(Json::new(serde_json::json!({"a": 1})));
        let text: String = body.convert().expect("JSON is text");
        assert_eq!(text, r#"{"a":1}"#);
    }

    #[test]
    fn an_unparsed_document_is_parsed_at_the_edge() {
        let body = Body::Unparsed(Unparsed::xml(Bytes::from_static(b"<order id=\"7\"/>")));
        let json: Json = body.clone().convert().expect("XML converts to JSON");
        assert_eq!(json["order"]["@id"], "7");
        let xml: Xml = body.convert().expect("well-formed XML");
        assert_eq!(xml.as_str(), r#"<order id="7"/>"#);
        let body = Body::Unparsed(Unparsed::json(Bytes::from_static(b"{\"a\": [1")));
        let error = Convert::<Json>::convert(body.clone()).expect_err("malformed JSON");
        assert_eq!(error.kind(), crate::ErrorKind::Malformed);
        // As text it is only checked to be UTF-8.
        let text: String = body.convert().expect("UTF-8");
        assert_eq!(text, "{\"a\": [1");
    }

    #[test]
    fn payloads_convert_into_a_body() {
        let body: Body = "hi".to_string().convert().expect("infallible");
        assert_eq!(body, Body::Text("hi".into()));
        let body: Body = ().convert().expect("infallible");
        assert!(body.is_empty());
    }
}
