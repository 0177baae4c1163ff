//! Lowering: validates the spec and turns it into the IR ([`crate::ir`]) the renderers
//! print. Every name is decided here (through [`crate::naming`]); what no naming rule
//! settles is an error naming the spec paths, resolved in `api-spec/overrides.json`.

use crate::error::SpecError;
use crate::ir::*;
use crate::naming;
use crate::spec::{self, Field, FieldOverride, GroupFile, MessagesFile, Overrides, Paging};
use crate::types::TypeExpr;
use std::collections::{BTreeMap, BTreeSet};

/// Which side of a call a struct sits on: decides `Option` wrapping and builders.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Side {
    Request,
    Response,
}

/// Collects the nested types of one namespace (a method module or the messages module).
struct Namespace {
    /// name -> (struct, the spec path that introduced it)
    types: BTreeMap<String, (Struct, String)>,
}

impl Namespace {
    fn new() -> Self {
        Namespace { types: BTreeMap::new() }
    }

    fn into_sorted(self) -> Vec<Struct> {
        self.types.into_values().map(|(s, _)| s).collect()
    }
}

/// The overrides of one method or message, with a record of which entries were used.
struct FieldOverrides<'a> {
    entries: Option<&'a BTreeMap<String, FieldOverride>>,
    used: BTreeSet<String>,
}

impl<'a> FieldOverrides<'a> {
    fn new(entries: Option<&'a BTreeMap<String, FieldOverride>>) -> Self {
        FieldOverrides { entries, used: BTreeSet::new() }
    }

    fn get(&mut self, path: &str) -> Option<&'a FieldOverride> {
        let entry = self.entries?.get(path)?;
        self.used.insert(path.to_owned());
        Some(entry)
    }

    fn unused(&self) -> Vec<&'a String> {
        self.entries.map(|entries| entries.keys().filter(|k| !self.used.contains(*k)).collect()).unwrap_or_default()
    }
}

/// Lowers one namespace's fields; accumulates errors instead of stopping at the first.
struct Lowerer<'a> {
    file: &'a str,
    /// The group as the platform spells it (`messages` for pushes): scopes code-set rules.
    group: &'a str,
    codes: &'a crate::codes::CodeSets,
    /// `order.searchList` or `TradeCreate`: the left side of error paths.
    owner: &'a str,
    overrides: FieldOverrides<'a>,
    errors: &'a mut Vec<SpecError>,
}

