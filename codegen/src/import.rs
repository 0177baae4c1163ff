//! Catalog -> spec files (`cargo xtask import-catalog <catalog.json>`).
//!
//! Re-importing is safe: entries the importer owns carry `"origin": "catalog"` and are
//! replaced; every other entry is kept and wins over a catalog entry of the same name:
//! hand-written ones (no `origin`), and those of an SDK import (`sdk-go`, `sdk-java`),
//! whose source is newer than the catalog. Hand-made decisions about imported entries live
//! in `overrides.json`, which the importer never writes.
//!
//! The importer also applies the shared heuristics of [`crate::heuristics`], written into
//! the spec explicitly (and overridable): read-only methods by name, sensitive fields by
//! name, and paging.

use crate::error::SpecError;
use crate::heuristics::{imported_field, imported_method, mark_receivers, untyped_method};
use crate::spec::{Body, Field, GroupFile, Message, MessagesFile, Method, Origin};
use serde::Deserialize;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

/// The origin marker of imported entries.
pub const ORIGIN: Origin = Origin::Catalog;

#[derive(Deserialize)]
struct Catalog {
    methods: Vec<CatalogMethod>,
    #[serde(default)]
    messages: Vec<CatalogMessage>,
    #[serde(default)]
    method_lists: BTreeMap<String, Vec<String>>,
    /// Places where copies of the SDKs disagree about a field.
    #[serde(default)]
    conflicts: Vec<CatalogConflict>,
}

/// `{"method", "class", "field", "kind": "required" | "type", "<source>": <its value>, ...}`.
#[derive(Deserialize)]
struct CatalogConflict {
    method: String,
    field: String,
    kind: String,
    #[serde(flatten)]
    claims: BTreeMap<String, Value>,
}

