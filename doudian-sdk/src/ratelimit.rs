//! Client-side rate limiting: calls wait for their slot instead of running into the
//! platform's per-method quota (`60000 isv.traffic-limited`).
//!
//! The platform limits each app's calls per method and second. A [`RateLimiter`] set on
//! the [`ClientBuilder`](crate::ClientBuilder) is asked for a slot before every attempt of
//! every call and told how the platform answered; clones of the client (and handles from
//! [`Client::for_shop`](crate::Client::for_shop)) share it, so one app's calls share one
//! quota whatever the shop.
//!
//! - [`LocalRateLimiter`] paces the calls of one process: a fixed rate per method where the
//!   quota is known ([`RateLimits::method`]), or an adaptive one where it is not
//!   ([`Limit::Adaptive`]: unpaced until the first 60000, then just under the rate the
//!   platform let through, raised slowly while it stays quiet).
//! - `redis::RedisRateLimiter` (feature `redis`, made by `redis::Redis::rate_limiter`)
//!   shares fixed rates between the processes of many machines.
//!
//! ```
//! # async fn demo() -> doudian_sdk::Result<()> {
//! use doudian_sdk::ratelimit::RateLimits;
//! use doudian_sdk::Client;
//!
//! let client = Client::builder("7012345678901234567", "app-secret")
//!     .shop_id("4463798")
//!     // order.logisticsAdd at the app's known quota, every other method adaptive.
//!     .rate_limits(RateLimits::adaptive().method("order.logisticsAdd", 100.0))
//!     .build()?;
//! # let _ = client; Ok(()) }
//! ```

mod pacer;

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::sync::Mutex;
use std::time::Duration;

use futures_util::future::BoxFuture;
pub use tokio::time::Instant;

pub use pacer::AdaptiveSettings;
use pacer::{Adaptive, Pacer};

/// Where a call waits for its slot, and what it learns from the platform's answers.
///
/// Implementations must be cheap when there is no wait: `acquire` runs before every attempt.
pub trait RateLimiter: Send + Sync + 'static {
    /// Waits until one call of `method` may be sent (and counts it as sent).
    fn acquire<'a>(&'a self, method: &'a str) -> BoxFuture<'a, ()>;

    /// The platform answered 60000 (rate limited) to a call of `method` sent at `sent_at`
    /// (when its slot came). A call sent before the limiter last slowed down says nothing
    /// about the new pace.
    fn throttled(&self, method: &str, sent_at: Instant) {
        let _ = (method, sent_at);
    }

    /// The platform answered a call of `method` sent at `sent_at` with anything but 60000.
    fn answered(&self, method: &str, sent_at: Instant) {
        let _ = (method, sent_at);
    }
}

/// A shared limiter is a limiter: several clients paced together hold an `Arc` of one.
impl<L: RateLimiter + ?Sized> RateLimiter for std::sync::Arc<L> {
    fn acquire<'a>(&'a self, method: &'a str) -> BoxFuture<'a, ()> {
        (**self).acquire(method)
    }

    fn throttled(&self, method: &str, sent_at: Instant) {
        (**self).throttled(method, sent_at)
    }

    fn answered(&self, method: &str, sent_at: Instant) {
        (**self).answered(method, sent_at)
    }
}

/// The limit of one method.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Limit {
    /// Calls are never held back.
    Unlimited,
    /// At most `calls` a second, evenly spaced, with up to `burst` calls at once after a
    /// quiet spell (`1`: strictly even).
    PerSecond {
        /// Calls a second.
        calls: f64,
        /// Calls that may go at once after a quiet spell.
        burst: u32,
    },
    /// Unknown: learnt from the platform's 60000 answers (see [`AdaptiveSettings`]).
    Adaptive,
}

impl Limit {
    /// `calls` a second, evenly spaced.
    pub fn per_second(calls: f64) -> Self {
        Limit::PerSecond { calls, burst: 1 }
    }
}

/// Limits per method, with one default for the methods not named.
#[derive(Debug, Clone, PartialEq)]
pub struct RateLimits {
    default: Limit,
    methods: BTreeMap<String, Limit>,
    adaptive: AdaptiveSettings,
}

impl Default for RateLimits {
    fn default() -> Self {
        RateLimits { default: Limit::Unlimited, methods: BTreeMap::new(), adaptive: AdaptiveSettings::default() }
    }
}

impl RateLimits {
    /// No method is limited until one is named.
    pub fn new() -> Self {
        Self::default()
    }

