//! `Xml` ↔ `Json` by the xmltodict convention, the one the Python project's events used; the
//! convention itself is described in the [`xml`](crate::xml) module docs.

use bytes::Bytes;
use quick_xml::events::Event;
use quick_xml::{Reader, XmlVersion};
use serde_json::map::Entry;
use serde_json::{Map, Value};

use super::limits::XmlLimits;
use super::parse::{is_name, is_xml_space, MAX_DEPTH};
use super::Xml;
use crate::error::EventError;
use crate::json::Json;

/// The element that wraps JSON without a single root key on its way to XML.
pub const ENVELOPE: &str = "jsonified_envelope";

/// Converts a document to JSON by the xmltodict convention (see [the module docs](crate::xml)).
pub fn xml_to_json(xml: &Xml) -> Json {
    let value = read_document(xml.as_bytes());
    Json::new(unwrap_envelope(value))
}

/// An element being read: its attributes and children so far, and its text.
struct Open {
    name: String,
    fields: Map<String, Value>,
    text: String,
}

impl Open {
    fn new(tag: &quick_xml::events::BytesStart<'_>) -> Open {
        let mut fields = Map::new();
        for attribute in tag.attributes().with_checks(false).flatten() {
            let key = format!("@{}", String::from_utf8_lossy(attribute.key.as_ref()));
            let value = attribute
                .normalized_value(XmlVersion::Implicit1_0)
                .map(|v| v.into_owned())
                .unwrap_or_default();
            fields.insert(key, Value::String(value));
        }
        Open {
            name: String::from_utf8_lossy(tag.name().as_ref()).into_owned(),
            fields,
            text: String::new(),
        }
    }

    fn into_value(mut self) -> (String, Value) {
        let text = trimmed(std::mem::take(&mut self.text));
        let value = match (self.fields.is_empty(), text.is_empty()) {
            (true, true) => Value::Null,
            (true, false) => Value::String(text),
            (false, empty) => {
                if !empty {
                    self.fields.insert("#text".to_owned(), Value::String(text));
                }
                Value::Object(self.fields)
            }
        };
        (self.name, value)
    }
}

/// The text without surrounding XML white space, reusing its buffer when nothing is cut.
fn trimmed(text: String) -> String {
    let is_space = |c: char| c.is_ascii() && is_xml_space(c as u8);
    let inner = text.trim_matches(is_space);
    if inner.len() == text.len() {
        text
    } else {
        inner.to_owned()
    }
}

/// Adds a child's value under its name; a repeated name turns into an array.
fn add_child(fields: &mut Map<String, Value>, name: String, value: Value) {
    match fields.entry(name) {
        Entry::Vacant(slot) => {
            slot.insert(value);
        }
        Entry::Occupied(mut slot) => match slot.get_mut() {
            // Element values are never arrays themselves, so an array here is a repetition.
            Value::Array(items) => items.push(value),
            first => {
                let first = std::mem::take(first);
                *slot.get_mut() = Value::Array(vec![first, value]);
            }
        },
    }
}

