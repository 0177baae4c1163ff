//! JSON Schemas of every method's parameters and reply `data` (`api/schema/<group>.json`),
//! printed from the same IR as the Rust types, and the index that embeds them
//! (`api/schema/index.rs`). The SDK's `schema` module serves and checks them.
//!
//! The subset of JSON Schema used is small on purpose (the SDK's validator implements
//! exactly it): `type` (a name or a list of names), `properties`, `required`,
//! `additionalProperties` (a boolean or a schema, for maps), `items` and `anyOf`; `title`
//! and `description` are documentation. Parameter objects are closed (an unknown field is
//! refused), reply objects open (the platform adds fields). Code sets are open on the
//! wire (new codes appear), so their documented values are listed in `description`, not
//! enforced.

use crate::codes::CodeSets;
use crate::ir::{Api, FieldIr, Group, Method, ResponseShape, RustType, Struct};
use proc_macro2::TokenStream;
use quote::quote;
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;

/// The dialect the schemas declare.
pub const DIALECT: &str = "https://json-schema.org/draft/2020-12/schema";

/// Chinese titles of groups and methods (`api-spec/titles.json`, optional data).
#[derive(Debug, Clone, Default, PartialEq, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Titles {
    /// Source id -> where its titles come from.
    #[serde(default)]
    pub sources: BTreeMap<String, String>,
    /// Group (as the platform spells it) -> title.
    #[serde(default)]
    pub groups: BTreeMap<String, String>,
    /// Method name -> its title and the source it comes from.
    #[serde(default)]
    pub methods: BTreeMap<String, MethodTitle>,
}

/// A method's Chinese title.
#[derive(Debug, Clone, PartialEq, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MethodTitle {
    /// The title, as the platform's documentation names the method.
    pub title: String,
    /// A key of [`Titles::sources`].
    pub source: String,
}

/// Which side of a call a schema describes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Side {
    /// Parameters: closed objects, required fields.
    Params,
    /// Reply `data`: open objects, nothing required (the SDK decodes absent as empty).
    Reply,
}

/// The types a method's fields may name: its nested types and the domain types.
struct Scope<'a> {
    nested: &'a [Struct],
    api: &'a Api,
}

impl Scope<'_> {
    fn named(&self, name: &str) -> Option<&Struct> {
        self.nested.iter().find(|s| s.name == name)
    }
    fn model(&self, name: &str) -> Option<&Struct> {
        self.api.model.iter().map(|m| &m.body).find(|s| s.name == name)
    }
}

/// The schema file of a group: one line per method, `{"params": ..., "reply": ...}`,
/// keyed by method name (sorted), so a spec change shows as a one-line diff.
pub fn schema_file(api: &Api, group: &Group, titles: &Titles) -> String {
    let mut out = String::from("{\n");
    for (i, method) in group.methods.iter().enumerate() {
        let entry = json!({ "params": params_schema(api, method, titles), "reply": reply_schema(api, method) });
        let key = serde_json::to_string(&method.name).expect("a string serialises");
        let sep = if i + 1 == group.methods.len() { "" } else { "," };
        out.push_str(&format!("{key}:{}{sep}\n", serde_json::to_string(&entry).expect("a Value serialises")));
    }
    out.push_str("}\n");
    out
}

