//! Named domain shapes (`api-spec/shapes.json`): one type for an object that several
//! methods (and pushes) return, so a user writes one function over `&Order` whatever call
//! or push it came from.
//!
//! A shape names its places (`order.searchList response.shop_order_list[]`). Objects at the
//! places of one shape are one *class*; the objects their same-named fields hold join a class
//! too (an order's `sku_order_list[]` items), until nothing changes. Each class becomes one
//! struct in `api::model` whose fields are the union of its members' fields: every reply
//! field is optional, so the union fits every place. Where two members type a field
//! differently, the wider type wins (`any` ⊇ string ⊇ number, f64 ⊇ i64 ⊇ i32; a code set
//! or an identifier over the plain integer or string it is sent as; `any` where they
//! disagree on the kind, a list in one place and text in another). Docs take no part:
//! the first member's doc of a field is kept.
//!
//! The methods then hold `crate::api::model::X`; their old type names stay in their modules
//! as deprecated aliases for one release.

use crate::error::SpecError;
use crate::ir::*;
use crate::spec::ShapesFile;
use std::collections::{BTreeMap, BTreeSet};

/// Whose namespace a struct is in: a method (`order.searchList`) or a push message
/// (`message TradeAddressChanged`).
type Owner = String;
/// A struct: its owner and its name there.
type Node = (Owner, String);

/// Applies the shapes to the lowered API: fills `api.model`, rewrites the holders and
/// records the old names. Run before the per-group sharing.
pub fn apply(api: &mut Api, shapes: &Sourced<ShapesFile>) -> Result<(), Vec<SpecError>> {
    if shapes.value.shapes.is_empty() {
        return Ok(());
    }
    let index = Index::new(api);
    let mut errors = Vec::new();
    let mut classes = Classes::default();
    let mut declared: BTreeSet<String> = BTreeSet::new();
    for shape in &shapes.value.shapes {
        let place = format!("shapes.{}", shape.name);
        if !crate::naming::is_identifier(&shape.name)
            || !shape.name.starts_with(|c: char| c.is_ascii_uppercase())
            || crate::naming::is_reserved(&shape.name)
        {
            errors.push(SpecError::new(&shapes.file, &place, "a shape's name must be an UpperCamelCase identifier"));
            continue;
        }
        if !declared.insert(shape.name.clone()) {
            errors.push(SpecError::new(&shapes.file, &place, "duplicate shape"));
            continue;
        }
        let mut first: Option<Node> = None;
        for at in &shape.places {
            match index.resolve(at) {
                Ok(node) => {
                    if classes.of(&node).is_some_and(|c| classes.names[c].is_some()) {
                        let other = classes.names[classes.of(&node).unwrap()].clone().unwrap_or_default();
                        if other != shape.name {
                            errors.push(SpecError::new(
                                &shapes.file,
                                &place,
                                format!("`{at}` is also a place of `{other}`"),
                            ));
                            continue;
                        }
                    }
                    let class = classes.join(&node, first.as_ref());
                    classes.names[class] = Some(shape.name.clone());
                    classes.docs[class] = shape.doc.clone();
                    first.get_or_insert(node);
                }
                Err(message) => errors.push(SpecError::new(&shapes.file, &place, format!("`{at}`: {message}"))),
            }
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    // Objects that members hold under one JSON name join one class, until nothing changes.
    loop {
        let mut joined = false;
        for class in 0..classes.members.len() {
            let members = classes.members[class].clone();
            let Some((head, rest)) = members.split_first() else { continue };
            for other in rest {
                for (wire, a) in index.children(head) {
                    let Some(b) = index.children(other).into_iter().find(|(w, _)| *w == wire).map(|(_, b)| b) else {
                        continue;
                    };
                    if classes.of(&a) != classes.of(&b) || classes.of(&a).is_none() {
                        let parent = classes.names[class].clone();
                        let ca = classes.join(&a, None);
                        let cb = classes.join(&b, Some(&a));
                        debug_assert_eq!(ca, cb);
                        classes.parents[cb].get_or_insert_with(|| parent.unwrap_or_default());
                        joined = true;
                    }
                }
            }
        }
        if !joined {
            break;
        }
    }
    // A member's child that no other member shares still moves with its parent: it is part
    // of the merged struct.
    loop {
        let mut added = false;
        for class in 0..classes.members.len() {
            for member in classes.members[class].clone() {
                for (_, child) in index.children(&member) {
                    if classes.of(&child).is_none() {
                        let c = classes.join(&child, None);
                        classes.parents[c] = classes.names[class].clone().or_else(|| Some(member.1.clone()));
                        added = true;
                    }
                }
            }
        }
        if !added {
            break;
        }
    }
    classes.name_all(&declared);
    let model = classes.merge(&index, &declared);
    let moved = classes.moved();
    drop(index);
    rewrite(api, &moved);
    api.model = model;
    Ok(())
}

/// Where every struct is, by owner.
struct Index<'a> {
    /// Owner -> its structs (request, response object, message body, nested), by name.
    owners: BTreeMap<Owner, OwnerStructs<'a>>,
}

struct OwnerStructs<'a> {
    /// The group module (`order`) or `messages`: the cargo feature.
    feature: String,
    /// The root a path starts at: `response` or `request` for a method, the body for a message.
    roots: BTreeMap<&'static str, &'a Struct>,
    by_name: BTreeMap<&'a str, &'a Struct>,
}

