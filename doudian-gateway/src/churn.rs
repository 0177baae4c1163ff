//! The shop that moves by itself: orders step along their life cycle
//! (`shop/life_cycle.rs`) at a rate, or K steps at once on request, each step stamped with
//! the gateway's clock and announced by its signed push when a webhook is set.
//!
//! The rate is kept by a background task that wakes every [`TICK`] of tokio time and runs
//! the steps owed since its last wake-up (so paused tokio time in tests drives it too).
//! Moving the gateway's clock (`POST /_mock/clock`) moves the stamps, not the rate: tests
//! that need exact steps ask for them (`POST /_mock/churn {"steps": K}`,
//! [`crate::RunningGateway::churn_steps`]).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use tokio::time::{Instant, MissedTickBehavior};

use crate::push::PushRecord;
use crate::random::Rng;
use crate::shop::life_cycle::{IdSource, StepEvent};
use crate::shop::OrderStatus;
use crate::state::Inner;

/// How often the rate is topped up.
const TICK: Duration = Duration::from_millis(100);
/// The share of steps that create an order: an order lives about three steps (paid,
/// shipped, completed), so one new order in four keeps the number of moving orders about
/// level.
const NEW_ORDER_SHARE: f64 = 0.25;
/// After a stall (a busy machine) at most this many seconds' worth of steps are caught up.
const MAX_CATCH_UP_SECS: f64 = 2.0;

/// The churn settings and id counters of a gateway.
#[derive(Debug)]
pub(crate) struct Churn {
    /// Steps a second (f64 bits).
    rate: AtomicU64,
    /// Share of pushes not sent (f64 bits).
    push_drop: AtomicU64,
    rng: Rng,
    next_order: AtomicU64,
    next_after_sale: AtomicU64,
    steps: AtomicU64,
}

impl Churn {
    pub(crate) fn new(rate: f64, push_drop: f64, rng: Rng) -> Self {
        Churn {
            rate: AtomicU64::new(rate.to_bits()),
            push_drop: AtomicU64::new(push_drop.to_bits()),
            rng,
            next_order: AtomicU64::new(0),
            next_after_sale: AtomicU64::new(0),
            steps: AtomicU64::new(0),
        }
    }

    pub(crate) fn rate(&self) -> f64 {
        f64::from_bits(self.rate.load(Ordering::Relaxed))
    }

    pub(crate) fn set_rate(&self, rate: f64) {
        self.rate.store(rate.to_bits(), Ordering::Relaxed);
    }

    pub(crate) fn push_drop(&self) -> f64 {
        f64::from_bits(self.push_drop.load(Ordering::Relaxed))
    }

    pub(crate) fn set_push_drop(&self, share: f64) {
        self.push_drop.store(share.to_bits(), Ordering::Relaxed);
    }

    /// Steps taken so far (by the rate and on request).
    pub(crate) fn steps(&self) -> u64 {
        self.steps.load(Ordering::Relaxed)
    }
}

/// Checks a churn rate (steps a second): finite and not negative.
pub(crate) fn check_rate(rate: f64) -> Result<f64, String> {
    if rate.is_finite() && rate >= 0.0 {
        Ok(rate)
    } else {
        Err(format!("the churn rate must be a number of changes a second >= 0, got {rate}"))
    }
}

/// Checks a push drop share: 0 to 1.
pub(crate) fn check_share(share: f64) -> Result<f64, String> {
    if (0.0..=1.0).contains(&share) {
        Ok(share)
    } else {
        Err(format!("the push drop share must be between 0 and 1, got {share}"))
    }
}

/// What became of the push of one change.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum PushFate {
    /// No webhook was set: nothing was pushed.
    NoTarget,
    /// Handed to the webhook sender (delivery counts in `Counters::pushes_delivered` /
    /// `pushes_failed`).
    Sent {
        /// The message id of the record.
        msg_id: String,
    },
    /// Dropped on purpose ([`crate::GatewayBuilder::push_drop`]): never sent.
    Dropped {
        /// The message id the record would have had.
        msg_id: String,
    },
}

