//! Per-method call quotas ([`crate::GatewayBuilder::method_qps`]): the platform's
//! `60000 isv.traffic-limited` for an app that calls a method more often than its
//! per-second quota allows, across all of the app's clients.
//!
//! Each limited method has one token bucket: it holds at most N tokens (one second's
//! worth, so a quiet method may take a burst of N calls at once), starts full, refills at
//! N tokens a second, and every admitted call takes one token. A call that finds the
//! bucket empty is refused.
//!
//! Where the check sits (server.rs): after the call is authenticated — app key, timestamp,
//! signature, method, access token — and before the method runs. The quota is the app's,
//! so only a call proven to come from the app is charged to it (a forged or mis-signed
//! call with someone's app key must not eat their quota, which is also why the platform
//! cannot throttle before it has checked the signature); and throttling is the gateway's
//! business, done before any business logic, so a throttled call changes nothing (no
//! shipment, no `ship_calls` count). Calls the checks refuse are not charged; calls the
//! method then refuses (a 40003 parameter, a 50002 business rule) are, as they reached the
//! service.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Token units per token: the bucket counts in billionths of a call, so that refilling
/// N tokens a second is exactly N units a nanosecond (integer arithmetic, no drift).
const UNITS_PER_TOKEN: u128 = 1_000_000_000;

/// One method's bucket.
#[derive(Debug)]
struct Bucket {
    /// Calls per second (also the capacity in tokens).
    rate: u32,
    /// Units in the bucket as of `last`.
    units: u128,
    /// When `units` was last brought up to date.
    last: Instant,
}

impl Bucket {
    fn full(rate: u32, now: Instant) -> Self {
        Bucket { rate, units: u128::from(rate) * UNITS_PER_TOKEN, last: now }
    }

    /// Refills for the time since the last call (capped at the capacity) and takes a
    /// token if there is one.
    fn try_take(&mut self, now: Instant) -> bool {
        let capacity = u128::from(self.rate) * UNITS_PER_TOKEN;
        // An earlier `now` (two callers racing to the lock) refills nothing.
        let elapsed = now.saturating_duration_since(self.last).as_nanos();
        if elapsed > 0 {
            self.units = capacity.min(self.units.saturating_add(elapsed.saturating_mul(u128::from(self.rate))));
            self.last = now;
        }
        if self.units >= UNITS_PER_TOKEN {
            self.units -= UNITS_PER_TOKEN;
            true
        } else {
            false
        }
    }
}

/// The buckets of every limited method. The set of methods is fixed when the gateway
/// starts, so looking one up takes no lock; each bucket has its own.
#[derive(Debug, Default)]
pub(crate) struct Quotas {
    buckets: BTreeMap<String, Mutex<Bucket>>,
    /// Set by [`crate::GatewayBuilder::freeze_quotas`]: the quotas' own time, which stands
    /// still unless [`Quotas::advance`] moves it, so what a bucket admits is an exact count.
    frozen_at: Option<Mutex<Instant>>,
}

impl Quotas {
    /// Full buckets for `limits` (method -> calls per second, each at least 1).
    /// `frozen`: time stands still for them (see [`Quotas::frozen_at`]).
    pub(crate) fn new(limits: &BTreeMap<String, u32>, frozen: bool) -> Self {
        let now = Instant::now();
        let buckets =
            limits.iter().map(|(method, &rate)| (method.clone(), Mutex::new(Bucket::full(rate, now)))).collect();
        Quotas { buckets, frozen_at: frozen.then_some(Mutex::new(now)) }
    }

