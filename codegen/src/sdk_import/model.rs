//! What the Go and Java scanners read, before it becomes spec: classes of fields with
//! language-neutral types, and one [`ScannedMethod`] per SDK package. [`to_spec_method`]
//! turns it into a spec method through the shared importer rules.

use crate::heuristics::{imported_field, imported_method, untyped_method};
use crate::spec::{Body, Field, Method, Origin};
use std::collections::BTreeMap;
use std::fmt;

/// A field type as a scanner read it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum RawType {
    String,
    I32,
    I64,
    F64,
    Bool,
    /// An open JSON value (`interface{}`, `Object`).
    Any,
    /// A class (struct) of the same package side, by name.
    Class(String),
    List(Box<RawType>),
    /// Key and value.
    Map(Box<RawType>, Box<RawType>),
    /// A construct the scanner does not understand, as source text: becomes `any` with a note.
    Unknown(String),
}

impl fmt::Display for RawType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RawType::String => f.write_str("string"),
            RawType::I32 => f.write_str("i32"),
            RawType::I64 => f.write_str("i64"),
            RawType::F64 => f.write_str("f64"),
            RawType::Bool => f.write_str("bool"),
            RawType::Any => f.write_str("any"),
            RawType::Class(name) | RawType::Unknown(name) => f.write_str(name),
            RawType::List(item) => write!(f, "list<{item}>"),
            RawType::Map(key, value) => write!(f, "map<{key},{value}>"),
        }
    }
}

/// One field of a class.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RawField {
    /// The JSON name.
    pub json: String,
    pub ty: RawType,
    pub required: bool,
    pub example: Option<String>,
}

/// Class name -> fields, for one side (parameters or data) of one method.
pub(crate) type Classes = BTreeMap<String, Vec<RawField>>;

/// One method package of an SDK as a scanner read it.
#[derive(Debug, Clone, Default)]
pub(crate) struct ScannedMethod {
    /// The package directory (`order_searchList`).
    pub package: String,
    /// The request's URL path (`/order/searchList`), when the scanner found it.
    pub url_path: Option<String>,
    /// The parameter root class, when found.
    pub param_root: Option<String>,
    /// The classes of the request side.
    pub param_classes: Classes,
    /// The type of the reply's `data`, when found.
    pub data: Option<RawType>,
    /// The classes of the response side.
    pub data_classes: Classes,
    /// What the scanner could not read, each prefixed by nothing (the method is added later).
    pub notes: Vec<String>,
}

/// The platform method of a package: from the URL path when there is one (exact), else from
/// the package name with every `_` read as `.` (a guess: some methods have `_` in a segment).
pub(crate) fn method_name(scanned: &ScannedMethod, notes: &mut Vec<String>) -> String {
    if let Some(path) = &scanned.url_path {
        let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
        let valid = |s: &&str| !s.is_empty() && s.chars().all(|c| c == '_' || c.is_ascii_alphanumeric());
        if segments.iter().all(valid) {
            return segments.join(".");
        }
        notes.push(format!("{}: URL path `{path}` is not a method path; named from the package", scanned.package));
    } else {
        notes.push(format!("{}: no URL path found; named from the package (check the name)", scanned.package));
    }
    scanned.package.replace('_', ".")
}

/// Turns a scanned package into a spec method named `name` ([`method_name`]). A missing
/// parameter class makes the method untyped; a missing `data` type makes the response an
/// open JSON value.
pub(crate) fn to_spec_method(
    scanned: &ScannedMethod,
    name: String,
    origin: Origin,
    source: Option<&str>,
    notes: &mut Vec<String>,
) -> Method {
    notes.extend(scanned.notes.iter().map(|note| format!("{name}: {note}")));
    let source = source.map(str::to_owned);
    let request = scanned.param_root.as_ref().and_then(|root| {
        let mut resolver = Resolver { classes: &scanned.param_classes, owner: &name, stack: Vec::new(), notes };
        resolver.class_fields(root, "request")
    });
    let Some(request) = request else {
        notes.push(format!("{name}: no parameter class found; imported untyped"));
        return untyped_method(&name, origin, source);
    };
    let response = match &scanned.data {
        Some(data) => {
            let mut resolver = Resolver { classes: &scanned.data_classes, owner: &name, stack: Vec::new(), notes };
            let (ty, fields) = resolver.spec_type(data, "response");
            Body::new(ty, fields)
        }
        None => {
            notes.push(format!("{name}: no `data` type found; the response is an open JSON value"));
            Body::new("any", None)
        }
    };
    imported_method(&name, origin, source, request, response)
}

/// Resolves class references of one side into nested spec fields.
struct Resolver<'a> {
    classes: &'a Classes,
    /// The method, for notes.
    owner: &'a str,
    /// The classes being expanded: a class inside itself is recursive and becomes `any`.
    stack: Vec<String>,
    notes: &'a mut Vec<String>,
}

