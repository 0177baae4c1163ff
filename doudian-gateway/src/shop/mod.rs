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
pub(crate) mod life_cycle;
mod order_book;
mod orders;
mod products;
pub(crate) mod reference;
mod seed;

use std::collections::BTreeMap;

pub(crate) use after_sales::{AfterSale, AS_AWAITING_RETURN, AS_SUCCEEDED};
pub(crate) use order_book::OrderBook;
pub use orders::OrderStatus;
pub(crate) use orders::{SearchRules, DEFAULT_SEARCH_CAP};
pub(crate) use products::Product;
pub use reference::LogisticsCompany;
pub(crate) use seed::MAX_EXTRA_ORDERS;

/// The mutable state of the one shop the gateway serves.
#[derive(Debug)]
pub(crate) struct Shop {
    pub(crate) shop_id: i64,
    pub(crate) shop_name: String,
    pub(crate) products: BTreeMap<i64, Product>,
    pub(crate) orders: OrderBook,
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
            orders: OrderBook::default(),
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

    /// Adds orders awaiting shipment to a seeded shop (after the seed, which stays as
    /// it was), built from the products on sale; fails if the shop has none.
    /// With several shops, of the `n` orders this shop takes those with k % `shops` ==
    /// `slot` (ids stay unique across shops).
    pub(crate) fn add_awaiting_orders(&mut self, n: usize, now: i64, slot: usize, shops: usize) -> Result<(), String> {
        seed::add_awaiting_orders(self, n, now, slot, shops)
    }

    /// A further shop of a multi-shop gateway: the seeded products, no orders yet.
    pub(crate) fn with_products(shop_id: i64, shop_name: String, now: i64) -> Self {
        let mut shop = Self::empty(shop_id, shop_name);
        seed::seed_products(&mut shop, now);
        shop
    }

    /// A fresh 19-digit id with the given leading digits (ids stay unique across kinds).
    pub(crate) fn new_id(&mut self, prefix: i64) -> i64 {
        let n = self.next_id;
        self.next_id += 1;
        prefix * 1_000_000_000_000_000 + n
    }
}
