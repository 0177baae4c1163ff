//! The shop's working set: products and SKUs, orders, after-sale requests, plus the fixed
//! reference data (brands, categories, logistics companies). Methods on it are synchronous
//! and run under one lock that is never held across an await.
//!
//! Reply shapes follow the catalog's response fields exactly (wire names and JSON types):
//! an `i64` field is a JSON number, a `string` field a JSON string — order ids are strings
//! in order.* methods, product ids numbers, after-sale ids strings in afterSale.List and
//! numbers in afterSale.operate, as the platform has them.

mod after_sales;
mod events;
mod orders;
mod products;
pub(crate) mod reference;
mod seed;

use std::collections::BTreeMap;

pub(crate) use after_sales::{AfterSale, AS_AWAITING_RETURN, AS_SUCCEEDED};
pub(crate) use orders::Order;
pub use orders::OrderStatus;
pub(crate) use products::Product;
pub use reference::LogisticsCompany;
pub(crate) use seed::MAX_EXTRA_ORDERS;

/// The mutable state of the one shop the gateway serves.
#[derive(Debug)]
pub(crate) struct Shop {
    pub(crate) shop_id: i64,
    pub(crate) shop_name: String,
    pub(crate) products: BTreeMap<i64, Product>,
    pub(crate) orders: BTreeMap<String, Order>,
    pub(crate) after_sales: BTreeMap<i64, AfterSale>,
    next_id: i64,
}

impl Shop {
    /// An empty shop.
    pub(crate) fn empty(shop_id: i64, shop_name: String) -> Self {
        Shop {
            shop_id,
            shop_name,
            products: BTreeMap::new(),
            orders: BTreeMap::new(),
            after_sales: BTreeMap::new(),
            next_id: 1,
        }
    }

    /// The shop with its seeded working set, dated relative to `now` (Unix seconds).
    pub(crate) fn seeded(shop_id: i64, shop_name: String, now: i64) -> Self {
        let mut shop = Self::empty(shop_id, shop_name);
        seed::seed(&mut shop, now);
        shop
    }

    /// Adds `n` orders awaiting shipment to a seeded shop (after the seed, which stays as
    /// it was), built from the products on sale; fails if the shop has none.
    pub(crate) fn add_awaiting_orders(&mut self, n: usize, now: i64) -> Result<(), String> {
        seed::add_awaiting_orders(self, n, now)
    }

    /// A fresh 19-digit id with the given leading digits (ids stay unique across kinds).
    pub(crate) fn new_id(&mut self, prefix: i64) -> i64 {
        let n = self.next_id;
        self.next_id += 1;
        prefix * 1_000_000_000_000_000 + n
    }
}
