//! The single JSON file of earlier versions (`{"<key>": <token>, ...}`): read for shops
//! not yet in the directory, and rewritten only to drop a shop that moved there.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use super::lock::{directory_of, io_error, lock_within, remove_if_present, replace_atomically, sync_directory};
use crate::error::Result;
use crate::token::{store_error, StoredToken};

/// The legacy file and its lock (`<file>.lock`, the lock earlier versions took too).
#[derive(Debug, Clone)]
pub(super) struct LegacyFile {
    pub(super) path: PathBuf,
    pub(super) lock: PathBuf,
}

impl LegacyFile {
    pub(super) fn new(path: PathBuf) -> Self {
        let lock = sibling(&path, ".lock");
        LegacyFile { path, lock }
    }

    /// `key`'s token in the legacy file, if the file exists and holds one. Needs no lock:
    /// the file is only ever replaced whole.
    pub(super) fn load(&self, key: &str) -> Result<Option<StoredToken>> {
        Ok(self.read_all()?.remove(key))
    }

    /// Drops `key` from the legacy file (under its lock), deleting the file once it holds
    /// no shop. Nothing to do, and no lock taken, when there is no legacy file.
    pub(super) fn forget(&self, key: &str, patience: Duration) -> Result<()> {
        if !self.exists()? {
            return Ok(());
        }
        let _lock = lock_within(&self.lock, patience)?;
        let mut all = self.read_all()?;
        if all.remove(key).is_none() {
            return Ok(());
        }
        if all.is_empty() {
            remove_if_present(&self.path).map_err(|e| io_error("cannot remove", &self.path, e))?;
            sync_directory(directory_of(&self.path));
            return Ok(());
        }
        let bytes = serde_json::to_vec_pretty(&all).map_err(|e| store_error("cannot encode tokens", e))?;
        replace_atomically(&self.path, &self.unique_temporary(), &bytes)
    }

    /// Removes temporary files that a writer killed mid-write left beside the legacy file;
    /// takes the lock (so that no writer is active) only when there is one.
    pub(super) fn remove_stray_temporaries(&self, patience: Duration) -> Result<()> {
        let prefix = self.temporary_prefix();
        let strays = |dir: &Path| -> Vec<PathBuf> {
            let Ok(entries) = std::fs::read_dir(dir) else { return Vec::new() };
            entries
                .filter_map(|e| e.ok())
                .filter(|e| e.file_name().to_string_lossy().starts_with(&prefix))
                .map(|e| e.path())
                .collect()
        };
        let directory = directory_of(&self.path);
        if strays(directory).is_empty() {
            return Ok(());
        }
        let _lock = lock_within(&self.lock, patience)?;
        for stray in strays(directory) {
            if std::fs::remove_file(&stray).is_ok() {
                tracing::debug!(file = %stray.display(), "removed a temporary token file left by a killed writer");
            }
        }
        Ok(())
    }

    fn exists(&self) -> Result<bool> {
        self.path.try_exists().map_err(|e| io_error("cannot read", &self.path, e))
    }

    pub(super) fn read_all(&self) -> Result<BTreeMap<String, StoredToken>> {
        let path = &self.path;
        let bytes = match std::fs::read(path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(BTreeMap::new()),
            Err(e) => return Err(io_error("cannot read", path, e)),
        };
        serde_json::from_slice(&bytes).map_err(|e| store_error(format!("{} is not a token file", path.display()), e))
    }

    /// The prefix of this file's temporary files: `.<name>.tmp-`.
    fn temporary_prefix(&self) -> String {
        format!(".{}.tmp-", self.path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default())
    }

    fn unique_temporary(&self) -> PathBuf {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let unique = COUNTER.fetch_add(1, Ordering::Relaxed);
        directory_of(&self.path).join(format!("{}{}-{unique}", self.temporary_prefix(), std::process::id()))
    }
}

/// `path` with `suffix` appended to its file name.
pub(super) fn sibling(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.file_name().map(|n| n.to_os_string()).unwrap_or_default();
    name.push(suffix);
    path.with_file_name(name)
}
