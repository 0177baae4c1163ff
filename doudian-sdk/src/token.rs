//! Access tokens: how they are obtained, stored and refreshed (PROTOCOL.md §4).
//!
//! The platform's rules: an access token lives 7 days and its refresh token 14; refreshing
//! more than an hour before expiry returns the *same* pair, refreshing inside the last hour
//! returns a new pair (the old one stays valid for another hour), refreshing after expiry
//! returns a new pair and kills the old one. So the SDK refreshes inside the last hour,
//! persists the new pair before using it, and refreshes at most once per shop at a time.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use futures_util::future::BoxFuture;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::secret::AccessToken;

/// Values of `expires_in` below this are a lifetime in seconds; larger ones an absolute
/// Unix time (the platform's own documentation says both).
const EPOCH_THRESHOLD: u64 = 1_000_000_000;
/// Refresh tokens live 14 days.
const REFRESH_TOKEN_LIFETIME: u64 = 14 * 24 * 3600;

/// How the SDK obtains a token for a shop (or other subject) it has none for.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Grant {
    /// A self-use app (自用型) acting for its own shop: `authorization_self` + `shop_id`.
    SelfUseShop {
        /// The shop id.
        shop_id: String,
    },
    /// A self-use app acting for a non-shop subject: `authorization_self` + `auth_id` +
    /// `auth_subject_type` (YunCang, WuLiuShang, WLGongYingShang, MiniApp, MCN, DouKe, Colonel).
    SelfUseSubject {
        /// The subject's id.
        auth_id: String,
        /// The subject type.
        subject_type: String,
    },
    /// A tool app (工具型): the `code` from the shop's consent redirect (valid 10 minutes).
    AuthorizationCode(String),
}

impl Grant {
    /// The token-store key this grant's token is kept under, when known up front.
    /// (A code's shop is only known from the token reply.)
    pub fn key(&self) -> Option<&str> {
        match self {
            Grant::SelfUseShop { shop_id } => Some(shop_id),
            Grant::SelfUseSubject { auth_id, .. } => Some(auth_id),
            Grant::AuthorizationCode(_) => None,
        }
    }

    /// The token.create parameters of this grant.
    pub(crate) fn create_params(&self, test_shop: bool) -> serde_json::Value {
        let mut params = match self {
            Grant::SelfUseShop { shop_id } => serde_json::json!({
                "grant_type": "authorization_self", "code": "", "shop_id": shop_id,
            }),
            Grant::SelfUseSubject { auth_id, subject_type } => serde_json::json!({
                "grant_type": "authorization_self", "code": "",
                "auth_id": auth_id, "auth_subject_type": subject_type,
            }),
            Grant::AuthorizationCode(code) => serde_json::json!({
                "grant_type": "authorization_code", "code": code,
            }),
        };
        if test_shop {
            params["test_shop"] = "1".into();
        }
        params
    }
}

/// A token pair as kept in a [`TokenStore`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct StoredToken {
    /// The access token.
    pub access_token: AccessToken,
    /// The refresh token.
    pub refresh_token: AccessToken,
    /// When the access token expires (Unix seconds).
    pub expires_at: u64,
    /// When the refresh token expires (Unix seconds; 14 days after issue).
    pub refresh_expires_at: u64,
    /// The shop id (or other subject id) the token is for.
    pub shop_id: String,
    /// The shop's name.
    #[serde(default)]
    pub shop_name: String,
    /// The granted scope.
    #[serde(default)]
    pub scope: String,
    /// The authority id, for non-shop subjects.
    #[serde(default)]
    pub authority_id: String,
}

impl StoredToken {
    /// Whether the access token has expired at `now` (Unix seconds).
    pub fn is_expired(&self, now: u64) -> bool {
        now >= self.expires_at
    }

    /// Whether the token should be refreshed at `now`: inside the last `window` of its life.
    pub fn needs_refresh(&self, now: u64, window: Duration) -> bool {
        now.saturating_add(window.as_secs()) >= self.expires_at
    }

