//! Reading a method's parameters out of the param_json object, with the platform's errors
//! (40001 `isv.parameter-missing`, 40003 `isv.parameter-invalid`).
//!
//! Lenient where the official SDKs disagree: ids may come as numbers or numeric strings
//! (PROTOCOL.md §4 for `shop_id`; the generated SDKs type many ids as strings), booleans as
//! `true` or `"true"`.

use serde_json::{Map, Value};

use crate::envelope::ApiFailure;

pub(crate) struct Params<'a> {
    map: &'a Map<String, Value>,
}

static EMPTY: std::sync::LazyLock<Map<String, Value>> = std::sync::LazyLock::new(Map::new);

impl<'a> Params<'a> {
    pub(crate) fn new(value: &'a Value) -> Self {
        match value {
            Value::Object(map) => Params { map },
            _ => Params { map: &EMPTY },
        }
    }

    /// The raw value, `null` counted as absent.
    pub(crate) fn raw(&self, name: &str) -> Option<&'a Value> {
        self.map.get(name).filter(|v| !v.is_null())
    }

    /// A string parameter; numbers are accepted and written as text. Empty is absent.
    pub(crate) fn str_opt(&self, name: &str) -> Result<Option<String>, ApiFailure> {
        match self.raw(name) {
            None => Ok(None),
            Some(Value::String(s)) if s.is_empty() => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(Value::Number(n)) => Ok(Some(n.to_string())),
            Some(other) => Err(wrong_type(name, "a string", other)),
        }
    }

    pub(crate) fn str_req(&self, name: &str) -> Result<String, ApiFailure> {
        self.str_opt(name)?.ok_or_else(|| ApiFailure::parameter_missing(name))
    }

    /// An integer parameter given as a JSON integer or a string of digits. Empty is absent.
    pub(crate) fn i64_opt(&self, name: &str) -> Result<Option<i64>, ApiFailure> {
        match self.raw(name) {
            None => Ok(None),
            Some(Value::Number(n)) => {
                n.as_i64().map(Some).ok_or_else(|| wrong_type(name, "an integer", &Value::Number(n.clone())))
            }
            Some(Value::String(s)) => integer_from_text(s)
                .map_err(|_| ApiFailure::parameter_invalid(format!("`{name}` must be an integer, got {s:?}"))),
            Some(other) => Err(wrong_type(name, "an integer", other)),
        }
    }

    pub(crate) fn i64_req(&self, name: &str) -> Result<i64, ApiFailure> {
        self.i64_opt(name)?.ok_or_else(|| ApiFailure::parameter_missing(name))
    }

    pub(crate) fn bool_opt(&self, name: &str) -> Result<Option<bool>, ApiFailure> {
        match self.raw(name) {
            None => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(Value::String(s)) => {
                boolean_from_text(s).map(Some).ok_or_else(|| wrong_type(name, "a boolean", &Value::String(s.clone())))
            }
            Some(other) => Err(wrong_type(name, "a boolean", other)),
        }
    }

    /// Presence check for a parameter of any type (required by the spec).
    pub(crate) fn require(&self, name: &str) -> Result<&'a Value, ApiFailure> {
        match self.raw(name) {
            Some(Value::String(s)) if s.is_empty() => Err(ApiFailure::parameter_missing(name)),
            Some(v) => Ok(v),
            None => Err(ApiFailure::parameter_missing(name)),
        }
    }

    /// A list of strings (or numbers, written as text), absent = empty.
    pub(crate) fn str_list(&self, name: &str) -> Result<Vec<String>, ApiFailure> {
        match self.raw(name) {
            None => Ok(Vec::new()),
            Some(Value::Array(items)) => items
                .iter()
                .map(|item| match item {
                    Value::String(s) => Ok(s.clone()),
                    Value::Number(n) => Ok(n.to_string()),
                    other => Err(wrong_type(name, "a list of strings", other)),
                })
                .collect(),
            Some(other) => Err(wrong_type(name, "a list", other)),
        }
    }

    /// The list of objects under `name`, absent = empty.
    pub(crate) fn object_list(&self, name: &str) -> Result<Vec<Params<'a>>, ApiFailure> {
        match self.raw(name) {
            None => Ok(Vec::new()),
            Some(Value::Array(items)) => items
                .iter()
                .map(|item| match item {
                    Value::Object(map) => Ok(Params { map }),
                    other => Err(wrong_type(name, "a list of objects", other)),
                })
                .collect(),
            Some(other) => Err(wrong_type(name, "a list", other)),
        }
    }
}

fn json_kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

/// An integer sent as text, as some official SDKs send them: empty is absent, digits
/// (spaces around them allowed) are the number.
pub(crate) fn integer_from_text(text: &str) -> Result<Option<i64>, std::num::ParseIntError> {
    if text.is_empty() {
        return Ok(None);
    }
    text.trim().parse().map(Some)
}

/// A boolean sent as text: `true`/`1`, or `false`/`0`/empty; `None` for anything else.
pub(crate) fn boolean_from_text(text: &str) -> Option<bool> {
    match text {
        "true" | "1" => Some(true),
        "false" | "0" | "" => Some(false),
        _ => None,
    }
}

fn wrong_type(name: &str, expected: &str, got: &Value) -> ApiFailure {
    ApiFailure::parameter_invalid(format!("`{name}` must be {expected}, got {}", json_kind(got)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn lenient_reads() {
        let v = json!({"a": "12", "b": 13, "c": "", "d": true, "e": "x", "f": [1, "2"], "g": null});
        let p = Params::new(&v);
        assert_eq!(p.i64_req("a"), Ok(12));
        assert_eq!(p.i64_req("b"), Ok(13));
        assert_eq!(p.i64_opt("c"), Ok(None));
        assert_eq!(p.i64_req("g").unwrap_err().sub_code, "isv.parameter-missing");
        assert_eq!(p.i64_req("e").unwrap_err().sub_code, "isv.parameter-invalid");
        assert_eq!(p.str_req("b"), Ok("13".to_owned()));
        assert_eq!(p.str_req("c").unwrap_err().code, 40001);
        assert_eq!(p.bool_opt("d"), Ok(Some(true)));
        assert_eq!(p.str_list("f"), Ok(vec!["1".to_owned(), "2".to_owned()]));
        assert!(p.require("missing").is_err());
    }
}
