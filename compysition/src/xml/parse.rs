//! The well-formedness check behind [`Xml::parse`](super::Xml::parse).
//!
//! `quick-xml` is a pull parser that checks the grammar of each tag it reads, but it leaves the
//! document-level rules to its caller: one root element, nothing but markup and white space
//! around it, names that are XML names, references to entities that exist, characters that XML
//! allows. This module adds those rules, so that an `Xml` value is a document every XML processor
//! (libxml2 among them) accepts.
//!
//! It is also where the safety rules for documents from outside live: entity declarations are
//! refused (no external entities, no entity-expansion bombs), a DOCTYPE is never loaded, nothing
//! is fetched, and nesting is bounded by [`MAX_DEPTH`] so that nothing downstream recurses
//! without bound. The shape of the document is bounded by [`XmlLimits`] in the same pass, so
//! that what reaches libxml2 cannot make it work out of proportion to its size.

use quick_xml::events::{BytesDecl, BytesRef, BytesStart, Event};
use quick_xml::Reader;

use super::limits::XmlLimits;
use crate::error::EventError;

/// The deepest element nesting a document may have. It is libxml2's own default limit, so a
/// document accepted here is one the XSLT engine accepts too.
pub const MAX_DEPTH: usize = 256;

/// A well-formedness error: where it is (a byte offset into the document) and what it is.
#[derive(Debug)]
pub(crate) struct Malformed {
    pub offset: usize,
    pub message: String,
}

impl Malformed {
    fn at(offset: u64, message: impl Into<String>) -> Self {
        Malformed {
            offset: usize::try_from(offset).unwrap_or(usize::MAX),
            message: message.into(),
        }
    }

    /// The error as a 400 naming line and column (both counted from 1; columns in characters).
    pub fn into_event_error(self, document: &[u8]) -> EventError {
        EventError::malformed(format!("malformed XML at {}", self.located(document)))
    }

    /// `line L, column C: message`, for the document the error was found in.
    pub(crate) fn located(&self, document: &[u8]) -> String {
        let (line, column) = line_and_column(document, self.offset);
        format!("line {line}, column {column}: {}", self.message)
    }
}

/// Line and column of a byte offset, counted from 1.
pub(crate) fn line_and_column(document: &[u8], offset: usize) -> (usize, usize) {
    let before = &document[..offset.min(document.len())];
    let line = 1 + before.iter().filter(|&&b| b == b'\n').count();
    let line_start = before
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(0, |newline| newline + 1);
    // Count characters, not bytes: continuation bytes of UTF-8 sequences do not start one.
    let column = 1 + before[line_start..]
        .iter()
        .filter(|&&b| (b & 0xC0) != 0x80)
        .count();
    (line, column)
}

/// The UTF-8 byte order mark, which a document may start with and which is not part of it.
pub(crate) const BOM: &[u8] = b"\xEF\xBB\xBF";

/// Checks that `document` (without a byte order mark) is a well-formed, UTF-8, self-contained
/// XML document within `limits`.
pub(crate) fn check_well_formed(document: &[u8], limits: &XmlLimits) -> Result<(), Malformed> {
    check_characters(document)?;
    let mut reader = Reader::from_reader(document);
    let config = reader.config_mut();
    config.check_end_names = true;
    config.check_comments = true;
    config.allow_dangling_amp = false;
    config.allow_unmatched_ends = false;

    let mut checker = Checker {
        ascii: document.is_ascii(),
        limits: *limits,
        depth: 0,
        elements: 0,
        text_run: 0,
        namespaces: Namespaces::default(),
        root_seen: false,
        doctype_seen: false,
    };
    loop {
        let start = reader.buffer_position();
        let event = match reader.read_event() {
            Ok(event) => event,
            Err(error) => return Err(Malformed::at(reader.error_position(), error.to_string())),
        };
        if checker.check(event, start)? {
            return Ok(());
        }
    }
}

/// The document-level state of the check, and the rules for each kind of event.
struct Checker {
    /// The document is plain ASCII (so any ASCII-compatible declared encoding reads the same).
    ascii: bool,
    limits: XmlLimits,
    depth: usize,
    /// Elements seen so far.
    elements: usize,
    /// Bytes of the text node being read (text, references and CDATA since the last markup).
    text_run: usize,
    namespaces: Namespaces,
    root_seen: bool,
    doctype_seen: bool,
}

