//! Official SDK -> spec entries (`cargo xtask import-sdk --go DIR | --java DIR`).
//!
//! The console hands each app an SDK generated from the platform's API definitions, so a
//! new method shows up there first. [`read`] scans the Go or Java sources with small
//! scanners for exactly the generated layouts ([`go`], [`java`], over [`lex`]), turns each
//! method package into a spec method through the shared importer rules
//! ([`crate::heuristics`]), and [`merge`] lays them over the existing group files:
//!
//! * a method the spec lacks is added (`"origin": "sdk-go"` / `"sdk-java"`);
//! * an imported entry (any `origin`) is replaced when it differs, and reported with what
//!   changed; the SDK is newer than the catalog, so it takes over catalog entries too;
//! * a hand-written entry (no `origin`) is kept untouched; `overrides.json` is never read
//!   or written here.
//!
//! Nothing here panics on odd input: what a scanner does not understand becomes `any`
//! and a note in the [`Report`].

mod diff;
mod go;
mod java;
mod lex;
mod merge;
mod model;

pub use merge::{merge, Changed, Merged, Report};

use crate::spec::{Method, Origin};
use std::collections::BTreeMap;

/// One source file of an SDK, with its path below the SDK's `api` directory
/// (`order_searchList/request/order_searchList_request.go`,
/// `order_searchList/param/OrderSearchListParam.java`), `/`-separated.
#[derive(Debug, Clone)]
pub struct SdkFile {
    /// The path below the `api` directory.
    pub path: String,
    /// The file's text.
    pub text: String,
}

/// The language of an SDK.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Language {
    /// `api/<pkg>/request/*.go`, `api/<pkg>/response/*.go`.
    Go,
    /// `com/doudian/open/api/<pkg>/{*.java, param/*.java, data/*.java}`.
    Java,
}

impl Language {
    /// The origin marker of the entries this SDK writes.
    pub fn origin(self) -> Origin {
        match self {
            Language::Go => Origin::SdkGo,
            Language::Java => Origin::SdkJava,
        }
    }

    /// `Go` / `Java`.
    pub fn name(self) -> &'static str {
        match self {
            Language::Go => "Go",
            Language::Java => "Java",
        }
    }

    /// Where the method packages live below the SDK's root directory.
    pub fn api_dir(self) -> &'static str {
        match self {
            Language::Go => "api",
            Language::Java => "com/doudian/open/api",
        }
    }
}

/// The methods read from one SDK.
#[derive(Debug, Clone, Default)]
pub struct Read {
    /// Sorted by name.
    pub methods: Vec<Method>,
    /// What could not be read exactly, per method.
    pub notes: Vec<String>,
}

/// One package's files, by side.
#[derive(Default)]
struct PackageFiles<'a> {
    /// Go `request/`; Java: the package directory itself (request and response classes).
    top_or_request: Vec<&'a str>,
    /// Go `response/`; Java `data/`.
    response_or_data: Vec<&'a str>,
    /// Java `param/`.
    param: Vec<&'a str>,
}

