//! `cargo xtask gen [--check]`.

use codegen::{Input, SpecFile};
use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// Where the generated API lives, relative to the workspace root.
pub const API_DIR: &str = "doudian-sdk/src/api";
/// Where the generated sample data lives: the gateway answers with it and ships it.
pub const DATA_DIR: &str = "doudian-gateway/data";
/// The directories owned wholly by the generator: files it does not produce are deleted.
const OWNED_DIRS: [&str; 2] = [API_DIR, DATA_DIR];
/// The manifest with the generated features region.
pub const MANIFEST: &str = "doudian-sdk/Cargo.toml";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Write,
    Check,
}

/// What differs between the generated output and the disk.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Diff {
    /// Path (relative to the root) -> new content, for files that differ.
    pub changed: BTreeMap<String, String>,
    /// Files that should exist and do not.
    pub missing: BTreeMap<String, String>,
    /// Generated-directory files the spec no longer produces.
    pub extra: Vec<String>,
}

impl Diff {
    pub fn is_empty(&self) -> bool {
        self.changed.is_empty() && self.missing.is_empty() && self.extra.is_empty()
    }

    /// The `--check` report.
    pub fn report(&self) -> String {
        let mut out = String::from("generated code is stale:\n");
        for path in self.changed.keys() {
            out.push_str(&format!("  changed: {path}\n"));
        }
        for path in self.missing.keys() {
            out.push_str(&format!("  missing: {path}\n"));
        }
        for path in &self.extra {
            out.push_str(&format!("  extra:   {path}\n"));
        }
        out.push_str("run `cargo xtask gen` and commit");
        out
    }
}

fn read(path: &Path) -> Result<String, String> {
    fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))
}

fn relative(root: &Path, path: &Path) -> String {
    path.strip_prefix(root).unwrap_or(path).to_string_lossy().replace('\\', "/")
}

/// Reads `api-spec/`.
pub fn read_spec(root: &Path) -> Result<Input, String> {
    let spec = root.join("api-spec");
    let mut group_paths: Vec<PathBuf> = fs::read_dir(spec.join("groups"))
        .map_err(|e| format!("{}: {e}", spec.join("groups").display()))?
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    group_paths.sort();
    let file =
        |path: &Path| -> Result<SpecFile, String> { Ok(SpecFile { path: relative(root, path), text: read(path)? }) };
    Ok(Input {
        groups: group_paths.iter().map(|p| file(p)).collect::<Result<_, _>>()?,
        messages: file(&spec.join("messages.json"))?,
        overrides: file(&spec.join("overrides.json"))?,
        codes: file(&spec.join("codes.json"))?,
        shapes: file(&spec.join("shapes.json"))?,
        // Optional data: absent, no method has a Chinese title in its schema.
        titles: match spec.join("titles.json") {
            path if path.exists() => Some(file(&path)?),
            _ => None,
        },
    })
}

/// Generates and compares with the disk; writes nothing.
#[cfg(test)]
pub fn diff(root: &Path) -> Result<Diff, String> {
    Ok(compare(root, &desired(root, &read_spec(root)?)?))
}

/// Every generated file (path relative to the root -> content), the manifest included.
fn desired(root: &Path, input: &Input) -> Result<BTreeMap<String, String>, String> {
    let output =
        codegen::generate(input).map_err(|e| format!("{e}\nerror: the spec is invalid; nothing was written"))?;
    let mut desired: BTreeMap<String, String> =
        output.files.into_iter().map(|(name, text)| (format!("{API_DIR}/{name}"), text)).collect();
    desired.extend(output.data.into_iter().map(|(name, text)| (format!("{DATA_DIR}/{name}"), text)));
    let manifest = read(&root.join(MANIFEST))?;
    let spliced = codegen::splice_features(&manifest, &output.features).ok_or_else(|| {
        format!("{MANIFEST}: missing the `{}` / `{}` markers", codegen::FEATURES_BEGIN, codegen::FEATURES_END)
    })?;
    desired.insert(MANIFEST.to_owned(), spliced);
    Ok(desired)
}

/// What differs between `desired` and the disk.
fn compare(root: &Path, desired: &BTreeMap<String, String>) -> Diff {
    let mut diff = Diff::default();
    for (path, text) in desired.iter() {
        match fs::read_to_string(root.join(path)) {
            Ok(current) if current == *text => {}
            Ok(_) => {
                diff.changed.insert(path.clone(), text.clone());
            }
            Err(_) => {
                diff.missing.insert(path.clone(), text.clone());
            }
        }
    }
    let mut present = Vec::new();
    for dir in OWNED_DIRS {
        files_below(&root.join(dir), &mut present);
    }
    diff.extra = present.iter().map(|p| relative(root, p)).filter(|p| !desired.contains_key(p)).collect();
    diff.extra.sort();
    diff
}