/// Reads a document known to be well-formed (an `Xml`), so errors cannot occur; should one,
/// the part read so far is what comes back.
fn read_document(document: &[u8]) -> Value {
    let mut reader = Reader::from_reader(document);
    reader.config_mut().check_end_names = false;
    let mut stack: Vec<Open> = Vec::with_capacity(16);
    let mut root = Map::new();
    loop {
        let event = match reader.read_event() {
            Ok(Event::Eof) | Err(_) => break,
            Ok(event) => event,
        };
        match event {
            Event::Start(tag) => stack.push(Open::new(&tag)),
            Event::Empty(tag) => {
                let (name, value) = Open::new(&tag).into_value();
                match stack.last_mut() {
                    Some(parent) => add_child(&mut parent.fields, name, value),
                    None => add_child(&mut root, name, value),
                }
            }
            Event::End(_) => {
                if let Some(open) = stack.pop() {
                    let (name, value) = open.into_value();
                    match stack.last_mut() {
                        Some(parent) => add_child(&mut parent.fields, name, value),
                        None => add_child(&mut root, name, value),
                    }
                }
            }
            Event::Text(text) => {
                if let (Some(open), Ok(text)) = (stack.last_mut(), text.xml10_content()) {
                    open.text.push_str(&text);
                }
            }
            Event::CData(cdata) => {
                if let (Some(open), Ok(text)) = (stack.last_mut(), cdata.xml10_content()) {
                    open.text.push_str(&text);
                }
            }
            Event::GeneralRef(reference) => {
                if let Some(open) = stack.last_mut() {
                    push_reference(&mut open.text, &reference);
                }
            }
            Event::Decl(_) | Event::DocType(_) | Event::Comment(_) | Event::PI(_) | Event::Eof => {}
        }
    }
    Value::Object(root)
}

fn push_reference(text: &mut String, reference: &[u8]) {
    let resolved = match reference {
        b"lt" => '<',
        b"gt" => '>',
        b"amp" => '&',
        b"apos" => '\'',
        b"quot" => '"',
        _ => {
            let number = reference.strip_prefix(b"#").unwrap_or_default();
            let code = match number.strip_prefix(b"x") {
                Some(hex) => std::str::from_utf8(hex)
                    .ok()
                    .and_then(|h| u32::from_str_radix(h, 16).ok()),
                None => std::str::from_utf8(number)
                    .ok()
                    .and_then(|d| d.parse().ok()),
            };
            match code.and_then(char::from_u32) {
                Some(c) => c,
                None => return,
            }
        }
    };
    text.push(resolved);
}

/// `{"jsonified_envelope": x}` → `x`, and an array wrapped twice → the array.
fn unwrap_envelope(value: Value) -> Value {
    let Value::Object(mut root) = value else {
        return value;
    };
    if root.len() != 1 || !root.contains_key(ENVELOPE) {
        return Value::Object(root);
    }
    let inner = root.swap_remove(ENVELOPE).unwrap_or_default();
    match inner {
        Value::Object(mut fields)
            if fields.len() == 1 && matches!(fields.get(ENVELOPE), Some(Value::Array(_))) =>
        {
            fields.swap_remove(ENVELOPE).unwrap_or_default()
        }
        other => other,
    }
}

/// Converts JSON to a document by the xmltodict convention (see [the module docs](crate::xml)).
///
/// A 400 when the JSON has no XML form: a key that is not an XML name, an array directly
/// inside an array, an object or array as an attribute or `#text` value, or nesting deeper than
/// [`MAX_DEPTH`].
pub fn json_to_xml(json: &Value) -> Result<Xml, EventError> {
    let mut out = Vec::with_capacity(256);
    let mut scope = Vec::new();
    let root_key = match json {
        Value::Object(fields) if fields.len() == 1 => fields
            .iter()
            .next()
            .filter(|(key, value)| !key.starts_with(['@', '#']) && !value.is_array()),
        _ => None,
    };
    match (root_key, json) {
        (Some((name, value)), _) => {
            write_element(&mut out, name, value, 1, &format!("/{name}"), &mut scope)?
        }
        (None, Value::Array(_)) => {
            out.extend_from_slice(b"<jsonified_envelope>");
            write_element(&mut out, ENVELOPE, json, 2, "", &mut scope)?;
            out.extend_from_slice(b"</jsonified_envelope>");
        }
        (None, _) => write_element(&mut out, ENVELOPE, json, 1, "", &mut scope)?,
    }
    Ok(Xml::from_well_formed(Bytes::from(out)))
}

fn no_xml_form(path: &str, why: &str) -> EventError {
    let path = if path.is_empty() { "/" } else { path };
    EventError::malformed(format!("JSON at {path} has no XML form: {why}"))
}