impl Checker {
    /// Checks one event that starts at byte `start`; `true` once the document is complete.
    fn check(&mut self, event: Event<'_>, start: u64) -> Result<bool, Malformed> {
        // A text node may come in pieces (references and CDATA sections are events of their
        // own): its length is theirs together.
        let piece = match &event {
            Event::Text(text) => Some(text.len()),
            Event::CData(text) => Some(text.len()),
            Event::GeneralRef(reference) => Some(reference.len() + 2),
            _ => None,
        };
        match piece {
            Some(length) => self.text_piece(length, start)?,
            None => self.text_run = 0,
        }
        match event {
            Event::Decl(decl) => self.declaration(&decl, start)?,
            Event::DocType(doctype) => self.doctype(&doctype, start)?,
            Event::Start(tag) | Event::Empty(tag) if self.depth == 0 && self.root_seen => {
                return Err(Malformed::at(
                    start,
                    format!(
                        "a second root element <{}>; a document has exactly one",
                        String::from_utf8_lossy(tag.name().as_ref())
                    ),
                ));
            }
            Event::Start(tag) => self.open(&tag, start)?,
            Event::Empty(tag) => {
                self.count_element(start)?;
                check_tag(&tag, start, &self.limits, &mut self.namespaces)?;
                self.check_depth(self.depth + 1, start)?;
                self.namespaces.leave();
                self.root_seen = true;
            }
            Event::End(_) => {
                self.depth = self.depth.saturating_sub(1);
                self.namespaces.leave();
            }
            Event::Text(text) => self.text(&text, start)?,
            Event::GeneralRef(reference) => {
                if self.depth == 0 {
                    return Err(Malformed::at(start, "a reference outside the root element"));
                }
                check_reference(&reference).map_err(|message| Malformed::at(start, message))?;
            }
            Event::CData(_) if self.depth == 0 => {
                return Err(Malformed::at(start, "CDATA outside the root element"));
            }
            Event::PI(pi) => processing_instruction(pi.target(), start)?,
            Event::CData(_) | Event::Comment(_) => {}
            Event::Eof => return self.end(start).map(|()| true),
        }
        Ok(false)
    }

    /// The XML declaration: first in the document, a version, and an encoding that is UTF-8
    /// (or one that reads the same for a document in plain ASCII).
    fn declaration(&self, decl: &BytesDecl<'_>, start: u64) -> Result<(), Malformed> {
        if start != 0 {
            return Err(Malformed::at(
                start,
                "the XML declaration must be at the very start of the document",
            ));
        }
        if let Err(error) = decl.version() {
            return Err(Malformed::at(start, error.to_string()));
        }
        if let Some(encoding) = decl.encoding() {
            let encoding = encoding.map_err(|e| Malformed::at(start, e.to_string()))?;
            let utf8 =
                encoding.eq_ignore_ascii_case(b"utf-8") || encoding.eq_ignore_ascii_case(b"utf8");
            if !utf8 && !self.ascii {
                return Err(Malformed::at(
                    start,
                    format!(
                        "the document declares encoding \"{}\" but XML payloads are UTF-8",
                        String::from_utf8_lossy(&encoding)
                    ),
                ));
            }
        }
        Ok(())
    }

    /// A DOCTYPE: once, before the root, and declaring no entities.
    fn doctype(&mut self, doctype: &[u8], start: u64) -> Result<(), Malformed> {
        if self.root_seen || self.doctype_seen {
            return Err(Malformed::at(
                start,
                "a DOCTYPE may appear once, before the root element",
            ));
        }
        self.doctype_seen = true;
        if contains(doctype, b"<!ENTITY") {
            return Err(Malformed::at(
                start,
                "the DOCTYPE declares entities; entity declarations are refused \
                 (no external entities, no entity expansion)",
            ));
        }
        Ok(())
    }

    /// A start tag: its names and namespaces, and a nesting within [`XmlLimits::depth`].
    fn open(&mut self, tag: &BytesStart<'_>, start: u64) -> Result<(), Malformed> {
        self.count_element(start)?;
        check_tag(tag, start, &self.limits, &mut self.namespaces)?;
        self.root_seen = true;
        self.depth += 1;
        self.check_depth(self.depth, start)
    }

    /// An element at `depth` (the root is at 1), within [`XmlLimits::depth`]; an empty element
    /// counts as a level as much as one with content.
    fn check_depth(&self, depth: usize, start: u64) -> Result<(), Malformed> {
        if depth > self.limits.depth {
            return Err(Malformed::at(
                start,
                format!(
                    "elements nest deeper than {} levels (XmlLimits::depth)",
                    self.limits.depth
                ),
            ));
        }
        Ok(())
    }

