//! [`XmlLimits`]: bounds on the shape of a document, checked by the well-formedness check before
//! anything else (libxml2 among the rest) sees the document.
//!
//! The size of a document is bounded where it is received (a body limit, a frame limit); what
//! these bound is what a document of an accepted size can make the parsers after us do.
//! libxml2 2.9 checks an element's attributes for duplicates by comparing each with all before
//! it, so one element with 10 000 attributes costs it a quarter of a second and 30 000 about
//! seven: quadratic in the attributes of one element. It looks namespace prefixes up among
//! all those in scope, one by one: quadratic again. The other limits bound the memory and time
//! a document of small pieces costs the trees built from it, and refuse shapes no real document
//! has before they cost anything.

use super::parse::MAX_DEPTH;

/// Bounds on the shape of an XML document, checked in the same linear pass as its
/// well-formedness (see [`Xml::from_bytes_with`](super::Xml::from_bytes_with)). A document over
/// a limit is a 400 naming the limit and its value.
///
/// The defaults are far above what real documents reach, and low enough that no document
/// within them makes libxml2 or the JSON conversion slow out of proportion to its size:
///
/// | limit | default | why |
/// | --- | --- | --- |
/// | [`attributes_per_element`](Self::attributes_per_element) | 256 | real vocabularies use a few dozen at most; libxml2's duplicate check is quadratic in this: elements of 256 attributes cost it 53 ns a byte, about what elements of 16 do (46), elements of 1 000 cost 150 and of 10 000 1 160 |
/// | [`elements`](Self::elements) | 10 000 000 | a 50 MiB document of small records (3.4 million elements) passes with room; each element costs a tree about 120 bytes |
/// | [`name_length`](Self::name_length) | 1 024 bytes | element and attribute names are words, not data |
/// | [`text_length`](Self::text_length) | 64 MiB | one text node or attribute value: room for embedded (base64) attachments |
/// | [`namespaces_in_scope`](Self::namespaces_in_scope) | 256 | documents declare a few dozen; libxml2 looks a prefix up among those in scope one by one (62 000 in scope made a 2.4 MB document cost it 24 s) |
/// | [`depth`](Self::depth) | [`MAX_DEPTH`] (256) | libxml2's own limit; it can be lowered, not raised |
///
/// ```
/// use compysition::xml::XmlLimits;
/// use compysition::{Bytes, ErrorKind, Xml};
///
/// let limits = XmlLimits::default().attributes_per_element(2);
/// let error = Xml::from_bytes_with(Bytes::from_static(b"<a x='1' y='2' z='3'/>"), &limits)
///     .unwrap_err();
/// assert_eq!(error.kind(), ErrorKind::Malformed);
/// assert!(error.message().contains("(XmlLimits::attributes_per_element)"));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct XmlLimits {
    pub(crate) attributes_per_element: usize,
    pub(crate) elements: usize,
    pub(crate) name_length: usize,
    pub(crate) text_length: usize,
    pub(crate) namespaces_in_scope: usize,
    pub(crate) depth: usize,
}

impl XmlLimits {
    /// The defaults (see the table above).
    pub const DEFAULT: XmlLimits = XmlLimits {
        attributes_per_element: 256,
        elements: 10_000_000,
        name_length: 1024,
        text_length: 64 * 1024 * 1024,
        namespaces_in_scope: 256,
        depth: MAX_DEPTH,
    };

    /// No bounds but the depth, for documents this crate writes itself (whose shape comes from
    /// a payload that was bounded when it came in).
    pub(crate) const UNBOUNDED: XmlLimits = XmlLimits {
        attributes_per_element: usize::MAX,
        elements: usize::MAX,
        name_length: usize::MAX,
        text_length: usize::MAX,
        namespaces_in_scope: usize::MAX,
        depth: MAX_DEPTH,
    };

    /// The most attributes (namespace declarations included) one element may have.
    #[must_use]
    pub const fn attributes_per_element(mut self, attributes: usize) -> Self {
        self.attributes_per_element = attributes;
        self
    }

    /// The most elements a document may have.
    #[must_use]
    pub const fn elements(mut self, elements: usize) -> Self {
        self.elements = elements;
        self
    }

    /// The longest element or attribute name (prefix included), in bytes.
    #[must_use]
    pub const fn name_length(mut self, bytes: usize) -> Self {
        self.name_length = bytes;
        self
    }

    /// The longest text node (its character data, references and CDATA sections between two
    /// pieces of markup) and the longest attribute value, in bytes as written.
    #[must_use]
    pub const fn text_length(mut self, bytes: usize) -> Self {
        self.text_length = bytes;
        self
    }

    /// The most namespace declarations in scope at once (on an element and those around it).
    #[must_use]
    pub const fn namespaces_in_scope(mut self, declarations: usize) -> Self {
        self.namespaces_in_scope = declarations;
        self
    }

    /// The deepest element nesting, at most [`MAX_DEPTH`]: a larger value is taken as
    /// `MAX_DEPTH`, because libxml2 refuses deeper documents and the trees built from them are
    /// taken apart recursively.
    #[must_use]
    pub const fn depth(mut self, depth: usize) -> Self {
        self.depth = if depth < MAX_DEPTH { depth } else { MAX_DEPTH };
        self
    }
}

impl Default for XmlLimits {
    fn default() -> Self {
        XmlLimits::DEFAULT
    }
}
