//! State shared by every process of an app through Redis (cargo feature `redis`): tokens
//! ([`RedisTokenStore`]), handled push messages ([`RedisSeenStore`]), the per-method call
//! quota ([`RedisRateLimiter`]) and, with `axum`, a push queue (`RedisPushQueue`), for
//! workers on several machines acting for the same shops.
//!
//! One [`Redis`] handle makes them all: they share its connection and its key namespace,
//! `<namespace>:<app_key>:…` (namespace `doudian` unless changed), so apps and
//! environments can share one Redis. The connection is made on first use and remade after
//! failures; a Redis that is down or slow gives a typed error within about two seconds,
//! never a hang.
//!
//! ```no_run
//! # async fn demo() -> doudian_sdk::Result<()> {
//! use doudian_sdk::ratelimit::RateLimits;
//! use doudian_sdk::redis::Redis;
//! use doudian_sdk::Client;
//!
//! let redis = Redis::connect("redis://127.0.0.1:6379/0", "7012345678901234567")?;
//! let client = Client::builder("7012345678901234567", "app-secret")
//!     .shop_id("4463798")
//!     .token_store(redis.token_store())
//!     .rate_limiter(redis.rate_limiter(RateLimits::new().method("order.logisticsAdd", 100.0)))
//!     .build()?;
//! // A push endpoint's `.seen_store(redis.seen_store())` drops redeliveries across replicas.
//! # let _ = client; Ok(()) }
//! ```

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

use ::redis::aio::{ConnectionManager, ConnectionManagerConfig};
use futures_util::future::BoxFuture;
use tokio::sync::OnceCell;

mod limiter;
#[cfg(feature = "axum")]
mod push_queue;

pub use limiter::RedisRateLimiter;
#[cfg(feature = "axum")]
pub use push_queue::RedisPushQueue;

use crate::error::{Error, Result};
use crate::push::SeenStore;
use crate::ratelimit::RateLimits;
use crate::token::{store_error, unix_now, ListedToken, RenewalLock, StoredToken, TokenPage, TokenStore};

/// The key namespace unless changed.
pub const DEFAULT_NAMESPACE: &str = "doudian";

/// How long a push message id is remembered by default: the platform redelivers for a
/// day at most, so three days leave a wide margin.
pub const DEFAULT_SEEN_TTL: Duration = Duration::from_secs(3 * 24 * 3600);

/// How often a renewal lock that another process holds is tried again.
const LOCK_POLL: Duration = Duration::from_millis(20);

/// Deletes the lock only if it still holds this owner's value (a lease that ran out may
/// have been taken by another process since).
const RELEASE_SCRIPT: &str =
    r#"if redis.call("GET", KEYS[1]) == ARGV[1] then return redis.call("DEL", KEYS[1]) else return 0 end"#;

/// One app's state in one Redis: a connection and a key namespace, shared by every store
/// made from it ([`token_store`](Self::token_store), [`seen_store`](Self::seen_store),
/// [`rate_limiter`](Self::rate_limiter), `push_queue`). Cheap to clone: clones share the
/// connection.
///
/// The keys are those that each store's own constructor used before (`RedisTokenStore::new`
/// and the others), so pairs and ids stored by an earlier version are read as they are.
#[derive(Debug, Clone)]
pub struct Redis {
    connection: Connection,
    keys: Namespace,
}

impl Redis {
    /// The Redis at `url` (`redis://[:password@]host:port[/db]`) for `app_key`'s state,
    /// under the namespace `doudian`. Only parses the URL: the connection is made on first
    /// use (a Redis that is down at start fails the first command, not this).
    pub fn connect(url: &str, app_key: &str) -> Result<Self> {
        Ok(Redis { connection: Connection::open(url)?, keys: Namespace::new(DEFAULT_NAMESPACE, app_key) })
    }

    /// Keys under `namespace` instead of `doudian`, for every store made from this handle.
    pub fn namespace(mut self, namespace: &str) -> Self {
        self.keys.namespace = namespace.to_owned();
        self
    }

    /// The server's `host:port/db` (never the password).
    pub fn address(&self) -> &str {
        self.connection.address()
    }

    /// The app's tokens, for [`ClientBuilder::token_store`](crate::ClientBuilder::token_store).
    pub fn token_store(&self) -> RedisTokenStore {
        RedisTokenStore { connection: self.connection.clone(), keys: self.keys.clone() }
    }

