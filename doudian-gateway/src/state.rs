//! The shared state of a running gateway, which the connection layer, the handler, the
//! checks, the methods and the control endpoints all read.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use doudian_sdk::SignMethod;

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
}

/// Shared state of a running gateway. Every lock in here is a std mutex held for a few
/// map operations and never across an await.
pub(crate) struct Inner {
    pub(crate) config: Config,
    pub(crate) clock: Clock,
    pub(crate) rng: Rng,
    pub(crate) log_ids: LogIds,
    pub(crate) tokens: Mutex<Tokens>,
    pub(crate) shop: Mutex<Shop>,
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

    pub(crate) fn shop(&self) -> std::sync::MutexGuard<'_, Shop> {
        self.shop.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn tokens(&self) -> std::sync::MutexGuard<'_, Tokens> {
        self.tokens.lock().unwrap_or_else(|e| e.into_inner())
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

    /// Sends `records` to the configured webhook in the background.
    pub(crate) fn spawn_webhook_push(self: &Arc<Self>, records: Vec<PushRecord>) {
        let Some(url) = self.webhook.lock().unwrap_or_else(|e| e.into_inner()).clone() else { return };
        let inner = Arc::clone(self);
        tokio::spawn(async move {
            if let Err(e) = inner.deliver(&url, &records, SignMethod::Md5).await {
                tracing::warn!(error = %e, "webhook push failed");
            }
        });
    }
}
