//! XML: the [`Xml`] payload, its conversions, and the XSLT, XML Schema and XPath engines.
//!
//! [`Xml`] is a well-formed XML document checked once, when it is made, and shared cheaply
//! afterwards: cloning it for a fan-out costs a reference count. Documents from outside are
//! parsed without ever touching the network or the file system: entity declarations are refused
//! (so neither external entities nor entity-expansion bombs get anywhere), a DOCTYPE's external
//! subset is never loaded, and the document's shape is bounded by [`XmlLimits`] (nesting,
//! attributes per element, elements, name and text lengths) before libxml2 ever sees it.
//!
//! Edges convert between `Xml` and the other payloads: text and bytes parse into `Xml`, `Xml`
//! serialises back unchanged, and `Xml` ↔ [`Json`] follow the xmltodict convention
//! ([`xml_to_json`], [`json_to_xml`]).
//!
//! With feature `xslt`, `Stylesheet` is XSLT 1.0 + EXSLT on the system libxslt, usable
//! directly. The actors built on this module are in [`actors`](crate::actors): `Xslt`, `Xsd`
//! and `XPathAttributeModifier` (feature `xslt`), `XmlToJson` and `JsonToXml`.
//!
//! Everything that calls into C is in one module (`ffi`, with `csrc/xslt_shim.c`).
//!
//! # The xmltodict convention
//!
//! The one the Python project's events used.
//!
//! XML → JSON:
//! - the root element is the single top-level key: `<a>1</a>` → `{"a": "1"}`;
//! - attributes are `@name` keys, listed first; text is the value itself when the element has
//!   neither attributes nor children, otherwise the `#text` key, listed last;
//! - an element with nothing in it is `null`; text is stripped of surrounding XML white space;
//!   the text pieces of mixed content are joined;
//! - a child element that occurs more than once becomes an array (at the place of its first
//!   occurrence); all values are strings; comments and processing instructions are dropped;
//!   names keep their prefixes (`p:item`, `@xmlns:p`).
//!
//! JSON → XML is the reverse, plus the envelope: a value that is not an object with exactly one
//! element key whose value is not an array — an array, a scalar, an object with several keys —
//! is wrapped in `<jsonified_envelope>` (an array is wrapped twice, its items becoming
//! `<jsonified_envelope>` elements inside it), and the envelope is unwrapped on the way back.
//! Numbers and booleans become their JSON text, `null` an empty element.
//!
//! The convention loses what XML cannot say: types (everything comes back a string), one-item
//! arrays (they come back as the item), empty strings and objects (they come back `null`).

#[cfg(feature = "xslt")]
mod children;
#[cfg(feature = "xslt")]
mod ffi;
mod limits;
mod parse;
mod xmltodict;
#[cfg(feature = "xslt")]
pub(crate) mod xpath;
#[cfg(feature = "xslt")]
pub(crate) mod xsd;
#[cfg(feature = "xslt")]
pub(crate) mod xslt;

use std::fmt;
use std::str::FromStr;

use bytes::Bytes;

use crate::error::EventError;
use crate::json::Json;
use crate::payload::Convert;

pub use limits::XmlLimits;
pub(crate) use parse::is_name;
pub use parse::MAX_DEPTH;
#[cfg(feature = "xslt")]
pub(crate) use xmltodict::escape_attribute;
pub use xmltodict::{json_to_xml, xml_to_json, ENVELOPE};
#[cfg(feature = "xslt")]
pub use xslt::{
    OutputMethod, Permissions, ResultShape, Stylesheet, TransformOptions, TransformOutput,
    Transformed, DEFAULT_MAX_DEPTH,
};

/// A well-formed XML document in UTF-8 whose namespace prefixes are all declared, cheap to
/// clone.
///
/// ```
/// use compysition::Xml;
///
/// let order = Xml::parse(b"<order id=\"7\"><item>tea</item></order>")?;
/// assert_eq!(order.to_string(), "<order id=\"7\"><item>tea</item></order>");
///
/// let error = Xml::parse(b"<order>\n  <item>tea</order>").unwrap_err();
/// assert_eq!(error.kind(), compysition::ErrorKind::Malformed);
/// assert!(error.message().contains("line 2, column 12"));
/// # Ok::<(), compysition::EventError>(())
/// ```
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Xml {
    // Always a well-formed document in UTF-8, without a byte order mark.
    document: Bytes,
}

impl Xml {
    /// Parses a document, copying it, within the default [`XmlLimits`]. Malformed input is a
    /// 400 naming line and column.
    pub fn parse(document: &[u8]) -> Result<Xml, EventError> {
        Xml::from_bytes(Bytes::copy_from_slice(document))
    }

    /// Parses a document held in `Bytes`, without copying it, within the default
    /// [`XmlLimits`].
    pub fn from_bytes(document: Bytes) -> Result<Xml, EventError> {
        Xml::from_bytes_with(document, &XmlLimits::DEFAULT)
    }

    /// Parses a document held in `Bytes`, without copying it, within `limits`: a document over
    /// one is a 400 naming the limit and its value.
    pub fn from_bytes_with(document: Bytes, limits: &XmlLimits) -> Result<Xml, EventError> {
        let document = match document.strip_prefix(parse::BOM) {
            Some(_) => document.slice(parse::BOM.len()..),
            None => document,
        };
        parse::check_well_formed(&document, limits).map_err(|e| e.into_event_error(&document))?;
        Ok(Xml { document })
    }