    /// The app's handled push message ids, remembered for [`DEFAULT_SEEN_TTL`], for a push
    /// endpoint's `seen_store`.
    pub fn seen_store(&self) -> RedisSeenStore {
        RedisSeenStore { connection: self.connection.clone(), keys: self.keys.clone(), ttl: DEFAULT_SEEN_TTL }
    }

    /// The app's call quota, for [`ClientBuilder::rate_limiter`](crate::ClientBuilder::rate_limiter).
    pub fn rate_limiter(&self, limits: RateLimits) -> RedisRateLimiter {
        RedisRateLimiter::with_connection(self.connection.clone(), &self.keys, limits)
    }

    /// The app's push queue, for a push endpoint's `queue`. Its blocking reads use a
    /// second connection of their own (a blocked read would hold up every command on a
    /// shared one); everything else goes through this handle's.
    #[cfg(feature = "axum")]
    #[cfg_attr(docsrs, doc(cfg(feature = "axum")))]
    pub fn push_queue(&self) -> RedisPushQueue {
        RedisPushQueue::with_connections(self.connection.clone(), self.connection.another(), &self.keys)
    }
}

/// The start of every key of one app: `<namespace>:<app_key>`.
#[derive(Debug, Clone)]
pub(crate) struct Namespace {
    namespace: String,
    app_key: String,
}

impl Namespace {
    fn new(namespace: &str, app_key: &str) -> Self {
        Namespace { namespace: namespace.to_owned(), app_key: app_key.to_owned() }
    }

    /// `<namespace>:<app_key>:<kind>`.
    pub(crate) fn key(&self, kind: &str) -> String {
        format!("{}:{}:{kind}", self.namespace, self.app_key)
    }
}

/// A Redis server, connected on first use. Cheap to clone: clones share the connection.
#[derive(Clone)]
pub(crate) struct Connection {
    client: ::redis::Client,
    manager: Arc<OnceCell<ConnectionManager>>,
    /// `host:port/db`, for messages (never the password).
    address: String,
}

impl fmt::Debug for Connection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Connection").field("address", &self.address).finish_non_exhaustive()
    }
}

impl Connection {
    /// Parses `url` (`redis://[:password@]host:port[/db]`); connects on first use.
    pub(crate) fn open(url: &str) -> Result<Self> {
        let client = ::redis::Client::open(url)
            .map_err(|e| Error::config(format!("not a Redis URL (redis://host:port[/db]): {e}")))?;
        let info = client.get_connection_info();
        let address = format!("{}/{}", info.addr(), info.redis_settings().db());
        Ok(Connection { client, manager: Arc::new(OnceCell::new()), address })
    }

    /// The server's `host:port/db`.
    pub(crate) fn address(&self) -> &str {
        &self.address
    }

    /// A connection of its own to the same server (clones share one).
    #[cfg(feature = "axum")]
    pub(crate) fn another(&self) -> Self {
        Connection { client: self.client.clone(), manager: Arc::new(OnceCell::new()), address: self.address.clone() }
    }

    pub(crate) async fn manager(&self) -> std::result::Result<ConnectionManager, ::redis::RedisError> {
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(Duration::from_secs(1)))
            .set_response_timeout(Some(Duration::from_secs(2)))
            .set_number_of_retries(1)
            .set_max_delay(Duration::from_millis(200));
        let client = self.client.clone();
        self.manager.get_or_try_init(|| async move { client.get_connection_manager_lazy(config) }).await.cloned()
    }

    /// Runs `command`, which is safe to repeat, and reads its reply as `T`. A connection
    /// that broke since its last use (a Redis restart) fails the first command sent on it:
    /// that command is sent once more, on the connection the manager makes anew.
    pub(crate) async fn query<T: ::redis::FromRedisValue>(
        &self,
        command: &::redis::Cmd,
    ) -> std::result::Result<T, ::redis::RedisError> {
        let mut manager = self.manager().await?;
        match command.query_async(&mut manager).await {
            Err(error) if error.is_connection_dropped() => {
                tracing::debug!(error = %error, "Redis connection broken; sending again on a new one");
                command.query_async(&mut manager).await
            }
            reply => reply,
        }
    }

    /// Runs `command` once: for commands whose repetition could change their answer
    /// (`SET NX`: a first send that did land would make the second say "taken").
    pub(crate) async fn query_once<T: ::redis::FromRedisValue>(
        &self,
        command: &::redis::Cmd,
    ) -> std::result::Result<T, ::redis::RedisError> {
        let mut manager = self.manager().await?;
        command.query_async(&mut manager).await
    }

    /// Runs a Lua script (EVALSHA, loading it when the server lacks it), sent again once on
    /// a broken connection like [`query`](Self::query). The scripts are a compare-and-delete
    /// and a quota slot: repeating one at worst spends a slot twice.
    pub(crate) async fn script<T: ::redis::FromRedisValue>(
        &self,
        invocation: ::redis::ScriptInvocation<'_>,
    ) -> std::result::Result<T, ::redis::RedisError> {
        let mut manager = self.manager().await?;
        match invocation.invoke_async(&mut manager).await {
            Err(error) if error.is_connection_dropped() => invocation.invoke_async(&mut manager).await,
            reply => reply,
        }
    }
}

