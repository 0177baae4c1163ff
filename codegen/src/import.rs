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

mod catalog_type;

use crate::error::SpecError;
use crate::heuristics::{imported_field, imported_method, mark_receivers, untyped_method};
use crate::spec::{Body, Field, GroupFile, Message, MessagesFile, Method, Origin};
use catalog_type::CatalogType;
use heck::ToUpperCamelCase;
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
    /// Push messages whose tag number no copy publishes.
    #[serde(default)]
    untagged_messages: Vec<CatalogMessage>,
    #[serde(default)]
    method_lists: BTreeMap<String, Vec<String>>,
    /// Places where copies of the SDKs disagree about a field.
    #[serde(default)]
    conflicts: Vec<CatalogConflict>,
    /// Method names that copies spell with a different case.
    #[serde(default)]
    case_variants: Vec<CaseVariant>,
}

/// `{"method", "class", "field", "kind": "required" | "type" | "data_shape", "<source>": <its value>, ...}`.
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

    /// The claimed types folded with `join` ([`CatalogType::wider`] for what the SDK
    /// decodes, [`CatalogType::sendable`] for what it sends), when every claim is a type.
    fn settled_type(&self, join: fn(&CatalogType, &CatalogType) -> CatalogType) -> Option<CatalogType> {
        let mut claimed = self.claims.iter().filter(|(source, _)| source.as_str() != "class").map(|(_, value)| {
            let mut ty = CatalogType::parse(value.as_str()?)?;
            ty.normalise_keys();
            Some(ty)
        });
        let first = claimed.next()??;
        claimed.try_fold(first, |settled, ty| Some(join(&settled, &ty?)))
    }
}

/// `{"name": "afterSale.Operate", "known_as": "afterSale.operate", ...}`: one method, two spellings.
#[derive(Deserialize)]
struct CaseVariant {
    name: String,
    known_as: String,
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
    #[serde(default)]
    dg_basis: Option<DocBasis>,
}

/// How an entry was read from the documentation copy.
#[derive(Deserialize)]
struct DocBasis {
    /// Present when the documentation lists a single response field `data`, which the
    /// catalog took as the data value itself.
    #[serde(default)]
    single_data_field: Option<String>,
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

/// A tagged message (`messages`) or an untagged one (`untagged_messages`, named by its
/// event: `btas_sellerSendOrderToSc`).
#[derive(Deserialize)]
struct CatalogMessage {
    #[serde(default)]
    tag: Option<u32>,
    name: String,
    #[serde(default)]
    java_msg: Option<String>,
    #[serde(default)]
    doc_url: Option<String>,
    #[serde(default)]
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
    let typed: BTreeSet<&str> = catalog.methods.iter().map(|m| m.method.as_str()).collect();
    let aliases = case_aliases(&catalog.case_variants, &typed);
    let listed: BTreeSet<&String> = catalog.method_lists.values().flatten().collect();
    let canonical_group = group_spellings(
        catalog
            .methods
            .iter()
            .map(|m| m.group.as_str())
            .chain(listed.iter().copied().filter(|n| !aliases.contains_key(n.as_str())).map(|n| group_of(n))),
    );
    for m in &catalog.methods {
        if let Some(canonical) = aliases.get(m.method.as_str()) {
            notes
                .push(format!("{}: typed under both spellings; kept as the other spelling of `{canonical}`", m.method));
            continue;
        }
        if kept.contains(&m.method) {
            let owner = methods[&m.method].1.origin.map_or("hand-written", Origin::as_str);
            notes.push(format!("{}: kept the {owner} entry", m.method));
            continue;
        }
        let mut method = import_method(m, &mut notes);
        for conflict in catalog.conflicts.iter().filter(|c| c.method == m.method) {
            settle_conflict(&mut method, conflict, &mut notes);
        }
        methods.insert(m.method.clone(), (canonical_group(&m.group), method));
    }
    for &name in &listed {
        if typed.contains(name.as_str()) || kept.contains(name) || aliases.contains_key(name.as_str()) {
            continue;
        }
        let method = untyped_method(name, ORIGIN, Some("method list only".to_owned()));
        methods.insert(name.clone(), (canonical_group(group_of(name)), method));
    }
    for (alias, canonical) in &aliases {
        match methods.get_mut(*canonical) {
            Some((_, method)) if method.origin == Some(ORIGIN) => method.known_as.push((*alias).to_owned()),
            Some(_) => notes.push(format!("{canonical}: kept entry; its other spelling `{alias}` is not added")),
            None => {
                // Neither spelling is a method here: keep the alias callable, untyped.
                notes.push(format!("{alias}: a case variant of `{canonical}`, which the catalog does not list"));
                let method = untyped_method(alias, ORIGIN, Some("case variant only".to_owned()));
                methods.insert((*alias).to_owned(), (canonical_group(group_of(alias)), method));
            }
        }
    }
    let mut groups: BTreeMap<String, GroupFile> = BTreeMap::new();
    for (_, (group, method)) in methods {
        groups.entry(group.clone()).or_insert_with(|| GroupFile { group, methods: Vec::new() }).methods.push(method);
    }
    let messages = import_messages(&catalog, existing_messages, &mut notes);
    Ok(Imported { groups, messages, notes })
}

/// `order.searchList` -> `order`.
fn group_of(name: &str) -> &str {
    name.split('.').next().unwrap_or(name)
}

/// Groups spelt with different case (`crossBorder`, `crossborder`) are one group, under the
/// spelling most of its methods use (the first in byte order on a tie).
fn group_spellings<'a>(groups: impl Iterator<Item = &'a str>) -> impl Fn(&str) -> String {
    let mut counts: BTreeMap<String, BTreeMap<&'a str, usize>> = BTreeMap::new();
    for group in groups {
        *counts.entry(group.to_ascii_lowercase()).or_default().entry(group).or_default() += 1;
    }
    let chosen: BTreeMap<String, String> = counts
        .into_iter()
        .map(|(folded, spellings)| {
            let best = spellings.iter().max_by(|a, b| a.1.cmp(b.1).then(b.0.cmp(a.0))).map(|(s, _)| s.to_string());
            (folded, best.unwrap_or_default())
        })
        .collect();
    move |group: &str| chosen.get(&group.to_ascii_lowercase()).cloned().unwrap_or_else(|| group.to_owned())
}