    /// Wraps bytes this crate produced itself and knows to be a well-formed UTF-8 document.
    pub(crate) fn from_well_formed(document: Bytes) -> Xml {
        debug_assert!(parse::check_well_formed(&document, &XmlLimits::UNBOUNDED).is_ok());
        Xml { document }
    }

    /// The document's bytes (UTF-8).
    pub fn as_bytes(&self) -> &[u8] {
        &self.document
    }

    /// The document as text.
    pub fn as_str(&self) -> &str {
        // The document was checked to be UTF-8 when it was made.
        std::str::from_utf8(&self.document).unwrap_or_default()
    }

    /// The root element, from its start tag to its end tag: the document without the XML
    /// declaration, DOCTYPE, comments and processing instructions around it.
    pub fn root_element(&self) -> &str {
        let text = self.as_str();
        let (start, end) = root_span(text.as_bytes());
        text.get(start..end).unwrap_or(text)
    }

    /// The document's bytes, shared (no copy).
    pub fn to_bytes(&self) -> Bytes {
        self.document.clone()
    }

    /// The document's bytes.
    pub fn into_bytes(self) -> Bytes {
        self.document
    }

    /// The document converted to JSON by the xmltodict convention.
    pub fn to_json(&self) -> Json {
        xml_to_json(self)
    }

    /// A document made from JSON by the xmltodict convention; a 400 when the JSON has no XML
    /// form (a key that is not an XML name, an array directly inside an array, ...).
    pub fn from_json(json: &serde_json::Value) -> Result<Xml, EventError> {
        json_to_xml(json)
    }
}

/// Where the root element of a well-formed document starts and ends (byte offsets).
fn root_span(document: &[u8]) -> (usize, usize) {
    use quick_xml::events::Event as XmlEvent;
    let mut reader = quick_xml::Reader::from_reader(document);
    let mut depth = 0usize;
    let mut start = 0usize;
    loop {
        let before = usize::try_from(reader.buffer_position()).unwrap_or(0);
        let after = |reader: &quick_xml::Reader<&[u8]>| {
            usize::try_from(reader.buffer_position()).unwrap_or(document.len())
        };
        match reader.read_event() {
            Ok(XmlEvent::Start(_)) => {
                if depth == 0 {
                    start = before;
                }
                depth += 1;
            }
            Ok(XmlEvent::Empty(_)) if depth == 0 => return (before, after(&reader)),
            Ok(XmlEvent::End(_)) => {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    return (start, after(&reader));
                }
            }
            // A checked document has a root; these only end a document that is not one.
            Ok(XmlEvent::Eof) | Err(_) => return (0, document.len()),
            Ok(_) => {}
        }
    }
}

impl fmt::Display for Xml {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for Xml {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Xml").field(&self.as_str()).finish()
    }
}

impl FromStr for Xml {
    type Err = EventError;
    fn from_str(document: &str) -> Result<Xml, EventError> {
        Xml::parse(document.as_bytes())
    }
}

impl AsRef<[u8]> for Xml {
    fn as_ref(&self) -> &[u8] {
        self.as_bytes()
    }
}

impl Convert<Xml> for String {
    fn convert(self) -> Result<Xml, EventError> {
        Xml::from_bytes(Bytes::from(self))
    }

    fn conversion_size(&self) -> usize {
        self.len()
    }
}

impl Convert<Xml> for Bytes {
    fn convert(self) -> Result<Xml, EventError> {
        Xml::from_bytes(self)
    }

    fn conversion_size(&self) -> usize {
        self.len()
    }
}

impl Convert<String> for Xml {
    fn convert(self) -> Result<String, EventError> {
        Ok(self.as_str().to_owned())
    }
}

impl Convert<Bytes> for Xml {
    fn convert(self) -> Result<Bytes, EventError> {
        Ok(self.document)
    }
}

impl Convert<Json> for Xml {
    fn convert(self) -> Result<Json, EventError> {
        Ok(xml_to_json(&self))
    }

    fn conversion_size(&self) -> usize {
        self.as_bytes().len()
    }
}

impl Convert<Xml> for Json {
    fn convert(self) -> Result<Xml, EventError> {
        json_to_xml(&self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clones_share_the_document() {
        let a = Xml::parse(b"<a/>").expect("well-formed");
        let b = a.clone();
        assert_eq!(a.as_bytes().as_ptr(), b.as_bytes().as_ptr());
    }

    #[test]
    fn a_byte_order_mark_is_dropped() {
        let xml = Xml::parse(b"\xEF\xBB\xBF<a/>").expect("well-formed");
        assert_eq!(xml.as_str(), "<a/>");
    }

    #[test]
    fn text_and_bytes_convert_to_xml_and_back() {
        let xml: Xml = "<a>1</a>".to_string().convert().expect("well-formed");
        let bytes: Bytes = xml.clone().convert().expect("infallible");
        assert_eq!(&bytes[..], b"<a>1</a>");
        let again: Xml = bytes.convert().expect("well-formed");
        let text: String = again.convert().expect("infallible");
        assert_eq!(text, "<a>1</a>");
    }

    #[test]
    fn malformed_text_is_a_400_on_conversion() {
        let error = Convert::<Xml>::convert("<a>".to_string()).expect_err("malformed");
        assert_eq!(error.kind(), crate::ErrorKind::Malformed);
        assert!(error.message().contains("line 1"), "{}", error.message());
    }

    #[test]
    fn from_bytes_does_not_copy() {
        let bytes = Bytes::from_static(b"<a/>");
        let xml = Xml::from_bytes(bytes.clone()).expect("well-formed");
        assert_eq!(xml.as_bytes().as_ptr(), bytes.as_ptr());
    }
}