/// Tokens in Redis, shared by every process of the app: one JSON value per shop under
/// `<namespace>:<app_key>:token:<shop>`, kept until the refresh token expires.
///
/// Renewals take a lock per shop (`SET NX PX` with a random owner value, released by a
/// compare-and-delete script, held at most its lease), so that N processes on M machines
/// refresh once and the others read the new pair. When Redis is down, calls get a
/// [`Error::TokenStore`] — except that each client keeps serving the token it holds while
/// that token is valid.
///
/// Made by [`Redis::token_store`].
#[derive(Debug, Clone)]
pub struct RedisTokenStore {
    connection: Connection,
    keys: Namespace,
}

impl RedisTokenStore {
    /// A store for `app_key`'s tokens at `url` (`redis://[:password@]host:port[/db]`),
    /// on a connection of its own. Connects on first use.
    #[deprecated(note = "use `Redis::connect(url, app_key)?.token_store()`: one connection for every store")]
    pub fn new(url: &str, app_key: &str) -> Result<Self> {
        Ok(Redis::connect(url, app_key)?.token_store())
    }

    /// [`new`](Self::new) with keys under `namespace` instead of `doudian`.
    #[deprecated(note = "use `Redis::connect(url, app_key)?.namespace(namespace).token_store()`")]
    pub fn with_namespace(url: &str, app_key: &str, namespace: &str) -> Result<Self> {
        Ok(Redis::connect(url, app_key)?.namespace(namespace).token_store())
    }

    /// The Redis key of a shop's token.
    pub fn key(&self, shop: &str) -> String {
        format!("{}:{shop}", self.keys.key("token"))
    }

    /// The start of every token key: `<namespace>:<app_key>:token:`.
    fn token_prefix(&self) -> String {
        format!("{}:", self.keys.key("token"))
    }

    fn lock_key(&self, shop: &str) -> String {
        format!("{}:{shop}", self.keys.key("token-lock"))
    }

    fn failed(&self, what: &str, e: ::redis::RedisError) -> Error {
        store_error(format!("Redis at {}: cannot {what}", self.connection.address()), e)
    }
}

impl TokenStore for RedisTokenStore {
    fn load<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<Option<StoredToken>>> {
        Box::pin(async move {
            let text: Option<String> = self
                .connection
                .query(::redis::cmd("GET").arg(self.key(key)))
                .await
                .map_err(|e| self.failed("read a token", e))?;
            text.map(|text| {
                serde_json::from_str(&text)
                    .map_err(|e| store_error(format!("{} does not hold a token", self.key(key)), e))
            })
            .transpose()
        })
    }