    /// One more element, within [`XmlLimits::elements`].
    fn count_element(&mut self, start: u64) -> Result<(), Malformed> {
        self.elements += 1;
        if self.elements > self.limits.elements {
            return Err(Malformed::at(
                start,
                format!(
                    "the document has more than {} elements (XmlLimits::elements)",
                    self.limits.elements
                ),
            ));
        }
        Ok(())
    }

    /// A piece of a text node, which stays within [`XmlLimits::text_length`].
    fn text_piece(&mut self, length: usize, start: u64) -> Result<(), Malformed> {
        self.text_run = self.text_run.saturating_add(length);
        if self.text_run > self.limits.text_length {
            return Err(Malformed::at(
                start,
                format!(
                    "a text node longer than {} bytes (XmlLimits::text_length)",
                    self.limits.text_length
                ),
            ));
        }
        Ok(())
    }

    /// Text: only white space outside the root, no `]]>` inside it.
    fn text(&self, text: &[u8], start: u64) -> Result<(), Malformed> {
        if self.depth == 0 {
            if let Some(at) = text.iter().position(|b| !is_xml_space(*b)) {
                return Err(Malformed::at(
                    start + at as u64,
                    "text outside the root element",
                ));
            }
        } else if let Some(at) = find_cdata_end(text) {
            return Err(Malformed::at(
                start + at as u64,
                "\"]]>\" is not allowed in text",
            ));
        }
        Ok(())
    }

    /// The end of the input: every element closed, and there was one.
    fn end(&self, start: u64) -> Result<(), Malformed> {
        if self.depth > 0 {
            return Err(Malformed::at(start, "the document ends inside an element"));
        }
        if !self.root_seen {
            return Err(Malformed::at(start, "no root element"));
        }
        Ok(())
    }
}

/// A processing instruction has a target name, and that name is not `xml` (the declaration
/// belongs at the very start).
fn processing_instruction(target: &[u8], start: u64) -> Result<(), Malformed> {
    if target.eq_ignore_ascii_case(b"xml") {
        return Err(Malformed::at(
            start,
            "the XML declaration must be at the very start of the document",
        ));
    }
    if !is_name(target) {
        return Err(Malformed::at(
            start,
            "a processing instruction needs a target name",
        ));
    }
    Ok(())
}

/// Every character must be one XML allows: valid UTF-8, no control characters other than
/// tab, line feed and carriage return, no U+FFFE or U+FFFF.
fn check_characters(document: &[u8]) -> Result<(), Malformed> {
    if let Err(error) = std::str::from_utf8(document) {
        return Err(Malformed::at(
            error.valid_up_to() as u64,
            "the document is not valid UTF-8",
        ));
    }
    // A branch-free pass over fixed-size chunks (which the compiler vectorises) finds the chunks
    // that hold a control character or the lead byte of U+FFFE/U+FFFF; only those are looked at
    // byte by byte.
    const CHUNK: usize = 64;
    let suspicious = |b: u8| (b < 0x20 && b != b'\t' && b != b'\n' && b != b'\r') || b == 0xEF;
    for (index, chunk) in document.chunks(CHUNK).enumerate() {
        if !chunk.iter().fold(false, |found, &b| found | suspicious(b)) {
            continue;
        }
        let base = index * CHUNK;
        for (offset, &b) in chunk.iter().enumerate() {
            let at = base + offset;
            if b < 0x20 && !matches!(b, b'\t' | b'\n' | b'\r') {
                return Err(Malformed::at(
                    at as u64,
                    format!("character U+{b:04X} is not allowed in XML"),
                ));
            }
            // U+FFFE and U+FFFF are EF BF BE and EF BF BF in UTF-8.
            if let [0xEF, 0xBF, 0xBE | 0xBF, ..] = document[at..] {
                return Err(Malformed::at(
                    at as u64,
                    "characters U+FFFE and U+FFFF are not allowed in XML",
                ));
            }
        }
    }
    Ok(())
}

