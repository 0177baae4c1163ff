//! Nested types that several methods of one group hold in the same shape: generated once,
//! in the group's `shared` module, and re-exported by each method module that uses them.
//!
//! Two nested types are the same shape when they have the same name, the same request or
//! response role, and the same fields (JSON and Rust names, types, optionality, required
//! and sensitive flags, docs), where a field of a nested type must itself be the same
//! shape. Examples are not compared: they are documentation, and the first method's are
//! kept.
//!
//! One name can name different shapes in different methods; the shape most methods share
//! takes the name, the others stay in their methods. A type is shared only when every
//! nested type it holds is shared too, so that its field types resolve in the `shared`
//! module.

use crate::ir::{FieldIr, Method, RustType, Shared, Struct};
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// One shape and the methods that hold it.
struct Class<'a> {
    body: &'a Struct,
    methods: Vec<&'a str>,
    /// Keys of the shapes its fields hold.
    holds: BTreeSet<String>,
}

/// The shared types of a group's methods, sorted by name.
pub fn shared_types(methods: &[Method]) -> Vec<Shared> {
    let mut classes: BTreeMap<String, Class<'_>> = BTreeMap::new();
    for method in methods {
        let Some(typed) = &method.typed else { continue };
        let mut keys = HashMap::new();
        for s in &typed.nested {
            let (key, holds) = shape_key(s, &typed.nested, &mut keys);
            let class = classes.entry(key).or_insert_with(|| Class { body: s, methods: Vec::new(), holds });
            class.methods.push(&method.name);
        }
    }
    // Per name, the shape the most methods hold (ties: the first key, for stable output).
    let mut by_name: BTreeMap<&str, &str> = BTreeMap::new();
    for (key, class) in classes.iter().filter(|(_, c)| c.methods.len() > 1) {
        let name = class.body.name.as_str();
        let better = by_name.get(name).is_none_or(|best| classes[*best].methods.len() < class.methods.len());
        if better {
            by_name.insert(name, key);
        }
    }
    let mut chosen: BTreeSet<&str> = by_name.values().copied().collect();
    // Drop shapes that hold an unshared one, until none does.
    loop {
        let unresolved: Vec<&str> = chosen
            .iter()
            .copied()
            .filter(|key| classes[*key].holds.iter().any(|held| !chosen.contains(held.as_str())))
            .collect();
        if unresolved.is_empty() {
            break;
        }
        for key in unresolved {
            chosen.remove(key);
        }
    }
    let mut out: Vec<Shared> = chosen
        .into_iter()
        .map(|key| {
            let class = &classes[key];
            Shared { body: class.body.clone(), methods: class.methods.iter().map(|m| (*m).to_owned()).collect() }
        })
        .collect();
    out.sort_by(|a, b| a.body.name.cmp(&b.body.name));
    out
}

/// The shape key of `s` (whose nested types are `nested`) and the keys of the shapes its
/// fields hold; memoised by name in `keys`.
fn shape_key(s: &Struct, nested: &[Struct], keys: &mut HashMap<String, String>) -> (String, BTreeSet<String>) {
    let mut key = format!("{}|{}|{}|", s.name, s.builder, s.decoded);
    let mut holds = BTreeSet::new();
    for field in &s.fields {
        key.push_str(&field_key(field));
        key.push(':');
        key.push_str(&type_key(&field.ty, nested, keys, &mut holds));
        key.push(';');
    }
    keys.insert(s.name.clone(), key.clone());
    (key, holds)
}

fn field_key(f: &FieldIr) -> String {
    format!("{}/{}/{}/{}/{}/{:?}/{}", f.wire, f.rust, f.optional, f.required, f.sensitive, f.doc, f.spec_ty)
}