/// Alias -> canonical name for each case variant: the canonical spelling is the one the
/// catalog types (the documentation's, where it has the method), else the variant's `name`.
fn case_aliases<'a>(variants: &'a [CaseVariant], typed: &BTreeSet<&str>) -> BTreeMap<&'a str, &'a str> {
    variants
        .iter()
        .map(|v| {
            if typed.contains(v.known_as.as_str()) && !typed.contains(v.name.as_str()) {
                (v.name.as_str(), v.known_as.as_str())
            } else {
                (v.known_as.as_str(), v.name.as_str())
            }
        })
        .collect()
}

fn import_messages(catalog: &Catalog, existing: Option<MessagesFile>, notes: &mut Vec<String>) -> MessagesFile {
    let mut messages: Vec<Message> =
        existing.into_iter().flat_map(|m| m.messages).filter(|m| m.origin != Some(ORIGIN)).collect();
    for m in catalog.messages.iter().chain(&catalog.untagged_messages) {
        let name = match m.tag {
            Some(_) => m.name.clone(),
            None => message_type_name(&m.name),
        };
        let event = m.java_msg.clone().or_else(|| m.tag.is_none().then(|| m.name.clone()));
        let taken = messages.iter().any(|kept| {
            (m.tag.is_some() && kept.tag == m.tag) || kept.name == name || (event.is_some() && kept.event == event)
        });
        if taken {
            continue;
        }
        if m.fields.is_empty() {
            notes.push(format!("message {}: no payload fields in the catalog; not typed", m.name));
            continue;
        }
        let mut stack = Vec::new();
        let mut fields = convert_fields(&m.fields, &m.types, &[], &mut stack, &m.name, notes);
        mark_receivers(&mut fields);
        messages.push(Message {
            tag: m.tag,
            name,
            event,
            origin: Some(ORIGIN),
            doc_url: m.doc_url.clone(),
            doc: None,
            fields,
        });
    }
    // Tagged messages by tag, then the untagged ones by name.
    messages.sort_by(|a, b| (a.tag.is_none(), a.tag, &a.name).cmp(&(b.tag.is_none(), b.tag, &b.name)));
    MessagesFile { messages }
}