impl Lowerer<'_> {
    /// The identifier type of a field, from its override or by its name: an integer or
    /// string field, or a list of them. `Err` when an override names an unknown type or
    /// a field that cannot hold an id (the error is recorded).
    fn id_type(
        &mut self,
        over: Option<&FieldOverride>,
        wire: &str,
        spec_ty: &TypeExpr,
        field_path: &str,
    ) -> Result<Option<RustType>, ()> {
        let list = matches!(spec_ty, TypeExpr::List(_));
        let name = match over.and_then(|o| o.id_type.as_deref()) {
            Some("none") => return Ok(None),
            Some(name) if !naming::ID_TYPES.contains(&name) => {
                self.error(
                    field_path,
                    format!("unknown id_type `{name}` (known: {}, or `none`)", naming::ID_TYPES.join(", ")),
                );
                return Err(());
            }
            Some(name) => (name.to_owned(), true),
            None => match naming::id_type_by_name(wire, list) {
                Some(name) => (name.to_owned(), false),
                None => return Ok(None),
            },
        };
        let (name, explicit) = name;
        let scalar = |ty: &TypeExpr| match ty {
            TypeExpr::I64 | TypeExpr::I32 => Some(false),
            TypeExpr::String => Some(true),
            _ => None,
        };
        let id = |text| RustType::Id { name: name.clone(), text };
        match spec_ty {
            TypeExpr::List(inner) => match scalar(inner) {
                Some(text) => Ok(Some(RustType::Vec(Box::new(id(text))))),
                None if explicit => {
                    self.error(
                        field_path,
                        format!("id_type `{name}` on a list of `{inner}` (needs integers or strings)"),
                    );
                    Err(())
                }
                None => Ok(None),
            },
            other => match scalar(other) {
                Some(text) => Ok(Some(id(text))),
                None if explicit => {
                    self.error(
                        field_path,
                        format!("id_type `{name}` on a field of type `{other}` (needs an integer or a string)"),
                    );
                    Err(())
                }
                None => Ok(None),
            },
        }
    }

    fn error(&mut self, path: &str, message: impl Into<String>) {
        let location = if path.is_empty() { self.owner.to_owned() } else { format!("{} -> {path}", self.owner) };
        self.errors.push(SpecError::new(self.file, location, message));
    }

    /// Lowers the fields of one object, registering nested types in `ns`. `parents` are
    /// the type names from the top of the request, response or message down to this object
    /// (the first is [`naming::root_parent_name`]).
    fn fields(
        &mut self,
        ns: &mut Namespace,
        fields: &[Field],
        path: &str,
        side: Side,
        parents: &[String],
    ) -> Vec<FieldIr> {
        let mut out: Vec<FieldIr> = Vec::with_capacity(fields.len());
        let mut wire_seen: BTreeMap<&str, usize> = BTreeMap::new();
        let mut rust_seen: BTreeMap<String, String> = BTreeMap::new();
        for field in fields {
            let field_path = if path.is_empty() { field.name.clone() } else { format!("{path}.{}", field.name) };
            let over = self.overrides.get(&field_path);
            if field.name.is_empty() {
                self.error(&field_path, "empty JSON name");
                continue;
            }
            let spec_ty = match TypeExpr::parse(&field.ty) {
                Ok(ty) => ty,
                Err(message) => {
                    self.error(&field_path, message);
                    continue;
                }
            };
            let nested_path = format!("{field_path}{}", spec_ty.path_suffix());
            let nested_name = match (&field.fields, spec_ty.has_object()) {
                (Some(children), true) => {
                    let (name, explicit) = match over.and_then(|o| o.type_name.clone()) {
                        Some(name) if !naming::is_identifier(&name) => {
                            self.error(&field_path, format!("override type_name `{name}` is not a Rust identifier"));
                            continue;
                        }
                        Some(name) => (name, true),
                        None => {
                            let natural = naming::nested_type_name(&field.name, matches!(spec_ty, TypeExpr::List(_)));
                            (unshadowed(&natural, parents), false)
                        }
                    };
                    let mut chain = parents.to_vec();
                    chain.push(name.clone());
                    let lowered = self.fields(ns, children, &nested_path, side, &chain);
                    match self.register(ns, &name, explicit, lowered, side, &field_path, parents) {
                        Some(name) => Some(name),
                        None => continue,
                    }
                }
                (None, true) => {
                    self.error(
                        &field_path,
                        format!("type `{}` holds an object but the field has no `fields`", field.ty),
                    );
                    continue;
                }
                (Some(_), false) => {
                    self.error(&field_path, format!("`fields` given but type `{}` holds no object", field.ty));
                    continue;
                }
                (None, false) => None,
            };
            // By rule on both sides: a filter takes the code set its reply gives.
            let code_set = over
                .and_then(|o| o.code_set.clone())
                .or_else(|| field.code_set.clone())
                .or_else(|| self.codes.by_field(&field.name, self.group).map(str::to_owned));
            if over.is_some_and(|o| o.joined_codes) && code_set.is_none() {
                self.error(&field_path, "joined_codes without a code_set");
                continue;
            }
            let ty = match code_set {
                Some(name) if !self.codes.contains(&name) => {
                    self.error(&field_path, format!("unknown code set `{name}` (known: {})", self.codes.names()));
                    continue;
                }
                Some(name) if over.is_some_and(|o| o.joined_codes) => match spec_ty {
                    TypeExpr::String => RustType::CodeList { name },
                    _ => {
                        self.error(
                            &field_path,
                            format!("joined_codes on a field of type `{}` (needs a string)", field.ty),
                        );
                        continue;
                    }
                },
                Some(name) => match code_set_type(&name, &spec_ty) {
                    Some(ty) => ty,
                    None => {
                        self.error(
                            &field_path,
                            format!(
                                "code set `{name}` on a field of type `{}` (needs an integer or a string, or a \
                                 list of them)",
                                field.ty
                            ),
                        );
                        continue;
                    }
                },
                None => match self.id_type(over, &field.name, &spec_ty, &field_path) {
                    Ok(Some(id)) => id,
                    Ok(None) => rust_type(&spec_ty, nested_name.as_deref()),
                    Err(()) => continue,
                },
            };
            let rust = match over.and_then(|o| o.rust_name.clone()) {
                Some(name) if !naming::is_identifier(&name) => {
                    self.error(&field_path, format!("override rust_name `{name}` is not a Rust identifier"));
                    continue;
                }
                Some(name) => name,
                None => naming::field_name(&field.name),
            };
            let required = side == Side::Request && field.required;
            let optional = !required && !ty.is_collection() && ty != RustType::Value;
            let sensitive = over.and_then(|o| o.sensitive).unwrap_or(field.sensitive);
            let lowered = FieldIr {
                wire: field.name.clone(),
                rust: rust.clone(),
                ty,
                spec_ty,
                optional,
                required,
                sensitive,
                example: field.example.clone(),
                doc: over.and_then(|o| o.doc.clone()).or_else(|| field.doc.clone()),
            };
            if let Some(&index) = wire_seen.get(field.name.as_str()) {
                // The same field listed twice (a flattened source struct) is one field; two
                // different fields under one JSON name cannot both be decoded.
                let same = out[index].ty == lowered.ty && out[index].required == lowered.required;
                if !same {
                    self.error(
                        &field_path,
                        format!(
                            "JSON name `{}` appears twice in this object with different types; keep one of \
                             them in the spec",
                            field.name
                        ),
                    );
                }
                continue;
            }
            if side == Side::Request && rust == "new" {
                self.error(
                    &field_path,
                    "field `new` would clash with the constructor; set rust_name in overrides.json",
                );
                continue;
            }
            if let Some(other) = rust_seen.get(&rust) {
                self.error(
                    &field_path,
                    format!("Rust field name `{rust}` is also derived from `{other}`; set rust_name for one of them in overrides.json"),
                );
                continue;
            }
            rust_seen.insert(rust, field_path.clone());
            wire_seen.insert(field.name.as_str(), out.len());
            out.push(lowered);
        }
        // Wire-name byte order: serde then writes keys already sorted (canonical JSON).
        out.sort_by(|a, b| a.wire.as_bytes().cmp(b.wire.as_bytes()));
        out
    }

    /// Registers a nested type and returns its final name. The same shape under the same
    /// name is one type. A different shape under a name in use takes its parents' names as
    /// a prefix (`Products` under `BindProduct` -> `BindProductProducts`), nearest first,
    /// so that a name depends only on the type's own path; a name from an override is
    /// never changed (a collision is then an error).
    #[allow(clippy::too_many_arguments)]
    fn register(
        &mut self,
        ns: &mut Namespace,
        name: &str,
        explicit: bool,
        fields: Vec<FieldIr>,
        side: Side,
        path: &str,
        parents: &[String],
    ) -> Option<String> {
        let builder = side == Side::Request;
        let decoded = side == Side::Response;
        if naming::is_reserved(name) {
            self.error(path, format!("override type_name `{name}` would shadow a prelude name"));
            return None;
        }
        let candidates: Vec<String> = if explicit {
            vec![name.to_owned()]
        } else {
            std::iter::once(name.to_owned())
                .chain((1..=parents.len()).map(|n| format!("{}{name}", parents[parents.len() - n..].concat())))
                .collect()
        };
        for candidate in &candidates {
            match ns.types.get_mut(candidate) {
                Some((existing, _)) if existing.fields == fields => {
                    existing.builder |= builder;
                    existing.decoded |= decoded;
                    return Some(candidate.clone());
                }
                Some(_) => continue,
                None => {
                    let entry = (Struct { name: candidate.clone(), fields, builder, decoded }, path.to_owned());
                    ns.types.insert(candidate.clone(), entry);
                    return Some(candidate.clone());
                }
            }
        }
        let first_path = ns.types.get(name).map(|(_, p)| p.clone()).unwrap_or_default();
        self.error(
            path,
            format!(
                "nested type name `{name}` is also used for a different object at `{first_path}`; \
                 set type_name for `{path}` (or `{first_path}`) in overrides.json"
            ),
        );
        None
    }
}

