//! What differs between two entries of one method, in spec paths (the paths of generator
//! errors and `overrides.json`: `response.shop_order_list[].post_tel`), for the report.

use crate::spec::{Body, Field, Method, Paging};
use crate::types::TypeExpr;
use std::collections::BTreeMap;

/// At most this many lines per method; the rest are counted.
const MAX_LINES: usize = 20;

/// One field's facts at a spec path.
#[derive(PartialEq)]
struct Leaf<'a> {
    ty: &'a str,
    required: bool,
    sensitive: bool,
    example: Option<&'a str>,
}

/// The differences from `old` to `new`, one line each; non-empty when they differ.
pub(crate) fn differences(old: &Method, new: &Method) -> Vec<String> {
    let mut out = Vec::new();
    let origin = |m: &Method| m.origin.map_or("hand-written", |o| o.as_str());
    if old.origin != new.origin {
        out.push(format!("origin: {} -> {}", origin(old), origin(new)));
    }
    if old.source != new.source {
        let source = |m: &Method| m.source.clone().unwrap_or_else(|| "none".to_owned());
        out.push(format!("source: {} -> {}", source(old), source(new)));
    }
    // By class: an old entry's `read_only: true` and a new `retry: "read-only"` are the same.
    let class = |m: &Method| m.retry_class().map_or_else(|error| error, |class| class.to_string());
    if class(old) != class(new) {
        out.push(format!("retry: {} -> {}", class(old), class(new)));
    }
    if old.paging != new.paging {
        out.push(format!("paging: {} -> {}", paging(old.paging.as_ref()), paging(new.paging.as_ref())));
    }
    if old.doc != new.doc {
        out.push("doc changed".to_owned());
    }
    match (old.request.is_some(), new.request.is_some()) {
        (false, true) => out.push(format!("typed now (was untyped): {} request fields", count(new))),
        (true, false) => out.push("untyped now (the SDK has no parameter class)".to_owned()),
        _ => {}
    }
    let (before, after) = (leaves(old), leaves(new));
    if old.request.is_some() && new.request.is_some() {
        let mut examples = 0;
        let added: Vec<&String> = after.keys().filter(|path| !before.contains_key(*path)).collect();
        let removed: Vec<&String> = before.keys().filter(|path| !after.contains_key(*path)).collect();
        for (path, leaf) in &after {
            match before.get(path) {
                // The fields of an added object come with it.
                None if inside_any(path, &added) => {}
                None => {
                    let required = if leaf.required { ", required" } else { "" };
                    let sensitive = if leaf.sensitive { ", sensitive" } else { "" };
                    let fields = after.keys().filter(|p| inside(p, path)).count();
                    let fields = match fields {
                        0 => String::new(),
                        1 => " (1 field inside)".to_owned(),
                        n => format!(" ({n} fields inside)"),
                    };
                    out.push(format!("+ {path}: {}{required}{sensitive}{fields}", leaf.ty));
                }
                Some(was) => {
                    if was.ty != leaf.ty {
                        out.push(format!("{path}: type {} -> {}", was.ty, leaf.ty));
                    }
                    if was.required != leaf.required {
                        out.push(format!("{path}: required {} -> {}", was.required, leaf.required));
                    }
                    if was.sensitive != leaf.sensitive {
                        out.push(format!("{path}: sensitive {} -> {}", was.sensitive, leaf.sensitive));
                    }
                    examples += usize::from(was.example != leaf.example);
                }
            }
        }
        out.extend(removed.iter().filter(|path| !inside_any(path, &removed)).map(|path| format!("- {path}")));
        if examples > 0 {
            out.push(format!("examples differ at {examples} field(s)"));
        }
    }
    // The retry class in either spelling (`read_only: true` of older specs, or `retry`).
    let respelt = |m: &Method| Method { retry: m.retry_class().ok(), read_only: false, ..m.clone() };
    if out.is_empty() && respelt(old) != respelt(new) {
        out.push("same fields in another order".to_owned());
    }
    if out.len() > MAX_LINES {
        let more = out.len() - MAX_LINES + 1;
        out.truncate(MAX_LINES - 1);
        out.push(format!("... and {more} more"));
    }
    out
}

/// Whether `path` lies inside the object at `outer` (`request.a[].b` inside `request.a`).
fn inside(path: &str, outer: &str) -> bool {
    path.strip_prefix(outer).is_some_and(|rest| rest.starts_with(['.', '[', '{']))
}