/// The Rust type of an untagged message, from its event name: `trade_TradeAppointment` ->
/// `TradeAppointment`, `btas_sellerSendOrderToSc` -> `BtasSellerSendOrderToSc` (the group
/// is said once, as the tagged messages' names do).
fn message_type_name(event: &str) -> String {
    let (group, rest) = event.split_once('_').unwrap_or(("", event));
    let group = group.to_upper_camel_case();
    let rest = rest.to_upper_camel_case();
    if rest.starts_with(&group) {
        rest
    } else {
        format!("{group}{rest}")
    }
}

fn import_method(m: &CatalogMethod, notes: &mut Vec<String>) -> Method {
    let mut stack = Vec::new();
    let request =
        convert_fields(&m.request.fields, &m.types.param, &m.types_not_read.param, &mut stack, &m.method, notes);
    let (ty, class) = split_object(&m.response.data_type);
    let mut response = match class {
        // The usual case: `data` is the root object whose fields the catalog lists.
        Some(_) if ty == "object" => Body::new(
            ty,
            Some(convert_fields(
                &m.response.fields,
                &m.types.data,
                &m.types_not_read.data,
                &mut stack,
                &m.method,
                notes,
            )),
        ),
        Some(class) => match m.types.data.get(&class) {
            Some(fields) => {
                stack.push(class.clone());
                let fields =
                    convert_fields(fields, &m.types.data, &m.types_not_read.data, &mut stack, &m.method, notes);
                Body::new(ty, Some(fields))
            }
            None => {
                notes.push(format!("{}: data type {class} not in the catalog; typed as any", m.method));
                Body::new(ty.replace("object", "any"), None)
            }
        },
        None => Body::new(ty, None),
    };
    if m.dg_basis.as_ref().is_some_and(|basis| basis.single_data_field.is_some()) {
        response.wrapper = Some("data".to_owned());
    }
    imported_method(&m.method, ORIGIN, m.source.clone(), request, response)
}

/// `list<object:Foo>` -> (`list<object>`, Some("Foo")); map keys the catalog leaves
/// untyped become text keys on the way (`map<any,i64>` -> `map<string,i64>`).
fn split_object(ty: &str) -> (String, Option<String>) {
    let normalised = match CatalogType::parse(ty) {
        Some(mut parsed) => {
            parsed.normalise_keys();
            parsed.to_string()
        }
        None => ty.to_owned(),
    };
    let ty = normalised.as_str();
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
    let mut out: Vec<Field> = Vec::with_capacity(fields.len());
    for f in merge_duplicate_names(fields) {
        let (mut ty, class) = split_object(&f.ty);
        let mut nested = None;
        if let Some(class) = class {
            if not_read.contains(&class) {
                // The catalog names the class but could not read it: an open JSON value.
                ty = ty.replace("object", "any");
            } else if stack.contains(&class) {
                notes.push(format!("{owner}: recursive type {class} at `{}`; typed as any", f.field.name));
                ty = ty.replace("object", "any");
            } else if let Some(class_fields) = classes.get(&class) {
                stack.push(class.clone());
                nested = Some(convert_fields(class_fields, classes, not_read, stack, owner, notes));
                stack.pop();
            } else {
                notes.push(format!("{owner}: type {class} of `{}` not in the catalog; typed as any", f.field.name));
                ty = ty.replace("object", "any");
            }
        }
        let example = match &f.example {
            Some(Value::String(s)) => Some(s.clone()),
            Some(Value::Null) | None => None,
            Some(other) => Some(other.to_string()),
        };
        // Where the catalog is unsure, the field is optional.
        let mut field =
            imported_field(&f.field.name, ty, f.field.required && !f.field.required_unknown, example, nested);
        field.note = f.note;
        out.push(field);
    }
    out
}

/// A catalog field after [`merge_duplicate_names`].
struct Merged<'a> {
    field: &'a CatalogField,
    ty: String,
    example: Option<Value>,
    note: Option<String>,
}