/// Writes `<name>…</name>` for `value`; an array writes one element per item.
fn write_element(
    out: &mut Vec<u8>,
    name: &str,
    value: &Value,
    depth: usize,
    path: &str,
    scope: &mut Vec<String>,
) -> Result<(), EventError> {
    if !is_name(name.as_bytes()) {
        return Err(no_xml_form(
            path,
            &format!("\"{name}\" is not an element name"),
        ));
    }
    // An object may declare namespaces (`@xmlns:p`) for its own name and everything inside.
    let declared = match value {
        Value::Object(fields) => declare_namespaces(fields, scope, path)?,
        _ => 0,
    };
    let written = write_declared_element(out, name, value, depth, path, scope);
    scope.truncate(scope.len() - declared);
    written
}

/// Adds the prefixes an object declares to `scope`; how many.
fn declare_namespaces(
    fields: &Map<String, Value>,
    scope: &mut Vec<String>,
    path: &str,
) -> Result<usize, EventError> {
    // The shape a document made from JSON may have is the default `XmlLimits`, as for one that
    // came in as XML: it goes on to libxml2 all the same. Checked before anything is written, so
    // that a hostile object costs no more than reading its keys.
    let limits = XmlLimits::DEFAULT;
    let attributes = fields.keys().filter(|key| key.starts_with('@')).count();
    if attributes > limits.attributes_per_element {
        return Err(no_xml_form(
            path,
            &format!(
                "it has more than {} attributes (XmlLimits::attributes_per_element)",
                limits.attributes_per_element
            ),
        ));
    }
    let mut declared = 0;
    for (key, value) in fields {
        if let Some(prefix) = key.strip_prefix("@xmlns:") {
            match value.as_str() {
                Some(uri)
                    if !uri.is_empty()
                        && prefix != "xmlns"
                        && (prefix != "xml" || uri == "http://www.w3.org/XML/1998/namespace") => {}
                _ => {
                    return Err(no_xml_form(
                        path,
                        &format!("\"{key}\" does not declare a namespace (a non-empty URI)"),
                    ))
                }
            }
            if scope.len() == limits.namespaces_in_scope {
                return Err(no_xml_form(
                    path,
                    &format!(
                        "more than {} namespace declarations in scope \
                         (XmlLimits::namespaces_in_scope)",
                        limits.namespaces_in_scope
                    ),
                ));
            }
            scope.push(prefix.to_owned());
            declared += 1;
        }
    }
    Ok(declared)
}

/// Checks that the prefix of `name`, if any, is declared (`xmlns:` only starts attributes).
fn check_prefix(
    name: &str,
    attribute: bool,
    scope: &[String],
    path: &str,
) -> Result<(), EventError> {
    let Some((prefix, local)) = name.split_once(':') else {
        return Ok(());
    };
    if prefix.is_empty() || local.is_empty() || local.contains(':') {
        return Err(no_xml_form(
            path,
            &format!("\"{name}\" is not a qualified name (prefix:local)"),
        ));
    }
    if prefix == "xml" || (attribute && prefix == "xmlns") || scope.iter().any(|p| p == prefix) {
        Ok(())
    } else {
        Err(no_xml_form(
            path,
            &format!("the namespace prefix of \"{name}\" is not declared (no \"@xmlns:{prefix}\")"),
        ))
    }
}

