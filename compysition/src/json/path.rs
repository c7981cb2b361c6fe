//! JSON paths (`$.order.items[0]['sku']`) and JSON Pointers (`/order/items/0/sku`), and the
//! actor that uses them: [`JsonPathAttributeModifier`] sets an event attribute from the value a
//! path selects in the event's `Json`, so that routing and logging can use a value buried in the
//! payload without parsing it again. A path is parsed once, when the modifier is made;
//! [`JsonPath`] is the parsed path, which the router's JSON filters select with too.

use std::sync::Arc;

use serde_json::Value;

use super::Json;
use crate::actor::{Actor, Context};
use crate::error::{Error, EventError};
use crate::port::{Inbox, Outbox};

/// One step of a JSON path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Step {
    Key(String),
    Index(i64),
}

/// A parsed path into a JSON document: a JSON path (`$.a.b[0]['c']`, where a negative index
/// counts from the end) or an RFC 6901 JSON Pointer (`/a/b/0/c`, `""` for the whole document).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum JsonPath {
    Steps(Arc<[Step]>),
    Pointer(Arc<str>),
}

impl JsonPath {
    /// Parses `path`; a pointer is told apart by not starting with `$`.
    pub(crate) fn parse(path: &str) -> Result<JsonPath, String> {
        if path.is_empty() || path.starts_with('/') {
            return Ok(JsonPath::Pointer(Arc::from(path)));
        }
        parse_json_path(path).map(|steps| JsonPath::Steps(steps.into()))
    }

    /// The value the path selects, if any.
    pub(crate) fn select<'a>(&self, document: &'a Value) -> Option<&'a Value> {
        let steps = match self {
            JsonPath::Pointer(pointer) => return document.pointer(pointer),
            JsonPath::Steps(steps) => steps,
        };
        let mut value = document;
        for step in steps.iter() {
            value = match (step, value) {
                (Step::Key(key), Value::Object(fields)) => fields.get(key)?,
                (Step::Index(index), Value::Array(items)) => {
                    let at = if *index < 0 {
                        items.len().checked_sub(index.unsigned_abs() as usize)?
                    } else {
                        usize::try_from(*index).ok()?
                    };
                    items.get(at)?
                }
                _ => return None,
            };
        }
        Some(value)
    }
}

/// A selected value as attribute text: a string as it is, a number, boolean or `null` as its
/// JSON text, an object or array as compact JSON.
pub(crate) fn value_text(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        other => other.to_string(),
    }
}

/// Sets an attribute from the value a JSON path selects in each `Json` event.
///
/// Paths start at `$` and step by `.name`, `['name']` / `["name"]` or `[index]` (a negative
/// index counts from the end): `$.order.items[0].sku`; a path that starts with `/` (or is
/// empty) is a JSON Pointer instead (`/order/items/0/sku`). A string is taken as it is, a number,
/// boolean or `null` as its JSON text, an object or array as compact JSON. A path that selects
/// nothing leaves the attribute unset, or is a 400 with [`required`](Self::required).
///
/// ```
/// use compysition::actors::JsonPathAttributeModifier;
/// use compysition::Json;
/// use serde_json::json;
///
/// let sku = JsonPathAttributeModifier::new("sku", "$.order.items[-1]['sku']")?;
/// let order = Json::new(json!({"order": {"items": [{"sku": "A1"}, {"sku": "B2"}]}}));
/// assert_eq!(sku.evaluate(&order), Some("B2".to_string()));
/// # Ok::<(), compysition::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct JsonPathAttributeModifier {
    attribute: Arc<str>,
    path: Arc<str>,
    steps: JsonPath,
    required: bool,
}

impl JsonPathAttributeModifier {
    /// Sets `attribute` from `path`; [`Error::Compile`] if the path does not parse.
    pub fn new(attribute: &str, path: &str) -> crate::Result<Self> {
        let steps = JsonPath::parse(path).map_err(|why| Error::Compile {
            what: format!("JSON path \"{path}\""),
            message: why,
        })?;
        Ok(JsonPathAttributeModifier {
            attribute: Arc::from(attribute),
            path: Arc::from(path),
            steps,
            required: false,
        })
    }

