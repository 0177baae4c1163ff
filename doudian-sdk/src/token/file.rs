//! [`FileTokenStore`]: one file per shop in a directory, safe for several processes at once.

mod legacy;
mod lock;
mod names;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use futures_util::future::BoxFuture;
use tokio::sync::OnceCell;

use self::legacy::{sibling, LegacyFile};
use self::lock::{io_error, lock_within, open_lock_file, remove_if_present, replace_atomically, try_lock, LOCK_POLL};
use super::{store_error, ListedToken, RenewalLock, StoredToken, TokenPage, TokenStore};
use crate::error::Result;

/// How long a store waits for a lock that another process or task holds, unless told
/// otherwise with [`FileTokenStore::lock_timeout`].
const DEFAULT_LOCK_TIMEOUT: Duration = Duration::from_secs(10);

/// Keeps tokens in files that several processes may share: one file per shop, so that a
/// load or a save costs the same with ten shops or a hundred thousand.
///
/// `FileTokenStore::new("tokens.json")` keeps its files in the directory `tokens.json.d/`
/// (created, mode 0700, on first use):
///
/// | file | what it is |
/// | --- | --- |
/// | `<name>.json` | the shop's token, as JSON |
/// | `<name>.lock` | taken while the shop's token is read or written |
/// | `<name>.renew.lock` | taken while one process renews the shop's token |
/// | `<name>.json.tmp` | a write in progress (or left by a killed writer) |
///
/// `<name>` is the key itself when it is made of lowercase ASCII letters, digits, `_` and
/// `-` (shop ids are); any other byte is written `%XX` (so `a/b` is `a%2Fb` and no key can
/// name a file outside the directory), the empty key is `%` and a name longer than 200
/// bytes is replaced by `%%` and the key's SHA-256.
///
/// * Every operation on a shop holds that shop's lock: different shops never wait for each
///   other, and a lock another holder keeps longer than the
///   [lock timeout](Self::lock_timeout) (10 s by default) ends in an
///   [`Error::TokenStore`](crate::Error::TokenStore) whose source is a
///   [`LockTimeout`](crate::error::LockTimeout) naming the lock file.
/// * A save writes a temporary file, syncs it and renames it over the shop's file: a crash
///   mid-write leaves the previous token intact. A temporary file left by a killed writer
///   is removed the next time the shop is used.
/// * Every file is created readable by the owner only (mode 0600 on Unix): they hold live
///   tokens.
/// * Renewing a shop's token takes its renewal lock, so that processes sharing the store
///   refresh it once and the others read the new pair.
/// * A file that is not a token gives an error for that shop only.
///
/// Locks are `flock`-style advisory locks, released by the system when a process dies.
///
/// # The single file of earlier versions
///
/// Earlier versions kept every shop in the one file `tokens.json`. Its tokens keep
/// working, with no step to run: a shop that has no file in the directory is read from
/// it, and the first save of a shop into the directory drops that shop from it (under its
/// lock, `tokens.json.lock`); the file is deleted once its last shop has moved. It is never
/// written otherwise, so each shop moves the first time its token is saved (at its next
/// renewal, within a week). [`remove`](TokenStore::remove) drops the shop from both
/// places. Until every shop has moved, a shop still in the single file costs what it did
/// before (the whole file is read). Every process sharing the store must run a version
/// with this layout: an earlier one would keep writing the single file only.
#[derive(Debug)]
pub struct FileTokenStore {
    directory: PathBuf,
    legacy: LegacyFile,
    lock_timeout: Duration,
    /// Stray temporary files of the legacy file are looked for once, on first use.
    cleaned: OnceCell<()>,
}

impl FileTokenStore {
    /// A store named by the file at `path` (the single file of earlier versions); its
    /// files are kept in the directory `<path>.d`.
    pub fn new(path: impl Into<PathBuf>) -> Self {
        let path = path.into();
        FileTokenStore {
            directory: sibling(&path, ".d"),
            legacy: LegacyFile::new(path),
            lock_timeout: DEFAULT_LOCK_TIMEOUT,
            cleaned: OnceCell::new(),
        }
    }

    /// How long to wait for a lock that another process or task holds before failing
    /// with a [`LockTimeout`](crate::error::LockTimeout) (10 s by default). The renewal
    /// lock is not affected: it is waited for at most the lease the SDK asks for.
    pub fn lock_timeout(mut self, timeout: Duration) -> Self {
        self.lock_timeout = timeout;
        self
    }