fn type_key(
    ty: &RustType,
    nested: &[Struct],
    keys: &mut HashMap<String, String>,
    holds: &mut BTreeSet<String>,
) -> String {
    match ty {
        RustType::Named(name) => {
            let key = match keys.get(name) {
                Some(key) => key.clone(),
                None => match nested.iter().find(|s| &s.name == name) {
                    Some(s) => shape_key(s, nested, keys).0,
                    None => format!("?{name}"),
                },
            };
            holds.insert(key.clone());
            format!("{{{key}}}")
        }
        RustType::Vec(inner) => format!("Vec<{}>", type_key(inner, nested, keys, holds)),
        RustType::Map(inner) => format!("Map<{}>", type_key(inner, nested, keys, holds)),
        other => format!("{other:?}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ir::Typed;
    use crate::types::TypeExpr;

    fn field(wire: &str, ty: RustType) -> FieldIr {
        FieldIr {
            wire: wire.into(),
            rust: wire.into(),
            ty,
            spec_ty: TypeExpr::I64,
            optional: true,
            required: false,
            sensitive: false,
            example: None,
            doc: None,
        }
    }

    fn object(name: &str, fields: Vec<FieldIr>) -> Struct {
        Struct { name: name.into(), fields, builder: false, decoded: true }
    }

    fn method(name: &str, nested: Vec<Struct>) -> Method {
        Method {
            name: name.into(),
            request_type: String::new(),
            response_type: String::new(),
            module: String::new(),
            read_only: true,
            typed: Some(Typed {
                request: object("Request", vec![]),
                response: crate::ir::ResponseShape::Object(object("Response", vec![])),
                wrapper: None,
                nested,
            }),
            paging: None,
            doc: None,
            doc_url: None,
            aliases: vec![],
            known_as: vec![],
            moved: Default::default(),
        }
    }

    fn names(shared: &[Shared]) -> Vec<(&str, Vec<&str>)> {
        shared.iter().map(|s| (s.body.name.as_str(), s.methods.iter().map(String::as_str).collect())).collect()
    }

    #[test]
    fn same_shapes_are_shared_and_examples_do_not_matter() {
        let sku = object("Sku", vec![field("sku_id", RustType::I64)]);
        let mut with_example = sku.clone();
        with_example.fields[0].example = Some("1".into());
        let order = |sku_ty| object("Order", vec![field("skus", RustType::Vec(Box::new(sku_ty)))]);
        let shared = shared_types(&[
            method("a.one", vec![order(RustType::Named("Sku".into())), sku.clone()]),
            method("a.two", vec![order(RustType::Named("Sku".into())), with_example]),
            method("a.three", vec![object("Sku", vec![field("other", RustType::I64)])]),
        ]);
        assert_eq!(names(&shared), [("Order", vec!["a.one", "a.two"]), ("Sku", vec!["a.one", "a.two"])]);
        assert_eq!(shared[1].body.fields[0].example, None, "the first method's docs are kept");
    }

    #[test]
    fn a_name_goes_to_the_most_shared_shape_and_holders_of_the_other_stay_local() {
        let small = object("Sku", vec![field("sku_id", RustType::I64)]);
        let big = object("Sku", vec![field("sku_id", RustType::I64), field("price", RustType::I64)]);
        let holder = object("Order", vec![field("sku", RustType::Named("Sku".into()))]);
        let shared = shared_types(&[
            method("a.one", vec![small.clone()]),
            method("a.two", vec![small.clone()]),
            method("a.three", vec![small]),
            method("a.four", vec![big.clone(), holder.clone()]),
            method("a.five", vec![big, holder]),
        ]);
        // `Order` holds the two-field `Sku`, which lost its name to the three-method one.
        assert_eq!(names(&shared), [("Sku", vec!["a.one", "a.two", "a.three"])]);
    }

    #[test]
    fn different_fields_or_roles_are_different_shapes() {
        let mut sensitive = object("Addr", vec![field("detail", RustType::String)]);
        sensitive.fields[0].sensitive = true;
        let mut request_side = object("Addr", vec![field("detail", RustType::String)]);
        request_side.builder = true;
        let plain = object("Addr", vec![field("detail", RustType::String)]);
        let shared = shared_types(&[
            method("a.one", vec![plain.clone()]),
            method("a.two", vec![sensitive]),
            method("a.three", vec![request_side]),
        ]);
        assert!(shared.is_empty());
        let shared = shared_types(&[method("a.one", vec![plain.clone()]), method("a.two", vec![plain])]);
        assert_eq!(names(&shared), [("Addr", vec!["a.one", "a.two"])]);
    }
}
