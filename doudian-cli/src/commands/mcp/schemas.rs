//! Every use of the method schemas by `doudian mcp`, in one place.
//!
//! TEMPORARY SEAM. The JSON schemas of each method's params and reply come from
//! `doudian_sdk::schema` (the SDK's `schema` cargo feature), which is not on this branch
//! yet. Until it is, these functions stand in for it with the same signatures:
//! `params` and `reply` give an open object schema for every method of the catalog, and
//! `validate_params` checks only that the params are a JSON object. At the merge, the
//! body of this module becomes
//!
//! ```ignore
//! pub use doudian_sdk::schema::{params, reply, validate_params, Violation};
//! ```
//!
//! (and `doudian-cli/Cargo.toml` turns on the SDK's `schema` feature); nothing else in
//! `doudian mcp` changes.

use std::fmt;

use serde_json::{json, Value};

/// The JSON schema of `method`'s params; `None` for a method the SDK does not know.
pub fn params(method: &str) -> Option<Value> {
    doudian_sdk::catalog::find(method).map(|_| json!({ "type": "object" }))
}

/// The JSON schema of `method`'s reply `data`; `None` for a method the SDK does not know.
pub fn reply(method: &str) -> Option<Value> {
    doudian_sdk::catalog::find(method).map(|_| json!({ "type": "object" }))
}

/// Checks `params` against `method`'s params schema: every violation found, or `Ok`.
pub fn validate_params(_method: &str, params: &Value) -> Result<(), Vec<Violation>> {
    if params.is_object() {
        return Ok(());
    }
    Err(vec![Violation {
        path: String::new(),
        kind: ViolationKind::Type,
        message: format!("the params must be a JSON object, not {}", json_type(params)),
        suggestion: Some("wrap the parameters in an object: {\"name\": value, ...}".to_owned()),
    }])
}

/// One way the params break their schema.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// Where, as a JSON path below the params (empty: the params themselves).
    pub path: String,
    /// What kind of break (not read outside this module: the real kinds are the SDK's).
    #[allow(dead_code)]
    pub kind: ViolationKind,
    /// What is wrong.
    pub message: String,
    /// How to fix it, when there is an obvious fix.
    pub suggestion: Option<String>,
}

/// The kinds of violation the seam can find.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ViolationKind {
    /// A value of the wrong JSON type.
    Type,
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let path = if self.path.is_empty() { "params" } else { &self.path };
        write!(f, "{path}: {}", self.message)?;
        if let Some(suggestion) = &self.suggestion {
            write!(f, " ({suggestion})")?;
        }
        Ok(())
    }
}

fn json_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}
