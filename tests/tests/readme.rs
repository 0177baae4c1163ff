//! The crate README's tasks compile in a user's crate that has exactly the dependencies
//! its Install block lists: every `rust` snippet becomes a function of a fresh crate whose
//! `[dependencies]` is that block verbatim (doudian-sdk patched to this checkout), checked
//! offline against this workspace's lock file.
//!
//! Doctests alone cannot show this: they see the SDK's dev-dependencies and its features.

use std::path::{Path, PathBuf};
use std::process::Command;

const README: &str = include_str!("../../doudian-sdk/README.md");

/// The bodies of the fenced blocks whose info string `keep` accepts, in order.
fn blocks(markdown: &str, keep: impl Fn(&str) -> bool) -> Vec<&str> {
    let mut found = Vec::new();
    let mut rest = markdown;
    while let Some(open) = rest.find("\n```") {
        let after = &rest[open + 4..];
        let info_end = after.find('\n').expect("fence line ends");
        let info = after[..info_end].trim();
        let body = &after[info_end + 1..];
        let close = body.find("\n```").expect("every fence closes");
        if keep(info) {
            found.push(&body[..close + 1]);
        }
        rest = &body[close + 4..];
    }
    found
}

/// A snippet as a user would paste it: rustdoc's hidden lines shown, the SDK's own
/// feature gates (meaningless in the user's crate) dropped.
fn as_user_code(snippet: &str) -> String {
    snippet
        .lines()
        .filter(|line| !line.trim_start().starts_with("# #[cfg("))
        .map(|line| {
            let trimmed = line.trim_start();
            if trimmed == "#" {
                ""
            } else if let Some(code) = trimmed.strip_prefix("# ") {
                code
            } else {
                line
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("tests/ sits in the workspace").to_path_buf()
}

#[test]
fn the_readme_tasks_compile_with_the_listed_dependencies_only() {
    let install = blocks(README, |info| info == "toml");
    assert_eq!(install.len(), 1, "the README has one Install block");
    let dependencies = install[0];
    assert!(dependencies.starts_with("[dependencies]"), "{dependencies}");

    let snippets: Vec<String> =
        blocks(README, |info| info.starts_with("rust") && !info.contains("ignore") && !info.contains("compile_fail"))
            .into_iter()
            .map(as_user_code)
            .collect();
    assert!(snippets.len() >= 6, "the README's snippets were found: {}", snippets.len());
    for task in ["client.pages(", "for_shop(", "OrderLogisticsAddRequest", "push_endpoint(", "call_json("] {
        assert!(snippets.iter().any(|s| s.contains(task)), "the README shows {task}");
    }

    let root = workspace_root();
    let krate = Path::new(env!("CARGO_TARGET_TMPDIR")).join("readme-tasks");
    std::fs::create_dir_all(krate.join("src")).unwrap();
    let manifest = format!(
        "[package]\nname = \"readme-tasks\"\nversion = \"0.0.0\"\nedition = \"2021\"\npublish = false\n\n\
         [workspace]\n\n{dependencies}\n[patch.crates-io]\ndoudian-sdk = {{ path = {:?} }}\n",
        root.join("doudian-sdk").display().to_string()
    );
    std::fs::write(krate.join("Cargo.toml"), manifest).unwrap();
    std::fs::copy(root.join("Cargo.lock"), krate.join("Cargo.lock")).unwrap();
    let mut lib = String::from("#![allow(unused, clippy::all)]\n");
    for (n, snippet) in snippets.iter().enumerate() {
        if snippet.contains("fn main") {
            lib.push_str(&format!("mod task_{n} {{\n{snippet}\n}}\n"));
        } else {
            lib.push_str(&format!("fn task_{n}() {{\n{snippet}\n}}\n"));
        }
    }
    std::fs::write(krate.join("src/lib.rs"), lib).unwrap();

    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let output = Command::new(cargo)
        .args(["check", "--offline", "--quiet", "--manifest-path"])
        .arg(krate.join("Cargo.toml"))
        .env("CARGO_TARGET_DIR", krate.join("target"))
        .env_remove("RUSTFLAGS")
        .output()
        .expect("cargo runs");
    assert!(
        output.status.success(),
        "the README's snippets do not compile with its dependencies:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
}
