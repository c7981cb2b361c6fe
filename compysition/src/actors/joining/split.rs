//! `Splitter`: one event into many, one per item of a JSON array (at a JSON Pointer) or per
//! element an XPath 1.0 expression selects in an XML document.
//!
//! Each piece is a copy of the event with one item as its payload: same id and `meta_id`,
//! same attributes, extensions and reply slot (a request that is split is answered by what
//! its pieces become, once an [`Aggregator`](super::Aggregator) puts them back together), plus
//! the attributes [`SPLIT_INDEX`] (from `0`) and [`SPLIT_COUNT`].

use std::sync::Arc;

use crate::actor::{Actor, Context};
use crate::error::EventError;
use crate::event::Event;
use crate::json::Json;
use crate::port::{Inbox, Outbox};

/// The attribute with a piece's place among its siblings, from `0`.
pub const SPLIT_INDEX: &str = "split_index";

/// The attribute with the number of pieces the event was split into.
pub const SPLIT_COUNT: &str = "split_count";

/// Splits each event into one event per item of a JSON array ([`Splitter::json_pointer`]),
/// or per element an XPath expression selects in an XML document ([`Splitter::xpath`]).
///
/// An event whose pointer finds no array is a `Malformed` error (`400`); an empty array, or an
/// expression that selects nothing, sends nothing.
///
/// ```
/// use compysition::actors::Splitter;
///
/// let lines = Splitter::json_pointer("/order/lines");
/// # let _ = lines;
/// ```
#[derive(Clone, Debug)]
pub struct Splitter<T> {
    how: How,
    _payload: std::marker::PhantomData<fn(T)>,
}

#[derive(Clone, Debug)]
enum How {
    Pointer(Arc<str>),
    /// A stylesheet that copies every selected element under one root, in document order.
    #[cfg(feature = "xslt")]
    XPath(Arc<crate::xml::xslt::Xslt<Xml>>),
}

#[cfg(feature = "xslt")]
use crate::xml::Xml;

impl Splitter<Json> {
    /// One event per item of the array at `pointer` (RFC 6901: `""` is the whole document,
    /// `/order/lines` a member's member).
    pub fn json_pointer(pointer: &str) -> Self {
        Splitter {
            how: How::Pointer(Arc::from(pointer)),
            _payload: std::marker::PhantomData,
        }
    }
}

/// Copies of `event`'s envelope, one per item, each numbered.
fn pieces<T, U>(event: &Event<T>, items: Vec<U>) -> Vec<Event<U>> {
    let count = items.len().to_string();
    items
        .into_iter()
        .enumerate()
        .map(|(index, item)| {
            let mut piece = event.keep_envelope().with_data(item);
            piece.set_attribute(SPLIT_INDEX, index.to_string());
            piece.set_attribute(SPLIT_COUNT, count.clone());
            piece
        })
        .collect()
}

impl Actor for Splitter<Json> {
    type Inboxes = Inbox<Json>;
    type Outboxes = Outbox<Json>;

    async fn run(self, ctx: Context, inbox: Inbox<Json>, outbox: Outbox<Json>) {
        // Without the `xslt` feature a pointer is the only way to split.
        #[allow(irrefutable_let_patterns)]
        let How::Pointer(pointer) = &self.how
        else {
            unreachable!("a JSON splitter is made with a pointer")
        };
        let outbox = &outbox;
        ctx.serve(inbox, |event| async move {
            let items = match event.data.pointer(pointer) {
                Some(serde_json::Value::Array(items)) => items.clone(),
                _ => {
                    return Err(EventError::malformed(format!(
                        "no JSON array at `{pointer}` to split"
                    )))
                }
            };
            let items = items.into_iter().map(Json::new).collect();
            for piece in pieces(&event, items) {
                outbox.send(piece).await;
            }
            Ok(())
        })
        .await
    }
}

#[cfg(feature = "xslt")]
impl Splitter<Xml> {
    /// One event per element `expression` (XPath 1.0, by libxslt) selects, in document order:
    /// `/order/item`, `//line[@qty > 0]`. Each piece is the element with every namespace in
    /// scope declared on it, so it stands alone. [`Error::Compile`](crate::Error::Compile) for
    /// an expression that does not compile.
    pub fn xpath(expression: &str) -> crate::Result<Self> {
        Splitter::xpath_with(expression, &[])
    }

    /// [`xpath`](Self::xpath) with namespace prefixes bound for the expression.
    pub fn xpath_with(expression: &str, namespaces: &[(&str, &str)]) -> crate::Result<Self> {
        let stylesheet = split_stylesheet(expression, namespaces)?;
        Ok(Splitter {
            how: How::XPath(Arc::new(crate::xml::xslt::Xslt::compile(stylesheet)?)),
            _payload: std::marker::PhantomData,
        })
    }
}