/// Reads an SDK's method packages. Files outside the layout are ignored. `source` is
/// recorded in each entry's `source` (e.g. the SDK's version). With `only` non-empty, just
/// the methods named there are read (and only their notes kept).
pub fn read(language: Language, files: &[SdkFile], source: Option<&str>, only: &[String]) -> Read {
    let extension = match language {
        Language::Go => ".go",
        Language::Java => ".java",
    };
    let mut packages: BTreeMap<&str, PackageFiles> = BTreeMap::new();
    for file in files.iter().filter(|f| f.path.ends_with(extension)) {
        let parts: Vec<&str> = file.path.split('/').collect();
        let (package, side) = match (language, parts.as_slice()) {
            (Language::Go, [package, side @ ("request" | "response"), _]) => (*package, *side),
            (Language::Java, [package, _]) => (*package, "top"),
            (Language::Java, [package, side @ ("param" | "data"), _]) => (*package, *side),
            _ => continue,
        };
        let entry = packages.entry(package).or_default();
        match side {
            "request" | "top" => entry.top_or_request.push(&file.text),
            "param" => entry.param.push(&file.text),
            _ => entry.response_or_data.push(&file.text),
        }
    }

    let mut out = Read::default();
    let mut conventions: BTreeMap<go::Convention, usize> = BTreeMap::new();
    let mut seen: BTreeMap<String, String> = BTreeMap::new();
    for (package, files) in &packages {
        let (scanned, convention) = match language {
            Language::Go => {
                let (scanned, convention) = go::scan_package(package, &files.top_or_request, &files.response_or_data);
                (scanned, Some(convention))
            }
            Language::Java => {
                (java::scan_package(package, &files.top_or_request, &files.param, &files.response_or_data), None)
            }
        };
        let mut name_notes = Vec::new();
        let name = model::method_name(&scanned, &mut name_notes);
        if !only.is_empty() && !only.contains(&name) {
            continue;
        }
        out.notes.extend(name_notes);
        if let Some(first) = seen.get(&name) {
            out.notes.push(format!("{name}: also read from package {first}; the package {package} is ignored"));
            continue;
        }
        seen.insert(name.clone(), package.to_string());
        if let Some(convention) = convention {
            *conventions.entry(convention).or_default() += 1;
        }
        out.methods.push(model::to_spec_method(&scanned, name, language.origin(), source, &mut out.notes));
    }
    if !conventions.is_empty() {
        let count = |c| conventions.get(&c).copied().unwrap_or(0);
        out.notes.push(format!(
            "Go required flags: {} package(s) by the older generator's rule (every tag `omitempty`, required \
             scalars are pointers), {} by the newer one's (no `omitempty`, optional scalars are pointers); \
             lists, maps and objects are optional",
            count(go::Convention::PointerRequired),
            count(go::Convention::PointerOptional),
        ));
    }
    out.methods.sort_by(|a, b| a.name.cmp(&b.name));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(path: &str, text: &str) -> SdkFile {
        SdkFile { path: path.into(), text: text.into() }
    }

    #[test]
    fn packages_are_grouped_by_directory_and_stray_files_ignored() {
        let request = "type ARequest struct {\n\tParam *AParam\n}\nfunc (c *ARequest) GetUrlPath() string{\n\treturn \"/a/b_c\"\n}\ntype AParam struct {\n\tX int64 `json:\"x\"`\n}\n";
        let response = "type AResponse struct {\n\tBase\n\tData *AData `json:\"data\"`\n}\ntype AData struct {\n\tOk bool `json:\"ok\"`\n}\n";
        let files = [
            file("a_b_c/request/a_b_c_request.go", request),
            file("a_b_c/response/a_b_c_response.go", response),
            file("a_b_c/README.md", "not code"),
            file("core/client.go", "package core"),
        ];
        let read = read(Language::Go, &files, None, &[]);
        assert_eq!(read.methods.len(), 1, "{:?}", read.methods);
        let method = &read.methods[0];
        assert_eq!((method.name.as_str(), method.origin), ("a.b_c", Some(Origin::SdkGo)));
        assert!(method.request.as_ref().unwrap()[0].required);
        assert_eq!(method.response.as_ref().unwrap().fields.as_ref().unwrap()[0].ty, "bool");
        assert_eq!(read.notes.len(), 1, "{:?}", read.notes);
        assert!(read.notes[0].contains("0 package(s) by the older generator's rule"), "{:?}", read.notes);
        assert!(read.notes[0].contains("1 by the newer one's"), "{:?}", read.notes);

        let twice = [files[0].clone(), file("a_b_c_v2/request/a_b_c_v2_request.go", request)];
        let read = super::read(Language::Go, &twice, None, &[]);
        assert_eq!(read.methods.len(), 1);
        assert!(read
            .notes
            .contains(&"a.b_c: also read from package a_b_c; the package a_b_c_v2 is ignored".to_owned()));
    }
}
