//! The method's parameter schema (`doudian_sdk::schema`, generated from the spec), checked
//! before a method runs, as the platform checks its parameters: a missing required field is
//! 40001 `isv.parameter-missing`, a value of the wrong type or a field the method does not
//! take is 40003 `isv.parameter-invalid`; each names the field by its JSON path.
//!
//! The gateway is lenient where the official SDKs disagree, and the schema check keeps
//! the same leniency as the methods' own reading (`params.rs`, whose text rules it calls):
//! before checking, an integer as text (empty text is absent), a numeric string where the
//! schema takes a number, a number where it takes text and `true`/`1`/`false`/`0`/empty
//! text where it takes a boolean count as that type, and `null` counts as absent.

use doudian_sdk::schema::{self, ViolationKind};
use serde_json::Value;

use crate::envelope::ApiFailure;
use crate::params::{boolean_from_text, integer_from_text};

/// Refuses `params` that break `method`'s schema; a method without one passes.
pub(crate) fn check(method: &str, params: &Value) -> Result<(), ApiFailure> {
    let Some(params_schema) = schema::params(method) else { return Ok(()) };
    let mut lenient = params.clone();
    coerce(params_schema, &mut lenient);
    let Err(violations) = schema::validate_params(method, &lenient) else { return Ok(()) };
    // The first violation, as the platform names one field at a time.
    let first = &violations[0];
    let field = first.path.strip_prefix("$.").unwrap_or(&first.path);
    Err(match first.kind {
        ViolationKind::Missing => ApiFailure::parameter_missing(field),
        _ => {
            let mut detail = format!("`{field}`: {}", first.message);
            if let Some(name) = &first.suggestion {
                detail.push_str(&format!(" (did you mean `{name}`?)"));
            }
            ApiFailure::parameter_invalid(detail)
        }
    })
}

/// Rewrites the forms the gateway tolerates into the schema's types, in place.
fn coerce(schema: &Value, value: &mut Value) {
    let takes = |name: &str| match schema.get("type") {
        Some(Value::String(t)) => t == name,
        Some(Value::Array(ts)) => ts.iter().any(|t| t == name),
        _ => false,
    };
    match value {
        Value::String(text) if !takes("string") => {
            if takes("integer") {
                match integer_from_text(text) {
                    Ok(Some(n)) => *value = Value::from(n),
                    // Empty: absent (dropped from its object below).
                    Ok(None) => *value = Value::Null,
                    Err(_) => {}
                }
            } else if takes("number") {
                if let Some(n) = text.trim().parse::<f64>().ok().and_then(serde_json::Number::from_f64) {
                    *value = Value::Number(n);
                }
            } else if takes("boolean") {
                if let Some(b) = boolean_from_text(text) {
                    *value = Value::Bool(b);
                }
            }
        }
        Value::Number(n) if takes("string") && !takes("integer") && !takes("number") => {
            *value = Value::String(n.to_string());
        }
        Value::Object(map) => {
            for (name, field) in map.iter_mut() {
                let field_schema = schema.get("properties").and_then(|p| p.get(name.as_str()));
                if let Some(s) = field_schema.or_else(|| schema.get("additionalProperties").filter(|s| s.is_object())) {
                    coerce(s, field);
                }
            }
            map.retain(|_, v| !v.is_null());
        }
        Value::Array(items) => {
            if let Some(item_schema) = schema.get("items") {
                items.iter_mut().for_each(|item| coerce(item_schema, item));
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn tolerated_forms_pass_and_real_mistakes_are_named() {
        assert!(check("order.searchList", &json!({"page": "0", "size": 20, "order_by": null})).is_ok());
        let wrong = check("order.searchList", &json!({"page": "x", "size": 20})).unwrap_err();
        assert_eq!((wrong.code, wrong.sub_code.as_str()), (40003, "isv.parameter-invalid"));
        assert!(wrong.sub_msg.contains("`page`"), "{wrong}");
        let typo = check("order.searchList", &json!({"page": 0, "size": 20, "pgae": 1})).unwrap_err();
        assert!(typo.sub_msg.contains("`pgae`") && typo.sub_msg.contains("did you mean `page`?"), "{typo}");
        let missing = check("order.searchList", &json!({"page": 0})).unwrap_err();
        assert_eq!((missing.code, missing.sub_code.as_str()), (40001, "isv.parameter-missing"));
        assert!(missing.sub_msg.contains("`size`"), "{missing}");
        // The methods' own text rules (params.rs): empty text is an absent integer.
        let empty = check("order.searchList", &json!({"page": 0, "size": ""})).unwrap_err();
        assert_eq!((empty.code, empty.sub_code.as_str()), (40001, "isv.parameter-missing"));
        assert!(check("order.searchList", &json!({"page": 0, "size": 20, "create_time_start": ""})).is_ok());
        // Booleans as text, as params.rs reads them.
        for text in ["1", "0", "", "true", "false"] {
            assert!(check("brand.list", &json!({"full_brand_info": text})).is_ok(), "{text:?}");
        }
        assert!(check("brand.list", &json!({"full_brand_info": "yes"})).is_err());
    }
}