/// `natural`, or — when it would shadow a prelude name or repeat the name of an enclosing
/// type — prefixed with its parents' names, nearest first (`Child` in `Child` ->
/// `ChildChild`; `Result` at the top of `buyin.simplePlan` -> `SimplePlanResult`).
fn unshadowed(natural: &str, parents: &[String]) -> String {
    let clashes = |name: &str| naming::is_reserved(name) || parents.iter().any(|p| p == name);
    (0..=parents.len())
        .map(|n| format!("{}{natural}", parents[parents.len() - n..].concat()))
        .find(|candidate| !clashes(candidate))
        .unwrap_or_else(|| format!("{}{natural}Item", parents.concat()))
}

/// The Rust type of a field of code set `name`: an integer or a string (a code written as
/// digits), or a list of integers.
fn code_set_type(name: &str, ty: &TypeExpr) -> Option<RustType> {
    match ty {
        TypeExpr::I64 | TypeExpr::I32 => Some(RustType::CodeSet { name: name.to_owned(), text: false }),
        TypeExpr::String => Some(RustType::CodeSet { name: name.to_owned(), text: true }),
        // A list of codes written as digits would need its own wire form; none is known.
        TypeExpr::List(inner) if matches!(**inner, TypeExpr::I64 | TypeExpr::I32) => {
            code_set_type(name, inner).map(|item| RustType::Vec(Box::new(item)))
        }
        _ => None,
    }
}