fn write_declared_element(
    out: &mut Vec<u8>,
    name: &str,
    value: &Value,
    depth: usize,
    path: &str,
    scope: &mut Vec<String>,
) -> Result<(), EventError> {
    if !value.is_array() {
        check_prefix(name, false, scope, path)?;
    }
    if depth > MAX_DEPTH {
        return Err(no_xml_form(
            path,
            &format!("it nests deeper than {MAX_DEPTH} levels"),
        ));
    }
    match value {
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                if item.is_array() {
                    return Err(no_xml_form(
                        &format!("{path}/{i}"),
                        "an array directly inside an array",
                    ));
                }
                write_element(out, name, item, depth, &format!("{path}/{i}"), scope)?;
            }
        }
        Value::Null => {
            open_tag(out, name);
            out.extend_from_slice(b"/>");
        }
        Value::Object(fields) => {
            open_tag(out, name);
            let mut text = None;
            let mut children = false;
            for (key, field) in fields {
                if let Some(attribute) = key.strip_prefix('@') {
                    if !is_name(attribute.as_bytes()) {
                        return Err(no_xml_form(
                            path,
                            &format!("\"{attribute}\" is not an attribute name"),
                        ));
                    }
                    check_prefix(attribute, true, scope, path)?;
                    let value = scalar_text(field).ok_or_else(|| {
                        no_xml_form(path, &format!("attribute \"{key}\" is not a scalar"))
                    })?;
                    out.push(b' ');
                    out.extend_from_slice(attribute.as_bytes());
                    out.extend_from_slice(b"=\"");
                    escape_into(out, &value, true);
                    out.push(b'"');
                } else if key == "#text" {
                    text = Some(
                        scalar_text(field)
                            .ok_or_else(|| no_xml_form(path, "\"#text\" is not a scalar"))?,
                    );
                } else {
                    children = true;
                }
            }
            let text = text.filter(|t| !t.is_empty());
            if !children && text.is_none() {
                out.extend_from_slice(b"/>");
                return Ok(());
            }
            out.push(b'>');
            for (key, field) in fields {
                if key.starts_with('@') || key == "#text" {
                    continue;
                }
                write_element(out, key, field, depth + 1, &format!("{path}/{key}"), scope)?;
            }
            if let Some(text) = text {
                escape_into(out, &text, false);
            }
            close_tag(out, name);
        }
        scalar => {
            open_tag(out, name);
            out.push(b'>');
            escape_into(out, &scalar_text(scalar).unwrap_or_default(), false);
            close_tag(out, name);
        }
    }
    Ok(())
}

fn open_tag(out: &mut Vec<u8>, name: &str) {
    out.push(b'<');
    out.extend_from_slice(name.as_bytes());
}

fn close_tag(out: &mut Vec<u8>, name: &str) {
    out.extend_from_slice(b"</");
    out.extend_from_slice(name.as_bytes());
    out.push(b'>');
}

/// The text of a scalar; `None` for objects and arrays.
fn scalar_text(value: &Value) -> Option<std::borrow::Cow<'_, str>> {
    match value {
        Value::String(s) => Some(s.as_str().into()),
        Value::Null => Some("".into()),
        Value::Bool(b) => Some(if *b { "true" } else { "false" }.into()),
        Value::Number(n) => Some(n.to_string().into()),
        Value::Array(_) | Value::Object(_) => None,
    }
}

/// Text as a double-quoted attribute value (the XPath splitter writes its stylesheet with it).
#[cfg_attr(not(feature = "xslt"), allow(dead_code))]
pub(crate) fn escape_attribute(text: &str) -> String {
    let mut out = Vec::with_capacity(text.len());
    escape_into(&mut out, text, true);
    // Whole characters in, whole characters out: always UTF-8.
    String::from_utf8(out).unwrap_or_default()
}

