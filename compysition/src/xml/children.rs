//! The child elements of a document's root, as documents of their own: how the XPath
//! [`Splitter`](crate::actors::Splitter) cuts the `<split>` its stylesheet made into pieces.

use std::ops::Range;

use quick_xml::events::Event;
use quick_xml::Reader;

use super::Xml;
use crate::error::EventError;

impl Xml {
    /// The root's child elements, each a document of its own (with the namespace declarations
    /// it carries itself: a child that uses a prefix declared on the root does not parse
    /// alone). Text between them must be white space; comments and processing instructions
    /// are skipped.
    pub(crate) fn child_elements(&self) -> Result<Vec<Xml>, EventError> {
        let ranges = child_ranges(self.as_bytes())?;
        let document = self.clone().into_bytes();
        ranges
            .into_iter()
            .map(|range| Xml::from_bytes(document.slice(range)))
            .collect()
    }
}

/// Where each child element of the root starts and ends.
fn child_ranges(document: &[u8]) -> Result<Vec<Range<usize>>, EventError> {
    let mut reader = Reader::from_reader(document);
    let mut ranges = Vec::new();
    let mut depth = 0usize;
    let mut start = 0usize;
    loop {
        let before = position(&reader);
        let event = reader
            .read_event()
            .map_err(|error| EventError::malformed(format!("malformed XML: {error}")))?;
        let after = position(&reader);
        match event {
            Event::Start(_) => {
                if depth == 1 {
                    start = before;
                }
                depth += 1;
            }
            Event::End(_) => {
                depth = depth.saturating_sub(1);
                if depth == 1 {
                    ranges.push(start..after);
                }
            }
            Event::Empty(_) if depth == 1 => ranges.push(before..after),
            Event::Text(text) if depth == 1 && !text.iter().all(u8::is_ascii_whitespace) => {
                return Err(EventError::malformed(
                    "the nodes to split into include text; select elements",
                ));
            }
            Event::CData(_) | Event::GeneralRef(_) if depth == 1 => {
                return Err(EventError::malformed(
                    "the nodes to split into include text; select elements",
                ));
            }
            Event::Eof => return Ok(ranges),
            _ => {}
        }
    }
}

fn position(reader: &Reader<&[u8]>) -> usize {
    usize::try_from(reader.buffer_position()).unwrap_or(usize::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_child_of_the_root_is_a_document() {
        let xml = Xml::parse(b"<split>\n <a x='1'><b/></a><c/>\n<!-- note --><d>t</d></split>")
            .expect("well-formed");
        let children: Vec<String> = xml
            .child_elements()
            .expect("elements")
            .iter()
            .map(|child| child.as_str().to_owned())
            .collect();
        assert_eq!(children, ["<a x='1'><b/></a>", "<c/>", "<d>t</d>"]);
    }

    #[test]
    fn text_among_the_children_is_refused() {
        let xml = Xml::parse(b"<split><a/>loose</split>").expect("well-formed");
        assert!(xml.child_elements().is_err());
    }
}
