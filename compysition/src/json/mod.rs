//! JSON: the [`Json`] payload and its conversions from and to text and bytes, the JSON path
//! followed by `JsonPathAttributeModifier`, and (feature `json-schema`) the `JsonSchema`
//! validator.
//!
//! JSON needs nothing of XML: the xmltodict conversions between the two live in `xml`, which
//! builds on this module. The actors here are public at [`crate::actors`], `Json` at the crate
//! root.

pub(crate) mod path;
#[cfg(feature = "json-schema")]
pub(crate) mod schema;

use std::fmt;
use std::ops::Deref;
use std::sync::Arc;

use bytes::Bytes;

use crate::error::EventError;
use crate::payload::Convert;

/// A JSON document, cheap to clone (the value is shared; changing it copies on write).
#[derive(Clone, PartialEq)]
pub struct Json(Arc<serde_json::Value>);

impl Json {
    /// Wraps a value.
    pub fn new(value: serde_json::Value) -> Self {
        Json(Arc::new(value))
    }

    /// Parses JSON text; errors name line and column.
    pub fn parse(text: &[u8]) -> Result<Self, EventError> {
        serde_json::from_slice(text)
            .map(Json::new)
            .map_err(|e| EventError::malformed(format!("malformed JSON: {e}")))
    }

    /// The value, for changing it (copies it first if it is shared).
    pub fn make_mut(&mut self) -> &mut serde_json::Value {
        Arc::make_mut(&mut self.0)
    }

    /// The value, copied out if shared.
    pub fn into_value(self) -> serde_json::Value {
        Arc::try_unwrap(self.0).unwrap_or_else(|shared| (*shared).clone())
    }

    /// Compact JSON text.
    pub fn to_bytes(&self) -> Bytes {
        // Serialising a `Value` cannot fail: its keys are strings.
        Bytes::from(serde_json::to_vec(&*self.0).unwrap_or_default())
    }
}

impl Deref for Json {
    type Target = serde_json::Value;
    fn deref(&self) -> &serde_json::Value {
        &self.0
    }
}

impl From<serde_json::Value> for Json {
    fn from(value: serde_json::Value) -> Self {
        Json::new(value)
    }
}

impl fmt::Debug for Json {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&*self.0, f)
    }
}

impl fmt::Display for Json {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&*self.0, f)
    }
}

impl Convert<Json> for String {
    fn convert(self) -> Result<Json, EventError> {
        Json::parse(self.as_bytes())
    }

    fn conversion_size(&self) -> usize {
        self.len()
    }
}

impl Convert<Json> for Bytes {
    fn convert(self) -> Result<Json, EventError> {
        Json::parse(&self)
    }

    fn conversion_size(&self) -> usize {
        self.len()
    }
}

impl Convert<String> for Json {
    fn convert(self) -> Result<String, EventError> {
        Ok(self.0.to_string())
    }
}

impl Convert<Bytes> for Json {
    fn convert(self) -> Result<Bytes, EventError> {
        Ok(self.to_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_converts_to_json_and_back() {
        let json: Json = r#"{"a":[1,2]}"#.to_string().convert().expect("valid JSON");
        assert_eq!(json["a"][1], 2);
        let text: String = json.convert().expect("serialises");
        assert_eq!(text, r#"{"a":[1,2]}"#);
    }

    #[test]
    fn malformed_json_is_a_400_naming_the_position() {
        let error = Convert::<Json>::convert("{\"a\": }".to_string()).expect_err("malformed");
        assert_eq!(error.kind(), crate::ErrorKind::Malformed);
        assert!(
            error.message().contains("line 1 column 7"),
            "{}",
            error.message()
        );
    }

    #[test]
    fn json_clones_share_the_value() {
        let a = Json::new(serde_json::json!({"k": "v"}));
        let mut b = a.clone();
        assert!(Arc::ptr_eq(&a.0, &b.0));
        b.make_mut()["k"] = "w".into();
        assert_eq!(a["k"], "v");
        assert_eq!(b["k"], "w");
    }
}
