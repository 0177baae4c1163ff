//! `cargo xtask import-sdk (--go DIR | --java DIR) [--only METHOD[,METHOD]]... [--source TEXT]`.
//!
//! Finds the SDK's `api` directory below DIR (the unzipped console download, however it
//! is wrapped), reads its sources, lays the methods over `api-spec/groups/` (see
//! `codegen::sdk_import`), writes the group files that changed and returns the report,
//! including any error `cargo xtask gen` will then report about the spec.

use crate::spec_files::{json, read_groups, write_if_changed};
use codegen::sdk_import::{self, Language, Report, SdkFile};
use std::collections::VecDeque;
use std::fs;
use std::path::{Path, PathBuf};

pub const USAGE: &str = "cargo xtask import-sdk (--go DIR | --java DIR) [--only METHOD[,METHOD]]... [--source TEXT]";

/// How deep below DIR the `api` directory may be (`src/main/java/com/doudian/open/api`
/// under a wrapping folder is 8).
const SEARCH_DEPTH: usize = 10;

/// The command line of `import-sdk`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    pub language: Language,
    /// The unzipped SDK.
    pub dir: PathBuf,
    /// Only these methods (all when empty).
    pub only: Vec<String>,
    /// Recorded as each entry's `source` (e.g. the SDK's version).
    pub source: Option<String>,
}

impl Options {
    /// Parses the arguments after `import-sdk`.
    pub fn parse(args: &[&str]) -> Result<Options, String> {
        let mut sdk = None;
        let mut only = Vec::new();
        let mut source = None;
        let mut args = args.iter();
        while let Some(&flag) = args.next() {
            let mut value = || args.next().map(|v| v.to_string()).ok_or_else(|| format!("{flag} needs a value"));
            match flag {
                "--go" | "--java" if sdk.is_some() => return Err("give one of --go and --java".to_owned()),
                "--go" => sdk = Some((Language::Go, PathBuf::from(value()?))),
                "--java" => sdk = Some((Language::Java, PathBuf::from(value()?))),
                "--only" => only.extend(value()?.split(',').filter(|m| !m.is_empty()).map(str::to_owned)),
                "--source" => source = Some(value()?),
                other => return Err(format!("unknown argument `{other}`")),
            }
        }
        let (language, dir) = sdk.ok_or("give --go DIR or --java DIR")?;
        Ok(Options { language, dir, only, source })
    }
}

pub fn run(root: &Path, options: &Options) -> Result<Report, String> {
    let api_dir = find_api_dir(&options.dir, options.language)?;
    let files = read_sources(&api_dir, options.language)?;
    let read = sdk_import::read(options.language, &files, options.source.as_deref(), &options.only);
    if read.methods.is_empty() && options.only.is_empty() {
        return Err(format!("{}: no method packages found", api_dir.display()));
    }
    let missing: Vec<&str> =
        options.only.iter().filter(|m| !read.methods.iter().any(|r| &r.name == *m)).map(String::as_str).collect();
    if !missing.is_empty() {
        return Err(format!("not in this SDK: {}", missing.join(", ")));
    }

    let groups_dir = root.join("api-spec/groups");
    let existing = read_groups(&groups_dir)?;
    let paths: Vec<(String, PathBuf)> =
        existing.iter().map(|(path, file)| (file.group.clone(), path.clone())).collect();
    let merged = sdk_import::merge(
        existing.into_iter().map(|(_, file)| file).collect(),
        read,
        options.language,
        options.only.is_empty(),
    );
    let mut report = merged.report;
    for (group, file) in &merged.groups {
        let path = paths
            .iter()
            .find(|(name, _)| name == group)
            .map_or_else(|| groups_dir.join(format!("{group}.json")), |(_, path)| path.clone());
        if write_if_changed(&path, &json(file))? {
            report.written.push(relative(root, &path));
        }
    }
    report.problems = spec_problems(root);
    Ok(report)
}

