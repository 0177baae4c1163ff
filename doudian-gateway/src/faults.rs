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
    /// Whether the fault acts before the call is processed (the call is then lost).
    pub fn is_before(&self) -> bool {
        matches!(self, Fault::RateLimit | Fault::ServiceBusy | Fault::HttpStatus(_) | Fault::DropConnection)
    }

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
pub struct FaultId(pub(crate) u64);

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
    /// The faults for one call of `method`. A rule fires (is counted and, if counted in
    /// `times`, used up) only when its fault takes effect: delays always; at most one fault
    /// before processing, and then none after it (the call was not processed); otherwise
    /// at most one dropped reply after processing, and then no other damage to that reply.
    pub(crate) fn draw(&self, method: &str, rng: &Rng) -> Drawn {
        self.draw_where(rng, |rule| rule.method.as_deref().is_none_or(|m| m == method))
    }

    /// The faults for one request to an endpoint outside the API (the material upload's
    /// `imagex.apply` / `imagex.put`): only rules naming it, and only the faults an
    /// endpoint without an envelope can act out (delay, HTTP status, dropped connections).
    pub(crate) fn draw_endpoint(&self, endpoint: &str, rng: &Rng) -> Drawn {
        self.draw_where(rng, |rule| {
            rule.method.as_deref() == Some(endpoint)
                && matches!(
                    rule.fault,
                    Fault::Delay(_) | Fault::HttpStatus(_) | Fault::DropConnection | Fault::DropAfterProcessing
                )
        })
    }

    fn draw_where(&self, rng: &Rng, eligible: impl Fn(&FaultRule) -> bool) -> Drawn {
        let mut drawn = Drawn::default();
        let mut rules = self.lock();
        if rules.is_empty() {
            return drawn;
        }
        let applies = |rule: &FaultRule| eligible(rule) && rule.times != Some(0);
        let fire = |rule: &mut FaultRule, drawn: &mut Drawn| -> bool {
            if !rng.chance(rule.fraction) {
                return false;
            }
            if let Some(n) = rule.times.as_mut() {
                *n -= 1;
            }
            drawn.fired.push(rule.fault.name());
            true
        };
        for (_, rule) in rules.iter_mut().filter(|(_, r)| applies(r)) {
            match rule.fault.clone() {
                Fault::Delay(d) if fire(rule, &mut drawn) => drawn.delay += d,
                f if f.is_before() && drawn.before.is_none() && fire(rule, &mut drawn) => drawn.before = Some(f),
                _ => {}
            }
        }
        if drawn.before.is_none() {
            // A dropped reply first: when one fires, nothing else can damage that reply.
            for drop_only in [true, false] {
                for (_, rule) in rules.iter_mut().filter(|(_, r)| applies(r)) {
                    let f = rule.fault.clone();
                    let is_drop = f == Fault::DropAfterProcessing;
                    if f.is_before() || matches!(f, Fault::Delay(_)) || is_drop != drop_only {
                        continue;
                    }
                    if drawn.after.contains(&Fault::DropAfterProcessing) {
                        break;
                    }
                    if fire(rule, &mut drawn) {
                        drawn.after.push(f);
                    }
                }
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
    fn endpoints_draw_only_rules_naming_them_with_faults_they_can_act_out() {
        let rng = Rng::from_entropy();
        let set = FaultSet::default();
        set.add(FaultRule::new(Fault::DropConnection).times(1));
        set.add(FaultRule::new(Fault::RateLimit).for_method("imagex.put").times(1));
        set.add(FaultRule::new(Fault::DropAfterProcessing).for_method("imagex.put").times(1));
        let d = set.draw_endpoint("imagex.put", &rng);
        assert_eq!((d.before, d.after), (None, vec![Fault::DropAfterProcessing]));
        assert!(set.draw_endpoint("imagex.apply", &rng).fired.is_empty());
        // The generic and the inapplicable rules are left for the calls they fit.
        assert_eq!(set.active().len(), 2);
        assert_eq!(set.draw("imagex.put", &rng).before, Some(Fault::DropConnection));
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

    #[test]
    fn only_faults_that_take_effect_fire_and_are_used_up() {
        let rng = Rng::from_entropy();
        let set = FaultSet::default();
        // Two one-shot faults before processing on one call: one fires, the other waits.
        set.add(FaultRule::new(Fault::RateLimit).times(1));
        set.add(FaultRule::new(Fault::ServiceBusy).times(1));
        set.add(FaultRule::new(Fault::MalformedJson).times(1));
        let first = set.draw("m", &rng);
        assert_eq!((first.before, first.after.len(), first.fired), (Some(Fault::RateLimit), 0, vec!["rate_limit"]));
        let second = set.draw("m", &rng);
        assert_eq!((second.before, second.fired), (Some(Fault::ServiceBusy), vec!["service_busy"]));
        let third = set.draw("m", &rng);
        assert_eq!(
            (third.before, third.after, third.fired),
            (None, vec![Fault::MalformedJson], vec!["malformed_json"])
        );
        assert!(set.active().is_empty());

        // A dropped reply leaves nothing for other damage; they wait for a later call.
        set.add(FaultRule::new(Fault::IdsAsStrings).times(1));
        set.add(FaultRule::new(Fault::DropAfterProcessing).times(1));
        let dropped = set.draw("m", &rng);
        assert_eq!((dropped.after, dropped.fired), (vec![Fault::DropAfterProcessing], vec!["drop_after_processing"]));
        assert_eq!(set.draw("m", &rng).after, vec![Fault::IdsAsStrings]);
    }
}
