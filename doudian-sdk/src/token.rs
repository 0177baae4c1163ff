//! Access tokens: how they are obtained, stored and refreshed (PROTOCOL.md §4).
//!
//! The platform's rules: an access token lives 7 days and its refresh token 14; refreshing
//! more than an hour before expiry returns the *same* pair, refreshing inside the last hour
//! returns a new pair (the old one stays valid for another hour), refreshing after expiry
//! returns a new pair and kills the old one. So the SDK refreshes inside the last hour,
//! persists the new pair before using it, and refreshes at most once per shop at a time —
//! across processes too, when they share a store that can lock ([`FileTokenStore`],
//! `redis::Redis::token_store` with the `redis` feature).
//!
//! While the token is still valid, refreshing is opportunistic: one attempt per shop at a
//! time, callers keep the valid token (waiting at most a short bound for the new one), and
//! failures back off. Callers wait for the renewal only when the token has expired or the
//! platform rejected it. A refresh token the platform refused is tried once; every caller
//! then gets that refusal at once (self-use apps create a new token instead).

mod file;
mod list;
mod manager;
mod renew;

use std::collections::HashMap;
use std::future::Future;
use std::sync::Mutex;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use futures_util::future::BoxFuture;
use serde::{Deserialize, Serialize};

pub use file::FileTokenStore;
pub use list::{list_tokens, ListedToken, TokenPage, TokenState};
pub use manager::TokenHealth;
pub(crate) use manager::{TokenEndpoint, TokenManager, TokenSettings};
pub(crate) use renew::renew_due;
pub use renew::{FailedShop, RefusedShop, RenewalReport, RenewedShop};

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

    /// Whether this grant can create a new token for the shop kept under `key`.
    pub(crate) fn creates_for(&self, key: &str) -> bool {
        self.key() == Some(key)
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
    /// The platform refused this pair's refresh token: the shop must consent again (a new
    /// authorisation saves a new pair, without this mark). Absent from pairs stored by
    /// earlier versions, and left out of the JSON when unset, so they read each other's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refused: Option<RefreshRefusal>,
}

/// The platform's answer refusing a refresh token (kept on the [`StoredToken`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct RefreshRefusal {
    /// The platform's code (50001 for a refresh token it does not know or that expired).
    pub code: i64,
    /// The platform's sub_code, e.g. `dop.token-generate-failed:token-invalid`.
    pub sub_code: String,
    /// The platform's message (sub_msg, else msg).
    pub message: String,
    /// When it refused (Unix seconds).
    pub at: u64,
}

impl RefreshRefusal {
    /// The refusal in the platform's `answer`, at `at`.
    pub fn from_api(answer: &crate::error::ApiError, at: u64) -> Self {
        let message = if answer.sub_msg.is_empty() { &answer.msg } else { &answer.sub_msg };
        RefreshRefusal { code: answer.code, sub_code: answer.sub_code.clone(), message: message.clone(), at }
    }
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

    /// The shop's state at `now`: whether it [needs consent](TokenState::NeedsConsent)
    /// (its refresh token expired or was refused), is [due for renewal](TokenState::RenewDue)
    /// (its refresh token expires within `renew_within`), or is [valid](TokenState::Valid).
    pub fn state(&self, now: u64, renew_within: Duration) -> TokenState {
        if self.refused.is_some() || now >= self.refresh_expires_at {
            TokenState::NeedsConsent
        } else if now.saturating_add(renew_within.as_secs()) >= self.refresh_expires_at {
            TokenState::RenewDue
        } else {
            TokenState::Valid
        }
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
            refused: None,
        })
    }
}

/// The `data` of a token.create / token.refresh reply. `shop_id` and `expires_in` come
/// as numbers or strings depending on the SDK generation, so both are accepted.
#[derive(Default, Deserialize)]
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

impl std::fmt::Debug for TokenReply {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenReply")
            .field("access_token", &crate::secret::Redacted(&self.access_token))
            .field("refresh_token", &crate::secret::Redacted(&self.refresh_token))
            .field("expires_in", &self.expires_in)
            .field("shop_id", &self.shop_id)
            .finish_non_exhaustive()
    }
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
    /// Takes the lock under which one process renews `key`'s token while the others wait
    /// and then read the new pair. Held at most `lease`: a store may give it up when its
    /// holder is gone or slow, and returns [`RenewalLock::unlocked`] after waiting that
    /// long. Stores that serve one process need no lock (the default): the SDK already
    /// renews once per shop within a process.
    fn lock_renewal<'a>(&'a self, key: &'a str, lease: Duration) -> BoxFuture<'a, Result<RenewalLock>> {
        let _ = (key, lease);
        Box::pin(async { Ok(RenewalLock::unlocked()) })
    }

    /// One page of the store's tokens: up to about `limit` of them, starting where the page
    /// that returned `cursor` as its [`next`](TokenPage::next) ended (`None`: from the
    /// start). [`list_tokens`] walks every page. A token that cannot be read is listed
    /// with its error; only a store that cannot be walked at all fails the page.
    ///
    /// A store may list a key twice across pages when it changes during the walk (Redis
    /// `SCAN` does); [`list_tokens`] drops the repeats. Stores that cannot enumerate their
    /// keys keep this default, which fails with an [`Error::TokenStore`] whose source is
    /// a [`ListingUnsupported`](crate::error::ListingUnsupported).
    fn list_page<'a>(&'a self, cursor: Option<&'a str>, limit: usize) -> BoxFuture<'a, Result<TokenPage>> {
        let _ = (cursor, limit);
        let unsupported = crate::error::ListingUnsupported { store: std::any::type_name::<Self>() };
        Box::pin(async move { Err(store_error("this token store cannot list its shops", unsupported)) })
    }
}

