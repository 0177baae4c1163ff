//! Fault injection: rules that tests switch on and off while the gateway runs.
//!
//! A [`FaultRule`] names a [`Fault`], optionally a method it is limited to, how many calls it
//! hits (or until removed) and the fraction of matching calls it hits. Every call draws the
//! rules once, under a short lock that is released before anything is awaited.
//!
//! Faults act at one of two points, and the difference matters for "was it done twice?"
//! tests: *before* the call is processed (the request is lost: nothing happened) or
//! *after* it was processed (the state changed, only the reply is damaged or lost). See each
//! variant.

use std::sync::Mutex;
use std::time::Duration;

use crate::random::Rng;

/// One kind of misbehaviour.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Fault {
    /// Before processing: reply 60000 `isv.traffic-limited`.
    RateLimit,
    /// Before processing: reply 20000 `dop.service-error`.
    ServiceBusy,
    /// Before processing: answer with this HTTP status (e.g. 502, 503) and a non-JSON body.
    HttpStatus(u16),
    /// Wait this long before handling the call (combines with every other fault).
    Delay(Duration),
    /// Before processing: close the connection without any reply.
    DropConnection,
    /// After processing: close the connection without any reply (the call took effect).
    DropAfterProcessing,
    /// After processing: reply with text that is not JSON.
    MalformedJson,
    /// After processing: reply with the envelope cut in half (valid HTTP, broken JSON).
    TruncatedJson,
    /// After processing: every integer field named `id` or `*_id` in the reply becomes a
    /// JSON string (`12` -> `"12"`), as some platform methods send them.
    IdsAsStrings,
    /// After processing: pad `data` with an extra string field so the reply is at least this
    /// many bytes.
    Oversized(usize),
}

impl Fault {
    /// A short stable name, used for the fault counters.
    pub fn name(&self) -> &'static str {
        match self {
            Fault::RateLimit => "rate_limit",
            Fault::ServiceBusy => "service_busy",
            Fault::HttpStatus(_) => "http_status",
            Fault::Delay(_) => "delay",
            Fault::DropConnection => "drop_connection",
            Fault::DropAfterProcessing => "drop_after_processing",
            Fault::MalformedJson => "malformed_json",
            Fault::TruncatedJson => "truncated_json",
            Fault::IdsAsStrings => "ids_as_strings",
            Fault::Oversized(_) => "oversized",
        }
    }
}

/// When and where a [`Fault`] strikes.
///
/// ```
/// use doudian_gateway::{Fault, FaultRule};
/// let rule = FaultRule::new(Fault::RateLimit).for_method("order.searchList").times(3);
/// let flaky = FaultRule::new(Fault::HttpStatus(503)).fraction(0.2);
/// # let _ = (rule, flaky);
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct FaultRule {
    fault: Fault,
    method: Option<String>,
    times: Option<u64>,
    fraction: f64,
}

impl FaultRule {
    /// `fault` on every call, for every method, until removed.
    pub fn new(fault: Fault) -> Self {
        FaultRule { fault, method: None, times: None, fraction: 1.0 }
    }

    /// Only calls of `method` (e.g. `order.logisticsAdd`).
    pub fn for_method(mut self, method: impl Into<String>) -> Self {
        self.method = Some(method.into());
        self
    }

    /// Only the next `n` matching calls that it hits; then the rule retires itself.
    pub fn times(mut self, n: u64) -> Self {
        self.times = Some(n);
        self
    }

    /// Hit each matching call with probability `p` (0.0..=1.0).
    pub fn fraction(mut self, p: f64) -> Self {
        self.fraction = p.clamp(0.0, 1.0);
        self
    }

    /// The fault.
    pub fn fault(&self) -> &Fault {
        &self.fault
    }
}

/// Identifies an injected rule, for [`crate::RunningGateway::remove_fault`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FaultId(u64);

