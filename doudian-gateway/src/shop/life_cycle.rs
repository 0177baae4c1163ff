//! An order's life cycle, one step at a time, for a shop that moves by itself ("churn"):
//!
//! | from | step | to | push |
//! | --- | --- | --- | --- |
//! | — | a buyer orders | 1 awaiting payment | 100 |
//! | 1 | paid (3 in 4) | 2 awaiting shipment | 101 |
//! | 1 | not paid in time (1 in 4) | 4 cancelled | 106 |
//! | 2 | shipped (17 in 20) | 3 shipped | 102 |
//! | 2 | the buyer asks for a refund (3 in 20) | 2, after-sale open | 200 |
//! | 2 or 3, after-sale open | refunded | 4 cancelled (closed) | 206 |
//! | 3 | received (17 in 20) | 5 completed | 103 |
//! | 3 | the buyer asks to return it (3 in 20) | 3, after-sale open | 200 |
//! | 5, after-sale open | refunded | 5 | 206 |
//!
//! Every step sets the order's `update_time` to now (the gateway's clock), and no order
//! takes two steps in one second (each version of an order has its own `update_time`).
//! Cancelled orders and completed ones without an open after-sale do not change any more.

use super::after_sales::{AfterSale, AS_PENDING, AS_SUCCEEDED, TYPE_REFUND_UNSHIPPED, TYPE_RETURN_AND_REFUND};
use super::orders::{OrderStatus, Shipment};
use super::reference::LOGISTICS_COMPANIES;
use super::seed::{build_order, products_on_sale};
use super::Shop;
use crate::push::{RefundEvent, TradeEvent};
use crate::random::Rng;

/// The id of the first order churn creates, 10^13 above the extra orders awaiting
/// shipment; the n-th (from 0, counted over every shop) is this + 10·n.
pub(crate) const CHURN_ORDER_BASE: i64 = 6_928_371_660_000_000_000;
/// The id of the first after-sale request churn opens; the n-th is this + n.
const CHURN_AFTER_SALE_BASE: i64 = 7_310_000_000_000_000_000;

/// How many orders a step draws before it settles for creating one: an order changed in
/// this second already is drawn again, so that no order changes twice in one second and
/// `(order_id, update_time)` names one version of an order (what a sync deduplicates on).
const MAX_DRAWS: usize = 16;

/// The push a step announces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum StepEvent {
    Trade(TradeEvent),
    /// A refund message about after-sale request `.1`.
    Refund(RefundEvent, i64),
}

/// What one step did to one order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Step {
    pub(crate) order_id: String,
    /// None for an order the step created.
    pub(crate) from: Option<OrderStatus>,
    pub(crate) to: OrderStatus,
    pub(crate) update_time: i64,
    pub(crate) event: StepEvent,
}

/// Numbers for new ids, shared by every shop of a gateway so ids never meet.
pub(crate) struct IdSource<'a> {
    pub(crate) next_order: &'a std::sync::atomic::AtomicU64,
    pub(crate) next_after_sale: &'a std::sync::atomic::AtomicU64,
}

impl IdSource<'_> {
    fn order(&self) -> (usize, i64) {
        let n = self.next_order.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        (n as usize, CHURN_ORDER_BASE + 10 * n as i64)
    }

    fn after_sale(&self) -> i64 {
        CHURN_AFTER_SALE_BASE + self.next_after_sale.fetch_add(1, std::sync::atomic::Ordering::Relaxed) as i64
    }
}

impl Shop {
    /// One step: with probability `new_share` (or when nothing is left to move) a new
    /// order, else the next step of a random order that can still change. None when the
    /// shop can do neither (no order left to move and no product on sale to order).
    pub(crate) fn churn_step(&mut self, rng: &Rng, ids: &IdSource<'_>, now: i64, new_share: f64) -> Option<Step> {
        if !rng.chance(new_share) {
            let mut tries = 0;
            while self.orders.live_len() > 0 && tries < MAX_DRAWS {
                let n = (rng.next_u64() % self.orders.live_len() as u64) as usize;
                let Some(order_id) = self.orders.live_at(n) else { continue };
                tries += 1;
                if self.orders.get(&order_id).is_some_and(|o| o.update_time < now) {
                    return self.advance(&order_id, rng, ids, now);
                }
            }
        }
        self.new_order(ids, now)
    }