    fn save<'a>(&'a self, key: &'a str, token: &'a StoredToken) -> BoxFuture<'a, Result<()>> {
        Box::pin(async move {
            let text = serde_json::to_string(token).map_err(|e| store_error("cannot encode a token", e))?;
            // Kept a day past the refresh token's life: after that it can renew nothing.
            let keep_secs = token.refresh_expires_at.saturating_sub(unix_now()) + 24 * 3600;
            let command = ::redis::cmd("SET").arg(self.key(key)).arg(text).arg("EX").arg(keep_secs).clone();
            self.connection.query::<()>(&command).await.map_err(|e| self.failed("save a token", e))
        })
    }

    fn remove<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<()>> {
        Box::pin(async move {
            let command = ::redis::cmd("DEL").arg(self.key(key)).clone();
            self.connection.query::<()>(&command).await.map_err(|e| self.failed("remove a token", e))
        })
    }

    /// `SCAN` (never `KEYS`, which blocks the server for as long as it walks every key)
    /// with `MATCH` on the store's key prefix and `COUNT limit`, then one `MGET` for the
    /// keys of the page: two round trips per page. The cursor is `SCAN`'s; like `SCAN`, a
    /// walk may list a key twice while the store changes ([`list_tokens`](crate::token::list_tokens)
    /// drops the repeats) and lists every key present from its start to its end.
    fn list_page<'a>(&'a self, cursor: Option<&'a str>, limit: usize) -> BoxFuture<'a, Result<TokenPage>> {
        Box::pin(async move {
            let prefix = self.token_prefix();
            let scan = ::redis::cmd("SCAN")
                .arg(cursor.unwrap_or("0"))
                .arg("MATCH")
                .arg(format!("{}*", glob_escape(&prefix)))
                .arg("COUNT")
                .arg(limit.max(1))
                .clone();
            let (next, keys): (String, Vec<String>) =
                self.connection.query(&scan).await.map_err(|e| self.failed("list the tokens", e))?;
            let values: Vec<Option<String>> = if keys.is_empty() {
                Vec::new()
            } else {
                let mget = ::redis::cmd("MGET").arg(&keys).clone();
                self.connection.query(&mget).await.map_err(|e| self.failed("read the listed tokens", e))?
            };
            let mut tokens = Vec::with_capacity(keys.len());
            for (key, value) in keys.iter().zip(values) {
                // Expired or removed since the scan saw it.
                let Some(text) = value else { continue };
                let shop = key.strip_prefix(&prefix).unwrap_or(key);
                let token =
                    serde_json::from_str(&text).map_err(|e| store_error(format!("{key} does not hold a token"), e));
                tokens.push(ListedToken::new(shop, token));
            }
            Ok(TokenPage::new(tokens, (next != "0").then_some(next)))
        })
    }

    fn lock_renewal<'a>(&'a self, key: &'a str, lease: Duration) -> BoxFuture<'a, Result<RenewalLock>> {
        Box::pin(async move {
            let lock_key = self.lock_key(key);
            let owner = format!("{:016x}{:016x}", crate::retry::random_u64(), crate::retry::random_u64());
            let lease_ms = lease.as_millis().clamp(1, u128::from(u64::MAX)) as u64;
            let started = Instant::now();
            loop {
                let command = ::redis::cmd("SET").arg(&lock_key).arg(&owner).arg("NX").arg("PX").arg(lease_ms).clone();
                let taken: Option<String> =
                    self.connection.query_once(&command).await.map_err(|e| self.failed("take the renewal lock", e))?;
                if taken.is_some() {
                    let connection = self.connection.clone();
                    return Ok(RenewalLock::new(async move {
                        let script = ::redis::Script::new(RELEASE_SCRIPT);
                        let mut invocation = script.key(&lock_key);
                        invocation.arg(&owner);
                        if let Err(e) = connection.script::<i64>(invocation).await {
                            // The lease ends it anyway.
                            tracing::warn!(error = %e, "cannot release the token renewal lock");
                        }
                    }));
                }
                if started.elapsed() >= lease {
                    tracing::warn!(key = %lock_key, "token renewal lock still held after its lease; renewing without it");
                    return Ok(RenewalLock::unlocked());
                }
                tokio::time::sleep(LOCK_POLL).await;
            }
        })
    }
}

/// `text` with the characters that a `SCAN MATCH` pattern treats specially escaped.
fn glob_escape(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '*' | '?' | '[' | ']' | '\\') {
            escaped.push('\\');
        }
        escaped.push(c);
    }
    escaped
}

/// Push message ids already handled, in Redis, shared by every replica of a push endpoint:
/// `SET <namespace>:<app_key>:push-seen:<msg_id> NX EX <ttl>`, so a message redelivered
/// to another replica is processed once. `forget` deletes the id after a failed handling,
/// so the redelivery is processed.
///
/// Made by [`Redis::seen_store`].
#[derive(Debug, Clone)]
pub struct RedisSeenStore {
    connection: Connection,
    keys: Namespace,
    ttl: Duration,
}

impl RedisSeenStore {
    /// A store for `app_key`'s pushes at `url`, on a connection of its own, remembering
    /// ids for [`DEFAULT_SEEN_TTL`].
    #[deprecated(note = "use `Redis::connect(url, app_key)?.seen_store()`: one connection for every store")]
    pub fn new(url: &str, app_key: &str) -> Result<Self> {
        Ok(Redis::connect(url, app_key)?.seen_store())
    }

    /// Keys under `namespace` instead of `doudian`.
    #[deprecated(note = "set the namespace on the handle: `Redis::connect(url, app_key)?.namespace(namespace)`")]
    pub fn namespace(mut self, namespace: &str) -> Self {
        self.keys.namespace = namespace.to_owned();
        self
    }

    /// Remembers ids for `ttl` (at least a second).
    pub fn ttl(mut self, ttl: Duration) -> Self {
        self.ttl = ttl.max(Duration::from_secs(1));
        self
    }

