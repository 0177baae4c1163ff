//! `cargo xtask import-catalog <catalog.json>`.

use crate::spec_files::{json, read_groups, write_if_changed};
use codegen::spec::MessagesFile;
use std::fs;
use std::path::Path;

pub fn run(root: &Path, catalog: &Path) -> Result<(), String> {
    let spec = root.join("api-spec");
    let groups_dir = spec.join("groups");
    let catalog_text = fs::read_to_string(catalog).map_err(|e| format!("{}: {e}", catalog.display()))?;

    // The existing spec must parse: hand-written entries are carried over.
    let (existing_paths, existing): (Vec<_>, Vec<_>) = read_groups(&groups_dir)?.into_iter().unzip();
    let messages_path = spec.join("messages.json");
    let existing_messages = match fs::read_to_string(&messages_path) {
        Ok(text) => Some(
            codegen::parse::<MessagesFile>(&codegen::SpecFile { path: messages_path.display().to_string(), text })
                .map_err(|e| e.to_string())?,
        ),
        Err(_) => None,
    };

    let imported = codegen::import::import(&catalog.display().to_string(), &catalog_text, existing, existing_messages)
        .map_err(|e| e.to_string())?;

    let mut written = 0;
    let mut write = |path: &Path, text: String| -> Result<(), String> {
        written += usize::from(write_if_changed(path, &text)?);
        Ok(())
    };
    for (name, group) in &imported.groups {
        write(&groups_dir.join(format!("{name}.json")), json(group))?;
    }
    for path in existing_paths {
        let stem = path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
        if !imported.groups.contains_key(&stem) {
            fs::remove_file(&path).map_err(|e| format!("{}: {e}", path.display()))?;
            eprintln!("deleted {}", path.display());
        }
    }
    write(&messages_path, json(&imported.messages))?;
    let overrides = spec.join("overrides.json");
    if !overrides.exists() {
        write(&overrides, json(&codegen::spec::Overrides::default()))?;
    }
    for note in &imported.notes {
        eprintln!("note: {note}");
    }
    let methods: usize = imported.groups.values().map(|g| g.methods.len()).sum();
    eprintln!(
        "imported {methods} methods in {} groups and {} messages ({written} files changed); now run `cargo xtask gen`",
        imported.groups.len(),
        imported.messages.messages.len()
    );
    Ok(())
}
