//! Reading and writing `api-spec/` files, shared by the importers.

use codegen::spec::GroupFile;
use std::fs;
use std::path::{Path, PathBuf};

/// A spec value as its file text: pretty JSON with a final newline.
pub fn json<T: serde::Serialize>(value: &T) -> String {
    let mut text = serde_json::to_string_pretty(value).expect("spec types serialise");
    text.push('\n');
    text
}

/// Every `groups/*.json` file, parsed, sorted by path. The spec must parse: importers carry
/// its hand-written entries over.
pub fn read_groups(groups_dir: &Path) -> Result<Vec<(PathBuf, GroupFile)>, String> {
    let mut paths: Vec<PathBuf> = match fs::read_dir(groups_dir) {
        Ok(entries) => entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|e| e == "json"))
            .collect(),
        Err(_) => Vec::new(),
    };
    paths.sort();
    paths
        .into_iter()
        .map(|path| {
            let text = fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
            let file = codegen::SpecFile { path: path.display().to_string(), text };
            let group = codegen::parse::<GroupFile>(&file).map_err(|e| e.to_string())?;
            Ok((path, group))
        })
        .collect()
}

/// Writes `text` unless the file already holds it; returns whether it wrote.
pub fn write_if_changed(path: &Path, text: &str) -> Result<bool, String> {
    if fs::read_to_string(path).ok().as_deref() == Some(text) {
        return Ok(false);
    }
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent).map_err(|e| format!("{}: {e}", parent.display()))?;
    }
    fs::write(path, text).map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(true)
}
