//! The pacing of one method: a fixed rate (GCRA) and the adaptive rate built on it.

use std::time::Duration;

use tokio::time::Instant;

/// Calls of one method spaced `interval` apart, up to `burst` at once after a quiet spell:
/// the generic cell rate algorithm, in its reserving form. Each call is given the next
/// free slot and waits for it, so waiting callers are served in arrival order and no call
/// is refused.
pub(super) struct Pacer {
    interval: Duration,
    burst: u32,
    /// The theoretical arrival time: when the next call would be due at the steady rate.
    tat: Instant,
}

impl Pacer {
    pub(super) fn new(calls_per_second: f64, burst: u32, now: Instant) -> Self {
        Pacer { interval: interval_of(calls_per_second), burst: burst.max(1), tat: now }
    }

    /// Takes the next slot: how long from `now` until it.
    pub(super) fn reserve(&mut self, now: Instant) -> Duration {
        let tat = self.tat.max(now);
        let tolerance = self.interval * (self.burst - 1);
        let wait = tat.saturating_duration_since(now).saturating_sub(tolerance);
        self.tat = tat + self.interval;
        wait
    }

    pub(super) fn rate(&self) -> f64 {
        1.0 / self.interval.as_secs_f64()
    }

    pub(super) fn set_rate(&mut self, calls_per_second: f64) {
        self.interval = interval_of(calls_per_second);
    }
}

/// The spacing of `calls_per_second` (at least one call every 1000 s; never zero).
fn interval_of(calls_per_second: f64) -> Duration {
    let rate = if calls_per_second.is_finite() { calls_per_second.max(0.001) } else { 1e9 };
    Duration::from_secs_f64(1.0 / rate).max(Duration::from_nanos(1))
}

/// How an adaptive limit learns the platform's quota.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct AdaptiveSettings {
    /// After a 60000, the rate becomes this share of what the platform let through in the
    /// last second (or of the rate before, if lower).
    pub cut_to: f64,
    /// While no 60000 comes, the rate grows by this share a second (of calls being made:
    /// idle time does not count).
    pub raise_per_second: f64,
    /// The rate never goes below this, in calls a second.
    pub min_rate: f64,
    /// 60000s within this time of a cut are one signal (the calls that were in flight).
    pub hold: Duration,
}

impl Default for AdaptiveSettings {
    fn default() -> Self {
        AdaptiveSettings { cut_to: 0.9, raise_per_second: 0.01, min_rate: 1.0, hold: Duration::from_secs(1) }
    }
}

/// An unknown quota: unpaced until the first 60000, then multiplicative decrease to just
/// under the rate the platform accepted, and a slow multiplicative increase.
pub(super) struct Adaptive {
    settings: AdaptiveSettings,
    pacer: Option<Pacer>,
    accepted: Window,
    last_cut: Option<Instant>,
    /// The rate before the last cut (infinite when it was unpaced).
    rate_before_cut: f64,
    /// Calls sent before the last cut and accepted within the second before it or since.
    accepted_at_cut: f64,
    last_raise: Instant,
}

impl Adaptive {
    pub(super) fn new(settings: AdaptiveSettings, now: Instant) -> Self {
        Adaptive {
            settings,
            pacer: None,
            accepted: Window::new(now),
            last_cut: None,
            rate_before_cut: f64::INFINITY,
            accepted_at_cut: 0.0,
            last_raise: now,
        }
    }

    pub(super) fn rate(&self) -> Option<f64> {
        self.pacer.as_ref().map(Pacer::rate)
    }

    pub(super) fn reserve(&mut self, now: Instant) -> Duration {
        let Some(pacer) = &mut self.pacer else { return Duration::ZERO };
        // Raise for the time since the last call, at most a second of it: an idle limiter
        // does not creep up while nobody calls.
        let elapsed = now.saturating_duration_since(self.last_raise);
        if elapsed >= Duration::from_millis(100) {
            let seconds = elapsed.min(Duration::from_secs(1)).as_secs_f64();
            pacer.set_rate(pacer.rate() * (1.0 + self.settings.raise_per_second).powf(seconds));
            self.last_raise = now;
        }
        pacer.reserve(now)
    }