    /// Every method not named is adaptive.
    pub fn adaptive() -> Self {
        RateLimits { default: Limit::Adaptive, ..Self::default() }
    }

    /// Every method not named gets at most `calls` a second.
    pub fn per_second(calls: f64) -> Self {
        RateLimits { default: Limit::per_second(calls), ..Self::default() }
    }

    /// `method` gets at most `calls_per_second`, evenly spaced.
    pub fn method(self, method: impl Into<String>, calls_per_second: f64) -> Self {
        self.method_limit(method, Limit::per_second(calls_per_second))
    }

    /// `method` gets `limit`.
    pub fn method_limit(mut self, method: impl Into<String>, limit: Limit) -> Self {
        self.methods.insert(method.into(), limit);
        self
    }

    /// The limit of the methods not named.
    pub fn default_limit(mut self, limit: Limit) -> Self {
        self.default = limit;
        self
    }

    /// How adaptive limits learn.
    pub fn adaptive_settings(mut self, settings: AdaptiveSettings) -> Self {
        self.adaptive = settings;
        self
    }

    /// The limit of `method`.
    pub fn limit_for(&self, method: &str) -> &Limit {
        self.methods.get(method).unwrap_or(&self.default)
    }

    /// The methods named, with their limits.
    pub fn methods(&self) -> impl Iterator<Item = (&str, &Limit)> {
        self.methods.iter().map(|(method, limit)| (method.as_str(), limit))
    }

    /// These limits with every fixed rate multiplied by `share` (0 < share ≤ 1): what one of
    /// several processes may use when they cannot coordinate.
    pub fn scaled(&self, share: f64) -> RateLimits {
        let scale = |limit: &Limit| match limit {
            Limit::PerSecond { calls, burst } => Limit::PerSecond { calls: calls * share, burst: *burst },
            other => other.clone(),
        };
        RateLimits {
            default: scale(&self.default),
            methods: self.methods.iter().map(|(m, l)| (m.clone(), scale(l))).collect(),
            adaptive: self.adaptive.clone(),
        }
    }
}

/// The pacing of one method in one process.
enum MethodState {
    Unlimited,
    Fixed(Pacer),
    Adaptive(Adaptive),
}

/// Paces the calls of one process (one client and its clones) per method.
pub struct LocalRateLimiter {
    limits: RateLimits,
    methods: Mutex<HashMap<String, MethodState>>,
}

impl fmt::Debug for LocalRateLimiter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LocalRateLimiter").field("limits", &self.limits).finish_non_exhaustive()
    }
}

impl LocalRateLimiter {
    /// A limiter enforcing `limits`.
    pub fn new(limits: RateLimits) -> Self {
        LocalRateLimiter { limits, methods: Mutex::new(HashMap::new()) }
    }

    /// The limits it enforces.
    pub fn limits(&self) -> &RateLimits {
        &self.limits
    }

    /// The rate `method` is paced at now, in calls a second; `None` when unpaced.
    pub fn current_rate(&self, method: &str) -> Option<f64> {
        let methods = self.methods.lock().unwrap_or_else(|e| e.into_inner());
        match methods.get(method) {
            Some(MethodState::Fixed(pacer)) => Some(pacer.rate()),
            Some(MethodState::Adaptive(adaptive)) => adaptive.rate(),
            Some(MethodState::Unlimited) => None,
            None => match self.limits.limit_for(method) {
                Limit::PerSecond { calls, .. } => Some(*calls),
                _ => None,
            },
        }
    }

    /// Reserves the next slot of `method`: how long to wait for it.
    fn reserve(&self, method: &str, now: Instant) -> Duration {
        let mut methods = self.methods.lock().unwrap_or_else(|e| e.into_inner());
        let state = match methods.get_mut(method) {
            Some(state) => state,
            None => methods.entry(method.to_owned()).or_insert_with(|| self.new_state(method, now)),
        };
        match state {
            MethodState::Unlimited => Duration::ZERO,
            MethodState::Fixed(pacer) => pacer.reserve(now),
            MethodState::Adaptive(adaptive) => adaptive.reserve(now),
        }
    }

    fn new_state(&self, method: &str, now: Instant) -> MethodState {
        match self.limits.limit_for(method) {
            Limit::Unlimited => MethodState::Unlimited,
            Limit::PerSecond { calls, burst } => MethodState::Fixed(Pacer::new(*calls, *burst, now)),
            Limit::Adaptive => MethodState::Adaptive(Adaptive::new(self.limits.adaptive.clone(), now)),
        }
    }