/// An element's name and attributes: names are XML names, attributes are unique, their values
/// hold no `<` and only references that resolve, and every namespace prefix is declared. The
/// element's namespace declarations enter `namespaces` (the caller leaves them at its end).
fn check_tag(
    tag: &BytesStart<'_>,
    start: u64,
    limits: &XmlLimits,
    namespaces: &mut Namespaces,
) -> Result<(), Malformed> {
    let name = tag.name();
    check_name_length(name.as_ref(), "element", start, limits)?;
    if !is_name(name.as_ref()) {
        return Err(Malformed::at(
            start,
            format!(
                "\"{}\" is not an element name",
                String::from_utf8_lossy(name.as_ref())
            ),
        ));
    }
    namespaces.enter();
    let mut prefixed_attributes = false;
    for (count, attribute) in tag.attributes().enumerate() {
        // Before the attribute is looked at (quick-xml's duplicate check among them): what an
        // element over the limit costs is bounded by the limit.
        if count == limits.attributes_per_element {
            return Err(Malformed::at(
                start,
                format!(
                    "element <{}> has more than {} attributes (XmlLimits::attributes_per_element)",
                    shown_name(name.as_ref()),
                    limits.attributes_per_element
                ),
            ));
        }
        let attribute = attribute.map_err(|e| Malformed::at(start, e.to_string()))?;
        let key = attribute.key.as_ref();
        check_name_length(key, "attribute", start, limits)?;
        if attribute.value.len() > limits.text_length {
            return Err(Malformed::at(
                start,
                format!(
                    "attribute \"{}\" is longer than {} bytes (XmlLimits::text_length)",
                    shown_name(key),
                    limits.text_length
                ),
            ));
        }
        if !is_name(key) {
            return Err(Malformed::at(
                start,
                format!(
                    "\"{}\" is not an attribute name",
                    String::from_utf8_lossy(key)
                ),
            ));
        }
        let value = &attribute.value;
        if value.contains(&b'<') {
            return Err(Malformed::at(
                start,
                format!(
                    "attribute \"{}\" contains \"<\"",
                    String::from_utf8_lossy(key)
                ),
            ));
        }
        check_references_in(value).map_err(|message| {
            Malformed::at(
                start,
                format!(
                    "in attribute \"{}\": {message}",
                    String::from_utf8_lossy(key)
                ),
            )
        })?;
        match split_qname(key) {
            Some((Some(b"xmlns"), prefix)) => namespaces
                .declare(prefix, value, limits)
                .map_err(|message| Malformed::at(start, message))?,
            Some((Some(_), _)) => prefixed_attributes = true,
            Some((None, _)) => {}
            None => return Err(not_a_qname(start, key)),
        }
    }
    // Declarations may follow their use in the same tag: check prefixes once all are in.
    match split_qname(name.as_ref()) {
        Some((Some(prefix), _)) => namespaces.check_in_scope(prefix, start)?,
        Some((None, _)) => {}
        None => return Err(not_a_qname(start, name.as_ref())),
    }
    if prefixed_attributes {
        for attribute in tag.attributes().with_checks(false).flatten() {
            if let Some((Some(prefix), _)) = split_qname(attribute.key.as_ref()) {
                if prefix != b"xmlns" {
                    namespaces.check_in_scope(prefix, start)?;
                }
            }
        }
    }
    Ok(())
}

/// A name within [`XmlLimits::name_length`].
fn check_name_length(
    name: &[u8],
    what: &str,
    start: u64,
    limits: &XmlLimits,
) -> Result<(), Malformed> {
    if name.len() <= limits.name_length {
        return Ok(());
    }
    Err(Malformed::at(
        start,
        format!(
            "an {what} name longer than {} bytes: \"{}\" (XmlLimits::name_length)",
            limits.name_length,
            shown_name(name)
        ),
    ))
}

/// A name for a message: lossy, and cut short when it is long (it may be what is too long).
fn shown_name(name: &[u8]) -> String {
    const SHOWN: usize = 40;
    if name.len() <= SHOWN {
        return String::from_utf8_lossy(name).into_owned();
    }
    let mut cut = SHOWN;
    while cut > 0 && (name[cut] & 0xC0) == 0x80 {
        cut -= 1;
    }
    format!("{}…", String::from_utf8_lossy(&name[..cut]))
}

/// `prefix:local` or `local`; `None` when the name is not a qualified name (`a:b:c`, `:a`, `a:`).
fn split_qname(name: &[u8]) -> Option<(Option<&[u8]>, &[u8])> {
    match name.iter().position(|&b| b == b':') {
        None => Some((None, name)),
        Some(colon) => {
            let (prefix, local) = (&name[..colon], &name[colon + 1..]);
            let valid = !prefix.is_empty() && !local.is_empty() && !local.contains(&b':');
            valid.then_some((Some(prefix), local))
        }
    }
}

