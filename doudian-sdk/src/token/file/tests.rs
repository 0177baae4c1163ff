use std::collections::BTreeMap;
use std::sync::Arc;

use super::lock::directory_of;
use super::*;
use crate::error::LockTimeout;
use crate::token::tests::token;
use crate::Error;

/// A fresh directory under the system's temp dir.
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("doudian-file-store-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The names in `dir`, sorted.
fn names_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<_> =
        std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    names.sort();
    names
}

/// The lock timeout behind `error`, if that is what it is.
fn lock_timeout(error: &Error) -> Option<&LockTimeout> {
    std::error::Error::source(error)?.downcast_ref()
}

/// Every message of `error`'s source chain, joined.
fn source_chain(error: &Error) -> String {
    let mut text = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        text.push_str(&format!(" / {cause}"));
        source = cause.source();
    }
    text
}

/// A legacy (single-file) store at `path` holding `tokens`.
fn write_legacy(path: &Path, tokens: &[(&str, StoredToken)]) {
    let all: BTreeMap<_, _> = tokens.iter().cloned().collect();
    std::fs::write(path, serde_json::to_vec_pretty(&all).unwrap()).unwrap();
}

fn read_legacy(path: &Path) -> BTreeMap<String, StoredToken> {
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

#[test]
fn a_bare_file_name_lives_in_the_current_directory() {
    assert_eq!(directory_of(Path::new("tokens.json")), Path::new("."));
    assert_eq!(directory_of(Path::new("/var/lib/erp/tokens.json")), Path::new("/var/lib/erp"));
}

#[test]
fn the_directory_and_shop_files_are_named_after_the_path_and_the_key() {
    let store = FileTokenStore::new("/var/lib/erp/tokens.json");
    assert_eq!(store.path(), Path::new("/var/lib/erp/tokens.json"));
    assert_eq!(store.directory(), Path::new("/var/lib/erp/tokens.json.d"));
    assert_eq!(store.token_path("4463798"), Path::new("/var/lib/erp/tokens.json.d/4463798.json"));
    assert_eq!(store.token_path("../x"), Path::new("/var/lib/erp/tokens.json.d/%2E%2E%2Fx.json"));
}

#[tokio::test]
async fn round_trips_replaces_atomically_and_cleans_up_after_killed_writers() {
    let dir = scratch("round-trip");
    let path = dir.join("tokens.json");
    let store = FileTokenStore::new(&path);
    // Left by writers killed mid-write: they hold tokens and must go; other files stay.
    std::fs::write(dir.join(".tokens.json.tmp-999-0"), b"{half").unwrap();
    std::fs::write(dir.join(".other.json.tmp-999-0"), b"{}").unwrap();
    std::fs::create_dir_all(store.directory()).unwrap();
    std::fs::write(store.directory().join("1.json.tmp"), b"{half").unwrap();
    assert_eq!(store.load("1").await.unwrap(), None);
    assert!(!dir.join(".tokens.json.tmp-999-0").exists());
    assert!(dir.join(".other.json.tmp-999-0").exists());
    assert!(!store.directory().join("1.json.tmp").exists());

    store.save("1", &token(5)).await.unwrap();
    store.save("2", &token(6)).await.unwrap();
    store.save("2", &token(7)).await.unwrap();
    let reopened = FileTokenStore::new(&path);
    assert_eq!(reopened.load("1").await.unwrap(), Some(token(5)));
    assert_eq!(reopened.load("2").await.unwrap(), Some(token(7)));
    reopened.remove("1").await.unwrap();
    reopened.remove("1").await.unwrap();
    assert_eq!(FileTokenStore::new(&path).load("1").await.unwrap(), None);
    assert_eq!(FileTokenStore::new(&path).load("2").await.unwrap(), Some(token(7)));
    // No legacy file appears (its lock was taken to remove the strays); the directory
    // holds only the shops' files.
    assert_eq!(names_in(&dir), [".other.json.tmp-999-0", "tokens.json.d", "tokens.json.lock"]);
    assert_eq!(names_in(store.directory()), ["1.lock", "2.json", "2.lock"]);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn a_file_that_cannot_be_read_is_an_error_not_an_empty_store() {
    let dir = scratch("unreadable");
    // A directory where a file should be: reading fails with something other than "not
    // found", which must not be taken for "no token" (a save would then lose tokens).
    std::fs::create_dir_all(dir.join("tokens.json")).unwrap();
    let store = FileTokenStore::new(dir.join("tokens.json"));
    let error = store.load("1").await.unwrap_err();
    assert!(matches!(error, Error::TokenStore { ref message, .. } if message.contains("cannot read")), "{error}");
    assert!(store.save("1", &token(1)).await.is_err());
    std::fs::create_dir_all(store.token_path("2")).unwrap();
    let error = store.load("2").await.unwrap_err();
    assert!(matches!(error, Error::TokenStore { ref message, .. } if message.contains("2.json")), "{error}");
    // A file that cannot be removed is an error too, not a removal.
    let error = store.remove("2").await.unwrap_err();
    assert!(error.to_string().contains("cannot remove"), "{error}");
    std::fs::create_dir_all(store.directory().join("3.json.tmp")).unwrap();
    let error = store.load("3").await.unwrap_err();
    assert!(error.to_string().contains("cannot remove") && error.to_string().contains("3.json.tmp"), "{error}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn a_garbled_shop_file_is_an_error_for_that_shop_only() {
    let dir = scratch("garbled");
    let store = FileTokenStore::new(dir.join("tokens.json"));
    store.save("1", &token(1)).await.unwrap();
    store.save("2", &token(2)).await.unwrap();
    std::fs::write(store.token_path("1"), b"{\"access_token\": \"a\", \"refr").unwrap();
    let error = store.load("1").await.unwrap_err();
    let Error::TokenStore { ref message, .. } = error else { panic!("{error:?}") };
    assert!(message.contains("1.json") && message.contains("is not a token file"), "{message}");
    assert_eq!(store.load("2").await.unwrap(), Some(token(2)));
    // A save replaces the garbage.
    store.save("1", &token(3)).await.unwrap();
    assert_eq!(store.load("1").await.unwrap(), Some(token(3)));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn keys_of_any_shape_round_trip_inside_the_directory() {
    let dir = scratch("odd-keys");
    let store = FileTokenStore::new(dir.join("tokens.json"));
    let long = "k".repeat(300);
    let keys = ["../x", "a/b", "..", ".", "/etc/passwd", "a\\b", "店铺 1", "", "A", "a", "a\0b", "%2E", long.as_str()];
    for (i, key) in keys.iter().enumerate() {
        store.save(key, &token(i as u64)).await.unwrap();
    }
    for (i, key) in keys.iter().enumerate() {
        assert_eq!(store.load(key).await.unwrap(), Some(token(i as u64)), "{key:?}");
        assert_eq!(store.token_path(key).parent(), Some(store.directory()), "{key:?}");
        assert!(store.token_path(key).exists(), "{key:?}");
    }
    assert_eq!(names_in(&dir), ["tokens.json.d"]);
    let tokens = names_in(store.directory()).into_iter().filter(|n| n.ends_with(".json")).count();
    assert_eq!(tokens, keys.len());
    store.remove("../x").await.unwrap();
    assert_eq!(store.load("../x").await.unwrap(), None);
    assert_eq!(store.load("..").await.unwrap(), Some(token(2)));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn tokens_of_the_single_file_move_shop_by_shop_on_their_first_save() {
    let dir = scratch("legacy");
    let path = dir.join("tokens.json");
    write_legacy(&path, &[("1", token(1)), ("2", token(2)), ("3", token(3)), ("4", token(4))]);
    let legacy_bytes = std::fs::read(&path).unwrap();
    let store = FileTokenStore::new(&path);

    // Loads read the single file and leave it as it is.
    for i in 1..=4 {
        assert_eq!(store.load(&i.to_string()).await.unwrap(), Some(token(i)));
    }
    assert_eq!(store.load("5").await.unwrap(), None);
    assert_eq!(std::fs::read(&path).unwrap(), legacy_bytes);

    // A save writes the shop's file and drops the shop from the single file.
    store.save("1", &token(11)).await.unwrap();
    assert_eq!(store.load("1").await.unwrap(), Some(token(11)));
    assert_eq!(read_legacy(&path).keys().collect::<Vec<_>>(), ["2", "3", "4"]);
    // The shop's own file wins over a copy left in the single file (by a crash between
    // the two steps, or an older process).
    write_legacy(&path, &[("1", token(1)), ("2", token(2)), ("3", token(3)), ("4", token(4))]);
    assert_eq!(store.load("1").await.unwrap(), Some(token(11)));
    // Once moved, a shop's saves no longer touch (or read) the single file.
    std::fs::write(&path, b"not json").unwrap();
    store.save("1", &token(12)).await.unwrap();
    assert_eq!(store.load("1").await.unwrap(), Some(token(12)));
    write_legacy(&path, &[("2", token(2)), ("3", token(3)), ("4", token(4))]);

    // A removal drops the shop from both places; a removal of a shop that is only in
    // the single file too.
    store.remove("2").await.unwrap();
    assert_eq!(store.load("2").await.unwrap(), None);
    assert_eq!(read_legacy(&path).keys().collect::<Vec<_>>(), ["3", "4"]);
    store.save("5", &token(5)).await.unwrap();
    assert_eq!(read_legacy(&path).keys().collect::<Vec<_>>(), ["3", "4"]);

    // The single file goes once its last shop has moved.
    store.save("3", &token(13)).await.unwrap();
    store.save("4", &token(14)).await.unwrap();
    assert!(!path.exists());
    for (key, expected) in [("1", 12), ("3", 13), ("4", 14), ("5", 5)] {
        assert_eq!(store.load(key).await.unwrap(), Some(token(expected)), "{key}");
    }
    // The lock that earlier versions took stays; no temporary file is left.
    assert_eq!(names_in(&dir), ["tokens.json.d", "tokens.json.lock"]);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn a_garbled_single_file_is_an_error_for_shops_still_in_it() {
    let dir = scratch("legacy-garbled");
    let path = dir.join("tokens.json");
    let store = FileTokenStore::new(&path);
    store.save("1", &token(1)).await.unwrap();
    std::fs::write(&path, b"{ not json").unwrap();
    let error = store.load("2").await.unwrap_err();
    assert!(error.to_string().contains("tokens.json is not a token file"), "{error}");
    assert_eq!(store.load("1").await.unwrap(), Some(token(1)));
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Holds the lock file at `path` the way another process would.
fn hold_lock(path: &Path) -> std::fs::File {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let file = std::fs::File::create(path).unwrap();
    file.lock().unwrap();
    file
}

#[tokio::test]
async fn a_lock_held_elsewhere_ends_in_a_typed_error_naming_the_lock_file() {
    let dir = scratch("lock-timeout");
    let store = FileTokenStore::new(dir.join("tokens.json")).lock_timeout(Duration::from_millis(50));
    store.save("1", &token(1)).await.unwrap();
    let lock_file = store.directory().join("1.lock");
    let held = hold_lock(&lock_file);
    for error in [store.load("1").await.unwrap_err(), store.save("1", &token(2)).await.unwrap_err()] {
        let timeout = lock_timeout(&error).unwrap_or_else(|| panic!("{error:?}"));
        assert_eq!(timeout, &LockTimeout { path: lock_file.clone(), waited: Duration::from_millis(50) });
        assert!(error.to_string().contains("1.lock"), "{error}");
        assert!(timeout.to_string().contains("1.lock is still locked"), "{timeout}");
    }
    // Other shops do not wait for it.
    store.save("2", &token(2)).await.unwrap();
    assert_eq!(store.load("2").await.unwrap(), Some(token(2)));
    drop(held);
    assert_eq!(store.load("1").await.unwrap(), Some(token(1)));

    // The single file's lock is waited for the same way, when a shop moves out of it.
    write_legacy(&store.legacy.path, &[("3", token(3))]);
    let held = hold_lock(&store.legacy.lock);
    let error = store.save("3", &token(3)).await.unwrap_err();
    assert_eq!(lock_timeout(&error).map(|t| t.path.as_path()), Some(store.legacy.lock.as_path()), "{error:?}");
    drop(held);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lock_released_while_waiting_is_taken() {
    let dir = scratch("lock-released");
    let store = Arc::new(FileTokenStore::new(dir.join("tokens.json")));
    let held = hold_lock(&store.directory().join("1.lock"));
    let (waiting_tx, waiting) = tokio::sync::oneshot::channel();
    let saver = tokio::spawn({
        let store = store.clone();
        async move {
            let _ = waiting_tx.send(());
            store.save("1", &token(1)).await
        }
    });
    waiting.await.unwrap();
    tokio::time::sleep(LOCK_POLL * 3).await;
    drop(held);
    saver.await.unwrap().unwrap();
    assert_eq!(store.load("1").await.unwrap(), Some(token(1)));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_saves_of_many_shops_lose_nothing() {
    let dir = scratch("tasks");
    let store = Arc::new(FileTokenStore::new(dir.join("tokens.json")));
    write_legacy(store.path(), &[("t0-0", token(999)), ("old", token(998))]);
    let tasks: Vec<_> = (0..8)
        .map(|task| {
            let store = store.clone();
            tokio::spawn(async move {
                for i in 0..40u64 {
                    store.save(&format!("t{task}-{i}"), &token(i)).await.unwrap();
                    store.save("shared", &token(task)).await.unwrap();
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
    for task in 0..8 {
        for i in 0..40u64 {
            assert_eq!(store.load(&format!("t{task}-{i}")).await.unwrap(), Some(token(i)), "t{task}-{i}");
        }
    }
    assert!(store.load("shared").await.unwrap().is_some_and(|t| t.expires_at < 8));
    assert_eq!(read_legacy(store.path()).into_keys().collect::<Vec<_>>(), ["old"]);
    let temporaries = names_in(store.directory()).into_iter().filter(|n| n.ends_with(".tmp")).count();
    assert_eq!(temporaries, 0);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[cfg(unix)]
#[tokio::test]
async fn a_directory_that_cannot_be_created_shows_the_system_error() {
    let dir = scratch("not-a-directory");
    std::fs::write(dir.join("file"), b"").unwrap();
    let store = FileTokenStore::new(dir.join("file").join("tokens.json"));
    let error = store.save("1", &token(1)).await.unwrap_err();
    assert!(error.to_string().contains("cannot open") && error.to_string().contains("1.lock"), "{error}");
    let io = std::error::Error::source(&error).and_then(|s| s.downcast_ref::<std::io::Error>());
    assert_eq!(io.map(|e| e.kind()), Some(std::io::ErrorKind::NotADirectory), "{error:?}");
    assert!(source_chain(&error).contains("Not a directory"), "{error:?}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[cfg(unix)]
#[tokio::test]
async fn an_unwritable_directory_shows_permission_denied() {
    use std::os::unix::fs::PermissionsExt;
    let dir = scratch("read-only");
    let store = FileTokenStore::new(dir.join("tokens.json"));
    store.save("1", &token(1)).await.unwrap();
    std::fs::set_permissions(store.directory(), std::fs::Permissions::from_mode(0o500)).unwrap();
    // The superuser writes anyway: there is no permission error to show.
    let privileged = std::fs::write(store.directory().join("probe"), b"").is_ok();
    let result = store.save("2", &token(2)).await;
    std::fs::set_permissions(store.directory(), std::fs::Permissions::from_mode(0o700)).unwrap();
    if !privileged {
        let chain = source_chain(&result.unwrap_err());
        assert!(chain.contains("Permission denied") && chain.contains("2.lock"), "{chain}");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[cfg(unix)]
#[tokio::test]
async fn the_files_and_their_locks_are_private() {
    use std::os::unix::fs::PermissionsExt;
    let dir = scratch("private");
    let path = dir.join("tokens.json");
    write_legacy(&path, &[("2", token(2)), ("3", token(3))]);
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    let store = FileTokenStore::new(&path);
    store.save("1", &token(5)).await.unwrap();
    store.save("2", &token(5)).await.unwrap();
    store.lock_renewal("1", Duration::from_secs(1)).await.unwrap().release().await;
    let mode = |path: PathBuf| std::fs::metadata(path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(store.directory().to_path_buf()), 0o700);
    for name in ["1.json", "1.lock", "1.renew.lock"] {
        assert_eq!(mode(store.directory().join(name)), 0o600, "{name}");
    }
    for name in ["tokens.json", "tokens.json.lock"] {
        assert_eq!(mode(dir.join(name)), 0o600, "{name}");
    }
    // A leftover temporary file with loose permissions is not reused as it is.
    std::fs::write(store.directory().join("1.json.tmp"), b"").unwrap();
    std::fs::set_permissions(store.directory().join("1.json.tmp"), std::fs::Permissions::from_mode(0o644)).unwrap();
    store.save("1", &token(6)).await.unwrap();
    assert_eq!(mode(store.directory().join("1.json")), 0o600);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn the_renewal_lock_excludes_a_second_holder_of_the_same_shop_until_released() {
    let dir = scratch("renewal");
    let path = dir.join("tokens.json");
    let (a, b) = (FileTokenStore::new(&path), FileTokenStore::new(&path));
    let held = a.lock_renewal("1", Duration::from_secs(5)).await.unwrap();
    assert!(held.is_held());
    // Another shop's renewal does not wait.
    let other = b.lock_renewal("2", Duration::from_secs(5)).await.unwrap();
    assert!(other.is_held());
    // b waits its lease (short here) and goes on without the lock.
    let started = Instant::now();
    let second = b.lock_renewal("1", Duration::from_millis(100)).await.unwrap();
    assert!(!second.is_held());
    assert!(started.elapsed() >= Duration::from_millis(100));
    held.release().await;
    let third = b.lock_renewal("1", Duration::from_secs(5)).await.unwrap();
    assert!(third.is_held());
    third.release().await;
    other.release().await;
    std::fs::remove_dir_all(&dir).unwrap();
}

/// The child side of `processes_saving_different_shops_lose_nothing`: saves shops
/// `<prefix>-0..<count>` into the store named by the environment.
#[tokio::test]
async fn child_saves_its_shops() {
    let (Ok(path), Ok(prefix)) = (std::env::var("DOUDIAN_TEST_TOKEN_FILE"), std::env::var("DOUDIAN_TEST_PREFIX"))
    else {
        return; // run by the parent test only
    };
    let store = FileTokenStore::new(path);
    for i in 0..25 {
        store.save(&format!("{prefix}-{i}"), &token(i)).await.unwrap();
        store.save("shared", &token(i)).await.unwrap();
    }
}

#[tokio::test]
async fn processes_saving_different_shops_lose_nothing() {
    let dir = scratch("processes");
    let path = dir.join("tokens.json");
    // Every child moves one shop out of the single file: its rewrites must not collide.
    let legacy: Vec<_> = (0..4).map(|child| format!("p{child}-0")).collect();
    write_legacy(&path, &legacy.iter().map(|k| (k.as_str(), token(99))).collect::<Vec<_>>());
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
    let store = FileTokenStore::new(&path);
    for child in 0..4 {
        for i in 0..25 {
            assert_eq!(store.load(&format!("p{child}-{i}")).await.unwrap(), Some(token(i)), "p{child}-{i}");
        }
    }
    assert!(!path.exists(), "every shop moved out of the single file");
    let names = names_in(store.directory());
    assert_eq!(names.iter().filter(|n| n.ends_with(".json")).count(), 101);
    assert!(!names.iter().any(|n| n.contains(".tmp")), "{names:?}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn lists_every_shop_in_pages_with_legacy_and_long_keys_and_a_bad_file_on_its_own() {
    use futures_util::TryStreamExt;
    let dir = scratch("list");
    let path = dir.join("tokens.json");
    let store = FileTokenStore::new(&path);
    // Two shops still in the single file of earlier versions, one of them moved since.
    write_legacy(&path, &[("legacy", token(1)), ("moved", token(2))]);
    store.save("moved", &token(3)).await.unwrap();
    for shop in 0..7 {
        store.save(&format!("shop-{shop}"), &token(10 + shop)).await.unwrap();
    }
    let long = "a".repeat(300);
    let mut long_token = token(20);
    long_token.shop_id = long.clone();
    store.save(&long, &long_token).await.unwrap();
    store.save("Odd/Key", &token(21)).await.unwrap();
    std::fs::write(store.token_path("broken"), b"{not a token").unwrap();
    // A long key (its file named by its hash) whose token names another shop: its key
    // cannot be known, so it is listed under its file's name, as an error.
    let stray = "b".repeat(300);
    let mut stray_token = token(22);
    stray_token.shop_id = "another-shop".into();
    store.save(&stray, &stray_token).await.unwrap();
    let stray_stem = store.token_path(&stray).file_stem().unwrap().to_string_lossy().into_owned();

    let listed: Vec<_> = crate::token::list_tokens(&store, 3).try_collect().await.unwrap();
    let mut seen: Vec<(String, Option<u64>)> =
        listed.iter().map(|t| (t.key.clone(), t.token.as_ref().ok().map(|t| t.expires_at))).collect();
    seen.sort();
    let mut expected: Vec<(String, Option<u64>)> = (0..7).map(|s| (format!("shop-{s}"), Some(10 + s))).collect();
    expected.extend([
        ("legacy".to_owned(), Some(1)),
        ("moved".to_owned(), Some(3)),
        (long.clone(), Some(20)),
        ("Odd/Key".to_owned(), Some(21)),
        ("broken".to_owned(), None),
        (stray_stem.clone(), None),
    ]);
    expected.sort();
    assert_eq!(seen, expected);
    let broken = listed.iter().find(|t| t.key == "broken").unwrap();
    assert!(source_chain(broken.token.as_ref().unwrap_err()).contains("is not a token file"));
    let stray = listed.iter().find(|t| t.key == stray_stem).unwrap();
    assert!(source_chain(stray.token.as_ref().unwrap_err()).contains("cannot be told from its file name"));

    // Pages are bounded and follow each other without overlap.
    let first = store.list_page(None, 3).await.unwrap();
    assert_eq!(first.tokens.len(), 3);
    let second = store.list_page(first.next.as_deref(), 3).await.unwrap();
    let overlap = second.tokens.iter().filter(|t| first.tokens.iter().any(|f| f.key == t.key)).count();
    assert_eq!((second.tokens.len(), overlap), (3, 0));
    // An empty store lists nothing.
    let empty = FileTokenStore::new(dir.join("none.json")).list_page(None, 3).await.unwrap();
    assert!(empty.tokens.is_empty() && empty.next.is_none());
    // A directory that cannot be read is an error, not an empty store.
    std::fs::write(dir.join("file.json.d"), b"not a directory").unwrap();
    let unreadable = FileTokenStore::new(dir.join("file.json")).list_page(None, 3).await.unwrap_err();
    assert!(source_chain(&unreadable).contains("cannot list"), "{}", source_chain(&unreadable));
    let _ = std::fs::remove_dir_all(&dir);
}
