//! Which shops this process syncs: a lease per shop in the database, renewed a few times
//! per lease time, so that each shop is synced by one process at a time and a process that
//! dies loses its shops to the others once its leases expire.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use doudian_sdk::sync::sql::SqlSink;
use doudian_sdk::sync::SyncError;

pub struct Leases {
    sink: SqlSink,
    holder: String,
    ttl: Duration,
    held: Arc<Mutex<HashSet<String>>>,
}

impl Leases {
    pub fn new(sink: SqlSink, holder: String, ttl: Duration) -> Self {
        Leases { sink, holder, ttl, held: Arc::default() }
    }

    /// Takes (or renews) the lease on `shop`: whether this process holds it now.
    pub async fn take(&self, shop: &str) -> Result<bool, SyncError> {
        let held = self
            .sink
            .try_lease(shop, &self.holder, self.ttl)
            .await
            .map_err(|e| SyncError::Sink { shop: shop.to_owned(), source: Box::new(e) })?;
        let mut set = self.held.lock().unwrap_or_else(|e| e.into_inner());
        if held {
            set.insert(shop.to_owned());
        } else {
            set.remove(shop);
        }
        Ok(held)
    }

    /// Whether this process held `shop` at the last renewal.
    pub fn holds(&self, shop: &str) -> bool {
        self.held.lock().unwrap_or_else(|e| e.into_inner()).contains(shop)
    }

    /// Renews and takes leases every third of the lease time, forever. A renewal that
    /// fails (the database unreachable) drops the shop: its lease may expire meanwhile.
    pub async fn keep(&self, shops: Vec<String>) {
        loop {
            for shop in &shops {
                if let Err(error) = self.take(shop).await {
                    tracing::warn!(shop = %shop, error = %error, "cannot renew the lease");
                    self.held.lock().unwrap_or_else(|e| e.into_inner()).remove(shop);
                }
            }
            tokio::time::sleep(self.ttl / 3).await;
        }
    }

    /// Gives up every lease this process holds (on a clean exit).
    pub async fn release_all(&self) {
        let held: Vec<String> = self.held.lock().unwrap_or_else(|e| e.into_inner()).drain().collect();
        for shop in held {
            if let Err(error) = self.sink.release_lease(&shop, &self.holder).await {
                tracing::warn!(shop = %shop, error = %error, "cannot release the lease; it expires by itself");
            }
        }
    }
}