/// The faults that hit one call, resolved.
#[derive(Debug, Default)]
pub(crate) struct Drawn {
    pub(crate) delay: Duration,
    /// The first fault acting before processing, if any.
    pub(crate) before: Option<Fault>,
    /// Faults acting on the reply after processing, in rule order.
    pub(crate) after: Vec<Fault>,
    /// Names of every fault that fired (for counters).
    pub(crate) fired: Vec<&'static str>,
}

#[derive(Debug, Default)]
pub(crate) struct FaultSet {
    rules: Mutex<Vec<(FaultId, FaultRule)>>,
    next_id: std::sync::atomic::AtomicU64,
}

impl FaultSet {
    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<(FaultId, FaultRule)>> {
        // A panic elsewhere while holding this lock cannot leave the rule list inconsistent.
        self.rules.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn add(&self, rule: FaultRule) -> FaultId {
        let id = FaultId(self.next_id.fetch_add(1, std::sync::atomic::Ordering::Relaxed));
        self.lock().push((id, rule));
        id
    }

    pub(crate) fn remove(&self, id: FaultId) -> bool {
        let mut rules = self.lock();
        let before = rules.len();
        rules.retain(|(rid, _)| *rid != id);
        rules.len() != before
    }

    pub(crate) fn clear(&self) {
        self.lock().clear();
    }

    pub(crate) fn active(&self) -> Vec<FaultRule> {
        self.lock().iter().map(|(_, r)| r.clone()).collect()
    }

    /// Draws the faults hitting a call of `method`, consuming counted rules.
    pub(crate) fn draw(&self, method: &str, rng: &Rng) -> Drawn {
        let mut drawn = Drawn::default();
        let mut rules = self.lock();
        if rules.is_empty() {
            return drawn;
        }
        for (_, rule) in rules.iter_mut() {
            if rule.method.as_deref().is_some_and(|m| m != method) || rule.times == Some(0) {
                continue;
            }
            if !rng.chance(rule.fraction) {
                continue;
            }
            if let Some(n) = rule.times.as_mut() {
                *n -= 1;
            }
            drawn.fired.push(rule.fault.name());
            match &rule.fault {
                Fault::Delay(d) => drawn.delay += *d,
                f @ (Fault::RateLimit | Fault::ServiceBusy | Fault::HttpStatus(_) | Fault::DropConnection) => {
                    drawn.before.get_or_insert_with(|| f.clone());
                }
                f => drawn.after.push(f.clone()),
            }
        }
        rules.retain(|(_, r)| r.times != Some(0));
        drawn
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counted_and_scoped_rules() {
        let rng = Rng::from_entropy();
        let set = FaultSet::default();
        set.add(FaultRule::new(Fault::RateLimit).times(2).for_method("a"));
        set.add(FaultRule::new(Fault::Delay(Duration::from_millis(5))).times(1));
        let d = set.draw("b", &rng);
        assert_eq!(d.before, None);
        assert_eq!(d.delay, Duration::from_millis(5));
        assert_eq!(set.draw("a", &rng).before, Some(Fault::RateLimit));
        assert_eq!(set.draw("a", &rng).before, Some(Fault::RateLimit));
        assert_eq!(set.draw("a", &rng).before, None);
        assert!(set.active().is_empty());
    }

    #[test]
    fn before_and_after_faults_combine() {
        let rng = Rng::from_entropy();
        let set = FaultSet::default();
        set.add(FaultRule::new(Fault::IdsAsStrings));
        let id = set.add(FaultRule::new(Fault::TruncatedJson));
        let d = set.draw("x", &rng);
        assert_eq!(d.after, vec![Fault::IdsAsStrings, Fault::TruncatedJson]);
        assert!(set.remove(id));
        assert_eq!(set.draw("x", &rng).after, vec![Fault::IdsAsStrings]);
        set.clear();
        assert!(set.draw("x", &rng).fired.is_empty());
    }
}
