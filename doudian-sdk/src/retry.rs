//! Retry policy: bounded attempts, exponential backoff with full jitter.

use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::error::Result;

/// When and how often a failed call is tried again.
///
/// Rate limiting (60000), a busy service (20000) and connection failures that happened
/// before the request was sent are retried for every method. A failure after the request
/// was sent (a timeout, a broken connection, a 5xx) is retried only for read-only methods,
/// or when the caller opts in with [`RetryPolicy::retry_ambiguous_writes`]: a write is
/// never sent twice when the first attempt may have been processed.
///
/// ```
/// use std::time::Duration;
/// use doudian_sdk::retry::RetryPolicy;
///
/// let policy = RetryPolicy::attempts(5).with_backoff(Duration::from_millis(100), Duration::from_secs(2));
/// assert_eq!(policy.backoff_ceiling(1), Duration::from_millis(100));
/// assert_eq!(policy.backoff_ceiling(3), Duration::from_millis(400));
/// let delay = policy.backoff(3); // jittered within [200 ms, 400 ms]
/// assert!(delay >= Duration::from_millis(200) && delay <= Duration::from_millis(400));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RetryPolicy {
    /// Attempts in all, the first included (1 = never retry).
    pub max_attempts: u32,
    /// The backoff before the first retry; it doubles with each attempt.
    pub base_delay: Duration,
    /// The longest backoff.
    pub max_delay: Duration,
    /// Also retry writes after an ambiguous failure (only for idempotent writes).
    pub retry_ambiguous_writes: bool,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 3,
            base_delay: Duration::from_millis(200),
            max_delay: Duration::from_secs(5),
            retry_ambiguous_writes: false,
        }
    }
}

impl RetryPolicy {
    /// Never retry.
    pub fn none() -> Self {
        RetryPolicy { max_attempts: 1, ..Self::default() }
    }

    /// `max_attempts` attempts with the default backoff.
    pub fn attempts(max_attempts: u32) -> Self {
        RetryPolicy { max_attempts: max_attempts.max(1), ..Self::default() }
    }

    /// Sets the backoff bounds.
    pub fn with_backoff(mut self, base_delay: Duration, max_delay: Duration) -> Self {
        self.base_delay = base_delay;
        self.max_delay = max_delay.max(base_delay);
        self
    }

    /// Allows retrying writes after ambiguous failures (use only for idempotent writes).
    pub fn with_ambiguous_writes(mut self, allow: bool) -> Self {
        self.retry_ambiguous_writes = allow;
        self
    }

    /// The upper bound of the backoff after `attempt` failed attempts (1-based).
    pub fn backoff_ceiling(&self, attempt: u32) -> Duration {
        let factor = 1u32.checked_shl(attempt.saturating_sub(1)).unwrap_or(u32::MAX);
        self.base_delay.saturating_mul(factor).min(self.max_delay)
    }

    /// A random backoff in `[ceiling/2, ceiling]` ("equal jitter": spreads clients out
    /// while keeping a floor so a throttled client really backs off).
    pub fn backoff(&self, attempt: u32) -> Duration {
        let ceiling = self.backoff_ceiling(attempt);
        let half = ceiling / 2;
        let span = (ceiling - half).as_nanos() as u64;
        if span == 0 {
            return ceiling;
        }
        half + Duration::from_nanos(random_u64() % (span + 1))
    }
}

/// The one retry loop: runs `attempt(1)`, `attempt(2)`, … until one succeeds, the error
/// is final, or the policy's attempts are used up, sleeping the backoff in between.
/// Retryable errors ([`crate::Error::is_retryable`]) are retried for every call; ambiguous
/// ones ([`crate::Error::is_ambiguous`]) that another attempt may get past only when
/// `retry_ambiguous` (reads, or writes the caller declared idempotent).
pub(crate) async fn run<T, F, Fut>(
    policy: &RetryPolicy,
    method: &str,
    retry_ambiguous: bool,
    mut attempt: F,
) -> Result<T>
where
    F: FnMut(u32) -> Fut,
    Fut: Future<Output = Result<T>>,
{
    let mut number = 0u32;
    loop {
        number += 1;
        let error = match attempt(number).await {
            Ok(value) => return Ok(value),
            Err(error) => error,
        };
        let may_retry = error.is_retryable() || (retry_ambiguous && error.is_transient());
        if !may_retry || number >= policy.max_attempts {
            return Err(error);
        }
        let delay = policy.backoff(number);
        tracing::debug!(method, attempt = number, delay_ms = delay.as_millis() as u64, error = %crate::error::Chain(&error), "retrying");
        tokio::time::sleep(delay).await;
    }
}

