//! [`SetHttpStatus`]: sets the status an HTTP request will be answered with, from a constant,
//! an attribute, an XPath on `Xml` or a JSON path on `Json` (the Python project's HTTP status
//! modifier). It lives with HTTP because the status is HTTP's: the core and the other actors
//! know none.

use std::fmt;
use std::sync::Arc;

use http::StatusCode;

use super::context::HttpContext;
use crate::actor::{Actor, Context};
use crate::error::{Error, EventError};
use crate::event::Event;
use crate::json::path::{value_text, JsonPath};
use crate::json::Json;
use crate::payload::Payload;
use crate::pool::CpuPool;
use crate::port::{Inbox, Outbox};
#[cfg(feature = "xslt")]
use crate::xml::{xpath::XPath, Xml};

/// Sets [`HttpContext::status`] on each event that came from an HTTP request, and passes it
/// on; an event from elsewhere passes unchanged.
///
/// The status comes from a [`constant`](Self::constant), the attribute
/// [`from_attribute`](Self::from_attribute) names, the string value of an XPath on an `Xml`
/// payload ([`from_xpath`](Self::from_xpath)) or the value of a JSON path on a `Json` one
/// ([`from_json`](Self::from_json)). A value that is missing, or is not a status (three
/// digits, 100 to 999), fails the event as `Malformed`, naming where it looked.
///
/// ```
/// use compysition::actors::SetHttpStatus;
/// use compysition::Json;
///
/// let accepted = SetHttpStatus::<String>::constant(http::StatusCode::ACCEPTED);
/// let from_header = SetHttpStatus::<String>::from_attribute("status");
/// let from_document = SetHttpStatus::<Json>::from_json("$.result.status")?;
/// # let _ = (accepted, from_header, from_document);
/// # Ok::<(), compysition::Error>(())
/// ```
pub struct SetHttpStatus<T> {
    source: Source<T>,
}

/// Reads a status's text from a payload (`None`: it is not there).
type ReadStatus<T> = Arc<dyn Fn(&T) -> Result<Option<String>, EventError> + Send + Sync>;

enum Source<T> {
    Constant(StatusCode),
    Attribute(Arc<str>),
    /// A value read from the payload: the reader, what it reads (for messages), and whether it
    /// parses the payload (CPU work, off the async workers for large documents).
    Payload {
        read: ReadStatus<T>,
        what: Arc<str>,
        size: fn(&T) -> usize,
    },
}

impl<T> fmt::Debug for SetHttpStatus<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.source {
            Source::Constant(status) => write!(f, "SetHttpStatus({status})"),
            Source::Attribute(name) => write!(f, "SetHttpStatus(attribute {name:?})"),
            Source::Payload { what, .. } => write!(f, "SetHttpStatus({what})"),
        }
    }
}

impl<T> SetHttpStatus<T> {
    /// Sets `status`.
    pub fn constant(status: StatusCode) -> Self {
        SetHttpStatus {
            source: Source::Constant(status),
        }
    }

    /// Sets the status written in the attribute `name` (`"202"`).
    pub fn from_attribute(name: &str) -> Self {
        SetHttpStatus {
            source: Source::Attribute(Arc::from(name)),
        }
    }
}

impl SetHttpStatus<Json> {
    /// Sets the status at `path` (a JSON path or pointer) in the document: a number or a
    /// string of digits. [`Error::Compile`] when the path does not parse.
    pub fn from_json(path: &str) -> crate::Result<Self> {
        let parsed = JsonPath::parse(path).map_err(|why| Error::Compile {
            what: format!("JSON path \"{path}\""),
            message: why,
        })?;
        Ok(SetHttpStatus {
            source: Source::Payload {
                read: Arc::new(move |json: &Json| Ok(parsed.select(json).map(value_text))),
                what: Arc::from(format!("JSON path \"{path}\"")),
                size: |_| 0,
            },
        })
    }
}

#[cfg(feature = "xslt")]
impl SetHttpStatus<Xml> {
    /// Sets the status that the XPath 1.0 `expression` selects (its string value: `"202"`).
    pub fn from_xpath(expression: &str) -> crate::Result<Self> {
        Self::from_xpath_with(expression, &[])
    }

    /// [`from_xpath`](Self::from_xpath) with namespace prefixes bound, as (prefix, URI).
    pub fn from_xpath_with(expression: &str, namespaces: &[(&str, &str)]) -> crate::Result<Self> {
        let xpath = XPath::compile(expression, namespaces)?;
        Ok(SetHttpStatus {
            source: Source::Payload {
                read: Arc::new(move |xml: &Xml| {
                    let value = xpath.string(xml)?;
                    Ok((!value.is_empty()).then_some(value))
                }),
                what: Arc::from(format!("XPath \"{expression}\"")),
                size: |xml| xml.as_bytes().len(),
            },
        })
    }
}