    /// Whether a path that selects nothing is an error (400) rather than no attribute.
    pub fn required(mut self, required: bool) -> Self {
        self.required = required;
        self
    }

    /// The value for one document, if the path selects one.
    pub fn evaluate(&self, document: &Json) -> Option<String> {
        self.steps.select(document).map(value_text)
    }
}

impl Actor for JsonPathAttributeModifier {
    type Inboxes = Inbox<Json>;
    type Outboxes = Outbox<Json>;

    async fn run(self, ctx: Context, inbox: Inbox<Json>, outbox: Outbox<Json>) {
        let this = &self;
        let outbox = &outbox;
        ctx.serve(inbox, |mut event| async move {
            match this.evaluate(&event.data) {
                Some(value) => {
                    event.set_attribute(&*this.attribute, value);
                }
                None if this.required => {
                    return Err(EventError::malformed(format!(
                        "JSON path \"{}\" selects nothing in the document (attribute \"{}\" is required)",
                        this.path, this.attribute
                    )))
                }
                None => {}
            }
            outbox.send(event).await;
            Ok(())
        })
        .await
    }
}

fn parse_json_path(path: &str) -> Result<Vec<Step>, String> {
    let Some(mut rest) = path.strip_prefix('$') else {
        return Err("a path starts with `$`".into());
    };
    let mut steps = Vec::new();
    while !rest.is_empty() {
        if let Some(after) = rest.strip_prefix('.') {
            let end = after.find(['.', '[']).unwrap_or(after.len());
            let key = &after[..end];
            if key.is_empty() {
                return Err("an empty name after `.`".into());
            }
            steps.push(Step::Key(key.to_owned()));
            rest = &after[end..];
        } else if let Some(after) = rest.strip_prefix('[') {
            let close = after.find(']').ok_or("a `[` without `]`")?;
            let inside = after[..close].trim();
            let quoted = inside
                .strip_prefix('\'')
                .and_then(|s| s.strip_suffix('\''))
                .or_else(|| inside.strip_prefix('"').and_then(|s| s.strip_suffix('"')));
            match quoted {
                Some(key) => steps.push(Step::Key(key.to_owned())),
                None => steps.push(Step::Index(inside.parse().map_err(|_| {
                    format!("`[{inside}]` is neither a quoted name nor an index")
                })?)),
            }
            rest = &after[close + 1..];
        } else {
            return Err(format!("unexpected `{rest}`"));
        }
    }
    Ok(steps)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn json_paths_parse_into_steps() {
        assert_eq!(
            parse_json_path("$.a['b c'][2][\"d\"][-1]").expect("parses"),
            [
                Step::Key("a".into()),
                Step::Key("b c".into()),
                Step::Index(2),
                Step::Key("d".into()),
                Step::Index(-1)
            ]
        );
        assert!(parse_json_path("a.b").is_err());
        assert!(parse_json_path("$.a[").is_err());
        assert!(parse_json_path("$.a[x]").is_err());
    }

    #[test]
    fn json_path_values_are_text() {
        let document = Json::new(json!({"a": {"n": 1.5, "t": true, "o": {"k": [1]}, "s": "x"}}));
        let value = |path: &str| {
            JsonPathAttributeModifier::new("v", path)
                .expect("parses")
                .evaluate(&document)
        };
        assert_eq!(value("$.a.n").as_deref(), Some("1.5"));
        assert_eq!(value("$.a.t").as_deref(), Some("true"));
        assert_eq!(value("$.a.o").as_deref(), Some("{\"k\":[1]}"));
        assert_eq!(value("$.a.s").as_deref(), Some("x"));
        assert_eq!(value("$.a.missing"), None);
        assert_eq!(value("$.a.o.k[-2]"), None);
        assert_eq!(value("/a/o/k/0").as_deref(), Some("1"));
        assert_eq!(value("/a/missing"), None);
    }
}
