//! The shop's orders with the indexes order.searchList pages through: by `update_time`
//! and by `create_time`, each ordered (time, order id), so a page of a 100,000-order shop
//! is a range walk instead of a sort. Every change to an order goes through [`OrderMut`],
//! which drops the order's cached rendering and moves its index entry when its
//! `update_time` changed, so the indexes cannot drift from the orders.

use std::collections::{BTreeMap, BTreeSet};
use std::ops::{Deref, DerefMut};

use super::orders::{Order, OrderStatus};

/// An index entry: a time and the order id (ids are unique and all 19 digits, so text
/// order is numeric order and (time, id) is a total order).
pub(crate) type IndexKey = (i64, String);

#[derive(Debug, Default)]
pub(crate) struct OrderBook {
    orders: BTreeMap<String, Order>,
    by_update: BTreeSet<IndexKey>,
    by_create: BTreeSet<IndexKey>,
    /// Orders that may still change by churn (a superset: an order a call finished stays
    /// here until churn next draws it and drops it).
    live: Vec<String>,
}

impl OrderBook {
    pub(crate) fn get(&self, order_id: &str) -> Option<&Order> {
        self.orders.get(order_id)
    }

    pub(crate) fn contains_key(&self, order_id: &str) -> bool {
        self.orders.contains_key(order_id)
    }

    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.orders.len()
    }

    pub(crate) fn values(&self) -> impl DoubleEndedIterator<Item = &Order> {
        self.orders.values()
    }

    #[cfg(test)]
    pub(crate) fn keys(&self) -> impl DoubleEndedIterator<Item = &String> {
        self.orders.keys()
    }

    #[cfg(test)]
    pub(crate) fn iter(&self) -> impl DoubleEndedIterator<Item = (&String, &Order)> {
        self.orders.iter()
    }

    /// Adds (or replaces) an order.
    pub(crate) fn insert(&mut self, order: Order) {
        if let Some(old) = self.orders.remove(&order.order_id) {
            self.by_update.remove(&(old.update_time, old.order_id.clone()));
            self.by_create.remove(&(old.create_time, old.order_id));
        } else if can_change(&order) {
            self.live.push(order.order_id.clone());
        }
        self.by_update.insert((order.update_time, order.order_id.clone()));
        self.by_create.insert((order.create_time, order.order_id.clone()));
        self.orders.insert(order.order_id.clone(), order);
    }

    /// The order to change; its cached rendering is dropped now and its index entries
    /// follow its times when the guard goes.
    pub(crate) fn get_mut(&mut self, order_id: &str) -> Option<OrderMut<'_>> {
        let order = self.orders.get_mut(order_id)?;
        order.touch();
        let before = (order.update_time, order.create_time);
        Some(OrderMut { order, by_update: &mut self.by_update, by_create: &mut self.by_create, before })
    }

    /// The index of `update_time` (`by_update`) or `create_time`.
    pub(crate) fn index(&self, by_update: bool) -> &BTreeSet<IndexKey> {
        if by_update {
            &self.by_update
        } else {
            &self.by_create
        }
    }

    /// Number of orders churn may still pick (finished ones included until drawn).
    pub(crate) fn live_len(&self) -> usize {
        self.live.len()
    }

    /// The id of the `n`-th live order (`n` < [`live_len`](Self::live_len)), or None
    /// once that order can no longer change (it is then dropped from the live set, which
    /// moves another order to `n`).
    pub(crate) fn live_at(&mut self, n: usize) -> Option<String> {
        let id = self.live.get(n)?;
        if self.orders.get(id).is_some_and(can_change) {
            return Some(id.clone());
        }
        self.live.swap_remove(n);
        None
    }
}

/// Whether an order has a step left in its life cycle (see `churn.rs`): unpaid, awaiting
/// shipment, shipped, or carrying an after-sale request still open.
pub(crate) fn can_change(order: &Order) -> bool {
    match order.status {
        OrderStatus::AwaitingPayment | OrderStatus::AwaitingShipment | OrderStatus::Shipped => true,
        OrderStatus::Completed => order.after_sale.is_some_and(|(_, _, refund)| refund == 1),
        OrderStatus::Canceled => false,
    }
}

/// An order being changed (see [`OrderBook::get_mut`]).
pub(crate) struct OrderMut<'a> {
    order: &'a mut Order,
    by_update: &'a mut BTreeSet<IndexKey>,
    by_create: &'a mut BTreeSet<IndexKey>,
    before: (i64, i64),
}

impl Deref for OrderMut<'_> {
    type Target = Order;
    fn deref(&self) -> &Order {
        self.order
    }
}

impl DerefMut for OrderMut<'_> {
    fn deref_mut(&mut self) -> &mut Order {
        self.order
    }
}

impl Drop for OrderMut<'_> {
    fn drop(&mut self) {
        let (update, create) = self.before;
        if self.order.update_time != update {
            self.by_update.remove(&(update, self.order.order_id.clone()));
            self.by_update.insert((self.order.update_time, self.order.order_id.clone()));
        }
        if self.order.create_time != create {
            self.by_create.remove(&(create, self.order.order_id.clone()));
            self.by_create.insert((self.order.create_time, self.order.order_id.clone()));
        }
    }
}