fn not_a_qname(start: u64, name: &[u8]) -> Malformed {
    Malformed::at(
        start,
        format!(
            "\"{}\" is not a qualified name (prefix:local)",
            String::from_utf8_lossy(name)
        ),
    )
}

/// The namespace prefixes in scope, innermost last.
#[derive(Default)]
struct Namespaces {
    declared: Vec<Vec<u8>>,
    /// How many of `declared` each open element added.
    per_element: Vec<usize>,
}

impl Namespaces {
    fn enter(&mut self) {
        self.per_element.push(0);
    }

    fn leave(&mut self) {
        if let Some(count) = self.per_element.pop() {
            self.declared.truncate(self.declared.len() - count);
        }
    }

    /// Declares `prefix`, within [`XmlLimits::namespaces_in_scope`]: a prefix is looked up
    /// among those in scope (here and in libxml2) one by one, so their number bounds what each
    /// prefixed name costs.
    fn declare(&mut self, prefix: &[u8], uri: &[u8], limits: &XmlLimits) -> Result<(), String> {
        if self.declared.len() == limits.namespaces_in_scope {
            return Err(format!(
                "more than {} namespace declarations in scope (XmlLimits::namespaces_in_scope)",
                limits.namespaces_in_scope
            ));
        }
        let shown = String::from_utf8_lossy(prefix);
        if prefix == b"xmlns" {
            return Err("the prefix xmlns cannot be declared".into());
        }
        if prefix == b"xml" && uri != b"http://www.w3.org/XML/1998/namespace" {
            return Err("the prefix xml is bound to its own namespace only".into());
        }
        if uri.is_empty() {
            return Err(format!(
                "the prefix {shown} is declared with an empty namespace"
            ));
        }
        self.declared.push(prefix.to_vec());
        if let Some(count) = self.per_element.last_mut() {
            *count += 1;
        }
        Ok(())
    }

    fn check_in_scope(&self, prefix: &[u8], start: u64) -> Result<(), Malformed> {
        if prefix == b"xml" || self.declared.iter().any(|p| p == prefix) {
            return Ok(());
        }
        Err(Malformed::at(
            start,
            format!(
                "the namespace prefix {} is not declared",
                String::from_utf8_lossy(prefix)
            ),
        ))
    }
}

/// A reference in text (`quick-xml` hands over the part between `&` and `;`).
fn check_reference(reference: &BytesRef<'_>) -> Result<(), String> {
    check_reference_name(reference)
}

/// The name of a reference: a predefined entity or a character XML allows.
fn check_reference_name(name: &[u8]) -> Result<(), String> {
    if let Some(number) = name.strip_prefix(b"#") {
        let code = match number.strip_prefix(b"x") {
            Some(hex) => parse_number(hex, 16),
            None => parse_number(number, 10),
        };
        return match code.and_then(char::from_u32) {
            Some(c) if is_xml_char(c) => Ok(()),
            _ => Err(format!(
                "&{}; is not a reference to a character XML allows",
                String::from_utf8_lossy(name)
            )),
        };
    }
    match name {
        b"lt" | b"gt" | b"amp" | b"apos" | b"quot" => Ok(()),
        _ => Err(format!(
            "undefined entity &{};",
            String::from_utf8_lossy(name)
        )),
    }
}

/// References inside an attribute value.
fn check_references_in(value: &[u8]) -> Result<(), String> {
    let mut rest = value;
    while let Some(amp) = rest.iter().position(|&b| b == b'&') {
        let after = &rest[amp + 1..];
        let Some(semicolon) = after.iter().position(|&b| b == b';') else {
            return Err("\"&\" does not start a reference (write &amp;)".to_string());
        };
        check_reference_name(&after[..semicolon])?;
        rest = &after[semicolon + 1..];
    }
    Ok(())
}

fn parse_number(digits: &[u8], radix: u32) -> Option<u32> {
    if digits.is_empty() || digits.len() > 8 {
        return None;
    }
    let text = std::str::from_utf8(digits).ok()?;
    u32::from_str_radix(text, radix).ok()
}

/// The position of `]]>` in text, if any.
fn find_cdata_end(text: &[u8]) -> Option<usize> {
    let mut from = 0;
    while let Some(found) = text[from..].iter().position(|&b| b == b'>') {
        let at = from + found;
        if at >= 2 && &text[at - 2..at] == b"]]" {
            return Some(at - 2);
        }
        from = at + 1;
    }
    None
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack
        .windows(needle.len())
        .any(|window| window == needle)
}

pub(crate) fn is_xml_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r')
}

/// XML 1.0 `Char`.
fn is_xml_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..)
}