/// The Rust type of a spec type; `nested` names the object inside it.
fn rust_type(ty: &TypeExpr, nested: Option<&str>) -> RustType {
    match ty {
        TypeExpr::String => RustType::String,
        TypeExpr::I32 => RustType::I32,
        TypeExpr::I64 => RustType::I64,
        TypeExpr::F64 => RustType::F64,
        TypeExpr::Bool => RustType::Bool,
        TypeExpr::Any => RustType::Value,
        TypeExpr::Object => RustType::Named(nested.unwrap_or("Object").to_owned()),
        TypeExpr::List(inner) => RustType::Vec(Box::new(rust_type(inner, nested))),
        TypeExpr::Map(_, inner) => RustType::Map(Box::new(rust_type(inner, nested))),
    }
}

/// Validates and lowers the whole spec. Returns every error found.
pub fn lower(
    groups: &[Sourced<GroupFile>],
    messages: &Sourced<MessagesFile>,
    overrides: &Sourced<Overrides>,
    codes: crate::codes::CodeSets,
) -> Result<Api, Vec<SpecError>> {
    let mut errors = Vec::new();
    let mut out_groups = Vec::new();
    let mut method_files: BTreeMap<&str, &str> = BTreeMap::new();
    let mut group_modules: BTreeMap<String, &str> = BTreeMap::new();

    for sourced in groups {
        let file = sourced.file.as_str();
        let group = &sourced.value;
        let module = naming::group_module(&group.group);
        if let Some(other) = group_modules.insert(module.clone(), file) {
            errors.push(SpecError::new(file, "group", format!("group module `{module}` is also produced by {other}")));
        }
        let mut type_names: BTreeMap<String, &str> = BTreeMap::new();
        let mut modules: BTreeMap<String, &str> = BTreeMap::new();
        let mut methods = Vec::new();
        for method in &group.methods {
            if let Some(other) = method_files.insert(&method.name, file) {
                errors.push(SpecError::new(file, &method.name, format!("duplicate method (also defined in {other})")));
                continue;
            }
            // The platform spells some groups' paths in two cases (`crossborder`, `crossBorder`).
            let in_group = method.name.split_once('.').is_some_and(|(g, _)| g.eq_ignore_ascii_case(&group.group));
            if !in_group {
                errors.push(SpecError::new(file, &method.name, format!("method is not in group `{}`", group.group)));
                continue;
            }
            let table_safe = |name: &str| !name.contains(|c: char| c.is_whitespace() || c == ',');
            if !table_safe(&method.name) || !method.known_as.iter().all(|a| table_safe(a)) {
                errors.push(SpecError::new(file, &method.name, "a method name or spelling holds white space or `,`"));
                continue;
            }
            for alias in &method.known_as {
                if let Some(other) = method_files.insert(alias, file) {
                    errors.push(SpecError::new(
                        file,
                        &method.name,
                        format!("other spelling `{alias}` is also a method or spelling in {other}"),
                    ));
                }
            }
            let lowered = lower_method(file, &group.group, method, overrides, &codes, &mut errors);
            for name in [&lowered.request_type, &lowered.response_type] {
                if let Some(other) = type_names.insert(name.clone(), &method.name) {
                    errors.push(SpecError::new(
                        file,
                        &method.name,
                        format!("type name `{name}` is also derived from `{other}`"),
                    ));
                }
            }
            if lowered.module == naming::SHARED_MODULE {
                errors.push(SpecError::new(
                    file,
                    &method.name,
                    format!(
                        "module name `{}` is the group's module of shared types; rename the method's module",
                        lowered.module
                    ),
                ));
            }
            if let Some(other) = modules.insert(lowered.module.clone(), &method.name) {
                errors.push(SpecError::new(
                    file,
                    &method.name,
                    format!("module name `{}` is also derived from `{other}`", lowered.module),
                ));
            }
            methods.push(lowered);
        }
        methods.sort_by(|a, b| a.name.cmp(&b.name));
        // Shared types are found once the domain shapes are applied (see `lower_all`).
        out_groups.push(Group {
            name: group.group.clone(),
            module,
            file: file.to_owned(),
            methods,
            shared: Vec::new(),
            domain_types: Vec::new(),
        });
    }
    out_groups.sort_by(|a, b| a.module.cmp(&b.module));

    for name in overrides.value.methods.keys() {
        if !method_files.contains_key(name.as_str()) {
            errors.push(SpecError::new(
                &overrides.file,
                format!("methods.{name}"),
                "override for a method the spec does not have",
            ));
        }
    }

    let messages = lower_messages(messages, overrides, &codes, &mut errors);
    if errors.is_empty() {
        Ok(Api { groups: out_groups, messages, codes, model: Vec::new() })
    } else {
        Err(errors)
    }
}