/// A JSON name listed twice in one object with different types (a source that flattened
/// two structs) becomes one field of the wider type, with a note; the same name with the
/// same type stays as listed (the generator keeps one by rule).
fn merge_duplicate_names(fields: &[CatalogField]) -> Vec<Merged<'_>> {
    let mut out: Vec<Merged<'_>> = Vec::with_capacity(fields.len());
    for field in fields {
        let earlier = out.iter_mut().find(|m| m.field.name == field.name && m.ty != field.ty);
        if let Some(earlier) = earlier {
            if let (Some(a), Some(b)) = (CatalogType::parse(&earlier.ty), CatalogType::parse(&field.ty)) {
                let wide = a.wider(&b).to_string();
                earlier.note = Some(format!(
                    "the source lists `{}` twice, as {} and as {}: typed as the wider {wide}",
                    field.name, earlier.ty, field.ty
                ));
                earlier.ty = wide;
                earlier.example = earlier.example.take().or_else(|| field.example.clone());
                continue;
            }
        }
        out.push(Merged { field, ty: field.ty.clone(), example: field.example.clone(), note: None });
    }
    out
}

/// Applies the safe choice where copies disagree, and records it on the field (or, for the
/// shape of `data`, on the response):
/// * `required`: a field any copy calls optional is optional;
/// * `type`: in replies the wider of the claimed types (any ⊇ string ⊇ number,
///   element-wise), which decodes whatever either copy describes; in requests the same,
///   except that where one copy leaves a position open (`any`) the other copy's type is
///   kept: a value of it is one both accept, and callers keep a typed setter;
/// * `data_shape`: one copy keeps the documentation's single `data` field as a wrapper
///   object, another takes it as the value: the value, with the wrapper accepted too.
fn settle_conflict(method: &mut Method, conflict: &CatalogConflict, notes: &mut Vec<String>) {
    let claims = conflict.claims();
    match conflict.kind.as_str() {
        "required" => {
            let note = format!("copies disagree on required ({claims}): optional");
            settle_field(method, conflict, notes, |field, _| {
                field.required = false;
                field.note = Some(note.clone());
            });
        }
        "type" => {
            // The catalog names the field, not its path: settle only a name the method holds once.
            let mut holders = 0;
            for_each_method_field(method, &mut |f, _| holders += usize::from(f.name == conflict.field));
            if holders > 1 {
                notes.push(format!(
                    "{}: type conflict on `{}`, a name {holders} fields hold; settled none",
                    method.name, conflict.field
                ));
                return;
            }
            let (Some(wide), Some(sendable)) =
                (conflict.settled_type(CatalogType::wider), conflict.settled_type(CatalogType::sendable))
            else {
                notes.push(format!("{}: type conflict on `{}` with unreadable claims", method.name, conflict.field));
                return;
            };
            settle_field(method, conflict, notes, |field, side| {
                let (settled, note) = match side {
                    Side::Response => (&wide, format!("copies disagree on type ({claims}): typed as the wider {wide}")),
                    Side::Request if sendable == wide => {
                        (&wide, format!("copies disagree on type ({claims}): typed as the wider {wide}"))
                    }
                    Side::Request => (
                        &sendable,
                        format!("copies disagree on type ({claims}): sent as {sendable}, which every copy accepts"),
                    ),
                };
                let (mut ty, class) = split_object(&settled.to_string());
                if class.is_none() || field.fields.is_none() {
                    ty = ty.replace("object", "any");
                    field.fields = None;
                }
                field.ty = ty;
                field.note = Some(note);
            });
        }
        "data_shape" => {
            let note = format!(
                "copies disagree on the shape of data ({claims}): the value of `{0}`, also accepted wrapped in \
                 {{\"{0}\": …}}",
                conflict.field
            );
            let response = method.response.as_mut();
            let single = response.as_ref().and_then(|r| match r.fields.as_deref() {
                Some([only]) if r.ty == "object" && only.name == conflict.field => Some(only.clone()),
                _ => None,
            });
            match (response, single) {
                (Some(response), Some(inner)) => {
                    *response = Body {
                        ty: inner.ty,
                        fields: inner.fields,
                        wrapper: Some(conflict.field.clone()),
                        note: Some(note),
                    };
                }
                _ => notes.push(format!(
                    "{}: data_shape conflict, but data is not an object with the single field `{}`",
                    method.name, conflict.field
                )),
            }
        }
        other => notes.push(format!("{}: conflict of unknown kind `{other}` on `{}`", method.name, conflict.field)),
    }
}

