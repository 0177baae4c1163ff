//! State shared by every process of an app through Redis (cargo feature `redis`): tokens
//! ([`RedisTokenStore`]), handled push messages ([`RedisSeenStore`]) and the per-method
//! call quota ([`RedisRateLimiter`]), for workers on several machines acting for the same
//! shops.
//!
//! Keys are `<namespace>:<app_key>:…` (namespace `doudian` unless changed), so apps and
//! environments can share one Redis. Connections are made on first use and remade after
//! failures; a Redis that is down or slow gives a typed error within about two seconds,
//! never a hang.
//!
//! ```no_run
//! # async fn demo() -> doudian_sdk::Result<()> {
//! use std::sync::Arc;
//! use doudian_sdk::redis::RedisTokenStore;
//! use doudian_sdk::Client;
//!
//! let store = RedisTokenStore::new("redis://127.0.0.1:6379/0", "7012345678901234567")?;
//! let client = Client::builder("7012345678901234567", "app-secret")
//!     .shop_id("4463798")
//!     .token_store(Arc::new(store))
//!     .build()?;
//! # Ok(()) }
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
use crate::token::{store_error, unix_now, RenewalLock, StoredToken, TokenStore};

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
#[derive(Debug, Clone)]
pub struct RedisTokenStore {
    connection: Connection,
    prefix: String,
}

impl RedisTokenStore {
    /// A store for `app_key`'s tokens at `url` (`redis://[:password@]host:port[/db]`).
    /// Connects on first use.
    pub fn new(url: &str, app_key: &str) -> Result<Self> {
        Self::with_namespace(url, app_key, DEFAULT_NAMESPACE)
    }

    /// [`new`](Self::new) with keys under `namespace` instead of `doudian`.
    pub fn with_namespace(url: &str, app_key: &str, namespace: &str) -> Result<Self> {
        Ok(RedisTokenStore { connection: Connection::open(url)?, prefix: format!("{namespace}:{app_key}") })
    }

    /// The Redis key of a shop's token.
    pub fn key(&self, shop: &str) -> String {
        format!("{}:token:{shop}", self.prefix)
    }

    fn lock_key(&self, shop: &str) -> String {
        format!("{}:token-lock:{shop}", self.prefix)
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

/// Push message ids already handled, in Redis, shared by every replica of a push endpoint:
/// `SET <namespace>:<app_key>:push-seen:<msg_id> NX EX <ttl>`, so a message redelivered
/// to another replica is processed once. `forget` deletes the id after a failed handling,
/// so the redelivery is processed.
#[derive(Debug, Clone)]
pub struct RedisSeenStore {
    connection: Connection,
    prefix: String,
    ttl: Duration,
}

impl RedisSeenStore {
    /// A store for `app_key`'s pushes at `url`, remembering ids for [`DEFAULT_SEEN_TTL`].
    pub fn new(url: &str, app_key: &str) -> Result<Self> {
        Ok(RedisSeenStore {
            connection: Connection::open(url)?,
            prefix: format!("{DEFAULT_NAMESPACE}:{app_key}"),
            ttl: DEFAULT_SEEN_TTL,
        })
    }

    /// Keys under `namespace` instead of `doudian`.
    pub fn namespace(mut self, namespace: &str) -> Self {
        let app_key = self.prefix.split_once(':').map(|(_, app)| app.to_owned()).unwrap_or_default();
        self.prefix = format!("{namespace}:{app_key}");
        self
    }

    /// Remembers ids for `ttl` (at least a second).
    pub fn ttl(mut self, ttl: Duration) -> Self {
        self.ttl = ttl.max(Duration::from_secs(1));
        self
    }

    /// The Redis key of a message id.
    pub fn key(&self, msg_id: &str) -> String {
        format!("{}:push-seen:{msg_id}", self.prefix)
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

    #[test]
    fn urls_and_keys() {
        let store = RedisTokenStore::new("redis://:pw@127.0.0.1:6390/2", "app").unwrap();
        assert_eq!(store.key("4463798"), "doudian:app:token:4463798");
        assert_eq!(store.lock_key("4463798"), "doudian:app:token-lock:4463798");
        assert_eq!(store.connection.address(), "127.0.0.1:6390/2");
        assert!(!format!("{store:?}").contains("pw"));
        let seen = RedisSeenStore::new("redis://127.0.0.1:6390", "app").unwrap().namespace("test");
        assert_eq!(seen.key("7301"), "test:app:push-seen:7301");
        assert!(matches!(RedisTokenStore::new("http://x", "app"), Err(Error::Config(_))));
    }

    #[tokio::test]
    async fn a_redis_that_is_down_is_a_typed_error_within_seconds() {
        // Port 9 on loopback: nothing listens.
        let store = RedisTokenStore::new("redis://127.0.0.1:9", "app").unwrap();
        let error = store.load("1").await.unwrap_err();
        assert!(matches!(error, Error::TokenStore { ref message, .. } if message.contains("127.0.0.1:9")), "{error}");
        let seen = RedisSeenStore::new("redis://127.0.0.1:9", "app").unwrap();
        assert!(matches!(seen.first_time("1").await, Err(Error::Store { .. })));
    }
}