/// A status from its text, or why not.
fn parse_status(text: &str, what: &str) -> Result<StatusCode, EventError> {
    text.trim()
        .parse::<u16>()
        .ok()
        .and_then(|code| StatusCode::from_u16(code).ok())
        .ok_or_else(|| {
            EventError::malformed(format!("{what} is \"{text}\", which is not an HTTP status"))
        })
}

impl<T: Payload + Clone> SetHttpStatus<T> {
    /// The status for `event`.
    async fn status(&self, event: &Event<T>, pool: &CpuPool) -> Result<StatusCode, EventError> {
        let (value, what) = match &self.source {
            Source::Constant(status) => return Ok(*status),
            Source::Attribute(name) => (
                event.attribute(name).map(str::to_owned),
                format!("attribute `{name}`"),
            ),
            Source::Payload { read, what, size } => {
                let (read, data) = (Arc::clone(read), event.data.clone());
                let value = pool.run_sized(size(&data), move || read(&data)).await?;
                (value, what.to_string())
            }
        };
        match value {
            Some(value) => parse_status(&value, &what),
            None => Err(EventError::malformed(format!(
                "{what} is missing (it holds the HTTP status)"
            ))),
        }
    }
}

impl<T: Payload + Clone> Actor for SetHttpStatus<T> {
    type Inboxes = Inbox<T>;
    type Outboxes = Outbox<T>;

    async fn run(self, ctx: Context, inbox: Inbox<T>, outbox: Outbox<T>) {
        let (this, outbox) = (&self, &outbox);
        let pool = &CpuPool::per_cpu();
        ctx.serve(inbox, |mut event: Event<T>| async move {
            if event.extension::<HttpContext>().is_some() {
                let status = this.status(&event, pool).await?;
                if let Some(http) = event.extension_mut::<HttpContext>() {
                    http.status = Some(status);
                }
            }
            outbox.send(event).await;
            Ok(())
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::error::ErrorKind;

    async fn status<T: Payload + Clone>(
        setter: &SetHttpStatus<T>,
        event: &Event<T>,
    ) -> Result<u16, EventError> {
        Ok(setter.status(event, &CpuPool::per_cpu()).await?.as_u16())
    }

    #[tokio::test]
    async fn statuses_come_from_a_constant_an_attribute_or_json() -> crate::Result<()> {
        let event = Event::new(Json::new(json!({"r": {"status": 202, "text": "201"}})))
            .with_attribute("status", "409");
        let constant = SetHttpStatus::constant(StatusCode::CREATED);
        assert_eq!(status(&constant, &event).await, Ok(201));
        let attribute = SetHttpStatus::from_attribute("status");
        assert_eq!(status(&attribute, &event).await, Ok(409));
        assert_eq!(
            status(&SetHttpStatus::from_json("$.r.status")?, &event).await,
            Ok(202)
        );
        assert_eq!(
            status(&SetHttpStatus::from_json("/r/text")?, &event).await,
            Ok(201)
        );
        Ok(())
    }

    #[tokio::test]
    async fn a_missing_or_invalid_status_is_malformed() -> crate::Result<()> {
        let event = Event::new(Json::new(json!({"status": "soon"})));
        let missing = status(&SetHttpStatus::from_attribute("status"), &event).await;
        let error = missing.expect_err("no attribute");
        assert_eq!(error.kind(), ErrorKind::Malformed);
        assert!(
            error.message().contains("attribute `status` is missing"),
            "{error}"
        );
        let invalid = status(&SetHttpStatus::from_json("$.status")?, &event).await;
        assert!(invalid
            .expect_err("not a number")
            .message()
            .contains("\"soon\""));
        let event = event.with_attribute("status", "1000");
        let out_of_range = status(&SetHttpStatus::from_attribute("status"), &event).await;
        assert!(out_of_range.is_err());
        Ok(())
    }

    #[cfg(feature = "xslt")]
    #[tokio::test]
    async fn statuses_come_from_an_xpath() -> crate::Result<()> {
        let document =
            Xml::parse(b"<r:answer xmlns:r='urn:r' status='202'/>").map_err(|e| Error::Config {
                setting: "test document".into(),
                message: e.to_string(),
            })?;
        let event = Event::new(document);
        let setter = SetHttpStatus::from_xpath_with("/r:answer/@status", &[("r", "urn:r")])?;
        assert_eq!(status(&setter, &event).await, Ok(202));
        let nothing = status(&SetHttpStatus::from_xpath("/answer/@status")?, &event).await;
        assert!(nothing
            .expect_err("selects nothing")
            .message()
            .contains("missing"));
        Ok(())
    }
}