/// Which side of a method a field is on.
#[derive(Clone, Copy)]
enum Side {
    Request,
    Response,
}

/// Calls `settle` on every field the conflict names, at any depth of request and response.
fn settle_field(
    method: &mut Method,
    conflict: &CatalogConflict,
    notes: &mut Vec<String>,
    mut settle: impl FnMut(&mut Field, Side),
) {
    let mut settled = 0;
    for_each_method_field(method, &mut |field, side| {
        if field.name == conflict.field {
            settle(field, side);
            settled += 1;
        }
    });
    if settled == 0 {
        notes.push(format!("{}: conflict on `{}` names no field of the method", method.name, conflict.field));
    }
}

/// Calls `visit` on every field of the request and the response, at every depth.
fn for_each_method_field(method: &mut Method, visit: &mut impl FnMut(&mut Field, Side)) {
    for_each_field(method.request.as_deref_mut().unwrap_or_default(), &mut |f| visit(f, Side::Request));
    if let Some(fields) = method.response.as_mut().and_then(|r| r.fields.as_deref_mut()) {
        for_each_field(fields, &mut |f| visit(f, Side::Response));
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
        assert_eq!(order.retry, Some(crate::spec::RetryClass::ReadOnly));
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

    /// Version 3's facts: untyped map keys, a doubled JSON name, every conflict kind, case
    /// variants (and a group spelt in two cases), single `data` fields, untagged messages.
    const CATALOG_V3: &str = r#"{
      "methods": [
        {"method": "sku.detail", "group": "sku",
         "request": {"fields": [{"name": "file_uri", "type": "string"}]},
         "response": {"data_type": "object:Data", "fields": [
           {"name": "stock_map", "type": "map<any,any>"},
           {"name": "rate", "type": "i32"}, {"name": "rate", "type": "f64", "example": "0.5"},
           {"name": "begin", "type": "i64"}
         ]}},
        {"method": "crossborder.stockTaking", "group": "crossborder",
         "request": {"fields": []}, "response": {"data_type": "object:D", "fields": []}},
        {"method": "crossBorder.orderList", "group": "crossBorder",
         "request": {"fields": []}, "response": {"data_type": "object:D", "fields": []}},
        {"method": "yunc.adjust", "group": "yunc", "dg_basis": {"single_data_field": "the doc lists one data field"},
         "request": {"fields": []}, "response": {"data_type": "string", "fields": []}},
        {"method": "buyin.status", "group": "buyin",
         "request": {"fields": []},
         "response": {"data_type": "object:S", "fields": [{"name": "data", "type": "list<object:Item>"}]},
         "types": {"data": {"Item": [{"name": "status", "type": "i32"}]}}}
      ],
      "method_lists": {"cs": ["crossBorder.stockTaking", "crossBorder.orderList"], "dg": ["crossborder.stockTaking"]},
      "conflicts": [
        {"method": "sku.detail", "class": "P", "field": "file_uri", "kind": "type", "catalog": "string", "doc": "any"},
        {"method": "sku.detail", "class": "D", "field": "begin", "kind": "type", "catalog": "i64", "doc": "string"},
        {"method": "buyin.status", "class": null, "field": "data", "kind": "data_shape",
         "catalog": "object:S", "doc": "list<object:Item>"},
        {"method": "sku.detail", "class": "D", "field": "begin", "kind": "sideways"}
      ],
      "case_variants": [{"name": "crossBorder.stockTaking", "known_as": "crossborder.stockTaking", "sources": ["cs"]}],
      "messages": [{"tag": 100, "name": "TradeCreate", "java_msg": "trade_TradeCreate", "fields": [{"name": "p_id", "type": "i64"}]}],
      "untagged_messages": [
        {"name": "trade_TradeAppointment", "java_msg": "trade_TradeAppointment", "fields": [{"name": "p_id", "type": "i64"}]},
        {"name": "btas_sellerSendOrderToSc", "fields": [{"name": "order_code", "type": "string"}]},
        {"name": "iopTrade_Distribution", "doc_url": "https://example.invalid/680"}
      ]
    }"#;

    fn method<'a>(imported: &'a Imported, group: &str, name: &str) -> &'a Method {
        imported.groups[group].methods.iter().find(|m| m.name == name).unwrap_or_else(|| panic!("{name} in {group}"))
    }

    fn field<'a>(fields: &'a [Field], name: &str) -> &'a Field {
        fields.iter().find(|f| f.name == name).unwrap_or_else(|| panic!("{name}"))
    }

    #[test]
    fn imports_version_3_facts_by_rule() {
        let imported = import("catalog.json", CATALOG_V3, vec![], None).unwrap();
        let sku = method(&imported, "sku", "sku.detail");
        let data = sku.response.as_ref().unwrap().fields.as_deref().unwrap();
        assert_eq!(field(data, "stock_map").ty, "map<string,any>", "untyped map keys are text");
        let rate: Vec<&Field> = data.iter().filter(|f| f.name == "rate").collect();
        assert_eq!(rate.len(), 1, "a doubled JSON name is one field");
        assert_eq!((rate[0].ty.as_str(), rate[0].example.as_deref()), ("f64", Some("0.5")));
        assert!(rate[0].note.as_deref().unwrap().contains("twice"), "{:?}", rate[0].note);
        // Type conflicts: the wider type in replies; in requests the typed side of an `any`.
        assert_eq!(field(data, "begin").ty, "string");
        assert!(field(data, "begin").note.as_deref().unwrap().contains("wider string"));
        let file_uri = field(sku.request.as_deref().unwrap(), "file_uri");
        assert_eq!(file_uri.ty, "string");
        assert!(file_uri.note.as_deref().unwrap().contains("sent as string"), "{:?}", file_uri.note);
        assert!(imported.notes.iter().any(|n| n.contains("unknown kind `sideways`")), "{:?}", imported.notes);

        // Case variants: one entry under the typed spelling, in the group most methods spell.
        assert!(!imported.groups.contains_key("crossborder"));
        let taking = method(&imported, "crossBorder", "crossborder.stockTaking");
        assert_eq!(taking.known_as, ["crossBorder.stockTaking"]);
        assert_eq!(imported.groups["crossBorder"].methods.len(), 2, "the other spelling is no method of its own");

        // Single data fields: the value, also accepted wrapped.
        let adjust = method(&imported, "yunc", "yunc.adjust").response.as_ref().unwrap();
        assert_eq!((adjust.ty.as_str(), adjust.wrapper.as_deref()), ("string", Some("data")));
        let status = method(&imported, "buyin", "buyin.status").response.as_ref().unwrap();
        assert_eq!((status.ty.as_str(), status.wrapper.as_deref()), ("list<object>", Some("data")));
        assert_eq!(status.fields.as_deref().unwrap()[0].name, "status");
        assert!(status.note.as_deref().unwrap().contains("shape of data"));

        // Messages: tagged first, then the untagged ones by name; none without a payload.
        let messages: Vec<(Option<u32>, &str, Option<&str>)> =
            imported.messages.messages.iter().map(|m| (m.tag, m.name.as_str(), m.event.as_deref())).collect();
        assert_eq!(
            messages,
            [
                (Some(100), "TradeCreate", Some("trade_TradeCreate")),
                (None, "BtasSellerSendOrderToSc", Some("btas_sellerSendOrderToSc")),
                (None, "TradeAppointment", Some("trade_TradeAppointment")),
            ]
        );
        assert!(imported.notes.iter().any(|n| n.contains("iopTrade_Distribution")), "{:?}", imported.notes);

        // The whole import again over its own output changes nothing.
        let groups: Vec<GroupFile> = imported.groups.values().cloned().collect();
        let again = import("catalog.json", CATALOG_V3, groups, Some(imported.messages.clone())).unwrap();
        assert_eq!((again.groups, again.messages), (imported.groups, imported.messages));
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
            known_as: Vec::new(),
            retry: None,
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
