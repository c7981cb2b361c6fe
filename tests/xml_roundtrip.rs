//! Round-trip properties of the Xml ↔ Json conversions (xmltodict convention), on documents and
//! values from a small seeded generator:
//!
//! - a canonical document (attributes first, same-named children adjacent, text after children,
//!   no white space around text) survives XML → JSON → XML byte for byte;
//! - any other spelling of the same tree (quotes, character references, CDATA, comments, white
//!   space between elements) converts to the same JSON as the canonical spelling;
//! - canonical JSON (string values without surrounding white space, arrays of two or more
//!   items, no empty objects) survives JSON → XML → JSON, including through the envelope.
//!
//! Every case is derived from a seed; a failure prints it.

use compysition::xml::{json_to_xml, xml_to_json};
use compysition::Xml;
use serde_json::{Map, Value};

/// xorshift64*: small, seedable, good enough to pick shapes.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Self {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn chance(&mut self, percent: usize) -> bool {
        self.below(100) < percent
    }
    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

const NAMES: &[&str] = &[
    "a", "item", "p:order", "_x", "b-c.d", "été", "数据", "row", "v1", "q:z",
];

/// The prefixes in `NAMES`, declared on every generated root.
const DECLARATIONS: [(&str, &str); 2] = [("xmlns:p", "urn:p"), ("xmlns:q", "urn:q")];
const PIECES: &[&str] = &[
    "x",
    "hello",
    "1.5",
    "a b",
    "<",
    ">",
    "&",
    "\"",
    "'",
    "]]>",
    "é",
    "𝄞",
    "\r",
    "\n",
    "\t",
    "&amp;",
    "tab\there",
];

/// Text with no XML white space at either end (the convention strips it).
fn text(rng: &mut Rng) -> String {
    let mut s = String::new();
    for _ in 0..1 + rng.below(4) {
        let piece: &&str = rng.pick(PIECES);
        s.push_str(piece);
    }
    let trimmed = s.trim_matches([' ', '\t', '\n', '\r']);
    if trimmed.is_empty() {
        "t".to_string()
    } else {
        trimmed.to_string()
    }
}

/// Any text, for attribute values (not stripped).
fn attribute_value(rng: &mut Rng) -> String {
    (0..rng.below(4)).map(|_| *rng.pick(PIECES)).collect()
}

/// A tree in the shape the convention round-trips.
struct Element {
    name: String,
    attributes: Vec<(String, String)>,
    children: Vec<Element>,
    text: Option<String>,
}

fn element(rng: &mut Rng, name: &str, depth: usize) -> Element {
    let mut attributes: Vec<(String, String)> = Vec::new();
    if depth == 0 {
        for (key, uri) in DECLARATIONS {
            attributes.push((key.to_string(), uri.to_string()));
        }
    }
    for _ in 0..rng.below(3) {
        let key = rng.pick(NAMES).to_string();
        if attributes.iter().all(|(k, _)| *k != key) {
            attributes.push((key, attribute_value(rng)));
        }
    }
    let mut children = Vec::new();
    if depth < 4 && rng.chance(55) {
        let mut used: Vec<&str> = Vec::new();
        for _ in 0..1 + rng.below(3) {
            let child = *rng.pick(NAMES);
            if used.contains(&child) {
                continue;
            }
            used.push(child);
            for _ in 0..1 + rng.below(3) {
                children.push(element(rng, child, depth + 1));
            }
        }
    }
    let text = rng.chance(50).then(|| text(rng));
    Element {
        name: name.to_string(),
        attributes,
        children,
        text,
    }
}

fn escape(text: &str, attribute: bool) -> String {
    let mut out = String::new();
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' if attribute => out.push_str("&quot;"),
            '\t' if attribute => out.push_str("&#9;"),
            '\n' if attribute => out.push_str("&#10;"),
            '\r' => out.push_str("&#13;"),
            c => out.push(c),
        }
    }
    out
}

/// The canonical spelling: the one `json_to_xml` writes.
fn canonical(e: &Element, out: &mut String) {
    out.push('<');
    out.push_str(&e.name);
    for (k, v) in &e.attributes {
        out.push_str(&format!(" {k}=\"{}\"", escape(v, true)));
    }
    if e.children.is_empty() && e.text.is_none() {
        out.push_str("/>");
        return;
    }
    out.push('>');
    for child in &e.children {
        canonical(child, out);
    }
    if let Some(t) = &e.text {
        out.push_str(&escape(t, false));
    }
    out.push_str(&format!("</{}>", e.name));
}

/// Another spelling of the same tree.
fn varied(e: &Element, rng: &mut Rng, out: &mut String) {
    let space = |rng: &mut Rng| *rng.pick(&["", " ", "\n  ", "\r\n", "\t"]);
    out.push('<');
    out.push_str(&e.name);
    for (k, v) in &e.attributes {
        let quote = if rng.chance(50) { '"' } else { '\'' };
        let mut value = String::new();
        for c in v.chars() {
            match c {
                '&' => value.push_str("&amp;"),
                '<' => value.push_str("&lt;"),
                c if c == quote => value.push_str(&format!("&#{};", c as u32)),
                '\t' | '\n' | '\r' => value.push_str(&format!("&#x{:X};", c as u32)),
                c if rng.chance(10) => value.push_str(&format!("&#{};", c as u32)),
                c => value.push(c),
            }
        }
        out.push_str(&format!(
            "{}{k}{}={}{quote}{value}{quote}",
            " ".repeat(1 + rng.below(2)),
            space(rng),
            space(rng)
        ));
    }
    out.push_str(space(rng));
    if e.children.is_empty() && e.text.is_none() && rng.chance(50) {
        out.push_str("/>");
        return;
    }
    out.push('>');
    for child in &e.children {
        out.push_str(space(rng));
        if rng.chance(15) {
            out.push_str("<!-- a comment -->");
        }
        varied(child, rng, out);
    }
    out.push_str(space(rng));
    if let Some(t) = &e.text {
        if rng.chance(30) && !t.contains("]]>") && !t.contains('\r') {
            out.push_str(&format!("<![CDATA[{t}]]>"));
        } else {
            for c in t.chars() {
                match c {
                    '&' => out.push_str("&amp;"),
                    '<' => out.push_str("&lt;"),
                    '>' => out.push_str("&gt;"),
                    '\r' => out.push_str("&#13;"),
                    c if rng.chance(10) => out.push_str(&format!("&#x{:x};", c as u32)),
                    c => out.push(c),
                }
            }
        }
    }
    out.push_str(space(rng));
    out.push_str(&format!("</{}>", e.name));
}