impl CatalogConflict {
    /// What the sources say, for the note: `go_zsmhub: false, go_tongxury: true`.
    fn claims(&self) -> String {
        self.claims
            .iter()
            .filter(|(source, _)| source.as_str() != "class")
            .map(|(source, value)| format!("{source}: {value}"))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

#[derive(Deserialize)]
struct CatalogMethod {
    method: String,
    group: String,
    #[serde(default)]
    source: Option<String>,
    request: CatalogRequest,
    response: CatalogResponse,
    #[serde(default)]
    types: CatalogTypes,
    #[serde(default)]
    types_not_read: CatalogTypesNotRead,
}

#[derive(Deserialize)]
struct CatalogRequest {
    fields: Vec<CatalogField>,
}

#[derive(Deserialize)]
struct CatalogResponse {
    data_type: String,
    #[serde(default)]
    fields: Vec<CatalogField>,
}

#[derive(Deserialize, Default)]
struct CatalogTypes {
    #[serde(default)]
    param: BTreeMap<String, Vec<CatalogField>>,
    #[serde(default)]
    data: BTreeMap<String, Vec<CatalogField>>,
}

#[derive(Deserialize, Default)]
struct CatalogTypesNotRead {
    #[serde(default)]
    param: Vec<String>,
    #[serde(default)]
    data: Vec<String>,
}

#[derive(Deserialize, Clone)]
struct CatalogField {
    name: String,
    #[serde(rename = "type")]
    ty: String,
    #[serde(default)]
    required: bool,
    #[serde(default)]
    required_unknown: bool,
    #[serde(default)]
    example: Option<Value>,
}

#[derive(Deserialize)]
struct CatalogMessage {
    tag: u32,
    name: String,
    #[serde(default)]
    doc_url: Option<String>,
    fields: Vec<CatalogField>,
    #[serde(default)]
    types: BTreeMap<String, Vec<CatalogField>>,
}

/// The spec after an import: group name -> file, and the messages file.
#[derive(Debug, Clone)]
pub struct Imported {
    /// Group name -> file content.
    pub groups: BTreeMap<String, GroupFile>,
    /// The messages.
    pub messages: MessagesFile,
    /// Notes for the user (e.g. catalog types that could not be resolved).
    pub notes: Vec<String>,
}

/// Imports a catalog over the existing spec files.
pub fn import(
    catalog_file: &str,
    catalog_text: &str,
    existing_groups: Vec<GroupFile>,
    existing_messages: Option<MessagesFile>,
) -> Result<Imported, SpecError> {
    let mut de = serde_json::Deserializer::from_str(catalog_text);
    let catalog: Catalog = serde_path_to_error::deserialize(&mut de)
        .map_err(|e| SpecError::new(catalog_file, e.path().to_string(), e.into_inner().to_string()))?;
    let mut notes = Vec::new();

    // Entries the catalog does not own survive; its own are rebuilt.
    let mut methods: BTreeMap<String, (String, Method)> = BTreeMap::new();
    let mut kept: BTreeSet<String> = BTreeSet::new();
    for group in existing_groups {
        for method in group.methods {
            if method.origin != Some(ORIGIN) {
                kept.insert(method.name.clone());
                methods.insert(method.name.clone(), (group.group.clone(), method));
            }
        }
    }
    for m in &catalog.methods {
        if kept.contains(&m.method) {
            let owner = methods[&m.method].1.origin.map_or("hand-written", Origin::as_str);
            notes.push(format!("{}: kept the {owner} entry", m.method));
            continue;
        }
        let mut method = import_method(m, &mut notes);
        for conflict in catalog.conflicts.iter().filter(|c| c.method == m.method) {
            settle_conflict(&mut method, conflict, &mut notes);
        }
        methods.insert(m.method.clone(), (m.group.clone(), method));
    }
    let typed: BTreeSet<&str> = catalog.methods.iter().map(|m| m.method.as_str()).collect();
    let listed: BTreeSet<&String> = catalog.method_lists.values().flatten().collect();
    for name in listed {
        if typed.contains(name.as_str()) || kept.contains(name) {
            continue;
        }
        let group = name.split('.').next().unwrap_or(name).to_owned();
        let method = untyped_method(name, ORIGIN, Some("method list only".to_owned()));
        methods.insert(name.clone(), (group, method));
    }
    let mut groups: BTreeMap<String, GroupFile> = BTreeMap::new();
    for (_, (group, method)) in methods {
        groups.entry(group.clone()).or_insert_with(|| GroupFile { group, methods: Vec::new() }).methods.push(method);
    }

    let mut messages: BTreeMap<u32, Message> = BTreeMap::new();
    for message in existing_messages.into_iter().flat_map(|m| m.messages) {
        if message.origin != Some(ORIGIN) {
            messages.insert(message.tag, message);
        }
    }
    for m in &catalog.messages {
        if messages.contains_key(&m.tag) {
            continue;
        }
        let mut stack = Vec::new();
        let mut fields = convert_fields(&m.fields, &m.types, &[], &mut stack, &m.name, &mut notes);
        mark_receivers(&mut fields);
        messages.insert(
            m.tag,
            Message {
                tag: m.tag,
                name: m.name.clone(),
                origin: Some(ORIGIN),
                doc_url: m.doc_url.clone(),
                doc: None,
                fields,
            },
        );
    }
    Ok(Imported { groups, messages: MessagesFile { messages: messages.into_values().collect() }, notes })
}

fn import_method(m: &CatalogMethod, notes: &mut Vec<String>) -> Method {
    let mut stack = Vec::new();
    let request =
        convert_fields(&m.request.fields, &m.types.param, &m.types_not_read.param, &mut stack, &m.method, notes);
    let (ty, class) = split_object(&m.response.data_type);
    let response = match class {
        // The usual case: `data` is the root object whose fields the catalog lists.
        Some(_) if ty == "object" => Body {
            ty,
            fields: Some(convert_fields(
                &m.response.fields,
                &m.types.data,
                &m.types_not_read.data,
                &mut stack,
                &m.method,
                notes,
            )),
        },
        Some(class) => match m.types.data.get(&class) {
            Some(fields) => {
                stack.push(class.clone());
                let fields =
                    convert_fields(fields, &m.types.data, &m.types_not_read.data, &mut stack, &m.method, notes);
                Body { ty, fields: Some(fields) }
            }
            None => {
                notes.push(format!("{}: data type {class} not in the catalog; typed as any", m.method));
                Body { ty: ty.replace("object", "any"), fields: None }
            }
        },
        None => Body { ty, fields: None },
    };
    imported_method(&m.method, ORIGIN, m.source.clone(), request, response)
}

/// `list<object:Foo>` -> (`list<object>`, Some("Foo")).
fn split_object(ty: &str) -> (String, Option<String>) {
    match ty.find("object:") {
        Some(start) => {
            let rest = &ty[start + "object:".len()..];
            let len = rest.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).unwrap_or(rest.len());
            let class = rest[..len].to_owned();
            (format!("{}object{}", &ty[..start], &rest[len..]), Some(class))
        }
        None => (ty.to_owned(), None),
    }
}

fn convert_fields(
    fields: &[CatalogField],
    classes: &BTreeMap<String, Vec<CatalogField>>,
    not_read: &[String],
    stack: &mut Vec<String>,
    owner: &str,
    notes: &mut Vec<String>,
) -> Vec<Field> {
    fields
        .iter()
        .map(|f| {
            let (mut ty, class) = split_object(&f.ty);
            let mut nested = None;
            if let Some(class) = class {
                if not_read.contains(&class) {
                    // The catalog names the class but could not read it: an open JSON value.
                    ty = ty.replace("object", "any");
                } else if stack.contains(&class) {
                    notes.push(format!("{owner}: recursive type {class} at `{}`; typed as any", f.name));
                    ty = ty.replace("object", "any");
                } else if let Some(class_fields) = classes.get(&class) {
                    stack.push(class.clone());
                    nested = Some(convert_fields(class_fields, classes, not_read, stack, owner, notes));
                    stack.pop();
                } else {
                    notes.push(format!("{owner}: type {class} of `{}` not in the catalog; typed as any", f.name));
                    ty = ty.replace("object", "any");
                }
            }
            let example = match &f.example {
                Some(Value::String(s)) => Some(s.clone()),
                Some(Value::Null) | None => None,
                Some(other) => Some(other.to_string()),
            };
            // Where the catalog is unsure, the field is optional.
            imported_field(&f.name, ty, f.required && !f.required_unknown, example, nested)
        })
        .collect()
}

/// Applies the safe choice where copies of the SDKs disagree, and records it on the field:
/// a field any copy calls optional is optional; a field whose type differs between copies
/// is an open JSON value (`any`), which decodes whatever either copy sends.
fn settle_conflict(method: &mut Method, conflict: &CatalogConflict, notes: &mut Vec<String>) {
    let decision = match conflict.kind.as_str() {
        "required" => "optional",
        "type" => "any (open JSON)",
        other => {
            notes.push(format!("{}: conflict of unknown kind `{other}` on `{}`", method.name, conflict.field));
            return;
        }
    };
    let note = format!("copies disagree on {} ({}): {decision}", conflict.kind, conflict.claims());
    let mut settled = 0;
    let mut settle = |field: &mut Field| {
        if field.name != conflict.field {
            return;
        }
        match conflict.kind.as_str() {
            "required" => field.required = false,
            _ => {
                field.ty = "any".to_owned();
                field.fields = None;
            }
        }
        field.note = Some(note.clone());
        settled += 1;
    };
    for_each_field(method.request.as_deref_mut().unwrap_or_default(), &mut settle);
    if let Some(fields) = method.response.as_mut().and_then(|r| r.fields.as_deref_mut()) {
        for_each_field(fields, &mut settle);
    }
    if settled == 0 {
        notes.push(format!("{}: conflict on `{}` names no field of the method", method.name, conflict.field));
    }
}

/// Calls `visit` on every field, at every depth.
fn for_each_field(fields: &mut [Field], visit: &mut impl FnMut(&mut Field)) {
    for field in fields {
        visit(field);
        if let Some(children) = field.fields.as_deref_mut() {
            for_each_field(children, visit);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn object_types_are_split() {
        assert_eq!(
            split_object("list<object:ShopOrderListItem>"),
            ("list<object>".to_owned(), Some("ShopOrderListItem".to_owned()))
        );
        assert_eq!(
            split_object("map<i64,list<object:X_4>>"),
            ("map<i64,list<object>>".to_owned(), Some("X_4".to_owned()))
        );
        assert_eq!(split_object("i64"), ("i64".to_owned(), None));
    }

    const CATALOG: &str = r#"{
      "methods": [{
        "method": "order.searchList", "group": "order", "source": "go",
        "request": {"fields": [
          {"name": "page", "type": "i64", "required": true, "example": "0"},
          {"name": "size", "type": "i64", "required": true, "example": "20"},
          {"name": "combine", "type": "list<object:CombineItem>", "required": true, "required_unknown": true}
        ]},
        "response": {"data_type": "object:Data", "fields": [
          {"name": "total", "type": "i64"},
          {"name": "shop_order_list", "type": "list<object:ShopOrderListItem>"}
        ]},
        "types": {"param": {"CombineItem": [{"name": "main_status", "type": "string"}]},
                  "data": {"ShopOrderListItem": [{"name": "post_tel", "type": "string"}, {"name": "odd", "type": "object:Unread"}]}},
        "types_not_read": {"data": ["Unread"]}
      }],
      "messages": [{"tag": 100, "name": "TradeCreate", "fields": [{"name": "p_id", "type": "i64"}], "types": {}}],
      "method_lists": {"php": ["order.searchList", "alliance.getOrderList"]}
    }"#;

    #[test]
    fn imports_methods_messages_and_untyped_names() {
        let imported = import("catalog.json", CATALOG, vec![], None).unwrap();
        let order = &imported.groups["order"].methods[0];
        assert!(order.read_only);
        let request = order.request.as_ref().unwrap();
        assert!(!request[2].required, "required_unknown makes a field optional");
        assert_eq!(request[2].ty, "list<object>");
        let paging = order.paging.as_ref().unwrap();
        assert_eq!(
            (paging.base, paging.items.as_str(), paging.total.as_deref()),
            (0, "shop_order_list", Some("total"))
        );
        let items = order.response.as_ref().unwrap().fields.as_ref().unwrap()[1].fields.as_ref().unwrap();
        assert!(items[0].sensitive);
        assert_eq!(items[1].ty, "any", "a type the catalog could not read is an open JSON value");
        let alliance = &imported.groups["alliance"].methods[0];
        assert!(alliance.request.is_none() && alliance.response.is_none());
        assert_eq!(imported.messages.messages[0].name, "TradeCreate");
    }

    #[test]
    fn reimport_keeps_hand_written_methods() {
        let first = import("catalog.json", CATALOG, vec![], None).unwrap();
        let mut groups: Vec<GroupFile> = first.groups.into_values().collect();
        let hand = Method {
            name: "order.handMade".into(),
            origin: None,
            source: None,
            doc: Some("added by hand".into()),
            doc_url: None,
            aliases: Vec::new(),
            read_only: false,
            paging: None,
            request: None,
            response: None,
        };
        groups.iter_mut().find(|g| g.group == "order").unwrap().methods.push(hand.clone());
        let again = import("catalog.json", CATALOG, groups, Some(first.messages)).unwrap();
        let order = &again.groups["order"].methods;
        assert_eq!(order.len(), 2);
        assert!(order.contains(&hand));
    }

    #[test]
    fn reimport_keeps_sdk_entries_over_catalog_ones() {
        let first = import("catalog.json", CATALOG, vec![], None).unwrap();
        let mut groups: Vec<GroupFile> = first.groups.into_values().collect();
        let order = groups.iter_mut().find(|g| g.group == "order").unwrap();
        let from_sdk =
            Method { origin: Some(Origin::SdkJava), doc: Some("from the SDK".into()), ..order.methods[0].clone() };
        order.methods[0] = from_sdk.clone();
        let again = import("catalog.json", CATALOG, groups, Some(first.messages)).unwrap();
        assert_eq!(again.groups["order"].methods, [from_sdk]);
        assert!(again.notes.contains(&"order.searchList: kept the sdk-java entry".to_owned()), "{:?}", again.notes);
    }
}