/// The generator's inputs for the warm check: its own binary and every spec file.
fn stamp_inputs<'a>(generator: &'a [u8], input: &'a Input) -> impl Iterator<Item = &'a [u8]> {
    let files = input.groups.iter().chain([&input.messages, &input.overrides, &input.codes, &input.shapes]);
    // An added or removed titles file changes the stamp too (its path is hashed with it).
    let files = files.chain(input.titles.as_ref());
    std::iter::once(generator).chain(files.flat_map(|f| [f.path.as_bytes(), f.text.as_bytes()]))
}

/// The generated directories' files and the manifest, as they are on disk.
fn generated_on_disk(root: &Path) -> Vec<(String, Vec<u8>)> {
    let mut paths = Vec::new();
    for dir in OWNED_DIRS {
        files_below(&root.join(dir), &mut paths);
    }
    paths.push(root.join(MANIFEST));
    paths.iter().filter_map(|p| Some((relative(root, p), fs::read(p).ok()?))).collect()
}

/// Whether the last full run's stamp shows the disk up to date without generating.
fn warm_up_to_date(root: &Path, input: &Input) -> bool {
    let (Some(path), Some(generator)) = (crate::stamp::path(root), crate::stamp::generator()) else { return false };
    let Some(stamp) = fs::read_to_string(path).ok().and_then(|text| crate::stamp::Stamp::from_text(&text)) else {
        return false;
    };
    stamp.matches(stamp_inputs(&generator, input), || generated_on_disk(root))
}

/// Records that the disk now holds what this generator makes of `input` (best effort: it
/// is only a cache).
fn save_stamp(root: &Path, input: &Input, desired: &BTreeMap<String, String>) {
    if let (Some(path), Some(generator)) = (crate::stamp::path(root), crate::stamp::generator()) {
        let stamp = crate::stamp::Stamp::new(stamp_inputs(&generator, input), desired);
        let _ = fs::write(path, stamp.to_text());
    }
}

/// Removes the directories below `dir` that hold no file (left by deleted methods).
fn remove_empty_dirs(dir: &Path) {
    let Ok(entries) = fs::read_dir(dir) else { return };
    for path in entries.filter_map(|e| e.ok().map(|e| e.path())).filter(|p| p.is_dir()) {
        remove_empty_dirs(&path);
        let _ = fs::remove_dir(&path); // fails, as it should, when something is left inside
    }
}

/// Every file below `dir`, recursively (nothing when it does not exist).
fn files_below(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = fs::read_dir(dir) else { return };
    for path in entries.filter_map(|e| e.ok().map(|e| e.path())) {
        if path.is_dir() {
            files_below(&path, out);
        } else {
            out.push(path);
        }
    }
}