impl<'a> Index<'a> {
    fn new(api: &'a Api) -> Self {
        let mut owners = BTreeMap::new();
        for group in &api.groups {
            for method in &group.methods {
                let Some(typed) = &method.typed else { continue };
                let mut roots = BTreeMap::new();
                roots.insert("request", &typed.request);
                let mut by_name: BTreeMap<&str, &Struct> = typed.nested.iter().map(|s| (s.name.as_str(), s)).collect();
                by_name.insert(typed.request.name.as_str(), &typed.request);
                if let ResponseShape::Object(s) = &typed.response {
                    roots.insert("response", s);
                    by_name.insert(s.name.as_str(), s);
                }
                owners.insert(method.name.clone(), OwnerStructs { feature: group.module.clone(), roots, by_name });
            }
        }
        for message in &api.messages.messages {
            let mut by_name: BTreeMap<&str, &Struct> = message.nested.iter().map(|s| (s.name.as_str(), s)).collect();
            by_name.insert(message.body.name.as_str(), &message.body);
            let mut roots = BTreeMap::new();
            roots.insert("message", &message.body);
            owners.insert(
                format!("message {}", message.body.name),
                OwnerStructs { feature: "messages".to_owned(), roots, by_name },
            );
        }
        Index { owners }
    }

    /// `order.searchList response.shop_order_list[]` or `message TradeAddressChanged addr_struct`.
    fn resolve(&self, place: &str) -> Result<Node, String> {
        let (owner, path) = match place.strip_prefix("message ") {
            Some(rest) => {
                let (name, path) = rest.split_once(' ').unwrap_or((rest, ""));
                (format!("message {name}"), format!("message.{path}"))
            }
            None => {
                let (method, path) = place.split_once(' ').ok_or("expected `<method> <path>`")?;
                (method.to_owned(), path.to_owned())
            }
        };
        let structs = self.owners.get(&owner).ok_or_else(|| format!("no typed method or message `{owner}`"))?;
        let mut segments = path.trim_end_matches('.').split('.');
        let root = segments.next().unwrap_or_default();
        let mut current = *structs
            .roots
            .get(root)
            .ok_or_else(|| format!("a path starts at `request` or `response`, not `{root}`"))?;
        for segment in segments {
            let wire = segment.trim_end_matches("[]").trim_end_matches("{}");
            let field = current.fields.iter().find(|f| f.wire == wire).ok_or_else(|| format!("no field `{wire}`"))?;
            let name = named(&field.ty).ok_or_else(|| format!("`{wire}` holds no object"))?;
            current = structs.by_name.get(name).ok_or_else(|| format!("no type `{name}`"))?;
        }
        if current.builder {
            return Err("a shape is a reply's or a push's object, not a request's".to_owned());
        }
        Ok((owner, current.name.clone()))
    }

