//! The baseline build: a commit's tree exported under the target dir, with this harness as
//! its bench, built by cargo (cached across runs).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// This harness, file by file: written into the baseline's tree so that both builds run it.
const HARNESS: [(&str, &str); 5] = [
    ("main.rs", include_str!("main.rs")),
    ("worker.rs", include_str!("worker.rs")),
    ("driver.rs", include_str!("driver.rs")),
    ("baseline.rs", include_str!("baseline.rs")),
    ("report.rs", include_str!("report.rs")),
];
/// The harness's directory in a tree of the workspace.
const HARNESS_DIR: &str = "doudian-cli/benches/cpu_per_call";

/// The baseline's executable: exports `commit`'s tree under the target dir (once), puts
/// this harness in it and builds its bench (cargo reuses the earlier build).
pub fn prepare(commit: &str) -> Result<PathBuf, String> {
    let repository = Path::new(env!("CARGO_MANIFEST_DIR")).parent().ok_or("no workspace above doudian-cli")?;
    let sha = run_git(repository, &["rev-parse", "--verify", "--quiet", &format!("{commit}^{{commit}}")])
        .map_err(|e| format!("the baseline `{commit}` is not a commit of {}: {e}", repository.display()))?;
    // <target>/<profile>/deps/cpu_per_call-<hash>
    let executable = std::env::current_exe().map_err(|e| format!("this executable's path: {e}"))?;
    let target = executable.ancestors().nth(3).ok_or("no target dir above this executable")?;
    let root = target.join("bench-baseline");
    let tree = root.join(&sha);
    let exported = tree.join(".bench-baseline-exported");
    if !exported.exists() {
        eprintln!("cpu_per_call: exporting {commit} ({sha}) into {}", tree.display());
        if tree.exists() {
            std::fs::remove_dir_all(&tree).map_err(|e| format!("{}: {e}", tree.display()))?;
        }
        std::fs::create_dir_all(&tree).map_err(|e| format!("{}: {e}", tree.display()))?;
        let archive = root.join(format!("{sha}.tar"));
        run_git(repository, &["archive", "--format=tar", "-o", &archive.to_string_lossy(), &sha])
            .map_err(|e| format!("git archive of {sha}: {e}"))?;
        let untar = Command::new("tar").arg("-xf").arg(&archive).arg("-C").arg(&tree).status();
        let _ = std::fs::remove_file(&archive);
        match untar {
            Ok(status) if status.success() => {}
            Ok(status) => return Err(format!("tar -xf {} failed: {status}", archive.display())),
            Err(e) => return Err(format!("tar does not run: {e}")),
        }
        std::fs::write(&exported, &sha).map_err(|e| format!("{}: {e}", exported.display()))?;
    }
    let benches = tree.join("doudian-cli/benches");
    if !benches.is_dir() {
        return Err(format!("the baseline {sha} has no {}", benches.display()));
    }
    // The harness is a directory now; cargo refuses a bench found both as a file and a directory.
    let single_file = benches.join("cpu_per_call.rs");
    if single_file.exists() {
        std::fs::remove_file(&single_file).map_err(|e| format!("{}: {e}", single_file.display()))?;
    }
    let harness = tree.join(HARNESS_DIR);
    std::fs::create_dir_all(&harness).map_err(|e| format!("{}: {e}", harness.display()))?;
    for (name, source) in HARNESS {
        let path = harness.join(name);
        // Written only when it differs: unchanged files keep cargo's build fresh.
        if std::fs::read_to_string(&path).ok().as_deref() != Some(source) {
            std::fs::write(&path, source).map_err(|e| format!("{}: {e}", path.display()))?;
        }
    }
    eprintln!("cpu_per_call: building the baseline {commit} in {} (cached after the first run)", tree.display());
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut build = Command::new(cargo);
    build
        .args(["bench", "--no-run", "--locked", "-p", "doudian-cli", "--bench", "cpu_per_call"])
        .arg("--message-format=json-render-diagnostics")
        .current_dir(&tree)
        .env("CARGO_TARGET_DIR", root.join("target"))
        .env("CARGO_INCREMENTAL", "0")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    // What cargo set for this bench describes this package, not the build to run.
    for (name, _) in std::env::vars_os() {
        let name = name.to_string_lossy();
        if name.starts_with("CARGO_PKG_")
            || ["CARGO_MANIFEST_DIR", "CARGO_MANIFEST_PATH", "CARGO_CRATE_NAME", "CARGO_PRIMARY_PACKAGE", "OUT_DIR"]
                .contains(&name.as_ref())
        {
            build.env_remove(name.as_ref());
        }
    }
    let output = build.output().map_err(|e| format!("cargo does not run: {e}"))?;
    if !output.status.success() {
        return Err(format!("the build of the baseline {commit} in {} failed: {}", tree.display(), output.status));
    }
    // The bench's executable, from cargo's JSON messages.
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .filter(|message| message["reason"] == "compiler-artifact" && message["target"]["name"] == "cpu_per_call")
        .find_map(|message| message["executable"].as_str().map(PathBuf::from))
        .ok_or(format!("the build of the baseline {commit} named no cpu_per_call executable"))
}

/// `git -C <repository> <args>`'s trimmed stdout, or its error.
fn run_git(repository: &Path, args: &[&str]) -> Result<String, String> {
    let output = Command::new("git")
        .arg("-C")
        .arg(repository)
        .args(args)
        .output()
        .map_err(|e| format!("git does not run: {e}"))?;
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        return Err(format!("git {} failed ({}): {}", args.join(" "), output.status, stderr.trim()));
    }
    Ok(String::from_utf8_lossy(&output.stdout).trim().to_owned())
}