pub fn run(root: &Path, mode: Mode) -> Result<(), String> {
    let started = Instant::now();
    let input = read_spec(root)?;
    if mode == Mode::Check && warm_up_to_date(root, &input) {
        eprintln!(
            "generated code is up to date ({:.0?}; generator and spec as at the last full check)",
            started.elapsed()
        );
        return Ok(());
    }
    let desired = desired(root, &input)?;
    let diff = compare(root, &desired);
    match mode {
        Mode::Check if diff.is_empty() => {
            save_stamp(root, &input, &desired);
            eprintln!("generated code is up to date ({:.0?})", started.elapsed());
            Ok(())
        }
        Mode::Check => Err(diff.report()),
        Mode::Write => {
            for (path, text) in diff.changed.iter().chain(diff.missing.iter()) {
                let full = root.join(path);
                if let Some(parent) = full.parent() {
                    fs::create_dir_all(parent).map_err(|e| format!("{}: {e}", parent.display()))?;
                }
                fs::write(&full, text).map_err(|e| format!("{path}: {e}"))?;
                eprintln!("wrote   {path}");
            }
            for path in &diff.extra {
                fs::remove_file(root.join(path)).map_err(|e| format!("{path}: {e}"))?;
                eprintln!("deleted {path}");
            }
            for dir in OWNED_DIRS {
                remove_empty_dirs(&root.join(dir));
            }
            save_stamp(root, &input, &desired);
            let count = diff.changed.len() + diff.missing.len() + diff.extra.len();
            eprintln!("generated in {:.0?} ({count} files changed)", started.elapsed());
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Plain `cargo test` catches generated code that does not match the spec.
    #[test]
    fn generated_code_is_fresh() {
        let root = crate::workspace_root();
        let diff = diff(&root).unwrap();
        assert!(diff.is_empty(), "{}", diff.report());
    }

    /// A throwaway workspace with a tiny spec.
    fn scratch(name: &str, group: &str) -> PathBuf {
        let root = std::env::temp_dir().join(format!("xtask-gen-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&root);
        fs::create_dir_all(root.join("api-spec/groups")).unwrap();
        fs::create_dir_all(root.join("doudian-sdk")).unwrap();
        fs::write(root.join("api-spec/groups/demo.json"), group).unwrap();
        fs::write(root.join("api-spec/messages.json"), r#"{"messages": []}"#).unwrap();
        fs::write(root.join("api-spec/overrides.json"), "{}").unwrap();
        fs::write(root.join("api-spec/codes.json"), r#"{"code_sets": []}"#).unwrap();
        fs::write(root.join("api-spec/shapes.json"), r#"{"shapes": []}"#).unwrap();
        fs::write(
            root.join(MANIFEST),
            "[package]\nname = \"x\"\n\n# BEGIN GENERATED FEATURES (generated)\n[features]\n# END GENERATED FEATURES\n",
        )
        .unwrap();
        root
    }

    const GOOD: &str =
        r#"{"group": "demo", "methods": [{"name": "demo.get", "request": [], "response": {"type": "i64"}}]}"#;

    #[test]
    fn bad_spec_writes_nothing() {
        let root = scratch(
            "bad",
            r#"{"group": "demo", "methods": [{"name": "demo.get", "request": [{"name": "a", "type": "i65"}], "response": {"type": "i64"}}]}"#,
        );
        let error = run(&root, Mode::Write).unwrap_err();
        assert!(error.contains("api-spec/groups/demo.json: demo.get -> request.a: unknown type `i65`"), "{error}");
        assert!(error.contains("nothing was written"), "{error}");
        assert!(!root.join(API_DIR).exists());
        assert!(!fs::read_to_string(root.join(MANIFEST)).unwrap().contains("demo = []"));
        fs::remove_dir_all(&root).unwrap();
    }

    #[test]
    fn write_then_check_lists_changed_missing_and_extra_files() {
        let root = scratch("cycle", GOOD);
        assert!(diff(&root).unwrap().missing.contains_key("doudian-sdk/src/api/demo/get.rs"));
        run(&root, Mode::Write).unwrap();
        run(&root, Mode::Check).unwrap();
        assert!(fs::read_to_string(root.join(MANIFEST))
            .unwrap()
            .contains("full = [\"demo\", \"messages\", \"spi\", \"upload\"]\ndemo = []\n"));

        fs::write(root.join(API_DIR).join("demo/get.rs"), "// edited by hand\n").unwrap();
        fs::create_dir_all(root.join(API_DIR).join("gone")).unwrap();
        fs::write(root.join(API_DIR).join("gone/stale.rs"), "// left over\n").unwrap();
        fs::remove_file(root.join(API_DIR).join("messages/mod.rs")).unwrap();
        let report = run(&root, Mode::Check).unwrap_err();
        for line in [
            "changed: doudian-sdk/src/api/demo/get.rs",
            "missing: doudian-sdk/src/api/messages/mod.rs",
            "extra:   doudian-sdk/src/api/gone/stale.rs",
            "run `cargo xtask gen` and commit",
        ] {
            assert!(report.contains(line), "{line} not in {report}");
        }
        run(&root, Mode::Write).unwrap();
        assert!(!root.join(API_DIR).join("gone").exists(), "emptied directories are removed too");
        run(&root, Mode::Check).unwrap();
        fs::remove_dir_all(&root).unwrap();
    }

    #[test]
    fn a_warm_check_still_sees_a_changed_spec() {
        let root = scratch("warm", GOOD);
        run(&root, Mode::Write).unwrap();
        run(&root, Mode::Check).unwrap();
        let stamp = crate::stamp::path(&root).unwrap();
        assert!(stamp.exists(), "a full run leaves a stamp");
        // The same spec with one more method: the stamp no longer matches, the full run reports it.
        let grown = GOOD.replace("\"methods\": [", "\"methods\": [ { \"name\": \"demo.extra\" },");
        assert_ne!(grown, GOOD);
        fs::write(root.join("api-spec/groups/demo.json"), grown).unwrap();
        let report = run(&root, Mode::Check).unwrap_err();
        assert!(report.contains("missing: doudian-sdk/src/api/demo/extra.rs"), "{report}");
        let _ = fs::remove_file(stamp);
        fs::remove_dir_all(&root).unwrap();
    }

    #[test]
    fn generating_twice_gives_identical_bytes() {
        let root = crate::workspace_root();
        let input = read_spec(&root).unwrap();
        let a = codegen::generate(&input).unwrap();
        let b = codegen::generate(&input).unwrap();
        assert_eq!(a, b);
    }
}