    fn get(&self, node: &Node) -> &'a Struct {
        self.owners[&node.0].by_name[node.1.as_str()]
    }

    /// The objects a struct's fields hold, by JSON name.
    fn children(&self, node: &Node) -> Vec<(String, Node)> {
        self.get(node)
            .fields
            .iter()
            .filter_map(|f| named(&f.ty).map(|name| (f.wire.clone(), (node.0.clone(), name.to_owned()))))
            .collect()
    }
}

/// The struct a type holds (through lists and maps).
fn named(ty: &RustType) -> Option<&str> {
    match ty {
        RustType::Named(name) => Some(name),
        RustType::Vec(inner) | RustType::Map(inner) => named(inner),
        _ => None,
    }
}

/// Classes of structs that become one model struct each.
#[derive(Default)]
struct Classes {
    members: Vec<Vec<Node>>,
    /// The declared shape's name, then the final name.
    names: Vec<Option<String>>,
    docs: Vec<Option<String>>,
    /// The name of the class a discovered class was found under (for a unique name).
    parents: Vec<Option<String>>,
    class_of: BTreeMap<Node, usize>,
}

impl Classes {
    fn of(&self, node: &Node) -> Option<usize> {
        self.class_of.get(node).copied()
    }

    /// Puts `node` in the class of `with` (a new class when `with` is `None` or has none),
    /// merging two classes when both have one.
    fn join(&mut self, node: &Node, with: Option<&Node>) -> usize {
        let target = with.and_then(|w| self.of(w));
        match (self.of(node), target) {
            (Some(a), Some(b)) if a == b => a,
            (Some(a), Some(b)) => {
                let (keep, gone) = (a.min(b), a.max(b));
                let moved = std::mem::take(&mut self.members[gone]);
                for m in &moved {
                    self.class_of.insert(m.clone(), keep);
                }
                self.members[keep].extend(moved);
                if self.names[keep].is_none() {
                    self.names[keep] = self.names[gone].take();
                }
                if self.docs[keep].is_none() {
                    self.docs[keep] = self.docs[gone].take();
                }
                if self.parents[keep].is_none() {
                    self.parents[keep] = self.parents[gone].take();
                }
                keep
            }
            (Some(a), None) => a,
            (None, Some(b)) => {
                self.members[b].push(node.clone());
                self.class_of.insert(node.clone(), b);
                b
            }
            (None, None) => {
                self.members.push(vec![node.clone()]);
                self.names.push(None);
                self.docs.push(None);
                self.parents.push(None);
                self.class_of.insert(node.clone(), self.members.len() - 1);
                self.members.len() - 1
            }
        }
    }

    /// Names the discovered classes: their first member's name, prefixed with the parent's
    /// name when another class has it (a declared shape's name is never taken).
    fn name_all(&mut self, declared: &BTreeSet<String>) {
        let mut taken: BTreeSet<String> = declared.clone();
        for class in 0..self.members.len() {
            if self.members[class].is_empty() || self.names[class].is_some() {
                continue;
            }
            let natural = self.members[class][0].1.clone();
            let parent = self.parents[class].clone().unwrap_or_default();
            let mut name = natural.clone();
            let mut n = 1;
            while taken.contains(&name) || crate::naming::is_reserved(&name) {
                name = if n == 1 { format!("{parent}{natural}") } else { format!("{parent}{natural}{n}") };
                n += 1;
            }
            taken.insert(name.clone());
            self.names[class] = Some(name);
        }
    }

    fn name(&self, node: &Node) -> Option<&str> {
        self.of(node).and_then(|c| self.names[c].as_deref())
    }