/// One change churn made to one order.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ChurnChange {
    /// The shop of the order.
    pub shop_id: i64,
    /// The order.
    pub order_id: String,
    /// Its status before, None for an order the change created.
    pub from: Option<OrderStatus>,
    /// Its status after.
    pub to: OrderStatus,
    /// Its new `update_time`: the gateway's now (Unix seconds).
    pub update_time: i64,
    /// The push tag announcing the change (100 created, 101 paid, 102 shipped, 103
    /// completed, 106 cancelled, 200 refund asked, 206 refunded).
    pub tag: u32,
    /// What became of the push.
    pub push: PushFate,
}

impl Inner {
    /// Takes `steps` churn steps now: each picks one of the gateway's shops at random and
    /// moves one of its orders (or creates one), stamped with the gateway's clock. The
    /// pushes of the changes go to the webhook, if one is set, in one message (less the
    /// dropped share).
    pub(crate) fn churn_steps(self: &Arc<Self>, steps: usize) -> Vec<ChurnChange> {
        let webhook = self.webhook_configured();
        let ids = IdSource { next_order: &self.churn.next_order, next_after_sale: &self.churn.next_after_sale };
        let shops: Vec<_> = self.shops.values().collect();
        let mut changes = Vec::with_capacity(steps);
        let mut records = Vec::new();
        for _ in 0..steps {
            let pick = (self.churn.rng.next_u64() % shops.len() as u64) as usize;
            let mut shop = crate::state::lock(shops[pick]);
            let now = (self.clock.now_ms() / 1000) as i64;
            let Some(step) = shop.churn_step(&self.churn.rng, &ids, now, NEW_ORDER_SHARE) else { continue };
            self.churn.steps.fetch_add(1, Ordering::Relaxed);
            let (tag, data) = match step.event {
                StepEvent::Trade(event) => {
                    (event.tag(), webhook.then(|| shop.trade_event_data(event, &step.order_id, now)).flatten())
                }
                StepEvent::Refund(event, id) => {
                    (event.tag(), webhook.then(|| shop.refund_event_data(event, id)).flatten())
                }
            };
            let push = match data {
                Some(data) => {
                    let record = PushRecord::new(tag.to_string(), self.new_msg_id(), &data);
                    let msg_id = record.msg_id.clone();
                    records.push(record);
                    PushFate::Sent { msg_id }
                }
                None => PushFate::NoTarget,
            };
            changes.push(ChurnChange {
                shop_id: shop.shop_id,
                order_id: step.order_id,
                from: step.from,
                to: step.to,
                update_time: step.update_time,
                tag,
                push,
            });
        }
        let dropped = self.spawn_webhook_push(records);
        for change in &mut changes {
            if let PushFate::Sent { msg_id } = &change.push {
                if dropped.contains(msg_id) {
                    change.push = PushFate::Dropped { msg_id: msg_id.clone() };
                }
            }
        }
        changes
    }
}

/// Keeps the churn rate until `stop` turns true.
pub(crate) async fn run(inner: Arc<Inner>, mut stop: watch::Receiver<bool>) {
    let mut tick = tokio::time::interval(TICK);
    tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let mut last = Instant::now();
    let mut owed = 0.0f64;
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            changed = stop.changed() => {
                if changed.is_err() || *stop.borrow() {
                    return;
                }
            }
        }
        let now = Instant::now();
        let elapsed = now.duration_since(last).as_secs_f64();
        last = now;
        let rate = inner.churn.rate();
        if rate <= 0.0 {
            owed = 0.0;
            continue;
        }
        owed = (owed + rate * elapsed).min(rate * MAX_CATCH_UP_SECS + 1.0);
        let due = owed.floor();
        owed -= due;
        if due >= 1.0 {
            inner.churn_steps(due as usize);
        }
    }
}