    /// A buyer places an order (awaiting payment).
    fn new_order(&mut self, ids: &IdSource<'_>, now: i64) -> Option<Step> {
        let products = products_on_sale(self);
        if products.is_empty() {
            return None;
        }
        let (n, base) = ids.order();
        let order = build_order(&products, n, base, OrderStatus::AwaitingPayment, now, now);
        let order_id = order.order_id.clone();
        self.orders.insert(order);
        Some(Step {
            order_id,
            from: None,
            to: OrderStatus::AwaitingPayment,
            update_time: now,
            event: StepEvent::Trade(TradeEvent::Created),
        })
    }

    /// The next step of `order_id` (which can change).
    fn advance(&mut self, order_id: &str, rng: &Rng, ids: &IdSource<'_>, now: i64) -> Option<Step> {
        let (from, open) = {
            let order = self.orders.get(order_id)?;
            (order.status, order.after_sale.is_some_and(|(_, _, refund)| refund == 1))
        };
        let event = match from {
            _ if open => self.refund_succeeds(order_id, now)?,
            OrderStatus::AwaitingPayment if rng.chance(0.75) => {
                let mut order = self.orders.get_mut(order_id)?;
                order.status = OrderStatus::AwaitingShipment;
                order.pay_time = now;
                order.exp_ship_time = now + 48 * 3600;
                StepEvent::Trade(TradeEvent::Paid)
            }
            OrderStatus::AwaitingPayment => {
                let mut order = self.orders.get_mut(order_id)?;
                order.status = OrderStatus::Canceled;
                order.cancel_reason = "超时未支付".to_owned();
                StepEvent::Trade(TradeEvent::Canceled)
            }
            OrderStatus::AwaitingShipment if rng.chance(0.85) => {
                let company = &LOGISTICS_COMPANIES[(rng.next_u64() % LOGISTICS_COMPANIES.len() as u64) as usize];
                let delivery_id = self.new_id(7_100).to_string();
                let mut order = self.orders.get_mut(order_id)?;
                let tracking_no = format!("{}{}", company.code[..2].to_uppercase(), &order.order_id[7..]);
                order.status = OrderStatus::Shipped;
                order.shipments = vec![Shipment { tracking_no, company, ship_time: now, delivery_id }];
                StepEvent::Trade(TradeEvent::SellerShipped)
            }
            OrderStatus::AwaitingShipment => self.open_after_sale(order_id, TYPE_REFUND_UNSHIPPED, ids, now)?,
            OrderStatus::Shipped if rng.chance(0.85) => {
                let mut order = self.orders.get_mut(order_id)?;
                order.status = OrderStatus::Completed;
                order.finish_time = now;
                StepEvent::Trade(TradeEvent::Succeeded)
            }
            OrderStatus::Shipped => self.open_after_sale(order_id, TYPE_RETURN_AND_REFUND, ids, now)?,
            // Finished orders are not drawn (`can_change`).
            OrderStatus::Completed | OrderStatus::Canceled => return None,
        };
        let mut order = self.orders.get_mut(order_id)?;
        order.update_time = now;
        Some(Step { order_id: order_id.to_owned(), from: Some(from), to: order.status, update_time: now, event })
    }

    /// The buyer asks for a refund (or a return) of the order's first line.
    fn open_after_sale(&mut self, order_id: &str, kind: i64, ids: &IdSource<'_>, now: i64) -> Option<StepEvent> {
        let aftersale_id = ids.after_sale();
        let order = self.orders.get(order_id)?;
        let line = order.lines.first()?;
        let after_sale = AfterSale {
            aftersale_id,
            order_id: order_id.to_owned(),
            sku_order_id: line.sku_order_id.clone(),
            kind,
            status: AS_PENDING,
            refund_amount: line.price * line.item_num,
            reason: if kind == TYPE_REFUND_UNSHIPPED { "拍错了" } else { "不想要了" },
            apply_time: now,
            update_time: now,
            seller_logs: Vec::new(),
        };
        let summary = (after_sale.status, kind, after_sale.refund_status());
        self.after_sales.insert(aftersale_id, after_sale);
        self.orders.get_mut(order_id)?.after_sale = Some(summary);
        Some(StepEvent::Refund(RefundEvent::Created, aftersale_id))
    }