    /// The Redis key of a message id.
    pub fn key(&self, msg_id: &str) -> String {
        format!("{}:{msg_id}", self.keys.key("push-seen"))
    }

    fn failed(&self, what: &str, e: ::redis::RedisError) -> Error {
        Error::Store {
            message: format!("Redis at {}: cannot {what}", self.connection.address()),
            source: Some(Box::new(e)),
        }
    }
}

impl SeenStore for RedisSeenStore {
    fn first_time<'a>(&'a self, msg_id: &'a str) -> BoxFuture<'a, Result<bool>> {
        Box::pin(async move {
            let command =
                ::redis::cmd("SET").arg(self.key(msg_id)).arg(1).arg("NX").arg("EX").arg(self.ttl.as_secs()).clone();
            let set: Option<String> =
                self.connection.query_once(&command).await.map_err(|e| self.failed("record a push message id", e))?;
            Ok(set.is_some())
        })
    }

    fn forget<'a>(&'a self, msg_id: &'a str) -> BoxFuture<'a, Result<()>> {
        Box::pin(async move {
            let command = ::redis::cmd("DEL").arg(self.key(msg_id)).clone();
            self.connection.query::<()>(&command).await.map_err(|e| self.failed("forget a push message id", e))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every key name, spelled out: they must stay what earlier versions wrote, or an
    /// upgraded process would not find the stored tokens.
    #[test]
    fn urls_and_keys() {
        let redis = Redis::connect("redis://:pw@127.0.0.1:6390/2", "app").unwrap();
        assert_eq!(redis.address(), "127.0.0.1:6390/2");
        assert!(!format!("{redis:?}").contains("pw"));
        let store = redis.token_store();
        assert_eq!(store.key("4463798"), "doudian:app:token:4463798");
        assert_eq!(store.lock_key("4463798"), "doudian:app:token-lock:4463798");
        assert!(!format!("{store:?}").contains("pw"));
        assert_eq!(redis.seen_store().key("7301"), "doudian:app:push-seen:7301");
        assert_eq!(
            redis.rate_limiter(RateLimits::new()).key("order.logisticsAdd"),
            "doudian:app:rate:order.logisticsAdd"
        );
        let staging = redis.clone().namespace("staging");
        assert_eq!(staging.token_store().key("1"), "staging:app:token:1");
        assert_eq!(staging.seen_store().key("7301"), "staging:app:push-seen:7301");
        assert_eq!(staging.rate_limiter(RateLimits::new()).key("m"), "staging:app:rate:m");
        // An app key holding the separator is kept whole.
        let odd = Redis::connect("redis://127.0.0.1", "a:b").unwrap().namespace("ns");
        assert_eq!(odd.token_store().key("1"), "ns:a:b:token:1");
        assert_eq!(odd.rate_limiter(RateLimits::new()).key("m"), "ns:a:b:rate:m");
        assert!(matches!(Redis::connect("http://x", "app"), Err(Error::Config(_))));
    }

    /// The constructors of earlier versions still build the same keys.
    #[test]
    #[allow(deprecated)]
    fn the_deprecated_constructors_name_the_same_keys() {
        let url = "redis://127.0.0.1:6390";
        assert_eq!(RedisTokenStore::new(url, "app").unwrap().key("1"), "doudian:app:token:1");
        assert_eq!(RedisTokenStore::with_namespace(url, "app", "ns").unwrap().key("1"), "ns:app:token:1");
        assert_eq!(RedisSeenStore::new(url, "app").unwrap().key("7"), "doudian:app:push-seen:7");
        assert_eq!(RedisSeenStore::new(url, "app").unwrap().namespace("ns").key("7"), "ns:app:push-seen:7");
        let limiter = RedisRateLimiter::new(url, "app", RateLimits::new()).unwrap();
        assert_eq!(limiter.key("m"), "doudian:app:rate:m");
        assert_eq!(limiter.namespace("ns").key("m"), "ns:app:rate:m");
        assert!(matches!(RedisTokenStore::new("http://x", "app"), Err(Error::Config(_))));
    }

    #[tokio::test]
    async fn a_redis_that_is_down_is_a_typed_error_within_seconds() {
        // Port 9 on loopback: nothing listens.
        let redis = Redis::connect("redis://127.0.0.1:9", "app").unwrap();
        let error = redis.token_store().load("1").await.unwrap_err();
        assert!(matches!(error, Error::TokenStore { ref message, .. } if message.contains("127.0.0.1:9")), "{error}");
        assert!(matches!(redis.seen_store().first_time("1").await, Err(Error::Store { .. })));
    }
}
