//! The validator of the JSON Schema subset `cargo xtask gen` prints: `type` (a name or a
//! list), `properties`, `required`, `additionalProperties` (boolean or schema), `items`,
//! `anyOf` and `enum`. Written here rather than taken from a general crate: the subset is
//! small, and a full validator (regex engine, formats, remote refs) would cost a 2-core
//! build more than the whole module and could not suggest the nearest field name.

use serde_json::{Map, Value};
use std::fmt;

/// One way the parameters break their schema.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Violation {
    /// Where, as a JSON path: `$.combine_status[0].order_status`.
    pub path: String,
    /// What kind of violation.
    pub kind: ViolationKind,
    /// What is wrong, for people.
    pub message: String,
    /// For an unknown field: the nearest known field name, when one is close.
    pub suggestion: Option<String>,
}

/// The kind of a [`Violation`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ViolationKind {
    /// A required field is absent.
    Missing,
    /// A value of another JSON type than the schema's.
    WrongType,
    /// A field the schema does not know (or a method the spec does not know).
    Unknown,
    /// A value outside the schema's `enum`.
    NotAllowed,
}

impl Violation {
    pub(crate) fn new(path: String, kind: ViolationKind, message: String, suggestion: Option<String>) -> Self {
        Violation { path, kind, message, suggestion }
    }
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path, self.message)?;
        if let Some(name) = &self.suggestion {
            write!(f, "; did you mean `{name}`?")?;
        }
        Ok(())
    }
}

impl std::error::Error for Violation {}

/// Every violation of `schema` by `value`, in document order.
pub(crate) fn validate(schema: &Value, value: &Value) -> Vec<Violation> {
    let mut out = Vec::new();
    check(schema, value, &mut String::from("$"), &mut out);
    out
}

fn check(schema: &Value, value: &Value, path: &mut String, out: &mut Vec<Violation>) {
    let Some(schema) = schema.as_object() else { return };
    if let Some(types) = schema.get("type") {
        if !type_matches(types, value) {
            let message = format!("expected {}, got {}", type_names(types), describe(value));
            out.push(Violation::new(path.clone(), ViolationKind::WrongType, message, None));
            return;
        }
    }
    if let Some(Value::Array(allowed)) = schema.get("enum") {
        if !allowed.contains(value) {
            let list: Vec<String> = allowed.iter().map(Value::to_string).collect();
            let message = format!("{value} is not one of {}", list.join(", "));
            out.push(Violation::new(path.clone(), ViolationKind::NotAllowed, message, None));
        }
    }
    if let Some(Value::Array(branches)) = schema.get("anyOf") {
        let fits = |branch: &Value| validate(branch, value).is_empty();
        if !branches.iter().any(fits) {
            // Report the branch that breaks least, at this place.
            let best = branches
                .iter()
                .map(|b| {
                    let mut v = Vec::new();
                    check(b, value, &mut path.clone(), &mut v);
                    v
                })
                .min_by_key(Vec::len)
                .unwrap_or_default();
            out.extend(best);
        }
    }
    match value {
        Value::Object(object) => check_object(schema, object, path, out),
        Value::Array(items) => {
            if let Some(item_schema) = schema.get("items") {
                for (i, item) in items.iter().enumerate() {
                    let len = path.len();
                    path.push_str(&format!("[{i}]"));
                    check(item_schema, item, path, out);
                    path.truncate(len);
                }
            }
        }
        _ => {}
    }
}

fn check_object(schema: &Map<String, Value>, object: &Map<String, Value>, path: &mut String, out: &mut Vec<Violation>) {
    let properties = schema.get("properties").and_then(Value::as_object);
    if let Some(Value::Array(required)) = schema.get("required") {
        for name in required.iter().filter_map(Value::as_str) {
            if !object.contains_key(name) {
                let place = child(path, name);
                let message = format!("missing required field `{name}`");
                out.push(Violation::new(place, ViolationKind::Missing, message, None));
            }
        }
    }
    let extra = schema.get("additionalProperties");
    for (name, value) in object {
        let len = path.len();
        path.push_str(&child_step(name));
        match properties.and_then(|p| p.get(name)) {
            Some(field_schema) => check(field_schema, value, path, out),
            None => match extra {
                Some(Value::Bool(false)) => {
                    let known = properties.map(|p| p.keys().map(String::as_str).collect()).unwrap_or_default();
                    let suggestion = nearest(name, known).map(str::to_owned);
                    let message = format!("unknown field `{name}`");
                    out.push(Violation::new(path.clone(), ViolationKind::Unknown, message, suggestion));
                }
                Some(extra @ Value::Object(_)) => check(extra, value, path, out),
                _ => {}
            },
        }
        path.truncate(len);
    }
}

fn child(path: &str, name: &str) -> String {
    format!("{path}{}", child_step(name))
}

/// `.name`, or `["name"]` when the name is not a plain identifier.
fn child_step(name: &str) -> String {
    let plain = !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if plain {
        format!(".{name}")
    } else {
        format!("[{}]", Value::from(name))
    }
}

fn type_matches(types: &Value, value: &Value) -> bool {
    match types {
        Value::String(name) => is_type(name, value),
        Value::Array(names) => names.iter().filter_map(Value::as_str).any(|name| is_type(name, value)),
        _ => true,
    }
}

