//! JSON Schema validation: the [`JsonSchema`] actor, on the `jsonschema` crate.
//!
//! The crate is built without its default features, which fetch remote schemas over HTTP:
//! a schema here is self-contained, and a `$ref` to anything outside it does not compile.

use std::fmt;
use std::sync::Arc;

use super::Json;
use crate::actor::{Actor, Context};
use crate::error::{Error, EventError};
use crate::port::{Inbox, Outbox};

/// Validates each `Json` event against a JSON Schema and passes valid ones on unchanged.
///
/// An invalid document goes to the error outbox as one 422 (a 400-class error) with a line
/// `path: message` per error (the path a JSON pointer, `/` for the whole document).
///
/// ```
/// use compysition::actors::JsonSchema;
/// use compysition::Json;
/// use serde_json::json;
///
/// let schema = JsonSchema::new(&json!({"type": "object", "required": ["id"],
///                                      "properties": {"id": {"type": "integer"}}}))?;
/// let error = schema.validate(&Json::new(json!({"id": "seven"}))).unwrap_err();
/// assert_eq!(error.message(), "JSON Schema validation failed:\n/id: \"seven\" is not of type \"integer\"");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct JsonSchema {
    validator: Arc<jsonschema::Validator>,
}

impl fmt::Debug for JsonSchema {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JsonSchema").finish_non_exhaustive()
    }
}

impl JsonSchema {
    /// Compiles a schema (its draft is taken from `$schema`, the latest by default).
    pub fn new(schema: &serde_json::Value) -> crate::Result<Self> {
        let validator = jsonschema::validator_for(schema).map_err(|e| Error::Compile {
            what: "JSON Schema".to_owned(),
            message: e.to_string(),
        })?;
        Ok(JsonSchema {
            validator: Arc::new(validator),
        })
    }

    /// Parses and compiles a schema given as JSON text.
    pub fn parse(schema: &str) -> crate::Result<Self> {
        let schema: serde_json::Value =
            serde_json::from_str(schema).map_err(|e| Error::Compile {
                what: "JSON Schema".to_owned(),
                message: format!("it is not JSON: {e}"),
            })?;
        JsonSchema::new(&schema)
    }

    /// Validates one document.
    pub fn validate(&self, document: &Json) -> Result<(), EventError> {
        let mut report = String::new();
        for error in self.validator.iter_errors(document) {
            let path = error.instance_path().as_str();
            let path = if path.is_empty() { "/" } else { path };
            report.push('\n');
            report.push_str(path);
            report.push_str(": ");
            report.push_str(&error.to_string());
        }
        if report.is_empty() {
            Ok(())
        } else {
            Err(EventError::unprocessable(format!(
                "JSON Schema validation failed:{report}"
            )))
        }
    }
}

impl Actor for JsonSchema {
    type Inboxes = Inbox<Json>;
    type Outboxes = Outbox<Json>;

    async fn run(self, ctx: Context, inbox: Inbox<Json>, outbox: Outbox<Json>) {
        let this = &self;
        let outbox = &outbox;
        ctx.serve(inbox, |event| async move {
            this.validate(&event.data)?;
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

    #[test]
    fn every_error_is_listed_with_its_path() {
        let schema = JsonSchema::new(&json!({
            "type": "object",
            "required": ["id", "items"],
            "properties": {"items": {"type": "array", "items": {"type": "string"}}}
        }))
        .expect("compiles");
        let error = schema
            .validate(&Json::new(json!({"items": ["a", 2, 3]})))
            .expect_err("invalid");
        assert_eq!(error.kind(), crate::ErrorKind::Unprocessable);
        let lines: Vec<&str> = error.message().lines().skip(1).collect();
        assert_eq!(lines.len(), 3, "{}", error.message());
        assert!(lines
            .iter()
            .any(|l| l.starts_with("/: ") && l.contains("\"id\"")));
        assert!(lines.contains(&"/items/1: 2 is not of type \"string\""));
        assert!(lines.contains(&"/items/2: 3 is not of type \"string\""));
    }

    #[test]
    fn a_valid_document_passes() {
        let schema = JsonSchema::new(&json!({"type": "string"})).expect("compiles");
        assert!(schema.validate(&Json::new(json!("x"))).is_ok());
    }

    #[test]
    fn a_remote_reference_does_not_compile_and_is_not_fetched() {
        let error = JsonSchema::new(&json!({"$ref": "http://schemas.invalid/order.json"}))
            .expect_err("remote references are not resolved");
        assert!(
            error.to_string().contains("JSON Schema does not compile"),
            "{error}"
        );
    }
}