    /// Moves frozen quotas' time on by `by` (their buckets refill that much). Quotas that
    /// follow real time cannot be moved.
    pub(crate) fn advance(&self, by: Duration) -> Result<(), &'static str> {
        let Some(frozen) = &self.frozen_at else {
            return Err("the quotas follow real time: freeze_quotas() lets a test move them");
        };
        let mut at = frozen.lock().unwrap_or_else(|e| e.into_inner());
        *at = at.checked_add(by).ok_or("the quotas' time cannot be moved that far")?;
        Ok(())
    }

    /// Whether a call of `method` may go ahead now (always, for a method without a limit);
    /// an admitted call uses up its share of the quota, a refused one learns the limit.
    ///
    /// Time here is `std::time::Instant`, the real monotonic clock, and deliberately not
    /// the gateway's [`crate::time::Clock`]: that one is wall-clock time plus an offset
    /// which `POST /_mock/clock` and [`crate::RunningGateway::advance_clock`] move by hours
    /// to expire tokens — it would refill every bucket at a stroke, or (moved back, or the
    /// system clock stepped back) stop refilling — while a quota is about how fast calls
    /// really arrive. Frozen quotas ([`crate::GatewayBuilder::freeze_quotas`]) have a time
    /// of their own instead, which only [`crate::RunningGateway::advance_quotas`] moves.
    pub(crate) fn admit(&self, method: &str) -> Result<(), u32> {
        let now = match &self.frozen_at {
            Some(frozen) => *frozen.lock().unwrap_or_else(|e| e.into_inner()),
            None => Instant::now(),
        };
        self.admit_at(method, now)
    }

    fn admit_at(&self, method: &str, now: Instant) -> Result<(), u32> {
        let Some(bucket) = self.buckets.get(method) else { return Ok(()) };
        let mut bucket = bucket.lock().unwrap_or_else(|e| e.into_inner());
        if bucket.try_take(now) {
            Ok(())
        } else {
            Err(bucket.rate)
        }
    }

    /// Method -> calls per second, for `GET /_mock/stats`.
    pub(crate) fn limits(&self) -> BTreeMap<String, u32> {
        self.buckets
            .iter()
            .map(|(method, bucket)| (method.clone(), bucket.lock().unwrap_or_else(|e| e.into_inner()).rate))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn quotas(method: &str, rate: u32) -> (Quotas, Instant) {
        let q = Quotas::new(&BTreeMap::from([(method.to_owned(), rate)]), false);
        let start = q.buckets[method].lock().unwrap().last;
        (q, start)
    }

    fn admitted(q: &Quotas, method: &str, calls: usize, at: Instant) -> usize {
        (0..calls).filter(|_| q.admit_at(method, at).is_ok()).count()
    }

    #[test]
    fn a_full_bucket_admits_one_seconds_worth_at_once() {
        let (q, t0) = quotas("order.logisticsAdd", 100);
        assert_eq!(admitted(&q, "order.logisticsAdd", 250, t0), 100);
        // Other methods are not limited.
        assert_eq!(admitted(&q, "order.searchList", 250, t0), 250);
        assert_eq!(q.limits(), BTreeMap::from([("order.logisticsAdd".to_owned(), 100)]));
    }

    #[test]
    fn refills_at_the_rate_and_never_above_the_capacity() {
        let (q, t0) = quotas("m", 20);
        assert_eq!(admitted(&q, "m", 20, t0), 20);
        assert_eq!(q.admit_at("m", t0), Err(20));
        // 20 a second: one token per 50 ms, exactly.
        assert_eq!(admitted(&q, "m", 1, t0 + Duration::from_millis(49)), 0);
        assert_eq!(admitted(&q, "m", 1, t0 + Duration::from_millis(50)), 1);
        assert_eq!(admitted(&q, "m", 1, t0 + Duration::from_millis(50)), 0);
        assert_eq!(admitted(&q, "m", 10, t0 + Duration::from_millis(250)), 4);
        // A long quiet spell refills one second's worth, not more.
        assert_eq!(admitted(&q, "m", 100, t0 + Duration::from_secs(3600)), 20);
        // A time before the last one (a racing caller) refills nothing and breaks nothing.
        assert_eq!(admitted(&q, "m", 1, t0), 0);
        assert_eq!(admitted(&q, "m", 100, t0 + Duration::from_millis(3_601_000)), 20);
    }

    #[test]
    fn sustained_rate_matches_the_quota() {
        let (q, t0) = quotas("m", 7);
        // One call every millisecond for 10 s: the burst of 7, then 7 a second.
        let n = (0..=10_000u64).filter(|ms| q.admit_at("m", t0 + Duration::from_millis(*ms)).is_ok()).count();
        assert_eq!(n, 7 + 70);
    }

    #[test]
    fn frozen_quotas_refill_only_when_advanced() {
        let q = Quotas::new(&BTreeMap::from([("m".to_owned(), 4)]), true);
        assert_eq!((0..10).filter(|_| q.admit("m").is_ok()).count(), 4);
        assert_eq!(q.advance(Duration::from_millis(500)), Ok(()));
        assert_eq!((0..10).filter(|_| q.admit("m").is_ok()).count(), 2);
        assert_eq!(q.admit("m"), Err(4));
        assert!(q.advance(Duration::MAX).is_err(), "an overflow is refused, not a panic");
        assert_eq!((0..10).filter(|_| q.admit("m").is_ok()).count(), 0);
        // Quotas on real time are not moved.
        assert!(quotas("m", 4).0.advance(Duration::from_secs(1)).is_err());
    }

    #[test]
    fn large_rates_do_not_overflow() {
        let (q, t0) = quotas("m", u32::MAX);
        assert_eq!(admitted(&q, "m", 3, t0 + Duration::from_secs(1_000_000_000)), 3);
    }
}
