//! One name, one type, within a group: rustdoc listed 35 types named `Data` and a reader of
//! `api::order` met several `Detail`s. A nested type whose name another method's type (or the
//! group's shared and domain types) also has takes its method's name as a prefix, in every
//! method that has one (`Data` of `product.listV2` -> `ListV2Data`), so which method came
//! first never decides a name. The old name stays as a deprecated alias for one release.
//! Push messages count as one group.

use crate::ir::{Api, MessageIr, Method, ResponseShape, RustType, Struct};
use crate::naming;
use std::collections::{BTreeMap, BTreeSet};

/// Renames the clashing nested types of every group and of the push messages.
pub fn apply(api: &mut Api) {
    for group in &mut api.groups {
        let mut taken: BTreeSet<String> = group.shared.iter().map(|s| s.body.name.clone()).collect();
        taken.extend(group.domain_types.iter().cloned());
        let owners: Vec<Vec<String>> = group
            .methods
            .iter()
            .map(|m| {
                let shared = group.shared_by(&m.name);
                let local = m.typed.iter().flat_map(|t| &t.nested).filter(|s| !shared.contains(&s.name.as_str()));
                local.map(|s| s.name.clone()).collect()
            })
            .collect();
        let clashing = clashing(&owners, &taken);
        for (method, local) in group.methods.iter_mut().zip(&owners) {
            let mut all: BTreeSet<String> = taken.clone();
            all.extend(local.iter().cloned());
            all.insert(method.request_type.clone());
            all.insert(method.response_type.clone());
            let renames = renames(&method.module, local, &clashing, &all);
            rename_method(method, &renames);
        }
    }
    let owners: Vec<Vec<String>> =
        api.messages.messages.iter().map(|m| m.nested.iter().map(|s| s.name.clone()).collect()).collect();
    let message_names: BTreeSet<String> = api.messages.messages.iter().map(|m| m.body.name.clone()).collect();
    let clashing = clashing(&owners, &message_names);
    for (message, local) in api.messages.messages.iter_mut().zip(&owners) {
        let mut all = message_names.clone();
        all.extend(local.iter().cloned());
        let renames = renames(&message.module, local, &clashing, &all);
        rename_message(message, &renames);
    }
}

/// The names more than one owner has, or that one has and `taken` holds.
fn clashing(owners: &[Vec<String>], taken: &BTreeSet<String>) -> BTreeSet<String> {
    let mut count: BTreeMap<&str, usize> = BTreeMap::new();
    for names in owners {
        for name in names {
            *count.entry(name).or_default() += 1;
        }
    }
    count.into_iter().filter(|(name, n)| *n > 1 || taken.contains(*name)).map(|(name, _)| name.to_owned()).collect()
}

/// Old -> new for an owner's clashing names: the module's name in UpperCamelCase first.
fn renames(
    module: &str,
    local: &[String],
    clashing: &BTreeSet<String>,
    all: &BTreeSet<String>,
) -> BTreeMap<String, String> {
    let stem = stem_of(module);
    let mut used = all.clone();
    let mut out = BTreeMap::new();
    for name in local.iter().filter(|n| clashing.contains(*n)) {
        // The prefixed name may be another type's already (`WaybillReturnPack` beside `Pack`).
        let Some(candidate) = std::iter::once(format!("{stem}{name}"))
            .chain((2..10).map(|n| format!("{stem}{name}{n}")))
            .find(|c| !used.contains(c) && !naming::is_reserved(c))
        else {
            continue;
        };
        used.insert(candidate.clone());
        out.insert(name.clone(), candidate);
    }
    out
}

/// `search_list` -> `SearchList`.
fn stem_of(module: &str) -> String {
    module
        .split('_')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let mut chars = p.chars();
            chars.next().map(|c| c.to_ascii_uppercase().to_string() + chars.as_str()).unwrap_or_default()
        })
        .collect()
}

fn rename_method(method: &mut Method, renames: &BTreeMap<String, String>) {
    if renames.is_empty() {
        return;
    }
    let Some(typed) = &mut method.typed else { return };
    rename_fields(&mut typed.request, renames);
    match &mut typed.response {
        ResponseShape::Object(s) => rename_fields(s, renames),
        ResponseShape::Newtype(ty, _) => *ty = renamed(ty, renames),
    }
    for s in &mut typed.nested {
        rename_fields(s, renames);
        if let Some(new) = renames.get(&s.name) {
            s.name = new.clone();
        }
    }
    typed.nested.sort_by(|a, b| a.name.cmp(&b.name));
    if let Some(paging) = &mut method.paging {
        paging.item = renamed(&paging.item, renames);
    }
    method.renamed = renames.clone();
}

fn rename_message(message: &mut MessageIr, renames: &BTreeMap<String, String>) {
    if renames.is_empty() {
        return;
    }
    rename_fields(&mut message.body, renames);
    for s in &mut message.nested {
        rename_fields(s, renames);
        if let Some(new) = renames.get(&s.name) {
            s.name = new.clone();
        }
    }
    message.nested.sort_by(|a, b| a.name.cmp(&b.name));
    message.renamed = renames.clone();
}

fn rename_fields(s: &mut Struct, renames: &BTreeMap<String, String>) {
    for field in &mut s.fields {
        field.ty = renamed(&field.ty, renames);
    }
}

fn renamed(ty: &RustType, renames: &BTreeMap<String, String>) -> RustType {
    match ty {
        RustType::Named(name) => RustType::Named(renames.get(name).cloned().unwrap_or_else(|| name.clone())),
        RustType::Vec(inner) => RustType::Vec(Box::new(renamed(inner, renames))),
        RustType::Map(inner) => RustType::Map(Box::new(renamed(inner, renames))),
        other => other.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_more_than_one_owner_has_are_clashing() {
        let owners = vec![vec!["Data".to_owned(), "Sku".to_owned()], vec!["Data".to_owned()], vec!["Pic".to_owned()]];
        let taken: BTreeSet<String> = ["Pic".to_owned()].into();
        let clash = clashing(&owners, &taken);
        assert_eq!(clash, ["Data".to_owned(), "Pic".to_owned()].into());
        let renamed = renames("list_v2", &owners[0], &clash, &BTreeSet::new());
        assert_eq!(renamed, [("Data".to_owned(), "ListV2Data".to_owned())].into());
        // A prefixed name already in use gets a number rather than take another's.
        let used: BTreeSet<String> = ["ListV2Data".to_owned()].into();
        assert_eq!(renames("list_v2", &owners[0], &clash, &used)["Data"], "ListV2Data2");
        assert_eq!(stem_of("get_settle_bill_detail_v3"), "GetSettleBillDetailV3");
    }
}