    pub(crate) fn from_reply(reply: TokenReply, now: u64) -> Result<StoredToken> {
        if reply.access_token.is_empty() || reply.refresh_token.is_empty() {
            return Err(Error::config("token reply carries no access_token/refresh_token"));
        }
        let expires_in = reply.expires_in.as_ref().and_then(json_u64).unwrap_or(7 * 24 * 3600);
        let expires_at = if expires_in >= EPOCH_THRESHOLD { expires_in } else { now + expires_in };
        Ok(StoredToken {
            access_token: AccessToken::new(reply.access_token),
            refresh_token: AccessToken::new(reply.refresh_token),
            expires_at,
            refresh_expires_at: now + REFRESH_TOKEN_LIFETIME,
            shop_id: reply.shop_id.as_ref().map(json_text).unwrap_or_default(),
            shop_name: reply.shop_name,
            scope: reply.scope,
            authority_id: reply.authority_id.as_ref().map(json_text).unwrap_or_default(),
        })
    }
}

/// The `data` of a token.create / token.refresh reply. `shop_id` and `expires_in` come
/// as numbers or strings depending on the SDK generation, so both are accepted.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct TokenReply {
    pub access_token: String,
    pub refresh_token: String,
    pub expires_in: Option<serde_json::Value>,
    pub shop_id: Option<serde_json::Value>,
    pub shop_name: String,
    pub scope: String,
    pub authority_id: Option<serde_json::Value>,
}

fn json_u64(value: &serde_json::Value) -> Option<u64> {
    match value {
        serde_json::Value::Number(n) => n.as_u64(),
        serde_json::Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

fn json_text(value: &serde_json::Value) -> String {
    match value {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// Unix seconds now.
pub(crate) fn unix_now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}

/// Where tokens are kept between calls and between runs. Implement it for a database or
/// a shared cache when several processes serve the same shops.
pub trait TokenStore: Send + Sync + 'static {
    /// The token kept for `key` (a shop id or subject id), if any.
    fn load<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<Option<StoredToken>>>;
    /// Keeps `token` for `key`, replacing any earlier one. Must be durable when it returns.
    fn save<'a>(&'a self, key: &'a str, token: &'a StoredToken) -> BoxFuture<'a, Result<()>>;
    /// Forgets the token for `key`.
    fn remove<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<()>>;
}

/// Keeps tokens in memory: they are lost when the process ends.
#[derive(Debug, Default)]
pub struct MemoryTokenStore {
    tokens: Mutex<HashMap<String, StoredToken>>,
}

impl MemoryTokenStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }
}

impl TokenStore for MemoryTokenStore {
    fn load<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<Option<StoredToken>>> {
        let token = self.tokens.lock().unwrap_or_else(|p| p.into_inner()).get(key).cloned();
        Box::pin(async move { Ok(token) })
    }

    fn save<'a>(&'a self, key: &'a str, token: &'a StoredToken) -> BoxFuture<'a, Result<()>> {
        self.tokens.lock().unwrap_or_else(|p| p.into_inner()).insert(key.to_owned(), token.clone());
        Box::pin(async { Ok(()) })
    }

    fn remove<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<()>> {
        self.tokens.lock().unwrap_or_else(|p| p.into_inner()).remove(key);
        Box::pin(async { Ok(()) })
    }
}

/// Keeps tokens in one JSON file. Every save writes a temporary file beside it, syncs it
/// and renames it over the old one, so a crash mid-write leaves the previous file intact.
#[derive(Debug)]
pub struct FileTokenStore {
    path: PathBuf,
    /// Serialises read-modify-write cycles within this process.
    write_lock: tokio::sync::Mutex<()>,
}

