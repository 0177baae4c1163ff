//! The generated schemas against the generated samples (`doudian-gateway/data/samples.json`),
//! and mutated samples refused at the right JSON path, for methods drawn by a seeded
//! generator (the same draw on every run).

use doudian_sdk::catalog::METHODS;
use doudian_sdk::schema::{self, ViolationKind};
use serde_json::{Map, Value};

fn samples() -> Map<String, Value> {
    serde_json::from_str(include_str!("../../doudian-gateway/data/samples.json")).expect("samples.json")
}

/// splitmix64: a fixed seed gives the same draw everywhere.
struct Draw(u64);

impl Draw {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    /// Up to `count` distinct items, in drawn order (a partial Fisher-Yates shuffle).
    fn pick<T>(&mut self, mut items: Vec<T>, count: usize) -> Vec<T> {
        let count = count.min(items.len());
        for i in 0..count {
            let j = i + self.below(items.len() - i);
            items.swap(i, j);
        }
        items.truncate(count);
        items
    }
}

/// The typed methods with their sample params (an object) and params schema.
fn typed_methods() -> Vec<(String, Map<String, Value>, Value)> {
    let samples = samples();
    METHODS
        .iter()
        .filter(|m| m.typed)
        .map(|m| {
            let params = samples[m.name]["request"].as_object().cloned().expect("sample params are an object");
            (m.name.to_owned(), params, schema::params(m.name).expect("a schema").clone())
        })
        .collect()
}

fn properties(schema: &Value) -> &Map<String, Value> {
    schema["properties"].as_object().expect("a typed params schema has properties")
}

/// The only violation; panics naming the method when there are none or several.
fn only_violation(method: &str, params: &Map<String, Value>) -> schema::Violation {
    let mut violations = schema::validate_params(method, &Value::Object(params.clone()))
        .expect_err(&format!("{method}: the mutated params pass"));
    assert_eq!(violations.len(), 1, "{method}: {violations:?}");
    violations.remove(0)
}

#[test]
fn every_sample_fits_its_schemas() {
    let samples = samples();
    assert_eq!(samples.len(), METHODS.len());
    let mut checked = 0;
    for m in METHODS.iter() {
        let sample = &samples[m.name];
        if let Err(violations) = schema::validate_params(m.name, &sample["request"]) {
            panic!("{} sample params: {violations:?}", m.name);
        }
        let reply = schema::reply(m.name).expect("a reply schema");
        checked += 1;
        let open = schema::params(m.name).unwrap();
        assert_eq!(open["additionalProperties"], Value::Bool(!m.typed), "{}: closed exactly when typed", m.name);
        assert_reply_fits(m.name, reply, &sample["response"]);
    }
    assert_eq!(checked, METHODS.len());
}

/// Reply `data` against its schema, through a method-free check: the schema is applied by
/// [`schema::validate_params`] only to params, so this walks the same subset here.
fn assert_reply_fits(method: &str, schema: &Value, value: &Value) {
    fn fits(schema: &Value, value: &Value) -> bool {
        let Some(schema) = schema.as_object() else { return true };
        if let Some(branches) = schema.get("anyOf").and_then(Value::as_array) {
            if !branches.iter().any(|b| fits(b, value)) {
                return false;
            }
        }
        let type_ok = |name: &str| match name {
            "object" => value.is_object(),
            "array" => value.is_array(),
            "string" => value.is_string(),
            "integer" => value.is_i64() || value.is_u64(),
            "number" => value.is_number(),
            "boolean" => value.is_boolean(),
            _ => true,
        };
        let typed = match schema.get("type") {
            Some(Value::String(name)) => type_ok(name),
            Some(Value::Array(names)) => names.iter().filter_map(Value::as_str).any(type_ok),
            _ => true,
        };
        if !typed {
            return false;
        }
        match value {
            Value::Object(map) => map.iter().all(|(k, v)| match schema.get("properties").and_then(|p| p.get(k)) {
                Some(s) => fits(s, v),
                None => match schema.get("additionalProperties") {
                    Some(Value::Bool(false)) => false,
                    Some(s @ Value::Object(_)) => fits(s, v),
                    _ => true,
                },
            }),
            Value::Array(items) => schema.get("items").is_none_or(|s| items.iter().all(|i| fits(s, i))),
            _ => true,
        }
    }
    assert!(fits(schema, value), "{method}: the sample reply does not fit {schema}");
    if schema.get("properties").is_some() {
        assert_eq!(schema["additionalProperties"], Value::Bool(true), "{method}: replies are open");
    }
}

#[test]
fn dropped_required_fields_are_missing_at_their_path() {
    let candidates: Vec<_> = typed_methods().into_iter().filter(|(_, _, s)| s.get("required").is_some()).collect();
    assert!(candidates.len() >= 100, "only {} methods have a required field", candidates.len());
    let mut draw = Draw(0x5EED_0001);
    for (method, mut params, schema) in draw.pick(candidates, 100) {
        let required = schema["required"].as_array().unwrap();
        let name = required[draw.below(required.len())].as_str().unwrap().to_owned();
        params.remove(&name);
        let violation = only_violation(&method, &params);
        assert_eq!(
            (violation.kind, violation.path.as_str()),
            (ViolationKind::Missing, format!("$.{name}").as_str()),
            "{method}"
        );
        assert!(violation.message.contains(&name), "{method}: {violation}");
    }
}

