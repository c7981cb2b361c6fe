//! XPath 1.0 on libxml2: [`XPath`], a compiled expression with its namespace bindings (what the
//! router's XPath filters and the HTTP status setter evaluate), and the attribute modifier:
//! [`XPathAttributeModifier`] sets an event attribute from an expression evaluated on the
//! event's `Xml`, so that routing and logging can use a value buried in the payload without
//! parsing it again. An expression is compiled once.

use std::ffi::CString;
use std::fmt;
use std::sync::Arc;

use super::ffi::{namespace_strings, parse_option, RawXPath};
use super::Xml;
use crate::actor::{Actor, Context};
use crate::error::{Error, EventError};
use crate::pool::CpuPool;
use crate::port::{Inbox, Outbox};

/// A compiled XPath 1.0 expression and its namespace bindings, shared on clone.
///
/// Each evaluation parses the document (libxml2 works on its own tree, which the `Xml` payload
/// does not keep), without network access: CPU work that callers put on the
/// [`CpuPool`](crate::pool::CpuPool) for large documents.
#[derive(Clone)]
pub(crate) struct XPath {
    /// The expression as the user wrote it, for messages.
    expression: Arc<str>,
    compiled: Arc<RawXPath>,
    namespaces: Arc<Vec<CString>>,
}

impl XPath {
    /// Compiles `expression` with `namespaces` bound as (prefix, URI); [`Error::Compile`] if it
    /// does not compile, [`Error::Config`] for a binding libxml2 cannot take (a NUL inside).
    pub(crate) fn compile(expression: &str, namespaces: &[(&str, &str)]) -> crate::Result<Self> {
        Self::compile_as(expression, expression, namespaces)
    }

    /// An expression whose string value is `"true"` when `expression` holds by XPath's
    /// `boolean()`: a node-set that is not empty, a number that is not zero or NaN, a string
    /// that is not empty. `expression` is compiled alone first, so that only a complete
    /// expression is taken (not one that completes only inside the wrapping parentheses).
    pub(crate) fn predicate(expression: &str, namespaces: &[(&str, &str)]) -> crate::Result<Self> {
        Self::compile(expression, namespaces)?;
        Self::compile_as(&format!("boolean({expression})"), expression, namespaces)
    }

    fn compile_as(
        source: &str,
        expression: &str,
        namespaces: &[(&str, &str)],
    ) -> crate::Result<Self> {
        let compiled = RawXPath::compile(source).map_err(|messages| Error::Compile {
            what: format!("XPath \"{expression}\""),
            message: messages,
        })?;
        let pairs: Vec<(String, String)> = namespaces
            .iter()
            .map(|(prefix, uri)| ((*prefix).to_owned(), (*uri).to_owned()))
            .collect();
        let namespaces = namespace_strings(&pairs).map_err(|message| Error::Config {
            setting: "XPath namespace binding".to_owned(),
            message,
        })?;
        Ok(XPath {
            expression: Arc::from(expression),
            compiled: Arc::new(compiled),
            namespaces: Arc::new(namespaces),
        })
    }

    /// The expression as written.
    pub(crate) fn expression(&self) -> &str {
        &self.expression
    }

    /// Binds one more namespace prefix.
    fn bind(&mut self, prefix: &str, uri: &str) -> crate::Result<()> {
        let pair =
            namespace_strings(&[(prefix.to_owned(), uri.to_owned())]).map_err(|message| {
                Error::Config {
                    setting: "XPath namespace binding".to_owned(),
                    message,
                }
            })?;
        Arc::make_mut(&mut self.namespaces).extend(pair);
        Ok(())
    }

    /// XPath's `string()` of the expression on `document`; a 400 when it cannot be evaluated
    /// (an unbound prefix, an unknown function), with libxml2's messages.
    pub(crate) fn string(&self, document: &Xml) -> Result<String, EventError> {
        self.compiled
            .string_value(document.as_bytes(), parse_option::NONET, &self.namespaces)
            .map_err(|messages| {
                EventError::malformed(format!(
                    "XPath \"{}\" could not be evaluated:\n{messages}",
                    self.expression
                ))
            })
    }

    /// Whether a [`predicate`](Self::predicate) holds on `document`.
    pub(crate) fn holds(&self, document: &Xml) -> Result<bool, EventError> {
        Ok(self.string(document)? == "true")
    }
}

impl fmt::Debug for XPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "XPath({:?})", self.expression)
    }
}

/// Sets an attribute to the string value of an XPath expression on each `Xml` event.
///
/// The string value is XPath's `string()`: the text of the first node selected, a number or
/// boolean as text, `""` when nothing matches. With [`required`](Self::required), an empty
/// value is a 400 instead.
///
/// ```
/// use compysition::actors::XPathAttributeModifier;
///
/// let order_id = XPathAttributeModifier::new("order_id", "/p:order/@id")?
///     .namespace("p", "urn:orders")?
///     .required(true);
/// # let _ = order_id;
/// # Ok::<(), compysition::Error>(())
/// ```
#[derive(Clone)]
pub struct XPathAttributeModifier {
    attribute: Arc<str>,
    xpath: XPath,
    required: bool,
}