impl FileTokenStore {
    /// A store kept in the file at `path` (created on first save).
    pub fn new(path: impl Into<PathBuf>) -> Self {
        FileTokenStore { path: path.into(), write_lock: tokio::sync::Mutex::new(()) }
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    async fn read_all(&self) -> Result<BTreeMap<String, StoredToken>> {
        let path = self.path.clone();
        let bytes = match tokio::fs::read(&path).await {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(BTreeMap::new()),
            Err(e) => return Err(store_error(format!("cannot read {}", path.display()), e)),
        };
        serde_json::from_slice(&bytes).map_err(|e| store_error(format!("{} is not a token file", path.display()), e))
    }

    async fn write_all(&self, tokens: &BTreeMap<String, StoredToken>) -> Result<()> {
        let bytes = serde_json::to_vec_pretty(tokens).map_err(|e| store_error("cannot encode tokens", e))?;
        let path = self.path.clone();
        tokio::task::spawn_blocking(move || write_atomically(&path, &bytes))
            .await
            .map_err(|e| store_error("token file writer stopped", e))?
    }
}

fn store_error(message: impl Into<String>, source: impl std::error::Error + Send + Sync + 'static) -> Error {
    Error::TokenStore { message: message.into(), source: Some(Box::new(source)) }
}

/// Writes `bytes` to a fresh temporary file in the same directory, syncs it, renames it
/// over `path` and syncs the directory, so readers see the old or the new file, never half.
fn write_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    use std::io::Write;
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let tmp = dir.join(format!(".{name}.tmp-{}-{}", std::process::id(), COUNTER.fetch_add(1, Ordering::Relaxed)));
    let result = (|| {
        let mut file = std::fs::File::create(&tmp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        std::fs::rename(&tmp, path)?;
        if let Ok(dir) = std::fs::File::open(&dir) {
            let _ = dir.sync_all();
        }
        Ok(())
    })();
    result.map_err(|e: std::io::Error| {
        let _ = std::fs::remove_file(&tmp);
        store_error(format!("cannot write {}", path.display()), e)
    })
}

impl TokenStore for FileTokenStore {
    fn load<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<Option<StoredToken>>> {
        Box::pin(async move { Ok(self.read_all().await?.remove(key)) })
    }

    fn save<'a>(&'a self, key: &'a str, token: &'a StoredToken) -> BoxFuture<'a, Result<()>> {
        Box::pin(async move {
            let _guard = self.write_lock.lock().await;
            let mut all = self.read_all().await?;
            all.insert(key.to_owned(), token.clone());
            self.write_all(&all).await
        })
    }

    fn remove<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<()>> {
        Box::pin(async move {
            let _guard = self.write_lock.lock().await;
            let mut all = self.read_all().await?;
            if all.remove(key).is_some() {
                self.write_all(&all).await?;
            }
            Ok(())
        })
    }
}

/// The two token calls, as the token manager needs them (implemented by the client).
pub(crate) trait TokenEndpoint: Send + Sync {
    fn create<'a>(&'a self, grant: &'a Grant) -> BoxFuture<'a, Result<TokenReply>>;
    fn refresh<'a>(&'a self, refresh_token: &'a AccessToken) -> BoxFuture<'a, Result<TokenReply>>;
}

type Slot = Arc<tokio::sync::Mutex<Option<StoredToken>>>;

/// Hands out valid tokens per shop, refreshing at most once per shop at a time.
pub(crate) struct TokenManager {
    store: Arc<dyn TokenStore>,
    refresh_window: Duration,
    test_shop: bool,
    /// One async lock per shop: the single-flight point for creating and refreshing.
    slots: Mutex<HashMap<String, Slot>>,
}

impl TokenManager {
    pub(crate) fn new(store: Arc<dyn TokenStore>, refresh_window: Duration, test_shop: bool) -> Self {
        TokenManager { store, refresh_window, test_shop, slots: Mutex::new(HashMap::new()) }
    }

    fn slot(&self, key: &str) -> Slot {
        let mut slots = self.slots.lock().unwrap_or_else(|p| p.into_inner());
        slots.entry(key.to_owned()).or_default().clone()
    }