/// A held renewal lock (see [`TokenStore::lock_renewal`]). Release it with
/// [`release`](Self::release); dropped unreleased, it is released in the background.
#[must_use = "a renewal lock is released when dropped"]
pub struct RenewalLock {
    release: Option<BoxFuture<'static, ()>>,
}

impl std::fmt::Debug for RenewalLock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RenewalLock").field("held", &self.release.is_some()).finish()
    }
}

impl RenewalLock {
    /// A lock whose release runs `release` (deleting a lock key, closing a lock file).
    pub fn new(release: impl Future<Output = ()> + Send + 'static) -> Self {
        RenewalLock { release: Some(Box::pin(release)) }
    }

    /// No lock: for stores used by one process, or when waiting for the lock timed out.
    pub fn unlocked() -> Self {
        RenewalLock { release: None }
    }

    /// Whether a lock is held.
    pub fn is_held(&self) -> bool {
        self.release.is_some()
    }

    /// Releases the lock.
    pub async fn release(mut self) {
        if let Some(release) = self.release.take() {
            release.await;
        }
    }
}

impl Drop for RenewalLock {
    fn drop(&mut self) {
        if let Some(release) = self.release.take() {
            if let Ok(runtime) = tokio::runtime::Handle::try_current() {
                runtime.spawn(release);
            }
        }
    }
}

pub(crate) fn store_error(message: impl Into<String>, source: impl std::error::Error + Send + Sync + 'static) -> Error {
    Error::TokenStore { message: message.into(), source: Some(Box::new(source)) }
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

    /// Pages in key order; the cursor is the last key of the page before.
    fn list_page<'a>(&'a self, cursor: Option<&'a str>, limit: usize) -> BoxFuture<'a, Result<TokenPage>> {
        let tokens = self.tokens.lock().unwrap_or_else(|p| p.into_inner());
        let mut keys: Vec<&String> = tokens.keys().filter(|k| cursor.is_none_or(|c| k.as_str() > c)).collect();
        keys.sort_unstable();
        let limit = limit.max(1);
        let next = (keys.len() > limit).then(|| keys[limit - 1].clone());
        let listed = keys
            .into_iter()
            .take(limit)
            .map(|key| ListedToken { key: key.clone(), token: Ok(tokens[key].clone()) })
            .collect();
        Box::pin(async move { Ok(TokenPage { tokens: listed, next }) })
    }
}

/// A shared store is a store, so a caller can keep a handle to the store it hands a client
/// (`.token_store(Arc::clone(&store))`), or hand it an `Arc<dyn TokenStore>`.
impl<S: TokenStore + ?Sized> TokenStore for std::sync::Arc<S> {
    fn load<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<Option<StoredToken>>> {
        (**self).load(key)
    }

