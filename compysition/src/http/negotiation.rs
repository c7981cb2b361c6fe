//! Content negotiation: what a request's `Content-Type` means, which format its `Accept` header
//! asks for, and how errors are written in that format.
//!
//! Only the formats the server can produce matter here (JSON and XML, which convert into each
//! other; text and bytes, which go out as they are), so the `Accept` header is reduced to two
//! numbers: how much the client wants JSON, and how much it wants XML.

use http::header::{HeaderMap, HeaderValue, ACCEPT, CONTENT_TYPE};

use crate::error::EventError;

use super::status::HttpStatus;

/// The media type of a request body, as far as the server distinguishes them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum MediaKind {
    Json,
    Xml,
    Text,
    Bytes,
}

/// A `Content-Type` the server does not take.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Unsupported(pub(crate) String);

/// What a request's `Content-Type` says its body is; `Ok(None)` when it says nothing.
pub(crate) fn request_kind(headers: &HeaderMap) -> Result<Option<MediaKind>, Unsupported> {
    let Some(value) = headers.get(CONTENT_TYPE) else {
        return Ok(None);
    };
    let text = value
        .to_str()
        .map_err(|_| Unsupported("a Content-Type that is not ASCII".into()))?;
    let mut parts = text.split(';');
    let essence = parts.next().unwrap_or("").trim().to_ascii_lowercase();
    let kind = match essence.as_str() {
        "application/json" => MediaKind::Json,
        "application/xml" | "text/xml" => MediaKind::Xml,
        "text/plain" => MediaKind::Text,
        "application/octet-stream" => MediaKind::Bytes,
        other if other.ends_with("+json") => MediaKind::Json,
        other if other.ends_with("+xml") => MediaKind::Xml,
        _ => return Err(Unsupported(format!("Content-Type `{essence}`"))),
    };
    // JSON is UTF-8 (RFC 8259) and text is read as UTF-8; XML declares its own encoding.
    if matches!(kind, MediaKind::Json | MediaKind::Text) {
        for parameter in parts {
            let Some((name, value)) = parameter.split_once('=') else {
                continue;
            };
            if name.trim().eq_ignore_ascii_case("charset") {
                let charset = value.trim().trim_matches('"');
                if !charset.eq_ignore_ascii_case("utf-8")
                    && !charset.eq_ignore_ascii_case("us-ascii")
                {
                    return Err(Unsupported(format!(
                        "charset `{charset}` (only UTF-8 is read)"
                    )));
                }
            }
        }
    }
    Ok(Some(kind))
}

/// The structured formats a response can be written in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Format {
    Json,
    Xml,
}

/// What a request's `Accept` header asks for, reduced to JSON and XML.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Accept {
    /// Weight of JSON (0 = not acceptable); `None` when the header does not mention it.
    json: Option<f32>,
    /// Weight of XML, the best of `application/xml` and `text/xml`.
    xml: Option<f32>,
    /// Whether the client prefers `text/xml` over `application/xml`.
    text_xml: bool,
    /// The weight of `*/*` or `application/*`, for formats the header does not name.
    wildcard: Option<f32>,
    /// Whether the request had an `Accept` header at all (without one, anything goes).
    present: bool,
}

impl Accept {
    /// Reads the `Accept` header; a missing or unreadable header accepts anything.
    pub(crate) fn from_headers(headers: &HeaderMap) -> Accept {
        let mut accept = Accept {
            json: None,
            xml: None,
            text_xml: false,
            wildcard: None,
            present: headers.contains_key(ACCEPT),
        };
        let mut application_xml = None;
        let mut text_xml = None;
        for value in headers.get_all(ACCEPT) {
            let Ok(value) = value.to_str() else { continue };
            for range in value.split(',') {
                let mut parts = range.split(';');
                let media = parts.next().unwrap_or("").trim().to_ascii_lowercase();
                let weight = parts
                    .filter_map(|p| p.split_once('='))
                    .find(|(name, _)| name.trim() == "q")
                    .and_then(|(_, q)| q.trim().parse::<f32>().ok())
                    .unwrap_or(1.0)
                    .clamp(0.0, 1.0);
                let slot = match media.as_str() {
                    "application/json" => &mut accept.json,
                    "application/xml" => &mut application_xml,
                    "text/xml" => &mut text_xml,
                    "*/*" | "application/*" => &mut accept.wildcard,
                    "text/*" => &mut text_xml,
                    m if m.ends_with("+json") => &mut accept.json,
                    m if m.ends_with("+xml") => &mut application_xml,
                    _ => continue,
                };
                *slot = Some(slot.map_or(weight, |w: f32| w.max(weight)));
            }
        }
        accept.xml = match (application_xml, text_xml) {
            (None, None) => None,
            (a, t) => Some(a.unwrap_or(0.0).max(t.unwrap_or(0.0))),
        };
        accept.text_xml = text_xml.unwrap_or(0.0) > application_xml.unwrap_or(0.0);
        accept
    }

    fn weight(&self, format: Format) -> f32 {
        let named = match format {
            Format::Json => self.json,
            Format::Xml => self.xml,
        };
        let unnamed = if self.present { 0.0 } else { 1.0 };
        named.or(self.wildcard).unwrap_or(unnamed)
    }

    /// Whether the header names a structured format at all (beyond wildcards).
    fn is_specific(&self) -> bool {
        self.json.is_some() || self.xml.is_some()
    }

    /// The format to write a structured body in, given the one it is in now: the other format
    /// only when the client wants it more.
    pub(crate) fn choose(&self, natural: Format) -> Format {
        let other = match natural {
            Format::Json => Format::Xml,
            Format::Xml => Format::Json,
        };
        if self.weight(other) > self.weight(natural) {
            other
        } else {
            natural
        }
    }

