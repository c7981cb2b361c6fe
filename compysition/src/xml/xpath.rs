//! The XPath attribute modifier: [`XPathAttributeModifier`] sets an event attribute from an
//! XPath 1.0 expression (libxml2) evaluated on the event's `Xml`, so that routing and logging
//! can use a value buried in the payload without parsing it again. The expression is compiled
//! once.

use std::ffi::CString;
use std::fmt;
use std::sync::Arc;

use super::ffi::{namespace_strings, parse_option, RawXPath};
use super::Xml;
use crate::actor::{Actor, Context};
use crate::error::{Error, EventError};
use crate::pool::CpuPool;
use crate::port::{Inbox, Outbox};

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
    expression: Arc<str>,
    xpath: Arc<RawXPath>,
    namespaces: Arc<Vec<CString>>,
    required: bool,
}

impl fmt::Debug for XPathAttributeModifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("XPathAttributeModifier")
            .field("attribute", &self.attribute)
            .field("expression", &self.expression)
            .field("required", &self.required)
            .finish()
    }
}

impl XPathAttributeModifier {
    /// Sets `attribute` from `expression`; [`Error::Compile`] if it does not compile.
    pub fn new(attribute: &str, expression: &str) -> crate::Result<Self> {
        let xpath = RawXPath::compile(expression).map_err(|messages| Error::Compile {
            what: format!("XPath \"{expression}\""),
            message: messages,
        })?;
        Ok(XPathAttributeModifier {
            attribute: Arc::from(attribute),
            expression: Arc::from(expression),
            xpath: Arc::new(xpath),
            namespaces: Arc::new(Vec::new()),
            required: false,
        })
    }

    /// Binds a namespace prefix for the expression.
    pub fn namespace(mut self, prefix: &str, uri: &str) -> crate::Result<Self> {
        let pair =
            namespace_strings(&[(prefix.to_owned(), uri.to_owned())]).map_err(|message| {
                Error::Config {
                    setting: "XPath namespace binding".to_owned(),
                    message,
                }
            })?;
        Arc::make_mut(&mut self.namespaces).extend(pair);
        Ok(self)
    }

    /// Whether an empty value is an error (400) rather than an empty attribute.
    pub fn required(mut self, required: bool) -> Self {
        self.required = required;
        self
    }

    /// The value for one document.
    pub fn evaluate(&self, document: &Xml) -> Result<String, EventError> {
        let value = self
            .xpath
            .string_value(document.as_bytes(), parse_option::NONET, &self.namespaces)
            .map_err(|messages| {
                EventError::malformed(format!(
                    "XPath \"{}\" could not be evaluated:\n{messages}",
                    self.expression
                ))
            })?;
        if self.required && value.is_empty() {
            return Err(EventError::malformed(format!(
                "XPath \"{}\" selects nothing in the document (attribute \"{}\" is required)",
                self.expression, self.attribute
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
    fn a_broken_xpath_is_a_compile_error() {
        let error = XPathAttributeModifier::new("id", "/order[").expect_err("does not compile");
        assert!(error.to_string().contains("does not compile"), "{error}");
    }
}