fn inside_any(path: &str, outers: &[&String]) -> bool {
    outers.iter().any(|outer| inside(path, outer))
}

fn count(method: &Method) -> usize {
    method.request.as_ref().map_or(0, Vec::len)
}

fn paging(paging: Option<&Paging>) -> String {
    match paging {
        None => "none".to_owned(),
        Some(p) => format!("{}/{} from {}, items {}", p.page, p.size, p.base, p.items),
    }
}

/// Every field of a method (and the response's own type at `response`), by spec path.
fn leaves(method: &Method) -> BTreeMap<String, Leaf<'_>> {
    let mut out = BTreeMap::new();
    if let Some(request) = &method.request {
        flatten("request", request, &mut out);
    }
    if let Some(Body { ty, fields, .. }) = &method.response {
        out.insert("response".to_owned(), Leaf { ty, required: false, sensitive: false, example: None });
        if let Some(fields) = fields {
            flatten(&format!("response{}", suffix(ty)), fields, &mut out);
        }
    }
    out
}

fn flatten<'a>(path: &str, fields: &'a [Field], out: &mut BTreeMap<String, Leaf<'a>>) {
    for field in fields {
        let field_path = format!("{path}.{}", field.name);
        if let Some(children) = &field.fields {
            flatten(&format!("{field_path}{}", suffix(&field.ty)), children, out);
        }
        let leaf = Leaf {
            ty: &field.ty,
            required: field.required,
            sensitive: field.sensitive,
            example: field.example.as_deref(),
        };
        out.insert(field_path, leaf);
    }
}

/// `[]` per list and `{}` per map around the object, as in generator paths.
fn suffix(ty: &str) -> String {
    TypeExpr::parse(ty).map(|t| t.path_suffix()).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::heuristics::{imported_field, imported_method};
    use crate::spec::Origin;

    fn method(origin: Origin, request: Vec<Field>, items: Vec<Field>) -> Method {
        let response =
            Body::new("object", Some(vec![imported_field("list", "list<object>".into(), false, None, Some(items))]));
        imported_method("order.searchList", origin, None, request, response)
    }

    fn field(name: &str, ty: &str, required: bool) -> Field {
        imported_field(name, ty.into(), required, None, None)
    }

    #[test]
    fn lists_changes_by_spec_path() {
        let old = method(
            Origin::Catalog,
            vec![field("page", "i64", false), field("gone", "string", false)],
            vec![field("id", "i64", false)],
        );
        let new = method(
            Origin::SdkGo,
            vec![field("page", "i64", true), field("size", "i64", true)],
            vec![
                field("id", "string", false),
                field("post_tel", "string", false),
                imported_field("sku", "list<object>".into(), false, None, Some(vec![field("sku_id", "i64", false)])),
            ],
        );
        assert_eq!(
            differences(&old, &new),
            [
                "origin: catalog -> sdk-go",
                "paging: none -> page/size from 0, items list",
                "request.page: required false -> true",
                "+ request.size: i64, required",
                "response.list[].id: type i64 -> string",
                "+ response.list[].post_tel: string, sensitive",
                "+ response.list[].sku: list<object> (1 field inside)",
                "- request.gone",
            ]
        );
        assert!(differences(&new, &new).is_empty());
    }

    #[test]
    fn retry_classes_are_compared_by_class() {
        use crate::spec::RetryClass;
        let new = method(Origin::SdkGo, vec![], vec![]);
        // An entry of an older spec: `read_only: true` is the class `read-only`.
        let old = Method { retry: None, read_only: true, ..new.clone() };
        assert_eq!(differences(&old, &new), Vec::<String>::new());
        let write = Method { retry: Some(RetryClass::Idempotent), ..new.clone() };
        assert_eq!(differences(&old, &write), ["retry: read-only -> idempotent"]);
        let contradictory = Method { read_only: true, ..write.clone() };
        assert_eq!(differences(&contradictory, &write).len(), 1);
        assert!(differences(&contradictory, &write)[0].starts_with("retry: `read_only: true` contradicts"));
    }

    #[test]
    fn long_lists_are_cut() {
        let many: Vec<Field> = (0..40).map(|i| field(&format!("f{i:02}"), "i64", false)).collect();
        let old = method(Origin::SdkGo, vec![], vec![]);
        let new = method(Origin::SdkGo, many, vec![]);
        let lines = differences(&old, &new);
        assert_eq!(lines.len(), MAX_LINES);
        assert_eq!(lines.last().unwrap(), "... and 21 more");
    }
}
