//! The shared state of a running gateway, which the connection layer, the handler, the
//! checks, the methods and the control endpoints all read.

use std::collections::{BTreeMap, HashSet};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use doudian_sdk::SignMethod;

use crate::churn::Churn;
use crate::counters::LiveCounters;
use crate::envelope::LogIds;
use crate::error::GatewayError;
use crate::faults::FaultSet;
use crate::listener::Limits;
use crate::push::{push_body, push_signature, PushDelivery, PushRecord};
use crate::quota::Quotas;
use crate::random::Rng;
use crate::shop::Shop;
use crate::time::Clock;
use crate::tokens::Tokens;
use crate::uploads::Uploads;

/// The settings a gateway was started with.
pub(crate) struct Config {
    pub(crate) app_key: String,
    pub(crate) app_secret: String,
    pub(crate) shop_id: i64,
    pub(crate) shop_name: String,
    pub(crate) timestamp_skew_ms: u64,
    pub(crate) limits: Limits,
    pub(crate) lenient_sign: bool,
    /// The bound address: the upload host when a request names none.
    pub(crate) addr: SocketAddr,
    pub(crate) max_upload_bytes: u64,
    /// How many orders one order.searchList filter reaches.
    pub(crate) search_cap: usize,
}

/// Shared state of a running gateway. Every lock in here is a std mutex held for a few
/// map operations and never across an await.
pub(crate) struct Inner {
    pub(crate) config: Config,
    pub(crate) clock: Clock,
    pub(crate) rng: Rng,
    pub(crate) log_ids: LogIds,
    pub(crate) tokens: Mutex<Tokens>,
    /// Every shop served, by id; `config.shop_id` is always one of them.
    pub(crate) shops: BTreeMap<i64, Mutex<Shop>>,
    pub(crate) churn: Churn,
    pub(crate) uploads: Mutex<Uploads>,
    pub(crate) faults: FaultSet,
    /// Per-method call quotas (`GatewayBuilder::method_qps`).
    pub(crate) quotas: Quotas,
    pub(crate) counters: LiveCounters,
    pub(crate) webhook: Mutex<Option<String>>,
    pub(crate) http: reqwest::Client,
}

impl Inner {
    pub(crate) fn uploads(&self) -> std::sync::MutexGuard<'_, Uploads> {
        self.uploads.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn webhook_configured(&self) -> bool {
        self.webhook.lock().unwrap_or_else(|e| e.into_inner()).is_some()
    }

    /// A 19-digit message id.
    pub(crate) fn new_msg_id(&self) -> String {
        (7_000_000_000_000_000_000 + self.rng.next_u64() % 1_000_000_000_000_000_000).to_string()
    }

    /// The gateway's own shop (`config.shop_id`).
    pub(crate) fn shop(&self) -> std::sync::MutexGuard<'_, Shop> {
        lock(self.shop_for(self.config.shop_id))
    }

    /// The shop `shop_id`, or the gateway's own shop when it serves no such shop (a
    /// token granted for another subject acts on the gateway's shop, as before several
    /// shops existed).
    pub(crate) fn shop_for(&self, shop_id: i64) -> &Mutex<Shop> {
        self.shops
            .get(&shop_id)
            .or_else(|| self.shops.get(&self.config.shop_id))
            .or_else(|| self.shops.values().next())
            .unwrap_or_else(|| unreachable!("a gateway serves at least its own shop"))
    }

    pub(crate) fn tokens(&self) -> std::sync::MutexGuard<'_, Tokens> {
        self.tokens.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The shop that has order `order_id`, locked.
    pub(crate) fn shop_with_order(&self, order_id: &str) -> Option<std::sync::MutexGuard<'_, Shop>> {
        self.shops.values().map(lock).find(|shop| shop.orders.contains_key(order_id))
    }

    /// Every order of every shop, sorted by shop and order id.
    pub(crate) fn orders_dump(&self) -> Vec<crate::gateway::OrderRow> {
        let mut rows = Vec::new();
        for shop in self.shops.values() {
            let shop = lock(shop);
            rows.extend(shop.orders.values().map(|o| crate::gateway::OrderRow {
                shop_id: shop.shop_id,
                order_id: o.order_id.clone(),
                order_status: o.status.code(),
                update_time: o.update_time,
            }));
        }
        // Shops come in id order and orders in id order within each: already sorted.
        rows
    }

    /// Sends `records` to `url`, signed; counts the delivery.
    pub(crate) async fn deliver(
        &self,
        url: &str,
        records: &[PushRecord],
        sign_method: SignMethod,
    ) -> Result<PushDelivery, GatewayError> {
        let body = push_body(records);
        let sign = push_signature(&self.config.app_key, &self.config.app_secret, body.as_bytes(), sign_method);
        let mut request = self
            .http
            .post(url)
            .header("content-type", "application/json")
            .header("app-id", &self.config.app_key)
            .header("event-sign", sign);
        if sign_method == SignMethod::HmacSha256 {
            // Not an official header (PROTOCOL.md §6: unverified); sent so a verifier can tell.
            request = request.header("sign-method", "hmac-sha256");
        }
        let result = request.body(body).send().await;
        let delivery = match result {
            Ok(response) => {
                let status = response.status().as_u16();
                let body = response.text().await.unwrap_or_default();
                Ok(PushDelivery { status, body })
            }
            Err(e) => Err(GatewayError::Push { url: url.to_owned(), message: e.without_url().to_string() }),
        };
        self.counters.update(|c| match &delivery {
            Ok(d) if d.status == 200 => c.pushes_delivered += 1,
            _ => c.pushes_failed += 1,
        });
        delivery
    }

    /// Sends `records` to the configured webhook in the background, in one message, less
    /// the share dropped on purpose (`GatewayBuilder::push_drop`): the message ids of the
    /// dropped records are returned.
    pub(crate) fn spawn_webhook_push(self: &Arc<Self>, mut records: Vec<PushRecord>) -> HashSet<String> {
        let mut dropped = HashSet::new();
        let Some(url) = self.webhook.lock().unwrap_or_else(|e| e.into_inner()).clone() else { return dropped };
        let share = self.churn.push_drop();
        if share > 0.0 {
            records.retain(|record| {
                let drop = self.rng.chance(share);
                if drop {
                    dropped.insert(record.msg_id.clone());
                }
                !drop
            });
            self.counters.update(|c| c.pushes_dropped += dropped.len() as u64);
        }
        if records.is_empty() {
            return dropped;
        }
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            tracing::warn!("webhook push outside a tokio runtime: not sent");
            self.counters.update(|c| c.pushes_failed += 1);
            return dropped;
        };
        let inner = Arc::clone(self);
        runtime.spawn(async move {
            if let Err(e) = inner.deliver(&url, &records, SignMethod::Md5).await {
                tracing::warn!(error = %e, "webhook push failed");
            }
        });
        dropped
    }
}

/// Locks `mutex`, recovering from a panic elsewhere (the state stays usable).
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}