    /// A valid token for `key`: cached, loaded, refreshed inside the last window, or created
    /// with `grant` when there is none.
    pub(crate) async fn token(&self, key: &str, grant: Option<&Grant>, api: &dyn TokenEndpoint) -> Result<StoredToken> {
        let slot = self.slot(key);
        let mut current = slot.lock().await;
        if current.is_none() {
            *current = self.store.load(key).await?;
        }
        let now = unix_now();
        match current.clone() {
            Some(token) if !token.needs_refresh(now, self.refresh_window) => Ok(token),
            Some(token) if now < token.refresh_expires_at => {
                match self.refresh(key, &token, api).await {
                    Ok(fresh) => {
                        *current = Some(fresh.clone());
                        Ok(fresh)
                    }
                    // Still valid: keep serving the old token; the next call tries again.
                    Err(e) if !token.is_expired(now) && !matches!(e, Error::TokenStore { .. }) => {
                        tracing::warn!(shop = key, error = %e, "token refresh failed; old token still valid");
                        Ok(token)
                    }
                    Err(e) => self.create_or(key, grant, api, &mut current, e).await,
                }
            }
            _ => {
                let missing = Error::config(format!(
                    "no usable token for `{key}`: authorise the shop first (tool apps: Client::authorize_code)"
                ));
                self.create_or(key, grant, api, &mut current, missing).await
            }
        }
    }

    /// Called after the platform rejected `rejected` as expired or unknown: refresh once
    /// (or create anew), unless another caller already replaced the token.
    pub(crate) async fn replace_rejected(
        &self,
        key: &str,
        rejected: &AccessToken,
        grant: Option<&Grant>,
        api: &dyn TokenEndpoint,
    ) -> Result<StoredToken> {
        let slot = self.slot(key);
        let mut current = slot.lock().await;
        if current.is_none() {
            *current = self.store.load(key).await?;
        }
        match current.clone() {
            Some(token) if &token.access_token != rejected => Ok(token),
            Some(token) => match self.refresh(key, &token, api).await {
                Ok(fresh) if &fresh.access_token != rejected => {
                    *current = Some(fresh.clone());
                    Ok(fresh)
                }
                Ok(_) => {
                    let e = Error::config(format!(
                        "the platform rejects the token of `{key}` and refresh returns it again"
                    ));
                    self.create_or(key, grant, api, &mut current, e).await
                }
                Err(e) => self.create_or(key, grant, api, &mut current, e).await,
            },
            None => {
                let e = Error::config(format!("no token for `{key}`"));
                self.create_or(key, grant, api, &mut current, e).await
            }
        }
    }

    /// Exchanges a grant for a token and stores it under its shop id (tool apps: the code's shop).
    pub(crate) async fn create(&self, grant: &Grant, api: &dyn TokenEndpoint) -> Result<StoredToken> {
        let reply = api.create(grant).await?;
        let token = StoredToken::from_reply(reply, unix_now())?;
        let key = grant.key().map(str::to_owned).unwrap_or_else(|| token.shop_id.clone());
        if key.is_empty() {
            return Err(Error::config("token reply names no shop_id"));
        }
        let slot = self.slot(&key);
        let mut current = slot.lock().await;
        self.store.save(&key, &token).await?;
        *current = Some(token.clone());
        Ok(token)
    }

    async fn refresh(&self, key: &str, token: &StoredToken, api: &dyn TokenEndpoint) -> Result<StoredToken> {
        let reply = api.refresh(&token.refresh_token).await?;
        let mut fresh = StoredToken::from_reply(reply, unix_now())?;
        if fresh.shop_id.is_empty() {
            fresh.shop_id = token.shop_id.clone();
        }
        if fresh.refresh_token == token.refresh_token {
            // The platform handed back the same pair: its refresh token's life is unchanged.
            fresh.refresh_expires_at = token.refresh_expires_at;
        }
        // Persist before use: a crash after this point never loses the new pair.
        self.store.save(key, &fresh).await?;
        tracing::debug!(shop = key, same_pair = fresh.access_token == token.access_token, "token refreshed");
        Ok(fresh)
    }

