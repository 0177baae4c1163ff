//! `samples.json` and `message_samples.json`: for every method a request and a response
//! `data`, for every message a `data`, built from the spec's examples where they parse as
//! the field's type, otherwise synthesised from the types (IDs above 2^53 included), so
//! the bundled gateway and the per-method tests have a well-formed value for everything.

use crate::ir::{Api, FieldIr, Messages, ModelStruct, ResponseShape, RustType, Struct, Typed};
use crate::types::TypeExpr;
use serde_json::{Map, Number, Value};

/// An ID beyond 2^53: a JavaScript double would lose it, so it proves lossless decoding.
pub const BIG_ID: i64 = 7_301_111_111_111_111_111;

/// The prefix under which the domain types join a method's nested types for sampling (no
/// nested type's name holds `::`).
const MODEL: &str = "model::";

/// A namespace's nested types and the domain types, for sampling.
fn with_model(nested: &[Struct], api_model: &[ModelStruct]) -> Vec<Struct> {
    let model = api_model.iter().map(|m| Struct { name: format!("{MODEL}{}", m.body.name), ..m.body.clone() });
    nested.iter().cloned().chain(model).collect()
}

/// Builds the samples of every method, keyed by method name.
pub fn method_samples(api: &Api) -> Value {
    let mut out = Map::new();
    for group in &api.groups {
        for method in &group.methods {
            let sample = match &method.typed {
                Some(typed) => {
                    let nested = with_model(&typed.nested, &api.model);
                    let typed = &Typed { nested, ..typed.clone() };
                    let request = object(&typed.request, &typed.nested);
                    let response = match &typed.response {
                        ResponseShape::Object(s) => object(s, &typed.nested),
                        ResponseShape::Newtype(ty, spec) => synth(ty, spec, "data", &typed.nested),
                    };
                    serde_json::json!({ "request": request, "response": response })
                }
                None => serde_json::json!({ "request": {}, "response": {} }),
            };
            out.insert(method.name.clone(), sample);
        }
    }
    Value::Object(out)
}

/// Builds the sample `data` of every message, keyed by tag (by type name where the tag is
/// unpublished).
pub fn message_samples(messages: &Messages, model: &[ModelStruct]) -> Value {
    let mut out = Map::new();
    for message in &messages.messages {
        let key = message.tag.map_or_else(|| message.body.name.clone(), |tag| tag.to_string());
        out.insert(key, object(&message.body, &with_model(&message.nested, model)));
    }
    Value::Object(out)
}

fn object(s: &Struct, nested: &[Struct]) -> Value {
    let mut out = Map::new();
    for field in &s.fields {
        out.insert(field.wire.clone(), field_value(field, nested));
    }
    Value::Object(out)
}

fn field_value(field: &FieldIr, nested: &[Struct]) -> Value {
    let code_set = matches!(field.ty, RustType::CodeSet { .. } | RustType::CodeList { .. });
    // An empty example of an id would read as absent.
    let id = matches!(&field.ty, RustType::Id { .. })
        || matches!(&field.ty, RustType::Vec(item) if matches!(**item, RustType::Id { .. }));
    field
        .example
        .as_deref()
        // A code's example must be its number (some examples are the code's label).
        .filter(|example| !code_set || example.trim().parse::<i64>().is_ok())
        .filter(|example| !id || !example.trim().is_empty())
        .and_then(|example| from_example(example, &field.spec_ty))
        .unwrap_or_else(|| synth(&field.ty, &field.spec_ty, &field.wire, nested))
}

/// The example as a value of the type, when it is one.
fn from_example(example: &str, ty: &TypeExpr) -> Option<Value> {
    match ty {
        TypeExpr::String => Some(Value::String(example.to_owned())),
        TypeExpr::I64 => example.trim().parse::<i64>().ok().map(Value::from),
        TypeExpr::I32 => example.trim().parse::<i32>().ok().map(Value::from),
        TypeExpr::F64 => {
            example.trim().parse::<f64>().ok().filter(|f| f.is_finite()).and_then(Number::from_f64).map(Value::Number)
        }
        TypeExpr::Bool => match example.trim() {
            "true" => Some(Value::Bool(true)),
            "false" => Some(Value::Bool(false)),
            _ => None,
        },
        TypeExpr::List(inner) if !inner.has_object() => {
            // A JSON array of the element type, or a single element.
            if let Ok(Value::Array(items)) = serde_json::from_str::<Value>(example) {
                let items: Option<Vec<Value>> = items
                    .iter()
                    .map(|item| match item {
                        Value::String(s) => from_example(s, inner),
                        other => from_example(&other.to_string(), inner),
                    })
                    .collect();
                return items.filter(|i| !i.is_empty()).map(Value::Array);
            }
            if example.is_empty() {
                return None;
            }
            from_example(example, inner).map(|v| Value::Array(vec![v]))
        }
        _ => None,
    }
}