impl Resolver<'_> {
    fn note(&mut self, path: &str, message: String) {
        self.notes.push(format!("{} -> {path}: {message}", self.owner));
    }

    /// The spec fields of a class; `None` when the class is not there.
    fn class_fields(&mut self, class: &str, path: &str) -> Option<Vec<Field>> {
        let fields = self.classes.get(class)?;
        self.stack.push(class.to_owned());
        let out = fields
            .iter()
            .map(|f| {
                let field_path = format!("{path}.{}", f.json);
                let (ty, nested) = self.spec_type(&f.ty, &field_path);
                imported_field(&f.json, ty, f.required, f.example.clone(), nested)
            })
            .collect();
        self.stack.pop();
        Some(out)
    }

    /// A spec type expression and the fields of the object inside it (at most one).
    fn spec_type(&mut self, ty: &RawType, path: &str) -> (String, Option<Vec<Field>>) {
        let scalar = |name: &str| (name.to_owned(), None);
        match ty {
            RawType::String => scalar("string"),
            RawType::I32 => scalar("i32"),
            RawType::I64 => scalar("i64"),
            RawType::F64 => scalar("f64"),
            RawType::Bool => scalar("bool"),
            RawType::Any => scalar("any"),
            RawType::Unknown(text) => {
                self.note(path, format!("type `{text}` not understood; typed as any"));
                scalar("any")
            }
            RawType::Class(class) if self.stack.contains(class) => {
                self.note(path, format!("recursive type `{class}`; typed as any"));
                scalar("any")
            }
            RawType::Class(class) => match self.class_fields(class, path) {
                Some(fields) => ("object".to_owned(), Some(fields)),
                None => {
                    self.note(path, format!("type `{class}` not found in the SDK package; typed as any"));
                    scalar("any")
                }
            },
            RawType::List(item) => {
                let (inner, fields) = self.spec_type(item, &format!("{path}[]"));
                (format!("list<{inner}>"), fields)
            }
            RawType::Map(key, value) => {
                let key = match **key {
                    RawType::String => "string",
                    RawType::I32 => "i32",
                    RawType::I64 => "i64",
                    _ => {
                        self.note(path, format!("map key type `{key}` is not a string or integer; typed as any"));
                        return scalar("any");
                    }
                };
                let (inner, fields) = self.spec_type(value, &format!("{path}{{}}"));
                (format!("map<{key},{inner}>"), fields)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field(json: &str, ty: RawType) -> RawField {
        RawField { json: json.into(), ty, required: false, example: None }
    }

    fn scanned(url_path: Option<&str>) -> ScannedMethod {
        let mut param_classes = Classes::new();
        param_classes.insert(
            "P".into(),
            vec![
                field("node", RawType::Class("Node".into())),
                field("tags", RawType::Map(Box::new(RawType::I64), Box::new(RawType::List(Box::new(RawType::String))))),
                field("odd", RawType::Map(Box::new(RawType::Bool), Box::new(RawType::String))),
            ],
        );
        param_classes.insert(
            "Node".into(),
            vec![field("children", RawType::List(Box::new(RawType::Class("Node".into())))), field("x", RawType::I32)],
        );
        ScannedMethod {
            package: "logistics_get_cap_info".into(),
            url_path: url_path.map(str::to_owned),
            param_root: Some("P".into()),
            param_classes,
            data: Some(RawType::List(Box::new(RawType::Class("Missing".into())))),
            ..ScannedMethod::default()
        }
    }

    #[test]
    fn names_come_from_the_url_path_else_the_package() {
        let mut notes = Vec::new();
        let exact = method_name(&scanned(Some("/logistics/get_cap_info")), &mut notes);
        assert_eq!(exact, "logistics.get_cap_info");
        assert!(notes.iter().all(|n| !n.contains("URL path")), "{notes:?}");
        let guessed = method_name(&scanned(None), &mut notes);
        assert_eq!(guessed, "logistics.get.cap.info");
        assert!(notes.iter().any(|n| n.contains("no URL path found")), "{notes:?}");
    }

    #[test]
    fn recursion_missing_classes_and_odd_maps_become_any() {
        let mut notes = Vec::new();
        let method = to_spec_method(&scanned(None), "logistics.x".into(), Origin::SdkJava, Some("v1"), &mut notes);
        let request = method.request.unwrap();
        let node = request[0].fields.as_ref().unwrap();
        assert_eq!((node[0].name.as_str(), node[0].ty.as_str()), ("children", "list<any>"));
        assert_eq!(request[1].ty, "map<i64,list<string>>");
        assert_eq!(request[2].ty, "any");
        assert_eq!(method.response.unwrap(), Body::new("list<any>", None));
        assert_eq!(method.source.as_deref(), Some("v1"));
        for expected in [
            "logistics.x -> request.node.children[]: recursive type `Node`; typed as any",
            "logistics.x -> request.odd: map key type `bool` is not a string or integer; typed as any",
            "logistics.x -> response[]: type `Missing` not found in the SDK package; typed as any",
        ] {
            assert!(notes.iter().any(|n| n == expected), "{expected} not in {notes:?}");
        }
    }

    #[test]
    fn a_package_without_parameters_is_untyped() {
        let mut notes = Vec::new();
        let mut no_params = scanned(None);
        no_params.param_root = None;
        let method = to_spec_method(&no_params, "order.x".into(), Origin::SdkGo, None, &mut notes);
        assert!(method.request.is_none() && method.response.is_none());
        assert_eq!(notes, ["order.x: no parameter class found; imported untyped"]);
    }
}
