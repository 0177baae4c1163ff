//! Generator snapshots: each `fixtures/<name>/spec` is generated and compared with
//! `fixtures/<name>/expected`. The expected Rust files are compiled against the real SDK
//! core by `doudian-sdk/tests/generated_fixtures.rs`.
//!
//! After an intended change: `UPDATE_SNAPSHOTS=1 cargo test -p codegen --test snapshots`.

use std::fs;
use std::path::{Path, PathBuf};

fn spec_file(root: &Path, path: PathBuf) -> codegen::SpecFile {
    let text = fs::read_to_string(&path).unwrap();
    let relative = path.strip_prefix(root).unwrap().to_string_lossy().replace('\\', "/");
    codegen::SpecFile { path: relative, text }
}

fn input(fixture: &Path) -> codegen::Input {
    let spec = fixture.join("spec");
    let mut groups: Vec<PathBuf> = fs::read_dir(spec.join("groups")).unwrap().map(|e| e.unwrap().path()).collect();
    groups.sort();
    codegen::Input {
        groups: groups.into_iter().map(|p| spec_file(&spec, p)).collect(),
        messages: spec_file(&spec, spec.join("messages.json")),
        overrides: spec_file(&spec, spec.join("overrides.json")),
        codes: spec_file(&spec, spec.join("codes.json")),
        shapes: spec_file(&spec, spec.join("shapes.json")),
        titles: spec.join("titles.json").exists().then(|| spec_file(&spec, spec.join("titles.json"))),
    }
}

/// Files below `dir`, at any depth.
fn count_files(dir: &Path) -> usize {
    fs::read_dir(dir)
        .map(|entries| {
            entries.filter_map(|e| e.ok().map(|e| e.path())).map(|p| if p.is_dir() { count_files(&p) } else { 1 }).sum()
        })
        .unwrap_or(0)
}

#[test]
fn fixtures_match_their_snapshots() {
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let update = std::env::var_os("UPDATE_SNAPSHOTS").is_some();
    let mut stale = Vec::new();
    let mut names: Vec<PathBuf> = fs::read_dir(&fixtures).unwrap().map(|e| e.unwrap().path()).collect();
    names.sort();
    assert!(!names.is_empty());
    for fixture in names {
        let output = codegen::generate(&input(&fixture)).unwrap_or_else(|e| panic!("{}: {e}", fixture.display()));
        let expected_dir = fixture.join("expected");
        let mut files = output.files.clone();
        files.extend(output.data.clone());
        files.insert("features.toml".to_owned(), output.features.clone());
        if update {
            let _ = fs::remove_dir_all(&expected_dir);
            fs::create_dir_all(&expected_dir).unwrap();
        }
        for (name, text) in &files {
            let path = expected_dir.join(name);
            if update {
                fs::create_dir_all(path.parent().unwrap()).unwrap();
                fs::write(&path, text).unwrap();
            } else if fs::read_to_string(&path).ok().as_deref() != Some(text.as_str()) {
                stale.push(path.display().to_string());
            }
        }
        if !update {
            let expected_count = count_files(&expected_dir);
            if expected_count != files.len() {
                stale.push(format!(
                    "{}: {} files expected, {} generated",
                    expected_dir.display(),
                    expected_count,
                    files.len()
                ));
            }
        }
        // Deterministic: a second run gives the same bytes.
        let again = codegen::generate(&input(&fixture)).unwrap();
        assert_eq!(again, output, "{}: generation is not deterministic", fixture.display());
    }
    assert!(
        stale.is_empty(),
        "snapshots differ (UPDATE_SNAPSHOTS=1 cargo test -p codegen --test snapshots to accept):\n{}",
        stale.join("\n")
    );
}