/// Escapes text for element content or (with `attribute`) a double-quoted attribute value.
/// Characters XML cannot carry at all (most control characters) become U+FFFD.
fn escape_into(out: &mut Vec<u8>, text: &str, attribute: bool) {
    for c in text.chars() {
        match c {
            '&' => out.extend_from_slice(b"&amp;"),
            '<' => out.extend_from_slice(b"&lt;"),
            '>' => out.extend_from_slice(b"&gt;"),
            '"' if attribute => out.extend_from_slice(b"&quot;"),
            // Attribute values are normalised on reading: keep these as references.
            '\t' if attribute => out.extend_from_slice(b"&#9;"),
            '\n' if attribute => out.extend_from_slice(b"&#10;"),
            '\r' => out.extend_from_slice(b"&#13;"),
            '\t' | '\n' => out.push(c as u8),
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => {
                out.extend_from_slice("\u{FFFD}".as_bytes())
            }
            c => {
                let mut buf = [0u8; 4];
                out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn to_json(xml: &str) -> Value {
        (*xml_to_json(&Xml::parse(xml.as_bytes()).expect("well-formed"))).clone()
    }

    fn to_xml(json: Value) -> String {
        json_to_xml(&json).expect("has an XML form").to_string()
    }

    #[test]
    fn the_root_element_is_the_top_level_key() {
        assert_eq!(to_json("<a>1</a>"), json!({"a": "1"}));
        assert_eq!(to_json("<a/>"), json!({"a": null}));
    }

    #[test]
    fn attributes_come_first_and_text_last() {
        assert_eq!(
            to_json("<a x=\"1\"><b>2</b> t </a>"),
            json!({"a": {"@x": "1", "b": "2", "#text": "t"}})
        );
        let keys: Vec<_> = to_json("<a x=\"1\"><b>2</b> t </a>")["a"]
            .as_object()
            .expect("object")
            .keys()
            .cloned()
            .collect();
        assert_eq!(keys, ["@x", "b", "#text"]);
    }

    #[test]
    fn repeated_elements_become_arrays() {
        assert_eq!(
            to_json("<r><i>1</i><j/><i>2</i><i>3</i></r>"),
            json!({"r": {"i": ["1", "2", "3"], "j": null}})
        );
    }

    #[test]
    fn references_cdata_and_line_ends_are_resolved() {
        assert_eq!(
            to_json("<a b='x&#10;y &amp; z'>1 &lt; 2<![CDATA[ & <c>]]>&#x41;\r\n</a>"),
            json!({"a": {"@b": "x\ny & z", "#text": "1 < 2 & <c>A"}})
        );
    }

    #[test]
    fn comments_and_instructions_are_dropped_and_prefixes_kept() {
        assert_eq!(
            to_json("<?pi x?><p:a xmlns:p='urn:p'><!-- c --><p:b>1</p:b></p:a>"),
            json!({"p:a": {"@xmlns:p": "urn:p", "p:b": "1"}})
        );
    }

    #[test]
    fn a_single_key_object_is_the_root() {
        assert_eq!(to_xml(json!({"apple": 1})), "<apple>1</apple>");
        assert_eq!(
            to_xml(json!({"root": {"foo": ["bar", "bar"]}})),
            "<root><foo>bar</foo><foo>bar</foo></root>"
        );
    }

    #[test]
    fn a_root_array_is_wrapped_in_the_envelope() {
        assert_eq!(
            to_xml(json!({"errors": [{"foo": "bar"}, {"foo": "bar"}]})),
            "<jsonified_envelope><errors><foo>bar</foo></errors><errors><foo>bar</foo></errors></jsonified_envelope>"
        );
        assert_eq!(
            to_json("<jsonified_envelope><errors><foo>bar</foo></errors><errors><foo>bar</foo></errors></jsonified_envelope>"),
            json!({"errors": [{"foo": "bar"}, {"foo": "bar"}]})
        );
    }

    #[test]
    fn several_keys_arrays_and_scalars_round_trip_through_the_envelope() {
        for value in [
            json!({"a": "1", "b": "2"}),
            json!(["x", "y"]),
            json!([{"a": "1"}, {"b": "2"}]),
            json!("text"),
            json!({"@id": "7"}),
        ] {
            let xml = json_to_xml(&value).expect("has an XML form");
            assert!(xml.as_str().starts_with("<jsonified_envelope"), "{xml}");
            assert_eq!(*xml_to_json(&xml), value, "{xml}");
        }
    }

    #[test]
    fn namespace_declarations_scope_prefixed_names() {
        let value = json!({"p:r": {"@xmlns:p": "urn:p", "@p:x": "1", "p:a": ["1", "2"], "b": {"p:c": null}}});
        let xml = json_to_xml(&value).expect("declared prefixes");
        assert_eq!(
            xml.as_str(),
            "<p:r xmlns:p=\"urn:p\" p:x=\"1\"><p:a>1</p:a><p:a>2</p:a><b><p:c/></b></p:r>"
        );
        assert_eq!(*xml_to_json(&xml), value);
    }

    #[test]
    fn attributes_and_text_keys_write_attributes_and_text() {
        assert_eq!(
            to_xml(json!({"a": {"@x": "<\"&", "#text": "t>", "b": null, "n": 1.5, "t": true}})),
            "<a x=\"&lt;&quot;&amp;\"><b/><n>1.5</n><t>true</t>t&gt;</a>"
        );
    }

    #[test]
    fn json_without_an_xml_form_is_a_400_naming_where() {
        for (value, what) in [
            (json!({"a b": "1"}), "\"a b\" is not an element name"),
            (json!({"r": {"x": [[1], [2]]}}), "/r/x/0"),
            (json!({"r": {"@x": {"y": 1}}}), "attribute \"@x\""),
            (json!({"r": {"#text": [1]}}), "\"#text\" is not a scalar"),
            (json!({"p:r": "1"}), "prefix of \"p:r\" is not declared"),
            (
                json!({"xmlns:r": "1"}),
                "prefix of \"xmlns:r\" is not declared",
            ),
            (
                json!({"r": {"@p:x": "1", "@xmlns:q": "u"}}),
                "prefix of \"p:x\" is not declared",
            ),
            (
                json!({"r": {"@xmlns:p": ""}}),
                "does not declare a namespace",
            ),
        ] {
            let error = json_to_xml(&value).expect_err("no XML form");
            assert_eq!(error.kind(), crate::ErrorKind::Malformed);
            assert!(error.message().contains(what), "{}", error.message());
        }
    }

    #[test]
    fn generated_xml_is_well_formed_even_from_awkward_text() {
        let xml = json_to_xml(&json!({"a": {"@v": "\t\n\r\u{1}", "#text": "]]>\r\u{0}"}}))
            .expect("has an XML form");
        assert!(Xml::parse(xml.as_bytes()).is_ok(), "{xml}");
        assert_eq!(
            *xml_to_json(&xml),
            json!({"a": {"@v": "\t\n\r\u{FFFD}", "#text": "]]>\r\u{FFFD}"}})
        );
    }

    #[test]
    fn json_whose_xml_would_be_over_the_attribute_limits_is_a_400() {
        let wide: Map<String, Value> = (0..257)
            .map(|i| (format!("@a{i}"), Value::from(i)))
            .collect();
        let error = json_to_xml(&json!({ "r": { "e": wide } })).expect_err("too wide");
        assert!(
            error.message().contains(
                "JSON at /r/e has no XML form: it has more than 256 attributes \
                 (XmlLimits::attributes_per_element)"
            ),
            "{error}"
        );
        let fits: Map<String, Value> = (0..256)
            .map(|i| (format!("@a{i}"), Value::from(i)))
            .collect();
        assert!(json_to_xml(&json!({ "r": { "e": fits } })).is_ok());
        let declarations: Map<String, Value> = (0..257)
            .map(|i| (format!("@xmlns:p{i}"), Value::from("u")))
            .collect();
        let inner = json!({ "b": { "@xmlns:q": "u" } });
        let mut outer = declarations.clone();
        outer.remove("@xmlns:p0");
        outer.insert("a".into(), inner);
        let error = json_to_xml(&json!({ "r": outer })).expect_err("too many in scope");
        assert!(
            error.message().contains("(XmlLimits::namespaces_in_scope)"),
            "{error}"
        );
    }
}