/// `api/schema/index.rs`: every group's schema file, embedded, by group name, and the
/// groups' Chinese titles.
pub fn schema_index(api: &Api, titles: &Titles) -> TokenStream {
    let entries = api.groups.iter().map(|g| {
        let name = &g.name;
        let file = format!("{}.json", g.module);
        quote!((#name, include_str!(#file)))
    });
    let titled = api.groups.iter().filter_map(|g| {
        let name = &g.name;
        titles.groups.get(name).map(|title| quote!((#name, #title)))
    });
    quote! {
        //! The JSON Schemas of every method, one JSON text per group (as the platform
        //! spells it): `{"method": {"params": schema, "reply": schema}, ...}`.
        /// Group -> its schemas' JSON text, sorted by group.
        pub(crate) const GROUPS: &[(&str, &str)] = &[#(#entries),*];
        /// Group -> its Chinese title (`api-spec/titles.json`), sorted by group.
        pub(crate) const GROUP_TITLES: &[(&str, &str)] = &[#(#titled),*];
    }
}

fn params_schema(api: &Api, method: &Method, titles: &Titles) -> Value {
    let mut schema = Map::new();
    schema.insert("$schema".into(), DIALECT.into());
    if let Some(title) = titles.methods.get(&method.name) {
        schema.insert("title".into(), title.title.as_str().into());
    }
    let doc = method.doc.clone().unwrap_or_else(|| format!("The parameters of `{}`.", method.name));
    match &method.typed {
        Some(typed) => {
            schema.insert("description".into(), doc.into());
            let scope = Scope { nested: &typed.nested, api };
            schema.extend(object(&typed.request, &scope, Side::Params));
        }
        None => {
            let doc = format!("{doc} Untyped: the spec lists no parameters, so any object is sent as it is.");
            schema.insert("description".into(), doc.into());
            schema.insert("type".into(), "object".into());
            schema.insert("additionalProperties".into(), true.into());
        }
    }
    Value::Object(schema)
}

fn reply_schema(api: &Api, method: &Method) -> Value {
    let mut schema = Map::new();
    schema.insert("$schema".into(), DIALECT.into());
    let doc = format!("The `data` of a `{}` reply.", method.name);
    let Some(typed) = &method.typed else {
        let doc = format!("{doc} Untyped: the spec does not describe it; any value.");
        schema.insert("description".into(), doc.into());
        return Value::Object(schema);
    };
    schema.insert("description".into(), doc.into());
    let scope = Scope { nested: &typed.nested, api };
    let shape = match &typed.response {
        ResponseShape::Object(s) => Value::Object(object(s, &scope, Side::Reply)),
        ResponseShape::Newtype(ty, _) => type_schema(ty, &scope, Side::Reply),
    };
    match (&typed.wrapper, shape) {
        // The value itself, or the value wrapped in a one-key object.
        (Some(key), shape) => {
            let wrapped = json!({ "type": "object", "properties": { key.as_str(): shape }, "required": [key] });
            schema.insert("anyOf".into(), json!([shape, wrapped]));
        }
        (None, Value::Object(map)) => schema.extend(map),
        (None, other) => {
            schema.insert("allOf".into(), json!([other]));
        }
    }
    Value::Object(schema)
}

/// An object's schema members (`type`, `properties`, `required`, `additionalProperties`).
fn object(s: &Struct, scope: &Scope, side: Side) -> Map<String, Value> {
    let mut properties = Map::new();
    let mut required = Vec::new();
    for field in &s.fields {
        properties.insert(field.wire.clone(), field_schema(field, scope, side));
        if side == Side::Params && field.required {
            required.push(Value::from(field.wire.as_str()));
        }
    }
    let mut out = Map::new();
    out.insert("type".into(), "object".into());
    out.insert("properties".into(), Value::Object(properties));
    if !required.is_empty() {
        out.insert("required".into(), Value::Array(required));
    }
    out.insert("additionalProperties".into(), (side == Side::Reply).into());
    out
}

fn field_schema(field: &FieldIr, scope: &Scope, side: Side) -> Value {
    let mut schema = type_schema(&field.ty, scope, side);
    if let (Some(doc), Value::Object(map)) = (&field.doc, &mut schema) {
        let doc = match map.get("description").and_then(Value::as_str) {
            Some(more) => format!("{doc} {more}"),
            None => doc.clone(),
        };
        map.insert("description".into(), doc.into());
    }
    schema
}

fn type_schema(ty: &RustType, scope: &Scope, side: Side) -> Value {
    match ty {
        RustType::String => json!({ "type": "string" }),
        RustType::I32 | RustType::I64 => json!({ "type": "integer" }),
        RustType::F64 => json!({ "type": "number" }),
        RustType::Bool => json!({ "type": "boolean" }),
        RustType::Value => json!({}),
        RustType::Named(name) => match scope.named(name) {
            Some(s) => Value::Object(object(s, scope, side)),
            None => json!({ "type": "object" }),
        },
        RustType::Model(name) => match scope.model(name) {
            Some(s) => Value::Object(object(s, scope, side)),
            None => json!({ "type": "object" }),
        },
        RustType::CodeSet { name, text } => {
            let ty = if *text { "string" } else { "integer" };
            json!({ "type": ty, "description": codes_doc(&scope.api.codes, name, *text) })
        }
        RustType::CodeList { name } => {
            let doc = format!("Codes joined by `,`. {}", codes_doc(&scope.api.codes, name, false));
            json!({ "type": "string", "description": doc })
        }
        // The SDK's id types take a number or its text either way; the wire form is noted.
        RustType::Id { text, .. } => {
            let doc = if *text { "An id, sent as text." } else { "An id, sent as a number." };
            json!({ "type": ["integer", "string"], "description": doc })
        }
        RustType::Vec(inner) => json!({ "type": "array", "items": type_schema(inner, scope, side) }),
        RustType::Map(inner) => json!({ "type": "object", "additionalProperties": type_schema(inner, scope, side) }),
    }
}

/// A code set's documented values, for `description`.
fn codes_doc(codes: &CodeSets, name: &str, text: bool) -> String {
    let Some(set) = codes.sets.iter().find(|s| s.name == name) else { return format!("Code set `{name}`.") };
    let values: Vec<String> = set.values.iter().map(|v| format!("{} = {}", v.value, v.label)).collect();
    let form = if text { " (sent as text)" } else { "" };
    format!("Code set `{name}`{form}: {}; other codes may appear.", values.join(", "))
}