    /// The union struct of each class.
    fn merge(&self, index: &Index<'_>, declared: &BTreeSet<String>) -> Vec<ModelStruct> {
        let mut out = Vec::new();
        for (class, members) in self.members.iter().enumerate() {
            let Some(name) = self.names[class].clone() else { continue };
            if members.is_empty() {
                continue;
            }
            let mut fields: Vec<FieldIr> = Vec::new();
            let mut features = BTreeSet::new();
            for member in members {
                features.insert(index.owners[&member.0].feature.clone());
                for field in &index.get(member).fields {
                    let ty = self.retype(&member.0, &field.ty);
                    match fields.iter_mut().find(|f| f.wire == field.wire) {
                        Some(existing) => {
                            existing.ty = wider(&existing.ty, &ty);
                            existing.sensitive |= field.sensitive;
                            existing.doc = existing.doc.take().or_else(|| field.doc.clone());
                            existing.example = existing.example.take().or_else(|| field.example.clone());
                        }
                        None => {
                            fields.push(FieldIr { ty, optional: !is_collection_or_value(&field.ty), ..field.clone() })
                        }
                    }
                }
            }
            fields.sort_by(|a, b| a.wire.as_bytes().cmp(b.wire.as_bytes()));
            let places: Vec<String> =
                members.iter().map(|(owner, _)| owner.clone()).collect::<BTreeSet<_>>().into_iter().collect();
            out.push(ModelStruct {
                body: Struct { name, fields, builder: false, decoded: true },
                features,
                doc: self.docs[class].clone(),
                places,
                declared: declared.contains(&self.names[class].clone().unwrap_or_default()),
            });
        }
        out.sort_by(|a, b| a.body.name.cmp(&b.body.name));
        holders_features_reach_what_they_hold(&mut out);
        out
    }

    /// A member's field type with its structs replaced by their classes' model types.
    fn retype(&self, owner: &str, ty: &RustType) -> RustType {
        match ty {
            RustType::Named(name) => match self.name(&(owner.to_owned(), name.clone())) {
                Some(model) => RustType::Model(model.to_owned()),
                None => ty.clone(),
            },
            RustType::Vec(inner) => RustType::Vec(Box::new(self.retype(owner, inner))),
            RustType::Map(inner) => RustType::Map(Box::new(self.retype(owner, inner))),
            other => other.clone(),
        }
    }

    /// Owner -> (old struct name -> model name).
    fn moved(&self) -> BTreeMap<Owner, BTreeMap<String, String>> {
        let mut out: BTreeMap<Owner, BTreeMap<String, String>> = BTreeMap::new();
        for (node, class) in &self.class_of {
            if let Some(name) = &self.names[*class] {
                out.entry(node.0.clone()).or_default().insert(node.1.clone(), name.clone());
            }
        }
        out
    }
}

/// A type compiles with every feature of the types that hold it (a field's type must exist
/// wherever its struct does).
fn holders_features_reach_what_they_hold(model: &mut [ModelStruct]) {
    loop {
        let mut changed = false;
        for i in 0..model.len() {
            let features = model[i].features.clone();
            let held: Vec<String> =
                model[i].body.fields.iter().filter_map(|f| model_of(&f.ty).map(str::to_owned)).collect();
            for name in held {
                if let Some(child) = model.iter_mut().find(|m| m.body.name == name) {
                    let before = child.features.len();
                    child.features.extend(features.iter().cloned());
                    changed |= child.features.len() != before;
                }
            }
        }
        if !changed {
            break;
        }
    }
}

/// The domain type a type holds (through lists and maps).
fn model_of(ty: &RustType) -> Option<&str> {
    match ty {
        RustType::Model(name) => Some(name),
        RustType::Vec(inner) | RustType::Map(inner) => model_of(inner),
        _ => None,
    }
}

fn is_collection_or_value(ty: &RustType) -> bool {
    ty.is_collection() || *ty == RustType::Value
}