fn lower_method(
    file: &str,
    group: &str,
    method: &spec::Method,
    overrides: &Sourced<Overrides>,
    codes: &crate::codes::CodeSets,
    errors: &mut Vec<SpecError>,
) -> Method {
    let over = overrides.value.methods.get(&method.name);
    let mut lowerer = Lowerer {
        file,
        group,
        codes,
        owner: &method.name,
        overrides: FieldOverrides::new(over.map(|o| &o.fields)),
        errors,
    };
    let request_type = naming::request_type(&method.name);
    let response_type = naming::response_type(&method.name);
    let module = naming::method_module(group, &method.name);
    let typed = match (&method.request, &method.response) {
        (Some(request), Some(response)) => {
            let mut ns = Namespace::new();
            let root = [naming::root_parent_name(&method.name)];
            let request_fields = lowerer.fields(&mut ns, request, "request", Side::Request, &root);
            let shape = lower_response(&mut lowerer, &mut ns, response, &response_type);
            if let Some(key) = &response.wrapper {
                let ambiguous = match &shape {
                    Some(ResponseShape::Object(root)) => root.fields.iter().any(|f| &f.wire == key),
                    // An object-shaped value could itself be `{key: …}`.
                    Some(ResponseShape::Newtype(ty, _)) => matches!(ty, RustType::Map(_) | RustType::Value),
                    None => false,
                };
                if ambiguous {
                    lowerer.error(
                        "response.wrapper",
                        format!("a wrapper `{key}` is ambiguous here: the response itself may hold that key"),
                    );
                }
            }
            shape.map(|shape| Typed {
                request: Struct { name: request_type.clone(), fields: request_fields, builder: true, decoded: false },
                response: shape,
                wrapper: response.wrapper.clone(),
                nested: ns.into_sorted(),
            })
        }
        (None, None) => None,
        _ => {
            lowerer.error("", "give both `request` and `response` (typed) or neither (untyped)");
            None
        }
    };
    for path in lowerer.overrides.unused() {
        lowerer.errors.push(SpecError::new(
            &overrides.file,
            format!("methods.{}.fields.{path}", method.name),
            "override for a field the spec does not have",
        ));
    }
    let paging_spec = match over {
        Some(o) if o.no_paging => None,
        Some(o) if o.paging.is_some() => o.paging.clone(),
        _ => method.paging.clone(),
    };
    let paging = match (paging_spec, &typed) {
        (Some(paging), Some(typed)) => lower_paging(&mut lowerer, paging, typed),
        (Some(_), None) => {
            lowerer.error("paging", "paging needs a typed method");
            None
        }
        (None, _) => None,
    };
    Method {
        name: method.name.clone(),
        request_type,
        response_type,
        module,
        read_only: over.and_then(|o| o.read_only).unwrap_or(method.read_only),
        typed,
        paging,
        doc: over.and_then(|o| o.doc.clone()).or_else(|| method.doc.clone()),
        doc_url: over.and_then(|o| o.doc_url.clone()).or_else(|| method.doc_url.clone()),
        aliases: method.aliases.iter().chain(over.map(|o| o.aliases.iter()).into_iter().flatten()).cloned().collect(),
        known_as: method.known_as.clone(),
        moved: BTreeMap::new(),
    }
}