    async fn create_or(
        &self,
        key: &str,
        grant: Option<&Grant>,
        api: &dyn TokenEndpoint,
        current: &mut Option<StoredToken>,
        otherwise: Error,
    ) -> Result<StoredToken> {
        // Only grants that need no user interaction can mint a new token here.
        let Some(grant) = grant.filter(|g| g.key() == Some(key)) else {
            return Err(otherwise);
        };
        let reply = api.create(grant).await?;
        let token = StoredToken::from_reply(reply, unix_now())?;
        self.store.save(key, &token).await?;
        *current = Some(token.clone());
        Ok(token)
    }

    pub(crate) fn test_shop(&self) -> bool {
        self.test_shop
    }

    pub(crate) fn store(&self) -> &Arc<dyn TokenStore> {
        &self.store
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn token(expires_at: u64) -> StoredToken {
        StoredToken {
            access_token: AccessToken::new("a"),
            refresh_token: AccessToken::new("r"),
            expires_at,
            refresh_expires_at: expires_at + 7 * 86400,
            shop_id: "1".into(),
            shop_name: String::new(),
            scope: String::new(),
            authority_id: String::new(),
        }
    }

    #[test]
    fn refresh_window_is_the_last_hour() {
        let t = token(10_000);
        let hour = Duration::from_secs(3600);
        assert!(!t.needs_refresh(10_000 - 3601, hour));
        assert!(t.needs_refresh(10_000 - 3600, hour));
        assert!(!t.is_expired(9_999));
        assert!(t.is_expired(10_000));
    }

    #[test]
    fn expires_in_is_a_duration_or_an_epoch() {
        let reply = |v: serde_json::Value| TokenReply {
            access_token: "a".into(),
            refresh_token: "r".into(),
            expires_in: Some(v),
            shop_id: Some(serde_json::json!(4463798)),
            ..TokenReply::default()
        };
        let now = 1_700_000_000;
        assert_eq!(StoredToken::from_reply(reply(serde_json::json!(604800)), now).unwrap().expires_at, now + 604800);
        assert_eq!(StoredToken::from_reply(reply(serde_json::json!("604800")), now).unwrap().expires_at, now + 604800);
        assert_eq!(
            StoredToken::from_reply(reply(serde_json::json!(1_700_600_000u64)), now).unwrap().expires_at,
            1_700_600_000
        );
        assert_eq!(StoredToken::from_reply(reply(serde_json::json!(1)), now).unwrap().shop_id, "4463798");
        assert!(StoredToken::from_reply(TokenReply::default(), now).is_err());
    }

    #[test]
    fn stored_token_debug_hides_tokens() {
        let text = format!("{:?}", token(1));
        assert!(!text.contains("\"a\"") && text.contains("access_token: <redacted>"), "{text}");
    }

    /// A token endpoint that counts calls and hands out numbered tokens.
    struct CountingEndpoint {
        creates: AtomicU64,
        refreshes: AtomicU64,
        lifetime: u64,
    }

    impl CountingEndpoint {
        fn new(lifetime: u64) -> Self {
            CountingEndpoint { creates: AtomicU64::new(0), refreshes: AtomicU64::new(0), lifetime }
        }
        fn reply(&self, n: u64) -> TokenReply {
            TokenReply {
                access_token: format!("access-{n}"),
                refresh_token: format!("refresh-{n}"),
                expires_in: Some(serde_json::json!(self.lifetime)),
                shop_id: Some(serde_json::json!("42")),
                ..TokenReply::default()
            }
        }
    }

    impl TokenEndpoint for CountingEndpoint {
        fn create<'a>(&'a self, _grant: &'a Grant) -> BoxFuture<'a, Result<TokenReply>> {
            let n = self.creates.fetch_add(1, Ordering::SeqCst);
            Box::pin(async move {
                tokio::time::sleep(Duration::from_millis(20)).await;
                Ok(self.reply(n))
            })
        }
        fn refresh<'a>(&'a self, _token: &'a AccessToken) -> BoxFuture<'a, Result<TokenReply>> {
            let n = 100 + self.refreshes.fetch_add(1, Ordering::SeqCst);
            Box::pin(async move {
                tokio::time::sleep(Duration::from_millis(20)).await;
                Ok(self.reply(n))
            })
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_callers_share_one_create_and_one_refresh() {
        let grant = Grant::SelfUseShop { shop_id: "42".into() };
        // A week of life: the 50 callers need one create and no refresh.
        let manager = Arc::new(TokenManager::new(Arc::new(MemoryTokenStore::new()), Duration::from_secs(3600), false));
        let endpoint = Arc::new(CountingEndpoint::new(7 * 86400));
        let mut tasks = Vec::new();
        for _ in 0..50 {
            let (manager, endpoint, grant) = (manager.clone(), endpoint.clone(), grant.clone());
            tasks.push(tokio::spawn(async move { manager.token("42", Some(&grant), &*endpoint).await.unwrap() }));
        }
        for task in tasks {
            assert_eq!(task.await.unwrap().access_token.expose(), "access-0");
        }
        assert_eq!(endpoint.creates.load(Ordering::SeqCst), 1);
        assert_eq!(endpoint.refreshes.load(Ordering::SeqCst), 0);

        // The platform rejects access-0 for 50 concurrent callers: exactly one refresh.
        let mut tasks = Vec::new();
        for _ in 0..50 {
            let (manager, endpoint, grant) = (manager.clone(), endpoint.clone(), grant.clone());
            tasks.push(tokio::spawn(async move {
                manager.replace_rejected("42", &AccessToken::new("access-0"), Some(&grant), &*endpoint).await.unwrap()
            }));
        }
        for task in tasks {
            assert_eq!(task.await.unwrap().access_token.expose(), "access-100");
        }
        assert_eq!(endpoint.refreshes.load(Ordering::SeqCst), 1);
        assert_eq!(endpoint.creates.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn refreshes_inside_the_window_and_persists_before_use() {
        let store = Arc::new(MemoryTokenStore::new());
        let manager = TokenManager::new(store.clone(), Duration::from_secs(3600), false);
        // 30 minutes of life: inside the last hour, so the first use refreshes it.
        let endpoint = CountingEndpoint::new(1800);
        let mut old = token(unix_now() + 1800);
        old.shop_id = "42".into();
        store.save("42", &old).await.unwrap();
        let fresh = manager.token("42", None, &endpoint).await.unwrap();
        assert_eq!(fresh.access_token.expose(), "access-100");
        assert_eq!(store.load("42").await.unwrap().unwrap().access_token.expose(), "access-100");
        assert_eq!(endpoint.refreshes.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn tool_app_without_token_gets_a_clear_error() {
        let manager = TokenManager::new(Arc::new(MemoryTokenStore::new()), Duration::from_secs(3600), false);
        let endpoint = CountingEndpoint::new(7 * 86400);
        let err = manager.token("77", None, &endpoint).await.unwrap_err();
        assert!(matches!(err, Error::Config(ref m) if m.contains("authorise")), "{err}");
        assert_eq!(endpoint.creates.load(Ordering::SeqCst), 0);
    }

    #[tokio::test]
    async fn file_store_round_trips_and_replaces_atomically() {
        let dir = std::env::temp_dir().join(format!("doudian-token-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("tokens.json");
        let _ = std::fs::remove_file(&path);
        let store = FileTokenStore::new(&path);
        assert_eq!(store.load("1").await.unwrap(), None);
        store.save("1", &token(5)).await.unwrap();
        store.save("2", &token(6)).await.unwrap();
        // A temp file left by a crash mid-write does not disturb the real file.
        std::fs::write(dir.join(".tokens.json.tmp-0-0"), b"{half").unwrap();
        let reopened = FileTokenStore::new(&path);
        assert_eq!(reopened.load("1").await.unwrap(), Some(token(5)));
        assert_eq!(reopened.load("2").await.unwrap().unwrap().expires_at, 6);
        reopened.remove("1").await.unwrap();
        assert_eq!(FileTokenStore::new(&path).load("1").await.unwrap(), None);
        std::fs::write(&path, b"not json").unwrap();
        assert!(matches!(reopened.load("2").await, Err(Error::TokenStore { .. })));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
