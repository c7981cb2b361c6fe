//! XML Schema validation on libxml2: the [`Xsd`] actor.
//!
//! The schema is compiled once and shared; each document is parsed and validated on the CPU pool
//! the XML actors share, with a validation context of its own, and every error libxml2 finds is
//! collected, so that one rejected event tells its sender everything that is wrong with it.

use std::fmt;
use std::path::Path;
use std::sync::Arc;

use super::ffi::{parse_option, RawSchema, RawValidity};
use super::Xml;
use crate::actor::{Actor, Context};
use crate::error::{Error, EventError};
use crate::pool::CpuPool;
use crate::port::{Inbox, Outbox};

/// Validates each `Xml` event against an XML Schema and passes valid ones on unchanged.
///
/// An invalid document goes to the error outbox as one 422 (a 400-class error) listing every
/// validation error with its line.
///
/// ```
/// use compysition::actors::Xsd;
/// use compysition::Xml;
///
/// let xsd = Xsd::compile(r#"
///   <xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema">
///     <xs:element name="qty" type="xs:positiveInteger"/>
///   </xs:schema>"#)?;
/// assert!(xsd.validate(&Xml::parse(b"<qty>3</qty>")?).is_ok());
/// let error = xsd.validate(&Xml::parse(b"<qty>none</qty>")?).unwrap_err();
/// assert_eq!(error.kind(), compysition::ErrorKind::Unprocessable);
/// assert!(error.message().contains("line 1"), "{}", error.message());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct Xsd {
    schema: Arc<RawSchema>,
}

impl fmt::Debug for Xsd {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Xsd").finish_non_exhaustive()
    }
}

impl Xsd {
    /// Compiles a schema; an [`Error::Compile`] carries libxml2's messages. Relative `xs:include` /
    /// `xs:import` locations resolve against the working directory.
    pub fn compile(xsd: impl AsRef<[u8]>) -> crate::Result<Self> {
        Xsd::compile_with_base(xsd.as_ref(), None)
    }

    /// Compiles the schema in a file (its includes resolve against it).
    pub fn from_file(path: impl AsRef<Path>) -> crate::Result<Self> {
        let path = path.as_ref();
        let xsd = std::fs::read(path).map_err(|source| Error::Read {
            path: path.to_owned(),
            source,
        })?;
        Xsd::compile_with_base(&xsd, Some(&path.to_string_lossy()))
    }

    fn compile_with_base(xsd: &[u8], base_url: Option<&str>) -> crate::Result<Self> {
        let schema = RawSchema::compile(xsd, base_url).map_err(|messages| Error::Compile {
            what: "XML Schema".into(),
            message: messages,
        })?;
        Ok(Xsd {
            schema: Arc::new(schema),
        })
    }

    /// Validates one document on the calling thread.
    pub fn validate(&self, document: &Xml) -> Result<(), EventError> {
        match self
            .schema
            .validate(document.as_bytes(), parse_option::NONET)
        {
            RawValidity::Valid => Ok(()),
            RawValidity::Invalid(messages) => Err(EventError::unprocessable(format!(
                "XML Schema validation failed:\n{messages}"
            ))),
            RawValidity::Unreadable(messages) => Err(EventError::malformed(format!(
                "the document could not be validated:\n{messages}"
            ))),
        }
    }
}

impl Actor for Xsd {
    type Inboxes = Inbox<Xml>;
    type Outboxes = Outbox<Xml>;

    async fn run(self, ctx: Context, inbox: Inbox<Xml>, outbox: Outbox<Xml>) {
        let this = &self;
        let outbox = &outbox;
        let offload = &CpuPool::per_cpu();
        ctx.serve(inbox, |event| async move {
            let validator = this.clone();
            let document = event.data.clone();
            let size = document.as_bytes().len();
            offload
                .run_until(size, event.deadline(), move || {
                    validator.validate(&document)
                })
                .await?;
            outbox.send(event).await;
            Ok(())
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SCHEMA: &str = r#"<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema">
      <xs:element name="order">
        <xs:complexType>
          <xs:sequence>
            <xs:element name="qty" type="xs:positiveInteger" maxOccurs="unbounded"/>
          </xs:sequence>
          <xs:attribute name="id" type="xs:int" use="required"/>
        </xs:complexType>
      </xs:element>
    </xs:schema>"#;

    #[test]
    fn every_validation_error_is_reported_at_once() {
        let xsd = Xsd::compile(SCHEMA).expect("compiles");
        let document = Xml::parse(b"<order>\n<qty>0</qty>\n<qty>x</qty>\n</order>").expect("xml");
        let error = xsd.validate(&document).expect_err("invalid");
        let message = error.message();
        assert_eq!(error.kind(), crate::ErrorKind::Unprocessable);
        assert!(
            message.contains("line 1") && message.contains("'id' is required"),
            "{message}"
        );
        assert!(
            message.contains("line 2") && message.contains("'0'"),
            "{message}"
        );
        assert!(
            message.contains("line 3") && message.contains("'x'"),
            "{message}"
        );
    }

    #[test]
    fn a_valid_document_passes() {
        let xsd = Xsd::compile(SCHEMA).expect("compiles");
        let document = Xml::parse(b"<order id='1'><qty>2</qty></order>").expect("xml");
        assert!(xsd.validate(&document).is_ok());
    }

    #[test]
    fn a_broken_schema_is_a_setup_error_with_libxml2s_messages() {
        let error = Xsd::compile(
            "<xs:schema xmlns:xs='http://www.w3.org/2001/XMLSchema'><xs:element/></xs:schema>",
        )
        .expect_err("does not compile");
        let text = error.to_string();
        assert!(
            text.contains("XML Schema does not compile") && text.contains("name"),
            "{text}"
        );
    }
}
