//! [`FileTokenStore`]: tokens in one JSON file, safe for several processes at once.

use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use futures_util::future::BoxFuture;
use tokio::sync::OnceCell;

use super::{store_error, RenewalLock, StoredToken, TokenStore};
use crate::error::Result;

/// How often a lock that another process holds is tried again.
const LOCK_POLL: Duration = Duration::from_millis(10);

/// Keeps tokens in one JSON file that several processes may share.
///
/// * Every change is a read-modify-write under an advisory lock on `<file>.lock`, so two
///   processes saving different shops never lose each other's token.
/// * Every write goes to a temporary file beside the real one, is synced and renamed over
///   it: a crash mid-write leaves the previous file intact. Temporary files left by a
///   killed process are removed the first time the store is used.
/// * The file, its temporary files and its lock files are created readable by the owner
///   only (mode 0600 on Unix): they hold live tokens.
/// * Renewing a shop's token takes `<file>.renew.lock`, so that processes sharing the file
///   refresh once and the others read the new pair.
///
/// Locks are `flock`-style advisory locks, released by the system when a process dies.
#[derive(Debug)]
pub struct FileTokenStore {
    path: PathBuf,
    /// Stray temporary files are removed once, on first use.
    cleaned: OnceCell<()>,
}

impl FileTokenStore {
    /// A store kept in the file at `path` (created on first save).
    pub fn new(path: impl Into<PathBuf>) -> Self {
        FileTokenStore { path: path.into(), cleaned: OnceCell::new() }
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn sibling(&self, suffix: &str) -> PathBuf {
        let mut name = self.path.file_name().map(|n| n.to_os_string()).unwrap_or_default();
        name.push(suffix);
        self.path.with_file_name(name)
    }

    /// Runs `work` on a blocking thread while holding the exclusive lock on `<file>.lock`;
    /// the first time, also removes temporary files that a killed writer left behind.
    async fn locked<T: Send + 'static>(&self, work: impl FnOnce(&Path) -> Result<T> + Send + 'static) -> Result<T> {
        self.cleaned.get_or_try_init(|| self.run_locked(remove_stray_temporaries)).await?;
        self.run_locked(work).await
    }

    async fn run_locked<T: Send + 'static>(&self, work: impl FnOnce(&Path) -> Result<T> + Send + 'static) -> Result<T> {
        let (path, lock_path) = (self.path.clone(), self.sibling(".lock"));
        tokio::task::spawn_blocking(move || {
            let lock = open_private(&lock_path).map_err(|e| io_error("cannot open", &lock_path, e))?;
            lock.lock().map_err(|e| io_error("cannot lock", &lock_path, e))?;
            // Unlocked when `lock` is closed, at the end of this closure.
            work(&path)
        })
        .await
        .map_err(|e| store_error("the token file worker stopped", e))?
    }
}

fn io_error(what: &str, path: &Path, e: std::io::Error) -> crate::Error {
    store_error(format!("{what} {}", path.display()), e)
}

/// Opens (creating if needed) a file readable and writable by the owner only.
fn open_private(path: &Path) -> std::io::Result<File> {
    let mut options = OpenOptions::new();
    options.read(true).write(true).create(true).truncate(false);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path)
}

fn read_all(path: &Path) -> Result<BTreeMap<String, StoredToken>> {
    let bytes = match std::fs::read(path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(BTreeMap::new()),
        Err(e) => return Err(io_error("cannot read", path, e)),
    };
    serde_json::from_slice(&bytes).map_err(|e| store_error(format!("{} is not a token file", path.display()), e))
}

/// The prefix of this file's temporary files: `.<name>.tmp-`.
fn temporary_prefix(path: &Path) -> String {
    format!(".{}.tmp-", path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default())
}