    /// The format for an error: the one the client asks for, else the request's own format,
    /// else JSON.
    pub(crate) fn choose_for_error(&self, request: Option<MediaKind>) -> Format {
        let natural = match request {
            Some(MediaKind::Xml) => Format::Xml,
            _ => Format::Json,
        };
        if self.is_specific() {
            self.choose(natural)
        } else {
            natural
        }
    }

    /// The `Content-Type` of an XML answer for this client.
    pub(crate) fn xml_content_type(&self) -> HeaderValue {
        if self.text_xml {
            HeaderValue::from_static("text/xml; charset=utf-8")
        } else {
            HeaderValue::from_static("application/xml")
        }
    }
}

/// `application/json`.
pub(crate) const JSON: HeaderValue = HeaderValue::from_static("application/json");
/// `text/plain; charset=utf-8`.
pub(crate) const TEXT: HeaderValue = HeaderValue::from_static("text/plain; charset=utf-8");
/// `application/octet-stream`.
pub(crate) const OCTETS: HeaderValue = HeaderValue::from_static("application/octet-stream");

/// An error as `{"errors":[{"message":…,"code":…}]}` or
/// `<errors><error><message>…</message><code>…</code></error></errors>`.
pub(crate) fn error_body(error: &EventError, format: Format) -> Vec<u8> {
    // The application's code, or else the status number.
    let status;
    let code = match error.code() {
        Some(code) => code,
        None => {
            status = error.http_status();
            status.as_str()
        }
    };
    match format {
        Format::Json => {
            let body = serde_json::json!({
                "errors": [{ "message": error.message(), "code": code }]
            });
            body.to_string().into_bytes()
        }
        Format::Xml => {
            let mut out = String::with_capacity(64 + error.message().len());
            out.push_str("<errors><error><message>");
            escape_xml_text(error.message(), &mut out);
            out.push_str("</message><code>");
            escape_xml_text(code, &mut out);
            out.push_str("</code></error></errors>");
            out.into_bytes()
        }
    }
}

/// Escapes text for an XML element's content; characters XML 1.0 cannot carry at all become
/// U+FFFD, so the document stays well-formed whatever the message holds.
fn escape_xml_text(text: &str, out: &mut String) {
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(name: http::header::HeaderName, value: &'static str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(name, HeaderValue::from_static(value));
        headers
    }

    #[test]
    fn content_types_pick_the_kind() {
        let cases = [
            ("application/json", MediaKind::Json),
            ("application/json; charset=UTF-8", MediaKind::Json),
            ("application/problem+json", MediaKind::Json),
            ("application/xml", MediaKind::Xml),
            ("text/xml; charset=iso-8859-1", MediaKind::Xml),
            ("application/soap+xml", MediaKind::Xml),
            ("text/plain", MediaKind::Text),
            ("application/octet-stream", MediaKind::Bytes),
        ];
        for (value, kind) in cases {
            assert_eq!(
                request_kind(&headers(CONTENT_TYPE, value)),
                Ok(Some(kind)),
                "{value}"
            );
        }
        assert_eq!(request_kind(&HeaderMap::new()), Ok(None));
    }

    #[test]
    fn other_content_types_are_unsupported() {
        assert!(request_kind(&headers(CONTENT_TYPE, "image/png")).is_err());
        assert!(request_kind(&headers(CONTENT_TYPE, "text/plain; charset=latin1")).is_err());
    }

    #[test]
    fn accept_picks_the_other_format_only_when_preferred() {
        let json = Accept::from_headers(&headers(ACCEPT, "application/json"));
        assert_eq!(json.choose(Format::Xml), Format::Json);
        assert_eq!(json.choose(Format::Json), Format::Json);
        let xml = Accept::from_headers(&headers(ACCEPT, "application/xml;q=0.9, */*;q=0.1"));
        assert_eq!(xml.choose(Format::Json), Format::Xml);
        let anything = Accept::from_headers(&HeaderMap::new());
        assert_eq!(anything.choose(Format::Xml), Format::Xml);
        assert_eq!(anything.choose(Format::Json), Format::Json);
        let weighted = Accept::from_headers(&headers(
            ACCEPT,
            "application/xml;q=0.5, application/json;q=0.8",
        ));
        assert_eq!(weighted.choose(Format::Xml), Format::Json);
    }

    #[test]
    fn text_xml_is_answered_as_text_xml() {
        let accept = Accept::from_headers(&headers(ACCEPT, "text/xml"));
        assert_eq!(accept.choose(Format::Json), Format::Xml);
        assert_eq!(accept.xml_content_type(), "text/xml; charset=utf-8");
    }

    #[test]
    fn errors_follow_accept_then_the_request_format() {
        let none = Accept::from_headers(&HeaderMap::new());
        assert_eq!(none.choose_for_error(Some(MediaKind::Xml)), Format::Xml);
        assert_eq!(none.choose_for_error(None), Format::Json);
        let xml = Accept::from_headers(&headers(ACCEPT, "application/xml"));
        assert_eq!(xml.choose_for_error(Some(MediaKind::Json)), Format::Xml);
    }

    #[test]
    fn error_bodies_escape_their_message() {
        let error = EventError::malformed("expected `<` & got \u{1}");
        let xml = String::from_utf8(error_body(&error, Format::Xml)).expect("UTF-8");
        assert_eq!(
            xml,
            "<errors><error><message>expected `&lt;` &amp; got \u{FFFD}</message><code>400</code></error></errors>"
        );
        let json: serde_json::Value =
            serde_json::from_slice(&error_body(&error, Format::Json)).expect("JSON");
        assert_eq!(json["errors"][0]["code"], "400");
        assert_eq!(json["errors"][0]["message"], "expected `<` & got \u{1}");
    }
}
