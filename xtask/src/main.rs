//! `cargo xtask`: the only writer of generated files.
//!
//! * `cargo xtask gen` — regenerates `doudian-sdk/src/api/` and the features region of
//!   `doudian-sdk/Cargo.toml` from `api-spec/`; writes only changed files, deletes stale ones.
//! * `cargo xtask gen --check` — writes nothing; exits 1 listing what differs.
//! * `cargo xtask import-catalog <catalog.json>` — (re)imports the platform catalog into
//!   `api-spec/` (hand-written entries and `overrides.json` are kept).
//! * `cargo xtask import-sdk --go DIR` / `--java DIR` — adds or updates methods from the
//!   official SDK the console hands out (unzipped into DIR); `--only METHOD` limits it to
//!   some methods, `--source TEXT` records where the entries came from. Prints what is new,
//!   changed and unchanged; hand-written entries and `overrides.json` are kept.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

mod gen;
mod import;
mod import_sdk;
mod spec_files;
mod stamp;

fn usage() -> String {
    format!(
        "usage: cargo xtask gen [--check]\n       cargo xtask import-catalog <catalog.json>\n       {}",
        import_sdk::USAGE
    )
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let root = workspace_root();
    let result = match args.iter().map(String::as_str).collect::<Vec<_>>().as_slice() {
        ["gen"] => gen::run(&root, gen::Mode::Write),
        ["gen", "--check"] => gen::run(&root, gen::Mode::Check),
        ["import-catalog", path] => import::run(&root, Path::new(path)),
        ["import-sdk", rest @ ..] => import_sdk::Options::parse(rest)
            .map_err(|e| format!("{e}\nusage: {}", import_sdk::USAGE))
            .and_then(|options| import_sdk::run(&root, &options))
            .map(|report| println!("{report}")),
        _ => Err(usage()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("{message}");
            ExitCode::FAILURE
        }
    }
}

/// The workspace root: the parent of this crate's directory. Read when run (`cargo run`
/// sets it), so that a binary built in another copy of the checkout works on this one.
fn workspace_root() -> PathBuf {
    let manifest_dir = std::env::var_os("CARGO_MANIFEST_DIR").map(PathBuf::from);
    let manifest_dir = manifest_dir.unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")));
    manifest_dir.parent().expect("xtask lives in the workspace").to_path_buf()
}