fn directory_of(path: &Path) -> PathBuf {
    match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// Removes the temporary files of `path` (called under the lock, so no writer is active).
fn remove_stray_temporaries(path: &Path) -> Result<()> {
    let prefix = temporary_prefix(path);
    let Ok(entries) = std::fs::read_dir(directory_of(path)) else { return Ok(()) };
    for entry in entries.filter_map(|e| e.ok()) {
        if entry.file_name().to_string_lossy().starts_with(&prefix) && std::fs::remove_file(entry.path()).is_ok() {
            tracing::debug!(file = %entry.path().display(), "removed a temporary token file left by a killed writer");
        }
    }
    Ok(())
}

/// Writes `tokens` to a fresh temporary file in the same directory (0600), syncs it,
/// renames it over `path` and syncs the directory, so readers see the old or the new
/// file, never half of one.
fn write_all(path: &Path, tokens: &BTreeMap<String, StoredToken>) -> Result<()> {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let bytes = serde_json::to_vec_pretty(tokens).map_err(|e| store_error("cannot encode tokens", e))?;
    let dir = directory_of(path);
    let unique = COUNTER.fetch_add(1, Ordering::Relaxed);
    let tmp = dir.join(format!("{}{}-{unique}", temporary_prefix(path), std::process::id()));
    let result = (|| {
        let mut file = open_private(&tmp)?;
        file.set_len(0)?;
        file.write_all(&bytes)?;
        file.sync_all()?;
        std::fs::rename(&tmp, path)?;
        if let Ok(dir) = File::open(&dir) {
            let _ = dir.sync_all();
        }
        Ok(())
    })();
    result.map_err(|e: std::io::Error| {
        let _ = std::fs::remove_file(&tmp);
        io_error("cannot write", path, e)
    })
}

impl TokenStore for FileTokenStore {
    fn load<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<Option<StoredToken>>> {
        let key = key.to_owned();
        Box::pin(self.locked(move |path| Ok(read_all(path)?.remove(&key))))
    }

    fn save<'a>(&'a self, key: &'a str, token: &'a StoredToken) -> BoxFuture<'a, Result<()>> {
        let (key, token) = (key.to_owned(), token.clone());
        Box::pin(self.locked(move |path| {
            let mut all = read_all(path)?;
            all.insert(key, token);
            write_all(path, &all)
        }))
    }

    fn remove<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<()>> {
        let key = key.to_owned();
        Box::pin(self.locked(move |path| {
            let mut all = read_all(path)?;
            if all.remove(&key).is_some() {
                write_all(path, &all)?;
            }
            Ok(())
        }))
    }

    /// One renewal at a time across every process sharing the file (all keys share the
    /// lock: renewals are rare). Waits up to `lease` for a process that holds it, then
    /// goes on without it: a second refresh is harmless, a stuck process must not block.
    fn lock_renewal<'a>(&'a self, _key: &'a str, lease: Duration) -> BoxFuture<'a, Result<RenewalLock>> {
        let lock_path = self.sibling(".renew.lock");
        Box::pin(async move {
            let started = Instant::now();
            let file = open_private(&lock_path).map_err(|e| io_error("cannot open", &lock_path, e))?;
            loop {
                match file.try_lock() {
                    Ok(()) => return Ok(RenewalLock::new(async move { drop(file) })),
                    Err(std::fs::TryLockError::WouldBlock) if started.elapsed() < lease => {
                        tokio::time::sleep(LOCK_POLL).await
                    }
                    Err(std::fs::TryLockError::WouldBlock) => {
                        tracing::warn!(file = %lock_path.display(), "renewal lock still held after its lease; renewing without it");
                        return Ok(RenewalLock::unlocked());
                    }
                    Err(std::fs::TryLockError::Error(e)) => return Err(io_error("cannot lock", &lock_path, e)),
                }
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::token::tests::token;
    use crate::Error;

    /// A fresh directory under the system's temp dir.
    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("doudian-file-store-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn a_bare_file_name_lives_in_the_current_directory() {
        assert_eq!(directory_of(Path::new("tokens.json")), PathBuf::from("."));
        assert_eq!(directory_of(Path::new("/var/lib/erp/tokens.json")), PathBuf::from("/var/lib/erp"));
    }

    #[tokio::test]
    async fn round_trips_replaces_atomically_and_cleans_up_after_killed_writers() {
        let dir = scratch("round-trip");
        let path = dir.join("tokens.json");
        // Left by a writer killed mid-write: holds tokens, must go; other files stay.
        std::fs::write(dir.join(".tokens.json.tmp-999-0"), b"{half").unwrap();
        std::fs::write(dir.join(".other.json.tmp-999-0"), b"{}").unwrap();
        let store = FileTokenStore::new(&path);
        assert_eq!(store.load("1").await.unwrap(), None);
        assert!(!dir.join(".tokens.json.tmp-999-0").exists());
        assert!(dir.join(".other.json.tmp-999-0").exists());
        store.save("1", &token(5)).await.unwrap();
        store.save("2", &token(6)).await.unwrap();
        let reopened = FileTokenStore::new(&path);
        assert_eq!(reopened.load("1").await.unwrap(), Some(token(5)));
        assert_eq!(reopened.load("2").await.unwrap().unwrap().expires_at, 6);
        reopened.remove("1").await.unwrap();
        assert_eq!(FileTokenStore::new(&path).load("1").await.unwrap(), None);
        let leftovers: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.starts_with(".tokens.json.tmp-"))
            .collect();
        assert!(leftovers.is_empty(), "{leftovers:?}");
        std::fs::write(&path, b"not json").unwrap();
        assert!(matches!(reopened.load("2").await, Err(Error::TokenStore { .. })));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[tokio::test]
    async fn a_file_that_cannot_be_read_is_an_error_not_an_empty_store() {
        let dir = scratch("unreadable");
        // A directory where the file should be: reading fails with something other than
        // "not found", which must not be taken for "no tokens" (a save would then wipe them).
        std::fs::create_dir_all(dir.join("tokens.json")).unwrap();
        let store = FileTokenStore::new(dir.join("tokens.json"));
        let error = store.load("1").await.unwrap_err();
        assert!(matches!(error, Error::TokenStore { ref message, .. } if message.contains("cannot read")), "{error}");
        assert!(store.save("1", &token(1)).await.is_err());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[cfg(unix)]
    #[tokio::test]
    async fn the_file_and_its_locks_are_private() {
        use std::os::unix::fs::PermissionsExt;
        let dir = scratch("private");
        let path = dir.join("tokens.json");
        let store = FileTokenStore::new(&path);
        store.save("1", &token(5)).await.unwrap();
        store.lock_renewal("1", Duration::from_secs(1)).await.unwrap().release().await;
        for name in ["tokens.json", "tokens.json.lock", "tokens.json.renew.lock"] {
            let mode = std::fs::metadata(dir.join(name)).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600, "{name}");
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[tokio::test]
    async fn the_renewal_lock_excludes_a_second_holder_until_released() {
        let dir = scratch("renewal");
        let path = dir.join("tokens.json");
        let (a, b) = (FileTokenStore::new(&path), FileTokenStore::new(&path));
        let held = a.lock_renewal("1", Duration::from_secs(5)).await.unwrap();
        assert!(held.is_held());
        // b waits its lease (short here) and goes on without the lock.
        let started = Instant::now();
        let second = b.lock_renewal("1", Duration::from_millis(100)).await.unwrap();
        assert!(!second.is_held());
        assert!(started.elapsed() >= Duration::from_millis(100));
        held.release().await;
        let third = b.lock_renewal("1", Duration::from_secs(5)).await.unwrap();
        assert!(third.is_held());
        third.release().await;
        std::fs::remove_dir_all(&dir).unwrap();
    }

    /// The child side of `processes_saving_different_shops_lose_nothing`: saves shops
    /// `<prefix>-0..<count>` into the file named by the environment.
    #[tokio::test]
    async fn child_saves_its_shops() {
        let (Ok(path), Ok(prefix)) = (std::env::var("DOUDIAN_TEST_TOKEN_FILE"), std::env::var("DOUDIAN_TEST_PREFIX"))
        else {
            return; // run by the parent test only
        };
        let store = FileTokenStore::new(path);
        for i in 0..25 {
            store.save(&format!("{prefix}-{i}"), &token(i)).await.unwrap();
        }
    }

    #[test]
    fn processes_saving_different_shops_lose_nothing() {
        let dir = scratch("processes");
        let path = dir.join("tokens.json");
        let exe = std::env::current_exe().unwrap();
        let children: Vec<_> = (0..4)
            .map(|child| {
                std::process::Command::new(&exe)
                    .args(["--exact", "token::file::tests::child_saves_its_shops", "--test-threads", "1"])
                    .env("DOUDIAN_TEST_TOKEN_FILE", &path)
                    .env("DOUDIAN_TEST_PREFIX", format!("p{child}"))
                    .stdout(std::process::Stdio::null())
                    .spawn()
                    .unwrap()
            })
            .collect();
        for mut child in children {
            assert!(child.wait().unwrap().success());
        }
        let all: BTreeMap<String, StoredToken> = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
        assert_eq!(all.len(), 100, "a concurrent read-modify-write lost tokens");
        let temporaries = std::fs::read_dir(&dir)
            .unwrap()
            .filter(|e| e.as_ref().unwrap().file_name().to_string_lossy().starts_with(".tokens.json.tmp-"));
        assert_eq!(temporaries.count(), 0);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