    /// A call sent at `sent_at` was answered (not 60000).
    pub(super) fn answered(&mut self, now: Instant, sent_at: Instant) {
        self.accepted.record(now);
        if self.in_hold(now) && self.last_cut.is_some_and(|cut| sent_at < cut) {
            self.accepted_at_cut += 1.0;
            self.refine();
        }
    }

    /// A 60000 to a call sent at `sent_at`: the new rate when this is a new signal.
    ///
    /// Within the hold after a cut, answers are still arriving from the calls that were in
    /// flight (replies come back out of order: the first 60000 can come before most of
    /// the accepted calls' replies): their 60000s are not new signals, and their
    /// acceptances refine the cut ([`answered`](Self::answered)).
    /// After the hold, a 60000 to a call sent before the cut reflects the old pace and is
    /// ignored.
    pub(super) fn throttled(&mut self, now: Instant, sent_at: Instant) -> Option<f64> {
        if let Some(cut) = self.last_cut {
            if self.in_hold(now) {
                return None;
            }
            if sent_at < cut {
                return None;
            }
        }
        let accepted = self.accepted.count(now) as f64;
        let before = self.rate().unwrap_or(f64::INFINITY);
        let rate = (self.settings.cut_to * before.min(accepted)).max(self.settings.min_rate);
        match &mut self.pacer {
            Some(pacer) => pacer.set_rate(rate),
            None => self.pacer = Some(Pacer::new(rate, 1, now)),
        }
        self.rate_before_cut = before;
        self.accepted_at_cut = accepted;
        self.last_cut = Some(now);
        self.last_raise = now;
        Some(rate)
    }

    fn in_hold(&self, now: Instant) -> bool {
        self.last_cut.is_some_and(|cut| now.saturating_duration_since(cut) < self.settings.hold)
    }

    /// Within the hold: the cut rate follows the calls sent before the cut that the
    /// platform turns out to have accepted, never above the rate before the cut.
    fn refine(&mut self) {
        let refined = self.settings.cut_to * self.accepted_at_cut.min(self.rate_before_cut);
        if let Some(pacer) = &mut self.pacer {
            if refined > pacer.rate() {
                pacer.set_rate(refined);
            }
        }
    }
}

/// Counts over the trailing second, in ten 100 ms buckets.
struct Window {
    origin: Instant,
    buckets: [u32; 10],
    /// The index (in 100 ms steps from `origin`) of the newest bucket.
    newest: u64,
}

impl Window {
    fn new(now: Instant) -> Self {
        Window { origin: now, buckets: [0; 10], newest: 0 }
    }

    fn advance(&mut self, now: Instant) -> usize {
        let step = (now.saturating_duration_since(self.origin).as_millis() / 100) as u64;
        if step > self.newest {
            for cleared in (self.newest + 1)..=step.min(self.newest + 10) {
                self.buckets[(cleared % 10) as usize] = 0;
            }
            self.newest = step;
        }
        (self.newest % 10) as usize
    }

    fn record(&mut self, now: Instant) {
        let bucket = self.advance(now);
        self.buckets[bucket] = self.buckets[bucket].saturating_add(1);
    }

    fn count(&mut self, now: Instant) -> u64 {
        self.advance(now);
        self.buckets.iter().map(|&n| u64::from(n)).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_window_forgets_what_is_older_than_a_second() {
        let start = Instant::now();
        let mut window = Window::new(start);
        for i in 0..20 {
            window.record(start + Duration::from_millis(i * 100));
        }
        assert_eq!(window.count(start + Duration::from_millis(1950)), 10);
        assert_eq!(window.count(start + Duration::from_millis(2500)), 4, "the records at 1.6 s to 1.9 s");
        assert_eq!(window.count(start + Duration::from_secs(60)), 0);
    }

    #[test]
    fn odd_rates_never_divide_by_zero() {
        for rate in [0.0, -5.0, f64::NAN, f64::INFINITY, 1e12] {
            let mut pacer = Pacer::new(rate, 1, Instant::now());
            assert!(pacer.interval > Duration::ZERO, "{rate}");
            let _ = pacer.reserve(Instant::now());
        }
    }
}