    fn save<'a>(&'a self, key: &'a str, token: &'a StoredToken) -> BoxFuture<'a, Result<()>> {
        (**self).save(key, token)
    }

    fn remove<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<()>> {
        (**self).remove(key)
    }

    fn lock_renewal<'a>(&'a self, key: &'a str, lease: Duration) -> BoxFuture<'a, Result<RenewalLock>> {
        (**self).lock_renewal(key, lease)
    }

    fn list_page<'a>(&'a self, cursor: Option<&'a str>, limit: usize) -> BoxFuture<'a, Result<TokenPage>> {
        (**self).list_page(cursor, limit)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A pair for shop "1" expiring at `expires_at`; tokens "a" and "r".
    pub(crate) fn token(expires_at: u64) -> StoredToken {
        StoredToken {
            access_token: AccessToken::new("a"),
            refresh_token: AccessToken::new("r"),
            expires_at,
            refresh_expires_at: expires_at + 7 * 86400,
            shop_id: "1".into(),
            shop_name: String::new(),
            scope: String::new(),
            authority_id: String::new(),
            refused: None,
        }
    }

    #[test]
    fn token_reply_debug_hides_both_tokens() {
        let reply = TokenReply {
            access_token: "live-access".into(),
            refresh_token: "live-refresh".into(),
            expires_in: Some(serde_json::json!(3600)),
            shop_id: Some(serde_json::json!("42")),
            ..TokenReply::default()
        };
        let text = format!("{reply:?}");
        assert!(text.starts_with("TokenReply {") && text.contains("3600") && text.contains("\"42\""), "{text}");
        assert!(!text.contains("live-access") && !text.contains("live-refresh"), "{text}");
    }

    #[tokio::test]
    async fn a_renewal_lock_is_released_once_whether_released_or_dropped() {
        use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
        use std::sync::Arc;
        let released = Arc::new(AtomicUsize::new(0));
        let lock = || {
            let released = released.clone();
            RenewalLock::new(async move {
                released.fetch_add(1, SeqCst);
            })
        };
        let held = lock();
        assert!(held.is_held());
        assert_eq!(format!("{held:?}"), "RenewalLock { held: true }");
        held.release().await;
        assert_eq!(released.load(SeqCst), 1, "released in place, not left to the runtime");
        drop(lock());
        for _ in 0..100 {
            if released.load(SeqCst) == 2 {
                break;
            }
            tokio::task::yield_now().await;
        }
        assert_eq!(released.load(SeqCst), 2, "dropped unreleased: released in the background");
        let unlocked = RenewalLock::unlocked();
        assert!(!unlocked.is_held());
        assert_eq!(format!("{unlocked:?}"), "RenewalLock { held: false }");
        unlocked.release().await;
        assert_eq!(released.load(SeqCst), 2);
    }

    /// A store whose renewal lock is held: the default `lock_renewal` gives an unlocked one.
    struct Locking(MemoryTokenStore);

    impl TokenStore for Locking {
        fn load<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<Option<StoredToken>>> {
            self.0.load(key)
        }
        fn save<'a>(&'a self, key: &'a str, token: &'a StoredToken) -> BoxFuture<'a, Result<()>> {
            self.0.save(key, token)
        }
        fn remove<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<()>> {
            self.0.remove(key)
        }
        fn lock_renewal<'a>(&'a self, _: &'a str, _: Duration) -> BoxFuture<'a, Result<RenewalLock>> {
            Box::pin(async { Ok(RenewalLock::new(async {})) })
        }
    }

    #[tokio::test]
    async fn a_store_behind_an_arc_is_the_same_store() {
        use std::sync::Arc;
        let store = Arc::new(Locking(MemoryTokenStore::new()));
        let shared: Arc<dyn TokenStore> = store.clone();
        let handed = Arc::new(shared.clone());
        handed.save("1", &token(7)).await.unwrap();
        assert_eq!(store.0.load("1").await.unwrap().map(|t| t.expires_at), Some(7), "saved through the Arc");
        assert_eq!(handed.load("1").await.unwrap().map(|t| t.expires_at), Some(7));
        assert_eq!(TokenStore::load(&store, "1").await.unwrap().map(|t| t.expires_at), Some(7));
        handed.remove("1").await.unwrap();
        assert!(store.0.load("1").await.unwrap().is_none(), "removed through the Arc");
        let lock = handed.lock_renewal("1", Duration::from_secs(1)).await.unwrap();
        assert!(lock.is_held(), "the inner store's lock, not the default");
        lock.release().await;
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
    fn expires_in_is_a_duration_or_an_epoch_and_the_refresh_token_lives_14_days() {
        let reply = |v: serde_json::Value| TokenReply {
            access_token: "a".into(),
            refresh_token: "r".into(),
            expires_in: Some(v),
            shop_id: Some(serde_json::json!(4463798)),
            ..TokenReply::default()
        };
        let now = 1_700_000_000;
        let read = |v| StoredToken::from_reply(reply(v), now).unwrap();
        assert_eq!(read(serde_json::json!(604800)).expires_at, now + 604800);
        // A string other than the 7-day default proves the string is read, not defaulted.
        assert_eq!(read(serde_json::json!(" 3600 ")).expires_at, now + 3600);
        assert_eq!(read(serde_json::json!(1_700_600_000u64)).expires_at, 1_700_600_000);
        assert_eq!(read(serde_json::json!(null)).expires_at, now + 7 * 86400, "absent: the platform's 7 days");
        assert_eq!(read(serde_json::json!(1)).refresh_expires_at, now + 14 * 86400);
        assert_eq!(read(serde_json::json!(1)).shop_id, "4463798");
        let text_shop = TokenReply { shop_id: Some(serde_json::json!("77")), ..reply(serde_json::json!(1)) };
        assert_eq!(StoredToken::from_reply(text_shop, now).unwrap().shop_id, "77");
        assert!(StoredToken::from_reply(TokenReply::default(), now).is_err());
    }

    #[test]
    fn grants_give_their_token_create_parameters_and_key() {
        let shop = Grant::SelfUseShop { shop_id: "42".into() };
        let subject = Grant::SelfUseSubject { auth_id: "7".into(), subject_type: "YunCang".into() };
        let code = Grant::AuthorizationCode("c0de".into());
        assert_eq!((shop.key(), subject.key(), code.key()), (Some("42"), Some("7"), None));
        assert_eq!(
            shop.create_params(false),
            serde_json::json!({"grant_type": "authorization_self", "code": "", "shop_id": "42"})
        );
        assert_eq!(
            subject.create_params(false),
            serde_json::json!({"grant_type": "authorization_self", "code": "", "auth_id": "7", "auth_subject_type": "YunCang"})
        );
        assert_eq!(code.create_params(false), serde_json::json!({"grant_type": "authorization_code", "code": "c0de"}));
        // A test shop's token.create carries `test_shop: "1"`, whatever the grant.
        for grant in [&shop, &subject, &code] {
            let mut expected = grant.create_params(false);
            expected["test_shop"] = "1".into();
            assert_eq!(grant.create_params(true), expected, "{grant:?}");
            assert!(grant.create_params(false).get("test_shop").is_none());
        }
    }

    #[test]
    fn text_and_numbers_of_a_reply_are_read_leniently() {
        use serde_json::json;
        assert_eq!(json_u64(&json!(7)), Some(7));
        assert_eq!(json_u64(&json!(" 7 ")), Some(7));
        assert_eq!(json_u64(&json!("x")), None);
        assert_eq!(json_u64(&json!(-1)), None);
        assert_eq!(json_u64(&json!(true)), None);
        assert_eq!(json_text(&json!("a")), "a");
        assert_eq!(json_text(&json!(null)), "");
        assert_eq!(json_text(&json!(12)), "12");
        let now = 1_700_000_000;
        let reply = TokenReply {
            access_token: "a".into(),
            refresh_token: "r".into(),
            expires_in: Some(json!("junk")),
            shop_id: None,
            shop_name: "Shop".into(),
            scope: "s".into(),
            authority_id: Some(json!(99)),
        };
        let token = StoredToken::from_reply(reply, now).unwrap();
        assert_eq!(token.expires_at, now + 7 * 86400, "unreadable: the platform's 7 days");
        assert_eq!(token.refresh_expires_at, now + 14 * 86400);
        assert_eq!(
            (token.shop_id.as_str(), token.shop_name.as_str(), token.scope.as_str(), token.authority_id.as_str()),
            ("", "Shop", "s", "99")
        );
        assert_eq!((token.access_token.expose(), token.refresh_token.expose()), ("a", "r"));
        // Either token missing is an error.
        let only_access = TokenReply { access_token: "a".into(), ..TokenReply::default() };
        assert!(StoredToken::from_reply(only_access, now).is_err());
        let only_refresh = TokenReply { refresh_token: "r".into(), ..TokenReply::default() };
        assert!(StoredToken::from_reply(only_refresh, now).is_err());
        // The epoch threshold: one second below it is still a lifetime.
        let at = |v: u64| {
            let reply = TokenReply {
                access_token: "a".into(),
                refresh_token: "r".into(),
                expires_in: Some(json!(v)),
                ..TokenReply::default()
            };
            StoredToken::from_reply(reply, now).unwrap().expires_at
        };
        assert_eq!(at(EPOCH_THRESHOLD), EPOCH_THRESHOLD);
        assert_eq!(at(EPOCH_THRESHOLD - 1), now + EPOCH_THRESHOLD - 1);
    }

    #[test]
    fn unix_now_is_the_system_clock() {
        let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs();
        assert!(unix_now().abs_diff(now) <= 1);
    }

    #[test]
    fn debug_hides_tokens() {
        let text = format!("{:?}", token(1));
        assert!(!text.contains("\"a\"") && text.contains("access_token: <redacted>"), "{text}");
        let reply =
            TokenReply { access_token: "live-1".into(), refresh_token: "live-2".into(), ..TokenReply::default() };
        let text = format!("{reply:?}");
        assert!(!text.contains("live-1") && !text.contains("live-2"), "{text}");
    }

    #[tokio::test]
    async fn memory_store_round_trips_and_locks_nothing() {
        let store = MemoryTokenStore::new();
        assert_eq!(store.load("1").await.unwrap(), None);
        store.save("1", &token(5)).await.unwrap();
        assert_eq!(store.load("1").await.unwrap(), Some(token(5)));
        assert!(!store.lock_renewal("1", Duration::from_secs(1)).await.unwrap().is_held());
        store.remove("1").await.unwrap();
        assert_eq!(store.load("1").await.unwrap(), None);
    }
}