/// What `cargo xtask gen` would refuse in the spec as it now is.
fn spec_problems(root: &Path) -> Vec<String> {
    match crate::gen::read_spec(root) {
        Ok(input) => match codegen::lower(&input) {
            Ok(_) => Vec::new(),
            Err(errors) => errors.0.iter().map(ToString::to_string).collect(),
        },
        Err(error) => vec![format!("could not read the spec to check it: {error}")],
    }
}

fn relative(root: &Path, path: &Path) -> String {
    path.strip_prefix(root).unwrap_or(path).to_string_lossy().replace('\\', "/")
}

/// The directory holding the method packages: DIR itself, or the first directory below it
/// (breadth first) whose path ends with the language's `api` directory and holds a package.
fn find_api_dir(dir: &Path, language: Language) -> Result<PathBuf, String> {
    if dir.is_file() {
        return Err(format!("{}: give the unzipped directory (unzip the console's SDK zip first)", dir.display()));
    }
    if !dir.is_dir() {
        return Err(format!("{}: no such directory", dir.display()));
    }
    let mut queue = VecDeque::from([(dir.to_path_buf(), 0)]);
    while let Some((candidate, depth)) = queue.pop_front() {
        if (candidate.ends_with(language.api_dir()) || candidate == dir) && holds_a_package(&candidate, language) {
            return Ok(candidate);
        }
        if depth == SEARCH_DEPTH {
            continue;
        }
        for child in subdirectories(&candidate) {
            queue.push_back((child, depth + 1));
        }
    }
    Err(format!(
        "{}: no `{}` directory with method packages found below it; is this the {} SDK?",
        dir.display(),
        language.api_dir(),
        language.name()
    ))
}

/// Whether some child directory looks like a method package of the layout.
fn holds_a_package(dir: &Path, language: Language) -> bool {
    let sides: &[&str] = match language {
        Language::Go => &["request"],
        Language::Java => &["param", "data"],
    };
    subdirectories(dir).iter().any(|package| sides.iter().any(|side| package.join(side).is_dir()))
}

/// Sorted subdirectories, hidden ones and symbolic links left out.
fn subdirectories(dir: &Path) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = fs::read_dir(dir)
        .into_iter()
        .flatten()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
        .filter(|e| !e.file_name().to_string_lossy().starts_with('.'))
        .map(|e| e.path())
        .collect();
    out.sort();
    out
}