fn lower_response(
    lowerer: &mut Lowerer<'_>,
    ns: &mut Namespace,
    body: &spec::Body,
    name: &str,
) -> Option<ResponseShape> {
    let ty = match TypeExpr::parse(&body.ty) {
        Ok(ty) => ty,
        Err(message) => {
            lowerer.error("response", message);
            return None;
        }
    };
    let fields = body.fields.as_deref();
    match (ty, fields) {
        (TypeExpr::Object, Some(fields)) => {
            let root = [naming::root_parent_name(lowerer.owner)];
            let fields = lowerer.fields(ns, fields, "response", Side::Response, &root);
            Some(ResponseShape::Object(Struct { name: name.to_owned(), fields, builder: false, decoded: true }))
        }
        (ty, Some(fields)) if ty.has_object() => {
            let path = format!("response{}", ty.path_suffix());
            let root = [naming::root_parent_name(lowerer.owner)];
            let (nested_name, explicit) = match lowerer.overrides.get("response").and_then(|o| o.type_name.clone()) {
                Some(name) => (name, true),
                None => (naming::nested_type_name("data", false), false),
            };
            let mut chain = root.to_vec();
            chain.push(nested_name.clone());
            let lowered = lowerer.fields(ns, fields, &path, Side::Response, &chain);
            let nested_name =
                lowerer.register(ns, &nested_name, explicit, lowered, Side::Response, "response", &root)?;
            Some(ResponseShape::Newtype(rust_type(&ty, Some(&nested_name)), ty))
        }
        (ty, None) if ty.has_object() => {
            lowerer.error("response", format!("type `{ty}` holds an object but the response has no `fields`"));
            None
        }
        (ty, Some(_)) => {
            lowerer.error("response", format!("`fields` given but type `{ty}` holds no object"));
            None
        }
        (ty, None) => Some(ResponseShape::Newtype(rust_type(&ty, None), ty)),
    }
}