fn parse(text: &str, seed: u64) -> Xml {
    Xml::parse(text.as_bytes())
        .unwrap_or_else(|e| panic!("seed {seed}: generated document rejected: {e}\n{text}"))
}

#[test]
fn canonical_documents_survive_xml_to_json_to_xml() {
    for seed in 0..600 {
        let mut rng = Rng::new(seed);
        let name = *rng.pick(NAMES);
        let root = element(&mut rng, name, 0);
        let mut document = String::new();
        canonical(&root, &mut document);
        let json = xml_to_json(&parse(&document, seed));
        let back = json_to_xml(&json).unwrap_or_else(|e| panic!("seed {seed}: {e}\n{json}"));
        assert_eq!(back.as_str(), document, "seed {seed}: via {json}");
    }
}

#[test]
fn every_spelling_of_a_tree_gives_the_same_json() {
    for seed in 0..600 {
        let mut rng = Rng::new(seed);
        let name = *rng.pick(NAMES);
        let root = element(&mut rng, name, 0);
        let mut plain = String::new();
        canonical(&root, &mut plain);
        let mut other = String::new();
        if rng.chance(50) {
            other.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
        }
        if rng.chance(30) {
            other.push_str("<!-- before --><?app data?>\n");
        }
        varied(&root, &mut rng, &mut other);
        other.push_str("\n<!-- after -->\n");
        assert_eq!(
            *xml_to_json(&parse(&other, seed)),
            *xml_to_json(&parse(&plain, seed)),
            "seed {seed}:\n{other}\nvs\n{plain}"
        );
    }
}

/// A value under an element key, in the shape the convention round-trips.
fn element_value(rng: &mut Rng, depth: usize) -> Value {
    match rng.below(if depth > 3 { 2 } else { 4 }) {
        0 => Value::Null,
        1 => Value::String(text(rng)),
        _ => {
            let mut fields = Map::new();
            for _ in 0..rng.below(3) {
                fields.insert(
                    format!("@{}", rng.pick(NAMES)),
                    Value::String(attribute_value(rng)),
                );
            }
            for _ in 0..rng.below(3) {
                let key = rng.pick(NAMES).to_string();
                let value = if rng.chance(30) {
                    Value::Array(
                        (0..2 + rng.below(2))
                            .map(|_| element_value(rng, depth + 1))
                            .collect(),
                    )
                } else {
                    element_value(rng, depth + 1)
                };
                fields.insert(key, value);
            }
            if fields.is_empty() {
                fields.insert("@id".into(), Value::String(text(rng)));
            }
            // Prefixed names need their namespaces declared where they are used.
            if fields
                .keys()
                .any(|k| k.contains(':') && !k.starts_with("@xmlns"))
            {
                for (key, uri) in DECLARATIONS {
                    fields.insert(format!("@{key}"), Value::String(uri.to_string()));
                }
            }
            if rng.chance(30) {
                fields.insert("#text".into(), Value::String(text(rng)));
            }
            Value::Object(fields)
        }
    }
}

fn json_value(rng: &mut Rng) -> Value {
    match rng.below(5) {
        // One root key: no envelope.
        0 | 1 => {
            let mut root = Map::new();
            // A prefixed root would need its declaration on itself, which a scalar cannot carry.
            let name = rng.pick(NAMES).replace(':', "_");
            root.insert(name, element_value(rng, 0));
            Value::Object(root)
        }
        // An array: wrapped twice.
        2 => Value::Array(
            (0..2 + rng.below(3))
                .map(|_| element_value(rng, 1))
                .collect(),
        ),
        // Several keys, or one key holding an array: wrapped once.
        3 => {
            let mut root = Map::new();
            root.insert("first".into(), element_value(rng, 1));
            if rng.chance(50) {
                root.insert("second".into(), element_value(rng, 1));
            } else {
                root.insert(
                    "first".into(),
                    Value::Array(
                        (0..2 + rng.below(2))
                            .map(|_| element_value(rng, 1))
                            .collect(),
                    ),
                );
            }
            Value::Object(root)
        }
        // A lone string.
        _ => Value::String(text(rng)),
    }
}

#[test]
fn canonical_json_survives_json_to_xml_to_json() {
    for seed in 0..600 {
        let mut rng = Rng::new(seed);
        let value = json_value(&mut rng);
        let xml = json_to_xml(&value).unwrap_or_else(|e| panic!("seed {seed}: {e}\n{value}"));
        // What json_to_xml writes is a document Xml::parse accepts.
        let reparsed = parse(xml.as_str(), seed);
        assert_eq!(*xml_to_json(&reparsed), value, "seed {seed}: via {xml}");
    }
}