/// The type that holds both (`any` when nothing narrower does).
fn wider(a: &RustType, b: &RustType) -> RustType {
    use RustType::*;
    if a == b {
        return a.clone();
    }
    let rank = |t: &RustType| match t {
        I32 => Some(0),
        I64 => Some(1),
        F64 => Some(2),
        String => Some(3),
        _ => None,
    };
    match (a, b) {
        (Value, _) | (_, Value) => Value,
        (Vec(x), Vec(y)) => Vec(Box::new(wider(x, y))),
        (Map(x), Map(y)) => Map(Box::new(wider(x, y))),
        // A code or an id decodes from the number or the digits it is sent as.
        (CodeSet { name, text }, I32 | I64) | (I32 | I64, CodeSet { name, text }) => {
            CodeSet { name: name.clone(), text: *text }
        }
        (CodeSet { name, .. }, String) | (String, CodeSet { name, .. }) => CodeSet { name: name.clone(), text: true },
        (CodeSet { name: x, .. }, CodeSet { name: y, text }) if x == y => CodeSet { name: x.clone(), text: *text },
        (Id { name, text }, I32 | I64) | (I32 | I64, Id { name, text }) => Id { name: name.clone(), text: *text },
        (Id { name, .. }, String) | (String, Id { name, .. }) => Id { name: name.clone(), text: true },
        (Id { name: x, .. }, Id { name: y, text }) if x == y => Id { name: x.clone(), text: *text },
        _ => match (rank(a), rank(b)) {
            (Some(x), Some(y)) => {
                if x >= y {
                    a.clone()
                } else {
                    b.clone()
                }
            }
            // Two places disagree on the kind (a list here, text there): any JSON holds both.
            _ => Value,
        },
    }
}

/// Points every holder at the model types, drops the moved structs (and the structs only
/// they held) and records the old names.
fn rewrite(api: &mut Api, moved: &BTreeMap<Owner, BTreeMap<String, String>>) {
    for group in &mut api.groups {
        for method in &mut group.methods {
            let Some(map) = moved.get(&method.name) else { continue };
            let Some(typed) = &mut method.typed else { continue };
            retype_struct(&mut typed.request, map);
            if let ResponseShape::Object(s) = &typed.response {
                if let Some(model) = map.get(&s.name) {
                    typed.response =
                        ResponseShape::Newtype(RustType::Model(model.clone()), crate::types::TypeExpr::Object);
                }
            }
            match &mut typed.response {
                ResponseShape::Object(s) => retype_struct(s, map),
                ResponseShape::Newtype(ty, _) => *ty = retype(ty, map),
            }
            for s in &mut typed.nested {
                retype_struct(s, map);
            }
            if let Some(paging) = &mut method.paging {
                paging.item = retype(&paging.item, map);
            }
            typed.nested.retain(|s| !map.contains_key(&s.name));
            let mut roots = vec![&typed.request];
            let newtype_item = match &typed.response {
                ResponseShape::Object(s) => {
                    roots.push(s);
                    None
                }
                ResponseShape::Newtype(ty, _) => named(ty).map(str::to_owned),
            };
            let kept = reachable(&roots, &typed.nested, newtype_item);
            typed.nested.retain(|s| kept.contains(&s.name));
            // A reply that is itself a domain type keeps its own response type.
            let response = &method.response_type;
            method.moved =
                map.iter().filter(|(old, _)| *old != response).map(|(o, n)| (o.clone(), n.clone())).collect();
        }
    }
    for message in &mut api.messages.messages {
        let Some(map) = moved.get(&format!("message {}", message.body.name)) else { continue };
        retype_struct(&mut message.body, map);
        for s in &mut message.nested {
            retype_struct(s, map);
        }
        message.nested.retain(|s| !map.contains_key(&s.name));
        let kept = reachable(&[&message.body], &message.nested, None);
        message.nested.retain(|s| kept.contains(&s.name));
        message.moved = map.iter().map(|(o, n)| (o.clone(), n.clone())).collect();
    }
}

fn retype_struct(s: &mut Struct, map: &BTreeMap<String, String>) {
    for field in &mut s.fields {
        field.ty = retype(&field.ty, map);
    }
}

fn retype(ty: &RustType, map: &BTreeMap<String, String>) -> RustType {
    match ty {
        RustType::Named(name) => match map.get(name) {
            Some(model) => RustType::Model(model.clone()),
            None => ty.clone(),
        },
        RustType::Vec(inner) => RustType::Vec(Box::new(retype(inner, map))),
        RustType::Map(inner) => RustType::Map(Box::new(retype(inner, map))),
        other => other.clone(),
    }
}

