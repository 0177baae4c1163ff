//! A sink in memory: for tests, and the smallest example of the [`SyncSink`] contract.

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;

use futures_util::future::BoxFuture;

use super::{Checkpoint, SinkError, SyncSink};
use crate::api::order::Order;

/// Orders and checkpoints in memory, under one lock (so each store is atomic).
#[derive(Debug, Default)]
pub struct MemorySink {
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    /// shop -> order id -> the newest version stored.
    orders: HashMap<String, BTreeMap<String, Order>>,
    checkpoints: HashMap<String, Checkpoint>,
    /// Stores that changed an order (a write of a new version).
    writes: u64,
}

impl MemorySink {
    /// An empty sink.
    pub fn new() -> Self {
        Self::default()
    }

    /// The orders stored for `shop`, by order id.
    pub fn orders(&self, shop: &str) -> BTreeMap<String, Order> {
        self.lock().orders.get(shop).cloned().unwrap_or_default()
    }

    /// How many order versions were written (a version replaced by a newer one counts
    /// twice; one refused as older does not count).
    pub fn writes(&self) -> u64 {
        self.lock().writes
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl SyncSink for MemorySink {
    fn store<'a>(
        &'a self,
        shop: &'a str,
        orders: &'a [Order],
        checkpoint: Option<Checkpoint>,
    ) -> BoxFuture<'a, Result<(), SinkError>> {
        Box::pin(async move {
            let mut state = self.lock();
            for order in orders {
                let (Some(id), Some(update_time)) = (&order.order_id, order.update_time) else {
                    return Err("an order without order_id or update_time".into());
                };
                let stored = state.orders.entry(shop.to_owned()).or_default();
                let newer = stored.get(&id.to_string()).is_none_or(|old| old.update_time <= Some(update_time));
                if newer {
                    stored.insert(id.to_string(), order.clone());
                    state.writes += 1;
                }
            }
            if let Some(checkpoint) = checkpoint {
                let current = state.checkpoints.entry(shop.to_owned()).or_insert(checkpoint);
                *current = (*current).max(checkpoint);
            }
            Ok(())
        })
    }

    fn checkpoint<'a>(&'a self, shop: &'a str) -> BoxFuture<'a, Result<Option<Checkpoint>, SinkError>> {
        Box::pin(async move { Ok(self.lock().checkpoints.get(shop).copied()) })
    }
}