/// Whether a field name reads like an identifier (it then gets a big ID).
fn is_id(wire: &str) -> bool {
    let lower = wire.to_ascii_lowercase();
    lower == "id"
        || lower == "ids"
        || lower.ends_with("_id")
        || lower.ends_with("_ids")
        || lower.ends_with("id") && wire.ends_with("Id")
}

fn synth(ty: &RustType, spec: &TypeExpr, wire: &str, nested: &[Struct]) -> Value {
    match (ty, spec) {
        (RustType::String, _) if is_id(wire) => Value::String(BIG_ID.to_string()),
        (RustType::String, _) => Value::String(format!("{wire} sample")),
        (RustType::I64, _) if is_id(wire) => Value::from(BIG_ID),
        (RustType::I64 | RustType::I32, _) => Value::from(1),
        (RustType::F64, _) => Value::from(1.5),
        (RustType::Bool, _) => Value::Bool(true),
        (RustType::CodeSet { text: false, .. }, _) => Value::from(2),
        (RustType::CodeSet { text: true, .. } | RustType::CodeList { .. }, _) => Value::String("2".to_owned()),
        (RustType::Id { text: false, .. }, _) => Value::from(BIG_ID),
        (RustType::Id { text: true, .. }, _) => Value::String(BIG_ID.to_string()),
        (RustType::Value, _) => Value::Object(Map::new()),
        (RustType::Model(name), _) => match nested.iter().find(|s| s.name == format!("{MODEL}{name}")) {
            Some(s) => object(s, nested),
            None => Value::Object(Map::new()),
        },
        (RustType::Named(name), _) => match nested.iter().find(|s| &s.name == name) {
            Some(s) => object(s, nested),
            None => Value::Object(Map::new()),
        },
        (RustType::Vec(inner), TypeExpr::List(spec_inner)) => {
            Value::Array(vec![synth(inner, spec_inner, wire, nested)])
        }
        (RustType::Map(inner), TypeExpr::Map(_, spec_inner)) => {
            let mut map = Map::new();
            map.insert("1".to_owned(), synth(inner, spec_inner, wire, nested));
            Value::Object(map)
        }
        (RustType::Vec(inner), _) | (RustType::Map(inner), _) => synth(inner, spec, wire, nested),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn examples_are_typed() {
        assert_eq!(from_example("20", &TypeExpr::I64), Some(Value::from(20)));
        assert_eq!(from_example("abc", &TypeExpr::I64), None);
        assert_eq!(from_example("20", &TypeExpr::String), Some(Value::from("20")));
        assert_eq!(from_example("false", &TypeExpr::Bool), Some(Value::Bool(false)));
        assert_eq!(from_example("1.5", &TypeExpr::F64), Some(Value::from(1.5)));
        let list = TypeExpr::parse("list<i64>").unwrap();
        assert_eq!(from_example("[1,\"2\"]", &list), Some(serde_json::json!([1, 2])));
        assert_eq!(from_example("7", &list), Some(serde_json::json!([7])));
        assert_eq!(from_example("", &list), None);
        assert_eq!(from_example("99999999999", &TypeExpr::I32), None);
    }

    #[test]
    fn ids_are_big() {
        assert_eq!(synth(&RustType::I64, &TypeExpr::I64, "order_id", &[]), Value::from(BIG_ID));
        assert_eq!(synth(&RustType::I64, &TypeExpr::I64, "count", &[]), Value::from(1));
        assert_eq!(synth(&RustType::String, &TypeExpr::String, "shopId", &[]), Value::from(BIG_ID.to_string()));
    }
}
