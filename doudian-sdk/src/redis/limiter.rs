//! [`RedisRateLimiter`]: one app's per-method quota shared by every process, in Redis.

use std::fmt;
use std::sync::Mutex;
use std::time::Duration;

use futures_util::future::BoxFuture;
use tokio::time::Instant;

use super::{Connection, Namespace, Redis};
use crate::error::Result;
use crate::ratelimit::{Limit, LocalRateLimiter, RateLimiter, RateLimits};

/// The generic cell rate algorithm in one round trip, reserving: the caller is given the
/// next free slot of the method (however far) and told how long to wait for it, in µs;
/// `-1` when that is beyond `max_wait` (nothing is reserved then). Time comes from the
/// Redis server, so the machines' clocks do not matter.
///
/// KEYS[1]: the method's key. ARGV: interval µs, tolerance µs ((burst - 1) × interval),
/// max wait µs. The key holds the theoretical arrival time and expires when it is past.
const GCRA_SCRIPT: &str = r#"
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000000 + tonumber(time[2])
local interval = tonumber(ARGV[1])
local tolerance = tonumber(ARGV[2])
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
if tat < now then tat = now end
local wait = tat - tolerance - now
if wait < 0 then wait = 0 end
if wait > tonumber(ARGV[3]) then return -1 end
local next_tat = tat + interval
redis.call('SET', KEYS[1], string.format('%d', next_tat), 'PX', math.floor((next_tat - now) / 1000) + 1000)
return wait
"#;

/// How long a call may be scheduled ahead; beyond it the caller waits this long and asks again.
const MAX_WAIT: Duration = Duration::from_secs(30);
/// How long a limiter call to Redis may take before the local share is used instead.
const REDIS_TIMEOUT: Duration = Duration::from_millis(250);
/// How long the local share is used after Redis failed, before Redis is tried again.
const RETRY_REDIS_AFTER: Duration = Duration::from_secs(1);

/// Paces one app's calls across every process and machine: each method with a fixed
/// limit ([`RateLimits::method`]) gets one shared schedule in Redis (a GCRA script, one
/// round trip per call, at `<namespace>:<app_key>:rate:<method>`), so K workers together
/// stay within the quota instead of each using all of it.
///
/// Methods without a fixed limit are paced per process ([`LocalRateLimiter`], adaptive
/// where [`Limit::Adaptive`]).
///
/// **When Redis is unreachable** (or answers slower than 250 ms), each process falls back
/// to its *local share* of every fixed limit — [`local_share`](Self::local_share), the
/// whole limit unless set; set it to 1/K for K workers — and tries Redis again a second
/// later. The fallback is logged once per outage at `warn`.
///
/// Made by [`Redis::rate_limiter`].
///
/// ```no_run
/// # async fn demo() -> doudian_sdk::Result<()> {
/// use doudian_sdk::ratelimit::RateLimits;
/// use doudian_sdk::redis::Redis;
/// use doudian_sdk::Client;
///
/// // One of 4 workers: 100 order.logisticsAdd calls a second among all of them.
/// let redis = Redis::connect("redis://127.0.0.1:6379/0", "7012345678901234567")?;
/// let limiter = redis.rate_limiter(RateLimits::new().method("order.logisticsAdd", 100.0)).local_share(0.25);
/// let client = Client::builder("7012345678901234567", "app-secret")
///     .shop_id("4463798")
///     .token_store(redis.token_store())
///     .rate_limiter(limiter)
///     .build()?;
/// # let _ = client; Ok(()) }
/// ```
pub struct RedisRateLimiter {
    connection: Connection,
    script: ::redis::Script,
    keys: Namespace,
    limits: RateLimits,
    /// Methods without a fixed limit.
    local: LocalRateLimiter,
    /// The fixed limits × the local share, while Redis is unreachable.
    fallback: LocalRateLimiter,
    share: f64,
    /// Until when Redis is not asked (it failed).
    redis_down_until: Mutex<Option<Instant>>,
}

impl fmt::Debug for RedisRateLimiter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisRateLimiter")
            .field("redis", &self.connection.address())
            .field("keys", &self.keys)
            .field("limits", &self.limits)
            .field("local_share", &self.share)
            .finish_non_exhaustive()
    }
}