    fn with_adaptive(&self, method: &str, f: impl FnOnce(&mut Adaptive, Instant)) {
        let mut methods = self.methods.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(MethodState::Adaptive(adaptive)) = methods.get_mut(method) {
            f(adaptive, Instant::now());
        }
    }
}

impl RateLimiter for LocalRateLimiter {
    fn acquire<'a>(&'a self, method: &'a str) -> BoxFuture<'a, ()> {
        let wait = self.reserve(method, Instant::now());
        Box::pin(async move {
            if !wait.is_zero() {
                tokio::time::sleep(wait).await;
            }
        })
    }

    fn throttled(&self, method: &str, sent_at: Instant) {
        self.with_adaptive(method, |adaptive, now| {
            if let Some(rate) = adaptive.throttled(now, sent_at) {
                tracing::debug!(method, rate, "rate limited by the platform: pacing slower");
            }
        });
    }

    fn answered(&self, method: &str, sent_at: Instant) {
        self.with_adaptive(method, |adaptive, now| adaptive.answered(now, sent_at));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limiter(limits: RateLimits) -> LocalRateLimiter {
        LocalRateLimiter::new(limits)
    }

    /// Counts what it hears: acquired, throttled, answered.
    #[derive(Default)]
    struct Heard(Mutex<[u32; 3]>);

    impl RateLimiter for Heard {
        fn acquire<'a>(&'a self, _: &'a str) -> BoxFuture<'a, ()> {
            self.0.lock().unwrap()[0] += 1;
            Box::pin(async {})
        }
        fn throttled(&self, _: &str, _: Instant) {
            self.0.lock().unwrap()[1] += 1;
        }
        fn answered(&self, _: &str, _: Instant) {
            self.0.lock().unwrap()[2] += 1;
        }
    }

    #[tokio::test]
    async fn a_limiter_behind_an_arc_hears_everything() {
        let heard = std::sync::Arc::new(Heard::default());
        let shared: std::sync::Arc<dyn RateLimiter> = heard.clone();
        // The `Arc`'s own impl (method lookup takes it before the `dyn` one behind it).
        RateLimiter::acquire(&shared, "m").await;
        RateLimiter::acquire(&shared, "m").await;
        RateLimiter::throttled(&shared, "m", Instant::now());
        for _ in 0..3 {
            RateLimiter::answered(&shared, "m", Instant::now());
        }
        assert_eq!(*heard.0.lock().unwrap(), [2, 1, 3]);
    }

    /// The times (from the start) at which `n` calls of `method` acquire their slots.
    async fn slots(limiter: &LocalRateLimiter, method: &str, n: usize) -> Vec<Duration> {
        let start = Instant::now();
        let mut at = Vec::new();
        for _ in 0..n {
            limiter.acquire(method).await;
            at.push(start.elapsed());
        }
        at
    }

    #[tokio::test(start_paused = true)]
    async fn fixed_rates_space_calls_evenly_per_method() {
        let limiter = limiter(RateLimits::new().method("order.logisticsAdd", 100.0));
        let at = slots(&limiter, "order.logisticsAdd", 201).await;
        assert_eq!(at[0], Duration::ZERO);
        assert_eq!(at[200], Duration::from_secs(2), "200 intervals of 10 ms");
        assert!(at.windows(2).all(|w| w[1] - w[0] == Duration::from_millis(10)));
        // Other methods are not limited.
        let start = Instant::now();
        slots(&limiter, "order.searchList", 1000).await;
        assert_eq!(start.elapsed(), Duration::ZERO);
        assert_eq!(limiter.current_rate("order.logisticsAdd"), Some(100.0));
        assert_eq!(limiter.current_rate("order.searchList"), None);
    }

    #[tokio::test(start_paused = true)]
    async fn concurrent_callers_share_the_rate() {
        let limiter = std::sync::Arc::new(limiter(RateLimits::per_second(50.0)));
        let start = Instant::now();
        let tasks: Vec<_> = (0..8)
            .map(|_| {
                let limiter = limiter.clone();
                tokio::spawn(async move { slots(&limiter, "sku.syncStock", 25).await })
            })
            .collect();
        for task in tasks {
            task.await.unwrap();
        }
        // 200 calls at 50/s: the last slot is 199 intervals of 20 ms after the first.
        assert_eq!(start.elapsed(), Duration::from_millis(199 * 20));
    }

    #[tokio::test(start_paused = true)]
    async fn bursts_are_allowed_after_a_quiet_spell_only() {
        let limiter = limiter(RateLimits::new().method_limit("m", Limit::PerSecond { calls: 10.0, burst: 5 }));
        let at = slots(&limiter, "m", 7).await;
        assert_eq!(&at[..5], &[Duration::ZERO; 5]);
        assert_eq!(at[5], Duration::from_millis(100));
        tokio::time::sleep(Duration::from_secs(10)).await;
        let at = slots(&limiter, "m", 6).await;
        assert_eq!((at[4], at[5]), (Duration::ZERO, Duration::from_millis(100)), "the burst is capped at 5");
    }

    #[tokio::test(start_paused = true)]
    async fn adaptive_limits_cut_on_60000_and_recover_slowly() {
        let limiter = limiter(RateLimits::adaptive());
        // Unpaced at first.
        let start = Instant::now();
        for _ in 0..100 {
            limiter.acquire("m").await;
            limiter.answered("m", Instant::now());
        }
        assert_eq!((start.elapsed(), limiter.current_rate("m")), (Duration::ZERO, None));
        // The platform let 100 through in the last second: pace just under that.
        limiter.throttled("m", Instant::now());
        let cut = limiter.current_rate("m").unwrap();
        assert!((85.0..=95.0).contains(&cut), "{cut}");
        // Several in-flight calls throttled at once count as one signal.
        for _ in 0..10 {
            limiter.throttled("m", Instant::now());
        }
        assert_eq!(limiter.current_rate("m"), Some(cut));
        // A call sent before the cut says nothing about the new pace, however late it answers.
        let before_the_cut = Instant::now() - Duration::from_millis(1);
        tokio::time::sleep(Duration::from_secs(5)).await;
        limiter.throttled("m", before_the_cut);
        assert_eq!(limiter.current_rate("m"), Some(cut));
        // Quiet seconds raise the rate slowly (about 1% a second).
        for _ in 0..10 {
            tokio::time::sleep(Duration::from_secs(1)).await;
            limiter.acquire("m").await;
            limiter.answered("m", Instant::now());
        }
        let raised = limiter.current_rate("m").unwrap();
        assert!(raised > cut * 1.05 && raised < cut * 1.2, "{cut} -> {raised}");
    }

    #[tokio::test(start_paused = true)]
    async fn acceptances_arriving_after_the_first_60000_refine_the_cut() {
        let limiter = limiter(RateLimits::adaptive());
        let sent = Instant::now();
        for _ in 0..50 {
            limiter.acquire("m").await;
        }
        // Replies out of order: a 60000 first, when only 5 acceptances have come back.
        for _ in 0..5 {
            limiter.answered("m", sent);
        }
        tokio::time::advance(Duration::from_millis(10)).await;
        limiter.throttled("m", sent);
        assert!((limiter.current_rate("m").unwrap() - 4.5).abs() < 1e-6);
        // The other 35 acceptances of that burst arrive: the cut follows them.
        tokio::time::advance(Duration::from_millis(10)).await;
        for _ in 0..35 {
            limiter.answered("m", sent);
        }
        let refined = limiter.current_rate("m").unwrap();
        assert!((refined - 36.0).abs() < 1e-6, "{refined}");
        // Acceptances of calls paced after the cut do not raise it.
        tokio::time::advance(Duration::from_millis(10)).await;
        for _ in 0..30 {
            limiter.answered("m", Instant::now());
        }
        assert!((limiter.current_rate("m").unwrap() - 36.0).abs() < 1e-6);
    }

    #[tokio::test(start_paused = true)]
    async fn a_method_throttled_from_the_start_gets_the_floor_rate() {
        let limiter = limiter(RateLimits::adaptive());
        limiter.acquire("m").await;
        limiter.throttled("m", Instant::now());
        assert_eq!(limiter.current_rate("m"), Some(AdaptiveSettings::default().min_rate));
    }

    #[test]
    fn scaled_limits_divide_fixed_rates_only() {
        let limits = RateLimits::adaptive().method("a", 100.0).scaled(0.25);
        assert_eq!(limits.limit_for("a"), &Limit::per_second(25.0));
        assert_eq!(limits.limit_for("b"), &Limit::Adaptive);
    }
}