    /// The order's open after-sale request is refunded; an order not yet completed closes.
    fn refund_succeeds(&mut self, order_id: &str, now: i64) -> Option<StepEvent> {
        let after_sale = self
            .after_sales
            .values_mut()
            .filter(|a| a.order_id == order_id && a.refund_status() == 1)
            .max_by_key(|a| (a.apply_time, a.aftersale_id));
        let (aftersale_id, kind) = match after_sale {
            Some(a) => {
                a.status = AS_SUCCEEDED;
                a.update_time = now;
                a.seller_logs.push(("同意退款".to_owned(), now));
                (Some(a.aftersale_id), a.kind)
            }
            None => (None, TYPE_RETURN_AND_REFUND),
        };
        let mut order = self.orders.get_mut(order_id)?;
        order.after_sale = Some((AS_SUCCEEDED, kind, 3));
        if order.status != OrderStatus::Completed {
            order.status = OrderStatus::Canceled;
            order.cancel_reason = "买家申请退款".to_owned();
        }
        Some(match aftersale_id {
            Some(id) => StepEvent::Refund(RefundEvent::Succeeded, id),
            // An open mark without a request behind it (not made by the gateway): the
            // order closes all the same, announced as a trade event.
            None => StepEvent::Trade(TradeEvent::Canceled),
        })
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::sync::atomic::AtomicU64;

    use super::*;

    fn allowed(from: Option<OrderStatus>, to: OrderStatus) -> bool {
        use OrderStatus::*;
        matches!(
            (from, to),
            (None, AwaitingPayment)
                | (Some(AwaitingPayment), AwaitingShipment | Canceled)
                | (Some(AwaitingShipment), AwaitingShipment | Shipped | Canceled)
                | (Some(Shipped), Shipped | Completed | Canceled)
                | (Some(Completed), Completed)
        )
    }

    #[test]
    fn steps_follow_the_life_cycle_and_stamp_now() {
        let now = 1_700_000_000;
        let mut shop = Shop::seeded(1, "s".into(), now - 100);
        shop.add_awaiting_orders(200, now - 100, 0, 1).unwrap();
        let (orders, after_sales) = (AtomicU64::new(0), AtomicU64::new(0));
        let ids = IdSource { next_order: &orders, next_after_sale: &after_sales };
        let rng = Rng::seeded(7);
        let mut events: BTreeMap<u32, usize> = BTreeMap::new();
        let mut last_change: BTreeMap<String, i64> = BTreeMap::new();
        for k in 0..3_000 {
            let step = shop.churn_step(&rng, &ids, now + k, 0.25).expect("a step");
            assert!(allowed(step.from, step.to), "{step:?}");
            let order = shop.orders.get(&step.order_id).unwrap();
            assert_eq!(order.update_time, now + k);
            if step.from.is_some() {
                assert!(last_change.get(&step.order_id).is_none_or(|t| *t < now + k), "two steps in one second");
            }
            last_change.insert(step.order_id.clone(), now + k);
            assert_eq!(order.status, step.to);
            let tag = match step.event {
                StepEvent::Trade(event) => event.tag(),
                StepEvent::Refund(event, _) => event.tag(),
            };
            *events.entry(tag).or_default() += 1;
            if let StepEvent::Refund(_, id) = step.event {
                assert_eq!(shop.after_sales[&id].order_id, step.order_id);
            }
        }
        // Every kind of step happened.
        assert_eq!(events.keys().copied().collect::<Vec<_>>(), [100, 101, 102, 103, 106, 200, 206], "{events:?}");
        // The index agrees with the orders after all those moves.
        let mut by_time: Vec<(i64, String)> =
            shop.orders.values().map(|o| (o.update_time, o.order_id.clone())).collect();
        by_time.sort();
        assert_eq!(shop.orders.index(true).iter().cloned().collect::<Vec<_>>(), by_time);
    }

    #[test]
    fn finished_orders_never_change() {
        let now = 1_700_000_000;
        let mut shop = Shop::seeded(1, "s".into(), now);
        let finished: Vec<(String, i64)> = shop
            .orders
            .values()
            .filter(|o| !super::super::order_book::can_change(o))
            .map(|o| (o.order_id.clone(), o.update_time))
            .collect();
        assert!(!finished.is_empty());
        let (orders, after_sales) = (AtomicU64::new(0), AtomicU64::new(0));
        let ids = IdSource { next_order: &orders, next_after_sale: &after_sales };
        let rng = Rng::seeded(3);
        for k in 0..500 {
            shop.churn_step(&rng, &ids, now + 1 + k, 0.1).unwrap();
        }
        for (id, update_time) in finished {
            assert_eq!(shop.orders.get(&id).unwrap().update_time, update_time, "{id}");
        }
    }
}