    /// The path the store was created with: the single file of earlier versions.
    pub fn path(&self) -> &Path {
        &self.legacy.path
    }

    /// The directory holding one file per shop.
    pub fn directory(&self) -> &Path {
        &self.directory
    }

    /// The file holding `key`'s token (which may not exist yet).
    pub fn token_path(&self, key: &str) -> PathBuf {
        ShopFiles::new(&self.directory, key).token
    }

    /// Runs `work` on a blocking thread while holding `key`'s lock.
    async fn with_shop<T: Send + 'static>(
        &self,
        key: &str,
        work: impl FnOnce(&ShopFiles, &LegacyFile, Duration) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        let (legacy, patience) = (self.legacy.clone(), self.lock_timeout);
        self.cleaned.get_or_try_init(|| blocking(move || legacy.remove_stray_temporaries(patience))).await?;
        let (files, legacy) = (ShopFiles::new(&self.directory, key), self.legacy.clone());
        blocking(move || {
            let _lock = lock_within(&files.lock, patience)?;
            // A killed writer's leftover holds a token: it must not linger.
            remove_if_present(&files.temporary).map_err(|e| io_error("cannot remove", &files.temporary, e))?;
            work(&files, &legacy, patience)
        })
        .await
    }
}

/// Where a listed shop's token is.
enum Listed {
    /// In its own file (`<stem>.json`).
    File,
    /// Only in the single file of earlier versions.
    Legacy(Box<StoredToken>),
}

/// A page of [`FileTokenStore::list_page`]: the shops whose stem sorts after `cursor`,
/// `limit` of them, each read under its lock.
fn list_page(
    directory: &Path,
    legacy: &LegacyFile,
    patience: Duration,
    cursor: Option<&str>,
    limit: usize,
) -> Result<TokenPage> {
    let mut shops = std::collections::BTreeMap::new();
    match std::fs::read_dir(directory) {
        Ok(entries) => {
            for entry in entries {
                let entry = entry.map_err(|e| io_error("cannot list", directory, e))?;
                let name = entry.file_name();
                if let Some(stem) = name.to_str().and_then(|n| n.strip_suffix(".json")) {
                    shops.insert(stem.to_owned(), Listed::File);
                }
            }
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(io_error("cannot list", directory, e)),
    }
    for (key, token) in legacy.read_all()? {
        shops.entry(names::stem(&key)).or_insert(Listed::Legacy(Box::new(token)));
    }
    let after = |stem: &String| cursor.is_none_or(|c| stem.as_str() > c);
    let mut remaining = shops.into_iter().filter(|(stem, _)| after(stem)).peekable();
    let mut tokens = Vec::new();
    let mut last = None;
    while tokens.len() < limit.max(1) {
        let Some((stem, listed)) = remaining.next() else { break };
        last = Some(stem.clone());
        let key = names::key_of(&stem);
        match listed {
            Listed::Legacy(token) => tokens.push(ListedToken::new(key.unwrap_or_default(), Ok(*token))),
            Listed::File => {
                let files = ShopFiles::named(directory, &stem, key.as_deref().unwrap_or_default());
                let read = lock_within(&files.lock, patience).and_then(|_lock| files.read());
                match (read, key) {
                    // Removed since the directory was read.
                    (Ok(None), _) => {}
                    (Ok(Some(token)), Some(key)) => tokens.push(ListedToken::new(key, Ok(token))),
                    // A long key's name is its hash: the token's own shop id names it, if
                    // that is the key it was saved under.
                    (Ok(Some(token)), None) if names::stem(&token.shop_id) == stem => {
                        tokens.push(ListedToken::new(token.shop_id.clone(), Ok(token)))
                    }
                    (Ok(Some(_)), None) => tokens.push(ListedToken::new(
                        stem,
                        Err(store_error(
                            format!(
                                "{}: the key of this token cannot be told from its file name",
                                files.token.display()
                            ),
                            std::io::Error::from(std::io::ErrorKind::InvalidData),
                        )),
                    )),
                    (Err(error), key) => tokens.push(ListedToken::new(key.unwrap_or(stem), Err(error))),
                }
            }
        }
    }
    let next = if remaining.peek().is_some() { last } else { None };
    Ok(TokenPage::new(tokens, next))
}

async fn blocking<T: Send + 'static>(work: impl FnOnce() -> Result<T> + Send + 'static) -> Result<T> {
    tokio::task::spawn_blocking(work).await.map_err(|e| store_error("the token file worker stopped", e))?
}