/// XML 1.0 `NameStartChar`.
fn is_name_start(c: char) -> bool {
    matches!(c,
        ':' | 'A'..='Z' | '_' | 'a'..='z'
        | '\u{C0}'..='\u{D6}' | '\u{D8}'..='\u{F6}' | '\u{F8}'..='\u{2FF}'
        | '\u{370}'..='\u{37D}' | '\u{37F}'..='\u{1FFF}' | '\u{200C}'..='\u{200D}'
        | '\u{2070}'..='\u{218F}' | '\u{2C00}'..='\u{2FEF}' | '\u{3001}'..='\u{D7FF}'
        | '\u{F900}'..='\u{FDCF}' | '\u{FDF0}'..='\u{FFFD}' | '\u{10000}'..='\u{EFFFF}')
}

/// XML 1.0 `NameChar`.
fn is_name_char(c: char) -> bool {
    is_name_start(c)
        || matches!(c, '-' | '.' | '0'..='9' | '\u{B7}' | '\u{300}'..='\u{36F}' | '\u{203F}'..='\u{2040}')
}

/// `NameStartChar` (bit 0) and `NameChar` (bit 1) for each ASCII byte.
const ASCII_NAME: [u8; 128] = {
    let mut table = [0u8; 128];
    let mut b = 0;
    while b < 128 {
        let c = b as u8;
        let start = c == b':' || c == b'_' || c.is_ascii_alphabetic();
        let other = start || c == b'-' || c == b'.' || c.is_ascii_digit();
        table[b] = (start as u8) | ((other as u8) << 1);
        b += 1;
    }
    table
};