/// The names of the nested structs reachable from the roots.
fn reachable(roots: &[&Struct], nested: &[Struct], extra: Option<String>) -> BTreeSet<String> {
    let mut seen = BTreeSet::new();
    let mut todo: Vec<String> =
        roots.iter().flat_map(|s| s.fields.iter().filter_map(|f| named(&f.ty).map(str::to_owned))).collect();
    todo.extend(extra);
    while let Some(name) = todo.pop() {
        if !seen.insert(name.clone()) {
            continue;
        }
        if let Some(s) = nested.iter().find(|s| s.name == name) {
            todo.extend(s.fields.iter().filter_map(|f| named(&f.ty).map(str::to_owned)));
        }
    }
    seen
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_wider_type_holds_both() {
        use RustType::*;
        let order_id = || Id { name: "OrderId".into(), text: false };
        assert_eq!(wider(&I32, &I64), I64);
        assert_eq!(wider(&I64, &String), String);
        assert_eq!(wider(&F64, &I32), F64);
        assert_eq!(wider(&Vec(Box::new(I32)), &Vec(Box::new(I64))), Vec(Box::new(I64)));
        assert_eq!(wider(&order_id(), &I64), order_id());
        assert_eq!(wider(&String, &order_id()), Id { name: "OrderId".into(), text: true });
        let status = CodeSet { name: "OrderStatus".into(), text: false };
        assert_eq!(wider(&I64, &status), status.clone());
        // A list in one place and text in another: any JSON.
        assert_eq!(wider(&String, &Vec(Box::new(I64))), Value);
        assert_eq!(wider(&Model("A".into()), &I64), Value);
    }

    #[test]
    fn places_resolve_through_lists_and_refuse_what_is_not_a_reply_object() {
        let field = |wire: &str, ty: RustType| FieldIr {
            wire: wire.into(),
            rust: wire.into(),
            ty,
            spec_ty: crate::types::TypeExpr::I64,
            optional: true,
            required: false,
            sensitive: false,
            example: None,
            doc: None,
        };
        let object = |name: &str, fields, builder| Struct { name: name.into(), fields, builder, decoded: !builder };
        let typed = Typed {
            request: object("R", vec![field("filter", RustType::Named("Filter".into()))], true),
            response: ResponseShape::Object(object(
                "Resp",
                vec![field("list", RustType::Vec(Box::new(RustType::Named("Item".into()))))],
                false,
            )),
            wrapper: None,
            nested: vec![object("Filter", vec![], true), object("Item", vec![field("id", RustType::I64)], false)],
        };
        let method = Method {
            name: "a.list".into(),
            request_type: "R".into(),
            response_type: "Resp".into(),
            module: "list".into(),
            retry: crate::spec::RetryClass::ReadOnly,
            typed: Some(typed),
            paging: None,
            doc: None,
            doc_url: None,
            aliases: vec![],
            known_as: vec![],
            moved: BTreeMap::new(),
            renamed: BTreeMap::new(),
        };
        let api = Api {
            groups: vec![Group {
                name: "a".into(),
                module: "a".into(),
                file: "a.json".into(),
                methods: vec![method],
                shared: vec![],
                domain_types: vec![],
            }],
            messages: Messages { file: "m.json".into(), messages: vec![] },
            codes: Default::default(),
            model: vec![],
        };
        let index = Index::new(&api);
        assert_eq!(index.resolve("a.list response.list[]"), Ok(("a.list".to_owned(), "Item".to_owned())));
        assert_eq!(index.resolve("a.list response"), Ok(("a.list".to_owned(), "Resp".to_owned())));
        assert_eq!(index.resolve("a.list response.nope"), Err("no field `nope`".to_owned()));
        assert_eq!(index.resolve("a.list response.list[].id"), Err("`id` holds no object".to_owned()));
        assert!(index.resolve("a.list request.filter").unwrap_err().contains("not a request's"));
        assert!(index.resolve("b.other response").unwrap_err().contains("no typed method"));
    }
}