fn is_type(name: &str, value: &Value) -> bool {
    match name {
        "object" => value.is_object(),
        "array" => value.is_array(),
        "string" => value.is_string(),
        "integer" => value.is_i64() || value.is_u64(),
        "number" => value.is_number(),
        "boolean" => value.is_boolean(),
        "null" => value.is_null(),
        _ => true,
    }
}

fn type_names(types: &Value) -> String {
    let article = |name: &str| match name {
        "object" | "array" | "integer" => format!("an {name}"),
        "null" => "null".to_owned(),
        _ => format!("a {name}"),
    };
    match types {
        Value::String(name) => article(name),
        Value::Array(names) => names.iter().filter_map(Value::as_str).map(article).collect::<Vec<_>>().join(" or "),
        other => other.to_string(),
    }
}

fn describe(value: &Value) -> String {
    let short = |text: String| {
        if text.chars().count() > 40 {
            format!("{}…", text.chars().take(40).collect::<String>())
        } else {
            text
        }
    };
    match value {
        Value::Null => "null".to_owned(),
        Value::Bool(b) => format!("the boolean {b}"),
        Value::Number(n) if n.is_f64() => format!("the number {n}"),
        Value::Number(n) => format!("the integer {n}"),
        Value::String(s) => format!("the string {}", short(Value::from(s.as_str()).to_string())),
        Value::Array(_) => "an array".to_owned(),
        Value::Object(_) => "an object".to_owned(),
    }
}

/// The known name nearest to `name` (Damerau-Levenshtein over lower case), when it is
/// within a third of the name's length (at least 1, at most 3 edits).
fn nearest<'a>(name: &str, known: Vec<&'a str>) -> Option<&'a str> {
    let lower = name.to_lowercase();
    let limit = (lower.chars().count() / 3).clamp(1, 3);
    known
        .into_iter()
        .map(|k| (distance(&lower, &k.to_lowercase()), k))
        .filter(|(d, _)| *d <= limit)
        .min()
        .map(|(_, k)| k)
}

/// Optimal string alignment distance: insertions, deletions, substitutions and swaps of
/// neighbours (`pgae` -> `page` is one edit).
fn distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut rows = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in rows.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in rows[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut best = (rows[i - 1][j] + 1).min(rows[i][j - 1] + 1).min(rows[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                best = best.min(rows[i - 2][j - 2] + 1);
            }
            rows[i][j] = best;
        }
    }
    rows[a.len()][b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn distances_count_swaps_as_one_edit() {
        assert_eq!(distance("pgae", "page"), 1);
        assert_eq!(distance("size", "size"), 0);
        assert_eq!(distance("sise", "size"), 1);
        assert_eq!(distance("", "abc"), 3);
        assert_eq!(nearest("pgae", vec!["size", "page"]), Some("page"));
        assert_eq!(nearest("Page", vec!["page"]), Some("page"));
        assert_eq!(nearest("xyz", vec!["page", "size"]), None, "nothing close");
    }

    #[test]
    fn paths_name_nested_places() {
        let schema = json!({
            "type": "object", "additionalProperties": false, "required": ["size"],
            "properties": {
                "size": {"type": "integer"},
                "id": {"type": ["integer", "string"]},
                "list": {"type": "array", "items": {"type": "object", "additionalProperties": false,
                    "properties": {"order_status": {"type": "string"}}}},
                "map": {"type": "object", "additionalProperties": {"type": "boolean"}},
                "kind": {"enum": [1, 2]}
            }
        });
        assert!(validate(&schema, &json!({"size": 1, "id": "7", "list": [], "map": {"a b": true}})).is_empty());
        assert!(validate(&schema, &json!({"size": 1, "id": 7})).is_empty());
        let found = validate(
            &schema,
            &json!({"id": 1.5, "list": [{"order_status": "1"}, {"order_status": 2, "ordr_status": "x"}],
                    "map": {"a b": 1}, "kind": 3}),
        );
        let places: Vec<(&str, ViolationKind)> = found.iter().map(|v| (v.path.as_str(), v.kind)).collect();
        assert_eq!(
            places,
            [
                ("$.size", ViolationKind::Missing),
                ("$.id", ViolationKind::WrongType),
                ("$.kind", ViolationKind::NotAllowed),
                ("$.list[1].order_status", ViolationKind::WrongType),
                ("$.list[1].ordr_status", ViolationKind::Unknown),
                ("$.map[\"a b\"]", ViolationKind::WrongType),
            ]
        );
        assert_eq!(found[4].suggestion.as_deref(), Some("order_status"));
        assert_eq!(
            found[4].to_string(),
            "$.list[1].ordr_status: unknown field `ordr_status`; did you mean `order_status`?"
        );
        assert_eq!(found[1].message, "expected an integer or a string, got the number 1.5");
    }

    #[test]
    fn any_of_takes_any_branch() {
        let schema = json!({"anyOf": [{"type": "integer"}, {"type": "object", "required": ["data"]}]});
        assert!(validate(&schema, &json!(3)).is_empty());
        assert!(validate(&schema, &json!({"data": 3})).is_empty());
        assert_eq!(validate(&schema, &json!("x")).len(), 1);
    }
}