/// A value of another JSON type than every type the field takes, when it takes any type
/// at all.
fn other_type(field: &Value) -> Option<Value> {
    let types: Vec<&str> = match field.get("type")? {
        Value::String(name) => vec![name.as_str()],
        Value::Array(names) => names.iter().filter_map(Value::as_str).collect(),
        _ => return None,
    };
    [Value::Bool(true), Value::from("text"), Value::from(1.5), Value::Array(vec![])].into_iter().find(|candidate| {
        let kind = match candidate {
            Value::Bool(_) => "boolean",
            Value::String(_) => "string",
            Value::Number(_) => "number",
            _ => "array",
        };
        !types.contains(&kind)
    })
}

#[test]
fn changed_types_are_wrong_at_their_path() {
    let candidates: Vec<_> = typed_methods().into_iter().filter(|(_, p, _)| !p.is_empty()).collect();
    assert!(candidates.len() >= 100);
    let mut draw = Draw(0x5EED_0002);
    let mut mutated = 0;
    for (method, mut params, schema) in draw.pick(candidates, 100) {
        let typed: Vec<(String, Value)> = properties(&schema)
            .iter()
            .filter(|(name, _)| params.contains_key(*name))
            .filter_map(|(name, field)| Some((name.clone(), other_type(field)?)))
            .collect();
        if typed.is_empty() {
            continue; // every field takes any JSON value
        }
        let (name, value) = typed[draw.below(typed.len())].clone();
        params.insert(name.clone(), value);
        let violation = only_violation(&method, &params);
        assert_eq!(
            (violation.kind, violation.path.as_str()),
            (ViolationKind::WrongType, format!("$.{name}").as_str()),
            "{method}"
        );
        mutated += 1;
    }
    assert!(mutated >= 95, "only {mutated} of 100 drawn methods had a typed field");
}

#[test]
fn unknown_fields_are_refused_with_the_nearest_name() {
    let candidates: Vec<_> = typed_methods().into_iter().filter(|(_, _, s)| !properties(s).is_empty()).collect();
    assert!(candidates.len() >= 100);
    let mut draw = Draw(0x5EED_0003);
    for (method, mut params, schema) in draw.pick(candidates, 100) {
        let known = properties(&schema);
        let names: Vec<&String> = known.keys().collect();
        let original = names[draw.below(names.len())].clone();
        // A typo: the last two characters swapped, or one doubled for a short name.
        let mut chars: Vec<char> = original.chars().collect();
        let n = chars.len();
        if n >= 2 && chars[n - 1] != chars[n - 2] {
            chars.swap(n - 1, n - 2);
        } else {
            chars.push(chars[n - 1]);
        }
        let typo: String = chars.into_iter().collect();
        if known.contains_key(&typo) {
            continue;
        }
        params.insert(typo.clone(), Value::from(1));
        let violation = only_violation(&method, &params);
        assert_eq!(violation.kind, ViolationKind::Unknown, "{method}");
        assert!(violation.path.ends_with(&typo) && violation.path.starts_with('$'), "{method}: {}", violation.path);
        let suggestion =
            violation.suggestion.as_deref().unwrap_or_else(|| panic!("{method}: no suggestion for {typo}"));
        assert!(known.contains_key(suggestion), "{method}: {suggestion}");
        assert!(violation.to_string().contains(&format!("did you mean `{suggestion}`?")), "{violation}");

        // A name far from every known one: refused, nothing suggested.
        params.remove(&typo);
        params.insert("zzzz_not_a_field_at_all".to_owned(), Value::from(1));
        let far = only_violation(&method, &params);
        assert_eq!(
            (far.kind, far.path.as_str(), far.suggestion),
            (ViolationKind::Unknown, "$.zzzz_not_a_field_at_all", None)
        );
    }
}

#[test]
fn untyped_methods_take_any_object_but_only_objects() {
    let untyped = METHODS.iter().find(|m| !m.typed).expect("the spec has an untyped method");
    let schema = schema::params(untyped.name).unwrap();
    assert!(schema["description"].as_str().unwrap().contains("Untyped"));
    assert!(schema::validate_params(untyped.name, &serde_json::json!({"anything": [1, {"x": null}]})).is_ok());
    let refused = schema::validate_params(untyped.name, &serde_json::json!([1])).unwrap_err();
    assert_eq!((refused[0].kind, refused[0].path.as_str()), (ViolationKind::WrongType, "$"));
}

#[test]
fn the_done_when_examples_name_page() {
    let wrong = schema::validate_params("order.searchList", &serde_json::json!({"page": "x", "size": 20})).unwrap_err();
    assert_eq!((wrong[0].kind, wrong[0].path.as_str()), (ViolationKind::WrongType, "$.page"));
    let typo = schema::validate_params("order.searchList", &serde_json::json!({"pgae": 0, "size": 20})).unwrap_err();
    let unknown = typo.iter().find(|v| v.kind == ViolationKind::Unknown).expect("the typo is unknown");
    assert_eq!((unknown.path.as_str(), unknown.suggestion.as_deref()), ("$.pgae", Some("page")));
    // Nested places are named in full.
    let nested = schema::validate_params(
        "order.searchList",
        &serde_json::json!({"page": 0, "size": 20, "combine_status": [{"order_status": 2}]}),
    )
    .unwrap_err();
    assert_eq!(nested[0].path, "$.combine_status[0].order_status");
}