fn lower_paging(lowerer: &mut Lowerer<'_>, paging: Paging, typed: &Typed) -> Option<PagingIr> {
    let find = |fields: &[FieldIr], wire: &str| fields.iter().find(|f| f.wire == wire).cloned();
    let param = |lowerer: &mut Lowerer<'_>, wire: &str, what: &str| -> Option<String> {
        match find(&typed.request.fields, wire) {
            Some(f) if matches!(f.ty, RustType::I32 | RustType::I64 | RustType::String) => Some(f.rust),
            Some(f) => {
                lowerer.error(
                    &format!("paging.{what}"),
                    format!("request field `{}` is not an integer or string", f.wire),
                );
                None
            }
            None => {
                lowerer.error(&format!("paging.{what}"), format!("no request field `{wire}`"));
                None
            }
        }
    };
    let page_field = param(lowerer, &paging.page, "page");
    let size_field = param(lowerer, &paging.size, "size");
    let ResponseShape::Object(root) = &typed.response else {
        lowerer.error("paging.items", "paging needs an object response");
        return None;
    };
    // Walks a `.`-separated wire path through nested objects; returns Rust names and the last field.
    let walk = |lowerer: &mut Lowerer<'_>, path: &str, what: &str| -> Option<(Vec<String>, FieldIr)> {
        let mut fields = &root.fields;
        let mut names = Vec::new();
        let segments: Vec<&str> = path.split('.').collect();
        for (i, segment) in segments.iter().enumerate() {
            let Some(field) = fields.iter().find(|f| f.wire == *segment) else {
                lowerer.error(&format!("paging.{what}"), format!("no response field `{segment}` in `{path}`"));
                return None;
            };
            names.push(field.rust.clone());
            if i + 1 == segments.len() {
                return Some((names, field.clone()));
            }
            match &field.ty {
                RustType::Named(name) if field.optional => match typed.nested.iter().find(|s| &s.name == name) {
                    Some(s) => fields = &s.fields,
                    None => return None,
                },
                _ => {
                    lowerer.error(&format!("paging.{what}"), format!("`{segment}` in `{path}` is not an object"));
                    return None;
                }
            }
        }
        None
    };
    let items = walk(lowerer, &paging.items, "items");
    let item = match &items {
        Some((_, field)) => match &field.ty {
            RustType::Vec(inner) => Some((**inner).clone()),
            _ => {
                lowerer.error("paging.items", format!("`{}` is not a list", paging.items));
                None
            }
        },
        None => None,
    };
    let total = match &paging.total {
        Some(path) => match walk(lowerer, path, "total") {
            Some((names, field)) if matches!(field.ty, RustType::I32 | RustType::I64 | RustType::String) => {
                Some(Some(names))
            }
            Some(_) => {
                lowerer.error("paging.total", format!("`{path}` is not an integer or string"));
                None
            }
            None => None,
        },
        None => Some(None),
    };
    if paging.base != 0 && paging.base != 1 {
        lowerer.error("paging.base", "page base must be 0 or 1");
        return None;
    }
    Some(PagingIr {
        page_field: page_field?,
        size_field: size_field?,
        items_fields: items?.0,
        total_fields: total?,
        item: item?,
        spec: paging,
    })
}

