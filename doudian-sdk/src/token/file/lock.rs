//! Private files, advisory locks with bounded waits, and atomic replacement.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::Path;
use std::time::{Duration, Instant};

use crate::error::{Error, LockTimeout, Result};
use crate::token::store_error;

/// How often a lock that another holder has is tried again.
pub(super) const LOCK_POLL: Duration = Duration::from_millis(10);

pub(super) fn io_error(what: &str, path: &Path, e: std::io::Error) -> Error {
    store_error(format!("{what} {}", path.display()), e)
}

/// Opens (creating if needed) a file readable and writable by the owner only.
pub(super) fn open_private(path: &Path) -> std::io::Result<File> {
    let mut options = OpenOptions::new();
    options.read(true).write(true).create(true).truncate(false);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path)
}

/// Opens the lock file at `path`, creating it (0600) and its directory (0700) if needed.
pub(super) fn open_lock_file(path: &Path) -> Result<File> {
    match open_private(path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            if let Some(directory) = path.parent() {
                create_private_directory(directory).map_err(|e| io_error("cannot create", directory, e))?;
            }
            open_private(path)
        }
        opened => opened,
    }
    .map_err(|e| io_error("cannot open", path, e))
}

fn create_private_directory(path: &Path) -> std::io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(path)
}

/// Tries once to take the exclusive lock on `file` (the lock file at `path`).
pub(super) fn try_lock(file: &File, path: &Path) -> Result<bool> {
    match file.try_lock() {
        Ok(()) => Ok(true),
        Err(std::fs::TryLockError::WouldBlock) => Ok(false),
        Err(std::fs::TryLockError::Error(e)) => Err(io_error("cannot lock", path, e)),
    }
}

/// Takes the exclusive lock on the file at `path` on a blocking thread, waiting at most
/// `patience` for another holder; then fails with a [`LockTimeout`] naming the file. The
/// lock is released when the returned file is closed (or its process dies).
pub(super) fn lock_within(path: &Path, patience: Duration) -> Result<File> {
    let file = open_lock_file(path)?;
    let started = Instant::now();
    while !try_lock(&file, path)? {
        if started.elapsed() >= patience {
            let timeout = LockTimeout { path: path.to_path_buf(), waited: patience };
            return Err(store_error(format!("timed out waiting for the lock {}", path.display()), timeout));
        }
        std::thread::sleep(LOCK_POLL);
    }
    Ok(file)
}

/// The directory a file lives in (`.` for a bare file name).
pub(super) fn directory_of(path: &Path) -> &Path {
    match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    }
}

/// Writes `bytes` to `temporary` (fresh, 0600), syncs it, renames it over `target` and
/// syncs the directory: readers see the old file or the new one, never half of one, and
/// a crash leaves at worst the temporary file behind.
pub(super) fn replace_atomically(target: &Path, temporary: &Path, bytes: &[u8]) -> Result<()> {
    let result = (|| {
        // A leftover from a killed writer may have other permissions: start afresh.
        remove_if_present(temporary)?;
        let mut file = open_private(temporary)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        std::fs::rename(temporary, target)?;
        sync_directory(directory_of(target));
        Ok(())
    })();
    result.map_err(|e: std::io::Error| {
        let _ = std::fs::remove_file(temporary);
        io_error("cannot write", target, e)
    })
}

/// Removes the file at `path`; a file that is not there is not an error.
pub(super) fn remove_if_present(path: &Path) -> std::io::Result<()> {
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}

/// Makes a rename or removal in `directory` durable (best effort: not every system can
/// open a directory).
pub(super) fn sync_directory(directory: &Path) {
    if let Ok(dir) = File::open(directory) {
        let _ = dir.sync_all();
    }
}