/// The stylesheet that gathers what `expression` selects under one root element.
#[cfg(feature = "xslt")]
fn split_stylesheet(expression: &str, namespaces: &[(&str, &str)]) -> crate::Result<String> {
    let mut declarations = String::new();
    let mut prefixes = Vec::new();
    for (prefix, uri) in namespaces {
        if !crate::xml::is_name(prefix.as_bytes()) || prefix.contains(':') {
            return Err(crate::Error::Config {
                setting: "splitter namespace prefix".into(),
                message: format!("`{prefix}` is not a namespace prefix"),
            });
        }
        declarations.push_str(&format!(
            r#" xmlns:{prefix}="{}""#,
            crate::xml::escape_attribute(uri)
        ));
        prefixes.push(*prefix);
    }
    Ok(format!(
        concat!(
            r#"<xsl:stylesheet version="1.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform"{}"#,
            r#" exclude-result-prefixes="{}">"#,
            r#"<xsl:output method="xml" omit-xml-declaration="yes"/>"#,
            r#"<xsl:template match="/"><split><xsl:for-each select="{}">"#,
            r#"<xsl:copy-of select="."/></xsl:for-each></split></xsl:template>"#,
            "</xsl:stylesheet>"
        ),
        declarations,
        prefixes.join(" "),
        crate::xml::escape_attribute(expression)
    ))
}

#[cfg(feature = "xslt")]
impl Actor for Splitter<Xml> {
    type Inboxes = Inbox<Xml>;
    type Outboxes = Outbox<Xml>;

    async fn run(self, ctx: Context, inbox: Inbox<Xml>, outbox: Outbox<Xml>) {
        let How::XPath(stylesheet) = &self.how else {
            unreachable!("an XML splitter is made with an XPath expression")
        };
        let (outbox, pool) = (&outbox, &crate::pool::CpuPool::per_cpu());
        ctx.serve(inbox, |event| async move {
            let (stylesheet, document) = (Arc::clone(stylesheet), event.data.clone());
            let size = document.as_bytes().len();
            // Transforming parses the whole document: CPU work, off the async workers.
            let items = pool
                .run_until(size, event.deadline(), move || {
                    stylesheet.transform(&document)?.child_elements()
                })
                .await?;
            for piece in pieces(&event, items) {
                outbox.send(piece).await;
            }
            Ok(())
        })
        .await
    }
}

#[cfg(all(test, feature = "xslt"))]
mod tests {
    use super::*;

    fn split(splitter: &Splitter<Xml>, document: &str) -> Result<Vec<String>, EventError> {
        let How::XPath(stylesheet) = &splitter.how else {
            unreachable!("an XPath splitter")
        };
        let document = Xml::parse(document.as_bytes())?;
        let pieces = stylesheet.transform(&document)?.child_elements()?;
        Ok(pieces
            .iter()
            .map(|piece| piece.as_str().to_owned())
            .collect())
    }

    #[test]
    fn an_xpath_node_set_becomes_one_document_each_in_order() -> crate::Result<()> {
        let splitter = Splitter::xpath("/order/line[@qty > 0]")?;
        let pieces = split(
            &splitter,
            r#"<order id="7"><line qty="2">a</line><line qty="0">b</line><line qty="5"><sku>c</sku></line></order>"#,
        )
        .map_err(|e| crate::Error::Config { setting: "test".into(), message: e.to_string() })?;
        assert_eq!(
            pieces,
            [
                r#"<line qty="2">a</line>"#,
                r#"<line qty="5"><sku>c</sku></line>"#
            ]
        );
        Ok(())
    }

    #[test]
    fn pieces_carry_the_namespaces_they_use() -> crate::Result<()> {
        let splitter = Splitter::xpath_with("//o:line", &[("o", "urn:orders")])?;
        let pieces = split(
            &splitter,
            r#"<o:order xmlns:o="urn:orders" xmlns="urn:default"><o:line><note/></o:line></o:order>"#,
        )
        .map_err(|e| crate::Error::Config { setting: "test".into(), message: e.to_string() })?;
        assert_eq!(pieces.len(), 1);
        // Each piece parses alone, its prefix declared on it.
        assert!(pieces[0].starts_with("<o:line"), "{}", pieces[0]);
        assert!(
            pieces[0].contains(r#"xmlns:o="urn:orders""#),
            "{}",
            pieces[0]
        );
        Ok(())
    }

    #[test]
    fn an_expression_that_does_not_compile_or_a_bad_prefix_is_refused() {
        assert!(Splitter::xpath("/order/line[").is_err());
        assert!(Splitter::xpath_with("//x:a", &[("x y", "urn:x")]).is_err());
    }

    #[test]
    fn selecting_text_is_malformed() -> crate::Result<()> {
        let splitter = Splitter::xpath("/order/line/text()")?;
        assert!(split(&splitter, "<order><line>a</line></order>").is_err());
        Ok(())
    }
}