fn lower_messages(
    messages: &Sourced<MessagesFile>,
    overrides: &Sourced<Overrides>,
    codes: &crate::codes::CodeSets,
    errors: &mut Vec<SpecError>,
) -> Messages {
    let file = messages.file.as_str();
    let mut out = Vec::new();
    let mut tags: BTreeMap<u32, &str> = BTreeMap::new();
    let mut names: BTreeSet<&str> = BTreeSet::new();
    let mut events: BTreeMap<&str, &str> = BTreeMap::new();
    for message in &messages.value.messages {
        if let Some(tag) = message.tag {
            if let Some(other) = tags.insert(tag, &message.name) {
                errors.push(SpecError::new(file, &message.name, format!("tag {tag} is also used by `{other}`")));
            }
        }
        if let Some(event) = &message.event {
            if let Some(other) = events.insert(event, &message.name) {
                errors.push(SpecError::new(file, &message.name, format!("event `{event}` is also `{other}`")));
            }
            // Type and event names are looked up in one namespace (`Message::decode_named`).
            if messages.value.messages.iter().any(|m| &m.name == event && m.name != message.name) {
                errors.push(SpecError::new(file, &message.name, format!("event `{event}` is another message's name")));
            }
        }
        if !naming::is_identifier(&message.name)
            || !message.name.starts_with(|c: char| c.is_ascii_uppercase())
            || naming::is_reserved(&message.name)
            || message.name == "Message"
        {
            errors.push(SpecError::new(
                file,
                &message.name,
                "message name must be an UpperCamelCase identifier other than `Message` and prelude names",
            ));
            continue;
        }
        if !names.insert(&message.name) {
            errors.push(SpecError::new(file, &message.name, "duplicate message name"));
            continue;
        }
        let over = overrides.value.messages.get(&message.name);
        let mut lowerer = Lowerer {
            file,
            group: "messages",
            codes,
            owner: &message.name,
            overrides: FieldOverrides::new(over.map(|o| &o.fields)),
            errors,
        };
        // Each message has its own namespace: a message added later never renames the
        // nested types of another.
        let mut ns = Namespace::new();
        let fields = lowerer.fields(&mut ns, &message.fields, "", Side::Response, std::slice::from_ref(&message.name));
        for path in lowerer.overrides.unused() {
            lowerer.errors.push(SpecError::new(
                &overrides.file,
                format!("messages.{}.fields.{path}", message.name),
                "override for a field the spec does not have",
            ));
        }
        out.push(MessageIr {
            tag: message.tag,
            event: message.event.clone(),
            body: Struct { name: message.name.clone(), fields, builder: false, decoded: true },
            doc_url: message.doc_url.clone(),
            doc: over.and_then(|o| o.doc.clone()).or_else(|| message.doc.clone()),
            module: naming::message_module(&message.name),
            nested: ns.into_sorted(),
            moved: BTreeMap::new(),
        });
    }
    for name in overrides.value.messages.keys() {
        if !names.contains(name.as_str()) {
            errors.push(SpecError::new(
                &overrides.file,
                format!("messages.{name}"),
                "override for a message the spec does not have",
            ));
        }
    }
    out.sort_by(|a, b| (a.tag.is_none(), a.tag, &a.body.name).cmp(&(b.tag.is_none(), b.tag, &b.body.name)));
    Messages { file: file.to_owned(), messages: out }
}

/// Lowers the spec, applies the domain shapes, then finds each group's shared types.
pub fn lower_all(
    groups: &[Sourced<GroupFile>],
    messages: &Sourced<MessagesFile>,
    overrides: &Sourced<Overrides>,
    codes: crate::codes::CodeSets,
    shapes: &Sourced<crate::spec::ShapesFile>,
) -> Result<Api, Vec<SpecError>> {
    let mut api = lower(groups, messages, overrides, codes)?;
    crate::shapes::apply(&mut api, shapes)?;
    for group in &mut api.groups {
        group.shared = crate::share::shared_types(&group.methods);
        group.domain_types = api
            .model
            .iter()
            .filter(|m| m.declared && m.features.contains(&group.module))
            .map(|m| m.body.name.clone())
            .collect();
    }
    Ok(api)
}