impl fmt::Debug for XPathAttributeModifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("XPathAttributeModifier")
            .field("attribute", &self.attribute)
            .field("expression", &self.xpath.expression())
            .field("required", &self.required)
            .finish()
    }
}

impl XPathAttributeModifier {
    /// Sets `attribute` from `expression`; [`Error::Compile`] if it does not compile.
    pub fn new(attribute: &str, expression: &str) -> crate::Result<Self> {
        Ok(XPathAttributeModifier {
            attribute: Arc::from(attribute),
            xpath: XPath::compile(expression, &[])?,
            required: false,
        })
    }

    /// Binds a namespace prefix for the expression.
    pub fn namespace(mut self, prefix: &str, uri: &str) -> crate::Result<Self> {
        self.xpath.bind(prefix, uri)?;
        Ok(self)
    }

    /// Whether an empty value is an error (400) rather than an empty attribute.
    pub fn required(mut self, required: bool) -> Self {
        self.required = required;
        self
    }

    /// The value for one document.
    pub fn evaluate(&self, document: &Xml) -> Result<String, EventError> {
        let value = self.xpath.string(document)?;
        if self.required && value.is_empty() {
            return Err(EventError::malformed(format!(
                "XPath \"{}\" selects nothing in the document (attribute \"{}\" is required)",
                self.xpath.expression(),
                self.attribute
            )));
        }
        Ok(value)
    }
}

impl Actor for XPathAttributeModifier {
    type Inboxes = Inbox<Xml>;
    type Outboxes = Outbox<Xml>;

    async fn run(self, ctx: Context, inbox: Inbox<Xml>, outbox: Outbox<Xml>) {
        let this = &self;
        let outbox = &outbox;
        let pool = &CpuPool::per_cpu();
        ctx.serve(inbox, |mut event| async move {
            let modifier = this.clone();
            let document = event.data.clone();
            // Evaluating parses the whole document: CPU work, off the async workers.
            let size = document.as_bytes().len();
            let value = pool
                .run_until(size, event.deadline(), move || modifier.evaluate(&document))
                .await?;
            event.set_attribute(&*this.attribute, value);
            outbox.send(event).await;
            Ok(())
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xpath_values_use_namespaces() {
        let modifier = XPathAttributeModifier::new("id", "/p:order/@id")
            .expect("compiles")
            .namespace("p", "urn:orders")
            .expect("valid prefix");
        let document = Xml::parse(b"<order xmlns='urn:orders' id='42'/>").expect("xml");
        assert_eq!(modifier.evaluate(&document).expect("evaluates"), "42");
    }

    #[test]
    fn a_required_xpath_value_that_is_missing_is_a_400() {
        let modifier = XPathAttributeModifier::new("id", "/order/@id")
            .expect("compiles")
            .required(true);
        let document = Xml::parse(b"<order/>").expect("xml");
        let error = modifier.evaluate(&document).expect_err("nothing selected");
        assert_eq!(error.kind(), crate::ErrorKind::Malformed);
    }

    #[test]
    fn predicates_hold_by_xpath_boolean() {
        let document =
            Xml::parse(b"<o:order xmlns:o='urn:o' total='120'><o:item/></o:order>").expect("xml");
        let holds = |expression: &str| {
            XPath::predicate(expression, &[("o", "urn:o")])
                .expect("compiles")
                .holds(&document)
                .expect("evaluates")
        };
        assert!(holds("/o:order/o:item"));
        assert!(!holds("/o:order/o:missing"));
        assert!(holds("/o:order/@total > 100"));
        assert!(!holds("/o:order/@total > 200"));
        assert!(!holds("/order"), "no namespace: no match");
    }

    #[test]
    fn a_predicate_must_be_complete_on_its_own() {
        // Inside `boolean(…)` this would be `boolean(1) or (2)`: refused, not reinterpreted.
        assert!(XPath::predicate("1) or (2", &[]).is_err());
        let unbound = XPath::predicate("/x:order", &[]).expect("compiles");
        let document = Xml::parse(b"<order/>").expect("xml");
        let error = unbound.holds(&document).expect_err("unbound prefix");
        assert_eq!(error.kind(), crate::ErrorKind::Malformed);
    }

    #[test]
    fn a_broken_xpath_is_a_compile_error() {
        let error = XPathAttributeModifier::new("id", "/order[").expect_err("does not compile");
        assert!(error.to_string().contains("does not compile"), "{error}");
    }
}