/// The files of one shop in the store's directory.
struct ShopFiles {
    token: PathBuf,
    temporary: PathBuf,
    lock: PathBuf,
    renewal_lock: PathBuf,
    key: String,
}

impl ShopFiles {
    fn new(directory: &Path, key: &str) -> Self {
        Self::named(directory, &names::stem(key), key)
    }

    /// The files of the key `key` whose stem is `stem`.
    fn named(directory: &Path, stem: &str, key: &str) -> Self {
        let file = |suffix: &str| directory.join(format!("{stem}{suffix}"));
        ShopFiles {
            token: file(".json"),
            temporary: file(".json.tmp"),
            lock: file(".lock"),
            renewal_lock: file(".renew.lock"),
            key: key.to_owned(),
        }
    }

    /// The token in the shop's own file, if it has one.
    fn read(&self) -> Result<Option<StoredToken>> {
        let path = &self.token;
        let bytes = match std::fs::read(path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(io_error("cannot read", path, e)),
        };
        let token = serde_json::from_slice(&bytes)
            .map_err(|e| store_error(format!("{} is not a token file", path.display()), e))?;
        Ok(Some(token))
    }

    fn write(&self, token: &StoredToken) -> Result<()> {
        let bytes = serde_json::to_vec_pretty(token).map_err(|e| store_error("cannot encode a token", e))?;
        replace_atomically(&self.token, &self.temporary, &bytes)
    }

    fn exists(&self) -> Result<bool> {
        self.token.try_exists().map_err(|e| io_error("cannot read", &self.token, e))
    }
}

impl TokenStore for FileTokenStore {
    fn load<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<Option<StoredToken>>> {
        Box::pin(self.with_shop(key, |files, legacy, _| match files.read()? {
            Some(token) => Ok(Some(token)),
            None => legacy.load(&files.key),
        }))
    }

    fn save<'a>(&'a self, key: &'a str, token: &'a StoredToken) -> BoxFuture<'a, Result<()>> {
        let token = token.clone();
        Box::pin(self.with_shop(key, move |files, legacy, patience| {
            let moved_before = files.exists()?;
            files.write(&token)?;
            // The first save into the directory moves the shop out of the legacy file.
            if !moved_before {
                legacy.forget(&files.key, patience)?;
            }
            Ok(())
        }))
    }

    fn remove<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<()>> {
        Box::pin(self.with_shop(key, |files, legacy, patience| {
            remove_if_present(&files.token).map_err(|e| io_error("cannot remove", &files.token, e))?;
            legacy.forget(&files.key, patience)
        }))
    }

    /// One renewal of `key` at a time across every process sharing the store. Waits up to
    /// `lease` for a process that holds it, then goes on without it: a second refresh is
    /// harmless, a stuck process must not block.
    fn lock_renewal<'a>(&'a self, key: &'a str, lease: Duration) -> BoxFuture<'a, Result<RenewalLock>> {
        let path = ShopFiles::new(&self.directory, key).renewal_lock;
        Box::pin(async move {
            let file = open_lock_file(&path)?;
            let started = Instant::now();
            while !try_lock(&file, &path)? {
                if started.elapsed() >= lease {
                    tracing::warn!(file = %path.display(), "renewal lock still held after its lease; renewing without it");
                    return Ok(RenewalLock::unlocked());
                }
                tokio::time::sleep(LOCK_POLL).await;
            }
            Ok(RenewalLock::new(async move { drop(file) }))
        })
    }

    /// Pages in file-name order (the cursor is the last name of the page before), each
    /// shop read under its lock; shops still in the single file of earlier versions are
    /// listed too.
    fn list_page<'a>(&'a self, cursor: Option<&'a str>, limit: usize) -> BoxFuture<'a, Result<TokenPage>> {
        let (directory, legacy, patience) = (self.directory.clone(), self.legacy.clone(), self.lock_timeout);
        let cursor = cursor.map(str::to_owned);
        Box::pin(blocking(move || list_page(&directory, &legacy, patience, cursor.as_deref(), limit)))
    }
}

#[cfg(test)]
mod tests;