/// A small, lock-free random source for jitter (splitmix64 over a time-seeded counter);
/// jitter needs spread, not cryptographic quality.
pub(crate) fn random_u64() -> u64 {
    static STATE: AtomicU64 = AtomicU64::new(0);
    let (state, value) = draw(STATE.load(Ordering::Relaxed), || {
        SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_nanos() as u64).unwrap_or(1)
    });
    STATE.store(state, Ordering::Relaxed);
    value
}

/// One draw from `state`; state 0 (not seeded yet) is first seeded from the clock, so that
/// processes started together do not jitter alike.
fn draw(state: u64, clock_nanos: impl FnOnce() -> u64) -> (u64, u64) {
    let seed = if state == 0 { clock_seed(clock_nanos()) } else { state };
    splitmix64(seed)
}

/// The first state, from the clock's nanoseconds: never 0 (0 means "not seeded yet").
fn clock_seed(nanos: u64) -> u64 {
    nanos | 1
}

/// One step of splitmix64 (Steele, Lea and Flood): the next state and the value drawn.
fn splitmix64(state: u64) -> (u64, u64) {
    let state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    (state, z ^ (z >> 31))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::tests::{api, transport};

    #[test]
    fn backoff_doubles_up_to_the_cap_and_stays_within_jitter_bounds() {
        let policy = RetryPolicy::attempts(10).with_backoff(Duration::from_millis(100), Duration::from_secs(1));
        assert_eq!(policy.backoff_ceiling(1), Duration::from_millis(100));
        assert_eq!(policy.backoff_ceiling(2), Duration::from_millis(200));
        assert_eq!(policy.backoff_ceiling(4), Duration::from_millis(800));
        assert_eq!(policy.backoff_ceiling(5), Duration::from_secs(1));
        assert_eq!(policy.backoff_ceiling(64), Duration::from_secs(1));
        let mut seen = std::collections::BTreeSet::new();
        for _ in 0..200 {
            let d = policy.backoff(3);
            assert!(d >= Duration::from_millis(200) && d <= Duration::from_millis(400), "{d:?}");
            seen.insert(d);
        }
        assert!(seen.len() > 100, "jitter must spread retries, got {} distinct delays", seen.len());
    }

    /// Runs `run` with attempts failing with `failures` in turn (then succeeding): the
    /// outcome and how many attempts were made.
    async fn attempts_made(
        policy: &RetryPolicy,
        retry_ambiguous: bool,
        failures: Vec<crate::Error>,
    ) -> (Result<u32>, u32) {
        let failures = std::sync::Mutex::new(failures.into_iter());
        let made = std::sync::atomic::AtomicU32::new(0);
        let outcome = run(policy, "m", retry_ambiguous, |number| {
            made.fetch_add(1, Ordering::Relaxed);
            let next = failures.lock().unwrap().next();
            async move {
                match next {
                    Some(error) => Err(error),
                    None => Ok(number),
                }
            }
        })
        .await;
        (outcome, made.load(Ordering::Relaxed))
    }

    #[tokio::test(start_paused = true)]
    async fn retryable_failures_are_tried_again_until_the_attempts_run_out() {
        let policy = RetryPolicy::attempts(3);
        let (outcome, made) = attempts_made(&policy, false, vec![api(60000, ""), api(20000, "")]).await;
        assert_eq!((outcome.unwrap(), made), (3, 3), "the third attempt succeeds");
        let (outcome, made) = attempts_made(&policy, false, (0..5).map(|_| api(60000, "")).collect()).await;
        assert!(outcome.unwrap_err().is_rate_limited());
        assert_eq!(made, 3, "no more than max_attempts");
        let (outcome, made) = attempts_made(&RetryPolicy::none(), false, vec![api(60000, "")]).await;
        assert_eq!((outcome.is_err(), made), (true, 1));
    }

    #[tokio::test(start_paused = true)]
    async fn final_failures_are_returned_at_once() {
        let policy = RetryPolicy::attempts(5);
        for error in [api(40003, ""), api(50002, "")] {
            let (outcome, made) = attempts_made(&policy, true, vec![error]).await;
            assert_eq!((outcome.is_err(), made), (true, 1));
        }
    }

    #[tokio::test(start_paused = true)]
    async fn ambiguous_failures_are_retried_only_when_allowed() {
        use crate::error::TransportKind;
        let policy = RetryPolicy::attempts(4);
        let (outcome, made) = attempts_made(&policy, false, vec![transport(TransportKind::Timeout)]).await;
        assert!(outcome.unwrap_err().is_ambiguous());
        assert_eq!(made, 1, "a write is not sent twice after a timeout");
        let (outcome, made) = attempts_made(&policy, true, vec![transport(TransportKind::Timeout)]).await;
        assert_eq!((outcome.unwrap(), made), (2, 2), "a read is");
        // Ambiguous but not transient: an oversized reply would come back the same.
        let oversized = transport(TransportKind::BodyTooLarge { limit: 1 });
        let (_, made) = attempts_made(&policy, true, vec![oversized]).await;
        assert_eq!(made, 1);
        // A connection never made is retryable for every call.
        let (outcome, made) = attempts_made(&policy, false, vec![transport(TransportKind::Connect)]).await;
        assert_eq!((outcome.unwrap(), made), (2, 2));
    }

    #[tokio::test(start_paused = true)]
    async fn retries_wait_their_backoff() {
        let policy = RetryPolicy::attempts(3).with_backoff(Duration::from_millis(100), Duration::from_secs(1));
        let started = tokio::time::Instant::now();
        attempts_made(&policy, false, vec![api(60000, ""), api(60000, "")]).await.0.unwrap();
        let waited = started.elapsed();
        // 50–100 ms, then 100–200 ms.
        assert!(waited >= Duration::from_millis(150) && waited <= Duration::from_millis(300), "{waited:?}");
    }

    #[test]
    fn ambiguous_writes_are_opt_in() {
        assert!(!RetryPolicy::default().retry_ambiguous_writes);
        assert!(RetryPolicy::attempts(2).with_ambiguous_writes(true).retry_ambiguous_writes);
        assert!(
            !RetryPolicy::attempts(2).with_ambiguous_writes(true).with_ambiguous_writes(false).retry_ambiguous_writes
        );
        assert_eq!(RetryPolicy::attempts(7).with_ambiguous_writes(true).max_attempts, 7);
    }

    #[test]
    fn jitter_bits_are_balanced() {
        // Over 4,096 draws every bit is set about half the time: a broken mixer (or one
        // that loses its state) would leave bits stuck.
        let mut ones = [0u32; 64];
        for _ in 0..4096 {
            let value = random_u64();
            for (bit, count) in ones.iter_mut().enumerate() {
                *count += ((value >> bit) & 1) as u32;
            }
        }
        assert!(ones.iter().all(|&n| (1700..=2400).contains(&n)), "{ones:?}");
    }

    #[test]
    fn the_mixer_is_splitmix64() {
        // The reference implementation's outputs for seeds 0 and 1234567.
        let draws = |mut state: u64, n: usize| {
            (0..n)
                .map(|_| {
                    let (next, value) = splitmix64(state);
                    state = next;
                    value
                })
                .collect::<Vec<_>>()
        };
        assert_eq!(draws(0, 3), [0xE220_A839_7B1D_CDAF, 0x6E78_9E6A_A1B9_65F4, 0x06C4_5D18_8009_454F]);
        assert_eq!(
            draws(1_234_567, 5),
            [6457827717110365317, 3203168211198807973, 9817491932198370423, 4593380528125082431, 16408922859458223821]
        );
    }

    #[test]
    fn only_the_first_draw_reads_the_clock() {
        assert_eq!(draw(0, || 1_700_000_000_123_456_789), splitmix64(1_700_000_000_123_456_789));
        assert_ne!(draw(0, || 1_700_000_000_123_456_789), draw(0, || 1_700_000_000_987_654_321));
        assert_eq!(draw(42, || panic!("a seeded state needs no clock")), splitmix64(42));
    }

    #[test]
    fn the_clock_seed_keeps_the_clock_and_is_never_zero() {
        assert_eq!(clock_seed(0), 1);
        assert_eq!(clock_seed(1), 1);
        assert_eq!(clock_seed(1_700_000_000_123_456_788), 1_700_000_000_123_456_789);
        assert_eq!(clock_seed(1_700_000_000_123_456_789), 1_700_000_000_123_456_789);
    }

    #[test]
    fn the_tiniest_jitter_reaches_both_ends_of_its_range() {
        // A 2 ns ceiling: the range [1 ns, 2 ns] holds two values, and both are drawn; a
        // 1 ns ceiling: [0 ns, 1 ns].
        for (ceiling, expected) in [(2, [1, 2]), (1, [0, 1])] {
            let ceiling = Duration::from_nanos(ceiling);
            let policy = RetryPolicy::attempts(2).with_backoff(ceiling, ceiling);
            let seen: std::collections::BTreeSet<Duration> = (0..200).map(|_| policy.backoff(1)).collect();
            assert_eq!(seen.into_iter().collect::<Vec<_>>(), expected.map(Duration::from_nanos), "{ceiling:?}");
        }
        // No jitter to draw.
        assert_eq!(RetryPolicy::attempts(2).with_backoff(Duration::ZERO, Duration::ZERO).backoff(1), Duration::ZERO);
    }

    #[test]
    fn none_means_one_attempt() {
        assert_eq!(RetryPolicy::none().max_attempts, 1);
        assert_eq!(RetryPolicy::attempts(0).max_attempts, 1);
    }
}