impl RedisRateLimiter {
    /// A limiter for `app_key`'s calls, scheduled in the Redis at `url`
    /// (`redis://[:password@]host:port[/db]`) on a connection of its own. Connects on
    /// first use.
    #[deprecated(note = "use `Redis::connect(url, app_key)?.rate_limiter(limits)`: one connection for every store")]
    pub fn new(url: &str, app_key: &str, limits: RateLimits) -> Result<Self> {
        Ok(Redis::connect(url, app_key)?.rate_limiter(limits))
    }

    pub(super) fn with_connection(connection: Connection, keys: &Namespace, limits: RateLimits) -> Self {
        RedisRateLimiter {
            connection,
            script: ::redis::Script::new(GCRA_SCRIPT),
            keys: keys.clone(),
            local: LocalRateLimiter::new(limits.clone()),
            fallback: LocalRateLimiter::new(limits.clone()),
            limits,
            share: 1.0,
            redis_down_until: Mutex::new(None),
        }
    }

    /// Keys under `namespace` instead of `doudian`.
    #[deprecated(note = "set the namespace on the handle: `Redis::connect(url, app_key)?.namespace(namespace)`")]
    pub fn namespace(mut self, namespace: &str) -> Self {
        self.keys.namespace = namespace.to_owned();
        self
    }

    /// The share (0 < share ≤ 1) of each fixed limit this process uses alone while Redis
    /// is unreachable: 1/K for K workers keeps them within the quota together.
    pub fn local_share(mut self, share: f64) -> Self {
        let share = if share.is_finite() && share > 0.0 { share.min(1.0) } else { 1.0 };
        self.share = share;
        self.fallback = LocalRateLimiter::new(self.limits.scaled(share));
        self
    }

    /// The Redis key of `method`'s schedule.
    pub fn key(&self, method: &str) -> String {
        format!("{}:{method}", self.keys.key("rate"))
    }

    /// Whether Redis is being skipped after a failure.
    fn redis_down(&self, now: Instant) -> bool {
        let mut down = self.redis_down_until.lock().unwrap_or_else(|e| e.into_inner());
        match *down {
            Some(until) if now < until => true,
            Some(_) => {
                *down = None;
                false
            }
            None => false,
        }
    }

    fn mark_redis_down(&self, now: Instant, why: &dyn fmt::Display) {
        let mut down = self.redis_down_until.lock().unwrap_or_else(|e| e.into_inner());
        if down.is_none() {
            tracing::warn!(
                redis = self.connection.address(),
                share = self.share,
                "rate limiter: Redis unreachable ({why}); pacing this process at its local share"
            );
        }
        *down = Some(now + RETRY_REDIS_AFTER);
    }

    /// Reserves a slot in the shared schedule: the wait, or `None` when Redis failed.
    async fn reserve_shared(&self, method: &str, calls: f64, burst: u32) -> Option<Duration> {
        let interval_us = (1e6 / calls.max(0.001)).round().max(1.0) as u64;
        let tolerance_us = interval_us * u64::from(burst.max(1) - 1);
        loop {
            let mut invocation = self.script.key(self.key(method));
            invocation.arg(interval_us).arg(tolerance_us).arg(MAX_WAIT.as_micros() as u64);
            match tokio::time::timeout(REDIS_TIMEOUT, self.connection.script::<i64>(invocation)).await {
                Ok(Ok(wait_us)) if wait_us >= 0 => return Some(Duration::from_micros(wait_us as u64)),
                // Scheduled too far ahead: wait and ask again.
                Ok(Ok(_)) => tokio::time::sleep(MAX_WAIT).await,
                Ok(Err(e)) => {
                    self.mark_redis_down(Instant::now(), &e);
                    return None;
                }
                Err(_) => {
                    self.mark_redis_down(Instant::now(), &"no answer within 250 ms");
                    return None;
                }
            }
        }
    }
}

impl RateLimiter for RedisRateLimiter {
    fn acquire<'a>(&'a self, method: &'a str) -> BoxFuture<'a, ()> {
        let Limit::PerSecond { calls, burst } = *self.limits.limit_for(method) else {
            return self.local.acquire(method);
        };
        Box::pin(async move {
            if !self.redis_down(Instant::now()) {
                if let Some(wait) = self.reserve_shared(method, calls, burst).await {
                    if !wait.is_zero() {
                        tokio::time::sleep(wait).await;
                    }
                    return;
                }
            }
            self.fallback.acquire(method).await;
        })
    }

    fn throttled(&self, method: &str, sent_at: Instant) {
        self.local.throttled(method, sent_at);
    }

    fn answered(&self, method: &str, sent_at: Instant) {
        self.local.answered(method, sent_at);
    }
}
