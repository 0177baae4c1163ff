//! Third-party Python clients pinned from PyPI, each in its own virtual environment under
//! Cargo's target directory (`<target>/tmp/pypi-<package>-<version>`). `.ci/run` creates
//! them; a test creates its own when it is missing (`python3 -m venv`, then `pip install
//! <package>==<version>` from PyPI). A machine without python3 fails the test with the
//! reason. Included by path (`#[path = "common/pypi.rs"] mod pypi;`) by the tests that
//! run such a client.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;

/// One venv is made at a time: the tests of one binary run in parallel.
static CREATING: Mutex<()> = Mutex::new(());

/// The python of the venv holding exactly `package==version`, made on first use.
pub fn venv_python(package: &str, version: &str) -> PathBuf {
    let _creating = CREATING.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    let venv = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("pypi-{package}-{version}"));
    let python = venv.join("bin/python");
    let check = format!("import importlib.metadata as m; assert m.version('{package}') == '{version}'");
    let installed = Command::new(&python).args(["-c", &check]).status().is_ok_and(|s| s.success());
    if !installed {
        let status = Command::new("python3").arg("-m").arg("venv").arg(&venv).status().unwrap_or_else(|e| {
            panic!("python3 is needed to run the PyPI client {package} ({e}); .ci/run installs what it needs")
        });
        assert!(status.success(), "python3 -m venv {} failed", venv.display());
        let requirement = format!("{package}=={version}");
        let status = Command::new(&python)
            .args(["-m", "pip", "install", "--quiet", "--disable-pip-version-check", &requirement])
            .status()
            .unwrap_or_else(|e| panic!("cannot run pip in {}: {e}", venv.display()));
        assert!(status.success(), "pip install {requirement} failed");
    }
    python
}