/// The language's source files up to two levels below `api_dir`, paths relative to it.
fn read_sources(api_dir: &Path, language: Language) -> Result<Vec<SdkFile>, String> {
    let extension = match language {
        Language::Go => "go",
        Language::Java => "java",
    };
    let mut files = Vec::new();
    let mut dirs = vec![(api_dir.to_path_buf(), 0)];
    while let Some((dir, depth)) = dirs.pop() {
        let mut entries: Vec<PathBuf> = fs::read_dir(&dir)
            .map_err(|e| format!("{}: {e}", dir.display()))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .collect();
        entries.sort();
        for path in entries {
            if path.is_dir() && depth < 2 {
                dirs.push((path, depth + 1));
            } else if path.is_file() && path.extension().is_some_and(|e| e == extension) {
                let bytes = fs::read(&path).map_err(|e| format!("{}: {e}", path.display()))?;
                files.push(SdkFile {
                    path: relative(api_dir, &path),
                    // Generated sources are UTF-8; a stray byte must not stop the import.
                    text: String::from_utf8_lossy(&bytes).into_owned(),
                });
            }
        }
    }
    files.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn fixtures() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
    }

    fn copy_dir(from: &Path, to: &Path) {
        fs::create_dir_all(to).unwrap();
        for entry in fs::read_dir(from).unwrap() {
            let path = entry.unwrap().path();
            let target = to.join(path.file_name().unwrap());
            if path.is_dir() {
                copy_dir(&path, &target);
            } else {
                fs::copy(&path, &target).unwrap();
            }
        }
    }

    /// A throwaway copy of the tiny workspace in `tests/fixtures/sdk-spec`.
    fn scratch(name: &str) -> PathBuf {
        let root = std::env::temp_dir().join(format!("xtask-import-sdk-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&root);
        copy_dir(&fixtures().join("sdk-spec"), &root);
        root
    }

    fn options(language: Language) -> Options {
        let dir = match language {
            Language::Go => fixtures().join("sdk-go"),
            Language::Java => fixtures().join("sdk-java"),
        };
        Options { language, dir, only: Vec::new(), source: None }
    }

    fn read(root: &Path, path: &str) -> String {
        fs::read_to_string(root.join(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
    }

    /// Every file of the spec, by path.
    fn spec_files(root: &Path) -> BTreeMap<String, String> {
        let mut out = BTreeMap::new();
        for dir in ["api-spec", "api-spec/groups"] {
            for entry in fs::read_dir(root.join(dir)).unwrap() {
                let path = entry.unwrap().path();
                if path.is_file() {
                    out.insert(relative(root, &path), fs::read_to_string(&path).unwrap());
                }
            }
        }
        out
    }

    fn names(changed: &[codegen::sdk_import::Changed]) -> Vec<&str> {
        changed.iter().map(|c| c.name.as_str()).collect()
    }

    fn assert_lines(lines: &[String], expected: &[&str]) {
        for line in expected {
            assert!(lines.iter().any(|l| l == line), "`{line}` not in {lines:#?}");
        }
    }

    /// The group files of a Go import are `tests/fixtures/expected/sdk-go/*.json`
    /// (`UPDATE_SNAPSHOTS=1` rewrites them after an intended change).
    #[test]
    fn go_import_adds_replaces_and_keeps_hand_written_entries() {
        let root = scratch("go");
        let before = spec_files(&root);
        let report = run(&root, &options(Language::Go)).unwrap();

        assert_eq!(report.sdk_methods, 3);
        assert_eq!(report.new, ["sendHome.order.acceptOrder"]);
        assert_eq!(names(&report.changed), ["order.searchList"]);
        assert_lines(
            &report.changed[0].differences,
            &[
                "origin: catalog -> sdk-go",
                "+ request.combine_status: list<object> (2 fields inside)",
                "+ request.tags: map<string,string>",
                "- request.product",
                "response.shop_order_list[].order_id: type i64 -> string",
                "+ response.shop_order_list[].post_tel: string, sensitive",
            ],
        );
        assert!(report.unchanged.is_empty());
        assert_eq!(names(&report.kept_hand_written), ["token.create"]);
        assert_lines(
            &report.kept_hand_written[0].differences,
            &["request.code: required false -> true", "+ response.refresh_token: string, sensitive"],
        );
        assert_lines(
            &report.notes,
            &["order.searchList -> request.deadline: type `time.Time` not understood; typed as any"],
        );
        assert_eq!(report.written, ["api-spec/groups/order.json", "api-spec/groups/sendHome.json"]);
        assert!(report.problems.is_empty(), "{:?}", report.problems);

        let expected = fixtures().join("expected/sdk-go");
        for file in ["order.json", "sendHome.json"] {
            let actual = read(&root, &format!("api-spec/groups/{file}"));
            if std::env::var_os("UPDATE_SNAPSHOTS").is_some() {
                fs::create_dir_all(&expected).unwrap();
                fs::write(expected.join(file), &actual).unwrap();
            }
            assert_eq!(actual, read(&expected, file), "{file} (UPDATE_SNAPSHOTS=1 accepts an intended change)");
        }
        // The hand-written entries and the overrides are as they were, byte for byte.
        let after = spec_files(&root);
        for path in ["api-spec/groups/token.json", "api-spec/overrides.json", "api-spec/messages.json"] {
            assert_eq!(after[path], before[path], "{path}");
        }
        let order: serde_json::Value = serde_json::from_str(&after["api-spec/groups/order.json"]).unwrap();
        let before_order: serde_json::Value = serde_json::from_str(&before["api-spec/groups/order.json"]).unwrap();
        assert_eq!(order["methods"][0], before_order["methods"][0], "order.handMade is kept");
        fs::remove_dir_all(&root).unwrap();
    }

    #[test]
    fn importing_the_same_sdk_again_changes_nothing() {
        for language in [Language::Go, Language::Java] {
            let root = scratch(&format!("again-{}", language.name()));
            run(&root, &options(language)).unwrap();
            let before = spec_files(&root);
            let report = run(&root, &options(language)).unwrap();
            assert!(report.nothing_changed());
            assert!(report.written.is_empty());
            assert_eq!(report.unchanged, ["order.searchList", "sendHome.order.acceptOrder"]);
            assert_eq!(names(&report.kept_hand_written), ["token.create"]);
            let text = report.to_string();
            assert!(
                text.ends_with("nothing changed: the spec already has what this SDK says (0 files written)"),
                "{text}"
            );
            assert_eq!(spec_files(&root), before);
            fs::remove_dir_all(&root).unwrap();
        }
    }

    /// Drops the keys only one of the SDKs has, to compare what both say about the API.
    fn without_origin_and_examples(value: &mut serde_json::Value) {
        match value {
            serde_json::Value::Object(map) => {
                map.remove("origin");
                map.remove("example");
                map.values_mut().for_each(without_origin_and_examples);
            }
            serde_json::Value::Array(items) => items.iter_mut().for_each(without_origin_and_examples),
            _ => {}
        }
    }

    #[test]
    fn java_sdk_gives_the_same_api_as_go_plus_examples() {
        let (go, java) = (scratch("same-go"), scratch("same-java"));
        run(&go, &options(Language::Go)).unwrap();
        let report = run(&java, &options(Language::Java)).unwrap();
        assert_lines(
            &report.notes,
            &["order.searchList -> request.deadline: type `java.util.Date` not understood; typed as any"],
        );
        for file in ["api-spec/groups/order.json", "api-spec/groups/sendHome.json"] {
            let mut a: serde_json::Value = serde_json::from_str(&read(&go, file)).unwrap();
            let mut b: serde_json::Value = serde_json::from_str(&read(&java, file)).unwrap();
            without_origin_and_examples(&mut a);
            without_origin_and_examples(&mut b);
            assert_eq!(a, b, "{file}");
        }
        let order: serde_json::Value = serde_json::from_str(&read(&java, "api-spec/groups/order.json")).unwrap();
        let search = &order["methods"][1];
        assert_eq!(search["origin"], "sdk-java");
        let page = search["request"].as_array().unwrap().iter().find(|f| f["name"] == "page").unwrap();
        assert_eq!((&page["example"], &page["required"]), (&serde_json::json!("0"), &serde_json::json!(true)));
        fs::remove_dir_all(&go).unwrap();
        fs::remove_dir_all(&java).unwrap();
    }

    #[test]
    fn a_java_import_takes_over_go_entries() {
        let root = scratch("takeover");
        run(&root, &options(Language::Go)).unwrap();
        let report = run(&root, &options(Language::Java)).unwrap();
        assert_eq!(names(&report.changed), ["order.searchList", "sendHome.order.acceptOrder"]);
        for changed in &report.changed {
            assert_eq!(changed.differences[0], "origin: sdk-go -> sdk-java", "{changed:?}");
            assert!(changed.differences[1].starts_with("examples differ at "), "{changed:?}");
        }
        fs::remove_dir_all(&root).unwrap();
    }

    #[test]
    fn the_imported_spec_generates_code() {
        let root = scratch("gen");
        run(&root, &options(Language::Go)).unwrap();
        crate::gen::run(&root, crate::gen::Mode::Write).unwrap();
        crate::gen::run(&root, crate::gen::Mode::Check).unwrap();
        let send_home = read(&root, "doudian-sdk/src/api/send_home/order_accept_order.rs");
        assert!(send_home.contains("pub struct SendHomeOrderAcceptOrderRequest"), "{send_home}");
        let order = read(&root, "doudian-sdk/src/api/order/search_list.rs");
        assert!(order.contains("pub shop_order_id:"), "the override's rust_name applies");
        fs::remove_dir_all(&root).unwrap();
    }

    #[test]
    fn overrides_that_no_longer_fit_are_reported() {
        let root = scratch("stale-override");
        let overrides = read(&root, "api-spec/overrides.json").replace(
            r#""response.shop_order_list[].order_id": { "rust_name": "shop_order_id" }"#,
            r#""response.shop_order_list[].order_id": { "rust_name": "shop_order_id" }, "request.product": { "rust_name": "product_text" }"#,
        );
        fs::write(root.join("api-spec/overrides.json"), &overrides).unwrap();
        let report = run(&root, &options(Language::Go)).unwrap();
        assert_eq!(
            report.problems,
            ["api-spec/overrides.json: methods.order.searchList.fields.request.product: override for a field the spec does not have"]
        );
        assert!(report.to_string().contains("problems `cargo xtask gen` will report (1); fix them in overrides.json:"));
        assert_eq!(read(&root, "api-spec/overrides.json"), overrides, "the importer never writes overrides.json");
        fs::remove_dir_all(&root).unwrap();
    }

    #[test]
    fn only_imports_the_named_methods() {
        let root = scratch("only");
        let order = read(&root, "api-spec/groups/order.json");
        let only = Options { only: vec!["sendHome.order.acceptOrder".into()], ..options(Language::Go) };
        let report = run(&root, &only).unwrap();
        assert_eq!(
            (report.sdk_methods, report.new.as_slice()),
            (1, ["sendHome.order.acceptOrder".to_owned()].as_slice())
        );
        assert!(report.changed.is_empty() && report.kept_hand_written.is_empty());
        assert!(report.notes.iter().all(|n| !n.contains("order.searchList")), "{:?}", report.notes);
        assert_eq!(read(&root, "api-spec/groups/order.json"), order);
        let unknown = Options { only: vec!["order.nope".into()], ..options(Language::Go) };
        assert_eq!(run(&root, &unknown).unwrap_err(), "not in this SDK: order.nope");
        fs::remove_dir_all(&root).unwrap();
    }

    #[test]
    fn arguments() {
        assert_eq!(
            Options::parse(&["--java", "sdk", "--only", "a.b,c.d", "--only", "e.f", "--source", "v1.2"]).unwrap(),
            Options {
                language: Language::Java,
                dir: PathBuf::from("sdk"),
                only: vec!["a.b".into(), "c.d".into(), "e.f".into()],
                source: Some("v1.2".into()),
            }
        );
        for (args, error) in [
            (&[][..], "give --go DIR or --java DIR"),
            (&["--go", "a", "--java", "b"][..], "give one of --go and --java"),
            (&["--go"][..], "--go needs a value"),
            (&["--go", "a", "--zip"][..], "unknown argument `--zip`"),
        ] {
            assert_eq!(Options::parse(args).unwrap_err(), error, "{args:?}");
        }
    }

    #[test]
    fn the_sdk_directory_is_found_or_explained() {
        let java = find_api_dir(&fixtures().join("sdk-java"), Language::Java).unwrap();
        assert!(java.ends_with("src/main/java/com/doudian/open/api"), "{}", java.display());
        let go_api = fixtures().join("sdk-go/api");
        assert_eq!(find_api_dir(&go_api, Language::Go).unwrap(), go_api);
        let wrong = find_api_dir(&fixtures().join("sdk-java"), Language::Go).unwrap_err();
        assert!(
            wrong.ends_with("no `api` directory with method packages found below it; is this the Go SDK?"),
            "{wrong}"
        );
        let zip = find_api_dir(&fixtures().join("sdk-go/README.md"), Language::Go).unwrap_err();
        assert!(zip.contains("unzip the console's SDK zip first"), "{zip}");
        let missing = find_api_dir(&fixtures().join("nowhere"), Language::Go).unwrap_err();
        assert!(missing.ends_with("no such directory"), "{missing}");
    }
}