/// Whether `name` is an XML 1.0 `Name`.
pub(crate) fn is_name(name: &[u8]) -> bool {
    // ASCII names, by far the most common, need no decoding.
    if name.is_ascii() {
        return match name.split_first() {
            Some((&first, rest)) => {
                ASCII_NAME[first as usize] & 1 != 0
                    && rest.iter().all(|&b| ASCII_NAME[b as usize] & 2 != 0)
            }
            None => false,
        };
    }
    let Ok(name) = std::str::from_utf8(name) else {
        return false;
    };
    let mut chars = name.chars();
    chars.next().is_some_and(is_name_start) && chars.all(is_name_char)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(document: &[u8]) -> Result<(), Malformed> {
        check_well_formed(document, &XmlLimits::DEFAULT)
    }

    fn error(document: &str) -> String {
        check(document.as_bytes())
            .expect_err("malformed")
            .into_event_error(document.as_bytes())
            .message()
            .to_string()
    }

    #[test]
    fn well_formed_documents_pass() {
        for document in [
            "<a/>",
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<a x='1' y=\"&lt;&#65;&#x42;\">t&amp;<b/><![CDATA[<>]]></a>\n",
            "<!-- c --><?pi data?><!DOCTYPE a SYSTEM \"a.dtd\"><a>é</a><!-- after -->",
            "<p:a xmlns:p='urn:p'><p:b p:c='d'/></p:a>",
        ] {
            assert!(check(document.as_bytes()).is_ok(), "{document}");
        }
    }

    #[test]
    fn errors_name_line_and_column() {
        let message = error("<a>\n  <b></c>\n</a>");
        assert!(
            message.starts_with("malformed XML at line 2, column "),
            "{message}"
        );
        assert_eq!(
            error("<order>\n  <item>tea</order>"),
            "malformed XML at line 2, column 12: ill-formed document: \
             expected `</item>`, but `</order>` was found"
        );
    }

    #[test]
    fn columns_count_characters() {
        assert_eq!(line_and_column("ééé<".as_bytes(), 6), (1, 4));
        assert_eq!(line_and_column(b"a\nbc", 3), (2, 2));
    }

    #[test]
    fn namespace_prefixes_must_be_declared() {
        assert!(error("<p:a/>").contains("prefix p is not declared"));
        assert!(error("<a p:x='1'/>").contains("prefix p is not declared"));
        assert!(error("<a><p:b xmlns:p='u'/><p:c/></a>").contains("prefix p is not declared"));
        assert!(error("<a xmlns:p=''/>").contains("empty namespace"));
        assert!(error("<a:b:c xmlns:a='u'/>").contains("not a qualified name"));
        for fine in [
            "<p:a xmlns:p='u' p:x='1'/>",
            "<p:a p:x='1' xmlns:p='u'><p:b/></p:a>",
            "<a xml:lang='en'/>",
            "<a xmlns='u'><b/></a>",
        ] {
            assert!(check(fine.as_bytes()).is_ok(), "{fine}");
        }
    }

    #[test]
    fn entity_declarations_are_refused() {
        let message = error("<!DOCTYPE a [<!ENTITY x SYSTEM \"file:///etc/hostname\">]><a>&x;</a>");
        assert!(message.contains("declares entities"), "{message}");
    }

    #[test]
    fn undefined_entities_are_refused() {
        assert!(error("<a>&nbsp;</a>").contains("undefined entity &nbsp;"));
        assert!(error("<a b='&x;'/>").contains("undefined entity &x;"));
    }

    #[test]
    fn document_structure_is_checked() {
        assert!(error("<a/><b/>").contains("second root"));
        assert!(error("text<a/>").contains("text outside"));
        assert!(error("<a>").contains("ends inside"));
        assert!(error("").contains("no root"));
        assert!(error("<1a/>").contains("not an element name"));
        assert!(error("<a x='1' x='2'/>").contains("duplicate"));
        assert!(error("<a x='<'/>").contains("contains \"<\""));
        assert!(error("<a>]]></a>").contains("]]>"));
        assert!(error("<a/>\n<?xml version='1.0'?>").contains("very start"));
    }

    #[test]
    fn forbidden_characters_are_refused() {
        assert!(error("<a>\u{1}</a>").contains("U+0001"));
        assert!(error("<a>&#0;</a>").contains("character XML allows"));
        let invalid = b"<a>\xff</a>";
        let message = check(invalid)
            .expect_err("invalid UTF-8")
            .into_event_error(invalid);
        assert!(message.message().contains("line 1, column 4"), "{message}");
        assert!(message.message().contains("UTF-8"), "{message}");
    }

    #[test]
    fn the_ascii_name_table_agrees_with_the_grammar() {
        for b in 0u8..128 {
            let c = b as char;
            assert_eq!(is_name(&[b]), is_name_start(c), "{c:?}");
            assert_eq!(is_name(&[b'a', b]), is_name_char(c), "{c:?}");
        }
    }

    #[test]
    fn a_control_character_is_found_in_any_chunk() {
        let mut document = format!("<a>{}</a>", "x".repeat(300)).into_bytes();
        document[200] = 0x0B;
        let error = check(&document).expect_err("control character");
        assert_eq!(error.offset, 200);
        let mut document = format!("<a>{}</a>", "x".repeat(300)).into_bytes();
        document[126..129].copy_from_slice("\u{FFFF}".as_bytes());
        assert_eq!(check(&document).expect_err("U+FFFF").offset, 126);
    }

    #[test]
    fn depth_is_bounded() {
        let deep = format!(
            "{}{}",
            "<a>".repeat(MAX_DEPTH + 1),
            "</a>".repeat(MAX_DEPTH + 1)
        );
        assert!(error(&deep).contains("deeper than"));
        let fits = format!("{}{}", "<a>".repeat(MAX_DEPTH), "</a>".repeat(MAX_DEPTH));
        assert!(check(fits.as_bytes()).is_ok());
    }

    #[test]
    fn a_non_utf8_encoding_is_refused_for_non_ascii_documents() {
        assert!(error("<?xml version='1.0' encoding='ISO-8859-1'?><a>é</a>")
            .contains("declares encoding"));
        assert!(check(b"<?xml version='1.0' encoding='ISO-8859-1'?><a>e</a>").is_ok());
    }

    /// The message of a document checked within `limits`, or `None` when it passes.
    fn limited(document: &str, limits: XmlLimits) -> Option<String> {
        check_well_formed(document.as_bytes(), &limits)
            .err()
            .map(|e| {
                e.into_event_error(document.as_bytes())
                    .message()
                    .to_string()
            })
    }

    fn with_attributes(count: usize) -> String {
        let attributes: String = (0..count).map(|i| format!(" a{i}='{i}'")).collect();
        format!("<r><e{attributes}/></r>")
    }

    #[test]
    fn attributes_per_element_are_bounded() {
        let limits = XmlLimits::DEFAULT;
        assert_eq!(limited(&with_attributes(256), limits), None);
        let message = limited(&with_attributes(257), limits).expect("over the limit");
        assert!(
            message.ends_with(
                "element <e> has more than 256 attributes (XmlLimits::attributes_per_element)"
            ),
            "{message}"
        );
        let three = limits.attributes_per_element(3);
        assert_eq!(limited(&with_attributes(3), three), None);
        assert!(limited(&with_attributes(4), three)
            .is_some_and(|m| m.contains("more than 3 attributes")));
        // Namespace declarations are attributes too.
        assert!(limited("<p:e xmlns:p='u' a='1' b='2' c='3'/>", three).is_some());
    }

    #[test]
    fn elements_are_bounded() {
        let limits = XmlLimits::DEFAULT.elements(3);
        assert_eq!(limited("<a><b/><c></c></a>", limits), None);
        let message = limited("<a><b/><c></c><d/></a>", limits).expect("over the limit");
        assert!(
            message.contains(
                "line 1, column 15: the document has more than 3 elements \
                 (XmlLimits::elements)"
            ),
            "{message}"
        );
        assert!(limited("<a><b></b><c/><d></d></a>", limits).is_some());
    }

    #[test]
    fn name_lengths_are_bounded() {
        let limits = XmlLimits::DEFAULT;
        let at = "n".repeat(1024);
        assert_eq!(limited(&format!("<{at} {at}='1'/>"), limits), None);
        let over = "n".repeat(1025);
        let message = limited(&format!("<{over}/>"), limits).expect("element name");
        assert!(
            message.contains("an element name longer than 1024 bytes: \"nnnn")
                && message.ends_with("…\" (XmlLimits::name_length)"),
            "{message}"
        );
        let message = limited(&format!("<a {over}='1'/>"), limits).expect("attribute name");
        assert!(
            message.contains("an attribute name longer than 1024"),
            "{message}"
        );
        let short = limits.name_length(2);
        assert_eq!(limited("<ab cd='1'/>", short), None);
        assert!(limited("<ab cde='1'/>", short).is_some());
        // A prefix counts.
        assert!(limited("<p:a xmlns:p='u'/>", short.name_length(3)).is_some());
    }

    #[test]
    fn text_lengths_are_bounded() {
        let limits = XmlLimits::DEFAULT.text_length(10);
        assert_eq!(limited("<a>0123456789</a>", limits), None);
        let message = limited("<a>0123456789X</a>", limits).expect("text");
        assert!(
            message.ends_with("a text node longer than 10 bytes (XmlLimits::text_length)"),
            "{message}"
        );
        // References and CDATA sections are pieces of the same text node, as written.
        assert_eq!(limited("<a>01&amp;567</a>", limits), None);
        assert!(limited("<a>01&amp;5678</a>", limits).is_some());
        assert!(limited("<a>01<![CDATA[23456]]>7890</a>", limits).is_some());
        // Markup ends a text node.
        assert_eq!(limited("<a>0123456789<b/>0123456789</a>", limits), None);
        assert_eq!(limited("<a b='0123456789'/>", limits), None);
        let message = limited("<a b='0123456789X'/>", limits).expect("attribute value");
        assert!(
            message.ends_with("attribute \"b\" is longer than 10 bytes (XmlLimits::text_length)"),
            "{message}"
        );
    }

    #[test]
    fn namespace_declarations_in_scope_are_bounded() {
        let two = XmlLimits::DEFAULT.namespaces_in_scope(2);
        // Declarations leave scope with their element.
        let fine = "<a xmlns:p='u'><b xmlns:q='u'/><c xmlns:q='u'/></a>";
        assert_eq!(limited(fine, two), None);
        let message = limited(
            "<a xmlns:p='u'><b xmlns:q='u'><c xmlns:r='u'/></b></a>",
            two,
        )
        .expect("over");
        assert!(
            message.ends_with(
                "more than 2 namespace declarations in scope (XmlLimits::namespaces_in_scope)"
            ),
            "{message}"
        );
        let declarations: String = (0..256).map(|i| format!(" xmlns:p{i}='u'")).collect();
        let document = format!("<a{declarations}/>");
        assert_eq!(limited(&document, XmlLimits::DEFAULT), None);
        let document = format!("<a{declarations}><b xmlns:q='u'/></a>");
        assert!(limited(&document, XmlLimits::DEFAULT).is_some());
    }

    #[test]
    fn depth_can_be_lowered_but_not_raised() {
        let two = XmlLimits::DEFAULT.depth(2);
        assert_eq!(limited("<a><b/></a>", two), None);
        assert!(limited("<a><b><c/></b></a>", two)
            .is_some_and(|m| m.ends_with("elements nest deeper than 2 levels (XmlLimits::depth)")));
        assert_eq!(XmlLimits::DEFAULT.depth(100_000), XmlLimits::DEFAULT);
    }
}
